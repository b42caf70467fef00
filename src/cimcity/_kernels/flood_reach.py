"""Flood fill from the source cells, with a budget: small connected floods.

:func:`reach` walks breadth first from the wet source cells through the
cells below their level (8- or 4-connectivity), as the connected flood of
:mod:`cimcity._kernels.flood_label` defines them, and gives up as soon as it
has reached ``budget`` cells. When a level floods little from its sources
(a low level, or wet cells scattered in islands too small to connect), the
fill costs a few cells where the labelling pass reads and labels the whole
DEM. Hand-written: scipy's labelling always labels every cell.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def reach(z, level, levels, grid, diagonal, seed_r, seed_c, budget, mark):
    """Cells connected to the wet source cells through cells below the level.

    Parameters
    ----------
    z : (rows, cols) float64
        Elevation [m], NaN = nodata (never wet).
    level : float
        Water level [m] (when ``grid`` is False).
    levels : (rows, cols) float64
        Per-cell levels [m] (when ``grid`` is True; NaN: no water).
    grid : bool
    diagonal : bool
        8-connectivity when True, 4 otherwise.
    seed_r, seed_c : (k,) int64
        Source cells; dry ones flood nothing.
    budget : int
        Most cells to reach before giving up.
    mark : (rows, cols) uint8
        Zeroed scratch; reached cells are set to 1.

    Returns
    -------
    n : int
        Cells reached, -1 when there are more than ``budget``.
    rows, cols : (budget,) int64
        The reached cells, first ``n`` entries (sources first, then breadth
        first).
    """
    nr, nc = z.shape
    qr = np.empty(budget, np.int64)
    qc = np.empty(budget, np.int64)
    n = 0
    for s in range(seed_r.shape[0]):
        n = _push(z, level, levels, grid, mark, seed_r[s], seed_c[s], qr, qc, n)
        if n < 0:
            return -1, qr, qc
    head = 0
    while head < n:
        r = qr[head]
        c = qc[head]
        head += 1
        for dr in range(-1, 2):
            rr = r + dr
            if rr < 0 or rr >= nr:
                continue
            for dc in range(-1, 2):
                cc = c + dc
                if cc < 0 or cc >= nc or (dr == 0 and dc == 0):
                    continue
                if not diagonal and dr != 0 and dc != 0:
                    continue
                n = _push(z, level, levels, grid, mark, rr, cc, qr, qc, n)
                if n < 0:
                    return -1, qr, qc
    return n, qr, qc


@njit(nogil=True, cache=True, inline="always")
def _push(z, level, levels, grid, mark, r, c, qr, qc, n):
    """Queue cell ``(r, c)`` when it is below its level and not reached yet:
    the new count, or -1 when the queue (the budget) is full."""
    lv = levels[r, c] if grid else level
    if mark[r, c] or not (z[r, c] < lv):
        return n
    if n == qr.shape[0]:
        return -1
    mark[r, c] = 1
    qr[n] = r
    qc[n] = c
    return n + 1
