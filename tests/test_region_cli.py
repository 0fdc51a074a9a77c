"""``--region`` and the state files as a user meets them: the commands under a pseudo-terminal
and in a pipe, a mistyped code, and the written files read by pandas, xarray and pyam, with
national totals equal to the sum of the states."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

sys.path.insert(0, str(Path(__file__).parent))

from test_new_user import SCRIPT, in_pipe, in_terminal  # noqa: E402

from projection.model import regions  # noqa: E402

ADDITIVE = {  # regional output -> the national output its states add up to
    "state_electricity": "facility_energy",
    "state_capacity": "operating_capacity",
    "state_data_centres": "data_centres",
    "state_emissions": "emissions",
    "state_emissions_market_based": "emissions_market_based",
    "state_onsite_water": "onsite_water",
    "state_indirect_water": "indirect_water",
}


@pytest.fixture(scope="module")
def va_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    folder = tmp_path_factory.mktemp("va")
    done = in_pipe("run", "baseline", "--region", "VA", "-o", "out", cwd=folder)
    return done, folder / "out"


def test_run_region_in_a_pipe_prints_the_state_table_and_writes_every_state(va_run):
    done, out = va_run
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress bar into a pipe
    lines = done.stdout.splitlines()
    assert lines[1].startswith("Virginia (VA), grid region ")
    for label in ("Data-centre electricity", "share of the state's electricity",
                  "Operating capacity (1 Jan)", "Data centres (1 Jan, US average size)",
                  "Peak at the planning load factor",
                  "Carbon, location-based", "Carbon, market-based", "Water consumed on site",
                  "at power plants"):
        assert any(label in line for line in lines), label
    assert "US data-centre electricity" not in done.stdout  # the state's table, not the nation's
    header = next(line for line in lines if line.strip().startswith("unit"))
    assert header.split()[1:] == ["2024", "2026", "2028", "2030"]
    table = pd.read_csv(out / "projection_regions.csv")
    assert set(table["region"]) == set(regions.STATES)


def test_run_region_under_a_terminal_draws_its_table(tmp_path):
    if SCRIPT is None:
        pytest.skip("needs script(1) (util-linux) for a pseudo-terminal")
    code, output = in_terminal(["run", "baseline", "--region", "va", "-o", "out"], tmp_path)
    assert code == 0, output
    assert "Traceback" not in output
    assert "Virginia (VA)" in output and "Data-centre electricity" in output
    assert (tmp_path / "out" / "projection_regions.csv").is_file()


def test_a_grid_region_in_any_case_sums_its_states(tmp_path):
    code = max(regions.GRID_REGIONS, key=lambda g: len(regions.MEMBERS[g]))
    done = in_pipe("run", "baseline", "--region", code.lower(), "--json", "-o", "out",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)["region"]
    assert record["code"] == code and record["kind"] == "grid region"
    assert set(record["states"]) == set(regions.MEMBERS[code])
    with xr.open_dataset(tmp_path / "out" / "projection.nc") as nc:
        expected = nc["state_electricity"].sel(region=list(record["states"])).sum("region")
        electricity = next(h for h in record["headlines"]
                           if h["label"] == "Data-centre electricity")
        for year, value in electricity["values"].items():
            assert value == pytest.approx(float(expected.sel(year=int(year))), rel=1e-12)


@pytest.mark.parametrize("command", [["run", "baseline"], ["compare", "baseline", "low_growth"]])
def test_an_unknown_region_is_one_line_exit_2_and_writes_nothing(tmp_path, command):
    done = in_pipe(*command, "--region", "VX", "-o", "out", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --region: 'VX'"), done.stderr
    assert "did you mean" in lines[0]
    assert not (tmp_path / "out").exists()


def test_compare_region_prints_the_state_side_by_side(tmp_path):
    done = in_pipe("compare", "baseline", "low_growth", "--region", "TX", "--year", "2030",
                   "-o", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Texas (TX)" in done.stdout
    header = next(line for line in done.stdout.splitlines() if line.startswith("2030"))
    assert "vs baseline" in header
    assert "Data-centre electricity" in done.stdout


def test_written_files_hold_every_state_and_sum_to_the_nation(va_run):
    _, out = va_run
    with xr.open_dataset(out / "projection.nc") as nc:
        assert nc["state_electricity"].dims == ("year", "region")
        assert [str(s) for s in nc["region"].values] == list(regions.STATES)
        assert "grid_region" in nc.coords
        for regional, national in ADDITIVE.items():
            np.testing.assert_allclose(nc[regional].sum("region").values, nc[national].values,
                                       rtol=1e-9, err_msg=regional)
        shares = nc["state_electricity_share"].values
        assert np.all((shares >= 0) & (shares <= 100))
    table = pd.read_csv(out / "projection_regions.csv")
    national = pd.read_csv(out / "projection.csv").set_index("variable")
    sums = table.groupby(["variable", "year"])["value"].sum()
    for regional, name in ADDITIVE.items():
        for year in (2024, 2030):
            assert sums[(regional, year)] == pytest.approx(
                float(national.loc[name, str(year)]), rel=1e-4), (regional, year)
    sidecar = json.loads((out / "projection_regions.meta.json").read_text())
    assert sidecar["describes"] == "projection_regions.csv"
    assert "projection_regions.csv" in sidecar["files"]


def test_iamc_rows_of_states_and_grid_regions_read_in_pyam(va_run):
    pyam = pytest.importorskip("pyam")
    _, out = va_run
    frame = pyam.IamDataFrame(out / "projection_iamc.csv")
    assert {"United States", regions.IAMC_NAMES["VA"]} <= set(frame.region)
    energy = frame.filter(variable="Final Energy|Electricity|Data Centers", year=2030)
    data = energy.timeseries()[2030]
    by_region = {idx[2]: v for idx, v in data.items()}
    states = sum(by_region[regions.IAMC_NAMES[s]] for s in regions.STATES)
    assert states == pytest.approx(by_region["United States"], rel=1e-4)
