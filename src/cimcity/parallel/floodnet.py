"""Which DEM cells the water reaches, decided over the whole city in tiles.

In ``"connected"`` mode (:func:`cimcity.flood.extent`) a cell floods when its
ground is strictly below the level and a path of such cells joins it to a
source: a property of the whole DEM, which no halo bounds (the Seine can reach
a cellar 5 km away through a chain of low streets). The tiled run decides it
exactly, in two passes, the driver holding only tile borders:

1. **label** (:func:`label_tile`, on the workers): each tile's core window of
   the DEM (the cells whose centres lie in the core: windows partition the
   raster) gets its wet cells (``z < level``) labelled into connected
   components (:func:`scipy.ndimage.label`, 8- or 4-connectivity, as the
   flood kernel), written to ``_flood/<tile>.npy``; the worker returns the
   labels holding a source cell and the labels of its four border lines.
2. **merge** (:func:`merge`, in the driver): border cells of neighbouring
   tiles that touch (side, or corner with 8-connectivity) join their
   components (a union-find by :func:`scipy.sparse.csgraph.connected_components`
   over border and source labels only); a component is reached when it holds
   a source cell. Each tile gets the list of its reached labels.

The analysis of a tile then reads the labels of every core window its halo
overlaps and floods exactly the reached cells (a per-cell level grid, NaN
elsewhere, in ``"bathtub"`` mode): the same cells as one connected run over
the whole DEM, whatever the tiling. Sources must be geometries or points (a
river): ``"lowest"``/``"border"`` refer to the edge of one DEM and are refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..flood.levels import resolve_level
from ..flood.sources import seed_cells
from .sources import pixel_window, raster_shape, read_dem_window


def check_sources(sources) -> None:
    if sources is None or isinstance(sources, str) or (
        isinstance(sources, np.ndarray) and sources.dtype == bool
    ):
        raise InputError(
            f"a tiled flood needs sources= as geometries or (n, 2) points (the river: "
            f"a polygon, a line or points in the DEM's CRS); got {sources!r:.60}: "
            f"'lowest'/'border' and masks refer to the edge of one DEM, not of a city"
        )


def _wet(terrain, level):
    scalar, grid, _ = resolve_level(level, terrain)
    z = terrain.elevation
    with np.errstate(invalid="ignore"):
        wet = z < (scalar if grid is None else grid)
    return wet & np.isfinite(z)


def label_tile(task) -> dict:
    """Pass 1 on one tile (module docstring)."""
    from scipy import ndimage

    tile, dem, crs = task["tile"], task["dem"], task["crs"]
    terrain, (r0, r1, c0, c1) = read_dem_window(dem, tile.core, crs)
    out = dict(tile=tile.id, window=(r0, r1, c0, c1), seeded=[], labels=0)
    if terrain is None:
        return out
    wet = _wet(terrain, task["level"])
    structure = np.ones((3, 3), bool) if task["connectivity"] == 8 else None
    lab, n = ndimage.label(wet, structure=structure)
    lab = lab.astype(np.int32)
    path = Path(task["labels_dir"]) / f"{tile.id}.npy"
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, lab)
    tmp.replace(path)
    try:
        sr, sc = seed_cells(terrain, task["sources"])
        seeded = np.unique(lab[sr, sc])
    except InputError:  # the river does not touch this tile
        seeded = np.zeros(0, np.int32)
    out.update(
        labels=int(n),
        seeded=seeded[seeded > 0].astype(np.int32),
        top=lab[0].copy(), bottom=lab[-1].copy(),
        left=lab[:, 0].copy(), right=lab[:, -1].copy(),
    )
    return out


def merge(parts, shape, connectivity: int) -> dict:
    """Pass 2 in the driver: ``{tile id: reached labels (int32 array)}``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    parts = [p for p in parts if p["labels"]]
    if not parts:
        return {}
    offset = np.cumsum([0] + [p["labels"] for p in parts])
    # border cells in raster coordinates, with their global label
    keys, glab = [], []
    cols_total = shape[1]
    for k, p in enumerate(parts):
        r0, r1, c0, c1 = p["window"]
        rr = np.arange(r0, r1)
        cc = np.arange(c0, c1)
        for rows, cols, lab in (
            (np.full(c1 - c0, r0), cc, p["top"]),
            (np.full(c1 - c0, r1 - 1), cc, p["bottom"]),
            (rr, np.full(r1 - r0, c0), p["left"]),
            (rr, np.full(r1 - r0, c1 - 1), p["right"]),
        ):
            w = lab > 0
            keys.append(rows[w].astype(np.int64) * cols_total + cols[w])
            glab.append(lab[w].astype(np.int64) + offset[k])
    keys = np.concatenate(keys)
    glab = np.concatenate(glab)
    keys, first = np.unique(keys, return_index=True)
    glab = glab[first]
    steps = [(0, 1), (1, 0)] + ([(1, 1), (1, -1)] if connectivity == 8 else [])
    a, b = [glab], [glab]  # self loops keep every border label a node
    r, c = np.divmod(keys, cols_total)
    for dr, dc in steps:
        nr, nc = r + dr, c + dc
        ok = (nc >= 0) & (nc < cols_total)
        nk = nr[ok] * cols_total + nc[ok]
        i = np.searchsorted(keys, nk)
        i = np.minimum(i, len(keys) - 1)
        hit = keys[i] == nk
        a.append(glab[ok][hit])
        b.append(glab[i[hit]])
    seeds = np.concatenate([p["seeded"].astype(np.int64) + offset[k] for k, p in enumerate(parts)] or [np.zeros(0, np.int64)])
    a = np.concatenate(a + [seeds])
    b = np.concatenate(b + [seeds])
    nodes, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    ia, ib = inv[: len(a)], inv[len(a):]
    g = coo_matrix((np.ones(len(ia), np.int8), (ia, ib)), shape=(len(nodes), len(nodes)))
    _, comp = connected_components(g, directed=False)
    wet_comp = np.unique(comp[np.searchsorted(nodes, seeds)]) if len(seeds) else np.zeros(0, int)
    reached_nodes = nodes[np.isin(comp, wet_comp)]
    out = {}
    for k, p in enumerate(parts):
        lo, hi = offset[k], offset[k + 1]
        sel = reached_nodes[(reached_nodes > lo) & (reached_nodes <= hi)] - lo
        out[p["tile"]] = sel.astype(np.int32)
    return out


