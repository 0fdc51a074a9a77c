"""The vectorised integrator: calibrate the start year, then advance every sample at once.

Classical fourth-order Runge-Kutta with a fixed number of sub-steps per year. Stocks are
recorded on 1 January of each year; flows are integrated over each calendar year.
This module runs one block of samples as a pure function (:func:`simulate_block`); each
sample is calibrated and advanced on its own, so a result does not depend on which samples
share its block. ``projection.model.ensemble`` splits large ensembles into blocks and spreads
them over an executor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .dynamics import (
    DEMAND_STOCKS,
    derived_flows,
    first_calibration,
    infeasible_start,
    initial_fleet,
    initial_state,
    rates,
    start_ai_power,
    start_fleet,
    start_training_share,
    with_derived,
)
from .errors import RunError
from .units import SECONDS_PER_YEAR

MAX_CALIBRATION_PASSES = 8
"""Most passes over the start year that refine the calibration (each cuts the miss about
100-fold; four or five are usual)."""
CALIBRATION_STOP = 1e-6
"""A sample stops being refined after the pass that finds every target missed by less than
this (relative); the update that pass makes leaves a miss well below
``CALIBRATION_TOLERANCE``."""
CALIBRATION_TOLERANCE = 1e-6
"""Largest relative miss of a start-year target that a calibrated run accepts."""
OTHER_WORK_FLOOR = 1e-9
"""Least other-AI-inference work, as a share of the peak work the start year needs: when
generative inference and training alone exceed the target, the calibration cannot meet it
and reports the miss rather than a negative workload."""
SECANT_SLOPE_MIN, SECANT_SLOPE_MAX = 0.02, 2.0
"""Bounds on the estimated response of the year's requests to requests on 1 January, which
keep a secant step from running away when the estimate is noisy."""
LAST_STAGE = 1.0 - 1e-9
"""Where in a step its last Runge-Kutta stage is evaluated: a hair before the step's end, so
that a switch on a step boundary (the end of the held start year) takes effect in the next
step and never in the last stage of the step before it."""
BLOCK_SAMPLES = 5_000
"""Samples per block: small enough for the working arrays to stay in the cores' caches,
large enough that numpy's per-call overhead stays small (measured best on 2 cores)."""


class CalibrationError(RunError):
    """The parameters admit no start-year state that meets the start-year targets."""


@dataclass
class RawResult:
    """Plain arrays in the model's layout, (year, [workload or cohort,] sample): stocks and
    auxiliaries on 1 January, flows as calendar-year totals in SI base units x s."""

    years: np.ndarray
    stocks: dict[str, np.ndarray]
    auxiliaries: dict[str, np.ndarray]
    flows: dict[str, np.ndarray]
    parameters: dict[str, np.ndarray]
    calibration_error: np.ndarray
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    """Catalogue outputs (``projection.model.results``) in their file units, laid out
    (year, [workload,] sample); filled instead of the other groups when a run keeps only
    named outputs (``simulate(..., keep=...)``)."""

    def finite_samples(self) -> np.ndarray:
        """True for each sample whose every kept value is finite."""
        ok = np.isfinite(self.calibration_error)
        for group in (self.stocks, self.flows, self.auxiliaries, self.outputs):
            for values in group.values():
                ok &= np.isfinite(values).reshape(-1, values.shape[-1]).all(axis=0)
        return ok


def _rk4_step(state, p, time, dt, with_auxiliaries=False, demand_only=False):
    k1, f1, a1 = rates(state, p, time, with_auxiliaries, demand_only)
    half = 0.5 * dt
    k2, f2, _ = rates({k: state[k] + half * k1[k] for k in state}, p, time + half,
                      demand_only=demand_only)
    k3, f3, _ = rates({k: state[k] + half * k2[k] for k in state}, p, time + half,
                      demand_only=demand_only)
    k4, f4, _ = rates({k: state[k] + dt * k3[k] for k in state}, p, time + dt * LAST_STAGE,
                      demand_only=demand_only)
    sixth = dt / 6.0
    new_state = {k: state[k] + sixth * (k1[k] + 2.0 * (k2[k] + k3[k]) + k4[k]) for k in state}
    flows = {k: sixth * (f1[k] + 2.0 * (f2[k] + f3[k]) + f4[k]) for k in f1}
    return new_state, flows, a1


