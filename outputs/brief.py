"""A policy briefing from model runs: the content as blocks, rendered to HTML and Markdown.

Every number in the briefing is computed here from the model's outputs (read by name from the
output catalogue, model/results.py) and from constants that carry their units and sources
(``outputs/data/equivalents.toml``, the scenario files, the validation reference figures).
The content is built once as a list of blocks; the HTML and the Markdown writers walk the same
list, so the two versions cannot disagree. Numbers are ``Num`` cells: in the HTML they carry
``data-`` attributes naming the output, scenario and year they come from, so a test (or a
reader's script) can check each against the model.
"""

from __future__ import annotations

import base64
import html
import json
import math
import platform
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from projection.model import __version__
from projection.model.errors import InputError
from projection.model.parameters import WORKLOAD_LABELS, WORKLOADS
from projection.model.results import OUTPUT_BY_NAME
from projection.model.run import compare
from projection.model.scenario import Scenario, ScenarioError, load_scenario, parameter_for_key
from projection.model.units import UnitError, parse_quantity, ureg
from projection.validation.references import fmt as _fmt
from projection.validation.references import load_references

from .charts import TWH_PER_YEAR_TO_GW, Chart

KEY_YEAR = 2028
"""The year published projections are quoted for (LBNL 2024 and MIT Technology Review 2025 give
their ranges for 2028); the briefing reports it beside the start and the end year."""

DIGITS = 3
"""Significant figures of every number on the page."""


def fmt(x: float, digits: int = DIGITS) -> str:
    """A number as the briefing writes it: three significant figures, thousands separated."""
    return _fmt(float(x), digits)


# --- constants for the everyday equivalents ------------------------------------------------------

class BriefDataError(InputError):
    """The briefing's constants file cannot be used; ``str()`` is the one-line message."""


@dataclass(frozen=True)
class Constant:
    """A constant behind an equivalence: value in ``unit``, with its source and locator."""

    label: str
    value: float
    unit: str
    source: str
    locator: str
    year: int | None = None

    @property
    def text(self) -> str:
        text = fmt(self.value, 4)
        if "." in text and "e" not in text:
            text = text.rstrip("0").rstrip(".")
        return f"{text} {self.unit}"


@dataclass(frozen=True)
class Equivalents:
    microwave: Constant  # W
    ebike: Constant  # J/m
    power_plant: Constant  # GW
    countries: tuple[Constant, ...]  # TWh/yr; label = country name, locator names the year


def default_equivalents_path() -> Path:
    return Path(str(resources.files("projection.outputs"))) / "data" / "equivalents.toml"


def _constant(path: Path, key: str, entry: dict[str, Any], unit: str, label: str) -> Constant:
    if "reference" in entry:
        refs = load_references()
        ref = refs.get(entry["reference"])
        if ref is None or ref.value is None:
            raise BriefDataError(path, key, f"reference {entry['reference']!r} is not a value in "
                                 "validation/data/reference_figures.csv")
        text, source, locator = f"{ref.value} {ref.unit}", ref.source, ref.locator
    else:
        missing = [k for k in ("value", "source", "locator") if k not in entry]
        if missing:
            raise BriefDataError(path, key, f"missing {missing[0]!r}")
        text, source, locator = str(entry["value"]), entry["source"], entry["locator"]
    try:
        value = float(parse_quantity(text).to(unit).magnitude)
    except (UnitError, ValueError, TypeError, AttributeError) as exc:
        raise BriefDataError(path, key,
                             f"expected a quantity in {unit}, got {text!r} ({exc})") from None
    year = entry.get("year")
    return Constant(label, value, unit, source, locator, int(year) if year else None)


def load_equivalents(path: Path | str | None = None) -> Equivalents:
    """The constants of ``equivalents.toml``, each converted to the unit the briefing uses."""
    path = Path(path) if path is not None else default_equivalents_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BriefDataError(path, "file", f"cannot be read ({exc})") from None
    for key in ("microwave", "ebike", "power_plant", "country"):
        if key not in data:
            raise BriefDataError(path, key, "missing")
    for i, c in enumerate(data["country"]):
        for key in ("name", "year"):
            if key not in c:
                raise BriefDataError(path, f"country[{i}]", f"missing {key!r}")
    countries = tuple(_constant(path, f"country[{i}]", c, "TWh/yr", c["name"])
                      for i, c in enumerate(data["country"]))
    return Equivalents(
        microwave=_constant(path, "microwave", data["microwave"], "W", "microwave oven power"),
        ebike=_constant(path, "ebike", data["ebike"], "J/m", "e-bike electricity per metre"),
        power_plant=_constant(path, "power_plant", data["power_plant"], "GW",
                              "power plant size"),
        countries=countries,
    )


def nearest_country(twh: float, countries: Sequence[Constant]) -> Constant:
    """The country whose yearly electricity is nearest to ``twh`` by ratio."""
    return min(countries, key=lambda c: abs(math.log(c.value / twh)))


# --- the briefing's inputs -----------------------------------------------------------------------

