"""The briefing's charts, drawn by matplotlib from a compared run (dims scenario, year[, workload]).

Every chart shows the baseline scenario, names its units on every axis and labels what it draws
without collisions: direct labels are placed in the figure's own pixels (measured by
matplotlib's renderer), pushed apart where they would overlap and kept inside their panel;
where direct labels cannot fit (several panels of stacked areas and bands), one legend above
the panels says what each mark is. Charts are SVG with their text kept as text, so the page
shows them inline and a browser (and a test) can measure every label. matplotlib is imported
here only, and this module only by the commands that draw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from projection.model.units import ureg

from .chart_layout import (
    GREYS,
    HATCHES,
    INK,
    LABEL_PAD_PT,
    LABEL_SIZE,
    LINESTYLES,
    MARKERS,
    Chart,
    end_labels,
    fmt,
    plain,
)
from .chart_layout import fit_right as _fit_right
from .chart_layout import legend_above as _legend_above
from .chart_layout import panels as _panels
from .chart_layout import pyplot as _pyplot
from .chart_layout import renderer as _renderer
from .chart_layout import svg as _svg
from .chart_layout import text_size as _text_size

if TYPE_CHECKING:
    from matplotlib.artist import Artist

TWH_PER_YEAR_TO_GW = float(ureg.Quantity(1.0, "TWh/year").to("GW").magnitude)
"""TWh per year -> average GW, over the model's Julian year of 365.25 days (model/units.py)."""


def _years(ds: xr.Dataset) -> np.ndarray:
    return ds["year"].values.astype(int)


def _series(ds: xr.Dataset, name: str, scenario: str) -> np.ndarray:
    return np.asarray(ds[name].sel(scenario=scenario).values, dtype=float)


def _year_axis(ax, years: np.ndarray, ticks: int = 8) -> None:
    ax.set_xlabel("year")
    step = max(1, int(np.ceil(len(years) / ticks)))
    ax.set_xticks(years[::-1][::step][::-1])
    ax.set_xlim(years[0], years[-1])


def _name(scenario: str, baseline: str, titles: dict[str, str] | None) -> str:
    """A scenario as a reader knows it: its title, marked when it is the baseline."""
    title = plain((titles or {}).get(scenario, scenario))
    return (f"{title} (baseline)" if scenario == baseline and "baseline" not in title.lower()
            else title)


def _the_baseline(baseline: str, titles: dict[str, str] | None) -> str:
    title = plain((titles or {}).get(baseline, baseline))
    return "the baseline" if title.lower() == "baseline" else f"the baseline ({title})"


def _range_text(values: np.ndarray, years: np.ndarray, unit: str) -> str:
    return f"{fmt(values[0])} {unit} in {years[0]} to {fmt(values[-1])} {unit} in {years[-1]}"


# --- electricity, capacity, water, carbon -------------------------------------------------------

DRIVERS = (
    ("conventional_facility_energy", "conventional load"),
    ("ai_training_energy", "AI training"),
    ("ai_inference_energy", "AI inference"),
)


