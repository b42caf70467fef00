"""8-wide BVH (``_kernels.bvh_wide``, ``_kernels.simd``): the collapsed tree
holds every binary leaf once with the binary nodes' own boxes; the SIMD slab
test equals the scalar one lane for lane; any-hit answers equal the binary
single-ray traversal ray for ray, closest-hit distances too (faces too, except
exact ties, checked to be hit at that distance by an independent numpy
Möller–Trumbore test); both agree with a numpy brute force away from edges,
on rays from inside buildings, axis-aligned rays and rays aimed exactly at
vertices and shared edges. The float32 node test (``_kernels.bvh_wide32``,
on boxes enlarged by ``delta``) never culls a box the float64 test enters
and enters only boxes within ``2 delta`` of the ray (adversarial rays; the
unenlarged control does cull), and its traversal gives the float64 wide
traversal's answers ray for ray (the public queries use it: the tests of
the public queries above, on the grid and on Paris 11e, check it too). The
collapse of least SAH cost that builds the float32 tree
(``_kernels.bvh_collapse``) equals an exhaustive enumeration of every
collapse of small binary trees, and its tree meets the float32 proof's
premises (binary boxes, binary subtrees as leaves, each triangle once)."""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np
import pytest
import shapely
from numba import njit

from cimcity import raycast as rc
from cimcity._kernels import bvh_collapse, bvh_traverse, bvh_wide, bvh_wide32, simd
from cimcity.mesh import CityMesh, extrude_buildings
from cimcity.raycast import numba_engine
from cimcity.testing import X0, Y0


def _city(n=7, seed=5):
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


def _hard_rays(mesh, n, seed):
    """Random origins (inside buildings too) and directions, axis-aligned
    directions (zero components), and rays aimed exactly at mesh vertices and
    at midpoints of mesh edges (shared by two triangles or two faces)."""
    rng = np.random.default_rng(seed)
    lo, hi = mesh.bounds
    o = rng.uniform(lo - 5, hi + 5, (n, 3))
    d = rng.normal(size=(n, 3))
    d[::13] = [0.0, 0.0, -1.0]
    d[3::13] = [1.0, 0.0, 0.0]
    d[7::13] = [0.0, 1.0, 0.0]
    v = mesh.world_vertices
    f = mesh.faces
    k = n // 4
    target = v[f[rng.integers(0, len(f), k), rng.integers(0, 3, k)]]
    d[:k] = target - o[:k]
    e = f[rng.integers(0, len(f), k)]
    mid = 0.5 * (v[e[:, 0]] + v[e[:, 1]])
    d[k : 2 * k] = mid - o[k : 2 * k]
    return o, d


def _binary(mesh, o, d, tmin, tmax):
    """Reference: the binary single-ray kernels (bvh_traverse), input order."""
    b = numba_engine.bvh(mesh)
    n = len(o)
    occ = np.empty(n, bool)
    dist = np.empty(n)
    face = np.empty(n, np.int64)
    args = (b.nodes, b.refs, b.tri, b.depth, mesh.origin, o, d, tmin, tmax)
    assert bvh_traverse.occluded_rays(*args, occ, 0, n) == 0
    args = (b.nodes, b.refs, b.tri, b.tri_face, b.depth, mesh.origin, o, d, tmin)
    assert bvh_traverse.intersect_rays(*args, tmax, dist, face, 0, n) == 0
    return occ, dist, face


def _moller_trumbore(mesh, o, d, faces):
    """Distance along unit ``d`` from ``o`` to the plane of each face and the
    barycentric coordinates (u, v) of that point (Möller & Trumbore 1997,
    numpy float64, local frame); independent of the kernels."""
    tri = mesh.vertices[mesh.faces[faces]]
    oo = o - mesh.origin
    e1 = tri[:, 1] - tri[:, 0]
    e2 = tri[:, 2] - tri[:, 0]
    p = np.cross(d, e2)
    det = np.sum(e1 * p, axis=1)
    s = oo - tri[:, 0]
    u = np.sum(s * p, axis=1) / det
    q = np.cross(s, e1)
    v = np.sum(d * q, axis=1) / det
    t = np.sum(e2 * q, axis=1) / det
    return t, u, v


class _Wide64(NamedTuple):
    wide: np.ndarray
    wrefs: np.ndarray
    depth: int


def _reference_wide(mesh):
    """The unmerged float64 8-wide tree (:mod:`cimcity._kernels.bvh_wide`):
    the reference the float32 path is checked against."""
    wide, depth = bvh_wide.collapse(numba_engine.bvh(mesh).nodes)
    return _Wide64(wide, wide.view(np.int32), depth)


