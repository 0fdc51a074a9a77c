"""Mutation testing of the model with cosmic-ray: the share of surviving mutants, by module.

A mutant is the model's source with one small change (an operator swapped, a constant moved,
a comparison turned round); a test suite that still passes with it has not noticed the change.
The share that survive measures how much of the code the tests pin down. CPU-heavy, so it is
kept out of the test suite and of CI: run it by hand, niced, on a sample of each module's
mutants and a fast subset of the tests:

    .venv/bin/pip install cosmic-ray
    nice .venv/bin/python benchmarks/mutation.py --sample 25 model/demand.py model/impacts.py

The repository is copied (``git ls-files``) into a work folder, so the work tree is never
mutated; the copy is imported as ``projection`` through a folder of symbolic links placed first
on PYTHONPATH, and the compiled engine's cache is a folder of its own. Each module's mutants are
listed by ``cosmic-ray init``; ``--sample N`` keeps N of them drawn with ``--seed`` (every
mutant without it); ``cosmic-ray exec`` runs the tests (``--tests``, pytest arguments) once per
mutant. The script prints, per module, the mutants run, killed, survived and timed out, and
the share surviving; ``--survivors`` prints each survivor's diff.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ("model/demand.py", "model/hardware.py", "model/buildout.py", "model/impacts.py",
        "model/dynamics.py", "model/integrate.py")
FAST_TESTS = ("tests/test_model.py -x -q -p no:cacheprovider -k "
              "'not compiled_backend and not large_ensembles and not solve_ivp "
              "and not invariants_hold and not extreme_inputs and not converges'")
"""A subset of the model's behaviour tests that runs in about 10 s on the reference machine."""
PACKAGES = {"model": "model", "outputs": "outputs", "validation": "validation",
            "scenario_files": "scenarios"}
"""The installed package's layout (pyproject.toml, [tool.setuptools.package-dir])."""


def copy_repository(work: Path) -> tuple[Path, Path]:
    """The tracked files copied into ``work/repo``, and ``work/pkg`` holding ``projection``."""
    repo, pkg = work / "repo", work / "pkg" / "projection"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target)
    pkg.mkdir(parents=True)
    for item in (repo / "api").iterdir():
        (pkg / item.name).symlink_to(item)
    for name, folder in PACKAGES.items():
        (pkg / name).symlink_to(repo / folder, target_is_directory=True)
    return repo, pkg.parent


def sample(session: Path, keep: int | None, seed: int) -> tuple[int, int]:
    """Keep ``keep`` of the session's work items (all with None): (kept, all)."""
    with sqlite3.connect(session) as db:
        # in the order of the mutations themselves (job ids are random), so that a seed draws
        # the same mutants of the same source every time
        query = ("SELECT job_id FROM mutation_specs ORDER BY operator_name, start_pos_row, "
                 "start_pos_col, occurrence, job_id")
        jobs = [row[0] for row in db.execute(query)]
        total = len(jobs)
        if keep is not None and keep < len(jobs):
            drop = set(jobs) - set(random.Random(seed).sample(jobs, keep))
            for table in ("mutation_specs", "work_results", "work_items"):
                db.executemany(f"DELETE FROM {table} WHERE job_id = ?", [(j,) for j in drop])
            jobs = [j for j in jobs if j not in drop]
    return len(jobs), total


def outcomes(session: Path) -> dict[str, list[tuple[str, str]]]:
    """Test outcomes (killed, survived, incompetent) with their diffs, by outcome."""
    out: dict[str, list[tuple[str, str]]] = {}
    with sqlite3.connect(session) as db:
        query = "SELECT worker_outcome, test_outcome, diff FROM work_results"
        for worker, test, diff in db.execute(query):
            key = (test or worker or "unknown").lower()
            if worker and worker.lower() == "abnormal":
                key = "timeout"
            out.setdefault(key, []).append((key, diff or ""))
    return out


def run_module(module: str, work: Path, repo: Path, pkg: Path, args) -> dict[str, int]:
    name = Path(module).stem
    config, session = work / f"{name}.toml", work / f"{name}.sqlite"
    test_command = f"{sys.executable} -m pytest {args.tests}"
    config.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{repo / module}"\n'
        f"timeout = {args.timeout}\n"
        "excluded-modules = []\n"
        f"test-command = {test_command!r}\n"
        "[cosmic-ray.distributor]\nname = \"local\"\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(pkg),
           "PROJECTION_KERNEL_CACHE": str(work / "kernel-cache")}
    cosmic = [sys.executable, "-m", "cosmic_ray.cli"]
    subprocess.run([*cosmic, "init", str(config), str(session)], cwd=repo, env=env,
                   check=True, capture_output=True)
    kept, total = sample(session, args.sample, args.seed)
    subprocess.run([*cosmic, "exec", str(config), str(session)], cwd=repo, env=env,
                   check=True, capture_output=True)
    found = outcomes(session)
    counts = {k: len(v) for k, v in found.items()}
    counts["run"], counts["mutants"] = kept, total
    if args.survivors:
        for _, diff in found.get("survived", []):
            print(f"--- survivor in {module}\n{diff}")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", default=list(CORE),
                        help="module files to mutate (default: the core model modules)")
    parser.add_argument("--sample", type=int, default=None,
                        help="mutants to run per module, drawn at random (default: all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tests", default=FAST_TESTS, help="pytest arguments run per mutant")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds before a mutant's test run counts as killed by a timeout")
    parser.add_argument("--survivors", action="store_true", help="print each survivor's diff")
    parser.add_argument("--keep", type=Path, default=None,
                        help="work folder to keep (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="projection-mutation-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        repo, pkg = copy_repository(work)
        rows = []
        for module in args.modules:
            counts = run_module(module, work, repo, pkg, args)
            rows.append((module, counts))
            judged = counts.get("killed", 0) + counts.get("survived", 0)
            share = counts.get("survived", 0) / judged if judged else float("nan")
            print(f"{module:24s} run {counts['run']:4d} of {counts['mutants']:5d}  "
                  f"killed {counts.get('killed', 0):4d}  "
                  f"survived {counts.get('survived', 0):4d}  timeout "
                  f"{counts.get('timeout', 0):3d}  incompetent {counts.get('incompetent', 0):3d}"
                  f"  surviving {share:6.1%}", flush=True)
        killed = sum(c.get("killed", 0) for _, c in rows)
        survived = sum(c.get("survived", 0) for _, c in rows)
        if killed + survived:
            print(f"{'all':24s} surviving {survived / (killed + survived):.1%} of "
                  f"{killed + survived} mutants (timeouts count as killed only when the test "
                  "run itself timed out: they are listed apart and left out of the share)")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
