"""Corpus cases of the public readers and ``cimcity.io.describe``."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

import cimcity as cc
from cimcity.errors import (
    CRSError,
    DataQualityWarning,
    FileFormatError,
    GeometryError,
    InputError,
    RepairWarning,
    RuleError,
)
from cimcity.testing import X0, Y0

from . import Call, case
from .files import (
    SAMPLE,
    box,
    boxes,
    copy_sample,
    empty,
    feature,
    geojson,
    geotiff,
    gpkg,
    junk,
    text,
    truncated,
)

CAD = "cadastre-75117-parcelles.json"
BAT = "batiment.gpkg"
PLU = "zone_urba.gpkg"
DEM = "dem_1m.tif"
RULES = "plu_rules.toml"
IFC = "projet_r7.ifc"

# ======================================================================= damaged files
# (reader, file suffix, sample file to truncate): every reader refuses an empty,
# a truncated and a binary file with a FileFormatError naming the file.
_READERS = {
    "read_cadastre": (cc.read_cadastre, ".json", CAD),
    "read_buildings": (cc.read_buildings, ".gpkg", BAT),
    "read_plu": (cc.read_plu, ".gpkg", PLU),
    "read_rules": (cc.read_rules, ".toml", RULES),
    "read_dem": (cc.read_dem, ".tif", DEM),
    "read_dsm": (cc.read_dsm, ".tif", DEM),
    "read_ifc": (cc.read_ifc, ".ifc", IFC),
    "read_cityjson": (cc.read_cityjson, ".json", None),
    "describe": (cc.io.describe, ".json", CAD),
}


def _damaged(module, reader, suffix, sample):
    stem = f"bad_{module}"

    @case(module, "empty file", raises=FileFormatError, match=rf"{stem}\{suffix}")
    def _(tmp_path):
        return Call(reader, (empty(tmp_path, stem + suffix),))

    @case(module, "binary junk", raises=FileFormatError, match=rf"{stem}\{suffix}")
    def _(tmp_path):
        return Call(reader, (junk(tmp_path, stem + suffix),))

    if sample is not None:

        @case(module, "truncated half", raises=FileFormatError, match=rf"{stem}\{suffix}")
        def _(tmp_path):
            return Call(reader, (truncated(tmp_path, sample, stem + suffix),))

    @case(module, "whitespace only", raises=FileFormatError, match=rf"{stem}\{suffix}")
    def _(tmp_path):
        return Call(reader, (text(tmp_path, stem + suffix, "  \n\n  \t\n"),))


for _m, (_r, _s, _f) in _READERS.items():
    _damaged(_m, _r, _s, _f)


def _cityjson_doc(**over):
    """A minimal valid CityJSON 2.0 document: one LoD1 box building 10×10×12 m."""
    v = [[0, 0, 0], [10000, 0, 0], [10000, 10000, 0], [0, 10000, 0],
         [0, 0, 12000], [10000, 0, 12000], [10000, 10000, 12000], [0, 10000, 12000]]
    solid = [[[[0, 3, 2, 1]], [[4, 5, 6, 7]], [[0, 1, 5, 4]], [[1, 2, 6, 5]],
              [[2, 3, 7, 6]], [[3, 0, 4, 7]]]]
    doc = {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [0.001, 0.001, 0.001], "translate": [X0, Y0, 35.0]},
        "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/2154"},
        "CityObjects": {
            "bat-1": {
                "type": "Building",
                "geometry": [{"type": "Solid", "lod": "1", "boundaries": solid}],
            }
        },
        "vertices": v,
    }
    doc.update(over)
    return doc


# ======================================================================= mislabelled


@case("read_cadastre", "GeoPackage named .json",
      check=lambda r, w: _count(r, 121, "sample parcels in the cadastre"))
def _(tmp_path):
    # GDAL opens a file by its content: the cadastre written as GeoPackage but
    # named .json is the same 121 parcels (count from the file itself)
    import geopandas as gpd

    g = gpd.read_file(SAMPLE / CAD)
    p = gpkg(tmp_path, "parcelles.gpkg", g)
    q = p.with_name("parcelles.json")
    p.rename(q)
    return Call(cc.read_cadastre, (q,))


@case("read_rules", "JSON file named .toml", raises=FileFormatError, match=r"rules\.toml")
def _(tmp_path):
    return Call(cc.read_rules, (text(tmp_path, "rules.toml", json.dumps({"zones": {"UG": {}}})),))


@case("read_dem", "vector file named .tif", raises=FileFormatError, match=r"dem\.tif")
def _(tmp_path):
    return Call(cc.read_dem, (copy_sample(tmp_path, CAD, "dem.tif"),))


@case("read_ifc", "GeoJSON named .ifc", raises=FileFormatError, match=r"projet\.ifc")
def _(tmp_path):
    return Call(cc.read_ifc, (copy_sample(tmp_path, CAD, "projet.ifc"),))


@case("read_cityjson", "GeoJSON named .city.json", raises=FileFormatError,
      match=r"FeatureCollection|bati\.city\.json")
def _(tmp_path):
    return Call(cc.read_cityjson, (copy_sample(tmp_path, CAD, "bati.city.json"),))


@case("read_buildings", "raster named .gpkg", raises=FileFormatError, match=r"bati\.gpkg")
def _(tmp_path):
    return Call(cc.read_buildings, (copy_sample(tmp_path, DEM, "bati.gpkg"),))


@case("read_plu", "rule pack named .gpkg", raises=FileFormatError, match=r"zones\.gpkg")
def _(tmp_path):
    return Call(cc.read_plu, (copy_sample(tmp_path, RULES, "zones.gpkg"),))


@case("describe", "unknown suffix with junk", raises=FileFormatError, match=r"thing\.xyz")
def _(tmp_path):
    return Call(cc.io.describe, (junk(tmp_path, "thing.xyz"),))


@case("describe", "IFC header then junk", raises=FileFormatError, match=r"broken\.ifc")
def _(tmp_path):
    return Call(cc.io.describe, (text(tmp_path, "broken.ifc", b"ISO-10303-21;\n" + b"\x00" * 200),))


# ======================================================================= cadastre
def _count(result, n, what):
    assert len(result) == n, f"{len(result)} rows, expected {n} {what}"


@case("read_cadastre", "no features", raises=FileFormatError, match=r"p\.json")
def _(tmp_path):
    return Call(cc.read_cadastre, (geojson(tmp_path, "p.json", [], crs="EPSG:2154"),))


@case("read_cadastre", "lon/lat declared Lambert-93", raises=CRSError,
      match=r"2\.3.*48\.8|longitude/latitude")
def _(tmp_path):
    f = [feature(shapely.box(2.31, 48.88, 2.3101, 48.8801), id="75117000AA0001")]
    return Call(cc.read_cadastre, (geojson(tmp_path, "p.json", f, crs="EPSG:2154"),))


@case("read_cadastre", "Lambert-93 without crs member (GeoJSON = WGS84)",
      raises=CRSError, match=r"649\d{3}|6865\d{3}")
def _(tmp_path):
    f = [feature(box(0), id="75117000AA0001")]
    return Call(cc.read_cadastre, (geojson(tmp_path, "p.json", f),))


@case("read_cadastre", "geographic target CRS", raises=CRSError, match=r"EPSG:4326")
def _(tmp_path):
    return Call(cc.read_cadastre, (copy_sample(tmp_path, CAD),), {"crs": "EPSG:4326"})


@case("read_cadastre", "unknown target CRS", raises=CRSError, match=r"EPSG:99999")
def _(tmp_path):
    return Call(cc.read_cadastre, (copy_sample(tmp_path, CAD),), {"crs": "EPSG:99999"})


@case("read_cadastre", "point geometries", raises=GeometryError, match=r"Point")
def _(tmp_path):
    f = [feature(shapely.Point(2.31, 48.88), id="75117000AA0001")]
    return Call(cc.read_cadastre, (geojson(tmp_path, "p.json", f),))


def _check_collection(r, w):
    # the collection's polygon is kept (the point has no area), reported as a
    # repair; its area is the box's, reprojected by pyproj (same as geopandas)
    import geopandas as gpd

    ref = gpd.GeoSeries([shapely.box(2.31, 48.88, 2.3101, 48.8801)], crs=4326).to_crs(2154)
    assert len(r) == 1 and r.geometry.iloc[0].area == pytest.approx(ref.area.iloc[0], rel=1e-9)
    assert any(issubclass(x.category, RepairWarning) and "GeometryCollection" in str(x.message) for x in w)


@case("read_cadastre", "geometry collection", check=_check_collection)
def _(tmp_path):
    g = shapely.GeometryCollection([shapely.box(2.31, 48.88, 2.3101, 48.8801),
                                    shapely.Point(2.31, 48.88)])
    return Call(cc.read_cadastre, (geojson(tmp_path, "p.json", [feature(g, id="A1")]),))


def _check_null(r, w):
    # the feature without geometry cannot be a parcel: dropped and reported
    assert list(r["id"]) == ["A1"]
    assert any(issubclass(x.category, DataQualityWarning) and "no geometry" in str(x.message) for x in w)


@case("read_cadastre", "null geometry", check=_check_null)
def _(tmp_path):
    f = [feature(shapely.box(2.31, 48.88, 2.3101, 48.8801), id="A1"), feature(None, id="A2")]
    return Call(cc.read_cadastre, (geojson(tmp_path, "p.json", f),))


def _check_dup_parcels(r, w):
    # the reader keeps the file's rows and names the duplicate (the Scene refuses it)
    assert len(r) == 2
    assert any("75117000AA0001" in str(x.message) for x in w if issubclass(x.category, DataQualityWarning))


@case("read_cadastre", "duplicate parcel ids", check=_check_dup_parcels)
def _(tmp_path):
    f = [feature(shapely.box(2.31, 48.88, 2.3101, 48.8801), id="75117000AA0001"),
         feature(shapely.box(2.3102, 48.88, 2.3103, 48.8801), id="75117000AA0001")]
    return Call(cc.read_cadastre, (geojson(tmp_path, "p.json", f),))


def _check_bowtie(r, w):
    # make_valid splits the 10 m bowtie into two triangles of 25 m² each
    assert len(r) == 1
    assert any(issubclass(x.category, RepairWarning) for x in w), [str(x.message) for x in w]
    assert r.geometry.iloc[0].area == pytest.approx(50.0, rel=1e-6)


@case("read_cadastre", "self-intersecting polygon repaired", check=_check_bowtie)
def _(tmp_path):
    bow = shapely.Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])
    return Call(cc.read_cadastre, (geojson(tmp_path, "p.json", [feature(bow, id="A1")], crs="EPSG:2154"),))


def _check_3d(r, w):
    # a polygon with z = 35 m has the same plan area, 10 × 10 m = 100 m²
    assert r.geometry.iloc[0].area == pytest.approx(100.0, rel=1e-9)


@case("read_cadastre", "3D polygons", check=_check_3d)
def _(tmp_path):
    g = shapely.force_3d(box(0), 35.0)
    return Call(cc.read_cadastre, (geojson(tmp_path, "p.json", [feature(g, id="A1")], crs="EPSG:2154"),))


def _check_multi(r, w):
    # a two-part parcel stays one row whose area is the sum, 2 × 100 m²
    assert len(r) == 1 and r.geometry.iloc[0].area == pytest.approx(200.0, rel=1e-9)


@case("read_cadastre", "multipart parcel", check=_check_multi)
def _(tmp_path):
    g = shapely.MultiPolygon([box(0), box(1)])
    return Call(cc.read_cadastre, (geojson(tmp_path, "p.json", [feature(g, id="A1")], crs="EPSG:2154"),))


def _check_latin1(r, w):
    # the file's bytes are Latin-1: the reader keeps the row and says the text
    # encoding is broken (DataQualityWarning), or decodes it right
    assert len(r) == 1
    v = str(r.iloc[0].get("commune", ""))
    ok = "Épinay" in v or any(issubclass(x.category, DataQualityWarning) for x in w)
    assert ok, (v, [str(x.message) for x in w])


@case("read_cadastre", "non-UTF-8 attributes", check=_check_latin1)
def _(tmp_path):
    f = [feature(box(0), id="A1", commune="Épinay-sur-Seine")]
    return Call(cc.read_cadastre, (geojson(tmp_path, "p.json", f, crs="EPSG:2154", encoding="latin-1"),))


@case("read_cadastre", "bbox of two numbers", raises=InputError, match=r"\(1, 2\)|\[1, 2\]")
def _(tmp_path):
    return Call(cc.read_cadastre, (copy_sample(tmp_path, CAD),), {"bbox": (1, 2)})


@case("read_cadastre", "bbox in the wrong order", raises=InputError, match=r"649900")
def _(tmp_path):
    return Call(cc.read_cadastre, (copy_sample(tmp_path, CAD),),
                {"bbox": (649900.0, 6865600.0, 649700.0, 6865300.0)})


@case("read_cadastre", "unknown layer", raises=InputError, match=r"nolayer")
def _(tmp_path):
    p = gpkg(tmp_path, "p.gpkg", boxes(2), layer="parcelles")
    return Call(cc.read_cadastre, (p,), {"layer": "nolayer"})


@case("read_cadastre", "unknown column requested", raises=InputError, match=r"nocol")
def _(tmp_path):
    return Call(cc.read_cadastre, (copy_sample(tmp_path, CAD),), {"columns": ["id", "nocol"]})


# ======================================================================= buildings
def _bld(tmp_path, name="b.gpkg", n=3, **cols):
    return gpkg(tmp_path, name, boxes(n, **cols))


def _check_dropped_empty(r, w):
    # an empty footprint is no building: dropped and reported with its row
    assert len(r) == 1
    assert any("rows [1]" in str(x.message) for x in w if issubclass(x.category, DataQualityWarning))


def _check_heights_nan(r, w):
    # hauteur is NaN: the reader never invents a height (NaN kept, warning)
    assert r["height"].isna().sum() == 1
    assert any(issubclass(x.category, DataQualityWarning) for x in w)


@case("read_buildings", "NaN height kept unknown", check=_check_heights_nan)
def _(tmp_path):
    return Call(cc.read_buildings, (_bld(tmp_path, height=[12.0, np.nan, 9.0]),))


def _height_unknown(value):
    def check(r, w):
        # an impossible height is unknown (NaN, named in a warning), never used
        assert np.isnan(r["height"].iloc[0]) and r["height"].iloc[1] == 9.0
        msgs = [str(x.message) for x in w if issubclass(x.category, DataQualityWarning)]
        assert any(value in m for m in msgs), msgs

    return check


@case("read_buildings", "negative height", check=_height_unknown("-12"))
def _(tmp_path):
    return Call(cc.read_buildings, (_bld(tmp_path, height=[-12.0, 9.0, 9.0]),))


@case("read_buildings", "absurd height", check=_height_unknown("12000"))
def _(tmp_path):
    return Call(cc.read_buildings, (_bld(tmp_path, height=[12000.0, 9.0, 9.0]),))


@case("read_buildings", "zero height", check=_height_unknown("first: 0"))
def _(tmp_path):
    return Call(cc.read_buildings, (_bld(tmp_path, height=[0.0, 9.0, 9.0]),))


@case("read_buildings", "lon/lat declared Lambert-93", raises=CRSError,
      match=r"2\.3.*48\.8|longitude/latitude")
def _(tmp_path):
    g = boxes(2, height=[9.0, 9.0]).set_geometry(
        [shapely.box(2.31, 48.88, 2.3101, 48.8801), shapely.box(2.312, 48.88, 2.3121, 48.8801)],
        crs="EPSG:2154")
    return Call(cc.read_buildings, (gpkg(tmp_path, "b.gpkg", g),))


@case("read_buildings", "Lambert-93 declared lon/lat", raises=CRSError, match=r"649\d{3}|6865\d{3}")
def _(tmp_path):
    g = boxes(2, height=[9.0, 9.0]).set_crs("EPSG:4326", allow_override=True)
    return Call(cc.read_buildings, (gpkg(tmp_path, "b.gpkg", g),))


@case("read_buildings", "no CRS", raises=CRSError, match=r"CRS|crs")
def _(tmp_path):
    g = boxes(2, height=[9.0, 9.0]).set_crs(None, allow_override=True)
    return Call(cc.read_buildings, (gpkg(tmp_path, "b.gpkg", g),))


@case("read_buildings", "line geometries", raises=GeometryError, match=r"LineString")
def _(tmp_path):
    g = boxes(2, height=[9.0, 9.0])
    g = g.set_geometry(g.geometry.boundary)
    return Call(cc.read_buildings, (gpkg(tmp_path, "b.gpkg", g),))


def _check_dup_cleabs(r, w):
    # ids made unique with a suffix, the file's column kept, the id named
    assert list(r.index) == ["BATIMENT0000000000000001", "BATIMENT0000000000000001#2"]
    assert any("BATIMENT0000000000000001" in str(x.message) for x in w)


@case("read_buildings", "duplicate cleabs", check=_check_dup_cleabs)
def _(tmp_path):
    p = _bld(tmp_path, n=2, cleabs=["BATIMENT0000000000000001"] * 2, hauteur=[9.0, 9.0])
    return Call(cc.read_buildings, (p,))


@case("read_buildings", "unknown height column", raises=InputError, match=r"haut_m")
def _(tmp_path):
    return Call(cc.read_buildings, (_bld(tmp_path, h=[9.0, 9.0, 9.0]),), {"height": "haut_m"})


@case("read_buildings", "unknown flavour", raises=InputError, match=r"bdtopo4")
def _(tmp_path):
    return Call(cc.read_buildings, (_bld(tmp_path, height=[9.0] * 3),), {"flavour": "bdtopo4"})


def _check_text_heights(r, w):
    # "12" and "9 m" are read, "tall" is unknown (NaN) and named
    assert r["height"].iloc[0] == 12.0 and np.isnan(r["height"].iloc[1]) and r["height"].iloc[2] == 9.0
    assert any("'tall'" in str(x.message) for x in w)


@case("read_buildings", "text heights", check=_check_text_heights)
def _(tmp_path):
    return Call(cc.read_buildings, (_bld(tmp_path, height=["12", "tall", "9 m"]),))


def _check_osm_heights(r, w):
    # OSM spellings: "12 m" = 12, "40'" = 40 ft = 12.192 m, "10,5" = 10.5 m
    assert r["height"].to_numpy() == pytest.approx([12.0, 12.192, 10.5], abs=1e-9)


@case("read_buildings", "OSM height spellings", check=_check_osm_heights)
def _(tmp_path):
    return Call(cc.read_buildings, (_bld(tmp_path, building=["yes"] * 3, height=["12 m", "40'", "10,5"]),))


def _check_ground_nan(r, w):
    # a missing ground altitude stays unknown (NaN), never 0 m
    assert np.isnan(r["ground_z"].iloc[1]) and r["ground_z"].iloc[0] == 35.0


@case("read_buildings", "missing ground altitude", check=_check_ground_nan)
def _(tmp_path):
    p = _bld(tmp_path, hauteur=[9.0] * 3, altitude_minimale_sol=[35.0, np.nan, 35.0])
    return Call(cc.read_buildings, (p,))


@case("read_buildings", "empty polygon", check=_check_dropped_empty)
def _(tmp_path):
    g = boxes(2, height=[9.0, 9.0])
    g.loc[1, "geometry"] = shapely.Polygon()
    return Call(cc.read_buildings, (gpkg(tmp_path, "b.gpkg", g),))


@case("read_buildings", "DEM of another place", raises=InputError, match=r"far\.tif")
def _(tmp_path):
    far = geotiff(tmp_path, "far.tif", np.full((4, 4), 35.0),
                  transform=Affine(1, 0, 700000.0, 0, -1, 6600000.0))
    return Call(cc.read_buildings, (_bld(tmp_path, height=[9.0] * 3),), {"dem": far})


# ======================================================================= PLU zones
@case("read_plu", "no libelle column", raises=InputError, match=r"libelle")
def _(tmp_path):
    return Call(cc.read_plu, (gpkg(tmp_path, "z.gpkg", boxes(2, nom=["UG", "N"])),))


@case("read_plu", "point zones", raises=GeometryError, match=r"Point")
def _(tmp_path):
    g = boxes(2, libelle=["UG", "N"])
    g = g.set_geometry(g.geometry.centroid)
    return Call(cc.read_plu, (gpkg(tmp_path, "z.gpkg", g),))


@case("read_plu", "lon/lat declared Lambert-93", raises=CRSError, match=r"2\.3|longitude")
def _(tmp_path):
    g = boxes(1, libelle=["UG"]).set_geometry([shapely.box(2.31, 48.88, 2.32, 48.89)], crs="EPSG:2154")
    return Call(cc.read_plu, (gpkg(tmp_path, "z.gpkg", g),))


def _check_plu_nonstandard(r, w):
    # "XX" is no CNIG typezone: kept as it is and named in a DataQualityWarning
    assert list(r["libelle"]) == ["UG", "N"]
    assert any("XX" in str(x.message) for x in w if issubclass(x.category, DataQualityWarning))


@case("read_plu", "non-standard typezone", check=_check_plu_nonstandard)
def _(tmp_path):
    return Call(cc.read_plu, (gpkg(tmp_path, "z.gpkg", boxes(2, libelle=["UG", "N"], typezone=["XX", "N"])),))


# ======================================================================= rule packs
def _rules(tmp_path, body):
    return (text(tmp_path, "rules.toml", body),)


@case("read_rules", "invalid TOML syntax", raises=FileFormatError, match=r"line 2")
def _(tmp_path):
    return Call(cc.read_rules, _rules(tmp_path, "[zones.UG]\nmax_height = = 3\n"))


@case("read_rules", "unknown rule", raises=RuleError, match=r"max_hieght")
def _(tmp_path):
    return Call(cc.read_rules, _rules(tmp_path, "[zones.UG.max_hieght]\nvalue = 37.0\nunit = 'm'\narticle = 'UG.10'\n"))


@case("read_rules", "unknown rule parameter", raises=RuleError, match=r"valeur")
def _(tmp_path):
    return Call(cc.read_rules, _rules(tmp_path, "[zones.UG.max_height]\nvaleur = 37.0\nunit = 'm'\narticle = 'UG.10'\n"))


@case("read_rules", "text where a number is due", raises=RuleError, match=r"trente")
def _(tmp_path):
    return Call(cc.read_rules, _rules(tmp_path, "[zones.UG.max_height]\nvalue = 'trente'\nunit = 'm'\narticle = 'UG.10'\n"))


@case("read_rules", "negative height", raises=RuleError, match=r"-37")
def _(tmp_path):
    return Call(cc.read_rules, _rules(tmp_path, "[zones.UG.max_height]\nvalue = -37.0\nunit = 'm'\narticle = 'UG.10'\n"))


@case("read_rules", "ratio above 1", raises=RuleError, match=r"7\.5")
def _(tmp_path):
    return Call(cc.read_rules, _rules(tmp_path, "[zones.UG.max_footprint_ratio]\nvalue = 7.5\nunit = 'ratio'\narticle = 'UG.9'\n"))


@case("read_rules", "unknown unit", raises=RuleError, match=r"furlong")
def _(tmp_path):
    return Call(cc.read_rules, _rules(tmp_path, "[zones.UG.max_height]\nvalue = 37.0\nunit = 'furlong'\narticle = 'UG.10'\n"))


@case("read_rules", "zone is not a table", raises=RuleError, match=r"UG")
def _(tmp_path):
    return Call(cc.read_rules, _rules(tmp_path, "[zones]\nUG = 37\n"))


@case("read_rules", "biotope weight above 1", raises=RuleError, match=r"1\.7")
def _(tmp_path):
    return Call(cc.read_rules, _rules(tmp_path, "[biotope_weights]\npleine_terre = 1.7\n"))


@case("read_rules", "unknown top-level key", raises=RuleError, match=r"zonez")
def _(tmp_path):
    return Call(cc.read_rules, _rules(tmp_path, "[zonez.UG.max_height]\nvalue = 37.0\nunit = 'm'\narticle = 'UG.10'\n"))


@case("read_rules", "boolean height", raises=RuleError, match=r"true|True")
def _(tmp_path):
    return Call(cc.read_rules, _rules(tmp_path, "[zones.UG.max_height]\nvalue = true\nunit = 'm'\narticle = 'UG.10'\n"))


@case("read_rules", "Latin-1 file", raises=FileFormatError, match=r"0xe9|UTF-8")
def _(tmp_path):
    body = "[pack]\nname = 'Règlement'\n[zones.UG.max_height]\nvalue = 37.0\nunit = 'm'\n"
    return (Call(cc.read_rules, (text(tmp_path, "rules.toml", body, encoding="latin-1"),)))


@case("read_rules", "not a path", raises=InputError, match=r"int")
def _(tmp_path):
    return Call(cc.read_rules, (37,))


@case("read_rules", "dict with wrong type", raises=RuleError, match=r"'37 m'")
def _(tmp_path):
    return Call(cc.read_rules, ({"zones": {"UG": {"max_height": {"value": "37 m", "unit": "m", "article": "UG.10"}}}},))


# ======================================================================= rasters
def _dem(tmp_path, z, **kw):
    return geotiff(tmp_path, "dem.tif", z, **kw)


@case("read_dem", "all nodata", raises=FileFormatError, match=r"nodata")
def _(tmp_path):
    return Call(cc.read_dem, (_dem(tmp_path, np.full((5, 5), -9999.0), nodata=-9999.0),))


@case("read_dem", "all NaN without nodata tag", raises=FileFormatError, match=r"nodata|NaN")
def _(tmp_path):
    return Call(cc.read_dem, (_dem(tmp_path, np.full((5, 5), np.nan)),))


def _check_nan_nodata(r, w):
    # NaN declared as nodata: those cells stay NaN, the others are the file's
    z = r.elevation
    assert np.isnan(z[0, 0]) and np.count_nonzero(np.isnan(z)) == 1
    assert np.nanmax(z) == pytest.approx(35.0)


@case("read_dem", "NaN nodata", check=_check_nan_nodata)
def _(tmp_path):
    z = np.full((5, 5), 35.0)
    z[0, 0] = np.nan
    return Call(cc.read_dem, (_dem(tmp_path, z, nodata=np.nan),))


@case("read_dem", "undeclared -9999 nodata", raises=InputError, match=r"-9999")
def _(tmp_path):
    z = np.full((5, 5), 35.0)
    z[0, :] = -9999.0
    return Call(cc.read_dem, (_dem(tmp_path, z),))


@case("read_dem", "1x1 raster", raises=InputError, match=r"1x1|\(1, 1\)|1 ?× ?1")
def _(tmp_path):
    return Call(cc.read_dem, (_dem(tmp_path, np.array([[35.0]])),))


def _check_rotated(r, w):
    # a rotated grid is resampled north-up (reported); values stay 35 m
    t = r.transform
    assert t.b == 0 and t.d == 0 and np.nanmax(r.elevation) == pytest.approx(35.0)
    assert any("reprojected" in str(x.message) for x in w)


@case("read_dem", "rotated raster", check=_check_rotated)
def _(tmp_path):
    t = Affine(0.866, -0.5, X0, 0.5, 0.866, Y0)
    return Call(cc.read_dem, (_dem(tmp_path, np.full((5, 5), 35.0), transform=t),))


@case("read_dem", "no CRS", raises=CRSError, match=r"dem\.tif")
def _(tmp_path):
    return Call(cc.read_dem, (_dem(tmp_path, np.full((5, 5), 35.0), crs=None),))


@case("read_dem", "degrees raster declared Lambert-93", raises=CRSError,
      match=r"longitude/latitude|2\.3")
def _(tmp_path):
    t = Affine(0.0001, 0, 2.31, 0, -0.0001, 48.89)
    return Call(cc.read_dem, (_dem(tmp_path, np.full((5, 5), 35.0), transform=t),))


@case("read_dem", "geographic target CRS", raises=CRSError, match=r"EPSG:4326")
def _(tmp_path):
    return Call(cc.read_dem, (_dem(tmp_path, np.full((5, 5), 35.0)),), {"crs": "EPSG:4326"})


@case("read_dem", "absurd elevations", raises=InputError, match=r"1e\+?0?9|1000000000")
def _(tmp_path):
    z = np.full((5, 5), 35.0)
    z[2, 2] = 1e9
    return Call(cc.read_dem, (_dem(tmp_path, z),))


def _check_2x2(r, w):
    # the smallest usable grid: 2 × 2 cells of 1 m at the file's values
    assert r.shape == (2, 2) and np.allclose(r.elevation, [[35, 36], [37, 38]])


@case("read_dem", "2x2 raster", check=_check_2x2)
def _(tmp_path):
    return Call(cc.read_dem, (_dem(tmp_path, np.array([[35.0, 36.0], [37.0, 38.0]])),))


@case("read_dsm", "1x1 raster", raises=InputError, match=r"1x1|\(1, 1\)|1 ?× ?1")
def _(tmp_path):
    return Call(cc.read_dsm, (_dem(tmp_path, np.array([[35.0]])),))


@case("read_dsm", "all nodata", raises=FileFormatError, match=r"nodata")
def _(tmp_path):
    return Call(cc.read_dsm, (_dem(tmp_path, np.full((5, 5), -9999.0), nodata=-9999.0),))


@case("read_dem", "bbox outside the raster", raises=InputError, match=r"700000")
def _(tmp_path):
    return Call(cc.read_dem, (copy_sample(tmp_path, DEM),), {"bbox": (700000.0, 6600000.0, 700100.0, 6600100.0)})


# ======================================================================= IFC
def _check_nogeo(r, w):
    # no georeference and no placement: the project is read in its own frame
    # and says so (georef none); the scene and the permit check refuse it
    assert not r.is_georeferenced and r.footprint.area == pytest.approx(80.0, rel=1e-3)


@case("read_ifc", "not georeferenced, no placement", check=_check_nogeo)
def _(tmp_path):
    from cimcity.datasets.ifc_writer import write_project_ifc

    p = write_project_ifc(tmp_path / "in" / "nogeo.ifc", [[0, 0], [10, 0], [10, 8], [0, 8]],
                          [3.0, 3.0], map_conversion=None)
    return Call(cc.read_ifc, (p,))


@case("read_ifc", "placement of two numbers", raises=InputError, match=r"\(1, 2\)|\[1, 2\]|1, 2")
def _(tmp_path):
    return Call(cc.read_ifc, (copy_sample(tmp_path, IFC),), {"placement": (1, 2)})


@case("read_ifc", "placement with NaN", raises=InputError, match=r"nan")
def _(tmp_path):
    return Call(cc.read_ifc, (copy_sample(tmp_path, IFC),), {"placement": (649750.0, np.nan, 34.0)})


@case("read_ifc", "geographic scene CRS", raises=CRSError, match=r"EPSG:4326")
def _(tmp_path):
    return Call(cc.read_ifc, (copy_sample(tmp_path, IFC),), {"scene_crs": "EPSG:4326"})


def _check_box_ifc(r, w):
    # the box project written on a 20 × 12 m footprint comes back at that
    # place with that area (240 m²) and a top at 35 + 3.5 + 3 = 41.5 m
    assert r.footprint.area == pytest.approx(240.0, rel=1e-3)
    assert r.footprint.bounds[0] == pytest.approx(X0, abs=0.01)
    assert r.top_z == pytest.approx(41.5, abs=0.05)


@case("read_ifc", "box project round trip", check=_check_box_ifc)
def _(tmp_path):
    from cimcity.testing import write_box_project

    p = write_box_project(tmp_path / "in" / "box.ifc", (X0, Y0, X0 + 20, Y0 + 12), (3.5, 3.0))
    return Call(cc.read_ifc, (p,))


@case("read_ifc", "IFC header, no entities", raises=FileFormatError, match=r"hdr\.ifc")
def _(tmp_path):
    body = "ISO-10303-21;\nHEADER;\nFILE_SCHEMA(('IFC4'));\nENDSEC;\nDATA;\nENDSEC;\nEND-ISO-10303-21;\n"
    return Call(cc.read_ifc, (text(tmp_path, "hdr.ifc", body),))


# ======================================================================= CityJSON
def _cj(tmp_path, doc, name="c.city.json"):
    return text(tmp_path, name, json.dumps(doc))


def _check_cj(r, w):
    # one 10 × 10 × 12 m box: footprint 100 m², height 12 m (from the vertices)
    b = r.buildings
    assert len(b) == 1
    assert b.geometry.iloc[0].area == pytest.approx(100.0, rel=1e-6)
    assert b["height"].iloc[0] == pytest.approx(12.0, abs=1e-3)


@case("read_cityjson", "minimal valid document", check=_check_cj)
def _(tmp_path):
    return Call(cc.read_cityjson, (_cj(tmp_path, _cityjson_doc()),))


@case("read_cityjson", "vertex index out of range", raises=FileFormatError, match=r"'bat-1' refers to vertex 99\b")
def _(tmp_path):
    doc = _cityjson_doc()
    doc["CityObjects"]["bat-1"]["geometry"][0]["boundaries"][0][0][0][0] = 99
    return Call(cc.read_cityjson, (_cj(tmp_path, doc),))


@case("read_cityjson", "no vertices", raises=FileFormatError, match=r"vertices")
def _(tmp_path):
    doc = _cityjson_doc()
    del doc["vertices"]
    return Call(cc.read_cityjson, (_cj(tmp_path, doc),))


def _check_lod(r, w):
    # no LoD 7 exists: the highest LoD is read and the warning names '7'
    assert len(r.buildings) == 1 and any("'7'" in str(x.message) for x in w)


@case("read_cityjson", "unknown lod", check=_check_lod)
def _(tmp_path):
    return Call(cc.read_cityjson, (_cj(tmp_path, _cityjson_doc()),), {"lod": "7"})


@case("read_cityjson", "unknown parts mode", raises=InputError, match=r"explode")
def _(tmp_path):
    return Call(cc.read_cityjson, (_cj(tmp_path, _cityjson_doc()),), {"parts": "explode"})


@case("read_cityjson", "degrees declared Lambert-93", raises=CRSError, match=r"longitude/latitude|2\.3")
def _(tmp_path):
    doc = _cityjson_doc(transform={"scale": [1e-6, 1e-6, 0.001], "translate": [2.31, 48.88, 35.0]})
    return Call(cc.read_cityjson, (_cj(tmp_path, doc),))


@case("read_cityjson", "geographic CRS", raises=CRSError, match=r"4326|4979")
def _(tmp_path):
    doc = _cityjson_doc(metadata={"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/4326"})
    return Call(cc.read_cityjson, (_cj(tmp_path, doc),))


@case("read_cityjson", "no CityObjects", raises=FileFormatError, match=r"CityObjects")
def _(tmp_path):
    doc = _cityjson_doc()
    del doc["CityObjects"]
    return Call(cc.read_cityjson, (_cj(tmp_path, doc),))


@case("read_cityjson", "version 0.9", raises=FileFormatError, match=r"0\.9")
def _(tmp_path):
    return Call(cc.read_cityjson, (_cj(tmp_path, _cityjson_doc(version="0.9")),))


# ======================================================================= weather
LAT, LON = 48.884, 2.308  # the synthetic scenes' site (Paris 17e)


def _frame(n=24, tz="Europe/Paris", freq="1h", start="2024-06-21", **cols):
    idx = pd.date_range(start, periods=n, freq=freq, tz=tz)
    data = {"ghi": np.full(n, 300.0), "dhi": np.full(n, 100.0)}
    data.update(cols)
    return pd.DataFrame(data, index=idx)


@case("read_weather", "naive DataFrame index", raises=InputError, match=r"tz_localize|timezone")
def _(tmp_path):
    return Call(cc.read_weather, (_frame(tz=None), LAT, LON))


@case("read_weather", "one column only", raises=InputError, match=r"\['ghi'\]")
def _(tmp_path):
    return Call(cc.read_weather, (_frame()[["ghi"]], LAT, LON))


@case("read_weather", "not a DatetimeIndex", raises=InputError, match=r"DatetimeIndex")
def _(tmp_path):
    return Call(cc.read_weather, (_frame().reset_index(drop=True), LAT, LON))


@case("read_weather", "gappy index", raises=InputError, match=r"gap: no rows from 2024-06-21 10:00.*2024-06-21 19:00")
def _(tmp_path):
    # refused rather than filled with NaN: a gap is not zero irradiance, and
    # NaN totals over it would make every irradiation unknown anyway
    f = _frame(48)
    return Call(cc.read_weather, (f.drop(f.index[10:20]), LAT, LON))


@case("read_weather", "negative irradiance", raises=InputError, match=r"-300")
def _(tmp_path):
    return Call(cc.read_weather, (_frame(ghi=np.full(24, -300.0)), LAT, LON))


@case("read_weather", "NaN irradiance", raises=InputError, match=r"NaN|missing")
def _(tmp_path):
    g = np.full(24, 300.0)
    g[5] = np.nan
    return Call(cc.read_weather, (_frame(ghi=g), LAT, LON))


@case("read_weather", "latitude out of range", raises=InputError, match=r"148\.9")
def _(tmp_path):
    return Call(cc.read_weather, (None, 148.9, LON), {"when": "2024-06-21"})


@case("read_weather", "longitude out of range", raises=InputError, match=r"652")
def _(tmp_path):
    return Call(cc.read_weather, (None, LAT, 652.0), {"when": "2024-06-21"})


@case("read_weather", "reversed period", raises=InputError, match=r"2024-06-22")
def _(tmp_path):
    return Call(cc.read_weather, (None, LAT, LON), {"when": ("2024-06-22", "2024-06-21")})


@case("read_weather", "not a date", raises=InputError, match=r"2024-13-45")
def _(tmp_path):
    return Call(cc.read_weather, (None, LAT, LON), {"when": "2024-13-45"})


@case("read_weather", "period outside the data", raises=InputError, match=r"2030")
def _(tmp_path):
    return Call(cc.read_weather, (_frame(), LAT, LON), {"when": "2030-01-01"})


@case("read_weather", "weather of a wrong type", raises=InputError, match=r"ndarray")
def _(tmp_path):
    return Call(cc.read_weather, (np.zeros((24, 3)), LAT, LON))


def _check_clear_sky(r, w):
    # pvlib clear sky on 21 June in Paris: ~16 h of day, peak GHI 850–950 W/m²
    ghi = r.data["ghi"] if hasattr(r, "data") else r.ghi
    assert 800 < float(np.max(ghi)) < 1000


@case("read_weather", "clear sky one day", check=_check_clear_sky)
def _(tmp_path):
    return Call(cc.read_weather, (None, LAT, LON), {"when": "2024-06-21"})


@case("read_weather", "EPW with a short header", raises=FileFormatError, match=r"w\.epw has no EPW data rows")
def _(tmp_path):
    return Call(cc.read_weather, (text(tmp_path, "w.epw", "LOCATION,Paris,,FRA,,071560,48.7,2.4,1.0,89\n1,2,3\n"), LAT, LON))


@case("read_weather", "EPW empty", raises=FileFormatError, match=r"w\.epw")
def _(tmp_path):
    return Call(cc.read_weather, (empty(tmp_path, "w.epw"), LAT, LON))


@case("read_weather", "EPW binary", raises=FileFormatError, match=r"w\.epw")
def _(tmp_path):
    return Call(cc.read_weather, (junk(tmp_path, "w.epw"), LAT, LON))


# ======================================================================= describe
def _has_problem(pattern):
    def check(r, w):
        probs = list(r.get("problems", []))
        for layer in r.get("layers", []):
            probs += layer.get("problems", [])
        assert re.search(pattern, " ".join(map(str, probs))), probs

    return check


@case("describe", "lon/lat declared Lambert-93", check=_has_problem(r"degree|longitude|lon/lat|area of use"))
def _(tmp_path):
    f = [feature(shapely.box(2.31, 48.88, 2.3101, 48.8801), id="A1")]
    return Call(cc.io.describe, (geojson(tmp_path, "p.json", f, crs="EPSG:2154"),))


@case("describe", "duplicate ids", check=_has_problem(r"duplicate"))
def _(tmp_path):
    p = _bld(tmp_path, n=2, cleabs=["BATIMENT0000000000000001"] * 2, hauteur=[9.0, 9.0])
    return Call(cc.io.describe, (p,))


@case("describe", "all-nodata raster", check=_has_problem(r"nodata"))
def _(tmp_path):
    return Call(cc.io.describe, (_dem(tmp_path, np.full((5, 5), -9999.0), nodata=-9999.0),))


@case("describe", "rule pack with unknown rule", raises=RuleError, match=r"max_hieght")
def _(tmp_path):
    return Call(cc.io.describe, _rules(tmp_path, "[zones.UG.max_hieght]\nvalue = 37.0\nunit = 'm'\narticle = 'UG.10'\n"))


def _check_describe_sample(r, w):
    # the sample cadastre: 121 features (manifest counts), GeoJSON in WGS84
    assert r["kind"] == "vector"
    assert re.search(r"\b121\b", json.dumps(r, default=str)), r


@case("describe", "sample cadastre", check=_check_describe_sample)
def _(tmp_path):
    return Call(cc.io.describe, (copy_sample(tmp_path, CAD),))


def _is_cityjson(r, w):
    assert r["kind"] == "cityjson", r["kind"]


@case("describe", "CityJSON key after 4 kB", check=_is_cityjson)
def _(tmp_path):
    # "CityJSON" appears only after a long metadata block: still CityJSON
    doc = _cityjson_doc()
    body = json.dumps({"metadata": {"title": "x" * 6000}, **{k: v for k, v in doc.items() if k != "metadata"}})
    return Call(cc.io.describe, (text(tmp_path, "late.json", body),))
