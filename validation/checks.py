"""The check registry: every published figure the model is held to, and ``validate``'s table.

The checks are data (``validation/data/checks.toml``): each names a reference figure, what the
model computes to compare with it and a tolerance with its reason, a reason that comes from the
figure (its stated uncertainty, its rounding, its scope) and never from the model's result. One
small function per kind computes the model's value; :func:`compare` decides whether the model is
within the tolerance the same way for all. A check outside its tolerance is a *miss* when
checks.toml explains why the model and the figure disagree (``miss = "..."``), and a *failure*
otherwise: ``validate`` counts pass, miss and fail separately.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import xarray as xr

from projection.model.demand import FLOP_PER_PARAMETER_TOKEN, TEXT_WORKLOADS
from projection.model.parameters import WORKLOADS
from projection.model.run import run_scenario
from projection.model.safe_io import load_toml
from projection.model.scenario import (
    Scenario,
    load_scenario,
    parameter_for_key,
    resolve_scenario_path,
)
from projection.model.units import parse_quantity, ureg

from .calibration import FitResult, calibrate_scenario, display_unit, fitted_scenario, to_display
from .references import (
    Reference,
    ReferenceDataError,
    SeriesPoint,
    convert,
    data_dir,
    fmt,
    load_references,
    load_series,
)

KINDS = (
    "parameter", "request_total", "token_volume", "equivalent", "query_energy", "query_homes",
    "output", "output_ratio", "excess",
    "backcast_fit", "backcast_series", "backcast_output", "backcast_ratio",
)
REQUIRED: dict[str, tuple[str, ...]] = {
    "parameter": ("scenario", "key", "reference"),
    "request_total": ("scenario", "workload", "reference"),
    "token_volume": ("scenario", "reference"),
    "equivalent": ("constant", "reference"),
    "query_energy": ("energy", "reference"),
    "query_homes": ("scenario", "energy", "reference"),
    "output": ("scenario", "output", "year", "reference"),
    "output_ratio": ("scenario", "output", "year", "base_year", "reference"),
    "excess": ("scenario", "output", "year", "key", "reference"),
    "backcast_fit": (),
    "backcast_series": (),
    "backcast_output": ("output", "year", "reference"),
    "backcast_ratio": ("output", "year", "base_year", "reference"),
}
"""Fields each kind needs besides id, group, kind and reason."""

GROUPS: dict[str, str] = {
    "identity": "inputs read back and arithmetic restated (they test the code, not the model)",
    "calibration": "figures the start state or the backcast is fitted to",
    "evidence": "figures used nowhere in the inputs or the fit: other studies, held-out years, "
                "measurements the physics is compared with",
}
"""The three groups every check belongs to, in the order ``validate`` prints them."""


def default_checks_path() -> Path:
    return data_dir() / "checks.toml"


STATUSES = ("pass", "miss", "fail")
"""pass: within the tolerance; miss: outside it, for a reason checks.toml states; fail: outside
it with no stated reason."""


@dataclass(frozen=True)
class CheckResult:
    """One row of the table: the figure, the model's value, the difference and the status."""

    id: str
    group: str
    title: str
    reference_id: str
    reference: str  # the figure as a person reads it
    model: float
    unit: str
    difference: str
    tolerance: str
    within: bool  # the model lies within the tolerance
    reason: str  # what the comparison tests
    source: str  # short citation
    citation: str  # full citation
    confidence: str
    tolerance_reason: str = ""  # why this tolerance, from the figure alone
    explanation: str = ""  # why the model misses the figure (checks.toml ``miss``), if stated

    @property
    def status(self) -> str:
        """"pass", "miss" (outside the tolerance, for a stated reason) or "fail"."""
        if self.within:
            return "pass"
        return "miss" if self.explanation else "fail"

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def stale_explanation(self) -> bool:
        """A stated reason for a miss on a check the model now passes: the reason is stale."""
        return self.within and bool(self.explanation)

    @property
    def verdict(self) -> str:
        """The status as the table prints it: "pass", "miss" or "FAIL"."""
        return "FAIL" if self.status == "fail" else self.status

    @property
    def model_text(self) -> str:
        unit = "" if self.unit == "dimensionless" else f" {self.unit}"
        return f"{fmt(self.model)}{unit}"

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["model"] = self.model if math.isfinite(self.model) else None
        d["model_text"] = self.model_text
        d["status"] = self.status
        d["stale_explanation"] = self.stale_explanation
        return d


