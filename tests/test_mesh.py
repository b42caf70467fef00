"""CityMesh: extrusion, watertightness, volumes, sensors, terrain mesh.

References: analytic volumes (footprint area × height, shapely areas) and
trimesh's independent volume / watertightness computations.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from cimcity.errors import GeometryError, InputError
from cimcity.mesh import KIND_CODES, CityMesh, extrude_buildings, terrain_mesh
from cimcity.terrain import Terrain

VOL_RTOL = 1e-9  # float64 round-off on volumes of ~1e4 m3
X0, Y0 = 649_800.0, 6_865_400.0

COURTYARD = shapely.box(X0, Y0, X0 + 30, Y0 + 20).difference(shapely.box(X0 + 10, Y0 + 5, X0 + 20, Y0 + 15))
MULTI = shapely.MultiPolygon([shapely.box(X0 + 100, Y0, X0 + 110, Y0 + 10), shapely.box(X0 + 120, Y0, X0 + 125, Y0 + 10)])
L_SHAPE = shapely.Polygon([(X0 + 200, Y0), (X0 + 230, Y0), (X0 + 230, Y0 + 10), (X0 + 210, Y0 + 10), (X0 + 210, Y0 + 30), (X0 + 200, Y0 + 30)])


def test_flat_roof_volume_is_area_times_height_with_courtyards_and_multipolygons():
    geoms = [COURTYARD, MULTI, L_SHAPE]
    heights = np.array([20.0, 10.0, 17.5])
    base = np.array([30.0, 31.0, 32.5])
    m = extrude_buildings(geoms, base, base + heights, building_ids=["c", "m", "l"])
    for i, g in enumerate(geoms):
        tm = m.select(buildings=[m.building_ids[i]]).to_trimesh()
        assert tm.is_watertight and tm.is_winding_consistent
        # analytic: prism volume = footprint area x height
        assert tm.volume == pytest.approx(g.area * heights[i], rel=VOL_RTOL)
    # surface areas: roofs and bases equal footprint areas, walls = perimeter x height
    areas = m.face_areas
    for i, g in enumerate(geoms):
        sel = m.face_building == i
        roof = areas[sel & (m.face_kind == KIND_CODES["roof"])].sum()
        wall = areas[sel & (m.face_kind == KIND_CODES["wall"])].sum()
        assert roof == pytest.approx(g.area, rel=1e-9)
        assert wall == pytest.approx(g.length * heights[i], rel=1e-9)


def test_normals_point_outward():
    m = extrude_buildings([shapely.box(X0, Y0, X0 + 10, Y0 + 10)], [0.0], [10.0])
    c = m.triangles.mean(axis=1) - np.array([5.0, 5.0, 5.0]) - (np.array([X0, Y0, 0]) - m.origin)
    assert np.all(np.einsum("ij,ij->i", c, m.face_normals) > 0)
    roof = m.face_kind == KIND_CODES["roof"]
    assert np.allclose(m.face_normals[roof], [0, 0, 1])
    ground = m.face_kind == KIND_CODES["ground"]
    assert np.allclose(m.face_normals[ground], [0, 0, -1])


def test_mansard_roof_is_watertight_and_hits_eave_and_ridge():
    g = shapely.box(X0, Y0, X0 + 20, Y0 + 12)
    m = extrude_buildings([g], [35.0], [59.0], eave_z=[55.0])
    tm = m.to_trimesh()
    assert tm.is_watertight and tm.is_winding_consistent
    z = m.world_vertices[:, 2]
    assert z.max() == pytest.approx(59.0) and z.min() == pytest.approx(35.0)
    walls = m.face_kind == KIND_CODES["wall"]
    assert m.triangles[walls][..., 2].max() == pytest.approx(55.0 - m.origin[2])
    # volume lies between the prism to the eaves and the prism to the ridge
    assert g.area * 20 < tm.volume < g.area * 24
    # inset w = 4 / tan(60 deg): the flat top has the inset footprint's area
    w = 4.0 / np.tan(np.radians(60.0))
    top = (m.face_kind == KIND_CODES["roof"]) & np.isclose(m.face_normals[:, 2], 1.0)
    assert m.face_areas[top].sum() == pytest.approx((20 - 2 * w) * (12 - 2 * w), rel=1e-9)


def test_narrow_mansard_falls_back_and_stays_closed():
    g = shapely.box(X0, Y0, X0 + 40, Y0 + 1.0)  # too thin for the inset
    tm = extrude_buildings([g], [0.0], [20.0], eave_z=[10.0]).to_trimesh()
    assert tm.is_watertight


def test_bad_heights_raise_geometry_error_naming_building():
    with pytest.raises(GeometryError, match="'b1'"):
        extrude_buildings([shapely.box(0, 0, 1, 1)], [10.0], [5.0], building_ids=["b1"])


def _plane_groups(m, faces):
    """Faces grouped by building, kind and plane (independent of mesh.py's keys)."""
    n = np.round(m.face_normals, 6)
    d = np.round(np.einsum("ij,ij->i", m.face_normals, m.triangles[:, 0]), 4)
    key = np.column_stack([m.face_building, m.face_kind, n, d])[faces]
    return np.unique(key, axis=0, return_inverse=True)[1].ravel()


def test_sensor_areas_sum_to_face_areas_and_points_lie_on_faces():
    m = extrude_buildings([COURTYARD, L_SHAPE], [0.0, 0.0], [12.0, 9.0])
    s = m.sample(spacing=0.7, kinds=("roof", "wall"), offset=0.0)
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
    s = m.sample(1.0, offset=0.0)
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
    s = m.sample(0.5, kinds=("roof",), offset=0.0)
    for i, g in enumerate((ring, strip)):
        sel = m.face_building[s.face] == i
        assert s.areas[sel].sum() == pytest.approx(g.area, rel=1e-12)
        # cells are 0.67-1.5 spacing wide (strip: 80 x 2 cells of 0.5 x 0.6 m);
        # ring: boundary cells add partial cells along the perimeter
        assert 0.6 * g.area / 0.25 <= sel.sum() <= 1.6 * g.area / 0.25, (i, sel.sum())


def test_sensor_offset_moves_points_along_normals():
    m = extrude_buildings([shapely.box(X0, Y0, X0 + 4, Y0 + 4)], [0.0], [4.0])
    a = m.sample(1.0, offset=0.0)
    b = m.sample(1.0, offset=0.25)
    assert np.allclose(b.points - a.points, 0.25 * a.normals)


def test_bad_spacing_and_kinds_raise():
    m = extrude_buildings([shapely.box(0, 0, 1, 1)], [0.0], [1.0])
    with pytest.raises(InputError, match="spacing"):
        m.sample(0.0)
    with pytest.raises(InputError, match="unknown surface kind 'roofs'"):
        m.sample(1.0, kinds=("roofs",))


def test_terrain_mesh_heights_and_area():
    z = np.add.outer(np.arange(11.0)[::-1], np.arange(21.0)) * 0.5  # plane
    t = Terrain.from_array(z, origin=(X0, Y0 + 11.0), resolution=1.0)
    m = terrain_mesh(t)
    # plane through cell centres: area = (nx-1)(ny-1) * sqrt(1 + gx^2 + gy^2)
    assert m.face_areas.sum() == pytest.approx(20 * 10 * np.sqrt(1 + 0.25 + 0.25), rel=1e-12)
    assert np.all(m.face_normals[:, 2] > 0)
    wv = m.world_vertices
    assert np.allclose(t.sample(wv[:, 0], wv[:, 1]), wv[:, 2])


def test_terrain_mesh_skips_nodata():
    z = np.ones((5, 5))
    z[2, 2] = np.nan
    m = terrain_mesh(Terrain.from_array(z, origin=(0, 5), resolution=1.0, crs="EPSG:2154"))
    assert m.n_faces == 2 * 16 - 2 * 4


def test_concatenate_keeps_world_coordinates_and_ids():
    a = extrude_buildings([shapely.box(X0, Y0, X0 + 1, Y0 + 1)], [0.0], [1.0], building_ids=["a"])
    b = extrude_buildings([shapely.box(X0 + 5, Y0, X0 + 6, Y0 + 1)], [0.0], [2.0], building_ids=["b"])
    c = CityMesh.concatenate([a, b], origin=[X0 - 100, Y0 - 100, 0])
    assert list(c.building_ids) == ["a", "b"]
    assert np.allclose(c.bounds, [[X0, Y0, 0], [X0 + 6, Y0 + 1, 2]])
    assert set(c.face_building_id) == {"a", "b"}


@settings(max_examples=25, deadline=None)
@given(
    w=st.floats(2, 60), d=st.floats(2, 60), h=st.floats(1, 80), hole=st.floats(0.1, 0.8)
)
def test_extrusion_is_watertight_for_random_courtyard_blocks(w, d, h, hole):
    outer = shapely.box(0, 0, w, d)
    inner = shapely.box(w * (1 - hole) / 2, d * (1 - hole) / 2, w * (1 + hole) / 2, d * (1 + hole) / 2)
    g = outer.difference(inner)
    tm = extrude_buildings([g], [0.0], [h]).to_trimesh()
    assert tm.is_watertight
    assert tm.volume == pytest.approx(g.area * h, rel=1e-9)
