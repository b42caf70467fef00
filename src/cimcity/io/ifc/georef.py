"""Georeferencing of IFC models: from project coordinates to a map CRS.

In order of precedence:

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

References
----------
buildingSMART, *User Guide for Geo-referencing in IFC*, v2.0 (2020).
IFC4 ADD2 TC1, ``IfcMapConversion``, ``IfcProjectedCRS``, ``IfcSite``.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
from pyproj import CRS, Transformer

from ...crs import as_projected_crs
from ...errors import CimcityWarning, GeoreferenceError, InputError


class GeoreferenceWarning(CimcityWarning):
    """Georeferencing is approximate, incomplete or was corrected."""


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


def true_north(f) -> tuple[float, float]:
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


def map_conversion(f) -> dict | None:
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


def site_latlon(f) -> dict | None:
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


def georeference(f, path, crs, placement, scene_crs, unit_m):
    """Placement of an IFC model in a map CRS, by the precedence of the module
    docstring.

    Parameters
    ----------
    f : ifcopenshell.file
    path : str or Path
        The file (its name goes into messages).
    crs : str or pyproj.CRS or None
        CRS given by the user (overrides the file's).
    placement : (x, y, z[, rotation_deg]) or None
        Placement given by the user [m, m, m, deg].
    scene_crs : pyproj.CRS
        CRS of the scene (map CRS of ``placement`` and ``site_latlon``
        without ``crs``).
    unit_m : float
        Metres per project length unit.

    Returns
    -------
    matrix : (4, 4) float64 or None
        Project metres → ``map_crs`` metres; None when not georeferenced.
    map_crs : pyproj.CRS or None
    info : dict
        ``method``, ``approximate``, ``warnings`` and the parameters used.
    """
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
        # stack: warn, _from_*, georeference, read_ifc, the caller of read_ifc
        info["warnings"].append(msg)
        warnings.warn(f"{name}: {msg}", GeoreferenceWarning, stacklevel=5)

    if placement is not None:
        map_crs = user_crs or as_projected_crs(scene_crs, "scene")
        mat = _user_placement(placement, map_crs, info)
        return mat, map_crs, info
    mc = map_conversion(f)
    if mc is not None:
        map_crs = _map_crs(mc, user_crs, name, warn)
        mat = _from_map_conversion(mc, map_crs, unit_m, info, warn) @ pre
        return mat, map_crs, info
    site = site_latlon(f)
    if site is not None:
        map_crs = user_crs or as_projected_crs(scene_crs, "scene")
        mat = _from_site_latlon(f, site, map_crs, unit_m, name, info, warn) @ pre
        return mat, map_crs, info
    return None, None, info


def _user_placement(placement, map_crs, info) -> np.ndarray:
    """Matrix of ``placement=(x, y, z[, rotation_deg])``; fills ``info``."""
    p = np.asarray(placement, dtype=float).ravel()
    if p.size not in (3, 4) or not np.all(np.isfinite(p)):
        raise InputError(
            f"placement must be (x, y, z) or (x, y, z, rotation_deg) with finite "
            f"numbers [m, m, m, deg]; got {placement!r}"
        )
    rot = p[3] if p.size == 4 else 0.0
    a, b = math.cos(math.radians(rot)), math.sin(math.radians(rot))
    info.update(
        method="user_placement",
        map_crs=map_crs.to_string(),
        x=float(p[0]),
        y=float(p[1]),
        z=float(p[2]),
        rotation_deg=float(rot),
    )
    return _affine(a, b, 1.0, 1.0, *p[:3])


def _map_crs(mc, user_crs, name, warn):
    """The projected CRS of a map conversion: the user's, else the file's."""
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
    return map_crs


def _scale(mc, unit_m, map_unit, warn) -> tuple[float, str]:
    """The map conversion scale (project unit → map unit) and where it came
    from (``"file"``, ``"units"``, ``"file×units"``)."""
    expected = unit_m / map_unit  # correct Scale: project unit → map unit
    s = mc["scale"]
    if s is None:
        if not math.isclose(expected, 1.0, rel_tol=1e-9):
            warn(
                f"the map conversion has no Scale while the project length unit "
                f"is {unit_m:g} m and the map unit {map_unit:g} m; assumed "
                f"Scale = {expected:g} (unit conversion only)"
            )
        return expected, "units"
    if (
        not math.isclose(expected, 1.0, rel_tol=1e-9)
        and abs(s - 1.0) < 0.05
        and abs(s / expected - 1.0) > 0.05
    ):
        warn(
            f"the map conversion Scale is {s:g} but the project length unit is "
            f"{unit_m:g} m and the map unit {map_unit:g} m; the Scale does not "
            f"include the unit conversion, used Scale × {expected:g}"
        )
        return s * expected, "file×units"
    return s, "file"


def _from_map_conversion(mc, map_crs, unit_m, info, warn) -> np.ndarray:
    """Matrix of a map conversion (before the context WCS); fills ``info``."""
    map_unit = mc["map_unit_m"]
    if map_unit is None:
        ax = map_crs.axis_info[0] if map_crs.axis_info else None
        map_unit = float(ax.unit_conversion_factor) if ax is not None else 1.0
    s, scale_source = _scale(mc, unit_m, map_unit, warn)
    a, b = _rotation(mc["x_axis_abscissa"], mc["x_axis_ordinate"])
    fx, _fy, fz = mc["factors"]
    # geometry comes in metres: x_project = x_m / unit_m
    k = s / unit_m * map_unit
    mat = _affine(
        a,
        b,
        k * fx,
        k * fz,
        mc["eastings"] * map_unit,
        mc["northings"] * map_unit,
        mc["orthogonal_height"] * map_unit,
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
    return mat


def _from_site_latlon(f, site, map_crs, unit_m, name, info, warn) -> np.ndarray:
    """Approximate matrix from the IfcSite latitude/longitude and TrueNorth
    (before the context WCS); fills ``info`` and warns."""
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
    tx, ty = true_north(f)
    theta = g - math.atan2(ty, tx)
    a, b = math.cos(theta), math.sin(theta)
    o = site["site_origin"] * unit_m
    elev = (site["elevation"] or 0.0) * unit_m
    rot = _affine(a, b, 1.0, 1.0, 0.0, 0.0, 0.0)
    oo = rot @ np.r_[o, 1.0]
    mat = _affine(a, b, 1.0, 1.0, e0 - oo[0], n0 - oo[1], elev - o[2])
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
    return mat


def world_transform(mat, map_crs, scene_crs):
    """Function (n, 3) project metres → (n, 3) scene CRS metres."""
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


def utm_hint(georef) -> str:
    lon = georef.get("longitude")
    lat = georef.get("latitude")
    if lon is None or lat is None:
        m = georef.get("map_crs")
        return f"scene_crs={m!r}" if m else "scene_crs='EPSG:<code>'"
    zone = int((lon + 180) // 6) + 1
    return f"scene_crs='EPSG:{32600 + zone if lat >= 0 else 32700 + zone}' (UTM zone {zone})"
