"""The model compiled by numba from its own numpy equations (optional: needs ``numba``).

Nothing is rewritten by hand. :mod:`projection.model.trace` runs ``dynamics.initial_state``
and ``integrate._rk4_step`` (hence ``dynamics.rates`` and the sector modules) on symbolic
arrays that record every scalar operation of one sample; this module writes that record out as
the Python source of one numba function that takes each sample through the whole run in
scalar locals: the parameters read once, what depends on parameters alone computed once per
sample (retirement hazards, vintage offsets), then every Runge-Kutta step, keeping flow totals
and recording stocks and auxiliaries on 1 January. Numpy's temporaries, the memory traffic
that bounds the numpy engine, never exist. After the held start year the steps run a copy
of the step in which the switches that depend on time alone are settled and trends in time
advance by a factor per step; through the held start year, a copy in which the stocks hold
and the rates are evaluated once per step (see :func:`generate_source`).

The source and numba's machine code are kept in a per-machine cache folder (see
``CACHE_VARIABLE``) under a name that hashes the model's source files and numba's version, so
compilation happens the first time on a machine and again only after the equations change.
``ensemble.simulate(..., backend="numba")`` runs :func:`simulate_block` on each block; the
start-year calibration stays in numpy (``integrate.calibrate``) and calls :func:`compiled_run`
for its passes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import dynamics, integrate, trace
from .units import SECONDS_PER_YEAR

CACHE_VARIABLE = "PROJECTION_KERNEL_CACHE"
"""Environment variable naming the folder for generated and compiled engines. By default
``$XDG_CACHE_HOME/projection/kernel`` (``~/.cache/projection/kernel``)."""
THREADS_VARIABLE = "PROJECTION_KERNEL_THREADS"
"""Environment variable: threads that one block's samples are split over (default: one per
core, or one inside a worker process, where the pool already uses the cores)."""
SOURCE_FILES = sorted(Path(__file__).resolve().parent.glob("*.py"))
"""Files whose content names the compiled engine: any change in the model package makes a
new one."""
LANES = 16
"""Samples advanced together through each step: a few vectors' worth, so the compiled loop
over them runs in vector instructions while its working set stays in the first-level cache."""
MIN_SAMPLES_PER_THREAD = 256
"""Fewest samples worth a thread of their own (below that, starting it costs more)."""


def cache_folder() -> Path:
    """Where generated engines and their machine code are kept."""
    configured = os.environ.get(CACHE_VARIABLE)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "projection" / "kernel"


# --- code generation ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Layout:
    """Where each named array lives in a compiled engine's flat input or output table: name
    -> (first row, leading shape, rows)."""

    rows: dict[str, tuple[int, tuple[int, ...], int]]
    size: int

    @staticmethod
    def of(shapes: Mapping[str, tuple[int, ...]]) -> Layout:
        rows, at = {}, 0
        for name, shape in shapes.items():
            count = math.prod(shape)
            rows[name] = (at, tuple(shape), count)
            at += count
        return Layout(rows, at)

    def pack(self, arrays: Mapping[str, np.ndarray], n: int, columns: int) -> np.ndarray:
        """(row, column) table of ``arrays`` (name -> (*leading, n)); columns beyond ``n``
        repeat the first sample."""
        table = np.empty((self.size, columns))
        for name, (at, shape, count) in self.rows.items():
            value = np.asarray(arrays[name])
            if value.shape == (*shape, n):
                table[at:at + count, :n] = value.reshape(count, n)
            else:
                table[at:at + count, :n] = np.broadcast_to(value, (*shape, n)).reshape(count, n)
        table[:, n:] = table[:, :1]
        return table

    def unpack(self, table: np.ndarray) -> dict[str, np.ndarray]:
        """(year, row, sample) -> name -> (year, *leading, sample), views of ``table``."""
        years, n = table.shape[0], table.shape[-1]
        return {name: table[:, at:at + count].reshape(years, *shape, n)
                for name, (at, shape, count) in self.rows.items()}


def _literal(value) -> str:
    if isinstance(value, bool):
        return repr(value)
    if np.isnan(value):
        return "np.nan"
    if np.isinf(value):
        return "np.inf" if value > 0 else "(-np.inf)"
    text = repr(float(value))
    return f"({text})" if text.startswith("-") else text


TEMPLATES = {
    "add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}", "div": "{0} / {1}",
    "pow": "{0} ** {1}", "neg": "-{0}", "pos": "{0}", "square": "{0} * {0}",
    "reciprocal": "1.0 / {0}", "abs": "abs({0})",
    # numpy's minimum and maximum return NaN when either argument is NaN; fmin/fmax ignore it
    "min": "{0} if ({0} < {1}) | ({0} != {0}) else {1}",
    "max": "{0} if ({0} > {1}) | ({0} != {0}) else {1}",
    "fmin": "{0} if ({0} < {1}) | ({1} != {1}) else {1}",
    "fmax": "{0} if ({0} > {1}) | ({1} != {1}) else {1}",
    "where": "{1} if {0} else {2}",
    "lt": "{0} < {1}", "le": "{0} <= {1}", "gt": "{0} > {1}", "ge": "{0} >= {1}",
    "eq": "{0} == {1}", "ne": "{0} != {1}",
    "and": "{0} & {1}", "or": "{0} | {1}", "xor": "{0} ^ {1}", "not": "not {0}",
    "isnan": "{0} != {0}", "isfinite": "np.isfinite({0})", "isinf": "np.isinf({0})",
}
for _name in ("expm1", "log1p", "log2", "log10", "sqrt", "tanh", "sinh", "cosh",
              "sin", "cos", "tan", "arctan", "floor", "ceil", "sign", "exp2", "arctan2",
              "hypot"):
    TEMPLATES[_name] = f"np.{_name}(" + ("{0}, {1}" if _name in ("arctan2", "hypot")
                                         else "{0}") + ")"
TEMPLATES["exp"] = "fexp({0})"  # vectorisable (projection.model.kernel_math)
TEMPLATES["log"] = "flog({0})"


@dataclass
class Traced:
    """One engine's graph: the parameters it reads, the initial state, one RK4 step."""

    graph: trace.Graph
    parameters: Layout
    stocks: Layout
    flows: Layout
    auxiliaries: Layout
    state_inputs: list[int]
    initial: list[int]
    new_state: list[int]
    flow_nodes: list[int]
    aux_nodes: list[int]
    time: int
    step: int


