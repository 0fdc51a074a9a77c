"""The ``--set KEY=VALUE`` option that every command running the model takes."""

from __future__ import annotations

from typing import Annotated

import typer

SET_HELP = (
    "Set a scenario value for this run, checked as a scenario file's entry is (unit, bounds, "
    "did-you-mean) and recorded in the provenance: KEY=VALUE ('demand.adoption_growth=40 "
    "%/yr'); with a schedule, each value holding from 1 January of its year, "
    "'buildout.interconnection_limit=15 GW/yr; 2028: 0 GW/yr; 2031: 10 GW/yr' (add '; ramp' "
    "to move linearly between the points); or KEY={ TOML inline table as in a scenario file }. "
    "Repeat for several keys."
)
Settings = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="KEY=VALUE", help=SET_HELP),
]


def overrides(texts: list[str] | None) -> dict | None:
    """The ``--set`` options as overrides for ``load_scenario`` (None when there are none)."""
    if not texts:
        return None
    from projection.model.settings import parse_settings

    return parse_settings(texts)
