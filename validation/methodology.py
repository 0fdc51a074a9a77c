"""The generated parts of docs/methodology.md: the parameter table (from the model's parameter
table and the baseline scenario) and the comparison of the project's 2028 and 2030 results with
published projections (from actual runs), so that the document cannot drift from the code.

    python -m projection.validation.methodology --write docs/methodology.md
    python -m projection.validation.methodology --check docs/methodology.md   # exit 1 if stale
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path
from typing import Any

from projection.model.parameters import PARAMETERS, WORKLOADS
from projection.model.results import OUTPUTS
from projection.model.run import run_scenario
from projection.model.scenario import load_scenario, resolve_scenario_path, workload_key

from .references import Reference, ReferenceDataError, convert, data_dir, fmt, load_references

GENERATOR = "python -m projection.validation.methodology --write docs/methodology.md"
DIGITS = 3
"""Significant figures in the table: the model is not more precise than this."""


def default_projections_path() -> Path:
    return data_dir() / "published_projections.toml"


def load_projections(path: Path | None = None) -> dict[str, Any]:
    path = path or default_projections_path()
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ReferenceDataError(path, "", f"cannot be read ({exc})") from None


def _published(ref: Reference) -> str:
    return ref.describe(DIGITS)


def _position(value: float, ref: Reference) -> str:
    """Where the baseline sits against a published value or range."""
    if ref.value is not None:
        return f"{(value / ref.value - 1) * 100:+.0f} %"
    if ref.is_range:
        if value < ref.low:  # type: ignore[operator]
            return f"{(value / ref.low - 1) * 100:+.0f} % below the range"  # type: ignore[operator]
        if value > ref.high:  # type: ignore[operator]
            return f"{(value / ref.high - 1) * 100:+.0f} % above the range"  # type: ignore[operator]
        share = (value - ref.low) / (ref.high - ref.low)  # type: ignore[operator]
        return f"inside, {share * 100:.0f} % of the way up"
    return "n/a"


def comparison_rows(path: Path | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """The scenarios compared and, per published projection, the figure and the model's values."""
    spec = load_projections(path)
    references = load_references()
    names = list(spec["scenarios"])
    runs = {name: run_scenario(load_scenario(resolve_scenario_path(name))) for name in names}
    rows = []
    for item in spec["projection"]:
        ref = references[item["reference"]]
        values = []
        for name in names:
            da = runs[name][item["output"]]
            value = float(da.sel(year=item["year"]))
            if "since" in item:
                value -= float(da.sel(year=item["since"]))
            values.append(convert(value, da.attrs["units"], ref.unit))
        rows.append({"reference": ref, "item": item,
                     "values": dict(zip(names, values, strict=True))})
    return names, rows


def comparison_markdown(path: Path | None = None) -> str:
    """The Markdown table (without the surrounding markers)."""
    names, rows = comparison_rows(path)
    header = ["Published projection", "Year", "Published", *names, "Baseline vs published",
              "Why the project differs"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        ref: Reference = row["reference"]
        item = row["item"]
        what = ref.quantity + (f" (increase since {item['since']})" if "since" in item else "")
        cells = [
            f"{what}; {ref.citation()} (`{ref.id}`, {ref.confidence})",
            str(item["year"]),
            _published(ref),
            *(fmt(row["values"][n], DIGITS) for n in names),
            _position(row["values"]["baseline"], ref) if "baseline" in names else "",
            " ".join(item["reason"].split()),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def parameters_markdown(scenario: str = "baseline") -> str:
    """Every model parameter: key, unit, kind, meaning, and the baseline's value and source."""
    s = load_scenario(resolve_scenario_path(scenario))
    lines = ["| Parameter | Unit | Kind | Meaning | Baseline value | Baseline source |",
             "|---|---|---|---|---|---|"]
    for p in PARAMETERS:
        if p.per_workload:
            keys = [workload_key(w, p.name) for w in WORKLOADS]
            value = " / ".join(s.entries[k].text for k in keys)
            sources = {s.entries[k].source for k in keys}
            source = "; ".join(f"{w}: {s.entries[k].source}" for w, k in zip(WORKLOADS, keys,
                                                                                 strict=True))
            source = source if len(sources) > 1 else next(iter(sources))
            name = f"`workloads.<workload>.{p.name}`"
        else:
            entry = s.entries[p.key]
            value, source, name = entry.text, entry.source, f"`{p.key}`"
            if entry.low_text is not None:
                value += f" (range {entry.low_text} to {entry.high_text})"
        lines.append("| " + " | ".join(_cell(c) for c in (
            name, p.unit, p.kind, p.description, value, source)) + " |")
    return "\n".join(lines)


def outputs_markdown() -> str:
    """Every result variable: name, unit, stock or flow, meaning."""
    lines = ["| Output | Unit | Kind | Meaning |", "|---|---|---|---|"]
    for o in OUTPUTS:
        lines.append("| " + " | ".join(_cell(c) for c in (
            f"`{o.name}`", o.unit, o.kind.split(":")[0], o.long_name)) + " |")
    return "\n".join(lines)


BLOCKS = {
    "parameters": parameters_markdown,
    "outputs": outputs_markdown,
    "comparison": comparison_markdown,
}
"""Generated blocks of the document, each between its two markers."""


def markers(name: str) -> tuple[str, str]:
    return (f"<!-- generated: {name} (edit the code or data, then run {GENERATOR}) -->",
            f"<!-- end generated: {name} -->")


def replace_block(document: str, name: str, text: str) -> str:
    """The document with the block ``name`` replaced by ``text``."""
    start, end = markers(name)
    if start not in document or end not in document:
        raise ValueError(f"the document needs the markers {start!r} and {end!r}")
    head, rest = document.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{text}\n{end}{tail}"


def without_generated(document: str) -> str:
    """The hand-written part of the document (every generated block removed)."""
    for name in BLOCKS:
        start, end = markers(name)
        if start in document and end in document:
            head, rest = document.split(start, 1)
            document = head + rest.split(end, 1)[1]
    return document


def render(document: str) -> str:
    for name, make in BLOCKS.items():
        document = replace_block(document, name, make())
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m projection.validation.methodology",
                                     description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, help="Regenerate the blocks of this document.")
    group.add_argument("--check", type=Path, help="Exit 1 if this document's blocks are stale.")
    args = parser.parse_args(argv)
    target = args.write or args.check
    document = target.read_text(encoding="utf-8")
    updated = render(document)
    if args.check:
        if updated != document:
            print(f"{target}: generated tables are stale; run {GENERATOR}")
            return 1
        print(f"{target}: generated tables are up to date")
        return 0
    target.write_text(updated, encoding="utf-8")
    print(f"Updated the generated tables in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
