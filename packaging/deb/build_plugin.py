"""Build an OEM board plugin's .deb that drops the plugin into an installed portald (``make acme-deb``).

    python packaging/deb/build_plugin.py [SOURCE] [--arch all|amd64|arm64] [--out dist]

SOURCE (default ``examples/acme-board``) is the plugin's Python project. Its wheel is installed into
``/opt/portald/plugins``, the folder the portald package's launcher puts on ``sys.path`` after its own
``/opt/portald/lib``; the dist-info stays, so the ``portald.plugins`` entry point is found. Its
dependencies resolve against portald's pinned ones (``requirements.txt``): those portald ships are left
out (the plugin uses portald's copy), any other is bundled with it. The package is
``portald-<name>_<version>_all.deb`` (``<name>``: the project's name without a ``portald-`` prefix) and
``Depends: portald (>= <this tree's version>)``; a plugin with compiled code needs ``--arch``.
postinst compiles its bytecode and restarts a running portald so the plugin is loaded; removing it
restarts portald again.
"""
from __future__ import annotations

import argparse
import email.parser
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import debpkg
from build_portald import MAINTAINER, version as portald_version

HERE = Path(__file__).resolve().parent
PLUGINS = Path("opt/portald/plugins")

POSTINST = """\
#!/bin/sh
# {package} postinst: bytecode for its files, and a running portald restarted to load the plugin.
set -e
if [ "$1" = configure ]; then
    /usr/bin/python3 -m compileall -qq {paths} >/dev/null 2>&1 || true
{restart}fi
exit 0
"""
PRERM = """\
#!/bin/sh
# {package} prerm: remove the bytecode postinst made.
set -e
for dir in {paths}; do
    [ -d "$dir" ] && find "$dir" -depth -type d -name __pycache__ -exec rm -rf {{}} + 2>/dev/null || true
done
exit 0
"""
POSTRM = """\
#!/bin/sh
# {package} postrm: a running portald is restarted so that it no longer uses the removed plugin.
set -e
if [ "$1" = remove ]; then
{restart}fi
exit 0
"""
RESTART = """\
    if [ -d /run/systemd/system ] && ! grep -q '/portald\\.service' /proc/self/cgroup 2>/dev/null; then
        deb-systemd-invoke try-restart portald.service >/dev/null || true
    fi
"""
OVERRIDES = """\
# {package} installs into portald's own tree: /opt/portald/plugins is the folder the portald package
# puts on its Python path for board plugins, next to the daemon it extends.
{package}: dir-or-file-in-opt [opt/*]

# postinst compiles the bytecode with Debian's python3 by its full path: a python3 earlier on PATH
# (/usr/local/bin, pyenv) would write bytecode for another Python that portald never reads.
{package}: command-with-path-in-maintainer-script /usr/bin/python3 (plain script) [postinst:*]
"""


def _remove_dist(site: Path, info: Path) -> None:
    """Uninstall one distribution from a --target folder by its RECORD."""
    for line in (info / "RECORD").read_text().splitlines():
        path = site / line.split(",", 1)[0]
        if path.is_file() and path.resolve().is_relative_to(site.resolve()):
            path.unlink()
    shutil.rmtree(info, ignore_errors=True)
    for folder in sorted((p for p in site.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()


def main(argv: list[str] | None = None) -> int:
    root = debpkg.repo_root()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, nargs="?", default=root / "examples" / "acme-board")
    parser.add_argument("--arch", default="all", choices=["all", *sorted(debpkg.ARCHES)])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: dist/)")
    parser.add_argument("--maintainer", default=MAINTAINER)
    args = parser.parse_args(argv)
    out = (args.out or root / "dist").resolve()
    epoch = debpkg.source_date_epoch(root)
    lock = HERE / "requirements.txt"
    provided = set(debpkg.read_lock(lock)) | {"portald"}
    with tempfile.TemporaryDirectory(prefix="portald-plugin-deb-") as tmp_name:
        tmp = Path(tmp_name)
        source = tmp / "src"
        shutil.copytree(args.source.resolve(), source,
                        ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "tests"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                        "-w", str(tmp / "wheel"), str(source)], check=True)
        wheel = next((tmp / "wheel").glob("*.whl"))
        stage = tmp / "stage"
        site = stage / PLUGINS
        platform = debpkg.pip_platform_args("amd64" if args.arch == "all" else args.arch)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", str(site), "--no-compile",
                        "--disable-pip-version-check", "--no-warn-script-location", "-c", str(lock),
                        *platform, str(wheel)], check=True)
        shutil.rmtree(site / "bin", ignore_errors=True)
        dists = debpkg.distributions(site)
        plugin_name = debpkg.normalise(wheel.name.split("-")[0])
        for name, (_, info) in dists.items():
            if name in provided:
                _remove_dist(site, info)  # portald ships it (the pinned version the plugin resolved to)
        debpkg.scrub_dist_info(site)
        if args.arch == "all" and debpkg.elf_files(site):
            sys.exit("build_plugin: the plugin (or a dependency it bundles) has compiled code: build it "
                     "with --arch amd64 and --arch arm64")
        if args.arch != "all":
            debpkg.check_machine(site, args.arch)

        version, info = dists[plugin_name]
        meta = email.parser.Parser().parsestr((info / "METADATA").read_text(encoding="utf-8"), headersonly=True)
        package = "portald-" + re.sub(r"^portald-", "", plugin_name).replace("_", "-")
        paths = " ".join(sorted(f"/{PLUGINS}/{p.name}" for p in site.iterdir() if not p.name.endswith(".dist-info")))
        bundled = sorted(n for n in debpkg.distributions(site) if n != plugin_name)

        doc = stage / "usr" / "share" / "doc" / package
        doc.mkdir(parents=True)
        year = time.gmtime(epoch).tm_year
        licence = meta["License-Expression"] or meta["License"] or "see its dist-info"
        (doc / "copyright").write_text(
            "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
            f"Upstream-Name: {meta['Name']}\n\nFiles: *\nCopyright: {year} the {meta['Name']} authors\n"
            f"License: {licence}\n")
        debpkg.gzip_file(debpkg.changelog(package, version, args.maintainer, epoch, f"{meta['Name']} {version}."),
                         doc / "changelog.gz")
        overrides = stage / "usr" / "share" / "lintian" / "overrides" / package
        overrides.parent.mkdir(parents=True)
        overrides.write_text(OVERRIDES.format(package=package))
        debian = stage / "DEBIAN"
        debian.mkdir()
        (debian / "postinst").write_text(POSTINST.format(package=package, paths=paths, restart=RESTART))
        (debian / "prerm").write_text(PRERM.format(package=package, paths=paths))
        (debian / "postrm").write_text(POSTRM.format(package=package, restart=RESTART))
        summary = (meta["Summary"] or f"{meta['Name']} board plugin for portald").rstrip(".")
        synopsis = summary if len(summary) <= 72 else summary.split(":")[0][:72]
        body = (f"{summary}.\nThe portald board plugin {meta['Name']}, installed into /opt/portald/plugins "
                "where the portald package's daemon finds it.")
        if bundled:
            body += f" Bundles: {', '.join(bundled)}."
        description = synopsis[0].lower() + synopsis[1:] + "\n" + textwrap.fill(body, 72)
        control = {"Package": package, "Version": version, "Architecture": args.arch,
                   "Maintainer": args.maintainer, "Section": "admin", "Priority": "optional",
                   "Depends": f"portald (>= {portald_version(root)})", "Description": description}
        print(debpkg.build_deb(stage, control, out, epoch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
