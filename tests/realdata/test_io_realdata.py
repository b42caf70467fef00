"""Issue 17 reproductions on real files: source ids kept, raw product tables in
the Scene, GeoParquet, ``cimcity info`` on CityJSON and CityGML.

Every expected value comes from the files themselves (read with pyogrio /
geopandas / the XML text, independently of cimcity) or from SOURCES.md.
"""

from __future__ import annotations

import re
import shutil
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

import cimcity as cc
from cimcity.cli import main
from cimcity.errors import DataQualityWarning, EstimateWarning, ReprojectionWarning
from cimcity.io.citygml import read_citygml

pytestmark = pytest.mark.realdata

BERLIN = "Berlin_Moabit_1Bldg_citygml2.gml"


def _quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        for w in (ReprojectionWarning, DataQualityWarning, EstimateWarning):
            warnings.simplefilter("ignore", w)
        return fn(*a, **kw)


@pytest.fixture(scope="module")
def bdnb_path(shared_data):
    return shared_data / "france" / "bdnb_paris11_batiments.shp"


@pytest.fixture(scope="module")
def bdnb_raw(bdnb_path):
    return pyogrio.read_dataframe(bdnb_path, read_geometry=False)


def test_bdnb_ids_are_the_batiment_c_values(bdnb_path, bdnb_raw):
    # issue 17: read_buildings recognised BDNB but numbered the buildings
    # 0..n-1 (the CLI printed "best roof: B000708")
    b = _quiet(cc.read_buildings, bdnb_path)
    assert len(b) == 5227  # SOURCES.md
    assert b.index.name == "building_id"
    assert b.attrs["id_column"] == "batiment_c"
    assert list(b.index) == list(bdnb_raw["batiment_c"])
    assert b.index.is_unique
    np.testing.assert_array_equal(b["height"], bdnb_raw["hauteur"])
    scene = _quiet(cc.Scene().add_buildings, b)
    assert list(scene.buildings.index) == list(bdnb_raw["batiment_c"])
    assert "BATIMENT0000000240756489-2" in scene.buildings.index
    np.testing.assert_array_equal(scene.buildings["height"], bdnb_raw["hauteur"])


def test_raw_bdnb_table_in_the_scene_keeps_hauteur_and_altitude(bdnb_path, bdnb_raw):
    # issue 17: a geopandas.read_file BDNB table given to Scene.add_buildings
    # made every building 9 m high on ground 0
    raw = gpd.read_file(bdnb_path)
    before = raw.copy()
    scene = _quiet(cc.Scene().add_buildings, raw)
    b = scene.buildings
    assert len(b) == 5227
    np.testing.assert_array_equal(b["height"], bdnb_raw["hauteur"])
    assert (b["height_source"] == "data").all() and (b["source"] == "bdnb").all()
    known = bdnb_raw["altitude_s"].notna().to_numpy()
    assert int(known.sum()) == 5193  # 34 buildings of the file have none
    np.testing.assert_array_equal(
        b["ground_z"].to_numpy()[known], bdnb_raw["altitude_s"].to_numpy()[known]
    )
    assert (b["ground_source"].to_numpy()[known] == "data").all()
    assert list(b.index) == list(bdnb_raw["batiment_c"])
    # the same table as read_buildings gives
    rb = _quiet(cc.read_buildings, bdnb_path)
    np.testing.assert_array_equal(b["height"], rb["height"])
    # and the input table is not modified
    pd.testing.assert_frame_equal(raw, before)


def test_geoparquet_reads_back_identical(bdnb_path, tmp_path):
    # issue 17: read_buildings("x.parquet") took GDAL's Parquet driver
    # (libduckdb missing) and blamed the file
    pq = tmp_path / "bdnb.parquet"
    gpd.read_file(bdnb_path).to_parquet(pq)
    a = _quiet(cc.read_buildings, bdnb_path)
    b = _quiet(cc.read_buildings, pq)
    assert len(b) == 5227
    pd.testing.assert_frame_equal(
        a.drop(columns="geometry"), b.drop(columns="geometry"), check_dtype=False
    )
    assert shapely.equals_exact(a.geometry.values, b.geometry.values, 1e-6).all()
    assert b.crs.to_epsg() == 2154


