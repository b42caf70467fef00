"""8-wide BVH (numba + explicit SIMD): flat rays one by one.

The binary BVH of :mod:`cimcity._kernels.bvh_build` is collapsed into nodes
of up to 8 children (:func:`collapse`: each wide node starts from a binary
node's two children and repeatedly opens the inner child of largest surface
area; Wald, Benthin & Boulos 2008, "Getting rid of packets"). A ray tests
the 8 child boxes of a node in one vector instruction stream
(:func:`cimcity._kernels.simd.box8`), tests the triangles of the entered
leaves, goes on to the nearest entered inner child and pushes the others,
prefetching their rows so that their loads from memory overlap.

Measured (``benchmarks/bench_raycast.py``, 1 M random rays): 1.3-1.7x the
rays per CPU-second of the binary BVH with rays sorted by octant and Morton
code (:mod:`cimcity._kernels.bvh_sorted`), 0.6-0.75x raw embreex. A node
visit costs about 13 ns when the path is cached and predicted (about 50
cycles: the float32 to float64 widening, subtraction, multiplication, min/max
tree, compare and mask are one dependent chain) and about 22 ns on random
rays (branch mispredictions, cache misses). The float32 path
(:mod:`cimcity._kernels.bvh_wide32`) collapses with ``max_leaf`` (larger
leaves) and tests their triangles 4 at a time; on this tree's small leaves
that alone gained nothing (the rays test 0.7-0.9 triangles each). Tried and
dropped, no gain: tracing 8 or 16 rays interleaved with prefetching (slower on
cache-resident meshes, 10 % faster on Paris 11e), sorting the rays (a
10-bit Morton sort saves 20-65 ns of tracing a ray and costs about 90),
picking the nearest child with a SIMD horizontal minimum (slower).

Answers equal those of :mod:`cimcity._kernels.bvh_traverse`: the child boxes
are the binary nodes' own float32 boxes, tested with the same float64
arithmetic (so a box is culled here exactly when the binary traversal culls
it), and the leaves, triangles and watertight float64 triangle test (Woop et
al. 2013) are the binary ones. Any-hit answers are identical; closest-hit
distances are identical, and when two triangles are hit at exactly the same
distance (a ray through their shared edge, or two coincident faces such as
adjacent buildings' party walls) either face may be reported.

Layout
------
``wide`` : (rows, 64) float32, rows 256 bytes, 64-byte aligned
    Columns ``0:8`` min x of the 8 children, ``8:16`` min y, ``16:24`` min z,
    ``24:32`` max x, ``32:40`` max y, ``40:48`` max z; ``48:56`` (int32 bits,
    read through ``wide.view(np.int32)``) child references: ``r >= 0`` wide
    node ``r``, ``r < 0`` a leaf coded as in
    :func:`~cimcity._kernels.bvh_build.pack_nodes`; ``56`` (int32) the bit
    mask of the leaf lanes. Unused lanes have empty boxes (min +inf, max
    -inf), which no ray enters. Row 0 is the root.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .bvh_packets import WINDOW, occluded_grouped
from .bvh_sorted import COHERENT, repeated_directions
from .bvh_traverse import BOX_PAD, ray_setup, unit_ray
from .simd import ROW, box8, ctz, prefetch

_JIT = dict(nogil=True, cache=True, error_model="numpy")

#: children per wide node (lanes of one SIMD box test)
WIDTH = 8
#: column of the first child reference in a wide row
REF = 6 * WIDTH
#: column of the bit mask of a wide row's leaf lanes
LEAVES = REF + WIDTH


# -- build -----------------------------------------------------------------------------
@njit(**_JIT)
def _area(nodes, row, c):
    """Half surface area of child ``c`` (0 or 1) of binary row ``row``."""
    b = 6 * c
    ex = nodes[row, b + 3] - nodes[row, b]
    ey = nodes[row, b + 4] - nodes[row, b + 1]
    ez = nodes[row, b + 5] - nodes[row, b + 2]
    return ex * ey + ey * ez + ez * ex


@njit(**_JIT)
def _subtrees(refs):
    """First triangle and triangle count of each binary row's subtree (its
    triangles are contiguous in BVH order: the build partitions ranges).
    Children rows come after their parent's (:func:`pack_nodes` keeps the
    build's order), so one backward pass suffices."""
    n = refs.shape[0]
    first = np.zeros(n, np.int64)
    count = np.zeros(n, np.int64)
    for r in range(n - 1, -1, -1):
        low = np.int64(2**62)
        total = 0
        for c in range(2):
            x = refs[r, 12 + c]
            if x >= 0:
                a = first[x]
                k = count[x]
            else:
                a = (-x - 1) >> 4
                k = (-x - 1) & 15
            if k > 0:
                low = min(low, a)
                total += k
        first[r] = low if total > 0 else 0
        count[r] = total
    return first, count


