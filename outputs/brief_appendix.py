"""The briefing's appendix: what a reader needs to check a number rather than to take it in.

A: every assumption that differs from the baseline, with its source; B: the ranges and the
assumptions that matter most; C: the scenarios compared, number by number; D: energy per
request; E: validation; F: method; G: the constants behind the everyday comparisons;
H: provenance. Prose names parameters by their labels; the tables give the keys too.
"""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np

from projection.model import __version__
from projection.model.labels import capitalised, label
from projection.model.parameters import WORKLOAD_LABELS, WORKLOADS
from projection.model.results import OUTPUT_BY_NAME

from .brief_blocks import (
    Appendix,
    Block,
    Figure,
    Heading,
    Inline,
    Num,
    Table,
    derived,
    difference,
    in_unit,
    para,
    unit_text,
)
from .brief_data import SENSITIVITY_OUTPUT, Briefing, check_counts, nearest_country
from .brief_text import emission_outputs, homes, plain_value
from .charts import Chart

APPENDIX_TEXT = ("Appendix: the full assumptions, the ranges, every number compared, "
                 "validation, method and provenance")


def assumptions(b: Briefing) -> list[Block]:
    blocks: list[Block] = [Heading("A. What each scenario assumes differently from the "
                                   "baseline", 3, "assumptions")]
    base = b.scenario(b.baseline).resolved()
    for s in b.scenarios:
        if s.name == b.baseline:
            continue
        mine = s.resolved()
        rows = tuple(
            (capitalised(key), key, plain_value(mine[key]["value"]),
             plain_value(base[key]["value"]) if key in base else "(not set)",
             mine[key]["source"])
            for key in sorted(mine) if mine[key]["value"] != base.get(key, {}).get("value")
        )
        blocks.append(para(f"{s.title}: {s.description.strip()}"))
        if rows:
            blocks.append(Table(f"Assumptions of {s.title}",
                                ("assumption", "key in the scenario file", s.title,
                                 b.scenario(b.baseline).title, "source"), rows))
        else:
            blocks.append(para("Same parameter values as the baseline."))
    if len(b.scenarios) == 1:
        blocks.append(para("Only the baseline is in this briefing; its parameters and their "
                           "sources are in its scenario file."))
    return blocks


def uncertainty_section(b: Briefing, charts: dict[str, Chart]) -> list[Block]:
    """The fan chart and the ranking of the assumptions that matter."""
    blocks: list[Block] = [Heading("B. How sure, and which assumptions matter", 3,
                                   "uncertainty")]
    if "fan" in charts:
        blocks.append(Figure(charts["fan"]))
    title = b.scenario(b.lead).title
    if b.lead not in b.sensitivity:
        return blocks + [para(f"The {title} scenario declares no ranges on its inputs, so its "
                              "assumptions cannot be ranked.")]
    year = b.headline_years[0]
    ds = b.sensitivity[b.lead]
    swing = ds["swing"].sel(output=SENSITIVITY_OUTPUT, year=year)
    order = np.argsort(-np.abs(swing.values))[:3]
    parts: list[Inline] = [f"Taking each input with a stated range from its low to its high "
                           f"end, one at a time, moves {year} data-centre electricity in the "
                           f"{title} scenario most through: "]
    for rank, i in enumerate(order):
        key = str(ds["parameter"].values[i])
        moved = Num(float(swing.values[i]), "TWh", {"quantity": "swing", "scenario": b.lead,
                                                     "year": str(year), "parameter": key},
                    signed=True)
        parts += [f"{label(key)} (", moved, ")"]
        parts.append("; " if rank < len(order) - 2 else (" and " if rank == len(order) - 2
                                                          else "."))
    blocks.append(para(*parts))
    if "sensitivity" in charts:
        blocks.append(Figure(charts["sensitivity"]))
    return blocks


COMPARED: tuple[tuple[str, str], ...] = (
    ("facility_energy", "US data-centre electricity"),
    ("ai_facility_energy", "of which AI servers"),
    ("share_of_us_electricity", "share of US electricity"),
    ("facility_energy_demand", "demand with no supply limit"),
    ("onsite_water", "water consumed on site"),
    ("indirect_water", "water consumed at power plants"),
)


