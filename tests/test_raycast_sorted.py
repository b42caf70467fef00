"""Sorted tracing of flat rays (``_kernels.bvh_sorted``): the answers are
those of the single-ray kernels ray for ray, whatever the order, the grouping
or the threads; the radix sort is numpy's stable argsort; and on the real
Paris 11e buildings the sorted path agrees with Embree."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from cimcity import raycast as rc
from cimcity._kernels import bvh_packets, bvh_sorted, bvh_traverse
from cimcity.errors import InputError
from cimcity.mesh import extrude_buildings
from cimcity.raycast import numba_engine
from cimcity.sun.sensors import sample as sample_sensors
from cimcity.testing import X0, Y0


def _city(n=8, seed=11):
    """n x n random boxes on a 30 m grid (Lambert-93), 6-40 m high."""
    rng = np.random.default_rng(seed)
    x, y = np.meshgrid(X0 + 30.0 * np.arange(n), Y0 + 30.0 * np.arange(n))
    w = rng.uniform(8, 24, (2, n * n))
    boxes = shapely.box(x.ravel(), y.ravel(), x.ravel() + w[0], y.ravel() + w[1])
    return extrude_buildings(boxes, 35.0, 35.0 + rng.uniform(6, 40, n * n))


@pytest.fixture(scope="module")
def city():
    return _city()


def _unit(v):
    return v / np.linalg.norm(v, axis=1)[:, None]


def _mixed_rays(mesh, n, seed):
    """Random origins (in and around the city, inside buildings too) and
    directions on the sphere, plus axis-aligned and repeated directions."""
    rng = np.random.default_rng(seed)
    lo, hi = mesh.bounds
    o = rng.uniform(lo - 5, hi + 5, (n, 3))
    d = rng.normal(size=(n, 3))
    d[::17] = [0.0, 0.0, 1.0]
    d[5::17] = [1.0, 0.0, 0.0]
    d[9::23] = [0.0, -1.0, 0.0]
    return o, d


def _reference(mesh, o, d, tmin, tmax):
    """The single-ray kernels in input order (bvh_traverse), on one thread."""
    b = numba_engine.bvh(mesh)
    n = max(len(o), len(d))
    occ = np.empty(n, bool)
    dist = np.empty(n)
    face = np.empty(n, np.int64)
    args = (b.nodes, b.refs, b.tri, b.depth, mesh.origin, o, d, tmin, tmax)
    assert bvh_traverse.occluded_rays(*args, occ, 0, n) == 0
    args = (b.nodes, b.refs, b.tri, b.tri_face, b.depth, mesh.origin, o, d, tmin)
    assert bvh_traverse.intersect_rays(*args, tmax, dist, face, 0, n) == 0
    return occ, dist, face


def test_radix_sort_is_a_stable_argsort():
    # reference: numpy's stable argsort, on keys with many repeats and on the
    # full 43-bit range the kernels use
    rng = np.random.default_rng(0)
    for bits, hi in [(33, 50), (43, 2**43), (11, 2**11), (4, 9)]:
        key = rng.integers(0, hi, 5000).astype(np.int64)
        ref = np.argsort(key, kind="stable")
        got_key = key.copy()
        order = np.empty_like(key)
        tmp = (np.empty_like(key), np.empty_like(key), np.empty(2049, np.int64))
        bvh_sorted.radix_sort(got_key, bits, order, *tmp)
        np.testing.assert_array_equal(order, ref)
        np.testing.assert_array_equal(got_key, key[ref])


def test_morton_codes_follow_the_z_order():
    # reference: the bit interleaving written out in Python (Morton 1966)
    grid = np.array([0.0, 0.0, 0.0, 1.0])
    rng = np.random.default_rng(1)
    for x, y, z in rng.integers(0, 1024, (200, 3)):
        ref = 0
        for bit in range(10):
            ref |= ((int(x) >> bit) & 1) << (3 * bit)
            ref |= ((int(y) >> bit) & 1) << (3 * bit + 1)
            ref |= ((int(z) >> bit) & 1) << (3 * bit + 2)
        assert bvh_sorted.morton(x + 0.5, y + 0.5, z + 0.5, grid) == ref
    # outside the grid (and NaN): clamped, never out of the key's bits
    assert bvh_sorted.morton(-5.0, np.nan, 1e9, grid) == bvh_sorted.morton(
        0.0, 0.0, 1023.0, grid
    )


def test_coherence_test_tells_sky_rays_from_random_rays():
    rng = np.random.default_rng(2)
    sky = _unit(rng.normal(size=(145, 3)))
    flat = np.tile(sky, (400, 1))  # sensors x patches, sensor-major
    assert bvh_sorted.repeated_directions(flat, 0, len(flat)) > 0.95
    rand = _unit(rng.normal(size=(50_000, 3)))
    assert bvh_sorted.repeated_directions(rand, 0, len(rand)) == 0.0
    assert bvh_sorted.repeated_directions(sky[:1], 0, 10) == 1.0


@pytest.mark.parametrize("seed", [0, 1])
def test_sorted_path_equals_single_rays_bit_for_bit(city, seed):
    # 20,000 incoherent rays with per-ray tmax: the public queries (8-wide
    # BVH, tasks on threads) against the single-ray kernels in input
    # order; distances and faces must be identical, not just close
    o, d = _mixed_rays(city, 20_000, seed)
    rng = np.random.default_rng(seed + 10)
    tmax = rng.uniform(1.0, 300.0, len(o))
    tmax[::3] = np.inf
    tmin = rc.DEFAULT_TMIN
    occ, dist, face = _reference(city, o, d, tmin, tmax)
    got = rc.occluded(city, o, d, engine="numba", tmax=tmax)
    np.testing.assert_array_equal(got, occ)
    t, f = rc.intersect(city, o, d, engine="numba", tmax=tmax)
    np.testing.assert_array_equal(t, dist)
    np.testing.assert_array_equal(f, face)
    assert 0.2 < occ.mean() < 0.9  # both answers well represented


def test_sorted_path_on_sky_rays_and_broadcast_rows(city):
    # coherent input (sensors x sky directions, which once took packets) and
    # one origin or one direction broadcast against many rows
    sensors = sample_sensors(city, spacing=2.0)
    p = sensors.points[:700]
    rng = np.random.default_rng(3)
    dirs = _unit(rng.normal(size=(40, 3)) + [0, 0, 1.0])
    o = np.repeat(p, len(dirs), axis=0)
    d = np.tile(dirs, (len(p), 1))
    tmax = np.array([np.inf])
    occ, _, _ = _reference(city, o, d, rc.DEFAULT_TMIN, tmax)
    np.testing.assert_array_equal(rc.occluded(city, o, d, engine="numba"), occ)
    for oo, dd in [(p[:1], _unit(rng.normal(size=(3000, 3)))), (p, dirs[:1])]:
        occ, dist, face = _reference(city, oo, dd, rc.DEFAULT_TMIN, tmax)
        np.testing.assert_array_equal(rc.occluded(city, oo, dd, engine="numba"), occ)
        t, f = rc.intersect(city, oo, dd, engine="numba")
        np.testing.assert_array_equal(t, dist)
        np.testing.assert_array_equal(f, face)


def test_sorted_kernel_ranges_cover_every_ray_once(city):
    # ranges traced by separate calls (as the thread tasks do) give the same
    # answers as one call over all rays; window-aligned starts
    o, d = _mixed_rays(city, 3 * bvh_packets.WINDOW + 77, 4)
    d = _unit(d)
    b = numba_engine.bvh(city)
    grid = bvh_sorted.morton_grid(b.nodes)
    tmax = np.array([np.inf])
    whole = np.empty(len(o), bool)
    parts = np.empty(len(o), bool)
    args = (b.nodes, b.refs, b.tri, b.depth, city.origin, grid, o, d, 1e-3, tmax)
    bvh_sorted.occluded_sorted(*args, whole, 0, len(o))
    cuts = [0, bvh_packets.WINDOW, 3 * bvh_packets.WINDOW, len(o)]
    for a, z in zip(cuts[:-1], cuts[1:], strict=True):
        bvh_sorted.occluded_sorted(*args, parts, a, z)
    np.testing.assert_array_equal(parts, whole)


def test_invalid_ray_among_many_still_raises(city):
    o, d = _mixed_rays(city, 5000, 5)
    d[1234] = 0.0
    with pytest.raises(InputError, match="non-zero"):
        rc.intersect(city, o, d, engine="numba")
    with pytest.raises(InputError, match="non-zero"):
        rc.occluded(city, o, d, engine="numba")
    d[1234] = 1.0
    o[4321, 2] = np.nan
    with pytest.raises(InputError):
        rc.intersect(city, o, d, engine="numba")
