"""``projection explore``: write the explorer page (one self-contained HTML file)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from projection.outputs.files import parse_output

GENERATOR = '<meta name="generator" content="projection explore'
"""How a file written by ``projection explore`` starts: such a file may be replaced."""


def is_explorer(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:2000]
    except OSError:
        return False
    return GENERATOR in head


def explore_command(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name the sliders "
                                            "start from.")] = "baseline",
    baseline: Annotated[str, typer.Option(
        "--baseline", help="The scenario drawn in grey on every chart.")] = "baseline",
    output: Annotated[Path, typer.Option(
        "--output", "-o", parser=parse_output, help="The HTML file to write.")
    ] = Path("explorer.html"),
    end_year: Annotated[int, typer.Option(
        "--end-year", help="Last year the page projects.")] = 2050,
    settings: Annotated[list[str] | None, typer.Option(
        "--set", metavar="KEY=VALUE", help="Open the page with this value set, as a slider "
        "would set it: 'KEY=VALUE', or a lever from a year 'KEY=VALUE; YEAR: VALUE' "
        "(repeat the option for more).")] = None,
    open_page: Annotated[bool, typer.Option("--open", help="Open the page in the default "
                                            "browser once written.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace a file of the same name that "
                                        "is not an explorer page.")] = False,
) -> None:
    """Write the explorer: one HTML file that runs the model in the browser, offline."""
    from projection.model.errors import ProjectionError
    from projection.outputs.cli_validation import fail

    if output.suffix.lower() not in (".html", ".htm"):
        fail(f"--output: {output}: expected a file name ending in .html")
    try:
        written = _write(scenario, baseline, output, end_year, force, settings or [])
    except ProjectionError as exc:
        fail(str(exc))
        return
    typer.echo(f"Wrote {written}")
    if open_page:
        import webbrowser

        if not webbrowser.open(written.resolve().as_uri()):
            typer.echo("note: no browser could be opened; open the file yourself", err=True)


def _write(scenario: str, baseline: str, output: Path, end_year: int, force: bool,
           settings: list[str]) -> Path:
    """Check the inputs and the output, build the page, then write it whole or not at all."""
    from projection.model.results import command_line
    from projection.model.scenario import find_scenario, load_scenario
    from projection.model.settings import OPTION, parse_settings
    from projection.outputs.explorer import build_page, initial_state
    from projection.outputs.files import (
        OutputError,
        check_not_input,
        check_output_folder,
        write_all,
    )

    own = load_scenario(find_scenario(scenario), end_year=end_year)
    overrides = parse_settings(settings)
    # every value checked as the loader checks a file's (units, bounds, schedule years)
    given = load_scenario(own.path, end_year=end_year, overrides=overrides, origin=OPTION)
    start = initial_state(own, given, list(overrides))
    base = load_scenario(find_scenario(baseline), end_year=end_year)
    inputs = [*own.files, *base.files]
    folder = check_output_folder(output.parent if str(output.parent) else Path("."),
                                 inputs=inputs)
    check_not_input(output, inputs)
    if output.is_dir():
        raise OutputError(f"{output}: is a folder; expected to write a file here")
    if output.exists() and not force and not is_explorer(output):
        raise OutputError(f"{output}: exists and is not an explorer page; choose another "
                          "--output or use --force to replace it, nothing was written")
    page = build_page(own, base, command_line(), start)
    written = write_all(folder, {output.name: lambda p: p.write_text(page, encoding="utf-8")},
                        inputs=inputs)
    return written[0] if written else folder / output.name
