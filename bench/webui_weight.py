"""The web UI's budget (issue 13): the dashboard's first load at most 300 KB transferred (gzip), and an
open dashboard costing the daemon at most 3% of one core.

Weight (default): follows what ``index.html`` loads for the dashboard — its stylesheet, the entry
script and every chunk it imports statically, then the dashboard's own chunk (loaded by the router on
first use) and its static imports — in ``portald/webui_dist/meta.json`` (written by the build), and
sums the gzip files the daemon sends as they are. Pages loaded later (terminal: xterm.js; remote
desktop: noVNC) are listed apart.

CPU (``--cpu SECONDS``): starts ``portald run --sim --http`` on 127.0.0.1, measures its CPU while idle
for SECONDS, then opens the dashboard in Debian's chromium (Playwright, headless, no network but
127.0.0.1), waits for its charts to move and measures SECONDS again (utime+stime of the daemon from
/proc, as % of one core). It also counts the bytes the browser received for the first load (bodies as
sent, i.e. gzip), as a check on the static figure.

    make webui && .venv/bin/python bench/webui_weight.py [--cpu 60 [--screenshot docs/dashboard.png]] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from benchlib import BENCH_PASSWORD, BenchError, cpu_seconds, log, portald

DIST = Path(__file__).resolve().parent.parent / "portald" / "webui_dist"
BUDGET_KB, CPU_BUDGET = 300, 3.0
CHROMIUM = "/usr/bin/chromium"


def closure(meta: dict, start: str) -> list[str]:
    """``start`` and every file it imports statically, depth first, each once."""
    seen: list[str] = []

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.append(name)
        for imp in meta["outputs"][name]["imports"]:
            if imp["kind"] == "import-statement":
                visit(imp["file"])

    visit(start)
    return seen


def gz_size(path: Path) -> int:
    gz = path.with_name(path.name + ".gz")
    if not gz.is_file():
        raise BenchError(f"{gz} is missing: run make webui")
    return gz.stat().st_size


def page_chunk(meta: dict, page: str) -> str:
    for name, out in meta["outputs"].items():
        if (out["entryPoint"] or "").endswith(f"src/pages/{page}.ts"):
            return name
    raise BenchError(f"no chunk for the page {page}")


def weight() -> dict:
    if not (DIST / "meta.json").is_file():
        raise BenchError(f"{DIST} has no built UI: run make webui")
    meta = json.loads((DIST / "meta.json").read_text())
    first = ["index.html", *([meta["css"]] if meta["css"] else []), *closure(meta, meta["entry"])]
    first += [f for f in closure(meta, page_chunk(meta, "dashboard")) if f not in first]
    sizes = {name: gz_size(DIST / name if name == "index.html" else DIST / "assets" / name) for name in first}
    later = {}
    for page in ("terminal", "rdesk"):
        files = closure(meta, page_chunk(meta, page))
        for imp in meta["outputs"][files[0]]["imports"]:
            if imp["kind"] == "dynamic-import":  # noVNC, loaded when a session starts
                files += closure(meta, imp["file"])
        later[page] = sum(gz_size(DIST / "assets" / f) for f in set(files) - set(first))
    total = sum(sizes.values())
    return {"dashboard_first_load_gzip_bytes": total, "files": sizes, "budget_bytes": BUDGET_KB * 1000,
            "within_budget": total <= BUDGET_KB * 1000, "later_pages_extra_gzip_bytes": later}


def cpu(seconds: float, screenshot: Path | None = None) -> dict:
    from playwright.sync_api import expect, sync_playwright

    with tempfile.TemporaryDirectory(prefix="webui-bench-") as tmp, portald(Path(tmp), seed_password=True) as daemon:
        url = f"http://127.0.0.1:{daemon.port}"
        time.sleep(2)  # past start-up
        before = cpu_seconds(daemon.pid)
        time.sleep(seconds)
        idle = (cpu_seconds(daemon.pid) - before) / seconds * 100
        log(f"idle: {idle:.2f} % of a core")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--proxy-server=127.0.0.1:9", "--proxy-bypass-list=127.0.0.1"])
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                received: list[int] = []

                def count(response):
                    length = response.headers.get("content-length")
                    if length and "/platform/api/events" not in response.url:
                        received.append(int(length))

                page.on("response", count)
                page.goto(url + "/")
                page.get_by_label("Built-in admin account").check()
                page.get_by_label("User name").fill("admin")
                page.get_by_label("Password", exact=True).fill(BENCH_PASSWORD)
                page.get_by_role("button", name="Log in").click()
                value = page.locator('[data-chart="temperature"] output[data-series="CPU"]')
                expect(value).to_be_visible(timeout=15_000)
                first_load = sum(received)
                before = cpu_seconds(daemon.pid)
                time.sleep(seconds)
                open_dashboard = (cpu_seconds(daemon.pid) - before) / seconds * 100
                log(f"dashboard open: {open_dashboard:.2f} % of a core")
                if screenshot:
                    page.screenshot(path=str(screenshot), full_page=True)
                    log(f"screenshot: {screenshot}")
            finally:
                browser.close()
    return {"seconds": seconds, "idle_cpu_percent": round(idle, 2), "dashboard_cpu_percent": round(open_dashboard, 2),
            "dashboard_extra_cpu_percent": round(open_dashboard - idle, 2), "cpu_budget_percent": CPU_BUDGET,
            "browser_first_load_bytes_incl_api": first_load}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", type=float, metavar="SECONDS", help="also measure the daemon's CPU with the dashboard open")
    parser.add_argument("--screenshot", type=Path, metavar="PNG",
                        help="with --cpu: save the dashboard as it looks at the end (docs/dashboard.png is made so)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    try:
        result = weight()
        if args.cpu:
            result["cpu"] = cpu(args.cpu, args.screenshot)
    except BenchError as exc:
        print(f"webui_weight: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        for name, size in result["files"].items():
            print(f"  {size / 1000:8.1f} KB  {name}")
        print(f"dashboard first load: {result['dashboard_first_load_gzip_bytes'] / 1000:.1f} KB gzip "
              f"(budget {BUDGET_KB} KB: {'within' if result['within_budget'] else 'OVER'})")
        for page, extra in result["later_pages_extra_gzip_bytes"].items():
            print(f"  later, on opening {page}: +{extra / 1000:.1f} KB gzip")
        if "cpu" in result:
            c = result["cpu"]
            print(f"daemon CPU over {c['seconds']:.0f} s: idle {c['idle_cpu_percent']:.2f} %, dashboard open "
                  f"{c['dashboard_cpu_percent']:.2f} % of a core (budget {CPU_BUDGET} %); the browser received "
                  f"{c['browser_first_load_bytes_incl_api'] / 1000:.1f} KB for the first load, API answers included")
    return 0 if result["within_budget"] and result.get("cpu", {}).get("dashboard_cpu_percent", 0) <= CPU_BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
