"""The briefing's charts, drawn by matplotlib from a compared run (dims scenario, year[, workload]).

Every chart shows the baseline scenario, names its units on every axis, labels its lines and
areas directly (with line styles and hatching, so it reads in grey), and comes with alt text
and a source line. Charts are SVG, embedded in the page as data URIs. matplotlib is imported
here only, and this module only by ``projection brief``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from projection.model.units import ureg
from projection.validation.references import fmt as _fmt

TWH_PER_YEAR_TO_GW = float(ureg.Quantity(1.0, "TWh/year").to("GW").magnitude)
"""TWh per year -> average GW, over the model's Julian year of 365.25 days (model/units.py)."""

INK = "#1a1a1a"
GREYS = ("#3b4a6b", "#8fa3c7", "#d9e1ef", "#6b6b6b")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)))
MARKERS = ("o", "s", "^", "D", "v", "P")
HATCHES = ("", "//", "..", "xx", "\\\\", "++")


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


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "svg.fonttype": "none",  # text stays text: searchable, small
        "svg.hashsalt": "projection",  # same inputs, same SVG ids
        "font.family": "sans-serif",
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


def _svg(fig) -> str:
    plt = _pyplot()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _years(ds: xr.Dataset) -> np.ndarray:
    return ds["year"].values.astype(int)


def _series(ds: xr.Dataset, name: str, scenario: str) -> np.ndarray:
    return np.asarray(ds[name].sel(scenario=scenario).values, dtype=float)


def _year_axis(ax, years: np.ndarray, ticks: int = 8) -> None:
    ax.set_xlabel("year")
    step = max(1, int(np.ceil(len(years) / ticks)))
    ax.set_xticks(years[::-1][::step][::-1])
    ax.set_xlim(years[0], years[-1] + 0.9 * max(1, len(years) / 7))


def _label_end(ax, x: float, y: float, text: str, **kw) -> None:
    ax.annotate(text, (x, y), xytext=(4, 0), textcoords="offset points", va="center",
                fontsize=8, color=INK, **kw)


def _panel_title(scenario: str, baseline: str) -> str:
    return f"{scenario} (baseline)" if scenario == baseline and scenario != "baseline" \
        else scenario


def _spread(values: Sequence[float], gap: float) -> list[float]:
    """Label heights moved apart by at least ``gap`` so that direct labels do not overlap."""
    order = np.argsort(values)
    placed = np.asarray(values, dtype=float)[order].copy()
    for i in range(1, len(placed)):
        placed[i] = max(placed[i], placed[i - 1] + gap)
    out = np.empty_like(placed)
    out[order] = placed
    return out.tolist()


def _range_text(values: np.ndarray, years: np.ndarray, unit: str) -> str:
    return f"{fmt(values[0])} {unit} in {years[0]} to {fmt(values[-1])} {unit} in {years[-1]}"


DRIVERS = (
    ("conventional_facility_energy", "conventional load"),
    ("ai_training_energy", "AI training"),
    ("ai_inference_energy", "AI inference"),
)


