"""IFC geometry: triangulation, footprint, storey floor areas, surface kinds.

Building elements are triangulated by ifcopenshell's multi-threaded geometry
iterator in world coordinates [m] (:func:`triangulate`); footprints and gross
floor areas are unions of the plan projections of their upward faces
(:func:`project_union`, :func:`storey_gfa`), and faces are classed roof, wall
or underside (:func:`face_kinds`).
"""

from __future__ import annotations

import multiprocessing

import numpy as np
import shapely

from ..._compat import import_optional
from ...errors import CimcityWarning, InputError
from ...mesh import KIND_CODES

#: morphological closing applied to the footprint to close hairline gaps
#: between adjacent elements [m]
FOOTPRINT_CLOSING = 0.005
#: holes smaller than this are dropped from the footprint [m²]
FOOTPRINT_MIN_HOLE = 0.05
#: |n_z| above which a face is horizontal-ish (roof / ground), else wall [-]
HORIZONTAL_NZ = 0.5
#: geometry kernels accepted by ``geometry_library`` (fastest first)
GEOMETRY_LIBRARIES = ("hybrid-cgal-simple-opencascade", "opencascade", "cgal")
#: classes whose plan projection defines a storey's gross floor area
_GFA_CLASSES = ("IfcWall", "IfcColumn", "IfcCurtainWall", "IfcSlab", "IfcPlate")
_NOT_FLOOR_SLABS = ("ROOF", "LANDING")


class IfcGeometryWarning(CimcityWarning):
    """Some IFC geometry could not be triangulated, or none is above ground."""


def triangulate(f, threads, geometry_library, subtract_openings):
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


def project_union(tris2d, closing=FOOTPRINT_CLOSING):
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


def plan_faces(FE, normals, n_elements) -> np.ndarray:
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


def storey_gfa(rows, el_df, FE, tris, flat, footprint):
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
    plan = project_union(tris[m][:, :, :2])
    if plan.is_empty:
        return np.nan
    return float(shapely.intersection(_fill_holes(plan), footprint).area)


def face_kinds(local, normals) -> np.ndarray:
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
    kind[down] = KIND_CODES["base"]
    idx = np.flatnonzero(up)
    if len(idx):
        origins = local.triangles_center[idx] + np.array([0.0, 0.0, 0.01])
        dirs = np.tile([0.0, 0.0, 1.0], (len(idx), 1))
        covered = local.ray.intersects_any(origins, dirs)
        kind[idx] = np.where(covered, KIND_CODES["base"], KIND_CODES["roof"])
    return kind
