"""Parameters that change over time: a value that holds from 1 January of given years.

A scenario may give any parameter that the equations read while the run advances a schedule
(``key = { value = "15 GW/yr", schedule = { 2028 = "0 GW/yr", 2031 = "10 GW/yr" } }``): the
value holds through the held start year and until the first scheduled year; each scheduled
value holds from 1 January of its year until the next. With ``ramp = true`` the value moves
linearly instead, from the value at the previous point (the given value at the end of the
held start year) to each scheduled value on 1 January of its year, and holds after the last.

In the model's inputs a schedule is three arrays beside the parameter's own (whose value
stays the value before the first point, the one an ensemble draws):

- ``NAME@times`` (points, [workloads,] samples): when each point takes effect, s since
  1 January of the start year;
- ``NAME@values`` (points, [workloads,] samples): the values, in the units the equations use;
- ``NAME@ramp`` ([workloads,] samples): 1 to interpolate, 0 for steps.

Every schedule has ``POINTS`` points (fewer are padded by repeating the last point, which
changes nothing), so a compiled engine takes the points as inputs: changing a schedule's
years or values, or its number of points, never recompiles; scheduling another parameter
does (once per set of scheduled parameters).

``dynamics.rates`` reads its parameters through :func:`at_time`, which gives each scheduled
parameter's value at the time of the call; everything else passes through unchanged. A
growth rate that the equations apply in closed form (``value * exp(rate * time)``) reads
:func:`trend_rate` instead: the mean rate since the held start year, so that the closed form
equals the integral of the scheduled rate. The functions use only numpy calls that the
tracer (``projection.model.trace``) and ``jax.numpy`` (``projection.model.xla``) follow.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

POINTS = 8
"""Points every schedule has in the model's inputs (the most a scenario may give)."""
TIMES, VALUES, RAMP = "@times", "@values", "@ramp"
"""Suffixes of the input arrays of a scheduled parameter ``NAME``: ``NAME@times`` ..."""


def scheduled_names(p: Mapping[str, Any]) -> list[str]:
    """The parameters of ``p`` that have a schedule (without reading any value)."""
    return [k[: -len(TIMES)] for k in p if k.endswith(TIMES)]


def arrays(base: np.ndarray, points: list[list[tuple[float, float]]], ramp: list[bool],
           start_offset: float) -> dict[str, np.ndarray]:
    """The input arrays of one parameter's schedule for a one-sample run.

    ``base`` is the parameter's model value, shape (1,) or (workloads, 1); ``points`` gives,
    per row of ``base`` (one row for a plain parameter), its (time since 1 January of the
    start year in s, model value) points in increasing time, and ``ramp`` each row's flag.
    A row without points holds its value from ``start_offset`` (the end of the held start
    year) on, as it would unscheduled.
    """
    rows = base.reshape(-1)
    times = np.empty((POINTS, rows.size))
    values = np.empty((POINTS, rows.size))
    for r, row in enumerate(points):
        row = row or [(start_offset, float(rows[r]))]
        padded = row + [row[-1]] * (POINTS - len(row))
        times[:, r] = [t for t, _ in padded]
        values[:, r] = [v for _, v in padded]
    shape = (POINTS, *base.shape)
    return {TIMES: times.reshape(shape), VALUES: values.reshape(shape),
            RAMP: np.array(ramp, dtype=float).reshape(base.shape)}


def _after(time, moment):
    """1.0 from ``moment`` on, else 0.0. Written without a branch (a comparison times 1.0),
    as is everything here that changes with time: the compiled engine keeps its loop body
    free of branches, and numba follows a long chain of them only so deep."""
    return (time >= moment) * 1.0