@dataclass
class Briefing:
    """Everything the page shows: the compared runs, their scenarios and the validation."""

    ds: xr.Dataset  # dims scenario, year[, workload]
    scenarios: list[Scenario]  # in the order of ds.scenario, baseline first
    baseline: str
    lead: str  # the scenario the headline is about: the first one asked for
    equivalents: Equivalents
    command: str
    created: str  # ISO 8601, UTC
    validation: Any = None  # validation.checks.Report
    ranges: dict[str, xr.Dataset] = field(default_factory=dict)  # name -> percentiles by year
    sensitivity: dict[str, xr.Dataset] = field(default_factory=dict)  # name -> one-at-a-time
    samples: int | None = None
    omitted: list[str] = field(default_factory=list)  # sections left out, and why

    @property
    def names(self) -> list[str]:
        return [str(s) for s in self.ds["scenario"].values]

    @property
    def years(self) -> list[int]:
        return [int(y) for y in self.ds["year"].values]

    @property
    def key_years(self) -> list[int]:
        years = self.years
        wanted = [years[0], KEY_YEAR, years[-1]]
        return sorted({y for y in wanted if y in years})

    @property
    def headline_years(self) -> list[int]:
        """2028 and the end year (or whichever of them the run has)."""
        return [y for y in self.key_years if y > self.years[0]] or [self.years[-1]]

    def scenario(self, name: str) -> Scenario:
        return next(s for s in self.scenarios if s.name == name)

    def value(self, output: str, scenario: str, year: int, workload: str | None = None) -> float:
        sel: dict[str, Any] = {"scenario": scenario, "year": year}
        if workload is not None:
            sel["workload"] = workload
        return float(self.ds[output].sel(sel).values)


RANGE_OUTPUTS = ("facility_energy", "ai_facility_energy")
"""Outputs the uncertainty ensemble keeps: the two the headline quotes."""
RANGE_LOW, RANGE_HIGH = 5.0, 95.0
"""Percentiles of the range quoted beside a number (a 90 % range)."""
RANGE_SEED = 0
RANGE_METHOD = "lhs"
SENSITIVITY_OUTPUT = "facility_energy"
SENSITIVITY_SHOWN = 8
"""Parameters shown in the sensitivity ranking (the largest swings)."""


def prepare(paths: Sequence[Path], baseline_path: Path, *, command: str,
            validate: bool = True, equivalents: Path | None = None,
            uncertainty: int | None = None) -> Briefing:
    """Run the baseline and every scenario (one start year, the earliest end year), validate,
    rank the lead scenario's and the baseline's declared ranges one at a time and, with
    ``uncertainty`` samples, run an ensemble of each scenario for its percentiles."""
    baseline = load_scenario(baseline_path)
    asked = [load_scenario(p) for p in paths]
    names = [s.name for s in asked]
    for s in asked:
        if names.count(s.name) > 1:
            raise ScenarioError(s.path, "scenario.name",
                                f"{s.name!r} is asked for twice; a briefing needs distinct "
                                "scenarios")
    ordered = [baseline.path] + [s.path for s in asked if s.name != baseline.name]
    ds = compare(ordered)
    scenarios = [load_scenario(p) for p in ordered]
    b = Briefing(
        ds=ds, scenarios=scenarios, baseline=baseline.name, lead=asked[0].name,
        equivalents=load_equivalents(equivalents), command=command,
        created=datetime.now(UTC).replace(microsecond=0).isoformat(), samples=uncertainty,
    )
    if validate:
        from projection.validation.checks import run_checks

        b.validation = run_checks()
    if uncertainty is not None:
        b.ranges = ranges(scenarios, uncertainty)
    else:
        b.omitted.append("Ranges: the numbers above are single runs of each scenario; run the "
                         "command with --uncertainty N to add the spread over the declared "
                         "ranges of the inputs.")
    b.sensitivity = sensitivities([b.scenario(b.lead), b.scenario(b.baseline)])
    return b


def ranges(scenarios: Sequence[Scenario], samples: int) -> dict[str, xr.Dataset]:
    """Percentiles of the range outputs for each scenario (model/uncertainty.py's ensemble)."""
    from projection.model.uncertainty import uncertainty

    return {s.name: uncertainty(s, samples, RANGE_SEED, RANGE_METHOD, outputs=RANGE_OUTPUTS)
            for s in scenarios}


def sensitivities(scenarios: Sequence[Scenario]) -> dict[str, xr.Dataset]:
    """One-at-a-time swings of electricity over each scenario's declared ranges
    (validation/sensitivity.py); a scenario that declares no range is left out."""
    from projection.validation.sensitivity import sensitivity

    found = {}
    for s in scenarios:
        if s.name in found or not s.uncertain():
            continue
        found[s.name] = sensitivity(s, "oat", outputs=(SENSITIVITY_OUTPUT,))
    return found


# --- content blocks ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Num:
    """A number on the page and where it comes from (an output, or a quantity derived from one)."""

    value: float
    unit: str = ""
    source: dict[str, str] = field(default_factory=dict)  # data-* attributes
    signed: bool = False
    count: bool = False  # a whole number (checks, plants), written without decimals

    @property
    def text(self) -> str:
        sign = "+" if self.signed and self.value > 0 else ""
        text = sign + (f"{round(self.value):,}" if self.count else fmt(self.value))
        return f"{text} {self.unit}".rstrip() if self.unit else text


Inline = str | Num


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2
    anchor: str = ""


