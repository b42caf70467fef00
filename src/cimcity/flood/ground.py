"""Ground level around buildings: samples in a ring just outside each footprint.

DEMs are often interpolated under buildings, so the ground a flood meets at a
building is read outside it: points 1-3 m off every outline segment (holes
included: a courtyard is outside the building), on the DEM bilinearly. Samples
that fall inside any footprint (neighbours, concave corners) are left out.
The sampling and the footprint fill are numba kernels
(:mod:`cimcity._kernels.flood`) on the packed outlines: ``rasterio.features.
rasterize`` converts every geometry in Python, which dominates for 100k
footprints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from .._kernels import flood as K
from ..errors import GeometryError

#: default ring around footprints where the ground level is read [m]
DEFAULT_RING = (1.0, 3.0)
#: number of offsets sampled across the ring
RING_OFFSETS = 3


@dataclass(eq=False)
class RingSamples:
    """Ring samples around building footprints, prepared once per scene/grid."""

    starts: np.ndarray  # (n + 1,) sample range of each building
    ground: np.ndarray  # (m,) bilinear ground elevation [m]
    use: np.ndarray  # (m,) sample kept for statistics
    rows: np.ndarray  # (m,) grid cell of the sample (-1 off grid)
    cols: np.ndarray
    fallback: np.ndarray  # (n,) bool, every sample was inside a footprint


def ring_samples(geoms, terrain, ring, spacing, exclude_buildings) -> RingSamples:
    """Points 1-3 m (``ring``) outside each footprint, every ``spacing`` m.

    Points are offset along the outward normal of each outline segment (holes
    included: courtyards are outside the building). Samples falling inside
    any footprint (neighbours, concave corners) are left out of the
    statistics unless that leaves a building without samples.
    """
    n = len(geoms)
    res = max(terrain.resolution)
    inner, outer = ring
    # the outer offset must reach beyond the cells the walls cut through
    outer = max(outer, inner + 0.5 * res, 1.5 * res)
    offsets = np.linspace(inner, outer, RING_OFFSETS)
    xy, ring_start, ring_part, part_owner = _packed_rings(geoms)
    is_hole = np.ones(len(ring_part), bool)
    part_first = np.searchsorted(ring_part, np.arange(len(part_owner)))
    is_hole[part_first[part_first < len(ring_part)]] = False
    t = terrain.transform
    z = np.ascontiguousarray(terrain.elevation)
    starts, _, _, ground, r, c = K.ring_samples(
        xy,
        ring_start,
        part_owner[ring_part],  # non-decreasing: parts keep the input order
        is_hole,
        n,
        offsets,
        float(spacing),
        z,
        t.c,
        t.f,
        t.a,
        -t.e,
        False,
    )
    use = np.isfinite(ground)
    fallback = np.zeros(n, bool)
    if exclude_buildings and len(ground):
        part_ring_start = np.searchsorted(ring_part, np.arange(len(part_owner) + 1))
        inside = _in_footprints(xy, ring_start, part_ring_start, outer, terrain, r, c)
        kept = use & ~inside
        counts = np.diff(starts)
        n_kept = np.add.reduceat(
            kept.astype(np.int64), np.minimum(starts[:-1], len(kept) - 1)
        )
        n_kept = np.where(counts > 0, n_kept, 0)
        fallback = (n_kept == 0) & (counts > 0)
        use = kept | (use & np.repeat(fallback, counts))
    return RingSamples(starts, ground, use, r, c, fallback)


def _packed_rings(geoms):
    """Polygon / MultiPolygon outlines as flat arrays (one C call, no
    per-geometry Python).

    Returns
    -------
    xy : (v, 2) float64 vertices of closed rings, ring after ring [m]
    ring_start : (n_rings + 1,) int64 vertex range of each ring
    ring_part : (n_rings,) int64 polygon part of each ring (non-decreasing)
    part_owner : (n_parts,) int64 input geometry of each part (non-decreasing)
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    if not n:
        z = np.zeros(0, np.int64)
        return np.zeros((0, 2)), np.zeros(1, np.int64), z, z
    kind, coords, offsets = shapely.to_ragged_array(geoms, include_z=False)
    xy = np.ascontiguousarray(coords[:, :2], dtype=np.float64)
    ring_start = np.asarray(offsets[0], np.int64)
    part_ring = np.asarray(offsets[1], np.int64)
    ring_part = np.repeat(np.arange(len(part_ring) - 1), np.diff(part_ring))
    if kind == shapely.GeometryType.MULTIPOLYGON:
        geom_part = np.asarray(offsets[2], np.int64)
        part_owner = np.repeat(np.arange(n), np.diff(geom_part))
    elif kind == shapely.GeometryType.POLYGON:
        part_owner = np.arange(n)
    else:
        raise GeometryError(f"building footprints must be polygons; got {kind.name}")
    return xy, ring_start, ring_part.astype(np.int64), part_owner.astype(np.int64)


def _in_footprints(xy, ring_start, part_ring_start, margin, terrain, r, c):
    """True for samples whose DEM cell centre lies in a footprint (the
    footprints are filled on a window around them only)."""
    t = terrain.transform
    rows, cols = terrain.shape
    minx, miny = xy.min(axis=0) - margin - abs(t.a)
    maxx, maxy = xy.max(axis=0) + margin + abs(t.a)
    c0 = int(np.clip(np.floor((minx - t.c) / t.a), 0, cols))
    c1 = int(np.clip(np.ceil((maxx - t.c) / t.a), 0, cols))
    r0 = int(np.clip(np.floor((maxy - t.f) / t.e), 0, rows))
    r1 = int(np.clip(np.ceil((miny - t.f) / t.e), 0, rows))
    mask = np.zeros((max(r1 - r0, 0), max(c1 - c0, 0)), bool)
    if mask.size:
        K.fill_polygons(
            xy,
            ring_start,
            part_ring_start,
            t.c + c0 * t.a,
            t.f + r0 * t.e,
            t.a,
            -t.e,
            mask,
        )
    return K.lookup_mask(mask, r0, c0, r, c)
