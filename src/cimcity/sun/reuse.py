"""Sky and sun visibility traced coarse first on each plane's sensor grid.

Sensors laid by :func:`cimcity.sun.sensors.sample` sit on a regular grid in
the plane of their roof, facade or terrain patch (``Sensors.lattice``:
patch, column, row). Neighbours on one plane mostly see the same sky: the
blocked/visible answer for one direction changes only across a shadow edge.
:func:`trace` uses that (hierarchical tracing):

1. the sensors on every ``TOP_STEP``-th column and row of each patch (and on
   its last column and row) are traced for every direction in front of them,
   keeping the triangle each blocked ray found
   (:func:`cimcity._kernels.solar_hits.trace_pairs_faces`, packets of 2 x 4
   neighbouring sensors);
2. level by level (step ``TOP_STEP / 2`` ... 1), each sensor inside a cell of
   the coarser lattice takes, per direction (rule ``"proven"``, the default):

   * **blocked** when its own ray hits a triangle one of the cell's corners
     hit along that direction (one watertight ray-triangle test, the
     traversal's arithmetic): a real hit, so never a wrong "blocked";
   * **visible** when the four corners are visible, the sensor lies inside
     their cell (within :data:`LATTICE_TOL`) and its ray misses
     the triangles the corners hit along the :data:`ADJACENT` nearest
     directions (an occluder thinner than the cell, between the corners'
     rays, is usually hit by a corner just beside the direction);
   * otherwise (corners disagree, no tested triangle is hit, a corner is
     missing at a patch edge, a buried party-wall sensor, another normal
     group) the pair is traced; level-2 sensors keep their triangles for
     level 1.

Sensors off any lattice (user points, ground rasters) are traced in full.
The brute-force trace (``exact=True`` in :func:`cimcity.solar.irradiance`)
stays the reference. The first rule, ``"corners"`` (the four corners agree:
all blocked or all visible), is kept to measure against.

Error and speed
---------------
What the ``"proven"`` rule guarantees: a pair it calls blocked is blocked
(a triangle hit at ``t > tmin`` along the sensor's own ray, as the exact trace
would find). A pair it calls visible can be wrong only when an occluder lies
between the four corner rays without touching them, nor the corner rays of
the nearest directions: something thinner, seen from the plane, than the
coarse cell, which is at most :data:`MAX_CELL_M` = 8 m wide (step 4 at 1 m
and 2 m spacing, 2 at 4 m; cells of 4 m at 2 m spacing halved the error
again but traced 53 % of the pairs, slower than the exact trace). Gaps
between buildings, the main error of the first rule (a sensor between corners blocked by two different buildings), are
traced (``tests/test_solar_reuse.py``: a 2 m gap between two blocks, pair
for pair equal to the exact trace). Measured against the exact trace in the
same run (annual Paris-Orly study, 145 Tregenza patches as sky and sun bins,
``benchmarks/bench_solar.py``, ``engine="auto"``; the first rule, step 4, in
brackets):

* Paris 11e (BDNB, 7.1 M sensors) at 1 m: 22.9 % of the pairs traced
  (21.9 %), 0.0011 % of the sky pairs differ (0.03 %); per sensor p99 of
  the relative error < 0.01 % (2.3 %), worst sensor 47 % (61 %); per
  building p99 0.04 % (0.82 %), worst building 0.7 % (14 %);
* Paris 11e at 2 m: 37.7 % traced (33 %), 0.0028 % of the sky pairs differ
  (0.07 %); per sensor p99 < 0.01 % (3.9 %); per building p99 0.10 %
  (1.7 %), worst 1.3 % (23 %);
* sample district at 2 m (``tests/test_solar_reuse.py``, Reinhart MF:2 sun
  bins): per sensor p99 0, mean 0.0013 %; per building at most 0.045 %
  (0.65 %).

The worst sensors are single sensors with little sun (a relative error on a
small value, the same with either rule).

Speed, same run, quiet machine (load average 2.3 with the benchmark's own
two threads): Paris 11e at 1 m 27.3 s against 37.8 s for the exact trace
(1.4x) and 69.2 s for raw embreex on the same pairs (2.5x); the first rule
took 20.0 s. Other quiet runs: 28.1 s against 41.0 s, and, with the machine
slower, 31.7-32.1 s against 48.3-48.6 s. A first version that
refused to infer "visible" for any sensor off its lattice node (the partial
cells at patch edges) traced 24.8 % of the pairs and took 59.2 s against
80.8 s under load 3.6, for the same worst building; sensors are now refused
only outside their corners' cell. At 2 m the gain is smaller (quiet: 13.1 s
against 17.5 s, 1.33x; under load 3.2 the exact trace was the faster one,
41.1 s against 24.6 s): the coarse sensors are a larger share of small
facades. Where the time goes (1 m, quiet, wall time of the 32 s):
10.3 s in the triangle-recording packets of the coarse and step-2 sensors
(106 M rays, 10 M rays/s), 9.9 s in the inference kernel (a bit read per
neighbour and direction, a watertight triangle test where a neighbour is
blocked), 4.7 s in the step-1 rays (on Embree, which ``engine="auto"`` picked
then; numba now: 28.4 s in all), the
rest in pair lists and scatters.

Written by hand: no library traces a lattice of ray origins coarse to fine
or re-tests a neighbour's triangle; the kernels are in
:mod:`cimcity._kernels.solar_hits` (``"proven"``) and
:mod:`cimcity._kernels.solar_reuse` (lattice levels, ``"corners"``).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .. import raycast
from .._kernels import solar as ks
from .._kernels import solar_hits as kh
from .._kernels import solar_reuse as kr
from ..errors import InputError
from ..raycast import numba_engine
from ..raycast.rays import DEFAULT_TMIN, unit
from ..raycast.tasks import run_all, split, worker_count
from . import visibility as vis

__all__ = [
    "TOP_STEP",
    "CHUNK_SENSORS",
    "RULES",
    "RULE",
    "MAX_CELL_M",
    "LATTICE_TOL",
    "has_lattice",
    "trace",
]

#: coarsest step of the lattice traced in full (a power of two, in sensors)
TOP_STEP = 4
#: ``"proven"`` rule, default ``top``: the coarse cell is at most this wide
#: [m] (``TOP_STEP`` 4 at 1 m and 2 m spacing, 2 at 4 m): the error bound
#: is a width. 4 m (step 2 at 2 m) measured on Paris 11e at 2 m: per building
#: at most 0.6 % but 53 % of the pairs traced, 0.8x the exact trace
MAX_CELL_M = 8.0
#: a sensor farther than this from its corners' cell [m] (the rectangle of
#: the coarser lattice nodes around it) is never inferred visible; partial
#: cells at patch edges hold their sensor at the centroid, inside the cell
LATTICE_TOL = 0.01
#: sensors of one level handled together (bounds the pair arrays in memory)
CHUNK_SENSORS = 1 << 16
#: inference rules: ``"proven"`` (blocked only on a real hit of a neighbour's
#: triangle, visible only when the 4 x 4 neighbourhood is visible) and
#: ``"corners"`` (the four corners agree: the first rule, kept to measure)
RULES = ("proven", "corners")
#: the rule :func:`trace` uses by default
RULE = "proven"
#: sensors per chunk of whole patches of the ``"proven"`` rule (bounds the
#: triangle ids kept per coarse pair: 4 bytes x directions x a quarter of it)
CHUNK_PATCH_SENSORS = 1 << 18
#: ``"proven"`` rule: infer a pair visible only when the 4 x 4 block of coarser
#: nodes around the sensor is visible, not only its 4 corners (fewer wrong
#: pairs, more rays: see the module docstring)
GUARD = False
#: ``"proven"`` rule: before a pair is inferred visible, its ray is tested
#: against the triangles its neighbours hit in this many nearest directions
ADJACENT = 4
#: sensors whose pairs are listed together, direction by direction (as the
#: exact matrix trace's blocks: their BVH nodes stay in cache)
_BLOCK_SENSORS = 64
#: pairs per task of the triangle-recording trace (one kernel call)
_TASK_PAIRS = 1 << 15


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
    rule=None,
    guard=None,
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
        Gets ``pairs`` (in front) and ``rays`` (traced) added, and
        ``pair_engine`` (and ``top``) set.
    top : int, optional
        Coarsest step (power of two; 1 traces every pair); default
        :data:`TOP_STEP`, narrowed under the ``"proven"`` rule to coarse cells
        of at most :data:`MAX_CELL_M` (the step used goes to
        ``stats["top"]``).
    pair_engine : str, optional
        Resolved engine of the scattered pairs left to trace (incoherent
        rays: ``raycast.resolve_engine(engine, "occluded")``, numba under
        ``"auto"``); default ``engine``.
    rule : {"proven", "corners"}, optional
        Inference rule (see the module docstring); default :data:`RULE`.
    guard : bool, optional
        ``"proven"`` rule: a sensor is inferred visible only when the 4 x 4
        block of coarser nodes around it is visible (else its four corners);
        default :data:`GUARD`.

    Returns
    -------
    bits : (n, ceil(d / 8)) uint8
    rays : int
        Rays traced.
    """
    n, nd = len(points), len(dirs)
    auto_top = top is None
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
    rule = RULE if rule is None else rule
    if rule not in RULES:
        raise InputError(f"unknown rule {rule!r}; expected one of {RULES}")
    if rule == "proven" and len(mesh.faces):
        return _trace_proven(
            mesh,
            points,
            lattice,
            unormals,
            sensor_u,
            dirs,
            front,
            engine,
            cb,
            lift,
            stats,
            top,
            pair_engine,
            guard,
            auto_top,
        )
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


