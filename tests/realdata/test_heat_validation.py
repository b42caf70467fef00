"""Tmrt and the twelve directional fluxes against field measurements.

Reference: the hourly measurements of Lindberg, Holmer & Thorsson (2008,
Int J Biometeorol 52:697) at two Gothenburg sites, as UMEP distributes them
(``../shared/data/dem``, SOURCES.md): Kronenhuset courtyard (7 Oct 2005) and
Gustav Adolfs torg (11 Oct 2005, 26 Jul 2006, 1 Aug 2006), 55 measured hours of
Tmrt. cimcity runs on the sites' DSM, DEM, CDSM, land cover and UMEP met files
(:mod:`cimcity.heat.validation`, the same function the benchmark uses).

Context: SOLWEIG 1.0 reports Tmrt R² 0.94 and RMSE 4.8 K over 7 days at the
Gothenburg sites (Lindberg et al. 2008); its L↓ R² 0.73 / RMSE 17.5 W/m², L↑
R² 0.94 / RMSE 15.6 W/m². The bounds below sit just above what cimcity gives
here (observed values in comments); they catch a regression, not a model
change for the better.
"""

from __future__ import annotations

import warnings

import pytest

from cimcity.errors import DataQualityWarning
from cimcity.heat import validation

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

#: observed RMSE, |bias| and R² over all 55-56 measured hours -> bounds
ALL_HOURS = {
    # variable: (rmse max, |bias| max, r2 min)   observed rmse / bias / r2
    "Tmrt": (5.0, 1.3, 0.93),      # 4.78 K / +0.97 / 0.94
    "Kdown": (52.0, 11.0, 0.95),   # 49.2 / -8.7 / 0.96
    "Kup": (11.0, 5.0, 0.96),      # 10.3 / +3.9 / 0.97
    "Ldown": (43.0, 40.0, 0.70),   # 41.1 / +37.8 / 0.73
    "Lup": (25.0, 5.0, 0.87),      # 23.3 / +3.9 / 0.89
    "Ln": (20.0, 5.0, 0.80),       # 18.9 / +3.4 / 0.82
    "Le": (18.5, 11.0, 0.91),      # 17.1 / +9.9 / 0.93
    "Ls": (19.0, 12.5, 0.91),      # 17.8 / +11.2 / 0.93
    "Lw": (17.5, 12.0, 0.91),      # 16.4 / +10.5 / 0.93
    "Kn": (35.0, 16.0, 0.50),      # 32.4 / -13.8 / 0.56
    "Ke": (76.0, 35.0, 0.93),      # 72.2 / +32.3 / 0.95
    "Ks": (83.0, 12.0, 0.89),      # 79.4 / -9.7 / 0.91
    "Kw": (104.0, 48.0, 0.80),     # 99.8 / -45.0 / 0.83
}

#: observed Tmrt RMSE per site-day [K] -> bound
TMRT_DAYS = {
    ("kronenhuset", "2005-10-07"): 5.6,     # 5.37
    ("gustav_adolfs", "2005-10-11"): 5.8,   # 5.58
    ("gustav_adolfs", "2006-07-26"): 5.1,   # 4.88
    ("gustav_adolfs", "2006-08-01"): 3.5,   # 3.23
}


