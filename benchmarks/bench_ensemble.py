"""Speed and memory of uncertainty ensembles. Prints figures; it asserts nothing.

    python benchmarks/bench_ensemble.py [--sizes 100000 1000000 10000000]
        [--backend auto|numpy|numba|xla] [--dask] [--cli] [--compile]

For each sample count: member-years per second (one member advanced one simulated year; the
start-year calibration is timed but not counted) and the peak memory of the whole process
tree (this process and every worker it starts), with every yearly output kept in memory and
with only the headline outputs streamed to disk block by block. ``--dask`` repeats the
streamed run on a local Dask cluster; ``--cli`` times ``projection uncertainty high_growth
--samples 100000`` start to finish. Targets (2-core reference machine): 1.5 million
member-years/s with every output at 10^5 samples; 2 million streamed at 10^6; peak memory under
1 GiB streamed at 10^7; the command under 5 s. ``--compile`` times, in fresh processes, the
numba engine's first build on a machine (an empty cache folder) and its load from the cache
afterwards (what every later process pays).

The machine is shared, so each line also gives the CPU time the process tree used (this
process, its finished workers from getrusage, its live workers from psutil) and what that
CPU time means for an otherwise idle machine: member-years / (CPU seconds / cores), an
estimate that assumes the work would spread evenly over the cores. Dask workers are not
descendants of this process when a scheduler is joined; on a local cluster they are.

Peak memory is sampled every 0.1 s as the sum over the process tree of the proportional set
size (PSS: pages shared by several processes are split among them; the sum of resident sizes
would count each shared page once per process) and, for comparison, of the resident sizes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "high_growth.toml"
GIB = 2**30


def cpu_seconds() -> float:
    """User + system time of this process, its finished (waited-for) children and its live
    descendants."""
    import resource

    import psutil

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    live = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        live += times.user + times.system
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + live


class TreeMemory:
    """Peak PSS and RSS summed over this process and its descendants, sampled in a thread."""

    def __init__(self, interval: float = 0.1) -> None:
        import psutil

        self.root = psutil.Process()
        self.interval = interval
        self.peak_pss = self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _sample(self) -> None:
        import psutil

        pss = rss = 0
        for p in [self.root, *self.root.children(recursive=True)]:
            try:
                info = p.memory_full_info()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            pss += getattr(info, "pss", info.rss)
            rss += info.rss
        self.peak_pss = max(self.peak_pss, pss)
        self.peak_rss = max(self.peak_rss, rss)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeMemory:
        self.cpu_start = cpu_seconds()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.cpu = cpu_seconds() - self.cpu_start


def _executor(backend: str, dask: bool):
    if dask:
        from distributed import Client, LocalCluster

        @contextmanager
        def cluster():
            with LocalCluster(processes=True, threads_per_worker=1,
                              dashboard_address=None) as c, Client(c) as client:
                yield client.get_executor()

        return cluster()
    if backend == "xla":
        from projection.model.uncertainty import xla_workers

        return xla_workers()
    return nullcontext(None)


def report(label: str, samples: int, years: int, seconds: float, memory: TreeMemory) -> None:
    import os

    rate = samples * years / seconds
    cores = os.cpu_count() or 1
    idle = samples * years / (memory.cpu / cores) if memory.cpu > 0 else float("nan")
    print(f"{label:<42} {samples:>11,} {seconds:>8.2f} s {rate / 1e6:>6.2f} M member-yr/s "
          f"(CPU {memory.cpu:7.1f} s: {idle / 1e6:5.2f} M/s on {cores} idle cores) "
          f"peak PSS {memory.peak_pss / GIB:5.2f} GiB (RSS sum {memory.peak_rss / GIB:5.2f})",
          flush=True)


def all_outputs(samples: int, backend: str, executor) -> None:
    from projection.model.ensemble import parameter_samples, simulate
    from projection.model.scenario import load_scenario
    from projection.model.uncertainty import design

    s = load_scenario(SCENARIO)
    d = design(s, samples, seed=1)
    values = d.values()
    with TreeMemory() as memory:
        start = time.perf_counter()
        p = parameter_samples(s, values, units="base", invalid="mask")
        simulate(p, s.start_year, s.end_year, s.substeps_per_year, backend=backend,
                 executor=executor)
        seconds = time.perf_counter() - start
    report(f"every output in memory ({backend})", samples, len(s.years), seconds, memory)


def streamed(samples: int, backend: str, executor, label: str) -> None:
    from projection.model.scenario import load_scenario
    from projection.model.uncertainty import (
        HEADLINE_OUTPUTS,
        design,
        ensemble_percentiles,
        run_ensemble,
    )

    s = load_scenario(SCENARIO)
    d = design(s, samples, seed=1)
    with tempfile.TemporaryDirectory() as folder, TreeMemory() as memory:
        start = time.perf_counter()
        ensemble = run_ensemble(d, HEADLINE_OUTPUTS, Path(folder), backend=backend,
                                executor=executor)
        ran = time.perf_counter() - start
        ensemble_percentiles(ensemble)
        seconds = time.perf_counter() - start
    report(f"headline streamed to disk ({label})", samples, len(s.years), ran, memory)
    print(f"{'':<42} {'':>11} {seconds:>8.2f} s with the percentiles from disk", flush=True)


def warm_up(backend: str, executor) -> None:
    """Compile (or load from the cache) before timing, as a second run would find it."""
    all_outputs(20_000, backend, executor)


def compile_times() -> None:
    """Wall and CPU time of building both numba engines in a fresh process with an empty
    cache folder, then of loading them from that folder in another fresh process."""
    import os

    code = ("import time, resource; t = time.perf_counter();"
            "from projection.model import kernel, integrate;"
            "from projection.model.ensemble import parameter_samples;"
            "from projection.model.scenario import find_scenario, load_scenario;"
            "p = parameter_samples(load_scenario(find_scenario('high_growth')), size=1);"
            "start = time.perf_counter();"
            "p = integrate.calibrate(p, 3, run=kernel.compiled_run);"
            "kernel.compiled_run(p, 1, 3, True);"
            "r = resource.getrusage(resource.RUSAGE_SELF);"
            "print(time.perf_counter() - start, time.perf_counter() - t,"
            " r.ru_utime + r.ru_stime)")
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "PROJECTION_KERNEL_CACHE": folder}
        for label in ("first build (empty cache)", "load from the cache"):
            out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                 capture_output=True, text=True).stdout.split()
            engines, process, cpu = (float(x) for x in out)
            print(f"numba engines, {label}: {engines:.2f} s wall ({process:.2f} s with imports;"
                  f" process CPU {cpu:.2f} s)", flush=True)


def cli_wall_time() -> None:
    with tempfile.TemporaryDirectory() as folder:
        command = [str(Path(sys.executable).with_name("projection")), "uncertainty",
                   "high_growth", "--samples", "100000", "-o", folder, "-q"]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        seconds = time.perf_counter() - start
    print(f"`projection uncertainty high_growth --samples 100000`: {seconds:.2f} s wall time "
          "(target: under 5 s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--backend", choices=("auto", "numpy", "numba", "xla"), default="auto")
    parser.add_argument("--dask", action="store_true")
    parser.add_argument("--cli", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--all-outputs-up-to", type=int, default=1_000_000,
                        help="Largest sample count also run with every output in memory.")
    args = parser.parse_args()
    from projection.model.ensemble import resolve_backend

    args.backend = resolve_backend(args.backend)
    print(f"backend {args.backend}; scenario {SCENARIO.stem}; sample counts {args.sizes}")
    if args.compile and args.backend == "numba":
        compile_times()
    with _executor(args.backend, False) as executor:
        warm_up(args.backend, executor)
        for n in args.sizes:
            if n <= args.all_outputs_up_to:
                all_outputs(n, args.backend, executor)
            streamed(n, args.backend, executor, f"{args.backend}, local")
    if args.dask:
        with _executor(args.backend, True) as executor:
            warm_up(args.backend, executor)
            for n in args.sizes:
                streamed(n, args.backend, executor, f"{args.backend}, local Dask cluster")
    if args.cli:
        cli_wall_time()


if __name__ == "__main__":
    main()
