"""Flat rays (numba): sorted by octant and origin before tracing.

Rays in random order with random directions walk unrelated paths through the
BVH, and on a district-sized mesh (megabytes of nodes and triangles, more
than the per-core cache) most node and triangle loads miss the cache.
Tracing them in an order where consecutive rays share a direction octant and
start close to each other (Morton order of the origins on a 1,024-cell grid
over the mesh) makes consecutive rays visit mostly the same nodes; the rays
are copied in that order first, since reading them through the permutation
during the traversal costs about as much as the sort saves. Answers are
written back to each ray's own slot, so the order never shows, and each ray
is traced by the single-ray kernels of :mod:`cimcity._kernels.bvh_traverse`:
the answers are theirs, bit for bit.

Rays that mostly repeat a few directions (sensors x sky patches) are better
served by packets of neighbouring origins per direction
(:func:`~cimcity._kernels.bvh_packets.occluded_grouped`) for any-hit, and by
their input order for closest hits: both kernels check a sample of the
directions and pick.

Since the 8-wide BVH (:mod:`cimcity._kernels.bvh_wide`), the ray engine
traces incoherent rays in input order on it (sorting cost about as much as it
saved there); these kernels stay as the binary reference path
(``benchmarks/bench_raycast.py``: "numba before", and the tests).

Sorting is a least-significant-digit radix sort on integer keys (11-bit
digits, keys carried along): numba has no radix sort and its ``np.argsort``
is a comparison sort (measured 16 against 117 ns a key on 2**17 keys).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .bvh_packets import WINDOW, occluded_grouped
from .bvh_traverse import any_hit, closest_hit, intersect_rays, ray_setup, unit_ray

_JIT = dict(nogil=True, cache=True, error_model="numpy")

#: share of repeated directions from which flat rays go as packets
COHERENT = 0.5

#: bits of each origin coordinate in the Morton key (1,024 cells per axis)
MORTON_BITS = 10
#: bits per radix-sort pass
_DIGIT = 11


# -- keys ------------------------------------------------------------------------------
@njit(**_JIT)
def _spread(x):
    """Bits of a 10-bit integer spread to every third bit (Morton code)."""
    x = (x | (x << 16)) & 0x030000FF
    x = (x | (x << 8)) & 0x0300F00F
    x = (x | (x << 4)) & 0x030C30C3
    x = (x | (x << 2)) & 0x09249249
    return x


@njit(**_JIT)
def _cell_of(value, low, scale):
    """Morton cell along one axis (clamped to the grid)."""
    c = (value - low) * scale
    top = (1 << MORTON_BITS) - 1
    if not c > 0.0:  # NaN too
        return 0
    if c >= top:
        return top
    return int(c)


@njit(**_JIT)
def morton(ox, oy, oz, grid):
    """Morton code of a local-frame point on the grid ``(lox, loy, loz, scale)``
    (``scale`` cells per metre, :data:`MORTON_BITS` bits per axis)."""
    s = grid[3]
    return (
        _spread(_cell_of(ox, grid[0], s))
        | (_spread(_cell_of(oy, grid[1], s)) << 1)
        | (_spread(_cell_of(oz, grid[2], s)) << 2)
    )


def morton_grid(nodes):
    """Morton grid ``(lox, loy, loz, scale)`` spanning the BVH root's bounds
    (``nodes`` of :func:`~cimcity._kernels.bvh_build.pack_nodes`), ``scale``
    cells per metre."""
    box = np.asarray(nodes[0, :12], np.float64).reshape(2, 6)
    lo = box[:, :3].min(axis=0)
    hi = box[:, 3:].max(axis=0)
    side = max(float((hi - lo).max()), 1e-9)
    return np.array([*lo, ((1 << MORTON_BITS) - 1) / side])


@njit(**_JIT)
def radix_sort(key, bits, order, key_tmp, order_tmp, count):
    """Stable sort of non-negative ``key`` (below ``2**bits``) in place;
    ``order`` receives each sorted key's original position.

    ``key_tmp``, ``order_tmp`` have ``len(key)`` entries, ``count`` has
    ``2**11 + 1``. LSD radix sort, 11 bits per pass, keys carried along so
    every pass reads them sequentially.
    """
    m = key.shape[0]
    for q in range(m):
        order[q] = q
    mask = (1 << _DIGIT) - 1
    shift = 0
    while shift < bits:
        for c in range(count.shape[0]):
            count[c] = 0
        for q in range(m):
            count[((key[q] >> shift) & mask) + 1] += 1
        for c in range(count.shape[0] - 1):
            count[c + 1] += count[c]
        for q in range(m):
            c = (key[q] >> shift) & mask
            key_tmp[count[c]] = key[q]
            order_tmp[count[c]] = order[q]
            count[c] += 1
        for q in range(m):
            key[q] = key_tmp[q]
            order[q] = order_tmp[q]
        shift += _DIGIT


@njit(**_JIT)
def _octant(dx, dy, dz):
    """Direction octant (signs as :func:`~cimcity._kernels.bvh_traverse.ray_setup`'s inverse direction)."""
    return (dx < 0.0) * 1 + (dy < 0.0) * 2 + (dz < 0.0) * 4


# -- any-hit ---------------------------------------------------------------------------
@njit(**_JIT)
def _local_rays(origins, directions, shift, tmax, i0, i1, buf):
    """Rays ``i0 .. i1 - 1`` in the local frame into ``buf`` rows
    ``(ox, oy, oz, dx, dy, dz, tmax)`` (unit directions); returns a bool
    array of the valid rays."""
    one_tmax = tmax.shape[0] == 1
    ok = np.empty(i1 - i0, np.bool_)
    for q in range(i1 - i0):
        i = i0 + q
        ox, oy, oz, dx, dy, dz, good = unit_ray(origins, directions, shift, i)
        buf[q, 0] = ox
        buf[q, 1] = oy
        buf[q, 2] = oz
        buf[q, 3] = dx
        buf[q, 4] = dy
        buf[q, 5] = dz
        buf[q, 6] = tmax[0] if one_tmax else tmax[i]
        ok[q] = good
    return ok


@njit(**_JIT)
def _gather(buf, order, n, dst):
    """Rows ``order[:n]`` of ``buf`` into ``dst[:n]``, in that order: rays are
    traced from contiguous memory (reading them through ``order`` during the
    traversal costs two cache misses a ray, about a third of its time)."""
    for q in range(n):
        src = order[q]
        for c in range(7):
            dst[q, c] = buf[src, c]


@njit(**_JIT)
def repeated_directions(directions, i0, i1):
    """Share of rays among ``i0 .. i1 - 1`` (up to 4,096 evenly spaced) whose
    direction equals one met earlier, remembered in a 4,096-slot hash table:
    about 1 for sensors x sky patches, 0 for random rays."""
    if directions.shape[0] == 1:
        return 1.0
    slots = 4096
    seen = np.full((slots, 3), np.nan)
    repeats = 0
    stride = max(1, (i1 - i0) // slots)
    for i in range(i0, i1, stride):
        dx = directions[i, 0]
        dy = directions[i, 1]
        dz = directions[i, 2]
        mix = (dx * 7919.0 + dy * 104729.0 + dz * 1299709.0) * 1024.0
        h = int(mix) & (slots - 1) if abs(mix) < 1e18 else 0
        if seen[h, 0] == dx and seen[h, 1] == dy and seen[h, 2] == dz:
            repeats += 1
        else:
            seen[h, 0] = dx
            seen[h, 1] = dy
            seen[h, 2] = dz
    return repeats / max(1, -(-(i1 - i0) // stride))


@njit(**_JIT)
def _sorted_rays(origins, directions, shift, grid, tmax, i0, i1):
    """Rays ``i0 .. i1 - 1`` in the local frame, sorted by (octant, origin
    Morton code) and copied in that order: ``(rays (m, 7), order, key, bad)``,
    ``order[q]`` the input row of sorted ray ``q``, ``key`` sorted, invalid
    rays (octant 8) last and counted in ``bad``."""
    m = i1 - i0
    cell_bits = 3 * MORTON_BITS
    buf = np.empty((m, 7))
    ok = _local_rays(origins, directions, shift, tmax, i0, i1, buf)
    key = np.empty(m, np.int64)
    bad = 0
    for q in range(m):
        o = _octant(buf[q, 3], buf[q, 4], buf[q, 5]) if ok[q] else 8
        bad += not ok[q]
        key[q] = (o << cell_bits) | morton(buf[q, 0], buf[q, 1], buf[q, 2], grid)
    order = np.empty(m, np.int64)
    count = np.empty((1 << _DIGIT) + 1, np.int64)
    radix_sort(
        key, cell_bits + 4, order, np.empty(m, np.int64), np.empty(m, np.int64), count
    )
    rays = np.empty((m, 7))
    _gather(buf, order, m, rays)
    return rays, order, key, bad


@njit(**_JIT)
def occluded_sorted(
    nodes, refs, tri, depth, shift, grid, origins, directions, tmin, tmax, out, i0, i1
):
    """Any-hit for rays ``i0 .. i1 - 1``, traced in a coherent order.

    Arguments and result as :func:`~cimcity._kernels.bvh_traverse.occluded_rays`
    (same answers, ray for ray), plus ``grid`` from :func:`morton_grid`;
    ``i0`` must be a multiple of :data:`~cimcity._kernels.bvh_packets.WINDOW`.
    When most rays repeat a direction met before (sensors x sky patches,
    :func:`repeated_directions` >= :data:`COHERENT`), the range goes to
    :func:`~cimcity._kernels.bvh_packets.occluded_grouped` (packets of
    neighbouring origins per direction); else the rays are sorted by
    (octant, origin Morton code) and traced one by one from a sorted copy.
    """
    if repeated_directions(directions, i0, i1) >= COHERENT:
        return occluded_grouped(
            nodes, refs, tri, depth, shift, origins, directions, tmin, tmax, out,
            i0 // WINDOW, -(-i1 // WINDOW),
        )  # fmt: skip
    m = i1 - i0
    rays, order, key, bad = _sorted_rays(origins, directions, shift, grid, tmax, i0, i1)
    stack = np.empty(depth + 2, np.int64)
    n_ok = m - bad  # invalid rays (octant 8) sort last
    _any_hits(nodes, refs, tri, stack, rays[:n_ok], order, tmin, out[i0:i1])
    for q in range(n_ok, m):
        out[i0 + order[q]] = False
    return bad


@njit(**_JIT)
def _any_hits(nodes, refs, tri, stack, rays, rows, tmin, out):
    """Any-hit of each ray row of ``rays`` (``(ox, oy, oz, dx, dy, dz,
    tmax)``, local frame, unit directions) into ``out[rows[q]]``."""
    for q in range(rays.shape[0]):
        ix, iy, iz, kx, ky, kz, sx, sy, sz = ray_setup(
            rays[q, 3], rays[q, 4], rays[q, 5]
        )
        out[rows[q]] = any_hit(
            nodes, refs, tri, stack, rays[q, 0], rays[q, 1], rays[q, 2],
            ix, iy, iz, kx, ky, kz, sx, sy, sz, tmin, rays[q, 6],
        )  # fmt: skip


# -- closest hit -----------------------------------------------------------------------
@njit(**_JIT)
def intersect_sorted(
    nodes,
    refs,
    tri,
    tri_face,
    depth,
    shift,
    grid,
    origins,
    directions,
    tmin,
    tmax,
    dist,
    face,
    i0,
    i1,
):
    """Closest hit for rays ``i0 .. i1 - 1`` traced one by one in (octant,
    origin Morton code) order: arguments and results as
    :func:`~cimcity._kernels.bvh_traverse.intersect_rays` (same answers, ray
    for ray), plus ``grid`` from :func:`morton_grid`. Rays that mostly repeat
    a few directions (:func:`repeated_directions` >= :data:`COHERENT`, e.g.
    sensors x sky patches) are traced in input order, which measured faster
    for them (6.8 against 4.6 M rays per CPU-second on a 1,600-building grid)."""
    if repeated_directions(directions, i0, i1) >= COHERENT:
        return intersect_rays(
            nodes, refs, tri, tri_face, depth, shift, origins, directions, tmin,
            tmax, dist, face, i0, i1,
        )  # fmt: skip
    rays, order, key, bad = _sorted_rays(origins, directions, shift, grid, tmax, i0, i1)
    cell_bits = 3 * MORTON_BITS
    _closest_hits(nodes, refs, tri, tri_face, depth, rays, order, key, cell_bits, tmin,
                  dist[i0:i1], face[i0:i1])  # fmt: skip
    return bad


@njit(**_JIT)
def _closest_hits(nodes, refs, tri, tri_face, depth, rays, rows, key, cell_bits, tmin,
                  dist, face):  # fmt: skip
    """Closest hit of each ray row of ``rays`` into ``dist[rows[q]]``,
    ``face[rows[q]]``; rows whose ``key`` octant is 8 are invalid (no hit)."""
    stack = np.empty(depth + 2, np.int64)
    stack_t = np.empty(depth + 2)
    for q in range(rays.shape[0]):
        i = rows[q]
        if key[q] >> cell_bits == 8:
            dist[i] = np.inf
            face[i] = -1
            continue
        ix, iy, iz, kx, ky, kz, sx, sy, sz = ray_setup(
            rays[q, 3], rays[q, 4], rays[q, 5]
        )
        t, k = closest_hit(
            nodes, refs, tri, stack, stack_t, rays[q, 0], rays[q, 1], rays[q, 2],
            ix, iy, iz, kx, ky, kz, sx, sy, sz, tmin, rays[q, 6],
        )  # fmt: skip
        dist[i] = t
        face[i] = tri_face[k] if k >= 0 else -1
