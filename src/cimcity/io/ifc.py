"""IFC reader: a BIM project (IFC2X3, IFC4, IFC4X3) placed in the scene CRS.

:func:`read_ifc` triangulates the building elements with ifcopenshell's
multi-threaded geometry iterator (world coordinates, metres), places them in the
scene CRS from the file's georeferencing (or a placement given by the user) and
derives what the city model needs: footprint, base and top altitudes, storeys
with floor areas, an element table and a mesh with per-face element and surface
kind. :func:`describe` summarises a file without triangulating it (``cimcity
info``).

Georeferencing, in order of precedence
--------------------------------------
1. ``placement=(x, y, z, rotation_deg)`` given by the user (``user_placement``).
2. ``IfcMapConversion`` + ``IfcProjectedCRS`` (IFC4/IFC4X3, ``map_conversion``).
3. ``ePSet_MapConversion`` + ``ePSet_ProjectedCRS`` on the project or site
   (IFC2X3 convention of the buildingSMART georeferencing guide,
   ``epset_map_conversion``).
4. ``IfcSite.RefLatitude/RefLongitude/RefElevation`` with the context's
   ``TrueNorth`` (``site_latlon``): approximate (metres), flagged
   ``approximate=True`` with a :class:`GeoreferenceWarning`.
5. Nothing: the model stays in project coordinates, ``georef["method"] ==
   "none"`` and ``crs is None`` (permit checks report ``not_checkable``).

The map conversion is ``E = E0 + s·(a·x − b·y)``, ``N = N0 + s·(b·x + a·y)``,
``H = H0 + s·z`` with ``(a, b)`` the normalised ``XAxisAbscissa/Ordinate`` and
``s`` the ``Scale`` (project length unit → map unit). When ``Scale`` is missing
while the project unit differs from the map unit (a millimetre project with a
metre CRS), ``s`` is taken as the unit ratio and a warning is issued; a ``Scale``
of about 1 in that situation (an exporter that forgot the units) is multiplied
by the unit ratio, also with a warning.

What is building volume
-----------------------
Building elements (``IfcBuildingElement``, ``IfcBuiltElement`` in IFC4X3:
walls, slabs, roofs, columns, beams, doors, windows, stairs, railings,
coverings, curtain walls, shading devices, proxies...). Spaces, openings,
furniture, distribution elements, annotations, grids and the site (terrain) are
not. Footings and piles, and elements of storeys below the ground storey, are
below ground: listed in ``elements`` (``above_ground=False``) but left out of
the mesh, footprint and heights. The *ground storey* is the lowest storey at or
above project elevation 0 (tolerance :data:`STOREY_GROUND_TOL`); without
storeys, the lowest element.

References
----------
buildingSMART, *User Guide for Geo-referencing in IFC*, v2.0 (2020).
IFC4 ADD2 TC1, ``IfcMapConversion``, ``IfcProjectedCRS``, ``IfcSite``.
"""

from __future__ import annotations

import math
import multiprocessing
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from .._compat import import_optional
from ..bim import BimModel
from ..crs import DEFAULT_CRS, as_projected_crs, check_bounds_in_area_of_use
from ..errors import (
    CimcityWarning,
    CRSError,
    FileFormatError,
    GeoreferenceError,
    InputError,
)
from ..mesh import KIND_CODES

__all__ = [
    "read_ifc",
    "describe",
    "GeoreferenceWarning",
    "IfcGeometryWarning",
    "GEOMETRY_LIBRARIES",
]

#: storeys lower than this below project zero are basements [m]
STOREY_GROUND_TOL = 0.5
#: an element counts as above ground when it rises this much above ground [m]
ABOVE_GROUND_TOL = 0.01
#: morphological closing applied to the footprint to close hairline gaps
#: between adjacent elements [m]
FOOTPRINT_CLOSING = 0.005
#: holes smaller than this are dropped from the footprint [m²]
FOOTPRINT_MIN_HOLE = 0.05
#: |n_z| above which a face is horizontal-ish (roof / ground), else wall [-]
HORIZONTAL_NZ = 0.5
#: geometry kernels accepted by ``geometry_library`` (fastest first)
GEOMETRY_LIBRARIES = ("hybrid-cgal-simple-opencascade", "opencascade", "cgal")
#: classes below ground by nature
_BELOW_GROUND_CLASSES = ("IfcFooting", "IfcPile")
#: classes whose plan projection defines a storey's gross floor area
_GFA_CLASSES = ("IfcWall", "IfcColumn", "IfcCurtainWall", "IfcSlab", "IfcPlate")
_NOT_FLOOR_SLABS = ("ROOF", "LANDING")


class GeoreferenceWarning(CimcityWarning):
    """Georeferencing is approximate, incomplete or was corrected."""


class IfcGeometryWarning(CimcityWarning):
    """Some IFC geometry could not be triangulated, or none is above ground."""


# -- file access ------------------------------------------------------------------------


