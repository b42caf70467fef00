"""The results of the impact studies (:mod:`cimcity.sun.impact`): sun-hours
(:class:`ImpactResult`) and irradiation (:class:`SolarImpact`) lost and gained
by a project's neighbours, with their per-building and per-parcel summaries."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import i18n, maps
from .._compat import renamed_arguments
from ..errors import InputError
from ..results import Result, plain
from .hours import facade_orientation
from .position import as_stamp, scene_site

__all__ = ["DELTA_TOL", "ImpactResult", "SolarImpact"]

#: sun-hours changes smaller than this are no change [h]
DELTA_TOL = 1e-6


def _parcels_of(sensors, scene) -> np.ndarray:
    """Parcel of each sensor: its building's, else the parcel under it."""
    parcel = np.full(len(sensors), None, dtype=object)
    B = scene.buildings
    on_b = sensors.building_id != None  # noqa: E711 - object array
    if on_b.any() and "parcel_id" in B.columns:
        parcel[on_b] = B["parcel_id"].reindex(sensors.building_id[on_b]).to_numpy()
    P = scene.parcels
    if len(P) and (~on_b).any():
        idx = np.flatnonzero(~on_b)
        tree = shapely.STRtree(P.geometry.values)
        i, j = tree.query(
            shapely.points(sensors.points[idx, :2]), predicate="intersects"
        )
        first = np.r_[True, i[1:] != i[:-1]] if len(i) else np.zeros(0, bool)
        parcel[idx[i[first]]] = P.index.to_numpy()[j[first]]
    return parcel


