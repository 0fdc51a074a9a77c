"""``projection validate`` and ``projection calibrate``: the command functions that outputs/cli.py
registers. Same conventions as the other commands: a user error prints one line
``error: <file>: <key>: <what was expected>`` to stderr and exits 2, with no partial output.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from projection.model.errors import ProjectionError
from projection.model.errors import shown as escaped
from projection.outputs.files import check_output_file, parse_output, write_file

if TYPE_CHECKING:
    from projection.validation.calibration import FitResult

# The model, scipy and the reference data load inside the commands that use them, so that
# `projection --help` starts at once.

EXIT_FAILED = 1
"""A check failed, or a fit is ill-posed or did not converge."""
EXIT_BAD_INPUT = 2
"""The user's input (a file, a key, an option) cannot be used."""
USER_ERRORS = (ProjectionError,)


def fail(message: str) -> None:
    typer.echo(f"error: {escaped(message)}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def validate_command(
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    checks: Annotated[Path | None, typer.Option(
        "--checks", help="Check registry (.toml) (default: validation/data/checks.toml)."
    )] = None,
    references: Annotated[Path | None, typer.Option(
        "--references", help="Reference figures (.csv) (default: validation/data/"
        "reference_figures.csv)."
    )] = None,
) -> None:
    """Check the model against every published figure: each passes, misses for a reason
    checks.toml states, or fails; exit 0 unless one fails."""
    from projection.validation.checks import format_table, report_json, run_checks

    try:
        report = run_checks(checks, references)
    except USER_ERRORS as exc:
        fail(str(exc))
        return
    if json_output:
        typer.echo(json.dumps(report_json(report), indent=2))
    else:
        typer.echo(format_table(report))
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


# --- calibrate -------------------------------------------------------------------------------

def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    return [line.format(*header), line.format(*("-" * w for w in widths)),
            *(line.format(*r).rstrip() for r in rows)]


def fit_report(result: FitResult, series_path: Path) -> str:
    """The fit in words and tables: values with 1-sigma, correlation, residuals, hold-outs."""
    from projection.validation.calibration import count, value_text
    from projection.validation.references import fmt

    s = result.scenario
    out = [f"Calibrating {s.name} ({s.path}) to {count(len(result.points), 'figure')} "
           f"of {series_path}"]
    if result.values.size and result.model.size:
        rows = []
        for i, fp in enumerate(result.parameters):
            sd = "n/a" if result.sigma is None else fmt(float(result.sigma[i]), 3)
            rows.append((fp.key, value_text(fp.parameter, float(result.values[i])), sd,
                         value_text(fp.parameter, fp.initial),
                         f"{fmt(fp.lower)} to {fmt(fp.upper)} {fp.unit}"))
        out += ["", "Fitted values (1-sigma from the Jacobian, s^2 (J^T J)^-1):"]
        out += _table(rows, ("parameter", "fitted", "1-sigma", "was", "range"))
        if result.correlation is not None and len(result.parameters) > 1:
            labels = [fp.label for fp in result.parameters]
            corr = [[labels[i], *(f"{result.correlation[i, j]:+.3f}" for j in range(len(labels)))]
                    for i in range(len(labels))]
            out += ["", "Correlation of the fitted values:"]
            out += _table(corr, ("", *labels))
        residuals = [(p.reference.id, str(p.year), p.reference.describe(), fmt(float(m)),
                      f"{float(r) * 100:+.1f} %", f"{p.sigma * 100:.1f} %")
                     for p, m, r in zip(result.points, result.model, result.residuals,
                                        strict=True)]
        out += ["", "Residuals at the fitted values:"]
        out += _table(residuals,
                      ("figure", "year", "reference", "model", "difference", "uncertainty"))
        if result.holdouts:
            rows = []
            for p, m in zip(result.holdouts, result.holdout_model, strict=True):
                ref = p.reference
                diff = (f"{(float(m) / ref.central - 1) * 100:+.1f} %"
                        if ref.value is not None or ref.is_range else
                        f"{(float(m) / float(ref.low or ref.high or 1.0) - 1) * 100:+.1f} % "
                        "of the bound")
                rows.append((ref.id, str(p.year), ref.describe(), fmt(float(m)), diff))
            out += ["", "Held out (not fitted):"]
            out += _table(rows, ("figure", "year", "reference", "model", "difference"))
        out += ["", f"chi-square {result.chi2:.4g} for {count(result.dof, 'degree')} of freedom; "
                    f"{result.evaluations} evaluations; condition number of J^T J "
                    f"{result.condition:.3g}; {result.message}"]
    out += [f"warning: {w}" for w in result.warnings]
    return "\n".join(out)


