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


def data_centre_grid_intensity(us_grid_intensity, us_grid_intensity_start, dc_grid_intensity_start,
                               clean_power_share):
    """Carbon intensity of data-centre electricity, kg/J.

    The US average keeps the data-centre premium of the start year (dc / us intensity) and is cut by
    the share of additional clean power contracted after the start year.
    """
    premium = dc_grid_intensity_start / us_grid_intensity_start
    return us_grid_intensity * premium * (1.0 - clean_power_share)


def emissions(facility_power, grid_intensity):
    """CO2e emissions, kg/s."""
    return facility_power * grid_intensity
