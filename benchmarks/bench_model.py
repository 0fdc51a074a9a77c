"""Speed of the model: one scenario, and one pass over a large parameter ensemble.

Prints figures; it asserts nothing. Run:  python benchmarks/bench_model.py [--samples N]
[--backend numpy|numba|xla]  (numba and xla need `pip install -e '.[fast]'`; their
first use on a machine compiles the model, which is timed apart)

Member-years per second counts one sample advanced one simulated calendar year; the
calibration of the start year (a few extra passes over the first year) is included in the
time but not in the count.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import numpy as np

from projection.model.ensemble import parameter_samples, simulate
from projection.model.scenario import load_scenario, parameter_for_key

ROOT = Path(__file__).resolve().parents[1]
SEED = 20241220
SPREAD = 0.2
"""Each sample scales the rate and time parameters by a factor drawn from 1 +/- SPREAD."""
PERTURBED_KINDS = ("growth",)
PERTURBED_UNITS = ("yr",)


def ensemble(scenario, samples: int, seed: int):
    """``samples`` members of the scenario, each scaling its rate and time parameters by a
    factor drawn from 1 +/- SPREAD."""
    rng = np.random.default_rng(seed)
    table = {}
    for key, entry in scenario.entries.items():
        p = parameter_for_key(key)
        if p.kind in PERTURBED_KINDS or p.unit in PERTURBED_UNITS:
            table[key] = entry.base_value * rng.uniform(1 - SPREAD, 1 + SPREAD, size=samples)
    return parameter_samples(scenario, table, units="base")


def time_call(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "high_growth.toml"))
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=("numpy", "numba", "xla"), default="numpy")
    args = parser.parse_args()

    scenario = load_scenario(args.scenario)
    base = scenario.parameter_arrays()
    years = scenario.end_year - scenario.start_year + 1
    run = lambda p: simulate(p, scenario.start_year, scenario.end_year,  # noqa: E731
                             scenario.substeps_per_year, backend=args.backend)

    run(base)  # warm up
    single = time_call(lambda: run(base), 20)
    print(f"scenario {scenario.name}: {scenario.start_year}-{scenario.end_year}, "
          f"{scenario.substeps_per_year} sub-steps a year")
    print(f"one scenario run: median {statistics.median(single) * 1e3:.1f} ms, "
          f"best {min(single) * 1e3:.1f} ms of model time (target: under 20 ms)")

    params = ensemble(scenario, args.samples, SEED)
    start = time.perf_counter()
    result = run(params)
    print(f"{args.backend} backend; first {args.samples:,}-sample pass in this process "
          f"(with any compilation): {time.perf_counter() - start:.2f} s")
    kept = sum(a.nbytes for group in (result.stocks, result.flows, result.auxiliaries)
               for a in group.values())
    del result
    many = time_call(lambda: run(params), args.repeat)
    best = min(many)
    member_years = args.samples * years
    print(f"{args.samples:,} samples x {years} years, every yearly output kept: "
          f"best {best:.2f} s, median {statistics.median(many):.2f} s")
    print(f"  {member_years / best:,.0f} member-years per second (target: 1,000,000 or more)")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # KiB on Linux
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**10
    print(f"  results kept: {kept / 2**20:,.0f} MiB; peak resident memory "
          f"{own:,.0f} MiB (this process), {children:,.0f} MiB (largest worker process)")


if __name__ == "__main__":
    main()
