"""Preloaded into each worker process of the local Dask cluster that ``--dask`` starts.

Ctrl-C reaches every process of the terminal's process group; the command reports it once and
closes the cluster, so a worker ignores SIGINT rather than printing a traceback of its own.
Dask calls :func:`dask_setup` in the worker process when the worker starts.
"""

from __future__ import annotations

import signal
import threading


def dask_setup(worker: object) -> None:
    """Ignore Ctrl-C in this worker process (the command that started it handles it)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
