# make run   — set up .venv and run the daemon on the sim board (HTTPS on :8443)
# make test  — install what the tests need (Debian packages included) and run the whole suite
# Both work as root on a fresh Debian 12 machine.

PYTHON ?= python3
VENV ?= .venv
STATE_DIR ?= $(CURDIR)/.state
LISTEN ?= 0.0.0.0:8443
BIN := $(VENV)/bin

# Debian packages: to build and run (venv, PAM) and, for the tests, to create real OS accounts.
RUN_DEBS := python3 python3-venv python3-dev gcc libpam0g libpam-runtime libpam-modules ca-certificates smartmontools hwdata
TEST_DEBS := $(RUN_DEBS) passwd procps curl dbus-daemon xvfb x11-xserver-utils libxcb1 libxcb-randr0 libxcb-render0 libxcb-shm0 libxcb-xfixes0 linux-libc-dev network-manager dnsmasq-base iproute2 isc-dhcp-client x11vnc mosquitto mosquitto-clients snmp wixl msitools chromium lintian

.PHONY: run test check debs-run debs-test venv pam clean msi webui docs-ui deb acme-deb deb-lock

run: debs-run venv pam webui docs-ui
	@echo "portald on the sim board: it prints the URLs it serves once it listens (HTTPS with a self-signed"
	@echo "certificate, so curl -k). Log in as admin, factory password p@ssw0rd, which must be changed"
	@echo "first: the README's walk-through does it. Stop with Ctrl-C."
	$(BIN)/portald run --sim --listen $(LISTEN) --state-dir $(STATE_DIR)

test: debs-test venv pam webui docs-ui
	$(BIN)/python -m pytest -q -p no:cacheprovider

check: venv
	$(BIN)/portald check --sim

# make deb — dist/portald_<version>_amd64.deb and _arm64.deb: self-contained under /opt/portald for Debian
# 12's python3, dependencies pinned in packaging/deb/requirements.txt (arm64 by cross-download of wheels).
deb: venv webui docs-ui
	$(BIN)/python packaging/deb/build_portald.py --out dist

# make acme-deb — dist/portald-acme-board_<version>_all.deb, the OEM example's plugin as a package that
# depends on portald (packaging/deb/build_plugin.py builds any plugin project the same way).
acme-deb: venv
	$(BIN)/python packaging/deb/build_plugin.py examples/acme-board --out dist

# make deb-lock — re-pin the deb's dependencies to the versions in .venv (after a change to setup.cfg)
deb-lock: venv
	$(BIN)/python packaging/deb/lock_deps.py

# make msi PAYLOAD=DIR — dist/portald-<version>-x64.msi for 64-bit Windows, with msitools' wixl. DIR is a
# frozen Windows build of portald (portald.exe at its top), made on Windows: see the README, "Windows
# (MSI)". Without PAYLOAD: a stand-in payload, dist/portald-<version>-x64-STAND-IN.msi (runs nothing).
msi:
	@./packaging/ensure-debs wixl msitools
	$(PYTHON) packaging/msi/build_msi.py $(if $(PAYLOAD),--payload "$(PAYLOAD)",--stand-in) --out dist

venv: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# The web UI served at / (webui/): npm ci + esbuild into portald/webui_dist/ (not in git). Node.js >= 18
# and npm: Debian's nodejs and npm packages when npm is missing.
webui:
	@command -v npm >/dev/null 2>&1 || ./packaging/ensure-debs nodejs npm
	./webui/build.sh

# The API docs at /docs (docs-ui/): Swagger UI pinned by docs-ui/package-lock.json, copied with the page
# into portald/docs_ui_dist/ (not in git) by packaging/build-docs-ui.
docs-ui:
	@command -v npm >/dev/null 2>&1 || ./packaging/ensure-debs nodejs npm
	./packaging/build-docs-ui

# /etc/pam.d/portald: the PAM service for OS-account logins
pam:
	@if [ "$$(id -u)" = 0 ] && ! cmp -s etc/pam.d/portald /etc/pam.d/portald; then \
		install -m 0644 etc/pam.d/portald /etc/pam.d/portald; echo "installed /etc/pam.d/portald"; fi

# apt-get only when a package is missing, so a ready machine starts at once.
debs-run:
	@./packaging/ensure-debs $(RUN_DEBS)

debs-test:
	@./packaging/ensure-debs $(TEST_DEBS)

clean:
	rm -rf $(VENV) $(STATE_DIR) *.egg-info
