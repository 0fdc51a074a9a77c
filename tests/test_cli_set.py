"""``--set KEY=VALUE`` on every command that runs the model, as a user types it: checked as a
scenario file's entry is, with schedules, recorded in the provenance."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

MORATORIUM = "buildout.interconnection_limit=15 GW/yr; 2028: 0 GW/yr; 2031: 10 GW/yr"
SHORT = "buildout.interconnection_limit=15 GW/yr; 2027: 0 GW/yr; 2029: 10 GW/yr"
"""A moratorium within the shipped scenarios' years (they end in 2030)."""
COMMANDS = ("run", "compare", "uncertainty", "sensitivity", "sweep", "brief")


def projection(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "projection.outputs.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_that_runs_the_model_documents_set(command, tmp_path):
    result = projection(command, "--help", cwd=tmp_path)
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "--set KEY=VALUE" in text and "2028: 0 GW/yr" in text


EXTRA = {"run": (), "compare": ("high_growth",), "uncertainty": ("--samples", "4"),
         "sensitivity": ("--method", "oat"),
         "sweep": ("--param", "demand.rebound_elasticity=0:1:2"), "brief": ()}
BAD = [
    ("buildout.interconection_limit=10 GW/yr", ("--set", "did you mean "
                                                "'buildout.interconnection_limit'?")),
    ("buildout.interconnection_limit=10 GW/yr; 2024: 0 GW/yr",
     ("buildout.interconnection_limit.schedule.2024", "not after the start year")),
]
MORE_BAD = [
    ("buildout.interconnection_limit=10 TWh", ("--set", "buildout.interconnection_limit",
                                               "dimension")),
    ("buildout.interconnection_limit", ("--set", "expected KEY=VALUE")),
    ("buildout.interconnection_limit=10 GW/yr; 2029 0 GW/yr", ("expected 'YEAR: VALUE'",)),
    ("buildout.interconnection_limit={ value = ", ("not a TOML inline table",)),
    ("buildout.interconnection_limit=" + "{a=" * 1000 + "1" + "}" * 1000,
     ("not a TOML inline table",)),
    ("buildout.interconnection_limit=" + "1" * 5000, ("characters long, expected at most",)),
    ("buildout.interconnection_limit=10 GW/yr\x1b[31m", ("--set", "interconnection_limit")),
]


@pytest.mark.parametrize("command, setting, needles",
                         [(c, *bad) for c in COMMANDS for bad in BAD]
                         + [("run", *bad) for bad in MORE_BAD])
def test_a_bad_set_is_one_line_naming_the_key_and_writes_nothing(command, setting, needles,
                                                                  tmp_path):
    result = projection(command, "baseline", *EXTRA[command], "--set", setting, "-o",
                        str(tmp_path / ("out.html" if command == "brief" else "out")),
                        cwd=tmp_path)
    one_line_error(result, *needles)
    assert list(tmp_path.iterdir()) == []


def test_run_with_a_scheduled_set_holds_the_moratorium_and_records_it(tmp_path):
    result = projection("run", "baseline", "--set", MORATORIUM, "--end-year", "2032", "-o",
                        "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with xr.open_dataset(tmp_path / "out" / "projection.nc") as ds:
        starts = ds["construction_starts"].sel(year=[2028, 2029, 2030]).values
        assert (starts == 0.0).all()
        assert float(ds["construction_starts"].sel(year=2031)) > 0.0
        entry = json.loads(ds.attrs["resolved_parameters"])["buildout.interconnection_limit"]
        assert entry["file"] == "--set" and entry["schedule"] == "2028: 0 GW/yr; 2031: 10 GW/yr"
        assert entry["low"] == "5 GW/yr"  # the baseline's range is kept
        assert "buildout.interconnection_limit" in json.loads(ds.attrs["overrides"])
    sidecar = json.loads((tmp_path / "out" / "projection.meta.json").read_text())
    assert "buildout.interconnection_limit" in sidecar["overrides"]


def test_a_rerun_of_the_same_scenario_with_set_replaces_its_own_results_and_records_it(
        tmp_path):
    # the folder was made for baseline.toml, so a rerun of that file is the tool's to replace
    # (README: the rerun rule), whatever --set changes; the provenance says what changed
    assert projection("run", "baseline", "-o", "out", cwd=tmp_path).returncode == 0
    result = projection("run", "baseline", "--set", "demand.adoption_growth=100 %/yr", "-o",
                        "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with xr.open_dataset(tmp_path / "out" / "projection.nc") as ds:
        entry = json.loads(ds.attrs["resolved_parameters"])["demand.adoption_growth"]
    assert entry["file"] == "--set" and entry["value"] == "100 %/yr"


def test_the_toml_form_gives_a_range_and_a_source(tmp_path):
    setting = ('buildout.interconnection_limit={ value = "10 GW/yr", low = "5 GW/yr", high = '
               '"15 GW/yr", source = "my utility", schedule = { 2029 = "0 GW/yr" } }')
    result = projection("run", "baseline", "--set", setting, "-o", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with xr.open_dataset(tmp_path / "out" / "projection.nc") as ds:
        entry = json.loads(ds.attrs["resolved_parameters"])["buildout.interconnection_limit"]
    assert entry["source"] == "my utility" and entry["high"] == "15 GW/yr"
    assert entry["schedule"] == "2029: 0 GW/yr"


def test_compare_applies_set_to_every_scenario(tmp_path):
    result = projection("compare", "baseline", "high_growth", "--set", SHORT, "-o", "c",
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with xr.open_dataset(tmp_path / "c" / "projection.nc") as ds:
        starts = ds["construction_starts"].sel(year=[2027, 2028]).values
        assert (starts == 0.0).all()
        assert set(json.loads(ds.attrs["overrides"])) == {"baseline", "high_growth"}


def test_ensemble_commands_take_set_and_record_it(tmp_path):
    # --backend numpy: this test is about --set, not the compiled engines (test_schedules)
    result = projection("uncertainty", "baseline", "--samples", "8", "--method", "random",
                        "--backend", "numpy",
                        "--output", "construction_starts", "--set", SHORT, "-o", "u",
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with xr.open_dataset(tmp_path / "u" / "uncertainty.nc") as ds:
        assert "buildout.interconnection_limit" in json.loads(ds.attrs["overrides"])
        during = ds["construction_starts"].sel(year=[2027, 2028])
        assert float(abs(during).max()) == 0.0  # the moratorium holds in every member
    result = projection("sweep", "baseline", "--param", "demand.rebound_elasticity=0:1:2",
                        "--backend", "numpy",
                        "--output", "facility_energy", "--set", SHORT, "-o", "w",
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    result = projection("sensitivity", "baseline", "--method", "oat", "--output", "emissions",
                        "--backend", "numpy",
                        "--set", "buildout.interconnection_limit=0 GW/yr", "-o", "s",
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "note: --set buildout.interconnection_limit is held fixed" in result.stderr
    with xr.open_dataset(tmp_path / "s" / "sensitivity.nc") as ds:
        assert "buildout.interconnection_limit" not in list(ds["parameter"].values)


def test_set_works_under_a_terminal_as_in_a_pipe(tmp_path):
    command = " ".join(shlex.quote(a) for a in (
        sys.executable, "-m", "projection.outputs.cli", "run", "baseline", "--set", SHORT,
        "-o", str(tmp_path / "tty"), "--year", "2029"))
    result = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout
    header = next(line for line in result.stdout.splitlines() if "unit" in line)
    assert header.split()[-1] == "2029"
    assert (tmp_path / "tty" / "projection.nc").is_file()


def test_brief_takes_set_for_the_scenarios_named(tmp_path):
    pytest.importorskip("matplotlib")
    result = projection("brief", "high_growth", "--set", SHORT, "-o", "b.html",
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "b.html").read_text()
    assert "2027: 0 GW/yr" in page
