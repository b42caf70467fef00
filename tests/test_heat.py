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


def test_nodata_holes_in_dsm_and_land_cover_are_named():
    """Holes are not measured values: a DSM with 6 nodata cells and a land
    cover with 4 are still read (the holes as ground and as paved), but each
    layer's DataQualityWarning gives its exact count of holes (counted here
    from the arrays built by hand)."""
    g = flat_grid(n=20)
    t = g.transform
    dsm = g.dsm.copy()
    dsm[3, 4:10] = np.nan
    lc = np.ones(dsm.shape)
    lc[10:12, 10:12] = np.nan
    with pytest.warns(DataQualityWarning) as rec:
        out = heat.heat_grid((dsm, t, CRS), dem=(g.dem, t, CRS), landcover=(lc, t, CRS))
    msgs = [str(w.message) for w in rec]
    assert any("DSM has 6 nodata cells" in m for m in msgs), msgs
    assert any("land cover has 4 nodata cells" in m for m in msgs), msgs
    assert np.isfinite(out.dsm).all() and (out.landcover[10:12, 10:12] == 1).all()


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


def _view_factor_down(x1, x2, y1, y2, c):
    """View factor from a downward-facing differential element to a parallel
    rectangle ``[x1, x2] × [y1, y2]`` at depth ``c`` below it (x1 < 0 < x2,
    0 < y1 < y2): the corner formula (Howell, Siegel & Mengüç, *Thermal
    Radiation Heat Transfer*, catalogue B-3) by superposition."""

    def corner(a, b):
        A, B = a / c, b / c
        return (A / np.sqrt(1 + A * A) * np.arctan(B / np.sqrt(1 + A * A))
                + B / np.sqrt(1 + B * B) * np.arctan(A / np.sqrt(1 + B * B))) / (2 * np.pi)

    return sum(corner(abs(x), y2) - corner(abs(x), y1) for x in (x1, x2))


def _terrace_grid(roof_albedo=None):
    """A 5 m terrace (rows 0..14) north of a 3 m low building (rows 16..26,
    cols 14..27), 1 m gap between; flat paved ground at 35 m elsewhere."""
    n, z = 40, 35.0
    t = Affine(1.0, 0, X0, 0, -1.0, Y0 + n)
    dem = np.full((n, n), z)
    dem[:15, :] = z + 5.0
    dsm = dem.copy()
    dsm[16:27, 14:28] = z + 3.0
    return heat.heat_grid((dsm, t, CRS), dem=(dem, t, CRS), landcover=1,
                          roof_albedo=roof_albedo)


