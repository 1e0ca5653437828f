"""Per-request cost of portald's app layers, without the network: WSGI calls in one process.

Builds a bare Flask app answering "pong" (what bench/ceiling_app.py serves) and portald's app on the
sim board (temporary state dir), then calls each as the WSGI server would, --requests times per
round, --rounds rounds in rotation, and reports the best round's microseconds per request for:
  - bare Flask GET /platform/api/ping;
  - portald GET /platform/api/ping (public: the guard, the hooks, the security headers);
  - portald GET /platform/api/hwmon with an admin token (token check, the hwmon view, JSON).
The difference between the first two is what portald's own layers cost a request; the third minus
the second is what an authenticated JSON read adds. With --profile the hottest functions of each
portald target are printed (cProfile; its overhead inflates the absolute figures).

    .venv/bin/python bench/app_overhead.py [--requests 5000] [--rounds 7] [--profile] [--json]

No server, no sockets: the figures are the Python work per request, steadier than wrk's on a busy
machine, and they leave out pywsgi (which bench/http_bench.py includes).
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all(subprocess=False)

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import pstats  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from benchlib import HWMON, PING, log  # noqa: E402


def bare_app():
    from flask import Flask, Response

    app = Flask("ceiling")

    @app.get(PING)
    def ping():
        return Response("pong", mimetype="text/plain")

    return app


def environ(path: str, token: str | None = None) -> dict:
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
           "SERVER_PORT": "8443", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1:8443",
           "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
           "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": False,
           "wsgi.run_once": False, "wsgi.version": (1, 0)}
    if token:
        env["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return env


def call(app, path: str, token: str | None, count: int) -> float:
    """Seconds per request over ``count`` WSGI calls (the body is iterated and closed, as a server does)."""
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    start = time.perf_counter()
    for _ in range(count):
        body = app(environ(path, token), start_response)
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close:
            close()
    elapsed = time.perf_counter() - start
    if not statuses[-1].startswith("200"):
        raise SystemExit(f"{path} answered {statuses[-1]}")
    return elapsed / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, metavar="N", help="per target and round (5000)")
    parser.add_argument("--rounds", type=int, default=7, metavar="N", help="rounds in rotation; best counts (7)")
    parser.add_argument("--profile", action="store_true", help="print the hottest functions per portald target")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()

    import logging

    logging.basicConfig(level=logging.WARNING)
    from portald.app import create_app
    from portald.config import load

    with tempfile.TemporaryDirectory(prefix="portald-app-") as tmp:
        app = create_app(load(None, {"board": "sim", "state_dir": tmp, "server": {"http": True}}, environ={}))
        core = app.extensions["portald"]
        token, _ = core.auth.tokens.issue("admin", 2, "admin", core.auth.admin.generation)
        targets = {"bare Flask ping": (bare_app(), PING, None), "portald ping": (app, PING, None),
                   "portald hwmon (token)": (app, HWMON, token)}
        best = {name: float("inf") for name in targets}
        for name, (target, path, tok) in targets.items():
            call(target, path, tok, 200)  # warm up: first-use work (samplers, caches) is not per request
        for number in range(args.rounds):
            log(f"round {number + 1}/{args.rounds}")
            for name, (target, path, tok) in targets.items():
                best[name] = min(best[name], call(target, path, tok, args.requests))
        profiles = {}
        if args.profile:
            for name, (target, path, tok) in list(targets.items())[1:]:
                profiler = cProfile.Profile()
                profiler.runcall(call, target, path, tok, args.requests)
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
                profiles[name] = out.getvalue()
        core.shutdown()

    us = {name: round(seconds * 1e6, 1) for name, seconds in best.items()}
    report = {"requests": args.requests, "rounds": args.rounds, "us_per_request": us,
              "portald_layers_us": round(us["portald ping"] - us["bare Flask ping"], 1),
              "hwmon_over_ping_us": round(us["portald hwmon (token)"] - us["portald ping"], 1)}
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"portald app cost per request, WSGI calls without a server (best of {args.rounds} rounds "
          f"of {args.requests})")
    for name, value in us.items():
        print(f"  {name:<24} {value:7.1f} us")
    print(f"  portald's layers on a ping: +{report['portald_layers_us']} us; "
          f"authenticated hwmon over a ping: +{report['hwmon_over_ping_us']} us")
    for name, text in profiles.items():
        print(f"\n--- {name} ---\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
