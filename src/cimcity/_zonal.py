"""Zonal areas: how much of each layer lies in each unit, exactly and fast.

Two engines, both generic (no notion of vegetation or rules):

* vector: polygons flattened once into arrays (shuffled inputs put in Z-order
  for memory locality), area-only intersections of 2-4 polygons by the numba
  kernels of :mod:`cimcity._kernels.vegetation` (convex clipping when all
  members but one are convex, boundary classification otherwise), class
  layers made disjoint by merging overlapping groups only (numba union of
  convex polygons in general position, vectorised GEOS union for the others),
  per-unit sums of signed intersection terms (inclusion-exclusion), candidate
  pairs from bounding-box joins on a uniform grid, and containment tests
  (numba for convex units, prepared GEOS otherwise) to skip clipping;
* raster: units burnt into the grid by pixel centre (``rasterio.features``),
  overlapping units on separate grids, then one ``np.bincount`` per grid.

Used by :mod:`cimcity.vegetation`; shapely's vectorised functions and the
kernels release the GIL, so the heavy steps run in threads.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import GeometryError, InputError, RepairWarning

#: boundaries closer than this are taken as shared (coincident) [m]
COINCIDENCE_TOL = 1e-7
#: overlaps smaller than this are ignored when merging or pairing layers [m²]
AREA_TOL = 1e-6


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
        from ._kernels.vegetation import orient_rings, scan_rings

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
        from ._kernels.vegetation import convex_flags, geom_bounds_areas

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
        from ._kernels.vegetation import permute_flat

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


def _threads(threads) -> int:
    if threads is None:
        return max(1, min(os.cpu_count() or 1, 8))
    threads = int(threads)
    if threads < 1:
        raise InputError(f"threads must be >= 1, got {threads}")
    return threads


def _chunks(n: int, threads: int, min_size: int = 5_000) -> list[slice]:
    k = max(1, min(threads * 2, n // min_size))
    cuts = np.linspace(0, n, k + 1).astype(np.int64)
    return [slice(cuts[i], cuts[i + 1]) for i in range(k)]


def _parallel(func, n: int, threads: int, min_size: int = 5_000) -> list:
    """``func(slice)`` over chunks of ``range(n)`` in threads (shapely and the
    numba kernels release the GIL); results in chunk order."""
    parts = _chunks(n, threads, min_size)
    if len(parts) == 1 or threads == 1:
        return [func(sl) for sl in parts]
    with ThreadPoolExecutor(threads) as ex:
        return list(ex.map(func, parts))


class _Grid:
    """Boxes binned on a uniform grid for bounding-box joins (numba, see
    :func:`cimcity._kernels.vegetation.grid_query`); the answer of
    ``shapely.STRtree(geoms).query(other)`` without predicate, about 5 times
    faster on city layers (no Python/GEOS boundary per query)."""

    #: boxes covering more cells than this are tested one by one
    MAX_CELLS = 64

    def __init__(self, bounds: np.ndarray):
        from ._kernels.vegetation import grid_build

        self.bounds = np.ascontiguousarray(bounds, dtype=np.float64)
        b = self.bounds
        ok = np.isfinite(b[:, 0])  # empty geometries have infinite bounds
        n = int(ok.sum())
        if n:
            lo = np.array([np.min(b[:, k], where=ok, initial=np.inf) for k in (0, 1)])
            hi = np.array([np.max(b[:, k], where=ok, initial=-np.inf) for k in (2, 3)])
            idx = np.flatnonzero(ok)
            s_ = b[idx[:: max(1, n // 10_000)]]  # a sample
            size = np.maximum(s_[:, 2] - s_[:, 0], s_[:, 3] - s_[:, 1])
            span = float(max(hi[0] - lo[0], hi[1] - lo[1], 1e-9))
            # cells about the size of a typical box (median of a sample), at
            # most ~4 per box
            cell = max(float(np.median(size)), span / 4096.0, 1e-9)
            cell = max(cell, span / np.sqrt(4.0 * n + 16.0))
        else:
            lo, hi, cell = np.zeros(2), np.zeros(2), 1.0
        self.x0, self.y0, self.cell = float(lo[0]), float(lo[1]), float(cell)
        self.nx = int(min((hi[0] - lo[0]) / cell, 1e7)) + 1
        self.ny = int(min((hi[1] - lo[1]) / cell, 1e7)) + 1
        self.start, self.items, self.big = grid_build(
            b, self.x0, self.y0, self.cell, self.nx, self.ny, self.MAX_CELLS
        )

    def query(self, qbounds: np.ndarray, threads: int, strict: bool = False):
        """(query index, item index) of the boxes that meet (touching counts;
        with ``strict``, only those that overlap over a positive area), sorted
        by query; threaded over chunks of queries."""
        from ._kernels.vegetation import grid_query

        qbounds = np.ascontiguousarray(qbounds, dtype=np.float64)
        args = (self.bounds, self.start, self.items, self.big)
        grid = (self.x0, self.y0, self.cell, self.nx, self.ny)

        def run(sl):
            qb = qbounds[sl]
            cap = 4 * len(qb) + 64
            while True:
                q = np.empty(cap, np.int64)
                p = np.empty(cap, np.int64)
                m = grid_query(*args, *grid, qb, strict, q, p)
                if m <= cap:
                    return q[:m] + sl.start, p[:m]
                cap = m

        res = _parallel(run, len(qbounds), threads, 50_000)
        return np.concatenate([r[0] for r in res]), np.concatenate([r[1] for r in res])


def _coherent(bounds: np.ndarray) -> bool:
    """Whether boxes (n, 4) come in a spatially coherent order: the median
    step between consecutive centres is at most 4 typical box sizes (row after
    row, tiles, Z-order...), as opposed to shuffled."""
    if len(bounds) < 1000:
        return True  # small: fits in cache whatever the order
    i = np.linspace(0, len(bounds) - 2, 4096).astype(np.int64)  # a sample
    a, b = bounds[i], bounds[i + 1]
    ok = np.isfinite(a[:, 0]) & np.isfinite(b[:, 0])
    a, b = a[ok], b[ok]
    if not len(a):
        return True
    step = np.abs(0.5 * (a[:, :2] + a[:, 2:]) - 0.5 * (b[:, :2] + b[:, 2:])).max(axis=1)
    size = np.maximum(a[:, 2] - a[:, 0], a[:, 3] - a[:, 1])
    return bool(np.median(step) <= 4.0 * np.median(size))


def _z_order(bounds: np.ndarray) -> np.ndarray:
    """Permutation sorting boxes (n, 4) by the Z-order (Morton) code of their
    centres on a 2¹⁶ grid over their extent; empty boxes (inf) last."""
    c = 0.5 * (bounds[:, :2] + bounds[:, 2:])
    ok = np.isfinite(c).all(axis=1)
    if not ok.any():
        return np.arange(len(bounds))
    lo = c[ok].min(axis=0)
    span = np.maximum(c[ok].max(axis=0) - lo, 1e-300)
    q = np.zeros((len(c), 2), np.uint64)
    q[ok] = ((c[ok] - lo) / span * 65535.0).astype(np.uint64)

    def spread(v):
        v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF)
        v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F)
        v = (v | (v << np.uint64(2))) & np.uint64(0x33333333)
        return (v | (v << np.uint64(1))) & np.uint64(0x55555555)

    code = spread(q[:, 0]) | (spread(q[:, 1]) << np.uint64(1))
    code[~ok] = np.iinfo(np.uint64).max
    return np.argsort(code, kind="stable")


class _Store:
    """All polygons of one computation, flattened once, addressed by id."""

    def __init__(self, threads=None):
        self.geoms = np.zeros(0, dtype=object)
        self.flat = _Flat.empty()
        self.threads = _threads(threads)
        self._trees: dict = {}
        self.tuples: dict = {}
        self.prepared = False
        self.unit_ids = np.zeros(0, np.int64)

    def add(self, *arrays) -> list[np.ndarray] | np.ndarray:
        """Add polygon arrays (flattened together); their id arrays.

        An array whose order is not spatially coherent (consecutive polygons
        far apart, e.g. shuffled) is stored in Z-order of its bounding-box
        centres, so that the kernels, fed in query order, read nearby memory
        (random order costs about a third of the kernel time in cache misses
        on 100k parcels); ``ids[i]`` is the store id of ``array[i]``.
        """
        ids, flats, geoms = [], [], []
        start = len(self.geoms)
        for a in arrays:
            a = np.asarray(a, dtype=object)
            if not len(a):
                ids.append(np.zeros(0, np.int64))
                continue
            flat = _Flat.concat(
                _parallel(lambda sl, a=a: _Flat.of(a[sl]), len(a), self.threads)
            )
            pos = np.arange(start, start + len(a), dtype=np.int64)
            if not _coherent(flat.bounds):
                order = _z_order(flat.bounds)
                flat = flat.permuted(order)
                a = a[order]
                pos[order] = pos.copy()
            ids.append(pos)
            flats.append(flat)
            geoms.append(a)
            start += len(a)
        if flats:
            self.flat = _Flat.concat(([self.flat] if len(self.geoms) else []) + flats)
            self.geoms = np.concatenate([self.geoms, *geoms])
        return ids[0] if len(ids) == 1 else ids

    @property
    def area(self) -> np.ndarray:
        """(n_geoms,) polygon areas [m²]."""
        return self.flat.area

    def tree(self, ids: np.ndarray, key: str) -> _Grid:
        """Bounding-box index of the geometries ``ids`` (cached under ``key``)."""
        if key not in self._trees:
            self._trees[key] = _Grid(self.flat.bounds[ids])
        return self._trees[key]

    def query(self, ids: np.ndarray, key: str, qbounds: np.ndarray, strict=False):
        """Bounding-box candidates: (index into ``qbounds`` (n, 4), index into
        ``ids``), sorted by the first; ``strict``: boxes overlapping over a
        positive area only."""
        return self.tree(ids, key).query(qbounds, self.threads, strict)

    def areas(self, tuples: np.ndarray) -> np.ndarray:
        """Intersection area of each row of ``tuples`` (n, k) [m²] (kernel,
        threaded; implausible values redone with GEOS)."""
        from ._kernels.vegetation import tuple_areas

        tuples = np.ascontiguousarray(tuples, dtype=np.int64)
        out = np.empty(len(tuples))
        if not len(tuples):
            return out
        f = self.flat
        args = (f.x, f.y, f.ring_off, f.geom_ring, f.bounds, f.convex)
        n = self.threads
        if n == 1 or len(tuples) < 20_000:
            tuple_areas(*args, tuples, COINCIDENCE_TOL, out)
        else:
            # compile (or load from the cache) once before the threads share it
            tuple_areas(*args, tuples[:1], COINCIDENCE_TOL, out[:1])
            cuts = np.linspace(0, len(tuples), 4 * n + 1).astype(np.int64)

            def run(k):
                s, e = cuts[k], cuts[k + 1]
                tuple_areas(*args, tuples[s:e], COINCIDENCE_TOL, out[s:e])

            with ThreadPoolExecutor(n) as ex:
                list(ex.map(run, range(len(cuts) - 1)))
        # guard: an area outside [0, min(member areas)] flags input the kernel
        # cannot resolve (boundaries nearly coincident at the tolerance); those
        # rare tuples are redone with GEOS
        lim = self.area[tuples].min(axis=1)
        bad = (
            (out < -AREA_TOL) | (out > lim * (1 + 1e-9) + AREA_TOL) | ~np.isfinite(out)
        )
        if bad.any():
            g = self.geoms[tuples[bad, 0]]
            for j in range(1, tuples.shape[1]):
                g = shapely.intersection(g, self.geoms[tuples[bad, j]])
            out[bad] = shapely.area(g)
        return np.clip(out, 0.0, lim)


def intersection_area(a, b, ia=None, ib=None, threads=None) -> np.ndarray:
    """Area of the intersection of polygon pairs, without building the geometry.

    Exact (Green's theorem on the clipped boundaries, numba kernel in
    :mod:`cimcity._kernels.vegetation`), many times faster than
    ``shapely.area(shapely.intersection(a, b))`` and equal to it within
    floating-point rounding; shared (coincident) boundaries are handled.

    Parameters
    ----------
    a, b : sequences of Polygon / MultiPolygon (n_a,), (n_b,)
    ia, ib : (n_pairs,) int, optional
        Pair indices into ``a`` and ``b``; default: element-wise (same length).
    threads : int, optional
        Worker threads (the kernel releases the GIL); default: CPU count.

    Returns
    -------
    (n_pairs,) float64
        Intersection areas [m² when the coordinates are in metres].
    """
    a = _as_geometry_array(a, "a")
    b = _as_geometry_array(b, "b")
    if ia is None and ib is None:
        if len(a) != len(b):
            raise InputError(
                f"a and b have different lengths ({len(a)} and {len(b)}); give ia "
                f"and ib to pair them"
            )
        ia = ib = np.arange(len(a))
    elif ia is None or ib is None:
        raise InputError("give both ia and ib, or neither")
    ia = np.asarray(ia, dtype=np.int64)
    ib = np.asarray(ib, dtype=np.int64)
    if ia.shape != ib.shape or ia.ndim != 1:
        raise InputError(
            f"ia and ib must be 1-D of one length, got {ia.shape} and {ib.shape}"
        )
    for name, idx, n in (("ia", ia, len(a)), ("ib", ib, len(b))):
        if len(idx) and (idx.min() < 0 or idx.max() >= n):
            raise InputError(f"{name} holds indices outside [0, {n})")
    st = _Store(threads)
    ida, idb = st.add(a, b)
    return st.areas(np.column_stack([ida[ia], idb[ib]]))


def _overlapping_pairs(st: _Store, ids: np.ndarray):
    """Pairs (i < j) of positions in ``ids`` whose interiors overlap (> AREA_TOL)."""
    b = st.flat.bounds[ids]
    i, j = _Grid(b).query(b, st.threads, strict=True)
    keep = i < j
    i, j = i[keep], j[keep]
    if not len(i):
        return i, j
    area = st.areas(np.column_stack([ids[i], ids[j]]))
    keep = area > AREA_TOL
    return i[keep], j[keep]


#: largest group of convex polygons unioned by the numba kernel (its cost grows
#: with the square of the group's vertices); larger groups go to GEOS
MAX_CONVEX_GROUP = 64


def _dissolve(st: _Store, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge overlapping polygons of one class so their interiors are disjoint.

    Only connected groups of overlapping polygons are unioned; the others are
    kept as they are, which is much cheaper than one union of the whole layer.
    Groups of convex polygons in general position (tree crowns) are unioned by
    :func:`cimcity._kernels.vegetation.convex_unions`, the others (and the
    groups that kernel reports degenerate: shared edges, touching vertices) by
    GEOS (``shapely.union_all``, vectorised per group size).

    Returns
    -------
    kept ids (into the store), new merged geometries (to add to the store)
    """
    ids = ids[np.diff(st.flat.geom_ring)[ids] > 0]  # not empty
    none = np.zeros(0, dtype=object)
    if len(ids) < 2:
        return ids, none
    i, j = _overlapping_pairs(st, ids)
    if not len(i):
        return ids, none
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(ids)
    _, label = connected_components(
        coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)), directed=False
    )
    size = np.bincount(label)
    single = size[label] == 1
    multi = np.flatnonzero(~single)
    order = multi[np.argsort(label[multi], kind="stable")]
    labs = label[order]
    starts = np.r_[0, np.flatnonzero(np.diff(labs)) + 1]
    lengths = np.diff(np.r_[starts, len(order)])
    members = ids[order]
    # groups of convex polygons: numba union
    allconvex = np.logical_and.reduceat(st.flat.convex[members], starts)
    fast = allconvex & (lengths <= MAX_CONVEX_GROUP)
    merged = [_convex_unions(st, members, starts, lengths, np.flatnonzero(fast))]
    failed = np.flatnonzero(fast)[shapely.is_missing(merged[0])]
    merged[0] = merged[0][~shapely.is_missing(merged[0])]
    slow = np.sort(np.concatenate([np.flatnonzero(~fast), failed]))
    starts, lengths = starts[slow], lengths[slow]
    for s in np.unique(lengths):
        sel = starts[lengths == s]
        block = st.geoms[members[sel[:, None] + np.arange(s)[None, :]]]
        merged.extend(
            _parallel(
                lambda sl, block=block: shapely.union_all(block[sl], axis=1),
                len(block),
                st.threads,
                500,
            )
        )
    merged = np.concatenate(merged)
    return ids[single], merged[~shapely.is_empty(merged)]


