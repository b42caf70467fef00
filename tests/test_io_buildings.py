"""read_buildings: BDNB Paris 11e, BD TOPO v2 Gennes (no heights), BD TOPO v3
sample, OSM-style text heights, mappings, DSM heights on Gothenburg."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from rasterio.mask import mask as rio_mask

import cimcity as cc
from cimcity.errors import (
    DataQualityWarning,
    EstimateWarning,
    GeometryError,
    InputError,
    ReprojectionWarning,
)
from cimcity.io.buildings import BUILDING_COLUMNS, parse_length, read_buildings

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "samples" / "paris"
X0, Y0 = 650_000.0, 6_860_000.0


def _record(fn, *a, **kw):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = fn(*a, **kw)
    return out, rec


def _messages(rec, category):
    return " ".join(str(w.message) for w in rec if issubclass(w.category, category))


def test_bdnb_paris11(shared_data):
    path = shared_data / "france" / "bdnb_paris11_batiments.shp"
    b, rec = _record(read_buildings, path)
    raw = pyogrio.read_dataframe(path, read_geometry=False)
    assert len(b) == 5227 == len(raw)
    assert b.attrs["flavour"] == "bdnb"
    assert b.crs.to_epsg() == 2154
    # heights straight from the file (SOURCES.md: 0.1-52.9 m, mean 16.3)
    np.testing.assert_array_equal(b["height"], raw["hauteur"])
    assert b["height"].min() == pytest.approx(0.1)
    assert b["height"].max() == pytest.approx(52.9)
    assert b["height"].mean() == pytest.approx(16.3, abs=0.05)
    assert (b["height_source"] == "data").all() and (b["source"] == "bdnb").all()
    np.testing.assert_array_equal(b["ground_z"], raw["altitude_s"])
    n_no_ground = int(raw["altitude_s"].isna().sum())
    assert n_no_ground == 34
    assert f"{n_no_ground} of 5227 buildings have no ground altitude" in _messages(
        rec, DataQualityWarning
    )
    assert "EPSG:4326" in _messages(rec, ReprojectionWarning)
    # originals kept
    for c in raw.columns:
        assert c in b.columns
    for c in BUILDING_COLUMNS:
        assert c in b.columns
    # Paris 11e lies between Lambert-93 x 652-655 km, y 6861-6864 km
    # (its lon/lat box 2.363-2.403 E, 48.849-48.871 N through pyproj)
    box = Transformer.from_crs(4326, 2154, always_xy=True).transform_bounds(
        2.355, 48.845, 2.41, 48.875
    )
    tb = b.total_bounds
    assert box[0] < tb[0] < tb[2] < box[2] and box[1] < tb[1] < tb[3] < box[3]


def test_bdnb_into_scene(shared_data):
    path = shared_data / "france" / "bdnb_paris11_batiments.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReprojectionWarning)
        warnings.simplefilter("ignore", DataQualityWarning)
        b = read_buildings(path, bbox=(654_000, 6_862_000, 654_300, 6_862_300))
    assert 0 < len(b) < 5227
    scene = cc.Scene().add_buildings(b)
    np.testing.assert_allclose(scene.buildings["height"], b["height"])


def test_gennes_no_heights_reported_not_invented(shared_data):
    path = shared_data / "france" / "gennes25267_building.gpkg"
    b, rec = _record(read_buildings, path)
    assert len(b) == 325
    assert b.attrs["flavour"] == "bdtopo_v2_bati"
    # HAUTEUR, Z_MIN, Z_MAX are all NULL in this file (SOURCES.md)
    raw = pyogrio.read_dataframe(path, read_geometry=False)
    assert raw["HAUTEUR"].isna().all()
    assert b["height"].isna().all() and b["height_source"].isna().all()
    msg = _messages(rec, DataQualityWarning)
    assert "325 of 325 buildings have no height" in msg
    assert not any(issubclass(w.category, ReprojectionWarning) for w in rec)
    # 3D outlines become 2D footprints
    assert not shapely.has_z(b.geometry.values).any()
    # the Scene then estimates them, flagged, with its own warning
    with pytest.warns(EstimateWarning, match="325 of 325"):
        scene = cc.Scene().add_buildings(b)
    assert (scene.buildings["height_source"] == "default").all()


def test_bdtopo_v3_sample_heights():
    path = SAMPLE / "batiment.gpkg"
    b, rec = _record(read_buildings, path)
    raw = pyogrio.read_dataframe(path, read_geometry=False)
    assert b.attrs["flavour"] == "bdtopo_v3_batiment"
    alt = raw["altitude_maximale_toit"] - raw["altitude_minimale_sol"]
    known = alt.notna().to_numpy()
    # height to the ridge from the roof and ground altitudes
    np.testing.assert_allclose(b["height"][known], alt[known], atol=1e-9)
    assert (b["height_source"][known] == "altitudes").all()
    np.testing.assert_array_equal(b["eave_z"], raw["altitude_minimale_toit"])
    np.testing.assert_array_equal(b["storeys"], raw["nombre_d_etages"])
    assert list(b["usage"]) == list(raw["usage_1"])
    n_missing = int((~known).sum())
    assert n_missing > 0 and b["height"].isna().sum() == n_missing
    msg = _messages(rec, DataQualityWarning)
    assert f"{n_missing} of {len(b)} buildings have no height" in msg
    assert f"({n_missing} from storeys" in msg
    scene = cc.Scene().add_buildings(b, id_column="cleabs")
    src = scene.buildings["height_source"]
    assert int((src == "storeys").sum()) == n_missing
    # the Scene keeps the reader's record of how given heights were obtained
    assert int((src == "altitudes").sum()) == int(known.sum())


def _write(tmp_path, data, geoms=None, name="b.gpkg", crs="EPSG:2154"):
    n = len(next(iter(data.values())))
    geoms = geoms or [
        shapely.box(X0 + 20 * i, Y0, X0 + 20 * i + 10, Y0 + 10) for i in range(n)
    ]
    p = tmp_path / name
    gpd.GeoDataFrame(data, geometry=geoms, crs=crs).to_file(p)
    return p


def test_osm_style_text_heights(tmp_path):
    p = _write(
        tmp_path,
        {
            "building": ["yes", "house", "apartments", "yes", "yes", "yes"],
            "height": ["12", "12 m", "40'", "10,5", "abc", "-3"],
            "building:levels": ["4", None, "13", "3", "2", "1"],
        },
        name="osm.geojson",
        crs="EPSG:4326",
        geoms=[
            shapely.box(2.3 + 0.001 * i, 48.85, 2.3005 + 0.001 * i, 48.8505)
            for i in range(6)
        ],
    )
    b, rec = _record(read_buildings, p)
    assert b.attrs["flavour"] == "osm_buildings"
    np.testing.assert_allclose(
        b["height"], [12.0, 12.0, 40 * 0.3048, 10.5, np.nan, np.nan]
    )
    np.testing.assert_allclose(b["storeys"], [4, np.nan, 13, 3, 2, 1])
    assert b["usage"].isna()[0] and list(b["usage"][1:3]) == ["house", "apartments"]
    assert list(b["height_file"]) == ["12", "12 m", "40'", "10,5", "abc", "-3"]
    msg = _messages(rec, DataQualityWarning)
    assert "1 unreadable height values set to missing (first: 'abc')" in msg
    assert "1 non-positive height values set to missing" in msg
    assert "2 of 6 buildings have no height" in msg and "(2 from storeys" in msg
    assert (b["source"] == "osm").all()


def test_parse_length():
    v = parse_length([3, 4.5, "7'4\"", "12;15", " 8 metres", "12 ft", None, "n/a"])
    np.testing.assert_allclose(
        v, [3, 4.5, 7 * 0.3048 + 4 * 0.0254, 15, 8, 12 * 0.3048, np.nan, np.nan]
    )


def test_mapping_height_column_and_constant(tmp_path):
    p = _write(
        tmp_path,
        {
            "H_MOY": [10.0, np.nan],
            "NB_NIV": [3, 5],
            "ALT_SOL": [35.0, 36.0],
            "x": [1, 2],
        },
    )
    b, rec = _record(
        read_buildings,
        p,
        mapping={"h_moy": "height", "NB_NIV": "storeys", "ALT_SOL": "ground_z"},
    )
    np.testing.assert_allclose(b["height"], [10.0, np.nan])
    np.testing.assert_allclose(b["storeys"], [3, 5])
    np.testing.assert_allclose(b["ground_z"], [35.0, 36.0])
    assert b["height_source"][0] == "data" and b["height_source"].isna()[1]
    b2, _ = _record(read_buildings, p, height="H_MOY")
    np.testing.assert_allclose(b2["height"], [10.0, np.nan])
    b3, _ = _record(read_buildings, p, height=7.5)  # no height column detected
    np.testing.assert_allclose(b3["height"], [7.5, 7.5])
    assert list(b3["height_source"]) == ["user", "user"]
    with pytest.raises(InputError, match="'nope' not found"):
        read_buildings(p, height="nope")
    with pytest.raises(InputError, match="'zz'"):
        read_buildings(p, mapping={"zz": "height"})
    with pytest.raises(InputError, match="positive"):
        read_buildings(p, height=-2)


def test_constant_height_only_fills_missing(tmp_path):
    p = _write(tmp_path, {"hauteur": [10.0, np.nan]})
    b, _ = _record(read_buildings, p, height=7.5)
    np.testing.assert_allclose(b["height"], [10.0, 7.5])
    assert list(b["height_source"]) == ["data", "user"]


def test_points_are_not_buildings(tmp_path):
    p = _write(tmp_path, {"hauteur": [1.0]}, geoms=[shapely.Point(X0, Y0)])
    with pytest.raises(GeometryError, match="Point"):
        read_buildings(p)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # rasterio.mask
def test_gothenburg_heights_from_dsm(shared_data):
    d = shared_data / "dem" / "goteborg_kronenhuset"
    b, rec = _record(
        read_buildings,
        d / "buildings.shp",
        crs="EPSG:3007",
        dsm=d / "DSM_KRbig.tif",
        dem=d / "DEM_KRbig.tif",
    )
    assert len(b) == 137
    with rasterio.open(d / "DSM_KRbig.tif") as dsm:
        box = shapely.box(*dsm.bounds)
        inside = shapely.intersects(b.geometry.values, box)
        # 41 footprints overlap the 234 m x 223 m DSM; only those get a height
        assert int(inside.sum()) == 41
        assert (b["height_source"][inside] == "dsm").all()
        assert b["height"][~inside].isna().all()
        assert "96 buildings without a height lie outside the DSM" in _messages(
            rec, DataQualityWarning
        )
        # independent: rasterio.mask per footprint, 90th percentile ('lower')
        with rasterio.open(d / "DEM_KRbig.tif") as dem:
            agree = 0
            ids = np.flatnonzero(inside)
            for i in ids:
                g = b.geometry.values[i]
                top, _ = rio_mask(dsm, [g], crop=False, filled=False)
                ground, _ = rio_mask(dem, [g], crop=False, filled=False)
                vals = top.compressed()
                if not vals.size:
                    continue
                expect = np.percentile(vals, 90, method="lower") - np.median(
                    ground.compressed()
                )
                agree += abs(b["height"].iloc[i] - expect) < 0.01
    # footprints overlapping each other share cells: allow a few to differ
    assert agree >= 0.9 * len(ids)
    # urban Gothenburg: between 1 and 40 m
    h = b["height"][inside]
    assert h.median() == pytest.approx(15.75, abs=2.0)
    assert h.max() < 40


@settings(max_examples=50, deadline=None)
@given(v=st.floats(min_value=0.01, max_value=999, allow_nan=False))
def test_parse_length_round_trips_written_metres(v):
    s = f"{v:.2f}"
    expect = float(s)
    got = parse_length([s, s + " m", s.replace(".", ","), f"{s};1"])
    np.testing.assert_allclose(got, [expect, expect, expect, max(expect, 1.0)])


# -- identifiers (issue 17) -------------------------------------------------------


def test_sample_bdtopo_ids_are_cleabs():
    path = SAMPLE / "batiment.gpkg"
    raw = pyogrio.read_dataframe(path, read_geometry=False)
    b, _ = _record(read_buildings, path)
    assert b.attrs["id_column"] == "cleabs" and b.index.name == "building_id"
    assert list(b.index) == list(raw["cleabs"])
    scene = cc.Scene().add_buildings(b)  # no id_column needed any more
    assert list(scene.buildings.index) == list(raw["cleabs"])


def test_osm_and_generic_ids(tmp_path):
    osm = _write(
        tmp_path,
        {"building": ["yes", "house"], "@id": ["way/11", "way/12"], "id": [1, 2]},
        name="osm.gpkg",
    )
    b, _ = _record(read_buildings, osm)
    assert list(b.index) == ["way/11", "way/12"]  # @id preferred to id
    generic = _write(tmp_path, {"id": [7.0, 8.0], "h": [3.0, 4.0]}, name="g.gpkg")
    b, _ = _record(read_buildings, generic)
    assert list(b.index) == ["7", "8"]  # integral floats written as integers
    none = _write(tmp_path, {"h": [3.0, 4.0]}, name="n.gpkg")
    b, _ = _record(read_buildings, none)
    assert isinstance(b.index, type(gpd.GeoDataFrame().index)) and b.index[0] == 0


def _bdnb_like(tmp_path):
    return _write(
        tmp_path,
        {
            "batiment_c": ["a", "a", "b", None, "a"],
            "batiment_g": ["g1", "g1", "g2", "g3", "g4"],
            "hauteur": [10.0, np.nan, -3.0, 5000.0, 12.0],
            "altitude_s": [40.0, 41.0, -9999.0, 42.0, 43.0],
        },
        name="bdnb.gpkg",
    )


def test_detected_duplicate_and_missing_ids_are_made_unique_and_reported(tmp_path):
    b, rec = _record(read_buildings, _bdnb_like(tmp_path))
    assert list(b.index) == ["a", "a#2", "b", "B000003", "a#3"]
    assert list(b["batiment_c"].fillna("-")) == ["a", "a", "b", "-", "a"]
    msg = _messages(rec, DataQualityWarning)
    assert "2 duplicate batiment_c ids (1 values, first 'a')" in msg
    assert "1 rows have no batiment_c (first at row 3)" in msg


def test_explicit_id_column_must_be_a_key(tmp_path):
    p = _bdnb_like(tmp_path)
    with pytest.raises(InputError, match=r"1 duplicate ids \(1 values, first 'g1'\)"):
        read_buildings(p, id_column="batiment_g")
    with pytest.raises(InputError, match="missing ids"):
        read_buildings(p, id_column="batiment_c")
    with pytest.raises(InputError, match="id column 'nope' not found"):
        read_buildings(p, id_column="nope")
    b, _ = _record(read_buildings, p, id_column="altitude_s")
    assert list(b.index) == ["40", "41", "-9999", "42", "43"]
    b, _ = _record(read_buildings, p, id_column=False)
    assert list(b.index) == [0, 1, 2, 3, 4]


def test_absurd_heights_and_altitude_sentinels_become_unknown(tmp_path):
    b, rec = _record(read_buildings, _bdnb_like(tmp_path))
    np.testing.assert_array_equal(b["height"], [10.0, np.nan, np.nan, np.nan, 12.0])
    np.testing.assert_array_equal(b["ground_z"], [40.0, 41.0, np.nan, 42.0, 43.0])
    msg = _messages(rec, DataQualityWarning)
    assert "1 non-positive hauteur values set to missing (first: -3)" in msg
    assert "1 hauteur values above 1000 set to missing" in msg and "5000" in msg
    assert "1 altitude_s values below -500 m set to missing (first: -9999)" in msg


# -- formats (issue 17) ------------------------------------------------------------


def test_geoparquet_and_feather_read_like_the_geopackage(tmp_path):
    data = {"hauteur": [10.0, 20.0], "altitude_s": [40.0, 41.0], "batiment_c": ["x", "y"]}
    p = _write(tmp_path, data, name="b.gpkg")
    src = gpd.read_file(p)
    src.to_parquet(tmp_path / "b.parquet")
    src.to_feather(tmp_path / "b.feather")
    ref, _ = _record(read_buildings, p)
    for name in ("b.parquet", "b.feather"):
        b, _ = _record(read_buildings, tmp_path / name)
        assert list(b.index) == ["x", "y"]
        np.testing.assert_array_equal(b["height"], ref["height"])
        assert shapely.equals(b.geometry.values, ref.geometry.values).all()
    # bbox filters GeoParquet too: only the first 10 m box
    b, _ = _record(read_buildings, tmp_path / "b.parquet", bbox=(X0, Y0, X0 + 5, Y0 + 5))
    assert list(b.index) == ["x"]
    # a GeoParquet named .geojson is recognised by its bytes
    (tmp_path / "pq.geojson").write_bytes((tmp_path / "b.parquet").read_bytes())
    b, _ = _record(read_buildings, tmp_path / "pq.geojson")
    assert list(b.index) == ["x", "y"]


def test_broken_geoparquet_names_the_file_not_gdal(tmp_path):
    from cimcity.errors import FileFormatError

    p = _write(tmp_path, {"h": [3.0]}, name="b.gpkg")
    whole = tmp_path / "w.parquet"
    gpd.read_file(p).to_parquet(whole)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(FileFormatError, match="cut.parquet as GeoParquet") as e:
        read_buildings(cut)
    assert "duckdb" not in str(e.value)
    plain = tmp_path / "plain.parquet"
    gpd.read_file(p).drop(columns="geometry").to_parquet(plain)
    with pytest.raises(FileFormatError, match="without geometry"):
        read_buildings(plain)
    with pytest.raises(InputError, match="layer='x' does not apply"):
        read_buildings(whole, layer="x")


def test_metres_declared_as_degrees_and_the_reverse_are_refused(tmp_path):
    from cimcity.errors import CRSError

    m = _write(tmp_path, {"h": [3.0]}, name="m.gpkg", crs="EPSG:4326")
    with pytest.raises(CRSError, match="not longitude/latitude.*EPSG:2154"):
        read_buildings(m)
    d = _write(
        tmp_path,
        {"h": [3.0]},
        name="d.gpkg",
        geoms=[shapely.box(2.35, 48.85, 2.3501, 48.8501)],
    )
    with pytest.raises(CRSError, match="look like longitude/latitude"):
        read_buildings(d)
    # the right declaration reads
    b, _ = _record(read_buildings, m, src_crs="EPSG:2154")
    assert b.geometry.iloc[0].area == pytest.approx(100.0)


def test_gml_is_read_without_writing_beside_it(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    gpd.GeoDataFrame(
        {"hauteur": [6.0]}, geometry=[shapely.box(X0, Y0, X0 + 8, Y0 + 5)], crs=2154
    ).to_file(src / "b.gml", driver="GML")
    data = tmp_path / "data"
    data.mkdir()
    (data / "b.gml").write_bytes((src / "b.gml").read_bytes())  # no .xsd, no .gfs
    b, _ = _record(read_buildings, data / "b.gml")
    assert b["height"].tolist() == [6.0]
    assert b.geometry.iloc[0].area == pytest.approx(40.0)
    assert sorted(p.name for p in data.iterdir()) == ["b.gml"]