@dataclass(frozen=True)
class Para:
    parts: tuple[Inline, ...]
    css: str = ""


@dataclass(frozen=True)
class Bullets:
    items: tuple[tuple[Inline, ...], ...]


@dataclass(frozen=True)
class Table:
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[Inline | tuple[Inline, ...], ...], ...]
    numeric: tuple[bool, ...] = ()


@dataclass(frozen=True)
class Figure:
    chart: Chart


Block = Heading | Para | Bullets | Table | Figure


def para(*parts: Inline, css: str = "") -> Para:
    return Para(tuple(parts), css)


def out_num(b: Briefing, output: str, scenario: str, year: int, unit: str | None = None,
            workload: str | None = None) -> Num:
    """A catalogue output as a number on the page, tagged with where it comes from."""
    attrs = {"output": output, "scenario": scenario, "year": str(year)}
    if workload:
        attrs["workload"] = workload
    shown = OUTPUT_BY_NAME[output].unit if unit is None else unit
    return Num(b.value(output, scenario, year, workload), _unit_text(shown), attrs)


def _unit_text(unit: str) -> str:
    return {"percent": "%", "GL": "billion litres", "Mt": "Mt CO2e", "g/kWh": "g CO2e/kWh",
            "dimensionless": ""}.get(unit, unit)


def derived(value: float, quantity: str, scenario: str, year: int, unit: str = "",
            **extra: str) -> Num:
    return Num(value, unit, {"quantity": quantity, "scenario": scenario, "year": str(year),
                             **extra})


def difference(b: Briefing, output: str, scenario: str, year: int) -> tuple[Inline, ...]:
    """Difference from the baseline in the output's unit and in percent."""
    if scenario == b.baseline:
        return ("-",)
    value = b.value(output, scenario, year)
    base = b.value(output, b.baseline, year)
    unit = _unit_text(OUTPUT_BY_NAME[output].unit)
    tag = {"output": output, "scenario": scenario, "year": str(year), "baseline": b.baseline}
    parts: list[Inline] = [Num(value - base, "pp" if unit == "%" else unit,
                               {**tag, "quantity": "difference"}, signed=True)]
    if base and unit != "%":
        percent = Num(100 * (value / base - 1), "%", {**tag, "quantity": "difference_percent"},
                      signed=True)
        parts += [" (", percent, ")"]
    return tuple(parts)


# --- sections ------------------------------------------------------------------------------------

def emission_outputs(b: Briefing) -> list[tuple[str, str]]:
    """The emissions outputs of the run with their accounting basis, as a reader needs it said.

    An output whose long name states its basis (location- or market-based) is taken as it says;
    the single ``emissions`` output adjusts the grid mix where data centres are for the clean
    power they contract, which is market-based accounting (docs/methodology.md).
    """
    found = []
    for name in b.ds.data_vars:
        spec = OUTPUT_BY_NAME.get(str(name))
        if spec is None or not str(name).startswith("emissions"):
            continue
        long = spec.long_name.lower()
        if "location" in long:
            basis = "location-based: the grid mix where data centres draw their power"
        elif "market" in long or name == "emissions":
            basis = ("market-based: the grid mix where data centres draw their power, less the "
                     "additional clean power they contract")
        else:
            continue
        found.append((str(name), basis))
    return sorted(found, key=lambda nb: "market" in nb[1])


def _homes(b: Briefing, scenario: str, twh: float) -> tuple[float, Constant]:
    entry = b.scenario(scenario).resolved()["context.household_electricity"]
    kwh = float(parse_quantity(entry["value"]).to("kWh/yr").magnitude)
    constant = Constant("average US household electricity", kwh, "kWh/yr", entry["source"],
                        f"scenario parameter context.household_electricity ({scenario})")
    return twh * 1e9 / kwh, constant


def range_of(b: Briefing, output: str, scenario: str, year: int) -> tuple[Inline, ...]:
    """" (range 480-690 TWh)" from the scenario's ensemble, or nothing without one."""
    if scenario not in b.ranges:
        return ()
    ds = b.ranges[scenario]
    unit = _unit_text(OUTPUT_BY_NAME[output].unit)

    def at(p: float) -> Num:
        value = float(ds[output].sel(percentile=p, year=year))
        return Num(value, "", {"output": output, "scenario": scenario, "year": str(year),
                               "percentile": f"{p:g}"})

    return (" (range ", at(RANGE_LOW), "-", at(RANGE_HIGH), f" {unit})")


def _label(b: Briefing, name: str) -> str:
    """A scenario's title, saying so when it is the baseline of the comparisons."""
    title = b.scenario(name).title
    return f"{title} (the baseline)" if name == b.baseline and "baseline" not in title.lower() \
        else title


def _row_name(b: Briefing, name: str) -> str:
    return name if name != b.baseline or "baseline" in name else f"{name} (baseline)"


