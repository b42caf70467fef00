"""Building heights and ground altitudes: how missing values are resolved.

Heights are resolved in a fixed order and the choice recorded per building in
``height_source``: the ``height`` column (``"data"``), ``roof_z - ground_z``
(``"altitudes"``), ``storeys × storey height`` (``"storeys"``), else
:data:`DEFAULT_HEIGHT` (``"default"``, with an
:class:`~cimcity.errors.EstimateWarning`). Ground altitudes come from the data,
else the terrain (lowest point along the outline), else
:data:`DEFAULT_GROUND_Z`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import shapely

from ..errors import EstimateWarning, InputError

#: storey height used to estimate missing building heights and storey counts [m]
STOREY_HEIGHT = 3.0
#: height given to buildings with no height, storeys or altitudes [m]
DEFAULT_HEIGHT = 9.0
#: ground altitude when neither data nor terrain gives one [m]
DEFAULT_GROUND_Z = 0.0


def ground_from_terrain(terrain, geoms) -> np.ndarray:
    """Lowest terrain altitude along each outline.

    Parameters
    ----------
    terrain : Terrain or None
        The DEM.
    geoms : (n,) array of shapely polygons
        Footprints [m, terrain CRS].

    Returns
    -------
    (n,) float64
        Altitudes [m]; NaN off the DEM or without a terrain.
    """
    if terrain is None or len(geoms) == 0:
        return np.full(len(geoms), np.nan)
    # sample densified outlines so long walls over slopes are caught
    step = max(terrain.resolution)
    rings = shapely.segmentize(shapely.boundary(np.asarray(geoms, object)), step)
    xy, idx = shapely.get_coordinates(rings, return_index=True)
    z = terrain.sample(xy[:, 0], xy[:, 1])
    out = np.full(len(geoms), np.inf)
    zz = np.where(np.isfinite(z), z, np.inf)
    np.minimum.at(out, idx, zz)
    out[~np.isfinite(out)] = np.nan
    return out


def resolve_heights(gdf, storey_height: float = STOREY_HEIGHT, terrain=None):
    """Fill the height columns of a buildings table (see the module docstring).

    Parameters
    ----------
    gdf : GeoDataFrame
        Footprints with optional ``height``, ``storeys``, ``ground_z``,
        ``roof_z``, ``eave_z`` [m], ``height_source``, ``lod``, ``source``.
        Modified in place and returned.
    storey_height : float
        Height of one storey for estimates [m].
    terrain : Terrain, optional
        Gives ``ground_z`` where the data does not.

    Returns
    -------
    GeoDataFrame
        With ``ground_z``, ``ground_source``, ``height``, ``height_source``,
        ``roof_z``, ``eave_z`` (NaN unless between ground and roof),
        ``storeys`` (int), ``storeys_source``, ``lod`` and ``source``.

    Raises
    ------
    InputError
        Non-positive heights or storey counts.
    """
    n = len(gdf)

    def col(name):
        if name in gdf.columns:
            return pd.to_numeric(gdf[name], errors="coerce").to_numpy(dtype=float)
        return np.full(n, np.nan)

    height, storeys = col("height"), col("storeys")
    ground, roof, eave = col("ground_z"), col("roof_z"), col("eave_z")
    ground_src = np.where(np.isfinite(ground), "data", "terrain").astype(object)
    gz = (
        ground_from_terrain(terrain, gdf.geometry.values)
        if (~np.isfinite(ground)).any()
        else ground
    )
    ground = np.where(np.isfinite(ground), ground, gz)
    nog = ~np.isfinite(ground)
    ground_src[nog] = "default"
    ground[nog] = DEFAULT_GROUND_Z
    for name, v in (("height", height), ("storeys", storeys)):
        bad = np.isfinite(v) & (v <= 0)
        if bad.any():
            i = gdf.index[np.flatnonzero(bad)[0]]
            raise InputError(
                f"buildings: {int(bad.sum())} non-positive {name} value(s) "
                f"(first {i!r}: {v[bad][0]}); {name} must be > 0 or missing"
            )
    h, src = _heights(gdf, height, storeys, ground, roof, storey_height)
    st_src = np.where(np.isfinite(storeys), "data", "estimated").astype(object)
    storeys = np.where(
        np.isfinite(storeys), storeys, np.maximum(1, np.round(h / storey_height))
    )
    gdf["ground_z"] = ground
    gdf["ground_source"] = ground_src
    gdf["height"] = h
    gdf["height_source"] = src
    gdf["roof_z"] = ground + h
    e = np.where(
        np.isfinite(eave) & (eave > ground) & (eave <= ground + h), eave, np.nan
    )
    gdf["eave_z"] = e
    gdf["storeys"] = storeys.astype(np.int64)
    gdf["storeys_source"] = st_src
    if "lod" not in gdf.columns:
        gdf["lod"] = np.where(np.isfinite(e) & (e < ground + h - 0.05), 2, 1)
    if "source" not in gdf.columns:
        gdf["source"] = "user"
    return gdf


def _heights(gdf, height, storeys, ground, roof, storey_height):
    """(height [m], height_source) of each building, in the documented order."""
    n = len(gdf)
    src = np.full(n, "data", dtype=object)
    if "height_source" in gdf.columns:
        # keep what a reader recorded for given heights ("altitudes", "dsm", "user")
        given = gdf["height_source"].to_numpy(dtype=object)
        keep = np.isfinite(height) & pd.notna(given)
        src[keep] = given[keep]
    h = height.copy()
    m = ~np.isfinite(h) & np.isfinite(roof) & (roof > ground)
    h[m] = (roof - ground)[m]
    src[m] = "altitudes"
    m = ~np.isfinite(h) & np.isfinite(storeys)
    h[m] = storeys[m] * storey_height
    src[m] = "storeys"
    m = ~np.isfinite(h)
    if m.any():
        h[m] = DEFAULT_HEIGHT
        src[m] = "default"
        warnings.warn(
            f"buildings: {int(m.sum())} of {n} have no height, storeys or roof "
            f"altitude; set to the default {DEFAULT_HEIGHT} m "
            f"(height_source='default')",
            EstimateWarning,
            stacklevel=4,
        )
    return h, src
