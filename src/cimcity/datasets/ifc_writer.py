"""A small, deterministic IFC writer for sample and test projects.

Used by the sample generator (:mod:`cimcity.datasets.paris`) and by
:func:`cimcity.testing.write_box_project`.

:func:`write_project_ifc` builds a simple multi-storey building with
ifcopenshell's authoring API (``ifcopenshell.api``): project, site, building,
storeys at their elevations, one wall per footprint edge and storey, a floor
slab per storey, an optional roof slab, base quantities, and georeferencing
(``IfcMapConversion`` + ``IfcProjectedCRS`` in IFC4, ``ePSet_MapConversion`` +
``ePSet_ProjectedCRS`` on the project in IFC2X3).

Geometry convention (what :func:`cimcity.read_ifc` reads back)
------------------------------------------------------------------
Storey ``i`` has its elevation ``e_i = sum(storey_heights[:i])`` (project
coordinates, the building stands on ``z = 0``). Its floor slab fills
``[e_i, e_i + slab_thickness]`` and its walls stand on it up to the next level,
``[e_i + slab_thickness, e_i + h_i]``, on the inner side of each footprint edge
(the footprint outline is the outer face of the walls). The roof slab fills
``[H - slab_thickness, H]`` with ``H = sum(storey_heights)``, i.e. it sits
*inside* the top storey, whose walls stop under it. No two solids overlap. So, once placed by
the map conversion, ``base_z = orthogonal_height`` and ``top_z =
orthogonal_height + sum(storey_heights)`` exactly, and the 2D footprint is the
given polygon.

GlobalIds are derived from ``seed`` and the header timestamp is fixed, so the
same arguments always give byte-identical files.
"""

from __future__ import annotations

import math
import uuid
from pathlib import Path

import numpy as np
import shapely

from .._compat import import_optional
from ..errors import GeometryError, InputError

#: fixed header timestamp (deterministic files)
TIMESTAMP = "2024-01-01T00:00:00"
_UNITS = {"m": None, "mm": "MILLI", "cm": "CENTI"}
_API_MODULES = (
    "project",
    "root",
    "unit",
    "context",
    "aggregate",
    "geometry",
    "spatial",
    "pset",
    "georeference",
    "owner",
    "owner.settings",
)


