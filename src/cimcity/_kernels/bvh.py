"""Bounding volume hierarchy and ray queries on triangle meshes (numba).

Hand-written because no maintained Python package offers a compiled,
``nogil`` BVH whose traversal we can call from our own numba kernels (the
sensor × direction visibility matrix is traced without building ray arrays);
trimesh's pure-numpy engine is orders of magnitude slower and Embree is an
optional extra.

Layout
------
Built by :func:`build` from float64 triangle corners in the mesh's local frame:

``box`` : (nodes, 6) float32
    Node bounds ``(minx, miny, minz, maxx, maxy, maxz)`` rounded outwards to
    float32 (conservative), in the local frame [m].
``first``, ``count`` : (nodes,) int64
    Leaf: ``count > 0`` triangles ``first .. first + count - 1`` (BVH order).
    Inner node: ``count == 0``, children at ``first`` and ``first + 1``.
``tri`` : (m, 9) float64
    Triangle corners ``(x0, y0, z0, x1, ..., z2)`` in BVH order [m].
``tri_face`` : (m,) int64
    Original face index of each triangle in BVH order.

Algorithms
----------
* Build: top-down binned surface-area heuristic (SAH), 16 bins on each axis
  (Wald 2007, "On fast construction of SAH-based bounding volume hierarchies").
* Traversal: ordered (nearest child first) with an explicit stack; closest-hit
  skips popped nodes whose entry distance exceeds the current hit.
* Ray–box: slab test with the far distance enlarged by ``BOX_PAD`` (relative)
  so rounding never culls a box the ray touches (Ize 2013, "Robust BVH ray
  traversal", JCGT 2(2)).
* Ray–triangle: watertight test of Woop, Benthin & Wald 2013 ("Watertight
  ray/triangle intersection", JCGT 2(1)), evaluated in float64. Edge functions
  equal to zero count as inside, so a ray through a shared edge or vertex hits
  at least one of the adjoining triangles: no leaks between the triangles of a
  closed building.
* Packets (any-hit): up to 8 rays that share the dominant axis and direction
  signs and start within 16 m of each other walk the union of their paths,
  each node and triangle tested against all lanes in a loop LLVM vectorises
  (Wald et al. 2001): :func:`packet_any_hit`. The visibility matrix packs
  neighbouring sensors per direction; flat queries sort each window of rays
  by :func:`direction_cell` first (:func:`occluded_grouped`). Per lane the
  arithmetic is that of the single-ray test, so answers never depend on
  grouping.
* Threads: the batch kernels take a range of rays (or windows, or sensor
  rows) and release the GIL; :mod:`cimcity.raycast` hands small ranges to one
  Python thread per core, each pulling the next range when done. Unlike a
  static ``prange`` split, a core slowed down by other processes, or given
  the expensive street-level rays, simply takes fewer ranges.

Rays are ``(origin, unit direction)``; a hit counts when
``tmin < t <= tmax`` (``t`` in metres along the unit direction).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_JIT = dict(nogil=True, cache=True, error_model="numpy")

#: number of SAH bins per axis
N_BINS = 16
#: leaves hold at most this many triangles
MAX_LEAF = 4
#: SAH cost of one node traversal relative to one triangle test
COST_TRAVERSAL = 1.0
#: relative enlargement of the slab test's far distance (Ize 2013, float64 γ₃ ≪ this)
BOX_PAD = 1e-9
#: rays per packet in the visibility matrix (lanes of one vectorised loop)
PACKET = 8
#: origins of a packet must lie within this box size to be traced together [m]
PACKET_SPAN = 16.0
#: stands in for 1/0 in inverse directions (keeps 0 * inv finite)
_BIG = 1e30


# -- build -------------------------------------------------------------------------
# Written as small functions with few branches: numba's compile time grows
# quickly with the number of basic blocks in one function.


@njit(**_JIT)
def _half_area(lo, hi):
    ex = hi[0] - lo[0]
    ey = hi[1] - lo[1]
    ez = hi[2] - lo[2]
    return ex * ey + ey * ez + ez * ex


@njit(**_JIT)
def _grow(lo, hi, src_lo, src_hi):
    for c in range(3):
        lo[c] = min(lo[c], src_lo[c])
        hi[c] = max(hi[c], src_hi[c])


@njit(**_JIT)
def _reset(lo, hi):
    """Empty bounds (+inf, -inf); loops rather than slice fills, which compile
    numba's string formatting for their error messages."""
    for c in range(lo.size):
        lo.flat[c] = np.inf
        hi.flat[c] = -np.inf


