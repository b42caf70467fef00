"""Ray set-up for Embree (numba): float32 local rays from world rays.

embreex traces float32 rays from a fixed ``tnear`` of 0; these kernels move
world origins into the mesh's local frame in float64, start them at ``tmin``
along their unit direction and write the float32 arrays embreex takes, without
the GIL, so the set-up runs on every core (:mod:`cimcity.raycast.embree_engine`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_JIT = dict(nogil=True, cache=True, error_model="numpy")


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
    (layout of :func:`~cimcity._kernels.bvh_packets.occluded_matrix_bits`) and no ray. Returns the number
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
