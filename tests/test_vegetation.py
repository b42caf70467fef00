"""Tests for cimcity.vegetation: green ratios, pleine terre, biotope coefficient.

References used below:
- analytic areas of squares, rings and circles (exact, or the area of the
  polygonal circle shapely builds: compared with shapely itself);
- shapely / GEOS overlay (union, difference, intersection) on the same input
  as an independent tool, brute force per unit;
- numpy pixel counts on the same rasters (real Gothenburg UMEP rasters).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cimcity as cc
from cimcity import vegetation as veg
from cimcity.errors import (
    CRSError,
    DataQualityWarning,
    EstimateWarning,
    GeometryError,
    InputError,
    ReprojectionWarning,
)
from cimcity.testing import X0, Y0
from cimcity.vegetation.zonal import _Store

#: areas equal up to floating-point rounding of Lambert-93 coordinates [m²]
AREA_TOL = 1e-6
CRS = "EPSG:2154"

RULES_TOML = """
[pack]
name = "test pack"

[biotope_weights]
pleine_terre = 1.0
green_roof_deep = 0.7
green_roof_shallow = 0.5
green_wall = 0.2
permeable_paving = 0.3
impervious = 0.0

[zones.UG]
description = "general"
[zones.UG.min_biotope_coefficient]
value = 0.3
unit = "ratio"
article = "UG.13.4"
[zones.UG.min_pleine_terre_share]
value = 0.2
unit = "ratio"
article = "UG.13.2"
[zones.UG.biotope_weights]
green_wall = 0.5

