"""Ray engine: analytic box, numba vs Embree ray by ray, trimesh as a peer,
the visibility matrix, precision at Lambert-93 magnitudes, and input errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cimcity as cc
from cimcity import raycast as rc
from cimcity._compat import has_module
from cimcity._kernels import bvh_traverse
from cimcity.errors import EngineError, InputError, MissingDependencyError
from cimcity.mesh import CityMesh, extrude_buildings
from cimcity.raycast import numba_engine
from cimcity.raycast.tasks import split as split_tasks
from cimcity.sun.sensors import sample as sample_sensors
from cimcity.testing import CATALOGUE, X0, Y0, lone_box

HAS_EMBREE = has_module("embreex.rtcore_scene")
ENGINES = [
    "numba",
    pytest.param(
        "embree",
        marks=pytest.mark.skipif(
            not HAS_EMBREE, reason="embreex (extra 'accel') not installed"
        ),
    ),
]
needs_embree = pytest.mark.skipif(not HAS_EMBREE, reason="embreex not installed")

#: rays passing closer than this to a mesh edge (or hitting within it of
#: tmin/tmax) may legitimately differ between engines: Embree works in float32,
#: whose spacing is 3e-5 m at 400 m from the mesh origin (the largest local
#: coordinate in these scenes); 1 mm leaves a 30x margin [m]
GRAZE_TOL = 1e-3
#: distance agreement between engines / with analytic values: float32
#: rounding of Embree at <= 400 m local coordinates, with margin [m]
DIST_TOL_EMBREE = 1e-3
#: numba works in float64: agreement with analytic distances [m]
DIST_TOL_NUMBA = 1e-8


# -- helpers -------------------------------------------------------------------------
def _directions(n, rng, upper=False):
    d = rng.normal(size=(n, 3))
    if upper:
        d[:, 2] = np.abs(d[:, 2]) + 0.02
    return d / np.linalg.norm(d, axis=1)[:, None]


def _edges(mesh):
    """(e, 2, 3) world coordinates of the mesh's unique edges."""
    f = mesh.faces
    e = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    e = np.unique(e, axis=0)
    return mesh.world_vertices[e]


def _segment_distance(p0, p1, q0, q1):
    """Distance between segments p0p1 (n, 3) and q0q1 (e, 3) -> (n, e)
    (Ericson, Real-Time Collision Detection, 5.1.9)."""
    d1 = (p1 - p0)[:, None, :]
    d2 = (q1 - q0)[None, :, :]
    r = p0[:, None, :] - q0[None, :, :]
    a = np.sum(d1 * d1, -1)
    e = np.sum(d2 * d2, -1)
    f = np.sum(d2 * r, -1)
    c = np.sum(d1 * r, -1)
    b = np.sum(d1 * d2, -1)
    denom = a * e - b * b
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(denom > 1e-12 * a * e, np.clip((b * f - c * e) / denom, 0, 1), 0.0)
        t = (b * s + f) / e
        t_c = np.clip(t, 0, 1)
        s = np.where(t != t_c, np.clip((b * t_c - c) / a, 0, 1), s)
    p = p0[:, None, :] + d1 * s[..., None]
    q = q0[None, :, :] + d2 * t_c[..., None]
    return np.linalg.norm(p - q, axis=-1)


def _grazing(mesh, origins, dirs, tmin=rc.DEFAULT_TMIN, tmax=np.inf, tol=GRAZE_TOL):
    """Rays that pass within ``tol`` of a mesh edge or whose nearest hit lies
    within ``tol`` of ``tmin``/``tmax``: the only rays engines may disagree on."""
    if len(origins) == 0:
        return np.zeros(0, bool)
    dirs = dirs / np.linalg.norm(dirs, axis=1)[:, None]
    span = np.linalg.norm(np.ptp(mesh.world_vertices, axis=0)) * 4 + 1.0
    length = np.minimum(tmax, span)
    edges = _edges(mesh)
    dist = _segment_distance(origins, origins + dirs * length, edges[:, 0], edges[:, 1])
    near_edge = dist.min(axis=1) < tol
    t, _ = rc.intersect(mesh, origins, dirs, engine="numba", tmin=0.0)
    with np.errstate(invalid="ignore"):  # inf - inf for misses with tmax = inf
        near_limit = (np.abs(t - tmin) < tol) | (np.abs(t - tmax) < tol)
    return near_edge | near_limit


