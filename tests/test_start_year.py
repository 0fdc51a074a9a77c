"""The start year is held: no input that acts only after it moves any start-year output.

docs/methodology.md, section 7: the start year's state is calibrated and held, and a scenario's
assumptions act from 1 January of the next year, so every output of the start year is the same
in every scenario that shares the start inputs. This tests that directly, over every parameter
of the table (not only those the shipped scenarios vary): each non-start input is moved across
its declared range, or over its bounds where it declares none, alone and in hypothesis-drawn
combinations, and every catalogue output of the start year must stay as it was. The set of
start-year inputs is the model's own declaration (``parameters.START_YEAR_INPUTS``), tested both
ways: each declared input does move the start year (the declaration is not a list of what happens
to pass), every other input does not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projection.model.ensemble import simulate
from projection.model.parameters import PARAMETERS, SOURCES, START_YEAR_INPUTS
from projection.model.results import OUTPUTS
from projection.model.scenario import CONSISTENCY_RULES as ORDERED
from projection.model.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = load_scenario(ROOT / "scenarios" / "baseline.toml")
BASE = SCENARIO.parameter_arrays()

FUTURE = tuple(p for p in PARAMETERS if p.name not in START_YEAR_INPUTS)


def _span(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Two values of a parameter (in model units) across its declared range, or across its
    bounds where it declares none, kept inside the loader's orderings (ORDERED: a value that
    must not fall below another, which the loader refuses)."""
    low, high = _raw_span(name)
    for lower_key, upper_key, _ in ORDERED:
        if upper_key.split(".")[1] == name:
            low = np.maximum(low, BASE[lower_key.split(".")[1]][..., 0] * 1.01)
        if lower_key.split(".")[1] == name:
            high = np.minimum(high, BASE[upper_key.split(".")[1]][..., 0])
    return low, high


def _raw_span(name: str) -> tuple[np.ndarray, np.ndarray]:
    p = next(q for q in PARAMETERS if q.name == name)
    value = BASE[name][..., 0]
    entry = SCENARIO.entries.get(p.key)
    if entry is not None and entry.low is not None and entry.high is not None \
            and not p.per_workload:
        low, high = BASE[name].dtype.type(entry.low), BASE[name].dtype.type(entry.high)
        if p.kind == "growth":  # the loader's continuous rate: ln(1 + r) per second
            scale = value / np.log1p(entry.base_value) if entry.base_value else None
            if scale is not None and np.isfinite(scale):
                return np.log1p(low) * scale, np.log1p(high) * scale
        return np.full_like(value, low), np.full_like(value, high)
    if p.kind == "fraction":
        return np.full_like(value, 0.05), np.full_like(value, 0.95)
    if p.kind == "growth":
        return value - abs(value) - 1e-9, value + abs(value) + 1e-9
    if p.kind == "at_least_one":
        return np.maximum(value * 0.5, 1.0), value * 2.0
    return value * 0.5, value * 2.0


def _shares(name: str, values: np.ndarray) -> np.ndarray:
    """Per-workload shares must sum to one: a perturbed share table is renormalised."""
    return values / values.sum() if name.startswith("request_share") else values