def headline(b: Briefing) -> list[Block]:
    s, (y1, *rest) = b.lead, b.headline_years
    y2 = rest[-1] if rest else y1
    title = b.scenario(s).title
    blocks: list[Block] = [Heading("The headline", 2, "headline")]
    first: list[Inline] = [
        f"In the {title} scenario, US data centres use ",
        out_num(b, "facility_energy", s, y1), *range_of(b, "facility_energy", s, y1),
        f" of electricity in {y1}, ",
        out_num(b, "share_of_us_electricity", s, y1), " of all US electricity",
    ]
    if y2 != y1:
        first += [", and ", out_num(b, "facility_energy", s, y2),
                  *range_of(b, "facility_energy", s, y2), f" in {y2} (",
                  out_num(b, "share_of_us_electricity", s, y2), ")"]
    first += [". AI servers account for ", out_num(b, "ai_facility_energy", s, y1),
              *range_of(b, "ai_facility_energy", s, y1), f" in {y1}"]
    if y2 != y1:
        first += [" and ", out_num(b, "ai_facility_energy", s, y2),
                  *range_of(b, "ai_facility_energy", s, y2), f" in {y2}"]
    first += [" (", out_num(b, "ai_share_of_us_electricity", s, y1),
              f" of US electricity in {y1})."]
    blocks.append(Para(tuple(first), "lead"))
    if b.ranges:
        blocks.append(para(
            f"Ranges in brackets hold the middle 90 % (the {RANGE_LOW:g}th to "
            f"{RANGE_HIGH:g}th percentile) of ", Num(b.samples or 0, "", {"quantity": "samples"},
                                                    count=True),
            " runs of each scenario with its uncertain inputs drawn from their declared ranges "
            f"({RANGE_METHOD.upper()} sampling, seed {RANGE_SEED}); they are not forecasts' error "
            "bars but the spread the stated ranges imply."))

    twh = b.value("facility_energy", s, y1)
    homes, household = _homes(b, s, twh)
    gw = twh * TWH_PER_YEAR_TO_GW
    plant = b.equivalents.power_plant
    country = nearest_country(twh, b.equivalents.countries)
    blocks.append(para(
        f"In everyday terms, the {y1} total is the yearly electricity of about ",
        derived(homes / 1e6, "homes_million", s, y1, "million"),
        f" average US homes (at {household.text} a home); an average draw of ",
        derived(gw, "average_power", s, y1, "GW"), ", the output of about ",
        Num(gw / plant.value, "", {"quantity": "power_plants", "scenario": s,
                                   "year": str(y1)}, count=True),
        f" power plants of {plant.text} running all year; and close to what {country.label} "
        f"used in {country.year} ({country.text}).",
    ))
    others = [n for n in b.names if n != s]
    if others:
        items = []
        for n in others:
            item: list[Inline] = [_label(b, n) + ": ",
                                  out_num(b, "facility_energy", n, y1), f" in {y1}"]
            if y2 != y1:
                item += [", ", out_num(b, "facility_energy", n, y2), f" in {y2}"]
            item += ["; AI ", out_num(b, "ai_facility_energy", n, y1), f" in {y1}."]
            items.append(tuple(item))
        blocks += [para("The other scenarios in this briefing:"), Bullets(tuple(items))]
    blocks += per_request(b, s, y1)
    return blocks


def meaning(key: str) -> str:
    """What a scenario parameter means, from the parameter table (model/parameters.py)."""
    try:
        return parameter_for_key(key).description
    except (KeyError, ScenarioError):
        return ""


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def in_unit(output: str, unit: str) -> float:
    """Factor from the catalogue unit of ``output`` to ``unit`` (pint)."""
    return float(ureg.Quantity(1.0, OUTPUT_BY_NAME[output].unit).to(unit).magnitude)


def _wh(b: Briefing, s: str, year: int, w: str) -> Num:
    """Energy per request in Wh, tagged with the output it comes from (stored in J)."""
    return Num(b.value("energy_per_request", s, year, w) * in_unit("energy_per_request", "Wh"),
               "Wh",
               {"output": "energy_per_request", "scenario": s, "year": str(year),
                "workload": w, "unit": "Wh"})


def per_request(b: Briefing, s: str, year: int) -> list[Block]:
    """Fleet energy of one request of each workload, with microwave and e-bike equivalents."""
    start = b.years[0]
    mw, eb = b.equivalents.microwave, b.equivalents.ebike
    rows = []
    for w in WORKLOADS:
        joules = b.value("energy_per_request", s, year, w) * in_unit("energy_per_request", "J")
        metres = joules / eb.value
        distance = (derived(metres / 1e3, "ebike_distance", s, year, "km", workload=w)
                    if metres >= 1e3 else derived(metres, "ebike_distance", s, year, "m",
                                                  workload=w))
        rows.append((
            WORKLOAD_LABELS.get(w, w),
            _wh(b, s, start, w),
            _wh(b, s, year, w),
            derived(joules / mw.value, "microwave_seconds", s, year, "s", workload=w),
            distance,
        ))
    return [
        para(f"One request, on the whole fleet: the electricity data centres use per request "
             f"of each kind of AI work, with the time a {mw.text} microwave oven runs on it and "
             f"the distance an e-bike rides on it (at {eb.text}). The model defines the figure "
             f"as: {_lower_first(OUTPUT_BY_NAME['energy_per_request'].long_name)}."),
        Table(f"Energy per request, {b.scenario(s).title}",
              ("workload", f"{start}", f"{year}", f"microwave, {year}", f"e-bike, {year}"),
              tuple(rows), (False, True, True, True, True)),
    ]


