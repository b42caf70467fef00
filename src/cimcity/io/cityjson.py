"""CityJSON in and out (versions 1.1 and 2.0 read, 2.0 written).

:func:`read_cityjson` turns a CityJSON file into a :class:`~cimcity.Scene`:
buildings become rows of ``scene.buildings`` whose footprint, ground, roof and
eave altitudes come from the 3D geometry; every attribute becomes a column;
other city objects (roads, land use, water, vegetation...) become layers named
by their type. The whole file (every object, every LoD, semantics, materials)
is kept in ``scene.meta["cityjson"]`` so that :func:`write_cityjson`
(``scene.to_cityjson(path)``) writes the buildings that came from the file with
their original geometry, and buildings from any other source as LoD1 solids
(flat roofs) or triangulated solids from ``scene.mesh()`` (mansard roofs, BIM
projects), with Ground/Wall/RoofSurface semantics.

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

References
----------
CityJSON specifications 1.1.3 and 2.0.1, https://www.cityjson.org/specs/ .
"""

from __future__ import annotations

import gzip
import json
import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..crs import as_projected_crs
from ..errors import CimcityWarning, CRSError, FileFormatError, InputError

__all__ = [
    "read_cityjson",
    "write_cityjson",
    "cityjson_mesh",
    "describe",
    "CityJSONWarning",
]

#: versions read; 2.0 is written
VERSIONS = ("1.0", "1.1", "2.0")
#: closing of footprints (hairline gaps between adjacent surfaces) [m]
FOOTPRINT_CLOSING = 0.005
#: roof surfaces with |n_z| below this are sloped (eaves) [-]
SLOPED_NZ = 0.995
#: default quantisation of written coordinates [m]
DEFAULT_PRECISION = 0.001
#: building types and the types merged into them
BUILDING_TYPES = ("Building",)
PART_TYPES = ("BuildingPart",)
#: Scene columns an attribute must not overwrite
RESERVED = frozenset(
    {
        "geometry",
        "building_id",
        "ground_z",
        "ground_source",
        "height",
        "height_source",
        "roof_z",
        "eave_z",
        "storeys",
        "storeys_source",
        "lod",
        "source",
        "parcel_id",
        "zone_id",
        "repaired",
        "parent_id",
        "cityjson_type",
        "cityjson_lod",
        "id",
    }
)
_SEMANTIC_KIND = {
    "GroundSurface": "ground",
    "WallSurface": "wall",
    "RoofSurface": "roof",
}


class CityJSONWarning(CimcityWarning):
    """Something in a CityJSON file was skipped, guessed or fell back."""


# -- reading ------------------------------------------------------------------------------


def _load(path) -> dict:
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"CityJSON file {str(path)!r} does not exist")
    if path.stat().st_size == 0:
        raise FileFormatError(f"CityJSON file {str(path)!r} is empty (0 bytes)")
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            cj = json.load(fh)
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            f"CityJSON file {str(path)!r} is not UTF-8 text ({exc}); CityJSON must be "
            f"UTF-8 encoded"
        ) from exc
    except (json.JSONDecodeError, OSError, EOFError) as exc:
        raise FileFormatError(
            f"cannot parse {str(path)!r} as JSON ({exc}); truncated or not a CityJSON "
            f"file"
        ) from exc
    if not isinstance(cj, dict) or cj.get("type") != "CityJSON":
        kind = cj.get("type") if isinstance(cj, dict) else type(cj).__name__
        raise FileFormatError(
            f"{str(path)!r} is not a CityJSON file: its 'type' is {kind!r}, expected "
            f"'CityJSON' (CityJSONFeature streams and CityGML are not read)"
        )
    version = str(cj.get("version", ""))
    if version not in VERSIONS:
        raise FileFormatError(
            f"CityJSON file {str(path)!r} has version {version!r}; supported versions "
            f"are {', '.join(VERSIONS)} (upgrade older files with cjio: "
            f"cjio in.json upgrade save out.json)"
        )
    for key in ("CityObjects", "vertices"):
        if key not in cj:
            raise FileFormatError(
                f"CityJSON file {str(path)!r} has no {key!r} member: not a complete "
                f"CityJSON file"
            )
    return cj


