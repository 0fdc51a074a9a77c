"""One pint registry for the whole project, and parsing of unit strings at the boundary.

Inside the time loop every quantity is a plain float in SI base units (seconds, joules,
watts, kilograms, cubic metres); conversion happens only when a scenario is read and when
results are labelled.
"""

from __future__ import annotations

import math
import re
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

from .errors import ProjectionError

if TYPE_CHECKING:
    import pint


def _import_pint():
    """Import pint without its Dask integration, unless Dask is already loaded.

    pint looks for Dask when it is imported and, when it is installed, imports it (0.1-0.3 s,
    longer than a model run) to give quantities Dask methods. The project hands pint plain
    floats only, so Dask is hidden from that look-up for as long as pint's import takes. When
    Dask is already imported, or pint is, nothing is hidden and nothing changes.
    """
    if "pint" in sys.modules or "dask" in sys.modules:
        import pint

        return pint
    sys.modules["dask"] = None  # type: ignore[assignment]  # importlib: "not installed"
    try:
        import pint
    finally:
        if sys.modules.get("dask", 0) is None:
            del sys.modules["dask"]
    return pint


@cache
def registry() -> pint.UnitRegistry:
    """The project's one pint registry, made on first use (importing pint and reading its
    unit definitions take longer than a model run; commands that need no units skip both).
    pint keeps the parsed definitions in its cache folder when it can write one."""
    pint = _import_pint()

    try:
        ureg: pint.UnitRegistry = pint.UnitRegistry(cache_folder=":auto:")
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


NUMBER = re.compile(
    r"^\s*(?P<number>[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|nan|inf(?:inity)?))"
    r"(?P<unit>.*?)\s*$",
    re.IGNORECASE | re.DOTALL,
)
"""A quantity string is one number ("200", "2e9", "-1.5", "nan", "inf") then its unit."""
FREE_NUMBER = re.compile(r"(?<![A-Za-z_])\d|\.")
"""A point, or a digit that does not follow a letter, in the unit: a second number, as in
"10 500 kWh/yr" or "25 GW/yr 2", which pint would multiply in. A digit right after a letter is
an exponent ("m3", "CO2") and is allowed, as is a unit that starts "1/" ("0.3 1/yr")."""
MAX_QUANTITY_CHARS = 200
"""Longest quantity string read; the longest in the shipped files has 20 characters."""

SECONDS_PER_YEAR = 365.25 * 86_400.0
"""The Julian year, 365.25 days of 86,400 s: pint's and the IAU's ``year`` (IAU Style Manual,
1989, section 5.15); a test checks it against pint."""


class UnitError(ProjectionError, ValueError):
    """A value whose unit is missing, unparsable or of the wrong dimension."""


def parse_quantity(text: object) -> pint.Quantity:
    """Parse "200 TWh/yr" or "57 J" into a pint quantity; a bare number is dimensionless.

    The text must be exactly one number followed by one unit: "10 500 kWh/yr", "25 GW/yr 2",
    "5 kWh * 3" or "1e3 2 J" raise :class:`UnitError` (pint alone would multiply the numbers).
    """
    if isinstance(text, bool):
        raise UnitError(f"got {text!r}, expected a number with a unit")
    ureg = registry()
    if isinstance(text, int | float):
        return ureg.Quantity(float(text), ureg.dimensionless)
    if not isinstance(text, str):
        raise UnitError(f"got {text!r}, expected a string such as \"200 TWh/yr\"")
    if len(text) > MAX_QUANTITY_CHARS:
        raise UnitError(f"is {len(text)} characters long, expected a number and a unit such as "
                        "\"200 TWh/yr\"")
    match = NUMBER.match(text)
    if not match:
        raise UnitError(f"cannot read {text!r}: expected a number first, as in \"200 TWh/yr\"")
    unit = match["unit"].strip()
    if "**" in unit or "^" in unit:
        raise UnitError(f"cannot read {text!r}: write powers of ten as 1e9, not with ** or ^")
    if FREE_NUMBER.search(unit.removeprefix("1/")):  # "0.3 1/yr" is a reciprocal unit
        raise UnitError(f"cannot read {text!r}: expected exactly one number and one unit, as in "
                        "\"200 TWh/yr\", found a second number (write 10500, not 10 500)")
    magnitude = float(match["number"])
    if not unit:
        return ureg.Quantity(magnitude, ureg.dimensionless)
    cleaned = unit.replace("%", " percent ")
    if cleaned.startswith("/"):  # "1 /yr": a unit that is a reciprocal
        cleaned = "1" + cleaned
    try:
        one: object = ureg.Quantity(cleaned)
    except Exception as exc:  # pint raises several unrelated exception types
        raise UnitError(f"cannot read {text!r} as a quantity ({type(exc).__name__})") from None
    if not isinstance(one, ureg.Quantity) or one.magnitude != 1:
        # a number hidden in the unit (a constant, a prefix alone): never multiply it in
        raise UnitError(f"cannot read {text!r}: expected exactly one number and one unit, as in "
                        "\"200 TWh/yr\"")
    return ureg.Quantity(magnitude, one.units)


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
