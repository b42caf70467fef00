"""Where tiles run (``scheduler=``): a Dask cluster, threads or serially.

``"distributed"`` (the default) uses the ``client`` given (any Dask cluster:
dask-jobqueue, Kubernetes, a ``LocalCluster``), else starts a
:class:`distributed.LocalCluster` of one single-threaded worker process per
core with ``NUMBA_NUM_THREADS=1`` (the numba ray kernels use their own threads:
one per worker keeps the cores busy without oversubscribing them; Embree
traces on one thread per core of the worker's CPU affinity); a run of fewer
tiles than cores gets fewer workers with ``cores // workers`` numba threads
each. ``"threads"``
runs tiles on a thread pool in this process, ``"serial"`` one after the other
(debugging). Every scheduler calls :func:`map_unordered`, which yields each
tile's outcome as it finishes (the driver records it at once), so a failed
tile never loses the finished ones.
"""

from __future__ import annotations

import os
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager

from .._compat import import_optional
from ..errors import InputError

#: how city runs execute tiles
RUN_SCHEDULERS = ("distributed", "threads", "serial")


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


def local_cluster(n_workers=None, memory_limit="4GiB", processes=True):
    """A LocalCluster sized for numba kernels (module docstring).

    Parameters
    ----------
    n_workers : int, optional
        Worker processes; default one per core. With fewer workers than
        cores, each worker's numba kernels get ``cores // n_workers`` threads.
    memory_limit : str
        Per worker.
    processes : bool
        Worker processes (else threads of this process, whose numba thread
        count is not changed).
    """
    distributed = import_optional("distributed")
    n = max(1, min(n_workers or _cores(), _cores()))
    threads = str(max(1, _cores() // n))
    env = {"NUMBA_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}
    kw = dict(n_workers=n, threads_per_worker=1, processes=processes,
              memory_limit=memory_limit, dashboard_address=None)
    if processes:
        kw["env"] = env
    return distributed.LocalCluster(**kw)


@contextmanager
def session(scheduler, client=None, n_tasks=None):
    """The Dask client of a whole run: ``client`` when given, else one
    LocalCluster (:func:`local_cluster`) for all the run's steps (survey,
    flood network, tiles), so its worker processes start, import and load
    their compiled kernels once per run, not once per step; None for the
    ``"threads"`` and ``"serial"`` schedulers. A run of fewer tiles
    (``n_tasks``) than cores gets fewer workers with more numba threads
    each, so a one-tile city still uses every core."""
    if scheduler != "distributed" or client is not None:
        yield client
        return
    distributed = import_optional("distributed")
    with local_cluster(n_tasks) as cluster, distributed.Client(cluster) as own:
        yield own


def _safe(func, task):
    try:
        return True, func(task)
    except Exception as exc:  # reported per tile by the driver
        return False, dict(error=f"{type(exc).__name__}: {exc}",
                           traceback=traceback.format_exc(limit=8))


def map_unordered(func, tasks, *, scheduler="distributed", client=None):
    """Yield ``(task, ok, value)`` for each task as it finishes.

    ``value`` is ``func(task)`` when ``ok``, else ``{"error", "traceback"}``.
    """
    if scheduler not in RUN_SCHEDULERS:
        raise InputError(
            f"unknown scheduler {scheduler!r}; expected one of "
            f"{', '.join(map(repr, RUN_SCHEDULERS))}"
        )
    if not tasks:
        return
    if scheduler == "serial":
        for t in tasks:
            yield (t, *_safe(func, t))
        return
    if scheduler == "threads":
        with ThreadPoolExecutor(max_workers=_cores()) as pool:
            futs = {pool.submit(_safe, func, t): t for t in tasks}
            for f in as_completed(futs):
                yield (futs[f], *f.result())
        return
    distributed = import_optional("distributed")
    own = client is None
    cluster = None
    if own:
        cluster = local_cluster()
        client = distributed.Client(cluster)
    try:
        futs = client.map(_safe, [func] * len(tasks), tasks, pure=False)
        index = {f.key: t for f, t in zip(futs, tasks)}
        for f in distributed.as_completed(futs):
            ok, value = f.result()
            yield index[f.key], ok, value
            f.release()
    finally:
        if own:
            client.close()
            cluster.close()
