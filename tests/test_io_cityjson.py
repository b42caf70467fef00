"""read_cityjson / write_cityjson / describe on the real CityJSON files and on
scenes built from footprints.

Independent references: the object counts of ../shared/data/SOURCES.md; the
data producers' own attributes (Delft ``measuredHeight`` = roof altitude and
``min-height-surface`` = ground altitude, Den Haag ``AbsoluteRidgeHeight`` /
``AbsoluteEavesHeight``, 3D BAG ``h_maaiveld``, Zürich per-object
``geographicalExtent``); the area of the downward faces of LoD1 solids (the
footprint uses the upward ones); cjio (the CityJSON reference tool) re-reading
our output when installed; a structural CityJSON 2.0 check written here from the
specification.
"""

from __future__ import annotations

import json
import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely

import cimcity as cc
from cimcity.errors import CRSError, FileFormatError, InputError
from cimcity.io.cityjson import CityJSONWarning, describe, read_cityjson, write_cityjson

#: coordinates are stored in millimetres in every test file [m]
FILE_PRECISION = 0.001
RD_NEW = "EPSG:28992"  # the undeclared CRS of the Dutch cjio test files

FILES = {
    # name: (read kwargs, {CityObject type: count} from SOURCES.md)
    "cjio_delft.json": (
        {},
        {
            "Building": 160,
            "Road": 143,
            "PlantCover": 126,
            "LandUse": 81,
            "GenericCityObject": 54,
            "Bridge": 3,
            "WaterBody": 3,
        },
    ),
    "cjio_rotterdam_subset.json": ({"crs": RD_NEW}, {"Building": 16}),
    "cjio_DH_01_subs.city.json": ({"crs": RD_NEW}, {"Building": 4, "BuildingPart": 8}),
    "cjio_multi_lod.json": ({"crs": RD_NEW}, {"Building": 10}),
    "cjio_zurich_subset_lod2.json": ({}, {"Building": 49, "BuildingPart": 161}),
}


def _read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CityJSONWarning)
        return read_cityjson(path, **kw)


@pytest.fixture(scope="module")
def delft(shared_data):
    return _read(shared_data / "cityjson" / "cjio_delft.json")


# -- structural validation (CityJSON 2.0 spec, sections 2-4) --------------------------

_DEPTH = {
    "MultiSurface": 3,
    "CompositeSurface": 3,
    "Solid": 4,
    "MultiSolid": 5,
    "CompositeSolid": 5,
}
_SEM_DEPTH = {
    "MultiSurface": 1,
    "CompositeSurface": 1,
    "Solid": 2,
    "MultiSolid": 3,
    "CompositeSolid": 3,
}


def _depth(x):
    d = 0
    while isinstance(x, list):
        if not x:
            return d + 1
        x = x[0]
        d += 1
    return d


def validate_cityjson_2(doc) -> list[str]:
    """Errors against the CityJSON 2.0 structure (empty list: valid)."""
    err = []
    if doc.get("type") != "CityJSON" or doc.get("version") != "2.0":
        err.append("type/version must be CityJSON/2.0")
    tr = doc.get("transform")
    if not tr or len(tr.get("scale", [])) != 3 or len(tr.get("translate", [])) != 3:
        err.append("transform with 3 scale and 3 translate values is mandatory in 2.0")
    V = doc.get("vertices")
    if not isinstance(V, list) or any(
        len(v) != 3 or not all(isinstance(c, int) for c in v) for v in V
    ):
        err.append("vertices must be integer triplets")
    n = len(V or [])
    ref = (doc.get("metadata") or {}).get("referenceSystem")
    if ref is not None and not ref.startswith("https://www.opengis.net/def/crs/"):
        err.append(f"referenceSystem must be an OGC CRS URL: {ref}")
    objs = doc.get("CityObjects", {})
    for oid, o in objs.items():
        if "type" not in o:
            err.append(f"{oid}: no type")
        for p in o.get("parents", []):
            if p not in objs or oid not in objs[p].get("children", []):
                err.append(f"{oid}: parent {p} missing or not linking back")
        for c in o.get("children", []):
            if c not in objs:
                err.append(f"{oid}: child {c} missing")
        for g in o.get("geometry", []):
            t = g.get("type")
            if t == "GeometryInstance":
                continue
            if not isinstance(g.get("lod"), str):
                err.append(f"{oid}: lod must be a string")
            if t in _DEPTH:
                if _depth(g["boundaries"]) != _DEPTH[t]:
                    err.append(
                        f"{oid}: {t} boundaries have depth {_depth(g['boundaries'])}"
                    )
                flat = []
                stack = [g["boundaries"]]
                while stack:
                    x = stack.pop()
                    for y in x:
                        (stack.append(y) if isinstance(y, list) else flat.append(y))
                if flat and (min(flat) < 0 or max(flat) >= n):
                    err.append(f"{oid}: vertex index out of range")
                sem = g.get("semantics")
                if sem is not None:
                    vals = sem["values"]
                    if _depth(vals) != _SEM_DEPTH[t] and any(
                        v is not None for v in np.ravel(vals)
                    ):
                        err.append(f"{oid}: semantics values depth")
                    ns = len(sem["surfaces"])
                    flatv = [
                        v
                        for v in np.ravel(np.asarray(vals, dtype=object))
                        if v is not None
                    ]
                    if any(not (0 <= int(v) < ns) for v in flatv):
                        err.append(f"{oid}: semantic value out of range")
    return err


