"""The ``projection`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from projection.model import __version__
from projection.model.errors import shown
from projection.model.integrate import RunError
from projection.model.run import compare as compare_scenarios
from projection.model.run import run_scenario
from projection.model.scenario import (
    ScenarioError,
    load_scenario,
    resolve_scenario_path,
    shipped_scenarios,
)
from projection.outputs.files import OutputError, parse_output, write_all
from projection.outputs.netcdf import write_netcdf
from projection.outputs.tables import write_csv, write_iamc
from projection.outputs.terminal import comparison_table, headline_table, headline_years

app = typer.Typer(
    name="projection",
    help="Project the electricity, water and carbon footprint of AI in US data centres, "
    "from the calibrated 2024 state to 2030 and beyond.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

USER_ERRORS = (ScenarioError, OutputError, RunError)
EXIT_BAD_INPUT = 2
DEFAULT_RESULTS = Path("results")

EndYear = Annotated[
    int | None,
    typer.Option("--end-year", help="Last year to project (overrides the scenario's end_year)."),
]
Substeps = Annotated[
    int | None,
    typer.Option("--substeps", help="Integration sub-steps per year (overrides the scenario)."),
]


def fail(message: str) -> None:
    typer.echo(f"error: {shown(message)}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _write_results(ds, folder: Path, inputs) -> list[Path]:
    return write_all(
        folder,
        {
            "projection.nc": lambda p: write_netcdf(ds, p),
            "projection.csv": lambda p: write_csv(ds, p),
            "projection_iamc.csv": lambda p: write_iamc(ds, p),
        },
        inputs=inputs,
        datasets=[ds],
    )


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="Scenario file (.toml), or the name of a "
                                             "shipped scenario such as 'baseline'.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", parser=parse_output,
                      help="Folder for the result files (default: results/<scenario name>/).")
                      ] = None,
    end_year: EndYear = None,
    substeps: Substeps = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no table.")] = False,
) -> None:
    """Run one scenario: print the headline figures and write NetCDF, CSV and IAMC files."""
    try:
        loaded = load_scenario(resolve_scenario_path(scenario), end_year=end_year,
                               substeps_per_year=substeps)
        ds = run_scenario(loaded)
        folder = output if output is not None else DEFAULT_RESULTS / loaded.name
        written = _write_results(ds, folder, loaded.files)
    except USER_ERRORS as exc:
        fail(str(exc))
        return
    if not quiet:
        typer.echo(f"{loaded.title} ({loaded.name}), {loaded.path}")
        typer.echo(headline_table(ds))
        typer.echo("Energy, water and carbon are calendar-year totals; capacity and centres "
                   "are counted on 1 January.")
    typer.echo("Wrote " + ", ".join(str(p) for p in written))


@app.command()
def compare(
    scenarios: Annotated[list[str], typer.Argument(help="Two or more scenario files or names.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", parser=parse_output,
                      help="Folder for the combined result files (default: results/compare/).")
                      ] = None,
    end_year: EndYear = None,
    substeps: Substeps = None,
    year: Annotated[list[int] | None, typer.Option("--year", help="Year(s) to tabulate "
                    "(default: 2028 and the last year).")] = None,
) -> None:
    """Run several scenarios and print their headline figures side by side."""
    try:
        paths = [resolve_scenario_path(s) for s in scenarios]
        ds = compare_scenarios(paths, end_year=end_year, substeps_per_year=substeps)
        years = [int(y) for y in ds["year"].values]
        wanted = year or [y for y in headline_years(years) if y >= 2028] or [years[-1]]
        bad = [y for y in wanted if y not in years]
        if bad:
            fail(f"--year: {bad[0]} is outside the projected years {years[0]}-{years[-1]}")
        written = _write_results(ds, output if output is not None else DEFAULT_RESULTS / "compare",
                                 paths)
    except USER_ERRORS as exc:
        fail(str(exc))
        return
    requested = {s: e for s, e in json.loads(ds.attrs["end_years_requested"]).items()}
    if len(set(requested.values())) > 1:
        typer.echo(f"note: the scenarios end in different years; all are compared to "
                   f"{years[-1]}, the earliest", err=True)
    for y in wanted:
        typer.echo(comparison_table(ds, y))
        typer.echo("")
    typer.echo("Wrote " + ", ".join(str(p) for p in written))


@app.command("scenarios")
def list_scenarios() -> None:
    """List the shipped scenarios with their one-line descriptions."""
    for path in shipped_scenarios():
        try:
            s = load_scenario(path)
        except ScenarioError as exc:  # a shipped file should never fail; say so if it does
            typer.echo(f"{path.stem:<20} (cannot be read: {exc})")
            continue
        first = s.description.split(". ")[0].rstrip(".") + "."
        typer.echo(f"{path.stem:<20} {s.title}: {first}")


def _version(value: bool) -> None:
    if value:
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


def main() -> None:
    """Run the command line; usage errors are one line on stderr with exit code 2, too.
    Ctrl-C is handled around this, once, by ``projection.outputs.interrupts.guarded``."""
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
        message = shown(" ".join(exc.format_message().split()))
        if message:  # empty when the help was printed for a bare command
            typer.echo(f"error: {message}{where}", err=True)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    from projection.outputs.interrupts import guarded

    guarded(main)