def _ensemble(columns: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    n = len(columns) + 1
    ens = {k: np.repeat(v, n, axis=-1).astype(float) for k, v in BASE.items()}
    for i, changes in enumerate(columns, start=1):
        for name, values in changes.items():
            ens[name][..., i] = values
    _balance_grid_targets(ens)
    return ens


def _balance_grid_targets(ens: dict[str, np.ndarray]) -> None:
    targets = [f"{s}_share_target" for s in SOURCES]
    total = sum(ens[t] for t in targets)
    for t in targets:
        ens[t] = ens[t] / total


def start_year_outputs(ens: dict[str, np.ndarray], state: bool = False
                       ) -> dict[str, np.ndarray]:
    """Every catalogue output of the start year by sample (and, with ``state``, the stocks on
    1 January, which hold what the start year hands on: trends, pipeline)."""
    raw = simulate(ens, SCENARIO.start_year, SCENARIO.start_year + 1, 3)
    assert np.all(np.isfinite(raw.calibration_error))
    out = {o.name: o.values(raw)[0] for o in OUTPUTS}
    if state:
        out.update({f"state {k}": np.moveaxis(v[0], -1, 0) for k, v in raw.stocks.items()})
    return out


def assert_start_year_unchanged(outputs: dict[str, np.ndarray], labels: list[str]) -> None:
    for name, values in outputs.items():
        reference = values[:1]
        for i, label in enumerate(labels, start=1):
            np.testing.assert_allclose(values[i:i + 1], reference, rtol=1e-9, atol=1e-12,
                                       err_msg=f"{label} moved the start year's {name}")


def test_every_input_that_acts_after_the_start_leaves_every_start_year_output_unchanged():
    columns, labels = [], []
    for p in FUTURE:
        for end, values in zip(("low", "high"), _span(p.name), strict=True):
            columns.append({p.name: _shares(p.name, values)})
            labels.append(f"{p.key} at its {end} end")
    assert len(FUTURE) >= 20  # the table's future inputs, not a hand-picked few
    assert_start_year_unchanged(start_year_outputs(_ensemble(columns)), labels)


def test_each_declared_start_year_input_moves_the_start_year():
    """The declaration is exact: every declared input changes at least one start-year output
    or stock on 1 January when moved by 10 %, so the list cannot grow to hide an input that
    leaks."""
    declared = sorted(START_YEAR_INPUTS & set(BASE))
    assert declared == sorted(START_YEAR_INPUTS)
    columns = []
    for name in declared:
        values = BASE[name][..., 0] * 1.1 + (BASE[name][..., 0] == 0) * 0.01
        if name == "max_utilisation":  # a cap moves the start where it binds: near the rule
            values = _span(name)[0]
        if name.startswith("request_share"):  # a share table scaled whole would renormalise
            values = BASE[name][..., 0] * np.linspace(1.5, 0.5, len(values))
        columns.append({name: _shares(name, values)})
    outputs = start_year_outputs(_ensemble(columns), state=True)
    for i, name in enumerate(declared, start=1):
        moved = [k for k, v in outputs.items()
                 if not np.allclose(v[i], v[0], rtol=1e-9, atol=1e-12)]
        assert moved, f"{name} is declared a start-year input but moves no start-year output"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.floats(0.0, 1.0), min_size=len(FUTURE), max_size=len(FUTURE)),
                min_size=1, max_size=6))
def test_drawn_combinations_of_future_inputs_leave_the_start_year_unchanged(draws):
    columns = []
    for draw in draws:
        changes = {}
        for p, x in zip(FUTURE, draw, strict=True):
            low, high = _span(p.name)
            changes[p.name] = _shares(p.name, low + x * (high - low))
        columns.append(changes)
    labels = [f"draw {i}" for i in range(len(columns))]
    assert_start_year_unchanged(start_year_outputs(_ensemble(columns)), labels)


def test_the_clean_power_share_moving_in_the_held_start_year_is_caught(monkeypatch):
    """The audit's planted bug: the clean-power share left free to move during the held start
    year (its derivative not held) changes start-year market-based emissions, which the test
    above catches through `carbon.clean_power_share_target`, a future input."""
    from projection.model import dynamics, integrate

    original = dynamics.rates

    def leaky(state, p, time, *args, **kwargs):
        d, f, a = original(state, p, time, *args, **kwargs)
        if "clean_power_share" in d:
            d = {**d, "clean_power_share": dynamics.demand.first_order_adjustment(
                state["clean_power_share"], p["clean_power_share_target"],
                p["clean_power_adjustment_time"])}
        return d, f, a

    monkeypatch.setattr(integrate, "rates", leaky)
    with pytest.raises(AssertionError, match="clean_power_share_target"):
        test_every_input_that_acts_after_the_start_leaves_every_start_year_output_unchanged()
