"""NetCDF output: the full labelled results, following the CF conventions (CF-1.8).

Units are written as UDUNITS-2 reads them; counts (data centres, households, accelerators,
tokens, FLOP) and shares are dimensionless (``1`` or ``percent``) with a ``long_name``, and a
count says what it counts in ``counted``. The
model's own labels stay in the attributes: ``quantity_type`` (stock, flow or ratio) and, where
the file unit is a bare count, ``counted`` (what one unit is).

The file is a NetCDF classic file (64-bit offset, :mod:`projection.model.netcdf3`): xarray,
netCDF4-python, netCDF-C tools and scipy read it; writing it needs neither xarray nor HDF5, so
``projection run`` stays quick. Floating-point variables carry ``_FillValue = NaN`` as xarray
writes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from projection.model.labelled import Labelled, Variable, labelled
from projection.model.netcdf3 import Array, write_netcdf3

if TYPE_CHECKING:
    import xarray as xr

CONVENTIONS = "CF-1.8"
CF_UNITS = {
    "TWh": "TW h",
    "Wh": "W h",
    "g/kWh": "g/(kW h)",
    "L/kWh": "L/(kW h)",
    "dimensionless": "1",
    "data_centre": "1",
    "household": "1",
    "accelerator": "1",
    "token": "1",
    "FLOP": "1",
    "FLOP/J": "J-1",
    "request/day": "day-1",
    "token/day": "day-1",
}
"""Catalogue units (``projection.model.results``) that UDUNITS-2 does not read as they are,
as CF writes them: "Wh" only with a space or a dot between W and h, a product in a
denominator in brackets, and a count of things (tokens, FLOP, accelerators) as the number 1,
the thing counted named in ``counted``. Every other catalogue unit (GW, GL, Mt, J, percent)
UDUNITS reads as is; ``tests/test_outputs.py`` checks every catalogue unit with cf_units."""
COUNTED = {"data_centre": "data centres", "household": "households",
           "accelerator": "accelerators", "token": "tokens",
           "FLOP": "floating-point operations (FLOP)",
           "FLOP/J": "floating-point operations (FLOP) per joule",
           "request/day": "requests per day", "token/day": "tokens per day"}
"""What one unit of a count is, for the units that CF writes as a bare number (``counted``)."""


def cf_unit(unit: str) -> tuple[str, str | None]:
    """The UDUNITS spelling of a catalogue unit and, for a count, what is counted."""
    return CF_UNITS.get(unit, unit), COUNTED.get(unit)


def cf_labelled(ds: xr.Dataset | Labelled) -> Labelled:
    """A copy of ``ds`` with CF attributes: ``Conventions``, udunits units, ``source`` and
    ``history`` from the provenance."""
    out = labelled(ds).copy()
    for var in out.variables.values():
        unit = var.attrs.get("units")
        if isinstance(unit, str):
            var.attrs["units"], counted = cf_unit(unit)
            if counted is not None:
                var.attrs["counted"] = counted
    year = out.coords["year"]
    out.coords["year"] = Variable(year.dims, year.values.astype("int32"), {  # CF: 32-bit ints
        **year.attrs,
        "long_name": "Calendar year (stocks on 1 January, flows over the year)"})
    out.attrs["Conventions"] = CONVENTIONS
    out.attrs["source"] = f"projection {out.attrs.get('model_version', '')}".strip()
    if "command" in out.attrs:
        out.attrs["history"] = str(out.attrs["command"])
    return out


def cf_dataset(ds: xr.Dataset | Labelled) -> xr.Dataset:
    """:func:`cf_labelled` as an ``xarray.Dataset``."""
    return cf_labelled(ds).to_dataset()


def write_netcdf(ds: xr.Dataset | Labelled, path: Path) -> None:
    """A scenario run or a comparison, with CF attributes."""
    write_labelled(cf_labelled(ds), path)


def write_labelled(ds: xr.Dataset | Labelled, path: Path) -> None:
    """Any labelled results as they are, as a NetCDF classic file that xarray reads back to
    the same Dataset: floating-point data variables carry ``_FillValue = NaN``, booleans
    ``dtype = "bool"`` and the variables on the dimension of an auxiliary coordinate (the
    ``grid_region`` of each state) a ``coordinates`` attribute naming it, as xarray writes
    them."""
    ds = labelled(ds)
    arrays = {}
    auxiliary = {k: v.dims for k, v in ds.coords.items() if v.dims != (k,)}
    for name, var in ds.variables.items():
        attrs = dict(var.attrs)
        if name in ds.data_vars:  # CF: the auxiliary coordinates (a state's grid region) named
            named = [k for k, dims in auxiliary.items() if set(dims) <= set(var.dims)]
            if named:
                attrs["coordinates"] = " ".join(named)
        if var.dtype.kind == "f" and name in ds.data_vars:
            attrs = {"_FillValue": np.array(np.nan, dtype=var.dtype), **attrs}
        elif var.dtype.kind == "b":
            attrs = {**attrs, "dtype": "bool"}
        arrays[name] = Array(var.dims, var.values, attrs)
    write_netcdf3(path, arrays, ds.attrs)
