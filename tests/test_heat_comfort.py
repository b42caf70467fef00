"""UTCI, heat-stress categories, wind profile, heat-wave scenarios, cool refuges.

References used below:
- pythermalcomfort 2.x ``models.utci`` and its ``STRESS_CATEGORIES`` (the
  reference implementation, Tartarini & Schiavon 2020): cimcity goes through
  it, so the check is that nothing is lost on the way (shapes, NaN, the calm
  floor);
- Bröde et al. (2012) Table 1: the category bands, upper edges included;
- the logarithmic wind profile ``v(z) = v10 ln(z/z0)/ln(10/z0)`` (Oke 1987)
  written out here by hand;
- Magnus formula over water (Alduchov & Eskridge 1996: 6.1094 exp(17.625 T /
  (T + 243.04)) hPa), independent of pythermalcomfort's saturation pressure,
  for the vapour pressure and dew point kept by the heat dome;
- Belcher et al. (2005) shift-and-stretch: a pure shift when nights warm like
  days.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cimcity.errors import DataQualityWarning, InputError
from cimcity.heat import comfort, scenarios

pytest.importorskip("pythermalcomfort")
from pythermalcomfort.models import utci as ptc_utci  # noqa: E402
from pythermalcomfort.models.utci import STRESS_CATEGORIES  # noqa: E402

TZ = "Europe/Paris"


def magnus_hpa(t):
    """Saturation vapour pressure over water [hPa] (Alduchov & Eskridge 1996)."""
    t = np.asarray(t, dtype=float)
    return 6.1094 * np.exp(17.625 * t / (t + 243.04))


def magnus_dew_point(t, rh):
    g = np.log(np.asarray(rh) / 100.0) + 17.625 * t / (t + 243.04)
    return 243.04 * g / (17.625 - g)


# --------------------------------------------------------------------- UTCI
def test_utci_equals_pythermalcomfort_at_sampled_inputs():
    rng = np.random.default_rng(14)
    n = 500
    tdb = rng.uniform(-20, 45, n)
    tr = tdb + rng.uniform(-10, 40, n)
    v = rng.uniform(0.5, 12, n)
    rh = rng.uniform(10, 90, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # vapour pressure > 5 kPa in a few: NaN both
        ref = np.asarray(ptc_utci(tdb, tr, v, rh, round_output=False).utci, float)
        got = comfort.utci(tdb, tr, v, rh)
    assert np.array_equal(np.isnan(ref), np.isnan(got))
    ok = ~np.isnan(ref)
    assert ok.sum() > 450
    np.testing.assert_allclose(got[ok], ref[ok], rtol=0, atol=1e-12)


def test_utci_broadcasts_a_grid_and_matches_the_published_example():
    # pythermalcomfort's documented example: utci(25, 25, 1.0, 50) = 24.6 °C
    assert comfort.utci(25, 25, 1.0, 50) == pytest.approx(24.6, abs=0.05)
    tr = np.array([[25.0, 40.0], [55.0, 70.0]])
    out = comfort.utci(30.0, tr, 2.0, 40.0)
    assert out.shape == (2, 2)
    ref = ptc_utci([30.0] * 4, tr.ravel(), [2.0] * 4, [40.0] * 4,
                   round_output=False).utci
    np.testing.assert_allclose(out.ravel(), ref, atol=1e-12)
    assert np.all(np.diff(out.ravel()) > 0)  # hotter radiant field, hotter UTCI


def test_utci_out_of_range_is_nan_with_one_warning():
    tdb = np.array([30.0, 55.0, 30.0, 30.0, np.nan])
    tr = np.array([40.0, 60.0, 105.0, 40.0, 40.0])
    v = np.array([1.0, 1.0, 1.0, 20.0, 1.0])
    with pytest.warns(DataQualityWarning) as rec:
        out = comfort.utci(tdb, tr, v, 50.0)
    assert np.isfinite(out[0])
    assert np.isnan(out[1:]).all()
    msg = str(rec[0].message)
    assert "3 of 5" in msg  # the NaN input is unknown, not out of range
    assert "air temperature outside -50..50" in msg
    assert "Tmrt - air temperature" in msg and "wind above 17" in msg
    assert len([r for r in rec if r.category is DataQualityWarning]) == 1


def test_utci_calm_wind_is_raised_to_half_a_metre_per_second():
    calm = comfort.utci(30.0, 50.0, [0.0, 0.2, 0.5], 50.0)
    ref = float(ptc_utci(30.0, 50.0, 0.5, 50.0, round_output=False).utci)
    np.testing.assert_allclose(calm, ref, atol=1e-12)


def test_utci_refuses_shapes_that_do_not_broadcast():
    with pytest.raises(InputError, match="broadcast"):
        comfort.utci(np.zeros(3), np.zeros(4), 1.0, 50.0)


# --------------------------------------------------------------- categories
@pytest.mark.parametrize(
    "value, key",
    [(-40.0, "extreme_cold"), (-39.9, "very_strong_cold"), (0.0, "moderate_cold"),
     (9.0, "slight_cold"), (9.1, "no_stress"), (26.0, "no_stress"),
     (26.1, "moderate_heat"), (32.0, "moderate_heat"), (32.1, "strong_heat"),
     (38.0, "strong_heat"), (38.1, "very_strong_heat"), (46.0, "very_strong_heat"),
     (46.1, "extreme_heat")],
)
def test_categories_at_band_edges(value, key):
    # Bröde et al. (2012) Table 1, each band including its upper edge
    assert comfort.stress_category([value], keys=True)[0] == key


def test_categories_agree_with_pythermalcomfort_on_a_sweep():
    values = np.round(np.arange(-45.0, 50.0, 0.1), 1)
    ref = np.asarray(STRESS_CATEGORIES.map(values))
    got = comfort.stress_category(values, lang="en")
    assert [g.lower() for g in got] == list(ref)


def test_category_names_in_french_and_unknown():
    got = comfort.stress_category([30.0, 40.0, np.nan], lang="fr")
    assert list(got) == ["Stress thermique modéré", "Stress thermique très fort", None]


def test_hours_above_counts_each_category_or_worse():
    # 3 points over 5 hours; worst categories by hand from the bands
    u = pd.DataFrame(
        {"a": [20, 27, 33, 39, 47], "b": [20, 20, 20, 26, 26.1],
         "c": [np.nan, 40, 40, np.nan, 10]},
        index=pd.date_range("2026-07-01 12:00", periods=5, freq="h", tz=TZ),
    )
    with pytest.warns(DataQualityWarning, match="2 of 15"):
        h = comfort.hours_above(u)
    assert h.loc["a", ["hours_moderate_heat", "hours_strong_heat",
                       "hours_very_strong_heat", "hours_extreme_heat"]].tolist() == [
        4, 3, 2, 1]
    assert h.loc["b", "hours_moderate_heat"] == 1  # 26.0 is not stress, 26.1 is
    assert h.loc["c", "hours_very_strong_heat"] == 2
    assert h.loc["c", "hours_unknown"] == 2 and h.loc["c", "hours_known"] == 3
    assert h.loc["a", "utci_max"] == 47
    half = comfort.hours_above(u[["a"]], step_hours=0.5)
    assert half.loc["a", "hours_moderate_heat"] == 2.0


# --------------------------------------------------------------- wind profile
def test_pedestrian_wind_follows_the_log_law():
    v10 = np.array([1.0, 3.0, 8.0, np.nan])
    expected = v10 * np.log(1.1 / 0.01) / np.log(10.0 / 0.01)  # 0.6805 v10
    got = comfort.pedestrian_wind(v10)
    np.testing.assert_allclose(got[:3], np.maximum(expected[:3], 0.5), rtol=1e-12)
    assert np.isnan(got[3])
    rough = comfort.pedestrian_wind(5.0, z0=0.5)
    assert rough == pytest.approx(5.0 * np.log(1.1 / 0.5) / np.log(10 / 0.5), rel=1e-12)
    assert comfort.pedestrian_wind(0.3) == 0.5  # the UTCI's lowest wind


def test_utci_wind_brings_a_local_wind_back_to_ten_metres():
    v = np.array([2.0, 5.0])
    np.testing.assert_allclose(comfort.utci_wind(comfort.pedestrian_wind(v)), v,
                               rtol=1e-12)
    with pytest.raises(InputError, match="above the roughness"):
        comfort.pedestrian_wind(3.0, height=0.005)
    with pytest.raises(InputError, match=">= 0"):
        comfort.utci_wind(-1.0)


# ------------------------------------------------------------ hottest week
def _synthetic_weather(days=60, hot_start=30, spike_day=10):
    idx = pd.date_range("2026-06-01 00:30", periods=24 * days, freq="h", tz=TZ)
    hour = idx.hour.to_numpy()
    t = 20.0 + 6.0 * np.sin((hour - 9) / 24 * 2 * np.pi)
    day = (idx.normalize() - idx[0].normalize()).days.to_numpy()
    t = t + np.where((day >= hot_start) & (day < hot_start + 7), 5.0, 0.0)
    t = t + np.where(day == spike_day, 15.0, 0.0)  # one scorching day is no week
    return pd.Series(t, idx)


def test_hottest_period_finds_the_hot_week():
    t = _synthetic_weather()
    start, end, mean = scenarios.hottest_period(t, 7)
    assert start == pd.Timestamp("2026-07-01", tz=TZ)  # day 30 after 1 June
    assert end - start == pd.Timedelta(days=7)
    assert mean == pytest.approx(t[(t.index >= start) & (t.index < end)]
                                 .groupby(t.index[(t.index >= start) & (t.index < end)]
                                          .normalize()).max().mean())


def test_hottest_period_refuses_short_or_gappy_weather():
    t = _synthetic_weather(days=5)
    with pytest.raises(InputError, match="5 days"):
        scenarios.hottest_period(t, 7)
    t = _synthetic_weather()
    t = t[t.index.normalize() != pd.Timestamp("2026-06-20", tz=TZ)]
    with pytest.raises(InputError, match="2026-06-20"):
        scenarios.hottest_period(t, 7)


@pytest.mark.realdata
def test_hottest_week_of_paris_orly(shared_data):
    epw = shared_data / "weather" / "FRA_Paris.Orly.071490_IWEC.epw"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        met = scenarios.hottest_week(epw, latitude=48.73, longitude=2.40)
    t = met.air["temp_air"]
    assert len(met) == 7 * 24
    # brute force over every 7-day window of the year, independent of rolling()
    import pvlib

    raw, _ = pvlib.iotools.read_epw(str(epw), coerce_year=2023)
    daily = raw["temp_air"].groupby(raw.index.normalize()).max().to_numpy()
    means = np.array([daily[i:i + 7].mean() for i in range(len(daily) - 6)])
    first_day = raw.index.normalize().unique()[int(means.argmax())]
    assert met.meta["start"].date() == first_day.date() == pd.Timestamp("2023-08-15").date()
    # cimcity averages the EPW's instantaneous air values to mid-hour, which
    # lowers the daily maxima a little: 27.13 against 27.39 °C on the raw rows
    assert met.meta["mean_daily_max"] == pytest.approx(means.max(), abs=0.3)
    assert t.max() == pytest.approx(30.0, abs=0.5)  # the file's hottest hour: 30.0 °C


# --------------------------------------------------------------- heat dome
def _air(days=7):
    t = _synthetic_weather(days=days, hot_start=0, spike_day=-1)
    rh = 80.0 - 1.2 * (t - t.min())
    return pd.DataFrame({"temp_air": t, "relative_humidity": rh, "ldown": 350.0})


def test_heat_dome_reaches_the_peak_and_keeps_the_vapour_pressure():
    air = _air()
    out = scenarios.morph_air(air, 50.0)
    assert out["temp_air"].max() == pytest.approx(50.0, abs=1e-9)
    # order of the hours kept (a stretch, not a reshuffle)
    assert (np.argsort(out["temp_air"].to_numpy(), kind="stable")
            == np.argsort(air["temp_air"].to_numpy(), kind="stable")).all()
    e_before = air["relative_humidity"] / 100 * magnus_hpa(air["temp_air"])
    e_after = out["relative_humidity"] / 100 * magnus_hpa(out["temp_air"])
    # pythermalcomfort's saturation pressure vs Magnus: within 0.5 % up to 50 °C
    np.testing.assert_allclose(e_after, e_before, rtol=5e-3)
    td_before = magnus_dew_point(air["temp_air"], air["relative_humidity"])
    td_after = magnus_dew_point(out["temp_air"], out["relative_humidity"])
    np.testing.assert_allclose(td_after, td_before, atol=0.1)
    # specific humidity at 1013.25 hPa from the vapour pressure (kept too)
    q = lambda e: 0.622 * e / (1013.25 - 0.378 * e)  # noqa: E731
    np.testing.assert_allclose(q(e_after), q(e_before), rtol=5e-3)
    assert (out["relative_humidity"] < air["relative_humidity"]).all()
    # sky longwave: effective emissivity kept, Stefan-Boltzmann in kelvin
    ratio = out["ldown"] / air["ldown"]
    np.testing.assert_allclose(
        ratio, ((out["temp_air"] + 273.15) / (air["temp_air"] + 273.15)) ** 4)


def test_heat_dome_with_equal_warming_is_a_pure_shift():
    air = _air()
    out = scenarios.morph_air(air, 40.0, night_ratio=1.0)
    shift = out["temp_air"] - air["temp_air"]
    np.testing.assert_allclose(shift, 40.0 - air["temp_air"].max(), atol=1e-9)
    assert out.attrs["alpha"] == pytest.approx(0.0, abs=1e-12)


def test_heat_dome_night_ratio_shapes_the_nights():
    air = _air()
    out = scenarios.morph_air(air, 45.0, night_ratio=0.5)
    a = out.attrs
    assert a["delta_min"] == pytest.approx(0.5 * a["delta_max"])
    day = air.index.normalize()
    rise_max = out["temp_air"].groupby(day).max().mean() - air["temp_air"].groupby(
        day).max().mean()
    rise_min = out["temp_air"].groupby(day).min().mean() - air["temp_air"].groupby(
        day).min().mean()
    assert rise_min < rise_max  # days warm more than nights
    assert rise_max == pytest.approx(a["delta_max"], abs=0.5)


def test_heat_dome_refuses_cooling_and_bad_ratio():
    air = _air()
    with pytest.raises(InputError, match="below the weather's hottest hour"):
        scenarios.morph_air(air, 20.0)
    with pytest.raises(InputError, match="night_ratio"):
        scenarios.morph_air(air, 45.0, night_ratio=1.5)


# ------------------------------------------------------------ cool refuges
def _grid_points(n=10, spacing=1.0):
    x, y = np.meshgrid(np.arange(n) * spacing + 0.5, np.arange(n) * spacing + 0.5)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x.ravel(), y.ravel()),
                           crs="EPSG:2154")
    pts.index = [f"p{i}" for i in range(len(pts))]
    return pts


def test_cool_refuges_on_a_synthetic_grid():
    pts = _grid_points()
    times = pd.date_range("2026-07-01 12:30", periods=6, freq="h", tz=TZ)
    temp_air = pd.Series([30, 35, 36, 37, 33, 31.0], times)  # hottest: 13:30-15:30
    west = pts.geometry.x.to_numpy() < 5
    u = pd.DataFrame(20.0, index=times, columns=pts.index)
    hot = times[1:4]
    u.loc[hot, :] = np.where(west, 31.0, 36.0)
    u.loc[times[2], "p0"] = 32.0  # at the edge: still moderate -> refuge
    u.loc[times[3], "p1"] = 32.5  # one hottest hour above -> not a refuge
    u.loc[times[0], "p2"] = 45.0  # outside the hottest hours: does not count
    u.loc[times[2], "p3"] = np.nan  # unknown at a hottest hour: refuge unknown
    parcels = gpd.GeoDataFrame(
        geometry=[shapely.box(0, 0, 5, 10), shapely.box(5, 0, 10, 10)],
        index=pd.Index(["west", "east"], name="parcel_id"), crs="EPSG:2154")

    class S:  # the three tables cool_refuges reads
        layers = {}
        zones = None

    S.parcels = parcels
    with pytest.warns(DataQualityWarning, match="1 of 100 points"):
        res = scenarios.cool_refuges(pts, u, S, temp_air=temp_air, n_hours=3,
                                     by=("parcel",))
    assert list(res.hours) == list(hot)
    p = res.points
    assert p.loc["p0", "refuge"] is True and p.loc["p1", "refuge"] is False
    assert p.loc["p2", "refuge"] is True and p.loc["p3", "refuge"] is None
    par = res.tables()["parcels"]
    assert par.loc["west", "open_area_m2"] == pytest.approx(50.0)
    assert par.loc["west", "refuge_area_m2"] == pytest.approx(48.0)  # p1 out, p3 unknown
    assert par.loc["west", "refuge_share"] == pytest.approx(48 / 49)
    assert par.loc["east", "refuge_share"] == 0.0
    assert par.loc["west", "unknown_area_m2"] == pytest.approx(1.0)
    s = res.summary()
    assert s["refuge_area_m2"] == pytest.approx(48.0)
    assert s["utci_hottest_max_c"] == pytest.approx(36.0)


def test_cool_refuges_by_street_parcel_zone_on_the_sample(tmp_path):
    import cimcity as cc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scene = cc.datasets.load("paris")
    roads = scene.layers["roads"]
    line = roads.geometry.iloc[0]
    # points along the first street's axis, and one far away
    xy = [line.interpolate(d).coords[0] for d in np.linspace(5, line.length - 5, 20)]
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(*np.array(xy).T),
                           crs=scene.crs)
    t = pd.date_range("2026-07-01 15:30", periods=1, freq="h", tz=TZ)
    u = pd.DataFrame(np.full((1, len(pts)), 30.0), index=t, columns=pts.index)
    res = scenarios.cool_refuges(pts, u, scene, hours=t, cell_area=4.0)
    streets = res.tables()["streets"]
    name = roads["nom"].iloc[0]
    assert streets.loc[name, "refuge_area_m2"] == pytest.approx(80.0)
    assert streets.loc[name, "refuge_share"] == 1.0
    assert set(res.tables()) == {"points", "streets", "parcels", "zones"}
    out = res.to_file(tmp_path / "streets.csv", layer="streets")
    assert out.exists()


# ----------------------------------------------------------- greening variants
@pytest.fixture(scope="module")
def sample():
    import cimcity as cc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cc.datasets.load("paris")


def test_plant_trees_adds_crowns_and_keeps_the_original(sample):
    n0 = len(sample.vegetation)
    after = scenarios.plant_trees(sample, [[649900, 6865500], [649920, 6865500]],
                                  crown_radius=[3.0, 5.0], height=10.0)
    assert len(sample.vegetation) == n0
    new = after.vegetation.iloc[n0:]
    assert list(new["kind"]) == ["tree", "tree"] and list(new["height"]) == [10.0, 10.0]
    # a 32-gon inscribed in a circle of radius r: (32/2) r² sin(2π/32)
    area = 16 * np.array([3.0, 5.0]) ** 2 * np.sin(2 * np.pi / 32)
    np.testing.assert_allclose(new.geometry.area, area, rtol=1e-9)
    with pytest.raises(InputError, match="> 0"):
        scenarios.plant_trees(sample, [[0, 0]], crown_radius=0.0)


def test_depave_changes_only_open_ground_inside_the_area(sample):
    area = shapely.box(649850, 6865450, 649950, 6865550)
    with pytest.warns(DataQualityWarning, match="taken as paved"):
        after = scenarios.depave(sample, area, to="grass")
    with pytest.warns(DataQualityWarning):
        before_lc = scenarios.land_cover(sample)
    arr, tr, _ = after.rasters["landcover"]
    b = before_lc[0]
    assert arr.shape == b.shape
    from rasterio.features import geometry_mask

    inside = geometry_mask([area], out_shape=arr.shape, transform=tr, invert=True)
    assert not np.any(arr[~inside] != b[~inside])  # outside unchanged
    assert np.all(arr[inside & (b == 2)] == 2)  # buildings keep their class
    assert np.all(arr[inside & (b == 1)] == 5)  # asphalt -> grass
    assert after.meta["depaved_m2"] == pytest.approx(((b == 1) & inside).sum())
    assert "landcover" not in sample.rasters
    with pytest.raises(InputError, match="to='gravel'"):
        scenarios.depave(sample, area, to="gravel")


def test_cool_roofs_sets_the_roof_albedo(sample):
    some = list(sample.buildings.index[:3])
    after = scenarios.cool_roofs(sample, 0.8, buildings=some)
    assert "roof_albedo" not in sample.buildings.columns
    assert after.buildings.loc[some, "roof_albedo"].tolist() == [0.8] * 3
    assert after.buildings["roof_albedo"].isna().sum() == len(sample.buildings) - 3
    with pytest.raises(InputError, match="unknown building"):
        scenarios.cool_roofs(sample, 0.8, buildings=["nope"])


# ------------------------------------------------------------ before / after
def test_project_impact_lowers_tmrt_where_its_shade_falls(sample):
    """The sample with its IFC project (``scene.with_project``), a clear July
    day 08:00-18:00 (pvlib Ineichen), mesh path at 3 m points around the
    project. Reference: :func:`cimcity.shadow.sun_hours` of both scenes at the
    same person points (an independent ray cast at 6-minute steps): at every
    hour, every point that goes from sunlit (before) to shaded (after) has a
    lower Tmrt after (observed: 134 point-hours, all lower, by 1 to 40 K).
    Points on the project's footprint are not compared but counted."""
    import pvlib

    from cimcity import heat, shadow

    bim = sample.projects[sample.meta["project_id"]]
    after = sample.with_project(bim)
    x0, y0, x1, y1 = bim.footprint.bounds
    area = (x0 - 40, y0 - 40, x1 + 40, y1 + 40)
    times = pd.date_range("2023-07-15 08:00", periods=11, freq="1h", tz="Europe/Paris")
    w = pvlib.location.Location(48.86, 2.35).get_clearsky(times).assign(
        temp_air=32.0, relative_humidity=35.0, wind_speed=2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        r = heat.impact(sample, after, w, spacing=3.0, area=area, method="mesh")
        xyz = r.runs["before"].points_xyz
        sh0 = shadow.sun_hours(sample, "2023-07-15", step="6min", points=xyz)
        sh1 = shadow.sun_hours(after, "2023-07-15", step="6min", points=xyz)
    s = r.summary()
    assert s["built_over"] > 0 and s["points"] == len(xyz)
    assert not shapely.contains_xy(bim.footprint, xyz[:, 0], xyz[:, 1]).any()
    d = r.delta_tmrt
    shaded_by_project = 0
    for t in times:
        m = sh0.is_sunny(t) & ~sh1.is_sunny(t)
        shaded_by_project += int(m.sum())
        assert (d.loc[t].to_numpy()[m] < 0).all(), t
    assert shaded_by_project > 50
    # the hourly change is the difference of the two runs, the UTCI known
    assert np.allclose(d.to_numpy(), r.runs["after"].timeseries.to_numpy()
                       - r.runs["before"].timeseries.to_numpy())
    assert r.points["delta_utci_max"].notna().all()
    assert "parcels" in r.tables()
    # the map: on the common base (scale bar, north arrow), the project named in
    # the legend, each point a square one grid cell (3 m) wide, and a shared
    # half-range when asked (two impacts on one scale)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib_scalebar.scalebar import ScaleBar

    from cimcity import maps

    ax = r.plot(lang="en", vmax=10.0)
    assert any(isinstance(a, ScaleBar) for a in ax.artists)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Project"]
    sc = ax.collections[0]
    assert sc.norm.vmin == -10.0 and sc.norm.vmax == 10.0
    # sized before the colour bar narrows the axes (as every cimcity map):
    # no gaps between squares, overlap under 15 % of a cell (observed 11 %)
    size = sc.get_sizes()[0]
    assert maps.marker_size(ax, 3.0) <= size <= maps.marker_size(ax, 3.0 * 1.15)
    plt.close("all")
