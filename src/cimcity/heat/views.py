"""What a standing person sees in every direction: the view set and its tracing.

A :class:`Views` holds, for each person point and each direction of a set
covering the whole sphere, what the direction meets first among opaque things
(sky, ground, roof, wall), whether it crossed tree canopy on the way, the
surface class of what it meets and, for walls, the wall's normal. It is traced
once per geometry; the hourly model (:mod:`cimcity.heat.model`) then only
looks up how bright and how warm each seen thing is.

Directions
----------
The upper hemisphere is cut into Tregenza's 145 patches
(:func:`cimcity.sun.sky.tregenza`, or Reinhart MF:2 with
``directions="reinhart"``) and each patch into ``k × k`` equal-area cells
(:meth:`cimcity.sun.sky.SkyPatches.subsample`); the lower hemisphere is its
mirror. The face weights ``max(0, d·n_f) dΩ`` of the six faces of the
standing person (up, down, north, east, south, west) are rescaled so each face
sums to π exactly (an isotropic radiance L gives L·π on every face).

Two tracers fill the same :class:`Views`: :func:`raster_views` marches through
a DSM/DEM/CDSM raster (:mod:`cimcity._kernels.heat`), :func:`mesh_views`
casts rays on a :class:`~cimcity.mesh.CityMesh` with :mod:`cimcity.raycast`
(buildings and terrain opaque, tree crowns crossed).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from .._kernels import heat as kern
from ..mesh import KIND_CODES
from ..raycast import api as rays
from ..sun.sky import sky_patches
from .surfaces import roof_rows

__all__ = ["Views", "sphere_directions", "face_weights", "raster_views", "mesh_views",
           "cached_raster_views", "merged_views"]

#: face normals of the standing person, in the order of the flux columns
FACES = np.array(
    [[0, 0, 1], [0, 0, -1], [0, 1, 0], [1, 0, 0], [0, -1, 0], [-1, 0, 0]], float
)
#: raster wall normals by code (east, west, north, south)
RASTER_NORMALS = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]], float)
#: ray start offset off surfaces [m]
EPS = 0.05


def sphere_directions(directions="tregenza", k: int = 1):
    """Directions covering the sphere, upper hemisphere then its mirror.

    Parameters
    ----------
    directions : str or SkyPatches
        Sky patches (``"tregenza"``: 145, ``"reinhart"``: 577).
    k : int
        Sub-cells per patch side.

    Returns
    -------
    dirs : (2P, 3) float64
        Unit vectors (east, north, up); the first P point up.
    solid : (2P,) float64
        Solid angles [sr] (sum 4π).
    patch : (P,) int64
        Sky patch of each upper direction.
    """
    p = sky_patches(directions)
    if k <= 1:
        up = p.directions
        dom = p.solid_angles
        patch = np.arange(len(p))
    else:
        up, dom, patch, _ = p.subsample(k)
    low = up * np.array([1.0, 1.0, -1.0])
    return np.vstack([up, low]), np.concatenate([dom, dom]), patch


def face_weights(dirs, solid) -> np.ndarray:
    """(6, D) weights ``max(0, d·n_f) dΩ``, each face rescaled to sum to π."""
    w = np.clip(FACES @ dirs.T, 0.0, None) * solid[None, :]
    return w * (np.pi / w.sum(axis=1))[:, None]


def horizon_weights(dirs, patch, directions="tregenza") -> np.ndarray:
    """(6, D) weights of the Perez horizon band (elevation 0) on each face.

    The band of intensity ``I`` [W m⁻² rad⁻¹] gives ``I ∫ max(0, cos(φ - φ_f)) dφ``
    on a vertical face (``2 I`` when the whole horizon is open) and nothing on
    the horizontal faces. Each direction of the lowest sky row stands for its
    azimuth sector of the band (seen when that direction sees the sky); the
    lateral rows are rescaled to sum to 2 exactly.
    """
    p = sky_patches(directions)
    P = len(patch)
    w = np.zeros((6, len(dirs)))
    low = p.horizon_row[patch]
    h = dirs[:P][low].copy()
    h[:, 2] = 0.0
    h /= np.linalg.norm(h, axis=1)[:, None]
    lateral = np.clip(FACES[2:] @ h.T, 0.0, None)
    w[2:, np.flatnonzero(low)] = lateral * (2.0 / lateral.sum(axis=1))[:, None]
    return w


@dataclass(eq=False)
class Views:
    """What each (point, direction) sees (see the module docstring).

    Attributes
    ----------
    kind : (n, D) int8
        0 sky, 1 ground, 2 roof, 3 wall.
    through : (n, D) uint8
        1 when the direction crossed canopy.
    cls : (n, D) int8
        Surface class row of what is seen (land-cover code; walls: the wall row).
    normal_index : (n, D) int32
        Row of :attr:`normals` for walls, -1 otherwise.
    normals : (M, 3) float64
    dirs : (D, 3) float64
    weights : (6, D) float64
    patch : (P,) int64
        Sky patch of each upper direction.
    svf : (n,) float64
        Sky view factor of each point (horizontal plane, canopy transmitting
        ``tau``) [-].
    lit_source : object
        What :meth:`lit` needs (raster profiles or mesh hit points).
    """

    kind: np.ndarray
    through: np.ndarray
    cls: np.ndarray
    normal_index: np.ndarray
    normals: np.ndarray
    dirs: np.ndarray
    weights: np.ndarray
    patch: np.ndarray
    svf: np.ndarray
    horizon: np.ndarray = None
    extra: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.kind.shape[0]


def _finish(views, solid, tau):
    """Time-independent sums of a traced view set (see
    :func:`cimcity._kernels.heat.view_sums`), stored on it."""
    up = np.clip(views.dirs[:, 2], 0, None) * solid
    up = up / up.sum()
    sky, leaf, hor, svf = kern.view_sums(views.kind, views.through, views.weights,
                                         views.horizon, up, float(tau))
    views.svf = svf
    views.extra.update(sky_sum=sky, leaf_sum=leaf, hor_sum=hor)
    views.extra["fidx"], views.extra["fw"] = kern.face_lists(views.weights)
    return views


def raster_views(grid, pcol, prow, pz, *, tau, trunk_ratio=0.25,
                 directions="tregenza", k=1) -> Views:
    """Trace the views of points in a raster scene.

    Parameters
    ----------
    grid : cimcity.heat.rasters.HeatGrid
    pcol, prow : (n,) float
        Point positions [pixels from the upper-left corner].
    pz : (n,) float
        Absolute heights of the person points [m].
    tau : float
        Canopy transmissivity [-].
    """
    dirs, solid, patch = sphere_directions(directions, k)
    kind, through, hit, hz, normal = kern.raster_views(
        grid.dsm, grid.dem, grid.cdsm, float(trunk_ratio),
        np.ascontiguousarray(pcol, float), np.ascontiguousarray(prow, float),
        np.ascontiguousarray(pz, float), dirs, float(grid.cell), float(grid.zmax),
    )
    lc = grid.landcover.ravel()
    cls = np.where(hit >= 0, lc[np.maximum(hit, 0)], 0).astype(np.int8)
    roof = kind == kern.ROOF
    albs = ()
    if getattr(grid, "roof_albedo", None) is not None:
        rows, albs = roof_rows(grid.roof_albedo.ravel())
        cls[roof] = rows[hit[roof]]
    else:
        cls[roof] = 2
    cls[kind == kern.WALL] = WALL_ROW
    v = Views(
        kind, through, cls, normal.astype(np.int32), RASTER_NORMALS, dirs,
        face_weights(dirs, solid), patch, None,
        horizon_weights(dirs, patch, directions),
        extra={"hit": hit, "hz": hz, "grid": grid, "roof_albedos": albs},
    )
    return _finish(v, solid, tau)


#: class row of walls (cimcity.heat.surfaces.WALL)
WALL_ROW = 8


def merged_views(views):
    """The things each point sees, its directions meeting the same surface
    point merged (:func:`cimcity._kernels.heat.merge_views`; needs
    ``views.extra["hit"]`` and ``["hz"]``), computed once per view set and
    kept in ``views.extra["merged"]``."""
    x = views.extra
    if "merged" not in x:
        x["merged"] = kern.merge_views(views.kind, views.through, views.cls,
                                       views.normal_index, x["hit"], x["hz"],
                                       x["fidx"], x["fw"])
    return x["merged"]

#: largest view set kept between calls by :func:`cached_raster_views` [bytes]
CACHE_BYTES = 160e6
_CACHE: dict = {}


def _views_key(grid, pcol, prow, pz, tau, trunk_ratio, directions) -> str:
    """Digest of everything :func:`raster_views` reads."""
    h = hashlib.blake2b(digest_size=20)
    arrays = [grid.dsm, grid.dem, grid.cdsm, grid.landcover, pcol, prow, pz]
    if getattr(grid, "roof_albedo", None) is not None:
        arrays.append(grid.roof_albedo)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.data)
    h.update(repr((float(grid.cell), float(tau), float(trunk_ratio),
                   str(directions))).encode())
    return h.hexdigest()


def cached_raster_views(grid, pcol, prow, pz, *, tau, trunk_ratio=0.25,
                        directions="tregenza"):
    """:func:`raster_views`, reusing the last view set traced on the same
    rasters and points.

    One view set (the last one under :data:`CACHE_BYTES`) is kept, keyed by a
    digest of the DSM, DEM, CDSM, land cover, roof albedo, points, heights,
    ``tau``, ``trunk_ratio`` and ``directions``: calls on one geometry with
    other weather (days of a period, a heat-wave scenario) trace it once.
    The view set is not modified by the model.

    Returns
    -------
    views : Views
    reused : bool
        True when the view set came from the cache.
    """
    key = _views_key(grid, pcol, prow, pz, tau, trunk_ratio, directions)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit, True
    v = raster_views(grid, pcol, prow, pz, tau=tau, trunk_ratio=trunk_ratio,
                     directions=directions)
    merged = merged_views(v)
    size = sum(a.nbytes for a in (v.kind, v.through, v.cls, v.normal_index,
                                  v.extra["hit"], v.extra["hz"], *merged))
    _CACHE.clear()
    if size <= CACHE_BYTES:
        _CACHE[key] = v
    return v, False


def mesh_views(mesh, points, ground_z, landcover, *, tau, n_tree_faces=0,
               engine="auto", directions="tregenza", k=1, roof_albedo=None) -> Views:
    """Trace the views of points on a city mesh (buildings, terrain, trees).

    Parameters
    ----------
    mesh : cimcity.mesh.CityMesh
        Scene mesh; its last ``n_tree_faces`` faces are tree crowns (crossed
        with transmissivity ``tau``, never opaque).
    points : (n, 3) float
        Person positions [m, scene CRS].
    ground_z : (n,) float
        Ground under each person [m]: a downward ray that meets no face meets
        the horizontal plane at this height (a scene without terrain).
    landcover : callable
        ``landcover(x, y) -> (m,) int`` land-cover code at ground points.
    tau : float
        Canopy transmissivity [-].
    engine : {"auto", "numba", "embree"}
        Ray engine.
    roof_albedo : (k,) float, optional
        Roof albedo of each of ``mesh.building_ids`` [-] (NaN: the buildings
        class default).
    """
    dirs, solid, patch = sphere_directions(directions, k)
    pts = np.asarray(points, float)
    n, D = len(pts), len(dirs)
    o = np.repeat(pts, D, axis=0)
    dd = np.tile(dirs, (n, 1))
    n_opaque = mesh.n_faces - int(n_tree_faces)
    opaque = mesh if not n_tree_faces else mesh.subset(np.arange(n_opaque))
    if n_opaque:
        dist, face = rays.intersect(opaque, o, dd, engine=engine)
    else:
        dist, face = np.full(n * D, np.inf), np.full(n * D, -1, np.int64)
    dist = np.asarray(dist, float)
    face = np.asarray(face, np.int64)
    hitf = face >= 0
    fk = np.where(hitf, face, 0)
    codes = np.asarray(opaque.face_kind)[fk] if n_opaque else np.zeros(n * D, np.int8)
    is_wall = hitf & (codes == KIND_CODES["wall"])
    is_roof = hitf & ((codes == KIND_CODES["roof"]) | (codes == KIND_CODES["base"]))
    is_ground = hitf & ~is_wall & ~is_roof
    below = ~hitf & (dd[:, 2] < 0)
    kind = np.zeros(n * D, np.int8)
    kind[is_ground | below] = kern.GROUND
    kind[is_roof] = kern.ROOF
    kind[is_wall] = kern.WALL
    height = np.repeat(pts[:, 2] - np.asarray(ground_z, float), D)
    dist = np.where(below, height / np.maximum(-dd[:, 2], 1e-6), dist)
    hp = o + dd * np.where(np.isfinite(dist), dist, 0.0)[:, None]
    through = np.zeros(n * D, np.uint8)
    if n_tree_faces:
        trees = mesh.subset(np.arange(n_opaque, mesh.n_faces))
        tmax = np.where(np.isfinite(dist), dist, np.inf)
        # a surface at the origin itself (a point on a wall face): no canopy
        # can lie between; the ray engine needs tmax > tmin
        short = tmax <= 2e-3
        tmax = np.where(short, 2e-3, tmax)
        through = rays.occluded(trees, o, dd, engine=engine, tmax=tmax).astype(np.uint8)
        through[short] = 0
    cls = np.zeros(n * D, np.int8)
    g = kind == kern.GROUND
    if g.any():
        cls[g] = landcover(hp[g, 0], hp[g, 1])
    roof = kind == kern.ROOF
    albs = ()
    if roof_albedo is not None and roof.any():
        rows, albs = roof_rows(roof_albedo)
        owner = np.asarray(opaque.face_building)[fk[roof]]
        cls[roof] = np.where(owner >= 0, rows[np.maximum(owner, 0)], 2)
    else:
        cls[roof] = 2
    cls[kind == kern.WALL] = WALL_ROW
    normals = np.asarray(opaque.face_normals, float) if n_opaque else np.zeros((1, 3))
    nidx = np.where(is_wall, fk, -1).astype(np.int32)
    hn = np.zeros((n * D, 3))
    hn[:, 2] = 1.0
    hn[is_wall] = normals[fk[is_wall]]
    shape = (n, D)
    kind = kind.reshape(shape)
    through = through.reshape(shape)
    v = Views(
        kind, through, cls.reshape(shape), nidx.reshape(shape), normals, dirs,
        face_weights(dirs, solid), patch, None,
        horizon_weights(dirs, patch, directions),
        extra={"hit_points": hp, "hit_normals": hn, "opaque": opaque,
               "trees": trees if n_tree_faces else None, "roof_albedos": albs},
    )
    return _finish(v, solid, tau)
