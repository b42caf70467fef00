"""Elevation rasters (DEM, DSM) → :class:`~cimcity.terrain.Terrain`.

GeoTIFF (or any raster GDAL reads) through rasterio. Nodata cells become NaN;
a raster in another CRS (geographic lon/lat, another projection) is warped to
the scene CRS with :func:`rasterio.warp.reproject` (bilinear) and a
:class:`~cimcity.errors.ReprojectionWarning`; the vertical datum is taken from
a compound CRS or the file's tags when it says, else recorded as
``"unknown"``.
"""

from __future__ import annotations

import warnings

import numpy as np
from pyproj import CRS

from ..crs import as_projected_crs, check_bounds_in_area_of_use
from ..errors import CRSError, FileFormatError, InputError, ReprojectionWarning
from ..terrain import Terrain
from .vector import check_file

__all__ = ["read_dem", "read_dsm", "read_elevation", "vertical_datum_of"]

_RESAMPLING = ("bilinear", "nearest", "cubic", "average")
_DATUM_TAGS = (
    "vertical_datum",
    "vert_datum",
    "verticaldatum",
    "vertical_crs",
    "vert_cs",
)


def vertical_datum_of(crs: CRS | None, tags: dict | None = None) -> str:
    """Vertical datum named by a compound CRS or by raster tags, else
    ``"unknown"``.

    Parameters
    ----------
    crs : pyproj.CRS or None
    tags : dict, optional
        Raster metadata (``VERTICAL_DATUM=NGF-IGN69``...), keys compared
        case-insensitively.
    """
    if crs is not None:
        if crs.is_compound:
            for sub in crs.sub_crs_list:
                if sub.is_vertical:
                    return sub.name
        if crs.is_vertical:
            return crs.name
    for k, v in (tags or {}).items():
        if str(k).lower() in _DATUM_TAGS and str(v).strip():
            return str(v).strip()
    return "unknown"


def _horizontal(crs: CRS) -> CRS:
    if crs.is_compound:
        for sub in crs.sub_crs_list:
            if not sub.is_vertical:
                return sub
    return crs


