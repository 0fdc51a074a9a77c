"""Ctrl-C (and SIGTERM), handled once at the top for every command (see
``projection.outputs.console``).

The console script installs the handler before anything else is imported, so an interrupt
during start-up is handled like one late in a run: one line on stderr, ``error: interrupted``,
exit code 130 (the shell's convention for SIGINT), no traceback. The interrupt is raised as
:class:`Interrupted`, a ``BaseException`` that click does not intercept, so ``finally``
clauses run on the way out (the writers in ``projection.outputs.files`` remove their temporary
files there); a second Ctrl-C while they run is ignored rather than cutting the clean-up short.

A reader that stops reading early (``projection run baseline | head -3``) is handled as Unix
tools handle it: no message, no traceback, and the process ends by SIGPIPE, which a shell
reports as exit status 141 (128 + 13). Result files are complete by then: the commands write
them before they print, and clean-up runs on the way out as for Ctrl-C.

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
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE (13): what a shell reports for a command whose reader stopped reading; the
exit code where the process cannot end by the signal itself."""

MAX_REDELIVERIES = 5
"""How often an interrupt that Python could not raise (see :func:`_unraisable`) is sent again."""
REDELIVERY_DELAY_S = 0.01
"""Seconds before such an interrupt is sent again."""

EXIT_TERMINATED = 143
"""128 + SIGTERM (15): a command ended by ``kill`` (or a job scheduler's stop) ends as it does
on Ctrl-C, clean-up included, with this exit code and ``error: terminated``."""
TERMINATED_MESSAGE = "error: terminated"
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM")
                     if hasattr(signal, name))
"""The signals that stop a command with clean-up: Ctrl-C, and SIGTERM."""

_owner_pid: int | None = None
_interrupted = False
_signal_received: int = signal.SIGINT
_redelivered = 0
_default_unraisable = sys.unraisablehook


class Interrupted(BaseException):  # not an error: the user asked to stop
    """Ctrl-C (SIGINT) arrived: the command stops, clean-up code runs, the exit code is 130."""


def _on_interrupt(signum: int, frame: object) -> None:
    global _interrupted, _signal_received
    if os.getpid() != _owner_pid:
        # a worker process forked from the command: the command itself reports the
        # interrupt; a worker leaves quietly (no traceback of its own)
        os._exit(128 + signum)
    _interrupted = True
    _signal_received = signum
    for other in STOP_SIGNALS:  # a second Ctrl-C or kill must not stop the clean-up
        signal.signal(other, signal.SIG_IGN)
    raise Interrupted


def _unraisable(args: object) -> None:
    """An interrupt raised where Python cannot propagate an exception (a weakref callback or a
    ``__del__`` run by the garbage collector) would be printed as "Exception ignored" and lost,
    and the command would go on to exit 0. Instead, nothing is printed and the signal is sent
    again, to be raised at the next instruction that can raise it."""
    global _redelivered
    exc_type = getattr(args, "exc_type", None)
    if exc_type is not None and issubclass(exc_type, (Interrupted, KeyboardInterrupt)):
        if _redelivered < MAX_REDELIVERIES and os.getpid() == _owner_pid:
            import threading

            _redelivered += 1
            signal.signal(_signal_received, _on_interrupt)
            # sent from another thread a moment later, so that it is raised after this hook
            # and the callback have returned, where it can propagate
            threading.Timer(REDELIVERY_DELAY_S, os.kill,
                            (os.getpid(), _signal_received)).start()
        return
    _default_unraisable(args)  # type: ignore[arg-type]


def install() -> None:
    """Route SIGINT and SIGTERM to :class:`Interrupted` for this process (main thread only)."""
    global _owner_pid
    _owner_pid = os.getpid()
    sys.unraisablehook = _unraisable
    for signum in STOP_SIGNALS:
        signal.signal(signum, _on_interrupt)


def _stop() -> NoReturn:
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    terminated = _signal_received != signal.SIGINT
    try:
        sys.stderr.write((TERMINATED_MESSAGE if terminated else INTERRUPTED_MESSAGE) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed or a broken pipe: the exit code says it
        pass
    try:
        sys.stdout.flush()
    except (OSError, ValueError, AttributeError):
        pass
    # every ``finally`` clause has run (temporary files removed, pools stopped): end now,
    # without waiting at exit for threads that wait on work that will never be delivered
    os._exit(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED)


def _stdout_pipe_closed() -> bool:
    """True when standard output is a pipe (or socket) whose reader has gone away."""
    try:
        import select

        poll = select.poll()
        poll.register(sys.__stdout__.fileno(), 0)  # POLLERR and POLLHUP are always reported
        return any(events & select.POLLERR for _, events in poll.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows), stdout closed
        return False


def _broken_pipe() -> NoReturn:
    """End as a Unix tool does when its reader has gone: silently, by SIGPIPE."""
    try:  # Python flushes stdout on exit; that write must not fail with a message either
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno())
    except (AttributeError, OSError, ValueError):
        pass
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGPIPE)
    os._exit(EXIT_BROKEN_PIPE)


def guarded(entry: Callable[[], object]) -> NoReturn:
    """Call ``entry`` (which exits through ``sys.exit``) with interrupts handled: on Ctrl-C,
    one line on stderr and exit code 130, even when the interrupt was caught and dropped
    somewhere on the way (the handler notes it before it raises)."""
    try:
        if _owner_pid != os.getpid():
            install()
        entry()
    except (Interrupted, KeyboardInterrupt):
        _stop()
    except BrokenPipeError:
        _broken_pipe()
    except SystemExit as exc:
        if _interrupted:
            _stop()
        # click reports a write to a closed pipe as exit code 1, with no message
        if exc.code == 1 and _stdout_pipe_closed():
            _broken_pipe()
        raise
    if _interrupted:
        _stop()
    sys.exit(0)
