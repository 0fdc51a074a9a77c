"""What a request for an ensemble, a sensitivity analysis or a sweep needs, checked before it
starts: memory, disk, and numbers in the ranges the code and the files can hold.

The estimates count the arrays a run must hold at once (for a streamed ensemble: one block
and one year of one output across every member while the percentiles are taken; for a
sensitivity analysis or a sweep: every run's kept outputs, the design and SALib's bootstrap),
not the interpreter or the libraries. A request whose estimate exceeds what the machine has
available (``MemAvailable`` of /proc/meminfo, or the physical memory where that cannot be
read; the free space of the folder's file system) is refused with both figures, so that a
typing slip of a few zeros fails in a moment rather than after hours, by an out-of-memory kill
or with a disk full of blocks.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import InputError, whole_number

SEED_MAX = 2**32 - 1
"""Largest seed: the range numpy's legacy seeding (used inside SALib) accepts, and a value a
NetCDF classic attribute (a double) records exactly in every output file."""
SAMPLES_MAX = 2**53
"""Largest count of members, runs or grid points anyone could ask for: sample numbers are
stored in the block files as doubles, exact to 2**53. Memory and disk refuse far smaller
counts on any real machine; this bound only keeps the arithmetic exact."""
BYTES_PER_VALUE = 8
ENGINE_BYTES_PER_MEMBER = 16 * 1024
"""Working memory of the engine per member of an engine block in flight (state, rates,
Runge-Kutta stages and every recorded variable: an assumption rounded up from the 1.1 GiB of
tables that 100,000 members x 7 years with every output kept need, about 11 KiB a member;
README, "For developers")."""
COPIES = 3
"""Copies of the kept outputs held at once (a block's result, the joined arrays, the masked
copy)."""


class BudgetError(InputError):
    """A request that cannot fit: ``str()`` names the option, what it needs and what there is.
    The checks take the caller's error class (``error=``), as ``model.safe_io`` does."""

    def __init__(self, option: str, value: object, message: str) -> None:
        super().__init__(option, str(value), message)


def size_text(n: float) -> str:
    """Bytes as a reader reads them: '512 MiB', '7.5 GiB', '58,000 TiB'."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            if unit == "bytes":
                return f"{int(n)} bytes"
            return f"{n:.3g} {unit}" if n < 1000 else f"{n:,.0f} {unit}"
        n /= 1024
    return f"{n:,.0f} TiB"


def available_memory() -> int:
    """Bytes of memory this process may still use: ``MemAvailable`` (Linux), else the
    physical memory."""
    try:
        with open("/proc/meminfo", "rb") as fh:
            for line in fh.read(1 << 16).decode("ascii", "replace").splitlines():
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 2**63


def free_disk(folder: Path) -> int:
    """Free bytes on the file system that holds ``folder`` (or its nearest existing parent)."""
    folder = Path(os.path.abspath(folder))
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return 2**63


def count(option: str, value: object, low: int = 1, high: int = SAMPLES_MAX,
          what: str = "a whole number", error: type[InputError] = BudgetError) -> int:
    """``value`` as an ``int`` in ``low``..``high`` (numpy integers and integral floats
    accepted), else a one-line ``error`` (the caller's class) naming ``option``."""
    number = whole_number(value)
    if number is None:
        raise error(option, _brief(value), f"expected {what} from {low:,} to {high:,}")
    if number < low:
        raise error(option, _brief(number), f"expected {what} of at least {low:,}")
    if number > high:
        raise error(option, _brief(number), f"expected {what} of at most {high:,}")
    return number


def seed(value: object, option: str = "--seed", error: type[InputError] = BudgetError) -> int:
    """A seed in 0..``SEED_MAX``."""
    return count(option, value, 0, SEED_MAX, "a whole number", error)


def _brief(value: object, limit: int = 40) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_memory(option: str, value: object, need: float, what: str,
                 error: type[InputError] = BudgetError) -> None:
    """Refuse a request whose arrays (``need`` bytes) exceed the available memory."""
    have = available_memory()
    if need > have:
        raise error(option, f"{value:,}" if isinstance(value, int) else str(value),
                    f"needs about {size_text(need)} of memory ({what}); "
                          f"{size_text(have)} is available; ask for fewer")


def check_disk(option: str, value: object, need: float, folder: Path, what: str,
               error: type[InputError] = BudgetError) -> None:
    """Refuse a request whose files (``need`` bytes) exceed the free space under ``folder``."""
    have = free_disk(folder)
    if need > have:
        raise error(option, f"{value:,}" if isinstance(value, int) else str(value),
                          f"needs about {size_text(need)} of disk in {folder} ({what}); "
                          f"{size_text(have)} is free; ask for fewer")


def ensemble_needs(samples: int, years: int, values_per_year: int, inputs: int,
                   streamed: bool, block: int, widest: int = 1) -> tuple[float, float]:
    """(memory, disk) in bytes of an ensemble of ``samples`` members over ``years`` years that
    keeps ``values_per_year`` values per member and year (a workload output counts five, and
    ``widest`` is the most values one output has a year) and draws ``inputs`` parameters;
    ``streamed`` writes blocks of ``block`` members to disk."""
    per_member_kept = years * values_per_year * BYTES_PER_VALUE
    per_member_file = per_member_kept + (inputs + 3) * BYTES_PER_VALUE
    in_flight = min(samples, 2 * block) * COPIES * per_member_kept + _engine(samples)
    if streamed:  # the percentiles read one year of one output at a time, and sort a copy
        percentile_pass = samples * widest * BYTES_PER_VALUE * 2
        return in_flight + percentile_pass, samples * per_member_file
    return in_flight + samples * per_member_kept * COPIES, 0.0


def runs_needs(runs: int, years: int, values_per_year: int, inputs: int,
               resamples: int = 0, base: int = 0) -> float:
    """Memory in bytes of ``runs`` model runs kept whole (a sensitivity design or a sweep):
    the design and its draws, the outputs of every run, and a bootstrap of ``resamples``
    over ``base`` rows (SALib's confidence intervals)."""
    design = runs * inputs * BYTES_PER_VALUE * 2
    kept = runs * years * values_per_year * BYTES_PER_VALUE * COPIES
    bootstrap = base * resamples * BYTES_PER_VALUE * 6
    return design + kept + bootstrap + _engine(runs)


def _engine(members: int) -> float:
    """The engine's working memory: one engine block per core at a time."""
    from .integrate import BLOCK_SAMPLES

    return min(members, (os.cpu_count() or 1) * BLOCK_SAMPLES) * ENGINE_BYTES_PER_MEMBER