def _deref(doc):
    """{id: (type, attributes, [(geometry type, lod, coordinates [m], semantics)],
    children, parents)} with coordinates rounded to the file precision."""
    V = np.asarray(doc["vertices"], float)
    if doc.get("transform"):
        V = V * doc["transform"]["scale"] + doc["transform"]["translate"]
    V = np.round(V / FILE_PRECISION).astype(np.int64)

    def m(b):
        if isinstance(b, list) and b and not isinstance(b[0], list):
            return [tuple(V[i]) for i in b]
        return [m(x) for x in b]

    return {
        oid: (
            o["type"],
            o.get("attributes"),
            [
                (g["type"], str(g["lod"]), m(g["boundaries"]), g.get("semantics"))
                for g in o.get("geometry", [])
            ],
            sorted(o.get("children", [])),
            sorted(o.get("parents", [])),
        )
        for oid, o in doc["CityObjects"].items()
    }


# -- reading the real files -----------------------------------------------------------


@pytest.mark.parametrize("name", list(FILES))
def test_counts_crs_and_exact_round_trip(shared_data, tmp_path, name, request):
    kw, counts = FILES[name]
    path = shared_data / "cityjson" / name
    src = json.loads(path.read_text())
    scene = (
        request.getfixturevalue("delft")
        if name == "cjio_delft.json"
        else _read(path, **kw)
    )
    n_buildings = counts["Building"]
    assert len(scene.buildings) == n_buildings
    assert (scene.buildings["height"] > 0).all()
    assert (scene.buildings["height_source"] == "geometry").all()
    assert scene.buildings.geometry.is_valid.all()
    others = {t: c for t, c in counts.items() if t not in ("Building", "BuildingPart")}
    unlayered = scene.meta["cityjson"]["unlayered"]
    for t, c in others.items():
        n_layer = len(scene.layers.get(t, []))
        n_none = sum(src["CityObjects"][i]["type"] == t for i in unlayered)
        assert n_layer + n_none == c, t
    # description agrees with SOURCES.md
    d = describe(path)
    assert d["counts"] == counts and d["version"] == src["version"]
    # round trip: every object, attribute, geometry (to the mm), semantics, links
    out = write_cityjson(scene, tmp_path / "out.city.json")
    doc = json.loads(out.read_text())
    assert validate_cityjson_2(doc) == []
    assert _deref(doc) == _deref(src)
    assert doc["transform"]["scale"] == src["transform"]["scale"]


def test_delft(delft):
    s = delft
    assert s.crs.to_epsg() == 28992  # EPSG:7415 = RD New + NAP height
    assert s.vertical_datum == "NAP height"
    b = s.buildings
    assert b["lod"].eq(1.0).all() and b["cityjson_lod"].eq("1").all()
    # the BGT attributes are kept as columns
    for col in ("identificatiebagpnd", "bgt_status", "measuredHeight"):
        assert col in b.columns
    # data producer's attributes: measuredHeight is the roof altitude and
    # min-height-surface the ground altitude (NAP) → same as our geometry, to 1e-9 m
    assert np.allclose(b["roof_z"], b["measuredHeight"].astype(float), atol=1e-9)
    assert np.allclose(b["ground_z"], b["min-height-surface"].astype(float), atol=1e-9)
    assert s.summary()["height_sources"] == {"geometry": 160}


