"""Checks of an ensemble request (``projection uncertainty``, ``sensitivity``, ``sweep`` and
the Python API) made before any work: the backend, the percentiles, and whether the members'
arrays and block files fit in memory and on disk (``model.budget``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from . import budget
from .errors import InputError
from .integrate import BLOCK_SAMPLES
from .parameters import WORKLOADS
from .scenario import _suggest

STREAM_BLOCK = 10 * BLOCK_SAMPLES
"""Samples per block written to disk: a multiple of the engine's block, so that every engine
block but the very last has one shape (a compiled backend then loads one program)."""


class EnsembleError(InputError):
    """An ensemble request that cannot be run (no uncertain parameter, a bad option, a folder
    that holds another ensemble); ``str()`` names the option and what was expected."""

    def __init__(self, where: Path | str, key: str, message: str) -> None:
        super().__init__(where, key, message)


def _error(where: Path | str, key: str, message: str) -> Exception:
    return EnsembleError(where, key, message)


PER_WORKLOAD_OUTPUTS = ("ai_requests_per_day", "request_share", "energy_per_request")
"""Outputs with a value per workload (five values a member and year)."""


def values_per_year(outputs: Sequence[str]) -> int:
    """Values a member keeps per year for ``outputs``."""
    return sum(len(WORKLOADS) if name in PER_WORKLOAD_OUTPUTS else 1 for name in outputs)


def check_percentiles(percentiles: Iterable[float]) -> tuple[float, ...]:
    """Percentiles: one or more distinct numbers from 0 to 100, returned in increasing order."""
    if isinstance(percentiles, str):
        raise _error("percentiles", percentiles, "expected numbers from 0 to 100")
    try:
        given = list(percentiles)
    except TypeError:
        raise _error("percentiles", repr(percentiles)[:40], "expected a sequence of "
                            "numbers from 0 to 100") from None
    out = []
    for q in given:
        if isinstance(q, bool) or not isinstance(q, (int, float, np.integer, np.floating)) \
                or not 0.0 <= float(q) <= 100.0:
            raise _error("percentiles", repr(q)[:40], "expected a number from 0 to 100")
        out.append(float(q))
    if not out:
        raise _error("percentiles", "[]", "expected at least one percentile")
    if len(set(out)) != len(out):
        raise _error("percentiles", str(given)[:60], "a percentile is given twice")
    return tuple(sorted(out))


def check_backend(backend: object, option: str = "backend") -> str:
    """``backend`` if it names an engine that can run here, else a one-line error naming
    ``option`` (the compiled engines need the 'fast' extra)."""
    from .ensemble import BACKENDS

    if not isinstance(backend, str) or backend not in BACKENDS:
        raise _error(option, repr(backend)[:40] if not isinstance(backend, str)
                            else backend, f"expected one of {', '.join(BACKENDS)}"
                            f"{_suggest(str(backend), BACKENDS)}")
    needs = {"xla": "jax", "numba": "numba"}
    if backend in needs:
        import importlib.util

        if importlib.util.find_spec(needs[backend]) is None:
            raise _error(option, backend, f"needs {needs[backend]}: pip install "
                                "'projection[fast]'")
    return backend


def check_fits(d, outputs: Sequence[str], folder: Path | None) -> None:
    """Refuse, before any work, an ensemble whose arrays or block files cannot fit (memory
    and disk estimated from the member count; see ``model.budget``)."""
    memory, disk = budget.ensemble_needs(d.samples, len(d.scenario.years),
                                         values_per_year(outputs), len(d.keys),
                                         folder is not None, STREAM_BLOCK,
                                         max(values_per_year([o]) for o in outputs))
    budget.check_memory("--samples", d.samples, memory,
                        "the members in flight and one year of one output across all of "
                        "them for the percentiles" if folder is not None
                        else "every member's outputs held in memory", EnsembleError)
    if folder is not None:
        budget.check_disk("--samples", d.samples, disk, folder, "the members' block files",
                          EnsembleError)
