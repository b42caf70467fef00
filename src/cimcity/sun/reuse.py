"""Sky and sun visibility traced coarse first on each plane's sensor grid.

Sensors laid by :func:`cimcity.sun.sensors.sample` sit on a regular grid in
the plane of their roof, facade or terrain patch (``Sensors.lattice``:
patch, column, row). Neighbours on one plane mostly see the same sky: the
blocked/visible answer for one direction changes only across a shadow edge.
:func:`trace` uses that (hierarchical tracing):

1. the sensors on every ``TOP_STEP``-th column and row of each patch (and on
   its last column and row) are traced for every direction in front of them
   (:func:`cimcity.sun.visibility.trace_groups`, ray packets);
2. level by level (step ``TOP_STEP / 2`` … 1), a sensor takes, for each
   direction, the value the corners of the coarser cell enclosing it agree
   on (all blocked or all visible); where they disagree, or a corner is
   missing (a patch edge that is not a grid line, a buried party-wall
   sensor, another normal group), the pair is traced.

Sensors off any lattice (user points, ground rasters) are traced in full.
The brute-force trace (``exact=True`` in :func:`cimcity.solar.irradiance`)
stays the reference.

Error and speed
---------------
A pair is wrong only when an occluder, or a gap between occluders, lies
inside a coarse cell seen alike from all its corners: something narrower,
as seen from the plane, than the cell (``TOP_STEP`` × spacing, 4 m at 1 m
spacing); on a single straight shadow edge the wrong pairs lie within one
coarse cell of the edge (``tests/test_solar_reuse.py``). Measured against
the brute-force trace (annual Paris-Orly study, 145 Tregenza patches as sky
and sun bins, ``benchmarks/bench_solar.py``, ``TOP_STEP`` 4):

* sample district at 1 m: 17 % of the pairs traced, 0.007 % of the pairs
  differ; per sensor p99 of the relative error < 0.01 % (worst sensor 37 %),
  per building at most 0.1 %;
* Paris 11e (BDNB) at 1 m: 22 % of the pairs traced, 0.03 % differ; per
  sensor p99 2.3 % (worst 61 %: narrow gaps between buildings), per building
  p99 0.8 % (worst 14 %); at 2 m (cells of 8 m) 33 % traced, per sensor p99
  3.9 %, per building p99 1.7 % (worst 23 %).

The rays left are the costly ones (coarse sensors several metres apart make
incoherent packets; pairs at shadow edges graze the occluders; the numba
engine is about twice as fast per ray on coherent rows): on Paris 11e at 1 m
the fast path took 28-48 s against 47-49 s for every pair (1.0-1.7x,
two runs on the shared 2-core machine), so it is not the default
(``exact=True`` is).

Written by hand: no library traces a lattice of ray origins coarse to fine;
the kernels are in :mod:`cimcity._kernels.solar_reuse`.
"""

from __future__ import annotations

import numpy as np

from .. import raycast
from .._kernels import solar as ks
from .._kernels import solar_reuse as kr
from . import visibility as vis

__all__ = ["TOP_STEP", "CHUNK_SENSORS", "has_lattice", "trace"]

#: coarsest step of the lattice traced in full (a power of two, in sensors)
TOP_STEP = 4
#: sensors of one level handled together (bounds the pair arrays in memory)
CHUNK_SENSORS = 1 << 16


def has_lattice(lattice) -> bool:
    """Whether any sensor lies on a plane's grid."""
    return lattice is not None and len(lattice) > 0 and bool((lattice[:, 0] >= 0).any())


def _lifted(rep, dirs, lift):
    """(ng, d, 3) direction of each direction for each normal group."""
    ng, nd = len(rep), len(dirs)
    if not lift:
        return np.ascontiguousarray(np.broadcast_to(dirs, (ng, nd, 3)))
    out = ks.lift_directions(
        np.ascontiguousarray(np.repeat(rep, nd, axis=0)),
        np.ascontiguousarray(np.tile(dirs, (ng, 1))),
        vis.LIFT_SIN,
    )
    return out.reshape(ng, nd, 3)


