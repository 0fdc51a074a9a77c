"""``projection scenarios``: the shipped scenarios, the policy levers apart from the
assumptions, and with ``--diff A B`` every parameter in which B differs from A (value, range,
schedule, source), levers first.

The plain listing reads only the ``[scenario]`` tables and the parameter table: no units, no
model, so it answers at once.
"""

from __future__ import annotations

from collections.abc import Callable

ROLE_HEADINGS = {
    "lever": "Policy levers (what a government, utility or operator decides)",
    "assumption": "Assumptions (what the world does)",
}


def listing(echo: Callable[[str], None]) -> None:
    """The shipped scenarios with their one-line stories, then the levers and a count of the
    assumptions."""
    from projection.model.errors import ProjectionError
    from projection.model.parameters import PARAMETERS
    from projection.model.safe_io import load_toml
    from projection.scenario_files import shipped

    for path in shipped():  # the [scenario] tables only: no units, no model
        try:
            meta = load_toml(path, what="a scenario file")[0]["scenario"]
            title = " ".join(str(meta["title"]).split())
            description = " ".join(str(meta["description"]).split())
        except (ProjectionError, KeyError, TypeError) as exc:  # a shipped file should
            echo(f"{path.stem:<20} (cannot be read: {exc})")  # never fail: say so
            continue
        first = description.split(". ")[0].rstrip(".") + "."
        echo(f"{path.stem:<20} {title}: {first}")
    levers = [p for p in PARAMETERS if p.role == "lever"]
    assumptions = [p for p in PARAMETERS if p.role == "assumption"]
    echo("")
    echo(ROLE_HEADINGS["lever"] + ":")
    width = max(len(p.key) for p in levers)
    for p in levers:
        echo(f"  {p.key:<{width}}  {p.unit:<13}  {_first_sentence(p.description)}")
    per_workload = sum(p.per_workload for p in assumptions)
    echo(f"{ROLE_HEADINGS['assumption']}: {len(assumptions)} parameters ({per_workload} of them "
         "given per workload); 'projection scenarios --diff A B' shows both kinds where two "
         "scenarios differ.")
    echo("Any lever or assumption read while the run advances can change over time: "
         "--set 'KEY=VALUE; YEAR: VALUE' or a schedule in the scenario file (README, "
         "docs/schedules.md).")


def _first_sentence(text: str) -> str:
    first = text.split(". ")[0].split(" (")[0].rstrip(".")
    return first if len(first) <= 70 else first[:67] + "..."


def diff(first: str, second: str, echo: Callable[[str], None]) -> None:
    """Every parameter in which scenario ``second`` differs from ``first``: value, range or
    schedule, with sources, levers apart from assumptions."""
    from projection.model.scenario import find_scenario, load_scenario, parameter_for_key

    a, b = (load_scenario(find_scenario(s)) for s in (first, second))
    differing = [k for k in sorted(a.entries) if _compared(a.entries[k]) != _compared(b.entries[k])]
    settings = [(k, getattr(a, k), getattr(b, k)) for k in ("start_year", "end_year",
                                                             "substeps_per_year")
                if getattr(a, k) != getattr(b, k)]
    by_role = {role: [k for k in differing if parameter_for_key(k).role == role]
               for role in ROLE_HEADINGS}
    counts = ", ".join(f"{len(keys)} {'policy lever' if role == 'lever' else 'assumption'}"
                       f"{'s' if len(keys) != 1 else ''}" for role, keys in by_role.items())
    echo(f"{b.name} ({b.path}) against {a.name} ({a.path}): {len(differing)} "
         f"parameter{'s' if len(differing) != 1 else ''} differ ({counts}); uncertain inputs: "
         f"{len(a.distributions())} and {len(b.distributions())}")
    width = max(len(a.name), len(b.name)) + 1
    for key, va, vb in settings:
        echo(f"scenario.{key}")
        echo(f"  {a.name + ':':<{width}} {va}\n  {b.name + ':':<{width}} {vb}")
    for role, keys in by_role.items():
        if not keys:
            continue
        echo(ROLE_HEADINGS[role])
        for key in keys:
            echo(key)
            for s in (a, b):
                e = s.entries[key]
                echo(f"  {s.name + ':':<{width}} {_shown(e)}  (source: {e.source}; {e.file})")


def _compared(e) -> tuple:
    """What makes two entries differ: value, schedule and range (not the file or source)."""
    return (e.base_value, tuple((y, v) for y, _, v in e.schedule), e.ramp,
            e.distribution.__dict__ if e.distribution is not None else None)


def _shown(e) -> str:
    """An entry's value, schedule and range as one line of text."""
    text = e.text
    if e.schedule:
        text += "; " + "; ".join(f"from {year}: {value}" for year, value, _ in e.schedule)
        text += " (ramp)" if e.ramp else ""
    if e.distribution_text is not None and e.distribution is None:  # dist = "fixed"
        text += "; no range (dist = fixed)"
    elif e.distribution_text is not None:
        declared = e.distribution_text
        span = " to ".join(declared[k] for k in ("low", "high") if k in declared)
        extra = ", ".join(f"{k} {declared[k]}" for k in ("mode", "sd") if k in declared)
        text += f"; range {declared['dist']} {span}" + (f" ({extra})" if extra else "")
        if e.range_file is not None:
            text += f", kept from {e.range_file}"
    elif e.range_file is not None:
        text += f"; range {e.range_file}"
    else:
        text += "; no range"
    return text
