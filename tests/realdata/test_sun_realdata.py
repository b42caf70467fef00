"""Issue 17 reproductions on real files: one vertical frame and study area /
context for the sun analyses.

Data (../shared/data, see its SOURCES.md): the Etalab cadastre of Paris 18e
(``cadastre-75118-parcelles.json``) and the BDNB buildings of Paris 11e
(``bdnb_paris11_batiments.shp``, heights ``hauteur`` and ground altitudes
``altitude_s``).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely

import cimcity as cc
from cimcity.errors import DataQualityWarning, GeoreferenceError
from cimcity.scene.variants import clip
from cimcity.sun.sensors import GROUND_OFFSET
from cimcity.terrain import Terrain
from cimcity.testing import box_project

pytestmark = pytest.mark.realdata

PARCEL = "75118000AJ0020"
#: project base [m NGF-IGN69] (the Goutte d'Or lies at about 45 m)
BASE_Z = 45.0
#: sun-hours agree within half a 6-minute step [h]
HOURS_TOL = 0.05
WINTER = "2024-12-21"
#: one 6-minute step [h]
STEP_H = 0.1


@pytest.fixture(scope="module")
def parcels_18e(shared_data):
    P = gpd.read_file(shared_data / "france" / "cadastre-75118-parcelles.json")
    P = P.to_crs(2154)
    site = P.loc[P["id"] == PARCEL].geometry.iloc[0]
    return P[P.geometry.distance(site) < 80], site


def _impact(parcels, site, dem=None):
    scene = cc.Scene()
    scene.add_parcels(parcels)
    if dem is not None:
        scene.add_terrain(dem)
    bim = box_project(site.buffer(-1.0), base_z=BASE_Z, height=18.0)
    after = scene.with_project(bim, parcels=[PARCEL])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)  # no neighbours: flagged
        return cc.shadow.impact(
            scene, after, [WINTER], spacing=2.0, surfaces=("ground",), radius=60.0
        )


def test_project_on_bare_parcels_agrees_with_a_flat_dem_at_its_base(parcels_18e):
    # the issue: without a DEM the ground sensors sat at z = 0.05 m while the
    # project stands at 45 m NGF, so its shadow fell 45 / tan(e) m away and
    # "no neighbour loses sun"; with a flat DEM at 45 m the neighbours lose sun.
    # One vertical frame: without a DEM the open ground stands on the known
    # ground (here the project's base), so both cases must give the same losses.
    parcels, site = parcels_18e
    bare = _impact(parcels, site)
    b = parcels.total_bounds
    cols, rows = int(b[2] - b[0]) + 80, int(b[3] - b[1]) + 80
    dem = Terrain.from_array(np.full((rows, cols), BASE_Z), (b[0] - 40, b[3] + 40), 1.0)
    flat = _impact(parcels, site, dem)
    # sensors stand on the project's base, in its frame
    np.testing.assert_allclose(bare.points["z"], BASE_Z + GROUND_OFFSET, atol=1e-9)
    assert bare.points["delta"].min() < -1.0  # the old code: 0 everywhere
    # the same sensors (same grid cells) lose the same sun-hours
    key = ["x", "y"]
    m = bare.points.merge(flat.points, on=key, suffixes=("_bare", "_dem"))
    assert len(m) > 0.6 * len(flat.points)
    diff = np.abs(m["delta_bare"] - m["delta_dem"])
    assert diff.max() <= HOURS_TOL, diff.max()
    lose = lambda r: set(  # noqa: E731
        r.by_parcel.loc[r.by_parcel["worst_delta"] < -0.1, "parcel_id"]
    )
    assert lose(bare) == lose(flat) and len(lose(bare)) >= 3
    # no neighbour at all: every sensor flagged as lacking context
    assert not bare.points["context_ok"].any()


def test_project_40_m_off_the_terrain_is_refused(parcels_18e):
    parcels, site = parcels_18e
    scene = cc.Scene()
    scene.add_parcels(parcels)
    b = parcels.total_bounds
    dem = Terrain.from_array(
        np.full((int(b[3] - b[1]) + 80, int(b[2] - b[0]) + 80), 5.0),
        (b[0] - 40, b[3] + 40), 1.0,
    )
    scene.add_terrain(dem)
    bim = box_project(site.buffer(-1.0), base_z=BASE_Z, height=18.0)
    with pytest.warns(DataQualityWarning, match="differ by 40.0 m"):
        after = scene.with_project(bim, parcels=[PARCEL])
    with pytest.raises(GeoreferenceError, match=r"45\.00 m.*5\.00 m") as e:
        cc.shadow.impact(scene, after, [WINTER], spacing=4.0, surfaces=("ground",))
    assert "placement" in str(e.value)


@pytest.fixture(scope="module")
def paris11(shared_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        B = cc.read_buildings(shared_data / "france" / "bdnb_paris11_batiments.shp")
        scene = cc.Scene()
        scene.add_buildings(B)
    return scene


def test_bdnb_buildings_without_altitude_join_their_neighbours_frame(paris11):
    # 34 of the 5,227 BDNB buildings have no altitude_sol: they used to stand
    # at 0 m among neighbours at 29-56 m NGF
    B = paris11.buildings
    assert (B["ground_source"] == "nearest").sum() == 34
    assert B["ground_z"].min() >= 28.7  # the file's lowest altitude_sol
    assert cc.scene.heights.vertical_offsets(paris11) == []


def test_bdnb_buildings_over_a_dem_in_another_frame_are_refused(paris11):
    b = paris11.bounds
    dem = Terrain.from_array(
        np.zeros((int((b[3] - b[1]) / 10) + 2, int((b[2] - b[0]) / 10) + 2)),
        (b[0] - 5, b[3] + 5), 10.0,
    )
    scene = paris11.copy()
    scene.terrain = dem  # a DEM in a local frame (0 m), buildings in NGF
    scene.touch()
    with pytest.raises(GeoreferenceError, match="buildings.*terrain"):
        cc.shadow.sun_hours(scene, WINTER, surfaces=("ground",), spacing=50.0)


def _south_band(res, area, width=10.0):
    S = res.sensors
    return S[S["y"] < area.bounds[1] + width]


def test_clipped_block_keeps_its_context_and_flags_its_edges(paris11):
    # the issue: after Scene.clip the buildings just outside are gone, so the
    # sun-hours map shows a bright band along the south edge. Reference: the
    # whole arrondissement studied on the same area (every occluder present).
    b = paris11.bounds
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    area = shapely.box(cx - 60, cy - 60, cx + 60, cy + 60)
    kw = dict(surfaces=("ground",), spacing=2.0, area=area)
    full = cc.shadow.sun_hours(paris11, WINTER, **kw)
    bare_scene = clip(paris11, area)
    with pytest.warns(DataQualityWarning, match="context"):
        bare = cc.shadow.sun_hours(bare_scene, WINTER, **{**kw, "area": None})
    ctx_scene = clip(paris11, area, context="auto")
    assert ctx_scene.meta["study_area"].equals(area)
    assert ctx_scene.meta["context_m"] == pytest.approx(300.0)  # capped
    assert len(ctx_scene.buildings) > 10 * len(bare_scene.buildings)
    ctx = cc.shadow.sun_hours(ctx_scene, WINTER, **{**kw, "area": None})
    # only the study area is reported, on the same grid
    for r in (bare, ctx):
        assert len(r.sensors) == len(full.sensors)
        assert shapely.contains_xy(area.buffer(1e-6), r.sensors["x"], r.sensors["y"]).all()
    sb, sc, sf = (_south_band(r, area) for r in (bare, ctx, full))
    # without context the south edge is far too bright, and flagged
    assert sb["sun_hours"].mean() > sf["sun_hours"].mean() + 2.0
    assert not sb["context_ok"].any()
    # with context it matches the whole arrondissement, and is not flagged; the
    # capped 300 m margin ignores buildings farther away, which shade only a sun
    # below atan(52.9 m / 300 m) = 10°: at most one 6-minute step here
    np.testing.assert_allclose(sc["sun_hours"], sf["sun_hours"], atol=STEP_H * 1.001)
    assert abs(sc["sun_hours"].mean() - sf["sun_hours"].mean()) < 0.01
    assert sc["context_ok"].all()
    assert ctx.summary()["sensors_without_context"] == 0
