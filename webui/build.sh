#!/bin/sh
# Builds the web UI into portald/webui_dist/ (not in git): the pinned packages of package-lock.json
# (npm ci), then esbuild (build.mjs). Needs Node.js >= 18 and npm: Debian 12's `nodejs npm` packages.
set -eu
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1; then
	echo "webui/build.sh: npm not found; on Debian: apt-get install -y nodejs npm" >&2
	exit 1
fi
# npm ci only when package-lock.json changed since the last install (a ready tree builds in ~1 s)
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.ci-stamp; then
	npm ci --no-audit --no-fund --loglevel=error
	cp package-lock.json node_modules/.ci-stamp
fi
exec node build.mjs "$@"
