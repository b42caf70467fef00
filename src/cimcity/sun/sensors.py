"""Sensors: the one sensor type of the sun analyses, and how sensors are laid.

A :class:`Sensors` set is points with normals and the area each stands for, on
roofs, walls, open ground or wherever the user put them. Solar irradiance,
sun-hours and both impact studies take their sensors from :func:`resolve`, so
the same ``surfaces``/``spacing`` give the same points in every analysis.

Layouts
-------
* :func:`sample`: points on the faces of a :class:`~cimcity.mesh.CityMesh`
  (roofs, walls, terrain faces), one per cell of a grid laid in the plane of
  each group of coplanar faces (see :func:`sample` for the exact rules).
  :func:`sample_scene` does it on a scene's mesh and drops the wall sensors
  buried in adjoining buildings (party walls).
* :func:`ground_grid`: the open ground as a north-up raster of cell centres
  outside the building footprints, lifted onto the terrain mesh when there is
  one; each sensor keeps its raster ``cell`` so results map back to a grid.

Surfaces
--------
``surfaces`` names ``"roof"``, ``"wall"`` and ``"ground"`` (open ground),
always listed in that order. ``"terrain"`` is the former name of
``"ground"`` in :func:`cimcity.solar.irradiance` (``FutureWarning``). Open
ground comes as the raster of :func:`ground_grid` (``ground="grid"``,
sun-hours) or as the terrain faces sampled like roofs (``ground="mesh"``,
irradiance, whose ground sensors stand for exact terrain areas).

The cell clipping is a numba kernel (:mod:`cimcity._kernels.sample`): no
maintained library rasterises triangles to exact cell coverage.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import pandas as pd
import shapely

from .. import raycast
from .._kernels.sample import cell_points, grid_cells
from ..errors import InputError
from ..mesh import KIND_CODES, KINDS, CityMesh, group_ids
from ..scene.heights import ground_at
from ..scene.summary import shown
from ..scene.variants import check_area_crs
from .sensor_set import Sensors

__all__ = [
    "SURFACES",
    "GROUND_LAYOUTS",
    "SENSOR_OFFSET",
    "GROUND_OFFSET",
    "Sensors",
    "sample",
    "sample_scene",
    "buried",
    "ground_grid",
    "resolve",
    "normalize_surfaces",
    "MAX_SENSORS",
    "check_spacing",
    "check_sensor_count",
]

#: sensor surfaces, in their one order: roofs, walls, open ground
SURFACES = ("roof", "wall", "ground")
#: how open ground is laid: a raster of cell centres, or the terrain faces
GROUND_LAYOUTS = ("grid", "mesh")
#: default offset of sensors off their surface along the normal [m]
SENSOR_OFFSET = 0.05
#: default offset of ground-grid sensors off the ground [m]
GROUND_OFFSET = 0.05
#: most sensors a study lays unless told otherwise: about 1 GB of sensor
#: arrays, and as much again per traced visibility matrix (a 2 m study of a
#: Paris arrondissement lays 1-3 million). Raise it per call with
#: ``max_sensors=`` (:func:`resolve`, :func:`sample`, :func:`ground_grid`) or
#: for every analysis by setting ``cimcity.sun.sensors.MAX_SENSORS``.
MAX_SENSORS = 10_000_000

#: normals closer than this (per component) and planes closer than
#: :data:`_PLANE_TOL` [m] count as one plane when grouping faces into patches
_NORMAL_TOL = 1e-4
_PLANE_TOL = 1e-3
#: patches are also split on tiles of this many spacings, so coplanar faces far
#: apart (flat terrain, aligned roofs) never share one huge sparse grid
_TILE_SPACINGS = 128
#: cells covered less than this fraction hand their area to a neighbour
_MIN_CELL_FRACTION = 0.25
#: mesh face kind of open ground
_TERRAIN = "terrain"


# -- spacing and sensor count ------------------------------------------------------------
def check_spacing(spacing) -> float:
    """``spacing`` as a float [m]; InputError unless a finite number > 0."""
    if (
        isinstance(spacing, bool | np.bool_)
        or not isinstance(spacing, numbers.Real)
        or not math.isfinite(spacing)
        or spacing <= 0
    ):
        raise InputError(
            f"spacing must be a positive number of metres; got {shown(spacing)!r}"
        )
    return float(spacing)


def _nice_up(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is >= ``x`` (> 0)."""
    k = math.floor(math.log10(x))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * 10.0**k >= x * (1 - 1e-12):
            return m * 10.0**k
    return 10.0 ** (k + 1)


