"""Drawing the briefing's charts so that their labels never collide.

matplotlib's set-up for SVG whose text stays text, and the placing of labels in the figure's
own pixels (measured by matplotlib's renderer): labels at the ends of lines pushed apart where
they would overlap and kept inside their panel, bars' axes widened until the value beside each
bar fits, one legend above a row of panels where direct labels cannot fit.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from projection.validation.references import fmt as _fmt

INK = "#1a1a1a"
GREYS = ("#3b4a6b", "#8fa3c7", "#d9e1ef", "#6b6b6b")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)))
MARKERS = ("o", "s", "^", "D", "v", "P")
HATCHES = ("", "//", "..", "xx", "\\\\", "++")
LABEL_SIZE = 8
LABEL_PAD_PT = 4.0
"""Gap between a mark and its label, and between two labels, in points."""


@dataclass(frozen=True)
class Chart:
    """One figure: its title, the SVG text, the alt text and the source line under it."""

    key: str
    title: str
    svg: str
    alt: str
    source: str


def fmt(x: float) -> str:
    """Three significant figures, thousands separated: how the briefing writes a number."""
    return _fmt(float(x), 3)


def plain(text: str) -> str:
    """Text that matplotlib draws as it is (a '$' would start mathematics)."""
    return str(text).replace("$", r"\$")


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "svg.fonttype": "none",  # text stays text: searchable, measurable, small
        "svg.hashsalt": "projection",  # same inputs, same SVG ids
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans"],
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": INK,
        "axes.labelcolor": INK,
        "xtick.color": INK,
        "ytick.color": INK,
        "hatch.linewidth": 0.6,
    })
    return plt


def svg(fig) -> str:
    plt = pyplot()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


# --- placing labels without collisions ----------------------------------------------------------

def renderer(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def text_size(fig, text: str, size: float) -> tuple[float, float]:
    """Width and height of ``text`` at ``size`` points, in pixels of ``fig``."""
    probe = fig.text(0, 0, text, fontsize=size)
    box = probe.get_window_extent(renderer(fig))
    probe.remove()
    return box.width, box.height


def spread(centres: Sequence[float], heights: Sequence[float], low: float, high: float,
           gap: float) -> list[float]:
    """Centres (pixels) moved as little as possible so that boxes of the given heights are at
    least ``gap`` apart and inside ``low``..``high`` where they fit there."""
    order = np.argsort(centres)
    y = np.asarray(centres, dtype=float)[order].copy()
    h = np.asarray(heights, dtype=float)[order]
    for _ in range(len(y) + 1):
        for i in range(1, len(y)):  # push up
            need = y[i - 1] + (h[i - 1] + h[i]) / 2 + gap
            y[i] = max(y[i], need)
        if len(y) and y[-1] + h[-1] / 2 > high:  # the top one out: push everything down
            y[-1] = high - h[-1] / 2
            for i in range(len(y) - 2, -1, -1):
                y[i] = min(y[i], y[i + 1] - (h[i] + h[i + 1]) / 2 - gap)
        if not len(y) or y[0] - h[0] / 2 >= low - 1e-9:
            break
        y[0] = low + h[0] / 2
    out = np.empty_like(y)
    out[order] = y
    return out.tolist()


def end_labels(ax, x: float, items: Sequence[tuple[float, str]],
               size: float = LABEL_SIZE) -> None:
    """Label lines at ``x`` (their last point) on the right, inside the panel: the x axis is
    widened until the widest label fits, and labels are pushed apart where they would
    overlap. The y limits must be set first."""
    fig = ax.figure
    pad = LABEL_PAD_PT * fig.dpi / 72
    box = ax.get_window_extent(renderer(fig))
    # a label may take at most 70 % of the panel: a longer one (a long scenario title) is
    # shortened with an ellipsis, so the lines keep most of the panel
    items = [(y, _shortened(fig, text, size, box.width * 0.7 - 2 * pad)) for y, text in items]
    sizes = [text_size(fig, text, size) for _, text in items]
    widest = max((w for w, _ in sizes), default=0.0) + 2 * pad
    x0, _ = ax.get_xlim()
    room = box.width - widest
    ax.set_xlim(x0, x + widest * (x - x0) / room)
    to_pixels = ax.transData
    centres = [to_pixels.transform((x, y))[1] for y, _ in items]
    placed = spread(centres, [h for _, h in sizes], box.y0, box.y1, pad / 2)
    for (y, text), centre, new in zip(items, centres, placed, strict=True):
        ax.annotate(text, (x, y), xytext=(LABEL_PAD_PT, (new - centre) * 72 / fig.dpi),
                    textcoords="offset points", va="center", ha="left", fontsize=size,
                    color=INK, annotation_clip=False)


def _shortened(fig, text: str, size: float, width: float) -> str:
    """``text``, cut and ended with an ellipsis where it is wider than ``width`` pixels."""
    if text_size(fig, text, size)[0] <= width:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with its ellipsis
        middle = (low + high + 1) // 2
        if text_size(fig, text[:middle].rstrip() + "\u2026", size)[0] <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "\u2026"


def legend_above(fig, handles, labels, columns: int) -> None:
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=columns,
               frameon=False, fontsize=LABEL_SIZE, handlelength=2.4, columnspacing=1.4)


def panels(plt, count: int, height: float = 3.0, width: float = 3.6):
    fig, axes = plt.subplots(1, count, figsize=(width * count + 0.6, height), sharey=True,
                             squeeze=False)
    fig.subplots_adjust(wspace=0.22, top=0.86)
    return fig, axes[0]


def fit_right(ax, ends: Sequence[float], widths: Sequence[float], start: float = 0.0) -> None:
    """Widen the x axis of horizontal bars starting at ``start`` so that a label of the given
    pixel width fits to the right of each bar's end, inside the panel."""
    fig = ax.figure
    box = ax.get_window_extent(renderer(fig))
    pad = LABEL_PAD_PT * fig.dpi / 72
    need = max(start + (e - start) * box.width / max(box.width - w - 2 * pad, 1.0)
               for e, w in zip(ends, widths, strict=True))
    ax.set_xlim(start, max(need, ax.get_xlim()[1]))
