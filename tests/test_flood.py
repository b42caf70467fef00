"""Flood extent, exposure and sweep (cimcity.flood).

References used below, each with its tolerance:
- analytic DEMs (tilted plane with a channel and a closed pit, terraced
  street): expected extents, depths and storeys are written from the geometry,
  compared exactly (cells) or to 1e-9 m (depths, float rounding only);
- scipy.ndimage.label + np.isin on the same DEM and level: an independent
  connected-component reference, compared cell for cell;
- the priority-flood spill levels (a different algorithm, Barnes et al. 2014)
  agree with the run-based fill cell for cell;
- real DEMs (pysheds Fort Worth, Gothenburg) against the scipy reference.
"""

from __future__ import annotations

import contextlib
import importlib
import warnings
from unittest import mock

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

import cimcity as cc
from cimcity import flood
from cimcity.errors import CRSError, DataQualityWarning, GeometryError, InputError
from cimcity.terrain import Terrain

X0, Y0 = 649_000.0, 6_864_000.0  # Lambert-93 [m]
#: depths are differences of float64 altitudes: exact up to rounding [m]
DEPTH_TOL = 1e-9


def make_terrain(z, res=1.0, **kw):
    z = np.asarray(z, float)
    return Terrain.from_array(z, (X0, Y0 + z.shape[0] * res), res, **kw)


def fractal(n, seed, nodata=0.0):
    """Fractal (1/f^1.6) surface scaled to 0-100 m, optional random nodata."""
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(n)
    k = np.hypot(f[:, None], f[None, :])
    k[0, 0] = 1.0
    spec = (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))) / k**1.6
    z = np.real(np.fft.ifft2(spec))
    z = (z - z.min()) / (z.max() - z.min()) * 100.0
    if nodata:
        z[rng.random(z.shape) < nodata] = np.nan
    return z


def data_edge(z):
    """Numpy definition of the data edge: valid cells on the grid border or with
    a nodata 4-neighbour (reference for the default sources)."""
    valid = np.isfinite(z)
    inner = np.zeros_like(valid)
    inner[1:-1, 1:-1] = (
        valid[1:-1, 1:-1]
        & valid[:-2, 1:-1]
        & valid[2:, 1:-1]
        & valid[1:-1, :-2]
        & valid[1:-1, 2:]
    )
    return valid & ~inner


def scipy_reference(z, level, seed_rc, connectivity):
    """Connected flood from scipy.ndimage.label: label every component below the
    level, keep those holding a source cell."""
    mask = z < level
    structure = np.ones((3, 3), bool) if connectivity == 8 else None
    lab, _ = ndimage.label(mask, structure=structure)
    keep = np.unique(lab[seed_rc])
    keep = keep[keep > 0]
    return np.isin(lab, keep)


# -- analytic DEM: tilted plane, channel, closed pit --------------------------------------
ROWS, COLS = 40, 60
CH_ROW, CH_END = 20, 45  # channel along row 20, columns 0..44
PIT = (slice(8, 11), slice(50, 53))  # 3 x 3 closed pit, far from the water


def plane_with_channel():
    """z = 10 + 0.1 col (rising east), a 3 m deep channel along one row from the
    west edge, and a closed pit at 5 m in the high eastern part."""
    c = np.arange(COLS)
    z = np.tile(10.0 + 0.1 * c, (ROWS, 1))
    z[CH_ROW, :CH_END] -= 3.0
    z[PIT] = 5.0
    return z


def expected_plane(level):
    """Cells flooded from the west edge, written from the geometry: the plane
    below the level (columns with 10 + 0.1 c < level) plus the channel cells
    below the level; the pit never connects."""
    c = np.arange(COLS)
    exp = np.zeros((ROWS, COLS), bool)
    exp[:, 10.0 + 0.1 * c < level] = True
    chan = 7.0 + 0.1 * c[:CH_END] < level
    exp[CH_ROW, :CH_END] |= chan
    return exp


def test_tilted_plane_channel_floods_exactly_the_connected_cells():
    z = plane_with_channel()
    t = make_terrain(z)
    level = 12.05  # plane floods columns 0..20; channel (7 + 0.1 c) all 45 cells
    f = flood.extent(t, level)
    exp = expected_plane(level)
    assert f.wet.sum() == exp.sum() == 40 * 21 + (CH_END - 21)
    np.testing.assert_array_equal(f.wet, exp)
    # depth = level - elevation on every wet cell, NaN on every dry one
    np.testing.assert_allclose(f.depth[exp], level - z[exp], rtol=0, atol=DEPTH_TOL)
    assert np.isnan(f.depth[~exp]).all()
    # volume = sum of depths x cell area (1 m2); area in m2
    assert f.area == pytest.approx(exp.sum())
    assert f.volume == pytest.approx((level - z[exp]).sum(), abs=1e-6)
    assert f.max_depth == pytest.approx(level - 7.0)
    # the default source is the lowest edge cell: the channel mouth
    assert f.n_sources == 1
    # 4-connectivity gives the same here (no diagonal-only links)
    np.testing.assert_array_equal(flood.extent(t, level, connectivity=4).wet, exp)


def test_closed_pit_dry_when_connected_wet_in_bathtub():
    z = plane_with_channel()
    t = make_terrain(z)
    level = 12.05
    con = flood.extent(t, level)
    bat = flood.extent(t, level, mode="bathtub")
    assert not con.wet[PIT].any()
    assert bat.wet[PIT].all()
    np.testing.assert_allclose(bat.depth[PIT], level - 5.0, atol=DEPTH_TOL)
    # bathtub = connected + the pit; the pit is reported as disconnected
    assert bat.area == con.area + 9
    assert bat.disconnected_area == pytest.approx(9.0)
    np.testing.assert_array_equal(bat.connected, con.wet)
    poly = bat.polygons
    assert len(poly) == 2
    assert sorted(poly["connected"].tolist()) == [False, True]
    pit = poly[~poly["connected"]].iloc[0]
    assert pit["area"] == pytest.approx(9.0)
    assert pit["max_depth"] == pytest.approx(level - 5.0)
    assert pit["volume"] == pytest.approx(9 * (level - 5.0))
    # polygons cover exactly the flooded cells (shapely area = cell count)
    assert shapely.is_valid(poly.geometry.values).all()
    assert poly.geometry.area.sum() == pytest.approx(bat.area)
    assert poly["area"].sum() == pytest.approx(bat.area)


def test_nodata_never_floods_nor_connects():
    z = plane_with_channel()
    z[:, 5] = np.nan  # a nodata wall across the whole grid, west of the plane
    t = make_terrain(z)
    f = flood.extent(t, 12.05, sources=np.array([[X0 + 0.5, Y0 + 40 - 20.5]]))
    # the source is at column 0 of the channel row: only columns 0..4 flood
    assert f.wet[:, :5].all() and not f.wet[:, 5:].any()
    assert not np.isnan(f.depth[f.wet]).any()


