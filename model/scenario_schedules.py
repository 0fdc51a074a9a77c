"""Schedules in scenario entries: ``schedule = { 2028 = "0 GW/yr", 2031 = "10 GW/yr" }``.

Each point is checked as the entry's value is (unit, bounds); its year must be a whole year
written in increasing order, after the start year (the start year is calibrated and held,
the same in every scenario, so nothing may change in it) and no later than the end year.
Only parameters that the equations read while the run advances can change over time: the
start state, the shares that must sum to one and the per-source generation parameters (read
once, through arrays derived when the run starts) cannot. ``projection.model.schedules``
evaluates the schedules inside the equations.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import regions, schedules
from .parameters import MIX_SHARE_KEYS, SHARE_PARAMETERS, WORKLOADS, Parameter
from .scenario_keys import (
    MAX_END_YEAR,
    MIN_START_YEAR,
    Entry,
    ScenarioError,
    check_bounds,
    model_value,
    workload_key,
)
from .scenario_regions import split_key
from .units import SECONDS_PER_YEAR, UnitError, read_value

YEAR = re.compile(r"^[0-9]{4}$")
EXAMPLE = 'schedule = { 2028 = "...", 2031 = "..." }'


def parse_schedule(path: Path | str, key: str, p: Parameter,
                   raw: Mapping[str, Any]) -> tuple[tuple[tuple[int, str, float], ...], bool]:
    """The entry's schedule, (year, value as given, SI base value) in increasing years, and
    its ramp flag; every problem is one :class:`ScenarioError` naming the key."""
    ramp = raw.get("ramp", False)
    if not isinstance(ramp, bool):
        raise ScenarioError(path, f"{key}.ramp", f"got {ramp!r}, expected true or false")
    if "schedule" not in raw:
        if "ramp" in raw:
            raise ScenarioError(path, f"{key}.ramp", f"given without a schedule; expected "
                                f"{EXAMPLE}")
        return (), False
    problem = not_schedulable(key, p)
    if problem:
        raise ScenarioError(path, f"{key}.schedule", f"{key} cannot change over time: {problem}")
    table = raw["schedule"]
    where = f"{key}.schedule"
    if not isinstance(table, Mapping):
        raise ScenarioError(path, where, f"got {_brief(table)}, expected a table of years, "
                            f"{EXAMPLE}")
    if not table:
        raise ScenarioError(path, where, f"is empty; expected at least one year, {EXAMPLE}")
    if len(table) > schedules.POINTS:
        raise ScenarioError(path, where, f"has {len(table)} points, expected at most "
                            f"{schedules.POINTS}")
    points: list[tuple[int, str, float]] = []
    for year_key, value in table.items():
        year = _year(path, where, year_key, value)
        if any(year == y for y, _, _ in points):
            raise ScenarioError(path, f"{where}.{year}", "year given twice")
        if points and year < points[-1][0]:
            raise ScenarioError(path, f"{where}.{year}", f"comes after {points[-1][0]}; "
                                "expected years in increasing order")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ScenarioError(path, f"{where}.{year}", f"got {_brief(value)}, expected a "
                                f"value in {p.unit}")
        try:
            base = read_value(value, p.unit)
        except UnitError as exc:
            raise ScenarioError(path, f"{where}.{year}", f"value {value!r} {exc}") from None
        problem = check_bounds(p, base)
        if problem:
            raise ScenarioError(path, f"{where}.{year}", f"value {value!r} {problem}")
        points.append((year, str(value), base))
    return tuple(points), ramp


def _year(path: Path | str, where: str, year_key: Any, value: Any) -> int:
    """A schedule's year as written (a TOML key is text; ``params=`` may give a number)."""
    if isinstance(year_key, bool):
        raise ScenarioError(path, where, f"year {year_key!r} is not a whole year")
    if isinstance(year_key, int):
        year = year_key
    else:
        text = str(year_key)
        if isinstance(value, Mapping):  # TOML reads 2028.5 = "..." as a dotted key
            text = f"{text}.{'.'.join(str(k) for k in value)}"
        if not YEAR.match(text.strip()):
            raise ScenarioError(path, where, f"year {text!r} is not a whole year (expected "
                                "e.g. 2028)")
        year = int(text)
    if not MIN_START_YEAR < year <= MAX_END_YEAR:
        raise ScenarioError(path, f"{where}.{year}", f"year {year} is outside "
                            f"{MIN_START_YEAR + 1}-{MAX_END_YEAR}")
    return year


