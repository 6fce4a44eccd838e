"""Page load to first tile on screen: the viewer on the demo city, in headless Chromium.

Usage::

    .venv/bin/python bench/bench_viewer.py [--city DIR] [--loads 5] [--warm] [--settle 20]

Builds the demo district (``cimtwin demo --no-serve``) in ``DIR`` (default: a folder in the
temp directory, reused by later runs), serves it with uvicorn on a free loopback port, and
opens the viewer ``--loads`` times at 1366x768 in Debian's Chromium (software WebGL:
SwiftShader), each load in a fresh browser context (empty cache) unless ``--warm``.

For each load it prints, in milliseconds from the start of navigation (the page's
``performance.now()``):

- ``first tile``: the first frame drawn after a tile with content was selected for
  rendering (``window.cimtwin.metrics.firstTileMs``);
- ``ready``: every tile the view needs loaded (``metrics.readyMs``);
- ``DOM``: ``DOMContentLoaded`` (Cesium.js parsed and run);

and the bytes the page transferred, then the median and minimum over the loads, and the
stages of the last load (``metrics.marks``: viewer built, /api/city read, terrain ready,
tileset JSON read, camera placed, first tile loaded). Timings on
a shared CPU are noisy (``--settle`` waits until other work leaves the CPUs mostly idle).
The test suite never runs this file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import settle

from api.demo import build_demo

# the browser and server harness of the viewer tests (project root on the path for `tests`)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.viewer.conftest import CHROMIUM, CHROMIUM_ARGS, SESSIONS, serve

DEFAULT_CITY = Path(tempfile.gettempdir()) / "cimtwin-bench-viewer-demo"


def one_load(browser: Any, context: Any, url: str) -> dict[str, Any]:
    """Open the viewer once; the page's own timings, in ms from navigation start."""
    page = context.new_page()
    stored = json.dumps(SESSIONS[url])  # signed in as the city's admin
    page.add_init_script(f"sessionStorage.setItem('cimtwin.session', {json.dumps(stored)})")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url + "/")
    page.wait_for_function(
        "window.cimtwin && (window.cimtwin.state === 'error'"
        " || (window.cimtwin.metrics.firstTileMs !== null && window.cimtwin.state === 'ready'))",
        timeout=180_000,
    )
    result = page.evaluate(
        """() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const bytes = performance.getEntriesByType('resource')
                .reduce((sum, r) => sum + (r.transferSize || 0), nav.transferSize || 0);
            const m = window.cimtwin.metrics;
            return {state: window.cimtwin.state, error: window.cimtwin.error,
                    first: m.firstTileMs, ready: m.readyMs,
                    dom: nav.domContentLoadedEventEnd, bytes, marks: m.marks};
        }"""
    )
    page.close()
    if result["state"] != "ready" or errors:
        raise SystemExit(f"the viewer failed: {result['error'] or errors}")
    return result  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--city", type=Path, default=DEFAULT_CITY, help="demo city folder")
    parser.add_argument("--loads", type=int, default=5, help="page loads to measure")
    parser.add_argument("--warm", action="store_true", help="one context: cached after load 1")
    parser.add_argument(
        "--settle", type=float, default=None, metavar="PCT",
        help="before each load, wait until CPU pressure is below PCT %%",
    )  # fmt: skip
    args = parser.parse_args()

    started = time.perf_counter()
    build_demo(args.city, log=lambda line: print(f"  demo: {line}"))
    print(f"demo city in {args.city} ({time.perf_counter() - started:.1f} s to build or reuse)")

    from playwright.sync_api import sync_playwright

    rows = []
    with serve(args.city) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        shared = browser.new_context(viewport={"width": 1366, "height": 768})
        print(f"{'load':>4} {'first tile ms':>14} {'ready ms':>10} {'DOM ms':>8} {'MiB':>7}")
        for index in range(1, args.loads + 1):
            if args.settle is not None:
                settle(args.settle)
            context = shared if args.warm else browser.new_context(
                viewport={"width": 1366, "height": 768}
            )  # fmt: skip
            row = one_load(browser, context, url)
            if not args.warm:
                context.close()
            rows.append(row)
            print(f"{index:>4} {row['first']:>14.0f} {row['ready']:>10.0f} {row['dom']:>8.0f}"
                  f" {row['bytes'] / 2**20:>7.1f}")  # fmt: skip
        browser.close()

    stages = ", ".join(f"{name} {ms}" for name, ms in rows[-1]["marks"].items())
    print(f"stages of the last load (ms): {stages}")
    for key, label in (("first", "page load to first tile"), ("ready", "page load to ready")):
        values = [r[key] for r in rows]
        print(f"{label}: median {statistics.median(values):.0f} ms, min {min(values):.0f} ms"
              f" over {len(values)} {'warm' if args.warm else 'cold'} loads")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
