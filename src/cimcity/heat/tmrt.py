"""Mean radiant temperature at pedestrian height: the public entry points.

* :func:`tmrt` on a :class:`~cimcity.scene.Scene`: view factors traced on the
  scene's 3D mesh (buildings, terrain, tree crowns; ``method="mesh"``) or on
  its rasters (``method="raster"``);
* :func:`tmrt_raster` on DSM / DEM / CDSM / land-cover rasters, as UMEP takes
  them: the fast path for large grids.

Both trace the same view set (:mod:`cimcity.heat.views`) and run the same
hourly model (:mod:`cimcity.heat.model`); they differ only in how a direction
finds what it sees and whether that is sunlit this hour.
"""

from __future__ import annotations

import time
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer

from .._kernels import heat as kern
from ..errors import DataQualityWarning, InputError
from ..raycast import api as rays
from ..sun.occluders import CROWN_BASE_SHARE, with_trees
from ..sun.position import grid_north, scene_site
from .met import read_met
from .model import FLUX_COLUMNS, concat_runs, run
from .rasters import HeatGrid, _read, apply, heat_grid, scene_grid
from .result import TmrtResult
from .surfaces import LAND_COVER, PAVED
from .views import EPS, cached_raster_views, merged_views, mesh_views, raster_views

__all__ = ["tmrt", "tmrt_raster", "METHODS"]

#: how :func:`tmrt` finds what each direction sees
METHODS = ("auto", "mesh", "raster")
#: tallest accepted person centre height [m]
MAX_HEIGHT = 3.0
#: most person points of one call (the raster path keeps their hourly
#: results; their views are traced in blocks of VIEW_BLOCK_POINTS)
MAX_POINTS = 500_000
#: person points whose views are traced and run together: a view set of 290
#: directions takes 15 bytes per direction and point, with its merged entries
#: (70 bytes each for 31-48 % of the directions on the Gothenburg sites) about
#: 50: 1 GB for a block
VIEW_BLOCK_POINTS = 70_000
#: most points of the mesh path (290 rays per point, plus rays to the sun
#: every hour): beyond, the raster path is the one that scales
MAX_MESH_POINTS = 50_000


def _check_count(n, limit, what, fix):
    if n > limit:
        raise InputError(
            f"{n:,} person points for {what} exceed the bound of {limit:,}; {fix}"
        )


def _check_height(height):
    h = float(height)
    if not 0.05 <= h <= MAX_HEIGHT:
        raise InputError(
            f"height is the centre of the body above the ground [m]: 1.1 standing, "
            f"0.6 sitting; got {height!r} (accepted 0.05..{MAX_HEIGHT:g})"
        )
    return h


def _points_table(xy, z, run_out, met, crs):
    x, y = xy[:, 0], xy[:, 1]
    t = gpd.GeoDataFrame(
        {
            "z": z,
            "tmrt_mean": run_out.tmrt_mean,
            "tmrt_max": run_out.tmrt_max,
            "time_max": met.times[run_out.argmax] if len(met.times) else pd.NaT,
            "sun_hours": run_out.sun_hours,
        },
        geometry=gpd.points_from_xy(x, y),
        crs=crs,
    )
    for j, c in enumerate(FLUX_COLUMNS):
        t[c] = run_out.flux_mean[:, j]
    t.index = pd.RangeIndex(len(t), name="point_id")
    return t


def _site_of(crs, x, y, latitude, longitude):
    if latitude is not None and longitude is not None:
        return float(latitude), float(longitude)
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    return float(lat), float(lon)


