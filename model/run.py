"""Run scenarios: load, integrate, label. The functions the command line and the tests share."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import regions
from .dynamics import INFEASIBLE_REASONS, infeasible_start, start_ai_power, start_peak_work
from .ensemble import simulate
from .errors import InfeasibleStartError, RunError
from .integrate import CALIBRATION_TOLERANCE, CalibrationError
from .labelled import Labelled
from .results import to_labelled
from .scenario import Scenario, ScenarioError, load_scenario
from .units import SECONDS_PER_YEAR

if TYPE_CHECKING:  # imported by compare() and Labelled.to_dataset(): not needed to run
    import xarray as xr


def provenance(scenario: Scenario) -> dict[str, str | int]:
    overrides = scenario.overrides()
    return {
        **({"overrides": json.dumps(overrides)} if overrides else {}),
        "scenario": scenario.name,
        "scenario_title": scenario.title,
        "scenario_description": scenario.description,
        "scenario_file": str(scenario.path),
        "scenario_files": json.dumps([str(f) for f in scenario.files]),
        "scenario_sha256": scenario.sha256,
        "regions_data_sha256": regions.data().sha256,
        "resolved_parameters": json.dumps(scenario.resolved()),
        "start_year": scenario.start_year,
        "end_year": scenario.end_year,
        "substeps_per_year": scenario.substeps_per_year,
    }


TWH_PER_YEAR = 3.6e15 / SECONDS_PER_YEAR
"""1 TWh/yr in W, for messages."""


def check_start_state(scenario: Scenario, parameters=None) -> None:
    """Raise :class:`InfeasibleStartError` (one line, naming the inputs to change) when the
    scenario's inputs admit no start state (``dynamics.infeasible_start``)."""
    p = scenario.parameter_arrays() if parameters is None else parameters
    with np.errstate(all="ignore"):
        infeasible = {k: bool(np.any(v)) for k, v in infeasible_start(p).items()}
    if infeasible["ai_above_total"]:
        ai = float(np.max(start_ai_power(p))) / TWH_PER_YEAR
        total = float(np.min(p["facility_energy_start"])) / TWH_PER_YEAR
        raise InfeasibleStartError(
            scenario.path, "hardware.start_utilisation",
            f"infeasible start state: {INFEASIBLE_REASONS['ai_above_total']} "
            f"({ai:.4g} TWh/yr of AI against {total:.4g} TWh/yr in all); lower "
            "hardware.shipments_start, hardware.start_utilisation or "
            "hardware.idle_power_fraction, or raise start.facility_energy_start")
    if infeasible["requests_above_utilisation"]:
        demanded, generative = start_peak_work(p)
        need = float(np.max(generative * p["start_utilisation"] / demanded))
        raise InfeasibleStartError(
            scenario.path, "start.requests_per_day_start",
            f"infeasible start state: {INFEASIBLE_REASONS['requests_above_utilisation']} "
            f"(requests need {need:.1%} of the fleet's peak capability, the start utilisation is "
            f"{float(np.min(p['start_utilisation'])):.1%}); lower the requests or their tokens, "
            "or raise hardware.start_utilisation")
    if infeasible["training_above_remainder"]:
        demanded, generative = start_peak_work(p)
        room = float(np.min(1.0 - generative / demanded))
        raise InfeasibleStartError(
            scenario.path, "start.training_share_start",
            f"infeasible start state: {INFEASIBLE_REASONS['training_above_remainder']} "
            f"(training {float(np.max(p['training_share_start'])):.1%}, at most {room:.1%} "
            "left after the requests); lower start.training_share_start, or the requests or "
            "their tokens")


def run_scenario(scenario: Scenario) -> xr.Dataset:
    """Integrate one scenario; the result has dims (year[, workload]), the sample axis dropped."""
    return run_labelled(scenario).to_dataset()


