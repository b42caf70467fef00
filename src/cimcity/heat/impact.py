"""Before and after a project, a row of trees or a cool roof: Tmrt and UTCI change.

:func:`impact` runs :func:`cimcity.heat.tmrt` on two scenes (``before``,
``after``: e.g. ``scene.with_project(bim)``, a greening variant of
:mod:`cimcity.heat.scenarios`) at the **same person points** and the same
hours, computes the UTCI of both (:func:`cimcity.heat.comfort.utci_frame`) and
returns the change hour by hour and per point, with summaries per street,
parcel and zone, as a :class:`HeatImpactResult`.

The points are open ground in both scenes: cells of a ``spacing`` grid over
the area of both scenes' buildings (plus 30 m, kept on the DEM) whose centre
lies in no building footprint of either scene. Ground that the project
builds over is not a place where people stand after; it is counted
(``built_over`` in the summary), not compared.

Written here: it is the orchestration of two runs of the heat model and
their difference, which no library does.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import i18n, maps
from ..errors import DataQualityWarning, InputError
from ..results import Result, plain
from .comfort import utci_frame
from .rasters import scene_grid
from .scenarios import _units
from .tmrt import tmrt

__all__ = ["impact", "HeatImpactResult"]

i18n.add_terms(
    {
        "delta_tmrt_mean": ("Change of the mean radiant temperature",
                            "Variation de la température radiante moyenne"),
        "delta_utci_max": ("Change of the hottest felt temperature (UTCI)",
                           "Variation de la température ressentie maximale (UTCI)"),
    },
    units={"delta_tmrt_mean": "K", "delta_utci_max": "K"},
)

#: margin around the buildings of the default area [m]
MARGIN = 30.0


def _area_of(before, after, area):
    if area is not None:
        return area.bounds if hasattr(area, "bounds") else tuple(area)
    boxes = [s.buildings.total_bounds for s in (before, after) if len(s.buildings)]
    if not boxes:
        raise InputError("neither scene has buildings: give points= or area=")
    b = np.array(boxes)
    x0, y0 = b[:, 0].min() - MARGIN, b[:, 1].min() - MARGIN
    x1, y1 = b[:, 2].max() + MARGIN, b[:, 3].max() + MARGIN
    for s in (before, after):
        if s.terrain is not None:
            tx0, ty0, tx1, ty1 = s.terrain.bounds
            x0, y0, x1, y1 = max(x0, tx0), max(y0, ty0), min(x1, tx1), min(y1, ty1)
    return x0, y0, x1, y1


def _footprints(scene):
    b = scene.buildings
    return shapely.union_all(b.geometry.values) if len(b) else shapely.Polygon()


def impact(
    before,
    after,
    weather,
    when=None,
    *,
    points=None,
    spacing=2.0,
    height=1.1,
    method="auto",
    area=None,
    by=("street", "parcel", "zone"),
    progress=None,
    **tmrt_options,
) -> HeatImpactResult:
    """Tmrt and UTCI before and after, at the same points and hours.

    Parameters
    ----------
    before, after : cimcity.Scene
        The two scenes (``after = before.with_project(bim)``, or a variant of
        :mod:`cimcity.heat.scenarios`).
    weather : EPW path, DataFrame, UMEP met file or Met
        See :func:`cimcity.heat.read_met`; its wind gives the UTCI (no wind:
        UTCI unknown, NaN).
    when : optional
        Period of the weather kept (e.g. ``"2023-07-15"``).
    points : (n, 2) float, optional
        Person ground positions [m, scene CRS], open ground in both scenes.
        Default: a ``spacing`` grid (module docstring).
    spacing : float
        Grid step [m].
    height : float
        Centre of the body above the ground [m] (1.1 standing).
    method : {"auto", "mesh", "raster"}
        As :func:`cimcity.heat.tmrt` (``"auto"``: raster, on a ``spacing``
        grid over the same area for both scenes).
    area : shapely geometry or (minx, miny, maxx, maxy), optional
    by : sequence of {"street", "parcel", "zone"}
        Units of the summaries (those the ``after`` scene has).
    progress : None or bool
    **tmrt_options
        Passed to :func:`cimcity.heat.tmrt` (``transmissivity``,
        ``landcover``, ``wall_albedo``…).

    Returns
    -------
    HeatImpactResult
    """
    if method not in ("auto", "mesh", "raster"):
        raise InputError(f"unknown method {method!r}; expected 'auto', 'mesh' or 'raster'")
    if before.crs != after.crs:
        raise InputError(
            f"before is in {before.crs}, after in {after.crs}: one CRS for both scenes"
        )
    bounds = _area_of(before, after, area)
    built = shapely.union_all([_footprints(before), _footprints(after)])
    built_over = 0
    meth = "raster" if method == "auto" else method
    if points is None:
        # the cell centres of the raster path's grid (scene_grid) over the area
        grids = [scene_grid(s, cell=float(spacing), area=bounds,
                            landcover=tmrt_options.get("landcover"))
                 for s in (before, after)]
        g0, g1 = grids
        r, c = np.divmod(np.arange(g0.dsm.size), g0.shape[1])
        xs, ys = g0.to_xy(c + 0.5, r + 0.5)
        xy = np.column_stack([xs, ys])
        open0 = ~g0.built.ravel() & ~shapely.contains_xy(_footprints(before), xs, ys)
        keep = open0 & ~g1.built.ravel() & ~shapely.contains_xy(built, xs, ys)
        built_over = int((open0 & ~keep).sum())
        xy = xy[keep]
    else:
        xy = np.atleast_2d(np.asarray(points, float))[:, :2]
        inside = shapely.contains_xy(built, xy[:, 0], xy[:, 1])
        if inside.any():
            i = int(np.flatnonzero(inside)[0])
            raise InputError(
                f"point {i} ({xy[i, 0]:.1f}, {xy[i, 1]:.1f}) stands in a building of "
                f"the before or after scene; compare points of open ground in both"
            )
    if not len(xy):
        raise InputError("no open ground in both scenes over the area")
    kw = dict(points=xy, spacing=spacing, height=height, when=when, timeseries=True,
              method=meth, area=bounds if meth == "raster" else None,
              progress=progress, **tmrt_options)
    runs = {"before": tmrt(before, weather, **kw), "after": tmrt(after, weather, **kw)}
    t0, t1 = runs["before"].timeseries, runs["after"].timeseries
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        u0, u1 = utci_frame(runs["before"]), utci_frame(runs["after"])
    if "wind_speed" not in runs["before"].met.air or not np.isfinite(u0.to_numpy()).any():
        warnings.warn("heat impact: no usable wind in the weather, UTCI unknown (NaN)",
                      DataQualityWarning, stacklevel=2)
    pts = gpd.GeoDataFrame(
        {
            "z": runs["before"].points["z"].to_numpy(),
            "tmrt_mean_before": t0.mean().to_numpy(),
            "tmrt_mean_after": t1.mean().to_numpy(),
            "delta_tmrt_mean": (t1 - t0).mean().to_numpy(),
            "delta_tmrt_min": (t1 - t0).min().to_numpy(),
            "delta_tmrt_max": (t1 - t0).max().to_numpy(),
            "utci_max_before": u0.max(skipna=False).to_numpy(),
            "utci_max_after": u1.max(skipna=False).to_numpy(),
            "sun_hours_before": runs["before"].points["sun_hours"].to_numpy(),
            "sun_hours_after": runs["after"].points["sun_hours"].to_numpy(),
        },
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=before.crs,
    )
    pts["delta_utci_max"] = pts["utci_max_after"] - pts["utci_max_before"]
    pts.index = pd.RangeIndex(len(pts), name="point_id")
    tables = {"points": pts}
    for name, units in _units(after, tuple(by)).items():
        tables[name] = _per_unit(pts, units)
    return HeatImpactResult(
        tables,
        hourly={"tmrt_before": t0, "tmrt_after": t1, "utci_before": u0,
                "utci_after": u1},
        runs=runs, built_over=built_over, spacing=float(spacing),
        footprints=after.buildings[["geometry"]].assign(
            added=~after.buildings.index.isin(before.buildings.index)),
    )


def _per_unit(pts, units):
    cols = ["delta_tmrt_mean", "delta_tmrt_min", "delta_tmrt_max", "delta_utci_max",
            "tmrt_mean_before", "tmrt_mean_after"]
    j = gpd.sjoin(pts[["geometry"] + cols], units[["geometry"]].rename_axis("_unit"),
                  predicate="within", how="inner")
    g = j.groupby("_unit")
    df = pd.DataFrame({
        "points": g.size(),
        "delta_tmrt_mean": g["delta_tmrt_mean"].mean(),
        "delta_tmrt_min": g["delta_tmrt_min"].min(),
        "delta_tmrt_max": g["delta_tmrt_max"].max(),
        "delta_utci_max": g["delta_utci_max"].mean(),
        "cooler_share": g["delta_tmrt_mean"].apply(lambda v: float((v < -0.5).mean())),
        "warmer_share": g["delta_tmrt_mean"].apply(lambda v: float((v > 0.5).mean())),
    }).reindex(units.index)
    df["points"] = df["points"].fillna(0).astype(int)
    return gpd.GeoDataFrame(df, geometry=units.geometry, crs=units.crs)


class HeatImpactResult(Result):
    """Tmrt and UTCI before and after (:func:`impact`).

    Tables: ``points`` (one row per person point: ``tmrt_mean_before``,
    ``tmrt_mean_after``, ``delta_tmrt_mean`` [K] and the largest cooling and
    warming at any hour ``delta_tmrt_min``/``delta_tmrt_max`` [K];
    ``utci_max_before``, ``utci_max_after``, ``delta_utci_max`` [°C, K], NaN
    when unknown; ``sun_hours_before``/``after`` [h]); per unit ``streets``,
    ``parcels``, ``zones``: the same changes averaged over the unit's points,
    ``cooler_share`` and ``warmer_share`` (points whose mean Tmrt changes by
    more than 0.5 K) [0-1].

    Attributes
    ----------
    hourly : dict of DataFrame
        ``tmrt_before``, ``tmrt_after``, ``utci_before``, ``utci_after`` [°C]:
        index = the weather's times, one column per point.
    runs : dict of TmrtResult
        The two runs (their fluxes, ``.fluxes()``).
    """

    _title = "heat impact"

    def __init__(self, tables, *, hourly, runs, built_over, spacing, footprints=None):
        self._tables = tables
        self.footprints = footprints
        self.hourly = hourly
        self.runs = runs
        self.built_over = int(built_over)
        self.spacing = spacing

    def tables(self) -> dict:
        return dict(self._tables)

    @property
    def points(self):
        return self._tables["points"]

    @property
    def delta_tmrt(self) -> pd.DataFrame:
        """Hourly Tmrt change after − before [K] (times × points)."""
        return self.hourly["tmrt_after"] - self.hourly["tmrt_before"]

    def summary(self) -> dict:
        p = self.points
        d = p["delta_tmrt_mean"]
        u = p["delta_utci_max"]
        return {
            "points": int(len(p)),
            "hours": int(len(self.hourly["tmrt_before"])),
            "built_over": self.built_over,
            "delta_tmrt_mean_k": plain(d.mean()),
            "delta_tmrt_min_k": plain(p["delta_tmrt_min"].min()),
            "delta_tmrt_max_k": plain(p["delta_tmrt_max"].max()),
            "cooler_share": plain(float((d < -0.5).mean())),
            "warmer_share": plain(float((d > 0.5).mean())),
            "delta_utci_max_k": plain(u.mean()) if u.notna().any() else None,
        }

    def plot(self, column=None, *, ax=None, lang=None, vmax=None, axes="hidden",
             **kwargs):
        """Map of the change per point (:mod:`cimcity.maps` base: scale bar, north
        arrow): ``"delta_tmrt_mean"`` (default) or any column of :attr:`points`
        [K], blue cooler, red warmer, centred on 0, each point a square one grid
        cell wide, over the points' extent, with the ``after`` footprints (the
        added buildings hatched).

        Parameters
        ----------
        column : str, optional
        ax : matplotlib Axes, optional
        lang : {"fr", "en"}, optional
        vmax : float, optional
            Half-range of the colour scale [K] (default: the largest change,
            at least 0.5 K); give the same value to compare two impacts.
        axes : {"hidden", "km"}
        **kwargs
            Passed to ``matplotlib.axes.Axes.scatter`` (``cmap``, ``s``…).

        Returns
        -------
        matplotlib.axes.Axes
        """
        from matplotlib.colors import TwoSlopeNorm
        from matplotlib.patches import Patch

        column = "delta_tmrt_mean" if column is None else column
        p = self.points
        if column not in p.columns or column == "geometry":
            raise InputError(f"column={column!r}: expected one of "
                             f"{[c for c in p.columns if c != 'geometry']}")
        v = p[column].to_numpy(float)
        if vmax is None:
            lim = float(np.nanmax(np.abs(v))) if np.isfinite(v).any() else 1.0
            lim = max(lim, 0.5)
        else:
            lim = float(vmax)
            if not lim > 0:
                raise InputError(f"vmax={vmax!r}: a positive half-range in K")
        if len(p):
            x0, y0, x1, y1 = p.total_bounds
        else:
            x0, y0, x1, y1 = self.footprints.total_bounds
        pad = 2 * self.spacing
        ax = maps.start(ax, (x0 - pad, y0 - pad, x1 + pad, y1 + pad),
                        crs=p.crs, figsize=(7, 6), lang=lang)
        sc = ax.scatter(p.geometry.x, p.geometry.y, c=v,
                        s=kwargs.pop("s", maps.marker_size(ax, self.spacing)),
                        marker="s", linewidths=0, cmap=kwargs.pop("cmap", "RdBu_r"),
                        norm=TwoSlopeNorm(0.0, -lim, lim), zorder=maps.Z_DATA,
                        **kwargs)
        fp = self.footprints
        legend = []
        if fp is not None and len(fp):
            fp[~fp["added"]].plot(ax=ax, color="#d9d9d9", edgecolor="#737373",
                                  linewidth=0.5, zorder=maps.Z_BASE)
            if fp["added"].any():
                fp[fp["added"]].plot(ax=ax, facecolor="none", edgecolor="black",
                                     linewidth=1.5, hatch="///", zorder=maps.Z_OUTLINE)
                legend.append(Patch(facecolor="none", edgecolor="black", hatch="///",
                                    label=i18n.term("map_project", lang)))
        label = (i18n.label(column, lang)
                 if column in ("delta_tmrt_mean", "delta_utci_max") else column)
        maps.colorbar(ax, sc, column, lang=lang, label=label)
        title = (i18n.term("delta_tmrt_mean", lang) if column == "delta_tmrt_mean"
                 else label)
        return maps.finish(ax, title=title, lang=lang, axes=axes, legend=legend or None)
