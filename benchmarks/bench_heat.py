"""Benchmark: Tmrt and radiant fluxes against field measurements, cimcity vs SOLWEIG.

The peer is the ``solweig`` package (UMEP's Rust-backed SOLWEIG, PyPI), run as
its own validation suite runs it (``SurfaceData.prepare`` on the DSM, DEM, CDSM
and land cover; ``Weather.from_umep_met``; anisotropic sky; absorption of
longwave 0.95, shortwave 0.70; Location 57.7 N 12.0 E, UTC+1). cimcity runs
:func:`cimcity.heat.tmrt_raster` on the same rasters and met files. Both are
read at the measurement station's cell (``poi.geojson``) and compared with the
measurements of Lindberg, Holmer & Thorsson (2008):

- Kronenhuset courtyard, 7 Oct 2005 (EPSG:3007, 1 m grid 234 x 223);
- Gustav Adolfs torg, 11 Oct 2005, 26 Jul 2006, 1 Aug 2006 (EPSG:3006, 2 m grid
  116 x 104).

Errors (RMSE, bias = mean(model - measured), R²) for Tmrt and every flux both
tools output (Kdown, Kup, Ldown, Lup; cimcity also gives Kn/Ke/Ks/Kw and
Ln/Le/Ls/Lw, reported for cimcity alone), per site-day and over all measured
hours, with :func:`cimcity.heat.validation.scores`.

Matching hours: the measurement of hour ``h`` (the hour *ending* at ``h``) is
compared, for both tools, with the output of the met-file row ``it == h - 1``
(the row of the hour starting at ``h - 1``): on the open square the measured
K↓ of hour ``h`` equals the met file's ``Kdn`` of row ``h - 1`` (26 Jul 2006:
753.7 vs 766.1 W/m² at 13 h, against 734.1 for row 13). SOLWEIG's own
validation suite matches ``it == h``, one hour later; its Tmrt errors with that
matching are printed too, for reference.

Times, on the same grid and hours: preparation (SOLWEIG: walls, sky view
factors and shadow matrices, once per site; cimcity: tracing its views, inside
the first call of a site, ``TmrtResult.meta["views_s"]``; the calls of the
other days reuse them, :func:`cimcity.heat.views.cached_raster_views`) and the
simulation per hour (SOLWEIG
timed writing only its Tmrt GeoTIFFs, cimcity keeping every hourly value in
memory), each tool in this process, one after the other; SOLWEIG's backend
(``solweig.get_compute_backend()``: its GPU path runs on whatever wgpu finds,
here possibly a software device) is printed. First calls (numba JIT, wgpu
start-up) are kept out of the timed runs by a warm-up on one hour.

Run: python benchmarks/bench_heat.py [--sites kronenhuset gustav_adolfs]
      [--only solweig|cimcity] [--cpu]   (--cpu: solweig.disable_gpu())
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CIMCITY_SHARED_DATA", ROOT.parent / "shared" / "data"))
UTC_OFFSET, ALTITUDE = 1, 10.0
TZ = "Etc/GMT-1"  # UTC+1, the met files' clock

SITES = {
    "kronenhuset": {
        "dir": "dem/goteborg_kronenhuset",
        "dsm": "DSM_KRbig.tif", "dem": "DEM_KRbig.tif", "cdsm": "CDSM_KRbig.tif",
        "landcover": "landcover.tif", "measurements": "measurements_kr.csv",
        "met": {"20051007": "MetFile_Prepared.txt"},
    },
    "gustav_adolfs": {
        "dir": "dem/goteborg_gustav_adolfs",
        "dsm": "DSM_GA.tif", "dem": "DEM_GA.tif", "cdsm": "CDSM_GA.tif",
        "landcover": "LC_GA.tif", "measurements": "measurements_ga.csv",
        "met": {"20051011": "MetFile_20051011.txt", "20060726": "MetFile_20060726.txt",
                "20060801": "MetFile_20060801.txt"},
    },
}
#: fluxes both tools output (measurement column -> solweig output name)
COMMON = {"Tmrt": "tmrt", "Kdown": "kdown", "Kup": "kup", "Ldown": "ldown", "Lup": "lup"}
#: the directional fluxes only cimcity outputs
DIRECTIONAL = ["Kn", "Ke", "Ks", "Kw", "Ln", "Le", "Ls", "Lw"]


# ------------------------------------------------------------------ measurements
def measurements(site: str) -> pd.DataFrame:
    """Measured hourly values, indexed by (day "YYYYMMDD", hour)."""
    cfg = SITES[site]
    df = pd.read_csv(DATA / cfg["dir"] / cfg["measurements"])
    if "day" not in df.columns:
        df.insert(0, "day", next(iter(cfg["met"])))
    df["day"] = df["day"].astype(str)
    df["hour"] = df["hour"].astype(int)
    return df.set_index(["day", "hour"]).sort_index()


def station(site: str) -> tuple[float, float]:
    """The measurement station (x, y) in the rasters' CRS."""
    gj = json.loads((DATA / SITES[site]["dir"] / "poi.geojson").read_text())
    return tuple(gj["geometry"]["coordinates"])


