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

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import buildout, demand, hardware, impacts, schedules
from .parameters import MARGINAL_SOURCES, MIX_ARRAYS, REASONING, SOURCES
from .units import SECONDS_PER_YEAR

Array = Any  # numpy array, or pint quantity wrapping one

STATE_UNITS: dict[str, str] = {
    "requests": "request/s",
    "training_demand": "1/s",
    "other_inference_demand": "1/s",
    "request_share": "dimensionless",
    "reasoning_tokens": "dimensionless",
    "prompt_tokens_multiple": "dimensionless",
    "accelerators": "dimensionless",
    "accelerator_power": "W",
    "accelerator_capability": "1/s",
    "smoothed_ai_work": "1/s",
    "ai_pue": "dimensionless",
    "conventional_pue": "dimensionless",
    "operating_capacity": "W",
    "construction_pipeline": "W",
    "smoothed_demand": "W",
    "data_centres": "dimensionless",
    "clean_power_share": "dimensionless",
    "grid_mix": "dimensionless",
}
"""State variables (stocks) and their SI units. ``grid_mix`` is the generation share of each
source (sources, samples), in the order of ``parameters.SOURCES``. ``training_demand`` and
``other_inference_demand`` are the training and other-AI-inference work asked of the fleet
(FLOP/s, served or not)."""