class ImpactResult(Result):
    """Result of :func:`sun_hours_impact`.

    Attributes
    ----------
    points : geopandas.GeoDataFrame
        The main table (:attr:`table`): one row per sensor and date,
        ``sensor`` (position in the sensor set), ``date``, ``kind`` (ground,
        roof, wall), ``building_id``, ``parcel_id``, ``orientation``, ``area``
        [m²], ``before``, ``after``, ``delta`` (after - before), ``lost``,
        ``gained`` [h], ``covered`` (facade point now inside the project: a new
        party wall); 3D point geometry.
    removed, added : list
        Building ids replaced by the project and added with it.
    dates : list of pandas.Timestamp
        The days studied.
    """

    _title = "sun-hours impact"

    def __init__(
        self, before, after, sensors, covered, frames, removed, added, n_worst
    ):
        self.crs = before.crs
        #: the scene with the project (base layers of the maps)
        self.scene = after
        self.removed = list(removed)
        self.added = list(added)
        self.n_worst = n_worst
        #: context margin and study area (see :mod:`cimcity.sun.context`)
        self.context = {}
        self.dates = [d for d, _, _ in frames]
        north = scene_site(before).north
        orient = np.full(len(sensors), None, dtype=object)
        wall = sensors.kind == "wall"
        if wall.any():
            orient[wall] = facade_orientation(sensors.normals[wall], north)[0]
        parcel = _parcels_of(sensors, before)
        rows = []
        p = sensors.points
        for day, h0, h1 in frames:
            d = h1 - h0
            d = np.where(np.abs(d) < DELTA_TOL, 0.0, d)
            rows.append(
                pd.DataFrame(
                    {
                        "sensor": np.arange(len(sensors)),
                        "date": day.date(),
                        "kind": sensors.kind,
                        "building_id": sensors.building_id,
                        "parcel_id": parcel,
                        "orientation": orient,
                        "area": sensors.areas,
                        "x": p[:, 0],
                        "y": p[:, 1],
                        "z": p[:, 2],
                        "before": h0,
                        "after": h1,
                        "delta": d,
                        "lost": np.maximum(-d, 0.0),
                        "gained": np.maximum(d, 0.0),
                        "covered": covered,
                    }
                )
            )
        df = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
        self.points = gpd.GeoDataFrame(
            df, geometry=gpd.points_from_xy(df["x"], df["y"], df["z"]), crs=self.crs
        )

    @staticmethod
    def _agg(df, keys):
        df = df.assign(
            a_before=df["before"] * df["area"],
            a_after=df["after"] * df["area"],
            a_losing=np.where(df["delta"] < 0, df["area"], 0.0),
            a_gaining=np.where(df["delta"] > 0, df["area"], 0.0),
        )
        g = df.groupby(keys, sort=True, dropna=False)
        out = g.agg(
            sensors=("delta", "size"),
            area=("area", "sum"),
            a_before=("a_before", "sum"),
            a_after=("a_after", "sum"),
            worst_delta=("delta", "min"),
            best_delta=("delta", "max"),
            area_losing=("a_losing", "sum"),
            area_gaining=("a_gaining", "sum"),
        )
        out["mean_before"] = out.pop("a_before") / out["area"]
        out["mean_after"] = out.pop("a_after") / out["area"]
        out["mean_delta"] = out["mean_after"] - out["mean_before"]
        cols = [
            "sensors",
            "area",
            "mean_before",
            "mean_after",
            "mean_delta",
            "worst_delta",
            "best_delta",
            "area_losing",
            "area_gaining",
        ]
        return out[cols].reset_index()

    @property
    def _open(self):
        """Points that stay in the open air (not covered by the project)."""
        return self.points[~self.points["covered"].to_numpy(bool)]

    @property
    def by_building(self) -> pd.DataFrame:
        """Per date, neighbouring building, surface kind and facade
        orientation: ``sensors``, ``area`` [m²], ``mean_before``,
        ``mean_after``, ``mean_delta`` (area-weighted) and ``worst_delta`` /
        ``best_delta`` (single points) [h], ``area_losing`` /
        ``area_gaining`` [m²]. Facade points the project covers (new party
        walls) are left out; see ``points["covered"]``."""
        P = self._open
        P = P[P["kind"].isin(["roof", "wall"])]
        P = P.assign(orientation=P["orientation"].fillna("-"))
        return self._agg(P, ["date", "building_id", "kind", "orientation"])

    @property
    def by_parcel(self) -> pd.DataFrame:
        """Per date and parcel (open ground and the buildings on it), same
        columns as :attr:`by_building`."""
        P = self._open
        P = P[P["parcel_id"].notna()]
        return self._agg(P, ["date", "parcel_id", "kind"])

    @property
    def worst(self) -> pd.DataFrame:
        """The ``n_worst`` largest mean losses per date among facades (building ×
        orientation), roofs and open-ground parcels, worst first."""
        b = self.by_building.rename(columns={"building_id": "id"})
        b.insert(1, "level", "building")
        p = self.by_parcel
        p = p[p["kind"] == "ground"].rename(columns={"parcel_id": "id"})
        p.insert(1, "level", "parcel")
        p["orientation"] = "-"
        allw = pd.concat([b, p], ignore_index=True)
        allw = allw[allw["mean_delta"] < 0]
        allw = (
            allw.sort_values(["date", "mean_delta"]).groupby("date").head(self.n_worst)
        )
        return allw.reset_index(drop=True)

    # -- protocol ----------------------------------------------------------------------------
    def tables(self) -> dict:
        """``points`` (main), ``by_building``, ``by_parcel`` and ``worst``."""
        return {
            "points": self.points,
            "by_building": self.by_building,
            "by_parcel": self.by_parcel,
            "worst": self.worst,
        }

    @renamed_arguments(what="layer")
    def to_file(self, path, layer: str | None = None):
        """Write ``points`` (default), ``by_building``, ``by_parcel`` or
        ``worst`` by suffix (see :meth:`cimcity.results.Result.to_file`). Old
        name of ``layer``: ``what`` (whose default was ``"worst"``)."""
        return super().to_file(path, layer)

    def summary(self) -> dict:
        """Buildings removed and added, sensors, and per date (a dict under the
        date's ISO string): area of facades the project covers (new party
        walls), area losing / gaining sun [m²], mean and worst change [h] of
        the others and the number of buildings losing sun."""
        out = {
            "removed": self.removed,
            "added": self.added,
            "sensors": int(self.points["sensor"].nunique()) if len(self.points) else 0,
        }
        if self.context and "context_ok" in self.points.columns:
            out["context_m"] = self.context["context_m"]
            out["sensors_without_context"] = int(
                self.points.loc[~self.points["context_ok"], "sensor"].nunique()
            )
        for day, grp in self.points.groupby("date"):
            covered = grp["covered"].to_numpy(bool)
            area_covered = float(grp.loc[covered, "area"].sum())
            grp = grp[~covered]
            losing = grp["delta"] < 0
            out[str(day)] = {
                "area_covered_m2": round(area_covered, 1),
                "area_losing_m2": round(float(grp.loc[losing, "area"].sum()), 1),
                "area_gaining_m2": round(
                    float(grp.loc[grp["delta"] > 0, "area"].sum()), 1
                ),
                "mean_delta_h": round(
                    float(np.average(grp["delta"], weights=grp["area"])), 3
                ),
                "worst_delta_h": round(float(grp["delta"].min()), 3),
                "buildings_losing": int(
                    grp.loc[
                        losing & grp["building_id"].notna(), "building_id"
                    ].nunique()
                ),
            }
        return plain(out)

    def __repr__(self) -> str:
        s = self.summary()
        parts = [
            f"{d}: {v['area_losing_m2']:.0f} m² lose sun "
            f"(worst {v['worst_delta_h']:+.2f} h)"
            for d, v in s.items()
            if isinstance(v, dict)
        ]
        return (
            f"<ImpactResult added {self.added}, removed {self.removed}; "
            + "; ".join(parts)
            + ">"
        )

    def plot(
        self,
        column=None,
        *,
        ax=None,
        date=None,
        cmap=None,
        vlim=None,
        buildings=None,
        scene=None,
        basemap=None,
        title=None,
        lang=None,
        axes="km",
        extent=None,
    ):
        """Map of a points column on one date (default ``delta``: blue gained,
        red lost [h]), drawn with :mod:`cimcity.maps`.

        Parameters
        ----------
        column : str, optional
            Column of :attr:`points` (default ``delta`` [h]; ``before``,
            ``after``, ``lost``, ``gained``).
        ax : matplotlib Axes, optional
        date : date, optional
            Day shown (default: the last one studied).
        cmap : str, optional
            Colour map (default ``RdBu``, diverging and centred on 0 for
            ``delta``; sequential ``inferno`` for ``before``/``after``).
        vlim : float, optional
            Half range of the diverging scale [h].
        buildings : GeoDataFrame, optional
            Footprints outlined on top (default: the scene's).
        scene : Scene, optional
            The scene with the project: its layers as base, the project
            (:attr:`added`) in orange.
        basemap : {None, "ign", "osm"}
        title : str, optional
        lang : {"fr", "en"}, optional
        axes : {"km", "hidden"}
        extent : (xmin, ymin, xmax, ymax), optional
            Map extent [m] (default: the points, 10 m around).

        Returns
        -------
        matplotlib.axes.Axes
        """
        column = "delta" if column is None else column
        if column not in self.points.columns:
            raise InputError(
                f"unknown column {column!r}; points have {list(self.points.columns)}"
            )
        date = self.dates[-1].date() if date is None else as_stamp(date).date()
        P = self.points[self.points["date"] == date].sort_values("z")
        scene = self.scene if scene is None else scene
        if buildings is None and scene is not None:
            buildings = scene.buildings
        if extent is None:
            # the changed points, and the project even when no point changed
            project = None
            if buildings is not None and len(self.added):
                project = buildings.reindex(list(self.added)).dropna(subset=["geometry"])
            extent = maps.extent_of(P[["x", "y"]].to_numpy(), project, pad=10.0)
        ax = maps.start(ax, extent, crs=self.crs, scene=scene, basemap=basemap, lang=lang)
        P = P[maps.points_in(P["x"], P["y"], extent)]
        change = column in ("delta", "lost", "gained")
        quantity = "sun_hours_change" if change else "sun_hours"
        cm, norm, _ = maps.color_scale(
            quantity, P[column], vmin=None if change else 0.0,
            vmax=vlim if change else None, cmap=cmap,
            kind="diverging" if change else "sequential",
        )
        sc = ax.scatter(
            P["x"], P["y"], c=P[column], s=maps.marker_size(ax, 2.0), marker="s",
            linewidths=0, cmap=cm, norm=norm, zorder=maps.Z_DATA,
        )
        maps.footprints(ax, buildings, extent, color="0.3", linewidth=0.4)
        legend = _project(ax, buildings, self.added, extent, lang)
        legend += maps.study_area(ax, self.context.get("study_area"), extent, lang=lang) or []
        maps.colorbar(ax, sc, quantity if column != "lost" else "sun_hours_change", lang=lang)
        if title is None:
            head = f"{i18n.term('map_impact', lang)} ({i18n.term(quantity, lang).lower()})"
            title = maps.title_text(
                head, when=date, place=maps.place_of(scene, self.crs, extent, lang),
                lang=lang,
            )
        return maps.finish(ax, title=title, lang=lang, axes=axes, legend=legend)


