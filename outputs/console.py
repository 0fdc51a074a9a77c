"""The ``projection`` console script: the interrupt handler first, then the commands.

:func:`main` installs the handler of :mod:`projection.outputs.interrupts` before it imports
the command line, so that Ctrl-C during start-up ends as it does late in a run (one line,
exit code 130, no traceback). Only the standard library is imported at module level.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from projection.outputs.interrupts import guarded, install

DASK_OPTIONS = ("--dask", "--scheduler")
"""The options that run work on Dask; without them no command needs Dask in this process."""


def hide_dask(argv: Sequence[str]) -> bool:
    """Keep Dask out of this process unless the command line asks for it.

    xarray and pint look for Dask when they first build an array or a quantity and, when it is
    installed, import it (about 0.5 s with ``dask.array``, several times a scenario run) to
    support Dask arrays, which no command hands them. Marking Dask as not importable for this
    process makes them skip it; ``--dask`` and ``--scheduler`` leave it importable. Returns
    whether Dask was hidden.
    """
    if "dask" in sys.modules or any(arg == option or arg.startswith(option + "=")
                                    for arg in argv for option in DASK_OPTIONS):
        return False
    sys.modules["dask"] = None  # type: ignore[assignment]  # importlib: "not installed"
    return True


def _run_command_line() -> None:
    from projection.outputs.cli import main as command_line

    command_line()


def main() -> None:
    """The console script: install the interrupt handler, then import and run the commands."""
    install()
    hide_dask(sys.argv[1:])
    guarded(_run_command_line)


if __name__ == "__main__":
    main()
