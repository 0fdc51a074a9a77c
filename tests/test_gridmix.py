"""Carbon and indirect water from one generation mix: the mix's shares, what it emits and
evaporates, and the carbon bases that follow from it: location-based (operational emission
rates), market-based (after clean-power contracts), the marginal emissions of new load, and
life-cycle emissions as their own output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from projection.model import impacts, regions
from projection.model.ensemble import simulate
from projection.model.parameters import MARGINAL_SOURCES, SOURCES
from projection.model.scenario import load_scenario
from projection.model.units import parse_quantity, to_base

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
G_PER_KWH = 1e-3 / 3.6e6  # kg/J
L_PER_KWH = 1e-3 / 3.6e6  # m3/J


def _file_value(scenario, key: str, unit: str) -> float:
    """A scenario value as the file states it, converted with pint."""
    return float(parse_quantity(scenario.entries[key].text).to(unit).magnitude)


def _dirtier(p: dict[str, np.ndarray], shift: float) -> dict[str, np.ndarray]:
    """Two samples: the scenario's mixes, and one with ``shift`` of wind moved to coal in the
    mix every grid region draws, everything else equal."""
    ens = {k: np.repeat(v, 2, axis=-1) for k, v in p.items()}
    ens["unit_coal_share"] = ens["unit_coal_share"] + np.array([0.0, shift])
    ens["unit_wind_share"] = ens["unit_wind_share"] - np.array([0.0, shift])
    return ens


def _regional(per_source: np.ndarray) -> float:
    """A per-source figure averaged over the mix each state draws (its grid region's, from
    EIA 2023 generation by state), weighted by the state's start-year load (EPRI 2024)."""
    d = regions.data()
    load = d.dc_share_2023 * d.retail_sales_2023
    return float((load / load.sum()) @ (d.supply_mix @ per_source))


def test_a_dirtier_mix_raises_both_carbon_and_indirect_water():
    p = load_scenario(BASELINE).parameter_arrays()
    raw = simulate(_dirtier(p, 0.04), 2024, 2030, 3)
    np.testing.assert_allclose(raw.flows["facility_energy"][:, 1],
                               raw.flows["facility_energy"][:, 0], rtol=1e-12)
    for flow in ("emissions", "emissions_market_based", "emissions_lifecycle", "indirect_water"):
        assert (raw.flows[flow][:, 1] > raw.flows[flow][:, 0]).all(), flow


def test_generation_shares_sum_to_one_and_stay_shares_over_time(shipped_results):
    names = [f"grid_share_{source}" for source in SOURCES]
    for scenario, ds in shipped_results.items():
        shares = np.stack([ds[name].values for name in names])
        np.testing.assert_allclose(shares.sum(axis=0), 100.0, rtol=1e-9, err_msg=scenario)
        assert ((shares >= 0.0) & (shares <= 100.0)).all(), scenario
    long = simulate(load_scenario(BASELINE).parameter_arrays(), 2024, 2050, 3)
    np.testing.assert_allclose(long.stocks["grid_mix"].sum(axis=1), 1.0, rtol=1e-9)
    assert (long.stocks["grid_mix"] >= 0.0).all()


@pytest.mark.parametrize("scenario_name", ["baseline", "constrained_grid", "high_growth"])
def test_start_year_intensities_are_the_mix_average_of_the_sourced_figures(shipped_results,
                                                                           scenario_name):
    """Identity: the 2024 intensities are the per-source figures as the scenario file states
    them (EIA 2023 operational rates, IPCC 2014 and Macknick 2012 medians) averaged over the
    mix each state draws, weighted by where the start year's load is."""
    s = load_scenario(ROOT / "scenarios" / f"{scenario_name}.toml")
    shares = np.array([_file_value(s, f"grid.{x}_share_start", "dimensionless")
                       for x in SOURCES])
    operational = np.array([_file_value(s, f"grid.{x}_emission_rate", "g/kWh") for x in SOURCES])
    lifecycle = np.array([_file_value(s, f"grid.{x}_carbon_intensity", "g/kWh") for x in SOURCES])
    water = np.array([_file_value(s, f"grid.{x}_water_intensity", "L/kWh") for x in SOURCES])
    first = shipped_results[scenario_name].sel(year=2024)
    assert shares.sum() == pytest.approx(1.0, abs=1e-9)
    assert float(first.grid_intensity) == pytest.approx(_regional(operational), rel=1e-9)
    assert float(first.lifecycle_grid_intensity) == pytest.approx(_regional(lifecycle),
                                                                  rel=1e-9)
    assert float(first.indirect_water_intensity) == pytest.approx(_regional(water), rel=1e-9)
    # the fossil share read back is Guidi's 56 %, over the 99 % its rounded figures add up to
    assert float(first.grid_fossil_share) == pytest.approx(56.0 / 0.99, abs=0.01)
    # and the yearly totals are the intensities times the year's electricity
    energy_kwh = float(first.facility_energy) * 1e9
    assert float(first.emissions) == pytest.approx(energy_kwh * _regional(operational) / 1e12,
                                                   rel=1e-6)
    assert float(first.emissions_lifecycle) == pytest.approx(
        energy_kwh * _regional(lifecycle) / 1e12, rel=1e-6)
    assert float(first.indirect_water) == pytest.approx(energy_kwh * _regional(water) / 1e9,
                                                        rel=1e-6)


