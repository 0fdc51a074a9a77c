"""How many cores ``projection uncertainty`` keeps busy, as a figure other load does not move.

Prints figures; it asserts nothing. Run:  python benchmarks/bench_cores.py [--samples N]
[--interval S] [-- extra options of the command]

The command runs as a fresh process; every ``--interval`` seconds the states of its threads
and of its children's threads are read from ``/proc`` (Linux), and the threads that are running
or waiting for a core (state R) are counted. A thread waiting for the GIL, a lock, a pool's
result or the disk is not counted. The mean count is the number of cores the command would
keep busy on an idle machine, whatever else the machine runs (other load changes how long
each phase takes, not how many threads each phase offers). Also printed: the wall time and
CPU time (user + system, the command and its children), which other load does move, the load
average before and after, and the mean count over each tenth of the run (start-up, the members,
the percentile pass and the files come in that order).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def thread_states(pid: int) -> list[str]:
    """The state letter of every thread of ``pid`` and of its descendants."""
    states = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/stat", encoding="ascii") as fh:
                    stat = fh.read()
                states.append(stat[stat.rindex(")") + 2])
            except OSError:
                continue
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
            for child in fh.read().split():
                states += thread_states(int(child))
    except OSError:
        pass
    return states


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--scenario", default="high_growth")
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("extra", nargs="*", help="further options of the command")
    args = parser.parse_args()
    script = Path(sys.executable).with_name("projection")
    with tempfile.TemporaryDirectory() as folder:
        command = [str(script), "uncertainty", args.scenario, "--samples", str(args.samples),
                   "-o", folder, "--force", "-q", *args.extra]
        load_before = os.getloadavg()
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        counts: list[int] = []
        while process.poll() is None:
            counts.append(sum(s == "R" for s in thread_states(process.pid)))
            time.sleep(args.interval)
        wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0 or not counts:
        sys.exit(f"the command failed (exit {process.returncode})")
    n = len(counts)
    tenths = [counts[i * n // 10:(i + 1) * n // 10] or [0] for i in range(10)]
    print(f"projection uncertainty {args.scenario} --samples {args.samples} "
          + " ".join(args.extra))
    print(f"wall {wall:.1f} s, CPU {usage.ru_utime + usage.ru_stime:.1f} s; load average "
          f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"mean runnable threads {sum(counts) / n:.2f} ({n} samples); share of the time with "
          f"two or more {sum(c >= 2 for c in counts) / n:.2f}, one "
          f"{sum(c == 1 for c in counts) / n:.2f}, none {sum(c == 0 for c in counts) / n:.2f}")
    print("by tenth of the run: " + " ".join(f"{sum(t) / len(t):.2f}" for t in tenths))


if __name__ == "__main__":
    main()
