"""Siting: where new data-centre capacity is built, state by state, within grid regions.

Developers want to start capacity (``buildout.wanted_starts``); that national want is split
among the states by their shares of the published construction pipeline. Each state
connects what it wants within its own limit (a state moratorium is a limit of zero), and the
states of a grid region share that region's limit pro rata. Of what a state could not
connect, the scenario's relocation share moves to states that still have room (in proportion
to their pipeline shares, within their own and their region's limits); of the rest, the
on-site share is built with its own gas generation in the state; what remains is not built
in the US.

Arrays are (units, samples) or (grid regions, samples), where a unit is a grid region's
states without values of their own (the first units, one per grid region, in order) or one
state with its own (``regions.units``); which grid region such a state's unit belongs to is an
input (``unit_region``, split units x regions x samples, zero or one), like the shares and
limits. Written with elementwise numpy only, so the tracer follows it.
"""

from __future__ import annotations

import numpy
import numpy as np


def region_limits(national_limit, share, given, value):
    """Interconnection limit of each grid region, W/s: its own where the scenario gives one,
    else its share of the national limit."""
    return given * value + (1.0 - given) * national_limit * share


def of_region(region_values, membership):
    """Each unit's value of its grid region: (units, samples) from (regions, samples). The
    first units are the grid regions themselves; ``membership`` (split units, regions,
    samples; None when there are none) places the units of states with values of their own."""
    rows = [region_values[g] for g in range(region_values.shape[0])]
    for u in range(0 if membership is None else membership.shape[0]):
        total = membership[u, 0] * region_values[0]
        for g in range(1, region_values.shape[0]):
            total = total + membership[u, g] * region_values[g]
        rows.append(total)
    return np.stack(rows)


def by_region(values, membership, regions: int):
    """Sum over the units of each grid region: (regions, samples) from (units, samples)."""
    rows = []
    for g in range(regions):
        total = values[g]
        for u in range(0 if membership is None else membership.shape[0]):
            total = total + membership[u, g] * values[regions + u]
        rows.append(total)
    return np.stack(rows)


def unit_limits(region_limit, membership, given, value):
    """Interconnection limit of each unit, W/s: a state's own where the scenario gives one,
    else its grid region's."""
    return given * value + (1.0 - given) * of_region(region_limit, membership)


def _pro_rata(asked, room):
    """The share of ``asked`` that fits in ``room``: 1 when it all fits (nothing asked
    included); the ratio, whose divisor is then above zero, where it does not."""
    with numpy.errstate(divide="ignore", invalid="ignore"):  # the branch not taken
        return np.where(asked > room, room / np.maximum(asked, room), 1.0)


def connect(wanted, limit, region_limit, membership):
    """What each unit connects of what it ``wanted``, and what it cannot: within its own
    limit, then scaled so its grid region stays within the region's limit. Returns two
    (units, samples) arrays; the second is exactly zero where everything connects (it is
    built from what exceeds a limit, never as a difference of nearly equal totals)."""
    excess = np.maximum(wanted - limit, 0.0 * limit)
    allowed = wanted - excess
    fit = of_region(_pro_rata(by_region(allowed, membership, len(region_limit)),
                              region_limit), membership)
    return allowed * fit, excess + allowed * (1.0 - fit)


def site_starts(wanted, siting_share, unit_limit, region_limit, membership, relocation_share,
                onsite_share):
    """Construction starts by unit, W/s: (grid-connected, on site, not built in the US).

    ``wanted`` is the national want (samples,); each unit asks for its pipeline share of it.
    What moves goes to the grid regions in proportion to the room they have left (so more
    wanted never connects less), and within a region to its units with room, by pipeline
    share, within each unit's own room.
    """
    asked = wanted * siting_share
    first, blocked = connect(asked, unit_limit, region_limit, membership)
    regions = len(region_limit)
    region_room = np.maximum(region_limit - by_region(first, membership, regions),
                             0.0 * region_limit)
    unit_room = np.maximum(unit_limit - first, 0.0 * first)
    total_room = region_room.sum(axis=0)
    moving = relocation_share * blocked.sum(axis=0)
    placed = np.minimum(moving, total_room)
    to_region = region_room * _pro_rata(total_room, placed)
    open_share = siting_share * (unit_room > 0.0)
    region_open = of_region(by_region(open_share, membership, regions), membership)
    with numpy.errstate(divide="ignore", invalid="ignore"):  # the branch not taken
        split = np.where(region_open > 0.0,
                         open_share / np.where(region_open > 0.0, region_open, 1.0), 0.0)
    to_unit = of_region(to_region, membership) * split
    second = np.minimum(to_unit, unit_room)
    onsite = onsite_share * (1.0 - relocation_share) * blocked
    # what is not built, from its parts (exactly zero where nothing is left over): what does
    # not move and is not built on site, what moves beyond the room left, and what a region
    # gives a unit beyond the unit's own room
    not_built = ((1.0 - onsite_share) * (1.0 - relocation_share) * blocked.sum(axis=0)
                 + np.maximum(moving - total_room, 0.0 * moving)
                 + np.maximum(to_unit - unit_room, 0.0 * unit_room).sum(axis=0))
    return first + second, onsite, not_built
