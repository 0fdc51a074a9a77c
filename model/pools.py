"""Workers for the blocks of an ensemble on this machine, started before use: threads of this
process for the compiled engine, the numpy engine's process pool, or worker processes that
each run XLA on one thread."""

from __future__ import annotations

import os
from concurrent.futures import Executor

from .integrate import BLOCK_SAMPLES


def local_pool(backend: str = "auto", samples: int | None = None,
               workers: int | None = None) -> Executor | None:
    """Workers for the blocks of a run of ``samples`` members on this machine, already
    started (so that threads started later, such as a progress bar's, are not forked): the
    engine's own process pool for numpy, threads of this process for numba (its compiled
    engine releases the GIL), single-threaded XLA workers for xla; None where one engine
    block holds every member, or where the engine's pool would be unsafe (see
    ``model.ensemble.default_executor``). ``backend`` as in ``model.ensemble.BACKENDS``."""
    from .ensemble import default_executor

    count = workers or os.cpu_count() or 1
    blocks = count if samples is None else -(-samples // BLOCK_SAMPLES)
    if blocks <= 1:
        return None
    from .ensemble import resolve_backend

    backend = resolve_backend(backend)
    if backend == "numba":
        from .kernel import block_threads

        return block_threads(blocks, count)
    pool = xla_workers(count) if backend == "xla" else default_executor(blocks, count)
    if pool is not None:
        from .workers import signals_held

        with signals_held():
            list(pool.map(abs, range(count)))  # start every worker now
    return pool


SINGLE_THREAD_XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
"""XLA's CPU client flags for one compute thread per process: on the 2-core reference machine
two such worker processes ran 1.4-1.6 times faster than one process with two threads (XLA
splits each RK4 step into ~140 small fusions whose thread hand-offs cost more than they
save at a block of a few thousand samples)."""


def _single_threaded_xla(parent: int, death_signal: bool) -> None:
    from .workers import worker_init

    # Ctrl-C reaches the whole process group: the command reports it once and stops the
    # pool; a worker must not print a KeyboardInterrupt traceback of its own, nor outlive it
    worker_init(parent, death_signal)
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " "
                               + SINGLE_THREAD_XLA_FLAGS).strip()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from . import xla  # noqa: F401  (import and load the compilation cache once per worker)


def xla_workers(workers: int | None = None) -> Executor:
    """A pool of freshly started worker processes, each running XLA on one thread: the fast
    way to run the ``xla`` backend on several cores. Close it (``with`` or ``shutdown``) when
    done; workers load compiled programs from the per-machine cache after the first time."""
    import multiprocessing
    import sys
    from concurrent.futures import ProcessPoolExecutor

    count = workers or os.cpu_count() or 1
    # forking is quick and safe while this process has not started XLA's threads itself
    forkable = "jax" not in sys.modules and "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if forkable else "spawn")
    from .workers import init_arguments

    # spawned workers may start later, from another thread: the watchdog, not the
    # parent-death signal (tied to the starting thread), ends them with this process
    return _started(ProcessPoolExecutor(max_workers=count, initializer=_single_threaded_xla,
                                        initargs=(init_arguments()[0], False),
                                        mp_context=context))


def _started(pool: Executor) -> Executor:
    """``pool`` with a worker process started now, while this thread holds SIGINT and SIGTERM
    (``model.workers.signals_held``)."""
    from .workers import signals_held

    with signals_held():
        pool.submit(int).result()
    return pool
