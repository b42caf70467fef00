"""Physics checks of cimcity.heat (Tmrt and the six directional fluxes).

References used here, independent of the code under test:

* Stefan-Boltzmann emission and the six-direction sum of Höppe (1992) with
  SOLWEIG's standing factors (0.06 up/down, 0.22 lateral), written out in the
  tests;
* pvlib's Perez transposition (``get_total_irradiance``, ``allsitescomposite1990``)
  for the shortwave on the four vertical faces of an open field;
* the Lindberg et al. (2008) ground-temperature wave, written out in the test
  with pvlib's sun positions at 1-minute resolution.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pvlib
import pytest
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cimcity.heat as heat
from cimcity import testing
from cimcity.errors import DataQualityWarning, InputError
from cimcity.heat.surfaces import SIGMA

CRS = "EPSG:2154"
#: a Paris-area site in Lambert-93
X0, Y0 = 651_000.0, 6_862_000.0
LAT, LON = 48.85, 2.35
STANDING = np.array([0.06, 0.06, 0.22, 0.22, 0.22, 0.22])


def flat_grid(n=40, cell=1.0, z=35.0, box=None, tree=None, landcover=1):
    """A flat raster scene; ``box = (r0, r1, c0, c1, height)``; ``tree = (r, c,
    radius_px, height)``."""
    t = Affine(cell, 0, X0, 0, -cell, Y0 + n * cell)
    dem = np.full((n, n), z)
    dsm = dem.copy()
    cdsm = np.zeros((n, n))
    if box is not None:
        r0, r1, c0, c1, h = box
        dsm[r0:r1, c0:c1] = z + h
    if tree is not None:
        r, c, rad, h = tree
        rr, cc = np.mgrid[0:n, 0:n]
        cdsm[(rr - r) ** 2 + (cc - c) ** 2 <= rad**2] = h
    lc = landcover if isinstance(landcover, int) else (landcover, t, CRS)
    return heat.heat_grid((dsm, t, CRS), dem=(dem, t, CRS), cdsm=(cdsm, t, CRS),
                          landcover=lc)


def centre(grid, r, c):
    return tuple(float(v) for v in grid.to_xy(c + 0.5, r + 0.5))


def weather_frame(start, periods, *, temp=20.0, rh=50.0, ldown=None, clear=True):
    times = pd.date_range(start, periods=periods, freq="1h", tz="Europe/Paris")
    loc = pvlib.location.Location(LAT, LON, altitude=35.0)
    if clear:
        cs = loc.get_clearsky(times, model="ineichen")
    else:
        cs = pd.DataFrame(0.0, index=times, columns=["ghi", "dni", "dhi"])
    df = cs[["ghi", "dni", "dhi"]].copy()
    df["temp_air"] = temp
    df["relative_humidity"] = rh
    df["wind_speed"] = 2.0
    if ldown is not None:
        df["ldown"] = ldown
    return df


def test_open_field_at_night_is_sky_and_ground_longwave():
    """Night, open flat field, measured L↓: every direction sees the sky
    (radiance L↓/π) or paved ground at air temperature emitting ε σ Ta⁴
    (ε = 0.95), so Ldown = L↓, Lup = ε σ Ta⁴, each lateral face
    (Ldown + Lup)/2, no shortwave, and Tmrt = ((L↓ + Lup) / (2σ))^¼ - 273.15
    (the factors sum to 1 and the absorptivity cancels). Exact to float error."""
    g = flat_grid()
    w = weather_frame("2023-07-15 01:00", 3, temp=22.0, ldown=330.0, clear=False)
    r = heat.tmrt_raster(g, w, points=[centre(g, 20, 20)], timeseries=True)
    f = r.fluxes(point=0)
    ta = 22.0 + 273.15
    lup = 0.95 * SIGMA * ta**4
    assert np.allclose(f[["Kdown", "Kup", "Kn", "Ke", "Ks", "Kw"]], 0.0, atol=1e-9)
    assert np.allclose(f["Ldown"], 330.0, rtol=1e-6)
    assert np.allclose(f["Lup"], lup, rtol=1e-6)
    for c in ("Ln", "Le", "Ls", "Lw"):
        assert np.allclose(f[c], (330.0 + lup) / 2, rtol=1e-6)
    expected = ((330.0 + lup) / (2 * SIGMA)) ** 0.25 - 273.15
    assert np.allclose(r.timeseries[0], expected, atol=1e-6)
    assert r.points["svf"].iloc[0] == pytest.approx(1.0, abs=1e-12)


def _ground_wave(times, altmax_day):
    """Lindberg et al. (2008) sunlit warming of paved ground [K], written out:
    (0.58 altmax - 9.78) sin(π/2 (t - t_rise)/(15 - t_rise)), clear sky."""
    day = times[0].normalize()
    fine = pd.date_range(day, day + pd.Timedelta(hours=24), freq="1min", inclusive="left")
    el = pvlib.solarposition.get_solarposition(fine, LAT, LON)["apparent_elevation"]
    rise = (fine[np.flatnonzero(el.to_numpy() > 0)[0]] - day).total_seconds() / 3600
    hour = (times - day).total_seconds().to_numpy() / 3600
    amp = 0.58 * el.max() - 9.78
    return np.maximum(amp * np.sin(np.pi / 2 * (hour - rise) / (15.0 - rise)), 0.0)


def test_sunlit_open_field_matches_the_closed_form():
    """Clear summer noon hours on an open paved field: Kdown = DHI + DNI cos Z,
    Kup = 0.18 Kdown, the vertical faces get pvlib's Perez plane-of-array
    irradiance (albedo 0.18), Ldown = L↓, Lup = 0.95 σ (Ta + ΔT)⁴ with
    the Lindberg ground wave ΔT, laterals (Ldown + Lup)/2; Tmrt is their
    six-direction sum. The faces face the grid's axes (Lambert-93 turns them
    about 0.5° from true north here), so pvlib is given those azimuths.
    Observed: shortwave to 5e-8 (float32 storage), Lup 1e-5 (sunrise found at
    5-minute steps in the code, 1 minute here), Tmrt 4e-4 K."""
    g = flat_grid()
    w = weather_frame("2023-07-15 11:30", 4, temp=30.0, ldown=380.0)
    r = heat.tmrt_raster(g, w, points=[centre(g, 20, 20)], timeseries=True,
                         latitude=LAT, longitude=LON, altitude=35.0)
    f = r.fluxes(point=0)
    t = r.met.times
    sp = pvlib.solarposition.get_solarposition(t, LAT, LON, altitude=35.0)
    d = r.met.sky.data
    dni, dhi = d["dni"], d["dhi"]
    ghi = dhi + dni * np.cos(np.radians(sp["apparent_zenith"]))
    assert np.allclose(f["Kdown"], ghi, rtol=1e-6)
    assert np.allclose(f["Kup"], 0.18 * ghi, rtol=1e-6)
    extra = pvlib.irradiance.get_extra_radiation(t)
    am = pvlib.atmosphere.get_relative_airmass(sp["apparent_zenith"])
    # the faces follow the grid's axes: grid azimuth = true azimuth + north
    north = r.meta["north"]
    for col, az in (("Kn", 0.0), ("Ke", 90.0), ("Ks", 180.0), ("Kw", 270.0)):
        poa = pvlib.irradiance.get_total_irradiance(
            90.0, az - north, sp["apparent_zenith"], sp["azimuth"], dni, ghi, dhi,
            dni_extra=extra, airmass=am, albedo=0.18, model="perez",
            model_perez="allsitescomposite1990")["poa_global"]
        assert np.allclose(f[col], poa, rtol=1e-6), (col, f[col].values, poa.values)
    lup = 0.95 * SIGMA * (30.0 + 273.15 + _ground_wave(t, None)) ** 4
    assert np.allclose(f["Lup"], lup, rtol=3e-5)
    assert np.allclose(f["Ldown"], 380.0, rtol=1e-6)
    K = np.column_stack([ghi, 0.18 * ghi] + [f[c] for c in ("Kn", "Ke", "Ks", "Kw")])
    lat_l = (380.0 + lup) / 2
    L = np.column_stack([np.full(len(t), 380.0), lup] + [lat_l] * 4)
    s = 0.70 * K @ STANDING + 0.97 * L @ STANDING
    expected = (s / (0.97 * SIGMA)) ** 0.25 - 273.15
    assert np.allclose(r.timeseries[0], expected, atol=2e-3)


def test_shaded_open_field_without_ldown_uses_prata():
    """Without measured L↓, the clear-sky L↓ of an open field at night is
    Prata (1996): ε = 1 - (1 + w) exp(-sqrt(1.2 + 3w)), w = 46.5 e_a / Ta,
    with e_a from the Magnus formula (clear sky assumed and warned about)."""
    g = flat_grid()
    w = weather_frame("2023-07-15 01:00", 2, temp=18.0, rh=70.0, clear=False)
    with pytest.warns(DataQualityWarning, match="clear sky"):
        r = heat.tmrt_raster(g, w, points=[centre(g, 20, 20)], timeseries=True)
    ta = 291.15
    ea = 6.107 * 10 ** (7.5 * 18.0 / (237.3 + 18.0)) * 0.70
    wv = 46.5 * ea / ta
    eps = 1 - (1 + wv) * np.exp(-np.sqrt(1.2 + 3 * wv))
    # fluxes are stored as float32
    assert np.allclose(r.fluxes(point=0)["Ldown"], eps * SIGMA * ta**4, rtol=1e-6)


def test_building_shade_and_walls():
    """Next to a 20 m block, north of it at noon, the person is in shade: the
    direct beam is gone from every face, and the block's wall fills part of
    the southern view (sky view factor below 1, Ks longwave from the wall
    above the sky's)."""
    g = flat_grid(n=60, box=(30, 40, 10, 50, 20.0))
    w = weather_frame("2023-07-15 12:30", 2, temp=30.0, ldown=380.0)
    north = centre(g, 27, 30)  # 3 m north of the block
    far = centre(g, 3, 30)
    r = heat.tmrt_raster(g, w, points=[north, far], timeseries=True,
                         latitude=LAT, longitude=LON)
    f = r.fluxes(time="2023-07-15 12:30")
    sun = r.points["sun_hours"]
    assert sun.iloc[0] == 0.0 and sun.iloc[1] == pytest.approx(2.0)
    assert f.loc[0, "Kdown"] < 0.4 * f.loc[1, "Kdown"]
    assert r.points["svf"].iloc[0] < 0.8
    assert f.loc[0, "Ls"] > f.loc[0, "Ln"]
    assert f.loc[0, "tmrt"] < f.loc[1, "tmrt"] - 10


def test_raster_and_mesh_paths_agree_on_a_box():
    """The same 20 x 10 x 20 m box as a mesh (cimcity.testing.lone_box) and as
    a 0.5 m raster (its walls fall on pixel edges): the sky view factors agree
    to 0.005 and Tmrt within 0.3 K at points around it over six hours
    (observed: identical view factors, 0.25 K; the mesh path lights the
    surfaces it sees with exact rays, the raster with per-cell shadow heights)."""
    scene = testing.lone_box()
    b = scene.buildings.total_bounds
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    pts = np.array([[cx, b[3] + 3.0], [cx, b[1] - 3.0], [b[0] - 4.0, cy],
                    [b[2] + 6.0, cy + 2.0], [cx + 15.0, b[3] + 12.0]])
    w = weather_frame("2023-07-15 09:30", 6, temp=28.0, ldown=370.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        m = heat.tmrt(scene, w, points=pts, method="mesh", timeseries=True)
        r = heat.tmrt(scene, w, points=pts, method="raster", spacing=0.5,
                      timeseries=True)
    assert np.abs(m.points["svf"] - r.points["svf"]).max() < 0.005
    d = np.abs(m.timeseries.to_numpy() - r.timeseries.to_numpy())
    assert d.max() < 0.3, d.max()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    height=st.floats(4.0, 15.0),
    radius=st.integers(2, 5),
    dr=st.integers(-3, 3),
    dc=st.integers(-3, 3),
)
def test_a_tree_never_raises_daytime_tmrt_beneath_it(height, radius, dr, dc):
    """A tree near a person on a clear summer day (trunk 25 % of its height):
    at every daytime hour its crown shades the person, Tmrt is lower than or
    equal to that without the tree (shade outweighs the leaves' longwave at air
    temperature); when the sun passes beside or under the crown, the canopy can
    only add its longwave: less than 1 K."""
    base = flat_grid()
    tree = flat_grid(tree=(20 + dr, 20 + dc, radius, height))
    w = weather_frame("2023-07-15 08:30", 10, temp=30.0, ldown=380.0)
    p = [centre(base, 20, 20)]
    a = heat.tmrt_raster(base, w, points=p, timeseries=True, latitude=LAT, longitude=LON)
    b = heat.tmrt_raster(tree, w, points=p, timeseries=True, latitude=LAT, longitude=LON)
    day = a.met.sky.data["apparent_elevation"].to_numpy() > 5
    shaded = day & (b.sun_array[:, 0] < a.sun_array[:, 0])
    ta, tb = a.timeseries[0].to_numpy(), b.timeseries[0].to_numpy()
    assert (tb[shaded] <= ta[shaded] + 1e-9).all()
    assert (tb[day & ~shaded] < ta[day & ~shaded] + 1.0).all()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    share=st.floats(0.05, 1.0),
    to=st.sampled_from([5, 6]),
    day=st.sampled_from(["2023-05-20", "2023-06-21", "2023-07-15", "2023-08-10"]),
)
def test_depaving_never_raises_ground_longwave(seed, share, to, day):
    """Turning asphalt (UMEP 1) into grass (5) or bare soil (6) on any set of
    cells never raises the upward longwave at a person, hour by hour, in the
    same weather (lower emissivity and a weaker sunlit warming wave; summer
    days, sun above 50°)."""
    rng = np.random.default_rng(seed)
    lc = np.ones((30, 30), np.int8)
    after = lc.copy()
    after[rng.random(lc.shape) < share] = to
    g0 = flat_grid(n=30, box=(5, 12, 5, 25, 12.0), landcover=lc)
    g1 = flat_grid(n=30, box=(5, 12, 5, 25, 12.0), landcover=after)
    w = weather_frame(f"{day} 06:30", 14, temp=31.0, ldown=385.0)
    pts = [centre(g0, 20, 15), centre(g0, 14, 8)]
    a = heat.tmrt_raster(g0, w, points=pts, timeseries=True, latitude=LAT, longitude=LON)
    b = heat.tmrt_raster(g1, w, points=pts, timeseries=True, latitude=LAT, longitude=LON)
    assert (b.flux_array[..., 7] <= a.flux_array[..., 7] + 1e-3).all()