def trace(
    mesh,
    points,
    lattice,
    unormals,
    sensor_u,
    dirs,
    front,
    engine,
    cb,
    lift=True,
    stats=None,
    top=None,
    pair_engine=None,
):
    """Blocked bits of sensors x directions, traced coarse first per plane.

    Same inputs and output as :func:`cimcity.sun.visibility.trace_groups`
    (which it calls for the coarse sensors), plus the sensors' lattice.

    Parameters
    ----------
    mesh : CityMesh
        Occluders.
    points : (n, 3) float64
        Sensor positions, world coordinates [m].
    lattice : (n, 3) int64 or None
        ``Sensors.lattice`` (None or all -1: every pair is traced).
    unormals : (U, 3) float64
        Unique sensor normals; ``sensor_u`` (n,) the index of each sensor's.
    dirs : (d, 3) float64
        Unit directions (sky patch centres, sun bins or sun positions).
    front : (U, d) bool
        Directions in front of each unique normal (others are not traced).
    engine : str
        Resolved ray engine name (the coarse sensors' coherent rows).
    cb : callable or None
        ``cb(done, total)`` over the sensor x direction pairs.
    lift : bool
        Tilt directions grazing the plane (see ``trace_groups``).
    stats : dict, optional
        Gets ``pairs`` (in front) and ``rays`` (traced) added.
    top : int, optional
        Coarsest step (power of two; 1 traces every pair); default
        :data:`TOP_STEP`.
    pair_engine : str, optional
        Resolved engine of the scattered pairs left to trace (incoherent
        rays: ``raycast.resolve_engine(engine, "occluded")``, Embree under
        ``"auto"`` when installed); default ``engine``.

    Returns
    -------
    bits : (n, ceil(d / 8)) uint8
    rays : int
        Rays traced.
    """
    n, nd = len(points), len(dirs)
    top = TOP_STEP if top is None else int(top)
    if top < 1 or top & (top - 1):
        raise ValueError(f"top must be a power of two; got {top}")
    if not has_lattice(lattice) or top == 1 or n == 0 or nd == 0:
        bits, rays = vis.trace_groups(
            mesh, points, unormals, sensor_u, dirs, front, engine, cb, lift=lift
        )
        if stats is not None:
            stats["pairs"] = stats.get("pairs", 0) + rays
            stats["rays"] = stats.get("rays", 0) + rays
        return bits, rays
    lat = np.ascontiguousarray(lattice, np.int64)
    level, corners = kr.lattice_levels(
        np.ascontiguousarray(lat[:, 0]),
        np.ascontiguousarray(lat[:, 1]),
        np.ascontiguousarray(lat[:, 2]),
        int(top),
    )
    group, gfront, rep = vis.group_frame(unormals, front)
    sg = np.ascontiguousarray(group[sensor_u])
    per_sensor = gfront.sum(axis=1)[sg]
    total = int(per_sensor.sum())
    bits = np.zeros((n, (nd + 7) // 8), np.uint8)

    coarse = np.flatnonzero(level >= top)
    done = int(per_sensor[coarse].sum())

    def cb_coarse(d, t):
        if cb is not None:
            cb(int(done * d / max(t, 1)), total)

    b, rays = vis.trace_groups(
        mesh,
        points[coarse],
        unormals,
        sensor_u[coarse],
        dirs,
        front,
        engine,
        cb_coarse,
        lift=lift,
    )
    bits[coarse] = b
    ldirs = _lifted(rep, np.ascontiguousarray(dirs, np.float64), lift)
    pts = np.ascontiguousarray(points, np.float64)
    step = top // 2
    while step >= 1:
        sel_all = np.flatnonzero(level == step)
        for a in range(0, len(sel_all), CHUNK_SENSORS):
            sel = sel_all[a : a + CHUNK_SENSORS]
            need = np.zeros((nd, len(sel)), np.bool_)
            count = kr.infer_level(sel, corners, sg, gfront, bits, need)
            m = int(count.sum())
            if m:
                o = np.empty((m, 3))
                d = np.empty((m, 3))
                ps = np.empty(m, np.int64)
                pd_ = np.empty(m, np.int64)
                kr.pair_rays(sel, need, sg, pts, ldirs, o, d, ps, pd_)
                blocked = raycast.occluded(mesh, o, d, engine=pair_engine or engine)
                kr.scatter_pairs(bits, ps, pd_, blocked)
                rays += m
            done += int(per_sensor[sel].sum())
            if cb is not None:
                cb(done, total)
        step //= 2
    if stats is not None:
        stats["pairs"] = stats.get("pairs", 0) + total
        stats["rays"] = stats.get("rays", 0) + rays
        stats["pair_engine"] = pair_engine or engine
    return bits, rays
