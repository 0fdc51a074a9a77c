"""The compiled engine (numba, generated from the numpy equations) against the numpy engine.

The engine is traced from ``dynamics.rates``; these tests prove that what it computes is what
the numpy path computes, to 1e-9 relative, on every shipped scenario and on sampled members
out to the ends of every declared range, and that the tracer refuses what it cannot follow.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from projection.model import integrate, trace
from projection.model.ensemble import parameter_samples, simulate
from projection.model.scenario import load_scenario

pytest.importorskip("numba")
from projection.model import kernel  # noqa: E402

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SHIPPED = sorted(p.stem for p in SCENARIOS.glob("*.toml"))
TOLERANCE = 1e-9


RESIDUAL = 1e-12
"""Absolute tolerance, as a share of a variable's largest magnitude, for values that are
small differences of large ones (unserved demand when capacity barely binds): there both
engines carry the rounding of the large operands."""


def assert_close(a: np.ndarray, b: np.ndarray, what: str) -> None:
    """Equal to ``TOLERANCE`` relative to the larger magnitude, or within ``RESIDUAL`` of
    the variable's largest magnitude (NaN where the other is NaN)."""
    assert a.shape == b.shape, what
    assert np.array_equal(np.isnan(a), np.isnan(b)), what
    finite = np.abs(b[np.isfinite(b)])
    floor = RESIDUAL * (finite.max() if finite.size else 0.0)
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), floor / TOLERANCE)
    with np.errstate(all="ignore"):
        relative = np.where(scale > 0, np.abs(a - b) / scale, 0.0)
    relative = np.where(np.isnan(a) | (a == b), 0.0, relative)
    worst = float(relative.max(initial=0.0))
    assert worst <= TOLERANCE, f"{what}: relative difference {worst:.3g}"


def assert_raw_close(fast: integrate.RawResult, slow: integrate.RawResult) -> None:
    for group in ("stocks", "flows", "auxiliaries", "outputs"):
        a, b = getattr(fast, group), getattr(slow, group)
        assert a.keys() == b.keys(), group
        for k in b:
            assert_close(a[k], b[k], f"{group}.{k}")
    for k in slow.parameters:
        assert_close(np.asarray(fast.parameters[k], float), np.asarray(slow.parameters[k], float),
                     f"calibrated {k}")


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_scenario_matches_the_numpy_engine(name):
    s = load_scenario(SCENARIOS / f"{name}.toml")
    p = parameter_samples(s, size=1)
    args = (s.start_year, s.end_year, s.substeps_per_year)
    assert_raw_close(kernel.simulate_block(p, *args), integrate.simulate_block(p, *args))


