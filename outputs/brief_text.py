"""The briefing's text above the appendix: one card a scenario on the first screen, then the
charts with a few plain sentences each.

Parameters are named by their labels (model/labels.py), never by their keys; values carry
their units. Everything a reader needs only to check a number lives in the appendix
(brief_appendix.py).
"""

from __future__ import annotations

import math
import re

from projection.model.labels import label
from projection.model.parameters import CHAT, SOURCE_LABELS, SOURCES, WORKLOADS
from projection.model.results import OUTPUT_BY_NAME
from projection.model.scenario import parameter_for_key
from projection.model.units import parse_quantity

from .brief_blocks import (
    Block,
    Bullets,
    Card,
    Cards,
    Figure,
    Heading,
    Inline,
    Num,
    Para,
    derived,
    in_unit,
    out_num,
    para,
    unit_text,
)
from .brief_data import (
    RANGE_HIGH,
    RANGE_LOW,
    RANGE_METHOD,
    RANGE_SEED,
    Briefing,
    Constant,
    check_counts,
    nearest_country,
)
from .charts import TWH_PER_YEAR_TO_GW, Chart

SHOWN_DIFFERENCES = 5
"""Assumptions listed on a scenario's card, the largest changes first; the rest are in the
appendix's table."""

FOSSIL = ("coal", "natural_gas")


# --- values and differences in plain words ------------------------------------------------------

def plain_value(text: str) -> str:
    """A scenario value as a reader writes it: "380 %/yr" -> "380 % a year", "15000 token" ->
    "15,000 tokens", "25 GW/yr" -> "25 GW a year"."""
    match = re.fullmatch(r"\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*(.*?)\s*", text)
    if not match:
        return text
    number, unit = match.groups()
    value = float(number)
    shown = f"{value:,.0f}" if value == int(value) and abs(value) >= 1000 else number
    unit = unit.replace("/yr", " a year").replace("/year", " a year")
    unit = re.sub(r"\btoken\b", "tokens", unit)
    unit = re.sub(r"\brequest\b", "requests", unit)
    if unit.strip() == "dimensionless":
        unit = ""
    return f"{shown} {unit}".strip()


def _magnitude(key: str, text: str) -> float | None:
    """A value as a number for ranking changes (a growth rate as the factor 1 + rate)."""
    try:
        growth = parameter_for_key(key).kind == "growth"
        quantity = parse_quantity(text)
        if growth:
            return 1 + float(quantity.to("1/yr").magnitude)
        return float(quantity.to_base_units().magnitude)
    except Exception:  # noqa: BLE001 - a value that does not parse is only not ranked
        return None


def _change(key: str, mine: str, base: str) -> float:
    a, b = _magnitude(key, mine), _magnitude(key, base)
    if a is None or b is None or a <= 0 or b <= 0:
        return 0.0
    return abs(math.log(a / b))


def _share(resolved: dict, names: tuple[str, ...], when: str) -> float:
    return sum(float(parse_quantity(resolved[f"grid.{n}_share_{when}"]["value"])
                     .to("dimensionless").magnitude) for n in names)


def differences(b: Briefing, name: str) -> list[tuple[float, str, str]]:
    """What ``name`` assumes differently from the baseline, as (size of the change, label,
    "value (baseline value)"), the largest change first. The generation shares of the grid mix
    are said as one fossil share (coal and gas) and the sources that move most."""
    mine, base = b.scenario(name).resolved(), b.scenario(b.baseline).resolved()
    found: list[tuple[float, str, str]] = []
    for when, words in (("target", "long run"), ("start", "start year")):
        keys = [f"grid.{s}_share_{when}" for s in SOURCES]
        if all(k in mine and k in base for k in keys) and any(
                mine[k]["value"] != base[k]["value"] for k in keys):
            f_mine, f_base = _share(mine, FOSSIL, when), _share(base, FOSSIL, when)
            moved = sorted(SOURCES, key=lambda s: -abs(
                _share(mine, (s,), when) - _share(base, (s,), when)))[:3]
            detail = ", ".join(f"{SOURCE_LABELS[s].split(' (')[0].lower()} "
                               f"{100 * _share(mine, (s,), when):.0f} %" for s in moved)
            found.append((abs(math.log(max(f_mine, 1e-6) / max(f_base, 1e-6))),
                          f"fossil share of the grid mix ({words})",
                          f"coal and gas {100 * f_mine:.0f} % (baseline {100 * f_base:.0f} %); "
                          f"{detail}"))
    grouped = {f"grid.{s}_share_{w}" for s in SOURCES for w in ("start", "target")}
    for key in sorted(mine):
        if key in grouped or mine[key]["value"] == base.get(key, {}).get("value"):
            continue
        was = base.get(key, {}).get("value")
        times = " times" if "(multiple" in label(key) else ""
        found.append((_change(key, mine[key]["value"], was or ""), label(key),
                      f"{plain_value(mine[key]['value'])}{times} (baseline "
                      f"{plain_value(was) + times if was else 'not set'})"))
    return sorted(found, key=lambda item: -item[0])


