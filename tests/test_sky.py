"""Sun positions, sky patches and the Perez decomposition (weather: test_io_weather.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cimcity.errors import InputError
from cimcity.io import weather
from cimcity.sun import sky
from cimcity.sun.position import direction_vectors, sun_positions

EPW = "weather/FRA_Paris.Orly.071490_IWEC.epw"
PARIS = (48.8867, 2.3156, 35.0)


@pytest.fixture(scope="module")
def orly(shared_data):
    return weather.read_weather(shared_data / EPW, *PARIS)


# -- sun ------------------------------------------------------------------------------
def test_sun_position_matches_spa_paper_example():
    # Reference: Reda & Andreas (2004), NREL SPA worked example (Golden, CO,
    # 2003-10-17 12:30:30 -07:00): topocentric azimuth 194.34024°, topocentric
    # zenith with refraction 50.11162° (at 820 mbar; we derive the pressure from
    # the altitude, which shifts refraction by < 1e-3°).
    t = [pd.Timestamp("2003-10-17 12:30:30", tz="Etc/GMT+7")]
    sp = sun_positions(t, 39.742476, -105.1786, altitude=1830.14, temperature=11)
    assert sp["azimuth"].iloc[0] == pytest.approx(194.34024, abs=1e-4)
    assert sp["apparent_zenith"].iloc[0] == pytest.approx(50.11162, abs=1e-3)
    v = sp[["x", "y", "z"]].to_numpy()[0]
    assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-12)
    # unit vector agrees with the angles (exact trigonometry)
    assert np.degrees(np.arcsin(v[2])) == pytest.approx(
        sp["apparent_elevation"].iloc[0]
    )


def test_sun_positions_read_naive_times_as_paris():
    # docs/conventions.md: naive times are Europe/Paris local time (they were
    # refused before); the same instants localised explicitly give the same
    # sun to the last bit.
    naive = pd.date_range("2023-06-21", periods=3, freq="h")
    a = sun_positions(naive, 48.8, 2.3)
    b = sun_positions(naive.tz_localize("Europe/Paris"), 48.8, 2.3)
    pd.testing.assert_frame_equal(a, b)
    assert str(a.index.tz) == "Europe/Paris"
    with pytest.raises(InputError, match="latitude"):
        sun_positions(
            pd.date_range("2023-06-21", periods=3, freq="h", tz="UTC"), 95, 2
        )


# -- patches ----------------------------------------------------------------------------
@pytest.mark.parametrize("mf,count", [(1, 145), (2, 577), (4, 2305)])
def test_patches_cover_the_hemisphere(mf, count):
    p = sky.reinhart(mf)
    assert len(p) == count  # Tregenza 145, Reinhart 144 mf² + 1
    # exact: solid angles telescope to 2π (float rounding only)
    assert p.solid_angles.sum() == pytest.approx(2 * np.pi, rel=1e-12)
    assert (p.solid_angles > 0).all()
    # patch centres and sub-cells fall in their own patch
    assert (p.find(p.directions) == np.arange(count)).all()
    d, dom, cell, w = p.subsample(3)
    assert (p.find(d) == cell).all()
    assert (w <= dom + 1e-15).all()
    assert dom.sum() == pytest.approx(2 * np.pi, rel=1e-12)


def test_projected_solid_angle_of_the_sky():
    # Reference (analytic): ∫ max(0, n·ω) dω over the upper hemisphere is π for a
    # horizontal plane and π/2 for a vertical one.
    from cimcity._kernels.solar import projected_solid_angles

    p = sky.tregenza()
    d, dom, cell, w = p.subsample(8)
    n = np.array([[0, 0, 1.0], [0, 1.0, 0], [1.0, 0, 0], [0.6, 0, 0.8]])
    K = projected_solid_angles(n, d, w, cell, len(p)).sum(axis=1)
    # horizontal: every cell is in front and integrated exactly (first moments)
    assert K[0] == pytest.approx(np.pi, rel=1e-12)
    # vertical planes: only the cells cut by the plane are approximated
    assert K[1:3] == pytest.approx(np.pi / 2, rel=1e-5)
    # plane tilted by 36.87°: sky view (1 + cos β) / 2 of π
    assert K[3] == pytest.approx(np.pi * (1 + 0.8) / 2, rel=1e-4)


def test_patches_laid_in_a_grid_frame():
    # Reference: a rotation about the vertical by the grid azimuth of true north
    # (0.49° ~ Paris in Lambert-93): directions turn by it (1e-12), find() maps
    # every patch centre and sub-cell back to its patch, solid angles and
    # projected solid angles are unchanged (1e-12).
    north = 0.4862
    p0 = sky.tregenza()
    p1 = p0.in_grid(north)
    assert p1.north == north and p0.north == 0.0 and p1.key != p0.key
    c, s = np.cos(np.radians(north)), np.sin(np.radians(north))
    # rotation turning azimuths by +north (clockwise seen from above)
    R = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(p1.directions, p0.directions @ R.T, atol=1e-12)
    np.testing.assert_array_equal(p1.find(p1.directions), np.arange(len(p1)))
    d1, dom1, cell1, w1 = p1.subsample(4)
    d0, dom0, _, w0 = p0.subsample(4)
    np.testing.assert_array_equal(p1.find(d1), cell1)
    np.testing.assert_allclose(d1, d0 @ R.T, atol=1e-12)
    np.testing.assert_allclose(dom1, dom0, atol=1e-12)
    np.testing.assert_allclose(w1, w0, atol=1e-12)
    hd, _, hp = p1.horizon_samples(4)
    np.testing.assert_array_equal(p1.find(hd + [0, 0, 1e-9]), hp)
    assert p1.in_grid(north) is p1


def test_sky_patch_names():
    assert sky.sky_patches("tregenza").name == "tregenza"
    assert len(sky.sky_patches("reinhart")) == 577
    assert len(sky.sky_patches("reinhart4")) == 2305
    assert len(sky.sky_patches(2)) == 577
    with pytest.raises(InputError, match="unknown sky patches"):
        sky.sky_patches("tregenze")
    with pytest.raises(InputError, match="integer >= 1"):
        sky.reinhart(0)


# -- sky model ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "tilt,azimuth", [(0, 180), (30, 180), (45, 90), (90, 180), (60, 300)]
)
def test_perez_decomposition_equals_pvlib_per_step(orly, tilt, azimuth):
    # Reference: pvlib.irradiance.perez (same coefficients, airmass, dni_extra).
    # dome + horizon ring + circumsolar point source must rebuild pvlib's sky
    # diffuse exactly on any open plane while Z < 85° (rel. 1e-9).
    import pvlib

    d = orly.data
    c = sky.sky_components(orly, "perez")
    n = direction_vectors(90 - tilt, azimuth)  # plane normal
    mine = (
        c.dome * np.pi * (1 + n[2]) / 2
        + c.horizon * 2 * np.hypot(n[0], n[1])
        + c.circumsolar * np.clip(c.sun @ n, 0, None)
    )
    ref = pvlib.irradiance.perez(
        tilt,
        azimuth,
        d["dhi"],
        d["dni"],
        pvlib.irradiance.get_extra_radiation(d.index),
        d["apparent_zenith"],
        d["azimuth"],
        pvlib.atmosphere.get_relative_airmass(d["apparent_zenith"]),
        model=sky.PEREZ_SET,
    ).to_numpy()
    ok = (d["apparent_zenith"] < 85).to_numpy() & (ref > 0)
    assert ok.sum() > 3000
    np.testing.assert_allclose(mine[ok], ref[ok], rtol=1e-9, atol=1e-9)
    assert c.meta["perez_fallback_steps"] == 0


def test_isotropic_and_horizontal_closure(orly):
    c = sky.sky_components(orly, "isotropic")
    assert (c.circumsolar == 0).all() and (c.horizon == 0).all()
    np.testing.assert_allclose(c.dome * np.pi, orly.data["dhi"], rtol=1e-12)
    # Perez: an open horizontal plane receives DHI (dome + circumsolar) exactly
    p = sky.sky_components(orly, "perez")
    horiz = p.dome * np.pi + p.circumsolar * np.clip(p.sun[:, 2], 0, None)
    np.testing.assert_allclose(horiz, orly.data["dhi"], rtol=1e-9, atol=1e-9)
    with pytest.raises(InputError, match="unknown sky model"):
        sky.sky_components(orly, "cie")


def test_patch_radiance_spreads_the_horizon_ring(orly):
    p = sky.tregenza()
    c = sky.sky_components(orly.select(("2023-06-01", "2023-06-08")), "perez")
    L = sky.patch_radiance(c, p)
    assert L.shape == (len(c), len(p))
    # radiance above the dome, integrated over the lowest row, is the ring's
    # 2π · intensity (exact)
    extra = ((L - c.dome[:, None]) * p.solid_angles[None, :]).sum(axis=1)
    np.testing.assert_allclose(extra, 2 * np.pi * c.horizon, rtol=1e-9, atol=1e-9)
