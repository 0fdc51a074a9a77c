"""Results as plain labelled arrays: what an ``xarray.Dataset`` of results holds, without xarray.

The command line writes and prints a scenario run from these (importing xarray and pandas takes
longer than the model takes to run); the Python API turns them into an ``xarray.Dataset`` with
:meth:`Labelled.to_dataset`. :meth:`Labelled.from_dataset` goes the other way, so the writers
take either. Only the few operations the writers and tables need are here: look-up by name,
taking one index along a dimension, and the conversions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import xarray as xr


@dataclass(frozen=True)
class Variable:
    """One labelled array: dimension names, values (a numpy array), attributes."""

    dims: tuple[str, ...]
    values: np.ndarray
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def dtype(self) -> np.dtype:
        return self.values.dtype

    @property
    def size(self) -> int:
        return int(self.values.size)

    @property
    def sizes(self) -> dict[str, int]:
        return dict(zip(self.dims, self.values.shape, strict=True))

    def take(self, dim: str, index: int) -> Variable:
        """The values at ``index`` along ``dim``, that dimension dropped (unchanged without it)."""
        if dim not in self.dims:
            return self
        axis = self.dims.index(dim)
        return Variable(self.dims[:axis] + self.dims[axis + 1:],
                        np.take(self.values, index, axis=axis), dict(self.attrs))

    def reduce(self, dim: str, how: Any) -> Variable:
        """``how(values, axis=...)`` over ``dim``, that dimension dropped."""
        axis = self.dims.index(dim)
        return Variable(self.dims[:axis] + self.dims[axis + 1:],
                        np.asarray(how(self.values, axis=axis)), dict(self.attrs))


class Labelled:
    """Coordinates and data variables (name -> :class:`Variable`, in order) and attributes."""

    def __init__(self, coords: Mapping[str, Variable], data_vars: Mapping[str, Variable],
                 attrs: Mapping[str, Any] | None = None) -> None:
        self.coords = dict(coords)
        self.data_vars = dict(data_vars)
        self.attrs: dict[str, Any] = dict(attrs or {})

    def __getitem__(self, name: str) -> Variable:
        if name in self.data_vars:
            return self.data_vars[name]
        return self.coords[name]

    def __contains__(self, name: object) -> bool:
        return name in self.data_vars or name in self.coords

    @property
    def dims(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for var in (*self.coords.values(), *self.data_vars.values()):
            sizes.update(var.sizes)
        return sizes

    @property
    def variables(self) -> dict[str, Variable]:
        return {**self.coords, **self.data_vars}

    def take(self, dim: str, index: int) -> Labelled:
        """Every variable at ``index`` along ``dim``; the dimension and its coordinate dropped
        (``Dataset.isel({dim: index}, drop=True)``)."""
        return Labelled({k: v.take(dim, index) for k, v in self.coords.items() if k != dim},
                        {k: v.take(dim, index) for k, v in self.data_vars.items()}, self.attrs)

    def copy(self) -> Labelled:
        """A copy whose attributes (its own and each variable's) can change on their own."""
        def copied(vs: Mapping[str, Variable]) -> dict[str, Variable]:
            return {k: Variable(v.dims, v.values, dict(v.attrs)) for k, v in vs.items()}

        return Labelled(copied(self.coords), copied(self.data_vars), dict(self.attrs))

    def to_dataset(self) -> xr.Dataset:
        import xarray as xr

        return xr.Dataset(
            {k: (v.dims, v.values, v.attrs) for k, v in self.data_vars.items()},
            coords={k: (v.dims, v.values, v.attrs) for k, v in self.coords.items()},
            attrs=self.attrs,
        )

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> Labelled:
        def plain(var: Any) -> Variable:
            return Variable(tuple(str(d) for d in var.dims), np.asarray(var.values),
                            dict(var.attrs))

        return cls({str(k): plain(v) for k, v in ds.coords.items()},
                   {str(k): plain(v) for k, v in ds.data_vars.items()}, dict(ds.attrs))


def labelled(ds: Labelled | xr.Dataset) -> Labelled:
    """``ds`` as :class:`Labelled` (converted when it is an ``xarray.Dataset``)."""
    return ds if isinstance(ds, Labelled) else Labelled.from_dataset(ds)
