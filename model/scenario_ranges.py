"""Uncertainty ranges of scenario entries: distributions, rank correlations, and how a child
scenario keeps the range its parent declares."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from .parameters import MIX_SHARE_KEYS, SHARE_PARAMETERS, Parameter
from .sampling import DISTRIBUTIONS, Distribution, DistributionError, correlation_matrix
from .scenario_keys import Entry, ScenarioError, _suggest, all_keys, check_bounds

CORRELATIONS = "correlations"
"""Array of tables ``[[correlations]]``: ``parameters = [KEY, KEY]``, ``rank = -1..1`` (a
Spearman rank correlation between two uncertain parameters) and ``source``."""

CORRELATION_KEYS = ("parameters", "rank", "source")


def _distribution(path: Path, key: str, p: Parameter, raw: dict[str, Any], base: float,
                  numbers: dict[str, float]) -> tuple[Distribution | None, dict[str, str] | None]:
    """The entry's distribution (or None) and its declaration as written."""
    kind = raw.get("dist")
    if kind is None:
        if "mode" in numbers or "sd" in numbers:
            extra = "mode" if "mode" in numbers else "sd"
            raise ScenarioError(path, f"{key}.{extra}", "given without dist; expected dist = "
                                "\"triangular\" (mode) or \"normal\"/\"lognormal\" (sd)")
        if ("low" in numbers) != ("high" in numbers):
            raise ScenarioError(path, key,
                                "give both low and high for an uncertainty range, or neither")
        if not numbers:
            return None, None
        kind = "uniform"
    if kind == FIXED:  # certain: no range, and none kept from a parent
        if numbers:
            raise ScenarioError(path, f"{key}.{next(iter(numbers))}",
                                f"is not used by dist = {FIXED!r} (a value without a range)")
        return None, {"dist": FIXED}
    if not isinstance(kind, str):
        raise ScenarioError(path, f"{key}.dist", f"got {kind!r}, expected a string")
    if kind not in DISTRIBUTIONS:
        raise ScenarioError(path, f"{key}.dist", f"got {kind!r}, expected one of "
                            f"{', '.join(DISTRIBUTIONS)}{_suggest(kind, DISTRIBUTIONS)}")
    if "low" in numbers and "high" in numbers and not numbers["low"] <= base <= numbers["high"]:
        raise ScenarioError(
            path, key,
            f"expected low <= value <= high, got {raw['low']!r}, {raw['value']!r}, {raw['high']!r}",
        )
    unused = [n for n in ("mode", "sd") if n in numbers
              and not (n == "mode" and kind == "triangular")
              and not (n == "sd" and kind in ("normal", "lognormal"))]
    if unused:
        raise ScenarioError(path, f"{key}.{unused[0]}", f"is not used by dist = {kind!r}")
    if kind == "triangular" and "mode" not in numbers:
        numbers = {**numbers, "mode": base}  # the value is the most likely value
    if p.per_workload and p.name in SHARE_PARAMETERS:
        raise ScenarioError(path, key, "a share cannot be uncertain on its own (the workload "
                            "shares must sum to 100 %); remove its range")
    if key in MIX_SHARE_KEYS:
        raise ScenarioError(path, key, "a share cannot be uncertain on its own (the generation "
                            "shares must sum to 100 %); remove its range")
    try:
        distribution = Distribution(kind, base, numbers.get("low"), numbers.get("high"),
                                    numbers.get("mode"), numbers.get("sd"))
    except DistributionError as exc:
        raise ScenarioError(path, key, f"dist = {kind!r}: {exc}") from None
    lo, hi = distribution.support
    for side, edge, name in ((lo, "below", "low"), (hi, "above", "high")):
        if kind == "lognormal" and side == 0.0:
            continue  # a lognormal never reaches zero
        problem = check_bounds(p, side) if math.isfinite(side) else None
        if problem or (not math.isfinite(side) and _bounded_kind(p, name)):
            raise ScenarioError(path, key, f"dist = {kind!r} reaches {edge} what the value can "
                                f"take; give {name} to truncate it")
    text = {"dist": kind}
    for name in ("low", "mode", "high", "sd"):
        if name in raw:
            text[name] = str(raw[name])
    return distribution, text


def _bounded_kind(p: Parameter, side: str) -> bool:
    """Whether values of ``p`` have a bound on ``side`` ("low" or "high")."""
    return side == "low" or p.kind == "fraction"


def _support(entry: Entry) -> tuple[float, float]:
    if entry.distribution is None:
        return entry.base_value, entry.base_value
    return entry.distribution.support


