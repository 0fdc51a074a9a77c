"""Headline tables for the terminal: figures a reader can quote, with their units."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from projection.model.labelled import Labelled, Variable, labelled

if TYPE_CHECKING:
    import xarray as xr

LITRES_PER_US_GALLON = 3.785411784
"""Litres in a US liquid gallon: 231 cubic inches of 16.387064 mL (NIST Handbook 44, 2024,
Appendix C); a test checks it against pint."""
HEADLINE_YEARS = (2026, 2028, 2030)
"""Years quoted in every headline table besides the first and the last projected year: 2028
is the year LBNL's 2024 report projects to, 2030 the year most other projections quote."""


@dataclass(frozen=True)
class Headline:
    label: str
    unit: str
    value: Callable[[Labelled], Variable]
    codes: tuple[str, ...] = ()
    """For a variable of codes: the name of each code, printed instead of the number."""
    relative: bool = True
    """Whether a comparison prints the difference in % (never for quantities that are often
    near zero, where a percentage of the base means nothing)."""


def _var(name: str, scale: float = 1.0) -> Callable[[Labelled], Variable]:
    def value(ds: Labelled) -> Variable:
        var = ds[name]
        return Variable(var.dims, var.values * scale, var.attrs)

    return value


BINDING = ("demand", "chip supply", "grid connections", "built capacity", "procurement lead time")
"""How the terminal names each code of ``binding_constraint`` (``results.BINDING_CONSTRAINTS``)."""

HEADLINES: tuple[Headline, ...] = (
    Headline("US data-centre electricity", "TWh", _var("facility_energy")),
    Headline("  demand with no supply limit", "TWh", _var("facility_energy_demand")),
    Headline("  deferred load (average)", "GW", _var("deferred_load"), relative=False),
    Headline("  what binds", "", _var("binding_constraint"), codes=BINDING, relative=False),
    Headline("  of which AI", "TWh", _var("ai_facility_energy")),
    Headline("Share of US electricity", "%", _var("share_of_us_electricity")),
    Headline("AI vs US household electricity", "%", _var("ai_share_of_household_electricity")),
    Headline("Operating capacity (1 Jan)", "GW", _var("operating_capacity")),
    Headline("Data centres (1 Jan)", "number", _var("data_centres")),
    Headline("AI requests per day", "billion", _var("ai_requests_per_day_total", 1e-9)),
    Headline("Energy of one chat request", "Wh", _var("chat_energy_per_request")),
    Headline("Water consumed on site", "billion L", _var("onsite_water")),
    Headline("  at power plants", "billion L", _var("indirect_water")),
    Headline("Water consumed on site", "billion gal",
             _var("onsite_water", 1 / LITRES_PER_US_GALLON)),
    Headline("  at power plants", "billion gal",
             _var("indirect_water", 1 / LITRES_PER_US_GALLON)),
    Headline("Carbon, location-based", "Mt CO2", _var("emissions")),
    Headline("Carbon, market-based", "Mt CO2", _var("emissions_market_based")),
    Headline("Carbon of new load, marginal", "Mt CO2", _var("emissions_new_load")),
    Headline("Grid carbon intensity (1 Jan)", "g CO2/kWh", _var("grid_intensity")),
    Headline("Behind the meter (on-site gas)", "TWh", _var("behind_the_meter_energy")),
)


