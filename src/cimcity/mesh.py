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

from ._cache import Cache
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

        Coplanar faces of one building and surface kind are grouped into
        planar *patches* (normals within 1e-4, planes within 1 mm, split on
        tiles of 128 spacings). Each patch gets a grid in its own plane,
        aligned with the horizontal on walls and slopes and with the patch's
        longest edge on flat faces, with ``round(extent / spacing)`` cells
        each way (cells of 0.67–1.5 × ``spacing``, fitted exactly to
        rectangles such as wall quads). One sensor stands for the exact area
        of the patch inside its cell (triangles clipped by the cell); cells
        covered less than a quarter hand their area to their best-covered
        neighbour. A fully covered cell's sensor sits at the cell centroid, a
        partly covered one's at the centroid of its largest triangle piece, so
        every point lies on the surface. Sensor areas sum exactly to the face
        areas per patch (not per triangle: a sensor's ``face`` is the triangle
        holding it), and long sliver triangles from footprint triangulation do
        not inflate the sensor count (about one sensor per ``spacing²``).

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
            raise InputError(
                f"spacing must be a positive number of metres; got {spacing!r}"
            )
        if not np.isfinite(offset):
            raise InputError(
                f"offset must be a finite number of metres; got {offset!r}"
            )
        mask = self.kind_mask(kinds) & (self.face_areas > 1e-9)
        fidx = np.flatnonzero(mask)
        if len(fidx):
            p, f, a = _grid_sensors(
                self.triangles[fidx],
                self.faces[fidx],
                self.face_normals[fidx],
                self.face_areas[fidx],
                self.face_building[fidx],
                self.face_kind[fidx],
                float(spacing),
                float(offset),
            )
            f = fidx[f]
        else:
            p = np.zeros((0, 3))
            f = np.zeros(0, np.int64)
            a = np.zeros(0)
        p += self.origin
        if drop_buried and footprints is not None and len(p):
            keep = ~_buried(
                p, self.face_building[f], footprints, tops, self.face_kind[f]
            )
            p, f, a = p[keep], f[keep], a[keep]
        n = self.face_normals[f]
        kind = np.asarray(KINDS, dtype=object)[self.face_kind[f]]
        bid = self.face_building_id[f]
        return Sensors(p, n, a, f, bid, kind)


#: normals closer than this (per component) and planes closer than
#: :data:`_PLANE_TOL` [m] count as one plane when grouping faces into patches
_NORMAL_TOL = 1e-4
_PLANE_TOL = 1e-3
#: patches are also split on tiles of this many spacings, so coplanar faces far
#: apart (flat terrain, aligned roofs) never share one huge sparse grid
_TILE_SPACINGS = 128
#: cells covered less than this fraction hand their area to a neighbour
_MIN_CELL_FRACTION = 0.25


def _group_ids(keys) -> np.ndarray:
    """Dense group ids (0..g-1, sorted by key) of the rows of an int64 table.

    Columns are combined pairwise through ``pandas.factorize`` (hashing), much
    faster than ``np.unique(axis=0)``, which sorts rows as opaque bytes.
    """
    import pandas as pd

    g = np.zeros(len(keys), np.int64)
    for col in np.asarray(keys, dtype=np.int64).T:
        c, uniq = pd.factorize(col, sort=True)
        g = g * len(uniq) + c
        g, _ = pd.factorize(g, sort=True)
    return g.astype(np.int64)