def electricity_by_driver(ds: xr.Dataset, scenarios: Sequence[str], baseline: str,
                          source: str) -> Chart:
    """Stacked electricity by driver, one panel per scenario, baseline total dashed on each."""
    plt = _pyplot()
    years = _years(ds)
    fig, axes = plt.subplots(1, len(scenarios), figsize=(3.4 * len(scenarios) + 0.6, 3.3),
                             sharey=True, squeeze=False)
    base_total = _series(ds, "facility_energy", baseline)
    top = max(float(np.nanmax(_series(ds, "facility_energy", s))) for s in scenarios)
    alt_parts = []
    for ax, scenario in zip(axes[0], scenarios, strict=True):
        layers = [_series(ds, name, scenario) for name, _ in DRIVERS]
        names = [label for _, label in DRIVERS]
        rest = _series(ds, "facility_energy", scenario) - np.sum(layers, axis=0)
        if np.max(np.abs(rest)) > 1e-3 * top:  # drivers that the catalogue does not split out
            layers.append(rest)
            names.append("other")
        stacks = ax.stackplot(years, *layers, colors=GREYS[:len(layers)], edgecolor=INK,
                              linewidth=0.5)
        for poly, hatch in zip(stacks, HATCHES, strict=False):
            poly.set_hatch(hatch)
        cumulative = np.cumsum([layer[-1] for layer in layers])
        mids = [c - layer[-1] / 2 for c, layer in zip(cumulative, layers, strict=True)]
        labels = list(names)
        ax.plot(years, base_total, color=INK, linestyle="--", linewidth=1.4)
        if scenario != baseline:
            mids.append(base_total[-1])
            labels.append("baseline total")
        for label, y in zip(labels, _spread(mids, 0.08 * top), strict=True):
            _label_end(ax, years[-1], y, label)
        ax.set_title(_panel_title(scenario, baseline), fontsize=9)
        _year_axis(ax, years, 4)
        ax.set_xlim(years[0], years[-1] + 0.55 * (years[-1] - years[0]))
        total = np.sum(layers, axis=0)
        alt_parts.append(f"{scenario}: total {_range_text(total, years, 'TWh')}, of which AI "
                         f"inference "
                         f"{fmt(layers[2][-1])} TWh and training {fmt(layers[1][-1])} TWh in "
                         f"{years[-1]}")
    axes[0][0].set_ylabel("electricity, TWh per year")
    axes[0][0].set_ylim(0, top * 1.12)
    alt = (f"Stacked area charts, one per scenario, of US data-centre electricity by driver "
           f"(conventional load, AI training, AI inference), {years[0]}-{years[-1]}, in TWh per "
           f"year, with the baseline total as a dashed line. " + "; ".join(alt_parts) + ".")
    return Chart("electricity", "Electricity by driver", _svg(fig), alt, source)


def demand_capacity(ds: xr.Dataset, scenarios: Sequence[str], baseline: str,
                    source: str) -> Chart:
    """Average power demanded and delivered against operating capacity, deferred hatched."""
    plt = _pyplot()
    years = _years(ds)
    fig, axes = plt.subplots(1, len(scenarios), figsize=(3.4 * len(scenarios) + 0.6, 3.3),
                             sharey=True, squeeze=False)
    base_capacity = _series(ds, "operating_capacity", baseline)
    alt_parts = []
    for ax, scenario in zip(axes[0], scenarios, strict=True):
        demand = _series(ds, "facility_energy_demand", scenario) * TWH_PER_YEAR_TO_GW
        served = _series(ds, "facility_energy", scenario) * TWH_PER_YEAR_TO_GW
        capacity = _series(ds, "operating_capacity", scenario)
        ax.fill_between(years, served, demand, where=demand > served * (1 + 1e-9),
                        facecolor="white", edgecolor=INK, hatch="xxx", linewidth=0,
                        interpolate=True)
        ax.plot(years, capacity, color=GREYS[0], linewidth=2.0, marker="s", markersize=3)
        ax.plot(years, demand, color=INK, linewidth=1.2, linestyle=":")
        ax.plot(years, served, color=GREYS[3], linewidth=1.6)
        if scenario != baseline:
            ax.plot(years, base_capacity, color=INK, linewidth=1.0, linestyle="--")
        top = max(capacity[-1], demand[-1])
        labels = [(capacity[-1], "operating capacity (1 Jan)")]
        if demand[-1] > served[-1] * (1 + 1e-6):
            labels += [(demand[-1], "demand (average)"), (served[-1], "delivered (average)")]
        else:
            labels += [(served[-1], "demand, all served")]
        if scenario != baseline:
            labels.append((base_capacity[-1], "baseline capacity"))
        heights = _spread([h for h, _ in labels], 0.08 * top)
        for (_, text), y in zip(labels, heights, strict=True):
            _label_end(ax, years[-1], y, text)
        deferred = _series(ds, "deferred_load", scenario)
        if np.any(deferred > 0):
            worst = int(np.argmax(deferred))
            ax.annotate(f"deferred (hatched):\n{fmt(deferred[worst])} GW in {years[worst]}",
                        (years[worst], (demand[worst] + served[worst]) / 2),
                        xytext=(0.04, 0.97), textcoords="axes fraction", va="top", fontsize=7.5,
                        arrowprops={"arrowstyle": "->", "color": INK, "lw": 0.7})
        ax.set_title(_panel_title(scenario, baseline), fontsize=9)
        _year_axis(ax, years, 4)
        ax.set_xlim(years[0], years[-1] + 0.7 * (years[-1] - years[0]))
        alt_parts.append(f"{scenario}: capacity {_range_text(capacity, years, 'GW')}; average "
                         f"demand "
                         f"{fmt(demand[-1])} GW and delivered {fmt(served[-1])} GW in {years[-1]};"
                         f" deferred load at most {fmt(float(deferred.max()))} GW")
    axes[0][0].set_ylabel("power, GW (capacity on 1 January;\nenergy as average draw)")
    axes[0][0].set_ylim(bottom=0)
    alt = ("Line charts, one per scenario, of operating data-centre capacity against the average "
           "power demanded and delivered, in GW, with deferred load hatched and the baseline's "
           "capacity dashed. " + "; ".join(alt_parts) + ".")
    return Chart("capacity", "Demand against capacity", _svg(fig), alt, source)