def test_cool_roof_changes_only_who_sees_the_roof_raster():
    """Roof albedo reaches the physics (raster path), at 13:00 on a clear
    July day with a pure beam (DNI chosen so GHI ≥ the Ineichen clear sky:
    clearness 1, no diffuse):

    * a person on the low ground south of the building sees its walls, not
      its roof: Tmrt unchanged to 1e-9 K when the roof albedo goes 0.18 → 0.7;
    * a person on the terrace edge sees the roof below: Kup grows by
      Δα · E · F, ``E = DNI cos Z`` the beam on the roof and ``F`` the view
      factor of the roof from the downward face (Howell's corner formula;
      observed 7.7 % over with 577 Reinhart directions and the raster
      march at half-pixel steps, tolerance 10 %), linearly
      in α (exact to float32);
    * the roof's warming wave scales with what it absorbs,
      ``ΔT_α = ΔT (1 - α) / (1 - 0.18)`` (Lindberg 2008 wave written out in
      ``_ground_wave``), so Lup falls by ``F · 0.95 σ [(Ta + ΔT_0.18)⁴ -
      (Ta + ΔT_α)⁴]``: checked as the ratio of the Lup fall to the Kup rise,
      in which F cancels (observed 2e-6, tolerance 1e-4)."""
    times = pd.date_range("2023-07-15 13:00", periods=2, freq="1h", tz="Europe/Paris")
    loc = pvlib.location.Location(LAT, LON, altitude=35.0)
    cs = loc.get_clearsky(times, model="ineichen")
    sp = loc.get_solarposition(times)
    cz = np.cos(np.radians(sp["apparent_zenith"].to_numpy()))
    w = pd.DataFrame({"ghi": cs["ghi"] * 1.05, "dni": cs["ghi"] * 1.05 / cz,
                      "dhi": 0.0, "temp_air": 30.0, "relative_humidity": 40.0,
                      "wind_speed": 2.0, "ldown": 380.0}, index=times)
    terrace = centre(_terrace_grid(), 14, 20)  # 0.5 m from the terrace edge
    low = centre(_terrace_grid(), 32, 20)  # south of the building, on the ground
    runs = {}
    for a in (None, 0.44, 0.70):
        g = _terrace_grid(a)
        runs[a] = heat.tmrt_raster(g, w, points=[terrace, low], timeseries=True,
                                   latitude=LAT, longitude=LON, altitude=35.0,
                                   directions="reinhart")
    base = runs[None]
    for a in (0.44, 0.70):
        assert abs(runs[a].points["tmrt_mean"].iloc[1]
                   - base.points["tmrt_mean"].iloc[1]) < 1e-9
    f = {a: r.fluxes(point=0).iloc[0] for a, r in runs.items()}
    d = base.met.sky.data
    e = float(d["dni"].iloc[0] * np.cos(np.radians(d["apparent_zenith"].iloc[0])))
    dk = {a: float(f[a]["Kup"] - f[None]["Kup"]) for a in (0.44, 0.70)}
    print(dk, e, _view_factor_down(-6.5, 7.5, 1.5, 12.5, 3.1))
    # linear in albedo
    assert dk[0.70] / dk[0.44] == pytest.approx((0.70 - 0.18) / (0.44 - 0.18), rel=1e-5)
    # the roof's view factor from the downward face: x -6.5..7.5 m, y 1.5..12.5 m,
    # 41.1 - 38 = 3.1 m below
    F = _view_factor_down(-6.5, 7.5, 1.5, 12.5, 3.1)
    assert dk[0.70] == pytest.approx((0.70 - 0.18) * e * F, rel=0.10)
    ta = 30.0 + 273.15
    dt = float(_ground_wave(times, None)[0])
    assert dt > 5.0
    for a in (0.44, 0.70):
        dl = float(f[None]["Lup"] - f[a]["Lup"])
        t_a = ta + dt * (1 - a) / (1 - 0.18)
        expected = 0.95 * SIGMA * ((ta + dt) ** 4 - t_a**4) / ((a - 0.18) * e)
        assert dl / dk[a] == pytest.approx(expected, rel=1e-4)


