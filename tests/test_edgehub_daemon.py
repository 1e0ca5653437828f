"""EdgeHub in the real daemon (``portald run``: gevent-patched, paho's sockets and the outbox's fsyncs
on the event loop's terms): tag data answered 201 survives a ``kill -9`` of the daemon in the middle
of posting, and the restarted daemon reconnects by itself and delivers it."""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading

from edgehub_support import Mosquitto, Subscriber, free_port, started, wait_for  # noqa: F401

NEW_PASSWORD = "Edge-hub-Passw0rd!"
CONFIG = """
[plugins.edgehub]
backoff_base_seconds = 0.05
backoff_max_seconds = 0.3
"""


class Daemon:
    def __init__(self, tmp_path, name: str):
        self.port = free_port()
        config = tmp_path / "portald.toml"
        config.write_text(CONFIG)
        self.log = open(tmp_path / f"{name}.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "portald", "run", "--sim", "--http", "--config", str(config),
             "--listen", f"127.0.0.1:{self.port}", "--state-dir", str(tmp_path / "state")],
            stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: self._answers(), timeout=30, interval=0.1)
        except BaseException:  # not yet handed to started(): nobody else would stop it
            self.close()
            raise

    def _answers(self) -> bool:
        assert self.proc.poll() is None, "the daemon exited"
        try:
            return self.call("GET", "/edgehub/api/ping")[0] == 200
        except OSError:
            return False

    def call(self, method, path, body=None, token=None, conn=None):
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            if own:
                conn.close()
        return response.status, (json.loads(data) if data and data[:1] in b"{[\"" else data)

    def token(self, fresh: bool) -> str:
        password = "p@ssw0rd" if fresh else NEW_PASSWORD
        status, body = self.call("POST", "/auth/login?m=2", {"username": "admin", "password": password})
        assert status == 200, body
        if not fresh:
            return body["token"]
        status, _ = self.call("PUT", "/auth/user/admin/password", {"old": password, "new": NEW_PASSWORD}, body["token"])
        assert status == 200
        return self.token(False)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.log.close()


def test_kill_9_in_the_middle_of_posting_loses_nothing_answered_201(tmp_path, started):
    broker = started(Mosquitto(tmp_path / "broker").start())
    sub = started(Subscriber(broker.port, "Advantech/dev-k/data", client_id=f"sub-{os.getpid()}"))
    first = started(Daemon(tmp_path, "first"))
    token = first.token(fresh=True)
    status, body = first.call("POST", "/edgehub/api/connection", {"op": "connect", "conncfg": {
        "mqttHost": "127.0.0.1", "mqttPort": broker.port, "uuid": "dev-k"}}, token)
    assert status == 200, body
    wait_for(lambda: first.call("GET", "/edgehub/api/connection", token=token)[1]["status"] == "connected")

    accepted: list[int] = []

    def post(daemon, numbers, tok):
        conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=10)
        for n in numbers:
            try:
                if daemon.call("POST", "/edgehub/api/data", {"n": n}, tok, conn)[0] == 201:
                    accepted.append(n)
            except (OSError, http.client.HTTPException):
                return
        conn.close()

    posters = [threading.Thread(target=post, args=(first, range(k, 4000, 4), token)) for k in range(4)]
    for poster in posters:
        poster.start()
    wait_for(lambda: len(accepted) >= 400)
    first.proc.kill()  # kill -9 while four clients are posting
    for poster in posters:
        poster.join()
    first.close()
    assert 400 <= len(accepted) < 4000

    second = started(Daemon(tmp_path, "second"))
    token = second.token(fresh=False)
    wait_for(lambda: second.call("GET", "/edgehub/api/connection", token=token)[1]["status"] == "connected")
    post(second, range(10_000, 10_050), token)
    wanted = set(accepted)
    received = lambda: {json.loads(p)["d"]["n"] for p in sub.on("Advantech/dev-k/data")}  # noqa: E731
    wait_for(lambda: wanted <= received(), timeout=30)
    status = second.call("GET", "/edgehub/api/connection", token=token)[1]
    assert status["outbox"]["dropped"] == 0
    wait_for(lambda: second.call("GET", "/edgehub/api/connection", token=token)[1]["outbox"]["depth"] == 0)