def test_sources_polygon_line_points_and_mask():
    z = plane_with_channel()
    t = make_terrain(z)
    level = 9.05  # plane is dry everywhere (>= 10 m); only the channel floods
    # channel cells below 9.05: 7 + 0.1 c < 9.05 -> c <= 20
    exp = np.zeros_like(z, bool)
    exp[CH_ROW, :21] = True
    ymid = Y0 + ROWS - CH_ROW - 0.5
    line = shapely.LineString([(X0 + 10.5, ymid), (X0 + 12.5, ymid)])
    poly = line.buffer(0.2)
    pts = np.array([[X0 + 3.5, ymid]])
    mask = np.zeros_like(z, bool)
    mask[CH_ROW, 7] = True
    for src in (line, poly, [line], pts, mask, gpd.GeoSeries([line], crs="EPSG:2154")):
        np.testing.assert_array_equal(flood.extent(t, level, sources=src).wet, exp)
    # a GeoDataFrame in lon/lat is reprojected to the DEM CRS (with a warning)
    g = gpd.GeoDataFrame(geometry=[line], crs="EPSG:2154").to_crs("EPSG:4326")
    with pytest.warns(cc.errors.ReprojectionWarning):
        np.testing.assert_array_equal(flood.extent(t, level, sources=g).wet, exp)
    # a source above the level floods nothing
    high = np.array([[X0 + 50.5, Y0 + 5.5]])
    assert flood.extent(t, level, sources=high).area == 0


@pytest.mark.parametrize("connectivity", [8, 4])
def test_extent_equals_scipy_label_reference(connectivity):
    z = fractal(257, seed=3, nodata=0.03)
    t = make_terrain(z)
    rng = np.random.default_rng(connectivity)
    rr = rng.integers(0, 257, 12)
    cc_ = rng.integers(0, 257, 12)
    xy = np.column_stack([X0 + cc_ + 0.5, Y0 + 257 - rr - 0.5])
    for level in np.nanpercentile(z, [5, 30, 55, 80]):
        f = flood.extent(t, level, sources=xy, connectivity=connectivity)
        ref = scipy_reference(z, level, (rr, cc_), connectivity)
        np.testing.assert_array_equal(f.wet, ref)  # cell for cell
        spill = flood.spill_levels(t, sources=xy, connectivity=connectivity)
        np.testing.assert_array_equal(spill < level, ref)  # priority-flood agrees
        b = flood.extent(t, level, mode="bathtub", connectivity=connectivity)
        np.testing.assert_array_equal(b.wet, z < level)
        # connected bodies of the bathtub = components holding a source
        np.testing.assert_array_equal(
            flood.extent(
                t, level, sources=xy, mode="bathtub", connectivity=connectivity
            ).connected,
            ref,
        )


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    q=st.lists(st.floats(0, 100), min_size=2, max_size=4),
    connectivity=st.sampled_from([4, 8]),
)
def test_flooded_area_never_shrinks_when_the_level_rises(seed, q, connectivity):
    z = fractal(48, seed, nodata=0.05)
    t = make_terrain(z)
    prev = None
    for level in sorted(np.nanpercentile(z, q)):
        f = flood.extent(t, level, connectivity=connectivity)
        if prev is not None:
            assert f.area >= prev.area
            assert not (prev.wet & ~f.wet).any()  # wet stays wet
            assert f.volume >= prev.volume - 1e-9
        prev = f


def test_flat_profile_reproduces_the_scalar_case():
    z = fractal(120, seed=5, nodata=0.02)
    t = make_terrain(z)
    level = float(np.nanpercentile(z, 40))
    line = shapely.LineString([(X0, Y0 + 10), (X0 + 60, Y0 + 70), (X0 + 120, Y0 + 60)])
    prof = flood.LevelProfile(line, [0.0, 50.0, line.length], [level] * 3)
    a = flood.extent(t, level)
    b = flood.extent(t, prof)
    np.testing.assert_array_equal(a.wet, b.wet)
    np.testing.assert_allclose(b.depth[b.wet], a.depth[a.wet], atol=DEPTH_TOL)
    assert b.level is None and b.levels is not None


def test_sloping_profile_levels_follow_chainage():
    # river axis along y = Y0 + 5 from x = X0 + 10 to X0 + 90: a cell's nearest
    # river point has chainage clip(x - 10, 0, 80); levels 20 -> 12 m along it
    z = np.full((30, 100), 0.0)
    t = make_terrain(z)
    line = shapely.LineString([(X0 + 10, Y0 + 5), (X0 + 90, Y0 + 5)])
    prof = flood.LevelProfile(line, [0.0, 80.0], [20.0, 12.0])
    grid = prof.grid(t)
    x, _ = t.cell_centers()
    ch = np.clip(x - X0 - 10, 0, 80)
    exp = 20.0 - 8.0 * ch / 80.0  # linear interpolation, constant beyond the ends
    np.testing.assert_allclose(grid, np.broadcast_to(exp, grid.shape), atol=1e-9)
    f = flood.extent(t, prof)
    np.testing.assert_allclose(f.depth, np.broadcast_to(exp, grid.shape), atol=1e-9)
    # stations as points near the line give the same profile
    p2 = flood.LevelProfile.from_points(
        line,
        [shapely.Point(X0 + 90, Y0 + 7), shapely.Point(X0 + 10, Y0 + 2)],
        [12.0, 20.0],
    )
    np.testing.assert_allclose(p2.stations, [0.0, 80.0])
    np.testing.assert_allclose(p2.grid(t), grid)


def test_gauge_levels_and_datum():
    g = flood.gauge_level(8.62)
    assert g.value == pytest.approx(34.54)  # 25.92 m zero + 8.62 m (1910)
    assert g.datum == "NGF-IGN69"
    assert flood.scenario("1910").value == pytest.approx(34.54)
    assert flood.scenario(2016).value == pytest.approx(25.92 + 6.10)
    assert [lv.value for lv in flood.gauge_level([5.0, 6.0])] == pytest.approx(
        [30.92, 31.92]
    )
    z = plane_with_channel() + 20
    f = flood.extent(make_terrain(z), g)
    assert f.level == pytest.approx(34.54)
    assert "Austerlitz" in f.summary()["level"]
    with pytest.raises(InputError, match="RH2000"):
        flood.extent(make_terrain(z, vertical_datum="RH2000"), g)
    with pytest.warns(cc.errors.CimcityWarning, match="unknown"):
        flood.extent(make_terrain(z, vertical_datum="unknown"), g)
    with pytest.raises(InputError, match="unknown flood scenario"):
        flood.scenario("1492")
    with pytest.raises(InputError, match="unknown gauge"):
        flood.gauge_level(3.0, gauge="pont-neuf")


