"""The error every input file problem becomes: one line naming the file, the key and what
was expected."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """An input file that cannot be used; ``str()`` is the one-line message for the user."""

    def __init__(self, path: Path | str, key: str, message: str) -> None:
        self.path = str(path)
        self.key = key
        self.message = message
        super().__init__(f"{self.path}: {key}: {message}" if key else f"{self.path}: {message}")