def _project(ax, buildings, added, extent, lang) -> list:
    """The project's footprints in orange; its legend handle (or none)."""
    from matplotlib.patches import Patch

    if buildings is None or not len(added):
        return []
    P = buildings.reindex(list(added)).dropna(subset=["geometry"])
    if not len(P):
        return []
    maps.footprints(
        ax, P, extent, fill=True, color="#f28c28", alpha=0.8, linewidth=0.8,
        zorder=maps.Z_OUTLINE + 0.5,
    )
    return [Patch(facecolor="#f28c28", alpha=0.8, label=i18n.term("project", lang))]


class SolarImpact(Result):
    """Result of :func:`irradiance_impact`.

    Attributes
    ----------
    sensors : geopandas.GeoDataFrame
        The main table (:attr:`table`): one row per neighbour sensor,
        position, normal, ``kind``, ``building_id``, ``area`` [m²],
        ``before``, ``after``, ``delta`` [kWh/m² over the period],
        ``sky_view_before``/``_after``, ``covered``.
    meta : dict
        Buildings removed/added, radius, settings of both runs.
    """

    _title = "irradiation impact"

    def __init__(self, sensors, meta, before=None, after=None):
        self.sensors = sensors
        self.meta = meta
        self.before = before
        self.after = after

    @property
    def by_building(self) -> pd.DataFrame:
        """Per neighbour building and surface kind: ``area`` [m²],
        ``before``/``after``/``delta`` [kWh over the period] and ``delta_pct``."""
        S = self.sensors[~self.sensors["covered"]]
        e = S.assign(
            before=S["before"] * S["area"],
            after=S["after"] * S["area"],
            delta=S["delta"] * S["area"],
        )
        g = e.groupby(["building_id", "kind"])[
            ["area", "before", "after", "delta"]
        ].sum()
        g["delta_pct"] = 100.0 * g["delta"] / g["before"].where(g["before"] > 0)
        return g.sort_values("delta")

    # -- protocol ----------------------------------------------------------------------------
    def tables(self) -> dict:
        """``sensors`` (main) and ``by_building`` (index as columns)."""
        return {"sensors": self.sensors, "by_building": self.by_building.reset_index()}

    @renamed_arguments(what="layer")
    def to_file(self, path, layer: str | None = None):
        """Write ``sensors`` (default) or ``by_building`` by suffix (see
        :meth:`cimcity.results.Result.to_file`). Old spelling:
        ``what="buildings"``."""
        if layer == "buildings":
            layer = "by_building"
        return super().to_file(path, layer)

    def summary(self) -> dict:
        """Sensors, covered sensors, neighbour buildings, buildings added and
        removed, and per surface kind the irradiation before and after [kWh
        over the period] and its change [%] (None when nothing was received
        before)."""
        S = self.sensors[~self.sensors["covered"]]
        out = {
            "sensors": len(self.sensors),
            "covered": int(self.sensors["covered"].sum()),
            "buildings": int(S["building_id"].nunique()),
            "added": self.meta["added"],
            "removed": self.meta["removed"],
        }
        for kind, k in S.groupby("kind"):
            b = float((k["before"] * k["area"]).sum())
            a = float((k["after"] * k["area"]).sum())
            out[f"{kind}_before_kwh"] = round(b, 0)
            out[f"{kind}_after_kwh"] = round(a, 0)
            out[f"{kind}_delta_pct"] = round(100 * (a - b) / b, 2) if b > 0 else None
        return plain(out)

    def __repr__(self) -> str:
        s = self.summary()
        parts = [
            f"{k[:-10]} {v:+.2f} %"
            for k, v in s.items()
            if k.endswith("_delta_pct") and v is not None
        ]
        return (
            f"<SolarImpact {s['sensors']:,} sensors on {s['buildings']} neighbours: "
            f"{', '.join(parts)}>"
        )

    def plot(
        self,
        column=None,
        *,
        ax=None,
        kinds=("wall", "roof"),
        cmap=None,
        vmax=None,
        basemap=None,
        title=None,
        lang=None,
        axes="km",
        extent=None,
    ):
        """Top-view map of a sensors column (default ``delta`` [kWh/m²]: blue
        gain, red loss, diverging and centred on 0), the project in orange.

        Parameters
        ----------
        column : str, optional
            Column of :attr:`sensors` (default ``delta``).
        ax : matplotlib Axes, optional
        kinds : sequence of str
            Surface kinds drawn.
        cmap : str, optional
            Colour map (default ``RdBu``).
        vmax : float, optional
            Half range of the colour scale (default: 98th percentile of
            ``|column|``) [kWh/m²].
        basemap : {None, "ign", "osm"}
        title : str, optional
        lang : {"fr", "en"}, optional
        axes : {"km", "hidden"}
        extent : (xmin, ymin, xmax, ymax), optional
            Map extent [m] (default: the sensors drawn, 10 m around).

        Returns
        -------
        matplotlib.axes.Axes
        """
        column = "delta" if column is None else column
        if column not in self.sensors.columns:
            raise InputError(
                f"unknown column {column!r}; sensors have {list(self.sensors.columns)}"
            )
        S = self.sensors[
            self.sensors["kind"].isin(list(kinds)) & ~self.sensors["covered"]
        ]
        S = S.sort_values(column, ascending=False)
        scene = self.after
        if extent is None:
            extent = maps.extent_of(S[["x", "y"]].to_numpy(), pad=10.0)
        ax = maps.start(
            ax, extent, crs=getattr(scene, "crs", None), scene=scene,
            basemap=basemap, lang=lang,
        )
        S = S[maps.points_in(S["x"], S["y"], extent)]
        change = column == "delta"
        v = vmax
        if v is None:
            v = float(np.nanpercentile(np.abs(S[column]), 98)) if len(S) else 1.0
        cm, norm, _ = maps.color_scale(
            "change" if change else "irradiation", S[column], vmax=v if change else vmax,
            cmap=cmap,
        )
        sc = ax.scatter(
            S["x"], S["y"], c=S[column], cmap=cm, norm=norm,
            s=maps.marker_size(ax, 1.5), marker="s", linewidths=0, zorder=maps.Z_DATA,
        )
        legend = []
        if scene is not None:
            B = scene.buildings
            maps.footprints(ax, B, extent, color="0.45", linewidth=0.4)
            legend = _project(ax, B, self.meta["added"], extent, lang)
        maps.colorbar(
            ax, sc, "irradiation", lang=lang,
            label=(
                f"{i18n.term('change', lang)} : {i18n.label('irradiation', lang)}"
                if change else None
            ),
        )
        if title is None:
            head = f"{i18n.term('map_impact', lang)} ({i18n.term('irradiation', lang).lower()})"
            title = maps.title_text(
                head,
                place=maps.place_of(scene, getattr(scene, "crs", None), extent, lang),
                lang=lang,
            )
        return maps.finish(ax, title=title, lang=lang, axes=axes, legend=legend)
