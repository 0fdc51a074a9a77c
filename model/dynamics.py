"""The coupled stock-and-flow system: initial state, calibration quantities and rates.

``rates`` is the whole model in one pure function of (state, parameters, time). It runs on
float arrays in SI base units inside the integrator, and on pint quantities in the test that
proves the equations are dimensionally consistent.

Shapes: the sample axis is always last, so per-sample arrays are (samples,), workload
arrays (workloads, samples) and accelerator cohorts (cohorts, samples); sums over
workloads or cohorts run over contiguous rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from . import buildout, demand, hardware, impacts

Array = Any  # numpy array, or pint quantity wrapping one

STATE_UNITS: dict[str, str] = {
    "requests": "request/s",
    "request_share": "dimensionless",
    "reasoning_tokens_multiplier": "dimensionless",
    "accelerator_capacity": "W",
    "accelerator_intensity_stock": "W",
    "pue": "dimensionless",
    "operating_capacity": "W",
    "construction_pipeline": "W",
    "smoothed_demand": "W",
    "clean_power_share": "dimensionless",
}
"""State variables (stocks) and their SI units."""

CALIBRATION_UNITS: dict[str, str] = {
    "requests_start": "request/s",
    "serving_factor": "dimensionless",
    "training_work_start": "W",
    "conventional_work_start": "W",
    "operating_capacity_start": "W",
    "centre_size_start": "W",
    "frontier_intensity_start": "dimensionless",
    "standard_request_energy": "J",
}
"""Quantities derived when the start state is calibrated, with their SI units."""

FLOW_UNITS: dict[str, str] = {
    "unserved_energy": "W",
    "it_energy": "W",
    "ai_inference_energy": "W",
    "ai_training_energy": "W",
    "ai_it_energy": "W",
    "conventional_facility_energy": "W",
    "served_requests": "request/s",
    "onsite_water": "m^3/s",
    "indirect_water": "m^3/s",
    "emissions": "kg/s",
    "construction_starts": "W/s",
    "construction_completions": "W/s",
    "capacity_retirements": "W/s",
}
"""Flows that the integrator accumulates over each calendar year, with their SI units."""

SUM_FLOWS: dict[str, tuple[str, ...]] = {
    "ai_facility_energy": ("ai_inference_energy", "ai_training_energy"),
    "facility_energy": ("ai_inference_energy", "ai_training_energy",
                        "conventional_facility_energy"),
    "facility_energy_demand": ("ai_inference_energy", "ai_training_energy",
                               "conventional_facility_energy", "unserved_energy"),
}
"""Flows that are sums of integrated flows (delivered energy = its parts), so a total always
equals its parts."""

CONTEXT_FLOWS: dict[str, tuple[str, str]] = {
    "us_electricity": ("us_electricity_start", "us_electricity_growth"),
    "us_residential_electricity": ("us_residential_electricity_start",
                                   "residential_electricity_growth"),
}
"""Exogenous flows (value in the start year, continuous growth rate), integrated exactly."""


def derived_flows(flows: Mapping[str, Array], p: Mapping[str, Array], years: int,
                  year_length: float) -> dict[str, Array]:
    """Totals of integrated flows, and the exact yearly integrals of the context series,
    shaped (year, sample) like the integrated flows.

    A context value is the start year's total, so the series starts on 1 January at that
    total discounted for its growth within the year.
    """
    out = {name: sum(flows[part] for part in parts) for name, parts in SUM_FLOWS.items()}
    starts = np.arange(years)[:, None] * year_length
    for name, (value_start, growth) in CONTEXT_FLOWS.items():
        on_first_january = p[value_start] * year_start_fraction(p[growth], year_length)
        out[name] = impacts.trend_integral(on_first_january, p[growth], starts,
                                           starts + year_length)
    return out

AUXILIARY_UNITS: dict[str, str] = {
    "fleet_intensity": "dimensionless",
    "frontier_intensity": "dimensionless",
    "data_centres": "dimensionless",
    "energy_per_request": "J",
    "measured_energy_per_request": "J",
    "grid_intensity": "kg/J",
    "unserved_fraction": "dimensionless",
}
"""Instantaneous values recorded at each year boundary, with their SI units."""


def ai_work(state: Mapping[str, Array], p: Mapping[str, Array], time: Array):
    """Inference and training work at start-year fleet efficiency, W."""
    inference = demand.inference_work(state["requests"], state["request_share"],
                                      p["standard_request_energy"],
                                      state["reasoning_tokens_multiplier"])
    training = hardware.training_work(p["training_work_start"], p["training_compute_growth"], time)
    return inference, training


def with_derived(p: Mapping[str, Array]) -> dict[str, Array]:
    """Parameters plus the quantities derived from them that do not change over time."""
    return {
        **p,
        "standard_request_energy": demand.standard_request_energy(
            p["gpu_energy_per_request"], p["overhead_factor"], p["serving_factor"], p["pue_start"]
        ),
    }


DEMAND_STOCKS: tuple[str, ...] = (
    "requests", "request_share", "reasoning_tokens_multiplier", "accelerator_capacity",
    "accelerator_intensity_stock", "pue",
)
"""Stocks of the demand side: they evolve without the supply side while all demand is served,
as it is in the calibrated start year."""
DEMAND_FLOWS: tuple[str, ...] = (
    "ai_inference_energy", "ai_training_energy", "conventional_facility_energy", "served_requests",
)
"""Flows that ``rates(..., demand_only=True)`` returns (everything served)."""


def rates(state: Mapping[str, Array], p: Mapping[str, Array], time: Array,
          with_auxiliaries: bool = False, demand_only: bool = False):
    """Derivatives of every stock, the flows, and auxiliary values at ``time``.

    ``time`` is in seconds since 1 January of the start year. Returns three dicts: d(stock)/dt
    keyed like ``state``; flows keyed like ``FLOW_UNITS``; auxiliaries keyed like
    ``AUXILIARY_UNITS`` (empty unless ``with_auxiliaries``).

    With ``demand_only``, ``state`` holds only ``DEMAND_STOCKS``: the supply side (build-out,
    water, carbon) is skipped and all demand counts as served, which is how the start year is
    calibrated (the integrator checks afterwards that capacity did not bind).
    """
    # --- hardware: the fleet's energy per unit of work --------------------------------------
    capacity = state["accelerator_capacity"]
    intensity_stock = state["accelerator_intensity_stock"]
    installed = capacity.sum(axis=0)
    fleet = hardware.fleet_intensity(installed, intensity_stock)
    frontier = hardware.frontier_intensity(
        p["frontier_intensity_start"], p["frontier_efficiency_gain"], time
    )

    # --- demand for IT work and energy ------------------------------------------------------
    inference, training = ai_work(state, p, time)
    conventional_it = impacts.trend(
        p["conventional_work_start"],
        p["conventional_demand_growth"] - p["conventional_efficiency_gain"],
        time,
    )
    pue = state["pue"]
    inference_demand = impacts.facility_power(inference * fleet, pue)
    training_demand = impacts.facility_power(training * fleet, pue)
    conventional_demand = impacts.facility_power(conventional_it, pue)
    facility_demand = inference_demand + training_demand + conventional_demand

    # --- supply: what capacity can deliver, and the build-out ---------------------------------
    if demand_only:
        served = 1.0
        unserved_fraction = 0.0
    else:
        operating = state["operating_capacity"]
        pipeline = state["construction_pipeline"]
        delivered = buildout.delivered_power(facility_demand, operating, p["max_utilisation"])
        # delivered power is shared in proportion to demand: every load is served the same share
        served = delivered / facility_demand
        unserved_fraction = 1.0 - served
        trend = buildout.demand_trend(facility_demand, state["smoothed_demand"],
                                      p["demand_smoothing_time"])
        desired = buildout.desired_capacity(facility_demand, trend, p["construction_time"],
                                            p["load_factor_start"])
        retirements = buildout.capacity_retirements(operating, p["facility_lifetime"])
        starts = buildout.construction_starts(desired, operating, pipeline, retirements,
                                              p["start_adjustment_time"],
                                              p["interconnection_limit"])
        completions = buildout.construction_completions(pipeline, p["construction_time"])

    # --- demand dynamics: adoption, rebound, mix ----------------------------------------------
    ceiling = demand.saturation_requests(p["requests_per_day_start"], p["saturation_multiple"],
                                         fleet, p["rebound_elasticity"])
    d_requests = demand.request_growth(state["requests"], p["adoption_growth"], ceiling,
                                       unserved_fraction, p["unserved_demand_sensitivity"])
    d_share = demand.first_order_adjustment(state["request_share"], p["request_share_target"],
                                            p["mix_adjustment_time"])
    d_tokens = demand.first_order_adjustment(state["reasoning_tokens_multiplier"],
                                             p["reasoning_tokens_multiplier_target"],
                                             p["mix_adjustment_time"])

    # --- accelerator ageing chain --------------------------------------------------------------
    outflow = hardware.ageing_outflow(capacity, p["accelerator_lifetime"])
    intensity_outflow = hardware.ageing_outflow(intensity_stock, p["accelerator_lifetime"])
    additions = hardware.accelerator_additions(inference + training, installed, outflow[-1],
                                               p["procurement_time"])

    derivatives = {
        "requests": d_requests,
        "request_share": d_share,
        "reasoning_tokens_multiplier": d_tokens,
        "accelerator_capacity": hardware.ageing_chain(capacity, outflow, additions),
        "accelerator_intensity_stock": hardware.ageing_chain(intensity_stock, intensity_outflow,
                                                             additions * frontier),
        "pue": demand.first_order_adjustment(pue, p["pue_target"], p["pue_adjustment_time"]),
    }
    flows = {
        "ai_inference_energy": inference_demand * served,
        "ai_training_energy": training_demand * served,
        "conventional_facility_energy": conventional_demand * served,
        "served_requests": state["request_share"] * (state["requests"] * served),
    }
    if demand_only:
        return derivatives, flows, {}

    # --- facility, water, carbon -----------------------------------------------------------------
    it_delivered = ((inference + training) * fleet + conventional_it) * served
    onsite_wue = impacts.trend(p["onsite_wue_start"], p["onsite_wue_change"], time)
    power_water = impacts.trend(p["power_water_intensity_start"],
                                p["power_water_intensity_change"], time)
    us_intensity = impacts.trend(p["us_grid_intensity_start"], p["grid_intensity_change"], time)
    grid_intensity = impacts.data_centre_grid_intensity(
        us_intensity, p["us_grid_intensity_start"], p["dc_grid_intensity_start"],
        state["clean_power_share"],
    )
    derivatives.update({
        "operating_capacity": completions - retirements,
        "construction_pipeline": starts - completions,
        "smoothed_demand": demand.first_order_adjustment(
            state["smoothed_demand"], facility_demand, p["demand_smoothing_time"]
        ),
        "clean_power_share": demand.first_order_adjustment(
            state["clean_power_share"], p["clean_power_share_target"],
            p["clean_power_adjustment_time"],
        ),
    })
    flows.update({
        "unserved_energy": facility_demand - delivered,
        "it_energy": it_delivered,
        "ai_it_energy": (inference + training) * fleet * served,
        "onsite_water": impacts.onsite_water(it_delivered, onsite_wue),
        "indirect_water": impacts.indirect_water(delivered, power_water),
        "emissions": impacts.emissions(delivered, grid_intensity),
        "construction_starts": starts,
        "construction_completions": completions,
        "capacity_retirements": retirements,
    })
    if not with_auxiliaries:
        return derivatives, flows, {}
    size = buildout.centre_size(p["centre_size_start"], p["centre_size_growth"], time)
    measured = demand.request_it_energy(
        p["gpu_energy_per_request"], p["overhead_factor"], 1.0, p["pue_start"],
        state["reasoning_tokens_multiplier"],
    ) * (fleet * pue)
    auxiliaries = {
        "fleet_intensity": fleet,
        "frontier_intensity": frontier,
        "data_centres": operating / size,
        "energy_per_request": measured * p["serving_factor"],
        "measured_energy_per_request": measured,
        "grid_intensity": grid_intensity,
        "unserved_fraction": unserved_fraction,
    }
    return derivatives, flows, auxiliaries


def initial_state(p: Mapping[str, Array]) -> dict[str, Array]:
    """The state on 1 January of the start year, from parameters and calibration quantities."""
    zero_time = 0.0 * p["construction_time"]
    share = p["request_share_start"]
    state = {
        "requests": p["requests_start"],
        "request_share": share * 1.0,
        "reasoning_tokens_multiplier": p["reasoning_tokens_multiplier_start"] * 1.0,
        "pue": p["pue_start"] * 1.0,
        "operating_capacity": p["operating_capacity_start"],
        "clean_power_share": 0.0 * p["clean_power_share_target"],
    }
    inference, training = ai_work(state, p, zero_time)
    capacity, intensity_stock, _ = hardware.initial_cohorts(
        inference + training, p["accelerator_lifetime"], p["historical_growth"],
        p["frontier_efficiency_gain"],
    )
    state["accelerator_capacity"] = capacity
    state["accelerator_intensity_stock"] = intensity_stock
    conventional = p["conventional_work_start"]
    demand_start = (inference + training + conventional) * p["pue_start"]
    state["smoothed_demand"] = demand_start / (
        1.0 + p["historical_growth"] * p["demand_smoothing_time"]
    )
    desired = buildout.desired_capacity(demand_start, p["historical_growth"],
                                        p["construction_time"], p["load_factor_start"])
    state["construction_pipeline"] = buildout.initial_pipeline(
        desired, p["operating_capacity_start"],
        buildout.capacity_retirements(p["operating_capacity_start"], p["facility_lifetime"]),
        p["construction_time"], p["start_adjustment_time"], p["interconnection_limit"],
    )
    return state


def year_start_fraction(growth_rate, year_length):
    """Value on 1 January as a fraction of the year's average, for steady exponential growth."""
    exponent = growth_rate * year_length
    small = np.abs(exponent) < 1e-9
    safe = np.where(small, 1.0, exponent)
    return np.where(small, 1.0 - exponent / 2.0, safe / np.expm1(safe))


