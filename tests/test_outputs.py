"""Result files that other tools read without options: pandas, pyam, Excel, CF checkers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("outputs") / "high"
    subprocess.run([sys.executable, "-m", "projection.outputs.cli", "run", "high_growth",
                    "-q", "-o", str(out)], check=True, capture_output=True, text=True)
    return out


def test_pandas_reads_both_tables_without_options(results):
    long = pd.read_csv(results / "projection.csv")
    assert list(long.columns[:5]) == ["scenario", "variable", "workload", "unit",
                                      "quantity_type"]
    assert list(long.columns[5:]) == [str(y) for y in range(2024, 2031)]
    iamc = pd.read_csv(results / "projection_iamc.csv")
    assert list(iamc.columns[:5]) == ["model", "scenario", "region", "variable", "unit"]
    assert iamc["2028"].dtype.kind == "f"


def test_pyam_reads_the_csv_and_the_workbook_with_its_provenance(results):
    pyam = pytest.importorskip("pyam")
    from_csv = pyam.IamDataFrame(results / "projection_iamc.csv")
    from_excel = pyam.IamDataFrame(results / "projection_iamc.xlsx")
    assert from_csv.scenario == ["high_growth"]
    variable = "Final Energy|Electricity|Data Centers"
    a = from_csv.filter(variable=variable).timeseries()
    b = from_excel.filter(variable=variable).timeseries()
    np.testing.assert_allclose(a.values, b.values, rtol=1e-12)
    sidecar = json.loads((results / "projection_iamc.meta.json").read_text())
    meta = from_excel.meta.reset_index().iloc[0]
    assert meta["scenario_sha256"] == sidecar["scenario_sha256"]
    assert meta["model_version"] == sidecar["model_version"]
    assert "run high_growth" in meta["command"]


def test_sidecars_name_their_file_and_carry_the_provenance(results):
    for table in ("projection.csv", "projection_iamc.csv"):
        meta = json.loads((results / table.replace(".csv", ".meta.json")).read_text())
        assert meta["describes"] == table
        assert meta["scenario"] == "high_growth" and len(meta["scenario_sha256"]) == 64
        assert len(meta["inputs_sha256"]) == 64
        assert meta["resolved_parameters"]["demand.adoption_growth"]["value"]
        assert meta["calibration_si_units"]["target_utilisation"]


def test_netcdf_counts_and_shares_are_dimensionless_with_long_names(results):
    with xr.open_dataset(results / "projection.nc") as ds:
        assert ds.attrs["Conventions"].startswith("CF-")
        assert ds["data_centres"].attrs["units"] == "1"
        assert ds["data_centres"].attrs["counted"] == "data centres"
        assert ds["request_share"].attrs["units"] == "percent"
        assert ds["pue"].attrs["units"] == "1"
        for var in ds.data_vars.values():
            assert var.attrs["long_name"]


def test_netcdf_passes_a_cf_checker(results, tmp_path):
    runner = pytest.importorskip("compliance_checker.runner")
    runner.CheckSuite.load_all_available_checkers()
    report = tmp_path / "cf.json"
    passed, _ = runner.ComplianceChecker.run_checker(
        str(results / "projection.nc"), ["cf:1.8"], 0, "normal", str(report), "json")
    assert passed, report.read_text()[:2000]
