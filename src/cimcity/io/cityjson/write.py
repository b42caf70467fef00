"""Writing a Scene as CityJSON 2.0 (``scene.to_cityjson(path)``).

Buildings read from a CityJSON file are written with their original geometry
(every LoD, semantics, materials), children and attributes, taken from the file
kept in ``scene.meta["cityjson"]``. Buildings from any other source become
LoD1 solids (flat roofs) or triangulated solids from ``scene.mesh()`` (mansard
roofs, BIM projects), with Ground/Wall/RoofSurface semantics.

References
----------
CityJSON specification 2.0.1, https://www.cityjson.org/specs/ .
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ...errors import InputError
from ...mesh import KIND_CODES
from .document import (
    DEFAULT_PRECISION,
    RESERVED,
    CityJSONWarning,
    _epsg_from_reference,
    _horizontal,
)


def _jsonable(v):
    """A JSON-native value (numpy/pandas scalars → Python, NaN/NA → None)."""
    if v is None:
        return None
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return [_jsonable(x) for x in v.tolist()]
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):  # non-scalar objects
        pass
    if isinstance(v, np.bool_ | bool):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, shapely.Geometry):
        return v.wkt
    return v


class _VertexPool:
    """Quantised, de-duplicated vertices of the output file."""

    def __init__(self, scale, translate):
        self.scale = np.asarray(scale, float)
        self.translate = np.asarray(translate, float)
        self.index: dict = {}
        self.rows: list = []

    def add(self, xyz) -> np.ndarray:
        q = np.rint(
            (np.asarray(xyz, float).reshape(-1, 3) - self.translate) / self.scale
        )
        q = q.astype(np.int64)
        out = np.empty(len(q), np.int64)
        for i, key in enumerate(map(tuple, q.tolist())):
            j = self.index.get(key)
            if j is None:
                j = len(self.rows)
                self.index[key] = j
                self.rows.append(key)
            out[i] = j
        return out


def _remap(boundaries, mapping):
    """Boundaries with every vertex index i replaced by mapping[i]."""
    if isinstance(boundaries, list):
        if boundaries and not isinstance(boundaries[0], list):
            return [int(mapping[i]) for i in boundaries]
        return [_remap(b, mapping) for b in boundaries]
    return boundaries


def _collect_indices(boundaries, out):
    stack = [boundaries]
    while stack:
        x = stack.pop()
        if isinstance(x, list):
            if x and not isinstance(x[0], list):
                out.extend(x)
            else:
                stack.extend(x)


def _original_object(o, V, pool, attributes):
    """A stored CityObject with its geometry re-indexed into ``pool``."""
    new = {k: v for k, v in o.items() if k not in ("geometry", "attributes")}
    if attributes is not None:
        new["attributes"] = attributes
    elif "attributes" in o:
        new["attributes"] = o["attributes"]
    if o.get("geometry") is not None:
        geoms = []
        for g in o["geometry"]:
            idx: list = []
            if g.get("type") == "GeometryInstance":
                idx = list(g.get("boundaries") or [])
            else:
                _collect_indices(g.get("boundaries") or [], idx)
            uniq = (
                np.unique(np.asarray(idx, np.int64)) if idx else np.zeros(0, np.int64)
            )
            mapping = {}
            if len(uniq):
                new_idx = pool.add(V[uniq])
                mapping = dict(zip(uniq.tolist(), new_idx.tolist(), strict=True))
            g2 = dict(g)
            g2["boundaries"] = _remap(g.get("boundaries"), mapping)
            if "lod" in g2:
                g2["lod"] = str(g2["lod"])
            geoms.append(g2)
        new["geometry"] = geoms
    return new


def _extruded_solid(footprint, z0, z1, pool):
    """Polygonal LoD1 solid(s) of a footprint between z0 and z1 with semantics."""
    solids = []
    for part in shapely.get_parts(footprint):
        if part.geom_type != "Polygon" or part.is_empty:
            continue
        part = shapely.orient_polygons(part)
        rings = [np.asarray(part.exterior.coords)[:-1]] + [
            np.asarray(r.coords)[:-1] for r in part.interiors
        ]
        surfaces, values = [], []
        low = [pool.add(np.c_[r, np.full(len(r), z0)]) for r in rings]
        high = [pool.add(np.c_[r, np.full(len(r), z1)]) for r in rings]
        # ground: reversed rings (normal down); roof: as oriented (normal up)
        surfaces.append([lo[::-1].tolist() for lo in low])
        values.append(0)
        for lo, hi in zip(low, high, strict=True):
            n = len(lo)
            for i in range(n):
                j = (i + 1) % n
                surfaces.append([[int(lo[i]), int(lo[j]), int(hi[j]), int(hi[i])]])
                values.append(1)
        surfaces.append([hi.tolist() for hi in high])
        values.append(2)
        solids.append((surfaces, values))
    return solids


def _semantic_surfaces():
    return [{"type": "GroundSurface"}, {"type": "WallSurface"}, {"type": "RoofSurface"}]


def _mesh_geometry(mesh, face_idx, pool, lod, closed):
    """Triangles of one building from a CityMesh, as a Solid or MultiSurface."""
    tri = mesh.faces[face_idx]
    world = mesh.world_vertices
    idx = pool.add(world[tri.reshape(-1)]).reshape(-1, 3)
    ok = (idx[:, 0] != idx[:, 1]) & (idx[:, 1] != idx[:, 2]) & (idx[:, 0] != idx[:, 2])
    kinds = mesh.face_kind[face_idx][ok]
    code = {KIND_CODES["base"]: 0, KIND_CODES["wall"]: 1, KIND_CODES["roof"]: 2}
    values = [code.get(int(k), 1) for k in kinds]
    surfaces = [[t] for t in idx[ok].tolist()]
    if closed:
        return {
            "type": "Solid",
            "lod": lod,
            "boundaries": [surfaces],
            "semantics": {"surfaces": _semantic_surfaces(), "values": [values]},
        }
    return {
        "type": "MultiSurface",
        "lod": lod,
        "boundaries": surfaces,
        "semantics": {"surfaces": _semantic_surfaces(), "values": values},
    }


def _lod_string(v, default):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return default
    if not math.isfinite(f):
        return default
    return str(int(f)) if f == int(f) else f"{f:g}"


def write_cityjson(scene, path, precision: float | None = None, indent=None) -> Path:
    """Write a Scene's buildings (and the other objects read from CityJSON) as
    CityJSON 2.0.

    Buildings read with :func:`~cimcity.io.cityjson.read_cityjson` keep their
    original geometry (every LoD, semantics, materials), children and
    attributes (current table values, under their original names; columns
    added since are written too). Other buildings become LoD1 ``Solid``
    extrusions of their footprint from ``ground_z`` to ``roof_z`` (flat roofs),
    or the ``Solid`` triangles of ``scene.mesh()`` (mansard roofs, LoD 2; BIM
    projects as ``MultiSurface``, LoD 3), with Ground/Wall/RoofSurface
    semantics, and attributes ``measuredHeight``, ``storeysAboveGround`` (only
    when the storey count is data, not an estimate) and their other columns.

    Parameters
    ----------
    scene : Scene
    path : str or Path
        Output file (``.json`` / ``.city.json``).
    precision : float, optional
        Coordinate quantisation [m] (``transform.scale``); default: the scale
        of the file the scene was read from, else 1 mm.
    indent : int, optional
        JSON indentation (compact by default).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    InputError
        Non-positive ``precision``.
    """
    store = scene.meta.get("cityjson") or {}
    tr = store.get("transform")
    if precision is None:
        precision = float(tr["scale"][0]) if tr else DEFAULT_PRECISION
    if not (precision > 0 and math.isfinite(precision)):
        raise InputError(f"precision must be a positive length [m]; got {precision!r}")
    scale, translate = _quantisation(scene, tr, precision)
    pool = _VertexPool(scale, translate)
    out: dict = {}
    written = _file_objects(scene, store, pool, out)
    _other_buildings(scene, written, pool, out)
    doc = _document(scene, store, pool, out, scale, translate)
    path = Path(path)
    text = json.dumps(
        doc,
        indent=indent,
        ensure_ascii=False,
        separators=(",", ":") if indent is None else None,
    )
    path.write_text(text, encoding="utf-8")
    return path


def _quantisation(scene, tr, precision):
    """(scale, translate) of the output: the file's own when its precision is
    kept, else ``precision`` from the floor of the scene's lowest corner."""
    if tr and tr["scale"][0] == precision:
        return [float(s) for s in tr["scale"]], list(map(float, tr["translate"]))
    B = scene.buildings
    b = scene.bounds
    zmin = float(np.nanmin(B["ground_z"])) if len(B) else 0.0
    base = [b[0], b[1], zmin] if np.isfinite(b[0]) else [0.0, 0.0, 0.0]
    return [precision] * 3, [float(np.floor(x)) for x in base]