def first_calibration(p: Mapping[str, Array], year_length: float) -> dict[str, Array]:
    """First guess of the calibration quantities, from the start-year targets.

    Requests, training and conventional work on 1 January are the year's targets discounted
    for their growth within the year; the integrator then refines them so that the totals
    over the start year hit the targets exactly.
    """
    ai_it = p["ai_energy_start"] / p["pue_start"]
    conventional_it = (p["facility_energy_start"] - p["ai_energy_start"]) / p["pue_start"]
    requests = p["requests_per_day_start"]
    raw = demand.request_it_energy(
        p["gpu_energy_per_request"], p["overhead_factor"], np.ones_like(p["overhead_factor"]),
        p["pue_start"], p["reasoning_tokens_multiplier_start"],
    )
    raw_inference = requests * (p["request_share_start"] * raw).sum(axis=0)
    operating = p["facility_energy_start"] / p["load_factor_start"]
    _, _, frontier_start = hardware.initial_cohorts(
        ai_it, p["accelerator_lifetime"], p["historical_growth"], p["frontier_efficiency_gain"]
    )
    request_growth = p["adoption_growth"] * (1.0 - 1.0 / p["saturation_multiple"])
    conventional_growth = p["conventional_demand_growth"] - p["conventional_efficiency_gain"]
    return {
        "requests_start": requests * year_start_fraction(request_growth, year_length),
        "serving_factor": (1.0 - p["training_share_start"]) * ai_it / raw_inference,
        "training_work_start": p["training_share_start"] * ai_it
        * year_start_fraction(p["training_compute_growth"], year_length),
        "conventional_work_start": conventional_it
        * year_start_fraction(conventional_growth, year_length),
        "operating_capacity_start": operating,
        "centre_size_start": operating / p["data_centres_start"],
        "frontier_intensity_start": frontier_start,
    }
