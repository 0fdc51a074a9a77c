"""Scenario files: units checked by pint, sources required, every class of bad input refused."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from projection.model.parameters import PARAMETERS, WORKLOADS
from projection.model.scenario import (
    ScenarioError,
    all_keys,
    load_scenario,
    shipped_scenarios,
)
from projection.model.units import SECONDS_PER_YEAR

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"


def child(tmp_path: Path, body: str, name: str = "child.toml", header: str | None = None) -> Path:
    """A scenario that extends the shipped baseline with ``body`` appended."""
    header = header if header is not None else (
        f'[scenario]\ntitle = "Test"\ndescription = "A test scenario."\n'
        f'extends = "{BASELINE.as_posix()}"\n'
    )
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def test_every_shipped_scenario_loads_with_a_source_for_every_value():
    paths = shipped_scenarios()
    names = {p.stem for p in paths}
    assert {"baseline", "high_growth", "low_growth", "efficiency_push", "constrained_grid"} <= names
    for path in paths:
        s = load_scenario(path)
        assert s.title and len(s.description) > 80, f"{path.name} needs a story"
        assert set(s.entries) == set(all_keys())
        for key, entry in s.entries.items():
            assert len(entry.source) > 10, f"{path.name}: {key} has no real source"


def test_units_are_converted_to_si_and_rates_to_continuous():
    s = load_scenario(BASELINE)
    p = s.parameter_arrays()
    twh_per_year = 1e12 * 3600 / SECONDS_PER_YEAR  # W
    assert p["facility_energy_start"][0] == pytest.approx(200 * twh_per_year)
    assert p["active_parameters"][WORKLOADS.index("small_text"), 0] == 8e9
    # "18 %/yr" compound is ln(1.18) per year, continuous
    assert p["historical_growth"][0] * SECONDS_PER_YEAR == pytest.approx(math.log(1.18))
    assert p["conventional_wue"][0] == pytest.approx(0.5e-3 / 3.6e6)  # 0.5 L/kWh in m3 per J
    assert p["request_share_start"].shape == (len(WORKLOADS), 1)
    assert np.isclose(p["request_share_start"].sum(), 1.0)


def test_extends_overrides_only_what_differs(tmp_path):
    path = child(tmp_path, '[demand]\nadoption_growth = { value = "100 %/yr", source = "test" }\n')
    s = load_scenario(path)
    base = load_scenario(BASELINE)
    assert s.entries["demand.adoption_growth"].text == "100 %/yr"
    assert s.entries["demand.adoption_growth"].file == str(path)
    assert s.entries["start.facility_energy_start"] == base.entries["start.facility_energy_start"]
    assert s.files == [path, BASELINE]
    assert s.sha256 != base.sha256


def test_shipped_scenario_name_resolves_for_extends(tmp_path):
    header = '[scenario]\ntitle = "T"\ndescription = "D."\nextends = "high_growth"\n'
    s = load_scenario(child(tmp_path, "", header=header))
    high = load_scenario(ROOT / "scenarios" / "high_growth.toml")
    assert s.entries["demand.adoption_growth"].text == high.entries["demand.adoption_growth"].text
    assert s.files[1].name == "high_growth.toml" and s.files[2].name == "baseline.toml"


def test_uncertainty_range_is_read(tmp_path):
    body = ('[demand]\nadoption_growth = { value = "80 %/yr", low = "50 %/yr", high = "1.1 /yr",'
            ' source = "test" }\n')
    s = load_scenario(child(tmp_path, body))
    low, high = s.uncertain()["demand.adoption_growth"]
    assert low * SECONDS_PER_YEAR == pytest.approx(0.5)
    assert high * SECONDS_PER_YEAR == pytest.approx(1.1)


BAD_INPUTS = [
    # (body appended to a child of baseline, key named in the message, words expected)
    ('[start]\nfacility_energy_start = { value = "200 TWh", source = "x" }\n',
     "start.facility_energy_start", "dimension"),
    ('[start]\nfacility_energy_start = { value = "200", source = "x" }\n',
     "start.facility_energy_start", "dimension"),
    ('[start]\nfacility_energy_start = { value = 200, source = "x" }\n',
     "start.facility_energy_start", "no unit"),
    ('[start]\nfacility_energy_start = { value = "two hundred TWh/yr", source = "x" }\n',
     "start.facility_energy_start", "cannot read"),
    ('[start]\nfacility_energy_start = { value = "-5 TWh/yr", source = "x" }\n',
     "start.facility_energy_start", "greater than zero"),
    ('[start]\nfacility_energy_start = { value = "nan TWh/yr", source = "x" }\n',
     "start.facility_energy_start", "finite"),
    ('[start]\nfacility_energy_start = { value = "inf TWh/yr", source = "x" }\n',
     "start.facility_energy_start", "finite"),
    ('[start]\nfacility_energy_start = { value = "200 TWh/yr" }\n',
     "start.facility_energy_start", "no source"),
    ('[start]\nfacility_energy_start = "200 TWh/yr"\n',
     "start.facility_energy_start", "expected {"),
    ('[start]\nfacility_energy = { value = "200 TWh/yr", source = "x" }\n',
     "start.facility_energy", "did you mean 'facility_energy_start'"),
    ('[demand]\nadoption_grwth = { value = "80 %/yr", source = "x" }\n',
     "demand.adoption_grwth", "did you mean 'adoption_growth'"),
    ('[demnd]\nadoption_growth = { value = "80 %/yr", source = "x" }\n',
     "demnd", "did you mean 'demand'"),
    ('[workloads.vidoe]\nactive_parameters = { value = "1e9", source = "x" }\n',
     "workloads.vidoe", "did you mean 'video'"),
    ('[workloads.video]\nrequest_share_start = { value = "5 %", source = "x" }\n',
     "workloads.*.request_share_start", "sum to"),
    ('[grid]\ncoal_share_start = { value = "30 %", source = "x" }\n',
     "grid.*_share_start", "sum to 1.1384"),
    ('[grid]\nwind_share_target = { value = "4 %", source = "x" }\n',
     "grid.*_share_target", "sum to"),
    ('[grid]\ncoal_share_start = { value = "16.16 %", low = "10 %", high = "20 %", '
     'source = "x" }\n', "grid.coal_share_start", "cannot be uncertain"),
    ('[grid]\nhydro_water_intensity = { value = "4491 g/kWh", source = "x" }\n',
     "grid.hydro_water_intensity", "dimension"),
    ('[grid]\ncoal_carbon_intensity = { value = "-820 g/kWh", source = "x" }\n',
     "grid.coal_carbon_intensity", "must not be negative"),
    ('[carbon]\ngrid_intensity_change = { value = "-3 %/yr", source = "x" }\n',
     "carbon.grid_intensity_change", "unknown key"),
    ('[buildout]\nmax_utilisation = { value = "120 %", source = "x" }\n',
     "buildout.max_utilisation", "between 0 and 1"),
    ('[facility]\nai_pue_target = { value = "0.9", source = "x" }\n',
     "facility.ai_pue_target", "at least 1"),
    ('[demand]\nadoption_growth = { value = "-150 %/yr", source = "x" }\n',
     "demand.adoption_growth", "-100 %/yr"),
    ('[buildout]\nmax_utilisation = { value = "50 %", source = "x" }\n',
     "start.load_factor_start", "max_utilisation"),
    ('[demand]\nadoption_growth = { value = "80 %/yr", low = "90 %/yr", high = "1 /yr",'
     ' source = "x" }\n', "demand.adoption_growth", "low <= value <= high"),
    ('[demand]\nadoption_growth = { value = "80 %/yr", low = "50 %/yr", source = "x" }\n',
     "demand.adoption_growth", "both low and high"),
    ('[demand]\nadoption_growth = { value = "80 %/yr", sorce = "x" }\n',
     "demand.adoption_growth.sorce", "did you mean 'source'"),
]


@pytest.mark.parametrize(("body", "key", "words"), BAD_INPUTS)
def test_bad_value_gives_one_line_naming_file_and_key(tmp_path, body, key, words):
    path = child(tmp_path, body)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path)) or message.startswith(str(BASELINE))
    assert key in message
    assert words in message


BAD_SETTINGS = [
    ("end_year = 2020\n", "end_year", "2025"),
    ("end_year = 2200\n", "end_year", "2050"),
    ('end_year = "2030"\n', "end_year", "whole number"),
    ("start_year = 1990\n", "start_year", "2000"),
    ("substeps_per_year = 0\n", "substeps_per_year", "from 1"),
    ("colour = 1\n", "scenario.colour", "unknown key"),
]


@pytest.mark.parametrize(("line", "key", "words"), BAD_SETTINGS)
def test_bad_setting_is_refused(tmp_path, line, key, words):
    header = (f'[scenario]\ntitle = "T"\ndescription = "D."\n'
              f'extends = "{BASELINE.as_posix()}"\n{line}')
    with pytest.raises(ScenarioError) as info:
        load_scenario(child(tmp_path, "", header=header))
    assert key in str(info.value) and words in str(info.value)


def test_missing_parameter_is_named(tmp_path):
    text = BASELINE.read_text(encoding="utf-8")
    text = re.sub(r"^ai_pue_target = .*$", "", text, flags=re.M)
    path = tmp_path / "nopue.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"facility\.ai_pue_target: missing"):
        load_scenario(path)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "no such file"),
        ("[scenario\ntitle=", "not valid TOML"),
        (b"\xff\xfe\x00", "not UTF-8"),
        ('[start]\nfacility_energy_start = { value = "200 TWh/yr", source = "x" }\n',
         "missing [scenario]"),
        ('[scenario]\ntitle = "T"\n', "scenario.description"),
        ('[scenario]\ntitle = "T"\ndescription = "D"\nextends = "no_such_scenario"\n',
         "no such scenario"),
    ],
)
def test_unreadable_files_are_refused(tmp_path, content, words):
    path = tmp_path / "bad.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ScenarioError, match=re.escape(words)):
        load_scenario(path)


def test_extends_loop_is_refused(tmp_path):
    a = tmp_path / "a.toml"
    b = tmp_path / "b.toml"
    a.write_text('[scenario]\ntitle = "A"\ndescription = "A."\nextends = "b.toml"\n')
    b.write_text('[scenario]\ntitle = "B"\ndescription = "B."\nextends = "a.toml"\n')
    with pytest.raises(ScenarioError, match="loop"):
        load_scenario(a)


def test_parameter_table_has_no_duplicates_and_known_units():
    keys = [p.key for p in PARAMETERS]
    assert len(keys) == len(set(keys))
    from projection.model.units import ureg

    for p in PARAMETERS:
        ureg.Quantity(1.0, p.unit)  # every declared unit parses
        assert p.description.endswith("."), p.name


def test_extends_path_is_relative_to_the_extending_file_not_the_working_directory(
        tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    decoy = tmp_path / "parent.toml"  # in the working directory: must not be used
    decoy.write_text("this is not TOML [")
    real = tmp_path / "sub" / "parent.toml"
    real.write_text(BASELINE.read_text(encoding="utf-8"), encoding="utf-8")
    kid = tmp_path / "sub" / "kid.toml"
    kid.write_text('[scenario]\ntitle = "K"\ndescription = "K."\nextends = "parent.toml"\n')
    monkeypatch.chdir(tmp_path)
    s = load_scenario(kid)
    assert s.files == [kid, real]


@pytest.mark.parametrize(
    ("body", "key", "words"),
    [
        ('[demand]\nadoption_growth = { value = "-100 %/yr", source = "x" }\n',
         "demand.adoption_growth", "-100 %/yr"),
        ('[demand]\nadoption_growth = { value = "-1 /yr", source = "x" }\n',
         "demand.adoption_growth", "-100 %/yr"),
        ('[start]\nfacility_energy_start = { value = "TWh/yr", source = "x" }\n',
         "start.facility_energy_start", "number first"),
        ('[start]\nload_factor_start = { value = "%", source = "x" }\n',
         "start.load_factor_start", "number first"),
        ('[start]\nfacility_energy_start = { value = "10**10**10 TWh/yr", source = "x" }\n',
         "start.facility_energy_start", "1e9"),
        ('[hardware]\nprocurement_time = { value = "1 day", source = "x" }\n',
         "hardware.procurement_time", "substeps_per_year to at least"),
        ('[buildout]\nconstruction_time = { value = "0.1 yr", source = "x" }\n',
         "buildout.construction_time", "substeps_per_year to at least"),
    ],
)
def test_values_the_equations_cannot_follow_are_refused(tmp_path, body, key, words):
    with pytest.raises(ScenarioError) as info:
        load_scenario(child(tmp_path, body))
    assert key in str(info.value) and words in str(info.value)


def test_more_substeps_admit_a_short_time_constant(tmp_path):
    body = '[hardware]\nprocurement_time = { value = "0.1 yr", source = "x" }\n'
    with pytest.raises(ScenarioError, match="at least 10"):
        load_scenario(child(tmp_path, body))
    assert load_scenario(child(tmp_path, body), substeps_per_year=10).substeps_per_year == 10


@pytest.mark.parametrize(
    ("line", "key"),
    [('name = "../../x"\n', "scenario.name"), ('name = "a b"\n', "scenario.name"),
     ('title = """two\nlines"""\n', "scenario.title")],
)
def test_names_and_titles_that_would_break_outputs_are_refused(tmp_path, line, key):
    header = (f'[scenario]\ndescription = "D."\nextends = "{BASELINE.as_posix()}"\n{line}'
              + ('title = "T"\n' if "title" not in line else ""))
    with pytest.raises(ScenarioError, match=re.escape(key)):
        load_scenario(child(tmp_path, "", header=header))


def test_bare_name_is_not_confused_with_a_folder(tmp_path, monkeypatch):
    from projection.model.scenario import resolve_scenario_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "baseline").mkdir()
    assert resolve_scenario_path("baseline") == ROOT / "scenarios" / "baseline.toml" or \
        resolve_scenario_path("baseline").name == "baseline.toml"


# --- the unit memo: pint's answers remembered across runs ---------------------------------------

@pytest.fixture
def memo_folder(tmp_path, monkeypatch):
    """An empty unit memo of its own (in ``tmp_path``), forgotten again afterwards."""
    from projection.model import units

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(units, "_memo_cache", None)
    yield tmp_path
    units._memo_cache = None


def test_values_read_through_the_unit_memo_equal_pint_s_to_the_last_bit(memo_folder):
    from projection.model import units
    from projection.model.safe_io import load_toml
    from projection.model.scenario import parameter_for_key, shipped

    cases = set()
    for path in shipped():
        table = load_toml(path, what="a scenario file")[0]
        for section, entries in table.items():
            if section == "scenario" or not isinstance(entries, dict):
                continue
            stack = [(section, entries)]
            while stack:
                prefix, items = stack.pop()
                for name, raw in items.items():
                    if isinstance(raw, dict) and "value" in raw:
                        unit = parameter_for_key(f"{prefix}.{name}").unit
                        for field in ("value", "low", "high", "mode", "sd"):
                            if field in raw:
                                cases.add((str(raw[field]) if isinstance(raw[field], str)
                                           else raw[field], unit))
                    elif isinstance(raw, dict):
                        stack.append((f"{prefix}.{name}", raw))
    assert len(cases) > 50
    for value, unit in sorted(cases, key=str):
        expected = units.to_base(units.parse_quantity(value), unit)
        assert units.read_value(value, unit, require_unit=False) == expected  # asks pint
        assert units.read_value(value, unit, require_unit=False) == expected  # remembered
    assert list(memo_folder.glob("projection/units-*.json"))
    units._memo_cache = None  # a new process: the memo comes from the file
    for value, unit in sorted(cases, key=str):
        assert units.read_value(value, unit, require_unit=False) == units.to_base(
            units.parse_quantity(value), unit)


def test_a_remembered_unit_is_still_checked_and_refused_as_before(memo_folder):
    from projection.model import units
    from projection.model.units import UnitError, read_value

    assert read_value("200 TWh/yr", "W") == pytest.approx(200e12 * 3600 / SECONDS_PER_YEAR)
    for text, unit, words in [("200 TWh/yr", "J", "dimension"), ("nan TWh/yr", "W", "finite"),
                              ("10 500 kWh/yr", "W", "second number"), (5, "W", "no unit")]:
        with pytest.raises(UnitError, match=words):
            read_value(text, unit)
    units._memo_cache = None
    (memo_folder / "projection").mkdir(exist_ok=True)
    for path in (memo_folder / "projection").glob("units-*.json"):
        path.write_text("{not json")  # a damaged memo is ignored and written again
    assert read_value("2 GW", "W") == 2e9


def test_a_second_run_reads_the_scenario_without_pint(tmp_path):
    import os
    import subprocess
    import sys

    code = ("import sys; from projection.model.scenario import load_scenario, find_scenario; "
            "load_scenario(find_scenario('high_growth')); print('pint' in sys.modules)")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, check=True).stdout.strip() for _ in range(2)]
    assert runs == ["True", "False"]
