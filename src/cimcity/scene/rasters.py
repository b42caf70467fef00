"""Vegetation rasters held by a Scene (land cover, NDVI, canopy height).

A raster given to :meth:`Scene.add_vegetation` is stored as
``(array, transform, crs)`` in the scene CRS; one in another CRS is reprojected
(nearest neighbour for land-cover classes, bilinear otherwise) with a
:class:`~cimcity.errors.ReprojectionWarning`. rasterio is used directly: a
vegetation raster is a plain grid, not a format ``cimcity.io`` interprets.
"""

from __future__ import annotations

import warnings

import numpy as np
from pyproj import CRS

from ..errors import CRSError, InputError, ReprojectionWarning

#: what a vegetation raster may hold
KINDS = ("landcover", "ndvi", "cdsm")


def vegetation_raster(src, kind: str, scene_crs) -> tuple:
    """A vegetation raster as ``(array, transform, crs)`` in ``scene_crs``.

    Parameters
    ----------
    src : str, Path, rasterio dataset or (array, transform, crs)
        The raster.
    kind : {"landcover", "ndvi", "cdsm"}
        Land-cover classes (int codes, nodata 0), NDVI [-] or canopy height
        above ground [m] (nodata NaN).
    scene_crs : pyproj.CRS

    Raises
    ------
    InputError, CRSError
        Unknown ``kind``, malformed tuple, raster without a CRS.
    """
    import rasterio

    if kind not in KINDS:
        raise InputError(f"unknown vegetation raster {kind!r}; expected one of {KINDS}")
    if isinstance(src, tuple):
        if len(src) != 3:
            raise InputError("a raster tuple must be (array, transform, crs)")
        arr, transform, crs = src
        arr = np.asarray(arr)
    else:
        ds = src if hasattr(src, "read") else rasterio.open(src)
        arr = ds.read(1, masked=True)
        if np.ma.isMaskedArray(arr):
            arr = arr.filled(0 if kind == "landcover" else np.nan)
        if kind != "landcover":
            arr = arr.astype(float)
        transform, crs = ds.transform, ds.crs
    if crs is None:
        raise CRSError(f"the {kind} raster has no CRS; give (array, transform, crs)")
    if CRS.from_user_input(crs).equals(scene_crs, ignore_axis_order=True):
        return (arr, transform, scene_crs)
    return _reprojected(arr, transform, crs, kind, scene_crs)


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
