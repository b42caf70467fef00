"""Readers and writers: formats only (cadastre, buildings, PLU, rasters, vector
files and GeoParquet, IFC, CityJSON, CityGML, weather), and :func:`describe`
for any of them. Column meanings of the data products live in
:mod:`cimcity.schemas`, shared with the Scene.

``cimcity.io.describe`` loads on first access (:mod:`cimcity.io.description`
imports every reader), so importing one reader stays light.
"""

from __future__ import annotations

import importlib

__all__ = ["describe"]

# public name -> "module:attribute" (loaded on first access)
_LAZY = {"describe": "cimcity.io.description:describe"}


def __getattr__(name):
    if name in _LAZY:
        mod, attr = _LAZY[name].split(":")
        value = getattr(importlib.import_module(mod), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cimcity.io' has no attribute {name!r}")