@dataclass
class Report:
    """Everything ``validate`` shows."""

    results: list[CheckResult]
    notes: list[str] = field(default_factory=list)
    fit: FitResult | None = None

    @property
    def ok(self) -> bool:
        """No check fails (misses are stated and explained; ``validate`` exits 0)."""
        return all(r.status != "fail" for r in self.results)

    @staticmethod
    def _count(results: list[CheckResult]) -> dict[str, int]:
        return {**{s: sum(r.status == s for r in results) for s in STATUSES},
                "total": len(results)}

    @property
    def status_counts(self) -> dict[str, int]:
        """How many checks pass, miss (explained) and fail, and the total."""
        return self._count(self.results)

    @property
    def group_counts(self) -> dict[str, dict[str, int]]:
        """Pass, miss, fail and total counts per group (identity, calibration, evidence)."""
        return {group: self._count([r for r in self.results if r.group == group])
                for group in GROUPS}

    @property
    def counts(self) -> tuple[int, int]:
        """(checks that pass, checks that do not: misses and failures)."""
        good = sum(r.passed for r in self.results)
        return good, len(self.results) - good


# --- comparison -----------------------------------------------------------------------------------

def percent(x: float) -> str:
    return f"{x * 100:+.1f} %"


def compare(model: float, ref: Reference, tolerance: float | None,
            target: str | None = None, within_factor: float | None = None
            ) -> tuple[bool, str, str]:
    """(passed, difference, tolerance text) of a model value against a figure.

    With ``within_factor`` f, the model passes between the figure's value / f and x f. With a
    tolerance, the model is compared with the figure's value (or one end of its range,
    ``target`` "low" or "high"): relative difference within the tolerance. Without one, a range
    must contain the model and a bound must not be crossed.
    """
    if not math.isfinite(model):
        return False, "no value", "-"
    if within_factor is not None and ref.value is not None:
        ratio = model / ref.value
        passed = 1.0 / within_factor <= ratio <= within_factor
        return passed, percent(ratio - 1.0), f"within a factor of {within_factor:g}"
    if tolerance is not None:
        goal = {"low": ref.low, "high": ref.high}.get(target or "", ref.value)
        if goal is None:
            goal = ref.central
        difference = model / goal - 1.0
        where = f" of the {target} end" if target in ("low", "high") else ""
        return abs(difference) <= tolerance + 1e-12, percent(difference), \
            f"within {tolerance * 100:g} %{where}"
    if ref.is_range:
        if model < ref.low:  # type: ignore[operator]
            return False, f"{percent(model / ref.low - 1)} below", "in range"  # type: ignore[operator]
        if model > ref.high:  # type: ignore[operator]
            return False, f"{percent(model / ref.high - 1)} above", "in range"  # type: ignore[operator]
        return True, "in range", "in range"
    if ref.low is not None:
        return model >= ref.low, percent(model / ref.low - 1), "above the bound"
    if ref.high is not None:
        return model <= ref.high, percent(model / ref.high - 1), "below the bound"
    raise ReferenceDataError("reference_figures.csv", ref.id,
                         "a value needs a tolerance in checks.toml")


# --- loading the registry -----------------------------------------------------------------------