def _correlations(tables: list[tuple[Path, Any]],
                  entries: dict[str, Entry]) -> dict[tuple[str, str], float]:
    """``[[correlations]]`` of every file in the chain (children override a pair), checked."""
    pairs: dict[tuple[str, str], float] = {}
    where = CORRELATIONS
    last = Path("")
    for file, table in tables:
        last = file
        if not isinstance(table, list):
            raise ScenarioError(file, where, "expected [[correlations]] tables with parameters "
                                "= [KEY, KEY], rank = -1..1 and source")
        for i, item in enumerate(table):
            at = f"{where}[{i}]"
            if not isinstance(item, dict):
                raise ScenarioError(file, at, "expected a table")
            for k in item:
                if k not in CORRELATION_KEYS:
                    raise ScenarioError(file, f"{at}.{k}",
                                        f"unknown key{_suggest(k, CORRELATION_KEYS)}")
            keys = item.get("parameters")
            if (not isinstance(keys, list) or len(keys) != 2
                    or not all(isinstance(k, str) for k in keys) or keys[0] == keys[1]):
                raise ScenarioError(file, f"{at}.parameters",
                                    f"got {keys!r}, expected two different parameter keys")
            for k in keys:
                if k not in entries:
                    raise ScenarioError(file, f"{at}.parameters",
                                        f"unknown key {k!r}{_suggest(k, all_keys())}")
                if entries[k].distribution is None:
                    raise ScenarioError(file, f"{at}.parameters", f"{k} has no distribution "
                                        "(give it low and high, or a dist) to correlate")
            rank = item.get("rank")
            if isinstance(rank, bool) or not isinstance(rank, int | float):
                raise ScenarioError(file, f"{at}.rank", f"got {rank!r}, expected a number "
                                    "between -1 and 1")
            if not -1 < rank < 1:
                raise ScenarioError(file, f"{at}.rank", f"got {rank}, expected a rank "
                                    "correlation strictly between -1 and 1")
            source = item.get("source")
            if not isinstance(source, str) or not source.strip():
                raise ScenarioError(file, at, "has no source: every correlation needs "
                                    "source = \"...\"")
            a, b = sorted(keys)
            pairs[(a, b)] = float(rank)
    if pairs:
        keys = sorted({k for pair in pairs for k in pair})
        try:
            correlation_matrix(keys, pairs)
        except DistributionError as exc:
            raise ScenarioError(last, CORRELATIONS, str(exc)) from None
    return pairs


FIXED = "fixed"
"""``dist = "fixed"``: the value is certain; a child scenario drops its parent's range."""
RANGE_KEYS = ("low", "high", "dist", "mode", "sd")
"""The keys of an entry that declare its uncertainty range."""


OUTSIDE = "none: "
"""How ``Entry.range_file`` starts when the value lies outside the range it would keep."""


def with_parent_range(path: Path, key: str, raw: Any, parent: Entry | None, parse) -> Entry:
    """``parse(path, key, raw)``, keeping the range ``parent`` declares when ``raw`` declares
    none of its own (a child scenario or an override that changes only the value).

    The range is kept as written (``dist``, ``low``, ``high``, ``sd``; ``mode`` where it was
    written, else the new value); a normal or lognormal is centred on the new value, as the
    value always centres it. A value outside the kept range keeps none: ``range_file`` says
    so (``OUTSIDE`` and why), and :func:`check_kept_ranges` refuses it in a scenario file.
    """
    entry = parse(path, key, raw)
    if (parent is None or parent.distribution_text is None or parent.distribution is None
            or entry.distribution is not None or any(k in raw for k in RANGE_KEYS)):
        return entry
    kept = dict(parent.distribution_text)
    where = parent.range_file or parent.file
    span = f"{kept['dist']} " + (" to ".join(kept[k] for k in ("low", "high") if k in kept)
                                 or f"sd {kept.get('sd')}")
    try:
        inherited = parse(path, key, {**raw, **kept})
    except ScenarioError:
        return replace(entry, range_file=f"{OUTSIDE}the value lies outside the range of "
                                         f"{where} ({span})")
    return replace(inherited, range_file=where)


def check_kept_ranges(entries: Mapping[str, Entry], given_with_the_run: set[str]) -> None:
    """Refuse a scenario file's value that lies outside the range it would keep from its
    parent: the file must declare the value's own range. (A value given with the run, from
    a file named in ``given_with_the_run``, is held fixed instead.)"""
    for key, e in entries.items():
        if e.range_file and e.range_file.startswith(OUTSIDE) and e.file not in given_with_the_run:
            reason = e.range_file.removeprefix(OUTSIDE)
            raise ScenarioError(e.file, key, f"value {e.text!r}: {reason}; declare its own low "
                                "and high")
