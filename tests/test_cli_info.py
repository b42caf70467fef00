"""``cimcity info``: vector, raster, rule pack, IFC and CityJSON descriptions."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from cimcity.cli import main
from cimcity.io import describe
from cimcity.io.description import detect_kind

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "samples" / "paris"


def _run(capsys, *argv):
    code = main(["info", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def _json(capsys, path, *extra):
    code, out, err = _run(capsys, path, "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def test_sample_buildings_text_and_json(capsys):
    path = SAMPLE / "batiment.gpkg"
    code, out, _ = _run(capsys, path)
    assert code == 0
    assert "IGN BD TOPO v3 BATIMENT" in out and "EPSG:2154" in out
    d = _json(capsys, path)
    (layer,) = d["layers"]
    raw = pyogrio.read_dataframe(path)
    assert layer["features"] == len(raw)
    assert layer["flavour"] == "bdtopo_v3_batiment"
    np.testing.assert_allclose(layer["extent"], raw.total_bounds, atol=1e-6)
    h = raw["hauteur"]
    assert layer["height_m"]["missing"] == int(h.isna().sum())
    assert layer["height_m"]["max"] == pytest.approx(h.max(), abs=1e-3)
    assert set(layer["columns"]) == set(raw.columns) - {"geometry"}
    # the sample sits in Paris 17e: lon 2.31, lat 48.89
    lon0, lat0, lon1, lat1 = layer["extent_lonlat"]
    assert 2.30 < lon0 < lon1 < 2.33 and 48.88 < lat0 < lat1 < 48.90


def test_sample_raster(capsys):
    d = _json(capsys, SAMPLE / "dem_1m.tif")
    assert d["kind"] == "raster"
    assert (d["width"], d["height"]) == (400, 400) and d["resolution"] == [1.0, 1.0]
    assert d["crs"]["id"] == "EPSG:2154" and d["vertical_datum"] == "NGF-IGN69"
    import rasterio

    with rasterio.open(SAMPLE / "dem_1m.tif") as ds:
        z = ds.read(1, masked=True)
    assert d["z_range"] == [
        pytest.approx(z.min(), abs=1e-3),
        pytest.approx(z.max(), abs=1e-3),
    ]
    code, out, _ = _run(capsys, SAMPLE / "dem_1m.tif")
    assert "400 × 400 cells" in out and "NGF-IGN69" in out


def test_rule_pack(capsys):
    code, out, _ = _run(capsys, SAMPLE / "plu_rules.toml")
    assert code == 0
    assert "zone UG" in out and "[UG.10.4]" in out and "c=10.0" in out
    d = _json(capsys, SAMPLE / "plu_rules.toml")
    assert list(d["zones"]) == ["UG", "UV", "N"]
    ug = {r["rule"]: r for r in d["zones"]["UG"]["rules"]}
    assert (
        ug["max_height"]["value"] == 37.0 and ug["max_height"]["article"] == "UG.10.1"
    )
    assert ug["side_setback"]["k"] == 0.5


def test_bad_rule_pack_exits_2(capsys, tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[zones.UA.max_height]\nvalue = -1\narticle = 'x'\n")
    code, _, err = _run(capsys, p)
    assert code == 2 and "UA" in err and "max_height" in err and "-1" in err


def test_zone_urba_problems(capsys, shared_data):
    d = _json(capsys, shared_data / "france" / "zone_urba_seine-et-marne_77_cnig.gpkg")
    (layer,) = d["layers"]
    assert layer["features"] == 652 and layer["flavour"] == "zone_urba"
    assert layer["typezone"]["Ux"] == 25 and layer["documents"] == 10
    probs = " ".join(layer["problems"])
    assert "'Ux' (25)" in probs and "U+FFFD" in probs and "2 invalid" in probs


def test_etalab_and_bdnb(capsys, shared_data):
    d = _json(capsys, shared_data / "france" / "cadastre-75118-parcelles.json")
    (layer,) = d["layers"]
    assert layer["flavour"] == "etalab_parcelles" and layer["features"] == 6821
    assert layer["crs"]["id"] == "EPSG:4326"
    assert layer["communes"] == {"75118": 6821}
    d = _json(capsys, shared_data / "france" / "bdnb_paris11_batiments.shp")
    (layer,) = d["layers"]
    assert layer["flavour"] == "bdnb"
    # the .prj is an authority-less WGS84 WKT: recognised as EPSG:4326
    assert layer["crs"]["id"] == "EPSG:4326"
    assert layer["height_m"]["min"] == 0.1 and layer["height_m"]["max"] == 52.9


def test_geographic_raster(capsys, shared_data):
    d = _json(capsys, shared_data / "dem" / "pysheds_dem.tif")
    assert d["crs"]["geographic"] and d["nodata"] == -32768
    assert (d["width"], d["height"]) == (367, 359)
    assert any("geographic" in p for p in d["problems"])


def test_lonlat_declared_lambert93_is_reported(capsys, tmp_path):
    p = tmp_path / "wrong.gpkg"
    gpd.GeoDataFrame(
        {"LIBELLE": ["UA"], "TYPEZONE": ["U"]},
        geometry=[shapely.box(2.3, 48.8, 2.31, 48.81)],
        crs="EPSG:2154",
    ).to_file(p)
    d = _json(capsys, p)
    assert any("longitude/latitude" in pr for pr in d["layers"][0]["problems"])


def test_ifc(capsys, shared_data):
    pytest.importorskip("ifcopenshell")
    d = _json(capsys, shared_data / "ifc" / "geographic-referencing_IFC4.ifc")
    assert d["kind"] == "ifc" and d["schema"] == "IFC4"
    assert d["georeferencing"]["crs"] == "EPSG:25832"
    code, out, _ = _run(capsys, shared_data / "ifc" / "geographic-referencing_IFC4.ifc")
    assert code == 0 and "EPSG:25832" in out


def test_cityjson_described_or_cleanly_refused(capsys, shared_data):
    path = shared_data / "cityjson" / "cjio_rotterdam_subset.json"
    assert detect_kind(path) == "cityjson"
    try:
        has = hasattr(importlib.import_module("cimcity.io.cityjson"), "describe")
    except ModuleNotFoundError:
        has = False
    code, out, err = _run(capsys, path, "--json")
    if has:
        assert code == 0 and json.loads(out)["kind"] == "cityjson"
    else:
        assert code == 2 and "cimcity.io.cityjson.describe" in err
        assert "Traceback" not in err


def test_errors(capsys, tmp_path):
    code, _, err = _run(capsys, tmp_path / "missing.gpkg")
    assert code == 2 and "missing.gpkg" in err
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    code, _, err = _run(capsys, empty)
    assert code == 2 and "empty" in err
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    code, _, err = _run(capsys, txt)
    assert code == 2 and "not a format cimcity reads" in err
    bad = tmp_path / "bad.tif"
    bad.write_text("not a tiff")
    code, _, err = _run(capsys, bad)
    assert code == 2 and "bad.tif" in err


def test_describe_layer_option(tmp_path):
    p = tmp_path / "two.gpkg"
    box = shapely.box(650_000, 6_860_000, 650_010, 6_860_010)
    gpd.GeoDataFrame({"a": [1]}, geometry=[box], crs="EPSG:2154").to_file(
        p, layer="one"
    )
    gpd.GeoDataFrame({"b": [1, 2]}, geometry=[box, box], crs="EPSG:2154").to_file(
        p, layer="two"
    )
    d = describe(p)
    assert [L["name"] for L in d["layers"]] == ["one", "two"]
    d = describe(p, layer="two")
    assert [L["features"] for L in d["layers"]] == [2]


# -- issue 17: CityJSON anywhere, CityGML, GeoParquet, never a .gfs ---------------


def test_cityjson_whose_type_comes_last(capsys, tmp_path):
    # a valid CityJSON 2.0 whose "type" member is the last one, after 8 KB
    doc = {
        "metadata": {"title": "x" * 8000},
        "version": "2.0",
        "transform": {"scale": [0.001, 0.001, 0.001], "translate": [0, 0, 0]},
        "CityObjects": {},
        "vertices": [],
        "type": "CityJSON",
    }
    p = tmp_path / "late.json"
    p.write_text(json.dumps(doc))
    assert detect_kind(p) == "cityjson"
    geojson = tmp_path / "g.json"  # the word alone is not enough
    geojson.write_text(
        '{"type": "FeatureCollection", "features": [], "name": "CityJSON"}'
    )
    assert detect_kind(geojson) == "vector"


def test_geoparquet_is_described(capsys, tmp_path):
    g = gpd.GeoDataFrame(
        {"hauteur": [3.0, 6.0], "altitude_s": [40.0, 41.0]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)],
        crs="EPSG:4326",
    ).to_crs(2154)
    p = tmp_path / "b.parquet"
    g.to_parquet(p)
    code, out, err = _run(capsys, p)
    assert code == 0, err
    assert "GeoParquet" in out and "[CSTB BDNB buildings]" in out
    assert "hauteur: 3 – 6 (mean 4.5), 2 values" in out


def test_truncated_vector_is_called_truncated(capsys, tmp_path):
    p = tmp_path / "cut.geojson"
    p.write_text('{"type": "FeatureCollection", "features": [{"type": "Fea')
    code, _, err = _run(capsys, p)
    assert code == 2 and "cut.geojson" in err and "truncated" in err
    assert "not a format cimcity reads" not in err


def test_gml_info_writes_no_gfs(capsys, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    gpd.GeoDataFrame(
        {"a": [1]}, geometry=[shapely.box(650000, 6860000, 650010, 6860010)], crs=2154
    ).to_file(src / "x.gml", driver="GML")
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.gml").write_bytes((src / "x.gml").read_bytes())
    code, out, err = _run(capsys, data / "x.gml")
    assert code == 0, err
    assert "1 features" in out
    assert sorted(p.name for p in data.iterdir()) == ["x.gml"]


def test_citygml_3_is_refused_in_one_line(capsys, tmp_path):
    p = tmp_path / "v3.gml"
    p.write_text(
        '<?xml version="1.0"?><CityModel xmlns="http://www.opengis.net/citygml/3.0"/>'
    )
    code, out, err = _run(capsys, p)
    assert code == 2 and "CityGML 3.0" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