@njit(**_JIT)
def _bounds(order, start, end, lo, hi, cen, node_lo, node_hi, cen_lo, cen_hi):
    """Bounds of triangles ``order[start:end]`` and of their centroids."""
    _reset(node_lo, node_hi)
    _reset(cen_lo, cen_hi)
    for k in range(start, end):
        i = order[k]
        _grow(node_lo, node_hi, lo[i], hi[i])
        _grow(cen_lo, cen_hi, cen[i], cen[i])


@njit(**_JIT)
def _bin_of(value, low, scale):
    return min(int((value - low) * scale), N_BINS - 1)


@njit(**_JIT)
def _best_split(order, start, end, lo, hi, cen, cen_lo, cen_hi, scratch):
    """Binned SAH over the three axes: ``(cost, axis, last bin of the left side)``
    with cost = sum of child half-areas x triangle counts (axis -1: no split)."""
    b_cnt, b_lo, b_hi, r_area, r_cnt, acc_lo, acc_hi = scratch
    best_cost = np.inf
    best_axis = -1
    best_bin = -1
    for a in range(3):
        ext = cen_hi[a] - cen_lo[a]
        if not ext > 0.0:
            continue
        scale = N_BINS / ext
        b_cnt *= 0
        _reset(b_lo, b_hi)
        for k in range(start, end):
            i = order[k]
            b = _bin_of(cen[i, a], cen_lo[a], scale)
            b_cnt[b] += 1
            _grow(b_lo[b], b_hi[b], lo[i], hi[i])
        _reset(acc_lo, acc_hi)
        count = 0
        for b in range(N_BINS - 1, 0, -1):
            _grow(acc_lo, acc_hi, b_lo[b], b_hi[b])
            count += b_cnt[b]
            r_cnt[b] = count
            r_area[b] = _half_area(acc_lo, acc_hi) if count > 0 else 0.0
        _reset(acc_lo, acc_hi)
        count = 0
        for b in range(N_BINS - 1):
            _grow(acc_lo, acc_hi, b_lo[b], b_hi[b])
            count += b_cnt[b]
            if count > 0 and r_cnt[b + 1] > 0:
                cost = _half_area(acc_lo, acc_hi) * count + r_area[b + 1] * r_cnt[b + 1]
                if cost < best_cost:
                    best_cost = cost
                    best_axis = a
                    best_bin = b
    return best_cost, best_axis, best_bin


@njit(**_JIT)
def _partition(order, start, end, cen, axis, low, scale, last_bin):
    """Move triangles whose centroid bin is <= ``last_bin`` first; returns the
    index of the first triangle of the right side."""
    i = start
    j = end - 1
    while i <= j:
        t = order[i]
        if _bin_of(cen[t, axis], low, scale) <= last_bin:
            i += 1
        else:
            order[i] = order[j]
            order[j] = t
            j -= 1
    return i


