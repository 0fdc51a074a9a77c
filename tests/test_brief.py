"""``projection brief`` as a reader meets it: the page in headless Chromium, the PDF, the errors.

One briefing (two scenarios against the baseline, with a PDF) is made once per session through
the command line and opened once in Chromium; the tests read what came out. A machine without
Chromium skips these tests, except in CI (CI=true), where that is a failure.
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
from headless import Rendered, browser_or_none, render

from projection.model.units import parse_quantity

LEAD, OTHER, BASELINE = "high_growth", "constrained_grid", "baseline"
SAMPLES = 48
COMMAND = [sys.executable, "-m", "projection.outputs.cli", "brief"]


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

def test_page_opens_without_errors_network_or_broken_images(page):
    assert page.errors == []
    assert page.requests == []
    charts = re.findall(r'<figure id="chart-([a-z]+)"', page.dom)
    assert sorted(charts) == ["capacity", "carbon", "electricity", "fan", "sensitivity", "water"]
    assert len(page.images) == len(charts)  # carbon: one chart, a panel per accounting basis
    for image in page.images:
        assert image["loaded"] and image["width"] > 100 and image["height"] > 100, image
        assert image["src"].startswith("data:image/svg+xml")
        assert len(image["alt"]) > 80  # says what the chart shows, with its numbers


def test_screenshot_is_a_whole_page(page):
    png = page.screenshot
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    assert width >= 1000 and height > 3 * width  # the whole briefing, not the first screen


def test_page_is_self_contained(made):
    text = made.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", text)
    assert "<link" not in text and "@import" not in text and "url(" not in text
    assert "<script>" not in text and "<script src" not in text


def test_every_chart_has_units_a_source_and_the_baseline(page):
    figures = re.findall(r"<figure.*?</figure>", page.dom, flags=re.S)
    assert len(figures) >= 6
    for fig in figures:
        assert "Source: projection" in fig
        assert f"baseline: {BASELINE}" in fig
    svgs = [_svg(fig) for fig in figures]
    for svg in svgs:
        assert "year" in svg  # the time axis is named
        assert any(unit in svg for unit in ("TWh", "GW", "billion litres", "Mt CO2"))
        assert BASELINE in svg  # the baseline is drawn and labelled on every chart


def _svg(figure: str) -> str:
    import base64

    data = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', figure).group(1)
    return base64.b64decode(data).decode("utf-8")


# --- the numbers are the model's -----------------------------------------------------------------

def test_every_number_from_an_output_equals_the_model(page, shipped_results):
    checked = 0
    for item in numbers(page.dom):
        if "output" not in item or item.get("quantity") or "percentile" in item:
            continue
        ds = shipped_results[item["scenario"]]
        sel = {"year": int(item["year"])}
        if "workload" in item:
            sel["workload"] = item["workload"]
        model = float(ds[item["output"]].sel(sel))
        if item.get("unit"):  # shown in another unit than the catalogue's
            model = float(parse_quantity(f"{model} {ds[item['output']].attrs['units']}")
                          .to(item["unit"]).magnitude)
        assert_shows(item, model)
        checked += 1
    assert checked > 60


def test_headline_states_2028_and_end_year_for_the_lead_scenario(page, shipped_results):
    lead = re.search(r'<p class="lead">(.*?)</p>', page.dom, flags=re.S).group(1)
    tags = [n for n in numbers(lead)]
    end = int(shipped_results[LEAD]["year"][-1])
    want = {("facility_energy", 2028), ("facility_energy", end), ("ai_facility_energy", 2028),
            ("ai_facility_energy", end), ("share_of_us_electricity", 2028)}
    got = {(t["output"], int(t["year"])) for t in tags if t["scenario"] == LEAD}
    assert want <= got


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
    from projection.outputs.brief import RANGE_METHOD, RANGE_OUTPUTS, RANGE_SEED
    from projection.validation.sensitivity import sensitivity

    scenario = load_scenario(resolve_scenario_path(LEAD))
    ensemble = uncertainty(scenario, SAMPLES, RANGE_SEED, RANGE_METHOD, outputs=RANGE_OUTPUTS)
    swings = sensitivity(scenario, "oat", outputs=("facility_energy",))
    ranged = swung = 0
    for item in numbers(page.dom):
        if "percentile" in item and item["scenario"] == LEAD:
            model = ensemble[item["output"]].sel(percentile=float(item["percentile"]),
                                                  year=int(item["year"]))
            assert_shows(item, float(model))
            ranged += 1
        if item.get("quantity") == "swing":
            model = swings["swing"].sel(parameter=item["parameter"], output="facility_energy",
                                        year=int(item["year"]))
            assert_shows(item, float(model))
            swung += 1
    assert ranged >= 8 and swung == 3
    lead = re.search(r'<p class="lead">(.*?)</p>', page.dom, flags=re.S).group(1)
    assert "range" in lead


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


def test_validation_summary_counts_the_checks_by_group(page):
    from projection.validation.checks import run_checks

    report = run_checks()
    good, bad = report.counts
    items = numbers(page.dom)
    total = [n for n in items if n.get("quantity") == "checks" and "group" not in n]
    passed = [n for n in items if n.get("quantity") == "checks_passed" and "group" not in n]
    assert [int(total[0]["text"])] == [good + bad] and [int(passed[0]["text"])] == [good]
    groups = {r.group for r in report.results}
    assert {n["group"] for n in items if n.get("quantity") == "checks" and "group" in n} == groups


def test_assumptions_and_provenance(page):
    from projection.model.scenario import load_scenario, resolve_scenario_path

    lead = load_scenario(resolve_scenario_path(LEAD))
    base = load_scenario(resolve_scenario_path(BASELINE)).resolved()
    differing = [k for k, v in lead.resolved().items() if v["value"] != base[k]["value"]]
    assert differing
    for key in differing:
        assert re.search(rf"<td[^>]*>{re.escape(key)}: [A-Z]", page.dom), key
    for name in (LEAD, OTHER, BASELINE):
        assert load_scenario(resolve_scenario_path(name)).sha256 in page.dom
    assert "projection brief" in page.dom and "0.1.0" in page.dom


# --- the Markdown and the PDF --------------------------------------------------------------------

def test_markdown_has_the_same_headline(made, page):
    markdown = made.with_suffix(".md").read_text(encoding="utf-8")
    lead = re.search(r'<p class="lead">(.*?)</p>', page.dom, flags=re.S).group(1)
    for item in numbers(lead):
        assert item["text"] in markdown
    assert "data:image" not in markdown
    assert "| scenario |" in markdown.replace("|  |", "|")


def test_pdf_pages_and_text(made, page):
    from pypdf import PdfReader

    reader = PdfReader(made.with_suffix(".pdf"))
    assert 3 <= len(reader.pages) <= 25
    text = " ".join(p.extract_text() for p in reader.pages)
    flat = re.sub(r"\s+", "", text)
    lead = re.search(r'<p class="lead">(.*?)</p>', page.dom, flags=re.S).group(1)
    for item in numbers(lead):
        assert re.sub(r"\s+", "", item["text"]) in flat
    assert "market-based" in text or "location-based" in text
    assert "Provenance" in text


# --- bad input: one line, exit code 2, nothing written -------------------------------------------

@pytest.mark.parametrize(("args", "needle"), [
    (["no_such_scenario"], "no_such_scenario"),
    (["baseline", "--uncertainty", "0"], "--uncertainty"),
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
