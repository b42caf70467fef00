"""Spatial order and bounding-box joins for the zonal engine.

:class:`_Grid` bins boxes on a uniform grid and answers "which boxes meet this
one" in numba (:func:`cimcity._kernels.polygons.grid_query`), the answer of
``shapely.STRtree.query`` without a predicate, several times faster on city
layers because no Python/GEOS boundary is crossed per query.
:func:`_coherent` and :func:`_z_order` tell whether a layer comes in a
spatially coherent order and put it in Z-order when it does not (memory
locality for the kernels).
"""

from __future__ import annotations

import numpy as np

from .._kernels.polygons import grid_build, grid_query
from .threads import _parallel


class _Grid:
    """Boxes binned on a uniform grid for bounding-box joins (numba, see
    :func:`cimcity._kernels.polygons.grid_query`); the answer of
    ``shapely.STRtree(geoms).query(other)`` without predicate, about 5 times
    faster on city layers (no Python/GEOS boundary per query)."""

    #: boxes covering more cells than this are tested one by one
    MAX_CELLS = 64

    def __init__(self, bounds: np.ndarray):
        self.bounds = np.ascontiguousarray(bounds, dtype=np.float64)
        b = self.bounds
        ok = np.isfinite(b[:, 0])  # empty geometries have infinite bounds
        n = int(ok.sum())
        if n:
            lo = np.array([np.min(b[:, k], where=ok, initial=np.inf) for k in (0, 1)])
            hi = np.array([np.max(b[:, k], where=ok, initial=-np.inf) for k in (2, 3)])
            idx = np.flatnonzero(ok)
            s_ = b[idx[:: max(1, n // 10_000)]]  # a sample
            size = np.maximum(s_[:, 2] - s_[:, 0], s_[:, 3] - s_[:, 1])
            span = float(max(hi[0] - lo[0], hi[1] - lo[1], 1e-9))
            # cells about the size of a typical box (median of a sample), at
            # most ~4 per box
            cell = max(float(np.median(size)), span / 4096.0, 1e-9)
            cell = max(cell, span / np.sqrt(4.0 * n + 16.0))
        else:
            lo, hi, cell = np.zeros(2), np.zeros(2), 1.0
        self.x0, self.y0, self.cell = float(lo[0]), float(lo[1]), float(cell)
        self.nx = int(min((hi[0] - lo[0]) / cell, 1e7)) + 1
        self.ny = int(min((hi[1] - lo[1]) / cell, 1e7)) + 1
        self.start, self.items, self.big = grid_build(
            b, self.x0, self.y0, self.cell, self.nx, self.ny, self.MAX_CELLS
        )

    def query(self, qbounds: np.ndarray, threads: int, strict: bool = False):
        """(query index, item index) of the boxes that meet (touching counts;
        with ``strict``, only those that overlap over a positive area), sorted
        by query; threaded over chunks of queries."""
        qbounds = np.ascontiguousarray(qbounds, dtype=np.float64)
        args = (self.bounds, self.start, self.items, self.big)
        grid = (self.x0, self.y0, self.cell, self.nx, self.ny)

        def run(sl):
            qb = qbounds[sl]
            cap = 4 * len(qb) + 64
            while True:
                q = np.empty(cap, np.int64)
                p = np.empty(cap, np.int64)
                m = grid_query(*args, *grid, qb, strict, q, p)
                if m <= cap:
                    return q[:m] + sl.start, p[:m]
                cap = m

        res = _parallel(run, len(qbounds), threads, 50_000)
        return np.concatenate([r[0] for r in res]), np.concatenate([r[1] for r in res])


def _coherent(bounds: np.ndarray) -> bool:
    """Whether boxes (n, 4) come in a spatially coherent order: the median
    step between consecutive centres is at most 4 typical box sizes (row after
    row, tiles, Z-order...), as opposed to shuffled."""
    if len(bounds) < 1000:
        return True  # small: fits in cache whatever the order
    i = np.linspace(0, len(bounds) - 2, 4096).astype(np.int64)  # a sample
    a, b = bounds[i], bounds[i + 1]
    ok = np.isfinite(a[:, 0]) & np.isfinite(b[:, 0])
    a, b = a[ok], b[ok]
    if not len(a):
        return True
    step = np.abs(0.5 * (a[:, :2] + a[:, 2:]) - 0.5 * (b[:, :2] + b[:, 2:])).max(axis=1)
    size = np.maximum(a[:, 2] - a[:, 0], a[:, 3] - a[:, 1])
    return bool(np.median(step) <= 4.0 * np.median(size))


def _z_order(bounds: np.ndarray) -> np.ndarray:
    """Permutation sorting boxes (n, 4) by the Z-order (Morton) code of their
    centres on a 2¹⁶ grid over their extent; empty boxes (inf) last."""
    c = 0.5 * (bounds[:, :2] + bounds[:, 2:])
    ok = np.isfinite(c).all(axis=1)
    if not ok.any():
        return np.arange(len(bounds))
    lo = c[ok].min(axis=0)
    span = np.maximum(c[ok].max(axis=0) - lo, 1e-300)
    q = np.zeros((len(c), 2), np.uint64)
    q[ok] = ((c[ok] - lo) / span * 65535.0).astype(np.uint64)

    def spread(v):
        v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF)
        v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F)
        v = (v | (v << np.uint64(2))) & np.uint64(0x33333333)
        return (v | (v << np.uint64(1))) & np.uint64(0x55555555)

    code = spread(q[:, 0]) | (spread(q[:, 1]) << np.uint64(1))
    code[~ok] = np.iinfo(np.uint64).max
    return np.argsort(code, kind="stable")