@njit(**_JIT)
def build(tri):
    """Binned-SAH BVH over triangles.

    Parameters
    ----------
    tri : (m, 3, 3) float64
        Triangle corners in the local frame [m].

    Returns
    -------
    box : (nodes, 6) float64
        Node bounds ``(min xyz, max xyz)``.
    first, count : (nodes,) int64
        Leaf: ``count > 0`` triangles from position ``first`` of ``order``;
        inner node: ``count == 0``, children at ``first`` and ``first + 1``.
    order : (m,) int64
        Triangle indices in BVH order.
    depth : int
        Depth of the deepest node (root = 0); sizes the traversal stack.
    """
    m = tri.shape[0]
    lo = np.empty((m, 3))
    hi = np.empty((m, 3))
    cen = np.empty((m, 3))
    for i in range(m):
        for a in range(3):
            lo[i, a] = min(tri[i, 0, a], tri[i, 1, a], tri[i, 2, a])
            hi[i, a] = max(tri[i, 0, a], tri[i, 1, a], tri[i, 2, a])
            cen[i, a] = 0.5 * (lo[i, a] + hi[i, a])
    order = np.arange(m)
    cap = max(2 * m - 1, 1)
    box = np.zeros((cap, 6))
    first = np.zeros(cap, np.int64)
    count = np.zeros(cap, np.int64)
    # work stack of (node, start, end, depth)
    work = np.empty((cap, 4), np.int64)
    work[0, 0] = 0
    work[0, 1] = 0
    work[0, 2] = m
    work[0, 3] = 0
    sp = 1 if m > 0 else 0
    n_nodes = 1
    max_depth = 0
    node_lo = np.empty(3)
    node_hi = np.empty(3)
    cen_lo = np.empty(3)
    cen_hi = np.empty(3)
    scratch = (
        np.empty(N_BINS, np.int64),
        np.empty((N_BINS, 3)),
        np.empty((N_BINS, 3)),
        np.empty(N_BINS),
        np.empty(N_BINS, np.int64),
        np.empty(3),
        np.empty(3),
    )
    while sp > 0:
        sp -= 1
        node, start, end, depth = work[sp, 0], work[sp, 1], work[sp, 2], work[sp, 3]
        max_depth = max(max_depth, depth)
        cnt = end - start
        _bounds(order, start, end, lo, hi, cen, node_lo, node_hi, cen_lo, cen_hi)
        for c in range(3):  # element-wise, see _reset
            box[node, c] = node_lo[c]
            box[node, 3 + c] = node_hi[c]
        cost, axis, last_bin = _best_split(
            order, start, end, lo, hi, cen, cen_lo, cen_hi, scratch
        )
        # SAH: a leaf costs cnt tests; a split one traversal plus its children
        leaf_cost = _half_area(node_lo, node_hi) * cnt
        split_cost = COST_TRAVERSAL * _half_area(node_lo, node_hi) + cost
        if cnt == 1 or (cnt <= MAX_LEAF and leaf_cost <= split_cost):
            first[node] = start
            count[node] = cnt
            continue
        mid = start + cnt // 2  # coincident centroids: split in the middle
        if axis >= 0:
            scale = N_BINS / (cen_hi[axis] - cen_lo[axis])
            mid = _partition(
                order, start, end, cen, axis, cen_lo[axis], scale, last_bin
            )
        first[node] = n_nodes
        work[sp, 0] = n_nodes + 1
        work[sp, 1] = mid
        work[sp, 2] = end
        work[sp, 3] = depth + 1
        work[sp + 1, 0] = n_nodes
        work[sp + 1, 1] = start
        work[sp + 1, 2] = mid
        work[sp + 1, 3] = depth + 1
        sp += 2
        n_nodes += 2
    return box[:n_nodes], first[:n_nodes], count[:n_nodes], order, max_depth


# -- node packing ----------------------------------------------------------------------
#: bits of a leaf reference holding the triangle count (leaves hold < 16)
_LEAF_BITS = 4