def test_cool_roof_reaches_the_mesh_path():
    """The same on the 3D path: a 3 m box (cimcity.testing.lone_box) south
    of a 5 m terrace of the scene's DEM. ``cool_roofs`` sets its
    ``roof_albedo``; the person on the terrace sees the roof, Kup grows
    linearly in Δα and Lup falls by the εσT⁴ of the scaled wave (same ratio
    as the raster test, F cancels; observed 1e-6, tolerance 1e-4; the wave
    ΔT of the buildings class is the model's here, written out in the raster
    test); the person south of the box sees no roof: Tmrt unchanged to 1e-9 K."""
    from cimcity.terrain import Terrain

    scene = testing.lone_box(w=14.0, d=11.0, h=3.0)
    x0, y0 = testing.X0, testing.Y0
    n = 60
    dem = np.full((n, n), testing.GROUND_Z)
    # the DEM's upper-left corner 20 m west and 40 m north of the box's
    # south-west corner; terrace north of y0 + 12 (1 m north of the box)
    ys = y0 + 40.0 - (np.arange(n) + 0.5)
    dem[ys > y0 + 12.0, :] = testing.GROUND_Z + 5.0
    scene.add_terrain(Terrain.from_array(dem, (x0 - 20.0, y0 + 40.0), 1.0))
    times = pd.date_range("2023-07-15 13:00", periods=2, freq="1h", tz="Europe/Paris")
    loc = pvlib.location.Location(LAT, LON, altitude=35.0)  # clear-sky scale only
    cs = loc.get_clearsky(times, model="ineichen")
    sp = loc.get_solarposition(times)
    cz = np.cos(np.radians(sp["apparent_zenith"].to_numpy()))
    w = pd.DataFrame({"ghi": cs["ghi"] * 1.05, "dni": cs["ghi"] * 1.05 / cz,
                      "dhi": 0.0, "temp_air": 30.0, "relative_humidity": 40.0,
                      "wind_speed": 2.0, "ldown": 380.0}, index=times)
    pts = np.array([[x0 + 7.0, y0 + 13.6], [x0 + 7.0, y0 - 6.0]])
    runs = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        for a in (None, 0.44, 0.70):
            s = scene if a is None else heat.scenarios.cool_roofs(scene, a)
            runs[a] = heat.tmrt(s, w, points=pts, method="mesh", timeseries=True)
    base = runs[None]
    f = {a: r.fluxes(point=0).iloc[0] for a, r in runs.items()}
    d = base.met.sky.data
    e = float(d["dni"].iloc[0] * np.cos(np.radians(d["apparent_zenith"].iloc[0])))
    dk = {a: float(f[a]["Kup"] - f[None]["Kup"]) for a in (0.44, 0.70)}
    assert dk[0.44] > 5.0
    assert dk[0.70] / dk[0.44] == pytest.approx((0.70 - 0.18) / (0.44 - 0.18), rel=1e-5)
    ta = 30.0 + 273.15
    dt = float(np.max(heat.surfaces.surface_wave(
        base.met, heat.surfaces.class_table(), np.ones(2))[0, 2]))
    for a in (0.44, 0.70):
        assert abs(runs[a].points["tmrt_mean"].iloc[1]
                   - base.points["tmrt_mean"].iloc[1]) < 1e-9
        dl = float(f[None]["Lup"] - f[a]["Lup"])
        t_a = ta + dt * (1 - a) / (1 - 0.18)
        expected = 0.95 * SIGMA * ((ta + dt) ** 4 - t_a**4) / ((a - 0.18) * e)
        assert dl / dk[a] == pytest.approx(expected, rel=1e-4)


def _hourly_reference(monkeypatch):
    """Route tmrt/tmrt_raster through the per-hour loop (one
    ``hour_fluxes`` call per hour, the model as it ran before the chunked
    kernel): the reference of the fast path."""
    import importlib

    import cimcity.heat.model as model

    tm = importlib.import_module("cimcity.heat.tmrt")  # the module, not the function

    def hourly(views, met, *, lit_many=None, person_sun_many=None, **kw):
        return model.run_hourly(views, met, **kw)

    monkeypatch.setattr(tm, "run", hourly)


def _same_run(a, b, tol):
    for name in ("tmrt_array", "flux_array", "sun_array"):
        x, y = getattr(a, name), getattr(b, name)
        assert np.abs(x.astype(float) - y.astype(float)).max() <= tol, name
    for c in ("tmrt_mean", "tmrt_max", "sun_hours", "Kdown", "Lw"):
        assert np.abs(a.points[c] - b.points[c]).max() <= tol, c
    assert (a.points["time_max"] == b.points["time_max"]).all()


@pytest.mark.parametrize("chunk", [None, 1.0])
def test_chunked_kernel_equals_the_hourly_reference_raster(monkeypatch, chunk):
    """The chunked all-hours kernel (sun profiles and person sun for a chunk
    of hours, then every point over all its hours) gives the numbers of the
    per-hour loop: every grid cell, two days with nights, a block and a tree
    (observed: equal to the last float32 bit; tolerance 1e-6 K, W/m²).
    ``chunk=1.0``: a chunk of one hour (chunk boundaries, hour offsets)."""
    import cimcity.heat.model as model

    g = flat_grid(n=40, box=(10, 18, 8, 30, 14.0), tree=(28, 20, 3, 9.0))
    w = weather_frame("2023-07-14 00:00", 48, temp=29.0)
    kw = dict(timeseries=True, latitude=LAT, longitude=LON)
    if chunk is not None:
        monkeypatch.setattr(model, "CHUNK_BYTES", chunk)
    fast = heat.tmrt_raster(g, w, **kw)
    _hourly_reference(monkeypatch)
    ref = heat.tmrt_raster(g, w, **kw)
    assert fast.sun_array.max() == 1.0 and 0 < fast.points["sun_hours"].min()
    _same_run(fast, ref, 1e-6)