def _open(path):
    """Open an IFC file or raise :class:`FileFormatError` naming it."""
    ifcopenshell = import_optional("ifcopenshell")
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"IFC file {str(path)!r} does not exist")
    if path.is_dir():
        raise FileFormatError(f"{str(path)!r} is a directory, not an IFC file")
    size = path.stat().st_size
    if size == 0:
        raise FileFormatError(f"IFC file {str(path)!r} is empty (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(4096)
        fh.seek(max(0, size - 4096))
        tail = fh.read()
    is_spf = head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"ISO-10303-21")
    if path.suffix.lower() == ".ifc" or is_spf:
        if not is_spf:
            raise FileFormatError(
                f"{str(path)!r} is not an IFC file: it does not start with the "
                f"STEP header 'ISO-10303-21;' (IFC-SPF expected; .ifcXML and "
                f".ifcZIP are read by extension)"
            )
        if b"END-ISO-10303-21" not in tail:
            raise FileFormatError(
                f"IFC file {str(path)!r} is truncated: no 'END-ISO-10303-21;' "
                f"trailer ({size} bytes); re-export or re-download it"
            )
    try:
        f = ifcopenshell.open(str(path))
    except Exception as exc:  # ifcopenshell raises its own Error / OSError
        raise FileFormatError(f"cannot read IFC file {str(path)!r}: {exc}") from exc
    if not f.by_type("IfcProject"):
        raise FileFormatError(
            f"IFC file {str(path)!r} has no IfcProject: not a valid IFC model "
            f"(truncated or a fragment?)"
        )
    return f


def _unit_scale(f) -> float:
    import ifcopenshell.util.unit as uu

    return float(uu.calculate_unit_scale(f))


def _length_unit_name(f) -> str:
    import ifcopenshell.util.unit as uu

    try:
        u = uu.get_project_unit(f, "LENGTHUNIT")
        return uu.get_full_unit_name(u).lower() if u is not None else "metre"
    except Exception:  # exotic unit definitions: report the scale instead
        return f"{_unit_scale(f)} m"


# -- georeferencing ---------------------------------------------------------------------


def _compound_to_deg(value) -> float | None:
    """IFC compound plane angle (deg, min, s[, millionths]) → decimal degrees."""
    if value is None:
        return None
    parts = list(value) + [0] * (4 - len(value))
    d, m, s, us = (float(x) for x in parts[:4])
    return d + m / 60.0 + s / 3600.0 + us / 3.6e9


def _wcs(f) -> np.ndarray | None:
    import ifcopenshell.util.geolocation as ug

    try:
        w = ug.get_wcs(f)
    except Exception:  # broken contexts: treat as identity
        return None
    if w is None:
        return None
    w = np.asarray(w, float)
    return None if np.allclose(w, np.eye(4)) else w


def _true_north(f) -> tuple[float, float]:
    for ctx in f.by_type("IfcGeometricRepresentationContext", include_subtypes=False):
        tn = getattr(ctx, "TrueNorth", None)
        if tn is not None:
            r = [float(x) for x in tn.DirectionRatios[:2]]
            n = math.hypot(*r)
            if n > 0:
                return r[0] / n, r[1] / n
    return 0.0, 1.0


def _named_unit_metres(unit) -> float | None:
    """Metres per unit of an IfcNamedUnit (None when unknown)."""
    if unit is None:
        return None
    import ifcopenshell.util.unit as uu

    try:
        return float(uu.get_unit_scale(unit))
    except Exception:  # unknown unit kind
        return None


def _map_conversion(f) -> dict | None:
    """Parameters of the file's map conversion (IFC4 entity or IFC2X3 psets)."""
    import ifcopenshell.util.element as ue

    if f.schema != "IFC2X3":
        ops = [op for op in f.by_type("IfcCoordinateOperation")]
        mc = [op for op in ops if op.is_a("IfcMapConversion")]
        if mc:
            op = mc[0]
            target = op.TargetCRS
            out = {
                "method": "map_conversion",
                "eastings": float(op.Eastings or 0.0),
                "northings": float(op.Northings or 0.0),
                "orthogonal_height": float(op.OrthogonalHeight or 0.0),
                "x_axis_abscissa": _opt_float(op.XAxisAbscissa),
                "x_axis_ordinate": _opt_float(op.XAxisOrdinate),
                "scale": _opt_float(op.Scale),
                "factors": (1.0, 1.0, 1.0),
                "crs_name": getattr(target, "Name", None),
                "map_unit_m": _named_unit_metres(getattr(target, "MapUnit", None)),
                "target": target.get_info(recursive=False) if target else None,
            }
            if op.is_a("IfcMapConversionScaled"):
                out["factors"] = (
                    float(op.FactorX),
                    float(op.FactorY),
                    float(op.FactorZ),
                )
            return out
        if ops:
            op = ops[0]
            if op.is_a("IfcRigidOperation"):
                return {
                    "method": "rigid_operation",
                    "eastings": float(op.FirstCoordinate.wrappedValue),
                    "northings": float(op.SecondCoordinate.wrappedValue),
                    "orthogonal_height": float(op.Height or 0.0),
                    "x_axis_abscissa": 1.0,
                    "x_axis_ordinate": 0.0,
                    "scale": None,
                    "factors": (1.0, 1.0, 1.0),
                    "crs_name": getattr(op.TargetCRS, "Name", None),
                    "map_unit_m": _named_unit_metres(
                        getattr(op.TargetCRS, "MapUnit", None)
                    ),
                    "target": None,
                }
    # IFC2X3 (and IFC4 files written the IFC2X3 way): property sets
    holders = list(f.by_type("IfcProject")) + list(f.by_type("IfcSite"))
    for h in holders:
        psets = ue.get_psets(h, psets_only=True)
        lower = {k.lower(): v for k, v in psets.items()}
        conv = lower.get("epset_mapconversion")
        if not conv:
            continue
        crs_pset = lower.get("epset_projectedcrs") or {}
        return {
            "method": "epset_map_conversion",
            "eastings": float(conv.get("Eastings") or 0.0),
            "northings": float(conv.get("Northings") or 0.0),
            "orthogonal_height": float(conv.get("OrthogonalHeight") or 0.0),
            "x_axis_abscissa": _opt_float(conv.get("XAxisAbscissa")),
            "x_axis_ordinate": _opt_float(conv.get("XAxisOrdinate")),
            "scale": _opt_float(conv.get("Scale")),
            "factors": (1.0, 1.0, 1.0),
            "crs_name": crs_pset.get("Name"),
            "map_unit_m": _map_unit_text(crs_pset.get("MapUnit")),
            "target": {k: v for k, v in crs_pset.items() if k != "id"},
        }
    return None