def test_location_based_is_the_operational_rates_times_the_mix_in_every_year(shipped_results):
    """Identity, computed independently: each grid region's rate (its mix times EIA's
    operational rates as the baseline file states them, parsed with pint), weighted by the
    capacity the run reports by state on 1 January, and moved as the national mix the run
    reports moves, every year."""
    s = load_scenario(BASELINE)
    rates = np.array([_file_value(s, f"grid.{x}_emission_rate", "g/kWh") for x in SOURCES])
    assert rates[SOURCES.index("coal")] > 2 * rates[SOURCES.index("natural_gas")] > 0.0
    d = regions.data()
    arrays = regions.parameter_arrays({}, 0.0)
    unit_rate = np.stack([arrays[f"unit_{x}_share"][:, 0] for x in SOURCES], axis=1) @ rates
    region = np.array([d.grid_regions.index(d.region_of[st]) for st in d.states])
    for name, ds in shipped_results.items():
        shares = np.stack([ds[f"grid_share_{x}"].values.ravel() / 100.0 for x in SOURCES])
        change = (rates @ shares) / (rates @ shares[:, 0])
        capacity = ds.state_capacity.transpose("year", "region").values
        weighted = (capacity * unit_rate[region]).sum(axis=1) / capacity.sum(axis=1)
        np.testing.assert_allclose(ds.grid_intensity.values.ravel(), weighted * change,
                                   rtol=1e-9, err_msg=name)
        # the old basis is its own labelled output, not the location-based one
        assert "life-cycle" in ds.emissions_lifecycle.attrs["long_name"].lower()
        assert "location-based" in ds.emissions.attrs["long_name"].lower()


def test_market_based_is_below_location_based_by_the_contracted_share(shipped_results):
    for name, ds in shipped_results.items():
        s = load_scenario(ROOT / "scenarios" / f"{name}.toml")
        contracted = _file_value(s, "carbon.contracted_share_start", "dimensionless")
        assert 0.0 < contracted < 1.0
        assert (ds.emissions_market_based <= ds.emissions * (1 + 1e-12)).all(), name
        assert (ds.market_grid_intensity <= ds.grid_intensity * (1 + 1e-12)).all(), name
        first = ds.sel(year=2024)
        # strictly below in the start year, by the share the contracts in place match
        assert float(first.emissions_market_based) == pytest.approx(
            float(first.emissions) * (1.0 - contracted), rel=1e-6), name
        assert float(first.contracted_share) == pytest.approx(100.0 * contracted, rel=1e-6)
        expected = ds.grid_intensity * (1.0 - ds.contracted_share / 100.0)
        np.testing.assert_allclose(ds.market_grid_intensity, expected, rtol=1e-9, err_msg=name)


def test_existing_contracts_are_a_fixed_amount_so_their_share_falls_as_load_grows():
    """Without additional contracts the contracted share falls as the load grows (the contracts
    in place are an amount of electricity, not a share), and market-based emissions grow
    faster than location-based ones."""
    p = load_scenario(BASELINE).parameter_arrays()
    p["clean_power_share_target"] = np.zeros_like(p["clean_power_share_target"])
    raw = simulate(p, 2024, 2030, 3)
    share = raw.auxiliaries["contracted_share"][:, 0]
    energy = raw.flows["facility_energy"][:, 0]
    assert share[0] == pytest.approx(float(p["contracted_share_start"][0]), rel=1e-6)
    # 1 January 2024 and 2025 bound the held start year; from then on the share falls
    assert share[1] == pytest.approx(share[0], rel=1e-6)
    assert (np.diff(share[1:]) < 0.0).all() and (np.diff(energy) > 0.0).all()
    market, location = raw.flows["emissions_market_based"][:, 0], raw.flows["emissions"][:, 0]
    assert market[-1] / market[0] > location[-1] / location[0]


