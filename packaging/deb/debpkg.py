"""Reproducible .deb assembly shared by the portald and OEM-plugin builders (stdlib only).

It owns what makes two builds of one commit byte-for-byte equal: the commit's time as
``SOURCE_DATE_EPOCH``, a staging tree with fixed modes and mtimes, dist-info without build paths
(``direct_url.json``) and with a RECORD that matches, gzip without names or times, and ``dpkg-deb`` with
root ownership (xz at level 3: 10 MiB rather than 9, in a quarter of the time). Also the checks both
builders make on what they stage: the ELF machine of every shared object, the glibc a set of
manylinux wheels needs. (Same commit, same build environment: the .venv's pip and setuptools write
the dist-info.)
"""
from __future__ import annotations

import csv
import email.parser
import gzip
import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

# Debian architecture -> (pip platform suffix, ELF e_machine)
ARCHES = {"amd64": ("x86_64", 62), "arm64": ("aarch64", 183)}
# Debian 12 (bookworm) has glibc 2.36: the newest manylinux tag its python3 can load
GLIBC_MAX = 36
ELF_MACHINES = {62: "x86-64", 183: "aarch64", 3: "i386", 40: "arm"}


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def source_date_epoch(root: Path) -> int:
    """``SOURCE_DATE_EPOCH`` if set, else the time of the checked-out commit."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        out = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%ct"], capture_output=True,
                             text=True, check=True).stdout.strip()
        return int(out)
    except (OSError, subprocess.CalledProcessError, ValueError):
        sys.exit("debpkg: not a git checkout: set SOURCE_DATE_EPOCH (seconds) to build reproducibly")


def copy_source(root: Path, dest: Path, built: tuple[str, ...] = ()) -> Path:
    """The tree to build from: the files git knows or would add (working-tree contents), without
    build/, *.egg-info or caches that a previous build left, which setuptools would pick up; plus the
    ``built`` folders (build outputs git ignores but the package contains), where they exist."""
    try:
        names = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "-co", "--exclude-standard"],
                               capture_output=True, check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        names = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
                 and not {".git", ".venv", "build", "dist", "__pycache__", ".state", "node_modules"}
                 & set(p.relative_to(root).parts)]
    for folder in built:
        names += [str(p.relative_to(root)) for p in (root / folder).rglob("*") if p.is_file()]
    for name in filter(None, names):
        src = root / name
        if src.is_file():  # (a deleted file git still lists)
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def pip_platform_args(arch: str) -> list[str]:
    """pip's cross-download switches for Debian 12's python3 on ``arch`` (Debian name)."""
    machine = ARCHES[arch][0]
    args = []
    for minor in range(GLIBC_MAX, 16, -1):  # pip does not widen an explicit manylinux_2_X tag itself
        args += ["--platform", f"manylinux_2_{minor}_{machine}"]
    args += ["--platform", f"manylinux2014_{machine}", "--python-version", "3.11", "--implementation", "cp",
             "--abi", "cp311", "--only-binary=:all:"]
    return args


def read_lock(path: Path) -> dict[str, str]:
    """``name==version`` lines -> {normalised name: version}."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[normalise(name)] = version.strip()
    return pins


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions(site: Path) -> dict[str, tuple[str, Path]]:
    """The dists installed in a --target folder: {normalised name: (version, dist-info folder)}."""
    out = {}
    for info in sorted(site.glob("*.dist-info")):
        meta = email.parser.Parser().parsestr((info / "METADATA").read_text(encoding="utf-8"), headersonly=True)
        out[normalise(meta["Name"])] = (meta["Version"], info)
    return out


def scrub_dist_info(site: Path) -> None:
    """Drop what records the build machine (``direct_url.json``: the wheel's absolute path), the test
    suites some wheels carry (never imported by the daemon) and macOS litter; then keep every RECORD
    in step with the files left."""
    doomed = [p for p in site.glob("*.dist-info/direct_url.json")]
    doomed += [p for p in site.rglob("tests") if p.is_dir()] + list(site.rglob(".DS_Store"))
    for path in doomed:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    for record in site.glob("*.dist-info/RECORD"):
        rows = [row for row in csv.reader(io.StringIO(record.read_text()))
                if row and (site / row[0]).resolve().is_relative_to(site.resolve()) and (site / row[0]).exists()]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(sorted(rows))
        record.write_text(buf.getvalue())


