"""Solar irradiance kernels (numba) on plain arrays.

Weights are computed once per *unique* sensor normal (``U`` of them) and then
gathered per sensor through bit-packed visibility (bit set = direction
blocked, numpy ``packbits(bitorder="little")`` layout, as written by
:func:`cimcity._kernels.bvh.occluded_matrix_bits`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_JIT = dict(nogil=True, cache=True, error_model="numpy")


@njit(parallel=True, **_JIT)
def projected_solid_angles(normals, dirs, weights, cell, n_cells):  # pragma: no cover
    """``out[u, c] = Σ_{k: cell[k] = c} weights[k] · max(0, normals[u] · dirs[k])``.

    With equal-area sub-directions of sky patches and their solid angles as
    ``weights``, this is the projected solid angle ``∫_patch max(0, n·ω) dω``
    [sr] of each patch seen by a surface of normal ``n`` (midpoint rule).

    Parameters
    ----------
    normals : (U, 3) float64
    dirs : (S, 3) float64
    weights : (S,) float64
    cell : (S,) int64, values in ``[0, n_cells)``
    n_cells : int

    Returns
    -------
    (U, n_cells) float64
    """
    U = normals.shape[0]
    S = dirs.shape[0]
    out = np.zeros((U, n_cells))
    for u in prange(U):
        nx = normals[u, 0]
        ny = normals[u, 1]
        nz = normals[u, 2]
        for k in range(S):
            c = nx * dirs[k, 0] + ny * dirs[k, 1] + nz * dirs[k, 2]
            if c > 0.0:
                out[u, cell[k]] += weights[k] * c
    return out


@njit(parallel=True, **_JIT)
def front_mask(normals, dirs, cell, n_cells):  # pragma: no cover
    """``out[u, c]``: some sub-direction of cell ``c`` lies in front of ``normals[u]``."""
    U = normals.shape[0]
    S = dirs.shape[0]
    out = np.zeros((U, n_cells), np.bool_)
    for u in prange(U):
        for k in range(S):
            c = (
                normals[u, 0] * dirs[k, 0]
                + normals[u, 1] * dirs[k, 1]
                + normals[u, 2] * dirs[k, 2]
            )
            if c > 0.0:
                out[u, cell[k]] = True
    return out


@njit(parallel=True, **_JIT)
def sun_weights(normals, sun, energy, sun_bin, n_bins):  # pragma: no cover
    """``out[u, b] = Σ_{t: sun_bin[t] = b} energy[t] · max(0, normals[u] · sun[t])``.

    Parameters
    ----------
    normals : (U, 3) float64
    sun : (T, 3) float64
        Unit sun vectors.
    energy : (T,) float64
        Beam normal irradiation of each step [Wh/m²] (0 skips the step).
    sun_bin : (T,) int64
        Bin of each step (< 0 skips it).
    n_bins : int

    Returns
    -------
    (U, n_bins) float64 — [Wh/m²]
    """
    U = normals.shape[0]
    T = sun.shape[0]
    out = np.zeros((U, n_bins))
    for u in prange(U):
        for t in range(T):
            b = sun_bin[t]
            if b < 0 or energy[t] <= 0.0:
                continue
            c = (
                normals[u, 0] * sun[t, 0]
                + normals[u, 1] * sun[t, 1]
                + normals[u, 2] * sun[t, 2]
            )
            if c > 0.0:
                out[u, b] += energy[t] * c
    return out


@njit(parallel=True, **_JIT)
def gather_visible(blocked, sensor_normal, weights, out):  # pragma: no cover
    """``out[i] += Σ_j weights[sensor_normal[i], j]`` over directions ``j`` whose
    bit in ``blocked[i]`` is clear.

    Parameters
    ----------
    blocked : (n, ceil(D / 8)) uint8
        Bit-packed blocked flags (little bit order).
    sensor_normal : (n,) int64
        Unique-normal index of each sensor.
    weights : (U, D) float64
    out : (n,) float64, accumulated in place
    """
    n = blocked.shape[0]
    D = weights.shape[1]
    for i in prange(n):
        u = sensor_normal[i]
        acc = 0.0
        for j in range(D):
            w = weights[u, j]
            if w != 0.0:
                if (blocked[i, j >> 3] >> (j & 7)) & 1 == 0:
                    acc += w
        out[i] += acc


@njit(**_JIT)
def lift_directions(normals, dirs, min_sin):  # pragma: no cover
    """Tilt each direction ``dirs[i]`` about ``normals[i]`` so that
    ``normal · direction >= min_sin`` (rays for cells straddling the surface
    plane go to the visible side, ``asin(min_sin)`` above it)."""
    n = dirs.shape[0]
    out = np.empty_like(dirs)
    for i in prange(n):
        c = (
            normals[i, 0] * dirs[i, 0]
            + normals[i, 1] * dirs[i, 1]
            + normals[i, 2] * dirs[i, 2]
        )
        x = dirs[i, 0]
        y = dirs[i, 1]
        z = dirs[i, 2]
        if c < min_sin:
            # remove the normal component, then set it to min_sin
            tx = x - c * normals[i, 0]
            ty = y - c * normals[i, 1]
            tz = z - c * normals[i, 2]
            t = np.sqrt(tx * tx + ty * ty + tz * tz)
            if t < 1e-12:
                tx, ty, tz, t = 0.0, 0.0, 0.0, 1.0
            s = np.sqrt(1.0 - min_sin * min_sin) / t
            x = tx * s + min_sin * normals[i, 0]
            y = ty * s + min_sin * normals[i, 1]
            z = tz * s + min_sin * normals[i, 2]
        out[i, 0] = x
        out[i, 1] = y
        out[i, 2] = z
    return out


@njit(**_JIT)
def scatter_rows(full, rows, sub, cols):  # pragma: no cover
    """Bit ``k`` of ``sub[r]`` → bit ``cols[k]`` of ``full[rows[r]]``."""
    for r in range(rows.shape[0]):
        i = rows[r]
        for k in range(cols.shape[0]):
            c = cols[k]
            bit = np.uint8(1 << (c & 7))
            if (sub[r, k >> 3] >> (k & 7)) & 1:
                full[i, c >> 3] |= bit
            else:
                full[i, c >> 3] &= ~bit


@njit(parallel=True, **_JIT)
def direct_series(
    blocked, sensor_normal, normals, sun, beam, sun_col, out
):  # pragma: no cover
    """Direct + circumsolar irradiance per sensor and step [W/m²].

    ``out[t, i] = beam[t] · max(0, n_i · sun[t])`` when bit ``sun_col[t]`` of
    ``blocked[i]`` is clear (``sun_col[t] < 0``: no sun, 0).
    """
    T = sun.shape[0]
    n = normals.shape[0]
    for t in prange(T):
        j = sun_col[t]
        if j < 0 or beam[t] <= 0.0:
            continue
        for i in range(n):
            if (blocked[i, j >> 3] >> (j & 7)) & 1:
                continue
            c = (
                normals[i, 0] * sun[t, 0]
                + normals[i, 1] * sun[t, 1]
                + normals[i, 2] * sun[t, 2]
            )
            if c > 0.0:
                out[t, i] += beam[t] * c


@njit(parallel=True, **_JIT)
def direct_exact_sum(blocked, normals, sun, energy, out):  # pragma: no cover
    """``out[i] += Σ_t energy[t] · max(0, n_i · sun[t])`` over steps ``t`` whose
    bit (column ``t``) in ``blocked[i]`` is clear [Wh/m² when ``energy`` is]."""
    n = normals.shape[0]
    T = sun.shape[0]
    for i in prange(n):
        acc = 0.0
        for t in range(T):
            if (blocked[i, t >> 3] >> (t & 7)) & 1:
                continue
            c = (
                normals[i, 0] * sun[t, 0]
                + normals[i, 1] * sun[t, 1]
                + normals[i, 2] * sun[t, 2]
            )
            if c > 0.0:
                acc += energy[t] * c
        out[i] += acc


@njit(parallel=True, **_JIT)
def scatter_bits(full, sub, cols):  # pragma: no cover
    """Copy bit column ``k`` of ``sub`` into bit column ``cols[k]`` of ``full``."""
    n = full.shape[0]
    for i in prange(n):
        for k in range(cols.shape[0]):
            c = cols[k]
            bit = np.uint8(1 << (c & 7))
            if (sub[i, k >> 3] >> (k & 7)) & 1:
                full[i, c >> 3] |= bit
            else:
                full[i, c >> 3] &= ~bit