def _opt_float(v):
    return None if v is None else float(v)


def _map_unit_text(text) -> float | None:
    if not text:
        return None
    t = str(text).strip().upper().replace(".", "")
    table = {
        "METRE": 1.0,
        "METER": 1.0,
        "M": 1.0,
        "MILLIMETRE": 1e-3,
        "MILLIMETER": 1e-3,
        "MM": 1e-3,
        "CENTIMETRE": 1e-2,
        "CENTIMETER": 1e-2,
        "FOOT": 0.3048,
        "FT": 0.3048,
        "US_SURVEY_FOOT": 1200 / 3937,
    }
    return table.get(t)


def _site_latlon(f) -> dict | None:
    import ifcopenshell.util.placement as up

    for site in f.by_type("IfcSite"):
        lat = _compound_to_deg(site.RefLatitude)
        lon = _compound_to_deg(site.RefLongitude)
        if lat is None or lon is None:
            continue
        origin = np.zeros(3)
        if site.ObjectPlacement is not None:
            origin = np.asarray(up.get_local_placement(site.ObjectPlacement))[:3, 3]
        return {
            "latitude": lat,
            "longitude": lon,
            "elevation": _opt_float(site.RefElevation),
            "site_origin": origin,
        }
    return None


def _parse_crs(name, what):
    """pyproj CRS from an IfcProjectedCRS name ('EPSG:2154', '2154', WKT...)."""
    from pyproj import CRS

    if name is None:
        return None
    text = str(name).strip()
    candidates = [text]
    digits = "".join(ch for ch in text if ch.isdigit())
    if digits and text.upper().replace("EPSG", "").strip(" :") == digits:
        candidates.append(f"EPSG:{digits}")
    for c in candidates:
        try:
            return CRS.from_user_input(c)
        except Exception:  # try the next spelling
            continue
    return None


def _rotation(a, b) -> tuple[float, float]:
    if a is None and b is None:
        return 1.0, 0.0
    a = 0.0 if a is None else a
    b = 0.0 if b is None else b
    n = math.hypot(a, b)
    if n == 0:
        return 1.0, 0.0
    return a / n, b / n


def _affine(a, b, s, sz, e, n, h) -> np.ndarray:
    """4×4 matrix: project metres → map metres (rotation (a, b), scales s, sz)."""
    return np.array(
        [
            [s * a, -s * b, 0.0, e],
            [s * b, s * a, 0.0, n],
            [0.0, 0.0, sz, h],
            [0.0, 0.0, 0.0, 1.0],
        ]
    )