def write_project_ifc(
    path,
    footprint_local,
    storey_heights,
    map_conversion=None,
    crs="EPSG:2154",
    name: str = "Projet",
    wall_thickness: float = 0.3,
    slab_thickness: float = 0.3,
    roof: bool = True,
    length_unit: str = "m",
    schema: str = "IFC4",
    seed: str = "cimcity",
    site_latlon=None,
    storey_names=None,
    quantities: bool = True,
) -> Path:
    """Write a simple georeferenced IFC building project.

    Parameters
    ----------
    path : str or Path
        Output ``.ifc`` file.
    footprint_local : (k, 2) sequence of float
        Outer outline of the building in project coordinates [m], a simple
        polygon (any orientation; made counter-clockwise here), not closed.
    storey_heights : sequence of float
        Floor-to-floor height of each storey, ground floor first [m].
    map_conversion : dict, optional
        ``eastings``, ``northings``, ``orthogonal_height`` [map units, m],
        ``x_axis_abscissa``, ``x_axis_ordinate`` (direction of the project x axis
        in map coordinates, default ``(1, 0)``) and ``scale`` (written only when
        given; the correct value is the project-unit-to-metre ratio, 0.001 for a
        millimetre project). None writes no georeferencing.
    crs : str
        Name of the ``IfcProjectedCRS`` (e.g. ``"EPSG:2154"``).
    name : str
        Project and building name.
    wall_thickness, slab_thickness : float
        [m].
    roof : bool
        Add a roof slab at the top of the last storey.
    length_unit : {"m", "mm", "cm"}
        Project length unit (the geometry is the same; only its encoding changes).
    schema : {"IFC4", "IFC4X3", "IFC2X3"}
    seed : str
        Seed of the deterministic GlobalIds.
    site_latlon : (lat, lon, elevation), optional
        Written as ``IfcSite.RefLatitude/RefLongitude/RefElevation`` [deg, deg, m].
    storey_names : sequence of str, optional
        Default ``"Niveau 0"``, ``"Niveau 1"``...
    quantities : bool
        Write ``Qto_BuildingStoreyBaseQuantities.GrossFloorArea`` (= footprint
        area) on each storey and ``Qto_SlabBaseQuantities`` on slabs.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    InputError, GeometryError
        Invalid footprint, heights, unit or schema.
    """
    ifcopenshell = import_optional("ifcopenshell")
    for sub in _API_MODULES:
        import_optional(f"ifcopenshell.api.{sub}")
    import_optional("ifcopenshell.guid")
    api = ifcopenshell.api

    if schema not in ("IFC4", "IFC2X3", "IFC4X3"):
        raise InputError(
            f"unsupported schema {schema!r}; expected 'IFC4', 'IFC4X3' or 'IFC2X3'"
        )
    if length_unit not in _UNITS:
        raise InputError(
            f"unknown length_unit {length_unit!r}; expected one of {list(_UNITS)}"
        )
    heights = np.asarray(storey_heights, dtype=float).ravel()
    if not len(heights) or not np.all(np.isfinite(heights)) or np.any(heights <= 0):
        raise InputError(
            f"storey_heights must be a non-empty list of positive heights [m]; "
            f"got {list(storey_heights)}"
        )
    if (
        slab_thickness <= 0
        or wall_thickness <= 0
        or 3 * slab_thickness >= heights.min()
    ):
        raise InputError(
            f"wall_thickness ({wall_thickness}) and slab_thickness ({slab_thickness}) "
            f"must be positive, the slab thinner than a third of the lowest storey "
            f"({heights.min()} m)"
        )
    pts = np.asarray(footprint_local, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
        raise GeometryError(
            f"footprint_local must be a list of at least 3 (x, y) points; got shape "
            f"{pts.shape}"
        )
    if np.allclose(pts[0], pts[-1]):
        pts = pts[:-1]
    poly = shapely.Polygon(pts)
    if not poly.is_valid or poly.area <= 0:
        raise GeometryError(
            f"footprint_local is not a simple polygon ({shapely.is_valid_reason(poly)})"
        )
    poly = shapely.orient_polygons(poly)  # counter-clockwise exterior
    unit = _UNITS[length_unit]
    scale_m = {"m": 1.0, "mm": 1e-3, "cm": 1e-2}[length_unit]

    f = api.project.create_file(schema)
    owner = api.owner.settings
    saved = (owner.get_user, owner.get_application)
    if schema == "IFC2X3":  # owner history is mandatory in IFC2X3
        app = api.owner.add_application(f)
        person = api.owner.add_person(
            f, identification="cimcity", family_name="cimcity"
        )
        org = api.owner.add_organisation(f, identification="cimcity", name="cimcity")
        user = api.owner.add_person_and_organisation(f, person=person, organisation=org)
        owner.get_user = lambda _f: user
        owner.get_application = lambda _f: app
    try:
        _build(
            api,
            f,
            name,
            poly,
            heights,
            unit,
            scale_m,
            wall_thickness,
            slab_thickness,
            roof,
            site_latlon,
            storey_names,
            quantities,
        )
    finally:
        owner.get_user, owner.get_application = saved
    if map_conversion is not None:
        _georeference(api, f, map_conversion, crs)
    _make_deterministic(ifcopenshell, f, seed)
    path = Path(path)
    f.header.file_name.name = path.name
    f.header.file_name.time_stamp = TIMESTAMP
    f.write(str(path))
    return path


def _build(
    api,
    f,
    name,
    poly,
    heights,
    unit,
    scale_m,
    wall_thickness,
    slab_thickness,
    roof,
    site_latlon,
    storey_names,
    quantities,
):
    ring = np.asarray(poly.exterior.coords)[:-1]
    project = api.root.create_entity(f, ifc_class="IfcProject", name=name)
    length = api.unit.add_si_unit(f, unit_type="LENGTHUNIT", prefix=unit)
    area = api.unit.add_si_unit(f, unit_type="AREAUNIT")
    volume = api.unit.add_si_unit(f, unit_type="VOLUMEUNIT")
    angle = api.unit.add_si_unit(f, unit_type="PLANEANGLEUNIT")
    api.unit.assign_unit(f, units=[length, area, volume, angle])
    model = api.context.add_context(f, context_type="Model")
    body = api.context.add_context(
        f,
        context_type="Model",
        context_identifier="Body",
        target_view="MODEL_VIEW",
        parent=model,
    )

    site = api.root.create_entity(f, ifc_class="IfcSite", name="Site")
    building = api.root.create_entity(f, ifc_class="IfcBuilding", name=name)
    api.aggregate.assign_object(f, products=[site], relating_object=project)
    api.aggregate.assign_object(f, products=[building], relating_object=site)
    for product in (site, building):
        api.geometry.edit_object_placement(f, product=product, matrix=np.eye(4))
    if site_latlon is not None:
        lat, lon, elev = site_latlon
        site.RefLatitude = _dms(lat)
        site.RefLongitude = _dms(lon)
        site.RefElevation = float(elev) / scale_m

    elevations = np.concatenate([[0.0], np.cumsum(heights)[:-1]])
    total = float(heights.sum())
    names = (
        list(storey_names)
        if storey_names is not None
        else [f"Niveau {i}" for i in range(len(heights))]
    )
    if len(names) != len(heights):
        raise InputError(
            f"storey_names has {len(names)} names for {len(heights)} storeys"
        )
    for i, (e, h) in enumerate(zip(elevations, heights, strict=True)):
        storey = api.root.create_entity(f, ifc_class="IfcBuildingStorey", name=names[i])
        storey.Elevation = float(e) / scale_m
        api.aggregate.assign_object(f, products=[storey], relating_object=building)
        api.geometry.edit_object_placement(
            f, product=storey, matrix=_translation(0, 0, e)
        )
        elements = []
        if quantities:
            _qto(
                api,
                f,
                storey,
                "Qto_BuildingStoreyBaseQuantities",
                {"GrossFloorArea": float(poly.area), "GrossHeight": float(h)},
            )
        # floor slab [e, e + t]
        slab = _slab(
            api, f, body, f"Dalle {names[i]}", ring, e, slab_thickness, "FLOOR"
        )
        if quantities:
            _qto(
                api,
                f,
                slab,
                "Qto_SlabBaseQuantities",
                {"GrossArea": float(poly.area), "Depth": float(slab_thickness)},
            )
        elements.append(slab)
        # one wall per footprint edge, on the inner side (left of a CCW edge)
        for j in range(len(ring)):
            a, b = ring[j], ring[(j + 1) % len(ring)]
            dx, dy = b - a
            edge = math.hypot(dx, dy)
            wall = api.root.create_entity(
                f,
                ifc_class="IfcWall",
                name=f"Mur {names[i]} {j + 1}",
                predefined_type="SOLIDWALL",
            )
            top = e + h - (slab_thickness if roof and i == len(heights) - 1 else 0.0)
            rep = api.geometry.add_wall_representation(
                f,
                context=body,
                length=edge,
                height=float(top - e - slab_thickness),
                thickness=wall_thickness,
            )
            api.geometry.assign_representation(f, product=wall, representation=rep)
            c, s = dx / edge, dy / edge
            mat = np.array(
                [
                    [c, -s, 0, a[0]],
                    [s, c, 0, a[1]],
                    [0, 0, 1, e + slab_thickness],
                    [0, 0, 0, 1],
                ],
                float,
            )
            api.geometry.edit_object_placement(f, product=wall, matrix=mat)
            elements.append(wall)
        if roof and i == len(heights) - 1:
            rslab = _slab(
                api,
                f,
                body,
                "Toiture",
                ring,
                total - slab_thickness,
                slab_thickness,
                "ROOF",
            )
            if quantities:
                _qto(
                    api,
                    f,
                    rslab,
                    "Qto_SlabBaseQuantities",
                    {"GrossArea": float(poly.area), "Depth": float(slab_thickness)},
                )
            elements.append(rslab)
        for el in elements:  # one at a time: the API iterates sets (random order)
            api.spatial.assign_container(f, products=[el], relating_structure=storey)


#: unordered (SET) aggregate attributes the API fills from Python sets
_SET_ATTRIBUTES = {
    "IfcRelAggregates": "RelatedObjects",
    "IfcRelContainedInSpatialStructure": "RelatedElements",
    "IfcRelDefinesByProperties": "RelatedObjects",
    "IfcUnitAssignment": "Units",
    "IfcElementQuantity": "Quantities",
    "IfcPropertySet": "HasProperties",
    "IfcRelDeclares": "RelatedDefinitions",
    "IfcShapeRepresentation": "Items",
}


def _make_deterministic(ifcopenshell, f, seed):
    """Fixed GlobalIds (from ``seed``), sorted SET attributes, fixed dates."""
    for cls, attr in _SET_ATTRIBUTES.items():
        try:
            items = f.by_type(cls)
        except RuntimeError:  # class absent from this schema
            continue
        for e in items:
            value = getattr(e, attr)
            if value:
                setattr(e, attr, sorted(value, key=lambda x: x.id()))
    ns = uuid.uuid5(uuid.NAMESPACE_URL, f"cimcity:{seed}")
    for k, root in enumerate(sorted(f.by_type("IfcRoot"), key=lambda r: r.id())):
        root.GlobalId = ifcopenshell.guid.compress(uuid.uuid5(ns, str(k)).hex)
    for oh in f.by_type("IfcOwnerHistory"):
        oh.CreationDate = 1704067200  # 2024-01-01T00:00:00Z
        oh.LastModifiedDate = 1704067200


def _translation(x, y, z) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = (x, y, z)
    return m


def _slab(api, f, body, name, ring, z, thickness, kind):
    slab = api.root.create_entity(
        f, ifc_class="IfcSlab", name=name, predefined_type=kind
    )
    poly = [tuple(map(float, p)) for p in ring] + [tuple(map(float, ring[0]))]
    rep = api.geometry.add_slab_representation(
        f, context=body, depth=thickness, polyline=poly
    )
    api.geometry.assign_representation(f, product=slab, representation=rep)
    api.geometry.edit_object_placement(f, product=slab, matrix=_translation(0, 0, z))
    return slab


def _qto(api, f, product, name, values):
    q = api.pset.add_qto(f, product=product, name=name)
    api.pset.edit_qto(f, qto=q, properties=values)


def _georeference(api, f, mc, crs):
    keys = {
        "eastings": "Eastings",
        "northings": "Northings",
        "orthogonal_height": "OrthogonalHeight",
        "x_axis_abscissa": "XAxisAbscissa",
        "x_axis_ordinate": "XAxisOrdinate",
        "scale": "Scale",
    }
    unknown = set(mc) - set(keys)
    if unknown:
        raise InputError(
            f"unknown map_conversion keys {sorted(unknown)}; expected {sorted(keys)}"
        )
    values = {keys[k]: float(v) for k, v in mc.items() if v is not None}
    values.setdefault("XAxisAbscissa", 1.0)
    values.setdefault("XAxisOrdinate", 0.0)
    api.georeference.add_georeferencing(f, name=str(crs))
    if f.schema == "IFC2X3":
        project = f.by_type("IfcProject")[0]
        import ifcopenshell.util.element as ue

        pset = ue.get_pset(project, "ePSet_MapConversion", should_inherit=False)
        api.pset.edit_pset(f, pset=f.by_id(pset["id"]), properties=values)
        return
    api.georeference.edit_georeferencing(
        f, coordinate_operation=values, projected_crs={"Name": str(crs)}
    )


def _dms(value: float) -> tuple:
    """Decimal degrees → IFC compound angle (deg, min, s, millionths of s)."""
    sign = -1 if value < 0 else 1
    v = abs(float(value))
    d = int(v)
    m = int((v - d) * 60)
    s_float = (v - d - m / 60) * 3600
    s = int(s_float)
    us = int(round((s_float - s) * 1e6))
    if us == 1_000_000:
        s, us = s + 1, 0
    return tuple(sign * x for x in (d, m, s, us))
