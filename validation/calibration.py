"""Fit scenario parameters to the historical series with ``scipy.optimize.least_squares``.

The residual of a figure is the model's relative miss divided by the figure's stated relative
uncertainty (``historical_series.csv``). Every evaluation runs the vectorised model once for
many parameter sets: the base point and one forward step per fitted parameter travel as
samples of one ``simulate`` call, which gives the residuals and the finite-difference Jacobian
together. The fitted values' covariance is s^2 (J^T J)^-1 with s^2 = sum of squared residuals
/ (points - parameters).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from projection.model.ensemble import parameter_samples, simulate
from projection.model.integrate import CALIBRATION_TOLERANCE
from projection.model.parameters import MIX_SHARE_KEYS, SHARE_PARAMETERS, Parameter
from projection.model.results import OUTPUT_BY_NAME
from projection.model.scenario import (
    Entry,
    Scenario,
    ScenarioError,
    all_keys,
    parameter_for_key,
)
from projection.model.units import ureg

from .references import SeriesPoint, convert

RELATIVE_STEP = 1e-5
"""Forward-difference step, relative to the parameter's magnitude (at least 1 display unit x
this): large against the model's numerical noise (start-state calibration to about 1e-12) and
small against its curvature."""
CONDITION_LIMIT = 1e8
DEAD_INFLUENCE = 1e-6
"""A fitted parameter that, moved across its whole range, shifts the weighted residuals by
less than this (in units of the figures' uncertainty) is not constrained by the data."""
"""Largest condition number of J^T J (columns scaled to unit length) that still separates the
parameters; beyond it two or more parameters move the fitted figures in the same way."""
CORRELATION_WARNING = 0.99
"""Fitted parameters correlated more strongly than this are reported as nearly redundant."""
MAX_EVALUATIONS = 200
"""Most least-squares iterations before the fit is declared not converged."""
FAILED_RUN_RESIDUAL = 1e3
"""Residual given to a parameter set whose start state cannot be calibrated (a wall, not a fit)."""
BOUND_TOLERANCE = 1e-6
"""A fitted value closer than this (relative to the range) to a bound is 'at the bound'."""


@dataclass(frozen=True)
class FitParameter:
    """A scenario value being fitted, in the unit people read it in (``%/yr``, ``TWh/yr``, ...)."""

    key: str
    parameter: Parameter
    unit: str
    initial: float
    lower: float
    upper: float
    declared_range: bool

    @property
    def label(self) -> str:
        return self.key.split(".")[-1] if not self.key.startswith("workloads.") else self.key[10:]


@dataclass
class FitResult:
    """Everything ``calibrate`` reports: fitted values, uncertainty, residuals and any problem."""

    scenario: Scenario
    parameters: list[FitParameter]
    points: list[SeriesPoint]
    holdouts: list[SeriesPoint]
    values: np.ndarray  # fitted values, display units
    model: np.ndarray  # model values at the fit points, in each reference's unit
    holdout_model: np.ndarray
    residuals: np.ndarray  # relative misses, model / reference - 1
    weighted: np.ndarray  # residuals / stated uncertainty
    sigma: np.ndarray | None  # 1-sigma of fitted values, display units
    correlation: np.ndarray | None
    condition: float
    evaluations: int
    message: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def dof(self) -> int:
        return len(self.points) - len(self.parameters)

    @property
    def chi2(self) -> float:
        return float(np.sum(self.weighted**2))


def count(n: int, noun: str) -> str:
    """"1 figure", "4 figures"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# --- parameters in readable units -------------------------------------------------------------

def display_unit(p: Parameter) -> str:
    """The unit a fitted value is shown and written in."""
    if p.kind == "growth":
        return "%/yr"
    if p.kind == "fraction":
        return "%"
    return p.unit


def _pint(unit: str) -> str:
    return unit.replace("%", "percent")


def to_display(p: Parameter, base: float) -> float:
    """An entry's base value (SI; growth still a compound rate per second) in ``display_unit``."""
    quantity = ureg.Quantity(base, ureg.Quantity(1.0, _pint(p.unit)).to_base_units().units)
    return float(quantity.to(_pint(display_unit(p))).magnitude)


def from_display(p: Parameter, value: float) -> float:
    """Inverse of :func:`to_display`."""
    quantity = ureg.Quantity(value, _pint(display_unit(p)))
    return float(quantity.to_base_units().magnitude)


def value_text(p: Parameter, value: float) -> str:
    """A value as a scenario file writes it: "196.6 %/yr", "5770.4", "0.5 TWh/yr"."""
    unit = display_unit(p)
    number = f"{value:.6g}"
    return number if unit == "dimensionless" else f"{number} {unit}"


def kind_bounds(p: Parameter) -> tuple[float, float]:
    """The widest range the parameter's kind allows, display units."""
    if p.kind == "growth":
        return -100.0, math.inf
    if p.kind == "fraction":
        return 0.0, 100.0
    if p.kind == "at_least_one":
        return 1.0, math.inf
    return 0.0, math.inf


def fit_parameters(scenario: Scenario, keys: Sequence[str] | None) -> list[FitParameter]:
    """The parameters to fit: the keys named, else the scenario's declared uncertain ones.

    Bounds are the declared low/high when present, else what the parameter's kind allows.
    Bad keys raise :class:`ScenarioError` (the user's input).
    """
    if keys:
        chosen = list(dict.fromkeys(keys))
    else:
        chosen = sorted(scenario.uncertain())
        if not chosen:
            raise ScenarioError(
                scenario.path, "--fit",
                "no parameters to fit: name them with --fit section.name, or declare "
                "low = \"...\", high = \"...\" on the uncertain values in the scenario",
            )
    known = all_keys()
    result = []
    for key in chosen:
        if key not in known:
            from difflib import get_close_matches

            close = get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ScenarioError(scenario.path, key, f"--fit: not a scenario parameter{hint}")
        p = parameter_for_key(key)
        if p.name in SHARE_PARAMETERS or key in MIX_SHARE_KEYS:
            raise ScenarioError(scenario.path, key, "--fit: shares must sum to one and "
                                "cannot be fitted one by one")
        entry = scenario.entries[key]
        declared = entry.low is not None and entry.high is not None
        if declared:
            lower, upper = to_display(p, entry.low), to_display(p, entry.high)  # type: ignore[arg-type]
        else:
            lower, upper = kind_bounds(p)
        if not lower < upper:
            raise ScenarioError(scenario.path, key, "--fit: low and high are equal; nothing to fit")
        result.append(FitParameter(key, p, display_unit(p), to_display(p, entry.base_value),
                                   lower, upper, declared))
    return result


# --- evaluating many parameter sets in one run ---------------------------------------------------

def sample_arrays(scenario: Scenario, fit: Sequence[FitParameter], x: np.ndarray):
    """Model inputs for ``len(x)`` samples: the scenario's values with the fitted ones from ``x``.

    ``x`` is (samples, fitted parameters) in display units. Returns the arrays (sample axis
    last, as the model lays them out) and a mask of samples whose values are out of bounds.
    """
    table = {fp.key: [from_display(fp.parameter, float(v)) for v in x[:, j]]
             for j, fp in enumerate(fit)}
    samples = parameter_samples(scenario, table, size=x.shape[0], units="base", invalid="mask")
    return dict(samples), samples.valid


def model_values(scenario: Scenario, fit: Sequence[FitParameter], points: Sequence[SeriesPoint],
                 x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Model values (samples, points) in each reference's unit, and a mask of usable samples."""
    arrays, valid = sample_arrays(scenario, fit, x)
    end = max([p.year for p in points] + [scenario.start_year + 1])
    with np.errstate(all="ignore"):
        raw = simulate(arrays, scenario.start_year, end, scenario.substeps_per_year)
    valid &= raw.calibration_error <= CALIBRATION_TOLERANCE
    columns = []
    cache: dict[str, np.ndarray] = {}
    for point in points:
        output = OUTPUT_BY_NAME[point.output]
        if point.output not in cache:
            cache[point.output] = output.values(raw)
        factor = convert(1.0, output.unit, point.reference.unit)
        columns.append(cache[point.output][point.year - scenario.start_year] * factor)
    values = np.stack(columns, axis=-1)
    valid &= np.all(np.isfinite(values), axis=-1)
    return values, valid


def weighted_residuals(values: np.ndarray, points: Sequence[SeriesPoint]) -> np.ndarray:
    """(model / reference - 1) / relative uncertainty, for every sample and point."""
    central = np.array([p.reference.central for p in points])
    sigma = np.array([p.sigma for p in points])
    return (values / central - 1.0) / sigma


def _steps(fit: Sequence[FitParameter], x: np.ndarray) -> np.ndarray:
    """Forward steps relative to each value; backward where forward would leave the bounds."""
    steps = []
    for fp, v in zip(fit, x, strict=True):
        h = RELATIVE_STEP * max(abs(v), 1.0)
        steps.append(-h if v + h > fp.upper else h)
    return np.array(steps)


class _Objective:
    """Residuals and Jacobian of one fit, computed together in one vectorised run per point."""

    def __init__(self, scenario: Scenario, fit: Sequence[FitParameter],
                 points: Sequence[SeriesPoint]) -> None:
        self.scenario, self.fit, self.points = scenario, fit, points
        self._x: np.ndarray | None = None
        self._r: np.ndarray | None = None
        self._j: np.ndarray | None = None
        self.failed_at_solution = False

    def _evaluate(self, x: np.ndarray) -> None:
        if self._x is not None and np.array_equal(x, self._x):
            return
        steps = _steps(self.fit, x)
        samples = np.vstack([x, x + np.diag(steps)])
        values, valid = model_values(self.scenario, self.fit, self.points, samples)
        residuals = weighted_residuals(values, self.points)
        residuals[~valid] = FAILED_RUN_RESIDUAL
        self._x = x.copy()
        self._r = residuals[0]
        self._j = ((residuals[1:] - residuals[0]) / steps[:, None]).T
        self.failed_at_solution = not bool(valid[0])

    def residuals(self, x: np.ndarray) -> np.ndarray:
        self._evaluate(x)
        assert self._r is not None
        return self._r

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        self._evaluate(x)
        assert self._j is not None
        return self._j


# --- the fit --------------------------------------------------------------------------------------

def select_points(scenario: Scenario, series: Sequence[SeriesPoint],
                  role: str) -> list[SeriesPoint]:
    """Series points of ``role`` inside the scenario's years."""
    return [p for p in series
            if p.role == role and scenario.start_year <= p.year <= scenario.end_year]


def _start(fp: FitParameter) -> float:
    """The starting guess, moved just inside the bounds (least squares needs a strict interior)."""
    span = fp.upper - fp.lower
    margin = 1e-3 * (span if math.isfinite(span) else max(abs(fp.initial), 1.0))
    x = fp.initial
    if math.isfinite(fp.lower):
        x = max(x, fp.lower + margin)
    if math.isfinite(fp.upper):
        x = min(x, fp.upper - margin)
    return float(x)


def uncertainty(jacobian: np.ndarray, weighted: np.ndarray, dof: int):
    """Covariance s^2 (J^T J)^-1, the 1-sigma values, the correlation matrix and the
    condition number of J^T J with unit-length columns (scale-free)."""
    norms = np.linalg.norm(jacobian, axis=0)
    if np.any(norms == 0):
        return None, None, None, math.inf
    scaled = jacobian / norms
    condition = float(np.linalg.cond(scaled.T @ scaled))
    if dof <= 0 or not math.isfinite(condition) or condition > CONDITION_LIMIT:
        return None, None, None, condition
    s2 = float(np.sum(weighted**2)) / dof
    covariance = s2 * np.linalg.inv(jacobian.T @ jacobian)
    sigma = np.sqrt(np.diag(covariance))
    correlation = covariance / np.outer(sigma, sigma) if np.all(sigma > 0) else None
    return covariance, sigma, correlation, condition


def _describe_degeneracy(fit: Sequence[FitParameter], jacobian: np.ndarray) -> str:
    """Which parameters the data cannot tell apart, in words."""
    norms = np.linalg.norm(jacobian, axis=0)
    dead = [fp.key for fp, n in zip(fit, norms, strict=True) if n == 0]
    if dead:
        return f"{', '.join(dead)} does not change any fitted figure"
    scaled = jacobian / norms
    _, _, vt = np.linalg.svd(scaled)
    weakest = vt[-1]
    involved = [fit[i].key for i in np.argsort(-np.abs(weakest)) if abs(weakest[i]) > 0.3]
    return f"{' and '.join(involved)} move the fitted figures in nearly the same way"


def calibrate_scenario(
    scenario: Scenario,
    series: Sequence[SeriesPoint],
    keys: Sequence[str] | None = None,
) -> FitResult:
    """Fit ``keys`` (or the declared uncertain parameters) to the series' fit points.

    Raises :class:`ScenarioError` for bad input. Returns a :class:`FitResult` whose
    ``problems`` say, in words, why a fit is ill-posed or did not converge.
    """
    fit = fit_parameters(scenario, keys)
    points = select_points(scenario, series, "fit")
    holdouts = select_points(scenario, series, "holdout")
    problems: list[str] = []
    years = f"{scenario.start_year}-{scenario.end_year}"
    if not points:
        problems.append(f"ill-posed: the historical series has no figures to fit in {years}")
    elif len(fit) > len(points):
        problems.append(
            f"ill-posed: {count(len(fit), 'parameter')} but only {count(len(points), 'figure')} "
            f"to fit in {years}; "
            "fit fewer parameters"
        )
    x0 = np.array([_start(fp) for fp in fit])
    empty = np.zeros(0)
    if problems:
        return FitResult(scenario, fit, points, holdouts, x0, empty, empty, empty, empty,
                         None, None, math.nan, 0, "not attempted", problems)

    objective = _Objective(scenario, fit, points)
    solution = least_squares(
        objective.residuals, x0, jac=objective.jacobian,
        bounds=([fp.lower for fp in fit], [fp.upper for fp in fit]),
        x_scale="jac", max_nfev=MAX_EVALUATIONS, method="trf",
    )
    x = solution.x
    weighted = objective.residuals(x)
    jacobian = objective.jacobian(x)
    _, sigma, correlation, condition = uncertainty(jacobian, weighted, len(points) - len(fit))

    warnings: list[str] = []
    if objective.failed_at_solution:
        problems.append("failed: the model cannot calibrate its start state at the fitted values")
    if solution.status <= 0:
        problems.append(f"did not converge after {solution.nfev} evaluations ({solution.message})")
    for fp, v in zip(fit, x, strict=True):
        span = (fp.upper - fp.lower) if math.isfinite(fp.upper - fp.lower) else max(abs(v), 1.0)
        for side, bound in (("low", fp.lower), ("high", fp.upper)):
            if math.isfinite(bound) and abs(v - bound) <= BOUND_TOLERANCE * span:
                where = "declared" if fp.declared_range else "allowed"
                problems.append(
                    f"ill-posed: {fp.key} stopped at its {where} {side} bound "
                    f"({value_text(fp.parameter, bound)}); the data push it outside its range"
                )
    norms = np.linalg.norm(jacobian, axis=0)
    for fp, v, norm in zip(fit, x, norms, strict=True):
        span = (fp.upper - fp.lower) if math.isfinite(fp.upper - fp.lower) else max(abs(v), 1.0)
        if not norm * span >= DEAD_INFLUENCE:
            problems.append(
                f"ill-posed: {fp.key} does not change any fitted figure (across its whole "
                f"range it moves them by under {DEAD_INFLUENCE:g} of their uncertainty)"
            )
    if all(p.year == scenario.start_year for p in points):
        problems.append(
            f"ill-posed: every figure to fit is in {scenario.start_year}, the start year, which "
            "the start-year calibration already fixes; fit a scenario that starts earlier"
        )
    if problems:
        pass
    elif not math.isfinite(condition) or condition > CONDITION_LIMIT:
        problems.append(f"ill-conditioned: {_describe_degeneracy(fit, jacobian)} "
                        f"(condition number {condition:.3g}); fit fewer parameters")
    elif len(points) == len(fit):
        warnings.append("exactly determined: as many parameters as figures, so the fit passes "
                        "through every figure and its uncertainty cannot be estimated")
    if correlation is not None:
        for i in range(len(fit)):
            for j in range(i + 1, len(fit)):
                if abs(correlation[i, j]) > CORRELATION_WARNING:
                    warnings.append(f"{fit[i].key} and {fit[j].key} are correlated "
                                    f"({correlation[i, j]:+.3f}): the data constrain mainly a "
                                    "combination of them")
    values = model_values(scenario, fit, [*points, *holdouts], x[None, :])[0][0]
    model, holdout_model = values[: len(points)], values[len(points):]
    central = np.array([p.reference.central for p in points])
    return FitResult(
        scenario, fit, points, holdouts, x, model, holdout_model, model / central - 1.0,
        weighted, sigma, correlation, condition, int(solution.nfev), str(solution.message),
        problems, warnings,
    )


def fitted_scenario(result: FitResult) -> Scenario:
    """The scenario with the fitted values in place of the originals (for running it)."""
    entries = dict(result.scenario.entries)
    for fp, v in zip(result.parameters, result.values, strict=True):
        entries[fp.key] = dataclasses.replace(
            entries[fp.key], base_value=from_display(fp.parameter, float(v)),
            text=value_text(fp.parameter, float(v)),
        )
    return dataclasses.replace(result.scenario, entries=entries)


# --- the calibrated scenario file ------------------------------------------------------------

def _toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are a subset of TOML's)."""
    import json

    return json.dumps(text, ensure_ascii=False)


def fit_source(result: FitResult, fp: FitParameter, sigma: float | None, series_name: str) -> str:
    """The source line of a fitted value: what it was fitted to, its spread, what it replaced."""
    from projection.model import __version__

    figures = ", ".join(f"{p.reference.id} ({p.year})" for p in result.points)
    spread = (f"; 1-sigma {sigma:.3g} {fp.unit}" if sigma is not None
              else "; uncertainty not estimable")
    original: Entry = result.scenario.entries[fp.key]
    n = count(len(result.points), "figure")
    return (f"fitted by projection calibrate {__version__} to {n} of "
            f"{series_name}: {figures}{spread}; replaces {original.text!r} "
            f"from {Path(original.file).name}")


def _declared_uncertainty(entry: Entry) -> dict[str, str]:
    """The uncertainty an entry declares, as written, for the fitted value: its range and its
    distribution (a triangular's mode becomes the fitted value, as a triangular without a
    mode takes the value; a normal or lognormal centres on it with the declared sd)."""
    declared = dict(entry.distribution_text or {})
    declared.pop("mode", None)
    if entry.low_text is not None and entry.high_text is not None:
        declared.update(low=entry.low_text, high=entry.high_text)
    if declared.get("dist") == "uniform":
        declared.pop("dist", None)  # low/high alone are uniform
    order = ("low", "high", "dist", "sd")
    return {name: declared[name] for name in order if name in declared}


def calibrated_toml(result: FitResult, extends: str, series_name: str) -> str:
    """A scenario file that extends the original and overrides only the fitted values."""
    scenario = result.scenario
    lines = [
        f"# Calibrated by `projection calibrate`: {len(result.parameters)} values of "
        f"{scenario.path.name} fitted to {series_name}.",
        "# Only the fitted values are here; everything else comes from the scenario it extends.",
        "",
        "[scenario]",
        f"title = {_toml_string(scenario.title + ' (calibrated)')}",
        "description = " + _toml_string(
            f"{scenario.title} with {', '.join(fp.key for fp in result.parameters)} fitted to "
            f"{count(len(result.points), 'historical figure')} (chi-square {result.chi2:.3g}, "
            f"{count(max(result.dof, 0), 'degree')} of freedom)."
        ),
        f"extends = {_toml_string(extends)}",
    ]
    sections: dict[str, list[str]] = {}
    for i, (fp, v) in enumerate(zip(result.parameters, result.values, strict=True)):
        sigma = None if result.sigma is None else float(result.sigma[i])
        section, name = fp.key.rsplit(".", 1)
        entry = scenario.entries[fp.key]
        parts = [f"value = {_toml_string(value_text(fp.parameter, float(v)))}"]
        parts += [f"{name} = {_toml_string(text)}"
                  for name, text in _declared_uncertainty(entry).items()]
        parts.append(f"source = {_toml_string(fit_source(result, fp, sigma, series_name))}")
        sections.setdefault(section, []).append(f"{name} = {{ {', '.join(parts)} }}")
    for section, entries in sections.items():
        lines += ["", f"[{section}]", *entries]
    return "\n".join(lines) + "\n"
