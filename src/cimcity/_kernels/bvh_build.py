"""Bounding volume hierarchy build (numba): binned SAH and node packing.

Hand-written because no maintained Python package offers a compiled,
``nogil`` BVH whose traversal we can call from our own numba kernels (the
sensor × direction visibility matrix is traced without building ray arrays);
trimesh's pure-numpy engine is orders of magnitude slower and Embree is an
optional extra. Traversal lives in :mod:`cimcity._kernels.bvh_traverse`,
packets of rays in :mod:`cimcity._kernels.bvh_packets`.

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

:func:`pack_nodes` turns them into the traversal layout (one 64-byte row per
inner node).

Algorithm
---------
Top-down binned surface-area heuristic (SAH), 16 bins on each axis (Wald
2007, "On fast construction of SAH-based bounding volume hierarchies").
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
