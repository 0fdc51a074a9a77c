"""Writing output files: all at once or not at all, never over an input, never half-written.

Every command that writes files goes through this module, so that each inherits the same
rules:

- :func:`parse_output` is the ``parser=`` of every ``--output``/``-o`` option: an empty value
  (an unset shell variable), a name that is not UTF-8, has a control character or is too long
  is a usage error (one line, exit 2) before anything runs.
- :func:`check_output_folder` / :func:`check_output_file` refuse an output that is a file where
  a folder is expected (and the reverse), or that is one of the run's inputs (a scenario or a
  file it extends), before any work is done.
- :func:`check_replaceable` decides, before the work, whether a folder's earlier results may
  be replaced: a folder the tool made for the same scenario files (the ``made_for`` of its
  sidecar) is the tool's to replace on a rerun, whatever was edited; other results, and files
  the tool did not write, are kept unless ``--force``. The earlier result's own files that the
  new one does not write (charts of outputs no longer asked for) are removed when it is
  replaced.
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
from dataclasses import dataclass
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
    _check_reachable(folder)
    return folder


def _check_reachable(folder: Path) -> None:
    """Refuse a folder that could not be created or written: below a file, or whose nearest
    existing folder (itself, or the parent it would be created in) is not writable."""
    existing = Path(os.path.abspath(folder))
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"{folder}: cannot be created, {existing} is a file, not a folder")
    problem = _write_problem(existing)
    if problem:
        what = "is not writable" if existing == Path(os.path.abspath(folder)) else (
            f"cannot be created in {existing}, which is not writable")
        raise OutputError(f"{folder}: {what} ({problem}); choose another folder")


def _write_problem(folder: Path) -> str | None:
    """Why no file can be created in ``folder`` (tried with a hidden empty file, removed at
    once: permission bits say nothing to root or of a read-only file system), or None."""
    probe = folder / f".projection-write-test-{os.urandom(6).hex()}"
    ours = True  # removed whatever stops us once it may exist
    with deferred_interrupts():
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:  # someone's file of that name: never removed
            ours = False
        except OSError as exc:
            ours = False
            return exc.strerror or type(exc).__name__
        finally:
            if ours:
                try:
                    os.unlink(probe)
                except OSError:
                    pass
    return None


def check_output_targets(folder: Path, files: Iterable[str] = (),
                         folders: Iterable[str] = ()) -> None:
    """Before any work: refuse when a file about to be written into ``folder`` is a folder (or
    anything but a regular file), or when a sub-folder it needs is a file."""
    for name in files:
        target = folder / name
        if os.path.lexists(target) and not target.is_file():
            raise OutputError(f"{target}: exists and is not a file; expected to write {name} "
                              "here; move it or choose another folder with -o")
    for name in folders:
        target = folder / name
        if os.path.lexists(target) and (target.is_symlink() or not target.is_dir()):
            raise OutputError(f"{target}: exists and is not a folder; the command keeps its "
                              f"{name} there; move it or choose another folder with -o")
        problem = _write_problem(target) if target.is_dir() else None
        if problem:
            raise OutputError(f"{target}: is not writable ({problem}); choose another folder")


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
    """Hold Ctrl-C (SIGINT) and SIGTERM until the block ends, then deliver the first that came:
    the moves that put a set of files in place happen all or not at all. Outside the main
    thread it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    signums = [s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None]
    previous = {s: signal.signal(s, lambda signum, frame: received.append(signum))
                for s in signums}
    try:
        yield
    finally:
        for s in signums:
            signal.signal(s, previous[s])
        if received:
            first = received[0]
            handler = previous[first]
            if callable(handler):
                handler(first, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(first)


def _commit(staged: list[tuple[Path, Path]], stale: Iterable[Path] = ()) -> None:
    with deferred_interrupts():
        for part, final in staged:
            os.replace(part, final)
        for path in stale:
            try:
                if path.is_symlink() or path.is_file():
                    path.unlink()
            except OSError:
                pass  # an earlier result's leftover: not worth failing a written result for


# --- replacing earlier results ---------------------------------------------------------------

MADE_FOR = "made_for"
"""The sidecar field naming the scenario files a result folder was made for, relative to the
folder (so that moving the project keeps them)."""
FILES = "files"
"""The sidecar field listing the files a result wrote into its folder."""


def made_for(folder: Path, scenario_paths: Iterable[Path | str]) -> list[str]:
    """The scenario files named on the command line, as ``made_for`` records them."""
    base = os.path.realpath(folder)
    return [os.path.relpath(os.path.realpath(p), base) for p in scenario_paths]


def _is_plain_name(name: object) -> bool:
    return (isinstance(name, str) and bool(name) and name not in (".", "..")
            and "/" not in name and "\\" not in name and not name.startswith(".")
            and path_name_problem(name) is None)


def read_record(path: Path) -> dict | None:
    """A result sidecar's JSON object, or None when it is missing or cannot be read as one."""
    import json

    from projection.model.errors import InputError
    from projection.model.safe_io import read_text

    if not path.is_file():
        return None
    try:
        record = json.loads(read_text(path, what="a results sidecar (.json)"))
    except (InputError, ValueError):
        return None
    return record if isinstance(record, dict) else None


@dataclass(frozen=True)
class Replacing:
    """What writing into a folder will replace: whether the folder's results are this
    command's own (made for the same scenario files), and the earlier result's files that the
    new one must remove (:func:`write_all`'s ``stale``)."""

    ours: bool
    stale: tuple[str, ...] = ()


def check_replaceable(folder: Path, *, sidecar: str, names: Iterable[str],
                      scenario_paths: Iterable[Path | str], force: bool,
                      same_inputs: Callable[[dict], bool] | None = None) -> Replacing:
    """Before any work: may results go into ``folder``, where ``names`` would be written?

    Yes when none of ``names`` is there; when the folder's ``sidecar`` says it was made for
    the same ``scenario_paths`` (the same files, whatever they now hold or whatever options
    and overrides were given; ``same_inputs`` also accepts a sidecar written before
    ``made_for`` was recorded); or with ``force``. Otherwise :class:`OutputError`, one line.
    """
    if not folder.is_dir():
        return Replacing(ours=False)
    present = [n for n in names if os.path.islink(folder / n) or os.path.isfile(folder / n)]
    record = read_record(folder / sidecar)
    ours = False
    if record is not None:
        recorded = record.get(MADE_FOR)
        if isinstance(recorded, list) and all(isinstance(r, str) for r in recorded):
            theirs = [os.path.realpath(folder / r) for r in recorded]
            ours = theirs == [os.path.realpath(p) for p in scenario_paths]
        elif same_inputs is not None:
            ours = same_inputs(record)
    if present and not ours and not force:
        shown_names = ", ".join(present[:4]) + (", ..." if len(present) > 4 else "")
        why = ("made from other inputs (another scenario file)" if record is not None
               else "that this command did not write")
        raise OutputError(f"{folder}: holds results ({shown_names}) {why}; use --force to "
                          "replace them, or another output folder")
    if record is None or not (ours or force):
        return Replacing(ours=ours)
    listed = record.get(FILES)
    stale = tuple(n for n in (listed if isinstance(listed, list) else []) if _is_plain_name(n))
    return Replacing(ours=ours, stale=stale)


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
    stale: Iterable[str] = (),
) -> list[Path]:
    """Write every file of ``writers`` (file name -> function that writes it to the path it is
    given) into ``folder``, all or none; then remove the files named in ``stale`` (an earlier
    result's own, see :func:`check_replaceable`) that were not written again.

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
        leftovers = [folder / n for n in dict.fromkeys(stale)
                     if n not in writers and _is_plain_name(n)]
        _commit(staged, [p for p in leftovers if not any(_same_file(p, Path(i)) for i in inputs)])
    except OSError as exc:
        target = _meant(exc, staged, folder)
        raise OutputError(f"{target}: cannot be written ({exc.strerror or 'error'}); nothing "
                          "was written") from None
    except ProjectionError as exc:  # a writer's own error: about the file meant
        if _real_names(str(exc), staged) == str(exc):
            raise
        raise OutputError(_real_names(str(exc), staged)) from None
    finally:
        _cleanup(parts)
    return [final for _, final in staged]


def _meant(exc: OSError, staged: list[tuple[Path, Path]], fallback: Path) -> Path:
    """The file a failed write was meant for (never its temporary name)."""
    for part, final in staged:
        if exc.filename is not None and os.fspath(exc.filename) in (str(part), str(final)):
            return final
    return staged[-1][1] if staged else fallback


def _real_names(message: str, staged: list[tuple[Path, Path]]) -> str:
    """``message`` with every temporary file name replaced by the name of the file meant."""
    for part, final in staged:
        message = message.replace(str(part), str(final)).replace(part.name, final.name)
    return message


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
        raise OutputError(f"{path}: cannot be written ({exc.strerror or 'error'})") from None
    except ProjectionError as exc:  # a writer's or verifier's own error: about the file meant
        if not parts or _real_names(str(exc), [(parts[0], path)]) == str(exc):
            raise
        raise OutputError(_real_names(str(exc), [(parts[0], path)])) from None
    finally:
        _cleanup(parts)
    return path
