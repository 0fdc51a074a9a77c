"""States and grid regions: the start state by state reproduces its source, every state's
results add up to the nation's, a state's moratorium acts where the issue says it must, and
regional entries are checked as national ones are."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from projection.model import regions
from projection.model.ensemble import simulate
from projection.model.regions import RegionDataError
from projection.model.results import OUTPUT_BY_NAME
from projection.model.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SHIPPED = sorted(p.stem for p in SCENARIOS.glob("*.toml"))
ADDITIVE = {  # state output -> the national output it sums to
    "state_electricity": "facility_energy",
    "state_emissions": "emissions",
    "state_emissions_market_based": "emissions_market_based",
    "state_onsite_water": "onsite_water",
    "state_indirect_water": "indirect_water",
    "state_capacity": "operating_capacity",
    "state_data_centres": "data_centres",
}


def _run(name: str, end: int = 2050, **overrides: str):
    scenario = load_scenario(SCENARIOS / f"{name}.toml", end_year=end, overrides=overrides)
    return simulate(scenario.parameter_arrays(), scenario.start_year, end,
                    scenario.substeps_per_year)


@pytest.fixture(scope="module")
def to_2050():
    return {name: _run(name) for name in SHIPPED}


def _output(raw, name: str) -> np.ndarray:
    return OUTPUT_BY_NAME[name].model_values(raw)


def _state(raw, name: str) -> np.ndarray:
    """A state output in TWh, GW ... (year, state) of the first sample."""
    return _output(raw, name)[:, :, 0]


@pytest.mark.parametrize("name", SHIPPED)
def test_national_totals_are_the_sums_of_the_states_to_1e9(to_2050, name):
    raw = to_2050[name]
    for part, total in ADDITIVE.items():
        states = _output(raw, part).sum(axis=1)
        national = _output(raw, total)
        np.testing.assert_allclose(states, national, rtol=1e-9, atol=1e-9 * national.max(),
                                   err_msg=part)


def test_a_state_with_its_own_value_sums_with_the_others_too():
    raw = _run("baseline", end=2035, **{
        "regions.VA.buildout.interconnection_limit": "15 GW/yr; 2027: 0 GW/yr",
        "regions.TX.buildout.interconnection_limit": "2 GW/yr"})
    for part, total in ADDITIVE.items():
        np.testing.assert_allclose(_output(raw, part).sum(axis=1), _output(raw, total),
                                   rtol=1e-9, atol=1e-9 * _output(raw, total).max(),
                                   err_msg=part)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_state_stays_finite_non_negative_and_below_its_whole_electricity(to_2050, name):
    from projection.model.results import to_labelled

    ds = to_labelled(to_2050[name]).take("sample", 0)
    for var in ("state_electricity", "state_capacity", "state_data_centres",
                "state_peak_demand", "state_emissions", "state_emissions_market_based",
                "state_onsite_water", "state_indirect_water", "state_electricity_share"):
        values = ds[var].values
        assert np.all(np.isfinite(values)), var
        assert np.all(values >= 0.0), var
    share = ds["state_electricity_share"].values
    assert np.all(share < 100.0)


def test_start_year_places_load_where_epri_2024_puts_it():
    """Calibration: each state's share of the start year's data-centre electricity is its
    2023 load in EPRI 2024's table (share of the state's electricity x its retail sales)."""
    raw = _run("baseline", end=2025)
    d = regions.data()
    published = d.dc_share_2023 * d.retail_sales_2023
    model = _state(raw, "state_electricity")[0] / _output(raw, "facility_energy")[0, 0]
    np.testing.assert_allclose(model, published / published.sum(), rtol=1e-9, atol=1e-12)
    # the largest loads of EPRI's table lead the model's start year
    assert d.states[int(np.argmax(model))] == "VA"


MORATORIUM = "0 GW/yr"


@pytest.mark.parametrize("state", ["VA", "TX", "GA", "AZ"])
def test_a_state_moratorium_lowers_its_load_and_others_gain_at_most_what_it_displaced(state):
    before = _run("baseline", end=2035)
    after = _run("baseline", end=2035, **{
        f"regions.{state}.buildout.interconnection_limit": f"15 GW/yr; 2027: {MORATORIUM}"})
    i = regions.data().states.index(state)
    change = _state(after, "state_electricity") - _state(before, "state_electricity")
    drop = -change[:, i]
    others = change.sum(axis=1) - change[:, i]
    national = -(_output(after, "facility_energy") - _output(before, "facility_energy"))[:, 0]
    scale = 1e-9 * _state(before, "state_electricity").sum(axis=1).max()
    assert np.all(np.abs(drop[:3]) <= scale)  # through 2026 nothing changes
    assert drop[-1] > 0.0  # the state's load falls once the moratorium binds
    assert np.all(drop >= -scale)
    assert np.all(others <= drop + scale)  # others gain at most what was displaced
    assert np.all(national <= drop + scale)  # the nation loses no more than the state


def test_relocation_moves_blocked_construction_to_other_states():
    kept = _run("baseline", end=2032, **{
        "regions.VA.buildout.interconnection_limit": MORATORIUM,
        "buildout.relocation_share": "0 %"})
    moved = _run("baseline", end=2032, **{
        "regions.VA.buildout.interconnection_limit": MORATORIUM,
        "buildout.relocation_share": "100 %"})
    assert (moved.stocks["operating_capacity"][-1, 0]
            > kept.stocks["operating_capacity"][-1, 0])


def test_a_closed_grid_region_connects_nothing_in_any_of_its_states():
    raw = _run("baseline", end=2032, **{"regions.ERCOT.buildout.interconnection_limit":
                                        MORATORIUM})
    d = regions.data()
    members = [d.states.index(s) for s in d.states if d.region_of[s] == "ERCOT"]
    capacity = _state(raw, "state_capacity")[:, members].sum(axis=1)
    p = raw.parameters
    start = (p["operating_capacity_start"] * p["state_start_share"])[members, 0].sum()
    pipeline = (p["construction_pipeline_start"] * p["state_siting_share"])[members, 0].sum()
    # what the start-year capacity and pipeline leave, with nothing started since
    left = (raw.stocks["free_capacity"][:, 0] * start
            + raw.stocks["free_capacity_from_pipeline"][:, 0] * pipeline)
    np.testing.assert_allclose(capacity, left / 1e9, rtol=1e-9)  # GW
    assert capacity[-1] < capacity.max()  # once the pipeline is built, it only retires


def test_a_regional_table_in_a_scenario_file_is_read_like_a_national_one(tmp_path):
    path = tmp_path / "va.toml"
    path.write_text(
        '[scenario]\nname = "va"\ntitle = "VA"\ndescription = "VA moratorium"\n'
        'extends = "baseline"\n'
        '[regions.VA]\nbuildout.interconnection_limit = { value = "15 GW/yr", '
        'schedule = { 2027 = "0 GW/yr" }, source = "assumption: a moratorium" }\n',
        encoding="utf-8")
    scenario = load_scenario(path)
    assert "regions.VA.buildout.interconnection_limit" in scenario.resolved()
    p = scenario.parameter_arrays()
    assert "unit_interconnection_limit@times" in p


@pytest.mark.parametrize("table, needle", [
    ('[regions.ZZ]\nbuildout.interconnection_limit = { value = "0 GW/yr", source = "x" }\n',
     "regions.ZZ: unknown state or grid region"),
    ('[regions.VA]\ndemand.adoption_growth = { value = "10 %/yr", source = "x" }\n',
     "demand.adoption_growth is national"),
    ('[regions.VA]\nbuildout.interconnection_limit = { value = "0 GW/yr", low = "0 GW/yr", '
     'high = "1 GW/yr", source = "x" }\n', "takes no range"),
    ('[regions.VA]\nbuildout.interconnection_limit = { value = "0 TWh", source = "x" }\n',
     "regions.VA.buildout.interconnection_limit"),
    ('regions = 3\n', "expected tables such as [regions.VA]"),
])
def test_bad_regional_entries_are_refused_with_one_line_naming_them(tmp_path, table, needle):
    path = tmp_path / "bad.toml"
    head = ('[scenario]\nname = "bad"\ntitle = "t"\ndescription = "d"\n'
            'extends = "baseline"\n')
    if table.startswith("regions ="):
        path.write_text(table + head, encoding="utf-8")
    else:
        path.write_text(head + table, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = str(err.value)
    assert needle in message and "\n" not in message


def test_set_reaches_one_state_from_the_command_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "projection.outputs.cli", "run",
         str(SCENARIOS / "baseline.toml"), "--output", str(tmp_path / "out"),
         "--set", "regions.VA.buildout.interconnection_limit=15 GW/yr; 2027: 0 GW/yr"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "projection.outputs.cli", "run",
         str(SCENARIOS / "baseline.toml"), "--output", str(tmp_path / "bad"),
         "--set", "regions.VX.buildout.interconnection_limit=0 GW/yr"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "regions.VX" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "bad").exists()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("edit, needle", [
    (lambda t: t.replace(",pipeline_share,", ",pipeline,", 1), "pipeline_share: column"),
    (lambda t: t.replace("\nAL,Alabama,USA|Alabama,SOUTHEAST,1.7,",
                         "\nAL,Alabama,USA|Alabama,SOUTHEAST,x1.7,", 1), "AL.dc_share_2023"),
    (lambda t: t.replace("\nAL,Alabama,USA|Alabama,SOUTHEAST,",
                         "\nAL,Alabama,USA|Alabama,NOWHERE,", 1), "AL.grid_region"),
])
def test_a_damaged_regional_data_file_is_refused_with_one_line(tmp_path, edit, needle):
    states = _write(tmp_path / "states.csv", edit(regions.STATES_FILE.read_text("utf-8")))
    grid = _write(tmp_path / "grid.csv", regions.GRID_REGIONS_FILE.read_text("utf-8"))
    with pytest.raises(RegionDataError) as err:
        regions.read(states, grid)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_the_shipped_regional_files_hold_every_state_once_with_sources():
    import tomllib

    d = regions.data()
    assert len(d.states) == 51 and len(set(d.states)) == 51 and "DC" in d.states
    assert abs(d.pipeline_share.sum() - 1.0) < 1e-12
    np.testing.assert_allclose(d.mix.sum(axis=1), 1.0, rtol=1e-12)
    meta = tomllib.loads(regions.METADATA_FILE.read_text("utf-8"))
    text = str(meta)
    for column in ("dc_share_2023", "retail_sales_2023", "pipeline_share", "connection_limit"):
        assert column in text