def _row_name(b: Briefing, name: str) -> str:
    title = b.scenario(name).title
    return title if name != b.baseline or "baseline" in title.lower() else f"{title} (baseline)"


def comparison(b: Briefing) -> list[Block]:
    rows: list[tuple[Inline | tuple[Inline, ...], ...]] = []
    later = [y for y in b.key_years if y > b.years[0]]
    metrics = list(COMPARED) + [(n, f"emissions, {basis.split(':')[0]}")
                                for n, basis in emission_outputs(b)]
    for output, text in metrics:
        unit = unit_text(OUTPUT_BY_NAME[output].unit)
        for n in b.names:
            row: list[Inline | tuple[Inline, ...]] = [
                f"{text} ({unit})" if n == b.names[0] else "", _row_name(b, n)]
            row += [Num(b.value(output, n, y), "", {"output": output, "scenario": n,
                                                    "year": str(y)}) for y in b.key_years]
            row += [difference(b, output, n, y) for y in later]
            rows.append(tuple(row))
    header = ("", "scenario", *map(str, b.key_years), *(f"{y} vs baseline" for y in later))
    numeric = (False, False, *([True] * (len(header) - 2)))
    return [Heading("C. The scenarios compared", 3, "compare"),
            para(f"Differences are from the baseline scenario, {b.scenario(b.baseline).title}; "
                 "percentages of US electricity differ in percentage points (pp)."),
            Table("Scenario comparison", header, tuple(rows), numeric)]


def _wh(b: Briefing, s: str, year: int, w: str) -> Num:
    """Energy per request in Wh, tagged with the output it comes from (stored in J)."""
    return Num(b.value("energy_per_request", s, year, w) * in_unit("energy_per_request", "Wh"),
               "Wh", {"output": "energy_per_request", "scenario": s, "year": str(year),
                      "workload": w, "unit": "Wh"})


def per_request(b: Briefing) -> list[Block]:
    """Fleet energy of one request of each workload, with microwave and e-bike equivalents."""
    s, year, start = b.lead, b.headline_years[0], b.years[0]
    mw, eb = b.equivalents.microwave, b.equivalents.ebike
    rows = []
    for w in WORKLOADS:
        joules = b.value("energy_per_request", s, year, w) * in_unit("energy_per_request", "J")
        metres = joules / eb.value
        distance = (derived(metres / 1e3, "ebike_distance", s, year, "km", workload=w)
                    if metres >= 1e3 else derived(metres, "ebike_distance", s, year, "m",
                                                  workload=w))
        rows.append((WORKLOAD_LABELS.get(w, w), _wh(b, s, start, w), _wh(b, s, year, w),
                     derived(joules / mw.value, "microwave_seconds", s, year, "s", workload=w),
                     distance))
    return [
        Heading("D. One request, on the whole fleet", 3, "requests"),
        para(f"The electricity data centres use per request of each kind of AI work, with the "
             f"time a {mw.text} microwave oven runs on it and the distance an e-bike rides on "
             f"it (at {eb.text}); the model defines the figure as: "
             f"{OUTPUT_BY_NAME['energy_per_request'].long_name[:1].lower()}"
             f"{OUTPUT_BY_NAME['energy_per_request'].long_name[1:]}."),
        Table(f"Energy per request, {b.scenario(s).title}",
              ("workload", f"{start}", f"{year}", f"microwave, {year}", f"e-bike, {year}"),
              tuple(rows), (False, True, True, True, True)),
    ]


