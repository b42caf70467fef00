"""Occluders beyond the buildings: 2.5D rasters and tree crowns.

* :func:`dsm_mesh`: for users who only have LiDAR or UMEP-style rasters, a
  digital surface model as a :class:`~cimcity.mesh.CityMesh` that the ray
  engines (and therefore :func:`cimcity.solar.irradiance`) can use, either as
  the only occluders or to sample sensors on; :func:`scene_dsm_mesh` caches
  it per scene version.
* :func:`tree_crowns`, :func:`with_trees` and :func:`trees_on`: the scene's trees (vegetation
  polygons of kind ``tree`` with a ``height``, and/or a canopy-height raster
  added with ``Scene.add_vegetation(raster, raster="cdsm")``) as closed crown
  solids, added to the scene mesh when an analysis is run with ``trees=True``
  (:func:`cimcity.solar.irradiance`, :func:`cimcity.shadow.sun_hours`,
  :func:`cimcity.shadow.impact`).

Geometry
--------
Each DSM cell is a flat square at its height (the raster's own meaning: one
height per cell, as in UMEP/SOLWEIG shadow casting), and a vertical wall closes
every step between neighbouring cells. This keeps vertical facades vertical: a
smooth height-field triangulation through cell centres would tilt every
facade into a 1-cell-wide slope and hide them from sensors.

Surface kinds: with a DEM, cells at least ``min_height`` above the ground are
``roof`` and the steps that bound them ``wall``; connected roof cells form one
building (ids ``"dsm1"``, ``"dsm2"``…, via :func:`scipy.ndimage.label`). Other
cells, and every cell without a DEM, are ``terrain``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..errors import CRSError, DataQualityWarning, InputError
from ..mesh import KIND_CODES, CityMesh, extrude_buildings
from ..scene.heights import ground_at
from ..scene.summary import shown
from ..terrain import Terrain

__all__ = [
    "dsm_mesh",
    "tree_crowns",
    "canopy_boxes",
    "with_trees",
    "trees_on",
    "scene_dsm_mesh",
    "crown_levels",
    "MIN_BUILDING_HEIGHT",
    "STEP_TOL",
    "TREE_KINDS",
    "CROWN_BASE_SHARE",
    "MIN_CROWN_BASE",
    "MIN_CANOPY_HEIGHT",
]

#: cells this far above the DEM are buildings (roof/wall kinds) [m]
MIN_BUILDING_HEIGHT = 2.0
#: height steps smaller than this between neighbour cells get no wall [m]
STEP_TOL = 1e-3
#: vegetation kinds whose polygons are tree crowns
TREE_KINDS = ("tree",)
#: crown base (bottom of the foliage) as a share of the tree height; the trunk
#: below it is not an occluder (UMEP/SOLWEIG's trunk zone default is 25 %)
CROWN_BASE_SHARE = 0.35
#: lowest crown base [m] above the ground (street trees are pruned to let
#: people and vehicles pass) when the tree is tall enough for it
MIN_CROWN_BASE = 2.0
#: canopy-height raster cells lower than this are not trees [m]
MIN_CANOPY_HEIGHT = 2.0


def _pool_max(z, step):
    if step == 1:
        return z
    r, c = z.shape
    R, C = -(-r // step), -(-c // step)
    pad = np.full((R * step, C * step), np.nan)
    pad[:r, :c] = z
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmax(pad.reshape(R, step, C, step), axis=(1, 3))


def dsm_mesh(
    dsm,
    dem=None,
    min_height: float = MIN_BUILDING_HEIGHT,
    step: int = 1,
    bounds=None,
    origin=None,
) -> CityMesh:
    """Block mesh of a DSM: one flat square per cell plus vertical walls.

    Parameters
    ----------
    dsm : Terrain
        Digital surface model [m] (buildings, trees, ground), projected CRS.
    dem : Terrain, optional
        Bare-ground model on any grid in the same CRS; classifies cells as
        roof (``dsm - dem >= min_height``) or terrain.
    min_height : float
        Height above ground from which a cell belongs to a building [m].
    step : int
        Coarsening factor: blocks of ``step × step`` cells take their highest
        value (conservative for occlusion).
    bounds : (minx, miny, maxx, maxy), optional
        Crop before meshing [m].
    origin : (3,) float, optional
        Local origin of the mesh [m]; default: the grid's lower-left corner at z = 0.

    Returns
    -------
    CityMesh
        Kinds ``roof``, ``wall`` (building cells) and ``terrain``; NaN cells are
        holes. ``building_ids`` are the connected roof regions.
    """
    if not isinstance(dsm, Terrain):
        raise InputError(
            f"dsm must be a cimcity Terrain (cc.read_dsm(path)); got {type(dsm).__name__}"
        )
    if not isinstance(step, int | np.integer) or step < 1:
        raise InputError(f"step must be a positive integer; got {shown(step)!r}")
    if not np.isfinite(min_height) or min_height <= 0:
        raise InputError(
            f"min_height must be a positive height [m]; got {shown(min_height)!r}"
        )
    if bounds is not None:
        dsm = dsm.clip(bounds)
    t = dsm.transform
    z = _pool_max(dsm.elevation, int(step))
    dx, dy = t.a * step, -t.e * step
    rows, cols = z.shape
    x_edges = t.c + np.arange(cols + 1) * dx
    y_edges = t.f - np.arange(rows + 1) * dy
    if origin is None:
        origin = np.array([np.floor(x_edges[0]), np.floor(y_edges[-1]), 0.0])
    origin = np.asarray(origin, float)
    xe = x_edges - origin[0]
    ye = y_edges - origin[1]
    zl = z - origin[2]

    roof = _roof_cells(dsm, dem, z, x_edges, y_edges, min_height)
    labels, nb = ndimage.label(roof)
    cell_building = labels - 1  # -1: terrain
    tris, fb, fk = _cell_tops(zl, roof, cell_building, xe, ye)
    for t, b, k in _step_walls(zl, roof, cell_building, xe, ye):
        tris.append(t)
        fb.append(b)
        fk.append(k)

    T = np.concatenate(tris) if tris else np.zeros((0, 3, 3))
    verts = T.reshape(-1, 3)
    faces = np.arange(len(verts), dtype=np.int64).reshape(-1, 3)
    ids = np.array([f"dsm{i + 1}" for i in range(nb)], dtype=object)
    return CityMesh(
        verts,
        faces,
        origin,
        np.concatenate(fb).astype(np.int64) if fb else np.zeros(0, np.int64),
        np.concatenate(fk).astype(np.int8) if fk else np.zeros(0, np.int8),
        ids,
        dsm.crs,
    )


# -- trees ---------------------------------------------------------------------------
def _roof_cells(dsm, dem, z, x_edges, y_edges, min_height):
    """(rows, cols) bool: cells at least ``min_height`` above the DEM."""
    roof = np.zeros(z.shape, bool)
    if dem is None:
        return roof
    if not isinstance(dem, Terrain):
        raise InputError(f"dem must be a cimcity Terrain; got {type(dem).__name__}")
    if not dem.crs.equals(dsm.crs, ignore_axis_order=True):
        raise CRSError(
            f"DEM CRS {dem.crs.to_string()!r} differs from the DSM CRS "
            f"{dsm.crs.to_string()!r}"
        )
    xc = 0.5 * (x_edges[:-1] + x_edges[1:])
    yc = 0.5 * (y_edges[:-1] + y_edges[1:])
    X, Y = np.meshgrid(xc, yc)
    g = dem.sample(X.ravel(), Y.ravel(), method="nearest").reshape(z.shape)
    with np.errstate(invalid="ignore"):
        return np.isfinite(g) & np.isfinite(z) & (z - g >= min_height)


def _cell_tops(zl, roof, cell_building, xe, ye):
    """Two flat triangles per finite cell: (triangles, building, kind) lists."""
    rr, cc = np.nonzero(np.isfinite(zl))
    x0, x1 = xe[cc], xe[cc + 1]
    y0, y1 = ye[rr + 1], ye[rr]  # y decreases with row
    h = zl[rr, cc]
    a = np.stack([x0, y0, h], 1)
    b = np.stack([x1, y0, h], 1)
    c = np.stack([x1, y1, h], 1)
    d = np.stack([x0, y1, h], 1)
    bid = cell_building[rr, cc]
    kind = np.where(roof[rr, cc], KIND_CODES["roof"], KIND_CODES["terrain"]).astype(
        np.int8
    )
    return [np.stack([a, b, c], 1), np.stack([a, c, d], 1)], [bid, bid], [kind, kind]


def _wall_quads(za, zb, ba, bb, ra, rb, pa, pb):
    """Quads for steps between cell pairs; p* are the 2 edge endpoints (x, y)."""
    ok = np.isfinite(za) & np.isfinite(zb) & (np.abs(za - zb) > STEP_TOL)
    za, zb, ba, bb, ra, rb = za[ok], zb[ok], ba[ok], bb[ok], ra[ok], rb[ok]
    p0, p1 = pa[ok], pb[ok]
    lo = np.minimum(za, zb)
    hi = np.maximum(za, zb)
    high_is_a = za > zb
    q0 = np.column_stack([p0, lo])
    q1 = np.column_stack([p1, lo])
    q2 = np.column_stack([p1, hi])
    q3 = np.column_stack([p0, hi])
    t1 = np.stack([q0, q1, q2], 1)
    t2 = np.stack([q0, q2, q3], 1)
    # the wall faces the lower cell: its normal points from a to b when a is higher
    owner = np.where(high_is_a, ba, bb)
    is_roof = np.where(high_is_a, ra, rb)
    return t1, t2, owner, is_roof, high_is_a


def _step_walls(zl, roof, cell_building, xe, ye):
    """Vertical walls closing every height step between neighbour cells:
    yields (triangles, building, kind), outward toward the lower cell."""
    rows, cols = zl.shape
    out_walls = []
    # east-west neighbours: cells (r, c) and (r, c + 1), shared edge x = xe[c + 1]
    if cols > 1:
        r, c = np.nonzero(np.ones((rows, cols - 1), bool))
        pa = np.column_stack([xe[c + 1], ye[r + 1]])
        pb = np.column_stack([xe[c + 1], ye[r]])
        out_walls.append(
            (
                _wall_quads(
                    zl[r, c],
                    zl[r, c + 1],
                    cell_building[r, c],
                    cell_building[r, c + 1],
                    roof[r, c],
                    roof[r, c + 1],
                    pa,
                    pb,
                ),
                np.array([1.0, 0.0, 0.0]),
            )
        )
    # north-south neighbours: cells (r, c) (north) and (r + 1, c) (south)
    if rows > 1:
        r, c = np.nonzero(np.ones((rows - 1, cols), bool))
        pa = np.column_stack([xe[c], ye[r + 1]])
        pb = np.column_stack([xe[c + 1], ye[r + 1]])
        out_walls.append(
            (
                _wall_quads(
                    zl[r, c],
                    zl[r + 1, c],
                    cell_building[r, c],
                    cell_building[r + 1, c],
                    roof[r, c],
                    roof[r + 1, c],
                    pa,
                    pb,
                ),
                np.array([0.0, -1.0, 0.0]),
            )
        )
    for (t1, t2, owner, is_roof, high_is_a), a_to_b in out_walls:
        if not len(t1):
            continue
        want = np.where(high_is_a[:, None], a_to_b, -a_to_b)
        kind = np.where(is_roof, KIND_CODES["wall"], KIND_CODES["terrain"]).astype(
            np.int8
        )
        for tt in (t1, t2):
            nrm = np.cross(tt[:, 1] - tt[:, 0], tt[:, 2] - tt[:, 0])
            flip = np.einsum("ij,ij->i", nrm, want) < 0
            tt[flip] = tt[flip][:, ::-1]
            yield tt, owner, kind


def crown_levels(height, share=CROWN_BASE_SHARE, min_base=MIN_CROWN_BASE):
    """Crown base and top above the ground [m] of trees of a given height.

    The crown spans ``[max(share h, min_base), h]``; trees too short for a
    ``min_base`` trunk (``min_base >= 0.9 h``) keep ``share h``.

    Parameters
    ----------
    height : (k,) float
        Tree heights above the ground [m], > 0.

    Returns
    -------
    base, top : (k,) float64
    """
    h = np.asarray(height, float)
    base = np.maximum(share * h, min_base)
    base = np.where(base < 0.9 * h, base, share * h)
    return base, h


def _ground_under(scene, x, y):
    """Ground altitude [m] at points in the scene's vertical frame
    (:func:`cimcity.scene.heights.ground_at`: the terrain, else the nearest
    known ground, else 0)."""
    return ground_at(scene, np.asarray(x, float), np.asarray(y, float))[0]


def tree_crowns(
    scene,
    kinds=TREE_KINDS,
    origin=None,
    share: float = CROWN_BASE_SHARE,
    min_base: float = MIN_CROWN_BASE,
    ids=None,
):
    """Tree crowns of the vegetation layer as closed prisms.

    Crown model: each tree polygon (the crown's outline seen from above, e.g.
    a circle of the crown radius) extruded from the crown base to the tree top
    (:func:`crown_levels`: base ``max(0.35 h, 2 m)`` above the ground, top at
    the ``height`` column, tree height above the ground [m]). The ground is
    the terrain at the polygon's centroid, else the nearest building's
    ``ground_z``, else 0. The trunk is not modelled (thin), so low sun passes
    under the crown. Trees without a finite positive ``height`` are left out
    with a :class:`~cimcity.errors.DataQualityWarning` (never invented).

    Parameters
    ----------
    scene : Scene
    kinds : sequence of str
        Vegetation kinds that are trees.
    origin : (3,) float, optional
        Local origin of the mesh [m]; default: the scene mesh's.
    share, min_base : float
        Crown base model (see :func:`crown_levels`).
    ids : sequence, optional
        Only these vegetation ids.

    Returns
    -------
    CityMesh or None
        Faces of ``building`` -1 and kind ``terrain`` (not buildings: nothing is
        sampled on them, nothing is summed per building); ``building_ids``
        empty. ``mesh.tree_ids`` holds the vegetation id of each
        crown and ``mesh.face_tree`` the crown of each face. None
        when the scene has no tree with a height.
    """
    import warnings

    import shapely

    V = scene.vegetation
    if not len(V) or "kind" not in V.columns:
        return None
    V = V[V["kind"].astype(str).isin(list(kinds))]
    if ids is not None:
        V = V[V.index.isin(list(ids))]
    if not len(V):
        return None
    h = (
        V["height"].to_numpy(float)
        if "height" in V.columns
        else np.full(len(V), np.nan)
    )
    ok = np.isfinite(h) & (h > 0)
    if (~ok).any():
        warnings.warn(
            f"{int((~ok).sum())} of {len(V)} trees have no height (column "
            f"'height', m above ground): left out of the occluders",
            DataQualityWarning,
            stacklevel=3,
        )
    V, h = V[ok], h[ok]
    if not len(V):
        return None
    geoms = V.geometry.values
    c = shapely.centroid(geoms)
    gz = (
        V["ground_z"].to_numpy(float)
        if "ground_z" in V.columns
        else np.full(len(V), np.nan)
    )
    miss = ~np.isfinite(gz)
    if miss.any():
        gz[miss] = _ground_under(scene, shapely.get_x(c[miss]), shapely.get_y(c[miss]))
    base, top = crown_levels(h, share, min_base)
    if origin is None:
        origin = scene.mesh(terrain=False).origin
    m = extrude_buildings(
        geoms, gz + base, gz + top, origin=origin, building_ids=V.index.to_numpy()
    )
    m.face_tree = m.face_building.copy()
    m.tree_ids = m.building_ids.copy()
    m.face_building = np.full(m.n_faces, -1, np.int64)
    m.face_kind = np.full(m.n_faces, KIND_CODES["terrain"], np.int8)
    m.building_ids = np.zeros(0, object)
    m.crs = scene.crs
    return m


def canopy_boxes(
    cdsm, scene=None, min_height: float = MIN_CANOPY_HEIGHT, origin=None, share=None
):
    """Canopy-height raster cells as boxes (crown base to canopy top).

    Each cell of canopy height ``h >= min_height`` [m above ground] becomes a
    closed box over the cell, from ``share h`` (trunk zone, default
    :data:`CROWN_BASE_SHARE`) to ``h`` above the ground; the ground is the
    scene terrain at the cell centre (else as :func:`tree_crowns`).

    Parameters
    ----------
    cdsm : (array, transform, crs)
        As stored by ``Scene.add_vegetation(raster, raster="cdsm")`` in
        ``scene.rasters["cdsm"]``.
    scene : Scene, optional
        For the ground altitude (terrain, buildings).
    min_height : float
        Lowest canopy height that is a tree [m].
    origin : (3,) float, optional
        Local origin [m].

    Returns
    -------
    CityMesh or None
        Kind ``terrain``, building -1 (as :func:`tree_crowns`); None without
        canopy cells.
    """
    arr, t, crs = cdsm
    h = np.asarray(arr, float)
    if h.ndim != 2:
        raise InputError(f"canopy height raster must be 2-D; got shape {h.shape}")
    share = CROWN_BASE_SHARE if share is None else float(share)
    with np.errstate(invalid="ignore"):
        rr, cc = np.nonzero(np.isfinite(h) & (h >= min_height))
    if not len(rr):
        return None
    hh = h[rr, cc]
    # cell corners through the affine transform (north-up rasters)
    if t.b or t.d:
        raise InputError("canopy height raster must be north-up (no rotation)")
    x0, y0 = t.c + t.a * cc, t.f + t.e * rr
    x1, y1 = x0 + t.a, y0 + t.e
    xa, xb = np.minimum(x0, x1), np.maximum(x0, x1)
    ya, yb = np.minimum(y0, y1), np.maximum(y0, y1)
    xc, yc = (xa + xb) / 2, (ya + yb) / 2
    gz = _ground_under(scene, xc, yc) if scene is not None else np.zeros(len(hh))
    z0, z1 = gz + share * hh, gz + hh
    if origin is None:
        origin = np.array([np.floor(xa.min()), np.floor(ya.min()), 0.0])
    origin = np.asarray(origin, float)
    # 8 corners per box, 12 outward triangles (same winding as a unit cube)
    X = np.stack([xa, xb, xb, xa, xa, xb, xb, xa], 1) - origin[0]
    Y = np.stack([ya, ya, yb, yb, ya, ya, yb, yb], 1) - origin[1]
    Z = np.stack([z0, z0, z0, z0, z1, z1, z1, z1], 1) - origin[2]
    verts = np.stack([X, Y, Z], -1).reshape(-1, 3)
    cube = np.array(
        [
            [0, 2, 1], [0, 3, 2],  # bottom (down)
            [4, 5, 6], [4, 6, 7],  # top (up)
            [0, 1, 5], [0, 5, 4],  # south
            [1, 2, 6], [1, 6, 5],  # east
            [2, 3, 7], [2, 7, 6],  # north
            [3, 0, 4], [3, 4, 7],  # west
        ]
    )  # fmt: skip
    faces = (cube[None, :, :] + 8 * np.arange(len(hh))[:, None, None]).reshape(-1, 3)
    m = CityMesh(
        verts,
        faces,
        origin,
        np.full(len(faces), -1, np.int64),
        np.full(len(faces), KIND_CODES["terrain"], np.int8),
        np.zeros(0, object),
        crs if scene is None else scene.crs,
    )
    return m


def with_trees(scene, terrain: bool = True):
    """The scene mesh with its tree crowns as extra occluders (cached).

    Crowns of the vegetation polygons (:func:`tree_crowns`) and boxes of the
    canopy-height raster ``scene.rasters["cdsm"]`` (:func:`canopy_boxes`), when
    present, are appended after the faces of ``scene.mesh(terrain)``, so face
    indices of the scene mesh stay valid. The result is cached on that mesh
    (dropped with the scene's next change).

    Returns
    -------
    CityMesh
        ``mesh.tree_faces``: number of crown faces appended (0 when
        the scene has no trees: the scene mesh itself is returned).
    """
    base = scene.mesh(terrain=terrain)
    return base.cache.get(
        "occluders.with_trees", base.token, lambda: _append_trees(scene, base)
    )


def _no_trees(scene) -> None:
    """Warn that trees were asked for but the scene has none with a height."""
    import warnings

    warnings.warn(
        f"trees=True but the scene has no tree with a height ({len(scene.vegetation)} "
        f"vegetation polygons, none of kind {sorted(TREE_KINDS)} with a 'height' "
        f"[m], and no canopy-height raster scene.rasters['cdsm']): the trees' "
        f"shade is unknown, the results are for buildings and terrain only; add "
        f"tree heights or scene.add_vegetation(cdsm, raster='cdsm')",
        DataQualityWarning,
        stacklevel=4,
    )


def _append_trees(scene, base):
    parts = [tree_crowns(scene, origin=base.origin)]
    if "cdsm" in getattr(scene, "rasters", {}):
        parts.append(canopy_boxes(scene.rasters["cdsm"], scene, origin=base.origin))
    parts = [p for p in parts if p is not None and p.n_faces]
    if not parts:
        _no_trees(scene)
        base.tree_faces = 0
        return base
    out = CityMesh.concatenate([base, *parts], origin=base.origin)
    out.crs = base.crs
    out.tree_faces = int(sum(p.n_faces for p in parts))
    return out


def trees_on(scene, mesh):
    """An occluder mesh with the scene's tree crowns appended (cached on it).

    Like :func:`with_trees` for any occluder mesh (e.g. a DSM mesh): crowns of
    :func:`tree_crowns` and boxes of :func:`canopy_boxes` are laid around
    ``mesh.origin`` and appended after its faces.

    Returns
    -------
    (CityMesh, int)
        The mesh with crowns (``mesh`` itself without trees) and the number of
        crown faces.
    """
    key = ("occluders.with_trees", id(scene), scene.version)

    def build():
        parts = [tree_crowns(scene, origin=mesh.origin)]
        if "cdsm" in scene.rasters:
            parts.append(canopy_boxes(scene.rasters["cdsm"], scene, origin=mesh.origin))
        parts = [p for p in parts if p is not None and p.n_faces]
        n = int(sum(p.n_faces for p in parts))
        if not n:
            _no_trees(scene)
        out = CityMesh.concatenate([mesh, *parts], origin=mesh.origin) if n else mesh
        out.crs = mesh.crs
        return out, n

    return mesh.cache.get(key, mesh.token, build)


def scene_dsm_mesh(scene) -> CityMesh:
    """:func:`dsm_mesh` of ``scene.dsm`` over ``scene.terrain``, cached on the
    scene (``scene.cache``, rebuilt when the scene's version or its rasters
    change)."""
    token = (scene.version, id(scene.dsm), id(scene.terrain))
    return scene.cache.get(
        "sun.occluders.dsm_mesh", token, lambda: dsm_mesh(scene.dsm, scene.terrain)
    )
