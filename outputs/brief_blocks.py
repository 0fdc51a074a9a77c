"""The briefing's content as blocks (headings, paragraphs, lists, tables, figures, cards).

The HTML and the Markdown writers walk the same list of blocks, so the two versions cannot
disagree. Numbers are ``Num`` cells: in the HTML they carry ``data-`` attributes naming the
output, scenario and year they come from, so a test (or a reader's script) can check each
against the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from projection.model.results import OUTPUT_BY_NAME
from projection.model.units import ureg

from .brief_data import Briefing, fmt
from .charts import Chart


@dataclass(frozen=True)
class Num:
    """A number on the page and where it comes from (an output, or a quantity derived from one)."""

    value: float
    unit: str = ""
    source: dict[str, str] = field(default_factory=dict)  # data-* attributes
    signed: bool = False
    count: bool = False  # a whole number (checks, plants), written without decimals

    @property
    def text(self) -> str:
        sign = "+" if self.signed and self.value > 0 else ""
        text = sign + (f"{round(self.value):,}" if self.count else fmt(self.value))
        return f"{text} {self.unit}".rstrip() if self.unit else text


Inline = str | Num


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2
    anchor: str = ""


@dataclass(frozen=True)
class Para:
    parts: tuple[Inline, ...]
    css: str = ""


@dataclass(frozen=True)
class Bullets:
    items: tuple[tuple[Inline, ...], ...]


@dataclass(frozen=True)
class Table:
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[Inline | tuple[Inline, ...], ...], ...]
    numeric: tuple[bool, ...] = ()


@dataclass(frozen=True)
class Figure:
    chart: Chart


@dataclass(frozen=True)
class Card:
    """One scenario on the first screen: its title, its headline lines, what it assumes
    differently from the baseline (or what the baseline is), and a line on its range."""

    scenario: str
    title: str
    baseline: bool
    lines: tuple[tuple[Inline, ...], ...]
    differs: tuple[tuple[Inline, ...], ...]
    note: str = ""
    story: str = ""


@dataclass(frozen=True)
class Cards:
    cards: tuple[Card, ...]


@dataclass(frozen=True)
class Appendix:
    """Where the appendix starts: everything after it is reference material."""

    text: str


Block = Heading | Para | Bullets | Table | Figure | Cards | Appendix


def para(*parts: Inline, css: str = "") -> Para:
    return Para(tuple(parts), css)


def out_num(b: Briefing, output: str, scenario: str, year: int, unit: str | None = None,
            workload: str | None = None) -> Num:
    """A catalogue output as a number on the page, tagged with where it comes from."""
    attrs = {"output": output, "scenario": scenario, "year": str(year)}
    if workload:
        attrs["workload"] = workload
    shown = OUTPUT_BY_NAME[output].unit if unit is None else unit
    return Num(b.value(output, scenario, year, workload), unit_text(shown), attrs)


def unit_text(unit: str) -> str:
    return {"percent": "%", "GL": "billion litres", "Mt": "Mt CO2", "g/kWh": "g CO2/kWh",
            "dimensionless": ""}.get(unit, unit)


def derived(value: float, quantity: str, scenario: str, year: int, unit: str = "",
            **extra: str) -> Num:
    return Num(value, unit, {"quantity": quantity, "scenario": scenario, "year": str(year),
                             **extra})


def difference(b: Briefing, output: str, scenario: str, year: int) -> tuple[Inline, ...]:
    """Difference from the baseline in the output's unit and in percent."""
    if scenario == b.baseline:
        return ("-",)
    value = b.value(output, scenario, year)
    base = b.value(output, b.baseline, year)
    unit = unit_text(OUTPUT_BY_NAME[output].unit)
    tag = {"output": output, "scenario": scenario, "year": str(year), "baseline": b.baseline}
    parts: list[Inline] = [Num(value - base, "pp" if unit == "%" else unit,
                               {**tag, "quantity": "difference"}, signed=True)]
    if base and unit != "%":
        percent = Num(100 * (value / base - 1), "%", {**tag, "quantity": "difference_percent"},
                      signed=True)
        parts += [" (", percent, ")"]
    return tuple(parts)



def in_unit(output: str, unit: str) -> float:
    """Factor from the catalogue unit of ``output`` to ``unit`` (pint)."""
    return float(ureg.Quantity(1.0, OUTPUT_BY_NAME[output].unit).to(unit).magnitude)