def water(ds: xr.Dataset, scenarios: Sequence[str], baseline: str, years: Sequence[int],
          source: str) -> Chart:
    """Stacked bars of on-site and power-plant water for the key years, one bar per scenario."""
    plt = _pyplot()
    n = len(scenarios)
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(max(5.5, 1.3 * n * len(years) + 1.5), 3.5))
    alt_parts = []
    top = max(float(ds["onsite_water"].sel(scenario=s, year=y) + ds["indirect_water"].sel(
        scenario=s, year=y)) for s in scenarios for y in years)
    for i, scenario in enumerate(scenarios):
        x = np.arange(len(years)) + (i - (n - 1) / 2) * width
        onsite = np.array([float(ds["onsite_water"].sel(scenario=scenario, year=y))
                           for y in years])
        plant = np.array([float(ds["indirect_water"].sel(scenario=scenario, year=y))
                          for y in years])
        edge = INK
        ax.bar(x, onsite, width * 0.92, color=GREYS[0], edgecolor=edge, linewidth=0.6,
               linestyle="--" if scenario == baseline else "-")
        ax.bar(x, plant, width * 0.92, bottom=onsite, color=GREYS[2], edgecolor=edge,
               hatch="//", linewidth=0.6, linestyle="--" if scenario == baseline else "-")
        for xi, total in zip(x, onsite + plant, strict=True):
            name = _panel_title(scenario, baseline)
            ax.text(xi, total + 0.02 * top, name, ha="center", va="bottom", fontsize=6.5,
                    rotation=90)
        alt_parts.append(f"{scenario}: " + ", ".join(
            f"{y} on-site {fmt(o)} and power-plant {fmt(p)} billion litres"
            for y, o, p in zip(years, onsite, plant, strict=True)))
    ax.set_xticks(np.arange(len(years)), [str(y) for y in years])
    ax.set_xlabel("year")
    ax.set_ylabel("water consumed, billion litres per year")
    ax.set_ylim(0, top * 1.45)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(facecolor=GREYS[0], edgecolor=INK, label="on-site (data centres)"),
                       Patch(facecolor=GREYS[2], edgecolor=INK, hatch="//",
                             label="power plants (generating their electricity)")],
              loc="upper left", fontsize=8, frameon=False)
    alt = ("Stacked bar chart of water consumed, in billion litres per year, split into on-site "
           "water (solid, lower part) and water consumed at power plants (hatched, upper part), "
           "for each scenario including the baseline (dashed outline). "
           + "; ".join(alt_parts) + ".")
    return Chart("water", "Water: on-site and at power plants", _svg(fig), alt, source)


