"""Checks of a flood's inputs against its result: the level against the DEM's
range, nodata holes next to the water. Split from :mod:`cimcity.flood.extent`
(module size); :func:`~cimcity.flood.extent.extent` calls them."""

from __future__ import annotations

import warnings

import numpy as np

from .._kernels import flood_label as KL
from ..errors import DataQualityWarning, InputError

#: a level more than this above the DEM's highest cell is refused [m]
MAX_LEVEL_ABOVE_DEM = 100.0


def check_level_range(scalar, grid, z, runs, *, warn: bool = True) -> None:
    """Refuse a level more than :data:`MAX_LEVEL_ABOVE_DEM` above the DEM's
    highest cell (a unit or datum mistake: 35 000 for 35 m); warn when it is
    above the highest cell (every valid cell is under water: the extent is
    bounded by the DEM, not by the water).

    The DEM's range is only computed when no cell stands above the level: a
    search of the dry cells (``runs`` of
    :func:`~cimcity.flood.extent.connected_depth`; of the whole DEM when
    ``runs`` is None) that usually stops after a few cells."""
    if grid is None:
        top_level = scalar
        if runs is None:  # a small flood (no labelling pass): read the DEM
            if KL.any_above(z, top_level):
                return
        elif KL.dry_above(z, top_level, runs[0], runs[1]):
            return
    else:
        found, top_level = KL.finite_max(grid)
        if not found or KL.any_above(z, top_level):
            return
    hi = float(np.fmax.reduce(z, axis=None))  # NaN-skipping, vectorised
    if not np.isfinite(hi) or top_level < hi:  # no valid cell, or one above
        return
    lo = float(np.fmin.reduce(z, axis=None))
    if top_level > hi + MAX_LEVEL_ABOVE_DEM:
        raise InputError(
            f"water level {top_level:g} m is {top_level - hi:,.0f} m above the DEM's "
            f"highest cell (the DEM spans {lo:.2f}–{hi:.2f} m): give the level in "
            f"metres in the DEM's vertical datum (at most {MAX_LEVEL_ABOVE_DEM:g} m "
            f"above its highest cell)"
        )
    if warn and top_level >= hi:
        warnings.warn(
            f"water level {top_level:g} m is above the DEM's highest cell "
            f"({hi:.2f} m; the DEM spans {lo:.2f}–{hi:.2f} m): the whole DEM "
            f"floods, so the extent stops at the DEM's edge, not at the water's",
            DataQualityWarning,
            stacklevel=5,
        )


def nodata_next_to_water(z, depth, connectivity: int, nanrow) -> int:
    """Cells of nodata holes (nodata regions not touching the grid edge)
    next to a flooded cell (by ``connectivity``); ``nanrow`` (rows,) bool
    tells the rows holding nodata, so only the band of rows between the
    first and the last of them is read."""
    with_nodata = np.flatnonzero(nanrow)
    if not len(with_nodata):
        return 0
    from scipy import ndimage

    rows = z.shape[0]
    r0, r1 = int(with_nodata[0]), int(with_nodata[-1]) + 1
    # no nodata outside rows r0:r1, so the nodata regions lie within them and
    # touch the grid edge through its side columns, or its first / last row
    nodata = np.isnan(z[r0:r1])
    structure = np.ones((3, 3), bool) if connectivity == 8 else None
    labels, n = ndimage.label(nodata, structure=structure)
    edge = [labels[:, 0], labels[:, -1]]
    if r0 == 0:
        edge.append(labels[0])
    if r1 == rows:
        edge.append(labels[-1])
    hole = nodata & ~np.isin(labels, np.unique(np.concatenate(edge)))
    if not hole.any():
        return 0
    a, b = max(r0 - 1, 0), min(r1 + 1, rows)  # the water one row around
    near_water = ndimage.binary_dilation(np.isfinite(depth[a:b]), structure=structure)
    return int((hole & near_water[r0 - a : r0 - a + r1 - r0]).sum())
