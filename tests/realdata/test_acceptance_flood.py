"""Acceptance on real data: the Périgueux flood-hazard map (TRI Périgueux, Isle
river, high-probability scenario; DDT 24 on Géorisques, Lambert-93).

There is no DEM of Périgueux in ``../shared/data``, so cimcity cannot compute a
flood extent to compare with the map: a modelled extent needs the terrain, and
inventing one would test nothing. What can be compared honestly is the map read
as a flood layer: its CRS, count, attributes and area; the map turned into a
depth grid (1 m of water on the mapped cells of a synthetic grid) and back into
polygons by cimcity, against the map's own geometry; and ``flood.exposure`` of
buildings placed on and off the mapped hazard.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely

import cimcity as cc
from cimcity import flood
from cimcity.io.vector import read_vector

pytestmark = pytest.mark.realdata

PERIGUEUX = "france/tri_perigueux_inondable_forte.shp"
#: grid cell of the depth grid built from the map [m]
CELL = 10.0
#: water depth put on the mapped cells [m]
DEPTH = 1.0


@pytest.fixture(scope="module")
def hazard(data_file) -> gpd.GeoDataFrame:
    return read_vector(data_file(PERIGUEUX), what="flood zones")


def test_perigueux_hazard_map_read_as_a_flood_layer(hazard, data_file):
    # Facts from the file (SOURCES.md, and the .dbf/.prj themselves): 114
    # polygons, Lambert-93, one TRI, one scenario, river overflow; the area is
    # the sum of the polygon areas computed by pyogrio + shapely on the raw file
    # (exact: no reprojection, geometries valid).
    import pyogrio

    raw = pyogrio.read_dataframe(data_file(PERIGUEUX))
    assert len(hazard) == len(raw) == 114
    assert hazard.crs.to_epsg() == 2154 == raw.crs.to_epsg()
    assert set(hazard["id_tri"]) == {"FRF_TRI_PERI"}
    assert set(hazard["scenario"]) == {"01For"}
    assert set(hazard["typ_inond"]) == {"01"}
    assert hazard["uuid"].is_unique
    assert hazard.area.sum() == pytest.approx(raw.area.sum(), rel=1e-12)
    assert hazard.area.sum() == pytest.approx(10.607e6, rel=1e-3)  # 10.6 km²
    # a scene keeps it as a named layer, unchanged
    scene = cc.Scene().add_layer("flood_zones", hazard)
    assert len(scene.layers["flood_zones"]) == 114


@pytest.fixture(scope="module")
def mapped_flood(hazard):
    """A synthetic grid: ground 0 m on the mapped cells, 10 m elsewhere; a
    water level of 1 m floods exactly the mapped cells (bathtub)."""
    xmin, ymin, xmax, ymax = hazard.total_bounds
    x0, y1 = (
        np.floor(xmin / CELL) * CELL - 5 * CELL,
        np.ceil(ymax / CELL) * CELL + 5 * CELL,
    )
    cols = int(np.ceil((xmax - x0) / CELL)) + 5
    rows = int(np.ceil((y1 - ymin) / CELL)) + 5
    xs = x0 + (np.arange(cols) + 0.5) * CELL
    ys = y1 - (np.arange(rows) + 0.5) * CELL
    X, Y = np.meshgrid(xs, ys)
    mapped = shapely.contains_xy(shapely.union_all(hazard.geometry.values), X, Y)
    elevation = np.where(mapped, 0.0, 10.0)
    terrain = cc.Terrain.from_array(elevation, (x0, y1), CELL, crs="EPSG:2154")
    f = flood.extent(terrain, DEPTH, mode="bathtub")
    return terrain, f, mapped


@pytest.mark.slow
def test_perigueux_depth_grid_back_to_polygons_matches_the_map(hazard, mapped_flood):
    # Reference: the map's own geometry. Rasterising at 10 m and polygonising
    # back can move the outline by up to half a cell, so the areas agree within
    # perimeter x 5 m (the map's perimeter is measured, not assumed) and the
    # outlines overlap (IoU) within the same band.
    terrain, f, mapped = mapped_flood
    assert f.n_cells == int(mapped.sum())
    assert f.area == pytest.approx(mapped.sum() * CELL**2, rel=1e-12)
    np.testing.assert_allclose(f.depth[mapped], DEPTH, atol=1e-12)
    assert np.isnan(f.depth[~mapped]).all()
    assert f.volume == pytest.approx(f.area * DEPTH, rel=1e-9)
    ref = shapely.union_all(hazard.geometry.values)
    band = ref.length * CELL / 2
    assert abs(f.area - ref.area) <= band
    got = shapely.union_all(f.polygons.geometry.values)
    assert abs(got.area - f.area) <= 1e-6 * f.area  # polygons = flooded cells
    inter = shapely.intersection(got, ref).area
    union = shapely.union(got, ref).area
    assert inter / union >= 1 - 2 * band / ref.area
    assert f.polygons.crs.to_epsg() == 2154


def _inner_points(hazard, n: int, margin: float) -> list:
    """Points at least ``margin`` m inside the n largest hazard polygons
    (pole of inaccessibility)."""
    from shapely.ops import polylabel

    out = []
    for geom in hazard.geometry.iloc[np.argsort(-hazard.area.to_numpy())[:n]]:
        p = polylabel(geom, tolerance=1.0)
        if geom.exterior.distance(p) >= margin:
            out.append(p)
    return out


@pytest.mark.slow
def test_perigueux_exposure_of_buildings_on_and_off_the_hazard(hazard, mapped_flood):
    # Reference: the map. A 10 x 10 m building 30 m or more inside a mapped
    # polygon stands in 1 m of water (level 1 m over ground 0 m, read in the
    # 1-3 m ring around it); one 300 m from any mapped polygon stays dry.
    terrain, f, _ = mapped_flood
    inside = _inner_points(hazard, 5, margin=30.0)
    assert len(inside) >= 3
    ref = shapely.union_all(hazard.geometry.values)
    xmin, ymin, xmax, ymax = hazard.total_bounds
    outside = []
    for x in np.linspace(xmin + 500, xmax - 500, 40):
        for y in (ymin + 200, ymax - 200):
            p = shapely.Point(x, y)
            if ref.distance(p) >= 300.0:
                outside.append(p)
    outside = outside[:3]
    assert len(outside) == 3
    points = inside + outside
    b = gpd.GeoDataFrame(
        {
            "building_id": [f"in{i}" for i in range(len(inside))]
            + [f"out{i}" for i in range(3)],
            "height": 6.0,
            "storeys": 2,
        },
        geometry=[shapely.box(p.x - 5, p.y - 5, p.x + 5, p.y + 5) for p in points],
        crs="EPSG:2154",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scene = cc.Scene().add_terrain(terrain).add_buildings(b)
    e = flood.exposure(scene, f)
    B = e.buildings
    wet = B.index.str.startswith("in")
    assert B.loc[wet, "flooded"].all() and not B.loc[~wet, "flooded"].any()
    np.testing.assert_allclose(B.loc[wet, "ground_level"], 0.0, atol=1e-9)
    np.testing.assert_allclose(B.loc[wet, "water_depth"], DEPTH, atol=1e-9)
    np.testing.assert_allclose(B.loc[~wet, "water_depth"], 0.0, atol=1e-12)
    np.testing.assert_allclose(B.loc[~wet, "ground_level"], 10.0, atol=1e-9)
    # 1 m of water reaches the ground floor only (2 storeys of 3 m)
    assert (B.loc[wet, "flooded_storeys"] == 1).all()
    assert (B.loc[~wet, "flooded_storeys"] == 0).all()
    assert e.summary()["flooded_buildings"] == len(inside)