def _own_columns(B):
    return [c for c in B.columns if c not in RESERVED and c != B.geometry.name]


def _file_objects(scene, store, pool, out) -> set:
    """Write the objects that came from the file into ``out``; their ids."""
    objects_in = store.get("objects") or {}
    V = store.get("vertices")
    B = scene.buildings
    attr_map = store.get("attribute_columns") or {}
    from_file = (B["source"] == "cityjson").to_numpy() if len(B) else np.zeros(0, bool)
    extra_cols = [c for c in _own_columns(B) if c not in attr_map]

    # buildings from the file: original objects (+ parents and descendants)
    wanted = [
        bid for bid, ff in zip(B.index, from_file, strict=True) if ff and bid in objects_in
    ]
    written = set()
    for bid in wanted:
        row = B.loc[bid]
        o = objects_in[bid]
        attrs = dict(o.get("attributes") or {})
        for col, key in attr_map.items():
            if key in attrs and col in B.columns:
                attrs[key] = _jsonable(row[col])
        for col in extra_cols:
            v = _jsonable(row[col])
            if v is not None:
                attrs[col] = v
        has_attrs = "attributes" in o or bool(attrs)
        out[bid] = _original_object(o, V, pool, attrs if has_attrs else None)
        written.add(bid)
    # relatives of written file objects (parent buildings, parts, installations)
    stack = list(written)
    while stack:
        oid = stack.pop()
        o = objects_in[oid]
        for rel in list(o.get("children") or []) + list(o.get("parents") or []):
            if rel in objects_in and rel not in written:
                out[rel] = _original_object(objects_in[rel], V, pool, None)
                written.add(rel)
                stack.append(rel)
    # other file objects: those still in the scene's layers, and those never layered
    layer_ids = set()
    for layer in scene.layers.values():
        if "cityjson_type" in layer.columns:
            layer_ids.update(layer.index.tolist())
    for oid in list(layer_ids) + list(store.get("unlayered") or []):
        if oid in objects_in and oid not in written:
            out[oid] = _original_object(objects_in[oid], V, pool, None)
            written.add(oid)
    for oid in store.get("unplaced_buildings") or []:
        if oid in objects_in and oid not in written and store.get("parts") != "keep":
            out[oid] = _original_object(objects_in[oid], V, pool, None)
            written.add(oid)
    return written


