"""cimcity: a City Information Model in Python.

One 3D scene from cadastral parcels, building footprints, PLU zones, terrain and
IFC projects, with fast solar, shadow, flood, vegetation and permit analyses.

Heavy libraries (pyvista, ifcopenshell) and numba kernels load only when the
feature that needs them is used.
"""

from __future__ import annotations

import importlib

from . import errors
from .errors import CimcityError

__version__ = "0.1.0"

# public name -> "module:attribute" (loaded on first access)
_LAZY = {
    "Scene": "cimcity.scene:Scene",
    "Terrain": "cimcity.terrain:Terrain",
    "CityMesh": "cimcity.mesh:CityMesh",
    "BimModel": "cimcity.bim:BimModel",
    "read_cadastre": "cimcity.io.cadastre:read_cadastre",
    "read_buildings": "cimcity.io.buildings:read_buildings",
    "read_plu": "cimcity.io.plu:read_plu",
    "read_rules": "cimcity.io.plu:read_rules",
    "read_dem": "cimcity.io.raster:read_dem",
    "read_dsm": "cimcity.io.raster:read_dsm",
    "read_ifc": "cimcity.io.ifc:read_ifc",
    "read_cityjson": "cimcity.io.cityjson:read_cityjson",
    "read_citygml": "cimcity.io.citygml:read_citygml",
    "read_weather": "cimcity.io.weather:read_weather",
    "describe": "cimcity.io.description:describe",
}
_SUBMODULES = {
    "datasets", "scene", "mesh", "terrain", "raycast", "sun", "solar", "shadow",
    "flood", "vegetation", "permit", "render", "io", "parallel", "bim", "crs",
    "results", "testing", "page", "maps", "i18n", "heat",
}

__all__ = ["CimcityError", "errors", "__version__", *sorted(_LAZY), *sorted(_SUBMODULES)]


def __getattr__(name):
    if name in _LAZY:
        mod, attr = _LAZY[name].split(":")
        value = getattr(importlib.import_module(mod), attr)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        value = importlib.import_module(f"cimcity.{name}")
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cimcity' has no attribute {name!r}")


def __dir__():
    return __all__
