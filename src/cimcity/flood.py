"""Flood extent and per-building exposure from a DEM and a water level.

A static ("planar") flood model: water stands at a given level, scalar or
varying along a river, and floods the ground below it that is hydraulically
connected to the sources (the river). This is how flood-risk maps (PPRI,
TRI) are first sketched from a reference level, and what crisis teams need to
know fast: which areas, buildings, storeys and basements are under water at a
given gauge reading, and how that changes with the level.

Levels are altitudes in the vertical datum of the DEM (NGF-IGN69 in France);
gauge readings are converted with the gauge zero (Paris-Austerlitz: 25.92 m
NGF-IGN69, so the 1910 flood, 8.62 m at the gauge, stood at 34.54 m).

Main functions
--------------
:func:`extent`
    Flooded cells, depths, polygons and volume (:class:`FloodResult`).
:func:`exposure`
    Per building ground level, water depth, flooded storeys and basements,
    with per-parcel and per-zone summaries (:class:`ExposureResult`).
:func:`sweep`
    Flooded area, volume and exposed buildings for a series of levels.
:func:`gauge_level`, :func:`scenario`, :class:`LevelProfile`
    Levels from a gauge reading, a historic flood, or a profile along a river.

Not modelled: dynamics (flow, duration), levees failing, sewer backflow,
groundwater rise; a building "flooded" here is one the water reaches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from .errors import CRSError, GeometryError, InputError
from .waterlevel import (
    GAUGES,
    HISTORIC_FLOODS,
    Gauge,
    Level,
    LevelProfile,
    _finite_float,
    _resolve_level,
    gauge_level,
    scenario,
)

__all__ = [
    "GAUGES",
    "HISTORIC_FLOODS",
    "Gauge",
    "Level",
    "LevelProfile",
    "FloodResult",
    "ExposureResult",
    "gauge_level",
    "scenario",
    "extent",
    "exposure",
    "sweep",
    "plot_sweep",
    "spill_levels",
]

#: water surface exactly at a floor does not flood it: floors must be at least
#: this much below the water to count as flooded [m]
LEVEL_TOL = 1e-6
#: BIM storeys whose elevation is this far below the ground level are basements [m]
BASEMENT_TOL = 0.5
#: default ring around footprints where the ground level is read [m]
DEFAULT_RING = (1.0, 3.0)
#: number of offsets sampled across the ring
RING_OFFSETS = 3


# -- sources ---------------------------------------------------------------------------
def _seed_cells(terrain, sources):
    """(rows, cols) int64 arrays of the source cells on the terrain grid."""
    z = terrain.elevation
    rows, cols = z.shape
    if sources is None or (
        isinstance(sources, str) and sources in ("lowest", "border")
    ):
        from ._kernels import flood as K

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
                f"{tuple(np.round(terrain.bounds, 1))})"
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
            f"the flood sources (bounds {tuple(np.round(shapely.total_bounds(geoms), 1))}) "
            f"do not touch the DEM (bounds {tuple(np.round(terrain.bounds, 1))}); are they "
            f"in the DEM's CRS {terrain.crs.to_string()}?"
        )
    return r.astype(np.int64), c.astype(np.int64)


def _as_geometries(obj, crs, what) -> np.ndarray:
    """Geometries from shapely objects or GeoPandas, reprojected to ``crs``."""
    if hasattr(obj, "geometry") and hasattr(obj, "crs"):
        from .crs import to_crs

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


# -- extent ----------------------------------------------------------------------------
@dataclass(eq=False)
class FloodResult:
    """Flooded cells and depths on the DEM grid.

    Attributes
    ----------
    terrain : Terrain
        The DEM the flood was computed on.
    depth : (rows, cols) float64
        Water depth [m] (> 0) on flooded cells, NaN where dry.
    level : float or None
        Scalar water level [m]; None when the level varies (profile / grid).
    levels : (rows, cols) float64 or None
        Per-cell water level [m] for a profile or grid level.
    mode : {"connected", "bathtub"}
    connectivity : {4, 8}
    vertical_datum : str
        Datum of the levels and depths (the DEM's).
    level_info : float, Level, LevelProfile or str
        The level as given (with gauge / scenario provenance when known).
    n_sources : int
        Source cells on the grid.
    """

    terrain: object
    depth: np.ndarray
    level: float | None
    levels: np.ndarray | None
    mode: str
    connectivity: int
    vertical_datum: str
    level_info: object = None
    n_sources: int = 0
    n_cells: int = 0
    depth_sum: float = 0.0
    _runs: tuple | None = field(default=None, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    # -- grids ----------------------------------------------------------------------
    @property
    def wet(self) -> np.ndarray:
        """(rows, cols) bool, flooded cells."""
        if "wet" not in self._cache:
            self._cache["wet"] = np.isfinite(self.depth)
        return self._cache["wet"]

    @property
    def connected(self) -> np.ndarray:
        """(rows, cols) bool, flooded cells connected to the sources (equal to
        :attr:`wet` in connected mode)."""
        if self.mode == "connected":
            return self.wet
        if "connected" not in self._cache:
            from ._kernels import flood as K

            rp, st, en, reached = self._runs
            out = np.empty(self.depth.shape, np.bool_)
            K.paint_mask(out.shape[0], out.shape[1], rp, st, en, reached, out)
            self._cache["connected"] = out
        return self._cache["connected"]

    @property
    def water_surface(self) -> np.ndarray:
        """(rows, cols) float64 altitude of the water surface [m], NaN where dry."""
        return self.terrain.elevation + self.depth

    # -- numbers --------------------------------------------------------------------
    @property
    def cell_area(self) -> float:
        return self.terrain.cell_area

    @property
    def area(self) -> float:
        """Flooded area [m²]."""
        return self.n_cells * self.cell_area

    @property
    def volume(self) -> float:
        """Water volume above the ground [m³] (sum of depth × cell area)."""
        return self.depth_sum * self.cell_area

    @property
    def connected_area(self) -> float:
        """Flooded area connected to the sources [m²]."""
        if self.mode == "connected":
            return self.area
        return float(self.connected.sum()) * self.cell_area

    @property
    def disconnected_area(self) -> float:
        """Area below the level but not connected (bathtub mode only) [m²]."""
        return self.area - self.connected_area

    @property
    def max_depth(self) -> float:
        """Largest water depth [m] (0 when nothing floods)."""
        return float(np.nanmax(self.depth)) if self.n_cells else 0.0

    @property
    def mean_depth(self) -> float:
        """Mean water depth over the flooded cells [m] (0 when nothing floods)."""
        return self.depth_sum / self.n_cells if self.n_cells else 0.0

    def summary(self) -> dict:
        """Key numbers as a plain dict (levels and depths in metres, areas in m²,
        volume in m³)."""
        info = self.level_info
        out = {
            "level_m": self.level,
            "level": (
                info.label()
                if isinstance(info, Level)
                else f"{self.level:.2f} m"
                if self.level is not None
                else repr(info)
            ),
            "vertical_datum": self.vertical_datum,
            "mode": self.mode,
            "connectivity": self.connectivity,
            "flooded_area_m2": round(self.area, 2),
            "volume_m3": round(self.volume, 2),
            "max_depth_m": round(self.max_depth, 3),
            "mean_depth_m": round(self.mean_depth, 3),
            "flooded_cells": int(self.n_cells),
            "source_cells": int(self.n_sources),
        }
        if self.mode == "bathtub":
            out["connected_area_m2"] = round(self.connected_area, 2)
            out["disconnected_area_m2"] = round(self.disconnected_area, 2)
        return out

    def __repr__(self) -> str:
        lv = (
            self.level_info.label()
            if isinstance(self.level_info, Level)
            else f"{self.level:.2f} m"
            if self.level is not None
            else repr(self.level_info)
        )
        return (
            f"<FloodResult {self.mode} at {lv} ({self.vertical_datum}): "
            f"{self.area:,.0f} m² flooded, {self.volume:,.0f} m³, "
            f"max depth {self.max_depth:.2f} m>"
        )

    # -- polygons -------------------------------------------------------------------
    @property
    def polygons(self):
        """Flooded areas as polygons, one row per connected water body.

        Returns
        -------
        GeoDataFrame
            Columns ``area`` [m²], ``volume`` [m³], ``max_depth``,
            ``mean_depth`` [m], ``connected`` (bool: reached from the
            sources), geometry (Polygon / MultiPolygon of whole cells) in the
            DEM CRS; index ``water_body``. Cells touching only diagonally
            belong to the same body under 8-connectivity.
        """
        if "polygons" not in self._cache:
            self._cache["polygons"] = self._polygonize()
        return self._cache["polygons"]

    def _polygonize(self):
        import geopandas as gpd
        from rasterio import features
        from scipy import ndimage

        wet = self.wet
        structure = np.ones((3, 3), bool) if self.connectivity == 8 else None
        labels, n = ndimage.label(wet, structure=structure)
        cols = ["area", "volume", "max_depth", "mean_depth", "connected"]
        if n == 0:
            gdf = gpd.GeoDataFrame(
                {c: pd.Series([], dtype=float) for c in cols[:-1]}
                | {"connected": pd.Series([], dtype=bool)},
                geometry=gpd.GeoSeries([], crs=self.terrain.crs),
                crs=self.terrain.crs,
            )
            gdf.index.name = "water_body"
            return gdf
        flat = labels.ravel()
        cells = np.bincount(flat, minlength=n + 1)[1:]
        d = np.where(wet, self.depth, 0.0).ravel()
        dsum = np.bincount(flat, weights=d, minlength=n + 1)[1:]
        ids = np.arange(1, n + 1)
        dmax = np.asarray(ndimage.maximum(d.reshape(wet.shape), labels, ids), float)
        if self.mode == "connected":
            conn = np.ones(n, bool)
        else:
            conn = np.asarray(ndimage.maximum(self.connected, labels, ids)) > 0
        polys, vals = [], []
        for geom, v in features.shapes(
            labels, mask=wet, connectivity=4, transform=self.terrain.transform
        ):
            polys.append(shapely.geometry.shape(geom))
            vals.append(int(v))
        polys = np.asarray(polys, dtype=object)
        vals = np.asarray(vals) - 1
        order = np.argsort(vals, kind="stable")
        geoms = shapely.multipolygons(polys[order], indices=vals[order])
        single = shapely.get_num_geometries(geoms) == 1
        geoms[single] = shapely.get_geometry(geoms[single], 0)
        ca = self.cell_area
        gdf = gpd.GeoDataFrame(
            {
                "area": cells * ca,
                "volume": dsum * ca,
                "max_depth": dmax,
                "mean_depth": dsum / cells,
                "connected": conn,
            },
            geometry=geoms,
            crs=self.terrain.crs,
            index=pd.Index(ids, name="water_body"),
        )
        return gdf

    # -- output ---------------------------------------------------------------------
    def to_file(self, path, layer: str = "flood"):
        """Write the depth raster (``.tif``) or the polygons (``.gpkg``,
        ``.geojson``, ``.shp``, ``.parquet``).

        The GeoTIFF is float32 with NaN as nodata and tags for the level,
        datum and mode.

        Returns
        -------
        pathlib.Path
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        suffix = path.suffix.lower()
        if suffix in (".tif", ".tiff"):
            import rasterio

            with rasterio.open(
                path,
                "w",
                driver="GTiff",
                height=self.depth.shape[0],
                width=self.depth.shape[1],
                count=1,
                dtype="float32",
                crs=self.terrain.crs.to_wkt(),
                transform=self.terrain.transform,
                nodata=float("nan"),
                compress="deflate",
            ) as ds:
                ds.write(self.depth.astype(np.float32), 1)
                ds.update_tags(
                    units="m",
                    quantity="water depth",
                    mode=self.mode,
                    vertical_datum=str(self.vertical_datum),
                    level=str(self.summary()["level"]),
                )
            return path
        if suffix == ".parquet":
            self.polygons.to_parquet(path)
            return path
        if suffix in (".gpkg", ".geojson", ".json", ".shp", ".fgb"):
            kw = {"layer": layer} if suffix == ".gpkg" else {}
            self.polygons.reset_index().to_file(path, **kw)
            return path
        raise InputError(
            f"cannot write a flood to {path.name!r}; use .tif (depth raster) or "
            f".gpkg/.geojson/.shp/.parquet (polygons)"
        )

    def plot(
        self,
        ax=None,
        scene=None,
        exposure=None,
        hillshade: bool = True,
        cmap=None,
        vmax: float | None = None,
        title: str | None = None,
    ):
        """2D map: shaded terrain, water depth, and optionally buildings.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        scene : Scene, optional
            Draws building outlines.
        exposure : ExposureResult, optional
            Fills buildings by flooded storeys (dry ones in white).
        hillshade : bool
            Shade the terrain (else grey elevation).
        cmap : matplotlib colormap or name, optional
            Depth colours (default: light to dark blue).
        vmax : float, optional
            Upper bound of the depth colour scale [m].

        Returns
        -------
        matplotlib Axes
        """
        from ._compat import import_optional

        plt = import_optional("matplotlib.pyplot")
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 7))
        t = self.terrain
        minx, miny, maxx, maxy = t.bounds
        ext = (minx, maxx, miny, maxy)
        z = t.elevation
        if hillshade:
            gy, gx = np.gradient(
                np.where(np.isfinite(z), z, np.nanmean(z)), *t.resolution[::-1]
            )
            # light from the north-west, 45 degrees up
            shade = (-gx * -0.5 + gy * 0.5 + 1.0) / np.sqrt(gx**2 + gy**2 + 1.0)
            ax.imshow(
                shade,
                extent=ext,
                cmap="gray",
                vmin=0,
                vmax=1.4,
                interpolation="nearest",
            )
            im0 = ax.imshow(
                z, extent=ext, cmap="terrain", alpha=0.35, interpolation="nearest"
            )
        else:
            im0 = ax.imshow(z, extent=ext, cmap="gray", interpolation="nearest")
        del im0
        d = np.ma.masked_invalid(self.depth)
        im = ax.imshow(
            d,
            extent=ext,
            cmap=cmap or _water_cmap(),
            vmin=0,
            vmax=vmax or max(self.max_depth, 0.1),
            interpolation="nearest",
        )
        plt.colorbar(im, ax=ax, shrink=0.75, label="water depth [m]")
        if exposure is not None:
            self._plot_buildings(ax, exposure.buildings, plt)
        elif scene is not None and len(scene.buildings):
            scene.buildings.boundary.plot(ax=ax, color="0.25", linewidth=0.5)
        ax.set_xlim(minx, maxx)
        ax.set_ylim(miny, maxy)
        ax.set_aspect("equal")
        ax.ticklabel_format(useOffset=False, style="plain")
        ax.tick_params(axis="x", labelrotation=30)
        ax.set_xlabel(f"x [m] ({t.crs.to_string()})")
        ax.set_ylabel("y [m]")
        if title is None:
            s = self.summary()
            title = (
                f"Flood {s['level']} — {self.area / 1e4:.2f} ha, {self.volume:,.0f} m³"
            )
        ax.set_title(title, fontsize=10)
        return ax

    @staticmethod
    def _plot_buildings(ax, B, plt):
        """Dry buildings in white; reached ones by flooded storeys (discrete)."""
        from matplotlib import colors

        if not len(B):
            return
        fl = B["flooded"].to_numpy(bool)
        if (~fl).any():
            B[~fl].plot(ax=ax, facecolor="white", edgecolor="0.35", linewidth=0.4)
        if not fl.any():
            return
        fs = B["flooded_storeys"].to_numpy(int)
        top = max(1, int(fs[fl].max()))
        cmap = plt.get_cmap("OrRd", top + 2)
        cmap = colors.ListedColormap(cmap(np.arange(1, top + 2)))
        norm = colors.BoundaryNorm(np.arange(-0.5, top + 1.5), cmap.N)
        B[fl].plot(ax=ax, color=cmap(norm(fs[fl])), edgecolor="0.25", linewidth=0.4)
        sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
        cb = plt.colorbar(sm, ax=ax, shrink=0.75, ticks=np.arange(0, top + 1))
        cb.set_label("flooded storeys (buildings reached)")

    def render(
        self,
        path,
        scene=None,
        exposure=None,
        camera: str = "iso",
        window_size=(1600, 1000),
        title: str | None = None,
    ):
        """Offscreen 3D view (PNG): the scene, and the water surface coloured by
        depth; buildings coloured by flooded storeys when ``exposure`` is given.

        Parameters
        ----------
        path : str or Path, output PNG
        scene : Scene, optional (default: the terrain alone)
        exposure : ExposureResult, optional

        Returns
        -------
        pathlib.Path
        """
        from . import render as R
        from .mesh import terrain_mesh

        pv = R._pv()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        pl = pv.Plotter(off_screen=True, window_size=list(window_size))
        pl.set_background(R.PALETTE["background"])
        if scene is not None:
            mesh = scene.mesh()
            fv = None
            if exposure is not None and mesh.n_faces:
                fs = exposure.buildings["flooded_storeys"].reindex(mesh.building_ids)
                per_b = fs.to_numpy(float)
                per_b[per_b <= 0] = np.nan
                fv = np.full(mesh.n_faces, np.nan)
                ok = mesh.face_building >= 0
                fv[ok] = per_b[mesh.face_building[ok]]
                if not np.isfinite(fv).any():
                    fv = None
            R.add_scene(
                pl,
                scene,
                mesh=mesh,
                face_values=fv,
                cmap="OrRd",
                clim=(0, max(1.0, np.nanmax(fv))) if fv is not None else None,
                scalar_title="flooded storeys",
            )
            origin = mesh.origin
        else:
            tm = terrain_mesh(
                self.terrain, step=max(1, int(np.ceil(max(self.terrain.shape) / 1000)))
            )
            origin = tm.origin
            tp = tm.to_pyvista()
            pl.add_mesh(tp, color=R.PALETTE["terrain"])
            mesh = tm
        water = self._water_mesh(origin)
        if water is not None:
            pl.add_mesh(
                water,
                scalars="depth",
                cmap=_water_cmap(),
                clim=(0, max(self.max_depth, 0.1)),
                opacity=0.85,
                scalar_bar_args={
                    "title": "water depth [m]",
                    "vertical": True,
                    "position_x": 0.05,
                    "position_y": 0.15,
                    "height": 0.6,
                },
            )
        s = self.summary()
        pl.add_text(
            title or f"Flood {s['level']}",
            position="upper_left",
            font_size=12,
            color="black",
        )
        b = mesh.to_pyvista().bounds if mesh.n_faces else water.bounds
        R.set_camera(pl, camera, b)
        pl.screenshot(str(path))
        pl.close()
        return path

    def _water_mesh(self, origin):
        """Water surface as a pyvista mesh (local coordinates) or None."""
        from ._compat import import_optional

        pv = import_optional("pyvista")
        wet = self.wet
        if not wet.any():
            return None
        step = max(1, int(np.ceil(max(wet.shape) / 1000)))
        ws = self.water_surface[::step, ::step]
        x, y = self.terrain.cell_centers()
        x, y = x[::step], y[::step]
        rows, cols = ws.shape
        X, Y = np.meshgrid(x - origin[0], y - origin[1])
        verts = np.column_stack([X.ravel(), Y.ravel(), (ws - origin[2]).ravel()])
        dep = self.depth[::step, ::step].ravel()
        r, c = np.meshgrid(np.arange(rows - 1), np.arange(cols - 1), indexing="ij")
        v00 = (r * cols + c).ravel()
        quads = np.column_stack([v00, v00 + cols, v00 + cols + 1, v00 + 1])
        ok = np.isfinite(verts[quads, 2]).sum(axis=1) >= 3
        quads = quads[ok]
        if not len(quads):
            return None
        # a quad with one dry corner is drawn as the triangle of its wet corners
        tri_list = []
        for a, b, cc in ((0, 1, 2), (0, 2, 3)):
            t = quads[:, [a, b, cc]]
            tri_list.append(t[np.isfinite(verts[t, 2]).all(axis=1)])
        for a, b, cc in ((0, 1, 3), (1, 2, 3)):
            t = quads[:, [a, b, cc]]
            full = np.isfinite(verts[quads, 2]).all(axis=1)
            t = t[~full]
            tri_list.append(t[np.isfinite(verts[t, 2]).all(axis=1)])
        tris = np.concatenate(tri_list)
        v = verts.copy()
        v[:, 2] = np.nan_to_num(v[:, 2])
        poly = pv.PolyData(v, np.hstack([np.full((len(tris), 1), 3), tris]).ravel())
        poly.point_data["depth"] = np.nan_to_num(dep)
        return poly.clean()