def _lattice_spacing(points, patch, col, row, jmax, base, grid):
    """Median distance between sensors one column apart on a patch [m]."""
    k = np.flatnonzero(patch >= 0)[:: max(1, int(np.sum(patch >= 0)) // 20000)]
    p = patch[k]
    nxt = base[p] + (col[k] + 1) * (jmax[p] + 1) + row[k]
    ok = nxt < base[p + 1]
    k, nxt = k[ok], grid[nxt[ok]]
    k, nxt = k[nxt >= 0], nxt[nxt >= 0]
    if not len(k):
        return 0.0
    return float(np.median(np.linalg.norm(points[nxt] - points[k], axis=1)))


def _adjacent(dirs, k):
    """(d, k) int64: the ``k`` directions nearest each direction (-1 pad)."""
    nd = len(dirs)
    out = np.full((nd, max(k, 0)), -1, np.int64)
    if k <= 0 or nd < 2:
        return out
    kk = min(k, nd - 1)
    _, nb = cKDTree(dirs).query(dirs, kk + 1)
    nb = np.asarray(nb).reshape(nd, -1)
    for i in range(nd):  # itself first, except for repeated directions
        row = [j for j in nb[i] if j != i][:kk]
        out[i, : len(row)] = row
    return out


def _patch_chunks(patch, size):
    """On-lattice sensors sorted by patch, cut into runs of whole patches of
    about ``size`` sensors (a patch larger than that is one run)."""
    on = np.flatnonzero(patch >= 0)
    order = on[np.argsort(patch[on], kind="stable")]
    cuts = np.flatnonzero(np.diff(patch[order])) + 1  # first sensor of each patch
    out, a = [], 0
    while a < len(order):
        b = a + size
        if b >= len(order):
            b = len(order)
        else:
            k = np.searchsorted(cuts, b, side="right") - 1
            if k < 0 or cuts[k] <= a:  # one patch larger than size
                k = np.searchsorted(cuts, a, side="right")
                b = cuts[k] if k < len(cuts) else len(order)
            else:
                b = cuts[k]
        out.append(order[a:b])
        a = b
    return out


def _trace_proven(
    mesh,
    points,
    lattice,
    unormals,
    sensor_u,
    dirs,
    front,
    engine,
    cb,
    lift,
    stats,
    top,
    pair_engine,
    guard,
    auto_top=False,
):
    """:func:`trace` with the ``"proven"`` rule (see the module docstring)."""
    n, nd = len(points), len(dirs)
    lat = np.ascontiguousarray(lattice, np.int64)
    patch = np.ascontiguousarray(lat[:, 0])
    col = np.ascontiguousarray(lat[:, 1])
    row = np.ascontiguousarray(lat[:, 2])
    imax, jmax, base, grid = kh.lattice_grid(patch, col, row)
    if auto_top:  # coarse cells of at most MAX_CELL_M
        spacing = _lattice_spacing(points, patch, col, row, jmax, base, grid)
        while top > 1 and top * spacing > MAX_CELL_M * (1 + 1e-9):
            top //= 2
        if stats is not None:
            stats["top"] = top
        if top == 1:
            return trace(
                mesh,
                points,
                None,
                unormals,
                sensor_u,
                dirs,
                front,
                engine,
                cb,
                lift=lift,
                stats=stats,
            )
    level, corners = kr.lattice_levels(patch, col, row, int(top))
    group, gfront, rep = vis.group_frame(unormals, front)
    sg = np.ascontiguousarray(group[sensor_u])
    per_sensor = gfront.sum(axis=1)[sg]
    total = int(per_sensor.sum())
    bits = np.zeros((n, (nd + 7) // 8), np.uint8)
    pts = np.ascontiguousarray(points, np.float64)
    rays = 0
    done = 0

    off = np.flatnonzero(patch < 0)  # user points, rasters: every pair traced
    if len(off):
        b, r = vis.trace_groups(
            mesh,
            pts[off],
            unormals,
            sensor_u[off],
            dirs,
            front,
            engine,
            None,
            lift=lift,
        )
        bits[off] = b
        rays += r
        done += int(per_sensor[off].sum())
        if cb is not None:
            cb(done, total)

    ldirs = _lifted(rep, np.ascontiguousarray(dirs, np.float64), lift)
    # unit as the matrix query makes them: the same rays as the exact trace
    ldirs = unit("directions", ldirs.reshape(-1, 3)).reshape(ldirs.shape)
    dset, kset = kh.directions_setup(np.ascontiguousarray(ldirs.reshape(-1, 3)))
    adj = _adjacent(dirs, ADJACENT)
    bvh = numba_engine.bvh(mesh)
    shift = np.ascontiguousarray(mesh.origin, np.float64)
    tmin = float(DEFAULT_TMIN)
    workers = worker_count("numba")

    def first_hits(ps, pr):
        hit = np.empty(len(ps), np.int64)
        args = (bvh.nodes, bvh.refs, bvh.tri, bvh.depth, shift, pts, ps, pr)
        args = (*args, dset, kset, tmin, hit)
        parts = split(len(ps), _TASK_PAIRS, workers, align=kh.PACKET)
        for _ in run_all(
            lambda sl: kh.trace_pairs_faces(*args, sl.start, sl.stop), parts, workers
        ):
            pass
        return hit

    frow = np.full(n, -1, np.int64)
    for idx in _patch_chunks(patch, CHUNK_PATCH_SENSORS):
        lv = level[idx]
        nodes = idx[lv >= 2]  # nodes of a finer level's neighbourhoods
        frow[nodes] = np.arange(len(nodes))
        faces = np.full((len(nodes), nd), -1, np.int32)
        coarse = idx[lv >= top]
        # tiles of 2 x 4 coarse nodes follow each other: packets of 8 rays
        ci, cj = col[coarse] // top, row[coarse] // top
        coarse = coarse[np.lexsort((cj, ci, cj // 4, ci // 2, patch[coarse]))]
        need = gfront[sg[coarse]]
        ps, pr = kh.list_pairs(coarse, need, sg, nd, _BLOCK_SENSORS)
        kh.scatter_faces(bits, faces, frow, ps, pr, nd, first_hits(ps, pr))
        rays += len(ps)
        step = top // 2
        while step >= 1:
            sel_all = idx[lv == step]
            for a in range(0, len(sel_all), CHUNK_SENSORS):
                sel = sel_all[a : a + CHUNK_SENSORS]
                need = np.zeros((len(sel), nd), np.bool_)
                count = kh.infer_level_faces(
                    sel,
                    step,
                    corners,
                    patch,
                    col,
                    row,
                    imax,
                    jmax,
                    base,
                    grid,
                    sg,
                    gfront,
                    bits,
                    faces,
                    frow,
                    bvh.tri,
                    shift,
                    pts,
                    dset,
                    kset,
                    tmin,
                    bool(GUARD if guard is None else guard),
                    adj,
                    LATTICE_TOL,
                    need,
                )
                m = int(count.sum())
                if not m:
                    continue
                nz = np.flatnonzero(count)  # sensors with pairs left to trace
                sel, need = sel[nz], need[nz]
                if step >= 2:  # nodes of the next level: keep their triangles
                    ps, pr = kh.list_pairs(sel, need, sg, nd, _BLOCK_SENSORS)
                    kh.scatter_faces(bits, faces, frow, ps, pr, nd, first_hits(ps, pr))
                else:
                    o, d, ps, pd_ = kh.pair_rays(
                        sel, need, sg, pts, ldirs, _BLOCK_SENSORS
                    )
                    blocked = raycast.occluded(mesh, o, d, engine=pair_engine or engine)
                    kr.scatter_pairs(bits, ps, pd_, blocked)
                rays += m
            step //= 2
        frow[nodes] = -1
        done += int(per_sensor[idx].sum())
        if cb is not None:
            cb(done, total)
    if stats is not None:
        stats["pairs"] = stats.get("pairs", 0) + total
        stats["rays"] = stats.get("rays", 0) + rays
        stats["pair_engine"] = pair_engine or engine
    return bits, rays
