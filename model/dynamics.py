"""The coupled stock-and-flow system: initial state, calibration quantities and rates.

``rates`` is the whole model in one pure function of (state, parameters, time). It runs on
float arrays in SI base units inside the integrator, and on pint quantities in the test that
proves the equations are dimensionally consistent.

Shapes: the sample axis is always last, so per-sample arrays are (samples,), workload
arrays (workloads, samples) and accelerator cohorts (cohorts, samples); sums over
workloads or cohorts run over contiguous rows.

Work is counted in FLOP (a count, so FLOP/s has the unit 1/s). "Peak work" is the peak
FLOP/s a busy accelerator offers: work delivered divided by the model FLOP utilisation of
what it runs. The fleet's utilisation is the peak work demanded over the fleet's peak
capability.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from . import buildout, demand, hardware, impacts, schedules, supply
from .parameters import CHAT, SOURCES
from .start import (  # noqa: F401  (the start state and calibration quantities, re-exported)
    INFEASIBLE_REASONS,
    first_calibration,
    infeasible_start,
    initial_fleet,
    initial_state,
    named_shares,
    start_ai_power,
    start_fleet,
    start_peak_work,
    start_training_share,
    with_derived,
    year_start_fraction,
)

Array = Any  # numpy array, or pint quantity wrapping one

STATE_UNITS: dict[str, str] = {
    "requests": "request/s",
    "training_demand": "1/s",
    "other_inference_demand": "1/s",
    "recommendation_demand": "1/s",
    "agent_demand": "1/s",
    "request_share": "dimensionless",
    "reasoning_tokens": "dimensionless",
    "prompt_tokens_multiple": "dimensionless",
    "accelerators": "dimensionless",
    "accelerator_power": "W",
    "accelerator_capability": "1/s",
    "smoothed_ai_work": "1/s",
    "ai_pue": "dimensionless",
    "conventional_pue": "dimensionless",
    "conventional_work": "W",
    "operating_capacity": "W",
    "construction_pipeline": "W",
    "smoothed_demand": "W",
    "data_centres": "dimensionless",
    "onsite_pipeline": "W",
    "onsite_capacity": "W",
    "clean_power_share": "dimensionless",
    "grid_mix": "dimensionless",
    "unit_capacity": "W",
    "unit_pipeline": "W",
    "free_pipeline": "dimensionless",
    "free_capacity_from_pipeline": "dimensionless",
    "free_capacity": "dimensionless",
}
"""State variables (stocks) and their SI units. ``grid_mix`` is the generation share of each
source (sources, samples), in the order of ``parameters.SOURCES``. ``training_demand``,
``recommendation_demand`` and ``agent_demand`` are the work of the named drivers beyond
generative requests asked of the fleet (FLOP/s, served or not); ``other_inference_demand`` is
the unattributed rest of the start year's busy fleet. ``onsite_pipeline`` and
``onsite_capacity`` are the parts of the construction pipeline and of operating capacity
built with on-site (behind-the-meter) generation. ``unit_capacity`` and ``unit_pipeline``
are operating capacity and the construction pipeline by siting unit (``regions.units``: units,
samples); they sum to the national stocks. ``free_pipeline``, ``free_capacity_from_pipeline``
and ``free_capacity`` are what one watt of start-year pipeline or capacity leaves in the
pipeline or in operation with no construction started since (the responses by which
``results`` splits a unit's stocks among its states)."""

CALIBRATION_UNITS: dict[str, str] = {
    "requests_start": "request/s",
    "training_work_start": "1/s",
    "other_work_start": "1/s",
    "recommendation_work_start": "1/s",
    "agent_work_start": "1/s",
    "conventional_work_start": "W",
    "operating_capacity_start": "W",
    "target_utilisation": "dimensionless",
    "installed_start": "dimensionless",
    "installed_power_start": "W",
    "installed_capability_start": "1/s",
    "power_per_capability_start": "J",
    "busy_peak_start": "1/s",
    "year_length": "s",
}
"""Quantities derived when the start state is calibrated, with their SI units. The first
four are what the calibration adjusts (requests on 1 January, training, other AI inference and
conventional work); the fleet's target utilisation is the start utilisation (an input) times
the planned ratio."""

MIX_UNITS: dict[str, str] = {
    "grid_share_start": "dimensionless",
    "grid_share_target": "dimensionless",
    "source_carbon_intensity": "kg/J",
    "source_water_intensity": "m^3/J",
    "source_emission_rate": "kg/J",
}
"""The per-source parameters stacked into (sources, samples) arrays by ``with_derived``
(``parameters.MIX_ARRAYS``), with their SI units."""

REGION_UNITS: dict[str, str] = {
    "unit_start_share": "dimensionless",
    "unit_siting_share": "dimensionless",
    "unit_limit_given": "dimensionless",
    "unit_interconnection_limit": "W/s",
    "unit_region": "dimensionless",
    "region_limit_share": "dimensionless",
    "region_limit_given": "dimensionless",
    "region_interconnection_limit": "W/s",
    "state_start_share": "dimensionless",
    "state_siting_share": "dimensionless",
    "state_other_load_share": "dimensionless",
    "state_unit": "dimensionless",
    **{f"unit_{source}_share": "dimensionless" for source in SOURCES},
    "unit_emission_rate": "kg/J",
    "unit_lifecycle_intensity": "kg/J",
    "unit_water_intensity": "m^3/J",
    "location_intensity_start": "kg/J",
    "lifecycle_intensity_start": "kg/J",
    "power_water_start": "m^3/J",
}
"""The regional inputs (``regions.parameter_arrays``: (states or grid regions, samples)) and
what ``with_derived`` computes from them, with their SI units."""

FLOW_UNITS: dict[str, str] = {
    "generative_energy": "W",
    "generative_inference_energy": "W",
    "recommendation_energy": "W",
    "agent_energy": "W",
    "unattributed_energy": "W",
    "ai_training_energy": "W",
    "ai_idle_energy": "W",
    "ai_it_energy": "W",
    "conventional_facility_energy": "W",
    "served_requests": "request/s",
    "text_tokens": "1/s",
    "generative_work": "1/s",
    "recommendation_work": "1/s",
    "agent_work": "1/s",
    "unattributed_work": "1/s",
    "training_work": "1/s",
    "accelerator_shipments": "1/s",
    "chip_shortfall": "1/s",
    "room_shortfall": "1/s",
    "deferred_energy": "W",
    "grid_shortfall": "W/s",
    "behind_the_meter_energy": "W",
    "behind_the_meter_emissions": "kg/s",
    "behind_the_meter_water": "m^3/s",
    "it_energy": "W",
    "onsite_water": "m^3/s",
    "indirect_water": "m^3/s",
    "emissions": "kg/s",
    "emissions_market_based": "kg/s",
    "emissions_lifecycle": "kg/s",
    "emissions_new_load": "kg/s",
    "new_load": "W",
    "construction_starts": "W/s",
    "construction_completions": "W/s",
    "capacity_retirements": "W/s",
    "unit_energy": "W",
    "unit_emissions": "kg/s",
    "unit_emissions_market_based": "kg/s",
    "unit_onsite_water": "m^3/s",
    "unit_indirect_water": "m^3/s",
    **{f"split_{name}_{x}": unit for name, unit in (
        ("energy", "dimensionless"), ("onsite_water", "m^3/J"), ("grid", "dimensionless"),
        ("market", "dimensionless"), ("water", "dimensionless"),
        ("behind_meter_emissions", "kg/J"), ("behind_meter_water", "m^3/J"))
       for x in ("capacity", "pipeline")},
}
"""Flows that the integrator accumulates over each calendar year, with their SI units."""

OTHER_INFERENCE = ("recommendation_energy", "agent_energy", "unattributed_energy")
SUM_FLOWS: dict[str, tuple[str, ...]] = {
    "other_inference_energy": OTHER_INFERENCE,
    "other_inference_work": ("recommendation_work", "agent_work", "unattributed_work"),
    "ai_inference_energy": ("generative_inference_energy", *OTHER_INFERENCE),
    "ai_facility_energy": ("generative_inference_energy", *OTHER_INFERENCE,
                           "ai_training_energy"),
    "facility_energy": ("generative_inference_energy", *OTHER_INFERENCE,
                        "ai_training_energy", "conventional_facility_energy"),
    "facility_energy_demand": ("generative_inference_energy", *OTHER_INFERENCE,
                               "ai_training_energy", "conventional_facility_energy",
                               "deferred_energy"),
}
"""Flows that are sums of integrated flows (delivered energy = its parts), so a total always
equals its parts."""

CONTEXT_FLOWS: dict[str, tuple[str, str]] = {
    "us_other_electricity": ("us_other_electricity_start", "us_other_electricity_growth"),
    "us_residential_electricity": ("us_residential_electricity_start",
                                   "residential_electricity_growth"),
}
"""Exogenous flows (value in the start year, continuous growth rate), integrated exactly."""

AUXILIARY_UNITS: dict[str, str] = {
    "utilisation": "dimensionless",
    "fleet_flop_per_joule": "1/J",
    "frontier_flop_per_joule": "1/J",
    "energy_per_request": "J",
    "grid_intensity": "kg/J",
    "market_grid_intensity": "kg/J",
    "lifecycle_grid_intensity": "kg/J",
    "marginal_grid_intensity": "kg/J",
    "contracted_share": "dimensionless",
    "power_water_intensity": "m^3/J",
    "unserved_fraction": "dimensionless",
    "reference_request_energy": "J",
}
"""Instantaneous values recorded at each year boundary, with their SI units."""

DEMAND_STOCKS: tuple[str, ...] = (
    "requests", "training_demand", "other_inference_demand", "recommendation_demand",
    "agent_demand", "request_share",
    "reasoning_tokens", "prompt_tokens_multiple", "accelerators", "accelerator_power",
    "accelerator_capability", "smoothed_ai_work", "ai_pue", "conventional_pue",
    "conventional_work",
)
"""Stocks of the demand side: they evolve without the supply side while capacity does not
bind, as it does not in the calibrated start year."""
DEMAND_FLOWS: tuple[str, ...] = (
    "generative_energy", "generative_inference_energy", "recommendation_energy",
    "agent_energy", "unattributed_energy", "ai_training_energy", "ai_idle_energy",
    "ai_it_energy", "conventional_facility_energy", "served_requests", "text_tokens",
    "generative_work", "recommendation_work", "agent_work", "unattributed_work",
    "training_work", "accelerator_shipments", "chip_shortfall",
)
"""Flows that ``rates(..., demand_only=True)`` returns (capacity never binds)."""


def derived_flows(flows: Mapping[str, Array], p: Mapping[str, Array], years: int,
                  year_length: float) -> dict[str, Array]:
    """Totals of integrated flows, the exact yearly integrals of the context series, and
    US electricity (outside data centres plus data centres), shaped (year, sample).

    A context value is the start year's total; it grows from 1 January of the next year.
    """
    out = {name: sum(flows[part] for part in parts) for name, parts in SUM_FLOWS.items()}
    # like the model, a context series holds its start-year value through the start year
    starts = np.maximum(np.arange(years)[:, None] - 1, 0) * year_length
    after_start = np.arange(years)[:, None] > 0
    for name, (value_start, growth) in CONTEXT_FLOWS.items():
        out[name] = np.where(after_start,
                             impacts.trend_integral(p[value_start], p[growth], starts,
                                                    starts + year_length),
                             p[value_start] * year_length)
    out["us_electricity"] = out["us_other_electricity"] + out["facility_energy"]
    return out


def work_demanded(state: Mapping[str, Array], p: Mapping[str, Array], time: Array):
    """The work asked of the fleet by driver: the generative requests' physics (``ai_work``),
    the other-inference drivers and training, and the peak FLOP/s they keep busy."""
    per_request_peak, generative, generative_peak, request_tokens = demand.ai_work(
        state["requests"], state["request_share"], state["reasoning_tokens"],
        state["prompt_tokens_multiple"], p, time,
        schedules.trend_rate(p, "software_efficiency_gain"))
    drivers = {"recommendation": state["recommendation_demand"],
               "agent": state["agent_demand"],
               "unattributed": state["other_inference_demand"]}
    other = drivers["recommendation"] + drivers["agent"] + drivers["unattributed"]
    demanded = demand.peak_work(generative_peak, other, state["training_demand"], p)
    return per_request_peak, generative, request_tokens, drivers, demanded


def new_vintage(p: Mapping[str, Array], year, time):
    """Rated power (W) and peak FLOP per joule of an accelerator shipped at ``time``: the
    historical trend up to the end of the held start year, the scenario's frontier trend
    after it."""
    offset = hardware.held_vintage_offset(year)
    new_power = hardware.vintage_trend(
        hardware.vintage_trend(p["rated_power_start"],
                               schedules.start_value(p, "rated_power_growth"), -offset),
        schedules.trend_rate(p, "rated_power_growth"), -time)
    new_flop_per_joule = hardware.vintage_trend(
        hardware.vintage_trend(p["peak_flop_per_joule_start"], p["historical_efficiency_gain"],
                               -offset),
        schedules.trend_rate(p, "frontier_efficiency_gain"), -time)
    return new_power, new_flop_per_joule


def reference_request_peak(p: Mapping[str, Array], time):
    """Peak FLOP a fixed reference request keeps busy: the start year's chat request of the
    large text model (its response and prompt tokens, not the evolving ones) under the
    software trend and prompt caching of ``time``."""
    software = demand.software_efficiency(schedules.trend_rate(p, "software_efficiency_gain"),
                                          time)
    chat = p["tokens_per_request"][CHAT], p["prompt_tokens_per_request"][CHAT]
    output = demand.work_per_request(p["active_parameters"][CHAT], chat[0], software)
    prompt = demand.work_per_request(p["active_parameters"][CHAT], chat[1], software) * (
        1.0 - p["prompt_cache_hit_share"])
    return (output / p["flop_utilisation"][CHAT]
            + prompt / p["prompt_flop_utilisation"])


def rates(state: Mapping[str, Array], p: Mapping[str, Array], time: Array,
          with_auxiliaries: bool = False, demand_only: bool = False):
    """Derivatives of every stock, the flows, and auxiliary values at ``time``.

    ``time`` is in seconds since 1 January of the start year. Returns three dicts: d(stock)/dt
    keyed like ``state``; flows keyed like ``FLOW_UNITS``; auxiliaries keyed like
    ``AUXILIARY_UNITS`` (empty unless ``with_auxiliaries``).

    With ``demand_only``, ``state`` holds only ``DEMAND_STOCKS``: the supply side (build-out,
    water, carbon) is skipped and capacity never binds, which is how the start year is
    calibrated (the integrator checks afterwards that capacity did not bind).
    """
    # scheduled parameters at this time (projection.model.schedules); a growth rate applied in
    # closed form reads schedules.trend_rate, the mean of its schedule since the start year
    p = schedules.at_time(p, time)
    year = p["year_length"]
    # the start year holds its calibrated state; the scenario's future begins a year later
    moving = np.where(time >= year, 1.0, 0.0)
    time = np.maximum(time - year, 0.0 * year)
    per_request_peak, generative, request_tokens, drivers, demanded = work_demanded(
        state, p, time)
    training = state["training_demand"]

    # --- the installed base: utilisation within its operating range, power drawn -----------
    count = state["accelerators"]
    power = state["accelerator_power"]
    capability = state["accelerator_capability"]
    installed_power = power.sum(axis=0)
    installed_capability = capability.sum(axis=0)
    utilisation = hardware.fleet_utilisation(demanded, installed_capability,
                                             p["max_operating_utilisation"])
    busy = utilisation * installed_capability
    deferred_work = hardware.deferred_work(demanded, installed_capability,
                                           p["max_operating_utilisation"])
    unserved_fraction = deferred_work / demanded
    served_ai = 1.0 - unserved_fraction
    ai_pue = state["ai_pue"]
    ai_it = hardware.accelerator_it_power(installed_power, utilisation, p["idle_power_fraction"],
                                          p["host_overhead"])
    ai_facility = impacts.facility_power(ai_it, ai_pue)
    # facility energy per peak FLOP served, idle share and cooling included
    energy_per_peak = ai_facility / busy
    ai_full_load = impacts.facility_power(installed_power * p["host_overhead"], ai_pue)

    # --- conventional load ----------------------------------------------------------------------
    conventional_pue = state["conventional_pue"]
    conventional_demand = impacts.facility_power(state["conventional_work"], conventional_pue)

    # --- shipments: close the gap at the target utilisation, within chip supply and built
    # capacity --------------------------------------------------------------------------------
    work_trend = buildout.demand_trend(demanded, state["smoothed_ai_work"],
                                       p["demand_smoothing_time"])
    desired = hardware.desired_capability(demanded, work_trend, p["procurement_time"],
                                          p["target_utilisation"])
    new_power, new_flop_per_joule = new_vintage(p, year, time)
    new_capability = new_power * new_flop_per_joule
    hazard = hardware.retirement_hazard(p["accelerator_lifetime"], year)
    retired = {k: v * hazard * moving for k, v in
               (("count", count), ("power", power), ("capability", capability))}
    wanted = moving * hardware.wanted_shipments(desired, installed_capability,
                                                retired["capability"].sum(axis=0),
                                                p["procurement_time"], new_capability)
    deliverable = moving * hardware.chip_supply(p["supply_start"],
                                                schedules.trend_rate(p, "supply_growth"), time)
    shipments = np.minimum(wanted, deliverable)
    chip_shortfall = wanted - shipments
    if demand_only:
        conventional = conventional_demand
    else:
        operating = state["operating_capacity"]
        limit = buildout.capacity_limit(operating, p["max_utilisation"])
        conventional = buildout.served_conventional(conventional_demand, limit, ai_full_load)
        provision = impacts.facility_power(p["host_overhead"], ai_pue)
        room = hardware.room_for_shipments(
            limit - ai_full_load - conventional_demand, p["procurement_time"],
            retired["power"].sum(axis=0) * provision, new_power * provision)
        room_shortfall = wanted - np.minimum(wanted, room)
        shipments = np.minimum(shipments, room)

    # --- demand dynamics: adoption, rebound, mix ----------------------------------------------
    relative_cost = (demand.software_efficiency(
        schedules.trend_rate(p, "software_efficiency_gain"), time)
                     * installed_power / installed_capability / p["power_per_capability_start"])
    ceiling = demand.saturation_requests(p["requests_per_day_start"], p["saturation_multiple"],
                                         relative_cost, p["rebound_elasticity"])
    brake = demand.unserved_brake(unserved_fraction, p["unserved_demand_sensitivity"])
    d_requests = demand.request_growth(state["requests"], p["adoption_growth"], ceiling, brake)

    ageing = {k: moving * hardware.ageing_outflow(v, year) for k, v in
              (("count", count), ("power", power), ("capability", capability))}
    software_gain = p["software_efficiency_gain"]
    derivatives = {
        "requests": d_requests,
        "training_demand": demand.training_work_change(training, p["training_compute_growth"],
                                                       brake),
        "other_inference_demand": demand.other_inference_work_change(
            drivers["unattributed"], p["unattributed_growth"], software_gain, brake),
        "recommendation_demand": demand.other_inference_work_change(
            drivers["recommendation"], p["recommendation_growth"], software_gain, brake),
        "agent_demand": demand.other_inference_work_change(
            drivers["agent"], p["agent_growth"], software_gain, brake),
        "request_share": demand.first_order_adjustment(
            state["request_share"], p["request_share_target"], p["mix_adjustment_time"]),
        "reasoning_tokens": demand.first_order_adjustment(
            state["reasoning_tokens"], p["reasoning_tokens_target"], p["mix_adjustment_time"]),
        "prompt_tokens_multiple": demand.first_order_adjustment(
            state["prompt_tokens_multiple"], p["prompt_tokens_multiple_target"],
            p["mix_adjustment_time"]),
        "accelerators": hardware.ageing_chain(count, ageing["count"], retired["count"],
                                              shipments),
        "accelerator_power": hardware.ageing_chain(power, ageing["power"], retired["power"],
                                                   shipments * new_power),
        "accelerator_capability": hardware.ageing_chain(capability, ageing["capability"],
                                                        retired["capability"],
                                                        shipments * new_capability),
        "smoothed_ai_work": demand.first_order_adjustment(state["smoothed_ai_work"], demanded,
                                                          p["demand_smoothing_time"]),
        "ai_pue": demand.first_order_adjustment(ai_pue, p["ai_pue_target"],
                                                p["pue_adjustment_time"]),
        "conventional_pue": demand.first_order_adjustment(
            conventional_pue, p["conventional_pue_target"], p["pue_adjustment_time"]),
    }
    served_requests = state["request_share"] * (state["requests"] * served_ai)
    generative_energy = served_requests * per_request_peak * energy_per_peak
    other_served = served_ai * energy_per_peak / p["other_inference_flop_utilisation"]
    flows = {
        "generative_energy": generative_energy,
        "generative_inference_energy": generative_energy.sum(axis=0),
        **{f"{name}_energy": work * other_served for name, work in drivers.items()},
        "ai_training_energy": training / p["training_flop_utilisation"] * served_ai
        * energy_per_peak,
        "ai_idle_energy": impacts.facility_power(
            installed_power * p["idle_power_fraction"] * p["host_overhead"], ai_pue),
        "ai_it_energy": ai_it,
        "conventional_facility_energy": conventional,
        "served_requests": served_requests,
        "text_tokens": demand.text_tokens(served_requests, request_tokens),
        "generative_work": generative * served_ai,
        **{f"{name}_work": work * served_ai for name, work in drivers.items()},
        "training_work": training * served_ai,
        "accelerator_shipments": shipments,
        "chip_shortfall": chip_shortfall,
    }
    # conventional work grows at its trend, slowed (priced out) as it waits for capacity
    conventional_brake = 1.0 if demand_only else demand.unserved_brake(
        1.0 - conventional / conventional_demand, p["unserved_demand_sensitivity"])
    derivatives["conventional_work"] = demand.other_inference_work_change(
        state["conventional_work"], p["conventional_demand_growth"],
        p["conventional_efficiency_gain"], conventional_brake)
    derivatives = {k: v * moving for k, v in derivatives.items()}
    if demand_only:
        return derivatives, flows, {}
    supply_derivatives, supply_flows, intensities = supply.supply_side(
        state, p, time, moving, demanded=demanded, deferred_work=deferred_work,
        new_power_per_capability=new_power / new_capability, ai_pue=ai_pue,
        ai_facility=ai_facility, ai_full_load=ai_full_load, ai_it=ai_it,
        conventional_demand=conventional_demand, conventional=conventional, limit=limit)
    derivatives.update({k: v * moving for k, v in supply_derivatives.items()})
    flows.update(supply_flows)
    flows["room_shortfall"] = room_shortfall
    if not with_auxiliaries:
        return derivatives, flows, {}
    auxiliaries = {
        "utilisation": utilisation,
        "fleet_flop_per_joule": installed_capability / installed_power,
        "frontier_flop_per_joule": new_flop_per_joule,
        "energy_per_request": per_request_peak * energy_per_peak,
        **intensities,
        "unserved_fraction": unserved_fraction,
        "reference_request_energy": reference_request_peak(p, time) * energy_per_peak,
    }
    return derivatives, flows, auxiliaries
