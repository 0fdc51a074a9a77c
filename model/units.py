"""One pint registry for the whole project, and parsing of unit strings at the boundary.

Inside the time loop every quantity is a plain float in SI base units (seconds, joules,
watts, kilograms, cubic metres); conversion happens only when a scenario is read and when
results are labelled.
"""

from __future__ import annotations

import json
import math
import re
import sys
from functools import cache
from pathlib import Path
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


DEFINITIONS = (
    "request = 1 = req",  # a request (one response, one image, one video) is a count
    "data_centre = 1",
    "household = 1",
    "accelerator = 1",  # counts of accelerators, tokens and floating-point operations
    "token = 1",
    "FLOP = 1",
)
"""Units the project adds to pint's: counts, dimensionless."""


@cache
def registry() -> pint.UnitRegistry:
    """The project's one pint registry, made on first use (importing pint and reading its
    unit definitions take longer than a model run; commands that need no units skip both).
    pint keeps the parsed definitions in its cache folder when it can write one."""
    pint = _import_pint()

    try:
        ureg: pint.UnitRegistry = pint.UnitRegistry(cache_folder=_pint_cache_folder(pint))
    except Exception:  # no usable cache folder: parse the definitions every time
        ureg = pint.UnitRegistry()
    for definition in DEFINITIONS:
        ureg.define(definition)
    return ureg


def _cache_base() -> Path:
    """The user's cache folder (``$XDG_CACHE_HOME``, or ``~/.cache``)."""
    import os

    return Path(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                                 ".cache"))


def _pint_cache_folder(pint) -> Path | None:
    """pint's cache of parsed definitions, for this installation of pint alone.

    pint names a cache entry after the content of the definition file it parsed, and keeps in
    it the path the file was read from, where it reads the files that file imports. In the
    folder every installation shares (pint's ``":auto:"``), an entry written by an
    installation that has since been deleted (a virtual environment removed) makes every
    other installation of the same pint fail to build a registry. A folder named after this
    installation's own definitions never holds another's entry. None (no cache) when pint's
    folder cannot be read."""
    import hashlib

    try:
        folder = Path(pint.__file__).resolve().parent
        identity = [str(folder), getattr(pint, "__version__", "")]
        for name in ("default_en.txt", "constants_en.txt"):
            stat = (folder / name).stat()
            identity += [name, stat.st_size, stat.st_mtime_ns]
    except (OSError, TypeError, ValueError):
        return None
    digest = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]
    return _cache_base() / "projection" / f"pint-{digest}"


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


def _split(text: str) -> tuple[float, str]:
    """The number of a quantity string and its unit as pint is given it ("" for none), after
    the checks that need no pint."""
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
        return magnitude, ""
    cleaned = unit.replace("%", " percent ")
    if cleaned.startswith("/"):  # "1 /yr": a unit that is a reciprocal
        cleaned = "1" + cleaned
    return magnitude, cleaned


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
    magnitude, cleaned = _split(text)
    if not cleaned:
        return ureg.Quantity(magnitude, ureg.dimensionless)
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
        raise UnitError(wrong_dimension(quantity, unit))
    value = float(quantity.to_base_units().magnitude)
    if not math.isfinite(value):
        raise UnitError("is not a finite number")
    return value


def base_unit(unit: str):
    """The SI base unit that values of ``unit`` are stored in inside the loop."""
    return registry().Quantity(1.0, unit).to_base_units().units


def conversion_factor(unit_from: str, unit_to: str) -> float:
    """Multiply a value in ``unit_from`` by this to express it in ``unit_to``."""
    key = f"convert|{unit_from}|{unit_to}"
    factor = _memo().get(key)
    if factor is None:
        factor = float(registry().Quantity(1.0, unit_from).to(unit_to).magnitude)
        _remember(key, factor)
    return factor


def read_value(value: object, unit: str, *, require_unit: bool = True) -> float:
    """A scenario value (a quantity string, or a bare number for a dimensionless parameter)
    in the SI base units of ``unit``: ``to_base(parse_quantity(value), unit)``, refusing a
    bare number where ``unit`` has a dimension (unless not ``require_unit``). Answers pint
    gave once come from the unit memo (see :func:`_memo`); every error comes from pint,
    worded as ever."""
    if isinstance(value, int | float) and not isinstance(value, bool) and unit == "dimensionless":
        base = float(value)
        if not math.isfinite(base):
            raise UnitError("is not a finite number")
        return base
    if isinstance(value, str):
        magnitude, cleaned = _split(value)
        key = f"base|{cleaned}|{unit}"
        factor = _memo().get(key)
        if factor is not None:
            base = magnitude * factor  # as pint computes it: the magnitude times the factor
            if not math.isfinite(base):
                raise UnitError("is not a finite number")
            return base
    quantity = parse_quantity(value)
    if (require_unit and unit != "dimensionless" and quantity.dimensionless
            and not isinstance(value, str)):
        raise UnitError(f"has no unit, expected a string such as \"{value} {unit}\"")
    base = to_base(quantity, unit)
    if isinstance(value, str):
        one = to_base(registry().Quantity(1.0, quantity.units), unit)
        if to_base(registry().Quantity(0.0, quantity.units), unit) == 0.0:  # no offset (degC)
            _remember(key, one)
    return base


