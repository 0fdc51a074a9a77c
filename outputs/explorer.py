"""The explorer: one self-contained HTML page in which the model runs as sliders move.

``projection explore`` writes it. The page holds three things and loads nothing else:
the model as JavaScript, generated from the traced equations every compiled engine shares
(:mod:`projection.model.codegen_js`); the scenario's and the baseline's inputs with their
units, ranges and sources (:func:`controls`); and the page's own script and style
(``outputs/data/explorer.js``, ``explorer.css``), which draw the charts as inline SVG.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from projection.model import __version__
from projection.model.codegen_js import model_source, trace_all, trace_parameters
from projection.model.integrate import CALIBRATION_STOP, MAX_CALIBRATION_PASSES
from projection.model.parameters import WORKLOADS
from projection.model.scenario import Scenario, all_keys, parameter_for_key
from projection.model.schedules import POINTS, RAMP, TIMES, VALUES
from projection.model.units import NUMBER, SECONDS_PER_YEAR, _split, read_value

SPAN_STEPS = 200
"""Slider positions across a parameter's range (finer where the scenario's value needs it)."""
WIDE = 4.0
"""Without a declared range, a positive value may go from a quarter to four times the
scenario's (a span for exploring, not a physical bound)."""
GROWTH_SPAN = (-0.5, 1.0)
"""Without a declared range, a growth rate may go from -50 %/yr to +100 %/yr (or the
scenario's value, whichever is wider)."""

CHARTS: tuple[dict[str, Any], ...] = (
    {"id": "electricity", "title": "Electricity delivered and demanded",
     "series": [["facility_energy", "delivered"], ["facility_energy_demand", "demanded"]]},
    {"id": "capacity", "title": "Operating capacity and construction",
     "series": [["operating_capacity", "operating capacity"],
                ["construction_pipeline", "under construction"],
                ["construction_starts", "started in the year"]]},
    {"id": "drivers", "title": "Electricity by driver",
     "series": [["generative_inference_energy", "generative AI requests"],
                ["other_inference_energy", "other AI inference"],
                ["ai_training_energy", "AI training"],
                ["conventional_facility_energy", "conventional servers"]]},
    {"id": "water", "title": "Water consumed",
     "series": [["onsite_water", "on site"], ["indirect_water", "at power plants"]]},
    {"id": "emissions", "title": "Emissions of CO2e",
     "series": [["emissions", "location-based"], ["emissions_market_based", "market-based"]]},
    {"id": "request", "title": "Electricity of one chat request",
     "series": [["chat_energy_per_request", "chat request (large text model)"]]},
)
"""The page's charts: each output drawn for the user's scenario and, in grey, the baseline,
in the catalogue's unit (``results.OUTPUTS``)."""
UNIT_WORDS = {"GL": "billion litres"}
"""Catalogue units the page writes out in words."""


def charts() -> list[dict[str, Any]]:
    """:data:`CHARTS` with each chart's unit: its outputs' catalogue unit (one per chart)."""
    from projection.model.results import OUTPUT_BY_NAME

    out = []
    for chart in CHARTS:
        units = {OUTPUT_BY_NAME[name].unit for name, _ in chart["series"]}
        if len(units) != 1:
            raise ValueError(f"chart {chart['id']} mixes units {sorted(units)}")
        unit = units.pop()
        out.append({**chart, "unit": UNIT_WORDS.get(unit, unit)})
    return out


@dataclass
class Control:
    """One input of the page: a scenario parameter in the unit its scenario writes it in."""

    key: str
    name: str  # the parameter's name in the equations
    workload: int | None  # row of a per-workload parameter
    role: str  # "lever" or "assumption"
    label: str
    unit: str  # the unit of the displayed value ("dimensionless" for a bare number)
    value: float  # the scenario's value in ``unit``
    text: str  # the scenario's value as written
    factor: float  # ``unit`` -> SI base units
    low: float
    high: float
    step: str
    source: str
    kind: str
    schedulable: bool  # a lever that may start in a later year (``model.schedules``)
    schedule: list[list[float]]  # the scenario's own schedule: [s since start, SI value]
    ramp: bool


def role_of(key: str) -> str:
    """``lever`` (what a government, utility or operator decides) or ``assumption``."""
    role = getattr(parameter_for_key(key), "role", None)
    return role if role in ("lever", "assumption") else "assumption"


