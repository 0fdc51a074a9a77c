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


def location_based_intensity(grid_mix, source_carbon_intensity):
    """Carbon intensity of the generation mix where data centres draw power (location-based),
    kg/J: the mix average of each source's life-cycle intensity."""
    return mix_average(grid_mix, source_carbon_intensity)


def power_water_intensity(grid_mix, source_water_intensity):
    """Water consumed by power generation per unit of electricity from the same mix, m3/J."""
    return mix_average(grid_mix, source_water_intensity)


def market_based_intensity(location_intensity, clean_power_share):
    """Carbon intensity after additional clean-power contracts (market-based), kg/J: the
    contracted share counts as zero-carbon."""
    return location_intensity * (1.0 - clean_power_share)


def emissions(facility_power, grid_intensity):
    """CO2e emissions, kg/s."""
    return facility_power * grid_intensity
