"""Small connected floods, found by a flood fill from the sources.

The connected flood of :func:`cimcity.flood.extent` labels every cell below
the level (:func:`~cimcity.flood.extent.connected_depth`), then keeps the
runs a source reaches. When the sources reach few cells, a low level, or wet
cells scattered in islands too small to join (a level grid tracking a noisy
slope at 20 % wet: 4 cells flooded out of 16 M, where the labelling pass
took 76 ms), most of that work is wasted. :func:`small_flood` first fills
from the sources (:func:`cimcity._kernels.flood_reach.reach`) and gives up
after :func:`budget` cells, so the usual large flood pays at most a small
fraction of its time for the attempt. Same cells and depths as the labelling
(depth ``level - z`` on the same cells, bit for bit); the depth sum may
differ from it by rounding (summation order).
"""

from __future__ import annotations

import numpy as np

from .._kernels import flood as K
from .._kernels.flood_reach import reach


def budget(cells: int) -> int:
    """Most cells the fill from the sources reaches before it gives up:
    1/4096 of the DEM, at least 256 (4,096 cells of 16 M).

    The fill walks about 200 ns a cell (each step reads three rows of the
    DEM), the labelling pass about 2 ns a cell of the whole DEM, so the fill
    pays only for floods below about 1 % of the DEM, and a large flood pays
    the failed attempt on top of its labelling. At 1/512 (the first budget)
    that attempt cost 6.5 ms on the 16 M valley, 8-19 % of every large
    flood; at 1/4096 it costs about 0.8 ms."""
    return max(256, cells // 4096)


def small_flood(z, scalar, grid, seeds, diagonal: bool, lowest: bool):
    """The connected flood by a fill from the sources, when it is small.

    Parameters
    ----------
    z : (rows, cols) float64, C-contiguous
        Elevation [m], NaN = nodata.
    scalar : float or None
        Water level [m] (None when ``grid`` is given).
    grid : (rows, cols) float64 or None
        Per-cell water levels [m] (NaN: no water).
    seeds : ((k,) int64, (k,) int64) or None
        Source cells; None: the DEM's edge cells (the lowest ones when
        ``lowest``).
    diagonal : bool
        8-connectivity when True, 4 otherwise.
    lowest : bool

    Returns
    -------
    tuple or None
        ``(depth, n_cells, depth_sum, None, n_sources, nanrow)`` as
        :func:`~cimcity.flood.extent.connected_depth` returns them (no runs),
        or None when the flood reaches more than :func:`budget` cells or the
        DEM holds nodata (its edge cells are sources too, and holes next to
        the water need the labelling pass's rows): the labelling pass then
        decides.
    """
    rows, cols = z.shape
    no_nodata = np.zeros(rows, np.bool_)
    if seeds is None:  # the DEM's border: its edge when it holds no nodata
        seeds = K.edge_cells_rows(z, lowest, no_nodata)
        if not len(seeds[0]):
            return None
    is_grid = grid is not None
    lv = 0.0 if is_grid else float(scalar)
    levels = grid if is_grid else np.empty((1, 1), np.float64)
    mark = np.zeros((rows, cols), np.uint8)  # lazily zeroed pages: touched ones only
    sr = np.ascontiguousarray(seeds[0], np.int64)
    sc = np.ascontiguousarray(seeds[1], np.int64)
    n, qr, qc = reach(z, lv, levels, is_grid, diagonal, sr, sc, budget(z.size), mark)
    if n < 0:
        return None
    # any nodata (NaN; or +inf and -inf together, then also the slow path)
    if np.isnan(np.add.reduce(z, axis=None)):
        return None
    r, c = qr[:n], qc[:n]
    d = (grid[r, c] if is_grid else lv) - z[r, c]
    depth = np.full((rows, cols), np.nan)
    depth[r, c] = d
    return depth, int(n), float(d.sum()), None, len(sr), no_nodata
