"""Rays that report the triangle they hit, for coarse-first visibility (numba).

:mod:`cimcity.sun.reuse` infers a fine sensor's blocked bit from the coarser
sensors around it. To make every *blocked* answer a proven one, the coarse
rays keep the triangle they found, and a fine sensor is declared blocked only
when its own ray hits a triangle: one its corners' rays hit along that
direction, or the one its own ray hit along the previous direction (one
watertight ray-triangle test instead of a BVH walk); it is declared visible
when its corners see the sky and its ray misses the triangles they hit along
the nearest directions: :func:`infer_level_faces`.

* :func:`trace_pairs_faces`: any-hit of listed (sensor, direction) pairs that
  records the first triangle found (BVH order index, -1: nothing hit); runs
  of pairs that share a direction cube face and start within
  ``PACKET_SPAN`` of each other go as packets of 8 (Wald et al. 2001).
* :func:`infer_level_faces`: one level of the hierarchy with that rule.

Written by hand (as the BVH kernels): no library returns the triangle of an
any-hit query on cimcity's BVH. The traversal is a copy of :func:`cimcity._kernels.bvh_packets.packet_any_hit`
and :func:`cimcity._kernels.bvh_traverse.any_hit` (same node layout, same
slab and watertight triangle arithmetic, so the same answers) that returns
the triangle instead of a bit: the ray engine's kernels have no use for it
and stay as they are. Triangles are ``tri`` rows of
:func:`cimcity.raycast.numba_engine.bvh` (local frame, BVH order).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_JIT = dict(nogil=True, cache=True, error_model="numpy")

#: relative enlargement of the slab test's far distance (as ``bvh_traverse``)
BOX_PAD = 1e-9
#: stands in for 1/0 in inverse directions (as ``bvh_traverse``)
_BIG = 1e30
#: rays per packet
PACKET = 8
#: origins of a packet must lie within this box size to be traced together [m]
PACKET_SPAN = 32.0
#: rows of the lane array of :func:`_packet_first_hit`
LANE_ROWS = 16
#: sensors per parallel block of :func:`infer_level_faces`
_BLOCK = 256


@njit(**_JIT)
def ray_setup(dx, dy, dz):  # pragma: no cover
    """Per-direction constants ``(ix, iy, iz, kx, ky, kz, sx, sy, sz)`` of the
    slab test and of the watertight triangle test (Woop, Benthin & Wald 2013),
    as :func:`cimcity._kernels.bvh_traverse.ray_setup`."""
    ix = _BIG if dx == 0.0 else 1.0 / dx
    iy = _BIG if dy == 0.0 else 1.0 / dy
    iz = _BIG if dz == 0.0 else 1.0 / dz
    ax = abs(dx)
    ay = abs(dy)
    az = abs(dz)
    if ax >= ay and ax >= az:
        kz = 0
        dkz = dx
        sz = ix
    elif ay >= az:
        kz = 1
        dkz = dy
        sz = iy
    else:
        kz = 2
        dkz = dz
        sz = iz
    kx = kz + 1
    if kx == 3:
        kx = 0
    ky = kx + 1
    if ky == 3:
        ky = 0
    if dkz < 0.0:
        kx, ky = ky, kx
    dkx = dx if kx == 0 else (dy if kx == 1 else dz)
    dky = dx if ky == 0 else (dy if ky == 1 else dz)
    return ix, iy, iz, kx, ky, kz, dkx * sz, dky * sz, sz


@njit(**_JIT)
def directions_setup(directions):  # pragma: no cover
    """:func:`ray_setup` of each unit direction (d, 3): ``(d, 6)`` float64
    ``(ix, iy, iz, sx, sy, sz)`` and ``(d, 3)`` int64 ``(kx, ky, kz)``."""
    nd = directions.shape[0]
    f = np.empty((nd, 6))
    k = np.empty((nd, 3), np.int64)
    for j in range(nd):
        ix, iy, iz, kx, ky, kz, sx, sy, sz = ray_setup(
            directions[j, 0], directions[j, 1], directions[j, 2]
        )
        f[j, 0] = ix
        f[j, 1] = iy
        f[j, 2] = iz
        f[j, 3] = sx
        f[j, 4] = sy
        f[j, 5] = sz
        k[j, 0] = kx
        k[j, 1] = ky
        k[j, 2] = kz
    return f, k


@njit(**_JIT)
def hits_triangle(
    tri, k, okx, oky, okz, kx, ky, kz, sx, sy, sz, tmin
):  # pragma: no cover
    """Watertight test (Woop et al. 2013) of triangle ``tri[k]`` against the
    ray from the permuted origin ``(okx, oky, okz)`` (local frame) with the
    shear constants of :func:`ray_setup`, hits at ``tmin < t`` (no ``tmax``):
    the arithmetic of the traversal, so the same answer for this triangle."""
    az = tri[k, kz] - okz
    bz = tri[k, 3 + kz] - okz
    cz = tri[k, 6 + kz] - okz
    ax = tri[k, kx] - okx - sx * az
    ay = tri[k, ky] - oky - sy * az
    bx = tri[k, 3 + kx] - okx - sx * bz
    by = tri[k, 3 + ky] - oky - sy * bz
    cx = tri[k, 6 + kx] - okx - sx * cz
    cy = tri[k, 6 + ky] - oky - sy * cz
    u = cx * by - cy * bx
    v = ax * cy - ay * cx
    w = bx * ay - by * ax
    if (u < 0.0 or v < 0.0 or w < 0.0) and (u > 0.0 or v > 0.0 or w > 0.0):
        return False
    det = u + v + w
    if det == 0.0:
        return False
    t_scaled = sz * (u * az + v * bz + w * cz)
    if det < 0.0:
        t_scaled = -t_scaled
        det = -det
    return t_scaled > tmin * det


@njit(**_JIT)
def _first_hit(
    nodes, refs, tri, stack, ox, oy, oz, ix, iy, iz, kx, ky, kz, sx, sy, sz, tmin
):  # pragma: no cover
    """Index of the first triangle found on the ray ``o + t d`` at ``t > tmin``
    (any-hit traversal of ``bvh_traverse.any_hit``), -1 when none."""
    okx = ox if kx == 0 else (oy if kx == 1 else oz)
    oky = ox if ky == 0 else (oy if ky == 1 else oz)
    okz = ox if kz == 0 else (oy if kz == 1 else oz)
    nx = 0 if ix >= 0.0 else 3
    ny = 1 if iy >= 0.0 else 4
    nz = 2 if iz >= 0.0 else 5
    fx = 3 - nx
    fy = 5 - ny
    fz = 7 - nz
    pad = 1.0 + BOX_PAD
    tmax = np.inf
    node = 0
    sp = 0
    while True:
        n0 = max(
            (nodes[node, nx] - ox) * ix,
            (nodes[node, ny] - oy) * iy,
            (nodes[node, nz] - oz) * iz,
            tmin,
        )
        f0 = (
            min(
                (nodes[node, fx] - ox) * ix,
                (nodes[node, fy] - oy) * iy,
                (nodes[node, fz] - oz) * iz,
                tmax,
            )
            * pad
        )
        n1 = max(
            (nodes[node, 6 + nx] - ox) * ix,
            (nodes[node, 6 + ny] - oy) * iy,
            (nodes[node, 6 + nz] - oz) * iz,
            tmin,
        )
        f1 = (
            min(
                (nodes[node, 6 + fx] - ox) * ix,
                (nodes[node, 6 + fy] - oy) * iy,
                (nodes[node, 6 + fz] - oz) * iz,
                tmax,
            )
            * pad
        )
        hit0 = n0 <= f0
        hit1 = n1 <= f1
        r0 = refs[node, 12]
        r1 = refs[node, 13]
        if hit1 and (not hit0 or n1 < n0):
            r0, r1 = r1, r0
            hit0, hit1 = hit1, hit0
        nxt = -1
        for c in range(2):
            if c == 0:
                if not hit0:
                    continue
                r = r0
            else:
                if not hit1:
                    continue
                r = r1
            if r >= 0:
                if nxt < 0:
                    nxt = r
                else:
                    stack[sp] = r
                    sp += 1
                continue
            leaf = -r - 1
            start = leaf >> 4
            for k in range(start, start + (leaf & 15)):
                if hits_triangle(tri, k, okx, oky, okz, kx, ky, kz, sx, sy, sz, tmin):
                    return k
        if nxt < 0:
            if sp == 0:
                return -1
            sp -= 1
            nxt = stack[sp]
        node = nxt


@njit(**_JIT)
def _packet_first_hit(
    nodes, refs, tri, stack, lanes, face, kx, ky, kz, tmin, n_live
):  # pragma: no cover
    """:func:`cimcity._kernels.bvh_packets.packet_any_hit` that records, per
    lane, the first triangle found (``face`` (P,) int64 in/out: lanes already
    >= 0 are done). Lanes share ``kx, ky, kz`` and direction signs; rows 8-13
    of ``lanes`` hold each lane's own inverse direction and shear."""
    pl = lanes.shape[1]
    nx = 0 if lanes[8, 0] >= 0.0 else 3
    ny = 1 if lanes[9, 0] >= 0.0 else 4
    nz = 2 if lanes[10, 0] >= 0.0 else 5
    pad = 1.0 + BOX_PAD
    node = 0
    sp = 0
    while True:
        bnx0 = nodes[node, nx]
        bny0 = nodes[node, ny]
        bnz0 = nodes[node, nz]
        bfx0 = nodes[node, 3 - nx]
        bfy0 = nodes[node, 5 - ny]
        bfz0 = nodes[node, 7 - nz]
        bnx1 = nodes[node, 6 + nx]
        bny1 = nodes[node, 6 + ny]
        bnz1 = nodes[node, 6 + nz]
        bfx1 = nodes[node, 9 - nx]
        bfy1 = nodes[node, 11 - ny]
        bfz1 = nodes[node, 13 - nz]
        any0 = 0
        any1 = 0
        for r in range(pl):
            ox = lanes[0, r]
            oy = lanes[1, r]
            oz = lanes[2, r]
            ix = lanes[8, r]
            iy = lanes[9, r]
            iz = lanes[10, r]
            tmax = lanes[14, r]
            n0 = max((bnx0 - ox) * ix, (bny0 - oy) * iy, (bnz0 - oz) * iz, tmin)
            f0 = min((bfx0 - ox) * ix, (bfy0 - oy) * iy, (bfz0 - oz) * iz, tmax) * pad
            n1 = max((bnx1 - ox) * ix, (bny1 - oy) * iy, (bnz1 - oz) * iz, tmin)
            f1 = min((bfx1 - ox) * ix, (bfy1 - oy) * iy, (bfz1 - oz) * iz, tmax) * pad
            live = (r < n_live) & (face[r] < 0)
            h0 = (n0 <= f0) & live
            h1 = (n1 <= f1) & live
            any0 += h0
            any1 += h1
            lanes[6, r] = n0 if h0 else np.inf
            lanes[7, r] = n1 if h1 else np.inf
        r0 = refs[node, 12]
        r1 = refs[node, 13]
        swap = any0 == 0
        if any0 > 0 and any1 > 0:
            near0 = np.inf
            near1 = np.inf
            for r in range(pl):
                near0 = min(near0, lanes[6, r])
                near1 = min(near1, lanes[7, r])
            swap = near1 < near0
        if swap:
            r0, r1 = r1, r0
            any0, any1 = any1, any0
        nxt = -1
        for c in range(2):
            if c == 0:
                if any0 == 0:
                    continue
                ref = r0
            else:
                if any1 == 0:
                    continue
                ref = r1
            if ref >= 0:
                if nxt < 0:
                    nxt = ref
                else:
                    stack[sp] = ref
                    sp += 1
                continue
            leaf = -ref - 1
            start = leaf >> 4
            for k in range(start, start + (leaf & 15)):
                akx = tri[k, kx]
                aky = tri[k, ky]
                akz = tri[k, kz]
                bkx = tri[k, 3 + kx]
                bky = tri[k, 3 + ky]
                bkz = tri[k, 3 + kz]
                ckx = tri[k, 6 + kx]
                cky = tri[k, 6 + ky]
                ckz = tri[k, 6 + kz]
                done = 0
                for r in range(pl):
                    okx = lanes[3, r]
                    oky = lanes[4, r]
                    okz = lanes[5, r]
                    sx = lanes[11, r]
                    sy = lanes[12, r]
                    sz = lanes[13, r]
                    tmax = lanes[14, r]
                    az = akz - okz
                    bz = bkz - okz
                    cz = ckz - okz
                    ax = akx - okx - sx * az
                    ay = aky - oky - sy * az
                    bx = bkx - okx - sx * bz
                    by = bky - oky - sy * bz
                    cx = ckx - okx - sx * cz
                    cy = cky - oky - sy * cz
                    u = cx * by - cy * bx
                    v = ax * cy - ay * cx
                    w = bx * ay - by * ax
                    det = u + v + w
                    t_scaled = sz * (u * az + v * bz + w * cz)
                    sign = 1.0 if det >= 0.0 else -1.0
                    t_abs = t_scaled * sign
                    det_abs = det * sign
                    outside = (min(u, v, w) < 0.0) & (max(u, v, w) > 0.0)
                    hit = (
                        ~outside
                        & (det != 0.0)
                        & (t_abs > tmin * det_abs)
                        & (t_abs <= tmax * det_abs)
                        & (r < n_live)
                    )
                    old = face[r]
                    now = k if (hit & (old < 0)) else old
                    face[r] = now
                    done += (now >= 0) | (r >= n_live)
                if done == pl:
                    return
        if nxt < 0:
            if sp == 0:
                return
            sp -= 1
            nxt = stack[sp]
        node = nxt


