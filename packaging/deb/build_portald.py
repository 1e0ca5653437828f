"""Build ``dist/portald_<version>_<arch>.deb`` for amd64 and arm64 (``make deb``).

The package is self-contained under ``/opt/portald`` against Debian 12's ``/usr/bin/python3`` (3.11):
portald's wheel and the pinned dependencies (``requirements.txt``) are installed with
``pip install --target`` from manylinux wheels for the package's architecture, so one machine builds
both by cross-download. The launcher ``/usr/bin/portald`` puts ``/opt/portald/lib`` (then OEM plugins'
``/opt/portald/plugins``) on ``sys.path``; the dist-info folders stay, so entry points are found.

    python packaging/deb/build_portald.py [--arch amd64] [--arch arm64] [--out dist]

Reproducible: the commit's time is every mtime and the changelog date, dist-info loses its build
paths, no bytecode is shipped (postinst compiles it, prerm removes it).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import debpkg

HERE = Path(__file__).resolve().parent
# package data that git ignores: the web UI and the API docs page, built by `make webui docs-ui`
BUILT_ASSETS = ("portald/webui_dist", "portald/docs_ui_dist")
MAINTAINER = "portald maintainers <portald@example.org>"
DEPENDS = "python3 (>= 3.11), python3 (<< 3.12), libpam0g, libpam-modules, libpam-runtime"
# what capabilities run at run time, each absent one only turns its feature off: S.M.A.R.T.
# (smartctl), remote desktop (x11vnc), EdgeBus (mosquitto), networking and Wi-Fi (NetworkManager over
# D-Bus), device names (hwdata's pci.ids/usb.ids), display power (xset), screenshots (libxcb*)
RECOMMENDS = ("smartmontools, x11vnc, mosquitto, network-manager, hwdata, x11-xserver-utils, libxcb1, "
              "libxcb-randr0, libxcb-render0, libxcb-shm0, libxcb-xfixes0")
DESCRIPTION = """\
pluggable device-management daemon (Platform Portal REST API)
portald serves the Platform Portal REST API for industrial edge PCs from one
process: hardware monitor, peripherals, networking and Wi-Fi, services,
web terminal, remote desktop, the EdgeHub cloud link, EdgeBus and AppHub.
Boards and API areas are plugins; OEM board plugins are installed as their
own packages into /opt/portald/plugins.

The daemon and its Python dependencies are self-contained under
/opt/portald and run on the system's python3."""


def version(root: Path) -> str:
    match = re.search(r'^__version__ = "([^"]+)"', (root / "portald" / "__init__.py").read_text(), re.M)
    return match.group(1)


def build_wheel(root: Path, tmp: Path) -> Path:
    source = debpkg.copy_source(root, tmp / "src", BUILT_ASSETS)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp / "wheel"), str(source)], check=True)
    return next((tmp / "wheel").glob("portald-*.whl"))


def install_lib(wheel: Path, lib: Path, arch: str) -> None:
    lock = HERE / "requirements.txt"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", str(lib), "--no-compile",
                    "--disable-pip-version-check", "--no-warn-script-location", "-c", str(lock),
                    *debpkg.pip_platform_args(arch), str(wheel)], check=True)
    shutil.rmtree(lib / "bin", ignore_errors=True)  # console scripts with the build venv's shebang
    pins = debpkg.read_lock(lock)
    for name, (installed, _) in debpkg.distributions(lib).items():
        if name != "portald" and pins.get(name) != installed:
            sys.exit(f"build_portald: {name} {installed} is not pinned in packaging/deb/requirements.txt "
                     "(a new dependency? run `make deb-lock`)")
    debpkg.scrub_dist_info(lib)
    debpkg.check_machine(lib, arch)


