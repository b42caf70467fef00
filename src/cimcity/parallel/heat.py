"""Heat (Tmrt, UTCI) over a whole city, tile by tile.

The tiled heat run lays person points on **one lattice for the whole city**:
the centres of the ``spacing`` cells of the CRS grid (``k × spacing``), over
the open ground (no building cell) of the buildings' extent. A tile computes
the points of its core with :func:`cimcity.heat.tmrt_raster` on the heat
grid (:func:`cimcity.heat.rasters.scene_grid`) of its core + halo, on the
same lattice, so a point sees the same cells as in an untiled run whenever
the halo holds every cell that can shade it or block one of its views:

- **halo** (:func:`heat_halo`): ``rise / tan(e)``, ``rise`` the city's highest
  roof altitude minus its lowest ground, ``e`` the lowest of the view set's
  lowest direction (Tregenza: 6°) and the lowest sun elevation above the
  horizon of the period's steps (floored at 0.5°), **capped** at
  :data:`~cimcity.parallel.halo.HALO_CAP` like the sun analyses (stated in the
  manifest and a DataQualityWarning when the cap bites), plus one cell;
- **the site** is the city's (the centre of its extent, the median ground of
  its buildings), so every tile has the same sun and weather;
- **the DEM** is required: a tile's heat grid is the DEM window resampled on
  the lattice; without a DEM the ground would be each tile's lowest building
  ground, which differs from tile to tile.

Tables:

- ``points`` (default output, one row per person point): ``geometry``
  (ground point), ``z`` [m], ``svf`` [-], ``tmrt_mean``, ``tmrt_max`` [°C],
  ``time_max``, ``sun_hours`` [h], ``utci_max`` [°C] (the period's highest
  UTCI from the hourly Tmrt, air temperature, humidity and 10 m wind of the
  weather; NaN where unknown);
- ``cells`` (aggregates on a ``cell_size`` lattice, default 100 m, inside one
  core since ``tile_size`` is a multiple of it): ``cell_id`` ``"i_j"``,
  ``points``, ``tmrt_mean`` (mean of the points' means), ``tmrt_max`` (the
  highest), ``tmrt_max_mean``, ``utci_max``, ``utci_max_mean``,
  ``strong_heat_share`` (share of points whose UTCI reached 32 °C, strong heat
  stress) and ``very_strong_heat_share`` (38 °C) [-]; the polygon of the cell.
  Grid cells rather than parcels: the points of a parcel can straddle two
  tiles, a lattice cell never does.

The hourly Tmrt needed for UTCI and the view sets are kept for a chunk of
points at a time (:data:`CHUNK_BYTES`): the view set and the hourly model
are per point, so chunking changes nothing but memory (the sun's shadow
profiles of the tile's grid are recomputed per chunk).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import InputError
from ..heat.comfort import utci_frame
from ..heat.met import read_met
from ..heat.rasters import scene_grid
from ..heat.tmrt import tmrt_raster
from ..heat.views import sphere_directions
from ..sun.occluders import CROWN_BASE_SHARE
from .halo import HALO_CAP, HALO_MIN_ELEVATION, tile_scene
from .sources import read_dem_window

#: bytes of hourly arrays (Tmrt, sun, 12 fluxes, float32) and view sets kept per
#: chunk of points
CHUNK_BYTES = 400e6
#: UTCI thresholds of the heat-stress shares [°C] (Bröde et al. 2012)
STRONG_HEAT, VERY_STRONG_HEAT = 32.0, 38.0
#: options of the tiled heat run that are not tmrt_raster's
HEAT_OPTIONS = ("weather", "spacing", "cell_size", "landcover")


def check(kwargs, tile_size, dem) -> None:
    """Refuse a heat run the tiles cannot do seam-free."""
    if dem is None:
        raise InputError(
            "a tiled heat run needs terrain= (a DEM raster or VRT): the heat grid "
            "is the DEM resampled on the city's lattice; without it the ground "
            "would be each tile's lowest building ground"
        )
    if kwargs.get("weather") is None:
        raise InputError("a heat run needs weather= (EPW path or DataFrame; see "
                         "cimcity.heat.read_met)")
    spacing = float(kwargs.get("spacing", 2.0))
    cell = float(kwargs.get("cell_size", 100.0))
    for name, v in (("spacing", spacing), ("cell_size", cell)):
        if not v > 0:
            raise InputError(f"{name} must be > 0 [m]; got {v!r}")
    for name, v, of in (("tile_size", tile_size, cell), ("cell_size", cell, spacing)):
        if abs(v / of - round(v / of)) > 1e-9:
            raise InputError(
                f"{name}={v:g} m must be a multiple of "
                f"{'cell_size' if name == 'tile_size' else 'spacing'}={of:g} m, so "
                f"every aggregate cell and person point lies in one tile"
            )


def heat_halo(city, kwargs) -> dict:
    """Halo of the tiled heat run (module docstring) and what it covers."""
    lat, lon, alt = city["site"]
    met = read_met(kwargs["weather"], latitude=lat, longitude=lon, altitude=alt,
                   when=kwargs.get("when"))
    el = met.sky.data["apparent_elevation"].to_numpy(float)
    el = el[el > 0]
    up = sphere_directions(kwargs.get("directions", "tregenza"), 1)[0][:, 2]
    views = float(np.degrees(np.arcsin(up[up > 0].min())))
    e = max(min([views] + ([float(el.min())] if len(el) else [])), HALO_MIN_ELEVATION)
    rise = max(city.get("top", 0.0) - city.get("ground_min", 0.0), 0.0)
    reach = rise / math.tan(math.radians(e)) if rise > 0 else 0.0
    used = min(reach, HALO_CAP)
    spacing = float(kwargs.get("spacing", 2.0))
    return dict(
        halo_m=round(used + 2 * spacing, 1),
        rise_m=round(rise, 2),
        lowest_ray_deg=round(e, 2),
        lowest_view_deg=round(views, 2),
        lowest_sun_deg=round(float(el.min()), 2) if len(el) else None,
        shadow_reach_m=round(reach, 1),
        cap_m=HALO_CAP,
        capped=bool(reach > HALO_CAP),
        exact_above_deg=round(max(math.degrees(math.atan2(rise, used)) if used else 0.0, e), 2),
        rule="rise / tan(lowest of view directions and sun), capped, + 2 cells",
    )


def lattice_area(box, spacing, dem_bounds):
    """``box`` grown to the ``spacing`` lattice, kept inside the DEM's cells."""
    x0, y0, x1, y1 = box
    dx0, dy0, dx1, dy1 = dem_bounds
    s = float(spacing)
    return (
        max(math.floor(x0 / s), math.ceil(dx0 / s)) * s,
        max(math.floor(y0 / s), math.ceil(dy0 / s)) * s,
        min(math.ceil(x1 / s), math.floor(dx1 / s)) * s,
        min(math.ceil(y1 / s), math.floor(dy1 / s)) * s,
    )