@pytest.fixture(scope="module")
def table(shared_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return validation.validate(shared_data / "dem")


def test_every_measured_hour_is_compared(table):
    n = table.loc[("all", "all"), "n"]
    assert n["Tmrt"] == 55 and n["Kdown"] == 56
    assert set(TMRT_DAYS) <= {k[:2] for k in table.index}


@pytest.mark.parametrize("variable", sorted(ALL_HOURS))
def test_errors_over_all_measured_hours(table, variable):
    rmse, bias, r2 = ALL_HOURS[variable]
    s = table.loc[("all", "all", variable)]
    assert s["rmse"] <= rmse, s.to_dict()
    assert abs(s["bias"]) <= bias, s.to_dict()
    assert s["r2"] >= r2, s.to_dict()


@pytest.mark.parametrize("site_day", sorted(TMRT_DAYS))
def test_tmrt_per_site_day(table, site_day):
    s = table.loc[(*site_day, "Tmrt")]
    assert s["rmse"] <= TMRT_DAYS[site_day], s.to_dict()


def test_times_follow_the_met_files(shared_data):
    """The alignment the comparison rests on, from the files themselves: the
    met rows close Kdir sin(e) + Kdiff = Kdn with the sun at it + 30 min
    (UTC+1) within 3 % at Kronenhuset's sunny hours, and the open square's
    measured Kdown of hour h is the met Kdn of row h - 1 within 4 % in the
    bright hours (measured Kdown > 200 W/m²; observed 2.8 %; the square's
    edge shades the station from 15:00)."""
    import numpy as np

    from cimcity.heat import read_umep_met

    met = read_umep_met(shared_data / "dem/goteborg_kronenhuset/MetFile_Prepared.txt",
                        57.7, 12.0, 10.0, tz=validation.TZ)
    d = met.sky.data
    sunny = d["apparent_elevation"] > 5
    closure = d.loc[sunny, "ghi"] / d.loc[sunny, "ghi_input"]
    assert np.abs(closure - 1).max() < 0.03
    ga = validation.measurements("gustav_adolfs", shared_data / "dem")
    oct11 = ga[ga["day"] == 20051011]
    met = read_umep_met(shared_data / "dem/goteborg_gustav_adolfs/MetFile_20051011.txt",
                        57.706, 11.967, 10.0, tz=validation.TZ)
    kdn = met.sky.data["ghi_input"].reindex(oct11.index)
    high = oct11["Kdown"] > 200
    assert high.sum() == 6
    assert np.abs(kdn[high] / oct11.loc[high, "Kdown"] - 1).max() < 0.04


def test_fast_path_equals_the_hourly_reference(shared_data, monkeypatch):
    """The chunked all-hours kernel and the per-hour loop (``run_hourly``,
    the model as it ran before) give the same Tmrt and fluxes at both
    stations for every met step of the four days (all 55 measured hours;
    required ≤ 0.01 K, observed equal to the last float32 bit), and on every
    cell of the Gustav Adolfs grid over 26 Jul 2006."""
    import importlib

    import numpy as np

    import cimcity.heat.model as model
    from cimcity.heat import read_umep_met, tmrt_raster
    from cimcity.heat.rasters import heat_grid

    tm = importlib.import_module("cimcity.heat.tmrt")
    ga = shared_data / "dem/goteborg_gustav_adolfs"
    grid = heat_grid(ga / "DSM_GA.tif", dem=ga / "DEM_GA.tif", cdsm=ga / "CDSM_GA.tif",
                     landcover=ga / "LC_GA.tif")
    met = read_umep_met(ga / "MetFile_20060726.txt", 57.706, 11.967, 10.0,
                        tz=validation.TZ)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        fast = {s: validation.simulate(s, shared_data / "dem") for s in validation.SITES}
        fast_grid = tmrt_raster(grid, met, timeseries=True)

        def hourly(views, met, *, lit_many=None, person_sun_many=None, **kw):
            return model.run_hourly(views, met, **kw)

        monkeypatch.setattr(tm, "run", hourly)
        ref = {s: validation.simulate(s, shared_data / "dem") for s in validation.SITES}
        ref_grid = tmrt_raster(grid, met, timeseries=True)
    for s in validation.SITES:
        assert len(fast[s]) == len(ref[s]) >= 24  # 24 steps a day
        d = (fast[s][list(validation.VARIABLES)] - ref[s][list(validation.VARIABLES)]).abs()
        assert d["Tmrt"].max() <= 1e-6 and d.to_numpy().max() <= 1e-4, (s, d.max())
    assert np.abs(fast_grid.tmrt_array - ref_grid.tmrt_array).max() <= 1e-6
    assert np.abs(fast_grid.flux_array - ref_grid.flux_array).max() <= 1e-4
