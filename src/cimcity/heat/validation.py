"""Validation of Tmrt and the directional fluxes against field measurements.

Two Gothenburg sites measured by Lindberg, Holmer & Thorsson (2008), as UMEP
distributes them (``umep-rust`` ``tests/validation``; copies described in
``shared/data/SOURCES.md``):

* **Kronenhuset**, a courtyard: 7 October 2005, hours 7-18;
* **Gustav Adolfs torg**, an open square: 11 October 2005, 26 July 2006 and
  1 August 2006.

Each site comes with its DSM, DEM, CDSM, land cover, the measurement point
(``poi.geojson``) and UMEP met files (the model forcing). The model runs
:func:`cimcity.heat.tmrt_raster` at the measurement point.

Time stamps: the met files' rows start their hour and the measurement rows
end theirs, both in UTC+1 (the radiation of both closes with the sun only so:
``Kdir sin e + Kdiff = Kdn`` at ``it + 30 min``, and the open square's
measured ``Kdown`` of hour ``h`` equals the met file's ``Kdn`` of row
``h - 1``). A measurement of hour ``h`` is compared with the model step at
``h - 30 min``.

Scores per variable: ``n``, ``rmse``, ``bias`` (model - measured), ``mae``
and ``r2`` (squared Pearson correlation, as Lindberg et al. 2008 report).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

from ..errors import InputError
from .met import read_umep_met
from .model import FLUX_COLUMNS
from .rasters import heat_grid
from .tmrt import tmrt_raster

__all__ = ["SITES", "VARIABLES", "measurements", "simulate", "scores", "validate"]

#: what is compared: the twelve fluxes [W/m²] and Tmrt [°C]
VARIABLES = (*FLUX_COLUMNS, "Tmrt")
#: clock of the files (UTC+1; POSIX sign convention)
TZ = "Etc/GMT-1"

SITES = {
    "kronenhuset": {
        "folder": "goteborg_kronenhuset",
        "rasters": {"dsm": "DSM_KRbig.tif", "dem": "DEM_KRbig.tif",
                    "cdsm": "CDSM_KRbig.tif", "landcover": "landcover.tif"},
        "met": {20051007: "MetFile_Prepared.txt"},
        "measurements": "measurements_kr.csv",
        "altitude": 10.0,
    },
    "gustav_adolfs": {
        "folder": "goteborg_gustav_adolfs",
        "rasters": {"dsm": "DSM_GA.tif", "dem": "DEM_GA.tif",
                    "cdsm": "CDSM_GA.tif", "landcover": "LC_GA.tif"},
        "met": {20051011: "MetFile_20051011.txt", 20060726: "MetFile_20060726.txt",
                20060801: "MetFile_20060801.txt"},
        "measurements": "measurements_ga.csv",
        "altitude": 10.0,
    },
}


def _site(site, root):
    if site not in SITES:
        raise InputError(f"unknown validation site {site!r}; expected one of {sorted(SITES)}")
    folder = Path(root) / SITES[site]["folder"]
    if not folder.is_dir():
        raise InputError(f"validation data for {site!r} not found in {folder}")
    return SITES[site], folder


def measurements(site, root) -> pd.DataFrame:
    """Measured fluxes [W/m²] and Tmrt [°C] of a site, indexed by the
    instant the model is compared at (``day``, mid-hour, tz UTC+1)."""
    spec, folder = _site(site, root)
    m = pd.read_csv(folder / spec["measurements"])
    if "day" not in m.columns:
        m["day"] = next(iter(spec["met"]))
    day = pd.to_datetime(m["day"].astype(int).astype(str), format="%Y%m%d")
    idx = (day + pd.to_timedelta(m["hour"], unit="h") - pd.Timedelta(minutes=30))
    m.index = pd.DatetimeIndex(idx).tz_localize(TZ)
    m.index.name = "time"
    return m


def _poi(folder):
    g = json.loads((folder / "poi.geojson").read_text())
    x, y = g["geometry"]["coordinates"][:2]
    return float(x), float(y), g["properties"].get("crs")


def simulate(site, root, **kwargs) -> pd.DataFrame:
    """Modelled fluxes and Tmrt at the site's measurement point, every met
    step of every measured day (``kwargs`` go to :func:`tmrt_raster`)."""
    spec, folder = _site(site, root)
    r = spec["rasters"]
    grid = heat_grid(folder / r["dsm"], dem=folder / r["dem"], cdsm=folder / r["cdsm"],
                     landcover=folder / r["landcover"])
    x, y, _ = _poi(folder)
    lon, lat = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform(x, y)
    out = []
    for _, name in spec["met"].items():
        met = read_umep_met(folder / name, lat, lon, spec["altitude"], tz=TZ)
        res = tmrt_raster(grid, met, points=[(x, y)], timeseries=True, latitude=lat,
                          longitude=lon, altitude=spec["altitude"], **kwargs)
        f = res.fluxes(point=0).rename(columns={"tmrt": "Tmrt"})
        f["svf"] = float(res.points["svf"].iloc[0])
        out.append(f)
    return pd.concat(out)


def scores(measured, modelled, variables=VARIABLES) -> pd.DataFrame:
    """RMSE, bias, MAE and R² of each variable on the instants both have.

    Returns
    -------
    pandas.DataFrame
        Index ``variable``; columns ``n``, ``rmse``, ``bias``, ``mae``, ``r2``.
    """
    rows = {}
    common = measured.index.intersection(modelled.index)
    for v in variables:
        o = measured.loc[common, v].to_numpy(float)
        m = modelled.loc[common, v].to_numpy(float)
        ok = np.isfinite(o) & np.isfinite(m)
        o, m = o[ok], m[ok]
        d = m - o
        r2 = float(np.corrcoef(o, m)[0, 1] ** 2) if len(o) > 2 and o.std() > 0 and m.std() > 0 else np.nan
        rows[v] = {"n": int(len(o)), "rmse": float(np.sqrt(np.mean(d**2))) if len(o) else np.nan,
                   "bias": float(d.mean()) if len(o) else np.nan,
                   "mae": float(np.abs(d).mean()) if len(o) else np.nan, "r2": r2}
    out = pd.DataFrame(rows).T
    out.index.name = "variable"
    out["n"] = out["n"].astype(int)
    return out


def validate(root, sites=tuple(SITES), **kwargs) -> pd.DataFrame:
    """Scores per site-day and over all measured hours.

    Parameters
    ----------
    root : path
        Folder holding the site folders (``shared/data/dem``).
    sites : sequence of str
    **kwargs
        Passed to :func:`tmrt_raster` (e.g. ``transmissivity``).

    Returns
    -------
    pandas.DataFrame
        Index (``site``, ``day``, ``variable``) with ``day`` ``"all"`` for a
        site's days together and site ``"all"`` for every measured hour.
    """
    parts, obs_all, mod_all = [], [], []
    for site in sites:
        obs = measurements(site, root)
        mod = simulate(site, root, **kwargs)
        obs_all.append(obs)
        mod_all.append(mod)
        days = obs.index.normalize().unique()
        for day in days:
            sel = obs.index.normalize() == day
            s = scores(obs[sel], mod)
            s = s.assign(site=site, day=day.strftime("%Y-%m-%d"))
            parts.append(s)
        if len(days) > 1:
            parts.append(scores(obs, mod).assign(site=site, day="all"))
    obs = pd.concat(obs_all, keys=list(sites), names=["site", "time"])
    mod = pd.concat(mod_all, keys=list(sites), names=["site", "time"])
    parts.append(scores(obs, mod).assign(site="all", day="all"))
    out = pd.concat(parts).reset_index().set_index(["site", "day", "variable"])
    return out
