"""Acceptance on real data: readers into scenes, with facts from the files.

- every data file of ``../shared/data`` is read by some test of the suite;
- the Etalab cadastre of Paris 18e: count, ids, areas against ``contenance``;
- the Berlin CityGML 2.0 building: id, measuredHeight, ground and footprint
  against the GML parsed independently with the standard library;
- Gennes (25267): parcels, PLU zones, buildings and roads in one Scene.
"""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely

import cimcity as cc

pytestmark = pytest.mark.realdata

TESTS = Path(__file__).resolve().parents[1]
#: sidecar files of a shapefile (read with their .shp)
SIDECARS = {".shx", ".dbf", ".prj", ".cpg"}
#: files in ../shared/data that are not data (provenance, GDAL's side files)
NOT_DATA = {".md", ".gfs"}


def test_every_real_data_file_is_read_by_a_test(shared_data):
    # Guard: a file added to ../shared/data without a test fails here. A file
    # counts as read when its name appears in a test module of tests/.
    modules = [*TESTS.rglob("test_*.py"), *TESTS.rglob("conftest.py")]
    text = "\n".join(p.read_text(encoding="utf-8") for p in modules)
    files = [
        p for p in shared_data.rglob("*")
        if p.is_file() and p.suffix not in SIDECARS | NOT_DATA
    ]  # fmt: skip
    assert len(files) >= 30
    unread = sorted(
        str(p.relative_to(shared_data)) for p in files if p.name not in text
    )
    assert unread == []


