"""The ``projection`` console script: the interrupt handler first, then the commands.

:func:`main` installs the handler of :mod:`projection.outputs.interrupts` before it imports
the command line, so that Ctrl-C during start-up ends as it does late in a run (one line,
exit code 130, no traceback). Only the standard library is imported at module level.
"""

from __future__ import annotations

from projection.outputs.interrupts import guarded, install


def _run_command_line() -> None:
    from projection.outputs.cli import main as command_line

    command_line()


def main() -> None:
    """The console script: install the interrupt handler, then import and run the commands."""
    install()
    guarded(_run_command_line)


if __name__ == "__main__":
    main()
