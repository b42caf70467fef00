"""Ray batching: work split into tasks that a pool of threads pulls in turn.

Both engines' kernels release the GIL (numba ``nogil``, embreex), so rays are
traced on Python threads: the work is cut into tasks of about 32 k rays and
each thread takes the next task when done, so a core slowed down by other
processes, or given the expensive rays, simply takes fewer. Answers never
depend on the number of threads.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np


def _threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def worker_count(name: str) -> int:
    """Threads tracing for an engine: numba's thread count for ``"numba"``
    (``NUMBA_NUM_THREADS``, ``numba.set_num_threads``), one per core for
    Embree."""
    if name == "numba":
        return max(1, int(numba.get_num_threads()))
    return _threads()


# the thread pools by size (created on first use, kept for the process)
_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool(n_workers: int) -> ThreadPoolExecutor:
    pool = _POOLS.get(n_workers)
    if pool is None:
        pool = ThreadPoolExecutor(n_workers, thread_name_prefix="cimcity-ray")
        _POOLS[n_workers] = pool
    return pool


def split(n: int, unit: int, n_workers: int, align: int = 1) -> list[slice]:
    """Split ``n`` items into slices of about ``unit`` items (at least one per
    worker when ``n`` allows), bounds on multiples of ``align``: the pool's
    threads pull them one after the other, so a core slowed down by other
    processes, or given the expensive rays, simply takes fewer."""
    n_tasks = max(1, min(-(-n // align), max(-(-n // unit), n_workers)))
    cuts = np.round(np.linspace(0, n, n_tasks + 1) / align) * align
    bounds = np.unique(np.clip(np.append(cuts, [0, n]), 0, n).astype(np.int64))
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def run_all(fn, slices, n_workers: int):
    """Run ``fn`` on each slice on ``n_workers`` pool threads (embreex and our
    numba kernels release the GIL); yields the results in order."""
    if len(slices) == 1 or n_workers == 1:
        return map(fn, slices)
    return _pool(n_workers).map(fn, slices)


def report_rows(results, n, rows, progress) -> None:
    """Drain ``results`` (the last row done by each task, in order), calling
    ``progress(done, n)`` each time the done rows pass a multiple of ``rows``
    and at the end."""
    reported = 0
    for done in results:
        if progress is not None and (done // rows > reported // rows or done == n):
            progress(done, n)
            reported = done
