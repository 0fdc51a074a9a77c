"""Ensembles: parameter samples built from a scenario, run in blocks over any executor.

Two public functions:

- :func:`parameter_samples` turns a scenario and a table of values (one column per scenario
  key, one row per sample) into the model's input arrays, checking every value as a scenario
  file's value is checked (bounds, shares that sum to one, the consistency rules, time
  constants against the integration step).
- :func:`simulate` calibrates and integrates those samples. It cuts them into blocks of
  ``BLOCK_SAMPLES``; each block is a pure function call (``run_block``) that any
  ``concurrent.futures.Executor`` can run: a process pool, Dask's ``Client.get_executor()``,
  or none at all. Each sample is calibrated and advanced on its own, so the result does not
  depend on how the samples are split or where the blocks run.

The model never starts processes behind the caller's back in a place where that would fail:
inside a worker process (a ``multiprocessing.Pool`` worker, a Dask worker, a pool's child) or
once threads of other libraries run, blocks run one after another in the calling process. It
changes no process-wide setting.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .errors import InputError
from .integrate import BLOCK_SAMPLES, RawResult, sample_count, simulate_block
from .parameters import WORKLOADS

if TYPE_CHECKING:
    from .scenario import Scenario

BACKENDS = ("auto", "numpy", "numba", "xla")
"""Engines: ``numpy`` (the equations as written, always there), ``numba`` (the same equations
compiled once per machine by ``projection.model.kernel``; the 'fast' extra), ``xla`` (compiled
by JAX), ``auto`` (numba when it is installed, else numpy)."""
TABLE = "parameter table"
"""How errors in a table of sample values name their source."""


class SampleError(InputError):
    """A table of sample values that cannot be used (unknown key, wrong length, a value out of
    bounds); ``str()`` names the key, the sample and what was expected."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(TABLE, key, message)


class OptionError(InputError, ValueError):
    """An argument of :func:`simulate` or :func:`parameter_samples` outside its choices
    (``backend=``, ``units=``, ``invalid=``); a ``ValueError`` too, as it always was."""

    def __init__(self, option: str, value: object, message: str) -> None:
        super().__init__(option, repr(value)[:60], message)