def check_sensor_count(area: float, spacing: float, what: str, max_sensors=None):
    """Refuse a spacing that asks for more than ``max_sensors`` sensors, before
    anything is laid (about one sensor per ``spacing²`` of surface).

    Parameters
    ----------
    area : float
        Surface to cover [m²].
    spacing : float
        Distance between sensors [m].
    what : str
        The surfaces, named in the message.
    max_sensors : int, optional
        The limit (default :data:`MAX_SENSORS`).

    Raises
    ------
    InputError
        Giving the spacing, the count it asks for and the smallest spacing
        within the limit.
    """
    limit = MAX_SENSORS if max_sensors is None else max_sensors
    if isinstance(limit, bool) or not isinstance(limit, numbers.Real) or limit < 1:
        raise InputError(f"max_sensors must be a count >= 1; got {shown(limit)!r}")
    n = float(area) / (spacing * spacing)
    if n > limit:
        smallest = _nice_up(math.sqrt(float(area) / limit))
        raise InputError(
            f"spacing={spacing!r} m asks for about {n:,.0f} sensors on "
            f"{float(area):,.0f} m² of {what}, more than max_sensors={int(limit):,}; "
            f"use spacing >= {smallest:g} m, or raise the limit (max_sensors=, or "
            f"cimcity.sun.sensors.MAX_SENSORS for every analysis)"
        )


def _faces_area(mesh, kinds) -> float:
    """Area of the faces of ``kinds`` of a mesh [m²]."""
    return float(mesh.face_areas[mesh.kind_mask(kinds)].sum())


# -- sensors on mesh faces ------------------------------------------------------------


def sample(
    mesh: CityMesh,
    spacing: float = 1.0,
    kinds=("roof", "wall"),
    offset: float = SENSOR_OFFSET,
    drop_buried: bool = True,
    footprints=None,
    tops=None,
    max_sensors=None,
) -> Sensors:
    """Sensor points on the faces of a mesh at about ``spacing`` metres.

    Coplanar faces of one building and surface kind are grouped into planar
    *patches* (normals within 1e-4, planes within 1 mm, split on tiles of 128
    spacings). Each patch gets a grid in its own plane, aligned with the
    horizontal on walls and slopes and with the patch's longest edge on flat
    faces, with ``round(extent / spacing)`` cells each way (cells of 0.67–1.5 ×
    ``spacing``, fitted exactly to rectangles such as wall quads). One sensor
    stands for the exact area of the patch inside its cell (triangles clipped
    by the cell); cells covered less than a quarter hand their area to their
    best-covered neighbour. A fully covered cell's sensor sits at the cell
    centroid, a partly covered one's at the centroid of its largest triangle
    piece, so every point lies on the surface. Sensor areas sum exactly to the
    face areas per patch (not per triangle: a sensor's ``face`` is the
    triangle holding it), and long sliver triangles from footprint
    triangulation do not inflate the sensor count (about one sensor per
    ``spacing²``).

    Parameters
    ----------
    mesh : CityMesh
    spacing : float
        Target distance between sensors [m] (> 0).
    kinds : sequence of str
        Mesh face kinds to sample (:data:`cimcity.mesh.KINDS`).
    offset : float
        Distance the points are moved off the surface along the normal [m].
    drop_buried : bool
        Drop sensors that lie inside another building (party walls between
        adjoining buildings, see :func:`buried`); needs ``footprints`` and
        ``tops``.
    footprints : (k,) shapely geometries, optional
        Footprints aligned with ``mesh.building_ids``.
    tops : (k,) float, optional
        Top altitude of each building [m].
    max_sensors : int, optional
        Most sensors the spacing may ask for (default :data:`MAX_SENSORS`).

    Returns
    -------
    Sensors
        ``kind`` is the mesh face kind name.

    Raises
    ------
    InputError
        A spacing that is not a positive number, or asks for more than
        ``max_sensors`` sensors (:func:`check_sensor_count`).
    """
    spacing = check_spacing(spacing)
    check_sensor_count(_faces_area(mesh, kinds), spacing, "/".join(kinds), max_sensors)
    if not np.isfinite(offset):
        raise InputError(f"offset must be a finite number of metres; got {shown(offset)!r}")
    mask = mesh.kind_mask(kinds) & (mesh.face_areas > 1e-9)
    fidx = np.flatnonzero(mask)
    if len(fidx):
        p, f, a, lat = _grid_sensors(
            mesh.triangles[fidx],
            mesh.faces[fidx],
            mesh.face_normals[fidx],
            mesh.face_areas[fidx],
            mesh.face_building[fidx],
            mesh.face_kind[fidx],
            float(spacing),
            float(offset),
        )
        f = fidx[f]
    else:
        p = np.zeros((0, 3))
        f = np.zeros(0, np.int64)
        a = np.zeros(0)
        lat = np.zeros((0, 3), np.int64)
    p += mesh.origin
    if drop_buried and footprints is not None and len(p):
        keep = ~buried(p, mesh.face_building[f], footprints, tops, mesh.face_kind[f])
        p, f, a, lat = p[keep], f[keep], a[keep], lat[keep]
    n = mesh.face_normals[f]
    kind = np.asarray(KINDS, dtype=object)[mesh.face_kind[f]]
    bid = mesh.face_building_id[f]
    return Sensors(p, n, a, f, bid, kind, lattice=lat)


