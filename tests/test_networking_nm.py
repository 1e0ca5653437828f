"""The NetworkManager ``networking`` driver against the REAL NetworkManager (Debian's package), run by
each test inside network namespaces the test creates.

Per test: a namespace ``pnm<pid>-<n>`` with two veth ends (``veth0``, ``veth2``) whose peers sit in a
second namespace (``10.77.1.1/24``, ``10.77.2.1/24``, dnsmasq on the first when a test asks for DHCP);
a private ``dbus-daemon``; NetworkManager started with ``tests/fixtures/networkmanager/run-nm.sh``
inside the first namespace, keyfile profiles in a temporary folder, no DNS or hostname management.
The host's interfaces, its system bus and its ``/etc`` are never touched; everything started is
stopped and both namespaces deleted at the end, also after a failure. Needs root (``ip netns``).

The driver reads sysfs through ``/proc/<NetworkManager's pid>/root/sys``: that is the namespace's
own sysfs, mounted by ``ip netns exec`` in NetworkManager's mount namespace.
"""
from __future__ import annotations

import itertools
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import gevent
import pytest

from conftest import FIXTURES, admin_token, bearer
from portald.context import Paths
from portald.drivers import DriverError, NotFound
from portald_plugins.boards.linux import net_nm, nm_dbus
from portald_plugins.boards.linux.networking import Settings

HERE = FIXTURES / "networkmanager"
BUS_CONF = FIXTURES / "services" / "bus.conf"  # a private bus where everything is allowed
_names = itertools.count()

NM_CONF = """\
[main]
plugins=keyfile
no-auto-default=*
dns=none
rc-manager=unmanaged
hostname-mode=none
dhcp=internal
auth-polkit=false
[keyfile]
path={keyfiles}
[logging]
level=DEBUG
"""

STATIC_A = {"ipAddress": "10.77.1.2", "subnetMask": "255.255.255.0", "defaultGateway": "10.77.1.1",
            "primaryDNS": "10.77.1.1", "secondaryDNS": "9.9.9.9"}
STATIC_B = {"ipAddress": "10.77.1.3", "subnetMask": "255.255.255.0", "defaultGateway": "10.77.1.1",
            "primaryDNS": "10.77.1.1", "secondaryDNS": None}
STATIC_2 = {"ipAddress": "10.77.2.2", "subnetMask": "255.255.255.0", "defaultGateway": "10.77.2.1",
            "primaryDNS": "", "secondaryDNS": None}


def _run(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=10).stdout


def _wait(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.1)


