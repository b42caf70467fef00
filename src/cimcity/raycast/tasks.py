"""Ray batching: work split into tasks that a pool of threads pulls in turn.

Both engines' kernels release the GIL (numba ``nogil``, embreex), so rays are
traced on Python threads: the work is cut into tasks of about 32 k rays and
each thread takes the next task when done, so a core slowed down by other
processes, or given the expensive rays, simply takes fewer. The last tasks
shrink (a guided schedule, as OpenMP's ``schedule(guided)``) so that the
threads finish together. Answers never depend on the number of threads.
Hand-written: ``concurrent.futures`` pulls tasks but does not size them.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numba


def cores() -> int:
    """CPU cores this process may run on (its affinity mask)."""
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
    return cores()


# the thread pools by size (created on first use, kept for the process)
_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool(n_workers: int) -> ThreadPoolExecutor:
    pool = _POOLS.get(n_workers)
    if pool is None:
        pool = ThreadPoolExecutor(n_workers, thread_name_prefix="cimcity-ray")
        _POOLS[n_workers] = pool
    return pool


def split(n: int, unit: int, n_workers: int, align: int = 1) -> list[slice]:
    """Split ``n`` items into slices the pool's threads pull one after the
    other, bounds on multiples of ``align``.

    Slices hold ``unit`` items while much work remains, then shrink (a
    "guided" schedule: each slice at most ``1 / (2 n_workers)`` of what is
    left, down to ``unit / 8``), so the threads finish together: with equal
    slices, the last one ran alone on one thread while the others idled
    (1 M random rays in 17 slices on 2 threads: about 4 % of the run, Paris
    11e any-hit). A core slowed down by other processes, or given the
    expensive rays, simply takes fewer. Every worker gets a slice when ``n``
    allows.

    Parameters
    ----------
    n : int
        Items (rays, sensor rows, pairs) to split.
    unit : int
        Items per slice while much work remains.
    n_workers : int
        Threads pulling the slices.
    align : int
        Slice bounds (but the last) are multiples of it, e.g. the rays of a
        packet window.

    Returns
    -------
    list of slice
        Consecutive slices covering ``range(n)`` in order (empty for ``n <= 0``).
    """
    if n <= 0:
        return []
    unit = max(1, unit)
    n_workers = max(1, n_workers)
    per_worker = -(-n // n_workers)
    floor = min(max(unit // 8, 1), per_worker)
    floor = -(-floor // align) * align
    bounds = [0]
    left = n
    while left > 0:
        size = max(min(unit, -(-left // (2 * n_workers))), floor)
        size = min(-(-size // align) * align, left)
        bounds.append(bounds[-1] + size)
        left -= size
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