def station_lonlat(site: str) -> tuple[float, float]:
    """(latitude, longitude) of the station, given to both tools."""
    from pyproj import Transformer

    crs = json.loads((DATA / SITES[site]["dir"] / "poi.geojson").read_text())[
        "properties"]["crs"]
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(
        *station(site))
    return lat, lon


def station_cell(site: str) -> tuple[int, int]:
    import rasterio

    with rasterio.open(DATA / SITES[site]["dir"] / SITES[site]["dsm"]) as ds:
        return ds.index(*station(site))


def met_its(path: Path) -> np.ndarray:
    """The ``it`` (hour) column of a UMEP met file."""
    return np.loadtxt(path, comments="%", ndmin=2)[:, 2].astype(int)


# ------------------------------------------------------------------ SOLWEIG
def run_solweig(site: str, work: Path) -> dict:
    """SOLWEIG at the station cell for every day of ``site`` and its times."""
    import rasterio
    import solweig

    cfg = SITES[site]
    d = DATA / cfg["dir"]
    row, col = station_cell(site)
    lat, lon = station_lonlat(site)
    t0 = time.perf_counter()
    surface = solweig.SurfaceData.prepare(
        dsm=str(d / cfg["dsm"]), dem=str(d / cfg["dem"]), cdsm=str(d / cfg["cdsm"]),
        land_cover=str(d / cfg["landcover"]), working_dir=str(work / f"{site}_prep"),
        force_recompute=True,
    )
    prep = time.perf_counter() - t0
    location = solweig.Location(latitude=lat, longitude=lon, utc_offset=UTC_OFFSET,
                                altitude=ALTITUDE)
    human = solweig.HumanParams(abs_k=0.70, abs_l=0.95)
    # warm-up: one hour (GPU context, caches)
    w0 = solweig.Weather.from_umep_met(d / next(iter(cfg["met"].values())),
                                       resample_hourly=False)
    solweig.calculate(surface=surface, weather=w0[12:13], location=location,
                      output_dir=work / f"{site}_warm", human=human,
                      use_anisotropic_sky=True)
    rows, sim, hours = [], 0.0, 0
    for day, name in cfg["met"].items():
        weather = solweig.Weather.from_umep_met(d / name, resample_hourly=False)
        out = work / f"{site}_{day}"
        # timed: Tmrt grids only (what a user writes); then, untimed, every flux
        t = time.perf_counter()
        solweig.calculate(surface=surface, weather=weather, location=location,
                          output_dir=work / f"{site}_{day}_timed", outputs=["tmrt"],
                          human=human, use_anisotropic_sky=True)
        sim += time.perf_counter() - t
        solweig.calculate(surface=surface, weather=weather, location=location,
                          output_dir=out, outputs=list(COMMON.values()), human=human,
                          use_anisotropic_sky=True)
        hours += len(weather)
        for w in weather:
            # row it = w.datetime.hour stands for the measurement of hour it + 1
            rec = {"day": day, "hour": w.datetime.hour + 1}
            stamp = w.datetime.strftime("%Y%m%d_%H%M")
            for meas, key in COMMON.items():
                with rasterio.open(out / key / f"{key}_{stamp}.tif") as ds:
                    rec[meas] = float(ds.read(1)[row, col])
            rows.append(rec)
    grid = surface.dsm.shape if hasattr(surface, "dsm") else None
    values = pd.DataFrame(rows).set_index(["day", "hour"])
    suite = values[["Tmrt"]].copy()  # SOLWEIG's suite: measurement h <-> row it == h
    suite.index = suite.index.set_levels(suite.index.levels[1] - 1, level=1)
    return {
        "values": values, "suite": suite,
        "prepare_s": prep, "simulate_s": sim, "hours": hours,
        "backend": solweig.get_compute_backend(), "grid": grid,
    }