def sample_scene(
    scene, spacing: float = 1.0, kinds=("roof", "wall"), offset: float = SENSOR_OFFSET,
    max_sensors=None,
) -> Sensors:
    """Sensors on a scene's mesh, without the wall sensors buried in adjoining
    buildings (see :func:`sample`; ``kinds`` are mesh face kinds)."""
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    m = scene.mesh(terrain=_TERRAIN in kinds)
    B = scene.buildings.reindex(m.building_ids)
    return sample(
        m,
        spacing,
        kinds,
        offset,
        drop_buried=True,
        footprints=B.geometry.values,
        tops=B["roof_z"].to_numpy(float),
        max_sensors=max_sensors,
    )


def _grid_sensors(tri, faces, normals, areas, building, kind, spacing, offset=0.0):
    """Sensor points, faces and areas from per-patch grids (see :func:`sample`).

    Returns local points (q, 3) ``offset`` [m] off the faces along their
    normals, face rows (q,) into ``tri``, areas (q,) [m²] that sum exactly
    to ``areas.sum()`` per patch, and the lattice (q, 3) int64: patch, column
    (along u) and row (along v) of each sensor's cell.
    """
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
    patch = group_ids(keys)
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
        ie = group_ids(np.column_stack([ep, np.minimum(a, b), np.maximum(a, b)]))
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
    # cell -> (patch, column, row); columns run boustrophedon (_kernels.sample)
    cp = np.searchsorted(offs, cell, side="right") - 1
    k = cell - offs[cp]
    ci = k // nv[cp]
    r = k % nv[cp]
    cj = np.where(ci % 2 == 0, r, nv[cp] - 1 - r)
    lattice = np.column_stack([cp, ci, cj]).astype(np.int64)
    return pts, order[t[cell]], area[cell], lattice


def buried(points, face_building, footprints, tops, face_kind=None) -> np.ndarray:
    """Points lying inside another building's volume (party walls).

    A point is buried when its (x, y) falls in the footprint of a building
    other than its own and it is lower than that building's top. Roof points
    are tested only on buildings whose footprint overlaps another's interior
    (elsewhere they stand inside their own footprint); without ``face_kind``
    every point is tested. Wall sensors stand in columns sharing one (x, y),
    so footprints are queried once per distinct (x, y) (rounded to 0.1 mm),
    with the highest and second-highest top among the buildings there.

    Parameters
    ----------
    points : (n, 3) float
        World coordinates [m].
    face_building : (n,) int
        Index of each point's own building in ``footprints`` (-1: none).
    footprints : (k,) shapely geometries
    tops : (k,) float
        Top altitude of each building [m].
    face_kind : (n,) int8, optional
        Mesh face kind code of each point.

    Returns
    -------
    (n,) bool
    """
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
        key = q[:, 0] * (int(q[:, 1].max()) + 1) + q[:, 1]
        # a wall's sensors come column by column: group the runs of one key,
        # then the runs' keys (Paris 11e at 1 m: 725,547 runs for 705,737
        # keys among 8.1 M sensors: 1.5 -> 0.3 s in a first call, 0.17 ->
        # 0.08 s warm; the same groups numbered in the same order, the same
        # first member of each)
        head = np.r_[True, key[1:] != key[:-1]]
        run_group, _ = pd.factorize(key[head])
        inv = run_group[np.cumsum(head) - 1]
        _, first_run = np.unique(run_group, return_index=True)
        first = np.flatnonzero(head)[first_run]
    else:  # extents over ~200 km at 0.1 mm: a combined key would overflow int64
        inv = group_ids(q)
        _, first = np.unique(inv, return_index=True)
    nu = int(inv.max()) + 1
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


