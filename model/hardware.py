"""Hardware efficiency: an ageing chain of accelerator vintages, and training compute.

Accelerator capacity is counted in units of work: one unit serves the work that drew 1 W on
the average start-year fleet. Each cohort carries a co-flow, its capacity times its energy
intensity (energy per unit of work relative to the start-year fleet), so the fleet's intensity is
a capacity-weighted average that lags the frontier.
"""

from __future__ import annotations

import numpy as np

ACCELERATOR_COHORTS = 6
"""Number of age cohorts in the ageing chain (a structural resolution, not data)."""


def cohort_ages(lifetime):
    """Mean age of each cohort, s, shape (cohorts, samples)."""
    position = (np.arange(ACCELERATOR_COHORTS) + 0.5) / ACCELERATOR_COHORTS
    return position[:, None] * lifetime


def initial_cohorts(needed_work, lifetime, historical_growth, frontier_efficiency_gain):
    """The start-year fleet: capacity and intensity stock per cohort, and the frontier intensity.

    Older cohorts are smaller (the fleet grew at ``historical_growth``) and less efficient (each
    was bought at the frontier of its year); intensities are normalised so the fleet's average
    is 1, which puts the start-year frontier below 1.
    """
    ages = cohort_ages(lifetime)
    weights = np.exp(-historical_growth * ages)
    relative_intensity = np.exp(frontier_efficiency_gain * ages)
    weights = weights / weights.sum(axis=0)
    mean_intensity = (weights * relative_intensity).sum(axis=0)
    capacity = needed_work * weights
    intensity_stock = capacity * relative_intensity / mean_intensity
    frontier_start = 1.0 / mean_intensity
    return capacity, intensity_stock, frontier_start


def frontier_intensity(frontier_intensity_start, frontier_efficiency_gain, time):
    """Energy per unit of work of newly installed accelerators, relative to the start-year fleet."""
    return frontier_intensity_start * np.exp(-frontier_efficiency_gain * time)


def fleet_intensity(installed_capacity, intensity_stock):
    """Energy per unit of work of the installed fleet, relative to the start-year fleet.

    ``installed_capacity`` is the fleet's total (the sum over cohorts), W.
    """
    return intensity_stock.sum(axis=0) / installed_capacity


def ageing_outflow(stock, lifetime):
    """Flow out of each cohort into the next (the last one retires), unit/s."""
    return stock * (ACCELERATOR_COHORTS / lifetime)


def accelerator_additions(needed_work, installed_work, retirements, procurement_time):
    """New accelerator capacity, W/s: replaces retirements and closes any shortfall."""
    shortfall = np.maximum(needed_work - installed_work, 0.0 * needed_work)
    return retirements + shortfall / procurement_time


def ageing_chain(stock, outflow, inflow):
    """Rate of change of every cohort: inflow to the first, each cohort ages into the next."""
    incoming = np.concatenate([inflow[None, ...], outflow[:-1]], axis=0)
    return incoming - outflow


def training_work(training_work_start, training_compute_growth, time):
    """Training work at start-year fleet efficiency, W: grows with aggregate training compute."""
    return training_work_start * np.exp(training_compute_growth * time)
