"""Siting: where new data-centre capacity is built, state by state, within grid regions.

Developers want to start capacity (``buildout.wanted_starts``); that national want is split
among the states by their shares of the published construction pipeline. Each state
connects what it wants within its own limit (a state moratorium is a limit of zero), and the
states of a grid region share that region's limit pro rata. Of what a state could not
connect, the scenario's relocation share moves to states that still have room (in proportion
to their pipeline shares, within their own and their region's limits); of the rest, the
on-site share is built with its own gas generation in the state; what remains is not built
in the US.

Arrays are (states, samples) or (grid regions, samples); the membership of states in grid
regions (``index``: each state's grid region) is structure, the shares and limits are
inputs. Written with elementwise numpy only, so the tracer follows it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy
import numpy as np


def region_limits(national_limit, share, given, value):
    """Interconnection limit of each grid region, W/s: its own where the scenario gives one,
    else its share of the national limit."""
    return given * value + (1.0 - given) * national_limit * share


def state_limits(region_limit, index: Sequence[int], given, value):
    """Interconnection limit of each state, W/s: its own where the scenario gives one, else
    its grid region's."""
    inherited = np.stack([region_limit[g] for g in index])
    return given * value + (1.0 - given) * inherited


def by_region(values, index: Sequence[int], regions: int):
    """Sum of a (states, samples) array over the states of each grid region."""
    rows = []
    for g in range(regions):
        total = 0.0 * values[0]
        for s in range(len(index)):
            if index[s] == g:
                total = total + values[s]
        rows.append(total)
    return np.stack(rows)


def _pro_rata(asked, room):
    """The share of ``asked`` that fits in ``room``: 1 when it all fits (nothing asked
    included); the ratio, whose divisor is then above zero, where it does not."""
    with numpy.errstate(divide="ignore", invalid="ignore"):  # the branch not taken
        return np.where(asked > room, room / np.maximum(asked, room), 1.0)


def connect(wanted, limit, region_limit, index: Sequence[int]):
    """What each state connects of what it ``wanted``, and what it cannot: within its own
    limit, then scaled so its grid region stays within the region's limit. Returns two
    (states, samples) arrays; the second is exactly zero where everything connects (it is
    built from what exceeds a limit, never as a difference of nearly equal totals)."""
    excess = np.maximum(wanted - limit, 0.0 * limit)
    allowed = wanted - excess
    fit = _pro_rata(by_region(allowed, index, len(region_limit)), region_limit)
    state_fit = np.stack([fit[g] for g in index])
    return allowed * state_fit, excess + allowed * (1.0 - state_fit)


def site_starts(wanted, siting_share, state_limit, region_limit, index: Sequence[int],
                relocation_share, onsite_share):
    """Construction starts by state, W/s: (grid-connected, on site, not built in the US).

    ``wanted`` is the national want (samples,); each state asks for its pipeline share of it.
    What moves goes to the grid regions in proportion to the room they have left (so more
    wanted never connects less), and within a region to its states with room, by pipeline
    share, within each state's own room.
    """
    regions = len(region_limit)
    asked = wanted * siting_share
    first, blocked = connect(asked, state_limit, region_limit, index)
    region_room = np.maximum(region_limit - by_region(first, index, regions),
                             0.0 * region_limit)
    state_room = np.maximum(state_limit - first, 0.0 * first)
    total_room = region_room.sum(axis=0)
    moving = relocation_share * blocked.sum(axis=0)
    placed = np.minimum(moving, total_room)
    to_region = region_room * _pro_rata(total_room, placed)
    open_share = siting_share * (state_room > 0.0)
    region_open = by_region(open_share, index, regions)
    with numpy.errstate(divide="ignore", invalid="ignore"):  # the branch not taken
        split = np.where(np.stack([region_open[g] for g in index]) > 0.0,
                         open_share / np.stack([region_open[g] for g in index]), 0.0)
    to_state = np.stack([to_region[g] for g in index]) * split
    second = np.minimum(to_state, state_room)
    onsite = onsite_share * (1.0 - relocation_share) * blocked
    # what is not built, from its parts (exactly zero where nothing is left over): what does
    # not move and is not built on site, what moves beyond the room left, and what a region
    # gives a state beyond the state's own room
    not_built = ((1.0 - onsite_share) * (1.0 - relocation_share) * blocked.sum(axis=0)
                 + np.maximum(moving - total_room, 0.0 * moving)
                 + np.maximum(to_state - state_room, 0.0 * state_room).sum(axis=0))
    return first + second, onsite, not_built
