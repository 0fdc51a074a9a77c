"""Write result files all at once or not at all, never leaving partial output."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from projection.model.errors import ProjectionError


class OutputError(ProjectionError):
    """The output folder cannot be used; ``str()`` is the one-line message for the user."""


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def prepare_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: exists and is not a folder; expected a folder for results")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the results folder ({exc.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise OutputError(f"{folder}: the results folder is not writable")


def write_all(folder: Path, writers: Mapping[str, Callable[[Path], None]]) -> list[Path]:
    """Write every file to a temporary name first; move them into place only if all succeed."""
    for name in writers:
        target = folder / name
        if target.exists() and not target.is_file():
            raise OutputError(f"{target}: exists and is not a file; expected to write {name} here")
    prepare_folder(folder)
    staged: list[tuple[Path, Path]] = []
    try:
        for name, write in writers.items():
            fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
            os.close(fd)
            os.chmod(temporary, 0o666 & ~_umask())
            staged.append((Path(temporary), folder / name))
            write(Path(temporary))
        for part, final in staged:
            os.replace(part, final)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot write the results ({exc.strerror or exc})") from None
    finally:
        for part, _ in staged:
            part.unlink(missing_ok=True)
    return [final for _, final in staged]
