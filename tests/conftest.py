"""Shared fixtures: shipped scenarios and their results, computed once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr

from projection.model.run import run_scenario
from projection.model.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SHIPPED = sorted(p.stem for p in SCENARIOS.glob("*.toml"))


KERNEL_VARIABLE = "PROJECTION_KERNEL_CACHE"
FIRST = ("test_schedules.py", "test_kernel.py", "test_new_user.py", "test_uncertainty_runs.py")
"""Files whose tests compile engines no other file needs, or run the longest, in the order
they start: the numba engines for scheduled parameters (their shapes are their own) take the
longest compile of the suite, so it starts first and overlaps the rest of the suite on the
other cores (``-n auto --dist loadfile`` in pyproject.toml: one file's tests on one worker)."""


def pytest_configure(config):
    """The compiled engines of the session go to a folder of its own (unless
    PROJECTION_KERNEL_CACHE names one), shared by its test workers, which compile each engine
    once (kernel.py holds a lock while one compiles it): the suite proves they compile from
    the equations."""
    import os
    import tempfile

    if hasattr(config, "workerinput") or os.environ.get(KERNEL_VARIABLE):
        return  # a worker inherits the folder of the process that started it
    folder = tempfile.mkdtemp(prefix="projection-kernel-")
    os.environ[KERNEL_VARIABLE] = folder
    config._session_kernel_folder = folder


def pytest_unconfigure(config):
    import os
    import shutil

    folder = getattr(config, "_session_kernel_folder", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        if os.environ.get(KERNEL_VARIABLE) == folder:
            del os.environ[KERNEL_VARIABLE]


def pytest_collection_modifyitems(items):
    """The files of FIRST first, in that order; the others as collected."""
    rank = {name: k for k, name in enumerate(FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(FIRST)))


@pytest.fixture(scope="session")
def kernel_cache() -> Path:
    """The folder of the compiled engines: the session's own (see pytest_configure)."""
    import os

    return Path(os.environ[KERNEL_VARIABLE])


@pytest.fixture(scope="session", autouse=True)
def iam_units_cache(tmp_path_factory):
    """pyam's units (``iam_units``) keep pint's parsed definitions in a folder of this session,
    not the user's: pint's entries there name the files of the installation that wrote them,
    and one written by a virtual environment since deleted breaks ``import pyam`` for every
    other (tests/test_caches.py)."""
    import os

    variable = "IAM_UNITS_CACHE"
    before = os.environ.get(variable)
    folder = tmp_path_factory.mktemp("iam-units")
    os.environ[variable] = str(folder)
    yield folder
    if before is None:
        del os.environ[variable]
    else:
        os.environ[variable] = before


@pytest.fixture(scope="session")
def scenario_dir() -> Path:
    return SCENARIOS


@pytest.fixture(scope="session")
def shipped_results() -> dict[str, xr.Dataset]:
    return {name: run_scenario(load_scenario(SCENARIOS / f"{name}.toml")) for name in SHIPPED}
