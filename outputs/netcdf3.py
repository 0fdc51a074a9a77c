"""A writer of NetCDF classic files (the 64-bit offset variant, CDF-2), with numpy alone.

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
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"CDF\x02"
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