def electricity_by_driver(ds: xr.Dataset, scenarios: Sequence[str], baseline: str,
                          source: str, titles: dict[str, str] | None = None) -> Chart:
    """Stacked electricity by driver, one panel per scenario, its total written at the end,
    the baseline's total dashed on the others; one legend above the panels."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    plt = _pyplot()
    years = _years(ds)
    fig, axes = _panels(plt, len(scenarios))
    base_total = _series(ds, "facility_energy", baseline)
    top = max(float(np.nanmax(_series(ds, "facility_energy", s))) for s in scenarios)
    alt_parts, names = [], [label for _, label in DRIVERS]
    for ax, scenario in zip(axes, scenarios, strict=True):
        layers = [_series(ds, name, scenario) for name, _ in DRIVERS]
        rest = _series(ds, "facility_energy", scenario) - np.sum(layers, axis=0)
        if np.max(np.abs(rest)) > 1e-3 * top:  # drivers that the catalogue does not split out
            layers.append(rest)
            if len(names) == len(DRIVERS):
                names.append("other")
        stacks = ax.stackplot(years, *layers, colors=GREYS[:len(layers)], edgecolor=INK,
                              linewidth=0.5)
        for poly, hatch in zip(stacks, HATCHES, strict=False):
            poly.set_hatch(hatch)
        if scenario != baseline:
            ax.plot(years, base_total, color=INK, linestyle="--", linewidth=1.4)
        total = np.sum(layers, axis=0)
        ax.annotate(f"{fmt(total[-1])} TWh", (years[-1], total[-1]), xytext=(-2, 3),
                    textcoords="offset points", ha="right", va="bottom", fontsize=LABEL_SIZE,
                    fontweight="bold", color=INK,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0, "alpha": 0.85})
        ax.set_title(_name(scenario, baseline, titles), fontsize=9)
        _year_axis(ax, years, 4)
        alt_parts.append(f"{_name(scenario, baseline, titles)}: total "
                         f"{_range_text(total, years, 'TWh')}, of which AI inference "
                         f"{fmt(layers[2][-1])} TWh and training {fmt(layers[1][-1])} TWh in "
                         f"{years[-1]}")
    axes[0].set_ylabel("electricity, TWh per year")
    axes[0].set_ylim(0, top * 1.15)
    handles: list[Artist] = [Patch(facecolor=GREYS[i], edgecolor=INK, hatch=HATCHES[i],
                                   linewidth=0.5) for i in range(len(names))]
    labels = list(names)
    if len(scenarios) > 1:
        handles.append(Line2D([], [], color=INK, linestyle="--", linewidth=1.4))
        labels.append(f"total of {_the_baseline(baseline, titles)}")
    _legend_above(fig, handles, labels, len(labels))
    alt = (f"Stacked area charts, one per scenario, of US data-centre electricity by driver "
           f"(conventional load, AI training, AI inference), {years[0]}-{years[-1]}, in TWh per "
           f"year, with the baseline total as a dashed line. " + "; ".join(alt_parts) + ".")
    return Chart("electricity", "Electricity by driver", _svg(fig), alt, source)


def demand_capacity(ds: xr.Dataset, scenarios: Sequence[str], baseline: str,
                    source: str, titles: dict[str, str] | None = None) -> Chart:
    """Average power demanded and delivered against operating capacity, deferred load hatched
    and its worst year said under each panel's title; one legend above the panels."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    plt = _pyplot()
    years = _years(ds)
    fig, axes = _panels(plt, len(scenarios), height=3.2)
    fig.subplots_adjust(top=0.82)
    base_capacity = _series(ds, "operating_capacity", baseline)
    alt_parts = []
    top = 0.0
    for ax, scenario in zip(axes, scenarios, strict=True):
        demand = _series(ds, "facility_energy_demand", scenario) * TWH_PER_YEAR_TO_GW
        served = _series(ds, "facility_energy", scenario) * TWH_PER_YEAR_TO_GW
        capacity = _series(ds, "operating_capacity", scenario)
        top = max(top, float(np.max(capacity)), float(np.max(demand)))
        ax.fill_between(years, served, demand, where=demand > served * (1 + 1e-9),
                        facecolor="white", edgecolor=INK, hatch="xxx", linewidth=0,
                        interpolate=True)
        ax.plot(years, capacity, color=GREYS[0], linewidth=2.0, marker="s", markersize=3)
        ax.plot(years, demand, color=INK, linewidth=1.2, linestyle=":")
        ax.plot(years, served, color=GREYS[3], linewidth=1.6)
        if scenario != baseline:
            ax.plot(years, base_capacity, color=INK, linewidth=1.0, linestyle="--")
        deferred = _series(ds, "deferred_load", scenario)
        worst = int(np.argmax(deferred))
        note = (f"deferred: {fmt(deferred[worst])} GW in {years[worst]}"
                if deferred[worst] > 0 else "no load deferred")
        ax.set_title(f"{_name(scenario, baseline, titles)}\n{note}", fontsize=9)
        _year_axis(ax, years, 4)
        alt_parts.append(f"{_name(scenario, baseline, titles)}: capacity "
                         f"{_range_text(capacity, years, 'GW')}; average demand "
                         f"{fmt(demand[-1])} GW and delivered {fmt(served[-1])} GW in "
                         f"{years[-1]}; deferred load at most {fmt(float(deferred.max()))} GW")
    axes[0].set_ylabel("power, GW (capacity on 1 January;\nenergy as average draw)")
    axes[0].set_ylim(0, top * 1.08)
    handles = [Line2D([], [], color=GREYS[0], linewidth=2.0, marker="s", markersize=3),
               Line2D([], [], color=INK, linewidth=1.2, linestyle=":"),
               Line2D([], [], color=GREYS[3], linewidth=1.6),
               Patch(facecolor="white", edgecolor=INK, hatch="xxx", linewidth=0)]
    labels = ["operating capacity (1 Jan)", "demand (average)", "delivered (average)",
              "deferred"]
    if len(scenarios) > 1:
        handles.append(Line2D([], [], color=INK, linewidth=1.0, linestyle="--"))
        labels.append(f"capacity of {_the_baseline(baseline, titles)}")
    _legend_above(fig, handles, labels, len(labels) if len(scenarios) > 1 else 3)
    alt = ("Line charts, one per scenario, of operating data-centre capacity against the average "
           "power demanded and delivered, in GW, with deferred load hatched and the baseline's "
           "capacity dashed. " + "; ".join(alt_parts) + ".")
    return Chart("capacity", "Demand against capacity", _svg(fig), alt, source)


