"""Values given with a run rather than in a scenario file: ``params=`` in Python and
``--set`` on the command line (parsed by ``projection.model.settings``). They are checked as a
file's entries are, keep the range the file declares (``scenario_ranges``), and name their
origin in errors and the provenance."""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import scenario_regions
from .scenario_entries import Entry, _parse_entry
from .scenario_keys import ScenarioError, _suggest, all_keys
from .scenario_ranges import RANGE_KEYS, with_parent_range
from .scenario_schedules import _brief
from .settings import OPTION as SET_OPTION
from .settings import SOURCE as SET_SOURCE
from .settings import parse_setting

OVERRIDES = Path("params")
"""How errors and provenance name values given as overrides rather than in a file."""

OVERRIDE_SOURCE = "override given with the run (params)"


def override_entries(overrides: Mapping[str, Any], loaded: Mapping[str, Entry],
                      origin: Path = OVERRIDES) -> dict[str, Entry]:
    """Entries for overriding values, parsed and checked as a scenario file's entries are."""
    entries = {}
    known = all_keys()
    source = SET_SOURCE if origin == SET_OPTION else OVERRIDE_SOURCE
    if not isinstance(overrides, Mapping):
        raise ScenarioError(origin, "", f"got {_brief(overrides)}, expected a mapping of "
                            "scenario keys to values, e.g. {'demand.adoption_growth': "
                            "'40 %/yr'}")
    for key, raw in overrides.items():
        if not isinstance(key, str):
            raise ScenarioError(origin, _brief(key), "expected a scenario key (text), e.g. "
                                "'demand.adoption_growth'")
        if key.startswith(f"{scenario_regions.SECTION}."):
            scenario_regions.check_key(origin, key)
            if isinstance(raw, Mapping) and any(k in raw for k in RANGE_KEYS):
                raise ScenarioError(origin, key, "a regional value takes no range (the "
                                    "national value's range is sampled)")
        elif key not in known:
            raise ScenarioError(origin, str(key), f"unknown key{_suggest(str(key), known)}")
        if isinstance(raw, str) and ";" in raw:  # the short form of a schedule, as --set
            raw = parse_setting(f"{key}={raw}", origin)[1]
        if not isinstance(raw, Mapping):
            raw = {"value": raw, "source": source}
        raw = {"source": source, **raw} if origin == SET_OPTION else raw
        entries[key] = with_parent_range(origin, key, dict(raw), loaded.get(key),
                                         _parse_entry)
    return entries


_overriding: contextvars.ContextVar[tuple[dict[str, Any], Path, set[str] | None] | None] = \
    contextvars.ContextVar("projection_overriding", default=None)


@contextmanager
def overriding(overrides: Mapping[str, Any], origin: Path | str = SET_OPTION,
               paths: Sequence[Path | str] | None = None) -> Iterator[None]:
    """Within this block, ``load_scenario`` without overrides of its own applies ``overrides``
    (from ``origin``) to the scenario files ``paths`` (every scenario when None): how a
    command passes ``--set`` to code that loads its scenarios itself."""
    named = None if paths is None else {os.path.realpath(p) for p in paths}
    token = _overriding.set((dict(overrides), Path(origin), named))
    try:
        yield
    finally:
        _overriding.reset(token)


def context_overrides(path: Path | str, origin):
    """The overrides :func:`overriding` gives the scenario at ``path`` (or none)."""
    current = _overriding.get()
    if current is None or not current[0]:
        return None, origin
    overrides, given, named = current
    if named is not None and os.path.realpath(path) not in named:
        return None, origin
    return overrides, given