CALIBRATION_UNITS: dict[str, str] = {
    "requests_start": "request/s",
    "training_work_start": "1/s",
    "other_work_start": "1/s",
    "conventional_work_start": "W",
    "operating_capacity_start": "W",
    "target_utilisation": "dimensionless",
    "installed_start": "dimensionless",
    "installed_power_start": "W",
    "installed_capability_start": "1/s",
    "power_per_capability_start": "J",
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

FLOW_UNITS: dict[str, str] = {
    "generative_energy": "W",
    "generative_inference_energy": "W",
    "other_inference_energy": "W",
    "ai_training_energy": "W",
    "ai_idle_energy": "W",
    "ai_it_energy": "W",
    "conventional_facility_energy": "W",
    "served_requests": "request/s",
    "text_tokens": "1/s",
    "generative_work": "1/s",
    "other_inference_work": "1/s",
    "training_work": "1/s",
    "accelerator_shipments": "1/s",
    "unserved_energy": "W",
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
}
"""Flows that the integrator accumulates over each calendar year, with their SI units."""

SUM_FLOWS: dict[str, tuple[str, ...]] = {
    "ai_inference_energy": ("generative_inference_energy", "other_inference_energy"),
    "ai_facility_energy": ("generative_inference_energy", "other_inference_energy",
                           "ai_training_energy"),
    "facility_energy": ("generative_inference_energy", "other_inference_energy",
                        "ai_training_energy", "conventional_facility_energy"),
    "facility_energy_demand": ("generative_inference_energy", "other_inference_energy",
                               "ai_training_energy", "conventional_facility_energy",
                               "unserved_energy"),
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
}
"""Instantaneous values recorded at each year boundary, with their SI units."""

DEMAND_STOCKS: tuple[str, ...] = (
    "requests", "training_demand", "other_inference_demand", "request_share",
    "reasoning_tokens", "prompt_tokens_multiple", "accelerators", "accelerator_power",
    "accelerator_capability", "smoothed_ai_work", "ai_pue", "conventional_pue",
)
"""Stocks of the demand side: they evolve without the supply side while capacity does not
bind, as it does not in the calibrated start year."""
DEMAND_FLOWS: tuple[str, ...] = (
    "generative_energy", "generative_inference_energy", "other_inference_energy",
    "ai_training_energy", "ai_idle_energy", "ai_it_energy", "conventional_facility_energy",
    "served_requests", "text_tokens", "generative_work", "other_inference_work",
    "training_work", "accelerator_shipments",
)
"""Flows that ``rates(..., demand_only=True)`` returns (capacity never binds)."""


MARGINAL_MASK = np.array([[1.0 if source in MARGINAL_SOURCES else 0.0] for source in SOURCES])
"""(sources, 1): one for the sources at the margin (``parameters.MARGINAL_SOURCES``)."""


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


def ai_work(requests, request_share, reasoning_tokens, prompt_multiple,
            p: Mapping[str, Array], time):
    """Generative work demanded: peak FLOP per request by workload (the response at the
    workload's FLOP utilisation plus the prompt at the prompt FLOP utilisation), generative
    work and generative peak work (FLOP/s), and the tokens of a request by workload (prompt
    and response). Prompts are the start year's prompt tokens times
    ``prompt_multiple`` (1 in the start year). Training and other AI inference are stocks of
    their own (``training_demand``, ``other_inference_demand``)."""
    software = demand.software_efficiency(schedules.trend_rate(p, "software_efficiency_gain"),
                                          time)
    tokens = demand.tokens_by_workload(p["tokens_per_request"], reasoning_tokens)
    prompt_tokens = demand.prompt_tokens(p["prompt_tokens_per_request"], prompt_multiple)
    output = demand.work_per_request(p["active_parameters"], tokens, software)
    prompt = demand.work_per_request(p["active_parameters"], prompt_tokens, software)
    per_request = output + prompt
    per_request_peak = output / p["flop_utilisation"] + prompt / p["prompt_flop_utilisation"]
    generative = demand.generative_work(requests, request_share, per_request)
    generative_peak = demand.generative_work(requests, request_share, per_request_peak)
    return per_request_peak, generative, generative_peak, tokens + prompt_tokens


def peak_work(generative_peak, other, training, p: Mapping[str, Array]):
    """Peak FLOP/s that the work keeps busy: delivered work over model FLOP utilisation."""
    return (generative_peak + other / p["other_inference_flop_utilisation"]
            + training / p["training_flop_utilisation"])


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
    # --- work demanded by driver --------------------------------------------------------------
    per_request_peak, generative, generative_peak, request_tokens = ai_work(
        state["requests"], state["request_share"], state["reasoning_tokens"],
        state["prompt_tokens_multiple"], p, time)
    other = state["other_inference_demand"]
    training = state["training_demand"]
    demanded = peak_work(generative_peak, other, training, p)

    # --- the installed base: utilisation and power drawn --------------------------------------
    count = state["accelerators"]
    power = state["accelerator_power"]
    capability = state["accelerator_capability"]
    installed_power = power.sum(axis=0)
    installed_capability = capability.sum(axis=0)
    utilisation = hardware.fleet_utilisation(demanded, installed_capability)
    busy = utilisation * installed_capability
    unserved_work = np.maximum(demanded - installed_capability, 0.0 * demanded)
    unserved_fraction = unserved_work / demanded
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
    conventional_demand = impacts.facility_power(
        impacts.trend(p["conventional_work_start"],
                      schedules.trend_rate(p, "conventional_demand_growth")
                      - schedules.trend_rate(p, "conventional_efficiency_gain"), time),
        conventional_pue)

    # --- shipments: close the gap at the target utilisation, within built capacity -----------
    work_trend = buildout.demand_trend(demanded, state["smoothed_ai_work"],
                                       p["demand_smoothing_time"])
    desired = hardware.desired_capability(demanded, work_trend, p["procurement_time"],
                                          p["target_utilisation"])
    # new vintages: the historical trend up to the end of the held start year, the scenario's
    # frontier trend after it
    offset = hardware.held_vintage_offset(year)
    new_power = hardware.vintage_trend(
        hardware.vintage_trend(p["rated_power_start"],
                               schedules.start_value(p, "rated_power_growth"), -offset),
        schedules.trend_rate(p, "rated_power_growth"), -time)
    new_flop_per_joule = hardware.vintage_trend(
        hardware.vintage_trend(p["peak_flop_per_joule_start"], p["historical_efficiency_gain"],
                               -offset),
        schedules.trend_rate(p, "frontier_efficiency_gain"), -time)
    new_capability = new_power * new_flop_per_joule
    hazard = hardware.retirement_hazard(p["accelerator_lifetime"], year)
    retired = {k: v * hazard for k, v in
               (("count", count), ("power", power), ("capability", capability))}
    retired = {k: v * moving for k, v in retired.items()}
    shipments = moving * hardware.wanted_shipments(desired, installed_capability,
                                                   retired["capability"].sum(axis=0),
                                                   p["procurement_time"], new_capability)
    if demand_only:
        conventional = conventional_demand
    else:
        operating = state["operating_capacity"]
        limit = buildout.capacity_limit(operating, p["max_utilisation"])
        conventional = buildout.served_conventional(conventional_demand, limit, ai_full_load)
        provision = impacts.facility_power(p["host_overhead"], ai_pue)
        shipments = np.minimum(shipments, hardware.room_for_shipments(
            limit - ai_full_load - conventional_demand, p["procurement_time"],
            retired["power"].sum(axis=0) * provision, new_power * provision))

    # --- demand dynamics: adoption, rebound, mix ----------------------------------------------
    software = demand.software_efficiency(schedules.trend_rate(p, "software_efficiency_gain"),
                                          time)
    relative_cost = (software * installed_power / installed_capability
                     / p["power_per_capability_start"])
    ceiling = demand.saturation_requests(p["requests_per_day_start"], p["saturation_multiple"],
                                         relative_cost, p["rebound_elasticity"])
    brake = demand.unserved_brake(unserved_fraction, p["unserved_demand_sensitivity"])
    d_requests = demand.request_growth(state["requests"], p["adoption_growth"], ceiling, brake)

    ageing = {k: moving * hardware.ageing_outflow(v, year) for k, v in
              (("count", count), ("power", power), ("capability", capability))}
    derivatives = {
        "requests": d_requests,
        "training_demand": demand.training_work_change(training, p["training_compute_growth"],
                                                       brake),
        "other_inference_demand": demand.other_inference_work_change(
            other, p["other_inference_growth"], p["software_efficiency_gain"], brake),
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
    flows = {
        "generative_energy": generative_energy,
        "generative_inference_energy": generative_energy.sum(axis=0),
        "other_inference_energy": other / p["other_inference_flop_utilisation"] * served_ai
        * energy_per_peak,
        "ai_training_energy": training / p["training_flop_utilisation"] * served_ai
        * energy_per_peak,
        "ai_idle_energy": impacts.facility_power(
            installed_power * p["idle_power_fraction"] * p["host_overhead"], ai_pue),
        "ai_it_energy": ai_it,
        "conventional_facility_energy": conventional,
        "served_requests": served_requests,
        "text_tokens": demand.text_tokens(served_requests, request_tokens),
        "generative_work": generative * served_ai,
        "other_inference_work": other * served_ai,
        "training_work": training * served_ai,
        "accelerator_shipments": shipments,
    }
    derivatives = {k: v * moving for k, v in derivatives.items()}
    if demand_only:
        return derivatives, flows, {}

    # --- build-out: demand seen by developers, construction, centres ---------------------------
    # unserved AI work is valued at what the accelerators to serve it would draw: the newest
    # vintage (what shipments would have brought), run at the planned utilisation, idle draw,
    # host overhead and cooling included
    unserved_ai = impacts.facility_power(
        hardware.power_to_serve(unserved_work, new_power / new_capability,
                                p["idle_power_fraction"], p["target_utilisation"],
                                p["host_overhead"]), ai_pue)
    unserved_conventional = np.maximum(
        conventional_demand - np.maximum(limit - ai_full_load, 0.0 * limit), 0.0 * limit)
    unserved = unserved_ai + unserved_conventional
    facility_demand = ai_facility + conventional_demand + unserved_ai
    delivered = ai_facility + conventional
    trend = buildout.demand_trend(facility_demand, state["smoothed_demand"],
                                  p["demand_smoothing_time"])
    desired_capacity = buildout.desired_capacity(facility_demand, trend, p["construction_time"],
                                                 p["load_factor_start"])
    pipeline = state["construction_pipeline"]
    retirements = buildout.capacity_retirements(operating, p["facility_lifetime"])
    retirements = retirements * moving
    starts = moving * buildout.construction_starts(desired_capacity, operating, pipeline,
                                                   retirements, p["start_adjustment_time"],
                                                   p["interconnection_limit"])
    completions = moving * buildout.construction_completions(pipeline, p["construction_time"])
    new_size = buildout.new_centre_size(p["new_centre_size_start"],
                                        schedules.trend_rate(p, "new_centre_size_growth"), time)

    # --- facility, water, carbon -----------------------------------------------------------------
    conventional_it = conventional / conventional_pue
    wue_trend = impacts.trend(1.0, schedules.trend_rate(p, "onsite_wue_change"), time)
    grid_mix = state["grid_mix"]
    power_water = impacts.power_water_intensity(grid_mix, p["source_water_intensity"])
    location = impacts.location_based_intensity(grid_mix, p["source_emission_rate"])
    lifecycle = impacts.lifecycle_intensity(grid_mix, p["source_carbon_intensity"])
    marginal = impacts.marginal_intensity(grid_mix, p["source_emission_rate"], MARGINAL_MASK)
    contracted = impacts.contracted_share(
        p["contracted_share_start"] * p["facility_energy_start"], delivered,
        state["clean_power_share"])
    market = impacts.market_based_intensity(location, contracted)
    new_load = impacts.new_load_power(delivered, p["facility_energy_start"])
    supply_derivatives = {
        "operating_capacity": completions - retirements,
        "construction_pipeline": starts - completions,
        "smoothed_demand": demand.first_order_adjustment(
            state["smoothed_demand"], facility_demand, p["demand_smoothing_time"]),
        "data_centres": buildout.centre_count_change(state["data_centres"], completions,
                                                     new_size, p["facility_lifetime"]),
        "clean_power_share": demand.first_order_adjustment(
            state["clean_power_share"], p["clean_power_share_target"],
            p["clean_power_adjustment_time"]),
        "grid_mix": demand.first_order_adjustment(grid_mix, p["grid_share_target"],
                                                  p["grid_mix_adjustment_time"]),
    }
    derivatives.update({k: v * moving for k, v in supply_derivatives.items()})
    flows.update({
        "unserved_energy": unserved,
        "it_energy": ai_it + conventional_it,
        "onsite_water": (impacts.onsite_water(ai_it, p["ai_wue"])
                         + impacts.onsite_water(conventional_it, p["conventional_wue"]))
        * wue_trend,
        "indirect_water": impacts.indirect_water(delivered, power_water),
        "emissions": impacts.emissions(delivered, location),
        "emissions_market_based": impacts.emissions(delivered, market),
        "emissions_lifecycle": impacts.emissions(delivered, lifecycle),
        "emissions_new_load": impacts.emissions(new_load, marginal),
        "new_load": new_load,
        "construction_starts": starts,
        "construction_completions": completions,
        "capacity_retirements": retirements,
    })
    if not with_auxiliaries:
        return derivatives, flows, {}
    auxiliaries = {
        "utilisation": utilisation,
        "fleet_flop_per_joule": installed_capability / installed_power,
        "frontier_flop_per_joule": new_flop_per_joule,
        "energy_per_request": per_request_peak * energy_per_peak,
        "grid_intensity": location,
        "market_grid_intensity": market,
        "lifecycle_grid_intensity": lifecycle,
        "marginal_grid_intensity": marginal,
        "contracted_share": contracted,
        "power_water_intensity": power_water,
        "unserved_fraction": unserved_fraction,
    }
    return derivatives, flows, auxiliaries


def initial_fleet(p: Mapping[str, Array], year_length: float) -> dict[str, Array]:
    """The installed base over the held start year from published shipments: count, rated
    power and peak capability by cohort, (cohorts, samples)."""
    count = hardware.initial_installed_base(p["shipments_start"], p["shipment_growth_history"],
                                            p["installed_base_age"], year_length)
    # cohort 0 is the start year's vintage, cohort 1 the reference vintage of the year before
    vintage = hardware.cohort_ages(year_length) - 1.5 * year_length
    power = count * hardware.vintage_trend(p["rated_power_start"], p["rated_power_growth"],
                                           vintage)
    capability = power * hardware.vintage_trend(p["peak_flop_per_joule_start"],
                                                p["historical_efficiency_gain"], vintage)
    return {"accelerators": count, "accelerator_power": power,
            "accelerator_capability": capability}


def start_fleet(p: Mapping[str, Array]) -> dict[str, Array]:
    """``initial_fleet(p, SECONDS_PER_YEAR)``: taken from ``p`` when ``with_derived`` has put
    it there, else computed."""
    if "installed_start" in p:
        return {"accelerators": p["installed_start"],
                "accelerator_power": p["installed_power_start"],
                "accelerator_capability": p["installed_capability_start"]}
    return initial_fleet(p, SECONDS_PER_YEAR)


def with_derived(p: Mapping[str, Array]) -> dict[str, Array]:
    """Parameters plus the quantities derived from them that do not change over time: the
    start-year fleet, the utilisation that buyers plan for (the start utilisation times the
    planned ratio) and the per-source generation parameters stacked into (sources, samples)
    arrays (``MIX_UNITS``)."""
    year = SECONDS_PER_YEAR * np.ones_like(p["ai_pue_start"])
    fleet = initial_fleet(p, SECONDS_PER_YEAR)
    installed_power = fleet["accelerator_power"].sum(axis=0)
    installed_capability = fleet["accelerator_capability"].sum(axis=0)
    mix = {name: np.stack([p[f"{source}_{suffix}"] for source in SOURCES])
           for name, suffix in MIX_ARRAYS.items()}
    full = {**p, **mix, "year_length": year, "installed_start": fleet["accelerators"],
            "installed_power_start": fleet["accelerator_power"],
            "installed_capability_start": fleet["accelerator_capability"],
            "power_per_capability_start": installed_power / installed_capability}
    full["target_utilisation"] = np.minimum(
        p["start_utilisation"] * p["planned_utilisation_ratio"], 1.0)
    return full


def _given_or_initial(p: Mapping[str, Array], fleet: Mapping[str, Array] | None):
    """``fleet`` when the caller has the start-year fleet already, else computed."""
    return initial_fleet(p, SECONDS_PER_YEAR) if fleet is None else fleet


def start_ai_power(p: Mapping[str, Array], fleet: Mapping[str, Array] | None = None) -> Array:
    """AI facility power in the start year, W: the installed base at the start utilisation,
    idle draw, host overhead and PUE included. A result of the inputs, not a target.
    ``fleet`` is ``initial_fleet(p, SECONDS_PER_YEAR)`` when the caller has it already."""
    fleet = _given_or_initial(p, fleet)
    it = hardware.accelerator_it_power(fleet["accelerator_power"].sum(axis=0),
                                       p["start_utilisation"], p["idle_power_fraction"],
                                       p["host_overhead"])
    return impacts.facility_power(it, p["ai_pue_start"])


def start_peak_work(p: Mapping[str, Array],
                    fleet: Mapping[str, Array] | None = None) -> tuple[Array, Array]:
    """Peak work the start year keeps busy (start utilisation x installed peak capability)
    and the part of it that generative requests need, FLOP/s (``fleet`` as in
    ``start_ai_power``)."""
    fleet = _given_or_initial(p, fleet)
    demanded = p["start_utilisation"] * fleet["accelerator_capability"].sum(axis=0)
    _, _, generative_peak, _ = ai_work(p["requests_per_day_start"] * 1.0, p["request_share_start"],
                                    p["tokens_per_request"][REASONING], 1.0, p, 0.0)
    return demanded, generative_peak


INFEASIBLE_REASONS: dict[str, str] = {
    "ai_above_total": "the installed accelerators at the start utilisation draw at least the "
                      "start-year total of all data centres",
    "requests_above_utilisation": "generative requests alone need more of the fleet's peak "
                                  "capability than the start utilisation",
    "training_above_remainder": "the start-year training share is more than the share of the "
                                "busy fleet that generative requests leave",
}
"""Why a start state cannot exist, by name (what ``infeasible_start`` reports)."""


def infeasible_start(p: Mapping[str, Array],
                     fleet: Mapping[str, Array] | None = None) -> dict[str, Array]:
    """Per reason in ``INFEASIBLE_REASONS``, True for each sample whose inputs admit no start
    state: AI electricity (a result of the installed base and the start utilisation) that
    leaves nothing for conventional load, generative work beyond the start utilisation
    (training and other AI inference would be negative), or a training share that generative
    work leaves no room for (other AI inference would be negative). ``fleet`` as in
    ``start_ai_power``."""
    fleet = _given_or_initial(p, fleet)
    demanded, generative_peak = start_peak_work(p, fleet)
    return {
        "ai_above_total": ~(start_ai_power(p, fleet) < p["facility_energy_start"]),
        "requests_above_utilisation": generative_peak > demanded,
        "training_above_remainder": p["training_share_start"] > 1.0 - generative_peak / demanded,
    }


def start_training_share(p: Mapping[str, Array],
                         fleet: Mapping[str, Array] | None = None) -> Array:
    """Share of start-year AI electricity used for training: ``training_share_start``, at
    most the share of the busy fleet that generative requests leave (busy energy is shared in
    proportion to peak work, so a share of peak work is a share of AI electricity). A sample
    whose share is more than that has no start state (``infeasible_start``,
    "training_above_remainder"); the bound only keeps its first guess finite. ``fleet`` as
    in ``start_ai_power``."""
    demanded, generative_peak = start_peak_work(p, fleet)
    return np.minimum(p["training_share_start"], 1.0 - generative_peak / demanded)


def initial_state(p: Mapping[str, Array]) -> dict[str, Array]:
    """The state on 1 January of the start year, from parameters and calibration quantities."""
    share = p["request_share_start"]
    reasoning = p["tokens_per_request"][REASONING] * 1.0
    _, _, generative_peak, _ = ai_work(p["requests_start"], share, reasoning, 1.0, p,
                                    0.0 * p["year_length"])
    other = p["other_work_start"] * 1.0
    training = p["training_work_start"] * 1.0
    demanded = peak_work(generative_peak, other, training, p)
    state = {
        "requests": p["requests_start"],
        "training_demand": training,
        "other_inference_demand": other,
        "request_share": share * 1.0,
        "reasoning_tokens": reasoning,
        "prompt_tokens_multiple": np.ones_like(p["prompt_tokens_multiple_target"]),
        "accelerators": p["installed_start"] * 1.0,
        "accelerator_power": p["installed_power_start"] * 1.0,
        "accelerator_capability": p["installed_capability_start"] * 1.0,
        # AI work grew with the capability shipped before the start year
        "smoothed_ai_work": demanded / (1.0 + p["shipment_growth_history"]
                                        * p["demand_smoothing_time"]),
        "ai_pue": p["ai_pue_start"] * 1.0,
        "conventional_pue": p["conventional_pue_start"] * 1.0,
        "operating_capacity": p["operating_capacity_start"],
        "data_centres": p["data_centres_start"] * 1.0,
        "clean_power_share": 0.0 * p["clean_power_share_target"],
        "grid_mix": p["grid_share_start"] * 1.0,
    }
    demand_start = p["facility_energy_start"] * year_start_fraction(p["historical_growth"],
                                                                    p["year_length"])
    state["smoothed_demand"] = demand_start / (
        1.0 + p["historical_growth"] * p["demand_smoothing_time"]
    )
    # a published start stock, the same whatever the scenario assumes about construction
    state["construction_pipeline"] = p["construction_pipeline_start"] * 1.0
    return state


def year_start_fraction(growth_rate, year_length):
    """Value on 1 January as a fraction of the year's average, for steady exponential growth."""
    exponent = growth_rate * year_length
    small = np.abs(exponent) < 1e-9
    safe = np.where(small, 1.0, exponent)
    return np.where(small, 1.0 - exponent / 2.0, safe / np.expm1(safe))


def first_calibration(p: Mapping[str, Array], year_length: float) -> dict[str, Array]:
    """First guess of the calibration quantities, from the start utilisation and the targets.

    The start year holds its state, so its totals are its rates times a year. The start
    utilisation (an input) says how busy the installed base is; that busy capability, less
    generative inference, is split between training (its share) and other AI inference.
    Conventional work takes the rest of the start-year total. A sample whose inputs admit no
    start state (``infeasible_start``) gets NaN. The integrator then checks and refines the
    guesses against the totals.
    """
    fleet = initial_fleet(p, SECONDS_PER_YEAR)
    demanded, generative_peak = start_peak_work(p, fleet)
    feasible = ~functools.reduce(np.logical_or, infeasible_start(p, fleet).values())
    training_peak = np.maximum(start_training_share(p, fleet), 0.0) * demanded
    other_peak = np.maximum(demanded - generative_peak - training_peak, 0.0 * demanded)
    conventional_it = ((p["facility_energy_start"] - start_ai_power(p, fleet))
                       / p["conventional_pue_start"])
    operating = p["facility_energy_start"] / p["load_factor_start"]
    return {
        "requests_start": p["requests_per_day_start"] * 1.0,
        "training_work_start": training_peak * p["training_flop_utilisation"],
        "other_work_start": np.where(feasible,
                                     other_peak * p["other_inference_flop_utilisation"], np.nan),
        "conventional_work_start": np.where(feasible, conventional_it, np.nan),
        "operating_capacity_start": operating,
    }
