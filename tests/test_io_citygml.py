"""CityGML 1.0/2.0 buildings (read_citygml, describe_citygml): footprints,
heights, ground altitudes, ids, CRS, and clean refusals of bad files.

Synthetic files with known geometry: a 10 m × 20 m LoD1 box from 30 m to
42 m (footprint 200 m², height 12 m) and a two-part building; the real Berlin
building is in tests/realdata/test_io_realdata.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import cimcity as cc
from cimcity.errors import CRSError, DataQualityWarning, FileFormatError
from cimcity.io.citygml import describe_citygml, parse_srs_name, read_citygml
from cimcity.io.description import detect_kind

X0, Y0 = 388000.0, 5818000.0
NS = {
    "2.0": (
        'xmlns="http://www.opengis.net/citygml/2.0" '
        'xmlns:bldg="http://www.opengis.net/citygml/building/2.0" '
        'xmlns:gen="http://www.opengis.net/citygml/generics/2.0"'
    ),
    "1.0": (
        'xmlns="http://www.opengis.net/citygml/1.0" '
        'xmlns:bldg="http://www.opengis.net/citygml/building/1.0" '
        'xmlns:gen="http://www.opengis.net/citygml/generics/1.0"'
    ),
}


def _box_solid(x, y, w, d, z0, z1):
    """LoD1 solid: 6 faces of a box, as gml:Polygon posLists."""
    c = [(x, y), (x + w, y), (x + w, y + d), (x, y + d)]

    def ring(pts):
        pts = [*pts, pts[0]]
        pos = " ".join(f"{a} {b} {z}" for a, b, z in pts)
        return (
            "<gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing>"
            f"<gml:posList>{pos}</gml:posList></gml:LinearRing></gml:exterior>"
            "</gml:Polygon></gml:surfaceMember>"
        )

    faces = [ring([(a, b, z0) for a, b in c[::-1]]), ring([(a, b, z1) for a, b in c])]
    for i in range(4):
        (a, b), (e, f) = c[i], c[(i + 1) % 4]
        faces.append(ring([(a, b, z0), (e, f, z0), (e, f, z1), (a, b, z1)]))
    return (
        "<bldg:lod1Solid><gml:Solid><gml:exterior><gml:CompositeSurface>"
        + "".join(faces)
        + "</gml:CompositeSurface></gml:exterior></gml:Solid></bldg:lod1Solid>"
    )


def _citygml(buildings, version="2.0", srs="EPSG:25833"):
    srs_attr = f' srsName="{srs}" srsDimension="3"' if srs else ""
    members = "".join(f"<cityObjectMember>{b}</cityObjectMember>" for b in buildings)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<CityModel {NS[version]} xmlns:gml="http://www.opengis.net/gml">'
        f'<gml:boundedBy><gml:Envelope{srs_attr}><gml:lowerCorner>0 0 0'
        "</gml:lowerCorner><gml:upperCorner>1 1 1</gml:upperCorner></gml:Envelope>"
        f"</gml:boundedBy>{members}</CityModel>"
    )


def _building(gid, body):
    return f'<bldg:Building gml:id="{gid}">{body}</bldg:Building>'


BOX = _building("box", _box_solid(X0, Y0, 10, 20, 30.0, 42.0))


def test_lod1_solid_footprint_height_ground_and_id(tmp_path):
    p = tmp_path / "box.gml"
    p.write_text(_citygml([BOX]))
    b = read_citygml(p)
    assert list(b.index) == ["box"] and b.crs.to_epsg() == 25833
    row = b.iloc[0]
    assert row.geometry.area == pytest.approx(200.0)  # 10 m × 20 m
    assert row["ground_z"] == 30.0 and row["roof_z"] == 42.0
    assert row["height"] == pytest.approx(12.0) and row["height_source"] == "geometry"
    assert row["lod"] == 1
    assert list(tmp_path.iterdir()) == [p]  # nothing written beside it


def test_measured_height_in_feet_and_generic_attributes(tmp_path):
    body = (
        '<bldg:measuredHeight uom="ft">40</bldg:measuredHeight>'
        "<bldg:storeysAboveGround>4</bldg:storeysAboveGround>"
        '<gen:intAttribute name="n"><gen:value>3</gen:value></gen:intAttribute>'
        '<gen:stringAttribute name="s"><gen:value>abc</gen:value></gen:stringAttribute>'
        + _box_solid(X0, Y0, 10, 20, 30.0, 42.0)
    )
    p = tmp_path / "ft.gml"
    p.write_text(_citygml([_building("ft", body)], version="1.0"))
    b = read_citygml(p)
    assert b.attrs["citygml_version"] == "1.0"
    assert b["height"].iloc[0] == pytest.approx(40 * 0.3048)
    assert b["height_source"].iloc[0] == "data"
    assert b["storeys"].iloc[0] == 4 and b["n"].iloc[0] == 3 and b["s"].iloc[0] == "abc"


def test_building_parts_are_merged(tmp_path):
    parts = (
        "<bldg:consistsOfBuildingPart><bldg:BuildingPart>"
        + _box_solid(X0, Y0, 10, 10, 30.0, 36.0)
        + "</bldg:BuildingPart></bldg:consistsOfBuildingPart>"
        "<bldg:consistsOfBuildingPart><bldg:BuildingPart>"
        + _box_solid(X0 + 10, Y0, 5, 10, 31.0, 45.0)
        + "</bldg:BuildingPart></bldg:consistsOfBuildingPart>"
    )
    p = tmp_path / "parts.gml"
    p.write_text(_citygml([_building("two", parts), BOX.replace("box", "other")]))
    b = read_citygml(p)
    assert list(b.index) == ["two", "other"]
    two = b.loc["two"]
    assert two.geometry.area == pytest.approx(150.0)  # 100 + 50 m², one polygon
    assert two.geometry.geom_type == "Polygon"
    assert two["ground_z"] == 30.0 and two["roof_z"] == 45.0
    assert two["citygml_parts"] == 2
    d = describe_citygml(p)
    assert d["buildings"] == 2 and d["counts"] == {"Building": 2}
    assert [x["id"] for x in d["building_list"]] == ["two", "other"]


def test_into_a_scene_and_through_read_buildings(tmp_path):
    p = tmp_path / "box.gml"
    p.write_text(_citygml([BOX]))
    scene = cc.Scene(crs="EPSG:25833").add_buildings(read_citygml(p))
    assert list(scene.buildings.index) == ["box"]
    assert scene.buildings["height"].iloc[0] == pytest.approx(12.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = cc.read_buildings(p, crs="EPSG:25833")
    assert list(b.index) == ["box"]


@pytest.mark.parametrize(
    "name, horizontal, vertical",
    [
        ("EPSG:25833", 25833, None),
        ("urn:ogc:def:crs:EPSG::25832", 25832, None),
        ("urn:ogc:def:crs,crs:EPSG:6.12:25833,crs:EPSG:6.12:5783", 25833, 5783),
        ("http://www.opengis.net/def/crs/EPSG/0/28992", 28992, None),
        ("urn:ogc:def:crs:EPSG::7415", 28992, 5709),  # compound RD New + NAP
        ("urn:adv:crs:ETRS89_UTM32*DE_DHHN92_NH", 25832, None),
        ("local", None, None),
    ],
)
def test_srs_names(name, horizontal, vertical):
    h, v = parse_srs_name(name)
    assert (h.to_epsg() if h else None) == horizontal
    assert (v.to_epsg() if v else None) == vertical


def test_bad_files_are_refused_with_one_clear_error(tmp_path):
    text = _citygml([BOX])
    cut = tmp_path / "cut.gml"
    cut.write_text(text[: len(text) // 2])
    with pytest.raises(FileFormatError, match="not well-formed XML.*truncated"):
        read_citygml(cut)
    v3 = tmp_path / "v3.gml"
    v3.write_text(text.replace("citygml/2.0", "citygml/3.0"))
    with pytest.raises(FileFormatError, match="CityGML 3.0.*CityJSON"):
        read_citygml(v3)
    nocrs = tmp_path / "nocrs.gml"
    nocrs.write_text(_citygml([BOX], srs=None))
    with pytest.raises(CRSError, match="declares no CRS.*src_crs"):
        read_citygml(nocrs)
    b = read_citygml(nocrs, src_crs="EPSG:25833")
    assert b.crs.to_epsg() == 25833
    empty = tmp_path / "empty.gml"
    empty.write_text(_citygml([]))
    with pytest.raises(FileFormatError, match="holds no Building"):
        read_citygml(empty)
    bad = tmp_path / "bad.gml"
    bad.write_text(text.replace(f"{X0} {Y0}", "12x 5", 1))
    with pytest.raises(FileFormatError, match="unreadable coordinate '12x'"):
        read_citygml(bad)
    deg = tmp_path / "deg.gml"  # lon/lat degrees declared as UTM 33N
    box = _building("deg", _box_solid(13.4, 52.5, 0.0001, 0.0001, 30.0, 42.0))
    deg.write_text(_citygml([box], srs="EPSG:25833"))
    with pytest.raises(CRSError, match="look like longitude/latitude"):
        read_citygml(deg)


def test_a_building_without_polygons_is_dropped_and_reported(tmp_path):
    p = tmp_path / "some.gml"
    p.write_text(_citygml([BOX, _building("ghost", "<bldg:function>1000</bldg:function>")]))
    with pytest.warns(DataQualityWarning, match="1 buildings have no polygon.*'ghost'"):
        b = read_citygml(p)
    assert list(b.index) == ["box"]


def test_detect_kind_sniffs_citygml(tmp_path):
    p = tmp_path / "city.xml"
    p.write_text(_citygml([BOX]))
    assert detect_kind(p) == "citygml"
    assert np.isclose(describe_citygml(p)["building_list"][0]["footprint_m2"], 200.0)
