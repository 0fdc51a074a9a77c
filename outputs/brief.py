"""A policy briefing from model runs: a first screen a reader takes in within a minute, the
charts, and an appendix with everything needed to check a number.

Every number in the briefing is computed from the model's outputs (read by name from the
output catalogue, model/results.py) and from constants that carry their units and sources
(``outputs/data/equivalents.toml``, the scenario files, the validation reference figures).
The content is built once as a list of blocks (brief_blocks.py); the HTML and the Markdown
writers walk the same list, so the two versions cannot disagree.

- brief_data.py: running the scenarios, the ensembles, the rankings and the validation;
- brief_text.py: the first screen (one card a scenario) and the body, in plain words;
- brief_appendix.py: assumptions, ranges, comparison, validation, method, provenance;
- brief_html.py, brief_markdown.py: the two renderings; charts.py: the charts.
"""

from __future__ import annotations

from collections.abc import Sequence

from projection.model import __version__

from .brief_appendix import appendix
from .brief_blocks import Block
from .brief_data import (
    KEY_YEAR,
    RANGE_BACKEND,
    RANGE_HIGH,
    RANGE_LOW,
    RANGE_METHOD,
    RANGE_OUTPUTS,
    RANGE_SEED,
    SENSITIVITY_OUTPUT,
    SENSITIVITY_SHOWN,
    BriefDataError,
    Briefing,
    check_counts,
    default_equivalents_path,
    load_equivalents,
    nearest_country,
    prepare,
)
from .brief_html import GENERATOR, TITLE, render_html
from .brief_markdown import md_text, render_markdown
from .brief_regions import regions_section
from .brief_text import (
    carbon_section,
    charts_section,
    emission_outputs,
    everyday,
    first_screen,
    limitations,
    water_section,
)
from .charts import Chart

__all__ = ["GENERATOR", "KEY_YEAR", "RANGE_BACKEND", "RANGE_HIGH",
           "RANGE_LOW", "RANGE_METHOD", "RANGE_OUTPUTS", "RANGE_SEED", "SENSITIVITY_OUTPUT",
           "TITLE", "BriefDataError", "Briefing", "blocks", "check_counts",
           "default_equivalents_path", "load_equivalents", "make_charts", "nearest_country",
           "md_text", "prepare", "render_html", "render_markdown"]


def blocks(b: Briefing, charts: Sequence[Chart]) -> list[Block]:
    """The whole briefing, in reading order: the first screen, the body, the appendix."""
    by_key = {c.key: c for c in charts}
    return [
        *first_screen(b), *charts_section(b, by_key), *everyday(b), *water_section(b, by_key),
        *carbon_section(b, by_key), *regions_section(b, by_key), *limitations(b),
        *appendix(b, by_key),
    ]


def make_charts(b: Briefing) -> list[Chart]:
    from . import charts
    from .brief_blocks import unit_text
    from .brief_text import output_unit

    titles = {n: b.scenario(n).title for n in b.names}
    source = (f"Source: projection {__version__}, scenarios {', '.join(titles.values())} "
              f"(baseline: {b.baseline}); made {b.created[:10]}.")
    made = [
        charts.electricity_by_driver(b.ds, b.names, b.baseline, source, titles),
        charts.demand_capacity(b.ds, b.names, b.baseline, source, titles),
        charts.water(b.ds, b.names, b.baseline, b.key_years, source, titles),
    ]
    if b.ranges:
        made.append(charts.fan(b.ranges, b.ds, [n for n in b.names if n in b.ranges],
                               b.baseline, "facility_energy", (RANGE_LOW, RANGE_HIGH),
                               source + f" {b.samples:,} runs a scenario, "
                               f"{RANGE_METHOD.upper()} sampling, seed {RANGE_SEED}.", titles))
    if b.lead in b.sensitivity:
        from projection.model.labels import capitalised

        year = b.headline_years[0]
        made.append(charts.sensitivity_ranking(
            b.sensitivity[b.lead], SENSITIVITY_OUTPUT, year, SENSITIVITY_SHOWN,
            source + " Each input at the low and the high end of its stated range, the others "
            "at the scenario's values.", label=capitalised, scenario=titles[b.lead],
            quantity=f"US data-centre electricity in {year}",
            unit=unit_text(output_unit(SENSITIVITY_OUTPUT)),
            marks=[(f"{titles[b.baseline]} (baseline)",
                    b.value(SENSITIVITY_OUTPUT, b.baseline, year))]
            if b.lead != b.baseline else []))
    emissions = emission_outputs(b)
    if emissions:
        labels = [basis.split(":")[0] for _, basis in emissions]
        made.append(charts.lines(
            b.ds, [(name, label) for (name, _), label in zip(emissions, labels, strict=True)],
            b.names, b.baseline, key="carbon", title=f"Carbon ({' and '.join(labels)})",
            ylabel="emissions, Mt CO2 per year", unit="Mt CO2",
            what="CO2 emissions of data-centre electricity in megatonnes per year, "
                 + " and ".join(labels),
            source=f"{source} Accounting basis: "
                   + "; ".join(basis for _, basis in emissions) + ".", titles=titles))
    from .brief_regions import available, map_chart

    if available(b):
        made.append(map_chart(b, source))
    return made

