"""The rollback that keeps an operator from being cut off, for real: the daemon runs in a network
namespace (``dev``) reachable from the client's namespace (``cli``) only over one veth pair, and the
client reconfigures that very interface through the API.

* It moves the device to an address the client cannot reach and never confirms (it cannot): after the
  window the daemon restores the old address by itself and the client gets through again.
* The same with the daemon killed (SIGKILL) in the middle of the window and started again: the rollback
  still happens.
* When the client can reach the new address and confirms through it, the change stays.

The daemon runs the generic Linux board's netlink driver (``networkmanager = "never"``, stack "none":
no persistent files) inside the namespace; the client's requests run inside ``cli`` (``ip netns exec``),
so nothing here touches the host's own interfaces. Namespaces are removed at the end, also on failure.
"""
from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"),
                                reason="network namespaces need root and iproute2")

ADMIN_NEW = "Fact0ry-Floor!"
PORT = 18443
WINDOW = 4
_COUNTER = itertools.count()

# one HTTP request from inside the client namespace; prints {"status", "body"} or {"error"}
CLIENT = r"""
import json, sys, urllib.request, urllib.error
method, url, body, token, timeout = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
request = urllib.request.Request(url, method=method, data=body.encode() if body else None)
request.add_header("Content-Type", "application/json")
if token:
    request.add_header("Authorization", "Bearer " + token)
try:
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        print(json.dumps({"status": answer.status, "body": answer.read().decode()}))
except urllib.error.HTTPError as err:
    print(json.dumps({"status": err.code, "body": err.read().decode()}))
except Exception as exc:
    print(json.dumps({"error": repr(exc)}))
"""


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=30)


class Net:
    """Two namespaces joined by a veth pair: ``cli`` (10.77.<n>.1/24) and ``dev`` (10.77.<n>.2/24)."""

    def __init__(self):
        n = (os.getpid() + next(_COUNTER)) % 200 + 20
        self.cli, self.dev = f"pdr{os.getpid()}c{n}", f"pdr{os.getpid()}d{n}"
        self.old, self.new = f"10.77.{n}", f"10.78.{n}"
        sh("ip", "netns", "add", self.cli)
        sh("ip", "netns", "add", self.dev)
        sh("ip", "-n", self.cli, "link", "add", "vc", "type", "veth", "peer", "name", "vd", "netns", self.dev)
        for ns, name, host in ((self.cli, "vc", 1), (self.dev, "vd", 2)):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "addr", "add", f"{self.old}.{host}/24", "dev", name)
            sh("ip", "-n", ns, "link", "set", name, "up")

    def remove(self) -> None:
        for ns in (self.cli, self.dev):
            sh("ip", "netns", "del", ns, check=False)

    def device_addresses(self) -> list[str]:
        out = json.loads(sh("ip", "-n", self.dev, "-j", "-4", "addr", "show", "dev", "vd").stdout)
        return [f"{a['local']}/{a['prefixlen']}" for link in out for a in link.get("addr_info", [])]

    def call(self, method: str, host: str, path: str, body=None, token: str = "", timeout: float = 3) -> dict:
        """One request from the client namespace to the daemon at ``host``."""
        result = sh("ip", "netns", "exec", self.cli, sys.executable, "-c", CLIENT, method,
                    f"http://{host}:{PORT}{path}", json.dumps(body) if body is not None else "", token, str(timeout))
        return json.loads(result.stdout)


class NetDaemon:
    """``portald run`` on the generic Linux board inside the device namespace."""

    def __init__(self, net: Net, tmp_path):
        self.net = net
        self.config = tmp_path / "portald.toml"
        self.config.write_text(
            f'plugins_dir = "{tmp_path / "plugins.d"}"\n'
            f'[auth]\nfailure_delay_seconds = 0\n'
            f'[changes]\nconfirm_timeout_seconds = {WINDOW}\n'
            f'[plugins.linux.networking]\nnetworkmanager = "never"\nstack = "none"\n'
            f'dhcp_release_command = ["true"]\n')
        self.state = tmp_path / "state"
        self.proc = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.net.dev, sys.executable, "-m", "portald", "run", "--http",
             "--listen", f"0.0.0.0:{PORT}", "--state-dir", str(self.state), "--config", str(self.config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while self.net.call("GET", f"{self.net.old}.2", "/platform/api/ping", timeout=1).get("status") != 200:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"daemon did not start: {self.proc.stderr.read()[-3000:]}")
            time.sleep(0.2)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr:
            self.proc.stderr.close()

    def admin_token(self) -> str:
        host = f"{self.net.old}.2"
        first = json.loads(self.net.call("POST", host, "/auth/login?m=2",
                                         {"username": "admin", "password": "p@ssw0rd"})["body"])["token"]
        changed = self.net.call("PUT", host, "/auth/user/admin/password", {"old": "p@ssw0rd", "new": ADMIN_NEW}, first)
        assert changed["status"] == 200, changed
        return self.login(host)

    def login(self, host: str) -> str:
        answer = self.net.call("POST", host, "/auth/login?m=2", {"username": "admin", "password": ADMIN_NEW})
        return json.loads(answer["body"])["token"]

    def if_index(self, token: str) -> int:
        answer = self.net.call("GET", f"{self.net.old}.2", "/platform/api/networking/interfaces", token=token)
        assert answer["status"] == 200, answer
        (vd,) = [a for a in json.loads(answer["body"]) if a["name"] == "vd"]
        assert f"{self.net.old}.2/24" in vd["addresses"]
        return vd["ifIndex"]