def _other_buildings(scene, written, pool, out) -> None:
    """Write the buildings not from the file into ``out``: LoD1 extrusions, or
    the mesh triangles of pitched roofs and BIM projects."""
    B = scene.buildings
    others = B.index[~np.isin(B.index.to_numpy(), list(written))]
    if not len(others):
        return
    own_cols = _own_columns(B)
    sub = B.loc[others]
    pitched = (
        np.isfinite(sub["eave_z"].to_numpy(float))
        & (sub["eave_z"].to_numpy(float) < sub["roof_z"].to_numpy(float) - 0.05)
        if "eave_z" in sub.columns
        else np.zeros(len(sub), bool)
    )
    is_bim = sub.index.isin(list(scene.projects)).astype(bool)
    need_mesh = pitched | is_bim
    mesh = scene.mesh(terrain=False) if need_mesh.any() else None
    pos = {bid: i for i, bid in enumerate(mesh.building_ids)} if mesh is not None else {}
    for k, bid in enumerate(sub.index):
        row = sub.loc[bid]
        if need_mesh[k] and mesh is not None and bid in pos:
            faces = np.flatnonzero(mesh.face_building == pos[bid])
            lod = "3" if is_bim[k] else "2"
            geoms = [_mesh_geometry(mesh, faces, pool, lod, closed=not is_bim[k])]
        else:
            geoms = [_extruded_geometry(row, pool)]
        attrs = {"measuredHeight": _jsonable(row["height"])}
        estimated = row.get("storeys_source") == "estimated"
        if (
            "storeys" in row.index
            and _jsonable(row["storeys"]) is not None
            and not estimated
        ):
            attrs["storeysAboveGround"] = int(row["storeys"])
        for col in own_cols:
            v = _jsonable(row[col])
            if v is not None and col not in attrs:
                attrs[col] = v
        out[str(bid)] = {"type": "Building", "attributes": attrs, "geometry": geoms}