# -- open ground as a raster -------------------------------------------------------------
def _grid_bounds(scene, bounds):
    """(minx, miny, maxx, maxy) of the ground grid, cut to the terrain."""
    if bounds is None:
        b = np.asarray(scene.bounds, float)
        only_buildings = not len(scene.parcels) and not len(scene.zones)
        if scene.terrain is None and only_buildings and len(scene.buildings):
            pad = float(np.nanmax(scene.buildings["height"]))
            b = b + np.array([-pad, -pad, pad, pad])
    elif isinstance(bounds, shapely.Geometry):
        b = np.asarray(bounds.bounds, float)
    else:
        b = np.asarray(bounds, float)
    if b.shape != (4,) or not np.all(np.isfinite(b)) or b[2] <= b[0] or b[3] <= b[1]:
        raise InputError(
            f"ground bounds must be (minx, miny, maxx, maxy); got {shown(bounds)!r}"
        )
    if bounds is not None:
        check_area_crs(b, scene.crs, "ground bounds")
    if scene.terrain is not None:
        tb = scene.terrain.bounds
        b = np.array(
            [max(b[0], tb[0]), max(b[1], tb[1]), min(b[2], tb[2]), min(b[3], tb[3])]
        )
    return b


def _ground_heights(scene, x, y, engine, others=()):
    """Heights, normals and a keep mask of ground points: the terrain mesh,
    else :func:`cimcity.scene.heights.ground_at` (the known ground of the
    scene and ``others``: buildings' ``ground_z``, project bases)."""
    n = len(x)
    normals = np.tile([0.0, 0.0, 1.0], (n, 1))
    if scene.terrain is None:
        return ground_at(scene, x, y, others)[0], normals, np.ones(n, bool)
    tmesh = scene.mesh().select(kinds=[_TERRAIN])
    top = float(tmesh.bounds[1, 2]) + 10.0
    o = np.column_stack([x, y, np.full(n, top)])
    dist, face = raycast.intersect(
        tmesh, o, np.array([[0.0, 0.0, -1.0]]).repeat(n, 0), engine=engine
    )
    ok = np.isfinite(dist)
    fn = tmesh.face_normals[np.maximum(face, 0)]
    return top - dist, np.where(ok[:, None], fn, normals), ok


