"""The spatial structure of an IFC model: storeys, containment, types, quantities.

Parent maps (spatial container, aggregate, type object) are built once per
file by :func:`relations`; :func:`storey_of` walks them. The *ground storey*
is the lowest storey at or above project elevation 0 (tolerance
:data:`STOREY_GROUND_TOL`); without storeys, the lowest element
(:func:`ground_level`).
"""

from __future__ import annotations

import numpy as np

#: storeys lower than this below project zero are basements [m]
STOREY_GROUND_TOL = 0.5
#: classes below ground by nature
BELOW_GROUND_CLASSES = ("IfcFooting", "IfcPile")


def relations(f):
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


def storey_of(entity, container, parent, depth=0):
    """Storey of an element or spatial element (through containers and
    aggregates), or None."""
    if entity is None or depth > 32:
        return None
    if entity.is_a("IfcBuildingStorey"):
        return entity
    up = container.get(entity.id()) or parent.get(entity.id())
    return storey_of(up, container, parent, depth + 1)


def predefined_type(el, typ):
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


def qto_value(entity, names, area_scale):
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


def storey_z(storey, unit_m) -> float:
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


def ground_level(st_z, elements, zmins) -> float:
    if len(st_z):
        up = st_z[st_z >= -STOREY_GROUND_TOL]
        return float(up.min()) if len(up) else float(st_z.max())
    z = [
        zmins[e.id()]
        for e in elements
        if e.id() in zmins and not any(e.is_a(c) for c in BELOW_GROUND_CLASSES)
    ]
    return float(min(z)) if z else 0.0