def run_labelled(scenario: Scenario) -> Labelled:
    """:func:`run_scenario`'s result as plain labelled arrays (no xarray)."""
    parameters = scenario.parameter_arrays()
    check_start_state(scenario, parameters)
    raw = simulate(parameters, scenario.start_year, scenario.end_year,
                   scenario.substeps_per_year)
    if not raw.finite_samples().all():
        raise RunError(
            f"{scenario.path}: the run produced numbers that are not finite; a growth rate or "
            "time constant is beyond what the equations can follow (try a shorter end_year, "
            "more substeps_per_year, or less extreme values)"
        )
    if not float(raw.calibration_error.max()) <= CALIBRATION_TOLERANCE:
        raise CalibrationError(
            f"{scenario.path}: the start state cannot be calibrated to its targets "
            f"(missed by {float(raw.calibration_error.max()):.2%}); check that start-year demand "
            "fits in start-year capacity"
        )
    with np.errstate(all="ignore"):  # values that are not finite are reported just below
        ds = to_labelled(raw, provenance(scenario)).take("sample", 0)
    bad = first_nonfinite(ds)
    if bad is not None:
        name, year = bad
        raise RunError(
            f"{scenario.path}: output {name} is not a finite number"
            f"{'' if year is None else f' in {year}'}; a value is at the edge of what the "
            "equations can follow (check the smallest and largest values given)"
        )
    return ds


def first_nonfinite(ds: xr.Dataset | Labelled) -> tuple[str, int | None] | None:
    """The first variable of ``ds`` holding a value that is not finite (NaN or infinite), with
    the first year where it happens, or None when every value is finite. Derived outputs
    (ratios, equivalents) are included: a finite state can still divide by a tiny value."""
    for name, var in ds.data_vars.items():
        values = np.asarray(var.values)
        if values.dtype.kind not in "fc" or np.isfinite(values).all():
            continue
        if "year" not in var.dims:
            return str(name), None
        axis = var.dims.index("year")
        others = tuple(i for i in range(values.ndim) if i != axis)
        bad_years = np.any(~np.isfinite(values), axis=others) if others else ~np.isfinite(values)
        return str(name), int(ds["year"].values[int(np.argmax(bad_years))])
    return None


def compare(paths: Sequence[Path | str], **overrides) -> xr.Dataset:
    """Run several scenarios and stack them along a ``scenario`` dimension."""
    import xarray as xr

    if not paths:
        raise ScenarioError("compare", "", "no scenario given; expected one or more scenario "
                            "names or files")
    scenarios = [load_scenario(p, **overrides) for p in paths]
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        twice = next(s for s in scenarios if s.name == dup)
        raise ScenarioError(twice.path, "scenario.name",
                            f"{dup!r} appears twice; compare needs distinct scenarios")
    starts = {s.start_year for s in scenarios}
    if len(starts) > 1:
        odd = next(s for s in scenarios if s.start_year != scenarios[0].start_year)
        raise ScenarioError(odd.path, "scenario.start_year",
                            f"{odd.start_year}, but {scenarios[0].path} starts in "
                            f"{scenarios[0].start_year}; compare needs one start year")
    end = min(s.end_year for s in scenarios)
    datasets = []
    for s in scenarios:
        ds = run_scenario(s).sel(year=slice(None, end))
        datasets.append(ds.expand_dims(scenario=[s.name]))
    combined = xr.concat(datasets, dim="scenario", combine_attrs="drop_conflicts")
    combined.attrs["scenario"] = ",".join(names)
    combined.attrs["scenario_file"] = ",".join(str(s.path) for s in scenarios)
    combined.attrs["scenario_sha256"] = ",".join(s.sha256 for s in scenarios)
    combined.attrs["scenario_title"] = " | ".join(s.title for s in scenarios)
    combined.attrs["resolved_parameters"] = json.dumps({s.name: s.resolved() for s in scenarios})
    if any(s.overrides() for s in scenarios):
        combined.attrs["overrides"] = json.dumps({s.name: s.overrides() for s in scenarios})
    combined.attrs["end_year"] = end
    combined.attrs["end_years_requested"] = json.dumps({s.name: s.end_year for s in scenarios})
    return combined
