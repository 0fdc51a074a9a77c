"""Option values converted without pydantic: the command line's start-up.

typer (0.29) converts each option's text through a pydantic ``TypeAdapter`` that it builds
when the option is first used: importing pydantic and building the adapters of one command
take about 0.1 s, longer than a model run. The options of this command line are plain text,
integers, flags, paths with a ``parser=``, lists of text and pairs of text; after
:func:`install`, each such option gets a converter of its own that produces the same values and
the same messages.
Options of any other kind keep typer's conversion, and so does every option if typer's
internals are not the ones this module knows (the command line then works as before, only
slower to start).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

INTEGER = re.compile(r"^\s*[+-]?[0-9]+(?:_[0-9]+)*(?:\.0+)?\s*$")
"""What pydantic (lax mode) takes as an integer: digits with optional sign, underscores between
digits, a fractional part of zeros, surrounding blanks."""
NOT_INTEGER = "Input should be a valid integer, unable to parse string as an integer"


def _integer(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    if INTEGER.match(text):
        return int(text.strip().replace("_", "").split(".")[0])
    raise ValueError(NOT_INTEGER)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValueError("Input should be a valid string")


TRUE = {"1", "on", "t", "true", "y", "yes"}
FALSE = {"0", "off", "f", "false", "n", "no"}


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).lower()
    if text in TRUE or text in FALSE:
        return text in TRUE
    raise ValueError("Input should be a valid boolean, unable to interpret input")


def _leaf(annotation: Any, info: Any) -> Callable[[Any], Any] | None:
    """A converter for one value of ``annotation``, or None to leave it to typer."""
    if getattr(info, "parser", None) is not None:
        parser = info.parser
        return lambda value: parser(value)
    if getattr(info, "min", None) is not None or getattr(info, "max", None) is not None:
        return None
    if annotation is str:
        return _text
    if annotation is int:
        return _integer
    if annotation is bool:
        return _boolean
    if annotation is Path and not any(getattr(info, name, False) for name in (
            "exists", "resolve_path", "allow_dash", "path_type")):
        return lambda value: value if isinstance(value, Path) else Path(_text(value))
    return None


def _converter(annotation: Any, info: Any) -> Callable[[Any], Any] | None:
    origin = get_origin(annotation)
    if origin is list:
        (item,) = get_args(annotation)
        leaf = _leaf(item, info)
        if leaf is None:
            return None
        return lambda value: [leaf(v) for v in (value if isinstance(value, list | tuple)
                                                else [value])]
    if origin is tuple:
        leaves = [_leaf(item, info) for item in get_args(annotation)]
        if any(leaf is None for leaf in leaves) or Ellipsis in get_args(annotation):
            return None

        def pair(value: Any) -> tuple[Any, ...]:
            if not isinstance(value, list | tuple):
                raise ValueError("value is not a valid tuple")
            if len(value) != len(leaves):
                raise ValueError(f"{len(leaves)} values are required, but {len(value)} given.")
            return tuple(leaf(v) for leaf, v in zip(leaves, value, strict=True))  # type: ignore[misc]

        return pair
    if origin is not None:
        return None
    return _leaf(annotation, info)


def install() -> bool:
    """Route typer's construction of option converters through this module for the options
    it can convert (typer's own for the others); False when typer is not the one it knows."""
    try:
        from typer import core
        from typer._click.exceptions import BadParameter
        from typer._coercion import RuntimeParam

        original = core.build_runtime_param
    except (ImportError, AttributeError):  # another typer: it converts on its own
        return False
    if getattr(original, "converts_without_pydantic", False):
        return True

    @dataclass(frozen=True)
    class Converted(RuntimeParam):
        convert: Callable[[Any], Any]

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                return self.convert(value)
            except ValueError as exc:
                raise BadParameter(str(exc), ctx=ctx, param=param) from None

    def build(descriptor: Any) -> Any:
        if getattr(descriptor, "file_annotation", None) is None:
            convert = _converter(descriptor.annotation, descriptor.parameter_info)
            if convert is not None:
                return Converted(parameter_info=descriptor.parameter_info,
                                 annotation=descriptor.annotation, convert=convert)
        return original(descriptor)

    build.converts_without_pydantic = True  # type: ignore[attr-defined]
    core.build_runtime_param = build
    return True
