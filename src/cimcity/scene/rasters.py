"""Vegetation rasters held by a Scene (land cover, NDVI, canopy height).

A raster given to :meth:`Scene.add_vegetation` is stored as
``(array, transform, crs)`` in the scene CRS; one in another CRS is reprojected
(nearest neighbour for land-cover classes, bilinear otherwise) with a
:class:`~cimcity.errors.ReprojectionWarning`. rasterio is used directly: a
vegetation raster is a plain grid, not a format ``cimcity.io`` interprets.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from pyproj import CRS

from ..crs import check_bounds_in_area_of_use
from ..errors import CRSError, FileFormatError, InputError, ReprojectionWarning

#: what a vegetation raster may hold
KINDS = ("landcover", "ndvi", "cdsm")


#: accepted value range of each raster kind (NaN is nodata) [NDVI: -, canopy: m]
RANGES = {"ndvi": (-1.0, 1.0), "cdsm": (-1.0, 150.0)}


def vegetation_raster(src, kind: str, scene_crs) -> tuple:
    """A vegetation raster as ``(array, transform, crs)`` in ``scene_crs``.

    Parameters
    ----------
    src : str, Path, rasterio dataset or (array, transform, crs)
        The raster; a tuple's array is copied, never modified.
    kind : {"landcover", "ndvi", "cdsm"}
        Land-cover classes (int codes, nodata 0), NDVI [-] or canopy height
        above ground [m] (nodata NaN).
    scene_crs : pyproj.CRS

    Returns
    -------
    tuple
        ``(array, transform, crs)``: a 2D array (int classes for land cover,
        float64 otherwise), its north-up ``affine.Affine`` and ``scene_crs``.

    Raises
    ------
    InputError
        Unknown ``kind``, malformed tuple, an array that is not 2D, a rotated
        or sheared transform, NDVI outside [-1, 1] or canopy heights outside
        -1..150 m (:data:`RANGES`, naming the first bad value).
    FileFormatError
        A file that is not a raster (empty, truncated, another format).
    CRSError
        A raster without a CRS, or whose coordinates cannot be in its CRS
        (lon/lat declared as Lambert-93).
    """
    import rasterio
    from affine import Affine
    from rasterio.errors import RasterioIOError

    if kind not in KINDS:
        raise InputError(f"unknown vegetation raster {kind!r}; expected one of {KINDS}")
    if isinstance(src, tuple):
        if len(src) != 3:
            raise InputError(
                f"a raster tuple must be (array, transform, crs); got {len(src)} items"
            )
        arr, transform, crs = src
        try:
            arr = np.array(arr, dtype=None if kind == "landcover" else float)
        except (TypeError, ValueError) as exc:
            raise InputError(f"the {kind} raster must hold numbers; got {exc}") from exc
        try:
            transform = transform if isinstance(transform, Affine) else Affine(
                *tuple(transform)[:6]
            )
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"the {kind} raster transform must be an affine.Affine or 6 numbers; "
                f"got {transform!r}"
            ) from exc
    else:
        try:
            ds = src if hasattr(src, "read") else rasterio.open(src)
        except RasterioIOError as exc:
            if isinstance(src, str | Path) and not Path(src).exists():
                raise FileNotFoundError(2, f"{kind} raster not found", str(src)) from exc
            raise FileFormatError(
                f"cannot read {src} as a {kind} raster ({str(exc).splitlines()[0]}); "
                f"expected a GeoTIFF"
            ) from exc
        try:
            arr = ds.read(1, masked=True)
        except RasterioIOError as exc:
            raise FileFormatError(
                f"cannot read {src} as a {kind} raster: {str(exc).splitlines()[0]}; "
                f"the file may be truncated"
            ) from exc
        if np.ma.isMaskedArray(arr):
            arr = arr.filled(0 if kind == "landcover" else np.nan)
        if kind != "landcover":
            arr = arr.astype(float)
        transform, crs = ds.transform, ds.crs
    if arr.ndim != 2 or arr.size == 0:
        raise InputError(
            f"the {kind} raster must be a 2D array of cells; got shape {arr.shape}"
        )
    if transform.b != 0 or transform.d != 0 or not transform.a > 0 or not transform.e < 0:
        raise InputError(
            f"the {kind} raster must be north-up without rotation (a>0, e<0, b=d=0); "
            f"got transform {tuple(float(v) for v in tuple(transform)[:6])}; warp it "
            f"first (gdalwarp)"
        )
    if crs is None:
        raise CRSError(f"the {kind} raster has no CRS; give (array, transform, crs)")
    src_crs = CRS.from_user_input(crs)
    h, w = arr.shape
    left, top = transform @ (0, 0)
    right, bottom = transform @ (w, h)
    check_bounds_in_area_of_use(
        (min(left, right), min(top, bottom), max(left, right), max(top, bottom)),
        src_crs, f"{kind} raster",
    )
    _check_values(arr, kind)
    if src_crs.equals(scene_crs, ignore_axis_order=True):
        return (arr, transform, scene_crs)
    return _reprojected(arr, transform, crs, kind, scene_crs)


def _check_values(arr, kind) -> None:
    """Refuse values a raster of ``kind`` cannot hold (see :data:`RANGES`)."""
    if kind not in RANGES:
        return
    lo, hi = RANGES[kind]
    a = np.asarray(arr, float)
    inf = np.isinf(a)
    bad = inf | (np.isfinite(a) & ((a < lo) | (a > hi)))
    if bad.any():
        v = float(a[bad][0])
        unit = " m" if kind == "cdsm" else ""
        raise InputError(
            f"the {kind} raster holds {int(bad.sum())} value(s) outside "
            f"{lo:g}..{hi:g}{unit} (first: {v:g}); mark nodata cells with NaN"
        )


def _reprojected(arr, transform, crs, kind, scene_crs):
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    classes = kind == "landcover"
    h, w = arr.shape
    left, top = transform @ (0, 0)
    right, bottom = transform @ (w, h)
    dst_t, dw, dh = calculate_default_transform(
        crs, scene_crs, w, h, left=left, bottom=bottom, right=right, top=top
    )
    out = np.zeros((dh, dw), dtype=arr.dtype) if classes else np.full((dh, dw), np.nan)
    reproject(
        arr,
        out,
        src_transform=transform,
        src_crs=crs,
        dst_transform=dst_t,
        dst_crs=scene_crs,
        resampling=Resampling.nearest if classes else Resampling.bilinear,
        src_nodata=0 if classes else np.nan,
        dst_nodata=0 if classes else np.nan,
    )
    warnings.warn(
        f"{kind} raster reprojected from {CRS.from_user_input(crs).to_string()!r} to "
        f"{scene_crs.to_string()!r}",
        ReprojectionWarning,
        stacklevel=4,
    )
    return (out, dst_t, scene_crs)
