"""Reproduction: the shipped scenarios' results, stored as NetCDF, to catch unintended change.

Compare the current model with the stored results:

    python -m projection.validation.reproduction

When a change to the model or a shipped scenario is meant to change results, regenerate the
stored files and commit them with the change:

    python -m projection.validation.reproduction --regenerate
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path
from typing import Literal

import xarray as xr

from projection.model.run import run_scenario
from projection.model.scenario import load_scenario, shipped_scenarios

RTOL = 1e-6
"""Relative tolerance of the comparison: far above float64 round-off of one run (about 1e-13),
far below any change of a parameter or an equation that matters."""
ENGINE: Literal["scipy"] = "scipy"
"""NetCDF-3 (64-bit offset) through scipy: a few KB per scenario, where NetCDF-4/HDF5 spends
tens of KB on per-variable headers. Any NetCDF tool reads both."""
KEPT_ATTRIBUTES = ("units", "long_name", "quantity_type")
REGENERATE = "python -m projection.validation.reproduction --regenerate"


def reproduction_dir() -> Path:
    return Path(str(resources.files("projection.validation"))) / "reproduction"


def stored_path(name: str, folder: Path | None = None) -> Path:
    return (folder or reproduction_dir()) / f"{name}.nc"


def write_result(ds: xr.Dataset, path: Path) -> None:
    ds.to_netcdf(str(path), engine=ENGINE, format="NETCDF3_64BIT")


def read_result(path: Path) -> xr.Dataset:
    with xr.open_dataset(path, engine=ENGINE) as ds:
        return ds.load()


def reference_result(path: Path) -> xr.Dataset:
    """A shipped scenario's result as stored: the data and units, none of the run's provenance
    (command line, file paths, version), so that the files change only when results do."""
    scenario = load_scenario(path)
    ds = run_scenario(scenario)
    for name in ds.variables:
        ds[name].attrs = {k: v for k, v in ds[name].attrs.items() if k in KEPT_ATTRIBUTES}
    ds.attrs = {
        "title": f"projection reproduction result: {scenario.name}",
        "scenario": scenario.name,
        "scenario_sha256": scenario.sha256,
        "regenerate": REGENERATE,
    }
    return ds


def regenerate(folder: Path | None = None) -> list[Path]:
    """Run every shipped scenario and store its result."""
    folder = folder or reproduction_dir()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for path in shipped_scenarios():
        target = stored_path(path.stem, folder)
        write_result(reference_result(path), target)
        written.append(target)
    return written


def compare_all(folder: Path | None = None) -> list[tuple[str, str | None]]:
    """(scenario, None when it reproduces, else the first difference) for each shipped scenario."""
    outcomes: list[tuple[str, str | None]] = []
    for path in shipped_scenarios():
        stored = stored_path(path.stem, folder)
        if not stored.exists():
            outcomes.append((path.stem, f"no stored result {stored}; run {REGENERATE}"))
            continue
        try:
            xr.testing.assert_allclose(read_result(stored), reference_result(path), rtol=RTOL)
        except AssertionError as exc:
            outcomes.append((path.stem, str(exc).strip().splitlines()[0]))
        else:
            outcomes.append((path.stem, None))
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m projection.validation.reproduction",
        description="Compare the shipped scenarios' results with the stored NetCDF files.",
    )
    parser.add_argument("--regenerate", action="store_true",
                        help="Rewrite the stored files from the current model "
                        "(when a change is meant).")
    parser.add_argument("--folder", type=Path, default=None,
                        help="Folder of stored results [default: validation/reproduction/].")
    args = parser.parse_args(argv)
    if args.regenerate:
        for path in regenerate(args.folder):
            print(f"Wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
        return 0
    failures = 0
    for name, problem in compare_all(args.folder):
        print(f"{name:<20} {'reproduces' if problem is None else 'DIFFERS: ' + problem}")
        failures += problem is not None
    if failures:
        print(f"If the change is meant, regenerate with: {REGENERATE}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
