"""The states in the table files: a long table of every regional output by state
(``projection_regions.csv``) and the IAMC rows of each state and grid region.

The NetCDF file needs nothing of its own: the regional outputs are variables on the
``region`` dimension there, with the grid region of each state as a coordinate.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from projection.model.labelled import Labelled, Variable, labelled
from projection.model.results import OUTPUT_BY_NAME
from projection.outputs.csv_text import number_text
from projection.outputs.regions import REGION, REGIONAL, geography, has_regions, summed

if TYPE_CHECKING:
    import xarray as xr

REGIONS_CSV = "projection_regions.csv"
REGIONS_SIDECAR = "projection_regions.meta.json"
COLUMNS = ("scenario", "year", "region", "grid_region", "variable", "unit", "value")


def is_regional(var: Variable) -> bool:
    """Whether a variable is laid out by state (the catalogue's outputs of ``dim="region"``)."""
    return REGION in var.dims


def _scenarios(ds: Labelled) -> list[tuple[str, Labelled]]:
    if "scenario" in ds.dims:
        return [(str(n), ds.take("scenario", i)) for i, n in enumerate(ds["scenario"].values)]
    return [(str(ds.attrs.get("scenario", "scenario")), ds)]


def _by_year_and_region(var: Variable) -> np.ndarray:
    """One value a year and state (the run's own, or the median of an ensemble's samples),
    laid out (year, region)."""
    if "sample" in var.dims:
        var = (var.take("sample", 0) if var.sizes["sample"] == 1
               else var.reduce("sample", np.nanmedian))
    return np.transpose(var.values, [var.dims.index("year"), var.dims.index(REGION)])


def regional_names(ds: Labelled) -> list[str]:
    """The variables of ``ds`` laid out by state, in its order."""
    return [name for name, var in ds.data_vars.items() if is_regional(var)]


def write_regions_csv(ds: Labelled | xr.Dataset, path: Path) -> None:
    """Long form, one row a value: scenario, year, region (the state's USPS code),
    grid_region, variable, unit, value."""
    ds = labelled(ds)
    states = [str(s) for s in ds[REGION].values]
    grid = ([str(g) for g in ds["grid_region"].values] if "grid_region" in ds
            else [geography().REGION_OF[s] for s in states])
    years = [int(y) for y in ds["year"].values]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for scenario, sub in _scenarios(ds):
            for name in regional_names(sub):
                unit = str(sub[name].attrs.get("units", ""))
                values = _by_year_and_region(sub[name])
                for i, year in enumerate(years):
                    for j, state in enumerate(states):
                        writer.writerow([scenario, year, state, grid[j], name, unit,
                                         number_text(float(values[i, j]))])


# --- IAMC --------------------------------------------------------------------------------------

def iamc_variables(ds: Labelled) -> list[tuple[str, str, str, float]]:
    """(regional output, IAMC variable, IAMC unit, factor from the regional output's unit)
    for every additive regional output of ``ds`` whose national counterpart has an IAMC
    variable (the national rows' name and unit)."""
    from projection.model.units import conversion_factor

    found = []
    for r in REGIONAL:
        national = OUTPUT_BY_NAME.get(r.national or "")
        if national is None or national.iamc is None or r.name not in ds or not r.additive:
            continue
        unit = str(ds[r.name].attrs.get("units", national.unit))
        factor = conversion_factor(unit, national.unit)
        found.append((r.name, national.iamc, national.iamc_unit or national.unit, factor))
    return found


WATER_PARTS = ("state_onsite_water", "state_indirect_water")


def regional_iamc_rows(ds: Labelled | xr.Dataset, model: str) -> list[list[str]]:
    """IAMC rows of every state and grid region (summed from its states), named by the
    community's region names (``projection.model.regions.IAMC_NAMES``), under the national
    rows' variable names: a run's values (none for an ensemble of several samples)."""
    ds = labelled(ds)
    if not has_regions(ds) or ds.dims.get("sample", 1) > 1:
        return []  # an ensemble's states: its percentiles are not kept by state
    geo = geography()
    places = [(s, (s,)) for s in (str(c) for c in ds[REGION].values)]
    places += [(g, tuple(s for s, _ in places if s in geo.MEMBERS[g]))
               for g in geo.GRID_REGIONS]
    variables = iamc_variables(ds)
    water = OUTPUT_BY_NAME.get("water_consumption")
    rows = []
    for scenario, sub in _scenarios(ds):
        sub = _median(sub)
        for code, states in places:
            if not states:
                continue
            region = geo.IAMC_NAMES[code]
            for name, variable, unit, factor in variables:
                values = summed(sub, name, states).values * factor
                rows.append([model, scenario, region, variable, unit,
                             *(number_text(float(v)) for v in values)])
            if water is not None and water.iamc and all(w in sub for w in WATER_PARTS):
                # the parent of the two water rows, as in the national rows
                total = sum(summed(sub, w, states).values for w in WATER_PARTS)
                rows.append([model, scenario, region, water.iamc, water.iamc_unit or water.unit,
                             *(number_text(float(v)) for v in total)])
    return rows


def _median(ds: Labelled) -> Labelled:
    """The regional outputs of ``ds``, one value a year and state."""
    data = {}
    for name in regional_names(ds):
        values = _by_year_and_region(ds[name])
        data[name] = Variable(("year", REGION), values, ds[name].attrs)
    return Labelled({k: v for k, v in ds.coords.items() if "sample" not in v.dims}, data,
                    ds.attrs)


__all__ = ["REGIONS_CSV", "REGIONS_SIDECAR", "is_regional", "regional_iamc_rows",
           "write_regions_csv"]