@njit(**_JIT)
def write_row(nodes, refs, sub_first, sub_count, as_leaf, lane_row, lane_c, n, wide,
              wrefs, w, work, sp, n_wide, depth):  # fmt: skip
    """Fill wide row ``w`` from its ``n`` lanes (binary row ``lane_row[j]``,
    child ``lane_c[j]``: that child's box and reference), turning a child
    subtree with ``as_leaf`` set into one leaf of its contiguous triangles
    (``sub_first``, ``sub_count`` of :func:`_subtrees`) and pushing each
    inner child on ``work`` as ``(binary row, wide row, depth + 1)``;
    unused lanes get empty boxes. Returns the new ``sp`` and ``n_wide``."""
    leaves = 0
    for j in range(WIDTH):
        if j >= n:
            for a in range(3):
                wide[w, a * WIDTH + j] = np.inf
                wide[w, (3 + a) * WIDTH + j] = -np.inf
            wrefs[w, REF + j] = 0
            continue
        for a in range(6):
            wide[w, a * WIDTH + j] = nodes[lane_row[j], 6 * lane_c[j] + a]
        r = refs[lane_row[j], 12 + lane_c[j]]
        if r >= 0 and as_leaf[r]:
            r = -((sub_first[r] << 4) | sub_count[r]) - 1
        if r >= 0:
            work[sp, 0] = r
            work[sp, 1] = n_wide
            work[sp, 2] = depth + 1
            sp += 1
            wrefs[w, REF + j] = n_wide
            n_wide += 1
        else:
            wrefs[w, REF + j] = r
            leaves |= 1 << j
    wrefs[w, LEAVES] = leaves
    for j in range(LEAVES + 1, ROW):
        wrefs[w, j] = 0
    return sp, n_wide


@njit(**_JIT)
def worklist(n_bin):
    """The collapse's scratch: the work stack of ``(binary row, wide row,
    depth)`` holding the root, and a wide node's lanes ``(binary row holding
    the child, child 0 or 1)``."""
    work = np.zeros((n_bin + 1, 3), np.int64)
    return work, np.empty(WIDTH, np.int64), np.empty(WIDTH, np.int64)


def row_buffer(rows):
    """(rows, 64) float32 rows, 64-byte aligned (vector loads)."""
    raw = np.empty(rows * ROW + 16, np.float32)
    offset = (-raw.ctypes.data % 64) // 4
    return raw[offset : offset + rows * ROW].reshape(-1, ROW)


