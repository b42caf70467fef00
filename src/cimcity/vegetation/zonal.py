"""The zonal engine: how much of each layer lies in each unit, exactly.

All polygons of one computation sit in a :class:`_Store`, flattened once
(:mod:`cimcity.vegetation.flat`; shuffled inputs put in Z-order for memory locality) and
addressed by id. Areas of intersections of 2-4 polygons come area-only from the
numba kernels of :mod:`cimcity._kernels.polygons` (convex clipping when all
members but one are convex, boundary classification otherwise). A per-unit
quantity is a sum of signed *terms* Σ area(unit ∩ x₁ ∩ … ∩ xₘ) over disjoint
class layers (inclusion-exclusion, so no polygon difference is ever built):
:func:`_term`, with candidate pairs from bounding-box joins on a uniform grid
(:mod:`cimcity.vegetation.grid`) and containment tests (numba for convex units, prepared GEOS
otherwise) to skip clipping. Nothing here knows about vegetation or rules.

Why hand-written: the cover shares need only the *area* of millions of
unit × layer (× layer) intersections; GEOS overlay builds every result geometry
(see the kernels' module docstring), 50-60 times slower end to end
(``benchmarks/bench_vegetation.py``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely

from .._kernels.polygons import (
    convex_contains,
    convex_contains_boxes,
    tuple_areas,
)
from ..errors import InputError
from .flat import _as_geometry_array, _Flat
from .grid import _coherent, _Grid, _z_order
from .threads import _parallel, _threads

#: boundaries closer than this are taken as shared (coincident) [m]
COINCIDENCE_TOL = 1e-7
#: overlaps smaller than this are ignored when merging or pairing layers [m²]
AREA_TOL = 1e-6


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
    :mod:`cimcity._kernels.polygons`), many times faster than
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