def lines(ds: xr.Dataset, panels: Sequence[tuple[str, str]], scenarios: Sequence[str],
          baseline: str, *, key: str, title: str, ylabel: str, unit: str, what: str,
          source: str) -> Chart:
    """Outputs over time, one panel per (output, panel title), one directly labelled line per
    scenario, the baseline thick grey; the panels share their y axis."""
    plt = _pyplot()
    years = _years(ds)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels) + 0.8, 3.4),
                             sharey=True, squeeze=False)
    top = max(float(np.nanmax(_series(ds, output, s))) for output, _ in panels
              for s in scenarios)
    alt_parts = []
    for ax, (output, panel) in zip(axes[0], panels, strict=True):
        ends = []
        for i, scenario in enumerate(scenarios):
            values = _series(ds, output, scenario)
            if scenario == baseline:
                ax.plot(years, values, color=GREYS[3], linewidth=3.0, alpha=0.8)
            else:
                ax.plot(years, values, color=INK, linewidth=1.3, linestyle=LINESTYLES[i % 6],
                        marker=MARKERS[i % 6], markersize=3.5)
            ends.append((values[-1], _panel_title(scenario, baseline)))
            alt_parts.append(f"{panel}, {scenario} {_range_text(values, years, unit)}")
        for (_, text), y in zip(ends, _spread([v for v, _ in ends], 0.06 * top), strict=True):
            _label_end(ax, years[-1], y, text)
        _year_axis(ax, years, 4)
        ax.set_xlim(years[0], years[-1] + 0.55 * (years[-1] - years[0]))
        if len(panels) > 1:
            ax.set_title(panel, fontsize=9)
    axes[0][0].set_ylim(bottom=0, top=top * 1.1)
    axes[0][0].set_ylabel(ylabel)
    alt = (f"Line chart{'s' if len(panels) > 1 else ''} of {what}, {years[0]}-{years[-1]}, one "
           "labelled line per scenario, the baseline thick grey: " + "; ".join(alt_parts) + ".")
    return Chart(key, title, _svg(fig), alt, source)


def fan(ranges: dict[str, xr.Dataset], ds: xr.Dataset, scenarios: Sequence[str], baseline: str,
        output: str, outer: tuple[float, float], source: str) -> Chart:
    """Percentile bands of ``output`` per scenario, its own run on it, the baseline run dashed."""
    plt = _pyplot()
    years = _years(ds)
    fig, axes = plt.subplots(1, len(scenarios), figsize=(3.4 * len(scenarios) + 0.6, 3.3),
                             sharey=True, squeeze=False)
    low, high = outer
    base_run = _series(ds, output, baseline)
    top = max(float(ranges[s][output].sel(percentile=high, year=list(years)).max())
              for s in scenarios)
    alt_parts = []
    for ax, scenario in zip(axes[0], scenarios, strict=True):
        band = ranges[scenario][output].sel(year=list(years))
        p_low, p_high = band.sel(percentile=low).values, band.sel(percentile=high).values
        q1, q3 = band.sel(percentile=25.0).values, band.sel(percentile=75.0).values
        run = _series(ds, output, scenario)
        ax.fill_between(years, p_low, p_high, facecolor=GREYS[2], edgecolor=GREYS[1],
                        hatch="..", linewidth=0.5)
        ax.fill_between(years, q1, q3, facecolor=GREYS[1], edgecolor=GREYS[0], linewidth=0.5)
        ax.plot(years, run, color=INK, linewidth=1.6)
        labels = [(p_high[-1], f"{high:g}th percentile"), (q3[-1], "75th"), (run[-1], "run"),
                  (q1[-1], "25th"), (p_low[-1], f"{low:g}th")]
        if scenario != baseline:
            ax.plot(years, base_run, color=INK, linewidth=1.1, linestyle="--")
            labels.append((base_run[-1], "baseline run"))
        for (_, text), y in zip(labels, _spread([h for h, _ in labels], 0.06 * top),
                                strict=True):
            _label_end(ax, years[-1], y, text)
        ax.set_title(_panel_title(scenario, baseline), fontsize=9)
        _year_axis(ax, years, 4)
        ax.set_xlim(years[0], years[-1] + 0.6 * (years[-1] - years[0]))
        alt_parts.append(f"{scenario}: in {years[-1]} the {low:g}th to {high:g}th percentile "
                         f"runs from {fmt(p_low[-1])} to {fmt(p_high[-1])} TWh, the middle half "
                         f"from {fmt(q1[-1])} to {fmt(q3[-1])} TWh, the scenario's own run "
                         f"{fmt(run[-1])} TWh")
    axes[0][0].set_ylabel("electricity, TWh per year")
    axes[0][0].set_ylim(0, top * 1.08)
    alt = (f"Fan charts, one per scenario, of US data-centre electricity in TWh per year, "
           f"{years[0]}-{years[-1]}: a dotted band from the {low:g}th to the {high:g}th "
           "percentile of the ensemble, a darker band for the middle half, the scenario's own "
           "run as a solid line and the baseline's run dashed. " + "; ".join(alt_parts) + ".")
    return Chart("fan", "Uncertainty: the spread of electricity", _svg(fig), alt, source)


