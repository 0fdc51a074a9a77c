"""The briefing's states: a tile-grid map of the data-centre share of each state's electricity
in the headline year, and one sentence on where the load is."""

from __future__ import annotations

import numpy as np

from .brief_blocks import Block, Figure, Heading, Inline, Num, Para
from .brief_data import Briefing
from .charts import Chart
from .regions import ELECTRICITY, SHARE, geography, has_regions
from .tile_map import tile_map

LEGEND_TITLE = 24
"""Longest scenario title in the map's legend (shortened with an ellipsis beyond it; the
caption gives it whole)."""
LEADING_STATES = 3
"""States named in the sentence: those drawing the most data-centre electricity."""


def available(b: Briefing) -> bool:
    return has_regions(b.ds) and SHARE in b.ds.data_vars


def _by_state(b: Briefing, output: str, year: int) -> dict[str, float]:
    var = b.ds[output].sel(scenario=b.lead, year=year)
    return {str(code): float(v) for code, v in zip(var["region"].values, var.values,
                                                    strict=True)}


def not_in_sources() -> frozenset[str]:
    """States with no data-centre load in EPRI's 2023 table and no published pipeline: the
    model gives them none, which the map shows as not known rather than as a measured zero."""
    from projection.model import regions

    d = regions.data()
    return frozenset(s for i, s in enumerate(d.states)
                     if d.dc_share_2023[i] == 0 and d.pipeline_share[i] == 0)


def map_chart(b: Briefing, source: str) -> Chart:
    """The lead scenario's shares by state in the headline year, as a tile-grid map."""
    geo = geography()
    year = b.headline_years[0]
    title = b.scenario(b.lead).title
    named = title if len(title) <= LEGEND_TITLE else title[:LEGEND_TITLE - 1].rstrip() + "\u2026"
    shares = _by_state(b, SHARE, year)
    # a state with no load in EPRI's table and no published pipeline is not known, not zero
    unknown = [s for s in shares if s in not_in_sources()]
    shares.update({s: float("nan") for s in unknown})
    ranked = sorted(shares, key=lambda s: -shares[s] if np.isfinite(shares[s]) else np.inf)
    listed = "; ".join(f"{geo.STATE_NAMES[s]} {shares[s]:.1f} %" for s in ranked
                       if np.isfinite(shares[s]))
    if unknown:
        listed += ("; not known (absent from EPRI's 2023 table, no published pipeline): "
                   + ", ".join(geo.STATE_NAMES[s] for s in sorted(unknown)))
    alt = (f"Tile map of the 50 US states and the District of Columbia, one square a state "
           f"placed roughly where it lies, coloured by the share of the state's electricity "
           f"that data centres use in {year} in the {title} scenario (darker: a larger "
           f"share), each square labelled with the state's code and its share. States from "
           f"the largest share: {listed}.")
    svg = tile_map(shares, geo.TILES, names=geo.STATE_NAMES,
                   title=f"Data centres' share of each state's electricity, {year}, {title} "
                         "scenario",
                   legend=("Share of the state's", f"electricity, {year}",
                           f"({named} scenario)"),
                   desc=alt)
    return Chart("map", f"Where: data centres' share of each state's electricity in {year}, "
                 f"{title} scenario", svg, alt, source)


def _num(b: Briefing, output: str, code: str, year: int, unit: str) -> Num:
    return Num(b.value(output, b.lead, year, region=code), unit,
               {"output": output, "scenario": b.lead, "year": str(year), "region": code})


def regions_section(b: Briefing, charts: dict[str, Chart]) -> list[Block]:
    """The map, with one sentence a reader can quote: the states that draw the most
    data-centre electricity, with each one's share of its own electricity, and the state
    where the share is largest."""
    if "map" not in charts:
        return []
    geo = geography()
    year = b.headline_years[0]
    energy = _by_state(b, ELECTRICITY, year)
    shares = _by_state(b, SHARE, year)
    leading = sorted(energy, key=lambda s: -energy[s])[:LEADING_STATES]
    total = sum(energy.values())
    parts: list[Inline] = [f"In {year}, in the {b.scenario(b.lead).title} scenario, the "
                           "states whose data centres draw the most electricity are "]
    for i, code in enumerate(leading):
        parts += [geo.STATE_NAMES[code], " (", _num(b, ELECTRICITY, code, year, "TWh"), ", ",
                  _num(b, SHARE, code, year, "%"),
                  " of the state's electricity)" if i == 0 else ")",
                  ", " if i < len(leading) - 2 else (" and " if i == len(leading) - 2 else "")]
    parts += [": together ", Num(100 * sum(energy[s] for s in leading) / total, "%",
                                 {"quantity": "leading_states_share", "scenario": b.lead,
                                  "year": str(year)}),
              " of US data-centre electricity."]
    top = max((s for s in shares if np.isfinite(shares[s])), key=lambda s: shares[s])
    if top not in leading:
        parts += [" The share is largest in ", geo.STATE_NAMES[top], " (",
                  _num(b, SHARE, top, year, "%"), ")."]
    # the map first: the page sets it beside the sentence (brief_html.STYLE, #chart-map)
    return [Heading("Where: the states", 2, "states"), Figure(charts["map"]),
            Para(tuple(parts))]