def _flat(values: Mapping[str, trace.Sym]) -> list[int]:
    return [int(i) for v in values.values() for i in v.ids.reshape(-1)]


def trace_engine(shapes: Mapping[str, tuple[int, ...]], demand_only: bool) -> Traced:
    """Record the initial state and one Runge-Kutta step for parameters of leading
    ``shapes`` (name -> shape without the sample axis)."""
    g = trace.Graph()
    p = trace.LazyInputs(g, "p", shapes)
    initial = dynamics.initial_state(p)
    if demand_only:
        initial = {k: initial[k] for k in dynamics.DEMAND_STOCKS}
    stock_shapes = {k: v.shape[:-1] for k, v in initial.items()}
    state = trace.inputs(g, "s", stock_shapes)
    time = g.input("t")
    step = g.input("dt")

    def scalar(node: int) -> trace.Sym:
        return trace.Sym(g, np.array([node], dtype=object))

    new_state, flows, auxiliaries = integrate._rk4_step(state, p, scalar(time), scalar(step),
                                                        not demand_only, demand_only)
    flows = {k: trace._as_sym(g, v) for k, v in flows.items()}
    used = {k: shapes[k] for k in p.used}
    return Traced(
        graph=g, parameters=Layout.of(used), stocks=Layout.of(stock_shapes),
        flows=Layout.of({k: v.shape[:-1] for k, v in flows.items()}),
        auxiliaries=Layout.of({k: v.shape[:-1] for k, v in auxiliaries.items()}),
        state_inputs=_flat(state), initial=_flat(initial),
        new_state=[int(i) for k in state for i in trace._as_sym(g, new_state[k]).ids.flat],
        flow_nodes=_flat(flows), aux_nodes=_flat(auxiliaries), time=time, step=step)


def _needed(graph: trace.Graph, roots: list[int]) -> set[int]:
    """The nodes ``roots`` depend on, themselves included."""
    return _needed_until(graph, roots, set())


def _time_varying(g: trace.Graph, t: Traced) -> set[int]:
    """Nodes that change within the time loop: the time, the state and what depends on them."""
    varying = {t.time, *t.state_inputs}
    for i, (op, args) in enumerate(g.ops):
        if op not in ("const", "input") and any(a in varying for a in args):
            varying.add(i)
    return varying


def _with_reciprocals(g: trace.Graph, varying: set[int]) -> trace.Graph:
    """A copy of ``g`` in which each division inside the time loop by a value that does not
    change there (a time constant, a utilisation) multiplies by that value's reciprocal, which
    is then computed once per sample: a multiplication costs a small fraction of a division.
    The result differs from the quotient by at most an ulp or so (two roundings instead of
    one); zeros, infinities and NaN give what the division gives."""
    out = g.copy()
    for i, (op, args) in enumerate(g.ops):
        if op == "div" and i in varying and args[1] not in varying and not g.is_const(args[1]):
            out.rewrite(i, "mul", args[0], out.apply("reciprocal", args[1]))
    return out


CHOICES = ("max", "min", "fmax", "fmin")
ORDERS = ("lt", "le", "gt", "ge")


def _depending_on(g: trace.Graph, sources) -> set[int]:
    found = set(sources)
    for i, (op, args) in enumerate(g.ops):
        if op not in ("const", "input") and any(a in found for a in args):
            found.add(i)
    return found


