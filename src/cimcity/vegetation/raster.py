"""Rasters for the zonal engine: reading a grid, burning units into it.

:func:`_read_raster` takes a path, a rasterio dataset, a Terrain-like object or
``(array, transform[, crs])`` to one north-up float grid; :func:`_rasterize_layers`
burns units into label grids by pixel centre (``rasterio.features``), with
overlapping units on separate grids, so that one ``np.bincount`` per grid
counts pixels per unit and class.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from affine import Affine
from pyproj import CRS

from ..errors import InputError
from .zonal import _overlapping_pairs, _Store


@dataclass
class _Raster:
    values: np.ndarray  # float64, NaN = nodata
    transform: object
    crs: object
    what: str


def _read_raster(r, what: str) -> _Raster:
    """Array + transform + CRS from a path, a rasterio dataset, a Terrain-like
    object (``elevation``/``values``, ``transform``, ``crs``) or a tuple
    ``(array, transform[, crs])``."""
    crs = None
    if isinstance(r, str | Path):
        import rasterio

        p = Path(r)
        if not p.exists():
            raise InputError(f"{what} raster {str(p)!r} does not exist")
        with rasterio.open(p) as ds:
            arr = ds.read(1, masked=True)
            transform, crs = ds.transform, ds.crs
        values = np.ma.filled(arr.astype(np.float64), np.nan)
    elif hasattr(r, "read") and hasattr(r, "transform"):
        arr = r.read(1, masked=True)
        transform, crs = r.transform, r.crs
        values = np.ma.filled(arr.astype(np.float64), np.nan)
    elif isinstance(r, tuple | list):
        if len(r) not in (2, 3):
            raise InputError(
                f"{what} raster tuple must be (array, transform) or (array, "
                f"transform, crs); got {len(r)} items"
            )
        values = np.asarray(r[0], dtype=np.float64)
        transform = r[1]
        crs = r[2] if len(r) == 3 else None
    elif hasattr(r, "transform") and (hasattr(r, "elevation") or hasattr(r, "values")):
        values = np.asarray(
            getattr(r, "elevation", None) if hasattr(r, "elevation") else r.values,
            np.float64,
        )
        transform, crs = r.transform, getattr(r, "crs", None)
    else:
        raise InputError(
            f"{what} raster must be a GeoTIFF path, a rasterio dataset, a Terrain or "
            f"(array, transform[, crs]); got {type(r).__name__}"
        )
    if values.ndim != 2:
        raise InputError(f"{what} raster must be 2-D, got shape {values.shape}")
    if not isinstance(transform, Affine):
        transform = Affine(*tuple(transform)[:6])
    if transform.b != 0 or transform.d != 0:
        raise InputError(
            f"{what} raster is rotated (transform {tuple(transform)[:6]}); only "
            f"north-up grids are supported"
        )
    if crs is not None:
        crs = CRS.from_user_input(crs)
    return _Raster(values, transform, crs, what)


def _rasterize_layers(units: np.ndarray, shape, transform, threads) -> list[np.ndarray]:
    """Label grids (0 = no unit, i + 1 = unit i, pixel centres) such that no
    two overlapping units share a grid (greedy colouring of the overlap graph)."""
    from rasterio.features import rasterize

    n = len(units)
    colour = np.zeros(n, np.int64)
    valid = ~shapely.is_empty(units)
    if n > 1:
        st = _Store(threads)
        i, j = _overlapping_pairs(st, st.add(units))
        if len(i):
            nbr: dict[int, list[int]] = {}
            for a, b in zip(i.tolist(), j.tolist(), strict=True):
                nbr.setdefault(b, []).append(a)
            for k in sorted(nbr):
                used = {colour[m] for m in nbr[k]}
                c = 0
                while c in used:
                    c += 1
                colour[k] = c
    grids = []
    for c in range(int(colour.max()) + 1 if n else 0):
        sel = np.flatnonzero((colour == c) & valid)
        if not len(sel):
            continue
        grids.append(
            rasterize(
                zip(units[sel], (sel + 1).astype(np.int64), strict=True),
                out_shape=shape,
                transform=transform,
                fill=0,
                all_touched=False,
                dtype="int64",
            )
        )
    return grids