def test_bad_input_raises_specific_errors():
    t = make_terrain(plane_with_channel())
    with pytest.raises(InputError, match="connectivity"):
        flood.extent(t, 12.0, connectivity=6)
    with pytest.raises(InputError, match="mode"):
        flood.extent(t, 12.0, mode="bath")
    with pytest.raises(InputError, match="finite"):
        flood.extent(t, float("nan"))
    with pytest.raises(InputError, match="sweep"):
        flood.extent(t, [12.0, 13.0])
    with pytest.raises(InputError, match="shape"):
        flood.extent(t, np.zeros((3, 3)))
    with pytest.raises(InputError, match="Terrain"):
        flood.extent(plane_with_channel(), 12.0)
    with pytest.raises(InputError, match="do not touch the DEM"):
        flood.extent(t, 12.0, sources=shapely.Point(0, 0).buffer(1))
    with pytest.raises(InputError, match="unknown sources"):
        flood.extent(t, 12.0, sources="river")
    with pytest.raises(GeometryError):
        flood.LevelProfile(shapely.Point(0, 0), [0.0], [1.0])
    with pytest.raises(InputError, match="increase"):
        flood.LevelProfile(shapely.LineString([(0, 0), (1, 0)]), [1.0, 0.0], [1.0, 2.0])


# -- exposure on a synthetic street ---------------------------------------------------------
GROUND = [30.0, 31.0, 32.0, 33.0, 34.0]  # plateau altitude of each 20 m band [m]
LEVEL = 33.5  # water level [m]


def street():
    """Five 10 x 10 m buildings along an east-west street, each on a flat 20 m
    wide plateau at GROUND[i]; a river channel at 25 m along the south edge
    connects every plateau below the level. Parcels are the 20 x 20 m plots."""
    z = np.empty((50, 100))
    for i, g in enumerate(GROUND):
        z[:, 20 * i : 20 * i + 20] = g
    z[45:, :] = 25.0  # channel: rows 45-49 = y 0..5 m
    t = make_terrain(z)
    fp = [
        shapely.box(X0 + 20 * i + 5, Y0 + 20, X0 + 20 * i + 15, Y0 + 30)
        for i in range(5)
    ]
    plots = [
        shapely.box(X0 + 20 * i, Y0 + 15, X0 + 20 * i + 20, Y0 + 35) for i in range(5)
    ]
    b = gpd.GeoDataFrame(
        {
            "building_id": ["b0", "b1", "b2", "b3", "b4"],
            "height": [10.0, 15.0, 12.0, 9.0, 15.0],
            "storeys": [4, 5, 4, 3, 5],  # storey heights 2.5, 3, 3, 3, 3 m
            "ground_z": GROUND,
            "basement_levels": [1, 0, np.nan, 2, 1],
        },
        geometry=fp,
        crs="EPSG:2154",
    )
    s = cc.Scene()
    s.add_terrain(t)
    s.add_parcels(
        gpd.GeoDataFrame(
            {"parcel_id": [f"p{i}" for i in range(5)]}, geometry=plots, crs="EPSG:2154"
        )
    )
    s.add_zones(
        gpd.GeoDataFrame(
            {"libelle": ["UG"]},
            geometry=[shapely.box(X0, Y0, X0 + 100, Y0 + 50)],
            crs="EPSG:2154",
        )
    )
    s.add_buildings(b)
    return s


def test_exposure_street_gives_exact_flooded_storeys():
    s = street()
    f = flood.extent(s.terrain, LEVEL)
    e = flood.exposure(s, f)
    B = e.buildings
    # ring 1-3 m outside each footprint lies on its flat plateau: median = plateau
    np.testing.assert_allclose(B["ground_level"], GROUND, atol=1e-9)
    assert B["flooded"].tolist() == [True, True, True, True, False]
    np.testing.assert_allclose(B["water_depth"], [3.5, 2.5, 1.5, 0.5, 0.0], atol=1e-9)
    np.testing.assert_allclose(B["water_level"].iloc[:4], LEVEL)
    assert np.isnan(B["water_level"].iloc[4])
    # floors below 33.5 m: b0 30, 32.5 (2.5 m storeys) -> 2; b1 31 (next 34) -> 1;
    # b2 32 (35) -> 1; b3 33 (36) -> 1; b4 dry -> 0
    assert B["flooded_storeys"].tolist() == [2, 1, 1, 1, 0]
    np.testing.assert_allclose(B["storey_height"], [2.5, 3.0, 3.0, 3.0, 3.0])
    # basements: flooded when the water reaches the building; NA when unknown
    assert B["basement_flooded"].tolist() == [True, False, pd.NA, True, False]
    # parcels: the 20 x 20 m plot of a flooded plateau is entirely under water
    P = e.parcels
    np.testing.assert_allclose(P["flooded_area"], [400, 400, 400, 400, 0])
    np.testing.assert_allclose(
        P["mean_water_depth"], [3.5, 2.5, 1.5, 0.5, 0.0], atol=1e-9
    )
    assert P["flooded_buildings"].tolist() == [1, 1, 1, 1, 0]
    Z = e.zones
    assert Z["flooded_buildings"].iloc[0] == 4 and Z["flooded_storeys"].iloc[0] == 5
    assert Z["basements_flooded"].iloc[0] == 2
    s_ = e.summary()
    assert s_["flooded_buildings"] == 4 and s_["flooded_storeys"] == 5
    # a water level exactly at a floor does not flood that floor
    e2 = flood.exposure(s, flood.extent(s.terrain, 34.0))
    assert e2.buildings["flooded_storeys"].tolist() == [2, 1, 1, 1, 0]


def test_exposure_uses_bim_storey_elevations():
    import trimesh

    s = street()
    pid = "b1"  # the building on the 31 m plateau becomes a BIM project
    bim = cc.BimModel(
        id=pid,
        mesh=trimesh.creation.box((10, 10, 10)),
        footprint=s.buildings.geometry["b1"],
        base_z=27.5,
        top_z=39.4,
        storeys=pd.DataFrame(
            {"name": ["SS", "RDC", "R+1", "R+2"], "elevation": [27.5, 31.0, 33.4, 36.4]}
        ),
        crs="EPSG:2154",
    )
    s.add_bim(bim)
    e = flood.exposure(s, flood.extent(s.terrain, LEVEL))
    row = e.buildings.loc[pid]
    # floors 31.0 and 33.4 are below 33.5 m; 27.5 m is a basement (< 31 - 0.5)
    assert row["storeys_from"] == "bim"
    assert row["flooded_storeys"] == 2 and row["storeys"] == 3
    assert row["basement_levels"] == 1 and bool(row["basement_flooded"])


def test_exposure_ground_ignores_interpolated_dem_under_buildings():
    s = street()
    z = s.terrain.elevation.copy()
    # raise the DEM under building b2 (footprint x 45-55, y 20-30 -> rows 20-29)
    z[20:30, 45:55] = 40.0
    t = Terrain(z, s.terrain.transform, s.terrain.crs)
    s2 = s.copy()
    s2.terrain = t
    e = flood.exposure(s2, flood.extent(t, LEVEL))
    assert e.buildings.loc["b2", "ground_level"] == pytest.approx(32.0)
    assert e.buildings.loc["b2", "flooded_storeys"] == 1


def test_exposure_errors():
    s = street()
    f = flood.extent(s.terrain, LEVEL)
    with pytest.raises(InputError, match="ring"):
        flood.exposure(s, f, ring=(3, 1))
    other = Terrain(s.terrain.elevation, s.terrain.transform, "EPSG:3857")
    with pytest.raises(CRSError):
        flood.exposure(s, flood.extent(other, LEVEL))
    with pytest.raises(InputError, match="Scene"):
        flood.exposure(s.buildings, f)