def _convex_unions(st, members, starts, lengths, groups) -> np.ndarray:
    """Union polygons of the groups ``groups`` of convex polygons (members
    ``members[starts[g]: starts[g] + lengths[g]]``); None where the kernel
    found the group degenerate."""
    from ._kernels.vegetation import convex_unions

    out = np.full(len(groups), None, dtype=object)
    if not len(groups):
        return out
    f = st.flat
    st_ = starts[groups]
    ln = lengths[groups]
    mem = members[
        np.repeat(st_, ln) + (np.arange(ln.sum()) - np.repeat(np.cumsum(ln) - ln, ln))
    ]
    mem_off = np.r_[0, np.cumsum(ln)].astype(np.int64)
    args = (f.x, f.y, f.ring_off, f.geom_ring, f.bounds, mem)
    nvert = np.diff(f.ring_off)[f.geom_ring[mem]] - 1  # vertices of each member

    def run(sl):
        res = np.full(sl.stop - sl.start, None, dtype=object)
        g0 = sl.start
        while g0 < sl.stop:
            o = np.ascontiguousarray(mem_off[g0 : sl.stop + 1])
            cap = int(2 * nvert[o[0] : o[-1]].sum()) + 64
            ux, uy = np.empty(cap), np.empty(cap)
            ro = np.empty(cap // 4 + 2, np.int64)
            gr = np.empty(len(o), np.int64)
            ok = np.zeros(len(o) - 1, bool)
            shell = np.zeros(len(o) - 1, np.int64)
            done, nc, nr = convex_unions(
                *args, o, COINCIDENCE_TOL, ux, uy, ro, gr, ok, shell
            )
            gr[done] = nr
            ok, shell, gr = ok[:done], shell[:done], gr[: done + 1]
            rings = shapely.linearrings(
                np.column_stack([ux[:nc], uy[:nc]]),
                indices=np.repeat(np.arange(nr), np.diff(ro[: nr + 1])),
            )
            part = res[g0 - sl.start : g0 - sl.start + done]
            nring = np.diff(gr)
            one = ok & (nring == 1)
            part[one] = shapely.polygons(rings[gr[:-1][one]])
            for g in np.flatnonzero(ok & (nring > 1)):
                r = list(rings[gr[g] : gr[g + 1]])
                sh = r.pop(shell[g])
                part[g] = shapely.Polygon(sh, holes=r)
            # outputs full: go on from the first group left (a single group
            # that does not fit is left to GEOS)
            g0 += done if done else 1
        return res

    return np.concatenate(_parallel(run, len(groups), st.threads, 2_000))


def _boxes(b: np.ndarray) -> np.ndarray:
    return shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3])


