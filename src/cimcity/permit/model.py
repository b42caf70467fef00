"""Project models for what-if checks: massing models and modified variants."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import shapely

from ..bim import BimModel
from ..errors import GeometryError, InputError
from ._geometry import _parts


# ---------------------------------------------------------------------------------
# project model helpers: massing models and variants
# ---------------------------------------------------------------------------------
def massing(
    footprint,
    storey_heights,
    base_z=0.0,
    *,
    roof_pitch=0.0,
    ridge_axis="x",
    crs="EPSG:2154",
    name="massing",
    id=None,
    gross_floor_area=None,
):
    """A simple BIM model: a footprint extruded storey by storey.

    Useful to test a scheme against the PLU before an IFC exists (feasibility
    study) and as an exact reference in tests. Each storey is one element
    (``IfcBuildingStorey``-like rows in ``storeys``, one ``IfcBuildingElementProxy``
    per storey in ``elements``); an optional gable roof sits on the top.

    Parameters
    ----------
    footprint : shapely Polygon [m, scene CRS]
    storey_heights : sequence of float
        Floor-to-floor heights from the ground floor up [m].
    base_z : float
        Altitude of the ground floor [m].
    roof_pitch : float
        Pitch of a gable roof over the bounding box of the footprint [degrees];
        0 for a flat roof.
    ridge_axis : {"x", "y"}
        Direction of the ridge of the gable roof.
    crs : str
        CRS of the coordinates.
    name, id : str
        Label and project id.
    gross_floor_area : float, optional
        Floor area per storey [m²] (default: the footprint area).

    Returns
    -------
    BimModel
        Mesh in world coordinates with ``face_element``; storeys with
        ``elevation`` (absolute) [m], ``height`` [m] and ``gross_floor_area`` [m²].
    """
    import trimesh

    if not isinstance(footprint, shapely.Polygon) or footprint.is_empty:
        raise GeometryError(
            f"massing footprint must be a non-empty Polygon, got {footprint!r}"
        )
    hs = np.asarray(storey_heights, float)
    if hs.ndim != 1 or not len(hs) or (hs <= 0).any():
        raise InputError(
            f"storey_heights must be positive heights [m], got {storey_heights!r}"
        )
    fp = shapely.orient_polygons(footprint)
    meshes, owners = [], []
    z = float(base_z)
    storeys, elements = [], []
    pid = id or f"massing-{abs(hash((fp.wkb, tuple(hs), float(base_z)))) % 10**8:08d}"
    for k, h in enumerate(hs):
        m = trimesh.creation.extrude_polygon(fp, h)
        m.apply_translation((0, 0, z))
        meshes.append(m)
        owners.append(np.full(len(m.faces), k))
        gid = f"{pid}-S{k:02d}"
        storeys.append(
            dict(
                name=f"Level {k}",
                global_id=gid,
                elevation=z,
                height=h,
                gross_floor_area=fp.area
                if gross_floor_area is None
                else gross_floor_area,
            )
        )
        elements.append(
            dict(
                global_id=f"{pid}-E{k:02d}",
                ifc_class="IfcBuildingElementProxy",
                storey=gid,
                name=f"storey {k} volume",
            )
        )
        z += h
    if roof_pitch > 0:
        x0, y0, x1, y1 = fp.bounds
        t = math.tan(math.radians(roof_pitch))
        if ridge_axis == "x":
            half = (y1 - y0) / 2
            prof = [(y0, 0), (y1, 0), (y0 + half, half * t)]
            v = np.array([[x, yy, z + zz] for x in (x0, x1) for yy, zz in prof])
        else:
            half = (x1 - x0) / 2
            prof = [(x0, 0), (x1, 0), (x0 + half, half * t)]
            v = np.array([[xx, y, z + zz] for y in (y0, y1) for xx, zz in prof])
        f = [
            [0, 2, 1],
            [3, 4, 5],
            [0, 1, 4],
            [0, 4, 3],
            [1, 2, 5],
            [1, 5, 4],
            [2, 0, 3],
            [2, 3, 5],
        ]
        roof = trimesh.Trimesh(v, f, process=True)
        roof.fix_normals()
        meshes.append(roof)
        owners.append(np.full(len(roof.faces), len(hs)))
        elements.append(
            dict(
                global_id=f"{pid}-ROOF",
                ifc_class="IfcRoof",
                storey=storeys[-1]["global_id"],
                name="roof",
            )
        )
    mesh = trimesh.util.concatenate(meshes)
    top = float(mesh.vertices[:, 2].max())
    fp_all = fp
    if roof_pitch > 0:
        fp_all = shapely.union(fp, shapely.box(*fp.bounds))
    return BimModel(
        id=pid,
        mesh=mesh,
        footprint=fp_all,
        base_z=float(base_z),
        top_z=top,
        storeys=pd.DataFrame(storeys),
        elements=pd.DataFrame(elements),
        crs=crs,
        georef={"method": "user_placement", "approximate": False},
        name=name,
        schema="massing",
        face_element=np.concatenate(owners),
    )


def variant(
    bim, *, move=(0.0, 0.0), extra_height=0.0, add_storeys=0, extend=None, name=None
):
    """A modified copy of a project (what-if for an instructor or a test).

    Parameters
    ----------
    bim : BimModel
    move : (dx, dy)
        Horizontal translation [m].
    extra_height : float
        Make the building taller by this much [m]: altitudes above the base are
        stretched by ``(H + extra_height) / H`` (storeys scale with them).
    add_storeys : int
        Add this many storeys on top: everything above the floor of the top
        storey is raised by ``n × height of the top storey`` and the top
        storey is repeated (new rows in ``storeys``).
    extend : (direction_deg, distance), optional
        Stretch the building horizontally: every point beyond the middle of the
        footprint in the direction ``direction_deg`` (azimuth, clockwise from
        north) moves ``distance`` metres that way (footprint and mesh); the
        storeys' ``gross_floor_area`` grow like the footprint.
    name : str, optional

    Returns
    -------
    BimModel
        A new model (the input is not modified); ``extras["variant"]`` records
        the changes.
    """
    import copy

    import trimesh

    new = copy.copy(bim)
    v = np.array(bim.mesh.vertices, float)
    fp = bim.footprint
    storeys = bim.storeys.copy() if bim.storeys is not None else pd.DataFrame()
    base = float(bim.base_z)
    top = float(bim.top_z)
    if extend is not None:
        az, dist = float(extend[0]), float(extend[1])
        u = np.array([math.sin(math.radians(az)), math.cos(math.radians(az))])
        cx, cy = fp.centroid.x, fp.centroid.y
        s = (v[:, 0] - cx) * u[0] + (v[:, 1] - cy) * u[1]
        v[s > 1e-9, :2] += dist * u

        def stretch(x, y):
            t = (x - cx) * u[0] + (y - cy) * u[1]
            m = t > 1e-9
            return x + np.where(m, dist * u[0], 0.0), y + np.where(m, dist * u[1], 0.0)

        # insert the crossing points of the mid line before moving vertices
        cut = shapely.LineString(
            [(cx - 1e4 * u[1], cy + 1e4 * u[0]), (cx + 1e4 * u[1], cy - 1e4 * u[0])]
        )
        old_area = fp.area
        fp = shapely.union_all([_map_polygon(p, stretch, cut) for p in _parts(fp)])
        if len(storeys) and "gross_floor_area" in storeys and old_area > 0:
            # exact for prismatic storeys: every level grows like the footprint
            storeys["gross_floor_area"] = storeys["gross_floor_area"] * (
                fp.area / old_area
            )
    if extra_height:
        H = top - base
        if H <= 0:
            raise InputError(f"cannot stretch a model of height {H} m")
        f = (H + extra_height) / H
        v[:, 2] = base + (v[:, 2] - base) * f
        if len(storeys):
            storeys["elevation"] = base + (storeys["elevation"] - base) * f
            storeys["height"] = storeys["height"] * f
        top = base + (top - base) * f
    if add_storeys:
        if not len(storeys) or "elevation" not in storeys:
            raise InputError(
                "add_storeys needs a model with a storeys table (elevation, height)"
            )
        order = storeys.sort_values("elevation")
        last = order.iloc[-1]
        h = float(last["height"]) if np.isfinite(last.get("height", np.nan)) else 3.0
        dz = add_storeys * h
        v[v[:, 2] > float(last["elevation"]) + 1e-6, 2] += dz
        extra = []
        new_elements = None
        for k in range(add_storeys):
            r = last.copy()
            r["elevation"] = float(last["elevation"]) + (k + 1) * h
            r["name"] = f"{last['name']} +{k + 1}"
            r["global_id"] = f"{last.get('global_id', 'storey')}-added{k + 1}"
            extra.append(r)
            # the new level holds copies of the top level's elements (the mesh
            # stretches the top level's own elements over the added height)
            E = new_elements if new_elements is not None else bim.elements
            if E is not None and len(E) and "storey" in E.columns:
                keys = {str(last.get("name")), str(last.get("global_id"))}
                top_el = E[E["storey"].astype(str).isin(keys)].copy()
                if len(top_el):
                    top_el["storey"] = r["name"]
                    if "storey_id" in top_el.columns:
                        top_el["storey_id"] = r["global_id"]
                    top_el["global_id"] = (
                        top_el["global_id"].astype(str) + f"-added{k + 1}"
                    )
                    new_elements = pd.concat([E, top_el], ignore_index=True)
        storeys = pd.concat([storeys, pd.DataFrame(extra)], ignore_index=True)
        top += dz
    if any(np.asarray(move, float) != 0):
        dx, dy = map(float, move)
        v[:, :2] += (dx, dy)
        fp = shapely.affinity.translate(fp, dx, dy)
    new.mesh = trimesh.Trimesh(v, np.asarray(bim.mesh.faces), process=False)
    new.footprint = fp
    if add_storeys and new_elements is not None:
        new.elements = new_elements
    new.storeys = storeys
    new.top_z = float(v[:, 2].max()) if len(v) else top
    new.extras = dict(bim.extras)
    new.extras["variant"] = dict(
        move=tuple(move),
        extra_height=extra_height,
        add_storeys=add_storeys,
        extend=extend,
    )
    new.name = name or f"{bim.name or bim.id} (variant)"
    return new


def _map_polygon(poly, fn, cut):
    """Apply a point map to a polygon after splitting its edges at ``cut``."""
    rings = [poly.exterior, *poly.interiors]
    out = []
    for r in rings:
        coords = np.asarray(r.coords)[:, :2]
        # insert crossings with the cut line
        pts = []
        for a, b in zip(coords[:-1], coords[1:], strict=True):
            pts.append(a)
            seg = shapely.LineString([a, b])
            x = seg.intersection(cut)
            if not x.is_empty and x.geom_type == "Point":
                p = np.array([x.x, x.y])
                if np.hypot(*(p - a)) > 1e-9 and np.hypot(*(p - b)) > 1e-9:
                    pts.append(p)
        pts.append(coords[-1])
        pts = np.array(pts)
        x, y = fn(pts[:, 0], pts[:, 1])
        out.append(np.c_[x, y])
    return shapely.Polygon(out[0], out[1:])
