"""``--set KEY=VALUE``: a scenario value given on the command line, checked as a file entry is.

Two forms, one per option:

- the short form, a value and optionally a schedule and ``ramp``, separated by semicolons:
  ``--set 'demand.adoption_growth=40 %/yr'``,
  ``--set 'buildout.interconnection_limit=15 GW/yr; 2028: 0 GW/yr; 2031: 10 GW/yr'``,
  ``--set 'carbon.clean_power_share_target=0.2; 2030: 0.6; ramp'``;
- a TOML inline table exactly as in a scenario file (to give a range or a source too):
  ``--set 'buildout.interconnection_limit={ value = "15 GW/yr", low = "5 GW/yr", high =
  "25 GW/yr", schedule = { 2028 = "0 GW/yr" } }'``.

The parsed settings are overrides (``load_scenario(..., overrides=...)``): the provenance
records each with the file ``--set``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from .scenario_keys import ScenarioError

OPTION = Path("--set")
"""How errors and provenance name values given with ``--set``."""
SOURCE = "override given on the command line (--set)"
MAX_LENGTH = 4096
"""Longest ``--set`` text read (a schedule of the most points fits many times over)."""
POINT = re.compile(r"^\s*([^:]*?)\s*:\s*(.*?)\s*$")
SHORT_FORM = "KEY=VALUE or 'KEY=VALUE; YEAR: VALUE; ...[; ramp]'"


def parse_setting(text: str, origin: Path = OPTION) -> tuple[str, Any]:
    """(key, entry) from one ``--set`` text; a malformed text is one :class:`ScenarioError`
    line naming the option and the key."""
    if len(text) > MAX_LENGTH:
        raise ScenarioError(origin, "", f"is {len(text)} characters long, expected at most "
                            f"{MAX_LENGTH}")
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(origin, text.strip()[:60], f"expected {SHORT_FORM}")
    value = value.strip()
    if value.startswith("{"):
        return key, _table(origin, key, value)
    parts = [part.strip() for part in value.split(";")]
    if not parts[0]:
        raise ScenarioError(origin, key, f"has no value; expected {SHORT_FORM}")
    entry: dict[str, Any] = {"value": parts[0], "source": SOURCE}
    schedule: dict[str, str] = {}
    for part in parts[1:]:
        if not part:
            continue
        if part.lower() == "ramp":
            entry["ramp"] = True
            continue
        match = POINT.match(part)
        if match is None or not match.group(2):
            raise ScenarioError(origin, key, f"{part!r}: expected 'YEAR: VALUE' (e.g. "
                                "'2028: 0 GW/yr') or 'ramp'")
        year, point = match.groups()
        if year in schedule:
            raise ScenarioError(origin, f"{key}.schedule.{year}", "year given twice")
        schedule[year] = point
    if schedule:
        entry["schedule"] = schedule
    return key, entry


def _table(origin: Path, key: str, text: str) -> dict[str, Any]:
    """A TOML inline table given as the value of ``key``."""
    try:
        table = tomllib.loads(f"value = {text}")["value"]
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        reason = str(exc).split("(")[0].strip() or type(exc).__name__
        raise ScenarioError(origin, key, f"is not a TOML inline table ({reason})") from None
    if not isinstance(table, dict):
        raise ScenarioError(origin, key, "expected a TOML inline table { value = ..., "
                            "source = ... }")
    table.setdefault("source", SOURCE)
    return table


def parse_settings(texts: list[str] | None, origin: Path = OPTION) -> dict[str, Any]:
    """Every ``--set`` of a command: key -> entry (a key given twice is refused)."""
    settings: dict[str, Any] = {}
    for text in texts or []:
        key, entry = parse_setting(text, origin)
        if key in settings:
            raise ScenarioError(origin, key, "given twice")
        settings[key] = entry
    return settings
