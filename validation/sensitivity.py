"""Which assumptions drive the results: global sensitivity with SALib, and a tornado.

- Sobol' indices (Saltelli's scheme, SALib): first-order and total indices, second-order on
  request, each with a bootstrap confidence interval.
- Morris elementary effects (SALib): mu*, mu and sigma, on the quantile scale of each input
  (a step of 1 crosses its whole distribution).
- One at a time: each parameter at the ends of its range (its bounds, or its 5th and 95th
  percentiles when it has none) with the others at their values.

Every index is computed for every year of every output: SALib analyses one output at a time,
so the years become separate outputs and the result a Dataset with dims (parameter, output,
year). Inputs are sampled independently: declared correlations are not used here (Sobol' and
Morris indices assume independent inputs).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from pathlib import Path

import numpy as np

from projection.model import budget
from projection.model.dynamics import INFEASIBLE_REASONS
from projection.model.integrate import RunError
from projection.model.results import OUTPUT_BY_NAME
from projection.model.sampling import Distribution, draw
from projection.model.scenario import Scenario
from projection.model.uncertainty import (
    EnsembleError,
    as_scenario,
    block_spans,
    check_backend,
    check_outputs,
    design,
    evaluate,
    provenance,
)

SENSITIVITY_METHODS = ("sobol", "morris", "oat")
DEFAULT_SAMPLES = {"sobol": 512, "morris": 50, "oat": 1}
"""Base sample counts: Sobol' N (runs N (D + 2), or N (2 D + 2) with second order), Morris
trajectories (runs r (D + 1)); one at a time always runs 2 D + 1."""
MORRIS_LEVELS = 4
MORRIS_QUANTILES = (0.005, 0.995)
"""The quantile range a Morris step of 1 spans: finite ends for unbounded distributions."""
OAT_QUANTILES = (0.05, 0.95)
"""Ends of an unbounded range in the one-at-a-time tornado."""
CONFIDENCE = 0.95
CONSTANT = 1e-9
"""An output whose spread is below this fraction of its size is constant (a calibrated
start-year value that differs only by solver round-off): its indices are zero."""
RESAMPLES = 100
SOBOL_MAX = 2**30
"""Largest Sobol' N: scipy's Sobol' sequence (under SALib's Saltelli scheme) gives at most
2**30 points with its default 30 bits."""


def _problem(d: int) -> dict:
    return {"num_vars": d, "names": [f"x{i}" for i in range(d)], "bounds": [[0.0, 1.0]] * d}


def check_samples(method: str, samples: int | None) -> int:
    """The base sample count for ``method``, checked (Sobol' needs a power of two)."""
    if method not in SENSITIVITY_METHODS:
        from projection.model.scenario import _suggest

        hint = _suggest(method, SENSITIVITY_METHODS)
        raise EnsembleError("--method", method,
                            f"expected one of {', '.join(SENSITIVITY_METHODS)}{hint}")
    n = DEFAULT_SAMPLES[method] if samples is None else samples
    n = budget.count("--samples", n, 1, SOBOL_MAX if method == "sobol" else budget.SAMPLES_MAX,
                     error=EnsembleError)
    if method == "sobol" and (n < 2 or n & (n - 1)):
        lower = 1 << (n.bit_length() - 1)
        raise EnsembleError("--samples", str(n), f"Sobol' indices need a power of two "
                            f"(SALib's Saltelli scheme); try {max(lower, 2)} or {lower * 2}")
    if method == "morris" and n < 2:
        raise EnsembleError("--samples", str(n), "Morris needs at least 2 trajectories")
    return n


def check_totals(outputs: Sequence[str]) -> tuple[str, ...]:
    """``outputs`` if each has one value a year (indices are per output and year), else a
    one-line error naming the first that has a value per workload."""
    from projection.model.uncertainty import PER_WORKLOAD_OUTPUTS

    for name in outputs:
        if name in PER_WORKLOAD_OUTPUTS:
            hint = ("chat_energy_per_request" if name == "energy_per_request"
                    else "ai_requests_per_day_total")
            raise EnsembleError("--output", name, f"has a value per workload; choose an output "
                                f"with one value a year, such as {hint}")
    return tuple(outputs)


def run_count(method: str, n: int, parameters: int, second_order: bool = False) -> int:
    """Model runs of a design: Sobol' N (D + 2) or N (2 D + 2), Morris r (D + 1), one at a
    time 2 D + 1."""
    if method == "sobol":
        return n * (2 * parameters + 2 if second_order else parameters + 2)
    if method == "morris":
        return n * (parameters + 1)
    return 2 * parameters + 1


def check_fits(scenario: Scenario, method: str, n: int, parameters: int,
               outputs: Sequence[str], second_order: bool = False) -> int:
    """The number of runs, after refusing a design whose arrays cannot fit in memory (the
    design, every run's outputs and SALib's bootstrap; ``model.budget``)."""
    from projection.model.uncertainty import values_per_year

    runs = run_count(method, n, parameters, second_order)
    need = budget.runs_needs(runs, len(scenario.years), values_per_year(outputs), parameters,
                             RESAMPLES if method != "oat" else 0, n)
    budget.check_memory("--samples", n, need, f"{runs:,} runs of {parameters} parameters "
                        f"and their outputs for {method}", EnsembleError)
    return runs


def sobol_indices(evaluate_rows: Callable[[np.ndarray], np.ndarray],
                  distributions: Sequence[Distribution], n: int, seed: int = 0,
                  second_order: bool = False) -> dict[str, np.ndarray]:
    """Sobol' indices of each column of ``evaluate_rows(values)`` (rows of input values ->
    rows of outputs): 'S1', 'S1_conf', 'ST', 'ST_conf' of shape (parameter, output), with
    'S2', 'S2_conf' (parameter, parameter, output) when ``second_order``."""
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    d = len(distributions)
    problem = _problem(d)
    u = sobol_sample.sample(problem, n, calc_second_order=second_order, scramble=True,
                            seed=seed)
    y = np.asarray(evaluate_rows(draw(distributions, u)), dtype=float)
    y = y.reshape(len(u), -1)
    if not np.isfinite(y).all():
        bad = int((~np.isfinite(y)).any(axis=1).sum())
        raise RunError(f"{bad} of {len(u)} runs gave numbers that are not finite"
                       f"{_infeasible_note(evaluate_rows)}; Sobol' indices need every run "
                       "(narrow the ranges)")
    names = ["S1", "S1_conf", "ST", "ST_conf"] + (["S2", "S2_conf"] if second_order else [])
    out = {k: np.empty((d, d, y.shape[1]) if k.startswith("S2") else (d, y.shape[1]))
           for k in names}
    for j in range(y.shape[1]):
        if np.ptp(y[:, j]) <= CONSTANT * np.max(np.abs(y[:, j])):  # nothing to attribute
            for k in names:
                out[k][..., j] = 0.0
            continue
        result = sobol_analyze.analyze(problem, y[:, j], calc_second_order=second_order,
                                       num_resamples=RESAMPLES, conf_level=CONFIDENCE,
                                       seed=seed)
        for k in names:
            out[k][..., j] = np.nan_to_num(result[k]) if k.startswith("S2") else result[k]
    return out


def morris_indices(evaluate_rows: Callable[[np.ndarray], np.ndarray],
                   distributions: Sequence[Distribution], trajectories: int,
                   seed: int = 0) -> dict[str, np.ndarray]:
    """Morris mu*, mu*_conf, mu, sigma of each output column, shape (parameter, output), in
    output units per whole quantile range of the input."""
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    d = len(distributions)
    problem = _problem(d)
    u = morris_sample.sample(problem, trajectories, num_levels=MORRIS_LEVELS, seed=seed)
    lo, hi = MORRIS_QUANTILES
    y = np.asarray(evaluate_rows(draw(distributions, lo + (hi - lo) * u)), dtype=float)
    y = y.reshape(len(u), -1)
    if not np.isfinite(y).all():
        raise RunError("some Morris runs gave numbers that are not finite"
                       f"{_infeasible_note(evaluate_rows)} (narrow the ranges)")
    names = ("mu_star", "mu_star_conf", "mu", "sigma")
    out = {k: np.empty((d, y.shape[1])) for k in names}
    for j in range(y.shape[1]):
        result = morris_analyze.analyze(problem, u, y[:, j], num_levels=MORRIS_LEVELS,
                                        conf_level=CONFIDENCE, num_resamples=RESAMPLES,
                                        seed=seed)
        for k in names:
            out[k][:, j] = result[k]
    return out


def oat_ends(distribution: Distribution) -> tuple[float, float]:
    """The low and high ends a tornado moves a parameter to (SI base units as given)."""
    if distribution.low is not None and distribution.high is not None:
        return distribution.low, distribution.high
    lo, hi = distribution.ppf(np.array(OAT_QUANTILES))
    return float(lo), float(hi)


def _model_rows(scenario: Scenario, keys: Sequence[str], outputs: Sequence[str],
                executor: Executor | None, backend: str,
                progress: Callable[[int, int], None] | None = None):
    """rows of input values -> rows of (output, year) values, flattened; run in blocks of
    ``STREAM_BLOCK`` rows, reporting (rows done, rows in all) to ``progress``."""

    def run(x: np.ndarray) -> np.ndarray:
        parts = []
        for a, b in block_spans(len(x)):
            values = {k: x[a:b, j] for j, k in enumerate(keys)}
            out, _, miss = evaluate(scenario, values, outputs, executor=executor,
                                    backend=backend)
            run.infeasible += int(np.isposinf(miss).sum())  # type: ignore[attr-defined]
            parts.append(np.stack([out[name] for name in outputs]).transpose(2, 0, 1)
                         .reshape(b - a, -1))
            if progress is not None:
                progress(b, len(x))
        return np.concatenate(parts)

    run.infeasible = 0  # type: ignore[attr-defined]
    return run


def _infeasible_note(evaluate_rows: Callable[[np.ndarray], np.ndarray]) -> str:
    """" (N of them infeasible start states ...)" when the runs counted any, else ""."""
    n = getattr(evaluate_rows, "infeasible", 0)
    return (f" ({n} of them with an infeasible start state: "
            f"{'; or '.join(INFEASIBLE_REASONS.values())})") if n else ""


def sensitivity(scenario: Scenario | str | Path, method: str = "sobol", samples: int | None = None,
                outputs: Iterable[str] | None = None, seed: int = 0, *,
                second_order: bool = False, keys: Iterable[str] | None = None,
                executor: Executor | None = None, backend: str = "numpy",
                progress: Callable[[int, int], None] | None = None):
    """Sensitivity of each output in each year to every declared distribution of ``scenario``.

    ``method``: 'sobol' (S1, ST with confidence intervals; S2 with ``second_order``),
    'morris' (mu_star, mu_star_conf, mu, sigma) or 'oat' (low, high: the output with the
    parameter at each end of its range; swing = high - low; run: the scenario's own value).
    ``scenario`` is a loaded scenario, a shipped name or a path. Returns an
    ``xarray.Dataset`` with dims (parameter, output, year).
    """
    import xarray as xr

    scenario = as_scenario(scenario)
    n = check_samples(method, samples)
    chosen = check_totals(check_outputs(outputs))
    d = design(scenario, 1, seed, "random", keys)
    check_backend(backend)
    check_fits(scenario, method, n, len(d.keys), chosen, second_order)
    rows = _model_rows(scenario, d.keys, chosen, executor, backend, progress)
    years = scenario.years
    dims = ("parameter", "output", "year")
    shape = (len(d.keys), len(chosen), len(years))
    data: dict[str, tuple] = {}
    if method == "sobol":
        found = sobol_indices(rows, d.distributions, n, seed, second_order)
        runs = n * (2 * len(d.keys) + 2 if second_order else len(d.keys) + 2)
        for k, v in found.items():
            if k.startswith("S2"):
                data[k] = (("parameter", "parameter_2", "output", "year"),
                           v.reshape(len(d.keys), *shape))
            else:
                data[k] = (dims, v.reshape(shape))
    elif method == "morris":
        found = morris_indices(rows, d.distributions, n, seed)
        runs = n * (len(d.keys) + 1)
        for k, v in found.items():
            data[k] = (dims, v.reshape(shape))
    else:
        base = np.array([scenario.entries[k].base_value for k in d.keys])
        x = np.repeat(base[None, :], 2 * len(d.keys) + 1, axis=0)
        for j, dist in enumerate(d.distributions):
            x[2 * j + 1, j], x[2 * j + 2, j] = oat_ends(dist)
        y = rows(x).reshape(len(x), len(chosen), len(years))
        runs = len(x)
        data["low"] = (dims, y[1::2])
        data["high"] = (dims, y[2::2])
        data["swing"] = (dims, y[2::2] - y[1::2])
        data["run"] = (("output", "year"), y[0])
    units = [OUTPUT_BY_NAME[o].unit for o in chosen]
    coords = {"parameter": ("parameter", list(d.keys)), "output": ("output", list(chosen)),
              "year": ("year", years), "output_units": ("output", units)}
    if second_order and method == "sobol":
        coords["parameter_2"] = ("parameter_2", list(d.keys))
    ds = xr.Dataset(data, coords=coords)
    for name in map(str, ds.data_vars):
        ds[name].attrs["long_name"] = LONG_NAMES.get(name.removesuffix("_conf"), name)
        if name.endswith("_conf"):
            ds[name].attrs["long_name"] += f" ({CONFIDENCE:.0%} confidence half-width)"
    ds.attrs.update(provenance(d, chosen, runs))
    ds.attrs.update({"sensitivity_method": method, "base_samples": n, "runs": runs,
                     "samples": runs, "second_order": int(second_order),
                     "model": "projection", "title": f"projection: {method} sensitivity",
                     "correlations_used": "no (indices assume independent inputs)",
                     "distributions": json.dumps({k: dist.describe(repr) for k, dist
                                                  in zip(d.keys, d.distributions,
                                                         strict=True)})})
    del ds.attrs["usable_samples"]
    return ds


LONG_NAMES = {
    "S1": "First-order Sobol' index",
    "ST": "Total-order Sobol' index",
    "S2": "Second-order Sobol' index",
    "mu_star": "Morris mu* (mean absolute elementary effect, output units per quantile range)",
    "mu": "Morris mu (mean elementary effect)",
    "sigma": "Morris sigma (spread of elementary effects: interactions, non-linearity)",
    "low": "Output with the parameter at the low end of its range",
    "high": "Output with the parameter at the high end of its range",
    "swing": "High minus low",
    "run": "The scenario's own run",
}


def ranking(ds, year: int | None = None):
    """Parameters ranked per output by their main index in ``year`` (default: the last):
    ST for Sobol', mu* for Morris, |swing| for one at a time. Returns an ``xarray.DataArray``
    (output, rank) of parameter keys."""
    import xarray as xr

    key = {"sobol": "ST", "morris": "mu_star", "oat": "swing"}[ds.attrs["sensitivity_method"]]
    year = int(ds["year"][-1]) if year is None else year
    score = abs(ds[key].sel(year=year))
    order = np.argsort(-score.transpose("output", "parameter").values, axis=1)
    names = ds["parameter"].values[order]
    return xr.DataArray(names, dims=("output", "rank"),
                        coords={"output": ds["output"], "rank": np.arange(1, names.shape[1] + 1)})