def water_section(b: Briefing, charts: dict[str, Chart]) -> list[Block]:
    s = b.lead
    year = b.headline_years[0]
    onsite = b.value("onsite_water", s, year)
    plant = b.value("indirect_water", s, year)
    return [
        Heading("Water: on site and at power plants", 2, "water"),
        para(f"In {year}, the data centres of the {b.scenario(s).title} scenario consume ",
             out_num(b, "onsite_water", s, year), " of water on site (evaporated in cooling) "
             "and ", out_num(b, "indirect_water", s, year), " at the power plants that "
             "generate their electricity; on-site water is ",
             derived(100 * onsite / (onsite + plant), "onsite_water_share", s, year, "%"),
             " of the total. A figure for the water 'used by data centres' is one of these or "
             "their sum: say which."),
        Figure(charts["water"]),
    ]


def carbon_section(b: Briefing, charts: dict[str, Chart]) -> list[Block]:
    s = b.lead
    year = b.headline_years[0]
    blocks: list[Block] = [Heading("Carbon", 2, "carbon")]
    for name, basis in emission_outputs(b):
        blocks.append(para(f"Emissions of the electricity data centres use, {basis.split(':')[0]} "
                           f"({basis.split(': ', 1)[1]}): ", out_num(b, name, s, year),
                           f" in {year} in the {b.scenario(s).title} scenario."))
    if all(name in b.ds.data_vars for name in ("grid_intensity", "grid_fossil_share",
                                                   "indirect_water_intensity")):
        blocks.append(para(
            "Both carbon and the water at power plants come from one generation mix, that of "
            f"the grids where data centres draw power: in {year}, ",
            out_num(b, "grid_fossil_share", s, year), " coal and gas, emitting ",
            out_num(b, "grid_intensity", s, year), " (life-cycle) and evaporating ",
            out_num(b, "indirect_water_intensity", s, year), ". Published intensities for 2023-"
            "2024 disagree (LBNL 2024: about 0.34 kg CO2e/kWh; Guidi et al. 2024: 548 g/kWh); "
            "the model's 2024 mix gives the first, and docs/methodology.md explains why it cannot "
            "give the second."))
    if "carbon" in charts:
        blocks.append(Figure(charts["carbon"]))
    return blocks


COMPARED: tuple[tuple[str, str], ...] = (
    ("facility_energy", "US data-centre electricity"),
    ("ai_facility_energy", "of which AI servers"),
    ("share_of_us_electricity", "share of US electricity"),
    ("unserved_energy", "demand that capacity could not serve"),
    ("onsite_water", "water consumed on site"),
    ("indirect_water", "water consumed at power plants"),
)


def comparison(b: Briefing) -> list[Block]:
    rows: list[tuple[Inline | tuple[Inline, ...], ...]] = []
    later = [y for y in b.key_years if y > b.years[0]]
    metrics = list(COMPARED) + [(n, f"emissions, {basis.split(':')[0]}")
                                for n, basis in emission_outputs(b)]
    for output, label in metrics:
        unit = _unit_text(OUTPUT_BY_NAME[output].unit)
        for n in b.names:
            row: list[Inline | tuple[Inline, ...]] = [
                f"{label} ({unit})" if n == b.names[0] else "",
                _row_name(b, n),
            ]
            row += [Num(b.value(output, n, y), "", {"output": output, "scenario": n,
                                                    "year": str(y)}) for y in b.key_years]
            row += [difference(b, output, n, y) for y in later]
            rows.append(tuple(row))
    header = ("", "scenario", *map(str, b.key_years),
              *(f"{y} vs baseline" for y in later))
    numeric = (False, False, *([True] * (len(header) - 2)))
    return [Heading("The scenarios compared", 2, "compare"),
            para(f"Differences are from the baseline scenario, {b.baseline}; percentages of US "
                 "electricity differ in percentage points (pp)."),
            Table("Scenario comparison", header, tuple(rows), numeric)]


def charts_section(b: Briefing, charts: dict[str, Chart]) -> list[Block]:
    return [Heading("Electricity and capacity", 2, "charts"),
            Figure(charts["electricity"]), Figure(charts["capacity"])]


def uncertainty_section(b: Briefing, charts: dict[str, Chart]) -> list[Block]:
    """The fan chart (with --uncertainty) and the ranking of the assumptions that matter."""
    blocks: list[Block] = [Heading("How sure, and which assumptions matter", 2, "uncertainty")]
    if "fan" in charts:
        blocks.append(Figure(charts["fan"]))
    if b.lead not in b.sensitivity:
        return blocks + [para(f"The {b.scenario(b.lead).title} scenario declares no ranges on "
                              "its inputs, so its assumptions cannot be ranked.")]
    year = b.headline_years[0]
    ds = b.sensitivity[b.lead]
    swing = ds["swing"].sel(output=SENSITIVITY_OUTPUT, year=year)
    order = np.argsort(-np.abs(swing.values))[:3]
    parts: list[Inline] = [f"Taking each input with a declared range from its low to its high "
                           f"end, one at a time, moves {year} data-centre electricity in the "
                           f"{b.scenario(b.lead).title} scenario most through "]
    for rank, i in enumerate(order):
        key = str(ds["parameter"].values[i])
        moved = Num(float(swing.values[i]), "TWh", {"quantity": "swing", "scenario": b.lead,
                                                     "year": str(year), "parameter": key},
                    signed=True)
        short = _lower_first(meaning(key).split(";")[0].split(" (")[0]).rstrip(".")
        parts += [f"{key} ({short}: ", moved, ")"]
        parts.append("; " if rank < len(order) - 2 else (" and " if rank == len(order) - 2
                                                          else "."))
    blocks.append(Para(tuple(parts)))
    if "sensitivity" in charts:
        blocks.append(Figure(charts["sensitivity"]))
    return blocks


