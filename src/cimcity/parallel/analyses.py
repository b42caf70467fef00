"""One tile of a city run: read the tile from the files, run the analysis on
its scene, keep the core's rows, write them.

Each analysis is the single-machine function, called as a user would, on the
tile's scene (core + halo); only the rows of the core's buildings (or units)
are kept, so every building appears once in the output:

- ``solar``: :func:`cimcity.solar.irradiance` with the city's site
  (``location=``: the centre of the city's extent, the median ground altitude
  of its buildings, as an untiled run takes it) and sensors only on the core's
  buildings (``area=`` their footprints grown by 1 m); table ``buildings`` is
  ``SolarResult.by_building`` (same columns as untiled), ``sensors`` opt-in.
- ``sunhours``: :func:`cimcity.shadow.sun_hours` on roofs and walls; the
  tile scene carries the city's extent as a layer so the sun is computed at
  the city's centre; table ``buildings`` is ``SunHoursResult.by_building``.
- ``flood``: :func:`cimcity.flood.exposure` on the flood of the cells the
  water reaches over the whole city (:mod:`cimcity.parallel.floodnet`);
  table ``buildings`` is ``ExposureResult.buildings``.
- ``vegetation``: :func:`cimcity.vegetation.ratios` by parcel; table
  ``units``.
- ``heat``: :func:`cimcity.heat.tmrt_raster` at the person points of the
  core on the city's lattice (:mod:`cimcity.parallel.heat`); tables
  ``points`` (Tmrt mean/max, UTCI max per point) and ``cells`` (aggregates).

Sensor ``edge_context_m`` / ``context_ok`` (sensor-level output) are judged
against the city's extent (the convex hull of all its buildings, found by the
survey) and its tallest building, as an untiled run judges them.
"""

from __future__ import annotations

import os
import resource
import time
import types
import warnings
from pathlib import Path

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import shapely

from ..errors import CimcityError, InputError
from ..flood.exposure import exposure
from ..flood.extent import flood_at
from ..scene.variants import context_margin
from ..sun.context import edge_context, sensor_margins
from ..sun.hours import sun_hours
from ..sun.irradiance import irradiance
from ..sun.position import site
from ..vegetation.measure import ratios
from .floodnet import level_grid, reached_mask
from .grid import in_core
from .halo import tile_scene
from .heat import run_heat_tile
from .sources import read_dem_window

#: environment variable naming tiles that fail on purpose (tests of resumption)
FAIL_ENV = "CIMCITY_PARALLEL_FAIL_TILES"

ANALYSES = ("solar", "sunhours", "flood", "vegetation", "heat")


def city_site(crs, bounds, ground_median) -> tuple:
    """(latitude, longitude, altitude) of a city: as an untiled run sees it."""
    st = site(crs=crs, bounds=bounds, altitude=ground_median)
    return (st.latitude, st.longitude, st.altitude)


def _peak_mb() -> float:
    """Peak resident memory of this process [MB]: ``VmHWM`` of its address
    space (Linux), else ``ru_maxrss``, which Linux carries over ``fork`` and
    ``execve`` (a worker spawned by a 2 GB driver would report 2 GB)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:  # pragma: no cover - not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _core_ids(scene, tile):
    B = scene.buildings
    if not len(B):
        return B.index[:0]
    return B.index[in_core(B.geometry.values, tile.core)]


def _numba_threads() -> None:
    """Apply the worker's ``NUMBA_NUM_THREADS`` (set by
    :func:`~cimcity.parallel.engine.local_cluster`) to this thread: numba
    reads the variable once, at import, and a spawned worker process may have
    imported numba before its environment was set (when the driver script
    imports cimcity at module level), which would leave every worker with a
    thread per core and oversubscribe the cores."""
    n = os.environ.get("NUMBA_NUM_THREADS", "")
    if n.isdigit() and 0 < int(n) < numba.get_num_threads():
        numba.set_num_threads(int(n))


def run_tile(task) -> dict:
    """Run one tile (on a worker) and write its parts; returns its manifest entry."""
    t0 = time.perf_counter()
    _numba_threads()
    tile = task["tile"]
    if tile.id in os.environ.get(FAIL_ENV, "").split(","):
        raise RuntimeError(f"tile {tile.id} failed on purpose ({FAIL_ENV})")
    analysis = task["analysis"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tables, rows_read, timings = _RUNNERS[analysis](task)
    out = Path(task["out"])
    parts = {}
    rows = 0
    for name, frame in tables.items():
        if frame is None or not len(frame):
            continue
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"{tile.id}.parquet"
        tmp = d / f".{tile.id}.tmp"
        if isinstance(frame, gpd.GeoDataFrame):
            frame.to_parquet(tmp, write_covering_bbox=True)
        else:
            frame.to_parquet(tmp)
        tmp.replace(path)
        parts[name] = str(path.relative_to(out))
        if name not in ("sensors", "cells"):
            rows = len(frame)
    notes = []
    for w in caught:
        text = " ".join(str(w.message).split())
        if isinstance(w.message, Warning) and text not in notes:
            notes.append(text)
    return dict(
        tile=tile.id,
        status="done",
        core=list(tile.core),
        rows=rows,
        rows_read=rows_read,
        parts=parts,
        seconds=round(time.perf_counter() - t0, 3),
        timings=timings,
        peak_rss_mb=round(_peak_mb(), 1),
        pid=os.getpid(),
        numba_threads=int(numba.get_num_threads()),
        warnings=notes[:5],
    )


def _read(task, layers=("buildings",), dem=False):
    tile, inputs, crs = task["tile"], task["inputs"], task["crs"]
    terrain = None
    if dem and inputs.get("dem"):
        terrain, window = read_dem_window(inputs["dem"], tile.read_box, crs)
        task = dict(task, window=window)
    scene, rows = tile_scene(inputs, tile.read_box, crs=crs, terrain=terrain, layers=layers)
    city = task["city"]
    if city.get("known") is not None:
        scene.meta["context_area"] = shapely.from_wkb(city["known"])
    return scene, rows, terrain, task


def _sun_area(scene, ids):
    g = scene.buildings.geometry.loc[ids].values
    return shapely.union_all(shapely.buffer(g, 1.0))


def _city_context(frame, city):
    """``context_ok`` of core sensors judged with the city's tallest building."""
    h = city.get("tallest", 0.0)
    m = context_margin(h)
    margin = dict(
        context_m=round(m, 1),
        tallest_m=round(h, 2),
        min_elevation=round(float(np.degrees(np.arctan2(h, m))) if m > 0 else 90.0, 2),
    )
    fake = types.SimpleNamespace(
        buildings=pd.DataFrame({"ground_z": [city.get("top", np.nan)], "height": [0.0]})
    )
    need = sensor_margins(fake, frame, margin)
    known = types.SimpleNamespace(meta={"context_area": shapely.from_wkb(city["known"])})
    d = edge_context(known, frame[["x", "y"]].to_numpy(float))
    frame["edge_context_m"] = np.round(d, 2)
    frame["context_ok"] = d >= need
    return frame


