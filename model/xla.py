"""The same model compiled by JAX/XLA, for large ensembles (optional: needs ``jax``).

Nothing is rewritten: the sector modules, ``start``, ``dynamics`` and the Runge-Kutta step of
``integrate`` are re-created with their global ``np`` bound to ``jax.numpy``, so the
equations stay the ones in demand.py, hardware.py, buildout.py and impacts.py. The time loop
becomes a ``lax.scan`` around ``integrate._rk4_step``; the start-year calibration stays in
numpy and calls the compiled run. ``ensemble.simulate(..., backend="xla")`` splits large
ensembles into blocks and runs :func:`simulate_block` on each (processes must not be forked
once XLA has started, and ``ensemble`` does not fork then).

The first call in a process compiles the run for each block shape (seconds); later calls
reuse it, and later processes load it from the compilation cache (see ``CACHE_VARIABLE``).
"""

from __future__ import annotations

import os
import types
from collections.abc import Mapping
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from . import buildout, demand, hardware, impacts, integrate, schedules, siting, start, supply
from . import dynamics as numpy_dynamics

jax.config.update("jax_enable_x64", True)

CACHE_VARIABLE = "PROJECTION_XLA_CACHE"
"""Environment variable naming the folder for compiled programs (empty: no cache). By
default they are kept under the user's cache folder, so that later processes skip most of
the compilation."""
_cache = os.environ.get(CACHE_VARIABLE,
                        str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                            / "projection" / "xla"))
if _cache:
    jax.config.update("jax_compilation_cache_dir", _cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

PAD_SIZES = (256, 1_024, 2_500, integrate.BLOCK_SAMPLES)
"""Sample counts that the calibration's shrinking subsets are padded to, so that XLA
compiles a few shapes rather than one per subset size."""


def _rebind(module: types.ModuleType, names: Mapping[str, object]) -> types.ModuleType:
    """A copy of ``module`` whose functions see ``np`` as jax.numpy (and ``names``)."""
    namespace = dict(module.__dict__)
    namespace["np"] = jnp
    namespace.update(names)
    for name, obj in list(namespace.items()):
        if isinstance(obj, types.FunctionType) and obj.__module__ == module.__name__:
            namespace[name] = types.FunctionType(obj.__code__, namespace, name, obj.__defaults__,
                                                 obj.__closure__)
    copy = types.ModuleType(f"{module.__name__}_on_xla")
    copy.__dict__.update(namespace)
    return copy


_sectors = {m.__name__.rsplit(".", 1)[1]: _rebind(m, {})
            for m in (demand, hardware, buildout, impacts, schedules, siting)}
_sectors["supply"] = _rebind(supply, _sectors)
_start = _rebind(start, _sectors)
_dynamics = _rebind(numpy_dynamics, {**_sectors, "initial_state": _start.initial_state})
_integrate = _rebind(integrate, {"rates": _dynamics.rates,
                                 "initial_state": _start.initial_state})


def _scan_run(p, years, substeps, record, demand_only=False):
    """``integrate._run`` as one XLA program: a scan over years, and over sub-steps in each."""
    state = _start.initial_state(p)
    if demand_only:
        state = {k: state[k] for k in numpy_dynamics.DEMAND_STOCKS}
    dt = integrate.SECONDS_PER_YEAR / substeps
    step = _integrate._rk4_step

    def one_year(state, year):
        start = state
        state, total, aux = step(state, p, year * substeps * dt, dt, record, demand_only)

        def one_substep(carry, sub):
            current, flows_so_far = carry
            current, flows, _ = step(current, p, (year * substeps + sub) * dt, dt, False,
                                     demand_only)
            return (current, {k: flows_so_far[k] + flows[k] for k in flows_so_far}), None

        (state, total), _ = lax.scan(one_substep, (state, total), jnp.arange(1, substeps))
        return state, (total, start if record else {}, aux)

    _, (flows, stocks, aux) = lax.scan(one_year, state, jnp.arange(years))
    return flows, stocks, aux


_compiled = jax.jit(_scan_run, static_argnums=(1, 2, 3, 4))


def compiled_run(p, years: int, substeps: int, record: bool, demand_only: bool = False):
    """Drop-in for ``integrate._run`` on XLA; small sample counts are padded to fixed sizes."""
    m = int(np.shape(p["ai_pue_start"])[-1])
    size = next((s for s in PAD_SIZES if s >= m), m)
    if size != m:
        index = np.concatenate([np.arange(m), np.zeros(size - m, dtype=int)])
        p = {k: np.asarray(v)[..., index] for k, v in p.items()}
    out = _compiled(dict(p), years, substeps, record, demand_only)
    return tuple({k: np.asarray(v)[..., :m] for k, v in d.items()} for d in out)


def simulate_block(parameters, start_year: int, end_year: int,
                   substeps: int) -> integrate.RawResult:
    """One block of samples, calibrated and integrated on XLA: the compiled counterpart of
    ``integrate.simulate_block``."""
    with np.errstate(all="ignore"):
        p = integrate.calibrate(parameters, substeps, run=compiled_run)
        n_years = end_year - start_year + 1
        flows, stocks, auxiliaries = compiled_run(p, n_years, substeps, True)
        return integrate.finish_block(p, flows, stocks, auxiliaries, start_year, end_year)