def _display(text: str) -> tuple[float, str]:
    """The number of a scenario value and its unit as written ("%/yr", "GW/yr";
    "dimensionless" for a bare number)."""
    magnitude, _ = _split(text)  # the checks of the loader
    unit = NUMBER.match(text)["unit"].strip()  # type: ignore[index]
    return magnitude, unit or "dimensionless"


def _in_unit(base: float, factor: float) -> float:
    return base / factor


def _nice_step(low: float, high: float, value: float) -> str:
    """A slider step on which the range's ends and the scenario's value all lie (``any``
    when none of a few decades fits)."""
    span = high - low
    if not span > 0:
        return "any"
    step = 10.0 ** math.floor(math.log10(span / SPAN_STEPS))
    for _ in range(8):
        if all(abs(x / step - round(x / step)) < 1e-9 for x in (low, high, value)):
            return repr(step) if step < 1 else str(int(step)) if step.is_integer() else repr(step)
        step /= 10.0
    return "any"


def _range(scenario: Scenario, key: str, value: float, factor: float) -> tuple[float, float]:
    """The slider's span in display units: the scenario's declared low/high, else a span
    by the parameter's kind; always holding the scenario's value."""
    entry = scenario.entries[key]
    kind = parameter_for_key(key).kind
    if entry.low is not None and entry.high is not None:
        low, high = _in_unit(entry.low, factor), _in_unit(entry.high, factor)
    elif kind == "fraction":
        low, high = 0.0, _in_unit(1.0, factor)
    elif kind == "growth":
        low = _in_unit(GROWTH_SPAN[0] / SECONDS_PER_YEAR, factor)
        high = _in_unit(GROWTH_SPAN[1] / SECONDS_PER_YEAR, factor)
    elif kind == "at_least_one":
        low, high = _in_unit(1.0, factor), max(value * 2.0, _in_unit(1.0, factor) * 1.5)
    elif kind == "nonnegative":
        low, high = 0.0, value * WIDE if value > 0 else _in_unit(1.0, factor)
    if kind == "nonnegative":  # zero means something (no new grid connections, dry cooling)
        low = 0.0
    else:
        low, high = value / WIDE, value * WIDE
    low, high = min(low, value), max(high, value)
    return _round(low), _round(high)


def _round(x: float) -> float:
    """``x`` to three significant digits (slider ends)."""
    if x == 0 or not math.isfinite(x):
        return x
    digits = 2 - math.floor(math.log10(abs(x)))
    return round(x, digits)


def schedulable(key: str) -> bool:
    """Whether the page offers a start year for ``key``: a lever without workloads that the
    equations read as the run advances (``scenario_schedules.not_schedulable``)."""
    from projection.model.scenario_schedules import not_schedulable

    p = parameter_for_key(key)
    return role_of(key) == "lever" and not p.per_workload and not_schedulable(key, p) is None


def controls(scenario: Scenario) -> list[Control]:
    """Every parameter of ``scenario`` as a page input."""
    out = []
    for key in all_keys():
        p = parameter_for_key(key)
        entry = scenario.entries[key]
        value, unit = _display(entry.text)
        factor = read_value(f"1 {unit}", p.unit) if unit != "dimensionless" else 1.0
        low, high = _range(scenario, key, value, factor)
        parts = key.split(".")
        workload = WORKLOADS.index(parts[1]) if p.per_workload else None
        label = p.description.split(";")[0].rstrip(".")
        if label.count("(") > label.count(")"):  # a parenthesis the cut left open
            label = label[:label.rfind("(")].rstrip()
        if workload is not None:
            label = f"{parts[1].replace('_', ' ')}: {label[0].lower()}{label[1:]}"
        points = [[(year - scenario.start_year) * SECONDS_PER_YEAR, base]
                  for year, _, base in entry.schedule]
        out.append(Control(key, p.name, workload, role_of(key), label, unit, value,
                           entry.text, factor, low, high, _nice_step(low, high, value),
                           entry.source, p.kind, schedulable(key), points, entry.ramp))
    return out


