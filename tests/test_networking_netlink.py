"""The netlink ``networking`` driver (``plugins/boards/linux/net_netlink.py``, ``net_persist.py``) on
real links: every case builds its own network namespaces — ``pd<pid>c<n>`` (the peer: gateway, DHCP
server) and ``pd<pid>d<n>`` (the device the driver runs in) joined by veth pairs — and deletes them
afterwards, killing what still runs in them (by pid), also when a test fails. The host's interfaces,
resolv.conf and system bus are never touched: the persistent files go to tmp_path, DNS is never
written to the machine's resolv.conf, and the DHCP client is ``dhclient`` with a script written here
(``ip addr``/``ip route`` only), never dhclient-script.

The driver runs INSIDE the device namespace: ``ip netns exec`` starts a small Python helper there
(it also remounts /sys, so the driver's sysfs reads see that namespace's links), which builds the
driver with a Settings table and prints the result as JSON.

The parts that need no namespace (speed text, type mapping, file rendering and parsing, hostile
interface names) are plain unit tests at the end.
"""
from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from portald_plugins.boards.linux import net_netlink, net_persist
from portald_plugins.boards.linux.net_persist import PersistentConfig

_counter = itertools.count()

# As in the daemon: gevent's patches (subprocess left alone), the netlink part in the threadpool under
# the default driver timeout (ctx.blocking), commands through the runner on the event loop.
HELPER = textwrap.dedent("""
    from gevent import monkey; monkey.patch_all(subprocess=False)
    import json, sys, types
    from portald.context import Paths
    from portald.drivers import BlockingDriver, DriverError
    from portald.runner import CommandRunner
    from gevent.threadpool import ThreadPool
    from portald_plugins.boards.linux.networking import Settings
    from portald_plugins.boards.linux.net_netlink import NetlinkNetworkingDriver
    request = json.load(sys.stdin)
    ctx = types.SimpleNamespace(paths=Paths("/sys", "/proc", "/dev"), runner=CommandRunner(),
                                blocking=lambda helper, own_thread=False: BlockingDriver(
                                    helper, 5.0, ThreadPool(1) if own_thread else None))
    driver = NetlinkNetworkingDriver(ctx, Settings(**request["settings"]))
    try:
        result = getattr(driver, request["method"])(*request["args"])
        print(json.dumps({"result": result}))
    except (DriverError, OSError) as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
""")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