# -- unknown is not zero (issue 17, item 2) ---------------------------------------------------
def test_nodata_hole_next_to_water_warns_extent_is_a_lower_bound():
    # flat 20 x 20 m plane at 1 m, level 2 m: everything floods but a 3 x 3
    # nodata hole in the middle; under 8-connectivity its 8 outer cells touch
    # the water (the centre does not). A nodata band along the grid edge is
    # the edge of the data, not a hole: no warning. One 5 m corner cell keeps
    # the level below the DEM's top (else "the whole DEM floods" warns too).
    z = np.ones((20, 20))
    z[0, 19] = 5.0
    z[9:12, 9:12] = np.nan
    with pytest.warns(DataQualityWarning, match="8 nodata cells"):
        f = flood.extent(make_terrain(z), 2.0, sources="border")
    assert f.nodata_next_to_water == 8 and f.summary()["nodata_next_to_water"] == 8
    # 4-connectivity: each of the 8 outer cells still shares a side with water
    with pytest.warns(DataQualityWarning, match="8 nodata cells"):
        f4 = flood.extent(make_terrain(z), 2.0, sources="border", connectivity=4)
    assert f4.nodata_next_to_water == 8
    edge = np.ones((20, 20))
    edge[0, 19] = 5.0
    edge[:, :3] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        g = flood.extent(make_terrain(edge), 2.0)
    assert g.nodata_next_to_water == 0 and g.n_cells == 20 * 17 - 1


def test_exposure_off_the_dem_is_unknown_not_dry():
    # a sixth building 100 m east of the 100 m wide DEM, no ground_z: its ring
    # has no DEM data, so reached-or-not is unknown (before: flooded False,
    # water_depth 0); its plot is off the DEM too (flooded_area NaN, not 0)
    s = street()
    s.add_buildings(
        gpd.GeoDataFrame(
            {"building_id": ["far"], "height": [9.0], "storeys": [3]},
            geometry=[shapely.box(X0 + 200, Y0 + 20, X0 + 210, Y0 + 30)],
            crs="EPSG:2154",
        )
    )
    s.add_parcels(
        gpd.GeoDataFrame(
            {"parcel_id": ["pfar"]},
            geometry=[shapely.box(X0 + 195, Y0 + 15, X0 + 215, Y0 + 35)],
            crs="EPSG:2154",
        )
    )
    with pytest.warns(DataQualityWarning, match="no DEM data around them"):
        e = flood.exposure(s, flood.extent(s.terrain, LEVEL))
    B = e.buildings
    far = B.loc["far"]
    assert pd.isna(far["flooded"]) and np.isnan(far["water_depth"])
    assert pd.isna(far["flooded_storeys"]) and far["ground_from"] == "unknown"
    # the five street buildings are unchanged (known)
    assert B["flooded"].iloc[:5].tolist() == [True, True, True, True, False]
    sm = e.summary()
    assert sm["flooded_buildings"] == 4 and sm["unknown_buildings"] == 1
    assert sm["flooded_storeys"] is None  # one building's water is unknown
    P = e.parcels
    assert (
        np.isnan(P.loc["pfar", "flooded_area"]) and P.loc["pfar", "observed_share"] == 0
    )
    assert P.loc["p0", "observed_share"] == pytest.approx(1.0)
    assert P.loc["pfar", "unknown_buildings"] == 1
    sw = flood.sweep(s.terrain, [LEVEL], scene=s).table
    assert sw["unknown_buildings"].tolist() == [1] and np.isnan(
        sw["flooded_storeys"][0]
    )
    assert "unknown" in repr(e)


def test_exposure_storeys_estimated_or_unknown():
    # b0-b4 of the street without the storeys column: storeys come from the
    # height (3 m storeys, flagged 'estimated' with a warning); b0 also loses
    # its height (scene default): reached, its flooded storeys are unknown
    s = street()
    b = s.buildings.drop(columns=["storeys", "storeys_source"]).copy()
    b["height"] = [np.nan, 15.0, 12.0, 9.0, 15.0]
    b = b[["height", "ground_z", "basement_levels", "geometry"]]
    s2 = cc.Scene()
    s2.add_terrain(s.terrain)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the scene's own estimate notes
        s2.add_buildings(b)
    with pytest.warns(DataQualityWarning, match="no storey count"):
        e = flood.exposure(s2, flood.extent(s2.terrain, LEVEL))
    B = e.buildings
    assert B["storeys_from"].tolist() == ["unknown"] + ["estimated"] * 4
    assert pd.isna(B["flooded_storeys"].iloc[0])
    # the others: 15/5, 12/4, 9/3 m storeys -> same floors as with the data
    assert B["flooded_storeys"].iloc[1:].tolist() == [1, 1, 1, 0]
    assert e.summary()["flooded_storeys"] is None


def test_sweep_matches_extent_and_exposure_per_level():
    s = street()
    levels = [29.0, 30.5, 32.2, 33.5, 34.5]
    sw = flood.sweep(s.terrain, levels, scene=s).table
    assert sw["flooded_area"].is_monotonic_increasing
    for lv, row in zip(levels, sw.itertuples(), strict=True):
        f = flood.extent(s.terrain, lv)
        e = flood.exposure(s, f)
        assert row.flooded_area == pytest.approx(f.area)
        assert row.volume == pytest.approx(f.volume)
        assert row.flooded_buildings == int(e.buildings["flooded"].sum())
        assert row.flooded_storeys == int(e.buildings["flooded_storeys"].sum())
    assert sw["flooded_buildings"].tolist() == [0, 1, 3, 4, 5]
    g = flood.sweep(s.terrain, flood.gauge_level([5.0, 7.0])).table
    np.testing.assert_allclose(g["gauge_reading"], [5.0, 7.0])
    np.testing.assert_allclose(g["level"], [30.92, 32.92])


def test_outputs_files_and_plots(tmp_path):
    import rasterio

    s = street()
    f = flood.extent(s.terrain, LEVEL, mode="bathtub")
    p = f.to_file(tmp_path / "depth.tif")
    with rasterio.open(p) as ds:
        d = ds.read(1)
        assert ds.crs.to_epsg() == 2154 and ds.transform == s.terrain.transform
    np.testing.assert_allclose(d, f.depth.astype(np.float32), equal_nan=True)
    g = gpd.read_file(f.to_file(tmp_path / "flood.gpkg"))
    assert g.geometry.area.sum() == pytest.approx(f.area)
    e = flood.exposure(s, f)
    e.to_file(tmp_path / "exposure.csv")
    e.to_file(tmp_path / "exposure.gpkg")
    assert len(pd.read_csv(tmp_path / "exposure.csv")) == 5
    with pytest.raises(InputError, match="cannot write"):
        f.to_file(tmp_path / "x.xyz")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = e.plot()
    ax.figure.savefig(tmp_path / "map.png", dpi=60)
    ax2 = flood.sweep(s.terrain, [30.5, 33.5], scene=s).plot()
    ax2.figure.savefig(tmp_path / "sweep.png", dpi=60)
    plt.close("all")
    img = plt.imread(tmp_path / "map.png")
    assert img[..., :3].std() > 0.05  # not blank