def _assert_same_closest(mesh, o, d, t, f, dist, face, aimed=0):
    """Distances identical; a different face only where the reported face is
    hit at that same distance (a tie: a shared edge, or coincident faces such
    as two adjacent buildings' party walls in real data), checked by
    :func:`_moller_trumbore` within 1e-9 relative / 1e-7 barycentric. The
    first ``aimed`` rays aim exactly at vertices or edge midpoints
    (:func:`_hard_rays`): ties by construction, so which of the tied faces
    is reported depends on the order triangles are tested in; among the
    other rays at most 1 % may differ."""
    np.testing.assert_array_equal(t, dist)
    other = np.flatnonzero(f != face)
    assert (other >= aimed).sum() <= max(2, len(t) // 100)  # ties: rays through edges
    if len(other):
        assert (f[other] >= 0).all()
        tt, u, v = _moller_trumbore(mesh, o[other], _unit(d[other]), f[other])
        assert np.allclose(tt, dist[other], rtol=1e-9, atol=1e-9)
        eps = 1e-7
        assert ((u >= -eps) & (v >= -eps) & (u + v <= 1 + eps)).all()


def test_collapse_keeps_every_leaf_once_with_binary_boxes(city):
    # every binary leaf appears in exactly one wide lane, with the box the
    # binary node row held for it; unused lanes are empty boxes
    b = numba_engine.bvh(city)
    wide, depth = bvh_wide.collapse(b.nodes)
    wrefs = wide.view(np.int32)
    assert wide.ctypes.data % 64 == 0
    bin_leaves = {}
    for row in range(len(b.nodes)):
        for c in range(2):
            r = int(b.refs[row, 12 + c])
            if r < 0:
                bin_leaves[r] = b.nodes[row, 6 * c : 6 * c + 6]
    seen = {}
    for row in range(len(wide)):
        leaf_bits = 0
        for j in range(8):
            r = int(wrefs[row, 48 + j])
            box = wide[row, j::8][:6]
            if np.isinf(box[0]):
                assert box[0] == np.inf and box[3] == -np.inf
                continue
            if r < 0:
                leaf_bits |= 1 << j
                assert r not in seen
                seen[r] = box
            else:
                assert 0 < r < len(wide)
        assert wrefs[row, 56] == leaf_bits
    assert seen.keys() == bin_leaves.keys()
    for r, box in seen.items():
        np.testing.assert_array_equal(box, bin_leaves[r])
    assert 1 <= depth < numba_engine.bvh(city).depth


def _binary_children(nodes):
    """(row, child) -> (reference, box as float64 (6,)) of every binary child."""
    refs = nodes.view(np.int32)
    return {
        (row, c): (int(refs[row, 12 + c]), nodes[row, 6 * c : 6 * c + 6].astype(float))
        for row in range(len(nodes))
        for c in range(2)
    }


def _half_area(box):
    e = box[3:] - box[:3]
    return e[0] * e[1] + e[1] * e[2] + e[2] * e[0]


def _wide_cost(wide, c_node, c_block):
    """SAH cost of a wide tree over the root's area, from its rows alone:
    every inner lane's box area times ``c_node``, every leaf lane's area
    times its blocks of 4 triangles times ``c_block``, plus the root."""
    refs = wide.view(np.int32)
    total = 0.0
    root_lo = np.full(3, np.inf)
    root_hi = np.full(3, -np.inf)
    for row in range(len(wide)):
        for j in range(8):
            box = wide[row, j:48:8].astype(float)
            if np.isinf(box[0]):
                continue
            if row == 0:
                root_lo = np.minimum(root_lo, box[:3])
                root_hi = np.maximum(root_hi, box[3:])
            if (int(refs[row, 56]) >> j) & 1:
                count = (-int(refs[row, 48 + j]) - 1) & 15
                total += _half_area(box) * -(-count // 4) * c_block
            else:
                total += _half_area(box) * c_node
    root = _half_area(np.concatenate([root_lo, root_hi]))
    return (total + root * c_node) / root


def _brute_force_cost(nodes, c_node, c_block, max_leaf):
    """Least SAH cost over every collapse of the binary tree, by exhaustive
    enumeration: a wide node's lanes are every cut of its binary subtree
    (sets of at most 8 descendants covering it), a lane is a leaf (a subtree
    of at most ``max_leaf`` triangles) or a wide node; independent of the
    dynamic programming of ``bvh_collapse``."""
    ch = _binary_children(nodes)
    count = {}

    def triangles(ref):
        if ref < 0:
            return (-ref - 1) & 15
        if ref not in count:
            count[ref] = triangles(ch[ref, 0][0]) + triangles(ch[ref, 1][0])
        return count[ref]

    def cuts(row):  # cuts of the subtree below binary row `row` (opened)
        out = []
        for a in [[(row, 0)]] + (cuts(ch[row, 0][0]) if ch[row, 0][0] >= 0 else []):
            for b in [[(row, 1)]] + (cuts(ch[row, 1][0]) if ch[row, 1][0] >= 0 else []):
                if len(a) + len(b) <= 8:
                    out.append(a + b)
        return out

    memo = {}

    def lane(key):  # least cost of binary child `key` as one lane
        ref, box = ch[key]
        n = triangles(ref)
        leaf = _half_area(box) * -(-n // 4) * c_block if n <= max_leaf or ref < 0 else np.inf
        if ref < 0:
            return leaf
        if key not in memo:
            inner = _half_area(box) * c_node + node(ref)
            memo[key] = min(leaf, inner)
        return memo[key]

    def node(row):  # least cost of the lanes of a wide node made of `row`
        return min(sum(lane(k) for k in cut) for cut in cuts(row))

    lo = np.minimum(ch[0, 0][1][:3], ch[0, 1][1][:3])
    hi = np.maximum(ch[0, 0][1][3:], ch[0, 1][1][3:])
    root = _half_area(np.concatenate([lo, hi]))
    return (root * c_node + node(0)) / root


@pytest.mark.parametrize(
    ("n", "c_block", "max_leaf"), [(2, 0.3, 15), (3, 0.3, 6), (3, 1.0, 15), (2, 0.05, 4)]
)
def test_sah_collapse_is_the_least_cost_collapse(n, c_block, max_leaf):
    # reference: exhaustive enumeration of every collapse of the binary tree
    # of a small city (2 x 2 and 3 x 3 boxes: 48 and 108 triangles), the
    # cost recomputed from the emitted rows (so the tree built is the one
    # the optimisation priced); equal within float rounding (1e-12)
    mesh = _city(n, seed=n)
    nodes = numba_engine.bvh(mesh).nodes
    wide, depth, cost = bvh_collapse.collapse_sah(nodes, 1.0, c_block, max_leaf)
    best = _brute_force_cost(nodes, 1.0, c_block, max_leaf)
    assert cost == pytest.approx(best, rel=1e-12)
    assert _wide_cost(wide, 1.0, c_block) == pytest.approx(best, rel=1e-12)


def test_sah_collapse_keeps_binary_boxes_and_every_triangle_once(city):
    # the float32 proof's premises: every lane's box is a binary node's box,
    # every leaf a binary subtree of at most 15 triangles, each triangle in
    # exactly one leaf; and the tree costs no more than the greedy collapse
    # (bvh_wide.collapse, leaves of up to 8 triangles) under the same model
    b = numba_engine.bvh(city)
    wide, depth, cost = bvh_collapse.collapse_sah(b.nodes)
    refs = wide.view(np.int32)
    boxes = {tuple(box) for _, box in _binary_children(b.nodes).values()}
    seen = np.zeros(len(b.tri), int)
    for row in range(len(wide)):
        for j in range(8):
            box = wide[row, j:48:8].astype(float)
            if np.isinf(box[0]):
                assert refs[row, 48 + j] == 0
                continue
            assert tuple(box) in boxes
            r = int(refs[row, 48 + j])
            assert ((int(refs[row, 56]) >> j) & 1) == (r < 0)
            if r < 0:
                first, count = (-r - 1) >> 4, (-r - 1) & 15
                seen[first : first + count] += 1
            else:
                assert 0 < r < len(wide)
    assert (seen == 1).all()
    assert wide.ctypes.data % 64 == 0
    assert cost == pytest.approx(_wide_cost(wide, 1.0, bvh_collapse.C_BLOCK), rel=1e-12)
    greedy, _ = bvh_wide.collapse(b.nodes, 8)
    assert cost <= _wide_cost(greedy, 1.0, bvh_collapse.C_BLOCK)


@njit
def _box8_and_scalar(nodes, row, ray, planes, tn):
    mask = simd.box8(nodes, row, planes, ray, tn)
    ref = 0
    for j in range(8):
        n = max(
            (nodes[row, planes[0] + j] - ray[0]) * ray[3],
            (nodes[row, planes[1] + j] - ray[1]) * ray[4],
            (nodes[row, planes[2] + j] - ray[2]) * ray[5],
            ray[6],
        )
        f = min(
            (nodes[row, planes[3] + j] - ray[0]) * ray[3],
            (nodes[row, planes[4] + j] - ray[1]) * ray[4],
            (nodes[row, planes[5] + j] - ray[2]) * ray[5],
            ray[7],
        ) * (1.0 + bvh_traverse.BOX_PAD)
        if n <= f:
            ref |= 1 << j
        if tn[j] != n:
            return mask, -1
    return mask, ref


def test_simd_box_test_equals_scalar_slab_test_lane_for_lane():
    # reference: the scalar slab test of bvh_traverse written out per lane;
    # boxes touching the ray's origin plane, flat boxes and zero direction
    # components (inverse 1e30) included; the mask and every entry distance
    # must be identical
    rng = np.random.default_rng(2)
    raw = np.empty(4 * 64 + 16, np.float32)
    off = (-raw.ctypes.data % 64) // 4
    nodes = raw[off : off + 4 * 64].reshape(4, 64)
    planes = np.empty(6, np.int64)
    tn = np.empty(8)
    hits = 0
    for _ in range(3000):
        lo = rng.uniform(-20, 20, (3, 8)).astype(np.float32)
        hi = lo + rng.choice([0.0, 8.0, 40.0], (3, 8), p=[0.04, 0.36, 0.6]).astype(
            np.float32
        )
        row = int(rng.integers(4))
        nodes[row, :24] = lo.ravel()
        nodes[row, 24:48] = hi.ravel()
        o = rng.uniform(-10, 10, 3)
        if rng.random() < 0.2:
            o[0] = lo[0, 0]  # on a slab plane
        dd = rng.normal(size=3)
        dd[rng.random(3) < 0.15] = 0.0
        if not dd.any():
            dd[2] = 1.0
        dd /= np.linalg.norm(dd)
        ix, iy, iz, *_ = bvh_traverse.ray_setup(*dd)
        bvh_wide.ray_planes(ix, iy, iz, planes)
        ray = np.array([*o, ix, iy, iz, 1e-3, rng.choice([np.inf, 15.0])])
        mask, ref = _box8_and_scalar(nodes, row, ray, planes, tn)
        assert ref >= 0, "entry distances differ"
        assert mask == ref
        hits += bin(mask).count("1")
    assert 0.1 < hits / (3000 * 8) < 0.9  # both outcomes well represented


@pytest.mark.parametrize("seed", [0, 1])
def test_wide_equals_binary_ray_for_ray(city, seed):
    # 12,000 hard rays (inside buildings, axis-aligned, aimed at vertices and
    # edge midpoints), per-ray tmax: any-hit identical, closest-hit distances
    # identical and faces identical up to exact ties
    o, d = _hard_rays(city, 12_000, seed)
    rng = np.random.default_rng(seed + 20)
    tmax = rng.uniform(1.0, 300.0, len(o))
    tmax[::3] = np.inf
    tmin = rc.DEFAULT_TMIN
    occ, dist, face = _binary(city, o, d, tmin, tmax)
    r = _reference_wide(city)  # the float64 wide tree (reference)
    b = numba_engine.bvh(city)
    n = len(o)
    got = np.empty(n, bool)
    args = (r.wide, r.wrefs, b.tri, r.depth, city.origin, o, d, tmin, tmax)
    assert bvh_wide.occluded_wide_rays(*args, got, 0, n) == 0
    np.testing.assert_array_equal(got, occ)
    t = np.empty(n)
    f = np.empty(n, np.int64)
    args = (r.wide, r.wrefs, b.tri, b.tri_face, r.depth, city.origin, o, d, tmin)
    assert bvh_wide.intersect_wide_rays(*args, tmax, t, f, 0, n) == 0
    _assert_same_closest(city, o, d, t, f, dist, face)
    # the public queries (threads, packet check) give the same answers
    np.testing.assert_array_equal(
        rc.occluded(city, o, d, engine="numba", tmax=tmax), occ
    )
    t2, f2 = rc.intersect(city, o, d, engine="numba", tmax=tmax)
    _assert_same_closest(city, o, d, t2, f2, dist, face, aimed=len(o) // 2)
    assert 0.2 < occ.mean() < 0.9


def test_wide_matches_numpy_brute_force_away_from_edges(city):
    # independent reference: Möller–Trumbore over every face (numpy), closest
    # hit with t > tmin; rays whose nearest candidate hit lies within 1e-6 of
    # a triangle edge (barycentric) are left out, there float64 rounding
    # decides and the watertight test may differ from Möller–Trumbore
    rng = np.random.default_rng(9)
    lo, hi = city.bounds
    o = rng.uniform(lo - 5, hi + 5, (600, 3))
    d = _unit(rng.normal(size=(600, 3)))
    d[::11] = [0.0, 0.0, 1.0]
    tmin = rc.DEFAULT_TMIN
    nf = len(city.faces)
    best = np.full(len(o), np.inf)
    best_f = np.full(len(o), -1)
    edgy = np.zeros(len(o), bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(len(o)):
            t, u, v = _moller_trumbore(city, np.repeat(o[i : i + 1], nf, 0),
                                       np.repeat(d[i : i + 1], nf, 0), np.arange(nf))  # fmt: skip
            w = 1 - u - v
            inside = (u >= 0) & (v >= 0) & (w >= 0) & (t > tmin) & np.isfinite(t)
            near = (np.minimum(np.minimum(u, v), w) > -1e-6) & (t > tmin - 1e-6)
            if inside.any():
                k = np.argmin(np.where(inside, t, np.inf))
                best[i] = t[k]
                best_f[i] = k
            cand = near & (np.minimum(np.minimum(u, v), w) < 1e-6)
            edgy[i] = cand.any() and (
                not inside.any() or t[cand].min() <= best[i] + 1e-6
            )
    keep = ~edgy
    assert keep.sum() > 500
    occ = rc.occluded(city, o, d, engine="numba")
    t, f = rc.intersect(city, o, d, engine="numba")
    np.testing.assert_array_equal(occ[keep], np.isfinite(best[keep]))
    np.testing.assert_allclose(t[keep], best[keep], rtol=1e-9, atol=1e-9)
    same_plane = f[keep] == best_f[keep]
    assert same_plane.all()
    assert 0.2 < occ.mean() < 0.9


def test_single_triangle_and_tiny_meshes():
    # a mesh of one triangle (the binary root is a leaf, wrapped by
    # pack_nodes): hit at the analytic distance 5 m, miss beside it
    v = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0]])
    m = CityMesh(v, np.array([[0, 1, 2]]), np.array([X0, Y0, 35.0]),
                 np.array([0]), np.array([0], np.int8), np.array(["a"], object))  # fmt: skip
    o = np.array([[X0 + 3.0, Y0 + 3.0, 40.0], [X0 + 9.0, Y0 + 9.0, 40.0]])
    d = np.array([[0.0, 0.0, -1.0]])
    np.testing.assert_array_equal(rc.occluded(m, o, d, engine="numba"), [True, False])
    t, f = rc.intersect(m, o, d, engine="numba")
    np.testing.assert_array_equal(t, [5.0, np.inf])
    np.testing.assert_array_equal(f, [0, -1])


@pytest.mark.slow
@pytest.mark.realdata
def test_paris11_wide_and_sorted_paths_match_single_rays_and_embree(shared_data):
    # real buildings: BDNB Paris 11e footprints in a 600 m square, extruded by
    # their height; 30,000 random rays traced by the public queries (wide
    # BVH, float32 node tests), by the float64 wide kernels, by the sorted
    # binary kernels (bvh_sorted, bit for bit), one by one (reference), and
    # by Embree (float32: may differ on rays grazing an edge, observed 2 in
    # 1 M on the whole district, hence at most 2 here)
    import geopandas as gpd

    from cimcity._kernels import bvh_sorted

    path = shared_data / "france" / "bdnb_paris11_batiments.shp"
    g = gpd.read_file(path).to_crs(2154)
    cx, cy = g.geometry.union_all().centroid.coords[0]
    g = g.cx[cx - 300 : cx + 300, cy - 300 : cy + 300]
    g = g[g.geometry.notna() & ~g.geometry.is_empty]
    ground = g["altitude_s"].fillna(35.0).to_numpy(float)
    height = np.maximum(g["hauteur"].fillna(10.0).to_numpy(float), 0.5)
    mesh = extrude_buildings(
        shapely.make_valid(g.geometry.values), ground, ground + height
    )
    assert mesh.n_faces > 20_000
    rng = np.random.default_rng(6)
    lo, hi = mesh.bounds
    o = rng.uniform(lo, hi, (30_000, 3))
    d = _unit(rng.normal(size=(len(o), 3)))
    tmax = np.array([np.inf])
    tmin = rc.DEFAULT_TMIN
    occ, dist, face = _binary(mesh, o, d, tmin, tmax)
    got = rc.occluded(mesh, o, d, engine="numba")
    np.testing.assert_array_equal(got, occ)
    t, f = rc.intersect(mesh, o, d, engine="numba")
    _assert_same_closest(mesh, o, d, t, f, dist, face)
    assert 0.3 < got.mean() < 0.95
    # the float64 wide kernels (the path before bvh_wide32)
    r = _reference_wide(mesh)  # the float64 wide tree (reference)
    b = numba_engine.bvh(mesh)
    occ_w = np.empty(len(o), bool)
    args = (r.wide, r.wrefs, b.tri, r.depth, mesh.origin, o, d, tmin, tmax)
    bvh_wide.occluded_wide_rays(*args, occ_w, 0, len(o))
    np.testing.assert_array_equal(occ_w, got)
    t_w = np.empty(len(o))
    f_w = np.empty(len(o), np.int64)
    args = (r.wide, r.wrefs, b.tri, b.tri_face, r.depth, mesh.origin, o, d, tmin)
    bvh_wide.intersect_wide_rays(*args, tmax, t_w, f_w, 0, len(o))
    _assert_same_closest(mesh, o, d, t, f, t_w, f_w)
    # the sorted binary kernels (the path before the wide BVH): bit for bit
    b = numba_engine.bvh(mesh)
    grid = bvh_sorted.morton_grid(b.nodes)
    n = len(o)
    occ_s = np.empty(n, bool)
    args = (b.nodes, b.refs, b.tri, b.depth, mesh.origin, grid, o, d, tmin, tmax)
    bvh_sorted.occluded_sorted(*args, occ_s, 0, n)
    np.testing.assert_array_equal(occ_s, occ)
    t_s = np.empty(n)
    f_s = np.empty(n, np.int64)
    args = (b.nodes, b.refs, b.tri, b.tri_face, b.depth, mesh.origin, grid, o, d)
    bvh_sorted.intersect_sorted(*args, tmin, tmax, t_s, f_s, 0, n)
    np.testing.assert_array_equal(t_s, dist)
    np.testing.assert_array_equal(f_s, face)
    emb = rc.occluded(mesh, o, d, engine="embree")
    assert (emb != got).sum() <= 2


# -- float32 node test (_kernels.bvh_wide32) ---------------------------------------------
@njit
def _masks64_32(wide, wide32, row, ray, ray32, planes, tn, tn32):
    return (
        simd.box8(wide, row, planes, ray, tn),
        simd.box8f(wide32, row, planes, ray32, tn32),
    )


def _box_rows(rng, n_rows, extent):
    """Wide rows of random boxes within ``extent`` m of the local origin
    (row 0 spans the whole extent, as a root does); some flat, some tiny."""
    raw = np.empty(n_rows * 64 + 16, np.float32)
    off = (-raw.ctypes.data % 64) // 4
    wide = raw[off : off + n_rows * 64].reshape(n_rows, 64)
    wide[:] = 0.0
    c = rng.uniform(-extent, extent, (n_rows, 3, 8))
    size = rng.choice([0.0, 1e-3, 0.5, 20.0, 300.0], (n_rows, 3, 8))
    lo = np.clip(c - size, -extent, extent).astype(np.float32)
    hi = np.clip(c + size, -extent, extent).astype(np.float32)
    lo[0, :, 0] = -extent
    hi[0, :, 0] = extent
    wide[:, :24] = lo.reshape(n_rows, 24)
    wide[:, 24:48] = hi.reshape(n_rows, 24)
    wide[1, 0:24:8] = np.inf  # an empty lane (unused child)
    wide[1, 24:48:8] = -np.inf
    return wide


def _adversarial_rays(rng, wide, bound, n):
    """Rays against the boxes of ``wide``: origins on a box face, rays through
    a box edge or corner (grazing), origins at the float32 bound (far side
    of the scene), zero and tiny direction components; the box row each ray
    is tested against."""
    rows = rng.integers(0, len(wide), n)
    lanes = rng.integers(0, 8, n)
    lo = wide[rows[:, None], lanes[:, None] + np.array([0, 8, 16])].astype(np.float64)
    hi = wide[rows[:, None], lanes[:, None] + np.array([24, 32, 40])].astype(np.float64)
    lo = np.where(np.isfinite(lo), lo, 0.0)
    hi = np.where(np.isfinite(hi), hi, 0.0)
    d = rng.normal(size=(n, 3))
    kind = rng.integers(0, 5, n)
    # a target on the box: a face point, an edge point or a corner
    t = rng.uniform(0, 1, (n, 3))
    snap = rng.random((n, 3)) < np.where(kind[:, None] == 1, 0.67, 0.34)
    t = np.where(snap, np.round(t), t)
    target = lo + t * (hi - lo)
    dist = rng.choice([0.0, 1e-3, 3.0, 200.0, 2000.0], n)
    o = target - dist[:, None] * d / np.linalg.norm(d, axis=1)[:, None]
    far = kind == 2  # origin at the bound, aimed at the target
    o[far] = np.sign(rng.normal(size=(far.sum(), 3))) * bound * 0.999
    d[far] = target[far] - o[far]
    zero = kind == 3
    d[zero, rng.integers(0, 3, zero.sum())] = 0.0
    tiny = kind == 4
    d[tiny, rng.integers(0, 3, tiny.sum())] = rng.choice([1e-20, -1e-12], tiny.sum())
    return o, d, rows


def test_float32_node_test_never_culls_a_box_the_float64_test_enters():
    # the claim proven in bvh_wide32's docstring, checked lane by lane on
    # 60,000 adversarial rays (origins on faces, rays through edges and
    # corners, origins at the bound, zero and tiny direction components,
    # tmax at a box's float64 entry distance, tmin at its exit); control:
    # without the enlargement (SAFETY = 0) the float32 test does cull boxes
    # the float64 test enters, so this test can fail
    rng = np.random.default_rng(11)
    wide = _box_rows(rng, 64, 2400.0)
    wide32, bound, delta = bvh_wide32.enlarge(wide)
    assert bound == 2 * 2400.0 + 1.0 and 2e-3 < delta < 4e-3
    n = 60_000
    o, d, rows = _adversarial_rays(rng, wide, bound, n)
    planes = np.empty(6, np.int64)
    tn = np.empty(8)
    tn32 = np.empty(8, np.float32)
    ray32 = np.empty(8, np.float32)

    # upper check: the float32 test enters only boxes the float64 test
    # enters once enlarged by 2 delta (tmax by 2**-21 relative): a few mm
    big = wide.copy()
    big[:, :24] = np.nextafter(wide[:, :24] - np.float32(2 * delta), -np.inf)
    big[:, 24:48] = np.nextafter(wide[:, 24:48] + np.float32(2 * delta), np.inf)
    tn_big = np.empty(8)

    def run(w32):
        missed = accepted = extra = beyond = 0
        for i in range(n):
            dd = d[i] / np.sqrt(d[i] @ d[i])
            ix, iy, iz, *_ = bvh_traverse.ray_setup(*dd)
            assert bvh_wide32.fits(*o[i], ix, iy, iz, bound)
            bvh_wide.ray_planes(ix, iy, iz, planes)
            tmin = rc.DEFAULT_TMIN if i % 4 else 0.0
            ray = np.array([*o[i], ix, iy, iz, tmin, np.inf])
            bvh_wide32.ray32_setup(*o[i], ix, iy, iz, tmin, np.inf, ray32)
            m64, _ = _masks64_32(wide, w32, rows[i], ray, ray32, planes, tn, tn32)
            if i % 3 == 0 and m64:  # tmax exactly at a box's float64 entry
                ray[7] = max(tn[(m64 & -m64).bit_length() - 1], tmin + 1e-9)
            elif i % 3 == 1:
                ray[7] = rng.choice([1.0, 50.0, 1e4])
            bvh_wide32.ray32_setup(*o[i], ix, iy, iz, ray[6], ray[7], ray32)
            m64, m32 = _masks64_32(wide, w32, rows[i], ray, ray32, planes, tn, tn32)
            missed += bin(m64 & ~m32).count("1")
            accepted += bin(m64).count("1")
            extra += bin(m32 & ~m64).count("1")
            ray[7] *= 1 + 2.0**-21
            m_big, _ = _masks64_32(big, w32, rows[i], ray, ray32, planes, tn_big, tn32)
            beyond += bin(m32 & ~m_big).count("1")
        return missed, accepted, extra, beyond

    missed, accepted, extra, beyond = run(wide32)
    assert missed == 0
    assert accepted > 20_000  # of 480,000 lanes: both outcomes well represented
    assert extra > 0 and beyond == 0  # a few more boxes, all within 2 delta
    old = bvh_wide32.SAFETY
    try:
        bvh_wide32.SAFETY = 0.0
        bare, _, _ = bvh_wide32.enlarge(wide)
    finally:
        bvh_wide32.SAFETY = old
    assert run(bare)[0] > 0  # the control: unenlarged float32 boxes cull


def test_float32_traversal_equals_float64_wide_ray_for_ray(city):
    # the float32 kernels against the float64 wide kernels (the reference):
    # 12,000 hard rays plus rays from 20 km away (outside the float32 bound:
    # the float64 fallback) and per-ray tmax at hit distances; any-hit
    # identical, closest distances identical, faces up to exact ties
    o, d = _hard_rays(city, 12_000, 3)
    o[::17] += [20_000.0, -20_000.0, 500.0]
    rng = np.random.default_rng(23)
    w = numba_engine.wide_bvh(city)
    r = _reference_wide(city)  # the float64 wide tree (reference)
    b = numba_engine.bvh(city)
    n = len(o)
    tmin = rc.DEFAULT_TMIN
    tmax = np.array([np.inf])
    dist = np.empty(n)
    face = np.empty(n, np.int64)
    args = (r.wide, r.wrefs, b.tri, b.tri_face, r.depth, city.origin, o, d, tmin)
    assert bvh_wide.intersect_wide_rays(*args, tmax, dist, face, 0, n) == 0
    # tmax exactly at the hit (inclusive), just below it, or random
    tmax = np.where(np.isfinite(dist), dist, 100.0)
    tmax[1::3] = np.nextafter(tmax[1::3], 0.0)
    tmax[2::3] = rng.uniform(1.0, 300.0, len(tmax[2::3]))
    tmax[::5] = np.inf
    for tmax_ in (np.array([np.inf]), tmax):
        occ = np.empty(n, bool)
        args = (r.wide, r.wrefs, b.tri, r.depth, city.origin, o, d, tmin, tmax_)
        bvh_wide.occluded_wide_rays(*args, occ, 0, n)
        args = (r.wide, r.wrefs, b.tri, b.tri_face, r.depth, city.origin, o, d, tmin)
        bvh_wide.intersect_wide_rays(*args, tmax_, dist, face, 0, n)
        got = np.empty(n, bool)
        args = (*w.f32(), b.nodes, b.refs, b.tri, b.depth, w.bound, city.origin)
        assert bvh_wide32.occluded_wide32_rays(*args, o, d, tmin, tmax_, got, 0, n) == 0
        np.testing.assert_array_equal(got, occ)
        t = np.empty(n)
        f = np.empty(n, np.int64)
        args = (*w.f32(), b.nodes, b.refs)
        args = (*args, b.tri, b.tri_face, b.depth, w.bound, city.origin)
        args = (*args, o, d, tmin, tmax_, t, f, 0, n)
        assert bvh_wide32.intersect_wide32_rays(*args) == 0
        _assert_same_closest(city, o, d, t, f, dist, face, aimed=len(o) // 2)
        assert 0.2 < occ.mean() < 0.9


def test_float32_chunked_set_up_on_slices_invalid_rays_and_broadcast_rows(city):
    # the float32 kernels set rays up 128 at a time (bvh_wide32.CHUNK) in a
    # vectorised loop: against the float64 wide kernels (scalar set-up, the
    # reference) on a slice that starts and ends inside a chunk, with invalid
    # rays (NaN or infinite origin, zero, NaN or infinite direction: counted,
    # never hit) and with origins or directions given as one broadcast row
    o, d = _hard_rays(city, 1_000, 4)
    o[5] = np.nan
    o[200, 1] = np.inf
    d[6] = 0.0
    d[300, 2] = np.nan
    d[301, 0] = np.inf
    w = numba_engine.wide_bvh(city)
    r = _reference_wide(city)  # the float64 wide tree (reference)
    b = numba_engine.bvh(city)
    tmin = rc.DEFAULT_TMIN
    tmax = np.array([np.inf])
    i0, i1 = 3, len(o) - 5  # 3 .. 994: a partial chunk at both ends
    assert i0 % bvh_wide32.CHUNK and (i1 - i0) % bvh_wide32.CHUNK
    cases = [(o, d, 5), (o[:1] * 0 + o[7], d, 3), (o, d[7:8], 2)]
    for oo, dd, n_bad in cases:
        n = max(len(oo), len(dd))
        ref = np.zeros(n, bool)
        args = (r.wide, r.wrefs, b.tri, r.depth, city.origin, oo, dd, tmin, tmax)
        bad_ref = bvh_wide.occluded_wide_rays(*args, ref, i0, i1)
        dist = np.zeros(n)
        face = np.zeros(n, np.int64)
        args = (r.wide, r.wrefs, b.tri, b.tri_face, r.depth, city.origin, oo, dd)
        bvh_wide.intersect_wide_rays(*args, tmin, tmax, dist, face, i0, i1)
        got = np.zeros(n, bool)
        args = (*w.f32(), b.nodes, b.refs, b.tri, b.depth, w.bound, city.origin, oo, dd, tmin, tmax)
        assert bvh_wide32.occluded_wide32_rays(*args, got, i0, i1) == bad_ref == n_bad
        np.testing.assert_array_equal(got, ref)
        t = np.zeros(n)
        f = np.zeros(n, np.int64)
        args = (*w.f32(), b.nodes, b.refs)
        args = (*args, b.tri, b.tri_face, b.depth, w.bound, city.origin, oo, dd)
        assert bvh_wide32.intersect_wide32_rays(*args, tmin, tmax, t, f, i0, i1) == n_bad
        # rows outside the slice untouched, inside: the reference's answers
        assert not got[:i0].any() and not got[i1:].any()
        assert (t[:i0] == 0).all() and (t[i1:] == 0).all()
        full = np.broadcast_to(oo, (n, 3)), np.broadcast_to(dd, (n, 3))
        _assert_same_closest(city, *full, t, f, dist, face, aimed=n // 2)
        assert 0.1 < ref[i0:i1].mean() < 0.95


def _woop_setup(d):
    """Reference per-ray constants written from the definition in Woop, Benthin
    & Wald 2013 (JCGT 2(1), section 3): ``kz`` the axis of the largest
    ``|d|`` (the first on ties), ``kx = kz + 1``, ``ky = kx + 1`` (mod 3),
    swapped when ``d[kz] < 0``; shear ``s = d[kx, ky] / d[kz]`` taken as
    ``d * (1 / d[kz])``, and ``1 / d`` (``1e30`` for a zero component)."""
    inv = [1e30 if c == 0.0 else 1.0 / c for c in d]
    kz = int(np.argmax(np.abs(d)))  # argmax returns the first maximum
    kx, ky = (kz + 1) % 3, (kz + 2) % 3
    if d[kz] < 0.0:
        kx, ky = ky, kx
    return (*inv, kx, ky, kz, d[kx] * inv[kz], d[ky] * inv[kz], inv[kz])


def test_branch_free_ray_setup_equals_the_papers_definition():
    # ray_setup and the wide kernels' origin permutation pick axes without
    # branches (arithmetic selections); exact ties, zeros of both signs and
    # tiny components are where a selection could go wrong
    vals = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 1e-300, -1e-300]
    grid = [p for p in itertools.product(vals, repeat=3) if any(v != 0 for v in p)]
    rng = np.random.default_rng(3)
    rows = np.concatenate(
        [np.array(grid), rng.normal(size=(3000, 3)), np.round(rng.normal(size=(3000, 3)))]
    )
    rows = rows[np.abs(rows).sum(axis=1) > 0]
    origin = (12.5, -3.0, 7.25)
    for d in rows:
        got = bvh_traverse.ray_setup(*d)
        want = _woop_setup(d)
        assert got[3:6] == want[3:6], d
        # values equal (a selected zero may only lose its sign: compare with ==)
        assert all(g == w for g, w in zip(got, want, strict=True)), (d, got, want)
        perm = bvh_wide32._permuted.py_func(*origin, *got[3:6])
        assert perm == tuple(origin[k] for k in got[3:6])


# -- triangles four at a time (simd.tri4, bvh_wide32.leaf_blocks) -----------------------
def _watertight(tri, o, d, tmin, tmax):
    """Scalar watertight test (Woop, Benthin & Wald 2013, section 3), in
    Python float64 (no fused multiply-add), written from the paper: True
    when ``tmin < t <= tmax``; also ``(t_scaled, det)`` after the sign flip."""
    kx, ky, kz, sx, sy, sz = (*_woop_setup(d)[3:6], *_woop_setup(d)[6:9])
    okx, oky, okz = o[kx], o[ky], o[kz]
    a, b, c = tri[0:3], tri[3:6], tri[6:9]
    az, bz, cz = a[kz] - okz, b[kz] - okz, c[kz] - okz
    ax, ay = a[kx] - okx - sx * az, a[ky] - oky - sy * az
    bx, by = b[kx] - okx - sx * bz, b[ky] - oky - sy * bz
    cx, cy = c[kx] - okx - sx * cz, c[ky] - oky - sy * cz
    u, v, w = cx * by - cy * bx, ax * cy - ay * cx, bx * ay - by * ax
    if (u < 0 or v < 0 or w < 0) and (u > 0 or v > 0 or w > 0):
        return False, None
    _watertight.on_edge = 0.0 in (u, v, w)
    det = u + v + w
    if det == 0:
        return False, None
    ts = sz * (u * az + v * bz + w * cz)
    if det < 0:
        ts, det = -ts, -det
    return (ts > tmin * det and ts <= tmax * det), (ts, det)


@njit
def _tri4_lanes(blocks, block, axes, ray, ts, det):
    return simd.tri4(blocks, block, axes, ray), simd.tri4_dist(
        blocks, block, axes, ray, ts, det
    )


def test_tri4_lanes_equal_the_scalar_watertight_test():
    # four triangles a block must each be accepted exactly when the scalar
    # test accepts them: rays through shared edges and vertices (where the
    # watertight test's zero edge functions decide), triangles seen edge-on,
    # degenerate triangles, hits exactly at tmax, NaN padding lanes
    rng = np.random.default_rng(11)
    tris = []
    for _ in range(600):
        p = rng.integers(-3, 4, (3, 3)).astype(float)  # grid corners: exact ties
        tris.append(p.ravel())
    tris.append(np.array([0.0, 0, 0, 1, 0, 0, 2, 0, 0]))  # degenerate (a line)
    tris.append(np.array([0.0, 0, 0, 0, 0, 0, 0, 0, 0]))  # a point
    tris = np.array(tris)
    n_blocks = -(-len(tris) // 4)
    blocks = np.full((n_blocks, simd.TRI_BLOCK), np.nan)
    for k, t in enumerate(tris):
        for c in range(9):
            blocks[k // 4, c * 4 + k % 4] = t[c]
    checked = hits = edge_hits = 0
    for trial in range(400):
        o = rng.integers(-4, 5, 3).astype(float) + (0.5 if trial % 3 else 0.0)
        d = rng.integers(-2, 3, 3).astype(float) if trial % 2 else rng.normal(size=3)
        if not np.abs(d).sum():
            continue
        d = d / np.linalg.norm(d)
        setup = bvh_traverse.ray_setup(*d)
        kx, ky, kz, sx, sy, sz = setup[3:9]
        tmax = [np.inf, 2.0, 5.0][trial % 3]
        axes = np.array([kx, ky, kz], np.int64)
        ray = np.array([o[kx], o[ky], o[kz], sx, sy, sz, 1e-6, tmax])
        ts = np.empty(4)
        det = np.empty(4)
        for blk in range(n_blocks):
            mask, mask2 = _tri4_lanes(blocks, blk, axes, ray, ts, det)
            assert mask == mask2
            for j in range(4):
                k = 4 * blk + j
                got = bool((mask >> j) & 1)
                if k >= len(tris):
                    assert not got  # padding never hit
                    continue
                want, sd = _watertight(tris[k], o, d, 1e-6, tmax)
                assert got == want, (k, o, d)
                if want:
                    assert (ts[j], det[j]) == sd
                    edge_hits += _watertight.on_edge
                checked += 1
                hits += want
    # 4,643 hits, 919 of them through an edge or vertex (seed 11)
    assert checked > 200_000 and hits > 4_000 and edge_hits > 500


def test_merged_leaves_hold_every_triangle_once_in_blocks(city):
    # the float32 tree's leaves (binary subtrees of up to 15 triangles)
    # are block ranges holding every triangle exactly once, with its own
    # corners, inside the leaf's float32 box (enlarged); lanes past a leaf's
    # last triangle are NaN; each lane's mesh face follows the corners; rows
    # are 5 whole cache lines
    b = numba_engine.bvh(city)
    w = numba_engine.wide_bvh(city)
    r = _reference_wide(city)  # the float64 wide tree (reference)
    assert w.blocks.shape[1] == 40 and w.blocks.ctypes.data % 64 == 0
    seen = np.zeros(len(b.tri), int)
    for row in range(len(w.wide32)):
        lanes = int(w.refs32[row, bvh_wide.LEAVES])
        for j in range(8):
            if not (lanes >> j) & 1:
                continue
            leaf = -int(w.refs32[row, bvh_wide.REF + j]) - 1
            first, count = leaf >> 4, leaf & 15
            lo = w.wide32[row, j : 24 : 8].astype(float)
            hi = w.wide32[row, 24 + j : 48 : 8].astype(float)
            in_leaf = 0
            for blk in range(first, first + count):
                for lane in range(4):
                    corners = w.blocks[blk, lane : simd.TRI_BLOCK : 4].reshape(3, 3)
                    face = w.blocks[blk, simd.TRI_BLOCK + lane]
                    if np.isnan(corners).all():
                        assert face == -1
                        continue
                    k = w.block_tri[blk] + lane
                    np.testing.assert_array_equal(corners.ravel(), b.tri[k])
                    assert face == b.tri_face[k]  # the closest hit's face
                    assert (corners >= lo).all() and (corners <= hi).all()
                    seen[k] += 1
                    in_leaf += 1
            assert 1 <= in_leaf <= bvh_collapse.MAX_LEAF
    assert (seen == 1).all()
    assert len(w.wide32) < len(r.wide)  # merging leaves made the tree smaller