def water(ds: xr.Dataset, scenarios: Sequence[str], baseline: str, years: Sequence[int],
          source: str, titles: dict[str, str] | None = None) -> Chart:
    """Horizontal stacked bars of on-site and power-plant water, one panel per key year, one
    bar per scenario, each bar's total (and its on-site part) written at its end."""
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    n = len(scenarios)
    fig, axes = plt.subplots(1, len(years), figsize=(3.3 * len(years) + 1.6, 0.42 * n + 1.3),
                             sharey=True, squeeze=False)
    fig.subplots_adjust(wspace=0.08, top=0.78 if n > 1 else 0.7)
    axes = axes[0]
    rows = np.arange(n)[::-1]
    onsite = np.array([[float(ds["onsite_water"].sel(scenario=s, year=y)) for y in years]
                       for s in scenarios])
    plant = np.array([[float(ds["indirect_water"].sel(scenario=s, year=y)) for y in years]
                      for s in scenarios])
    texts = [[f"{fmt(o + p)} (on site {fmt(o)})" for o, p in zip(orow, prow, strict=True)]
             for orow, prow in zip(onsite, plant, strict=True)]
    widths = [[_text_size(fig, t, LABEL_SIZE - 0.5)[0] for t in row] for row in texts]
    for j, (ax, year) in enumerate(zip(axes, years, strict=True)):
        for i, scenario in enumerate(scenarios):
            style = "--" if scenario == baseline else "-"
            ax.barh(rows[i], onsite[i, j], 0.62, color=GREYS[0], edgecolor=INK,
                    linewidth=0.6, linestyle=style)
            ax.barh(rows[i], plant[i, j], 0.62, left=onsite[i, j], color=GREYS[2],
                    edgecolor=INK, hatch="//", linewidth=0.6, linestyle=style)
        ax.set_title(str(year), fontsize=9)
        ax.set_xlabel("billion litres per year")
        ax.tick_params(axis="x", labelsize=7.5)
    for ax in axes:
        ax.set_xlim(0, float(np.max(onsite + plant)) * 1.05)
    for j, ax in enumerate(axes):
        _fit_right(ax, list(onsite[:, j] + plant[:, j]), [w[j] for w in widths])
    right = max(ax.get_xlim()[1] for ax in axes)
    for j, ax in enumerate(axes):
        ax.set_xlim(0, right)
        for i in range(n):
            ax.annotate(texts[i][j], (onsite[i, j] + plant[i, j], rows[i]),
                        xytext=(LABEL_PAD_PT, 0), textcoords="offset points", va="center",
                        fontsize=LABEL_SIZE - 0.5, color=INK)
        ax.xaxis.set_major_locator(MaxNLocator(3))
    axes[0].set_yticks(rows, [_name(s, baseline, titles) for s in scenarios])
    axes[0].set_ylim(-0.6, n - 0.4)
    _legend_above(fig, [Patch(facecolor=GREYS[0], edgecolor=INK, linewidth=0.6),
                        Patch(facecolor=GREYS[2], edgecolor=INK, hatch="//", linewidth=0.6)],
                  ["on site (data centres)", "at power plants (generating their electricity)"],
                  2)
    alt_parts = [f"{_name(s, baseline, titles)}: " + ", ".join(
        f"{y} on-site {fmt(onsite[i, j])} and power-plant {fmt(plant[i, j])} billion litres"
        for j, y in enumerate(years)) for i, s in enumerate(scenarios)]
    alt = ("Horizontal stacked bar charts of water consumed, in billion litres per year, one "
           "panel per year and one bar per scenario (the baseline with a dashed outline), split "
           "into on-site water (solid) and water consumed at power plants (hatched), each "
           "bar's total and on-site part written at its end. " + "; ".join(alt_parts) + ".")
    return Chart("water", "Water: on site and at power plants", _svg(fig), alt, source)