def _vertices(cj) -> np.ndarray:
    v = np.asarray(cj["vertices"], dtype=np.float64).reshape(-1, 3)
    t = cj.get("transform")
    if t:
        v = v * np.asarray(t["scale"], float) + np.asarray(t["translate"], float)
    return v


def _epsg_from_reference(ref) -> int | None:
    """EPSG code from a CityJSON referenceSystem (OGC URL or URN)."""
    if not ref:
        return None
    text = str(ref).strip().rstrip("/")
    tail = text.split("/")[-1].split(":")[-1]
    return int(tail) if tail.isdigit() else None


def _scene_crs(cj, crs, name):
    """(horizontal projected CRS, vertical datum name or None, reference string)."""
    ref = (cj.get("metadata") or {}).get("referenceSystem")
    file_crs = None
    if ref:
        code = _epsg_from_reference(ref)
        try:
            file_crs = CRS.from_epsg(code) if code else CRS.from_user_input(ref)
        except Exception:  # unknown code: the user must say
            file_crs = None
            if crs is None:
                raise CRSError(
                    f"CityJSON {name!r}: referenceSystem {ref!r} is not a CRS pyproj "
                    f"knows; pass crs='EPSG:<code>' to read_cityjson"
                ) from None
    if crs is not None:
        user = CRS.from_user_input(crs)
        if file_crs is not None and not _horizontal(file_crs).equals(
            _horizontal(user), ignore_axis_order=True
        ):
            warnings.warn(
                f"{name}: the file declares {ref!r} but crs={user.to_string()!r} was "
                f"given; using the given CRS",
                CityJSONWarning,
                stacklevel=3,
            )
        file_crs = user
    if file_crs is None:
        raise CRSError(
            f"CityJSON {name!r} declares no CRS (metadata.referenceSystem is missing); "
            f"pass the CRS of its coordinates, e.g. read_cityjson(path, "
            f"crs='EPSG:28992') for Dutch RD New or crs='EPSG:2154' for Lambert-93"
        )
    vertical = None
    if file_crs.is_compound and len(file_crs.sub_crs_list) > 1:
        vertical = file_crs.sub_crs_list[1].name
    horizontal = as_projected_crs(_horizontal(file_crs), what=f"CityJSON {name}")
    return horizontal, vertical, ref


def _horizontal(crs: CRS) -> CRS:
    if crs.is_compound and crs.sub_crs_list:
        return crs.sub_crs_list[0]
    return crs


def _lod_value(lod) -> float:
    try:
        return float(lod)
    except (TypeError, ValueError):
        return float("nan")


def _pick_geometry(geoms, lod):
    """The geometry at the requested LoD (highest by default), or None."""
    geoms = [g for g in geoms or [] if "lod" in g]
    if not geoms:
        return None
    if lod is None:
        return max(geoms, key=lambda g: _lod_value(g["lod"]))
    want = str(lod)
    exact = [g for g in geoms if str(g["lod"]) == want]
    if exact:
        return exact[0]
    try:
        major = int(float(want))
    except ValueError:
        return None
    if float(want) == major:  # lod=2 matches 2.x (the highest)
        same = [g for g in geoms if int(_lod_value(g["lod"])) == major]
        if same:
            return max(same, key=lambda g: _lod_value(g["lod"]))
    return None


