"""Published reference figures and the historical series, read from ``validation/data``.

Every number that a check compares with lives in ``reference_figures.csv``, one row per
figure with its unit, source, locator and confidence; code never types a published number.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from projection.model.errors import InputError
from projection.model.safe_io import read_text
from projection.model.units import UnitError, parse_quantity, ureg

REFERENCE_COLUMNS = (
    "id", "quantity", "year", "value", "low", "high", "unit", "scope", "source", "locator",
    "confidence", "notes",
)
CONFIDENCE_LEVELS = ("primary", "quoted", "secondary", "derived")
"""primary: the primary text was seen; quoted: a copy quotes it word for word; secondary: only
reported by others; derived: computed from other figures (the notes say how)."""

SERIES_COLUMNS = ("reference_id", "output", "role", "uncertainty_percent", "reason", "miss")
SERIES_ROLES = ("start", "fit", "holdout")


class ReferenceDataError(InputError):
    """Reference data that cannot be used; ``str()`` is the one-line message for the user."""


@dataclass(frozen=True)
class Reference:
    """One published figure: a value, a range (low and high) or a bound (low or high only)."""

    id: str
    quantity: str
    year: int | None
    value: float | None
    low: float | None
    high: float | None
    unit: str
    scope: str
    source: str
    locator: str
    confidence: str
    notes: str

    @property
    def is_range(self) -> bool:
        return self.low is not None and self.high is not None

    @property
    def central(self) -> float:
        """The value, or the middle of the range; a bound has no central value."""
        if self.value is not None:
            return self.value
        if self.is_range:
            return 0.5 * (self.low + self.high)  # type: ignore[operator]
        raise ValueError(f"{self.id} is a bound, not a value")

    def describe(self, digits: int = 4) -> str:
        """The figure as a person reads it: "176 TWh/yr", "325-580 TWh/yr", "> 40 TWh/yr"."""
        unit = f" {self.unit}" if self.unit != "dimensionless" else ""
        if self.value is not None:
            text = fmt(self.value, digits)
            if self.is_range:
                text += f" ({fmt(self.low, digits)}-{fmt(self.high, digits)})"
            return text + unit
        if self.is_range:
            return f"{fmt(self.low, digits)}-{fmt(self.high, digits)}{unit}"
        if self.low is not None:
            return f"> {fmt(self.low, digits)}{unit}"
        return f"< {fmt(self.high, digits)}{unit}"

    def citation(self) -> str:
        """A short citation: the lead author or publisher, the year, and where in the source."""
        return short_citation(self.source, self.locator)


def fmt(x: float | None, digits: int = 4) -> str:
    """A number to ``digits`` significant figures, with thousands separators (exponent >= 1e9)."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    if magnitude >= 9 or magnitude < -3:
        return f"{x:.{digits - 1}e}"
    decimals = max(digits - 1 - magnitude, 0)
    return f"{x:,.{decimals}f}"


def short_citation(source: str, locator: str = "") -> str:
    """"Shehabi A. et al. 2024, Section 4, p. 47" from a full citation and its locator.

    The year is the first one outside quoted titles (titles and table names carry other years).
    """
    text = source.removeprefix("derived from ").strip()
    lead = re.split(r",|\"", text, maxsplit=1)[0].strip()
    authors_follow = bool(re.match(r"^[^,]+,\s*[A-Z][^,\"]*\s[A-Z]\.", text))
    if authors_follow and "et al." not in lead and " and " not in lead:
        lead += " et al."
    years = re.findall(r"\b(?:19|20)\d\d\b", re.sub(r"\"[^\"]*\"", "", text))
    year = f" {years[0]}" if years else ""
    prefix = "derived from " if source.startswith("derived from ") else ""
    short = f"{prefix}{lead}{year}"
    where = locator.split(";")[0].split("(")[0].strip()
    if where.startswith("not located"):
        where = ""
    return f"{short}, {where}" if where else short


def data_dir() -> Path:
    return Path(str(resources.files("projection.validation"))) / "data"


def default_references_path() -> Path:
    return data_dir() / "reference_figures.csv"


def default_series_path() -> Path:
    return data_dir() / "historical_series.csv"


