"""Hostile input and interrupts, end to end through the console script as a user meets them:
exit code 2 (130 for Ctrl-C), one line on stderr naming the file, key or option, no
traceback, nothing written, nothing of the user's changed. One case per class; the families
of generated cases run in-process in test_hostile.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
BACKCAST = ROOT / "validation" / "data" / "backcast_2014.toml"


def projection(*args: str | bytes, cwd: Path | None = None, timeout: float = 120
               ) -> subprocess.CompletedProcess:
    """The console script, as installed (``projection = projection.outputs.console:main``)."""
    return subprocess.run([sys.executable, "-m", "projection.outputs.console", *args],
                          capture_output=True, cwd=cwd, timeout=timeout)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every regular file under ``folder`` (hidden ones included) with its bytes, and the
    names of everything else (folders, pipes, links)."""
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() and not p.is_symlink()
            else b"<not a regular file>" for p in sorted(folder.rglob("*"))}


def assert_refused(result: subprocess.CompletedProcess, *named: str) -> str:
    stderr = result.stderr.decode("utf-8")
    lines = stderr.strip().splitlines()
    assert result.returncode == 2, stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr and "\x1b" not in stderr
    assert result.stdout == b""
    for name in named:
        assert name in lines[0], (name, lines[0])
    return lines[0]


@pytest.fixture
def user(tmp_path) -> Path:
    """A user's folder holding a scenario, the file it extends and earlier results."""
    (tmp_path / "base.toml").write_bytes(BASELINE.read_bytes())
    (tmp_path / "mine.toml").write_text('[scenario]\ntitle = "Mine"\ndescription = "D."\n'
                                        'extends = "base.toml"\n', encoding="utf-8")
    (tmp_path / "projection.csv").write_text("a user's earlier results\n")
    return tmp_path


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_special_files_never_hang(user, kind):
    scenario = user / "pipe.toml"
    if kind == "fifo":
        os.mkfifo(scenario)
    else:
        scenario = Path(kind)
    before = snapshot(user)
    result = projection("run", str(scenario), "-o", str(user / "out"), timeout=60)
    assert_refused(result, str(scenario))
    assert snapshot(user) == before


def test_a_file_extended_through_a_symlink_loop_is_named(user):
    (user / "loop.toml").symlink_to("loop.toml")
    (user / "mine.toml").write_text('[scenario]\ntitle = "T"\ndescription = "D."\n'
                                    'extends = "loop.toml"\n', encoding="utf-8")
    before = snapshot(user)
    assert_refused(projection("run", str(user / "mine.toml"), "-o", str(user / "out")),
                   "loop.toml", "loops")
    assert snapshot(user) == before


@pytest.mark.parametrize("name", [b"\xff\xfe.toml", b"a" * 300 + b".toml"])
def test_odd_scenario_names_leave_no_output_folder(user, name):
    path = os.fsencode(user) + b"/" + name
    if len(name) <= 255:
        with open(path, "wb") as fh:
            fh.write(BASELINE.read_bytes())
    before = snapshot(user)
    result = projection("run", path, cwd=user)
    assert_refused(result)
    assert snapshot(user) == before and not (user / "results").exists()


@pytest.mark.parametrize("command", [["run", "mine.toml"], ["compare", "mine.toml", "baseline"],
                                     ["calibrate", str(BACKCAST)]])
def test_an_empty_output_option_is_refused(user, command):
    before = snapshot(user)
    result = projection(*command, "-o", "", cwd=user)
    assert_refused(result, "--output", "empty")
    assert snapshot(user) == before


@pytest.mark.parametrize("target", ["mine.toml", "base.toml", "./sub/../base.toml"])
def test_calibrate_never_writes_over_its_scenario_or_what_it_extends(user, target):
    (user / "sub").mkdir()
    calibrated = user / "cal.toml"
    calibrated.write_text('[scenario]\ntitle = "C"\ndescription = "D."\n'
                          f'extends = "{BACKCAST.as_posix()}"\n', encoding="utf-8")
    (user / "mine.toml").write_text('[scenario]\ntitle = "C"\ndescription = "D."\n'
                                    'extends = "cal.toml"\n', encoding="utf-8")
    if target != "mine.toml":
        target = target.replace("base", "cal")
    before = snapshot(user)
    result = projection("calibrate", "mine.toml", "-o", target, "--force", cwd=user)
    assert_refused(result, Path(target).name, "input")
    assert snapshot(user) == before


def test_calibrate_to_a_folder_says_it_is_a_folder(user):
    (user / "folder").mkdir()
    before = snapshot(user)
    result = projection("calibrate", str(BACKCAST), "-o", "folder", cwd=user)
    assert_refused(result, "folder", "is a folder")
    assert snapshot(user) == before


def test_a_derived_output_that_is_not_finite_is_never_written(user):
    (user / "mine.toml").write_text(
        '[scenario]\ntitle = "T"\ndescription = "D."\nextends = "base.toml"\n'
        '[context]\nhousehold_electricity = { value = "1e-300 kWh/yr", source = "x" }\n',
        encoding="utf-8")
    before = snapshot(user)
    result = projection("run", "mine.toml", "-o", "out", cwd=user)
    assert_refused(result, "mine.toml", "ai_households_equivalent")
    assert b"Warning" not in result.stderr
    assert snapshot(user) == before