def tmrt_raster(
    dsm,
    weather,
    *,
    dem=None,
    cdsm=None,
    landcover=None,
    points=None,
    height=1.1,
    when=None,
    timeseries=False,
    transmissivity=0.03,
    trunk_ratio=0.25,
    posture="standing",
    wall_albedo=0.20,
    wall_emissivity=0.90,
    land_cover=None,
    roof_albedo=None,
    latitude=None,
    longitude=None,
    altitude=0.0,
    crs=None,
    directions="tregenza",
    progress=None,
) -> TmrtResult:
    """Hourly mean radiant temperature on a raster scene (DSM, DEM, CDSM, land cover).

    Parameters
    ----------
    dsm : path, Terrain, (array, transform, crs) or HeatGrid
        Ground and buildings [m], no trees (UMEP's DSM).
    weather : EPW path, DataFrame, UMEP met file or Met
        See :func:`cimcity.heat.read_met`.
    dem, cdsm, landcover : optional
        Ground [m]; canopy height above ground [m]; UMEP land-cover codes
        (see :func:`cimcity.heat.rasters.heat_grid`).
    points : (n, 2) float, optional
        Person ground positions [m, grid CRS]; default: every open cell.
    height : float
        Centre of the body above the ground [m] (1.1 standing).
    when : optional
        Period of the weather kept.
    timeseries : bool
        Keep hourly Tmrt and fluxes (``.timeseries``, ``.fluxes()``).
    transmissivity : float
        Share of shortwave passing tree canopy [-] (SOLWEIG default 3 %).
    trunk_ratio : float
        Share of a tree's height under its crown [-].
    posture : {"standing", "sitting"} or 6 angular factors
    wall_albedo, wall_emissivity : float
    land_cover : dict, optional
        Per-code overrides, e.g. ``{1: {"albedo": 0.35}}`` (a cool pavement).
    roof_albedo : float or raster, optional
        Roof albedo [-]: one value for every roof or a raster on the DSM grid
        (NaN: the default 0.18). It sets the shortwave roofs reflect and,
        through the warming wave, the longwave they emit
        (:func:`cimcity.heat.surfaces.surface_wave`). Ignored when ``dsm`` is
        a HeatGrid (which carries its own).
    latitude, longitude : float, optional
        Site [deg]; default: the grid centre.
    altitude : float
        Site altitude [m].
    directions : str
        Sky patches of the view set (``"tregenza"`` 145 or ``"reinhart"`` 577
        per hemisphere).
    progress : None or bool

    Returns
    -------
    TmrtResult
    """
    h = _check_height(height)
    grid = dsm if isinstance(dsm, HeatGrid) else heat_grid(
        dsm, dem=dem, cdsm=cdsm, landcover=landcover, crs=crs,
        roof_albedo=roof_albedo)
    R, C = grid.shape
    cx, cy = grid.to_xy(C / 2, R / 2)
    lat, lon = _site_of(grid.crs, cx, cy, latitude, longitude)
    met = read_met(weather, latitude=lat, longitude=lon, altitude=altitude, when=when)
    north = grid_north(grid.crs, lon, lat)
    if points is None:
        cells = np.flatnonzero(~grid.built.ravel())
        if not len(cells):
            raise InputError("the DSM has no open cell: every cell is a building")
        rows, cols = np.divmod(cells, C)
        pcol, prow = cols + 0.5, rows + 0.5
        xs, ys = grid.to_xy(pcol, prow)
        xy = np.column_stack([xs, ys])
        gridinfo = ((R, C), grid.transform, grid.crs, cells)
    else:
        xy = np.atleast_2d(np.asarray(points, float))
        if xy.ndim != 2 or xy.shape[1] < 2 or not np.isfinite(xy[:, :2]).all():
            raise InputError(f"points must be (n, 2) finite x, y [m]; got shape {xy.shape}")
        xy = xy[:, :2]
        pcol, prow = grid.to_pixels(xy[:, 0], xy[:, 1])
        out = (pcol < 0) | (prow < 0) | (pcol >= C) | (prow >= R)
        if out.any():
            i = int(np.flatnonzero(out)[0])
            raise InputError(
                f"point {i} ({xy[i, 0]:.1f}, {xy[i, 1]:.1f}) lies outside the raster "
                f"grid; keep points inside its bounds"
            )
        rows, cols = prow.astype(int), pcol.astype(int)
        if grid.built[rows, cols].any():
            i = int(np.flatnonzero(grid.built[rows, cols])[0])
            raise InputError(
                f"point {i} ({xy[i, 0]:.1f}, {xy[i, 1]:.1f}) stands on a building cell "
                f"of the DSM; Tmrt is computed on open ground"
            )
        gridinfo = None
    _check_count(len(xy), MAX_POINTS, "the raster path",
                 "give a smaller area, fewer points or a coarser raster")
    z0 = grid.dem[rows, cols]
    pz = z0 + h
    tau = float(transmissivity)
    run_kw = dict(north=north, tau=tau, posture=posture, wall_albedo=wall_albedo,
                  wall_emissivity=wall_emissivity, land_cover=land_cover,
                  timeseries=timeseries, progress=progress)
    n = len(pz)
    if n <= VIEW_BLOCK_POINTS:
        out, svf, n_dirs, t_views, reused, t_hours = _raster_block(
            grid, met, pcol, prow, pz, tau, trunk_ratio, directions, run_kw, cache=True)
    else:
        parts = [
            _raster_block(grid, met, pcol[s:s + VIEW_BLOCK_POINTS],
                          prow[s:s + VIEW_BLOCK_POINTS], pz[s:s + VIEW_BLOCK_POINTS],
                          tau, trunk_ratio, directions, run_kw, cache=False)
            for s in range(0, n, VIEW_BLOCK_POINTS)
        ]
        out = concat_runs([p[0] for p in parts])
        svf = np.concatenate([p[1] for p in parts])
        n_dirs, reused = parts[0][2], False
        t_views = sum(p[3] for p in parts)
        t_hours = sum(p[5] for p in parts)
    table = _points_table(xy, z0, out, met, grid.crs)
    table.insert(1, "svf", svf)
    xyz = np.column_stack([xy, pz])
    return TmrtResult(table, out, met, xyz=xyz, grid=gridinfo,
                      meta={"method": "raster", "cell": grid.cell, "north": north,
                            "directions": n_dirs, "views_s": t_views,
                            "views_reused": reused, "hours_s": t_hours})


