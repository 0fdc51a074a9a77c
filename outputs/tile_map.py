"""A tile-grid map of the states as inline SVG: one square a state at its place in a grid
that keeps the country's shape (``projection.model.regions.TILES``), coloured by a value in
fixed classes, each square labelled with the state's code and its value, a legend under it.

No geometry, no download and no plotting library: the squares and their text are written
directly, so the map draws the same offline, in any browser, and a test can read every
label. Text is dark or white on each square, whichever contrasts more with its colour
(WCAG 2.x contrast ratio; at least 4.5:1 for every class, checked by the tests).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .chart_layout import INK

TILE = 32
"""Side of a state's square, in pixels (CSS pixels of the page): the map takes about 300
pixels of height, so that the briefing's body stays within its screens."""
GAP = 3
MARGIN = 8
LABEL_SIZE = 11
VALUE_SIZE = 9
LEGEND_SIZE = 11
LEGEND_ROW = 19
FONT = "'DejaVu Sans', 'Liberation Sans', Arial, sans-serif"
CHAR_WIDTH = 0.62
"""Width of a character in DejaVu Sans as a share of the font size, on the wide side (for
placing the legend's items apart; the page's tests measure the drawn text)."""

SHARE_BREAKS = (2.0, 5.0, 10.0, 20.0, 30.0)
"""Class breaks of the share of a state's electricity, percent: the same in every briefing, so
that two maps compare (a presentation choice: EPRI 2024 puts most states under 5 % in 2023,
a few between 10 and 20 %, Virginia above 25 %)."""
COLOURS = ("#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#2171b5", "#08519c")
"""ColorBrewer's sequential 'Blues' (Brewer, colorbrewer2.org), light to dark: its six-class
scheme with the fifth class taken from the seven-class one (#2171b5 for #3182bd, on which
neither dark nor white text reaches a contrast of 4.5:1)."""
MISSING = "#ffffff"
WHITE = "#ffffff"


def _luminance(colour: str) -> float:
    """Relative luminance of an sRGB colour ``#rrggbb`` (WCAG 2.x)."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2.x contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colour(fill: str) -> str:
    """Dark ink or white on ``fill``, whichever contrasts more."""
    return INK if contrast(INK, fill) >= contrast(WHITE, fill) else WHITE


def classes(breaks: Sequence[float] = SHARE_BREAKS) -> list[str]:
    """The legend's words for each class: "under 2 %", "2-5 %", ..., "30 % or more"."""
    def n(x: float) -> str:
        return f"{x:g}"

    words = [f"under {n(breaks[0])} %"]
    words += [f"{n(a)}-{n(b)} %" for a, b in zip(breaks, breaks[1:], strict=False)]
    return [*words, f"{n(breaks[-1])} % or more"]


def class_of(value: float, breaks: Sequence[float] = SHARE_BREAKS) -> int | None:
    """Index of the class of ``value`` (None when it is not a number)."""
    if not np.isfinite(value):
        return None
    return int(np.searchsorted(np.asarray(breaks), value, side="right"))


def short(value: float) -> str:
    """A share as a square has room for it: "24 %", "4.1 %", "0.3 %"."""
    if not np.isfinite(value):
        return "n/a"
    return f"{value:.0f} %" if abs(value) >= 9.95 else f"{value:.1f} %"


def tile_map(values: Mapping[str, float], tiles: Mapping[str, tuple[int, int]], *,
             title: str, desc: str, legend: Sequence[str] = (),
             names: Mapping[str, str] | None = None,
             label: Callable[[float], str] = short,
             breaks: Sequence[float] = SHARE_BREAKS) -> str:
    """The map as an ``<svg>`` element: a ``<title>`` and a ``<desc>`` (read by screen
    readers; the page's caption shows the title), a square per state of ``tiles`` with its
    code and ``label(value)``, and to the right the legend: its heading (``legend``, a line
    each) and a swatch per class."""
    names = names or {}
    rows = max(r for r, _ in tiles.values()) + 1
    cols = max(c for _, c in tiles.values()) + 1
    step = TILE + GAP
    top = MARGIN
    grid_right = MARGIN + cols * step - GAP
    grid_bottom = top + rows * step - GAP
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="WIDTH" height="HEIGHT" '
           f'viewBox="0 0 WIDTH HEIGHT" font-family="{html.escape(FONT, quote=True)}">',
           f"<title>{html.escape(title)}</title>", f"<desc>{html.escape(desc)}</desc>"]
    present: set[int | None] = set()
    for code, (row, col) in sorted(tiles.items(), key=lambda item: item[1]):
        value = float(values.get(code, np.nan))
        index = class_of(value, breaks)
        present.add(index)
        fill = MISSING if index is None else COLOURS[index]
        ink = text_colour(fill)
        x, y = MARGIN + col * step, top + row * step
        name = names.get(code, code)
        out.append(
            f'<g class="tile" data-region="{html.escape(code, quote=True)}" '
            f'data-value="{value!r}"><title>{html.escape(name)}: {html.escape(label(value))}'
            f'</title><rect x="{x}" y="{y}" width="{TILE}" height="{TILE}" fill="{fill}" '
            f'stroke="{INK}" stroke-width="0.6"'
            + (' stroke-dasharray="3 2"' if index is None else "") + "/>"
            f'<text x="{x + TILE / 2:g}" y="{y + 14}" font-size="{LABEL_SIZE}" '
            f'font-weight="bold" text-anchor="middle" fill="{ink}">{html.escape(code)}</text>'
            f'<text x="{x + TILE / 2:g}" y="{y + 26}" font-size="{VALUE_SIZE}" '
            f'text-anchor="middle" fill="{ink}">{html.escape(label(value))}</text></g>')
    items = [(COLOURS[i], text) for i, text in enumerate(classes(breaks))]
    if None in present:
        items.append((MISSING, "not known"))
    x = grid_right + 18
    y = top
    widest = 0.0
    for line in legend:
        out.append(f'<text x="{x}" y="{y + LEGEND_SIZE}" font-size="{LEGEND_SIZE}" '
                   f'fill="{INK}">{html.escape(line)}</text>')
        widest = max(widest, len(line) * LEGEND_SIZE * CHAR_WIDTH)
        y += LEGEND_ROW
    y += 4 if legend else 0
    for fill, text in items:
        out.append(f'<rect x="{x}" y="{y}" width="14" height="14" fill="{fill}" '
                   f'stroke="{INK}" stroke-width="0.6"/>'
                   f'<text x="{x + 19}" y="{y + 11}" font-size="{LEGEND_SIZE}" '
                   f'fill="{INK}">{html.escape(text)}</text>')
        widest = max(widest, 19 + len(text) * LEGEND_SIZE * CHAR_WIDTH)
        y += LEGEND_ROW
    width = round(x + widest + MARGIN)
    height = max(grid_bottom, y) + MARGIN
    out.append("</svg>")
    return "".join(out).replace("WIDTH", str(width)).replace("HEIGHT", str(height))
