"""Flood exposure: which buildings, storeys and basements the water reaches.

:func:`exposure` reads each building's ground level in a ring outside its
footprint (:mod:`cimcity.flood.ground`), the water against its walls from the flood depth
grid, and counts the floors below the water surface (:mod:`cimcity.flood.storeys`); parcels
and zones get summaries. The per-building preparation (:func:`exposure_context`)
is done once and reused for every level of a :func:`~cimcity.flood.sweep`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._compat import keyword_only_after
from .._kernels import flood as K
from ..errors import CRSError, DataQualityWarning, InputError
from ..results import Result, plain
from .extent import FloodResult
from .ground import DEFAULT_RING, RingSamples, ring_samples
from .levels import finite_float
from .mapping import flood_map2d
from .storeys import basement_levels, flooded_storeys, storey_model
from .views import column_or_axes


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
        footprint; ``scene`` off the DEM, from the buildings' own
        ``ground_z``; ``unknown`` when that is a default), ``ring_samples``
        (samples on DEM data), ``water_level`` [m] (water surface against the
        building, NaN when dry or unknown), ``water_depth`` [m] (water above
        the ground level, 0 when dry, NaN unknown), ``max_depth`` [m]
        (deepest water along the walls), ``wet_fraction`` [0-1] (share of
        the ring under water), ``flooded`` (nullable boolean: the water
        reaches the building; NA when no ring sample lies on DEM data, off
        the DEM or in nodata), ``storeys``, ``storey_height`` [m],
        ``storeys_from`` (``storeys``: given; ``estimated``: from the height
        and a storey height; ``bim``; ``unknown``: neither storeys nor a
        height), ``flooded_storeys`` (nullable integer: floors below the
        water surface, NA when unknown), ``basement_levels`` (NaN unknown),
        ``basement_flooded`` (boolean, NA unknown), ``parcel_id``,
        ``zone_id``, geometry.
    parcels, zones : GeoDataFrame
        Per unit: ``buildings``, ``flooded_buildings``,
        ``unknown_buildings`` (water unknown), ``flooded_storeys`` (NA when
        a reached building's count is unknown), ``basements_flooded``,
        ``max_water_depth`` [m], ``flooded_area`` [m²], ``flooded_share``
        [0-1] of the unit's area, ``mean_water_depth`` [m],
        ``observed_share`` [0-1] (share of the unit on DEM data; flooded
        figures are NaN when it is 0), geometry.
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
            ``buildings``, ``flooded_buildings`` (reached), ``unknown_buildings``
            (no DEM data around them: reached or not is unknown),
            ``buildings_with_flooded_storeys``, ``flooded_storeys`` (None when
            a reached building's storeys are unknown), ``basements_flooded``
            (counts), ``max_water_depth_m`` [m] (water above the ground at a
            building, 0 when none is reached, None when none is known),
            ``parcels_touched`` (parcels with flooded ground).
        """
        B = self.buildings
        n = len(B)
        fl = B["flooded"] if n else pd.Series([], dtype="boolean")
        fst = B["flooded_storeys"] if n else pd.Series([], dtype="Int64")
        known_depth = B["water_depth"].dropna() if n else pd.Series([], dtype=float)
        return plain(
            {
                "buildings": n,
                "flooded_buildings": int(fl.fillna(False).sum()),
                "unknown_buildings": int(fl.isna().sum()),
                "buildings_with_flooded_storeys": int((fst.fillna(0) > 0).sum()),
                "flooded_storeys": None if fst.isna().any() else int(fst.sum()),
                "basements_flooded": int(
                    B["basement_flooded"].fillna(False).astype(bool).sum()
                )
                if n
                else 0,
                "max_water_depth_m": round(float(known_depth.max()), 3)
                if len(known_depth)
                else (0.0 if not n else None),
                "parcels_touched": int((self.parcels["flooded_area"] > 0).sum())
                if len(self.parcels)
                else 0,
            }
        )

    def __repr__(self) -> str:
        s = self.summary()
        unknown = (
            f", {s['unknown_buildings']} unknown (no DEM data)"
            if s["unknown_buildings"]
            else ""
        )
        storeys = "unknown" if s["flooded_storeys"] is None else s["flooded_storeys"]
        return (
            f"<ExposureResult {s['flooded_buildings']} of {s['buildings']} buildings "
            f"reached{unknown}, {storeys} flooded storeys, "
            f"{s['basements_flooded']} basements>"
        )

    def plot(self, column=None, *, ax=None, **kwargs):
        """2D map of the flood with the buildings filled (:mod:`cimcity.maps`).

        Parameters
        ----------
        column : str, optional
            Column of :attr:`buildings` to colour the buildings by; default
            (or ``"flooded_storeys"``): flooded storeys of the buildings
            reached on a discrete scale, dry ones in white, unknown ones
            hatched grey.
        ax : matplotlib Axes, optional
        **kwargs
            ``scene``, ``hillshade``, ``cmap``, ``vmax``, ``title``, ``lang``,
            ``basemap``, ``axes`` as in :meth:`FloodResult.plot`.

        Returns
        -------
        matplotlib Axes
        """
        column, ax = column_or_axes(column, ax, "ExposureResult.plot")
        return flood_map2d(
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


@keyword_only_after(2)
def exposure(
    scene,
    flood: FloodResult,
    *,
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

    Unknown is not zero: a building with no ring sample on DEM data (off the
    DEM, or in nodata) is neither flooded nor dry (``flooded`` NA); a
    building with neither storeys nor a height (``height_source``
    ``"default"``) has unknown flooded storeys once reached; storeys
    estimated from the height are flagged (``storeys_from="estimated"``).
    Each case raises a :class:`~cimcity.errors.DataQualityWarning` with the
    count.

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

    Every argument after ``flood`` is keyword-only (positional use still
    works for one release, with a ``FutureWarning``).

    Returns
    -------
    ExposureResult
        ``.buildings`` (the main table), ``.parcels``, ``.zones``
        GeoDataFrames, ``.summary()``, ``.plot()``, ``.to_file()``.

    Warns
    -----
    DataQualityWarning
        Buildings without DEM data around them, without storeys or height,
        with estimated storeys; parcels or zones off the DEM.

    Raises
    ------
    InputError
        ``flood`` is not a :class:`FloodResult` (e.g. a water level: compute
        the flood first with :func:`extent`).
    """
    if not isinstance(flood, FloodResult):
        raise InputError(
            f"flood must be a FloodResult from cimcity.flood.extent; got "
            f"{type(flood).__name__} {flood!r:.60}: compute the flood first, e.g. "
            f"cimcity.flood.exposure(scene, cimcity.flood.extent(terrain, level))"
        )
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
        if "ground_source" in B.columns:
            # the scene's default ground (no data, no terrain) is not a measure
            gz = np.where(B["ground_source"].to_numpy(object) == "default", np.nan, gz)
        g_med = np.where(off, gz, g_med)
        ground_from[off] = np.where(np.isfinite(gz[off]), "scene", "unknown")
        warnings.warn(
            f"flood exposure: {int(off.sum())} of {len(B)} buildings have no DEM "
            f"data around them (off the DEM or in nodata), e.g. "
            f"{plain(B.index[np.flatnonzero(off)[0]])!r}: whether the water reaches them "
            f"is unknown (flooded NA); use a DEM covering them",
            DataQualityWarning,
            stacklevel=4,
        )
    storeys, h, sfrom, explicit, bim_base = storey_model(
        B, scene.projects, g_med, storey_height
    )
    _warn_storeys(B, sfrom)
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


def _warn_storeys(B, storeys_from) -> None:
    """DataQualityWarning for estimated and unknown storey counts."""
    est = storeys_from == "estimated"
    unk = storeys_from == "unknown"
    parts = []
    if est.any():
        parts.append(
            f"{int(est.sum())} have no storey count (estimated from their height; "
            f"storeys_from='estimated')"
        )
    if unk.any():
        parts.append(
            f"{int(unk.sum())} have neither storeys nor a height (flooded_storeys "
            f"unknown once reached; storeys_from='unknown')"
        )
    if parts:
        warnings.warn(
            f"flood exposure: of {len(B)} buildings, "
            + "; ".join(parts)
            + "; give a 'storeys' column for exact flooded storeys",
            DataQualityWarning,
            stacklevel=5,
        )


def water_at_buildings(ctx: ExposureContext, flood: FloodResult) -> dict:
    """Water against each building for one flood.

    Returns
    -------
    dict of (n,) arrays
        ``water_level`` [m] (NaN when dry or unknown), ``max_depth`` [m]
        (deepest water along the walls), ``wet_fraction`` [0-1], ``known``
        (bool: some ring sample lies on DEM data), ``flooded`` (bool, False
        where unknown: read it with ``known``), ``water_depth`` [m] (above
        the ground level, 0 when dry, NaN unknown), ``flooded_storeys``
        (float, NaN unknown), ``basement_flooded`` (pandas boolean, NA
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
    known = ctx.n_used > 0
    g = ctx.ground
    fst = flooded_storeys(wl, g, ctx.storeys, ctx.storey_h, ctx.explicit).astype(float)
    fst[~flooded] = 0.0
    fst[flooded & (ctx.storeys_from == "unknown")] = np.nan
    fst[~known] = np.nan
    water_depth = np.where(flooded, np.maximum(wl - g, 0.0), 0.0)
    water_depth[~known] = np.nan
    base = ctx.basements
    bflood = pd.array(
        np.where(np.isfinite(base), flooded & (np.nan_to_num(base) > 0), False),
        dtype="boolean",
    )
    bflood[~np.isfinite(base) | ~known] = pd.NA
    return {
        "water_level": wl,
        "max_depth": max_d,
        "wet_fraction": np.where(known, frac, np.nan),
        "known": known,
        "flooded": flooded,
        "water_depth": water_depth,
        "flooded_storeys": fst,
        "basement_flooded": bflood,
    }


def exposure_from(ctx: ExposureContext, flood: FloodResult) -> ExposureResult:
    """The :class:`ExposureResult` of one flood on a prepared context."""
    w = water_at_buildings(ctx, flood)
    flooded = w["flooded"]
    flooded_na = pd.array(flooded, dtype="boolean")
    flooded_na[~w["known"]] = pd.NA
    fst = pd.array(
        np.where(np.isfinite(w["flooded_storeys"]), w["flooded_storeys"], 0).astype(
            np.int64
        ),
        dtype="Int64",
    )
    fst[~np.isfinite(w["flooded_storeys"])] = pd.NA
    g = ctx.ground
    B = ctx.scene.buildings
    out = gpd.GeoDataFrame(
        {
            "ground_level": g,
            "ground_from": ctx.ground_from,
            "ring_samples": ctx.n_used,
            "water_level": w["water_level"],
            "water_depth": w["water_depth"],
            "max_depth": np.where(
                w["known"], np.where(flooded, w["max_depth"], 0.0), np.nan
            ),
            "wet_fraction": w["wet_fraction"],
            "flooded": flooded_na,
            "storeys": ctx.storeys,
            "storey_height": ctx.storey_h,
            "storeys_from": ctx.storeys_from,
            "flooded_storeys": fst,
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
    bx = bx.assign(
        _unknown=bx["flooded"].isna().to_numpy(),
        _fst_unknown=bx["flooded_storeys"].isna().to_numpy(),
        _reached=bx["flooded"].fillna(False).to_numpy(bool),
    )
    grp = bx.groupby(key)
    agg = pd.DataFrame(
        {
            "buildings": grp.size(),
            "flooded_buildings": grp["_reached"].sum().astype(np.int64),
            "unknown_buildings": grp["_unknown"].sum().astype(np.int64),
            "flooded_storeys": grp["flooded_storeys"].sum().astype("Int64"),
            "basements_flooded": grp["basement_flooded"].sum().astype(np.int64),
            "max_water_depth": grp["water_depth"].max(),
        }
    )
    # a unit with a reached building of unknown storeys: total unknown
    agg.loc[grp["_fst_unknown"].any(), "flooded_storeys"] = pd.NA
    has_b = U.index.isin(agg.index)
    agg = agg.reindex(U.index)
    for c in (
        "buildings",
        "flooded_buildings",
        "unknown_buildings",
        "basements_flooded",
    ):
        agg[c] = agg[c].fillna(0).astype(np.int64)
    agg.loc[~has_b, "flooded_storeys"] = 0
    # no building: 0; buildings whose water is all unknown: NaN
    agg.loc[~has_b, "max_water_depth"] = 0.0
    area, depth_sum, observed = _zonal_wet(U.geometry.values, flood)
    ua = shapely.area(U.geometry.values)
    seen = observed > 0
    agg["flooded_area"] = np.where(seen, area, np.nan)
    agg["flooded_share"] = np.where(
        seen, np.minimum(area / np.where(ua > 0, ua, 1), 1.0), np.nan
    )
    agg["mean_water_depth"] = np.where(
        area > 0, depth_sum * flood.cell_area / np.where(area > 0, area, 1), 0.0
    )
    agg.loc[~seen, "mean_water_depth"] = np.nan
    agg["observed_share"] = np.where(
        ua > 0, np.minimum(observed / np.where(ua > 0, ua, 1), 1.0), np.nan
    )
    if (~seen).any():
        warnings.warn(
            f"flood exposure: {int((~seen).sum())} of {len(U)} {table} lie off the "
            f"DEM or in nodata (e.g. {plain(U.index[np.flatnonzero(~seen)[0]])!r}): their "
            f"flooded area is unknown (NaN)",
            DataQualityWarning,
            stacklevel=5,
        )
    out = gpd.GeoDataFrame(
        agg, geometry=U.geometry.values, crs=U.crs, index=U.index.copy()
    )
    return out


def _zonal_wet(geoms, flood):
    """Flooded area [m²], sum of depths [m] and observed area (cells on DEM
    data) [m²] of the cells whose centre lies in each polygon (rasterised on
    the polygons' window; polygons should not overlap, later ones win where
    they do)."""
    from affine import Affine
    from rasterio import features

    t = flood.terrain
    n = len(geoms)
    area = np.zeros(n)
    dsum = np.zeros(n)
    if not n:
        return area, dsum, np.zeros(n)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    tr = t.transform
    rows, cols = t.shape
    c0 = int(np.clip(np.floor((minx - tr.c) / tr.a), 0, cols))
    c1 = int(np.clip(np.ceil((maxx - tr.c) / tr.a), 0, cols))
    r0 = int(np.clip(np.floor((maxy - tr.f) / tr.e), 0, rows))
    r1 = int(np.clip(np.ceil((miny - tr.f) / tr.e), 0, rows))
    if c1 <= c0 or r1 <= r0:
        return area, dsum, np.zeros(n)
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
    data = np.isfinite(t.elevation[r0:r1, c0:c1]) & (codes > 0)
    seen = np.bincount(codes[data], minlength=n + 1)[1:]
    return cnt * flood.cell_area, ds, seen * flood.cell_area
