"""PLU readers: the TOML rule pack (read_rules) and CNIG zone_urba (read_plu)."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

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
from cimcity.io.plu import KNOWN_RULES, RulePack, read_plu, read_rules

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RULES = ROOT / "data" / "samples" / "paris" / "plu_rules.toml"

MINIMAL = """
[pack]
name = "test"

[zones.UA.max_height]
value = 12.0
unit = "m"
article = "UA.10"
"""


def _write(tmp_path, text, name="rules.toml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# -- rule pack: the sample ---------------------------------------------------------


def test_sample_pack_zones_and_values():
    pack = read_rules(SAMPLE_RULES)
    assert isinstance(pack, RulePack)
    assert set(pack.zones) == {"UG", "UV", "N"}
    assert pack.meta["vertical_datum"] == "NGF-IGN69"
    ug = pack.for_zone("UG")
    # every rule name of the schema is used in UG, each with an article
    assert set(ug.rules) == set(KNOWN_RULES)
    assert all(r.article.startswith("UG.") for r in ug)
    assert ug.get("max_height").value == 37.0
    assert ug.get("max_height").unit == "m"
    assert ug.get("max_height").params["reference"] == "natural_ground"
    assert ug.get("max_altitude").unit == "m NGF"
    env = ug.get("envelope")
    assert env.value is None
    assert env.params == {"c": 10.0, "slope": 1.0, "ceiling": 37.0}
    assert ug.get("side_setback")["allow_on_limit"] is True
    assert ug.get("rear_setback")["allow_on_limit"] is False
    assert ug.get("max_storeys").value == 12
    assert isinstance(ug.get("max_storeys").value, int)
    assert pack.for_zone("UV").get("max_footprint_ratio").value == 0.1
    assert pack.for_zone("UV").get("min_pleine_terre_share").value == 0.7
    assert pack.for_zone("N").get("max_footprint_ratio").value == 0.0
    assert "UG" in pack and "UX" not in pack and pack.for_zone("UX") is None
    assert pack.for_zone(" UG ") is ug
    assert "envelope" in ug and ug.get("nonexistent") is None


def test_sample_project_passes_ug_rules():
    """The sample project (R+7, 24.5 m, 24 x 15 m footprint on a 24 x 28 m
    parcel, 16 m street, built on both side limits, 13 m rear garden) is within
    every UG limit; exact arithmetic on the figures of the brief."""
    ug = read_rules(SAMPLE_RULES).for_zone("UG")
    h, storeys, street = 24.5, 8, 16.0
    footprint, parcel = 24.0 * 15.0, 24.0 * 28.0
    assert h <= ug.get("max_height").value
    assert h <= ug.get("max_eave_height").value
    env = ug.get("envelope")
    assert h <= min(street + env["c"], env["ceiling"])  # vertical at the alignment
    assert footprint / parcel <= ug.get("max_footprint_ratio").value
    rear = ug.get("rear_setback")
    assert 13.0 >= max(rear["k"] * h, rear["d_min"])
    assert ug.get("side_setback")["allow_on_limit"]
    assert ug.get("street_setback")["alignment"]
    assert 1 - footprint / parcel >= ug.get("min_open_space_share").value
    assert storeys <= ug.get("max_storeys").value
    assert storeys * footprint / parcel <= ug.get("max_floor_area_ratio").value


def test_biotope_weights_merge_zone_overrides():
    pack = read_rules(SAMPLE_RULES)
    assert pack.weights("UV") == pack.biotope_weights
    w = pack.weights("UG")
    assert w["green_wall"] == 0.3 and pack.biotope_weights["green_wall"] == 0.2
    assert w["pleine_terre"] == 1.0
    # unknown zone: the pack defaults
    assert pack.weights("nowhere") == pack.biotope_weights


def test_defaults_filled_and_round_trip(tmp_path):
    p = _write(
        tmp_path,
        MINIMAL
        + """
[zones.UA.street_setback]
alignment = false
article = "UA.6"

