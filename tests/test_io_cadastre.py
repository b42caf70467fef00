"""read_cadastre: Etalab parcels (Paris 18e), BD Parcellaire (Gennes), bad input."""

from __future__ import annotations

import gzip
import json
import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod, Proj, Transformer

import cimcity as cc
from cimcity.errors import (
    CRSError,
    DataQualityWarning,
    FileFormatError,
    GeometryError,
    InputError,
    ReprojectionWarning,
)
from cimcity.io.cadastre import parse_parcel_ids, read_cadastre

# Paris (administrative extent, lon/lat, IGN Admin Express rounded outwards)
PARIS_LONLAT = (2.224, 48.815, 2.470, 48.903)


@pytest.fixture(scope="module")
def paris18(shared_data):
    path = shared_data / "france" / "cadastre-75118-parcelles.json"
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        gdf = read_cadastre(path)
    return path, gdf, rec


@pytest.fixture(scope="module")
def paris18_raw(shared_data):
    path = shared_data / "france" / "cadastre-75118-parcelles.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_paris18_counts_crs_and_bounds(paris18, paris18_raw):
    path, gdf, rec = paris18
    assert len(gdf) == 6821 == len(paris18_raw["features"])
    assert gdf.crs.to_epsg() == 2154
    assert gdf.attrs["kind"] == "parcelles"
    assert any(issubclass(w.category, ReprojectionWarning) for w in rec)
    assert not any(issubclass(w.category, DataQualityWarning) for w in rec)
    # independent: every raw vertex (stdlib json) through pyproj
    lon, lat = [], []
    for f in paris18_raw["features"]:
        for ring in f["geometry"]["coordinates"]:
            xy = np.asarray(ring)
            lon.append(xy[:, 0])
            lat.append(xy[:, 1])
    lon, lat = np.concatenate(lon), np.concatenate(lat)
    w, s, e, n = PARIS_LONLAT
    assert lon.min() > w and lon.max() < e and lat.min() > s and lat.max() < n
    x, y = Transformer.from_crs(4326, 2154, always_xy=True).transform(lon, lat)
    # same vertices, same transformation: bounds agree to 1 mm
    np.testing.assert_allclose(
        gdf.total_bounds, [x.min(), y.min(), x.max(), y.max()], atol=1e-3
    )
    paris = Transformer.from_crs(4326, 2154, always_xy=True).transform_bounds(
        *PARIS_LONLAT
    )
    b = gdf.total_bounds
    assert paris[0] < b[0] < b[2] < paris[2] and paris[1] < b[1] < b[3] < paris[3]
    # 18e is the northern arrondissement: its northern edge is the Paris limit
    assert abs(b[3] - 6_867_055) < 50


def test_paris18_ids_parsed(paris18, paris18_raw):
    _, gdf, _ = paris18
    props = [f["properties"] for f in paris18_raw["features"]]
    assert list(gdf["id"]) == [p["id"] for p in props]
    assert (gdf["commune"] == "75118").all()
    assert (gdf["prefixe"] == "000").all()
    assert gdf["section"].str.len().eq(2).all()
    assert gdf["numero"].str.fullmatch(r"\d{4}").all()
    rebuilt = gdf["commune"] + gdf["prefixe"] + gdf["section"] + gdf["numero"]
    assert (rebuilt == gdf["id"]).all()
    # the file writes numero unpadded ("2"); parsed numero is the same number
    assert [int(v) for v in gdf["numero"]] == [int(p["numero"]) for p in props]
    assert gdf.loc[0, "id"] == "75118000AA0002" and gdf.loc[0, "numero"] == "0002"


