"""A writer and a reader of NetCDF classic files (the 64-bit offset variant, CDF-2), with numpy
alone.

The format is the one netCDF-C, netCDF4-python, scipy.io and xarray read as "NETCDF3_64BIT"
(Unidata, "The NetCDF Classic Format Specification", NetCDF Users Guide, section "File
Format Specifications"). It needs no HDF5 library: writing a scenario's results takes a
millisecond, where importing h5py and building an HDF5 file take longer than the model run.

What it writes: fixed-size dimensions (no record dimension), variables of the classic types
(byte, short, int, float, double, char) with their attributes, and global attributes. Text
(attributes and string arrays) is UTF-8; a string array becomes a char array with a trailing
``string<N>`` dimension and ``_Encoding = "utf-8"``, as xarray writes and reads it. 64-bit
integers are stored as 32-bit ones when every value fits (the classic format has no 64-bit
integers) and refused otherwise in variables; in attributes they become doubles.

What it reads: the same files (the ensemble's block files among them), one variable at a time
without reading the others (:func:`read_header`, :func:`read_variable`). Every length and
offset in the header is checked against the file, so a truncated or foreign file gives a
:class:`NetCDFError` that says what is wrong, never a wrong array.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"CDF\x02"
MAGIC_CLASSIC = b"CDF\x01"  # 32-bit offsets; read, never written
NC_DIMENSION, NC_VARIABLE, NC_ATTRIBUTE = 10, 11, 12
NC_BYTE, NC_CHAR, NC_SHORT, NC_INT, NC_FLOAT, NC_DOUBLE = 1, 2, 3, 4, 5, 6
TYPES = {  # numpy dtype (big-endian) -> classic type
    np.dtype(">i1"): NC_BYTE, np.dtype("S1"): NC_CHAR, np.dtype(">i2"): NC_SHORT,
    np.dtype(">i4"): NC_INT, np.dtype(">f4"): NC_FLOAT, np.dtype(">f8"): NC_DOUBLE,
}
INT32 = np.iinfo(np.int32)


@dataclass(frozen=True)
class Array:
    """One variable to write: dimension names, values, attributes (in order)."""

    dims: tuple[str, ...]
    values: np.ndarray
    attrs: Mapping[str, Any]


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _name(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack(">i", len(raw)) + _pad(raw)


def _classic(values: Any) -> np.ndarray:
    """``values`` as a big-endian array of a classic type (text as UTF-8 bytes, ``S1``)."""
    if isinstance(values, str):
        return np.frombuffer(values.encode("utf-8"), dtype="S1")
    if isinstance(values, bytes):
        return np.frombuffer(values, dtype="S1")
    array = np.asarray(values)
    kind, size = array.dtype.kind, array.dtype.itemsize
    if kind == "b":
        return array.astype(">i1")
    if kind in "iu":
        if size < 4 and kind == "i":
            return array.astype(f">i{size}")
        if array.size and (array.min() < INT32.min or array.max() > INT32.max):
            raise ValueError("an integer beyond 32 bits cannot be stored in a NetCDF classic file")
        return array.astype(">i4")
    if kind == "f":
        return array.astype(">f4" if size == 4 else ">f8")
    raise TypeError(f"no NetCDF classic type for {array.dtype}")


def _attributes(attrs: Mapping[str, Any]) -> bytes:
    if not attrs:
        return struct.pack(">ii", 0, 0)
    parts = [struct.pack(">ii", NC_ATTRIBUTE, len(attrs))]
    for key, value in attrs.items():
        try:
            array = np.atleast_1d(_classic(value))
        except ValueError:  # an integer beyond 32 bits: a double holds it exactly to 2**53
            array = np.atleast_1d(np.asarray(value, dtype=">f8"))
        parts += [_name(key), struct.pack(">ii", TYPES[array.dtype], array.size),
                  _pad(array.tobytes())]
    return b"".join(parts)


def _strings(array: np.ndarray) -> tuple[np.ndarray, int]:
    """A string array as UTF-8 bytes, one more axis of single characters; and its length."""
    encoded = [str(s).encode("utf-8") for s in array.ravel()]
    width = max([len(e) for e in encoded] + [1])
    chars = np.array(encoded, dtype=f"S{width}").reshape(array.shape)
    return chars.view("S1").reshape(*array.shape, width), width


def write_netcdf3(path: Path | str, variables: Mapping[str, Array],
                  attrs: Mapping[str, Any]) -> None:
    """Write ``variables`` (name -> :class:`Array`, coordinates first by convention) and the
    global ``attrs`` to ``path`` as a NetCDF 64-bit offset file."""
    dims: dict[str, int] = {}
    prepared: list[tuple[str, tuple[str, ...], np.ndarray, dict[str, Any]]] = []
    for name, var in variables.items():
        values = np.asarray(var.values)
        var_dims, var_attrs = tuple(var.dims), dict(var.attrs)
        if values.dtype.kind in "UOS":
            values, width = _strings(values)
            string_dim = f"string{width}"
            var_dims = (*var_dims, string_dim)
            var_attrs = {"_Encoding": "utf-8", **var_attrs}
        else:
            values = _classic(values)
        if len(var_dims) != values.ndim:
            raise ValueError(f"{name}: {len(var_dims)} dimension names for {values.ndim} axes")
        for dim, size in zip(var_dims, values.shape, strict=True):
            if dims.setdefault(dim, size) != size:
                raise ValueError(f"{name}: dimension {dim} has sizes {dims[dim]} and {size}")
        prepared.append((name, var_dims, values, var_attrs))
    dim_ids = {dim: i for i, dim in enumerate(dims)}

    def header(begins: Sequence[int]) -> bytes:
        parts = [MAGIC, struct.pack(">i", 0)]  # no records
        if dims:
            parts.append(struct.pack(">ii", NC_DIMENSION, len(dims)))
            parts += [_name(d) + struct.pack(">i", n) for d, n in dims.items()]
        else:
            parts.append(struct.pack(">ii", 0, 0))
        parts.append(_attributes(attrs))
        if prepared:
            parts.append(struct.pack(">ii", NC_VARIABLE, len(prepared)))
        else:
            parts.append(struct.pack(">ii", 0, 0))
        for (name, var_dims, values, var_attrs), begin in zip(prepared, begins, strict=True):
            vsize = values.nbytes + (-values.nbytes % 4)
            parts += [_name(name), struct.pack(">i", len(var_dims)),
                      struct.pack(f">{len(var_dims)}i", *(dim_ids[d] for d in var_dims)),
                      _attributes(var_attrs),
                      struct.pack(">iiq", TYPES[values.dtype], min(vsize, INT32.max), begin)]
        return b"".join(parts)

    offset = len(header([0] * len(prepared)))
    begins = []
    for _, _, values, _ in prepared:
        begins.append(offset)
        offset += values.nbytes + (-values.nbytes % 4)
    with open(path, "wb") as fh:
        fh.write(header(begins))
        for _, _, values, _ in prepared:
            fh.write(_pad(values.tobytes()))


# --- reading ------------------------------------------------------------------------------------

class NetCDFError(ValueError):
    """A file that is not a NetCDF classic file this module can read; ``str()`` says why."""


@dataclass(frozen=True)
class Variable:
    """Where one variable's values lie in a file: its dimensions, shape, type and offset."""

    dims: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: np.dtype
    begin: int
    attrs: dict[str, Any]


