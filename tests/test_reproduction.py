"""Reproduction: the shipped scenarios still give the results stored in validation/reproduction/.

A failure here means a change moved the published results. If the change is meant, regenerate
the stored files and commit them with it:

    python -m projection.validation.reproduction --regenerate
"""

from __future__ import annotations

import pytest
import xarray as xr

from projection.model.scenario import shipped_scenarios
from projection.validation import reproduction

SHIPPED = [p.stem for p in shipped_scenarios()]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_reproduces_stored_result(name, shipped_results):
    stored_file = reproduction.stored_path(name)
    assert stored_file.exists(), f"no stored result; run {reproduction.REGENERATE}"
    stored = reproduction.read_result(stored_file)
    current = shipped_results[name]
    assert set(stored.data_vars) == set(current.data_vars), reproduction.REGENERATE
    xr.testing.assert_allclose(stored, current[list(stored.data_vars)], rtol=reproduction.RTOL)
    for variable in stored.data_vars:
        assert stored[variable].attrs["units"] == current[variable].attrs["units"]


def test_stored_files_are_small():
    """A bound that catches a runaway file: the national outputs and the nine outputs of 51
    states over the stored years are about 57 KB."""
    for name in SHIPPED:
        assert reproduction.stored_path(name).stat().st_size < 100_000


def test_comparison_detects_a_change_and_regenerate_restores(tmp_path, capsys):
    assert reproduction.main(["--folder", str(tmp_path), "--regenerate"]) == 0
    assert sorted(p.stem for p in tmp_path.glob("*.nc")) == sorted(SHIPPED)
    assert reproduction.main(["--folder", str(tmp_path)]) == 0
    changed = reproduction.read_result(tmp_path / "baseline.nc")
    changed["facility_energy"] = changed["facility_energy"] * (1 + 1e-5)
    reproduction.write_result(changed, tmp_path / "baseline.nc")
    assert reproduction.main(["--folder", str(tmp_path)]) == 1
    printed = capsys.readouterr().out
    assert "baseline             DIFFERS" in printed and reproduction.REGENERATE in printed
    assert "low_growth           reproduces" in printed

    assert reproduction.main(["--folder", str(tmp_path), "--regenerate"]) == 0
    assert reproduction.main(["--folder", str(tmp_path)]) == 0