def pack_nodes(box, first, count):
    """Traversal layout of a built BVH: one 64-byte row per inner node.

    Parameters
    ----------
    box : (nodes, 6) float64
        Node bounds from :func:`build`.
    first, count : (nodes,) int64
        From :func:`build`.

    Returns
    -------
    nodes : (inner, 16) float32, 64-byte aligned
        Row ``p``: bounds of child 0 ``(minx, miny, minz, maxx, maxy, maxz)``,
        bounds of child 1, then (as int32 bits, read through
        ``nodes.view(np.int32)``) the references of child 0 and child 1 and two
        unused words. A reference ``r >= 0`` is inner node ``r``; ``r < 0`` is
        a leaf of ``(-r - 1) & 15`` triangles starting at ``(-r - 1) >> 4``.
        Bounds are rounded outwards to float32. Row 0 is the root; a root
        that is itself a leaf gets a parent whose second child is empty.
    """
    box = np.asarray(box, dtype=np.float64)
    lo = box[:, :3].astype(np.float32)
    hi = box[:, 3:].astype(np.float32)
    lo = np.where(lo > box[:, :3], np.nextafter(lo, np.float32(-np.inf)), lo)
    hi = np.where(hi < box[:, 3:], np.nextafter(hi, np.float32(np.inf)), hi)
    box32 = np.concatenate([lo, hi], axis=1)
    if int(first.max(initial=0)) >= 2**31 >> _LEAF_BITS:
        raise OverflowError("too many triangles for the BVH node format (2**27)")
    inner = np.flatnonzero(count == 0)
    if len(inner) == 0:
        # the root is a leaf: wrap it in an inner node with an empty sibling
        box32 = np.concatenate([box32, box32[:1]])
        first = np.array([1, first[0], 0], np.int64)
        count = np.array([0, count[0], 0], np.int64)
        box32 = np.concatenate([box32[:1], box32])
        inner = np.array([0])
    new_id = np.full(len(count), -1, np.int64)
    new_id[inner] = np.arange(len(inner))
    ref = np.where(count == 0, new_id, -((first << _LEAF_BITS) | count) - 1)
    c0 = first[inner]
    raw = np.empty(len(inner) * 16 + 16, np.float32)
    offset = (-raw.ctypes.data % 64) // 4  # align rows on cache lines
    nodes = raw[offset : offset + len(inner) * 16].reshape(-1, 16)
    nodes[:, 0:6] = box32[c0]
    nodes[:, 6:12] = box32[c0 + 1]
    ints = nodes.view(np.int32)
    ints[:, 12] = ref[c0]
    ints[:, 13] = ref[c0 + 1]
    ints[:, 14:16] = 0
    return nodes


# -- per-ray set-up ------------------------------------------------------------------
@njit(**_JIT)
def ray_setup(dx, dy, dz):
    """Per-direction constants ``(ix, iy, iz, kx, ky, kz, sx, sy, sz)``: inverse
    direction (slab test) and axis permutation and shear of the watertight test
    (Woop et al. 2013, section 3; ``sx = d[kx] / d[kz]`` is taken as
    ``d[kx] * (1 / d[kz])``, the same transform for every triangle of the ray)."""
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
def directions_setup(directions):
    """:func:`ray_setup` for each row of ``directions`` (d, 3) unit vectors:
    returns ``(d, 6)`` float64 ``(ix, iy, iz, sx, sy, sz)`` and ``(d, 3)`` int64
    ``(kx, ky, kz)``."""
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


# -- traversal -----------------------------------------------------------------------
# The slab and triangle tests are written out inside the loops rather than
# called as helpers: numba does not reliably inline small jitted functions
# (calls cost ~20 % of the traversal time) and ``inline="always"`` multiplies
# compilation time.


@njit(**_JIT)
def _slab_planes(ix, iy, iz):
    """Columns of a child's near and far planes in a node row (child 0; add 6
    for child 1) for a ray with inverse direction ``ix, iy, iz``: the slab test
    takes ``(near - o) * inv`` and ``(far - o) * inv`` without min/max, which
    gives the same values since ``lo <= hi`` (Williams et al. 2005)."""
    nx = 0 if ix >= 0.0 else 3
    ny = 1 if iy >= 0.0 else 4
    nz = 2 if iz >= 0.0 else 5
    return nx, ny, nz, 3 - nx, 5 - ny, 7 - nz


@njit(**_JIT)
def any_hit(
    nodes, refs, tri, stack, ox, oy, oz, ix, iy, iz, kx, ky, kz, sx, sy, sz, tmin, tmax
):
    """True when the ray ``o + t d`` (local frame, constants from
    :func:`ray_setup`) hits a triangle at ``tmin < t <= tmax``.

    ``nodes`` from :func:`pack_nodes`, ``refs = nodes.view(np.int32)``;
    ``stack`` (depth + 2,) int64 scratch.
    """
    okx = ox if kx == 0 else (oy if kx == 1 else oz)
    oky = ox if ky == 0 else (oy if ky == 1 else oz)
    okz = ox if kz == 0 else (oy if kz == 1 else oz)
    nx, ny, nz, fx, fy, fz = _slab_planes(ix, iy, iz)
    pad = 1.0 + BOX_PAD
    node = 0
    sp = 0
    while True:
        # slab tests of both children (Ize 2013: far distance padded)
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
                # watertight ray-triangle test (Woop et al. 2013)
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
                    continue
                det = u + v + w
                if det == 0.0:
                    continue
                t_scaled = sz * (u * az + v * bz + w * cz)
                if det < 0.0:
                    t_scaled = -t_scaled
                    det = -det
                if t_scaled > tmin * det and t_scaled <= tmax * det:
                    return True
        if nxt < 0:
            if sp == 0:
                return False
            sp -= 1
            nxt = stack[sp]
        node = nxt


