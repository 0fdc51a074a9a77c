"""Parameters that change over time (schedules): what they do to the results, how every
engine follows them, and how a bad schedule is refused.

A schedule holds each value from 1 January of its year (``ramp = true``: moves linearly to
it from the previous point); the start year is held, so no point may fall in it.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SCENARIOS

from projection.model import schedules
from projection.model.ensemble import parameter_samples, simulate
from projection.model.run import run_scenario
from projection.model.scenario import ScenarioError, load_scenario
from projection.model.scenario_keys import parameter_for_key
from projection.model.scenario_schedules import not_schedulable
from projection.model.units import SECONDS_PER_YEAR

BASELINE = SCENARIOS / "baseline.toml"
MORATORIUM = {"buildout.interconnection_limit": {
    "value": "15 GW/yr", "schedule": {"2028": "0 GW/yr", "2031": "10 GW/yr"},
    "source": "test: a moratorium on new connections from 2028 to 2030"}}
SEVERAL = {
    **MORATORIUM,
    "hardware.frontier_efficiency_gain": {
        "value": "30 %/yr", "schedule": {"2027": "10 %/yr", "2030": "40 %/yr"}, "ramp": True,
        "source": "test: a growth rate applied in closed form, ramped"},
    "facility.ai_pue_target": {"value": "1.2", "schedule": {"2029": "1.1"}, "source": "test"},
    "demand.adoption_growth": {"value": "100 %/yr", "schedule": {"2027": "40 %/yr"},
                               "source": "test: a rate in a differential equation"},
    "workloads.image.tokens_per_request": {
        "value": "229376 token", "schedule": {"2026": "400000 token"}, "source": "test"},
}


def run(overrides=None, end_year=2034):
    return run_scenario(load_scenario(BASELINE, overrides=overrides, end_year=end_year))


@pytest.fixture(scope="module")
def unscheduled():
    return run()


@pytest.fixture(scope="module")
def moratorium():
    return run(MORATORIUM)


# --- what a schedule does ---------------------------------------------------------------------

def test_moratorium_gives_zero_construction_starts_while_it_holds(unscheduled, moratorium):
    starts = moratorium["construction_starts"].sel(year=[2028, 2029, 2030]).values
    assert np.all(starts == 0.0)
    before = unscheduled["construction_starts"].sel(year=slice(2025, 2027)).values
    np.testing.assert_allclose(moratorium["construction_starts"].sel(
        year=slice(2025, 2027)).values, before, rtol=1e-12)
    assert np.all(np.isfinite(moratorium["facility_energy"].values))


def test_after_the_moratorium_building_resumes_at_the_new_limit(unscheduled, moratorium):
    after = moratorium["construction_starts"].sel(year=slice(2031, 2034)).values
    assert np.all(after > 0.0) and np.all(after <= 10.0 + 1e-9)
    capacity = moratorium["operating_capacity"]
    # completions drain the pipeline during the moratorium; capacity grows again after it
    assert float(capacity.sel(year=2034)) > float(capacity.sel(year=2032))
    # less capacity built: less capacity and less delivered than without the moratorium
    for year in (2029, 2030, 2032):
        assert float(capacity.sel(year=year)) < float(
            unscheduled["operating_capacity"].sel(year=year))
        assert float(moratorium["facility_energy"].sel(year=year)) < float(
            unscheduled["facility_energy"].sel(year=year))


def test_a_higher_limit_after_the_moratorium_builds_more(moratorium):
    higher = run({"buildout.interconnection_limit": {
        **MORATORIUM["buildout.interconnection_limit"],
        "schedule": {"2028": "0 GW/yr", "2031": "25 GW/yr"}}})
    for name in ("operating_capacity", "facility_energy"):
        np.testing.assert_allclose(higher[name].sel(year=slice(2024, 2030)).values,
                                   moratorium[name].sel(year=slice(2024, 2030)).values,
                                   rtol=1e-12)
        assert float(higher[name].sel(year=2034)) > float(moratorium[name].sel(year=2034))


def test_a_schedule_changes_nothing_before_its_first_year(unscheduled, moratorium):
    for name in ("facility_energy", "emissions", "operating_capacity"):
        np.testing.assert_allclose(moratorium[name].sel(year=slice(2024, 2027)).values,
                                   unscheduled[name].sel(year=slice(2024, 2027)).values,
                                   rtol=1e-12)


def test_ramp_interpolates_linearly_between_points():
    p = {"x": np.array([15.0]), "year_length": np.array([1.0])}
    p.update({f"x{k}": v for k, v in schedules.arrays(
        p["x"], [[(4.0, 0.0), (7.0, 10.0)]], [True], 1.0).items()})
    at = {t: float(schedules.value_at(p, "x", np.array([t]))[0])
          for t in (0.5, 1.0, 2.5, 4.0, 5.5, 7.0, 9.0)}
    assert at == pytest.approx({0.5: 15.0, 1.0: 15.0, 2.5: 7.5, 4.0: 0.0, 5.5: 5.0,
                                7.0: 10.0, 9.0: 10.0})
    p["x@ramp"] = np.array([0.0])
    steps = [float(schedules.value_at(p, "x", np.array([t]))[0]) for t in (3.9, 4.0, 6.9, 7.0)]
    assert steps == [15.0, 0.0, 0.0, 10.0]


@pytest.mark.parametrize("ramp, expected", [
    # 0.3 until t = 3, 0.1 until 6, -0.2 after; the held start year ends at t = 1
    (False, {2.0: 0.3, 4.5: (0.3 * 2 + 0.1 * 1.5) / 3.5, 8.0: (0.6 + 0.3 - 0.4) / 7}),
    # linear from 0.3 at t = 1 to 0.1 at 3 and -0.2 at 6, then held
    (True, {2.0: 0.25, 4.5: (0.4 + 1.5 * (0.1 - 0.05) / 2) / 3.5,
            8.0: (0.4 - 0.15 - 0.4) / 7}),
])
def test_mean_rate_is_the_integral_of_the_schedule_over_the_time_since_the_start_year(
        ramp, expected):
    p = {"r": np.array([0.3]), "year_length": np.array([1.0])}
    p.update({f"r{k}": v for k, v in schedules.arrays(
        p["r"], [[(3.0, 0.1), (6.0, -0.2)]], [ramp], 1.0).items()})
    got = {t: float(schedules.mean_rate(p, "r", np.array([t]))[0]) for t in expected}
    assert got == pytest.approx(expected, rel=1e-12)
    assert float(schedules.mean_rate(p, "r", np.array([0.5]))[0]) == 0.0  # held year


def test_a_scheduled_efficiency_gain_compounds_year_by_year_without_a_jump():
    # the frontier's FLOP per joule grows by the rate in force each year, 30 %/yr to 2027,
    # then 10 %/yr: a closed-form trend must integrate the rate, not apply today's rate to
    # the whole time since the start
    ds = run({"hardware.frontier_efficiency_gain": {
        "value": "30 %/yr", "schedule": {"2028": "10 %/yr"}, "source": "test"}}, 2031)
    frontier = ds["frontier_flop_per_joule"].sel(year=slice(2025, 2031)).values
    growth = frontier[1:] / frontier[:-1] - 1.0
    np.testing.assert_allclose(growth, [0.3, 0.3, 0.3, 0.1, 0.1, 0.1], rtol=1e-9)


def test_per_workload_schedule_changes_its_workload_from_its_year():
    # image generation at a tenth of the latent tokens from 2027: a cheaper image request
    ds = run({"workloads.image.tokens_per_request": {
        "value": "229376 token", "schedule": {"2027": "22937.6 token"}, "source": "test"}},
        2029)
    base = run(None, 2029)
    energy = ds["energy_per_request"].sel(year=2028)
    before = base["energy_per_request"].sel(year=2028)
    ratio = float(energy.sel(workload="image")) / float(before.sel(workload="image"))
    assert 0.05 < ratio < 0.2
    np.testing.assert_allclose(ds["energy_per_request"].sel(year=2026).values,
                               base["energy_per_request"].sel(year=2026).values, rtol=1e-12)


def test_the_reasoning_start_length_cannot_change_over_time():
    # reasoning length is a stock that drifts toward demand.reasoning_tokens_target: its
    # tokens_per_request is read only when the run starts, so a schedule would do nothing
    with pytest.raises(ScenarioError, match="workloads.reasoning.tokens_per_request cannot "
                       "change over time: the equations read it once"):
        load_scenario(BASELINE, overrides={"workloads.reasoning.tokens_per_request": {
            "value": "2500 token", "schedule": {"2027": "1 token"}, "source": "test"}})


# --- every engine follows schedules, and ensembles draw around them -----------------------------

@pytest.fixture(scope="module")
def scheduled_members():
    s = load_scenario(BASELINE, overrides=SEVERAL, end_year=2040)
    rng = np.random.default_rng(3)
    table = {"buildout.interconnection_limit": rng.uniform(6.0, 24.0, 24),
             "demand.adoption_growth": rng.uniform(0.6, 3.0, 24)}
    samples = parameter_samples(s, table)
    reference = simulate(samples, s.start_year, s.end_year, s.substeps_per_year,
                         backend="numpy")
    return s, samples, reference


def _assert_engines_agree(reference, other):
    for group in ("flows", "stocks", "auxiliaries"):
        ours, theirs = getattr(reference, group), getattr(other, group)
        for key, value in ours.items():
            # a flow that is a difference of near-equal totals (load added since the start
            # year) is as exact as the totals: values below a millionth of the largest are
            # held to 1e-9 of that millionth
            scale = np.maximum(np.abs(value), 1e-6 * np.max(np.abs(value)))
            worst = np.max(np.abs(theirs[key] - value) / np.where(scale > 0, scale, 1.0))
            assert worst <= 1e-9, f"{group}.{key}: {worst:.3g}"


@pytest.mark.parametrize("backend", ["numba", "xla"])
def test_schedules_agree_in_every_engine(backend, scheduled_members):
    pytest.importorskip({"numba": "numba", "xla": "jax"}[backend])
    s, samples, reference = scheduled_members
    other = simulate(samples, s.start_year, s.end_year, s.substeps_per_year, backend=backend)
    _assert_engines_agree(reference, other)


def test_an_ensemble_draw_replaces_the_value_before_the_first_point(scheduled_members):
    s, samples, reference = scheduled_members
    starts = reference.flows["construction_starts"] * 1e-9  # GW in each year
    years = list(reference.years)
    during = starts[[years.index(y) for y in (2028, 2029, 2030)]]
    assert np.all(during == 0.0)  # the moratorium holds in every member
    assert np.all(starts[years.index(2031):] <= 10.0 + 1e-9)


def test_changing_a_schedule_keeps_the_compiled_engines_inputs():
    one = load_scenario(BASELINE, overrides=MORATORIUM, end_year=2032).parameter_arrays()
    other = load_scenario(BASELINE, overrides={"buildout.interconnection_limit": {
        "value": "12 GW/yr", "schedule": {"2026": "3 GW/yr", "2027": "4 GW/yr", "2029": "0 GW/yr"},
        "ramp": True, "source": "test"}}).parameter_arrays()
    assert {k: v.shape for k, v in one.items()} == {k: v.shape for k, v in other.items()}
    assert one["interconnection_limit@times"].shape == (schedules.POINTS, 1)


def test_provenance_records_the_schedule(moratorium):
    import json

    resolved = json.loads(moratorium.attrs["resolved_parameters"])
    entry = resolved["buildout.interconnection_limit"]
    assert entry["schedule"] == "2028: 0 GW/yr; 2031: 10 GW/yr"
    assert entry["file"] == "params"
    assert "buildout.interconnection_limit" in json.loads(moratorium.attrs["overrides"])


# --- bad schedules: one line naming the key -----------------------------------------------------

def entry(schedule, **more):
    return {"buildout.interconnection_limit": {"value": "15 GW/yr", "schedule": schedule,
                                               "source": "test", **more}}


@pytest.mark.parametrize("overrides, expected", [
    (entry({"2028.5": "0 GW/yr"}), "year '2028.5' is not a whole year"),
    (entry({"next": "0 GW/yr"}), "year 'next' is not a whole year"),
    (entry({"2024": "0 GW/yr"}), "2024 is not after the start year 2024"),
    (entry({"2019": "0 GW/yr"}), "2019 is not after the start year"),
    (entry({"2031": "0 GW/yr"}), "after the end year 2030"),
    (entry({"2029": "1 GW/yr", "2028": "0 GW/yr"}), "expected years in increasing order"),
    (entry({2028: "1 GW/yr", "2028": "0 GW/yr"}), "year given twice"),
    (entry({"02028": "0 GW/yr"}), "year '02028' is not a whole year"),
    (entry({"2028": "0 TWh"}), "expected a power per unit of time"),
    (entry({"2028": "-1 GW/yr"}), "must not be negative"),
    (entry({"2028": "lots"}), "schedule.2028: value 'lots'"),
    (entry({}), "is empty"),
    (entry("2028: 0 GW/yr"), "expected a table of years"),
    (entry({str(y): "1 GW/yr" for y in range(2021, 2030)}), "expected at most 8"),
    (entry({"2028": "0 GW/yr"}, ramp="yes"), "ramp: got 'yes', expected true or false"),
    ({"buildout.interconnection_limit": {"value": "15 GW/yr", "ramp": True, "source": "t"}},
     "ramp: given without a schedule"),
    ({"buildout.interconnection_limit": {"value": "15 GW/yr", "schedul": {}, "source": "t"}},
     "did you mean 'schedule'"),
    ({"start.facility_energy_start": {"value": "200 TWh/yr", "schedule": {"2028": "1 TWh/yr"},
                                      "source": "t"}}, "describes the calibrated start year"),
    ({"workloads.chat.request_share_target": {"value": "0.5", "schedule": {"2028": "0.4"},
                                              "source": "t"}}, "did you mean"),
    ({"workloads.image.request_share_target": {"value": "0.1", "schedule": {"2028": "0.2"},
                                               "source": "t"}}, "shares that must sum"),
    ({"grid.coal_carbon_intensity": {"value": "900 g/kWh", "schedule": {"2028": "800 g/kWh"},
                                     "source": "t"}}, "read it once, when the run starts"),
])
def test_bad_schedule_is_refused_in_one_line_naming_the_key(overrides, expected):
    with pytest.raises(ScenarioError) as caught:
        load_scenario(BASELINE, overrides=overrides)
    message = str(caught.value)
    assert "\n" not in message
    key = next(iter(overrides))
    assert key.split(".")[0] in message and expected in message


def test_a_bad_schedule_in_a_file_names_the_file_and_the_key(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text('[scenario]\ntitle = "Policy"\ndescription = "A moratorium."\n'
                    'extends = "baseline"\n[buildout]\ninterconnection_limit = { value = '
                    '"15 GW/yr", schedule = { 2028 = "0 GW/yr", 2027 = "5 GW/yr" }, source = '
                    '"test" }\n')
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}: buildout.interconnection_limit.schedule.2027")


def test_a_scheduled_time_constant_shorter_than_a_step_is_refused():
    with pytest.raises(ScenarioError, match=r"facility.pue_adjustment_time: value '0.1 yr' "
                       r"\(scheduled 2029\) is shorter than one integration step"):
        load_scenario(BASELINE, overrides={"facility.pue_adjustment_time": {
            "value": "5 yr", "schedule": {"2029": "0.1 yr"}, "source": "t"}})


def test_every_lever_can_change_over_time():
    from projection.model.parameters import LEVERS

    for key in LEVERS:
        assert not_schedulable(key, parameter_for_key(key)) is None, key


def test_schedule_points_take_effect_on_1_january():
    s = load_scenario(BASELINE, overrides=MORATORIUM, end_year=2032)
    arrays = s.parameter_arrays()
    times = arrays["interconnection_limit@times"][:, 0] / SECONDS_PER_YEAR
    assert list(times[:3]) == [4.0, 7.0, 7.0]  # 2028 and 2031, padded with the last point


def test_a_schedule_that_holds_the_value_changes_nothing(unscheduled):
    s = load_scenario(BASELINE, end_year=2034)
    p = s.parameter_arrays(scheduled=["interconnection_limit", "ai_pue_target",
                                      "frontier_efficiency_gain"])
    assert "frontier_efficiency_gain@times" in p
    raw = simulate(p, s.start_year, s.end_year, s.substeps_per_year, backend="numpy")
    energy = raw.flows["facility_energy"][:, 0] / 3.6e15
    np.testing.assert_allclose(energy, unscheduled["facility_energy"].values, rtol=1e-12)


def test_no_new_connections_from_the_first_year_keeps_every_output_finite():
    ds = run({"buildout.interconnection_limit": {
        "value": "0 GW/yr", "low": "0 GW/yr", "high": "5 GW/yr", "source": "test"}}, 2040)
    assert float(abs(ds["construction_starts"].sel(year=slice(2025, 2040))).max()) == 0.0
    for name, var in ds.data_vars.items():
        assert np.isfinite(var.values).all(), name
    # only the start-year pipeline completes; after it has, capacity only retires
    capacity = ds["operating_capacity"]
    pipeline = float(ds["construction_pipeline"].sel(year=2025))
    assert float(capacity.max()) <= float(capacity.sel(year=2025)) + pipeline
    assert np.all(np.diff(capacity.sel(year=slice(2028, 2040)).values) < 0.0)
