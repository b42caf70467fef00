"""Hierarchical visibility on sensor lattices (numba) on plain arrays.

Sensors laid on one plane's grid (column ``i``, row ``j`` of a patch) are
traced coarse first: the sensors on every ``2^L``-th column and row (and the
last ones) for every direction, then each finer level infers a sensor's
blocked bit from the corners of the coarser cell enclosing it when they all
agree, and lists the pairs where they disagree (or a corner is missing) for
tracing. Bits are bit-packed, little bit order (as
:func:`cimcity.raycast.occluded_matrix` writes them).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_JIT = dict(nogil=True, cache=True, error_model="numpy")


@njit(**_JIT)
def _axis_level(i, imax, top):  # pragma: no cover
    """Largest step ``2^k <= top`` dividing ``i`` (or ``top`` at the last index)."""
    if i == imax:
        return top
    s = top
    while s > 1:
        if i % s == 0:
            return s
        s //= 2
    return 1


@njit(**_JIT)
def _corners(i, imax, s):  # pragma: no cover
    """Indices of the step-``s`` cell enclosing ``i`` along one axis."""
    if i % s == 0 or i == imax:
        return i, i
    i0 = (i // s) * s
    return i0, min(i0 + s, imax)


@njit(parallel=True, **_JIT)
def lattice_levels(patch, col, row, top):  # pragma: no cover
    """Level and coarser-cell corners of each sensor.

    Parameters
    ----------
    patch, col, row : (n,) int64
        Lattice position of each sensor (patch < 0: off any lattice).
    top : int
        Coarsest step (a power of two, e.g. 4).

    Returns
    -------
    level : (n,) int64
        ``top`` for the coarse sensors (and off-lattice ones: traced in full),
        else the step ``s`` of the sensor's level (its corners are on the
        step-``2s`` lattice).
    corners : (n, 4) int64
        Sensor indices of the enclosing cell's corners (-1: no sensor there);
        all -1 for level ``top``.
    """
    n = patch.shape[0]
    level = np.full(n, top, np.int64)
    corners = np.full((n, 4), -1, np.int64)
    if n == 0:
        return level, corners
    P = 0
    for k in range(n):
        P = max(P, patch[k] + 1)
    imax = np.full(P, -1, np.int64)
    jmax = np.full(P, -1, np.int64)
    for k in range(n):
        p = patch[k]
        if p >= 0:
            imax[p] = max(imax[p], col[k])
            jmax[p] = max(jmax[p], row[k])
    base = np.zeros(P + 1, np.int64)
    for p in range(P):
        w = (imax[p] + 1) * (jmax[p] + 1) if imax[p] >= 0 else 0
        base[p + 1] = base[p] + w
    grid = np.full(base[P], -1, np.int64)
    for k in range(n):
        p = patch[k]
        if p >= 0:
            grid[base[p] + col[k] * (jmax[p] + 1) + row[k]] = k
    for k in prange(n):
        p = patch[k]
        if p < 0:
            continue
        i = col[k]
        j = row[k]
        lv = min(_axis_level(i, imax[p], top), _axis_level(j, jmax[p], top))
        level[k] = lv
        if lv >= top:
            continue
        s = 2 * lv
        i0, i1 = _corners(i, imax[p], s)
        j0, j1 = _corners(j, jmax[p], s)
        h = jmax[p] + 1
        corners[k, 0] = grid[base[p] + i0 * h + j0]
        corners[k, 1] = grid[base[p] + i1 * h + j0]
        corners[k, 2] = grid[base[p] + i0 * h + j1]
        corners[k, 3] = grid[base[p] + i1 * h + j1]
    return level, corners


@njit(parallel=True, **_JIT)
def infer_level(sel, corners, group, gfront, bits, need):  # pragma: no cover
    """Set the bits the corners agree on; flag the pairs left to trace.

    For each sensor ``sel[r]`` and direction ``d`` in front of its group
    (``gfront[group[s], d]``): when its four corners exist, belong to the same
    normal group and agree (all blocked or all visible), the sensor's bit takes
    their value; otherwise ``need[d, r]`` is set (``need``: (d, len(sel)) bool).

    Returns
    -------
    (len(sel),) int64
        Pairs left to trace per sensor.
    """
    m = sel.shape[0]
    nd = gfront.shape[1]
    count = np.zeros(m, np.int64)
    for r in prange(m):
        s = sel[r]
        g = group[s]
        ok = True
        for c in range(4):
            q = corners[s, c]
            if q < 0 or group[q] != g:
                ok = False
        c0 = corners[s, 0]
        c1 = corners[s, 1]
        c2 = corners[s, 2]
        c3 = corners[s, 3]
        k = 0
        for d in range(nd):
            if not gfront[g, d]:
                continue
            byte = d >> 3
            sh = d & 7
            if ok:
                b0 = (bits[c0, byte] >> sh) & 1
                if (
                    b0 == (bits[c1, byte] >> sh) & 1
                    and b0 == (bits[c2, byte] >> sh) & 1
                    and b0 == (bits[c3, byte] >> sh) & 1
                ):
                    if b0:
                        bits[s, byte] |= np.uint8(1 << sh)
                    else:
                        bits[s, byte] &= ~np.uint8(1 << sh)
                    continue
            need[d, r] = True
            k += 1
        count[r] = k
    return count


@njit(parallel=True, **_JIT)
def pair_rays(
    sel, need, group, points, ldirs, origins, dirs, pair_s, pair_d
):  # pragma: no cover
    """Rays of the flagged pairs, direction-major (rays of one direction from
    neighbouring sensors follow each other: coherent packets).

    ``ldirs[group, d]`` is the (lifted) direction of ``d`` for a normal group;
    the output arrays hold ``need.sum()`` rays.
    """
    nd = need.shape[0]
    m = need.shape[1]
    start = np.zeros(nd + 1, np.int64)
    for d in prange(nd):
        c = 0
        for r in range(m):
            if need[d, r]:
                c += 1
        start[d + 1] = c
    for d in range(nd):
        start[d + 1] += start[d]
    for d in prange(nd):
        k = start[d]
        for r in range(m):
            if need[d, r]:
                s = sel[r]
                g = group[s]
                origins[k, 0] = points[s, 0]
                origins[k, 1] = points[s, 1]
                origins[k, 2] = points[s, 2]
                dirs[k, 0] = ldirs[g, d, 0]
                dirs[k, 1] = ldirs[g, d, 1]
                dirs[k, 2] = ldirs[g, d, 2]
                pair_s[k] = s
                pair_d[k] = d
                k += 1


@njit(**_JIT)
def scatter_pairs(bits, pair_s, pair_d, blocked):  # pragma: no cover
    """Bit ``pair_d[k]`` of row ``pair_s[k]`` of ``bits`` ← ``blocked[k]``."""
    for k in range(pair_s.shape[0]):
        s = pair_s[k]
        d = pair_d[k]
        bit = np.uint8(1 << (d & 7))
        if blocked[k]:
            bits[s, d >> 3] |= bit
        else:
            bits[s, d >> 3] &= ~bit