@njit(**_JIT)
def _collapse(nodes, refs, wide, wrefs, max_leaf):
    """Fill ``wide`` from the binary rows ``nodes`` (see :func:`collapse`);
    returns the number of wide rows and the wide tree's depth."""
    sub_first, sub_count = _subtrees(refs)
    as_leaf = sub_count <= max_leaf  # a small subtree: one leaf
    work, lane_row, lane_c = worklist(nodes.shape[0])
    sp = 1
    n_wide = 1
    depth = 0
    while sp > 0:
        sp -= 1
        b, w, d = work[sp, 0], work[sp, 1], work[sp, 2]
        depth = max(depth, d)
        lane_row[0] = b
        lane_c[0] = 0
        lane_row[1] = b
        lane_c[1] = 1
        n = 2
        while n < WIDTH:
            # open the inner child of largest surface area
            best = -1
            best_area = -1.0
            for j in range(n):
                r = refs[lane_row[j], 12 + lane_c[j]]
                if r >= 0 and not as_leaf[r]:
                    a = _area(nodes, lane_row[j], lane_c[j])
                    if a > best_area:
                        best_area = a
                        best = j
            if best < 0:
                break
            r = refs[lane_row[best], 12 + lane_c[best]]
            lane_row[best] = r
            lane_c[best] = 0
            lane_row[n] = r
            lane_c[n] = 1
            n += 1
        sp, n_wide = write_row(nodes, refs, sub_first, sub_count, as_leaf, lane_row,
                               lane_c, n, wide, wrefs, w, work, sp, n_wide, d)  # fmt: skip
    return n_wide, depth


def collapse(nodes, max_leaf=0):
    """Wide BVH of a binary one.

    Parameters
    ----------
    nodes : (inner, 16) float32
        Binary nodes from :func:`~cimcity._kernels.bvh_build.pack_nodes`.
    max_leaf : int
        A binary subtree of at most this many triangles (< 16) becomes one
        leaf of the wide tree (0: the binary leaves are kept). Fewer, larger
        leaves suit a traversal testing several triangles at once
        (:mod:`cimcity._kernels.bvh_wide32`).

    Returns
    -------
    wide : (rows, 64) float32
        Wide nodes (module docstring), 64-byte aligned.
    depth : int
        Depth of the wide tree (root = 0).
    """
    if not 0 <= max_leaf < 16:
        raise ValueError(f"max_leaf must be in 0 .. 15, got {max_leaf}")
    wide = row_buffer(nodes.shape[0])
    refs = nodes.view(np.int32)
    n_wide, depth = _collapse(nodes, refs, wide, wide.view(np.int32), max_leaf)
    packed = row_buffer(n_wide)
    packed[:] = wide[:n_wide]
    return packed, int(depth)


@njit(**_JIT)
def fetch_row(wide, node):
    """Prefetch the four cache lines of wide row ``node``."""
    base = node * ROW
    prefetch(wide, base)
    prefetch(wide, base + 16)
    prefetch(wide, base + 32)
    prefetch(wide, base + 48)


# -- traversal -------------------------------------------------------------------------
@njit(**_JIT)
def ray_planes(ix, iy, iz, planes):
    """Columns of the near and far planes of a wide row for a ray with
    inverse direction ``ix, iy, iz`` into ``planes`` (6,) int64 (the slab
    test without min/max, as :func:`~cimcity._kernels.bvh_traverse.any_hit`)."""
    planes[0] = 0 if ix >= 0.0 else 3 * WIDTH
    planes[1] = WIDTH if iy >= 0.0 else 4 * WIDTH
    planes[2] = 2 * WIDTH if iz >= 0.0 else 5 * WIDTH
    planes[3] = 3 * WIDTH - planes[0]
    planes[4] = 5 * WIDTH - planes[1]
    planes[5] = 7 * WIDTH - planes[2]


