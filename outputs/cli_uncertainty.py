"""``projection uncertainty``, ``projection sensitivity`` and ``projection sweep``: the command
functions that outputs/cli.py registers.

Same conventions as the other commands: every option is checked before anything is written;
a user error prints one line ``error: ...`` and exits 2; result files appear all together or
not at all. Heavy libraries are imported inside the commands.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from projection.model.errors import ProjectionError
from projection.outputs.cli_settings import Settings
from projection.outputs.cli_settings import overrides as set_overrides
from projection.outputs.files import parse_output

DEFAULT_RESULTS = Path("results")
ENSEMBLE_FOLDER = "ensemble"

Output = Annotated[Path | None, typer.Option("--output-dir", "-o", parser=parse_output,
                   help="Folder for the result files (default: results/<scenario>/<command>/).")]
EndYear = Annotated[int | None, typer.Option("--end-year", help="Last year to project.")]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the random draws (same seed, same "
                                   "result).")]
Outputs = Annotated[list[str] | None, typer.Option("--output", help="Output to keep (repeat "
                    "for several; default: the headline outputs).")]
Backend = Annotated[str, typer.Option("--backend", help="auto (numba when installed, else "
                                      "numpy), numpy, numba or xla (the 'fast' extra: "
                                      "compiled once per machine, then faster on large "
                                      "ensembles).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print no table and no progress.")]
Force = Annotated[bool, typer.Option("--force", help="Replace results or files in the output "
                  "folder that were not made for this scenario file (a rerun of the same file "
                  "replaces its own results without it).")]


EXIT_BAD_INPUT = 2


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _user_errors() -> tuple[type[BaseException], ...]:
    from projection.outputs.files import OutputError

    return (ProjectionError, OutputError)  # OutputError is a ProjectionError; named for clarity


def _load(scenario: str, end_year: int | None, settings: list[str] | None = None):
    from projection.model.scenario import find_scenario, load_scenario
    from projection.model.scenario_ranges import OUTSIDE
    from projection.model.settings import OPTION

    loaded = load_scenario(find_scenario(scenario),  # did-you-mean as `run`
                           end_year=end_year,
                           overrides=set_overrides(settings), origin=OPTION)
    for key, entry in sorted(loaded.entries.items()):  # a --set value outside its range
        if entry.range_file and entry.range_file.startswith(OUTSIDE):
            typer.echo(f"note: --set {key} is held fixed in every member: "
                       f"{entry.range_file.removeprefix(OUTSIDE)}", err=True)
    return loaded


def _check_backend(backend: str) -> None:
    from projection.model.uncertainty import check_backend

    check_backend(backend, "--backend")


def _check_dask(dask: bool, scheduler: str | None) -> None:
    """Refuse ``--dask``/``--scheduler`` without Dask installed, before any work."""
    if not dask and scheduler is None:
        return
    import importlib.util

    if importlib.util.find_spec("distributed") is None:
        from projection.model.uncertainty import EnsembleError

        option = "--dask" if dask else "--scheduler"
        raise EnsembleError(option, "", "needs Dask distributed, which is not installed: "
                            "pip install 'projection[dask]'")


@contextmanager
def _executor(dask: bool, scheduler: str | None, backend: str,
              samples: int | None = None) -> Iterator[object | None]:
    """Dask's executor on a local cluster (``--dask``) or at ``scheduler``; else worker
    processes on this machine, started before any progress bar's thread."""
    if not dask and scheduler is None:
        from projection.model.uncertainty import local_pool
        from projection.model.workers import owned

        pool = local_pool(backend, samples)
        if pool is None:
            yield None
            return
        with owned(pool):  # on Ctrl-C: queued blocks cancelled, workers stopped
            yield pool
        return
    from distributed import Client, LocalCluster  # present: checked by _check_dask

    # each block carries its samples' parameter columns (the states' among them) by design:
    # Dask's hint that a task is large is not the user's business
    warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            _fail(f"--scheduler {scheduler}: cannot connect ({exc})")
            return
        with client:
            yield client.get_executor()
        return
    with _local_cluster(LocalCluster) as cluster, Client(cluster) as client:
        yield client.get_executor()


