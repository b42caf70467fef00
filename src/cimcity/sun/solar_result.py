"""The result of a solar irradiance study: sensors, building totals, views.

:class:`SolarResult` follows the result protocol of :mod:`cimcity.results`:
its main table is ``sensors`` (one row per sensor), ``tables()`` adds
``buildings`` (:attr:`SolarResult.by_building`) and, for time-series studies,
``timeseries``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import i18n, maps, render
from .._compat import import_optional, renamed_arguments
from ..errors import InputError
from ..results import Result, plain
from .position import direction_vectors

i18n.add_terms(
    {"solar_clear_sky_bound": ("clear sky: upper bound", "ciel clair : borne haute")}
)

__all__ = ["SolarResult"]

#: unit of each plotted sensor column
UNITS = {
    "irradiation": "kWh/m²",
    "direct": "kWh/m²",
    "diffuse": "kWh/m²",
    "reflected": "kWh/m²",
    "sky_view": "-",
}


class SolarResult(Result):
    """Result of :func:`cimcity.solar.irradiance`.

    Attributes
    ----------
    sensors : geopandas.GeoDataFrame
        The main table (:attr:`table`), one row per sensor (3D point geometry): ``x``, ``y``, ``z`` [m],
        ``nx``, ``ny``, ``nz``, ``tilt``, ``azimuth`` [deg], ``kind``,
        ``building_id``, ``area`` [m²], ``face``, ``irradiation`` =
        ``direct`` + ``diffuse`` + ``reflected`` [kWh/m² over the period],
        ``sky_view`` [0-1].
    timeseries : pandas.DataFrame or None
        Irradiance [W/m²], index = weather instants, one column per sensor.
    weather : cimcity.io.weather.Weather
    sun : pandas.DataFrame
        Sun directions at the weather instants (scene grid frame).
    meta : dict
        Settings, weather summary (``upper_bound`` for clear sky), rays traced,
        cache hits, timings, ``grid_north`` [deg].

    Surface kinds (``kind``): ``roof``, ``wall``, ``ground`` (open ground:
    terrain faces) and ``point`` (user points).
    """

    _title = "solar irradiation"

    def __init__(
        self,
        sensors,
        timeseries,
        weather,
        meta,
        mesh=None,
        sensor_mesh=None,
        scene=None,
    ):
        self.sensors = sensors
        self.timeseries = timeseries
        self.weather = weather
        self.meta = meta
        self.mesh = mesh
        self.sensor_mesh = sensor_mesh
        self.scene = scene
        self._by_building = None

    # -- tables ------------------------------------------------------------------------------
    def tables(self) -> dict:
        """``sensors`` (main), ``buildings`` (:attr:`by_building`) and, with
        ``timeseries=True``, ``timeseries`` [W/m²]."""
        out = {"sensors": self.sensors, "buildings": self.by_building}
        if self.timeseries is not None:
            out["timeseries"] = self.timeseries
        return out

    @property
    def sun(self) -> pd.DataFrame:
        """The sun at the weather instants, as traced.

        Index: weather instants; columns ``azimuth`` (true) and
        ``grid_azimuth`` (clockwise from the scene CRS's grid north,
        ``azimuth + meta["grid_north"]``), ``elevation`` (apparent) [deg] and
        ``x``, ``y``, ``z``: unit vector toward the sun in the scene CRS, the
        same vector :func:`cimcity.shadow.sun_table` gives at that instant.
        """
        s = self.weather.data
        north = self.meta.get("grid_north", 0.0)
        v = direction_vectors(s["apparent_elevation"], s["azimuth"], north)
        return pd.DataFrame(
            {
                "azimuth": s["azimuth"].to_numpy(),
                "grid_azimuth": s["azimuth"].to_numpy() + north,
                "elevation": s["apparent_elevation"].to_numpy(),
                "x": v[:, 0],
                "y": v[:, 1],
                "z": v[:, 2],
            },
            index=s.index,
        )

    @property
    def annual_factor(self) -> float:
        """8,760 h / period length: scales period totals to a year."""
        h = self.meta["hours"]
        return 8760.0 / h if h > 0 else np.nan

    @property
    def by_building(self):
        """Per building (index ``building_id``):

        ``roof_area``, ``wall_area`` [m²]; ``roof_irradiation``,
        ``wall_irradiation`` [kWh over the period, Σ irradiation × area];
        ``roof_mean``, ``wall_mean`` [kWh/m²]; ``roof_favourable_area``,
        ``wall_favourable_area`` [m² whose annualised irradiation ≥ the
        threshold]; ``pv_kwp`` (favourable roof area × efficiency, peak power at
        1 kW/m²) and ``pv_kwh`` (favourable roof irradiation × efficiency ×
        performance ratio) [kWh over the period]. A GeoDataFrame with the
        footprints when the scene is known.
        """
        if self._by_building is None:
            self._by_building = self._aggregate()
        return self._by_building

    def _aggregate(self):
        S = self.sensors
        S = S[S["building_id"].notna()]
        thr = self.meta["threshold_kwh_m2_yr"] / self.annual_factor
        eff = self.meta["efficiency"]
        pr = self.meta["performance_ratio"]
        parts = {}
        for kind in ("roof", "wall"):
            k = S[S["kind"] == kind]
            energy = k["irradiation"] * k["area"]
            fav = k["irradiation"] >= thr
            g = (
                pd.DataFrame(
                    {
                        "building_id": k["building_id"],
                        "area": k["area"],
                        "energy": energy,
                        "fav_area": k["area"].where(fav, 0.0),
                        "fav_energy": energy.where(fav, 0.0),
                    }
                )
                .groupby("building_id", sort=False)
                .sum()
            )
            parts[kind] = g
        ids = parts["roof"].index.union(parts["wall"].index)
        out = pd.DataFrame(index=pd.Index(ids, name="building_id"))
        for kind, g in parts.items():
            g = g.reindex(ids).fillna(0.0)
            out[f"{kind}_area"] = g["area"]
            out[f"{kind}_irradiation"] = g["energy"]
            out[f"{kind}_mean"] = (g["energy"] / g["area"]).where(g["area"] > 0)
            out[f"{kind}_favourable_area"] = g["fav_area"]
            if kind == "roof":
                out["pv_kwp"] = g["fav_area"] * eff
                out["pv_kwh"] = g["fav_energy"] * eff * pr
        scene = self.scene
        if scene is not None and hasattr(scene, "buildings") and len(scene.buildings):
            B = scene.buildings
            geom = B.geometry.reindex(out.index)
            out = gpd.GeoDataFrame(out, geometry=geom.values, crs=B.crs)
        return out

    def face_values(self, column: str = "irradiation", mesh=None) -> np.ndarray:
        """Area-weighted mean of a sensor column per face of ``mesh``
        (default: the occluder mesh), NaN on faces without sensors.

        Sensor faces index the sensing mesh (``scene.mesh(terrain=False)``),
        whose faces come first in ``scene.mesh()``.
        """
        mesh = self.mesh if mesh is None else mesh
        S = self.sensors
        f = S["face"].to_numpy()
        ok = f >= 0
        if mesh is None:
            raise InputError("no mesh to map sensor values on")
        if ok.any() and f[ok].max() >= mesh.n_faces:
            raise InputError(
                f"sensor faces go up to {f[ok].max()} but the mesh has {mesh.n_faces} faces"
            )
        a = S["area"].to_numpy()[ok]
        v = S[column].to_numpy(float)[ok]
        num = np.bincount(f[ok], weights=a * v, minlength=mesh.n_faces)
        den = np.bincount(f[ok], weights=a, minlength=mesh.n_faces)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / den, np.nan)

    def best_roofs(self, n: int = 10):
        """The ``n`` buildings with the largest PV estimate (``pv_kwh``)."""
        B = self.by_building
        cols = [
            c
            for c in (
                "roof_area",
                "roof_mean",
                "roof_favourable_area",
                "pv_kwp",
                "pv_kwh",
            )
            if c in B.columns
        ]
        return B.sort_values("pv_kwh", ascending=False)[cols].head(n)

    def summary(self) -> dict:
        """Headline numbers as a plain dict.

        ``sensors``, ``period_hours``, ``weather`` (source), ``upper_bound``
        (clear sky), per surface kind ``<kind>_sensors`` and
        ``<kind>_mean_kwh_m2`` (area-weighted), ``favourable_roof_area_m2``,
        ``pv_kwh`` (when sensors lie on buildings), ``rays_traced`` and
        ``total_s``.
        """
        S = self.sensors
        out = {
            "sensors": len(S),
            "period_hours": self.meta["hours"],
            "weather": self.meta["weather"]["source"],
            "upper_bound": self.meta["upper_bound"],
        }
        for kind in ("roof", "wall", "ground", "point"):
            k = S[S["kind"] == kind]
            if len(k):
                a = k["area"].to_numpy()
                out[f"{kind}_sensors"] = len(k)
                out[f"{kind}_mean_kwh_m2"] = round(
                    float(np.average(k["irradiation"], weights=a))
                    if a.sum() > 0
                    else float(k["irradiation"].mean()),
                    1,
                )
        if len(S) and S["building_id"].notna().any():
            B = self.by_building
            out["favourable_roof_area_m2"] = round(
                float(B["roof_favourable_area"].sum()), 1
            )
            out["pv_kwh"] = round(float(B["pv_kwh"].sum()), 0)
        out["rays_traced"] = self.meta["rays_traced"]
        out["total_s"] = self.meta["timings_s"]["total_s"]
        return plain(out)

    def __repr__(self) -> str:
        s = self.summary()
        ub = " (clear sky: upper bound)" if s["upper_bound"] else ""
        parts = [
            f"{k.split('_')[0]} {v} kWh/m²"
            for k, v in s.items()
            if k.endswith("_mean_kwh_m2")
        ]
        return (
            f"<SolarResult {s['sensors']:,} sensors over {s['period_hours']:g} h, "
            f"{s['weather']}{ub}: mean {', '.join(parts) or '-'}>"
        )

    # -- views and files -----------------------------------------------------------------------
    def plot(
        self,
        column: str | None = None,
        *,
        ax=None,
        kinds=("roof",),
        cmap=None,
        vmin=None,
        vmax=None,
        markersize=None,
        title=None,
        lang=None,
        basemap=None,
        axes="km",
        extent=None,
    ):
        """Top-view map of sensors coloured by ``column`` (see :mod:`cimcity.maps`).

        Parameters
        ----------
        column : str, optional
            Sensor column (default ``irradiation`` [kWh/m²]; ``sky_view``...).
        ax : matplotlib Axes, optional
        kinds : sequence of str or None
            Surface kinds drawn (facades are seen edge-on from above); None:
            all.
        cmap, vmin, vmax : optional
            Colour map (default sequential ``inferno``) and range [column unit].
        markersize : float, optional
            Marker area [points²] (default: squares as wide as the sensors).
        title : str, optional
            Default: quantity, place, period (and "clear sky" for an upper
            bound).
        lang : {"fr", "en"}, optional
            Language of the labels (default: :func:`cimcity.i18n.get_language`).
        basemap : {None, "ign", "osm"}
            Web tiles under the map when a network is there.
        axes : {"km", "hidden"}
        extent : (xmin, ymin, xmax, ymax), optional
            Map extent [m] (default: the sensors drawn, 10 m around).

        Returns
        -------
        matplotlib.axes.Axes
        """
        column = "irradiation" if column is None else column
        S = self.sensors
        if column not in S.columns:
            raise InputError(
                f"unknown column {column!r}; sensors have {list(S.columns)}"
            )
        S = S[S["kind"].isin(list(kinds))] if kinds is not None else S
        S = S.sort_values("z")
        scene = self.scene if hasattr(self.scene, "buildings") else None
        if extent is None:
            extent = maps.extent_of(
                (S if len(S) else self.sensors)[["x", "y"]].to_numpy(), pad=10.0
            )
        ax = maps.start(
            ax, extent, crs=getattr(scene, "crs", None), scene=scene,
            basemap=basemap, lang=lang,
        )
        S = S[maps.points_in(S["x"], S["y"], extent)]
        key = {"irradiation": "irradiation", "sky_view": "sky_view_factor"}.get(column)
        cm, norm, _ = maps.color_scale(
            key or "irradiation", S[column], vmin=vmin, vmax=vmax, cmap=cmap
        )
        if markersize is None:
            side = float(np.sqrt(S["area"].median())) if len(S) else 1.0
            markersize = maps.marker_size(ax, side)
        sc = ax.scatter(
            S["x"], S["y"], c=S[column], s=markersize, cmap=cm, norm=norm,
            marker="s", linewidths=0, zorder=maps.Z_DATA,
        )
        if scene is not None:
            maps.footprints(ax, scene.buildings, extent, color="0.45", linewidth=0.4)
        unit = UNITS.get(column, "").replace("-", "")
        maps.colorbar(ax, sc, key or column, lang=lang, unit=None if key else unit)
        if title is None:
            head = i18n.term(key, lang) if key else column.replace("_", " ")
            place = maps.place_of(scene, getattr(scene, "crs", None), extent, lang)
            w = self.meta.get("weather") or {}
            when = None
            if w.get("start") is not None and w.get("end") is not None:
                when = i18n.format_period(w["start"], w["end"], lang)
            ub = (
                f" ({i18n.term('map_clear_sky', lang)})" if self.meta.get("upper_bound") else ""
            )
            title = head + " — " + ", ".join(p for p in (place, when) if p) + ub
        legend = maps.base_legend(
            scene, extent, lang=lang,
            ground_studied=bool(len(S)) and S["kind"].isin(["ground", "point"]).any(),
        )
        return maps.finish(ax, title=title, lang=lang, axes=axes, legend=legend)

    def render(
        self,
        path=None,
        *,
        column: str = "irradiation",
        camera: str = "iso",
        clim=None,
        title=None,
        cmap="inferno",
        window_size=(1600, 1000),
        lang=None,
    ):
        """3D solar map (PNG, offscreen): one small square per sensor, coloured by
        ``column``, on the scene drawn in neutral colours.

        Parameters
        ----------
        path : str or Path, optional
            Output picture (:data:`cimcity.render.IMAGE_SUFFIXES`: ``.png``,
            ``.jpg``...); None returns the image.
        column : str
            Sensor column (``irradiation`` [kWh/m²], ``sky_view``...).
        camera : str or pyvista camera position
            A view of :func:`cimcity.render.set_camera` (``"iso"``, ``"top"``...).
        clim : (float, float), optional
            Colour range; default: 1st-99th percentiles.
        lang : {"fr", "en"}, optional
            Language of the title and colour bar (default: the package's).

        Returns
        -------
        pathlib.Path, or (h, w, 3) uint8 array when ``path`` is None

        Raises
        ------
        InputError
            A result without a Scene, an unknown column, or a ``path`` whose
            suffix is not a picture's (``.html``: see
            :func:`cimcity.render.to_html`).
        """
        if self.scene is None or not hasattr(self.scene, "mesh"):
            raise InputError("render() needs a result computed on a Scene")
        S = self.sensors
        if column not in S.columns:
            raise InputError(
                f"unknown column {column!r}; sensors have {list(S.columns)}"
            )
        if path is not None:  # checked before any drawing; folders created
            path = render._output(path, render.IMAGE_SUFFIXES, "a picture")
        pv = import_optional("pyvista")
        pv.OFF_SCREEN = True
        mesh = self.scene.mesh()
        pl = pv.Plotter(off_screen=True, window_size=list(window_size))
        pl.set_background("white")
        render.add_scene(pl, self.scene, mesh=mesh)
        quads = _sensor_quads(
            S[["x", "y", "z"]].to_numpy() - mesh.origin,
            S[["nx", "ny", "nz"]].to_numpy(),
            S["area"].to_numpy(),
        )
        v = S[column].to_numpy(float)
        quads.cell_data["value"] = v
        if clim is None and len(v):
            clim = tuple(np.nanpercentile(v, [1, 99]))
        key = {"sky_view": "sky_view_factor"}.get(column, column)
        bar = render.quantity_title(key, lang)
        lo, hi = clim if clim is not None else (0.0, 1.0)
        pl.add_mesh(
            quads,
            scalars="value",
            cmap=cmap,
            clim=clim,
            lighting=False,
            scalar_bar_args=render.legend.bar_arguments(bar, lo, hi),
        )
        if title is None:
            head = bar.split(" (")[0]
            title = f"{head}, {self.meta['hours']:g} h"
            if self.meta["upper_bound"]:
                title += f" ({i18n.term('solar_clear_sky_bound', lang)})"
        pl.add_text(title, position="upper_left", font_size=12, color="black")
        render.set_camera(
            pl, camera, mesh.to_pyvista().bounds, reserve_right=render.legend.BAR_RESERVE
        )
        img = pl.screenshot(None if path is None else str(path), return_img=path is None)
        pl.close()
        return img if path is None else path

    @renamed_arguments(what="layer")
    def to_file(self, path, layer: str | None = None) -> Path:
        """Write a table by suffix (see :meth:`cimcity.results.Result.to_file`).

        A GeoPackage written without ``layer`` holds both the ``sensors`` and
        the ``buildings`` layers (when building totals exist). ``layer`` is
        ``"sensors"``, ``"buildings"`` or ``"timeseries"`` (former ``what=``).
        """
        if layer == "timeseries" and self.timeseries is None:
            raise InputError("no time series: run irradiance(..., timeseries=True)")
        path = super().to_file(path, layer)
        if layer is None and path.suffix.lower() == ".gpkg":
            B = self.by_building
            if len(B) and hasattr(B, "geometry"):
                super().to_file(path, "buildings")
        return path


def _sensor_quads(points, normals, areas):
    """pyvista PolyData of one square per sensor (side ``1.3 sqrt(area)``), lying in
    the sensor's plane with edges horizontal/vertical on walls."""
    pv = import_optional("pyvista")
    n = np.asarray(normals, float)
    up = np.array([0.0, 0.0, 1.0])
    t1 = np.cross(up, n)
    flat = np.linalg.norm(t1, axis=1) < 1e-6
    t1[flat] = [1.0, 0.0, 0.0]
    t1 /= np.linalg.norm(t1, axis=1)[:, None]
    t2 = np.cross(n, t1)
    # 1.3 x: sensors stand for grid cells of 0.67-1.5 spacing a side (see
    # cimcity.sun.sensors.sample); squares this size cover them without visible gaps
    h = 0.65 * np.sqrt(np.asarray(areas, float))[:, None]
    p = np.asarray(points, float)
    corners = np.stack(
        [
            p - h * t1 - h * t2,
            p + h * t1 - h * t2,
            p + h * t1 + h * t2,
            p - h * t1 + h * t2,
        ],
        axis=1,
    ).reshape(-1, 3)
    k = len(p)
    cells = np.column_stack([np.full(k, 4), np.arange(4 * k).reshape(k, 4)]).ravel()
    return pv.PolyData(corners, cells)