def _georeference(f, path, crs, placement, scene_crs, unit_m):
    """Matrix (project metres → ``map_crs`` metres), map CRS and the georef dict."""
    from pyproj import CRS, Transformer

    name = Path(path).name
    user_crs = (
        as_projected_crs(crs, what=f"IFC {name} placement") if crs is not None else None
    )
    info: dict = {"method": "none", "approximate": False, "warnings": []}
    wcs = _wcs(f)
    pre = np.eye(4)
    if wcs is not None:  # map conversion applies to coordinates in the context WCS
        w = wcs.copy()
        w[:3, 3] *= unit_m
        pre = np.linalg.inv(w)
        info["wcs"] = w.tolist()

    def warn(msg):
        info["warnings"].append(msg)
        warnings.warn(f"{name}: {msg}", GeoreferenceWarning, stacklevel=4)

    if placement is not None:
        p = np.asarray(placement, dtype=float).ravel()
        if p.size not in (3, 4) or not np.all(np.isfinite(p)):
            raise InputError(
                f"placement must be (x, y, z) or (x, y, z, rotation_deg) with finite "
                f"numbers [m, m, m, deg]; got {placement!r}"
            )
        rot = p[3] if p.size == 4 else 0.0
        a, b = math.cos(math.radians(rot)), math.sin(math.radians(rot))
        map_crs = user_crs or as_projected_crs(scene_crs, "scene")
        info.update(
            method="user_placement",
            map_crs=map_crs.to_string(),
            x=float(p[0]),
            y=float(p[1]),
            z=float(p[2]),
            rotation_deg=float(rot),
        )
        return _affine(a, b, 1.0, 1.0, *p[:3]), map_crs, info

    mc = _map_conversion(f)
    if mc is not None:
        file_crs = _parse_crs(mc["crs_name"], name)
        if user_crs is not None:
            if file_crs is not None and not file_crs.equals(
                user_crs, ignore_axis_order=True
            ):
                warn(
                    f"the file declares {mc['crs_name']!r} but crs={user_crs.to_string()!r} "
                    f"was given; using the given CRS"
                )
            map_crs = user_crs
        elif file_crs is None:
            raise GeoreferenceError(
                f"IFC {name!r}: the projected CRS name {mc['crs_name']!r} of its map "
                f"conversion is not a CRS pyproj knows; pass crs='EPSG:<code>' to "
                f"read_ifc to say which CRS Eastings/Northings are in"
            )
        else:
            map_crs = file_crs
        if not map_crs.is_projected:
            raise GeoreferenceError(
                f"IFC {name!r}: the map CRS {map_crs.to_string()!r} is not projected; "
                f"a map conversion needs a projected CRS in metres (pass crs=...)"
            )
        map_unit = mc["map_unit_m"]
        if map_unit is None:
            ax = map_crs.axis_info[0] if map_crs.axis_info else None
            map_unit = float(ax.unit_conversion_factor) if ax is not None else 1.0
        expected = unit_m / map_unit  # correct Scale: project unit → map unit
        s = mc["scale"]
        if s is None:
            if not math.isclose(expected, 1.0, rel_tol=1e-9):
                warn(
                    f"the map conversion has no Scale while the project length unit "
                    f"is {unit_m:g} m and the map unit {map_unit:g} m; assumed "
                    f"Scale = {expected:g} (unit conversion only)"
                )
            s = expected
            scale_source = "units"
        elif (
            not math.isclose(expected, 1.0, rel_tol=1e-9)
            and abs(s - 1.0) < 0.05
            and abs(s / expected - 1.0) > 0.05
        ):
            warn(
                f"the map conversion Scale is {s:g} but the project length unit is "
                f"{unit_m:g} m and the map unit {map_unit:g} m; the Scale does not "
                f"include the unit conversion, used Scale × {expected:g}"
            )
            s = s * expected
            scale_source = "file×units"
        else:
            scale_source = "file"
        a, b = _rotation(mc["x_axis_abscissa"], mc["x_axis_ordinate"])
        fx, _fy, fz = mc["factors"]
        # geometry comes in metres: x_project = x_m / unit_m
        k = s / unit_m * map_unit
        mat = (
            _affine(
                a,
                b,
                k * fx,
                k * fz,
                mc["eastings"] * map_unit,
                mc["northings"] * map_unit,
                mc["orthogonal_height"] * map_unit,
            )
            @ pre
        )
        info.update(
            method=mc["method"],
            map_crs=map_crs.to_string(),
            crs_name=mc["crs_name"],
            eastings=mc["eastings"],
            northings=mc["northings"],
            orthogonal_height=mc["orthogonal_height"],
            x_axis_abscissa=mc["x_axis_abscissa"],
            x_axis_ordinate=mc["x_axis_ordinate"],
            rotation_deg=math.degrees(math.atan2(b, a)),
            scale=s,
            scale_in_file=mc["scale"],
            scale_source=scale_source,
            project_unit_m=unit_m,
            map_unit_m=map_unit,
        )
        return mat, map_crs, info

    site = _site_latlon(f)
    if site is not None:
        map_crs = user_crs or as_projected_crs(scene_crs, "scene")
        lat, lon = site["latitude"], site["longitude"]
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise GeoreferenceError(
                f"IFC {name!r}: IfcSite RefLatitude/RefLongitude ({lat}, {lon}) are "
                f"not valid degrees; fix them or pass placement=(x, y, z, rotation_deg)"
            )
        t = Transformer.from_crs(CRS.from_epsg(4326), map_crs, always_xy=True)
        e0, n0 = t.transform(lon, lat)
        # direction of true north in grid coordinates (meridian convergence)
        e1, n1 = t.transform(lon, min(lat + 1e-4, 90.0))
        g = math.atan2(n1 - n0, e1 - e0)
        tx, ty = _true_north(f)
        theta = g - math.atan2(ty, tx)
        a, b = math.cos(theta), math.sin(theta)
        o = site["site_origin"] * unit_m
        elev = (site["elevation"] or 0.0) * unit_m
        rot = _affine(a, b, 1.0, 1.0, 0.0, 0.0, 0.0)
        oo = rot @ np.r_[o, 1.0]
        mat = _affine(a, b, 1.0, 1.0, e0 - oo[0], n0 - oo[1], elev - o[2]) @ pre
        info.update(
            method="site_latlon",
            approximate=True,
            map_crs=map_crs.to_string(),
            latitude=lat,
            longitude=lon,
            ref_elevation=site["elevation"],
            true_north=(tx, ty),
            rotation_deg=math.degrees(theta),
        )
        warn(
            f"no IfcMapConversion: placed approximately from IfcSite "
            f"RefLatitude/RefLongitude ({lat:.6f}, {lon:.6f}) and TrueNorth; expect "
            f"metre-level errors (pass placement=(x, y, z, rotation_deg) for an exact "
            f"position)"
        )
        return mat, map_crs, info
    return None, None, info


def _world_transform(mat, map_crs, scene_crs):
    """Function (n, 3) project metres → (n, 3) scene CRS metres."""
    from pyproj import Transformer

    same = map_crs.equals(scene_crs, ignore_axis_order=True)
    t = None if same else Transformer.from_crs(map_crs, scene_crs, always_xy=True)

    def fn(xyz):
        xyz = np.asarray(xyz, float).reshape(-1, 3)
        h = np.c_[xyz, np.ones(len(xyz))] @ mat.T
        out = h[:, :3].copy()
        if t is not None and len(out):
            out[:, 0], out[:, 1] = t.transform(out[:, 0], out[:, 1])
        return out

    return fn


# -- geometry ---------------------------------------------------------------------------


