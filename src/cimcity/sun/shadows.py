"""Ground shadow polygons of buildings, and their animation through a day.

* :func:`polygons` — the ground shadow of every building at given instants,
  exact for non-convex footprints, courtyards and multipolygons (Minkowski sum
  of the footprint with the shadow segment; mansard roofs and BIM projects from
  their triangles); on flat ground, or projected onto the terrain.
* :func:`animate` — GIF / MP4 of the shadows through a day.

Why hand-written: shapely/GEOS has no Minkowski sum, and the peer tool
(pybdshadow) builds each shadow as a union of per-wall quads in Python, which is
slower and not exact for courtyards. The sweep of a footprint along the shadow
vector is done in closed form by a numba kernel (:mod:`cimcity._kernels.shadow`)
where the footprint allows it, and by a GEOS union otherwise.

Conventions: times, sun positions and the grid frame come from
:mod:`cimcity.sun.position` (naive times are Europe/Paris; azimuth clockwise
from true north, apparent elevation, turned into the CRS grid by the meridian
convergence at the scene centre). The refracted (apparent) elevation sets
shadow lengths. Heights are metres; the projection's scale factor
(|k - 1| < 1e-4 near Paris) is ignored.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import i18n, maps
from .._compat import import_optional, renamed_arguments
from .._kernels.shadow import CYCLE, FALLBACK, sweep_parts
from ..errors import InputError
from ..mesh import KIND_CODES, ROOF_TOL
from ..scene.heights import check_vertical_frame
from .position import DEFAULT_TZ, as_period, as_step, as_times, sun_table

__all__ = ["GROUND_MODES", "polygons", "animate"]

#: ground models of :func:`polygons`
GROUND_MODES = ("flat", "terrain")
#: unions of more pieces than this are done one group at a time
_UNION_PAD_MAX = 64
#: colours of the animation frames
SHADOW_COLOR, PROJECT_COLOR = "#1f3a5f", "#f28c28"
i18n.add_terms(
    {
        "shadows_of": ("Shadows on {date}", "Ombres du {date}"),
        "sun_position": (
            "sun: azimuth {azimuth:.0f}°, elevation {elevation:.0f}°",
            "soleil : azimut {azimuth:.0f}°, hauteur {elevation:.0f}°",
        ),
        "sun_word": ("sun", "soleil"),
    }
)
#: cache key of the per-scene footprint arrays (:func:`_geometry`)
_GEOMETRY_KEY = "sun.shadows.geometry"


# -- Minkowski sums of footprints ----------------------------------------------------------
def _parts(geoms):
    """Polygon parts of (multi)polygons, any orientation: (parts, owner index)."""
    parts, owner = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    ok = shapely.get_type_id(parts) == 3
    return parts[ok], owner[ok]


def _sweep_fast(parts, disp):
    """Minkowski sums part ⊕ [0, disp] by the numba kernel (see
    :mod:`cimcity._kernels.shadow`).

    Returns (sums, fallback mask): ``sums[i]`` is None where the kernel left the
    part to the GEOS union (non-convex courtyard).
    """
    n = len(parts)
    out = np.full(n, None, dtype=object)
    if n == 0:
        return out, np.zeros(0, bool)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, coord_ring = shapely.get_coordinates(rings, return_index=True)
    counts = np.bincount(coord_ring, minlength=len(rings))
    ring_off = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    part_counts = np.bincount(ring_part, minlength=n)
    part_off = np.concatenate([[0], np.cumsum(part_counts)]).astype(np.int64)
    out_xy = np.empty((2 * len(xy) + 4 * len(rings) + 8, 2))
    out_off = np.zeros(len(rings) + 1, np.int64)
    hole_flag = np.zeros(len(rings), np.int8)
    status = sweep_parts(
        np.ascontiguousarray(xy),
        ring_off,
        part_off,
        np.ascontiguousarray(disp, dtype=np.float64),
        out_xy,
        out_off,
        hole_flag,
    )
    made = status != FALLBACK
    # rebuild polygons from the ragged output, dropping vanished holes
    lengths = np.diff(out_off)
    keep_ring = (lengths > 0) & made[ring_part]
    kr = np.flatnonzero(keep_ring)
    if len(kr):
        lens = lengths[kr]
        starts = out_off[:-1][kr]
        sel = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
        coords = out_xy[sel + np.arange(lens.sum())]
        geom_offsets = np.concatenate([[0], np.cumsum(lens)])
        polys_per_part = np.bincount(ring_part[kr], minlength=n)[made]
        poly_offsets = np.concatenate([[0], np.cumsum(polys_per_part)])
        out[made] = shapely.from_ragged_array(
            shapely.GeometryType.POLYGON, coords, (geom_offsets, poly_offsets)
        )
    cyc = np.flatnonzero(status == CYCLE)
    if len(cyc):
        # positive-winding region of the cycle (GEOS buffer depth > 0), minus
        # the courtyards that survive the sweep
        g = out[cyc]
        ext = _threaded(
            lambda r: shapely.buffer(shapely.polygons(r), 0),
            shapely.get_exterior_ring(g),
        )
        holes = shapely.get_num_interior_rings(g) > 0
        if holes.any():
            inner = _holes_as_polygons(g[holes])
            ext[holes] = shapely.difference(ext[holes], inner)
        out[cyc] = ext
    flagged = np.flatnonzero(hole_flag.astype(bool) & made[ring_part])
    if len(flagged):
        # monotone non-convex courtyards: the hole H ∩ (H + d) survives
        hole = shapely.polygons(rings[flagged])
        owner = ring_part[flagged]
        kept = shapely.intersection(
            hole,
            shapely.transform(
                hole,
                lambda c: (
                    c
                    + np.repeat(disp[owner], shapely.get_num_coordinates(hole), axis=0)
                ),
            ),
        )
        pieces, pidx = shapely.get_parts(kept, return_index=True)
        pieces = pieces[shapely.get_type_id(pieces) == 3]
        pidx = pidx[shapely.get_type_id(shapely.get_parts(kept)) == 3]
        if len(pieces):
            grp = owner[pidx]
            order = np.argsort(grp, kind="stable")
            uniq, first = np.unique(grp[order], return_index=True)
            holes_mp = shapely.multipolygons(
                pieces[order], indices=np.searchsorted(uniq, grp[order])
            )
            out[uniq] = shapely.difference(out[uniq], holes_mp)
    return out, status == FALLBACK


def _holes_as_polygons(geoms):
    """MultiPolygon of the interior rings of each polygon."""
    rings, idx = shapely.get_rings(geoms, return_index=True)
    first = np.r_[True, idx[1:] != idx[:-1]]
    inner, inner_idx = rings[~first], idx[~first]
    polys = shapely.orient_polygons(shapely.polygons(inner))
    return shapely.multipolygons(polys, indices=inner_idx)


def _edge_quads(parts, disp):
    """Quads swept by the edges facing away from the sun, as (quads, part index)."""
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, cidx = shapely.get_coordinates(rings, return_index=True)
    same = cidx[1:] == cidx[:-1]
    a = xy[:-1][same]
    b = xy[1:][same]
    owner = ring_part[cidx[:-1][same]]
    d = disp[owner]
    e = b - a
    # exterior CCW and holes CW: the solid lies left of every edge; outward = right
    facing = e[:, 1] * d[:, 0] - e[:, 0] * d[:, 1] > 0
    a, b, d, owner = a[facing], b[facing], d[facing], owner[facing]
    quad = np.stack([a, a + d, b + d, b, a], axis=1)
    return shapely.polygons(quad), owner


def _sweep_geos(parts, disp):
    """Minkowski sums by GEOS union of the part, its translate and edge quads."""
    if len(parts) == 0:
        return np.zeros(0, object)
    parts = shapely.orient_polygons(parts)  # exterior CCW, holes CW
    moved = shapely.transform(
        parts,
        lambda c: c + np.repeat(disp, shapely.get_num_coordinates(parts), axis=0),
    )
    quads, qowner = _edge_quads(parts, disp)
    pieces = np.concatenate([parts, moved, quads])
    owner = np.concatenate([np.arange(len(parts)), np.arange(len(parts)), qowner])
    return _union_groups(pieces, owner, len(parts))


#: GEOS work is split over threads (shapely releases the GIL) above this size
_THREAD_MIN = 256


def _threaded(fn, rows):
    """``fn`` applied to chunks of ``rows`` on one thread per core (shapely's
    vectorised functions release the GIL); results concatenated."""
    k = min(os.cpu_count() or 1, max(1, len(rows) // _THREAD_MIN))
    if k <= 1:
        return fn(rows)
    chunks = np.array_split(np.arange(len(rows)), k)
    with ThreadPoolExecutor(k) as pool:
        parts = list(pool.map(lambda ix: fn(rows[ix]), chunks))
    return np.concatenate(parts)


def _union_groups(pieces, owner, n):
    """Union of the pieces of each group ``0..n-1`` (empty polygon for none)."""
    out = np.full(n, None, dtype=object)
    if len(pieces) == 0:
        out[:] = shapely.Polygon()
        return out
    order = np.argsort(owner, kind="stable")
    pieces, owner = pieces[order], owner[order]
    counts = np.bincount(owner, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    single = counts == 1
    out[single] = pieces[starts[single]]
    small = (counts > 1) & (counts <= _UNION_PAD_MAX)
    if small.any():
        grp = np.flatnonzero(small)
        width = int(counts[grp].max())
        table = np.full((len(grp), width), None, dtype=object)
        row = np.repeat(np.arange(len(grp)), counts[grp])
        col = np.arange(row.size) - np.repeat(
            np.concatenate([[0], np.cumsum(counts[grp])[:-1]]), counts[grp]
        )
        src = np.repeat(starts[grp], counts[grp]) + col
        table[row, col] = pieces[src]
        out[grp] = _threaded(lambda t: shapely.union_all(t, axis=1), table)
    for g in np.flatnonzero(counts > _UNION_PAD_MAX):
        out[g] = shapely.union_all(pieces[starts[g] : starts[g] + counts[g]])
    out[counts == 0] = shapely.Polygon()
    return out


# -- projection onto the ground -----------------------------------------------------------
def _march_terrain(xyz, direction, tan_e, terrain, fallback_z):
    """Horizontal distance [m] along ``direction`` at which the ray from each
    point going down at slope ``tan_e`` meets the terrain (flat at
    ``fallback_z`` off the DEM). Ray marching at the DEM resolution, then
    bisection to 1 mm."""
    x0, y0, z0 = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    n = len(xyz)
    res = min(terrain.resolution)
    zt = terrain.elevation[np.isfinite(terrain.elevation)]
    zmin = min(float(zt.min()) if zt.size else np.inf, float(np.min(fallback_z)))
    tmax = np.maximum((z0 - zmin) / tan_e, 0.0)
    hit = np.full(n, np.nan)
    lo = np.zeros(n)
    active = np.arange(n)

    def gap(idx, t):  # ray height above ground (> 0: still above)
        x = x0[idx] + t * direction[0]
        y = y0[idx] + t * direction[1]
        g = terrain.sample(x, y)
        g = np.where(np.isfinite(g), g, fallback_z[idx])
        return z0[idx] - t * tan_e - g

    t = 0.0
    while len(active):
        t += res
        tt = np.minimum(t, tmax[active])
        below = gap(active, tt) <= 0
        done = below | (tt >= tmax[active])
        hit[active[done]] = tt[done]
        lo[active[~done]] = tt[~done]
        active = active[~done]
    # bisection between the last point above and the first below
    a = np.minimum(lo, hit)
    b = hit.copy()
    idx = np.arange(n)
    for _ in range(int(np.ceil(np.log2(max(res, 1e-3) / 1e-3))) + 1):
        m = 0.5 * (a + b)
        below = gap(idx, m) <= 0
        b = np.where(below, m, b)
        a = np.where(below, a, m)
    return b


def _project(xyz, ground_z, direction, tan_e, terrain=None):
    """Plan position [m] where the anti-solar ray from each point meets the
    ground: a plane at ``ground_z`` (per point), or the terrain."""
    if terrain is None:
        t = np.maximum(xyz[:, 2] - ground_z, 0.0) / tan_e
    else:
        t = _march_terrain(xyz, direction, tan_e, terrain, ground_z)
    return xyz[:, :2] + t[:, None] * direction[None, :]


def _triangles_shadow(tris, owner, ground_z, direction, tan_e, n, terrain=None):
    """Union per owner of the ground projections of triangles (t, 3, 3)."""
    if len(tris) == 0:
        return np.full(n, shapely.Polygon(), dtype=object)
    flat = tris.reshape(-1, 3)
    g = np.repeat(ground_z[owner], 3)
    p = _project(flat, g, direction, tan_e, terrain).reshape(-1, 3, 2)
    area2 = (p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1]) - (
        p[:, 2, 0] - p[:, 0, 0]
    ) * (p[:, 1, 1] - p[:, 0, 1])
    ok = np.abs(area2) > 1e-10
    p, owner = p[ok], owner[ok]
    ring = np.concatenate([p, p[:, :1]], axis=1)
    tri = shapely.polygons(ring)
    tri = shapely.orient_polygons(tri)
    return _union_groups(tri, owner, n)


# -- per-scene arrays ----------------------------------------------------------------------
class _Geometry:
    """Per-scene arrays reused across instants by :func:`polygons`."""

    def __init__(self, scene):
        B = scene.buildings
        self.ids = B.index.to_numpy()
        self.n = len(B)
        self.ground = B["ground_z"].to_numpy(float) if self.n else np.zeros(0)
        self.roof = B["roof_z"].to_numpy(float) if self.n else np.zeros(0)
        eave = (
            B["eave_z"].to_numpy(float)
            if self.n and "eave_z" in B.columns
            else np.full(self.n, np.nan)
        )
        self.pitched = (
            np.isfinite(eave) & (eave < self.roof - ROOF_TOL) & (eave > self.ground)
        )
        self.wall_top = np.where(self.pitched, eave, self.roof)
        source = B["source"].astype(str).to_numpy() if "source" in B.columns else None
        self.bim = np.zeros(self.n, bool)
        if self.n and scene.projects and source is not None:
            self.bim = np.isin(self.ids, list(scene.projects)) & (source == "bim")
        self.footprints = B.geometry.values if self.n else np.zeros(0, object)
        self.parts, self.owner = _parts(self.footprints)
        self.scene = scene
        self._tris = None

    def mesh_triangles(self):
        """Triangles (world coordinates) of pitched roofs and of BIM projects."""
        if self._tris is None:
            need = self.pitched | self.bim
            if not need.any():
                self._tris = (np.zeros((0, 3, 3)), np.zeros(0, np.int64))
                return self._tris
            mesh = self.scene.mesh(terrain=False)
            pos = {bid: i for i, bid in enumerate(self.ids)}
            mesh_to_b = np.array([pos.get(b, -1) for b in mesh.building_ids], np.int64)
            fb = np.where(mesh.face_building >= 0, mesh_to_b[mesh.face_building], -1)
            ok = fb >= 0
            ok &= np.where(ok, need[np.maximum(fb, 0)], False)
            # pitched buildings: roof faces (walls are swept from the footprint)
            is_roof = mesh.face_kind == KIND_CODES["roof"]
            ok &= np.where(ok & self.pitched[np.maximum(fb, 0)], is_roof, True)
            tri = mesh.triangles[ok] + mesh.origin
            self._tris = (tri, fb[ok])
        return self._tris


def _geometry(scene) -> _Geometry:
    """Footprint arrays of a scene, cached on the scene until it changes."""
    return scene.cache.get(_GEOMETRY_KEY, scene.version, lambda: _Geometry(scene))


# -- shadow polygons -----------------------------------------------------------------------
@renamed_arguments(times="when")
def polygons(
    scene,
    when,
    *,
    ground: str = "flat",
    include_footprint: bool = True,
    tz: str = DEFAULT_TZ,
) -> gpd.GeoDataFrame:
    """Ground shadow polygons of all buildings at one or several instants.

    The shadow of a flat-roofed building is its footprint swept along the
    horizontal shadow vector ``d = (roof_z - ground_z) / tan(α) · û`` (``û``
    pointing away from the sun, α the apparent sun elevation): the Minkowski
    sum ``P ⊕ [0, d]``, exact for non-convex footprints, courtyards and
    multipolygons. It is built in closed form by a numba kernel for footprints
    monotone across ``d`` with convex courtyards (rectangles, most L/T/U
    shapes), and as the GEOS union of the footprint, its translate and the
    quads swept by its edges otherwise. Mansard roofs (``eave_z`` below
    ``roof_z``): walls swept to the eaves, united with the projection of the
    roof triangles of :meth:`Scene.mesh`. BIM projects: projection of their
    triangles.

    Parameters
    ----------
    scene : Scene
    when : time, sequence of times or DatetimeIndex
        Instants (naive times are local to ``tz``; see
        :mod:`cimcity.sun.position`).
    ground : {"flat", "terrain"}
        ``"flat"``: each building's shadow falls on the horizontal plane at its
        ``ground_z``. ``"terrain"``: roof corners are projected onto the DEM
        (ray marching at the DEM resolution, bisection to 1 mm); edges between
        projected corners are straight. Needs ``scene.terrain``.
    include_footprint : bool
        Keep the building's own footprint in its shadow (default, as a
        shadow-volume trace); False removes it.
    tz : str
        Timezone of naive times.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per building and instant with the sun above the horizon
        (instants with the sun down give no rows): ``building_id``, ``time``,
        ``azimuth``, ``elevation`` [deg, true azimuth, apparent elevation],
        ``length`` (horizontal length of the roof-top shadow,
        ``(roof_z - ground_z) / tan α``) [m], ``geometry`` (Polygon or
        MultiPolygon, scene CRS).

    Raises
    ------
    InputError
        Unknown ``ground`` mode, unreadable times, or ``ground="terrain"``
        without terrain.
    GeoreferenceError
        ``ground="terrain"`` with buildings (or a project) whose ground
        altitudes are in another vertical frame than the DEM.

    Examples
    --------
    >>> gdf = cc.shadow.polygons(scene, "2024-12-21 12:00")  # doctest: +SKIP
    """
    if ground not in GROUND_MODES:
        raise InputError(
            f"unknown ground mode {ground!r}; expected one of {GROUND_MODES}"
        )
    terrain = None
    if ground == "terrain":
        if scene.terrain is None:
            raise InputError(
                "ground='terrain' needs a terrain: add one with scene.add_terrain(dem) "
                "or use ground='flat'"
            )
        terrain = scene.terrain
        # buildings' ground and the DEM must share one frame for the march
        check_vertical_frame(scene, refuse=True, what="shadow.polygons")
    times = as_times(when, tz)
    columns = ["building_id", "time", "azimuth", "elevation", "length", "geometry"]
    geo = _geometry(scene)
    if geo.n == 0:
        return gpd.GeoDataFrame(
            {c: [] for c in columns[:-1]}, geometry=gpd.GeoSeries([], crs=scene.crs)
        )
    sun = sun_table(scene, times, tz=tz)
    frames = []
    for t, s in sun.iterrows():
        if s["elevation"] <= 0.0:
            continue
        geoms = _shadow_at(geo, s, terrain)
        if not include_footprint:
            geoms = shapely.difference(geoms, geo.footprints)
        tan_e = np.tan(np.radians(s["elevation"]))
        frames.append(
            pd.DataFrame(
                {
                    "building_id": geo.ids,
                    "time": t,
                    "azimuth": s["azimuth"],
                    "elevation": s["elevation"],
                    "length": (geo.roof - geo.ground) / tan_e,
                    "geometry": geoms,
                }
            )
        )
    if not frames:
        return gpd.GeoDataFrame(
            {c: [] for c in columns[:-1]}, geometry=gpd.GeoSeries([], crs=scene.crs)
        )
    df = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(df, geometry="geometry", crs=scene.crs)


def _shadow_at(geo, s, terrain=None) -> np.ndarray:
    """Shadow geometry of every building (scene CRS) for one sun position."""
    a = np.radians(s["grid_azimuth"])
    direction = np.array([-np.sin(a), -np.cos(a)])  # away from the sun
    tan_e = float(np.tan(np.radians(s["elevation"])))
    parts, owner = geo.parts, geo.owner
    n = geo.n
    if terrain is None:
        length = (geo.wall_top - geo.ground) / tan_e
        disp = length[owner][:, None] * direction[None, :]
        sums, fallback = _sweep_fast(parts, disp)
        if fallback.any():
            sums[fallback] = _sweep_geos(parts[fallback], disp[fallback])
        pieces, piece_owner = sums, owner
    else:
        # plan positions of the wall tops projected onto the terrain, per vertex
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        xy, cidx = shapely.get_coordinates(rings, return_index=True)
        bi = owner[ring_part[cidx]]
        world = np.column_stack([xy, geo.wall_top[bi]])
        moved_xy = _project(world, geo.ground[bi], direction, tan_e, terrain)
        ring_off = np.r_[0, np.cumsum(np.bincount(cidx, minlength=len(rings)))]
        part_off = np.r_[0, np.cumsum(np.bincount(ring_part, minlength=len(parts)))]
        moved = shapely.make_valid(
            shapely.from_ragged_array(
                shapely.GeometryType.POLYGON, moved_xy, (ring_off, part_off)
            )
        )
        same = cidx[1:] == cidx[:-1]
        qa, qb = xy[:-1][same], xy[1:][same]
        ma, mb = moved_xy[:-1][same], moved_xy[1:][same]
        quads = shapely.make_valid(
            shapely.polygons(np.stack([qa, ma, mb, qb, qa], axis=1))
        )
        pieces = np.concatenate([parts, moved, quads])
        piece_owner = np.concatenate([owner, owner, bi[:-1][same]])
    need = geo.pitched | geo.bim
    if need.any():
        tri, tri_owner = geo.mesh_triangles()
        if len(tri):
            world = tri
            t_shadow = _triangles_shadow(
                world, tri_owner, geo.ground, direction, tan_e, n, terrain
            )
            has = np.flatnonzero(np.bincount(tri_owner, minlength=n) > 0)
            # BIM projects: their triangles replace the footprint prism
            drop = geo.bim[piece_owner] & np.isin(piece_owner, has)
            pieces = np.concatenate([pieces[~drop], t_shadow[has]])
            piece_owner = np.concatenate([piece_owner[~drop], has])
    out = _union_groups(np.asarray(pieces, dtype=object), piece_owner, n)
    return out


# -- animation --------------------------------------------------------------------------------
@renamed_arguments(date="when")
def animate(
    scene,
    when,
    path,
    *,
    step="30min",
    fps: float = 3.0,
    ground: str = "flat",
    min_elevation: float = 3.0,
    size: float = 7.0,
    dpi: int = 100,
    tz: str = DEFAULT_TZ,
    highlight=None,
    lang=None,
):
    """Animated map of the shadows through one day (GIF, or MP4 with ffmpeg).

    Each frame draws the scene's base layers (parcels, water, vegetation,
    roads: :mod:`cimcity.maps`), the union of all shadows at one instant and
    the footprints (BIM projects in orange), with a clock in local time, the
    date and the sun's position, an arrow toward the sun, a legend, a scale bar
    and a north arrow (grid north); rendered offscreen with matplotlib (Agg)
    and written with imageio (MP4 through imageio-ffmpeg).

    Parameters
    ----------
    scene : Scene
    when : date
        The local day (a time stands for its day; naive values are local to
        ``tz``).
    path : str or Path
        ``.gif`` (default format) or ``.mp4`` (needs ``imageio-ffmpeg``); the
        folder is created.
    step : str
        Time between frames (default 30 minutes).
    fps : float
        Frames per second.
    ground : {"flat", "terrain"}
        As in :func:`polygons`.
    min_elevation : float
        Instants with the sun lower than this [deg] are skipped (shadows
        kilometres long).
    size, dpi : float, int
        Figure size [inches] and resolution.
    tz : str
        Timezone of a naive date.
    highlight : sequence of building ids, optional
        Buildings drawn in orange (default: the scene's BIM projects).
    lang : {"fr", "en"}, optional
        Language of the captions and legend (package default when None).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    path = Path(path)
    fmt = path.suffix.lower()
    if fmt not in (".gif", ".mp4"):
        raise InputError(f"unsupported animation format {fmt!r}; use .gif or .mp4")
    imageio = import_optional("imageio")
    import_optional("matplotlib")
    if fmt == ".mp4":
        import_optional("imageio_ffmpeg")

    start, end = as_period(when, tz)
    times = pd.date_range(start, end, freq=as_step(step), inclusive="left")
    sun = sun_table(scene, times, tz=tz)
    times = sun.index[sun["elevation"] >= min_elevation]
    if not len(times):
        raise InputError(
            f"the sun never rises above {min_elevation}° on {start:%Y-%m-%d} at this site"
        )
    shadows = polygons(scene, times, ground=ground, tz=tz)
    B = scene.buildings
    hl = list(scene.projects) if highlight is None else list(highlight)
    is_hl = B.index.isin(hl)
    b = _view_bounds(scene, shadows)
    frames = [
        _frame(scene, shadows[shadows["time"] == t], is_hl, sun.loc[t], t, b, size, dpi, lang)
        for t in times
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == ".gif":
        imageio.mimsave(path, frames, duration=1000.0 / fps, loop=0)
    else:
        # H.264 in yuv420p (what browsers and phones play) needs even sizes
        h, w = (d - d % 2 for d in frames[0].shape[:2])
        imageio.mimsave(path, [f[:h, :w] for f in frames], fps=fps, macro_block_size=1)
    return path


def _view_bounds(scene, shadows) -> np.ndarray:
    """The scene and its shadows, at most half the scene's size beyond it."""
    b = np.asarray(scene.bounds, float)
    if len(shadows):
        sb = shadows.total_bounds
        pad = max(50.0, 0.5 * max(b[2] - b[0], b[3] - b[1]))
        b = np.array(
            [
                max(min(b[0], sb[0]), b[0] - pad),
                max(min(b[1], sb[1]), b[1] - pad),
                min(max(b[2], sb[2]), b[2] + pad),
                min(max(b[3], sb[3]), b[3] + pad),
            ]
        )
    return b


def _frame(scene, sh, is_hl, s, t, b, size, dpi, lang=None) -> np.ndarray:
    """One RGB frame: the scene's base layers (:mod:`cimcity.maps`), the union
    of the shadows ``sh``, footprints (``is_hl`` in orange), a clock (local
    time), an arrow toward the sun ``s``, a legend, a scale bar and a north
    arrow, in ``lang``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    B = scene.buildings
    fig = Figure(figsize=(size, size), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.88))
    extent = (b[0], b[1], b[2], b[3])
    maps.start(ax, extent, scene=scene, layers=("parcels", "water", "vegetation", "roads"))
    ax.set_aspect("equal")
    ax.set_axis_off()
    if len(sh):
        u = shapely.union_all(sh.geometry.values)
        gpd.GeoSeries([u], crs=scene.crs).plot(
            ax=ax, color=SHADOW_COLOR, alpha=0.55, linewidth=0, zorder=3
        )
    if len(B):
        B[~is_hl].plot(ax=ax, color="0.70", edgecolor="0.35", linewidth=0.3, zorder=4)
        if is_hl.any():
            B[is_hl].plot(ax=ax, color=PROJECT_COLOR, edgecolor="0.2", linewidth=0.5, zorder=4)
    ax.set_xlim(b[0], b[2])
    ax.set_ylim(b[1], b[3])
    # the clock: local time, large, top left; the date and sun under it
    fig.text(0.03, 0.955, f"{t:%H:%M}", fontsize=22, weight="bold", va="center")
    fig.text(
        0.20, 0.955,
        i18n.term("shadows_of", lang, date=i18n.format_date(t, lang)) + "\n"
        + i18n.term("sun_position", lang, azimuth=s["azimuth"], elevation=s["elevation"]),
        fontsize=10, va="center",
    )
    # sun direction arrow (toward the sun) in the upper-right corner (the
    # north arrow takes the upper left)
    a = np.radians(s["grid_azimuth"])
    cx = b[2] - 0.08 * (b[2] - b[0])
    cy = b[3] - 0.08 * (b[3] - b[1])
    r = 0.05 * (b[2] - b[0])
    ax.annotate(
        "", xy=(cx + r * np.sin(a), cy + r * np.cos(a)), xytext=(cx, cy),
        arrowprops=dict(arrowstyle="->", color="#e0a800", lw=2), zorder=6,
    )
    ax.text(cx, cy - 0.4 * r, i18n.term("sun_word", lang), ha="center", va="top",
            fontsize=8, color="#a07800", zorder=6)
    handles = [
        Patch(color=SHADOW_COLOR, alpha=0.55, label=i18n.term("shadows", lang)),
        Patch(facecolor="0.70", edgecolor="0.35", label=i18n.term("buildings", lang)),
    ]
    if is_hl.any():
        handles.append(Patch(facecolor=PROJECT_COLOR, edgecolor="0.2",
                             label=i18n.term("project", lang)))
    ax.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.85)
    maps.scale_bar(ax, location="lower right")
    maps.north_arrow(ax, crs=scene.crs, lang=lang, note=False)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