def _grid_sensors(tri, faces, normals, areas, building, kind, spacing, offset=0.0):
    """Sensor points, faces and areas from per-patch grids (see ``CityMesh.sample``).

    Returns local points (q, 3) ``offset`` [m] off the faces along their
    normals, face rows (q,) into ``tri`` and areas (q,) [m²] that sum exactly
    to ``areas.sum()`` per patch.
    """
    from ._kernels.sample import cell_points, grid_cells

    d = np.einsum("ij,ij->i", normals, tri[:, 0])
    cen = tri.mean(axis=1)
    tile = _TILE_SPACINGS * spacing
    horizontal = np.hypot(normals[:, 0], normals[:, 1])
    azimuth = np.where(
        horizontal > _NORMAL_TOL, np.arctan2(normals[:, 0], normals[:, 1]), 0.0
    )
    keys = np.column_stack(
        [
            building,
            kind.astype(np.int64),
            # walls of a building in turn around it (sensor order stays local,
            # which keeps ray packets coherent); a function of the normal, so
            # it does not change the grouping
            np.round(azimuth / _NORMAL_TOL).astype(np.int64),
            np.round(normals / _NORMAL_TOL).astype(np.int64),
            np.round(d / _PLANE_TOL).astype(np.int64),
            np.floor(cen[:, :2] / tile).astype(np.int64),
        ]
    )
    patch = _group_ids(keys)
    order = np.argsort(patch, kind="stable")
    tri = tri[order]
    patch = patch[order]
    P = int(patch[-1]) + 1
    pstart = np.searchsorted(patch, np.arange(P + 1))
    first = pstart[:-1]
    # patch frame: n from its first face; u horizontal on walls and slopes,
    # along the patch's longest edge on (near-)horizontal faces
    n = normals[order][first]
    u = np.column_stack([-n[:, 1], n[:, 0], np.zeros(P)])
    ulen = np.linalg.norm(u, axis=1)
    flat = np.abs(n[:, 2]) > 0.999
    if flat.any():
        # longest boundary edge (an edge used once in its patch; a diagonal
        # of the triangulation is used twice)
        fv = faces[order]
        a = fv[:, [0, 1, 2]].ravel()
        b = fv[:, [1, 2, 0]].ravel()
        ep = np.repeat(patch, 3)
        ie = _group_ids(np.column_stack([ep, np.minimum(a, b), np.maximum(a, b)]))
        once = np.bincount(ie)[ie] == 1
        e = np.stack(
            [tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 1], tri[:, 0] - tri[:, 2]], 1
        )
        e = e.reshape(-1, 3)
        el = np.linalg.norm(e, axis=1) * np.where(once, 1.0, 1e-6)
        by = np.lexsort((-el, ep))
        le = e[by[np.searchsorted(ep[by], np.arange(P))]]
        le = le - np.einsum("ij,ij->i", le, n)[:, None] * n
        u[flat] = le[flat]
        ulen = np.linalg.norm(u, axis=1)
    u /= ulen[:, None]
    v = np.cross(n, u)
    o = tri[first, 0]
    rel = tri - o[patch][:, None, :]
    uc = np.einsum("tkd,td->tk", rel, u[patch])
    vc = np.einsum("tkd,td->tk", rel, v[patch])
    umin = np.minimum.reduceat(uc.min(axis=1), first)
    umax = np.maximum.reduceat(uc.max(axis=1), first)
    vmin = np.minimum.reduceat(vc.min(axis=1), first)
    vmax = np.maximum.reduceat(vc.max(axis=1), first)
    # cells of about spacing x spacing fitted to the patch extent
    nu = np.maximum(np.round((umax - umin) / spacing), 1).astype(np.int64)
    nv = np.maximum(np.round((vmax - vmin) / spacing), 1).astype(np.int64)
    su = np.maximum(umax - umin, 1e-12) / nu
    sv = np.maximum(vmax - vmin, 1e-12) / nv
    tri2d = np.ascontiguousarray(
        np.stack([uc - umin[patch][:, None], vc - vmin[patch][:, None]], axis=2)
    )
    a2 = 0.5 * np.abs(
        (tri2d[:, 1, 0] - tri2d[:, 0, 0]) * (tri2d[:, 2, 1] - tri2d[:, 0, 1])
        - (tri2d[:, 2, 0] - tri2d[:, 0, 0]) * (tri2d[:, 1, 1] - tri2d[:, 0, 1])
    )
    scale = areas[order] / np.maximum(a2, 1e-300)
    # keep every triangle counter-clockwise in its patch frame
    cw = (
        (tri2d[:, 1, 0] - tri2d[:, 0, 0]) * (tri2d[:, 2, 1] - tri2d[:, 0, 1])
        - (tri2d[:, 2, 0] - tri2d[:, 0, 0]) * (tri2d[:, 1, 1] - tri2d[:, 0, 1])
    ) < 0
    tri2d[cw] = tri2d[cw][:, ::-1]
    offs = np.concatenate([[0], np.cumsum(nu * nv)]).astype(np.int64)
    area, px, py, t = grid_cells(
        tri2d, scale, pstart.astype(np.int64), nu, nv, su, sv, offs, _MIN_CELL_FRACTION
    )
    cell = np.flatnonzero(area > 0)
    pts = cell_points(
        cell,
        px,
        py,
        t,
        patch,
        o,
        u,
        v,
        umin,
        vmin,
        normals[order],
        tri[:, 0].copy(),
        offset,
    )
    return pts, order[t[cell]], area[cell]


