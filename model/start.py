"""The start state: the installed base from published shipments, the calibration quantities
first guess, the derived quantities, and the inputs that admit no start state.

The start year is held at its calibrated average state (``dynamics.rates`` multiplies every
derivative by zero through it), so these functions give the state on 1 January of the start
year and what the integrator's calibration (``integrate.calibrate``) starts from.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import demand, hardware, impacts
from .parameters import MIX_ARRAYS, REASONING, SOURCES
from .units import SECONDS_PER_YEAR

Array = Any  # numpy array, or pint quantity wrapping one


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
    # buyers never plan for more than the fleet's highest operating utilisation
    full["target_utilisation"] = np.minimum(
        p["start_utilisation"] * p["planned_utilisation_ratio"], p["max_operating_utilisation"])
    full["busy_peak_start"] = p["start_utilisation"] * installed_capability
    full.update(unit_intensities(p, mix))
    return full


def unit_intensities(p: Mapping[str, Array], mix: Mapping[str, Array]) -> dict[str, Array]:
    """Each siting unit's operational emission rate, life-cycle intensity and power-plant
    water intensity from the generation mix it draws (``unit_{source}_share``, (units,
    samples)), and the same of the national mix in the start year, by which the units'
    figures are scaled as the national mix changes (``dynamics.REGION_UNITS``)."""
    shares = [p[f"unit_{source}_share"] for source in SOURCES]
    out = {}
    for name, per_source in (("unit_emission_rate", "source_emission_rate"),
                             ("unit_lifecycle_intensity", "source_carbon_intensity"),
                             ("unit_water_intensity", "source_water_intensity")):
        total = shares[0] * mix[per_source][0]
        for k in range(1, len(SOURCES)):
            total = total + shares[k] * mix[per_source][k]
        out[name] = total
    out["location_intensity_start"] = impacts.location_based_intensity(
        mix["grid_share_start"], mix["source_emission_rate"])
    out["lifecycle_intensity_start"] = impacts.lifecycle_intensity(
        mix["grid_share_start"], mix["source_carbon_intensity"])
    out["power_water_start"] = impacts.power_water_intensity(
        mix["grid_share_start"], mix["source_water_intensity"])
    return out


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
    _, _, generative_peak, _ = demand.ai_work(
        p["requests_per_day_start"] * 1.0, p["request_share_start"],
        p["tokens_per_request"][REASONING], 1.0, p, 0.0)
    return demanded, generative_peak


INFEASIBLE_REASONS: dict[str, str] = {
    "ai_above_total": "the installed accelerators at the start utilisation draw at least the "
                      "start-year total of all data centres",
    "requests_above_utilisation": "generative requests alone need more of the fleet's peak "
                                  "capability than the start utilisation",
    "training_above_remainder": "the start-year shares of training, recommendation and agent "
                                "work are more than the share of the busy fleet that "
                                "generative requests leave",
    "start_above_operating_max": "the start utilisation is above the highest operating "
                                 "utilisation",
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
        "training_above_remainder": named_shares(p) > 1.0 - generative_peak / demanded,
        "start_above_operating_max": p["start_utilisation"] > p["max_operating_utilisation"],
    }


def named_shares(p: Mapping[str, Array]) -> Array:
    """Share of start-year AI electricity given to the named drivers beyond generative
    requests: training, recommendation and agent work."""
    return (p["training_share_start"] + p["recommendation_share_start"]
            + p["agent_share_start"])


def start_training_share(p: Mapping[str, Array],
                         fleet: Mapping[str, Array] | None = None) -> Array:
    """Share of start-year AI electricity used for training: ``training_share_start``, at
    most the share of the busy fleet that generative requests leave (busy energy is shared in
    proportion to peak work, so a share of peak work is a share of AI electricity). A sample
    whose share is more than that has no start state (``infeasible_start``,
    "training_above_remainder"); the bound only keeps its first guess finite. ``fleet`` as
    in ``start_ai_power``."""
    demanded, generative_peak = start_peak_work(p, fleet)
    others = p["recommendation_share_start"] + p["agent_share_start"]
    return np.minimum(p["training_share_start"], 1.0 - generative_peak / demanded - others)


def initial_state(p: Mapping[str, Array]) -> dict[str, Array]:
    """The state on 1 January of the start year, from parameters and calibration quantities."""
    share = p["request_share_start"]
    reasoning = p["tokens_per_request"][REASONING] * 1.0
    _, _, generative_peak, _ = demand.ai_work(p["requests_start"], share, reasoning, 1.0, p,
                                    0.0 * p["year_length"])
    other = p["other_work_start"] * 1.0
    training = p["training_work_start"] * 1.0
    recommendation = p["recommendation_work_start"] * 1.0
    agent = p["agent_work_start"] * 1.0
    demanded = demand.peak_work(generative_peak, other + recommendation + agent, training, p)
    state = {
        "requests": p["requests_start"],
        "training_demand": training,
        "other_inference_demand": other,
        "recommendation_demand": recommendation,
        "agent_demand": agent,
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
        "conventional_work": p["conventional_work_start"] * 1.0,
        "operating_capacity": p["operating_capacity_start"],
        "data_centres": p["data_centres_start"] * 1.0,
        "onsite_pipeline": 0.0 * p["operating_capacity_start"],
        "onsite_capacity": 0.0 * p["operating_capacity_start"],
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
    # by siting unit: operating capacity where the start year's load is, the pipeline where
    # the published construction is; and the unit responses of the start-year stocks
    state["unit_capacity"] = p["operating_capacity_start"] * p["unit_start_share"]
    state["unit_pipeline"] = p["construction_pipeline_start"] * p["unit_siting_share"]
    state["free_pipeline"] = np.ones_like(p["construction_pipeline_start"])
    state["free_capacity_from_pipeline"] = np.zeros_like(p["construction_pipeline_start"])
    state["free_capacity"] = np.ones_like(p["construction_pipeline_start"])
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
    utilisation (an input) says how busy the installed base is; training, recommendation and
    agent work take their shares of that busy capability, generative inference what its
    requests need, and the unattributed AI work the rest.
    Conventional work takes the rest of the start-year total. A sample whose inputs admit no
    start state (``infeasible_start``) gets NaN. The integrator then checks and refines the
    guesses against the totals.
    """
    fleet = initial_fleet(p, SECONDS_PER_YEAR)
    demanded, generative_peak = start_peak_work(p, fleet)
    feasible = ~functools.reduce(np.logical_or, infeasible_start(p, fleet).values())
    training_peak = np.maximum(start_training_share(p, fleet), 0.0) * demanded
    recommendation_peak = p["recommendation_share_start"] * demanded
    agent_peak = p["agent_share_start"] * demanded
    other_peak = np.maximum(demanded - generative_peak - training_peak - recommendation_peak
                            - agent_peak, 0.0 * demanded)
    conventional_it = ((p["facility_energy_start"] - start_ai_power(p, fleet))
                       / p["conventional_pue_start"])
    operating = p["facility_energy_start"] / p["load_factor_start"]
    return {
        "requests_start": p["requests_per_day_start"] * 1.0,
        "training_work_start": training_peak * p["training_flop_utilisation"],
        "other_work_start": np.where(feasible,
                                     other_peak * p["other_inference_flop_utilisation"], np.nan),
        "recommendation_work_start": recommendation_peak * p["other_inference_flop_utilisation"],
        "agent_work_start": agent_peak * p["other_inference_flop_utilisation"],
        "conventional_work_start": np.where(feasible, conventional_it, np.nan),
        "operating_capacity_start": operating,
    }
