"""Scenario keys: which parameter a key names, its bounds, and the error every check raises.

The lowest layer of the scenario modules (``scenario_entries`` parses an entry,
``scenario_ranges`` its uncertainty, ``scenario`` loads whole files); nothing here reads a
file.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .parameters import BY_KEY, PARAMETERS, WORKLOAD_PARAMETERS, WORKLOADS, Parameter
from .sampling import Distribution
from .units import SECONDS_PER_YEAR

MIN_START_YEAR = 2000
"""Earliest start year: the published US data-centre series begin in the 2000s."""

MAX_END_YEAR = 2050
"""Beyond this constant growth and efficiency trends stop meaning anything (efficiency gains
compound a thousandfold); refuse rather than extrapolate."""

GROWTH_FLOOR_MARGIN = 1e-9
"""How far above -100 %/yr a yearly rate must stay (a rate of -100 %/yr has no logarithm)."""


class ScenarioError(InputError):
    """A scenario that cannot be used; ``str()`` is the one-line message for the user."""


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
    if len(parts) == 4 and parts[0] == "regions" and f"{parts[2]}.{parts[3]}" in BY_KEY:
        return BY_KEY[f"{parts[2]}.{parts[3]}"]  # a state's or grid region's own value
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


def _suggest(word: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


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
    schedule: tuple[tuple[int, str, float], ...] = ()
    """(year, value as given, SI base value as given) from 1 January of each year on."""
    ramp: bool = False  # the value moves linearly between the scheduled points
    range_file: str | None = None
    """The file that declared the range, when it is not this entry's own (inherited); for an
    override outside that range, "none: ..." and why."""
