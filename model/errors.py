"""The project's exceptions: one root, :class:`ProjectionError`, under which every input, run
and output error sits, so that a notebook or a script can catch them all with one clause.
``str()`` of any of them is the one-line message for the user."""

from __future__ import annotations

from pathlib import Path


class ProjectionError(Exception):
    """Any error the user can act on: bad input, a run that cannot be used, an unusable output
    folder. Programming errors are never wrapped in it."""


class InputError(ProjectionError):
    """An input that cannot be used (scenario file, reference data, parameter table or
    override); ``str()`` names the file or source, the key and what was expected."""

    def __init__(self, path: Path | str, key: str, message: str) -> None:
        self.path = str(path)
        self.key = key
        self.message = message
        super().__init__(f"{self.path}: {key}: {message}" if key else f"{self.path}: {message}")


class RunError(ProjectionError, ValueError):
    """A run whose results cannot be used (non-finite numbers, a start state that cannot be
    calibrated); ``str()`` is the one-line message for the user."""