def test_results_follow_the_result_protocol(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import rasterio

    from cimcity.results import Result

    s = street()
    f = flood.extent(s.terrain, LEVEL, mode="bathtub")
    e = flood.exposure(s, f)
    sw = flood.sweep(s.terrain, [30.5, 33.5], scene=s)
    for r in (f, e, sw):
        assert isinstance(r, Result)
        summary = r.summary()
        assert all(
            v is None or type(v) in (int, float, str, bool) for v in summary.values()
        ), summary
        assert "<table>" in r._repr_html_()
    # main tables, and the old names are the same objects
    assert list(f.tables()) == ["polygons"] and f.table is f.polygons
    assert list(e.tables()) == ["buildings", "parcels", "zones"]
    assert e.table is e.buildings
    assert list(sw.tables()) == ["levels"] and sw.table is sw.levels
    assert sw.summary()["first_level_reaching_buildings_m"] == pytest.approx(30.5)
    # the depth GeoTIFF keeps its tags; tables round-trip by suffix
    with rasterio.open(f.to_file(tmp_path / "d" / "depth.tif")) as ds:
        assert ds.tags()["quantity"] == "water depth" and ds.tags()["mode"] == "bathtub"
    back = gpd.read_parquet(f.to_file(tmp_path / "flood.parquet"))
    assert back["area"].sum() == pytest.approx(f.area)
    parcels = gpd.read_file(e.to_file(tmp_path / "e.gpkg", layer="parcels"))
    np.testing.assert_allclose(parcels["flooded_area"], [400, 400, 400, 400, 0])
    assert len(pd.read_csv(sw.to_file(tmp_path / "sweep.csv"))) == 2
    with pytest.raises(InputError, match="unknown layer"):
        e.to_file(tmp_path / "e.gpkg", layer="flood")
    with pytest.warns(FutureWarning, match="polygons"):
        old_layer = f.to_file(tmp_path / "old.gpkg", layer="flood")
    assert gpd.list_layers(old_layer)["name"].tolist() == ["polygons"]
    with pytest.raises(InputError, match="GeoTIFF"):
        e.to_file(tmp_path / "e.tif")
    # plot(column=None, *, ax=None): columns of the main table, old call warns
    _, ax = plt.subplots()
    assert f.plot("max_depth", ax=ax) is ax
    assert e.plot("water_depth", ax=ax) is ax
    assert sw.plot("volume", ax=ax, x="level") is ax
    with pytest.raises(InputError, match="unknown column"):
        e.plot("nope")
    with pytest.warns(FutureWarning, match="ax="):
        assert e.plot(ax) is ax
    with pytest.warns(FutureWarning, match="plot_sweep"):
        assert flood.plot_sweep(sw.table, ax=ax, x="level") is ax
    plt.close("all")


def test_ring_samples_lie_outside_at_the_offsets_with_core_bilinear_ground():
    from cimcity._kernels import flood as K

    z = fractal(64, seed=11)
    t = make_terrain(z)
    ccw = shapely.box(X0 + 10.3, Y0 + 10.7, X0 + 30.1, Y0 + 22.9)
    cw = shapely.Polygon(list(ccw.exterior.coords)[::-1])
    court = shapely.box(X0 + 35, Y0 + 35, X0 + 60, Y0 + 60).difference(
        shapely.box(X0 + 42, Y0 + 42, X0 + 53, Y0 + 53)
    )
    for poly in (ccw, cw, court):
        rings = [poly.exterior, *poly.interiors]
        xy = np.concatenate([np.asarray(r.coords) for r in rings])
        ring_start = np.cumsum([0] + [len(r.coords) for r in rings]).astype(np.int64)
        hole = np.array([False] + [True] * (len(rings) - 1))
        offsets = np.array([1.0, 2.0, 3.0])
        tr = t.transform
        starts, px, py, ground, r, c = K.ring_samples(
            xy,
            ring_start,
            np.zeros(len(rings), np.int64),
            hole,
            1,
            offsets,
            1.0,
            z,
            tr.c,
            tr.f,
            tr.a,
            -tr.e,
            True,
        )
        pts = shapely.points(px, py)
        # each point lies outside the footprint, at most its offset away; for
        # convex outlines exactly at its offset (shapely distance, 1e-9 m)
        dist = shapely.distance(pts, poly)
        expected = np.tile(offsets, len(px) // 3)
        assert (dist >= 0.5 - 1e-9).all() and (dist <= expected + 1e-9).all()
        if poly is not court:
            np.testing.assert_allclose(dist, expected, atol=1e-9)
        else:  # samples of the courtyard ring fall in the courtyard
            n_out = 3 * int(np.ceil(poly.exterior.length))  # 1 m parts, 3 offsets
            hole = shapely.Polygon(poly.interiors[0])
            assert shapely.contains(hole, pts[n_out:]).all()
            assert not shapely.intersects(hole, pts[:n_out]).any()
        # ground = the core's bilinear Terrain.sample, cells = Terrain.index
        np.testing.assert_allclose(ground, t.sample(px, py), rtol=0, atol=1e-12)
        rr, cc_ = t.index(px, py)
        np.testing.assert_array_equal(r, rr)
        np.testing.assert_array_equal(c, cc_)
        assert starts[-1] == len(px)


def test_fill_polygons_matches_rasterio_rasterize():
    from rasterio import features

    from cimcity._kernels import flood as K

    rng = np.random.default_rng(4)
    t = make_terrain(np.zeros((80, 90)))
    polys = []
    for _ in range(25):
        cx, cy = X0 + rng.uniform(-5, 95), Y0 + rng.uniform(-5, 85)
        ang = np.sort(rng.uniform(0, 2 * np.pi, 7))
        rad = rng.uniform(2, 9, 7)
        p = shapely.Polygon(
            np.column_stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)])
        )
        if rng.random() < 0.4:
            p = p.difference(shapely.Point(cx, cy).buffer(1.7))
        polys.append(shapely.make_valid(p))
    parts = shapely.get_parts(np.array(polys, dtype=object))
    parts = parts[shapely.get_type_id(parts) == 3]
    rings, ridx = shapely.get_rings(parts, return_index=True)
    xy, vr = shapely.get_coordinates(rings, return_index=True)
    ring_start = np.searchsorted(vr, np.arange(len(rings) + 1))
    poly_start = np.searchsorted(ridx, np.arange(len(parts) + 1))
    mask = np.zeros(t.shape, bool)
    tr = t.transform
    K.fill_polygons(
        np.ascontiguousarray(xy), ring_start, poly_start, tr.c, tr.f, tr.a, -tr.e, mask
    )
    # reference: GDAL rasterisation (cell centre inside), cell for cell
    ref = (
        features.rasterize(((p, 1) for p in parts), out_shape=t.shape, transform=tr) > 0
    )
    np.testing.assert_array_equal(mask, ref)


def plt_imread_equal(a, b) -> bool:
    import matplotlib.pyplot as plt

    return np.array_equal(plt.imread(a), plt.imread(b))


