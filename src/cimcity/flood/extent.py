"""Flood extent: the cells below a water level reached from the sources.

:func:`extent` floods a DEM at a level (an altitude, a gauge reading, a profile
along a river or a per-cell grid) and returns a :class:`FloodResult`: depth
grid, area, volume and the water bodies as polygons. :func:`spill_levels` gives,
for every cell at once, the lowest level at which it floods.

Why hand-written (in :mod:`cimcity._kernels.flood_label`, where the reasons
are given in full): ``scipy.ndimage.label`` plus ``np.isin`` and ``np.where``
read and write the grid several times, and the checks around them (level
range, nodata, default sources) once more each; here one threaded pass per
row block reads the DEM once for all of it (runs of wet cells joined by
union-find, depths, nodata rows), the same answer cell for cell.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import shapely

from .._compat import keyword_only_after
from .._kernels import flood as K
from .._kernels import flood_label as KL
from ..errors import DataQualityWarning, InputError
from ..results import Result, plain
from ..terrain import Terrain
from .checks import check_level_range, nodata_next_to_water
from .levels import Level, resolve_level
from .mapping import flood_map2d
from .small import small_flood
from .sources import seed_cells
from .views import (
    column_or_axes,
    flood_view,
)

#: cells per block of rows labelled by one thread task; grids below a quarter
#: of it run on one thread, larger ones in at least two blocks per thread
BLOCK_CELLS = 1 << 20


@dataclass(eq=False)
class FloodResult(Result):
    """Flooded cells and depths on the DEM grid.

    The main table (:attr:`table`, also :attr:`polygons`) holds one row per
    water body; :meth:`to_file` writes it (``.gpkg``, ``.parquet``, ``.csv``)
    or the depth grid (``.tif``).

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
    n_cells : int
        Flooded cells.
    depth_sum : float
        Sum of the depths of the flooded cells [m].
    nodata_next_to_water : int
        Cells of nodata holes inside the DEM (nodata regions not touching the
        grid edge) next to flooded cells: the water may continue through
        them, so the extent is a lower bound there (0: none).
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
    nodata_next_to_water: int = 0
    _runs: tuple | None = None

    # -- grids ----------------------------------------------------------------------
    @cached_property
    def wet(self) -> np.ndarray:
        """(rows, cols) bool, flooded cells."""
        return np.isfinite(self.depth)

    @cached_property
    def connected(self) -> np.ndarray:
        """(rows, cols) bool, flooded cells connected to the sources (equal to
        :attr:`wet` in connected mode)."""
        if self.mode == "connected":
            return self.wet
        row_ptr, edges, parent, flag = self._runs
        out = np.empty(self.depth.shape, np.bool_)
        KL.paint_flags(out.shape[0], out.shape[1], row_ptr, edges, parent, flag, out)
        return out

    @property
    def water_surface(self) -> np.ndarray:
        """(rows, cols) float64 altitude of the water surface [m], NaN where dry."""
        return self.terrain.elevation + self.depth

    # -- numbers --------------------------------------------------------------------
    @property
    def cell_area(self) -> float:
        """Area of one DEM cell [m²]."""
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

    def level_label(self) -> str:
        """The level as text, with its gauge / scenario provenance when known."""
        info = self.level_info
        if isinstance(info, Level):
            return info.label()
        if self.level is not None:
            return f"{self.level:.2f} m"
        return repr(info)

    def summary(self) -> dict:
        """Key numbers as a plain dict.

        Returns
        -------
        dict
            ``level_m`` [m] (None when the level varies), ``level`` (text),
            ``vertical_datum``, ``mode``, ``connectivity``,
            ``flooded_area_m2`` [m²], ``volume_m3`` [m³], ``max_depth_m``,
            ``mean_depth_m`` [m], ``flooded_cells``, ``source_cells``,
            ``nodata_next_to_water`` (cells of nodata holes bordering the
            water: the extent is a lower bound when > 0); in bathtub mode also
            ``connected_area_m2`` and ``disconnected_area_m2`` [m²].
        """
        out = {
            "level_m": self.level,
            "level": self.level_label(),
            "vertical_datum": self.vertical_datum,
            "mode": self.mode,
            "connectivity": self.connectivity,
            "flooded_area_m2": round(self.area, 2),
            "volume_m3": round(self.volume, 2),
            "max_depth_m": round(self.max_depth, 3),
            "mean_depth_m": round(self.mean_depth, 3),
            "flooded_cells": int(self.n_cells),
            "source_cells": int(self.n_sources),
            "nodata_next_to_water": int(self.nodata_next_to_water),
        }
        if self.mode == "bathtub":
            out["connected_area_m2"] = round(self.connected_area, 2)
            out["disconnected_area_m2"] = round(self.disconnected_area, 2)
        return plain(out)

    def __repr__(self) -> str:
        return (
            f"<FloodResult {self.mode} at {self.level_label()} ({self.vertical_datum}): "
            f"{self.area:,.0f} m² flooded, {self.volume:,.0f} m³, "
            f"max depth {self.max_depth:.2f} m>"
        )

    # -- tables ---------------------------------------------------------------------
    def tables(self) -> dict:
        """``{"polygons": water bodies}`` (see :attr:`polygons`)."""
        return {"polygons": self.polygons}

    @cached_property
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
        return self._polygonize()

    def _polygonize(self):
        """Water bodies: scipy labels the wet cells, rasterio traces them."""
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
    def _raster(self):
        """The depth grid [m] (float32 in the GeoTIFF, NaN = dry)."""
        return self.depth, self.terrain.transform, self.terrain.crs.to_wkt(), np.nan

    def to_file(self, path, layer: str | None = None):
        """Write the water bodies or the depth grid, format by suffix.

        Parameters
        ----------
        path : str or os.PathLike
            ``.tif``/``.tiff``: the depth grid [m] (float32, NaN nodata, tags
            for the level, datum and mode); ``.gpkg``, ``.parquet`` /
            ``.geoparquet``, ``.csv``: the water bodies (:attr:`polygons`).
            Parent folders are created.
        layer : str, optional
            ``"polygons"`` (the only table; ``"flood"``, the layer name of
            earlier releases, is accepted with a ``FutureWarning``).

        Returns
        -------
        pathlib.Path

        Raises
        ------
        InputError
            Unknown suffix or layer.
        """
        if layer == "flood":  # the GeoPackage layer name of earlier releases
            warnings.warn(
                'FloodResult.to_file(layer="flood") is now layer="polygons" (the '
                "table name, also the GeoPackage layer); the old name will be "
                "removed in a future release",
                FutureWarning,
                stacklevel=2,
            )
            layer = "polygons"
        path = super().to_file(path, layer)
        if path.suffix.lower() in (".tif", ".tiff"):
            import rasterio

            with rasterio.open(path, "r+") as ds:
                ds.update_tags(
                    units="m",
                    quantity="water depth",
                    mode=self.mode,
                    vertical_datum=str(self.vertical_datum),
                    level=self.level_label(),
                )
        return path

    def plot(
        self,
        column=None,
        *,
        ax=None,
        scene=None,
        exposure=None,
        hillshade: bool = True,
        cmap=None,
        vmax: float | None = None,
        title: str | None = None,
        lang=None,
        basemap=None,
        axes="km",
        building_column=None,
    ):
        """2D map: shaded terrain, water depth, and optionally buildings
        (drawn with :mod:`cimcity.maps`).

        Parameters
        ----------
        column : str, optional
            ``None`` or ``"depth"``: the depth grid [m]; else a column of
            :attr:`polygons` filling the water bodies.
        ax : matplotlib Axes, optional
        scene : Scene, optional
            Its layers as a quiet base and its building outlines.
        exposure : ExposureResult, optional
            Fills buildings by flooded storeys (a discrete scale; dry ones
            white, unknown ones hatched grey).
        hillshade : bool
            Shade the terrain (else grey elevation).
        cmap : matplotlib colormap or name, optional
            Depth colours (default: light to dark blue).
        vmax : float, optional
            Upper bound of the depth colour scale [m].
        title : str, optional
            Default: flood extent, place, level, area and volume.
        lang : {"fr", "en"}, optional
            Language of the labels (default: :func:`cimcity.i18n.get_language`).
        basemap : {None, "ign", "osm"}
            Web tiles under the map when a network is there.
        axes : {"km", "hidden"}
        building_column : str, optional
            Column of ``exposure.buildings`` colouring the buildings instead
            of the flooded storeys.

        Returns
        -------
        matplotlib Axes
        """
        column, ax = column_or_axes(column, ax, "FloodResult.plot")
        return flood_map2d(
            self, ax=ax, column=column, scene=scene, exposure=exposure,
            building_column=building_column, hillshade=hillshade, cmap=cmap,
            vmax=vmax, title=title, lang=lang, basemap=basemap, axes=axes,
        )

    def render(
        self,
        path=None,
        *,
        scene=None,
        exposure=None,
        camera: str = "iso",
        window_size=(1600, 1000),
        title: str | None = None,
        lang: str | None = None,
    ):
        """Offscreen 3D view: the scene, and the water surface coloured by
        depth [m]; buildings coloured by flooded storeys when ``exposure`` is
        given.

        Parameters
        ----------
        path : str or Path, optional
            Output PNG; when None the image is returned as an array.
        scene : Scene, optional
            Default: the terrain alone.
        exposure : ExposureResult, optional
        camera : str
            A view of :func:`cimcity.render.set_camera` (``"iso"``, ``"top"``...).
        window_size : (int, int)
            Pixels.
        title : str, optional
        lang : {"fr", "en"}, optional
            Language of the title and colour bars (default: the package's).

        Returns
        -------
        pathlib.Path, or (h, w, 3) uint8 array when ``path`` is None
        """
        return flood_view(
            self,
            path,
            scene=scene,
            exposure=exposure,
            camera=camera,
            window_size=window_size,
            title=title,
            lang=lang,
        )


