"""What sets the numbers: the drivers of demand, the limits of supply, and what binds.

Each test runs the model and asserts a response a reader depends on: more work asked gives
more electricity, a tighter supply delivers less and defers more, the fleet stays within its
sourced operating range, and each year names the constraint that binds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projection.model.ensemble import simulate
from projection.model.results import BINDING_CONSTRAINTS, binding_constraint
from projection.model.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SHIPPED = sorted(p.stem for p in SCENARIOS.glob("*.toml"))
DEFERRED_MULTIPLE = 2.0
"""Most deferred load, as a multiple of the load delivered, in any year to 2050 (the brake on
work that waits keeps the work asked for within reach of the fleet)."""


def _runs(name: str, overrides: list[dict[str, str]], end_year: int = 2030):
    """One run per set of overrides of shipped scenario ``name``, as one ensemble."""
    arrays = [load_scenario(SCENARIOS / f"{name}.toml", overrides=o).parameter_arrays()
              for o in overrides]
    p = {k: np.concatenate([a[k] for a in arrays], axis=-1) for k in arrays[0]}
    return simulate(p, 2024, end_year, 3)


@pytest.mark.parametrize("override", [
    {"workloads.large_text.tokens_per_request": "1000 token",
     "workloads.small_text.tokens_per_request": "600 token"},
    {"start.requests_per_day_start": "4e9 request/day"},
    {"workloads.large_text.prompt_tokens_per_request": "2000 token"},
    {"demand.software_efficiency_gain": "5 %/yr"},
])
def test_more_tokens_longer_responses_or_slower_efficiency_give_more_electricity(override):
    raw = _runs("baseline", [{}, override])
    total = raw.flows["facility_energy"]
    assert np.all(total[1:, 1] > total[1:, 0]), total[1:, 1] / total[1:, 0] - 1
    np.testing.assert_allclose(total[0, 1], total[0, 0], rtol=1e-9)  # the start is anchored


def test_no_driver_of_2024_is_smaller_than_the_unattributed_rest_grows():
    """The unattributed rest never carries the growth: in every shipped scenario it is below
    the largest named driver in every year, and smaller in 2030 than in 2024."""
    for name in SHIPPED:
        f = _runs(name, [{}]).flows
        rest = f["unattributed_energy"][:, 0]
        named = np.max([f[k][:, 0] for k in ("recommendation_energy", "agent_energy",
                                            "ai_training_energy")], axis=0)
        assert np.all(rest < named), name
        assert rest[-1] < rest[0], name


@pytest.mark.parametrize("key, tight, loose", [
    ("hardware.supply_start", "2e6 accelerator/yr", "5e6 accelerator/yr"),
    ("buildout.interconnection_limit", "5 GW/yr", "25 GW/yr"),
])
def test_a_tighter_chip_supply_or_grid_delivers_less_and_defers_more(key, tight, loose):
    """When the limit first bites, the tighter one defers more; later the work that waits
    brakes demand (priced out), so a later year can defer less against a lower demand. Every
    year delivers no more."""
    raw = _runs("high_growth", [{key: loose}, {key: tight}])
    f = raw.flows
    assert f["facility_energy"][-1, 1] < f["facility_energy"][-1, 0]
    first = int(np.argmax(f["deferred_energy"].max(axis=1) > 0))
    assert first > 0 and f["deferred_energy"][first, 1] > f["deferred_energy"][first, 0]
    assert np.all(f["facility_energy"][1:, 1] <= f["facility_energy"][1:, 0] * (1 + 1e-9))


def test_without_a_grid_limit_another_constraint_binds():
    raw = _runs("high_growth", [{}, {"buildout.interconnection_limit": "1000 GW/yr"}])
    code = binding_constraint(raw)
    grid = BINDING_CONSTRAINTS.index("grid_connections")
    assert code[-1, 0] == grid
    assert code[-1, 1] != grid and code[-1, 1] != BINDING_CONSTRAINTS.index("demand")


def test_without_a_supply_limit_demand_is_delivered_in_a_loose_scenario():
    raw = _runs("low_growth", [{}])
    assert np.all(binding_constraint(raw)[:, 0] == BINDING_CONSTRAINTS.index("demand"))
    np.testing.assert_allclose(raw.flows["facility_energy_demand"][:, 0],
                               raw.flows["facility_energy"][:, 0], rtol=1e-3)


@pytest.mark.parametrize("name", SHIPPED)
def test_utilisation_stays_in_its_operating_range_and_deferred_load_bounded_to_2050(name):
    raw = _runs(name, [{}], end_year=2050)
    u = raw.auxiliaries["utilisation"][:, 0]
    top = raw.parameters["max_operating_utilisation"][0]
    assert np.all(u <= top * (1 + 1e-12)) and np.all(u > 0), u
    deferred, delivered = raw.flows["deferred_energy"][:, 0], raw.flows["facility_energy"][:, 0]
    assert np.all(deferred <= DEFERRED_MULTIPLE * delivered), deferred / delivered


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(0.56, 0.8), st.floats(3.5e6, 6.5e6), st.floats(0.1, 0.5),
       st.sampled_from(["5 GW/yr", "15 GW/yr", "25 GW/yr"]))
def test_utilisation_stays_in_range_for_drawn_parameters(top, supply, growth, limit):
    raw = _runs("high_growth", [{"hardware.max_operating_utilisation": f"{top}",
                                 "hardware.supply_start": f"{supply} accelerator/yr",
                                 "hardware.supply_growth": f"{growth * 100} %/yr",
                                 "buildout.interconnection_limit": limit}], end_year=2050)
    u = raw.auxiliaries["utilisation"][:, 0]
    assert np.all(u <= top * (1 + 1e-12)) and np.all(u > 0)
    assert np.all(raw.flows["deferred_energy"][:, 0]
                  <= DEFERRED_MULTIPLE * raw.flows["facility_energy"][:, 0])


@pytest.mark.parametrize("key, low, high, direction", [
    ("hardware.accelerator_lifetime", "4 yr", "7 yr", +1),      # shorter life: lower
    ("hardware.shipments_start", "2.4e6 accelerator/yr", "4e6 accelerator/yr", +1),
    ("hardware.idle_power_fraction", "20 %", "45 %", +1),
    ("hardware.start_utilisation", "45 %", "60 %", +1),
])
def test_2030_demand_moves_in_the_directions_of_lbnl_sensitivities(key, low, high, direction):
    """LBNL's 2025 update: a shorter accelerator life and fewer shipments give lower 2030
    demand; higher idle power and higher utilisation give higher."""
    raw = _runs("baseline", [{key: low}, {key: high}])
    demand = raw.flows["facility_energy_demand"][-1]
    assert direction * (demand[1] - demand[0]) > 0, demand


def test_the_start_year_is_identical_across_scenarios():
    firsts = [_runs(name, [{}]).flows for name in SHIPPED]
    for f in firsts[1:]:
        for key in ("facility_energy", "ai_facility_energy", "recommendation_energy",
                    "unattributed_energy", "text_tokens"):
            np.testing.assert_allclose(f[key][0], firsts[0][key][0], rtol=1e-9)


def test_the_binding_constraint_is_a_cf_flag_variable(tmp_path):
    import xarray as xr

    from projection.model.results import to_dataset

    raw = _runs("constrained_grid", [{}])
    path = tmp_path / "x.nc"
    to_dataset(raw).isel(sample=0).to_netcdf(path)
    with xr.open_dataset(path) as ds:
        var = ds["binding_constraint"]
        assert var.attrs["flag_meanings"].split() == list(BINDING_CONSTRAINTS)
        assert list(var.attrs["flag_values"]) == list(range(len(BINDING_CONSTRAINTS)))
        assert set(np.unique(var.values)) <= set(range(len(BINDING_CONSTRAINTS)))


def test_behind_the_meter_gas_is_counted_where_the_story_says_so():
    raw = _runs("constrained_grid", [{}, {"buildout.onsite_generation_share": "0 %"}])
    f = raw.flows
    assert np.all(f["behind_the_meter_energy"][1:, 0] > 0)
    assert np.all(f["behind_the_meter_energy"][:, 1] == 0)
    assert np.all(f["behind_the_meter_emissions"][1:, 0] > 0)
    assert np.all(f["behind_the_meter_emissions"][:, 0] <= f["emissions"][:, 0])
    assert f["facility_energy"][-1, 0] > f["facility_energy"][-1, 1]


def test_the_forward_centre_is_the_backcast_fit_or_the_scenario_says_what_overrides_it():
    """What the 2014-2024 backcast fits is the baseline's value within one standard error, or
    the baseline's source names the backcast and says what overrides it."""
    from projection.validation.calibration import to_display
    from projection.validation.checks import Context, default_checks_path, load_checks
    from projection.validation.references import load_references

    _, settings = load_checks()
    context = Context(load_references(), settings, default_checks_path())
    fit, _ = context.backcast
    assert fit.ok, fit.problems
    baseline = load_scenario(SCENARIOS / "baseline.toml")
    for fp, value, sigma in zip(fit.parameters, fit.values, fit.sigma, strict=True):
        entry = baseline.entries[fp.key]
        if abs(to_display(fp.parameter, entry.base_value) - value) <= sigma:
            continue
        source = entry.source.lower()
        assert "backcast" in source and "override" in source, (fp.key, value, sigma)