def sensitivity_ranking(found: dict[str, xr.Dataset], lead: str, baseline: str, output: str,
                        year: int, shown: int, source: str) -> Chart:
    """Horizontal bars of each input's one-at-a-time swing, largest first; the baseline's swing
    for the same input drawn as an outlined bar beneath."""
    plt = _pyplot()
    ds = found[lead]
    swing = ds["swing"].sel(output=output, year=year)
    scale = float(np.max(np.abs(swing.values))) if swing.size else 0.0
    moving = np.flatnonzero(np.abs(swing.values) > 1e-9 * max(scale, 1e-300))
    order = moving[np.argsort(-np.abs(swing.values[moving]))][:shown][::-1]
    keys = [str(k) for k in ds["parameter"].values[order]]
    values = swing.values[order]
    base = found.get(baseline)
    fig, ax = plt.subplots(figsize=(7.2, 0.42 * len(keys) + 1.2))
    y = np.arange(len(keys))
    height = 0.38 if base is not None and lead != baseline else 0.7
    ax.barh(y + (height / 2 if height < 0.5 else 0), values, height, color=GREYS[0],
            edgecolor=INK, linewidth=0.5)
    span = max(float(np.max(np.abs(values))), 1e-12)
    for yi, v in zip(y, values, strict=True):
        ax.annotate(f"{'+' if v > 0 else ''}{fmt(v)}", (v, yi + (height / 2 if height < 0.5
                                                                  else 0)),
                    xytext=(3 if v >= 0 else -3, 0), textcoords="offset points",
                    ha="left" if v >= 0 else "right", va="center", fontsize=7.5)
    alt_base = ""
    if height < 0.5 and base is not None:
        base_swing = base["swing"].sel(output=output, year=year)
        known = [str(k) for k in base["parameter"].values]
        base_values = np.array([float(base_swing.sel(parameter=k)) if k in known else np.nan
                                for k in keys])
        ax.barh(y - height / 2, np.nan_to_num(base_values), height, facecolor="white",
                edgecolor=INK, hatch="//", linewidth=0.6)
        ax.set_title(f"upper, solid bar: {lead}; lower, hatched bar: {baseline} (baseline)",
                     fontsize=8, loc="right")
        alt_base = (" Beneath each, the baseline's swing for the same input: "
                    + "; ".join(f"{k} {fmt(v)} TWh" for k, v in zip(keys, base_values,
                                                                     strict=True)
                                if np.isfinite(v)) + ".")
    ax.axvline(0, color=INK, linewidth=0.8)
    ax.set_yticks(y, keys, fontsize=8)
    ax.set_xlim(-1.25 * span if np.any(values < 0) else 0, 1.25 * span)
    ax.set_xlabel(f"change in {year} data-centre electricity, TWh per year\n(input at the high "
                  "end of its range minus at the low end)")
    still = len(swing) - len(moving)
    alt = (f"Horizontal bar chart ranking the inputs of the {lead} scenario by how much "
           f"{year} data-centre electricity changes, in TWh per year, between the low and the "
           f"high end of each input's declared range ({still} inputs with a declared range do "
           "not change it and are left out): " + "; ".join(
               f"{k} {'+' if v > 0 else ''}{fmt(v)} TWh" for k, v in zip(keys[::-1],
                                                                         values[::-1],
                                                                         strict=True))
           + "." + alt_base)
    return Chart("sensitivity", "Which assumptions matter most", _svg(fig), alt, source)
