"""NetCDF output: the full labelled Dataset, following the CF conventions (CF-1.8).

Units are written as udunits reads them; counts (data centres, households) and shares are
dimensionless (``1`` or ``percent``) with a ``long_name`` saying what they count. The
model's own labels stay in the attributes: ``quantity_type`` (stock, flow or ratio) and, where
the file unit is a bare count, ``counted`` (what one unit is).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import xarray as xr

CONVENTIONS = "CF-1.8"
CF_UNITS = {
    "TWh": "TW h",
    "g/kWh": "g/(kW h)",
    "dimensionless": "1",
    "data_centre": "1",
    "household": "1",
    "request/day": "day-1",
}
"""Catalogue units (``projection.model.results``) that udunits does not know, as CF writes
them (udunits reads "Wh" as a unit of its own only with a space or a dot); every other
catalogue unit (GW, GL, Mt, J, percent) udunits reads as is."""
COUNTED = {"data_centre": "data centres", "household": "households",
           "request/day": "requests per day"}


def cf_dataset(ds: xr.Dataset) -> xr.Dataset:
    """A copy of ``ds`` with CF attributes: ``Conventions``, udunits units, ``source`` and
    ``history`` from the provenance."""
    out = ds.copy()
    for name, var in out.variables.items():
        unit = var.attrs.get("units")
        if unit in CF_UNITS:
            out[name].attrs["units"] = CF_UNITS[unit]
            if unit in COUNTED:
                out[name].attrs["counted"] = COUNTED[unit]
    out["year"] = out["year"].astype("int32")  # CF's integer types stop at 32 bits
    out["year"].attrs.update(long_name="Calendar year (stocks on 1 January, flows over the "
                             "year)")
    out.attrs["Conventions"] = CONVENTIONS
    out.attrs["source"] = f"projection {ds.attrs.get('model_version', '')}".strip()
    if "command" in ds.attrs:
        out.attrs["history"] = str(ds.attrs["command"])
    return out


COMPRESS_FROM = 100_000
"""Variables with at least this many values are compressed (zlib); smaller ones, such as
every variable of a scenario run, gain nothing from it and cost HDF5 set-up time."""


def write_netcdf(ds: xr.Dataset, path: Path) -> None:
    ds = cf_dataset(ds)
    encoding = {name: {"zlib": True, "complevel": 4} for name, var in ds.data_vars.items()
                if var.size >= COMPRESS_FROM}
    ds.to_netcdf(path, engine="h5netcdf", encoding=encoding)