def test_marginal_rate_follows_the_load_following_part_of_the_mix():
    """The marginal rate of new load is the operational rate of the coal and gas generation:
    more coal in place of gas raises it, wind in place of solar leaves it unchanged, and more
    coal in place of wind raises it without changing the electricity."""
    base = load_scenario(BASELINE).parameter_arrays()

    def moved(from_source, to_source, shift=0.03):
        ens = {k: np.repeat(v, 2, axis=-1) for k, v in base.items()}
        for when in ("start", "target"):
            ens[f"{to_source}_share_{when}"] = ens[f"{to_source}_share_{when}"] + [0.0, shift]
            ens[f"{from_source}_share_{when}"] = ens[f"{from_source}_share_{when}"] - [0.0, shift]
        return simulate(ens, 2024, 2030, 3)

    coal_for_gas = moved("natural_gas", "coal").auxiliaries["marginal_grid_intensity"]
    assert (coal_for_gas[:, 1] > coal_for_gas[:, 0]).all()
    wind_for_solar = moved("solar", "wind").auxiliaries["marginal_grid_intensity"]
    np.testing.assert_allclose(wind_for_solar[:, 1], wind_for_solar[:, 0], rtol=1e-12)
    dirtier = moved("wind", "coal", 0.04)  # the national mix sets the margin
    assert (dirtier.flows["emissions_new_load"][1:, 1]
            > dirtier.flows["emissions_new_load"][1:, 0]).all()
    # independently: the 2024 rate from the file's shares and rates
    s = load_scenario(BASELINE)
    margin = [x for x in SOURCES if x in MARGINAL_SOURCES]
    shares = np.array([_file_value(s, f"grid.{x}_share_start", "dimensionless") for x in margin])
    rates = np.array([_file_value(s, f"grid.{x}_emission_rate", "g/kWh") for x in margin])
    start = simulate(base, 2024, 2025, 3).auxiliaries["marginal_grid_intensity"][0, 0]
    assert start / G_PER_KWH == pytest.approx(float(shares @ rates / shares.sum()), rel=1e-9)


def test_new_load_emissions_are_zero_in_the_start_year_and_grow_with_the_added_load(
        shipped_results):
    base = shipped_results["baseline"]
    for name, ds in shipped_results.items():
        assert abs(float(ds.emissions_new_load.sel(year=2024))) < 1e-6, name
        assert (ds.emissions_new_load >= 0.0).all(), name
    grows = base.emissions_new_load.sel(year=slice(2025, 2030)).values
    assert (np.diff(grows.ravel()) > 0.0).all()
    # more new load, more emissions at the margin: high_growth above the baseline above low_growth
    high, low = shipped_results["high_growth"], shipped_results["low_growth"]
    assert (high.emissions_new_load.sel(year=slice(2026, 2030))
            > base.emissions_new_load.sel(year=slice(2026, 2030))).all()
    assert (low.emissions_new_load.sel(year=slice(2026, 2030))
            < base.emissions_new_load.sel(year=slice(2026, 2030))).all()
    # the marginal rate is above the average: the margin is fossil, the average is not
    assert (base.marginal_grid_intensity > base.grid_intensity).all()


def test_every_carbon_output_is_identical_across_scenarios_in_the_start_year(shipped_results):
    names = ("emissions", "emissions_market_based", "emissions_lifecycle", "emissions_new_load",
             "grid_intensity", "market_grid_intensity", "lifecycle_grid_intensity",
             "marginal_grid_intensity", "contracted_share")
    base = shipped_results["baseline"].sel(year=2024)
    for scenario, ds in shipped_results.items():
        for name in names:
            np.testing.assert_allclose(ds[name].sel(year=2024), base[name], rtol=1e-9,
                                       atol=1e-9, err_msg=f"{scenario}: {name}")


def test_a_gas_leaning_story_keeps_the_grid_dirtier_than_the_baseline(shipped_results):
    base, gas = shipped_results["baseline"], shipped_results["constrained_grid"]
    for output in ("grid_fossil_share", "grid_intensity"):
        assert float(gas[output].sel(year=2030)) > float(base[output].sel(year=2030)), output


def test_mix_average_weights_by_share_and_normalises():
    mix = np.array([[0.5, 1.0], [0.5, 1.0]])  # the second column sums to 2
    per_source = np.array([[800.0, 800.0], [0.0, 0.0]])
    np.testing.assert_allclose(impacts.mix_average(mix, per_source), [400.0, 400.0])
    assert to_base(parse_quantity("4491 gallon/MWh"), "L/kWh") == pytest.approx(
        4491 * 3.785411784 / 1000 * L_PER_KWH)


def test_bad_mix_input_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad_mix.toml"
    bad.write_text(
        '[scenario]\ntitle = "Bad mix"\ndescription = "Shares that do not add up."\n'
        f'extends = "{BASELINE.as_posix()}"\n'
        '[grid]\nsolar_share_target = { value = "40 %", source = "x" }\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "projection.outputs.cli", "run", str(bad),
                             "-o", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(bad) in lines[0] and "grid.*_share_target" in lines[0]
    assert "sum to 1.24" in lines[0]
    assert not (tmp_path / "out").exists()