def assumptions(b: Briefing) -> list[Block]:
    blocks: list[Block] = [Heading("What each scenario assumes differently from the baseline", 2,
                                   "assumptions")]
    base = b.scenario(b.baseline).resolved()
    for s in b.scenarios:
        if s.name == b.baseline:
            continue
        mine = s.resolved()
        rows = tuple(
            (f"{key}: {meaning(key)}", mine[key]["value"],
             base.get(key, {}).get("value", "(not set)"), mine[key]["source"])
            for key in sorted(mine) if mine[key]["value"] != base.get(key, {}).get("value")
        )
        blocks.append(para(f"{s.title} ({s.name}): {s.description.strip()}"))
        if rows:
            blocks.append(Table(f"Assumptions of {s.name}",
                                ("parameter", s.name, b.baseline, "source"), rows))
        else:
            blocks.append(para("Same parameter values as the baseline."))
    if len(b.scenarios) == 1:
        blocks.append(para("Only the baseline is in this briefing; its parameters and their "
                           "sources are in its scenario file."))
    return blocks


def validation_section(b: Briefing) -> list[Block]:
    report = b.validation
    blocks: list[Block] = [Heading("How the model compares with published figures", 2,
                                   "validation")]
    if report is None:
        return blocks + [para("Validation was not run for this briefing.")]
    good, bad = report.counts
    groups: dict[str, list[bool]] = {}
    for r in report.results:
        groups.setdefault(r.group, []).append(r.passed)
    rows = tuple((g, Num(len(v), "", {"quantity": "checks", "group": g}, count=True),
                  Num(sum(v), "", {"quantity": "checks_passed", "group": g}, count=True))
                 for g, v in groups.items())
    return blocks + [
        para(Num(good, "", {"quantity": "checks_passed"}, count=True), " of ",
             Num(good + bad, "", {"quantity": "checks"}, count=True),
             " checks against published figures pass (`projection validate` lists each with its "
             "reference, the model's value, the tolerance and the source)."),
        Table("Validation by group", ("group", "checks", "pass"), rows, (False, True, True)),
    ]


METHOD = (
    "The model is a system-dynamics model of US data centres. AI requests of five kinds grow "
    "with adoption; their energy follows the efficiency of the installed accelerators; "
    "training and conventional load have their own trends; facility electricity is IT "
    "electricity times the power usage effectiveness (PUE). Capacity is built through a "
    "construction pipeline limited by grid connections, and demand beyond capacity goes "
    "unserved. On-site water follows from the IT electricity; carbon and the water at power "
    "plants follow from the electricity and one generation mix by source, which moves from "
    "the 2024 mix toward each scenario's target shares. Each run is calibrated so that the "
    "start year reproduces its published state; the years after it are results of the "
    "scenario's assumptions, not targets. docs/methodology.md gives every equation with its "
    "unit and source."
)

LIMITATIONS = (
    "Scenarios are internally consistent stories, not forecasts; the spread between them is "
    "not a probability range.",
    "Energy per request is a fleet average (idle hardware, cooling and work not counted as "
    "requests included); it is not what one benchmark measures on one chip.",
    "Carbon and water at power plants come from one generation mix with national median "
    "intensities per source, not from the plants that serve each data centre; published "
    "data-centre intensities disagree: Guidi et al. 2024's 0.548 kg CO2e/kWh is 60 % above "
    "LBNL 2024's 0.34.",
    "Carbon is shown on the accounting basis stated beside each figure; location-based and "
    "market-based figures answer different questions and should not be mixed.",
    "The model covers US data centres only, by calendar year; it does not cover the "
    "manufacture of hardware or the construction of buildings (embodied emissions).",
)


def method_limitations(b: Briefing) -> list[Block]:
    items = [(t,) for t in LIMITATIONS] + [(t,) for t in b.omitted]
    return [Heading("Method in short", 2, "method"), para(METHOD),
            Heading("Before quoting these numbers", 2, "limitations"), Bullets(tuple(items))]


def constants_section(b: Briefing) -> list[Block]:
    s, year = b.lead, b.headline_years[0]
    twh = b.value("facility_energy", s, year)
    _, household = _homes(b, s, twh)
    used = [household, b.equivalents.microwave, b.equivalents.ebike, b.equivalents.power_plant,
            nearest_country(twh, b.equivalents.countries)]
    rows = tuple((c.label, c.text, c.source, c.locator) for c in used)
    return [Heading("Constants behind the comparisons", 2, "constants"),
            Table("Constants", ("constant", "value", "source", "where"), rows)]