def fit_json(result: FitResult) -> dict:
    """The fit for machines."""
    import numpy as np

    return {
        "scenario": str(result.scenario.path),
        "ok": result.ok,
        "problems": result.problems,
        "warnings": result.warnings,
        "parameters": [
            {"key": fp.key, "value": float(v), "unit": fp.unit, "initial": fp.initial,
             "lower": fp.lower, "upper": fp.upper,
             "sigma": None if result.sigma is None else float(result.sigma[i])}
            for i, (fp, v) in enumerate(zip(result.parameters, result.values, strict=True))
        ],
        "correlation": None if result.correlation is None else result.correlation.tolist(),
        "residuals": [
            {"reference": p.reference.id, "year": p.year, "reference_value": p.reference.central,
             "model": float(m), "relative": float(r), "uncertainty": p.sigma}
            for p, m, r in zip(result.points, result.model, result.residuals, strict=True)
        ],
        "holdouts": [
            {"reference": p.reference.id, "year": p.year, "model": float(m)}
            for p, m in zip(result.holdouts, result.holdout_model, strict=True)
        ],
        "chi2": result.chi2 if result.weighted.size else None,
        "dof": result.dof,
        "condition": result.condition if np.isfinite(result.condition) else None,
        "evaluations": result.evaluations,
    }


def relative_extends(original: Path, output: Path) -> str:
    """The path of ``original`` as seen from the folder of ``output`` (what ``extends`` needs)."""
    try:
        return Path(os.path.relpath(original.resolve(), output.resolve().parent)).as_posix()
    except ValueError:  # another drive on Windows
        return original.resolve().as_posix()


def write_scenario_file(text: str, output: Path, force: bool,
                        inputs: Sequence[Path] = ()) -> None:
    """Write ``text`` to ``output`` atomically, after checking that it loads and runs.

    A temporary file beside ``output`` is loaded with ``load_scenario`` and run, then moved
    into place; an existing file is replaced only with ``force``, and never when it is one of
    ``inputs`` (the scenario calibrated and every file it extends).
    """
    from projection.model.run import run_scenario
    from projection.model.scenario import load_scenario

    write_file(output, lambda part: part.write_text(text, encoding="utf-8"), force=force,
               inputs=inputs, verify=lambda part: run_scenario(load_scenario(part)))


def calibrate_command(
    scenario: Annotated[str, typer.Argument(help="Scenario file (.toml) or a shipped name.")],
    fit: Annotated[list[str] | None, typer.Option(
        "--fit", help="A parameter to fit, as section.name (repeat for more) "
        "(default: the scenario's values that declare low and high)."
    )] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", parser=parse_output, help="Calibrated scenario file to write (default: "
        "<scenario>_calibrated.toml in the current folder)."
    )] = None,
    series: Annotated[Path | None, typer.Option(
        "--series", help="Historical series (.csv) (default: validation/data/"
        "historical_series.csv)."
    )] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the output file.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the fit as JSON.")] = False,
) -> None:
    """Fit scenario parameters to the historical series and write a calibrated scenario file.

    Exit 0 on a good fit, 1 when the fit is ill-posed or does not converge (nothing is
    written), 2 on bad input.
    """
    from projection.model.scenario import find_scenario, load_scenario
    from projection.validation.calibration import calibrate_scenario, calibrated_toml
    from projection.validation.references import load_series

    try:
        loaded = load_scenario(find_scenario(scenario))
        target = output if output is not None else Path(f"{loaded.path.stem}_calibrated.toml")
        check_output_file(target, inputs=loaded.files, force=force)
        points = load_series(series)
        result = calibrate_scenario(loaded, points, fit)
        shown = series if series is not None else Path("validation/data/historical_series.csv")
        if result.ok:
            text = calibrated_toml(result, relative_extends(loaded.path, target), shown.name)
            write_scenario_file(text, target, force, loaded.files)
    except USER_ERRORS as exc:
        fail(str(exc))
        return
    if json_output:
        data = fit_json(result)
        data["written"] = str(target) if result.ok else None
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(fit_report(result, shown))
    if not result.ok:
        for problem in result.problems:
            typer.echo(f"error: {loaded.path}: fit {problem}", err=True)
        raise typer.Exit(EXIT_FAILED)
    if not json_output:
        typer.echo(f"Wrote {target} (extends {relative_extends(loaded.path, target)}); "
                   f"run it with: projection run {target}")
