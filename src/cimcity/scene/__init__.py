"""The Scene: cimcity's City Information Model in memory.

Layout
------
:mod:`cimcity.scene.core`
    :class:`Scene` itself: tables, ``add_*`` methods, the mesh, the cache.
:mod:`cimcity.scene.tables`
    Ids, validation and repair of the vector tables.
:mod:`cimcity.scene.heights`
    How missing heights and ground altitudes are resolved.
:mod:`cimcity.scene.relations`
    Links (zone ⊃ parcel ⊃ building) and navigation (``node``, ``parent``,
    ``children``).
:mod:`cimcity.scene.variants`
    ``with_project`` and ``clip``.
:mod:`cimcity.scene.models`
    The detailed building models (CityJSON LoD2, IFC) the scene holds.
:mod:`cimcity.scene.assembly`
    The scene compiled to one :class:`~cimcity.mesh.CityMesh`.
:mod:`cimcity.scene.rasters`
    Vegetation rasters.
:mod:`cimcity.scene.summary`
    Summary dict, repr and HTML card.
:mod:`cimcity.scene.formats`
    The registry through which ``cimcity.io`` provides the readers and writers
    for Scene methods that accept paths (the Scene imports no reader).
"""

from __future__ import annotations

from .core import Scene
from .heights import DEFAULT_GROUND_Z, DEFAULT_HEIGHT, STOREY_HEIGHT
from .models import BuildingModel, ModelStore

__all__ = [
    "Scene",
    "BuildingModel",
    "ModelStore",
    "STOREY_HEIGHT",
    "DEFAULT_HEIGHT",
    "DEFAULT_GROUND_Z",
]