def _raster_block(grid, met, pcol, prow, pz, tau, trunk_ratio, directions, run_kw,
                  cache):
    """Views and hourly model of one block of points of :func:`tmrt_raster`:
    ``(Run, svf, directions, views seconds, views reused, hours seconds)``."""
    t_views = time.perf_counter()
    if cache:
        views, reused = cached_raster_views(grid, pcol, prow, pz, tau=tau,
                                            trunk_ratio=trunk_ratio,
                                            directions=directions)
    else:
        views, reused = raster_views(grid, pcol, prow, pz, tau=tau,
                                     trunk_ratio=trunk_ratio,
                                     directions=directions), False
        merged_views(views)
    t_views = time.perf_counter() - t_views
    t_hours = time.perf_counter()
    zmax = grid.zmax
    pc = np.ascontiguousarray(pcol, float)
    pr = np.ascontiguousarray(prow, float)
    pz = np.ascontiguousarray(pz, float)

    def lit(sun):
        return kern.raster_sun_profiles(grid.dsm, grid.dem, grid.cdsm, sun,
                                        grid.cell, zmax)

    def person_sun(sun):
        return kern.point_sun(grid.dsm, grid.dem, grid.cdsm, float(trunk_ratio), tau,
                              pc, pr, pz, sun, grid.cell, zmax)

    def lit_many(suns):
        return kern.raster_sun_profiles_many(grid.dsm, grid.dem, grid.cdsm, suns,
                                             grid.cell, zmax)

    def person_sun_many(suns):
        return kern.point_sun_many(grid.dsm, grid.dem, grid.cdsm, float(trunk_ratio),
                                   tau, pc, pr, pz, suns, grid.cell, zmax)

    out = run(views, met, lit=lit, person_sun=person_sun, lit_many=lit_many,
              person_sun_many=person_sun_many, **run_kw)
    t_hours = time.perf_counter() - t_hours
    return out, views.svf.copy(), len(views.dirs), t_views, reused, t_hours


