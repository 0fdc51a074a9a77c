"""The Python API: ``import projection`` and run, compare, load scenarios, override values."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import projection

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("xarray", "scipy", "pint", "h5netcdf", "pandas", "typer")


def test_import_is_light_and_lists_the_api():
    code = ("import sys, projection; "
            f"print([m for m in {HEAVY!r} if m in sys.modules]); print(dir(projection))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd="/").stdout.splitlines()
    assert out[0] == "[]"
    for name in ("run", "compare", "load_scenario", "scenarios", "ProjectionError",
                 "parameter_samples", "simulate"):
        assert name in out[1]


def test_scenarios_lists_the_shipped_names():
    names = projection.scenarios()
    assert "baseline" in names and "high_growth" in names
    assert names == sorted(names)


def test_shipped_names_and_paths_give_the_same_run():
    by_name = projection.run("low_growth")
    by_path = projection.run(ROOT / "scenarios" / "low_growth.toml")
    np.testing.assert_array_equal(by_name["facility_energy"], by_path["facility_energy"])
    assert by_name.attrs["scenario_sha256"] == by_path.attrs["scenario_sha256"]


def test_run_with_an_override_responds_and_records_it():
    base = projection.run("baseline", end_year=2035)
    faster = projection.run("baseline", params={"demand.adoption_growth": "200 %/yr"},
                            end_year=2035)
    assert int(faster["year"][-1]) == 2035
    assert float(faster["ai_facility_energy"].sel(year=2030)) > float(
        base["ai_facility_energy"].sel(year=2030))
    resolved = json.loads(faster.attrs["resolved_parameters"])
    assert resolved["demand.adoption_growth"]["value"] == "200 %/yr"
    assert resolved["demand.adoption_growth"]["file"] == "params"
    assert faster.attrs["scenario_sha256"] != base.attrs["scenario_sha256"]


def test_an_override_with_a_source_table_is_taken_as_given():
    s = projection.load_scenario("baseline", params={
        "workloads.reasoning.tokens_per_request": {"value": "5000 token", "source": "my test"}})
    entry = s.entries["workloads.reasoning.tokens_per_request"]
    assert entry.base_value == 5000.0 and entry.source == "my test"


def test_a_loaded_scenario_runs_and_takes_more_overrides():
    s = projection.load_scenario("baseline", params={"demand.adoption_growth": "60 %/yr"})
    again = projection.run(s, params={"hardware.frontier_efficiency_gain": "30 %/yr"})
    resolved = json.loads(again.attrs["resolved_parameters"])
    assert resolved["demand.adoption_growth"]["value"] == "60 %/yr"
    assert resolved["hardware.frontier_efficiency_gain"]["value"] == "30 %/yr"


@pytest.mark.parametrize("params, message", [
    ({"demand.adoption_grwth": "40 %/yr"},
     "params: demand.adoption_grwth: unknown key (did you mean 'demand.adoption_growth'?)"),
    ({"demand.adoption_growth": "40 TWh"}, "params: demand.adoption_growth: value '40 TWh' has "
                                            "the wrong dimension: an energy; expected a "
                                            "yearly rate such as '40 %/yr'"),
    ({"demand.adoption_growth": "-150 %/yr"}, "must be above -100 %/yr"),
    ({"demand.adoption_growth": 0.4}, "has no unit"),
    ({"workloads.image.request_share_start": "50 %"}, "shares sum to"),
    ({"hardware.shipments_start": "2e7 accelerator/yr"}, "hardware.start_utilisation: "
                                                         "infeasible start state"),
])
def test_bad_overrides_are_refused_as_a_file_value_would_be(params, message):
    with pytest.raises(projection.ProjectionError) as caught:
        projection.run("baseline", params=params)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_misspelt_scenario_name_gets_a_suggestion():
    with pytest.raises(projection.ProjectionError, match="did you mean 'baseline'"):
        projection.run("basline")


def test_compare_stacks_scenarios_with_overrides_applied_to_each():
    ds = projection.compare(["baseline", "high_growth"], end_year=2032,
                            params={"grid.grid_mix_adjustment_time": "5 yr"})
    assert list(ds["scenario"].values) == ["baseline", "high_growth"]
    assert int(ds["year"][-1]) == 2032
    resolved = json.loads(ds.attrs["resolved_parameters"])
    assert all(r["grid.grid_mix_adjustment_time"]["value"] == "5 yr" for r in resolved.values())


def test_every_user_error_sits_under_projection_error():
    from projection.model.ensemble import KeepError, SampleError
    from projection.model.errors import InputError, RunError
    from projection.model.integrate import CalibrationError
    from projection.model.scenario import ScenarioError
    from projection.model.units import UnitError
    from projection.outputs.files import OutputError
    from projection.validation.references import ReferenceDataError

    for error in (InputError, RunError, CalibrationError, ScenarioError, UnitError, OutputError,
                  ReferenceDataError, SampleError, KeepError):
        assert issubclass(error, projection.ProjectionError), error


def test_the_year_constant_is_pints_julian_year():
    """SECONDS_PER_YEAR is written out so that the model needs no pint; it must stay pint's."""
    from projection.model.units import SECONDS_PER_YEAR, conversion_factor

    assert SECONDS_PER_YEAR == conversion_factor("year", "second")
