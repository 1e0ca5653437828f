"""Helpers shared by the bench scripts: free ports, starting and stopping servers on 127.0.0.1,
small HTTP calls, and portald's admin login flow (default password -> change it -> full token).

Nothing here ever talks to an address other than 127.0.0.1.
"""
from __future__ import annotations

import contextlib
import ctypes
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HOST = "127.0.0.1"
PING = "/platform/api/ping"
HWMON = "/platform/api/hwmon"
# "One GET of each main endpoint" (the warm state of bench/idle_rss.py): every area's JSON resource
MAIN_ENDPOINTS = (
    "/edgehub/api/profile", "/platform/api/plugins", "/platform/api/hwmon", "/platform/api/systemperf",
    "/platform/api/processes", "/platform/api/devmgr", "/platform/api/service/list", "/platform/api/host/info",
    "/platform/api/host/display/count", "/platform/api/perif/disk", "/platform/api/perif/led",
    "/platform/api/perif/gpio/all", "/platform/api/perif/brightness", "/platform/api/perif/wdt",
    "/platform/api/perif/redundant_power", "/platform/api/etp/userdata", "/platform/api/etp/devicedata",
)
DEFAULT_PASSWORD = "p@ssw0rd"
BENCH_PASSWORD = "bench-Passw0rd-1"
PORTALD = Path(sys.executable).with_name("portald")  # the console script next to the venv's python


class BenchError(Exception):
    """Something the benchmark cannot continue (or trust its figures) without."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def interrupt_on_sigterm() -> None:
    """Treat SIGTERM like Ctrl-C (KeyboardInterrupt), so that `finally` blocks stop what we started."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, body=None, token: str | None = None, timeout: float = 5.0):
    """One request on a fresh connection; returns (status, content_type, body_bytes)."""
    headers = {}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read()
    finally:
        conn.close()


def get_json(port: int, path: str, token: str):
    """GET a JSON document; BenchError with exactly what came back unless it is 200 + JSON."""
    status, ctype, body = request(port, "GET", path, token=token)
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if status != 200 or "json" not in ctype or doc is None:
        raise BenchError(f"GET {path} answered {status} ({ctype or 'no Content-Type'}): {body[:300]!r}")
    return doc


def _login(port: int, password: str) -> str:
    status, _, body = request(port, "POST", "/auth/login?m=2", {"username": "admin", "password": password})
    try:
        token = json.loads(body).get("token")
    except (ValueError, AttributeError):
        token = None
    if status != 200 or not token:
        raise BenchError(f"login answered {status}: {body[:300]!r}")
    return token


def admin_token(port: int) -> str:
    """A full admin token on a fresh state dir: log in with the default password, change it, log in again."""
    token = _login(port, DEFAULT_PASSWORD)
    status, _, body = request(port, "PUT", "/auth/user/admin/password",
                              {"old": DEFAULT_PASSWORD, "new": BENCH_PASSWORD}, token)
    if status != 200:
        raise BenchError(f"password change answered {status}: {body[:300]!r}")
    return _login(port, BENCH_PASSWORD)


def seed_admin_password(state_dir: Path, password: str = BENCH_PASSWORD) -> None:
    """Give a state dir that the daemon has not started on yet a non-default admin password, written
    by the portald under test itself, so that one login gives a full token."""
    from portald.auth.admin_account import AdminAccount
    from portald.state import StateStore

    AdminAccount(StateStore(state_dir)).set_password(password)


def warm_up(port: int, password: str = BENCH_PASSWORD) -> dict[str, int]:
    """One admin login, then one GET of each main endpoint; returns {path: status}. A 5xx or a
    refused login is a BenchError (404 and 204 are what some areas answer without hardware)."""
    token = _login(port, password)
    statuses = {}
    for path in MAIN_ENDPOINTS:
        status, _, body = request(port, "GET", path, token=token, timeout=30)
        if status >= 500:
            raise BenchError(f"GET {path} answered {status}: {body[:300]!r}")
        statuses[path] = status
    return statuses


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used."""
    # Fields after "(comm)": state is field 3, utime field 14, stime field 15 (proc(5)).
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid: int, key: str) -> int:
    """A kB figure of ``/proc/PID/status`` (VmRSS, VmHWM, Threads ...)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise BenchError(f"no {key} in /proc/{pid}/status")


def stop_process(proc: subprocess.Popen, name: str) -> None:
    """SIGTERM, and SIGKILL when it has not ended within 5 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log(f"{name} ignored SIGTERM for 5 s; killing it")
            proc.kill()
            proc.wait()


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the bench script itself dies (even by SIGKILL)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Server:
    """A server subprocess listening on 127.0.0.1:port, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], port: int, log_path: Path):
        self.name, self.port, self.log_path = name, port, log_path
        self._log = open(log_path, "wb")
        # Own session: Ctrl-C reaches only us, and we stop the server ourselves.
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True, preexec_fn=_die_with_parent)

    @property
    def pid(self) -> int:
        return self.proc.pid

    ready_what = PING  # what wait_ready says it waited for

    def answers(self) -> bool:
        """One readiness probe (``wait_ready`` repeats it); OSError counts as not yet."""
        return request(self.port, "GET", PING, timeout=1.0)[0] == 200

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited with code {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if self.answers():
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BenchError(f"{self.name} did not answer {self.ready_what} within {timeout:.0f} s:\n"
                                 f"{self.log_tail()}")
            time.sleep(0.1)

    def stop(self) -> None:
        stop_process(self.proc, self.name)
        self._log.close()

    def log_tail(self, lines: int = 20) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join("    " + line for line in text) or "    (no output)"


@contextlib.contextmanager
def started(name: str, argv: list[str], port: int, log_path: Path):
    server = Server(name, argv, port, log_path)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def portald(workdir: Path, seed_password: bool = False):
    """portald --sim --http on a free 127.0.0.1 port with a fresh state dir inside workdir (with
    ``seed_password``, one whose admin password is already ``BENCH_PASSWORD``)."""
    port = free_port()
    state = workdir / "portald-state"
    if seed_password:
        seed_admin_password(state)
    argv = [str(PORTALD), "run", "--sim", "--http", "--listen", f"{HOST}:{port}", "--state-dir", str(state)]
    return started("portald", argv, port, workdir / "portald.log")