def lines(ds: xr.Dataset, panels: Sequence[tuple[str, str]], scenarios: Sequence[str],
          baseline: str, *, key: str, title: str, ylabel: str, unit: str, what: str,
          source: str, titles: dict[str, str] | None = None) -> Chart:
    """Outputs over time, one panel per (output, panel title), one directly labelled line per
    scenario, the baseline thick grey; the panels share their y axis."""
    plt = _pyplot()
    years = _years(ds)
    fig, axes = _panels(plt, len(panels), height=3.2, width=4.4)
    top = max(float(np.nanmax(_series(ds, output, s))) for output, _ in panels
              for s in scenarios)
    axes[0].set_ylim(bottom=0, top=top * 1.1)
    axes[0].set_ylabel(ylabel)
    alt_parts = []
    for ax, (output, panel) in zip(axes, panels, strict=True):
        ends = []
        for i, scenario in enumerate(scenarios):
            values = _series(ds, output, scenario)
            if scenario == baseline:
                ax.plot(years, values, color=GREYS[3], linewidth=3.0, alpha=0.8)
            else:
                ax.plot(years, values, color=INK, linewidth=1.3, linestyle=LINESTYLES[i % 6],
                        marker=MARKERS[i % 6], markersize=3.5)
            ends.append((values[-1], f"{_name(scenario, baseline, titles)} {fmt(values[-1])}"))
            alt_parts.append(f"{panel}, {_name(scenario, baseline, titles)} "
                             f"{_range_text(values, years, unit)}")
        _year_axis(ax, years, 4)
        if len(panels) > 1:
            ax.set_title(plain(panel), fontsize=9)
        end_labels(ax, float(years[-1]), ends)
    alt = (f"Line chart{'s' if len(panels) > 1 else ''} of {what}, {years[0]}-{years[-1]}, one "
           "labelled line per scenario, the baseline thick grey: " + "; ".join(alt_parts) + ".")
    return Chart(key, title, _svg(fig), alt, source)