def _buried(points, face_building, footprints, tops, face_kind=None) -> np.ndarray:
    """Points lying inside another building's volume (party walls).

    A point is buried when its (x, y) falls in the footprint of a building
    other than its own and it is lower than that building's top. Roof points
    are tested only on buildings whose footprint overlaps another's interior
    (elsewhere they stand inside their own footprint); without ``face_kind``
    every point is tested. Wall sensors stand in
    columns sharing one (x, y), so footprints are queried once per distinct
    (x, y) (rounded to 0.1 mm), with the highest and second-highest top among
    the buildings there.
    """
    import pandas as pd

    footprints = np.asarray(footprints, dtype=object)
    tops = np.asarray(tops, dtype=float)
    out = np.zeros(len(points), bool)
    if not len(footprints) or not len(points):
        return out
    tree = shapely.STRtree(footprints)
    if face_kind is None:
        cand = np.ones(len(points), bool)
    else:
        cand = face_kind != KIND_CODES["roof"]
    a, b = tree.query(footprints, predicate="intersects")
    pair = a != b
    a, b = a[pair], b[pair]
    inner = ~shapely.touches(footprints[a], footprints[b])
    if inner.any():
        overlapping = np.zeros(len(footprints), bool)
        overlapping[a[inner]] = True
        fb = np.clip(face_building, 0, None)
        cand |= (face_building >= 0) & overlapping[fb]
    idx = np.flatnonzero(cand)
    if not len(idx):
        return out
    pts = points[idx]
    q = np.round((pts[:, :2] - pts[:, :2].min(axis=0)) * 1e4).astype(np.int64)
    span = (int(q[:, 0].max()) + 1) * (int(q[:, 1].max()) + 1)  # Python int: exact
    if span < 2**62:
        inv, _ = pd.factorize(q[:, 0] * (int(q[:, 1].max()) + 1) + q[:, 1])
    else:  # extents over ~200 km at 0.1 mm: a combined key would overflow int64
        inv = _group_ids(q)
    nu = int(inv.max()) + 1
    _, first = np.unique(inv, return_index=True)
    xy = pts[first, :2]
    ip, ib = tree.query(shapely.points(xy[:, 0], xy[:, 1]), predicate="intersects")
    if not len(ip):
        return out
    # per distinct (x, y): highest top (and its building), second highest top
    top = tops[ib]
    srt = np.lexsort((-top, ip))
    ip, ib, top = ip[srt], ib[srt], top[srt]
    head = np.r_[True, ip[1:] != ip[:-1]]
    b1 = np.full(nu, -2, np.int64)
    t1 = np.full(nu, -np.inf)
    t2 = np.full(nu, -np.inf)
    b1[ip[head]] = ib[head]
    t1[ip[head]] = top[head]
    second = np.r_[False, ~head[1:] & head[:-1]]
    t2[ip[second]] = top[second]
    lim = np.where(b1[inv] != face_building[idx], t1[inv], t2[inv])
    out[idx] = pts[:, 2] < lim
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
    inverse = _group_ids(key)
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
