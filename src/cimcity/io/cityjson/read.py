"""Reading CityJSON into a Scene.

:func:`read_cityjson` turns a CityJSON file into a :class:`~cimcity.Scene`:
buildings become rows of ``scene.buildings`` whose footprint, ground, roof and
eave altitudes come from the 3D geometry; every attribute becomes a column;
other city objects (roads, land use, water, vegetation...) become layers named
by their type. Each building's surfaces become its detailed model in
``scene.models`` (triangulated on first use, see :mod:`cimcity.io.cityjson.mesh`), and the whole
file (every object, every LoD, semantics, materials) is kept in
``scene.meta["cityjson"]`` for :func:`~cimcity.io.cityjson.write_cityjson`.

Derived building columns
------------------------
``footprint``: union of the 2D projections of all surfaces of the selected
LoD (overhangs included), closed by :data:`FOOTPRINT_CLOSING`. ``ground_z`` /
``roof_z``: lowest / highest vertex. ``eave_z``: lowest vertex of the sloped
``RoofSurface`` polygons (NaN for flat roofs or without semantics). ``storeys``
from the standard attribute ``storeysAboveGround`` when present. ``lod``: the
LoD read, as a number (``2.2``), and ``cityjson_lod`` the exact string.

Attributes whose names clash with the Scene's own columns (``height``,
``storeys``...) are stored as ``cityjson_<name>`` and written back under their
original name.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ...errors import FileFormatError, InputError
from ...scene import Scene
from .document import (
    BUILDING_TYPES,
    FOOTPRINT_CLOSING,
    PART_TYPES,
    RESERVED,
    SLOPED_NZ,
    CityJSONWarning,
    _load,
    _lod_value,
    _newell,
    _pick_geometry,
    _scene_crs,
    _surfaces,
    _vertices,
)
from .mesh import building_models

#: top-level members of a CityJSON file that have a place of their own in the store
_TOP_KEYS = {
    "type",
    "version",
    "transform",
    "metadata",
    "CityObjects",
    "vertices",
    "geometry-templates",
    "appearance",
    "extensions",
}


def _signed_area(ring) -> float:
    """Signed area of a ring's plan projection (> 0: counter-clockwise from above,
    i.e. an outward normal pointing up) [m²]."""
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _footprints(groups) -> list:
    """Footprint of each group of surfaces: union of the 2D projections of its
    polygons (vertical ones project to nothing), closed by
    :data:`FOOTPRINT_CLOSING`; None when nothing has area. Vectorised over all
    groups: one shapely call builds every polygon. Of a closed shell only the
    upward-facing surfaces are used: they alone cover its projection (the top
    crossing of any vertical line is an upward face), which halves the union."""
    coords, ring_ids, owners, from_shell = [], [], [], []
    holed, holed_owner = [], []
    n_ring = 0
    for gi, surfaces in enumerate(groups):
        for rings, _, closed in surfaces:
            if not rings or len(rings[0]) < 3:
                continue
            if len(rings) == 1:
                coords.append(rings[0][:, :2])
                ring_ids.append(np.full(len(rings[0]), n_ring))
                owners.append(gi)
                from_shell.append(closed)
                n_ring += 1
            elif closed and _signed_area(rings[0]) <= 0:
                continue
            else:
                holed.append(
                    shapely.Polygon(
                        rings[0][:, :2], [r[:, :2] for r in rings[1:] if len(r) >= 3]
                    )
                )
                holed_owner.append(gi)
    polys = np.empty(0, dtype=object)
    owner = np.zeros(0, np.int64)
    if coords:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # degenerate rings
            rings = shapely.linearrings(
                np.concatenate(coords), indices=np.concatenate(ring_ids)
            )
        up = shapely.is_ccw(rings) | ~np.asarray(from_shell, bool)
        polys = shapely.polygons(rings[up])
        owner = np.asarray(owners, np.int64)[up]
    if holed:
        polys = np.concatenate([polys, np.asarray(holed, dtype=object)])
        owner = np.concatenate([owner, np.asarray(holed_owner, np.int64)])
    out = [None] * len(groups)
    if not len(polys):
        return out
    keep = shapely.area(polys) > 1e-9
    polys, owner = polys[keep], owner[keep]
    bad = ~shapely.is_valid(polys)
    if bad.any():
        polys[bad] = shapely.make_valid(polys[bad])
    order = np.argsort(owner, kind="stable")
    polys, owner = polys[order], owner[order]
    cuts = np.flatnonzero(np.diff(owner)) + 1
    groups_idx = np.split(np.arange(len(owner)), cuts)
    unions = np.array([shapely.union_all(polys[g]) for g in groups_idx], dtype=object)
    unions = shapely.buffer(
        shapely.buffer(unions, FOOTPRINT_CLOSING, join_style="mitre"),
        -FOOTPRINT_CLOSING,
        join_style="mitre",
    )
    for g, u in zip(groups_idx, unions, strict=True):
        parts = [
            p
            for p in shapely.get_parts(u)
            if p.geom_type == "Polygon" and p.area > 1e-6
        ]
        if parts:
            out[int(owner[g[0]])] = (
                parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
            )
    return out


def _altitudes(surfaces):
    """(ground_z, roof_z, eave_z, has_semantics) of a list of surfaces."""
    zs = [r[:, 2] for rings, _, _ in surfaces for r in rings if len(r)]
    if not zs:
        return np.nan, np.nan, np.nan, False
    z = np.concatenate(zs)
    sem = any(k is not None for _, k, _ in surfaces)
    eave = np.nan
    sloped = []
    for rings, k, _ in surfaces:
        if k != "RoofSurface" or not rings or len(rings[0]) < 3:
            continue
        r = rings[0]
        n = _newell(r)
        norm = np.linalg.norm(n)
        if norm > 0 and abs(n[2]) / norm < SLOPED_NZ:
            sloped.append(r[:, 2].min())
    if sloped:
        eave = float(min(sloped))
    return float(z.min()), float(z.max()), eave, sem


def _column(values):
    """A column keeping JSON types: ints stay ints (nullable), mixed types object."""
    types = {type(v) for v in values if v is not None}
    if types == {int}:
        return pd.array(values, dtype="Int64")
    if types == {float}:
        return np.array([np.nan if v is None else v for v in values], dtype=float)
    if types == {bool}:
        if any(v is None for v in values):
            return pd.array(values, dtype="boolean")
        return np.array(values, dtype=bool)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _attribute_frame(objects, ids):
    """Attributes of ``ids`` as columns; (frame, {column: attribute name})."""
    keys: dict = {}
    for oid in ids:
        for k in objects[oid].get("attributes") or {}:
            keys.setdefault(k, None)
    mapping = {}
    cols = {}
    for k in keys:
        col = f"cityjson_{k}" if k in RESERVED else k
        mapping[col] = k
        cols[col] = _column(
            [(objects[oid].get("attributes") or {}).get(k) for oid in ids]
        )
    return pd.DataFrame(cols, index=pd.Index(ids)), mapping


def read_cityjson(path, lod=None, crs=None, parts: str = "merge"):
    """Read a CityJSON file (1.1 or 2.0) into a Scene.

    Parameters
    ----------
    path : str or Path
        ``.json`` / ``.city.json`` (or gzip-compressed ``.gz``) CityJSON file.
    lod : str or float, optional
        LoD to read (``"1.2"``, ``2.2``, ``2`` = highest 2.x); default: the
        highest LoD of each building. Buildings without that LoD fall back to
        their highest, with a :class:`CityJSONWarning` giving the count.
    crs : str or pyproj.CRS, optional
        CRS of the coordinates; required when the file declares none
        (``metadata.referenceSystem``), overrides it otherwise. A compound CRS
        (e.g. EPSG:7415 = RD New + NAP) gives the scene its horizontal part and
        ``vertical_datum`` its vertical part.
    parts : {"merge", "keep"}
        ``"merge"``: each ``BuildingPart`` is merged into its parent building
        (footprint union, altitudes over all parts). ``"keep"``: parts are
        buildings of their own with a ``parent_id`` column.

    Returns
    -------
    Scene
        In the file's projected CRS (no reprojection: CityJSON geometry is 3D).
        ``scene.buildings`` (index = CityObject id): ``geometry``, ``ground_z``,
        ``roof_z``, ``eave_z``, ``height`` [m], ``storeys``, ``lod``,
        ``cityjson_lod``, ``cityjson_type``, ``source="cityjson"``,
        ``height_source="geometry"`` and one column per attribute. Other city
        objects are in ``scene.layers[<CityObject type>]``. The file itself is
        kept in ``scene.meta["cityjson"]`` for :func:`write_cityjson`.

    Raises
    ------
    FileFormatError
        Missing, empty, truncated, non-JSON, non-CityJSON or unsupported version.
    CRSError
        No CRS in the file and none given, or a CRS that is not projected in
        metres.
    InputError
        Unknown ``parts`` mode.
    """
    if parts not in ("merge", "keep"):
        raise InputError(f"unknown parts mode {parts!r}; expected 'merge' or 'keep'")
    name = Path(path).name
    cj = _load(path)
    try:
        return _read(cj, path, name, lod, crs, parts)
    except FileFormatError as exc:
        if name in str(exc):
            raise
        raise FileFormatError(f"CityJSON {name!r}: {exc}") from None


def _read(cj, path, name, lod, crs, parts):
    scene_crs, vertical, ref = _scene_crs(cj, crs, name)
    V = _vertices(cj)
    objects = cj["CityObjects"]
    templates = cj.get("geometry-templates")
    rows, missing, only_parent = _building_rows(objects, V, templates, lod, parts, name)
    gdf, mapping, flat_only = _buildings_table(rows, objects, scene_crs, parts, name)
    scene = Scene(
        crs=scene_crs, vertical_datum=vertical or "unknown", name=Path(path).stem
    )
    if len(gdf):
        scene.add_buildings(gdf)
        b = scene.buildings
        b.loc[np.isfinite(gdf["height"].to_numpy()), "height_source"] = "geometry"
        scene.touch()
    layered, unlayered = _add_layers(scene, objects, V, templates)
    store = {
        "path": str(path),
        "version": cj["version"],
        "transform": cj.get("transform"),
        "metadata": cj.get("metadata"),
        "reference_system": ref,
        "vertices": V,
        "objects": objects,
        "geometry_templates": templates,
        "appearance": cj.get("appearance"),
        "extensions": cj.get("extensions"),
        "extra": {k: v for k, v in cj.items() if k not in _TOP_KEYS},
        "attribute_columns": mapping,
        "layer_attribute_columns": layered,
        "unlayered": unlayered,
        "unplaced_buildings": missing + flat_only + only_parent,
        "parts": parts,
        "lod": lod,
    }
    scene.meta["cityjson"] = store
    # the buildings' LoD surfaces, triangulated when a mesh first needs them
    scene.models.defer(scene.buildings.index, functools.partial(building_models, store))
    return scene


def _building_rows(objects, V, templates, lod, parts, name):
    """Surfaces of each building row (a building with its merged parts, or each
    part with ``parts="keep"``); (rows, ids without geometry, parents only)."""

    def children(oid):
        return [c for c in objects[oid].get("children") or [] if c in objects]

    rows = {"ids": [], "surfaces": [], "lod": [], "parent": [], "type": []}
    fallback = 0
    no_geometry = []
    tops = [oid for oid, o in objects.items() if o.get("type") in BUILDING_TYPES]
    for oid in tops:
        if parts == "merge":
            groups = [(oid, _with_parts(oid, objects, children))]
        else:
            groups = [(m, [m]) for m in _with_parts(oid, objects, children)]
        for rid, mem in groups:
            surf, lods = [], []
            for m in mem:
                g = _pick_geometry(objects[m].get("geometry"), lod)
                if g is None and lod is not None:
                    g = _pick_geometry(objects[m].get("geometry"), None)
                    if g is not None:
                        fallback += 1
                if g is not None:
                    surf.extend(_surfaces(g, V, templates, m, name))
                    lods.append(str(g["lod"]))
            if not surf:
                if rid == oid or parts == "merge":
                    no_geometry.append(rid)
                continue
            rows["ids"].append(rid)
            rows["surfaces"].append(surf)
            rows["lod"].append(max(lods, key=_lod_value))
            rows["parent"].append(None if rid == oid else _parent_of(rid, objects))
            rows["type"].append(objects[rid]["type"])
    if fallback:
        warnings.warn(
            f"{name}: {fallback} building geometries have no LoD {lod!r}; their "
            f"highest LoD was read instead",
            CityJSONWarning,
            stacklevel=4,
        )
    # buildings with no geometry at all: kept in the file store, not in the table
    only_parent = [i for i in no_geometry if parts == "keep" and children(i)]
    missing = [i for i in no_geometry if i not in only_parent]
    if missing:
        warnings.warn(
            f"{name}: {len(missing)} building(s) have no surface geometry "
            f"{'at LoD ' + repr(lod) + ' ' if lod is not None else ''}and are not in "
            f"scene.buildings (first {missing[0]!r}); they are kept for writing back",
            CityJSONWarning,
            stacklevel=4,
        )
    return rows, missing, only_parent


def _buildings_table(rows, objects, scene_crs, parts, name):
    """(buildings GeoDataFrame, {column: attribute}, ids without footprint)."""
    footprints = _footprints(rows["surfaces"])
    alt = np.array([_altitudes(surf)[:3] for surf in rows["surfaces"]], float)
    alt = alt.reshape(-1, 3)
    keep = [i for i, fp in enumerate(footprints) if fp is not None]
    flat_only = [rows["ids"][i] for i, fp in enumerate(footprints) if fp is None]
    if flat_only:
        warnings.warn(
            f"{name}: {len(flat_only)} building(s) have only vertical surfaces (no "
            f"footprint) and are not in scene.buildings (first {flat_only[0]!r}); they "
            f"are kept for writing back",
            CityJSONWarning,
            stacklevel=4,
        )
    ids = [rows["ids"][i] for i in keep]
    attrs, mapping = _attribute_frame(objects, ids)
    gdf = gpd.GeoDataFrame(
        attrs.reset_index(drop=True),
        geometry=[footprints[i] for i in keep],
        crs=scene_crs,
    )
    g, r, e = alt[keep, 0], alt[keep, 1], alt[keep, 2]
    gdf["building_id"] = ids
    gdf["ground_z"] = g
    gdf["roof_z"] = r
    gdf["height"] = np.where(r - g > 0, r - g, np.nan)
    gdf["eave_z"] = e
    if "storeysAboveGround" in attrs.columns:
        gdf["storeys"] = pd.to_numeric(
            pd.Series(attrs["storeysAboveGround"].to_numpy(), dtype=object),
            errors="coerce",
        ).to_numpy(float)
        gdf.loc[gdf["storeys"] <= 0, "storeys"] = np.nan
    gdf["lod"] = [_lod_value(rows["lod"][i]) for i in keep]
    gdf["cityjson_lod"] = [rows["lod"][i] for i in keep]
    gdf["cityjson_type"] = [rows["type"][i] for i in keep]
    if parts == "keep":
        gdf["parent_id"] = [rows["parent"][i] for i in keep]
    gdf["source"] = "cityjson"
    return gdf, mapping, flat_only


def _add_layers(scene, objects, V, templates):
    """Other city objects as layers named by type; ({type: {column: attribute}},
    ids of objects without a footprint)."""
    layered, unlayered = {}, []
    building_family = {
        oid
        for oid, o in objects.items()
        if o.get("type") in BUILDING_TYPES + PART_TYPES or _in_building(oid, objects)
    }
    by_type: dict = {}
    for oid, o in objects.items():
        if oid in building_family:
            continue
        by_type.setdefault(o.get("type", "CityObject"), []).append(oid)
    for typ, oids in by_type.items():
        surf = []
        for oid in oids:
            gsel = _pick_geometry(objects[oid].get("geometry"), None)
            surf.append(
                _surfaces(gsel, V, templates, oid) if gsel is not None else []
            )
        geoms, ok_ids = [], []
        for oid, fp in zip(oids, _footprints(surf), strict=True):
            if fp is None:
                unlayered.append(oid)
                continue
            geoms.append(fp)
            ok_ids.append(oid)
        if not ok_ids:
            continue
        lattrs, lmap = _attribute_frame(objects, ok_ids)
        layer = gpd.GeoDataFrame(lattrs, geometry=geoms, crs=scene.crs)
        layer.index.name = "cityobject_id"
        layer["cityjson_type"] = typ
        scene.add_layer(typ, layer)
        layered[typ] = lmap
    return layered, unlayered


def _with_parts(oid, objects, children):
    out = [oid]
    stack = children(oid)
    while stack:
        c = stack.pop()
        if objects[c].get("type") in PART_TYPES:
            out.append(c)
            stack.extend(children(c))
    return out


def _parent_of(oid, objects):
    p = objects[oid].get("parents") or []
    return p[0] if p else None


def _in_building(oid, objects, depth=0):
    """True for objects below a building (installations, rooms, parts...)."""
    if depth > 16:
        return False
    for p in objects[oid].get("parents") or []:
        if p in objects and (
            objects[p].get("type") in BUILDING_TYPES + PART_TYPES
            or _in_building(p, objects, depth + 1)
        ):
            return True
    return False