[zones.UA.side_setback]
k = 1
d_min = 3
article = "UA.7"
""",
    )
    pack = read_rules(p)
    assert pack.name == "test"
    ua = pack.zones["UA"]
    assert ua.get("street_setback").params == {
        "alignment": False,
        "tolerance": 0.5,
        "min": 0.0,
    }
    side = ua.get("side_setback")
    assert side.params == {"k": 1.0, "d_min": 3.0, "allow_on_limit": False}
    assert isinstance(side["k"], float)
    # no [biotope_weights]: cimcity defaults
    assert pack.biotope_weights["pleine_terre"] == 1.0
    again = RulePack.from_dict(pack.to_dict())
    assert again.to_dict() == pack.to_dict()
    frame = pack.to_frame()
    assert list(frame["rule"]) == ["max_height", "street_setback", "side_setback"]
    assert frame.loc[0, "value"] == 12.0


def test_read_rules_accepts_pack_and_dict():
    pack = read_rules(SAMPLE_RULES)
    assert read_rules(pack) is pack
    assert read_rules(pack.to_dict()).to_dict() == pack.to_dict()
    with pytest.raises(InputError, match="expects a path"):
        read_rules(42)


def test_scene_add_zones_with_rules_path():
    zones = gpd.GeoDataFrame(
        {"LIBELLE": ["UG"], "TYPEZONE": ["U"]},
        geometry=[shapely.box(649_700, 6_865_300, 649_800, 6_865_400)],
        crs="EPSG:2154",
    )
    scene = cc.Scene().add_zones(zones, rules=SAMPLE_RULES)
    assert scene.rules.for_zone(scene.zones["libelle"].iloc[0]) is not None


# -- rule pack: validation ------------------------------------------------------------

BAD = [
    # (TOML appended to a valid zone, expected words in the message)
    ("[zones.UA.max_heigth]\nvalue = 3\narticle = 'x'", ["UA", "max_heigth", "known"]),
    (
        "[zones.UA.side_setback]\nk = 0.5\narticle = 'UA.7'",
        ["UA", "side_setback", "d_min"],
    ),
    ("[zones.UA.side_setback]\nk = 0.5\nd_mn = 4\nd_min = 4\narticle = 'x'", ["d_mn"]),
    ("[zones.UA.max_storeys]\nvalue = 4\nunit = 'storeys'", ["max_storeys", "article"]),
    (
        "[zones.UA.max_eave_height]\nvalue = '9'\narticle = 'x'",
        ["max_eave_height", "'9'"],
    ),
    (
        "[zones.UA.max_eave_height]\nvalue = -3.0\narticle = 'x'",
        ["UA", "-3.0", "negative"],
    ),
    ("[zones.UA.max_eave_height]\nvalue = 15.0\narticle = 'x'", ["15.0", "max_height"]),
    ("[zones.UA.max_footprint_ratio]\nvalue = 75\narticle = 'x'", ["75", "[0, 1]"]),
    ("[zones.UA.max_footprint_ratio]\nvalue = 0.7\nunit = '%'\narticle = 'x'", ["'%'"]),
    (
        "[zones.UA.min_green_share]\nvalue = nan\narticle = 'x'",
        ["min_green_share", "finite"],
    ),
    ("[zones.UA.max_storeys]\nvalue = 4.5\narticle = 'x'", ["4.5", "whole"]),
    (
        "[zones.UA.envelope]\nc = 3\nslope = 0\narticle = 'x'",
        ["envelope", "slope", "> 0"],
    ),
    (
        "[zones.UA.street_setback]\nalignment = 'yes'\narticle = 'x'",
        ["alignment", "true or false"],
    ),
    ("[zones.UA.biotope_weights]\ngreen_wall = 1.5", ["UA", "green_wall", "1.5"]),
    ("[zones.UA.max_height.reference]\nx = 1", ["reference"]),
    ("[zones.UA]\nheight = 12", ["unknown key 'height'"]),
    ("[biotope_weights]\npleine_terre = -0.1", ["pleine_terre", "-0.1"]),
    ("[other]\nx = 1", ["unknown top-level", "'other'"]),
]


@pytest.mark.parametrize("extra, words", BAD)
def test_rule_errors_name_zone_rule_and_value(tmp_path, extra, words):
    p = _write(tmp_path, MINIMAL + "\n" + extra + "\n")
    with pytest.raises(RuleError) as info:
        read_rules(p)
    msg = str(info.value)
    assert "rules.toml" in msg
    for w in words:
        assert w in msg, (w, msg)


def test_reference_must_be_known(tmp_path):
    p = _write(tmp_path, MINIMAL.replace('unit = "m"', 'unit = "m"\nreference = "sea"'))
    with pytest.raises(RuleError, match="'sea'.*natural_ground"):
        read_rules(p)


def test_pack_without_zones(tmp_path):
    with pytest.raises(RuleError, match="no zones"):
        read_rules(_write(tmp_path, "[pack]\nname = 'x'\n"))


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_rules(tmp_path / "missing.toml")
    with pytest.raises(FileFormatError, match="empty"):
        read_rules(_write(tmp_path, "  \n"))
    with pytest.raises(FileFormatError, match="not valid TOML.*line 2"):
        read_rules(_write(tmp_path, "[pack]\nname = \n"))
    p = tmp_path / "latin1.toml"
    p.write_bytes(MINIMAL.replace("test", "hauteur maximale é").encode("latin-1"))
    with pytest.raises(FileFormatError, match="not UTF-8.*0xe9"):
        read_rules(p)


# -- zone_urba --------------------------------------------------------------------


def test_read_plu_seine_et_marne(shared_data):
    path = shared_data / "france" / "zone_urba_seine-et-marne_77_cnig.gpkg"
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        z = read_plu(path)
    assert len(z) == 652  # SOURCES.md; pyogrio count checked below
    assert len(z) == pyogrio.read_info(path)["features"]
    assert z.crs.to_epsg() == 2154
    for col in ("libelle", "libelong", "typezone", "idurba", "destdomi", "depcom"):
        assert col in z.columns
    assert not any(c.isupper() for c in z.columns if c != "geometry")
    # independent count with pyogrio on the raw file
    raw = pyogrio.read_dataframe(path, read_geometry=False)
    counts = z["typezone"].value_counts().to_dict()
    assert counts == raw["TYPEZONE"].value_counts().to_dict()
    # SOURCES.md: U 303, N 218, A 50, AU 43, Ux 25, Ah 8, Nh 5
    assert counts == {"U": 303, "N": 218, "A": 50, "AU": 43, "Ux": 25, "Ah": 8, "Nh": 5}
    # two self-intersecting zones (shapely.is_valid on the raw file) repaired
    raw_geom = pyogrio.read_dataframe(path, columns=[]).geometry
    assert int((~raw_geom.is_valid).sum()) == 2 == int(z["repaired"].sum())
    assert z.geometry.is_valid.all()
    msgs = " ".join(str(w.message) for w in rec)
    assert any(issubclass(w.category, DataQualityWarning) for w in rec)
    assert any(issubclass(w.category, RepairWarning) for w in rec)
    for token in ("'AU' (43)", "'Ux' (25)", "'Ah' (8)", "'Nh' (5)", "81 of 652"):
        assert token in msgs, msgs
    assert int((~z["typezone_standard"]).sum()) == 43 + 25 + 8 + 5
    fam = z.groupby("zone_family")["typezone"].count().to_dict()
    assert fam == {"U": 303 + 25, "N": 218 + 5, "A": 50 + 8, "AU": 43}
    # broken upstream text survives, byte for byte
    fffd_raw = raw["LIBELONG"].dropna().str.contains("\ufffd")
    fffd = z["libelong"].dropna().str.contains("\ufffd")
    assert fffd_raw.sum() > 0 and fffd.sum() == fffd_raw.sum()
    assert "U+FFFD" in msgs
    assert (z["libelong"].fillna("") == raw["LIBELONG"].fillna("")).all()


def test_read_plu_gennes_and_scene(shared_data):
    path = shared_data / "france" / "gennes25267_zoning_plu.gpkg"
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        z = read_plu(path)
    # 26 zones in the file (SOURCES.md), one of which (row 19, 'Ne') has an
    # empty MULTIPOLYGON: dropped with a warning naming the row, not silently
    raw = pyogrio.read_dataframe(path)
    assert len(raw) == 26 and int(raw.geometry.is_empty.sum()) == 1
    assert len(z) == 25
    assert any(
        "dropped 1 of 26" in str(w.message) and "[19]" in str(w.message) for w in rec
    )
    # SOURCES.md: TYPEZONE U 4, AU 6, A 5, N 11 (10 once the empty one is gone)
    assert z["typezone"].value_counts().to_dict() == {"N": 10, "AU": 6, "A": 5, "U": 4}
    assert set(z["libelle"]) == {"UA", "UB", "UY", "AU1", "AU2", "A", "As", "N", "Ne"}
    assert any("'AU' (6)" in str(w.message) for w in rec)
    # 3D MultiPolygon Z input is kept as polygons (z dropped for the 2D scene)
    assert set(z.geom_type) <= {"Polygon", "MultiPolygon"}
    scene = cc.Scene().add_zones(z)
    assert len(scene.zones) == 25


def test_read_plu_requires_libelle(tmp_path):
    p = tmp_path / "z.gpkg"
    gpd.GeoDataFrame(
        {"name": ["x"]},
        geometry=[shapely.box(650_000, 6_860_000, 650_100, 6_860_100)],
        crs="EPSG:2154",
    ).to_file(p)
    with pytest.raises(InputError, match="no 'libelle' column.*name"):
        read_plu(p)


def test_read_plu_lowercase_values_and_bad_geometry(tmp_path):
    p = tmp_path / "z.gpkg"
    box = shapely.box(650_000, 6_860_000, 650_100, 6_860_100)
    gpd.GeoDataFrame(
        {"Libelle": ["UA", "AUc"], "TypeZone": ["U", "AUc"]},
        geometry=[box, box],
        crs="EPSG:2154",
    ).to_file(p)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # standard values: no warning at all
        z = read_plu(p)
    assert list(z["libelle"]) == ["UA", "AUc"]
    assert z["typezone_standard"].all()
    q = tmp_path / "pts.gpkg"
    gpd.GeoDataFrame(
        {"LIBELLE": ["UA"]},
        geometry=[shapely.Point(650_000, 6_860_000)],
        crs="EPSG:2154",
    ).to_file(q)
    with pytest.raises(GeometryError, match="Point"):
        read_plu(q)


def test_read_plu_lonlat_declared_lambert93(tmp_path):
    p = tmp_path / "z.gpkg"
    gpd.GeoDataFrame(
        {"LIBELLE": ["UA"]},
        geometry=[shapely.box(2.3, 48.8, 2.31, 48.81)],
        crs="EPSG:2154",
    ).to_file(p)
    with pytest.raises(CRSError, match="longitude/latitude"):
        read_plu(p)


def test_non_utf8_attributes_decoded_and_reported(tmp_path):
    """A shapefile whose .cpg claims UTF-8 but whose .dbf holds Latin-1 bytes."""
    p = tmp_path / "zones.shp"
    gpd.GeoDataFrame(
        {"LIBELLE": ["UA"], "LIBELONG": ["Zone à urbaniser é"], "TYPEZONE": ["U"]},
        geometry=[shapely.box(650_000, 6_860_000, 650_100, 6_860_100)],
        crs="EPSG:2154",
    ).to_file(p)
    dbf = tmp_path / "zones.dbf"
    raw = dbf.read_bytes()
    # same field width: each 2-byte UTF-8 letter becomes its Latin-1 byte + a blank
    dbf.write_bytes(raw.replace("à".encode(), b"\xe0 ").replace("é".encode(), b"\xe9 "))
    assert (tmp_path / "zones.cpg").read_text().strip().upper() in ("UTF-8", "UTF8")
    with pytest.warns(DataQualityWarning, match="not valid UTF-8"):
        z = read_plu(p)
    assert z["libelong"].iloc[0].startswith("Zone à  urbaniser é")


@settings(max_examples=40, deadline=None)
@given(v=st.floats(allow_nan=False, allow_infinity=False, min_value=-10, max_value=10))
def test_ratio_rules_accept_exactly_the_unit_interval(v):
    data = {"zones": {"UA": {"max_footprint_ratio": {"value": v, "article": "UA.9"}}}}
    if 0.0 <= v <= 1.0:
        assert read_rules(data).for_zone("UA").get("max_footprint_ratio").value == v
    else:
        with pytest.raises(RuleError, match="outside"):
            read_rules(data)