# --- the first screen ---------------------------------------------------------------------------

def range_of(b: Briefing, output: str, scenario: str, year: int,
             words: str = "range") -> tuple[Inline, ...]:
    """" (range 480-690 TWh)" from the scenario's ensemble, or nothing without one."""
    if scenario not in b.ranges:
        return ()
    ds = b.ranges[scenario]
    unit = unit_text(output_unit(output))

    def at(p: float) -> Num:
        value = float(ds[output].sel(percentile=p, year=year))
        return Num(value, "", {"output": output, "scenario": scenario, "year": str(year),
                               "percentile": f"{p:g}"})

    return (f" ({words} ", at(RANGE_LOW), "\u2013", at(RANGE_HIGH), f" {unit})")


def output_unit(output: str) -> str:
    return OUTPUT_BY_NAME[output].unit


STORY_CHARACTERS = 170
"""Longest scenario story on a card; the whole description is in the appendix."""


def story(description: str) -> str:
    """The first sentences of a scenario's description, cut at a clause that fits a card."""
    text = " ".join(description.split())
    sentences = re.split(r"(?<=\.)\s+", text)
    out = sentences[0]
    for sentence in sentences[1:]:
        if len(out) + 1 + len(sentence) > STORY_CHARACTERS:
            break
        out += " " + sentence
    if len(out) > STORY_CHARACTERS:
        cut = out[:STORY_CHARACTERS]
        out = cut[:cut.rfind(";")] if ";" in cut else cut[:cut.rfind(" ")]
        out = out.rstrip(" ,;:") + " \u2026"
    elif len(sentences) > 1 and len(out) < 40 and ";" in sentences[1]:
        clause = sentences[1][:STORY_CHARACTERS - len(out)]
        out += " " + clause[:clause.rfind(";")] + "."
    return out


def card(b: Briefing, name: str) -> Card:
    y1, *rest = b.headline_years
    y2 = rest[-1] if rest else y1
    s = b.scenario(name)
    lines: list[tuple[Inline, ...]] = [
        (out_num(b, "facility_energy", name, y2), f" of electricity in {y2}"),
        (*(("range ", *range_of(b, "facility_energy", name, y2)[1:-1],
            f" {unit_of('facility_energy')}; ") if name in b.ranges else ()),
         out_num(b, "share_of_us_electricity", name, y2), " of US electricity."),
        ("AI servers: ", out_num(b, "ai_facility_energy", name, y2),
         *range_of(b, "ai_facility_energy", name, y2, "range"), "."),
    ]
    if y1 != y2:
        lines.append((f"All data centres in {y1}: ", out_num(b, "facility_energy", name, y1),
                      *range_of(b, "facility_energy", name, y1, "range"), "."))
    deferred = b.value("deferred_load", name, y2)
    if deferred > 0.05:
        lines.append((f"Load waiting for accelerators or grid connections in {y2}: ",
                      out_num(b, "deferred_load", name, y2), " (demand with no supply limit: ",
                      out_num(b, "facility_energy_demand", name, y2), ")."))
    if name != b.baseline:
        diff = b.value("facility_energy", name, y2) - b.value("facility_energy", b.baseline, y2)
        tag = {"output": "facility_energy", "scenario": name, "year": str(y2),
               "baseline": b.baseline}
        base = b.value("facility_energy", b.baseline, y2)
        lines.append((f"Against the baseline in {y2}: ",
                      Num(diff, "TWh", {**tag, "quantity": "difference"}, signed=True), " (",
                      Num(100 * diff / base, "%", {**tag, "quantity": "difference_percent"},
                          signed=True), ")."))
        found = differences(b, name)
        differs = tuple((f"{text[:1].upper()}{text[1:]}: {value}",)
                        for _, text, value in found[:SHOWN_DIFFERENCES])
        if len(found) > SHOWN_DIFFERENCES:
            differs += ((f"and {len(found) - SHOWN_DIFFERENCES} more, in the appendix "
                         "(A).",),)
        if not found:
            differs = (("The same assumptions as the baseline.",),)
    else:
        differs = ()
    if name not in b.ranges:
        note = ("No range: ranges are off (--uncertainty 0)." if not b.ranges else
                "No range: the scenario declares no uncertain input.")
    else:
        usable = int(b.ranges[name].attrs.get("usable_samples", b.samples or 0))
        runs = (f"{usable:,} runs" if usable == b.samples
                else f"the {usable:,} usable of {b.samples:,} runs")
        note = f"Range: {RANGE_LOW:g}th-{RANGE_HIGH:g}th percentile of {runs}."
    if name == b.baseline:
        note = "The reference the other scenarios are compared with. " + note
    return Card(name, s.title, name == b.baseline, tuple(lines), differs, note,
                story(s.description))