@njit(**_JIT)
def closest_hit(
    nodes,
    refs,
    tri,
    stack,
    stack_t,
    ox,
    oy,
    oz,
    ix,
    iy,
    iz,
    kx,
    ky,
    kz,
    sx,
    sy,
    sz,
    tmin,
    tmax,
):
    """Distance and BVH-order triangle of the nearest hit at ``tmin < t <= tmax``
    (``inf, -1`` when none); arguments as :func:`any_hit`, plus ``stack_t``
    (depth + 2,) float64 scratch."""
    okx = ox if kx == 0 else (oy if kx == 1 else oz)
    oky = ox if ky == 0 else (oy if ky == 1 else oz)
    okz = ox if kz == 0 else (oy if kz == 1 else oz)
    best_t = np.inf
    best_k = -1
    far = tmax
    node = 0
    sp = 0
    nx, ny, nz, fx, fy, fz = _slab_planes(ix, iy, iz)
    pad = 1.0 + BOX_PAD
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
                far,
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
                far,
            )
            * pad
        )
        hit0 = n0 <= f0
        hit1 = n1 <= f1
        r0 = refs[node, 12]
        r1 = refs[node, 13]
        if hit1 and (not hit0 or n1 < n0):
            r0, r1 = r1, r0
            n0, n1 = n1, n0
            hit0, hit1 = hit1, hit0
        nxt = -1
        for c in range(2):
            if c == 0:
                if not hit0:
                    continue
                r = r0
                entry = n0
            else:
                if not hit1 or n1 > far * (1.0 + BOX_PAD):
                    continue
                r = r1
                entry = n1
            if r >= 0:
                if nxt < 0:
                    nxt = r
                else:
                    stack[sp] = r
                    stack_t[sp] = entry
                    sp += 1
                continue
            leaf = -r - 1
            start = leaf >> 4
            for k in range(start, start + (leaf & 15)):
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
                    continue
                det = u + v + w
                if det == 0.0:
                    continue
                t_scaled = sz * (u * az + v * bz + w * cz)
                if det < 0.0:
                    t_scaled = -t_scaled
                    det = -det
                if t_scaled > tmin * det and t_scaled <= far * det:
                    t = t_scaled / det
                    if t < best_t:
                        best_t = t
                        best_k = k
                        far = t
        while nxt < 0:
            # pop the next inner node that may still hold a nearer hit
            if sp == 0:
                return best_t, best_k
            sp -= 1
            if stack_t[sp] <= far * (1.0 + BOX_PAD):
                nxt = stack[sp]
        node = nxt


# -- batch kernels ---------------------------------------------------------------------
@njit(**_JIT)
def _unit_ray(origins, directions, shift, i):
    """Ray ``i`` (rows broadcast when an array has one row) in the local frame:
    ``(ox, oy, oz, dx, dy, dz, ok)``; ``ok`` is False for NaN/inf or zero input."""
    a = i * (origins.shape[0] > 1)
    b = i * (directions.shape[0] > 1)
    ox = origins[a, 0] - shift[0]
    oy = origins[a, 1] - shift[1]
    oz = origins[a, 2] - shift[2]
    length = np.sqrt(
        directions[b, 0] * directions[b, 0]
        + directions[b, 1] * directions[b, 1]
        + directions[b, 2] * directions[b, 2]
    )
    # non-short-circuit tests: fewer branches for numba to compile
    ok = (length > 0.0) & (length < np.inf) & np.isfinite(ox + oy + oz)
    dx = directions[b, 0] / length
    dy = directions[b, 1] / length
    dz = directions[b, 2] / length
    return ox, oy, oz, dx, dy, dz, ok