def _points(base, times, values, held_end):
    """Per point k: (start of its segment, its time, the change of value at it, the
    reciprocal of the segment's width or 1 where the width is zero): what depends on the
    parameters alone."""
    out = []
    before_t, before_v = held_end, base
    for k in range(POINTS):
        width = times[k] - before_t
        inverse = 1.0 / np.where(width > 0.0, width, 1.0)
        out.append((before_t, times[k], values[k] - before_v, inverse))
        before_t, before_v = times[k], values[k]
    return out


def value_at(p: Mapping[str, Any], name: str, time):
    """The value of parameter ``name`` at ``time`` (s since 1 January of the start year):
    with steps, each point's value from its time on; with a ramp, a linear move from the
    previous point (the given value at the end of the held start year) to each point."""
    base, times, values = p[name], p[name + TIMES], p[name + VALUES]
    steps = base
    ramps = base
    for start, end, change, inverse in _points(base, times, values, p["year_length"]):
        reached = _after(time, end)
        inside = _after(time, start) * (1.0 - reached) * (time - start) * inverse
        steps = steps + change * reached
        ramps = ramps + change * (reached + inside)
    return steps + (p[name + RAMP] > 0.5) * 1.0 * (ramps - steps)


def mean_rate(p: Mapping[str, Any], name: str, time):
    """The mean of parameter ``name`` from the end of the held start year to ``time``: the
    rate that a closed-form trend ``exp(rate * (time - end of start year))`` needs to follow
    a scheduled rate (0 through the start year, where the trend's time is zero)."""
    base, times, values = p[name], p[name + TIMES], p[name + VALUES]
    held_end = p["year_length"]
    ramp = (p[name + RAMP] > 0.5) * 1.0
    total = 0.0 * base
    level = base
    for start, end, change, inverse in _points(base, times, values, held_end):
        reached = _after(time, end)
        span = reached * (end - start) + _after(time, start) * (1.0 - reached) * (time - start)
        # the level over the segment, plus half the change across it where it ramps
        total = total + level * span + ramp * 0.5 * change * inverse * span * span
        level = level + change
    total = total + _after(time, times[POINTS - 1]) * (time - times[POINTS - 1]) * level
    since = time - held_end
    held = (since <= 0.0) * 1.0
    return total / (since + held * (held_end - since))


class Timed(Mapping[str, Any]):
    """Parameters at one time: a scheduled parameter's value at that time, every other
    value as given. ``trend`` holds the mean rates that ``trend_rate`` gives, computed by
    ``mean`` (this module's ``mean_rate``, or its copy on ``jax.numpy`` in model/xla.py)."""

    def __init__(self, base: Mapping[str, Any], values: dict[str, Any], time, mean) -> None:
        self.base, self.values, self.time, self._mean = base, values, time, mean
        self.trend: dict[str, Any] = {}

    def __getitem__(self, name: str):
        found = self.values.get(name)
        return self.base[name] if found is None else found

    def __iter__(self) -> Iterator[str]:
        return iter(self.base)

    def __len__(self) -> int:
        return len(self.base)

    def __contains__(self, name: object) -> bool:
        return name in self.values or name in self.base


def at_time(p: Mapping[str, Any], time) -> Mapping[str, Any]:
    """``p`` with every scheduled parameter at its value at ``time`` (s since 1 January of
    the start year); ``p`` itself when nothing is scheduled."""
    names = scheduled_names(p)
    if not names:
        return p
    return Timed(p, {name: value_at(p, name, time) for name in names}, time, mean_rate)


def trend_rate(p: Mapping[str, Any], name: str):
    """The rate to use in a closed-form trend over the time since the held start year: the
    mean of a scheduled rate since then, else the parameter's value."""
    if not isinstance(p, Timed) or name not in p.values:
        return p[name]
    if name not in p.trend:
        p.trend[name] = p._mean(p.base, name, p.time)
    return p.trend[name]


def start_value(p: Mapping[str, Any], name: str):
    """The parameter's value in the held start year (before any scheduled point)."""
    return p.base[name] if isinstance(p, Timed) else p[name]
