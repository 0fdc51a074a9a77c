"""Record the model's numpy equations as a graph of scalar operations, for a compiled engine.

Every operation of the model is elementwise along the sample axis (the last): sample i of a
result depends only on sample i of the inputs. So running ``dynamics.rates`` (and the
Runge-Kutta step, and the initial state) on :class:`Sym` arrays, which stand for one sample
and record what numpy would compute instead of computing it, gives the whole model as a
directed acyclic graph of scalar operations. ``projection.model.kernel`` turns that graph into
a compiled function; the equations stay those of the sector modules.

A :class:`Sym` has the shape of the array it stands for, with the sample axis of length one;
each element is a node of a :class:`Graph`. Python operators, numpy ufuncs
(``__array_ufunc__``) and the numpy functions the model uses (``__array_function__``:
``np.where``, ``np.clip``, ``np.concatenate``, ``np.sum``, ``np.ones_like`` ...) are recorded;
numpy constants must broadcast along the sample axis (a trailing axis of length one, or
none). Anything that needs a sample's value in Python (``if x > 0:``, ``float(x)``) cannot
be recorded and raises :class:`TraceError` naming what was asked. Identical operations are
recorded once, and operations on constants are computed at once in float64 as numpy does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np


class TraceError(TypeError):
    """The equations did something a compiled engine cannot follow: the message names it."""


FLOAT, BOOL = "f", "b"

# op name -> (arity, numpy function for constant folding, result kind)
UNARY: dict[str, Callable] = {
    "neg": np.negative, "pos": np.positive, "exp": np.exp, "expm1": np.expm1, "log": np.log,
    "log1p": np.log1p, "log2": np.log2, "log10": np.log10, "sqrt": np.sqrt, "abs": np.absolute,
    "tanh": np.tanh, "sinh": np.sinh, "cosh": np.cosh, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "arctan": np.arctan, "floor": np.floor, "ceil": np.ceil,
    "square": np.square, "reciprocal": np.reciprocal, "sign": np.sign, "exp2": np.exp2,
}
BINARY: dict[str, Callable] = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
    "pow": np.power, "min": np.minimum, "max": np.maximum, "fmin": np.fmin, "fmax": np.fmax,
    "arctan2": np.arctan2, "hypot": np.hypot,
}
COMPARE: dict[str, Callable] = {
    "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
    "eq": np.equal, "ne": np.not_equal,
}
LOGICAL: dict[str, Callable] = {"and": np.logical_and, "or": np.logical_or,
                                "xor": np.logical_xor}
PREDICATE: dict[str, Callable] = {"not": np.logical_not, "isnan": np.isnan,
                                  "isfinite": np.isfinite, "isinf": np.isinf}

UFUNCS: dict[np.ufunc, str] = {
    np.add: "add", np.subtract: "sub", np.multiply: "mul", np.true_divide: "div",
    np.power: "pow", np.minimum: "min", np.maximum: "max", np.fmin: "fmin", np.fmax: "fmax",
    np.arctan2: "arctan2", np.hypot: "hypot",
    np.negative: "neg", np.positive: "pos", np.exp: "exp", np.expm1: "expm1", np.log: "log",
    np.log1p: "log1p", np.log2: "log2", np.log10: "log10", np.sqrt: "sqrt",
    np.absolute: "abs", np.tanh: "tanh", np.sinh: "sinh", np.cosh: "cosh", np.sin: "sin",
    np.cos: "cos", np.tan: "tan", np.arctan: "arctan", np.floor: "floor", np.ceil: "ceil",
    np.square: "square", np.reciprocal: "reciprocal", np.sign: "sign", np.exp2: "exp2",
    np.less: "lt", np.less_equal: "le", np.greater: "gt", np.greater_equal: "ge",
    np.equal: "eq", np.not_equal: "ne",
    np.logical_and: "and", np.logical_or: "or", np.logical_xor: "xor",
    np.logical_not: "not", np.isnan: "isnan", np.isfinite: "isfinite", np.isinf: "isinf",
    np.bitwise_and: "and", np.bitwise_or: "or", np.bitwise_xor: "xor", np.invert: "not",
}


COMMUTATIVE = ("add", "mul", "min", "max", "and", "or", "eq", "ne")


class Graph:
    """Scalar nodes: ``ops[i]`` is (op, args); args are node ids, except for ``const``
    (a float or bool) and ``input`` (a name). ``kinds[i]`` is FLOAT or BOOL."""

    def __init__(self) -> None:
        self.ops: list[tuple[str, tuple]] = []
        self.kinds: list[str] = []
        self._index: dict[tuple, int] = {}

    def _node(self, op: str, args: tuple, kind: str, key: tuple | None = None) -> int:
        key = key or (op, args)
        found = self._index.get(key)
        if found is not None:
            return found
        self.ops.append((op, args))
        self.kinds.append(kind)
        self._index[key] = len(self.ops) - 1
        return len(self.ops) - 1

    def const(self, value: Any) -> int:
        if isinstance(value, (bool, np.bool_)):
            return self._node("const", (bool(value),), BOOL, ("bconst", bool(value)))
        v = float(value)
        return self._node("const", (v,), FLOAT, ("const", np.float64(v).tobytes()))

    def input(self, name: str) -> int:
        return self._node("input", (name,), FLOAT)

    def copy(self) -> Graph:
        """An independent graph with the same nodes (new nodes added to it stay there)."""
        out = Graph()
        out.ops, out.kinds, out._index = list(self.ops), list(self.kinds), dict(self._index)
        return out

    def rewrite(self, i: int, op: str, *args: int) -> None:
        """Make node ``i`` compute its value as ``op`` of ``args`` (the caller vouches for
        the value); asking for that operation later gives node ``i``."""
        if op in COMMUTATIVE and args[0] > args[1]:
            args = (args[1], args[0])
        self.ops[i] = (op, tuple(args))
        self._index[(op, tuple(args))] = i

    def is_const(self, i: int) -> bool:
        return self.ops[i][0] == "const"

    def value(self, i: int):
        return self.ops[i][1][0]

    def apply(self, op: str, *args: int) -> int:
        """The node for ``op`` of ``args``, folded when every argument is a constant."""
        if op in COMPARE or op in LOGICAL or op in PREDICATE:
            kind = BOOL
        elif op == "where":
            kind = FLOAT if FLOAT in (self.kinds[args[1]], self.kinds[args[2]]) else BOOL
        else:
            kind = FLOAT
        if all(self.is_const(a) for a in args):
            return self.const(self._fold(op, [self.value(a) for a in args]))
        simple = self._simplify(op, args)
        if simple is not None:
            return simple
        if op in COMMUTATIVE and args[0] > args[1]:
            args = (args[1], args[0])  # one node whatever the order
        return self._node(op, tuple(args), kind)

    def _simplify(self, op: str, args: tuple) -> int | None:
        """Rewrites that give the same float64 bits for every input (x * 1, x / 1, x - 0,
        where with a constant condition); nothing that could change a NaN, an infinity or
        the sign of a zero."""
        def is_value(a, v):
            return self.is_const(a) and self.kinds[a] == FLOAT and self.value(a) == v and \
                math.copysign(1.0, self.value(a)) > 0

        if op == "mul":
            if is_value(args[1], 1.0) and self.kinds[args[0]] == FLOAT:
                return args[0]
            if is_value(args[0], 1.0) and self.kinds[args[1]] == FLOAT:
                return args[1]
        if op in ("div", "sub") and self.kinds[args[0]] == FLOAT:
            if op == "div" and is_value(args[1], 1.0) or op == "sub" and is_value(args[1], 0.0):
                return args[0]
        if op == "where":
            if self.is_const(args[0]):
                chosen = args[1] if self.value(args[0]) else args[2]
                if self.kinds[chosen] == FLOAT or self.kinds[args[1]] == self.kinds[args[2]]:
                    return chosen
            if args[1] == args[2]:
                return args[1]
        if op == "pos":
            return args[0]
        return None

    @staticmethod
    def _fold(op: str, values: list):
        with np.errstate(all="ignore"):
            if op == "where":
                return values[1] if values[0] else values[2]
            fn = {**UNARY, **BINARY, **COMPARE, **LOGICAL, **PREDICATE}[op]
            out = fn(*[np.bool_(v) if isinstance(v, bool) else np.float64(v) for v in values])
            return bool(out) if isinstance(out, np.bool_) else float(out)


def _node_array(graph: Graph, x: Any) -> np.ndarray:
    """Node ids of ``x`` (a Sym, a number, a numpy array that broadcasts along the sample
    axis) as an object array whose last axis is the sample axis."""
    if isinstance(x, Sym):
        return x.ids
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TraceError(f"cannot trace a value of type {a.dtype}")
    if a.ndim == 0:
        out = np.empty((), dtype=object)
        out[()] = graph.const(a.item())
        return out
    if a.shape[-1] != 1:
        raise TraceError(f"a constant array of shape {a.shape} meets the sample axis: constants "
                         "need a trailing axis of length 1 (e.g. values[:, None])")
    ids = np.empty(a.shape, dtype=object)
    for index, v in np.ndenumerate(a):
        ids[index] = graph.const(v.item())
    return ids


def _apply(graph: Graph, op: str, *operands: Any) -> Sym:
    arrays = np.broadcast_arrays(*[_node_array(graph, x) for x in operands])
    out = np.empty(arrays[0].shape, dtype=object)
    for index in np.ndindex(out.shape):
        out[index] = graph.apply(op, *[a[index] for a in arrays])
    return Sym(graph, out)


def _axis(axis: int, ndim: int) -> int:
    axis = axis + ndim if axis < 0 else axis
    if not 0 <= axis < ndim - 1:
        raise TraceError(f"axis {axis} of a {ndim}-D array: only leading (workload, cohort) "
                         "axes can be reduced or joined, never the sample axis")
    return axis


def _reduce(x: Sym, op: str, axis: Any) -> Sym:
    """``op``-reduction over a leading axis, element by element in order as numpy adds the
    rows of a C-ordered array."""
    if axis is None:
        raise TraceError("a reduction over every axis would mix samples; give axis=0")
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    ids = x.ids
    for a in sorted((_axis(a, ids.ndim) for a in axes), reverse=True):
        moved = np.moveaxis(ids, a, 0)
        out = moved[0].copy()
        for row in moved[1:]:
            for index in np.ndindex(out.shape):
                out[index] = x.graph.apply(op, out[index], row[index])
        ids = out
    return Sym(x.graph, ids)


class Sym:
    """One sample of an array in the model's layout, recorded rather than computed."""

    __array_priority__ = 1000

    def __init__(self, graph: Graph, ids: np.ndarray) -> None:
        self.graph = graph
        self.ids = ids

    # --- array protocol ----------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.ids.shape

    @property
    def ndim(self) -> int:
        return self.ids.ndim

    @property
    def dtype(self):
        kinds = {self.graph.kinds[i] for i in self.ids.flat}
        return np.dtype(bool) if kinds == {BOOL} else np.dtype(float)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, key) -> Sym:
        return Sym(self.graph, np.asarray(self.ids[key], dtype=object))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if kwargs.get("out") is not None:
            raise TraceError(f"np.{ufunc.__name__}(..., out=) cannot be traced")
        op = UFUNCS.get(ufunc)
        if op is None:
            raise TraceError(f"np.{ufunc.__name__} is not supported by the tracer")
        if method == "__call__":
            return _apply(self.graph, op, *inputs)
        if method == "reduce" and op in ("add", "mul", "min", "max", "and", "or"):
            return _reduce(_as_sym(self.graph, inputs[0]), op, kwargs.get("axis", 0))
        raise TraceError(f"np.{ufunc.__name__}.{method} is not supported by the tracer")

    def __array_function__(self, func, types, args, kwargs):
        handler = FUNCTIONS.get(func)
        if handler is None:
            raise TraceError(f"np.{func.__name__} is not supported by the tracer")
        return handler(self.graph, *args, **kwargs)

    def __array__(self, *args, **kwargs):
        raise TraceError("a traced value was turned into a plain array (np.asarray); the "
                         "equations must stay elementwise in numpy calls")

    # --- operators ---------------------------------------------------------------------------
    def _op(self, op, *others):
        return _apply(self.graph, op, self, *others)

    def _rop(self, op, other):
        return _apply(self.graph, op, other, self)

    def __add__(self, o): return self._op("add", o)
    def __radd__(self, o): return self._rop("add", o)
    def __sub__(self, o): return self._op("sub", o)
    def __rsub__(self, o): return self._rop("sub", o)
    def __mul__(self, o): return self._op("mul", o)
    def __rmul__(self, o): return self._rop("mul", o)
    def __truediv__(self, o): return self._op("div", o)
    def __rtruediv__(self, o): return self._rop("div", o)
    def __pow__(self, o): return self._op("pow", o)
    def __rpow__(self, o): return self._rop("pow", o)
    def __neg__(self): return self._op("neg")
    def __pos__(self): return self
    def __abs__(self): return self._op("abs")
    def __lt__(self, o): return self._op("lt", o)
    def __le__(self, o): return self._op("le", o)
    def __gt__(self, o): return self._op("gt", o)
    def __ge__(self, o): return self._op("ge", o)
    def __eq__(self, o): return self._op("eq", o)  # type: ignore[override]
    def __ne__(self, o): return self._op("ne", o)  # type: ignore[override]
    def __and__(self, o): return self._op("and", o)
    def __rand__(self, o): return self._rop("and", o)
    def __or__(self, o): return self._op("or", o)
    def __ror__(self, o): return self._rop("or", o)
    def __invert__(self): return self._op("not")

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self):
        raise TraceError("a decision in Python on a traced value (if/and/or/while on a "
                         "sample's value); use np.where")

    def __float__(self):
        raise TraceError("float() of a traced value")

    __int__ = __index__ = __float__

    # --- methods numpy arrays have ----------------------------------------------------------
    def sum(self, axis=None, **kwargs):
        return _reduce(self, "add", axis)

    def prod(self, axis=None, **kwargs):
        return _reduce(self, "mul", axis)

    def max(self, axis=None, **kwargs):
        return _reduce(self, "max", axis)

    def min(self, axis=None, **kwargs):
        return _reduce(self, "min", axis)

    def copy(self):
        return self

    def astype(self, dtype, **kwargs):
        if np.dtype(dtype).kind != "f":
            raise TraceError(f"astype({dtype}) of a traced value")
        return _apply(self.graph, "where", self, 1.0, 0.0) if self.dtype == bool else self

    def reshape(self, *shape):
        return Sym(self.graph, self.ids.reshape(*shape))

    def __repr__(self) -> str:
        return f"Sym(shape={self.shape})"