@keyword_only_after(2)
def extent(
    terrain,
    level,
    *,
    sources=None,
    connectivity: int = 8,
    mode: str = "connected",
) -> FloodResult:
    """Flooded area and water depths for a water level on a DEM.

    In ``"connected"`` mode a cell floods when its ground is strictly below the
    water level **and** it is reached from a source through cells that are
    also below the level (so a pit behind a levee stays dry). ``"bathtub"``
    mode floods every cell below the level; :attr:`FloodResult.connected`
    and the ``connected`` column of the polygons tell which areas the sources
    reach. Nodata cells never flood and never connect; when the water borders
    a nodata hole inside the DEM, the extent there is a lower bound
    (:attr:`FloodResult.nodata_next_to_water`, and a
    :class:`~cimcity.errors.DataQualityWarning`).

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

    Every argument after ``level`` is keyword-only (positional use still
    works for one release, with a ``FutureWarning``).

    Raises
    ------
    InputError
        A level more than :data:`~cimcity.flood.checks.MAX_LEVEL_ABOVE_DEM` (100 m) above the DEM's
        highest cell (a unit or datum mistake); the message gives the DEM's
        range. A level above the highest cell but within that margin floods
        the whole DEM and raises a
        :class:`~cimcity.errors.DataQualityWarning` (the extent is then
        bounded by the DEM, not by the water).

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
    return flood_at(terrain, level, sources, connectivity, mode)


def flood_at(
    terrain, level, sources, connectivity: int, mode: str, warn_above: bool = True
) -> FloodResult:
    """:func:`extent` with positional arguments; ``warn_above=False`` leaves
    the "above the DEM's highest cell" warning to the caller (a sweep warns
    once for all its levels)."""
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
    scalar, grid, info = resolve_level(level, terrain)
    z = np.ascontiguousarray(terrain.elevation)
    # the default sources (edge cells) are found after the labelling pass,
    # which tells the rows holding nodata (see connected_depth)
    named = isinstance(sources, str) and sources in ("lowest", "border")
    seeds = None if sources is None or named else seed_cells(terrain, sources)
    lowest = not (named and sources == "border")
    flood = None
    if mode == "connected":  # a fill from the sources first, if it stays small
        flood = small_flood(z, scalar, grid, seeds, connectivity == 8, lowest)
    if flood is None:
        flood = connected_depth(
            z, scalar, grid, seeds, connectivity == 8, keep_all=mode == "bathtub",
            lowest=lowest,
        )  # fmt: skip
    depth, n, total, runs, n_sources, nanrow = flood
    check_level_range(scalar, grid, z, runs, warn=warn_above)
    holes = nodata_next_to_water(z, depth, connectivity, nanrow) if n else 0
    if holes:
        warnings.warn(
            f"flood extent: the water borders {holes} nodata cells of holes inside "
            f"the DEM; the flood may continue through them, so the extent is a "
            f"lower bound there; fill the DEM's nodata (interpolation) first",
            DataQualityWarning,
            stacklevel=4,
        )
    return FloodResult(
        terrain=terrain,
        depth=depth,
        level=scalar,
        levels=grid,
        mode=mode,
        connectivity=connectivity,
        vertical_datum=terrain.vertical_datum,
        level_info=info,
        n_sources=n_sources,
        n_cells=int(n),
        depth_sum=float(total),
        nodata_next_to_water=holes,
        _runs=runs if mode == "bathtub" else None,
    )


def connected_depth(z, level, levels, seeds, diagonal, *, keep_all=False, lowest=True):
    """Depth grid of the cells below the level connected to the source cells.

    Parameters
    ----------
    z : (rows, cols) float64, C-contiguous
        Elevation [m], NaN = nodata.
    level : float or None
        Water level [m] (None when ``levels`` is given).
    levels : (rows, cols) float64 or None
        Per-cell water levels [m] (NaN: no water).
    seeds : ((k,) int64, (k,) int64) or None
        Source cells (row, column); dry ones flood nothing. None: the edge
        cells of the data (the lowest ones when ``lowest``), found from the
        nodata rows the labelling pass reports.
    diagonal : bool
        8-connectivity when True, 4 otherwise.
    keep_all : bool
        Paint every cell below the level (bathtub), still labelling which
        components hold a source.
    lowest : bool
        With ``seeds=None``: only the lowest edge cells (else all of them).

    Returns
    -------
    depth : (rows, cols) float64
        ``level - z`` [m] on the painted cells, NaN elsewhere.
    n_cells : int
    depth_sum : float
        Sum of the painted depths [m].
    runs : tuple
        ``(row_ptr, edges, parent, flag)`` for
        :func:`cimcity._kernels.flood_label.paint_flags` (the cells connected
        to the sources).
    n_sources : int
        Source cells.
    nanrow : (rows,) bool
        Rows holding nodata.

    Raises
    ------
    InputError
        ``seeds=None`` on a DEM without a valid cell.
    """
    rows, cols = z.shape
    ids = np.int32 if z.size < np.iinfo(np.int32).max else np.int64  # run ids
    depth = np.empty((rows, cols), np.float64)
    rowsum = np.empty(rows, np.float64)
    nanrow = np.empty(rows, np.bool_)
    grid = levels is not None
    lv = 0.0 if grid else float(level)
    grid_arr = levels if grid else np.empty((1, 1), np.float64)
    bounds = _row_blocks(rows, cols)

    def label(b):
        return KL.label_fill(
            z, lv, grid_arr, grid, diagonal, b[0], b[1], np.empty(0, ids), depth,
            rowsum, nanrow,
        )  # fmt: skip

    def keep(b):
        return KL.keep_runs(
            b[0], b[1], keep_all, row_ptr, edges, parent, flag, rowsum, depth
        )

    blocks = list(_map(label, bounds))
    if len(blocks) == 1:
        row_ptr, edges, parent = blocks[0]
    else:  # the blocks' runs end to end, then joined across the seams
        offsets = np.cumsum([0] + [len(p) for _, _, p in blocks])
        row_ptr = np.empty(rows + 1, np.int64)
        row_ptr[rows] = offsets[-1]
        edges = np.empty(2 * offsets[-1], np.int32)
        parent = np.empty(offsets[-1], ids)
        for (r0, _), off, (bp, be, bpar) in zip(bounds, offsets, blocks, strict=False):
            KL.gather_blocks(r0, off, bp, be, bpar, row_ptr, edges, parent)
        del blocks
        starts = np.array([b[0] for b in bounds[1:]], np.int64)
        KL.join_blocks(starts, diagonal, row_ptr, edges, parent)
    if seeds is None:
        seeds = K.edge_cells_rows(z, lowest, nanrow)
        if not len(seeds[0]):
            raise InputError("the DEM holds no valid cell (all nodata)")
    flag = np.zeros(len(parent), np.uint8)
    KL.flag_sources(seeds[0], seeds[1], cols, row_ptr, edges, parent, flag)
    n, total = 0, 0.0
    for bn, bt in _map(keep, bounds):
        n += bn
        total += bt
    runs = (row_ptr, edges, parent, flag)
    return depth, int(n), float(total), runs, len(seeds[0]), nanrow


def _row_blocks(rows: int, cols: int) -> list[tuple[int, int]]:
    """Blocks of rows of about :data:`BLOCK_CELLS` cells (at least two per
    worker thread, so a core slowed by other work takes fewer, when the grid
    is large enough to share)."""
    cells = rows * cols
    workers = _workers()
    if workers == 1 or cells < BLOCK_CELLS // 4:
        return [(0, rows)]
    n = min(rows, max(2 * workers, -(-cells // BLOCK_CELLS)))
    cuts = np.linspace(0, rows, n + 1).round().astype(np.int64)
    return [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]


def _workers() -> int:
    """Threads for the flood kernels: numba's thread count
    (``NUMBA_NUM_THREADS``, ``numba.set_num_threads``)."""
    return max(1, int(numba.get_num_threads()))


#: thread pools by size, with the process that made them (a forked child
#: inherits the pool but not its threads, so it makes its own)
_POOLS: dict[int, tuple[int, ThreadPoolExecutor]] = {}


def _map(fn, blocks):
    """``fn`` over the row blocks on a pool of threads (the kernels release the
    GIL; each thread pulls the next block, so a core slowed down by other
    processes simply takes fewer); results in order."""
    workers = min(_workers(), len(blocks))
    if workers == 1:
        return map(fn, blocks)
    pid, pool = _POOLS.get(workers, (None, None))
    if pid != os.getpid():
        pool = ThreadPoolExecutor(workers, thread_name_prefix="cimcity-flood")
        _POOLS[workers] = (os.getpid(), pool)
    return pool.map(fn, blocks)


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
    if connectivity not in (4, 8):
        raise InputError(f"connectivity must be 4 or 8; got {connectivity!r}")
    z = np.ascontiguousarray(terrain.elevation)
    sr, sc = seed_cells(terrain, sources)
    out = np.empty(z.shape, np.float64)
    K.spill_levels(z, sr * z.shape[1] + sc, connectivity == 8, out)
    return out


# -- 2D map ------------------------------------------------------------------------------
