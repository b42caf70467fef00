"""The ground of a 3D view, so buildings never float: the terrain when the scene
has one, else a surface through the buildings' ground altitudes; roads, water
and parcels draped on it, vegetation on top.

Without a DEM the ground is the linear interpolation (scipy Delaunay) of the
footprint corners at their building's ``ground_z``, extended to the view's edge
with the nearest value: each building stands on ground at its own altitude, and
a street between two buildings slopes from one to the other. With equal
``ground_z`` everywhere it is a flat plane.
"""

from __future__ import annotations

import numpy as np
import shapely

from ..mesh import KIND_CODES, extrude_buildings
from ..sun.occluders import TREE_KINDS, _ground_under, crown_levels
from .core import PALETTE, _pv

#: the ground reaches this share of the scene's size beyond the scene
GROUND_MARGIN = 0.15
#: draped layers float this far above the ground [m] (no z-fighting)
DRAPE_OFFSET = {"parcel": 0.25, "road": 0.10, "water": 0.15}
#: draped polygons are cut to this spacing so they follow the terrain [m]
DRAPE_STEP = 4.0
#: half width of a road drawn from a line without a width column [m]
ROAD_HALF_WIDTH = 4.0


def _building_corners(scene):
    """Footprint corners [m] and their building's ground altitude."""
    B = scene.buildings
    if not len(B) or "ground_z" not in B.columns:
        return np.zeros((0, 2)), np.zeros(0)
    z = B["ground_z"].to_numpy(float)
    ok = np.isfinite(z)
    xy, idx = shapely.get_coordinates(
        shapely.boundary(B.geometry.values[ok]), return_index=True
    )
    return xy, z[ok][idx]


def ground_function(scene):
    """Ground altitude under any plan point of the scene.

    Parameters
    ----------
    scene : Scene

    Returns
    -------
    callable
        ``z(x, y)`` [m] for arrays of plan coordinates [m, scene CRS]: the DEM
        where the scene has one and it covers the point, else the surface
        through the buildings' ground altitudes (see the module), else 0.
    """
    from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator

    xy, z = _building_corners(scene)
    if len(xy) >= 3 and np.ptp(z) > 1e-6:
        # at a corner shared by two buildings keep the lower ground
        key, inv = np.unique(np.round(xy, 2), axis=0, return_inverse=True)
        zmin = np.full(len(key), np.inf)
        np.minimum.at(zmin, inv.ravel(), z)
        try:
            lin = LinearNDInterpolator(key, zmin)
        except Exception:  # collinear corners: nearest value only
            lin = None
        near = NearestNDInterpolator(key, zmin)

        def tin(x, y):
            x, y = np.asarray(x, float), np.asarray(y, float)
            out = lin(x, y) if lin is not None else np.full(np.shape(x), np.nan)
            miss = ~np.isfinite(out)
            if miss.any():
                out[miss] = near(x[miss], y[miss])
            return out
    else:
        level = float(np.median(z)) if len(z) else 0.0

        def tin(x, y):
            return np.full(np.shape(np.asarray(x, float)), level)

    terrain = scene.terrain
    if terrain is None:
        return tin

    def ground(x, y):
        out = np.asarray(terrain.sample(x, y), float)
        miss = ~np.isfinite(out)
        if miss.any():
            out[miss] = tin(np.asarray(x, float)[miss], np.asarray(y, float)[miss])
        return out

    return ground


def ground_bounds(scene, margin: float = GROUND_MARGIN):
    """Plan box (xmin, ymin, xmax, ymax) [m] of the ground: the scene's extent
    grown by ``margin`` of its size."""
    b = np.asarray(scene.bounds, float)
    pad = margin * max(b[2] - b[0], b[3] - b[1], 10.0)
    return b + np.array([-pad, -pad, pad, pad])


def _triangulate(polygons, step):
    """Triangles (t, 3, 2) [m] of polygons cut to ``step`` metres."""
    g = shapely.segmentize(np.asarray(polygons, dtype=object), step)
    tris = shapely.get_parts(shapely.constrained_delaunay_triangles(g))
    tris = tris[~shapely.is_empty(tris)]
    if not len(tris):
        return np.zeros((0, 3, 2))
    xy = shapely.get_coordinates(shapely.get_exterior_ring(tris))
    return xy.reshape(-1, 4, 2)[:, :3]


def _draped(pv, polygons, zfun, offset, origin, step=DRAPE_STEP):
    """A PolyData of polygons draped ``offset`` metres above the ground."""
    tri = _triangulate(polygons, step)
    if not len(tri):
        return None
    xy = tri.reshape(-1, 2)
    z = zfun(xy[:, 0], xy[:, 1]) + offset
    pts = np.column_stack([xy, z]) - np.asarray(origin, float)
    cells = np.hstack([np.full((len(tri), 1), 3), np.arange(len(xy)).reshape(-1, 3)])
    return pv.PolyData(pts, cells.ravel())


