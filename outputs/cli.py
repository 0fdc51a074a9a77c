"""The ``projection`` command line.

Start-up time matters (``projection --help`` and ``projection scenarios`` answer at once):
this module imports typer and nothing heavy; each command imports the model, xarray or pint
inside its own body when it runs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from projection.model.errors import ProjectionError
from projection.model.errors import shown as escaped
from projection.outputs.cli_settings import Settings
from projection.outputs.cli_settings import overrides as set_overrides
from projection.outputs.files import parse_output

if TYPE_CHECKING:
    import xarray as xr

    from projection.model.labelled import Labelled

    Results = xr.Dataset | Labelled

app = typer.Typer(
    name="projection",
    help="Project the electricity, water and carbon footprint of AI in US data centres, "
    "from the calibrated 2024 state to 2030 and beyond.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: rendering it with rich costs more start-up time
)

USER_ERRORS = (ProjectionError,)
EXIT_BAD_INPUT = 2
DEFAULT_RESULTS = Path("results")
RESULT_FILES = ("projection.nc", "projection.csv", "projection.meta.json",
                "projection_iamc.csv", "projection_iamc.meta.json", "projection_iamc.xlsx",
                "projection_regions.csv", "projection_regions.meta.json")
SIDECARS = ("projection.meta.json", "projection_iamc.meta.json",
            "projection_regions.meta.json")

EndYear = Annotated[
    int | None,
    typer.Option("--end-year", help="Last year to project (overrides the scenario's end_year)."),
]
Substeps = Annotated[
    int | None,
    typer.Option("--substeps", help="Integration sub-steps per year (overrides the scenario)."),
]
Years = Annotated[
    list[str] | None,
    typer.Option("--year", metavar="YEARS", help="Year(s) to tabulate: '--year 2028,2035' "
                 "or the option repeated (default: the first year, 2026, 2028, 2030 and the "
                 "last year)."),
]
Force = Annotated[
    bool,
    typer.Option("--force", help="Replace results or files in the output folder that were "
                 "not made for this scenario file (a rerun of the same file replaces its own "
                 "results without it)."),
]
Quiet = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Print nothing but errors (no table, no progress)."),
]
Region = Annotated[
    str | None,
    typer.Option("--region", metavar="CODE", help="Print the table of one state (its USPS "
                 "code, such as VA or DC) or grid region (such as PJM or ERCOT: the sum of its "
                 "states) instead of the national one; the files keep every state."),
]
JsonOutput = Annotated[
    bool,
    typer.Option("--json", help="Print the headline figures and the files written as JSON."),
]


def fail(message: str) -> None:
    """A user error: one line on stderr, exit code 2."""
    typer.echo(f"error: {escaped(message)}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


@contextmanager
def progress(steps: int, quiet: bool) -> Iterator[Any]:
    """A transient progress bar on stderr (rich) while work runs, advanced with
    ``step(label)``; nothing at all with ``quiet`` or when stderr is not a terminal."""
    if quiet or not sys.stderr.isatty():
        yield lambda label="": None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("starting", total=steps)

        def step(label: str = "") -> None:
            bar.update(task, advance=1, description=label or "working")

        yield step


def parse_years(given: Sequence[str] | None, years: Sequence[int]) -> list[int] | None:
    """Years named with ``--year`` (comma-separated and/or repeated), checked against the
    projected ``years``; None when none were given."""
    if not given:
        return None
    wanted: list[int] = []
    for text in ",".join(given).split(","):
        text = text.strip()
        if not text:
            continue
        try:
            year = int(text)
        except ValueError:
            fail(f"--year: {text!r} is not a year; expected e.g. --year 2028,2030")
        if year not in years:
            fail(f"--year: {year} is outside the projected years {years[0]}-{years[-1]}")
        if year not in wanted:
            wanted.append(year)
    return sorted(wanted) or None


def _result_writers(ds: Results, extra: dict[str, Any]) -> dict[str, Any]:
    from projection.outputs.netcdf import write_netcdf
    from projection.outputs.region_files import REGIONS_CSV, REGIONS_SIDECAR, write_regions_csv
    from projection.outputs.regions import has_regions
    from projection.outputs.tables import (
        write_csv,
        write_iamc,
        write_iamc_workbook,
        write_sidecar,
    )

    writers = {
        "projection.nc": lambda p: write_netcdf(ds, p),
        "projection.csv": lambda p: write_csv(ds, p),
        "projection.meta.json": lambda p: write_sidecar(ds, p, "projection.csv", extra),
        "projection_iamc.csv": lambda p: write_iamc(ds, p),
        "projection_iamc.meta.json": lambda p: write_sidecar(ds, p, "projection_iamc.csv",
                                                             extra),
        "projection_iamc.xlsx": lambda p: write_iamc_workbook(ds, p),
    }
    if has_regions(ds):  # every state, whatever --region asked to print
        writers[REGIONS_CSV] = lambda p: write_regions_csv(ds, p)
        writers[REGIONS_SIDECAR] = lambda p: write_sidecar(ds, p, REGIONS_CSV, extra)
    return writers


def check_replaceable(folder: Path, ds: Results, force: bool,
                      scenario_paths: Sequence[Path]):
    """Refuse, before writing, to replace results in ``folder`` that were made for other
    scenario files, or files this command did not write, unless ``force``: a rerun of the
    same scenario files (edited or not, with any options) replaces its own results
    (``projection.outputs.files.check_replaceable``)."""
    from projection.outputs import files
    from projection.outputs.tables import inputs_sha256

    ours = inputs_sha256(ds.attrs)
    return files.check_replaceable(
        folder, sidecar=SIDECARS[0], names=RESULT_FILES, scenario_paths=scenario_paths,
        force=force, same_inputs=lambda record: record.get("inputs_sha256") == ours)


def write_results(ds: Results, folder: Path, force: bool,
                  inputs: Sequence[Path] = (),
                  scenario_paths: Sequence[Path] | None = None) -> list[Path]:
    """Every result file, written together into ``folder`` (all or none), never over one of
    ``inputs`` and only when every value is finite. ``scenario_paths`` are the scenario files
    named on the command line (default: the first of ``inputs``), which the folder is then
    made for."""
    from projection.outputs.files import FILES, MADE_FOR, check_output_folder, made_for, write_all

    paths = list(scenario_paths) if scenario_paths is not None else list(inputs)[:1]
    check_output_folder(folder, inputs=inputs)
    replacing = check_replaceable(folder, ds, force, paths)
    extra: dict[str, Any] = {MADE_FOR: made_for(folder, paths)}
    writers = _result_writers(ds, extra)
    extra[FILES] = list(writers)  # the files this result writes (a rerun removes the others)
    return write_all(folder, writers, inputs=inputs, datasets=[ds], stale=replacing.stale)


def _report(written: Sequence[Path], quiet: bool) -> None:
    if not quiet:
        typer.echo("Wrote " + ", ".join(str(p) for p in written))


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="Scenario file (.toml), or the name of a "
                                             "shipped scenario such as 'baseline'.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", parser=parse_output,
                      help="Result folder (default: results/<scenario name>/).")] = None,
    end_year: EndYear = None,
    substeps: Substeps = None,
    year: Years = None,
    settings: Settings = None,
    region: Region = None,
    json_output: JsonOutput = False,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Run one scenario: print the headline figures (of the US, or of one state or grid region
    with --region) and write NetCDF, CSV, IAMC (CSV and Excel) files with provenance sidecars.
    With --end-year the default folder is results/<scenario name>-<end year>/."""
    try:
        selection = _selection(region)
        with progress(3, quiet or json_output) as step:
            step("reading the scenario")
            from projection.model.run import run_labelled
            from projection.model.scenario import find_scenario, load_scenario
            from projection.model.settings import OPTION

            loaded = load_scenario(find_scenario(scenario), end_year=end_year,
                                   substeps_per_year=substeps,
                                   overrides=set_overrides(settings), origin=OPTION)
            step("running the model")
            ds = run_labelled(loaded)  # plain arrays: no xarray needed to print and write
            years = [int(y) for y in ds["year"].values]
            from projection.outputs.terminal import headline_years

            shown = parse_years(year, years) or headline_years(years)
            _check_regional(ds, selection)
            step("writing the results")
            name = loaded.name if end_year is None else f"{loaded.name}-{end_year}"
            folder = output if output is not None else DEFAULT_RESULTS / name
            written = write_results(ds, folder, force, loaded.files, [loaded.path])
    except USER_ERRORS as exc:
        fail(str(exc))
        return
    from projection.outputs.terminal import headline_table, headline_values

    if json_output:
        record = {
            "scenario": loaded.name, "title": loaded.title, "scenario_file": str(loaded.path),
            "scenario_sha256": loaded.sha256, "years": shown,
            "headlines": headline_values(ds, shown), "files": [str(p) for p in written],
        }
        if selection is not None:
            from projection.outputs.regions import region_values

            record["region"] = region_values(ds, selection, shown)
            del record["headlines"]
        typer.echo(json.dumps(record, indent=2))
        return
    if not quiet:
        typer.echo(f"{loaded.title} ({loaded.name}), {loaded.path}")
        if selection is not None:
            from projection.outputs.regions import region_table

            typer.echo(selection.title)
            typer.echo(region_table(ds, selection, shown))
        else:
            typer.echo(headline_table(ds, shown))
        typer.echo("Energy, water and carbon are calendar-year totals; capacity and centres "
                   "are counted on 1 January.")
    _report(written, quiet)