def test_delft_footprints_equal_the_wall_bases(shared_data, delft):
    """The Delft LoD1 'solids' have no base faces; their walls' bottom edges
    (edges of vertical faces at the ground altitude), turned into an area by
    shapely.build_area (even-odd, so wall-bounded holes stay holes), give the
    outline independently of the roof faces the reader projects."""
    src = json.loads((shared_data / "cityjson" / "cjio_delft.json").read_text())
    V = (
        np.asarray(src["vertices"], float) * src["transform"]["scale"]
        + src["transform"]["translate"]
    )
    worst = 0.0
    for bid, fp in delft.buildings.geometry.items():
        z0 = delft.buildings.loc[bid, "ground_z"]
        edges = []
        for shell in src["CityObjects"][bid]["geometry"][0]["boundaries"]:
            for surf in shell:
                r = V[surf[0]]
                n = np.cross(r[1:-1] - r[0], r[2:] - r[0]).sum(axis=0)
                if abs(n[2]) > 0.01 * np.linalg.norm(n):
                    continue  # not a wall
                for a, b in zip(r, np.roll(r, -1, axis=0), strict=True):
                    if abs(a[2] - z0) < 1e-6 and abs(b[2] - z0) < 1e-6:
                        edges.append(shapely.LineString([a[:2], b[:2]]))
        outline = shapely.build_area(shapely.union_all(edges))  # even-odd: holes kept
        worst = max(worst, abs(outline.area - fp.area) / outline.area)
    # mm coordinates and the reader's 5 mm closing: < 0.5 % for every building
    assert worst < 0.005


def test_den_haag_parts_and_producer_heights(shared_data):
    path = shared_data / "cityjson" / "cjio_DH_01_subs.city.json"
    s = _read(path, crs=RD_NEW)
    assert len(s.buildings) == 4  # 8 BuildingParts merged into their 4 buildings
    assert s.buildings.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    b = s.buildings.dropna(subset=["AbsoluteRidgeHeight"])
    assert len(b) == 1
    # Den Haag 3D model: ridge and eaves altitudes given by the producer (1 mm)
    assert np.allclose(
        b["roof_z"], b["AbsoluteRidgeHeight"].astype(float), atol=FILE_PRECISION
    )
    assert np.allclose(
        b["eave_z"], b["AbsoluteEavesHeight"].astype(float), atol=FILE_PRECISION
    )
    # parts kept as buildings of their own, linked to their parent
    k = _read(path, crs=RD_NEW, parts="keep")
    assert (k.buildings["cityjson_type"] == "BuildingPart").sum() == 8
    parts = k.buildings[k.buildings["cityjson_type"] == "BuildingPart"]
    assert parts["parent_id"].isin(s.buildings.index).all()
    # merged footprint = union of the kept parts (and own geometry), to 1 m²
    for bid, fp in s.buildings.geometry.items():
        mine = k.buildings[
            (k.buildings.index == bid) | (k.buildings["parent_id"] == bid)
        ]
        assert abs(shapely.union_all(mine.geometry.values).area - fp.area) < 1.0


def test_multi_lod_selection(shared_data):
    path = shared_data / "cityjson" / "cjio_multi_lod.json"
    top = _read(path, crs=RD_NEW)
    assert top.buildings["cityjson_lod"].eq("2.2").all()  # highest by default
    # 3D BAG h_maaiveld is the ground altitude the reconstruction used
    assert np.allclose(
        top.buildings["ground_z"],
        top.buildings["h_maaiveld"].astype(float),
        atol=FILE_PRECISION,
    )
    for lod in ("1.2", "1.3", 1.2):
        s = _read(path, crs=RD_NEW, lod=lod)
        assert s.buildings["cityjson_lod"].eq(str(lod)).all()
        assert s.buildings["eave_z"].isna().all()  # LoD1.x: flat blocks
    s2 = _read(path, crs=RD_NEW, lod=2)  # "2" = the highest 2.x
    assert s2.buildings["cityjson_lod"].eq("2.2").all()
    assert top.buildings["eave_z"].notna().sum() >= 5  # slanted roofs at LoD2.2
    with pytest.warns(CityJSONWarning, match="no LoD"):
        read_cityjson(path, crs=RD_NEW, lod="3")
    assert describe(path)["lods"] == {"1.2": 10, "1.3": 10, "2.2": 10}