@njit(**_JIT)
def trace_pairs_faces(
    nodes,
    refs,
    tri,
    depth,
    shift,
    points,
    pair_s,
    pair_r,
    dset,
    kset,
    tmin,
    out,
    i0,
    i1,
):  # pragma: no cover
    """First triangle found on each listed ray, pairs ``i0 .. i1 - 1``.

    Pair ``k`` is the ray from ``points[pair_s[k]]`` (world [m], ``shift``
    subtracted) along the direction whose :func:`directions_setup` row is
    ``pair_r[k]``; ``out[k]`` gets the BVH-order index of a triangle hit at
    ``t > tmin`` (the first the any-hit traversal finds), -1 when none. Runs
    of up to :data:`PACKET` consecutive pairs whose directions share
    ``kx, ky, kz`` and signs and whose origins lie within
    :data:`PACKET_SPAN` go as one packet, others one by one: same answers.
    """
    stack = np.empty(depth + 2, np.int64)
    lanes = np.empty((LANE_ROWS, PACKET))
    face = np.empty(PACKET, np.int64)
    k = i0
    while k < i1:
        r0 = pair_r[k]
        kx = kset[r0, 0]
        ky = kset[r0, 1]
        kz = kset[r0, 2]
        # the run of pairs that can share a packet
        n_live = 1
        lo_x = hi_x = points[pair_s[k], 0]
        lo_y = hi_y = points[pair_s[k], 1]
        lo_z = hi_z = points[pair_s[k], 2]
        while n_live < PACKET and k + n_live < i1:
            q = k + n_live
            r = pair_r[q]
            if (
                kset[r, 0] != kx
                or kset[r, 1] != ky
                or kset[r, 2] != kz
                or (dset[r, 0] >= 0.0) != (dset[r0, 0] >= 0.0)
                or (dset[r, 1] >= 0.0) != (dset[r0, 1] >= 0.0)
                or (dset[r, 2] >= 0.0) != (dset[r0, 2] >= 0.0)
            ):
                break
            s = pair_s[q]
            x = points[s, 0]
            y = points[s, 1]
            z = points[s, 2]
            if (
                max(hi_x, x) - min(lo_x, x) > PACKET_SPAN
                or max(hi_y, y) - min(lo_y, y) > PACKET_SPAN
                or max(hi_z, z) - min(lo_z, z) > PACKET_SPAN
            ):
                break
            lo_x = min(lo_x, x)
            hi_x = max(hi_x, x)
            lo_y = min(lo_y, y)
            hi_y = max(hi_y, y)
            lo_z = min(lo_z, z)
            hi_z = max(hi_z, z)
            n_live += 1
        for r in range(PACKET):
            q = k + min(r, n_live - 1)
            s = pair_s[q]
            row = pair_r[q]
            ox = points[s, 0] - shift[0]
            oy = points[s, 1] - shift[1]
            oz = points[s, 2] - shift[2]
            lanes[0, r] = ox
            lanes[1, r] = oy
            lanes[2, r] = oz
            lanes[3, r] = ox if kx == 0 else (oy if kx == 1 else oz)
            lanes[4, r] = ox if ky == 0 else (oy if ky == 1 else oz)
            lanes[5, r] = ox if kz == 0 else (oy if kz == 1 else oz)
            for c in range(6):
                lanes[8 + c, r] = dset[row, c]
            lanes[14, r] = np.inf
            face[r] = -1
        if n_live > 1:
            _packet_first_hit(
                nodes, refs, tri, stack, lanes, face, kx, ky, kz, tmin, n_live
            )
        else:
            face[0] = _first_hit(
                nodes,
                refs,
                tri,
                stack,
                lanes[0, 0],
                lanes[1, 0],
                lanes[2, 0],
                lanes[8, 0],
                lanes[9, 0],
                lanes[10, 0],
                kx,
                ky,
                kz,
                lanes[11, 0],
                lanes[12, 0],
                lanes[13, 0],
                tmin,
            )
        for r in range(n_live):
            out[k + r] = face[r]
        k += n_live


