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
import shapely

from .errors import GeometryError, InputError

#: Surface kinds, in code order. ``ground`` is a building's base (CityGML
#: GroundSurface); ``terrain`` is the DEM surface.
KINDS = ("ground", "wall", "roof", "terrain")
KIND_CODES = {k: i for i, k in enumerate(KINDS)}

#: vertices closer than this are welded [m]
WELD_TOL = 1e-4
#: eave and ridge closer than this give a flat roof [m]
ROOF_TOL = 0.05
#: slope of the mansard/hip roof model [deg]
ROOF_PITCH_DEG = 60.0
#: default offset of sensors off their surface along the normal [m]
SENSOR_OFFSET = 0.05


def kind_codes(kinds) -> np.ndarray:
    """Codes (int8) of surface kind names; raises :class:`InputError` on unknown names."""
    if isinstance(kinds, str):
        kinds = (kinds,)
    out = []
    for k in kinds:
        if k not in KIND_CODES:
            raise InputError(f"unknown surface kind {k!r}; expected one of {KINDS}")
        out.append(KIND_CODES[k])
    return np.asarray(out, dtype=np.int8)


@dataclass(eq=False)
class Sensors:
    """Sample points on mesh faces.

    Attributes
    ----------
    points : (n, 3) float64
        World coordinates in the scene CRS [m], already offset off the surface.
    normals : (n, 3) float64
        Unit outward normals.
    areas : (n,) float64
        Surface area each sensor stands for [m²]; sums to the sampled faces' area
        (minus buried sensors, see :meth:`CityMesh.sample`).
    face : (n,) int64
        Index of the mesh face the sensor lies on (-1 for user points).
    building_id : (n,) object
        Building id (None on terrain / user points).
    kind : (n,) object
        Surface kind name.
    """

    points: np.ndarray
    normals: np.ndarray
    areas: np.ndarray
    face: np.ndarray
    building_id: np.ndarray
    kind: np.ndarray

    def __len__(self) -> int:
        return len(self.points)

    def to_frame(self, crs=None):
        """Sensors as a GeoDataFrame of 3D points (x, y, z, nx, ny, nz, area, kind...)."""
        import geopandas as gpd

        p = self.points
        return gpd.GeoDataFrame(
            {
                "x": p[:, 0],
                "y": p[:, 1],
                "z": p[:, 2],
                "nx": self.normals[:, 0],
                "ny": self.normals[:, 1],
                "nz": self.normals[:, 2],
                "area": self.areas,
                "kind": self.kind,
                "building_id": self.building_id,
                "face": self.face,
            },
            geometry=gpd.points_from_xy(p[:, 0], p[:, 1], p[:, 2]),
            crs=crs,
        )

    @classmethod
    def from_points(cls, points, normals, areas=None, kind="point", building_id=None):
        """Sensors at user-given points [m, world] with normals (normalised here)."""
        p = np.asarray(points, dtype=np.float64)
        n = np.asarray(normals, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != 3:
            raise InputError(f"points must have shape (n, 3); got {p.shape}")
        if n.shape != p.shape:
            raise InputError(
                f"normals must have the same shape as points {p.shape}; got {n.shape}"
            )
        if not np.all(np.isfinite(p)) or not np.all(np.isfinite(n)):
            raise InputError("points and normals must be finite (found NaN or inf)")
        length = np.linalg.norm(n, axis=1)
        if np.any(length < 1e-12):
            raise InputError(
                f"normals must be non-zero; {int(np.sum(length < 1e-12))} are zero"
            )
        k = len(p)
        return cls(
            p,
            n / length[:, None],
            np.ones(k) if areas is None else np.asarray(areas, float),
            np.full(k, -1, dtype=np.int64),
            np.full(k, building_id, dtype=object),
            np.full(k, kind, dtype=object),
        )


@dataclass(eq=False)
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
    cache : dict
        Derived data (normals, areas, ray acceleration structures); cleared
        by :meth:`clear_cache`.
    """

    vertices: np.ndarray
    faces: np.ndarray
    origin: np.ndarray
    face_building: np.ndarray
    face_kind: np.ndarray
    building_ids: np.ndarray
    crs: object = None
    cache: dict = field(default_factory=dict, repr=False)

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
        self.cache.clear()

    def _cached(self, key, fn):
        if key not in self.cache:
            self.cache[key] = fn()
        return self.cache[key]

    @property
    def n_faces(self) -> int:
        return len(self.faces)

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
        from ._compat import import_optional

        pv = import_optional("pyvista")
        v = self.world_vertices if world else self.vertices
        cells = np.hstack([np.full((self.n_faces, 1), 3), self.faces]).ravel()
        poly = pv.PolyData(v, cells)
        poly.cell_data["building"] = self.face_building
        poly.cell_data["kind"] = self.face_kind
        return poly

    # -- sensors --------------------------------------------------------------------
    def sample(
        self,
        spacing: float = 1.0,
        kinds=("roof", "wall"),
        offset: float = SENSOR_OFFSET,
        drop_buried: bool = True,
        footprints=None,
        tops=None,
    ) -> Sensors:
        """Sensor points on faces at about ``spacing`` metres.

        Each triangle is cut into ``k²`` congruent sub-triangles (barycentric
        grid, ``k = ceil(max(sqrt(area), longest edge / 2) / spacing)``, i.e.
        about one sensor per ``spacing²``, capped at ``2·sqrt(area)/spacing`` so
        a sliver does not explode into thousands of points); one sensor sits at each
        sub-triangle centroid and stands for ``area / k²``, so sensor areas sum
        exactly to the face areas.

        Parameters
        ----------
        spacing : float
            Target distance between sensors [m] (> 0).
        kinds : sequence of str
            Surface kinds to sample (see :data:`KINDS`).
        offset : float
            Distance the points are moved off the surface along the normal [m].
        drop_buried : bool
            Drop wall sensors that lie inside another building (party walls
            between adjoining buildings); needs ``footprints`` and ``tops``.
        footprints : (k,) shapely geometries aligned with ``building_ids``
        tops : (k,) float, top altitude of each building [m]

        Returns
        -------
        Sensors
        """
        if not np.isfinite(spacing) or spacing <= 0:
            raise InputError(f"spacing must be a positive number of metres; got {spacing!r}")
        mask = self.kind_mask(kinds) & (self.face_areas > 1e-9)
        fidx = np.flatnonzero(mask)
        tri = self.triangles[fidx]
        area = self.face_areas[fidx]
        edges = np.stack(
            [
                np.linalg.norm(tri[:, 1] - tri[:, 0], axis=1),
                np.linalg.norm(tri[:, 2] - tri[:, 1], axis=1),
                np.linalg.norm(tri[:, 0] - tri[:, 2], axis=1),
            ],
            axis=1,
        )
        # about one sensor per spacing^2, and no sub-triangle edge much longer
        # than 2 x spacing unless the triangle is a sliver (capped count)
        k = np.ceil(
            np.maximum(np.sqrt(area), 0.5 * edges.max(axis=1)) / spacing
        ).astype(np.int64)
        kcap = np.ceil(2.0 * np.sqrt(area) / spacing).astype(np.int64)
        k = np.clip(np.minimum(k, kcap), 1, None)
        pts, fids, areas = [], [], []
        for kk in np.unique(k):
            sel = np.flatnonzero(k == kk)
            bary = _subtriangle_centroids(int(kk))  # (s, 3)
            t = tri[sel]  # (q, 3, 3)
            p = np.einsum("sj,qjd->qsd", bary, t).reshape(-1, 3)
            pts.append(p)
            fids.append(np.repeat(fidx[sel], len(bary)))
            areas.append(np.repeat(area[sel] / (kk * kk), len(bary)))
        if pts:
            p = np.concatenate(pts)
            f = np.concatenate(fids)
            a = np.concatenate(areas)
        else:
            p = np.zeros((0, 3))
            f = np.zeros(0, np.int64)
            a = np.zeros(0)
        n = self.face_normals[f]
        p = p + self.origin + offset * n
        kind = np.asarray(KINDS, dtype=object)[self.face_kind[f]]
        bid = self.face_building_id[f]
        keep = np.ones(len(p), bool)
        if drop_buried and footprints is not None and len(p):
            keep = ~_buried(p, self.face_building[f], footprints, tops)
        return Sensors(p[keep], n[keep], a[keep], f[keep], bid[keep], kind[keep])


def _subtriangle_centroids(k: int) -> np.ndarray:
    """Barycentric centroids of the k² sub-triangles of a triangle (s, 3)."""
    out = []
    for i in range(k):
        for j in range(k - i):
            # upward sub-triangle (i, j), (i+1, j), (i, j+1)
            out.append(((i + 1 / 3), (j + 1 / 3)))
            if i + j < k - 1:
                # downward sub-triangle (i+1, j), (i, j+1), (i+1, j+1)
                out.append(((i + 2 / 3), (j + 2 / 3)))
    uv = np.asarray(out) / k
    return np.column_stack([1 - uv[:, 0] - uv[:, 1], uv[:, 0], uv[:, 1]])


def _buried(points, face_building, footprints, tops) -> np.ndarray:
    """Points lying inside another building's volume (party walls)."""
    footprints = np.asarray(footprints, dtype=object)
    tops = np.asarray(tops, dtype=float)
    tree = shapely.STRtree(footprints)
    pts = shapely.points(points[:, 0], points[:, 1])
    ip, ib = tree.query(pts, predicate="intersects")
    other = ib != face_building[ip]
    below = points[ip, 2] < tops[ib]
    hit = other & below
    out = np.zeros(len(points), bool)
    out[ip[hit]] = True
    return out


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
            f"building {building_ids[i]!r}: roof_z ({roof_z[i]}) must be finite and "
            f"above base_z ({base_z[i]}); {int(bad.sum())} building(s) affected"
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
    add(base[:, ::-1], tb, "ground")
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
    polygon telling whether the inset existed (False: make it a flat roof)."""
    tan = np.tan(np.radians(pitch_deg))
    band_t, band_o, top_t, top_o = [], [], [], []
    ok = np.ones(len(polys), bool)
    for i, poly in enumerate(polys):
        w = (ridge[i] - eave[i]) / tan
        inset = None
        for _ in range(4):
            cand = shapely.buffer(poly, -w, join_style="mitre", mitre_limit=5.0)
            if not cand.is_empty and cand.area > 0.05 * poly.area:
                inset = cand
                break
            w *= 0.5
        if inset is None:  # too narrow: the caller makes this part flat
            ok[i] = False
            continue
        # inset vertices must be exactly the top cap's vertices: snap the band
        band = shapely.difference(poly, inset)
        band_parts = shapely.get_parts(band)
        band_parts = band_parts[shapely.get_type_id(band_parts) == 3]
        inset_parts = shapely.get_parts(inset)
        t_band, _ = _triangulate(band_parts)
        t_top, _ = _triangulate(inset_parts)
        outline = poly.boundary
        flat = t_band.reshape(-1, 2)
        d = shapely.distance(shapely.points(flat), outline)
        z = np.where(d < 1e-6 + WELD_TOL, eave[i], ridge[i]).reshape(-1, 3, 1)
        band_t.append(np.concatenate([t_band, z], axis=2))
        band_o.append(np.full(len(t_band), i))
        top_t.append(np.concatenate([t_top, np.full((len(t_top), 3, 1), ridge[i])], 2))
        top_o.append(np.full(len(t_top), i))
    cat = lambda xs, shape: np.concatenate(xs) if xs else np.zeros(shape)  # noqa: E731
    return (
        cat(band_t, (0, 3, 3)),
        cat(band_o, (0,)).astype(np.int64),
        cat(top_t, (0, 3, 3)),
        cat(top_o, (0,)).astype(np.int64),
        ok,
    )


def _weld(tris, owner):
    """Merge coincident corners of the same building into shared vertices."""
    if len(tris) == 0:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    corners = tris.reshape(-1, 3)
    key = np.column_stack(
        [np.round(corners / WELD_TOL).astype(np.int64), np.repeat(owner, 3)]
    )
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
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