def _iterate(f, threads, geometry_library, subtract_openings):
    """Triangles of every building element: {step id: (verts (n,3), faces (m,3))}."""
    geom = import_optional("ifcopenshell.geom")
    if geometry_library not in GEOMETRY_LIBRARIES:
        raise InputError(
            f"unknown geometry_library {geometry_library!r}; expected one of "
            f"{GEOMETRY_LIBRARIES}"
        )
    settings = geom.settings()
    settings.set("use-world-coords", True)
    settings.set("disable-opening-subtractions", not subtract_openings)
    include = [
        "IfcBuiltElement" if f.schema.startswith("IFC4X3") else "IfcBuildingElement"
    ]
    threads = int(threads or multiprocessing.cpu_count())
    out = {}
    it = geom.iterator(
        settings, f, threads, include=include, geometry_library=geometry_library
    )
    if it.initialize():
        while True:
            shape = it.get()
            g = shape.geometry
            v = np.asarray(g.verts, dtype=np.float64).reshape(-1, 3)
            fc = np.asarray(g.faces, dtype=np.int64).reshape(-1, 3)
            if len(fc):
                out[int(shape.id)] = (v, fc)
            if not it.next():
                break
    return out


def _relations(f):
    """Parent maps built once: spatial container, aggregate parent, type object
    (step id → entity). Walking them is much faster than per-element helpers."""
    container, parent, typ = {}, {}, {}
    for rel in f.by_type("IfcRelContainedInSpatialStructure"):
        for e in rel.RelatedElements or ():
            container[e.id()] = rel.RelatingStructure
    for rel in f.by_type("IfcRelAggregates"):
        for e in rel.RelatedObjects or ():
            parent[e.id()] = rel.RelatingObject
    try:
        nests = f.by_type("IfcRelNests")
    except RuntimeError:  # absent from this schema
        nests = []
    for rel in nests:
        for e in rel.RelatedObjects or ():
            parent.setdefault(e.id(), rel.RelatingObject)
    for rel in f.by_type("IfcRelDefinesByType"):
        for e in rel.RelatedObjects or ():
            typ[e.id()] = rel.RelatingType
    return container, parent, typ


def _storey_of(entity, container, parent, depth=0):
    """Storey of an element or spatial element (through containers and
    aggregates), or None."""
    if entity is None or depth > 32:
        return None
    if entity.is_a("IfcBuildingStorey"):
        return entity
    up = container.get(entity.id()) or parent.get(entity.id())
    return _storey_of(up, container, parent, depth + 1)


def _predefined_type(el, typ):
    value = None
    for holder in (el, typ.get(el.id())):
        if holder is None:
            continue
        try:
            value = holder.PredefinedType
        except AttributeError:  # class without PredefinedType
            value = None
        if value == "USERDEFINED":
            value = getattr(holder, "ObjectType", None) or getattr(
                holder, "ElementType", None
            )
        if value and value != "NOTDEFINED":
            return value
    return None


def _qto_value(entity, names, area_scale):
    import ifcopenshell.util.element as ue

    try:
        qtos = ue.get_psets(entity, qtos_only=True)
    except Exception:  # malformed quantity sets
        return None
    for n in names:
        for q in qtos.values():
            v = q.get(n)
            if isinstance(v, int | float) and np.isfinite(v):
                return float(v) * area_scale
    return None


def _project_union(tris2d, closing=FOOTPRINT_CLOSING):
    """Union of (k, 3, 2) triangles, closed by ``closing`` [m], tiny holes dropped."""
    if not len(tris2d):
        return shapely.Polygon()
    ring = np.concatenate([tris2d, tris2d[:, :1]], axis=1)
    polys = shapely.polygons(ring)
    polys = polys[shapely.area(polys) > 1e-10]
    if not len(polys):
        return shapely.Polygon()
    u = shapely.union_all(polys)
    if closing > 0:
        u = u.buffer(closing, join_style="mitre").buffer(-closing, join_style="mitre")
    return _drop_small_holes(u, FOOTPRINT_MIN_HOLE)


def _drop_small_holes(geom, min_area):
    parts = shapely.get_parts(geom)
    out = []
    for p in parts:
        if p.geom_type != "Polygon" or p.is_empty:
            continue
        holes = [h for h in p.interiors if shapely.Polygon(h).area >= min_area]
        out.append(shapely.Polygon(p.exterior, holes))
    if not out:
        return shapely.Polygon()
    return out[0] if len(out) == 1 else shapely.MultiPolygon(out)


def _fill_holes(geom):
    parts = [
        shapely.Polygon(p.exterior)
        for p in shapely.get_parts(geom)
        if p.geom_type == "Polygon"
    ]
    return shapely.union_all(parts) if parts else shapely.Polygon()


# -- reader -----------------------------------------------------------------------------


