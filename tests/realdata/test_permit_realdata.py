"""Permit checks on real files: the reproductions of issue 17 (placement,
vertical frame of the neighbour impact, street frontage from BD TOPO roads,
report parts that fail).

References next to each test: shapely / pyproj (Geod, WGS84) for distances,
the files' own values (BD TOPO ``LARGEUR``, ``NOM_VOIE_G``, parcel ids), the
sun's direction (shadows point away from the sun: north at noon in Paris).
"""

from __future__ import annotations

import json
import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

import cimcity as cc
from cimcity import permit
from cimcity.cli import main as cli_main
from cimcity.errors import DataQualityWarning, GeoreferenceError

pytestmark = pytest.mark.realdata

RULES = "data/samples/paris/plu_rules.toml"
PARCEL = "75118000AJ0020"
# FZK-Haus on parcel 75118000AJ0020 (its centroid, Lambert-93) at 45 m NGF
ON_AJ0020 = (650987.7, 6865899.5, 45.0, 0.0)
KM = 1000.0


@pytest.fixture(scope="module")
def paris18(shared_data):
    """The Paris 18e cadastre, one UG zone over it (sample rule pack)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    rules = cc.read_rules(root / RULES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        P = cc.read_cadastre(
            shared_data / "france" / "cadastre-75118-parcelles.json", crs="EPSG:2154"
        )
    zone = gpd.GeoDataFrame(
        {"libelle": ["UG"]},
        geometry=[shapely.box(*P.total_bounds).buffer(50.0)],
        crs="EPSG:2154",
    )
    return P, zone, rules, root


def scene18(paris18, dem_z=None, buildings=None):
    P, zone, rules, _ = paris18
    s = cc.Scene(crs="EPSG:2154")
    s.add_parcels(P)
    s.add_zones(zone, rules=rules)
    if dem_z is not None:
        x0, y0, x1, y1 = s.parcels.geometry[PARCEL].buffer(250.0).bounds
        nx, ny = int(x1 - x0), int(y1 - y0)
        s.add_terrain(cc.Terrain.from_array(np.full((ny, nx), dem_z), (x0, y1), 1.0))
    if buildings is not None:
        s.add_buildings(buildings)
    return s


def _cli(paris18, tmp_path, ifc, *extra):
    P, zone, _, root = paris18
    data = ifc.parents[1]
    z = tmp_path / "ug.gpkg"
    zone.to_file(z)
    out = tmp_path / "r.html"
    args = [
        "check",
        str(ifc),
        "--parcels",
        str(data / "france" / "cadastre-75118-parcelles.json"),
        "--zones",
        str(z),
        "--rules",
        str(root / RULES),
        "--out",
        str(out),
        "--no-images",
        "--no-impact",
        *extra,
    ]
    return cli_main(args), out


# ---------------------------------------------------------------------------------
# 1. placement is checked before anything is judged
# ---------------------------------------------------------------------------------
def test_fzk_placed_in_karlsruhe_is_refused_with_its_distance(
    paris18, shared_data, tmp_path, capsys
):
    # old behaviour: no parcel under it, 0 rules checked, green banner, exit 0
    s = scene18(paris18)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bim = permit.read_project(shared_data / "ifc" / "AC20-FZK-Haus.ifc", s)
    assert bim.georef["method"] == "site_latlon"
    # reference: shapely distance from the placed footprint to every parcel
    d_ref = float(shapely.distance(s.parcels.geometry.values, bim.footprint).min())
    assert 400 * KM < d_ref < 500 * KM  # Karlsruhe - Paris 18e
    with pytest.raises(GeoreferenceError) as e:
        permit.check(bim, s, impact=False)
    msg = str(e.value)
    assert f"{d_ref / KM:,.1f} km from the nearest parcel" in msg
    assert "placement=(x, y, z, rotation_deg)" in msg and "--placement" in msg
    code, out = _cli(paris18, tmp_path, shared_data / "ifc" / "AC20-FZK-Haus.ifc")
    err = capsys.readouterr().err.strip()
    assert code == 2 and not out.exists()
    assert len(err.splitlines()) == 1 and "km from the nearest parcel" in err
    assert "--placement" in err


def test_duplex_in_chicago_is_refused_the_same_way(
    paris18, shared_data, tmp_path, capsys
):
    # old behaviour: read unplaced, rows not_checkable, no distance, no --placement
    s = scene18(paris18)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(GeoreferenceError) as e:
            permit.read_project(shared_data / "ifc" / "Duplex_A_20110907.ifc", s)
    msg = str(e.value)
    # reference: WGS84 geodesic from the IfcSite (41°52'27.84", -87°38'21.84",
    # SOURCES.md) to the centre of the scene
    lon0, lat0 = _centre_lonlat(s)
    _, _, d = Geod(ellps="WGS84").inv(lon0, lat0, -87.6394, 41.8744)
    assert f"{d / KM:,.1f} km from the scene" in msg
    assert "np.float64" not in msg and "--placement" in msg
    code, out = _cli(paris18, tmp_path, shared_data / "ifc" / "Duplex_A_20110907.ifc")
    err = capsys.readouterr().err.strip()
    assert code == 2 and not out.exists()
    assert len(err.splitlines()) == 1 and "km from the scene" in err


def _centre_lonlat(s):
    from pyproj import Transformer

    b = s.bounds
    t = Transformer.from_crs(s.crs, "EPSG:4326", always_xy=True)
    return t.transform((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)


def test_base_far_from_the_dem_is_refused(paris18, shared_data):
    # a placement at z = 0 over ground at 45 m NGF: heights would be 45 m off
    s = scene18(paris18, dem_z=45.0)
    x, y, _, rot = ON_AJ0020
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bim = permit.read_project(
            shared_data / "ifc" / "AC20-FZK-Haus.ifc", s, placement=(x, y, 0.0, rot)
        )
    with pytest.raises(GeoreferenceError, match=r"base at 0\.00 m .*45\.00 and 45\.00"):
        permit.check(bim, s, impact=False)


# ---------------------------------------------------------------------------------
# 2-3. the neighbour impact: unknown is not a pass; one vertical frame
# ---------------------------------------------------------------------------------
def _fzk_on_aj0020(s, shared_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return permit.read_project(
            shared_data / "ifc" / "AC20-FZK-Haus.ifc", s, placement=ON_AJ0020
        )


def _impact_row(r):
    R = r.results
    return R[R["rule"] == "neighbour_sun_hours"].iloc[0]


def test_impact_without_dem_or_buildings_is_measured_on_the_project_base(
    paris18, shared_data
):
    # old behaviour: ground sensors at z = 0.05 m under a project at 45 m NGF,
    # its shadow far away: "PASS: no neighbour loses sun"
    s0 = scene18(paris18)
    bim = _fzk_on_aj0020(s0, shared_data)
    with pytest.warns(DataQualityWarning) as rec:
        r0 = permit.check(bim, s0, when=["2024-12-21"])
    text = " ".join(str(w.message) for w in rec)
    assert "no buildings layer" in text and "no terrain layer" in text
    row0 = _impact_row(r0)
    assert row0["status"] == "maybe"
    assert "flat at the project's base (45.00 m)" in row0["explanation"]
    assert "facades are unknown" in row0["explanation"]
    # the same project on a flat DEM at 45 m NGF: the same losses
    s1 = scene18(paris18, dem_z=45.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r1 = permit.check(bim, s1, when=["2024-12-21"])
    t0 = r0.impact.set_index("receiver")["lost_h"]
    t1 = r1.impact.set_index("receiver")["lost_h"]
    assert set(t0.index) == set(t1.index) and len(t0)
    np.testing.assert_allclose(t0.loc[t1.index], t1, atol=0.02)  # [h]
    # physics: on 21 December the sun stays south (azimuth 127°-233°), so every
    # open space that loses sun has points north of the project's south edge
    worst = t1.idxmax()
    assert worst.startswith("open space of parcel 75118")
    pid = worst.rsplit(" ", 1)[1]
    assert s1.parcels.geometry[pid].bounds[3] > bim.footprint.bounds[1]
    assert 0.5 < t1.max() < 8.2  # [h]: a loss, at most the day length


def test_impact_refused_across_vertical_frames(paris18, shared_data):
    # a neighbour whose ground altitude is 0 m (known) next to a project at 45 m,
    # no DEM: the shadows would be compared in two frames
    s = scene18(paris18)
    x, y = ON_AJ0020[:2]
    nb = gpd.GeoDataFrame(
        {"height": [12.0], "ground_z": [0.0]},
        geometry=[shapely.box(x + 20, y - 5, x + 30, y + 5)],
        crs="EPSG:2154",
    )
    s.add_buildings(nb)
    bim = _fzk_on_aj0020(s, shared_data)
    with pytest.warns(DataQualityWarning, match="two vertical frames"):
        r = permit.check(bim, s, when=["2024-12-21"])
    row = _impact_row(r)
    assert row["status"] == "not_checkable"
    assert "45.00 m" in row["explanation"] and "0.00 and 0.00 m" in row["explanation"]


# ---------------------------------------------------------------------------------
# 5. street frontage from the roads layer
# ---------------------------------------------------------------------------------
def test_gennes_frontage_from_a_bd_topo_road(shared_data):
    fr = shared_data / "france"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        G = cc.read_cadastre(fr / "gennes25267_parcel.gpkg", crs="EPSG:2154")
    s = cc.Scene(crs="EPSG:2154")
    s.add_parcels(G)
    pid = "25267000AA0213"  # 25267 + prefix 000 + section AA + numero 0213
    land = s.parcels.geometry[pid]
    roads = gpd.read_file(fr / "gennes25267_road.gpkg")
    d = roads.distance(land)
    road = roads.loc[d.idxmin()]
    # the file: a 4 m wide road, its centre line 2.15 m from the parcel
    assert d.min() == pytest.approx(2.15, abs=0.01)
    assert road["LARGEUR"] == 4.0 and road["NOM_VOIE_G"] == "R DE L'ENCLOS"
    others = [
        g
        for i, g in zip(s.parcels.index, s.parcels.geometry, strict=True)
        if i != pid and g.distance(land) < 50
    ]
    # old behaviour: the cadastre has no gap there, so four separative limits
    L0 = permit.classify_limits(land, others)
    assert set(L0["kind"]) == {"side"}
    L = permit.classify_limits(land, others, roads)
    st = L[L["kind"] == "street"]
    assert len(st) == 1
    st = st.iloc[0]
    assert st["frontage"] == "roads" and st["road"] == "R DE L'ENCLOS"
    assert st["street_width"] == 4.0 and "largeur" in st["width_source"]
    # the street limit is the edge facing the road: every point of it within
    # half the width + the tolerance of the centre line (shapely), give or take
    # half a 0.5 m piece (pieces are tested at their middle)
    pts = shapely.points(shapely.get_coordinates(shapely.segmentize(st.geometry, 0.5)))
    thr = 4.0 / 2 + permit.limits.ROAD_FRONTAGE_TOL + 0.25
    assert shapely.distance(pts, road.geometry).max() <= thr
    assert st["length"] > 10.0
    assert set(L["kind"]) == {"street", "side", "rear"}


# ---------------------------------------------------------------------------------
# 7. reports never hide a failure
# ---------------------------------------------------------------------------------
def test_report_without_terrain_or_neighbours_draws_the_views(
    paris18, shared_data, tmp_path
):
    pytest.importorskip("pyvista")
    s = scene18(paris18)
    bim = _fzk_on_aj0020(s, shared_data)
    r = permit.check(bim, s, impact=False)
    page = r.to_html(tmp_path / "r.html", lang="en")
    # old behaviour: "3D views failed: ... Array 'rgb' cannot have shape (0, 3)"
    # as the last note of the page
    assert "could not be drawn" not in page and "failed" not in page
    assert page.count("<img") == 4  # site plan, section, two 3D views
    assert "drawn alone: the scene has no neighbouring buildings" in page
    # and in French, the default language of the report
    fr = r.to_html(tmp_path / "r_fr.html")
    assert "dessiné seul" in fr and "ni bâtiments voisins ni terrain autour" in fr
    # what is not checked is said at the top, before the identification
    assert page.index("Not shown or not checked") < page.index("<h2>Identification")
    # per rule, only the parts that break it: the rear setback (max(0.5 H, 6 m))
    # colours faces within 6 m of the rear limit, a small part of the model
    from cimcity.permit.figures import broken_faces

    V, F, owner, labels, _ = broken_faces(r)
    k = next(i for i, lab in enumerate(labels) if "rear_setback" in lab)
    rear = r.limits.set_index("name").geometry["rear limit 2"]
    centres = V[F[owner == k]].mean(axis=1)
    assert shapely.distance(shapely.points(centres[:, :2]), rear).max() <= 6.0
    tri = V[F]
    area = (
        np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
        / 2
    )
    assert 0 < area[owner == k].sum() < 0.2 * area.sum()


def test_report_json_of_an_unplaced_model_has_no_verdict(
    paris18, shared_data, tmp_path
):
    # IfcOpenHouse has no georeference: incomplete, exit code 3, never passed
    s = scene18(paris18)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bim = permit.read_project(shared_data / "ifc" / "IfcOpenHouse_IFC4.ifc", s)
    r = permit.check(bim, s, parcels=[PARCEL], impact=False)
    d = json.loads(r.to_json())
    assert d["passed"] is False and d["verdict"] == "incomplete" and d["exit_code"] == 3
    assert "max_height" in d["unchecked_core"]
