"""City-scale runs: cut a scene into square tiles with a halo and run an
analysis on each tile, on Dask (local processes or a cluster) or on threads.

Each tile scene holds everything within ``halo`` metres of its core square
(whole features, so buildings are never cut), and the analysis keeps only the
rows whose point lies in the core: results are the same as one big run as long
as nothing farther than ``halo`` influences a point (e.g. shadows longer than
the halo are missed: at Paris' latitude a 30 m building's shadow is 94 m long
at 17.7° sun elevation, the winter-solstice noon; take ``halo`` ≥ the longest
shadow that matters for the period studied).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._compat import has_module, import_optional, renamed_arguments
from ..errors import InputError

#: how tiles run (``scheduler=``); ``engine=`` is the ray engine everywhere else
SCHEDULERS = ("auto", "dask", "threads", "serial")
#: most tiles a grid may have (a tile size given in km instead of m...)
MAX_TILES = 100_000


def tile_grid(bounds, tile_size: float, halo: float = 0.0) -> gpd.GeoDataFrame:
    """Square tiles covering ``bounds``.

    Parameters
    ----------
    bounds : (minx, miny, maxx, maxy) [m]
    tile_size : float
        Side of a tile's core [m] (> 0).
    halo : float
        Margin around the core [m] (≥ 0).

    Returns
    -------
    GeoDataFrame
        One row per tile: ``tile`` (``"i_j"``), ``core`` (geometry), ``halo``
        (polygon of core + margin).
    """
    try:
        tile_size, halo = float(tile_size), float(halo)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"tile_size and halo must be distances in metres; got {tile_size!r}, {halo!r}"
        ) from exc
    if not (np.isfinite(tile_size) and tile_size > 0) or not (np.isfinite(halo) and halo >= 0):
        raise InputError(f"tile_size must be > 0 and halo >= 0 metres; got {tile_size!r}, {halo!r}")
    b = np.asarray(bounds, dtype=float)
    if b.shape != (4,) or not np.isfinite(b).all():
        raise InputError(
            f"nothing to tile: the bounds {tuple(float(v) for v in b.ravel())} are not "
            f"finite (an empty scene?)"
        )
    minx, miny, maxx, maxy = b
    n = math.ceil((maxx - minx) / tile_size) * math.ceil((maxy - miny) / tile_size)
    if n > MAX_TILES:
        raise InputError(
            f"tile_size {tile_size:g} m cuts the {maxx - minx:.0f} × {maxy - miny:.0f} m "
            f"area into {n:,} tiles (more than {MAX_TILES:,}); use larger tiles"
        )
    nx = max(1, math.ceil((maxx - minx) / tile_size))
    ny = max(1, math.ceil((maxy - miny) / tile_size))
    rows = []
    for i in range(nx):
        for j in range(ny):
            x0 = minx + i * tile_size
            y0 = miny + j * tile_size
            core = shapely.box(x0, y0, x0 + tile_size, y0 + tile_size)
            rows.append(dict(tile=f"{i}_{j}", geometry=core,
                             halo=shapely.box(x0 - halo, y0 - halo, x0 + tile_size + halo, y0 + tile_size + halo)))
    return gpd.GeoDataFrame(rows, geometry="geometry")


def _in_core(result, core, key):
    """Rows of a tile result whose point lies in the tile core (half-open square)."""
    if isinstance(result, gpd.GeoDataFrame) and key is None:
        pts = shapely.point_on_surface(result.geometry.values)
        x, y = shapely.get_x(pts), shapely.get_y(pts)
    elif key is not None:
        missing = [k for k in key if k not in result.columns]
        if missing:
            raise InputError(
                f"key columns {missing} are not in the tile result; its columns are "
                f"{list(result.columns)}"
            )
        x, y = result[key[0]].to_numpy(float), result[key[1]].to_numpy(float)
    else:
        raise InputError("tile results must be GeoDataFrames or give key=(x_column, y_column)")
    x0, y0, x1, y1 = core.bounds
    keep = (x >= x0) & (x < x1) & (y >= y0) & (y < y1)
    return result[keep]


@renamed_arguments(engine="scheduler")
def map_tiles(scene, func, *, tile_size: float = 500.0, halo: float = 150.0,
              scheduler: str = "auto", key=None, client=None, **kwargs):
    """Run ``func(tile_scene, **kwargs)`` on every tile and stitch the results.

    Parameters
    ----------
    scene : Scene
    func : callable
        ``func(tile_scene, **kwargs) -> DataFrame``: a GeoDataFrame (rows
        assigned to a tile by a point on their geometry) or a DataFrame with
        coordinate columns named by ``key``. Must be picklable for the Dask
        process scheduler (a module-level function).
    tile_size, halo : float
        Tile core side and margin [m].
    scheduler : {"auto", "dask", "threads", "serial"}
        How tiles run: ``"dask"`` uses ``client`` (a ``distributed.Client``)
        when given, else Dask's local threaded scheduler; ``"threads"`` a thread
        pool (the numba kernels release the GIL); ``"auto"`` is Dask when
        installed. (Was ``engine=``, a name now kept for the ray engine; the old
        keyword still works with a FutureWarning.) A ray ``engine=`` in
        ``kwargs`` goes to ``func`` untouched.
    key : (str, str), optional
        Coordinate columns of non-spatial results.

    Returns
    -------
    DataFrame
        All tiles' core rows, with a ``tile`` column.
    """
    if not callable(func):
        raise InputError(
            f"func must be a function func(tile_scene, **kwargs) -> DataFrame; got "
            f"{type(func).__name__} {func!r}"
        )
    if scheduler not in SCHEDULERS:
        raise InputError(
            f"unknown scheduler {scheduler!r}; expected one of {', '.join(map(repr, SCHEDULERS))}"
        )
    grid = tile_grid(scene.bounds, tile_size, halo)
    jobs = []
    for _, t in grid.iterrows():
        sub = scene.clip(t["halo"], margin=0.0)
        if not len(sub.buildings) and sub.terrain is None:
            continue
        jobs.append((t["tile"], t.geometry, sub))

    def run(tile, core, sub):
        res = func(sub, **kwargs)
        res = _in_core(res, core, key)
        return res.assign(tile=tile)

    if scheduler == "auto":
        scheduler = "dask" if has_module("dask") else "threads"
    if scheduler == "serial":
        parts = [run(*j) for j in jobs]
    elif scheduler == "threads":
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor() as pool:
            parts = list(pool.map(lambda j: run(*j), jobs))
    else:
        dask = import_optional("dask")
        delayed = [dask.delayed(run)(*j) for j in jobs]
        if client is not None:
            parts = client.gather(client.compute(delayed))
        else:
            parts = list(dask.compute(*delayed, scheduler="threads"))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    if isinstance(parts[0], gpd.GeoDataFrame):
        out = gpd.GeoDataFrame(out, geometry=parts[0].geometry.name, crs=parts[0].crs)
    return out


def tile_stats(scene, tile_size: float = 500.0, halo: float = 150.0) -> pd.DataFrame:
    """How a scene splits: buildings per tile (core and with halo), to choose
    ``tile_size`` and ``halo`` before a long run."""
    grid = tile_grid(scene.bounds, tile_size, halo)
    B = scene.buildings
    pts = shapely.point_on_surface(B.geometry.values) if len(B) else np.array([])
    tree = shapely.STRtree(B.geometry.values) if len(B) else None
    rows = []
    for _, t in grid.iterrows():
        core = int(shapely.contains_properly(t.geometry, pts).sum()) if len(B) else 0
        with_halo = len(tree.query(t["halo"], predicate="intersects")) if tree is not None else 0
        rows.append(dict(tile=t["tile"], buildings_core=core, buildings_with_halo=with_halo))
    return pd.DataFrame(rows)
