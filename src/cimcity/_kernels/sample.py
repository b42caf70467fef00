"""Sensor grids on planar patches (numba).

:meth:`cimcity.mesh.CityMesh.sample` groups coplanar faces into *patches* and
lays a regular grid over each patch in its own plane. This kernel intersects
every triangle of a patch with the grid cells its bounding box covers
(Sutherland–Hodgman clipping of the triangle by the cell rectangle) and
accumulates, per cell, the exact area of the patch inside it, its first moment
and the largest single piece. Hand-written because no maintained library
rasterises triangles to exact cell coverage with moments (GEOS could clip
each cell with shapely, at ~100× the cost for millions of cells).

Coordinates are 2D in the patch frame, relative to the patch grid origin, so
cell ``(i, j)`` covers ``[i·su, (i+1)·su] × [j·sv, (j+1)·sv]``. The outer
rows and columns are left open outwards so rounding at the patch bounds
cannot lose area.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True, inline="always")
def _clip(xs, ys, n, ox, oy, axis, bound, keep_ge):
    """Clip polygon ``(xs, ys)[:n]`` by ``coord >= bound`` (or ``<=``) into ``ox, oy``."""
    m = 0
    for i in range(n):
        j = i + 1 if i + 1 < n else 0
        ax = xs[i]
        ay = ys[i]
        bx = xs[j]
        by = ys[j]
        ca = ax if axis == 0 else ay
        cb = bx if axis == 0 else by
        ina = ca >= bound if keep_ge else ca <= bound
        inb = cb >= bound if keep_ge else cb <= bound
        if ina:
            ox[m] = ax
            oy[m] = ay
            m += 1
        if ina != inb:
            t = (bound - ca) / (cb - ca)
            if axis == 0:
                ox[m] = bound
                oy[m] = ay + t * (by - ay)
            else:
                ox[m] = ax + t * (bx - ax)
                oy[m] = bound
            m += 1
    return m


@nb.njit(cache=True, nogil=True, inline="always")
def _cell(o, i, j, nv):
    """Index of cell (i, j): columns in boustrophedon order (odd columns run
    backwards), so consecutive sensors stay neighbours (coherent ray packets)."""
    if i % 2 == 0:
        return o + i * nv + j
    return o + i * nv + (nv - 1 - j)


@nb.njit(cache=True, nogil=True, parallel=True)
def grid_cells(tri2d, scale, pstart, nu, nv, su, sv, offs, min_frac):
    """Exact coverage of each patch's grid cells by its triangles.

    Parameters
    ----------
    tri2d : (t, 3, 2) float64
        Triangles in their patch frame, relative to the patch grid origin [m],
        sorted by patch.
    scale : (t,) float64
        3D area / 2D area of each triangle (1 for exactly coplanar faces), so
        cell areas sum exactly to the 3D face areas.
    pstart : (P + 1,) int64
        Triangles of patch ``p`` are ``pstart[p]:pstart[p + 1]``.
    nu, nv : (P,) int64
        Grid columns (along u) and rows (along v) of each patch.
    su, sv : (P,) float64
        Cell size along u and v [m].
    offs : (P + 1,) int64
        Cells of patch ``p`` are ``offs[p]:offs[p + 1]``, column by column
        (see :func:`_cell`).
    min_frac : float
        Cells covered less than this fraction of a full cell hand their area
        to their best-covered neighbour (8-neighbourhood) when that one is
        covered at least ``min_frac``; isolated fragments stay.

    Returns
    -------
    area : (C,) float64
        Patch area in each cell after merging [m²] (0: no sensor).
    px, py : (C,) float64
        Sensor position in the patch frame [m]: the cell's centroid when the
        cell is (almost) fully covered, else the centroid of its largest
        triangle piece (always on the surface).
    tri : (C,) int64
        Triangle (row of ``tri2d``) holding the largest piece of the cell.
    """
    P = len(nu)
    C = offs[P]
    area = np.zeros(C)
    mx = np.zeros(C)
    my = np.zeros(C)
    ba = np.zeros(C)
    px = np.zeros(C)
    py = np.zeros(C)
    tri = np.full(C, -1, np.int64)
    for p in nb.prange(P):
        bx = np.empty(16)
        by = np.empty(16)
        cx = np.empty(16)
        cy = np.empty(16)
        o = offs[p]
        NU = nu[p]
        NV = nv[p]
        SU = su[p]
        SV = sv[p]
        for t in range(pstart[p], pstart[p + 1]):
            x0 = tri2d[t, 0, 0]
            y0 = tri2d[t, 0, 1]
            x1 = tri2d[t, 1, 0]
            y1 = tri2d[t, 1, 1]
            x2 = tri2d[t, 2, 0]
            y2 = tri2d[t, 2, 1]
            i0 = max(int(np.floor(min(x0, x1, x2) / SU)), 0)
            i1 = min(int(np.floor(max(x0, x1, x2) / SU)), NU - 1)
            j0 = max(int(np.floor(min(y0, y1, y2) / SV)), 0)
            j1 = min(int(np.floor(max(y0, y1, y2) / SV)), NV - 1)
            for i in range(i0, i1 + 1):
                for j in range(j0, j1 + 1):
                    bx[0] = x0
                    by[0] = y0
                    bx[1] = x1
                    by[1] = y1
                    bx[2] = x2
                    by[2] = y2
                    n = 3
                    if i > 0:
                        n = _clip(bx, by, n, cx, cy, 0, i * SU, True)
                    else:
                        for k in range(n):
                            cx[k] = bx[k]
                            cy[k] = by[k]
                    if n < 3:
                        continue
                    if i < NU - 1:
                        n = _clip(cx, cy, n, bx, by, 0, (i + 1) * SU, False)
                    else:
                        for k in range(n):
                            bx[k] = cx[k]
                            by[k] = cy[k]
                    if n < 3:
                        continue
                    if j > 0:
                        n = _clip(bx, by, n, cx, cy, 1, j * SV, True)
                    else:
                        for k in range(n):
                            cx[k] = bx[k]
                            cy[k] = by[k]
                    if n < 3:
                        continue
                    if j < NV - 1:
                        n = _clip(cx, cy, n, bx, by, 1, (j + 1) * SV, False)
                    else:
                        for k in range(n):
                            bx[k] = cx[k]
                            by[k] = cy[k]
                    if n < 3:
                        continue
                    # shoelace area and centroid, relative to the first vertex
                    ax = bx[0]
                    ay = by[0]
                    a2 = 0.0
                    sx = 0.0
                    sy = 0.0
                    for k in range(1, n - 1):
                        ux = bx[k] - ax
                        uy = by[k] - ay
                        wx = bx[k + 1] - ax
                        wy = by[k + 1] - ay
                        cr = ux * wy - uy * wx
                        a2 += cr
                        sx += cr * (ux + wx)
                        sy += cr * (uy + wy)
                    if a2 <= 0.0:
                        continue
                    gx = ax + sx / (3.0 * a2)
                    gy = ay + sy / (3.0 * a2)
                    a = 0.5 * a2 * scale[t]
                    c = _cell(o, i, j, NV)
                    area[c] += a
                    mx[c] += a * gx
                    my[c] += a * gy
                    if a > ba[c]:
                        ba[c] = a
                        px[c] = gx
                        py[c] = gy
                        tri[c] = t
        full = SU * SV
        for c in range(o, o + NU * NV):
            if area[c] >= 0.99 * full:
                px[c] = mx[c] / area[c]
                py[c] = my[c] / area[c]
        # hand small fragments to a well-covered neighbour
        lim = min_frac * full
        for i in range(NU):
            for j in range(NV):
                c = _cell(o, i, j, NV)
                a = area[c]
                if a <= 0.0 or a >= lim:
                    continue
                best = -1
                besta = lim
                for di in range(-1, 2):
                    for dj in range(-1, 2):
                        ii = i + di
                        jj = j + dj
                        if ii < 0 or jj < 0 or ii >= NU or jj >= NV:
                            continue
                        if di == 0 and dj == 0:
                            continue
                        cc = _cell(o, ii, jj, NV)
                        if area[cc] >= besta:
                            besta = area[cc]
                            best = cc
                if best >= 0:
                    area[best] += a
                    area[c] = 0.0
    return area, px, py, tri


@nb.njit(cache=True, nogil=True, parallel=True)
def cell_points(cells, px, py, tri, patch, o, u, v, umin, vmin, normals, v0, offset):
    """3D sensor points of the kept cells, on their triangle's plane.

    ``p = o + (umin + px)·u + (vmin + py)·v`` in the patch frame, projected onto
    the plane of the triangle holding the cell (patches group faces within a
    plane tolerance), then moved ``offset`` [m] along that triangle's normal.
    ``tri`` indexes ``normals``/``v0`` (per triangle), ``patch`` maps triangle to
    patch; ``o, u, v, umin, vmin`` are per patch.
    """
    q = len(cells)
    out = np.empty((q, 3))
    for k in nb.prange(q):
        c = cells[k]
        t = tri[c]
        p = patch[t]
        a = umin[p] + px[c]
        b = vmin[p] + py[c]
        x = o[p, 0] + a * u[p, 0] + b * v[p, 0]
        y = o[p, 1] + a * u[p, 1] + b * v[p, 1]
        z = o[p, 2] + a * u[p, 2] + b * v[p, 2]
        nx = normals[t, 0]
        ny = normals[t, 1]
        nz = normals[t, 2]
        d = (x - v0[t, 0]) * nx + (y - v0[t, 1]) * ny + (z - v0[t, 2]) * nz - offset
        out[k, 0] = x - d * nx
        out[k, 1] = y - d * ny
        out[k, 2] = z - d * nz
    return out
