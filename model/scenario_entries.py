"""Scenario entries: one parameter value as a scenario file, ``params=`` or ``--set`` gives
it, with its unit, source, uncertainty range and schedule, parsed and checked."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from . import scenario_regions
from .parameters import PARAMETERS, SECTIONS, WORKLOAD_PARAMETERS, WORKLOADS
from .safe_io import printable
from .scenario_keys import (
    Entry,
    ScenarioError,
    _suggest,
    check_bounds,
    parameter_for_key,
    workload_key,
)
from .scenario_ranges import CORRELATIONS, _distribution
from .scenario_schedules import parse_schedule
from .units import UnitError, read_value

ENTRY_KEYS = ("value", "source", "low", "high", "dist", "mode", "sd", "schedule", "ramp")


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
        if section == scenario_regions.SECTION:
            flat.update(scenario_regions.flatten(path, table))
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
    schedule, ramp = parse_schedule(path, key, p, raw)
    return Entry(
        str(value), source.strip(), str(path), base,
        numbers.get("low") if bounded else None, numbers.get("high") if bounded else None,
        str(raw["low"]) if bounded else None, str(raw["high"]) if bounded else None,
        distribution, text, schedule, ramp,
    )