def read_ifc(
    path,
    crs=None,
    placement=None,
    scene_crs=DEFAULT_CRS,
    *,
    geometry_library: str = "hybrid-cgal-simple-opencascade",
    threads: int | None = None,
    subtract_openings: bool = True,
) -> BimModel:
    """Read an IFC building project into a :class:`~cimcity.bim.BimModel`.

    Parameters
    ----------
    path : str or Path
        IFC file (IFC2X3, IFC4, IFC4X3; ``.ifc``, or what ifcopenshell opens).
    crs : str or pyproj.CRS, optional
        CRS of the map coordinates: overrides the file's ``IfcProjectedCRS``
        (needed when its name is not an EPSG code), and is the CRS of
        ``placement`` and of the ``site_latlon`` fallback. Default: the file's
        declared CRS, else ``scene_crs``.
    placement : (x, y, z[, rotation_deg]), optional
        Explicit placement, which wins over the file: the project origin goes to
        ``(x, y, z)`` [m, in ``crs`` or ``scene_crs``] and the model turns by
        ``rotation_deg`` counter-clockwise (the angle from the map east axis to
        the project x axis, as ``atan2(XAxisOrdinate, XAxisAbscissa)``) [deg].
    scene_crs : str or pyproj.CRS
        Projected CRS in metres of the returned model (default Lambert-93).
        Map coordinates in another CRS are reprojected (horizontal only).
    geometry_library : str
        ifcopenshell geometry kernel, one of :data:`GEOMETRY_LIBRARIES`. The
        default hybrid kernel gave identical meshes to OpenCASCADE on the test
        models and is 2–4× faster.
    threads : int, optional
        Geometry iterator threads (default: ``multiprocessing.cpu_count()``).
    subtract_openings : bool
        Cut openings out of walls and slabs (slower; footprint and heights are
        the same either way).

    Returns
    -------
    BimModel
        ``mesh`` (trimesh, scene CRS, float64), ``footprint``, ``base_z``,
        ``top_z``, ``storeys``, ``elements``, ``face_element``, ``face_kind``,
        ``georef`` and ``crs`` (None when the file is not georeferenced and no
        placement is given: the model then stays in project coordinates [m]).

    Raises
    ------
    FileFormatError
        Missing, empty, truncated or non-IFC file.
    GeoreferenceError
        Unknown map CRS name without ``crs=``, invalid site latitude/longitude,
        or a model that lands far outside the area of use of ``scene_crs``.
    CRSError
        ``scene_crs`` or ``crs`` is not a projected CRS in metres.

    Warns
    -----
    GeoreferenceWarning
        Approximate placement from the site latitude/longitude; missing or
        inconsistent map conversion ``Scale``.
    IfcGeometryWarning
        Elements whose representation produced no triangles; no above-ground
        geometry at all.

    Examples
    --------
    >>> bim = cc.read_ifc("projet.ifc")  # doctest: +SKIP
    >>> bim.footprint.area, bim.height, bim.storeys[["name", "elevation"]]  # doctest: +SKIP
    """
    trimesh = import_optional("trimesh")
    scene_crs = as_projected_crs(scene_crs, what="scene")
    f = _open(path)
    name = Path(path).name
    unit_m = _unit_scale(f)
    area_scale = _area_scale(f)
    mat, map_crs, georef = _georeference(f, path, crs, placement, scene_crs, unit_m)

    # -- elements and storeys (project coordinates, metres) --------------------------
    geometry = _iterate(f, threads, geometry_library, subtract_openings)
    include = (
        "IfcBuiltElement" if f.schema.startswith("IFC4X3") else "IfcBuildingElement"
    )
    elements = sorted(f.by_type(include), key=lambda e: e.id())
    container, parent, typ = _relations(f)
    spaces_of: dict = {}
    for sp in f.by_type("IfcSpace"):
        st = _storey_of(sp, container, parent)
        if st is not None:
            spaces_of.setdefault(st.id(), []).append(sp)
    storeys = list(f.by_type("IfcBuildingStorey"))
    st_z = np.array([_storey_z(s, unit_m) for s in storeys], dtype=float)
    order = np.argsort(st_z, kind="stable")
    storeys = [storeys[i] for i in order]
    st_z = st_z[order]
    zmins = {k: v[0][:, 2].min() for k, v in geometry.items()}
    zmaxs = {k: v[0][:, 2].max() for k, v in geometry.items()}
    ground = _ground_level(st_z, elements, zmins)
    below_storeys = {
        s.id()
        for s, z in zip(storeys, st_z, strict=True)
        if z < ground - STOREY_GROUND_TOL / 10
    }

    rows = []
    geometry_warnings: list = []
    verts, faces, face_el = [], [], []
    nv = 0
    missing = []
    for i, el in enumerate(elements):
        st = _storey_of(el, container, parent)
        has = el.id() in geometry
        above = (
            has
            and not any(el.is_a(c) for c in _BELOW_GROUND_CLASSES)
            and (st is None or st.id() not in below_storeys)
            and zmaxs[el.id()] > ground + ABOVE_GROUND_TOL
        )
        if not has and getattr(el, "Representation", None) is not None:
            missing.append(el)
        ptype = _predefined_type(el, typ)
        rows.append(
            {
                "global_id": el.GlobalId,
                "ifc_class": el.is_a(),
                "predefined_type": ptype,
                "name": el.Name,
                "storey": st.Name if st is not None else None,
                "storey_id": st.GlobalId if st is not None else None,
                "above_ground": bool(above),
                "step_id": el.id(),
            }
        )
        if above:
            v, fc = geometry[el.id()]
            verts.append(v)
            faces.append(fc + nv)
            face_el.append(np.full(len(fc), i, np.int64))
            nv += len(v)
    if missing:
        cls = pd.Series([e.is_a() for e in missing]).value_counts().to_dict()
        msg = (
            f"{len(missing)} element(s) with a representation produced no geometry "
            f"and are left out ({cls}; first {missing[0].GlobalId})"
        )
        geometry_warnings.append(msg)
        warnings.warn(f"{name}: {msg}", IfcGeometryWarning, stacklevel=2)
    el_df = pd.DataFrame(
        rows,
        columns=[
            "global_id",
            "ifc_class",
            "predefined_type",
            "name",
            "storey",
            "storey_id",
            "above_ground",
            "step_id",
        ],
    )
    V = np.concatenate(verts) if verts else np.zeros((0, 3))
    F = np.concatenate(faces) if faces else np.zeros((0, 3), np.int64)
    FE = np.concatenate(face_el) if face_el else np.zeros(0, np.int64)
    counts = np.bincount(FE, minlength=len(el_df)) if len(el_df) else np.zeros(0, int)
    el_df["n_faces"] = counts

    # -- per-face quantities in local metres (kinds, footprint, floor areas) ----------
    centre = V.mean(axis=0) if len(V) else np.zeros(3)
    local = trimesh.Trimesh(V - centre, F, process=False)
    normals = np.asarray(local.face_normals) if len(F) else np.zeros((0, 3))
    kind = _face_kinds(local, normals)
    tris = V[F] if len(F) else np.zeros((0, 3, 3))
    flat = _plan_faces(FE, normals, len(el_df))
    above_faces = (
        flat & (tris[:, :, 2].max(axis=1) > ground + ABOVE_GROUND_TOL)
        if len(F)
        else flat
    )
    footprint_local = _project_union(tris[above_faces][:, :, :2])

    base_local = max(float(V[:, 2].min()), ground) if len(V) else np.nan
    top_local = float(V[:, 2].max()) if len(V) else np.nan
    if not len(V):
        msg = "no above-ground building element geometry: empty mesh and footprint"
        geometry_warnings.append(msg)
        warnings.warn(f"{name}: {msg}", IfcGeometryWarning, stacklevel=2)

    # -- storeys table ---------------------------------------------------------------
    st_rows = []
    for j, (s, z) in enumerate(zip(storeys, st_z, strict=True)):
        nxt = st_z[j + 1] if j + 1 < len(st_z) else np.nan
        height = (
            nxt - z
            if np.isfinite(nxt)
            else (top_local - z if top_local > z else np.nan)
        )
        mine = el_df.index[el_df["storey_id"] == s.GlobalId].to_numpy()
        gfa = _storey_gfa(mine, el_df, FE, tris, flat, footprint_local)
        spaces = spaces_of.get(s.id(), [])
        space_area = [
            _qto_value(
                sp, ("NetFloorArea", "GrossFloorArea", "GSA BIM Area"), area_scale
            )
            for sp in spaces
        ]
        space_area = [a for a in space_area if a is not None]
        st_rows.append(
            {
                "name": s.Name,
                "global_id": s.GlobalId,
                "elevation_local": z,
                "height": height,
                "gross_floor_area": gfa,
                "gross_floor_area_qto": _qto_value(s, ("GrossFloorArea",), area_scale),
                "space_area_qto": float(sum(space_area)) if space_area else np.nan,
                "n_spaces": len(spaces),
                "n_elements": int(len(mine)),
                "below_ground": s.id() in below_storeys,
            }
        )
    st_df = pd.DataFrame(
        st_rows,
        columns=[
            "name",
            "global_id",
            "elevation_local",
            "height",
            "gross_floor_area",
            "gross_floor_area_qto",
            "space_area_qto",
            "n_spaces",
            "n_elements",
            "below_ground",
        ],
    )
    st_df["gross_floor_area_qto"] = st_df["gross_floor_area_qto"].astype(float)

    # -- placement in the scene CRS ----------------------------------------------------
    if mat is not None:
        to_world = _world_transform(mat, map_crs, scene_crs)
        out_crs = scene_crs
    else:

        def to_world(xyz):
            return np.asarray(xyz, float).reshape(-1, 3)

        out_crs = None
    WV = to_world(V)
    footprint = shapely.transform(
        footprint_local, lambda xy: to_world(np.c_[xy, np.zeros(len(xy))])[:, :2]
    )
    zs = (
        to_world(np.c_[np.zeros((3, 2)), [base_local, top_local, ground]])[:, 2]
        if len(V)
        else [np.nan] * 3
    )
    base_z, top_z = float(zs[0]), float(zs[1])
    st_df.insert(
        2,
        "elevation",
        to_world(np.c_[np.zeros((len(st_df), 2)), st_df["elevation_local"].to_numpy()])[
            :, 2
        ]
        if len(st_df)
        else np.zeros(0),
    )
    if out_crs is not None and len(WV):
        b = (
            shapely.bounds(footprint)
            if not footprint.is_empty
            else np.r_[WV[:, :2].min(0), WV[:, :2].max(0)]
        )
        try:
            check_bounds_in_area_of_use(b, out_crs, f"IFC {name}")
        except CRSError as exc:
            raise GeoreferenceError(
                f"IFC {name!r} lands at {tuple(np.round(b[:2], 1))} in "
                f"{out_crs.to_string()!r}, far outside its area of use "
                f"(georeferencing {georef['method']}, map CRS "
                f"{georef.get('map_crs')!r}); read it with scene_crs= a CRS covering "
                f"the site (e.g. {_utm_hint(georef)}) or give placement=(x, y, z, "
                f"rotation_deg)"
            ) from exc

    mesh = trimesh.Trimesh(WV, F, process=False)
    georef["matrix"] = None if mat is None else mat.tolist()
    georef["ground_level_local"] = float(ground) if np.isfinite(ground) else None
    georef["crs"] = out_crs.to_string() if out_crs is not None else None
    project = f.by_type("IfcProject")[0]
    buildings = f.by_type("IfcBuilding")
    label = (
        project.Name or (buildings[0].Name if buildings else None) or Path(path).stem
    )
    return BimModel(
        id=project.GlobalId,
        mesh=mesh,
        footprint=footprint,
        base_z=base_z,
        top_z=top_z,
        storeys=st_df,
        elements=el_df,
        crs=out_crs,
        georef=georef,
        name=label,
        schema=f.schema,
        source=str(path),
        face_element=FE,
        face_kind=kind,
        extras={
            "length_unit": _length_unit_name(f),
            "unit_scale": unit_m,
            "ground_z": float(zs[2]) if len(V) else np.nan,
            "map_crs": map_crs.to_string() if map_crs is not None else None,
            "geometry_warnings": geometry_warnings,
        },
    )


