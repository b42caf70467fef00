"""Numba kernels for flood extents on a DEM grid.

All functions work on plain arrays: ``z`` is the (rows, cols) float64 elevation
with NaN for nodata; states are uint8 grids. No pandas or shapely inside.

The flood extent itself (union-find on runs of wet cells) is in
:mod:`cimcity._kernels.flood_label`. Kept here: the previous extent kernel
(:func:`open_runs`, :func:`connect_runs`, :func:`paint_depth`: the cells below
the level are read once, row by row, into runs; a flood fill walks the graph
of runs), a second reference for tests and the benchmark's "before" column;
the edge cells of the data (default sources), the level profile, the ring
samples of flood exposure and the priority-flood. The priority-flood (Barnes
et al., 2014) computes, in one pass, the level at which every cell becomes connected
to the sources, which no common library exposes for a level sweep.

References
----------
Barnes, R., Lehman, C., Mulla, D. (2014). Priority-flood: An optimal
depression-filling and watershed-labeling algorithm for digital elevation
models. Computers & Geosciences 62, 117-127. doi:10.1016/j.cageo.2013.04.024
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def _grow(a, n):
    b = np.empty(2 * a.shape[0], a.dtype)
    b[:n] = a[:n]
    return b


@njit(nogil=True, cache=True)
def open_runs(z, level):
    """Runs of consecutive cells strictly below a scalar water level, row by row.

    NaN elevations are never below the level. The scan is written as tight
    skip loops (about 1 ns per cell) rather than a per-cell state machine.

    Parameters
    ----------
    z : (rows, cols) float64 elevation [m], NaN = nodata
    level : float, water level [m]

    Returns
    -------
    row_ptr : (rows + 1,) int64
        Runs of row ``r`` are ``row_ptr[r]:row_ptr[r + 1]``.
    starts, ends : (k,) int64
        First column and one past the last column of each run, increasing
        within a row.
    """
    rows, cols = z.shape
    cap = max(1024, 2 * rows)
    starts = np.empty(cap, np.int64)
    ends = np.empty(cap, np.int64)
    row_ptr = np.empty(rows + 1, np.int64)
    k = 0
    for r in range(rows):
        row_ptr[r] = k
        c = 0
        while c < cols:
            while c < cols and not (z[r, c] < level):
                c += 1
            if c == cols:
                break
            if k == cap:
                cap *= 2
                grown = np.empty(cap, np.int64)
                grown[:k] = starts[:k]
                starts = grown
                grown = np.empty(cap, np.int64)
                grown[:k] = ends[:k]
                ends = grown
            starts[k] = c
            while c < cols and z[r, c] < level:
                c += 1
            ends[k] = c
            k += 1
    row_ptr[rows] = k
    return row_ptr, starts[:k].copy(), ends[:k].copy()


@njit(nogil=True, cache=True)
def open_runs_grid(z, levels):
    """As :func:`open_runs` with a per-cell level grid ``levels`` (rows, cols)
    [m]; NaN levels never flood."""
    rows, cols = z.shape
    cap = max(1024, 2 * rows)
    starts = np.empty(cap, np.int64)
    ends = np.empty(cap, np.int64)
    row_ptr = np.empty(rows + 1, np.int64)
    k = 0
    for r in range(rows):
        row_ptr[r] = k
        c = 0
        while c < cols:
            while c < cols and not (z[r, c] < levels[r, c]):
                c += 1
            if c == cols:
                break
            if k == cap:
                cap *= 2
                grown = np.empty(cap, np.int64)
                grown[:k] = starts[:k]
                starts = grown
                grown = np.empty(cap, np.int64)
                grown[:k] = ends[:k]
                ends = grown
            starts[k] = c
            while c < cols and z[r, c] < levels[r, c]:
                c += 1
            ends[k] = c
            k += 1
    row_ptr[rows] = k
    return row_ptr, starts[:k].copy(), ends[:k].copy()


@njit(nogil=True, cache=True)
def run_of_cells(row_ptr, starts, ends, rows_, cols_):
    """Index of the run holding each cell (-1 when the cell is in no run)."""
    out = np.full(rows_.shape[0], -1, np.int64)
    for i in range(rows_.shape[0]):
        r = rows_[i]
        c = cols_[i]
        if r < 0 or r >= row_ptr.shape[0] - 1:
            continue
        lo = row_ptr[r]
        hi = row_ptr[r + 1]
        # first run whose end is beyond c
        while lo < hi:
            mid = (lo + hi) >> 1
            if ends[mid] <= c:
                lo = mid + 1
            else:
                hi = mid
        if lo < row_ptr[r + 1] and starts[lo] <= c:
            out[i] = lo
    return out


@njit(nogil=True, cache=True)
def connect_runs(row_ptr, starts, ends, seed_runs, diagonal):
    """Runs connected to the seed runs (flood fill on the run graph).

    Two runs in adjacent rows touch when their column ranges overlap (widened
    by one cell for 8-connectivity). Seeds equal to -1 are ignored.

    Returns
    -------
    reached : (k,) bool
    """
    nrun = starts.shape[0]
    rows = row_ptr.shape[0] - 1
    reached = np.zeros(nrun, np.bool_)
    row_of = np.empty(nrun, np.int64)
    for r in range(rows):
        for j in range(row_ptr[r], row_ptr[r + 1]):
            row_of[j] = r
    cap = 1024
    stack = np.empty(cap, np.int64)
    n = 0
    for i in range(seed_runs.shape[0]):
        s = seed_runs[i]
        if s < 0 or reached[s]:
            continue
        reached[s] = True
        if n == cap:
            stack = _grow(stack, n)
            cap *= 2
        stack[n] = s
        n += 1
    d = 1 if diagonal else 0
    while n > 0:
        n -= 1
        i = stack[n]
        r = row_of[i]
        a = starts[i] - d
        b = ends[i] + d
        for k in range(2):
            rr = r - 1 + 2 * k
            if rr < 0 or rr >= rows:
                continue
            lo = row_ptr[rr]
            hi = row_ptr[rr + 1]
            top = hi
            while lo < hi:  # first run with end > a
                mid = (lo + hi) >> 1
                if ends[mid] <= a:
                    lo = mid + 1
                else:
                    hi = mid
            j = lo
            while j < top and starts[j] < b:
                if not reached[j]:
                    reached[j] = True
                    if n == cap:
                        stack = _grow(stack, n)
                        cap *= 2
                    stack[n] = j
                    n += 1
                j += 1
    return reached


@njit(nogil=True, cache=True)
def paint_depth(z, level, row_ptr, starts, ends, keep, out):
    """Water depth ``level - z`` on the kept runs, NaN elsewhere (each cell of
    ``out`` is written once).

    Parameters
    ----------
    z : (rows, cols) float64 elevation [m]
    level : float water level [m]
    row_ptr, starts, ends : runs from :func:`open_runs`
    keep : (k,) bool, runs to paint
    out : (rows, cols) float64, written

    Returns
    -------
    n_cells : int, cells painted
    depth_sum : float, sum of depths over painted cells [m]
    """
    rows, cols = z.shape
    n = 0
    total = 0.0
    for r in range(rows):
        c = 0
        for j in range(row_ptr[r], row_ptr[r + 1]):
            if not keep[j]:
                continue
            for x in range(c, starts[j]):
                out[r, x] = np.nan
            for x in range(starts[j], ends[j]):
                v = level - z[r, x]
                out[r, x] = v
                total += v
            n += ends[j] - starts[j]
            c = ends[j]
        for x in range(c, cols):
            out[r, x] = np.nan
    return n, total


@njit(nogil=True, cache=True)
def paint_depth_grid(z, levels, row_ptr, starts, ends, keep, out):
    """As :func:`paint_depth` with a per-cell level grid ``levels`` [m]."""
    rows, cols = z.shape
    n = 0
    total = 0.0
    for r in range(rows):
        c = 0
        for j in range(row_ptr[r], row_ptr[r + 1]):
            if not keep[j]:
                continue
            for x in range(c, starts[j]):
                out[r, x] = np.nan
            for x in range(starts[j], ends[j]):
                v = levels[r, x] - z[r, x]
                out[r, x] = v
                total += v
            n += ends[j] - starts[j]
            c = ends[j]
        for x in range(c, cols):
            out[r, x] = np.nan
    return n, total


@njit(nogil=True, cache=True, inline="always")
def _on_edge(z, r, c):
    nr, nc = z.shape
    if np.isnan(z[r, c]):
        return False
    if r == 0 or c == 0 or r == nr - 1 or c == nc - 1:
        return True
    return (
        np.isnan(z[r - 1, c])
        or np.isnan(z[r + 1, c])
        or np.isnan(z[r, c - 1])
        or np.isnan(z[r, c + 1])
    )


@njit(nogil=True, cache=True)
def edge_cells(z, lowest):
    """Valid cells on the edge of the data (grid border, or a 4-neighbour is
    nodata); with ``lowest``, only those at the lowest edge elevation.

    Rows are first read for nodata (a branch-free pass), then
    :func:`edge_cells_rows` looks for the edge cells.

    Returns
    -------
    rows, cols : (k,) int64, in row-major order
    """
    nr, nc = z.shape
    nanrow = np.zeros(nr, np.bool_)  # row r holds nodata
    for r in range(nr):
        zr = z[r]
        f = False
        for c in range(nc):
            f |= zr[c] != zr[c]
        nanrow[r] = f
    return edge_cells_rows(z, lowest, nanrow)


@njit(nogil=True, cache=True)
def edge_cells_rows(z, lowest, nanrow):
    """:func:`edge_cells` when the rows holding nodata are known already
    (``nanrow`` (rows,) bool, e.g. from
    :func:`cimcity._kernels.flood_label.label_fill`): the interior cells of a
    row are only checked when it or a neighbouring row holds nodata, so a DEM
    without holes costs a read of its border only.

    Returns
    -------
    rows, cols : (k,) int64, in row-major order
    """
    nr, nc = z.shape
    cap = 1024
    rows = np.empty(cap, np.int64)
    cols = np.empty(cap, np.int64)
    k = 0
    zmin = np.inf
    for r in range(nr):
        full = (
            r == 0
            or r == nr - 1
            or nanrow[r]
            or (r > 0 and nanrow[r - 1])
            or (r + 1 < nr and nanrow[r + 1])
        )
        c = 0
        while c < nc:
            if not _on_edge(z, r, c):
                c = c + 1 if full or c == nc - 1 else nc - 1
                continue
            v = z[r, c]
            if lowest and v > zmin:
                c = c + 1 if full or c == nc - 1 else nc - 1
                continue
            if lowest and v < zmin:
                zmin = v
                k = 0
            if k == cap:
                rows = _grow(rows, k)
                cols = _grow(cols, k)
                cap *= 2
            rows[k] = r
            cols[k] = c
            k += 1
            c = c + 1 if full or c == nc - 1 else nc - 1
    return rows[:k].copy(), cols[:k].copy()


@njit(nogil=True, cache=True)
def paint_mask(shape0, shape1, row_ptr, starts, ends, keep, out):
    """Boolean grid of the kept runs (``out`` (rows, cols) bool, written)."""
    out[:, :] = False
    for r in range(shape0):
        for j in range(row_ptr[r], row_ptr[r + 1]):
            if keep[j]:
                out[r, starts[j] : ends[j]] = True


@njit(nogil=True, cache=True)
def profile_levels(z, x0, dx, y0, dy, zmax, line, chainage, stations, levels, out):
    """Water level of each cell from a level profile along a river line.

    Each cell centre is projected on its nearest point of the polyline; the
    chainage of that point is interpolated linearly in (stations, levels), held
    constant beyond the first and last station. Cells whose ground is at or
    above ``zmax`` (the highest level of the profile) or nodata get NaN: they
    cannot flood, so their projection is skipped.

    Parameters
    ----------
    z : (rows, cols) float64 elevation [m]
    x0, dx, y0, dy : float
        Centre of cell (0, 0) and cell steps (dy < 0 for north-up grids) [m].
    zmax : float, highest level of the profile [m]
    line : (m, 2) float64 polyline vertices [m]
    chainage : (m,) float64 distance along the line of each vertex [m]
    stations, levels : (k,) float64, increasing stations [m] and levels [m]
    out : (rows, cols) float64, written
    """
    rows, cols = z.shape
    m = line.shape[0]
    for r in range(rows):
        py = y0 + r * dy
        for c in range(cols):
            if not (z[r, c] < zmax):
                out[r, c] = np.nan
                continue
            px = x0 + c * dx
            best = np.inf
            best_ch = 0.0
            for i in range(m - 1):
                ax = line[i, 0]
                ay = line[i, 1]
                ux = line[i + 1, 0] - ax
                uy = line[i + 1, 1] - ay
                l2 = ux * ux + uy * uy
                t = 0.0
                if l2 > 0.0:
                    t = ((px - ax) * ux + (py - ay) * uy) / l2
                    if t < 0.0:
                        t = 0.0
                    elif t > 1.0:
                        t = 1.0
                qx = ax + t * ux - px
                qy = ay + t * uy - py
                d2 = qx * qx + qy * qy
                if d2 < best:
                    best = d2
                    best_ch = chainage[i] + t * (chainage[i + 1] - chainage[i])
            out[r, c] = np.interp(best_ch, stations, levels)


@njit(nogil=True, cache=True, inline="always")
def _heap_push(keys, vals, n, key, val):
    i = n
    keys[i] = key
    vals[i] = val
    while i > 0:
        p = (i - 1) >> 1
        if keys[p] <= keys[i]:
            break
        keys[p], keys[i] = keys[i], keys[p]
        vals[p], vals[i] = vals[i], vals[p]
        i = p


@njit(nogil=True, cache=True, inline="always")
def _heap_pop(keys, vals, n):
    """Remove the root of a heap of size ``n`` (caller decrements n)."""
    last = n - 1
    keys[0] = keys[last]
    vals[0] = vals[last]
    i = 0
    while True:
        a = 2 * i + 1
        if a >= last:
            break
        b = a + 1
        if b < last and keys[b] < keys[a]:
            a = b
        if keys[i] <= keys[a]:
            break
        keys[a], keys[i] = keys[i], keys[a]
        vals[a], vals[i] = vals[i], vals[a]
        i = a


@njit(nogil=True, cache=True)
def spill_levels(z, seeds, diagonal, out):
    """Lowest water level connecting each cell to the sources (priority-flood).

    ``out[r, c]`` is the minimum, over all paths from a source cell to (r, c)
    through valid cells, of the highest ground elevation on the path (the cell
    itself and the source included). A cell is flooded by a connected water
    level ``L`` exactly when ``out < L``. Unreachable and nodata cells get
    +inf.

    Barnes et al. (2014) priority-flood with a plain queue for cells that lie
    in a depression already (their spill level is the current one).

    Parameters
    ----------
    z : (rows, cols) float64 elevation [m], NaN = nodata
    seeds : (k,) int64 flat indices of source cells
    diagonal : bool, 8-connectivity when True
    out : (rows, cols) float64, written
    """
    rows, cols = z.shape
    for r in range(rows):
        for c in range(cols):
            out[r, c] = np.nan  # NaN = not visited yet
    cap = max(1024, 2 * seeds.shape[0])
    keys = np.empty(cap, np.float64)
    vals = np.empty(cap, np.int64)
    nh = 0
    pcap = 1024
    pit = np.empty(pcap, np.int64)
    npit = 0
    for i in range(seeds.shape[0]):
        s = seeds[i]
        r = s // cols
        c = s % cols
        v = z[r, c]
        if np.isnan(v) or not np.isnan(out[r, c]):
            continue
        out[r, c] = v
        if nh == cap:
            cap *= 2
            k2 = np.empty(cap, np.float64)
            v2 = np.empty(cap, np.int64)
            k2[:nh] = keys[:nh]
            v2[:nh] = vals[:nh]
            keys = k2
            vals = v2
        _heap_push(keys, vals, nh, v, s)
        nh += 1
    if diagonal:
        dr = np.array([-1, -1, -1, 0, 0, 1, 1, 1])
        dc = np.array([-1, 0, 1, -1, 1, -1, 0, 1])
    else:
        dr = np.array([-1, 0, 0, 1])
        dc = np.array([0, -1, 1, 0])
    nn = dr.shape[0]
    while nh > 0 or npit > 0:
        if npit > 0:
            npit -= 1
            s = pit[npit]
            r = s // cols
            c = s % cols
            k = out[r, c]
        else:
            k = keys[0]
            s = vals[0]
            _heap_pop(keys, vals, nh)
            nh -= 1
            r = s // cols
            c = s % cols
        for j in range(nn):
            rr = r + dr[j]
            cc = c + dc[j]
            if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
                continue
            if not np.isnan(out[rr, cc]):
                continue
            v = z[rr, cc]
            if np.isnan(v):
                continue
            t = rr * cols + cc
            if v <= k:
                out[rr, cc] = k
                if npit == pcap:
                    pcap *= 2
                    p2 = np.empty(pcap, np.int64)
                    p2[:npit] = pit[:npit]
                    pit = p2
                pit[npit] = t
                npit += 1
            else:
                out[rr, cc] = v
                if nh == cap:
                    cap *= 2
                    k2 = np.empty(cap, np.float64)
                    v2 = np.empty(cap, np.int64)
                    k2[:nh] = keys[:nh]
                    v2[:nh] = vals[:nh]
                    keys = k2
                    vals = v2
                _heap_push(keys, vals, nh, v, t)
                nh += 1
    for r in range(rows):
        for c in range(cols):
            if np.isnan(out[r, c]):
                out[r, c] = np.inf


@njit(nogil=True, cache=True)
def fill_polygons(xy, ring_start, poly_ring_start, left, top, dx, dy, mask):
    """Mark grid cells whose centre lies inside any polygon (even-odd rule per
    polygon, holes included), like GDAL's default rasterisation.

    Why hand-written: ``rasterio.features.rasterize`` converts every geometry
    through ``__geo_interface__`` in Python (about 0.2 ms each), which
    dominates for 100k footprints; this scan-line fill works on the packed
    coordinates from ``shapely.get_coordinates``.

    Parameters
    ----------
    xy : (v, 2) float64, vertices of closed rings, ring after ring [m]
    ring_start : (n_rings + 1,) int64, vertex range of each ring
    poly_ring_start : (n_polys + 1,) int64, ring range of each polygon
    left, top, dx, dy : grid of ``mask`` (west edge, north edge, cell sizes) [m]
    mask : (rows, cols) bool, set where covered (never cleared)
    """
    nr, nc = mask.shape
    buf = np.empty(64, np.float64)
    for p in range(poly_ring_start.shape[0] - 1):
        a = ring_start[poly_ring_start[p]]
        b = ring_start[poly_ring_start[p + 1]]
        if b <= a:
            continue
        ymin = xy[a, 1]
        ymax = xy[a, 1]
        for v in range(a, b):
            ymin = min(ymin, xy[v, 1])
            ymax = max(ymax, xy[v, 1])
        # rows whose centre y = top - (r + 0.5) dy lies in [ymin, ymax]
        r0 = max(int(np.ceil((top - ymax) / dy - 0.5)), 0)
        r1 = min(int(np.floor((top - ymin) / dy - 0.5)), nr - 1)
        for r in range(r0, r1 + 1):
            yc = top - (r + 0.5) * dy
            k = 0
            for q in range(poly_ring_start[p], poly_ring_start[p + 1]):
                for v in range(ring_start[q], ring_start[q + 1] - 1):
                    y1 = xy[v, 1]
                    y2 = xy[v + 1, 1]
                    if (y1 <= yc < y2) or (y2 <= yc < y1):
                        x1 = xy[v, 0]
                        x2 = xy[v + 1, 0]
                        if k == buf.shape[0]:
                            grown = np.empty(2 * k, np.float64)
                            grown[:k] = buf[:k]
                            buf = grown
                        buf[k] = x1 + (yc - y1) * (x2 - x1) / (y2 - y1)
                        k += 1
            if k < 2:
                continue
            for i in range(1, k):  # insertion sort: a handful of crossings
                v = buf[i]
                j = i - 1
                while j >= 0 and buf[j] > v:
                    buf[j + 1] = buf[j]
                    j -= 1
                buf[j + 1] = v
            xs = buf
            for j in range(0, k - 1, 2):
                # columns whose centre x = left + (c + 0.5) dx lies in [xs[j], xs[j+1])
                c0 = max(int(np.ceil((xs[j] - left) / dx - 0.5)), 0)
                c1 = min(int(np.ceil((xs[j + 1] - left) / dx - 0.5)) - 1, nc - 1)
                for c in range(c0, c1 + 1):
                    mask[r, c] = True


@njit(nogil=True, cache=True, inline="always")
def _bilinear(z, fc, fr):
    """Bilinear value at fractional (column, row) from the grid's north-west
    corner; clamped in the outer half cell (as Terrain.sample)."""
    nr, nc = z.shape
    cc = min(max(fc - 0.5, 0.0), nc - 1.0)
    rr = min(max(fr - 0.5, 0.0), nr - 1.0)
    c0 = min(max(int(np.floor(cc)), 0), nc - 2)
    r0 = min(max(int(np.floor(rr)), 0), nr - 2)
    wc = cc - c0
    wr = rr - r0
    return (
        z[r0, c0] * (1 - wc) * (1 - wr)
        + z[r0, c0 + 1] * wc * (1 - wr)
        + z[r0 + 1, c0] * (1 - wc) * wr
        + z[r0 + 1, c0 + 1] * wc * wr
    )


@njit(nogil=True, cache=True)
def ring_samples(
    xy,
    ring_start,
    ring_owner,
    ring_is_hole,
    n,
    offsets,
    spacing,
    z,
    left,
    top,
    dx,
    dy,
    with_points,
):
    """Sample points just outside building outlines, with ground and cell.

    Each edge of each ring is cut into ``ceil(length / spacing)`` equal parts;
    from the middle of each part, points are placed at every distance of
    ``offsets`` along the edge's normal pointing away from the building: out
    of an exterior ring, into a hole (a courtyard). Ring orientation is read
    from its signed (shoelace) area, so rings may turn either way.

    Parameters
    ----------
    xy : (v, 2) float64, vertices of closed rings, ring after ring [m]
    ring_start : (n_rings + 1,) int64, vertex range of each ring
    ring_owner : (n_rings,) int64, building of each ring, non-decreasing
    ring_is_hole : (n_rings,) bool, interior ring of its polygon
    n : int, number of buildings
    offsets : (k,) float64, distances from the outline [m]
    spacing : float, sample spacing along the outline [m]
    z : (rows, cols) float64 DEM [m]; left, top, dx, dy its grid [m]
    with_points : bool, also return the sample coordinates

    Returns
    -------
    starts : (n + 1,) int64, sample range of each building
    px, py : (m,) float64, sample coordinates [m] (empty unless ``with_points``)
    ground : (m,) float64, bilinear ground (NaN off the grid or on nodata) [m]
    rows, cols : (m,) int32, cell of each sample (-1 off the grid)
    """
    nr, nc = z.shape
    k = offsets.shape[0]
    n_rings = ring_start.shape[0] - 1
    # pass 1: count samples per building
    counts = np.zeros(n, np.int64)
    for q in range(n_rings):
        m = 0
        for v in range(ring_start[q], ring_start[q + 1] - 1):
            ex = xy[v + 1, 0] - xy[v, 0]
            ey = xy[v + 1, 1] - xy[v, 1]
            ln = np.sqrt(ex * ex + ey * ey)
            if ln > 0:
                m += int(np.ceil(ln / spacing))
        counts[ring_owner[q]] += m * k
    starts = np.zeros(n + 1, np.int64)
    for i in range(n):
        starts[i + 1] = starts[i] + counts[i]
    total = starts[n]
    npts = total if with_points else 0
    px = np.empty(npts, np.float64)
    py = np.empty(npts, np.float64)
    ground = np.empty(total, np.float64)
    rows = np.empty(total, np.int32)
    cols = np.empty(total, np.int32)
    pos = starts[:-1].copy()
    for q in range(n_rings):
        b = ring_owner[q]
        area2 = 0.0
        for v in range(ring_start[q], ring_start[q + 1] - 1):
            area2 += xy[v, 0] * xy[v + 1, 1] - xy[v + 1, 0] * xy[v, 1]
        # the right-hand normal points out of a counter-clockwise ring
        side = 1.0 if (area2 > 0) != ring_is_hole[q] else -1.0
        for v in range(ring_start[q], ring_start[q + 1] - 1):
            x1 = xy[v, 0]
            y1 = xy[v, 1]
            ex = xy[v + 1, 0] - x1
            ey = xy[v + 1, 1] - y1
            ln = np.sqrt(ex * ex + ey * ey)
            if ln <= 0:
                continue
            parts = int(np.ceil(ln / spacing))
            nx = side * ey / ln
            ny = -side * ex / ln
            for j in range(parts):
                t = (j + 0.5) / parts
                mx = x1 + t * ex
                my = y1 + t * ey
                for o in range(k):
                    x = mx + offsets[o] * nx
                    y = my + offsets[o] * ny
                    i = pos[b]
                    pos[b] += 1
                    if with_points:
                        px[i] = x
                        py[i] = y
                    fc = (x - left) / dx
                    fr = (top - y) / dy
                    if fc >= 0.0 and fc < nc and fr >= 0.0 and fr < nr:
                        rows[i] = int(fr)
                        cols[i] = int(fc)
                        ground[i] = _bilinear(z, fc, fr)
                    else:
                        rows[i] = -1
                        cols[i] = -1
                        ground[i] = np.nan
    return starts, px, py, ground, rows, cols


@njit(nogil=True, cache=True)
def ring_ground(starts, ground, use):
    """Median ground of the used samples of each building (NaN if none).

    Returns
    -------
    median : (n,) float64 [m]
    n_used : (n,) int64
    """
    n = starts.shape[0] - 1
    med = np.full(n, np.nan)
    n_used = np.zeros(n, np.int64)
    buf = np.empty(16, np.float64)
    for i in range(n):
        a = starts[i]
        b = starts[i + 1]
        if b - a > buf.shape[0]:
            buf = np.empty(2 * (b - a), np.float64)
        k = 0
        for j in range(a, b):
            if use[j] and not np.isnan(ground[j]):
                buf[k] = ground[j]
                k += 1
        n_used[i] = k
        if k:
            med[i] = np.median(buf[:k])
    return med, n_used


@njit(nogil=True, cache=True)
def ring_flood(starts, use, rows, cols, depth, z):
    """Water against each building from the flood depth grid.

    Parameters
    ----------
    starts, use, rows, cols : ring samples (see :func:`ring_samples`)
    depth : (rows, cols) float64 water depth [m], NaN where dry
    z : (rows, cols) float64 ground elevation [m]

    Returns
    -------
    max_depth : (n,) float64, deepest water at a used sample [m] (NaN dry)
    water_level : (n,) float64, highest water surface at a used sample [m]
    wet_fraction : (n,) float64, share of used samples under water
    """
    n = starts.shape[0] - 1
    max_d = np.full(n, np.nan)
    wl = np.full(n, np.nan)
    frac = np.zeros(n)
    for i in range(n):
        k = 0
        w = 0
        for j in range(starts[i], starts[i + 1]):
            if not use[j]:
                continue
            k += 1
            r = rows[j]
            if r < 0:
                continue
            d = depth[r, cols[j]]
            if np.isnan(d):
                continue
            w += 1
            s = z[r, cols[j]] + d
            if np.isnan(max_d[i]) or d > max_d[i]:
                max_d[i] = d
            if np.isnan(wl[i]) or s > wl[i]:
                wl[i] = s
        if k:
            frac[i] = w / k
    return max_d, wl, frac


@njit(nogil=True, cache=True)
def lookup_mask(mask, r0, c0, rows, cols):
    """``mask[rows - r0, cols - c0]`` for samples inside the window, else False."""
    nr, nc = mask.shape
    out = np.zeros(rows.shape[0], np.bool_)
    for i in range(rows.shape[0]):
        r = rows[i] - r0
        c = cols[i] - c0
        if rows[i] >= 0 and 0 <= r < nr and 0 <= c < nc:
            out[i] = mask[r, c]
    return out