def _tuples(st: _Store, L: dict, names: str):
    """Tuples of pieces, one from each layer named by the letters of ``names``,
    whose common area is positive: (tuples (n, m) ids, areas (n,) [m²], common
    boxes (n, 4)); cached on the store (``"GC"`` serves ``"GCB"``)."""
    if names in st.tuples:
        return st.tuples[names]
    lay = L[names[-1]]
    if len(names) == 1:
        res = (lay[:, None], st.area[lay], st.flat.bounds[lay])
    else:
        tup0, _, box0 = _tuples(st, L, names[:-1])
        empty = (np.zeros((0, len(names)), np.int64), np.zeros(0), np.zeros((0, 4)))
        if not len(tup0) or not len(lay):
            res = empty
        else:
            # pieces of the new layer whose box meets the tuple's common box
            q, p = st.query(lay, names[-1], box0, strict=True)
            b2 = st.flat.bounds[lay[p]]
            box = np.column_stack(
                [np.maximum(box0[q, :2], b2[:, :2]), np.minimum(box0[q, 2:], b2[:, 2:])]
            )
            tup = np.column_stack([tup0[q], lay[p]])
            area = st.areas(tup)
            keep = area > AREA_TOL
            res = (tup[keep], area[keep], box[keep]) if len(tup) else empty
    st.tuples[names] = res
    return res