def _draped_lines(pv, lines, zfun, offset, origin, step=2.0):
    """A PolyData of lines draped ``offset`` metres above the ground."""
    g = shapely.segmentize(np.asarray(lines, dtype=object), step)
    parts = shapely.get_parts(g)
    parts = parts[shapely.get_type_id(parts) == 1]
    if not len(parts):
        return None
    xy, idx = shapely.get_coordinates(parts, return_index=True)
    z = zfun(xy[:, 0], xy[:, 1]) + offset
    pts = np.column_stack([xy, z]) - np.asarray(origin, float)
    counts = np.bincount(idx, minlength=len(parts))
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    cells = np.concatenate(
        [np.r_[c, np.arange(s, s + c)] for s, c in zip(starts, counts) if c > 1]
    )
    return pv.PolyData(pts, lines=cells)


def _road_polygons(roads):
    """Road surfaces: polygons as given, lines buffered by their half width."""
    g = roads.geometry.values
    kind = shapely.get_type_id(g)
    half = np.full(len(g), ROAD_HALF_WIDTH)
    for col in ("largeur", "width"):
        if col in roads.columns:
            w = roads[col].to_numpy(float) / 2
            half = np.where(np.isfinite(w) & (w > 0), w, half)
    lines = np.isin(kind, (1, 2, 5))
    out = g.copy()
    out[lines] = shapely.buffer(g[lines], half[lines], cap_style="flat")
    return out[np.isin(shapely.get_type_id(out), (3, 6))]


def add_ground(plotter, scene, mesh, *, parcels=True, lang=None):
    """Draw the ground and the layers draped on it.

    The terrain surface of ``mesh`` (kind ``terrain``) is the ground when the
    scene has a DEM; otherwise a surface through the buildings' ground
    altitudes (:func:`ground_function`) covering :func:`ground_bounds`. Roads
    (``scene.layers["roads"]``), water (``scene.layers["water"]``) and the
    parcel outlines are draped on it.

    Parameters
    ----------
    plotter : pyvista.Plotter
    scene : Scene
    mesh : CityMesh
        The drawn mesh (its ``origin`` places the ground).
    parcels : bool
        Draw the parcel outlines.

    Returns
    -------
    callable
        The ground function ``z(x, y)`` [m] used.
    """
    pv = _pv()
    zfun = ground_function(scene)
    origin = mesh.origin
    has_terrain = scene.terrain is not None and len(mesh.face_kind) and (
        mesh.face_kind == KIND_CODES["terrain"]
    ).any()
    if not has_terrain:
        x0, y0, x1, y1 = ground_bounds(scene)
        n = 48
        gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
        grid = pv.StructuredGrid(
            gx - origin[0], gy - origin[1], zfun(gx, gy) - origin[2] - 0.02
        )
        plotter.add_mesh(
            grid, color=PALETTE["ground"], lighting=True, ambient=0.35, diffuse=0.6
        )
    roads = scene.layers.get("roads")
    if roads is not None and len(roads):
        poly = _draped(pv, _road_polygons(roads), zfun, DRAPE_OFFSET["road"], origin)
        if poly is not None:
            plotter.add_mesh(poly, color=PALETTE["road"], lighting=False)
    water = scene.layers.get("water")
    if water is not None and len(water):
        g = water.geometry.values
        g = g[np.isin(shapely.get_type_id(g), (3, 6))]
        poly = _draped(pv, g, zfun, DRAPE_OFFSET["water"], origin)
        if poly is not None:
            plotter.add_mesh(poly, color=PALETTE["water"], lighting=False)
    if parcels and len(scene.parcels):
        lines = _draped_lines(
            pv, shapely.boundary(scene.parcels.geometry.values), zfun,
            DRAPE_OFFSET["parcel"], origin,
        )
        if lines is not None:
            plotter.add_mesh(lines, color=PALETTE["parcel"], line_width=1.0,
                             lighting=False)
    return zfun


def vegetation_mesh(scene, origin):
    """Vegetation as simple solids: tree crowns as prisms (the crown model of
    :func:`cimcity.sun.occluders.tree_crowns`, which is what shades with
    ``trees=True``), lawns as thin slabs."""

    V = scene.vegetation
    if not len(V):
        return None, None
    geoms = V.geometry.values
    kind = V["kind"].astype(str).to_numpy()
    h = V["height"].to_numpy(float) if "height" in V.columns else np.full(len(V), 0.2)
    if scene.terrain is not None:
        # highest ground along the outline, so slabs are not buried on slopes
        xy, idx = shapely.get_coordinates(
            shapely.segmentize(shapely.boundary(geoms), 2.0), return_index=True
        )
        z = scene.terrain.sample(xy[:, 0], xy[:, 1])
        gz = np.full(len(V), -np.inf)
        np.maximum.at(gz, idx, np.where(np.isfinite(z), z, -np.inf))
        gz = np.where(np.isfinite(gz), gz, np.nanmedian(scene.terrain.elevation))
    else:
        c = shapely.centroid(geoms)
        gz = _ground_under(scene, shapely.get_x(c), shapely.get_y(c))
    keep = kind != "green_roof"  # green roofs are drawn on the roofs themselves
    tree = np.isin(kind, TREE_KINDS)
    # trees without a height (not occluders) are drawn 3 m tall
    cb, ct = crown_levels(np.where(np.isfinite(h) & (h > 0), h, 3.0))
    base = np.where(tree, gz + cb, gz + 0.05)
    top = np.where(tree, gz + ct, gz + 0.25)
    m = extrude_buildings(geoms[keep], base[keep], top[keep], origin=origin)
    return m, np.where(tree, "tree", kind)[keep]