def _brief(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def not_schedulable(key: str, p: Parameter) -> str | None:
    """Why parameter ``p`` (named by ``key``) cannot have a schedule, or None if it can."""
    regional = split_key(key)
    key = regional[1] if regional else key  # a state's or region's value: as the national
    if p.section == "start" or p.name.endswith("_start"):
        return "it describes the calibrated start year, which every scenario holds"
    if p.name in SHARE_PARAMETERS or key in MIX_SHARE_KEYS:
        return "it is one of the shares that must sum to 100 % in every year"
    if key not in time_varying_keys():
        return ("the equations read it once, when the run starts (it sets the start state "
                "or a quantity derived from it)")
    return None


@functools.cache
def time_varying_keys() -> frozenset[str]:
    """Keys of the parameters (and rows of per-workload parameters) that ``dynamics.rates``
    reads while the run advances: found by tracing it once (``projection.model.trace``),
    which records exactly which inputs its results depend on."""
    from . import dynamics, trace
    from .parameters import PARAMETERS

    values = {q.name: np.full((len(WORKLOADS), 1) if q.per_workload else (1,), 0.5)
              for q in PARAMETERS}
    regional = regions.parameter_arrays({}, 0.5)
    values.update({k: np.full(v.shape, 0.5) for k, v in regional.items()})
    with np.errstate(all="ignore"):
        full = dynamics.with_derived({**values, **dynamics.first_calibration(
            values, SECONDS_PER_YEAR)})
        stocks = {k: np.shape(v)[:-1] for k, v in dynamics.initial_state(full).items()}
    g = trace.Graph()
    p = trace.LazyInputs(g, "p", {k: np.shape(v)[:-1] for k, v in full.items()})
    state = trace.inputs(g, "s", stocks)
    time = trace.Sym(g, np.array([g.input("t")], dtype=object))
    results = dynamics.rates(state, p, time, True)
    roots = [int(i) for group in results for v in group.values()
             for i in trace._as_sym(g, v).ids.flat]
    read = trace.needed_inputs(g, roots)
    keys = set()
    for q in PARAMETERS:
        if q.per_workload:
            keys |= {workload_key(w, q.name) for k, w in enumerate(WORKLOADS)
                     if trace.input_name("p", q.name, (k,)) in read}
        elif trace.input_name("p", q.name, ()) in read:
            keys.add(q.key)
    return frozenset(keys)


def check_years(entries: Mapping[str, Entry], start: int, end: int) -> None:
    """Every schedule's years within start + 1 .. end: the start year is held."""
    for key, e in entries.items():
        for year, _, _ in e.schedule:
            where = f"{key}.schedule.{year}"
            if year <= start:
                raise ScenarioError(e.file, where, f"year {year} is not after the start year "
                                    f"{start}, which is calibrated and held in every "
                                    f"scenario; expected {start + 1} to {end}")
            if year > end:
                raise ScenarioError(e.file, where, f"year {year} is after the end year {end} "
                                    "(it would never take effect; raise end_year or "
                                    "--end-year)")


def schedule_arrays(entries: Mapping[str, Entry], p: Parameter, base: np.ndarray,
                    start: int, always: bool = False) -> dict[str, np.ndarray]:
    """The input arrays of ``p``'s schedule (``projection.model.schedules``) for a
    one-sample run, or none when no entry of ``p`` has one (unless ``always``: then a
    schedule that holds the value)."""
    keys = ([workload_key(w, p.name) for w in WORKLOADS] if p.per_workload else [p.key])
    if not always and not any(entries[k].schedule for k in keys):
        return {}
    points = [[((year - start) * SECONDS_PER_YEAR, float(model_value(p, np.array(value))))
               for year, _, value in entries[k].schedule] for k in keys]
    arrays = schedules.arrays(base, points, [entries[k].ramp for k in keys], SECONDS_PER_YEAR)
    return {p.name + suffix: a for suffix, a in arrays.items()}


def described(e: Entry) -> dict[str, str]:
    """The schedule as written, for the provenance: {"schedule": "2028: 0 GW/yr; ...",
    "ramp": "true"}, or nothing."""
    if not e.schedule:
        return {}
    text = "; ".join(f"{year}: {value}" for year, value, _ in e.schedule)
    return {"schedule": text, **({"ramp": "true"} if e.ramp else {})}
