"""CSV outputs: every variable in long form, and the IAMC table that pyam reads.

Both files open with ``# key: value`` provenance lines; read them with
``pandas.read_csv(path, comment="#")`` (and hand that frame to ``pyam.IamDataFrame``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import xarray as xr

from projection.model.results import OUTPUTS

PROVENANCE_KEYS = (
    "model",
    "model_version",
    "scenario",
    "scenario_title",
    "scenario_file",
    "scenario_sha256",
    "command",
)
IAMC_REGION = "United States"


def _provenance_lines(ds: xr.Dataset) -> list[str]:
    lines = []
    for key in PROVENANCE_KEYS:
        if key in ds.attrs:
            value = " ".join(str(ds.attrs[key]).split())  # one line, whatever it holds
            lines.append(f"# {key}: {value}")
    return lines


def _scenarios(ds: xr.Dataset) -> list[str]:
    if "scenario" in ds.dims:
        return [str(s) for s in ds["scenario"].values]
    return [str(ds.attrs.get("scenario", "scenario"))]


def _by_scenario(ds: xr.Dataset) -> Iterable[tuple[str, xr.Dataset]]:
    if "scenario" in ds.dims:
        for name in ds["scenario"].values:
            yield str(name), ds.sel(scenario=name)
    else:
        yield _scenarios(ds)[0], ds


def _fmt(value: float) -> str:
    return "" if not np.isfinite(value) else f"{value:.6g}"


def write_csv(ds: xr.Dataset, path: Path) -> None:
    """Long form: scenario, variable, workload, unit, quantity_type, then one column a year."""
    years = [int(y) for y in ds["year"].values]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        for line in _provenance_lines(ds):
            fh.write(line + "\n")
        writer = csv.writer(fh)
        writer.writerow(["scenario", "variable", "workload", "unit", "quantity_type", *years])
        for scenario, sub in _by_scenario(ds):
            for out in OUTPUTS:
                var = sub[out.name]
                if "sample" in var.dims:
                    var = var.isel(sample=0) if var.sizes["sample"] == 1 else var.median("sample")
                has_workload = "workload" in var.dims
                workloads = [str(w) for w in var["workload"].values] if has_workload else [""]
                for workload in workloads:
                    series = var.sel(workload=workload) if workload else var
                    writer.writerow(
                        [scenario, out.name, workload, out.unit, out.kind,
                         *(_fmt(float(v)) for v in series.values)]
                    )


def iamc_rows(ds: xr.Dataset) -> list[list[str]]:
    """Rows of the IAMC table (model, scenario, region, variable, unit, years...)."""
    model = f"projection {ds.attrs.get('model_version', '')}".strip()
    rows = []
    for scenario, sub in _by_scenario(ds):
        for out in OUTPUTS:
            if out.iamc is None:
                continue
            var = sub[out.name]
            if "sample" in var.dims:
                if var.sizes["sample"] == 1:
                    variants = [(out.iamc, var.isel(sample=0))]
                else:
                    variants = [
                        (f"{out.iamc}|{q * 100:.1f}th Percentile", var.quantile(q, dim="sample"))
                        for q in (0.05, 0.5, 0.95)
                    ]
            else:
                variants = [(out.iamc, var)]
            for name, series in variants:
                rows.append([model, scenario, IAMC_REGION, name, out.iamc_unit or out.unit,
                             *(_fmt(float(v)) for v in series.values)])
    return rows


def write_iamc(ds: xr.Dataset, path: Path) -> None:
    years = [int(y) for y in ds["year"].values]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        for line in _provenance_lines(ds):
            fh.write(line + "\n")
        writer = csv.writer(fh)
        writer.writerow(["model", "scenario", "region", "variable", "unit", *years])
        writer.writerows(iamc_rows(ds))


__all__ = ["write_csv", "write_iamc", "iamc_rows"]