# ------------------------------------------------------------------ cimcity
def run_cimcity(site: str) -> dict:
    """cimcity at the station for every day of ``site`` and its times (the whole
    grid is simulated, as SOLWEIG does)."""
    from cimcity import heat

    cfg = SITES[site]
    d = DATA / cfg["dir"]
    x, y = station(site)
    lat, lon = station_lonlat(site)
    rasters = {k: str(d / cfg[k]) for k in ("dsm", "dem", "cdsm", "landcover")}
    first = next(iter(cfg["met"].values()))
    met0 = heat.read_umep_met(d / first, lat, lon, ALTITUDE, tz=TZ)
    with warnings.catch_warnings():  # warm-up: numba JIT out of the timed runs
        warnings.simplefilter("ignore")
        heat.tmrt_raster(rasters["dsm"], met0.select(met0.times[12:13]),
                         dem=rasters["dem"], cdsm=rasters["cdsm"],
                         landcover=rasters["landcover"], points=np.array([[x, y]]),
                         latitude=lat, longitude=lon, altitude=ALTITUDE)
    rows, sim, prep, hours = [], 0.0, 0.0, 0
    for day, name in cfg["met"].items():
        met = heat.read_umep_met(d / name, lat, lon, ALTITUDE, tz=TZ)
        its = met_its(d / name)
        t = time.perf_counter()
        res = heat.tmrt_raster(rasters["dsm"], met, dem=rasters["dem"],
                               cdsm=rasters["cdsm"], landcover=rasters["landcover"],
                               timeseries=True, latitude=lat, longitude=lon,
                               altitude=ALTITUDE)
        total = time.perf_counter() - t
        # tracing the views (first day; later days reuse them) is the preparation
        prep += res.meta["views_s"]
        sim += total - res.meta["views_s"]
        hours += len(met)
        pts = res.table
        k = int(np.argmin((pts.geometry.x - x) ** 2 + (pts.geometry.y - y) ** 2))
        pid = pts.index[k]
        flux = res.fluxes(point=pid)
        tm = res.timeseries[pid]
        for i, it in enumerate(its):
            rec = {"day": day, "hour": int(it) + 1, "Tmrt": float(tm.iloc[i])}
            for c in ["Kdown", "Kup", "Ldown", "Lup"] + DIRECTIONAL:
                rec[c] = float(flux[c].iloc[i])
            rows.append(rec)
    return {"values": pd.DataFrame(rows).set_index(["day", "hour"]),
            "simulate_s": sim, "hours": hours, "prepare_s": prep}