class KeepError(InputError):
    """``keep=`` names an output the catalogue does not have."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__("keep", name, message)


# --- building samples ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Samples(Mapping[str, np.ndarray]):
    """Model inputs for an ensemble: parameter name -> array with the sample axis last.

    A mapping, so it goes straight into :func:`simulate`. ``valid`` marks the samples whose
    values passed every check (all of them unless built with ``invalid="mask"``); ``varied``
    names the scenario keys that vary between samples.
    """

    arrays: Mapping[str, np.ndarray]
    valid: np.ndarray
    varied: tuple[str, ...]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.arrays)

    def __len__(self) -> int:
        return len(self.arrays)

    @property
    def size(self) -> int:
        """Number of samples."""
        return int(self.valid.shape[0])


def _columns(values: Any) -> list[tuple[str, Any]]:
    if values is None:
        return []
    names = getattr(getattr(values, "dtype", None), "names", None)
    if names:  # a numpy structured array
        return [(str(n), values[n]) for n in names]
    if hasattr(values, "items"):  # a dict, a pandas DataFrame, an xarray Dataset
        return [(str(k), v) for k, v in values.items()]
    raise SampleError("", f"got {type(values).__name__}, expected a table: a mapping of "
                          "scenario key -> values (dict of arrays, pandas DataFrame)")


def _column_in_base_units(key: str, column: Any, unit: str, units: str) -> np.ndarray:
    """One column as float SI base values, as ``Entry.base_value`` holds them."""
    from .units import UnitError, conversion_factor, parse_quantity, to_base

    raw = np.asarray(getattr(column, "values", column))
    if raw.ndim != 1:
        raise SampleError(key, f"expected one value per sample (1-D), got shape {raw.shape}")
    if raw.dtype.kind in "OUS":  # quantity strings, read exactly as a scenario value is
        out = np.empty(raw.shape[0])
        for i, text in enumerate(raw.tolist()):
            try:
                out[i] = to_base(parse_quantity(text), unit)
            except UnitError as exc:
                raise SampleError(key, f"sample {i}: value {text!r} {exc}") from None
        return out
    if raw.dtype.kind not in "iuf" or raw.dtype.kind == "b":
        raise SampleError(key, f"expected numbers or quantity strings, got {raw.dtype}")
    values = raw.astype(float)
    if units == "parameter":
        from .units import base_unit

        values = values * conversion_factor(unit, str(base_unit(unit)))
    return values


def _failures(scenario: Scenario, base: Mapping[str, np.ndarray], n: int,
              substeps: int) -> list[tuple[np.ndarray, str, str]]:
    """(bad-sample mask, key, reason) for every check a scenario value must pass."""
    from .parameters import MIX_SHARES
    from .scenario import (
        CONSISTENCY_RULES,
        SHARE_TOLERANCE,
        TIME_CONSTANTS,
        bounds_violations,
        parameter_for_key,
        workload_key,
    )
    from .units import SECONDS_PER_YEAR

    def value(key: str) -> np.ndarray:
        return base[key] if key in base else np.full(n, scenario.entries[key].base_value)

    found: list[tuple[np.ndarray, str, str]] = []
    for key, column in base.items():
        for bad, reason in bounds_violations(parameter_for_key(key), column):
            found.append((bad, key, reason))
    for name in ("request_share_start", "request_share_target"):
        keys = [workload_key(w, name) for w in WORKLOADS]
        if any(k in base for k in keys):
            total = sum(value(k) for k in keys)
            found.append((np.abs(total - 1.0) > SHARE_TOLERANCE, f"workloads.*.{name}",
                          "shares must sum to 1 (100 %)"))
    for label, keys in MIX_SHARES.items():
        if any(k in base for k in keys):
            total = sum(value(k) for k in keys)
            found.append((np.abs(total - 1.0) > SHARE_TOLERANCE, label,
                          "shares must sum to 1 (100 %)"))
    for smaller, larger, message in CONSISTENCY_RULES:
        if smaller in base or larger in base:
            found.append((~(value(smaller) < value(larger)), smaller, message))
    for key, stages in TIME_CONSTANTS.items():
        if key in base:
            found.append((base[key] / SECONDS_PER_YEAR / stages * substeps < 1.0, key,
                          f"is shorter than one integration step (1/{substeps} yr)"))
    return found


def _shown(key: str, base_value: float) -> str:
    """A base-unit value in the unit of the parameter table, for an error message."""
    from .scenario import parameter_for_key
    from .units import base_unit, conversion_factor

    unit = parameter_for_key(key).unit
    return f"{base_value / conversion_factor(unit, str(base_unit(unit))):.6g} {unit}"


def parameter_samples(
    scenario: Scenario,
    values: Any = None,
    *,
    size: int | None = None,
    units: Literal["parameter", "base"] = "parameter",
    invalid: Literal["raise", "mask"] = "raise",
) -> Samples:
    """Model inputs for an ensemble: the scenario's values, with some replaced sample by sample.

    ``values`` is a table with one column per scenario key (``"demand.adoption_growth"``,
    ``"workloads.reasoning.tokens_per_request"``: the keys of the scenario files) and one
    row per sample: a dict of 1-D arrays, a pandas DataFrame or a numpy structured array.
    Keys not in the table keep the scenario's value in every sample. Numbers are read in

    - ``units="parameter"`` (default): the unit of the parameter table
      (``projection.model.parameters``, e.g. ``TWh/yr``, ``J``, ``1/yr`` for a growth rate,
      so 0.3 is 30 %/yr compound; fractions as 0-1);
    - ``units="base"``: SI base units exactly as ``Entry.base_value``, ``Entry.low`` and
      ``Entry.high`` hold them (a growth rate as a compound rate per second).

    A column of strings (``"40 %/yr"``) is read as a scenario file's value is, whatever
    ``units`` says. ``size`` gives the number of samples when the table is empty (or checks it
    otherwise); with neither, one sample.

    Every sample is checked as a scenario file is: bounds of each parameter, shares that sum to
    one, the consistency rules (AI energy below the total, start load below the maximum) and
    time constants at least one integration step. ``invalid="raise"`` raises
    :class:`SampleError` for the first failure (naming the key, the sample and the reason);
    ``invalid="mask"`` gives such samples the scenario's own values instead and marks them
    False in ``Samples.valid``, for callers that score them separately (calibration).

    Returns :class:`Samples`, a mapping of parameter name -> array of shape (samples,) or
    (workloads, samples), ready for :func:`simulate`.
    """
    from .scenario import _suggest, all_keys, model_value, parameter_for_key

    if units not in ("parameter", "base"):
        raise OptionError("units", units, "expected 'parameter' or 'base'")
    if invalid not in ("raise", "mask"):
        raise OptionError("invalid", invalid, "expected 'raise' or 'mask'")
    known = all_keys()
    base: dict[str, np.ndarray] = {}
    for key, column in _columns(values):
        if key not in scenario.entries:
            raise SampleError(key, f"unknown key{_suggest(key, known)}")
        p = parameter_for_key(key)
        base[key] = _column_in_base_units(key, column, p.unit, units)
    lengths = {len(v) for v in base.values()}
    if size is not None:
        lengths.add(int(size))
    if len(lengths) > 1:
        raise SampleError(next(iter(base), "size"), f"columns of different lengths "
                          f"{sorted(lengths)}; every key needs one value per sample")
    n = lengths.pop() if lengths else 1
    if n < 1:
        raise SampleError("size", "expected at least one sample")
    valid = np.ones(n, dtype=bool)
    for bad, key, reason in _failures(scenario, base, n, scenario.substeps_per_year):
        bad = bad & valid
        if bad.any():
            i = int(np.argmax(bad))
            if invalid == "raise":
                shown = f"value {_shown(key, base[key][i])} " if key in base else ""
                raise SampleError(key, f"sample {i}: {shown}{reason}")
            valid &= ~bad
    arrays = scenario.parameter_arrays()
    out: dict[str, np.ndarray] = {k: np.repeat(v, n, axis=-1) for k, v in arrays.items()}
    for key, column in base.items():
        p = parameter_for_key(key)
        column = np.where(valid, column, scenario.entries[key].base_value)
        if p.per_workload:
            out[p.name][WORKLOADS.index(key.split(".")[1])] = model_value(p, column)
        else:
            out[p.name] = model_value(p, column)
    return Samples(out, valid, tuple(base))


# --- running blocks -----------------------------------------------------------------------------

def resolve_backend(backend: str) -> str:
    """The engine ``backend`` names: ``auto`` is numba when it is installed, else numpy."""
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise OptionError("backend", backend, f"expected one of {', '.join(BACKENDS)}")
    if backend == "auto":
        import importlib.util

        return "numba" if importlib.util.find_spec("numba") is not None else "numpy"
    return backend


def _block_runner(backend: str) -> Callable[..., RawResult]:
    backend = resolve_backend(backend)
    if backend == "numpy":
        return simulate_block
    if backend == "numba":
        from . import kernel

        return kernel.simulate_block
    if backend == "xla":
        from . import xla

        return xla.simulate_block
    raise OptionError("backend", backend, f"expected one of {', '.join(BACKENDS)}")


def check_keep(keep: Iterable[str] | None) -> tuple[str, ...] | None:
    """The output names of ``keep=``, checked against the catalogue (``results.OUTPUTS``)."""
    if keep is None:
        return None
    from .results import OUTPUT_BY_NAME
    from .scenario import _suggest

    names = (keep,) if isinstance(keep, str) else tuple(keep)
    for name in names:
        if name not in OUTPUT_BY_NAME:
            raise KeepError(name, f"no such output{_suggest(name, list(OUTPUT_BY_NAME))}; "
                                  "expected names from projection.model.results.OUTPUTS")
    return names


def run_block(parameters: Mapping[str, np.ndarray], start_year: int, end_year: int,
              substeps: int, backend: str = "numpy",
              keep: Sequence[str] | None = None) -> RawResult:
    """Calibrate and integrate one block of samples: a pure function of its arguments (what an
    executor runs). With ``keep``, the block holds only those catalogue outputs (in their file
    units), the calibration quantities and the calibration error."""
    if keep is not None and resolve_backend(backend) == "numba":
        from . import kernel

        # the engine's tables may be reused by this thread's next block: the outputs kept
        # are copied below
        raw = kernel.simulate_block(parameters, start_year, end_year, substeps, scratch=True)
    else:
        raw = _block_runner(backend)(parameters, start_year, end_year, substeps)
    if keep is None:
        return raw
    from .dynamics import CALIBRATION_UNITS
    from .results import OUTPUT_BY_NAME

    outputs = {name: np.array(OUTPUT_BY_NAME[name].model_values(raw), dtype=float)
               for name in keep}
    calibration = {k: raw.parameters[k] for k in CALIBRATION_UNITS}
    return RawResult(raw.years, {}, {}, {}, calibration, raw.calibration_error, outputs)


def block_spans(n: int, block_samples: int = BLOCK_SAMPLES) -> list[tuple[int, int]]:
    """[start, stop) of each block of at most ``block_samples`` samples."""
    edges = [*range(0, n, block_samples), n]
    return list(zip(edges[:-1], edges[1:], strict=True))


def _groups(result: RawResult) -> dict[str, dict[str, np.ndarray]]:
    return {"stocks": result.stocks, "auxiliaries": result.auxiliaries, "flows": result.flows,
            "parameters": result.parameters, "outputs": result.outputs,
            "error": {"calibration_error": result.calibration_error}}


def join_blocks(blocks: Sequence[RawResult],
                done: Mapping[str, Mapping[str, np.ndarray]] | None = None) -> RawResult:
    """One result from blocks of consecutive samples (along the last axis); ``done`` holds
    arrays already joined (group -> name -> array), which are taken as they are."""
    if len(blocks) == 1 and not done:
        return blocks[0]
    done = done or {}
    parts = [_groups(b) for b in blocks]
    joined = {name: {k: done[name][k] if k in done.get(name, {})
                     else np.concatenate([p[name][k] for p in parts], axis=-1) for k in group}
              for name, group in parts[0].items()}
    return RawResult(blocks[0].years, joined["stocks"], joined["auxiliaries"], joined["flows"],
                     joined["parameters"], joined["error"]["calibration_error"],
                     joined["outputs"])


def _in_worker_process() -> bool:
    process = multiprocessing.current_process()
    return bool(process.daemon) or multiprocessing.parent_process() is not None


def default_executor(blocks: int, workers: int | None = None) -> Executor | None:
    """A process pool of one worker per core (at most one per block), or None where starting
    processes is unwise: one core or one block, inside a worker process (daemonic processes may
    have no children, and nested pools oversubscribe the cores), or once other threads run
    (XLA's, a server's: forking a threaded process can deadlock)."""
    count = min(workers or os.cpu_count() or 1, blocks)
    if count <= 1 or _in_worker_process():
        return None
    if "jax" in sys.modules or threading.active_count() > 1:
        return None
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    from .workers import init_arguments, worker_init

    return ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("fork"),
                               initializer=worker_init, initargs=init_arguments())


def simulate(
    parameters: Mapping[str, np.ndarray],
    start_year: int,
    end_year: int,
    substeps: int,
    *,
    executor: Executor | None = None,
    keep: Iterable[str] | None = None,
    backend: str = "numpy",
    workers: int | None = None,
    block_samples: int = BLOCK_SAMPLES,
) -> RawResult:
    """Calibrate and integrate from 1 January of ``start_year`` to the end of ``end_year``.

    ``parameters`` maps each parameter name to an array whose last axis is the sample axis
    (length 1 or the ensemble size): :func:`parameter_samples` builds them. Samples are cut
    into blocks of ``block_samples``; the blocks run on ``executor`` (any
    ``concurrent.futures.Executor``: a ``ProcessPoolExecutor``, Dask's
    ``Client.get_executor()``), or by default on a process pool of ``workers`` processes (one
    per core) when there is more than one block and more than one core and starting processes
    is safe (see :func:`default_executor`), else one after another in this process.

    ``keep`` names catalogue outputs (``projection.model.results.OUTPUTS``) to keep: the
    result then holds only those (``RawResult.outputs``, in their file units) besides the
    calibration quantities, so a large sweep needs not hold every variable of every sample.

    ``backend="numba"`` runs the same equations compiled by numba (``projection.model.kernel``;
    needs ``numba``; blocks then run on threads of this process unless ``executor`` is
    given), ``"xla"`` compiled by JAX (``projection.model.xla``; needs ``jax``), ``"auto"``
    numba when installed, else numpy. The result does not depend on the split, the executor
    or the order in which blocks finish.
    """
    backend = resolve_backend(backend)
    names = check_keep(keep)
    n = sample_count(parameters)
    full = {k: np.broadcast_to(v, (*np.shape(v)[:-1], n)) for k, v in parameters.items()}
    task = partial(run_block, start_year=start_year, end_year=end_year, substeps=substeps,
                   backend=backend, keep=names)
    spans = block_spans(n, block_samples)
    blocks = ({k: np.ascontiguousarray(v[..., a:b]) for k, v in full.items()} for a, b in spans)
    if len(spans) == 1:
        return task(next(blocks))
    if executor is not None:
        return _run_on(executor, task, blocks)
    if backend == "numba":
        from .kernel import block_threads
        from .workers import owned

        with owned(block_threads(len(spans), workers)) as threads:
            if names is None:  # every output: the blocks write into one set of tables
                from .kernel import OutputTables, simulate_block

                into = OutputTables(n)
                futures = [threads.submit(simulate_block, block, start_year, end_year,
                                          substeps, into, a)
                           for block, (a, _) in zip(blocks, spans, strict=True)]
                return join_blocks([f.result() for f in futures], into.joined())
            return _run_on(threads, task, blocks)
    pool = default_executor(len(spans), workers)
    if pool is None:
        return join_blocks([task(b) for b in blocks])
    from .workers import owned, signals_held

    with owned(pool):
        with signals_held():  # the pool forks its workers on the first submit
            first = pool.submit(task, next(blocks))
        futures = [first, *(pool.submit(task, block) for block in blocks)]
        return join_blocks([f.result() for f in futures])


def _run_on(executor: Executor, task: Callable[..., RawResult], blocks: Iterable) -> RawResult:
    """Submit every block, then join the results in sample order."""
    futures = [executor.submit(task, block) for block in blocks]
    return join_blocks([f.result() for f in futures])
