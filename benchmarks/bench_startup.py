"""Start-up and end-to-end time of the command line, as a user waits for it.

Prints figures; it asserts nothing. Run:  python benchmarks/bench_startup.py [--repeat N]
[--samples N] [--no-uncertainty]

Each command runs as a fresh process (the installed ``projection`` script beside this Python),
so the figures include the interpreter's start, every import and, for ``run`` and
``uncertainty``, the model and the writing of every result file. For each command: the median
and the best wall time of ``--repeat`` runs, and the median CPU time (user + system, of the
command and every process it waits for): on a machine that other work loads, CPU time moves
less than wall time. Targets on the 2-core reference machine: ``--help`` and ``scenarios``
within 0.2 s, ``run high_growth`` within 0.6 s, ``uncertainty high_growth --samples 100000``
within 5 s. The slowest imports of each quick command come from ``python -X importtime``; the
uncertainty command's time is split into the engine's share (the member runs, timed inside
``projection.model.uncertainty.evaluate``) and everything else (start-up, draws and block
files not hidden behind the engine, percentiles, the scenario's own run, writers and charts).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("projection")
TARGETS = {"--help": 0.2, "scenarios": 0.2, "run high_growth": 0.6, "uncertainty": 5.0}
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")

PHASES = """
import json, sys, time, threading
from projection.outputs.console import hide_dask
hide_dask(ARGS)  # as the console script does
import projection.model.run as r
import projection.model.uncertainty as u
import projection.outputs.files as f
import projection.outputs.uncertainty_files as uf
spent = {}
lock = threading.Lock()
def timed(module, name, label):
    inner = getattr(module, name, None)
    if inner is None:  # renamed: that phase is not timed
        return
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            with lock:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - start
    setattr(module, name, wrapper)
timed(u, "evaluate", "engine (member runs)")
timed(u, "run_ensemble", "ensemble: draws, engine, block files")
timed(u, "ensemble_percentiles", "percentiles")
timed(r, "run_scenario", "the scenario's own run")
timed(uf, "render", "charts")
timed(f, "write_all", "writing the files")
from projection.outputs.cli import main
sys.argv = ["projection", *ARGS]
try:
    main()
except SystemExit:
    pass
print(json.dumps(spent), file=sys.stderr)
"""


def measure(args: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU times (the command and the processes it waited for) of ``repeat`` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([str(SCRIPT), *args], check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def slowest_imports(args: list[str], count: int = 5) -> list[tuple[str, float]]:
    """The packages whose import took longest (cumulative ms, from -X importtime), wherever
    they were imported; the project's own modules and the interpreter's start left out."""
    code = ("import sys; from projection.outputs.cli import main; "
            f"sys.argv = ['projection', *{args!r}]; main()")
    stderr = subprocess.run([sys.executable, "-X", "importtime", "-c", code],
                            capture_output=True, text=True).stderr
    top: dict[str, float] = {}
    for line in stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if not match:
            continue
        name = match.group(4)
        if "." in name or name.startswith(("projection", "_", "site", "encodings")):
            continue
        top[name] = max(top.get(name, 0.0), int(match.group(2)) / 1e3)
    return sorted(top.items(), key=lambda t: -t[1])[:count]


def phases(args: list[str]) -> tuple[float, dict[str, float]]:
    """One run of ``args`` in a fresh process with its phases timed: wall time, seconds each."""
    code = PHASES.replace("ARGS", repr(args))
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    wall = time.perf_counter() - start
    return wall, json.loads(result.stderr.strip().splitlines()[-1])


def report(label: str, target: float, walls: list[float], cpus: list[float]) -> None:
    print(f"projection {label:<34} wall median {statistics.median(walls):6.3f} s, best "
          f"{min(walls):6.3f} s; CPU median {statistics.median(cpus):6.3f} s "
          f"(target: {target} s of wall time)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs of each quick command")
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--uncertainty-repeat", type=int, default=3)
    parser.add_argument("--no-uncertainty", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        commands = {
            "--help": ["--help"],
            "scenarios": ["scenarios"],
            "run high_growth": ["run", "high_growth", "-q", "-o", f"{folder}/run"],
        }
        measure(commands["run high_growth"], 1)  # warm the file cache and pint's cache
        for label, argv in commands.items():
            report(label, TARGETS[label], *measure(argv, args.repeat))
            imports = ", ".join(f"{name} {ms:.0f} ms" for name, ms in slowest_imports(argv))
            print(f"  slowest imports: {imports}")
        if args.no_uncertainty:
            return
        argv = ["uncertainty", "high_growth", "--samples", str(args.samples), "-q", "--force",
                "-o", f"{folder}/uncertainty"]
        measure(argv, 1)  # compiled engines compile once per machine: not counted
        report(f"uncertainty high_growth --samples {args.samples}", TARGETS["uncertainty"],
               *measure(argv, args.uncertainty_repeat))
        wall, spent = phases(argv)
        engine = spent.get("engine (member runs)", 0.0)
        print(f"  one run with its phases timed: {wall:.3f} s of wall time; the engine "
              f"{engine:.3f} s, everything else {wall - engine:.3f} s "
              f"({(wall - engine) / wall:.0%})")
        for label, seconds in spent.items():
            print(f"    {label:<40} {seconds:6.3f} s")


if __name__ == "__main__":
    main()
