"""Fallback keep-alive load generator for bench/http_bench.py when wrk is not available.

N gevent greenlets, each with one keep-alive http.client connection to 127.0.0.1, send GETs back
to back for DURATION seconds. Prints one JSON object: requests, rps, p50_ms, p99_ms, errors, non2xx.
Being one Python process, it is often slower than the server it loads: its req/s figures are a
floor, not the server's capacity (compare ratios, not absolute numbers).

    python bench/pyload.py --port PORT --path PATH [--connections N] [--duration S] [--token T]
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402


def worker(args, deadline: float, latencies: list, counts: dict) -> None:
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=5)
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        try:
            conn.request("GET", args.path, headers=headers)
            resp = conn.getresponse()
            resp.read()
        except (OSError, http.client.HTTPException):
            counts["errors"] += 1
            conn.close()  # http.client reconnects on the next request
            gevent.sleep(0.01)
            continue
        latencies.append(time.perf_counter() - start)
        if not 200 <= resp.status < 400:
            counts["non2xx"] += 1
    conn.close()


def percentile(sorted_values: list, q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))] if sorted_values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--token")
    args = parser.parse_args()
    latencies: list = []
    counts = {"errors": 0, "non2xx": 0}
    start = time.perf_counter()
    deadline = start + args.duration
    gevent.joinall([gevent.spawn(worker, args, deadline, latencies, counts) for _ in range(args.connections)])
    elapsed = time.perf_counter() - start
    latencies.sort()
    print(json.dumps({"requests": len(latencies), "rps": len(latencies) / elapsed,
                      "p50_ms": percentile(latencies, 0.50) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
                      **counts}))


if __name__ == "__main__":
    main()
