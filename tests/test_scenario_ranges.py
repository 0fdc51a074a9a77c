"""Every scenario carries every declared range: a child that overrides a value keeps its
parent's range unless it declares its own; ``scenarios --diff`` shows the ranges."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from projection.model.scenario import ScenarioError, load_scenario, shipped_scenarios
from projection.model.units import SECONDS_PER_YEAR

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"


def child(tmp_path: Path, body: str, parent: Path = BASELINE, name: str = "child.toml") -> Path:
    path = tmp_path / name
    path.write_text(f'[scenario]\ntitle = "Test"\ndescription = "A test."\n'
                    f'extends = "{parent.as_posix()}"\n{body}', encoding="utf-8")
    return path


@pytest.mark.parametrize("path", shipped_scenarios(), ids=lambda p: p.stem)
def test_every_shipped_scenario_carries_every_range_the_baseline_declares(path):
    baseline = load_scenario(BASELINE).distributions()
    ours = load_scenario(path).distributions()
    assert set(ours) >= set(baseline), sorted(set(baseline) - set(ours))


def test_high_growth_keeps_the_baseline_range_of_the_values_it_overrides():
    s = load_scenario(ROOT / "scenarios" / "high_growth.toml")
    e = s.entries["demand.adoption_growth"]
    assert e.text == "380 %/yr" and e.range_file == str(BASELINE)
    assert e.distribution_text == {"dist": "uniform", "low": "55 %/yr", "high": "380 %/yr"}
    assert s.resolved()["demand.adoption_growth"]["range_file"] == str(BASELINE)


def test_a_child_range_of_its_own_replaces_the_parent_range(tmp_path):
    s = load_scenario(child(tmp_path, '[demand]\nadoption_growth = { value = "100 %/yr", low = '
                                      '"80 %/yr", high = "120 %/yr", source = "t" }\n'))
    e = s.entries["demand.adoption_growth"]
    assert e.range_file is None
    assert e.low * SECONDS_PER_YEAR == pytest.approx(0.8)


def test_a_kept_normal_range_is_centred_on_the_new_value(tmp_path):
    parent = child(tmp_path, '[demand]\nrebound_elasticity = { value = "0.3", dist = "normal", '
                   'sd = "0.15", low = "0", high = "1", source = "t" }\n', name="parent.toml")
    s = load_scenario(child(tmp_path, '[demand]\nrebound_elasticity = { value = "0.6", '
                                      'source = "t" }\n', parent=parent))
    d = s.entries["demand.rebound_elasticity"].distribution
    assert d.kind == "normal" and d.center == pytest.approx(0.6) and d.sd == pytest.approx(0.15)
    assert s.entries["demand.rebound_elasticity"].range_file == str(parent)


def test_a_grandchild_keeps_the_range_from_where_it_was_declared(tmp_path):
    middle = child(tmp_path, '[demand]\nadoption_growth = { value = "100 %/yr", source = "t" }\n',
                   name="middle.toml")
    s = load_scenario(child(tmp_path, '[demand]\nadoption_growth = { value = "200 %/yr", '
                                      'source = "t" }\n', parent=middle))
    assert s.entries["demand.adoption_growth"].range_file == str(BASELINE)


def test_a_child_value_outside_the_kept_range_is_refused_naming_the_key(tmp_path):
    path = child(tmp_path, '[demand]\nadoption_growth = { value = "10 %/yr", source = "t" }\n')
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: demand.adoption_growth: value '10 %/yr'")
    assert "outside the range of" in message and "declare its own low and high" in message
    assert "\n" not in message


def test_an_override_outside_the_range_is_held_fixed_and_says_so():
    s = load_scenario(BASELINE, overrides={"buildout.interconnection_limit": "0 GW/yr"})
    e = s.entries["buildout.interconnection_limit"]
    assert e.distribution is None and "buildout.interconnection_limit" not in s.distributions()
    assert s.resolved()["buildout.interconnection_limit"]["range_file"].startswith(
        "none: the value lies outside the range of")
    inside = load_scenario(BASELINE, overrides={"buildout.interconnection_limit": "10 GW/yr"})
    assert "buildout.interconnection_limit" in inside.distributions()


def test_scenarios_diff_shows_ranges_and_levers_apart(tmp_path):
    result = subprocess.run([sys.executable, "-m", "projection.outputs.cli", "scenarios",
                             "--diff", "baseline", "high_growth"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    declared = len(load_scenario(BASELINE).distributions())
    assert f"uncertain inputs: {declared} and {declared}" in lines[0]
    levers = lines.index("Policy levers (what a government, utility or operator decides)")
    assumptions = lines.index("Assumptions (what the world does)")
    assert levers < lines.index("buildout.interconnection_limit") < assumptions
    assert assumptions < lines.index("demand.adoption_growth")
    at = lines.index("demand.adoption_growth")
    assert "range uniform 55 %/yr to 380 %/yr" in lines[at + 1]
    assert "range uniform 55 %/yr to 380 %/yr, kept from" in lines[at + 2]


def test_scenarios_lists_the_levers(tmp_path):
    from projection.model.parameters import LEVERS

    result = subprocess.run([sys.executable, "-m", "projection.outputs.cli", "scenarios"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    start = text.index("Policy levers")
    end = text.index("Assumptions (what the world does)")
    assert {line.split()[0] for line in text[start:end].splitlines()[1:]} == set(LEVERS)


def test_every_parameter_is_a_lever_or_an_assumption():
    from projection.model.parameters import LEVERS, PARAMETERS

    assert {p.role for p in PARAMETERS} == {"lever", "assumption"}
    assert LEVERS <= {p.key for p in PARAMETERS}
    assert all((p.role == "lever") == (p.key in LEVERS) for p in PARAMETERS)


def test_dist_fixed_drops_the_parent_range(tmp_path):
    s = load_scenario(child(tmp_path, '[demand]\nadoption_growth = { value = "10 %/yr", dist = '
                                      '"fixed", source = "t" }\n'))
    e = s.entries["demand.adoption_growth"]
    assert e.distribution is None and "demand.adoption_growth" not in s.distributions()
    assert s.resolved()["demand.adoption_growth"]["dist"] == "fixed"
    with pytest.raises(ScenarioError, match="adoption_growth.low: is not used by dist = 'fixed'"):
        load_scenario(child(tmp_path, '[demand]\nadoption_growth = { value = "10 %/yr", dist = '
                                      '"fixed", low = "5 %/yr", source = "t" }\n', name="b.toml"))
