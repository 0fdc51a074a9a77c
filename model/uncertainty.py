"""Ensembles over a scenario's declared uncertainty: Monte Carlo percentiles.

:func:`uncertainty` draws every declared distribution (``model.sampling``), runs the members
through the vectorised engine in blocks and returns percentiles of the chosen yearly outputs.
With a folder, each finished block is written to its own NetCDF file as it completes and only
the chosen outputs are kept, so memory stays bounded whatever the sample count, and an
interrupted run resumes from its last finished block with the same result. The block files
themselves are :mod:`.block_files`' and the workers :mod:`.pools`'. Sweeps, a grid
over one or two parameters whose axes become dimensions of the result, are :mod:`.sweep`'s.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import budget
from .block_files import block_name, block_spans, read_block, write_atomic, write_block, write_text
from .blocks import block_identity, check_block
from .ensemble import parameter_samples, simulate
from .integrate import CALIBRATION_TOLERANCE
from .parameters import WORKLOADS
from .pools import local_pool, xla_workers  # noqa: F401  (xla_workers: re-exported)
from .requests import STREAM_BLOCK, EnsembleError
from .results import OUTPUT_BY_NAME, third_coords
from .sampling import METHODS, Distribution, sample
from .scenario import Scenario, _suggest, all_keys

HEADLINE_OUTPUTS: tuple[str, ...] = (
    "facility_energy",
    "ai_facility_energy",
    "share_of_us_electricity",
    "ai_share_of_household_electricity",
    "operating_capacity",
    "data_centres",
    "ai_requests_per_day_total",
    "water_consumption",
    "emissions",
    "deferred_load",
)
"""The outputs an ensemble keeps unless told otherwise: the terminal's headline figures."""
PERCENTILES: tuple[float, ...] = (5.0, 25.0, 50.0, 75.0, 95.0)
IN_FLIGHT = 2
"""Blocks of an ensemble submitted at once: while the engine runs one, the next one's inputs
are checked and its engine blocks queue behind, so the cores do not wait between blocks for
the serial steps around the engine (checking the samples, joining and masking the outputs)."""
PERCENTILE_PASS_BYTES = 128 * 2**20
"""Most bytes of one output held at once while the percentiles are computed from disk."""
BLOCKS_FOLDER = "ensemble"
MANIFEST = "manifest.json"
USABLE = "usable"
"""The block variable (and in-memory entry) that flags each usable member with 1."""
LEFT_OUT = ("members whose run is not finite or whose start year misses its calibration "
            "targets")
"""Which members the percentiles leave out (recorded in an ensemble's manifest)."""


# --- what to sample ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Design:
    """The samples of an ensemble: which keys vary, how they are drawn, how many."""

    scenario: Scenario
    keys: tuple[str, ...]
    distributions: tuple[Distribution, ...]
    rank: np.ndarray | None
    method: str
    seed: int
    samples: int

    def values(self, start: int = 0, stop: int | None = None) -> dict[str, np.ndarray]:
        """Samples ``start``..``stop``: key -> values in SI base units as given."""
        table = sample(self.distributions, self.method, self.seed, self.samples, self.rank,
                       start, stop)
        return {k: table[:, j] for j, k in enumerate(self.keys)}

    def record(self) -> dict[str, object]:
        """Everything that fixes the samples, for provenance and for resuming."""
        resolved = self.scenario.resolved()
        return {
            "scenario_sha256": self.scenario.sha256,
            "method": self.method,
            "seed": self.seed,
            "samples": self.samples,
            "distributions": {k: {n: v for n, v in resolved[k].items() if n != "file"}
                              for k in self.keys},
            "rank_correlations": {f"{a} ~ {b}": r
                                  for (a, b), r in sorted(self.scenario.correlations.items())},
            "start_year": self.scenario.start_year,
            "end_year": self.scenario.end_year,
            "substeps_per_year": self.scenario.substeps_per_year,
        }


def as_scenario(scenario: Scenario | str | Path) -> Scenario:
    """A loaded scenario, or the one a shipped name or a ``.toml`` path names."""
    if isinstance(scenario, Scenario):
        return scenario
    from .scenario import find_scenario, load_scenario

    return load_scenario(find_scenario(scenario))


