"""Ensembles, sensitivity indices, sweeps and their commands, on small sample counts."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from projection.model.errors import RunError
from projection.model.sampling import Distribution
from projection.model.scenario import load_scenario
from projection.model.sweep import sweep, sweep_axis
from projection.model.uncertainty import (
    EnsembleError,
    design,
    ensemble_percentiles,
    run_ensemble,
    uncertainty,
)
from projection.validation.sensitivity import sensitivity, sobol_indices

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
OUTPUTS = ("facility_energy", "water_consumption")


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(BASELINE)


def only_uncertain(tmp_path: Path, keep: dict[str, str]) -> Path:
    """The baseline with every declared range removed except ``keep`` (key -> entry body)."""
    import tomllib

    data = tomllib.loads(BASELINE.read_text())
    tables = {f"workloads.{w}": t for w, t in data.get("workloads", {}).items()}
    tables.update({k: t for k, t in data.items() if k not in ("scenario", "workloads")})
    lines = ['[scenario]', 'title = "Test"', 'description = "Test."', f'extends = "{BASELINE}"']
    for section, table in tables.items():
        rows = []
        for name, entry in table.items():
            key = f"{section}.{name}"
            if key in keep:
                rows.append(f"{name} = {{ {keep[key]}, source = \"test\" }}")
            elif isinstance(entry, dict) and ("low" in entry or "dist" in entry):
                rows.append(f"{name} = {{ value = \"{entry['value']}\", dist = \"fixed\", "
                            "source = \"test\" }")
        if rows:
            lines += [f"[{section}]", *rows]
    path = tmp_path / "only.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_sobol_indices_of_the_ishigami_function_match_the_analytic_values():
    a, b = 7.0, 0.1
    pi = np.pi
    dists = [Distribution("uniform", 0.0, -pi, pi)] * 3

    def ishigami(x):
        return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])

    found = sobol_indices(ishigami, dists, 2048, seed=1)
    var = a**2 / 8 + b * pi**4 / 5 + b**2 * pi**8 / 18 + 0.5
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    np.testing.assert_allclose(found["S1"][:, 0], [v1 / var, v2 / var, 0.0], atol=0.04)
    np.testing.assert_allclose(found["ST"][:, 0], [(v1 + v13) / var, v2 / var, v13 / var],
                               atol=0.04)


def test_salib_indices_on_the_model_agree_with_scipy(baseline):
    keys = ["demand.adoption_growth", "hardware.frontier_efficiency_gain",
            "demand.saturation_multiple"]
    ours = sensitivity(baseline, "sobol", 256, ["facility_energy"], seed=2, keys=keys)
    at = {"output": "facility_energy", "year": 2030}
    dists = [baseline.distributions()[k] for k in keys]

    from projection.model.uncertainty import evaluate

    def model(x):  # scipy passes (parameter, sample)
        out, _, _ = evaluate(baseline, dict(zip(keys, x, strict=True)), ["facility_energy"])
        return out["facility_energy"][-1]

    scipy_found = stats.sobol_indices(
        func=model, n=256, rng=np.random.default_rng(3),
        dists=[stats.uniform(d.low, d.high - d.low) for d in dists])
    for ours_key, theirs in (("S1", scipy_found.first_order), ("ST", scipy_found.total_order)):
        mine = ours[ours_key].sel(**at).values
        conf = ours[f"{ours_key}_conf"].sel(**at).values
        assert np.all(np.abs(mine - theirs) <= 2 * conf + 0.03), (ours_key, mine, theirs, conf)


def test_a_water_parameter_has_no_effect_on_electricity(baseline):
    water = next(k for k in baseline.distributions() if k.startswith("water."))
    keys = [water, "demand.adoption_growth"]
    ds = sensitivity(baseline, "sobol", 64, list(OUTPUTS), seed=0, keys=keys)
    energy = ds["ST"].sel(parameter=water, output="facility_energy")
    assert float(abs(energy).max()) < 1e-6
    assert float(ds["ST"].sel(parameter=water, output="water_consumption", year=2030)) > 0.01
    morris = sensitivity(baseline, "morris", 4, list(OUTPUTS), keys=keys)
    assert float(morris["mu_star"].sel(parameter=water, output="facility_energy").max()) < 1e-9


def test_narrowing_a_range_narrows_the_spread(tmp_path):
    wide = load_scenario(only_uncertain(tmp_path, {"demand.adoption_growth":
                         'value = "80 %/yr", low = "40 %/yr", high = "120 %/yr"'}))
    narrow = load_scenario(only_uncertain(tmp_path, {"demand.adoption_growth":
                           'value = "80 %/yr", low = "70 %/yr", high = "90 %/yr"'}))

    def spread(s):
        ds = uncertainty(s, 64, seed=4, outputs=["facility_energy"])
        p = ds["facility_energy"].sel(year=2030)
        return float(p.sel(percentile=95) - p.sel(percentile=5))

    assert spread(narrow) < 0.5 * spread(wide)


def test_percentiles_of_a_linear_model_response_match_the_analytic_ones(tmp_path):
    # US residential electricity is proportional to its start-year value
    s = load_scenario(only_uncertain(tmp_path, {"context.us_residential_electricity_start":
                      'value = "1455 TWh/yr", low = "1400 TWh/yr", high = "1600 TWh/yr"'}))
    ds = uncertainty(s, 500, seed=5, outputs=["us_residential_electricity"])
    q = ds["percentile"].values
    expected = ds["us_residential_electricity_run"].values[None, :] * (
        (1400 + 200 * q / 100) / 1455)[:, None]
    np.testing.assert_allclose(ds["us_residential_electricity"].values, expected, rtol=2e-4)


def test_blocked_equals_unblocked_and_resumed_equals_uninterrupted(baseline, tmp_path):
    d = design(baseline, 300, seed=6, method="sobol")
    whole = run_ensemble(d, OUTPUTS, block_samples=300)
    blocked = run_ensemble(d, OUTPUTS, tmp_path / "blocked", block_samples=100)
    for name in OUTPUTS:
        np.testing.assert_array_equal(blocked.output(name), whole.output(name))

    class Stop(Exception):
        pass

    def stop_after_first(done, total):
        if done == 100:
            raise Stop

    with pytest.raises(Stop):
        run_ensemble(d, OUTPUTS, tmp_path / "resumed", block_samples=100,
                     progress=stop_after_first)
    assert len(list((tmp_path / "resumed").glob("block_*.nc"))) == 1
    resumed = run_ensemble(d, OUTPUTS, tmp_path / "resumed", block_samples=100, resume=True)
    assert ensemble_percentiles(resumed).identical(ensemble_percentiles(whole))
    for name in OUTPUTS:
        np.testing.assert_array_equal(resumed.output(name), whole.output(name))
    other = design(baseline, 300, seed=7, method="sobol")
    with pytest.raises(EnsembleError, match="other inputs"):
        run_ensemble(other, OUTPUTS, tmp_path / "resumed", block_samples=100, resume=True)


def test_dask_equals_local(baseline):
    distributed = pytest.importorskip("distributed")
    d = design(baseline, 40, seed=8)
    local = run_ensemble(d, OUTPUTS, block_samples=20)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1,
                            dashboard_address=None) as client:
        on_dask = run_ensemble(d, OUTPUTS, block_samples=20, executor=client.get_executor())
    for name in OUTPUTS:
        np.testing.assert_array_equal(on_dask.output(name), local.output(name))


def test_a_sweep_makes_the_swept_keys_dimensions(baseline):
    import projection

    axis = sweep_axis(baseline, "demand.adoption_growth=40%/yr:120%/yr:3")
    ds = sweep(baseline, [axis], ["facility_energy"])
    by_name = projection.sweep("baseline", ["demand.adoption_growth=40%/yr:120%/yr:3"],
                               ["facility_energy"])
    assert by_name["facility_energy"].identical(ds["facility_energy"])
    assert ds["facility_energy"].dims == ("demand.adoption_growth", "year")
    np.testing.assert_allclose(ds["demand.adoption_growth"].values, [40, 80, 120])
    energy = ds["facility_energy"].sel(year=2030).values
    assert np.all(np.diff(energy) > 0)  # faster adoption, more electricity


# --- the commands ---------------------------------------------------------------------------

def projection(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "projection.outputs.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_uncertainty_command_writes_percentiles_with_provenance(tmp_path):
    result = projection("uncertainty", "baseline", "--samples", "24", "--seed", "3",
                        "--method", "random", "-o", "u", "--output", "facility_energy",
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "p95" in result.stdout and "Wrote" in result.stdout
    import xarray as xr

    with xr.open_dataset(tmp_path / "u" / "uncertainty.nc") as ds:
        assert ds.attrs["seed"] == 3 and ds.attrs["sample_method"] == "random"
        assert "demand.adoption_growth" in json.loads(ds.attrs["uncertain_parameters"])
        assert list(ds["percentile"].values) == [5, 25, 50, 75, 95]
    rows = list(csv.reader((tmp_path / "u" / "uncertainty_iamc.csv").open()))
    variables = {r[3] for r in rows[1:]}
    assert "Final Energy|Electricity|Data Centers|5.0th Percentile" in variables
    assert "Final Energy|Electricity|Data Centers" in variables
    assert not (tmp_path / "u" / "uncertainty.csv").read_text().startswith("#")
    meta = json.loads((tmp_path / "u" / "uncertainty.meta.json").read_text())
    assert meta["describes"] == "uncertainty.csv" and meta["seed"] == 3


def test_a_damaged_block_is_named_on_resume_and_nothing_written_is_lost(tmp_path):
    import xarray as xr

    args = ("uncertainty", "baseline", "--samples", "24", "--seed", "3", "-o", "u",
            "--output", "facility_energy")
    assert projection(*args, cwd=tmp_path).returncode == 0
    (block,) = (tmp_path / "u" / "ensemble").glob("block_*.nc")
    with xr.open_dataset(block) as ds:  # a block is a NetCDF file a user can open
        assert ds["facility_energy"].dims == ("year", "sample")
        assert ds["facility_energy"].attrs["units"] == "TWh"
        assert ds.sizes["sample"] == 24 and "input:demand.adoption_growth" in ds
    before = (tmp_path / "u" / "uncertainty.nc").read_bytes()
    block.write_bytes(block.read_bytes()[:-100])
    result = projection(*args, "--resume", cwd=tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert block.name in result.stderr and "truncated" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "u" / "uncertainty.nc").read_bytes() == before


def test_sensitivity_and_sweep_commands_write_their_files(tmp_path):
    result = projection("sensitivity", "baseline", "--method", "oat", "-o", "s",
                        "--output", "emissions", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "rank" in result.stdout and (tmp_path / "s" / "sensitivity.nc").is_file()
    result = projection("sweep", "baseline", "--param", "demand.rebound_elasticity=0:1:3", "-o",
                        "w", "--output", "facility_energy", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "w" / "sweep.csv").is_file()


@pytest.mark.parametrize("args, message", [
    (("sweep", "baseline", "--param", "demand.adoption_growht=40%/yr:90%/yr:3"),
     "did you mean 'demand.adoption_growth'"),
    (("sweep", "baseline", "--param", "demand.adoption_growth=130%/yr:160%/yr:3"),
     "excludes the scenario's value"),
    (("sweep", "baseline", "--param", "demand.adoption_growth=40TWh:90%/yr:3"), "dimension"),
    (("sensitivity", "baseline", "--samples", "100"), "power of two"),
    (("sensitivity", "baseline", "--method", "sobl"), "did you mean 'sobol'"),
    (("uncertainty", "baseline", "--samples", "10", "--method", "latin"), "expected one of"),
    (("uncertainty", "baseline", "--samples", "0"), "at least 1"),
    (("uncertainty", "baseline", "--samples", "10", "--output", "facility_energi"),
     "did you mean 'facility_energy'"),
])
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, args, message):
    result = projection(*args, "-o", "out", cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_results_of_another_scenario_file_are_replaced_only_with_force(tmp_path):
    options = ("--output", "facility_energy", "-o", "w", "--param")
    sweep = ("sweep", "baseline", *options)
    assert projection(*sweep, "demand.rebound_elasticity=0:1:3", cwd=tmp_path).returncode == 0
    before = (tmp_path / "w" / "sweep.nc").read_bytes()
    other = ("sweep", "high_growth", *options)
    refused = projection(*other, "demand.rebound_elasticity=0:1:4", cwd=tmp_path)
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert (tmp_path / "w" / "sweep.nc").read_bytes() == before
    forced = projection(*other, "demand.rebound_elasticity=0:1:4", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    rerun = projection(*other, "demand.rebound_elasticity=0:1:5", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr  # the same scenario file: its own results


def test_infeasible_start_states_are_named_and_counted_not_averaged(tmp_path):
    # shipments up to 2e7 a year: the installed base at the start utilisation then draws more
    # than the start-year total of all data centres, for part of the members
    s = load_scenario(only_uncertain(tmp_path, {"hardware.shipments_start":
                      'value = "3.2e6 accelerator/yr", low = "3e6 accelerator/yr", '
                      'high = "2e7 accelerator/yr"'}))
    ds = uncertainty(s, 32, seed=1, outputs=["facility_energy"])
    infeasible = int(ds.attrs["samples_infeasible_start"])
    assert 0 < infeasible < 32
    missing = int(ds.attrs["samples_missing_start_targets"])
    assert int(ds.attrs["usable_samples"]) == 32 - infeasible - missing
    assert np.isfinite(ds["facility_energy"].values).all()


def test_commands_without_dask_options_keep_dask_out_of_the_process(tmp_path):
    # xarray and pint would import Dask (0.5 s) to support arrays no command gives them
    code = ("import atexit, sys\n"
            "atexit.register(lambda: print([m for m in ('dask', 'dask.array', 'distributed') "
            "if sys.modules.get(m) is not None]))\n"
            f"sys.argv = ['projection', 'uncertainty', 'baseline', '--samples', '64', '-q', "
            f"'-o', {str(tmp_path / 'u')!r}]\n"
            "from projection.outputs.console import main\nmain()\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "u" / "uncertainty.nc").is_file()
    from projection.outputs.console import hide_dask

    assert not hide_dask(["uncertainty", "baseline", "--dask"])
    assert not hide_dask(["uncertainty", "baseline", "--scheduler=tcp://here:8786"])


def test_fan_charts_drawn_on_reused_axes_equal_charts_drawn_afresh():
    pytest.importorskip("matplotlib")
    import io

    import xarray as xr
    from PIL import Image

    from projection.outputs import uncertainty_files as files

    years = np.arange(2024, 2031)
    q = np.array([5.0, 25.0, 50.0, 75.0, 95.0])
    ds = xr.Dataset(
        {"small": (("percentile", "year"), np.outer(q, np.linspace(1, 2, 7)),
                   {"units": "TWh", "long_name": "Small"}),
         "large": (("percentile", "year"), np.outer(q, np.linspace(1e9, 5e9, 7)),
                   {"units": "1", "long_name": "Large"}),
         "small_run": (("year",), np.linspace(40, 90, 7)),
         "large_run": (("year",), np.linspace(4e10, 3e11, 7))},
        coords={"percentile": q, "year": years}, attrs={"scenario": "test"})

    def pixels(png: bytes) -> np.ndarray:
        return np.asarray(Image.open(io.BytesIO(png)))

    files._figure, files._reusable = None, None
    fresh = pixels(files.fan_chart(ds, "small").png())
    files._figure, files._reusable = None, None
    files.fan_chart(ds, "large").png()  # leaves its axes for the next chart
    assert files._reusable is not None
    reused = pixels(files.fan_chart(ds, "small").png())
    np.testing.assert_array_equal(reused, fresh)


def test_sweeps_and_sensitivity_name_infeasible_start_states(baseline, tmp_path):
    ds = sweep(baseline, ["hardware.shipments_start=3e6 accelerator/yr:2e7 accelerator/yr:3"],
               ["facility_energy"])
    assert ds.attrs["runs_infeasible_start"] == 2  # 1.15e7 and 2e7 a year
    assert ds["usable"].values.tolist() == [1, 0, 0]
    s = load_scenario(only_uncertain(tmp_path, {"hardware.shipments_start":
                      'value = "3.2e6 accelerator/yr", low = "3e6 accelerator/yr", '
                      'high = "2e7 accelerator/yr"'}))
    with pytest.raises(RunError, match="infeasible start state"):
        sensitivity(s, "morris", 2, ["facility_energy"], seed=0)
