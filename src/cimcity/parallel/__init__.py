"""City-scale runs: tiles with a halo, on Dask, threads or serially.

Two ways in:

- :func:`run` (:mod:`~cimcity.parallel.pipeline`): a whole city **from files**;
  workers read their tile by box, compute, and write one GeoParquet part per
  tile with a manifest; the driver never holds the city. Seam-free: halos
  from the data and the period (:mod:`~cimcity.parallel.halo`), every
  building in exactly one core (:mod:`~cimcity.parallel.grid`), flood
  connectivity decided over the whole DEM (:mod:`~cimcity.parallel.floodnet`),
  heat on one person-point lattice for the city (:mod:`~cimcity.parallel.heat`).
  Engines in :mod:`~cimcity.parallel.engine`, outputs in
  :mod:`~cimcity.parallel.store`.
- :func:`map_tiles` (:mod:`~cimcity.parallel.tiles`): any function over an
  in-memory Scene, cut into tiles in the driver.
"""

from __future__ import annotations

from .analyses import ANALYSES, TileError
from .engine import RUN_SCHEDULERS, local_cluster
from .grid import Tile, lattice
from .pipeline import CityRun, read, run
from .tiles import MAX_TILES, SCHEDULERS, map_tiles, tile_grid, tile_stats

__all__ = [
    "run",
    "read",
    "CityRun",
    "TileError",
    "ANALYSES",
    "RUN_SCHEDULERS",
    "local_cluster",
    "Tile",
    "lattice",
    "map_tiles",
    "tile_grid",
    "tile_stats",
    "SCHEDULERS",
    "MAX_TILES",
]
