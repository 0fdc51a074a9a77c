"""Scenario files: TOML with a unit and a source on every value, checked when they load.

A scenario may extend another (``extends = "baseline"``) and override only what differs; an
override keeps the range its parent declares unless it declares its own
(``scenario_ranges``). Every problem is reported as one :class:`ScenarioError` line that
names the file, the key, the value and what was expected. Entries are parsed in
``scenario_entries`` (values, units, schedules), ranges in ``scenario_ranges``; this module
reads and merges the files and checks the whole.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from projection.scenario_files import FOLDER, shipped

from .errors import whole_number
from .parameters import (
    MIX_SHARES,
    PARAMETERS,
    SHARE_PARAMETERS,
    WORKLOADS,
)
from .safe_io import check_path_name, load_toml, path_name_problem, printable
from .sampling import Distribution, correlation_matrix
from .scenario_entries import ENTRY_KEYS, Entry, _flatten_entries, _parse_entry
from .scenario_keys import (
    GROWTH_FLOOR_MARGIN,
    MAX_END_YEAR,
    MIN_START_YEAR,
    ScenarioError,
    _suggest,
    all_keys,
    bounds_violations,
    check_bounds,
    model_value,
    parameter_for_key,
    workload_key,
)
from .scenario_overrides import (
    OVERRIDE_SOURCE,
    OVERRIDES,
    context_overrides,
    override_entries,
    overriding,
)
from .scenario_ranges import (
    CORRELATION_KEYS,
    CORRELATIONS,
    _correlations,
    _support,
    check_kept_ranges,
    with_parent_range,
)
from .scenario_regions import regional_arrays
from .scenario_schedules import check_years, described, schedule_arrays
from .settings import OPTION as SET_OPTION
from .units import SECONDS_PER_YEAR

__all__ = [
    "CORRELATIONS", "CORRELATION_KEYS", "ENTRY_KEYS", "GROWTH_FLOOR_MARGIN", "MAX_END_YEAR",
    "MIN_START_YEAR", "Entry", "Scenario", "ScenarioError", "all_keys", "bounds_violations",
    "check_bounds", "find_scenario", "load_scenario", "model_value", "parameter_for_key",
    "resolve_scenario_path", "shipped_scenarios", "workload_key", "OVERRIDES", "OVERRIDE_SOURCE",
    "overriding",
]

DEFAULT_START_YEAR = 2024
"""The calibration year of the shipped scenarios: they start from the published 2024 state."""

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
"""Scenario names become folder names and table columns: letters, digits, _ . - only."""

DEFAULT_END_YEAR = 2030

DEFAULT_SUBSTEPS = 3

MAX_SUBSTEPS = 1000

SHARE_TOLERANCE = 1e-6

META_KEYS = (
    "name", "title", "description", "extends", "start_year", "end_year", "substeps_per_year"
)


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

    def parameter_arrays(self, scheduled: Iterable[str] = ()) -> dict[str, np.ndarray]:
        """Model inputs for a one-sample run: name -> array of shape (1,) or (workloads, 1),
        with the schedule inputs (``projection.model.schedules``) of every scheduled
        parameter and of the parameters named in ``scheduled`` (by name, e.g.
        ``"interconnection_limit"``; their schedules hold the value, so the results do not
        change): one compiled engine then serves any schedule of those parameters."""
        arrays: dict[str, np.ndarray] = {}
        forced = set(scheduled)
        for p in PARAMETERS:
            if p.per_workload:
                values = [self.entries[workload_key(w, p.name)].base_value for w in WORKLOADS]
                arrays[p.name] = model_value(p, np.array(values)[:, None])
            else:
                arrays[p.name] = model_value(p, np.array([self.entries[p.key].base_value]))
            arrays.update(schedule_arrays(self.entries, p, arrays[p.name], self.start_year,
                                          p.name in forced))
        arrays.update(regional_arrays(self.entries, self.start_year))
        return arrays

    def resolved(self) -> dict[str, dict[str, str]]:
        """Every parameter as given, with its source, range and the file it came from."""
        resolved = {}
        for key, e in sorted(self.entries.items()):
            item = {"value": e.text, "source": e.source, "file": e.file}
            if e.distribution_text is not None:
                item.update(e.distribution_text)
            if e.range_file is not None:
                item["range_file"] = e.range_file
            item.update(described(e))
            resolved[key] = item
        return resolved

    def overrides(self) -> dict[str, dict[str, str]]:
        """The values given with the run (``params=``, ``--set``) rather than in a file, as
        :meth:`resolved` records them."""
        return {key: item for key, item in self.resolved().items()
                if item["file"] in (str(OVERRIDES), str(SET_OPTION))}

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


def _read_toml(path: Path) -> tuple[dict[str, Any], bytes]:
    return load_toml(path, what="a scenario .toml file", error=ScenarioError)


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
        shortest = min([entry.base_value, _support(entry)[0], *(v for _, _, v in entry.schedule)])
        span_years = shortest / SECONDS_PER_YEAR / stages
        if span_years * substeps < 1.0:
            needed = math.ceil(1.0 / span_years)
            per = f" (one of {stages} ageing stages, {span_years:.3g} yr)" if stages > 1 else ""
            text = next((f"{t!r} (scheduled {y})" for y, t, v in entry.schedule
                         if v == shortest), repr(entry.text))
            raise ScenarioError(
                entry.file, key,
                f"value {text}{per} is shorter than one integration step "
                f"(1/{substeps} yr); set substeps_per_year to at least {needed} "
                f"(or --substeps {needed})",
            )


CONSISTENCY_RULES: tuple[tuple[str, str, str], ...] = (
    ("start.load_factor_start", "buildout.max_utilisation",
     "must be less than buildout.max_utilisation "
     "(start-year demand must fit in start-year capacity)"),
)
"""Pairs (smaller, larger) that a usable scenario must respect."""


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


def _read_chain(path: Path) -> list[tuple[Path, dict[str, Any], bytes]]:
    """The file at ``path`` and every file it extends, child first: (path, data, bytes)."""
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
        current = None if parent is None else _parent_path(current, parent)
    return chain


def _check_shares(path: Path, entries: Mapping[str, Entry]) -> None:
    """Workload shares and generation shares must each sum to one."""
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


def load_scenario(
    path: Path | str,
    *,
    end_year: int | None = None,
    substeps_per_year: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    origin: Path | str | None = None,
) -> Scenario:
    """Read, merge (``extends``) and check a scenario file.

    ``overrides`` maps scenario keys (``"demand.adoption_growth"``) to values that replace the
    file's, each a quantity string (``"40 %/yr"``; with a schedule ``"15 GW/yr; 2028: 0
    GW/yr"``, as ``--set`` takes it) or a table as in the file (``{value = ..., source =
    ...}``); they are checked exactly as the file's entries are, keep the range the file
    declares unless they declare their own, and errors and the provenance name ``origin``
    (default ``OVERRIDES``, "params"; the command line passes "--set") in place of the file.
    They enter the scenario's hash. Within :func:`overriding`, its overrides apply to the
    scenarios it names.
    """
    if overrides is None:
        overrides, origin = context_overrides(path, origin)
    origin = Path(origin) if origin is not None else OVERRIDES
    path = check_path_name(path, ScenarioError)
    chain = _read_chain(path)
    entries: dict[str, Entry] = {}
    settings: dict[str, Any] = {}
    correlation_tables: list[tuple[Path, Any]] = []
    for file, data, _ in reversed(chain):  # the root first, so children override
        for key, raw in _flatten_entries(file, data).items():
            entries[key] = with_parent_range(file, key, raw, entries.get(key), _parse_entry)
        if CORRELATIONS in data:
            correlation_tables.append((file, data[CORRELATIONS]))
        for k in ("start_year", "end_year", "substeps_per_year"):
            if k in data["scenario"]:
                settings[k] = (file, data["scenario"][k])

    entries.update(override_entries(overrides or {}, entries, origin))
    missing = [k for k in all_keys() if k not in entries]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise ScenarioError(path, missing[0], f"missing (every parameter needs a value){more}")

    _check_shares(path, entries)
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
    check_years(entries, start, final_end)
    check_kept_ranges(entries, {str(OVERRIDES), str(SET_OPTION)})

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
