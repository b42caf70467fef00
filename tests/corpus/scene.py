"""Corpus cases of the Scene: construction, ``add_*``, ``with_project``,
``clip`` and ``mesh``.

A failed ``add_*`` must leave the scene as it was (the scene is one of the
compared inputs); a successful one changes only the scene it was called on,
never the table given to it.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

import cimcity as cc
from cimcity.errors import (
    CRSError,
    EstimateWarning,
    GeometryError,
    GeoreferenceError,
    InputError,
    RepairWarning,
    ReprojectionWarning,
)
from cimcity.terrain import Terrain
from cimcity.testing import GROUND_Z, X0, Y0, box_project, lone_box

from . import Call, case
from .files import SAMPLE, box, boxes, empty, junk, text

L93 = "EPSG:2154"


def _scene_with_parcels(n=3):
    s = cc.Scene()
    s.add_parcels(boxes(n))
    return s


def add_call(scene, method, *args, keep_scene=True, **kwargs):
    """A Call of ``getattr(scene, method)``; ``keep_scene``: the scene is an
    input that must not change (failing adds, variants, mesh)."""
    bound = getattr(scene, method)
    if keep_scene:
        return Call(lambda s, *a, **k: getattr(s, method)(*a, **k), (scene, *args), kwargs)
    return Call(bound, args, kwargs)


# ======================================================================= Scene()
@case("Scene", "geographic CRS", raises=CRSError, match=r"EPSG:4326")
def _(tmp_path):
    return Call(cc.Scene, (), {"crs": "EPSG:4326"})


@case("Scene", "unknown CRS", raises=CRSError, match=r"EPSG:123456")
def _(tmp_path):
    return Call(cc.Scene, (), {"crs": "EPSG:123456"})


@case("Scene", "CRS in feet", raises=CRSError, match=r"foot|feet")
def _(tmp_path):
    return Call(cc.Scene, (), {"crs": "EPSG:2263"})


@case("Scene", "CRS of a wrong type", raises=CRSError, match=r"\[2154\]")
def _(tmp_path):
    return Call(cc.Scene, (), {"crs": [2154]})


# ======================================================================= add_parcels
@case("add_parcels", "plain DataFrame", raises=InputError, match=r"DataFrame")
def _(tmp_path):
    return add_call(cc.Scene(), "add_parcels", pd.DataFrame({"x": [1]}))


@case("add_parcels", "file path", raises=InputError, match=r"PosixPath|str|path")
def _(tmp_path):
    return add_call(cc.Scene(), "add_parcels", SAMPLE / "cadastre-75117-parcelles.json")


@case("add_parcels", "no CRS", raises=CRSError, match=r"set_crs")
def _(tmp_path):
    return add_call(_scene_with_parcels(), "add_parcels", boxes(2).set_crs(None, allow_override=True))


@case("add_parcels", "lon/lat declared Lambert-93", raises=CRSError, match=r"2\.31")
def _(tmp_path):
    g = gpd.GeoDataFrame(geometry=[shapely.box(2.31, 48.88, 2.3101, 48.8801)], crs=L93)
    return add_call(_scene_with_parcels(), "add_parcels", g)


@case("add_parcels", "Lambert-93 declared lon/lat", raises=CRSError, match=r"649800")
def _(tmp_path):
    return add_call(_scene_with_parcels(), "add_parcels", boxes(2, crs="EPSG:4326"))


@case("add_parcels", "coordinates far outside Lambert-93", raises=CRSError, match=r"area of use")
def _(tmp_path):
    g = gpd.GeoDataFrame(geometry=[shapely.box(9e7, 9e7, 9e7 + 10, 9e7 + 10)], crs=L93)
    return add_call(cc.Scene(), "add_parcels", g)


def _check_reprojected(r, w):
    # a 20 m square given in lon/lat comes back 400 m² (pyproj round trip)
    assert any(issubclass(x.category, ReprojectionWarning) for x in w)
    assert r.parcels.geometry.iloc[0].area == pytest.approx(400.0, abs=0.05)


@case("add_parcels", "real lon/lat reprojected", check=_check_reprojected)
def _(tmp_path):
    g = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 20, Y0 + 20)], crs=L93).to_crs(4326)
    return add_call(cc.Scene(), "add_parcels", g, keep_scene=False)


@case("add_parcels", "empty geometry", raises=GeometryError, match=r"row 1")
def _(tmp_path):
    g = gpd.GeoDataFrame({"parcel_id": ["a", "b"]}, geometry=[box(0), shapely.Polygon()], crs=L93)
    return add_call(_scene_with_parcels(), "add_parcels", g)


@case("add_parcels", "missing geometry", raises=GeometryError, match=r"row 1")
def _(tmp_path):
    g = gpd.GeoDataFrame({"parcel_id": ["a", "b"]}, geometry=[box(0), None], crs=L93)
    return add_call(_scene_with_parcels(), "add_parcels", g)


@case("add_parcels", "points", raises=GeometryError, match=r"Point")
def _(tmp_path):
    g = gpd.GeoDataFrame(geometry=[shapely.Point(X0, Y0)], crs=L93)
    return add_call(_scene_with_parcels(), "add_parcels", g)


@case("add_parcels", "geometry collection", raises=GeometryError, match=r"GeometryCollection")
def _(tmp_path):
    g = gpd.GeoDataFrame(geometry=[shapely.GeometryCollection([box(0), shapely.Point(X0, Y0)])], crs=L93)
    return add_call(_scene_with_parcels(), "add_parcels", g)


@case("add_parcels", "duplicate ids", raises=InputError, match=r"75117000AA0001")
def _(tmp_path):
    g = boxes(2, parcel_id=["75117000AA0001", "75117000AA0001"])
    return add_call(_scene_with_parcels(), "add_parcels", g)


@case("add_parcels", "ids clashing with the scene", raises=InputError, match=r"P000000")
def _(tmp_path):
    g = boxes(1, parcel_id=["P000000"])
    return add_call(_scene_with_parcels(), "add_parcels", g)


@case("add_parcels", "missing id", raises=InputError, match=r"1 id\(s\) are missing")
def _(tmp_path):
    g = boxes(2, parcel_id=["A", None])
    return add_call(_scene_with_parcels(), "add_parcels", g)


@case("add_parcels", "unknown id column", raises=InputError, match=r"numero")
def _(tmp_path):
    return add_call(_scene_with_parcels(), "add_parcels", boxes(2), id_column="numero")


def _check_bowtie(r, w):
    # make_valid splits the 10 m bowtie into two 25 m² triangles
    assert any(issubclass(x.category, RepairWarning) for x in w)
    assert r.parcels.geometry.iloc[0].area == pytest.approx(50.0)
    assert bool(r.parcels["repaired"].iloc[0])


@case("add_parcels", "self-intersecting repaired", check=_check_bowtie)
def _(tmp_path):
    bow = shapely.Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])
    return add_call(cc.Scene(), "add_parcels", gpd.GeoDataFrame(geometry=[bow], crs=L93), keep_scene=False)


@case("add_parcels", "self-intersecting in strict mode", raises=GeometryError, match=r"Self-intersection|P000000")
def _(tmp_path):
    bow = shapely.Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])
    return add_call(cc.Scene(strict=True), "add_parcels", gpd.GeoDataFrame(geometry=[bow], crs=L93))


@case("add_parcels", "zero-area polygon", raises=GeometryError, match=r"no area|P000000")
def _(tmp_path):
    flat = shapely.Polygon([(X0, Y0), (X0 + 10, Y0), (X0 + 20, Y0)])
    return add_call(cc.Scene(), "add_parcels", gpd.GeoDataFrame(geometry=[flat], crs=L93))


def _check_3d_parcels(r, w):
    # z is dropped from plan geometry: area stays 10 × 10 = 100 m²
    assert r.parcels.geometry.iloc[0].area == pytest.approx(100.0)


@case("add_parcels", "3D polygons", check=_check_3d_parcels)
def _(tmp_path):
    g = gpd.GeoDataFrame(geometry=[shapely.force_3d(box(0), 35.0)], crs=L93)
    return add_call(cc.Scene(), "add_parcels", g, keep_scene=False)


def _check_multi_parcel(r, w):
    # a two-part parcel is one parcel with both parts' area (2 × 100 m²)
    assert len(r.parcels) == 1 and r.parcels["area"].iloc[0] == pytest.approx(200.0)


@case("add_parcels", "multipart", check=_check_multi_parcel)
def _(tmp_path):
    g = gpd.GeoDataFrame(geometry=[shapely.MultiPolygon([box(0), box(1)])], crs=L93)
    return add_call(cc.Scene(), "add_parcels", g, keep_scene=False)


def _check_latin1_attrs(r, w):
    # attribute text is kept as given (a mojibake string is data, not geometry)
    assert r.parcels["commune"].iloc[0] == "Ã‰pinay"


@case("add_parcels", "mis-decoded attribute text", check=_check_latin1_attrs)
def _(tmp_path):
    g = boxes(1, commune=["Ã‰pinay"])
    return add_call(cc.Scene(), "add_parcels", g, keep_scene=False)


# ======================================================================= add_zones
@case("add_zones", "rules of a wrong type", raises=InputError, match=r"int")
def _(tmp_path):
    return add_call(cc.Scene(), "add_zones", boxes(1, libelle=["UG"]), rules=37)


@case("add_zones", "rules file that is empty", raises=cc.errors.FileFormatError, match=r"r\.toml")
def _(tmp_path):
    return add_call(cc.Scene(), "add_zones", boxes(1, libelle=["UG"]), rules=empty(tmp_path, "r.toml"))


@case("add_zones", "lines", raises=GeometryError, match=r"LineString")
def _(tmp_path):
    g = boxes(1, libelle=["UG"])
    return add_call(cc.Scene(), "add_zones", g.set_geometry(g.boundary))


@case("add_zones", "duplicate zone ids", raises=InputError, match=r"'UG'")
def _(tmp_path):
    return add_call(cc.Scene(), "add_zones", boxes(2, libelle=["UG", "UG"]), id_column="libelle")


@case("add_zones", "no CRS", raises=CRSError, match=r"set_crs")
def _(tmp_path):
    return add_call(cc.Scene(), "add_zones", boxes(1, libelle=["UG"]).set_crs(None, allow_override=True))


# ======================================================================= add_buildings
def _bscene():
    s = cc.Scene()
    s.add_parcels(boxes(3))
    return s


def _check_default_height(r, w):
    # no height, storeys or altitudes: the default (9 m) flagged "default"
    # with an EstimateWarning, never a silent value
    b = r.buildings
    assert b["height_source"].tolist()[1] == "default" and b["height"].iloc[1] == 9.0
    assert any(issubclass(x.category, EstimateWarning) for x in w)


@case("add_buildings", "NaN height estimated and flagged", check=_check_default_height)
def _(tmp_path):
    return add_call(_bscene(), "add_buildings", boxes(3, height=[12.0, np.nan, 9.0]), keep_scene=False)


@case("add_buildings", "negative height", raises=InputError, match=r"-12")
def _(tmp_path):
    return add_call(_bscene(), "add_buildings", boxes(3, height=[-12.0, 9.0, 9.0]))


@case("add_buildings", "absurd height", raises=InputError, match=r"12000")
def _(tmp_path):
    return add_call(_bscene(), "add_buildings", boxes(3, height=[12000.0, 9.0, 9.0]))


@case("add_buildings", "infinite height", raises=InputError, match=r"inf")
def _(tmp_path):
    # a value that is there but cannot be a height is refused, not replaced by
    # the 9 m default (NaN is missing and estimated; a product file's
    # sentinels are set to missing by read_buildings with a warning)
    return add_call(_bscene(), "add_buildings", boxes(3, height=[np.inf, 9.0, 9.0]))


@case("add_buildings", "text height", raises=InputError, match=r"tall")
def _(tmp_path):
    # "9" and "12 m" are read as lengths; "tall" is not one: refused by name
    return add_call(_bscene(), "add_buildings", boxes(3, height=["tall", "9", "9"]))


@case("add_buildings", "absurd ground altitude", raises=InputError, match=r"99999")
def _(tmp_path):
    # outside schemas.ALTITUDE_RANGE (-500 to 9,000 m): refused with the range
    return add_call(_bscene(), "add_buildings", boxes(3, height=[9.0] * 3, ground_z=[35.0, 99999.0, 35.0]))


@case("add_buildings", "roof below ground", raises=InputError, match=r"roof_z 20 m, ground_z 35 m")
def _(tmp_path):
    # both altitudes given in the table and contradictory: refused naming both
    # (the former pattern r"\\b20..." matched a literal backslash, so it
    # could never match any message)
    return add_call(_bscene(), "add_buildings", boxes(3, ground_z=[35.0] * 3, roof_z=[50.0, 20.0, 50.0]))


@case("add_buildings", "negative storeys", raises=InputError, match=r"-3")
def _(tmp_path):
    return add_call(_bscene(), "add_buildings", boxes(3, storeys=[3, -3, 3]))


@case("add_buildings", "zero storey height", raises=InputError, match=r"storey_height.*\b0(\.0)?\b")
def _(tmp_path):
    # storey_height must be in (0, 20] m (heights.MAX_STOREY_HEIGHT)
    return add_call(_bscene(), "add_buildings", boxes(3, storeys=[3, 3, 3]), storey_height=0.0)


@case("add_buildings", "duplicate ids", raises=InputError, match=r"B1")
def _(tmp_path):
    return add_call(_bscene(), "add_buildings", boxes(2, building_id=["B1", "B1"], height=[9.0, 9.0]))


@case("add_buildings", "lon/lat declared Lambert-93", raises=CRSError, match=r"2\.31")
def _(tmp_path):
    g = gpd.GeoDataFrame({"height": [9.0]}, geometry=[shapely.box(2.31, 48.88, 2.3101, 48.8801)], crs=L93)
    return add_call(_bscene(), "add_buildings", g)


@case("add_buildings", "lines", raises=GeometryError, match=r"LineString")
def _(tmp_path):
    g = boxes(1, height=[9.0])
    return add_call(_bscene(), "add_buildings", g.set_geometry(g.boundary))


def _check_bdnb(r, w):
    # a raw BDNB frame: batiment_c is the id, hauteur the height, altitude_sol
    # the ground (issue 17: every building was 9 m on ground 0)
    b = r.buildings
    assert list(b.index) == ["BDNB-1", "BDNB-2"]
    assert b["height"].tolist() == [15.0, 21.0] and b["ground_z"].tolist() == [35.0, 36.0]


@case("add_buildings", "raw BDNB frame", check=_check_bdnb)
def _(tmp_path):
    g = boxes(2, batiment_c=["BDNB-1", "BDNB-2"], hauteur=[15.0, 21.0], altitude_sol=[35.0, 36.0])
    return add_call(cc.Scene(), "add_buildings", g, keep_scene=False)


def _check_3d_buildings(r, w):
    # 3D footprints are plan polygons: 100 m², height from the column
    b = r.buildings
    assert b.geometry.iloc[0].area == pytest.approx(100.0) and b["height"].iloc[0] == 9.0


@case("add_buildings", "3D footprints", check=_check_3d_buildings)
def _(tmp_path):
    g = gpd.GeoDataFrame({"height": [9.0]}, geometry=[shapely.force_3d(box(0), 35.0)], crs=L93)
    return add_call(cc.Scene(), "add_buildings", g, keep_scene=False)


# ======================================================================= add_vegetation
@case("add_vegetation", "unknown raster kind", raises=InputError, match=r"lidar")
def _(tmp_path):
    return add_call(cc.Scene(), "add_vegetation", (np.zeros((2, 2)), Affine(1, 0, X0, 0, -1, Y0), L93), raster="lidar")


@case("add_vegetation", "raster tuple of two", raises=InputError, match=r"\(array, transform, crs\)")
def _(tmp_path):
    return add_call(cc.Scene(), "add_vegetation", (np.zeros((2, 2)), None), raster="ndvi")


@case("add_vegetation", "raster without CRS", raises=CRSError, match=r"ndvi")
def _(tmp_path):
    return add_call(cc.Scene(), "add_vegetation", (np.zeros((2, 2)), Affine(1, 0, X0, 0, -1, Y0), None), raster="ndvi")


@case("add_vegetation", "raster of one dimension", raises=InputError, match=r"\(4,\)")
def _(tmp_path):
    return add_call(cc.Scene(), "add_vegetation", (np.zeros(4), Affine(1, 0, X0, 0, -1, Y0), L93), raster="cdsm")


@case("add_vegetation", "raster file that is junk", raises=cc.errors.FileFormatError, match=r"ndvi\.tif")
def _(tmp_path):
    return add_call(cc.Scene(), "add_vegetation", junk(tmp_path, "ndvi.tif"), raster="ndvi")


@case("add_vegetation", "raster file that is empty", raises=cc.errors.FileFormatError, match=r"lc\.tif")
def _(tmp_path):
    return add_call(cc.Scene(), "add_vegetation", empty(tmp_path, "lc.tif"), raster="landcover")


@case("add_vegetation", "NDVI out of [-1, 1]", raises=InputError, match=r"\b7(\.0)?\b")
def _(tmp_path):
    a = np.full((3, 3), 0.5)
    a[1, 1] = 7.0
    return add_call(cc.Scene(), "add_vegetation", (a, Affine(1, 0, X0, 0, -1, Y0 + 3), L93), raster="ndvi")


@case("add_vegetation", "negative canopy height", raises=InputError, match=r"-4")
def _(tmp_path):
    a = np.full((3, 3), 5.0)
    a[0, 0] = -4.0
    return add_call(cc.Scene(), "add_vegetation", (a, Affine(1, 0, X0, 0, -1, Y0 + 3), L93), raster="cdsm")


@case("add_vegetation", "rotated raster", raises=InputError, match=r"rotat|north-up")
def _(tmp_path):
    t = Affine(0.866, -0.5, X0, 0.5, 0.866, Y0)
    return add_call(cc.Scene(), "add_vegetation", (np.full((3, 3), 0.5), t, L93), raster="ndvi")


@case("add_vegetation", "raster in degrees declared Lambert-93", raises=CRSError, match=r"2\.31")
def _(tmp_path):
    t = Affine(0.0001, 0, 2.31, 0, -0.0001, 48.89)
    return add_call(cc.Scene(), "add_vegetation", (np.full((3, 3), 0.5), t, L93), raster="ndvi")


def _check_ndvi_nan(r, w):
    # NaN NDVI cells stay NaN (unknown), the others as given
    a = r.rasters["ndvi"][0]
    assert np.isnan(a[0, 0]) and np.nanmax(a) == pytest.approx(0.5)


@case("add_vegetation", "NaN nodata raster", check=_check_ndvi_nan)
def _(tmp_path):
    a = np.full((3, 3), 0.5)
    a[0, 0] = np.nan
    return add_call(cc.Scene(), "add_vegetation", (a, Affine(1, 0, X0, 0, -1, Y0 + 3), L93), raster="ndvi", keep_scene=False)


@case("add_vegetation", "points", raises=GeometryError, match=r"Point")
def _(tmp_path):
    g = gpd.GeoDataFrame({"kind": ["tree"]}, geometry=[shapely.Point(X0, Y0)], crs=L93)
    return add_call(cc.Scene(), "add_vegetation", g)


@case("add_vegetation", "unknown kind column", raises=InputError, match=r"nature")
def _(tmp_path):
    return add_call(cc.Scene(), "add_vegetation", boxes(1, kind=["lawn"]), kind_column="nature")


# ======================================================================= add_terrain
def _terrain(z, x0=X0, y0=Y0, res=1.0, crs=L93):
    z = np.asarray(z)
    return Terrain.from_array(z, (x0, y0 + z.shape[0] * res), res, crs)


@case("add_terrain", "path to junk", raises=cc.errors.FileFormatError, match=r"dem\.tif")
def _(tmp_path):
    return add_call(lone_box(), "add_terrain", junk(tmp_path, "dem.tif"))


@case("add_terrain", "text file", raises=cc.errors.FileFormatError, match=r"dem\.txt")
def _(tmp_path):
    return add_call(lone_box(), "add_terrain", text(tmp_path, "dem.txt", "35 35\n35 35\n"))


@case("add_terrain", "array instead of a Terrain", raises=InputError, match=r"ndarray")
def _(tmp_path):
    return add_call(lone_box(), "add_terrain", np.full((4, 4), 35.0))


@case("add_terrain", "terrain in another CRS", raises=CRSError, match=r"EPSG:3857")
def _(tmp_path):
    t = _terrain(np.full((4, 4), 35.0), x0=260000.0, y0=6250000.0, crs="EPSG:3857")
    return add_call(lone_box(), "add_terrain", t)


@case("add_terrain", "terrain far from the scene", raises=GeoreferenceError, match=r"km")
def _(tmp_path):
    return add_call(lone_box(), "add_terrain", _terrain(np.full((4, 4), 35.0), x0=X0 + 200_000.0))


@case("add_terrain", "all-NaN terrain", raises=InputError, match=r"only nodata")
def _(tmp_path):
    return Call(_terrain, (np.full((4, 4), np.nan),))


@case("add_terrain", "undeclared -9999 nodata", raises=InputError, match=r"-9999")
def _(tmp_path):
    z = np.full((4, 4), 35.0)
    z[0, :] = -9999.0
    return Call(_terrain, (z,))


def _check_dsm_geo(r, w):
    # the DEM is kept; the buildings' ground stays theirs (data: 35 m)
    assert r.terrain is not None and r.buildings["ground_z"].iloc[0] == GROUND_Z


@case("add_terrain", "DEM under a building with data ground", check=_check_dsm_geo)
def _(tmp_path):
    return add_call(lone_box(), "add_terrain", _terrain(np.full((40, 40), 35.2), x0=X0 - 10, y0=Y0 - 10), keep_scene=False)


@case("add_terrain", "DSM in another CRS", raises=CRSError, match=r"EPSG:3857")
def _(tmp_path):
    dem = _terrain(np.full((4, 4), 35.0))
    dsm = _terrain(np.full((4, 4), 35.0), x0=260000.0, y0=6250000.0, crs="EPSG:3857")
    return add_call(lone_box(), "add_terrain", dem, dsm=dsm)


# ---- the Terrain type itself (cimcity.Terrain)
@case("add_terrain", "Terrain of 1x1 cell", raises=InputError, match=r"\(1, 1\)")
def _(tmp_path):
    return Call(_terrain, (np.array([[35.0]]),))


@case("add_terrain", "Terrain of 3 dimensions", raises=InputError, match=r"\(2, 2, 2\)")
def _(tmp_path):
    return Call(_terrain, (np.zeros((2, 2, 2)),))


@case("add_terrain", "Terrain with rotation", raises=InputError, match=r"north-up")
def _(tmp_path):
    return Call(Terrain, (np.zeros((3, 3)), Affine(0.866, -0.5, X0, 0.5, 0.866, Y0)))


@case("add_terrain", "Terrain with zero resolution", raises=InputError, match=r"north-up|0\.0")
def _(tmp_path):
    return Call(Terrain, (np.zeros((3, 3)), Affine(0.0, 0, X0, 0, -1.0, Y0)))


@case("add_terrain", "Terrain with inf elevation", raises=InputError, match=r"inf")
def _(tmp_path):
    z = np.full((3, 3), 35.0)
    z[1, 1] = np.inf
    return Call(_terrain, (z,))


@case("add_terrain", "Terrain in degrees", raises=CRSError, match=r"EPSG:4326")
def _(tmp_path):
    return Call(Terrain.from_array, (np.zeros((3, 3)), (2.31, 48.89), 0.0001, "EPSG:4326"))


@case("add_terrain", "Terrain lon/lat declared Lambert-93", raises=CRSError, match=r"2\.31")
def _(tmp_path):
    return add_call(cc.Scene(), "add_terrain", Terrain.from_array(np.zeros((3, 3)), (2.31, 48.89), 0.0001, L93))


@case("add_terrain", "Terrain of text values", raises=InputError, match=r"abc")
def _(tmp_path):
    return Call(_terrain, (np.array([["abc", "1"], ["2", "3"]]),))


@case("add_terrain", "Terrain sample by unknown method", raises=InputError, match=r"cubic")
def _(tmp_path):
    t = _terrain(np.full((3, 3), 35.0))
    return Call(t.sample, ([X0 + 1], [Y0 + 1]), {"method": "cubic"})


# ======================================================================= add_bim
@case("add_bim", "object without id", raises=InputError, match=r"id")
def _(tmp_path):
    return add_call(lone_box(), "add_bim", object())


@case("add_bim", "project in another CRS", raises=CRSError, match=r"EPSG:3857")
def _(tmp_path):
    prj = box_project((X0, Y0 + 30, X0 + 10, Y0 + 40), crs="EPSG:3857")
    return add_call(lone_box(), "add_bim", prj)


@case("add_bim", "project in degrees", raises=CRSError, match=r"EPSG:4326")
def _(tmp_path):
    prj = box_project((X0, Y0 + 30, X0 + 10, Y0 + 40))
    prj.crs = "EPSG:4326"
    return add_call(lone_box(), "add_bim", prj)


@case("add_bim", "project without placement", raises=GeoreferenceError, match=r"no placement.*placement=\(x, y, z")
def _(tmp_path):
    prj = box_project((0, 0, 10, 8))
    prj.crs = None
    prj.georef = {"method": "none"}
    return add_call(lone_box(), "add_bim", prj)


@case("add_bim", "BimModel with NaN base", raises=InputError, match=r"nan")
def _(tmp_path):
    return Call(box_project, ((X0, Y0, X0 + 10, Y0 + 10),), {"base_z": np.nan})


@case("add_bim", "BimModel top below base", raises=InputError, match=r"top_z")
def _(tmp_path):
    return Call(box_project, ((X0, Y0, X0 + 10, Y0 + 10),), {"height": -10.0})


@case("add_bim", "BimModel with empty footprint", raises=GeometryError, match=r"empty")
def _(tmp_path):
    prj = box_project((X0, Y0, X0 + 10, Y0 + 10))
    return Call(cc.BimModel, (), dict(id="P", mesh=prj.mesh, footprint=shapely.Polygon(), base_z=35.0, top_z=45.0, crs=L93))


# ======================================================================= with_project
def _sample():
    return cc.datasets.load("paris", project=False)


@case("with_project", "project 444 km from its parcels", raises=GeoreferenceError, match=r"444")
def _(tmp_path):
    prj = box_project((X0 + 444_000, Y0, X0 + 444_020, Y0 + 12))
    return add_call(lone_box(), "with_project", prj)


@case("with_project", "project between parcels 50 m away", raises=GeoreferenceError, match=r"\b5\d(\.\d+)? m")
def _(tmp_path):
    s = _scene_with_parcels()
    prj = box_project((X0, Y0 + 60, X0 + 10, Y0 + 70))
    return add_call(s, "with_project", prj)


@case("with_project", "unknown parcel ids", raises=InputError, match=r"75117000ZZ9999")
def _(tmp_path):
    s = _scene_with_parcels()
    prj = box_project((X0, Y0, X0 + 10, Y0 + 10))
    return add_call(s, "with_project", prj, parcels=["75117000ZZ9999"])


def _check_base_warned(r, w):
    # a base 400 m off its neighbours' ground: the scene is built but warns
    # with both altitudes (the sun analyses refuse it, see the analyses cases)
    msgs = [str(x.message) for x in w if issubclass(x.category, cc.errors.DataQualityWarning)]
    assert any("435" in m for m in msgs), msgs


@case("with_project", "base 400 m above its neighbours", check=_check_base_warned)
def _(tmp_path):
    s = lone_box()
    prj = box_project((X0 + 30, Y0, X0 + 40, Y0 + 10), base_z=435.0)
    return add_call(s, "with_project", prj)


@case("with_project", "not a BimModel", raises=InputError, match=r"str|'projet\.ifc'")
def _(tmp_path):
    return add_call(lone_box(), "with_project", "projet.ifc")


def _check_swap(r, w):
    # the box project replaces the building it overlaps: one building, the
    # project's, with its 24 m height (box_project default)
    b = r.buildings
    assert list(b.index) == ["PRJ"] and b["height"].iloc[0] == pytest.approx(24.0)


@case("with_project", "project over a building", check=_check_swap)
def _(tmp_path):
    s = lone_box()
    return add_call(s, "with_project", box_project((X0, Y0, X0 + 20, Y0 + 10)))


# ======================================================================= clip
@case("clip", "empty polygon", raises=InputError, match=r"POLYGON EMPTY")
def _(tmp_path):
    return add_call(lone_box(), "clip", shapely.Polygon())


@case("clip", "box of three numbers", raises=InputError, match=r"\(1, 2, 3\)")
def _(tmp_path):
    return add_call(lone_box(), "clip", (1, 2, 3))


@case("clip", "inverted box", raises=InputError, match=r"649900")
def _(tmp_path):
    return add_call(lone_box(), "clip", (649900.0, Y0, X0, Y0 + 50))


@case("clip", "negative margin", raises=InputError, match=r"-5")
def _(tmp_path):
    return add_call(lone_box(), "clip", (X0, Y0, X0 + 50, Y0 + 50), margin=-5.0)


@case("clip", "NaN in the box", raises=InputError, match=r"nan")
def _(tmp_path):
    return add_call(lone_box(), "clip", (X0, np.nan, X0 + 50, Y0 + 50))


@case("clip", "area in degrees", raises=CRSError, match=r"2\.31")
def _(tmp_path):
    return add_call(lone_box(), "clip", (2.31, 48.88, 2.32, 48.89))


@case("clip", "a line", raises=InputError, match=r"LINESTRING")
def _(tmp_path):
    return add_call(lone_box(), "clip", shapely.LineString([(X0, Y0), (X0 + 50, Y0 + 50)]))


def _check_clip_empty(r, w):
    # an area beside every building: a valid, empty scene (nothing there)
    assert len(r.buildings) == 0


@case("clip", "area with nothing in it", check=_check_clip_empty)
def _(tmp_path):
    return add_call(lone_box(), "clip", (X0 + 100, Y0 + 100, X0 + 150, Y0 + 150))


def _check_clip_cut(r, w):
    # cut at x = X0 + 5: the 20 × 10 box keeps 5 × 10 = 50 m²
    assert r.buildings.geometry.iloc[0].area == pytest.approx(50.0)


@case("clip", "cut through a building", check=_check_clip_cut)
def _(tmp_path):
    return add_call(lone_box(), "clip", (X0 - 10, Y0 - 10, X0 + 5, Y0 + 20), cut=True)


# ======================================================================= mesh
@case("mesh", "terrain_step zero", raises=InputError, match=r"terrain_step.*\b0\b")
def _(tmp_path):
    s = lone_box()
    s.add_terrain(_terrain(np.full((30, 30), 35.0), x0=X0 - 5, y0=Y0 - 5))
    return add_call(s, "mesh", terrain_step=0)


@case("mesh", "terrain_step negative", raises=InputError, match=r"-2")
def _(tmp_path):
    s = lone_box()
    s.add_terrain(_terrain(np.full((30, 30), 35.0), x0=X0 - 5, y0=Y0 - 5))
    return add_call(s, "mesh", terrain_step=-2)


@case("mesh", "terrain_step fractional", raises=InputError, match=r"2\.5")
def _(tmp_path):
    s = lone_box()
    s.add_terrain(_terrain(np.full((30, 30), 35.0), x0=X0 - 5, y0=Y0 - 5))
    return add_call(s, "mesh", terrain_step=2.5)


@case("mesh", "terrain_step text", raises=InputError, match=r"'2'")
def _(tmp_path):
    return add_call(lone_box(), "mesh", terrain_step="2")


def _check_empty_mesh(r, w):
    # nothing in the scene: a mesh without faces (nothing to draw or hit)
    assert len(r.faces) == 0 and len(r.vertices) == 0


@case("mesh", "empty scene", check=_check_empty_mesh)
def _(tmp_path):
    return add_call(cc.Scene(), "mesh")


def _check_box_mesh(r, w):
    # the 20 × 10 × 20 m box: closed, 12 triangles, volume 4000 m³ (trimesh)
    import trimesh

    tm = trimesh.Trimesh(r.vertices, r.faces, process=False)
    assert len(r.faces) == 12 and tm.is_watertight
    assert abs(tm.volume) == pytest.approx(4000.0, rel=1e-9)


@case("mesh", "lone box", check=_check_box_mesh)
def _(tmp_path):
    return add_call(lone_box(), "mesh", terrain=False)


def _check_nodata_terrain_mesh(r, w):
    # nodata cells give no triangle: the NaN corner has none, z stays finite
    assert np.isfinite(r.vertices).all()
    t = r.face_kind == cc.mesh.KIND_CODES["terrain"]
    assert 0 < t.sum() < 2 * 9 * 9


@case("mesh", "terrain with a nodata hole", check=_check_nodata_terrain_mesh)
def _(tmp_path):
    s = cc.Scene()
    z = np.full((10, 10), 35.0)
    z[:3, :3] = np.nan
    s.add_terrain(_terrain(z))
    return add_call(s, "mesh", terrain_step=1)
