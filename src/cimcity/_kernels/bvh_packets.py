"""Packets of rays (numba): the visibility matrix and grouped flat any-hit rays.

Up to 8 rays that share the dominant axis and direction signs and start
within 16 m of each other walk the union of their paths, each node and
triangle tested against all lanes in a loop LLVM vectorises (Wald et al.
2001): :func:`packet_any_hit`. The visibility matrix packs neighbouring
sensors per direction (:func:`occluded_matrix_bits`); flat queries sort each
window of rays by :func:`direction_cell` first (:func:`occluded_grouped`). Per
lane the arithmetic is that of the single-ray test of
:mod:`cimcity._kernels.bvh_traverse`, so answers never depend on grouping.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .bvh_traverse import BOX_PAD, any_hit, ray_setup, unit_ray

_JIT = dict(nogil=True, cache=True, error_model="numpy")

#: rays per packet in the visibility matrix (lanes of one vectorised loop)
PACKET = 8
#: origins of a packet must lie within this box size to be traced together [m]
PACKET_SPAN = 16.0
#: direction cells per side of each of the 6 cube-map faces: rays are grouped by
#: cell (angular size <= 2/DIR_CELLS rad, 3.6 degrees) before packet tracing
DIR_CELLS = 32
#: number of direction cells; key ``N_CELLS`` marks invalid rays
N_CELLS = 6 * DIR_CELLS * DIR_CELLS
#: rows of the lane array of :func:`packet_any_hit`
LANE_ROWS = 16
#: rays per window of :func:`occluded_grouped` (sorted by direction cell within it)
WINDOW = 8192


@njit(**_JIT)
def _side_bin(u):
    """Cell along one cube-face axis for ``u = d[k] / |d[kz]|`` in [-1, 1]; the
    sign of ``u`` (``u >= 0``, zero included, like :func:`~cimcity._kernels.bvh_traverse.ray_setup`'s inverse
    direction) picks the half, so a cell does not mix direction signs."""
    half = DIR_CELLS // 2
    if u >= 0.0:
        return half + min(int(u * half), half - 1)
    return half - 1 - min(int(-u * half), half - 1)


@njit(**_JIT)
def direction_cell(dx, dy, dz):
    """Cube-map cell of a direction (any non-zero length): the cube face is
    the dominant axis and its sign (ties as in :func:`~cimcity._kernels.bvh_traverse.ray_setup`), the cell on
    it bins the two other components over the dominant one's magnitude.

    Rays of one cell nearly always share what :func:`packet_any_hit` needs
    shared (``kx, ky, kz`` and the direction signs); callers check it, since
    normalising a direction can turn a near tie of two components into a tie.
    """
    ax = abs(dx)
    ay = abs(dy)
    az = abs(dz)
    if ax >= ay and ax >= az:
        face = 0 if dx >= 0.0 else 1
        inv = 1.0 / ax
        u = dy * inv
        v = dz * inv
    elif ay >= az:
        face = 2 if dy >= 0.0 else 3
        inv = 1.0 / ay
        u = dz * inv
        v = dx * inv
    else:
        face = 4 if dz >= 0.0 else 5
        inv = 1.0 / az
        u = dx * inv
        v = dy * inv
    return (face * DIR_CELLS + _side_bin(u)) * DIR_CELLS + _side_bin(v)


@njit(**_JIT)
def packet_any_hit(nodes, refs, tri, stack, lanes, blocked, kx, ky, kz, tmin, n_live):
    """Any-hit for a packet of rays (Wald et al. 2001, "Interactive rendering
    with coherent ray tracing") that share ``kx, ky, kz`` and the signs of
    their direction components (e.g. one :func:`direction_cell`), each with
    its own origin, direction and ``tmax``.

    ``lanes`` : (:data:`LANE_ROWS`, P) float64 — rows 0-2 local origin
    ``x, y, z``; 3-5 the same permuted to ``kx, ky, kz`` (watertight test
    axes); 6-7 scratch; 8-10 inverse direction ``ix, iy, iz``; 11-13 shear
    ``sx, sy, sz`` (:func:`~cimcity._kernels.bvh_traverse.ray_setup`); 14 ``tmax``; 15 free for the caller. Lanes
    ``>= n_live`` are padding. ``blocked`` : (P,) bool, in/out — lanes
    already True are not traced, hits set them True.

    The packet walks the union of its rays' paths; each node and triangle is
    tested against all lanes in one loop that LLVM vectorises (its trip count
    ``P`` must stay a run-time value: a constant gets fully unrolled and then
    stays scalar). Near and far slab planes are picked once per packet from
    the shared signs; per lane the arithmetic is that of :func:`~cimcity._kernels.bvh_traverse.any_hit`
    (whose min/max slab test picks the same planes), so the answers are
    identical.
    """
    pl = lanes.shape[1]
    nx = 0 if lanes[8, 0] >= 0.0 else 3  # shared signs: near/far slab planes
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
            live = (r < n_live) & ~blocked[r]
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
                    now = blocked[r] | hit
                    blocked[r] = now
                    done += now | (r >= n_live)
                if done == pl:
                    return
        if nxt < 0:
            if sp == 0:
                return
            sp -= 1
            nxt = stack[sp]
        node = nxt


@njit(**_JIT)
def occluded_matrix_bits(
    nodes,
    refs,
    tri,
    depth,
    shift,
    origins,
    directions,
    normals,
    dset,
    kset,
    tmin,
    tmax,
    block,
    packet,
    out,
    i0,
    i1,
):
    """Any-hit for every (origin, direction) pair, bit-packed.

    Bit ``j`` of row ``i`` (byte ``j // 8``, bit ``j % 8``: numpy
    ``packbits(bitorder="little")``) is set when the ray from ``origins[i]``
    (world [m], ``shift`` subtracted) along ``directions[j]`` (unit) is blocked
    at ``tmin < t <= tmax``. When ``normals`` has one row per origin, pairs
    with ``normals[i] · directions[j] <= 0`` are set without tracing (the
    sensor's own surface blocks them). ``out`` must be zeroed by the caller.

    Rows ``i0 .. i1 - 1`` only, in blocks of ``block`` origins: within a
    block, for each direction, runs of ``packet`` consecutive origins are
    traced together by :func:`packet_any_hit` when they lie within
    :data:`PACKET_SPAN` of each other (sensors of one facade or roof), else
    one by one with :func:`~cimcity._kernels.bvh_traverse.any_hit`; both give the same answers. ``dset,
    kset`` are :func:`~cimcity._kernels.bvh_traverse.directions_setup` of ``directions``.
    """
    n = origins.shape[0]
    use_normals = normals.shape[0] == n and n > 0
    for b0 in range(i0, i1, block):
        _matrix_block(
            nodes,
            refs,
            tri,
            depth,
            shift,
            origins,
            directions,
            normals,
            use_normals,
            dset,
            kset,
            tmin,
            tmax,
            b0,
            min(i1, b0 + block),
            packet,
            out,
        )


@njit(**_JIT)
def _matrix_block(
    nodes,
    refs,
    tri,
    depth,
    shift,
    origins,
    directions,
    normals,
    use_normals,
    dset,
    kset,
    tmin,
    tmax,
    i0,
    i1,
    packet,
    out,
):
    """One block of origins ``i0 .. i1 - 1`` of :func:`occluded_matrix_bits`."""
    nd = directions.shape[0]
    stack = np.empty(depth + 2, np.int64)
    lanes = np.empty((LANE_ROWS, packet))
    blocked = np.empty(packet, np.bool_)
    for j in range(nd):
        ix = dset[j, 0]
        iy = dset[j, 1]
        iz = dset[j, 2]
        kx = kset[j, 0]
        ky = kset[j, 1]
        kz = kset[j, 2]
        byte = j >> 3
        bit = np.uint8(1 << (j & 7))
        for r in range(packet):
            lanes[8, r] = ix
            lanes[9, r] = iy
            lanes[10, r] = iz
            lanes[11, r] = dset[j, 3]
            lanes[12, r] = dset[j, 4]
            lanes[13, r] = dset[j, 5]
            lanes[14, r] = tmax
        for p0 in range(i0, i1, packet):
            n_live = min(packet, i1 - p0)
            lo_x = np.inf
            hi_x = -np.inf
            lo_y = np.inf
            hi_y = -np.inf
            lo_z = np.inf
            hi_z = -np.inf
            for r in range(packet):
                i = p0 + min(r, n_live - 1)
                ox = origins[i, 0] - shift[0]
                oy = origins[i, 1] - shift[1]
                oz = origins[i, 2] - shift[2]
                lanes[0, r] = ox
                lanes[1, r] = oy
                lanes[2, r] = oz
                lanes[3, r] = ox if kx == 0 else (oy if kx == 1 else oz)
                lanes[4, r] = ox if ky == 0 else (oy if ky == 1 else oz)
                lanes[5, r] = ox if kz == 0 else (oy if kz == 1 else oz)
                lo_x = min(lo_x, ox)
                hi_x = max(hi_x, ox)
                lo_y = min(lo_y, oy)
                hi_y = max(hi_y, oy)
                lo_z = min(lo_z, oz)
                hi_z = max(hi_z, oz)
                back = False
                if use_normals:
                    back = (
                        normals[i, 0] * directions[j, 0]
                        + normals[i, 1] * directions[j, 1]
                        + normals[i, 2] * directions[j, 2]
                    ) <= 0.0
                blocked[r] = back
            span = max(hi_x - lo_x, hi_y - lo_y, hi_z - lo_z)
            if n_live > 1 and span <= PACKET_SPAN:
                packet_any_hit(
                    nodes,
                    refs,
                    tri,
                    stack,
                    lanes,
                    blocked,
                    kx,
                    ky,
                    kz,
                    tmin,
                    n_live,
                )
            else:
                for r in range(n_live):
                    if not blocked[r]:
                        blocked[r] = any_hit(
                            nodes,
                            refs,
                            tri,
                            stack,
                            lanes[0, r],
                            lanes[1, r],
                            lanes[2, r],
                            ix,
                            iy,
                            iz,
                            kx,
                            ky,
                            kz,
                            dset[j, 3],
                            dset[j, 4],
                            dset[j, 5],
                            tmin,
                            tmax,
                        )
            for r in range(n_live):
                if blocked[r]:
                    out[p0 + r, byte] |= bit


@njit(**_JIT)
def occluded_grouped(
    nodes, refs, tri, depth, shift, origins, directions, tmin, tmax, out, w0, w1
):
    """Any-hit for rays of windows ``w0 .. w1 - 1`` (:data:`WINDOW` consecutive
    rays each), grouped into packets (arguments and result as
    :func:`~cimcity._kernels.bvh_traverse.occluded_rays`, same answers).

    In each window the rays are sorted by :func:`direction_cell` (counting sort,
    stable: rays of a cell keep their input order, e.g. sensor order), and
    runs of up to :data:`PACKET` rays of one cell whose origins lie within
    :data:`PACKET_SPAN` and that share ``kx, ky, kz`` and direction signs are
    traced together by :func:`packet_any_hit` (e.g. sensors x sky patches
    flattened sensor by sensor: each window holds runs of neighbouring
    sensors per direction); other rays go one by one through :func:`~cimcity._kernels.bvh_traverse.any_hit`.
    Consecutive lanes with the same direction share one :func:`~cimcity._kernels.bvh_traverse.ray_setup`.
    """
    bad = 0
    for w in range(w0, w1):
        bad += _grouped_window(
            nodes, refs, tri, depth, shift, origins, directions, tmin, tmax, out, w
        )
    return bad


@njit(**_JIT)
def _grouped_window(
    nodes, refs, tri, depth, shift, origins, directions, tmin, tmax, out, w
):
    """Window ``w`` of :func:`occluded_grouped`; returns its invalid rays."""
    n = out.shape[0]
    one_tmax = tmax.shape[0] == 1
    n_dir = directions.shape[0]
    bad = 0
    i0 = w * WINDOW
    m = min(n, i0 + WINDOW) - i0
    stack = np.empty(depth + 2, np.int64)
    lanes = np.empty((LANE_ROWS, PACKET))
    blocked = np.empty(PACKET, np.bool_)
    key = np.empty(m, np.int64)
    start = np.zeros(N_CELLS + 2, np.int64)
    for q in range(m):
        i = i0 + q
        a = i * (origins.shape[0] > 1)
        b = i * (n_dir > 1)
        dx = directions[b, 0]
        dy = directions[b, 1]
        dz = directions[b, 2]
        len2 = dx * dx + dy * dy + dz * dz
        # the validity test of unit_ray (sqrt(len2) > 0 and < inf)
        o_sum = origins[a, 0] - shift[0] + origins[a, 1] - shift[1]
        ok = (len2 > 0.0) & (len2 < np.inf)
        ok &= np.isfinite(o_sum + origins[a, 2] - shift[2])
        c = direction_cell(dx, dy, dz) if ok else N_CELLS
        if not ok:
            bad += 1
        key[q] = c
        start[c + 1] += 1
    for c in range(N_CELLS + 1):
        start[c + 1] += start[c]
    order = np.empty(m, np.int64)
    for q in range(m):
        c = key[q]
        order[start[c]] = q
        start[c] += 1
    s = 0
    while s < m:
        cell = key[order[s]]
        run = 1
        while run < PACKET and s + run < m and key[order[s + run]] == cell:
            run += 1
        if cell == N_CELLS:
            for r in range(run):
                out[i0 + order[s + r]] = False
            s += run
            continue
        lo_x = np.inf
        hi_x = -np.inf
        lo_y = np.inf
        hi_y = -np.inf
        lo_z = np.inf
        hi_z = -np.inf
        mixed = False
        kx0 = ky0 = kz0 = 0
        prev = -1
        ix = iy = iz = sx = sy = sz = 0.0
        kx = ky = kz = 0
        for r in range(PACKET):
            i = i0 + order[s + min(r, run - 1)]
            a = i * (origins.shape[0] > 1)
            b = i * (n_dir > 1)
            ox = origins[a, 0] - shift[0]
            oy = origins[a, 1] - shift[1]
            oz = origins[a, 2] - shift[2]
            same = prev >= 0 and (
                directions[b, 0] == directions[prev, 0]
                and directions[b, 1] == directions[prev, 1]
                and directions[b, 2] == directions[prev, 2]
            )
            if not same:
                ox, oy, oz, dx, dy, dz, ok = unit_ray(origins, directions, shift, i)
                ix, iy, iz, kx, ky, kz, sx, sy, sz = ray_setup(dx, dy, dz)
                prev = b
            if r == 0:
                kx0 = kx
                ky0 = ky
                kz0 = kz
            mixed |= (kx != kx0) | (ky != ky0) | (kz != kz0)
            lanes[0, r] = ox
            lanes[1, r] = oy
            lanes[2, r] = oz
            lanes[3, r] = ox if kx == 0 else (oy if kx == 1 else oz)
            lanes[4, r] = ox if ky == 0 else (oy if ky == 1 else oz)
            lanes[5, r] = ox if kz == 0 else (oy if kz == 1 else oz)
            lanes[8, r] = ix
            lanes[9, r] = iy
            lanes[10, r] = iz
            lanes[11, r] = sx
            lanes[12, r] = sy
            lanes[13, r] = sz
            lanes[14, r] = tmax[0] if one_tmax else tmax[i]
            lanes[15, r] = kx + 3 * ky + 9 * kz
            blocked[r] = False
            lo_x = min(lo_x, ox)
            hi_x = max(hi_x, ox)
            lo_y = min(lo_y, oy)
            hi_y = max(hi_y, oy)
            lo_z = min(lo_z, oz)
            hi_z = max(hi_z, oz)
        for r in range(1, PACKET):
            for c in range(8, 11):
                mixed |= (lanes[c, r] < 0.0) != (lanes[c, 0] < 0.0)
        span = max(hi_x - lo_x, hi_y - lo_y, hi_z - lo_z)
        if run > 1 and span <= PACKET_SPAN and not mixed:
            packet_any_hit(
                nodes, refs, tri, stack, lanes, blocked, kx0, ky0, kz0, tmin, run
            )
        else:
            for r in range(run):
                code = int(lanes[15, r])
                blocked[r] = any_hit(
                    nodes,
                    refs,
                    tri,
                    stack,
                    lanes[0, r],
                    lanes[1, r],
                    lanes[2, r],
                    lanes[8, r],
                    lanes[9, r],
                    lanes[10, r],
                    code % 3,
                    code // 3 % 3,
                    code // 9,
                    lanes[11, r],
                    lanes[12, r],
                    lanes[13, r],
                    tmin,
                    lanes[14, r],
                )
        for r in range(run):
            out[i0 + order[s + r]] = blocked[r]
        s += run
    return bad
