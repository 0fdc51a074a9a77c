"""``projection brief``: a briefing that a reader takes in within five minutes.

Writes a self-contained HTML page (styles inline, charts as data URIs, no script, nothing
fetched to view it), a Markdown version beside it and, with ``--pdf``, a PDF printed from the
same page by headless Chromium. matplotlib is imported only when the command runs. Bad input
is one line on stderr, exit code 2, and nothing written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from projection.outputs.cli_settings import Settings
from projection.outputs.cli_settings import overrides as set_overrides
from projection.outputs.files import parse_output

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
"""Executables tried, in order, for --pdf; PROJECTION_CHROMIUM names another."""
PDF_TIMEOUT_S = 120
DEFAULT_SAMPLES = 500
"""Runs of each scenario in the ensemble behind the ranges unless ``--uncertainty`` says
otherwise (an assumption about what a reader waits for, checked by measurement): the 2030
5th and 95th percentiles of baseline's and high_growth's electricity from 500 Latin-hypercube
runs moved by at most 2.5 % over five seeds (200 runs: up to 5 %), and 500 runs of the numpy
engine took about 0.35 s a scenario. More runs narrow the sampling noise, not the range."""
MAX_SAMPLES = 100_000
"""The most runs a briefing asks of each scenario (about 10 s a scenario on the numpy engine):
larger ensembles are for `projection uncertainty`, which streams them to disk."""


def find_chromium() -> str | None:
    """The headless browser that prints the PDF: $PROJECTION_CHROMIUM, or the first on PATH."""
    import shutil

    named = os.environ.get("PROJECTION_CHROMIUM")
    if named:
        return shutil.which(named)
    return next((found for b in BROWSERS if (found := shutil.which(b))), None)


def chromium_flags(profile: str) -> list[str]:
    """Flags for a headless run that touches nothing of the user's (a throw-away profile)."""
    flags = ["--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             f"--user-data-dir={profile}", "--disable-extensions", "--disable-sync",
             "--metrics-recording-only"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox
    return flags


def print_pdf(browser: str, page: str, target: Path) -> None:
    """Print ``page`` (HTML text) to ``target`` with headless Chromium."""
    import subprocess
    import tempfile

    from projection.outputs.files import OutputError

    with tempfile.TemporaryDirectory(prefix="projection-brief-") as work:
        source = Path(work) / "brief.html"
        source.write_text(page, encoding="utf-8")
        command = [browser, *chromium_flags(str(Path(work) / "profile")),
                   "--no-pdf-header-footer", f"--print-to-pdf={target}", source.as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, text=True,
                                  timeout=PDF_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise OutputError(f"{target}: Chromium could not print the PDF ({exc})") from None
        if done.returncode != 0 or not target.exists() or target.stat().st_size == 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise OutputError(f"{target}: Chromium could not print the PDF ({last})")


def output_problem(output: Path) -> str | None:
    """Why the briefing could not be written to ``output`` (checked before any work), or None."""
    if output.is_dir():
        return f"{output}: is a folder; expected a file name ending in .html"
    folder = output.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder}: exists and is not a folder; cannot write {output.name} under it"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{folder}: is not writable; cannot write {output.name}"
    return None


def targets(output: Path, pdf: bool) -> list[Path]:
    """The files a briefing writes: the page, the Markdown beside it and, with --pdf, the PDF."""
    found = [output, output.with_suffix(".md")]
    return found + [output.with_suffix(".pdf")] if pdf else found


def is_briefing(path: Path) -> bool:
    """Whether ``path`` is a briefing this command wrote (so that a new one may replace it)."""
    from projection.outputs.brief import GENERATOR, TITLE

    try:
        if path.suffix == ".pdf":
            return is_briefing(path.with_suffix(".html"))
        head = path.read_text(encoding="utf-8", errors="replace")[:4000]
    except OSError:
        return False
    return GENERATOR in head if path.suffix != ".md" else head.startswith(f"# {TITLE}")


SAMPLES_MAX = 2**53
"""Largest --uncertainty accepted as a number (``model.budget.SAMPLES_MAX``); memory refuses
far fewer."""


def _check_ranges_fit(scenarios, samples: int) -> None:
    """Before any run: the ensembles of --uncertainty (held in memory) fit in memory."""
    from projection.model import budget
    from projection.model.uncertainty import EnsembleError, check_fits, design
    from projection.outputs.brief import RANGE_METHOD, RANGE_OUTPUTS, RANGE_SEED

    for s in scenarios:
        try:
            planned = design(s, samples, RANGE_SEED, RANGE_METHOD)
        except EnsembleError:  # no declared range: the briefing says so and runs none
            continue
        try:
            check_fits(planned, RANGE_OUTPUTS, None)
        except EnsembleError as exc:
            raise budget.BudgetError("--uncertainty", f"{samples:,}", exc.message) from None


def brief_command(
    scenarios: Annotated[list[str], typer.Argument(help="Scenario files or shipped names; the "
                         "first is the one the headline is about.")],
    uncertainty: Annotated[int, typer.Option(
        "--uncertainty", help="Runs of each scenario in the ensemble behind the 5th-95th "
        "percentile ranges (at least 2; 0 turns the ranges off).")] = DEFAULT_SAMPLES,
    baseline: Annotated[str, typer.Option(
        "--baseline", help="The scenario every chart and difference is compared with.")
    ] = "baseline",
    output: Annotated[Path, typer.Option(
        "--output", "-o", parser=parse_output, help="The HTML file to write; the Markdown (.md) "
        "and PDF (.pdf) go beside it.")] = Path("brief.html"),
    pdf: Annotated[bool, typer.Option("--pdf", help="Also print a PDF of the page with "
                                      "headless Chromium.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace files of the same names that "
                                        "are not briefings.")] = False,
    settings: Settings = None,
) -> None:
    """Write a briefing (HTML, Markdown and optionally PDF) on one or more scenarios."""
    from projection.model.errors import ProjectionError
    from projection.outputs.cli_validation import fail

    if uncertainty != 0 and not 2 <= uncertainty <= MAX_SAMPLES:
        fail(f"--uncertainty: expected a number of runs from 2 to {MAX_SAMPLES}, or 0 for "
             f"no ranges, got {uncertainty}")
    if output.suffix.lower() not in (".html", ".htm"):
        fail(f"--output: {output}: expected a file name ending in .html")
    problem = output_problem(output)
    if problem:
        fail(f"--output: {problem}")
    browser = find_chromium() if pdf else None
    if pdf and browser is None:
        fail("--pdf: no Chromium found on PATH (install Debian's 'chromium' package, or set "
             "PROJECTION_CHROMIUM to the browser's executable)")
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:  # a dependency of the plain install, removed since
        fail(f"brief needs matplotlib, which is not installed (pip install matplotlib): {exc}")
        return
    try:
        written = _write(scenarios, baseline, output, browser, uncertainty, force,
                         set_overrides(settings))
    except ProjectionError as exc:
        fail(str(exc))
        return
    typer.echo("Wrote " + ", ".join(str(p) for p in written))


def _write(scenarios, baseline, output, browser, uncertainty, force,
           settings=None) -> list[Path]:
    """Check every input and output first, then run, render and write all files or none.
    ``settings`` (``--set``) apply to the scenarios named, not to the baseline (unless it is
    one of them)."""
    from projection.model.scenario import overriding, resolve_scenario_path

    with overriding(settings or {}, paths=[resolve_scenario_path(s) for s in scenarios]):
        return _write_briefing(scenarios, baseline, output, browser, uncertainty, force)


def _write_briefing(scenarios, baseline, output, browser, uncertainty, force) -> list[Path]:
    from projection.model.results import command_line
    from projection.model.scenario import find_scenario, load_scenario
    from projection.outputs import brief
    from projection.outputs.files import (
        OutputError,
        check_not_input,
        check_output_folder,
        write_all,
    )

    paths = [find_scenario(s) for s in scenarios]  # a misspelt name: did you mean ...?
    base = find_scenario(baseline)
    loaded = [load_scenario(p) for p in [*paths, base]]
    inputs = [f for s in loaded for f in s.files]
    if uncertainty:
        _check_ranges_fit(loaded, uncertainty)
    folder = check_output_folder(output.parent if str(output.parent) else Path("."),
                                 inputs=inputs)
    for target in targets(output, browser is not None):
        check_not_input(target, inputs)
        if target.is_dir():
            raise OutputError(f"{target}: is a folder; expected to write a file here")
        if target.exists() and not force and not is_briefing(target):
            raise OutputError(f"{target}: exists and is not a briefing; choose another "
                              "--output or use --force to replace it, nothing was written")
    briefing = brief.prepare(paths, base, command=command_line(), uncertainty=uncertainty)
    content = brief.blocks(briefing, brief.make_charts(briefing))
    page = brief.render_html(briefing, content)
    markdown = brief.render_markdown(briefing, content)
    writers = {
        output.name: lambda p: p.write_text(page, encoding="utf-8"),
        output.with_suffix(".md").name: lambda p: p.write_text(markdown, encoding="utf-8"),
    }
    if browser is not None:
        writers[output.with_suffix(".pdf").name] = lambda p: print_pdf(browser, page, p)
    return write_all(folder, writers, inputs=inputs, datasets=[briefing.ds])