def _water_cmap():
    """Blues that start at a visible light blue (shallow water must not look
    like dry ground)."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list(
        "cimcity_water", ["#b7d4ea", "#6baed6", "#2171b5", "#08306b"]
    )


def extent(
    terrain, level, sources=None, connectivity: int = 8, mode: str = "connected"
) -> FloodResult:
    """Flooded area and water depths for a water level on a DEM.

    In ``"connected"`` mode a cell floods when its ground is strictly below the
    water level **and** it is reached from a source through cells that are
    also below the level (so a pit behind a levee stays dry). ``"bathtub"``
    mode floods every cell below the level; :attr:`FloodResult.connected`
    and the ``connected`` column of the polygons tell which areas the sources
    reach. Nodata cells never flood and never connect.

    Parameters
    ----------
    terrain : Terrain
        DEM (rows, cols) [m]; NaN = nodata.
    level : float, Level, LevelProfile or (rows, cols) array
        Water level [m, in the DEM's vertical datum]: one altitude, a gauge
        reading (:func:`gauge_level`, :func:`scenario`), a profile along the
        river (each cell takes the level of its nearest river point), or a
        grid of per-cell levels (NaN: no water).
    sources : optional
        Where the water comes from: ``None``/``"lowest"`` (the lowest cells on
        the edge of the data, i.e. where a river leaves the DEM; the edge is
        the grid border plus valid cells next to nodata), ``"border"`` (every
        edge cell), a river polygon or line, points (shapely, GeoSeries /
        GeoDataFrame, reprojected when needed, or an (n, 2) array of x, y [m]),
        or a boolean grid of the DEM's shape. Source cells flood only when
        they are below the level themselves.
    connectivity : {8, 4}
        Cells touching by a corner connect with 8, only by a side with 4.
    mode : {"connected", "bathtub"}

    Returns
    -------
    FloodResult
        ``.depth`` (rows, cols) [m] NaN where dry, ``.area`` [m²],
        ``.volume`` [m³], ``.polygons`` (GeoDataFrame), ``.plot()``,
        ``.to_file()``.

    Examples
    --------
    >>> import cimcity as cc
    >>> scene = cc.datasets.load("paris")
    >>> f = cc.flood.extent(scene.terrain, cc.flood.scenario("1910"))  # doctest: +SKIP
    >>> f.area, f.volume  # doctest: +SKIP
    """
    from ._kernels import flood as K
    from .terrain import Terrain

    if not isinstance(terrain, Terrain):
        raise InputError(
            f"terrain must be a cimcity Terrain (read one with cimcity.read_dem); "
            f"got {type(terrain).__name__}"
        )
    if connectivity not in (4, 8):
        raise InputError(f"connectivity must be 4 or 8; got {connectivity!r}")
    if mode not in ("connected", "bathtub"):
        raise InputError(
            f"unknown flood mode {mode!r}; expected 'connected' or 'bathtub'"
        )
    scalar, grid, info = _resolve_level(level, terrain)
    z = terrain.elevation
    if not z.flags.c_contiguous:
        z = np.ascontiguousarray(z)
    sr, sc = _seed_cells(terrain, sources)
    if grid is None:
        rp, st, en = K.open_runs(z, scalar)
    else:
        rp, st, en = K.open_runs_grid(z, grid)
    seed_runs = K.run_of_cells(rp, st, en, sr, sc)
    reached = K.connect_runs(rp, st, en, seed_runs, connectivity == 8)
    keep = reached if mode == "connected" else np.ones(len(st), np.bool_)
    depth = np.empty(z.shape, np.float64)
    if grid is None:
        n, total = K.paint_depth(z, scalar, rp, st, en, keep, depth)
    else:
        n, total = K.paint_depth_grid(z, grid, rp, st, en, keep, depth)
    return FloodResult(
        terrain=terrain,
        depth=depth,
        level=scalar,
        levels=grid,
        mode=mode,
        connectivity=connectivity,
        vertical_datum=terrain.vertical_datum,
        level_info=info,
        n_sources=len(sr),
        n_cells=int(n),
        depth_sum=float(total),
        _runs=(rp, st, en, reached) if mode == "bathtub" else None,
    )


def spill_levels(terrain, sources=None, connectivity: int = 8) -> np.ndarray:
    """Lowest connected water level that floods each cell (priority-flood).

    A cell floods in :func:`extent` (connected mode, scalar level ``L``)
    exactly when its spill level is ``< L``: the result answers "from which
    level does this place get water" for every cell at once.

    Parameters
    ----------
    terrain : Terrain
    sources, connectivity : as in :func:`extent`

    Returns
    -------
    (rows, cols) float64
        Spill level [m, DEM datum]; +inf for nodata and unreachable cells.

    References
    ----------
    Barnes, Lehman & Mulla (2014), Priority-flood, Computers & Geosciences
    62:117-127, doi:10.1016/j.cageo.2013.04.024.
    """
    from ._kernels import flood as K

    if connectivity not in (4, 8):
        raise InputError(f"connectivity must be 4 or 8; got {connectivity!r}")
    z = np.ascontiguousarray(terrain.elevation)
    sr, sc = _seed_cells(terrain, sources)
    out = np.empty(z.shape, np.float64)
    K.spill_levels(z, sr * z.shape[1] + sc, connectivity == 8, out)
    return out


# -- exposure --------------------------------------------------------------------------
@dataclass(eq=False)
class _Ring:
    """Ring samples around building footprints, prepared once per scene/grid."""

    starts: np.ndarray  # (n + 1,) sample range of each building
    ground: np.ndarray  # (m,) bilinear ground elevation [m]
    use: np.ndarray  # (m,) sample kept for statistics
    rows: np.ndarray  # (m,) grid cell of the sample (-1 off grid)
    cols: np.ndarray
    fallback: np.ndarray  # (n,) bool, every sample was inside a footprint


def _ring_samples(geoms, terrain, ring, spacing, exclude_buildings) -> _Ring:
    """Points 1-3 m (``ring``) outside each footprint, every ``spacing`` m.

    Points are offset along the outward normal of each outline segment (holes
    included: courtyards are outside the building). Samples falling inside
    any footprint (neighbours, concave corners) are left out of the
    statistics unless that leaves a building without samples.
    """
    from ._kernels import flood as K

    n = len(geoms)
    res = max(terrain.resolution)
    inner, outer = ring
    # the outer offset must reach beyond the cells the walls cut through
    outer = max(outer, inner + 0.5 * res, 1.5 * res)
    offsets = np.linspace(inner, outer, RING_OFFSETS)
    xy, ring_start, ring_part, part_owner = _packed_rings(geoms)
    is_hole = np.ones(len(ring_part), bool)
    part_first = np.searchsorted(ring_part, np.arange(len(part_owner)))
    is_hole[part_first[part_first < len(ring_part)]] = False
    t = terrain.transform
    z = np.ascontiguousarray(terrain.elevation)
    starts, _, _, ground, r, c = K.ring_samples(
        xy,
        ring_start,
        part_owner[ring_part],  # non-decreasing: parts keep the input order
        is_hole,
        n,
        offsets,
        float(spacing),
        z,
        t.c,
        t.f,
        t.a,
        -t.e,
        False,
    )
    use = np.isfinite(ground)
    fallback = np.zeros(n, bool)
    if exclude_buildings and len(ground):
        part_ring_start = np.searchsorted(ring_part, np.arange(len(part_owner) + 1))
        inside = _in_footprints(xy, ring_start, part_ring_start, outer, terrain, r, c)
        kept = use & ~inside
        counts = np.diff(starts)
        n_kept = np.add.reduceat(
            kept.astype(np.int64), np.minimum(starts[:-1], len(kept) - 1)
        )
        n_kept = np.where(counts > 0, n_kept, 0)
        fallback = (n_kept == 0) & (counts > 0)
        use = kept | (use & np.repeat(fallback, counts))
    return _Ring(starts, ground, use, r, c, fallback)


def _packed_rings(geoms):
    """Polygon / MultiPolygon outlines as flat arrays (one C call, no
    per-geometry Python).

    Returns
    -------
    xy : (v, 2) float64 vertices of closed rings, ring after ring [m]
    ring_start : (n_rings + 1,) int64 vertex range of each ring
    ring_part : (n_rings,) int64 polygon part of each ring (non-decreasing)
    part_owner : (n_parts,) int64 input geometry of each part (non-decreasing)
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    if not n:
        z = np.zeros(0, np.int64)
        return np.zeros((0, 2)), np.zeros(1, np.int64), z, z
    kind, coords, offsets = shapely.to_ragged_array(geoms, include_z=False)
    xy = np.ascontiguousarray(coords[:, :2], dtype=np.float64)
    ring_start = np.asarray(offsets[0], np.int64)
    part_ring = np.asarray(offsets[1], np.int64)
    ring_part = np.repeat(np.arange(len(part_ring) - 1), np.diff(part_ring))
    if kind == shapely.GeometryType.MULTIPOLYGON:
        geom_part = np.asarray(offsets[2], np.int64)
        part_owner = np.repeat(np.arange(n), np.diff(geom_part))
    elif kind == shapely.GeometryType.POLYGON:
        part_owner = np.arange(n)
    else:
        raise GeometryError(f"building footprints must be polygons; got {kind.name}")
    return xy, ring_start, ring_part.astype(np.int64), part_owner.astype(np.int64)


def _in_footprints(xy, ring_start, part_ring_start, margin, terrain, r, c):
    """True for samples whose DEM cell centre lies in a footprint (the
    footprints are filled on a window around them only)."""
    from ._kernels import flood as K

    t = terrain.transform
    rows, cols = terrain.shape
    minx, miny = xy.min(axis=0) - margin - abs(t.a)
    maxx, maxy = xy.max(axis=0) + margin + abs(t.a)
    c0 = int(np.clip(np.floor((minx - t.c) / t.a), 0, cols))
    c1 = int(np.clip(np.ceil((maxx - t.c) / t.a), 0, cols))
    r0 = int(np.clip(np.floor((maxy - t.f) / t.e), 0, rows))
    r1 = int(np.clip(np.ceil((miny - t.f) / t.e), 0, rows))
    mask = np.zeros((max(r1 - r0, 0), max(c1 - c0, 0)), bool)
    if mask.size:
        K.fill_polygons(
            xy,
            ring_start,
            part_ring_start,
            t.c + c0 * t.a,
            t.f + r0 * t.e,
            t.a,
            -t.e,
            mask,
        )
    return K.lookup_mask(mask, r0, c0, r, c)


def _storey_model(B, projects, ground, storey_height):
    """Per building: floor elevations as (kind, params).

    Returns arrays for the regular model (ground floor at the ground level,
    ``storeys`` floors of ``height / storeys``) and a dict of explicit floor
    elevations for BIM projects.
    """
    n = len(B)
    storeys = pd.to_numeric(
        B.get("storeys", pd.Series(np.nan, index=B.index)), errors="coerce"
    ).to_numpy(float)
    height = pd.to_numeric(
        B.get("height", pd.Series(np.nan, index=B.index)), errors="coerce"
    ).to_numpy(float)
    storeys = np.where(np.isfinite(storeys) & (storeys > 0), storeys, np.nan)
    if storey_height is not None:
        h = np.full(n, float(storey_height))
        storeys = np.where(
            np.isfinite(storeys),
            storeys,
            np.maximum(1, np.round(height / storey_height)),
        )
    else:
        from .scene import STOREY_HEIGHT

        storeys = np.where(
            np.isfinite(storeys),
            storeys,
            np.maximum(1, np.round(height / STOREY_HEIGHT)),
        )
        h = np.where(
            np.isfinite(height) & (height > 0), height / storeys, STOREY_HEIGHT
        )
    source = np.full(n, "storeys", dtype=object)
    explicit = {}
    basement_bim = np.full(n, np.nan)
    for pid, bim in (projects or {}).items():
        if pid not in B.index:
            continue
        st = getattr(bim, "storeys", None)
        if st is None or not len(st) or "elevation" not in st.columns:
            continue
        el = pd.to_numeric(st["elevation"], errors="coerce").to_numpy(float)
        el = np.sort(el[np.isfinite(el)])
        if not len(el):
            continue
        i = B.index.get_loc(pid)
        g = ground[i]
        below = el < g - BASEMENT_TOL if np.isfinite(g) else np.zeros(len(el), bool)
        explicit[i] = el[~below]
        basement_bim[i] = int(below.sum())
        storeys[i] = int((~below).sum())
        source[i] = "bim"
    return storeys.astype(np.int64), h, source, explicit, basement_bim


def _flooded_storeys(water_level, ground, storeys, h, explicit):
    """Number of floors whose elevation is below the water surface."""
    wl = np.where(np.isfinite(water_level), water_level, -np.inf)
    k = np.ceil((wl - LEVEL_TOL - ground) / h)
    k = np.where(np.isfinite(k), k, 0)
    out = np.clip(k, 0, storeys).astype(np.int64)
    for i, el in explicit.items():
        out[i] = int(np.sum(el < wl[i] - LEVEL_TOL))
    return out


#: columns read, in this order, for the number of basement levels of a building
BASEMENT_COLUMNS = ("basement_levels", "basement", "basements", "sous_sol")


def _basements(B, basement_bim):
    """Known basement levels per building (NaN unknown).

    Numbers are levels; booleans mean one level (True) or none (False); BIM
    storeys below ground take precedence.
    """
    for col in BASEMENT_COLUMNS:
        if col in B.columns:
            v = B[col]
            if v.dtype == object:
                v = v.map(lambda x: float(x) if isinstance(x, (bool, np.bool_)) else x)
            out = pd.to_numeric(v.astype(object), errors="coerce").to_numpy(float)
            return np.where(np.isfinite(basement_bim), basement_bim, out)
    return basement_bim


@dataclass(eq=False)
class ExposureResult:
    """Buildings, parcels and zones exposed to a flood.

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
        [m²], ``flooded_share`` [0-1] of the unit's area, geometry.
    flood : FloodResult
    """

    buildings: object
    parcels: object
    zones: object
    flood: FloodResult

    def summary(self) -> dict:
        B = self.buildings
        f = B["flooded"].to_numpy(bool) if len(B) else np.zeros(0, bool)
        return {
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

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"<ExposureResult {s['flooded_buildings']} of {s['buildings']} buildings "
            f"reached, {s['flooded_storeys']} flooded storeys, "
            f"{s['basements_flooded']} basements>"
        )

    def plot(self, ax=None, **kw):
        """2D map of the flood with buildings coloured by flooded storeys
        (see :meth:`FloodResult.plot`)."""
        return self.flood.plot(ax=ax, exposure=self, **kw)

    def to_file(self, path):
        """Write ``.csv`` (buildings table, no geometry) or ``.gpkg`` (layers
        ``buildings``, ``parcels``, ``zones``). Returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            self.buildings.drop(columns="geometry").to_csv(path)
            return path
        if suffix == ".gpkg":
            for name, t in (
                ("buildings", self.buildings),
                ("parcels", self.parcels),
                ("zones", self.zones),
            ):
                if len(t):
                    t2 = t.copy()
                    if "basement_flooded" in t2.columns:
                        t2["basement_flooded"] = t2["basement_flooded"].astype(object)
                    t2.reset_index().to_file(path, layer=name)
            return path
        raise InputError(
            f"cannot write an exposure to {path.name!r}; use .csv or .gpkg"
        )


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
        ``.buildings``, ``.parcels``, ``.zones`` GeoDataFrames, ``.summary()``,
        ``.plot()``, ``.to_file()``.
    """
    ctx = _exposure_context(
        scene, flood.terrain, ring, spacing, exclude_buildings, storey_height
    )
    return _exposure_from(ctx, flood)


@dataclass(eq=False)
class _ExposureContext:
    scene: object
    terrain: object
    ring: _Ring
    ground: np.ndarray
    ground_from: np.ndarray
    storeys: np.ndarray
    storey_h: np.ndarray
    storeys_from: np.ndarray
    explicit: dict
    basements: np.ndarray
    n_used: np.ndarray


def _exposure_context(scene, terrain, ring, spacing, exclude_buildings, storey_height):
    from ._kernels import flood as K

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
        _finite_float(storey_height, "storey_height") > 0
    ):
        raise InputError(f"storey_height must be > 0 [m]; got {storey_height!r}")
    spacing = (
        float(spacing) if spacing is not None else max(1.0, min(terrain.resolution))
    )
    if not spacing > 0:
        raise InputError(f"spacing must be > 0 [m]; got {spacing!r}")
    B = scene.buildings
    geoms = B.geometry.values
    rs = _ring_samples(geoms, terrain, (inner, outer), spacing, exclude_buildings)
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
    storeys, h, sfrom, explicit, bim_base = _storey_model(
        B, scene.projects, g_med, storey_height
    )
    basements = _basements(B, bim_base)
    return _ExposureContext(
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


def _exposure_from(ctx: _ExposureContext, flood: FloodResult, tables: bool = True):
    import geopandas as gpd

    from ._kernels import flood as K

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
    fst = _flooded_storeys(wl, g, ctx.storeys, ctx.storey_h, ctx.explicit)
    fst[~flooded] = 0
    water_depth = np.where(flooded, np.maximum(wl - g, 0.0), 0.0)
    base = ctx.basements
    bflood = pd.array(
        np.where(np.isfinite(base), flooded & (np.nan_to_num(base) > 0), False),
        dtype="boolean",
    )
    bflood[~np.isfinite(base)] = pd.NA
    if not tables:
        return flooded, fst, bflood
    B = ctx.scene.buildings
    out = gpd.GeoDataFrame(
        {
            "ground_level": g,
            "ground_from": ctx.ground_from,
            "ring_samples": ctx.n_used,
            "water_level": wl,
            "water_depth": water_depth,
            "max_depth": np.where(flooded, max_d, 0.0),
            "wet_fraction": frac,
            "flooded": flooded,
            "storeys": ctx.storeys,
            "storey_height": ctx.storey_h,
            "storeys_from": ctx.storeys_from,
            "flooded_storeys": fst,
            "basement_levels": base,
            "basement_flooded": bflood,
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
    return ExposureResult(out, parcels, zones, flood)


def _unit_summary(ctx, table, key, bx, flood):
    """Per parcel / zone: building counts and flooded area inside the unit."""
    import geopandas as gpd

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


# -- sweep -----------------------------------------------------------------------------
def sweep(
    terrain,
    levels,
    scene=None,
    sources=None,
    connectivity: int = 8,
    mode: str = "connected",
    **exposure_kw,
) -> pd.DataFrame:
    """Flooded area, volume and exposed buildings for a series of levels.

    Parameters
    ----------
    terrain : Terrain
    levels : sequence of float or Level
        Water levels [m, DEM datum], e.g. ``gauge_level(np.arange(5, 9.5, 0.5))``.
    scene : Scene, optional
        Adds building counts (the ring samples are prepared once).
    sources, connectivity, mode : as in :func:`extent`
    **exposure_kw
        ``ring``, ``spacing``, ``exclude_buildings``, ``storey_height`` as in
        :func:`exposure`.

    Returns
    -------
    DataFrame
        One row per level, sorted as given: ``level`` [m], ``gauge_reading``
        [m] (when levels come from a gauge), ``flooded_area`` [m²],
        ``volume`` [m³], ``max_depth`` [m]; with a scene also
        ``flooded_buildings``, ``buildings_with_flooded_storeys``,
        ``flooded_storeys``, ``basements_flooded``. ``attrs`` holds the
        vertical datum and mode. Plot it with :func:`plot_sweep`.
    """
    if isinstance(levels, (int, float, Level, LevelProfile)):
        levels = [levels]
    levels = list(levels)
    if not levels:
        raise InputError("sweep needs at least one level")
    ctx = None
    if scene is not None:
        ctx = _exposure_context(
            scene,
            terrain,
            exposure_kw.get("ring", DEFAULT_RING),
            exposure_kw.get("spacing"),
            exposure_kw.get("exclude_buildings", True),
            exposure_kw.get("storey_height"),
        )
    elif exposure_kw:
        raise InputError(f"exposure options {sorted(exposure_kw)} need a scene")
    rows = []
    for lv in levels:
        f = extent(terrain, lv, sources=sources, connectivity=connectivity, mode=mode)
        row = {
            "level": f.level if f.level is not None else np.nan,
            "gauge_reading": lv.reading if isinstance(lv, Level) else np.nan,
            "flooded_area": f.area,
            "volume": f.volume,
            "max_depth": f.max_depth,
        }
        if ctx is not None:
            flooded, fst, bflood = _exposure_from(ctx, f, tables=False)
            row.update(
                flooded_buildings=int(flooded.sum()),
                buildings_with_flooded_storeys=int((fst > 0).sum()),
                flooded_storeys=int(fst.sum()),
                basements_flooded=int(np.asarray(bflood.fillna(False), bool).sum()),
            )
        rows.append(row)
    df = pd.DataFrame(rows)
    if df["gauge_reading"].isna().all():
        df = df.drop(columns="gauge_reading")
    df.attrs.update(
        vertical_datum=terrain.vertical_datum, mode=mode, connectivity=connectivity
    )
    return df


def plot_sweep(table: pd.DataFrame, ax=None, x: str = "level"):
    """Plot a :func:`sweep` table: flooded area [ha] and, when present,
    flooded buildings against the level.

    Parameters
    ----------
    table : DataFrame from :func:`sweep`
    x : {"level", "gauge_reading"}

    Returns
    -------
    matplotlib Axes (the area axis)
    """
    from ._compat import import_optional

    plt = import_optional("matplotlib.pyplot")
    if x not in table.columns:
        raise InputError(
            f"x must be a column of the sweep table {list(table.columns)}; got {x!r}"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    ax.plot(
        table[x],
        table["flooded_area"] / 1e4,
        "o-",
        color="tab:blue",
        label="flooded area",
    )
    ax.set_ylabel("flooded area [ha]", color="tab:blue")
    datum = table.attrs.get("vertical_datum", "")
    ax.set_xlabel(
        "water level [m " + str(datum) + "]" if x == "level" else "gauge reading [m]"
    )
    if "flooded_buildings" in table.columns:
        ax2 = ax.twinx()
        ax2.plot(
            table[x],
            table["flooded_buildings"],
            "s--",
            color="tab:red",
            label="buildings reached",
        )
        ax2.plot(
            table[x],
            table["buildings_with_flooded_storeys"],
            "^:",
            color="tab:orange",
            label="buildings with flooded storeys",
        )
        ax2.set_ylabel("buildings", color="tab:red")
        ax2.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return ax