def test_result_protocol_and_grid_files(tmp_path):
    """TmrtResult follows the result protocol; its grid is a GeoTIFF on the
    raster's own grid (NaN on the building)."""
    import rasterio

    g = flat_grid(n=20, box=(5, 10, 5, 10, 10.0))
    w = weather_frame("2023-07-15 11:30", 3, temp=30.0, ldown=380.0)
    r = heat.tmrt_raster(g, w, timeseries=True, latitude=LAT, longitude=LON)
    testing.assert_result_protocol(r, tmp_path)
    out = r.to_file(tmp_path / "t.tif", layer="tmrt_mean")
    with rasterio.open(out) as ds:
        a = ds.read(1)
        assert ds.transform == g.transform
    assert np.isnan(a[7, 7]) and np.isfinite(a[15, 15])
    assert r.timeseries.shape == (3, 20 * 20 - 25)
    assert r.summary()["points"] == 375


def test_refusals():
    g = flat_grid(n=20, box=(5, 10, 5, 10, 10.0))
    w = weather_frame("2023-07-15 11:30", 2)
    with pytest.raises(InputError, match="building"):
        heat.tmrt_raster(g, w, points=[centre(g, 7, 7)])
    with pytest.raises(InputError, match="outside"):
        heat.tmrt_raster(g, w, points=[(0.0, 0.0)])
    with pytest.raises(InputError, match="height"):
        heat.tmrt_raster(g, w, points=[centre(g, 15, 15)], height=11)
    with pytest.raises(InputError, match="temp_air"):
        heat.tmrt_raster(g, w.drop(columns="temp_air"), points=[centre(g, 15, 15)])
    with pytest.raises(InputError, match="relative_humidity.*outside"):
        heat.tmrt_raster(g, w.assign(relative_humidity=0.5 * 1000),
                         points=[centre(g, 15, 15)])
    t = g.transform
    with pytest.raises(InputError, match="line up"):
        heat.heat_grid((g.dsm, t, CRS), dem=(g.dem[:-1], t, CRS))
    with pytest.raises(InputError, match="unknown codes"):
        heat.heat_grid((g.dsm, t, CRS), dem=(g.dem, t, CRS),
                       landcover=(np.full(g.dsm.shape, 9), t, CRS))


