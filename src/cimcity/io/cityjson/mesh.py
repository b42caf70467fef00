"""CityJSON geometry as triangles with surface kinds.

Each surface of the LoD that was read (merged building parts included) is
triangulated in its own plane; its kind comes from the semantics
(``RoofSurface`` → roof, ``WallSurface`` → wall, ``GroundSurface`` →
``ground``, the underside) or, where semantics are missing or other, from the
normal (n_z > 0.5 roof, n_z < -0.5 underside, else wall).

:func:`building_models` fills ``scene.models`` (the reader registers it as the
lazy builder of its buildings' models); :func:`cityjson_mesh` gives the same
triangles as a :class:`~cimcity.mesh.CityMesh` straight from the file kept in
``scene.meta["cityjson"]``.

The triangulation is hand-written on shapely's constrained Delaunay
triangulation because CityJSON surfaces are 3D planar polygons with holes,
which no mesh library here triangulates without adding vertices.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy.spatial import cKDTree

from ...errors import InputError
from ...mesh import KIND_CODES, CityMesh
from ...scene.models import BuildingModel
from .document import PART_TYPES, _lod_value, _newell, _pick_geometry, _surfaces

#: CityJSON semantic surface type -> cimcity mesh kind
SEMANTIC_KIND = {
    "GroundSurface": "base",
    "WallSurface": "wall",
    "RoofSurface": "roof",
}


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
    _, idx = cKDTree(pts2).query(c2.reshape(-1, 2))
    t3 = pts3[idx].reshape(-1, 3, 3)
    tn = np.cross(t3[:, 1] - t3[:, 0], t3[:, 2] - t3[:, 0])
    flip = tn @ n < 0
    t3[flip] = t3[flip][:, ::-1]
    return t3


def _members(store, bid) -> list:
    """The building and, when parts were merged, its BuildingPart descendants."""
    objects = store["objects"]
    members = [bid]
    if store.get("parts") == "merge":
        stack = list(objects[bid].get("children") or [])
        while stack:
            c = stack.pop()
            if c in objects and objects[c].get("type") in PART_TYPES:
                members.append(c)
                stack.extend(objects[c].get("children") or [])
    return members


def building_triangles(store, bid):
    """Triangles of one building of the file store.

    Parameters
    ----------
    store : dict
        ``scene.meta["cityjson"]`` of a scene made by ``read_cityjson``.
    bid : str
        CityObject id of the building.

    Returns
    -------
    triangles : (t, 3, 3) float64
        World coordinates [m].
    kinds : (t,) int8
        Kind codes (:data:`cimcity.mesh.KIND_CODES`), semantics first, else
        guessed from the normal.
    lod : str or None
        The LoD the triangles come from (highest of the members).
    """
    objects, V = store["objects"], store["vertices"]
    templates, lod = store.get("geometry_templates"), store.get("lod")
    tris, kinds, lods = [], [], []
    for m in _members(store, bid):
        g = _pick_geometry(objects[m].get("geometry"), lod) or _pick_geometry(
            objects[m].get("geometry"), None
        )
        if g is None:
            continue
        lods.append(str(g["lod"]))
        for rings, kind, _ in _surfaces(g, V, templates, m):
            t = _triangulate_surface(rings) if rings else np.zeros((0, 3, 3))
            if not len(t):
                continue
            tris.append(t)
            code = KIND_CODES[SEMANTIC_KIND[kind]] if kind in SEMANTIC_KIND else -1
            kinds.append(np.full(len(t), code, np.int8))
    T = np.concatenate(tris) if tris else np.zeros((0, 3, 3))
    fk = np.concatenate(kinds) if kinds else np.zeros(0, np.int8)
    return T, _fill_kinds(T, fk), (max(lods, key=_lod_value) if lods else None)


def _fill_kinds(T, fk):
    """Kinds with the unknown ones (-1) guessed from the triangle normals."""
    if not len(T):
        return fk
    n = np.cross(T[:, 1] - T[:, 0], T[:, 2] - T[:, 0])
    nz = n[:, 2] / np.maximum(np.linalg.norm(n, axis=1), 1e-300)
    guess = np.where(
        nz > 0.5,
        KIND_CODES["roof"],
        np.where(nz < -0.5, KIND_CODES["base"], KIND_CODES["wall"]),
    )
    return np.where(fk < 0, guess, fk).astype(np.int8)


def building_models(store, ids) -> dict:
    """Detailed models of buildings of the file store.

    Parameters
    ----------
    store : dict
        ``scene.meta["cityjson"]``.
    ids : sequence of str
        Building ids (those absent from the file are skipped).

    Returns
    -------
    dict
        Building id → :class:`~cimcity.scene.models.BuildingModel`
        (``source="cityjson"``).
    """
    out = {}
    for bid in ids:
        if bid not in store["objects"]:
            continue
        T, kinds, lod = building_triangles(store, bid)
        out[bid] = BuildingModel.from_triangles(T, kinds, "cityjson", lod)
    return out


def cityjson_mesh(scene, buildings=None) -> CityMesh:
    """The original 3D building geometry of a scene read from CityJSON, as a
    :class:`~cimcity.mesh.CityMesh` (what ``scene.mesh()`` would otherwise
    approximate by extrusion).

    Parameters
    ----------
    scene : Scene
        Read with :func:`~cimcity.io.cityjson.read_cityjson`
        (``scene.meta["cityjson"]``).
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
    store = scene.meta.get("cityjson")
    if not store:
        raise InputError(
            "this scene was not read from CityJSON (no scene.meta['cityjson']); use "
            "scene.mesh() for extruded buildings"
        )
    objects = store["objects"]
    B = scene.buildings
    ids = [i for i in (B.index if buildings is None else buildings) if i in objects]
    tris, owner, kinds = [], [], []
    for bi, bid in enumerate(ids):
        T, fk, _ = building_triangles(store, bid)
        tris.append(T)
        owner.append(np.full(len(T), bi, np.int64))
        kinds.append(fk)
    T = np.concatenate(tris) if tris else np.zeros((0, 3, 3))
    fb = np.concatenate(owner) if owner else np.zeros(0, np.int64)
    fk = np.concatenate(kinds) if kinds else np.zeros(0, np.int8)
    if len(T):
        lo = T.reshape(-1, 3).min(axis=0)
        origin = np.array([np.floor(lo[0]), np.floor(lo[1]), 0.0])
    else:
        origin = np.zeros(3)
    verts = T.reshape(-1, 3) - origin
    faces = np.arange(len(verts), dtype=np.int64).reshape(-1, 3)
    return CityMesh(
        verts, faces, origin, fb, fk.astype(np.int8), np.asarray(ids, dtype=object),
        scene.crs,
    )
