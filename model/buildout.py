"""Build-out: construction pipeline, operating capacity, retirements and the centre count.

Installed load is served first: accelerators are shipped only into capacity that can carry
them, and conventional load keeps the capacity it has; only new load goes unserved when
capacity binds. The number of centres is a co-flow of capacity: new centres enter at the size
of new builds, retiring centres leave at the fleet's average size.
"""

from __future__ import annotations

import numpy as np


def capacity_limit(operating_capacity, max_utilisation):
    """Highest average facility power that operating capacity can carry, W."""
    return operating_capacity * max_utilisation


def served_conventional(conventional_demand, limit, ai_full_load):
    """Conventional facility power served, W: demand, within the capacity left beside the
    accelerators' full-load power."""
    room = np.maximum(limit - ai_full_load, 0.0 * limit)
    return np.minimum(conventional_demand, room)


def demand_trend(demand, smoothed_demand, smoothing_time):
    """Fractional growth rate of demand that developers perceive, 1/s (SD 'TREND')."""
    return (demand - smoothed_demand) / (smoothed_demand * smoothing_time)


def desired_capacity(demand, trend, construction_time, load_factor):
    """Capacity developers want, W: demand expected when construction ends, at planning load."""
    return demand * np.exp(trend * construction_time) / load_factor


def capacity_retirements(operating_capacity, facility_lifetime):
    """Capacity retired, W/s."""
    return operating_capacity / facility_lifetime


def wanted_starts(desired, operating_capacity, pipeline, retirements, adjustment_time):
    """Capacity developers would start, W/s, without a grid limit: replace retirements and
    close the gap between desired and existing or building capacity."""
    wanted = retirements + (desired - operating_capacity - pipeline) / adjustment_time
    return np.maximum(wanted, 0.0 * wanted)


def construction_completions(pipeline, construction_time):
    """Capacity entering operation, W/s (a first-order construction delay)."""
    return pipeline / construction_time


def new_centre_size(new_centre_size_start, new_centre_size_growth, time):
    """Average capacity of a data centre completed at ``time``, W."""
    return new_centre_size_start * np.exp(new_centre_size_growth * time)


def centre_count_change(data_centres, completions, new_size, facility_lifetime):
    """Change of the number of centres, 1/s: completions enter at the size of new builds,
    centres retire at the rate capacity does (so a retiring centre has the average size)."""
    return completions / new_size - data_centres / facility_lifetime