def extreme_members(s, n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` members drawn over every declared range, a quarter of them with each uncertain
    value at one end of its range or the other."""
    rng = np.random.default_rng(seed)
    ranges = s.uncertain()
    table = {}
    for key, (low, high) in ranges.items():
        values = rng.uniform(low, high, n)
        ends = rng.random(n) < 0.25
        values[ends] = np.where(rng.random(int(ends.sum())) < 0.5, low, high)
        table[key] = values
    return table


@pytest.mark.parametrize("name", ["baseline", "constrained_grid"])
def test_sampled_members_out_to_the_ends_of_their_ranges_match(name):
    s = load_scenario(SCENARIOS / f"{name}.toml")
    p = parameter_samples(s, extreme_members(s, 300, seed=3), units="base", invalid="mask")
    args = (s.start_year, s.end_year, s.substeps_per_year)
    fast = kernel.simulate_block(p, *args)
    slow = integrate.simulate_block(p, *args)
    assert_raw_close(fast, slow)
    finite = np.isfinite(slow.flows["facility_energy"]).all(axis=0)
    assert finite.mean() > 0.9  # nearly all members are real runs, not NaN on both sides


def test_kept_outputs_match_and_blocks_do_not_matter():
    s = load_scenario(SCENARIOS / "high_growth.toml")
    p = parameter_samples(s, extreme_members(s, 200, seed=4), units="base", invalid="mask")
    args = (s.start_year, s.end_year, s.substeps_per_year)
    keep = ["facility_energy", "water_consumption", "ai_requests_per_day"]
    fast = simulate(p, *args, keep=keep, backend="numba", block_samples=70)
    slow = simulate(p, *args, keep=keep, backend="numpy")
    assert_raw_close(fast, slow)
    whole = simulate(p, *args, keep=keep, backend="numba")
    for name in keep:  # blocked equals unblocked exactly: each sample runs on its own
        np.testing.assert_array_equal(fast.outputs[name], whole.outputs[name])


def test_every_output_of_a_blocked_run_equals_the_unblocked_run():
    # blocks of 70 are no whole number of the engine's lane groups: each block's last group
    # must not spill into the next block's columns of the shared output tables
    s = load_scenario(SCENARIOS / "baseline.toml")
    p = parameter_samples(s, extreme_members(s, 200, seed=5), units="base", invalid="mask")
    args = (s.start_year, s.end_year, s.substeps_per_year)
    blocked = simulate(p, *args, backend="numba", block_samples=70)
    whole = simulate(p, *args, backend="numba")
    for group in ("stocks", "flows", "auxiliaries", "parameters"):
        a, b = getattr(blocked, group), getattr(whole, group)
        assert a.keys() == b.keys(), group
        for k in b:
            np.testing.assert_array_equal(a[k], b[k], err_msg=f"{group}.{k}")
    np.testing.assert_array_equal(blocked.calibration_error, whole.calibration_error)


def test_auto_backend_is_the_compiled_engine_when_numba_is_installed():
    from projection.model.ensemble import resolve_backend

    assert resolve_backend("auto") == "numba"
    with pytest.raises(ValueError, match="expected one of"):
        resolve_backend("fortran")


def test_engines_are_cached_per_machine_and_named_by_the_equations(tmp_path, kernel_cache):
    """A fresh process loads the compiled engine from the cache folder instead of compiling
    it again: a copy of the session's folder, once this process has the engine there (the
    session compiles each engine once, into an empty folder of its own)."""
    import inspect
    import shutil

    s = load_scenario(SCENARIOS / "baseline.toml")
    p = integrate.calibrate(parameter_samples(s, size=1), 3)
    kernel.compiled_run(p, 1, 3, True)  # compiled into the session's folder, or loaded
    shapes = {k: np.shape(v)[:-1] for k, v in p.items()}
    key = (tuple(sorted(shapes.items())), False)
    name = f"engine_full_{kernel._cache_name(key)}.py"
    assert inspect.getfile(kernel._engines[key].function.py_func) == str(kernel_cache / name)
    assert (kernel_cache / name).is_file()
    copy = tmp_path / "kernel"
    shutil.copytree(kernel_cache, copy)
    code = ("import inspect;"
            "from projection.model import kernel, integrate;"
            "from projection.model.ensemble import parameter_samples;"
            "from projection.model.scenario import find_scenario, load_scenario;"
            "s = load_scenario(find_scenario('baseline'));"
            "p = integrate.calibrate(parameter_samples(s, size=1), 3);"
            "kernel.compiled_run(p, 1, 3, True);"
            "f = kernel._engines[next(k for k in kernel._engines if not k[1])].function;"
            "print(len(f.stats.cache_hits), len(f.stats.cache_misses), len(f.signatures),"
            " inspect.getfile(f.py_func))")
    env = {**__import__("os").environ, kernel.CACHE_VARIABLE: str(copy)}
    loaded = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, check=True).stdout.split()
    assert loaded[:3] == ["1", "0", "1"]  # loaded, not compiled, one machine code
    assert Path(loaded[3]) == copy / name  # the file named by the equations, in that folder


# --- the tracer ---------------------------------------------------------------------------------

def run_traced(fn, *arrays: np.ndarray) -> np.ndarray:
    """``fn`` recorded on Sym inputs shaped like ``arrays`` (sample axis last), then evaluated
    node by node in float64 for every sample: the graph the compiled engine is made from."""
    g = trace.Graph()
    syms = [trace.inputs(g, "p", {str(k): a.shape[:-1]})[str(k)] for k, a in enumerate(arrays)]
    out = trace._as_sym(g, fn(*syms))
    n = arrays[0].shape[-1]
    values: list = []
    feeds = {trace.input_name("p", str(k), index): a[index]
             for k, a in enumerate(arrays) for index in np.ndindex(*a.shape[:-1])}
    with np.errstate(all="ignore"):
        for op, args in g.ops:
            if op == "const":
                values.append(np.full(n, args[0]))
            elif op == "input":
                values.append(feeds[args[0]])
            elif op == "where":
                values.append(np.where(values[args[0]], values[args[1]], values[args[2]]))
            else:
                fns = {**trace.UNARY, **trace.BINARY, **trace.COMPARE, **trace.LOGICAL,
                       **trace.PREDICATE}
                values.append(fns[op](*[values[a] for a in args]))
    return np.stack([values[i] for i in out.ids.reshape(-1)]).reshape(*out.shape[:-1], n)


def test_traced_numpy_calls_compute_what_numpy_computes():
    rng = np.random.default_rng(0)
    cohorts = rng.normal(size=(12, 7))
    x = np.concatenate([rng.normal(size=5), [np.nan, np.inf]])

    def model(c, v):
        ages = (np.arange(12) + 0.5)[:, None]
        chained = np.concatenate([v[None, ...], c[:-1]], axis=0) - c * ages
        clipped = np.clip(v, -0.5, 0.5) + np.maximum(v, 0.0 * v) - np.minimum(v, 1.0)
        chosen = np.where(np.abs(v) < 1e-9, 1.0, np.expm1(v) / v)
        return chained.sum(axis=0) * clipped + chosen + np.exp(-v) * np.log(np.abs(v))

    with np.errstate(all="ignore"):
        expected = model(cohorts, x)
    np.testing.assert_array_equal(run_traced(model, cohorts, x), expected)


@pytest.mark.parametrize("fn, message", [
    (lambda v: v if v > 0 else -v, "decision in Python"),
    (lambda v: v.sum(), "would mix samples"),
    (lambda v: v * np.ones(3), "trailing axis of length 1"),
    (lambda v: np.cumsum(v), "np.cumsum is not supported"),
    (lambda v: float(v), "float()"),
])
def test_what_the_tracer_cannot_follow_is_named(fn, message):
    with pytest.raises(trace.TraceError, match=message):
        run_traced(fn, np.ones(4))


def test_vectorisable_exp_and_log_agree_with_numpy_everywhere():
    from numba import njit

    from projection.model.kernel_math import fexp, flog

    @njit(error_model="numpy")
    def both(x, e, g):
        for j in range(x.shape[0]):
            e[j] = fexp(x[j])
            g[j] = flog(x[j])

    rng = np.random.default_rng(1)
    special = [0.0, -0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 709.78, 709.79, -708.4, -745.1,
               -745.2, -800.0, 1e-310, 5e-324, np.sqrt(2.0), 1e300]
    x = np.concatenate([rng.uniform(-750, 720, 20_000), rng.normal(0, 1, 20_000),
                        np.exp(rng.uniform(-700, 700, 20_000)), special])
    e, g = np.empty_like(x), np.empty_like(x)
    both(x, e, g)
    with np.errstate(all="ignore"):
        for got, want in ((e, np.exp(x)), (g, np.log(x))):
            assert np.array_equal(np.isnan(got), np.isnan(want))
            exact = (got == want) | np.isnan(want)
            normal = np.abs(want) > 2.3e-308  # below that both round to few bits
            relative = np.abs(got - want) / np.abs(want)
            assert np.all(exact | ~normal | (relative < 4e-16))
            assert np.all(exact | normal | (np.abs(got - want) < 1e-320))
