"""An ensemble's block files: the spans of members they hold and their names, each written
whole or not at all (a temporary file renamed), and read back, a damaged or foreign file named
with what to do. :mod:`.blocks` checks that a block kept for ``--resume`` is this ensemble's."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .requests import STREAM_BLOCK, EnsembleError
from .results import OUTPUT_BY_NAME


def block_spans(n: int, size: int = STREAM_BLOCK) -> list[tuple[int, int]]:
    edges = [*range(0, n, size), n]
    return list(zip(edges[:-1], edges[1:], strict=True))


def block_name(span: tuple[int, int]) -> str:
    return f"block_{span[0]:011d}_{span[1]:011d}.nc"


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    temporary = None
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part",
                                         dir=path.parent)
        os.close(fd)
        write(Path(temporary))
        os.replace(temporary, path)
    except OSError as exc:  # named by the file meant, never by the temporary one
        raise EnsembleError(path, "", f"cannot be written ({exc.strerror or 'error'})") from None
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def write_block(path: Path, span: tuple[int, int], years: np.ndarray,
                 values: Mapping[str, np.ndarray], ok: np.ndarray, miss: np.ndarray,
                 parameters: Mapping[str, np.ndarray],
                 identity: Mapping[str, object] | None = None) -> None:
    """One finished block as a NetCDF classic file (``model.netcdf3``: a few header fields
    and the arrays, with none of HDF5's per-variable work; xarray reads it)."""
    from .netcdf3 import INT32, Array, write_netcdf3

    # sample numbers beyond 32 bits become doubles (exact to 2**53)
    sample = np.arange(*span, dtype=np.int64 if span[1] <= INT32.max else np.float64)
    arrays = {
        "year": Array(("year",), years, {}),
        "sample": Array(("sample",), sample, {}),
        "usable": Array(("sample",), ok.astype(np.int8), {}),
        "calibration_error": Array(("sample",), miss, {}),
    }
    for key, column in parameters.items():
        arrays[f"input:{key}"] = Array(("sample",), column, {})
    for name, v in values.items():
        dims = (("year", OUTPUT_BY_NAME[name].dim, "sample") if v.ndim == 3
                else ("year", "sample"))
        arrays[name] = Array(dims, v, {"units": OUTPUT_BY_NAME[name].unit})
    write_atomic(path, lambda target: write_netcdf3(target, arrays, dict(identity or {})))


def read_block(path: Path, names: Sequence[str], years: slice = slice(None),
                headers: dict[Path, dict] | None = None) -> list[np.ndarray]:
    """Variables ``names`` of a block file (of yearly ones, the years in ``years``); a
    damaged or foreign file is an :class:`EnsembleError` naming it. ``headers`` keeps each
    file's parsed header for the next read."""
    from .netcdf3 import NetCDFError, read_header, read_variable

    headers = {} if headers is None else headers
    try:
        if path not in headers:
            headers[path] = read_header(path)[0]
        return [read_variable(path, name, headers[path], years) for name in names]
    except (OSError, NetCDFError) as e:
        raise EnsembleError(path, "", f"not a readable block file ({e}); delete it to run "
                            "its block again") from None