@pytest.fixture
def net_daemon(tmp_path):
    net = Net()
    daemon = NetDaemon(net, tmp_path)
    try:
        daemon.start()
        yield net, daemon
    finally:
        daemon.stop()
        net.remove()


def move_device(net: Net, token: str, if_index: int) -> None:
    """PUT the device onto the other subnet. Its answer may be lost — the connection's address goes
    away under it, which is the situation the window exists for — so only the effect is checked."""
    answer = net.call("PUT", f"{net.old}.2", f"/platform/api/networking/ipv4config/{if_index}",
             {"ipAddress": f"{net.new}.2", "subnetMask": "255.255.255.0", "defaultGateway": "",
              "primaryDNS": ""}, token, timeout=3)
    assert net.device_addresses() == [f"{net.new}.2/24"], answer


def wait_until_back(net: Net, seconds: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if net.call("GET", f"{net.old}.2", "/platform/api/ping", timeout=1).get("status") == 200:
            return time.monotonic() - start
        time.sleep(0.3)
    raise AssertionError(f"the device did not come back within {seconds} s: {net.device_addresses()}")


def test_an_unconfirmed_change_that_cuts_the_client_off_is_rolled_back(net_daemon):
    net, daemon = net_daemon
    token = daemon.admin_token()
    move_device(net, token, daemon.if_index(token))
    assert "error" in net.call("GET", f"{net.old}.2", "/platform/api/ping", timeout=1)  # cut off
    assert "error" in net.call("GET", f"{net.new}.2", "/platform/api/ping", timeout=1)  # no path to the new one
    wait_until_back(net, WINDOW + 10)
    assert net.device_addresses() == [f"{net.old}.2/24"]
    answer = net.call("GET", f"{net.old}.2", "/platform/api/networking/changes", token=token)
    assert json.loads(answer["body"]) == {"pending": None}


def test_the_rollback_survives_a_daemon_killed_in_the_window(net_daemon):
    net, daemon = net_daemon
    token = daemon.admin_token()
    move_device(net, token, daemon.if_index(token))
    daemon.stop(signal.SIGKILL)
    time.sleep(WINDOW + 1)  # the window runs out while the daemon is dead: nothing rolls back yet
    assert net.device_addresses() == [f"{net.new}.2/24"], answer
    daemon.proc = subprocess.Popen(  # started again; it cannot be polled over the network until it rolls back
        ["ip", "netns", "exec", net.dev, sys.executable, "-m", "portald", "run", "--http",
         "--listen", f"0.0.0.0:{PORT}", "--state-dir", str(daemon.state), "--config", str(daemon.config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_until_back(net, 30)
    assert net.device_addresses() == [f"{net.old}.2/24"]


def test_a_change_confirmed_over_the_new_path_stays(net_daemon):
    net, daemon = net_daemon
    sh("ip", "-n", net.cli, "addr", "add", f"{net.new}.1/24", "dev", "vc")  # the client can follow
    token = daemon.admin_token()
    move_device(net, token, daemon.if_index(token))
    answer = net.call("GET", f"{net.new}.2", "/platform/api/networking/changes", token=token)
    pending = json.loads(answer["body"])["pending"]
    confirmed = net.call("POST", f"{net.new}.2", pending["confirmUrl"], token=token)
    assert confirmed["status"] == 200, confirmed
    time.sleep(WINDOW + 1)
    assert net.device_addresses() == [f"{net.new}.2/24"], answer
    assert net.call("GET", f"{net.new}.2", "/platform/api/ping", timeout=1).get("status") == 200


def test_an_os_account_logs_in_on_a_linux_board_whose_netlink_driver_probed(net_daemon, os_user_factory):
    """The netlink driver's sockets live in a thread of their own: in the shared pool, the thread that
    had used one later ran python-pam's ldconfig and hung, so OS-account logins never answered."""
    net, daemon = net_daemon
    user = os_user_factory()
    answer = net.call("POST", f"{net.old}.2", "/auth/login?m=0", {"username": user.name, "password": user.password},
                      timeout=15)
    assert answer.get("status") == 200, answer
