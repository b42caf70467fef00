"""The input files of a city run, read by box in the workers.

The driver only learns each file's extent from its metadata
(:func:`vector_bounds`: ``pyogrio.read_info`` or the GeoParquet ``bbox``
metadata; :func:`raster_bounds`: the raster header). Each worker reads the
features of its tile's box and nothing else:

- OGR formats (GeoPackage, FlatGeobuf, Shapefile...) through ``pyogrio`` with
  ``bbox=`` (GDAL's spatial filter, using the file's spatial index when it has
  one: GeoPackage R-tree, FlatGeobuf packed R-tree, Shapefile ``.qix``);
- GeoParquet through :func:`geopandas.read_parquet` with ``bbox=``, which
  pushes the box down to the row groups through the file's bbox covering
  column. A GeoParquet file without that column would be read whole by every
  worker, so it is refused with the fix
  (``gdf.to_parquet(path, write_covering_bbox=True)``);
- DEM rasters and VRT mosaics through ``rasterio`` windowed reads on the
  file's own pixel grid (no resampling), so tiles share cells exactly.

Written by hand because no library reads "a tile of a city" across these
formats with one spatial filter; the box-reading itself is pyogrio's,
pyarrow's and GDAL's.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from ..crs import as_projected_crs
from ..errors import CRSError, FileFormatError, InputError
from ..io.raster import vertical_datum_of
from ..terrain import Terrain

PARQUET = (".parquet", ".geoparquet")


def _check(path, what) -> Path:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(2, f"{what} file not found", str(p))
    return p


def _parquet_geo(p: Path) -> dict:
    import pyarrow.parquet as pq

    meta = pq.read_schema(p).metadata or {}
    if b"geo" not in meta:
        raise FileFormatError(
            f"{p} is a Parquet file without GeoParquet metadata; write it with "
            f"geopandas (gdf.to_parquet(path, write_covering_bbox=True))"
        )
    geo = json.loads(meta[b"geo"])
    return geo["columns"][geo["primary_column"]]


def vector_bounds(path, crs, what: str = "layer", layer=None) -> tuple:
    """Extent of a vector file in ``crs`` [m], from its metadata only.

    Raises
    ------
    FileFormatError
        A GeoParquet file without bbox covering (every worker would read it
        whole) or without a recorded extent.
    CRSError
        A file that declares no CRS.
    """
    p = _check(path, what)
    if p.suffix.lower() in PARQUET:
        col = _parquet_geo(p)
        if "covering" not in col:
            raise FileFormatError(
                f"{what} {p}: this GeoParquet file has no bbox covering column, so "
                f"each worker would have to read all of it; rewrite it with "
                f"gdf.to_parquet(path, write_covering_bbox=True) or convert it to "
                f"FlatGeobuf/GeoPackage"
            )
        b = col.get("bbox")
        src = col.get("crs")
        src = CRS.from_user_input(src) if src is not None else CRS.from_epsg(4326)
        if b is None:
            raise FileFormatError(f"{what} {p}: the GeoParquet metadata gives no bbox")
    else:
        import pyogrio

        info = pyogrio.read_info(p, layer=layer, force_total_bounds=True)
        b = info["total_bounds"]
        if info["crs"] is None:
            raise CRSError(f"{what} {p} declares no CRS; reproject it first (ogr2ogr -a_srs)")
        src = CRS.from_user_input(info["crs"])
    return _to_crs(tuple(float(v) for v in b), src, crs)


def _to_crs(b, src, crs) -> tuple:
    target = as_projected_crs(crs)
    if src.equals(target, ignore_axis_order=True):
        return b
    from pyproj import Transformer

    t = Transformer.from_crs(src, target, always_xy=True)
    return tuple(float(v) for v in t.transform_bounds(*b, densify_pts=21))


def read_box(path, box, crs, what: str = "layer", layer=None):
    """Features of a vector file intersecting ``box`` (in ``crs``) [m].

    Returns
    -------
    gdf : GeoDataFrame
        The features, reprojected to ``crs``, in the file's attribute schema
        (the Scene normalises products: BDNB, BD TOPO, OSM...).
    rows_read : int
        Rows the reader returned (the box filter's output, before the exact
        intersection test): the proof that a worker does not read the city.
    """
    p = _check(path, what)
    target = as_projected_crs(crs)
    if p.suffix.lower() in PARQUET:
        col = _parquet_geo(p)
        src = col.get("crs")
        src = CRS.from_user_input(src) if src is not None else CRS.from_epsg(4326)
        fb = _file_box(box, src, target)
        gdf = gpd.read_parquet(p, bbox=fb)
    else:
        import pyogrio

        info = pyogrio.read_info(p, layer=layer)
        src = CRS.from_user_input(info["crs"]) if info["crs"] else target
        fb = _file_box(box, src, target)
        gdf = pyogrio.read_dataframe(p, layer=layer, bbox=fb)
    rows = len(gdf)
    if gdf.crs is None:
        gdf = gdf.set_crs(src)
    if not gdf.crs.equals(target, ignore_axis_order=True):
        gdf = gdf.to_crs(target)
    g = gdf.geometry.values
    keep = ~(gpd.pd.isna(g) | shapely.is_empty(g))
    keep &= shapely.intersects(g, shapely.box(*box)) if len(g) else keep
    return gdf[keep], rows


def _file_box(box, src, target) -> tuple:
    if src.equals(target, ignore_axis_order=True):
        return tuple(float(v) for v in box)
    from pyproj import Transformer

    t = Transformer.from_crs(target, src, always_xy=True)
    return tuple(float(v) for v in t.transform_bounds(*box, densify_pts=21))


def raster_bounds(path, crs) -> tuple:
    """Extent of a raster (GeoTIFF, VRT) in ``crs`` [m], from its header.

    Raises
    ------
    CRSError
        A raster in another CRS (windows are read on the file's grid: warp it
        first, e.g. ``gdalwarp -t_srs EPSG:2154 -of VRT``), or with no CRS.
    """
    import rasterio

    p = _check(path, "DEM")
    with rasterio.open(p) as ds:
        _same_crs(ds, p, crs)
        t = ds.transform
        if t.b != 0 or t.d != 0 or t.e >= 0:
            raise InputError(f"DEM {p}: a rotated or south-up grid; warp it north-up first")
        return tuple(float(v) for v in ds.bounds)


def _same_crs(ds, p, crs):
    if ds.crs is None:
        raise CRSError(f"DEM {p} declares no CRS; set it (gdal_edit.py -a_srs EPSG:2154)")
    target = as_projected_crs(crs)
    have = CRS.from_user_input(ds.crs.to_wkt())
    try:
        horizontal = have.sub_crs_list[0] if have.is_compound else have
    except (AttributeError, IndexError):  # pragma: no cover
        horizontal = have
    if not horizontal.equals(target, ignore_axis_order=True):
        raise CRSError(
            f"DEM {p} is in {horizontal.to_string()!r}, the run in "
            f"{target.to_string()!r}; a tiled run reads the DEM on its own grid: warp "
            f"it first (gdalwarp -t_srs {target.to_string()} -of VRT in.tif dem.vrt)"
        )


def pixel_window(transform, box, shape) -> tuple:
    """Rows and columns ``(r0, r1, c0, c1)`` of the cells whose centres lie
    in the half-open box ``[x0, x1) × [y0, y1)`` [m], clipped to the raster.

    Adjacent boxes share no cell and leave none out: the same rounding rule
    (centre in the box) applies on both sides of every edge.
    """
    x0, y0, x1, y1 = box
    a, c, e, f = transform.a, transform.c, transform.e, transform.f
    # centre of column k: c + (k + 0.5) a  (>= x0  <=>  k >= (x0 - c)/a - 0.5)
    c0 = math.ceil((x0 - c) / a - 0.5)
    c1 = math.ceil((x1 - c) / a - 0.5)
    # centre of row k: f + (k + 0.5) e, e < 0: y in [y0, y1)  <=>  k in ((y1-f)/e - .5, (y0-f)/e - .5]
    r0 = math.floor((y1 - f) / e - 0.5) + 1
    r1 = math.floor((y0 - f) / e - 0.5) + 1
    rows, cols = shape
    return (
        int(min(max(r0, 0), rows)),
        int(min(max(r1, 0), rows)),
        int(min(max(c0, 0), cols)),
        int(min(max(c1, 0), cols)),
    )


def read_dem_window(path, box, crs):
    """The DEM cells whose centres lie in ``box`` [m] as a Terrain.

    Returns
    -------
    terrain : Terrain or None
        None when the box holds fewer than 2 × 2 cells of the raster.
    window : (r0, r1, c0, c1)
        Its place in the whole raster (rows, columns).
    """
    import rasterio
    from rasterio.windows import Window

    p = _check(path, "DEM")
    with rasterio.open(p) as ds:
        _same_crs(ds, p, crs)
        r0, r1, c0, c1 = pixel_window(ds.transform, box, ds.shape)
        if r1 - r0 < 2 or c1 - c0 < 2:
            return None, (r0, r1, c0, c1)
        data = ds.read(1, window=Window(c0, r0, c1 - c0, r1 - r0), masked=True)
        z = np.ma.filled(data.astype(np.float64), np.nan)
        t = ds.window_transform(Window(c0, r0, c1 - c0, r1 - r0))
        source = CRS.from_user_input(ds.crs.to_wkt())
        code = source.to_epsg() or source.to_epsg(min_confidence=70)
        if code and not source.is_compound:
            source = CRS.from_epsg(code)
        datum = vertical_datum_of(source, ds.tags())
    terrain = Terrain(z, t, as_projected_crs(crs), datum, "dem", str(p))
    return terrain, (r0, r1, c0, c1)


def raster_shape(path) -> tuple:
    """(rows, cols), transform of a raster."""
    import rasterio

    with rasterio.open(_check(path, "DEM")) as ds:
        return ds.shape, ds.transform