def validation_section(b: Briefing) -> list[Block]:
    blocks: list[Block] = [Heading("E. How the model compares with published figures", 3,
                                   "validation")]
    if b.validation is None:
        return blocks + [para("Validation was not run for this briefing.")]
    c = check_counts(b.validation)

    def count(n: int, quantity: str, group: str | None = None) -> Num:
        return Num(n, "", {"quantity": quantity, **({"group": group} if group else {})},
                   count=True)

    rows = tuple((g, count(sum(v), "checks", g), count(v[0], "checks_passed", g),
                  count(v[1], "checks_missed", g), count(v[2], "checks_failed", g))
                 for g, v in c.groups.items())
    misses = [r for r in b.validation.results if r.verdict != "pass"]
    listed = tuple((r.title, r.reference, r.model_text,
                    "explained miss" if r.verdict == "miss" else "fail", r.reason)
                   for r in misses)
    blocks += [
        para("Of ", count(c.total, "checks"), " checks against published figures, ",
             count(c.passed, "checks_passed"), " pass, ", count(c.missed, "checks_missed"),
             " are explained misses and ", count(c.failed, "checks_failed"), " fail, as "
             "`projection validate` counts them (it lists each with its reference, the "
             "model's value, the tolerance and the source). An explained miss is a published "
             "figure the model disagrees with for a stated reason: it is not a pass."),
        Table("Validation by group", ("group", "checks", "pass", "explained miss", "fail"),
              rows, (False, True, True, True, True)),
    ]
    if listed:
        blocks.append(Table("Checks that do not pass", ("check", "published", "model",
                                                        "result", "why"), listed))
    return blocks


METHOD = (
    "The model is a system-dynamics model of US data centres. AI requests of five kinds grow "
    "with adoption; their energy follows the efficiency of the installed accelerators; "
    "training, recommendation, enterprise and agent work and conventional load have their "
    "own trends; facility electricity is IT "
    "electricity times the power usage effectiveness (PUE). Capacity is built through a "
    "construction pipeline limited by grid connections; accelerators by what can be made and "
    "delivered; work beyond them is deferred. On-site water follows from the IT electricity; "
    "carbon and the water at power plants follow from the electricity and one generation mix "
    "by source, which moves from the 2024 mix toward each scenario's target shares. Each run "
    "is calibrated so that the start year reproduces its published state; the years after it "
    "are results of the scenario's assumptions, not targets. docs/methodology.md gives every "
    "equation with its unit and source."
)


def method(b: Briefing) -> list[Block]:
    blocks: list[Block] = [Heading("F. Method in short", 3, "method"), para(METHOD)]
    s, year = b.lead, b.headline_years[0]
    if "indirect_water_intensity" in b.ds.data_vars:
        blocks.append(para(
            f"Power-plant water per unit of electricity in {year} ({b.scenario(s).title}): ",
            Num(b.value("indirect_water_intensity", s, year),
                unit_text(OUTPUT_BY_NAME["indirect_water_intensity"].unit),
                {"output": "indirect_water_intensity", "scenario": s, "year": str(year)}),
            ". The model's 2024 mix gives LBNL 2024's carbon intensity and cannot give Guidi et "
            "al.'s 548 g/kWh with median intensities per source (docs/methodology.md, "
            "section 5)."))
    return blocks


def constants_section(b: Briefing) -> list[Block]:
    s, year = b.lead, b.headline_years[0]
    twh = b.value("facility_energy", s, year)
    _, household = homes(b, s, twh)
    used = [household, b.equivalents.microwave, b.equivalents.ebike, b.equivalents.power_plant,
            nearest_country(twh, b.equivalents.countries)]
    rows = tuple((c.label, c.text, c.source, c.locator) for c in used)
    return [Heading("G. Constants behind the comparisons", 3, "constants"),
            Table("Constants", ("constant", "value", "source", "where"), rows)]


def provenance(b: Briefing) -> list[Block]:
    rows = tuple((s.name, s.title, ", ".join(Path(f).name for f in s.files), s.sha256)
                 for s in b.scenarios)
    return [
        Heading("H. Provenance", 3, "made-by"),
        para(f"Model: projection {__version__} (Python {platform.python_version()}). "
             f"Made {b.created} by the command: {b.command}. Years {b.years[0]}-{b.years[-1]}; "
             "energy, water and carbon are calendar-year totals, capacity is counted on "
             "1 January."),
        Table("Scenario files", ("scenario", "title", "files", "SHA-256"), rows),
    ]


def appendix(b: Briefing, charts: dict[str, Chart]) -> list[Block]:
    return [Appendix(APPENDIX_TEXT), *assumptions(b), *uncertainty_section(b, charts),
            *comparison(b), *per_request(b), *validation_section(b), *method(b),
            *constants_section(b), *provenance(b)]
