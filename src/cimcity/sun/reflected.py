"""Shortwave reflected by the walls a sensor sees (the courtyard case).

A horizontal sensor in a courtyard sees walls where an open field sees sky;
sunlit walls send part of the beam back into the courtyard. This module adds
that component: for each sensor, rays over its hemisphere (the Tregenza sky
patches cut ``k × k``, weights ``cos θ dΩ`` summing to π) find the walls it
sees; each wall point's irradiance, hour by hour, is

``E_wall = lit · beam · max(0, n_w · s) + ½ D_dome + ½ ρ_g GHI``

(the beam where the wall point sees the sun, traced with
:func:`cimcity.raycast.occluded`; half the sky dome's diffuse and half the
light reflected by open ground, as for an unobstructed vertical plane), and
it reflects ``α_w E_wall / π`` isotropically. The sensor receives
``Σ_d w_d α_w E_wall(d) / π``.

:mod:`cimcity.heat` uses the same wall term for the walls a person sees
(beam at the wall's incidence where sunlit, half the diffuse and half the
ground-reflected light), with the diffuse scaled by the person's own sky
view factor. Written by hand: no maintained library computes
wall-reflected irradiance on a city mesh (Radiance does, with its own scene
format and a full ray tracer).

Limits: one bounce; the diffuse on a wall is that of an open vertical plane
(walls deep in a courtyard see less sky, so this is an upper bound of the
diffuse part; the beam part is traced exactly).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..mesh import KIND_CODES
from ..raycast import api as rays
from .sky import sky_patches

__all__ = ["wall_reflected", "hemisphere", "add_wall_reflection"]

#: ray start offset off surfaces [m]
EPS = 0.05


def hemisphere(normal, *, patches="tregenza", k: int = 2):
    """Directions over the hemisphere around ``normal`` and their weights.

    Parameters
    ----------
    normal : (3,) float
        Unit normal of the sensor.
    patches : str
        Sky patches cut into ``k × k`` equal-area cells (upper hemisphere,
        mirrored below).
    k : int

    Returns
    -------
    dirs : (m, 3) float64
    weights : (m,) float64
        ``cos θ dΩ``, rescaled to sum to π exactly.
    """
    p = sky_patches(patches)
    up, dom, _, _ = p.subsample(k)
    dirs = np.vstack([up, up * np.array([1.0, 1.0, -1.0])])
    solid = np.concatenate([dom, dom])
    n = np.asarray(normal, float)
    c = dirs @ n
    keep = c > 0
    w = c[keep] * solid[keep]
    return dirs[keep], w * (np.pi / w.sum())


def wall_reflected(mesh, points, normals, components, *, albedo=0.20,
                   ground_albedo=0.20, k=2, engine="auto") -> np.ndarray:
    """Irradiance reflected by the walls each sensor sees [W/m²].

    Parameters
    ----------
    mesh : cimcity.mesh.CityMesh
        Opaque scene mesh (buildings, terrain).
    points : (n, 3) float
        Sensor positions [m, scene CRS].
    normals : (n, 3) float
        Unit sensor normals.
    components : cimcity.sun.sky.SkyComponents
        The sky of each step, in the mesh's grid frame.
    albedo : float
        Wall albedo [-].
    ground_albedo : float
        Albedo of the open ground lighting the walls [-].
    k : int
        Cells per sky patch side of the sensor rays.
    engine : {"auto", "numba", "embree"}

    Returns
    -------
    (T, n) float64
    """
    if not (0.0 <= albedo <= 1.0 and 0.0 <= ground_albedo <= 1.0):
        raise InputError(
            f"albedo and ground_albedo must be within 0..1; got {albedo!r}, "
            f"{ground_albedo!r}"
        )
    pts = np.atleast_2d(np.asarray(points, float))
    nrm = np.atleast_2d(np.asarray(normals, float))
    if pts.shape != nrm.shape or pts.shape[1] != 3:
        raise InputError(
            f"points and normals must both be (n, 3); got {pts.shape} and {nrm.shape}"
        )
    T = len(components.times)
    out = np.zeros((T, len(pts)))
    wall = KIND_CODES["wall"]
    fn = mesh.face_normals
    kinds = np.asarray(mesh.face_kind)
    # one hemisphere per distinct normal
    uniq, inv = np.unique(np.round(nrm, 6), axis=0, return_inverse=True)
    o_all, d_all, w_all, s_all = [], [], [], []
    for u, nu in enumerate(uniq):
        dirs, w = hemisphere(nu / np.linalg.norm(nu), k=k)
        idx = np.flatnonzero(inv.ravel() == u)
        o_all.append(np.repeat(pts[idx] + nu * EPS, len(dirs), axis=0))
        d_all.append(np.tile(dirs, (len(idx), 1)))
        w_all.append(np.tile(w, len(idx)))
        s_all.append(np.repeat(idx, len(dirs)))
    o = np.concatenate(o_all)
    d = np.concatenate(d_all)
    w = np.concatenate(w_all)
    sensor = np.concatenate(s_all)
    dist, face = rays.intersect(mesh, o, d, engine=engine)
    hit = (np.asarray(face) >= 0)
    hit[hit] = kinds[np.asarray(face)[hit]] == wall
    if not hit.any():
        return out
    f = np.asarray(face)[hit]
    hp = o[hit] + d[hit] * np.asarray(dist)[hit][:, None]
    wn = fn[f]
    start = hp + wn * EPS
    ws = w[hit]
    sid = sensor[hit]
    diffuse = 0.5 * components.dome * np.pi + 0.5 * ground_albedo * components.ghi
    for t in range(T):
        e = np.full(len(ws), diffuse[t])
        if components.sun_up[t] and components.beam[t] > 0:
            s = components.sun[t]
            cosi = np.clip(wn @ s, 0.0, None)
            face_sun = cosi > 0
            if face_sun.any():
                lit = ~rays.occluded(mesh, start[face_sun], np.broadcast_to(
                    s, (int(face_sun.sum()), 3)), engine=engine)
                e[np.flatnonzero(face_sun)[lit]] += components.beam[t] * cosi[face_sun][lit]
        out[t] = np.bincount(sid, weights=ws * albedo * e / np.pi, minlength=len(pts))
    return out


def add_wall_reflection(parts, series, mesh, sensors, components, *,
                        wall_albedo=0.20, ground_albedo=0.20, engine="auto"):
    """Add :func:`wall_reflected` to the parts and series of
    :func:`cimcity.solar.irradiance` (its "reflected" component).

    Parameters
    ----------
    parts : dict
        Period totals per sensor [Wh/m²] (``"reflected"`` is increased).
    series : pandas.DataFrame or None
        Irradiance per step and sensor [W/m²] (increased when given).
    mesh : cimcity.mesh.CityMesh
        The occluder mesh of the study.
    sensors : cimcity.sun.sensor_set.Sensors
    components : cimcity.sun.sky.SkyComponents
    wall_albedo, ground_albedo : float
    engine : {"auto", "numba", "embree"}

    Returns
    -------
    (dict, pandas.DataFrame or None)
    """
    e = wall_reflected(mesh, sensors.points, sensors.normals, components,
                       albedo=wall_albedo, ground_albedo=ground_albedo, engine=engine)
    parts = dict(parts)
    parts["reflected"] = parts["reflected"] + e.sum(axis=0) * components.interval
    parts["wall_reflected"] = e.sum(axis=0) * components.interval
    if series is not None:
        series = series + e
    return parts, series


#: sensors whose normal is within ~8° of the zenith get the wall-reflected term
UPWARD_NZ = 0.99


def add_to_upward(parts, series, mesh, sensors, components, *, wall_albedo=0.20,
                  ground_albedo=0.20, engine="auto", max_values=None):
    """:func:`add_wall_reflection` for the upward-facing sensors of a solar study.

    Roofs, open ground and courtyard floors see walls only above their plane, so
    the wall-reflected term adds to the (zero) isotropic ground term of
    :func:`cimcity.solar.irradiance` without counting any view twice; tilted
    sensors are left as they are (their ground term already covers the lower
    view).

    Parameters
    ----------
    parts, series, mesh, sensors, components, wall_albedo, ground_albedo, engine
        As :func:`add_wall_reflection`.
    max_values : int, optional
        Largest steps x upward-sensors array traced at once.

    Returns
    -------
    (dict, numpy.ndarray or None)
        ``parts`` with ``"reflected"`` increased and ``"wall_reflected"`` [Wh/m²]
        (0 for the other sensors); ``series`` increased where given.

    Raises
    ------
    InputError
        When the steps x upward sensors exceed ``max_values``.
    """
    up = np.flatnonzero(np.asarray(sensors.normals)[:, 2] > UPWARD_NZ)
    parts = dict(parts)
    parts["wall_reflected"] = np.zeros(len(parts["reflected"]))
    if not len(up):
        return parts, series
    if max_values is not None and len(components) * len(up) > max_values:
        raise InputError(
            f"wall reflections of {len(up):,} upward sensors x {len(components):,} "
            f"steps are too many values (> {max_values:,}); give fewer points=, a "
            f"larger spacing or a shorter period, or wall_albedo=None"
        )
    e = wall_reflected(mesh, sensors.points[up], sensors.normals[up], components,
                       albedo=wall_albedo, ground_albedo=ground_albedo, engine=engine)
    total = e.sum(axis=0) * components.interval
    parts["reflected"] = np.array(parts["reflected"], float)
    parts["reflected"][up] += total
    parts["wall_reflected"][up] = total
    if series is not None:  # a (steps x sensors) DataFrame
        series = series.copy()
        series.iloc[:, up] = series.iloc[:, up].to_numpy() + e
    return parts, series
