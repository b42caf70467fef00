"""IFC: BIM projects (IFC2X3, IFC4, IFC4X3) read into the scene CRS.

:func:`read_ifc` (module :mod:`cimcity.io.ifc.read`) triangulates the building elements
(:mod:`cimcity.io.ifc.geometry`), places them from the file's georeferencing or a user
placement (:mod:`cimcity.io.ifc.georef`: ``IfcMapConversion``, IFC2X3 property sets,
``IfcSite`` latitude/longitude) and derives footprint, heights, storeys
(:mod:`cimcity.io.ifc.structure`) and a mesh. :func:`describe` (:mod:`cimcity.io.ifc.description`)
summarises a file without triangulating it (``cimcity info``). Files are
opened and their units read in :mod:`cimcity.io.ifc.file`; ifcopenshell is an optional extra
(``pip install "cimcity[ifc]"``), imported when a file is opened.
"""

from __future__ import annotations

from .description import describe
from .geometry import GEOMETRY_LIBRARIES, IfcGeometryWarning
from .georef import GeoreferenceWarning
from .read import read_ifc

__all__ = [
    "read_ifc",
    "describe",
    "GeoreferenceWarning",
    "IfcGeometryWarning",
    "GEOMETRY_LIBRARIES",
]