def test_chunked_kernel_equals_the_hourly_reference_mesh(monkeypatch):
    """Same check on the mesh path (its sun fractions come hour by hour from
    rays and are stacked per chunk)."""
    scene = testing.lone_box()
    b = scene.buildings.total_bounds
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    pts = np.array([[cx, b[3] + 3.0], [cx, b[1] - 3.0], [b[0] - 4.0, cy]])
    w = weather_frame("2023-07-15 04:30", 20, temp=28.0, ldown=370.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        fast = heat.tmrt(scene, w, points=pts, method="mesh", timeseries=True)
        _hourly_reference(monkeypatch)
        ref = heat.tmrt(scene, w, points=pts, method="mesh", timeseries=True)
    _same_run(fast, ref, 1e-6)


def test_views_are_traced_once_per_geometry():
    """A second call on the same rasters and points reuses the traced views
    (same numbers); a changed DSM, land cover or transmissivity traces anew."""
    g = flat_grid(n=30, box=(5, 12, 5, 25, 12.0))
    w = weather_frame("2023-07-15 10:30", 3, temp=30.0)
    kw = dict(latitude=LAT, longitude=LON)
    a = heat.tmrt_raster(g, w, **kw)
    b = heat.tmrt_raster(g, w, **kw)
    assert b.meta["views_reused"] and not a.meta["views_reused"]
    assert np.array_equal(a.points["tmrt_mean"], b.points["tmrt_mean"])
    c = heat.tmrt_raster(flat_grid(n=30, box=(5, 12, 5, 25, 13.0)), w, **kw)
    d = heat.tmrt_raster(flat_grid(n=30, box=(5, 12, 5, 25, 13.0), landcover=5), w, **kw)
    e = heat.tmrt_raster(flat_grid(n=30, box=(5, 12, 5, 25, 13.0), landcover=5), w,
                         transmissivity=0.1, **kw)
    assert not (c.meta["views_reused"] or d.meta["views_reused"]
                or e.meta["views_reused"])
    assert (c.points["svf"] <= a.points["svf"] + 1e-12).all()


def test_points_in_blocks_give_the_same_answers(monkeypatch):
    """Many points run in blocks (views traced and run block by block, to
    bound memory): the same Tmrt, fluxes and summaries as one block, in the
    same order (observed equal; tolerance 1e-9)."""
    import importlib

    tm = importlib.import_module("cimcity.heat.tmrt")
    g = flat_grid(n=30, box=(5, 12, 5, 25, 12.0), tree=(20, 15, 3, 8.0))
    w = weather_frame("2023-07-15 05:30", 16, temp=30.0)
    kw = dict(timeseries=True, latitude=LAT, longitude=LON)
    one = heat.tmrt_raster(g, w, **kw)
    monkeypatch.setattr(tm, "VIEW_BLOCK_POINTS", 97)
    many = heat.tmrt_raster(g, w, **kw)
    assert len(one.points) > 5 * 97 and not many.meta["views_reused"]
    _same_run(one, many, 1e-9)
    assert np.array_equal(one.points["svf"], many.points["svf"])


def test_roof_albedo_raster_is_read_from_a_tuple_or_a_file(tmp_path):
    """A roof-albedo raster given as an (array, transform, crs) tuple or as a
    GeoTIFF path is read, not dropped (a path has ``np.ndim`` 0 like a number,
    and a tuple made ``np.ndim`` fail): the grid holds the same albedo as the
    single value 0.7 on the roof cells (exact: nearest resampling of a
    constant, same grid)."""
    import rasterio

    n = 40
    t = Affine(1.0, 0, X0, 0, -1.0, Y0 + n)
    one = _terrace_grid(0.7).roof_albedo
    arr = np.full((n, n), 0.7)
    tif = tmp_path / "albedo.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=n, height=n, count=1,
                       dtype="float64", crs=CRS, transform=t) as f:
        f.write(arr, 1)
    for src in ((arr, t, CRS), tif, str(tif)):
        got = _terrace_grid(src).roof_albedo
        roof = np.isfinite(one) & (one > 0)
        assert roof.any()
        np.testing.assert_array_equal(got[roof], one[roof])
