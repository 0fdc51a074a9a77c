"""Headline tables for the terminal: figures a reader can quote, with their units."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import xarray as xr

from projection.model.units import ureg

LITRES_PER_US_GALLON = float(ureg.Quantity(1, "gallon").to("L").magnitude)


@dataclass(frozen=True)
class Headline:
    label: str
    unit: str
    value: Callable[[xr.Dataset], xr.DataArray]


def _var(name: str, scale: float = 1.0) -> Callable[[xr.Dataset], xr.DataArray]:
    return lambda ds: ds[name] * scale


HEADLINES: tuple[Headline, ...] = (
    Headline("US data-centre electricity", "TWh", _var("facility_energy")),
    Headline("  of which AI", "TWh", _var("ai_facility_energy")),
    Headline("Share of US electricity", "%", _var("share_of_us_electricity")),
    Headline("AI vs US household electricity", "%", _var("ai_share_of_household_electricity")),
    Headline("Operating capacity (1 Jan)", "GW", _var("operating_capacity")),
    Headline("Data centres (1 Jan)", "number", _var("data_centres")),
    Headline("AI requests per day", "billion", _var("ai_requests_per_day_total", 1e-9)),
    Headline("Water consumed", "billion L", _var("water_consumption")),
    Headline("Water consumed", "billion gal", _var("water_consumption", 1 / LITRES_PER_US_GALLON)),
    Headline("Carbon emissions", "Mt CO2e", _var("emissions")),
    Headline("Unserved demand", "TWh", _var("unserved_energy")),
)


def headline_years(years: Sequence[int]) -> list[int]:
    first, last = int(years[0]), int(years[-1])
    wanted = [first, 2026, 2028, last]
    return sorted({y for y in wanted if first <= y <= last})


def fmt(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _point(da: xr.DataArray) -> float:
    if "sample" in da.dims:
        da = da.median("sample")
    return float(da)


def _render(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in
                       enumerate(zip(header, widths, strict=True)))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in
                               enumerate(zip(row, widths, strict=True))))
    return "\n".join(lines)


def headline_table(ds: xr.Dataset) -> str:
    """One scenario: a row per headline figure, a column per headline year."""
    years = headline_years([int(y) for y in ds["year"].values])
    rows = []
    for h in HEADLINES:
        da = h.value(ds)
        rows.append([h.label, h.unit, *(fmt(_point(da.sel(year=y))) for y in years)])
    return _render(["", "unit", *(str(y) for y in years)], rows)


def comparison_table(ds: xr.Dataset, year: int) -> str:
    """Several scenarios (a ``scenario`` dimension): a column per scenario for one year."""
    scenarios = [str(s) for s in ds["scenario"].values]
    rows = []
    for h in HEADLINES:
        da = h.value(ds).sel(year=year)
        rows.append([h.label, h.unit, *(fmt(_point(da.sel(scenario=s))) for s in scenarios)])
    return _render([str(year), "unit", *scenarios], rows)
