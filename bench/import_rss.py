"""Which modules portald's resident memory goes to: every import is metered, in the daemon itself.

Starts portald run --sim --http in a child process whose imports all pass through a metering loader:
the RSS growth while a module is created and executed, minus what the modules it imports in turn
add, is that module's own share (shared libraries it loads, its code objects, whatever it builds at
import time). Optionally warms the daemon up (--warm: one admin login and one GET of each main
endpoint, as bench/idle_rss.py does), waits --wait seconds, reads the daemon's RSS from /proc and
stops it; the child then writes its table. Reported:
  - RSS when the first import was metered (the interpreter itself), the total at the end, and the
    rest (neither the interpreter nor an import: heap built at start-up or by requests);
  - each package's own share (third-party and stdlib packages by top-level name, portald's modules by
    full name), largest first;
  - the same import costs charged to the portald module whose code (at module level or in a function)
    first imported them (so "portald.tls 10 MB" means: importing it, and the cryptography it needs,
    cost 10 MB), largest first.
Figures are approximate (RSS is counted in pages; memory freed later is still charged to its
importer) but repeat within ~0.2 MB. Also reported, from a separate child: the floor, the RSS of a
process that only imports what portald is built on and sets it up as portald does (gevent's
patch_all, Flask, a pydantic model, pluggy, pywsgi, importlib.metadata's entry points, ctypes) and
nothing of portald.

    .venv/bin/python bench/import_rss.py [--warm] [--wait 5] [--top 25] [--json]

Run it with the python of the tree you measure (e.g. a worktree's own venv) to compare two trees.
"""
from __future__ import annotations

import os
import sys

if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--child":
    # The child: install the meter before anything else is imported, then run the daemon.
    import importlib.abc  # noqa: E402  (stdlib, loaded by the interpreter's start-up anyway)

    _PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024

    def _rss_kib() -> int:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_KIB

    _START_KIB = _rss_kib()
    _own: dict[str, int] = {}  # module -> own KiB
    _first_importer: dict[str, str] = {}  # module -> innermost portald module on the stack when imported
    _stack: list[list] = []  # [module name, KiB of nested imports]

    def _ours(name: str) -> bool:
        return name == "portald" or name.startswith(("portald.", "portald_plugins"))

    def _importer() -> str:
        """The innermost portald module running code on the stack: the one whose import statement
        (at module level or in a function, for lazy imports) asked for the module."""
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_globals.get("__name__", "")
            if _ours(name):
                return name
            frame = frame.f_back
        return ""

    class _Metered(importlib.abc.Loader):
        def __init__(self, loader):
            self.loader = loader

        def _timed(self, name, call, *args):
            before = _rss_kib()
            _stack.append([name, 0])
            try:
                return call(*args)
            finally:
                _, nested = _stack.pop()
                grown = _rss_kib() - before
                _own[name] = _own.get(name, 0) + grown - nested
                if _stack:
                    _stack[-1][1] += grown
                if name not in _first_importer:
                    _first_importer[name] = _importer()

        def create_module(self, spec):
            # an extension module's shared library is loaded (dlopen) here, not in exec_module
            create = getattr(self.loader, "create_module", None)
            return self._timed(spec.name, create, spec) if create else None

        def exec_module(self, module):
            # the module sees its real loader (importlib.resources and friends look at it)
            module.__loader__ = self.loader
            if module.__spec__ is not None:
                module.__spec__.loader = self.loader
            self._timed(module.__name__, self.loader.exec_module, module)

    class _Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                        spec.loader = _Metered(spec.loader)
                    return spec
            return None

    sys.meta_path.insert(0, _Finder())

    def _write_table() -> None:
        import json

        with open(os.environ["BENCH_IMPORT_RSS_OUT"], "w") as out:
            json.dump({"start_kib": _START_KIB, "own_kib": _own, "first_importer": _first_importer}, out)

    import atexit  # noqa: E402

    atexit.register(_write_table)
    from portald.cli import main as _portald_main  # noqa: E402

    sys.exit(_portald_main(sys.argv[2:]))

FLOOR = """
from gevent import monkey
monkey.patch_all(subprocess=False)
import ctypes, importlib.metadata, flask, pluggy, gevent.pywsgi
from pydantic import BaseModel, Field
class Section(BaseModel):
    listen: str = "0.0.0.0:8443"
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
Section.model_validate({"listen": "127.0.0.1:1"})
importlib.metadata.entry_points(group="portald.plugins")
import time
time.sleep(1)
print(open("/proc/self/status").read().split("VmRSS:")[1].split()[0])
"""

