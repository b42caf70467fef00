"""Flood sources: the DEM cells the water comes from.

A connected flood spreads from source cells: by default the lowest cells on the
edge of the data (where a river leaves the DEM), or cells given as a mask,
points or geometries (a river polygon or line), rasterised on the DEM grid.
"""

from __future__ import annotations

import numpy as np
import shapely

from .._kernels import flood as K
from ..crs import to_crs
from ..errors import CRSError, InputError


def seed_cells(terrain, sources):
    """Grid cells the water comes from.

    Parameters
    ----------
    terrain : Terrain
        The DEM [m].
    sources : None, str, (rows, cols) bool array, (n, 2) array or geometries
        As ``sources`` in :func:`cimcity.flood.extent`: ``None``/``"lowest"``
        (lowest cells on the edge of the data), ``"border"`` (every edge cell),
        a boolean grid of the DEM's shape, (n, 2) x, y points [m], or shapely /
        GeoPandas geometries (reprojected to the DEM's CRS).

    Returns
    -------
    rows, cols : (k,) int64
        Source cells on the terrain grid.
    """
    z = terrain.elevation
    rows, cols = z.shape
    if sources is None or (
        isinstance(sources, str) and sources in ("lowest", "border")
    ):
        r, c = K.edge_cells(np.ascontiguousarray(z), sources != "border")
        if not len(r):
            raise InputError("the DEM holds no valid cell (all nodata)")
        return r, c
    if isinstance(sources, str):
        raise InputError(
            f"unknown sources {sources!r}; expected 'lowest', 'border', a boolean grid, "
            f"(n, 2) points, or shapely / GeoPandas geometries"
        )
    if isinstance(sources, np.ndarray) and sources.dtype == bool:
        if sources.shape != z.shape:
            raise InputError(
                f"a source mask must have the DEM's shape {z.shape}; got {sources.shape}"
            )
        r, c = np.nonzero(sources)
        return r.astype(np.int64), c.astype(np.int64)
    if isinstance(sources, np.ndarray) or (
        isinstance(sources, (list, tuple))
        and len(sources)
        and np.ndim(sources[0]) == 1
        and not isinstance(sources[0], shapely.Geometry)
    ):
        xy = np.asarray(sources, dtype=float)
        if xy.ndim != 2 or xy.shape[1] < 2:
            raise InputError(
                f"source points must be an (n, 2) array of x, y [m]; got {xy.shape}"
            )
        r, c = terrain.index(xy[:, 0], xy[:, 1])
        ok = r >= 0
        if not ok.any():
            raise InputError(
                f"none of the {len(xy)} source points lies on the DEM (bounds "
                f"{tuple(round(float(v), 1) for v in terrain.bounds)})"
            )
        return r[ok], c[ok]
    geoms = _as_geometries(sources, terrain.crs, "sources")
    from rasterio import features

    geoms = geoms[~shapely.is_empty(geoms)]
    if not len(geoms):
        raise InputError("the flood sources hold no geometry")
    mask = features.rasterize(
        ((g, 1) for g in geoms),
        out_shape=z.shape,
        transform=terrain.transform,
        fill=0,
        all_touched=True,
        dtype="uint8",
    )
    r, c = np.nonzero(mask)
    if not len(r):
        raise InputError(
            f"the flood sources (bounds {tuple(round(float(v), 1) for v in shapely.total_bounds(geoms))}) "
            f"do not touch the DEM (bounds {tuple(round(float(v), 1) for v in terrain.bounds)}); are they "
            f"in the DEM's CRS {terrain.crs.to_string()}?"
        )
    return r.astype(np.int64), c.astype(np.int64)


def _as_geometries(obj, crs, what) -> np.ndarray:
    """Geometries from shapely objects or GeoPandas, reprojected to ``crs``."""
    if hasattr(obj, "geometry") and hasattr(obj, "crs"):
        if obj.crs is None:
            raise CRSError(f"the {what} have no CRS; set it with .set_crs(...)")
        if not hasattr(obj, "columns"):  # GeoSeries
            obj = obj.to_frame("geometry")
        return np.asarray(to_crs(obj, crs, what).geometry.values, dtype=object)
    if isinstance(obj, shapely.Geometry):
        return np.array([obj], dtype=object)
    arr = np.asarray(list(obj), dtype=object)
    if not all(isinstance(g, shapely.Geometry) for g in arr):
        raise InputError(
            f"{what} must be shapely geometries, a GeoSeries/GeoDataFrame, points "
            f"(n, 2) or a boolean grid; got {type(obj).__name__}"
        )
    return arr