def _surfaces(geom, V, templates):
    """Flatten a geometry into surfaces: list of (rings [(k, 3) arrays], semantic
    type or None, closed: part of a solid's shell)."""
    t = geom.get("type")
    b = geom.get("boundaries")
    if t == "GeometryInstance":
        if templates is None:
            return []
        tpl = templates["templates"][geom["template"]]
        tv = np.asarray(templates["vertices-templates"], float).reshape(-1, 3)
        m = np.asarray(geom["transformationMatrix"], float).reshape(4, 4)
        ref = V[b[0]]
        tv = (np.c_[tv, np.ones(len(tv))] @ m.T)[:, :3] + ref
        return _surfaces(tpl, tv, None)
    sem = geom.get("semantics") or {}
    types = [s.get("type") for s in sem.get("surfaces", [])]
    values = sem.get("values")
    out = []

    def surface(s, v):
        idx = [np.asarray(r, dtype=np.int64) for r in s if len(r)]
        if any(i.min() < 0 or i.max() >= len(V) for i in idx):
            raise FileFormatError(
                f"a surface refers to a vertex outside the {len(V)} in the file "
                f"(truncated or corrupt CityJSON)"
            )
        rings = [V[i] for i in idx]
        kind = types[v] if v is not None and 0 <= v < len(types) else None
        out.append((rings, kind, closed))

    closed = t in ("Solid", "MultiSolid", "CompositeSolid")

    if t in ("MultiSurface", "CompositeSurface"):
        for i, s in enumerate(b):
            surface(s, values[i] if values else None)
    elif t == "Solid":
        for i, shell in enumerate(b):
            for j, s in enumerate(shell):
                surface(s, values[i][j] if values and values[i] else None)
    elif t in ("MultiSolid", "CompositeSolid"):
        for i, solid in enumerate(b):
            for j, shell in enumerate(solid):
                for k, s in enumerate(shell):
                    v = None
                    if values and values[i] and values[i][j]:
                        v = values[i][j][k]
                    surface(s, v)
    return out  # points and lines have no surfaces


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