class NmLab:
    """Two namespaces linked by veth pairs, a private bus and the real NetworkManager in one of them."""

    def __init__(self):
        for tool in ("ip", "dbus-daemon", "NetworkManager", "dnsmasq"):
            if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
                pytest.fail(f"{tool} is missing (make test installs network-manager, dnsmasq-base, iproute2)")
        # a unix socket path must fit in 108 bytes, which pytest's tmp_path does not promise
        self.folder = Path(tempfile.mkdtemp(prefix="portald-nm-"))
        self.keyfiles = self.folder / "connections"
        self.keyfiles.mkdir()
        n = next(_names)
        self.ns, self.peer = f"pnm{os.getpid()}-{n}", f"pnm{os.getpid()}-{n}p"
        self.address = f"unix:path={self.folder}/bus"
        self.bus = self.nm = self.dnsmasq = None
        self.namespaces: list[str] = []
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        for ns in (self.ns, self.peer):
            _run("ip", "netns", "add", ns)
            self.namespaces.append(ns)
        _run("ip", "-n", self.ns, "link", "set", "lo", "up")
        for end, peer, net in (("veth0", "peer0", "10.77.1"), ("veth2", "peer2", "10.77.2")):
            _run("ip", "link", "add", end, "netns", self.ns, "type", "veth", "peer", "name", peer, "netns", self.peer)
            _run("ip", "-n", self.peer, "addr", "add", f"{net}.1/24", "dev", peer)
            _run("ip", "-n", self.peer, "link", "set", peer, "up")
        self.bus = subprocess.Popen(["dbus-daemon", f"--config-file={BUS_CONF}", f"--address={self.address}",
                                     "--nofork", "--print-address"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        ready, _, _ = select.select([self.bus.stdout], [], [], 5)
        assert ready and self.bus.stdout.readline(), "dbus-daemon did not start"
        config = self.folder / "NetworkManager.conf"
        config.write_text(NM_CONF.format(keyfiles=self.keyfiles))
        self.log = open(self.folder / "NetworkManager.log", "w")
        self.nm = subprocess.Popen(["ip", "netns", "exec", self.ns, "sh", str(HERE / "run-nm.sh"), self.address,
                                    str(config), str(self.folder)], stdout=self.log, stderr=subprocess.STDOUT)
        _wait(lambda: nm_dbus.networkmanager_runs(self.address, 1), 10, "NetworkManager on the bus")
        self.driver = net_nm.NmNetworkingDriver(self.ctx(), Settings(bus_address=self.address, timeout_seconds=10,
                                                                     checkpoint_margin_seconds=1))
        _wait(lambda: {"veth0", "veth2"} <= {i["name"] for i in self.driver.interfaces()}, 10, "NM's devices")

    def ctx(self):
        root = Path(f"/proc/{self.nm.pid}/root")
        return SimpleNamespace(paths=Paths(root / "sys", root / "proc", root / "dev"))

    def ip(self, *argv: str) -> str:
        return _run("ip", "-n", self.ns, *argv)

    def if_index(self, name: str) -> int:
        return {i["name"]: i["ifIndex"] for i in self.driver.interfaces()}[name]

    def interface(self, name: str) -> dict:
        return {i["name"]: i for i in self.driver.interfaces()}[name]

    def keyfile(self, interface: str) -> str:
        """The saved profile of the interface (keyfiles are named after the profile's id)."""
        texts = [p.read_text() for p in self.keyfiles.iterdir()]
        found = [t for t in texts if f"interface-name={interface}\n" in t]
        assert len(found) == 1, texts
        return found[0]

    def start_dnsmasq(self) -> None:
        self.dnsmasq = subprocess.Popen(
            ["ip", "netns", "exec", self.peer, "dnsmasq", "--conf-file=/dev/null", "--keep-in-foreground",
             "--interface=peer0", "--bind-interfaces", "--port=0", "--dhcp-range=10.77.1.50,10.77.1.99,1h",
             f"--dhcp-leasefile={self.folder}/leases", f"--pid-file={self.folder}/dnsmasq.pid",
             "--dhcp-option=option:dns-server,10.77.1.1", "--dhcp-option=option:domain-name,lab.example"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        for proc in (self.dnsmasq, self.nm, self.bus):
            if proc is not None:  # NetworkManager's files are on tmpfs and in self.folder: SIGKILL is fine
                proc.kill()
                proc.wait()
        if self.bus is not None:
            self.bus.stdout.close()
        if getattr(self, "log", None):
            self.log.close()
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def lab():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    nm = NmLab()
    try:
        yield nm
    finally:
        nm.stop()


def _addresses(lab, name: str) -> str:
    return lab.ip("-4", "-o", "addr", "show", "dev", name)


def _default_routes(lab) -> str:
    return lab.ip("-4", "route", "show", "default")


# --- probing and reading ------------------------------------------------------------------------

def test_networkmanager_runs_only_where_nm_owns_its_name(lab):
    assert net_nm.networkmanager_runs(Settings(bus_address=lab.address))
    assert lab.driver.probe()
    nowhere = f"unix:path={lab.folder}/no-bus"
    assert not net_nm.networkmanager_runs(Settings(bus_address=nowhere))
    assert not net_nm.NmNetworkingDriver(lab.ctx(), Settings(bus_address=nowhere)).probe()


def test_interfaces_lists_the_namespaces_links_without_loopback(lab):
    found = {i["name"]: i for i in lab.driver.interfaces()}
    assert set(found) == {"veth0", "veth2"}
    veth0 = found["veth0"]
    sys_net = lab.ctx().paths.sysfs("class", "net", "veth0")
    assert veth0["ifIndex"] == int((sys_net / "ifindex").read_text())
    assert veth0["hardwareAddress"] == (sys_net / "address").read_text().strip()
    assert veth0 | {"hardwareAddress": "", "ifIndex": 0, "iocounters": {}} == {
        "ifIndex": 0, "uuid": "veth0", "name": "veth0", "description": "", "type": "Ethernet", "typeId": 6,
        "mtu": 1500, "connected": True, "isDefault": False, "dhcpEnabled": False, "hardwareAddress": "",
        "addresses": [], "gateway": [], "dns": [], "iocounters": {},
        "speed": "10 Gbps", "sendSpeed": 10**10, "recvSpeed": 10**10}  # what veth reports
    assert set(veth0["iocounters"]) == {"ifindex", "bytesSent", "bytesRecv", "packetsSent", "packetsRecv", "errin",
                                        "errout", "dropin", "dropout", "fifoin", "fifoout"}
    assert veth0["iocounters"]["ifindex"] == veth0["ifIndex"]
    # connected is the carrier (NM has no profile active on it): gone when the far end goes down
    _run("ip", "-n", lab.peer, "link", "set", "peer0", "down")
    _wait(lambda: not lab.interface("veth0")["connected"], 5, "the carrier to go")


# --- static and DHCP ----------------------------------------------------------------------------

def test_static_ipv4_is_applied_saved_and_read_back(lab):
    lab.driver.set_static_ipv4(lab.if_index("veth0"), STATIC_A)
    assert "10.77.1.2/24" in _addresses(lab, "veth0")
    assert "default via 10.77.1.1 dev veth0" in _default_routes(lab)
    saved = lab.keyfile("veth0")
    assert "method=manual" in saved and "address1=10.77.1.2/24,10.77.1.1\n" in saved  # keyfile: gateway there
    assert "dns=10.77.1.1;9.9.9.9;" in saved
    veth0 = lab.interface("veth0")
    assert veth0["connected"] and veth0["isDefault"] and not veth0["dhcpEnabled"]
    assert veth0["addresses"][0] == "10.77.1.2/24"
    assert all(":" in a for a in veth0["addresses"][1:])  # then IPv6 (link-local), if any
    assert veth0["gateway"] == ["10.77.1.1"] and veth0["dns"] == ["10.77.1.1", "9.9.9.9"]
    assert veth0["speed"] == "10 Gbps" and veth0["sendSpeed"] == 10**10  # what veth reports
    assert veth0["iocounters"]["packetsSent"] > 0


def test_changing_a_static_address_replaces_the_old_one(lab):
    index = lab.if_index("veth0")
    lab.driver.set_static_ipv4(index, STATIC_A)
    lab.driver.set_static_ipv4(index, STATIC_B)
    addresses = _addresses(lab, "veth0")
    assert "10.77.1.3/24" in addresses and "10.77.1.2/" not in addresses
    assert lab.interface("veth0")["dns"] == ["10.77.1.1"]
    assert len(list(lab.keyfiles.iterdir())) == 1  # the same profile, changed


def test_dhcp_gets_a_lease_from_dnsmasq_and_is_saved(lab):
    lab.start_dnsmasq()
    index = lab.if_index("veth0")
    lab.driver.set_static_ipv4(index, STATIC_A)
    lab.driver.set_dhcp(index)
    veth0 = _wait(lambda: (i := lab.interface("veth0"))["dhcpEnabled"] and i["dns"] == ["10.77.1.1"] and i,
                  20, "a DHCP lease")
    address = veth0["addresses"][0]
    assert address.startswith("10.77.1.") and 50 <= int(address.split(".")[3].split("/")[0]) <= 99, veth0
    assert veth0["gateway"] == ["10.77.1.1"] and veth0["dnssuffix"] == "lab.example"  # dnsmasq: itself
    assert "10.77.1.2/" not in _addresses(lab, "veth0")
    assert "method=auto" in lab.keyfile("veth0") and "address1=" not in lab.keyfile("veth0")


def test_unknown_if_index_is_not_found(lab):
    with pytest.raises(NotFound):
        lab.driver.set_static_ipv4(999, STATIC_A)
    with pytest.raises(NotFound):
        lab.driver.set_dhcp(999)
    with pytest.raises(NotFound):
        lab.driver.set_route_metrics({"veth0": 100, "eth9": 200}, False)


# --- route metrics ------------------------------------------------------------------------------

def test_route_metrics_reorder_the_default_routes_live_and_saved(lab):
    lab.driver.set_static_ipv4(lab.if_index("veth0"), STATIC_A)
    lab.driver.set_static_ipv4(lab.if_index("veth2"), STATIC_2)
    lab.driver.set_route_metrics({"veth2": 100, "veth0": 200}, ipv6=False)
    routes = _default_routes(lab)
    assert "default via 10.77.2.1 dev veth2 proto static metric 100" in routes, routes
    assert "default via 10.77.1.1 dev veth0 proto static metric 200" in routes, routes
    found = {i["name"]: i for i in lab.driver.interfaces()}
    assert (found["veth2"]["ipv4Metric"], found["veth0"]["ipv4Metric"]) == (100, 200)
    assert found["veth2"]["isDefault"] and not found["veth0"]["isDefault"]
    assert "route-metric=200" in lab.keyfile("veth0").split("[ipv4]")[1].split("[")[0]
    lab.driver.set_route_metrics({"veth0": 300}, ipv6=True)
    assert lab.interface("veth0")["ipv6Metric"] == 300
    assert "route-metric=300" in lab.keyfile("veth0").split("[ipv6]")[1].split("[")[0]
    assert "metric 100" in _default_routes(lab)  # IPv4 kept


# --- the change window: NetworkManager checkpoints ----------------------------------------------

def test_restore_rolls_back_to_the_checkpoint_live_and_saved(lab):
    index = lab.if_index("veth0")
    lab.driver.set_static_ipv4(index, STATIC_A)
    snapshot = lab.driver.snapshot(30)
    assert snapshot["checkpoint"].startswith("/org/freedesktop/NetworkManager/Checkpoint/")
    lab.driver.set_static_ipv4(index, STATIC_B)
    assert "10.77.1.3/24" in _addresses(lab, "veth0")
    lab.driver.restore(snapshot)
    _wait(lambda: "10.77.1.2/24" in _addresses(lab, "veth0") and "10.77.1.3/" not in _addresses(lab, "veth0"),
          10, "the old address")
    assert "address1=10.77.1.2/24" in lab.keyfile("veth0")
    lab.driver.restore(snapshot)  # again (a daemon restarted mid-restore): the checkpoint is gone, done
    lab.driver.release(snapshot)


def test_restore_deletes_a_profile_created_in_the_window(lab):
    snapshot = lab.driver.snapshot(30)
    lab.driver.set_static_ipv4(lab.if_index("veth0"), STATIC_A)
    assert list(lab.keyfiles.iterdir())
    lab.driver.restore(snapshot)
    _wait(lambda: not list(lab.keyfiles.iterdir()), 10, "the new profile to go")
    _wait(lambda: "10.77.1.2/" not in _addresses(lab, "veth0"), 10, "the address to go")


def test_networkmanager_rolls_back_by_itself_when_nobody_restores(lab):
    """The daemon died in the window: NM's own timer (window + margin, here 0.5 + 1 s) rolls back."""
    index = lab.if_index("veth0")
    lab.driver.set_static_ipv4(index, STATIC_A)
    snapshot = lab.driver.snapshot(0.5)
    lab.driver.set_static_ipv4(index, STATIC_B)
    _wait(lambda: "10.77.1.2/24" in _addresses(lab, "veth0"), 10, "NetworkManager's own rollback")
    lab.driver.restore(snapshot)  # the restarted daemon finds the checkpoint gone: nothing left to do


def test_release_keeps_the_change(lab):
    index = lab.if_index("veth0")
    lab.driver.set_static_ipv4(index, STATIC_A)
    snapshot = lab.driver.snapshot(0.5)
    lab.driver.set_static_ipv4(index, STATIC_B)
    lab.driver.release(snapshot)
    time.sleep(2.5)  # past the checkpoint's own timer
    assert "10.77.1.3/24" in _addresses(lab, "veth0")
    lab.driver.release(snapshot)  # twice: fine


def test_extend_moves_networkmanagers_own_rollback(lab):
    index = lab.if_index("veth0")
    lab.driver.set_static_ipv4(index, STATIC_A)
    snapshot = lab.driver.snapshot(0.5)
    lab.driver.extend(snapshot, 5)
    lab.driver.set_static_ipv4(index, STATIC_B)
    time.sleep(2.5)  # the first timer would have fired by now
    assert "10.77.1.3/24" in _addresses(lab, "veth0")
    lab.driver.restore(snapshot)
    _wait(lambda: "10.77.1.2/24" in _addresses(lab, "veth0"), 10, "the rollback")


# --- the whole daemon on the real NetworkManager ------------------------------------------------

@pytest.fixture
def nm_api(lab, make_app):
    """The daemon on the Linux board, its networking driven by the lab's NetworkManager, with a 2 s
    confirmation window (NetworkManager's own timer 60 s later: what rolls back in the test is the
    daemon); every D-Bus client of the board points at the lab's private bus."""
    app = make_app(board="auto", sysfs_root=str(lab.ctx().paths.sysfs_root), changes={"confirm_timeout_seconds": 2},
                   plugins={"linux": {"networking": {"bus_address": lab.address, "networkmanager": "always",
                                                     "timeout_seconds": 10, "checkpoint_margin_seconds": 60},
                                      "wifi": {"bus_address": lab.address},
                                      "services": {"bus_address": lab.address}}})
    client = app.test_client()
    return client, bearer(admin_token(client))


def _rows(client, headers) -> dict[str, dict]:
    response = client.get("/platform/api/networking/interfaces", headers=headers)
    assert response.status_code == 200, response.get_json()
    return {row["name"]: row for row in response.get_json()}


def test_api_change_on_real_networkmanager_rolls_back_unless_confirmed(lab, nm_api):
    client, headers = nm_api
    index = _rows(client, headers)["veth0"]["ifIndex"]
    lab.driver.set_static_ipv4(index, STATIC_A)
    response = client.put(f"/platform/api/networking/ipv4config/{index}", json=STATIC_B, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert _rows(client, headers)["veth0"]["addresses"][0] == "10.77.1.3/24"
    assert len(_checkpoints(lab)) == 1
    gevent.sleep(3)  # the window ends unconfirmed: the daemon rolls NetworkManager's checkpoint back
    _wait(lambda: "10.77.1.2/24" in _addresses(lab, "veth0"), 5, "the rollback")
    assert "address1=10.77.1.2/24," in lab.keyfile("veth0") and _checkpoints(lab) == []

    pending = client.put(f"/platform/api/networking/ipv4config/{index}", json=STATIC_B,
                         headers=headers).get_json()["confirmation"]
    assert client.post(pending["confirmUrl"], headers=headers).status_code == 200
    assert _checkpoints(lab) == []  # released: NetworkManager will not roll back either
    gevent.sleep(3)  # past the window: confirmed, so it stays
    assert "10.77.1.3/24" in _addresses(lab, "veth0") and "address1=10.77.1.3/24," in lab.keyfile("veth0")


def _checkpoints(lab) -> list[str]:
    with nm_dbus.session(lab.address, 5, 10) as bus:
        return bus.get(nm_dbus.NM_PATH, nm_dbus.NM, "Checkpoints")


# --- failures -----------------------------------------------------------------------------------

def test_a_second_checkpoint_while_one_is_pending_is_refused_with_a_message(lab):
    snapshot = lab.driver.snapshot(30)
    with pytest.raises(DriverError, match="another change may still be pending"):
        lab.driver.snapshot(30)
    lab.driver.release(snapshot)
    lab.driver.release(lab.driver.snapshot(30))  # free again


def test_a_hung_networkmanager_costs_a_bounded_error(lab):
    driver = net_nm.NmNetworkingDriver(lab.ctx(), Settings(bus_address=lab.address, timeout_seconds=1))
    os.kill(lab.nm.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(DriverError, match="did not answer"):
            driver.interfaces()
        assert time.monotonic() - started < 2
    finally:
        os.kill(lab.nm.pid, signal.SIGCONT)
    assert driver.interfaces()
