"""Ctrl-C, handled once at the top for every command (see ``projection.outputs.console``).

The console script installs the handler before anything else is imported, so an interrupt
during start-up is handled like one late in a run: one line on stderr, ``error: interrupted``,
exit code 130 (the shell's convention for SIGINT), no traceback. The interrupt is raised as
:class:`Interrupted`, a ``BaseException`` that click does not intercept, so ``finally``
clauses run on the way out (the writers in ``projection.outputs.files`` remove their temporary
files there); a second Ctrl-C while they run is ignored rather than cutting the clean-up short.

Only the standard library is imported at module level: this module must load in milliseconds.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import NoReturn

EXIT_INTERRUPTED = 130
"""128 + SIGINT (2): what a shell reports for a command stopped with Ctrl-C."""
INTERRUPTED_MESSAGE = "error: interrupted"

_owner_pid: int | None = None


class Interrupted(BaseException):  # not an error: the user asked to stop
    """Ctrl-C (SIGINT) arrived: the command stops, clean-up code runs, the exit code is 130."""


def _on_interrupt(signum: int, frame: object) -> None:
    if os.getpid() != _owner_pid:
        # a worker process forked from the command: the command itself reports the
        # interrupt; a worker leaves quietly (no traceback of its own)
        os._exit(EXIT_INTERRUPTED)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not stop the clean-up
    raise Interrupted


def install() -> None:
    """Route SIGINT to :class:`Interrupted` for this process (main thread only)."""
    global _owner_pid
    _owner_pid = os.getpid()
    signal.signal(signal.SIGINT, _on_interrupt)


def guarded(entry: Callable[[], object]) -> NoReturn:
    """Call ``entry`` (which exits through ``sys.exit``) with interrupts handled: on Ctrl-C,
    one line on stderr and exit code 130."""
    try:
        if _owner_pid != os.getpid():
            install()
        entry()
    except (Interrupted, KeyboardInterrupt):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            sys.stderr.write(INTERRUPTED_MESSAGE + "\n")
            sys.stderr.flush()
        except (OSError, ValueError):  # stderr closed or a broken pipe: the exit code says it
            pass
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(0)