def fan(ranges: dict[str, xr.Dataset], ds: xr.Dataset, scenarios: Sequence[str], baseline: str,
        output: str, outer: tuple[float, float], source: str,
        titles: dict[str, str] | None = None) -> Chart:
    """Percentile bands of ``output`` per scenario, its own run on it, the baseline run dashed;
    the end year's range under each panel's title, one legend above the panels."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    plt = _pyplot()
    years = _years(ds)
    fig, axes = _panels(plt, len(scenarios), height=3.2)
    fig.subplots_adjust(top=0.82)
    low, high = outer
    base_run = _series(ds, output, baseline)
    top = max(float(ranges[s][output].sel(percentile=high, year=list(years)).max())
              for s in scenarios)
    alt_parts = []
    for ax, scenario in zip(axes, scenarios, strict=True):
        band = ranges[scenario][output].sel(year=list(years))
        p_low, p_high = band.sel(percentile=low).values, band.sel(percentile=high).values
        q1, q3 = band.sel(percentile=25.0).values, band.sel(percentile=75.0).values
        run = _series(ds, output, scenario)
        ax.fill_between(years, p_low, p_high, facecolor=GREYS[2], edgecolor=GREYS[1],
                        hatch="..", linewidth=0.5)
        ax.fill_between(years, q1, q3, facecolor=GREYS[1], edgecolor=GREYS[0], linewidth=0.5)
        ax.plot(years, run, color=INK, linewidth=1.6)
        if scenario != baseline:
            ax.plot(years, base_run, color=INK, linewidth=1.1, linestyle="--")
        ax.set_title(f"{_name(scenario, baseline, titles)}\n{years[-1]}: {fmt(p_low[-1])}-"
                     f"{fmt(p_high[-1])} TWh", fontsize=9)
        _year_axis(ax, years, 4)
        alt_parts.append(f"{_name(scenario, baseline, titles)}: in {years[-1]} the {low:g}th "
                         f"to {high:g}th percentile runs from {fmt(p_low[-1])} to "
                         f"{fmt(p_high[-1])} TWh, the middle half from {fmt(q1[-1])} to "
                         f"{fmt(q3[-1])} TWh, the scenario's own run {fmt(run[-1])} TWh")
    axes[0].set_ylabel("electricity, TWh per year")
    axes[0].set_ylim(0, top * 1.08)
    handles = [Patch(facecolor=GREYS[2], edgecolor=GREYS[1], hatch="..", linewidth=0.5),
               Patch(facecolor=GREYS[1], edgecolor=GREYS[0], linewidth=0.5),
               Line2D([], [], color=INK, linewidth=1.6)]
    labels = [f"{low:g}th-{high:g}th percentile", "25th-75th percentile", "the scenario's run"]
    if len(scenarios) > 1:
        handles.append(Line2D([], [], color=INK, linewidth=1.1, linestyle="--"))
        labels.append(f"run of {_the_baseline(baseline, titles)}")
    _legend_above(fig, handles, labels, len(labels))
    alt = (f"Fan charts, one per scenario, of US data-centre electricity in TWh per year, "
           f"{years[0]}-{years[-1]}: a dotted band from the {low:g}th to the {high:g}th "
           "percentile of the ensemble, a darker band for the middle half, the scenario's own "
           "run as a solid line and the baseline's run dashed. " + "; ".join(alt_parts) + ".")
    return Chart("fan", "Uncertainty: the spread of electricity", _svg(fig), alt, source)


# --- which assumptions matter -------------------------------------------------------------------

def tornado(ax, low: np.ndarray, high: np.ndarray, run: float, names: Sequence[str], *,
            marks: Sequence[tuple[str, float, str]] = (), size: float = LABEL_SIZE - 0.5,
            value: Callable[[float], str] = fmt) -> None:
    """Bars from the output with each input at the low end of its range to the output at the
    high end (hatched where the high end gives less), the value at each end written beside
    it, and vertical lines at ``run`` (the scenario's own value) and at each of ``marks``
    (label, value, line style), labelled above the panel in rows of their own."""
    fig = ax.figure
    y = np.arange(len(names))
    for yi, lo, hi in zip(y, low, high, strict=True):
        ax.barh(yi, hi - lo, 0.6, left=lo, color=GREYS[1] if hi >= lo else "white",
                edgecolor=INK, linewidth=0.6, hatch="" if hi >= lo else "//")
    ax.set_yticks(y, [plain(n) for n in names], fontsize=LABEL_SIZE)
    ax.set_ylim(-0.7, len(names) - 0.3)
    left_ends, right_ends = np.minimum(low, high), np.maximum(low, high)
    texts = [(value(lo if lo <= hi else hi), value(hi if lo <= hi else lo))
             for lo, hi in zip(low, high, strict=True)]
    widths = [(_text_size(fig, a, size)[0], _text_size(fig, b, size)[0]) for a, b in texts]
    lines = [(plain(f"{name}: {value(v)}"), v, style)
             for name, v, style in [("the scenario's own run", run, "-"), *marks]]
    xs = [run] + [v for _, v, _ in marks]
    x0, x1 = min(float(left_ends.min()), *xs), max(float(right_ends.max()), *xs)
    span = max(x1 - x0, abs(x1) * 1e-6, 1e-12)
    box = ax.get_window_extent(_renderer(fig))
    pad = LABEL_PAD_PT * fig.dpi / 72
    need_left = max((w + 2 * pad for w, _ in widths), default=0.0)
    need_right = max((w + 2 * pad for _, w in widths), default=0.0)
    scale = span / max(box.width - need_left - need_right, box.width * 0.3)
    ax.set_xlim(x0 - need_left * scale, x1 + need_right * scale)
    for yi, lo_end, hi_end, (a, b) in zip(y, left_ends, right_ends, texts, strict=True):
        ax.annotate(a, (lo_end, yi), xytext=(-LABEL_PAD_PT, 0), textcoords="offset points",
                    ha="right", va="center", fontsize=size, color=INK)
        ax.annotate(b, (hi_end, yi), xytext=(LABEL_PAD_PT, 0), textcoords="offset points",
                    ha="left", va="center", fontsize=size, color=INK)
    for row, (text, v, style) in enumerate(lines):
        ax.axvline(v, color=INK, linewidth=1.0, linestyle=style)
        ax.annotate(text, (v, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(0, 4 + 12 * (len(lines) - 1 - row)), textcoords="offset points",
                    ha="center", va="bottom", fontsize=LABEL_SIZE, color=INK,
                    arrowprops=None)


def sensitivity_ranking(ds: xr.Dataset, output: str, year: int, shown: int, source: str, *,
                        label: Callable[[str], str], scenario: str, quantity: str, unit: str,
                        marks: Sequence[tuple[str, float]] = ()) -> Chart:
    """The inputs that move ``output`` most, one at a time over their stated ranges: a bar
    from the output at each input's low end to its high end, largest first, around the
    scenario's own value (and ``marks``, such as the baseline's value)."""
    plt = _pyplot()
    swing = ds["swing"].sel(output=output, year=year)
    scale = float(np.max(np.abs(swing.values))) if swing.size else 0.0
    moving = np.flatnonzero(np.abs(swing.values) > 1e-9 * max(scale, 1e-300))
    order = moving[np.argsort(-np.abs(swing.values[moving]))][:shown][::-1]
    keys = [str(k) for k in ds["parameter"].values[order]]
    low = ds["low"].sel(output=output, year=year).values[order]
    high = ds["high"].sel(output=output, year=year).values[order]
    run = float(ds["run"].sel(output=output, year=year))
    names = [label(k) for k in keys]
    fig, ax = plt.subplots(figsize=(7.6, 0.36 * len(keys) + 1.5))
    tornado(ax, low, high, run, names,
            marks=[(plain(m), v, "--") for m, v in marks])
    ax.set_xlabel(f"{quantity}, {unit}, with the input at the low end of its range and at "
                  "the high end\n(hatched: the high end gives less)")
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    still = len(swing) - len(moving)
    alt = (f"Horizontal bar chart ranking the inputs of the {scenario} scenario by how much "
           f"{quantity} changes, in {unit}, between the low and the high end of each input's "
           f"stated range ({still} inputs with a stated range do not change it and are left "
           f"out), around the scenario's own value of {fmt(run)} {unit}"
           + "".join(f" and {m} at {fmt(v)} {unit}" for m, v in marks) + ": " + "; ".join(
               f"{n} from {fmt(lo)} to {fmt(hi)} {unit}"
               for n, lo, hi in zip(names[::-1], low[::-1], high[::-1], strict=True)) + ".")
    return Chart("sensitivity", f"Which assumptions matter most: {quantity}, {unit}",
                 _svg(fig), alt, source)
