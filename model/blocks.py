"""The identity of an ensemble's block files: what each records about the members it holds,
and the check that a block kept for ``--resume`` is the block of this ensemble it claims to be
(a renamed block, or one from another seed, method, scenario or design, silently changes the
result otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np


def _error(where: Path | str, message: str) -> Exception:
    from .requests import EnsembleError

    return EnsembleError(where, "", message)


def design_sha256(record: Mapping[str, object]) -> str:
    """The hash of everything that defines an ensemble's members (the scenario's hash, method,
    seed, sample count, distributions, correlations, years, outputs, block size)."""
    import hashlib

    text = json.dumps(record, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def block_identity(span: tuple[int, int], record: Mapping[str, object]) -> dict[str, object]:
    """What a block file records about the members it holds, checked on ``--resume``. The
    first and last member are text: exact whatever their size."""
    return {"design_sha256": design_sha256(record), "first_member": str(span[0]),
            "stop_member": str(span[1]), "seed": str(record.get("seed")),
            "sample_method": str(record.get("method")),
            "scenario_sha256": str(record.get("scenario_sha256"))}


def check_block(path: Path, span: tuple[int, int], record: Mapping[str, object],
                 years: int) -> None:
    """Refuse, on ``--resume``, a block file that is not the block ``span`` of this design: a
    renamed block, one from another seed, method, scenario or design, one without the record
    (written by an older version) or one whose arrays do not have the block's shape."""
    from .netcdf3 import NetCDFError, read_header, read_variable

    try:
        variables, attrs = read_header(path)
    except (OSError, NetCDFError) as e:
        raise _error(path, f"not a readable block file ({e}); delete it to run "
                            "its block again") from None
    expected = block_identity(span, record)
    if "design_sha256" not in attrs:
        raise _error(path, "records no design (written by an older version); "
                            "delete the ensemble folder, or run without --resume")
    named = f"{span[0]:,}-{span[1]:,}"
    if (attrs.get("first_member"), attrs.get("stop_member")) != (expected["first_member"],
                                                                 expected["stop_member"]):
        theirs = "-".join(f"{int(str(v)):,}" if str(v).isdigit() else str(v)[:20] for v in (
            attrs.get("first_member"), attrs.get("stop_member")))
        raise _error(path, f"holds members {theirs}, not {named} as its name says; "
                            "delete it to run its block again")
    for key in ("seed", "sample_method", "scenario_sha256", "design_sha256"):
        if attrs.get(key) != expected[key]:
            raise _error(path, f"was made with another {key.replace('_', ' ')} "
                                f"({str(attrs.get(key))[:20]}, this run: "
                                f"{str(expected[key])[:20]}); delete it to run its block again")
    n = span[1] - span[0]
    for name, shape in (("usable", (n,)), ("calibration_error", (n,)), ("sample", (n,))):
        if name not in variables or variables[name].shape != shape:
            raise _error(path, f"variable {name} is missing or not of {n} members; "
                                "delete it to run its block again")
    outputs = record.get("outputs", [])
    for name in outputs if isinstance(outputs, list) else []:
        if name not in variables or variables[name].shape[0] != years \
                or variables[name].shape[-1] != n:
            raise _error(path, f"output {name} is missing or not of {years} years x "
                                f"{n} members; delete it to run its block again")
    sample = read_variable(path, "sample", variables)
    if not np.array_equal(sample, np.arange(*span)):
        raise _error(path, f"its member numbers are not {named}; delete it to run "
                            "its block again")