def _area_scale(f) -> float:
    import ifcopenshell.util.unit as uu

    try:
        return float(uu.calculate_unit_scale(f, "AREAUNIT"))
    except Exception:  # no area unit: assume m²
        return 1.0


def _storey_z(storey, unit_m) -> float:
    import ifcopenshell.util.placement as up

    if storey.ObjectPlacement is not None:
        try:
            return (
                float(np.asarray(up.get_local_placement(storey.ObjectPlacement))[2, 3])
                * unit_m
            )
        except Exception:  # unusual placements (grid placements): use Elevation
            pass
    return float(storey.Elevation or 0.0) * unit_m


def _ground_level(st_z, elements, zmins) -> float:
    if len(st_z):
        up = st_z[st_z >= -STOREY_GROUND_TOL]
        return float(up.min()) if len(up) else float(st_z.max())
    z = [
        zmins[e.id()]
        for e in elements
        if e.id() in zmins and not any(e.is_a(c) for c in _BELOW_GROUND_CLASSES)
    ]
    return float(min(z)) if z else 0.0


def _plan_faces(FE, normals, n_elements) -> np.ndarray:
    """Faces whose plan projection covers their element's projection.

    For a closed solid the upward faces alone cover its plan projection, so
    only they are unioned (half the work); elements with no upward face (open
    surfaces facing down) contribute their downward faces.
    """
    if not len(FE):
        return np.zeros(0, bool)
    nz = normals[:, 2]
    upward = nz > 1e-6
    has_up = np.bincount(FE[upward], minlength=n_elements) > 0
    return upward | ((nz < -1e-6) & ~has_up[FE])


