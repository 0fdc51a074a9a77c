"""Sweeps: every combination of the values of one or two parameters over a grid, each run from
the scenario's own values, the grid's axes becoming dimensions of the result."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import budget
from .integrate import CALIBRATION_TOLERANCE
from .requests import EnsembleError, check_backend, values_per_year
from .results import OUTPUT_BY_NAME, third_coords
from .scenario import Scenario, _suggest, all_keys, check_bounds, parameter_for_key
from .uncertainty import as_scenario, check_outputs, evaluate
from .units import conversion_factor


@dataclass(frozen=True)
class Axis:
    """One swept parameter: key and its values (SI base units as given), with the text."""

    key: str
    values: np.ndarray
    text: str


def sweep_axis(scenario: Scenario, spec: str) -> Axis:
    """Parse ``KEY=LOW:HIGH:N`` (LOW and HIGH with units, as in a scenario file)."""
    from .units import UnitError, parse_quantity, to_base

    if "=" not in spec:
        raise EnsembleError("--param", spec, "expected KEY=LOW:HIGH:N, e.g. "
                            "demand.adoption_growth=40%/yr:120%/yr:5")
    key, _, grid = spec.partition("=")
    key = key.strip()
    if key not in scenario.entries:
        raise EnsembleError("--param", key, f"unknown key{_suggest(key, all_keys())}")
    parts = grid.split(":")
    if len(parts) != 3:
        raise EnsembleError("--param", spec, "expected KEY=LOW:HIGH:N with two colons")
    p = parameter_for_key(key)
    try:
        count = int(parts[2])
    except ValueError:
        count = 0
    if not 2 <= count <= budget.SAMPLES_MAX:  # a whole number: parsed by int() above
        raise EnsembleError("--param", spec, f"N {parts[2].strip()[:40]!r}: expected a whole "
                            f"number of grid points from 2 to {budget.SAMPLES_MAX:,}")
    _check_grid_fits(scenario, key, count, 1)
    ends = []
    for text in parts[:2]:
        try:
            base = to_base(parse_quantity(text.strip()), p.unit)
        except UnitError as exc:
            raise EnsembleError("--param", key, f"{text.strip()!r} {exc}") from None
        problem = check_bounds(p, base)
        if problem:
            raise EnsembleError("--param", key, f"{text.strip()!r} {problem}")
        ends.append(base)
    if not ends[0] < ends[1]:
        raise EnsembleError("--param", key, f"expected LOW < HIGH, got {parts[0]!r} and "
                            f"{parts[1]!r}")
    entry = scenario.entries[key]
    if not ends[0] <= entry.base_value <= ends[1]:
        raise EnsembleError("--param", key, f"the range {parts[0]}..{parts[1]} excludes the "
                            f"scenario's value {entry.text!r}; a sweep is read around the "
                            "scenario's own run")
    return Axis(key, np.linspace(ends[0], ends[1], count), grid)


def _check_grid_fits(scenario: Scenario, key: str, runs: int, values: int) -> None:
    need = budget.runs_needs(runs, len(scenario.years), values, 2)
    budget.check_memory("--param", key, need, f"{runs:,} runs and their outputs",
                        error=EnsembleError)


def check_sweep_fits(scenario: Scenario, axes: Sequence[Axis],
                     outputs: Sequence[str]) -> int:
    """The number of runs of the grid, after refusing one whose runs and outputs cannot fit
    in memory (``model.budget``)."""
    runs = 1
    for a in axes:
        runs *= len(a.values)
    _check_grid_fits(scenario, "+".join(a.key for a in axes), runs, values_per_year(outputs))
    return runs


def sweep(scenario: Scenario | str | Path, axes: Sequence[Axis | str],
          outputs: Iterable[str] | None = None, *, executor: Executor | None = None,
          backend: str = "auto"):
    """Every combination of the swept values (one or two axes, each an :class:`Axis` or a
    ``"KEY=LOW:HIGH:N"`` string): an ``xarray.Dataset`` with a dimension per swept key (values
    in the key's scenario unit), then year[, workload]."""
    scenario = as_scenario(scenario)
    if isinstance(axes, str | Axis):
        axes = [axes]
    for a in axes:
        if not isinstance(a, str | Axis):
            raise EnsembleError("--param", repr(a)[:40], "expected KEY=LOW:HIGH:N, e.g. "
                                "demand.adoption_growth=40%/yr:120%/yr:5")
    grid_axes = [a if isinstance(a, Axis) else sweep_axis(scenario, a) for a in axes]
    return _sweep(scenario, grid_axes, outputs, executor, backend)


def _sweep(scenario: Scenario, axes: list[Axis], outputs: Iterable[str] | None,
           executor: Executor | None, backend: str):
    import xarray as xr

    from .run import provenance as scenario_provenance
    from .units import base_unit

    if not 1 <= len(axes) <= 2:
        raise EnsembleError("--param", "", "expected one or two --param options")
    if len({a.key for a in axes}) != len(axes):
        raise EnsembleError("--param", axes[0].key, "given twice; sweep two different keys")
    chosen = check_outputs(outputs)
    check_backend(backend)
    check_sweep_fits(scenario, axes, chosen)
    grids = np.meshgrid(*[a.values for a in axes], indexing="ij")
    values = {a.key: g.ravel() for a, g in zip(axes, grids, strict=True)}
    out, ok, miss = evaluate(scenario, values, chosen, executor=executor, backend=backend,
                             calibrated_only=True)
    shape = tuple(len(a.values) for a in axes)
    coords: dict[str, object] = {"year": ("year", scenario.years, {"long_name": "Calendar year"})}
    for a in axes:
        p = parameter_for_key(a.key)
        factor = conversion_factor(str(base_unit(p.unit)), p.unit)
        shown = a.values * factor
        if p.kind == "growth":
            shown = shown * 100.0
        unit = "%/yr" if p.kind == "growth" else p.unit
        coords[a.key] = (a.key, shown, {"units": unit, "long_name": p.description})
    data = {}
    dims_grid = tuple(a.key for a in axes)
    for name, v in out.items():
        o = OUTPUT_BY_NAME[name]
        v = v.reshape(*v.shape[:-1], *shape)
        v = np.moveaxis(v, list(range(v.ndim - len(shape), v.ndim)), list(range(len(shape))))
        dims = (*dims_grid, "year", o.dim)[: v.ndim]
        data[name] = (dims, v, {"units": o.unit, "long_name": o.long_name,
                                "quantity_type": o.kind})
    coords.update(third_coords({d[0][-1] for d in data.values()
                                if len(d[0]) == len(dims_grid) + 2}))
    ds = xr.Dataset(data, coords=coords)
    ds["usable"] = (dims_grid, ok.reshape(shape).astype(np.int8),
                    {"long_name": "1 where the run is finite and calibrated"})
    ds.attrs.update(scenario_provenance(scenario))
    ds.attrs.update({"model": "projection", "swept": json.dumps({a.key: a.text for a in axes}),
                     "title": "projection: parameter sweep",
                     "runs_infeasible_start": int(np.isposinf(miss).sum()),
                     "runs_missing_start_targets": int((np.isfinite(miss)
                                                        & (miss > CALIBRATION_TOLERANCE)).sum())})
    return ds
