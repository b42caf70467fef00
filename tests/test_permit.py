"""Permit checks: a BIM project against the PLU rules of its parcel.

References used below (tolerances next to each assertion):
* analytic geometry of boxes and gable roofs placed on hand-built parcels
  (heights, distances, areas are exact up to float rounding: 1 cm / 0.1 %);
* the sample district's project, whose dimensions are known by construction
  (``cimcity.datasets.paris``: 24 m x 15 m, R+7 = 24.5 m on a 24 m x 28 m parcel facing
  a 16 m street) -- positions go through the WGS84 Etalab cadastre, so they hold
  to about 1 cm;
* shapely for areas of the site surfaces.
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import tomllib

import cimcity as cc
from cimcity import permit
from cimcity.errors import CRSError, GeoreferenceError, InputError
from cimcity.io.plu import read_rules

X0, Y0 = 649_800.0, 6_865_400.0
CM = 0.01  # geometric tolerance on lengths [m]
AREA_REL = 1e-3  # relative tolerance on areas and area ratios

RULES_TOML = """
[pack]
name = "test pack"
[zones.UG]
description = "test zone"
[zones.UG.max_height]
value = 37.0
article = "UG.10.1"
[zones.UG.max_eave_height]
value = 31.0
article = "UG.10.2"
[zones.UG.max_altitude]
value = 75.0
unit = "m NGF"
article = "UG.10.3"
[zones.UG.max_footprint_ratio]
value = 0.75
article = "UG.9"
[zones.UG.street_setback]
alignment = true
tolerance = 0.5
article = "UG.6"
[zones.UG.side_setback]
k = 0.5
d_min = 4.0
allow_on_limit = true
article = "UG.7.1"
[zones.UG.rear_setback]
k = 0.5
d_min = 6.0
article = "UG.7.2"
[zones.UG.envelope]
c = 10.0
slope = 1.0
ceiling = 37.0
article = "UG.10.4"
[zones.UG.min_open_space_share]
value = 0.35
article = "UG.13.1"
[zones.UG.min_pleine_terre_share]
value = 0.2
article = "UG.13.2"
[zones.UG.min_green_share]
value = 0.3
article = "UG.13.3"
[zones.UG.min_biotope_coefficient]
value = 0.3
article = "UG.13.4"
[zones.UG.max_storeys]
value = 12
article = "UG.10.5"
[zones.UG.max_floor_area_ratio]
value = 4.5
article = "UG.14"
"""
STOREYS = [3.5] + [3.0] * 7  # R+7, 24.5 m


def rules(text=RULES_TOML):
    return read_rules(tomllib.loads(text))


def street_scene(slope=0.0, roads=True, zone="UG", terrain=True, pack=None):
    """Three 28 m deep parcels on the north side of a 16 m street (the middle one,
    SITE, 24 m wide), a rear garden parcel, parcels across the street, two 18 m
    neighbours on the side parcels and a 20 m x 11 m lawn at the back of SITE.
    Ground at 35 m rising ``slope`` m per m northwards."""
    b = shapely.box
    s = cc.Scene()
    parcels = {
        "LEFT": b(X0 - 20, Y0, X0, Y0 + 28),
        "SITE": b(X0, Y0, X0 + 24, Y0 + 28),
        "RIGHT": b(X0 + 24, Y0, X0 + 44, Y0 + 28),
        "BACK": b(X0 - 20, Y0 + 28, X0 + 44, Y0 + 60),
        "OPP": b(X0 - 20, Y0 - 44, X0 + 44, Y0 - 16),
    }
    s.add_parcels(
        gpd.GeoDataFrame(
            {"parcel_id": list(parcels)},
            geometry=list(parcels.values()),
            crs="EPSG:2154",
        )
    )
    s.add_zones(
        gpd.GeoDataFrame(
            {"libelle": [zone]},
            geometry=[b(X0 - 100, Y0 - 100, X0 + 100, Y0 + 100)],
            crs="EPSG:2154",
        ),
        rules=pack or rules(),
    )
    if terrain:
        x = np.arange(X0 - 60, X0 + 90, 1.0) + 0.5
        y = np.arange(Y0 + 80, Y0 - 70, -1.0) - 0.5
        _, Y = np.meshgrid(x, y)
        s.add_terrain(
            cc.Terrain.from_array(35.0 + slope * (Y - Y0), (X0 - 60, Y0 + 80), 1.0)
        )
    s.add_buildings(
        gpd.GeoDataFrame(
            {"height": [18.0, 18.0], "ground_z": [35.0, 35.0]},
            geometry=[b(X0 - 20, Y0, X0, Y0 + 15), b(X0 + 24, Y0, X0 + 44, Y0 + 15)],
            crs="EPSG:2154",
        )
    )
    s.add_vegetation(
        gpd.GeoDataFrame(
            {"kind": ["lawn"]},
            geometry=[b(X0 + 2, Y0 + 15, X0 + 22, Y0 + 26)],
            crs="EPSG:2154",
        )
    )
    if roads:
        s.add_layer(
            "roads",
            gpd.GeoDataFrame(
                {"nom": ["Rue Test"], "largeur": [16.0]},
                geometry=[shapely.LineString([(X0 - 100, Y0 - 8), (X0 + 150, Y0 - 8)])],
                crs="EPSG:2154",
            ),
        )
    return s


def project(width=24.0, depth=15.0, x=0.0, storeys=STOREYS, base=35.0, **kw):
    return permit.massing(
        shapely.box(X0 + x, Y0, X0 + x + width, Y0 + depth),
        storeys,
        base,
        name="test R+7",
        **kw,
    )


def row(report, rule, subject=None):
    r = report.results
    sel = r[r["rule"] == rule]
    if subject is not None:
        sel = sel[sel["subject"] == subject]
    assert len(sel) == 1, (rule, subject, r[["rule", "subject"]])
    return sel.iloc[0]


def failing(report):
    f = report.failures
    return {(r, s) for r, s in zip(f["rule"], f["subject"], strict=True)}


# ---------------------------------------------------------------------------------
# geometry helpers
# ---------------------------------------------------------------------------------
def test_envelope_height_analytic():
    # vertical P + c = 26 m at the alignment, +1 m per m behind it, ceiling 37 m
    h = permit.envelope_height([0.0, 4.0, 11.0, 30.0, -2.0], 16.0, 10.0, 1.0, 37.0)
    np.testing.assert_allclose(h, [26.0, 30.0, 37.0, 37.0, 26.0])
    assert permit.envelope_height(5.0, 12.0, 3.0, 0.5) == pytest.approx(17.5)


def test_classify_limits_rectangle_from_cadastre_and_roads():
    s = street_scene()
    site = s.parcels.geometry["SITE"]
    others = s.parcels.geometry.drop("SITE").values
    L = permit.classify_limits(site, others, s.layers["roads"]).set_index("name")
    assert set(L["kind"]) == {"street", "side", "rear"}
    st = L[L["kind"] == "street"].iloc[0]
    assert st["street_width"] == 16.0 and "largeur" in st["width_source"]
    # exact lengths of the 24 m x 28 m parcel's edges [m]
    assert st["length"] == pytest.approx(24.0, abs=CM)
    assert L.loc["left side limit", "length"] == pytest.approx(28.0, abs=CM)
    assert L.loc["right side limit", "length"] == pytest.approx(28.0, abs=CM)
    assert L.loc["rear limit", "length"] == pytest.approx(24.0, abs=CM)
    # left is the west edge seen from the street (south), looking north
    assert L.loc["left side limit"].geometry.centroid.x == pytest.approx(X0)
    # without a roads layer: width measured across the street on the cadastre = 16 m
    L2 = permit.classify_limits(site, others)
    st2 = L2[L2["kind"] == "street"].iloc[0]
    assert st2["street_width"] == pytest.approx(16.0, abs=CM)
    assert st2["width_source"].startswith("cadastre")


def test_classify_limits_corner_parcel_two_streets():
    # corner parcel: streets on the south and east, neighbours west and north
    b = shapely.box
    site = b(0, 0, 20, 20)
    nbs = [b(-20, 0, 0, 20), b(-20, 20, 40, 40)]
    L = permit.classify_limits(site, nbs)
    assert sorted(L["kind"]) == ["side", "side", "street", "street"]
    assert L.loc[L["kind"] == "street", "length"].sum() == pytest.approx(40.0, abs=CM)


def test_section_area_of_box():
    from cimcity.permit._geometry import _section_area

    m = project()
    # a horizontal cut through a 24 m x 15 m prism encloses 360 m²
    a = _section_area(np.asarray(m.mesh.vertices), np.asarray(m.mesh.faces), 35.0 + 5.0)
    assert a == pytest.approx(360.0, rel=AREA_REL)


# ---------------------------------------------------------------------------------
# the reference project passes, with measured values equal to the geometry
# ---------------------------------------------------------------------------------
def test_reference_project_passes_with_exact_measures():
    r = permit.check(project(), street_scene(), impact=False)
    assert r.passed and r.complete, r.summary_text()
    assert set(r.results["status"]) == {"pass"}
    assert row(r, "max_height")["measured"] == pytest.approx(24.5, abs=CM)
    assert row(r, "max_eave_height")["measured"] == pytest.approx(
        24.5, abs=CM
    )  # flat roof
    assert row(r, "max_altitude")["measured"] == pytest.approx(59.5, abs=CM)
    assert row(r, "max_footprint_ratio")["measured"] == pytest.approx(
        360 / 672, rel=AREA_REL
    )
    assert row(r, "street_setback")["measured"] == pytest.approx(0.0, abs=CM)
    for side in ("left side limit", "right side limit"):
        assert row(r, "side_setback", side)["explanation"].startswith("Built on the")
    rear = row(r, "rear_setback")
    assert rear["measured"] == pytest.approx(13.0, abs=CM)  # 28 - 15
    assert rear["limit"] == pytest.approx(12.25, abs=CM)  # 0.5 x 24.5
    env = row(r, "envelope")
    assert env["measured"] == pytest.approx(24.5, abs=CM)
    assert env["limit"] == pytest.approx(26.0, abs=CM)  # P + c = 16 + 10
    assert row(r, "min_open_space_share")["measured"] == pytest.approx(
        312 / 672, rel=AREA_REL
    )
    # lawn 20 m x 11 m outside the footprint
    assert row(r, "min_pleine_terre_share")["measured"] == pytest.approx(
        220 / 672, rel=AREA_REL
    )
    assert row(r, "max_storeys")["measured"] == 8
    assert row(r, "max_floor_area_ratio")["measured"] == pytest.approx(
        8 * 360 / 672, rel=AREA_REL
    )
    # every row names its article; the height row names the top storey's element
    assert (r.results["article"] != "").all()
    assert row(r, "max_height")["elements"] == [f"{r.bim.id}-E07"]


# programmatic variants fail exactly the rules they break
VARIANTS = {
    # +3 m: 27.5 m > P + c = 26 m at the alignment; rear 13 m < 0.5 x 27.5 = 13.75 m
    "taller by 3 m": (
        dict(extra_height=3.0),
        {
            ("envelope", "street (Rue Test)"): (27.5, 26.0),
            ("rear_setback", "rear limit"): (13.0, 13.75),
        },
    ),
    # one 3 m floor more: same heights, and 9 x 360 / 672 = 4.82 > 4.5
    "a floor added": (
        dict(add_storeys=1),
        {
            ("envelope", "street (Rue Test)"): (27.5, 26.0),
            ("rear_setback", "rear limit"): (13.0, 13.75),
            ("max_floor_area_ratio", ""): (9 * 360 / 672, 4.5),
        },
    ),
    # 3 m deeper: rear 10 < 12.25, floor area 8 x 432 / 672 = 5.14, lawn left
    # 20 x 8 = 160 m² -> green and biotope 0.238 < 0.3 (pleine terre 0.238 >= 0.2)
    "footprint enlarged": (
        dict(extend=(0.0, 3.0)),
        {
            ("rear_setback", "rear limit"): (10.0, 12.25),
            ("max_floor_area_ratio", ""): (8 * 432 / 672, 4.5),
            ("min_green_share", ""): (160 / 672, 0.3),
            ("min_biotope_coefficient", ""): (160 / 672, 0.3),
        },
    ),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_variants_fail_exactly_the_rules_they_break(name):
    change, expected = VARIANTS[name]
    v = permit.variant(project(), **change)
    r = permit.check(v, street_scene(), impact=False)
    assert failing(r) == set(expected), r.summary_text()
    for (rule, subject), (measured, limit) in expected.items():
        got = row(r, rule, subject)
        tol = CM if got["unit"] == "m" else AREA_REL * measured
        assert got["measured"] == pytest.approx(measured, abs=tol), (
            rule,
            got["explanation"],
        )
        assert got["limit"] == pytest.approx(limit, abs=tol)
    assert not r.passed


def test_side_prospect_moved_closer_to_a_side_limit():
    # a 3-storey (10 m) building 14 m wide with 5 m on each side: D = 5 >= max(0.5 x 10, 4)
    low = [3.5, 3.25, 3.25]
    ok = permit.check(
        project(width=14.0, x=5.0, storeys=low), street_scene(), impact=False
    )
    assert row(ok, "side_setback", "left side limit")["status"] == "pass"
    assert row(ok, "side_setback", "left side limit")["measured"] == pytest.approx(
        5.0, abs=CM
    )
    # moved 2 m west: 3 m from the left limit < 5 m, 7 m from the right limit
    moved = permit.variant(project(width=14.0, x=5.0, storeys=low), move=(-2.0, 0.0))
    r = permit.check(moved, street_scene(), impact=False)
    assert failing(r) == {("side_setback", "left side limit")}, r.summary_text()
    left = row(r, "side_setback", "left side limit")
    assert left["measured"] == pytest.approx(3.0, abs=CM)
    assert left["limit"] == pytest.approx(5.0, abs=CM)
    assert row(r, "side_setback", "right side limit")["measured"] == pytest.approx(
        7.0, abs=CM
    )
    assert "west facade" in left["explanation"]


def test_moving_across_a_limit_fails_land_and_setbacks():
    # the R+7 built on both limits moved 2 m west: 2 m x 15 m on the neighbour's land
    v = permit.variant(project(), move=(-2.0, 0.0))
    r = permit.check(v, street_scene(), parcels=["SITE"], impact=False)
    assert failing(r) == {
        ("within_land", "project land"),
        ("side_setback", "left side limit"),
        ("side_setback", "right side limit"),
    }
    assert row(r, "within_land")["measured"] == pytest.approx(30.0, rel=AREA_REL)
    assert row(r, "side_setback", "left side limit")["measured"] == pytest.approx(
        -2.0, abs=CM
    )
    # now 2 m from the right limit at 24.5 m: needs max(12.25, 4) m
    right = row(r, "side_setback", "right side limit")
    assert (right["measured"], right["limit"]) == pytest.approx((2.0, 12.25), abs=CM)


# ---------------------------------------------------------------------------------
# measurement details
# ---------------------------------------------------------------------------------
def test_heights_are_measured_point_by_point_on_a_slope():
    # ground rises 0.1 m/m northwards; the box's ground floor sits at the street level
    s = street_scene(slope=0.1)
    r = permit.check(project(), s, impact=False)
    # highest above ground: the front top edge, 59.5 - 35.0 (the back is 1.5 m higher)
    assert row(r, "max_height")["measured"] == pytest.approx(24.5, abs=CM)
    # rear facade: top at 59.5 over ground 36.5 -> H = 23.0, D = 13 >= 11.5
    rear = row(r, "rear_setback")
    assert rear["limit"] == pytest.approx(0.5 * 23.0, abs=CM)
    # NGF ceiling is on the absolute altitude
    assert row(r, "max_altitude")["measured"] == pytest.approx(59.5, abs=CM)


def test_gable_roof_eave_and_ridge():
    # 24 m x 15 m, 3 storeys = 9.5 m of walls, 30° gable with the ridge along x
    m = project(storeys=[3.5, 3.0, 3.0], roof_pitch=30.0)
    r = permit.check(m, street_scene(), impact=False)
    ridge = 9.5 + 7.5 * math.tan(math.radians(30.0))
    assert row(r, "max_height")["measured"] == pytest.approx(ridge, abs=CM)
    assert row(r, "max_eave_height")["measured"] == pytest.approx(9.5, abs=CM)
    assert "pitched roof" in row(r, "max_eave_height")["explanation"]
    assert f"{m.id}-ROOF" in row(r, "max_height")["elements"]


def test_site_plan_biotope_coefficient_uses_pack_weights():
    s = street_scene()
    b = shapely.box
    site = gpd.GeoDataFrame(
        {
            "kind": [
                "pleine_terre",
                "green_roof_shallow",
                "permeable_paving",
                "impervious",
            ]
        },
        geometry=[
            b(X0, Y0 + 18, X0 + 24, Y0 + 28),
            b(X0, Y0, X0 + 24, Y0 + 15),
            b(X0, Y0 + 15, X0 + 24, Y0 + 18),
            b(X0 + 100, Y0, X0 + 110, Y0 + 10),
        ],
        crs="EPSG:2154",
    )
    r = permit.check(project(), s, site_plan=site, impact=False)
    w = s.rules.weights("UG")
    # shapely areas: 240 m² pleine terre, 360 m² shallow green roof, 72 m² paving
    cbs = (
        240 * w["pleine_terre"]
        + 360 * w["green_roof_shallow"]
        + 72 * w["permeable_paving"]
    ) / 672
    assert row(r, "min_biotope_coefficient")["measured"] == pytest.approx(
        cbs, rel=AREA_REL
    )
    assert row(r, "min_pleine_terre_share")["measured"] == pytest.approx(
        240 / 672, rel=AREA_REL
    )
    assert row(r, "min_green_share")["measured"] == pytest.approx(
        600 / 672, rel=AREA_REL
    )
    assert "site plan" in row(r, "min_green_share")["explanation"]


# ---------------------------------------------------------------------------------
# what cannot be checked is said, never guessed, never an exception
# ---------------------------------------------------------------------------------
def unplaced(bim):
    bim.crs = None
    bim.georef = {"method": "none"}
    return bim


def test_missing_georeference_gives_not_checkable():
    r = permit.check(unplaced(project()), street_scene(), impact=False)
    st = dict(zip(r.results["rule"], r.results["status"], strict=True))
    assert st == {"georeference": "not_checkable", "zone": "not_checkable"}
    # nothing was checked: no verdict, never a pass (issue 17)
    assert not r.passed and not r.complete and r.verdict == "incomplete"
    assert r.unchecked_core == ["location"] and r.exit_code == 3
    # the parcels of the application locate the zone: storeys are checkable
    r2 = permit.check(
        unplaced(project()), street_scene(), parcels=["SITE"], impact=False
    )
    assert row(r2, "max_storeys")["status"] == "pass"
    # and the floor area ratio (storeys' areas over the parcels' area): 2880 / 672
    far = row(r2, "max_floor_area_ratio")
    assert far["measured"] == pytest.approx(8 * 360 / 672, rel=AREA_REL)
    others = r2.results[
        ~r2.results["rule"].isin(["max_storeys", "max_floor_area_ratio"])
    ]
    assert set(others["status"]) == {"not_checkable"}
    # located, but heights, footprint and setbacks unmeasured: incomplete
    assert not r2.passed and r2.verdict == "incomplete"
    assert set(r2.unchecked_core) >= {
        "max_height",
        "max_footprint_ratio",
        "side_setback",
    }


def test_zone_without_rules_and_missing_inputs():
    r = permit.check(project(), street_scene(zone="UX"), impact=False)
    assert list(r.results["rule"]) == ["rules"]
    assert r.results["status"].iloc[0] == "not_checkable"
    assert "UX" in r.results["explanation"].iloc[0]
    # no DEM: heights measured from the project base are only "maybe"
    r = permit.check(project(), street_scene(terrain=False), impact=False)
    assert row(r, "max_height")["status"] == "maybe"
    assert row(r, "max_height")["measured"] == pytest.approx(24.5, abs=CM)
    # no vegetation, no site plan: surfaces not checkable
    s = street_scene()
    s._tables["vegetation"] = s.vegetation.iloc[0:0]
    r = permit.check(project(), s, impact=False)
    assert row(r, "min_pleine_terre_share")["status"] == "not_checkable"
    # a project standing on no parcel is refused before anything is judged:
    # moved 5000 m east, the box spans x0 + 5000 .. x0 + 5024, 4956 m from the
    # east edge of RIGHT (x0 + 44), the nearest parcel
    far = permit.variant(project(), move=(5000.0, 0.0))
    with pytest.raises(
        GeoreferenceError, match=r"4,956\.0 m from the nearest parcel \(RIGHT\)"
    ) as e:
        permit.check(far, street_scene(), impact=False)
    assert "placement=" in str(e.value) and "--placement" in str(e.value)
    # the same project checked against parcels it does not stand on
    with pytest.raises(GeoreferenceError, match="parcels of the application"):
        permit.check(project(), street_scene(), parcels=["OPP"], impact=False)


def test_project_across_two_zones_and_no_rule_pack():
    s = street_scene()
    # a UV zone over the eastern 4 m of the site: 4 m x 15 m of the footprint
    s._tables["zones"] = s.zones.iloc[0:0]
    b = shapely.box
    s.add_zones(
        gpd.GeoDataFrame(
            {"libelle": ["UG", "UV"]},
            geometry=[
                b(X0 - 100, Y0 - 100, X0 + 20, Y0 + 100),
                b(X0 + 20, Y0 - 100, X0 + 100, Y0 + 100),
            ],
            crs="EPSG:2154",
        ),
        rules=rules(),
    )
    r = permit.check(project(), s, impact=False)
    z = row(r, "zone")
    assert z["status"] == "maybe" and "UV (60 m²)" in z["explanation"]
    assert r.land_info["zone"] == "UG"
    s.rules = None
    r = permit.check(project(), s, impact=False)
    assert list(r.results["rule"]) == ["rules"]
    assert r.results["status"].iloc[0] == "not_checkable"


def test_bad_inputs_raise_specific_errors():
    s = street_scene()
    with pytest.raises(InputError, match="Scene"):
        permit.check(project(), "not a scene")
    with pytest.raises(InputError, match="BimModel"):
        permit.check(object(), s)
    with pytest.raises(InputError, match="NOPE"):
        permit.check(project(), s, parcels=["NOPE"])
    m = project()
    m.crs = "EPSG:3857"
    with pytest.raises(CRSError, match="EPSG:2154"):
        permit.check(m, s)


def test_floor_areas_from_sections_when_the_storeys_give_none():
    # cimcity.testing.box_project: two storeys, no gross_floor_area. The
    # floor area comes from horizontal sections of the model: 2 x (20 x 10 m)
    # = 400 m² on SITE (24 x 28 = 672 m²). Before: ValueError 'assignment
    # destination is read-only' (a read-only array under copy-on-write).
    from cimcity.testing import box_project

    bim = box_project((X0 + 2, Y0 + 2, X0 + 22, Y0 + 12), base_z=35.0, height=9.0)
    r = permit.check(bim, street_scene(), impact=False)
    far = row(r, "max_floor_area_ratio")
    assert far["measured"] == pytest.approx(400.0 / 672.0, rel=AREA_REL)
    assert "horizontal sections of the model" in far["explanation"]
    assert bim.storeys.columns.tolist() == ["name", "elevation"]  # input untouched


def test_tolerances_and_dates_are_checked_up_front():
    s = street_scene()
    # a misspelt key would be silently ignored: refused with the valid ones
    with pytest.raises(InputError, match=r"unknown tolerance 'heigth'.*'length', 'ratio'"):
        permit.check(project(), s, tolerances={"heigth": 0.1}, impact=False)
    with pytest.raises(InputError, match=r"tolerance 'length' .*got -0\.1"):
        permit.check(project(), s, tolerances={"length": -0.1}, impact=False)
    with pytest.raises(InputError, match=r"tolerance 'ratio' must be a number; got 'x'"):
        permit.check(project(), s, tolerances={"ratio": "x"}, impact=False)
    # the impact dates are parsed even when the impact does not run (before:
    # when=['solstice'] was never read without neighbours, or with impact=False)
    for when in (["solstice"], "solstice", ["2024-12-21", "2024-13-01"]):
        with pytest.raises(InputError, match=r"solstice|2024-13-01"):
            permit.check(project(), s, when=when, impact=False)
    with pytest.raises(InputError, match="when is empty"):
        permit.check(project(), s, when=[], impact=False)
    # a valid override is used: a 2 m length tolerance turns no status worse
    base = permit.check(project(), s, impact=False).results["status"]
    loose = permit.check(project(), s, tolerances={"length": 2.0}, impact=False)
    assert (loose.results["status"] != "fail").sum() >= (base != "fail").sum()
    assert loose.context["dates"] == [str(d) for d in permit.DEFAULT_DATES]


def test_report_json_round_trip(tmp_path):
    import json

    r = permit.check(
        permit.variant(project(), extra_height=3.0), street_scene(), impact=False
    )
    d = json.loads(r.to_json(tmp_path / "r.json"))
    assert d["passed"] is False and d["counts"]["fail"] == 2
    assert {x["status"] for x in d["results"]} <= set(permit.STATUSES)
    env = next(x for x in d["results"] if x["rule"] == "envelope")
    assert (
        env["measured"] == pytest.approx(27.5, abs=CM) and env["article"] == "UG.10.4"
    )
    assert isinstance(env["elements"], list) and env["elements"]
    assert {x["kind"] for x in d["limits"]} == {"street", "side", "rear"}
    assert (tmp_path / "r.json").read_text(encoding="utf-8") == r.to_json()
    assert "FAILS" in r.summary_text() and "envelope" in r.summary_text()


# ---------------------------------------------------------------------------------
# the sample district
# ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample(paris):
    if not paris.projects:
        pytest.skip("the sample has no IFC project (ifcopenshell missing)")
    return paris, paris.projects[paris.meta["project_id"]]


def test_sample_project_passes(sample):
    scene, bim = sample
    r = permit.check(bim, scene, impact=False)
    assert r.passed and r.complete, r.summary_text()
    assert (
        r.land_info["parcels"] == [scene.meta["vacant_parcel"]]
        and r.land_info["zone"] == "UG"
    )
    # by construction (cimcity.datasets.paris): 24.5 m, 360 / 672 m², 13 m garden, 16 m street
    assert row(r, "max_height")["measured"] == pytest.approx(24.5, abs=CM)
    assert row(r, "max_footprint_ratio")["measured"] == pytest.approx(
        360 / 672, rel=AREA_REL
    )
    assert row(r, "rear_setback")["measured"] == pytest.approx(13.0, abs=CM)
    env = row(r, "envelope", "street (Rue Cardinet)")
    assert env["limit"] == pytest.approx(26.0, abs=CM)  # P + c = 16 + 10
    assert row(r, "max_storeys")["measured"] == 8
    assert row(r, "max_floor_area_ratio")["measured"] == pytest.approx(
        8 * 360 / 672, rel=AREA_REL
    )
    # ids are the IFC GlobalIds of the model
    gids = set(bim.elements["global_id"])
    assert set(row(r, "max_height")["elements"]) <= gids


SAMPLE_VARIANTS = {
    "taller by 3 m": (
        dict(extra_height=3.0),
        None,
        {
            ("envelope", "street (Rue Cardinet)"): (27.5, 26.0),
            ("rear_setback", "rear limit"): (13.0, None),
        },
    ),
    "a floor added": (
        dict(add_storeys=1),
        None,
        {
            ("envelope", "street (Rue Cardinet)"): (27.5, 26.0),
            ("rear_setback", "rear limit"): (13.0, None),
            ("max_floor_area_ratio", ""): (9 * 360 / 672, 4.5),
        },
    ),
    "footprint enlarged": (
        dict(extend=(0.0, 3.0)),
        None,
        {
            ("rear_setback", "rear limit"): (10.0, None),
            ("max_floor_area_ratio", ""): (8 * 432 / 672, 4.5),
            ("min_green_share", ""): (160 / 672, 0.3),
            ("min_biotope_coefficient", ""): (160 / 672, 0.3),
        },
    ),
    "moved 2 m toward a side limit": (
        dict(move=(-2.0, 0.0)),
        "own",
        {
            ("within_land", "project land"): (30.0, 0.0),
            ("side_setback", "left side limit"): (-2.0, 0.0),
            ("side_setback", "right side limit"): (2.0, None),
        },
    ),
}


@pytest.mark.parametrize("name", list(SAMPLE_VARIANTS))
def test_sample_variants_fail_exactly_the_rules_they_break(sample, name):
    scene, bim = sample
    change, parcels, expected = SAMPLE_VARIANTS[name]
    v = permit.variant(bim, **change)
    r = permit.check(
        v,
        scene,
        parcels=[scene.meta["vacant_parcel"]] if parcels else None,
        impact=False,
    )
    assert failing(r) == set(expected), r.summary_text()
    for (rule, subject), (measured, limit) in expected.items():
        got = row(r, rule, subject)
        tol = (
            CM
            if got["unit"] in ("m", "m²") and rule != "within_land"
            else (AREA_REL * abs(measured))
        )
        assert got["measured"] == pytest.approx(measured, abs=tol), got["explanation"]
        if limit is not None:
            assert got["limit"] == pytest.approx(limit, abs=max(tol, CM))


def test_sample_neighbour_impact(sample):
    scene, bim = sample
    r = permit.check(bim, scene, when=["2024-12-21"])
    n = row(r, "neighbour_sun_hours")
    assert n["status"] == "maybe" and n["article"] == "informative"
    assert "facade" in n["subject"] or "open space" in n["subject"]
    t = r.impact
    assert len(t) and (t["lost_h"] > 0).all()
    assert n["measured"] == pytest.approx(t["lost_h"].max())
    # a new building can only take sun away: no sensor (outside the facades it now
    # covers) gains sun hours
    pts = r.context["impact"]["result"].points
    assert (pts.loc[~pts["covered"], "delta"] <= 1e-9).all()


# ---------------------------------------------------------------------------------
# real IFC files on a real parcel (Gennes, BD Parcellaire + PLU)
# ---------------------------------------------------------------------------------
GENNES_TOML = """
[pack]
name = "Gennes test pack (illustrative)"
[zones.UB.max_height]
value = 9.0
article = "UB.10.1"
[zones.UB.max_eave_height]
value = 7.0
article = "UB.10.2"
[zones.UB.max_footprint_ratio]
value = 0.4
article = "UB.9"
[zones.UB.street_setback]
alignment = false
min = 3.0
article = "UB.6"
[zones.UB.side_setback]
k = 0.5
d_min = 3.0
allow_on_limit = true
article = "UB.7.1"
[zones.UB.rear_setback]
k = 0.5
d_min = 4.0
article = "UB.7.2"
[zones.UB.min_open_space_share]
value = 0.5
article = "UB.13.1"
[zones.UB.min_pleine_terre_share]
value = 0.3
article = "UB.13.2"
[zones.UB.max_storeys]
value = 3
article = "UB.10.5"
[zones.UB.max_floor_area_ratio]
value = 0.6
article = "UB.14"
"""
GENNES_PARCEL = "25267000AB0162"  # 781 m², street on its north edge


@pytest.fixture(scope="module")
def gennes(shared_data):
    fr = shared_data / "france"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parcels = cc.read_cadastre(fr / "gennes25267_parcel.gpkg")
        zones = cc.read_plu(fr / "gennes25267_zoning_plu.gpkg")
    s = cc.Scene(name="Gennes")
    s.add_zones(zones, rules=read_rules(tomllib.loads(GENNES_TOML)))
    s.add_parcels(parcels)
    roads = gpd.read_file(fr / "gennes25267_road.gpkg")
    s.add_layer("roads", roads)
    pid = GENNES_PARCEL
    geom = s.parcels.geometry[pid]
    # the parcel's street edge runs at about 16.4° from east
    return s, pid, geom


# explicit placements (x, y, z [m, Lambert-93], rotation [deg]) putting each model's
# footprint centre on the parcel's centre, its x axis along the street (16.4°)
PLACEMENTS = {
    "AC20-FZK-Haus.ifc": (936579.71, 6687353.20, 400.0, 16.4),
    "Duplex_A_20110907.ifc": (936577.32, 6687366.98, 400.0, 16.4),
}


def _place_on(path, geom):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bim = cc.read_ifc(
            path, placement=PLACEMENTS[path.name], subtract_openings=False
        )
    # the placement puts the model on the parcel (centre within 1 cm)
    assert bim.footprint.centroid.distance(geom.centroid) < CM
    return bim, PLACEMENTS[path.name]


@pytest.fixture(scope="module")
def fzk(shared_data, gennes):
    return _place_on(shared_data / "ifc" / "AC20-FZK-Haus.ifc", gennes[2])


@pytest.fixture(scope="module")
def duplex(shared_data, gennes):
    return _place_on(shared_data / "ifc" / "Duplex_A_20110907.ifc", gennes[2])


def test_fzk_haus_on_a_gennes_parcel_gives_a_complete_report(gennes, fzk):
    scene, pid, geom = gennes
    bim, _ = fzk
    s = scene.copy()
    # a flat test DEM at the placement altitude: natural ground = the model's ±0.00
    x0, y0, x1, y1 = geom.bounds
    s.add_terrain(
        cc.Terrain.from_array(np.full((80, 80), 400.0), (x0 - 20, y1 + 20), 1.0)
    )
    garden = gpd.GeoDataFrame(
        {"kind": ["pleine_terre"]},
        geometry=[geom.difference(bim.footprint.buffer(1.0))],
        crs=s.crs,
    )
    r = permit.check(bim, s, parcels=[pid], site_plan=garden, impact=False)
    assert r.complete, r.summary_text()  # every rule of the pack checked
    assert r.land_info["zone"] == "UB"
    assert set(r.results["rule"]) >= {
        "max_height",
        "side_setback",
        "rear_setback",
        "street_setback",
        "max_storeys",
    }
    # FZK-Haus: 2 storeys (Erdgeschoss, Dachgeschoss), ridge 6.32 m over the ±0.00
    assert row(r, "max_storeys")["measured"] == 2
    assert row(r, "max_height")["measured"] == pytest.approx(bim.top_z - 400.0, abs=CM)
    assert row(r, "max_footprint_ratio")["measured"] == pytest.approx(
        bim.footprint.intersection(geom).area / geom.area, rel=AREA_REL
    )
    # pitched roof: eave under the ridge
    assert (
        row(r, "max_eave_height")["measured"] < row(r, "max_height")["measured"] - 1.0
    )
    gids = set(bim.elements["global_id"]) | set(bim.storeys["global_id"])
    for els in r.results["elements"]:
        assert set(els) <= gids
    # the street limit faces the road (BD TOPO LARGEUR 4 m)
    street = r.limits[r.limits["kind"] == "street"]
    assert len(street) == 1 and street["street_width"].iloc[0] == pytest.approx(4.0)


def test_duplex_on_a_gennes_parcel_without_terrain(gennes, duplex):
    scene, pid, _ = gennes
    bim, _ = duplex
    r = permit.check(bim, scene, parcels=[pid], impact=False)
    # storeys above ground: Level 1, Level 2, Roof (the T/FDN foundation level is not)
    assert row(r, "max_storeys")["measured"] == 3
    # no DEM: heights from the project base are "maybe", never a silent pass
    assert row(r, "max_height")["status"] == "maybe"
    assert row(r, "min_pleine_terre_share")["status"] == "not_checkable"
    assert not (r.results["status"] == "not_checkable").all()


def test_real_ifc_without_placement_is_refused(shared_data, gennes):
    # misplaced models are refused the same way (issue 17), never read unplaced
    scene, _, _ = gennes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Duplex: IfcSite lat/lon in Chicago, outside Lambert-93
        with pytest.raises(GeoreferenceError, match="km from the scene") as e:
            permit.read_project(
                shared_data / "ifc" / "Duplex_A_20110907.ifc",
                scene,
                subtract_openings=False,
            )
        assert "placement=" in str(e.value)
        # FZK-Haus: IfcSite lat/lon puts it (approximately) in Karlsruhe
        f = permit.read_project(
            shared_data / "ifc" / "AC20-FZK-Haus.ifc", scene, subtract_openings=False
        )
        assert f.georef["approximate"]
        with pytest.raises(GeoreferenceError, match="km from the nearest parcel"):
            permit.check(f, scene, impact=False)


def test_variant_and_massing_validation():
    with pytest.raises(InputError):
        permit.massing(shapely.box(0, 0, 10, 10), [3.0, -1.0])
    m = project()
    v = permit.variant(m, extra_height=3.0, add_storeys=1)
    assert v.top_z == pytest.approx(m.top_z + 3.0 + 3.0 * 27.5 / 24.5, abs=1e-9)
    assert len(v.storeys) == 9 and m.top_z == pytest.approx(59.5)  # input untouched
    assert isinstance(v.storeys, pd.DataFrame)


# ---------------------------------------------------------------------------------
# the rule registry and the renamed arguments
# ---------------------------------------------------------------------------------
def test_every_catalogue_rule_has_one_registered_check_in_catalogue_order():
    from cimcity.io.plu import KNOWN_RULES
    from cimcity.permit import checks

    assert set(checks.CHECKS) == set(KNOWN_RULES)
    assert [c.name for c in checks.ordered()] == list(KNOWN_RULES)
    # storeys and floor area need the parcels only, not the placement
    unplaced_ok = {c.name for c in checks.ordered() if not c.needs_placement}
    assert unplaced_ok == {"max_storeys", "max_floor_area_ratio"}
    with pytest.raises(InputError, match="already has a check"):
        permit.register("max_height")(lambda ctx, rule: None)


def test_registry_dispatches_rules_by_name(monkeypatch):
    from cimcity.permit import checks

    seen = []

    def fake_height(ctx, rule):
        seen.append(rule.name)
        ctx.add(rule.name, "fail", 99.0, rule.value, "m", explanation="replaced")

    monkeypatch.setitem(
        checks.CHECKS, "max_height", checks.RuleCheck("max_height", fake_height)
    )
    # a rule of the zone without a registered check is skipped, as before
    monkeypatch.delitem(checks.CHECKS, "max_altitude")
    r = permit.check(project(), street_scene(), impact=False)
    assert seen == ["max_height"]
    assert row(r, "max_height")["explanation"] == "replaced"
    assert "max_altitude" not in set(r.results["rule"])
    # the row order is still the catalogue order
    assert list(r.results["rule"])[:3] == [
        "max_height",
        "max_eave_height",
        "max_footprint_ratio",
    ]


def test_old_argument_and_attribute_names_warn_and_work():
    s = street_scene()
    plan = gpd.GeoDataFrame(
        {"kind": ["pleine_terre"]},
        geometry=[shapely.box(X0, Y0 + 18, X0 + 24, Y0 + 28)],
        crs="EPSG:2154",
    )
    new = permit.check(project(), s, site_plan=plan, impact=False)
    with pytest.warns(FutureWarning, match="site_plan="):
        old = permit.check(project(), s, site=plan, impact=False)
    pd.testing.assert_frame_equal(old.results, new.results)
    assert row(new, "min_pleine_terre_share")["measured"] == pytest.approx(
        240 / 672, rel=AREA_REL
    )
    with pytest.raises(InputError, match="site_plan="):
        permit.check(project(), s, site=plan, site_plan=plan, impact=False)
    with pytest.warns(FutureWarning, match="when="):
        permit.check(project(), s, dates=["2024-12-21"], impact=False)
    with pytest.warns(FutureWarning, match="land_info"):
        assert new.site is new.land_info
    with pytest.warns(FutureWarning, match="land"):
        assert new.terrain is new.land
    assert new.land_info["land_area"] == pytest.approx(672.0, rel=AREA_REL)
    assert new.land.area == pytest.approx(672.0, rel=AREA_REL)
    site = s.parcels.geometry["SITE"]
    others = s.parcels.geometry.drop("SITE").values
    with pytest.warns(FutureWarning, match="land="):
        L = permit.classify_limits(terrain=site, neighbours=others)
    assert len(L) == len(permit.classify_limits(site, others))


# ---------------------------------------------------------------------------------
# issue 17: placement before judgement, verdict and exit codes, frontage from roads
# ---------------------------------------------------------------------------------
def test_verdict_and_exit_codes():
    ok = permit.check(project(), street_scene(), impact=False)
    assert (ok.verdict, ok.exit_code, ok.passed) == ("passes", 0, True)
    bad = permit.check(
        permit.variant(project(), extra_height=3.0), street_scene(), impact=False
    )
    assert (bad.verdict, bad.exit_code, bad.passed) == ("fails", 1, False)
    # every edge of SITE shared with a parcel and no roads layer: no street, so
    # the street setback is not checkable -> no verdict, never a pass
    s = street_scene(roads=False)
    s.add_parcels(
        gpd.GeoDataFrame(
            {"parcel_id": ["STREET"]},
            geometry=[shapely.box(X0 - 20, Y0 - 16, X0 + 44, Y0)],
            crs="EPSG:2154",
        )
    )
    r = permit.check(project(), s, impact=False)
    assert row(r, "street_setback")["status"] == "not_checkable"
    assert (r.verdict, r.exit_code, r.passed) == ("incomplete", 3, False)
    assert "street_setback" in r.unchecked_core
    assert r.summary()["verdict"] == "incomplete"


def test_base_off_the_terrain_is_refused():
    # ground at 35 m; a base at 0 m is 35 m under it (> ALTITUDE_TOL = 5 m)
    with pytest.raises(GeoreferenceError, match=r"base at 0\.00 m.*35\.00 and 35\.00"):
        permit.check(project(base=0.0), street_scene(), impact=False)
    # 4 m above the ground is within the tolerance: checked
    r = permit.check(project(base=39.0), street_scene(), impact=False)
    assert r.context["placement"]["base_offset"] == pytest.approx(4.0)


def test_frontage_from_roads_over_a_shared_edge():
    # the street is cadastred as a parcel (STREET, 16 m wide) so SITE's south
    # edge is shared; the road's centre line runs 8 m in front of it (largeur 16)
    s = street_scene()
    site = s.parcels.geometry["SITE"]
    street = shapely.box(X0 - 20, Y0 - 16, X0 + 44, Y0)
    others = [*s.parcels.geometry.drop("SITE").values, street]
    L0 = permit.classify_limits(site, others)
    assert "street" not in set(L0["kind"])
    L = permit.classify_limits(site, others, s.layers["roads"]).set_index("name")
    st = L[L["kind"] == "street"]
    assert len(st) == 1 and st["frontage"].iloc[0] == "roads"
    assert st["length"].iloc[0] == pytest.approx(24.0, abs=0.5)  # the south edge
    assert st["street_width"].iloc[0] == 16.0
    assert L.loc["rear limit", "length"] == pytest.approx(24.0, abs=CM)
    # a road running north along SITE's east limit (x0 + 24 + 3 m, 4 m wide) is
    # in front of that limit: it becomes a street too; the south street stays
    side_road = gpd.GeoDataFrame(
        {"largeur": [4.0]},
        geometry=[shapely.LineString([(X0 + 27, Y0 - 20), (X0 + 27, Y0 + 60)])],
        crs="EPSG:2154",
    )
    L2 = permit.classify_limits(site, others, side_road)
    st2 = L2[L2["kind"] == "street"]
    assert len(st2) == 1 and st2["length"].iloc[0] == pytest.approx(28.0, abs=0.5)
    # ... but not the south edge, which the side road only touches at its corner
    assert abs(st2.geometry.iloc[0].centroid.x - (X0 + 24)) < CM