def _storey_gfa(rows, el_df, FE, tris, flat, footprint):
    """Gross floor area of a storey from its geometry [m²]: plan projection of
    its walls, columns, curtain walls and floor slabs, holes (rooms) filled,
    clipped to the building footprint (open courtyards stay out)."""
    if not len(rows) or not len(FE):
        return np.nan
    sel = el_df.loc[rows]
    ok = np.zeros(len(sel), bool)
    for c in _GFA_CLASSES:
        ok |= sel["ifc_class"].str.startswith(c).to_numpy()
    ok &= ~sel["predefined_type"].isin(_NOT_FLOOR_SLABS).to_numpy()
    ok &= sel["above_ground"].to_numpy()
    idx = sel.index.to_numpy()[ok]
    if not len(idx):
        return np.nan
    m = np.isin(FE, idx) & flat
    plan = _project_union(tris[m][:, :, :2])
    if plan.is_empty:
        return np.nan
    return float(shapely.intersection(_fill_holes(plan), footprint).area)


def _face_kinds(local, normals) -> np.ndarray:
    """Surface kind codes: upward faces open to the sky are roofs, downward
    faces the building's underside (``ground``), the rest walls. Upward faces
    covered by the building itself (floor tops, sills under lintels) are
    interior and get ``ground`` too, so roof statistics see only the roofs."""
    n = len(normals)
    kind = np.full(n, KIND_CODES["wall"], np.int8)
    if not n:
        return kind
    up = normals[:, 2] > HORIZONTAL_NZ
    down = normals[:, 2] < -HORIZONTAL_NZ
    kind[down] = KIND_CODES["ground"]
    idx = np.flatnonzero(up)
    if len(idx):
        origins = local.triangles_center[idx] + np.array([0.0, 0.0, 0.01])
        dirs = np.tile([0.0, 0.0, 1.0], (len(idx), 1))
        covered = local.ray.intersects_any(origins, dirs)
        kind[idx] = np.where(covered, KIND_CODES["ground"], KIND_CODES["roof"])
    return kind


def _utm_hint(georef) -> str:
    lon = georef.get("longitude")
    lat = georef.get("latitude")
    if lon is None or lat is None:
        m = georef.get("map_crs")
        return f"scene_crs={m!r}" if m else "scene_crs='EPSG:<code>'"
    zone = int((lon + 180) // 6) + 1
    return f"scene_crs='EPSG:{32600 + zone if lat >= 0 else 32700 + zone}' (UTM zone {zone})"


# -- describe -----------------------------------------------------------------------


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
    f = _open(path)
    unit_m = _unit_scale(f)
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
            {"name": s.Name, "elevation": round(_storey_z(s, unit_m), 3)}
            for s in f.by_type("IfcBuildingStorey")
        ),
        key=lambda d: d["elevation"],
    )
    geo: dict = {"method": "none"}
    mc = _map_conversion(f)
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
    site = _site_latlon(f)
    if site is not None:
        geo["site_latitude"] = round(site["latitude"], 7)
        geo["site_longitude"] = round(site["longitude"], 7)
        # RefElevation is a length in project units (spec): reported in metres
        geo["site_elevation"] = (
            None if site["elevation"] is None else round(site["elevation"] * unit_m, 4)
        )
        if geo["method"] == "none":
            geo["method"] = "site_latlon (approximate)"
    geo["true_north"] = _true_north(f)
    header = f.header.file_name
    return {
        "format": "IFC",
        "path": str(path),
        "file_size": Path(path).stat().st_size,
        "schema": f.schema,
        "application": getattr(header, "originating_system", None) or None,
        "project": project.Name,
        "project_id": project.GlobalId,
        "length_unit": _length_unit_name(f),
        "counts": counts,
        "storeys": storeys,
        "georeferencing": geo,
    }