def min_glibc(site: Path) -> tuple[int, int] | None:
    """The glibc the installed wheels need: per wheel the oldest manylinux tag it carries, over all the
    newest of those (None when every wheel is pure Python)."""
    needed = None
    for wheel_file in site.glob("*.dist-info/WHEEL"):
        versions = []
        for line in wheel_file.read_text().splitlines():
            if line.startswith("Tag:"):
                platform = line.rsplit("-", 1)[-1]
                m = re.match(r"manylinux_(\d+)_(\d+)_", platform)
                legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
                if m:
                    versions.append((int(m.group(1)), int(m.group(2))))
                elif platform.split("_")[0] in legacy:
                    versions.append(legacy[platform.split("_")[0]])
        if versions:
            needed = max(needed or (0, 0), min(versions))
    return needed


def elf_machine(path: Path) -> int | None:
    """e_machine of an ELF file (None if it is not one)."""
    with open(path, "rb") as f:
        head = f.read(20)
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    return int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")


def elf_files(tree: Path) -> dict[Path, int]:
    return {p: m for p in sorted(tree.rglob("*")) if p.is_file() and not p.is_symlink()
            and (m := elf_machine(p)) is not None}


def check_machine(tree: Path, arch: str) -> None:
    wanted = ARCHES[arch][1]
    wrong = {p: m for p, m in elf_files(tree).items() if m != wanted}
    if wrong:
        listing = ", ".join(f"{p.relative_to(tree)} ({ELF_MACHINES.get(m, m)})" for p, m in wrong.items())
        sys.exit(f"debpkg: not {arch} code in the {arch} package: {listing}")


def gzip_file(src: bytes, dest: Path) -> None:
    """gzip -9n: no file name, no time stamp."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "wb") as raw, gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as gz:
        gz.write(src)


def changelog(package: str, version: str, maintainer: str, epoch: int, text: str) -> bytes:
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(epoch))
    return (f"{package} ({version}) unstable; urgency=medium\n\n  * {text}\n\n"
            f" -- {maintainer}  {date}\n").encode()


def installed_size_kib(tree: Path) -> int:
    total = 0
    for p in tree.rglob("*"):
        if p.is_symlink() or p.is_dir():
            total += 1
        elif p.is_file():
            total += (p.stat().st_size + 1023) // 1024
    return total


def normalise_tree(tree: Path, epoch: int) -> None:
    """Fixed modes (0755 for folders and executables, 0644 for the rest) and every mtime = epoch, so the
    builder's umask and clock leave no trace."""
    for path in sorted(tree.rglob("*"), reverse=True) + [tree]:
        if path.is_symlink():
            os.utime(path, (epoch, epoch), follow_symlinks=False)
            continue
        if path.is_dir():
            path.chmod(0o755)
        else:
            path.chmod(0o755 if path.stat().st_mode & 0o111 else 0o644)
        os.utime(path, (epoch, epoch))


def build_deb(stage: Path, control: dict[str, str], out: Path, epoch: int) -> Path:
    """Write DEBIAN/control, normalise the tree and run dpkg-deb; returns the .deb's path."""
    debian = stage / "DEBIAN"
    debian.mkdir(exist_ok=True)
    size = str(installed_size_kib(stage))
    control = {key: value for item in control.items()
               for key, value in ([item, ("Installed-Size", size)] if item[0] == "Maintainer" else [item])}
    lines = []
    for key, value in control.items():
        if key == "Description":
            summary, _, body = value.partition("\n")
            lines.append(f"Description: {summary}")
            lines += [f" {line}" if line.strip() else " ." for line in body.splitlines()]
        elif value:
            lines.append(f"{key}: {value}")
    (debian / "control").write_text("\n".join(lines) + "\n")
    conffiles = sorted("/" + str(p.relative_to(stage)) for p in (stage / "etc").rglob("*")
                       if p.is_file()) if (stage / "etc").is_dir() else []
    if conffiles:
        (debian / "conffiles").write_text("".join(f"{c}\n" for c in conffiles))
    for script in ("preinst", "postinst", "prerm", "postrm"):
        if (debian / script).exists():
            (debian / script).chmod(0o755)
    normalise_tree(stage, epoch)
    out.mkdir(parents=True, exist_ok=True)
    deb = out / f"{control['Package']}_{control['Version']}_{control['Architecture']}.deb"
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch))
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "-z3", "--build", str(stage), str(deb)],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return deb