OUTPUT_LABELS: dict[str, tuple[str, str, float]] = {
    "facility_energy": ("US data-centre electricity", "TWh", 1.0),
    "ai_facility_energy": ("AI data-centre electricity", "TWh", 1.0),
    "share_of_us_electricity": ("Share of US electricity", "%", 1.0),
    "ai_share_of_household_electricity": ("AI vs US household electricity", "%", 1.0),
    "operating_capacity": ("Operating capacity (1 Jan)", "GW", 1.0),
    "data_centres": ("Data centres (1 Jan)", "number", 1.0),
    "ai_requests_per_day_total": ("AI requests per day", "billion", 1e-9),
    "chat_energy_per_request": ("Energy of one chat request", "Wh", 1.0),
    "onsite_water": ("Water consumed on site", "billion L", 1.0),
    "indirect_water": ("Water consumed at power plants", "billion L", 1.0),
    "water_consumption": ("Water consumed, on site and at power plants", "billion L", 1.0),
    "emissions": ("Carbon, location-based", "Mt CO2", 1.0),
    "emissions_market_based": ("Carbon, market-based", "Mt CO2", 1.0),
    "emissions_new_load": ("Carbon of new load, marginal", "Mt CO2", 1.0),
    "grid_intensity": ("Grid carbon intensity (1 Jan)", "g CO2/kWh", 1.0),
    "facility_energy_demand": ("Demand with no supply limit", "TWh", 1.0),
    "deferred_load": ("Deferred load", "GW", 1.0),
    "behind_the_meter_energy": ("Behind the meter (on-site gas)", "TWh", 1.0),
}
"""Output name -> (label, unit, factor from the catalogue's unit), as the run's headline table
words them (``HEADLINES``); tables of the other commands use them too."""
UNIT_WORDS: dict[str, tuple[str, float]] = {
    "percent": ("%", 1.0), "GL": ("billion L", 1.0), "dimensionless": ("", 1.0),
    "data_centre": ("number", 1.0), "accelerator": ("number", 1.0), "household": ("number", 1.0),
    "request/day": ("billion a day", 1e-9), "token/day": ("billion a day", 1e-9),
}
"""A catalogue unit as a reader's table words it, with the factor to that wording."""


def output_label(name: str, unit: str = "") -> tuple[str, str, float]:
    """How a table shows output ``name``: (label, unit, factor from the catalogue's unit); a
    name outside the catalogue keeps its name and ``unit``."""
    if name in OUTPUT_LABELS:
        return OUTPUT_LABELS[name]
    from projection.model.results import OUTPUT_BY_NAME

    out = OUTPUT_BY_NAME.get(name)
    if out is None:
        return name, unit, 1.0
    shown, factor = UNIT_WORDS.get(out.unit, (out.unit, 1.0))
    return out.long_name, shown, factor


def headline_years(years: Sequence[int]) -> list[int]:
    """The first year, 2026, 2028, 2030 and the last year, where projected."""
    first, last = int(years[0]), int(years[-1])
    wanted = [first, *HEADLINE_YEARS, last]
    return sorted({y for y in wanted if first <= y <= last})


def fmt(value: float) -> str:
    if not np.isfinite(value):
        return "-"  # a figure that cannot be known (a region's share with a member unknown)
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _at(ds: Labelled, var: Variable, **where: object) -> Variable:
    """``var`` at the given labels (``year=2030``, ``scenario="baseline"``), those dims dropped."""
    for dim, label in where.items():
        labels = list(ds[dim].values)
        var = var.take(dim, labels.index(label))
    return var


def _cell(h: Headline, value: float) -> str:
    """A headline value as printed: a code's name, or the number."""
    if h.codes and np.isfinite(value):
        return h.codes[int(round(value))]
    return fmt(value)


def _point(var: Variable) -> float:
    if "sample" in var.dims:
        var = var.reduce("sample", np.nanmedian)
    return float(var.values)


def render_table(header: list[str], rows: list[list[str]], left: int = 2) -> str:
    """A plain-text table: the first ``left`` columns aligned left, the rest right; rows may
    be shorter than the header."""
    widths = [max(len(r[i]) if i < len(r) else 0 for r in [header, *rows])
              for i in range(len(header))]
    lines = []
    for row in [header, ["-" * w for w in widths], *rows]:
        cells = [c.ljust(w) if i < left else c.rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=False))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def headline_table(ds: xr.Dataset | Labelled, years: Sequence[int] | None = None,
                   headlines: Sequence[Headline] = HEADLINES) -> str:
    """One scenario: a row per headline figure, a column per year (default: the headline
    years)."""
    ds = labelled(ds)
    years = years or headline_years([int(y) for y in ds["year"].values])
    rows = []
    for h in headlines:
        var = h.value(ds)
        rows.append([h.label, h.unit, *(_cell(h, _point(_at(ds, var, year=y))) for y in years)])
    return render_table(["", "unit", *(str(y) for y in years)], rows)


def headline_values(ds: xr.Dataset | Labelled, years: Sequence[int],
                    scenario: str | None = None,
                    headlines: Sequence[Headline] = HEADLINES) -> list[dict[str, Any]]:
    """The headline figures as records (label, unit, {year: value}), for ``--json``; one
    ``scenario`` of a comparison."""
    ds = labelled(ds)
    where = {} if scenario is None else {"scenario": scenario}
    return [{"label": h.label.strip(), "unit": h.unit,
             "values": {str(y): _known(_point(_at(ds, h.value(ds), year=y, **where)))
                        for y in years}}
            for h in headlines]


