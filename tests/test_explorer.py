"""The explorer page (``projection explore``) as a reader uses it, in real headless Chromium.

The page is written by the command line, opened from disk, and driven over the DevTools
protocol: sliders moved with the keyboard, the share link opened, the TOML export run by the
model in Python. Figures are compared with ``projection run`` (the numpy engine) to 1e-9.
Without Chromium these tests skip, except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from headless import FirefoxPage, Page, browser_or_none, firefox_or_none

from projection.model.run import run_labelled
from projection.model.scenario import all_keys, find_scenario, load_scenario

END_YEAR = 2036
COMMAND = [sys.executable, "-m", "projection.outputs.cli", "explore"]
KEY = "buildout.interconnection_limit"


def projection(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300, check=False)


@pytest.fixture(scope="module")
def browser() -> str:
    found = browser_or_none()
    if found is None:
        message = "no Chromium on PATH: install Debian's 'chromium' package"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def made(tmp_path_factory, browser) -> Path:
    """The page, written once by the command line."""
    folder = tmp_path_factory.mktemp("explore")
    done = projection("baseline", "--end-year", str(END_YEAR), "-o", str(folder / "ex.html"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Wrote ")
    return folder / "ex.html"


@pytest.fixture
def page(made, browser):
    with Page(made, browser) as opened:
        assert opened.evaluate("window.explorer && window.explorer.ready") is True
        yield opened


def page_outputs(page: Page) -> dict:
    return json.loads(page.evaluate("JSON.stringify(window.explorer.result.outputs)"))


def assert_matches_run(outputs: dict, ds) -> None:
    """Every national output (the page shows the nation; the states are in the files)."""
    for name, var in ds.data_vars.items():
        if "region" in var.dims:
            continue
        expected = np.asarray(var.values, dtype=float)
        got = np.asarray(outputs[name], dtype=float).reshape(expected.shape)
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=0, err_msg=name)


def scenario_with(overrides: dict[str, str] | None = None):
    return load_scenario(find_scenario("baseline"), end_year=END_YEAR, overrides=overrides)


def test_page_loads_nothing_but_its_own_file_and_reports_no_error(made, page):
    assert page.all_requests == [made.resolve().as_uri()]
    assert page.requests == []
    assert page.errors == []


def test_opened_page_shows_what_projection_run_computes(page):
    assert_matches_run(page_outputs(page), run_labelled(scenario_with()))
    figure = page.evaluate(
        "(() => { const f = document.querySelector('#headline [data-variable=facility_energy]');"
        " return [Number(f.dataset.value), Number(f.dataset.year)]; })()")
    ds = run_labelled(scenario_with())
    expected = float(ds["facility_energy"].values[list(ds["year"].values).index(figure[1])])
    assert figure[0] == pytest.approx(expected, rel=1e-9)


def test_every_control_is_a_labelled_input_named_by_its_key_with_the_unit_of_its_value(page):
    controls = page.evaluate(
        "Array.from(document.querySelectorAll('input, select, textarea')).map(i => ({"
        "name: i.name, unit: i.dataset.unit, type: i.type, labelled: i.labels.length > 0}))")
    assert all(c["name"] and c["unit"] and c["labelled"] for c in controls), controls
    parameters = {c["name"]: c["unit"] for c in controls if c["type"] == "range"
                  and not c["name"].startswith("view.")}
    assert set(parameters) == set(all_keys())
    assert parameters[KEY] == "GW/yr"
    assert parameters["facility.ai_pue_target"] == "dimensionless"


def test_every_headline_figure_names_its_output_and_year(page):
    figures = page.evaluate(
        "Array.from(document.querySelectorAll('#headline .figure')).map(f => "
        "[f.dataset.variable, f.dataset.year, f.dataset.value])")
    assert len(figures) >= 10
    assert all(v and y and np.isfinite(float(x)) for v, y, x in figures)
    assert {"facility_energy", "emissions", "emissions_market_based", "onsite_water",
            "indirect_water", "chat_energy_per_request"} <= {v for v, _, _ in figures}


def move_slider(page: Page, key: str, presses: int) -> str:
    """Focus the slider of ``key`` and press the right arrow ``presses`` times; its value."""
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    page.evaluate(f"document.querySelector('input[name=\"{key}\"]').focus()")
    for _ in range(presses):
        page.key("ArrowRight")
    return page.evaluate(f"document.querySelector('input[name=\"{key}\"]').value")


def test_moving_a_slider_with_the_keyboard_changes_the_figures_as_projection_run_predicts(page):
    before = page_outputs(page)
    value = move_slider(page, KEY, 5)
    assert float(value) != 15.0
    after = page_outputs(page)
    assert after["facility_energy"] != before["facility_energy"]
    assert_matches_run(after, run_labelled(scenario_with({KEY: f"{value} GW/yr"})))
    # the start year is calibrated and held: a lever changes only the years after it
    assert after["facility_energy"][0] == pytest.approx(before["facility_energy"][0], rel=1e-9)


def test_share_link_restores_the_scenario_exactly(page):
    move_slider(page, KEY, 3)
    move_slider(page, "facility.ai_pue_target", 4)
    link = page.evaluate("document.getElementById('share-link').value")
    assert "#" in link and KEY in link
    values = page.evaluate("JSON.stringify(Object.fromEntries(Array.from("
                           "document.querySelectorAll('input[type=range]')).map(i => "
                           "[i.name, i.value])))")
    outputs = page_outputs(page)
    page.navigate("about:blank")
    page.navigate(link)
    assert page.evaluate("window.explorer && window.explorer.ready") is True
    assert page.evaluate("JSON.stringify(Object.fromEntries(Array.from("
                         "document.querySelectorAll('input[type=range]')).map(i => "
                         "[i.name, i.value])))") == values
    assert page_outputs(page) == outputs
    assert page.errors == []


def test_toml_export_run_by_projection_reproduces_the_page(page, tmp_path):
    value = move_slider(page, KEY, 7)
    move_slider(page, "demand.adoption_growth", 2)
    text = page.evaluate("document.getElementById('toml').value")
    assert f'interconnection_limit = {{ value = "{value} GW/yr"' in text
    exported = tmp_path / "explorer-scenario.toml"
    exported.write_text(text, encoding="utf-8")
    ds = run_labelled(load_scenario(exported))
    assert_matches_run(page_outputs(page), ds)
    command = page.evaluate("document.getElementById('command').value")
    assert command.startswith("projection brief baseline") and f"{KEY}={value}" in command
    assert_run_command_reproduces(page, tmp_path)


def test_page_works_in_firefox_as_in_chromium(made, tmp_path):
    firefox = firefox_or_none()
    if firefox is None:
        pytest.skip("no Firefox on PATH (Debian: apt-get install firefox-esr)")
    with FirefoxPage(made, firefox) as page:
        assert page.evaluate("window.explorer && window.explorer.ready") is True
        assert_matches_run(page.evaluate("window.explorer.result.outputs"),
                           run_labelled(scenario_with()))
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        page.evaluate(f"document.querySelector('input[name=\"{KEY}\"]').focus()")
        for _ in range(4):
            page.key("ArrowRight")
        value = page.evaluate(f"document.querySelector('input[name=\"{KEY}\"]').value")
        assert float(value) != 15.0
        assert_matches_run(page.evaluate("window.explorer.result.outputs"),
                           run_labelled(scenario_with({KEY: f"{value} GW/yr"})))
        # (Firefox loads fonts of its own from data: URLs, and may not report the file itself)
        assert {u for u in page.all_requests if not u.startswith("data:")} <= {
            made.resolve().as_uri()}
        assert page.requests == []
        assert page.errors == []


def test_explore_with_an_unknown_scenario_is_one_line_naming_it_and_writes_nothing(tmp_path):
    done = projection("baselin", "-o", str(tmp_path / "ex.html"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "baselin" in done.stderr
    assert "did you mean 'baseline'" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_explore_never_replaces_a_file_that_is_not_an_explorer_page(tmp_path):
    mine = tmp_path / "notes.html"
    mine.write_text("<p>my notes</p>", encoding="utf-8")
    done = projection("-o", str(mine), "--end-year", "2026")
    assert done.returncode == 2 and "is not an explorer page" in done.stderr
    assert mine.read_text(encoding="utf-8") == "<p>my notes</p>"
    done = projection("-o", str(tmp_path / "explorer.txt"))
    assert done.returncode == 2 and "--output" in done.stderr


def test_explore_under_a_terminal_writes_the_page_and_replaces_its_own(tmp_path):
    target = tmp_path / "ex.html"
    command = " ".join([*COMMAND, "high_growth", "--end-year", "2027", "-o", str(target)])
    for _ in range(2):  # the second run replaces the page the first wrote
        done = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True,
                              text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stdout
        assert "Wrote" in done.stdout
    text = target.read_text(encoding="utf-8")
    assert '<meta name="generator" content="projection explore' in text
    assert "https://" not in text.split("<script")[0]  # no stylesheet or font from the network


def test_moratorium_from_2028_gives_zero_construction_starts_while_it_holds(page, tmp_path):
    page.evaluate(f"document.querySelector('input[name=\"{KEY}\"]').focus()")
    page.key("Home")  # the slider's lowest value: no new grid connections
    assert page.evaluate(f"document.querySelector('input[name=\"{KEY}\"]').value") == "0"
    page.evaluate(f"document.querySelector('input[name=\"{KEY}:from\"]').focus()")
    for _ in range(4):
        page.key("ArrowUp")
    assert page.evaluate(f"document.querySelector('input[name=\"{KEY}:from\"]').value") == "2028"
    outputs = page_outputs(page)
    starts = np.asarray(outputs["construction_starts"])
    years = list(range(2024, END_YEAR + 1))
    assert np.all(starts[years.index(2028):] == 0.0)
    assert np.all(starts[1:years.index(2028)] > 0)  # (none in the held start year)
    # the start year and the years before the moratorium are the scenario's
    before = run_labelled(scenario_with())
    assert outputs["facility_energy"][:4] == pytest.approx(
        list(before["facility_energy"].values[:4]), rel=1e-9)
    # as projection run --set and the exported file predict
    assert_matches_run(outputs, run_labelled(scenario_with({KEY: "15 GW/yr; 2028: 0 GW/yr"})))
    text = page.evaluate("document.getElementById('toml').value")
    assert 'schedule = { 2028 = "0 GW/yr" }' in text
    exported = tmp_path / "moratorium.toml"
    exported.write_text(text, encoding="utf-8")
    assert_matches_run(outputs, run_labelled(load_scenario(exported)))
    command = page.evaluate("document.getElementById('command').value")
    assert f"--set '{KEY}=15 GW/yr; 2028: 0 GW/yr'" in command
    assert_run_command_reproduces(page, tmp_path)


def assert_run_command_reproduces(page: Page, tmp_path: Path) -> None:
    """The page's `projection run` command, run, writes the page's figures (to 1e-9)."""
    import shlex

    import xarray as xr

    words = shlex.split(page.evaluate("document.getElementById('run-command').value"))
    assert words[:2] == ["projection", "run"]
    done = subprocess.run([sys.executable, "-m", "projection.outputs.cli", *words[1:], "-o",
                           str(tmp_path / "run"), "-q"], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    with xr.open_dataset(tmp_path / "run" / "projection.nc") as ds:
        outputs = page_outputs(page)
        for name in ("facility_energy", "construction_starts", "emissions_market_based"):
            np.testing.assert_allclose(np.asarray(outputs[name]),
                                       ds[name].values.reshape(-1), rtol=1e-9, atol=0)


def test_page_written_with_set_opens_on_those_values_as_projection_run_with_set(browser,
                                                                                tmp_path):
    from projection.model.settings import OPTION, parse_settings

    settings = [f"{KEY}=15 GW/yr; 2029: 2 GW/yr", "facility.ai_pue_target=1.12"]
    target = tmp_path / "set.html"
    done = projection("--end-year", str(END_YEAR), "-o", str(target),
                      *[x for s in settings for x in ("--set", s)])
    assert done.returncode == 0, done.stderr
    expected = run_labelled(load_scenario(find_scenario("baseline"), end_year=END_YEAR,
                                          overrides=parse_settings(settings), origin=OPTION))
    with Page(target, browser) as page:
        assert page.evaluate("window.explorer.ready") is True
        assert page.evaluate(f"document.querySelector('input[name=\"{KEY}:from\"]').value") \
            == "2029"
        assert_matches_run(page_outputs(page), expected)
        assert f"--set '{KEY}=15 GW/yr; 2029: 2 GW/yr'" in page.evaluate(
            "document.getElementById('command').value")


def test_explore_refuses_a_setting_no_slider_can_express_in_one_line(tmp_path):
    done = projection("-o", str(tmp_path / "x.html"), "--set",
                      f"{KEY}=15 GW/yr; 2028: 0 GW/yr; 2031: 10 GW/yr")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert KEY in done.stderr and "one year" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_text_of_a_scenario_cannot_break_out_of_the_page(browser, tmp_path):
    hostile = "</script><script>window.broken = 1</script><!-- <b>"
    scenario = tmp_path / "hostile.toml"
    scenario.write_text(
        f"[scenario]\ntitle = {json.dumps(hostile)}\ndescription = {json.dumps(hostile)}\n"
        f"extends = {json.dumps(str(find_scenario('baseline')))}\n\n[buildout]\n"
        f"interconnection_limit = {{ value = \"12 GW/yr\", source = {json.dumps(hostile)} }}\n",
        encoding="utf-8")
    target = tmp_path / "hostile.html"
    done = projection(str(scenario), "--end-year", "2027", "-o", str(target))
    assert done.returncode == 0, done.stderr
    with Page(target, browser) as page:
        assert page.evaluate("window.explorer.ready") is True
        assert page.evaluate("window.broken === undefined") is True
        assert page.evaluate("document.scripts.length") == 3
        assert hostile in page.evaluate("document.title")
        assert hostile in page.evaluate(
            f"document.querySelector('input[name=\"{KEY}\"]').title")
        assert page.errors == []