class Namespaces:
    """A device and a peer namespace; ``link(n)`` adds the veth pair ``vd<n>`` (device, 10.7<n>.0.2/24,
    default route via the peer with metric 100 + 100 n) / ``vc<n>`` (peer, 10.7<n>.0.1/24)."""

    def __init__(self, tmp_path: Path):
        serial = next(_counter)
        self.peer, self.device = f"pd{os.getpid()}c{serial}", f"pd{os.getpid()}d{serial}"
        self.tmp = tmp_path
        self.created: list[str] = []
        for ns in (self.peer, self.device):
            _ip("netns", "add", ns)
            self.created.append(ns)
            _ip("-n", ns, "link", "set", "lo", "up")

    def link(self, n: int, metric: int | None = None) -> None:
        _ip("-n", self.device, "link", "add", f"vd{n}", "type", "veth", "peer", "name", f"vc{n}",
            "netns", self.peer)
        _ip("-n", self.device, "addr", "add", f"10.7{n}.0.2/24", "dev", f"vd{n}")
        _ip("-n", self.peer, "addr", "add", f"10.7{n}.0.1/24", "dev", f"vc{n}")
        _ip("-n", self.device, "link", "set", f"vd{n}", "up")
        _ip("-n", self.peer, "link", "set", f"vc{n}", "up")
        _ip("-n", self.device, "route", "add", "default", "via", f"10.7{n}.0.1", "dev", f"vd{n}",
            "metric", str(100 + 100 * n if metric is None else metric))

    def exec(self, ns: str, *argv: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, **kwargs)

    def call(self, settings: dict, method: str, *args):
        """``driver.<method>(*args)`` inside the device namespace; the result, or the DriverError's
        class name and message as {"error", "message"}."""
        done = self.exec(self.device, sys.executable, "-c", HELPER, timeout=60,
                         input=json.dumps({"settings": settings, "method": method, "args": list(args)}))
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout.splitlines()[-1])
        return answer if "error" in answer else answer["result"]

    def interfaces(self, settings: dict) -> dict:
        return {i["name"]: i for i in self.call(settings, "interfaces")}

    def close(self) -> None:
        for ns in self.created:
            # whatever still runs in our namespaces (dnsmasq, dhclient): only those pids
            pids = _ip("netns", "pids", ns, check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            _ip("netns", "del", ns, check=False)


@pytest.fixture
def netns(tmp_path):
    if os.geteuid() != 0:
        pytest.fail("the netlink networking tests need root (ip netns add), as CI has")
    if shutil.which("ip") is None:
        pytest.fail("iproute2 is missing: apt-get install iproute2 (make test does it)")
    spaces = Namespaces(tmp_path)
    try:
        spaces.link(0)
        yield spaces
    finally:
        spaces.close()


def _settings(tmp_path: Path, stack: str = "none", **extra) -> dict:
    base = {"networkmanager": "never", "stack": stack, "ifupdown_dir": str(tmp_path / "interfaces.d"),
            "ifupdown_interfaces_file": str(tmp_path / "interfaces"),
            "networkd_dir": str(tmp_path / "network"), "resolv_conf": str(tmp_path / "resolv.conf"),
            "dhcp_release_command": ["true"], "dhcp_command": ["true"], "timeout_seconds": 20}
    return {**base, **extra}


STATIC = {"ipAddress": "10.70.0.9", "subnetMask": "255.255.255.0", "defaultGateway": "10.70.0.1",
          "primaryDNS": "10.70.0.53", "secondaryDNS": "9.9.9.9"}


# reading ------------------------------------------------------------------------------------------------

def test_reading_gives_the_links_fields_routes_and_moving_counters(netns, tmp_path):
    (tmp_path / "resolv.conf").write_text("# test\nnameserver 10.70.0.53\nsearch example.test\n")
    settings = _settings(tmp_path)
    before = netns.interfaces(settings)
    assert set(before) == {"vd0"}  # loopback left out
    vd0 = before["vd0"]
    mac = netns.exec(netns.device, "cat", "/sys/class/net/vd0/address").stdout.strip()
    assert vd0["uuid"] == vd0["name"] == "vd0"
    assert vd0["hardwareAddress"] == mac
    assert vd0["type"] == "Ethernet" and vd0["typeId"] == 6
    assert vd0["mtu"] == 1500 and vd0["connected"] is True
    assert vd0["addresses"][0] == "10.70.0.2/24" and vd0["addresses"][1].startswith("fe80::")
    assert vd0["gateway"] == ["10.70.0.1"] and vd0["ipv4Metric"] == 100 and vd0["isDefault"] is True
    assert vd0["dhcpEnabled"] is False  # a permanent address, no file of ours
    assert vd0["dns"] == ["10.70.0.53"] and vd0["dnssuffix"] == "example.test"
    assert vd0["speed"] == "10 Gbps" and vd0["sendSpeed"] == vd0["recvSpeed"] == 10_000_000_000  # veth
    assert vd0["description"] == ""
    assert vd0["iocounters"]["ifindex"] == vd0["ifIndex"]

    _udp_echo(netns, count=5)
    after = netns.interfaces(settings)["vd0"]["iocounters"]
    assert after["packetsSent"] >= before["vd0"]["iocounters"]["packetsSent"] + 5
    assert after["packetsRecv"] >= before["vd0"]["iocounters"]["packetsRecv"] + 5
    assert after["bytesSent"] >= before["vd0"]["iocounters"]["bytesSent"] + 5 * (1000 + 28)
    assert after["bytesRecv"] >= before["vd0"]["iocounters"]["bytesRecv"] + 5 * (1000 + 28)


ECHO_SERVER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.70.0.1", 7007)); print("ready", flush=True)
for _ in range(int(sys.argv[1])):
    data, peer = s.recvfrom(2048); s.sendto(data, peer)
"""
ECHO_CLIENT = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
for _ in range(int(sys.argv[1])):
    s.sendto(b"x" * 1000, ("10.70.0.1", 7007)); s.recvfrom(2048)
"""


def _udp_echo(netns, count: int) -> None:
    """``count`` 1000-byte UDP datagrams from the device to the peer and back (ping is not installed)."""
    server = subprocess.Popen(["ip", "netns", "exec", netns.peer, sys.executable, "-c", ECHO_SERVER, str(count)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "ready"
        done = netns.exec(netns.device, sys.executable, "-c", ECHO_CLIENT, str(count), timeout=30)
        assert done.returncode == 0, done.stderr
    finally:
        server.kill()
        server.wait()
        server.stdout.close()


def test_an_interface_added_later_shows_up_and_the_lowest_metric_is_default(netns, tmp_path):
    settings = _settings(tmp_path)
    assert set(netns.interfaces(settings)) == {"vd0"}
    netns.link(1, metric=50)
    found = netns.interfaces(settings)
    assert set(found) == {"vd0", "vd1"}
    assert found["vd1"]["isDefault"] is True and found["vd0"]["isDefault"] is False
    assert found["vd1"]["ipv4Metric"] == 50 and found["vd1"]["gateway"] == ["10.71.0.1"]
    assert found["vd1"]["dns"] == []  # no resolv.conf at the configured path


def test_a_dynamic_address_reads_as_dhcp(netns, tmp_path):
    _ip("-n", netns.device, "addr", "del", "10.70.0.2/24", "dev", "vd0")
    _ip("-n", netns.device, "addr", "add", "10.70.0.77/24", "dev", "vd0", "valid_lft", "600",
        "preferred_lft", "600")
    assert netns.interfaces(_settings(tmp_path))["vd0"]["dhcpEnabled"] is True


# A stand-in for systemd-resolved on a private bus: org.freedesktop.resolve1's Manager properties DNS
# (a(iiay)) and Domains (a(isb)) as resolved serves them; argv: bus address, JSON [dns, domains].
FAKE_RESOLVED = """
import json, socket, sys
from jeepney import MessageType, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection
conn = open_dbus_connection(sys.argv[1])
assert conn.send_and_get_reply(message_bus.RequestName("org.freedesktop.resolve1"), timeout=5).body == (1,)
dns, domains = json.loads(sys.argv[2])
values = {"DNS": ("a(iiay)", [(i, f, socket.inet_pton(f, a)) for i, f, a in dns]),
          "Domains": ("a(isb)", [tuple(d) for d in domains])}
print("ready", flush=True)
while True:
    try:
        msg = conn.receive()
    except (ConnectionError, OSError):
        break
    if msg.header.message_type is MessageType.method_call:
        conn.send(new_method_return(msg, "v", (values[msg.body[1]],)))
"""


BUS_CONF = Path(__file__).parent / "fixtures" / "services" / "bus.conf"  # a private bus, everything allowed


@pytest.fixture
def fake_resolved():
    """Start it with ``fake_resolved(dns, domains)``; the bus address is returned."""
    if shutil.which("dbus-daemon") is None:
        pytest.fail("dbus-daemon is missing: apt-get install dbus-daemon (make test does it)")
    folder = tempfile.mkdtemp(prefix="portald-bus-")  # a socket path must fit in 108 bytes
    address = f"unix:path={folder}/bus"
    procs = []

    def start(dns: list, domains: list) -> str:
        bus = subprocess.Popen(["dbus-daemon", f"--config-file={BUS_CONF}", f"--address={address}", "--nofork",
                                "--print-address"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(bus)
        assert bus.stdout.readline().strip()
        fake = subprocess.Popen([sys.executable, "-c", FAKE_RESOLVED, address, json.dumps([dns, domains])],
                                stdout=subprocess.PIPE, text=True)
        procs.append(fake)
        assert fake.stdout.readline().strip() == "ready"
        return address

    try:
        yield start
    finally:
        for proc in reversed(procs):
            proc.kill()
            proc.wait()
            proc.stdout.close()
        shutil.rmtree(folder, ignore_errors=True)


def test_dns_per_link_from_systemd_resolved(netns, tmp_path, fake_resolved):
    netns.link(1)
    (tmp_path / "resolv.conf").write_text("nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch stub.test\n")
    found = netns.interfaces(_settings(tmp_path, bus_address=f"unix:path={tmp_path}/no-bus"))
    assert found["vd0"]["dns"] == ["127.0.0.53"] and found["vd0"]["dnssuffix"] == "stub.test"  # no resolved
    vd0 = found["vd0"]["ifIndex"]
    address = fake_resolved([[vd0, 2, "10.70.0.53"], [vd0, 10, "fd70::53"], [0, 2, "9.9.9.9"]],
                            [[vd0, "corp.test", True], [vd0, "lan.test", False], [0, "global.test", False]])
    found = netns.interfaces(_settings(tmp_path, bus_address=address))
    assert found["vd0"]["dns"] == ["10.70.0.53", "fd70::53"] and found["vd0"]["dnssuffix"] == "lan.test"
    assert found["vd1"]["dns"] == ["9.9.9.9"] and found["vd1"]["dnssuffix"] == "global.test"


# static ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["ifupdown", "networkd"])
def test_static_address_is_applied_and_persisted(netns, tmp_path, stack):
    if stack == "ifupdown":
        (tmp_path / "interfaces").write_text("source /etc/network/interfaces.d/*\n\nallow-hotplug vd0\n"
                                             "iface vd0 inet dhcp\n\nauto vd9\niface vd9 inet manual\n")
    settings = _settings(tmp_path, stack)
    index = netns.interfaces(settings)["vd0"]["ifIndex"]
    assert netns.call(settings, "set_static_ipv4", index, STATIC) is None
    vd0 = netns.interfaces(settings)["vd0"]
    assert [a for a in vd0["addresses"] if ":" not in a] == ["10.70.0.9/24"]
    assert vd0["gateway"] == ["10.70.0.1"] and vd0["ipv4Metric"] == 100  # the link's metric kept
    assert vd0["dhcpEnabled"] is False and vd0["dns"] == ["10.70.0.53", "9.9.9.9"]
    _udp_echo(netns, count=1)  # the new address reaches the peer
    if stack == "ifupdown":
        text = (tmp_path / "interfaces.d" / "portald-vd0").read_text()
        assert "iface vd0 inet static\n    address 10.70.0.9\n    netmask 255.255.255.0\n" in text
        assert "    gateway 10.70.0.1\n    metric 100\n    dns-nameservers 10.70.0.53 9.9.9.9\n" in text
        main = (tmp_path / "interfaces").read_text()
        assert "#portald# allow-hotplug vd0\n#portald# iface vd0 inet dhcp\n" in main
        assert "auto vd9\niface vd9 inet manual\n" in main  # another interface's stanza untouched
    else:
        text = (tmp_path / "network" / "10-portald-vd0.network").read_text()
        assert "[Match]\nName=vd0\n\n[Network]\nAddress=10.70.0.9/24\nDNS=10.70.0.53\nDNS=9.9.9.9\n" in text
        assert "[Route]\nGateway=10.70.0.1\nMetric=100\n" in text
    assert not (tmp_path / "resolv.conf").exists()  # never the machine's resolver unless told


def test_static_with_stack_none_writes_resolv_conf_only_when_managed(netns, tmp_path):
    (tmp_path / "resolv.conf").write_text("search example.test\nnameserver 1.1.1.1\n")
    settings = _settings(tmp_path, "none")
    index = netns.interfaces(settings)["vd0"]["ifIndex"]
    netns.call(settings, "set_static_ipv4", index, STATIC)
    assert (tmp_path / "resolv.conf").read_text() == "search example.test\nnameserver 1.1.1.1\n"
    netns.call({**settings, "manage_resolv_conf": True}, "set_static_ipv4", index, STATIC)
    assert (tmp_path / "resolv.conf").read_text() == \
        "search example.test\nnameserver 10.70.0.53\nnameserver 9.9.9.9\n"
    assert not (tmp_path / "interfaces.d").exists() and not (tmp_path / "network").exists()


def test_unknown_interface_is_not_found(netns, tmp_path):
    answer = netns.call(_settings(tmp_path), "set_static_ipv4", 9999, STATIC)
    assert answer["error"] == "NotFound"
    assert netns.call(_settings(tmp_path), "set_route_metrics", {"nosuch0": 5}, False)["error"] == "NotFound"
    lo_index = 1
    assert netns.call(_settings(tmp_path), "set_dhcp", lo_index)["error"] == "NotFound"


def test_values_no_config_file_may_hold_are_refused_before_anything_changes(netns, tmp_path):
    settings = _settings(tmp_path, "networkd")
    index = netns.interfaces(settings)["vd0"]["ifIndex"]
    for bad in ({"secondaryDNS": "9.9.9.9\n[Network]\nDHCP=yes"}, {"subnetMask": "255.0.255.0"},
                {"defaultGateway": "10.70.0.1 ; reboot"}):
        answer = netns.call(settings, "set_static_ipv4", index, {**STATIC, **bad})
        assert answer["error"] == "DriverError", bad
    assert not (tmp_path / "network").exists()
    assert [a for a in netns.interfaces(settings)["vd0"]["addresses"] if ":" not in a] == ["10.70.0.2/24"]


def test_a_failing_dhcp_client_is_a_driver_error(netns, tmp_path):
    settings = _settings(tmp_path, dhcp_command=["false"])
    index = netns.interfaces(settings)["vd0"]["ifIndex"]
    answer = netns.call(settings, "set_dhcp", index)
    assert answer["error"] == "DriverError" and "false failed (exit 1)" in answer["message"]


# DHCP with a real server ------------------------------------------------------------------------------

DHCLIENT_SCRIPT = """#!/bin/sh
# applies a lease with ip(8) only: dhclient-script would rewrite the machine's resolv.conf
case "$reason" in
BOUND|RENEW|REBIND|REBOOT)
    ip -4 addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" \\
        valid_lft "$new_dhcp_lease_time" preferred_lft "$new_dhcp_lease_time"
    for router in $new_routers; do
        ip -4 route replace default via "$router" dev "$interface" metric 100
        break
    done ;;
EXPIRE|FAIL|RELEASE|STOP)
    if [ -n "$old_ip_address" ]; then ip -4 addr del "$old_ip_address/$old_subnet_mask" dev "$interface"; fi ;;
esac
exit 0
"""


@pytest.fixture
def dhcp_server(netns, tmp_path):
    for tool in ("dnsmasq", "dhclient"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: apt-get install dnsmasq-base isc-dhcp-client (make test does it)")
    server = subprocess.Popen(
        ["ip", "netns", "exec", netns.peer, "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0",
         "--dhcp-range=10.70.0.50,10.70.0.60,255.255.255.0,10m", "--interface=vc0", "--bind-interfaces",
         f"--pid-file={tmp_path / 'dnsmasq.pid'}", f"--dhcp-leasefile={tmp_path / 'dnsmasq.leases'}",
         "--user=root", "--group=root"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield server
    finally:
        server.kill()
        server.wait()
        server.stderr.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _leased(vd0: dict) -> str:
    leased = [a for a in vd0["addresses"] if ":" not in a]
    assert len(leased) == 1 and leased[0].startswith("10.70.0.") and leased[0].endswith("/24"), vd0
    assert 50 <= int(leased[0].split("/")[0].split(".")[-1]) <= 60, vd0  # dnsmasq's range
    assert vd0["dhcpEnabled"] is True and vd0["gateway"] == ["10.70.0.1"], vd0
    return leased[0]


def test_dhcp_from_a_real_server_then_static_then_restored_to_dhcp(netns, dhcp_server, tmp_path):
    script = tmp_path / "dhclient-script"
    script.write_text(DHCLIENT_SCRIPT)
    script.chmod(0o755)
    client = ["dhclient", "-4", "-v", "-lf", str(tmp_path / "lease"), "-pf", str(tmp_path / "pid"),
              "-sf", str(script)]
    settings = _settings(tmp_path, "ifupdown", dhcp_command=[*client, "-1"], dhcp_release_command=[*client, "-r"])
    index = netns.interfaces(settings)["vd0"]["ifIndex"]

    assert netns.call(settings, "set_dhcp", index) is None
    address = _leased(netns.interfaces(settings)["vd0"])
    assert (tmp_path / "interfaces.d" / "portald-vd0").read_text().endswith("iface vd0 inet dhcp\n    metric 100\n")
    pid = int((tmp_path / "pid").read_text())
    assert _alive(pid)  # the client keeps running to renew

    assert netns.call(settings, "set_dhcp", index) is None  # already on DHCP: the same client goes on
    assert int((tmp_path / "pid").read_text()) == pid and _alive(pid)
    assert _leased(netns.interfaces(settings)["vd0"]) == address
    snapshot = netns.call(settings, "snapshot", 30)

    assert netns.call(settings, "set_static_ipv4", index, STATIC) is None
    vd0 = netns.interfaces(settings)["vd0"]
    assert [a for a in vd0["addresses"] if ":" not in a] == ["10.70.0.9/24"]
    assert vd0["dhcpEnabled"] is False and vd0["gateway"] == ["10.70.0.1"]
    for _ in range(50):  # dhclient -r has stopped the client
        if not _alive(pid):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the DHCP client still runs after the switch to static")

    assert netns.call(settings, "restore", snapshot) is None  # back to DHCP: a client runs again
    assert _leased(netns.interfaces(settings)["vd0"]) == address
    restarted = int((tmp_path / "pid").read_text())
    assert restarted != pid and _alive(restarted)
    assert (tmp_path / "interfaces.d" / "portald-vd0").read_text().endswith("iface vd0 inet dhcp\n    metric 100\n")


# route metrics -----------------------------------------------------------------------------------------

def _count_defaults(events: str, start: int) -> list[int]:
    """How many IPv4 default routes existed after each event of ``ip -4 monitor route``."""
    counts, count = [], start
    for line in events.splitlines():
        if line.startswith("default "):
            count += 1
        elif line.startswith("Deleted default "):
            count -= 1
        else:
            continue
        counts.append(count)
    return counts


def test_route_metrics_follow_the_order_and_a_default_route_always_exists(netns, tmp_path):
    netns.link(1)  # vd0 metric 100, vd1 metric 200
    settings = _settings(tmp_path, "networkd")
    monitor = subprocess.Popen(["ip", "-n", netns.device, "-4", "monitor", "route"], stdout=subprocess.PIPE,
                               text=True)
    try:
        time.sleep(0.3)  # the monitor is listening
        assert netns.call(settings, "set_route_metrics", {"vd1": 100, "vd0": 200}, False) is None
        time.sleep(0.3)
    finally:
        monitor.terminate()
        events = monitor.communicate(timeout=5)[0]
    found = netns.interfaces(settings)
    assert (found["vd0"]["ipv4Metric"], found["vd1"]["ipv4Metric"]) == (200, 100)
    assert found["vd1"]["isDefault"] is True and found["vd0"]["isDefault"] is False
    counts = _count_defaults(events, 2)
    assert counts and min(counts) >= 1 and counts[-1] == 2, events
    assert "Metric=200" in (tmp_path / "network" / "10-portald-vd0.network").read_text()
    assert "Metric=100" in (tmp_path / "network" / "10-portald-vd1.network").read_text()
    output = _ip("-n", netns.device, "-4", "route", "show", "default").stdout
    assert [line.strip() for line in output.splitlines()] == ["default via 10.71.0.1 dev vd1 metric 100",
                                   "default via 10.70.0.1 dev vd0 metric 200"], output


def test_ipv6_route_metrics_and_the_router_advertisement_metric(netns, tmp_path):
    _ip("-n", netns.device, "-6", "addr", "add", "fd70::2/64", "dev", "vd0", "nodad")
    _ip("-n", netns.device, "-6", "route", "add", "default", "via", "fd70::1", "dev", "vd0", "metric", "300",
        "proto", "ra")
    ra_metric = ["cat", "/proc/sys/net/ipv6/conf/vd0/ra_defrtr_metric"]
    before = netns.exec(netns.device, *ra_metric).stdout
    settings = _settings(tmp_path, "networkd")
    assert netns.interfaces(settings)["vd0"]["ipv6Metric"] == 300
    snapshot = netns.call(settings, "snapshot", 30)
    assert netns.call(settings, "set_route_metrics", {"vd0": 42}, True) is None
    vd0 = netns.interfaces(settings)["vd0"]
    assert vd0["ipv6Metric"] == 42 and vd0["ipv4Metric"] == 100 and vd0["gateway"] == ["10.70.0.1", "fd70::1"]
    assert "[IPv6AcceptRA]\nRouteMetric=42\n" in (tmp_path / "network" / "10-portald-vd0.network").read_text()
    assert "proto ra metric 42" in _ip("-n", netns.device, "-6", "route", "show", "default").stdout
    assert netns.exec(netns.device, *ra_metric).stdout == "42\n"
    assert netns.call(settings, "restore", snapshot) is None
    assert netns.interfaces(settings)["vd0"]["ipv6Metric"] == 300
    assert netns.exec(netns.device, *ra_metric).stdout == before


# snapshot and restore ---------------------------------------------------------------------------------------

def _live(netns) -> tuple[str, str]:
    return (_ip("-n", netns.device, "-4", "addr", "show", "dev", "vd0").stdout.split("valid_lft")[0],
            _ip("-n", netns.device, "route", "show", "default").stdout)


@pytest.mark.parametrize("stack", ["ifupdown", "networkd"])
def test_snapshot_change_restore_brings_back_addresses_routes_and_files(netns, tmp_path, stack):
    netns.link(1)
    main = "source /etc/network/interfaces.d/*\nallow-hotplug vd0\niface vd0 inet static\n    address 10.70.0.2/24\n"
    (tmp_path / "interfaces").write_text(main)
    networkd_file = tmp_path / "network" / "10-portald-vd1.network"
    networkd_file.parent.mkdir()
    networkd_file.write_text("# an older file of ours\n[Match]\nName=vd1\n[Network]\nAddress=10.71.0.2/24\n")
    settings = _settings(tmp_path, stack)
    index = netns.interfaces(settings)["vd0"]["ifIndex"]
    live_before = _live(netns)
    snapshot = netns.call(settings, "snapshot", 30)
    assert json.loads(json.dumps(snapshot)) == snapshot

    netns.call(settings, "set_static_ipv4", index, {**STATIC, "ipAddress": "10.70.0.33", "subnetMask": "255.255.0.0"})
    netns.call(settings, "set_route_metrics", {"vd1": 10, "vd0": 20}, False)
    assert _live(netns) != live_before
    assert netns.call(settings, "restore", snapshot) is None
    assert _live(netns) == live_before
    assert netns.call(settings, "restore", snapshot) is None  # twice: harmless, nothing changes
    assert _live(netns) == live_before
    assert (tmp_path / "interfaces").read_text() == main
    assert not (tmp_path / "interfaces.d" / "portald-vd0").exists()
    assert not (tmp_path / "interfaces.d" / "portald-vd1").exists()
    assert not (tmp_path / "network" / "10-portald-vd0.network").exists()
    assert networkd_file.read_text().startswith("# an older file of ours\n")
    assert netns.call(settings, "release", snapshot) is None


def test_restore_skips_an_interface_that_is_gone(netns, tmp_path):
    netns.link(1)
    settings = _settings(tmp_path, "networkd")
    snapshot = netns.call(settings, "snapshot", 30)
    _ip("-n", netns.device, "link", "del", "vd1")
    assert netns.call(settings, "restore", snapshot) is None
    assert netns.call(settings, "restore", {**snapshot, "stack": "ifupdown"})["error"] == "DriverError"


# without namespaces ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("mbits, text", [(10, "10 Mbps"), (100, "100 Mbps"), (1000, "1 Gbps"),
                                         (2500, "2.5 Gbps"), (10000, "10 Gbps"), (40000, "40 Gbps")])
def test_speed_text(mbits, text):
    assert net_netlink.speed_text(mbits) == text


@pytest.mark.parametrize("arphrd, wireless, bridge, kind", [
    (1, False, False, "Ethernet"), (1, True, False, "Wi-Fi"), (1, False, True, "Bridge"),
    (772, False, False, "Loopback"), (512, False, False, "PPP"), (776, False, False, "Tunnel"),
    (65534, False, False, "Tunnel"), (32, False, False, "Other")])
def test_interface_type(arphrd, wireless, bridge, kind):
    assert net_netlink.interface_type(arphrd, wireless, bridge) == kind


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../etc", "eth 0", "eth0\nup rm -rf /", "eth0:1",
                                  "x" * 16, "tab\tname"])
def test_hostile_interface_names_are_rejected(name, tmp_path):
    store = net_persist.PersistentStore("networkd", str(tmp_path), str(tmp_path / "i"), str(tmp_path))
    with pytest.raises(ValueError):
        store.write(name, PersistentConfig("dhcp"))
    with pytest.raises(ValueError):
        net_persist.render_ifupdown(name, PersistentConfig("dhcp"))
    assert list(tmp_path.iterdir()) == []


def test_values_that_would_inject_a_line_are_rejected():
    with pytest.raises(ValueError):
        PersistentConfig("static", "10.0.0.2/24\nDNS=6.6.6.6")
    with pytest.raises(ValueError):
        PersistentConfig("dhcp", dns=["1.1.1.1\n[Route]"])
    with pytest.raises(ValueError):
        PersistentConfig("manual")


@pytest.mark.parametrize("render, parse", [(net_persist.render_ifupdown, net_persist.parse_ifupdown),
                                           (net_persist.render_networkd, net_persist.parse_networkd)])
@pytest.mark.parametrize("config", [PersistentConfig("static", "192.168.5.10/23", "192.168.4.1", ["1.1.1.1"], 7),
                                    PersistentConfig("static", "10.0.0.2/8"),
                                    PersistentConfig("dhcp", metric=300)])
def test_files_read_back_what_was_written(render, parse, config):
    assert parse(render("enp0s31f6", config)) == config


def test_ifupdown_ipv6_metric_is_not_persisted_but_networkd_is():
    config = PersistentConfig("dhcp", metric=1, ipv6_metric=2)
    assert net_persist.parse_networkd(net_persist.render_networkd("eth0", config)).ipv6_metric == 2
    assert net_persist.parse_ifupdown(net_persist.render_ifupdown("eth0", config)).ipv6_metric is None


def test_comment_out_stanza_keeps_other_interfaces():
    text = ("auto lo eth0\niface lo inet loopback\n\n# the primary network interface\nallow-hotplug eth0\n"
            "iface eth0 inet dhcp\n    metric 5\niface eth0 inet6 auto\n\niface eth1 inet dhcp\n")
    assert net_persist.comment_out_stanza(text, "eth0") == (
        "#portald# auto lo eth0\nauto lo\niface lo inet loopback\n\n# the primary network interface\n"
        "#portald# allow-hotplug eth0\n#portald# iface eth0 inet dhcp\n#portald#     metric 5\n"
        "#portald# iface eth0 inet6 auto\n\niface eth1 inet dhcp\n")


def test_detect_stack(tmp_path):
    from portald_plugins.boards.linux.networking import Settings

    settings = Settings(ifupdown_interfaces_file=str(tmp_path / "interfaces"), networkd_dir=str(tmp_path / "net"))
    assert net_persist.detect_stack(settings) == "none"
    (tmp_path / "net").mkdir()
    assert net_persist.detect_stack(settings) == "networkd"
    (tmp_path / "interfaces").write_text("")
    assert net_persist.detect_stack(settings) == "ifupdown"
    assert net_persist.detect_stack(settings.model_copy(update={"stack": "none"})) == "none"


def test_resolv_conf_parsing_and_rewriting():
    text = "# c\ndomain a.test\nnameserver 10.0.0.1\nsearch b.test c.test\nnameserver 10.0.0.2\noptions ndots:2\n"
    assert net_netlink.parse_resolv_conf(text) == (["10.0.0.1", "10.0.0.2"], "b.test")
    assert net_netlink.render_resolv_conf(text, ["9.9.9.9"]) == (
        "# c\ndomain a.test\nsearch b.test c.test\noptions ndots:2\nnameserver 9.9.9.9\n")


def test_the_driver_stays_out_when_sysfs_root_is_not_this_kernels(tmp_path):
    """rtnetlink answers for the running kernel; with sysfs_root on a tree (a fixture machine) the
    adapters would not be that machine's, so the driver is absent and says why."""
    from portald.context import Paths

    tree = tmp_path / "sys" / "class" / "net" / "eth0"
    tree.mkdir(parents=True)
    io = net_netlink.NetlinkIO(Paths(tmp_path / "sys", Path("/proc"), Path("/dev")), None, None)
    assert "not the live sysfs" in io.probe()
    live = net_netlink.NetlinkIO(Paths(Path("/sys"), Path("/proc"), Path("/dev")), None, None)
    assert live.probe() == ""