# --- the unit memo --------------------------------------------------------------------------------

MEMO_FORMAT = 1
"""Version of the memo file's layout."""
_memo_cache: dict[str, float] | None = None


def _memo_file() -> Path | None:
    """The memo of pint's answers in the user's cache folder, named after what they depend on:
    pint's installed definitions and this module (its definitions and checks): a new pint or a
    changed module, a new memo. None when there is no cache folder to use."""
    try:
        import hashlib
        from importlib.util import find_spec

        spec = find_spec("pint")
        if spec is None or spec.origin is None:
            return None
        pint_folder = Path(spec.origin).parent
        identity = [MEMO_FORMAT, hashlib.sha256(Path(__file__).read_bytes()).hexdigest()]
        for name in ("__init__.py", "default_en.txt", "constants_en.txt"):
            stat = (pint_folder / name).stat()
            identity += [str(pint_folder / name), stat.st_size, stat.st_mtime_ns]
        digest = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]
        return _cache_base() / "projection" / f"units-{digest}.json"
    except (OSError, ValueError, ImportError):
        return None


def _memo() -> dict[str, float]:
    """pint's answers to the unit questions asked before: ``base|<unit as written>|<unit>`` ->
    the factor to SI base units (the unit checked against the expected one), and
    ``convert|<from>|<to>`` -> the conversion factor. Starting a command with them saves
    importing pint and building its registry (longer than a model run)."""
    global _memo_cache
    if _memo_cache is None:
        _memo_cache = {}
        path = _memo_file()
        if path is not None:
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                _memo_cache = {str(k): float(v) for k, v in loaded.items()
                               if isinstance(v, int | float) and math.isfinite(v)}
            except (OSError, ValueError, AttributeError):
                pass
    return _memo_cache


def _remember(key: str, factor: float) -> None:
    """Add an answer to the memo and write it (atomically; nothing when it cannot be)."""
    memo = _memo()
    if memo.get(key) == factor or not math.isfinite(factor):
        return
    memo[key] = factor
    path = _memo_file()
    if path is None:
        return
    try:
        import os

        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f".{path.name}.{os.getpid()}.part")
        part.write_text(json.dumps(memo, sort_keys=True), encoding="utf-8")
        os.replace(part, path)
    except OSError:
        pass


def describe_dimension(quantity: pint.Quantity) -> str:
    dim = str(quantity.dimensionality)
    return "dimensionless" if dim == "dimensionless" else dim


PLAIN_DIMENSIONS: tuple[tuple[str, str], ...] = (
    # every dimension of the parameter table (model/parameters.py), then common mistakes
    ("dimensionless", "a plain number (a count, a share or a multiple)"),
    ("1/yr", "a rate per unit of time"),
    ("yr", "a time"),
    ("TWh", "an energy"),
    ("GW", "a power (an energy per unit of time)"),
    ("GW/yr", "a power per unit of time"),
    ("L/kWh", "a volume per unit of energy"),
    ("g/kWh", "a mass per unit of energy"),
    ("FLOP/J", "a count per unit of energy"),
    ("kg", "a mass"),
    ("m", "a length"),
    ("m**2", "an area"),
    ("L", "a volume"),
    ("m/s", "a speed"),
    ("kg/m**3", "a density"),
    ("L/s", "a volume per unit of time"),
    ("kg/s", "a mass per unit of time"),
    ("K", "a temperature"),
    ("A", "an electric current"),
    ("V", "a voltage"),
    ("Pa", "a pressure"),
)
"""Plain words for dimensions, each given by a unit of that dimension: what a unit error says
instead of pint's ``[mass] / [time]``."""
YEARLY_RATE = "1/yr"
"""The unit of compound yearly rates (growth parameters): written "%/yr" in scenario files."""


def plain_dimension(quantity: pint.Quantity) -> str:
    """The dimension of ``quantity`` in words ("a mass"), or pint's notation when it has no
    plain name ("[mass] ** 2")."""
    ureg = registry()
    for unit, name in PLAIN_DIMENSIONS:
        if ureg.Quantity(1.0, unit).dimensionality == quantity.dimensionality:
            return name
    return describe_dimension(quantity)


def wrong_dimension(quantity: pint.Quantity, unit: str) -> str:
    """What a value of the wrong dimension is and what was expected, in words, with an
    example in ``unit`` (the parameter's own) that keeps the number given: "has the wrong
    dimension: a mass; expected a yearly rate such as '40 %/yr'"."""
    number = f"{float(quantity.magnitude):g}"
    if unit == YEARLY_RATE:
        expected, example = "a yearly rate", f"{number} %/yr"
    else:
        expected = plain_dimension(registry().Quantity(1.0, unit))
        example = number if unit == "dimensionless" else f"{number} {unit}"
    return f"has the wrong dimension: {plain_dimension(quantity)}; expected {expected} such as " \
        f"'{example}'"