@njit(**_JIT)
def occluded_rays(
    nodes, refs, tri, depth, shift, origins, directions, tmin, tmax, out, i0, i1
):
    """Any-hit for rays ``i0 .. i1 - 1``, one by one; writes ``out[i]`` (bool).

    ``origins`` (world [m]) and ``directions`` (any length) have ``n`` rows or
    one row (broadcast); ``shift`` (3,) is the mesh origin, subtracted in
    float64; ``tmax`` has ``n`` entries or one. Returns the number of invalid
    rays (NaN/inf origin or zero/non-finite direction), whose ``out`` is False.
    Like every batch kernel here it holds no GIL: callers run ranges on
    several threads.
    """
    one_tmax = tmax.shape[0] == 1
    bad = 0
    stack = np.empty(depth + 2, np.int64)
    for i in range(i0, i1):
        ox, oy, oz, dx, dy, dz, ok = _unit_ray(origins, directions, shift, i)
        if not ok:
            out[i] = False
            bad += 1
            continue
        ix, iy, iz, kx, ky, kz, sx, sy, sz = ray_setup(dx, dy, dz)
        tm = tmax[0] if one_tmax else tmax[i]
        out[i] = any_hit(
            nodes,
            refs,
            tri,
            stack,
            ox,
            oy,
            oz,
            ix,
            iy,
            iz,
            kx,
            ky,
            kz,
            sx,
            sy,
            sz,
            tmin,
            tm,
        )
    return bad


@njit(**_JIT)
def intersect_rays(
    nodes,
    refs,
    tri,
    tri_face,
    depth,
    shift,
    origins,
    directions,
    tmin,
    tmax,
    dist,
    face,
    i0,
    i1,
):
    """Closest hit for rays ``i0 .. i1 - 1`` (conventions of
    :func:`occluded_rays`): writes ``dist[i]`` [m] (inf when none) and
    ``face[i]`` (original face index, -1 when none); returns the number of
    invalid rays."""
    one_tmax = tmax.shape[0] == 1
    bad = 0
    stack = np.empty(depth + 2, np.int64)
    stack_t = np.empty(depth + 2)
    for i in range(i0, i1):
        ox, oy, oz, dx, dy, dz, ok = _unit_ray(origins, directions, shift, i)
        if not ok:
            dist[i] = np.inf
            face[i] = -1
            bad += 1
            continue
        ix, iy, iz, kx, ky, kz, sx, sy, sz = ray_setup(dx, dy, dz)
        tm = tmax[0] if one_tmax else tmax[i]
        t, k = closest_hit(
            nodes,
            refs,
            tri,
            stack,
            stack_t,
            ox,
            oy,
            oz,
            ix,
            iy,
            iz,
            kx,
            ky,
            kz,
            sx,
            sy,
            sz,
            tmin,
            tm,
        )
        dist[i] = t
        face[i] = tri_face[k] if k >= 0 else -1
    return bad


# -- packets of rays (visibility matrix, grouped flat rays) -------------------------
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
    sign of ``u`` (``u >= 0``, zero included, like :func:`ray_setup`'s inverse
    direction) picks the half, so a cell does not mix direction signs."""
    half = DIR_CELLS // 2
    if u >= 0.0:
        return half + min(int(u * half), half - 1)
    return half - 1 - min(int(-u * half), half - 1)


@njit(**_JIT)
def direction_cell(dx, dy, dz):
    """Cube-map cell of a direction (any non-zero length): the cube face is
    the dominant axis and its sign (ties as in :func:`ray_setup`), the cell on
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
    ``sx, sy, sz`` (:func:`ray_setup`); 14 ``tmax``; 15 free for the caller. Lanes
    ``>= n_live`` are padding. ``blocked`` : (P,) bool, in/out — lanes
    already True are not traced, hits set them True.

    The packet walks the union of its rays' paths; each node and triangle is
    tested against all lanes in one loop that LLVM vectorises (its trip count
    ``P`` must stay a run-time value: a constant gets fully unrolled and then
    stays scalar). Near and far slab planes are picked once per packet from
    the shared signs; per lane the arithmetic is that of :func:`any_hit`
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
    one by one with :func:`any_hit`; both give the same answers. ``dset,
    kset`` are :func:`directions_setup` of ``directions``.
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
    :func:`occluded_rays`, same answers).

    In each window the rays are sorted by :func:`direction_cell` (counting sort,
    stable: rays of a cell keep their input order, e.g. sensor order), and
    runs of up to :data:`PACKET` rays of one cell whose origins lie within
    :data:`PACKET_SPAN` and that share ``kx, ky, kz`` and direction signs are
    traced together by :func:`packet_any_hit` (e.g. sensors x sky patches
    flattened sensor by sensor: each window holds runs of neighbouring
    sensors per direction); other rays go one by one through :func:`any_hit`.
    Consecutive lanes with the same direction share one :func:`ray_setup`.
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
        # the validity test of _unit_ray (sqrt(len2) > 0 and < inf)
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
                ox, oy, oz, dx, dy, dz, ok = _unit_ray(origins, directions, shift, i)
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