def tmrt(
    scene,
    weather,
    *,
    points=None,
    spacing=2.0,
    height=1.1,
    when=None,
    timeseries=False,
    method="auto",
    area=None,
    transmissivity=0.03,
    landcover=None,
    posture="standing",
    wall_albedo=0.20,
    wall_emissivity=0.90,
    land_cover=None,
    engine="auto",
    directions="tregenza",
    progress=None,
) -> TmrtResult:
    """Hourly mean radiant temperature at pedestrian height in a scene.

    Parameters
    ----------
    scene : cimcity.Scene
        Buildings (and their mesh), terrain, trees (vegetation polygons with a
        ``height``, or ``scene.rasters["cdsm"]``), land cover
        (``scene.rasters["landcover"]``, UMEP codes).
    weather : EPW path, DataFrame, UMEP met file or Met
        See :func:`cimcity.heat.read_met`; the site is the scene's.
    points : (n, 2) float, optional
        Person ground positions [m, scene CRS]; the person stands on the
        terrain. Default: a grid of ``spacing`` over ``area`` (default the
        scene's buildings' bounds plus 30 m) without building footprints.
    spacing : float
        Grid step [m].
    height : float
        Centre of the body above the ground [m] (1.1 standing).
    when : optional
        Period of the weather kept.
    timeseries : bool
        Keep hourly Tmrt and fluxes.
    method : {"auto", "mesh", "raster"}
        ``"mesh"``: rays on the scene's 3D mesh; ``"raster"``: the scene's
        DSM/DEM (or its buildings burnt on a ``spacing`` grid) through
        :func:`tmrt_raster`; ``"auto"``: mesh for explicit points, raster
        for grids.
    area : shapely geometry or (minx, miny, maxx, maxy), optional
    transmissivity : float
        Share of shortwave passing tree canopy [-].
    landcover : optional
        UMEP codes: a raster ``(array, transform, crs)``/path or an int for
        everywhere; default ``scene.rasters["landcover"]``, else paved with a
        DataQualityWarning.
    posture, wall_albedo, wall_emissivity, land_cover
        See :func:`tmrt_raster`.
    engine : {"auto", "numba", "embree"}
        Ray engine of the mesh path.
    directions : str
        Sky patches of the view set.
    progress : None or bool

    Returns
    -------
    TmrtResult
    """
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; expected one of {METHODS}")
    h = _check_height(height)
    if method == "auto":
        method = "mesh" if points is not None else "raster"
    if method == "raster":
        grid = scene_grid(scene, cell=float(spacing), area=area, landcover=landcover)
        site = scene_site(scene)
        return tmrt_raster(grid, weather, points=points, height=h, when=when,
                           timeseries=timeseries, transmissivity=transmissivity,
                           trunk_ratio=CROWN_BASE_SHARE,
                           posture=posture, wall_albedo=wall_albedo,
                           wall_emissivity=wall_emissivity, land_cover=land_cover,
                           latitude=site.latitude, longitude=site.longitude,
                           altitude=site.altitude, directions=directions,
                           progress=progress)
    return _tmrt_mesh(scene, weather, points=points, spacing=spacing, height=h,
                      when=when, timeseries=timeseries, area=area,
                      transmissivity=float(transmissivity), landcover=landcover,
                      posture=posture, wall_albedo=wall_albedo,
                      wall_emissivity=wall_emissivity, land_cover=land_cover,
                      engine=engine, directions=directions, progress=progress)


def _landcover_lookup(scene, landcover):
    """``f(x, y) -> codes`` from an int, a raster or the scene's land cover."""
    if landcover is None and "landcover" in scene.rasters:
        landcover = scene.rasters["landcover"]
    if landcover is None:
        warnings.warn(
            "no land cover (scene.rasters['landcover'] or landcover=): the ground "
            "is taken as paved (UMEP code 1: albedo 0.18, emissivity 0.95)",
            DataQualityWarning,
            stacklevel=4,
        )
        landcover = PAVED
    if isinstance(landcover, int | np.integer):
        code = int(landcover)
        return lambda x, y: np.full(len(x), code, np.int8)
    arr, transform, _ = _read(landcover, "land cover")
    lc = np.where(np.isfinite(arr), arr, PAVED).astype(np.int64)
    bad = ~np.isin(lc, LAND_COVER.index.to_numpy())
    if bad.any():
        raise InputError(
            f"land cover holds unknown codes {sorted(set(np.unique(lc[bad]).tolist()))[:5]}; "
            f"expected UMEP codes {list(LAND_COVER.index)}"
        )
    lc = lc.astype(np.int8)
    inv = ~transform

    def f(x, y):
        c, r = apply(inv, x, y)
        r = np.clip(np.asarray(r).astype(int), 0, lc.shape[0] - 1)
        c = np.clip(np.asarray(c).astype(int), 0, lc.shape[1] - 1)
        return lc[r, c]

    return f