def test_render_3d_shows_the_water(tmp_path):
    pytest.importorskip("pyvista")
    from cimcity import render

    s = street()
    f = flood.extent(s.terrain, LEVEL)
    e = flood.exposure(s, f)
    p = f.render(tmp_path / "flood3d.png", scene=s, exposure=e, window_size=(480, 320))
    assert not render.figure_is_blank(p)
    # the exposure renders the same view; without a path, the image comes back
    p2 = e.render(tmp_path / "exposure3d.png", window_size=(480, 320))
    assert plt_imread_equal(p, p2)
    img_array = f.render(scene=s, exposure=e, window_size=(480, 320))
    assert img_array.shape[:2] == (320, 480) and img_array.std() > 5
    import matplotlib.pyplot as plt

    img = plt.imread(p)[..., :3]
    # the water colour map runs from light to dark blue: blue-dominant pixels
    blue = (img[..., 2] > img[..., 0] + 0.15) & (img[..., 2] > 0.4)
    assert blue.mean() > 0.01


# -- real DEMs --------------------------------------------------------------------------
def test_real_dem_pysheds_fort_worth(shared_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = cc.read_dem(
            shared_data / "dem" / "pysheds_dem.tif", crs="EPSG:32614"
        )  # UTM 14N
    z = t.elevation
    edge = data_edge(z)  # grid border + valid cells next to nodata
    zout = z[edge].min()  # the river outlet: lowest cell on the data edge
    src = np.nonzero(edge & (z == zout))
    areas = []
    for level in (zout + 3, zout + 8, zout + 20):
        f = flood.extent(t, level)
        np.testing.assert_array_equal(f.wet, scipy_reference(z, level, src, 8))
        areas.append(f.area)
        assert f.max_depth == pytest.approx(level - np.nanmin(z[f.wet]))
    # Trinity floodplain (~85 m cells): km² of water a few metres above the outlet,
    # far less than the whole 30 x 34 km DEM
    assert (
        1e6 < areas[0] < areas[1] < areas[2] < 0.5 * np.isfinite(z).sum() * t.cell_area
    )


def test_real_dem_gothenburg(shared_data):
    t = cc.read_dem(
        shared_data / "dem" / "goteborg_kronenhuset" / "DEM_KRbig.tif", crs=None
    )
    z = t.elevation
    for level in (2.0, 5.0):
        f = flood.extent(t, level, sources="border")
        src = np.nonzero(data_edge(z))
        np.testing.assert_array_equal(f.wet, scipy_reference(z, level, src, 8))
        b = flood.extent(t, level, mode="bathtub")
        assert 0 < f.area <= b.area < z.size  # m² at 1 m cells
        assert f.volume > 0 and f.max_depth < level


# -- sample district, CLI, demo ---------------------------------------------------------------
def test_sample_district_1910(paris):
    f = flood.extent(paris.terrain, flood.scenario("1910"))
    e = flood.exposure(paris, f)
    # regression fingerprint of the sample at 34.54 m NGF: the river channel
    # (26-27 m) and the low southern blocks flood; the northern part (38 m) not
    assert 4e4 < f.area < 1e5
    assert f.max_depth == pytest.approx(
        34.54 - np.nanmin(paris.terrain.elevation), abs=1e-6
    )
    n = int(e.buildings["flooded"].sum())
    assert 0 < n < len(e.buildings)
    low = flood.extent(paris.terrain, flood.scenario("2016"))
    assert low.area < f.area
    assert flood.exposure(paris, low).buildings["flooded"].sum() <= n


def test_cli_flood(tmp_path, capsys):
    from cimcity.cli import main

    s = street()
    dem = tmp_path / "dem.tif"
    import rasterio

    t = s.terrain
    with rasterio.open(
        dem,
        "w",
        driver="GTiff",
        height=t.shape[0],
        width=t.shape[1],
        count=1,
        dtype="float32",
        crs="EPSG:2154",
        transform=t.transform,
    ) as ds:
        ds.write(t.elevation.astype(np.float32), 1)
    out = tmp_path / "out"
    assert main(["flood", "--dem", str(dem), "--level", "33.5", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "flooded" in text
    assert (out / "flood_depth.tif").exists() and (out / "flood_extent.gpkg").exists()
    assert main(["flood", "--dem", str(dem), "--level", "nan", "--out", str(out)]) == 2


# -- issue 17: range of the level, wrong objects, keywords, plain messages ---------------
def test_level_far_above_the_dem_is_refused_with_its_range():
    # street(): ground 25–34 m. 35 000 m is a unit mistake (mm for m): refused
    # with the DEM's range (before: accepted, the whole DEM under 35 km of water)
    t = street().terrain
    with pytest.raises(InputError, match=r"35000 m .*DEM spans 25\.00–34\.00 m"):
        flood.extent(t, 35000.0)
    # up to MAX_LEVEL_ABOVE_DEM (100 m) above the top: every valid cell floods,
    # with a warning that the extent stops at the DEM's edge
    with pytest.warns(
        DataQualityWarning, match=r"above the DEM's highest cell \(34\.00"
    ):
        f = flood.extent(t, 34.0 + flood.MAX_LEVEL_ABOVE_DEM)
    assert f.n_cells == t.elevation.size
    with pytest.raises(InputError, match="DEM spans"):
        flood.extent(t, 34.0 + flood.MAX_LEVEL_ABOVE_DEM + 0.5)
    # a grid level is judged by its highest value
    grid = np.full(t.shape, 33.5)
    grid[0, 0] = 500.0
    with pytest.raises(InputError, match="500 m"):
        flood.extent(t, grid)
    # at or below the top: no such warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        flood.extent(t, LEVEL)


def test_sweep_warns_once_for_levels_above_the_dem():
    t = street().terrain
    with pytest.warns(DataQualityWarning) as rec:
        sw = flood.sweep(t, [33.5, 36.0, 40.0])
    above = [str(w.message) for w in rec if "highest cell" in str(w.message)]
    assert len(above) == 1 and above[0].startswith("2 of 3 sweep levels (from 36 m)")
    # above the top every valid cell floods: 50 x 100 cells of 1 m²
    assert list(sw.table["flooded_area"][1:]) == [5000.0, 5000.0]
    with pytest.raises(InputError, match="35000"):
        flood.sweep(t, [33.5, 35000.0])


def test_exposure_of_a_level_instead_of_a_flood_is_refused():
    # before: AttributeError "'float' object has no attribute 'terrain'"
    with pytest.raises(InputError, match=r"FloodResult .*got float 33\.5"):
        flood.exposure(street(), LEVEL)


def test_options_after_the_data_are_keyword_only_softly():
    s = street()
    t = s.terrain
    with pytest.warns(FutureWarning, match="connectivity="):
        old = flood.extent(t, LEVEL, None, 4)
    np.testing.assert_array_equal(old.wet, flood.extent(t, LEVEL, connectivity=4).wet)
    f = flood.extent(t, LEVEL)
    with pytest.warns(FutureWarning, match="ring="):
        e_old = flood.exposure(s, f, (0.5, 4.0))
    e_new = flood.exposure(s, f, ring=(0.5, 4.0))
    pd.testing.assert_frame_equal(
        pd.DataFrame(e_old.buildings.drop(columns="geometry")),
        pd.DataFrame(e_new.buildings.drop(columns="geometry")),
    )
    with pytest.warns(FutureWarning, match="scene="):
        sw = flood.sweep(t, [LEVEL], s)
    assert sw.table["flooded_buildings"].iloc[0] == e_new.summary()["flooded_buildings"]
    with pytest.raises(TypeError):
        flood.extent(t, LEVEL, None, 8, "connected", "extra")


def test_messages_carry_plain_numbers():
    # the sources' and DEM's bounds as plain floats, not np.float64(...)
    t = make_terrain(plane_with_channel())
    with pytest.raises(InputError) as info:
        flood.extent(t, 12.0, sources=shapely.Point(0, 0).buffer(1))
    msg = str(info.value)
    assert "np.float64" not in msg and "(-1.0, -1.0, 1.0, 1.0)" in msg
    assert f"({X0:.1f}, {Y0:.1f}, {X0 + COLS:.1f}, {Y0 + ROWS:.1f})" in msg


def test_render_refuses_a_page_suffix(tmp_path):
    # a FloodResult renders pictures only: .html is refused before any drawing
    # (before: pyvista wrote or failed on it)
    f = flood.extent(street().terrain, LEVEL)
    with pytest.raises(InputError, match=r"'\.html'.*expected one of \.png"):
        f.render(tmp_path / "flood.html")
    assert not (tmp_path / "flood.html").exists()


def test_cli_flood_says_unknown(tmp_path, capsys):
    # b1 (on the 31 m plateau, reached at 33.5 m) has neither height nor
    # storeys: its flooded storeys are unknown, printed "unknown" (before: a
    # crash on None:.2f or "None storeys"); a sixth building 100 m east of the
    # DEM has unknown water, counted on its own line
    import rasterio

    s = street()
    t = s.terrain
    dem = tmp_path / "dem.tif"
    with rasterio.open(
        dem,
        "w",
        driver="GTiff",
        height=t.shape[0],
        width=t.shape[1],
        count=1,
        dtype="float32",
        crs="EPSG:2154",
        transform=t.transform,
    ) as ds:
        ds.write(t.elevation.astype(np.float32), 1)
    b = s.buildings.reset_index()[["building_id", "height", "storeys", "geometry"]]
    b["height"] = b["height"].astype(float)
    b["storeys"] = b["storeys"].astype(float)
    b.loc[1, ["height", "storeys"]] = np.nan
    far = gpd.GeoDataFrame(
        {"building_id": ["far"], "height": [9.0], "storeys": [3.0]},
        geometry=[shapely.box(X0 + 200, Y0 + 20, X0 + 210, Y0 + 30)],
        crs="EPSG:2154",
    )
    bld = tmp_path / "b.gpkg"
    gpd.GeoDataFrame(pd.concat([b, far], ignore_index=True), crs="EPSG:2154").to_file(
        bld
    )
    from cimcity.cli import main

    code = main(
        [
            "flood",
            "--dem",
            str(dem),
            "--buildings",
            str(bld),
            "--level",
            "33.5",
            "--out",
            str(tmp_path / "out"),
            "--no-map",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "(unknown storeys)" in out
    assert "1 buildings unknown: no DEM data around them" in out


# -- the union-find kernel against scipy, cell for cell ---------------------------
# Reference: scipy.ndimage.label on ``z < level`` (3x3 structure for 8-connectivity,
# the cross for 4), keep the labels holding a source cell, depth ``level - z``
# with np.where: an independent implementation of the same task. Compared
# exactly (cells, and depths as the same float64 subtraction), the depth sum
# to 1e-12 relative (summation order only).

_extent_module = importlib.import_module("cimcity.flood.extent")


@contextlib.contextmanager
def row_blocks(block_cells, workers=2):
    """Force the threaded path: blocks of about ``block_cells`` cells, labelled
    by ``workers`` threads and joined across their seams."""
    with (
        mock.patch.object(_extent_module, "BLOCK_CELLS", block_cells),
        mock.patch.object(_extent_module, "_workers", lambda: workers),
    ):
        yield


def scipy_depth(z, level, seed_rc, connectivity):
    wet = scipy_reference(z, level, seed_rc, connectivity)
    return np.where(wet, level - z, np.nan)


def assert_same_flood(f, z, level, seed_rc, connectivity):
    ref = scipy_depth(z, level, seed_rc, connectivity)
    np.testing.assert_array_equal(f.depth, ref)  # NaN where dry, on both sides
    assert f.n_cells == int(np.isfinite(ref).sum())
    assert f.depth_sum == pytest.approx(np.nansum(ref), rel=1e-12, abs=1e-12)


def noisy_plane(n, seed, slope=0.0002, sigma=0.15):
    """A gentle plane (slope per cell) plus white Gaussian micro-relief
    (sigma [m]): wet runs of one or two cells, the fragmented case."""
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[0:n, 0:n]
    return 30.0 + slope * (r + 0.5 * c) + rng.normal(0.0, sigma, (n, n))


@pytest.mark.parametrize("connectivity", [8, 4])
@pytest.mark.parametrize("kind", ["smooth", "noisy", "noise"])
@pytest.mark.parametrize("blocks", [None, 997])
def test_union_find_extent_equals_scipy_on_smooth_and_noisy_dems(
    kind, connectivity, blocks
):
    n = 203
    if kind == "smooth":
        z = fractal(n, seed=5, nodata=0.0)
    elif kind == "noisy":
        z = fractal(n, seed=5, nodata=0.0) / 50.0 + noisy_plane(n, 6) - 30.0
    else:
        z = noisy_plane(n, 7, slope=0.0)
    z[np.random.default_rng(8).random(z.shape) < 0.01] = np.nan  # nodata cells
    t = make_terrain(z)
    seeds = data_edge(z) & (np.random.default_rng(9).random(z.shape) < 0.3)
    ctx = row_blocks(blocks) if blocks else contextlib.nullcontext()
    with ctx:
        for q in (20, 35, 50, 80):
            level = float(np.nanpercentile(z, q))
            f = flood.extent(t, level, sources=seeds, connectivity=connectivity)
            assert_same_flood(f, z, level, np.nonzero(seeds), connectivity)
            b = flood.extent(
                t, level, sources=seeds, connectivity=connectivity, mode="bathtub"
            )
            np.testing.assert_array_equal(b.wet, z < level)
            np.testing.assert_array_equal(
                b.connected,
                scipy_reference(z, level, np.nonzero(seeds), connectivity),
            )


def test_union_find_extent_on_a_per_cell_level_grid_equals_scipy():
    z = noisy_plane(150, 11)
    levels = 30.0 + np.linspace(-0.1, 0.3, 150)[None, :] * np.ones((150, 1))
    levels[:10] = np.nan  # no water on the first rows
    t = make_terrain(z)
    seeds = data_edge(z)
    with row_blocks(2000):
        f = flood.extent(t, levels, sources=seeds)
    mask = z < levels
    lab, _ = ndimage.label(mask, structure=np.ones((3, 3), bool))
    keep = np.unique(lab[seeds])
    wet = np.isin(lab, keep[keep > 0])
    np.testing.assert_array_equal(f.depth, np.where(wet, levels - z, np.nan))


@pytest.mark.parametrize("connectivity", [8, 4])
def test_checkerboard_connects_by_corners_only_with_8(connectivity):
    # the most fragmented DEM: every wet run is one cell
    z = np.indices((40, 41)).sum(axis=0) % 2 * 1.0  # 0 on even cells, 1 on odd
    t = make_terrain(z)
    with row_blocks(200):
        f = flood.extent(t, 0.5, sources=np.zeros_like(z, bool) | (z == 0) & False)
    assert f.n_cells == 0  # no source cell: nothing floods
    src = np.zeros(z.shape, bool)
    src[0, 0] = True
    with row_blocks(200):
        f = flood.extent(t, 0.5, sources=src, connectivity=connectivity)
    if connectivity == 8:  # every even cell touches another by a corner
        np.testing.assert_array_equal(f.wet, z == 0)
    else:  # alone
        assert f.n_cells == 1 and f.wet[0, 0]
    assert_same_flood(f, z, 0.5, np.nonzero(src), connectivity)


def test_edge_cases_all_none_single_cells_border_sources():
    z = fractal(64, seed=2)
    t = make_terrain(z)
    # all wet: a level just above the top floods every cell, from any source
    with pytest.warns(DataQualityWarning, match="highest cell"):
        f = flood.extent(t, float(z.max()) + 0.01, sources="border")
    assert f.wet.all() and f.n_cells == z.size
    # none wet: a level at the bottom (strictly below) floods nothing
    f = flood.extent(t, float(z.min()), sources="border")
    assert f.n_cells == 0 and np.isnan(f.depth).all() and f.volume == 0
    # the smallest grids a Terrain takes (2 x 2, two rows, two columns), where
    # single wet cells make the runs
    for shape in [(2, 2), (2, 9), (9, 2)]:
        zz = np.arange(np.prod(shape), dtype=float).reshape(shape)
        tt = make_terrain(zz)
        for level in (-1.0, 0.5, 4.5):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataQualityWarning)
                for conn in (4, 8):
                    f = flood.extent(tt, level, sources="border", connectivity=conn)
                    ref = scipy_depth(zz, level, np.nonzero(np.ones(shape, bool)), conn)
                    np.testing.assert_array_equal(f.depth, ref)
    # sources on the four borders and corners of a noisy plane, with blocks
    z = noisy_plane(97, 3, slope=0.0)
    t = make_terrain(z)
    level = float(np.quantile(z, 0.6))
    for r, c in [(0, 0), (0, 96), (96, 0), (96, 96), (0, 40), (96, 50), (30, 0)]:
        src = np.zeros(z.shape, bool)
        src[r, c] = True
        with row_blocks(500):
            f = flood.extent(t, level, sources=src)
        assert_same_flood(f, z, level, (np.array([r]), np.array([c])), 8)


def test_nodata_rows_and_holes_split_the_flood_like_scipy():
    z = noisy_plane(120, 4, slope=0.0)
    z[60, :] = np.nan  # a nodata row cuts the grid in two (also a block seam)
    z[20:25, 30:35] = np.nan  # a hole
    z[:, 0] = np.nan  # a nodata column on the border
    t = make_terrain(z)
    level = float(np.nanquantile(z, 0.7))
    sr, sc = np.nonzero(data_edge(z))
    for conn in (4, 8):
        for blocks in (None, 100, 1200):
            ctx = row_blocks(blocks) if blocks else contextlib.nullcontext()
            with ctx, warnings.catch_warnings():
                warnings.simplefilter("ignore", DataQualityWarning)
                f = flood.extent(t, level, sources=data_edge(z), connectivity=conn)
            assert_same_flood(f, z, level, (sr, sc), conn)
            assert not f.wet[60].any() and not f.wet[:, 0].any()


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    rows=st.integers(2, 14),
    cols=st.integers(2, 14),
    connectivity=st.sampled_from([4, 8]),
    block_cells=st.sampled_from([None, 1, 7, 30]),
)
def test_union_find_extent_equals_scipy_on_random_small_dems(
    data, rows, cols, connectivity, block_cells
):
    # few distinct heights: ties with the level, runs of every length
    z = np.asarray(
        data.draw(
            st.lists(
                st.sampled_from([0.0, 1.0, 2.0, 3.0, np.nan]),
                min_size=rows * cols,
                max_size=rows * cols,
            )
        ),
        float,
    ).reshape(rows, cols)
    src = np.asarray(
        data.draw(st.lists(st.booleans(), min_size=rows * cols, max_size=rows * cols)),
        bool,
    ).reshape(rows, cols)
    level = data.draw(st.sampled_from([0.5, 1.0, 1.5, 2.5, 3.5]))
    if not np.isfinite(z).any():
        return  # a DEM without a valid cell is refused (tested elsewhere)
    t = make_terrain(z)
    ctx = row_blocks(block_cells) if block_cells else contextlib.nullcontext()
    with ctx, warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        f = flood.extent(t, level, sources=src, connectivity=connectivity)
        b = flood.extent(
            t, level, sources=src, connectivity=connectivity, mode="bathtub"
        )
    assert_same_flood(f, z, level, np.nonzero(src), connectivity)
    np.testing.assert_array_equal(b.wet, z < level)
    np.testing.assert_array_equal(
        b.connected, scipy_reference(z, level, np.nonzero(src), connectivity)
    )


def test_union_find_equals_the_previous_run_graph_kernel():
    # the previous kernel (flood fill on the graph of runs) is kept as a second
    # reference and as the benchmark's "before" column
    from cimcity._kernels import flood as K

    z = noisy_plane(180, 12, slope=0.0005)
    t = make_terrain(z)
    sr, sc = np.nonzero(data_edge(z))
    for q in (0.2, 0.5, 0.8):
        level = float(np.quantile(z, q))
        rp, st_, en = K.open_runs(z, level)
        reached = K.connect_runs(rp, st_, en, K.run_of_cells(rp, st_, en, sr, sc), True)
        old = np.empty(z.shape)
        K.paint_depth(z, level, rp, st_, en, reached, old)
        with row_blocks(3000):
            np.testing.assert_array_equal(
                flood.extent(t, level, sources=data_edge(z)).depth, old
            )


def test_edge_cells_skips_rows_without_nodata_but_finds_holes():
    from cimcity._kernels import flood as K

    z = noisy_plane(50, 1)
    z[20, 30] = np.nan
    z[49, 10] = np.nan
    r, c = K.edge_cells(z, False)
    got = np.zeros(z.shape, bool)
    got[r, c] = True
    np.testing.assert_array_equal(got, data_edge(z))
    assert np.all(np.diff(r * 50 + c) > 0)  # row-major order
    r, c = K.edge_cells(z, True)
    edge = data_edge(z)
    assert np.all(z[r, c] == z[edge].min())