def first_screen(b: Briefing) -> list[Block]:
    """One card a scenario, then one line on the ranges and one on the validation."""
    blocks: list[Block] = [Heading("At a glance", 2, "glance"),
                           Cards(tuple(card(b, n) for n in b.names))]
    if b.ranges:
        blocks.append(para(
            "Ranges hold the middle 90 % (the ", f"{RANGE_LOW:g}th to {RANGE_HIGH:g}th "
            "percentile) of ", Num(b.samples or 0, "", {"quantity": "samples"}, count=True),
            f" runs of each scenario, its uncertain inputs drawn from their stated ranges "
            f"({RANGE_METHOD.upper()} sampling, seed {RANGE_SEED}): the spread those ranges "
            "imply, not a forecast's error bar. Scenarios are stories, not forecasts.",
            css="note"))
    else:
        blocks.append(para("Ranges are off (the command was run with --uncertainty 0): every "
                           "number is a single run of its scenario. Scenarios are stories, "
                           "not forecasts.", css="note"))
    if b.validation is not None:
        c = check_counts(b.validation)
        blocks.append(para(
            "Checked against ", Num(c.total, "", {"quantity": "checks"}, count=True),
            " published figures: ", Num(c.passed, "", {"quantity": "checks_passed"},
                                        count=True),
            " pass, ", Num(c.missed, "", {"quantity": "checks_missed"}, count=True),
            " are explained misses (published figures the model disagrees with, for a stated "
            "reason) and ", Num(c.failed, "", {"quantity": "checks_failed"}, count=True),
            " fail (appendix E).", css="note"))
    return blocks


# --- the body -----------------------------------------------------------------------------------

def homes(b: Briefing, scenario: str, twh: float) -> tuple[float, Constant]:
    entry = b.scenario(scenario).resolved()["context.household_electricity"]
    kwh = float(parse_quantity(entry["value"]).to("kWh/yr").magnitude)
    constant = Constant("average US household electricity", kwh, "kWh/yr", entry["source"],
                        f"scenario value of '{label('context.household_electricity')}' "
                        f"({scenario})")
    return twh * 1e9 / kwh, constant


def everyday(b: Briefing) -> list[Block]:
    s, y1 = b.lead, b.headline_years[0]
    twh = b.value("facility_energy", s, y1)
    count, household = homes(b, s, twh)
    gw = twh * TWH_PER_YEAR_TO_GW
    plant = b.equivalents.power_plant
    country = nearest_country(twh, b.equivalents.countries)
    chat = WORKLOADS[CHAT]
    joules = b.value("energy_per_request", s, y1, chat) * in_unit("energy_per_request", "J")
    return [
        Heading("In everyday terms", 2, "everyday"),
        para(f"In the {b.scenario(s).title} scenario, US data centres use ",
             out_num(b, "facility_energy", s, y1), f" in {y1}: the yearly electricity of about ",
             derived(count / 1e6, "homes_million", s, y1, "million"),
             f" average US homes (at {household.text} a home), an average draw of ",
             derived(gw, "average_power", s, y1, "GW"), " (about ",
             Num(gw / plant.value, "", {"quantity": "power_plants", "scenario": s,
                                        "year": str(y1)}, count=True),
             f" power plants of {plant.text} running all year), close to what "
             f"{country.label} used in {country.year} ({country.text}). One chat request "
             "uses ", Num(b.value("energy_per_request", s, y1, chat)
                          * in_unit("energy_per_request", "Wh"), "Wh",
                          {"output": "energy_per_request", "scenario": s, "year": str(y1),
                           "workload": chat, "unit": "Wh"}),
             f" on the whole fleet, cooling and idle chips included: a "
             f"{b.equivalents.microwave.text} microwave oven running for ",
             derived(joules / b.equivalents.microwave.value, "microwave_seconds", s, y1, "s",
                     workload=chat), " (other kinds of request: appendix D)."),
    ]


def charts_section(b: Briefing, charts: dict[str, Chart]) -> list[Block]:
    return [Heading("Electricity and capacity", 2, "charts"),
            Figure(charts["electricity"]), Figure(charts["capacity"])]