@contextmanager
def _local_cluster(make) -> Iterator[object]:
    """A local Dask cluster whose workers never see Ctrl-C (their processes start with SIGINT
    blocked: the command reports the interrupt once and closes the cluster) and whose
    warnings on the way down (a worker killed after its grace) do not reach the terminal."""
    import logging

    from projection.model.workers import signals_held

    for name in ("distributed", "distributed.nanny", "distributed.worker"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")  # the worker processes' own
    with signals_held(terminate=False):
        cluster = make(processes=True, threads_per_worker=1, dashboard_address=None,
                       preload=["projection.outputs.dask_worker"])
    with cluster:
        yield cluster


@contextmanager
def _progress(label: str, quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr when it is a terminal (and not ``--quiet``)."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(label), BarColumn(), _count_column(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)  # the total comes with the first update

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _count_column():
    """A rich column "done/total" ("done" alone while the total is not known yet: a task's
    total is None until its first update, and a format such as ``{task.total:,}`` then fails
    on every refresh of the bar)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Count(ProgressColumn):
        def render(self, task) -> Text:
            done = f"{int(task.completed):,}"
            return Text(done if task.total is None else f"{done}/{int(task.total):,}")

    return Count()


FIXED_FILES = {
    "uncertainty": ("uncertainty.nc", "uncertainty.csv", "uncertainty.meta.json",
                    "uncertainty_iamc.csv", "uncertainty_iamc.meta.json"),
    "sensitivity": ("sensitivity.nc", "sensitivity.csv", "sensitivity.meta.json"),
    "sweep": ("sweep.nc", "sweep.csv", "sweep.meta.json"),
}
"""The files each command always writes (its charts besides, one per output)."""
CHARTS = {"uncertainty": ("fan_*.png",), "sensitivity": ("bars_*.png", "tornado_*.png"),
          "sweep": ("sweep_*.png",)}
"""The names of each command's charts."""


def _check_folder(folder: Path, name: str, inputs: dict, scenario, force: bool):
    """Before any work: refuse a folder that is a file or an input, or that holds results
    made for another scenario file or files this command did not write (unless ``force``).
    Returns what will be replaced (``projection.outputs.files.Replacing``)."""
    import json

    from projection.outputs.files import check_output_folder, check_replaceable

    check_output_folder(folder, inputs=scenario.files)
    names = list(FIXED_FILES[name])
    if folder.is_dir():
        names += sorted(p.name for pattern in CHARTS[name] for p in folder.glob(pattern))
    given = json.loads(json.dumps(inputs, default=str))
    return check_replaceable(folder, sidecar=f"{name}.meta.json", names=names,
                             scenario_paths=[scenario.path], force=force,
                             same_inputs=lambda record: record.get("inputs") == given)


def sidecar_record(ds, describes: str) -> dict:
    """The provenance of one result file, as ``projection run``'s sidecars hold it: every
    attribute of ``ds`` (JSON-valued ones decoded), the file described, and the model's
    version and the command when ``ds`` does not carry them."""
    from projection.model import __version__
    from projection.model.results import command_line
    from projection.outputs.tables import provenance

    record = provenance(ds, describes)
    record.setdefault("model", "projection")
    record.setdefault("model_version", __version__)
    record.setdefault("command", command_line())
    return record


def _write(folder: Path, name: str, writers: dict[str, Callable[[Path], None]], ds,
           inputs: dict, scenario, replacing) -> list[Path]:
    """The result files and a ``<name>.meta.json`` sidecar describing ``<name>.csv``
    (provenance, the inputs that made them, the scenario file the folder is made for, the
    files written), all or none; files of the earlier result not written again go."""
    import json

    from projection.outputs.files import FILES, MADE_FOR, made_for, write_all

    names = [*writers, f"{name}.meta.json"]

    def meta(path: Path) -> None:
        record = {**sidecar_record(ds, f"{name}.csv"), "inputs": inputs,
                  MADE_FOR: made_for(folder, [scenario.path]), FILES: names}
        path.write_text(json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8")

    return write_all(folder, {**writers, f"{name}.meta.json": meta}, inputs=scenario.files,
                     stale=replacing.stale)


def _check_targets(folder: Path, files: Sequence[str], folders: Sequence[str] = ()) -> None:
    """Before any work: every file about to be written can be, every sub-folder is one."""
    from projection.outputs.files import check_output_targets

    check_output_targets(folder, files, folders)


def _chart_names(prefixes: Sequence[str], outputs: Sequence[str]) -> list[str]:
    """The chart files of ``outputs`` (none for outputs with a value per workload)."""
    from projection.model.uncertainty import PER_WORKLOAD_OUTPUTS

    return [f"{p}{n}.png" for p in prefixes for n in outputs if n not in PER_WORKLOAD_OUTPUTS]


def _clear_ensemble(folder: Path) -> None:
    """Remove the members of an earlier ensemble (``--force``): its manifest and blocks."""
    from projection.model.uncertainty import MANIFEST

    for path in [*folder.glob("block_*.nc"), folder / MANIFEST]:
        path.unlink(missing_ok=True)


def _charts_note(quiet: bool) -> None:
    if not quiet:
        typer.echo("note: charts skipped (matplotlib is not installed: pip install "
                   "matplotlib)", err=True)


# --- uncertainty ----------------------------------------------------------------------------------

def uncertainty_command(
    scenario: Annotated[str, typer.Argument(help="Scenario file (.toml) or shipped name.")],
    samples: Annotated[int, typer.Option("--samples", "-n", help="Number of ensemble members.")],
    seed: Seed = 0,
    method: Annotated[str, typer.Option("--method", help="lhs (Latin hypercube), sobol "
                                        "(scrambled Sobol' sequence) or random.")] = "lhs",
    output_dir: Output = None,
    output: Outputs = None,
    end_year: EndYear = None,
    resume: Annotated[bool, typer.Option("--resume", help="Keep the finished blocks of an "
                      "interrupted run in the same folder and run only the rest.")] = False,
    dask: Annotated[bool, typer.Option("--dask", help="Run the blocks on a local Dask "
                    "cluster (the 'dask' extra).")] = False,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Run the blocks on the "
                         "Dask scheduler at this address.")] = None,
    backend: Backend = "auto",
    settings: Settings = None,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Monte Carlo over every declared distribution: percentiles of each output per year."""
    from projection.model.uncertainty import check_fits, check_outputs, design, uncertainty
    from projection.outputs import uncertainty_files as files

    try:
        loaded = _load(scenario, end_year, settings)
        chosen = check_outputs(output)
        planned = design(loaded, samples, seed, method)  # every option checked first
        _check_backend(backend)
        _check_dask(dask, scheduler)
        folder = output_dir if output_dir is not None else (
            DEFAULT_RESULTS / loaded.name / "uncertainty")
        inputs = {**planned.record(), "outputs": list(chosen)}
        replacing = _check_folder(folder, "uncertainty", inputs, loaded, force)
        _check_targets(folder, ["uncertainty.nc", "uncertainty.csv", "uncertainty_iamc.csv",
                                "uncertainty_iamc.meta.json", "uncertainty.meta.json",
                                *_chart_names(("fan_",), chosen)], [ENSEMBLE_FOLDER])
        check_fits(planned, chosen, folder / ENSEMBLE_FOLDER)
        if (force or replacing.ours) and not resume:
            _clear_ensemble(folder / ENSEMBLE_FOLDER)
        with _executor(dask, scheduler, backend, samples) as executor, \
                _progress("members", quiet) as progress:
            ds = uncertainty(loaded, samples, seed, method, outputs=chosen,
                             folder=folder / ENSEMBLE_FOLDER, resume=resume, executor=executor,
                             backend=backend, progress=progress)
        writers = {
            "uncertainty.nc": lambda p: files.write_netcdf(ds, p),
            "uncertainty.csv": lambda p: files.write_long_csv(ds, p, ("percentile",)),
            "uncertainty_iamc.csv": lambda p: files.write_iamc(ds, p),
            "uncertainty_iamc.meta.json": lambda p: files.write_meta(
                sidecar_record(ds, "uncertainty_iamc.csv"), p),
        }
        charts = files.charts_available()
        if charts:
            writers.update({f"fan_{name}.png": files.fan_chart(ds, name) for name in chosen
                            if not set(ds[name].dims) & {"workload", "region"}})
        written = _write(folder, "uncertainty", files.render(writers), ds, inputs, loaded,
                         replacing)
    except _user_errors() as exc:
        _fail(str(exc))
        return
    if not quiet:
        from projection.outputs.terminal import members_summary, percentile_table

        typer.echo(f"{loaded.title} ({loaded.name}): {members_summary(ds)}")
        typer.echo(percentile_table(ds))
    if not charts:
        _charts_note(quiet)
    typer.echo(f"Wrote {', '.join(str(p) for p in written)} and the members in "
               f"{folder / ENSEMBLE_FOLDER}")


# --- sensitivity ----------------------------------------------------------------------------------

def ranked_table(ds, top: int = 5) -> str:
    """Per output: the parameters ranked by their main index in the last year, with that
    index in each headline year."""
    from projection.outputs.terminal import headline_years, render_table
    from projection.validation.sensitivity import ranking

    method = ds.attrs["sensitivity_method"]
    key = {"sobol": "ST", "morris": "mu_star", "oat": "swing"}[method]
    years = headline_years([int(y) for y in ds["year"].values])
    ranked = ranking(ds)
    header = ["output", "rank", "parameter", *(f"{key} {y}" for y in years)]
    rows = []
    for output in ds["output"].values:
        for r, parameter in enumerate(ranked.sel(output=output).values[:top], start=1):
            cells = []
            for y in years:
                value = float(ds[key].sel(output=output, parameter=parameter, year=y))
                conf = (f" ±{float(ds[f'{key}_conf'].sel(output=output, parameter=parameter, year=y)):.2f}"  # noqa: E501
                        if f"{key}_conf" in ds and method == "sobol" else "")
                cells.append(f"{value:.3g}{conf}")
            rows.append([str(output) if r == 1 else "", str(r), str(parameter), *cells])
    return render_table(header, rows, left=3)


def sensitivity_command(
    scenario: Annotated[str, typer.Argument(help="Scenario file (.toml) or shipped name.")],
    method: Annotated[str, typer.Option("--method", help="sobol (Sobol' indices), morris "
                                        "(elementary effects) or oat (one at a time, tornado)."
                                        )] = "sobol",
    samples: Annotated[int | None, typer.Option("--samples", "-n", help="Base sample count: "
                       "Sobol' N (a power of two, default 512), Morris trajectories (default "
                       "50); not used by oat.")] = None,
    output: Outputs = None,
    second_order: Annotated[bool, typer.Option("--second-order", help="Sobol' second-order "
                            "indices too (twice the runs).")] = False,
    seed: Seed = 0,
    output_dir: Output = None,
    end_year: EndYear = None,
    backend: Backend = "auto",
    settings: Settings = None,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Rank the declared assumptions by their effect on each output, year by year."""
    from projection.model.uncertainty import check_outputs
    from projection.outputs import uncertainty_files as files
    from projection.validation.sensitivity import check_samples, sensitivity

    try:
        loaded = _load(scenario, end_year, settings)
        base = check_samples(method, samples)
        chosen = check_outputs(output)
        _check_backend(backend)
        folder = output_dir if output_dir is not None else (
            DEFAULT_RESULTS / loaded.name / f"sensitivity-{method}")
        inputs = {"scenario_sha256": loaded.sha256, "end_year": loaded.end_year,
                  "method": method, "samples": base, "seed": seed,
                  "second_order": second_order, "outputs": list(chosen)}
        replacing = _check_folder(folder, "sensitivity", inputs, loaded, force)
        _check_sensitivity_first(loaded, folder, method, base, seed, chosen, second_order)
        runs = None if method != "oat" else 1  # one at a time: a few dozen runs, one block
        with _executor(False, None, backend, runs) as executor, \
                _progress("runs", quiet) as progress:
            ds = sensitivity(loaded, method, samples, chosen, seed, second_order=second_order,
                             executor=executor, backend=backend, progress=progress)
        writers = {
            "sensitivity.nc": lambda p: files.write_netcdf(ds, p),
            "sensitivity.csv": lambda p: files.write_long_csv(
                ds.drop_vars([v for v in ds.data_vars if "parameter_2" in ds[v].dims]), p,
                ("parameter", "output")),
        }
        charts = files.charts_available()
        last = int(ds["year"][-1])
        if charts:
            for name in ds["output"].values:
                if method == "oat":
                    writers[f"tornado_{name}.png"] = files.tornado_chart(ds, str(name), last)
                else:
                    key = "ST" if method == "sobol" else "mu_star"
                    writers[f"bars_{name}.png"] = files.bar_chart(ds, str(name), last, key)
        written = _write(folder, "sensitivity", files.render(writers), ds, inputs, loaded,
                         replacing)
    except _user_errors() as exc:
        _fail(str(exc))
        return
    if not quiet:
        typer.echo(f"{loaded.title} ({loaded.name}): {method} sensitivity, "
                   f"{ds.attrs['runs']:,} runs, {ds.sizes['parameter']} uncertain parameters")
        typer.echo(ranked_table(ds))
    if not charts:
        _charts_note(quiet)
    typer.echo("Wrote " + ", ".join(str(p) for p in written))


def _check_sensitivity_first(loaded, folder: Path, method: str, base: int, seed: int,
                             chosen: Sequence[str], second_order: bool) -> None:
    """Before any work: the seed, the memory the design needs, and the files to write."""
    from projection.model.uncertainty import design
    from projection.validation.sensitivity import check_fits, check_totals

    check_totals(chosen)
    parameters = len(design(loaded, 1, seed, "random").keys)
    check_fits(loaded, method, base, parameters, chosen, second_order)
    charts = ("tornado_",) if method == "oat" else ("bars_",)
    _check_targets(folder, ["sensitivity.nc", "sensitivity.csv", "sensitivity.meta.json",
                            *_chart_names(charts, chosen)])


# --- sweep ----------------------------------------------------------------------------------------

def sweep_table(ds, outputs: Sequence[str], year: int) -> str:
    import numpy as np

    from projection.outputs.terminal import fmt, render_table

    keys = [d for d in ds[outputs[0]].dims if d not in ("year", "workload", "region")]
    header = [*keys, *(f"{o} ({ds[o].attrs.get('units', '')})" for o in outputs)]
    rows = []
    grid = ds[outputs[0]].sel(year=year)
    for index in np.ndindex(*grid.shape[: len(keys)]):
        at = {k: i for k, i in zip(keys, index, strict=True)}
        cells = [f"{float(ds[k].values[i]):.4g}" for k, i in at.items()]
        for o in outputs:
            var = ds[o].sel(year=year).isel(at)
            for third in ("workload", "region"):
                var = var.sum(third) if third in var.dims else var
            value = float(var)
            cells.append(fmt(value) if np.isfinite(value) else "left out")
        rows.append(cells)
    return f"{year}\n" + render_table(header, rows, left=3)


def sweep_command(
    scenario: Annotated[str, typer.Argument(help="Scenario file (.toml) or shipped name.")],
    param: Annotated[list[str], typer.Option("--param", help="KEY=LOW:HIGH:N, e.g. "
                     "demand.adoption_growth=40%/yr:120%/yr:5 (once or twice).")],
    output: Outputs = None,
    output_dir: Output = None,
    end_year: EndYear = None,
    backend: Backend = "auto",
    settings: Settings = None,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Run a grid over one or two parameters; the swept parameters become dimensions."""
    from projection.model.sweep import check_sweep_fits, sweep, sweep_axis
    from projection.model.uncertainty import check_outputs
    from projection.outputs import uncertainty_files as files

    try:
        loaded = _load(scenario, end_year, settings)
        chosen = check_outputs(output)
        axes = [sweep_axis(loaded, spec) for spec in param]
        _check_backend(backend)
        folder = output_dir if output_dir is not None else (
            DEFAULT_RESULTS / loaded.name / ("sweep-" + "-".join(a.key for a in axes)))
        inputs = {"scenario_sha256": loaded.sha256, "end_year": loaded.end_year,
                  "param": list(param), "outputs": list(chosen)}
        replacing = _check_folder(folder, "sweep", inputs, loaded, force)
        runs = check_sweep_fits(loaded, axes, chosen)
        _check_targets(folder, ["sweep.nc", "sweep.csv", "sweep.meta.json",
                                *_chart_names(("sweep_",), chosen)])
        with _executor(False, None, backend, runs) as executor:
            ds = sweep(loaded, axes, chosen, executor=executor, backend=backend)
        keys = tuple(a.key for a in axes)
        writers = {
            "sweep.nc": lambda p: files.write_netcdf(ds, p),
            "sweep.csv": lambda p: files.write_long_csv(ds.drop_vars("usable"), p, keys),
        }
        charts = files.charts_available()
        last = int(ds["year"][-1])
        if charts:
            writers.update({f"sweep_{name}.png": files.sweep_chart(ds, name, last)
                            for name in chosen
                            if not set(ds[name].dims) & {"workload", "region"}})
        written = _write(folder, "sweep", files.render(writers), ds, inputs, loaded, replacing)
    except _user_errors() as exc:
        _fail(str(exc))
        return
    if not quiet:
        typer.echo(f"{loaded.title} ({loaded.name}): sweep of {', '.join(keys)}, "
                   f"{int(ds['usable'].sum())} of {ds['usable'].size} runs usable; left out: "
                   f"{ds.attrs.get('runs_missing_start_targets', 0)} whose start year misses "
                   "its calibration targets (start-year demand above start-year capacity), "
                   f"{ds.attrs.get('runs_infeasible_start', 0)} with an infeasible start state")
        typer.echo(sweep_table(ds, list(chosen[:3]), last))
    if not charts:
        _charts_note(quiet)
    typer.echo("Wrote " + ", ".join(str(p) for p in written))
