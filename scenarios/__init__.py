"""The shipped scenario files (TOML), installed as package data beside this module.

Listing them needs no other import, so that `projection scenarios` answers at once.
"""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent


def shipped() -> list[Path]:
    """The shipped scenario files, sorted by name."""
    return sorted(FOLDER.glob("*.toml"))
