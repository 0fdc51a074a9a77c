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


@pytest.fixture(scope="session")
def scenario_dir() -> Path:
    return SCENARIOS


@pytest.fixture(scope="session")
def shipped_results() -> dict[str, xr.Dataset]:
    return {name: run_scenario(load_scenario(SCENARIOS / f"{name}.toml")) for name in SHIPPED}
