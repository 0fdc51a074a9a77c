"""`projection calibrate`: fits recover known parameters, report honest uncertainty, say plainly
when a fit is ill-posed, and write a calibrated scenario that `projection run` accepts."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from projection.model.run import run_scenario
from projection.model.scenario import ScenarioError, load_scenario
from projection.validation import calibration
from projection.validation.calibration import (
    calibrate_scenario,
    fit_parameters,
    fitted_scenario,
    model_values,
)
from projection.validation.checks import default_checks_path
from projection.validation.references import Reference, SeriesPoint, load_series

DATA = default_checks_path().parent
BACKCAST = DATA / "backcast_2014.toml"
TWO = ["conventional.conventional_demand_growth", "demand.unattributed_growth"]
SPEC = [("facility_energy", y) for y in (2016, 2018, 2020, 2022, 2024)] + [
    ("ai_facility_energy", 2020), ("ai_facility_energy", 2024)]


@pytest.fixture(scope="module")
def backcast():
    return load_scenario(BACKCAST)


def point(output: str, year: int, value: float, sigma: float = 0.05) -> SeriesPoint:
    ref = Reference(f"{output}_{year}", output, year, value, None, None, "TWh/yr", "",
                    "synthetic", "", "derived", "")
    return SeriesPoint(ref, output, "fit", sigma, "synthetic")


def synthetic(scenario, truth, keys, spec=SPEC) -> list[SeriesPoint]:
    """Figures that the model produces exactly at ``truth`` (display units)."""
    fit = fit_parameters(scenario, keys)
    shells = [point(o, y, 1.0) for o, y in spec]
    values, ok = model_values(scenario, fit, shells, np.array([truth], dtype=float))
    assert ok.all()
    return [point(o, y, float(v)) for (o, y), v in zip(spec, values[0], strict=True)]


def projection(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "projection.outputs.cli", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def test_fit_recovers_the_parameters_that_made_the_data(backcast):
    for keys, truth in ((TWO, [12.0, 120.0]), (None, [12.0, 180.0])):
        result = calibrate_scenario(backcast, synthetic(backcast, truth, keys), keys)
        assert result.ok, result.problems
        assert result.values == pytest.approx(truth, rel=1e-5)
        assert np.abs(result.residuals).max() < 1e-6


def test_reported_uncertainty_matches_the_scatter_of_refits(backcast):
    """1-sigma from s^2 (J^T J)^-1 agrees with the spread of fits to noisy copies of the data."""
    rng = np.random.default_rng(20240)
    exact = synthetic(backcast, [12.0, 120.0], TWO)
    fits, sigmas = [], []
    for _ in range(20):
        noisy = [point(p.output, p.year, p.reference.value * (1 + 0.02 * rng.standard_normal()))
                 for p in exact]
        result = calibrate_scenario(backcast, noisy, TWO)
        assert result.ok
        fits.append(result.values)
        sigmas.append(result.sigma)
    scatter = np.std(fits, axis=0, ddof=1)
    reported = np.sqrt(np.mean(np.square(sigmas), axis=0))
    assert 0.5 < (reported / scatter).min() and (reported / scatter).max() < 2.0


def test_correlation_matrix_is_symmetric_with_unit_diagonal(backcast):
    result = calibrate_scenario(backcast, load_series())
    c = result.correlation
    assert c is not None and np.allclose(c, c.T) and np.allclose(np.diag(c), 1.0)
    assert (np.abs(c) <= 1 + 1e-9).all()
    assert result.dof == len(result.points) - len(result.parameters) >= 1


def test_more_parameters_than_figures_is_ill_posed(backcast):
    keys = TWO + ["hardware.training_compute_growth", "hardware.frontier_efficiency_gain"]
    data = synthetic(backcast, [12.0, 120.0], TWO, SPEC[:3])
    result = calibrate_scenario(backcast, data, keys)
    assert not result.ok
    assert "ill-posed: 4 parameters but only 3 figures" in result.problems[0]


def test_a_parameter_that_moves_nothing_is_reported(backcast):
    data = synthetic(backcast, [12.0, 120.0], TWO)
    result = calibrate_scenario(backcast, data, [*TWO, "water.conventional_wue"])
    assert not result.ok
    assert any("water.conventional_wue does not change any fitted figure" in p
               for p in result.problems)


def test_a_parameter_pushed_to_its_bound_is_reported(backcast, tmp_path):
    text = BACKCAST.read_text(encoding="utf-8").replace(
        'low = "0 %/yr", high = "40 %/yr"', 'low = "0 %/yr", high = "5 %/yr"').replace(
        'conventional_demand_growth = { value = "10 %/yr"',
        'conventional_demand_growth = { value = "4 %/yr"')
    narrow = tmp_path / "narrow.toml"
    narrow.write_text(text, encoding="utf-8")
    data = synthetic(backcast, [12.0, 120.0], TWO)
    result = calibrate_scenario(load_scenario(narrow), data, TWO)
    assert not result.ok
    assert any("conventional.conventional_demand_growth stopped at its declared high bound (5 %/yr)"
               in p for p in result.problems)


def test_non_convergence_is_reported(backcast, monkeypatch):
    monkeypatch.setattr(calibration, "MAX_EVALUATIONS", 1)
    result = calibrate_scenario(backcast, load_series())
    assert not result.ok
    assert any(p.startswith("did not converge after") for p in result.problems)


def test_exactly_determined_fit_warns_that_uncertainty_is_not_estimable(backcast):
    data = synthetic(backcast, [12.0, 120.0], TWO, SPEC[1:3])
    result = calibrate_scenario(backcast, data, TWO)
    assert result.ok and result.sigma is None
    assert any(w.startswith("exactly determined") for w in result.warnings)


def test_bad_keys_are_user_errors(backcast, tmp_path):
    with pytest.raises(ScenarioError, match="did you mean 'demand.adoption_growth'"):
        fit_parameters(backcast, ["demand.adoption_grwth"])
    with pytest.raises(ScenarioError, match="shares must sum to one"):
        fit_parameters(backcast, ["workloads.video.request_share_start"])
    plain = tmp_path / "plain.toml"
    plain.write_text(re.sub(r', low = "[^"]*", high = "[^"]*"', "",
                            BACKCAST.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ScenarioError, match="no parameters to fit"):
        fit_parameters(load_scenario(plain), None)


def test_fitted_scenario_runs_at_the_fitted_values(backcast):
    result = calibrate_scenario(backcast, load_series())
    ds = run_scenario(fitted_scenario(result))
    for p, model in zip(result.points, result.model, strict=True):
        assert float(ds[p.output].sel(year=p.year)) == pytest.approx(model, rel=1e-9)


def test_cli_calibrate_writes_a_scenario_that_extends_the_original_and_runs(tmp_path):
    out = tmp_path / "sub" / "fitted.toml"
    out.parent.mkdir()
    result = projection("calibrate", str(BACKCAST), "-o", str(out))
    assert result.returncode == 0, result.stderr
    for words in ("Fitted values", "1-sigma", "Correlation", "Residuals", "Held out", "chi-square"):
        assert words in result.stdout
    data = tomllib.loads(out.read_text(encoding="utf-8"))
    extends = data["scenario"]["extends"]
    assert not Path(extends).is_absolute()
    assert (out.parent / extends).resolve() == BACKCAST.resolve()
    overridden = {f"{s}.{k}" for s, t in data.items() if s != "scenario" for k in t}
    original = load_scenario(BACKCAST)
    assert overridden == set(original.uncertain())
    for section, table in data.items():
        for entry in table.values() if section != "scenario" else ():
            assert entry["source"].startswith("fitted by projection calibrate")
            assert "lbnl_total_2018 (2018)" in entry["source"]
    calibrated = load_scenario(out)
    fit = calibrate_scenario(original, load_series())
    for fp, value in zip(fit.parameters, fit.values, strict=True):
        expected = calibration.from_display(fp.parameter, float(value))
        assert calibrated.entries[fp.key].base_value == pytest.approx(expected, rel=1e-5)
    run = projection("run", str(out), "-q", "-o", str(tmp_path / "results"))
    assert run.returncode == 0, run.stderr

    before = out.read_bytes()
    again = projection("calibrate", str(BACKCAST), "-o", str(out))
    assert again.returncode == 2 and again.stdout == ""
    assert again.stderr == f"error: {out}: exists; use --force to overwrite it\n"
    assert out.read_bytes() == before
    forced = projection("calibrate", str(BACKCAST), "-o", str(out), "--force", "--json")
    assert forced.returncode == 0 and '"ok": true' in forced.stdout


def test_cli_calibrate_ill_posed_and_bad_input(tmp_path):
    out = tmp_path / "never.toml"
    ill = projection("calibrate", str(BACKCAST), "--fit", "water.conventional_wue",
                     "--fit", "demand.adoption_growth", "-o", str(out))
    assert ill.returncode == 1
    assert "does not change any fitted figure" in ill.stderr
    assert not out.exists() and not list(tmp_path.iterdir())

    bad = projection("calibrate", str(BACKCAST), "--fit", "demand.adoption_grwth", "-o", str(out))
    assert bad.returncode == 2 and bad.stdout == "" and "Traceback" not in bad.stderr
    assert bad.stderr.startswith(f"error: {BACKCAST}: demand.adoption_grwth: --fit: not a scenario")
    assert bad.stderr.count("\n") == 1

    baseline = projection("calibrate", "baseline", "--fit", "demand.adoption_growth",
                          "--fit", "demand.unattributed_growth", "-o", str(out))
    assert baseline.returncode == 1
    assert "ill-posed" in baseline.stderr and not out.exists()


def test_calibrated_scenario_keeps_each_declared_distribution(tmp_path):
    """A fitted value keeps its declared uncertainty: the kind, the range and the sd; a
    triangular's most likely value becomes the fitted value."""
    text = BACKCAST.read_text(encoding="utf-8")
    text = text.replace('unattributed_growth = { value = "120 %/yr", low = "20 %/yr", '
                        'high = "300 %/yr",',
                        'unattributed_growth = { value = "120 %/yr", low = "20 %/yr", '
                        'high = "300 %/yr", dist = "triangular", mode = "100 %/yr",')
    text = text.replace('conventional_demand_growth = { value = "10 %/yr", low = "0 %/yr", '
                        'high = "40 %/yr",',
                        'conventional_demand_growth = { value = "10 %/yr", low = "0 %/yr", '
                        'high = "40 %/yr", dist = "normal", sd = "5 %/yr",')
    declared = tmp_path / "declared.toml"
    declared.write_text(text, encoding="utf-8")
    original = load_scenario(declared)
    assert original.entries[TWO[1]].distribution.kind == "triangular"
    result = calibrate_scenario(original, load_series())
    out = tmp_path / "fitted.toml"
    out.write_text(calibration.calibrated_toml(result, declared.name, "history"),
                   encoding="utf-8")
    fitted = load_scenario(out)
    for key, kind in ((TWO[0], "normal"), (TWO[1], "triangular")):
        entry, before = fitted.entries[key], original.entries[key]
        assert entry.distribution.kind == kind
        assert (entry.low, entry.high) == (before.low, before.high)
        assert entry.base_value != pytest.approx(before.base_value, rel=1e-6)
    assert fitted.entries[TWO[0]].distribution.sd == pytest.approx(
        original.entries[TWO[0]].distribution.sd)
    assert fitted.entries[TWO[1]].distribution.mode == pytest.approx(
        fitted.entries[TWO[1]].base_value)