def test_paris18_contenance_vs_area(paris18, paris18_raw):
    _, gdf, _ = paris18
    cont = np.array([f["properties"]["contenance"] for f in paris18_raw["features"]])
    np.testing.assert_array_equal(gdf["contenance"].to_numpy(), cont)
    ratio = gdf["area"] / gdf["contenance"]
    # legal vs graphical area: the median agrees to 0.1 %, 90 % of parcels to 5 %
    assert abs(ratio.median() - 1) < 1e-3
    assert ((ratio - 1).abs() < 0.05).mean() > 0.9
    # independent geodesic area (pyproj.Geod on the WGS84 rings) of 200 parcels;
    # Lambert-93 shrinks areas by its areal scale factor at Paris (0.99983)
    geod = Geod(ellps="GRS80")
    k2 = Proj("EPSG:2154").get_factors(2.35, 48.89).areal_scale
    for i in range(0, 6821, 34):
        ring = np.asarray(paris18_raw["features"][i]["geometry"]["coordinates"][0])
        a, _ = geod.polygon_area_perimeter(ring[:, 0], ring[:, 1])
        holes = paris18_raw["features"][i]["geometry"]["coordinates"][1:]
        for h in holes:
            hh = np.asarray(h)
            a -= abs(geod.polygon_area_perimeter(hh[:, 0], hh[:, 1])[0])
        assert gdf["area"].iloc[i] == pytest.approx(abs(a) * k2, rel=2e-5)


def test_bbox_and_gzip(shared_data, paris18, tmp_path):
    _, full, _ = paris18
    x0, y0 = full.total_bounds[:2]
    box = (x0 + 500, y0 + 500, x0 + 1000, y0 + 900)
    expected = full[shapely.intersects(full.geometry.values, shapely.box(*box))]
    gz = tmp_path / "cadastre-75118-parcelles.json.gz"
    raw = (shared_data / "france" / "cadastre-75118-parcelles.json").read_bytes()
    gz.write_bytes(gzip.compress(raw, compresslevel=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReprojectionWarning)
        sub = read_cadastre(gz, bbox=box)
    assert 0 < len(sub) < len(full)
    assert sorted(sub["id"]) == sorted(expected["id"])
    assert shapely.intersects(sub.geometry.values, shapely.box(*box)).all()
    # a truncated gzip is a file format error, not a GDAL crash
    bad = tmp_path / "cadastre-75118-parcelles-cut.json.gz"
    bad.write_bytes(gz.read_bytes()[: len(gz.read_bytes()) // 2])
    with pytest.raises(FileFormatError, match="cut.json.gz"):
        read_cadastre(bad)


def test_scene_add_parcels(paris18):
    _, gdf, _ = paris18
    part = gdf.iloc[:300]
    scene = cc.Scene().add_parcels(part)
    assert list(scene.parcels.index) == list(part["id"])
    np.testing.assert_allclose(scene.parcels["area"], part["area"])


def test_gennes_bd_parcellaire_ids(shared_data):
    path = shared_data / "france" / "gennes25267_parcel.gpkg"
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReprojectionWarning)  # already Lambert-93
        gdf = read_cadastre(path)
    assert len(gdf) == 851
    # SOURCES.md: 828 parcels in Gennes (25267), 23 in 25395
    assert gdf["commune"].value_counts().to_dict() == {"25267": 828, "25395": 23}
    # ids built from CODE_DEP + CODE_COM, COM_ABS, SECTION, NUMERO
    row = gdf.iloc[0]
    assert row["id"] == "25267000ZA0025"
    assert (gdf["id"].str.len() == 14).all() and gdf["id"].is_unique
    assert (gdf["id"].str[-4:] == gdf["NUMERO"]).all()
    assert gdf["contenance"].isna().all()  # BD Parcellaire has no legal area
    assert (gdf["area"] > 0).all()


def test_column_mapping_and_bad_ids(tmp_path):
    p = tmp_path / "parcels.gpkg"
    boxes = [
        shapely.box(650_000 + 20 * i, 6_860_000, 650_010 + 20 * i, 6_860_010)
        for i in range(3)
    ]
    gpd.GeoDataFrame(
        {"IDU": ["75101000AB0012", "75101000AB0013", "bogus"], "SURF": [100, 0, 98]},
        geometry=boxes,
        crs="EPSG:2154",
    ).to_file(p)
    with pytest.warns(DataQualityWarning) as rec:
        gdf = read_cadastre(p, columns={"idu": "id", "surf": "contenance"})
    msg = str(rec[0].message)
    assert "1 ids do not follow" in msg and "'bogus'" in msg
    assert "1 non-positive contenance" in msg
    assert list(gdf["section"][:2]) == ["AB", "AB"] and gdf["section"].isna()[2]
    assert gdf["contenance"].tolist()[0] == 100.0 and np.isnan(gdf["contenance"][1])
    np.testing.assert_allclose(gdf["area"], 100.0)  # 10 m x 10 m boxes
    assert "IDU" in gdf.columns  # originals kept
    with pytest.raises(InputError, match="'nope' not found"):
        read_cadastre(p, columns={"nope": "id"})


def test_parse_parcel_ids():
    parts = parse_parcel_ids(["2A004000AB0012", "75118000AA0002", "x"])
    assert parts.loc[0].tolist() == ["2A004", "000", "AB", "0012"]
    assert parts.loc[1, "numero"] == "0002"
    assert parts.loc[2].isna().all()


def test_etalab_batiments_layer(tmp_path):
    p = tmp_path / "cadastre-75101-batiments.json"
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "type": "01",
                    "nom": None,
                    "commune": "75101",
                    "created": "2010-01-01",
                    "updated": "2020-01-01",
                },
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [2.34, 48.86],
                            [2.3401, 48.86],
                            [2.3401, 48.8601],
                            [2.34, 48.8601],
                            [2.34, 48.86],
                        ]
                    ],
                },
            }
        ],
    }
    p.write_text(json.dumps(fc))
    with pytest.warns(ReprojectionWarning):
        b = read_cadastre(p)
    assert b.attrs["kind"] == "batiments"
    assert "id" not in b.columns and b["area"].iloc[0] == pytest.approx(81.5, rel=0.02)