def provenance(b: Briefing) -> list[Block]:
    rows = tuple((s.name, s.title, ", ".join(Path(f).name for f in s.files), s.sha256)
                 for s in b.scenarios)
    return [
        Heading("Provenance", 2, "provenance"),
        para(f"Model: projection {__version__} (Python {platform.python_version()}). "
             f"Made {b.created} by the command: {b.command}. Years {b.years[0]}-{b.years[-1]}; "
             "energy, water and carbon are calendar-year totals, capacity is counted on "
             "1 January."),
        Table("Scenario files", ("scenario", "title", "files", "SHA-256"), rows),
    ]


def blocks(b: Briefing, charts: Sequence[Chart]) -> list[Block]:
    """The whole briefing, in reading order."""
    by_key = {c.key: c for c in charts}
    return [
        *headline(b), *charts_section(b, by_key), *uncertainty_section(b, by_key),
        *water_section(b, by_key),
        *carbon_section(b, by_key), *comparison(b), *assumptions(b), *validation_section(b),
        *method_limitations(b), *constants_section(b), *provenance(b),
    ]


def make_charts(b: Briefing) -> list[Chart]:
    from . import charts

    source = (f"Source: projection {__version__}, scenarios {', '.join(b.names)} "
              f"(baseline: {b.baseline}); made {b.created[:10]}.")
    made = [
        charts.electricity_by_driver(b.ds, b.names, b.baseline, source),
        charts.demand_capacity(b.ds, b.names, b.baseline, source),
        charts.water(b.ds, b.names, b.baseline, b.key_years, source),
    ]
    if b.ranges:
        made.append(charts.fan(b.ranges, b.ds, b.names, b.baseline, "facility_energy",
                               (RANGE_LOW, RANGE_HIGH), source + f" {b.samples:,} runs a "
                               f"scenario, {RANGE_METHOD.upper()} sampling, seed {RANGE_SEED}."))
    if b.lead in b.sensitivity:
        made.append(charts.sensitivity_ranking(
            b.sensitivity, b.lead, b.baseline, SENSITIVITY_OUTPUT, b.headline_years[0],
            SENSITIVITY_SHOWN, source + " Each input at the low and the high end of its declared "
            "range, the others at the scenario's values."))
    emissions = emission_outputs(b)
    if emissions:
        labels = [basis.split(":")[0] for _, basis in emissions]
        made.append(charts.lines(
            b.ds, [(name, label) for (name, _), label in zip(emissions, labels, strict=True)],
            b.names, b.baseline, key="carbon", title=f"Carbon ({' and '.join(labels)})",
            ylabel="emissions, Mt CO2e per year", unit="Mt CO2e",
            what="CO2-equivalent emissions of data-centre electricity in megatonnes per year, "
                 + " and ".join(labels),
            source=f"{source} Accounting basis: "
                   + "; ".join(basis for _, basis in emissions) + "."))
    return made


# --- rendering -----------------------------------------------------------------------------------

TITLE = "AI in US data centres: electricity, water and carbon"
GENERATOR = '<meta name="generator" content="projection brief'
"""The mark of a page this command wrote (it may be replaced by a new briefing)."""

STYLE = """
body { font-family: 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; color: #1a1a1a;
       max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; border-bottom: 1px solid #999; padding-bottom: 0.15rem;
     margin-top: 1.8rem; }
.subtitle { color: #444; margin-top: 0; }
p.lead { font-size: 1.1rem; }
.num { font-weight: 600; white-space: nowrap; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.85rem; }
th, td { border-bottom: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left;
         vertical-align: top; }
th { border-bottom: 2px solid #444; }
td.n, th.n { text-align: right; }
td.n .num { font-weight: normal; }
td.wrap { overflow-wrap: anywhere; max-width: 22rem; }
td:first-child { min-width: 8rem; }
caption, thead { break-after: avoid; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.2rem; }
figure { margin: 1rem 0; break-inside: avoid; }
figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.8rem; color: #333; }
figcaption b { display: block; font-size: 0.95rem; color: #1a1a1a; }
code { font-size: 0.85rem; }
@page { size: A4; margin: 14mm; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; }
               tr { break-inside: avoid; } }
"""


def _html_inline(part: Inline) -> str:
    if isinstance(part, Num):
        attrs = " ".join(f'data-{k}="{html.escape(v)}"' for k, v in part.source.items())
        return (f'<span class="num" {attrs} data-value="{part.value!r}">'
                f"{html.escape(part.text)}</span>")
    return html.escape(part)


def _html_parts(parts: Iterable[Inline]) -> str:
    return "".join(_html_inline(p) for p in parts)


def _cell_parts(cell: Inline | tuple[Inline, ...]) -> tuple[Inline, ...]:
    return cell if isinstance(cell, tuple) else (cell,)


