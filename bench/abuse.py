"""Hostile-client scenarios against portald (issue 8): each one reproduces an attack from one machine
and measures what a legitimate client gets meanwhile. Everything stays on 127.0.0.1.

Scenarios live in modules of their own, ``bench/abuse_<group>.py``, each with
``SCENARIOS = {name: function}``; a function takes the parsed arguments and returns a dict of figures
(``ok`` True when the scenario's goal is met). This runner starts nothing itself: every scenario
starts its own daemon (``benchlib.portald``) with a throw-away state dir and stops it.

    .venv/bin/python bench/abuse.py                      # every scenario
    .venv/bin/python bench/abuse.py slow_headers logins  # some, by name
    .venv/bin/python bench/abuse.py --list
    .venv/bin/python bench/abuse.py --json

Exit status: 0 every goal met, 1 some goal missed, 2 setup error or interrupted.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from benchlib import BenchError, interrupt_on_sigterm, log

GROUPS = ("abuse_connections", "abuse_logins", "abuse_framing")


def scenarios() -> dict:
    found = {}
    for group in GROUPS:
        if not (Path(__file__).parent / f"{group}.py").exists():
            continue
        for name, function in importlib.import_module(group).SCENARIOS.items():
            found[name] = function
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="scenarios to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply the attack sizes (connections, attempts) by this (default 1)")
    args = parser.parse_args()
    interrupt_on_sigterm()
    known = scenarios()
    if args.list:
        for name, function in known.items():
            print(f"{name:<24} {(function.__doc__ or '').strip().splitlines()[0]}")
        return 0
    unknown = [n for n in args.names if n not in known]
    if unknown:
        log(f"unknown scenario(s): {', '.join(unknown)}; --list shows them")
        return 2
    results = {}
    try:
        for name in args.names or list(known):
            log(f"--- {name}")
            results[name] = known[name](args)
    except (BenchError, KeyboardInterrupt) as exc:
        log(f"stopped: {exc or 'interrupted'}")
        return 2
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for name, figures in results.items():
            verdict = "goal met" if figures.get("ok") else "GOAL MISSED"
            rest = ", ".join(f"{k}={v}" for k, v in figures.items() if k != "ok")
            print(f"{name:<24} {verdict:<12} {rest}")
    return 0 if all(f.get("ok") for f in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
