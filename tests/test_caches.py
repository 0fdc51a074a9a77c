"""Cache folders shared with other installations cannot break a command.

A user's cache folder (``~/.cache``) outlives the virtual environments that wrote to it. pint
names an entry of its disk cache after the content of the definition file it parsed and keeps
in it the path the file was read from, where it later reads the files that file imports: an
entry written by an installation that has since been deleted makes every other installation
of the same pint fail to build its registry (``FileNotFoundError: .../default_en.txt/
constants_en.txt``), pint's own ``":auto:"`` folder and ``iam_units``' folder alike. These
tests plant such entries and run the commands, and check that the compiled engines kept in the
kernel cache serve an installation other than the one that made them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


PLANT = """
import shutil, sys
from pathlib import Path
import pint
cache, work = Path(sys.argv[1]), Path(sys.argv[2])
gone = work / "removed-venv" / "site-packages" / "pint"
gone.mkdir(parents=True)
for name in ("default_en.txt", "constants_en.txt"):
    shutil.copy2(Path(pint.__file__).parent / name, gone / name)
pint.UnitRegistry(gone / "default_en.txt", cache_folder=cache)
shutil.rmtree(work / "removed-venv")
"""
"""Writes pint's cache entries for its own definition files into a cache folder from a copy
of pint's definitions that is then deleted (in a process of its own: pint and flexparser keep
parsed files in memory)."""


def plant_stale_pint_entries(folders: list[Path], work: Path) -> None:
    """Fill each folder with pint's cache entries for its own definition files, written by a
    copy of pint's definitions that is then deleted, as a removed virtual environment leaves
    them: entries named as this installation's would be, naming files that are gone."""
    subprocess.run([sys.executable, "-c", PLANT, str(folders[0]), str(work)], check=True,
                   timeout=300)
    for folder in folders[1:]:
        shutil.copytree(folders[0], folder)
    for folder in folders:
        named = [Path(json.loads(p.read_text())["source"]) for p in folder.glob("*.json")]
        files = [p for p in named if p.suffix == ".txt"]
        assert files and not any(p.exists() for p in files), folder  # stale: files are gone


@pytest.fixture
def stale_user_cache(tmp_path, monkeypatch) -> Path:
    """A user cache folder (``XDG_CACHE_HOME``) whose pint, iam_units and projection pint
    folders hold entries of a deleted installation; nothing else in it (no unit memo)."""
    import pint

    from projection.model import units

    base = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(base))
    own = units._pint_cache_folder(pint)
    assert own is not None and base in own.parents
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    plant_stale_pint_entries([base / "pint", base / "iam-units" / version, own],
                             tmp_path / "install")
    return base


REGISTRY_PROBE = (
    "import pint; from projection.model import units; ureg = units.registry();"
    "print(ureg.Quantity(1.0, 'TWh').to('J').magnitude,"
    " ureg.Quantity(2.0, 'household').to('dimensionless').magnitude,"
    " units._pint_cache_folder(pint), pint.__file__)"
)
"""Builds the project's registry in a fresh process (this one keeps the registry that the
modules imported already hold) and prints two conversions, its cache folder and pint's file."""


