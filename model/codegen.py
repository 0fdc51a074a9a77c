"""Code generation for every compiled engine, from one traced graph of the model's equations.

:mod:`projection.model.trace` runs the model's numpy equations on symbolic arrays that record
every scalar operation of one sample. This module turns those records into what every code
generator shares: the traced engine (:func:`trace_engine`: the initial state and one
Runge-Kutta step of ``integrate``), traced functions of the parameters
(:func:`trace_function`), the flat layouts of their inputs and outputs (:class:`Layout`), and
the analyses of the graph the generators use (what a value needs, what changes within the
time loop, which decisions the time alone settles). The generators write the same graph out
for one engine each: :mod:`projection.model.codegen_numba` (numba, the compiled engine of
``projection.model.kernel``) and :mod:`projection.model.codegen_js` (JavaScript, the model
that runs in the explorer page). No generator holds an equation of its own. (The XLA engine,
:mod:`projection.model.xla`, needs no generated source: jax follows the numpy functions
themselves.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from . import dynamics, integrate, trace


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


def needed(graph: trace.Graph, roots: list[int]) -> set[int]:
    """The nodes ``roots`` depend on, themselves included."""
    return needed_until(graph, roots, set())


def time_varying(g: trace.Graph, t: Traced) -> set[int]:
    """Nodes that change within the time loop: the time, the state and what depends on them."""
    varying = {t.time, *t.state_inputs}
    for i, (op, args) in enumerate(g.ops):
        if op not in ("const", "input") and any(a in varying for a in args):
            varying.add(i)
    return varying


def with_reciprocals(g: trace.Graph, varying: set[int]) -> trace.Graph:
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


def depending_on(g: trace.Graph, sources) -> set[int]:
    found = set(sources)
    for i, (op, args) in enumerate(g.ops):
        if op not in ("const", "input") and any(a in found for a in args):
            found.add(i)
    return found


def late_decisions(g: trace.Graph, t: Traced, nodes: set[int]) -> dict[int, int | bool]:
    """Decisions among ``nodes`` that depend on the time alone (not on the state) and whose
    operands change with time at constant, different rates, as they are once the time is
    large enough: node -> the argument a choice (max, min) takes, or the value of an order
    comparison. In the model these are the switches at the end of the held start year
    (``moving``, the time since then, which stays zero through the start year)."""
    timed = depending_on(g, [t.time])
    stateful = depending_on(g, t.state_inputs)
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


def affine(g: trace.Graph, t: Traced, i: int, varying: set[int], stateful: set[int],
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
            parts = [affine(g, t, a, varying, stateful, memo) for a in args]

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


needed_until = trace.needed_until
"""The nodes that roots depend on, not looking past a set of nodes (``trace.needed_until``)."""


def decided_copy(g: trace.Graph, nodes: set[int], varying: set[int],
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



@dataclass
class TracedFunction:
    """A function of the parameters alone, traced: the parameters its computed outputs read,
    the computed outputs (name -> leading shape) and their nodes, in order."""

    graph: trace.Graph
    parameters: Layout
    outputs: Layout
    nodes: list[int]
    order: list[str]
    """The keys of the result in order; those not in ``outputs`` pass a parameter through."""


def trace_function(fn: Callable, shapes: Mapping[str, tuple[int, ...]]) -> TracedFunction:
    """Record ``fn`` (parameters -> dict of arrays, elementwise along the sample axis) for
    parameters of these leading shapes (name -> shape without the sample axis)."""
    g = trace.Graph()
    p = trace.LazyInputs(g, "p", shapes)
    result = fn(p)
    computed = {k: trace._as_sym(g, v) for k, v in result.items()
                if not (isinstance(v, trace.Sym) and p.made.get(k) is v)}
    outputs = Layout.of({k: v.shape[:-1] for k, v in computed.items()})
    nodes = [int(i) for v in computed.values() for i in v.ids.reshape(-1)]
    # only the parameters the computed outputs read (``fn`` may pass others through)
    read = {g.ops[i][1][0] for i in needed(g, nodes) if g.ops[i][0] == "input"}
    parameters = Layout.of({k: shapes[k] for k in p.used
                            if any(trace.input_name("p", k, index) in read
                                   for index in np.ndindex(*shapes[k]))})
    return TracedFunction(g, parameters, outputs, nodes, list(result))


def input_rows(parameters: Layout, prefix: str = "p") -> dict[str, int]:
    """Input node name (``p:name[i]``) -> its row in the flat table of ``parameters``."""
    rows = {}
    for name, (at, shape, _) in parameters.rows.items():
        for k, index in enumerate(np.ndindex(*shape)):
            rows[trace.input_name(prefix, name, index)] = at + k
    return rows
