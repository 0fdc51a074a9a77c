"""Writing output files: all at once or not at all, never over an input, never half-written.

Every command that writes files goes through this module, so that each inherits the same
rules:

- :func:`parse_output` is the ``parser=`` of every ``--output``/``-o`` option: an empty value
  (an unset shell variable), a name that is not UTF-8, has a control character or is too long
  is a usage error (one line, exit 2) before anything runs.
- :func:`check_output_folder` / :func:`check_output_file` refuse an output that is a file where
  a folder is expected (and the reverse), or that is one of the run's inputs (a scenario or a
  file it extends), before any work is done.
- :func:`write_all` writes a set of files into a folder; :func:`write_file` writes one file
  (``force`` to replace it). Both check that every value of the given datasets is finite,
  write each file to a hidden temporary name that is registered for clean-up *before* it is
  created, and move the files into place only when all were written, with Ctrl-C deferred
  during the moves; an interrupt or an error leaves what was there before, and no
  ``.part`` file.

Problems raise :class:`OutputError`, whose ``str()`` is the one-line message.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from projection.model.errors import ProjectionError, shown
from projection.model.safe_io import path_name_problem

if TYPE_CHECKING:
    import xarray as xr

PART_SUFFIX = ".part"
"""Temporary files are hidden (a leading dot) and end in .part while they are written."""


class OutputError(ProjectionError):
    """The output cannot be written; ``str()`` is the one-line message for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(shown(message))


def parse_output(text: str) -> Path:
    """The ``parser=`` for ``--output``/``-o`` options: the path, or a usage error (exit 2)
    when the value is empty or its name cannot be a file name."""
    problem = path_name_problem(text)
    if problem:
        import typer

        raise typer.BadParameter(f"'{shown(text)}' {problem}" if text else problem)
    return Path(text)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return os.path.realpath(a) == os.path.realpath(b)


def _check_name(path: Path | str, option: str) -> Path:
    problem = path_name_problem(path)
    if problem:
        raise OutputError(f"{option}: {path} {problem}" if str(path) else f"{option}: {problem}")
    return Path(path)


def check_not_input(target: Path, inputs: Iterable[Path | str], option: str = "--output") -> None:
    """Refuse ``target`` when it is one of ``inputs`` (the files a command read, including
    every file a scenario extends): writing there would replace the user's input."""
    for source in inputs:
        if os.path.lexists(target) and _same_file(target, Path(source)):
            raise OutputError(f"{target}: is an input of this command ({source}); choose "
                              f"another {option}, nothing was written")


def check_output_folder(folder: Path | str, *, inputs: Iterable[Path | str] = (),
                        option: str = "--output") -> Path:
    """``folder`` if results can go there: a usable name (a string, since ``Path("")`` is
    ``Path(".")``, is refused when empty), not an existing file, not an input."""
    folder = _check_name(folder, option)
    if os.path.lexists(folder) and not folder.is_dir():
        inputs = list(inputs)
        check_not_input(folder, inputs, option)
        raise OutputError(f"{folder}: exists and is not a folder; expected a folder for results")
    return folder


def check_output_file(path: Path | str, *, inputs: Iterable[Path | str] = (),
                      force: bool = False, option: str = "--output") -> Path:
    """``path`` if one file can be written there: a usable name, not a folder, not one of
    ``inputs``, and not an existing file unless ``force``; its folder must exist."""
    path = _check_name(path, option)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder, expected a file name for {option}")
    check_not_input(path, inputs, option)
    if os.path.lexists(path) and not force:
        raise OutputError(f"{path}: exists; use --force to overwrite it")
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"{path}: the folder {folder} does not exist")
    return path


def check_finite(datasets: Iterable[xr.Dataset]) -> None:
    """Refuse to write a dataset with a value that is not finite (NaN or infinite), derived
    outputs included, naming the scenario file, the variable and the year."""
    datasets = list(datasets)
    if not datasets:
        return
    from projection.model.run import first_nonfinite

    for ds in datasets:
        bad = first_nonfinite(ds)
        if bad is not None:
            name, year = bad
            source = ds.attrs.get("scenario_file", "the results")
            raise OutputError(f"{source}: output {name} is not a finite number"
                              f"{'' if year is None else f' in {year}'}; nothing was written")