def _as_sym(graph: Graph, x: Any) -> Sym:
    return x if isinstance(x, Sym) else Sym(graph, _node_array(graph, x))


def _where(graph, condition, x=None, y=None):
    if x is None or y is None:
        raise TraceError("np.where(condition) with one argument cannot be traced")
    return _apply(graph, "where", condition, x, y)


def _clip(graph, a, a_min, a_max, **kwargs):
    out = _as_sym(graph, a)
    if a_min is not None:
        out = _apply(graph, "max", out, a_min)
    if a_max is not None:
        out = _apply(graph, "min", out, a_max)
    return out


def _concatenate(graph, arrays, axis=0, **kwargs):
    ids = [_node_array(graph, a) for a in arrays]
    ndim = max(i.ndim for i in ids)
    return Sym(graph, np.concatenate(ids, axis=_axis(axis, ndim)))


def _stack(graph, arrays, axis=0, **kwargs):
    ids = np.broadcast_arrays(*[_node_array(graph, a) for a in arrays])
    return Sym(graph, np.stack(ids, axis=_axis(axis, ids[0].ndim + 1)))


def _filled(value):
    def like(graph, a, fill_value=None, *args, **kwargs):
        fill = fill_value if value is None else value
        return Sym(graph, np.full(_node_array(graph, a).shape, graph.const(fill), dtype=object))
    return like