def test_etalab_cadastre_paris18_counts_ids_and_areas(data_file):
    # Facts from the file: 6,821 parcels, the ids of the GeoJSON kept as
    # parcel ids, and the Lambert-93 area against the legal area `contenance`.
    # Tolerance from the file itself: the drawn parcel and the legal area of
    # the DGFiP differ (median ratio 0.99994); at least 97 % of the parcels
    # are within 5 % of their contenance and the median within 0.1 %.
    path = data_file("france/cadastre-75118-parcelles.json")
    raw = pyogrio.read_dataframe(path, read_geometry=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parcels = cc.read_cadastre(path)
    assert len(parcels) == len(raw) == 6821
    assert parcels.crs.to_epsg() == 2154
    assert parcels["id"].is_unique
    assert list(parcels["id"]) == list(raw["id"])
    assert parcels["id"].str.startswith("75118").all()
    ratio = parcels.geometry.area.to_numpy() / raw["contenance"].to_numpy(float)
    assert np.median(ratio) == pytest.approx(1.0, abs=1e-3)
    assert np.mean(np.abs(ratio - 1) < 0.05) >= 0.97
    # a Scene keeps the cadastral ids
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scene = cc.Scene().add_parcels(parcels.iloc[:200])
    assert list(scene.parcels.index) == list(parcels["id"].iloc[:200])


def _gml_facts(path: Path) -> dict:
    """The building of a CityGML 2.0 file, parsed with ElementTree."""
    ns = {
        "bldg": "http://www.opengis.net/citygml/building/2.0",
        "gml": "http://www.opengis.net/gml",
    }
    root = ET.parse(path).getroot()
    (bldg,) = root.iter(f"{{{ns['bldg']}}}Building")
    ground = bldg.find(".//bldg:GroundSurface//gml:posList", ns)
    xyz = np.asarray(ground.text.split(), float).reshape(-1, 3)
    srs = root.find(".//gml:Envelope", ns).get("srsName")
    return {
        "id": bldg.get(f"{{{ns['gml']}}}id"),
        "measured_height": float(bldg.find("bldg:measuredHeight", ns).text),
        "ground_z": xyz[:, 2].min(),
        "footprint": shapely.Polygon(xyz[:, :2]),
        "epsg": [int(e) for e in re.findall(r"EPSG:[\d.]+:(\d+)", srs)],
        "roof_z": max(
            float(v)
            for pl in bldg.findall(".//bldg:RoofSurface//gml:posList", ns)
            for v in pl.text.split()[2::3]
        ),
    }


def test_berlin_citygml_building(data_file):
    # Facts from the GML itself (ElementTree): gml:id, bldg:measuredHeight
    # 4.08551 m, ground at 33.05 m DHHN92, roof at 37.14 m, EPSG:25833 + 5783,
    # footprint area of the GroundSurface (tolerance 1e-6 m², same vertices).
    path = data_file("cityjson/Berlin_Moabit_1Bldg_citygml2.gml")
    ref = _gml_facts(path)
    assert ref["epsg"] == [25833, 5783]
    # what `cimcity info` reports
    d = cc.describe(path)
    assert d["kind"] == "citygml" and d["version"] == "2.0"
    assert d["crs"] == "EPSG:25833" and d["vertical_crs"] == "EPSG:5783"
    assert d["buildings"] == 1 and d["problems"] == []
    (row,) = d["building_list"]
    assert row["id"] == ref["id"]
    assert row["height_m"] == pytest.approx(ref["measured_height"], abs=1e-3)
    # the reader, into a scene
    from cimcity.io.citygml import read_citygml

    b = read_citygml(path)
    assert b.crs.to_epsg() == 25833
    assert list(b.index) == [ref["id"]]
    assert b["height"].iloc[0] == pytest.approx(ref["measured_height"], abs=1e-9)
    assert b["ground_z"].iloc[0] == pytest.approx(ref["ground_z"], abs=1e-6)
    assert b["roof_z"].iloc[0] == pytest.approx(ref["roof_z"], abs=1e-6)
    assert b.geometry.iloc[0].area == pytest.approx(ref["footprint"].area, abs=1e-6)
    scene = cc.Scene(crs="EPSG:25833").add_buildings(b)
    assert list(scene.buildings.index) == [ref["id"]]
    assert scene.buildings["height"].iloc[0] == pytest.approx(4.08551, abs=1e-9)


def test_gennes_parcels_zones_buildings_roads_in_one_scene(data_file):
    # Facts from the four Gennes files (SOURCES.md, checked on the raw files):
    # 851 parcels, 26 PLU zones (U 4, AU 6, A 5, N 11; one N zone has no
    # geometry: dropped with a warning naming it), 325 buildings without
    # heights (all NULL: estimated and flagged, never taken as data) and 182
    # road segments, all Lambert-93 and overlapping.
    d = "france/gennes25267_"
    with pytest.warns(cc.errors.DataQualityWarning, match="dropped 1 of 26 features"):
        zones = cc.read_plu(data_file(d + "zoning_plu.gpkg"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parcels = cc.read_cadastre(data_file(d + "parcel.gpkg"))
        buildings = cc.read_buildings(data_file(d + "building.gpkg"))
        roads = pyogrio.read_dataframe(data_file(d + "road.gpkg"))
        scene = (
            cc.Scene()
            .add_parcels(parcels)
            .add_zones(zones)
            .add_buildings(buildings)
            .add_layer("roads", roads)
        )
    assert len(scene.parcels) == 851
    assert len(scene.zones) == 25
    assert len(scene.buildings) == 325
    assert len(scene.layers["roads"]) == 182
    raw_zones = pyogrio.read_dataframe(
        data_file(d + "zoning_plu.gpkg"), read_geometry=False
    )
    assert raw_zones["TYPEZONE"].value_counts().to_dict() == {
        "N": 11,
        "AU": 6,
        "A": 5,
        "U": 4,
    }
    geom = pyogrio.read_dataframe(data_file(d + "zoning_plu.gpkg")).geometry
    no_geom = geom.isna() | geom.is_empty
    assert int(no_geom.sum()) == 1
    assert (scene.buildings["height_source"] == "default").all()
    # every building stands on a parcel and in a zone of the same area
    assert scene.buildings["parcel_id"].notna().mean() > 0.95
    assert scene.buildings["zone_id"].notna().mean() > 0.95
    box = shapely.box(*scene.parcels.total_bounds)
    assert box.intersects(shapely.box(*roads.total_bounds))
    assert box.contains(shapely.box(*scene.buildings.total_bounds).buffer(-1))
