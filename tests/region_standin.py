"""Regional results made by hand from a national run, for testing the writers and tables of
states on their own: every regional output is the national one shared out by fixed weights,
so states sum to the nation by construction. The geography is the model's
(``projection.model.regions``)."""

from __future__ import annotations

import json

import numpy as np

from projection.model.labelled import Labelled, Variable

TWH_PER_YEAR_IN_GW = 1e3 / 8766.0
"""1 TWh a year as an average in GW (a Julian year of 8,766 hours)."""
PLANNING_LOAD_FACTOR = 0.8
"""Average over peak data-centre power in the stand-in (an assumption of the test data)."""

SPLIT = {  # regional output -> (national output, unit)
    "state_electricity": ("facility_energy", "TWh"),
    "state_capacity": ("operating_capacity", "GW"),
    "state_data_centres": ("data_centres", "data_centre"),
    "state_emissions": ("emissions", "Mt"),
    "state_emissions_market_based": ("emissions_market_based", "Mt"),
    "state_onsite_water": ("onsite_water", "GL"),
    "state_indirect_water": ("indirect_water", "GL"),
}


def weights(states: tuple[str, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.1, 1.0, len(states))
    w[states.index("VA")] = 8.0  # one state with a large part, as in every published table
    return w / w.sum()


def with_regions(national: Labelled, geo) -> Labelled:
    """``national`` (dims year[, workload]) with the regional outputs added (year, region)."""
    states = tuple(geo.STATES)
    share_of_load = weights(states, 1)
    share_of_demand = weights(states, 2)
    data = dict(national.data_vars)
    for name, (source, unit) in SPLIT.items():
        values = national[source].values[:, None] * share_of_load[None, :]
        data[name] = Variable(("year", "region"), values,
                              {"units": unit, "long_name": f"{source} in the state"})
    total = national["us_electricity"].values[:, None] * share_of_demand[None, :]
    data["state_electricity_share"] = Variable(
        ("year", "region"), 100 * data["state_electricity"].values / total,
        {"units": "percent", "long_name": "Data-centre share of the state's electricity"})
    data["state_peak_demand"] = Variable(
        ("year", "region"), data["state_electricity"].values * TWH_PER_YEAR_IN_GW
        / PLANNING_LOAD_FACTOR, {"units": "GW", "long_name": "Peak data-centre demand"})
    coords = dict(national.coords)
    coords["region"] = Variable(("region",), np.array(states),
                                {"long_name": "US state",
                                 "labels": json.dumps(dict(geo.STATE_NAMES))})
    coords["grid_region"] = Variable(("region",), np.array([geo.REGION_OF[s] for s in states]),
                                     {"long_name": "Grid region of the state"})
    return Labelled(coords, data, national.attrs)
