"""Relations between the nodes of a Scene: zone ⊃ parcel ⊃ building, and a BIM
project ⊃ storey ⊃ element.

Links are columns filled by a spatial join (:func:`link`: a parcel belongs to
the zone it overlaps most, a building or vegetation polygon to the parcel and
zone it overlaps most). :func:`node`, :func:`parent` and :func:`children`
navigate them by id; the Scene methods of the same names call these.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from ..errors import InputError


def largest_overlap(child, parent) -> np.ndarray:
    """Parent id of each child polygon: the parent with the largest overlap.

    Parameters
    ----------
    child, parent : GeoDataFrame
        Polygons in one CRS; ``parent`` is indexed by its ids.

    Returns
    -------
    (n_child,) object array
        Parent ids; None where no parent overlaps with a positive area.
    """
    out = np.full(len(child), None, dtype=object)
    if not len(parent) or not len(child):
        return out
    cg = child.geometry.values
    pg = parent.geometry.values
    tree = shapely.STRtree(pg)
    ci, pi = tree.query(cg, predicate="intersects")
    if not len(ci):
        return out
    area = shapely.area(shapely.intersection(cg[ci], pg[pi]))
    ok = area > 0
    ci, pi, area = ci[ok], pi[ok], area[ok]
    order = np.lexsort((-area, ci))
    ci, pi = ci[order], pi[order]
    first = np.r_[True, ci[1:] != ci[:-1]]
    out[ci[first]] = parent.index.to_numpy()[pi[first]]
    return out


def link(parcels, zones, buildings, vegetation) -> None:
    """Fill ``zone_id`` of parcels and ``parcel_id`` / ``zone_id`` of buildings
    and vegetation in place (largest overlap wins)."""
    if len(parcels):
        parcels["zone_id"] = largest_overlap(parcels, zones)
    for table in (buildings, vegetation):
        if len(table):
            table["parcel_id"] = largest_overlap(table, parcels)
            table["zone_id"] = largest_overlap(table, zones)


def node(scene, node_id) -> pd.Series:
    """The row of any node of ``scene`` with a ``node_type`` entry.

    Nodes are zones, parcels, buildings, vegetation, BIM projects, and the
    storeys and elements of projects (found by index, ``global_id`` or
    ``name``).

    Raises
    ------
    InputError
        When no node has this id.
    """
    for kind, table in scene._tables.items():
        if node_id in table.index:
            s = table.loc[node_id].copy()
            s["node_type"] = kind[:-1] if kind != "vegetation" else "vegetation"
            return s
    if node_id in scene.projects:
        bim = scene.projects[node_id]
        return pd.Series(
            {
                "node_type": "project",
                "name": getattr(bim, "name", None),
                "geometry": bim.footprint,
                "base_z": bim.base_z,
                "top_z": bim.top_z,
            },
            name=node_id,
        )
    for pid, bim in scene.projects.items():
        for table, t in (("storeys", "storey"), ("elements", "element")):
            df = getattr(bim, table, None)
            if df is not None and len(df):
                hit = _lookup(df, node_id)
                if hit is not None:
                    s = hit.copy()
                    s["node_type"] = t
                    s["project_id"] = pid
                    return s
    raise InputError(f"no node with id {node_id!r} in this scene")


def parent(scene, node_id):
    """Id of the node's parent (building → parcel → zone; element → storey →
    project), or None."""
    n = node(scene, node_id)
    t = n["node_type"]
    if t in ("building", "vegetation"):
        return _none_if_na(n.get("parcel_id"))
    if t == "parcel":
        return _none_if_na(n.get("zone_id"))
    if t == "storey":
        return n["project_id"]
    if t == "element":
        return _none_if_na(n.get("storey")) or n["project_id"]
    if t == "project":
        b = scene.buildings
        if node_id in b.index:
            return _none_if_na(b.loc[node_id, "parcel_id"])
    return None


def children(scene, node_id) -> list:
    """Ids of the node's children (zone → parcels, parcel → buildings,
    project → storeys, storey → elements)."""
    n = node(scene, node_id)
    t = n["node_type"]
    if t == "zone":
        return scene.parcels.index[scene.parcels["zone_id"] == node_id].tolist()
    if t == "parcel":
        return scene.buildings.index[scene.buildings["parcel_id"] == node_id].tolist()
    if t in ("building", "project") and node_id in scene.projects:
        st = getattr(scene.projects[node_id], "storeys", None)
        if st is not None and len(st):
            return _ids(st)
        return []
    if t == "storey":
        el = scene.projects[n["project_id"]].elements
        key = n.get("name", node_id)
        if el is not None and "storey" in el.columns:
            return _ids(el[el["storey"].isin([node_id, key])])
    return []


def _lookup(df, node_id):
    if node_id in df.index:
        return df.loc[node_id]
    for c in ("global_id", "name"):
        if c in df.columns:
            hit = df[df[c] == node_id]
            if len(hit):
                return hit.iloc[0]
    return None


def _ids(df) -> list:
    if "global_id" in df.columns:
        return df["global_id"].tolist()
    if "name" in df.columns:
        return df["name"].tolist()
    return df.index.tolist()


def _none_if_na(v):
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else v
