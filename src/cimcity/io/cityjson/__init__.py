"""CityJSON in and out (versions 1.0, 1.1 and 2.0 read, 2.0 written).

Layout
------
:mod:`cimcity.io.cityjson.read`
    :func:`read_cityjson`: a CityJSON file → a :class:`~cimcity.Scene`
    (buildings table, layers, detailed building models, the file kept in
    ``scene.meta["cityjson"]``).
:mod:`cimcity.io.cityjson.mesh`
    CityJSON geometry → triangles with surface kinds (:func:`cityjson_mesh`,
    the builder of ``scene.models``).
:mod:`cimcity.io.cityjson.write`
    :func:`write_cityjson` (``scene.to_cityjson(path)``).
:mod:`cimcity.io.cityjson.describe`
    :func:`describe`: a summary of a file for ``cimcity info``.
:mod:`cimcity.io.cityjson.document`
    Loading, header checks, CRS, LoD selection, surfaces (shared by the above).

References
----------
CityJSON specifications 1.1.3 and 2.0.1, https://www.cityjson.org/specs/ .
"""

from __future__ import annotations

from ...scene import formats as _scene_formats
from .description import describe
from .document import CityJSONWarning
from .mesh import cityjson_mesh
from .read import read_cityjson
from .write import write_cityjson

__all__ = [
    "read_cityjson",
    "write_cityjson",
    "cityjson_mesh",
    "describe",
    "CityJSONWarning",
]

# Scene.to_cityjson writes through the Scene's formats registry
_scene_formats.register_writer("cityjson", write_cityjson)