def copyright_file(lib: Path, year: int) -> bytes:
    """DEP-5: portald's licence, then every bundled distribution with the licence its metadata states."""
    parts = ["Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
             "Upstream-Name: portald\n\n"
             f"Files: *\nCopyright: {year} portald contributors\nLicense: Apache-2.0\n\n"]
    for name, (version, info) in sorted(debpkg.distributions(lib).items()):
        if name == "portald":
            continue
        meta = (info / "METADATA").read_text(encoding="utf-8")
        found = (re.search(r"^License-Expression: (.+)$", meta, re.M) or re.search(r"^License: (.+)$", meta, re.M)
                 or re.search(r"^Classifier: License :: (?:OSI Approved :: )?(.+)$", meta, re.M))
        licence = found.group(1).strip() if found else "see its dist-info"
        parts.append(f"Files: opt/portald/lib/{info.name}/*\nComment: bundled {name} {version} (and its "
                     f"modules in opt/portald/lib)\nCopyright: the {name} authors\nLicense: {licence}\n\n")
    parts.append("License: Apache-2.0\n On Debian systems the full text of the Apache License 2.0 is in\n"
                 " /usr/share/common-licenses/Apache-2.0.\n")
    return "".join(parts).encode()


def _put(src: Path, dest: Path, mode: int = 0o644) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    dest.chmod(mode)


def stage_package(root: Path, wheel: Path, stage: Path, arch: str, ver: str, epoch: int, maintainer: str) -> dict:
    lib = stage / "opt" / "portald" / "lib"
    install_lib(wheel, lib, arch)
    (stage / "opt" / "portald" / "plugins").mkdir()
    _put(HERE / "portald.launcher", stage / "usr" / "bin" / "portald", 0o755)
    _put(root / "etc" / "portald.toml", stage / "etc" / "portald" / "portald.toml")
    (stage / "etc" / "portald" / "plugins.d").mkdir()
    _put(root / "etc" / "pam.d" / "portald", stage / "etc" / "pam.d" / "portald")
    _put(HERE / "portald.service", stage / "lib" / "systemd" / "system" / "portald.service")
    _put(HERE / "lintian-overrides", stage / "usr" / "share" / "lintian" / "overrides" / "portald")
    doc = stage / "usr" / "share" / "doc" / "portald"
    doc.mkdir(parents=True)
    (doc / "copyright").write_bytes(copyright_file(lib, time.gmtime(epoch).tm_year))
    debpkg.gzip_file(debpkg.changelog("portald", ver, maintainer, epoch, f"portald {ver}."), doc / "changelog.gz")
    debpkg.gzip_file((HERE / "portald.1").read_bytes(), stage / "usr" / "share" / "man" / "man1" / "portald.1.gz")
    for script in ("postinst", "prerm", "postrm"):
        _put(HERE / script, stage / "DEBIAN" / script, 0o755)
    glibc = debpkg.min_glibc(lib)
    depends = DEPENDS + (f", libc6 (>= {glibc[0]}.{glibc[1]})" if glibc else "")
    return {"Package": "portald", "Version": ver, "Architecture": arch, "Maintainer": maintainer,
            "Section": "admin", "Priority": "optional", "Depends": depends, "Recommends": RECOMMENDS,
            "Suggests": "xvfb", "Homepage": "", "Description": DESCRIPTION}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", action="append", choices=sorted(debpkg.ARCHES),
                        help="Debian architecture (repeat; default: amd64 and arm64)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: dist/)")
    parser.add_argument("--maintainer", default=MAINTAINER, help=f"Maintainer field (default: {MAINTAINER})")
    args = parser.parse_args(argv)
    root = debpkg.repo_root()
    out = (args.out or root / "dist").resolve()
    epoch = debpkg.source_date_epoch(root)
    ver = version(root)
    with tempfile.TemporaryDirectory(prefix="portald-deb-") as tmp_name:
        tmp = Path(tmp_name)
        wheel = build_wheel(root, tmp)
        for arch in args.arch or ["amd64", "arm64"]:
            stage = tmp / f"stage-{arch}"
            control = stage_package(root, wheel, stage, arch, ver, epoch, args.maintainer)
            print(debpkg.build_deb(stage, control, out, epoch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
