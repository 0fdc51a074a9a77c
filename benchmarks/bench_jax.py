"""Speed of the same model compiled by JAX/XLA: a measured path to faster ensembles.

Prints figures; asserts nothing. Needs JAX, which the project does not depend on:

    .venv/bin/pip install jax jaxlib
    .venv/bin/python benchmarks/bench_jax.py [--samples N]

Nothing in the model is rewritten: the sector modules, ``dynamics`` and the RK4 step of
``integrate`` are re-created with their global ``np`` bound to ``jax.numpy``, the time loop
becomes a ``lax.scan`` around the project's own ``_rk4_step``, and the start-year
calibration stays in numpy around the compiled run. Blocks of samples run on threads (XLA
releases the GIL); forked workers must not be used once XLA has started.
"""

from __future__ import annotations

import argparse
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

try:
    import jax
    import jax.numpy as jnp
    from jax import lax
except ImportError:  # pragma: no cover - an optional benchmark
    raise SystemExit("bench_jax.py needs JAX: pip install jax jaxlib") from None

from bench_model import SEED, ensemble

from projection.model import buildout, demand, hardware, impacts, integrate
from projection.model import dynamics as numpy_dynamics
from projection.model.scenario import load_scenario

jax.config.update("jax_enable_x64", True)
ROOT = Path(__file__).resolve().parents[1]
BLOCK = 5_000
PAD_SIZES = (256, 1_024, 2_500, BLOCK)
"""Sample counts that the calibration's shrinking subsets are padded to, so that XLA compiles
a few shapes rather than one per subset size."""


def rebind(module: types.ModuleType, names: dict) -> types.ModuleType:
    """A copy of ``module`` whose functions see ``np`` as jax.numpy (and ``names``)."""
    namespace = dict(module.__dict__)
    namespace["np"] = jnp
    namespace.update(names)
    for name, obj in list(namespace.items()):
        if isinstance(obj, types.FunctionType) and obj.__module__ == module.__name__:
            namespace[name] = types.FunctionType(obj.__code__, namespace, name, obj.__defaults__,
                                                 obj.__closure__)
    copy = types.ModuleType(f"jax_{module.__name__}")
    copy.__dict__.update(namespace)
    return copy


sectors = {m.__name__.rsplit(".", 1)[1]: rebind(m, {})
           for m in (demand, hardware, buildout, impacts)}
jax_dynamics = rebind(numpy_dynamics, sectors)
jax_integrate = rebind(integrate, {"rates": jax_dynamics.rates,
                                   "initial_state": jax_dynamics.initial_state})


def _scan_run(p, years, substeps, record, demand_only=False):
    state = jax_dynamics.initial_state(p)
    if demand_only:
        state = {k: state[k] for k in numpy_dynamics.DEMAND_STOCKS}
    dt = integrate.SECONDS_PER_YEAR / substeps
    step = jax_integrate._rk4_step

    def one_year(state, year):
        start = state
        state, total, aux = step(state, p, year * substeps * dt, dt, record, demand_only)

        def one_substep(carry, sub):
            st, tot = carry
            st, flows, _ = step(st, p, (year * substeps + sub) * dt, dt, False, demand_only)
            return (st, {k: tot[k] + flows[k] for k in tot}), None

        (state, total), _ = lax.scan(one_substep, (state, total), jnp.arange(1, substeps))
        return state, (total, start if record else {}, aux)

    _, (flows, stocks, aux) = lax.scan(one_year, state, jnp.arange(years))
    return flows, stocks, aux


_compiled = jax.jit(_scan_run, static_argnums=(1, 2, 3, 4))


def compiled_run(p, years, substeps, record, demand_only=False):
    """``integrate._run`` on XLA, padding small sample counts to a few fixed sizes."""
    m = p["pue_start"].shape[-1]
    size = next((s for s in PAD_SIZES if s >= m), m)
    if size != m:
        index = np.concatenate([np.arange(m), np.zeros(size - m, dtype=int)])
        p = {k: v[..., index] for k, v in p.items()}
    out = _compiled(dict(p), years, substeps, record, demand_only)
    return tuple({k: np.asarray(v)[..., :m] for k, v in d.items()} for d in out)


def simulate(parameters, start_year, end_year, substeps, workers=2):
    n = integrate.sample_count(parameters)
    full = {k: np.broadcast_to(v, (*np.shape(v)[:-1], n)) for k, v in parameters.items()}
    spans = [(a, min(n, a + BLOCK)) for a in range(0, n, BLOCK)]

    def run_block(span):
        a, b = span
        block = {k: np.ascontiguousarray(v[..., a:b]) for k, v in full.items()}
        with np.errstate(all="ignore"):
            return integrate._simulate_block_quietly(block, start_year, end_year, substeps)

    original = integrate._run
    integrate._run = compiled_run  # the numpy calibration calls the compiled run
    try:
        out = integrate._allocate_like(run_block((0, 1)), n, shared=False)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for span, result in zip(spans, pool.map(run_block, spans), strict=True):
                integrate._store(out, result, span)
    finally:
        integrate._run = original
    return out


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "high_growth.toml"))
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    s = load_scenario(args.scenario)
    base = s.parameter_arrays()
    years = s.end_year - s.start_year + 1

    start = time.perf_counter()
    simulate(base, s.start_year, s.end_year, s.substeps_per_year)
    took = time.perf_counter() - start
    print(f"JAX {jax.__version__}: first one-sample run (compiles) {took:.1f} s")
    single = best_of(lambda: simulate(base, s.start_year, s.end_year, s.substeps_per_year), 10)
    print(f"one scenario run: best {single * 1e3:.1f} ms")

    params = ensemble(base, args.samples, SEED)
    start = time.perf_counter()
    ours = simulate(params, s.start_year, s.end_year, s.substeps_per_year)
    print(f"first {args.samples:,}-sample run, compiling its block shapes: "
          f"{time.perf_counter() - start:.1f} s")
    reference = integrate.simulate(params, s.start_year, s.end_year, s.substeps_per_year,
                                   workers=1)  # no forking once XLA runs
    worst = max(float(np.nanmax(np.abs(ours.flows[k] / reference.flows[k] - 1)))
                for k in ("facility_energy", "ai_facility_energy", "emissions"))
    took = best_of(lambda: simulate(params, s.start_year, s.end_year, s.substeps_per_year),
                   args.repeat)
    print(f"{args.samples:,} samples x {years} years: best {took:.2f} s, "
          f"{args.samples * years / took:,.0f} member-years per second "
          f"(largest relative difference from the numpy path: {worst:.1e})")


if __name__ == "__main__":
    main()