def water_section(b: Briefing, charts: dict[str, Chart]) -> list[Block]:
    s = b.lead
    year = b.headline_years[0]
    onsite = b.value("onsite_water", s, year)
    plant = b.value("indirect_water", s, year)
    return [
        Heading("Water: on site and at power plants", 2, "water"),
        para(f"In {year}, the data centres of the {b.scenario(s).title} scenario consume ",
             out_num(b, "onsite_water", s, year), " of water on site (evaporated in cooling) "
             "and ", out_num(b, "indirect_water", s, year), " at the power plants that "
             "generate their electricity; on-site water is ",
             derived(100 * onsite / (onsite + plant), "onsite_water_share", s, year, "%"),
             " of the total. A figure for the water 'used by data centres' is one of these or "
             "their sum: say which."),
        Figure(charts["water"]),
    ]


EMISSION_BASES: dict[str, str] = {
    "emissions": "location-based: the operational emission rates of the grid mix where data "
                 "centres draw their power",
    "emissions_market_based": "market-based: the same, less the electricity matched by the "
                              "clean-power contracts data centres hold",
}
"""The emissions outputs the briefing shows, with their accounting basis (GHG Protocol Scope 2),
as a reader needs it said."""


def emission_outputs(b: Briefing) -> list[tuple[str, str]]:
    """The emissions outputs of the run with their accounting basis, location-based first."""
    return [(name, basis) for name, basis in EMISSION_BASES.items() if name in b.ds.data_vars]


def carbon_section(b: Briefing, charts: dict[str, Chart]) -> list[Block]:
    s = b.lead
    year = b.headline_years[0]
    blocks: list[Block] = [Heading("Carbon", 2, "carbon")]
    parts: list[Inline] = [f"Emissions of the electricity data centres use in {year}, "
                           f"{b.scenario(s).title} scenario: "]
    emissions = emission_outputs(b)
    for i, (name, basis) in enumerate(emissions):
        parts += [out_num(b, name, s, year), f" {basis.split(':')[0]} ("
                  f"{basis.split(': ', 1)[1]})", "; " if i < len(emissions) - 1 else "."]
    if emissions:
        blocks.append(Para(tuple(parts)))
    if all(name in b.ds.data_vars for name in ("grid_intensity", "grid_fossil_share")):
        blocks.append(para(
            f"Both come from the generation mix where data centres draw power: in {year}, ",
            out_num(b, "grid_fossil_share", s, year), " coal and gas, emitting ",
            out_num(b, "grid_intensity", s, year), " of CO2 at the power plants. Published "
            "intensities disagree (LBNL 2024: about 0.34 kg CO2e/kWh; Guidi et al. 2024: "
            "548 g/kWh, most likely emissions over fossil generation only); see appendix F."))
    if "marginal_grid_intensity" in b.ds.data_vars:
        blocks.append(para(
            "Load added after 2024 is met at the margin by coal and gas plants that follow "
            f"demand: in {year} they emit ", out_num(b, "marginal_grid_intensity", s, year),
            ", the short-run marginal rate, well above the average of the mix."))
    if "carbon" in charts:
        blocks.append(Figure(charts["carbon"]))
    return blocks


LIMITATIONS = (
    "Scenarios are internally consistent stories, not forecasts; the spread between them is "
    "not a probability range.",
    "Energy per request is a fleet average (idle hardware, cooling and work not counted as "
    "requests included); it is not what one benchmark measures on one chip.",
    "Carbon and water at power plants come from one generation mix with national rates per "
    "source, not from the plants that serve each data centre; published data-centre "
    "intensities disagree: Guidi et al. 2024's 0.548 kg CO2e/kWh is 60 % above LBNL 2024's "
    "0.34, most likely because it divides emissions by fossil generation only.",
    "Carbon is shown on the accounting basis stated beside each figure; location-based, "
    "market-based and marginal figures answer different questions and should not be mixed. "
    "Market-based figures count contracted clean power as zero and the rest at the grid "
    "average, not at a residual mix. Life-cycle emissions (fuel supply, plant construction) "
    "are a separate output of the result files, not shown here.",
    "The model covers US data centres only, by calendar year; it does not cover the "
    "manufacture of hardware or the construction of buildings (embodied emissions).",
)


def limitations(b: Briefing) -> list[Block]:
    items = [(t,) for t in LIMITATIONS] + [(t,) for t in b.omitted]
    return [Heading("Before quoting these numbers", 2, "limitations"), Bullets(tuple(items))]


def unit_of(output: str) -> str:
    return unit_text(output_unit(output))