def ground_grid(
    scene, spacing: float, bounds=None, offset: float = GROUND_OFFSET, engine="auto",
    others=(), max_sensors=None,
) -> Sensors:
    """Open-ground sensors on a north-up grid outside the building footprints.

    Parameters
    ----------
    scene : Scene
    spacing : float
        Cell size of the grid [m]; cells are aligned on multiples of it.
    bounds : (minx, miny, maxx, maxy) or shapely polygon, optional
        Extent [m] (a polygon also masks the cells outside it); default: the
        scene's bounds, padded by the tallest building's height when the
        scene has only buildings. Always cut to the terrain's extent.
    offset : float
        Height of the sensors above the ground, along its normal [m].
    engine : {"auto", "numba", "embree"}
        Ray engine that drops the points onto the terrain mesh.
    others : sequence of Scene
        Scenes of the same study whose known ground counts too (the "after"
        scene of an impact: its project's base).
    max_sensors : int, optional
        Most cells the grid may have (default :data:`MAX_SENSORS`).

    Returns
    -------
    Sensors
        Kind ``"ground"``, area ``spacing²`` each, ``cell`` (row, col) in
        ``grid`` (``shape`` and affine ``transform``). On terrain, the points
        lie on the terrain mesh with its face normals; cells off the terrain
        mesh are dropped. Without terrain, they stand on the nearest known
        ground (:func:`cimcity.scene.heights.ground_at`: a building's measured
        or derived ``ground_z``, a project's base), one vertical frame with
        the occluders; 0 only when no altitude is known anywhere.
    """
    from affine import Affine

    spacing = check_spacing(spacing)
    b = _grid_bounds(scene, bounds)
    check_sensor_count(
        (b[2] - b[0]) * (b[3] - b[1]), spacing, "open ground", max_sensors
    )
    x0 = np.floor(b[0] / spacing) * spacing
    y1 = np.ceil(b[3] / spacing) * spacing
    cols = max(int(np.ceil((b[2] - x0) / spacing)), 1)
    rows = max(int(np.ceil((y1 - b[1]) / spacing)), 1)
    transform = Affine(spacing, 0, x0, 0, -spacing, y1)
    inside = np.zeros((rows, cols), bool)
    B = scene.buildings
    if len(B) or isinstance(bounds, shapely.Geometry):
        from rasterio.features import rasterize

        if len(B):
            inside = rasterize(
                ((g, 1) for g in B.geometry.values),
                out_shape=(rows, cols),
                transform=transform,
                fill=0,
                dtype="uint8",
            ).astype(bool)
        if isinstance(bounds, shapely.Geometry):
            inside |= ~rasterize(
                [(bounds, 1)],
                out_shape=(rows, cols),
                transform=transform,
                fill=0,
                dtype="uint8",
            ).astype(bool)
    r, c = np.nonzero(~inside)
    x = x0 + (c + 0.5) * spacing
    y = y1 - (r + 0.5) * spacing
    z, normals, ok = _ground_heights(scene, x, y, engine, others)
    x, y, z, normals, r, c = x[ok], y[ok], z[ok], normals[ok], r[ok], c[ok]
    pts = np.column_stack([x, y, z]) + offset * normals
    k = len(pts)
    return Sensors(
        pts,
        normals,
        np.full(k, spacing * spacing),
        np.full(k, -1, np.int64),
        np.full(k, None, dtype=object),
        np.full(k, "ground", dtype=object),
        np.column_stack([r, c]).astype(np.int64),
        {"shape": (rows, cols), "transform": transform},
        scene.crs,
    )


# -- the one sensor-resolution routine ----------------------------------------------------
def normalize_surfaces(surfaces) -> tuple:
    """Surface names in their one order (:data:`SURFACES`).

    ``"terrain"`` is read as ``"ground"`` with a ``FutureWarning``; unknown
    names are an :class:`~cimcity.errors.InputError`.
    """
    if isinstance(surfaces, str):
        surfaces = (surfaces,)
    surfaces = tuple(surfaces)
    if "terrain" in surfaces:
        warnings.warn(
            "surfaces 'terrain' is renamed 'ground' (the open ground); the old name "
            "will be removed in a future release",
            FutureWarning,
            stacklevel=4,
        )
        surfaces = tuple("ground" if s == "terrain" else s for s in surfaces)
    bad = [k for k in surfaces if k not in SURFACES]
    if bad or not surfaces:
        raise InputError(
            f"unknown surface kind {bad[0] if bad else surfaces!r} in surfaces; "
            f"expected some of {SURFACES} ('ground' is the open ground)"
        )
    return tuple(k for k in SURFACES if k in surfaces)


def _user_points(points, normals) -> Sensors:
    p = np.asarray(points, float)
    if p.ndim == 1 and p.shape == (3,):
        p = p[None]
    nrm = np.tile([0.0, 0.0, 1.0], (len(p), 1)) if normals is None else normals
    nrm = np.asarray(nrm, float)
    if nrm.shape == (3,):
        nrm = np.broadcast_to(nrm, p.shape)
    return Sensors.from_points(p, nrm)


def _sampled_mesh(scene, kinds) -> CityMesh:
    """The mesh :func:`_on_faces` samples."""
    if isinstance(scene, CityMesh):
        return scene
    return scene.mesh(terrain=_TERRAIN in kinds)