def _tmrt_mesh(scene, weather, *, points, spacing, height, when, timeseries, area,
               transmissivity, landcover, posture, wall_albedo, wall_emissivity,
               land_cover, engine, directions, progress):
    site = scene_site(scene)
    met = read_met(weather, latitude=site.latitude, longitude=site.longitude,
                   altitude=site.altitude, when=when)
    has_trees = len(scene.vegetation) and "height" in scene.vegetation or "cdsm" in scene.rasters
    mesh = with_trees(scene) if has_trees else scene.mesh()
    n_tree = int(getattr(mesh, "tree_faces", 0) or 0)
    if points is None:
        grid = scene_grid(scene, cell=float(spacing), area=area, landcover=landcover)
        cells = np.flatnonzero(~grid.built.ravel())
        r, c = np.divmod(cells, grid.shape[1])
        xs, ys = grid.to_xy(c + 0.5, r + 0.5)
        xy = np.column_stack([xs, ys])
        gridinfo = (grid.shape, grid.transform, grid.crs, cells)
    else:
        xy = np.atleast_2d(np.asarray(points, float))[:, :2]
        gridinfo = None
    _check_count(len(xy), MAX_MESH_POINTS, 'method="mesh"',
                 'use method="raster" for large grids, or fewer points')
    ground = _ground_at(scene, mesh, xy, engine)
    pz = ground + height
    pts = np.column_stack([xy, pz])
    views = mesh_views(mesh, pts, ground, _landcover_lookup(scene, landcover),
                       tau=transmissivity, n_tree_faces=n_tree, engine=engine,
                       directions=directions, roof_albedo=_roof_albedo(scene, mesh))
    hp = views.extra["hit_points"]
    hn = views.extra["hit_normals"]
    opaque, trees = views.extra["opaque"], views.extra["trees"]
    seen = views.kind.ravel() != kern.SKY
    origins = hp[seen] + hn[seen] * EPS

    def blocked(o, sun):
        d = np.broadcast_to(sun, o.shape)
        b = rays.occluded(opaque, o, d, engine=engine) if opaque.n_faces else np.zeros(len(o), bool)
        v = rays.occluded(trees, o, d, engine=engine) if trees is not None else np.zeros(len(o), bool)
        return np.where(b, 0.0, np.where(v, transmissivity, 1.0))

    # the model reads a seen point's sun fraction from heights under which it
    # is shaded: one entry per (point, direction), at height 0
    views.extra["hit"] = np.arange(views.kind.size, dtype=np.int32).reshape(views.kind.shape)
    views.extra["hz"] = np.zeros(views.kind.shape, np.float32)

    def lit(sun):
        frac = np.zeros(views.kind.size, np.float32)
        frac[seen] = blocked(origins, sun)
        top_b = np.where(frac > 0, -np.inf, np.inf).astype(np.float32)
        top_v = np.where(frac >= 1, -np.inf, np.inf).astype(np.float32)
        return top_b, top_v

    def person_sun(sun):
        return blocked(pts, sun)

    out = run(views, met, lit=lit, person_sun=person_sun, north=site.north,
              tau=transmissivity, posture=posture, wall_albedo=wall_albedo,
              wall_emissivity=wall_emissivity, land_cover=land_cover,
              timeseries=timeseries, progress=progress)
    table = _points_table(xy, ground, out, met, scene.crs)
    table.insert(1, "svf", views.svf)
    return TmrtResult(table, out, met, xyz=pts, grid=gridinfo,
                      meta={"method": "mesh", "north": site.north,
                            "directions": len(views.dirs)})


def _roof_albedo(scene, mesh):
    """(k,) roof albedo of each of ``mesh.building_ids`` from the buildings'
    ``roof_albedo`` column (NaN: default), or None without the column."""
    b = scene.buildings
    if not len(b) or "roof_albedo" not in b.columns:
        return None
    alb = b["roof_albedo"].astype(float)
    return alb.reindex(pd.Index(mesh.building_ids)).to_numpy(float)


def _ground_at(scene, mesh, xy, engine):
    """Ground height under each point: the terrain, else the buildings' ground;
    points inside a building footprint are refused."""
    import shapely

    b = scene.buildings
    if len(b):
        inside = shapely.contains_xy(shapely.union_all(b.geometry.values), xy[:, 0], xy[:, 1])
        if inside.any():
            i = int(np.flatnonzero(inside)[0])
            raise InputError(
                f"point {i} ({xy[i, 0]:.1f}, {xy[i, 1]:.1f}) stands inside a building "
                f"footprint; Tmrt is computed on open ground"
            )
    if scene.terrain is not None:
        z = np.asarray(scene.terrain.sample(xy[:, 0], xy[:, 1]), float)
        if np.isfinite(z).all():
            return z
        raise InputError(
            f"{int((~np.isfinite(z)).sum())} points lie off the terrain (DEM nodata); "
            f"keep points on the DEM"
        )
    if len(b) and "ground_z" in b:
        return np.full(len(xy), float(b["ground_z"].median()))
    return np.zeros(len(xy))