@njit(**_JIT)
def lattice_grid(patch, col, row):  # pragma: no cover
    """Sensor index at each node of each patch's grid.

    Returns
    -------
    imax, jmax : (P,) int64
        Last column and row of each patch (-1: no sensor).
    base : (P + 1,) int64
        Offset of each patch's nodes in ``grid`` (column-major: node ``(i, j)``
        of patch ``p`` at ``base[p] + i * (jmax[p] + 1) + j``).
    grid : (base[P],) int64
        Sensor at each node, -1 where none.
    """
    n = patch.shape[0]
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
    return imax, jmax, base, grid


@njit(**_JIT)
def _ring_axis(i, s, imax, out):  # pragma: no cover
    """Grid lines of the step-``s`` lattice around the cell that holds ``i``:
    the cell's two lines and one more on each side where they exist (the
    last line ``imax`` is on every lattice). Returns how many (2 to 4); the
    cell's own lines are ``out[1], out[2]`` when a line precedes it, else
    ``out[0], out[1]``."""
    i0 = (i // s) * s
    i1 = min(i0 + s, imax)
    m = 0
    if i0 - s >= 0:
        out[m] = i0 - s
        m += 1
    out[m] = i0
    m += 1
    out[m] = i1
    m += 1
    if i1 < imax:
        out[m] = min(i1 + s, imax)
        m += 1
    return m


@njit(parallel=True, **_JIT)
def infer_level_faces(
    sel,
    step,
    corners,
    patch,
    col,
    row,
    imax,
    jmax,
    base,
    grid,
    group,
    gfront,
    bits,
    faces,
    frow,
    tri,
    shift,
    points,
    dset,
    kset,
    tmin,
    guard,
    adj,
    lattice_tol,
    need,
):  # pragma: no cover
    """One level of the coarse-first trace, every blocked answer proven.

    Sensor ``s = sel[r]`` lies inside a cell of the step-``2 * step`` lattice
    (``corners[s]``, four sensors already known). Its *neighbourhood* is the
    nodes of that lattice in the 4 x 4 block of lines around the cell
    (``guard``; else the four corners), those that exist in its normal group
    ``g``. For each direction ``d`` in front of ``g`` (``gfront[g, d]``):

    * the four corners exist, ``s`` lies within ``lattice_tol`` [m] of
      their cell (the rectangle of corners 0, 1, 2; partial cells at patch
      edges hold their sensors at their centroids, inside it), and the
      whole neighbourhood is visible: ``s`` is
      set visible (the one inferred answer), unless its ray hits a triangle
      that a neighbour's ray hit in one of the directions next to ``d``
      (``adj[d]``, -1 padded): then it is blocked (an occluder thinner than
      the cell, between the neighbours' rays);
    * else, if the ray of ``s`` (direction row ``g * nd + d`` of ``dset,
      kset``) hits a triangle a blocked neighbour's ray hit
      (``faces[frow[q], d]``), ``s`` is set blocked: a real hit;
    * else ``need[r, d]`` is set: the pair is traced (``need``: (len(sel),
      d) bool).

    ``faces`` (rows, d) int32 holds, for sensors with ``frow >= 0``, the
    triangle found on each blocked ray (-1 visible); the rows of ``s`` are
    written too when ``frow[s] >= 0`` (a node of the next level).

    Returns
    -------
    (len(sel),) int64
        Pairs left to trace per sensor.
    """
    m = sel.shape[0]
    nd = gfront.shape[1]
    count = np.zeros(m, np.int64)
    big = 2 * step
    nblk = (m + _BLOCK - 1) // _BLOCK
    for blk in prange(nblk):
        nodes = np.empty(16, np.int64)  # neighbourhood: corners first
        nrow = np.empty(16, np.int64)
        tested = np.empty(64, np.int64)
        orb = np.empty(bits.shape[1], np.uint8)
        li = np.empty(4, np.int64)
        lj = np.empty(4, np.int64)
        for r in range(blk * _BLOCK, min(m, (blk + 1) * _BLOCK)):
            s = sel[r]
            g = group[s]
            nn = 0
            ok = True
            for c in range(4):
                q = corners[s, c]
                if q < 0 or group[q] != g:
                    ok = False
                    continue
                dup = False
                for a in range(nn):
                    dup |= nodes[a] == q
                if not dup:
                    nodes[nn] = q
                    nn += 1
            if ok:  # s must lie in its corners' cell (within lattice_tol):
                # partial cells at patch edges hold their sensor at their
                # centroid, off the lattice node but inside the cell
                q0 = corners[s, 0]
                q1 = corners[s, 1]
                q2 = corners[s, 2]
                ua = 0.0  # |a|^2, v.a, |b|^2, v.b with a = q1 - q0, b = q2 - q0
                va = 0.0
                ub = 0.0
                vb = 0.0
                for c in range(3):
                    a_ = points[q1, c] - points[q0, c]
                    b_ = points[q2, c] - points[q0, c]
                    v_ = points[s, c] - points[q0, c]
                    ua += a_ * a_
                    va += v_ * a_
                    ub += b_ * b_
                    vb += v_ * b_
                wi = va / ua if ua > 0.0 else 0.0
                wj = vb / ub if ub > 0.0 else 0.0
                err = 0.0  # distance from s to the cell (a and b are orthogonal)
                for c in range(3):
                    e = (
                        points[s, c] - points[q0, c]
                        - wi * (points[q1, c] - points[q0, c])
                        - wj * (points[q2, c] - points[q0, c])
                    )
                    err += e * e
                la = np.sqrt(ua)
                lb = np.sqrt(ub)
                out_a = max(0.0, -wi * la, (wi - 1.0) * la)
                out_b = max(0.0, -wj * lb, (wj - 1.0) * lb)
                err += out_a * out_a + out_b * out_b
                ok = err <= lattice_tol * lattice_tol
            nc = nn  # the corners come first
            if guard:
                p = patch[s]
                mi = _ring_axis(col[s], big, imax[p], li)
                mj = _ring_axis(row[s], big, jmax[p], lj)
                h = jmax[p] + 1
                for a in range(mi):
                    for b in range(mj):
                        q = grid[base[p] + li[a] * h + lj[b]]
                        if q < 0 or group[q] != g:
                            continue
                        dup = False
                        for c in range(nn):
                            dup |= nodes[c] == q
                        if not dup:
                            nodes[nn] = q
                            nn += 1
            nbytes = bits.shape[1]
            for y in range(nbytes):  # directions any neighbour is blocked in
                v = np.uint8(0)
                for a in range(nn):
                    v |= bits[nodes[a], y]
                orb[y] = v
            for a in range(nn):
                nrow[a] = frow[nodes[a]]
            rs = frow[s]
            ox = points[s, 0] - shift[0]
            oy = points[s, 1] - shift[1]
            oz = points[s, 2] - shift[2]
            k = 0
            last = -1
            for d in range(nd):
                if not gfront[g, d]:
                    continue
                byte = d >> 3
                sh = d & 7
                row_ = g * nd + d
                clear = (orb[byte] >> sh) & 1 == 0
                if clear and ok:
                    near = False  # a neighbour blocked along a nearby direction
                    for j in range(adj.shape[1]):
                        d2 = adj[d, j]
                        if d2 >= 0 and (orb[d2 >> 3] >> (d2 & 7)) & 1:
                            near = True
                    if not near:
                        bits[s, byte] &= ~np.uint8(1 << sh)
                        if rs >= 0:
                            faces[rs, d] = -1
                        continue
                kx = kset[row_, 0]
                ky = kset[row_, 1]
                kz = kset[row_, 2]
                sx = dset[row_, 3]
                sy = dset[row_, 4]
                sz = dset[row_, 5]
                okx = ox if kx == 0 else (oy if kx == 1 else oz)
                oky = ox if ky == 0 else (oy if ky == 1 else oz)
                okz = ox if kz == 0 else (oy if kz == 1 else oz)
                found = -1
                if clear:
                    if not ok:
                        need[r, d] = True
                        k += 1
                        continue
                    # the neighbourhood sees the sky along d: test the
                    # triangles it hits along the nearest directions
                    nt = 0
                    for j in range(adj.shape[1]):
                        d2 = adj[d, j]
                        if d2 < 0 or found >= 0:
                            continue
                        if (orb[d2 >> 3] >> (d2 & 7)) & 1 == 0:
                            continue
                        for a in range(nc):
                            f = faces[nrow[a], d2]
                            if f < 0:
                                continue
                            seen = False
                            for a2 in range(nt):
                                seen |= tested[a2] == f
                            if seen:
                                continue
                            if nt < tested.shape[0]:
                                tested[nt] = f
                                nt += 1
                            if hits_triangle(
                                tri, f, okx, oky, okz, kx, ky, kz, sx, sy, sz, tmin
                            ):
                                found = f
                                break
                    if found < 0:
                        bits[s, byte] &= ~np.uint8(1 << sh)
                        if rs >= 0:
                            faces[rs, d] = -1
                        continue
                else:
                    # the triangle this sensor's ray hit last (previous
                    # direction), then those its neighbours hit along d
                    tried = last
                    if last >= 0 and hits_triangle(
                        tri, last, okx, oky, okz, kx, ky, kz, sx, sy, sz, tmin
                    ):
                        found = last
                    for a in range(nn):
                        if found >= 0:
                            break
                        f = faces[nrow[a], d]
                        if f < 0 or f == tried:
                            continue
                        tried = f
                        if hits_triangle(
                            tri, f, okx, oky, okz, kx, ky, kz, sx, sy, sz, tmin
                        ):
                            found = f
                if found >= 0:
                    bits[s, byte] |= np.uint8(1 << sh)
                    if rs >= 0:
                        faces[rs, d] = found
                    last = found
                    continue
                need[r, d] = True
                k += 1
            count[r] = k
    return count


@njit(**_JIT)
def list_pairs(sel, need, group, nd, block):  # pragma: no cover
    """Flagged pairs of ``need`` (len(sel), d) bool: sensor index and
    direction row ``group * nd + d`` of each, by blocks of ``block`` sensors
    and direction-major within a block (packets of neighbouring sensors along
    one direction; a block's BVH nodes stay in cache across directions)."""
    m = need.shape[0]
    total = 0
    for r in range(m):
        for d in range(need.shape[1]):
            total += need[r, d]
    ps = np.empty(total, np.int64)
    pr = np.empty(total, np.int64)
    k = 0
    for b0 in range(0, m, block):
        b1 = min(m, b0 + block)
        for d in range(need.shape[1]):
            for r in range(b0, b1):
                if need[r, d]:
                    s = sel[r]
                    ps[k] = s
                    pr[k] = group[s] * nd + d
                    k += 1
    return ps, pr


@njit(**_JIT)
def scatter_faces(bits, faces, frow, pair_s, pair_r, nd, hit):  # pragma: no cover
    """Bits and face rows of traced pairs: ``hit[k]`` triangle (-1: none) of
    the pair (``pair_s[k]``, direction ``pair_r[k] % nd``)."""
    for k in range(pair_s.shape[0]):
        s = pair_s[k]
        d = pair_r[k] % nd
        bit = np.uint8(1 << (d & 7))
        if hit[k] >= 0:
            bits[s, d >> 3] |= bit
        else:
            bits[s, d >> 3] &= ~bit
        rs = frow[s]
        if rs >= 0:
            faces[rs, d] = hit[k]


@njit(**_JIT)
def pair_rays(sel, need, group, points, ldirs, block):  # pragma: no cover
    """Rays of the flagged pairs of ``need`` (len(sel), d) bool, in the order
    of :func:`list_pairs`: origins, (lifted) directions ``ldirs[group, d]``,
    sensor and direction of each."""
    ps, pr = list_pairs(sel, need, group, ldirs.shape[1], block)
    nd = ldirs.shape[1]
    m = ps.shape[0]
    origins = np.empty((m, 3))
    dirs = np.empty((m, 3))
    pd = np.empty(m, np.int64)
    for k in range(m):
        s = ps[k]
        g = pr[k] // nd
        d = pr[k] - g * nd
        pd[k] = d
        for c in range(3):
            origins[k, c] = points[s, c]
            dirs[k, c] = ldirs[g, d, c]
    return origins, dirs, ps, pd
