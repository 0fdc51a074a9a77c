"""The briefing's inputs: the compared runs, the ensembles, the rankings, the validation and the
constants behind its everyday equivalents.

``prepare`` runs everything a briefing shows once; the text (brief_text.py, brief_appendix.py)
and the renderers (brief_html.py, brief_markdown.py) only read the :class:`Briefing` it returns.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import xarray as xr

from projection.model.errors import InputError
from projection.model.run import compare
from projection.model.scenario import Scenario, ScenarioError, load_scenario
from projection.model.units import UnitError, parse_quantity
from projection.validation.references import fmt as _fmt
from projection.validation.references import load_references

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

    def value(self, output: str, scenario: str, year: int, workload: str | None = None,
              region: str | None = None) -> float:
        sel: dict[str, Any] = {"scenario": scenario, "year": year}
        if workload is not None:
            sel["workload"] = workload
        if region is not None:
            sel["region"] = region
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


RANGE_BACKEND = "numpy"
"""The engine of the briefing's ensembles: small ensembles run faster through numpy than the
compiled engine takes to load, and a first use never waits for its compilation."""


@dataclass(frozen=True)
class CheckCounts:
    """The validation counted as ``projection validate`` counts it: a pass, an explained miss
    (a published figure the model disagrees with, for a stated reason) and a failure are
    three different things."""

    passed: int
    missed: int
    failed: int
    groups: dict[str, tuple[int, int, int]]  # group -> (pass, explained miss, fail)

    @property
    def total(self) -> int:
        return self.passed + self.missed + self.failed


def check_counts(report: Any) -> CheckCounts:
    """Counts from each check's verdict (``pass``, ``miss`` or ``FAIL``)."""
    def tally(results: Sequence[Any]) -> tuple[int, int, int]:
        verdicts = [r.verdict for r in results]
        return verdicts.count("pass"), verdicts.count("miss"), verdicts.count("FAIL")

    groups: dict[str, list[Any]] = {}
    for r in report.results:
        groups.setdefault(r.group, []).append(r)
    return CheckCounts(*tally(report.results), {g: tally(rs) for g, rs in groups.items()})


def prepare(paths: Sequence[Path], baseline_path: Path, *, command: str,
            validate: bool = True, equivalents: Path | None = None,
            uncertainty: int) -> Briefing:
    """Run the baseline and every scenario (one start year, the earliest end year), validate,
    rank the lead scenario's and the baseline's declared ranges one at a time and, unless
    ``uncertainty`` is 0, run an ensemble of that many members of each scenario for its
    percentiles."""
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
        created=datetime.now(UTC).replace(microsecond=0).isoformat(),
        samples=uncertainty or None,
    )
    if validate:
        from projection.validation.checks import run_checks

        b.validation = run_checks()
    if uncertainty:
        b.ranges = ranges(scenarios, uncertainty)
    else:
        b.omitted.append("Ranges: the numbers are single runs of each scenario (the command "
                         "was run with --uncertainty 0); without that option each number "
                         "comes with the spread over the declared ranges of the inputs.")
    b.sensitivity = sensitivities([b.scenario(b.lead), b.scenario(b.baseline)])
    return b


def ranges(scenarios: Sequence[Scenario], samples: int) -> dict[str, xr.Dataset]:
    """Percentiles of the range outputs for each scenario (model/uncertainty.py's ensemble).
    A scenario that declares no uncertain input has no range."""
    from projection.model.uncertainty import uncertainty

    return {s.name: uncertainty(s, samples, RANGE_SEED, RANGE_METHOD, outputs=RANGE_OUTPUTS,
                                backend=RANGE_BACKEND)
            for s in scenarios if s.uncertain()}


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
