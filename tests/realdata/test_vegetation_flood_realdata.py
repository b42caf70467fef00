"""Issue 17, item 2 ("unknown is not zero") on real files: vegetation ratios
and flood exposure with missing layers.

Real files (../shared/data, see its SOURCES.md): the Etalab cadastre of Paris
18e (6,821 parcels) and the BDNB buildings of Paris 11e (5,227 footprints).
References: the file's own counts, shapely/GEOS (union and intersection of
the footprints) for the built areas, tolerance 1e-6 m² + 1e-9 relative.
Before issue 17 both vegetation cases reported vegetation 0 %, open 100 % (or
the unbuilt share), biotope coefficient 0.00, with no warning.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely

import cimcity as cc
from cimcity import vegetation as veg
from cimcity.errors import DataQualityWarning

pytestmark = pytest.mark.realdata

#: areas equal up to floating-point rounding of Lambert-93 coordinates [m²]
AREA_TOL = 1e-6
CRS = "EPSG:2154"


def _quiet(fn, *args, **kw):
    """Build a scene without the reprojection / estimate notes of the readers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


@pytest.fixture(scope="module")
def paris11_buildings(shared_data):
    b = gpd.read_file(shared_data / "france" / "bdnb_paris11_batiments.shp")
    assert len(b) == 5227  # SOURCES.md
    b = b.to_crs(CRS)
    b = b[b.geometry.is_valid & ~b.geometry.is_empty].copy()
    b["height"] = b["hauteur"].where(b["hauteur"] > 0)
    return b[["height", "geometry"]].reset_index(drop=True)


def test_cadastre_alone_gives_unknown_vegetation_not_zero(shared_data):
    # issue 17 reproduction: ratios on cadastre-75118-parcelles.json alone
    # (no buildings, no vegetation, no land cover) reported vegetation 0 %,
    # open 100 %, CBS 0.00 for every parcel, silently
    p = gpd.read_file(shared_data / "france" / "cadastre-75118-parcelles.json")
    assert len(p) == 6821  # SOURCES.md
    s = cc.Scene()
    _quiet(s.add_parcels, p)
    with pytest.warns(DataQualityWarning) as rec:
        r = veg.ratios(s)
    msg = " ".join(str(w.message) for w in rec if w.category is DataQualityWarning)
    assert "no vegetation layer" in msg and "no buildings layer" in msg
    u = r.units
    assert len(u) == len(s.parcels)
    # the parcel areas are measured: GEOS areas of the reprojected parcels
    np.testing.assert_allclose(
        u["area"].to_numpy(), shapely.area(s.parcels.geometry.values), rtol=1e-9
    )
    for c in (
        "vegetation_share",
        "canopy_share",
        "low_vegetation_share",
        "pleine_terre_share",
        "green_share",
        "open_share",
        "built_share",
        "biotope_coefficient",
    ):
        assert u[c].isna().all(), c
    sm = r.summary()
    for k in ("vegetation_share", "built_share", "pleine_terre_share"):
        assert sm[k] is None, k
    assert sm["biotope_coefficient"] is None
    assert sm["units"] == len(s.parcels)
    head = r.summary_lines()[0]
    assert "vegetation unknown" in head and "CBS unknown" in head
    assert "0%" not in head and "0.00" not in head


def test_grid_over_paris11_buildings_without_vegetation(paris11_buildings):
    # issue 17 reproduction: a 200 m grid over the Paris 11e BDNB buildings,
    # no vegetation layer: built measured (GEOS union ∩ cell), vegetation,
    # pleine terre, open and CBS unknown, with a warning naming the layer
    b = paris11_buildings
    s = cc.Scene()
    _quiet(s.add_buildings, b)
    x0, y0, x1, y1 = b.total_bounds
    xs, ys = np.arange(x0, x1, 200.0), np.arange(y0, y1, 200.0)
    cells = [shapely.box(x, y, x + 200, y + 200) for x in xs for y in ys]
    grid = gpd.GeoDataFrame(geometry=cells, crs=CRS)
    with pytest.warns(DataQualityWarning, match="no vegetation layer"):
        r = veg.ratios(s, by=grid)
    u = r.units
    assert len(u) == len(cells)
    union = shapely.union_all(s.buildings.geometry.values)
    built = shapely.area(shapely.intersection(np.asarray(cells, object), union))
    np.testing.assert_allclose(
        u["built_area"].to_numpy(), built, rtol=1e-9, atol=AREA_TOL
    )
    assert built.sum() > 1e6  # real content: > 100 ha of footprints
    np.testing.assert_allclose(u["built_share"].to_numpy(), built / 40000.0, rtol=1e-9)
    for c in (
        "vegetation_share",
        "canopy_share",
        "pleine_terre_share",
        "open_share",
        "green_share",
        "biotope_coefficient",
    ):
        assert u[c].isna().all(), c
    sm = r.summary()
    assert sm["built_share"] == pytest.approx(built.sum() / (40000.0 * len(cells)))
    assert sm["vegetation_share"] is None and sm["biotope_coefficient"] is None
    assert (
        "built " in r.summary_lines()[0]
        and "vegetation unknown" in r.summary_lines()[0]
    )


def test_flood_exposure_of_paris11_buildings_off_the_dem_is_unknown(
    paris11_buildings,
):
    # the real Paris 11e footprints on a flat 2 m DEM at 35 m covering only
    # the western half of their extent, water at 35.5 m from the border:
    # buildings whose 1-3 m ring lies wholly east of the DEM are unknown (NA,
    # before issue 17: "dry", water depth 0); those wholly inside are reached
    # with 0.5 m of water. Reference: footprint bounds against the DEM edge.
    from cimcity import flood
    from cimcity.terrain import Terrain

    b = paris11_buildings
    s = cc.Scene()
    _quiet(s.add_buildings, b)
    x0, y0, x1, y1 = s.buildings.total_bounds
    xmid = np.floor((x0 + x1) / 2)
    res = 2.0
    cols = int(np.ceil((xmid - (x0 - 10)) / res))
    rows = int(np.ceil((y1 - y0 + 20) / res))
    t = Terrain.from_array(
        np.full((rows, cols), 35.0), (x0 - 10, y1 + 10), res, crs=CRS
    )
    f = flood.extent(t, 35.5, sources="border")
    assert f.n_cells == rows * cols
    with pytest.warns(DataQualityWarning, match="no DEM data around them"):
        e = flood.exposure(s, f)
    B = e.buildings
    edge = t.bounds[2]
    bx0 = s.buildings.geometry.bounds["minx"].to_numpy()
    bx1 = s.buildings.geometry.bounds["maxx"].to_numpy()
    east = bx0 > edge + 3.5  # ring (<= 3 m out) wholly off the DEM
    west = bx1 < edge - 3.5
    assert east.sum() > 1000 and west.sum() > 1000  # real content on both sides
    assert B["flooded"].isna().to_numpy()[east].all()
    assert B["water_depth"].isna().to_numpy()[east].all()
    assert B["flooded"].to_numpy()[west].all()
    np.testing.assert_allclose(B["water_depth"].to_numpy()[west], 0.5, atol=1e-9)
    sm = e.summary()
    assert sm["unknown_buildings"] >= int(east.sum())
    assert sm["unknown_buildings"] <= len(B) - int(west.sum())
    assert sm["flooded_buildings"] + sm["unknown_buildings"] == len(B)
