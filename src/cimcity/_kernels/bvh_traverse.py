"""BVH traversal (numba): single-ray any-hit and closest-hit, batch kernels.

Traverses the nodes of :func:`cimcity._kernels.bvh_build.pack_nodes`. Rays are
``(origin, unit direction)``; a hit counts when ``tmin < t <= tmax`` (``t`` in
metres along the unit direction).

Algorithms
----------
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
* Threads: the batch kernels take a range of rays (or windows, or sensor
  rows) and release the GIL; :mod:`cimcity.raycast` hands small ranges to one
  Python thread per core, each pulling the next range when done. Unlike a
  static ``prange`` split, a core slowed down by other processes, or given
  the expensive street-level rays, simply takes fewer ranges.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_JIT = dict(nogil=True, cache=True, error_model="numpy")

#: relative enlargement of the slab test's far distance (Ize 2013, float64 γ₃ ≪ this)
BOX_PAD = 1e-9
#: stands in for 1/0 in inverse directions (keeps 0 * inv finite)
_BIG = 1e30


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
    kx, ky, kz, sx, sy, sz = ray_axes(dx, dy, dz)
    return ix, iy, iz, kx, ky, kz, sx, sy, sz


@njit(**_JIT)
def ray_axes(dx, dy, dz):
    """The watertight test's ``(kx, ky, kz, sx, sy, sz)`` of :func:`ray_setup`
    for the unit direction ``d`` (``sz = 1 / d[kz]``: the largest component
    is never zero)."""
    # The axis choice is written without branches: with incoherent rays its
    # comparisons are unpredictable, and as if/elif chains they cost 16 ns a
    # ray in mispredictions (33 -> 17 ns for the whole set-up, measured one
    # thread on 300,000 random directions). Each selection multiplies by an
    # exact 0 or 1, so the values are those of the chain: ``kz`` is the axis
    # of the largest ``|d|`` (the first on ties), ``kx, ky`` the next two in
    # cyclic order, swapped when ``d[kz] < 0``; a selected component may only
    # lose the sign of a zero, which no comparison of the triangle test sees.
    ax = abs(dx)
    ay = abs(dy)
    az = abs(dz)
    first = np.int64((ax >= ay) & (ax >= az))
    second = np.int64(ay >= az)
    kz = (1 - first) * (2 - second)
    z0 = np.float64(kz == 0)
    z1 = np.float64(kz == 1)
    z2 = np.float64(kz == 2)
    dkz = dx * z0 + dy * z1 + dz * z2
    sz = 1.0 / dkz
    flip = np.int64(dkz < 0.0)
    kx = kz + 1 - 3 * np.int64(kz == 2)
    ky = kx + 1 - 3 * np.int64(kx == 2)
    kx, ky = kx + flip * (ky - kx), ky + flip * (kx - ky)
    dkx = dx * np.float64(kx == 0) + dy * np.float64(kx == 1) + dz * np.float64(kx == 2)
    dky = dx * np.float64(ky == 0) + dy * np.float64(ky == 1) + dz * np.float64(ky == 2)
    return kx, ky, kz, dkx * sz, dky * sz, sz


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

    ``nodes`` from :func:`~cimcity._kernels.bvh_build.pack_nodes`, ``refs = nodes.view(np.int32)``;
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
def unit_ray(origins, directions, shift, i):
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
        ox, oy, oz, dx, dy, dz, ok = unit_ray(origins, directions, shift, i)
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
        ox, oy, oz, dx, dy, dz, ok = unit_ray(origins, directions, shift, i)
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