def _late_decisions(g: trace.Graph, t: Traced, nodes: set[int]) -> dict[int, int | bool]:
    """Decisions among ``nodes`` that depend on the time alone (not on the state) and whose
    operands change with time at constant, different rates, as they are once the time is
    large enough: node -> the argument a choice (max, min) takes, or the value of an order
    comparison. In the model these are the switches at the end of the held start year
    (``moving``, the time since then, which stays zero through the start year)."""
    timed = _depending_on(g, [t.time])
    stateful = _depending_on(g, t.state_inputs)
    slopes: dict[int, float | None] = {}
    decisions: dict[int, int | bool] = {}

    def slope(i: int) -> float | None:  # d node / d time when it is a known constant
        if i not in timed:
            return 0.0
        if i == t.time:
            return 1.0
        if i in stateful:
            return None
        if i not in slopes:
            op, args = g.ops[i]
            s = [slope(a) for a in args]
            out = None
            if op in ("add", "sub") and None not in s:
                out = s[0] + s[1] if op == "add" else s[0] - s[1]
            elif op == "neg" and s[0] is not None:
                out = -s[0]
            elif op == "mul" and None not in s:
                for k in (0, 1):
                    if g.is_const(args[1 - k]) and g.kinds[args[1 - k]] == trace.FLOAT:
                        out = s[k] * g.value(args[1 - k])
            elif (op in CHOICES or op in ORDERS) and None not in s and s[0] != s[1]:
                if op in CHOICES:
                    larger = 0 if s[0] > s[1] else 1
                    decisions[i] = larger if op in ("max", "fmax") else 1 - larger
                    out = s[decisions[i]]
                else:
                    decisions[i] = (s[0] < s[1]) if op in ("lt", "le") else (s[0] > s[1])
            elif op == "where" and args[0] in decisions:
                out = s[1] if decisions[args[0]] else s[2]
            slopes[i] = out
        return slopes[i]

    for i in sorted(nodes):
        slope(i)
    return {i: d for i, d in decisions.items() if i in nodes}


def _affine(g: trace.Graph, t: Traced, i: int, varying: set[int], stateful: set[int],
            memo: dict) -> tuple[int | None, int | None] | None:
    """Nodes (alpha, beta), None standing for zero, that do not change within the time loop
    and such that node ``i`` is alpha + beta x time; None when it is not of that form.
    Adds the nodes it needs to ``g``."""
    if i not in memo:
        out = None
        if i not in varying:
            out = (i, None)
        elif i == t.time:
            out = (None, g.const(1.0))
        elif i not in stateful and g.ops[i][0] in ("add", "sub", "neg", "mul"):
            op, args = g.ops[i]
            parts = [_affine(g, t, a, varying, stateful, memo) for a in args]

            def combine(x, y):
                if y is None:
                    return x
                if x is None:
                    return y if op == "add" else g.apply("neg", y)
                return g.apply(op, x, y)

            if None in parts:
                pass
            elif op in ("add", "sub"):
                out = (combine(parts[0][0], parts[1][0]), combine(parts[0][1], parts[1][1]))
            elif op == "neg":
                out = tuple(None if x is None else g.apply("neg", x) for x in parts[0])
            else:
                for k in (0, 1):
                    if args[1 - k] not in varying:
                        out = tuple(None if x is None else g.apply("mul", x, args[1 - k])
                                    for x in parts[k])
                        break
        memo[i] = out
    return memo[i]


def _needed_until(graph: trace.Graph, roots: list[int], stop: set[int]) -> set[int]:
    """``_needed``, not looking past the nodes in ``stop``."""
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        i = todo.pop()
        if i in seen:
            continue
        seen.add(i)
        op, args = graph.ops[i]
        if op not in ("const", "input") and i not in stop:
            todo.extend(args)
    return seen


def _decided_copy(g: trace.Graph, nodes: set[int], varying: set[int],
                  decided: Mapping[int, int | bool], hold: bool) -> dict[int, int]:
    """Node -> its counterpart in a copy of ``nodes`` in which the decisions ``decided``
    (node -> the argument a choice takes, or the value of an order comparison) are made.
    With ``hold``, products with a zero are zero and sums with a zero are the other term:
    through the held start year every derivative is multiplied by ``moving``, which is zero
    then, so the stocks hold, the four Runge-Kutta stages see the same state and the same
    (held) time, and the copy evaluates the rates once per step. (Where a derivative is not
    finite, the general step would make that stock NaN; the held copy leaves it as it is.)"""
    mapped: dict[int, int] = {}

    def zero(i: int) -> bool:
        return g.is_const(i) and g.kinds[i] == trace.FLOAT and g.value(i) == 0.0

    for i in sorted(nodes):  # in the order made: arguments first
        op, args = g.ops[i]
        if op in ("const", "input") or i not in varying:
            mapped[i] = i
        elif i in decided:
            d = decided[i]
            mapped[i] = g.const(bool(d)) if op in ORDERS else mapped.get(args[d], args[d])
        else:  # (a reciprocal is newer than its division but does not vary: itself)
            new = [mapped.get(a, a) for a in args]
            if hold and op == "mul" and any(zero(a) for a in new):
                mapped[i] = g.const(0.0)
            elif hold and op in ("add", "sub") and zero(new[1]):
                mapped[i] = new[0]
            elif hold and op == "add" and zero(new[0]):
                mapped[i] = new[1]
            else:
                mapped[i] = g.apply(op, *new)
    return mapped


