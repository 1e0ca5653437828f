"""Login abuse scenarios (issue 8, "Logins must not be a lever against the owner").

- ``login_flood``: 100 concurrent failed OS-account (PAM) logins (a new account name each time) from
  25 addresses (127.0.0.2 ..
  127.0.0.26, which Linux routes locally), kept up for a while; meanwhile the owner logs in with the
  right admin password (m=2) and a second OS account with its right password (m=0), from 127.0.0.1.
  Goal: every correct login answered 200 in < 2 s.
- ``admin_lockout``: five wrong admin passwords from 127.0.0.2, then the right one from 127.0.0.1.
  Goal: the owner gets in (200), the attacking address stays refused (429).
- ``distributed_guessing``: 25 addresses, 4 wrong admin passwords each (under the per-address limit,
  100 in all), then the right one from a fresh address. Goal: the owner gets in; figures say how many
  guesses were checked.

PAM users are made with useradd/chpasswd (root needed) and removed afterwards. Everything stays on
loopback addresses.
"""
from __future__ import annotations

import http.client
import json
import secrets
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from benchlib import BENCH_PASSWORD, HOST, BenchError, log, portald

GOAL_SECONDS = 2.0


def _login(port: int, username: str, password: str, m: int, source: str = HOST,
           timeout: float = 120.0) -> tuple[int, float]:
    """One login on a fresh connection from ``source``; (status, seconds). Status 0: no answer."""
    start = time.monotonic()
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout, source_address=(source, 0))
    try:
        conn.request("POST", f"/auth/login?m={m}", body=json.dumps({"username": username, "password": password}),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - start
    except OSError:
        return 0, time.monotonic() - start
    finally:
        conn.close()


class _OsUsers:
    """Throw-away OS accounts for PAM logins, removed on exit."""

    def __init__(self):
        self.names: list[str] = []

    def make(self) -> tuple[str, str]:
        name, password = "pdb" + secrets.token_hex(4), "pw-" + secrets.token_hex(8)
        try:
            subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True,
                           capture_output=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise BenchError(f"useradd failed (root needed): {exc}") from None
        self.names.append(name)
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
        return name, password

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for name in self.names:
            subprocess.run(["userdel", name], check=False, capture_output=True)


def _attackers(count: int) -> list[str]:
    return [f"127.0.0.{2 + i}" for i in range(count)]


def login_flood(args) -> dict:
    """100 concurrent failed PAM logins from 25 addresses; the owner's correct logins meanwhile"""
    clients, addresses = int(100 * args.scale), _attackers(25)
    duration = 12.0
    with tempfile.TemporaryDirectory() as tmp, _OsUsers() as users, portald(Path(tmp), seed_password=True) as server:
        victim, _ = users.make()
        operator, operator_password = users.make()
        stop = threading.Event()
        codes: dict[int, int] = {}
        lock = threading.Lock()

        def attack(source: str, i: int) -> None:
            n = 0
            while not stop.is_set():
                # a fresh account name each time (as a password sprayer would): no per-account limit helps
                status, _ = _login(server.port, victim if n == 0 else f"nobody{i}x{n}", f"guess-{i}-{n}", 0, source)
                n += 1
                with lock:
                    codes[status] = codes.get(status, 0) + 1
                if status == 429:
                    time.sleep(0.05)  # a 429 is immediate: do not spin

        threads = [threading.Thread(target=attack, args=(addresses[i % len(addresses)], i), daemon=True)
                   for i in range(clients)]
        for t in threads:
            t.start()
        time.sleep(2.0)  # let the flood fill every queue
        admin_times, os_times, bad = [], [], []
        end = time.monotonic() + duration
        while time.monotonic() < end:
            status, seconds = _login(server.port, "admin", BENCH_PASSWORD, 2)
            admin_times.append(seconds)
            if status != 200:
                bad.append(("admin", status))
            status, seconds = _login(server.port, operator, operator_password, 0)
            os_times.append(seconds)
            if status != 200:
                bad.append(("os", status))
            time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(timeout=130)
    worst = max(admin_times + os_times)
    return {
        "ok": not bad and worst < GOAL_SECONDS,
        "attack_clients": clients, "attack_addresses": len(addresses),
        "admin_login_s_median": round(statistics.median(admin_times), 3),
        "admin_login_s_max": round(max(admin_times), 3),
        "os_login_s_median": round(statistics.median(os_times), 3),
        "os_login_s_max": round(max(os_times), 3),
        "owner_logins": len(admin_times) + len(os_times), "owner_refused": bad[:5],
        "attack_answers": dict(sorted(codes.items())),
    }


def admin_lockout(args) -> dict:
    """Five wrong admin passwords from another address; then the owner's right one"""
    with tempfile.TemporaryDirectory() as tmp, portald(Path(tmp), seed_password=True) as server:
        attacker = [_login(server.port, "admin", f"wrong-{i}", 2, "127.0.0.2")[0] for i in range(5)]
        owner, owner_s = _login(server.port, "admin", BENCH_PASSWORD, 2)
        again, _ = _login(server.port, "admin", BENCH_PASSWORD, 2, "127.0.0.2")
    return {"ok": owner == 200 and again == 429, "attacker_answers": attacker, "owner_answer": owner,
            "owner_login_s": round(owner_s, 3), "attacker_right_password_answer": again}


def distributed_guessing(args) -> dict:
    """25 addresses x 4 wrong admin passwords (100); then the owner's right one from a fresh address"""
    addresses = _attackers(25)
    per_address = 4
    with tempfile.TemporaryDirectory() as tmp, portald(Path(tmp), seed_password=True) as server:
        codes: dict[int, int] = {}
        lock = threading.Lock()

        def guess(source: str) -> None:
            for n in range(per_address):
                status, _ = _login(server.port, "admin", f"guess-{source}-{n}", 2, source)
                with lock:
                    codes[status] = codes.get(status, 0) + 1

        start = time.monotonic()
        threads = [threading.Thread(target=guess, args=(a,), daemon=True) for a in addresses]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        attack_s = time.monotonic() - start
        follow_up = _login(server.port, "admin", "one-more-guess", 2, "127.0.0.2")[0]
        owner, owner_s = _login(server.port, "admin", BENCH_PASSWORD, 2, "127.0.0.200")
    return {"ok": owner == 200, "attack_answers": dict(sorted(codes.items())), "attack_s": round(attack_s, 1),
            "owner_answer": owner, "owner_login_s": round(owner_s, 3), "attacker_next_guess_answer": follow_up}


SCENARIOS = {"login_flood": login_flood, "admin_lockout": admin_lockout,
             "distributed_guessing": distributed_guessing}

if __name__ == "__main__":
    log("run through bench/abuse.py: .venv/bin/python bench/abuse.py login_flood admin_lockout distributed_guessing")