def _sum(graph, a, axis=None, **kwargs):
    return _reduce(_as_sym(graph, a), "add", axis)


def _reducer(op):
    return lambda graph, a, axis=None, **kwargs: _reduce(_as_sym(graph, a), op, axis)


def _broadcast_to(graph, a, shape, **kwargs):
    ids = _node_array(graph, a)
    return Sym(graph, np.broadcast_to(ids, (*tuple(shape)[:-1], 1)).copy())


def _unary(op):
    return lambda graph, a, **kwargs: _apply(graph, op, a)


FUNCTIONS: dict[Callable, Callable] = {
    np.where: _where,
    np.clip: _clip,
    np.concatenate: _concatenate,
    np.stack: _stack,
    np.ones_like: _filled(1.0),
    np.zeros_like: _filled(0.0),
    np.full_like: _filled(None),
    np.sum: _sum,
    np.max: _reducer("max"),
    np.min: _reducer("min"),
    np.broadcast_to: _broadcast_to,
    np.abs: _unary("abs"),
    np.nan_to_num: None,  # type: ignore[dict-item]  (replaced below)
}


def _nan_to_num(graph, x, copy=True, nan=0.0, posinf=None, neginf=None):
    if posinf is not None or neginf is not None:
        raise TraceError("np.nan_to_num with posinf/neginf is not supported by the tracer")
    big = float(np.finfo(np.float64).max)
    x = _as_sym(graph, x)
    out = _apply(graph, "where", _apply(graph, "isnan", x), nan, x)
    out = _apply(graph, "where", _apply(graph, "eq", x, np.inf), big, out)
    return _apply(graph, "where", _apply(graph, "eq", x, -np.inf), -big, out)


