"""Hostile use of `uncertainty`, `sensitivity`, `sweep` and `brief` end to end, through the
console script as a user meets them: every refusal is one line naming the file, key or option,
exit code 2, before any work and with nothing of the user's changed; Ctrl-C, SIGTERM and
SIGKILL while work runs leave no process behind and close the caller's pipe.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_hostile_cli import assert_refused, snapshot

ROOT = Path(__file__).resolve().parents[1]
LINUX = Path("/proc/self/stat").exists()
NUMPY = ("--backend", "numpy")


def projection(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "projection.outputs.console", *args],
                          capture_output=True, cwd=cwd, timeout=timeout)


@pytest.fixture
def user(tmp_path) -> Path:
    (tmp_path / "notes.txt").write_text("a user's file\n")
    (tmp_path / "afile").write_text("not a folder\n")
    return tmp_path


# --- numbers and sizes: refused before any work -------------------------------------------------

SWEEP = "demand.adoption_growth=40%/yr:120%/yr:"
REFUSED = [
    (["uncertainty", "baseline", "-n", "10", "--seed", str(2**64)], "--seed"),
    (["uncertainty", "baseline", "-n", "10", "--seed", str(2**32)], "--seed"),
    (["uncertainty", "baseline", "-n", "10", "--seed", "-1"], "--seed"),
    (["uncertainty", "baseline", "-n", "0"], "--samples"),
    (["uncertainty", "baseline", "-n", "-7"], "--samples"),
    (["uncertainty", "baseline", "-n", str(10**30)], "--samples"),
    (["uncertainty", "baseline", "-n", str(10**12)], "--samples"),
    (["uncertainty", "baseline", "-n", str(10**10)], "--samples"),
    (["uncertainty", "baseline", "-n", "10", "--output", "facility_energy", "--output",
      "facility_energy"], "--output"),
    (["uncertainty", "baseline", "-n", "10", "--output", "facility_enrgy"], "--output"),
    (["uncertainty", "baseline", "-n", "10", "--method", "lhx"], "--method"),
    (["uncertainty", "baseline", "-n", "10", "--backend", "gpu"], "--backend"),
    (["sensitivity", "baseline", "--samples", str(2**40)], "--samples"),
    (["sensitivity", "baseline", "--samples", "3"], "--samples"),
    (["sensitivity", "baseline", "--method", "morris", "--samples", str(10**12)], "--samples"),
    (["sensitivity", "baseline", "--method", "morris", "--samples", str(10**9)], "--samples"),
    (["sensitivity", "baseline", "--method", "oat", "--seed", str(2**64)], "--seed"),
    (["sensitivity", "baseline", "--method", "oat", "--output", "emissions", "--output",
      "emissions"], "--output"),
    (["sensitivity", "baseline", "--method", "oat", "--output", "energy_per_request"],
     "--output"),
    (["sensitivity", "baseline", "--method", "morris", "--output", "request_share"],
     "--output"),
    (["sweep", "baseline", "--param", SWEEP + str(10**11)], "--param"),
    (["sweep", "baseline", "--param", SWEEP + "1"], "--param"),
    (["sweep", "baseline", "--param", SWEEP + "-5"], "--param"),
    (["sweep", "baseline", "--param", SWEEP + str(10**30)], "--param"),
    (["sweep", "baseline", "--param", SWEEP + "100000", "--param",
      "facility.ai_pue_target=1.1:1.3:100000"], "--param"),
    (["sweep", "baseline", "--param", SWEEP + "3", "--output", "emissions", "--output",
      "emissions"], "--output"),
    (["brief", "baseline", "--uncertainty", str(10**11)], "--uncertainty"),
    (["brief", "baseline", "--uncertainty", "1"], "--uncertainty"),
]


@pytest.mark.parametrize("command,option", REFUSED, ids=[" ".join(c[2:])[:60] for c, _ in REFUSED])
def test_numbers_out_of_range_and_oversized_requests_are_refused_first(user, command, option):
    before = snapshot(user)
    out = ["-o", "out.html"] if command[0] == "brief" else ["-o", "out"]
    backend = [] if command[0] == "brief" or "--backend" in command else list(NUMPY)
    line = assert_refused(projection(*command, *out, *backend, cwd=user, timeout=120), option)
    if "memory" in line or "disk" in line:  # the figures: what it needs, what there is
        assert "needs about" in line and ("available" in line or "free" in line), line
    assert snapshot(user) == before


# --- messages: one resolver for scenario names ---------------------------------------------------

@pytest.mark.parametrize("command", [
    ["uncertainty", "basline", "-n", "10"], ["sensitivity", "hgh_growth"],
    ["sweep", "low_grwth", "--param", SWEEP + "3"], ["brief", "efficency_push"],
    ["brief", "baseline", "--baseline", "constraned_grid"], ["run", "basline"],
])
def test_a_misspelt_scenario_gets_a_suggestion_in_every_command(user, command):
    before = snapshot(user)
    line = assert_refused(projection(*command, cwd=user, timeout=120), "did you mean")
    assert "shipped:" in line
    assert snapshot(user) == before


# --- output folders: checked before any work -----------------------------------------------------

COMMANDS = {
    "uncertainty": (["uncertainty", "baseline", "-n", "10", *NUMPY], "uncertainty.nc",
                    "fan_facility_energy.png"),
    "sensitivity": (["sensitivity", "baseline", "--method", "oat", *NUMPY], "sensitivity.csv",
                    "tornado_emissions.png"),
    "sweep": (["sweep", "baseline", "--param", SWEEP + "3", *NUMPY], "sweep.nc",
              "sweep_facility_energy.png"),
}


def _below_a_file(user: Path, name: str) -> tuple[str, str]:
    return "afile/results", "afile"


def _unwritable(user: Path, name: str) -> tuple[str, str]:
    return "/proc/projection-results", "/proc"  # refused to root as well


def _result_is_a_folder(user: Path, name: str) -> tuple[str, str]:
    (user / "out" / COMMANDS[name][1]).mkdir(parents=True)
    return "out", COMMANDS[name][1]


def _chart_is_a_folder(user: Path, name: str) -> tuple[str, str]:
    (user / "out" / COMMANDS[name][2]).mkdir(parents=True)
    return "out", COMMANDS[name][2]


def _chart_is_a_pipe(user: Path, name: str) -> tuple[str, str]:
    (user / "out").mkdir()
    os.mkfifo(user / "out" / COMMANDS[name][2])
    return "out", COMMANDS[name][2]


def _output_is_a_file(user: Path, name: str) -> tuple[str, str]:
    return "afile", "afile"


HAZARDS = [_below_a_file, _unwritable, _result_is_a_folder, _chart_is_a_folder,
           _chart_is_a_pipe, _output_is_a_file]


@pytest.mark.parametrize("hazard", HAZARDS, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("name", list(COMMANDS))
def test_an_output_that_cannot_be_written_is_refused_before_any_work(user, name, hazard):
    folder, named = hazard(user, name)
    before = snapshot(user)
    assert_refused(projection(*COMMANDS[name][0], "-o", folder, cwd=user), named)
    assert snapshot(user) == before


@pytest.mark.parametrize("kind", ["file", "pipe", "link to a folder"])
def test_an_ensemble_folder_that_is_a_users_file_is_refused_before_any_work(user, kind):
    out = user / "out"
    out.mkdir()
    (user / "elsewhere").mkdir()
    {"file": lambda p: p.write_text("mine\n"), "pipe": os.mkfifo,
     "link to a folder": lambda p: p.symlink_to(user / "elsewhere")}[kind](out / "ensemble")
    before = snapshot(user)
    assert_refused(projection(*COMMANDS["uncertainty"][0], "-o", "out", cwd=user), "ensemble")
    assert snapshot(user) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_results_folder_is_refused_before_any_work(user):
    out = user / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        before = snapshot(user)
        assert_refused(projection(*COMMANDS["uncertainty"][0], "-o", "out", cwd=user), "out")
        assert snapshot(user) == before
    finally:
        out.chmod(0o755)


# --- hygiene: a replaced run leaves none of its files behind -------------------------------------

@pytest.mark.parametrize("name,first,second", [
    ("uncertainty", ["--output", "facility_energy", "--output", "emissions"],
     ["--output", "facility_energy"]),
    ("sweep", ["--output", "facility_energy", "--output", "emissions"],
     ["--output", "water_consumption"]),
])
def test_force_replaces_a_run_without_leaving_its_old_charts(user, name, first, second):
    command = COMMANDS[name][0]
    assert projection(*command, *first, "-o", "out", cwd=user).returncode == 0
    (user / "out" / "my_notes.png").write_text("the user's own file\n")
    done = projection(*command, *second, "-o", "out", "--force", cwd=user)
    assert done.returncode == 0, done.stderr
    charts = {p.name for p in (user / "out").glob("*.png")}
    prefix = "fan_" if name == "uncertainty" else "sweep_"
    wanted = {f"{prefix}{o}.png" for o in second[1::2]}
    assert charts == wanted | {"my_notes.png"}
    assert not list((user / "out").glob(".*"))


# --- signals: nothing left running, the pipe closes -------------------------------------------

def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` now (read from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None:
            parents[int(entry)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (zombies, already dead, do not count)."""
    return {p for p in pids if (fields := _stat(p)) is not None and fields[0] != "Z"}