# --- the driver ------------------------------------------------------------------------------------
import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

from benchlib import (BenchError, HOST, free_port, interrupt_on_sigterm, log, seed_admin_password, started,  # noqa: E402
                      status_kib, warm_up)


def package_of(module: str) -> str:
    """The row a module is counted in: portald's modules by name, plugins by plugin (boards by
    driver module), everything else by its top-level package."""
    parts = module.split(".")
    if parts[0] == "portald":
        return module
    if parts[0] == "portald_plugins":
        return ".".join(parts[:4] if parts[1:2] == ["boards"] else parts[:2])
    return parts[0]


def run(args) -> dict:
    with tempfile.TemporaryDirectory(prefix="portald-imports-") as tmp:
        tmp = Path(tmp)
        port, table, state = free_port(), tmp / "imports.json", tmp / "portald-state"
        seed_admin_password(state)
        os.environ["BENCH_IMPORT_RSS_OUT"] = str(table)
        argv = [sys.executable, str(Path(__file__).resolve()), "--child", "run", "--sim", "--http",
                "--listen", f"{HOST}:{port}", "--state-dir", str(state)]
        with started("portald (metered)", argv, port, tmp / "portald.log") as daemon:
            if args.warm:
                warm_up(port)
            log(f"waiting {args.wait:g} s ...")
            time.sleep(args.wait)
            rss = status_kib(daemon.pid, "VmRSS")
        if not table.exists():
            raise BenchError(f"the metered daemon wrote no table:\n{daemon.log_tail()}")
        data = json.loads(table.read_text())
    own: dict[str, int] = defaultdict(int)
    charged: dict[str, int] = defaultdict(int)
    for module, kib in data["own_kib"].items():
        own[package_of(module)] += kib
        importer = module if module.startswith(("portald.", "portald_plugins.")) else data["first_importer"][module]
        charged[importer or "(before portald: the bench child, interpreter start-up)"] += kib
    imports = sum(own.values())
    floor = int(subprocess.run([sys.executable, "-c", FLOOR], capture_output=True, text=True, check=True).stdout)
    modules = {m: {"own_kib": kib, "first_importer": data["first_importer"][m]}
               for m, kib in sorted(data["own_kib"].items(), key=lambda kv: -kv[1])}
    return {"warm": args.warm, "wait_seconds": args.wait, "rss_kib": rss, "floor_kib": floor,
            "interpreter_kib": data["start_kib"],
            "imports_kib": imports, "rest_kib": rss - data["start_kib"] - imports,
            "own_kib": dict(sorted(own.items(), key=lambda kv: -kv[1])),
            "charged_kib": dict(sorted(charged.items(), key=lambda kv: -kv[1])), "modules": modules}


def text_report(report: dict, top: int) -> str:
    mib = lambda kib: f"{kib / 1024:6.1f}"  # noqa: E731
    state = "warm (login + main endpoints)" if report["warm"] else "fresh (no requests)"
    lines = [f"portald RSS by import, --sim --http, {state}, after {report['wait_seconds']:g} s (MiB)",
             f"  {mib(report['rss_kib'])}  total VmRSS",
             f"  {mib(report['interpreter_kib'])}  interpreter before the first metered import",
             f"  {mib(report['imports_kib'])}  imports",
             f"  {mib(report['rest_kib'])}  rest (heap built at start-up and by requests)",
             f"  {mib(report['floor_kib'])}  floor: a process with portald's stack set up and nothing of portald",
             "", f"  own share per package (top {top}):"]
    for name, kib in list(report["own_kib"].items())[:top]:
        lines.append(f"  {mib(kib)}  {name}")
    lines += ["", f"  charged to the portald module that first imported it (top {top}):"]
    for name, kib in list(report["charged_kib"].items())[:top]:
        lines.append(f"  {mib(kib)}  {name}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", action="store_true", help="log in and GET each main endpoint first")
    parser.add_argument("--wait", type=float, default=5, metavar="SECONDS", help="before reading RSS (default 5)")
    parser.add_argument("--top", type=int, default=25, metavar="N", help="rows per table (default 25)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    interrupt_on_sigterm()
    try:
        report = run(args)
    except (BenchError, KeyboardInterrupt) as exc:
        print(f"import_rss: {exc or 'interrupted'}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=1) if args.json else text_report(report, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