def test_a_title_with_escape_sequences_reaches_neither_terminal_nor_files(user):
    (user / "mine.toml").write_text(
        '[scenario]\ntitle = "Evil\\u001b[2J\\u001b]0;owned\\u0007 title"\n'
        'description = "D.\\u001b[31m red"\nextends = "base.toml"\n', encoding="utf-8")
    result = projection("run", "mine.toml", "-o", "out", cwd=user)
    assert result.returncode == 0, result.stderr
    assert b"\x1b" not in result.stdout and b"\x07" not in result.stdout
    assert b"Evil" in result.stdout
    for name in ("projection.csv", "projection_iamc.csv"):
        assert b"\x1b" not in (user / "out" / name).read_bytes(), name
    import xarray as xr

    with xr.open_dataset(user / "out" / "projection.nc") as ds:
        assert ds.attrs["scenario_title"].startswith("Evil ")
        assert not any("\x1b" in str(v) or "\x07" in str(v) for v in ds.attrs.values())


def test_juxtaposed_numbers_are_refused_naming_the_key(user):
    (user / "mine.toml").write_text(
        '[scenario]\ntitle = "T"\ndescription = "D."\nextends = "base.toml"\n'
        '[context]\nhousehold_electricity = { value = "10 500 kWh/yr", source = "x" }\n',
        encoding="utf-8")
    assert_refused(projection("run", "mine.toml", "-o", "out", cwd=user),
                   "context.household_electricity", "one number")


# --- interrupts ---------------------------------------------------------------------------------

def _interrupt_when(user: Path, ready, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    """Start ``projection *args``, send SIGINT as soon as ``ready(pid)`` is true."""
    process = subprocess.Popen([sys.executable, "-m", "projection.outputs.console", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=user)
    start = time.monotonic()
    while process.poll() is None and not ready(process.pid):
        time.sleep(0.001)
    waited = time.monotonic() - start
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), waited


def _importing_numpy(pid: int) -> bool:
    try:
        return "numpy" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def assert_interrupted(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 130, result.stderr
    assert result.stderr.decode() == "error: interrupted\n"
    assert result.stdout == b""


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_ctrl_c_during_start_up_is_one_line_exit_130(user):
    before = snapshot(user)
    result, _ = _interrupt_when(user, _importing_numpy, "run", "mine.toml", "-o", "out")
    assert_interrupted(result)
    assert snapshot(user) == before


def test_ctrl_c_while_results_are_written_leaves_the_old_ones_and_no_part_file(user):
    out = user / "out"
    out.mkdir()
    shutil.copy(user / "projection.csv", out / "projection.csv")
    before = snapshot(user)
    for _ in range(3):  # the write may finish before the poll sees it; then try again
        result, _ = _interrupt_when(user, lambda pid: any(out.glob(".*.part")),
                                    "run", "mine.toml", "-o", "out", "--end-year", "2050",
                                    "--force")
        if result.returncode != 0:
            break
        shutil.rmtree(out)
        out.mkdir()
        shutil.copy(user / "projection.csv", out / "projection.csv")
    assert_interrupted(result)
    assert not list(out.glob(".*"))
    after = snapshot(user)
    if after != before:  # Ctrl-C arrived during the moves: held until all were in place
        assert {"projection.csv", "projection.nc", "projection_iamc.csv"} <= {
            p.name for p in out.iterdir()}


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)


def test_an_interrupt_lost_in_a_garbage_collector_callback_is_raised_again():
    # Ctrl-C that lands in a weakref callback cannot propagate there; Python would print
    # "Exception ignored" and carry on to exit 0
    result = _python(
        "import time, weakref\n"
        "from projection.outputs import interrupts\n"
        "def entry():\n"
        "    class Thing: pass\n"
        "    def callback(ref): raise interrupts.Interrupted\n"
        "    thing = Thing(); ref = weakref.ref(thing, callback); del thing\n"
        "    for _ in range(2000): time.sleep(0.001)\n"
        "    print('finished')\n"
        "interrupts.install(); interrupts.guarded(entry)\n")
    assert_interrupted(result)


def test_an_interrupt_caught_and_dropped_still_ends_with_130():
    result = _python(
        "import os, signal\n"
        "from projection.outputs import interrupts\n"
        "def entry():\n"
        "    try:\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        for _ in range(10**6): pass\n"
        "    except BaseException:\n"
        "        pass  # a library that swallows everything\n"
        "interrupts.install(); interrupts.guarded(entry)\n")
    assert_interrupted(result)


def test_a_forked_worker_leaves_quietly_on_ctrl_c():
    result = _python(
        "import os, signal, sys, time\n"
        "from projection.outputs import interrupts\n"
        "interrupts.install()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    signal.pause()\n"
        "    os._exit(0)\n"
        "time.sleep(0.2); os.kill(pid, signal.SIGINT)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print(os.waitstatus_to_exitcode(status))\n")
    assert result.returncode == 0 and result.stdout.strip() == b"130"
    assert result.stderr == b""


# --- a reader that stops early ------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(signal, "SIGPIPE"), reason="needs SIGPIPE (Unix)")
def test_a_reader_that_stops_early_ends_the_command_quietly_by_sigpipe(user):
    # `projection run mine.toml | head -1`: the reader is gone before the table is printed
    read, write = os.pipe()
    os.close(read)
    process = subprocess.run([sys.executable, "-m", "projection.outputs.console", "run",
                              "mine.toml", "-o", "out"], stdout=write, stderr=subprocess.PIPE,
                             cwd=user, timeout=120)
    os.close(write)
    assert process.returncode == -signal.SIGPIPE  # a shell reports 141, as for `yes | head -1`
    assert process.stderr == b""
    assert {"projection.csv", "projection.nc", "projection_iamc.csv"} <= {
        p.name for p in (user / "out").iterdir()}
    assert not list((user / "out").glob(".*"))
