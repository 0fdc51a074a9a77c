"""Worker processes that never outlive the process that started them, and pools that stop
promptly when the work is abandoned (Ctrl-C, SIGTERM, an error).

- :func:`worker_init` is the initializer of every process pool the model starts. The worker
  ignores SIGINT (Ctrl-C reaches the whole process group; the command that owns the pool
  reports it once and stops the pool, and a worker killed while it sends a result would leave
  the pool's reader waiting for the rest of the message for ever). It asks Linux to kill it
  when its parent dies (``prctl(PR_SET_PDEATHSIG, SIGKILL)``), and, on every system, a
  watchdog thread ends it once its parent is gone (the parent's pid is no longer its parent),
  so that ``kill -9`` of a command leaves no worker holding memory or the caller's pipe.
- :func:`owned` wraps an executor the caller made: on the way out after an exception (an
  interrupt included), queued work is cancelled, the blocks already running finish (a grace
  of ``GRACE_S`` seconds) and what is left of a process pool is killed, instead of every
  queued block being run first.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager

PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal a process receives when the thread that created it exits."""
WATCH_INTERVAL_S = 0.2
"""How often a worker's watchdog looks for its parent."""
GRACE_S = 5.0
"""Seconds a stopped process pool's workers get to finish the block they run."""


def _parent_death_signal() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; False where unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_INTERVAL_S)
    os._exit(1)  # the parent is gone: nobody will read a result


def worker_init(parent: int, death_signal: bool = True) -> None:
    """Initializer of a pool's worker process started by process ``parent``.

    ``death_signal``: use Linux's parent-death signal, which fires when the *thread* that
    started the worker exits; give False when the pool may start workers from a thread that
    ends before the pool does (the watchdog still ends the worker with the process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGTERM"):  # the pool stops a broken worker with SIGTERM
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if hasattr(signal, "pthread_sigmask"):  # started under signals_held()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    if death_signal:
        _parent_death_signal()
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="parent-watchdog", daemon=True).start()


def init_arguments() -> tuple[int, bool]:
    """``initargs`` for :func:`worker_init` in a pool created by the calling thread: the
    parent-death signal only when that thread is the main thread (it lives as long as the
    process)."""
    return os.getpid(), threading.current_thread() is threading.main_thread()


def stop(executor: Executor, grace: float = GRACE_S) -> None:
    """Cancel the queued work of ``executor``, let running work finish for up to ``grace``
    seconds, then kill the worker processes that are left (process pools)."""
    try:
        executor.shutdown(wait=False, cancel_futures=True)
    except TypeError:  # an executor without cancel_futures
        executor.shutdown(wait=False)
    processes = list((getattr(executor, "_processes", None) or {}).values())
    deadline = time.monotonic() + grace
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join(1.0)


@contextmanager
def owned(executor: Executor) -> Iterator[Executor]:
    """``with owned(pool):`` shuts ``pool`` down when the block ends: waiting for its work when
    the block ends normally, stopping it (:func:`stop`) when an exception leaves it."""
    try:
        yield executor
    except BaseException:
        stop(executor)
        raise
    executor.shutdown(wait=True)


@contextmanager
def signals_held(terminate: bool = True) -> Iterator[None]:
    """Block SIGINT (and SIGTERM unless not ``terminate``) in the calling thread while worker
    processes start: a started process inherits the blocked signals, so an interrupt during
    its start-up (before its initializer ignores SIGINT) cannot print a traceback from inside
    it. Threads started meanwhile inherit the mask too (a Dask cluster's event loop, and the
    worker processes it starts: they never see Ctrl-C at all). The command still receives the
    signal, at the latest when the mask is restored."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM} if terminate else {signal.SIGINT}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
