"""Scenario files: TOML with a unit and a source on every value, checked when they load.

A scenario may extend another (``extends = "baseline"``) and override only what differs.
Every problem is reported as one :class:`ScenarioError` line that names the file, the key,
the value and what was expected.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from projection.scenario_files import FOLDER, shipped

from .errors import InputError, whole_number
from .parameters import (
    BY_KEY,
    MIX_SHARE_KEYS,
    MIX_SHARES,
    PARAMETERS,
    SECTIONS,
    SHARE_PARAMETERS,
    WORKLOAD_PARAMETERS,
    WORKLOADS,
    Parameter,
)
from .safe_io import check_path_name, load_toml, path_name_problem, printable
from .sampling import DISTRIBUTIONS, Distribution, DistributionError, correlation_matrix
from .units import SECONDS_PER_YEAR, UnitError, read_value

DEFAULT_START_YEAR = 2024
"""The calibration year of the shipped scenarios: they start from the published 2024 state."""
MIN_START_YEAR = 2000
"""Earliest start year: the published US data-centre series begin in the 2000s."""
MAX_END_YEAR = 2050
"""Beyond this constant growth and efficiency trends stop meaning anything (efficiency gains
compound a thousandfold); refuse rather than extrapolate."""
GROWTH_FLOOR_MARGIN = 1e-9
"""How far above -100 %/yr a yearly rate must stay (a rate of -100 %/yr has no logarithm)."""
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
"""Scenario names become folder names and table columns: letters, digits, _ . - only."""
DEFAULT_END_YEAR = 2030
DEFAULT_SUBSTEPS = 3
MAX_SUBSTEPS = 1000
SHARE_TOLERANCE = 1e-6

META_KEYS = (
    "name", "title", "description", "extends", "start_year", "end_year", "substeps_per_year"
)
ENTRY_KEYS = ("value", "source", "low", "high", "dist", "mode", "sd")
CORRELATIONS = "correlations"
"""Array of tables ``[[correlations]]``: ``parameters = [KEY, KEY]``, ``rank = -1..1`` (a
Spearman rank correlation between two uncertain parameters) and ``source``."""
CORRELATION_KEYS = ("parameters", "rank", "source")


class ScenarioError(InputError):
    """A scenario that cannot be used; ``str()`` is the one-line message for the user."""


@dataclass(frozen=True)
class Entry:
    """One parameter value as the scenario gives it."""

    text: str
    source: str
    file: str
    base_value: float  # in SI base units, as given (a growth rate still compound here)
    low: float | None = None  # optional uncertainty range, SI base units, as given
    high: float | None = None
    low_text: str | None = None
    high_text: str | None = None
    distribution: Distribution | None = None  # low/high alone: uniform
    distribution_text: dict[str, str] | None = None  # the declaration as written


@dataclass
class Scenario:
    path: Path
    name: str
    title: str
    description: str
    start_year: int
    end_year: int
    substeps_per_year: int
    entries: dict[str, Entry]
    files: list[Path]
    sha256: str
    extends: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    correlations: dict[tuple[str, str], float] = field(default_factory=dict)

    @property
    def years(self) -> np.ndarray:
        return np.arange(self.start_year, self.end_year + 1)

    def parameter_arrays(self) -> dict[str, np.ndarray]:
        """Model inputs for a one-sample run: name -> array of shape (1,) or (workloads, 1)."""
        arrays: dict[str, np.ndarray] = {}
        for p in PARAMETERS:
            if p.per_workload:
                values = [self.entries[workload_key(w, p.name)].base_value for w in WORKLOADS]
                arrays[p.name] = model_value(p, np.array(values)[:, None])
            else:
                arrays[p.name] = model_value(p, np.array([self.entries[p.key].base_value]))
        return arrays

    def resolved(self) -> dict[str, dict[str, str]]:
        """Every parameter as given, with its source, range and the file it came from."""
        resolved = {}
        for key, e in sorted(self.entries.items()):
            item = {"value": e.text, "source": e.source, "file": e.file}
            if e.distribution_text is not None:
                item.update(e.distribution_text)
            resolved[key] = item
        return resolved

    def distributions(self) -> dict[str, Distribution]:
        """Every uncertain parameter -> its distribution (SI base units as given), in key
        order."""
        return {key: e.distribution for key, e in sorted(self.entries.items())
                if e.distribution is not None}

    def rank_correlation(self, keys: list[str]) -> np.ndarray | None:
        """The declared rank-correlation matrix over ``keys`` (None when none is declared)."""
        pairs = {pair: rho for pair, rho in self.correlations.items()
                 if pair[0] in keys and pair[1] in keys}
        return correlation_matrix(keys, pairs) if pairs else None

    def uncertain(self) -> dict[str, tuple[float, float]]:
        """Keys with a declared uncertainty range -> (low, high), SI base units as given."""
        return {
            key: (e.low, e.high)
            for key, e in self.entries.items()
            if e.low is not None and e.high is not None
        }


def workload_key(workload: str, name: str) -> str:
    return f"workloads.{workload}.{name}"


def all_keys() -> list[str]:
    keys = [p.key for p in PARAMETERS if not p.per_workload]
    keys += [workload_key(w, p.name) for w in WORKLOADS for p in WORKLOAD_PARAMETERS]
    return keys


def parameter_for_key(key: str) -> Parameter:
    if key in BY_KEY:
        return BY_KEY[key]
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "workloads" and parts[1] in WORKLOADS:
        for p in WORKLOAD_PARAMETERS:
            if p.name == parts[2]:
                return p
    raise KeyError(key)


def model_value(p: Parameter, base_value: np.ndarray) -> np.ndarray:
    """The value the equations use: compound yearly rates become continuous rates per second."""
    if p.kind == "growth":
        return np.log1p(base_value * SECONDS_PER_YEAR) / SECONDS_PER_YEAR
    return base_value


def bounds_violations(p: Parameter, values: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """For each bound of ``p``: (True where ``values``, SI base units, break it; the reason)."""
    v = np.asarray(values, dtype=float)
    rules = [(~np.isfinite(v), "is not a finite number")]
    with np.errstate(invalid="ignore"):
        if p.kind == "positive":
            rules.append((~(v > 0), "must be greater than zero"))
        elif p.kind == "nonnegative":
            rules.append((v < 0, "must not be negative"))
        elif p.kind == "fraction":
            rules.append((~((v >= 0) & (v <= 1)), "must be between 0 and 1 (0 % to 100 %)"))
        elif p.kind == "at_least_one":
            rules.append((v < 1, "must be at least 1"))
        elif p.kind == "growth":
            rules.append((~(v * SECONDS_PER_YEAR > -1 + GROWTH_FLOOR_MARGIN),
                          "must be above -100 %/yr"))
    return rules


def check_bounds(p: Parameter, base_value: float) -> str | None:
    """The reason ``base_value`` is out of bounds for ``p``, or None when it is fine."""
    for bad, reason in bounds_violations(p, np.array([base_value])):
        if bad[0]:
            return reason
    return None


def shipped_scenarios_dir() -> Path:
    return FOLDER


def shipped_scenarios() -> list[Path]:
    return shipped()


def _looks_like_path(text: str) -> bool:
    return text.endswith(".toml") or "/" in text or "\\" in text


def resolve_scenario_path(text: str, relative_to: Path | None = None) -> Path:
    """Where a scenario named on the command line or in ``extends`` lives.

    A path (it ends in .toml or has a folder in it) is taken as given, relative to the folder
    of the extending file when there is one (``relative_to``). A bare name is the file of that
    name beside the extending file, else the shipped scenario of that name.
    """
    path = check_path_name(text, ScenarioError)
    if _looks_like_path(text) or (relative_to is None and os.path.isfile(path)):
        if relative_to is not None and not path.is_absolute():
            return relative_to / path
        return path
    candidates = [] if relative_to is None else [relative_to / f"{text}.toml"]
    candidates.append(shipped_scenarios_dir() / f"{text}.toml")
    for candidate in candidates:
        if path_name_problem(candidate) is None and os.path.isfile(candidate):
            return candidate
    return path


def _suggest(word: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _read_toml(path: Path) -> tuple[dict[str, Any], bytes]:
    return load_toml(path, what="a scenario .toml file", error=ScenarioError)


def _home(name: str) -> str | None:
    """Where a parameter called ``name`` belongs ("[facility]"), or None if there is none."""
    sections = sorted({p.section for p in PARAMETERS if p.name == name and not p.per_workload})
    if sections:
        return " or ".join(f"[{s}]" for s in sections)
    if any(p.name == name for p in WORKLOAD_PARAMETERS):
        return f"a [workloads.NAME] table ({', '.join(WORKLOADS)})"
    return None


def _unknown_key(name: str, options: list[str], everywhere: list[str] | None = None) -> str:
    """"unknown key" with the section the key belongs in, else a did-you-mean."""
    home = _home(name)
    if home:
        return f"unknown key here: {name} belongs in {home}"
    hint = _suggest(name, options)
    if not hint and everywhere:
        close = difflib.get_close_matches(name, everywhere, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}' in {_home(close[0])}?)" if close else ""
    return f"unknown key{hint}"


def _flatten_entries(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """Section tables -> {"section.name": raw entry}; unknown sections and keys are errors."""
    flat: dict[str, Any] = {}
    for section, table in data.items():
        if section in ("scenario", CORRELATIONS):
            continue
        if section not in SECTIONS:
            home = _home(section)
            if home:
                raise ScenarioError(path, section, f"is outside any section: {section} belongs "
                                                   f"in {home}")
            raise ScenarioError(
                path, section,
                f"unknown section{_suggest(section, ['scenario', CORRELATIONS, *SECTIONS])}"
            )
        if not isinstance(table, dict):
            raise ScenarioError(path, section, "expected a table of parameters")
        if section == "workloads":
            for workload, wtable in table.items():
                if workload not in WORKLOADS:
                    raise ScenarioError(
                        path,
                        f"workloads.{workload}",
                        f"unknown workload{_suggest(workload, WORKLOADS)}; "
                        f"expected one of {', '.join(WORKLOADS)}",
                    )
                if not isinstance(wtable, dict):
                    raise ScenarioError(path, f"workloads.{workload}", "expected a table")
                names = [p.name for p in WORKLOAD_PARAMETERS]
                for name, raw in wtable.items():
                    if name not in names:
                        raise ScenarioError(path, workload_key(workload, name),
                                            _unknown_key(name, names))
                    flat[workload_key(workload, name)] = raw
            continue
        names = [p.name for p in PARAMETERS if p.section == section and not p.per_workload]
        for name, raw in table.items():
            if name not in names:
                everywhere = sorted({p.name for p in PARAMETERS})
                raise ScenarioError(path, f"{section}.{name}",
                                    _unknown_key(name, names, everywhere))
            flat[f"{section}.{name}"] = raw
    return flat


def _parse_entry(path: Path, key: str, raw: Any) -> Entry:
    p = parameter_for_key(key)
    if not isinstance(raw, dict):
        raise ScenarioError(
            path, key, f"got {raw!r}, expected {{ value = \"... {p.unit}\", source = \"...\" }}"
        )
    for k in raw:
        if k not in ENTRY_KEYS:
            raise ScenarioError(path, f"{key}.{k}", f"unknown key{_suggest(k, ENTRY_KEYS)}")
    if "value" not in raw:
        raise ScenarioError(path, key, "has no value")
    source = raw.get("source")
    if isinstance(source, str):  # free text that reaches terminals and files: no escapes
        source = printable(source).strip()
    if not isinstance(source, str) or not source:
        raise ScenarioError(path, key, "has no source: every value needs source = \"...\"")
    value = raw["value"]
    try:
        base = read_value(value, p.unit)  # pint's answers, remembered across runs
    except UnitError as exc:
        raise ScenarioError(path, key, f"value {value!r} {exc}") from None
    problem = check_bounds(p, base)
    if problem:
        raise ScenarioError(path, key, f"value {value!r} {problem}")
    numbers: dict[str, float] = {}
    for name in ("low", "high", "mode", "sd"):
        if name in raw:
            try:
                numbers[name] = read_value(raw[name], p.unit, require_unit=False)
            except UnitError as exc:
                raise ScenarioError(path, f"{key}.{name}", f"value {raw[name]!r} {exc}") from None
            problem = check_bounds(p, numbers[name]) if name != "sd" else None
            if problem:
                raise ScenarioError(path, f"{key}.{name}", f"value {raw[name]!r} {problem}")
    distribution, text = _distribution(path, key, p, raw, base, numbers)
    bounded = "low" in numbers and "high" in numbers
    return Entry(
        str(value), source.strip(), str(path), base,
        numbers.get("low") if bounded else None, numbers.get("high") if bounded else None,
        str(raw["low"]) if bounded else None, str(raw["high"]) if bounded else None,
        distribution, text,
    )


def _distribution(path: Path, key: str, p: Parameter, raw: dict[str, Any], base: float,
                  numbers: dict[str, float]) -> tuple[Distribution | None, dict[str, str] | None]:
    """The entry's distribution (or None) and its declaration as written."""
    kind = raw.get("dist")
    if kind is None:
        if "mode" in numbers or "sd" in numbers:
            extra = "mode" if "mode" in numbers else "sd"
            raise ScenarioError(path, f"{key}.{extra}", "given without dist; expected dist = "
                                "\"triangular\" (mode) or \"normal\"/\"lognormal\" (sd)")
        if ("low" in numbers) != ("high" in numbers):
            raise ScenarioError(path, key,
                                "give both low and high for an uncertainty range, or neither")
        if not numbers:
            return None, None
        kind = "uniform"
    if not isinstance(kind, str):
        raise ScenarioError(path, f"{key}.dist", f"got {kind!r}, expected a string")
    if kind not in DISTRIBUTIONS:
        raise ScenarioError(path, f"{key}.dist", f"got {kind!r}, expected one of "
                            f"{', '.join(DISTRIBUTIONS)}{_suggest(kind, DISTRIBUTIONS)}")
    if "low" in numbers and "high" in numbers and not numbers["low"] <= base <= numbers["high"]:
        raise ScenarioError(
            path, key,
            f"expected low <= value <= high, got {raw['low']!r}, {raw['value']!r}, {raw['high']!r}",
        )
    unused = [n for n in ("mode", "sd") if n in numbers
              and not (n == "mode" and kind == "triangular")
              and not (n == "sd" and kind in ("normal", "lognormal"))]
    if unused:
        raise ScenarioError(path, f"{key}.{unused[0]}", f"is not used by dist = {kind!r}")
    if kind == "triangular" and "mode" not in numbers:
        numbers = {**numbers, "mode": base}  # the value is the most likely value
    if p.per_workload and p.name in SHARE_PARAMETERS:
        raise ScenarioError(path, key, "a share cannot be uncertain on its own (the workload "
                            "shares must sum to 100 %); remove its range")
    if key in MIX_SHARE_KEYS:
        raise ScenarioError(path, key, "a share cannot be uncertain on its own (the generation "
                            "shares must sum to 100 %); remove its range")
    try:
        distribution = Distribution(kind, base, numbers.get("low"), numbers.get("high"),
                                    numbers.get("mode"), numbers.get("sd"))
    except DistributionError as exc:
        raise ScenarioError(path, key, f"dist = {kind!r}: {exc}") from None
    lo, hi = distribution.support
    for side, edge, name in ((lo, "below", "low"), (hi, "above", "high")):
        if kind == "lognormal" and side == 0.0:
            continue  # a lognormal never reaches zero
        problem = check_bounds(p, side) if math.isfinite(side) else None
        if problem or (not math.isfinite(side) and _bounded_kind(p, name)):
            raise ScenarioError(path, key, f"dist = {kind!r} reaches {edge} what the value can "
                                f"take; give {name} to truncate it")
    text = {"dist": kind}
    for name in ("low", "mode", "high", "sd"):
        if name in raw:
            text[name] = str(raw[name])
    return distribution, text