[zones.UV]
description = "green"
[zones.UV.min_pleine_terre_share]
value = 0.7
unit = "ratio"
article = "UV.13.2"
"""


def box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def disc(x, y, r, quad_segs=16):
    return shapely.Point(X0 + x, Y0 + y).buffer(r, quad_segs=quad_segs)


def gdf(geoms, **cols):
    out = gpd.GeoDataFrame(geometry=list(geoms), crs=CRS)
    for k, v in cols.items():
        out[k] = v
    return out


def make_scene(
    parcels, buildings=(), vegetation=(), kinds=(), zones=None, rules=None, **bcols
):
    s = cc.Scene()
    if zones is not None:
        s.add_zones(gdf(zones[1], libelle=zones[0]), rules=rules)
    s.add_parcels(gdf(parcels))
    if len(buildings):
        s.add_buildings(gdf(buildings, height=10.0, **bcols))
    if len(vegetation):
        s.add_vegetation(gdf(vegetation, kind=list(kinds)))
    return s


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    p = tmp_path_factory.mktemp("rules") / "rules.toml"
    p.write_text(RULES_TOML)
    return cc.read_rules(p)


# ---------------------------------------------------------------------------------
# the area kernel
# ---------------------------------------------------------------------------------
def _random_polygons(rng, n):
    """Polygons on an integer grid (many shared edges, T-junctions, collinear
    overlaps), with holes, multipolygons and both orientations."""
    out = []
    while len(out) < n:
        k = rng.integers(3, 9)
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = rng.uniform(0.5, 3, k)
        cx, cy = rng.integers(0, 5, 2)
        p = shapely.make_valid(
            shapely.Polygon(np.c_[cx + r * np.cos(ang), cy + r * np.sin(ang)].round(0))
        )
        parts = [
            g
            for g in shapely.get_parts(p)
            if g.geom_type in ("Polygon", "MultiPolygon")
        ]
        if parts:
            p = shapely.union_all(parts)
            if p.area > 0:
                out.append(p)
        x, y = rng.integers(0, 5, 2)
        o = shapely.box(x, y, x + rng.integers(2, 5), y + rng.integers(2, 5))
        out.append(o.difference(shapely.box(x + 1, y + 1, x + 2, y + 2)))
        out.append(
            shapely.MultiPolygon(
                [shapely.box(x, y, x + 1, y + 1), shapely.box(x + 2, y, x + 3, y + 2)]
            )
        )
    g = np.array(out[:n], dtype=object)
    flip = rng.random(n) < 0.5
    g[flip] = shapely.reverse(g[flip])
    # Lambert-93 magnitudes, as in real use
    return shapely.transform(g, lambda c: c + np.array([X0, Y0]))


def test_intersection_area_matches_geos_on_degenerate_polygons():
    # reference: shapely.area(shapely.intersection(...)) (GEOS OverlayNG),
    # tolerance 1e-6 m² (rounding of 1e5-1e6 m coordinates)
    rng = np.random.default_rng(3)
    g = _random_polygons(rng, 600)
    ia = rng.integers(0, len(g), 4000)
    ib = rng.integers(0, len(g), 4000)
    got = veg.intersection_area(g, g, ia, ib)
    ref = shapely.area(shapely.intersection(g[ia], g[ib]))
    assert (ref > 0).mean() > 0.3  # the test really overlaps things
    np.testing.assert_allclose(got, ref, atol=AREA_TOL)
    # element-wise form and threads give the same numbers
    np.testing.assert_allclose(
        veg.intersection_area(g[ia[:500]], g[ib[:500]], threads=2),
        ref[:500],
        atol=AREA_TOL,
    )


def test_three_and_four_way_areas_match_geos():
    # reference: chained GEOS intersections; tolerance 1e-6 m². Both kernels:
    # the general boundary classification and the convex-clipping dispatcher
    # (discs and boxes mixed in, so that both of its paths run)
    from cimcity._kernels.polygons import intersection_areas, tuple_areas

    rng = np.random.default_rng(5)
    c = rng.uniform(0, 6, (200, 2))
    g = np.concatenate(
        [
            _random_polygons(rng, 400),
            shapely.buffer(
                shapely.points(X0 + c[:100, 0], Y0 + c[:100, 1]),
                rng.uniform(0.5, 3, 100),
                quad_segs=4,
            ),
            shapely.box(
                X0 + c[100:, 0].round(),
                Y0 + c[100:, 1].round(),
                X0 + c[100:, 0].round() + rng.integers(1, 4, 100),
                Y0 + c[100:, 1].round() + rng.integers(1, 4, 100),
            ),
        ]
    )
    store = _Store(1)
    ids = store.add(g)
    f = store.flat
    assert 0.2 < f.convex.mean() < 0.9
    for k in (3, 4):
        tup = rng.integers(0, len(g), (3000, k))
        ref = g[tup[:, 0]]
        for j in range(1, k):
            ref = shapely.intersection(ref, g[tup[:, j]])
        assert (shapely.area(ref) > 0).sum() > 50
        out = np.empty(len(tup))
        intersection_areas(
            f.x,
            f.y,
            f.ring_off,
            f.geom_ring,
            f.bounds,
            ids[tup],
            veg.COINCIDENCE_TOL,
            out,
        )
        np.testing.assert_allclose(out, shapely.area(ref), atol=AREA_TOL)
        out = np.empty(len(tup))
        tuple_areas(
            f.x,
            f.y,
            f.ring_off,
            f.geom_ring,
            f.bounds,
            f.convex,
            ids[tup],
            veg.COINCIDENCE_TOL,
            out,
        )
        np.testing.assert_allclose(out, shapely.area(ref), atol=AREA_TOL)
        fast = f.convex[ids[tup]].sum(axis=1) >= k - 1
        assert 0.05 < fast.mean() < 0.95  # both paths ran


def test_grid_join_matches_strtree():
    # the numba grid join against shapely.STRtree.query (envelopes, touching
    # counts) on integer boxes (many touching), empty geometries and one box
    # spanning most of the grid; strict: positive-area overlaps only (numpy
    # on the STRtree pairs); the same pair sets, sorted by query
    from cimcity.vegetation.grid import _Grid

    rng = np.random.default_rng(2)
    c = rng.integers(0, 1000, (20_000, 2)).astype(float)
    r = rng.integers(1, 20, (20_000, 2)).astype(float)
    b = np.c_[c - r, c + r] + [X0, Y0, X0, Y0]
    b[::1000] = [np.inf, np.inf, -np.inf, -np.inf]  # empty
    b[5] = [X0, Y0, X0 + 900, Y0 + 900]
    q = np.c_[c[:5000] - 3, c[:5000] + 3] + [X0, Y0, X0, Y0]
    geoms = shapely.box(*b.T)
    geoms[::1000] = shapely.Polygon()
    ia, ib = shapely.STRtree(geoms).query(shapely.box(*q.T))
    qa, bb = q[ia], b[ib]
    positive = (np.maximum(qa[:, 0], bb[:, 0]) < np.minimum(qa[:, 2], bb[:, 2])) & (
        np.maximum(qa[:, 1], bb[:, 1]) < np.minimum(qa[:, 3], bb[:, 3])
    )
    grid = _Grid(b)
    for strict, ref in ((False, np.ones(len(ia), bool)), (True, positive)):
        i, j = grid.query(q, threads=2, strict=strict)
        assert (np.diff(i) >= 0).all()
        assert set(zip(i.tolist(), j.tolist(), strict=True)) == set(
            zip(ia[ref].tolist(), ib[ref].tolist(), strict=True)
        )
        assert len(i) == ref.sum()  # no pair twice


def test_store_puts_shuffled_layers_in_z_order():
    # a shuffled layer (> 1000 polygons) is stored in Z-order for memory
    # locality, an ordered one as given; ids map each input polygon to its
    # stored copy (areas and bounds against shapely, exact up to 1e-6 m²), and
    # the per-unit areas do not depend on the input order (1e-6 m²)
    rng = np.random.default_rng(4)
    c = rng.uniform(0, 400, (3000, 2))
    crowns = shapely.buffer(
        shapely.points(X0 + c[:, 0], Y0 + c[:, 1]),
        rng.uniform(1, 4, 3000),
        quad_segs=4,
    )
    parcels = np.array(
        [
            box(x, y, x + 20, y + 25)
            for y in range(0, 400, 25)
            for x in range(0, 400, 20)
        ]
    )
    st_ = _Store(2)
    pid, cid = st_.add(parcels, crowns)
    assert (pid == np.arange(len(parcels))).all()  # row by row: kept as given
    assert not (cid == len(parcels) + np.arange(len(crowns))).all()  # reordered
    assert all(a is b for a, b in zip(st_.geoms[cid], crowns, strict=True))
    np.testing.assert_allclose(st_.area[cid], shapely.area(crowns), atol=AREA_TOL)
    np.testing.assert_array_equal(st_.flat.bounds[cid], shapely.bounds(crowns))
    veg_ = gdf(crowns, kind="tree")
    a = veg.cover_areas(gpd.GeoSeries(parcels, crs=CRS), vegetation=veg_)
    c_order = np.argsort(c[:, 1] * 1000 + c[:, 0])  # ordered row by row
    b = veg.cover_areas(gpd.GeoSeries(parcels, crs=CRS), vegetation=veg_.iloc[c_order])
    assert (a["canopy_area"] > 0).sum() > 100
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), atol=AREA_TOL)


def test_identical_and_touching_polygons():
    # analytic: a square with itself is its area; edge-touching squares share 0
    a = box(0, 0, 10, 10)
    b = box(10, 0, 20, 10)
    c = shapely.reverse(box(0, 0, 10, 10))  # same square, clockwise
    got = veg.intersection_area([a, a, a, b], [a, b, c, a])
    np.testing.assert_allclose(got, [100.0, 0.0, 100.0, 0.0], atol=AREA_TOL)


def test_intersection_area_bad_input():
    a = [box(0, 0, 1, 1)]
    with pytest.raises(InputError, match="different lengths"):
        veg.intersection_area(a, a * 2)
    with pytest.raises(InputError, match="outside"):
        veg.intersection_area(a, a, [0], [3])
    with pytest.raises(GeometryError, match="not polygons"):
        veg.intersection_area([shapely.Point(0, 0)], a)


# ---------------------------------------------------------------------------------
# analytic cases (squares, rings, circles) and precedence
# ---------------------------------------------------------------------------------
def test_squares_precedence_and_partition():
    # parcel 20 × 20 = 400 m²; building 10 × 20 = 200 m² on its west half
    # lawn 15 × 10 overlapping the building by 5 × 10 -> pleine terre 10 × 10
    # tree crown square 4 × 4 over the lawn (canopy, still pleine terre)
    # tree crown square 4 × 4 over pavement (canopy, not pleine terre)
    # tree crown 4 × 4 half over the roof (2 × 4 built, 2 × 4 canopy)
    s = make_scene(
        [box(0, 0, 20, 20)],
        [box(0, 0, 10, 20)],
        [box(5, 0, 20, 10), box(12, 2, 16, 6), box(12, 12, 16, 16), box(8, 14, 12, 18)],
        ["lawn", "tree", "tree", "tree"],
    )
    u = veg.ratios(s).units.iloc[0]
    assert u["area"] == pytest.approx(400.0, abs=AREA_TOL)
    assert u["built_area"] == pytest.approx(200.0, abs=AREA_TOL)
    assert u["pleine_terre_area"] == pytest.approx(100.0, abs=AREA_TOL)
    assert u["canopy_area"] == pytest.approx(16 + 16 + 8, abs=AREA_TOL)
    assert u["low_vegetation_area"] == pytest.approx(100.0 - 16, abs=AREA_TOL)
    assert u["vegetation_area"] == pytest.approx(40 + 84, abs=AREA_TOL)
    assert u["open_area"] == pytest.approx(400 - 200 - 124, abs=AREA_TOL)
    # cover partition and ground partition both sum to the unit area
    assert u["built_share"] + u["vegetation_share"] + u["open_share"] == pytest.approx(
        1.0
    )
    ground = u[
        [
            "pleine_terre_area",
            "permeable_paving_area",
            "impervious_area",
            "green_roof_area",
        ]
    ]
    assert ground.sum() == pytest.approx(400.0, abs=AREA_TOL)
    # no rule pack: default weights, CBS = 100 × 1.0 / 400
    assert u["biotope_coefficient"] == pytest.approx(0.25)


def test_ring_parcel_and_courtyard():
    # courtyard block 40 × 40 with a 16 × 16 courtyard: built ring 1600 - 256
    # courtyard lawn 16 × 16 = 256 m² of pleine terre; a second parcel that is
    # a ring around the block (outer 60 × 60) receives none of them
    outer = box(-10, -10, 50, 50).difference(box(0, 0, 40, 40))
    ring = box(0, 0, 40, 40).difference(box(12, 12, 28, 28))
    s = make_scene(
        [box(0, 0, 40, 40), outer],
        [ring],
        [box(12, 12, 28, 28), box(-10, -10, 50, -5)],
        ["lawn", "lawn"],
    )
    u = veg.ratios(s).units
    a, b = u.iloc[0], u.iloc[1]
    assert a["built_area"] == pytest.approx(1600 - 256, abs=AREA_TOL)
    assert a["pleine_terre_area"] == pytest.approx(256, abs=AREA_TOL)
    assert b["area"] == pytest.approx(3600 - 1600, abs=AREA_TOL)
    assert b["built_area"] == pytest.approx(0.0, abs=AREA_TOL)
    assert b["pleine_terre_area"] == pytest.approx(60 * 5, abs=AREA_TOL)


def test_circles_against_geos_overlay():
    # trees as 64-gon discs straddling two parcels, overlapping each other, a
    # lawn and a building; reference: GEOS union/difference/intersection
    parcels = [box(0, 0, 20, 30), box(20, 0, 45, 30)]
    b = [box(2, 0, 30, 10)]
    lawn = [box(1, 12, 40, 29)]
    trees = [disc(20, 15, 6), disc(25, 18, 5), disc(10, 9, 4), disc(40, 29, 3)]
    s = make_scene(parcels, b, lawn + trees, ["lawn"] + ["tree"] * 4)
    u = veg.ratios(s).units
    B = shapely.union_all(b)
    C = shapely.union_all(trees)
    G = shapely.union_all(lawn)
    for i, p in enumerate(parcels):
        row = u.iloc[i]
        assert row["built_area"] == pytest.approx(p.intersection(B).area, abs=AREA_TOL)
        assert row["canopy_area"] == pytest.approx(
            p.intersection(C.difference(B)).area, abs=AREA_TOL
        )
        assert row["pleine_terre_area"] == pytest.approx(
            p.intersection(G.difference(B)).area, abs=AREA_TOL
        )
        assert row["low_vegetation_area"] == pytest.approx(
            p.intersection(G.difference(B).difference(C)).area, abs=AREA_TOL
        )


def test_overlapping_layers_are_not_counted_twice():
    # the same lawn given three times, overlapping crowns, a green roof given
    # both as a building attribute (deep, 1.0 m) and as a roof polygon
    # (no substrate -> shallow): counted once, deep wins
    s = make_scene(
        [box(0, 0, 30, 30)],
        [box(0, 0, 10, 10)],
        [box(10, 10, 20, 20)] * 3
        + [box(0, 20, 6, 26), box(3, 23, 9, 29), box(0, 0, 10, 10)],
        ["lawn"] * 3 + ["tree", "tree", "green_roof"],
        green_roof=[True],
        green_roof_substrate_m=[1.0],
    )
    u = veg.ratios(s).units.iloc[0]
    assert u["pleine_terre_area"] == pytest.approx(100.0, abs=AREA_TOL)
    assert u["canopy_area"] == pytest.approx(36 + 36 - 9, abs=AREA_TOL)
    assert u["green_roof_area"] == pytest.approx(100.0, abs=AREA_TOL)
    assert u["green_roof_deep_area"] == pytest.approx(100.0, abs=AREA_TOL)
    assert u["green_roof_shallow_area"] == pytest.approx(0.0, abs=AREA_TOL)
    # CBS = (100 × 1.0 + 100 × 0.7) / 900
    assert u["biotope_coefficient"] == pytest.approx(170 / 900)


def test_crown_union_matches_geos_union():
    # overlapping discs (crowns, 8- to 32-gons) merged group by group (numba
    # union of convex polygons, GEOS for degenerate groups: a duplicated crown,
    # squares sharing edges) against one shapely.union_all of the whole layer
    # (GEOS OverlayNG): same area and same region within 1e-6 m², interiors
    # disjoint; each kernel union equals GEOS' union of its group
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from cimcity.vegetation.dissolve import _convex_unions, _dissolve

    rng = np.random.default_rng(11)
    n = 700
    c = rng.uniform(0, 300, (n, 2))
    d = shapely.buffer(
        shapely.points(X0 + c[:, 0], Y0 + c[:, 1]),
        rng.uniform(1.5, 6, n),
        quad_segs=4,
    )
    d[::3] = shapely.buffer(
        shapely.points(X0 + c[::3, 0], Y0 + c[::3, 1]), 3, quad_segs=2
    )
    d[1::5] = shapely.buffer(
        shapely.points(X0 + c[1::5, 0], Y0 + c[1::5, 1]), 5, quad_segs=8
    )
    squares = [box(400 + 3 * k, 0, 404 + 3 * k, 3) for k in range(5)]  # shared edges
    g = np.concatenate([d, d[:10], squares])  # 10 duplicated crowns
    st_ = _Store(2)
    ids = st_.add(g)
    kept, merged = _dissolve(st_, ids)
    out = np.concatenate([st_.geoms[kept], merged])
    ref = shapely.union_all(g)
    assert len(merged) > 50 and (shapely.get_num_interior_rings(merged) > 0).any()
    assert shapely.is_valid(merged).all()
    assert shapely.area(out).sum() == pytest.approx(ref.area, abs=AREA_TOL)
    assert shapely.area(shapely.symmetric_difference(shapely.union_all(out), ref)) < (
        AREA_TOL
    )
    i, j = shapely.STRtree(out).query(out)
    keep = i < j
    assert veg.intersection_area(out, out, i[keep], j[keep]).sum() < AREA_TOL
    # the kernel on its own, groups found independently (GEOS overlaps)
    i, j = shapely.STRtree(g).query(g, predicate="overlaps")
    _, lab = connected_components(
        coo_matrix((np.ones(len(i)), (i, j)), shape=(len(g), len(g))), directed=False
    )
    size = np.bincount(lab)
    multi = np.flatnonzero(size[lab] > 1)
    order = multi[np.argsort(lab[multi], kind="stable")]
    starts = np.r_[0, np.flatnonzero(np.diff(lab[order])) + 1]
    lengths = np.diff(np.r_[starts, len(order)])
    res = _convex_unions(st_, ids[order], starts, lengths, np.arange(len(starts)))
    done = ~shapely.is_missing(res)
    assert done.mean() > 0.8  # general position: the kernel unions them
    # a group holding a duplicated crown or the squares is degenerate: GEOS
    degenerate = np.array(
        [(order[s : s + k] >= n).any() for s, k in zip(starts, lengths, strict=True)]
    )
    assert degenerate.sum() >= 2 and not done[degenerate].any()
    for k in np.flatnonzero(done):
        ref_k = shapely.union_all(g[order[starts[k] : starts[k] + lengths[k]]])
        assert shapely.area(shapely.symmetric_difference(res[k], ref_k)) < AREA_TOL


def test_green_roof_is_clipped_to_the_footprint_and_shallow_by_default():
    # roof polygon 10 × 12 over a 10 × 10 building: 100 m² of shallow roof
    s = make_scene(
        [box(0, 0, 20, 20)], [box(0, 0, 10, 10)], [box(0, 0, 10, 12)], ["green_roof"]
    )
    u = veg.ratios(s).units.iloc[0]
    assert u["green_roof_area"] == pytest.approx(100.0, abs=AREA_TOL)
    assert u["green_roof_shallow_area"] == pytest.approx(100.0, abs=AREA_TOL)
    # green roof is not in the ground partition: the 2 m strip is open ground
    assert u["vegetation_area"] == pytest.approx(0.0, abs=AREA_TOL)


def test_permeable_paving_and_green_walls():
    # paving 10 × 10 half under a 10 × 10 lawn (lawn wins: 50 m² of paving
    # left), green wall strip 10 × 0.5 with height 6 -> facade
    # 6 × (10 + 0.5) = 63 m² (half the strip's perimeter times the height)
    v = gdf(
        [box(0, 0, 10, 10), box(5, 0, 15, 10), box(20, 0, 30, 0.5)],
        kind=["permeable_paving", "lawn", "green_wall"],
        height=[0.0, 0.0, 6.0],
    )
    s = make_scene([box(0, 0, 40, 40)])
    s.add_vegetation(v)
    u = veg.ratios(s, absent="buildings").units.iloc[0]
    assert u["permeable_paving_area"] == pytest.approx(50.0, abs=AREA_TOL)
    assert u["pleine_terre_area"] == pytest.approx(100.0, abs=AREA_TOL)
    assert u["green_wall_area"] == pytest.approx(63.0, abs=AREA_TOL)
    w = veg.DEFAULT_BIOTOPE_WEIGHTS
    expect = 100 * w["pleine_terre"] + 50 * w["permeable_paving"] + 63 * w["green_wall"]
    assert u["weighted_area"] == pytest.approx(expect)
    assert u["impervious_area"] == pytest.approx(1600 - 150, abs=AREA_TOL)


def test_green_wall_without_height_warns_and_uses_default():
    s = make_scene(
        [box(0, 0, 40, 40)], vegetation=[box(0, 0, 10, 0.5)], kinds=["green_wall"]
    )
    with pytest.warns(EstimateWarning, match="green wall"):
        u = veg.ratios(s).units.iloc[0]
    assert u["green_wall_area"] == pytest.approx(veg.DEFAULT_GREEN_WALL_HEIGHT * 10.5)
    u = veg.ratios(s, green_wall_height=4.0).units.iloc[0]
    assert u["green_wall_area"] == pytest.approx(4.0 * 10.5)


def test_no_vegetation_layer_is_unknown_not_zero():
    # issue 17 item 2: an empty vegetation layer is missing, not "no
    # vegetation": what needs it is NaN (with a DataQualityWarning naming the
    # layer); built stays measured (the 5 × 5 footprint: 25 m² of 400 m²)
    s = make_scene([box(0, 0, 20, 20), box(20, 0, 40, 20)], [box(0, 0, 5, 5)])
    with pytest.warns(DataQualityWarning, match="no vegetation layer"):
        r = veg.ratios(s)
    u = r.units
    assert u["built_area"].tolist() == pytest.approx([25.0, 0.0], abs=AREA_TOL)
    assert u["built_share"].tolist() == pytest.approx([25 / 400, 0.0])
    for c in (
        "vegetation_area",
        "canopy_area",
        "low_vegetation_area",
        "open_area",
        "pleine_terre_area",
        "green_area",
        "green_roof_area",
        "green_wall_area",
        "vegetation_share",
        "pleine_terre_share",
        "open_share",
        "weighted_area",
        "biotope_coefficient",
    ):
        assert u[c].isna().all(), c
    sm = r.summary()
    assert sm["built_share"] == pytest.approx(25 / 800)
    assert sm["vegetation_share"] is None and sm["biotope_coefficient"] is None
    assert any("no vegetation layer" in m for m in sm["missing_layers"])
    line = r.summary_lines()[0]
    assert "vegetation unknown" in line and "CBS unknown" in line and "built 3%" in line
    # the map says so too (grey units, the missing layer named)
    import matplotlib.pyplot as plt

    ax = r.plot("vegetation_share")
    assert any("no vegetation layer" in t.get_text() for t in ax.texts)
    plt.close("all")
    # declared absent on purpose: a measured zero, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        u = veg.ratios(s, absent="vegetation").units
    cols = list(veg.AREA_COLUMNS) + list(veg.SHARE_COLUMNS) + ["biotope_coefficient"]
    assert not u[cols].isna().any().any()
    assert (u["vegetation_area"] == 0).all() and (u["biotope_coefficient"] == 0).all()
    with pytest.raises(InputError, match="absent='trees'"):
        veg.ratios(s, absent=("vegetation", "trees"))


def test_no_buildings_layer_leaves_built_unknown():
    # vegetation without footprints: built, open and green roofs unknown (so
    # the CBS too), the lawn (10 × 20 = 200 m² of 400) still measured
    s = make_scene([box(0, 0, 20, 20)], vegetation=[box(0, 0, 10, 20)], kinds=["lawn"])
    with pytest.warns(DataQualityWarning, match="no buildings layer"):
        u = veg.ratios(s).units.iloc[0]
    assert u["pleine_terre_area"] == pytest.approx(200.0, abs=AREA_TOL)
    assert u["vegetation_share"] == pytest.approx(0.5)
    for c in ("built_area", "built_share", "unbuilt_share", "open_area"):
        assert np.isnan(u[c]), c
    assert np.isnan(u["green_roof_area"]) and np.isnan(u["biotope_coefficient"])
    u = veg.ratios(s, absent="buildings").units.iloc[0]
    assert u["built_area"] == 0 and u["biotope_coefficient"] == pytest.approx(0.5)
    # buildings without a green_roof column and no vegetation layer: green
    # roofs unknown; with the column they are measured (0 here)
    s = make_scene([box(0, 0, 20, 20)], [box(0, 0, 10, 10)])
    with pytest.warns(DataQualityWarning, match="green-roof"):
        assert np.isnan(veg.ratios(s).units.iloc[0]["green_roof_area"])
    s = make_scene([box(0, 0, 20, 20)], [box(0, 0, 10, 10)], green_roof=[True])
    with pytest.warns(DataQualityWarning, match="no vegetation layer"):
        u = veg.ratios(s).units.iloc[0]
    assert u["green_roof_area"] == pytest.approx(100.0, abs=AREA_TOL)


def test_unknown_quantities_are_not_checkable_not_failing(rules):
    # UG minima (CBS 0.3, pleine terre 0.2) on parcels with buildings but no
    # vegetation layer: every rule is on an unknown quantity, so no parcel is
    # "below the PLU minimum": status NA, compliant NA, failing 0, checked 0,
    # not_checkable 2
    s = cc.Scene()
    s.add_zones(gdf([box(0, 0, 40, 20)], libelle=["UG"]), rules=rules)
    s.add_parcels(gdf([box(0, 0, 20, 20), box(20, 0, 40, 20)]))
    s.add_buildings(gdf([box(0, 0, 10, 20)], height=10.0))
    with pytest.warns(DataQualityWarning):
        r = veg.ratios(s)
    u = r.units
    assert u["biotope_ok"].isna().all() and u["pleine_terre_ok"].isna().all()
    assert u["compliant"].isna().all() and len(r.failing) == 0
    assert u["missing_weighted_m2"].isna().all()
    sm = r.summary()
    assert (sm["failing"], sm["checked"], sm["not_checkable"]) == (0, 0, 2)
    lines = r.summary_lines()
    assert any("2 not checkable" in x for x in lines)
    assert not any("below the PLU minimum" in x for x in lines)
    # one rule known and failing, another unknown: the unit fails (False)
    u2 = veg.ratios(s, absent="vegetation").units
    assert (~u2["biotope_ok"]).all() and (~u2["compliant"]).all()


def test_zone_and_custom_units():
    # two zones splitting the block at x = 20; a custom 2 × 1 grid
    s = make_scene(
        [box(0, 0, 20, 20), box(20, 0, 40, 20)],
        [box(10, 0, 30, 10)],
        [box(0, 10, 40, 20)],
        ["lawn"],
        zones=(["UG", "UV"], [box(0, 0, 20, 20), box(20, 0, 40, 20)]),
    )
    z = veg.ratios(s, by="zone").units.set_index("libelle")
    assert z.loc["UG", "built_area"] == pytest.approx(100.0, abs=AREA_TOL)
    assert z.loc["UV", "pleine_terre_area"] == pytest.approx(200.0, abs=AREA_TOL)
    grid = gpd.GeoDataFrame(geometry=[box(0, 0, 15, 20), box(15, 0, 40, 20)], crs=CRS)
    c = veg.ratios(s, by=grid).units
    assert list(c["libelle"]) == ["UG", "UV"]  # zone of largest overlap
    assert c["built_area"].tolist() == pytest.approx([50.0, 150.0], abs=AREA_TOL)
    # reprojected input (WGS84) gives the same areas within 1e-3 m²
    with pytest.warns(ReprojectionWarning):
        c2 = veg.ratios(s, by=grid.to_crs(4326)).units
    np.testing.assert_allclose(c2["built_area"], c["built_area"], atol=1e-3)


rect = st.tuples(
    st.integers(0, 30), st.integers(0, 30), st.integers(1, 15), st.integers(1, 15)
).map(lambda t: box(t[0], t[1], t[0] + t[2], t[1] + t[3]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    buildings=st.lists(rect, max_size=4),
    lawns=st.lists(rect, max_size=4),
    crowns=st.lists(rect, max_size=4),
    extra=rect,
)
def test_invariants_property(buildings, lawns, crowns, extra):
    # invariants on random overlapping rectangles (integer grid: many shared
    # edges): the cover partition sums to the area; adding a lawn never lowers
    # pleine terre; adding a building never raises pleine terre nor vegetation;
    # reference for the absolute values: GEOS union/difference
    parcels = [box(0, 0, 20, 45), box(20, 0, 45, 20), box(20, 20, 45, 45)]
    U = gpd.GeoSeries(parcels, crs=CRS)

    def run(b, g, c):
        v = gdf(g + c, kind=["lawn"] * len(g) + ["tree"] * len(c)) if g or c else None
        return veg.cover_areas(U, buildings=b or None, vegetation=v)

    a = run(buildings, lawns, crowns)
    np.testing.assert_allclose(
        a["built_area"] + a["vegetation_area"] + a["open_area"],
        a["area"],
        atol=AREA_TOL,
    )
    B = shapely.union_all(buildings) if buildings else shapely.Polygon()
    G = shapely.union_all(lawns) if lawns else shapely.Polygon()
    for i, p in enumerate(parcels):
        assert a["pleine_terre_area"].iloc[i] == pytest.approx(
            p.intersection(G.difference(B)).area, abs=AREA_TOL
        )
    more_lawn = run(buildings, lawns + [extra], crowns)
    assert (more_lawn["pleine_terre_area"] >= a["pleine_terre_area"] - AREA_TOL).all()
    more_built = run(buildings + [extra], lawns, crowns)
    assert (more_built["pleine_terre_area"] <= a["pleine_terre_area"] + AREA_TOL).all()
    assert (more_built["vegetation_area"] <= a["vegetation_area"] + AREA_TOL).all()


# ---------------------------------------------------------------------------------
# biotope coefficient, rules, compliance, what would it take
# ---------------------------------------------------------------------------------
def test_biotope_coefficient_with_rule_pack(rules):
    # parcel UG: 400 m², built 200 m² with a shallow green roof on 100 m²,
    # lawn 50 m², green wall 20 m² of facade (zone weight 0.5):
    # weighted = 50 + 0.5 × 100 + 0.5 × 20 = 110 -> CBS 0.275 < 0.3 (fail)
    # pleine terre 50 / 400 = 0.125 < 0.2 -> missing 30 m²; CBS missing 10 m²
    s = cc.Scene()
    s.add_zones(
        gdf([box(0, 0, 40, 20), box(40, 0, 80, 20)], libelle=["UG", "UV"]), rules=rules
    )
    s.add_parcels(gdf([box(0, 0, 20, 20), box(20, 0, 40, 20), box(40, 0, 60, 20)]))
    s.add_buildings(gdf([box(0, 0, 10, 20)], height=10.0, green_roof=[False]))
    s.add_vegetation(
        gdf(
            [
                box(0, 0, 5, 20),
                box(10, 10, 20, 15),
                box(10, 0, 20, 0.5),
                box(20, 0, 40, 20),
                box(40, 0, 60, 10),
            ],
            kind=["green_roof", "lawn", "green_wall", "lawn", "lawn"],
            wall_area=[np.nan, np.nan, 20.0, np.nan, np.nan],
        )
    )
    r = veg.biotope_coefficient(s)
    u = r.units
    p0 = u.iloc[0]
    assert p0["green_roof_shallow_area"] == pytest.approx(100.0, abs=AREA_TOL)
    assert p0["weighted_area"] == pytest.approx(50 + 50 + 10)
    assert p0["biotope_coefficient"] == pytest.approx(110 / 400)
    assert p0["min_biotope_coefficient"] == 0.3
    assert not p0["biotope_ok"] and not p0["pleine_terre_ok"] and not p0["compliant"]
    assert p0["missing_weighted_m2"] == pytest.approx(0.3 * 400 - 110)
    assert p0["missing_pleine_terre_m2"] == pytest.approx(0.2 * 400 - 50)
    # closing the CBS gap: 10 m² de-paved (1.0 - 0.0) or 20 m² green roof (0.5)
    assert p0["depave_m2"] == pytest.approx(10.0) and p0[
        "green_roof_needed_m2"
    ] == pytest.approx(20.0)
    assert "pleine terre +30 m²" in p0["what_would_it_take"]
    # second UG parcel fully lawn: passes; UV parcel: only pleine terre rule
    assert bool(u.iloc[1]["compliant"])
    p2 = u.iloc[2]
    assert pd.isna(p2["biotope_ok"]) and not p2["pleine_terre_ok"]
    assert p2["missing_pleine_terre_m2"] == pytest.approx(0.7 * 400 - 200)
    assert set(r.failing.index) == {u.index[0], u.index[2]}
    # weights table: one row per zone, zone override applied
    assert (
        r.weights.loc["UG", "green_wall"] == 0.5
        and r.weights.loc["UV", "green_wall"] == 0.2
    )
    # re-weighting without geometry: user weights override the pack
    r2 = veg.biotope_coefficient(r, weights={"green_roof_shallow": 0.7})
    assert r2.units.iloc[0]["weighted_area"] == pytest.approx(50 + 70 + 10)
    # DataFrame form
    cbs = veg.biotope_coefficient(
        u[list(veg.AREA_COLUMNS)], weights=dict(rules.weights("UG"))
    )
    assert cbs.iloc[0] == pytest.approx(110 / 400)
    # summary: area-weighted CBS and failing counts per zone
    sm = r.by_zone
    assert sm.loc["UG", "failing"] == 1 and sm.loc["UV", "failing"] == 1
    assert sm.loc["all", "biotope_coefficient"] == pytest.approx(
        u["weighted_area"].sum() / u["area"].sum()
    )
    assert any("zone UG" in line for line in r.summary_lines())


def test_rules_false_and_no_pack():
    s = make_scene([box(0, 0, 10, 10)])
    r = veg.ratios(s, rules=False)
    assert "compliant" not in r.units and len(r.failing) == 0


def test_bad_arguments():
    s = make_scene([box(0, 0, 10, 10)])
    with pytest.raises(InputError, match="unknown by"):
        veg.ratios(s, by="block")
    with pytest.raises(InputError, match="unknown source"):
        veg.ratios(s, source="lidar")
    with pytest.raises(InputError, match="surface type 'moss'"):
        veg.ratios(s, weights={"moss": 0.5})
    with pytest.raises(InputError, match="outside"):
        veg.ratios(s, weights={"green_wall": 1.5})
    with pytest.raises(InputError, match="needs landcover"):
        veg.ratios(s, source="raster")
    s.add_vegetation(gdf([box(0, 0, 1, 1)], kind=["moss"]))
    with pytest.raises(InputError, match="unknown vegetation kind"):
        veg.ratios(s)
    # the same kind mapped by the user works
    u = veg.ratios(s, kinds={"moss": "ground"}).units.iloc[0]
    assert u["pleine_terre_area"] == pytest.approx(1.0)


def test_thresholds_checked_on_every_path():
    # NDVI is a normalised difference in [-1, 1] and a canopy height a length
    # >= 0: refused on the vector path too (before: accepted and ignored there,
    # refused only once a raster was given)
    s = make_scene([box(0, 0, 10, 10)], [box(2, 2, 6, 6)], [box(6, 6, 9, 9)], ["lawn"])
    with pytest.raises(InputError, match=r"ndvi_threshold .*\[-1, 1\]; got 2"):
        veg.ratios(s, ndvi_threshold=2.0)
    with pytest.raises(InputError, match=r"min_canopy_height .*>= 0 m; got -2"):
        veg.ratios(s, min_canopy_height=-2.0)
    with pytest.raises(InputError, match=r"min_canopy_height .*got 'tall'"):
        veg.ratios(s, min_canopy_height="tall")
    with pytest.raises(InputError, match=r"ndvi_threshold .*got nan"):
        veg.ratios(s, ndvi_threshold=float("nan"))
    # the bounds themselves are valid
    u = veg.ratios(s, ndvi_threshold=-1.0, min_canopy_height=0.0).units.iloc[0]
    assert u["built_area"] == pytest.approx(16.0, abs=AREA_TOL)


def test_by_is_keyword_only_softly():
    # ratios(scene, *, by=...): the old positional call still works for one
    # release, with a FutureWarning, and gives the same table
    zones = (["UA", "UB"], [box(0, 0, 10, 10), box(10, 0, 20, 10)])
    s = make_scene([box(0, 0, 10, 10), box(10, 0, 20, 10)], [box(2, 2, 6, 6)],
                   [box(12, 2, 15, 5)], ["lawn"], zones=zones)
    with pytest.warns(FutureWarning, match="by="):
        old = veg.ratios(s, "zone").units
    pd.testing.assert_frame_equal(
        pd.DataFrame(old.drop(columns="geometry")),
        pd.DataFrame(veg.ratios(s, by="zone").units.drop(columns="geometry")),
    )
    # biotope_coefficient passes by= on without a FutureWarning of its own
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        veg.biotope_coefficient(s, "zone")


# ---------------------------------------------------------------------------------
# raster path
# ---------------------------------------------------------------------------------
def _grid(res=1.0, n=60):
    return Affine(res, 0, X0 - 5.3, 0, -res, Y0 + n * res - 5.3), (n, n)


def test_raster_agrees_with_vector_within_boundary_cells():
    # same shapes (discs, squares not aligned with the 1 m grid) burnt into a
    # land-cover raster by pixel centre; reference: the vector path; tolerance:
    # one pixel area per cell crossed by a unit or class boundary
    from rasterio.features import rasterize

    transform, shape = _grid()
    parcels = [
        box(0, 0, 23.3, 21.7),
        box(23.3, 0, 47.1, 21.7),
        box(0, 21.7, 47.1, 45.2),
    ]
    build = [box(2.2, 1.4, 14.6, 9.9), box(30.1, 25.5, 44.4, 40.3)]
    lawn = [box(1.1, 12.2, 45.5, 20.3), box(3.3, 24.4, 25.1, 43.8)]
    trees = [disc(12.5, 16.4, 4.6), disc(24.0, 30.0, 6.1), disc(40.2, 8.8, 3.7)]
    classes = {1: "paved", 2: "building", 3: "tree", 5: "grass"}
    lc = rasterize(
        [(g, 5) for g in lawn] + [(g, 3) for g in trees] + [(g, 2) for g in build],
        out_shape=shape,
        transform=transform,
        fill=1,
        dtype="int32",
    )
    ra = veg.raster_cover_areas(
        gpd.GeoSeries(parcels, crs=CRS), landcover=(lc, transform, CRS), classes=classes
    )
    # vector equivalent of the land cover: pixel classes "tree" hide the grass
    # under them (a land cover sees only the top), so the vector layer drops
    # the lawn under crowns: pleine terre = lawn minus crowns minus buildings
    G = shapely.union_all(lawn).difference(shapely.union_all(trees))
    v = gpd.GeoDataFrame(
        {"kind": ["lawn", "tree", "tree", "tree"]},
        geometry=[G] + trees,
        crs=CRS,
    )
    va = veg.cover_areas(gpd.GeoSeries(parcels, crs=CRS), buildings=build, vegetation=v)
    edge_cells = rasterize(
        [(g, 1) for g in [*map(shapely.boundary, parcels + build + lawn + trees)]],
        out_shape=shape,
        transform=transform,
        fill=0,
        all_touched=True,
        dtype="uint8",
    )
    unit_lab = rasterize(
        [(g, i + 1) for i, g in enumerate(parcels)],
        out_shape=shape,
        transform=transform,
        dtype="int32",
    )
    px = abs(transform.a * transform.e)
    for i in range(len(parcels)):
        # boundary cells touching this unit (its own edge cells included)
        near = shapely.buffer(parcels[i], 1.5)
        cells = rasterize(
            [(near, 1)], out_shape=shape, transform=transform, dtype="uint8"
        )
        tol = px * int((edge_cells & cells).sum())
        assert (unit_lab == i + 1).sum() * px == pytest.approx(
            ra["observed_area"].iloc[i]
        )
        for col in (
            "built_area",
            "canopy_area",
            "pleine_terre_area",
            "low_vegetation_area",
            "open_area",
        ):
            assert abs(ra[col].iloc[i] - va[col].iloc[i]) <= tol, (i, col)
        # the raster pixel count is the exact reference of the raster path
        assert ra["built_area"].iloc[i] == pytest.approx(
            ((lc == 2) & (unit_lab == i + 1)).sum() * px
        )


def test_raster_ndvi_cdsm_and_overlapping_units():
    # 10 × 10 px; left half grass (NDVI 0.6), right half paved (0.1); CDSM 8 m
    # on a 4 × 4 block straddling both halves -> canopy 16 px, pleine terre =
    # grass pixels (50) including the 8 under the crown, low veg 42
    t = Affine(1, 0, X0, 0, -1, Y0 + 10)
    ndvi = np.full((10, 10), 0.1)
    ndvi[:, :5] = 0.6
    cdsm = np.zeros((10, 10))
    cdsm[3:7, 3:7] = 8.0
    lc = np.where(ndvi > 0.5, 5, 1)
    u = [box(0, 0, 10, 10), box(0, 0, 5, 10)]  # overlapping units
    a = veg.raster_cover_areas(u, landcover=(lc, t), cdsm=(cdsm, t), crs=CRS)
    assert a["canopy_area"].tolist() == [16.0, 8.0]
    assert a["pleine_terre_area"].tolist() == [50.0, 50.0]
    assert a["low_vegetation_area"].tolist() == [42.0, 42.0]
    # NDVI + CDSM without land cover: vegetation under the crown is canopy
    b = veg.raster_cover_areas(u, ndvi=(ndvi, t), cdsm=(cdsm, t), ndvi_threshold=0.3)
    assert b["pleine_terre_area"].tolist() == [42.0, 42.0]
    assert b["canopy_area"].tolist() == [16.0, 8.0]
    # the CDSM threshold matters
    c = veg.raster_cover_areas(u, cdsm=(cdsm, t), min_canopy_height=10.0)
    assert c["canopy_area"].tolist() == [0.0, 0.0]


def test_raster_errors():
    t = Affine(1, 0, X0, 0, -1, Y0 + 10)
    u = [box(0, 0, 10, 10)]
    with pytest.raises(InputError, match="differs"):
        veg.raster_cover_areas(
            u, landcover=(np.ones((10, 10)), t), cdsm=(np.ones((5, 5)), t)
        )
    with pytest.raises(InputError, match="code 9"):
        veg.raster_cover_areas(u, landcover=(np.full((10, 10), 9), t))
    with pytest.raises(CRSError, match="EPSG:3007"):
        veg.raster_cover_areas(
            gpd.GeoSeries(u, crs=CRS), landcover=(np.ones((10, 10)), t, "EPSG:3007")
        )
    with pytest.raises(InputError, match="does not exist"):
        veg.raster_cover_areas(u, landcover="/nonexistent/lc.tif")


def test_gothenburg_landcover_and_canopy_rasters(shared_data):
    # real UMEP rasters (EPSG:3007, 1 m): land cover classes 1-7 + CDSM.
    # Reference: numpy pixel counts per 50 m block, computed independently
    import rasterio

    folder = shared_data / "dem" / "goteborg_kronenhuset"
    with rasterio.open(folder / "landcover.tif") as ds:
        lc = ds.read(1)
        t = ds.transform
    with rasterio.open(folder / "CDSM_KRbig.tif") as ds:
        h = ds.read(1)
    rows, cols = lc.shape
    x0, y1 = t.c, t.f
    blocks, lab = [], np.zeros(lc.shape, int)
    for y in range(0, rows - rows % 50, 50):
        for x in range(0, cols - cols % 50, 50):
            blocks.append(shapely.box(x0 + x, y1 - y - 50, x0 + x + 50, y1 - y))
            lab[y : y + 50, x : x + 50] = len(blocks)
    units = gpd.GeoSeries(blocks, crs="EPSG:3007")
    a = veg.raster_cover_areas(
        units,
        landcover=folder / "landcover.tif",
        cdsm=folder / "CDSM_KRbig.tif",
        min_canopy_height=2.0,
    )
    built = np.bincount(
        lab.ravel(), weights=(lc == 2).ravel(), minlength=len(blocks) + 1
    )[1:]
    canopy = np.bincount(
        lab.ravel(), weights=((lc != 2) & (h >= 2.0)).ravel(), minlength=len(blocks) + 1
    )[1:]
    grass = np.bincount(
        lab.ravel(), weights=(lc == 5).ravel(), minlength=len(blocks) + 1
    )[1:]
    np.testing.assert_allclose(a["built_area"], built)  # 1 m² pixels: exact counts
    np.testing.assert_allclose(a["canopy_area"], canopy)
    np.testing.assert_allclose(a["pleine_terre_area"], grass)
    np.testing.assert_allclose(a["observed_area"], 2500.0)
    assert a["canopy_area"].sum() > 500 and a["built_area"].sum() > 5000  # real content
    # the scene path reads the same rasters
    s = cc.Scene(crs="EPSG:3007")
    s.add_parcels(gpd.GeoDataFrame(geometry=blocks, crs="EPSG:3007"))
    r = veg.ratios(
        s, landcover=folder / "landcover.tif", cdsm=folder / "CDSM_KRbig.tif"
    )
    assert r.source == "raster"
    np.testing.assert_allclose(r.units["canopy_area"].to_numpy(), canopy)


# ---------------------------------------------------------------------------------
# real parcels: Paris 18e cadastre through the vector path
# ---------------------------------------------------------------------------------
def test_paris_18e_parcels_with_synthetic_vegetation(shared_data):
    # real Etalab parcels (WGS84 -> Lambert-93), the western third of the 18e
    # (~2,000 parcels) to keep the test short; synthetic layers: a "building" =
    # parcel shrunk by 3 m (on 60 %), a lawn = the ring between -1 and -3 m (on
    # 50 %), 4 m crowns at random points. Reference on 300 parcels: GEOS
    # union/difference/intersection of the features near each parcel;
    # tolerance 1e-6 m² + 1e-9 relative
    p = gpd.read_file(shared_data / "france" / "cadastre-75118-parcelles.json")
    p = p.to_crs(CRS)
    xmin, _, xmax, _ = p.total_bounds
    p = p[p.geometry.is_valid & (p.geometry.area > 50)]
    p = p[p.geometry.centroid.x < xmin + (xmax - xmin) / 3].reset_index(drop=True)
    assert len(p) > 1000
    rng = np.random.default_rng(18)
    g = p.geometry.values
    inner = shapely.buffer(g, -3.0)
    keep = ~shapely.is_empty(inner) & (rng.random(len(g)) < 0.6)
    lawn = shapely.difference(shapely.buffer(g, -1.0), inner)
    lawn = lawn[~shapely.is_empty(lawn) & (rng.random(len(g)) < 0.5)]
    b = p.total_bounds
    pts = shapely.points(rng.uniform(b[0], b[2], 2000), rng.uniform(b[1], b[3], 2000))
    crowns = shapely.buffer(pts, 4.0, quad_segs=8)
    kinds = ["lawn"] * len(lawn) + ["tree"] * len(crowns)
    s = cc.Scene()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s.add_parcels(p)
        s.add_buildings(gdf(inner[keep], height=12.0))
        s.add_vegetation(gdf(np.r_[lawn, crowns], kind=kinds))
    r = veg.ratios(s)
    assert len(r) == len(p)
    u = r.units
    layers = {
        "B": s.buildings.geometry.values,
        "C": crowns,
        "G": s.vegetation.geometry.values[s.vegetation["kind"].to_numpy() == "lawn"],
    }
    trees = {k: shapely.STRtree(v) for k, v in layers.items()}

    def near(k, geom):
        return shapely.union_all(layers[k][trees[k].query(geom)])

    for k in rng.choice(len(p), 300, replace=False):
        pg = s.parcels.geometry.values[k]
        row = u.iloc[k]
        B, C, G = near("B", pg), near("C", pg), near("G", pg)
        assert row["built_area"] == pytest.approx(
            pg.intersection(B).area, abs=AREA_TOL, rel=1e-9
        )
        assert row["canopy_area"] == pytest.approx(
            pg.intersection(C.difference(B)).area, abs=AREA_TOL, rel=1e-9
        )
        assert row["pleine_terre_area"] == pytest.approx(
            pg.intersection(G.difference(B)).area, abs=AREA_TOL, rel=1e-9
        )
    # cover partition on every parcel
    tot = u["built_area"] + u["vegetation_area"] + u["open_area"]
    np.testing.assert_allclose(tot, u["area"], rtol=1e-9, atol=AREA_TOL)
    assert u["canopy_area"].sum() > 1000 and u["pleine_terre_area"].sum() > 1000


# ---------------------------------------------------------------------------------
# outputs
# ---------------------------------------------------------------------------------
def test_plot_and_files(tmp_path, rules):
    s = cc.Scene()
    s.add_zones(gdf([box(0, 0, 40, 20)], libelle=["UG"]), rules=rules)
    s.add_parcels(gdf([box(0, 0, 20, 20), box(20, 0, 40, 20)]))
    s.add_vegetation(gdf([box(20, 0, 40, 20)], kind=["lawn"]))
    r = veg.ratios(s, absent="buildings")
    png = tmp_path / "map.png"
    ax = r.plot("vegetation_share", path=png, lang="en")
    assert png.stat().st_size > 5000
    import matplotlib.pyplot as plt

    img = plt.imread(png)
    assert img[..., :3].std() > 0.05  # not blank
    # the colour bar is there
    assert any("Vegetation (canopy + low vegetation) (%)" in a.get_ylabel() for a in ax.figure.axes)
    plt.close("all")
    with pytest.raises(InputError, match="unknown column"):
        r.plot("nope")
    csv = r.to_file(tmp_path / "v.csv")
    back = pd.read_csv(csv, index_col=0)
    assert back["pleine_terre_area"].tolist() == pytest.approx([0.0, 400.0])
    gp = r.to_file(tmp_path / "v.gpkg")
    assert len(gpd.read_file(gp)) == 2
    assert "VegetationResult" in repr(r) and "<table" in r._repr_html_()


def test_result_protocol(tmp_path, rules):
    # VegetationResult follows cimcity.results.Result: main table = units,
    # summary() a dict of plain values (None: unknown), files by suffix (parent
    # folders created, nullable-bool compliance columns with NA included),
    # plot(column=None, *, ax=None) returns the axes
    import matplotlib.pyplot as plt

    s = cc.Scene()
    s.add_zones(
        gdf([box(0, 0, 40, 20), box(40, 0, 80, 20)], libelle=["UG", "UV"]), rules=rules
    )
    s.add_parcels(gdf([box(0, 0, 20, 20), box(20, 0, 40, 20), box(40, 0, 60, 20)]))
    s.add_vegetation(gdf([box(20, 0, 40, 20)], kind=["lawn"]))
    r = veg.ratios(s, absent="buildings")
    assert r.table is r.units and list(r.tables()) == ["units", "by_zone", "weights"]
    sm = r.summary()
    assert isinstance(sm, dict) and sm["units"] == 3 and sm["source"] == "vector"
    assert all(
        v is None or type(v) in (int, float, str, bool, list) for v in sm.values()
    )
    assert sm["biotope_coefficient"] == pytest.approx(
        r.by_zone.loc["all", "biotope_coefficient"]
    )
    assert sm["failing"] == int(r.by_zone.loc["all", "failing"]) == len(r.failing)
    assert veg.ratios(cc.Scene()).summary()["vegetation_share"] is None
    assert pd.isna(r.units["biotope_ok"]).any()  # NA status (UV: no CBS rule)
    for suffix in (".gpkg", ".parquet", ".csv"):
        f = r.to_file(tmp_path / "out" / f"v{suffix}")
        back = (
            gpd.read_file(f)
            if suffix == ".gpkg"
            else (pd.read_parquet(f) if suffix == ".parquet" else pd.read_csv(f))
        )
        assert len(back) == 3 and "pleine_terre_area" in back
    z = pd.read_csv(r.to_file(tmp_path / "z.csv", layer="by_zone"), index_col=0)
    assert list(z.index) == ["UG", "UV", "all"]
    with pytest.raises(InputError, match="unknown file type"):
        r.to_file(tmp_path / "v.shp")
    with pytest.raises(InputError, match="unknown layer"):
        r.to_file(tmp_path / "v.gpkg", layer="nope")
    ax = r.plot(lang="en")
    assert "Vegetation (canopy + low vegetation)" in ax.get_title()
    _, ax2 = plt.subplots()
    assert r.plot("built_share", ax=ax2) is ax2
    plt.close("all")


def test_sample_district_fingerprint(paris):
    # regression fingerprint on the bundled sample (see DESIGN: momepy-style
    # checks): the parcel partition sums to the parcel areas, green roofs equal
    # the flagged roofs, zones UG/UV get their own weights and minima
    r = veg.ratios(paris)
    u = r.units
    assert len(u) == len(paris.parcels)
    np.testing.assert_allclose(
        u["built_area"] + u["vegetation_area"] + u["open_area"], u["area"], rtol=1e-9
    )
    B = paris.buildings
    flagged = B[B["green_roof"].astype(bool)]
    assert u["green_roof_area"].sum() == pytest.approx(
        shapely.union_all(flagged.geometry.values)
        .intersection(shapely.union_all(paris.parcels.geometry.values))
        .area,
        rel=1e-6,
    )
    assert set(r.weights.index) >= {"UG"}
    assert (
        "min_biotope_coefficient" in u
        and u.loc[u["libelle"] == "UG", "min_biotope_coefficient"].eq(0.3).all()
    )
    assert ((u["biotope_coefficient"] >= 0) & (u["biotope_coefficient"] <= 1.5)).all()


def test_demo_step(paris, tmp_path):
    # the demo step writes its files and reports the project's effect
    from cimcity.commands.demo import vegetation as step

    lines = []
    out = step.run(paris, tmp_path, lines.append)
    for f in out["files"]:
        assert (tmp_path / f.split("/")[-1]).stat().st_size > 0
    assert out["parcels"] == len(paris.parcels)
    assert any("CBS weights (UG)" in line for line in lines)
    if "project" in out:  # needs the ifc extra to read the project
        assert out["project"]["cbs_after"][0] < out["project"]["cbs_before"][0]