def _inside(st: _Store, units_sel: np.ndarray, pieces=None, boxes=None) -> np.ndarray:
    """Whether each piece (store ids) or box ((n, 4) bounds) lies inside its
    unit (store ids): vertex tests in numba for convex units, prepared GEOS
    ``contains_properly`` for the others. False only costs a clip."""
    from ._kernels.vegetation import convex_contains, convex_contains_boxes

    out = np.zeros(len(units_sel), bool)
    if not len(units_sel):
        return out
    f = st.flat
    cv = f.convex[units_sel]
    k = np.flatnonzero(cv)
    if len(k):
        res = np.zeros(len(k), bool)
        if pieces is not None:
            convex_contains(
                f.x, f.y, f.ring_off, f.geom_ring, units_sel[k], pieces[k], res
            )
        else:
            convex_contains_boxes(
                f.x,
                f.y,
                f.ring_off,
                f.geom_ring,
                units_sel[k],
                np.ascontiguousarray(boxes[k]),
                res,
            )
        out[k] = res
    k = np.flatnonzero(~cv)
    if len(k):
        tests = st.geoms[pieces[k]] if pieces is not None else _boxes(boxes[k])
        out[k] = _contains(st, units_sel[k], tests)
    return out


def _contains(st: _Store, units_sel: np.ndarray, tests: np.ndarray) -> np.ndarray:
    """Prepared GEOS ``contains_properly(unit, test)``, element-wise, threaded."""
    if not st.prepared:
        shapely.prepare(st.geoms[st.unit_ids])
        st.prepared = True
    ug = st.geoms[units_sel]
    if not len(ug):
        return np.zeros(0, bool)
    return np.concatenate(
        _parallel(
            lambda sl: shapely.contains_properly(ug[sl], tests[sl]),
            len(ug),
            st.threads,
            20_000,
        )
    )


