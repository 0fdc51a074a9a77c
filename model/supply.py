"""The supply side of the coupled system: build-out and where it is sited, on-site
generation, water and carbon (``supply_side``, called by ``dynamics.rates``)."""

from __future__ import annotations

import numpy as np

from . import buildout, demand, hardware, impacts, schedules, siting
from .parameters import MARGINAL_SOURCES, SOURCES

MARGINAL_MASK = np.array([[1.0 if source in MARGINAL_SOURCES else 0.0] for source in SOURCES])
"""(sources, 1): one for the sources at the margin (``parameters.MARGINAL_SOURCES``)."""


def supply_side(state, p, time, moving, *, demanded, deferred_work, new_power_per_capability,
                ai_pue, ai_facility, ai_full_load, ai_it, conventional_demand, conventional,
                limit):
    """Build-out, on-site generation, water and carbon: derivatives of the supply-side stocks,
    their flows, and the grid's intensities (auxiliaries)."""
    # deferred AI work is valued at what the accelerators to serve it would draw: the newest
    # vintage (what shipments would have brought), run at the planned utilisation, idle draw,
    # host overhead and cooling included
    deferred_ai = impacts.facility_power(
        hardware.power_to_serve(deferred_work, new_power_per_capability,
                                p["idle_power_fraction"], p["target_utilisation"],
                                p["host_overhead"]), ai_pue)
    operating = state["operating_capacity"]
    deferred_conventional = np.maximum(
        conventional_demand - np.maximum(limit - ai_full_load, 0.0 * limit), 0.0 * limit)
    facility_demand = ai_facility + conventional_demand + deferred_ai
    delivered = ai_facility + conventional
    trend = buildout.demand_trend(facility_demand, state["smoothed_demand"],
                                  p["demand_smoothing_time"])
    desired_capacity = buildout.desired_capacity(facility_demand, trend, p["construction_time"],
                                                 p["load_factor_start"])
    pipeline = state["construction_pipeline"]
    retirements = moving * buildout.capacity_retirements(operating, p["facility_lifetime"])
    wanted = moving * buildout.wanted_starts(desired_capacity, operating, pipeline, retirements,
                                             p["start_adjustment_time"])
    # where it is built: each state's share of the pipeline, within its own and its grid
    # region's connections; what cannot connect moves, is built on site, or is not built
    membership = p["unit_region"] if "unit_region" in p else None
    region_limit = siting.region_limits(
        p["interconnection_limit"], p["region_limit_share"], p["region_limit_given"],
        p["region_interconnection_limit"])
    unit_limit = siting.unit_limits(region_limit, membership, p["unit_limit_given"],
                                    p["unit_interconnection_limit"])
    unit_grid, unit_onsite, not_built = siting.site_starts(
        wanted, p["unit_siting_share"], unit_limit, region_limit, membership,
        p["relocation_share"], p["onsite_generation_share"])
    unit_starts = unit_grid + unit_onsite
    onsite = unit_onsite.sum(axis=0)
    starts = unit_starts.sum(axis=0)
    completions = moving * buildout.construction_completions(pipeline, p["construction_time"])
    onsite_completions = moving * buildout.construction_completions(state["onsite_pipeline"],
                                                                    p["construction_time"])
    onsite_retirements = moving * buildout.capacity_retirements(state["onsite_capacity"],
                                                                p["facility_lifetime"])
    new_size = buildout.new_centre_size(p["new_centre_size_start"],
                                        schedules.trend_rate(p, "new_centre_size_growth"), time)
    # the load behind the meter is the on-site share of operating capacity, at the fleet's load
    behind_meter = delivered * state["onsite_capacity"] / operating
    from_grid = delivered - behind_meter
    # each unit carries the fleet's load in proportion to its operating capacity
    unit_capacity = state["unit_capacity"]
    weight = unit_capacity / unit_capacity.sum(axis=0)
    unit_completions = buildout.construction_completions(state["unit_pipeline"],
                                                         p["construction_time"])

    # --- facility, water, carbon -----------------------------------------------------------------
    conventional_it = conventional / state["conventional_pue"]
    wue_trend = impacts.trend(1.0, schedules.trend_rate(p, "onsite_wue_change"), time)
    grid_mix = state["grid_mix"]
    water_change = impacts.power_water_intensity(
        grid_mix, p["source_water_intensity"]) / p["power_water_start"]
    unit_power_water = p["unit_water_intensity"] * water_change
    power_water = (weight * unit_power_water).sum(axis=0)
    # each state's own mix, moving as the national mix moves from its start-year intensity
    location_change = impacts.location_based_intensity(
        grid_mix, p["source_emission_rate"]) / p["location_intensity_start"]
    unit_location = p["unit_emission_rate"] * location_change
    location = (weight * unit_location).sum(axis=0)
    lifecycle = (weight * p["unit_lifecycle_intensity"]).sum(axis=0) * (
        impacts.lifecycle_intensity(grid_mix, p["source_carbon_intensity"])
        / p["lifecycle_intensity_start"])
    marginal = impacts.marginal_intensity(grid_mix, p["source_emission_rate"], MARGINAL_MASK)
    contracted = impacts.contracted_share(
        p["contracted_share_start"] * p["facility_energy_start"], from_grid,
        state["clean_power_share"])
    market = impacts.market_based_intensity(location, contracted)
    new_load = moving * impacts.new_load_power(delivered, p["facility_energy_start"])
    gas = p["source_emission_rate"][SOURCES.index("natural_gas")]
    gas_lifecycle = p["source_carbon_intensity"][SOURCES.index("natural_gas")]
    gas_water = p["source_water_intensity"][SOURCES.index("natural_gas")]
    behind_meter_emissions = impacts.emissions(behind_meter, gas)
    behind_meter_water = impacts.indirect_water(behind_meter, gas_water)
    unit_from_grid = from_grid * weight
    unit_emissions = (impacts.emissions(unit_from_grid, unit_location)
                       + behind_meter_emissions * weight)
    unit_market = (impacts.emissions(
        unit_from_grid, impacts.market_based_intensity(unit_location, contracted))
                    + behind_meter_emissions * weight)
    onsite_water = ((impacts.onsite_water(ai_it, p["ai_wue"])
                     + impacts.onsite_water(conventional_it, p["conventional_wue"])) * wue_trend)
    unit_indirect = (impacts.indirect_water(unit_from_grid, unit_power_water)
                      + behind_meter_water * weight)
    # what results needs to share a unit's flows among its states exactly: each national
    # flow per watt of capacity, times the responses of start-year capacity and pipeline
    total_capacity = unit_capacity.sum(axis=0)
    per_watt = {"capacity": state["free_capacity"] / total_capacity,
                "pipeline": state["free_capacity_from_pipeline"] / total_capacity}
    split = {
        "energy": delivered, "onsite_water": onsite_water,
        "grid": from_grid * location_change,
        "market": from_grid * location_change * (1.0 - contracted),
        "water": from_grid * water_change,
        "behind_meter_emissions": behind_meter_emissions,
        "behind_meter_water": behind_meter_water}
    derivatives = {
        "operating_capacity": completions - retirements,
        "construction_pipeline": starts - completions,
        "onsite_pipeline": onsite - onsite_completions,
        "onsite_capacity": onsite_completions - onsite_retirements,
        "smoothed_demand": demand.first_order_adjustment(
            state["smoothed_demand"], facility_demand, p["demand_smoothing_time"]),
        "data_centres": buildout.centre_count_change(state["data_centres"], completions,
                                                     new_size, p["facility_lifetime"]),
        "clean_power_share": demand.first_order_adjustment(
            state["clean_power_share"], p["clean_power_share_target"],
            p["clean_power_adjustment_time"]),
        "grid_mix": demand.first_order_adjustment(grid_mix, p["grid_share_target"],
                                                  p["grid_mix_adjustment_time"]),
        "unit_pipeline": unit_starts - unit_completions,
        "unit_capacity": unit_completions - buildout.capacity_retirements(
            unit_capacity, p["facility_lifetime"]),
        # what start-year stocks leave with nothing started since: a linear response
        "free_pipeline": -state["free_pipeline"] / p["construction_time"],
        "free_capacity_from_pipeline": state["free_pipeline"] / p["construction_time"]
        - state["free_capacity_from_pipeline"] / p["facility_lifetime"],
        "free_capacity": -state["free_capacity"] / p["facility_lifetime"],
    }
    flows = {
        "deferred_energy": deferred_ai + deferred_conventional,
        "grid_shortfall": not_built,
        "it_energy": ai_it + conventional_it,
        "onsite_water": (onsite_water * weight).sum(axis=0),
        "indirect_water": unit_indirect.sum(axis=0),
        "emissions": unit_emissions.sum(axis=0),
        "emissions_market_based": unit_market.sum(axis=0),
        "emissions_lifecycle": impacts.emissions(from_grid, lifecycle)
        + impacts.emissions(behind_meter, gas_lifecycle),
        "emissions_new_load": impacts.emissions(new_load, marginal),
        "new_load": new_load,
        "behind_the_meter_energy": behind_meter,
        "behind_the_meter_emissions": behind_meter_emissions,
        "behind_the_meter_water": behind_meter_water,
        "construction_starts": starts,
        "construction_completions": completions,
        "capacity_retirements": retirements,
        "unit_energy": delivered * weight,
        "unit_emissions": unit_emissions,
        "unit_emissions_market_based": unit_market,
        "unit_onsite_water": onsite_water * weight,
        "unit_indirect_water": unit_indirect,
        **{f"split_{name}_{x}": value * per_watt[x] for name, value in split.items()
           for x in per_watt},
    }
    intensities = {"grid_intensity": location, "market_grid_intensity": market,
                   "lifecycle_grid_intensity": lifecycle, "marginal_grid_intensity": marginal,
                   "contracted_share": contracted, "power_water_intensity": power_water}
    return derivatives, flows, intensities