def _run(p, years: int, substeps: int, record: bool, demand_only: bool = False):
    """Advance ``years`` calendar years with RK4.

    Returns (flow totals, stocks on each 1 January, auxiliaries on each 1 January), each a
    dict of arrays with a leading year axis (stocks and auxiliaries empty unless ``record``).
    """
    state = initial_state(p)
    if demand_only:
        state = {k: state[k] for k in DEMAND_STOCKS}
    dt = SECONDS_PER_YEAR / substeps
    flow_totals: list[dict[str, np.ndarray]] = []
    stocks: list[dict[str, np.ndarray]] = []
    auxiliaries: list[dict[str, np.ndarray]] = []
    for year in range(years):
        totals: dict[str, np.ndarray] = {}
        for sub in range(substeps):
            time = (year * substeps + sub) * dt
            first = record and sub == 0
            if first:
                stocks.append(state)
            state, flows, aux = _rk4_step(state, p, time, dt, first, demand_only)
            if first:
                auxiliaries.append(aux)
            totals = flows if not totals else {k: totals[k] + flows[k] for k in totals}
        flow_totals.append(totals)

    def by_year(rows: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        return {k: np.stack([r[k] for r in rows]) for k in rows[0]} if rows else {}

    return by_year(flow_totals), by_year(stocks), by_year(auxiliaries)


def calibration_targets(p: Mapping[str, np.ndarray],
                        fleet: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """What the start year must total, in J (energy) and requests. AI electricity is not an
    input: it is what the installed base draws at the start utilisation
    (``dynamics.start_ai_power``); conventional load takes the rest of the start-year total.
    ``fleet`` is ``dynamics.initial_fleet(p, SECONDS_PER_YEAR)`` when the caller has it."""
    year = SECONDS_PER_YEAR
    fleet = initial_fleet(p, year) if fleet is None else fleet
    ai = start_ai_power(p, fleet) * year
    return {
        "ai_facility_energy": ai,
        "ai_training_energy": start_training_share(p, fleet) * ai,
        "conventional_facility_energy": p["facility_energy_start"] * year - ai,
        "served_requests": p["requests_per_day_start"] * year,
    }


def _achieved(first_year: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    ai = (first_year["generative_inference_energy"] + first_year["recommendation_energy"]
          + first_year["agent_energy"] + first_year["unattributed_energy"]
          + first_year["ai_training_energy"])
    return {
        "ai_facility_energy": ai,
        "ai_training_energy": first_year["ai_training_energy"],
        "conventional_facility_energy": first_year["conventional_facility_energy"],
        "served_requests": first_year["served_requests"].sum(axis=0),
    }


def _misses(first_year: Mapping[str, np.ndarray], targets: Mapping[str, np.ndarray]):
    """Largest relative miss of a start-year target, per sample (a target of zero counts as
    met when the result is zero too)."""
    achieved = _achieved(first_year)
    misses = []
    for k, target in targets.items():
        with np.errstate(divide="ignore", invalid="ignore"):
            miss = np.where(target == 0, np.abs(achieved[k]) > 0, achieved[k] / target - 1.0)
        misses.append(np.abs(miss))
    return np.max(np.stack(misses), axis=0)


def _work_updates(part, first_year, wanted):
    """New training and other-inference work on 1 January such that the start year's AI
    electricity and its training share meet their targets.

    AI electricity is the idle draw of the installed base plus a busy part proportional to
    the peak work served; the busy energy per unit of peak work measured in the pass gives
    the peak work the target needs, split between training (its share) and other inference
    (the rest after generative inference). Work the fleet cannot absorb shows as a miss.
    """
    other = first_year["unattributed_work"] / part["other_inference_flop_utilisation"]
    named = ((first_year["recommendation_work"] + first_year["agent_work"])
             / part["other_inference_flop_utilisation"])
    training = first_year["training_work"] / part["training_flop_utilisation"]
    # energy is attributed in proportion to peak work, which gives generative peak work
    with np.errstate(divide="ignore", invalid="ignore"):
        generative = (other + training) * first_year["generative_inference_energy"] / (
            first_year["unattributed_energy"] + first_year["ai_training_energy"])
    generative = generative + named  # recommendation and agent work stay as they are
    ai = _achieved(first_year)["ai_facility_energy"]
    busy_energy = ai - first_year["ai_idle_energy"]
    per_peak = busy_energy / (generative + other + training)
    needed = (wanted["ai_facility_energy"] - first_year["ai_idle_energy"]) / per_peak
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.nan_to_num(wanted["ai_training_energy"] / wanted["ai_facility_energy"])
    # energy shares weight each moment by its power, so the work share that gives the
    # wanted energy share is found from the pass's own ratio of the two
    with np.errstate(divide="ignore", invalid="ignore"):
        energy_share = first_year["ai_training_energy"] / ai
        work_share = np.where(energy_share > 0, training / (generative + other + training)
                              * share / energy_share, share)
    training_needed = np.clip(np.nan_to_num(work_share, nan=share), 0.0, 1.0) * needed
    other_needed = np.maximum(needed - training_needed - generative, OTHER_WORK_FLOOR * needed)
    with np.errstate(divide="ignore", invalid="ignore"):
        training_ratio = np.where(training > 0, training_needed / training, 1.0)
        other_ratio = np.where(other > 0, other_needed / other, 1.0)
    training_start = np.where(share > 0, part["training_work_start"] * training_ratio, 0.0)
    training_start = np.where(np.isfinite(training_start) & (training_start >= 0),
                              training_start, part["training_work_start"])
    return {"training_work_start": training_start,
            "other_work_start": part["other_work_start"] * np.nan_to_num(other_ratio, nan=1.0)}


def calibration_pass(part, first_year, wanted, previous=None) -> dict[str, np.ndarray]:
    """What one pass of :func:`calibrate` makes of the start year it integrated
    (``first_year``: flow totals): the updated calibration quantities, the largest miss of a
    target (``miss``) and the secant's memory (``log_requests``, ``log_ratio``), which the
    next pass takes as ``previous``. Elementwise along the sample axis (a compiled engine
    traces it)."""
    achieved = _achieved(first_year)
    log_requests = np.log(part["requests_start"])
    log_ratio = np.log(wanted["served_requests"] / achieved["served_requests"])
    slope = np.ones_like(log_ratio)
    if previous is not None:
        moved = log_requests - previous[0]
        responded = previous[1] - log_ratio
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(np.abs(moved) > 1e-12, responded / moved, 1.0)
        slope = np.clip(np.nan_to_num(slope, nan=1.0), SECANT_SLOPE_MIN, SECANT_SLOPE_MAX)
    return {
        "requests_start": np.exp(log_requests + log_ratio / slope),
        "conventional_work_start": part["conventional_work_start"]
        * wanted["conventional_facility_energy"] / achieved["conventional_facility_energy"],
        **_work_updates(part, first_year, wanted),
        "miss": _misses(first_year, wanted),
        "log_requests": log_requests,
        "log_ratio": log_ratio,
    }


@dataclass
class StartChecks:
    """What a block's start year is checked against, from one computation of the start-year
    fleet: the calibration targets (``calibration_targets``) and, per sample, whether its
    inputs admit no start state (any reason of ``dynamics.infeasible_start``)."""

    targets: dict[str, np.ndarray]
    infeasible: np.ndarray


def start_checks(p: Mapping[str, np.ndarray]) -> StartChecks:
    """The calibration targets and infeasible samples of parameters ``p`` (with the
    start-year fleet of the derived quantities when ``p`` holds them)."""
    fleet = start_fleet(p)
    reasons = infeasible_start(p, fleet)
    return StartChecks(calibration_targets(p, fleet), np.logical_or.reduce(list(reasons.values())))


def calibrate(p: Mapping[str, np.ndarray], substeps: int, run=None, derive=None,
              first_guess=None, targets=None, start=None) -> dict[str, np.ndarray]:
    """Parameters plus calibration quantities such that the start year meets its targets.

    The first guess follows the targets on 1 January; each pass integrates the start year
    (demand side only) and updates what the start year genuinely leaves unknown: training
    and other AI inference work (which set how busy the installed accelerators are),
    conventional work, and requests on 1 January. Per-request physics, the installed base
    and its power are never adjusted. Requests take a secant step in logarithms: near the
    saturation ceiling the year's average barely responds to them. A sample leaves the
    passes once its update follows a pass that found every target within
    ``CALIBRATION_STOP``. ``run`` integrates (default ``_run``), ``derive`` adds the derived
    quantities (default ``dynamics.with_derived``) and ``first_guess`` makes the first guess
    (default ``dynamics.first_calibration``): a compiled backend passes its own.
    ``start`` does both at once (``start(p)`` is ``derive({**p, **first_guess(p,
    SECONDS_PER_YEAR)})``). ``targets`` are ``calibration_targets(p)`` when the caller has
    them already. The derived quantities are derived once: none of them depends on what the
    passes adjust.
    """
    run = run or _run
    if start is None:
        derive = derive or with_derived
        first_guess = first_guess or first_calibration
        full = derive({**p, **first_guess(p, SECONDS_PER_YEAR)})
    else:
        full = start(p)
    targets = calibration_targets(p, start_fleet(full)) if targets is None else targets
    n = sample_count(full)
    active = np.arange(n)  # samples still being refined: later passes integrate only these
    previous: tuple[np.ndarray, np.ndarray] | None = None
    for _ in range(MAX_CALIBRATION_PASSES):
        everyone = active.size == n
        part = full if everyone else {k: v[..., active] for k, v in full.items()}
        wanted = targets if everyone else {k: v[..., active] for k, v in targets.items()}
        first_year = {k: v[0] for k, v in run(part, 1, substeps, False, True)[0].items()}
        updates = calibration_pass(part, first_year, wanted, previous)
        miss = updates.pop("miss")
        log_requests, log_ratio = updates.pop("log_requests"), updates.pop("log_ratio")
        for key, value in updates.items():
            if everyone:
                full[key] = value
            else:
                full[key] = full[key].copy()
                full[key][..., active] = value
        # each sample is refined until it meets its own targets, so no sample's result depends
        # on which others share its block; NaN counts as done (simulate reports it)
        still = miss >= CALIBRATION_STOP
        previous = (log_requests[still], log_ratio[still])
        active = active[still]
        if active.size == 0:  # the update just made brought the last samples within tolerance
            break
    return full


def simulate_block(parameters, start_year: int, end_year: int, substeps: int) -> RawResult:
    """Calibrate and integrate one block of samples (sample axis last, every array the same
    length) from 1 January of ``start_year`` to the end of ``end_year``: a pure function of
    its arguments, the unit that ``projection.model.ensemble.simulate`` spreads over workers."""
    with np.errstate(all="ignore"):  # non-finite samples are reported, not warned about
        return _simulate_block_quietly(parameters, start_year, end_year, substeps)


def _simulate_block_quietly(parameters, start_year, end_year, substeps) -> RawResult:
    p = calibrate(parameters, substeps)
    n_years = end_year - start_year + 1
    flows, stocks, auxiliaries = _run(p, n_years, substeps, record=True)
    return finish_block(p, flows, stocks, auxiliaries, start_year, end_year)


def finish_block(p, flows, stocks, auxiliaries, start_year: int, end_year: int,
                 checks: StartChecks | None = None) -> RawResult:
    """Add the derived flows and the calibration check to one block's integrated arrays
    (``checks`` are ``start_checks(p)`` when the caller has them already)."""
    n_years = end_year - start_year + 1
    flows = {**flows, **derived_flows(flows, p, n_years, SECONDS_PER_YEAR)}
    checks = start_checks(p) if checks is None else checks
    error = _misses({k: v[0] for k, v in flows.items()}, checks.targets)
    # a sample whose inputs admit no start state has no calibration: its miss is infinite
    error = np.where(checks.infeasible, np.inf, error)
    return RawResult(
        years=np.arange(start_year, end_year + 1),
        stocks=stocks,
        auxiliaries=auxiliaries,
        flows=flows,
        parameters=p,
        calibration_error=error,
    )


def sample_count(parameters: Mapping[str, np.ndarray]) -> int:
    """The length of the sample axis (the last) of the longest parameter array."""
    return max(np.shape(v)[-1] for v in parameters.values())