def generate_source(t: Traced, lanes: int, late_step: bool = True,
                    held_step: bool = True) -> str:
    """Python source of the numba engine for one traced graph.

    Samples go through in groups of ``lanes``: a first loop over the group reads each sample's
    parameters and computes what depends on them alone (kept per lane in ``H``) and the
    initial state (``X``); then every Runge-Kutta step is one loop over the group whose body
    is the whole step in scalar locals, which the compiler turns into vector instructions
    across samples. Flow totals build up in ``T``; on the first step of a year, a loop records
    the stocks and the auxiliaries (the first stage's values) when ``record``.

    With ``late_step``, the step has a second copy for the time after every decision that
    depends on the time alone (``_late_decisions``: the end of the held start year), checked
    for every lane before each step. In it those decisions are constants, so what they
    switch off disappears, and each exponential of a linear function of time
    (``value * exp(rate * time)`` trends) is a factor kept per lane (``R``): computed exactly
    on the first step of each year (or on entering the copy), multiplied by its growth over
    one step afterwards, which moves the result by a few ulps at most.

    With ``held_step``, the step has a third copy for the held start year: the same
    decisions the other way round (``moving`` is zero, the time since the start year is
    zero), checked the same way, and the stocks held (:func:`_decided_copy`), so the rates
    are evaluated once per step instead of four times; its results equal the general
    step's wherever the derivatives are finite.
    """
    varying = _time_varying(t.graph, t)
    g = _with_reciprocals(t.graph, varying)
    step_roots = t.new_state + t.flow_nodes
    in_step = _needed(g, step_roots)
    in_aux = _needed(g, t.aux_nodes)

    # the late copy of the step: decisions made, exponentials of time by recurrence; the
    # held copy: the same decisions the other way round, as they are through the start year
    found = _late_decisions(g, t, in_step) if late_step or held_step else {}
    decisions = found if late_step else {}
    held_decisions = {i: (not d) if g.ops[i][0] in ORDERS else 1 - int(d)
                      for i, d in found.items()} if held_step else {}
    mapped = _decided_copy(g, in_step, varying, decisions, False) if late_step else {}
    held = _decided_copy(g, in_step, varying, held_decisions, True) if held_decisions else {}
    late_roots = [mapped[i] for i in step_roots] if late_step else []
    held_roots = [held[i] for i in step_roots] if held_decisions else []
    varying = _time_varying(g, t)
    stateful = _depending_on(g, t.state_inputs)
    memo: dict = {}
    reduced: dict[int, tuple[int | None, int, int]] = {}  # exp -> alpha, beta, growth per step
    for i in sorted(_needed(g, late_roots)) if late_step else ():
        op, args = g.ops[i]
        if op == "exp" and i in varying and i not in stateful:
            form = _affine(g, t, args[0], varying, stateful, memo)
            if form is not None and form[1] is not None:
                reduced[i] = (form[0], form[1], g.apply("exp", g.apply("mul", form[1], t.step)))
    exps = sorted(reduced)
    in_late = _needed_until(g, late_roots, set(exps)) | {reduced[i][2] for i in exps}
    in_held = _needed(g, held_roots)
    guarded = {**decisions, **held_decisions}
    in_guard = _needed(g, [a for i in guarded for a in g.ops[i][1]])

    def name(i: int) -> str:
        op, args = g.ops[i]
        return _literal(args[0]) if op == "const" else f"v{i}"

    parameter_rows = {}
    for pname, (at, shape, _) in t.parameters.rows.items():
        for k, index in enumerate(np.ndindex(*shape)):
            parameter_rows[trace.input_name("p", pname, index)] = at + k

    def statement(i: int) -> str:
        op, args = g.ops[i]
        if op == "input":
            return f"v{i} = P[{parameter_rows[args[0]]}, i0 + j]"
        return f"v{i} = " + TEMPLATES[op].format(*[name(a) for a in args])

    def computed(i: int) -> bool:
        return g.ops[i][0] != "const" and i not in (t.step, t.time)

    def read(nodes: set[int], skip=()) -> set[int]:
        """The nodes and their arguments (those of ``skip`` not computed, so not their
        arguments)."""
        return nodes | {a for i in nodes - set(skip) if g.ops[i][0] not in ("const", "input")
                        for a in g.ops[i][1]}

    in_loop = (in_step | in_aux | in_guard | in_held) & varying
    # values computed once per sample and read inside the time loop
    hoisted = sorted(i for i in read(in_loop) | read(in_late & varying, exps)
                     | {x for i in exps for x in reduced[i] if x is not None}
                     | set(t.aux_nodes) | set(step_roots) | set(late_roots) | set(held_roots)
                     if i not in varying and computed(i))
    slot = {i: k for k, i in enumerate(hoisted)}
    setup = sorted(i for i in _needed(g, t.initial + hoisted) if computed(i))
    n_state, n_flows = len(t.state_inputs), len(t.flow_nodes)

    # one flat scratch array for every lane's hoisted values (H), state (X), flow totals (T)
    # and exponentials of time (R), indexed with constants: the compiler can then prove the
    # rows never overlap
    def H(k: int) -> str:
        return f"W[{k * lanes} + j]"

    def X(k: int) -> str:
        return f"W[{(len(hoisted) + k) * lanes} + j]"

    def T(k: int) -> str:
        return f"W[{(len(hoisted) + n_state + k) * lanes} + j]"

    def R(k: int) -> str:
        return f"W[{(len(hoisted) + n_state + n_flows + k) * lanes} + j]"

    def loop_body(nodes: set[int], indent: str, kept=()) -> list[str]:
        """Statements computing ``nodes`` for lane j: every value a statement reads is
        assigned in the same loop body (a local of another loop would hold another lane's
        value). ``kept`` (exponentials of time) are read from ``R``."""
        out = []
        used = read(nodes, kept)
        for k, s in enumerate(t.state_inputs):
            if s in used:
                out.append(indent + f"v{s} = {X(k)}")
        for i in hoisted:
            if i in used:
                out.append(indent + f"v{i} = {H(slot[i])}")
        for k, i in enumerate(kept):
            out.append(indent + f"v{i} = {R(k)}")
        for i in sorted(nodes):
            if i in varying and computed(i) and g.ops[i][0] != "input" and i not in kept:
                out.append(indent + statement(i))
        return out

    def holds(i: int, decided: Mapping[int, int | bool]) -> str:
        """The condition, for lane j, that decision ``i`` is as ``decided`` has it."""
        op, args = g.ops[i]
        test = TEMPLATES[op] if op in ORDERS else TEMPLATES[op].split(" if ")[1].split(" else ")[0]
        text = test.format(*[name(a) for a in args])
        wanted = decided[i] if op in ORDERS else decided[i] == 0  # test true: argument 0
        return f"({text})" if wanted else f"(not ({text}))"

    def step(indent: str, body: list[str], roots: list[int]) -> list[str]:
        return [*body, *[indent + f"{T(k)} += {name(f)}" for k, f in enumerate(roots[n_state:])],
                *[indent + f"{X(k)} = {name(new)}" for k, new in enumerate(roots[:n_state])]]

    lines = [
        *_module_head(lanes),
        "def run(P, years, substeps, dt, record, F, S, A, at, first, last):",
        "    # first and last: multiples of LANES within P's columns; column c of P is written",
        "    # to column at + c of F, S and A",
        f"    v{t.step} = dt",
        f"    W = np.empty({(len(hoisted) + n_state + n_flows + len(exps) + 1) * lanes})",
        "    for i0 in range(first, last, LANES):",
        "        for j in range(LANES):",
    ]
    inner = " " * 12
    lines += [inner + statement(i) for i in setup]
    lines += [inner + f"{H(slot[i])} = v{i}" for i in hoisted]
    lines += [inner + f"{X(k)} = {name(init)}" for k, init in enumerate(t.initial)]
    if late_step:
        lines.append("        fresh = True  # the exponentials of time in R are to be computed")
    lines.append("        for year in range(years):")
    lines.append("            for j in range(LANES):")
    lines += [" " * 16 + f"{T(k)} = 0.0" for k in range(n_flows)]
    lines.append("            for sub in range(substeps):")
    lines.append(f"                v{t.time} = (year * substeps + sub) * dt")
    lines.append("                if record and sub == 0:")
    lines.append("                    for j in range(LANES):")
    deep = " " * 24
    lines += loop_body(in_aux, deep)
    lines += [deep + f"S[year, {k}, at + i0 + j] = {X(k)}" for k in range(n_state)]
    lines += [deep + f"A[year, {k}, at + i0 + j] = {name(a)}"
              for k, a in enumerate(t.aux_nodes)]
    body = " " * 20
    if late_step or held_decisions:
        lines.append(f"                late = {bool(late_step)}")
        lines.append(f"                held = {bool(held_decisions)}")
        if guarded:
            lines.append("                for j in range(LANES):")
            lines += loop_body(in_guard, body)
            if decisions:
                lines.append(body + "late = late & " + " & ".join(
                    holds(i, decisions) for i in sorted(decisions)))
            if held_decisions:
                lines.append(body + "held = held & " + " & ".join(
                    holds(i, held_decisions) for i in sorted(held_decisions)))
    if held_decisions:  # before the late copy: at most one of the two holds
        lines.append("                if held:")
        lines.append("                    fresh = True")
        lines.append("                    for j in range(LANES):")
        lines += step(" " * 24, loop_body(in_held, " " * 24), held_roots)
        lines.append("                    continue")
    if late_step:
        lines.append("                if late:")
        if exps:
            lines.append("                    if fresh or sub == 0:")
            lines.append("                        for j in range(LANES):")
            deeper = " " * 28
            ends = {x for i in exps for x in reduced[i][:2] if x is not None}
            lines += [deeper + f"v{i} = {H(slot[i])}" for i in sorted(ends) if i in slot]
            for k, i in enumerate(exps):
                alpha, beta, _ = reduced[i]
                arg = f"{name(beta)} * v{t.time}"
                lines.append(deeper + f"{R(k)} = fexp("
                             + (arg if alpha is None else f"{name(alpha)} + {arg}") + ")")
        lines.append("                    fresh = False")
        lines.append("                    for j in range(LANES):")
        lines += step(deep, loop_body(in_late, deep, exps), late_roots)
        lines += [deep + f"{R(k)} = {R(k)} * {name(reduced[i][2])}" for k, i in enumerate(exps)]
        lines.append("                else:")
        lines.append("                    fresh = True")
        lines.append("                    for j in range(LANES):")
        lines += step(deep, loop_body(in_step, deep), step_roots)
    else:
        lines.append("                for j in range(LANES):")
        lines += step(body, loop_body(in_step, body), step_roots)
    lines.append("            for j in range(LANES):")
    lines += [" " * 16 + f"F[year, {k}, at + i0 + j] = {T(k)}" for k in range(n_flows)]
    lines.append("")
    return "\n".join(lines)