def model_inputs(scenario: Scenario) -> dict[str, list[float]]:
    """What the page gives ``ProjectionModel.parameters`` for ``scenario`` as it is: each
    key -> [its SI base value as written]; each schedulable lever also its schedule
    (``KEY@times``, ``KEY@values``, ``KEY@ramp``; the page's script builds the same)."""
    given: dict[str, list[float]] = {}
    for c in controls(scenario):
        base = c.value * c.factor
        given[c.key] = [base]
        if c.schedulable:
            row = c.schedule or [[SECONDS_PER_YEAR, base]]
            padded = [row[min(k, len(row) - 1)] for k in range(POINTS)]
            given[c.key + TIMES] = [t for t, _ in padded]
            given[c.key + VALUES] = [v for _, v in padded]
            given[c.key + RAMP] = [1.0 if c.ramp else 0.0]
    return given


def _equivalents() -> dict[str, Any]:
    """The briefing's constants for everyday equivalents (``outputs/data/equivalents.toml``)."""
    from projection.outputs.brief import load_equivalents

    e = load_equivalents()

    def one(c):
        return {"label": c.label, "value": c.value, "text": c.text,
                "source": c.source, "year": getattr(c, "year", None)}

    return {"microwave": one(e.microwave), "ebike": one(e.ebike),
            "power_plant": one(e.power_plant), "countries": [one(c) for c in e.countries]}


def _scenario_ref(scenario: Scenario) -> str:
    """How the exported TOML and the command name the scenario: a shipped scenario by its
    name, another by its absolute path."""
    from projection.model.scenario import shipped_scenarios_dir

    path = Path(scenario.path).resolve()
    if path.parent == shipped_scenarios_dir().resolve():
        return path.stem
    return str(path)


def page_data(scenario: Scenario, baseline: Scenario) -> dict[str, Any]:
    """What the page's script reads: settings, controls, the baseline's values, charts."""
    own, base = controls(scenario), controls(baseline)
    return {
        "model_version": __version__,
        "scenario": {"name": scenario.name, "title": scenario.title, "ref": _scenario_ref(scenario),
                     "sha256": scenario.sha256, "description": scenario.description},
        "baseline": {"name": baseline.name, "title": baseline.title,
                     "ref": _scenario_ref(baseline), "sha256": baseline.sha256},
        "start_year": scenario.start_year,
        "end_year": scenario.end_year,
        "substeps": scenario.substeps_per_year,
        "year_length": SECONDS_PER_YEAR,
        "points": POINTS,
        "controls": [asdict(c) for c in own],
        "baseline_inputs": {c.key: {"value": c.value, "factor": c.factor,
                                    "schedule": c.schedule,
                                    "ramp": c.ramp} for c in base},
        "charts": charts(),
        "equivalents": _equivalents(),
    }


def _asset(name: str) -> str:
    return (resources.files("projection.outputs") / "data" / name).read_text(encoding="utf-8")


def _script(text: str) -> str:
    """Text safe inside a <script> element."""
    return text.replace("</", "<\\/")


REGIONAL_PREFIXES = ("unit_", "region_", "state_")
"""Names of the regional inputs (``projection.model.regions.parameter_arrays``)."""


def model_script(scenario: Scenario) -> str:
    """The model as a script defining ``ProjectionModel`` (``model.codegen_js``), for the
    years of ``scenario``: ``ProjectionModel.simulate(ProjectionModel.parameters(given),
    years, substeps)`` with ``given`` each scenario key -> [its value in SI base units]."""
    years = scenario.end_year - scenario.start_year + 1
    scheduled = [k for k in all_keys() if schedulable(k)]
    # every lever that may start later has a schedule in the page
    arrays = scenario.parameter_arrays(scheduled=[parameter_for_key(k).name for k in scheduled])
    shapes = {k: v.shape[:-1] for k, v in arrays.items()}
    traces = trace_all(shapes, years)
    settings = {"year_length": SECONDS_PER_YEAR, "max_calibration_passes": MAX_CALIBRATION_PASSES,
                "calibration_stop": CALIBRATION_STOP, "points": POINTS}
    # the scenario's states and grid regions: data and regional entries the page keeps
    regional = {k: v for k, v in arrays.items() if k.startswith(REGIONAL_PREFIXES)}
    return model_source(traces, settings, trace_parameters(all_keys(), scheduled, regional))


