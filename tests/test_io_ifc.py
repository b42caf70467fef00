"""read_ifc, describe and the sample IFC writer.

References used below:
- synthetic projects: the analytic placement E = E0 + s·R(θ)·x (IFC4
  IfcMapConversion definition) applied to the footprint written in the file;
- real files (../shared/data/ifc): counts and storey elevations read
  independently with plain ifcopenshell, the file's own base quantities, the
  spec values of the buildingSMART georeferencing example, pyproj for
  latitude/longitude placements.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

import cimcity as cc
from cimcity.datasets.ifc_writer import write_project_ifc
from cimcity.errors import CRSError, FileFormatError, GeoreferenceError, InputError
from cimcity.io.ifc import GeoreferenceWarning, describe, read_ifc
from cimcity.mesh import KIND_CODES

ifcopenshell = pytest.importorskip("ifcopenshell")

#: geometry written and read back through STEP text: exact to float printing [m]
TOL_XY = 1e-6
#: the same for areas [m²]
TOL_AREA = 1e-5

FOOTPRINT = [
    (0.0, 0.0),
    (20.0, 0.0),
    (20.0, 12.0),
    (8.0, 12.0),
    (8.0, 18.0),
    (0.0, 18.0),
]
FOOTPRINT_AREA = 20 * 12 + 8 * 6  # 288 m²
HEIGHTS = [3.5, 3.0, 3.0]
E0, N0, H0 = 652_000.0, 6_862_000.0, 35.0


def _expected_polygon(theta_deg, e0=E0, n0=N0):
    t = math.radians(theta_deg)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    return shapely.Polygon(np.asarray(FOOTPRINT) @ rot.T + [e0, n0])


def _write(tmp_path, theta_deg=30.0, unit="m", scale="auto", schema="IFC4", **kw):
    t = math.radians(theta_deg)
    if scale == "auto":
        scale = {"m": None, "mm": 0.001}[unit]
    mc = dict(
        eastings=E0,
        northings=N0,
        orthogonal_height=H0,
        x_axis_abscissa=math.cos(t),
        x_axis_ordinate=math.sin(t),
        scale=scale,
    )
    kw.setdefault("map_conversion", mc)
    return write_project_ifc(
        tmp_path / f"p_{unit}_{schema}.ifc",
        FOOTPRINT,
        HEIGHTS,
        length_unit=unit,
        schema=schema,
        **kw,
    )


def _read(path, **kw):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        bim = read_ifc(path, **kw)
    return bim, [
        str(w.message) for w in rec if issubclass(w.category, GeoreferenceWarning)
    ]


# -- synthetic projects: placement, units, schemas ----------------------------------------


@pytest.mark.parametrize(
    "unit, scale, schema, warned",
    [
        ("m", None, "IFC4", None),
        ("mm", 0.001, "IFC4", None),
        ("mm", None, "IFC4", "no Scale"),  # the brief's case: mm project, m CRS
        ("mm", 1.0, "IFC4", "does not include the unit"),  # exporter ignored units
        ("m", None, "IFC2X3", None),
        ("mm", None, "IFC2X3", "no Scale"),
        ("m", None, "IFC4X3", None),  # IfcBuiltElement instead of IfcBuildingElement
    ],
)
def test_synthetic_project_lands_where_the_map_conversion_says(
    tmp_path, unit, scale, schema, warned
):
    path = _write(tmp_path, 30.0, unit, scale, schema)
    bim, msgs = _read(path)
    assert bim.georef["method"] == (
        "epset_map_conversion" if schema == "IFC2X3" else "map_conversion"
    )
    assert bim.schema == schema
    assert bim.georef["approximate"] is False
    assert bim.crs.to_epsg() == 2154
    # footprint = written polygon rotated by 30° and translated (analytic)
    exp = _expected_polygon(30.0)
    assert bim.footprint.symmetric_difference(exp).area < TOL_AREA
    assert abs(bim.footprint.area - FOOTPRINT_AREA) < TOL_AREA
    # slabs sit on the storey levels, the roof slab inside the top storey
    assert bim.base_z == pytest.approx(H0, abs=TOL_XY)
    assert bim.top_z == pytest.approx(H0 + sum(HEIGHTS), abs=TOL_XY)
    assert bim.storeys["elevation"].tolist() == pytest.approx(
        [H0, H0 + 3.5, H0 + 6.5], abs=TOL_XY
    )
    assert bim.storeys["height"].tolist() == pytest.approx(HEIGHTS, abs=TOL_XY)
    # GFA from geometry and from the Qto written in the file both equal the area
    assert bim.storeys["gross_floor_area"].tolist() == pytest.approx(
        [FOOTPRINT_AREA] * 3, abs=1e-4
    )
    assert bim.storeys["gross_floor_area_qto"].tolist() == pytest.approx(
        [FOOTPRINT_AREA] * 3
    )
    # 6 walls + 1 slab per storey + roof slab
    assert len(bim.elements) == 3 * 7 + 1
    assert bim.elements["ifc_class"].value_counts().to_dict() == {
        "IfcWall": 18,
        "IfcSlab": 4,
    }
    assert (bim.elements["n_faces"] > 0).all()
    # a model point maps analytically
    p = bim.model_to_world([[1.0, 0.0, 2.0]])[0]
    assert p == pytest.approx(
        [E0 + math.cos(math.radians(30)), N0 + math.sin(math.radians(30)), H0 + 2.0],
        abs=TOL_XY,
    )
    if warned is None:
        assert not msgs
    else:
        assert any(warned in m for m in msgs), msgs


def test_mesh_is_world_float64_with_face_tables(tmp_path):
    bim, _ = _read(_write(tmp_path))
    tm = bim.mesh
    assert tm.vertices.dtype == np.float64
    assert len(bim.face_element) == len(tm.faces) == len(bim.face_kind)
    assert bim.face_element.max() < len(bim.elements)
    v = np.asarray(tm.vertices)
    assert v[:, 2].min() == pytest.approx(H0, abs=TOL_XY)
    assert v[:, 2].max() == pytest.approx(H0 + 9.5, abs=TOL_XY)
    # the exposed roof is the roof slab's top: area = footprint area (analytic)
    roof = bim.face_kind == KIND_CODES["roof"]
    assert tm.area_faces[roof].sum() == pytest.approx(FOOTPRINT_AREA, abs=1e-4)
    assert set(bim.elements.loc[np.unique(bim.face_element[roof]), "name"]) == {
        "Toiture"
    }
    # walls: vertical faces; their area is at least the outer facade (perimeter × height)
    perim = shapely.Polygon(FOOTPRINT).length
    walls = bim.face_kind == KIND_CODES["wall"]
    assert np.abs(tm.face_normals[walls][:, 2]).max() < 1e-9
    assert tm.area_faces[walls].sum() >= perim * 9.5 - 1e-6


def test_user_placement_wins_and_rotates_counter_clockwise(tmp_path):
    path = _write(tmp_path, 30.0)
    x, y, z = 650_100.0, 6_860_200.0, 42.0
    bim, _ = _read(path, placement=(x, y, z, 90.0))
    assert bim.georef["method"] == "user_placement"
    # 90° counter-clockwise: project +x → map +y (analytic)
    assert bim.model_to_world([[1.0, 0.0, 0.0]])[0] == pytest.approx(
        [x, y + 1, z], abs=1e-9
    )
    exp = _expected_polygon(90.0, x, y)
    assert bim.footprint.symmetric_difference(exp).area < TOL_AREA
    assert bim.base_z == pytest.approx(z)


def test_placement_in_another_crs_is_reprojected(tmp_path):
    from pyproj import Transformer

    path = _write(tmp_path, map_conversion=None)
    # a Lambert-93 placement read into CC49 (EPSG:3949)
    bim, _ = _read(
        path,
        placement=(652_000.0, 6_862_000.0, 0.0),
        crs="EPSG:2154",
        scene_crs="EPSG:3949",
    )
    exp = Transformer.from_crs(2154, 3949, always_xy=True).transform(
        652_000.0, 6_862_000.0
    )
    assert bim.model_to_world([[0, 0, 0]])[0][:2] == pytest.approx(exp, abs=1e-6)
    assert bim.crs.to_epsg() == 3949


def test_not_georeferenced_stays_in_project_coordinates(tmp_path):
    path = _write(tmp_path, map_conversion=None)
    bim, msgs = _read(path)
    assert bim.georef["method"] == "none" and bim.crs is None
    assert not bim.is_georeferenced
    assert (
        bim.footprint.symmetric_difference(shapely.Polygon(FOOTPRINT)).area < TOL_AREA
    )
    assert bim.base_z == pytest.approx(0.0) and bim.height == pytest.approx(9.5)
    assert not msgs


def test_site_latlon_fallback_is_approximate_and_flagged(tmp_path):
    from pyproj import Geod, Proj, Transformer

    lat, lon = 48.85, 2.35
    path = _write(tmp_path, map_conversion=None, site_latlon=(lat, lon, 35.0))
    bim, msgs = _read(path)
    assert bim.georef["method"] == "site_latlon" and bim.georef["approximate"] is True
    assert any("approximately" in m for m in msgs)
    # origin: pyproj's Lambert-93 coordinates of the site; compound angles are
    # written to the microsecond of arc (3 cm)
    e, n = Transformer.from_crs(4326, 2154, always_xy=True).transform(lon, lat)
    assert bim.model_to_world([[0, 0, 0]])[0] == pytest.approx([e, n, 35.0], abs=0.05)
    # project +y (TrueNorth default) points to true north: compare with a point
    # 100 m north on the ellipsoid (pyproj Geod), direction within 1e-4 rad
    lon2, lat2, _ = Geod(ellps="GRS80").fwd(lon, lat, 0.0, 100.0)
    e2, n2 = Transformer.from_crs(4326, 2154, always_xy=True).transform(lon2, lat2)
    p = bim.model_to_world([[0, 100, 0]])[0]
    ang_model = math.atan2(
        p[1] - bim.model_to_world([[0, 0, 0]])[0][1],
        p[0] - bim.model_to_world([[0, 0, 0]])[0][0],
    )
    assert ang_model == pytest.approx(math.atan2(n2 - n, e2 - e), abs=1e-4)
    # the rotation is the meridian convergence of Lambert-93 there (PROJ factors)
    conv = Proj("EPSG:2154").get_factors(lon, lat).meridian_convergence
    assert bim.georef["rotation_deg"] == pytest.approx(conv, abs=1e-3)


def test_far_outside_the_scene_crs_is_a_georeference_error(tmp_path):
    path = _write(tmp_path, map_conversion=None, site_latlon=(41.87, -87.64, 0.0))
    with pytest.raises(GeoreferenceError, match="EPSG:32616"):
        _read(path)  # Chicago in Lambert-93
    bim, _ = _read(path, scene_crs="EPSG:32616")
    assert bim.crs.to_epsg() == 32616


def test_unknown_projected_crs_name_needs_crs(tmp_path):
    path = _write(tmp_path, crs="Lambert sans code")
    with pytest.raises(GeoreferenceError, match="crs='EPSG"):
        _read(path)
    bim, _ = _read(path, crs="EPSG:2154")
    assert bim.footprint.symmetric_difference(_expected_polygon(30.0)).area < TOL_AREA


def test_bad_arguments(tmp_path):
    path = _write(tmp_path)
    with pytest.raises(InputError, match="placement"):
        read_ifc(path, placement=(1.0, 2.0))
    with pytest.raises(CRSError):
        read_ifc(path, scene_crs="EPSG:4326")
    with pytest.raises(InputError, match="geometry_library"):
        read_ifc(path, geometry_library="occ")


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "empty"),
        (b"hello, I am not an IFC file\n", "not an IFC file"),
        ("truncate", "truncated"),
        ("no-project", "no IfcProject"),
    ],
)
def test_bad_files_raise_file_format_error_naming_the_file(tmp_path, content, match):
    good = _write(tmp_path).read_bytes()
    if content == "truncate":
        content = good[: len(good) // 2]
    elif content == "no-project":
        head = good.split(b"DATA;")[0]
        content = head + b"DATA;\nENDSEC;\nEND-ISO-10303-21;\n"
    bad = tmp_path / "broken.ifc"
    bad.write_bytes(content)
    with pytest.raises(FileFormatError, match=match) as e:
        read_ifc(bad)
    assert "broken.ifc" in str(e.value)
    with pytest.raises(FileFormatError):
        describe(bad)


def test_missing_file(tmp_path):
    with pytest.raises(FileFormatError, match="does not exist"):
        read_ifc(tmp_path / "nope.ifc")


def test_writer_is_deterministic_across_processes(tmp_path):
    """Same arguments, another interpreter with another hash seed: same bytes."""
    a = _write(tmp_path)
    other = tmp_path / "b"
    other.mkdir()
    code = (
        f"import sys, pathlib; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        f"from test_io_ifc import _write; _write(pathlib.Path({str(other)!r}))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run(
        [sys.executable, "-c", code], check=True, env=env, capture_output=True
    )
    assert (other / a.name).read_bytes() == a.read_bytes()


def test_writer_rejects_bad_input(tmp_path):
    from cimcity.errors import GeometryError

    with pytest.raises(GeometryError):
        write_project_ifc(tmp_path / "x.ifc", [(0, 0), (1, 1), (0, 1), (1, 0)], [3.0])
    with pytest.raises(InputError, match="storey_heights"):
        write_project_ifc(tmp_path / "x.ifc", FOOTPRINT, [3.0, -1.0])
    with pytest.raises(InputError, match="length_unit"):
        write_project_ifc(tmp_path / "x.ifc", FOOTPRINT, [3.0], length_unit="ft")


def test_project_joins_a_scene(tmp_path):
    """The BimModel drops into Scene.with_project and its triangles into the mesh."""
    import geopandas as gpd

    path = _write(tmp_path, 0.0, map_conversion=None)
    bim, _ = _read(path, placement=(E0, N0, H0, 0.0))
    parcel = shapely.box(E0 - 5, N0 - 5, E0 + 30, N0 + 25)
    old = shapely.box(E0 + 2, N0 + 2, E0 + 10, N0 + 10)
    s = cc.Scene()
    s.add_parcels(gpd.GeoDataFrame(geometry=[parcel], crs="EPSG:2154"))
    s.add_buildings(
        gpd.GeoDataFrame(
            {"height": [6.0], "ground_z": [H0]}, geometry=[old], crs="EPSG:2154"
        )
    )
    after = s.with_project(bim)
    assert list(after.buildings.index) == [bim.id]
    row = after.buildings.loc[bim.id]
    assert row["height"] == pytest.approx(9.5) and row["storeys"] == 3
    m = after.mesh(terrain=False)
    assert (m.face_kind == KIND_CODES["roof"]).sum() == (
        bim.face_kind == KIND_CODES["roof"]
    ).sum()


# -- real files -----------------------------------------------------------------------


def _counts(path, classes):
    f = ifcopenshell.open(str(path))
    return {c: len(f.by_type(c)) for c in classes}


@pytest.fixture(scope="module")
def fzk(shared_data):
    """AC20-FZK-Haus (IFC4, site lat/lon only). Openings are not subtracted:
    3× faster, and footprint, heights and areas do not depend on them (the
    opening path is exercised on IfcOpenHouse)."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        bim = read_ifc(
            shared_data / "ifc" / "AC20-FZK-Haus.ifc", subtract_openings=False
        )
    return bim, [str(w.message) for w in rec]