# ------------------------------------------------------------------ report
def _tag(df: pd.DataFrame, site: str) -> pd.DataFrame:
    """Index (day, hour) -> ("site day", hour)."""
    out = df.copy()
    out.index = pd.MultiIndex.from_arrays(
        [[f"{site} {d}" for d in df.index.get_level_values(0)],
         df.index.get_level_values(1)], names=["site_day", "hour"])
    return out


def errors(model: pd.DataFrame, measured: pd.DataFrame, columns) -> pd.DataFrame:
    """Scores per site-day and over all measured hours
    (:func:`cimcity.heat.validation.scores`)."""
    from cimcity.heat import validation

    cols = [c for c in columns if c in model.columns]
    out = []
    days = sorted(set(measured.index.get_level_values(0)))
    for day in [*days, "all"]:
        m = measured if day == "all" else measured.loc[[day]]
        sc = validation.scores(m, model, cols).reset_index()
        sc.insert(0, "day", day)
        out.append(sc.rename(columns={"variable": "quantity"}))
    return pd.concat(out, ignore_index=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sites", nargs="*", default=list(SITES), choices=list(SITES))
    ap.add_argument("--only", choices=["solweig", "cimcity"])
    ap.add_argument("--cpu", action="store_true", help="solweig.disable_gpu()")
    args = ap.parse_args(argv)
    logging.getLogger("solweig").setLevel(logging.WARNING)
    os.environ.setdefault("TQDM_DISABLE", "1")
    if args.cpu:
        import solweig

        solweig.disable_gpu()
    load0 = os.getloadavg()
    values = {"solweig": [], "cimcity": [], "solweig (its suite's hours)": []}
    observed, times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for site in args.sites:
            observed.append(_tag(measurements(site), site))
            runs = {}
            if args.only != "cimcity":
                runs["solweig"] = run_solweig(site, Path(tmp))
            if args.only != "solweig":
                runs["cimcity"] = run_cimcity(site)
            for tool, r in runs.items():
                values[tool].append(_tag(r["values"], site))
                if "suite" in r:
                    values["solweig (its suite's hours)"].append(_tag(r["suite"], site))
                times.append({
                    "site": site, "tool": tool, "hours": r["hours"],
                    "prepare_s": r["prepare_s"],
                    "simulate_s": r["simulate_s"],
                    "s_per_hour": r["simulate_s"] / r["hours"],
                    "backend": r.get("backend", "numba"),
                })
    obs = pd.concat(observed)
    errs = []
    for tool, frames in values.items():
        if frames:
            cols = list(COMMON) + (DIRECTIONAL if tool == "cimcity" else [])
            e = errors(pd.concat(frames), obs, cols)
            e.insert(0, "tool", tool)
            errs.append(e)
    E = pd.concat(errs, ignore_index=True)
    pd.set_option("display.width", 160)
    pd.set_option("display.max_rows", 500)
    print("\nErrors against the measurements (model - measured), RMSE and bias in "
          "°C for Tmrt, W/m² for fluxes")
    piv = E.pivot_table(index=["quantity", "day"], columns="tool",
                        values=["rmse", "bias", "r2"], aggfunc="first")
    print(piv.round(2).to_string())
    T = pd.DataFrame(times)
    print(f"\nTimes on the same grids and hours (load average 1 min: {load0[0]:.2f} at the "
          f"start, {os.getloadavg()[0]:.2f} at the end, {os.cpu_count()} CPUs)")
    print(T.round(3).to_string(index=False))
    if {"solweig", "cimcity"} <= set(T["tool"]):
        for site, g in T.groupby("site"):
            g = g.set_index("tool")
            sw, cc = g.loc["solweig"], g.loc["cimcity"]
            full = (sw["prepare_s"] + sw["simulate_s"]) / (cc["prepare_s"] + cc["simulate_s"])
            print(f"{site}: per simulated hour, SOLWEIG / cimcity = "
                  f"{sw['s_per_hour'] / cc['s_per_hour']:.2f}x (simulation only), "
                  f"{full:.2f}x with both preparations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
