"""One pint registry for the whole project, and parsing of unit strings at the boundary.

Inside the time loop every quantity is a plain float in SI base units (seconds, joules,
watts, kilograms, cubic metres); conversion happens only when a scenario is read and when
results are labelled.
"""

from __future__ import annotations

import math
import re
from functools import cache
from typing import TYPE_CHECKING, Any

from .errors import ProjectionError

if TYPE_CHECKING:
    import pint


@cache
def registry() -> pint.UnitRegistry:
    """The project's one pint registry, made on first use (importing pint and reading its
    unit definitions take longer than a model run; commands that need no units skip both).
    pint keeps the parsed definitions in its cache folder when it can write one."""
    import pint

    try:
        ureg = pint.UnitRegistry(cache_folder=":auto:")
    except Exception:  # no writable cache folder: parse the definitions every time
        ureg = pint.UnitRegistry()
    # A request (one response, one image, one video) is a count: dimensionless.
    ureg.define("request = 1 = req")
    ureg.define("data_centre = 1")
    ureg.define("household = 1")
    # Counts of accelerators, tokens and floating-point operations are dimensionless too.
    ureg.define("accelerator = 1")
    ureg.define("token = 1")
    ureg.define("FLOP = 1")
    return ureg


def __getattr__(name: str) -> Any:
    """``ureg`` and ``Q_``: the registry and its Quantity class, made on first use."""
    if name == "ureg":
        return registry()
    if name == "Q_":
        return registry().Quantity
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


LEADING_NUMBER = re.compile(r"^\s*[-+]?(\d|\.\d|nan\b|inf)", re.IGNORECASE)
"""A quantity string must start with its number ("200 TWh/yr"), so "TWh/yr" is not 1 TWh/yr."""

SECONDS_PER_YEAR = 365.25 * 86_400.0
"""The Julian year, 365.25 days of 86,400 s: pint's and the IAU's ``year`` (IAU Style Manual,
1989, section 5.15); a test checks it against pint."""


class UnitError(ProjectionError, ValueError):
    """A value whose unit is missing, unparsable or of the wrong dimension."""


def parse_quantity(text: object) -> pint.Quantity:
    """Parse "200 TWh/yr" or "57 J" into a pint quantity; a bare number is dimensionless."""
    if isinstance(text, bool):
        raise UnitError(f"got {text!r}, expected a number with a unit")
    ureg = registry()
    if isinstance(text, int | float):
        return ureg.Quantity(float(text), ureg.dimensionless)
    if not isinstance(text, str):
        raise UnitError(f"got {text!r}, expected a string such as \"200 TWh/yr\"")
    if not LEADING_NUMBER.match(text):
        raise UnitError(f"cannot read {text!r}: expected a number first, as in \"200 TWh/yr\"")
    if "**" in text or "^" in text:
        raise UnitError(f"cannot read {text!r}: write powers of ten as 1e9, not with ** or ^")
    cleaned = text.strip().replace("%", " percent ")
    try:
        quantity = ureg.Quantity(cleaned)
    except Exception as exc:  # pint raises several unrelated exception types
        raise UnitError(f"cannot read {text!r} as a quantity ({type(exc).__name__})") from None
    if not isinstance(quantity, ureg.Quantity):
        quantity = ureg.Quantity(float(quantity), ureg.dimensionless)
    return quantity


def to_base(quantity: pint.Quantity, unit: str) -> float:
    """Convert to SI base units after checking the dimension against ``unit``."""
    expected = registry().Quantity(1.0, unit)
    if quantity.dimensionality != expected.dimensionality:
        raise UnitError(
            f"has dimension {describe_dimension(quantity)}, expected {describe_dimension(expected)}"
            f" (for example {unit!r})"
        )
    value = float(quantity.to_base_units().magnitude)
    if not math.isfinite(value):
        raise UnitError("is not a finite number")
    return value


def base_unit(unit: str):
    """The SI base unit that values of ``unit`` are stored in inside the loop."""
    return registry().Quantity(1.0, unit).to_base_units().units


def conversion_factor(unit_from: str, unit_to: str) -> float:
    """Multiply a value in ``unit_from`` by this to express it in ``unit_to``."""
    return float(registry().Quantity(1.0, unit_from).to(unit_to).magnitude)


def describe_dimension(quantity: pint.Quantity) -> str:
    dim = str(quantity.dimensionality)
    return "dimensionless" if dim == "dimensionless" else dim