def _on_faces(scene, spacing, kinds, max_sensors=None) -> Sensors:
    """Sensors on mesh faces of ``kinds`` (mesh kind names), cached on the
    sampled mesh; terrain faces are labelled ``"ground"``."""
    mesh = _sampled_mesh(scene, kinds)
    if isinstance(scene, CityMesh):
        source = "mesh"

        def build():
            return sample(mesh, spacing, kinds, max_sensors=max_sensors)
    else:  # the scene's mesh: buried wall sensors dropped
        source = "scene"

        def build():
            return sample_scene(scene, spacing, kinds, max_sensors=max_sensors)

    def labelled():
        s = build()
        s.kind = np.where(s.kind == _TERRAIN, "ground", s.kind).astype(object)
        s.crs = getattr(scene, "crs", None) or getattr(mesh, "crs", None)
        return s

    key = ("sensors.faces", source, float(spacing), tuple(sorted(kinds)))
    return mesh.cache.get(key, mesh.token, labelled)


def resolve(
    scene,
    *,
    surfaces=SURFACES,
    spacing: float = 1.0,
    points=None,
    normals=None,
    ground_bounds=None,
    ground: str = "grid",
    engine: str = "auto",
    others=(),
    max_sensors=None,
) -> Sensors:
    """The sensors of a sun study: user points, or sensors laid on surfaces.

    Parameters
    ----------
    scene : Scene or CityMesh
        Where sensors are laid (a CityMesh: on its faces, no ground grid).
    surfaces : sequence of {"roof", "wall", "ground"}
        Surfaces to lay sensors on (ignored with ``points``); ``"terrain"`` is
        read as ``"ground"`` with a ``FutureWarning``.
    spacing : float
        Distance between sensors [m], on every surface and for the ground grid.
    points : (n, 3) or (3,) float, optional
        Sensor positions [m, scene CRS] instead of laid sensors; offset them
        off their surface so rays do not start inside it.
    normals : (n, 3) or (3,) float, optional
        Normals of ``points`` (default: up).
    ground_bounds : (minx, miny, maxx, maxy) or polygon, optional
        Extent of the ground grid [m] (see :func:`ground_grid`).
    ground : {"grid", "mesh"}
        Layout of ``"ground"`` sensors: the raster of :func:`ground_grid`, or
        the terrain faces sampled like roofs (nothing without terrain).
    engine : {"auto", "numba", "embree"}
        Ray engine that lays the ground grid on the terrain.
    others : sequence of Scene
        Scenes whose known ground also places the ground grid (see
        :func:`ground_grid`).
    max_sensors : int, optional
        Most sensors the spacing may ask for, on all surfaces together
        (default :data:`MAX_SENSORS`); checked before any is laid.

    Returns
    -------
    Sensors
        Ground-grid sensors first, then sensors on faces (in mesh order).
        Sensors on faces are cached on the sampled mesh: the same arrays come
        back until the scene changes.

    Raises
    ------
    InputError
        Unknown surfaces or layout, bad spacing, points or normals, a spacing
        asking for more than ``max_sensors`` sensors.
    CRSError
        ``ground_bounds`` in longitude/latitude on a projected scene.
    """
    if points is not None:
        s = _user_points(points, normals)
        s.crs = getattr(scene, "crs", None)
        return s
    if normals is not None:
        raise InputError("normals were given without points")
    surfaces = normalize_surfaces(surfaces)
    if ground not in GROUND_LAYOUTS:
        raise InputError(
            f"unknown ground layout {ground!r}; expected one of {GROUND_LAYOUTS}"
        )
    spacing = check_spacing(spacing)
    on_mesh = isinstance(scene, CityMesh)
    grid = "ground" in surfaces and ground == "grid" and not on_mesh
    kinds = tuple(k for k in ("roof", "wall") if k in surfaces)
    if "ground" in surfaces and not grid:
        kinds += (_TERRAIN,)
    faces = kinds and (on_mesh or len(scene.buildings) or _TERRAIN in kinds)
    # the count of every part together, before any is laid
    area = _faces_area(_sampled_mesh(scene, kinds), kinds) if faces else 0.0
    if grid:
        b = _grid_bounds(scene, ground_bounds)
        area += (b[2] - b[0]) * (b[3] - b[1])
    check_sensor_count(area, spacing, "/".join(surfaces), max_sensors)
    parts = []
    if grid:
        parts.append(
            ground_grid(scene, spacing, ground_bounds, engine=engine, others=others,
                        max_sensors=max_sensors)
        )
    if faces:
        parts.append(_on_faces(scene, spacing, kinds, max_sensors))
    if len(parts) == 1:
        return parts[0]
    return Sensors.concat(parts)