def test_zurich_building_parts_match_object_extents(shared_data):
    path = shared_data / "cityjson" / "cjio_zurich_subset_lod2.json"
    src = json.loads(path.read_text())
    s = _read(path)
    assert s.crs.to_epsg() == 2056
    ext = np.array(
        [src["CityObjects"][i]["geographicalExtent"] for i in s.buildings.index]
    )
    b = s.buildings
    # extents written by the producer, rounded to the mm
    assert np.allclose(b["ground_z"], ext[:, 2], atol=1.5 * FILE_PRECISION)
    assert np.allclose(b["roof_z"], ext[:, 5], atol=1.5 * FILE_PRECISION)
    bb = b.geometry.bounds.to_numpy()
    assert np.allclose(bb, ext[:, [0, 1, 3, 4]], atol=1.5 * FILE_PRECISION + 0.005)


def test_rotterdam_needs_a_crs(shared_data):
    path = shared_data / "cityjson" / "cjio_rotterdam_subset.json"
    with pytest.raises(CRSError, match="crs='EPSG:28992'"):
        read_cityjson(path)
    s = _read(path, crs=RD_NEW)
    # LoD2 with semantics: the GroundSurface polygons lie inside the footprint
    src = json.loads(path.read_text())
    V = (
        np.asarray(src["vertices"], float) * src["transform"]["scale"]
        + src["transform"]["translate"]
    )
    for bid, fp in s.buildings.geometry.items():
        g = src["CityObjects"][bid]["geometry"][0]
        kinds = [x["type"] for x in g["semantics"]["surfaces"]]
        for surf, v in zip(g["boundaries"], g["semantics"]["values"], strict=True):
            if v is not None and kinds[v] == "GroundSurface":
                ground = shapely.Polygon(V[surf[0]][:, :2])
                assert fp.buffer(0.01).contains(ground)


def test_cjio_reads_what_we_write(shared_data, tmp_path, delft, monkeypatch):
    """The reference tool parses our CityJSON 2.0 and finds the same objects."""
    import json.encoder

    # importing cjio replaces the json module's float encoder for the whole
    # process (6 significant digits): pyproj's JSON round trips, hence
    # geopandas' GeoParquet CRS, then drift by ~90 m; put it back afterwards
    monkeypatch.setattr(json.encoder, "c_make_encoder", json.encoder.c_make_encoder)
    monkeypatch.setattr(json.encoder, "float", float, raising=False)
    cjio = pytest.importorskip("cjio.cityjson")
    out = write_cityjson(delft, tmp_path / "delft.city.json")
    with open(out) as fh:
        cm = cjio.reader(fh)
    assert cm.get_version() == "2.0"
    assert cm.get_epsg() == 7415
    types = [o["type"] for o in cm.j["CityObjects"].values()]
    assert types.count("Building") == 160 and types.count("Road") == 143


# -- scenes built from footprints ------------------------------------------------------

X0, Y0 = 649_800.0, 6_865_400.0


def _scene():
    o = shapely.box(X0, Y0, X0 + 40, Y0 + 40)
    courtyard = o.difference(shapely.box(X0 + 12, Y0 + 12, X0 + 28, Y0 + 28))
    geoms = [
        shapely.box(X0 + 100, Y0, X0 + 120, Y0 + 10),
        courtyard,
        shapely.MultiPolygon(
            [
                shapely.box(X0 + 200, Y0, X0 + 210, Y0 + 10),
                shapely.box(X0 + 220, Y0, X0 + 230, Y0 + 10),
            ]
        ),
        shapely.box(X0 + 300, Y0, X0 + 320, Y0 + 12),
    ]
    g = gpd.GeoDataFrame(
        {
            "height": [20.0, 25.0, 9.0, 18.0],
            "ground_z": 35.0,
            "eave_z": [np.nan, np.nan, np.nan, 47.0],  # the last one has a mansard
            "storeys": [6, np.nan, 3, 5],
            "usage": ["logement", "bureau", None, "logement"],
            "annee": [1900, 1975, 2001, 1880],
        },
        geometry=geoms,
        crs="EPSG:2154",
    )
    s = cc.Scene()
    s.add_buildings(g)
    return s


