"""The tiling of a city run: square cores on a fixed lattice, each with a halo.

Cores sit on the lattice ``x = k · tile_size`` (``y`` alike) of the CRS, so a
tile's id (``"ix_iy"``, the lattice indices) and its core do not depend on the
extent of the data: a rerun over a slightly different file finds its finished
tiles again. Cores are half-open squares ``[x0, x1) × [y0, y1)``, so every
point belongs to exactly one core; a feature (building, parcel) belongs to the
core holding its representative point (:func:`shapely.point_on_surface`,
inside the feature, so computed from the feature alone and identical in every
tile that reads it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from ..errors import InputError
from .tiles import MAX_TILES


@dataclass(frozen=True)
class Tile:
    """One tile of a city run.

    Attributes
    ----------
    id : str
        ``"ix_iy"``: lattice indices of the core.
    core : (minx, miny, maxx, maxy) [m]
        Half-open core square.
    halo : float
        Margin read around the core [m].
    """

    id: str
    core: tuple
    halo: float

    @property
    def read_box(self) -> tuple:
        """Core plus halo, the box the worker reads [m]."""
        x0, y0, x1, y1 = self.core
        h = self.halo
        return (x0 - h, y0 - h, x1 + h, y1 + h)


def lattice(bounds, tile_size: float, halo: float = 0.0) -> list[Tile]:
    """Tiles whose cores cover ``bounds``.

    Parameters
    ----------
    bounds : (minx, miny, maxx, maxy) [m]
    tile_size : float
        Core side [m], > 0.
    halo : float
        Margin [m], ≥ 0.

    Returns
    -------
    list of Tile
        In lattice order (x then y).

    Raises
    ------
    InputError
        Non-positive or non-finite sizes, non-finite bounds, or more than
        :data:`~cimcity.parallel.tiles.MAX_TILES` tiles.
    """
    try:
        t, h = float(tile_size), float(halo)
    except (TypeError, ValueError):
        raise InputError(
            f"tile_size and halo must be distances in metres; got {tile_size!r}, {halo!r}"
        ) from None
    if not (np.isfinite(t) and t > 0) or not (np.isfinite(h) and h >= 0):
        raise InputError(
            f"tile_size must be > 0 and halo >= 0 metres; got {tile_size!r}, {halo!r}"
        )
    b = np.asarray(bounds, float)
    if b.shape != (4,) or not np.isfinite(b).all() or b[2] < b[0] or b[3] < b[1]:
        raise InputError(f"nothing to tile: the bounds {tuple(b.ravel())} are not a box")
    i0, i1 = math.floor(b[0] / t), math.floor(b[2] / t)
    j0, j1 = math.floor(b[1] / t), math.floor(b[3] / t)
    n = (i1 - i0 + 1) * (j1 - j0 + 1)
    if n > MAX_TILES:
        raise InputError(
            f"tile_size {t:g} m cuts the {b[2] - b[0]:.0f} × {b[3] - b[1]:.0f} m area "
            f"into {n:,} tiles (more than {MAX_TILES:,}); use larger tiles"
        )
    return [
        Tile(f"{i}_{j}", (i * t, j * t, (i + 1) * t, (j + 1) * t), h)
        for i in range(i0, i1 + 1)
        for j in range(j0, j1 + 1)
    ]


def in_core(geometries, core) -> np.ndarray:
    """(n,) bool: features whose representative point lies in the half-open
    core ``[x0, x1) × [y0, y1)``."""
    g = np.asarray(geometries)
    if not len(g):
        return np.zeros(0, bool)
    p = shapely.point_on_surface(g)
    x, y = shapely.get_x(p), shapely.get_y(p)
    x0, y0, x1, y1 = core
    return (x >= x0) & (x < x1) & (y >= y0) & (y < y1)


def tile_of(x, y, tile_size: float) -> np.ndarray:
    """Ids ``"ix_iy"`` of the cores holding points (x, y) [m]."""
    i = np.floor(np.asarray(x, float) / tile_size).astype(np.int64)
    j = np.floor(np.asarray(y, float) / tile_size).astype(np.int64)
    return np.char.add(np.char.add(i.astype(str), "_"), j.astype(str))
