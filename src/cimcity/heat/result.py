"""TmrtResult: mean radiant temperature and directional fluxes at person points."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import i18n
from ..errors import InputError
from ..results import FILE_FORMATS, Result, plain, write_geotiff
from .model import FLUX_COLUMNS

__all__ = ["TmrtResult"]

i18n.add_terms(
    {
        "tmrt": ("Mean radiant temperature", "Température moyenne radiante"),
        "tmrt_mean": ("Mean radiant temperature, period mean",
                      "Température moyenne radiante, moyenne de la période"),
        "tmrt_max": ("Mean radiant temperature, hottest hour",
                     "Température moyenne radiante, heure la plus chaude"),
        "heat_svf": ("Sky view factor", "Facteur de vue du ciel"),
        "heat_sun_hours": ("Hours in the sun", "Heures au soleil"),
    },
    units={"tmrt": "°C", "tmrt_mean": "°C", "tmrt_max": "°C", "heat_svf": "",
           "heat_sun_hours": "h"},
)

#: grid layers :meth:`TmrtResult.to_file` writes as GeoTIFF
GRID_LAYERS = ("tmrt_mean", "tmrt_max", "svf", "sun_hours")
_LABELS = {"tmrt_mean": "tmrt_mean", "tmrt_max": "tmrt_max", "svf": "heat_svf",
           "sun_hours": "heat_sun_hours"}


class TmrtResult(Result):
    """Mean radiant temperature (Tmrt) at person points, hourly.

    Attributes
    ----------
    points : geopandas.GeoDataFrame
        One row per point (index ``point_id``): ``geometry`` (ground point),
        ``z`` (ground [m]), ``svf`` [-], ``tmrt_mean``, ``tmrt_max`` [°C],
        ``time_max``, ``sun_hours`` [h], and the period means of the twelve
        fluxes ``Kdown … Lw`` [W/m²].
    timeseries : pandas.DataFrame or None
        Tmrt [°C], index = the weather's times, one column per point
        (``timeseries=True``).
    tmrt_array : (T, n) float32 or None
    sun_array : (T, n) float32 or None
        Sun fraction at each point (0 shade, ``τ`` under canopy, 1 sun).
    flux_array : (T, n, 12) float32 or None
        ``Kdown Kup Kn Ke Ks Kw Ldown Lup Ln Le Ls Lw`` [W/m²].
    met : cimcity.heat.Met
        The weather used (its ``air`` has the same index as ``timeseries``).
    points_xyz : (n, 3) float64
        Person positions (body centre) [m].
    """

    _title = "Tmrt"

    def __init__(self, points, run, met, *, xyz, grid=None, meta=None):
        self.points = points
        self.met = met
        self.points_xyz = xyz
        self._run = run
        self._grid = grid  # (shape, transform, crs, flat cell index of each point)
        self.meta = dict(meta or {})
        self.tmrt_array = run.tmrt
        self.flux_array = run.fluxes
        self.sun_array = run.sun

    # -- tables --------------------------------------------------------------------
    @property
    def timeseries(self):
        if self.tmrt_array is None:
            return None
        return pd.DataFrame(self.tmrt_array, index=self.met.times,
                            columns=self.points.index)

    def tables(self) -> dict:
        return {"points": self.points, "times": self.times_table()}

    def times_table(self) -> pd.DataFrame:
        """One row per step: air temperature, sky longwave and (with
        ``timeseries=True``) Tmrt mean, min and max over the points [°C]."""
        t = pd.DataFrame(index=self.met.times)
        t.index.name = "time"
        t["temp_air"] = self.met.air["temp_air"].to_numpy()
        t["sky_longwave"] = self._run.sky_lw
        t["clearness"] = self._run.clearness
        if self.tmrt_array is not None:
            a = self.tmrt_array
            t["tmrt_mean"] = a.mean(axis=1)
            t["tmrt_min"] = a.min(axis=1)
            t["tmrt_max"] = a.max(axis=1)
        return t

    def _step(self, time) -> int:
        """Index of the step nearest ``time`` (naive: the weather's zone)."""
        t = pd.Timestamp(time)
        if t.tzinfo is None:
            t = t.tz_localize(self.met.times.tz)
        return int(self.met.times.get_indexer([t], method="nearest")[0])

    def fluxes(self, point=None, time=None) -> pd.DataFrame:
        """The twelve directional fluxes [W/m²].

        Parameters
        ----------
        point : point id, optional
            One point: rows are the times.
        time : timestamp, optional
            One time: rows are the points.
        Neither: period means, one row per point.
        """
        cols = list(FLUX_COLUMNS)
        if point is None and time is None:
            return self.points[cols].copy()
        if self.flux_array is None:
            raise InputError(
                "hourly fluxes are kept with timeseries=True; call "
                "cimcity.heat.tmrt(..., timeseries=True)"
            )
        if point is not None:
            if point not in self.points.index:
                raise InputError(f"unknown point {point!r}; points are {self.points.index[:5].tolist()}…")
            j = self.points.index.get_loc(point)
            out = pd.DataFrame(self.flux_array[:, j, :], index=self.met.times, columns=cols)
            out["tmrt"] = self.tmrt_array[:, j]
            return out if time is None else out.iloc[[self._step(time)]]
        i = self._step(time)
        out = pd.DataFrame(self.flux_array[i], index=self.points.index, columns=cols)
        out["tmrt"] = self.tmrt_array[i]
        return out

    def summary(self) -> dict:
        p = self.points
        i = int(np.nanargmax(p["tmrt_max"].to_numpy())) if len(p) else None
        return plain({
            "points": len(p),
            "steps": len(self.met.times),
            "start": str(self.met.times[0]) if len(self.met.times) else None,
            "end": str(self.met.times[-1]) if len(self.met.times) else None,
            "method": self.meta.get("method"),
            "tmrt_mean_c": float(p["tmrt_mean"].mean()) if len(p) else None,
            "tmrt_max_c": float(p["tmrt_max"].max()) if len(p) else None,
            "hottest_time": str(p["time_max"].iloc[i]) if i is not None else None,
            "temp_air_max_c": float(self.met.air["temp_air"].max()),
            "svf_mean": float(p["svf"].mean()) if len(p) else None,
            "sky_longwave": self._run.sky_lw_how,
        })

    # -- grids ---------------------------------------------------------------------
    @property
    def grid_spec(self):
        """``(shape, transform, crs, cells)`` of the grid the points were laid
        on (``cells``: flat index of each point's cell), or None for given
        points."""
        return self._grid

    def grid(self, column="tmrt_max") -> np.ndarray:
        """A column of :attr:`points` on the grid the points were laid on
        (NaN off the points, e.g. on buildings)."""
        if self._grid is None:
            raise InputError(
                "these Tmrt points are not a grid (points= was given); write a "
                "table (.gpkg, .csv) instead"
            )
        shape, _, _, cells = self._grid
        if column.startswith("tmrt@"):
            if self.tmrt_array is None:
                raise InputError("hourly grids need timeseries=True")
            i = self._step(column[5:])
            values = self.tmrt_array[i]
        elif column in self.points.columns:
            values = self.points[column].to_numpy(float)
        else:
            raise InputError(
                f"unknown grid layer {column!r}; expected one of {GRID_LAYERS} or "
                f"'tmrt@<time>'"
            )
        out = np.full(shape[0] * shape[1], np.nan)
        out[cells] = values
        return out.reshape(shape)

    def to_file(self, path, layer=None):
        from pathlib import Path

        path = Path(path)
        if FILE_FORMATS.get(path.suffix.lower()) == "GeoTIFF":
            if self._grid is None:
                return super().to_file(path, layer)
            _, transform, crs, _ = self._grid
            path.parent.mkdir(parents=True, exist_ok=True)
            return write_geotiff(path, self.grid(layer or "tmrt_max"), transform, crs)
        return super().to_file(path, layer)

    def _raster(self):
        if self._grid is None:
            return None
        _, transform, crs, _ = self._grid
        return self.grid("tmrt_max"), transform, crs, np.nan

    # -- views ---------------------------------------------------------------------
    def plot(self, column=None, *, ax=None, lang=None, cmap="RdYlBu_r", **kwargs):
        """Map of ``column`` (grid image or coloured points) with a colour bar.

        Parameters
        ----------
        column : str, optional
            ``"tmrt_max"`` (default), ``"tmrt_mean"``, ``"svf"``, ``"sun_hours"``
            or ``"tmrt@<time>"`` (one hour, ``timeseries=True``).
        ax : matplotlib Axes, optional
        lang : {"fr", "en"}, optional
        """
        import matplotlib.pyplot as plt

        column = column or "tmrt_max"
        own = ax is None
        if own:
            _, ax = plt.subplots(figsize=(8, 6))
        key = _LABELS.get(column, "tmrt" if column.startswith("tmrt@") else column)
        known = key in _LABELS.values() or key == "tmrt"
        title = i18n.term(key, lang) if known else column
        unit = i18n.unit(key, lang) if known else ""
        if column.startswith("tmrt@"):
            title = f"{title} — {self.met.times[self._step(column[5:])]:%Y-%m-%d %H:%M}"
        cmap = cmap if column.startswith("tmrt") else "viridis"
        if self._grid is not None:
            shape, t, _, _ = self._grid
            g = self.grid(column)
            x0, y1 = t.c, t.f
            x1, y0 = t.c + t.a * shape[1], t.f + t.e * shape[0]
            im = ax.imshow(g, extent=(x0, x1, y0, y1), cmap=cmap, **kwargs)
        else:
            x, y = self.points.geometry.x, self.points.geometry.y
            im = ax.scatter(x, y, c=self.points[column], cmap=cmap, s=kwargs.pop("s", 20), **kwargs)
        from matplotlib.ticker import MaxNLocator

        ax.figure.colorbar(im, ax=ax, label=unit, shrink=0.8)
        ax.set_aspect("equal")
        ax.set_title(title)
        ax.ticklabel_format(useOffset=False, style="plain")
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_major_locator(MaxNLocator(5))
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m)")
        if own:
            ax.figure.tight_layout()
        return ax

    def render(self, path=None, column="tmrt_max", *, scene=None, lang=None, **kwargs):
        """3D view: the points as coloured dots on the ground over the scene
        mesh (when ``scene`` is given), with pyvista; writes a PNG when
        ``path`` is given, else returns the plotter.

        Parameters
        ----------
        path : str or Path, optional
            PNG file.
        column : str
            A column of :attr:`points` (``"tmrt_max"``, ``"tmrt_mean"``, ``"svf"``…).
        scene : cimcity.Scene, optional
            Drawn in grey under the points.
        lang : {"fr", "en"}, optional
        """
        import pyvista as pv

        column = column or "tmrt_max"
        key = _LABELS.get(column, column)
        title = i18n.label(key, lang) if key in _LABELS.values() else column
        pl = pv.Plotter(off_screen=path is not None, window_size=kwargs.pop("window_size", (1200, 900)))
        if scene is not None:
            pl.add_mesh(scene.mesh().to_pyvista(world=True), color="lightgrey")
        ground = self.points_xyz.copy()
        ground[:, 2] = self.points["z"].to_numpy(float) + 0.3
        cloud = pv.PolyData(ground)
        cloud[title] = self.points[column].to_numpy(float)
        cmap = "RdYlBu_r" if column.startswith("tmrt") else "viridis"
        pl.add_mesh(cloud, scalars=title, cmap=cmap, point_size=kwargs.pop("point_size", 6),
                    render_points_as_spheres=True)
        if path is not None:
            pl.screenshot(str(path))
            pl.close()
            return path
        return pl
