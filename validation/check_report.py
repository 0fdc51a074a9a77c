"""What a check concludes and how ``validate`` shows it: one result per check (pass, miss for a
stated reason, or fail), the comparison of a model value with a published figure that decides
it, the report's counts, the table and the JSON."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .calibration import FitResult
from .check_registry import GROUPS
from .references import Reference, ReferenceDataError, fmt

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