def _selection(region: str | None):
    """The state or grid region of ``--region`` (checked before any work), or None."""
    if region is None:
        return None
    from projection.outputs.regions import select_region

    return select_region(region)


def _check_regional(ds: Results, selection) -> None:
    """Refuse ``--region`` before anything is written when the results hold no states."""
    if selection is None:
        return
    from projection.outputs.regions import RegionError, has_regions

    if not has_regions(ds):
        raise RegionError("--region: these results hold no states or grid regions")


def compare_folder(names: Sequence[str], end_year: int | None) -> Path:
    """results/compare-A-B[-C...][-<end year>]: named after what was compared."""
    name = "compare-" + "-".join(names) + ("" if end_year is None else f"-{end_year}")
    return DEFAULT_RESULTS / name


@app.command()
def compare(
    scenarios: Annotated[list[str], typer.Argument(help="Two or more scenario files or names; "
                                                   "the first is the reference.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", parser=parse_output,
                      help="Folder for the combined result files "
                      "(default: results/compare-<first>-<second>[-...]/).")] = None,
    end_year: EndYear = None,
    substeps: Substeps = None,
    year: Annotated[list[str] | None, typer.Option(
        "--year", metavar="YEARS", help="Year(s) to tabulate: '--year 2028,2035' or the "
        "option repeated (default: 2028, 2030 and the last year).")] = None,
    settings: Settings = None,
    region: Region = None,
    json_output: JsonOutput = False,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Run several scenarios; print their headline figures (of the US, or of one state or grid
    region with --region) side by side with each one's difference from the first (absolute
    and in %)."""
    try:
        selection = _selection(region)
        with progress(len(scenarios) + 1, quiet or json_output) as step:
            from projection.model.run import compare as compare_scenarios
            from projection.model.scenario import find_scenario

            paths = [find_scenario(s) for s in scenarios]
            step(f"running {len(paths)} scenarios")
            from projection.model.settings import OPTION

            ds = compare_scenarios(paths, end_year=end_year, substeps_per_year=substeps,
                                   overrides=set_overrides(settings), origin=OPTION)
            years = [int(y) for y in ds["year"].values]
            from projection.outputs.terminal import headline_years

            wanted = parse_years(year, years) or [
                y for y in headline_years(years) if y >= 2028] or [years[-1]]
            _check_regional(ds, selection)
            step("writing the results")
            names = [str(s) for s in ds["scenario"].values]
            folder = output if output is not None else compare_folder(names, end_year)
            written = write_results(ds, folder, force, paths, paths)
    except USER_ERRORS as exc:
        fail(str(exc))
        return
    from projection.outputs.terminal import comparison_table, headline_values

    if json_output:
        record: dict[str, Any] = {
            "scenarios": names, "reference": names[0], "years": wanted,
            "headlines": {n: headline_values(ds, wanted, scenario=n) for n in names},
            "files": [str(p) for p in written],
        }
        if selection is not None:
            from projection.outputs.regions import region_values

            del record["headlines"]
            record["region"] = {n: region_values(ds, selection, wanted, scenario=n)
                                for n in names}
        typer.echo(json.dumps(record, indent=2))
        return
    requested = json.loads(ds.attrs["end_years_requested"])
    if len(set(requested.values())) > 1 and not quiet:
        typer.echo(f"note: the scenarios end in different years; all are compared to "
                   f"{years[-1]}, the earliest", err=True)
    if not quiet:
        if selection is not None:
            from projection.outputs.regions import region_comparison, water_stress

            typer.echo(selection.title)
            stress = water_stress(selection)
            if stress:
                typer.echo(stress)
        for y in wanted:
            typer.echo(comparison_table(ds, y) if selection is None
                       else region_comparison(ds, selection, y))
            typer.echo("")
    _report(written, quiet)


@app.command("scenarios")
def list_scenarios(
    diff: Annotated[tuple[str, str] | None, typer.Option(
        "--diff", metavar="A B", help="List the parameters in which scenario B differs from "
        "scenario A (value, schedule or uncertainty range), with their sources, the policy "
        "levers apart from the assumptions.")] = None,
) -> None:
    """List the shipped scenarios with their one-line stories, and the policy levers apart
    from the assumptions; with --diff, every value, range or schedule in which B differs
    from A, levers first."""
    from projection.outputs import cli_scenarios

    try:
        if diff is not None:
            cli_scenarios.diff(*diff, typer.echo)
            return
        cli_scenarios.listing(typer.echo)
    except USER_ERRORS as exc:
        fail(str(exc))


def _version(value: bool) -> None:
    if value:
        from projection.model import __version__

        typer.echo(f"projection {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Project the electricity, water and carbon footprint of AI in US data centres."""