FUNCTIONS[np.nan_to_num] = _nan_to_num


def inputs(graph: Graph, prefix: str, shapes: Mapping[str, tuple[int, ...]]) -> dict[str, Sym]:
    """A Sym per name, every element an input node named ``prefix:name[index]``."""
    out = {}
    for name, lead in shapes.items():
        ids = np.empty((*lead, 1), dtype=object)
        for index in np.ndindex(*lead):
            ids[(*index, 0)] = graph.input(input_name(prefix, name, index))
        out[name] = Sym(graph, ids)
    return out


def input_name(prefix: str, name: str, index: tuple[int, ...]) -> str:
    return f"{prefix}:{name}" + "".join(f"[{i}]" for i in index)


class LazyInputs(Mapping[str, Sym]):
    """Parameters as Sym inputs, made when first read, so the graph holds only those the
    equations use; ``used`` lists them in the order read."""

    def __init__(self, graph: Graph, prefix: str, shapes: Mapping[str, tuple[int, ...]]):
        self.graph, self.prefix, self.shapes = graph, prefix, shapes
        self.made: dict[str, Sym] = {}

    def __getitem__(self, name: str) -> Sym:
        if name not in self.made:
            if name not in self.shapes:
                raise KeyError(name)
            self.made[name] = inputs(self.graph, self.prefix, {name: self.shapes[name]})[name]
        return self.made[name]

    def __iter__(self):
        return iter(self.shapes)

    def __len__(self) -> int:
        return len(self.shapes)

    @property
    def used(self) -> list[str]:
        return list(self.made)


def needed_until(graph: Graph, roots: list[int], stop: set[int]) -> set[int]:
    """The nodes that ``roots`` depend on (themselves included), not looking past the nodes
    in ``stop``."""
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


def needed_inputs(graph: Graph, roots: list[int]) -> set[str]:
    """Names of the input nodes that the nodes ``roots`` depend on."""
    return {graph.ops[i][1][0] for i in needed_until(graph, roots, set())
            if graph.ops[i][0] == "input"}
