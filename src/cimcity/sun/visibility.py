"""Visibility of sky patches and sun directions from sensors, traced once.

The irradiance of a sensor is a sum over what it sees: sky patches (dome and
horizon ring) and sun positions (beam and circumsolar). This module traces
those visibilities and keeps them, bit-packed, in a store cached on the
occluder mesh (``mesh.cache``), so a second study with other weather or
another period traces only sun bins never traced before.

* :func:`unique_normals`, :func:`sky_weights`: the projected solid angles of
  sky patches for each distinct sensor normal.
* :func:`store`: the :class:`Visibility` of one sensor set on one mesh.
* :func:`trace_groups`: blocked bits of sensors x directions, traced by groups
  of nearly equal normals against the directions in front of them.

Sensors are traced in groups of normals within :data:`GROUP_DEG` (1°),
against the cells in front of them only (walls skip the half of the sky behind
them). Rays to cells that straddle the sensor's own plane (centre behind it or
within 2° of it, part in front) leave ``asin(LIFT_SIN)`` ≈ 2° above the plane,
so an open facade sees exactly half the sky.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from .. import raycast
from .._kernels import solar as ks

__all__ = [
    "NORMAL_QUANTUM",
    "LIFT_SIN",
    "GROUP_DEG",
    "SUBGRID",
    "Visibility",
    "unique_normals",
    "subgrid",
    "sky_weights",
    "sensor_key",
    "store",
    "normal_groups",
    "group_frame",
    "trace_groups",
]

#: normals closer than this (component-wise) share their weights
NORMAL_QUANTUM = 1e-4
#: rays for cells straddling a sensor's plane leave this sine above it (≈ 2°)
LIFT_SIN = float(np.sin(np.radians(2.0)))
#: sensors whose normals differ by less than about this are traced together [deg]
GROUP_DEG = 1.0
#: sub-grid cells per patch side used to integrate projected solid angles
#: (Tregenza: 8 x 8 cells of 1.5°; Reinhart MF:m: 8/m)
SUBGRID = 8
#: ``mesh.cache`` key of the visibility stores
VIS_KEY = "solar.visibility"
#: visibility stores kept per mesh (oldest dropped first)
MAX_STORES = 4


def unique_normals(normals):
    """Quantised unique normals and the index of each sensor's."""
    q = np.round(np.asarray(normals) / NORMAL_QUANTUM).astype(np.int64)
    span = int(round(1 / NORMAL_QUANTUM)) * 2 + 3
    key = ((q[:, 0] + span // 2) * span + (q[:, 1] + span // 2)) * span + (
        q[:, 2] + span // 2
    )
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    un = np.asarray(normals, float)[first]
    un /= np.linalg.norm(un, axis=1)[:, None]
    return np.ascontiguousarray(un), inverse.astype(np.int64)


def subgrid(patches):
    mf = max(1, len(patches.row_counts) // 7)
    return max(2, SUBGRID // mf)


def sky_weights(unormals, patches):
    """Dome (U, P) [sr], horizon ring (U, P) [rad] weights and front mask."""
    dirs, _, cell, moment = patches.subsample(subgrid(patches))
    K = ks.projected_solid_angles(unormals, dirs, moment, cell, len(patches))
    hd, hphi, hcell = patches.horizon_samples(16)
    H = ks.projected_solid_angles(unormals, hd, hphi, hcell, len(patches))
    front = (K > 0) | (H > 0)
    return K, H, front


@dataclass(eq=False)
class Visibility:
    """Traced visibility of one sensor set on one mesh."""

    sky: dict = field(default_factory=dict)  # patches name -> blocked bits (n, nb)
    sun: dict = field(default_factory=dict)  # grid name -> (bits (n, nb), traced (G,))
    exact: dict = field(default_factory=dict)  # sun hash -> bits (n, nb)


def sensor_key(points, normals) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(memoryview(np.ascontiguousarray(points, np.float64)).cast("B"))
    h.update(memoryview(np.ascontiguousarray(normals, np.float64)).cast("B"))
    return h.hexdigest()


def store(mesh, key) -> Visibility:
    stores = mesh.cache.get(VIS_KEY, mesh.token, dict)
    if key not in stores:
        while len(stores) >= MAX_STORES:  # keep the cache bounded
            stores.pop(next(iter(stores)))
        stores[key] = Visibility()
    return stores[key]


def normal_groups(unormals, step_deg=GROUP_DEG):
    """Group index of each unique normal: normals within about ``step_deg``."""
    if not len(unormals):
        return np.zeros(0, np.int64)
    q = np.round(unormals / np.radians(step_deg)).astype(np.int64)
    _, group = np.unique(q, axis=0, return_inverse=True)
    return group.reshape(-1).astype(np.int64)


def group_frame(unormals, front):
    """Normal groups of :func:`trace_groups`: group of each unique normal,
    directions in front of each group (ng, d) and the group's mean normal."""
    group = normal_groups(unormals)
    ng = int(group.max()) + 1 if len(group) else 0
    gfront = np.zeros((ng, front.shape[1]), bool)
    np.logical_or.at(gfront, group, front)
    rep = np.zeros((ng, 3))
    np.add.at(rep, group, unormals)
    rep /= np.linalg.norm(rep, axis=1)[:, None]
    return group, gfront, rep


def trace_groups(mesh, points, unormals, sensor_u, dirs, front, engine, cb, lift=True):
    """Blocked bits (n, ceil(d/8)) of sensors x directions.

    Sensors are traced by groups of nearly equal normals (within
    :data:`GROUP_DEG`), each against the directions in front of any of its
    normals (``front[u]``); other pairs stay 0 (their weights are 0). With
    ``lift``, directions closer than ``LIFT_SIN`` to the group's mean plane
    (cells straddling it) are tilted to ``asin(LIFT_SIN)`` above it, which is
    at least ``asin(LIFT_SIN) - GROUP_DEG / 2`` above each member's plane.

    Returns
    -------
    bits : (n, ceil(d / 8)) uint8
    rays : int
        Rays traced.
    """
    n, nd = len(points), len(dirs)
    bits = np.zeros((n, (nd + 7) // 8), np.uint8)
    if n == 0 or nd == 0:
        return bits, 0
    group, gfront, rep = group_frame(unormals, front)
    ng = len(rep)
    sensor_g = group[sensor_u]
    order = np.argsort(sensor_g, kind="stable")
    counts = np.bincount(sensor_g, minlength=ng)
    starts = np.concatenate([[0], np.cumsum(counts)])
    per_group = counts * gfront.sum(axis=1)
    total = int(per_group.sum())
    done = 0
    for g in np.flatnonzero(per_group):
        cols = np.flatnonzero(gfront[g])
        idx = order[starts[g] : starts[g + 1]]
        d = np.ascontiguousarray(dirs[cols])
        if lift:
            d = ks.lift_directions(np.repeat(rep[g][None], len(cols), 0), d, LIFT_SIN)
        b = raycast.occluded_matrix(mesh, points[idx], d, engine=engine)
        ks.scatter_rows(bits, idx, b, cols)
        done += int(per_group[g])
        if cb is not None:
            cb(done, total)
    return bits, total
