"""CityMesh: the triangle mesh every analysis runs on.

Buildings are extruded from their footprints (courtyards and multipolygons
included) into closed, watertight solids standing at ``ground_z``; the terrain
is a regular triangulated grid from the DEM. Vertices are float64 offsets from a
local ``origin`` so float32 engines (Embree, VTK) keep centimetre precision at
Lambert-93 magnitudes (x ≈ 6.5e5 m, y ≈ 6.9e6 m).

Roof model
----------
Flat roofs at ``roof_z`` unless both ``eave_z`` and ``roof_z`` are known and
differ by more than :data:`ROOF_TOL`. Then the roof is a *mansard/hip* model:
the walls rise to ``eave_z``; the roof climbs from the footprint outline at
``eave_z`` to a flat top at ``roof_z`` obtained by insetting the footprint by
``w = (roof_z - eave_z) / tan(pitch)`` (``pitch`` = :data:`ROOF_PITCH_DEG`,
mitred inset). When the footprint is too narrow for that inset, ``w`` is halved
(up to three times) so the roof turns steeper; if no inset survives, the roof
is flat at ``roof_z``. This reproduces the Parisian mansard silhouette and the
ridge/eave heights exactly; it is not a straight skeleton.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from ._cache import Cache
from ._compat import import_optional
from .errors import GeometryError, InputError
from .results import plain

#: Mesh face kinds, in code order. ``base`` is a building's underside (CityGML
#: GroundSurface); ``terrain`` is the DEM surface. ("ground" is not a face kind:
#: it names the open-ground sensors of the sun analyses.)
KINDS = ("base", "wall", "roof", "terrain")
KIND_CODES = {k: i for i, k in enumerate(KINDS)}

#: vertices closer than this are welded [m]
WELD_TOL = 1e-4
#: eave and ridge closer than this give a flat roof [m]
ROOF_TOL = 0.05
#: slope of the mansard/hip roof model [deg]
ROOF_PITCH_DEG = 60.0


def kind_codes(kinds) -> np.ndarray:
    """Codes (int8) of surface kind names; raises :class:`InputError` on unknown names."""
    if isinstance(kinds, str):
        kinds = (kinds,)
    out = []
    for k in kinds:
        if k not in KIND_CODES:
            hint = (
                " ('ground' is no face kind: a building's underside is 'base', the "
                "DEM surface 'terrain')"
                if k == "ground"
                else ""
            )
            raise InputError(
                f"unknown surface kind {k!r}; expected one of {KINDS}{hint}"
            )
        out.append(KIND_CODES[k])
    return np.asarray(out, dtype=np.int8)


@dataclass(eq=False, repr=False)
class CityMesh:
    """Triangle mesh of a scene with per-face building and surface kind.

    Attributes
    ----------
    vertices : (n, 3) float64
        Vertex coordinates relative to ``origin`` [m].
    faces : (m, 3) int64
        Vertex indices, counter-clockwise seen from outside (outward normals).
    origin : (3,) float64
        World coordinates of the local origin in the scene CRS [m].
    face_building : (m,) int64
        Index into ``building_ids`` of each face's building (-1: terrain).
    face_kind : (m,) int8
        Surface kind code, see :data:`KINDS`.
    building_ids : (k,) object
        Building ids.
    crs : pyproj.CRS or None
    cache : cimcity._cache.Cache
        Derived data (normals, areas, ray acceleration structures), each entry
        tagged with :attr:`token`; cleared by :meth:`clear_cache`.

    Notes
    -----
    The arrays are read-only views: edit a mesh by assigning new arrays
    (``mesh.vertices = mesh.vertices + shift``), which changes :attr:`token`
    and so invalidates every cached structure (normals, BVH, Embree scene).
    """

    vertices: np.ndarray
    faces: np.ndarray
    origin: np.ndarray
    face_building: np.ndarray
    face_kind: np.ndarray
    building_ids: np.ndarray
    crs: object = None
    cache: Cache = field(default_factory=Cache, repr=False)

    #: array attributes: assigning one changes :attr:`token`
    _ARRAYS = frozenset(
        ("vertices", "faces", "origin", "face_building", "face_kind", "building_ids")
    )

    def __setattr__(self, name, value):
        if name in CityMesh._ARRAYS and isinstance(value, np.ndarray):
            value = value.view()
            value.flags.writeable = False
            object.__setattr__(self, "_version", getattr(self, "_version", 0) + 1)
        object.__setattr__(self, name, value)

    @property
    def token(self) -> int:
        """Version of the mesh arrays: changes whenever one is assigned.

        Cached derived data (``mesh.cache``) is keyed on it; the arrays are
        read-only, so an in-place edit cannot leave a stale structure behind.
        """
        return self._version

    def __post_init__(self):
        self.vertices = np.ascontiguousarray(self.vertices, dtype=np.float64).reshape(
            -1, 3
        )
        self.faces = np.ascontiguousarray(self.faces, dtype=np.int64).reshape(-1, 3)
        self.origin = np.asarray(self.origin, dtype=np.float64).reshape(3)
        self.face_building = np.asarray(self.face_building, dtype=np.int64)
        self.face_kind = np.asarray(self.face_kind, dtype=np.int8)
        self.building_ids = np.asarray(self.building_ids, dtype=object)
        m = len(self.faces)
        if len(self.face_building) != m or len(self.face_kind) != m:
            raise InputError(
                f"per-face arrays must have {m} entries; got face_building "
                f"{len(self.face_building)}, face_kind {len(self.face_kind)}"
            )
        if m and (self.faces.min() < 0 or self.faces.max() >= len(self.vertices)):
            raise GeometryError("face indices out of range of the vertex array")

    # -- derived data ---------------------------------------------------------------
    def clear_cache(self) -> None:
        """Drop every cached derived structure."""
        self.cache.clear()

    def _cached(self, key, fn):
        return self.cache.get(key, self.token, fn)

    @property
    def n_faces(self) -> int:
        return len(self.faces)

    def __repr__(self) -> str:
        """One line: counts, faces per kind, extent and CRS (never the arrays)."""
        counts = np.bincount(self.face_kind.astype(np.int64), minlength=len(KINDS))
        kinds = ", ".join(
            f"{KINDS[i]} {int(n):,}" for i, n in enumerate(counts[: len(KINDS)]) if n
        )
        if len(self.vertices):
            lo, hi = self.bounds
            size = " x ".join(f"{float(d):,.0f}" for d in hi - lo)
            extent = f", extent {size} m"
        else:
            extent = ""
        crs = getattr(self.crs, "to_string", lambda: self.crs)() if self.crs else None
        return (
            f"<CityMesh {self.n_faces:,} faces ({kinds or 'none'}), "
            f"{len(self.vertices):,} vertices, {len(self.building_ids):,} buildings"
            f"{extent}{', ' + str(crs) if crs else ''}>"
        )

    @property
    def triangles(self) -> np.ndarray:
        """(m, 3, 3) float64 local triangle corners [m]."""
        return self.vertices[self.faces]

    def _cross(self):
        t = self.triangles
        return np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])

    @property
    def face_areas(self) -> np.ndarray:
        """(m,) face areas [m²]."""
        return self._cached(
            "face_areas", lambda: 0.5 * np.linalg.norm(self._cross(), axis=1)
        )

    @property
    def face_normals(self) -> np.ndarray:
        """(m, 3) unit outward normals (zero for degenerate faces)."""

        def f():
            c = self._cross()
            n = np.linalg.norm(c, axis=1)
            out = np.zeros_like(c)
            ok = n > 0
            out[ok] = c[ok] / n[ok, None]
            return out

        return self._cached("face_normals", f)

    @property
    def face_centroids(self) -> np.ndarray:
        """(m, 3) face centroids in world coordinates [m]."""
        return self.triangles.mean(axis=1) + self.origin

    @property
    def world_vertices(self) -> np.ndarray:
        """(n, 3) vertices in world coordinates [m]."""
        return self.vertices + self.origin

    @property
    def face_building_id(self) -> np.ndarray:
        """(m,) building id of each face (None on terrain)."""
        ids = np.append(self.building_ids, None).astype(object)
        return ids[self.face_building]

    @property
    def bounds(self) -> np.ndarray:
        """(2, 3) world min and max corners [m]."""
        if not len(self.vertices):
            return np.full((2, 3), np.nan)
        v = self.world_vertices
        return np.array([v.min(axis=0), v.max(axis=0)])

    def kind_mask(self, kinds) -> np.ndarray:
        """(m,) bool mask of faces of the given surface kinds."""
        return np.isin(self.face_kind, kind_codes(kinds))

    # -- sub-meshes and conversions -------------------------------------------------
    def subset(self, face_mask) -> CityMesh:
        """New mesh with the selected faces only (unused vertices dropped)."""
        face_mask = np.asarray(face_mask)
        faces = self.faces[face_mask]
        used, inverse = np.unique(faces.ravel(), return_inverse=True)
        return CityMesh(
            self.vertices[used],
            inverse.reshape(-1, 3),
            self.origin.copy(),
            self.face_building[face_mask],
            self.face_kind[face_mask],
            self.building_ids.copy(),
            self.crs,
        )

    def select(self, kinds=None, buildings=None) -> CityMesh:
        """Sub-mesh of some surface kinds and/or building ids."""
        mask = np.ones(self.n_faces, bool)
        if kinds is not None:
            mask &= self.kind_mask(kinds)
        if buildings is not None:
            idx = np.flatnonzero(np.isin(self.building_ids, list(buildings)))
            mask &= np.isin(self.face_building, idx)
        return self.subset(mask)

    @staticmethod
    def concatenate(meshes, origin=None) -> CityMesh:
        """Join meshes into one, re-expressed around ``origin`` (default: first mesh's)."""
        meshes = [m for m in meshes if m is not None]
        if not meshes:
            raise InputError("nothing to concatenate: no meshes given")
        origin = meshes[0].origin if origin is None else np.asarray(origin, float)
        verts, faces, fb, fk, ids = [], [], [], [], []
        nv = 0
        nb = 0
        for m in meshes:
            verts.append(m.vertices + (m.origin - origin))
            faces.append(m.faces + nv)
            b = m.face_building.copy()
            b[b >= 0] += nb
            fb.append(b)
            fk.append(m.face_kind)
            ids.append(m.building_ids)
            nv += len(m.vertices)
            nb += len(m.building_ids)
        return CityMesh(
            np.concatenate(verts),
            np.concatenate(faces),
            origin,
            np.concatenate(fb),
            np.concatenate(fk),
            np.concatenate(ids),
            meshes[0].crs,
        )

    def to_trimesh(self, world: bool = False):
        """As a :class:`trimesh.Trimesh` (local coordinates unless ``world``),
        with ``face_attributes`` ``building`` (index) and ``kind`` (code)."""
        import trimesh

        v = self.world_vertices if world else self.vertices
        return trimesh.Trimesh(
            vertices=v,
            faces=self.faces,
            process=False,
            face_attributes={"building": self.face_building, "kind": self.face_kind},
        )

    def to_pyvista(self, world: bool = False):
        """As a ``pyvista.PolyData`` with cell arrays ``building`` and ``kind``.

        Local coordinates by default: VTK renders in float32.
        """

        pv = import_optional("pyvista")
        v = self.world_vertices if world else self.vertices
        cells = np.hstack([np.full((self.n_faces, 1), 3), self.faces]).ravel()
        poly = pv.PolyData(v, cells)
        poly.cell_data["building"] = self.face_building
        poly.cell_data["kind"] = self.face_kind
        return poly


def group_ids(keys) -> np.ndarray:
    """Dense group ids (0..g-1, sorted by key) of the rows of an int64 table.

    Columns are combined pairwise through ``pandas.factorize`` (hashing), much
    faster than ``np.unique(axis=0)``, which sorts rows as opaque bytes.
    """
    g = np.zeros(len(keys), np.int64)
    for col in np.asarray(keys, dtype=np.int64).T:
        c, uniq = pd.factorize(col, sort=True)
        g = g * len(uniq) + c
        g, _ = pd.factorize(g, sort=True)
    return g.astype(np.int64)


# -- building extrusion ---------------------------------------------------------------
def _polygon_parts(geoms):
    """Explode (multi)polygons into oriented polygons (exterior CCW, holes CW)."""
    geoms = np.asarray(geoms, dtype=object)
    parts, idx = shapely.get_parts(geoms, return_index=True)
    ok = shapely.get_type_id(parts) == 3
    parts, idx = parts[ok], idx[ok]
    parts = shapely.orient_polygons(parts, exterior_cw=False)
    return parts, idx


def _triangulate(polys) -> tuple[np.ndarray, np.ndarray]:
    """Constrained Delaunay triangulation of polygons (holes respected).

    Returns ``(tris, owner)``: (t, 3, 2) CCW triangle corners and the index of the
    polygon each triangle belongs to.
    """
    if len(polys) == 0:
        return np.zeros((0, 3, 2)), np.zeros(0, np.int64)
    coll = shapely.constrained_delaunay_triangles(polys)
    tris, owner = shapely.get_parts(coll, return_index=True)
    if len(tris) == 0:
        return np.zeros((0, 3, 2)), np.zeros(0, np.int64)
    rings = shapely.get_exterior_ring(tris)
    c = shapely.get_coordinates(rings).reshape(len(tris), 4, 2)[:, :3]
    signed = (c[:, 1, 0] - c[:, 0, 0]) * (c[:, 2, 1] - c[:, 0, 1]) - (
        c[:, 2, 0] - c[:, 0, 0]
    ) * (c[:, 1, 1] - c[:, 0, 1])
    cw = signed < 0
    c[cw] = c[cw][:, ::-1]
    keep = np.abs(signed) > 1e-12
    return c[keep], owner[keep]


def _ring_edges(polys):
    """All ring edges (a, b) of oriented polygons, with their polygon index."""
    rings, ridx = shapely.get_rings(polys, return_index=True)
    coords, cidx = shapely.get_coordinates(rings, return_index=True)
    # consecutive coordinates of the same ring form an edge
    same = cidx[1:] == cidx[:-1]
    a = coords[:-1][same]
    b = coords[1:][same]
    owner = ridx[cidx[:-1][same]]
    return a, b, owner


def extrude_buildings(
    footprints,
    base_z,
    roof_z,
    eave_z=None,
    origin=None,
    building_ids=None,
    pitch_deg: float = ROOF_PITCH_DEG,
    crs=None,
) -> CityMesh:
    """Extrude footprints into closed LoD1/LoD2 solids.

    Parameters
    ----------
    footprints : (k,) shapely Polygon / MultiPolygon
        Footprints in a projected CRS [m]; holes are courtyards.
    base_z : (k,) float
        Altitude of each building's base [m].
    roof_z : (k,) float
        Altitude of the roof top (ridge) [m]; must be above ``base_z``.
    eave_z : (k,) float, optional
        Altitude of the eaves [m]; NaN or absent gives a flat roof at ``roof_z``.
    origin : (3,) float, optional
        Local origin [m]; default: lower corner of the footprints' bounds at z=0.
    building_ids : (k,) optional
        Ids stored in ``CityMesh.building_ids`` (default ``0..k-1``).
    pitch_deg : float
        Roof slope of the mansard/hip model [deg], see module docstring.

    Returns
    -------
    CityMesh
        Faces of kinds ``ground`` (base), ``wall`` and ``roof``.
    """
    footprints = np.asarray(footprints, dtype=object)
    k = len(footprints)
    base_z = np.broadcast_to(np.asarray(base_z, float), (k,))
    roof_z = np.broadcast_to(np.asarray(roof_z, float), (k,))
    eave = (
        np.full(k, np.nan)
        if eave_z is None
        else np.broadcast_to(np.asarray(eave_z, float), (k,)).copy()
    )
    if building_ids is None:
        building_ids = np.arange(k)
    bad = ~np.isfinite(base_z) | ~np.isfinite(roof_z) | (roof_z <= base_z)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise GeometryError(
            f"building {plain(building_ids[i])!r}: roof_z ({float(roof_z[i])}) must be "
            f"finite and above base_z ({float(base_z[i])}); {int(bad.sum())} building(s) affected"
        )
    if origin is None:
        if k:
            b = shapely.total_bounds(footprints)
            origin = np.array([np.floor(b[0]), np.floor(b[1]), 0.0])
        else:
            origin = np.zeros(3)
    origin = np.asarray(origin, float)
    # eaves: keep only meaningful pitched roofs
    pitched = np.isfinite(eave) & (eave < roof_z - ROOF_TOL) & (eave > base_z)

    parts, pidx = _polygon_parts(footprints)
    shifted = shapely.transform(parts, lambda c: c - origin[:2])

    tri_list = []  # (t, 3, 3) local
    fb_list = []
    fk_list = []

    def add(tris, owners, kind):
        tri_list.append(tris)
        fb_list.append(owners)
        fk_list.append(np.full(len(tris), KIND_CODES[kind], np.int8))

    # pitched roofs first: parts too narrow for the inset fall back to flat roofs
    part_pitched = pitched[pidx].copy()
    pp = np.flatnonzero(part_pitched)
    if len(pp):
        band_tris, band_owner, top_tris, top_owner, ok = _mansard(
            shifted[pp], eave[pidx[pp]], roof_z[pidx[pp]], pitch_deg
        )
        part_pitched[pp[~ok]] = False
        add(band_tris, pidx[pp][band_owner], "roof")
        add(top_tris, pidx[pp][top_owner], "roof")
    part_wall_top = np.where(part_pitched, eave[pidx], roof_z[pidx])

    # walls, from every ring edge
    a, b, e_owner = _ring_edges(shifted)
    bi = pidx[e_owner]
    z0 = base_z[bi]
    z1 = part_wall_top[e_owner]
    a0 = np.column_stack([a, z0])
    b0 = np.column_stack([b, z0])
    a1 = np.column_stack([a, z1])
    b1 = np.column_stack([b, z1])
    add(np.stack([a0, b0, b1], axis=1), bi, "wall")
    add(np.stack([a0, b1, a1], axis=1), bi, "wall")

    # base (facing down) for all parts, flat roofs for non-pitched parts
    t2, towner = _triangulate(shifted)
    tb = pidx[towner]
    base = np.concatenate([t2, base_z[tb][:, None, None].repeat(3, 1)], axis=2)
    add(base[:, ::-1], tb, "base")
    flat = ~part_pitched[towner]
    top = np.concatenate([t2, roof_z[tb][:, None, None].repeat(3, 1)], axis=2)
    add(top[flat], tb[flat], "roof")

    tris = np.concatenate(tri_list) if tri_list else np.zeros((0, 3, 3))
    fb = np.concatenate(fb_list) if fb_list else np.zeros(0, np.int64)
    fk = np.concatenate(fk_list) if fk_list else np.zeros(0, np.int8)
    verts, faces = _weld(tris, fb)
    return CityMesh(verts, faces, origin, fb, fk, np.asarray(building_ids, object), crs)


def _mansard(polys, eave, ridge, pitch_deg):
    """Roof band and top triangles of the mansard/hip roof model, and a flag per
    polygon telling whether the inset existed (False: make it a flat roof).

    Vectorised over polygons (shapely 2 array operations): one mitred inset
    per attempt for all polygons still without one, halving ``w`` for those.
    """
    n = len(polys)
    polys = np.asarray(polys, dtype=object)
    w = (np.asarray(ridge, float) - np.asarray(eave, float)) / np.tan(
        np.radians(pitch_deg)
    )
    area = shapely.area(polys)
    inset = np.empty(n, dtype=object)
    ok = np.zeros(n, bool)
    todo = np.arange(n)
    for _ in range(4):
        if not len(todo):
            break
        cand = shapely.buffer(
            polys[todo], -w[todo], join_style="mitre", mitre_limit=5.0
        )
        good = ~shapely.is_empty(cand) & (shapely.area(cand) > 0.05 * area[todo])
        inset[todo[good]] = cand[good]
        ok[todo[good]] = True
        w[todo[~good]] *= 0.5
        todo = todo[~good]
    idx = np.flatnonzero(ok)  # the others are too narrow: the caller makes them flat
    if not len(idx):
        return (
            np.zeros((0, 3, 3)),
            np.zeros(0, np.int64),
            np.zeros((0, 3, 3)),
            np.zeros(0, np.int64),
            ok,
        )
    band = shapely.difference(polys[idx], inset[idx])
    band_parts, bo = shapely.get_parts(band, return_index=True)
    poly_part = shapely.get_type_id(band_parts) == 3
    band_parts, bo = band_parts[poly_part], bo[poly_part]
    t_band, tb = _triangulate(band_parts)
    band_owner = idx[bo[tb]]
    inset_parts, io = shapely.get_parts(inset[idx], return_index=True)
    t_top, tt = _triangulate(inset_parts)
    top_owner = idx[io[tt]]
    # band corners on the outline sit at the eave, the others (inset vertices,
    # exactly the top cap's) at the ridge
    outline = shapely.boundary(polys)
    corner_owner = np.repeat(band_owner, 3)
    d = shapely.distance(shapely.points(t_band.reshape(-1, 2)), outline[corner_owner])
    z = np.where(
        d < 1e-6 + WELD_TOL,
        np.asarray(eave, float)[corner_owner],
        np.asarray(ridge, float)[corner_owner],
    ).reshape(-1, 3, 1)
    band_t = np.concatenate([t_band, z], axis=2)
    top_t = np.concatenate(
        [
            t_top,
            np.broadcast_to(
                np.asarray(ridge, float)[top_owner][:, None, None], (len(t_top), 3, 1)
            ),
        ],
        axis=2,
    )
    return band_t, band_owner.astype(np.int64), top_t, top_owner.astype(np.int64), ok


def _weld(tris, owner):
    """Merge coincident corners of the same building into shared vertices."""
    if len(tris) == 0:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    corners = tris.reshape(-1, 3)
    key = np.column_stack(
        [np.round(corners / WELD_TOL).astype(np.int64), np.repeat(owner, 3)]
    )
    inverse = group_ids(key)
    _, first = np.unique(inverse, return_index=True)
    verts = corners[first]
    return verts, inverse.reshape(-1, 3)


# -- terrain ---------------------------------------------------------------------------
def terrain_mesh(terrain, origin=None, step: int = 1, bounds=None) -> CityMesh:
    """Triangulate a DEM into a surface mesh (kind ``terrain``).

    One vertex per cell centre (every ``step`` cells), two triangles per grid
    square; squares touching nodata are left out.

    Parameters
    ----------
    terrain : Terrain
    origin : (3,) float, optional local origin [m]
    step : int
        Take every ``step``-th cell (coarsening for large DEMs).
    bounds : (minx, miny, maxx, maxy), optional crop [m]
    """
    if bounds is not None:
        terrain = terrain.clip(bounds)
    x, y = terrain.cell_centers()
    z = terrain.elevation[::step, ::step]
    x = x[::step]
    y = y[::step]
    rows, cols = z.shape
    if origin is None:
        origin = np.array([np.floor(x.min()), np.floor(y.min()), 0.0])
    origin = np.asarray(origin, float)
    X, Y = np.meshgrid(x - origin[0], y - origin[1])
    verts = np.column_stack([X.ravel(), Y.ravel(), (z - origin[2]).ravel()])
    r, c = np.meshgrid(np.arange(rows - 1), np.arange(cols - 1), indexing="ij")
    v00 = (r * cols + c).ravel()
    v01 = v00 + 1
    v10 = v00 + cols
    v11 = v10 + 1
    finite = np.isfinite(verts[:, 2])
    ok = finite[v00] & finite[v01] & finite[v10] & finite[v11]
    # rows go south (y decreasing): (v00, v10, v11) is CCW seen from above
    f1 = np.column_stack([v00, v10, v11])[ok]
    f2 = np.column_stack([v00, v11, v01])[ok]
    faces = np.concatenate([f1, f2])
    used, inv = np.unique(faces.ravel(), return_inverse=True)
    verts = verts[used]
    verts[:, 2] = np.nan_to_num(verts[:, 2])
    return CityMesh(
        verts,
        inv.reshape(-1, 3),
        origin,
        np.full(len(faces), -1, np.int64),
        np.full(len(faces), KIND_CODES["terrain"], np.int8),
        np.zeros(0, object),
        terrain.crs,
    )
