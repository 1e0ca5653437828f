"""The Debian packages (``make deb``, ``make acme-deb``): built from a snapshot of this tree, the amd64
package installed with ``dpkg -i`` on this machine, the installed ``/usr/bin/portald`` serving a login
and the profile on a loopback port (systemd is not PID 1 here, so the daemon is started directly), the
OEM example's plugin package loaded by it, then both purged with nothing left. The arm64 package is
checked by its contents (every ELF file aarch64, the same layout as amd64); it is run under qemu-user
on demand by ``packaging/deb/run-arm64-under-qemu``, not here (it changes apt's configuration and
downloads arm64 packages; see the README). Two builds of one commit are byte-for-byte equal; lintian
is clean but for the explained overrides.

Building needs dpkg-deb; installing needs root and dpkg, and never runs where portald is already
installed or its folders exist (it would purge them). The install test puts back ``/etc/pam.d/portald``
(``make pam``'s copy, which the suite's PAM tests use and the purge removes) whatever happens.
"""
from __future__ import annotations

import configparser
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "packaging" / "deb"))
import debpkg  # noqa: E402
from build_portald import BUILT_ASSETS, version as source_version  # noqa: E402

PAM_FILE = Path("/etc/pam.d/portald")
OWNED = [Path("/opt/portald"), Path("/etc/portald"), Path("/var/lib/portald")]
NEW_PASSWORD = "Deb-inst4ll-ok!"

needs_dpkg = pytest.mark.skipif(not shutil.which("dpkg-deb"), reason="building Debian packages needs dpkg-deb")


