"""``projection brief`` as a reader meets it: the page in headless Chromium, the PDF, the errors.

One briefing (two scenarios against the baseline, with a PDF) is made once per session through
the command line, opened once in Chromium for its DOM and screenshot and once at 1280 x 1000
pixels for its layout (tests/browser_layout.py); the tests read what came out. A machine
without Chromium skips these tests, except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser_layout import measure, overlaps
from headless import Rendered, browser_or_none, render

from projection.model.units import parse_quantity

LEAD, OTHER, BASELINE = "high_growth", "constrained_grid", "baseline"
SAMPLES = 48
SCREEN_WIDTH, SCREEN_HEIGHT = 1280, 1000
"""The first screen of a laptop: everything a reader needs in a minute is inside it."""
BODY_SCREENS = 4
"""Screens of text and charts above the appendix: a five-minute read (an assumption: a minute
a screen, and a minute for the first one)."""
COMMAND = [sys.executable, "-m", "projection.outputs.cli", "brief"]
CHARTS = ["capacity", "carbon", "electricity", "fan", "map", "sensitivity", "water"]


def projection(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300, check=False)


@pytest.fixture(scope="session")
def browser() -> str:
    found = browser_or_none()
    if found is None:
        message = ("no Chromium on PATH: install Debian's 'chromium' package "
                   "(see the README's test set-up)")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def made(tmp_path_factory, browser) -> Path:
    """The briefing's HTML file, made once by the command line (with the Markdown and PDF)."""
    folder = tmp_path_factory.mktemp("brief")
    done = projection(LEAD, OTHER, "--baseline", BASELINE, "-o", str(folder / "brief.html"),
                      "--pdf", "--uncertainty", str(SAMPLES))
    assert done.returncode == 0, done.stderr
    return folder / "brief.html"


@pytest.fixture(scope="session")
def layout(made, browser) -> dict:
    """The page as a 1280 x 1000 window shows it: text boxes, numbers, cards, page height."""
    return measure(made, browser, width=SCREEN_WIDTH, screen=SCREEN_HEIGHT)


@pytest.fixture(scope="session")
def page(made, browser) -> Rendered:
    rendered = render(made, browser)
    (made.parent / "screenshot.png").write_bytes(rendered.screenshot)
    (made.parent / "dom.html").write_text(rendered.dom, encoding="utf-8")
    return rendered


