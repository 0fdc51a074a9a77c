"""Start-up time of the command line, start to finish, as a user waits for it.

Prints figures; it asserts nothing. Run:  python benchmarks/bench_startup.py [--repeat N]

Each command runs as a fresh process (the installed ``projection`` script beside this Python),
so the figures include the interpreter's start, every import and, for ``run``, the model run
and the writing of every result file. Targets on the 2-core reference machine: ``--help`` and
``scenarios`` within 0.2 s, ``run high_growth`` within 0.6 s. The slowest imports of each
command come from ``python -X importtime``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("projection")
TARGETS = {"--help": 0.2, "scenarios": 0.2, "run high_growth": 0.6}
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def wall_times(args: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([str(SCRIPT), *args], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def slowest_imports(args: list[str], count: int = 5) -> list[tuple[str, float]]:
    """The top-level imports that took longest (cumulative ms), from -X importtime."""
    code = ("import sys; from projection.outputs.cli import main; "
            f"sys.argv = ['projection', *{args!r}]; main()")
    stderr = subprocess.run([sys.executable, "-X", "importtime", "-c", code],
                            capture_output=True, text=True).stderr
    top = []
    for line in stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match and len(match.group(3)) <= 1:  # imported by the command itself
            top.append((match.group(4), int(match.group(2)) / 1e3))
    return sorted(top, key=lambda t: -t[1])[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        commands = {
            "--help": ["--help"],
            "scenarios": ["scenarios"],
            "run high_growth": ["run", "high_growth", "-q", "-o", folder],
        }
        wall_times(commands["run high_growth"], 1)  # warm the file cache and pint's cache
        for label, argv in commands.items():
            times = wall_times(argv, args.repeat)
            print(f"projection {label:<16} median {statistics.median(times):.3f} s, "
                  f"best {min(times):.3f} s of wall time (target: {TARGETS[label]} s)")
            imports = ", ".join(f"{name} {ms:.0f} ms" for name, ms in slowest_imports(argv))
            print(f"  slowest imports: {imports}")


if __name__ == "__main__":
    main()