def test_scene_to_cityjson_and_back(tmp_path):
    s = _scene()
    out = s.to_cityjson(tmp_path / "scene.city.json")
    doc = json.loads(out.read_text())
    assert validate_cityjson_2(doc) == []
    assert (
        doc["metadata"]["referenceSystem"]
        == "https://www.opengis.net/def/crs/EPSG/0/2154"
    )
    objs = doc["CityObjects"]
    assert [objs[i]["geometry"][0]["type"] for i in s.buildings.index] == [
        "Solid",
        "Solid",
        "MultiSolid",
        "Solid",
    ]
    # semantics: one ground, one roof per flat LoD1 part; walls = ring edges
    g = objs[s.buildings.index[1]]["geometry"][0]
    vals = g["semantics"]["values"][0]
    assert (
        vals.count(0) == 1 and vals.count(2) == 1 and vals.count(1) == 8
    )  # 4 + 4 edges
    # measuredHeight written; the estimated storey count is not
    assert objs[s.buildings.index[1]]["attributes"]["measuredHeight"] == 25.0
    assert "storeysAboveGround" not in objs[s.buildings.index[1]]["attributes"]
    assert objs[s.buildings.index[0]]["attributes"]["storeysAboveGround"] == 6
    back = _read(out)
    B1, B2 = s.buildings, back.buildings
    assert list(B2.index) == list(B1.index)
    for bid in B1.index:
        # footprints (courtyard hole, two-part MultiPolygon) to the mm
        assert B1.geometry[bid].symmetric_difference(B2.geometry[bid]).area < 1e-6
    for col in ("ground_z", "roof_z", "height", "storeys"):
        assert np.allclose(B1[col], B2[col], atol=FILE_PRECISION), col
    # mansard: eave from the sloped roof triangles of scene.mesh()
    assert B2["eave_z"].iloc[3] == pytest.approx(47.0, abs=FILE_PRECISION)
    assert B2["eave_z"].iloc[:3].isna().all()
    assert B2["usage"].tolist()[:2] == ["logement", "bureau"]
    assert B2["annee"].tolist() == [1900, 1975, 2001, 1880]
    # ... and the re-read scene writes the same file content again
    again = json.loads(write_cityjson(back, tmp_path / "again.json").read_text())
    assert _deref(again) == _deref(doc)


def test_edited_attributes_and_new_columns_are_written(shared_data, tmp_path):
    s = _read(shared_data / "cityjson" / "cjio_multi_lod.json", crs=RD_NEW)
    b = s.buildings
    first = b.index[0]
    b.loc[first, "dak_type"] = "flat"
    b["solar_kwh"] = np.arange(len(b), dtype=float)
    doc = json.loads(write_cityjson(s, tmp_path / "x.json").read_text())
    a = doc["CityObjects"][first]["attributes"]
    assert a["dak_type"] == "flat" and a["solar_kwh"] == 0.0
    assert a["oorspronkelijk_bouwjaar"] == 1965 and isinstance(
        a["oorspronkelijk_bouwjaar"], int
    )


def test_clipped_and_project_scenes(shared_data, tmp_path, delft):
    from cimcity.datasets.ifc_writer import write_project_ifc
    from cimcity.io.ifc import read_ifc

    # clipping keeps only what is left (and their links stay consistent)
    b = delft.buildings.total_bounds
    half = delft.clip((b[0], b[1], (b[0] + b[2]) / 2, b[3]))
    doc = json.loads(write_cityjson(half, tmp_path / "half.json").read_text())
    assert validate_cityjson_2(doc) == []
    n = sum(o["type"] == "Building" for o in doc["CityObjects"].values())
    assert n == len(half.buildings) < 160
    # a BIM project in a footprint scene is written as a MultiSurface with semantics
    s = _scene()
    path = write_project_ifc(
        tmp_path / "p.ifc", [(0, 0), (15, 0), (15, 10), (0, 10)], [3.0, 3.0]
    )
    bim = read_ifc(path, placement=(X0 + 400, Y0, 35.0, 0.0))
    after = s.with_project(bim)
    doc = json.loads(after.to_cityjson(tmp_path / "after.json").read_text())
    assert validate_cityjson_2(doc) == []
    g = doc["CityObjects"][bim.id]["geometry"][0]
    assert g["type"] == "MultiSurface" and g["lod"] == "3"
    kinds = {g["semantics"]["surfaces"][v]["type"] for v in g["semantics"]["values"]}
    assert kinds == {"GroundSurface", "WallSurface", "RoofSurface"}


# -- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, match",
    [
        ("", "empty"),
        ('{"type": "CityJSON", "version": "2.0", "CityObj', "cannot parse"),
        ('{"type": "FeatureCollection", "features": []}', "not a CityJSON file"),
        (
            '{"type": "CityJSON", "version": "0.9", "CityObjects": {}, "vertices": []}',
            "version '0.9'",
        ),
        ('{"type": "CityJSON", "version": "2.0", "vertices": []}', "no 'CityObjects'"),
    ],
)
def test_bad_files(tmp_path, content, match):
    p = tmp_path / "bad.city.json"
    p.write_text(content)
    with pytest.raises(FileFormatError, match=match) as e:
        read_cityjson(p, crs="EPSG:2154")
    assert "bad.city.json" in str(e.value)


