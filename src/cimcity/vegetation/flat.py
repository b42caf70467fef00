"""Polygons flattened for the area kernels.

Input polygons (GeoDataFrame, GeoSeries, shapely arrays) are checked and
repaired once (:func:`_as_geometry_array`), then flattened into plain arrays of
vertex coordinates and ring / geometry offsets (:class:`_Flat`), rings oriented
with the interior on their left, with each geometry's bounding box, area and
convexity: the form the numba kernels of :mod:`cimcity._kernels.polygons` read.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._kernels.polygons import (
    convex_flags,
    geom_bounds_areas,
    orient_rings,
    permute_flat,
    scan_rings,
)
from ..errors import GeometryError, RepairWarning


def _as_geometry_array(geoms, what: str, validate: bool = True) -> np.ndarray:
    """Polygonal shapely array (object) from a GeoDataFrame / GeoSeries / list;
    invalid polygons are repaired with a RepairWarning; empty ones are kept (they
    simply have no area)."""
    if isinstance(geoms, gpd.GeoDataFrame):
        geoms = geoms.geometry.values
    if isinstance(geoms, gpd.GeoSeries):
        geoms = geoms.values
    if isinstance(geoms, shapely.Geometry):
        geoms = [geoms]
    arr = np.asarray(geoms, dtype=object)
    if arr.ndim != 1:
        raise GeometryError(
            f"{what}: expected a 1-D sequence of polygons, got shape {arr.shape}"
        )
    if not len(arr):
        return arr
    missing = pd.isna(arr)
    if missing.any():
        arr = arr.copy()
        arr[missing] = shapely.Polygon()
    ok_type = np.isin(shapely.get_type_id(arr), (3, 6)) | shapely.is_empty(arr)
    if not ok_type.all():
        first = arr[~ok_type][0]
        raise GeometryError(
            f"{what}: {int((~ok_type).sum())} geometries are not polygons (first: "
            f"{first.geom_type}); expected Polygon or MultiPolygon"
        )
    invalid = ~shapely.is_valid(arr) if validate else np.zeros(len(arr), bool)
    if invalid.any():
        arr = arr.copy()
        fixed = shapely.make_valid(arr[invalid])
        arr[invalid] = [_polygonal(g) for g in fixed]
        warnings.warn(
            f"{what}: repaired {int(invalid.sum())} invalid polygons with make_valid",
            RepairWarning,
            stacklevel=3,
        )
    return arr


def _polygonal(g):
    """The polygonal part of a geometry (collections from overlay or make_valid)."""
    tid = shapely.get_type_id(g)
    if tid in (3, 6):
        return g
    parts = shapely.get_parts(g)
    keep = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
    return shapely.union_all(keep) if len(keep) else shapely.Polygon()


@dataclass
class _Flat:
    """Polygons flattened for the area kernels (rings oriented, interior left)."""

    x: np.ndarray
    y: np.ndarray
    ring_off: np.ndarray
    geom_ring: np.ndarray
    bounds: np.ndarray  # (n_geoms, 4); inf for empty geometries
    convex: np.ndarray  # (n_geoms,) bool: one convex counter-clockwise ring
    area: np.ndarray  # (n_geoms,) [m²]

    @classmethod
    def empty(cls) -> _Flat:
        z = np.zeros(0)
        return cls(
            z,
            z.copy(),
            np.zeros(1, np.int64),
            np.zeros(1, np.int64),
            np.zeros((0, 4)),
            np.zeros(0, bool),
            z.copy(),
        )

    @classmethod
    def of(cls, geoms: np.ndarray) -> _Flat:
        geoms = np.asarray(geoms, dtype=object)
        n = len(geoms)
        if n == 0:
            return cls.empty()
        coords, gidx = shapely.get_coordinates(geoms, return_index=True)
        geom_start = np.searchsorted(gidx, np.arange(n + 1)).astype(np.int64)
        x = np.ascontiguousarray(coords[:, 0], dtype=np.float64)
        y = np.ascontiguousarray(coords[:, 1], dtype=np.float64)
        ring_off, geom_ring, ok = scan_rings(x, y, geom_start)
        if not ok:  # a ring not closed or too short (invalid input): slow path
            return cls._ragged(geoms)
        # exterior flag of every ring, in coordinate order: each polygon (part)
        # has its exterior first, then its holes
        nring = np.diff(geom_ring)
        exterior = np.zeros(len(ring_off) - 1, bool)
        multi = (shapely.get_type_id(geoms) == 6) & (nring > 0)
        exterior[geom_ring[:-1][~multi & (nring > 0)]] = True
        if multi.any():
            m = np.flatnonzero(multi)
            parts, pidx = shapely.get_parts(geoms[m], return_index=True)
            pr = np.where(
                shapely.is_empty(parts), 0, 1 + shapely.get_num_interior_rings(parts)
            ).astype(np.int64)
            if (np.bincount(pidx, weights=pr, minlength=len(m)) != nring[m]).any():
                return cls._ragged(geoms)
            before = np.cumsum(pr) - pr  # rings of the earlier parts (all geoms)
            first = before[np.searchsorted(pidx, np.arange(len(m)))]
            at = geom_ring[m[pidx]] + before - first[pidx]
            exterior[at[pr > 0]] = True
        orient_rings(x, y, ring_off, exterior)
        return cls._finish(x, y, ring_off, geom_ring)

    @classmethod
    def _finish(cls, x, y, ring_off, geom_ring) -> _Flat:
        b, area = geom_bounds_areas(x, y, ring_off, geom_ring)
        return cls(
            x, y, ring_off, geom_ring, b, convex_flags(x, y, ring_off, geom_ring), area
        )

    @classmethod
    def _ragged(cls, geoms) -> _Flat:
        g = shapely.orient_polygons(geoms, exterior_cw=False)
        empty = shapely.is_empty(g)
        g = g.copy()
        g[empty] = None
        _, coords, offsets = shapely.to_ragged_array(g)
        if len(offsets) == 2:
            ring_off, geom_ring = offsets
        else:
            ring_off, poly_off, multi_off = offsets
            geom_ring = poly_off[multi_off]
        return cls._finish(
            np.ascontiguousarray(coords[:, 0], dtype=np.float64),
            np.ascontiguousarray(coords[:, 1], dtype=np.float64),
            np.ascontiguousarray(ring_off, dtype=np.int64),
            np.ascontiguousarray(geom_ring, dtype=np.int64),
        )

    def permuted(self, order: np.ndarray) -> _Flat:
        """The geometries in the order ``order`` (geometry ``order[k]`` first)."""
        order = np.ascontiguousarray(order, dtype=np.int64)
        x, y, ro, gr = permute_flat(
            self.x, self.y, self.ring_off, self.geom_ring, order
        )
        return _Flat(
            x, y, ro, gr, self.bounds[order], self.convex[order], self.area[order]
        )

    def __add__(self, other: _Flat) -> _Flat:
        return _Flat.concat([self, other])

    @staticmethod
    def concat(flats: list) -> _Flat:
        """One flat of the geometries of ``flats``, in order."""
        if len(flats) == 1:
            return flats[0]
        nc = np.cumsum([0] + [len(f.x) for f in flats])
        nr = np.cumsum([0] + [len(f.ring_off) - 1 for f in flats])
        return _Flat(
            np.concatenate([f.x for f in flats]),
            np.concatenate([f.y for f in flats]),
            np.concatenate(
                [f.ring_off[:-1] + nc[k] for k, f in enumerate(flats)] + [nc[-1:]]
            ),
            np.concatenate(
                [f.geom_ring[:-1] + nr[k] for k, f in enumerate(flats)] + [nr[-1:]]
            ),
            np.concatenate([f.bounds for f in flats]),
            np.concatenate([f.convex for f in flats]),
            np.concatenate([f.area for f in flats]),
        )