def initial_state(scenario: Scenario, given: Scenario, keys: list[str]) -> dict[str, str]:
    """The page's starting state (as its share link writes it) for ``given``, ``scenario``
    with the values of ``keys`` set (``--set``): each value in the unit of its slider, and a
    lever's start year. A value the sliders cannot express (a schedule of several points, or
    a ramp) is one :class:`ScenarioError` naming the key."""
    from projection.model.scenario import ScenarioError
    from projection.model.settings import OPTION

    by_key = {c.key: c for c in controls(scenario)}
    state: dict[str, str] = {}
    for key in keys:
        c, entry = by_key[key], given.entries[key]
        value, unit = _display(entry.text)
        if unit != c.unit:
            value = entry.base_value / c.factor
        if entry.schedule:
            if len(entry.schedule) > 1 or entry.ramp or not c.schedulable:
                raise ScenarioError(OPTION, key, "the explorer sets a lever from one year: "
                                    "expected 'KEY=VALUE' or 'KEY=VALUE; YEAR: VALUE'")
            if entry.base_value != scenario.entries[key].base_value:
                raise ScenarioError(OPTION, key, f"before {entry.schedule[0][0]} the explorer "
                                    f"keeps the scenario's value, {scenario.entries[key].text}")
            year, text, base = entry.schedule[0]
            number, unit = _display(text)
            value = number if unit == c.unit else base / c.factor
            state[f"{key}:from"] = str(year)
        state[key] = repr(value) if not float(value).is_integer() else str(int(value)) \
            if abs(value) < 1e15 else repr(value)
    return state


def _footer(scenario: Scenario, baseline: Scenario, command: str) -> str:
    """Where the page's numbers come from: model version, scenario files and hashes, the
    command that wrote the page."""
    def named(s: Scenario) -> str:
        return (f"{html.escape(s.title)} (<code>{html.escape(str(s.path))}</code>, "
                f"sha256 <code>{s.sha256[:16]}</code>)")

    return (
        '<footer><p>Computed in this page by the projection model '
        f"{html.escape(__version__)}, generated from its traced equations (the figures equal "
        "<code>projection run</code> with the same values); the start year "
        f"{scenario.start_year} is calibrated to its published state and held in every "
        f"scenario. Scenario: {named(scenario)}; baseline: {named(baseline)}; "
        f"{scenario.substeps_per_year} Runge-Kutta sub-steps a year. Written by "
        f"<code>{html.escape(command)}</code>.</p></footer>")


def build_page(scenario: Scenario, baseline: Scenario, command: str,
               start: dict[str, str] | None = None) -> str:
    """The whole page as one HTML document; ``start``: the state it opens in when its
    address holds none (:func:`initial_state`)."""
    if baseline.start_year != scenario.start_year:
        from projection.model.scenario import ScenarioError

        raise ScenarioError(baseline.path, "scenario.start_year",
                            f"{baseline.start_year}, but {scenario.path} starts in "
                            f"{scenario.start_year}; the baseline needs the same start year")
    model = model_script(scenario)
    data = page_data(scenario, baseline)
    data["command"] = command
    data["initial"] = start or {}
    title = f"Explorer: {scenario.title}"
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="projection explore {html.escape(__version__)}">',
        f"<meta name=\"projection-scenario-sha256\" content=\"{scenario.sha256}\">",
        f"<title>{html.escape(title)}</title>",
        f"<style>{_asset('explorer.css')}</style>",
        "</head>",
        "<body>",
        f'<header><h1>{html.escape(title)}</h1><p class="sub">AI in US data centres: '
        f"electricity, water and carbon, {scenario.start_year}-{scenario.end_year}. "
        "The model runs in this page: move a lever and every chart is computed again. "
        f"Grey: the baseline ({html.escape(baseline.title)}).</p></header>",
        '<main id="explorer"><noscript>The explorer needs JavaScript.</noscript></main>',
        _footer(scenario, baseline, command),
        # "<" as a JSON escape: no text of a scenario can end or comment out the element
        '<script id="projection-data" type="application/json">'
        + json.dumps(data).replace("<", "\\u003c") + "</script>",
        f"<script>{_script(model)}</script>",
        f"<script>{_script(_asset('explorer.js'))}</script>",
        "</body>",
        "</html>",
    ]) + "\n"