# --- loading engines ----------------------------------------------------------------------------

@dataclass
class Engine:
    """A compiled engine and the layout of its inputs and outputs."""

    function: object
    parameters: Layout
    stocks: Layout
    flows: Layout
    auxiliaries: Layout


_engines: dict[tuple, Engine] = {}
_lock = threading.Lock()


def _source_digest() -> str:
    import numba

    h = hashlib.sha256()
    h.update(f"{sys.version_info[:2]} numpy {np.__version__} numba {numba.__version__}".encode())
    for path in SOURCE_FILES:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


_digest: str | None = None


def _cache_name(key) -> str:
    """A file name for a compiled engine: the model's source digest and the engine's key."""
    global _digest
    if _digest is None:
        _digest = _source_digest()
    return hashlib.sha256(f"{_digest} {key}".encode()).hexdigest()[:20]


def _once(store: dict, key, make):
    """``store[key]``, made by ``make()`` by one thread at most, the first time it is asked."""
    found = store.get(key)
    if found is not None:
        return found
    with _lock:
        found = store.get(key)
        if found is None:
            found = store[key] = make()
        return found


def engine(shapes: Mapping[str, tuple[int, ...]], demand_only: bool) -> Engine:
    """The compiled engine for parameters of these leading shapes, from this process's
    memory, the cache folder, or made now (traced, written, compiled by numba)."""
    key = (tuple(sorted(shapes.items())), demand_only)

    def make() -> Engine:
        traced = trace_engine(shapes, demand_only)
        name = _cache_name(key)
        folder = cache_folder()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"engine_{'demand' if demand_only else 'full'}_{name}.py"
        module = _load(path, lambda: generate_source(traced, LANES, not demand_only),
                       f"projection_engine_{name}")
        return Engine(module.run, traced.parameters, traced.stocks, traced.flows,
                      traced.auxiliaries)

    return _once(_engines, key, make)