def _bounded_kind(p: Parameter, side: str) -> bool:
    """Whether values of ``p`` have a bound on ``side`` ("low" or "high")."""
    return side == "low" or p.kind == "fraction"


def _meta(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    meta = data.get("scenario")
    if meta is None:
        raise ScenarioError(path, "scenario", "missing [scenario] table with title and description")
    if not isinstance(meta, dict):
        raise ScenarioError(path, "scenario", "expected a table")
    for k in meta:
        if k not in META_KEYS:
            raise ScenarioError(path, f"scenario.{k}", f"unknown key{_suggest(k, META_KEYS)}")
    for k in ("title", "description"):
        if k not in meta:
            raise ScenarioError(path, f"scenario.{k}", "missing; expected a non-empty string")
    for k in ("title", "description", "name", "extends"):
        if k in meta and not isinstance(meta[k], str):
            raise ScenarioError(path, f"scenario.{k}",
                                f"got {_brief(meta[k])}, expected a string")
    if "\n" in meta["title"].strip():
        raise ScenarioError(path, "scenario.title", "expected one line (a title, not a story)")
    for k in ("title", "description"):
        # free text reaches terminals and output files: no escape sequences, no overrides
        meta[k] = printable(meta[k], keep_newlines=(k == "description")).strip()
        if not meta[k]:
            raise ScenarioError(path, f"scenario.{k}", "is empty; expected a non-empty string")
    if "name" in meta and not NAME_PATTERN.match(meta["name"]):
        raise ScenarioError(path, "scenario.name", f"got {meta['name']!r}, expected letters, "
                            "digits, '_', '.' or '-' (it names the results folder)")
    if "extends" in meta and not meta["extends"].strip():
        raise ScenarioError(path, "scenario.extends", "is empty; expected the name of a shipped "
                            "scenario or the path of a .toml file")
    return meta


def _brief(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages about values of a wrong type."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _int_setting(path: Path, key: str, value: Any, low: int, high: int) -> int:
    number = whole_number(value)
    if number is None:
        raise ScenarioError(path, key, f"got {_brief(value)}, expected a whole number")
    value = number
    if not low <= value <= high:
        raise ScenarioError(path, key, f"got {value}, expected a value from {low} to {high}")
    return value


TIME_CONSTANTS: dict[str, int] = {
    "demand.mix_adjustment_time": 1,
    "hardware.procurement_time": 1,
    "facility.pue_adjustment_time": 1,
    "buildout.construction_time": 1,
    "buildout.start_adjustment_time": 1,
    "buildout.facility_lifetime": 1,
    "buildout.demand_smoothing_time": 1,
    "carbon.clean_power_adjustment_time": 1,
    "grid.grid_mix_adjustment_time": 1,
}
"""Time constants of the stocks (key -> how many stages share it). A time constant shorter
than one integration step makes the fixed-step integrator inaccurate or unstable. (The
accelerator lifetime is not one: the ageing chain's cohorts are a year wide whatever the
lifetime, and retirement around it is spread over one cohort.)"""


def _check_time_constants(entries: dict[str, Entry], substeps: int) -> None:
    for key, stages in TIME_CONSTANTS.items():
        entry = entries[key]
        span_years = min(entry.base_value, _support(entry)[0]) / SECONDS_PER_YEAR / stages
        if span_years * substeps < 1.0:
            needed = math.ceil(1.0 / span_years)
            per = f" (one of {stages} ageing stages, {span_years:.3g} yr)" if stages > 1 else ""
            raise ScenarioError(
                entry.file, key,
                f"value {entry.text!r}{per} is shorter than one integration step "
                f"(1/{substeps} yr); set substeps_per_year to at least {needed} "
                f"(or --substeps {needed})",
            )


CONSISTENCY_RULES: tuple[tuple[str, str, str], ...] = (
    ("start.load_factor_start", "buildout.max_utilisation",
     "must be less than buildout.max_utilisation "
     "(start-year demand must fit in start-year capacity)"),
)
"""Pairs (smaller, larger) that a usable scenario must respect."""


def _support(entry: Entry) -> tuple[float, float]:
    if entry.distribution is None:
        return entry.base_value, entry.base_value
    return entry.distribution.support


def _check_consistency(path: Path, entries: dict[str, Entry]) -> None:
    for smaller, larger, message in CONSISTENCY_RULES:
        if not entries[smaller].base_value < entries[larger].base_value:
            raise ScenarioError(
                path, smaller,
                f"value {entries[smaller].text!r} {message} ({entries[larger].text!r})",
            )
        if not _support(entries[smaller])[1] < _support(entries[larger])[0]:
            raise ScenarioError(
                path, smaller,
                f"the uncertainty range of {smaller} reaches that of {larger}; every sample "
                f"{message.removeprefix('must ')}",
            )


def _correlations(tables: list[tuple[Path, Any]],
                  entries: dict[str, Entry]) -> dict[tuple[str, str], float]:
    """``[[correlations]]`` of every file in the chain (children override a pair), checked."""
    pairs: dict[tuple[str, str], float] = {}
    where = CORRELATIONS
    last = Path("")
    for file, table in tables:
        last = file
        if not isinstance(table, list):
            raise ScenarioError(file, where, "expected [[correlations]] tables with parameters "
                                "= [KEY, KEY], rank = -1..1 and source")
        for i, item in enumerate(table):
            at = f"{where}[{i}]"
            if not isinstance(item, dict):
                raise ScenarioError(file, at, "expected a table")
            for k in item:
                if k not in CORRELATION_KEYS:
                    raise ScenarioError(file, f"{at}.{k}",
                                        f"unknown key{_suggest(k, CORRELATION_KEYS)}")
            keys = item.get("parameters")
            if (not isinstance(keys, list) or len(keys) != 2
                    or not all(isinstance(k, str) for k in keys) or keys[0] == keys[1]):
                raise ScenarioError(file, f"{at}.parameters",
                                    f"got {keys!r}, expected two different parameter keys")
            for k in keys:
                if k not in entries:
                    raise ScenarioError(file, f"{at}.parameters",
                                        f"unknown key {k!r}{_suggest(k, all_keys())}")
                if entries[k].distribution is None:
                    raise ScenarioError(file, f"{at}.parameters", f"{k} has no distribution "
                                        "(give it low and high, or a dist) to correlate")
            rank = item.get("rank")
            if isinstance(rank, bool) or not isinstance(rank, int | float):
                raise ScenarioError(file, f"{at}.rank", f"got {rank!r}, expected a number "
                                    "between -1 and 1")
            if not -1 < rank < 1:
                raise ScenarioError(file, f"{at}.rank", f"got {rank}, expected a rank "
                                    "correlation strictly between -1 and 1")
            source = item.get("source")
            if not isinstance(source, str) or not source.strip():
                raise ScenarioError(file, at, "has no source: every correlation needs "
                                    "source = \"...\"")
            a, b = sorted(keys)
            pairs[(a, b)] = float(rank)
    if pairs:
        keys = sorted({k for pair in pairs for k in pair})
        try:
            correlation_matrix(keys, pairs)
        except DistributionError as exc:
            raise ScenarioError(last, CORRELATIONS, str(exc)) from None
    return pairs


def _parent_path(child: Path, parent: str) -> Path:
    """The file that ``child``'s ``extends = parent`` names; refused in one line naming the
    child and the key when the name cannot be a file or nothing is there."""
    problem = path_name_problem(parent)
    if problem:
        raise ScenarioError(child, "scenario.extends", f"{parent!r} {problem}")
    found = resolve_scenario_path(parent, relative_to=child.parent)
    problem = path_name_problem(found)
    if problem:
        raise ScenarioError(child, "scenario.extends", f"{parent!r} {problem}")
    if not os.path.lexists(found):
        raise ScenarioError(child, "scenario.extends", f"{parent!r}: no such scenario file")
    return found


OVERRIDES = Path("params")
"""How errors and provenance name values given as overrides rather than in a file."""
OVERRIDE_SOURCE = "override given with the run (params)"


def _override_entries(overrides: Mapping[str, Any]) -> dict[str, Entry]:
    """Entries for overriding values, parsed and checked as a scenario file's entries are."""
    entries = {}
    known = all_keys()
    if not isinstance(overrides, Mapping):
        raise ScenarioError(OVERRIDES, "", f"got {_brief(overrides)}, expected a mapping of "
                            "scenario keys to values, e.g. {'demand.adoption_growth': "
                            "'40 %/yr'}")
    for key, raw in overrides.items():
        if not isinstance(key, str):
            raise ScenarioError(OVERRIDES, _brief(key), "expected a scenario key (text), e.g. "
                                "'demand.adoption_growth'")
        if key not in known:
            raise ScenarioError(OVERRIDES, str(key), f"unknown key{_suggest(str(key), known)}")
        if not isinstance(raw, Mapping):
            raw = {"value": raw, "source": OVERRIDE_SOURCE}
        entries[key] = _parse_entry(OVERRIDES, key, dict(raw))
    return entries


def find_scenario(text: str | Path) -> Path:
    """The file of a scenario named by a user: a path, or the name of a shipped scenario.

    A name that matches no file raises :class:`ScenarioError` with the closest shipped name.
    """
    path = resolve_scenario_path(str(text))
    if os.path.lexists(path):  # a symbolic link that loops is reported when it is read
        return path
    names = [p.stem for p in shipped_scenarios()]
    if _looks_like_path(str(text)):
        raise ScenarioError(path, "", "no such file")
    hint = _suggest(str(text), names)
    raise ScenarioError(path, "", f"no such scenario file or shipped scenario{hint}; "
                        f"shipped: {', '.join(names)}")


def load_scenario(
    path: Path | str,
    *,
    end_year: int | None = None,
    substeps_per_year: int | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Scenario:
    """Read, merge (``extends``) and check a scenario file.

    ``overrides`` maps scenario keys (``"demand.adoption_growth"``) to values that replace the
    file's, each a quantity string (``"40 %/yr"``) or a table as in the file (``{value = ...,
    source = ...}``); they are checked exactly as the file's entries are, and errors name
    ``OVERRIDES`` in place of the file. They enter the scenario's hash.
    """
    path = check_path_name(path, ScenarioError)
    chain: list[tuple[Path, dict[str, Any], bytes]] = []
    seen: set[str] = set()
    current: Path | None = path
    while current is not None:
        resolved = os.path.realpath(current)  # never raises, even on a symlink loop
        if resolved in seen:
            raise ScenarioError(current, "scenario.extends", "extends itself in a loop")
        seen.add(resolved)
        data, raw = _read_toml(current)
        meta = _meta(current, data)
        chain.append((current, data, raw))
        parent = meta.get("extends")
        if parent is None:
            current = None
        else:
            current = _parent_path(current, parent)

    entries: dict[str, Entry] = {}
    settings: dict[str, Any] = {}
    correlation_tables: list[tuple[Path, Any]] = []
    for file, data, _ in reversed(chain):  # the root first, so children override
        for key, raw in _flatten_entries(file, data).items():
            entries[key] = _parse_entry(file, key, raw)
        if CORRELATIONS in data:
            correlation_tables.append((file, data[CORRELATIONS]))
        for k in ("start_year", "end_year", "substeps_per_year"):
            if k in data["scenario"]:
                settings[k] = (file, data["scenario"][k])

    entries.update(_override_entries({} if overrides is None else overrides))
    missing = [k for k in all_keys() if k not in entries]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise ScenarioError(path, missing[0], f"missing (every parameter needs a value){more}")

    for name in SHARE_PARAMETERS:
        total = sum(entries[workload_key(w, name)].base_value for w in WORKLOADS)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise ScenarioError(
                path,
                f"workloads.*.{name}",
                f"shares sum to {total:.6g}, expected 1 (100 %)",
            )

    for label, keys in MIX_SHARES.items():
        total = sum(entries[k].base_value for k in keys)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise ScenarioError(path, label,
                                f"shares sum to {total:.6g}, expected 1 (100 %)")

    _check_consistency(path, entries)
    correlations = _correlations(correlation_tables, entries)

    file_start, value_start = settings.get("start_year", (path, DEFAULT_START_YEAR))
    start = _int_setting(file_start, "scenario.start_year", value_start, MIN_START_YEAR,
                         MAX_END_YEAR - 1)
    file_end, value_end = settings.get("end_year", (path, DEFAULT_END_YEAR))
    if end_year is not None:
        file_end, value_end = Path("--end-year"), end_year
    final_end = _int_setting(file_end, "scenario.end_year", value_end, start + 1, MAX_END_YEAR)
    file_sub, value_sub = settings.get("substeps_per_year", (path, DEFAULT_SUBSTEPS))
    if substeps_per_year is not None:
        file_sub, value_sub = Path("--substeps"), substeps_per_year
    final_sub = _int_setting(file_sub, "scenario.substeps_per_year", value_sub, 1, MAX_SUBSTEPS)
    _check_time_constants(entries, final_sub)

    digest = hashlib.sha256()
    for _, _, raw in chain:
        digest.update(raw)
    if overrides:
        digest.update(json.dumps({k: overrides[k] for k in sorted(overrides)},
                                 default=str).encode())
    meta = chain[0][1]["scenario"]
    return Scenario(
        path=path,
        name=meta.get("name", path.stem),
        title=meta["title"].strip(),
        description=" ".join(meta["description"].split()),
        start_year=start,
        end_year=final_end,
        substeps_per_year=final_sub,
        entries=entries,
        files=[c[0] for c in chain],
        sha256=digest.hexdigest(),
        extends=meta.get("extends"),
        meta=dict(meta),
        correlations=correlations,
    )