# -- Embree ray preparation ------------------------------------------------------------
@njit(**_JIT)
def embree_rays(origins, directions, shift, tmin, o32, d32):
    """float32 rays for Embree from world origins and directions (``n`` or one
    row each): origin moved into the local frame (``- shift``, float64) and
    along the unit direction by ``tmin`` (embreex fixes tnear at 0). Returns the
    number of invalid rays (NaN/inf origin, zero or non-finite direction)."""
    n = o32.shape[0]
    no = origins.shape[0] > 1
    nd = directions.shape[0] > 1
    bad = 0
    for i in range(n):
        a = i * no
        b = i * nd
        ox = origins[a, 0] - shift[0]
        oy = origins[a, 1] - shift[1]
        oz = origins[a, 2] - shift[2]
        dx = directions[b, 0]
        dy = directions[b, 1]
        dz = directions[b, 2]
        length = np.sqrt(dx * dx + dy * dy + dz * dz)
        ok = (length > 0.0) & (length < np.inf) & np.isfinite(ox + oy + oz)
        bad += not ok
        # one division: Embree gets float32 anyway (1 ulp of float64 is moot)
        inv = 1.0 / length
        dx *= inv
        dy *= inv
        dz *= inv
        o32[i, 0] = ox + tmin * dx
        o32[i, 1] = oy + tmin * dy
        o32[i, 2] = oz + tmin * dz
        d32[i, 0] = dx
        d32[i, 1] = dy
        d32[i, 2] = dz
    return bad


@njit(**_JIT)
def embree_matrix_rays(origins, directions, normals, shift, tmin, o32, d32, pair, out):
    """float32 rays (as :func:`embree_rays`) for every origin × direction pair
    in front of its sensor's surface, direction by direction (parallel rays
    from neighbouring sensors follow each other: Embree finds the nodes it
    needs in cache); ``pair[m]`` = (origin row, direction) of ray ``m``
    ((k, 2) int32). Back-facing pairs (``normals[i] · directions[j] <= 0``,
    when ``normals`` has a row per origin) get their bit set in ``out``
    (layout of :func:`occluded_matrix_bits`) and no ray. Returns the number
    of rays."""
    n = origins.shape[0]
    nd = directions.shape[0]
    use_normals = normals.shape[0] == n
    m = 0
    for j in range(nd):
        dx = directions[j, 0]
        dy = directions[j, 1]
        dz = directions[j, 2]
        byte = j >> 3
        bit = np.uint8(1 << (j & 7))
        for i in range(n):
            if use_normals:
                if normals[i, 0] * dx + normals[i, 1] * dy + normals[i, 2] * dz <= 0.0:
                    out[i, byte] |= bit
                    continue
            o32[m, 0] = origins[i, 0] - shift[0] + tmin * dx
            o32[m, 1] = origins[i, 1] - shift[1] + tmin * dy
            o32[m, 2] = origins[i, 2] - shift[2] + tmin * dz
            d32[m, 0] = dx
            d32[m, 1] = dy
            d32[m, 2] = dz
            pair[m, 0] = i
            pair[m, 1] = j
            m += 1
    return m


@njit(**_JIT)
def set_pair_bits(pair, hit, out):
    """Set the bit of pair ``pair[m]`` (origin row, direction) in ``out`` where
    ``hit[m]``."""
    for m in range(pair.shape[0]):
        if hit[m]:
            j = pair[m, 1]
            out[pair[m, 0], j >> 3] |= np.uint8(1 << (j & 7))
