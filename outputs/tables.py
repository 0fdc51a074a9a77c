"""Table outputs: every variable in long form, the IAMC table, and their provenance.

The CSV files are plain tables that ``pandas.read_csv(path)`` and ``pyam.IamDataFrame(path)``
read without options; the provenance of each goes into a sidecar JSON file beside it
(``projection.meta.json``, ``projection_iamc.meta.json``) and, for the IAMC table, into the
``meta`` sheet of an Excel workbook in pyam's layout (``projection_iamc.xlsx``: sheets
``data`` and ``meta``).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from projection.model.labelled import Labelled, Variable, labelled
from projection.model.results import OUTPUTS
from projection.outputs.csv_text import number_text
from projection.outputs.excel import write_workbook
from projection.outputs.region_files import is_regional, regional_iamc_rows

if TYPE_CHECKING:
    import xarray as xr

    Results = xr.Dataset | Labelled

IAMC_REGION = "United States"


INPUT_KEYS = ("scenario", "scenario_sha256", "start_year", "end_year", "substeps_per_year")
"""The attributes that identify a result's inputs: the same values, the same numbers."""


def inputs_sha256(attrs: dict[str, Any]) -> str:
    """A fingerprint of the inputs a result was made from (scenario files and overrides, years,
    sub-steps), to tell a rerun of the same inputs from results of other inputs."""
    given = {k: str(attrs.get(k, "")) for k in INPUT_KEYS}
    return hashlib.sha256(json.dumps(given, sort_keys=True).encode()).hexdigest()


def provenance(ds: Results, describes: str) -> dict[str, Any]:
    """Everything a result file's sidecar records: the Dataset's attributes (JSON-valued ones
    decoded), the file it describes and the inputs' fingerprint."""
    record: dict[str, Any] = {"describes": describes, "inputs_sha256": inputs_sha256(ds.attrs)}
    for key, value in ds.attrs.items():
        if isinstance(value, str) and value[:1] in "[{":
            try:
                value = json.loads(value)
            except ValueError:
                pass
        elif isinstance(value, np.generic):
            value = value.item()
        record[key] = value
    return record


def write_sidecar(ds: Results, path: Path, describes: str,
                  extra: dict[str, Any] | None = None) -> None:
    """The provenance of ``describes`` as JSON (with ``extra`` fields, such as the scenario
    files the result folder was made for)."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({**provenance(ds, describes), **(extra or {})}, fh, indent=2, default=str)
        fh.write("\n")


def _scenarios(ds: Labelled) -> list[str]:
    if "scenario" in ds.dims:
        return [str(s) for s in ds["scenario"].values]
    return [str(ds.attrs.get("scenario", "scenario"))]


def _by_scenario(ds: Labelled) -> Iterable[tuple[str, Labelled]]:
    if "scenario" in ds.dims:
        for i, name in enumerate(ds["scenario"].values):
            yield str(name), ds.take("scenario", i)
    else:
        yield _scenarios(ds)[0], ds


_fmt = number_text


def _years(ds: Labelled) -> list[int]:
    return [int(y) for y in ds["year"].values]


def _series(var: Variable) -> Variable:
    """One value a year: a run's own, or the median of an ensemble's samples."""
    if "sample" in var.dims:
        return var.take("sample", 0) if var.sizes["sample"] == 1 else var.reduce(
            "sample", np.nanmedian)
    return var


def write_csv(ds: Results, path: Path) -> None:
    """Long form: scenario, variable, workload, unit, quantity_type, then one column a year."""
    ds = labelled(ds)
    years = _years(ds)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["scenario", "variable", "workload", "unit", "quantity_type", *years])
        for scenario, sub in _by_scenario(ds):
            for out in OUTPUTS:
                if out.name not in sub or is_regional(sub[out.name]):  # states: their own table
                    continue
                var = _series(sub[out.name])
                if "workload" in var.dims:
                    rows = [(str(w), var.take("workload", i).values)
                            for i, w in enumerate(sub["workload"].values)]
                else:
                    rows = [("", var.values)]
                for workload, values in rows:
                    writer.writerow(
                        [scenario, out.name, workload, out.unit, out.kind,
                         *(_fmt(float(v)) for v in values)]
                    )


PERCENTILES = (0.05, 0.5, 0.95)
"""Percentiles of an ensemble in the IAMC table (``<variable>|5.0th Percentile`` rows)."""


def iamc_rows(ds: Results) -> list[list[str]]:
    """Rows of the IAMC table (model, scenario, region, variable, unit, years...): the
    national rows, then each state's and grid region's (``region_files``)."""
    ds = labelled(ds)
    model = f"projection {ds.attrs.get('model_version', '')}".strip()
    rows = []
    for scenario, sub in _by_scenario(ds):
        for out in OUTPUTS:
            if out.iamc is None or is_regional(sub[out.name]):
                continue
            var = sub[out.name]
            if "sample" in var.dims and var.sizes["sample"] > 1:
                axis = var.dims.index("sample")
                variants = [(f"{out.iamc}|{q * 100:.1f}th Percentile",
                             np.nanquantile(var.values, q, axis=axis)) for q in PERCENTILES]
            else:
                variants = [(out.iamc, _series(var).values)]
            for name, values in variants:
                rows.append([model, scenario, IAMC_REGION, name, out.iamc_unit or out.unit,
                             *(_fmt(float(v)) for v in values)])
    return rows + regional_iamc_rows(ds, model)


def write_iamc(ds: Results, path: Path) -> None:
    """The IAMC table as a plain CSV: model, scenario, region, variable, unit, one column a year."""
    ds = labelled(ds)
    years = _years(ds)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["model", "scenario", "region", "variable", "unit", *years])
        writer.writerows(iamc_rows(ds))


META_COLUMNS = ("scenario_title", "scenario_sha256", "scenario_file", "model_version",
                "start_year", "end_year", "command")
"""Provenance per scenario in the workbook's ``meta`` sheet."""


def _per_scenario(ds: Labelled, key: str, index: int, count: int) -> str:
    """One scenario's share of an attribute that a comparison joins with ',' or ' | '."""
    value = str(ds.attrs.get(key, ""))
    if count > 1:
        for separator in (" | ", ","):
            parts = value.split(separator)
            if len(parts) == count:
                return parts[index]
    return value


def write_iamc_workbook(ds: Results, path: Path) -> None:
    """The IAMC table in pyam's Excel layout: a ``data`` sheet and a ``meta`` sheet with one
    row of provenance per scenario (``pyam.IamDataFrame(path)`` reads both)."""
    ds = labelled(ds)
    years = _years(ds)
    data: list[list[Any]] = [["model", "scenario", "region", "variable", "unit", *years]]
    for row in iamc_rows(ds):
        data.append([*row[:5], *(float(v) if v else None for v in row[5:])])
    model = data[1][0] if len(data) > 1 else "projection"
    names = _scenarios(ds)
    meta: list[list[Any]] = [["model", "scenario", "exclude", *META_COLUMNS]]
    for i, name in enumerate(names):
        meta.append([model, name, False,
                     *(_per_scenario(ds, k, i, len(names)) for k in META_COLUMNS)])
    write_workbook(path, {"data": data, "meta": meta})


__all__ = ["write_csv", "write_iamc", "write_iamc_workbook", "write_sidecar", "iamc_rows",
           "inputs_sha256", "provenance"]
