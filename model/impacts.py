"""Facility overhead, water, carbon and the context series for shares and equivalents."""

from __future__ import annotations

import numpy as np


def trend(value_start, yearly_change, time):
    """A quantity that changes at a constant continuous rate from its start-year value."""
    return value_start * np.exp(yearly_change * time)


def trend_integral(value_start, yearly_change, time_from, time_to):
    """Exact integral of ``trend`` from ``time_from`` to ``time_to`` (value x s)."""
    rate = yearly_change
    span = time_to - time_from
    exponent = rate * span
    small = np.abs(exponent) < 1e-12
    growth = np.where(small, span, np.expm1(exponent) / np.where(small, 1.0, rate))
    return value_start * np.exp(rate * time_from) * growth


def facility_power(it_power, pue):
    """Facility power, W: IT power x PUE."""
    return it_power * pue


def onsite_water(it_power, onsite_wue):
    """On-site water consumption, m3/s: site WUE x IT energy."""
    return it_power * onsite_wue


def indirect_water(facility_power, power_water_intensity):
    """Water consumed generating the electricity, m3/s."""
    return facility_power * power_water_intensity


def mix_average(grid_mix, per_source):
    """Generation-weighted average of a per-source intensity over the mix (sources, samples):
    sum of share x intensity over sources, divided by the sum of the shares so that the
    weights always sum to one. Same unit as ``per_source`` (kg/J for carbon, m3/J for water).
    """
    return (grid_mix * per_source).sum(axis=0) / grid_mix.sum(axis=0)


def location_based_intensity(grid_mix, source_emission_rate):
    """Carbon intensity of the electricity data centres draw, location-based as the GHG
    Protocol's Scope 2 Guidance defines it, kg/J: the mix average of each source's operational
    (combustion) emission rate."""
    return mix_average(grid_mix, source_emission_rate)


def lifecycle_intensity(grid_mix, source_carbon_intensity):
    """Life-cycle carbon intensity of the same mix, kg/J: the mix average of each source's
    life-cycle emissions (construction, fuel supply and decommissioning included). Its own
    output, not a Scope 2 basis."""
    return mix_average(grid_mix, source_carbon_intensity)


def marginal_intensity(grid_mix, source_emission_rate, margin_mask):
    """Short-run marginal emission rate of load added to the grid, kg/J: the generation-weighted
    operational rate of the sources that follow load (``margin_mask``, (sources, 1): one for
    those sources, zero for the others). Zero where the mix holds none of them (clean
    generation would then serve the added load)."""
    weights = grid_mix * margin_mask
    share = weights.sum(axis=0)
    present = share > 0.0
    rate = (weights * source_emission_rate).sum(axis=0) / np.where(present, share, 1.0)
    return np.where(present, rate, 0.0 * rate)


def contracted_share(contracted_power, delivered_power, additional_share):
    """Share of data-centre electricity matched by clean-power contracts: the contracts in place
    at the start (``contracted_power``, W, a fixed amount, at most all of the electricity
    delivered) plus additional contracts that reach ``additional_share`` of the rest."""
    existing = np.minimum(contracted_power / delivered_power, 1.0)
    return existing + additional_share * (1.0 - existing)


def market_based_intensity(location_intensity, contracted):
    """Carbon intensity after clean-power contracts (market-based), kg/J: the contracted share
    counts as zero-carbon, the rest at the location-based intensity."""
    return location_intensity * (1.0 - contracted)


def new_load_power(delivered_power, start_power):
    """Load added since the start year, W (zero where the load is below its start)."""
    return np.maximum(delivered_power - start_power, 0.0 * start_power)


def power_water_intensity(grid_mix, source_water_intensity):
    """Water consumed by power generation per unit of electricity from the same mix, m3/J."""
    return mix_average(grid_mix, source_water_intensity)


def emissions(facility_power, grid_intensity):
    """Emissions, kg/s: electricity (W) times an intensity (kg/J)."""
    return facility_power * grid_intensity