def _known(value: float) -> float | None:
    """A value for JSON: null where it cannot be known (JSON has no NaN)."""
    return value if np.isfinite(value) else None


NEAR_ZERO_BASE = 0.1
"""A comparison prints no percentage when the first scenario's value is below this fraction
of the other's: a percentage of a near-zero base (+1,457 %) tells a reader nothing."""


def _difference(value: float, reference: float, relative: bool = True) -> list[str]:
    change = value - reference
    shown = relative and reference and abs(reference) >= NEAR_ZERO_BASE * abs(value)
    percent = f"{change / reference * 100:+.1f} %" if shown else ""
    return [("+" if change >= 0 else "-") + fmt(abs(change)), percent]


def comparison_table(ds: xr.Dataset | Labelled, year: int,
                     headlines: Sequence[Headline] = HEADLINES) -> str:
    """Several scenarios (a ``scenario`` dimension) for one year: a column per scenario and,
    after each but the first, its difference from the first (absolute and in %)."""
    ds = labelled(ds)
    scenarios = [str(s) for s in ds["scenario"].values]
    first = scenarios[0]
    header = [str(year), "unit", first]
    for s in scenarios[1:]:
        header += [s, f"vs {first}", "%"]
    rows = []
    for h in headlines:
        var = _at(ds, h.value(ds), year=year)
        reference = _point(_at(ds, var, scenario=first))
        row = [h.label, h.unit, _cell(h, reference)]
        for s in scenarios[1:]:
            value = _point(_at(ds, var, scenario=s))
            if h.codes:
                row += [_cell(h, value), "", ""]
            else:
                row += [fmt(value), *_difference(value, reference, h.relative)]
        rows.append(row)
    return render_table(header, rows)


# --- ensembles -------------------------------------------------------------------------------

def percentile_table(ds) -> str:
    """Every output as the run's headline table words it: a row for the scenario's own run and
    one per percentile, a column per year (an output by workload: a block per workload)."""
    years = [int(y) for y in ds["year"].values]
    header = ["", "unit", "", *(str(y) for y in years)]
    rows = []
    by_state = []
    for name in ds.attrs["outputs"].split(","):
        label, unit, factor = output_label(name)
        var, run = ds[name], ds[f"{name}_run"]
        if "region" in var.dims:  # 51 blocks would bury the table: the files hold them
            by_state.append(name)
            continue
        parts = ([(label, var, run)] if "workload" not in var.dims else
                 [(f"{label}: {w}", var.sel(workload=w), run.sel(workload=w))
                  for w in var["workload"].values])
        for text, v, r in parts:
            rows.append([text, unit, "run", *(fmt(float(x) * factor) for x in r.values)])
            for q in ds["percentile"].values:
                rows.append(["", "", f"p{q:g}",
                             *(fmt(float(x) * factor) for x in v.sel(percentile=q).values)])
    note = (f"\nBy state (in the result files, not shown here): {', '.join(by_state)}."
            if by_state else "")
    return (render_table(header, rows, left=3) if rows else "") + note


def members_summary(ds) -> str:
    """How many members the percentiles hold, and which were left out and why."""
    from projection.model.dynamics import INFEASIBLE_REASONS

    a = ds.attrs
    samples, usable = int(a["samples"]), int(a["usable_samples"])
    missing = int(a["samples_missing_start_targets"])
    infeasible = int(a["samples_infeasible_start"])
    other = samples - usable - missing - infeasible
    line = (f"{samples:,} members ({a['sample_method']}, seed {a['seed']}): the percentiles "
            f"are of the {usable:,} usable")
    left = []
    if missing:
        left.append(f"{missing:,} whose start year misses its calibration targets (start-year "
                    "demand above start-year capacity: they do not start from the calibrated "
                    f"{a.get('start_year', 'start year')}, and projection run refuses such "
                    "inputs)")
    if infeasible:
        left.append(f"{infeasible:,} with an infeasible start state "
                    f"({'; or '.join(INFEASIBLE_REASONS.values())})")
    if other > 0:
        left.append(f"{other:,} whose run is not finite or whose values are out of bounds")
    return line + ("; left out: " + "; ".join(left) if left else "")