def test_info_recognises_cityjson_anywhere_in_the_file(shared_data, capsys):
    # issue 17: "cimcity info cjio_delft.json" said it could not read the file:
    # its "type": "CityJSON" member comes after the 4 KB that were sniffed
    path = shared_data / "cityjson" / "cjio_delft.json"
    head = path.read_bytes()[:4096]
    assert b'"CityJSON"' not in head.replace(b" ", b"")  # the reason it failed
    code = main(["info", str(path)])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "kind      cityjson" in out.out
    assert "Building: 160" in out.out  # SOURCES.md: 160 Building
    assert "Road: 143" in out.out


def _ground_ring(text):
    """The GroundSurface posList of the file, read with a regex."""
    g = text[text.index("<bldg:GroundSurface") : text.index("</bldg:GroundSurface>")]
    nums = np.array(re.search(r"<gml:posList[^>]*>([^<]+)<", g).group(1).split(), float)
    return nums.reshape(-1, 3)


def test_info_reads_the_berlin_citygml_without_writing_beside_it(
    shared_data, tmp_path, capsys
):
    # issue 17: "cimcity info Berlin_Moabit_1Bldg_citygml2.gml" ended in an
    # AttributeError traceback and left a GDAL .gfs file beside the data
    path = tmp_path / BERLIN
    shutil.copy(shared_data / "cityjson" / BERLIN, path)
    code = main(["info", str(path)])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "Traceback" not in out.err
    assert "CityGML 2.0, 1 building(s)" in out.out
    assert "BLDG_0003000b001e15b2" in out.out
    assert "height 4.09 m (measuredHeight)" in out.out  # SOURCES.md: 4.09 m
    assert "EPSG:25833" in out.out and "EPSG:5783" in out.out
    assert sorted(p.name for p in tmp_path.iterdir()) == [BERLIN]
    # the JSON form, and read_buildings on the same file, write nothing either
    assert main(["info", str(path), "--json"]) == 0
    capsys.readouterr()
    _quiet(cc.read_buildings, path, crs=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == [BERLIN]


def test_read_citygml_berlin_facts_from_the_file(shared_data):
    path = shared_data / "cityjson" / BERLIN
    text = path.read_text(encoding="utf-8")
    b = read_citygml(path)
    assert list(b.index) == ["BLDG_0003000b001e15b2"]  # the gml:id
    assert b.crs.to_epsg() == 25833
    assert b.attrs["vertical_crs"] == "EPSG:5783"
    row = b.iloc[0]
    measured = float(re.search(r"measuredHeight[^>]*>([^<]+)<", text).group(1))
    assert measured == pytest.approx(4.08551)
    assert row["height"] == measured and row["height_source"] == "data"
    ring = _ground_ring(text)
    assert row["ground_z"] == pytest.approx(ring[:, 2].min(), abs=1e-9)
    # footprint = the GroundSurface polygon: shoelace area of its ring
    x, y = ring[:, 0] - ring[0, 0], ring[:, 1] - ring[0, 1]  # local frame
    shoelace = 0.5 * abs(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))
    assert row.geometry.area == pytest.approx(shoelace, rel=1e-9)
    assert row["usage"] == "1179" and row["lod"] == 2
    # roof altitude: the envelope's upper corner (37.1355 m DHHN92)
    assert row["roof_z"] == pytest.approx(37.1355108, abs=1e-6)
    assert row["roof_z"] - row["ground_z"] == pytest.approx(measured, abs=1e-3)
    # into a Scene in its own CRS: the gml:id is the building id
    scene = cc.Scene(crs="EPSG:25833").add_buildings(b)
    assert list(scene.buildings.index) == ["BLDG_0003000b001e15b2"]
    assert scene.buildings["height"].iloc[0] == pytest.approx(measured)


def test_cadastre_ids_are_the_parcel_ids_also_from_geoparquet(shared_data, tmp_path):
    path = shared_data / "france" / "cadastre-75118-parcelles.json"
    raw = pyogrio.read_dataframe(path, read_geometry=False)
    parcels = _quiet(cc.read_cadastre, path)
    scene = _quiet(cc.Scene().add_parcels, parcels)
    assert len(scene.parcels) == 6821  # SOURCES.md
    assert list(scene.parcels.index) == list(raw["id"])
    assert "75118000AJ0020" in scene.parcels.index
    # the same parcels through GeoParquet (every reader shares read_vector)
    pq = tmp_path / "parcelles.parquet"
    gpd.read_file(path).to_parquet(pq)
    again = _quiet(cc.read_cadastre, pq, layer="parcelles")
    assert list(again["id"]) == list(raw["id"])
    np.testing.assert_allclose(again["area"], parcels["area"], rtol=1e-9)
