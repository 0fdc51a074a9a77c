"""NetCDF output: the full labelled Dataset."""

from __future__ import annotations

from pathlib import Path

import xarray as xr


def write_netcdf(ds: xr.Dataset, path: Path) -> None:
    encoding = {name: {"zlib": True, "complevel": 4} for name in ds.data_vars}
    ds.to_netcdf(path, engine="h5netcdf", encoding=encoding)

