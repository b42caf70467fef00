"""Description of an IFC file without triangulating it (``cimcity info``)."""

from __future__ import annotations

import math
from pathlib import Path

from .file import length_unit_name, open_ifc, unit_scale
from .georef import map_conversion, site_latlon, true_north
from .structure import storey_z


def describe(path) -> dict:
    """Summary of an IFC file without triangulating it (for ``cimcity info``).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    dict
        ``format``, ``schema``, ``file_size``, ``application``, ``project``,
        ``project_id``, ``length_unit``, ``counts`` (per IFC class: storeys,
        walls, slabs, spaces...), ``storeys`` (name, elevation [m, project]),
        ``georeferencing`` (method, CRS, map conversion parameters, site
        latitude/longitude [deg], true north).

    Raises
    ------
    FileFormatError
        Missing, empty, truncated or non-IFC file.
    """
    f = open_ifc(path)
    unit_m = unit_scale(f)
    project = f.by_type("IfcProject")[0]
    counts = {}
    for cls in (
        "IfcBuilding",
        "IfcBuildingStorey",
        "IfcSpace",
        "IfcWall",
        "IfcSlab",
        "IfcRoof",
        "IfcColumn",
        "IfcBeam",
        "IfcDoor",
        "IfcWindow",
        "IfcCurtainWall",
        "IfcStair",
        "IfcRailing",
        "IfcCovering",
        "IfcBuildingElementProxy",
        "IfcOpeningElement",
        "IfcFurnishingElement",
    ):
        try:
            n = len(f.by_type(cls))
        except RuntimeError:  # class absent from this schema
            continue
        if n:
            counts[cls] = n
    storeys = sorted(
        (
            {"name": s.Name, "elevation": round(storey_z(s, unit_m), 3)}
            for s in f.by_type("IfcBuildingStorey")
        ),
        key=lambda d: d["elevation"],
    )
    geo: dict = {"method": "none"}
    mc = map_conversion(f)
    if mc is not None:
        geo = {
            "method": mc["method"],
            "crs": mc["crs_name"],
            "eastings": mc["eastings"],
            "northings": mc["northings"],
            "orthogonal_height": mc["orthogonal_height"],
            "x_axis_abscissa": mc["x_axis_abscissa"],
            "x_axis_ordinate": mc["x_axis_ordinate"],
            "scale": mc["scale"],
        }
        if mc["scale"] is None and not math.isclose(unit_m, 1.0):
            geo["note"] = f"no Scale with a {unit_m:g} m project unit"
    site = site_latlon(f)
    if site is not None:
        geo["site_latitude"] = round(site["latitude"], 7)
        geo["site_longitude"] = round(site["longitude"], 7)
        # RefElevation is a length in project units (spec): reported in metres
        geo["site_elevation"] = (
            None if site["elevation"] is None else round(site["elevation"] * unit_m, 4)
        )
        if geo["method"] == "none":
            geo["method"] = "site_latlon (approximate)"
    geo["true_north"] = true_north(f)
    header = f.header.file_name
    return {
        "format": "IFC",
        "path": str(path),
        "file_size": Path(path).stat().st_size,
        "schema": f.schema,
        "application": getattr(header, "originating_system", None) or None,
        "project": project.Name,
        "project_id": project.GlobalId,
        "length_unit": length_unit_name(f),
        "counts": counts,
        "storeys": storeys,
        "georeferencing": geo,
    }