def _number(path: Path, key: str, text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ReferenceDataError(path, key, f"got {text!r}, expected a number") from None
    if not math.isfinite(value):
        raise ReferenceDataError(path, key, f"got {text!r}, expected a finite number")
    return value


def _read_csv(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    text = read_text(path, what="a CSV file", error=ReferenceDataError)
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = tuple(reader.fieldnames or ())
        missing = [c for c in columns if c not in header]
        if missing:
            raise ReferenceDataError(path, missing[0],
                                     f"missing column; expected {', '.join(columns)}")
        return list(reader)
    except csv.Error as exc:
        raise ReferenceDataError(path, "", f"is not valid CSV ({exc})") from None


def parse_reference(path: Path, row: dict[str, str]) -> Reference:
    """One checked row: a known confidence, a readable unit, and a value, a range or a bound."""
    rid = (row.get("id") or "").strip()
    if not rid:
        raise ReferenceDataError(path, "id", "a row has no id")
    values = {k: _number(path, f"{rid}.{k}", row.get(k) or "") for k in ("value", "low", "high")}
    if all(v is None for v in values.values()):
        raise ReferenceDataError(path, rid, "has no value, low or high")
    if values["low"] is not None and values["high"] is not None and values["low"] > values["high"]:
        raise ReferenceDataError(path, rid, "low is above high")
    unit = (row.get("unit") or "").strip()
    try:
        parse_quantity(f"1 {unit}")
    except UnitError:
        raise ReferenceDataError(path, f"{rid}.unit", f"cannot read the unit {unit!r}") from None
    confidence = (row.get("confidence") or "").strip()
    if confidence not in CONFIDENCE_LEVELS:
        raise ReferenceDataError(
            path, f"{rid}.confidence",
            f"got {confidence!r}, expected one of {', '.join(CONFIDENCE_LEVELS)}",
        )
    source = (row.get("source") or "").strip()
    if not source:
        raise ReferenceDataError(path, f"{rid}.source", "every figure needs a source")
    year_text = (row.get("year") or "").strip()
    return Reference(
        id=rid,
        quantity=(row.get("quantity") or "").strip(),
        year=int(year_text) if year_text else None,
        value=values["value"],
        low=values["low"],
        high=values["high"],
        unit=unit,
        scope=(row.get("scope") or "").strip(),
        source=source,
        locator=(row.get("locator") or "").strip(),
        confidence=confidence,
        notes=(row.get("notes") or "").strip(),
    )


def load_references(path: Path | str | None = None) -> dict[str, Reference]:
    """All reference figures by id; a duplicate id or a bad row is a :class:`ReferenceDataError`."""
    path = Path(path) if path is not None else default_references_path()
    references: dict[str, Reference] = {}
    for row in _read_csv(path, REFERENCE_COLUMNS):
        ref = parse_reference(path, row)
        if ref.id in references:
            raise ReferenceDataError(path, ref.id, "appears twice")
        references[ref.id] = ref
    return references


@dataclass(frozen=True)
class SeriesPoint:
    """A historical figure the model is fitted to (role "fit") or tested against ("holdout")."""

    reference: Reference
    output: str
    role: str
    uncertainty: float | None  # relative (0.05 = 5 %); None for ranges and bounds
    reason: str  # why the uncertainty is what it is, from the figure alone
    miss: str = ""  # why the model is known to lie outside it, if it is

    @property
    def year(self) -> int:
        assert self.reference.year is not None
        return self.reference.year

    @property
    def sigma(self) -> float:
        """Relative standard uncertainty used to weight the fit: stated, or half a range."""
        if self.uncertainty is not None:
            return self.uncertainty
        ref = self.reference
        if ref.is_range:
            return 0.5 * (ref.high - ref.low) / ref.central  # type: ignore[operator]
        raise ValueError(f"{ref.id} is a bound and cannot be fitted")

    @property
    def fittable(self) -> bool:
        ref = self.reference
        return ref.value is not None or ref.is_range


def load_series(
    path: Path | str | None = None, references: dict[str, Reference] | None = None
) -> list[SeriesPoint]:
    """The historical series: rows of ``historical_series.csv`` joined to their figures."""
    from projection.model.results import OUTPUT_BY_NAME

    path = Path(path) if path is not None else default_series_path()
    references = references if references is not None else load_references()
    points = []
    for row in _read_csv(path, SERIES_COLUMNS):
        rid = (row["reference_id"] or "").strip()
        if rid not in references:
            raise ReferenceDataError(path, rid or "reference_id",
                                     "no such id in the reference figures")
        ref = references[rid]
        if ref.year is None:
            raise ReferenceDataError(path, rid, "the reference figure has no year")
        output = (row["output"] or "").strip()
        if output not in OUTPUT_BY_NAME:
            raise ReferenceDataError(path, f"{rid}.output", f"{output!r} is not a model output")
        role = (row["role"] or "").strip()
        if role not in SERIES_ROLES:
            raise ReferenceDataError(path, f"{rid}.role",
                                 f"got {role!r}, expected {', '.join(SERIES_ROLES)}")
        percent = _number(path, f"{rid}.uncertainty_percent", row["uncertainty_percent"] or "")
        if percent is not None and not percent > 0:
            raise ReferenceDataError(path, f"{rid}.uncertainty_percent", "must be above zero")
        point = SeriesPoint(ref, output, role, None if percent is None else percent / 100.0,
                            (row["reason"] or "").strip(), (row["miss"] or "").strip())
        if role == "fit" and not point.fittable:
            raise ReferenceDataError(path, rid, "a bound cannot be a fit point; use role holdout")
        if ref.value is not None and percent is None:
            raise ReferenceDataError(path, f"{rid}.uncertainty_percent",
                                     "a value needs an uncertainty")
        points.append(point)
    return points


def convert(value: float, unit: str, to_unit: str) -> float:
    """``value`` in ``unit`` expressed in ``to_unit``; a yearly total (TWh) reads as TWh/yr."""
    quantity = ureg.Quantity(value, _pint_unit(unit))
    target = ureg.Quantity(1.0, _pint_unit(to_unit))
    if quantity.dimensionality != target.dimensionality:
        per_year = quantity / ureg.Quantity(1.0, "year")
        if per_year.dimensionality == target.dimensionality:
            quantity = per_year
        else:
            raise UnitError(f"cannot compare {unit!r} with {to_unit!r}")
    return float(quantity.to(target.units).magnitude)


def _pint_unit(unit: str) -> str:
    return unit.replace("%", "percent") if unit else "dimensionless"