def _build(tree: Path, script: str, out: Path, *args: str, epoch: int) -> None:
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch))
    subprocess.run([sys.executable, str(tree / "packaging" / "deb" / script), "--out", str(out), *args],
                   check=True, env=env, timeout=600, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A snapshot of the tree (others may edit it meanwhile) and the packages built from it."""
    if not shutil.which("dpkg-deb"):
        pytest.skip("building Debian packages needs dpkg-deb")
    base = tmp_path_factory.mktemp("deb")
    tree = base / "tree"
    debpkg.copy_source(ROOT, tree, BUILT_ASSETS)
    epoch = debpkg.source_date_epoch(ROOT)
    out = base / "dist"
    _build(tree, "build_portald.py", out, "--arch", "amd64", "--arch", "arm64", epoch=epoch)
    _build(tree, "build_plugin.py", out, str(tree / "examples" / "acme-board"), epoch=epoch)
    version = source_version(ROOT)
    return {"tree": tree, "epoch": epoch, "base": base, "amd64": out / f"portald_{version}_amd64.deb",
            "arm64": out / f"portald_{version}_arm64.deb", "acme": out / "portald-acme-board_1.0.0_all.deb"}


def _contents(deb: Path, dest: Path) -> Path:
    subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True)
    return dest


def _field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True).stdout.strip()


def test_lock_pins_every_install_requirement():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    wanted = {debpkg.normalise(re.split(r"[<>=!~\[; ]", line.strip(), maxsplit=1)[0])
              for line in cfg["options"]["install_requires"].splitlines()
              if line.strip() and not line.strip().startswith("#")}
    pinned = debpkg.read_lock(ROOT / "packaging" / "deb" / "requirements.txt")
    assert wanted - set(pinned) == set(), "run `make deb-lock`"
    assert all(re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", v) for v in pinned.values())


@needs_dpkg
def test_same_commit_builds_the_same_package(built):
    again = built["base"] / "again"
    _build(built["tree"], "build_portald.py", again, "--arch", "amd64", epoch=built["epoch"])
    assert (again / built["amd64"].name).read_bytes() == built["amd64"].read_bytes()
    listing = subprocess.run(["dpkg-deb", "-c", str(built["amd64"])], capture_output=True, text=True,
                             check=True).stdout
    assert "direct_url.json" not in listing and ".pyc" not in listing
    for folder in BUILT_ASSETS:  # the web UI and API docs go in when they were built (make webui docs-ui)
        if (ROOT / folder / "index.html").exists():
            assert f"./opt/portald/lib/{folder}/index.html" in listing
    stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(built["epoch"]))
    assert all(stamp in line for line in listing.splitlines())  # every mtime is the commit's


@needs_dpkg
def test_arm64_package_is_aarch64_with_the_amd64_layout(built, tmp_path):
    arm = _contents(built["arm64"], tmp_path / "arm64")
    amd = _contents(built["amd64"], tmp_path / "amd64")
    arm_elves, amd_elves = debpkg.elf_files(arm), debpkg.elf_files(amd)
    assert len(arm_elves) >= 10 and set(arm_elves.values()) == {183}
    assert set(amd_elves.values()) == {62}

    def layout(tree: Path) -> set[str]:
        # extension modules are named after their machine (..._x86_64-linux-gnu.so); the rest is equal
        return {re.sub(r"(x86_64|aarch64)", "ARCH", str(p.relative_to(tree))) for p in tree.rglob("*")}
    # gevent's aarch64 wheel comes without the optional c-ares resolver; portald uses gevent's default
    # (thread) resolver, on both
    assert layout(amd) - layout(arm) <= {"opt/portald/lib/gevent/resolver/cares.cpython-311-ARCH-linux-gnu.so"}
    assert layout(arm) - layout(amd) == set()
    for same in ("usr/bin/portald", "lib/systemd/system/portald.service", "etc/portald/portald.toml"):
        assert (arm / same).read_bytes() == (amd / same).read_bytes()
    assert (arm / "usr/bin/portald").read_text().startswith("#!/usr/bin/python3 -IBS\n")
    assert _field(built["arm64"], "Architecture") == "arm64"
    assert _field(built["arm64"], "Depends") == _field(built["amd64"], "Depends")


@needs_dpkg
@pytest.mark.skipif(not shutil.which("lintian"), reason="lintian is not installed (make test installs it)")
def test_lintian_clean_but_for_explained_overrides(built):
    result = subprocess.run(["lintian", "--fail-on", "error,warning", str(built["amd64"]), str(built["acme"])],
                            capture_output=True, text=True, timeout=300)
    tags = [line for line in result.stdout.splitlines() if re.match(r"[EW]: ", line)]
    assert result.returncode == 0 and tags == [], result.stdout + result.stderr
    overrides = (ROOT / "packaging" / "deb" / "lintian-overrides").read_text().split("\n\n")
    for block in overrides[1:]:  # every override under a comment that says why
        assert block.lstrip().startswith("#") and "portald:" in block


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _installed(package: str) -> bool:
    status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return "ok installed" in status.stdout or "config-files" in status.stdout


def _dpkg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["dpkg", *args], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


@pytest.fixture
def machine():
    """This machine, made ready for an install and put back afterwards, also on failure."""
    if os.geteuid() != 0 or not shutil.which("dpkg"):
        pytest.skip("installing a Debian package needs root and dpkg")
    if _installed("portald") or any(p.exists() for p in OWNED):
        pytest.skip("portald is installed here (or its folders exist): the test would purge it")
    saved = PAM_FILE.read_bytes() if PAM_FILE.exists() else None
    children: list[subprocess.Popen] = []
    try:
        yield children
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate(timeout=10)
        for package in ("portald-acme-board", "portald"):
            if _installed(package):
                _dpkg("--purge", package)
        if saved is not None and (not PAM_FILE.exists() or PAM_FILE.read_bytes() != saved):
            PAM_FILE.write_bytes(saved)
            PAM_FILE.chmod(0o644)


def _start_daemon(port: int, state: Path) -> subprocess.Popen:
    """The installed daemon as the service runs it (HTTPS: its certificate made by a child python3 that
    must find portald too), on the sim board and a loopback port."""
    proc = subprocess.Popen(["/usr/bin/portald", "run", "--sim", "--listen", f"127.0.0.1:{port}",
                             "--state-dir", str(state)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"https://127.0.0.1:{port}/platform/api/ping", timeout=1,
                            verify=str(state / "tls-cert.pem")).text == "pong":
                return proc
        except OSError:  # refused, or no certificate yet (requests' errors are OSErrors too)
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the installed portald did not start: {proc.communicate(timeout=10)[0]}")
        time.sleep(0.2)


def _profile(port: int, state: Path) -> dict:
    """Log in with the factory password, change it, log in again and read the profile."""
    # verify per request: a session-wide one would lose to REQUESTS_CA_BUNDLE
    tls = {"verify": str(state / "tls-cert.pem"), "timeout": 10}
    url = f"https://127.0.0.1:{port}"
    login = lambda password: requests.post(f"{url}/auth/login?m=2", **tls,  # noqa: E731
                                           json={"username": "admin", "password": password})
    first = login("p@ssw0rd")
    assert first.status_code == 200, first.text
    changed = requests.put(f"{url}/auth/user/admin/password", json={"old": "p@ssw0rd", "new": NEW_PASSWORD},
                           headers={"Authorization": f"Bearer {first.json()['token']}"}, **tls)
    assert changed.status_code == 200, changed.text
    token = login(NEW_PASSWORD).json()["token"]
    profile = requests.get(f"{url}/edgehub/api/profile", headers={"Authorization": f"Bearer {token}"}, **tls)
    assert profile.status_code == 200, profile.text
    return profile.json()


def _acme_check(tmp_path: Path, children: list) -> str:
    """``portald check`` of the installed daemon with the installed acme plugin on its simulated MCU
    (from the plugin package's own mcu_sim, run by the system's python3)."""
    mcu = subprocess.Popen(["/usr/bin/python3", "-IS", "-c",
                            "import sys; sys.path[:0] = ['/opt/portald/lib', '/opt/portald/plugins']\n"
                            "from acme_board.mcu_sim import SimulatedMcu\n"
                            "mcu = SimulatedMcu().start(); print(mcu.port, flush=True); sys.stdin.read()"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    children.append(mcu)
    port = mcu.stdout.readline().strip()
    assert port.startswith("/dev/"), port
    config = tmp_path / "acme.toml"
    config.write_text(f'state_dir = "{tmp_path / "check-state"}"\nplugins_dir = "{tmp_path / "plugins.d"}"\n'
                      f'[drivers]\ngpio = ["acme.gpio"]\nled = ["acme.led"]\n[plugins.acme]\nport = "{port}"\n')
    check = subprocess.run(["/usr/bin/portald", "check", "--sim", "--config", str(config)],
                           capture_output=True, text=True, timeout=120)
    mcu.stdin.close()
    mcu.wait(timeout=10)
    return check.stdout + check.stderr


@needs_dpkg
def test_install_run_plugin_and_purge_leave_nothing(built, machine, tmp_path):
    installed = _dpkg("-i", "--force-confdef", "--force-confold", str(built["amd64"]))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert Path("/var/lib/portald").stat().st_mode & 0o777 == 0o700
    assert Path("/etc/portald/plugins.d").is_dir() and Path("/lib/systemd/system/portald.service").is_file()
    conffiles = subprocess.run(["dpkg-query", "-W", "-f=${Conffiles}", "portald"], capture_output=True,
                               text=True).stdout
    assert "/etc/portald/portald.toml" in conffiles and "/etc/pam.d/portald" in conffiles
    assert list(Path("/opt/portald/lib/portald").glob("__pycache__/*.cpython-311.pyc"))  # postinst compiled
    version = subprocess.run(["/usr/bin/portald", "--version"], capture_output=True, text=True, timeout=60)
    assert source_version(ROOT) in version.stdout + version.stderr
    if shutil.which("systemd-analyze"):  # the unit as systemd reads it (its ExecStart and man page exist)
        verify = subprocess.run(["systemd-analyze", "verify", "/lib/systemd/system/portald.service"],
                                capture_output=True, text=True, timeout=60)
        assert verify.returncode == 0, verify.stdout + verify.stderr

    port = _free_port()
    daemon = _start_daemon(port, tmp_path / "state")
    machine.append(daemon)
    profile = _profile(port, tmp_path / "state")
    assert profile and isinstance(profile, dict)
    daemon.terminate()
    assert daemon.wait(timeout=15) == 0

    # an upgrade (here: the same package again) keeps an edited conffile and the state
    config = Path("/etc/portald/portald.toml")
    config.write_text(config.read_text() + "# edited on the device\n")
    Path("/var/lib/portald/kept").write_text("state")
    again = _dpkg("-i", "--force-confdef", "--force-confold", str(built["amd64"]))
    assert again.returncode == 0, again.stdout + again.stderr
    assert config.read_text().endswith("# edited on the device\n")
    assert Path("/var/lib/portald/kept").exists() and Path("/var/lib/portald").stat().st_mode & 0o777 == 0o700

    plugin = _dpkg("-i", str(built["acme"]))
    assert plugin.returncode == 0, plugin.stdout + plugin.stderr
    report = _acme_check(tmp_path, machine)
    assert re.search(r"^\s+acme\s+\S+\s+entrypoint", report, re.M), report
    assert re.search(r"^\s+gpio\s+acme\.gpio \(plugin acme\)", report, re.M), report
    assert re.search(r"^\s+led\s+acme\.led \(plugin acme\)", report, re.M), report
    plugin_files = subprocess.run(["dpkg", "-L", "portald-acme-board"], capture_output=True, text=True).stdout.split()
    assert _dpkg("--purge", "portald-acme-board").returncode == 0
    assert not Path("/opt/portald/plugins/acme_board").exists()
    assert [f for f in plugin_files if Path(f).exists() and not Path(f).is_dir()] == []

    files = subprocess.run(["dpkg", "-L", "portald"], capture_output=True, text=True).stdout.split()
    assert "/usr/bin/portald" in files
    purged = _dpkg("--purge", "portald")
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert not _installed("portald")
    assert [f for f in files if Path(f).exists() and not Path(f).is_dir()] == []
    assert [p for p in OWNED if p.exists()] == []
    links = [p for p in Path("/etc/systemd/system").rglob("portald.service")] if Path("/etc/systemd").exists() else []
    assert links == []
