"""Sensors: sampling mesh faces, the ground grid, the one resolution routine.

References: exact face areas (sensor areas must sum to them per plane),
shapely footprints, and analytic grids on rectangles.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import shapely

import cimcity as cc
from cimcity.errors import InputError
from cimcity.mesh import extrude_buildings
from cimcity.sun.sensors import Sensors, ground_grid, resolve, sample
from cimcity.testing import lone_box, street_canyon

X0, Y0 = 649_800.0, 6_865_400.0

COURTYARD = shapely.box(X0, Y0, X0 + 30, Y0 + 20).difference(shapely.box(X0 + 10, Y0 + 5, X0 + 20, Y0 + 15))
L_SHAPE = shapely.Polygon([(X0 + 200, Y0), (X0 + 230, Y0), (X0 + 230, Y0 + 10), (X0 + 210, Y0 + 10), (X0 + 210, Y0 + 30), (X0 + 200, Y0 + 30)])


def _plane_groups(m, faces):
    """Faces grouped by building, kind and plane (independent of mesh.py's keys)."""
    n = np.round(m.face_normals, 6)
    d = np.round(np.einsum("ij,ij->i", m.face_normals, m.triangles[:, 0]), 4)
    key = np.column_stack([m.face_building, m.face_kind, n, d])[faces]
    return np.unique(key, axis=0, return_inverse=True)[1].ravel()


def test_sensor_areas_sum_to_face_areas_and_points_lie_on_faces():
    m = extrude_buildings([COURTYARD, L_SHAPE], [0.0, 0.0], [12.0, 9.0])
    s = sample(m, spacing=0.7, kinds=("roof", "wall"), offset=0.0)
    faces = m.kind_mask(("roof", "wall"))
    assert s.areas.sum() == pytest.approx(m.face_areas[faces].sum(), rel=1e-12)
    # per plane (building, kind, plane): sensors stand for the exact area of
    # the coplanar faces (triangle clipping is exact up to round-off, 1e-12)
    fidx = np.flatnonzero(faces)
    g = _plane_groups(m, faces)
    gid = np.full(m.n_faces, -1)
    gid[fidx] = g
    per_plane = np.bincount(gid[s.face], weights=s.areas, minlength=g.max() + 1)
    want = np.bincount(g, weights=m.face_areas[fidx])
    np.testing.assert_allclose(per_plane, want, rtol=1e-12)
    # each point is on its face's plane (offset 0)
    v0 = m.triangles[s.face][:, 0] + m.origin
    d = np.einsum("ij,ij->i", s.points - v0, m.face_normals[s.face])
    assert np.abs(d).max() < 1e-6
    # roof points lie inside their footprint (shapely, 1e-9 m on the boundary)
    roof = s.kind == "roof"
    fp = np.array([COURTYARD, L_SHAPE])[m.face_building[s.face[roof]]]
    pts = shapely.points(s.points[roof, 0], s.points[roof, 1])
    assert shapely.dwithin(fp, pts, 1e-9).all()
    # density: about 1 sensor per spacing^2 (cells are 0.67-1.5 spacing wide)
    dens = len(s) * 0.49 / m.face_areas[faces].sum()
    assert 0.8 < dens < 1.4


def test_sensor_grid_fits_rectangles_exactly():
    # a 10 x 6 box, 3.3 m high: roof cells 1 x 1 m centred on the metre grid,
    # walls round(10)=10 or round(6)=6 columns x round(3.3)=3 rows of 1.1 m
    m = extrude_buildings([shapely.box(X0, Y0, X0 + 10, Y0 + 6)], [0.0], [3.3])
    s = sample(m, 1.0, offset=0.0)
    roof = s.kind == "roof"
    assert roof.sum() == 60 and np.allclose(s.areas[roof], 1.0, rtol=1e-12)
    got = np.sort(np.round((s.points[roof, 0] - X0) * 10 + (s.points[roof, 1] - Y0) * 1000))
    want = np.sort([(i + 0.5) * 10 + (j + 0.5) * 1000 for i in range(10) for j in range(6)])
    np.testing.assert_array_equal(got, want)
    wall = s.kind == "wall"
    assert wall.sum() == 2 * (10 + 6) * 3
    np.testing.assert_allclose(s.areas[wall], 1.1, rtol=1e-12)
    np.testing.assert_allclose(np.unique(np.round(s.points[wall, 2], 9)), [0.55, 1.65, 2.75])


def test_sliver_triangles_do_not_inflate_sensor_count():
    # a 40 x 1.2 m strip and a 30-gon ring: footprint triangulation makes long
    # slivers; the per-plane grid still gives about area / spacing^2 roof sensors
    ring = shapely.Point(X0, Y0).buffer(15, quad_segs=8).difference(
        shapely.Point(X0, Y0).buffer(13, quad_segs=8)
    )
    strip = shapely.box(X0 + 50, Y0, X0 + 90, Y0 + 1.2)
    m = extrude_buildings([ring, strip], [0.0, 0.0], [10.0, 10.0])
    s = sample(m, 0.5, kinds=("roof",), offset=0.0)
    for i, g in enumerate((ring, strip)):
        sel = m.face_building[s.face] == i
        assert s.areas[sel].sum() == pytest.approx(g.area, rel=1e-12)
        # cells are 0.67-1.5 spacing wide (strip: 80 x 2 cells of 0.5 x 0.6 m);
        # ring: boundary cells add partial cells along the perimeter
        assert 0.6 * g.area / 0.25 <= sel.sum() <= 1.6 * g.area / 0.25, (i, sel.sum())


def test_sensor_offset_moves_points_along_normals():
    m = extrude_buildings([shapely.box(X0, Y0, X0 + 4, Y0 + 4)], [0.0], [4.0])
    a = sample(m, 1.0, offset=0.0)
    b = sample(m, 1.0, offset=0.25)
    assert np.allclose(b.points - a.points, 0.25 * a.normals)


def test_bad_spacing_and_kinds_raise():
    m = extrude_buildings([shapely.box(0, 0, 1, 1)], [0.0], [1.0])
    with pytest.raises(InputError, match="spacing"):
        sample(m, 0.0)
    with pytest.raises(InputError, match="unknown surface kind 'roofs'"):
        sample(m, 1.0, kinds=("roofs",))


# -- the one sensor type --------------------------------------------------------------
def test_sensors_subset_concat_and_user_points():
    a = Sensors.from_points([[0.0, 0, 1], [1, 0, 1]], [[0, 0, 2.0], [0, 3.0, 0]])
    np.testing.assert_allclose(a.normals, [[0, 0, 1], [0, 1, 0]])
    assert (a.cell == -1).all() and a.cell.shape == (2, 2) and a.grid is None
    assert list(a.kind) == ["point", "point"] and (a.face == -1).all()
    b = a.concat([a, a.subset([True, False])])
    assert len(b) == 3 and b.points[2].tolist() == [0.0, 0.0, 1.0]
    assert len(Sensors.concat([])) == 0 == len(Sensors.empty())
    f = b.to_frame(crs="EPSG:2154")
    assert list(f.columns[:10]) == ["x", "y", "z", "nx", "ny", "nz", "area", "kind", "building_id", "face"]
    with pytest.raises(InputError, match="non-zero"):
        Sensors.from_points([[0.0, 0, 0]], [[0.0, 0, 0]])


# -- ground grid and resolve --------------------------------------------------------------
def test_ground_grid_cells_lie_outside_footprints_on_their_raster():
    # Reference: the affine transform of the grid maps each sensor's (row, col)
    # back to its cell centre (exact); no sensor stands inside the footprint.
    scene = lone_box()
    g = ground_grid(scene, 2.0)
    assert len(g) and set(g.kind) == {"ground"} and (g.face == -1).all()
    t = g.grid["transform"]
    xc = t.c + (g.cell[:, 1] + 0.5) * t.a
    yc = t.f + (g.cell[:, 0] + 0.5) * t.e
    np.testing.assert_allclose(g.points[:, 0], xc, rtol=0, atol=1e-9)
    np.testing.assert_allclose(g.points[:, 1], yc, rtol=0, atol=1e-9)
    fp = scene.buildings.geometry.iloc[0]
    assert not shapely.contains(fp, shapely.points(g.points[:, :2])).any()
    np.testing.assert_allclose(g.points[:, 2], 35.05, atol=1e-12)
    np.testing.assert_allclose(g.areas, 4.0)


def test_resolve_lays_ground_grid_then_faces_and_caches_faces():
    scene = street_canyon(length=40.0)
    s = resolve(scene, surfaces=("ground", "wall", "roof"), spacing=2.0)
    kinds = list(dict.fromkeys(s.kind))
    assert kinds[0] == "ground" and set(kinds) == {"ground", "roof", "wall"}
    assert s.grid is not None and (s.cell[s.kind != "ground"] == -1).all()
    built = resolve(scene, surfaces=("roof", "wall"), spacing=2.0)
    assert resolve(scene, surfaces=("wall", "roof"), spacing=2.0) is built  # cached
    np.testing.assert_array_equal(s.points[s.kind != "ground"], built.points)
    # the same sensors as sampling the scene mesh without buried walls
    m = scene.mesh(terrain=False)
    B = scene.buildings.reindex(m.building_ids)
    ref = sample(m, 2.0, footprints=B.geometry.values, tops=B["roof_z"].to_numpy(float))
    np.testing.assert_array_equal(built.points, ref.points)
    np.testing.assert_array_equal(built.areas, ref.areas)


def test_resolve_points_and_errors():
    scene = lone_box()
    p = resolve(scene, surfaces=("roof",), points=[X0, Y0, 40.0])
    assert len(p) == 1 and p.normals.tolist() == [[0.0, 0.0, 1.0]]
    with pytest.raises(InputError, match="normals were given without points"):
        resolve(scene, normals=[0, 0, 1.0])
    with pytest.raises(InputError, match="unknown surface kind 'roofs'"):
        resolve(scene, surfaces=("roofs",))
    with pytest.raises(InputError, match="spacing"):
        resolve(scene, surfaces=("roof",), spacing=0.0)
    with pytest.raises(InputError, match="ground layout"):
        resolve(scene, surfaces=("roof",), ground="raster")


def test_terrain_surface_is_the_former_name_of_ground():
    dem = cc.Terrain.from_array(np.full((30, 40), 35.0), (X0 - 10, Y0 + 20), 1.0)
    scene = lone_box().add_terrain(dem)
    with pytest.warns(FutureWarning, match="'ground'"):
        old = resolve(scene, surfaces=("terrain",), spacing=3.0, ground="mesh")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = resolve(scene, surfaces=("ground",), spacing=3.0, ground="mesh")
    assert old is new and set(new.kind) == {"ground"} and (new.face >= 0).all()


# -- one vertical frame (issue 17) --------------------------------------------------------
def test_ground_grid_stands_on_the_known_ground_without_terrain():
    # without a DEM the open ground takes the buildings' ground_z (35 m in the
    # catalogue), and a project's base from another scene of the study
    import geopandas as gpd

    from cimcity.sun.sensors import GROUND_OFFSET
    from cimcity.testing import GROUND_Z, X0, Y0, box_project

    g = ground_grid(lone_box(), 5.0)
    np.testing.assert_allclose(g.points[:, 2], GROUND_Z + GROUND_OFFSET, atol=1e-12)
    bare = cc.Scene()  # nothing known: the relative frame, ground 0
    bare.add_parcels(
        gpd.GeoDataFrame(
            geometry=[shapely.box(X0, Y0, X0 + 60, Y0 + 60)], crs="EPSG:2154"
        )
    )
    np.testing.assert_allclose(ground_grid(bare, 5.0).points[:, 2], GROUND_OFFSET)
    after = bare.with_project(box_project((X0 + 20, Y0 + 20, X0 + 40, Y0 + 40), 45.0))
    g = ground_grid(bare, 5.0, others=(after,))
    np.testing.assert_allclose(g.points[:, 2], 45.0 + GROUND_OFFSET, atol=1e-12)


def test_ground_without_terrain_is_the_nearest_footprint_s_in_threaded_chunks():
    # ground_at queries the nearest footprint in chunks of 65,536 points on a
    # thread per core; reference: the definition (the footprint at the least
    # shapely.distance, GEOS) on 2,000 of 150,000 random points, and one
    # single-call STRtree.query_nearest on all of them. Footprints of the
    # sample district (and its BIM project's base) with their own ground
    # altitudes (34-38 m), so a wrong neighbour shows as a wrong z.
    from cimcity.scene.heights import ground_at, known_ground

    scene = cc.datasets.load("paris").copy()
    scene.terrain = None
    B = scene.buildings
    rng = np.random.default_rng(5)
    gz = rng.uniform(34.0, 38.0, len(B))
    scene.buildings["ground_z"] = gz
    lo, hi = np.asarray(scene.bounds[:2]), np.asarray(scene.bounds[2:])
    xy = rng.uniform(lo - 50, hi + 50, (150_000, 2))
    z, source = ground_at(scene, xy[:, 0], xy[:, 1])
    assert source == "buildings"
    geoms, known = known_ground(scene)
    assert len(geoms) == len(B) + len(scene.projects)
    pts = shapely.points(xy)
    one = shapely.STRtree(geoms).query_nearest(pts, all_matches=False)[1]
    np.testing.assert_array_equal(z, known[one])
    d = shapely.distance(pts[:2000, None], geoms[None, :])
    np.testing.assert_array_equal(z[:2000], known[np.argmin(d, axis=1)])


def test_missing_ground_altitudes_take_the_nearest_building_s():
    import geopandas as gpd

    from cimcity.errors import EstimateWarning
    from cimcity.testing import X0, Y0

    gdf = gpd.GeoDataFrame(
        {"height": [10.0, 10.0, 10.0], "ground_z": [40.0, np.nan, 52.0]},
        geometry=[shapely.box(X0 + 30 * i, Y0, X0 + 30 * i + 10, Y0 + 10)
                  for i in (0, 1, 5)],
        crs="EPSG:2154",
    )
    s = cc.Scene()
    with pytest.warns(EstimateWarning, match="nearest building"):
        s.add_buildings(gdf)
    B = s.buildings
    assert list(B["ground_source"]) == ["data", "nearest", "data"]
    assert B["ground_z"].iloc[1] == 40.0  # 20 m from the first, 110 m from the last
    assert B["roof_z"].iloc[1] == 50.0


# -- issue 17: the sensor count a spacing asks for, reprs, ground bounds ---------------
def test_a_millimetre_spacing_is_refused_before_sampling_with_the_count():
    # The 10 x 10 x 12 m box has 100 m² of roof and 4 x 10 x 12 = 480 m² of
    # walls (geometry): 580 m² at 1 mm asks for 580 / 0.001² = 5.8e8 sensors,
    # over MAX_SENSORS (1e7); the smallest spacing within it is
    # sqrt(580 / 1e7) = 7.6 mm, given rounded up to 0.01 m. The old code
    # sampled it and was killed by the OOM killer at 21 GB; refusing must be
    # immediate (< 5 s here, the estimate is a sum of face areas).
    import time

    from cimcity.sun import sensors as S

    scene = lone_box(w=10.0, d=10.0, h=12.0)
    mesh = scene.mesh()
    area = float(mesh.face_areas[mesh.kind_mask(("roof", "wall"))].sum())
    assert area == pytest.approx(580.0, abs=1e-6)
    t0 = time.perf_counter()
    with pytest.raises(InputError) as info:
        resolve(scene, spacing=0.001, surfaces=("roof", "wall"))
    assert time.perf_counter() - t0 < 5.0
    msg = str(info.value)
    assert "spacing=0.001" in msg and "580,000,000 sensors" in msg
    assert "max_sensors=10,000,000" in msg and "spacing >= 0.01 m" in msg
    assert S.MAX_SENSORS == 10_000_000
    # the smallest spacing it proposes is accepted
    s = resolve(scene, spacing=0.5, surfaces=("roof",))
    assert len(s) == pytest.approx(100.0 / 0.5**2, rel=0.05)


def test_max_sensors_keyword_and_constant_raise_or_lower_the_limit(monkeypatch):
    # 1 m on the same box asks for ~580 sensors: refused under max_sensors=100,
    # accepted above; the module constant is read at call time, so setting it
    # changes every analysis (here sun_hours, which has no keyword of its own)
    from cimcity import shadow
    from cimcity.sun import sensors as S

    scene = lone_box(w=10.0, d=10.0, h=12.0)
    with pytest.raises(InputError, match=r"about 580 sensors.*max_sensors=100\b"):
        resolve(scene, spacing=1.0, surfaces=("roof", "wall"), max_sensors=100)
    s = resolve(scene, spacing=1.0, surfaces=("roof", "wall"), max_sensors=1000)
    assert 0 < len(s) <= 1000
    with pytest.raises(InputError, match="max_sensors"):
        resolve(scene, spacing=1.0, max_sensors=0)
    monkeypatch.setattr(S, "MAX_SENSORS", 50)
    with pytest.raises(InputError, match=r"max_sensors=50\b"):
        shadow.sun_hours(scene, "2024-06-21", spacing=1.0, step="1h", surfaces=("roof",))


def test_ground_grid_cell_count_is_bounded_before_rasterising():
    # a 1 km x 1 km grid at 0.1 m has 1e8 cells: refused before any raster is
    # allocated (1e8 bytes for the footprint mask alone), with the count
    scene = lone_box()
    b = scene.bounds
    bounds = (b[0], b[1], b[0] + 1000.0, b[1] + 1000.0)
    with pytest.raises(InputError, match=r"100,000,000 sensors .*open ground"):
        ground_grid(scene, 0.1, bounds)
    with pytest.raises(InputError, match=r"spacing must be a positive number.*'2m'"):
        ground_grid(scene, "2m", bounds)
    g = ground_grid(scene, 50.0, bounds)
    assert len(g) == 400  # 20 x 20 cells; no cell centre falls in the 20 x 10 m box


def test_spacing_must_be_a_number():
    # text, booleans and numpy NaN are refused by name (the old check called
    # np.isfinite('2m') and raised a TypeError); numpy values read plainly
    scene = lone_box()
    for bad, shown in (("2m", "'2m'"), (True, "True"), (np.float64("nan"), "nan"),
                       (np.float64(-2.0), "-2.0")):
        with pytest.raises(InputError) as info:
            resolve(scene, spacing=bad)
        assert shown in str(info.value) and "np." not in str(info.value)


def test_ground_bounds_in_degrees_are_refused_on_a_projected_scene():
    # (2.31, 48.88, 2.32, 48.89) is lon/lat in Paris 17e; read as Lambert-93
    # metres it is a 10 m box in the Gulf of Guinea: a CRSError naming it
    from cimcity.errors import CRSError

    with pytest.raises(CRSError, match=r"\(2\.31, 48\.88, 2\.32, 48\.89\).*EPSG:2154"):
        resolve(lone_box(), spacing=2.0, ground_bounds=(2.31, 48.88, 2.32, 48.89))
    with pytest.raises(CRSError, match="area of use"):
        resolve(lone_box(), spacing=2.0, ground_bounds=(5e7, 5e7, 5e7 + 10, 5e7 + 10))


def test_sensors_repr_is_one_line_with_counts_per_kind_and_crs():
    scene = lone_box()
    s = resolve(scene, spacing=2.0)
    kinds, counts = np.unique(s.kind.astype(str), return_counts=True)
    text = repr(s)
    assert "\n" not in text and len(text) < 150 and "array" not in text
    assert text.startswith(f"<Sensors: {len(s):,} points (")
    for k, c in zip(kinds, counts, strict=True):
        assert f"{k} {c:,}" in text
    assert "EPSG:2154" in text
    # subsets and user points keep the CRS; an empty set says so
    assert "EPSG:2154" in repr(s.subset(s.kind == "roof"))
    assert repr(Sensors.empty()) == "<Sensors: 0 points (none)>"
    p = resolve(scene, points=[[0.0, 0.0, 1.0]])
    assert repr(p).endswith("(point 1), EPSG:2154>")


def test_buried_sensors_match_the_definition_on_the_sample():
    # reference: the docstring's definition point by point, with shapely
    # (GEOS): a sensor is buried when its (x, y) lies in the footprint of a
    # building other than its own and below that building's top. buried()
    # groups sensors by (x, y) (wall columns) and tests roofs only where
    # footprints overlap; both shortcuts must give these answers exactly.
    from cimcity.sun.sensors import buried

    scene = cc.datasets.load("paris")
    m = scene.mesh()
    B = scene.buildings.reindex(m.building_ids)
    s = sample(m, 1.0, ("roof", "wall"), drop_buried=False)
    own = m.face_building[s.face]
    tops = B["roof_z"].to_numpy(float)
    got = buried(s.points, own, B.geometry.values, tops, m.face_kind[s.face])
    tree = shapely.STRtree(B.geometry.values)
    i, j = tree.query(shapely.points(s.points[:, :2]), predicate="intersects")
    hit = (j != own[i]) & (s.points[i, 2] < tops[j])
    ref = np.zeros(len(s.points), bool)
    ref[i[hit]] = True
    assert 1_000 < ref.sum() < len(ref) // 2  # party walls, well represented
    np.testing.assert_array_equal(got, ref)
