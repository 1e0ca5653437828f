"""Builds the portald MSI (64-bit Windows) with msitools' ``wixl``: ``make msi PAYLOAD=DIR`` runs

    python3 packaging/msi/build_msi.py --payload DIR --out dist

The payload is the one input this machine cannot make: a frozen Windows build of the daemon, a folder
with ``portald.exe`` at its top and everything it loads beside it (PyInstaller's ``--onedir`` output,
made on Windows; see the README's "Windows (MSI)"). Its files go to ``Program Files\\portald``; the
config (``etc/portald.toml``) to ``ProgramData\\portald``. Output: ``portald-<version>-x64.msi``, the
version being ``portald.__version__``.

``--stand-in`` builds with a stand-in payload instead (a text file named ``portald.exe``): the
package's tables are right but it installs nothing that runs (the service fails to start and the
install rolls back), so its name says so: ``portald-<version>-x64-STAND-IN.msi``.

Reproducible: the same commit and payload give the same tables (ids and GUIDs come from the version and
the paths, never at random). The file's bytes differ between builds: wixl stamps the summary
information with the build time and a random package code, which also is what Windows Installer
expects of two different builds.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

from payload_fragment import PayloadError, fragment  # noqa: E402  (beside this script, not a package)

# ProductCode = UUID5(this, version): one product code per version, the same in every build of it
PRODUCT_NAMESPACE = uuid.UUID("2a8f4c61-5b9e-4d07-93c1-7e6d0f2b4a85")
STAND_IN_TEXT = ("STAND-IN PAYLOAD: not a Windows program. This MSI was built without a real payload\n"
                 "(make msi without PAYLOAD=...) to check the package's tables; it cannot run portald.\n")


def version() -> str:
    """``portald.__version__``, read from the source (the build needs no installed portald)."""
    text = (ROOT / "portald" / "__init__.py").read_text()
    found = re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.M)
    if not found:
        raise SystemExit("build_msi: no __version__ in portald/__init__.py")
    return found.group(1)


def msi_version(text: str) -> str:
    """The version as Windows Installer takes it: major.minor.build, at most 255.255.65535 (a fourth
    field is ignored by upgrades, so it is not allowed either)."""
    parts = text.split(".")
    limits = (255, 255, 65535)
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts) \
            or any(int(p) > limit for p, limit in zip(parts, limits)):
        raise SystemExit(f"build_msi: version {text!r} is not an MSI version (major.minor.build, numbers only)")
    return text


def product_code(msi_ver: str) -> str:
    return str(uuid.uuid5(PRODUCT_NAMESPACE, f"portald {msi_ver}"))


def make_stand_in(folder: Path) -> Path:
    """A stand-in payload: ``portald.exe`` and a file in a subfolder, all plain text."""
    (folder / "_internal").mkdir(parents=True, exist_ok=True)
    (folder / "portald.exe").write_text(STAND_IN_TEXT)
    (folder / "_internal" / "STAND-IN.txt").write_text(STAND_IN_TEXT)
    return folder


def build(payload: Path, out_dir: Path, *, config: Path = ROOT / "etc" / "portald.toml",
          name_suffix: str = "", wixl: str = "wixl") -> Path:
    """Builds the MSI into ``out_dir`` and returns its path. Raises ``PayloadError`` for a payload
    that cannot be packaged and ``subprocess.CalledProcessError`` when wixl fails."""
    ver = msi_version(version())
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"portald-{ver}-x64{name_suffix}.msi"
    with tempfile.TemporaryDirectory(prefix="portald-msi-") as work:
        # wixl takes relative sources only: the payload (linked) and the config (copied) sit in its folder
        Path(work, "payload").symlink_to(Path(payload).resolve(), target_is_directory=True)
        shutil.copyfile(config, Path(work, "portald.toml"))
        Path(work, "payload.wxs").write_text(fragment(payload, "payload"))
        defines = {"Version": ver, "ProductCode": product_code(ver), "PayloadDir": "payload",
                   "ConfigFile": "portald.toml"}
        command = [wixl, "-a", "x64", "-o", str(target.resolve())]
        for key, value in defines.items():
            command += ["-D", f"{key}={value}"]
        command += [str(HERE / "portald.wxs"), "payload.wxs"]
        subprocess.run(command, check=True, capture_output=True, text=True, cwd=work)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--payload", type=Path, help="folder with portald.exe (a frozen Windows build) at its top")
    source.add_argument("--stand-in", action="store_true", help="a stand-in payload: checks the package, runs nothing")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output folder (default dist/)")
    args = parser.parse_args(argv)
    if shutil.which("wixl") is None:
        print("build_msi: wixl not found (Debian: apt-get install wixl msitools)", file=sys.stderr)
        return 1
    try:
        if args.stand_in:
            with tempfile.TemporaryDirectory(prefix="portald-stand-in-") as folder:
                target = build(make_stand_in(Path(folder)), args.out, name_suffix="-STAND-IN")
            print(f"{target}: built with a STAND-IN payload; it cannot run portald (use PAYLOAD=DIR)")
        else:
            target = build(args.payload, args.out)
            print(target)
    except PayloadError as exc:
        print(f"build_msi: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"build_msi: wixl failed ({exc.returncode}):\n{exc.stderr}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
