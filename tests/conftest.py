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


@pytest.fixture(scope="session", autouse=True)
def kernel_cache(tmp_path_factory):
    """Compiled engines go to a folder of this session, not the user's cache (unless
    PROJECTION_KERNEL_CACHE names one): the suite proves they compile from the equations."""
    import os

    variable = "PROJECTION_KERNEL_CACHE"
    if os.environ.get(variable):
        yield Path(os.environ[variable])
        return
    folder = tmp_path_factory.mktemp("kernel")
    os.environ[variable] = str(folder)
    yield folder
    del os.environ[variable]


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