_DTYPES = {code: dtype for dtype, code in TYPES.items()}


class _Cursor:
    """Reads the header's big-endian fields, refusing to run past its end."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, n: int) -> bytes:
        if n < 0:
            raise NetCDFError("a length in the header is negative")
        if self.at + n > len(self.data):
            raise _Short("the header is truncated")
        out = self.data[self.at:self.at + n]
        self.at += n
        return out

    def int32(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def int64(self) -> int:
        return struct.unpack(">q", self.take(8))[0]

    def name(self) -> str:
        n = self.int32()
        raw = self.take(n + (-n % 4))[:n]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise NetCDFError("a name in the header is not UTF-8") from None

    def count(self, tag: int) -> int:
        found, n = self.int32(), self.int32()
        if (found, n) == (0, 0):
            return 0
        if found != tag or n < 0:
            raise NetCDFError("the header's lists are not in the NetCDF classic layout")
        return n

    def values(self) -> Any:
        code, n = self.int32(), self.int32()
        if code not in _DTYPES or n < 0:
            raise NetCDFError("an attribute of unknown type")
        dtype = _DTYPES[code]
        raw = self.take(n * dtype.itemsize + (-(n * dtype.itemsize) % 4))[:n * dtype.itemsize]
        if dtype.kind == "S":
            return raw.decode("utf-8", errors="replace")
        array = np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="))
        return array[0].item() if n == 1 else array

    def attributes(self) -> dict[str, Any]:
        return {self.name(): self.values() for _ in range(self.count(NC_ATTRIBUTE))}


HEADER_LIMIT = 1 << 24
"""Largest header read (16 MiB): the files this project writes have headers of a few kB."""


def read_header(path: Path | str) -> tuple[dict[str, Variable], dict[str, Any]]:
    """The variables (name -> :class:`Variable`) and global attributes of a file written as
    NetCDF classic without a record dimension. Raises :class:`NetCDFError` (or OSError)."""
    with _open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        length = min(size, 1 << 16)  # the header is read, not the whole file
        while True:
            fh.seek(0)
            data = fh.read(length)
            try:
                return _parse_header(data, size)
            except _Short:
                if length >= min(size, HEADER_LIMIT):
                    raise NetCDFError("the header is truncated") from None
                length = min(size, HEADER_LIMIT, length * 16)


def _open_regular(path: Path | str):
    """``path`` opened for reading if it is a regular file; a pipe, a device, a socket or a
    folder is refused without blocking (opened non-blocking, then checked)."""
    import stat

    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NetCDFError("not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class _Short(NetCDFError):
    """The bytes read so far end inside the header."""


def _parse_header(data: bytes, size: int) -> tuple[dict[str, Variable], dict[str, Any]]:
    if data[:4] not in (MAGIC, MAGIC_CLASSIC):
        raise NetCDFError("not a NetCDF classic file")
    wide = data[:4] == MAGIC
    cursor = _Cursor(data)
    cursor.take(4)
    if cursor.int32() != 0:
        raise NetCDFError("has a record dimension, which this reader does not read")
    dims = []
    for _ in range(cursor.count(NC_DIMENSION)):
        name, length = cursor.name(), cursor.int32()
        if length <= 0:
            raise NetCDFError(f"dimension {name!r} is unlimited or of negative size")
        dims.append((name, length))
    attrs = cursor.attributes()
    variables = {}
    for _ in range(cursor.count(NC_VARIABLE)):
        name = cursor.name()
        ids = [cursor.int32() for _ in range(cursor.int32())]
        if any(not 0 <= i < len(dims) for i in ids):
            raise NetCDFError(f"variable {name!r} names a dimension that does not exist")
        var_attrs = cursor.attributes()
        code = cursor.int32()
        cursor.int32()  # vsize: recomputed from the shape (it saturates for large variables)
        begin = cursor.int64() if wide else cursor.int32()
        if code not in _DTYPES:
            raise NetCDFError(f"variable {name!r} has an unknown type")
        shape = tuple(dims[i][1] for i in ids)
        dtype = _DTYPES[code]
        if begin < cursor.at or begin + math.prod(shape) * dtype.itemsize > size:
            raise NetCDFError(f"variable {name!r} lies beyond the end of the file (truncated?)")
        variables[name] = Variable(tuple(dims[i][0] for i in ids), shape, dtype, begin,
                                   var_attrs)
    return variables, attrs


def read_variable(path: Path | str, name: str, header: Mapping[str, Variable] | None = None,
                  rows: slice = slice(None)) -> np.ndarray:
    """The values of variable ``name`` in native byte order (text stays bytes, ``S1``), only
    ``rows`` of its first axis read from the file. ``header`` from :func:`read_header` of the
    same file saves reading it again."""
    variables = read_header(path)[0] if header is None else header
    if name not in variables:
        raise NetCDFError(f"has no variable {name!r}")
    var = variables[name]
    if var.shape and rows.step not in (None, 1):  # read every row, keep the ones asked for
        return np.ascontiguousarray(read_variable(path, name, variables)[rows])
    first = range(var.shape[0])[rows] if var.shape else range(1)  # a scalar: its one value
    row = math.prod(var.shape[1:])
    count = len(first) * row
    shape = (len(first), *var.shape[1:]) if var.shape else ()
    with _open_regular(path) as fh:
        fh.seek(var.begin + first.start * row * var.dtype.itemsize)
        values = np.fromfile(fh, dtype=var.dtype, count=count)
    if values.size != count:
        raise NetCDFError(f"variable {name!r} is truncated")
    return values.astype(var.dtype.newbyteorder("="), copy=False).reshape(shape)
