"""Scenario tables for one state or grid region: ``[regions.VA]``, ``[regions.PJM]``.

A table holds the same keys and entry form as the national tables (a value with its unit and
source, a schedule), for the keys whose meaning is regional (``regions.REGIONAL_KEYS``):

    [regions.VA]
    buildout.interconnection_limit = { value = "0 GW/yr", source = "...: moratorium" }

In the merged entries the key is ``regions.VA.buildout.interconnection_limit``; the same key
works in ``params=`` and ``--set``. A regional value takes no uncertainty range: the
national value's range is sampled, and regions without their own value follow it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import regions, schedules
from .parameters import BY_KEY
from .scenario_keys import Entry, ScenarioError, model_value
from .units import SECONDS_PER_YEAR

SECTION = "regions"


def regional_key(code: str, key: str) -> str:
    return f"{SECTION}.{code}.{key}"


def split_key(key: str) -> tuple[str, str] | None:
    """(code, national key) of a regional key, or None for any other key."""
    parts = key.split(".")
    if len(parts) == 4 and parts[0] == SECTION:
        return parts[1], f"{parts[2]}.{parts[3]}"
    return None


def _codes() -> list[str]:
    d = regions.data()
    return [*d.states, *d.grid_regions]


def check_key(path: Path | str, key: str) -> None:
    """Raise a one-line :class:`ScenarioError` unless ``key`` is a regional key a table may
    set: a known state or grid-region code and a key of ``regions.REGIONAL_KEYS``."""
    code, national = split_key(key) or ("", "")
    if not code:
        raise ScenarioError(path, key, f"expected {SECTION}.CODE.section.name")
    if regions.level(code) is None:
        close = difflib.get_close_matches(code.upper(), _codes(), n=1, cutoff=0.5)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ScenarioError(path, f"{SECTION}.{code}", f"unknown state or grid region{hint}; "
                            "expected a state code (VA, TX, ...) or a grid region "
                            f"({', '.join(regions.data().grid_regions)})")
    if national not in regions.REGIONAL_KEYS:
        known = ", ".join(sorted(regions.REGIONAL_KEYS))
        where = "national" if national in BY_KEY else "unknown"
        raise ScenarioError(path, key, f"{national} is {where}: a state or grid region can set "
                            f"{known} (the other parameters act on the national fleet)")


def flatten(path: Path, table: Any) -> dict[str, Any]:
    """``[regions.CODE]`` tables -> {"regions.CODE.section.name": raw entry}."""
    if not isinstance(table, dict):
        raise ScenarioError(path, SECTION, "expected tables such as [regions.VA]")
    flat: dict[str, Any] = {}
    for code, sections in table.items():
        if not isinstance(sections, dict):
            raise ScenarioError(path, f"{SECTION}.{code}", "expected a table of parameters")
        for section, names in sections.items():
            if not isinstance(names, dict):
                raise ScenarioError(path, f"{SECTION}.{code}.{section}",
                                    "expected section.name = { value = ..., source = ... }")
            for name, raw in names.items():
                key = regional_key(code, f"{section}.{name}")
                check_key(path, key)
                if isinstance(raw, dict) and any(k in raw for k in ("low", "high", "dist",
                                                                     "mode", "sd")):
                    raise ScenarioError(path, key, "a regional value takes no range (the "
                                        "national value's range is sampled)")
                flat[key] = raw
    return flat


def regional_arrays(entries: Mapping[str, Entry], start_year: int) -> dict[str, np.ndarray]:
    """The regional inputs of a one-sample run (``regions.parameter_arrays``), with the
    schedule arrays of the state and grid-region limits when a regional entry has one."""
    parameter = BY_KEY["buildout.interconnection_limit"]
    given: dict[str, Entry] = {}
    for key, entry in entries.items():
        split = split_key(key)
        if split is not None:
            given[split[0]] = entry
    national = float(model_value(parameter,
                                 np.array(entries[parameter.key].base_value)))
    arrays = regions.parameter_arrays(
        {code: float(model_value(parameter, np.array(e.base_value)))
         for code, e in given.items()}, national)
    d = regions.data()
    split = regions.units({code for code in given if code in d.states})
    for level, codes in (("state", split.codes), ("grid", d.grid_regions)):
        rows = [given.get(code) if (level == "grid") == (code in d.grid_regions) else None
                for code in codes]
        if not any(e is not None and e.schedule for e in rows):
            continue
        name = regions.LIMIT_NAMES[level]
        points = [[((year - start_year) * SECONDS_PER_YEAR,
                    float(model_value(parameter, np.array(value))))
                   for year, _, value in e.schedule] if e is not None else []
                  for e in rows]
        ramps = [bool(e is not None and e.ramp) for e in rows]
        for suffix, a in schedules.arrays(arrays[name], points, ramps,
                                          SECONDS_PER_YEAR).items():
            arrays[name + suffix] = a
    return arrays