def open_points(grid, core) -> np.ndarray:
    """(n, 2) centres of the grid's open cells inside the half-open ``core``."""
    cells = np.flatnonzero(~grid.built.ravel())
    r, c = np.divmod(cells, grid.shape[1])
    xs, ys = grid.to_xy(c + 0.5, r + 0.5)
    x0, y0, x1, y1 = core
    keep = (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
    return np.column_stack([xs[keep], ys[keep]])


def points_table(grid, xy, weather, site, kwargs, *, crs):
    """Tmrt and UTCI max at ``xy`` on ``grid`` (chunks of points)."""
    lat, lon, alt = site
    opts = {k: v for k, v in kwargs.items() if k not in HEAT_OPTIONS}
    opts.setdefault("progress", False)
    opts.setdefault("trunk_ratio", CROWN_BASE_SHARE)
    met = read_met(weather, latitude=lat, longitude=lon, altitude=alt,
                   when=opts.pop("when", None))
    n_t = max(len(met), 1)
    n_dirs = 2 * len(sphere_directions(opts.get("directions", "tregenza"), 1)[2])
    # hourly float32 arrays (Tmrt, sun, 12 fluxes) and the view set with its
    # merged entries (about 50 bytes per direction and point,
    # cimcity.heat.tmrt.VIEW_BLOCK_POINTS)
    chunk = max(1000, int(CHUNK_BYTES / (n_t * 14 * 4 + n_dirs * 50)))
    parts = []
    for i in range(0, len(xy), chunk):
        res = tmrt_raster(grid, met, points=xy[i:i + chunk], latitude=lat, longitude=lon,
                          altitude=alt, timeseries=True, **opts)
        u = utci_frame(res).to_numpy(float)
        p = res.points[["geometry", "z", "svf", "tmrt_mean", "tmrt_max", "time_max",
                        "sun_hours"]].copy()
        with np.errstate(all="ignore"):
            has = np.isfinite(u).any(axis=0)
            p["utci_max"] = np.where(has, np.nanmax(np.where(np.isfinite(u), u, -np.inf),
                                                     axis=0), np.nan)
        parts.append(p)
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=crs)
    return out