# Validation and calibration (cli_validation.py) register here.
from projection.outputs.cli_validation import calibrate_command, validate_command  # noqa: E402

app.command("validate")(validate_command)
app.command("calibrate")(calibrate_command)
from projection.outputs.cli_brief import brief_command  # noqa: E402

app.command("brief")(brief_command)
from projection.outputs.cli_explore import explore_command  # noqa: E402

app.command("explore")(explore_command)
from projection.outputs import cli_uncertainty  # noqa: E402

app.command("uncertainty")(cli_uncertainty.uncertainty_command)
app.command("sensitivity")(cli_uncertainty.sensitivity_command)
app.command("sweep")(cli_uncertainty.sweep_command)


def main() -> None:
    """Run the command line; usage errors are one line on stderr with exit code 2, too.
    Ctrl-C is handled around this, once, by ``projection.outputs.interrupts.guarded``."""
    from projection.outputs import coercion

    coercion.install()  # option values converted without importing pydantic
    command = typer.main.get_command(app)
    try:
        code = command.main(args=sys.argv[1:], prog_name="projection", standalone_mode=False)
    except typer.Abort:  # click turns a KeyboardInterrupt into Abort; give it back
        raise KeyboardInterrupt from None
    except Exception as exc:  # click's usage errors, from typer's bundled click
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise
        context = getattr(exc, "ctx", None)
        where = f" (see '{context.command_path} --help')" if context is not None else ""
        message = escaped(" ".join(exc.format_message().split()))
        if message:  # empty when the help was printed for a bare command
            typer.echo(f"error: {message}{where}", err=True)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    from projection.outputs.interrupts import guarded

    guarded(main)
