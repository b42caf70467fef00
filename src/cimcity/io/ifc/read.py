"""IFC reader: a BIM project (IFC2X3, IFC4, IFC4X3) as a :class:`~cimcity.bim.BimModel`.

:func:`read_ifc` triangulates the building elements (:mod:`cimcity.io.ifc.geometry`), places
them in the scene CRS from the file's georeferencing or a placement given by
the user (:mod:`cimcity.io.ifc.georef`) and derives what the city model needs: footprint,
base and top altitudes, storeys with floor areas, an element table and a mesh
with per-face element and surface kind.

What is building volume
-----------------------
Building elements (``IfcBuildingElement``, ``IfcBuiltElement`` in IFC4X3:
walls, slabs, roofs, columns, beams, doors, windows, stairs, railings,
coverings, curtain walls, shading devices, proxies...). Spaces, openings,
furniture, distribution elements, annotations, grids and the site (terrain) are
not. Footings and piles, and elements of storeys below the ground storey, are
below ground: listed in ``elements`` (``above_ground=False``) but left out of
the mesh, footprint and heights. The *ground storey* is the lowest storey at or
above project elevation 0 (tolerance
:data:`~cimcity.io.ifc.structure.STOREY_GROUND_TOL`); without storeys, the
lowest element.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import shapely

from ..._compat import import_optional
from ...bim import BimModel
from ...crs import DEFAULT_CRS, as_projected_crs, check_bounds_in_area_of_use
from ...errors import CRSError, GeoreferenceError
from .file import area_scale, length_unit_name, open_ifc, unit_scale
from .geometry import (
    IfcGeometryWarning,
    face_kinds,
    plan_faces,
    project_union,
    storey_gfa,
    triangulate,
)
from .georef import georeference, utm_hint, world_transform
from .structure import (
    BELOW_GROUND_CLASSES,
    STOREY_GROUND_TOL,
    ground_level,
    predefined_type,
    qto_value,
    relations,
    storey_of,
    storey_z,
)

#: an element counts as above ground when it rises this much above ground [m]
ABOVE_GROUND_TOL = 0.01


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
        ifcopenshell geometry kernel, one of
        :data:`~cimcity.io.ifc.GEOMETRY_LIBRARIES`. The
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
    f = open_ifc(path)
    name = Path(path).name
    unit_m = unit_scale(f)
    area_m2 = area_scale(f)
    mat, map_crs, georef = georeference(f, path, crs, placement, scene_crs, unit_m)

    # elements and storeys (project coordinates, metres)
    geometry = triangulate(f, threads, geometry_library, subtract_openings)
    st = _structure(f, geometry, unit_m)
    el_df, V, F, FE, geometry_warnings = _elements(st, geometry, name)

    # per-face quantities in local metres (kinds, footprint, floor areas)
    centre = V.mean(axis=0) if len(V) else np.zeros(3)
    local = trimesh.Trimesh(V - centre, F, process=False)
    normals = np.asarray(local.face_normals) if len(F) else np.zeros((0, 3))
    kind = face_kinds(local, normals)
    tris = V[F] if len(F) else np.zeros((0, 3, 3))
    flat = plan_faces(FE, normals, len(el_df))
    above_faces = (
        flat & (tris[:, :, 2].max(axis=1) > st.ground + ABOVE_GROUND_TOL)
        if len(F)
        else flat
    )
    footprint_local = project_union(tris[above_faces][:, :, :2])
    base_local = max(float(V[:, 2].min()), st.ground) if len(V) else np.nan
    top_local = float(V[:, 2].max()) if len(V) else np.nan
    if not len(V):
        msg = "no above-ground building element geometry: empty mesh and footprint"
        geometry_warnings.append(msg)
        warnings.warn(f"{name}: {msg}", IfcGeometryWarning, stacklevel=2)
    st_df = _storeys_table(
        st, el_df, (FE, tris, flat), footprint_local, top_local, area_m2
    )

    # placement in the scene CRS
    to_world, out_crs = _to_world(mat, map_crs, scene_crs)
    WV = to_world(V)
    footprint = shapely.transform(
        footprint_local, lambda xy: to_world(np.c_[xy, np.zeros(len(xy))])[:, :2]
    )
    zs = (
        to_world(np.c_[np.zeros((3, 2)), [base_local, top_local, st.ground]])[:, 2]
        if len(V)
        else [np.nan] * 3
    )
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
        _check_area_of_use(footprint, WV, out_crs, georef, name)

    georef["matrix"] = None if mat is None else mat.tolist()
    georef["ground_level_local"] = float(st.ground) if np.isfinite(st.ground) else None
    georef["crs"] = out_crs.to_string() if out_crs is not None else None
    project = f.by_type("IfcProject")[0]
    buildings = f.by_type("IfcBuilding")
    label = (
        project.Name or (buildings[0].Name if buildings else None) or Path(path).stem
    )
    return BimModel(
        id=project.GlobalId,
        mesh=trimesh.Trimesh(WV, F, process=False),
        footprint=footprint,
        base_z=float(zs[0]),
        top_z=float(zs[1]),
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
            "length_unit": length_unit_name(f),
            "unit_scale": unit_m,
            "ground_z": float(zs[2]) if len(V) else np.nan,
            "map_crs": map_crs.to_string() if map_crs is not None else None,
            "geometry_warnings": geometry_warnings,
        },
    )


class _Structure(NamedTuple):
    """The parts of the spatial structure the reader walks."""

    elements: list  # building elements, by step id
    container: dict  # step id -> spatial container
    parent: dict  # step id -> aggregate / nest parent
    typ: dict  # step id -> type object
    spaces_of: dict  # storey step id -> its spaces
    storeys: list  # by elevation
    st_z: np.ndarray  # storey elevations [m, project]
    ground: float  # ground storey elevation [m, project]
    below_storeys: set  # step ids of the storeys below ground


def _structure(f, geometry, unit_m) -> _Structure:
    """Elements, relations, storeys sorted by elevation and the ground level."""
    include = (
        "IfcBuiltElement" if f.schema.startswith("IFC4X3") else "IfcBuildingElement"
    )
    elements = sorted(f.by_type(include), key=lambda e: e.id())
    container, parent, typ = relations(f)
    spaces_of: dict = {}
    for sp in f.by_type("IfcSpace"):
        st = storey_of(sp, container, parent)
        if st is not None:
            spaces_of.setdefault(st.id(), []).append(sp)
    storeys = list(f.by_type("IfcBuildingStorey"))
    st_z = np.array([storey_z(s, unit_m) for s in storeys], dtype=float)
    order = np.argsort(st_z, kind="stable")
    storeys = [storeys[i] for i in order]
    st_z = st_z[order]
    zmins = {k: v[0][:, 2].min() for k, v in geometry.items()}
    ground = ground_level(st_z, elements, zmins)
    below_storeys = {
        s.id()
        for s, z in zip(storeys, st_z, strict=True)
        if z < ground - STOREY_GROUND_TOL / 10
    }
    return _Structure(
        elements,
        container,
        parent,
        typ,
        spaces_of,
        storeys,
        st_z,
        ground,
        below_storeys,
    )


_ELEMENT_COLUMNS = [
    "global_id",
    "ifc_class",
    "predefined_type",
    "name",
    "storey",
    "storey_id",
    "above_ground",
    "step_id",
]


def _elements(st: _Structure, geometry, name):
    """Element table and the merged mesh of the above-ground elements.

    Returns ``(elements, V, F, FE, geometry_warnings)``: the table, vertices
    (project metres), faces, face → element row, and the warnings issued."""
    zmaxs = {k: v[0][:, 2].max() for k, v in geometry.items()}
    rows = []
    geometry_warnings: list = []
    verts, faces, face_el = [], [], []
    nv = 0
    missing = []
    for i, el in enumerate(st.elements):
        storey = storey_of(el, st.container, st.parent)
        has = el.id() in geometry
        above = (
            has
            and not any(el.is_a(c) for c in BELOW_GROUND_CLASSES)
            and (storey is None or storey.id() not in st.below_storeys)
            and zmaxs[el.id()] > st.ground + ABOVE_GROUND_TOL
        )
        if not has and getattr(el, "Representation", None) is not None:
            missing.append(el)
        ptype = predefined_type(el, st.typ)
        rows.append(
            {
                "global_id": el.GlobalId,
                "ifc_class": el.is_a(),
                "predefined_type": ptype,
                "name": el.Name,
                "storey": storey.Name if storey is not None else None,
                "storey_id": storey.GlobalId if storey is not None else None,
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
        # stack: _elements, read_ifc, the caller of read_ifc
        warnings.warn(f"{name}: {msg}", IfcGeometryWarning, stacklevel=3)
    el_df = pd.DataFrame(rows, columns=_ELEMENT_COLUMNS)
    V = np.concatenate(verts) if verts else np.zeros((0, 3))
    F = np.concatenate(faces) if faces else np.zeros((0, 3), np.int64)
    FE = np.concatenate(face_el) if face_el else np.zeros(0, np.int64)
    counts = np.bincount(FE, minlength=len(el_df)) if len(el_df) else np.zeros(0, int)
    el_df["n_faces"] = counts
    return el_df, V, F, FE, geometry_warnings


_STOREY_COLUMNS = [
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
]


def _storeys_table(st: _Structure, el_df, faces, footprint_local, top_local, area_m2):
    """Storey table (project elevations): height to the next storey, gross
    floor area from geometry and from quantity sets, spaces, elements.
    ``faces`` is ``(FE, tris, flat)``: face → element, triangles, plan faces."""
    FE, tris, flat = faces
    st_rows = []
    st_z = st.st_z
    for j, (s, z) in enumerate(zip(st.storeys, st_z, strict=True)):
        nxt = st_z[j + 1] if j + 1 < len(st_z) else np.nan
        height = (
            nxt - z
            if np.isfinite(nxt)
            else (top_local - z if top_local > z else np.nan)
        )
        mine = el_df.index[el_df["storey_id"] == s.GlobalId].to_numpy()
        gfa = storey_gfa(mine, el_df, FE, tris, flat, footprint_local)
        spaces = st.spaces_of.get(s.id(), [])
        space_area = [
            qto_value(sp, ("NetFloorArea", "GrossFloorArea", "GSA BIM Area"), area_m2)
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
                "gross_floor_area_qto": qto_value(s, ("GrossFloorArea",), area_m2),
                "space_area_qto": float(sum(space_area)) if space_area else np.nan,
                "n_spaces": len(spaces),
                "n_elements": int(len(mine)),
                "below_ground": s.id() in st.below_storeys,
            }
        )
    st_df = pd.DataFrame(st_rows, columns=_STOREY_COLUMNS)
    st_df["gross_floor_area_qto"] = st_df["gross_floor_area_qto"].astype(float)
    return st_df


def _to_world(mat, map_crs, scene_crs):
    """Function (n, 3) project metres → scene CRS metres and the output CRS
    (the identity and None when the model is not georeferenced)."""
    if mat is not None:
        return world_transform(mat, map_crs, scene_crs), scene_crs

    def to_world(xyz):
        return np.asarray(xyz, float).reshape(-1, 3)

    return to_world, None


def _check_area_of_use(footprint, WV, out_crs, georef, name) -> None:
    """Raise :class:`GeoreferenceError` when the placed model lands far outside
    the area of use of the scene CRS."""
    b = (
        shapely.bounds(footprint)
        if not footprint.is_empty
        else np.r_[WV[:, :2].min(0), WV[:, :2].max(0)]
    )
    try:
        check_bounds_in_area_of_use(b, out_crs, f"IFC {name}")
    except CRSError as exc:
        raise GeoreferenceError(
            f"IFC {name!r} lands at {tuple(round(float(v), 1) for v in b[:2])} in "
            f"{out_crs.to_string()!r}, far outside its area of use "
            f"(georeferencing {georef['method']}, map CRS "
            f"{georef.get('map_crs')!r}); read it with scene_crs= a CRS covering "
            f"the site (e.g. {utm_hint(georef)}) or give placement=(x, y, z, "
            f"rotation_deg)"
        ) from exc