@njit(**_JIT)
def any_hit8(wide, wrefs, tri, stack, planes, ray, tn, kx, ky, kz, sx, sy, sz):
    """True when the ray hits a triangle at ``tmin < t <= tmax``.

    ``ray`` (8,) float64 ``(ox, oy, oz, ix, iy, iz, tmin, tmax)`` (local
    frame), ``planes`` from :func:`ray_planes`, ``kx .. sz`` from
    :func:`~cimcity._kernels.bvh_traverse.ray_setup`; ``stack``
    ``(7 * (depth + 1) + 2,)`` int64 and ``tn`` (8,) float64 scratch.
    """
    ox = ray[0]
    oy = ray[1]
    oz = ray[2]
    tmin = ray[6]
    tmax = ray[7]
    okx = ox if kx == 0 else (oy if kx == 1 else oz)
    oky = ox if ky == 0 else (oy if ky == 1 else oz)
    okz = ox if kz == 0 else (oy if kz == 1 else oz)
    node = 0
    sp = 0
    while True:
        leaf_lanes = wrefs[node, LEAVES]
        hits = box8(wide, node, planes, ray, tn)
        leaves = hits & leaf_lanes
        inner = hits ^ leaves
        while leaves != 0:
            leaf = -wrefs[node, REF + ctz(leaves)] - 1
            leaves &= leaves - 1
            start = leaf >> 4
            for k in range(start, start + (leaf & 15)):
                # watertight ray-triangle test (Woop et al. 2013), as bvh_traverse
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
        if inner == 0:
            if sp == 0:
                return False
            sp -= 1
            node = stack[sp]
            continue
        # nearest entered child next; the others wait on the stack, fetched
        # now so their loads from memory overlap instead of coming level by
        # level
        j = ctz(inner)
        inner &= inner - 1
        nxt = wrefs[node, REF + j]
        nt = tn[j]
        while inner != 0:
            j = ctz(inner)
            inner &= inner - 1
            r = wrefs[node, REF + j]
            fetch_row(wide, r)
            if tn[j] < nt:
                stack[sp] = nxt
                nxt = r
                nt = tn[j]
            else:
                stack[sp] = r
            sp += 1
        node = nxt


@njit(**_JIT)
def occluded_wide_rays(
    wide, wrefs, tri, depth, shift, origins, directions, tmin, tmax, out, i0, i1
):
    """Any-hit for rays ``i0 .. i1 - 1`` on the wide BVH in input order:
    arguments and result as :func:`~cimcity._kernels.bvh_traverse.occluded_rays`
    with the wide nodes and depth (same answers, ray for ray)."""
    one_tmax = tmax.shape[0] == 1
    bad = 0
    stack = np.empty((WIDTH - 1) * (depth + 1) + 2, np.int64)
    planes = np.empty(6, np.int64)
    ray = np.empty(8)
    tn = np.empty(WIDTH)
    ray[6] = tmin
    for i in range(i0, i1):
        ox, oy, oz, dx, dy, dz, ok = unit_ray(origins, directions, shift, i)
        if not ok:
            out[i] = False
            bad += 1
            continue
        ix, iy, iz, kx, ky, kz, sx, sy, sz = ray_setup(dx, dy, dz)
        ray_planes(ix, iy, iz, planes)
        ray[0] = ox
        ray[1] = oy
        ray[2] = oz
        ray[3] = ix
        ray[4] = iy
        ray[5] = iz
        ray[7] = tmax[0] if one_tmax else tmax[i]
        out[i] = any_hit8(
            wide, wrefs, tri, stack, planes, ray, tn, kx, ky, kz, sx, sy, sz
        )
    return bad


@njit(**_JIT)
def closest_hit8(wide, wrefs, tri, stack, stack_t, planes, ray, tn, kx, ky, kz, sx, sy,
                 sz):  # fmt: skip
    """Distance and BVH-order triangle of the nearest hit at
    ``tmin < t <= tmax`` (``inf, -1`` when none); arguments as
    :func:`any_hit8` plus ``stack_t`` (as ``stack``) float64 scratch.
    ``ray[7]`` is lowered to each hit found (it bounds the box tests)."""
    ox = ray[0]
    oy = ray[1]
    oz = ray[2]
    tmin = ray[6]
    okx = ox if kx == 0 else (oy if kx == 1 else oz)
    oky = ox if ky == 0 else (oy if ky == 1 else oz)
    okz = ox if kz == 0 else (oy if kz == 1 else oz)
    best_t = np.inf
    best_k = -1
    far = ray[7]
    pad = 1.0 + BOX_PAD
    node = 0
    sp = 0
    while True:
        leaf_lanes = wrefs[node, LEAVES]
        hits = box8(wide, node, planes, ray, tn)
        leaves = hits & leaf_lanes
        inner = hits ^ leaves
        while leaves != 0:
            leaf = -wrefs[node, REF + ctz(leaves)] - 1
            leaves &= leaves - 1
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
                        ray[7] = t
        nxt = -1
        nt = np.inf
        while inner != 0:
            j = ctz(inner)
            inner &= inner - 1
            t = tn[j]
            if t > far * pad:  # a hit in a leaf of this node is nearer
                continue
            r = wrefs[node, REF + j]
            if nxt < 0:
                nxt = r
                nt = t
                continue
            fetch_row(wide, r)
            if t < nt:
                fetch_row(wide, nxt)
                stack[sp] = nxt
                stack_t[sp] = nt
                nxt = r
                nt = t
            else:
                stack[sp] = r
                stack_t[sp] = t
            sp += 1
        while nxt < 0:
            # pop the next node that may still hold a nearer hit
            if sp == 0:
                return best_t, best_k
            sp -= 1
            if stack_t[sp] <= far * pad:
                nxt = stack[sp]
        node = nxt


