"""The project's exceptions: one root, :class:`ProjectionError`, under which every input, run
and output error sits, so that a notebook or a script can catch them all with one clause.
``str()`` of any of them is the one-line message for the user."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Bidirectional formatting characters: they reorder what a terminal or an editor shows
("trojan source"), so text from a data file must not carry them."""


def is_control(char: str) -> bool:
    """True for a character that a terminal interprets rather than shows: C0 and C1 control
    characters (escape, bell, carriage return, newline, ...), DEL, lone surrogates (bytes of a
    file name that were not UTF-8) and bidirectional overrides."""
    return unicodedata.category(char) in ("Cc", "Cs") or char in _BIDI_CONTROLS


def shown(text: str | os.PathLike[str]) -> str:
    """A path, key or message as it may be printed: control characters and bytes that are not
    UTF-8 become escapes (``\\x1b``, ``\\udcff``), so a message about a hostile name can neither
    inject terminal escape sequences, nor break onto a second line, nor fail to encode."""
    text = os.fspath(text)
    if not any(is_control(c) for c in text):
        return text
    return "".join(c.encode("unicode_escape", "backslashreplace").decode("ascii")
                   if is_control(c) else c for c in text)


class ProjectionError(Exception):
    """Any error the user can act on: bad input, a run that cannot be used, an unusable output
    folder. Programming errors are never wrapped in it."""


class InputError(ProjectionError):
    """An input that cannot be used (scenario file, reference data, parameter table or
    override); ``str()`` names the file or source, the key and what was expected (control
    characters in the path, key or message are shown as escapes)."""

    def __init__(self, path: Path | str, key: str, message: str) -> None:
        self.path = str(path)
        self.key = key
        self.message = message
        line = f"{self.path}: {key}: {message}" if key else f"{self.path}: {message}"
        super().__init__(shown(line))


class RunError(ProjectionError, ValueError):
    """A run whose results cannot be used (non-finite numbers, a start state that cannot be
    calibrated); ``str()`` is the one-line message for the user."""


class InfeasibleStartError(InputError):
    """Inputs that admit no start state: the installed accelerators at the start utilisation
    draw the whole start-year total, or generative requests need more of the fleet than the
    start utilisation leaves. ``str()`` is the one-line message for the user."""


def whole_number(value: object) -> int | None:
    """``value`` as a Python ``int`` when it is a whole number: an ``int`` (not a ``bool``),
    a numpy integer, or a finite float (Python's or numpy's) with no fractional part
    (``5.0``); None for anything else (text, ``2.5``, NaN, infinity, ``True``)."""
    import numbers

    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        if number == number and abs(number) != float("inf") and number.is_integer():
            return int(number)
    return None