def reached_mask(terrain, window, tiles, reached, labels_dir, dem) -> np.ndarray:
    """(rows, cols) bool on a tile's halo window: cells the water reaches.

    Parameters
    ----------
    terrain : Terrain
        The halo window of the DEM.
    window : (r0, r1, c0, c1)
        Its place in the whole raster.
    tiles : list of Tile
        Every tile of the run (their cores partition the raster).
    reached : dict
        ``{tile id: reached labels}`` (:func:`merge`).
    """
    R0, R1, C0, C1 = window
    shape, transform = raster_shape(dem)
    mask = np.zeros((R1 - R0, C1 - C0), bool)
    for t in tiles:
        labs = reached.get(t.id)
        if labs is None or not len(labs):
            continue
        r0, r1, c0, c1 = pixel_window(transform, t.core, shape)
        a0, a1 = max(r0, R0), min(r1, R1)
        b0, b1 = max(c0, C0), min(c1, C1)
        if a0 >= a1 or b0 >= b1:
            continue
        lab = np.load(Path(labels_dir) / f"{t.id}.npy", mmap_mode="r")
        part = np.asarray(lab[a0 - r0:a1 - r0, b0 - c0:b1 - c0])
        mask[a0 - R0:a1 - R0, b0 - C0:b1 - C0] = np.isin(part, labs)
    return mask


def level_grid(terrain, level, mask) -> np.ndarray:
    """Per-cell level on a window: the level where the water reaches, NaN elsewhere."""
    scalar, grid, _ = resolve_level(level, terrain)
    lv = np.full(terrain.elevation.shape, np.nan)
    lv[mask] = scalar if grid is None else grid[mask]
    return lv