def _html_block(block: Block) -> str:
    if isinstance(block, Heading):
        anchor = f' id="{block.anchor}"' if block.anchor else ""
        return f"<h{block.level}{anchor}>{html.escape(block.text)}</h{block.level}>"
    if isinstance(block, Para):
        css = f' class="{block.css}"' if block.css else ""
        return f"<p{css}>{_html_parts(block.parts)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{_html_parts(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Table):
        numeric = block.numeric or (False,) * len(block.header)
        head = "".join(f'<th{" class=n" if n else ""} scope="col">{html.escape(h)}</th>'
                       for h, n in zip(block.header, numeric, strict=True))
        body = []
        for row in block.rows:
            cells = []
            for cell, n in zip(row, numeric, strict=True):
                text = _html_parts(_cell_parts(cell))
                long = not n and isinstance(cell, str) and len(cell) > 40
                css = ' class="n"' if n else (' class="wrap"' if long else "")
                cells.append(f"<td{css}>{text}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        return (f"<table><caption>{html.escape(block.caption)}</caption><thead><tr>{head}"
                f"</tr></thead><tbody>{''.join(body)}</tbody></table>")
    chart = block.chart
    data = base64.b64encode(chart.svg.encode("utf-8")).decode("ascii")
    return (f'<figure id="chart-{chart.key}"><img src="data:image/svg+xml;base64,{data}" '
            f'alt="{html.escape(chart.alt)}"><figcaption><b>{html.escape(chart.title)}</b>'
            f"{html.escape(chart.source)}</figcaption></figure>")


def subtitle(b: Briefing) -> str:
    return (f"A briefing on the scenarios {', '.join(b.names)} (baseline: {b.baseline}), "
            f"{b.years[0]}-{b.years[-1]}. Made {b.created[:10]} with projection {__version__}.")


def render_html(b: Briefing, content: Sequence[Block]) -> str:
    """A self-contained page: styles inline, charts as data URIs, no script, no network."""
    body = "\n".join(_html_block(x) for x in content)
    meta = json.dumps({"model_version": __version__, "scenarios": b.names,
                       "baseline": b.baseline, "created": b.created}).replace("</", "<\\/")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">"
        f'{GENERATOR} {__version__}">'
        f"<title>{html.escape(TITLE)}</title><style>{STYLE}</style></head>\n<body>"
        f"<h1>{html.escape(TITLE)}</h1><p class=\"subtitle\">{html.escape(subtitle(b))}</p>\n"
        f"{body}\n<script type=\"application/json\" id=\"provenance\">{meta}"
        "</script></body></html>\n"
    )


MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
"""Characters that make emphasis, code, links and images, tables or strike-through in
Markdown (CommonMark and GitHub's extensions), or start HTML and entities (``<``, ``&``):
each is escaped with a backslash wherever it appears in text (with ``[`` and ``]`` escaped,
``(``, ``)`` and ``!`` cannot form a link or an image)."""
MD_LINE_START = re.compile(r"^(\s*)(\d{1,9}(?=[.)](?:\s|$))|(?=[-+=](?:\s|$|[-=]*$))|(?=[>#]))"
                           r"([-+=>#.)])")
"""What makes a line a list item, a quotation or a heading underline when it starts one."""
LINK_SCHEMES = re.compile(r"\b(javascript|vbscript|data|file)(\s*):", re.IGNORECASE)
"""URL schemes that run code or read local files when a Markdown viewer makes a link of them:
the colon is escaped, so no viewer can take the text for a link."""


def md_text(text: str, *, line_start: bool = True) -> str:
    """``text`` (a title, a source, a label: anything from a scenario file or the model) as
    Markdown that shows exactly that text: no emphasis, link, image, raw HTML, entity or
    line structure of its own, and no link to a ``javascript:``-like scheme. ``line_start``:
    the text begins a line (a list, quotation or heading marker there is escaped too)."""
    text = re.sub(r"[\r\n\t\f\v]+", " ", str(text))  # one line: no headings from newlines
    text = MD_SPECIAL.sub(r"\\\1", text)
    text = LINK_SCHEMES.sub(lambda m: f"{m.group(1)}{m.group(2)}\\:", text)
    if not line_start:
        return text
    return MD_LINE_START.sub(lambda m: m.group(1) + m.group(2) + "\\" + m.group(3), text,
                             count=1)


def _md_parts(parts: Iterable[Inline]) -> str:
    joined = "".join(md_text(p.text if isinstance(p, Num) else p, line_start=False)
                     for p in parts)
    return MD_LINE_START.sub(lambda m: m.group(1) + m.group(2) + "\\" + m.group(3), joined,
                             count=1)


def _md_cell(cell: Inline | tuple[Inline, ...]) -> str:
    return _md_parts(_cell_parts(cell))


def _md_block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"{'#' * block.level} {md_text(block.text)}"
    if isinstance(block, Para):
        return _md_parts(block.parts)
    if isinstance(block, Bullets):
        return "\n".join(f"- {_md_parts(i)}" for i in block.items)
    if isinstance(block, Table):
        numeric = block.numeric or (False,) * len(block.header)
        lines = [f"*{md_text(block.caption, line_start=False)}*", "",
                 "| " + " | ".join(md_text(h) for h in block.header) + " |",
                 "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
        return "\n".join(lines)
    chart = block.chart
    return (f"**Chart: {md_text(chart.title, line_start=False)}** (drawn in the HTML version "
            f"of this briefing)\n\n> {md_text(chart.alt)}\n\n{md_text(chart.source)}")


def render_markdown(b: Briefing, content: Sequence[Block]) -> str:
    """The same content as Markdown, charts described by their alt text; every text escaped
    (:func:`md_text`), so that a hostile title or source cannot carry HTML or a link."""
    parts = [f"# {md_text(TITLE)}", md_text(subtitle(b)), *(_md_block(x) for x in content)]
    return "\n\n".join(parts) + "\n"

