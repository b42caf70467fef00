"""Heights and variants of a Scene (issue 17): values that cannot be a
building's are refused by name, a project must stand on its land, areas are
checked against the scene CRS.

References: geometry of the synthetic boxes (shapely areas and distances),
``cimcity.schemas`` ranges.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely

import cimcity as cc
from cimcity.errors import (
    CRSError,
    DataQualityWarning,
    EstimateWarning,
    GeoreferenceError,
    InputError,
)
from cimcity.scene.heights import MAX_STOREY_HEIGHT, check_storey_height
from cimcity.scene.variants import (
    MAX_PROJECT_DISTANCE,
    check_on_land,
    distance_text,
    share_on_parcels,
)
from cimcity.testing import X0, Y0, box_project, lone_box

L93 = "EPSG:2154"


def _boxes(n=3, **cols):
    """n 10 x 10 m boxes in a row from (X0, Y0), 2 m apart [m, Lambert-93]."""
    geoms = [shapely.box(X0 + 12 * i, Y0, X0 + 12 * i + 10, Y0 + 10) for i in range(n)]
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=L93)


def _parcels(n=3):
    s = cc.Scene()
    s.add_parcels(_boxes(n, id=[f"75117000AB{i:04d}" for i in range(n)]))
    return s


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


# -- heights ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cols", "kw", "pattern"),
    [
        ({"height": [np.inf, 9.0, 9.0]}, {}, r"infinite height .*'B000000': inf"),
        ({"height": ["tall", "9", "9"]}, {}, r"height value\(s\) are not numbers .*'tall'"),
        ({"storeys": ["three", 3, 3]}, {}, r"storeys .*'three'.*a count"),
        ({"height": [9.0] * 3, "ground_z": [35.0, 99999.0, 35.0]}, {},
         r"ground_z .*-500 to 9,000 m .*'B000001': 99999 m"),
        ({"ground_z": [35.0] * 3, "roof_z": [50.0, 20.0, 50.0]}, {},
         r"roof_z .*'B000001': roof_z 20 m, ground_z 35 m"),
        ({"storeys": [3, 400, 3]}, {}, r"storeys value\(s\) above 300 .*400"),
        ({"storeys": [3, 3, 3]}, {"storey_height": 0.0}, r"storey_height .*got 0\.0"),
        ({"storeys": [3, 3, 3]}, {"storey_height": "3 m"}, r"storey_height .*got '3 m'"),
        ({"storeys": [3, 3, 3]}, {"storey_height": np.float64(25.0)},
         r"<= 20; got 25\.0 "),
    ],
)
def test_values_that_cannot_be_a_building_s_are_refused(cols, kw, pattern):
    # each used to become the 9 m default (or a 0 m building for
    # storey_height=0) without naming the value; the scene stays unchanged
    s = _parcels()
    before = s.version
    with pytest.raises(InputError, match=pattern) as info:
        s.add_buildings(_boxes(3, **cols), **kw)
    assert "np." not in str(info.value)
    assert s.version == before and len(s.buildings) == 0


def test_missing_values_are_still_estimated_and_lengths_read_from_text():
    # NaN, None and empty text are missing (estimated, flagged); "12 m" and
    # "10,5" are lengths (schemas.parse_length)
    s = cc.Scene()
    with pytest.warns(EstimateWarning, match="2 of 4 have no height"):
        s.add_buildings(_boxes(4, height=["12 m", "10,5", None, ""]))
    b = s.buildings
    assert b["height"].tolist() == [12.0, 10.5, 9.0, 9.0]
    assert b["height_source"].tolist() == ["data", "data", "default", "default"]


def test_a_product_roof_under_its_ground_is_ignored_with_a_warning_naming_it():
    # a table a reader already normalised (height_source set) keeps its
    # building: the contradictory roof altitude is ignored, named in a
    # DataQualityWarning, and the height comes from the storeys (3 x 3 m)
    g = _boxes(2, ground_z=[35.0, 35.0], roof_z=[50.0, 20.0], storeys=[3, 3])
    g["height"] = np.nan
    g["height_source"] = None
    s = cc.Scene()
    with pytest.warns(DataQualityWarning, match=r"roof_z 20 m, ground_z 35 m"):
        s.add_buildings(g)
    b = s.buildings
    assert b["height"].tolist() == [15.0, 9.0]
    assert b["height_source"].tolist() == ["altitudes", "storeys"]


def test_a_roof_under_a_ground_from_the_terrain_is_ignored_with_a_warning():
    # ground from the DEM (35 m), roof_z 20 m in the table: another vertical
    # frame, so the roof altitude is unknown, said by value
    from cimcity.terrain import Terrain

    s = cc.Scene()
    s.add_terrain(Terrain.from_array(np.full((30, 60), 35.0), (X0 - 10, Y0 + 40), 2.0))
    with pytest.warns(DataQualityWarning, match=r"roof_z 20 m, ground_z 35 m from the terrain"):
        s.add_buildings(_boxes(1, roof_z=[20.0]))
    assert s.buildings["height_source"].iloc[0] == "default"


def test_storey_height_range():
    assert check_storey_height(3) == 3.0 and check_storey_height(np.float32(2.5)) == 2.5
    assert check_storey_height(MAX_STOREY_HEIGHT) == MAX_STOREY_HEIGHT
    for bad in (0, -3.0, np.nan, np.inf, True, None, MAX_STOREY_HEIGHT + 0.1):
        with pytest.raises(InputError, match="storey_height"):
            check_storey_height(bad)


# -- a project stands on its land -----------------------------------------------------------
def test_a_project_444_km_from_the_scene_is_refused_with_the_distance():
    # lone_box has no parcels: the project is measured from the scene's
    # buildings; shapely gives the distance (the box ends at X0 + 20)
    scene = lone_box()
    prj = box_project((X0 + 444_000, Y0, X0 + 444_020, Y0 + 12))
    d = shapely.distance(scene.buildings.geometry.iloc[0], prj.footprint)
    assert d == pytest.approx(443_980.0)
    with pytest.raises(GeoreferenceError) as info:
        scene.with_project(prj)
    msg = str(info.value)
    assert f"stands {distance_text(d)} from" in msg and "444.0 km" in msg
    assert "placement=" in msg and "--placement" in msg
    assert len(scene.buildings) == 1 and not scene.projects


def test_a_project_near_a_scene_without_parcels_is_accepted():
    # 10 m beside the box and up to MAX_PROJECT_DISTANCE away: a neighbour
    scene = lone_box()
    near = _quiet(scene.with_project, box_project((X0 + 30, Y0, X0 + 40, Y0 + 10)))
    assert near.meta["placement"]["distance_m"] == pytest.approx(10.0)
    x = X0 + 20 + MAX_PROJECT_DISTANCE
    _quiet(scene.with_project, box_project((x - 10, Y0, x, Y0 + 10)))
    with pytest.raises(GeoreferenceError, match=r"310\.0 m"):
        scene.with_project(box_project((x + 10, Y0, x + 20, Y0 + 10)))
    # an empty scene has nothing to stand on or next to: accepted
    _quiet(cc.Scene().with_project, box_project((X0, Y0, X0 + 10, Y0 + 10)))


def test_a_project_between_parcels_is_refused_with_the_nearest_parcel():
    s = _parcels()
    prj = box_project((X0, Y0 + 60, X0 + 10, Y0 + 70))
    d = min(shapely.distance(g, prj.footprint) for g in s.parcels.geometry)
    assert d == pytest.approx(50.0)
    with pytest.raises(GeoreferenceError, match=r"0% .* is 50\.0 m from the nearest \(75117000AB0000\)"):
        s.with_project(prj)


def test_share_on_land_and_named_parcels():
    # a 10 x 10 m project half on parcel 0 and half in the 2 m gap and on
    # parcel 1: shares from shapely; named parcels must hold it
    s = _parcels()
    prj = box_project((X0 + 5, Y0, X0 + 15, Y0 + 10))
    P = s.parcels
    expected = sum(shapely.intersection(g, prj.footprint).area for g in P.geometry) / 100.0
    assert expected == pytest.approx(0.8)
    after = _quiet(s.with_project, prj)
    assert after.meta["placement"]["share_on_land"] == pytest.approx(expected)
    assert sorted(after.meta["project_parcels"]) == ["75117000AB0000", "75117000AB0001"]
    # one id as a string is one parcel (it was split into its characters)
    one = _quiet(s.with_project, prj, parcels="75117000AB0001")
    assert one.meta["project_parcels"] == ["75117000AB0001"]
    assert one.meta["placement"]["share_on_land"] == pytest.approx(0.3)
    with pytest.raises(GeoreferenceError, match=r"its parcels \['75117000AB0002'\]"):
        s.with_project(prj, parcels=["75117000AB0002"])
    with pytest.raises(InputError, match=r"\['75117000ZZ9999'\] are not in the scene's parcels"):
        s.with_project(prj, parcels=["75117000ZZ9999", "75117000AB0000"])
    with pytest.raises(InputError, match="add the parcels first"):
        lone_box().with_project(prj, parcels=["75117000AB0000"])


def test_share_on_parcels_against_shapely():
    # share = area of (footprint ∩ parcels) / footprint area, distance and id
    # of the nearest parcel, computed here parcel by parcel with shapely; the
    # permit's placement check measures the same thing
    s = _parcels()
    P = s.parcels
    for box in ((X0 + 5, Y0, X0 + 15, Y0 + 10), (X0, Y0 + 60, X0 + 10, Y0 + 70),
                (X0 + 30, Y0 + 5, X0 + 40, Y0 + 20)):
        fp = shapely.box(*box)
        inter = sum(shapely.intersection(g, fp).area for g in P.geometry) / fp.area
        d = [shapely.distance(g, fp) for g in P.geometry]
        share, dist, nearest = share_on_parcels(fp, P)
        assert share == pytest.approx(inter, abs=1e-12)
        assert dist == pytest.approx(min(d), abs=1e-9)
        assert nearest in [P.index[i] for i in np.flatnonzero(np.isclose(d, min(d)))]
        land = P.geometry.values[0]
        share, dist, _ = share_on_parcels(fp, P, land)
        assert share == pytest.approx(shapely.intersection(land, fp).area / fp.area)
        assert dist == pytest.approx(shapely.distance(land, fp))


def test_check_on_land_reports_what_it_measured():
    s = _parcels()
    out = check_on_land(s, box_project((X0, Y0, X0 + 10, Y0 + 10)))
    assert out == {"share_on_land": pytest.approx(1.0), "distance_m": 0.0}


# -- clip ----------------------------------------------------------------------------------
def test_clip_refuses_a_negative_margin_and_an_area_in_degrees():
    scene = lone_box()
    area = (X0, Y0, X0 + 50, Y0 + 50)
    for bad in (-5.0, np.nan, "5", True):
        with pytest.raises(InputError, match="margin must be a distance >= 0"):
            scene.clip(area, margin=bad)
    with pytest.raises(InputError, match=r"got -5\.0\b"):
        scene.clip(area, margin=np.float64(-5.0))
    # lon/lat of Paris 17e on a Lambert-93 scene gave an empty scene
    with pytest.raises(CRSError, match=r"\(2\.31, 48\.88, 2\.32, 48\.89\).*degrees.*EPSG:2154"):
        scene.clip((2.31, 48.88, 2.32, 48.89))
    with pytest.raises(CRSError, match="area of use"):
        scene.clip((5e7, 5e7, 5e7 + 10, 5e7 + 10))
    # the same box in metres keeps the building and the margin of terrain
    assert len(scene.clip(area, margin=5.0).buildings) == 1


def test_sun_area_in_degrees_is_refused_too():
    with pytest.raises(CRSError, match=r"area \(2\.31"):
        cc.shadow.sun_hours(lone_box(), "2024-06-21", area=(2.31, 48.88, 2.32, 48.89))