def _extruded_geometry(row, pool) -> dict:
    """LoD1 Solid (or MultiSolid for several parts) of a footprint row."""
    solids = _extruded_solid(
        row.geometry, float(row["ground_z"]), float(row["roof_z"]), pool
    )
    lod = _lod_string(row.get("lod"), "1")
    lod = "1" if float(lod) >= 2 else lod
    if len(solids) == 1:
        return {
            "type": "Solid",
            "lod": lod,
            "boundaries": [solids[0][0]],
            "semantics": {
                "surfaces": _semantic_surfaces(),
                "values": [solids[0][1]],
            },
        }
    return {
        "type": "MultiSolid",
        "lod": lod,
        "boundaries": [[s] for s, _ in solids],
        "semantics": {
            "surfaces": _semantic_surfaces(),
            "values": [[v] for _, v in solids],
        },
    }


def _document(scene, store, pool, out, scale, translate) -> dict:
    """The CityJSON 2.0 document around the written objects."""
    verts = np.asarray(pool.rows, dtype=np.int64).reshape(-1, 3)
    meta = dict(store.get("metadata") or {})
    ref = _reference_system(scene, store)
    if ref:
        meta["referenceSystem"] = ref
    else:
        meta.pop("referenceSystem", None)
    if len(verts):
        w = verts * np.asarray(scale) + np.asarray(translate)
        meta["geographicalExtent"] = [*map(float, w.min(0)), *map(float, w.max(0))]
    doc = {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": scale, "translate": translate},
        "metadata": meta,
        "CityObjects": out,
        "vertices": verts.tolist(),
    }
    if store.get("geometry_templates"):
        doc["geometry-templates"] = store["geometry_templates"]
    if store.get("appearance"):
        doc["appearance"] = store["appearance"]
    if store.get("extensions"):
        doc["extensions"] = store["extensions"]
    for k, v in (store.get("extra") or {}).items():
        doc.setdefault(k, v)
    return doc


def _reference_system(scene, store) -> str | None:
    ref = store.get("reference_system")
    if ref:
        code = _epsg_from_reference(ref)
        try:
            c = CRS.from_epsg(code) if code else CRS.from_user_input(ref)
            if _horizontal(c).equals(scene.crs, ignore_axis_order=True):
                return ref
        except Exception:  # fall through to the scene's own code
            pass
    code = scene.crs.to_epsg()
    if code is None:
        warnings.warn(
            f"the scene CRS {scene.crs.name!r} has no EPSG code: no referenceSystem "
            f"written",
            CityJSONWarning,
            stacklevel=3,
        )
        return None
    return f"https://www.opengis.net/def/crs/EPSG/0/{code}"