def _unit_pairs(st: _Store, units: np.ndarray, lay: np.ndarray, letter: str):
    """Pieces of one layer × the units whose boxes overlap theirs: (piece
    position in ``lay``, unit index, piece inside the unit), sorted by piece;
    cached per layer."""
    key = "units:" + letter
    if key not in st.tuples:
        q, u = st.query(units, "units", st.flat.bounds[lay], strict=True)
        pb = st.flat.bounds[lay[q]]
        ub = st.flat.bounds[units[u]]
        inbox = (
            (pb[:, 0] > ub[:, 0])
            & (pb[:, 1] > ub[:, 1])
            & (pb[:, 2] < ub[:, 2])
            & (pb[:, 3] < ub[:, 3])
        )
        inside = np.zeros(len(q), bool)
        inside[inbox] = _inside(st, units[u[inbox]], pieces=lay[q[inbox]])
        st.tuples[key] = (q, u, inside)
    return st.tuples[key]


def _term(st: _Store, units: np.ndarray, L: dict, names: str) -> np.ndarray:
    """Per unit, Σ area(unit ∩ x₁ ∩ … ∩ xₘ) over the pieces xᵢ of the layers
    named by the letters of ``names`` (``L[letter]``: sorted id array of
    disjoint polygons) [m²], (n_units,).

    A tuple lying inside one unit (its last piece is, or its common box is:
    :func:`_inside`) adds its area there without clipping;
    the others are clipped by the kernel with the unit as one more member. The
    candidate units of a tuple are those of its last piece (no new query).
    """
    out = np.zeros(len(units))
    if not len(units) or any(not len(L[c]) for c in names):
        return out
    last = L[names[-1]]
    q0, u0, in0 = _unit_pairs(st, units, last, names[-1])
    if len(names) == 1:
        area = st.area[last[q0]]
        rest = ~in0
        if rest.any():
            area[rest] = st.areas(np.column_stack([units[u0[rest]], last[q0[rest]]]))
        return np.bincount(u0, weights=area, minlength=len(units))
    tup, tarea, box = _tuples(st, L, names)
    if not len(tup):
        return out
    # expand each tuple to the unit pairs of its last piece
    pos = np.searchsorted(last, tup[:, -1])
    cnt = np.bincount(q0, minlength=len(last))
    start = np.cumsum(cnt) - cnt
    k = cnt[pos]
    t = np.repeat(np.arange(len(tup)), k)
    idx = start[pos][t] + (np.arange(len(t)) - np.repeat(np.cumsum(k) - k, k))
    u = u0[idx]
    inside = in0[idx].copy()
    tb = box[t]
    ub = st.flat.bounds[units[u]]
    meet = inside | (
        (np.maximum(tb[:, 0], ub[:, 0]) < np.minimum(tb[:, 2], ub[:, 2]))
        & (np.maximum(tb[:, 1], ub[:, 1]) < np.minimum(tb[:, 3], ub[:, 3]))
    )
    t, u, inside, tb, ub = t[meet], u[meet], inside[meet], tb[meet], ub[meet]
    inbox = ~inside & (
        (tb[:, 0] > ub[:, 0])
        & (tb[:, 1] > ub[:, 1])
        & (tb[:, 2] < ub[:, 2])
        & (tb[:, 3] < ub[:, 3])
    )
    if inbox.any():
        inside[inbox] = _inside(st, units[u[inbox]], boxes=tb[inbox])
    a = np.empty(len(t))
    a[inside] = tarea[t[inside]]
    rest = ~inside
    if rest.any():
        a[rest] = st.areas(np.column_stack([units[u[rest]], tup[t[rest]]]))
    return np.bincount(u, weights=a, minlength=len(units))


# ----------------------------------------------------------------------------------
# raster
# ----------------------------------------------------------------------------------
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
    from affine import Affine

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
        from pyproj import CRS

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