class _Numbers(HTMLParser):
    """Every ``span.num`` with its data attributes and text."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str]] = []
        self._open: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        if tag == "span" and d.get("class") == "num":
            self._open = {k.removeprefix("data-"): v or "" for k, v in d.items()}
            self._open["text"] = ""

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag):
        if tag == "span" and self._open is not None:
            self.found.append(self._open)
            self._open = None


def numbers(dom: str) -> list[dict[str, str]]:
    parser = _Numbers()
    parser.feed(dom)
    return parser.found


def shown(text: str) -> tuple[float, float]:
    """The number a reader sees and half a unit of its last digit (the rounding allowed)."""
    token = text.split()[0].replace(",", "").replace("+", "")
    decimals = len(token.split(".")[1]) if "." in token else 0
    return float(token), 0.5 * 10 ** -decimals


def assert_shows(item: dict[str, str], model: float) -> None:
    value, half = shown(item["text"])
    assert abs(value - model) <= half * (1 + 1e-9) + 1e-12, (item, model)


# --- the page as a reader opens it ---------------------------------------------------------------

def test_page_opens_without_errors_network_or_broken_images(page, layout):
    assert page.errors == []
    assert page.requests == []
    assert page.images == []  # charts are inline SVG, not images
    charts = re.findall(r'<figure id="chart-([a-z]+)"', page.dom)
    assert sorted(charts) == sorted(CHARTS)
    for chart in layout["charts"]:
        assert chart["box"]["right"] - chart["box"]["left"] > 300, chart["id"]
        assert len(chart["labels"]) > 10, chart["id"]  # its text is text the browser draws
    for figure in re.findall(r"<figure.*?</figure>", page.dom, flags=re.S):
        label = re.search(r'<svg[^>]* role="img" aria-label="([^"]+)"', figure).group(1)
        assert len(label) > 80  # says what the chart shows, with its numbers
    ids = re.findall(r'\sid="([^"]+)"', page.dom)
    assert len(ids) == len(set(ids))  # charts side by side share no id


def test_screenshot_is_a_whole_page(page):
    png = page.screenshot
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    assert width >= 1000 and height > 3 * width  # the whole briefing, not the first screen


def test_page_is_self_contained(made):
    text = made.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", text)
    assert "<link" not in text and "@import" not in text
    assert not re.search(r"url\(\s*['\"]?(?!#)", text)  # only references inside the page
    assert "<script>" not in text and "<script src" not in text


def test_every_chart_has_units_a_source_and_the_baseline(page, layout):
    from projection.model.scenario import load_scenario, resolve_scenario_path

    title = load_scenario(resolve_scenario_path(BASELINE)).title
    figures = re.findall(r"<figure.*?</figure>", page.dom, flags=re.S)
    assert len(figures) >= 6
    for fig in figures:
        assert "Source: projection" in fig
        assert f"baseline: {BASELINE}" in fig
    for chart in layout["charts"]:
        text = " ".join(label["text"] for label in chart["labels"])
        if chart["id"] == "chart-map":  # one scenario's states, named in the map's legend
            assert " %" in text and "High growth scenario" in text, text
            continue
        assert any(unit in text for unit in ("TWh", "GW", "billion litres", "Mt CO2")), text
        assert title in text, chart["id"]  # the baseline is drawn and named on every chart
        if chart["id"] != "chart-sensitivity":
            assert "year" in text or re.search(r"\b20[0-9]{2}\b", text)  # the years named


def test_no_two_labels_of_a_chart_overlap(layout):
    assert len(layout["charts"]) == len(CHARTS)
    for chart in layout["charts"]:
        assert overlaps(chart["labels"]) == [], chart["id"]


def test_the_map_colours_every_state_by_its_share_and_names_the_leading_states(page,
                                                                             shipped_results):
    from projection.model.regions import STATE_NAMES, STATES
    from projection.outputs.brief_regions import not_in_sources

    figure = re.search(r'<figure id="chart-map">.*?</figure>', page.dom, flags=re.S).group(0)
    assert "<title>" in figure and "<desc>" in figure
    tiles = dict(re.findall(r'<g class="tile" data-region="([A-Z]{2})" data-value="([^"]+)"',
                            figure))
    assert sorted(tiles) == sorted(STATES)
    ds = shipped_results[LEAD].sel(year=2028)  # the headline year: LBNL's
    unknown = not_in_sources()
    assert unknown  # states absent from EPRI's table with no published pipeline
    for code, value in tiles.items():
        if code in unknown:  # not known, not a measured zero
            assert value == "nan", code
            continue
        assert float(value) == pytest.approx(
            float(ds["state_electricity_share"].sel(region=code)), rel=1e-12), code
    assert "not known" in figure
    section = re.search(r'<h2 id="states">.*?<h2', page.dom, flags=re.S).group(0)
    sentence = re.sub(r"<figure.*?</figure>", "", section, flags=re.S)
    top = str(ds["state_electricity"].idxmax("region").values)
    assert STATE_NAMES[top] in sentence


def test_overlap_check_catches_overlapping_labels():
    a = {"text": "demand (average)", "left": 0, "right": 100, "top": 0, "bottom": 12}
    b = {"text": "operating capacity", "left": 50, "right": 150, "top": 6, "bottom": 18}
    c = {"text": "below", "left": 50, "right": 150, "top": 12, "bottom": 24}
    assert overlaps([a, b]) == [("demand (average)", "operating capacity")]
    assert overlaps([a, c]) == []


# --- the numbers are the model's -----------------------------------------------------------------

def test_every_number_from_an_output_equals_the_model(page, shipped_results):
    checked = 0
    for item in numbers(page.dom):
        if "output" not in item or item.get("quantity") or "percentile" in item:
            continue
        ds = shipped_results[item["scenario"]]
        sel = {"year": int(item["year"])}
        for dim in ("workload", "region"):
            if dim in item:
                sel[dim] = item[dim]
        model = float(ds[item["output"]].sel(sel))
        if item.get("unit"):  # shown in another unit than the catalogue's
            model = float(parse_quantity(f"{model} {ds[item['output']].attrs['units']}")
                          .to(item["unit"]).magnitude)
        assert_shows(item, model)
        checked += 1
    assert checked > 60


def test_first_screen_gives_every_scenario_its_headline_with_its_range(layout,
                                                                       shipped_results):
    end = int(shipped_results[LEAD]["year"][-1])
    cards = {c["scenario"]: c for c in layout["cards"]}
    assert sorted(cards) == sorted([BASELINE, LEAD, OTHER])
    for name, card in cards.items():
        assert card["bottom"] <= SCREEN_HEIGHT, name  # the whole card on the first screen
        shown = [n for n in layout["numbers"] if n["card"] == name]
        headline = [n for n in shown if n.get("output") == "facility_energy"
                    and int(n["year"]) == end and "percentile" not in n]
        low_high = {n["percentile"] for n in shown if n.get("output") == "facility_energy"
                    and int(n["year"]) == end and "percentile" in n}
        assert headline and low_high == {"5", "95"}, name
        assert all(n["bottom"] <= SCREEN_HEIGHT for n in shown), name
        assert f"of {SAMPLES} runs" in card["text"], card["text"]  # the sample count, stated
    screen = layout["firstScreen"]
    assert re.search(rf"\b{SAMPLES}\b runs of each scenario", screen)


def test_first_screen_says_what_differs_from_the_baseline_in_labels_with_units(layout):
    from projection.model.labels import SHORT_LABELS
    from projection.model.scenario import load_scenario, resolve_scenario_path

    cards = {c["scenario"]: c["text"] for c in layout["cards"]}
    grid = load_scenario(resolve_scenario_path(OTHER)).resolved()
    base = load_scenario(resolve_scenario_path(BASELINE)).resolved()
    key = "buildout.interconnection_limit"  # the constrained grid's story
    assert grid[key]["value"] != base[key]["value"]
    text = cards[OTHER]
    said = SHORT_LABELS[key]
    assert said[:1].upper() + said[1:] in text
    value = grid[key]["value"].replace("/yr", " a year")
    assert f"{value} (baseline {base[key]['value'].replace('/yr', ' a year')})" in text
    assert "What differs from the baseline" in cards[LEAD]


def test_body_above_the_appendix_is_a_five_minute_read(layout):
    assert layout["appendixTop"] is not None
    assert layout["appendixTop"] <= BODY_SCREENS * SCREEN_HEIGHT, layout["appendixTop"]
    assert layout["height"] > layout["appendixTop"]  # the reference material is below


def test_no_raw_parameter_key_in_prose_or_charts(layout):
    from projection.model.parameters import PARAMETERS
    from projection.model.scenario import load_scenario, resolve_scenario_path

    keys = set()
    for name in (LEAD, OTHER, BASELINE):
        keys |= set(load_scenario(resolve_scenario_path(name)).resolved())
    names = {p.name for p in PARAMETERS if "_" in p.name}
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(keys | names,
                                                                    key=len, reverse=True)))
                         + r")\b")
    texts = [p["text"] for p in layout["prose"]]
    texts += [label["text"] for chart in layout["charts"] for label in chart["labels"]]
    assert len(texts) > 50
    found = [t for t in texts if pattern.search(t)]
    assert found == []
    assert pattern.search("moves it most through start.load_factor_start (-107 TWh)")


def test_equivalents_follow_from_the_outputs_and_the_stated_constants(page, shipped_results):
    from projection.outputs.brief import load_equivalents
    from projection.outputs.charts import TWH_PER_YEAR_TO_GW

    constants = load_equivalents()
    household = shipped_results[LEAD].attrs["resolved_parameters"]
    kwh = parse_quantity(_resolved(household, "context.household_electricity")).to("kWh/yr")
    seen = set()
    for item in numbers(page.dom):
        q = item.get("quantity")
        if q is None or "scenario" not in item:
            continue
        ds = shipped_results[item["scenario"]]
        year = int(item["year"])
        twh = float(ds["facility_energy"].sel(year=year))
        if q == "homes_million":
            assert_shows(item, twh * 1e9 / kwh.magnitude / 1e6)
        elif q == "average_power":
            assert_shows(item, twh * TWH_PER_YEAR_TO_GW)
        elif q == "power_plants":
            assert_shows(item, twh * TWH_PER_YEAR_TO_GW / constants.power_plant.value)
        elif q in ("microwave_seconds", "ebike_distance"):
            per_request = ds["energy_per_request"].sel(year=year, workload=item["workload"])
            joules = float(parse_quantity(f"{float(per_request)} {per_request.attrs['units']}")
                           .to("J").magnitude)
            if q == "microwave_seconds":
                assert_shows(item, joules / constants.microwave.value)
            else:
                metres = joules / constants.ebike.value
                assert_shows(item, metres / 1e3 if item["text"].endswith("km") else metres)
        elif q in ("difference", "difference_percent"):
            base = float(shipped_results[item["baseline"]][item["output"]].sel(year=year))
            value = float(ds[item["output"]].sel(year=year))
            assert_shows(item, value - base if q == "difference" else 100 * (value / base - 1))
        else:
            continue
        seen.add(q)
    assert {"homes_million", "average_power", "power_plants", "microwave_seconds",
            "ebike_distance", "difference", "difference_percent"} <= seen


def test_ranges_and_ranking_are_the_ensemble_and_sensitivity_functions(page):
    from projection.model.scenario import load_scenario, resolve_scenario_path
    from projection.model.uncertainty import uncertainty
    from projection.outputs.brief import RANGE_BACKEND, RANGE_METHOD, RANGE_OUTPUTS, RANGE_SEED
    from projection.validation.sensitivity import sensitivity

    ranged = swung = 0
    for name in (LEAD, OTHER, BASELINE):
        scenario = load_scenario(resolve_scenario_path(name))
        ensemble = uncertainty(scenario, SAMPLES, RANGE_SEED, RANGE_METHOD,
                               outputs=RANGE_OUTPUTS, backend=RANGE_BACKEND)
        for item in numbers(page.dom):
            if "percentile" in item and item["scenario"] == name:
                model = ensemble[item["output"]].sel(percentile=float(item["percentile"]),
                                                      year=int(item["year"]))
                assert_shows(item, float(model))
                ranged += 1
    swings = sensitivity(load_scenario(resolve_scenario_path(LEAD)), "oat",
                         outputs=("facility_energy",))
    for item in numbers(page.dom):
        if item.get("quantity") == "swing":
            model = swings["swing"].sel(parameter=item["parameter"], output="facility_energy",
                                        year=int(item["year"]))
            assert_shows(item, float(model))
            swung += 1
    assert ranged >= 3 * 6 and swung == 3


def _resolved(attr: str, key: str) -> str:
    import json

    return json.loads(attr)[key]["value"]


def test_water_is_split_and_carbon_states_its_basis(page):
    text = re.sub(r"<[^>]+>", " ", page.dom)
    assert "on site" in text and "power plants" in text
    for output in ("onsite_water", "indirect_water"):
        assert f'data-output="{output}"' in page.dom
    emissions = [n for n in numbers(page.dom) if n.get("output", "").startswith("emissions")]
    assert emissions
    for paragraph in re.findall(r"<p>(.*?)</p>", page.dom, flags=re.S):
        if 'data-output="emissions' in paragraph:
            assert "-based" in paragraph  # location-based or market-based, said beside it
    for caption in re.findall(r"<figcaption>(.*?)</figcaption>", page.dom, flags=re.S):
        if "Carbon" in caption:
            assert "Accounting basis:" in caption


def test_validation_counts_pass_explained_miss_and_fail_apart(page, layout):
    from projection.validation.checks import run_checks

    report = run_checks()
    verdicts = [r.verdict for r in report.results]
    want = {"checks": len(verdicts), "checks_passed": verdicts.count("pass"),
            "checks_missed": verdicts.count("miss"), "checks_failed": verdicts.count("FAIL")}
    assert want["checks_missed"] > 0  # the shipped checks include explained misses
    items = numbers(page.dom)
    for quantity, count in want.items():
        shown = {int(n["text"]) for n in items if n.get("quantity") == quantity
                 and "group" not in n}
        assert shown == {count}, quantity  # the same on the first screen and the appendix
    groups = {r.group for r in report.results}
    assert {n["group"] for n in items if n.get("quantity") == "checks" and "group" in n} == groups
    for group in groups:
        members = [r.verdict for r in report.results if r.group == group]
        passed = [n for n in items if n.get("quantity") == "checks_passed"
                  and n.get("group") == group]
        assert [int(n["text"]) for n in passed] == [members.count("pass")]
    assert f"{want['checks_missed']} are explained misses" in layout["firstScreen"]


def test_assumptions_and_provenance(page):
    from projection.model.scenario import load_scenario, resolve_scenario_path

    lead = load_scenario(resolve_scenario_path(LEAD))
    base = load_scenario(resolve_scenario_path(BASELINE)).resolved()
    differing = [k for k, v in lead.resolved().items() if v["value"] != base[k]["value"]]
    assert differing
    from projection.model.labels import capitalised

    for key in differing:  # a row of the appendix's table: label, key, values, source
        assert re.search(rf"<td[^>]*>{re.escape(capitalised(key))}</td><td[^>]*>"
                         rf"{re.escape(key)}</td>", page.dom), key
    for name in (LEAD, OTHER, BASELINE):
        assert load_scenario(resolve_scenario_path(name)).sha256 in page.dom
    assert "projection brief" in page.dom and "0.1.0" in page.dom


# --- the Markdown and the PDF --------------------------------------------------------------------

def test_markdown_has_the_same_first_screen(made, page):
    markdown = made.with_suffix(".md").read_text(encoding="utf-8")
    cards = re.findall(r'<section class="card.*?</section>', page.dom, flags=re.S)
    assert len(cards) == 3
    for card in cards:
        for item in numbers(card):
            assert item["text"] in markdown
    assert markdown.index("## Appendix") > markdown.index("What differs from the baseline")
    assert "data:image" not in markdown
    assert "| scenario |" in markdown.replace("|  |", "|")


def test_pdf_pages_and_text(made, page):
    from pypdf import PdfReader

    reader = PdfReader(made.with_suffix(".pdf"))
    # the reading part is held to its length by the browser test; the appendix lists every
    # differing assumption and every check that does not pass, so it grows with the parameter
    # table and the references: this bound only catches a runaway document
    assert 3 <= len(reader.pages) <= 40
    text = " ".join(p.extract_text() for p in reader.pages)
    flat = re.sub(r"\s+", "", text)
    for card in re.findall(r'<section class="card.*?</section>', page.dom, flags=re.S):
        for item in numbers(card):
            assert re.sub(r"\s+", "", item["text"]) in flat
    assert "market-based" in text or "location-based" in text
    assert "Provenance" in text


# --- bad input: one line, exit code 2, nothing written -------------------------------------------

@pytest.mark.parametrize(("args", "needle"), [
    (["no_such_scenario"], "no_such_scenario"),
    (["baseline", "--uncertainty", "1"], "--uncertainty"),
    (["baseline", "--uncertainty", "-3"], "--uncertainty"),
    (["baseline", "--uncertainty", "100001"], "--uncertainty"),
    (["baseline", "--baseline", "nowhere"], "nowhere"),
    (["baseline", "-o", "brief.txt"], "--output"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, args, needle):
    if "-o" not in args:
        args = [*args, "-o", str(tmp_path / "out" / "brief.html")]
    done = projection(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_uncertainty_zero_turns_the_ranges_off_and_says_so(tmp_path):
    done = projection(OTHER, "--uncertainty", "0", "-o", str(tmp_path / "brief.html"))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "brief.html").read_text(encoding="utf-8")
    assert "data-percentile" not in text and 'id="chart-fan"' not in text
    assert "Ranges are off" in text and "--uncertainty 0" in text
    assert "No range: ranges are off" in text


def test_ranges_come_by_default_with_their_number_of_runs(tmp_path):
    from projection.outputs.cli_brief import DEFAULT_SAMPLES

    done = projection(OTHER, "-o", str(tmp_path / "brief.html"))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "brief.html").read_text(encoding="utf-8")
    for name in (OTHER, BASELINE):
        assert f'data-scenario="{name}" data-year="2030" data-percentile="95"' in text
    assert f"of {DEFAULT_SAMPLES:,} runs" in text


def test_spread_keeps_label_boxes_apart_and_inside_the_panel():
    from projection.outputs.chart_layout import spread

    for centres, low, high in (([100, 101, 102, 300], 0, 400), ([395, 396, 397], 0, 400),
                               ([3, 1, 2, 2], 0, 400), ([50.0], 0, 100)):
        heights = [10.0] * len(centres)
        placed = spread(centres, heights, low, high, 2.0)
        ordered = sorted(placed)
        assert all(b - a >= 12.0 - 1e-9 for a, b in zip(ordered, ordered[1:], strict=False))
        assert min(placed) - 5 >= low - 1e-9 and max(placed) + 5 <= high + 1e-9
    assert spread([50.0, 200.0], [10.0, 10.0], 0, 400, 2.0) == [50.0, 200.0]  # room: unmoved


def test_unwritable_output_is_one_line_and_writes_nothing(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    done = projection("baseline", "-o", str(blocker / "brief.html"), cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(blocker) in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]
    assert blocker.read_text() == "not a folder"


def test_existing_files_survive_a_failed_brief(tmp_path):
    kept = tmp_path / "brief.html"
    kept.write_text("yesterday's briefing")
    done = projection("no_such_scenario", "-o", str(kept), cwd=tmp_path)
    assert done.returncode == 2
    assert kept.read_text() == "yesterday's briefing"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["brief.html"]


# --- the harness itself catches what it is meant to catch ----------------------------------------

def test_harness_reports_network_requests_errors_and_broken_images(tmp_path, browser):
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><img src="http://127.0.0.1:9/x.png" alt="x">'
                   '<img src="missing.png" alt="y"><script>console.error("boom")</script>'
                   "</body></html>")
    rendered = render(bad, browser)
    assert rendered.requests == ["http://127.0.0.1:9/x.png"]
    assert any("boom" in e for e in rendered.errors)
    assert not any(i["loaded"] for i in rendered.images)


def test_number_parsing_allows_only_rounding():
    assert shown("582 TWh") == (582.0, 0.5)
    assert shown("21,137 Wh") == (21137.0, 0.5)
    assert shown("4.88 %") == (4.88, 0.005)
    assert math.isclose(shown("+163 TWh")[0], 163)
    with pytest.raises(AssertionError):
        assert_shows({"text": "582 TWh"}, 583.0)


# --- the constants file and the command's footprint ----------------------------------------------

def test_constants_carry_units_and_sources():
    from projection.outputs.brief import load_equivalents

    constants = load_equivalents()
    assert constants.microwave.unit == "W" and constants.ebike.unit == "J/m"
    for c in (constants.microwave, constants.ebike, constants.power_plant, *constants.countries):
        assert c.value > 0 and c.source and c.locator
    assert all(c.year for c in constants.countries)


def test_a_constant_without_a_source_is_one_line(tmp_path):
    from projection.outputs.brief import BriefDataError, default_equivalents_path, load_equivalents

    text = default_equivalents_path().read_text(encoding="utf-8")
    broken = tmp_path / "equivalents.toml"
    broken.write_text(text.replace('source = "RTE', 'sauce = "RTE'), encoding="utf-8")
    with pytest.raises(BriefDataError, match=r"equivalents.toml: country\[2\]: missing 'source'"):
        load_equivalents(broken)


def test_nearest_country_is_nearest_by_ratio():
    from projection.outputs.brief import load_equivalents, nearest_country

    countries = load_equivalents().countries
    for c in countries:
        assert nearest_country(c.value, countries) is c
    smallest = min(countries, key=lambda c: c.value)
    assert nearest_country(smallest.value / 10, countries) is smallest


def test_the_command_line_starts_without_the_briefing_libraries():
    code = ("import sys, projection.outputs.cli; "
            "print(sorted(m for m in ('matplotlib', 'pypdf', 'websocket') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_a_file_that_is_not_a_briefing_is_not_replaced(tmp_path):
    mine = tmp_path / "index.html"
    mine.write_text("<html>my own page</html>")
    done = projection("baseline", "-o", str(mine), cwd=tmp_path)
    assert done.returncode == 2
    line = done.stderr.strip()
    assert "\n" not in line and "is not a briefing" in line and "--force" in line
    assert mine.read_text() == "<html>my own page</html>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html"]


def test_the_briefing_knows_its_own_files(made, tmp_path):
    from projection.outputs.cli_brief import is_briefing

    assert is_briefing(made) and is_briefing(made.with_suffix(".md"))
    assert is_briefing(made.with_suffix(".pdf"))
    notes = tmp_path / "notes.md"
    notes.write_text("# My notes\n")
    assert not is_briefing(notes) and not is_briefing(tmp_path / "absent.html")