def design(scenario: Scenario, samples: int, seed: int = 0, method: str = "lhs",
           only: Iterable[str] | None = None) -> Design:
    """Every declared distribution of ``scenario`` (or the keys in ``only``), drawn ``samples``
    times by ``method`` (lhs, sobol or random) from ``seed``."""
    if method not in METHODS:
        raise EnsembleError("--method", method, f"expected one of {', '.join(METHODS)}"
                            f"{_suggest(method, METHODS)}")
    samples = budget.count("--samples", samples, error=EnsembleError)
    seed = budget.seed(seed, error=EnsembleError)
    declared = scenario.distributions()
    keys = list(declared) if only is None else list(only)
    for key in keys:
        if key not in declared:
            hint = (" has no declared distribution (give it low and high in the scenario)"
                    if key in scenario.entries else f": unknown key{_suggest(key, all_keys())}")
            raise EnsembleError(scenario.path, key, hint.strip(": "))
    if not keys:
        raise EnsembleError(scenario.path, "", "declares no uncertain parameter (give a value "
                            "low and high, or a dist)")
    return Design(scenario, tuple(keys), tuple(declared[k] for k in keys),
                  scenario.rank_correlation(keys), method, seed, samples)


def check_outputs(names: Iterable[str] | None) -> tuple[str, ...]:
    """Output names (default: the headline outputs), each checked against the catalogue."""
    if isinstance(names, str):  # one name, not its letters
        names = [names]
    chosen = tuple(HEADLINE_OUTPUTS if not names else names)
    for i, name in enumerate(chosen):
        if not isinstance(name, str):
            raise EnsembleError("--output", repr(name)[:40], "expected the name of an output")
        if name not in OUTPUT_BY_NAME:
            raise EnsembleError("--output", name,
                                f"no such output{_suggest(name, list(OUTPUT_BY_NAME))}")
        if name in chosen[:i]:
            raise EnsembleError("--output", name, "given twice; name each output once")
    return chosen


from .requests import (  # noqa: E402, F401  (checks made before any work; re-exported)
    PER_WORKLOAD_OUTPUTS,
    check_backend,
    check_fits,
    check_percentiles,
    values_per_year,
)

# --- running members ----------------------------------------------------------------------------

