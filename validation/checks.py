"""The checks against published figures: what the model computes for each kind of check, and
the run of the whole registry into ``validate``'s report.

The checks are data (``validation/data/checks.toml``, loaded by :mod:`.check_registry`): each
names a reference figure, what the model computes to compare with it and a tolerance with its
reason, a reason that comes from the figure (its stated uncertainty, its rounding, its scope)
and never from the model's result. One small function per kind computes the model's value;
:func:`compare` (:mod:`.check_report`) decides whether the model is within the tolerance the
same way for all. A check outside its tolerance is a *miss* when checks.toml explains why the
model and the figure disagree (``miss = "..."``), and a *failure* otherwise: ``validate``
counts pass, miss and fail separately.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import xarray as xr

from projection.model.demand import FLOP_PER_PARAMETER_TOKEN, TEXT_WORKLOADS
from projection.model.parameters import WORKLOADS
from projection.model.run import run_scenario
from projection.model.scenario import (
    Scenario,
    load_scenario,
    parameter_for_key,
    resolve_scenario_path,
)
from projection.model.units import parse_quantity, ureg

from .calibration import FitResult, calibrate_scenario, display_unit, fitted_scenario, to_display
from .check_registry import (  # noqa: F401  (re-exported: the registry's names, as before)
    GROUPS,
    KINDS,
    REQUIRED,
    default_checks_path,
    load_checks,
)
from .check_report import (  # noqa: F401  (re-exported: results, comparison and table)
    STATUSES,
    CheckResult,
    Report,
    compare,
    format_table,
    percent,
    report_json,
)
from .references import (
    Reference,
    ReferenceDataError,
    SeriesPoint,
    convert,
    fmt,
    load_references,
    load_series,
)

# --- the model's side ---------------------------------------------------------------------------

class Context:
    """Reference figures, scenarios and runs shared by the checks (each scenario runs once)."""

    def __init__(self, references: dict[str, Reference], settings: dict[str, Any],
                 checks_path: Path) -> None:
        self.references = references
        self.settings = settings
        self.checks_path = checks_path
        self._scenarios: dict[str, Scenario] = {}
        self._runs: dict[str, xr.Dataset] = {}

    def reference(self, check: dict[str, Any], name: str = "reference") -> Reference:
        rid = check[name]
        if rid not in self.references:
            raise ReferenceDataError(self.checks_path, f"{check['id']}.{name}",
                                 f"{rid!r} is not an id in reference_figures.csv")
        return self.references[rid]

    def scenario(self, name: str) -> Scenario:
        if name not in self._scenarios:
            self._scenarios[name] = load_scenario(resolve_scenario_path(name))
        return self._scenarios[name]

    def run(self, name: str) -> xr.Dataset:
        if name not in self._runs:
            self._runs[name] = run_scenario(self.scenario(name))
        return self._runs[name]

    def constant(self, name: str):
        entry = self.settings.get("constants", {}).get(name)
        if not isinstance(entry, dict) or "value" not in entry or "source" not in entry:
            raise ReferenceDataError(self.checks_path, f"constants.{name}",
                                 "missing; expected { value = \"...\", source = \"...\" }")
        return parse_quantity(entry["value"])

    @cached_property
    def backcast_path(self) -> Path:
        return self.checks_path.parent / self.settings["backcast"]["scenario"]

    @cached_property
    def series(self) -> list[SeriesPoint]:
        return load_series(self.checks_path.parent / self.settings["backcast"]["series"],
                           self.references)

    @cached_property
    def backcast(self) -> tuple[FitResult, xr.Dataset]:
        """The backcast fitted to the historical series, and its run at the fitted values."""
        scenario = load_scenario(self.backcast_path)
        fit = calibrate_scenario(scenario, self.series)
        return fit, run_scenario(fitted_scenario(fit))


def _quantity(ref: Reference):
    return ureg.Quantity(ref.central, ref.unit.replace("%", "percent"))


def _in_unit(quantity, unit: str) -> float:
    return float(quantity.to(unit.replace("%", "percent")).magnitude)


def _output_value(ds: xr.Dataset, output: str, year: int, workload: str | None = None,
                  region: str | None = None) -> tuple[float, str]:
    da = ds[output].sel(year=year)
    if workload is not None:
        da = da.sel(workload=workload)
    if region is not None:
        da = da.sel(region=region)
    return float(da), ds[output].attrs["units"]


def request_total(scenario: Scenario, workload: str) -> float:
    """Accelerator energy of one request on a busy accelerator of the start-year vintage, J:
    2 x active parameters x tokens, over the FLOP utilisation (the response's for output
    tokens, the prompt's for input tokens) times the peak FLOP per joule of that vintage (the
    model's per-request physics, before idle share, host overhead and cooling)."""
    p = scenario.parameter_arrays()
    row = WORKLOADS.index(workload)
    per_token = FLOP_PER_PARAMETER_TOKEN * p["active_parameters"][row, 0]
    peak = (per_token * p["tokens_per_request"][row, 0] / p["flop_utilisation"][row, 0]
            + per_token * p["prompt_tokens_per_request"][row, 0]
            / p["prompt_flop_utilisation"][0])
    return float(peak / p["peak_flop_per_joule_start"][0])


def _parameter(ctx: Context, check: dict[str, Any], ref: Reference) -> float:
    scenario = ctx.scenario(check["scenario"])
    p = parameter_for_key(check["key"])
    value = to_display(p, scenario.entries[check["key"]].base_value)
    return convert(value, display_unit(p), ref.unit)


def _request_total(ctx: Context, check: dict[str, Any], ref: Reference) -> float:
    joules = request_total(ctx.scenario(check["scenario"]), check["workload"])
    return convert(joules * float(check.get("factor", 1.0)), "J", ref.unit)


def token_volume(scenario: Scenario) -> float:
    """Text tokens processed per day in the start year, count/day: requests per day x the
    text workloads' shares x (prompt + response tokens)."""
    p = scenario.parameter_arrays()
    rows = [WORKLOADS.index(w) for w in TEXT_WORKLOADS]
    per_request = sum(p["request_share_start"][r, 0]
                      * (p["tokens_per_request"][r, 0] + p["prompt_tokens_per_request"][r, 0])
                      for r in rows)
    per_day = float(p["requests_per_day_start"][0]) * 86400.0  # request/s to request/day
    return per_day * float(per_request)


def _token_volume(ctx: Context, check: dict[str, Any], ref: Reference) -> float:
    return _in_unit(ureg.Quantity(token_volume(ctx.scenario(check["scenario"])), "count/day"),
                    ref.unit)


def _equivalent(ctx: Context, check: dict[str, Any], ref: Reference) -> float:
    if "workload" in check:
        joules = request_total(ctx.scenario(check["scenario"]), check["workload"])
        energy = ureg.Quantity(joules, "J")
    else:
        energy = _quantity(ctx.reference(check, "energy"))
    return _in_unit(energy / _quantity(ctx.reference(check, "constant")), ref.unit)


def _yearly_query_energy(ctx: Context, check: dict[str, Any]):
    return _quantity(ctx.reference(check, "energy")) * ctx.constant("queries_per_day")


def _query_energy(ctx: Context, check: dict[str, Any], ref: Reference) -> float:
    return _in_unit(_yearly_query_energy(ctx, check) * ctx.constant("days_per_year"), ref.unit)


def _query_homes(ctx: Context, check: dict[str, Any], ref: Reference) -> float:
    scenario = ctx.scenario(check["scenario"])
    p = parameter_for_key("context.household_electricity")
    household = ureg.Quantity(to_display(p, scenario.entries[p.key].base_value), p.unit)
    return _in_unit(_yearly_query_energy(ctx, check) / household, ref.unit)


def _year(ctx: Context, check: dict[str, Any], ds: xr.Dataset, name: str = "year") -> int:
    """``check[name]``, which must be one of the years ``ds`` holds."""
    years = [int(y) for y in ds["year"].values]
    if check[name] not in years:
        raise ReferenceDataError(ctx.checks_path, f"{check['id']}.{name}",
                                 f"got {check[name]}, expected a year from {years[0]} to "
                                 f"{years[-1]}")
    return check[name]


def _output(ctx: Context, check: dict[str, Any], ref: Reference) -> float:
    ds = ctx.run(check["scenario"])
    value, unit = _output_value(ds, check["output"], _year(ctx, check, ds),
                                check.get("workload"), check.get("region"))
    return convert(value, unit, ref.unit)


def _output_ratio(ctx: Context, check: dict[str, Any], ref: Reference) -> float:
    ds = ctx.run(check["scenario"])
    now, _ = _output_value(ds, check["output"], _year(ctx, check, ds))
    then, _ = _output_value(ds, check["output"], _year(ctx, check, ds, "base_year"))
    return convert(now / then, "dimensionless", ref.unit)


def _excess(ctx: Context, check: dict[str, Any], ref: Reference) -> float:
    ds = ctx.run(check["scenario"])
    value, unit = _output_value(ds, check["output"], _year(ctx, check, ds))
    p = parameter_for_key(check["key"])
    base = ureg.Quantity(to_display(p, ctx.scenario(check["scenario"]).entries[p.key].base_value),
                         display_unit(p))
    return _in_unit(ureg.Quantity(value, unit) / base - 1.0, ref.unit)


def _backcast_output(ctx: Context, check: dict[str, Any], ref: Reference) -> float:
    ds = ctx.backcast[1]
    value, unit = _output_value(ds, check["output"], _year(ctx, check, ds))
    return convert(value, unit, ref.unit)


def _backcast_ratio(ctx: Context, check: dict[str, Any], ref: Reference) -> float:
    ds = ctx.backcast[1]
    now, _ = _output_value(ds, check["output"], _year(ctx, check, ds))
    then, _ = _output_value(ds, check["output"], _year(ctx, check, ds, "base_year"))
    return convert(now / then, "dimensionless", ref.unit)


MODEL_VALUE: dict[str, Callable[[Context, dict[str, Any], Reference], float]] = {
    "parameter": _parameter,
    "request_total": _request_total,
    "token_volume": _token_volume,
    "equivalent": _equivalent,
    "query_energy": _query_energy,
    "query_homes": _query_homes,
    "output": _output,
    "output_ratio": _output_ratio,
    "excess": _excess,
    "backcast_output": _backcast_output,
    "backcast_ratio": _backcast_ratio,
}


# --- running the checks ---------------------------------------------------------------------

def _result(check: dict[str, Any], ref: Reference, model: float, title: str | None = None,
            tolerance: float | None = None, reason: str | None = None,
            group: str | None = None, tolerance_reason: str | None = None,
            explanation: str | None = None) -> CheckResult:
    tol = check.get("tolerance_value") if tolerance is None else tolerance
    factor = float(check["within_factor"]) if "within_factor" in check else None
    within, difference, tol_text = compare(model, ref, tol, check.get("target"), factor)
    if tolerance_reason is None:
        tolerance_reason = check.get("tolerance_reason") or (
            "a published range or bound: the model is compared with its ends")
    return CheckResult(
        id=check["id"], group=group or check["group"], title=title or check["title"],
        reference_id=ref.id, reference=ref.describe(), model=model, unit=ref.unit,
        difference=difference, tolerance=tol_text, within=bool(within),
        reason=reason or check["reason"], source=ref.citation(), citation=ref.source,
        confidence=ref.confidence, tolerance_reason=tolerance_reason,
        explanation=explanation if explanation is not None else check.get("miss", ""),
    )


def _fit_result(check: dict[str, Any], fit: FitResult) -> CheckResult:
    verdict = "converged" if fit.ok else "; ".join(fit.problems)
    return CheckResult(
        id=check["id"], group=check["group"], title=check["title"],
        reference_id="", reference="converged, well posed", model=fit.chi2, unit="chi-square",
        difference=f"{len(fit.points)} figures, {len(fit.parameters)} parameters",
        tolerance=verdict, within=fit.ok, reason=check["reason"],
        tolerance_reason="no tolerance: the fit converges inside its bounds with parameters "
                         "the data separate, or it does not",
        source="historical_series.csv", citation="validation/data/historical_series.csv",
        confidence="",
    )


def _series_results(ctx: Context, check: dict[str, Any]) -> list[CheckResult]:
    fit, ds = ctx.backcast
    results = []
    for point in [*fit.points, *fit.holdouts]:
        value, unit = _output_value(ds, point.output, point.year)
        role = "fitted" if point.role == "fit" else "held out"
        sub = {**check, "id": f"{check['id']}.{point.reference.id}"}
        results.append(_result(
            sub, point.reference, convert(value, unit, point.reference.unit),
            title=f"{point.reference.quantity}, {point.year} ({role})",
            tolerance=point.uncertainty if point.reference.value is not None else None,
            reason=f"{role}: the backcast's {point.output} against the published figure",
            tolerance_reason=point.reason, explanation=point.miss,
            group="calibration" if point.role == "fit" else "evidence",
        ))
    return results


def run_checks(checks_path: Path | str | None = None,
               references_path: Path | str | None = None) -> Report:
    """Run every check in the registry; raises ReferenceDataError or ScenarioError for bad data."""
    checks_path = Path(checks_path) if checks_path is not None else default_checks_path()
    checks, settings = load_checks(checks_path)
    ctx = Context(load_references(references_path), settings, checks_path)
    results: list[CheckResult] = []
    for check in checks:
        kind = check["kind"]
        if kind == "backcast_fit":
            results.append(_fit_result(check, ctx.backcast[0]))
        elif kind == "backcast_series":
            results.extend(_series_results(ctx, check))
        else:
            ref = ctx.reference(check)
            results.append(_result(check, ref, MODEL_VALUE[kind](ctx, check, ref)))
    return Report(results, notes(ctx), ctx.backcast[0] if "backcast" in ctx.__dict__ else None)


def notes(ctx: Context) -> list[str]:
    """What a reader needs to interpret the table: the fitted backcast and the serving factor."""
    lines = []
    if "backcast" in ctx.__dict__:
        fit = ctx.backcast[0]
        fitted = ", ".join(
            f"{fp.key} = {fmt(float(v))} {fp.unit}"
            + (f" +/- {fmt(float(fit.sigma[i]), 2)}" if fit.sigma is not None else "")
            for i, (fp, v) in enumerate(zip(fit.parameters, fit.values, strict=True))
        )
        lines.append(f"Backcast ({ctx.backcast_path.name}) fitted: {fitted} (1-sigma).")
        lines.extend(f"Backcast: {w}." for w in fit.warnings)
    if "baseline" in ctx._runs:
        ds = ctx._runs["baseline"]
        calibration = json.loads(ds.attrs.get("calibration_si_units", "{}"))
        utilisation = calibration.get("target_utilisation")
        if isinstance(utilisation, list):
            utilisation = utilisation[0]
        if utilisation is not None and "ai_facility_energy" in ds:
            ai = float(ds["ai_facility_energy"].isel(year=0))
            lines.append(
                f"Baseline: the installed accelerators at the start utilisation (an input; "
                f"buyers plan for {utilisation:.0%}) draw {ai:.3g} "
                f"{ds['ai_facility_energy'].attrs.get('units', 'TWh')} of AI electricity in the "
                "start year (a result; see docs/methodology.md)."
            )
    return lines
