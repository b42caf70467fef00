"""Merging overlapping polygons of one class so their interiors are disjoint.

The zonal terms need disjoint class layers (a crown overlapping another must
count once). Only connected groups of overlapping polygons are unioned: groups
of convex polygons in general position (tree crowns) by the numba kernel
:func:`cimcity._kernels.polygons.convex_unions`, the others by GEOS
(``shapely.union_all``, vectorised per group size). This is much cheaper than
one union of the whole layer.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .._kernels.polygons import convex_unions
from .threads import _parallel
from .zonal import COINCIDENCE_TOL, _overlapping_pairs, _Store

#: largest group of convex polygons unioned by the numba kernel (its cost grows
#: with the square of the group's vertices); larger groups go to GEOS
MAX_CONVEX_GROUP = 64


def _dissolve(st: _Store, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge overlapping polygons of one class so their interiors are disjoint.

    Only connected groups of overlapping polygons are unioned; the others are
    kept as they are, which is much cheaper than one union of the whole layer.
    Groups of convex polygons in general position (tree crowns) are unioned by
    :func:`cimcity._kernels.polygons.convex_unions`, the others (and the
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
