"""Flood exposure: which buildings, storeys and basements the water reaches.

:func:`exposure` reads each building's ground level in a ring outside its
footprint (:mod:`cimcity.flood.ground`), the water against its walls from the flood depth
grid, and counts the floors below the water surface (:mod:`cimcity.flood.storeys`); parcels
and zones get summaries. The per-building preparation (:func:`exposure_context`)
is done once and reused for every level of a :func:`~cimcity.flood.sweep`.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._kernels import flood as K
from ..errors import CRSError, InputError
from ..results import Result, plain
from .extent import FloodResult
from .ground import DEFAULT_RING, RingSamples, ring_samples
from .levels import finite_float
from .storeys import basement_levels, flooded_storeys, storey_model
from .views import column_or_axes, flood_map


@dataclass(eq=False)
class ExposureResult(Result):
    """Buildings, parcels and zones exposed to a flood.

    The main table (:attr:`table`) is :attr:`buildings`; :meth:`to_file`
    writes it, or ``layer="parcels"`` / ``"zones"``.

    Attributes
    ----------
    buildings : GeoDataFrame
        One row per building (index ``building_id``): ``ground_level`` [m]
        (median terrain in the ring outside the footprint), ``ground_from``
        (``ring``; ``ring_in_footprints`` when every ring sample fell in a
        footprint; ``scene`` off the DEM), ``ring_samples`` (samples used),
        ``water_level`` [m] (water surface
        against the building, NaN when dry), ``water_depth`` [m] (water above
        the ground level, 0 when dry), ``max_depth`` [m] (deepest water along
        the walls), ``wet_fraction`` [0-1] (share of the ring under water),
        ``flooded`` (the water reaches the building), ``storeys``,
        ``storey_height`` [m], ``storeys_from`` (``storeys`` / ``bim``),
        ``flooded_storeys`` (floors below the water surface),
        ``basement_levels`` (NaN unknown), ``basement_flooded`` (boolean, NA
        unknown), ``parcel_id``, ``zone_id``, geometry.
    parcels, zones : GeoDataFrame
        Per unit: ``buildings``, ``flooded_buildings``, ``flooded_storeys``,
        ``basements_flooded``, ``max_water_depth`` [m], ``flooded_area``
        [m²], ``flooded_share`` [0-1] of the unit's area, ``mean_water_depth``
        [m], geometry.
    flood : FloodResult
    scene : Scene, optional
        The scene of the buildings (for :meth:`render`).
    """

    buildings: object
    parcels: object
    zones: object
    flood: FloodResult
    scene: object = None

    def tables(self) -> dict:
        """``{"buildings", "parcels", "zones"}``; buildings first (the main table)."""
        return {
            "buildings": self.buildings,
            "parcels": self.parcels,
            "zones": self.zones,
        }

    def summary(self) -> dict:
        """Counts over the buildings.

        Returns
        -------
        dict
            ``buildings``, ``flooded_buildings``,
            ``buildings_with_flooded_storeys``, ``flooded_storeys``,
            ``basements_flooded`` (counts), ``max_water_depth_m`` [m] (water
            above the ground at a building, 0 when none is reached),
            ``parcels_touched`` (parcels with flooded ground).
        """
        B = self.buildings
        f = B["flooded"].to_numpy(bool) if len(B) else np.zeros(0, bool)
        return plain(
            {
                "buildings": len(B),
                "flooded_buildings": int(f.sum()),
                "buildings_with_flooded_storeys": int((B["flooded_storeys"] > 0).sum())
                if len(B)
                else 0,
                "flooded_storeys": int(B["flooded_storeys"].sum()) if len(B) else 0,
                "basements_flooded": int(
                    B["basement_flooded"].fillna(False).astype(bool).sum()
                )
                if len(B)
                else 0,
                "max_water_depth_m": round(float(B["water_depth"].max()), 3)
                if len(B)
                else 0.0,
                "parcels_touched": int((self.parcels["flooded_area"] > 0).sum())
                if len(self.parcels)
                else 0,
            }
        )

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"<ExposureResult {s['flooded_buildings']} of {s['buildings']} buildings "
            f"reached, {s['flooded_storeys']} flooded storeys, "
            f"{s['basements_flooded']} basements>"
        )

    def plot(self, column=None, *, ax=None, **kwargs):
        """2D map of the flood with the buildings filled.

        Parameters
        ----------
        column : str, optional
            Column of :attr:`buildings` to colour the buildings by; default
            (or ``"flooded_storeys"``): flooded storeys of the buildings
            reached, dry ones in white.
        ax : matplotlib Axes, optional
        **kwargs
            ``hillshade``, ``cmap``, ``vmax``, ``title`` as in
            :meth:`FloodResult.plot`.

        Returns
        -------
        matplotlib Axes
        """
        column, ax = column_or_axes(column, ax, "ExposureResult.plot")
        return flood_map(
            self.flood, ax=ax, exposure=self, building_column=column, **kwargs
        )

    def render(self, path=None, **kwargs):
        """Offscreen 3D view of the flood with buildings coloured by flooded
        storeys (see :meth:`FloodResult.render`).

        Parameters
        ----------
        path : str or Path, optional
            Output PNG; when None the image is returned as an array.
        **kwargs
            ``camera``, ``window_size``, ``title`` as in
            :meth:`FloodResult.render`.

        Returns
        -------
        pathlib.Path, or (h, w, 3) uint8 array when ``path`` is None
        """
        return self.flood.render(path, scene=self.scene, exposure=self, **kwargs)


def exposure(
    scene,
    flood: FloodResult,
    ring=DEFAULT_RING,
    spacing: float | None = None,
    exclude_buildings: bool = True,
    storey_height: float | None = None,
) -> ExposureResult:
    """Per-building exposure to a flood, with parcel and zone summaries.

    The ground level of a building is the median terrain elevation in a ring
    just outside its footprint (DEMs are often interpolated under
    buildings); the water reaches a building when any ring sample is wet.
    Flooded storeys count floors below the water surface: from the storey
    elevations of a BIM project (``scene.projects``) when known, else the
    ground floor at the ground level and ``storeys`` floors of
    ``height / storeys``. Basements (``basement_levels`` or ``basement``
    column, or BIM storeys below ground) count as flooded when the water
    reaches the building.

    Parameters
    ----------
    scene : Scene
        Buildings (``height``, ``storeys``), parcels and zones, in the DEM's CRS.
    flood : FloodResult
        From :func:`extent`.
    ring : (inner, outer) float
        Distances from the footprint where the ground is read [m]; the outer
        distance is widened to 1.5 cells on coarse DEMs.
    spacing : float, optional
        Sample spacing along outlines [m] (default: the DEM cell size, at
        least 1 m).
    exclude_buildings : bool
        Leave out ring samples that fall in any footprint (neighbours,
        concave corners).
    storey_height : float, optional
        Force one storey height [m] (default ``height / storeys``).

    Returns
    -------
    ExposureResult
        ``.buildings`` (the main table), ``.parcels``, ``.zones``
        GeoDataFrames, ``.summary()``, ``.plot()``, ``.to_file()``.
    """
    ctx = exposure_context(
        scene, flood.terrain, ring, spacing, exclude_buildings, storey_height
    )
    return exposure_from(ctx, flood)


@dataclass(eq=False)
class ExposureContext:
    """Per-building data that does not depend on the water level."""

    scene: object
    terrain: object
    ring: RingSamples
    ground: np.ndarray
    ground_from: np.ndarray
    storeys: np.ndarray
    storey_h: np.ndarray
    storeys_from: np.ndarray
    explicit: dict
    basements: np.ndarray
    n_used: np.ndarray


def exposure_context(
    scene, terrain, ring, spacing, exclude_buildings, storey_height
) -> ExposureContext:
    """Ring samples, ground levels, storeys and basements of the scene's
    buildings on the terrain grid (arguments as in :func:`exposure`)."""
    if not hasattr(scene, "buildings") or not hasattr(scene, "crs"):
        raise InputError(f"exposure needs a cimcity Scene; got {type(scene).__name__}")
    if not scene.crs.equals(terrain.crs, ignore_axis_order=True):
        raise CRSError(
            f"the flood DEM is in {terrain.crs.to_string()!r} but the scene in "
            f"{scene.crs.to_string()!r}; compute the flood on a DEM in the scene CRS"
        )
    try:
        inner, outer = (float(v) for v in ring)
    except (TypeError, ValueError):
        raise InputError(
            f"ring must be (inner, outer) distances [m]; got {ring!r}"
        ) from None
    if not (0 <= inner < outer):
        raise InputError(f"ring must satisfy 0 <= inner < outer [m]; got {ring!r}")
    if storey_height is not None and not (
        finite_float(storey_height, "storey_height") > 0
    ):
        raise InputError(f"storey_height must be > 0 [m]; got {storey_height!r}")
    spacing = (
        float(spacing) if spacing is not None else max(1.0, min(terrain.resolution))
    )
    if not spacing > 0:
        raise InputError(f"spacing must be > 0 [m]; got {spacing!r}")
    B = scene.buildings
    geoms = B.geometry.values
    rs = ring_samples(geoms, terrain, (inner, outer), spacing, exclude_buildings)
    g_med, n_used = K.ring_ground(rs.starts, rs.ground, rs.use)
    ground_from = np.where(rs.fallback, "ring_in_footprints", "ring").astype(object)
    off = ~np.isfinite(g_med)
    if off.any():
        gz = (
            pd.to_numeric(B["ground_z"], errors="coerce").to_numpy(float)
            if "ground_z" in B.columns
            else np.full(len(B), np.nan)
        )
        g_med = np.where(off, gz, g_med)
        ground_from[off] = "scene"
    storeys, h, sfrom, explicit, bim_base = storey_model(
        B, scene.projects, g_med, storey_height
    )
    basements = basement_levels(B, bim_base)
    return ExposureContext(
        scene,
        terrain,
        rs,
        g_med,
        ground_from,
        storeys,
        h,
        sfrom,
        explicit,
        basements,
        n_used,
    )


def water_at_buildings(ctx: ExposureContext, flood: FloodResult) -> dict:
    """Water against each building for one flood.

    Returns
    -------
    dict of (n,) arrays
        ``water_level`` [m] (NaN when dry), ``max_depth`` [m] (deepest water
        along the walls), ``wet_fraction`` [0-1], ``flooded`` (bool),
        ``water_depth`` [m] (above the ground level, 0 when dry),
        ``flooded_storeys`` (int), ``basement_flooded`` (pandas boolean, NA
        unknown).
    """
    if flood.terrain is not ctx.terrain and (
        flood.terrain.shape != ctx.terrain.shape
        or flood.terrain.transform != ctx.terrain.transform
    ):
        raise InputError(
            "the flood was computed on another DEM grid than the exposure context"
        )
    rs = ctx.ring
    max_d, wl, frac = K.ring_flood(
        rs.starts,
        rs.use,
        rs.rows,
        rs.cols,
        flood.depth,
        np.ascontiguousarray(flood.terrain.elevation),
    )
    flooded = np.isfinite(wl)
    g = ctx.ground
    fst = flooded_storeys(wl, g, ctx.storeys, ctx.storey_h, ctx.explicit)
    fst[~flooded] = 0
    water_depth = np.where(flooded, np.maximum(wl - g, 0.0), 0.0)
    base = ctx.basements
    bflood = pd.array(
        np.where(np.isfinite(base), flooded & (np.nan_to_num(base) > 0), False),
        dtype="boolean",
    )
    bflood[~np.isfinite(base)] = pd.NA
    return {
        "water_level": wl,
        "max_depth": max_d,
        "wet_fraction": frac,
        "flooded": flooded,
        "water_depth": water_depth,
        "flooded_storeys": fst,
        "basement_flooded": bflood,
    }


def exposure_from(ctx: ExposureContext, flood: FloodResult) -> ExposureResult:
    """The :class:`ExposureResult` of one flood on a prepared context."""
    w = water_at_buildings(ctx, flood)
    flooded = w["flooded"]
    g = ctx.ground
    B = ctx.scene.buildings
    out = gpd.GeoDataFrame(
        {
            "ground_level": g,
            "ground_from": ctx.ground_from,
            "ring_samples": ctx.n_used,
            "water_level": w["water_level"],
            "water_depth": w["water_depth"],
            "max_depth": np.where(flooded, w["max_depth"], 0.0),
            "wet_fraction": w["wet_fraction"],
            "flooded": flooded,
            "storeys": ctx.storeys,
            "storey_height": ctx.storey_h,
            "storeys_from": ctx.storeys_from,
            "flooded_storeys": w["flooded_storeys"],
            "basement_levels": ctx.basements,
            "basement_flooded": w["basement_flooded"],
            "parcel_id": B["parcel_id"].to_numpy()
            if "parcel_id" in B.columns
            else None,
            "zone_id": B["zone_id"].to_numpy() if "zone_id" in B.columns else None,
        },
        geometry=B.geometry.values,
        crs=B.crs,
        index=B.index.copy(),
    )
    parcels = _unit_summary(ctx, "parcels", "parcel_id", out, flood)
    zones = _unit_summary(ctx, "zones", "zone_id", out, flood)
    return ExposureResult(out, parcels, zones, flood, ctx.scene)


def _unit_summary(ctx, table, key, bx, flood):
    """Per parcel / zone: building counts and flooded area inside the unit."""
    U = getattr(ctx.scene, table)
    if not len(U):
        gdf = gpd.GeoDataFrame(
            geometry=gpd.GeoSeries([], crs=ctx.scene.crs), crs=ctx.scene.crs
        )
        gdf.index.name = key
        return gdf
    grp = bx.groupby(key)
    agg = pd.DataFrame(
        {
            "buildings": grp.size(),
            "flooded_buildings": grp["flooded"].sum().astype(np.int64),
            "flooded_storeys": grp["flooded_storeys"].sum().astype(np.int64),
            "basements_flooded": grp["basement_flooded"].sum().astype(np.int64),
            "max_water_depth": grp["water_depth"].max(),
        }
    ).reindex(U.index)
    for c in ("buildings", "flooded_buildings", "flooded_storeys", "basements_flooded"):
        agg[c] = agg[c].fillna(0).astype(np.int64)
    agg["max_water_depth"] = agg["max_water_depth"].fillna(0.0)
    area, depth_sum = _zonal_wet(U.geometry.values, flood)
    agg["flooded_area"] = area
    ua = shapely.area(U.geometry.values)
    agg["flooded_share"] = np.where(
        ua > 0, np.minimum(area / np.where(ua > 0, ua, 1), 1.0), 0.0
    )
    agg["mean_water_depth"] = np.where(
        area > 0, depth_sum * flood.cell_area / np.where(area > 0, area, 1), 0.0
    )
    out = gpd.GeoDataFrame(
        agg, geometry=U.geometry.values, crs=U.crs, index=U.index.copy()
    )
    return out


def _zonal_wet(geoms, flood):
    """Flooded area [m²] and sum of depths [m] of the cells whose centre lies in
    each polygon (rasterised on the polygons' window; polygons should not
    overlap, later ones win where they do)."""
    from affine import Affine
    from rasterio import features

    t = flood.terrain
    n = len(geoms)
    area = np.zeros(n)
    dsum = np.zeros(n)
    if not n:
        return area, dsum
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    tr = t.transform
    rows, cols = t.shape
    c0 = int(np.clip(np.floor((minx - tr.c) / tr.a), 0, cols))
    c1 = int(np.clip(np.ceil((maxx - tr.c) / tr.a), 0, cols))
    r0 = int(np.clip(np.floor((maxy - tr.f) / tr.e), 0, rows))
    r1 = int(np.clip(np.ceil((miny - tr.f) / tr.e), 0, rows))
    if c1 <= c0 or r1 <= r0:
        return area, dsum
    win_t = Affine(tr.a, 0, tr.c + c0 * tr.a, 0, tr.e, tr.f + r0 * tr.e)
    codes = features.rasterize(
        ((g, i + 1) for i, g in enumerate(geoms)),
        out_shape=(r1 - r0, c1 - c0),
        transform=win_t,
        fill=0,
        dtype="int32",
    )
    dep = flood.depth[r0:r1, c0:c1]
    wet = np.isfinite(dep) & (codes > 0)
    cnt = np.bincount(codes[wet], minlength=n + 1)[1:]
    ds = np.bincount(codes[wet], weights=dep[wet], minlength=n + 1)[1:]
    return cnt * flood.cell_area, ds