def _module_head(lanes: int) -> list[str]:
    """The first lines of a generated engine module, down to the decorator of its function."""
    return [
        '"""Generated by projection.model.kernel from the model\'s numpy equations: do not',
        'edit (the model package\'s source files name this file; a change makes a new one)."""',
        "",
        "import numpy as np",
        "from numba import njit",
        "",
        "from projection.model.kernel_math import fexp, flog",
        "",
        f"LANES = {lanes}",
        "",
        "",
        '@njit(cache=True, nogil=True, error_model="numpy", fastmath=False)',
    ]

_local = threading.local()


def _mark_block_thread() -> None:
    _local.block_thread = True


def block_threads(blocks: int, workers: int | None = None):
    """Threads that run blocks side by side in this process (the compiled engine releases the
    GIL, and so does most of numpy's work around it): nothing is copied between processes,
    and each block's engine then runs on its own thread."""
    from concurrent.futures import ThreadPoolExecutor

    count = max(1, min(workers or os.cpu_count() or 1, blocks))
    return ThreadPoolExecutor(max_workers=count, initializer=_mark_block_thread)


def _threads(n: int) -> int:
    configured = os.environ.get(THREADS_VARIABLE)
    if configured:
        return max(1, int(configured))
    import multiprocessing

    process = multiprocessing.current_process()
    in_worker = bool(process.daemon) or multiprocessing.parent_process() is not None
    if getattr(_local, "block_thread", False) or in_worker:
        return 1  # the blocks already share the cores
    return max(1, min(os.cpu_count() or 1, n // MIN_SAMPLES_PER_THREAD))


def _split(function, args: tuple, n: int, padded: int) -> None:
    """``function(*args, first, last)`` over the columns 0..padded, on several threads when
    there are enough samples (see ``_threads``)."""
    groups = padded // LANES
    threads = min(_threads(n), groups)
    if threads <= 1:
        function(*args, 0, padded)
        return
    from concurrent.futures import ThreadPoolExecutor

    edges = [LANES * (groups * k // threads) for k in range(threads + 1)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for done in [pool.submit(function, *args, a, b)
                     for a, b in zip(edges[:-1], edges[1:], strict=True)]:
            done.result()


def _tables(e: Engine, years: int, padded: int, record: bool,
            scratch: bool) -> tuple[np.ndarray, ...]:
    """Flow, stock and auxiliary tables for one run: new ones, or with ``scratch`` on a block
    thread (see :func:`block_threads`) the thread's own, reused from run to run while the
    shapes stay the same (touching fresh memory for every block costs more than the copies
    of what a caller keeps)."""
    key = (e, years, padded, record)
    if scratch and getattr(_local, "block_thread", False):
        held = getattr(_local, "scratch", None)
        if held is not None and held[0][0] is e and held[0][1:] == key[1:]:
            return held[1]
    tables = (np.empty((years, e.flows.size, padded)),
              np.empty((years, e.stocks.size if record else 0, padded)),
              np.empty((years, e.auxiliaries.size if record else 0, padded)))
    if scratch and getattr(_local, "block_thread", False):
        _local.scratch = (key, tables)
    return tables


def compiled_run(p: Mapping[str, np.ndarray], years: int, substeps: int, record: bool,
                 demand_only: bool = False, into: OutputTables | None = None, at: int = 0,
                 scratch: bool = False):
    """Drop-in for ``integrate._run``: (flow totals, stocks, auxiliaries) by year. With
    ``into`` (and ``record``), the results are written to its tables from column ``at`` on
    and returned as views of them. With ``scratch``, the results may be views of tables
    that the next ``scratch`` run on the same thread overwrites: the caller copies what it
    keeps before that."""
    shapes = {k: np.shape(v)[:-1] for k, v in p.items()}
    n = max(np.shape(v)[-1] for v in p.values())
    e = engine(shapes, demand_only)
    padded = -(-n // LANES) * LANES  # the last group repeats the first sample
    table = e.parameters.pack(p, n, padded)
    dt = SECONDS_PER_YEAR / substeps
    if into is None:
        flows, stocks, aux = _tables(e, years, padded, record, scratch)
        _split(e.function, (table, years, substeps, dt, record, flows, stocks, aux, 0), n,
               padded)
        flows, stocks, aux = flows[..., :n], stocks[..., :n], aux[..., :n]
    else:
        tables = into.tables(e, years)
        whole = n // LANES * LANES  # full groups go straight to the tables
        if whole:
            _split(e.function, (table, years, substeps, dt, record, *tables, at), whole, whole)
        if whole < n:  # the last group's padding must not reach the next block's columns
            tail = [np.empty((*x.shape[:2], LANES)) for x in tables]
            e.function(table, years, substeps, dt, record, *tail, -whole, whole, padded)
            for x, part in zip(tables, tail, strict=True):
                x[..., at + whole:at + n] = part[..., :n - whole]
        flows, stocks, aux = (x[..., at:at + n] for x in tables)
    out_stocks = e.stocks.unpack(stocks) if record else {}
    out_aux = e.auxiliaries.unpack(aux) if record else {}
    return e.flows.unpack(flows), out_stocks, out_aux


# --- compiled functions of the parameters -------------------------------------------------------

@dataclass
class FunctionEngine:
    """A compiled function of the parameters alone (elementwise along the sample axis)."""

    function: object
    parameters: Layout
    outputs: Layout
    order: list[str]
    """The keys of the result in order; those not in ``outputs`` pass a parameter through."""


_functions: dict[tuple, FunctionEngine] = {}


def generate_function_source(g: trace.Graph, parameters: Layout, outputs: list[int],
                             lanes: int) -> str:
    """Python source of a numba function computing ``outputs`` (node ids) from the
    parameter table, ``lanes`` samples at a time."""
    rows = {}
    for pname, (at, shape, _) in parameters.rows.items():
        for k, index in enumerate(np.ndindex(*shape)):
            rows[trace.input_name("p", pname, index)] = at + k

    def name(i: int) -> str:
        op, args = g.ops[i]
        return _literal(args[0]) if op == "const" else f"v{i}"

    lines = [
        *_module_head(lanes),
        "def run(P, O, first, last):",
        "    for i0 in range(first, last, LANES):",
        "        for j in range(LANES):",
    ]
    for i in sorted(_needed(g, outputs)):
        op, args = g.ops[i]
        if op == "const":
            continue
        if op == "input":
            lines.append(f"            v{i} = P[{rows[args[0]]}, i0 + j]")
        else:
            lines.append(f"            v{i} = " + TEMPLATES[op].format(*[name(a) for a in args]))
    lines += [f"            O[{k}, i0 + j] = {name(o)}" for k, o in enumerate(outputs)]
    lines.append("")
    return "\n".join(lines)


def _load(path: Path, source_of, name: str):
    """The module at ``path`` (written first by ``source_of()`` when absent)."""
    if not path.exists():
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(source_of())
        os.replace(partial, path)  # whole or absent, whoever writes it
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # numba's cache finds the function's module by name
    spec.loader.exec_module(module)
    return module


def function_engine(label: str, fn, shapes: Mapping[str, tuple[int, ...]]) -> FunctionEngine:
    """``fn`` (parameters -> dict of arrays, elementwise along the sample axis) compiled for
    parameters of these leading shapes; ``label`` names it in the cache."""
    key = (label, tuple(sorted(shapes.items())))

    def make() -> FunctionEngine:
        g = trace.Graph()
        p = trace.LazyInputs(g, "p", shapes)
        result = fn(p)
        computed = {k: trace._as_sym(g, v) for k, v in result.items()
                    if not (isinstance(v, trace.Sym) and p.made.get(k) is v)}
        outputs = Layout.of({k: v.shape[:-1] for k, v in computed.items()})
        nodes = [int(i) for v in computed.values() for i in v.ids.reshape(-1)]
        # only the parameters the computed outputs read (``fn`` may pass others through)
        read = {g.ops[i][1][0] for i in _needed(g, nodes) if g.ops[i][0] == "input"}
        parameters = Layout.of({k: shapes[k] for k in p.used
                                if any(trace.input_name("p", k, index) in read
                                       for index in np.ndindex(*shapes[k]))})
        name = _cache_name(key)
        folder = cache_folder()
        folder.mkdir(parents=True, exist_ok=True)
        module = _load(folder / f"function_{label}_{name}.py",
                       lambda: generate_function_source(g, parameters, nodes, LANES),
                       f"projection_function_{name}")
        return FunctionEngine(module.run, parameters, outputs, list(result))

    return _once(_functions, key, make)


def compiled_function(label: str, fn):
    """``fn`` of the parameters, run by a compiled engine: a drop-in for ``fn(p)``."""
    def run(p: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        shapes = {k: np.shape(v)[:-1] for k, v in p.items()}
        n = max(np.shape(v)[-1] for v in p.values())
        e = function_engine(label, fn, shapes)
        padded = -(-n // LANES) * LANES
        table = e.parameters.pack(p, n, padded)
        out = np.empty((e.outputs.size, padded))
        _split(e.function, (table, out), n, padded)
        computed = e.outputs.unpack(out[None, :, :n])
        return {k: computed[k][0] if k in computed else p[k] for k in e.order}

    return run


derive = compiled_function("with_derived", dynamics.with_derived)
"""``dynamics.with_derived``, compiled."""
_first_guess = compiled_function(
    "first_calibration", lambda p: dynamics.first_calibration(p, SECONDS_PER_YEAR))


def first_guess(p: Mapping[str, np.ndarray], year_length: float) -> dict[str, np.ndarray]:
    """``dynamics.first_calibration``, compiled (for the calendar year's length)."""
    if year_length != SECONDS_PER_YEAR:
        return dynamics.first_calibration(p, year_length)
    return _first_guess(p)


def _start(p):
    return dynamics.with_derived({**p, **dynamics.first_calibration(p, SECONDS_PER_YEAR)})


start = compiled_function("start", _start)
"""``dynamics.with_derived`` of the parameters and ``dynamics.first_calibration``'s first
guess, compiled as one function (``integrate.calibrate``'s ``start``)."""


def simulate_block(parameters, start_year: int, end_year: int, substeps: int,
                   into: OutputTables | None = None, at: int = 0,
                   scratch: bool = False) -> integrate.RawResult:
    """One block of samples, calibrated and integrated by the compiled engine: the
    counterpart of ``integrate.simulate_block``. With ``into``, the engine writes its
    results to those tables from column ``at`` on (see :class:`OutputTables`); with
    ``scratch``, the result's arrays may be overwritten by the thread's next block (see
    :func:`compiled_run`)."""
    with np.errstate(all="ignore"):
        p = integrate.calibrate(parameters, substeps, run=compiled_run, start=start)
        n_years = end_year - start_year + 1
        flows, stocks, auxiliaries = compiled_run(p, n_years, substeps, True, into=into, at=at,
                                                  scratch=scratch)
        return integrate.finish_block(p, flows, stocks, auxiliaries, start_year, end_year)


class OutputTables:
    """The engine's (year, row, sample) tables of flows, stocks and auxiliaries for a whole
    ensemble, made when the first block needs them: each block writes its own columns, so
    the blocks' results need not be copied into one."""

    def __init__(self, samples: int) -> None:
        self.samples = samples
        self.engine: Engine | None = None
        self.arrays: tuple[np.ndarray, ...] = ()
        self._lock = threading.Lock()

    def tables(self, e: Engine, years: int) -> tuple[np.ndarray, ...]:
        with self._lock:
            if self.engine is None:
                self.engine = e
                self.arrays = tuple(np.empty((years, layout.size, self.samples))
                                    for layout in (e.flows, e.stocks, e.auxiliaries))
            if e is not self.engine or self.arrays[0].shape[0] != years:
                raise ValueError("blocks of one ensemble ran different engines")
            return self.arrays

    def joined(self) -> dict[str, dict[str, np.ndarray]]:
        """The whole ensemble's flows, stocks and auxiliaries from the engine: group ->
        name -> (year, [workload or cohort,] sample), views of the tables."""
        if self.engine is None:
            return {}
        e, (flows, stocks, aux) = self.engine, self.arrays
        return {"flows": e.flows.unpack(flows), "stocks": e.stocks.unpack(stocks),
                "auxiliaries": e.auxiliaries.unpack(aux)}
