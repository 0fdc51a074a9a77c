"""The check registry, ``validation/data/checks.toml``: the kinds of check, the fields each
needs, the three groups, and the loading that refuses a malformed entry with the file, the
check and what was expected."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from projection.model.parameters import WORKLOADS
from projection.model.safe_io import load_toml
from projection.model.units import parse_quantity

from .references import ReferenceDataError, data_dir

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
    from projection.model import regions

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