def test_bad_vertex_index_and_crs(tmp_path):
    doc = {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [0.001] * 3, "translate": [650000.0, 6860000.0, 0.0]},
        "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/2154"},
        "CityObjects": {
            "b": {
                "type": "Building",
                "geometry": [
                    {"type": "MultiSurface", "lod": "1", "boundaries": [[[0, 1, 7]]]}
                ],
            }
        },
        "vertices": [[0, 0, 0], [1000, 0, 0], [0, 1000, 0]],
    }
    p = tmp_path / "idx.json"
    p.write_text(json.dumps(doc))
    # the message names the file, the object and the bad index (issue 17)
    with pytest.raises(
        FileFormatError, match=r"idx.json.*object 'b' refers to vertex 7, outside the 3"
    ):
        read_cityjson(p)
    doc["CityObjects"]["b"]["geometry"][0]["boundaries"] = [[[0, 1, 2]]]
    doc["metadata"]["referenceSystem"] = "https://www.opengis.net/def/crs/EPSG/0/4326"
    p.write_text(json.dumps(doc))
    with pytest.raises(CRSError, match="not projected"):
        read_cityjson(p)
    with pytest.raises(InputError, match="parts"):
        read_cityjson(p, crs="EPSG:2154", parts="drop")
    with pytest.raises(InputError, match="precision"):
        write_cityjson(_scene(), tmp_path / "x.json", precision=0)


# -- original geometry as a mesh ------------------------------------------------------


def _polygon_area(V, surface):
    """Area of a planar 3D polygon with holes (Newell's method) [m²]."""

    def ring_area(idx):
        r = V[idx]
        return np.linalg.norm(np.cross(r, np.roll(r, -1, axis=0)).sum(axis=0)) / 2

    return ring_area(surface[0]) - sum(ring_area(h) for h in surface[1:])


@pytest.mark.parametrize(
    "name, kw",
    [
        ("cjio_zurich_subset_lod2.json", {}),
        ("cjio_rotterdam_subset.json", {"crs": RD_NEW}),
    ],
)
def test_cityjson_mesh_keeps_semantic_areas(shared_data, name, kw):
    """Triangulated Roof/Wall/GroundSurface areas equal the source polygons'
    areas (Newell, holes subtracted) to 1e-6: the triangulation neither drops
    nor adds surface."""
    from cimcity.io.cityjson import cityjson_mesh
    from cimcity.mesh import KIND_CODES

    path = shared_data / "cityjson" / name
    src = json.loads(path.read_text())
    V = (
        np.asarray(src["vertices"], float) * src["transform"]["scale"]
        + src["transform"]["translate"]
    )
    expected = {"RoofSurface": 0.0, "WallSurface": 0.0, "GroundSurface": 0.0}
    for o in src["CityObjects"].values():
        for g in o.get("geometry", []):
            types = [x["type"] for x in g["semantics"]["surfaces"]]
            for surf, v in zip(g["boundaries"], g["semantics"]["values"], strict=True):
                if v is not None and types[v] in expected:
                    expected[types[v]] += _polygon_area(V, surf)
    scene = _read(path, **kw)
    m = cityjson_mesh(scene)
    a = m.face_areas
    for sem, kind in (
        ("RoofSurface", "roof"),
        ("WallSurface", "wall"),
        ("GroundSurface", "base"),
    ):
        got = a[m.face_kind == KIND_CODES[kind]].sum()
        assert got == pytest.approx(expected[sem], rel=1e-6), sem
    assert set(m.building_ids) == set(scene.buildings.index)
    assert (m.face_building >= 0).all()


def test_cityjson_mesh_delft_roofs_cover_the_footprints(delft):
    from cimcity.io.cityjson import cityjson_mesh
    from cimcity.mesh import KIND_CODES

    m = cityjson_mesh(delft)
    roof = m.face_kind == KIND_CODES["roof"]
    # LoD1 blocks: flat roofs (normals up) whose area is the footprint area
    assert np.allclose(m.face_normals[roof][:, 2], 1.0, atol=1e-6)
    per = np.bincount(
        m.face_building[roof], weights=m.face_areas[roof], minlength=len(m.building_ids)
    )
    fp = delft.buildings.geometry.area.reindex(m.building_ids).to_numpy()
    assert per == pytest.approx(fp, rel=1e-3)
    with pytest.raises(InputError, match="not read from CityJSON"):
        cityjson_mesh(_scene())