def _newell(r):
    x, y, z = r[:, 0], r[:, 1], r[:, 2]
    x1, y1, z1 = np.roll(x, -1), np.roll(y, -1), np.roll(z, -1)
    return np.array(
        [
            np.sum((y - y1) * (z + z1)),
            np.sum((z - z1) * (x + x1)),
            np.sum((x - x1) * (y + y1)),
        ]
    )


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
    from ..scene import Scene

    scene_crs, vertical, ref = _scene_crs(cj, crs, name)
    V = _vertices(cj)
    objects = cj["CityObjects"]
    templates = cj.get("geometry-templates")

    def children(oid):
        return [c for c in objects[oid].get("children") or [] if c in objects]

    # buildings (and parts) to rows
    rows_ids, rows_surfaces, rows_lod, rows_parent, rows_type = [], [], [], [], []
    fallback = 0
    no_geometry = []
    tops = [oid for oid, o in objects.items() if o.get("type") in BUILDING_TYPES]
    for oid in tops:
        members = [oid]
        if parts == "merge":
            stack = children(oid)
            while stack:
                c = stack.pop()
                if objects[c].get("type") in PART_TYPES:
                    members.append(c)
                    stack.extend(children(c))
        groups = (
            [(oid, members)]
            if parts == "merge"
            else [(m, [m]) for m in _with_parts(oid, objects, children)]
        )
        for rid, mem in groups:
            surf, lods = [], []
            for m in mem:
                g = _pick_geometry(objects[m].get("geometry"), lod)
                if g is None and lod is not None:
                    g = _pick_geometry(objects[m].get("geometry"), None)
                    if g is not None:
                        fallback += 1
                if g is not None:
                    surf.extend(_surfaces(g, V, templates))
                    lods.append(str(g["lod"]))
            if not surf:
                if rid == oid or parts == "merge":
                    no_geometry.append(rid)
                continue
            rows_ids.append(rid)
            rows_surfaces.append(surf)
            rows_lod.append(max(lods, key=_lod_value))
            rows_parent.append(None if rid == oid else _parent_of(rid, objects))
            rows_type.append(objects[rid]["type"])
    if fallback:
        warnings.warn(
            f"{name}: {fallback} building geometries have no LoD {lod!r}; their "
            f"highest LoD was read instead",
            CityJSONWarning,
            stacklevel=2,
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
            stacklevel=2,
        )

    footprints = _footprints(rows_surfaces)
    ground, roof, eave = [], [], []
    for surf in rows_surfaces:
        g, r, e, _sem = _altitudes(surf)
        ground.append(g)
        roof.append(r)
        eave.append(e)
    keep = [i for i, fp in enumerate(footprints) if fp is not None]
    flat_only = [rows_ids[i] for i, fp in enumerate(footprints) if fp is None]
    if flat_only:
        warnings.warn(
            f"{name}: {len(flat_only)} building(s) have only vertical surfaces (no "
            f"footprint) and are not in scene.buildings (first {flat_only[0]!r}); they "
            f"are kept for writing back",
            CityJSONWarning,
            stacklevel=2,
        )
    ids = [rows_ids[i] for i in keep]
    attrs, mapping = _attribute_frame(objects, ids)
    gdf = gpd.GeoDataFrame(
        attrs.reset_index(drop=True),
        geometry=[footprints[i] for i in keep],
        crs=scene_crs,
    )
    g = np.array([ground[i] for i in keep], float)
    r = np.array([roof[i] for i in keep], float)
    gdf["building_id"] = ids
    gdf["ground_z"] = g
    gdf["roof_z"] = r
    gdf["height"] = np.where(r - g > 0, r - g, np.nan)
    gdf["eave_z"] = np.array([eave[i] for i in keep], float)
    if "storeysAboveGround" in attrs.columns:
        gdf["storeys"] = pd.to_numeric(
            pd.Series(attrs["storeysAboveGround"].to_numpy(), dtype=object),
            errors="coerce",
        ).to_numpy(float)
        gdf.loc[gdf["storeys"] <= 0, "storeys"] = np.nan
    gdf["lod"] = [_lod_value(rows_lod[i]) for i in keep]
    gdf["cityjson_lod"] = [rows_lod[i] for i in keep]
    gdf["cityjson_type"] = [rows_type[i] for i in keep]
    if parts == "keep":
        gdf["parent_id"] = [rows_parent[i] for i in keep]
    gdf["source"] = "cityjson"

    scene = Scene(
        crs=scene_crs, vertical_datum=vertical or "unknown", name=Path(path).stem
    )
    if len(gdf):
        scene.add_buildings(gdf)
        b = scene.buildings
        b.loc[np.isfinite(gdf["height"].to_numpy()), "height_source"] = "geometry"
        scene.touch()

    # other city objects → layers named by type
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
            surf.append(_surfaces(gsel, V, templates) if gsel is not None else [])
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
        layer = gpd.GeoDataFrame(lattrs, geometry=geoms, crs=scene_crs)
        layer.index.name = "cityobject_id"
        layer["cityjson_type"] = typ
        scene.add_layer(typ, layer)
        layered[typ] = lmap

    scene.meta["cityjson"] = {
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
    return scene


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


# -- the original 3D geometry as a CityMesh -------------------------------------------------


def _plane_basis(n):
    """Two unit vectors spanning the plane of normal ``n``."""
    n = n / np.linalg.norm(n)
    a = np.array([1.0, 0.0, 0.0]) if abs(n[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(n, a)
    u /= np.linalg.norm(u)
    return u, np.cross(n, u)


def _triangulate_surface(rings):
    """(t, 3, 3) triangles of a planar 3D polygon with holes, wound like its
    Newell normal (outward for well-oriented shells). Triangles pass through;
    other polygons go through shapely's constrained Delaunay triangulation in
    the polygon's own plane (no Steiner points, so every corner is an input
    vertex)."""
    ext = rings[0]
    n = _newell(ext)
    norm = np.linalg.norm(n)
    if norm < 1e-12 or len(ext) < 3:
        return np.zeros((0, 3, 3))
    if len(rings) == 1 and len(ext) == 3:
        return ext[None].copy()
    u, v = _plane_basis(n)
    origin = ext[0]
    pts3 = np.concatenate(rings)
    pts2 = np.c_[(pts3 - origin) @ u, (pts3 - origin) @ v]
    k = len(ext)
    holes, start = [], k
    for r in rings[1:]:
        holes.append(pts2[start : start + len(r)])
        start += len(r)
    poly = shapely.Polygon(pts2[:k], [h for h in holes if len(h) >= 3])
    if not poly.is_valid:
        poly = shapely.make_valid(poly)
    tri = shapely.get_parts(shapely.constrained_delaunay_triangles(poly))
    if not len(tri):
        return np.zeros((0, 3, 3))
    c2 = shapely.get_coordinates(tri).reshape(len(tri), 4, 2)[:, :3]
    # back to 3D through the nearest input vertex (exact: no Steiner points)
    from scipy.spatial import cKDTree

    _, idx = cKDTree(pts2).query(c2.reshape(-1, 2))
    t3 = pts3[idx].reshape(-1, 3, 3)
    tn = np.cross(t3[:, 1] - t3[:, 0], t3[:, 2] - t3[:, 0])
    flip = tn @ n < 0
    t3[flip] = t3[flip][:, ::-1]
    return t3


def cityjson_mesh(scene, buildings=None):
    """The original 3D building geometry of a scene read from CityJSON, as a
    :class:`~cimcity.mesh.CityMesh` (what ``scene.mesh()`` approximates by
    extrusion).

    Parameters
    ----------
    scene : Scene
        Read with :func:`read_cityjson` (``scene.meta["cityjson"]``).
    buildings : sequence of building ids, optional
        Default: every building of ``scene.buildings`` that came from the file.

    Returns
    -------
    CityMesh
        Triangles of the LoD that was read (merged parts included), vertices
        around ``origin`` [m, scene CRS], ``face_kind`` from the semantics
        (RoofSurface → roof, WallSurface → wall, GroundSurface → ground; other or
        missing semantics by the normal: n_z > 0.5 roof, n_z < -0.5 ground,
        else wall), ``building_ids`` in table order.

    Raises
    ------
    InputError
        The scene was not read from CityJSON.
    """
    from ..mesh import KIND_CODES, CityMesh

    store = scene.meta.get("cityjson")
    if not store:
        raise InputError(
            "this scene was not read from CityJSON (no scene.meta['cityjson']); use "
            "scene.mesh() for extruded buildings"
        )
    objects, V = store["objects"], store["vertices"]
    templates, lod = store.get("geometry_templates"), store.get("lod")
    B = scene.buildings
    ids = [i for i in (B.index if buildings is None else buildings) if i in objects]
    tris, owner, kinds = [], [], []
    for bi, bid in enumerate(ids):
        members = [bid]
        if store.get("parts") == "merge":
            stack = list(objects[bid].get("children") or [])
            while stack:
                c = stack.pop()
                if c in objects and objects[c].get("type") in PART_TYPES:
                    members.append(c)
                    stack.extend(objects[c].get("children") or [])
        for m in members:
            g = _pick_geometry(objects[m].get("geometry"), lod) or _pick_geometry(
                objects[m].get("geometry"), None
            )
            if g is None:
                continue
            for rings, kind, _ in _surfaces(g, V, templates):
                t = _triangulate_surface(rings) if rings else np.zeros((0, 3, 3))
                if not len(t):
                    continue
                tris.append(t)
                owner.append(np.full(len(t), bi, np.int64))
                kinds.append(
                    np.full(
                        len(t),
                        -1
                        if kind not in _SEMANTIC_KIND
                        else KIND_CODES[_SEMANTIC_KIND[kind]],
                        np.int8,
                    )
                )
    T = np.concatenate(tris) if tris else np.zeros((0, 3, 3))
    fb = np.concatenate(owner) if owner else np.zeros(0, np.int64)
    fk = np.concatenate(kinds) if kinds else np.zeros(0, np.int8)
    if len(T):
        n = np.cross(T[:, 1] - T[:, 0], T[:, 2] - T[:, 0])
        nz = n[:, 2] / np.maximum(np.linalg.norm(n, axis=1), 1e-300)
        guess = np.where(
            nz > 0.5,
            KIND_CODES["roof"],
            np.where(nz < -0.5, KIND_CODES["ground"], KIND_CODES["wall"]),
        )
        fk = np.where(fk < 0, guess, fk).astype(np.int8)
        lo = T.reshape(-1, 3).min(axis=0)
        origin = np.array([np.floor(lo[0]), np.floor(lo[1]), 0.0])
    else:
        origin = np.zeros(3)
    verts = T.reshape(-1, 3) - origin
    faces = np.arange(len(verts), dtype=np.int64).reshape(-1, 3)
    return CityMesh(
        verts, faces, origin, fb, fk, np.asarray(ids, dtype=object), scene.crs
    )


# -- writing ------------------------------------------------------------------------------


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
    from ..mesh import KIND_CODES

    tri = mesh.faces[face_idx]
    world = mesh.world_vertices
    idx = pool.add(world[tri.reshape(-1)]).reshape(-1, 3)
    ok = (idx[:, 0] != idx[:, 1]) & (idx[:, 1] != idx[:, 2]) & (idx[:, 0] != idx[:, 2])
    kinds = mesh.face_kind[face_idx][ok]
    code = {KIND_CODES["ground"]: 0, KIND_CODES["wall"]: 1, KIND_CODES["roof"]: 2}
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

    Buildings read with :func:`read_cityjson` keep their original geometry
    (every LoD, semantics, materials), children and attributes (current table
    values, under their original names; columns added since are written too).
    Other buildings become LoD1 ``Solid`` extrusions of their footprint from
    ``ground_z`` to ``roof_z`` (flat roofs), or the ``Solid`` triangles of
    ``scene.mesh()`` (mansard roofs, LoD 2; BIM projects as ``MultiSurface``,
    LoD 3), with Ground/Wall/RoofSurface semantics, and attributes
    ``measuredHeight``, ``storeysAboveGround`` (only when the storey count is
    data, not an estimate) and their other columns.

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
    objects_in = store.get("objects") or {}
    V = store.get("vertices")
    tr = store.get("transform")
    if precision is None:
        precision = float(tr["scale"][0]) if tr else DEFAULT_PRECISION
    if not (precision > 0 and math.isfinite(precision)):
        raise InputError(f"precision must be a positive length [m]; got {precision!r}")
    B = scene.buildings
    b = scene.bounds
    if tr and tr["scale"][0] == precision:
        translate = list(map(float, tr["translate"]))
        scale = [float(s) for s in tr["scale"]]
    else:
        zmin = float(np.nanmin(B["ground_z"])) if len(B) else 0.0
        base = [b[0], b[1], zmin] if np.isfinite(b[0]) else [0.0, 0.0, 0.0]
        translate = [float(np.floor(x)) for x in base]
        scale = [precision] * 3
    pool = _VertexPool(scale, translate)
    out: dict = {}
    attr_map = store.get("attribute_columns") or {}
    from_file = (B["source"] == "cityjson").to_numpy() if len(B) else np.zeros(0, bool)
    own_cols = [c for c in B.columns if c not in RESERVED and c != B.geometry.name]
    extra_cols = [c for c in own_cols if c not in attr_map]

    # buildings from the file: original objects (+ parents and descendants)
    wanted: list = []
    for bid, ff in zip(B.index, from_file, strict=True):
        if ff and bid in objects_in:
            wanted.append(bid)
    written_ids = set()
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
        written_ids.add(bid)
    # relatives of written file objects (parent buildings, parts, installations)
    stack = list(written_ids)
    while stack:
        oid = stack.pop()
        o = objects_in[oid]
        for rel in list(o.get("children") or []) + list(o.get("parents") or []):
            if rel in objects_in and rel not in written_ids:
                out[rel] = _original_object(objects_in[rel], V, pool, None)
                written_ids.add(rel)
                stack.append(rel)
    # other file objects: those still in the scene's layers, and those never layered
    layer_ids = set()
    for layer in scene.layers.values():
        if "cityjson_type" in layer.columns:
            layer_ids.update(layer.index.tolist())
    for oid in list(layer_ids) + list(store.get("unlayered") or []):
        if oid in objects_in and oid not in written_ids:
            out[oid] = _original_object(objects_in[oid], V, pool, None)
            written_ids.add(oid)
    for oid in store.get("unplaced_buildings") or []:
        if (
            oid in objects_in
            and oid not in written_ids
            and store.get("parts") != "keep"
        ):
            out[oid] = _original_object(objects_in[oid], V, pool, None)
            written_ids.add(oid)

    # buildings from other sources
    others = B.index[~np.isin(B.index.to_numpy(), list(written_ids))]
    if len(others):
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
        if mesh is not None:
            pos = {bid: i for i, bid in enumerate(mesh.building_ids)}
        for k, bid in enumerate(sub.index):
            row = sub.loc[bid]
            if need_mesh[k] and mesh is not None and bid in pos:
                faces = np.flatnonzero(mesh.face_building == pos[bid])
                lod = "3" if is_bim[k] else "2"
                geom = _mesh_geometry(mesh, faces, pool, lod, closed=not is_bim[k])
                geoms = [geom]
            else:
                solids = _extruded_solid(
                    row.geometry, float(row["ground_z"]), float(row["roof_z"]), pool
                )
                lod = _lod_string(row.get("lod"), "1")
                lod = "1" if float(lod) >= 2 else lod
                if len(solids) == 1:
                    geoms = [
                        {
                            "type": "Solid",
                            "lod": lod,
                            "boundaries": [solids[0][0]],
                            "semantics": {
                                "surfaces": _semantic_surfaces(),
                                "values": [solids[0][1]],
                            },
                        }
                    ]
                else:
                    geoms = [
                        {
                            "type": "MultiSolid",
                            "lod": lod,
                            "boundaries": [[s] for s, _ in solids],
                            "semantics": {
                                "surfaces": _semantic_surfaces(),
                                "values": [[v] for _, v in solids],
                            },
                        }
                    ]
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
    path = Path(path)
    text = json.dumps(
        doc,
        indent=indent,
        ensure_ascii=False,
        separators=(",", ":") if indent is None else None,
    )
    path.write_text(text, encoding="utf-8")
    return path


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


# -- describe -----------------------------------------------------------------------------


def describe(path) -> dict:
    """Summary of a CityJSON file (for ``cimcity info``).

    Returns
    -------
    dict
        ``format``, ``version``, ``crs`` (referenceSystem or None), ``counts``
        (per CityObject type), ``lods`` (geometry count per LoD),
        ``geometry_types``, ``semantics`` (surface type counts), ``attributes``
        (names on buildings), ``extent`` [minx, miny, minz, maxx, maxy, maxz]
        (computed from the vertices), ``n_vertices``, ``transform``.

    Raises
    ------
    FileFormatError
        Missing, empty, truncated, non-CityJSON or unsupported version.
    """
    cj = _load(path)
    V = _vertices(cj)
    counts: dict = {}
    lods: dict = {}
    gtypes: dict = {}
    sem: dict = {}
    attrs: dict = {}
    for o in cj["CityObjects"].values():
        t = o.get("type", "?")
        counts[t] = counts.get(t, 0) + 1
        for g in o.get("geometry") or []:
            lod = str(g.get("lod"))
            lods[lod] = lods.get(lod, 0) + 1
            gtypes[g.get("type")] = gtypes.get(g.get("type"), 0) + 1
            for s in (g.get("semantics") or {}).get("surfaces", []):
                sem[s.get("type")] = sem.get(s.get("type"), 0) + 1
        if t in BUILDING_TYPES + PART_TYPES:
            for k in o.get("attributes") or {}:
                attrs[k] = attrs.get(k, 0) + 1
    meta = cj.get("metadata") or {}
    return {
        "format": "CityJSON",
        "path": str(path),
        "version": cj["version"],
        "crs": meta.get("referenceSystem"),
        "counts": counts,
        "lods": dict(sorted(lods.items())),
        "geometry_types": gtypes,
        "semantics": sem,
        "attributes": attrs,
        "extent": [*map(float, V.min(0)), *map(float, V.max(0))] if len(V) else None,
        "n_vertices": int(len(V)),
        "transform": cj.get("transform"),
    }
