"""The model compiled by numba from its own numpy equations (optional: needs ``numba``).

Nothing is rewritten by hand. :mod:`projection.model.trace` runs ``dynamics.initial_state``
and ``integrate._rk4_step`` (hence ``dynamics.rates`` and the sector modules) on symbolic
arrays that record every scalar operation of one sample (:mod:`projection.model.codegen`);
:mod:`projection.model.codegen_numba` writes that record out as the Python source of one
numba function that takes each sample through the whole run in
scalar locals: the parameters read once, what depends on parameters alone computed once per
sample (retirement hazards, vintage offsets), then every Runge-Kutta step, keeping flow totals
and recording stocks and auxiliaries on 1 January. Numpy's temporaries, the memory traffic
that bounds the numpy engine, never exist. After the held start year the steps run a copy
of the step in which the switches that depend on time alone are settled and trends in time
advance by a factor per step; through the held start year, a copy in which the stocks hold
and the rates are evaluated once per step (see :func:`generate_source`).

The source and numba's machine code are kept in a per-machine cache folder (see
``CACHE_VARIABLE``) under a name that hashes the model's source files and numba's version, so
compilation happens the first time on a machine and again only after the equations change.
``ensemble.simulate(..., backend="numba")`` runs :func:`simulate_block` on each block; the
start-year calibration stays in numpy (``integrate.calibrate``) and calls :func:`compiled_run`
for its passes. This module keeps the engines (the cache), loads them and runs them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import dynamics, integrate
from .codegen import Layout, trace_engine, trace_function
from .codegen_numba import generate_function_source, generate_source
from .units import SECONDS_PER_YEAR

CACHE_VARIABLE = "PROJECTION_KERNEL_CACHE"
"""Environment variable naming the folder for generated and compiled engines. By default
``$XDG_CACHE_HOME/projection/kernel`` (``~/.cache/projection/kernel``)."""
THREADS_VARIABLE = "PROJECTION_KERNEL_THREADS"
"""Environment variable: threads that one block's samples are split over (default: one per
core, or one inside a worker process, where the pool already uses the cores)."""
SOURCE_FILES = [*sorted(Path(__file__).resolve().parent.glob("*.py")),
                *sorted(Path(__file__).resolve().parent.glob("data/*.csv")),
                *sorted(Path(__file__).resolve().parent.glob("data/sources/*.csv"))]
"""Files whose content names the compiled engine: any change in the model package makes a
new one."""
LANES = 16
"""Samples advanced together through each step: a few vectors' worth, so the compiled loop
over them runs in vector instructions while its working set stays in the first-level cache."""
MIN_SAMPLES_PER_THREAD = 256
"""Fewest samples worth a thread of their own (below that, starting it costs more)."""


def cache_folder() -> Path:
    """Where generated engines and their machine code are kept."""
    configured = os.environ.get(CACHE_VARIABLE)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "projection" / "kernel"


# --- loading engines ----------------------------------------------------------------------------

@dataclass
class Engine:
    """A compiled engine and the layout of its inputs and outputs."""

    function: object
    parameters: Layout
    stocks: Layout
    flows: Layout
    auxiliaries: Layout


_engines: dict[tuple, Engine] = {}
_lock = threading.Lock()


def _source_digest() -> str:
    import numba

    h = hashlib.sha256()
    h.update(f"{sys.version_info[:2]} numpy {np.__version__} numba {numba.__version__}".encode())
    for path in SOURCE_FILES:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


_digest: str | None = None


def _cache_name(key) -> str:
    """A file name for a compiled engine: the model's source digest and the engine's key."""
    global _digest
    if _digest is None:
        _digest = _source_digest()
    return hashlib.sha256(f"{_digest} {key}".encode()).hexdigest()[:20]


def _once(store: dict, key, make):
    """``store[key]``, made by ``make()`` by one thread at most, the first time it is asked."""
    found = store.get(key)
    if found is not None:
        return found
    with _lock:
        found = store.get(key)
        if found is None:
            found = store[key] = make()
        return found


def engine(shapes: Mapping[str, tuple[int, ...]], demand_only: bool) -> Engine:
    """The compiled engine for parameters of these leading shapes, from this process's
    memory, the cache folder, or made now (traced, written, compiled by numba)."""
    key = (tuple(sorted(shapes.items())), demand_only)

    def make() -> Engine:
        traced = trace_engine(shapes, demand_only)
        name = _cache_name(key)
        folder = cache_folder()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"engine_{'demand' if demand_only else 'full'}_{name}.py"

        def compiled():
            module = _load(path, lambda: generate_source(traced, LANES, not demand_only),
                           f"projection_engine_{name}")
            tables = [np.empty((0, layout.size, LANES))
                      for layout in (traced.flows, traced.stocks, traced.auxiliaries)]
            # no column: numba compiles the engine (or loads its machine code) and runs nothing
            module.run(np.empty((traced.parameters.size, LANES)), 0, 1, 1.0, False, *tables,
                       0, 0, 0)
            return module

        module = _one_process_at_a_time(path, compiled)
        return Engine(module.run, traced.parameters, traced.stocks, traced.flows,
                      traced.auxiliaries)

    return _once(_engines, key, make)


def _one_process_at_a_time(path: Path, make):
    """``make()`` holding an exclusive lock on a file beside ``path``: processes that need
    the same engine at once (commands started together on a fresh machine, test workers)
    compile it once, and the others wait for it and load it from the cache folder. Without
    file locks (not POSIX) or a lock file, each compiles what it needs, as before."""
    try:
        import fcntl
    except ImportError:
        return make()
    try:
        handle = open(path.with_name(f"{path.name}.lock"), "a")
    except OSError:
        return make()
    with handle:  # closing the file releases the lock
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError:
            pass
        return make()


_local = threading.local()


def _mark_block_thread() -> None:
    _local.block_thread = True


def block_threads(blocks: int, workers: int | None = None):
    """Threads that run blocks side by side in this process (the compiled engine releases the
    GIL, and so does most of numpy's work around it): nothing is copied between processes,
    and each block's engine then runs on its own thread."""
    from concurrent.futures import ThreadPoolExecutor

    count = max(1, min(workers or os.cpu_count() or 1, blocks))
    return ThreadPoolExecutor(max_workers=count, initializer=_mark_block_thread)


def _threads(n: int) -> int:
    configured = os.environ.get(THREADS_VARIABLE)
    if configured:
        return max(1, int(configured))
    import multiprocessing

    process = multiprocessing.current_process()
    in_worker = bool(process.daemon) or multiprocessing.parent_process() is not None
    if getattr(_local, "block_thread", False) or in_worker:
        return 1  # the blocks already share the cores
    return max(1, min(os.cpu_count() or 1, n // MIN_SAMPLES_PER_THREAD))


def _split(function, args: tuple, n: int, padded: int) -> None:
    """``function(*args, first, last)`` over the columns 0..padded, on several threads when
    there are enough samples (see ``_threads``)."""
    groups = padded // LANES
    threads = min(_threads(n), groups)
    if threads <= 1:
        function(*args, 0, padded)
        return
    from concurrent.futures import ThreadPoolExecutor

    edges = [LANES * (groups * k // threads) for k in range(threads + 1)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for done in [pool.submit(function, *args, a, b)
                     for a, b in zip(edges[:-1], edges[1:], strict=True)]:
            done.result()


def _tables(e: Engine, years: int, padded: int, record: bool,
            scratch: bool) -> tuple[np.ndarray, ...]:
    """Flow, stock and auxiliary tables for one run: new ones, or with ``scratch`` on a block
    thread (see :func:`block_threads`) the thread's own, reused from run to run while the
    shapes stay the same (touching fresh memory for every block costs more than the copies
    of what a caller keeps)."""
    key = (e, years, padded, record)
    if scratch and getattr(_local, "block_thread", False):
        held = getattr(_local, "scratch", None)
        if held is not None and held[0][0] is e and held[0][1:] == key[1:]:
            return held[1]
    tables = (np.empty((years, e.flows.size, padded)),
              np.empty((years, e.stocks.size if record else 0, padded)),
              np.empty((years, e.auxiliaries.size if record else 0, padded)))
    if scratch and getattr(_local, "block_thread", False):
        _local.scratch = (key, tables)
    return tables


def compiled_run(p: Mapping[str, np.ndarray], years: int, substeps: int, record: bool,
                 demand_only: bool = False, into: OutputTables | None = None, at: int = 0,
                 scratch: bool = False):
    """Drop-in for ``integrate._run``: (flow totals, stocks, auxiliaries) by year. With
    ``into`` (and ``record``), the results are written to its tables from column ``at`` on
    and returned as views of them. With ``scratch``, the results may be views of tables
    that the next ``scratch`` run on the same thread overwrites: the caller copies what it
    keeps before that."""
    shapes = {k: np.shape(v)[:-1] for k, v in p.items()}
    n = max(np.shape(v)[-1] for v in p.values())
    e = engine(shapes, demand_only)
    padded = -(-n // LANES) * LANES  # the last group repeats the first sample
    table = e.parameters.pack(p, n, padded)
    dt = SECONDS_PER_YEAR / substeps
    if into is None:
        flows, stocks, aux = _tables(e, years, padded, record, scratch)
        _split(e.function, (table, years, substeps, dt, record, flows, stocks, aux, 0), n,
               padded)
        flows, stocks, aux = flows[..., :n], stocks[..., :n], aux[..., :n]
    else:
        tables = into.tables(e, years)
        whole = n // LANES * LANES  # full groups go straight to the tables
        if whole:
            _split(e.function, (table, years, substeps, dt, record, *tables, at), whole, whole)
        if whole < n:  # the last group's padding must not reach the next block's columns
            tail = [np.empty((*x.shape[:2], LANES)) for x in tables]
            e.function(table, years, substeps, dt, record, *tail, -whole, whole, padded)
            for x, part in zip(tables, tail, strict=True):
                x[..., at + whole:at + n] = part[..., :n - whole]
        flows, stocks, aux = (x[..., at:at + n] for x in tables)
    out_stocks = e.stocks.unpack(stocks) if record else {}
    out_aux = e.auxiliaries.unpack(aux) if record else {}
    return e.flows.unpack(flows), out_stocks, out_aux


# --- compiled functions of the parameters -------------------------------------------------------

@dataclass
class FunctionEngine:
    """A compiled function of the parameters alone (elementwise along the sample axis)."""

    function: object
    parameters: Layout
    outputs: Layout
    order: list[str]
    """The keys of the result in order; those not in ``outputs`` pass a parameter through."""


_functions: dict[tuple, FunctionEngine] = {}


def _load(path: Path, source_of, name: str):
    """The module at ``path`` (written first by ``source_of()`` when absent)."""
    if not path.exists():
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(source_of())
        os.replace(partial, path)  # whole or absent, whoever writes it
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # numba's cache finds the function's module by name
    spec.loader.exec_module(module)
    return module


def function_engine(label: str, fn, shapes: Mapping[str, tuple[int, ...]]) -> FunctionEngine:
    """``fn`` (parameters -> dict of arrays, elementwise along the sample axis) compiled for
    parameters of these leading shapes; ``label`` names it in the cache."""
    key = (label, tuple(sorted(shapes.items())))

    def make() -> FunctionEngine:
        traced = trace_function(fn, shapes)
        name = _cache_name(key)
        folder = cache_folder()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"function_{label}_{name}.py"

        def compiled():
            module = _load(path, lambda: generate_function_source(
                traced.graph, traced.parameters, traced.nodes, LANES),
                f"projection_function_{name}")
            module.run(np.empty((traced.parameters.size, LANES)),  # compiled, runs nothing
                       np.empty((traced.outputs.size, LANES)), 0, 0)
            return module

        module = _one_process_at_a_time(path, compiled)
        return FunctionEngine(module.run, traced.parameters, traced.outputs, traced.order)

    return _once(_functions, key, make)


def compiled_function(label: str, fn):
    """``fn`` of the parameters, run by a compiled engine: a drop-in for ``fn(p)``."""
    def run(p: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        shapes = {k: np.shape(v)[:-1] for k, v in p.items()}
        n = max(np.shape(v)[-1] for v in p.values())
        e = function_engine(label, fn, shapes)
        padded = -(-n // LANES) * LANES
        table = e.parameters.pack(p, n, padded)
        out = np.empty((e.outputs.size, padded))
        _split(e.function, (table, out), n, padded)
        computed = e.outputs.unpack(out[None, :, :n])
        return {k: computed[k][0] if k in computed else p[k] for k in e.order}

    return run


derive = compiled_function("with_derived", dynamics.with_derived)
"""``dynamics.with_derived``, compiled."""
_first_guess = compiled_function(
    "first_calibration", lambda p: dynamics.first_calibration(p, SECONDS_PER_YEAR))


def first_guess(p: Mapping[str, np.ndarray], year_length: float) -> dict[str, np.ndarray]:
    """``dynamics.first_calibration``, compiled (for the calendar year's length)."""
    if year_length != SECONDS_PER_YEAR:
        return dynamics.first_calibration(p, year_length)
    return _first_guess(p)


def _start(p):
    return dynamics.with_derived({**p, **dynamics.first_calibration(p, SECONDS_PER_YEAR)})


start = compiled_function("start", _start)
"""``dynamics.with_derived`` of the parameters and ``dynamics.first_calibration``'s first
guess, compiled as one function (``integrate.calibrate``'s ``start``)."""


def simulate_block(parameters, start_year: int, end_year: int, substeps: int,
                   into: OutputTables | None = None, at: int = 0,
                   scratch: bool = False) -> integrate.RawResult:
    """One block of samples, calibrated and integrated by the compiled engine: the
    counterpart of ``integrate.simulate_block``. With ``into``, the engine writes its
    results to those tables from column ``at`` on (see :class:`OutputTables`); with
    ``scratch``, the result's arrays may be overwritten by the thread's next block (see
    :func:`compiled_run`)."""
    with np.errstate(all="ignore"):
        p = integrate.calibrate(parameters, substeps, run=compiled_run, start=start)
        n_years = end_year - start_year + 1
        flows, stocks, auxiliaries = compiled_run(p, n_years, substeps, True, into=into, at=at,
                                                  scratch=scratch)
        return integrate.finish_block(p, flows, stocks, auxiliaries, start_year, end_year)


class OutputTables:
    """The engine's (year, row, sample) tables of flows, stocks and auxiliaries for a whole
    ensemble, made when the first block needs them: each block writes its own columns, so
    the blocks' results need not be copied into one."""

    def __init__(self, samples: int) -> None:
        self.samples = samples
        self.engine: Engine | None = None
        self.arrays: tuple[np.ndarray, ...] = ()
        self._lock = threading.Lock()

    def tables(self, e: Engine, years: int) -> tuple[np.ndarray, ...]:
        with self._lock:
            if self.engine is None:
                self.engine = e
                self.arrays = tuple(np.empty((years, layout.size, self.samples))
                                    for layout in (e.flows, e.stocks, e.auxiliaries))
            if e is not self.engine or self.arrays[0].shape[0] != years:
                raise ValueError("blocks of one ensemble ran different engines")
            return self.arrays

    def joined(self) -> dict[str, dict[str, np.ndarray]]:
        """The whole ensemble's flows, stocks and auxiliaries from the engine: group ->
        name -> (year, [workload or cohort,] sample), views of the tables."""
        if self.engine is None:
            return {}
        e, (flows, stocks, aux) = self.engine, self.arrays
        return {"flows": e.flows.unpack(flows), "stocks": e.stocks.unpack(stocks),
                "auxiliaries": e.auxiliaries.unpack(aux)}
