"""Thread chunking for the zonal engine.

shapely's vectorised functions and the numba kernels of
:mod:`cimcity._kernels.polygons` release the GIL, so the heavy steps of the
engine run as chunks of one array in a thread pool: no process start-up, no
copy of the flattened polygons.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import InputError


def _threads(threads) -> int:
    """Worker threads for ``threads=`` (None: the CPU count, at most 8)."""
    if threads is None:
        return max(1, min(os.cpu_count() or 1, 8))
    threads = int(threads)
    if threads < 1:
        raise InputError(f"threads must be >= 1, got {threads}")
    return threads


def _chunks(n: int, threads: int, min_size: int = 5_000) -> list[slice]:
    """Slices of ``range(n)``: about two per thread, none under ``min_size``."""
    k = max(1, min(threads * 2, n // min_size))
    cuts = np.linspace(0, n, k + 1).astype(np.int64)
    return [slice(cuts[i], cuts[i + 1]) for i in range(k)]


def _parallel(func, n: int, threads: int, min_size: int = 5_000) -> list:
    """``func(slice)`` over chunks of ``range(n)`` in threads (shapely and the
    numba kernels release the GIL); results in chunk order."""
    parts = _chunks(n, threads, min_size)
    if len(parts) == 1 or threads == 1:
        return [func(sl) for sl in parts]
    with ThreadPoolExecutor(threads) as ex:
        return list(ex.map(func, parts))