def cpu_seconds(pids: set[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    return sum((int(f[11]) + int(f[12])) / ticks for p in pids if (f := _stat(p)) is not None)


def interrupted_run(user: Path, args: list[str], ready, signum: int, group: bool):
    """Start the command in its own process group; when ``ready(pid)``, send ``signum`` (to
    the group, as a terminal's Ctrl-C does, or to the command alone); return the result and
    the processes that were below the command at that moment."""
    process = subprocess.Popen([sys.executable, "-m", "projection.outputs.console", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=user,
                               start_new_session=True)
    deadline = time.monotonic() + 600
    while process.poll() is None and not ready(process.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, process.communicate()[1].decode()[-3000:]
    below = descendants(process.pid)
    (os.killpg if group else os.kill)(process.pid, signum)
    try:  # the pipe closes: nothing below the command holds it open
        stdout, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("the command or a process it started kept running and held the pipe")
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr), below


def assert_nothing_left(below: set[int]) -> None:
    deadline = time.monotonic() + 5
    while alive(below) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = alive(below)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left running: {left}"


def assert_stopped(result, signum: int) -> None:
    if signum == signal.SIGKILL:
        assert result.returncode == -signal.SIGKILL
        return
    code, line = {signal.SIGINT: (130, "error: interrupted\n"),
                  signal.SIGTERM: (143, "error: terminated\n")}[signum]
    assert result.returncode == code, result.stderr.decode()[-3000:]
    assert result.stderr.decode() == line


def a_block_is_written(user: Path):
    return lambda pid: any((user / "out" / "ensemble").glob("block_*.nc"))


def workers_are_busy(pid: int) -> bool:
    below = descendants(pid)
    return len(below) >= 2 and cpu_seconds(below) > 1.0


@pytest.mark.skipif(not LINUX, reason="reads /proc")
@pytest.mark.parametrize("signum,group", [(signal.SIGINT, True), (signal.SIGTERM, False),
                                          (signal.SIGTERM, True), (signal.SIGKILL, False)],
                         ids=["ctrl-c", "kill", "kill the group", "kill -9"])
def test_a_signal_while_blocks_run_stops_every_worker_and_keeps_the_finished_blocks(
        user, signum, group):
    result, below = interrupted_run(user, ["uncertainty", "baseline", "-n", "200000", "-o",
                                           "out", *NUMPY, "-q"], a_block_is_written(user),
                                    signum, group)
    assert below, "the run had no worker processes to stop"
    assert_stopped(result, signum)
    assert_nothing_left(below)
    blocks = list((user / "out" / "ensemble").glob("block_*.nc"))
    assert blocks
    if signum != signal.SIGKILL:  # nothing can clean up after SIGKILL
        assert not list((user / "out").rglob(".*.part"))
    import xarray as xr

    for path in blocks:  # every block kept is whole
        with xr.open_dataset(path) as ds:
            assert ds.sizes["sample"] == 50_000


@pytest.mark.skipif(not LINUX, reason="reads /proc")
@pytest.mark.parametrize("attempt", range(3))
@pytest.mark.parametrize("signum,group", [(signal.SIGINT, True), (signal.SIGTERM, False)],
                         ids=["ctrl-c", "kill"])
def test_a_signal_while_a_sweeps_workers_run_never_hangs(user, signum, group, attempt):
    result, below = interrupted_run(user, ["sweep", "baseline", "--param", SWEEP + "40000",
                                           "-o", "out", *NUMPY], workers_are_busy, signum,
                                    group)
    assert below
    assert_stopped(result, signum)
    assert_nothing_left(below)
    assert not (user / "out").exists()


@pytest.mark.skipif(not LINUX, reason="reads /proc")
def test_ctrl_c_with_dask_is_one_line_and_stops_the_cluster(user):
    pytest.importorskip("distributed")
    result, below = interrupted_run(user, ["uncertainty", "baseline", "-n", "120000", "-o",
                                           "out", "--dask", *NUMPY, "-q"],
                                    a_block_is_written(user), signal.SIGINT, True)
    assert below
    assert_stopped(result, signal.SIGINT)
    assert_nothing_left(below)


WORKERS = """
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
import multiprocessing
from projection.model.workers import worker_init
pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("{context}"),
                           initializer=worker_init, initargs=(os.getpid(), {death_signal}))
futures = [pool.submit(time.sleep, 600) for _ in range(2)]
time.sleep(0.5 if "{context}" == "fork" else 5)
print(" ".join(str(p) for p in pool._processes), flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not LINUX, reason="reads /proc")
@pytest.mark.parametrize("context,death_signal", [("fork", True), ("fork", False),
                                                  ("spawn", False)],
                         ids=["parent-death signal", "watchdog (fork)", "watchdog (spawn)"])
def test_pool_workers_die_with_a_parent_killed_by_sigkill(context, death_signal):
    parent = subprocess.Popen([sys.executable, "-c", WORKERS.format(
        context=context, death_signal=death_signal)], stdout=subprocess.PIPE)
    workers = {int(p) for p in parent.stdout.readline().split()}
    assert len(alive(workers)) == 2
    parent.kill()
    parent.wait(10)
    assert_nothing_left(workers)


def test_the_briefs_markdown_carries_no_html_or_links_from_hostile_titles_and_sources(user):
    pytest.importorskip("matplotlib")
    from markdown_it import MarkdownIt

    (user / "evil.toml").write_text(
        '[scenario]\ntitle = "<script>alert(1)</script> [x](javascript:alert(1))"\n'
        'description = "<img src=x onerror=alert(1)> *bold* [y](javascript:alert(2))"\n'
        'extends = "baseline"\n[facility]\nai_pue_target = { value = "1.2", source = '
        '"<iframe src=javascript:alert(3)></iframe> [z](JavaScript:alert(4)) &#106;s" }\n',
        encoding="utf-8")
    done = projection("brief", "evil.toml", "-o", "brief.html", cwd=user)
    assert done.returncode == 0, done.stderr
    markdown = (user / "brief.md").read_text(encoding="utf-8")
    assert "alert(1)" in markdown and "alert(3)" in markdown  # the text is there, as text
    rendered = MarkdownIt("commonmark").enable("table").render(markdown).lower()
    for markup in ("<script", "<img", "<iframe", 'href="javascript', "<em>bold"):
        assert markup not in rendered, markup
