"""The vectorised integrator: calibrate the start state, then advance every sample at once.

Classical fourth-order Runge-Kutta with a fixed number of sub-steps per year. Stocks are
recorded on 1 January of each year; flows are integrated over each calendar year.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .dynamics import first_calibration, initial_state, rates
from .units import SECONDS_PER_YEAR

CALIBRATION_PASSES = 4
"""Passes over the start year that refine the calibration; each divides the error by about 1,000."""
CALIBRATION_TOLERANCE = 1e-6
"""Largest relative miss of a start-year target that a calibrated run accepts."""


class CalibrationError(ValueError):
    """The parameters admit no start-year state that meets the start-year targets."""


@dataclass
class RawResult:
    """Plain arrays, sample axis second: stocks and auxiliaries (year, sample, ...) on
    1 January, flows (year, sample, ...) as calendar-year totals in SI base units x s."""

    years: np.ndarray
    stocks: dict[str, np.ndarray]
    auxiliaries: dict[str, np.ndarray]
    flows: dict[str, np.ndarray]
    parameters: dict[str, np.ndarray]
    calibration_error: np.ndarray


def _rk4_step(state, p, time, dt):
    k1, f1, a1 = rates(state, p, time)
    half = 0.5 * dt
    k2, f2, _ = rates({k: state[k] + half * k1[k] for k in state}, p, time + half)
    k3, f3, _ = rates({k: state[k] + half * k2[k] for k in state}, p, time + half)
    k4, f4, _ = rates({k: state[k] + dt * k3[k] for k in state}, p, time + dt)
    sixth = dt / 6.0
    new_state = {k: state[k] + sixth * (k1[k] + 2.0 * (k2[k] + k3[k]) + k4[k]) for k in state}
    flows = {k: sixth * (f1[k] + 2.0 * (f2[k] + f3[k]) + f4[k]) for k in f1}
    return new_state, flows, a1


def _run(p, years: int, substeps: int, record: bool):
    """Advance ``years`` calendar years; return per-year flow totals and boundary values."""
    state = initial_state(p)
    dt = SECONDS_PER_YEAR / substeps
    flow_totals: list[dict[str, np.ndarray]] = []
    stocks: list[dict[str, np.ndarray]] = []
    auxiliaries: list[dict[str, np.ndarray]] = []
    for year in range(years):
        totals: dict[str, np.ndarray] | None = None
        for sub in range(substeps):
            time = (year * substeps + sub) * dt
            if record and sub == 0:
                stocks.append(state)
            state, flows, aux = _rk4_step(state, p, time, dt)
            if record and sub == 0:
                auxiliaries.append(aux)
            if totals is None:
                totals = flows
            else:
                totals = {k: totals[k] + flows[k] for k in totals}
        assert totals is not None
        flow_totals.append(totals)
    return flow_totals, stocks, auxiliaries


def calibration_targets(p: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What the start year must total, in J (energy) and requests."""
    year = SECONDS_PER_YEAR
    ai = p["ai_energy_start"] * year
    return {
        "ai_inference_energy": (1.0 - p["training_share_start"]) * ai,
        "ai_training_energy": p["training_share_start"] * ai,
        "conventional_facility_energy": (p["facility_energy_start"] - p["ai_energy_start"]) * year,
        "served_requests": p["requests_per_day_start"] * year,
    }


def _misses(first_year: Mapping[str, np.ndarray], targets: Mapping[str, np.ndarray]):
    achieved = {k: first_year[k] for k in targets}
    achieved["served_requests"] = first_year["served_requests"].sum(axis=-1)
    return {k: targets[k] / achieved[k] for k in targets}


def calibrate(p: Mapping[str, np.ndarray], substeps: int) -> dict[str, np.ndarray]:
    """Parameters plus calibration quantities such that the start year meets its targets."""
    full = {**p, **first_calibration(p)}
    targets = calibration_targets(p)
    for _ in range(CALIBRATION_PASSES):
        first_year = _run(full, 1, substeps, record=False)[0][0]
        ratio = _misses(first_year, targets)
        full["requests_start"] = full["requests_start"] * ratio["served_requests"]
        full["serving_factor"] = (
            full["serving_factor"] * ratio["ai_inference_energy"] / ratio["served_requests"]
        )
        full["training_work_start"] = full["training_work_start"] * ratio["ai_training_energy"]
        full["conventional_work_start"] = (
            full["conventional_work_start"] * ratio["conventional_facility_energy"]
        )
    return full


def simulate(
    parameters: Mapping[str, np.ndarray], start_year: int, end_year: int, substeps: int
) -> RawResult:
    """Calibrate and integrate from 1 January of ``start_year`` to the end of ``end_year``,
    all samples at once."""
    p = calibrate(parameters, substeps)
    n_years = end_year - start_year + 1
    flow_totals, stocks, auxiliaries = _run(p, n_years, substeps, record=True)
    misses = _misses(flow_totals[0], calibration_targets(p))
    error = np.max(np.abs(np.stack([m - 1.0 for m in misses.values()])), axis=0)
    return RawResult(
        years=np.arange(start_year, end_year + 1),
        stocks={k: np.stack([s[k] for s in stocks]) for k in stocks[0]},
        auxiliaries={k: np.stack([a[k] for a in auxiliaries]) for k in auxiliaries[0]},
        flows={k: np.stack([f[k] for f in flow_totals]) for k in flow_totals[0]},
        parameters=p,
        calibration_error=error,
    )
