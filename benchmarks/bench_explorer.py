"""How fast the explorer page opens and redraws, driven in real headless Chromium.

Prints figures; it asserts nothing. Run:  python benchmarks/bench_explorer.py [--moves N]
[--scenario NAME] [--end-year YEAR]

Writes the page with the installed ``projection explore`` (timed), opens it from disk over the
DevTools protocol (``tests/headless.py``) and reports:

- opening: the seconds from navigation to the load event as the driver sees it, and, in the
  page, from navigation start to the moment the model has run the baseline and the scenario
  and every chart is drawn (``window.explorer.ready``);
- slider moves: each move presses an arrow key on a focused slider (levers and assumptions in
  turn, right then left); per move, the time the page's handler takes (model run over the
  whole horizon, headline, every chart and the share link rebuilt: ``explorer.timings``) and
  the time from the key event to the frame that paints the redraw (in the page's clock).
  Median, 90th percentile and worst over ``--moves`` moves.

Target on the 2-core reference machine: a move redraws within 50 ms (median) over 2024-2050,
and the page opens within 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from headless import Page, browser_or_none  # noqa: E402

SCRIPT = Path(sys.executable).with_name("projection")
PAINTED = """
window.__painted = [];
document.addEventListener("keydown", (event) => {
  const t0 = performance.now();
  // after the page's input handler has redrawn, the next frame paints it
  requestAnimationFrame(() => setTimeout(() => window.__painted.push(performance.now() - t0), 0));
}, true);
"""
KEYS = ("buildout.interconnection_limit", "facility.ai_pue_target", "water.ai_wue",
        "carbon.clean_power_share_target", "demand.adoption_growth",
        "hardware.frontier_efficiency_gain", "demand.software_efficiency_gain")



def figures(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return (f"median {statistics.median(values):6.1f} ms  p90 {p90:6.1f} ms  "
            f"worst {max(values):6.1f} ms  (n={len(values)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--moves", type=int, default=84)
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--end-year", type=int, default=2050)
    parser.add_argument("--opens", type=int, default=5)
    args = parser.parse_args()
    browser = browser_or_none()
    if browser is None:
        sys.exit("no Chromium on PATH")
    with tempfile.TemporaryDirectory() as work:
        page_file = Path(work) / "explorer.html"
        start = time.perf_counter()
        subprocess.run([str(SCRIPT), "explore", args.scenario, "--end-year", str(args.end_year),
                        "-o", str(page_file)], check=True, capture_output=True)
        written = time.perf_counter() - start
        print(f"projection explore {args.scenario} --end-year {args.end_year}: {written:.2f} s, "
              f"page {page_file.stat().st_size / 1e3:.0f} kB; {os.cpu_count()} cores")
        with Page(page_file, browser) as page:
            loads, readies = [], []
            for _ in range(args.opens):
                page.navigate("about:blank")
                loads.append(1e3 * page.navigate(page_file.resolve().as_uri()))
                readies.append(page.evaluate(
                    "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => "
                    "r(performance.now()))))"))
            print(f"open (navigation to load event, driver's clock): {figures(loads)}")
            print(f"open (navigation start to charts drawn and painted): {figures(readies)}")
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            page.evaluate("window.explorer.timings.length = 0")
            page.evaluate(PAINTED)
            frames = []
            for i in range(args.moves):
                key = KEYS[i % len(KEYS)]
                direction = "ArrowRight" if (i // len(KEYS)) % 2 == 0 else "ArrowLeft"
                page.evaluate(f"document.querySelector('input[name=\"{key}\"]').focus()")
                start = time.perf_counter()
                page.key(direction)
                page.evaluate("new Promise(r => requestAnimationFrame(() => "
                              "requestAnimationFrame(r)))")
                frames.append(1e3 * (time.perf_counter() - start))
            handler = page.evaluate("window.explorer.timings")
            painted = page.evaluate("window.__painted")
            years = page.evaluate("window.explorer.data.end_year - window.explorer.data.start_year"
                                  " + 1")
            print(f"slider move, page's handler (model over {years} years, headline, charts, "
                  f"share link): {figures(handler)}")
            print(f"slider move, key event to the frame after the redraw (page's clock): "
                  f"{figures(painted)}")
            print(f"slider move, key press sent to that frame seen by the driver (DevTools "
                  f"round trips included): {figures(frames)}")
            errors = page.errors
            if errors:
                print("page errors:", errors)


if __name__ == "__main__":
    main()