def _tolerance(path: Path, check_id: str, text: Any) -> float | None:
    if text is None:
        return None
    try:
        value = float(parse_quantity(text).to("dimensionless").magnitude)
    except Exception:  # pint raises several unrelated types
        raise ReferenceDataError(path, f"{check_id}.tolerance",
                             f"got {text!r}, expected a percentage such as \"5 %\"") from None
    if not 0 <= value < 10:
        raise ReferenceDataError(path, f"{check_id}.tolerance", f"got {text!r}, expected 0-1000 %")
    return value


TEXT_FIELDS = ("scenario", "key", "reference", "energy", "constant", "workload", "output",
               "title", "target", "miss", "tolerance_reason", "region")
YEAR_FIELDS = ("year", "base_year")
TARGETS = ("low", "high")
"""``miss = "..."``: why the model is known to lie outside the tolerance (two published figures
disagree and the model follows the other, or the model falls short of the evidence). The check
is then counted as a miss, not a pass; a change that brings the model within the tolerance makes
it a pass and flags the explanation as stale."""


def _check_fields(path: Path, cid: str, check: dict[str, Any]) -> None:
    """Each field of a check has the type and, where the set is known, a value it can take."""
    from projection.model import regions
    from projection.model.results import OUTPUT_BY_NAME
    from projection.model.scenario import all_keys

    for name in TEXT_FIELDS:
        if name in check and not isinstance(check[name], str):
            raise ReferenceDataError(path, f"{cid}.{name}",
                                     f"got {check[name]!r}, expected a string")
    for name in YEAR_FIELDS:
        if name in check and (isinstance(check[name], bool) or not isinstance(check[name], int)):
            raise ReferenceDataError(path, f"{cid}.{name}",
                                     f"got {check[name]!r}, expected a year such as 2028")
    known = {"workload": WORKLOADS, "output": tuple(OUTPUT_BY_NAME), "key": tuple(all_keys()),
             "target": TARGETS, "region": regions.data().states}
    for name, options in known.items():
        if name in check and check[name] not in options:
            close = difflib.get_close_matches(check[name], options, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ReferenceDataError(path, f"{cid}.{name}", f"got {check[name]!r}, not a known "
                                     f"{name}{hint}")


def load_checks(path: Path | str | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The checks in order and the file's other tables ([backcast], [constants]), checked."""
    path = Path(path) if path is not None else default_checks_path()
    data, _ = load_toml(path, what="a check registry (.toml)", error=ReferenceDataError)
    checks = data.get("check", [])
    if not isinstance(checks, list) or not all(isinstance(c, dict) for c in checks):
        raise ReferenceDataError(path, "check", "expected [[check]] tables")
    seen: set[str] = set()
    for check in checks:
        cid = check.get("id")
        if not isinstance(cid, str) or not cid:
            raise ReferenceDataError(path, "check", "a check has no id")
        if cid in seen:
            raise ReferenceDataError(path, cid, "appears twice")
        seen.add(cid)
        kind = check.get("kind")
        if kind not in KINDS:
            raise ReferenceDataError(path, f"{cid}.kind",
                                 f"got {kind!r}, expected one of {', '.join(KINDS)}")
        for name in ("group", "reason", *REQUIRED[kind]):
            if name not in check:
                raise ReferenceDataError(path, cid, f"missing {name!r}")
        if not isinstance(check["group"], str) or check["group"] not in GROUPS:
            raise ReferenceDataError(path, f"{cid}.group",
                                     f"got {check['group']!r}, expected one of {', '.join(GROUPS)}")
        if kind == "equivalent" and ("energy" in check) == ("workload" in check):
            raise ReferenceDataError(path, cid, "give either energy (a reference) or workload")
        if "expect" in check:
            raise ReferenceDataError(path, f"{cid}.expect",
                                     'replaced by miss = "why the model misses the figure"')
        _check_fields(path, cid, check)
        check["tolerance_value"] = _tolerance(path, cid, check.get("tolerance"))
        if ("tolerance" in check or "within_factor" in check) \
                and not check.get("tolerance_reason"):
            raise ReferenceDataError(path, cid, "missing 'tolerance_reason' (why the tolerance "
                                     "is what it is, from the figure: its uncertainty, rounding "
                                     "or scope)")
        if "within_factor" in check:
            try:
                factor = float(check["within_factor"])
            except (TypeError, ValueError):
                factor = float("nan")
            if not factor > 1.0:
                raise ReferenceDataError(
                    path, f"{cid}.within_factor",
                    f"got {check['within_factor']!r}, expected a number above 1")
    if not isinstance(data.get("backcast", {}), dict):
        raise ReferenceDataError(path, "backcast", "expected a [backcast] table")
    for name in ("scenario", "series"):
        if name not in data.get("backcast", {}):
            raise ReferenceDataError(path, "backcast", f"missing {name!r}")
    return checks, data


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


# --- presentation ---------------------------------------------------------------------------

COLUMNS = ("check", "reference", "model", "difference", "result", "source")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(report: Report) -> str:
    """The human table, grouped, one row per check, with pass counts and notes at the end."""
    ordered = sorted(report.results, key=lambda r: list(GROUPS).index(r.group))
    rows = [(r.group, _clip(r.title, 62), r.reference, r.model_text, r.difference,
             r.verdict, _clip(r.source, 60)) for r in ordered]
    widths = [max(len(COLUMNS[i]), *(len(row[i + 1]) for row in rows)) for i in range(6)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [line.format(*COLUMNS), line.format(*("-" * w for w in widths))]
    group = None
    for row in rows:
        if row[0] != group:
            group = row[0]
            out.append(f"[{group}: {GROUPS[group]}]")
        out.append(line.format(*row[1:]).rstrip())
    c = report.status_counts
    out.append("")
    out.append(f"{c['total']} checks: {c['pass']} pass, {c['miss']} miss (explained), "
               f"{c['fail']} fail. Tolerances and their reasons: validation/data/checks.toml and "
               "historical_series.csv; `--json` gives them per check.")
    out.append("By group: " + "; ".join(
        f"{group} {g['pass']} pass, {g['miss']} miss, {g['fail']} fail"
        for group, g in report.group_counts.items()) + ".")
    for r in report.results:
        if r.status == "fail":
            out.append(f"FAIL {r.id}: model {r.model_text}, reference {r.reference} "
                       f"({r.tolerance}; {r.tolerance_reason}).")
        elif r.status == "miss":
            out.append(f"Miss {r.id}: model {r.model_text}, reference {r.reference}, "
                       f"{r.difference}, tolerance {r.tolerance}: {r.explanation}.")
        elif r.stale_explanation:
            out.append(f"Stale explanation {r.id}: the model now passes a check that "
                       "checks.toml says it misses; update its 'miss'.")
    out.extend(report.notes)
    return "\n".join(out)


def report_json(report: Report) -> dict[str, Any]:
    """The same report for machines."""
    data: dict[str, Any] = {
        "ok": report.ok,
        "counts": report.status_counts,
        "misses": [r.id for r in report.results if r.status == "miss"],
        "failures": [r.id for r in report.results if r.status == "fail"],
        "stale_explanations": [r.id for r in report.results if r.stale_explanation],
        "group_counts": report.group_counts,
        "groups": GROUPS,
        "checks": [r.as_dict() for r in report.results],
        "notes": report.notes,
    }
    if report.fit is not None:
        fit = report.fit
        data["backcast_fit"] = {
            "scenario": str(fit.scenario.path),
            "ok": fit.ok,
            "problems": fit.problems,
            "warnings": fit.warnings,
            "parameters": {
                fp.key: {
                    "value": float(v), "unit": fp.unit,
                    "sigma": None if fit.sigma is None else float(fit.sigma[i]),
                }
                for i, (fp, v) in enumerate(zip(fit.parameters, fit.values, strict=True))
            },
            "chi2": fit.chi2,
            "dof": fit.dof,
        }
    return data
