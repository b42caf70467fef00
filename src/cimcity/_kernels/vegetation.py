"""Numba kernels for the area of the intersection of 2, 3 or 4 polygons.

Geometries come flattened (no shapely inside): ``x``, ``y`` (n_coords,) float64
vertex coordinates of closed rings (last vertex repeats the first),
``ring_off`` (n_rings + 1,) int64 offsets of each ring into ``x``/``y``,
``geom_ring`` (n_geoms + 1,) int64 offsets of each geometry into the rings, and
``bounds`` (n_geoms, 4) minx, miny, maxx, maxy. Rings are oriented with the
interior on their left (exteriors counter-clockwise, holes clockwise; see
:func:`orient_rings`); Polygon and MultiPolygon are handled alike.

Why hand-written: the vegetation ratios need only the *area* of millions of
unit × layer (× layer) intersections. ``shapely.intersection`` (GEOS
OverlayNG) builds the full result geometry (noding, graph, rings) at 20-40 µs a
pair and needs a second overlay for three-way terms; no library exposes an
area-only intersection. The kernel evaluates Green's theorem,
area(X₁ ∩ … ∩ Xₖ) = ½ ∮ (x dy − y dx) over ∂(X₁ ∩ … ∩ Xₖ), whose boundary is
made of the pieces of each ∂Xᵢ that lie inside every other Xⱼ; a piece shared
by several boundaries with the same orientation is counted once (from the
lowest index), and with opposite orientations not at all (zero width).

References
----------
Green's theorem / shoelace formula (e.g. Bourke, P., 1988, Calculating the
area and centroid of a polygon). The shared-boundary rule is the one of
boundary-based Boolean operations (Greiner, G., Hormann, K., 1998, Efficient
clipping of arbitrary polygons, ACM TOG 17(2), 71-83).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: sub-segments shorter than this fraction of their edge are ignored
_T_EPS = 1e-12


@njit(nogil=True, cache=True)
def ring_offsets(x, y, geom_start, n_rings_total):
    """Ring offsets from a flat stream of closed rings.

    Parameters
    ----------
    x, y : (n,) float64 — coordinates of every ring, geometry after geometry
    geom_start : (n_geoms + 1,) int64 — first coordinate of each geometry
    n_rings_total : int — expected number of rings

    Returns
    -------
    ring_off : (n_rings + 1,) int64, geom_ring : (n_geoms + 1,) int64, ok : bool
        ``ok`` is False when the scan does not find ``n_rings_total`` closed
        rings (the caller then falls back to shapely's ragged arrays).
    """
    ring_off = np.empty(n_rings_total + 1, np.int64)
    geom_ring = np.empty(len(geom_start), np.int64)
    r = 0
    ok = True
    for g in range(len(geom_start) - 1):
        geom_ring[g] = r
        s = geom_start[g]
        end = geom_start[g + 1]
        while s < end:
            if r >= n_rings_total:
                return ring_off, geom_ring, False
            ring_off[r] = s
            e = s + 1
            while e < end and (x[e] != x[s] or y[e] != y[s]):
                e += 1
            if e >= end:
                return ring_off, geom_ring, False
            r += 1
            s = e + 1
    geom_ring[len(geom_start) - 1] = r
    ring_off[r] = len(x)
    if r != n_rings_total:
        ok = False
    return ring_off, geom_ring, ok


@njit(nogil=True, cache=True)
def orient_rings(x, y, ring_off, exterior):
    """Reverse, in place, the rings whose orientation is wrong: exteriors
    counter-clockwise, holes clockwise (interior on the left).

    Parameters
    ----------
    x, y : (n,) float64, modified in place
    ring_off : (n_rings + 1,) int64
    exterior : (n_rings,) bool — True for exterior rings
    """
    for r in range(len(ring_off) - 1):
        s = ring_off[r]
        e = ring_off[r + 1]
        x0 = x[s]
        y0 = y[s]
        a = 0.0
        for k in range(s, e - 1):
            a += (x[k] - x0) * (y[k + 1] - y0) - (x[k + 1] - x0) * (y[k] - y0)
        if (a < 0.0) == exterior[r]:
            i = s
            j = e - 1
            while i < j:
                x[i], x[j] = x[j], x[i]
                y[i], y[j] = y[j], y[i]
                i += 1
                j -= 1


@njit(nogil=True, cache=True)
def _classify(mx, my, x, y, ring_off, geom_ring, g, ox, oy, eps, eps2):
    """Where the point (mx, my) (local coordinates, origin (ox, oy)) lies with
    respect to geometry ``g``: 0 outside, 1 inside, 2 on its boundary (within
    ``eps``; ``eps2`` = eps²); for 2 also the direction (dx, dy) of the
    boundary edge."""
    inside = False
    best = eps2
    on = False
    dx = 0.0
    dy = 0.0
    for r in range(geom_ring[g], geom_ring[g + 1]):
        for k in range(ring_off[r], ring_off[r + 1] - 1):
            x0 = x[k] - ox
            y0 = y[k] - oy
            x1 = x[k + 1] - ox
            y1 = y[k + 1] - oy
            if (y0 > my) != (y1 > my):
                xc = x0 + (my - y0) * (x1 - x0) / (y1 - y0)
                if mx < xc:
                    inside = not inside
            # distance only for edges whose box is within eps of the point
            if (
                mx < min(x0, x1) - eps
                or mx > max(x0, x1) + eps
                or my < min(y0, y1) - eps
                or my > max(y0, y1) + eps
            ):
                continue
            ex = x1 - x0
            ey = y1 - y0
            l2 = ex * ex + ey * ey
            if l2 > 0.0:
                t = ((mx - x0) * ex + (my - y0) * ey) / l2
                if t < 0.0:
                    t = 0.0
                elif t > 1.0:
                    t = 1.0
                px = x0 + t * ex - mx
                py = y0 + t * ey - my
                d2 = px * px + py * py
                if d2 <= best:
                    best = d2
                    on = True
                    dx = ex
                    dy = ey
    if on:
        return 2, dx, dy
    if inside:
        return 1, 0.0, 0.0
    return 0, 0.0, 0.0


@njit(nogil=True, cache=True)
def _split(px, py, rx, ry, rr, x, y, ring_off, geom_ring, g, ox, oy, eps, ts, n):
    """Append to ``ts`` the parameters where edge p + t·r meets ∂g (crossings
    and vertices of g lying on the edge); returns the new count."""
    eps2 = eps * eps
    qx = px + rx
    qy = py + ry
    exmin = min(px, qx) - eps
    exmax = max(px, qx) + eps
    eymin = min(py, qy) - eps
    eymax = max(py, qy) + eps
    for s in range(geom_ring[g], geom_ring[g + 1]):
        for j in range(ring_off[s], ring_off[s + 1] - 1):
            ux = x[j] - ox
            uy = y[j] - oy
            vx = x[j + 1] - ox
            vy = y[j + 1] - oy
            if (
                max(ux, vx) < exmin
                or min(ux, vx) > exmax
                or max(uy, vy) < eymin
                or min(uy, vy) > eymax
            ):
                continue
            sx = vx - ux
            sy = vy - uy
            den = rx * sy - ry * sx
            wx = ux - px
            wy = uy - py
            if den != 0.0:
                t = (wx * sy - wy * sx) / den
                u = (wx * ry - wy * rx) / den
                if t > 0.0 and t < 1.0 and u >= 0.0 and u <= 1.0:
                    ts[n] = t
                    n += 1
            # vertices of g on this edge (T-junctions, collinear overlaps)
            t = (wx * rx + wy * ry) / rr
            if t > 0.0 and t < 1.0:
                ddx = px + t * rx - ux
                ddy = py + t * ry - uy
                if ddx * ddx + ddy * ddy <= eps2:
                    ts[n] = t
                    n += 1
            t = ((vx - px) * rx + (vy - py) * ry) / rr
            if t > 0.0 and t < 1.0:
                ddx = px + t * rx - vx
                ddy = py + t * ry - vy
                if ddx * ddx + ddy * ddy <= eps2:
                    ts[n] = t
                    n += 1
    return n


@njit(nogil=True, cache=True)
def _tuple_area(x, y, ring_off, geom_ring, bounds, ids, k, bx0, by0, bx1, by1, eps, ts):
    """Area of the intersection of the k geometries ``ids[:k]``, whose bounding
    boxes intersect in [bx0, bx1] × [by0, by1] (local coordinates around the
    centre of that box)."""
    ox = 0.5 * (bx0 + bx1)
    oy = 0.5 * (by0 + by1)
    cx0 = bx0 - ox - eps
    cx1 = bx1 - ox + eps
    cy0 = by0 - oy - eps
    cy1 = by1 - oy + eps
    eps2 = eps * eps
    total = 0.0
    for i in range(k):
        a = ids[i]
        for r in range(geom_ring[a], geom_ring[a + 1]):
            for e in range(ring_off[r], ring_off[r + 1] - 1):
                px = x[e] - ox
                py = y[e] - oy
                qx = x[e + 1] - ox
                qy = y[e + 1] - oy
                # ∂(∩) lies in the common box
                if (
                    max(px, qx) < cx0
                    or min(px, qx) > cx1
                    or max(py, qy) < cy0
                    or min(py, qy) > cy1
                ):
                    continue
                rx = qx - px
                ry = qy - py
                rr = rx * rx + ry * ry
                if rr == 0.0:
                    continue
                ts[0] = 0.0
                ts[1] = 1.0
                n = 2
                for j in range(k):
                    if j != i:
                        n = _split(
                            px,
                            py,
                            rx,
                            ry,
                            rr,
                            x,
                            y,
                            ring_off,
                            geom_ring,
                            ids[j],
                            ox,
                            oy,
                            eps,
                            ts,
                            n,
                        )
                for m1 in range(1, n):  # insertion sort: n is small
                    v = ts[m1]
                    m = m1 - 1
                    while m >= 0 and ts[m] > v:
                        ts[m + 1] = ts[m]
                        m -= 1
                    ts[m + 1] = v
                for m in range(n - 1):
                    t0 = ts[m]
                    t1 = ts[m + 1]
                    if t1 - t0 <= _T_EPS:
                        continue
                    tm = 0.5 * (t0 + t1)
                    mx = px + tm * rx
                    my = py + tm * ry
                    keep = True
                    for j in range(k):
                        if j == i:
                            continue
                        g = ids[j]
                        if (
                            mx + ox < bounds[g, 0] - eps
                            or mx + ox > bounds[g, 2] + eps
                            or my + oy < bounds[g, 1] - eps
                            or my + oy > bounds[g, 3] + eps
                        ):
                            keep = False  # outside g's box: outside g
                            break
                        state, dx, dy = _classify(
                            mx, my, x, y, ring_off, geom_ring, ids[j], ox, oy, eps, eps2
                        )
                        if state == 1:
                            continue
                        # shared boundary: same direction, counted by the
                        # lowest index only
                        if state == 2 and j > i and dx * rx + dy * ry > 0.0:
                            continue
                        keep = False
                        break
                    if keep:
                        x0 = px + t0 * rx
                        y0 = py + t0 * ry
                        x1 = px + t1 * rx
                        y1 = py + t1 * ry
                        total += x0 * y1 - x1 * y0
    return 0.5 * total


@njit(nogil=True, cache=True)
def intersection_areas(x, y, ring_off, geom_ring, bounds, tuples, eps, out):
    """Area of the intersection of the geometries of each row of ``tuples``.

    Parameters
    ----------
    x, y, ring_off, geom_ring, bounds : flattened, oriented geometries (see the
        module docstring)
    tuples : (n, k) int64 — k = 2, 3 or 4 geometry indices per row
    eps : float — distance under which boundaries are coincident [m]
    out : (n,) float64 — written with the areas [m²]
    """
    n, k = tuples.shape
    nmax = 0
    for t in range(n):
        tot = 0
        for i in range(k):
            g = tuples[t, i]
            tot += ring_off[geom_ring[g + 1]] - ring_off[geom_ring[g]]
        nmax = max(nmax, tot)
    ts = np.empty(3 * nmax + 4)
    for t in range(n):
        bx0 = -np.inf
        by0 = -np.inf
        bx1 = np.inf
        by1 = np.inf
        for i in range(k):
            g = tuples[t, i]
            bx0 = max(bx0, bounds[g, 0])
            by0 = max(by0, bounds[g, 1])
            bx1 = min(bx1, bounds[g, 2])
            by1 = min(by1, bounds[g, 3])
        if bx0 > bx1 or by0 > by1:
            out[t] = 0.0
            continue
        out[t] = _tuple_area(
            x, y, ring_off, geom_ring, bounds, tuples[t], k, bx0, by0, bx1, by1, eps, ts
        )


# ----------------------------------------------------------------------------------
# convex fast path
# ----------------------------------------------------------------------------------
# Most tuples of the vegetation ratios pair one arbitrary polygon with convex
# ones (rectangular parcels and buildings, tree crowns). Clipping the arbitrary
# polygon by each convex one, half-plane by half-plane (Sutherland & Hodgman,
# 1974), then taking the shoelace area is 5-10 times cheaper than the boundary
# classification above and exact in area for any subject (a concave subject
# gives zero-width bridges along the clip lines, which add no area), without
# any tolerance: a point on a clip line is inside, and a misjudged sign near a
# line moves the result by the rounding error only.
#
# Reference: Sutherland, I. E., Hodgman, G. W. (1974). Reentrant polygon
# clipping. Communications of the ACM 17(1), 32-42.


@njit(nogil=True, cache=True)
def convex_flags(x, y, ring_off, geom_ring):
    """True for each geometry that is one convex ring (no hole, one part),
    oriented counter-clockwise (as :func:`orient_rings` leaves exteriors).

    A ring is taken as convex when every turn is to the left or straight
    (cross product >= 0, in coordinates local to its first vertex), no edge has
    zero length and both x and y change direction at most twice around it (which
    rules out rings winding more than once). Anything else is False, which only
    sends the geometry to the general kernel.

    Returns
    -------
    (n_geoms,) bool
    """
    n = len(geom_ring) - 1
    out = np.zeros(n, np.bool_)
    for g in range(n):
        if geom_ring[g + 1] - geom_ring[g] != 1:
            continue
        r = geom_ring[g]
        s = ring_off[r]
        m = ring_off[r + 1] - 1 - s  # vertices without the closing one
        if m < 3:
            continue
        x0 = x[s]
        y0 = y[s]
        ok = True
        sx = 0
        sy = 0
        psx = 0
        psy = 0
        fsx = 0
        fsy = 0
        for k in range(m):
            i0 = s + k
            i1 = s + (k + 1) % m
            i2 = s + (k + 2) % m
            ax = x[i1] - x[i0]
            ay = y[i1] - y[i0]
            if ax == 0.0 and ay == 0.0:
                ok = False
                break
            # cross product in coordinates local to the ring's first vertex
            ux = x[i0] - x0
            uy = y[i0] - y0
            vx = x[i1] - x0
            vy = y[i1] - y0
            wx = x[i2] - x0
            wy = y[i2] - y0
            cr = (vx - ux) * (wy - vy) - (vy - uy) * (wx - vx)
            if cr < 0.0:
                ok = False
                break
            # direction changes of x and y (a convex ring has at most 2 each)
            cx = 1 if ax > 0.0 else (-1 if ax < 0.0 else 0)
            cy = 1 if ay > 0.0 else (-1 if ay < 0.0 else 0)
            if cx != 0:
                if psx != 0 and cx != psx:
                    sx += 1
                if fsx == 0:
                    fsx = cx
                psx = cx
            if cy != 0:
                if psy != 0 and cy != psy:
                    sy += 1
                if fsy == 0:
                    fsy = cy
                psy = cy
        if not ok:
            continue
        # close the cycle of signs
        if psx != 0 and fsx != 0 and psx != fsx:
            sx += 1
        if psy != 0 and fsy != 0 and psy != fsy:
            sy += 1
        out[g] = sx <= 2 and sy <= 2
    return out


@njit(nogil=True, cache=True)
def _clip_half_plane(buf, cur, n, box, ax, ay, ex, ey):
    """One Sutherland-Hodgman pass: the part of polygon ``buf[2 cur],
    buf[2 cur + 1]`` (n vertices) left of (or on) the directed line through
    (ax, ay) with direction (ex, ey), written to rows ``2 - 2 cur, 3 - 2 cur``
    (capacity >= 2 n: the caller's). ``box`` (4,) holds the polygon's bounding
    box and is updated.

    Returns
    -------
    int
        The vertex count of the result, or -1 when the line leaves the whole
        box on its left (nothing written: the polygon is unchanged).
    """
    v0 = ex * (box[1] - ay) - ey * (box[0] - ax)
    v1 = ex * (box[1] - ay) - ey * (box[2] - ax)
    v2 = ex * (box[3] - ay) - ey * (box[0] - ax)
    v3 = ex * (box[3] - ay) - ey * (box[2] - ax)
    if min(min(v0, v1), min(v2, v3)) >= 0.0:
        return -1
    if max(max(v0, v1), max(v2, v3)) < 0.0:
        return 0
    i0 = 2 * cur
    o0 = 2 - 2 * cur
    m = 0
    px = buf[i0, n - 1]
    py = buf[i0 + 1, n - 1]
    sp = ex * (py - ay) - ey * (px - ax)
    x0 = np.inf
    y0 = np.inf
    x1 = -np.inf
    y1 = -np.inf
    for i in range(n):
        qx = buf[i0, i]
        qy = buf[i0 + 1, i]
        sq = ex * (qy - ay) - ey * (qx - ax)
        if (sq >= 0.0) != (sp >= 0.0) and (sq > 0.0 or sp > 0.0):
            # the edge crosses the line: its crossing point
            t = sp / (sp - sq)
            wx = px + t * (qx - px)
            wy = py + t * (qy - py)
            buf[o0, m] = wx
            buf[o0 + 1, m] = wy
            m += 1
            x0 = min(x0, wx)
            x1 = max(x1, wx)
            y0 = min(y0, wy)
            y1 = max(y1, wy)
        if sq >= 0.0:
            buf[o0, m] = qx
            buf[o0 + 1, m] = qy
            m += 1
            x0 = min(x0, qx)
            x1 = max(x1, qx)
            y0 = min(y0, qy)
            y1 = max(y1, qy)
        px = qx
        py = qy
        sp = sq
    box[0] = x0
    box[1] = y0
    box[2] = x1
    box[3] = y1
    return m


@njit(nogil=True, cache=True)
def _convex_clip_area(
    x, y, ring_off, geom_ring, ids, k, subj, ox, oy, bx0, by0, bx1, by1, buf, box
):
    """Area of the intersection of geometry ``ids[subj]`` (any polygon) with
    the convex geometries ``ids[j]``, j != subj, whose common box is [bx0, bx1]
    × [by0, by1] (local coordinates, origin (ox, oy)). ``buf`` (4, cap) and
    ``box`` (4,) are scratch; ``buf`` is returned, grown when needed."""
    a = ids[subj]
    total = 0.0
    for r in range(geom_ring[a], geom_ring[a + 1]):
        s = ring_off[r]
        n = ring_off[r + 1] - 1 - s
        if n < 3:
            continue
        if buf.shape[1] < 2 * n + 8:
            buf = np.empty((4, 4 * n + 16))
        rx0 = np.inf
        ry0 = np.inf
        rx1 = -np.inf
        ry1 = -np.inf
        for i in range(n):
            px = x[s + i] - ox
            py = y[s + i] - oy
            buf[0, i] = px
            buf[1, i] = py
            rx0 = min(rx0, px)
            ry0 = min(ry0, py)
            rx1 = max(rx1, px)
            ry1 = max(ry1, py)
        if rx0 >= bx1 or rx1 <= bx0 or ry0 >= by1 or ry1 <= by0:
            continue  # this ring lies outside the common box
        box[0] = rx0
        box[1] = ry0
        box[2] = rx1
        box[3] = ry1
        cur = 0
        # the common box holds the result: clip to it first (cheap, and it
        # shrinks large rings before the clippers' edges); then each convex
        # member, edge by edge
        j = -1
        v = 0
        ve = 4
        while n > 0:
            if v == ve:
                j += 1
                if j == subj:
                    j += 1
                if j >= k:
                    break
                rr = geom_ring[ids[j]]
                v = ring_off[rr]
                ve = ring_off[rr + 1] - 1
                continue
            if j < 0:
                if v == 0:
                    ax, ay, ex, ey = bx0, by0, 1.0, 0.0
                elif v == 1:
                    ax, ay, ex, ey = bx1, by0, 0.0, 1.0
                elif v == 2:
                    ax, ay, ex, ey = bx1, by1, -1.0, 0.0
                else:
                    ax, ay, ex, ey = bx0, by1, 0.0, -1.0
            else:
                ax = x[v] - ox
                ay = y[v] - oy
                ex = x[v + 1] - x[v]
                ey = y[v + 1] - y[v]
            v += 1
            if buf.shape[1] < 2 * n + 8:
                nb = np.empty((4, 4 * n + 16))
                nb[:, : buf.shape[1]] = buf
                buf = nb
            m = _clip_half_plane(buf, cur, n, box, ax, ay, ex, ey)
            if m >= 0:
                n = m
                cur = 1 - cur
        if n < 3:
            continue
        i0 = 2 * cur
        a2 = buf[i0, n - 1] * buf[i0 + 1, 0] - buf[i0, 0] * buf[i0 + 1, n - 1]
        for i in range(n - 1):
            a2 += buf[i0, i] * buf[i0 + 1, i + 1] - buf[i0, i + 1] * buf[i0 + 1, i]
        total += 0.5 * a2
    return total, buf


@njit(nogil=True, cache=True)
def tuple_areas(x, y, ring_off, geom_ring, bounds, convex, tuples, eps, out):
    """Area of the intersection of the geometries of each row of ``tuples``,
    by convex clipping when all members but at most one are convex
    (:func:`convex_flags`), else by :func:`intersection_areas`' boundary
    classification.

    Parameters
    ----------
    x, y, ring_off, geom_ring, bounds : flattened, oriented geometries
    convex : (n_geoms,) bool — from :func:`convex_flags`
    tuples : (n, k) int64 — k = 2, 3 or 4 geometry indices per row
    eps : float — distance under which boundaries are coincident [m] (general
        kernel only)
    out : (n,) float64 — written with the areas [m²]
    """
    n, k = tuples.shape
    nmax = 0
    for t in range(n):
        tot = 0
        for i in range(k):
            g = tuples[t, i]
            tot += ring_off[geom_ring[g + 1]] - ring_off[geom_ring[g]]
        nmax = max(nmax, tot)
    ts = np.empty(3 * nmax + 4)
    buf = np.empty((4, 64))
    box = np.empty(4)
    for t in range(n):
        bx0 = -np.inf
        by0 = -np.inf
        bx1 = np.inf
        by1 = np.inf
        for i in range(k):
            g = tuples[t, i]
            bx0 = max(bx0, bounds[g, 0])
            by0 = max(by0, bounds[g, 1])
            bx1 = min(bx1, bounds[g, 2])
            by1 = min(by1, bounds[g, 3])
        if bx0 >= bx1 or by0 >= by1:
            out[t] = 0.0
            continue
        subj = -1
        nonconvex = 0
        most = -1
        for i in range(k):
            g = tuples[t, i]
            if not convex[g]:
                nonconvex += 1
                subj = i
        if nonconvex == 0:
            for i in range(k):
                g = tuples[t, i]
                nv = ring_off[geom_ring[g + 1]] - ring_off[geom_ring[g]]
                if nv > most:
                    most = nv
                    subj = i
        if nonconvex <= 1:
            ox = 0.5 * (bx0 + bx1)
            oy = 0.5 * (by0 + by1)
            a, buf = _convex_clip_area(
                x,
                y,
                ring_off,
                geom_ring,
                tuples[t],
                k,
                subj,
                ox,
                oy,
                bx0 - ox,
                by0 - oy,
                bx1 - ox,
                by1 - oy,
                buf,
                box,
            )
            out[t] = a
        else:
            out[t] = _tuple_area(
                x,
                y,
                ring_off,
                geom_ring,
                bounds,
                tuples[t],
                k,
                bx0,
                by0,
                bx1,
                by1,
                eps,
                ts,
            )


@njit(nogil=True, cache=True)
def convex_contains(x, y, ring_off, geom_ring, outer, inner, out):
    """For each pair, whether geometry ``inner[i]`` lies inside the convex
    geometry ``outer[i]`` (every vertex left of or on every edge; boundary
    contact allowed, which leaves areas unchanged). False is always safe: the
    caller then clips.

    Parameters
    ----------
    outer : (n,) int64 — convex geometries (:func:`convex_flags`)
    inner : (n,) int64 — any geometries
    out : (n,) bool — written
    """
    for i in range(len(outer)):
        c = outer[i]
        g = inner[i]
        rr = geom_ring[c]
        cs = ring_off[rr]
        ce = ring_off[rr + 1] - 1
        ox = x[cs]
        oy = y[cs]
        ok = True
        vs = ring_off[geom_ring[g]]
        ve = ring_off[geom_ring[g + 1]]
        for v in range(cs, ce):
            if not ok:
                break
            ax = x[v] - ox
            ay = y[v] - oy
            ex = x[v + 1] - x[v]
            ey = y[v + 1] - y[v]
            for p in range(vs, ve):
                if ex * (y[p] - oy - ay) - ey * (x[p] - ox - ax) < 0.0:
                    ok = False
                    break
        out[i] = ok and ve > vs


@njit(nogil=True, cache=True)
def convex_contains_boxes(x, y, ring_off, geom_ring, outer, boxes, out):
    """For each pair, whether the box ``boxes[i]`` (minx, miny, maxx, maxy)
    lies inside the convex geometry ``outer[i]`` (its four corners are left of
    or on every edge). False is always safe: the caller then clips.

    Parameters
    ----------
    outer : (n,) int64 — convex geometries (:func:`convex_flags`)
    boxes : (n, 4) float64
    out : (n,) bool — written
    """
    for i in range(len(outer)):
        c = outer[i]
        rr = geom_ring[c]
        cs = ring_off[rr]
        ce = ring_off[rr + 1] - 1
        ox = x[cs]
        oy = y[cs]
        ok = True
        for v in range(cs, ce):
            ax = x[v] - ox
            ay = y[v] - oy
            ex = x[v + 1] - x[v]
            ey = y[v + 1] - y[v]
            for q in range(4):
                px = boxes[i, 0] if q == 0 or q == 3 else boxes[i, 2]
                py = boxes[i, 1] if q < 2 else boxes[i, 3]
                if ex * (py - oy - ay) - ey * (px - ox - ax) < 0.0:
                    ok = False
                    break
            if not ok:
                break
        out[i] = ok