def _new_part(folder: Path, name: str, staged: list[Path]) -> Path:
    """Create an empty hidden temporary file for ``name`` in ``folder``, appended to ``staged``
    *before* it exists, so that clean-up removes it whatever interrupts us."""
    for _ in range(100):
        part = folder / f".{name[:80]}.{os.urandom(6).hex()}{PART_SUFFIX}"
        staged.append(part)
        try:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
        except FileExistsError:
            staged.pop()  # someone else's file; never remove it
            continue
        os.close(fd)
        return part
    raise OutputError(f"{folder}: cannot create a temporary file")


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) until the block ends, then deliver it: the moves that put a set of
    files in place happen all or not at all. Outside the main thread it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(signal.SIGINT, None)
            elif previous == signal.SIG_DFL:
                signal.raise_signal(signal.SIGINT)


def _commit(staged: list[tuple[Path, Path]]) -> None:
    with deferred_interrupts():
        for part, final in staged:
            os.replace(part, final)


def _cleanup(parts: list[Path]) -> None:
    for part in parts:
        try:
            part.unlink(missing_ok=True)
        except OSError:
            pass


def prepare_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) if needed; refuse one that cannot be written."""
    if os.path.lexists(folder) and not folder.is_dir():
        raise OutputError(f"{folder}: exists and is not a folder; expected a folder for results")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the results folder ({exc.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise OutputError(f"{folder}: the results folder is not writable")


def write_all(
    folder: Path | str,
    writers: Mapping[str, Callable[[Path], None]],
    *,
    inputs: Iterable[Path | str] = (),
    datasets: Iterable[xr.Dataset] = (),
    option: str = "--output",
) -> list[Path]:
    """Write every file of ``writers`` (file name -> function that writes it to the path it is
    given) into ``folder``, all or none.

    Checked first, before the folder is created: ``folder``'s name, that it is not a file,
    that no target is a folder or one of ``inputs``, and that every value of ``datasets`` is
    finite. Returns the paths written.
    """
    inputs = list(inputs)
    folder = check_output_folder(folder, inputs=inputs, option=option)
    for name in writers:
        target = folder / name
        if os.path.lexists(target) and not target.is_file():
            raise OutputError(f"{target}: exists and is not a file; expected to write {name} here")
        check_not_input(target, inputs, option)
    check_finite(datasets)
    prepare_folder(folder)
    parts: list[Path] = []
    staged: list[tuple[Path, Path]] = []
    try:
        for name, write in writers.items():
            part = _new_part(folder, name, parts)
            staged.append((part, folder / name))
            write(part)
        _commit(staged)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot write the results ({exc.strerror or exc})") from None
    finally:
        _cleanup(parts)
    return [final for _, final in staged]


def write_file(
    path: Path | str,
    write: Callable[[Path], None],
    *,
    force: bool = False,
    inputs: Iterable[Path | str] = (),
    datasets: Iterable[xr.Dataset] = (),
    verify: Callable[[Path], object] | None = None,
    option: str = "--output",
) -> Path:
    """Write one file at ``path`` atomically: ``write`` fills a temporary file beside it,
    ``verify`` (when given) is called on that file and may raise to refuse it, then it replaces
    ``path``. The checks of :func:`check_output_file` come first; an existing file is replaced
    only with ``force``, and never when it is one of ``inputs``."""
    inputs = list(inputs)
    path = check_output_file(path, inputs=inputs, force=force, option=option)
    check_finite(datasets)
    folder = path.parent
    parts: list[Path] = []
    try:
        part = _new_part(folder, path.name, parts)
        write(part)
        if verify is not None:
            verify(part)
        check_output_file(path, inputs=inputs, force=force, option=option)  # appeared meanwhile?
        _commit([(part, path)])
    except OSError as exc:
        raise OutputError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    finally:
        _cleanup(parts)
    return path