def registry_in_a_fresh_process(cache_home: Path) -> list[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    done = subprocess.run([sys.executable, "-c", REGISTRY_PROBE], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_unit_registry_is_built_despite_a_stale_entry_in_its_cache(stale_user_cache):
    twh, households, _, _ = registry_in_a_fresh_process(stale_user_cache)
    assert float(twh) == pytest.approx(3.6e15)
    assert float(households) == 2.0


def test_the_registry_caches_in_a_folder_of_its_own_installation(tmp_path):
    _, _, folder, pint_file = registry_in_a_fresh_process(tmp_path)
    own = Path(folder)
    assert tmp_path in own.parents
    sources = [json.loads(p.read_text())["source"] for p in own.glob("*.json")]
    files = [s for s in sources if s.endswith(".txt")]
    pint_folder = str(Path(pint_file).resolve().parent)
    assert files and all(s.startswith(pint_folder) for s in files)  # entries of this pint
    assert not (tmp_path / "pint").exists()  # pint's shared folder is not used
    assert registry_in_a_fresh_process(tmp_path)[2] == folder  # the same one the next time


def test_commands_run_with_stale_entries_in_every_user_cache(stale_user_cache, tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(stale_user_cache)}
    env.pop("IAM_UNITS_CACHE", None)
    for args in (["run", "baseline", "-o", str(tmp_path / "out"), "-q"],
                 ["scenarios", "--diff", "baseline", "high_growth"]):
        done = subprocess.run([sys.executable, "-m", "projection.outputs.console", *args],
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
    assert (tmp_path / "out" / "projection.nc").is_file()
    memo = list((stale_user_cache / "projection").glob("units-*.json"))
    assert memo  # the run built pint's registry (no memo before) and remembered its answers


def test_the_suite_reads_pyam_units_from_a_cache_of_its_own(stale_user_cache):
    """The session's ``IAM_UNITS_CACHE`` (conftest) keeps pyam's units away from the user's
    folder, stale entries and all."""
    pytest.importorskip("pyam")
    session = os.environ.get("IAM_UNITS_CACHE")
    assert session and Path(session).resolve() != (stale_user_cache / "iam-units").resolve()
    env = {**os.environ, "XDG_CACHE_HOME": str(stale_user_cache)}
    code = "import pyam, iam_units; print(iam_units.registry('1 Mt').to('kt').magnitude)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.split()[-1]) == pytest.approx(1000.0)


def copy_of_the_package(target: Path) -> Path:
    """The installed package's source laid out as ``projection/`` under ``target`` (the
    layout pyproject.toml's package-dir gives it): a second installation of the same code."""
    layout = {"api": "projection", "model": "projection/model",
              "outputs": "projection/outputs", "validation": "projection/validation",
              "scenarios": "projection/scenario_files"}
    for source, destination in layout.items():
        shutil.copytree(ROOT / source, target / destination, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.nc"))
    return target


ENGINE_PROBE = (
    "import numpy as np, projection.model.kernel as k;"
    "f = k.compiled_function('probe', lambda p: {'y': np.exp(p['a']) * 2.0 + np.log(p['a'])});"
    "y = f({'a': np.array([1.0, 2.0, 3.0])})['y'];"
    "run = next(iter(k._functions.values())).function;"
    "print(k.__file__, len(run.stats.cache_hits), len(run.stats.cache_misses),"
    " *[float(v) for v in y])"
)
"""Compiles (or loads) a small engine that calls the compiled exp and log of kernel_math,
and prints where the package was imported from, numba's cache hits and misses, and y."""


def test_compiled_engines_outlive_the_installation_that_made_them(tmp_path):
    pytest.importorskip("numba")
    import numpy as np

    other = copy_of_the_package(tmp_path / "other-install")
    kernel_cache = tmp_path / "kernel"
    env = {**os.environ, "PROJECTION_KERNEL_CACHE": str(kernel_cache)}
    made = subprocess.run([sys.executable, "-c", ENGINE_PROBE],
                          env={**env, "PYTHONPATH": str(other)}, capture_output=True, text=True,
                          check=True, timeout=600).stdout.split()
    assert Path(made[0]).is_relative_to(other)  # made by the other installation
    assert made[1:3] == ["0", "1"]  # compiled there
    shutil.rmtree(other)  # that installation is deleted
    used = subprocess.run([sys.executable, "-c", ENGINE_PROBE], env=env, capture_output=True,
                          text=True, check=True, timeout=600).stdout.split()
    assert not Path(used[0]).is_relative_to(tmp_path)  # this installation
    assert used[1:3] == ["1", "0"]  # loaded from the cache the deleted one wrote
    a = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose([float(v) for v in used[3:]], np.exp(a) * 2.0 + np.log(a),
                               rtol=1e-15)
    assert used[3:] == made[3:]