def evaluate(scenario: Scenario, values: Mapping[str, np.ndarray], outputs: Sequence[str],
             *, executor: Executor | None = None, backend: str = "auto",
             calibrated_only: bool = False,
             ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Run the members that take ``values`` (key -> SI base values as given) and the
    scenario's values elsewhere.

    Returns output name -> values in the output's unit, laid out (year, [workload,] member);
    a mask of the usable members (values that pass the scenario checks, finite results and,
    with ``calibrated_only``, a start year that meets its targets; the others hold NaN); and
    each member's largest relative miss of its start-year targets. A member that misses them
    (its start-year demand exceeds start-year capacity) does not start from the calibrated
    start year: ``projection run`` refuses such inputs, so ensembles and sweeps leave it out
    (``calibrated_only``); a sensitivity design needs every run and keeps it.
    """
    samples = parameter_samples(scenario, dict(values), units="base", invalid="mask")
    raw = simulate(samples, scenario.start_year, scenario.end_year, scenario.substeps_per_year,
                   executor=executor, keep=outputs, backend=backend)
    ok = raw.finite_samples() & samples.valid
    if calibrated_only:
        ok &= raw.calibration_error <= CALIBRATION_TOLERANCE
    out = {name: np.where(ok, raw.outputs[name], np.nan) for name in outputs}
    return out, ok, raw.calibration_error


# --- streaming blocks to disk (the files: model.block_files) ------------------------------------

@dataclass
class Ensemble:
    """Finished members: in memory (``values``) or as block files in ``folder``."""

    design: Design
    outputs: tuple[str, ...]
    years: np.ndarray
    usable: int
    uncalibrated: int
    folder: Path | None = None
    infeasible: int = 0
    """Members whose inputs admit no start state (``dynamics.infeasible_start``): their
    calibration miss is infinite and their outputs are NaN."""
    values: dict[str, np.ndarray] = field(default_factory=dict)
    block_samples: int = STREAM_BLOCK
    _headers: dict[Path, dict] = field(default_factory=dict, repr=False, compare=False)

    def blocks(self) -> list[Path]:
        assert self.folder is not None
        return [self.folder / block_name(s)
                for s in block_spans(self.design.samples, self.block_samples)]

    def output(self, name: str, years: slice = slice(None)) -> np.ndarray:
        """One output for all members, (year, [workload,] member), the years in ``years``."""
        if self.folder is None:
            return self.values[name][years]
        parts = [read_block(path, [name], years, self._headers)[0] for path in self.blocks()]
        return np.concatenate(parts, axis=-1)

    def usable_mask(self) -> np.ndarray:
        """True for each usable member (what the percentiles keep)."""
        if self.folder is None:
            return self.values[USABLE].astype(bool)
        return np.concatenate([read_block(path, [USABLE], headers=self._headers)[0]
                               for path in self.blocks()]).astype(bool)

    def usable_output(self, name: str, years: slice, mask: np.ndarray) -> np.ndarray:
        """The usable members' values of one output, (year, [workload,] usable member): read
        block by block into one array (no concatenated copy of every member)."""
        if self.folder is None:
            return self.values[name][years][..., mask]
        out = None
        at = 0
        for path, (a, b) in zip(self.blocks(), block_spans(self.design.samples,
                                                           self.block_samples), strict=True):
            part = read_block(path, [name], years, self._headers)[0][..., mask[a:b]]
            if out is None:
                out = np.empty((*part.shape[:-1], int(mask.sum())))
            out[..., at:at + part.shape[-1]] = part
            at += part.shape[-1]
        assert out is not None
        return out


def _check_manifest(folder: Path, record: Mapping[str, object], resume: bool) -> None:
    """Refuse a folder holding another ensemble; without ``resume``, clear this one's blocks."""
    from .safe_io import read_text

    manifest = folder / MANIFEST
    blocks = sorted(folder.glob("block_*.nc"))
    if os.path.lexists(manifest):
        try:  # a regular file only: a pipe in its place would block for ever
            previous = json.loads(read_text(manifest, what="an ensemble manifest (.json)",
                                            error=EnsembleError))
        except ValueError:
            previous = None
        if previous != json.loads(json.dumps(record)):
            raise EnsembleError(folder, MANIFEST, "holds an ensemble made from other inputs "
                                "(scenario, samples, seed, method or outputs); choose another "
                                "folder")
        if not resume:
            for path in blocks:  # the same inputs: these blocks are made again
                path.unlink()
    elif blocks:
        raise EnsembleError(folder, MANIFEST, "missing beside block files; cannot tell which "
                            "ensemble they belong to; choose another folder")


def _prepare_folder(folder: Path, record: Mapping[str, object], resume: bool,
                    spans: Sequence[tuple[int, int]], years: int) -> None:
    """An ensemble's folder made ready: its manifest checked against ``record`` (see
    :func:`_check_manifest`), every block already there checked to be this ensemble's, then the
    manifest written."""
    folder.mkdir(parents=True, exist_ok=True)
    _check_manifest(folder, record, resume)
    for span in spans:  # every kept block, first
        if os.path.lexists(folder / block_name(span)):
            check_block(folder / block_name(span), span, record, years)
    write_atomic(folder / MANIFEST, lambda p: write_text(p, json.dumps(record, indent=1)))


def run_ensemble(design: Design, outputs: Sequence[str], folder: Path | None = None, *,
                 resume: bool = False, executor: Executor | None = None, backend: str = "auto",
                 block_samples: int = STREAM_BLOCK,
                 progress: Callable[[int, int], None] | None = None) -> Ensemble:
    """Run every member of ``design`` block by block, keeping ``outputs``.

    With ``folder``, each finished block goes to ``folder/block_<start>_<stop>.nc`` (written
    atomically) and only the block running, the next one's draws and the last one's results
    stay in memory; ``resume`` skips blocks already there (the folder's manifest must describe
    the same design). Draws and writes overlap the engine's work on the block before or
    after. Blocks run on ``executor`` (default: :func:`local_pool`). ``progress`` is called
    with (members done, members in all) after each block.
    """
    from concurrent.futures import ThreadPoolExecutor
    from contextlib import ExitStack

    scenario = design.scenario
    years = scenario.years
    record = {**design.record(), "outputs": list(outputs), "block_samples": block_samples,
              "left_out": LEFT_OUT}
    kept: dict[str, list[np.ndarray]] = {name: [] for name in outputs}
    usable: list[np.ndarray] = []
    tally = {"usable": 0, "uncalibrated": 0, "infeasible": 0, "done": 0}
    if folder is not None:
        _prepare_folder(folder, record, resume, block_spans(design.samples, block_samples),
                        len(years))

    def count(span: tuple[int, int], ok: np.ndarray, miss: np.ndarray) -> None:
        tally["usable"] += int(ok.sum())
        tally["uncalibrated"] += int((np.isfinite(miss) & (miss > CALIBRATION_TOLERANCE)).sum())
        tally["infeasible"] += int(np.isposinf(miss).sum())
        tally["done"] += span[1] - span[0]
        if progress is not None:
            progress(tally["done"], design.samples)

    def store(span, path, values, result) -> None:
        out, ok, miss = result
        if path is not None:
            write_block(path, span, years, out, ok, miss, values,
                        block_identity(span, record))
        else:
            for name in outputs:
                kept[name].append(out[name])
            usable.append(ok)
        count(span, ok, miss)

    from .workers import owned

    with ExitStack() as stack:  # on the way out the pool stops first, then the runner
        runner = stack.enter_context(owned(ThreadPoolExecutor(max_workers=IN_FLIGHT)))
        if executor is None:
            pool = local_pool(backend, design.samples)
            executor = stack.enter_context(owned(pool)) if pool is not None else None
        # (span, path, values, future) of the blocks submitted, oldest first
        pending: deque[tuple[tuple[int, int], Path | None, dict, Future]] = deque()

        def finish_oldest() -> None:
            span, path, values, future = pending.popleft()
            store(span, path, values, future.result())

        for span in block_spans(design.samples, block_samples):
            path = folder / block_name(span) if folder is not None else None
            if path is not None and os.path.lexists(path):
                while pending:
                    finish_oldest()
                count(span, *read_block(path, ["usable", "calibration_error"]))
                continue
            values = design.values(*span)  # while the engine runs the blocks before
            pending.append((span, path, values, runner.submit(
                evaluate, scenario, values, outputs, executor=executor, backend=backend,
                calibrated_only=True)))
            if len(pending) >= IN_FLIGHT:
                finish_oldest()  # written while the engine runs the next block
        while pending:
            finish_oldest()
    ensemble = Ensemble(design, tuple(outputs), years, tally["usable"], tally["uncalibrated"],
                        folder, infeasible=tally["infeasible"], block_samples=block_samples)
    if folder is None:
        ensemble.values = {name: np.concatenate(parts, axis=-1) for name, parts in kept.items()}
        ensemble.values[USABLE] = np.concatenate(usable)
    return ensemble


# --- percentiles ----------------------------------------------------------------------------------

def _percentiles_of(values: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """Percentiles over the last axis (the usable members; NaN when there are none):
    (percentile, ...). ``values`` is the caller's to lose: it is partitioned in place."""
    if values.shape[-1] == 0:
        return np.full((len(q), *values.shape[:-1]), np.nan)
    with np.errstate(all="ignore"):
        return np.percentile(values, q, axis=-1, overwrite_input=True)


def ensemble_percentiles(ensemble: Ensemble, q: Sequence[float] = PERCENTILES,
                         workers: int | None = None):
    """Percentiles of every kept output: an ``xarray.Dataset``, dims (percentile, year[,
    workload]); members whose run is unusable are left out.

    The pass runs a few years of one output at a time on ``workers`` threads (default: one
    per core; reading the block files and numpy's partitioning release the GIL), holding
    about ``PERCENTILE_PASS_BYTES`` of values in all."""
    from concurrent.futures import ThreadPoolExecutor

    import xarray as xr

    n_years = len(ensemble.years)
    mask = ensemble.usable_mask()
    kept = int(mask.sum())
    workers = max(1, workers or os.cpu_count() or 1)
    tasks: dict[str, list[slice]] = {}
    for name in ensemble.outputs:
        per_year = kept * 8 * (len(WORKLOADS) if name in ("ai_requests_per_day",
                                                          "request_share") else 1)
        step = max(1, min(n_years, PERCENTILE_PASS_BYTES // workers // max(per_year, 1)))
        tasks[name] = [slice(a, min(a + step, n_years)) for a in range(0, n_years, step)]

    def percentiles(name: str, years: slice) -> np.ndarray:
        return _percentiles_of(ensemble.usable_output(name, years, mask), q)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: [pool.submit(percentiles, name, years) for years in spans]
                   for name, spans in tasks.items()}
        found = {name: np.concatenate([f.result() for f in parts], axis=1)
                 for name, parts in futures.items()}
    data = {}
    for name in ensemble.outputs:
        o = OUTPUT_BY_NAME[name]
        values = found[name]
        dims = ("percentile", "year", o.dim)[: values.ndim]
        data[name] = (dims, values, {"units": o.unit, "long_name": o.long_name,
                                     "quantity_type": o.kind})
    coords: dict[str, tuple] = {"percentile": ("percentile", np.asarray(q, dtype=float),
                             {"long_name": "Percentile of the ensemble", "units": "percent"}),
              "year": ("year", ensemble.years, {"long_name": "Calendar year"})}
    coords.update(third_coords({v[0][-1] for v in data.values() if len(v[0]) == 3}))
    return xr.Dataset(data, coords=coords)


def provenance(design: Design, outputs: Sequence[str], usable: int,
               uncalibrated: int = 0, infeasible: int = 0) -> dict[str, str | int]:
    """Attributes every ensemble file carries: the scenario's and the design's."""
    from .run import provenance as scenario_provenance

    record = design.record()
    return {
        **scenario_provenance(design.scenario),
        "sample_method": design.method,
        "seed": design.seed,
        "samples": design.samples,
        "usable_samples": usable,
        "samples_missing_start_targets": uncalibrated,
        "samples_infeasible_start": infeasible,
        "uncertain_parameters": json.dumps(record["distributions"]),
        "rank_correlations": json.dumps(record["rank_correlations"]),
        "outputs": ",".join(outputs),
    }


def uncertainty(scenario: Scenario | str | Path, samples: int, seed: int = 0,
                method: str = "lhs", *,
                outputs: Iterable[str] | None = None, folder: Path | None = None,
                resume: bool = False, executor: Executor | None = None,
                backend: str = "auto", percentiles: Sequence[float] = PERCENTILES,
                progress: Callable[[int, int], None] | None = None):
    """Monte Carlo over every declared distribution of ``scenario``.

    Returns an ``xarray.Dataset`` of percentiles (dims percentile, year[, workload]) of each
    output (default: ``HEADLINE_OUTPUTS``), in the catalogue's units, with the scenario's own
    run beside each as ``<output>_run`` and the design (method, seed, every distribution)
    in the attributes. ``scenario`` is a loaded scenario, a shipped name or a path. ``folder``
    streams members to disk block by block (see
    :func:`run_ensemble`); without it they are held in memory.
    """
    from .run import run_scenario

    scenario = as_scenario(scenario)
    chosen = check_outputs(outputs)
    d = design(scenario, samples, seed, method)
    percentiles = check_percentiles(percentiles)
    check_backend(backend)
    check_fits(d, chosen, folder)
    ensemble = run_ensemble(d, chosen, folder, resume=resume, executor=executor,
                            backend=backend, progress=progress)
    ds = ensemble_percentiles(ensemble, percentiles)
    central = run_scenario(scenario)
    for name in chosen:
        ds[f"{name}_run"] = central[name].assign_attrs(
            long_name=f"{OUTPUT_BY_NAME[name].long_name} (the scenario's own run)")
    ds.attrs.update(central.attrs)
    ds.attrs.update(provenance(d, chosen, ensemble.usable, ensemble.uncalibrated,
                               ensemble.infeasible))
    ds.attrs["title"] = "projection: percentiles of an uncertainty ensemble"
    return ds
