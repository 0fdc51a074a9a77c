"""The model in JavaScript, written from the traced graph (:mod:`projection.model.codegen`).

The explorer page (``projection explore``) runs the model in the browser. Its engine is not a
second model: every function here writes out a graph that :mod:`projection.model.trace`
recorded from the numpy equations, operation by operation in the same order, in float64 as
numpy computes: the start-year quantities the calibration begins from
(``dynamics.with_derived`` and ``dynamics.first_calibration``), the calibration targets,
one pass of the calibration's update (``integrate.calibration_pass``), the Runge-Kutta step of
the demand side and of the whole model with its auxiliaries (``integrate._rk4_step``), and the
catalogue outputs in their units (``dynamics.derived_flows``, ``results.OUTPUTS``). What is
left to the JavaScript driver (:data:`DRIVER`) is the control flow of ``integrate``: the loop
over years and sub-steps of ``integrate._run`` and the passes of ``integrate.calibrate`` for
one sample. Results agree with numpy to rounding (the platform's ``exp``, ``log`` and ``pow``
may differ from numpy's in the last bit).

:func:`model_source` returns one self-contained script that defines ``ProjectionModel``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from . import dynamics, integrate, trace
from .codegen import (
    Layout,
    Traced,
    TracedFunction,
    input_rows,
    needed,
    time_varying,
    trace_engine,
    trace_function,
)

TEMPLATES: dict[str, str] = {
    "add": "({0} + {1})", "sub": "({0} - {1})", "mul": "({0} * {1})", "div": "({0} / {1})",
    "pow": "Math.pow({0}, {1})", "neg": "(-{0})", "pos": "{0}", "square": "({0} * {0})",
    "reciprocal": "(1.0 / {0})", "abs": "Math.abs({0})",
    # like numpy's minimum and maximum, Math.min and Math.max return NaN when either is NaN
    "min": "Math.min({0}, {1})", "max": "Math.max({0}, {1})",
    "fmin": "fmin({0}, {1})", "fmax": "fmax({0}, {1})",
    "where": "({0} ? {1} : {2})",
    "lt": "({0} < {1})", "le": "({0} <= {1})", "gt": "({0} > {1})", "ge": "({0} >= {1})",
    "eq": "({0} === {1})", "ne": "({0} !== {1})",
    "and": "({0} && {1})", "or": "({0} || {1})", "xor": "({0} !== {1})", "not": "(!{0})",
    "isnan": "({0} !== {0})", "isfinite": "Number.isFinite({0})",
    "isinf": "(Math.abs({0}) === Infinity)",
    "exp": "Math.exp({0})", "expm1": "Math.expm1({0})", "log": "Math.log({0})",
    "log1p": "Math.log1p({0})", "log2": "Math.log2({0})", "log10": "Math.log10({0})",
    "sqrt": "Math.sqrt({0})", "tanh": "Math.tanh({0})", "sinh": "Math.sinh({0})",
    "cosh": "Math.cosh({0})", "sin": "Math.sin({0})", "cos": "Math.cos({0})",
    "tan": "Math.tan({0})", "arctan": "Math.atan({0})", "floor": "Math.floor({0})",
    "ceil": "Math.ceil({0})", "sign": "sign({0})", "exp2": "Math.pow(2.0, {0})",
    "arctan2": "Math.atan2({0}, {1})", "hypot": "Math.hypot({0}, {1})",
}
"""One JavaScript expression per graph operation (numpy's semantics for float64)."""

HELPERS = """\
function fmin(a, b) { return (a < b || b !== b) ? a : b; }
function fmax(a, b) { return (a > b || b !== b) ? a : b; }
function sign(a) { return a > 0 ? 1.0 : (a < 0 ? -1.0 : (a === a ? 0.0 : a)); }
"""


def literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if np.isnan(value):
        return "NaN"
    if np.isinf(value):
        return "Infinity" if value > 0 else "(-Infinity)"
    text = repr(float(value))
    return f"({text})" if text.startswith("-") else text


def _statements(g: trace.Graph, nodes: Iterable[int], sources: Mapping[int, str],
                indent: str) -> list[str]:
    """``const vI = ...;`` for each computed node of ``nodes`` (in graph order); input nodes
    read from ``sources`` (node -> JavaScript expression)."""
    out = []
    for i in sorted(nodes):
        op, args = g.ops[i]
        if op == "const":
            continue
        if op == "input":
            out.append(f"{indent}const v{i} = {sources[i]};")
        else:
            out.append(f"{indent}const v{i} = " + TEMPLATES[op].format(
                *[_name(g, a) for a in args]) + ";")
    return out


def _name(g: trace.Graph, i: int) -> str:
    op, args = g.ops[i]
    return literal(args[0]) if op == "const" else f"v{i}"


def _input_sources(g: trace.Graph, arrays: Mapping[str, Layout], extra=None) -> dict[int, str]:
    """Input node -> the JavaScript expression that reads it: ``arrays`` maps the name of a
    flat array argument to the layout of its rows, by input prefix (``p``, ``s``, ...)."""
    rows = {}
    for prefix_array, layout in arrays.items():
        prefix, array = prefix_array.split(":")
        rows.update({name: f"{array}[{row}]" for name, row in input_rows(layout, prefix).items()})
    rows.update(extra or {})
    return {i: rows[args[0]] for i, (op, args) in enumerate(g.ops) if op == "input"
            and args[0] in rows}


def function_source(name: str, g: trace.Graph, arrays: Mapping[str, Layout],
                    outputs: Sequence[int]) -> str:
    """``function name(A, B, ..., O)``: writes ``outputs`` (nodes) to ``O`` from the flat
    arrays of ``arrays`` (``"prefix:argument"`` -> layout)."""
    sources = _input_sources(g, arrays)
    args = [key.split(":")[1] for key in arrays]
    lines = [f"function {name}({', '.join(args)}, O) {{"]
    lines += _statements(g, needed(g, list(outputs)), sources, "  ")
    lines += [f"  O[{k}] = {_name(g, o)};" for k, o in enumerate(outputs)]
    lines.append("}")
    return "\n".join(lines)


def engine_source(name: str, t: Traced) -> str:
    """``function name(P, dt)``, which returns ``{initial(X), step(X, t, F), aux(X, t, A)}``
    for parameters ``P`` (``t.parameters``' layout) and a step of ``dt`` seconds: what depends
    on the parameters alone is computed once, in the outer function; ``step`` advances the
    state ``X`` (``t.stocks``) by one Runge-Kutta step from time ``t`` and writes the step's
    flows to ``F`` (``t.flows``); ``aux`` writes the auxiliaries at ``X``, ``t`` to ``A``."""
    g = t.graph
    varying = time_varying(g, t)
    sources = _input_sources(g, {"p:P": t.parameters})
    sources[t.step] = "dt"
    for k, s in enumerate(t.state_inputs):
        sources[s] = f"X[{k}]"
    sources[t.time] = "t"
    step_roots = t.new_state + t.flow_nodes
    everything = needed(g, t.initial + step_roots + t.aux_nodes)
    hoisted = sorted(i for i in everything if i not in varying)
    lines = [f"function {name}(P, dt) {{"]
    lines += _statements(g, hoisted, sources, "  ")
    lines.append("  return {")
    lines.append("    initial(X) {")
    lines += [f"      X[{k}] = {_name(g, i)};" for k, i in enumerate(t.initial)]
    lines.append("    },")
    for label, roots, signature in (("step", step_roots, "X, t, F"),
                                    ("aux", t.aux_nodes, "X, t, A")):
        lines.append(f"    {label}({signature}) {{")
        body = sorted(i for i in needed(g, roots) if i in varying)
        lines += _statements(g, body, sources, "      ")
        if label == "step":
            n = len(t.new_state)
            lines += [f"      F[{k}] = {_name(g, f)};" for k, f in enumerate(t.flow_nodes)]
            lines += [f"      X[{k}] = {_name(g, s)};" for k, s in enumerate(roots[:n])]
        else:
            lines += [f"      A[{k}] = {_name(g, a)};" for k, a in enumerate(roots)]
        lines.append("    },")
    lines.append("  };")
    lines.append("}")
    return "\n".join(lines)


def _layout_json(layout: Layout) -> dict:
    return {name: [at, list(shape), count] for name, (at, shape, count) in layout.rows.items()}


@dataclass
class Traces:
    """Every graph the page's engine is written from, for parameters of ``shapes``."""

    start: TracedFunction
    targets: TracedFunction
    infeasible: TracedFunction
    first_pass: TracedFunction
    next_pass: TracedFunction
    demand: Traced
    full: Traced
    outputs: TracedFunction
    full_shapes: dict[str, tuple[int, ...]]


def _first_year_shapes(t: Traced) -> dict[str, tuple[int, ...]]:
    return {name: shape for name, (_, shape, _) in t.flows.rows.items()}


def _targets(p):
    return integrate.calibration_targets(p, dynamics.start_fleet(p))


def _infeasible(p):
    reasons = dynamics.infeasible_start(p, dynamics.start_fleet(p))
    return {"infeasible": functools.reduce(np.logical_or, reasons.values()).astype(float)}


def _split_pass(flow_shapes: Mapping[str, tuple], target_names: Sequence[str], with_previous):
    """``integrate.calibration_pass`` as a function of one flat parameter mapping: the
    calibration quantities, the start year's flow totals (``first:NAME``), the targets
    (``target:NAME``) and, with ``with_previous``, the previous pass's secant memory."""
    def fn(q):
        first_year = {k: q[f"first:{k}"] for k in flow_shapes}
        wanted = {k: q[f"target:{k}"] for k in target_names}
        previous = (q["previous:log_requests"], q["previous:log_ratio"]) if with_previous \
            else None
        return integrate.calibration_pass(q, first_year, wanted, previous)
    return fn


CALIBRATION_ERROR = "__calibration_error"
"""The key of the calibration's largest miss among the catalogue function's results."""


def catalogue_outputs(flows, stocks, auxiliaries, p, years: int) -> dict:
    """Every national catalogue output (``results.OUTPUTS``) in its unit, (year, [workload or
    source,] sample), as ``integrate.finish_block`` and ``results.to_labelled`` make them,
    and the calibration's largest miss (:data:`CALIBRATION_ERROR`)."""
    from .results import OUTPUTS
    from .units import SECONDS_PER_YEAR, conversion_factor

    flows = {**flows, **dynamics.derived_flows(flows, p, years, SECONDS_PER_YEAR)}
    raw = integrate.RawResult(np.arange(years), stocks, auxiliaries, flows, p,
                              np.zeros(1))
    # the states' outputs split units by data (each state's unit): the page shows the nation
    out = {o.name: o.compute(raw) * conversion_factor(o.base_unit, o.unit) for o in OUTPUTS
           if o.dim != "region"}
    first = {k: v[0] for k, v in flows.items()}
    out[CALIBRATION_ERROR] = integrate._misses(first, _targets(p))
    return out


def trace_all(shapes: Mapping[str, tuple[int, ...]], years: int,
              outputs: Callable[[Mapping, Mapping, Mapping, Mapping, int], dict]
              = catalogue_outputs) -> Traces:
    """Trace the page's graphs for parameters of leading ``shapes`` and ``years`` years.
    ``outputs(flows, stocks, auxiliaries, p, years)`` gives the outputs from the
    year-by-year arrays (a leading year axis)."""
    from .kernel import _start

    start = trace_function(_start, shapes)
    full_shapes = {k: tuple(shapes[k]) if k in shapes and k not in start.outputs.rows
                   else start.outputs.rows[k][1] for k in start.order}
    targets = trace_function(_targets, full_shapes)
    infeasible = trace_function(_infeasible, full_shapes)
    demand = trace_engine(full_shapes, True)
    full = trace_engine(full_shapes, False)
    flow_shapes = _first_year_shapes(demand)
    target_names = list(targets.outputs.rows)
    pass_shapes = {**full_shapes, **{f"first:{k}": v for k, v in flow_shapes.items()},
                   **{f"target:{k}": () for k in target_names},
                   "previous:log_requests": (), "previous:log_ratio": ()}
    first_pass = trace_function(_split_pass(flow_shapes, target_names, False), pass_shapes)
    next_pass = trace_function(_split_pass(flow_shapes, target_names, True), pass_shapes)

    shapes_by_year = {}
    for group, layout in (("flow", full.flows), ("stock", full.stocks),
                          ("aux", full.auxiliaries)):
        for name, (_, shape, _) in layout.rows.items():
            shapes_by_year[f"{group}:{name}"] = (years, *shape)

    def finish(q):
        def group(prefix):
            return {k.split(":", 1)[1]: q[k] for k in shapes_by_year if k.startswith(prefix)}
        return outputs(group("flow:"), group("stock:"), group("aux:"), q, years)

    finished = trace_function(finish, {**full_shapes, **shapes_by_year})
    return Traces(start, targets, infeasible, first_pass, next_pass, demand, full, finished,
                  full_shapes)


def trace_parameters(keys: Sequence[str], scheduled: Sequence[str] = (),
                     constants: Mapping[str, np.ndarray] | None = None):
    """The equations' parameters from the scenario's values in SI base units as written (a
    compound growth rate still compound), one input per scenario key: what
    ``Scenario.parameter_arrays`` does (``scenario.model_value``), traced. Each key of
    ``scheduled`` (a parameter without workloads) has a schedule
    (``projection.model.schedules``) given by inputs ``KEY@times`` (s since 1 January of
    the start year), ``KEY@values`` (SI base units as written; ``schedules.POINTS`` of
    each) and ``KEY@ramp``, as ``scenario_schedules.schedule_arrays`` makes them.
    ``constants`` (name -> array with a trailing sample axis of one) are inputs of the
    equations that the page does not change: the scenario's regional arrays
    (``regions.parameter_arrays``)."""
    from .parameters import PARAMETERS, WORKLOADS
    from .scenario import model_value, workload_key
    from .schedules import POINTS, RAMP, TIMES, VALUES

    by_key = {p.key: p for p in PARAMETERS if not p.per_workload}

    def fn(given):
        out = {}
        for p in PARAMETERS:
            if p.per_workload:
                base = np.stack([given[workload_key(w, p.name)] for w in WORKLOADS])
            else:
                base = given[p.key]
            out[p.name] = model_value(p, base)
        for key in scheduled:
            p = by_key[key]
            out[p.name + TIMES] = given[key + TIMES]
            out[p.name + VALUES] = model_value(p, given[key + VALUES])
            out[p.name + RAMP] = given[key + RAMP]
        out.update({k: np.asarray(v, dtype=float) for k, v in (constants or {}).items()})
        return out

    shapes: dict[str, tuple[int, ...]] = {k: () for k in keys}
    for key in scheduled:
        shapes.update({key + TIMES: (POINTS,), key + VALUES: (POINTS,), key + RAMP: ()})
    return trace_function(fn, shapes)


def _function_with_layouts(name: str, f: TracedFunction, prefix_arrays: str = "p:P") -> str:
    return function_source(name, f.graph, {prefix_arrays: f.parameters}, f.nodes)


def model_source(t: Traces, settings: Mapping[str, object], parameters: TracedFunction) -> str:
    """One script defining ``ProjectionModel``: the generated functions, their layouts, and
    the driver (:data:`DRIVER`); ``settings`` are constants the driver reads (the year's
    length in seconds, the calibration's passes and tolerances); ``parameters`` is
    :func:`trace_parameters`' function."""
    parts = [
        "// Generated by projection.model.codegen_js from the model's traced numpy equations:",
        "// do not edit (regenerate with `projection explore`).",
        "const ProjectionModel = (function () {",
        '"use strict";',
        HELPERS,
        _function_with_layouts("parameterArrays", parameters),
        _function_with_layouts("startQuantities", t.start),
        _function_with_layouts("calibrationTargets", t.targets),
        _function_with_layouts("infeasibleStart", t.infeasible),
        _function_with_layouts("firstPass", t.first_pass),
        _function_with_layouts("nextPass", t.next_pass),
        engine_source("demandEngine", t.demand),
        engine_source("fullEngine", t.full),
        _function_with_layouts("catalogue", t.outputs),
        "const LAYOUTS = " + json.dumps({
            "parameters": [_layout_json(parameters.parameters), _layout_json(parameters.outputs)],
            "start": [_layout_json(t.start.parameters), _layout_json(t.start.outputs)],
            "targets": [_layout_json(t.targets.parameters), _layout_json(t.targets.outputs)],
            "infeasible": [_layout_json(t.infeasible.parameters),
                           _layout_json(t.infeasible.outputs)],
            "firstPass": [_layout_json(t.first_pass.parameters),
                          _layout_json(t.first_pass.outputs)],
            "nextPass": [_layout_json(t.next_pass.parameters),
                         _layout_json(t.next_pass.outputs)],
            "demand": {k: _layout_json(getattr(t.demand, k)) for k in
                       ("parameters", "stocks", "flows", "auxiliaries")},
            "full": {k: _layout_json(getattr(t.full, k)) for k in
                     ("parameters", "stocks", "flows", "auxiliaries")},
            "catalogue": [_layout_json(t.outputs.parameters), _layout_json(t.outputs.outputs)],
        }) + ";",
        "const SETTINGS = " + json.dumps(dict(settings)) + ";",
        DRIVER,
        "return { simulate, LAYOUTS,",
        "         parameters: (given) => apply(parameterArrays, LAYOUTS.parameters, given) };",
        "})();",
        "if (typeof module !== 'undefined') { module.exports = ProjectionModel; }",
    ]
    return "\n".join(parts) + "\n"


DRIVER = r"""
// --- the control flow of integrate.calibrate and integrate._run, for one sample -----------
function pack(layout, values) {
  // values: name -> array of numbers (leading shape flattened); a flat table in layout order
  let size = 0;
  for (const k in layout) size = Math.max(size, layout[k][0] + layout[k][2]);
  const out = new Float64Array(size);
  for (const k in layout) {
    const [at, , count] = layout[k];
    const v = values[k];
    if (v === undefined) throw new Error("no value for " + k);
    for (let i = 0; i < count; i++) out[at + i] = v[i];
  }
  return out;
}
function unpack(layout, table, into) {
  const out = into || {};
  for (const k in layout) {
    const [at, , count] = layout[k];
    out[k] = Array.from(table.subarray(at, at + count));
  }
  return out;
}
function apply(fn, layouts, values) {
  const [input, output] = layouts;
  let size = 0;
  for (const k in output) size = Math.max(size, output[k][0] + output[k][2]);
  const out = new Float64Array(size);
  fn(pack(input, values), out);
  return unpack(output, out);
}
function sizeOf(layout) {
  let size = 0;
  for (const k in layout) size = Math.max(size, layout[k][0] + layout[k][2]);
  return size;
}
function integrate(engineOf, layouts, p, years, substeps, record) {
  // integrate._run: RK4 with `substeps` steps a year; flows summed over each calendar year,
  // stocks and auxiliaries recorded on 1 January
  const dt = SETTINGS.year_length / substeps;
  const engine = engineOf(pack(layouts.parameters, p), dt);
  const X = new Float64Array(sizeOf(layouts.stocks));
  const nf = sizeOf(layouts.flows), na = sizeOf(layouts.auxiliaries);
  const F = new Float64Array(nf);
  engine.initial(X);
  const flows = [], stocks = [], aux = [];
  for (let year = 0; year < years; year++) {
    const T = new Float64Array(nf);
    for (let sub = 0; sub < substeps; sub++) {
      const time = (year * substeps + sub) * dt;
      if (record && sub === 0) {
        stocks.push(Float64Array.from(X));
        const A = new Float64Array(na);
        engine.aux(X, time, A);
        aux.push(A);
      }
      engine.step(X, time, F);
      for (let k = 0; k < nf; k++) T[k] = sub === 0 ? F[k] : T[k] + F[k];
    }
    flows.push(T);
  }
  return { flows, stocks, aux };
}
function calibrate(p, substeps) {
  // integrate.calibrate for one sample: the first guess, then passes over the start year
  const full = Object.assign({}, p, apply(startQuantities, LAYOUTS.start, p));
  const targets = apply(calibrationTargets, LAYOUTS.targets, full);
  let previous = null;
  for (let pass = 0; pass < SETTINGS.max_calibration_passes; pass++) {
    const run = integrate(demandEngine, LAYOUTS.demand, full, 1, substeps, false);
    const first = unpack(LAYOUTS.demand.flows, run.flows[0]);
    const q = Object.assign({}, full);
    for (const k in first) q["first:" + k] = first[k];
    for (const k in targets) q["target:" + k] = targets[k];
    let updates;
    if (previous === null) {
      updates = apply(firstPass, LAYOUTS.firstPass, q);
    } else {
      q["previous:log_requests"] = previous[0];
      q["previous:log_ratio"] = previous[1];
      updates = apply(nextPass, LAYOUTS.nextPass, q);
    }
    for (const k in updates) {
      if (k !== "miss" && k !== "log_requests" && k !== "log_ratio") full[k] = updates[k];
    }
    // a sample is refined until it meets its targets; NaN counts as done
    if (!(updates.miss[0] >= SETTINGS.calibration_stop)) break;
    previous = [updates.log_requests, updates.log_ratio];
  }
  return full;
}
function byYear(layout, rows, years) {
  // name -> flat array (year, leading...) in C order, as the catalogue function reads it
  const out = {};
  for (const k in layout) {
    const [at, , count] = layout[k];
    const v = new Array(years * count);
    for (let y = 0; y < years; y++) {
      for (let i = 0; i < count; i++) v[y * count + i] = rows[y][at + i];
    }
    out[k] = v;
  }
  return out;
}
function simulate(p, years, substeps) {
  // p: parameter name -> array of its values (SI base units, as the equations take them);
  // returns catalogue output name -> values by year (and workload, or source), in the
  // catalogue's units, with the calibration's largest miss and the start check
  const full = calibrate(p, substeps);
  const run = integrate(fullEngine, LAYOUTS.full, full, years, substeps, true);
  const q = Object.assign({}, full);
  const groups = [["flow:", LAYOUTS.full.flows, run.flows],
                  ["stock:", LAYOUTS.full.stocks, run.stocks],
                  ["aux:", LAYOUTS.full.auxiliaries, run.aux]];
  for (const [prefix, layout, rows] of groups) {
    const arrays = byYear(layout, rows, years);
    for (const k in arrays) q[prefix + k] = arrays[k];
  }
  const outputs = apply(catalogue, LAYOUTS.catalogue, q);
  const infeasible = apply(infeasibleStart, LAYOUTS.infeasible, full).infeasible[0] > 0;
  return { outputs, calibration_error: infeasible ? Infinity : outputs.__calibration_error[0],
           parameters: full };
}
"""