def cell_table(points, cell_size, crs):
    """Aggregates of ``points`` on the ``cell_size`` lattice (module docstring)."""
    x = points.geometry.x.to_numpy()
    y = points.geometry.y.to_numpy()
    i = np.floor(x / cell_size).astype(np.int64)
    j = np.floor(y / cell_size).astype(np.int64)
    u = points["utci_max"].to_numpy(float)
    df = pd.DataFrame(dict(
        i=i, j=j, tmrt_mean=points["tmrt_mean"].to_numpy(float),
        tmrt_max=points["tmrt_max"].to_numpy(float), utci_max=u,
        strong=np.where(np.isfinite(u), u >= STRONG_HEAT, np.nan),
        very=np.where(np.isfinite(u), u >= VERY_STRONG_HEAT, np.nan),
    ))
    g = df.groupby(["i", "j"], sort=True)
    t = pd.DataFrame({
        "points": g.size(),
        "tmrt_mean": g["tmrt_mean"].mean(),
        "tmrt_max": g["tmrt_max"].max(),
        "tmrt_max_mean": g["tmrt_max"].mean(),
        "utci_max": g["utci_max"].max(),
        "utci_max_mean": g["utci_max"].mean(),
        "strong_heat_share": g["strong"].mean(),
        "very_strong_heat_share": g["very"].mean(),
    }).reset_index()
    i, j = t["i"].to_numpy(), t["j"].to_numpy()
    geom = shapely.box(i * cell_size, j * cell_size, (i + 1) * cell_size, (j + 1) * cell_size)
    t.index = pd.Index([f"{a}_{b}" for a, b in zip(i, j)], name="cell_id")
    return gpd.GeoDataFrame(t.drop(columns=["i", "j"]), geometry=geom, crs=crs)


def run_heat_tile(task):
    """One heat tile: (tables, rows read, timings)."""
    import time

    tile, inputs, crs, city = task["tile"], task["inputs"], task["crs"], task["city"]
    kw = dict(task["kwargs"])
    spacing = float(kw.get("spacing", 2.0))
    t0 = time.perf_counter()
    terrain, _ = read_dem_window(inputs["dem"], tile.read_box, crs)
    if terrain is None:
        return {}, {}, {}
    layers = ("buildings", "vegetation") if inputs.get("vegetation") else ("buildings",)
    scene, rows = tile_scene(inputs, tile.read_box, crs=crs, terrain=terrain, layers=layers)
    area = lattice_area(tile.read_box, spacing, city["dem_bounds"])
    if area[2] - area[0] < 2 * spacing or area[3] - area[1] < 2 * spacing:
        return {}, rows, {}
    t1 = time.perf_counter()
    grid = scene_grid(scene, cell=spacing, area=area, landcover=kw.get("landcover"))
    xy = open_points(grid, _in_extent(tile.core, city["heat_box"]))
    if not len(xy):
        return {}, rows, {}
    t2 = time.perf_counter()
    P = points_table(grid, xy, kw["weather"], city["site"], kw, crs=crs)
    t3 = time.perf_counter()
    C = cell_table(P, float(kw.get("cell_size", 100.0)), crs)
    timings = dict(read=t1 - t0, grid=t2 - t1, tmrt_utci=t3 - t2,
                   aggregate=time.perf_counter() - t3)
    return {"points": P, "cells": C}, rows, timings


def _in_extent(core, box):
    return (max(core[0], box[0]), max(core[1], box[1]), min(core[2], box[2]),
            min(core[3], box[3]))