def study_meta(w, comp, tr, inputs, sky_p, sun_grid, timings, settings, where):
    """Settings, weather summary, tracing counts and timings of a study."""
    sky, direct, albedo = settings["sky"], settings["direct"], settings["albedo"]
    threshold, trees = settings["threshold"], settings["trees"]
    efficiency = settings["efficiency"]
    performance_ratio = settings["performance_ratio"]
    engine_name = settings["engine"]
    lat, lon, alt, north = where
    mesh, n = inputs.mesh, len(inputs.sensors)
    meta = {
        "weather": w.summary(),
        "upper_bound": w.upper_bound,
        "sky": sky,
        "patches": sky_p.name,
        "n_patches": len(sky_p),
        "direct": direct,
        "sun_bins": sun_grid.name if direct == "binned" else None,
        "sun_bins_used": int(len(tr.used)) if direct == "binned" else None,
        "albedo": albedo,
        "wall_albedo": settings.get("wall_albedo"),
        "threshold_kwh_m2_yr": threshold,
        "efficiency": efficiency,
        "performance_ratio": performance_ratio,
        "engine": engine_name,
        "occluders": inputs.label + (" + trees" if trees else ""),
        "trees": bool(trees),
        "tree_faces": int(inputs.tree_faces),
        "transmissivity": 0.0,
        "mesh_faces": int(mesh.n_faces),
        "sensors": n,
        "unique_normals": len(tr.un),
        "rays_traced": int(tr.rays),
        "cache_hit": tr.cache_hit,
        "location": (lat, lon, alt),
        "grid_north": north,
        "hours": len(comp) * comp.interval,
        "components_kwh_m2": comp.totals(),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    return meta
