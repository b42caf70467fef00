"""2.5D occluders: a DSM raster (+ DEM) as a triangle mesh.

For users who only have LiDAR or UMEP-style rasters: :func:`dsm_mesh` turns a
digital surface model into a :class:`~cimcity.mesh.CityMesh` that the ray
engines (and therefore :func:`cimcity.solar.irradiance`) can use, either as the
only occluders or to sample sensors on.

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

from .errors import CRSError, InputError
from .mesh import KIND_CODES, CityMesh

__all__ = ["dsm_mesh", "MIN_BUILDING_HEIGHT", "STEP_TOL"]

#: cells this far above the DEM are buildings (roof/wall kinds) [m]
MIN_BUILDING_HEIGHT = 2.0
#: height steps smaller than this between neighbour cells get no wall [m]
STEP_TOL = 1e-3


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
    from scipy import ndimage

    from .terrain import Terrain

    if not isinstance(dsm, Terrain):
        raise InputError(
            f"dsm must be a cimcity Terrain (cc.read_dsm(path)); got {type(dsm).__name__}"
        )
    if not isinstance(step, int | np.integer) or step < 1:
        raise InputError(f"step must be a positive integer; got {step!r}")
    if not np.isfinite(min_height) or min_height <= 0:
        raise InputError(
            f"min_height must be a positive height [m]; got {min_height!r}"
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

    # classification
    roof = np.zeros(z.shape, bool)
    if dem is not None:
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
            roof = np.isfinite(g) & np.isfinite(z) & (z - g >= min_height)
    labels, nb = ndimage.label(roof)
    cell_building = labels - 1  # -1: terrain

    tris, fb, fk = [], [], []
    # tops
    rr, cc = np.nonzero(np.isfinite(z))
    x0, x1 = xe[cc], xe[cc + 1]
    y0, y1 = ye[rr + 1], ye[rr]  # y decreases with row
    h = zl[rr, cc]
    a = np.stack([x0, y0, h], 1)
    b = np.stack([x1, y0, h], 1)
    c = np.stack([x1, y1, h], 1)
    d = np.stack([x0, y1, h], 1)
    tris += [np.stack([a, b, c], 1), np.stack([a, c, d], 1)]
    bid = cell_building[rr, cc]
    kind = np.where(roof[rr, cc], KIND_CODES["roof"], KIND_CODES["terrain"]).astype(
        np.int8
    )
    fb += [bid, bid]
    fk += [kind, kind]

    # walls between horizontal neighbours (shared edge x = xe[c + 1])
    def walls(za, zb, ba, bb, ra, rb, pa, pb):
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

    out_walls = []
    # east-west neighbours: cells (r, c) and (r, c + 1)
    if cols > 1:
        r, c = np.nonzero(np.ones((rows, cols - 1), bool))
        pa = np.column_stack([xe[c + 1], ye[r + 1]])
        pb = np.column_stack([xe[c + 1], ye[r]])
        out_walls.append(
            (
                walls(
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
                walls(
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
        for tt in (t1, t2):
            nrm = np.cross(tt[:, 1] - tt[:, 0], tt[:, 2] - tt[:, 0])
            flip = np.einsum("ij,ij->i", nrm, want) < 0
            tt[flip] = tt[flip][:, ::-1]
            tris.append(tt)
            fb.append(owner)
            fk.append(
                np.where(is_roof, KIND_CODES["wall"], KIND_CODES["terrain"]).astype(
                    np.int8
                )
            )

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