@njit(**_JIT)
def intersect_wide_rays(wide, wrefs, tri, tri_face, depth, shift, origins, directions,
                        tmin, tmax, dist, face, i0, i1):  # fmt: skip
    """Closest hit for rays ``i0 .. i1 - 1`` on the wide BVH in input order:
    arguments and results as
    :func:`~cimcity._kernels.bvh_traverse.intersect_rays` with the wide nodes
    and depth (same distances; at a distance shared by two triangles, e.g. a
    ray through their common edge, either face)."""
    one_tmax = tmax.shape[0] == 1
    bad = 0
    size = (WIDTH - 1) * (depth + 1) + 2
    stack = np.empty(size, np.int64)
    stack_t = np.empty(size)
    planes = np.empty(6, np.int64)
    ray = np.empty(8)
    tn = np.empty(WIDTH)
    ray[6] = tmin
    for i in range(i0, i1):
        ox, oy, oz, dx, dy, dz, ok = unit_ray(origins, directions, shift, i)
        if not ok:
            dist[i] = np.inf
            face[i] = -1
            bad += 1
            continue
        ix, iy, iz, kx, ky, kz, sx, sy, sz = ray_setup(dx, dy, dz)
        ray_planes(ix, iy, iz, planes)
        ray[0] = ox
        ray[1] = oy
        ray[2] = oz
        ray[3] = ix
        ray[4] = iy
        ray[5] = iz
        ray[7] = tmax[0] if one_tmax else tmax[i]
        t, k = closest_hit8(
            wide, wrefs, tri, stack, stack_t, planes, ray, tn, kx, ky, kz, sx, sy, sz
        )
        dist[i] = t
        face[i] = tri_face[k] if k >= 0 else -1
    return bad


@njit(**_JIT)
def occluded_wide(wide, wrefs, nodes, refs, tri, depth, wide_depth, shift, origins,
                  directions, tmin, tmax, out, i0, i1):  # fmt: skip
    """Any-hit for rays ``i0 .. i1 - 1`` (``i0`` a multiple of
    :data:`~cimcity._kernels.bvh_packets.WINDOW`): rays that mostly repeat a
    few directions (:func:`~cimcity._kernels.bvh_sorted.repeated_directions`
    >= :data:`~cimcity._kernels.bvh_sorted.COHERENT`, sensors x sky patches)
    go as packets on the binary BVH
    (:func:`~cimcity._kernels.bvh_packets.occluded_grouped`), the others one by
    one on the wide BVH (:func:`occluded_wide_rays`). Arguments and result as
    :func:`~cimcity._kernels.bvh_traverse.occluded_rays` plus both trees."""
    if repeated_directions(directions, i0, i1) >= COHERENT:
        return occluded_grouped(
            nodes, refs, tri, depth, shift, origins, directions, tmin, tmax, out,
            i0 // WINDOW, -(-i1 // WINDOW),
        )  # fmt: skip
    return occluded_wide_rays(
        wide,
        wrefs,
        tri,
        wide_depth,
        shift,
        origins,
        directions,
        tmin,
        tmax,
        out,
        i0,
        i1,
    )