def test_courtyard_floor_receives_wall_reflected_shortwave():
    """cimcity.sun.reflected (the courtyard case of solar): a horizontal
    sensor at the centre of a 16 m square courtyard 25 m deep, under a
    diffuse-only isotropic sky (DHI 100 W/m²), sees walls lit by half the
    dome and half the ground-reflected light, E_w = 0.5·100·(1 + 0.2); it
    receives α_w E_w F_walls with F_walls = 1 - F_sky and F_sky the analytic
    view factor of a floor element to the coaxial square opening (four
    corner rectangles: (1/2π)[X/√(1+X²) atan(Y/√(1+X²)) + Y/√(1+Y²)
    atan(X/√(1+Y²))], X = Y = 8/c; Howell's catalogue, B-12). Within 1 %
    (observed 0.75 % with k = 2). A sensor on the roof, above every wall,
    gets 0, and with the sun out the sunlit north wall adds beam."""
    from cimcity.io.weather import from_frame
    from cimcity.sun.position import scene_site
    from cimcity.sun.reflected import EPS, wall_reflected
    from cimcity.sun.sky import sky_components

    sc = testing.courtyard(outer=40.0, inner=16.0, h=25.0)
    b = sc.buildings.total_bounds
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    z = float(sc.buildings["ground_z"].iloc[0])
    site = scene_site(sc)
    times = pd.date_range("2023-06-21 13:00", periods=2, freq="1h", tz="Europe/Paris")

    def comp(dni):
        w = from_frame(pd.DataFrame({"dni": dni, "dhi": 100.0}, index=times),
                       site.latitude, site.longitude)
        return sky_components(w, "isotropic", north=site.north)

    mesh = sc.mesh()
    e = wall_reflected(mesh, [[cx, cy, z]], [[0, 0, 1.0]], comp(0.0), albedo=0.3,
                       ground_albedo=0.2, k=2)
    c = 25.0 - EPS
    X = 8.0 / c
    corner = 2 * X / np.sqrt(1 + X * X) * np.arctan(X / np.sqrt(1 + X * X)) / (2 * np.pi)
    expected = 0.3 * 0.5 * 100.0 * 1.2 * (1 - 4 * corner)
    assert np.allclose(e[:, 0], expected, rtol=0.01)
    roof = wall_reflected(mesh, [[b[0] + 5.0, cy, z + 25.0]], [[0, 0, 1.0]], comp(0.0))
    assert np.all(roof == 0.0)
    sunny = wall_reflected(mesh, [[cx, cy, z]], [[0, 0, 1.0]], comp(800.0), albedo=0.3,
                           ground_albedo=0.2, k=2)
    assert (sunny[:, 0] > e[:, 0] + 20.0).all()
