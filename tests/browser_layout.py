"""Measure a page's layout in headless Chromium: the boxes of its text as the browser draws them.

Uses the DevTools client of ``headless.py``. ``measure`` opens a page at a window width and
returns what ``LAYOUT_SCRIPT`` finds: the page height, the text of the first screen, the
appendix's top, and for every inline SVG chart the screen box of each of its text labels.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from headless import _page_target, _port, _Session

from projection.outputs.cli_brief import chromium_flags

LAYOUT_SCRIPT = """
(() => {
  const text = el => (el.textContent || '').replace(/\\s+/g, ' ').trim();
  const charts = Array.from(document.querySelectorAll('figure[id^="chart-"]')).map(fig => ({
    id: fig.id,
    labels: Array.from(fig.querySelectorAll('svg text')).map(t => {
      const r = t.getBoundingClientRect();
      return {text: text(t), left: r.left, top: r.top + window.scrollY, right: r.right,
              bottom: r.bottom + window.scrollY};
    }).filter(l => l.text.length > 0 && l.right > l.left),
    box: (() => { const r = fig.getBoundingClientRect();
                  return {left: r.left, right: r.right, top: r.top + window.scrollY,
                          bottom: r.bottom + window.scrollY}; })(),
  }));
  const appendix = document.getElementById('appendix');
  const screen = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const parent = node.parentElement;
    if (!parent || parent.closest('script, style, svg')) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const r = range.getBoundingClientRect();
    if (r.height > 0 && r.bottom + window.scrollY <= SCREEN_HEIGHT) screen.push(node.textContent);
  }
  const after = el => appendix !== null
    && (appendix.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING) !== 0;
  const prose = Array.from(document.querySelectorAll('h1, h2, h3, p, li, figcaption'))
    .filter(el => !el.closest('table'))
    .map(el => ({text: text(el), appendix: after(el)}));
  const numbers = Array.from(document.querySelectorAll('span.num')).map(el => {
    const r = el.getBoundingClientRect();
    return {...el.dataset, text: text(el), bottom: r.bottom + window.scrollY,
            card: el.closest('.card') ? el.closest('.card').dataset.scenario : null};
  });
  const cards = Array.from(document.querySelectorAll('.card')).map(el => {
    const r = el.getBoundingClientRect();
    return {scenario: el.dataset.scenario, text: text(el), bottom: r.bottom + window.scrollY};
  });
  return {height: document.documentElement.scrollHeight, charts: charts,
          firstScreen: screen.join(' ').replace(/\\s+/g, ' '),
          appendixTop: appendix ? appendix.getBoundingClientRect().top + window.scrollY : null,
          prose: prose, numbers: numbers, cards: cards};
})()
"""


def measure(page: Path, browser: str, width: int = 1280, screen: int = 1000,
            timeout: float = 60.0) -> dict[str, Any]:
    """Open ``page`` at ``width`` x ``screen`` pixels and return what LAYOUT_SCRIPT finds."""
    with tempfile.TemporaryDirectory(prefix="projection-layout-",
                                     ignore_cleanup_errors=True) as work:
        profile = Path(work) / "profile"
        profile.mkdir()
        process = subprocess.Popen(
            [browser, *chromium_flags(str(profile)), "--remote-debugging-port=0",
             f"--window-size={width},{screen}", "--hide-scrollbars", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "LANG": "en_US.UTF-8"},
        )
        try:
            target = _page_target(_port(profile, process, timeout), timeout)
            session = _Session(target["webSocketDebuggerUrl"], timeout)
            session.send("Page.enable")
            session.send("Runtime.enable")
            session.send("Emulation.setDeviceMetricsOverride", width=width, height=screen,
                         deviceScaleFactor=1, mobile=False)
            session.events.clear()
            session.send("Page.navigate", url=page.resolve().as_uri())
            session.wait_for("Page.loadEventFired", timeout)
            session.evaluate("document.fonts.ready.then(() => true)")
            found = session.evaluate(LAYOUT_SCRIPT.replace("SCREEN_HEIGHT", str(screen)))
            session.ws.close()
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    return found


def overlaps(labels: list[dict[str, Any]], tolerance: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of labels whose boxes overlap by more than ``tolerance`` pixels both ways."""
    found = []
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            dx = min(a["right"], b["right"]) - max(a["left"], b["left"])
            dy = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
            if dx > tolerance and dy > tolerance:
                found.append((a["text"], b["text"]))
    return found