def test_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_cadastre(tmp_path / "nothing.json")
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    with pytest.raises(FileFormatError, match="empty"):
        read_cadastre(empty)
    trunc = tmp_path / "trunc.json"
    trunc.write_text('{"type": "FeatureCollection", "features": [{"type": "Fea')
    with pytest.raises(FileFormatError, match="trunc.json"):
        read_cadastre(trunc)
    nofeat = tmp_path / "none.json"
    nofeat.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(FileFormatError, match="no features"):
        read_cadastre(nofeat)
    # lon/lat written into a file that declares Lambert-93
    lonlat = tmp_path / "lonlat.gpkg"
    gpd.GeoDataFrame(
        {"id": ["75118000AA0002"]},
        geometry=[shapely.box(2.33, 48.89, 2.331, 48.891)],
        crs="EPSG:2154",
    ).to_file(lonlat)
    with pytest.raises(CRSError, match="longitude/latitude"):
        read_cadastre(lonlat)
    # no CRS at all: a shapefile without .prj
    noprj = tmp_path / "noprj.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pyogrio: "crs was not provided"
        gpd.GeoDataFrame(
            {"id": ["75118000AA0002"]},
            geometry=[shapely.box(650_000, 6_860_000, 650_010, 6_860_010)],
        ).to_file(noprj)
    with pytest.raises(CRSError, match="noprj.shp.*no CRS.*src_crs"):
        read_cadastre(noprj)
    # lines are not parcels
    lines = tmp_path / "lines.gpkg"
    gpd.GeoDataFrame(
        {"id": ["a", "b"]},
        geometry=[shapely.LineString([(650_000, 6_860_000), (650_010, 6_860_000)])] * 2,
        crs="EPSG:2154",
    ).to_file(lines)
    with pytest.raises(GeometryError, match="2 of 2 .*LineString"):
        read_cadastre(lines)


def test_layer_names_in_a_geopackage(tmp_path):
    p = tmp_path / "cadastre.gpkg"
    box = shapely.box(650_000, 6_860_000, 650_020, 6_860_010)
    gpd.GeoDataFrame(
        {"id": ["75101000AB0012"], "contenance": [200]}, geometry=[box], crs="EPSG:2154"
    ).to_file(p, layer="parcelles")
    gpd.GeoDataFrame(
        {
            "type": ["01"],
            "nom": [None],
            "commune": ["75101"],
            "created": ["2020"],
            "updated": ["2021"],
        },
        geometry=[box],
        crs="EPSG:2154",
    ).to_file(p, layer="batiments")
    parcels = read_cadastre(p, layer="parcelles")
    assert parcels.attrs["kind"] == "parcelles" and parcels["section"][0] == "AB"
    assert parcels["area"][0] == pytest.approx(200.0)
    bats = read_cadastre(p, layer="batiments")
    assert bats.attrs["kind"] == "batiments" and "type" in bats.columns
    # no layer given: the parcels layer is the default
    assert read_cadastre(p).attrs["kind"] == "parcelles"
    with pytest.raises(InputError, match="'bâti' not found.*parcelles, batiments"):
        read_cadastre(p, layer="bâti")
