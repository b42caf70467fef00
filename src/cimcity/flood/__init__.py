"""Flood extent and per-building exposure from a DEM and a water level.

A static ("planar") flood model: water stands at a given level, scalar or
varying along a river, and floods the ground below it that is hydraulically
connected to the sources (the river). This is how flood-risk maps (PPRI,
TRI) are first sketched from a reference level, and what crisis teams need to
know fast: which areas, buildings, storeys and basements are under water at a
given gauge reading, and how that changes with the level.

Levels are altitudes in the vertical datum of the DEM (NGF-IGN69 in France);
gauge readings are converted with the gauge zero (Paris-Austerlitz: 25.92 m
NGF-IGN69, so the 1910 flood, 8.62 m at the gauge, stood at 34.54 m).

Main functions
--------------
:func:`extent`
    Flooded cells, depths, polygons and volume (:class:`FloodResult`).
:func:`exposure`
    Per building ground level, water depth, flooded storeys and basements,
    with per-parcel and per-zone summaries (:class:`ExposureResult`).
:func:`sweep`
    Flooded area, volume and exposed buildings for a series of levels
    (:class:`SweepResult`).
:func:`gauge_level`, :func:`scenario`, :class:`LevelProfile`
    Levels from a gauge reading, a historic flood, or a profile along a river.

Modules: :mod:`cimcity.flood.levels` (gauges, levels, profiles), :mod:`cimcity.flood.sources` (where
the water comes from), :mod:`cimcity.flood.extent`, :mod:`cimcity.flood.ground` (ground level around
buildings), :mod:`cimcity.flood.storeys` (floors and basements), :mod:`cimcity.flood.exposure`,
:mod:`cimcity.flood.sweep`, :mod:`cimcity.flood.views` (2D map and 3D view).

Not modelled: dynamics (flow, duration), levees failing, sewer backflow,
groundwater rise; a building "flooded" here is one the water reaches.
"""

from __future__ import annotations

from .checks import MAX_LEVEL_ABOVE_DEM
from .exposure import ExposureResult, exposure
from .extent import FloodResult, extent, spill_levels
from .ground import DEFAULT_RING, RING_OFFSETS
from .levels import (
    GAUGES,
    HISTORIC_FLOODS,
    Gauge,
    Level,
    LevelProfile,
    gauge_level,
    scenario,
)
from .storeys import BASEMENT_COLUMNS, BASEMENT_TOL, LEVEL_TOL
from .sweep import SweepResult, plot_sweep, sweep

__all__ = [
    "GAUGES",
    "HISTORIC_FLOODS",
    "Gauge",
    "Level",
    "LevelProfile",
    "FloodResult",
    "ExposureResult",
    "SweepResult",
    "gauge_level",
    "scenario",
    "extent",
    "exposure",
    "sweep",
    "plot_sweep",
    "spill_levels",
    "MAX_LEVEL_ABOVE_DEM",
    "DEFAULT_RING",
    "RING_OFFSETS",
    "LEVEL_TOL",
    "BASEMENT_TOL",
    "BASEMENT_COLUMNS",
]