def read_elevation(
    path,
    kind: str = "dem",
    crs="EPSG:2154",
    band: int = 1,
    src_crs=None,
    vertical_datum: str | None = None,
    bbox=None,
    resolution: float | None = None,
    resampling: str = "bilinear",
):
    """Read an elevation raster as a :class:`~cimcity.terrain.Terrain`.

    Parameters
    ----------
    path : str or os.PathLike
        GeoTIFF or any single- or multi-band raster GDAL reads.
    kind : {"dem", "dsm"}
        Bare ground (DEM) or surface with buildings and trees (DSM).
    crs : str, pyproj.CRS or None
        Target projected CRS in metres (default Lambert-93). None keeps the
        file's CRS (which must then be projected in metres).
    band : int
        Band to read (1-based).
    src_crs : str or pyproj.CRS, optional
        CRS of the file when it declares none (or a wrong one).
    vertical_datum : str, optional
        Height reference of the values; default from the file (compound CRS or
        a ``VERTICAL_DATUM`` tag), else ``"unknown"``.
    bbox : (minx, miny, maxx, maxy), optional
        Read only this box, in the target CRS [m] (plus one cell of margin).
    resolution : float, optional
        Cell size [m] of the warped grid when the raster is reprojected
        (default: rasterio's estimate, about the source cell size).
    resampling : {"bilinear", "nearest", "cubic", "average"}
        Resampling used when reprojecting.

    Returns
    -------
    Terrain
        Elevations [m] as float64, NaN on nodata; ``meta`` holds the source
        CRS, nodata value, band, dtype and the number of nodata cells.

    Raises
    ------
    FileNotFoundError
        Missing file.
    FileFormatError
        Empty, truncated or non-raster file.
    CRSError
        No CRS (and no ``src_crs``); a geographic target or file CRS where a
        projected one is needed; coordinates that cannot belong to the declared
        CRS (degrees declared as Lambert-93).
    InputError
        Bad band, resampling or bbox.

    Warns
    -----
    ReprojectionWarning
        When the raster is warped to ``crs``.
    """
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.errors import RasterioIOError
    from rasterio.transform import array_bounds
    from rasterio.warp import calculate_default_transform, reproject, transform_bounds
    from rasterio.windows import Window, from_bounds


    if kind not in ("dem", "dsm"):
        raise InputError(f"unknown elevation kind {kind!r}; expected 'dem' or 'dsm'")
    if resampling not in _RESAMPLING:
        raise InputError(
            f"unknown resampling {resampling!r}; expected one of {', '.join(_RESAMPLING)}"
        )
    what = kind.upper()
    p = check_file(path, what)
    try:
        ds = rasterio.open(p)
    except RasterioIOError as exc:
        raise FileFormatError(
            f"cannot open {p} as a raster ({str(exc).splitlines()[0]}); expected a "
            f"GeoTIFF or another GDAL raster format"
        ) from exc
    with ds:
        if not 1 <= band <= ds.count:
            raise InputError(
                f"{what} {p} has {ds.count} band(s); band={band} is out of range"
            )
        if src_crs is not None:
            source = CRS.from_user_input(src_crs)
        elif ds.crs is not None:
            source = CRS.from_user_input(ds.crs.to_wkt())
            code = source.to_epsg() or source.to_epsg(min_confidence=70)
            if code and not source.is_compound:
                source = CRS.from_epsg(code)
        else:
            raise CRSError(
                f"{what} {p} declares no CRS; pass src_crs='EPSG:2154' (Lambert-93) "
                f"or the CRS the raster was produced in"
            )
        datum = vertical_datum or vertical_datum_of(source, ds.tags())
        horizontal = _horizontal(source)
        check_bounds_in_area_of_use(tuple(ds.bounds), horizontal, f"{what} {p}")
        if crs is None:
            target = as_projected_crs(horizontal, what=f"{what} {p}")
        else:
            target = as_projected_crs(crs, what=kind)
        t = ds.transform
        north_up = t.b == 0 and t.d == 0
        same = north_up and horizontal.equals(target, ignore_axis_order=True)
        window = None
        if bbox is not None:
            if len(bbox) != 4 or not (bbox[0] < bbox[2] and bbox[1] < bbox[3]):
                raise InputError(f"bbox must be (minx, miny, maxx, maxy), got {bbox!r}")
            sb = (
                bbox
                if same
                else transform_bounds(target, horizontal, *bbox, densify_pts=21)
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PendingDeprecationWarning)
                w = from_bounds(*sb, transform=t)
            c0 = max(int(np.floor(w.col_off)) - 1, 0)
            r0 = max(int(np.floor(w.row_off)) - 1, 0)
            c1 = min(int(np.ceil(w.col_off + w.width)) + 1, ds.width)
            r1 = min(int(np.ceil(w.row_off + w.height)) + 1, ds.height)
            if c1 - c0 < 2 or r1 - r0 < 2:
                raise InputError(
                    f"bbox {tuple(bbox)} does not overlap {what} {p} ({tuple(ds.bounds)})"
                )
            window = Window(c0, r0, c1 - c0, r1 - r0)
        try:
            data = ds.read(band, window=window, masked=True)
        except RasterioIOError as exc:
            raise FileFormatError(
                f"cannot read {what} {p}: {str(exc).splitlines()[0]}; the file may be "
                f"truncated or corrupted"
            ) from exc
        src_transform = t
        if window is not None:
            from affine import Affine

            c0, r0 = window.col_off, window.row_off
            src_transform = Affine(
                t.a, t.b, t.c + c0 * t.a + r0 * t.b, t.d, t.e, t.f + c0 * t.d + r0 * t.e
            )
        nodata = ds.nodatavals[band - 1]
        dtype = ds.dtypes[band - 1]
        tags = ds.tags()
    z = np.ma.filled(data.astype(np.float64), np.nan)
    n_nodata = int(np.count_nonzero(~np.isfinite(z)))
    meta = {
        "source_crs": source.to_string(),
        "nodata": nodata,
        "band": band,
        "dtype": dtype,
        "nodata_cells": n_nodata,
        "tags": tags,
    }
    if same:
        transform = src_transform
        if transform.e > 0:  # south-up grid: flip to north-up
            from affine import Affine

            z = z[::-1].copy()
            transform = Affine(
                transform.a,
                0,
                transform.c,
                0,
                -transform.e,
                transform.f + transform.e * z.shape[0],
            )
    else:
        rows, cols = z.shape
        bounds = array_bounds(rows, cols, src_transform)
        left, bottom, right, top = bounds[0], bounds[1], bounds[2], bounds[3]
        if left > right:
            left, right = right, left
        if bottom > top:
            bottom, top = top, bottom
        kw = {"resolution": resolution} if resolution else {}
        with warnings.catch_warnings():
            # rasterio's own use of affine's deprecated `*` operator
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            dst_transform, width, height = calculate_default_transform(
                horizontal,
                target,
                cols,
                rows,
                left=left,
                bottom=bottom,
                right=right,
                top=top,
                **kw,
            )
        out = np.full((height, width), np.nan, dtype=np.float64)
        reproject(
            source=z,
            destination=out,
            src_transform=src_transform,
            src_crs=horizontal,
            src_nodata=np.nan,
            dst_transform=dst_transform,
            dst_crs=target,
            dst_nodata=np.nan,
            resampling=getattr(Resampling, resampling),
        )
        warnings.warn(
            f"{what} {p}: reprojected {rows}x{cols} cells from "
            f"{horizontal.to_string()!r} to {target.to_string()!r} "
            f"({height}x{width} cells at {dst_transform.a:.3g} m, {resampling})",
            ReprojectionWarning,
            stacklevel=3,
        )
        z, transform = out, dst_transform
        meta["reprojected"] = True
        meta["source_resolution"] = (abs(src_transform.a), abs(src_transform.e))
    if not np.isfinite(z).any():
        raise FileFormatError(f"{what} {p} holds only nodata cells in the area read")
    return Terrain(z, transform, target, datum, kind, str(p), meta)


def read_dem(path, crs="EPSG:2154", **kwargs):
    """Read a digital elevation model (bare ground) as a Terrain.

    Parameters
    ----------
    path : str or os.PathLike
        GeoTIFF (or another GDAL raster).
    crs : str, pyproj.CRS or None
        Target projected CRS (default Lambert-93; None keeps the file's).
    **kwargs
        ``band``, ``src_crs``, ``vertical_datum``, ``bbox``, ``resolution``,
        ``resampling``: see :func:`read_elevation`.

    Returns
    -------
    Terrain
        ``kind="dem"``; elevations [m], NaN on nodata.

    Examples
    --------
    >>> dem = cc.read_dem("dem_1m.tif")  # doctest: +SKIP
    >>> dem.sample([649800.0], [6865400.0])  # doctest: +SKIP
    """
    return read_elevation(path, "dem", crs=crs, **kwargs)


def read_dsm(path, crs="EPSG:2154", **kwargs):
    """Read a digital surface model (ground + buildings + trees) as a Terrain.

    Same parameters as :func:`read_dem`; returns ``kind="dsm"``.
    """
    return read_elevation(path, "dsm", crs=crs, **kwargs)