@pytest.fixture(scope="module")
def office(shared_data):
    """Office_A (IFC2X3, 487 walls): the big one, read once; openings are not
    subtracted to keep the test fast (footprint/heights are unaffected)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GeoreferenceWarning)
        return read_ifc(
            shared_data / "ifc" / "Office_A_20110811.ifc",
            scene_crs="EPSG:32619",  # UTM 19N: Boston
            subtract_openings=False,
        )


def test_fzk_haus(fzk, shared_data):
    bim, msgs = fzk
    assert bim.schema == "IFC4"
    # georeferencing: IfcSite lat/lon only → approximate, flagged, warned
    assert bim.georef["method"] == "site_latlon" and bim.georef["approximate"]
    assert any("approximately" in m for m in msgs)
    # RefLatitude (49,6,1,566000), RefLongitude (8,26,11,540400) → pyproj
    from pyproj import Transformer

    lat = 49 + 6 / 60 + 1.566 / 3600
    lon = 8 + 26 / 60 + 11.5404 / 3600
    e, n = Transformer.from_crs(4326, 2154, always_xy=True).transform(lon, lat)
    assert bim.model_to_world([[0, 0, 0]])[0] == pytest.approx([e, n, 110.0], abs=1e-3)
    # storeys: Erdgeschoss 0 and Dachgeschoss 2.7 m (+ RefElevation 110 m)
    assert bim.storeys["name"].tolist() == ["Erdgeschoss", "Dachgeschoss"]
    assert bim.storeys["elevation"].tolist() == pytest.approx([110.0, 112.7], abs=1e-6)
    # gross floor area from geometry vs the file's BaseQuantities GrossFloorArea
    # (119.82 and 121.67 m², ArchiCAD): within 3 %
    qto = bim.storeys["gross_floor_area_qto"].to_numpy()
    assert qto == pytest.approx([119.824049906, 121.673906052])
    assert bim.storeys["gross_floor_area"].to_numpy() == pytest.approx(qto, rel=0.03)
    # the footprint includes the roof overhangs: larger than the floor area
    assert bim.footprint.area > 1.1 * qto.max()
    assert bim.footprint.area < 2.0 * qto.max()
    assert bim.footprint.is_valid and bim.footprint.geom_type == "Polygon"
    assert bim.base_z == pytest.approx(110.0, abs=1e-6)
    assert 5.0 < bim.height < 8.0  # two storeys under a pitched roof
    # elements: counts per class equal plain ifcopenshell's; no spaces/openings
    cls = ["IfcWallStandardCase", "IfcSlab", "IfcWindow", "IfcDoor"]
    got = bim.elements["ifc_class"].value_counts()
    assert (
        {c: int(got.get(c, 0)) for c in cls}
        == _counts(shared_data / "ifc" / "AC20-FZK-Haus.ifc", cls)
        == {"IfcWallStandardCase": 13, "IfcSlab": 4, "IfcWindow": 11, "IfcDoor": 5}
    )
    assert (
        not bim.elements["ifc_class"]
        .isin(["IfcSpace", "IfcOpeningElement", "IfcSite"])
        .any()
    )
    # roof faces exist and belong to roof slabs (predefined type ROOF)
    roof_el = bim.elements.loc[
        np.unique(bim.face_element[bim.face_kind == KIND_CODES["roof"]])
    ]
    assert (roof_el["predefined_type"] == "ROOF").any()


def test_duplex_ifc2x3(shared_data):
    path = shared_data / "ifc" / "Duplex_A_20110907.ifc"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GeoreferenceWarning)
        bim = read_ifc(path, scene_crs="EPSG:32616", subtract_openings=False)  # Chicago
    assert bim.schema == "IFC2X3"
    f = ifcopenshell.open(str(path))
    exp = sorted(
        (s.Name, round(s.Elevation, 3)) for s in f.by_type("IfcBuildingStorey")
    )
    got = sorted(
        zip(bim.storeys["name"], bim.storeys["elevation"].round(3), strict=True)
    )
    assert got == exp  # T/FDN -1.25, Level 1 0, Level 2 3.1, Roof 6.0 (RefElevation 0)
    st = bim.storeys.set_index("name")
    assert st.loc["T/FDN", "below_ground"] and not st.loc["Level 1", "below_ground"]
    # footings and foundation-storey elements are below ground: not in the mesh
    el = bim.elements
    assert (el.loc[el["ifc_class"] == "IfcFooting", "above_ground"] == False).all()  # noqa: E712
    assert not el.loc[el["storey"] == "T/FDN", "above_ground"].any()
    assert bim.base_z == pytest.approx(0.0, abs=1e-6)
    # the duplex is about 18 × 11 m with its terraces (plan in the spec sheets)
    assert 150 < bim.footprint.area < 260
    # Level 1 and 2 spaces (10 each) counted through the spatial structure
    assert st.loc["Level 1", "n_spaces"] == 10 and st.loc["Level 2", "n_spaces"] == 10


def test_office_ifc2x3(office, shared_data):
    bim = office
    assert bim.storeys["name"].tolist() == ["Level 1", "Level 2", "Roof"]
    assert bim.storeys["elevation"].tolist() == pytest.approx([0.0, 4.267221, 7.924821])
    walls = (bim.elements["ifc_class"] == "IfcWallStandardCase").sum()
    assert walls == 487  # SOURCES.md, and plain ifcopenshell:
    assert (
        walls
        == _counts(
            shared_data / "ifc" / "Office_A_20110811.ifc", ["IfcWallStandardCase"]
        )["IfcWallStandardCase"]
    )
    # spaces are not building volume, but the floors they bound are: the
    # storeys' space areas (GSA BIM Area) are of the order of the footprint
    assert bim.footprint.area > 1000
    assert bim.storeys["space_area_qto"].max() == pytest.approx(
        bim.footprint.area, rel=0.1
    )
    assert bim.storeys["n_spaces"].sum() == len(
        ifcopenshell.open(str(shared_data / "ifc" / "Office_A_20110811.ifc")).by_type(
            "IfcSpace"
        )
    )


def test_ifcopenhouse_not_georeferenced(shared_data):
    path = shared_data / "ifc" / "IfcOpenHouse_IFC4.ifc"
    bim, msgs = _read(path)
    assert bim.georef["method"] == "none" and bim.crs is None  # no raise
    assert len(bim.storeys) == 1
    assert (bim.elements["ifc_class"] == "IfcWallStandardCase").sum() == 4
    assert bim.mesh.vertices.shape[0] > 0 and bim.footprint.area > 0
    # the footing is below ground and excluded; the house stands on z = 0
    assert not bim.elements.loc[
        bim.elements["ifc_class"] == "IfcFooting", "above_ground"
    ].any()
    assert bim.base_z == pytest.approx(0.0, abs=1e-6)


def test_buildingsmart_georeferencing_example(shared_data):
    """IfcMapConversion E 458658.78, N 5438232.79, H 113.7, XAxis (0.2706, 0.9627),
    EPSG:25832, project in millimetres with no Scale."""
    path = shared_data / "ifc" / "geographic-referencing_IFC4.ifc"
    bim, msgs = _read(path, scene_crs="EPSG:25832")
    assert bim.georef["method"] == "map_conversion"
    assert any("no Scale" in m for m in msgs)
    o = bim.model_to_world([[0.0, 0.0, 0.0]])[0]
    assert o == pytest.approx([458658.78, 5438232.79, 113.7], abs=1e-6)
    # 1 m (1000 mm) along the project x axis → the XAxis direction, 1 m long
    d = bim.model_to_world([[1.0, 0.0, 0.0]])[0] - o
    assert d == pytest.approx([0.270600445976, 0.962691746426, 0.0], abs=1e-9)
    assert bim.georef["rotation_deg"] == pytest.approx(74.3, abs=0.01)
    assert bim.storeys["elevation"].tolist() == pytest.approx([113.7])
    # the same model read in Lambert-93: pyproj reprojection of the map point
    from pyproj import Transformer

    bim93, _ = _read(path)
    exp = Transformer.from_crs(25832, 2154, always_xy=True).transform(
        458658.78, 5438232.79
    )
    assert bim93.model_to_world([[0, 0, 0]])[0][:2] == pytest.approx(exp, abs=1e-6)


def test_describe_real_files(shared_data):
    d = describe(shared_data / "ifc" / "geographic-referencing_IFC4.ifc")
    assert d["schema"] == "IFC4" and d["georeferencing"]["method"] == "map_conversion"
    assert d["georeferencing"]["crs"] == "EPSG:25832"
    assert d["georeferencing"]["eastings"] == pytest.approx(458658.78)
    assert "millimetre" in d["length_unit"]
    d = describe(shared_data / "ifc" / "Duplex_A_20110907.ifc")
    assert d["schema"] == "IFC2X3" and d["counts"]["IfcBuildingStorey"] == 4
    assert d["georeferencing"]["method"].startswith("site_latlon")
    assert d["georeferencing"]["site_latitude"] == pytest.approx(
        41 + 52 / 60 + 27.84 / 3600
    )
    assert [s["name"] for s in d["storeys"]] == ["T/FDN", "Level 1", "Level 2", "Roof"]
    d = describe(shared_data / "ifc" / "IfcOpenHouse_IFC4.ifc")
    assert d["georeferencing"]["method"] == "none"
    assert isinstance(pd.Series(d["counts"]).sum(), np.integer | int)
