"""CityMesh: extrusion, watertightness, volumes, terrain mesh (sensors: test_sensors.py).

References: analytic volumes (footprint area × height, shapely areas) and
trimesh's independent volume / watertightness computations.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from cimcity.errors import GeometryError
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
    ground = m.face_kind == KIND_CODES["base"]
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