def _random_city(n=6, seed=3):
    """n x n blocks of random boxes, L-shapes and courtyards (Lambert-93)."""
    rng = np.random.default_rng(seed)
    geoms, heights = [], []
    for i in range(n):
        for j in range(n):
            x, y = X0 + 30.0 * i, Y0 + 30.0 * j
            w, d = rng.uniform(8, 24, 2)
            g = shapely.box(x, y, x + w, y + d)
            kind = rng.integers(3)
            if kind == 1:
                g = g.difference(
                    shapely.box(x + w / 2, y + d / 2, x + w + 1, y + d + 1)
                )
            elif kind == 2 and min(w, d) > 12:
                g = g.difference(shapely.box(x + 4, y + 4, x + w - 4, y + d - 4))
            geoms.append(g)
            heights.append(rng.uniform(6, 40))
    return extrude_buildings(np.array(geoms), 35.0, 35.0 + np.array(heights))


@pytest.fixture(scope="module")
def city():
    return _random_city()


def _slab(lo, hi, o, d):
    """Analytic ray/axis-aligned box entry distance and entry axis (inf, -1 if missed)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t0 = (lo - o) / d
        t1 = (hi - o) / d
    near = np.minimum(t0, t1)
    far = np.maximum(t0, t1)
    t_in = near.max(axis=1)
    t_out = far.min(axis=1)
    hit = (t_in <= t_out) & (t_in > 0)
    return np.where(hit, t_in, np.inf), np.where(hit, near.argmax(axis=1), -1)


# -- analytic references -------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_closest_hit_matches_analytic_box(engine):
    # reference: slab-method intersection of the lone 20 x 10 x 20 m box in
    # float64; distances within DIST_TOL_*, hit faces have the entry slab's normal
    mesh = lone_box().mesh()
    lo = np.array([X0, Y0, 35.0])
    hi = np.array([X0 + 20, Y0 + 10, 55.0])
    rng = np.random.default_rng(0)
    o = rng.uniform(lo - 30, hi + 30, size=(4000, 3))
    o = o[~np.all((o > lo - 0.01) & (o < hi + 0.01), axis=1)]  # outside the box
    target = rng.uniform(lo - 3, hi + 3, size=(len(o), 3))
    d = target - o
    d /= np.linalg.norm(d, axis=1)[:, None]
    t_ref, axis = _slab(lo, hi, o, d)
    keep = ~_grazing(mesh, o, d)
    dist, face = rc.intersect(mesh, o, d, engine=engine)
    hit = np.isfinite(t_ref)
    assert 0.3 < hit.mean() < 0.9  # the sample exercises both hits and misses
    np.testing.assert_array_equal(np.isfinite(dist)[keep], hit[keep])
    tol = DIST_TOL_NUMBA if engine == "numba" else DIST_TOL_EMBREE
    sel = keep & hit
    np.testing.assert_allclose(dist[sel], t_ref[sel], rtol=0, atol=tol)
    normal = mesh.face_normals[face[sel]]
    expected = np.zeros((sel.sum(), 3))
    rows = np.arange(sel.sum())
    expected[rows, axis[sel]] = -np.sign(d[sel, axis[sel]])
    np.testing.assert_allclose(normal, expected, atol=1e-12)
    assert np.all(face[~hit & keep] == -1)
    np.testing.assert_array_equal(
        rc.occluded(mesh, o, d, engine=engine)[keep], hit[keep]
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_axis_rays_and_segments(engine):
    # reference: hand geometry of the lone box (west wall at x = X0, roof at 55 m)
    mesh = lone_box().mesh()
    o = np.array(
        [[X0 - 5, Y0 + 5, 45.0], [X0 - 5, Y0 + 5, 60.0], [X0 + 10, Y0 + 5, 80.0]]
    )
    d = np.array([[1.0, 0, 0], [1.0, 0, 0], [0, 0, -2.0]])  # any length
    dist, face = rc.intersect(mesh, o, d, engine=engine)
    np.testing.assert_allclose(dist, [5.0, np.inf, 25.0], atol=1e-5)  # float32 Embree
    assert face[1] == -1
    assert cc.mesh.KINDS[mesh.face_kind[face[0]]] == "wall"
    assert cc.mesh.KINDS[mesh.face_kind[face[2]]] == "roof"
    # point-to-point visibility: segment ends before / after the wall
    seg = rc.occluded(mesh, o[0], d[0], engine=engine, tmax=np.array([4.9]))
    assert not seg[0]
    assert rc.occluded(mesh, o[0], d[0], engine=engine, tmax=5.1)[0]
    # per-ray tmax
    blocked = rc.occluded(mesh, o[[0, 0]], d[[0, 0]], engine=engine, tmax=[4.9, 5.1])
    np.testing.assert_array_equal(blocked, [False, True])
    # one origin broadcast against many directions, and the other way round
    np.testing.assert_array_equal(
        rc.occluded(mesh, o[0], d, engine=engine),
        rc.occluded(mesh, np.repeat(o[:1], 3, axis=0), d, engine=engine),
    )
    t_one, _ = rc.intersect(mesh, o, d[0], engine=engine)
    t_rep, _ = rc.intersect(mesh, o, np.repeat(d[:1], 3, axis=0), engine=engine)
    np.testing.assert_array_equal(t_one, t_rep)
    # tmin beyond the hit skips it: the ray goes on to the far (east) wall at 25 m
    dist, _ = rc.intersect(mesh, o[0], d[0], engine=engine, tmin=6.0)
    np.testing.assert_allclose(dist, [25.0], atol=1e-5)


@pytest.mark.parametrize("engine", ENGINES)
def test_origins_on_surface_do_not_hit_their_own_face(engine):
    # DEFAULT_TMIN (1 mm) lets rays leave a surface they start on for
    # directions >= 1 degree off the surface plane (module docstring)
    mesh = lone_box().mesh()
    roof = mesh.kind_mask("roof")
    c = mesh.face_centroids[roof]
    rng = np.random.default_rng(1)
    el = np.radians(rng.uniform(1, 90, len(c) * 50))
    az = rng.uniform(0, 2 * np.pi, len(el))
    d = np.column_stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)])
    o = np.repeat(c, 50, axis=0)
    assert not rc.occluded(mesh, o, d, engine=engine).any()
    walls = mesh.kind_mask("wall")
    c = mesh.face_centroids[walls]
    n = mesh.face_normals[walls]
    # leave each wall at 45 degrees: only the own face is near, nothing blocks
    d = n + np.array([0, 0, 1.0])
    assert not rc.occluded(mesh, c, d, engine=engine).any()


@pytest.mark.parametrize("engine", ENGINES)
def test_local_frame_keeps_centimetres_at_lambert93(engine):
    # reference: two boxes 1 cm apart at x ~ 6.5e5 m (float32 world coordinates
    # would round to 6 cm); a ray through the gap passes, one 5 mm off is blocked
    x = X0 + 10.0
    mesh = extrude_buildings(
        [shapely.box(X0, Y0, x, Y0 + 10), shapely.box(x + 0.01, Y0, x + 10, Y0 + 10)],
        35.0,
        55.0,
    )
    o = np.array(
        [[x + 0.005, Y0 - 5, 45.0], [x - 0.005, Y0 - 5, 45.0], [x + 0.015, Y0 - 5, 45]]
    )
    blocked = rc.occluded(mesh, o, [0.0, 1.0, 0.0], engine=engine)
    np.testing.assert_array_equal(blocked, [False, True, True])


# -- engines agree ---------------------------------------------------------------------
@needs_embree
@pytest.mark.parametrize("name", ["lone_box", "street_canyon", "courtyard"])
def test_engines_agree_on_canonical_scenes(name):
    # reference: Embree 4 (robust scene); numba and Embree must give the same
    # answer for every sensor x sky direction except rays grazing edges
    # (GRAZE_TOL), and matching closest-hit distances (DIST_TOL_EMBREE)
    mesh = CATALOGUE[name]().mesh()
    sensors = sample_sensors(mesh, spacing=3.0, kinds=("roof", "wall"))
    rng = np.random.default_rng(2)
    dirs = _directions(61, rng, upper=True)
    kw = dict(normals=sensors.normals, packed=False)
    a = rc.occluded_matrix(mesh, sensors.points, dirs, engine="numba", **kw)
    b = rc.occluded_matrix(mesh, sensors.points, dirs, engine="embree", **kw)
    assert 0.05 < a.mean() < 0.95
    ii, jj = np.nonzero(a != b)
    assert len(ii) <= 1e-3 * a.size
    assert _grazing(mesh, sensors.points[ii], dirs[jj]).all()
    # closest hits along the same rays (sensor-major flattening)
    o = np.repeat(sensors.points, len(dirs), axis=0)
    d = np.tile(dirs, (len(sensors), 1))
    t_n, f_n = rc.intersect(mesh, o, d, engine="numba")
    t_e, f_e = rc.intersect(mesh, o, d, engine="embree")
    _assert_same_hits(mesh, o, d, t_n, f_n, t_e, f_e)


def _assert_same_hits(mesh, o, d, t_n, f_n, t_e, f_e):
    both = np.isfinite(t_n) & np.isfinite(t_e)
    differ = np.isfinite(t_n) != np.isfinite(t_e)
    assert _grazing(mesh, o[differ], d[differ]).all()
    np.testing.assert_allclose(t_n[both], t_e[both], rtol=0, atol=DIST_TOL_EMBREE)
    # a different face at the same distance only on a shared edge
    other = both & (f_n != f_e)
    assert _grazing(mesh, o[other], d[other]).all()


@needs_embree
def test_engines_agree_on_random_rays(city):
    # random origins in the city's bounds (inside buildings too) and random
    # directions on the sphere; reference Embree, exemptions as above
    rng = np.random.default_rng(4)
    lo, hi = city.bounds
    o = rng.uniform(lo - 5, hi + 5, size=(20_000, 3))
    d = _directions(len(o), rng)
    occ_n = rc.occluded(city, o, d, engine="numba")
    occ_e = rc.occluded(city, o, d, engine="embree")
    differ = occ_n != occ_e
    assert differ.sum() <= 20
    assert _grazing(city, o[differ], d[differ]).all()
    t_n, f_n = rc.intersect(city, o, d, engine="numba")
    t_e, f_e = rc.intersect(city, o, d, engine="embree")
    np.testing.assert_array_equal(np.isfinite(t_n), occ_n)
    _assert_same_hits(city, o, d, t_n, f_n, t_e, f_e)


def test_numba_matches_trimesh_ray_engine(city):
    # independent peer: trimesh's pure-numpy ray engine (plane intersection +
    # barycentric test) on 800 rays; same exemptions for grazing rays
    from trimesh.ray.ray_triangle import RayMeshIntersector

    rng = np.random.default_rng(5)
    lo, hi = city.bounds
    o = rng.uniform(lo, hi, size=(800, 3))
    o[:, 2] = rng.uniform(36, 60, len(o))
    d = _directions(len(o), rng)
    tm = city.to_trimesh(world=False)
    loc, ray_idx, tri_idx = RayMeshIntersector(tm).intersects_location(
        o - city.origin, d, multiple_hits=False
    )
    t_ref = np.full(len(o), np.inf)
    f_ref = np.full(len(o), -1)
    t_ref[ray_idx] = np.linalg.norm(loc - (o - city.origin)[ray_idx], axis=1)
    f_ref[ray_idx] = tri_idx
    t, f = rc.intersect(city, o, d, engine="numba")
    assert 0.2 < np.isfinite(t_ref).mean() < 0.95
    ok = ~_grazing(city, o, d)
    np.testing.assert_array_equal(np.isfinite(t)[ok], np.isfinite(t_ref)[ok])
    both = ok & np.isfinite(t) & np.isfinite(t_ref)
    np.testing.assert_allclose(t[both], t_ref[both], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(f[both], f_ref[both])


# -- visibility matrix -------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_occluded_matrix_is_occluded_on_every_pair(engine, city):
    # reference: the flat occluded() query on the (n * d) expanded rays, and the
    # documented layout np.packbits(..., axis=1, bitorder="little")
    sensors = sample_sensors(city, spacing=4.0)
    p, nrm = sensors.points[::7], sensors.normals[::7]
    rng = np.random.default_rng(6)
    dirs = _directions(21, rng, upper=True)  # 21: padding bits in the last byte
    calls = []
    bits = rc.occluded_matrix(
        city,
        p,
        dirs,
        normals=nrm,
        engine=engine,
        chunk_rays=1000,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert bits.shape == (len(p), 3) and bits.dtype == np.uint8
    o = np.repeat(p, len(dirs), axis=0)
    d = np.tile(dirs, (len(p), 1))
    flat = rc.occluded(city, o, d, engine=engine).reshape(len(p), len(dirs))
    facing = nrm @ dirs.T > 0
    expected = flat | ~facing
    np.testing.assert_array_equal(
        bits, np.packbits(expected, axis=1, bitorder="little")
    )
    np.testing.assert_array_equal(rc.unpack_matrix(bits, len(dirs)), expected)
    assert np.all(bits[:, -1] >> 5 == 0)  # padding bits are zero
    assert len(calls) > 1 and calls[-1] == (len(p), len(p))
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    # without normals: exactly the flat query; unpacked output on request
    plain = rc.occluded_matrix(city, p, dirs, engine=engine, packed=False)
    np.testing.assert_array_equal(plain, flat)


def test_matrix_packets_match_single_rays(city):
    # the numba matrix traces runs of 8 nearby sensors as one packet (SIMD);
    # reference: the same pairs traced one by one by occluded(); dense sensors
    # so packets are used, directions with zero components included
    from cimcity._kernels.bvh_packets import PACKET, PACKET_SPAN

    sensors = sample_sensors(city, spacing=1.0)
    p, nrm = sensors.points[:1500], sensors.normals[:1500]
    runs = p[: len(p) // PACKET * PACKET].reshape(-1, PACKET, 3)
    assert np.mean(np.ptp(runs, axis=1).max(axis=1) <= PACKET_SPAN) > 0.8
    rng = np.random.default_rng(7)
    dirs = np.concatenate(
        [_directions(40, rng, upper=True), [[0, 0, 1.0], [1, 0, 1.0], [0, -1, 1.0]]]
    )
    dirs /= np.linalg.norm(dirs, axis=1)[:, None]
    got = rc.occluded_matrix(city, p, dirs, normals=nrm, engine="numba", packed=False)
    o = np.repeat(p, len(dirs), axis=0)
    d = np.tile(dirs, (len(p), 1))
    flat = rc.occluded(city, o, d, engine="numba").reshape(len(p), len(dirs))
    np.testing.assert_array_equal(got, flat | (nrm @ dirs.T <= 0))
    assert 0.1 < got.mean() < 0.9


def test_flat_rays_match_single_rays(city):
    # occluded() (numba) traces rays one by one on the 8-wide float32 BVH in
    # tasks on a pool of threads (calls of fewer than 256 rays in one call);
    # reference: the exact float64 single-ray traversal of the binary BVH
    # (bvh_traverse.occluded_rays) on one thread. Mixed on purpose: sensors x
    # shared directions (the rays packets once took), jittered copies, random
    # rays, per-ray tmax, axis-aligned directions.
    sensors = sample_sensors(city, spacing=1.0)
    p = sensors.points[:400]
    rng = np.random.default_rng(8)
    dirs = np.concatenate(
        [_directions(12, rng, upper=True), [[0, 0, 1.0], [1.0, 0, 0], [0, -1.0, 0]]]
    )
    o = np.repeat(p, len(dirs), axis=0)
    d = np.tile(dirs, (len(p), 1))
    jitter = d + rng.normal(0, 0.01, d.shape)
    lo, hi = city.bounds
    o = np.concatenate([o, o, rng.uniform(lo, hi, (2000, 3))])
    d = np.concatenate([d, jitter, _directions(2000, rng)])
    tmax = rng.uniform(1.0, 200.0, len(o))
    tmax[::3] = np.inf
    got = rc.occluded(city, o, d, engine="numba", tmax=tmax)
    b = numba_engine.bvh(city)
    ref = np.empty(len(o), bool)
    args = (b.nodes, b.refs, b.tri, b.depth, city.origin, o, d, rc.DEFAULT_TMIN, tmax)
    assert bvh_traverse.occluded_rays(*args, ref, 0, len(o)) == 0
    np.testing.assert_array_equal(got, ref)
    step = numba_engine._ONE_CALL_RAYS - 1  # calls on the calling thread
    small = np.concatenate(
        [
            rc.occluded(city, o[i : i + step], d[i : i + step], engine="numba",
                        tmax=tmax[i : i + step])
            for i in range(0, len(o), step)
        ]
    )  # fmt: skip
    np.testing.assert_array_equal(small, ref)
    assert 0.1 < got.mean() < 0.9
    # an invalid ray among many still raises the detailed error
    d[300] = 0.0
    with pytest.raises(InputError, match="non-zero"):
        rc.occluded(city, o, d, engine="numba")


def test_tasks_cover_every_item_once():
    # work is split into slices the pool's threads pull one by one; reference:
    # the slices tile range(n) in order, on multiples of align, and give every
    # worker something when n allows
    for n, unit, workers, align in [
        (1, 10, 2, 1),
        (10, 32768, 2, 1),
        (307, 4, 2, 1),
        (30_000, 225, 2, 64),
        (5, 225, 4, 64),
        (2_500_000, 32768, 3, 1),
    ]:
        tasks = split_tasks(n, unit, workers, align)
        bounds = [t.start for t in tasks] + [tasks[-1].stop]
        assert bounds[0] == 0 and bounds[-1] == n
        assert all(a < b for a, b in zip(bounds[:-1], bounds[1:], strict=True))
        assert all(b % align == 0 for b in bounds[1:-1])
        assert len(tasks) >= min(workers, -(-n // align))
        assert max(t.stop - t.start for t in tasks) <= max(unit, align) + align


def test_tasks_end_together_on_equal_threads():
    # list scheduling (Graham 1969): threads of equal speed pulling slices in
    # order finish within the size of the last slices of the mean n / workers.
    # The slices shrink toward the end (guided schedule), so the idle tail is
    # at most unit / 8 (rounded up to align), not a whole slice of unit items
    import heapq

    for n, unit, workers, align in [
        (1_000_000, 65536, 2, 8192),
        (1_000_000, 65536, 2, 1),
        (2_500_000, 32768, 3, 1),
        (737_280, 2048, 2, 64),
    ]:
        tasks = split_tasks(n, unit, workers, align)
        free = [0] * workers
        for t in tasks:
            heapq.heappush(free, heapq.heappop(free) + (t.stop - t.start))
        tail = -(-(unit // 8) // align) * align
        assert max(free) - n / workers <= tail, (n, unit, workers, align)


def test_numba_answers_do_not_depend_on_threads(city):
    # reference: the same queries traced by one thread
    import numba

    sensors = sample_sensors(city, spacing=2.0)
    p, nrm = sensors.points[:600], sensors.normals[:600]
    rng = np.random.default_rng(9)
    dirs = _directions(30, rng, upper=True)
    o = np.repeat(p, len(dirs), axis=0)
    d = np.tile(dirs, (len(p), 1))

    def run():
        return (
            rc.occluded_matrix(city, p, dirs, normals=nrm, engine="numba"),
            rc.occluded(city, o, d, engine="numba"),
            rc.intersect(city, o[::7], d[::7], engine="numba"),
        )

    many = run()
    old = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        one = run()
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(many[0], one[0])
    np.testing.assert_array_equal(many[1], one[1])
    np.testing.assert_array_equal(many[2][0], one[2][0])
    np.testing.assert_array_equal(many[2][1], one[2][1])


def test_empty_mesh():
    mesh = CATALOGUE["empty"]().mesh()
    o = np.array([[X0, Y0, 40.0]] * 3)
    d = np.array([[0, 0, 1.0], [1.0, 0, 0], [0, 0, -1.0]])
    for engine in ["numba", "auto"]:
        assert not rc.occluded(mesh, o, d, engine=engine).any()
        t, f = rc.intersect(mesh, o, d, engine=engine)
        assert np.all(np.isinf(t)) and np.all(f == -1)
    # with normals the own-surface rule still applies: (0,0,1) faces up only
    bits = rc.occluded_matrix(mesh, o, d, normals=np.tile([0, 0, 1.0], (3, 1)))
    np.testing.assert_array_equal(rc.unpack_matrix(bits, 3), [[False, True, True]] * 3)


def test_acceleration_structure_is_cached_and_cleared():
    mesh = lone_box().mesh()
    o = np.array([X0 - 5, Y0 + 5, 45.0])
    assert rc.prepare(mesh, "numba") == "numba"
    bvh = mesh.cache.peek("raycast.bvh", mesh.token)
    assert bvh is not None
    assert rc.occluded(mesh, o, [1.0, 0, 0], engine="numba")[0]
    assert mesh.cache.peek("raycast.bvh", mesh.token) is bvh  # built once
    mesh.clear_cache()
    assert "raycast.bvh" not in mesh.cache
    assert rc.occluded(mesh, o, [1.0, 0, 0], engine="numba")[0]


def test_editing_the_mesh_rebuilds_the_acceleration_structure():
    # the floor-plan issue: a BVH judged fresh by face/vertex counts stayed stale
    # after vertices moved; now arrays are read-only and reassignment re-keys it
    mesh = lone_box().mesh()
    o = np.array([X0 - 5, Y0 + 5, 45.0])
    for engine in ["numba"] + (["embree"] if HAS_EMBREE else []):
        assert rc.occluded(mesh, o, [1.0, 0, 0], engine=engine)[0]
    with pytest.raises(ValueError):
        mesh.vertices[:, 2] += 1000.0  # in place: refused, never silently stale
    mesh.vertices = mesh.vertices + np.array([0.0, 0.0, 1000.0])  # box lifted 1 km
    for engine in ["numba"] + (["embree"] if HAS_EMBREE else []):
        assert not rc.occluded(mesh, o, [1.0, 0, 0], engine=engine)[0]


# -- properties ---------------------------------------------------------------------------
_LONE_BOX = lone_box().mesh()
_angles = st.tuples(
    st.floats(0, 360, allow_nan=False), st.floats(-89, 89, allow_nan=False)
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.tuples(st.floats(-40, 60), st.floats(-40, 50), st.floats(36, 80)),
    angles=st.lists(_angles, min_size=1, max_size=8),
    shift=st.tuples(st.floats(-1e4, 1e4), st.floats(-1e4, 1e4), st.floats(-50, 50)),
)
def test_properties_hold_for_any_ray(start, angles, shift):
    # invariants of the numba engine on the lone box: occluded == finite closest
    # hit; a segment ending just before the hit is free, just after is blocked;
    # moving the mesh's local origin does not change any answer (float64 frame)
    mesh = _LONE_BOX
    az, el = np.radians(np.array(angles)).T
    d = np.column_stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)])
    o = np.tile(np.array(start) + [X0, Y0, 0.0], (len(d), 1))
    t, f = rc.intersect(mesh, o, d, engine="numba")
    occ = rc.occluded(mesh, o, d, engine="numba")
    np.testing.assert_array_equal(occ, np.isfinite(t))
    hit = np.isfinite(t) & (t > 2e-3)
    if hit.any():
        before = rc.occluded(mesh, o[hit], d[hit], engine="numba", tmax=t[hit] - 1e-6)
        after = rc.occluded(mesh, o[hit], d[hit], engine="numba", tmax=t[hit] + 1e-6)
        assert not before.any() and after.all()
    moved = CityMesh(
        mesh.vertices - np.array(shift),
        mesh.faces,
        mesh.origin + np.array(shift),
        mesh.face_building,
        mesh.face_kind,
        mesh.building_ids,
    )
    t2, f2 = rc.intersect(moved, o, d, engine="numba")
    sharp = ~_grazing(mesh, o, d, tol=1e-6)  # rays through edges may flip
    # each frame rounds the local origin (world - mesh.origin, world ~ 7e6 m)
    # to float64: <= 2 ulp(7e6) = 1.9e-9 m, which moves the hit along the ray
    # by that over |cos| of the angle to the face normal (grazing rays more)
    fn = mesh.face_normals[np.where(f >= 0, f, 0)]
    cos = np.abs(np.einsum("ij,ij->i", fn, d / np.linalg.norm(d, axis=1)[:, None]))
    tol = 2 * np.spacing(np.abs(o).max()) / np.maximum(cos, 1e-6) + 1e-10
    hit_sharp = sharp & np.isfinite(t)
    assert np.all(np.abs(t2[hit_sharp] - t[hit_sharp]) <= tol[hit_sharp])
    np.testing.assert_array_equal(np.isfinite(t2)[sharp], np.isfinite(t)[sharp])
    np.testing.assert_array_equal(f2[sharp], f[sharp])


# -- engines and bad input -------------------------------------------------------------
def test_engine_choice(monkeypatch):
    with pytest.raises(EngineError, match="'auto', 'numba', 'embree'"):
        rc.resolve_engine("embre")
    with pytest.raises(EngineError):
        rc.occluded(lone_box().mesh(), [0, 0, 0], [0, 0, 1], engine=None)
    assert rc.resolve_engine("numba") == "numba"
    assert rc.resolve_engine("numba", "matrix") == "numba"
    # auto: numba for every query (exact float64 answers; as fast as Embree
    # or faster on sky, sun and view rays: benchmarks/bench_raycast.py)
    for query in rc.QUERIES:
        assert rc.resolve_engine("auto", query) == "numba"
    assert rc.resolve_engine("auto") == "numba"
    with pytest.raises(InputError, match="'occluded', 'intersect', 'matrix'"):
        rc.resolve_engine("auto", "closest")
    mesh = lone_box().mesh()
    mesh.clear_cache()
    rc.occluded_matrix(mesh, [[X0 - 5, Y0 + 5, 45.0]], [[1.0, 0, 0]])
    assert "raycast.bvh" in mesh.cache and "raycast.embree" not in mesh.cache
    # embreex missing: "embree" names the extra, "auto" falls back to numba
    monkeypatch.setitem(sys.modules, "embreex", None)
    monkeypatch.setitem(sys.modules, "embreex.rtcore_scene", None)
    monkeypatch.setattr(rc.engines, "_HAS_EMBREE", None)
    with pytest.raises(MissingDependencyError, match=r"cimcity\[accel\]"):
        rc.resolve_engine("embree")
    for query in rc.QUERIES:
        assert rc.resolve_engine("auto", query) == "numba"
    assert rc.available_engines() == ("numba",)


@pytest.mark.parametrize("engine", ENGINES)
def test_bad_input_raises_input_error(engine):
    mesh = lone_box().mesh()
    o = np.array([[X0, Y0, 40.0], [X0, Y0, 41.0]])
    d = np.array([[0, 0, 1.0], [0, 1.0, 0]])
    cases = [
        (dict(origins=o[:, :2]), "shape"),
        (dict(directions=np.ones((3, 3))), "same number of rows"),
        (dict(origins=np.where([[True], [False]], np.nan, o)), "finite"),
        (dict(directions=np.array([[0, 0, 0], [0, 0, 1.0]])), "non-zero"),
        (dict(origins="abc"), "numbers"),
        (dict(tmax=-1.0), "greater than tmin"),
        (dict(tmax=[1.0, 2.0, 3.0]), "shape"),
        (dict(tmin=np.nan), "tmin"),
    ]
    for fn in (rc.occluded, rc.intersect):
        for change, msg in cases:
            kw = dict(origins=o, directions=d, engine=engine) | change
            with pytest.raises(InputError, match=msg):
                fn(mesh, **kw)
    with pytest.raises(InputError, match="CityMesh"):
        rc.occluded(mesh.to_trimesh(), o, d, engine=engine)
    with pytest.raises(InputError, match="normals"):
        rc.occluded_matrix(mesh, o, d, normals=d[:1], engine=engine)
    with pytest.raises(InputError, match="chunk_rays"):
        rc.occluded_matrix(mesh, o, d, chunk_rays=0, engine=engine)
    with pytest.raises(InputError, match="shape"):
        rc.occluded_matrix(mesh, o[0], d, engine=engine)
    with pytest.raises(InputError, match="uint8"):
        rc.unpack_matrix(np.zeros((2, 1), bool), 3)
    broken = CityMesh(
        np.where(np.arange(len(mesh.vertices))[:, None] == 0, np.nan, mesh.vertices),
        mesh.faces,
        mesh.origin,
        mesh.face_building,
        mesh.face_kind,
        mesh.building_ids,
    )
    with pytest.raises(cc.errors.GeometryError, match="finite"):
        rc.occluded(broken, o, d, engine=engine)