def _solar(task):
    scene, rows, _, task = _read(task, dem=True)
    ids = _core_ids(scene, task["tile"])
    if not len(ids):
        return {}, rows, {}
    kw = dict(task["kwargs"])
    kw.setdefault("location", task["city"]["site"])
    kw.setdefault("progress", False)
    when = kw.pop("when", None)
    res = irradiance(scene, when, area=_sun_area(scene, ids), **kw)
    B = res.by_building
    B = B[B.index.isin(ids)]
    tables = {"buildings": B}
    if task["sensors"]:
        S = res.sensors
        S = S[S["building_id"].isin(ids)].copy()
        tables["sensors"] = _city_context(S, task["city"])
    return tables, rows, {k: float(v) for k, v in res.meta.get("timings_s", {}).items()}


def _sunhours(task):
    scene, rows, _, task = _read(task, dem=True)
    ids = _core_ids(scene, task["tile"])
    if not len(ids):
        return {}, rows, {}
    b = task["city"]["bounds"]
    scene.add_layer("city_extent", gpd.GeoDataFrame(geometry=[shapely.box(*b)], crs=scene.crs))
    kw = dict(task["kwargs"])
    kw.setdefault("progress", False)
    when = kw.pop("when")
    surfaces = tuple(kw.pop("surfaces", ("roof", "wall")))
    if "ground" in surfaces:
        raise InputError(
            "a tiled sun-hours run computes roofs and walls (surfaces=('roof', "
            "'wall')); open-ground grids are not tiled yet"
        )
    res = sun_hours(scene, when, surfaces=surfaces, area=_sun_area(scene, ids), **kw)
    B = res.by_building
    B = B[B["building_id"].isin(ids)].reset_index(drop=True)
    tables = {"buildings": B}
    if task["sensors"]:
        S = res.sensors
        S = S[S["building_id"].isin(ids)].copy()
        tables["sensors"] = _city_context(S, task["city"])
    return tables, rows, {}


def _flood(task):
    scene, rows, terrain, task = _read(task, dem=True)
    if terrain is None:
        raise InputError(f"tile {task['tile'].id}: no DEM cell under the tile")
    ids = _core_ids(scene, task["tile"])
    if not len(ids):
        return {}, rows, {}
    f = task["flood"]
    mask = reached_mask(terrain, task["window"], task["tiles"], f["reached"], f["labels_dir"],
                        task["inputs"]["dem"])
    lv = level_grid(terrain, f["level"], mask)
    fl = flood_at(terrain, lv, None, f["connectivity"], "bathtub", warn_above=False)
    res = exposure(scene, fl, **task["kwargs"])
    B = res.buildings
    return {"buildings": B[B.index.isin(ids)]}, rows, {}


def _vegetation(task):
    scene, rows, _, task = _read(task, layers=("buildings", "parcels", "vegetation"))
    P = scene.parcels
    if not len(P):
        return {}, rows, {}
    keep = in_core(P.geometry.values, task["tile"].core)
    if not keep.any():
        return {}, rows, {}
    res = ratios(scene, by="parcel", **task["kwargs"])
    U = res.units
    return {"units": U[U.index.isin(P.index[keep])]}, rows, {}


_RUNNERS = dict(solar=_solar, sunhours=_sunhours, flood=_flood, vegetation=_vegetation,
                heat=run_heat_tile)


class TileError(CimcityError):
    """Some tiles of a city run failed; the message names them and how to rerun."""
