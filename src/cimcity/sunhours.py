"""Sun-hours on the ground, roofs and facades, and a project's impact on its
neighbours (re-exported by :mod:`cimcity.shadow`).

* :func:`sun_steps` — the time steps of a study with the sun's direction at each
  (sunrise/sunset handled as in :mod:`cimcity.shadow`).
* :func:`sun_hours` — ray-traced hours of direct sun at sample points, with the
  visibility at every step kept bit-packed (:class:`SunHoursResult`).
* :func:`impact` — sun-hours lost and gained by a project's neighbours
  (:class:`ImpactResult`).

Conventions, sunrise/sunset and grid convergence: see :mod:`cimcity.shadow`.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _sunframe
from .errors import InputError
from .shadow import (
    DEFAULT_DATES,
    DEFAULT_TZ,
    DEFAULT_YEAR,
    GROUND_OFFSET,
    ORIENTATIONS_4,
    ORIENTATIONS_8,
    SUN_SEMI_DIAMETER,
    SUNRISE_ELEVATION,
    SURFACES,
    _as_step,
    _period,
    _site,
    _spa,
    _stamp,
)

__all__ = [
    "DELTA_TOL",
    "sun_steps",
    "sun_hours",
    "SunHoursResult",
    "impact",
    "ImpactResult",
]


def _lit_fraction(y0, y1, h0):
    """Fraction of a linear segment from y0 to y1 above h0, and the parameter
    range [lo, hi] of that part (NaN when none)."""
    up0, up1 = y0 > h0, y1 > h0
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.clip((h0 - y0) / (y1 - y0), 0.0, 1.0)
    frac = np.where(up0 & up1, 1.0, np.where(up0, s, np.where(up1, 1.0 - s, 0.0)))
    lo = np.where(up0, 0.0, np.where(up1, s, np.nan))
    hi = np.where(up1, 1.0, np.where(up0, s, np.nan))
    return frac, lo, hi


def sun_steps(scene, date_or_period, step="6min", tz=DEFAULT_TZ) -> pd.DataFrame:
    """Time steps of a sun-hours study with the sun's direction at each.

    Each step ``[start, end)`` is represented by one sun direction: its middle
    when the sun is up throughout, else the middle of the part with the sun up
    (see the module docstring for sunrise/sunset).

    Parameters
    ----------
    scene : Scene
    date_or_period : date or (start, end)
        One local day, or a half-open period (dates without time = midnight).
    step : str or Timedelta
        Step length (default 6 minutes).
    tz : str
        Timezone of naive dates.

    Returns
    -------
    pandas.DataFrame
        Index: step middles; columns ``start``, ``end``, ``sun_up`` (fraction of
        the step with the sun up), ``hours`` (sun-up hours of the step, the
        weight of a sunny step), ``time`` (instant of the direction),
        ``azimuth``, ``elevation`` (true azimuth, apparent elevation of the
        sun's centre), ``ray_elevation`` [deg] and ``sx, sy, sz`` (unit
        vector of the traced ray, scene CRS).
    """
    start, end = _period(date_or_period, tz)
    dt = _as_step(step)
    edges = pd.date_range(start, end, freq=dt)
    if edges[-1] < end:
        edges = edges.append(pd.DatetimeIndex([end]))
    lon, lat, north, alt = _site(scene)
    mids = edges[:-1] + (edges[1:] - edges[:-1]) / 2
    both = edges.append(mids)
    sp = _spa(both, lat, lon, alt)
    ge = sp["elevation"].to_numpy()
    e_edge, e_mid = ge[: len(edges)], ge[len(edges) :]
    h0 = SUNRISE_ELEVATION
    f1, lo1, hi1 = _lit_fraction(e_edge[:-1], e_mid, h0)
    f2, lo2, hi2 = _lit_fraction(e_mid, e_edge[1:], h0)
    frac = 0.5 * (f1 + f2)
    lo = np.where(np.isfinite(lo1), 0.5 * lo1, 0.5 + 0.5 * lo2)
    hi = np.where(np.isfinite(hi2), 0.5 + 0.5 * hi2, 0.5 * hi1)
    duration_h = (edges[1:] - edges[:-1]).total_seconds().to_numpy() / 3600.0
    partial = (frac > 0) & (frac < 1)
    rep = mids.copy()
    if partial.any():
        width = edges[1:] - edges[:-1]
        rmid = np.where(partial, (lo + hi) / 2, 0.5)
        rep = edges[:-1] + pd.to_timedelta(rmid * width.total_seconds().to_numpy(), "s")
        sp_rep = _spa(rep[partial], lat, lon, alt)
    az = sp["azimuth"].to_numpy()[len(edges) :].copy()
    app = sp["apparent_elevation"].to_numpy()[len(edges) :].copy()
    if partial.any():
        az[partial] = sp_rep["azimuth"].to_numpy()
        app[partial] = sp_rep["apparent_elevation"].to_numpy()
    sd = SUN_SEMI_DIAMETER
    ray_e = np.where(app >= sd, app, 0.5 * (app + sd))
    ray_e = np.where(frac > 0, np.maximum(ray_e, 1e-4), ray_e)
    v = _sunframe.direction_vectors(ray_e, az, north)
    return pd.DataFrame(
        {
            "start": edges[:-1],
            "end": edges[1:],
            "sun_up": frac,
            "hours": frac * duration_h,
            "time": rep,
            "azimuth": az,
            "elevation": app,
            "ray_elevation": ray_e,
            "sx": v[:, 0],
            "sy": v[:, 1],
            "sz": v[:, 2],
        },
        index=pd.DatetimeIndex(mids, name="step"),
    )


@dataclass(eq=False)
class _Sensors:
    """Sensor points of a sun-hours study (world coordinates, scene CRS)."""

    points: np.ndarray  # (n, 3) [m]
    normals: np.ndarray  # (n, 3) unit
    areas: np.ndarray  # (n,) [m²]
    kind: np.ndarray  # (n,) object: ground / roof / wall / point
    building_id: np.ndarray  # (n,) object (None off buildings)
    cell: np.ndarray  # (n, 2) int64 ground raster (row, col), -1 off the grid
    grid: dict | None = None  # ground raster: shape, transform

    def __len__(self):
        return len(self.points)

    def subset(self, mask) -> _Sensors:
        mask = np.asarray(mask)
        return _Sensors(
            self.points[mask],
            self.normals[mask],
            self.areas[mask],
            self.kind[mask],
            self.building_id[mask],
            self.cell[mask],
            self.grid,
        )

    @staticmethod
    def concat(parts) -> _Sensors:
        parts = [p for p in parts if p is not None]
        grid = next((p.grid for p in parts if p.grid is not None), None)
        return _Sensors(
            np.concatenate([p.points for p in parts]).reshape(-1, 3),
            np.concatenate([p.normals for p in parts]).reshape(-1, 3),
            np.concatenate([p.areas for p in parts]),
            np.concatenate([p.kind for p in parts]).astype(object),
            np.concatenate([p.building_id for p in parts]).astype(object),
            np.concatenate([p.cell for p in parts]).reshape(-1, 2),
            grid,
        )


def _ground_grid(scene, spacing, bounds=None, offset=GROUND_OFFSET, engine="auto"):
    """Ground sensors on a regular grid outside building footprints."""
    from affine import Affine

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
            f"ground bounds must be (minx, miny, maxx, maxy); got {bounds!r}"
        )
    if scene.terrain is not None:
        tb = scene.terrain.bounds
        b = np.array(
            [max(b[0], tb[0]), max(b[1], tb[1]), min(b[2], tb[2]), min(b[3], tb[3])]
        )
    x0 = np.floor(b[0] / spacing) * spacing
    y1 = np.ceil(b[3] / spacing) * spacing
    cols = max(int(np.ceil((b[2] - x0) / spacing)), 1)
    rows = max(int(np.ceil((y1 - b[1]) / spacing)), 1)
    transform = Affine(spacing, 0, x0, 0, -spacing, y1)
    inside = np.zeros((rows, cols), bool)
    B = scene.buildings
    if len(B):
        from rasterio.features import rasterize

        inside = rasterize(
            ((g, 1) for g in B.geometry.values),
            out_shape=(rows, cols),
            transform=transform,
            fill=0,
            dtype="uint8",
        ).astype(bool)
    if isinstance(bounds, shapely.Geometry):
        from rasterio.features import rasterize

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
    n = len(x)
    normals = np.tile([0.0, 0.0, 1.0], (n, 1))
    if scene.terrain is not None:
        from . import raycast

        tmesh = scene.mesh().select(kinds=["terrain"])
        top = float(tmesh.bounds[1, 2]) + 10.0
        o = np.column_stack([x, y, np.full(n, top)])
        dist, face = raycast.intersect(
            tmesh, o, np.array([[0.0, 0.0, -1.0]]).repeat(n, 0), engine=engine
        )
        ok = np.isfinite(dist)
        z = top - dist
        fn = tmesh.face_normals[np.maximum(face, 0)]
        normals = np.where(ok[:, None], fn, normals)
        x, y, z, normals, r, c = x[ok], y[ok], z[ok], normals[ok], r[ok], c[ok]
    elif len(B):
        gz = B["ground_z"].to_numpy(float)
        if np.nanmax(gz) - np.nanmin(gz) < 1e-6:
            z = np.full(n, float(gz[0]))
        else:
            tree = shapely.STRtree(B.geometry.values)
            nearest = tree.query_nearest(shapely.points(x, y), all_matches=False)[1]
            z = gz[nearest]
    else:
        z = np.zeros(n)
    pts = np.column_stack([x, y, z]) + offset * normals
    k = len(pts)
    return _Sensors(
        pts,
        normals,
        np.full(k, spacing * spacing),
        np.full(k, "ground", dtype=object),
        np.full(k, None, dtype=object),
        np.column_stack([r, c]).astype(np.int64),
        {"shape": (rows, cols), "transform": transform},
    )


def _resolve_sensors(scene, surfaces, spacing, points, normals, ground_bounds, engine):
    if points is not None:
        from .mesh import Sensors

        p = np.asarray(points, float)
        if p.ndim == 1 and p.shape == (3,):
            p = p[None]
        nrm = np.tile([0.0, 0.0, 1.0], (len(p), 1)) if normals is None else normals
        nrm = np.asarray(nrm, float)
        if nrm.shape == (3,):
            nrm = np.broadcast_to(nrm, p.shape)
        s = Sensors.from_points(p, nrm)
        return _Sensors(
            s.points,
            s.normals,
            s.areas,
            s.kind,
            s.building_id,
            np.full((len(p), 2), -1, np.int64),
        )
    if normals is not None:
        raise InputError("normals were given without points")
    if isinstance(surfaces, str):
        surfaces = (surfaces,)
    surfaces = tuple(surfaces)
    bad = [k for k in surfaces if k not in SURFACES]
    if bad or not surfaces:
        raise InputError(
            f"unknown surfaces {bad or surfaces!r}; expected some of {SURFACES} "
            f"('ground' is the open ground, 'terrain' faces when the scene has terrain)"
        )
    if not np.isfinite(spacing) or spacing <= 0:
        raise InputError(
            f"spacing must be a positive number of metres; got {spacing!r}"
        )
    parts = []
    if "ground" in surfaces:
        parts.append(_ground_grid(scene, spacing, ground_bounds, engine=engine))
    built = tuple(k for k in ("roof", "wall") if k in surfaces)
    if built and len(scene.buildings):
        s = scene.sample(spacing, kinds=built)
        parts.append(
            _Sensors(
                s.points,
                s.normals,
                s.areas,
                np.asarray(s.kind, object),
                np.asarray(s.building_id, object),
                np.full((len(s.points), 2), -1, np.int64),
            )
        )
    if not parts:
        return _Sensors(
            np.zeros((0, 3)),
            np.zeros((0, 3)),
            np.zeros(0),
            np.zeros(0, object),
            np.zeros(0, object),
            np.zeros((0, 2), np.int64),
        )
    return _Sensors.concat(parts)


def _trace(mesh, sensors, dirs, engine, progress=None):
    """Packed bits (n, ceil(d/8)), set = blocked, of sensors × sun directions."""
    from . import raycast

    n = len(sensors)
    if n == 0 or len(dirs) == 0:
        return np.zeros((n, (len(dirs) + 7) // 8), np.uint8)
    return raycast.occluded_matrix(
        mesh,
        sensors.points,
        dirs,
        normals=sensors.normals,
        engine=engine,
        packed=True,
        progress=progress,
    )


def _hours_from_bits(bits, weights, rows=262_144):
    """Σ_j (1 - blocked_ij) w_j [h] by per-byte lookup tables."""
    d = len(weights)
    nb = bits.shape[1]
    w = np.zeros(nb * 8)
    w[:d] = weights
    w = w.reshape(nb, 8)
    # table[b, v] = sum of weights of the zero bits of byte value v in column b
    vals = np.arange(256, dtype=np.uint8)
    zero = ~np.unpackbits(vals[:, None], axis=1, bitorder="little").astype(bool)
    table = zero.astype(float) @ w.T  # (256, nb)
    out = np.zeros(len(bits))
    cols = np.arange(nb)
    for r0 in range(0, len(bits), rows):
        blk = bits[r0 : r0 + rows]
        out[r0 : r0 + rows] = table[blk, cols].sum(axis=1)
    return out


def _orientation(normals, north_deg, sectors=8):
    """Compass sector of each facade normal (true north)."""
    names = ORIENTATIONS_8 if sectors == 8 else ORIENTATIONS_4
    az = _sunframe.true_azimuth(normals, north_deg)
    width = 360.0 / len(names)
    k = np.floor((az + width / 2) / width).astype(int) % len(names)
    return np.asarray(names, dtype=object)[k], az


def sun_hours(
    scene,
    date_or_period,
    step="6min",
    spacing: float = 1.0,
    surfaces=("ground", "roof", "wall"),
    points=None,
    normals=None,
    tz: str = DEFAULT_TZ,
    ground_bounds=None,
    engine: str = "auto",
    progress: bool = False,
    trees: bool = False,
) -> SunHoursResult:
    """Hours of direct sun on the ground, roofs and facades (or at given points).

    At every time step a ray is traced from each sensor toward the sun (exact
    SPA direction, turned into the CRS grid); the step counts when the sun is
    up, the sensor's surface faces it (``n · s > 0``) and nothing in
    :meth:`Scene.mesh` (buildings, BIM projects, terrain) blocks the ray. A
    step weighs the time the sun is up during it (see the module docstring),
    so day lengths are exact whatever the step. The visibility of every
    sensor at every step is kept bit-packed on the result.

    Parameters
    ----------
    scene : Scene
    date_or_period : date or (start, end)
        One local day (``"2024-12-21"``) or a half-open period
        (``("2024-06-01", "2024-07-01")``: all of June).
    step : str or Timedelta
        Time step (default ``"6min"``).
    spacing : float
        Distance between sensors [m], on every surface and for the ground grid.
    surfaces : sequence of {"ground", "roof", "wall"}
        ``"ground"`` is the open ground: a grid of cell centres outside the
        footprints, on the terrain mesh when the scene has terrain, else at
        the nearest building's ``ground_z``; it also gives
        :attr:`SunHoursResult.ground` (a raster).
    points : (n, 3) float, optional
        Sensor positions [m, scene CRS] instead of sampled surfaces; offset
        them off their surface (5 cm) so rays do not start inside it.
    normals : (n, 3) float, optional
        Normals of ``points`` (default: up).
    tz : str
        Timezone of naive dates.
    ground_bounds : (minx, miny, maxx, maxy) or polygon, optional
        Extent of the ground grid [m]; default: the scene's bounds (padded by
        the tallest building's height when the scene has only buildings).
    engine : {"auto", "numba", "embree"}
        Ray engine (:mod:`cimcity.raycast`).
    progress : bool
        Report ray-tracing progress on stderr.
    trees : bool
        Tree crowns block the sun too (vegetation polygons of kind ``tree``
        with a ``height`` and a ``scene.rasters["cdsm"]`` canopy raster, see
        :func:`cimcity.occluders.tree_crowns`); crowns are opaque here (a step
        is sunny or not). Off by default: buildings and terrain only, as
        right-to-light studies compare buildings.

    Returns
    -------
    SunHoursResult
        ``.sensors`` (GeoDataFrame, column ``sun_hours`` [h]), ``.ground``
        raster [h], ``.by_building`` facade/roof summaries, ``.steps``, and
        ``.is_sunny(time)`` / ``.sunny_at(time)`` queries.

    Raises
    ------
    InputError
        Unreadable dates or step, unknown surfaces, bad spacing or points.
    EngineError
        Unknown or unavailable ray engine.
    """
    steps = sun_steps(scene, date_or_period, step, tz)
    sensors = _resolve_sensors(
        scene, surfaces, spacing, points, normals, ground_bounds, engine
    )
    if trees:
        from .occluders import with_trees

        mesh = with_trees(scene)
    else:
        mesh = scene.mesh()
    traced = steps["sun_up"].to_numpy() > 0
    dirs = steps.loc[traced, ["sx", "sy", "sz"]].to_numpy()
    cb = _progress_callback("sun-hours") if progress else None
    bits = _trace(mesh, sensors, dirs, engine, cb)
    return SunHoursResult(scene, sensors, steps, bits, spacing=spacing)


def _progress_callback(label):
    import sys

    state = {"last": -1}

    def cb(done, total):
        pct = int(100 * done / max(total, 1))
        if pct >= state["last"] + 10 or done == total:
            state["last"] = pct
            end = "\n" if done == total else ""
            print(f"\r{label}: {pct:3d} %", end=end, file=sys.stderr, flush=True)

    return cb


class SunHoursResult:
    """Result of :func:`sun_hours`.

    Attributes
    ----------
    sensors : geopandas.GeoDataFrame
        One row per sensor: ``x, y, z`` [m], ``nx, ny, nz``, ``kind`` (ground,
        roof, wall, point), ``building_id``, ``area`` [m²], ``orientation``
        (compass sector of wall normals, true north), ``sun_hours`` [h];
        3D point geometry in the scene CRS.
    steps : pandas.DataFrame
        The time steps (see :func:`sun_steps`); column ``column`` gives each
        traced step's position in the visibility bits (-1: sun down).
    blocked_bits : (n, ceil(d / 8)) uint8
        Bit ``j`` of sensor ``i`` set when the sun was blocked (or behind the
        surface) at traced step ``j``; see :func:`cimcity.raycast.unpack_matrix`.
    ground : numpy.ndarray or None
        (rows, cols) sun-hours of the ground grid [h], NaN under buildings or
        off the grid; georeferenced by ``ground_transform`` (rasterio
        ``Affine``) in ``crs``.
    """

    def __init__(self, scene, sensors, steps, bits, spacing=None):
        self.crs = scene.crs
        self.spacing = spacing
        self._sensors = sensors
        steps = steps.copy()
        traced = steps["sun_up"].to_numpy() > 0
        col = np.full(len(steps), -1, np.int64)
        col[traced] = np.arange(int(traced.sum()))
        steps["column"] = col
        self.steps = steps
        self.blocked_bits = bits
        self._weights = steps.loc[traced, "hours"].to_numpy()
        self.north = _site(scene)[2]
        hours = _hours_from_bits(bits, self._weights) if len(sensors) else np.zeros(0)
        self.sensors = self._frame(sensors, hours)
        self.ground = None
        self.ground_transform = None
        if sensors.grid is not None:
            shape = sensors.grid["shape"]
            g = np.full(shape, np.nan)
            on = sensors.cell[:, 0] >= 0
            g[sensors.cell[on, 0], sensors.cell[on, 1]] = hours[on]
            self.ground = g
            self.ground_transform = sensors.grid["transform"]

    def _frame(self, s, hours):
        orient = np.full(len(s), None, dtype=object)
        wall = s.kind == "wall"
        if wall.any():
            orient[wall] = _orientation(s.normals[wall], self.north)[0]
        p = s.points
        return gpd.GeoDataFrame(
            {
                "x": p[:, 0],
                "y": p[:, 1],
                "z": p[:, 2],
                "nx": s.normals[:, 0],
                "ny": s.normals[:, 1],
                "nz": s.normals[:, 2],
                "kind": s.kind,
                "building_id": s.building_id,
                "area": s.areas,
                "orientation": orient,
                "sun_hours": hours,
            },
            geometry=gpd.points_from_xy(p[:, 0], p[:, 1], p[:, 2]),
            crs=self.crs,
        )

    # -- queries -----------------------------------------------------------------------
    @property
    def total_hours(self) -> float:
        """Hours with the sun up over the period (an open horizontal plane's
        sun-hours) [h]."""
        return float(self.steps["hours"].sum())

    def _step_of(self, time):
        t = _stamp(time, self.steps["start"].dt.tz)
        st = self.steps
        hit = np.flatnonzero((st["start"] <= t).to_numpy() & (st["end"] > t).to_numpy())
        if not len(hit):
            raise InputError(
                f"{t} is outside the period studied ({st['start'].iloc[0]} to "
                f"{st['end'].iloc[-1]})"
            )
        return int(hit[0])

    def is_sunny(self, time) -> np.ndarray:
        """(n,) bool: sensors in direct sun during the step containing ``time``
        (naive times are local to the study's timezone); all False with the sun
        down."""
        k = self._step_of(time)
        j = int(self.steps["column"].iloc[k])
        if j < 0:
            return np.zeros(len(self.sensors), bool)
        return (self.blocked_bits[:, j // 8] >> (j % 8)) & 1 == 0

    def sunny_at(self, time) -> gpd.GeoDataFrame:
        """The sensors table with a boolean ``sunny`` column for ``time``."""
        out = self.sensors.copy()
        out["sunny"] = self.is_sunny(time)
        return out

    def visibility(self) -> pd.DataFrame:
        """(n, steps) bool table: True where a sensor is in direct sun
        (columns: step middles; unpacked, so mind memory on long periods)."""
        from .raycast import unpack_matrix

        d = len(self._weights)
        sunny = (
            ~unpack_matrix(self.blocked_bits, d)
            if d
            else np.zeros((len(self.sensors), 0), bool)
        )
        full = np.zeros((len(self.sensors), len(self.steps)), bool)
        cols = self.steps["column"].to_numpy()
        full[:, cols >= 0] = sunny
        return pd.DataFrame(full, columns=self.steps.index)

    def sunny_intervals(self, sensor: int) -> pd.DataFrame:
        """Periods of direct sun of one sensor (row position): ``start``,
        ``end``, ``hours``."""
        if not 0 <= sensor < len(self.sensors):
            raise InputError(f"sensor {sensor} out of range 0..{len(self.sensors) - 1}")
        st = self.steps
        cols = st["column"].to_numpy()
        sunny = np.zeros(len(st), bool)
        on = cols >= 0
        b = self.blocked_bits[sensor]
        sunny[on] = ((b[cols[on] // 8] >> (cols[on] % 8)) & 1) == 0
        out = []
        k = 0
        while k < len(st):
            if sunny[k]:
                k1 = k
                while k1 + 1 < len(st) and sunny[k1 + 1]:
                    k1 += 1
                first, last = st.iloc[k], st.iloc[k1]
                start = first["start"] if first["sun_up"] >= 1 else first["time"]
                end = last["end"] if last["sun_up"] >= 1 else last["time"]
                out.append((start, end, float(st["hours"].iloc[k : k1 + 1].sum())))
                k = k1 + 1
            else:
                k += 1
        return pd.DataFrame(out, columns=["start", "end", "hours"])

    # -- summaries -------------------------------------------------------------------------
    @property
    def by_building(self) -> pd.DataFrame:
        """Per building, surface (roof / wall) and facade orientation:
        ``sensors``, ``area`` [m²], ``min``, ``mean`` (area-weighted), ``max``
        sun-hours [h]."""
        S = self.sensors
        S = S[S["kind"].isin(["roof", "wall"])].copy()
        if not len(S):
            return pd.DataFrame(
                columns=[
                    "building_id",
                    "kind",
                    "orientation",
                    "sensors",
                    "area",
                    "min",
                    "mean",
                    "max",
                ]
            )
        S["orientation"] = S["orientation"].fillna("-")
        S["wh"] = S["sun_hours"] * S["area"]
        g = S.groupby(["building_id", "kind", "orientation"], sort=True)
        out = g.agg(
            sensors=("sun_hours", "size"),
            area=("area", "sum"),
            min=("sun_hours", "min"),
            wh=("wh", "sum"),
            max=("sun_hours", "max"),
        )
        out["mean"] = out.pop("wh") / out["area"]
        return out[["sensors", "area", "min", "mean", "max"]].reset_index()

    def summary(self) -> dict:
        S = self.sensors
        out = {
            "period": (
                str(self.steps["start"].iloc[0]),
                str(self.steps["end"].iloc[-1]),
            ),
            "steps": len(self.steps),
            "traced_steps": int((self.steps["column"] >= 0).sum()),
            "sun_up_hours": round(self.total_hours, 3),
            "sensors": len(S),
        }
        for k, grp in S.groupby("kind"):
            out[f"{k}_mean_hours"] = round(
                float(np.average(grp["sun_hours"], weights=grp["area"])), 2
            )
        return out

    def __repr__(self) -> str:
        s = self.summary()
        kinds = ", ".join(
            f"{k[:-11]} {v} h" for k, v in s.items() if k.endswith("_mean_hours")
        )
        return (
            f"<SunHoursResult {s['period'][0]} → {s['period'][1]}: {s['sensors']:,} sensors × "
            f"{s['traced_steps']} sunny steps; sun up {s['sun_up_hours']} h; mean {kinds}>"
        )

    # -- output ----------------------------------------------------------------------------
    def to_file(self, path, what: str = "sensors"):
        """Write ``what`` = ``"sensors"`` (GeoPackage / GeoParquet / any OGR
        format by extension), ``"ground"`` (GeoTIFF) or ``"by_building"``
        (CSV)."""
        from pathlib import Path

        path = Path(path)
        if what == "sensors":
            S = self.sensors
            if path.suffix.lower() == ".parquet":
                S.to_parquet(path)
            else:
                S.to_file(path)
        elif what == "ground":
            if self.ground is None:
                raise InputError(
                    "no ground raster: run sun_hours with 'ground' in surfaces"
                )
            import rasterio

            with rasterio.open(
                path,
                "w",
                driver="GTiff",
                height=self.ground.shape[0],
                width=self.ground.shape[1],
                count=1,
                dtype="float32",
                crs=self.crs.to_wkt(),
                transform=self.ground_transform,
                nodata=np.nan,
            ) as dst:
                dst.write(self.ground.astype("float32"), 1)
        elif what == "by_building":
            self.by_building.to_csv(path, index=False)
        else:
            raise InputError(
                f"unknown output {what!r}; expected 'sensors', 'ground' or 'by_building'"
            )
        return path

    def plot(self, ax=None, kind=None, cmap="inferno", vmax=None, buildings=None):
        """Map of sun-hours: the ground raster and the roofs (top view).

        Parameters
        ----------
        ax : matplotlib Axes, optional
        kind : str or sequence, optional
            Sensor kinds drawn as points besides the ground raster (default:
            roof and point sensors).
        buildings : GeoDataFrame, optional
            Footprints outlined on top.
        """
        from ._compat import import_optional

        plt = import_optional("matplotlib.pyplot")
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 8))
        vmax = vmax or max(self.total_hours, 1e-9)
        im = None
        if self.ground is not None:
            t = self.ground_transform
            rows, cols = self.ground.shape
            extent = (t.c, t.c + cols * t.a, t.f + rows * t.e, t.f)
            im = ax.imshow(self.ground, extent=extent, cmap=cmap, vmin=0, vmax=vmax)
        kinds = (
            ("roof", "point")
            if kind is None
            else ((kind,) if isinstance(kind, str) else kind)
        )
        S = self.sensors[self.sensors["kind"].isin(kinds)]
        if len(S):
            if kinds == ("roof", "point"):
                S = S.sort_values("z")
            sc = ax.scatter(
                S["x"], S["y"], c=S["sun_hours"], s=2, cmap=cmap, vmin=0, vmax=vmax
            )
            im = im or sc
        if buildings is not None and len(buildings):
            buildings.boundary.plot(ax=ax, color="0.3", linewidth=0.4)
        if im is not None:
            ax.figure.colorbar(im, ax=ax, shrink=0.7, label="sun-hours [h]")
        ax.set_aspect("equal")
        ax.set_title(f"Sun-hours {self.steps['start'].iloc[0]:%Y-%m-%d}")
        return ax


# -- impact of a project ----------------------------------------------------------------------
#: sun-hours changes smaller than this are no change [h]
DELTA_TOL = 1e-6


def _changed_buildings(before, after):
    """Ids of buildings removed from ``before`` and added in ``after`` (a
    building whose footprint or altitudes differ counts as both)."""
    B0, B1 = before.buildings, after.buildings
    common = B0.index.intersection(B1.index)
    same = np.zeros(len(common), bool)
    if len(common):
        g0 = B0.loc[common].geometry.values
        g1 = B1.loc[common].geometry.values
        same = shapely.equals_exact(g0, g1, tolerance=1e-6)
        for col in ("ground_z", "roof_z", "eave_z"):
            if col in B0.columns and col in B1.columns:
                a = B0.loc[common, col].to_numpy(float)
                b = B1.loc[common, col].to_numpy(float)
                same &= np.isclose(a, b, atol=1e-6) | (np.isnan(a) & np.isnan(b))
        src0 = B0.loc[common].get("source")
        src1 = B1.loc[common].get("source")
        if src0 is not None and src1 is not None:
            same &= src0.astype(str).to_numpy() == src1.astype(str).to_numpy()
    unchanged = set(common[same])
    removed = [b for b in B0.index if b not in unchanged]
    added = [b for b in B1.index if b not in unchanged]
    return removed, added


def _changed_trees(before, after):
    """Tree ids standing unchanged in both scenes, only before, only after."""
    from .occluders import TREE_KINDS

    def trees(s):
        V = s.vegetation
        if not len(V) or "kind" not in V.columns:
            return V.iloc[:0]
        return V[V["kind"].astype(str).isin(list(TREE_KINDS))]

    T0, T1 = trees(before), trees(after)
    common = T0.index.intersection(T1.index)
    same = np.zeros(len(common), bool)
    if len(common):
        same = shapely.equals_exact(
            T0.loc[common].geometry.values, T1.loc[common].geometry.values, 1e-6
        )
        for col in ("height", "ground_z"):
            if col in T0.columns or col in T1.columns:
                a = T0.loc[common].get(col, pd.Series(np.nan, common)).to_numpy(float)
                b = T1.loc[common].get(col, pd.Series(np.nan, common)).to_numpy(float)
                same &= np.isclose(a, b) | (np.isnan(a) & np.isnan(b))
    kept = set(common[same])
    return (
        list(kept),
        [t for t in T0.index if t not in kept],
        [t for t in T1.index if t not in kept],
    )


def _with_tree_changes(before, after, city, gone, new):
    """Add tree crowns to the three occluder groups of :func:`impact`: trees in
    both scenes to ``city``, trees only before to ``gone``, only after to
    ``new`` (likewise a canopy raster that differs)."""
    from .mesh import CityMesh
    from .occluders import canopy_boxes, tree_crowns

    kept, lost, grown = _changed_trees(before, after)
    origin = before.mesh().origin
    groups = {"city": [city], "gone": [gone], "new": [new]}
    if kept:
        groups["city"].append(tree_crowns(before, origin=origin, ids=kept))
    if lost:
        groups["gone"].append(tree_crowns(before, origin=origin, ids=lost))
    if grown:
        groups["new"].append(tree_crowns(after, origin=origin, ids=grown))
    c0, c1 = before.rasters.get("cdsm"), after.rasters.get("cdsm")
    if c0 is not None and c1 is not None and c0 is c1:
        groups["city"].append(canopy_boxes(c0, before, origin=origin))
    else:
        if c0 is not None:
            groups["gone"].append(canopy_boxes(c0, before, origin=origin))
        if c1 is not None:
            groups["new"].append(canopy_boxes(c1, after, origin=origin))
    out = []
    for name in ("city", "gone", "new"):
        parts = [m for m in groups[name] if m is not None and m.n_faces]
        out.append(CityMesh.concatenate(parts, origin=origin) if parts else None)
    return tuple(out)


def _building_mesh(scene, ids, with_terrain=False):
    """Sub-mesh of some buildings (and the terrain) of a scene, or None."""
    mesh = scene.mesh(terrain=with_terrain)
    idx = np.flatnonzero(np.isin(mesh.building_ids, list(ids)))
    mask = np.isin(mesh.face_building, idx)
    if with_terrain:
        mask |= mesh.face_building < 0
    if not mask.any():
        return None
    return mesh.subset(mask)


def impact(
    before,
    after,
    dates=None,
    step="6min",
    spacing: float = 1.0,
    surfaces=("ground", "wall", "roof"),
    radius: float | None = None,
    tz: str = DEFAULT_TZ,
    engine: str = "auto",
    n_worst: int = 10,
    progress: bool = False,
    trees: bool = False,
) -> ImpactResult:
    """Sun-hours the neighbours of a project lose and gain.

    The same sensors are used in both scenes: the open ground outside every
    footprint of either scene, and the roofs and facades of the buildings that
    stand unchanged in both (the project and the buildings it replaces carry
    no sensors). Occlusion is an OR over objects, so rays are traced once
    against the unchanged city and once against each small changed set
    (buildings removed, buildings added): ``blocked_before = city | removed``,
    ``blocked_after = city | added``, exact and about as fast as one study.

    Parameters
    ----------
    before, after : Scene
        Typically ``scene`` and ``scene.with_project(bim)``.
    dates : sequence of dates, optional
        Days studied (default: 21 March, 21 June, 21 December of 2024).
    step, spacing, surfaces, tz, engine, progress
        As in :func:`sun_hours`.
    trees : bool
        Tree crowns block the sun too (as in :func:`sun_hours`); trees that
        stand in only one of the scenes (cut or planted with the project) count
        in that scene only.
    radius : float, optional
        Keep only sensors within this plan distance of the changed buildings'
        footprints [m] (default: every sensor of the scene).
    n_worst : int
        Number of worst cases listed per date in :attr:`ImpactResult.worst`.

    Returns
    -------
    ImpactResult
        ``.points`` (one row per sensor and date: ``before``, ``after``,
        ``delta`` = after - before [h]), ``.by_building``, ``.by_parcel``,
        ``.worst`` and ``.summary()``.
    """
    from .mesh import _buried

    if dates is None:
        dates = [_dt.date(DEFAULT_YEAR, m, d) for m, d in DEFAULT_DATES]
    elif isinstance(dates, str | _dt.date | pd.Timestamp):
        dates = [dates]
    dates = [_stamp(d, tz).normalize() for d in dates]
    if not dates:
        raise InputError("dates is empty: give at least one day")
    if not before.crs.equals(after.crs):
        raise InputError(
            f"before and after scenes have different CRS ({before.crs.to_string()} vs "
            f"{after.crs.to_string()})"
        )
    removed, added = _changed_buildings(before, after)
    if isinstance(surfaces, str):
        surfaces = (surfaces,)
    sensors = _resolve_sensors(before, surfaces, spacing, None, None, None, engine)
    keep = ~np.isin(sensors.building_id, removed)
    changed_fp = np.concatenate(
        [
            before.buildings.loc[removed].geometry.values,
            after.buildings.loc[added].geometry.values,
        ]
    )
    is_ground = sensors.kind == "ground"
    if len(after.buildings) and is_ground.any():
        tree = shapely.STRtree(after.buildings.geometry.values)
        pts = shapely.points(sensors.points[is_ground, :2])
        hit = np.unique(tree.query(pts, predicate="intersects")[0])
        under = np.zeros(int(is_ground.sum()), bool)
        under[hit] = True
        g = np.flatnonzero(is_ground)
        keep[g[under]] = False
    if radius is not None:
        if not np.isfinite(radius) or radius <= 0:
            raise InputError(
                f"radius must be a positive distance in metres; got {radius!r}"
            )
        if len(changed_fp):
            zone = shapely.buffer(shapely.union_all(changed_fp), radius)
            keep &= shapely.contains_xy(
                zone, sensors.points[:, 0], sensors.points[:, 1]
            )
    sensors = sensors.subset(keep)
    covered = np.zeros(len(sensors), bool)
    if added and len(sensors):
        A = after.buildings.loc[added]
        covered = _buried(
            sensors.points,
            np.full(len(sensors), -1),
            A.geometry.values,
            A["roof_z"].to_numpy(float),
        )
        covered &= sensors.kind != "ground"

    unchanged = [b for b in before.buildings.index if b not in set(removed)]
    city = _building_mesh(before, unchanged, with_terrain=True)
    gone = _building_mesh(before, removed) if removed else None
    new = _building_mesh(after, added) if added else None
    if trees:
        city, gone, new = _with_tree_changes(before, after, city, gone, new)
    frames = []
    for day in dates:
        steps = sun_steps(before, day, step, tz)
        traced = steps["sun_up"].to_numpy() > 0
        dirs = steps.loc[traced, ["sx", "sy", "sz"]].to_numpy()
        w = steps.loc[traced, "hours"].to_numpy()
        cb = _progress_callback(f"impact {day:%Y-%m-%d}") if progress else None
        if city is not None:
            base = _trace(city, sensors, dirs, engine, cb)
        else:  # nothing unchanged: only the surfaces' own orientation blocks
            base = np.packbits(sensors.normals @ dirs.T <= 0, axis=1, bitorder="little")
        b0 = base | _trace(gone, sensors, dirs, engine) if gone is not None else base
        b1 = base | _trace(new, sensors, dirs, engine) if new is not None else base
        h0 = _hours_from_bits(b0, w)
        h1 = _hours_from_bits(b1, w)
        frames.append((day, h0, h1))
    return ImpactResult(
        before, after, sensors, covered, frames, removed, added, n_worst
    )


class ImpactResult:
    """Result of :func:`impact`.

    Attributes
    ----------
    points : geopandas.GeoDataFrame
        One row per sensor and date: ``sensor`` (position in the sensor set),
        ``date``, ``kind`` (ground, roof, wall), ``building_id``, ``parcel_id``,
        ``orientation``, ``area`` [m²], ``before``, ``after``, ``delta``
        (after - before), ``lost``, ``gained`` [h], ``covered`` (facade point
        now inside the project: a new party wall); 3D point geometry.
    removed, added : list
        Building ids replaced by the project and added with it.
    """

    def __init__(
        self, before, after, sensors, covered, frames, removed, added, n_worst
    ):
        self.crs = before.crs
        self.removed = list(removed)
        self.added = list(added)
        self.n_worst = n_worst
        self.dates = [d for d, _, _ in frames]
        north = _site(before)[2]
        orient = np.full(len(sensors), None, dtype=object)
        wall = sensors.kind == "wall"
        if wall.any():
            orient[wall] = _orientation(sensors.normals[wall], north)[0]
        parcel = np.full(len(sensors), None, dtype=object)
        B = before.buildings
        on_b = sensors.building_id != None  # noqa: E711 - object array
        if on_b.any() and "parcel_id" in B.columns:
            parcel[on_b] = B["parcel_id"].reindex(sensors.building_id[on_b]).to_numpy()
        P = before.parcels
        if len(P) and (~on_b).any():
            idx = np.flatnonzero(~on_b)
            tree = shapely.STRtree(P.geometry.values)
            i, j = tree.query(
                shapely.points(sensors.points[idx, :2]), predicate="intersects"
            )
            first = np.r_[True, i[1:] != i[:-1]] if len(i) else np.zeros(0, bool)
            parcel[idx[i[first]]] = P.index.to_numpy()[j[first]]
        rows = []
        p = sensors.points
        for day, h0, h1 in frames:
            d = h1 - h0
            d = np.where(np.abs(d) < DELTA_TOL, 0.0, d)
            rows.append(
                pd.DataFrame(
                    {
                        "sensor": np.arange(len(sensors)),
                        "date": day.date(),
                        "kind": sensors.kind,
                        "building_id": sensors.building_id,
                        "parcel_id": parcel,
                        "orientation": orient,
                        "area": sensors.areas,
                        "x": p[:, 0],
                        "y": p[:, 1],
                        "z": p[:, 2],
                        "before": h0,
                        "after": h1,
                        "delta": d,
                        "lost": np.maximum(-d, 0.0),
                        "gained": np.maximum(d, 0.0),
                        "covered": covered,
                    }
                )
            )
        df = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
        self.points = gpd.GeoDataFrame(
            df, geometry=gpd.points_from_xy(df["x"], df["y"], df["z"]), crs=self.crs
        )

    @staticmethod
    def _agg(df, keys):
        df = df.assign(
            a_before=df["before"] * df["area"],
            a_after=df["after"] * df["area"],
            a_losing=np.where(df["delta"] < 0, df["area"], 0.0),
            a_gaining=np.where(df["delta"] > 0, df["area"], 0.0),
        )
        g = df.groupby(keys, sort=True, dropna=False)
        out = g.agg(
            sensors=("delta", "size"),
            area=("area", "sum"),
            a_before=("a_before", "sum"),
            a_after=("a_after", "sum"),
            worst_delta=("delta", "min"),
            best_delta=("delta", "max"),
            area_losing=("a_losing", "sum"),
            area_gaining=("a_gaining", "sum"),
        )
        out["mean_before"] = out.pop("a_before") / out["area"]
        out["mean_after"] = out.pop("a_after") / out["area"]
        out["mean_delta"] = out["mean_after"] - out["mean_before"]
        cols = [
            "sensors",
            "area",
            "mean_before",
            "mean_after",
            "mean_delta",
            "worst_delta",
            "best_delta",
            "area_losing",
            "area_gaining",
        ]
        return out[cols].reset_index()

    @property
    def _open(self):
        """Points that stay in the open air (not covered by the project)."""
        return self.points[~self.points["covered"].to_numpy(bool)]

    @property
    def by_building(self) -> pd.DataFrame:
        """Per date, neighbouring building, surface kind and facade
        orientation: ``sensors``, ``area`` [m²], ``mean_before``,
        ``mean_after``, ``mean_delta`` (area-weighted) and ``worst_delta`` /
        ``best_delta`` (single points) [h], ``area_losing`` /
        ``area_gaining`` [m²]. Facade points the project covers (new party
        walls) are left out; see ``points["covered"]``."""
        P = self._open
        P = P[P["kind"].isin(["roof", "wall"])]
        P = P.assign(orientation=P["orientation"].fillna("-"))
        return self._agg(P, ["date", "building_id", "kind", "orientation"])

    @property
    def by_parcel(self) -> pd.DataFrame:
        """Per date and parcel (open ground and the buildings on it), same
        columns as :attr:`by_building`."""
        P = self._open
        P = P[P["parcel_id"].notna()]
        return self._agg(P, ["date", "parcel_id", "kind"])

    @property
    def worst(self) -> pd.DataFrame:
        """The ``n_worst`` largest mean losses per date among facades (building ×
        orientation), roofs and open-ground parcels, worst first."""
        b = self.by_building.rename(columns={"building_id": "id"})
        b.insert(1, "level", "building")
        p = self.by_parcel
        p = p[p["kind"] == "ground"].rename(columns={"parcel_id": "id"})
        p.insert(1, "level", "parcel")
        p["orientation"] = "-"
        allw = pd.concat([b, p], ignore_index=True)
        allw = allw[allw["mean_delta"] < 0]
        allw = (
            allw.sort_values(["date", "mean_delta"]).groupby("date").head(self.n_worst)
        )
        return allw.reset_index(drop=True)

    def summary(self) -> dict:
        """Per date: area of facades the project covers (new party walls), area
        losing / gaining sun [m²], mean and worst change [h] of the others."""
        out = {
            "removed": self.removed,
            "added": self.added,
            "sensors": int(self.points["sensor"].nunique()) if len(self.points) else 0,
        }
        for day, grp in self.points.groupby("date"):
            covered = grp["covered"].to_numpy(bool)
            area_covered = float(grp.loc[covered, "area"].sum())
            grp = grp[~covered]
            losing = grp["delta"] < 0
            out[str(day)] = {
                "area_covered_m2": round(area_covered, 1),
                "area_losing_m2": round(float(grp.loc[losing, "area"].sum()), 1),
                "area_gaining_m2": round(
                    float(grp.loc[grp["delta"] > 0, "area"].sum()), 1
                ),
                "mean_delta_h": round(
                    float(np.average(grp["delta"], weights=grp["area"])), 3
                ),
                "worst_delta_h": round(float(grp["delta"].min()), 3),
                "buildings_losing": int(
                    grp.loc[
                        losing & grp["building_id"].notna(), "building_id"
                    ].nunique()
                ),
            }
        return out

    def __repr__(self) -> str:
        s = self.summary()
        parts = [
            f"{d}: {v['area_losing_m2']:.0f} m² lose sun (worst {v['worst_delta_h']:+.2f} h)"
            for d, v in s.items()
            if isinstance(v, dict)
        ]
        return (
            f"<ImpactResult added {self.added}, removed {self.removed}; "
            + "; ".join(parts)
            + ">"
        )

    def to_file(self, path, what: str = "worst"):
        """Write ``what`` = ``"worst"``, ``"by_building"``, ``"by_parcel"`` (CSV)
        or ``"points"`` (GeoPackage / GeoParquet / OGR format by extension)."""
        from pathlib import Path

        path = Path(path)
        if what == "points":
            pts = self.points.assign(date=self.points["date"].astype(str))
            if path.suffix.lower() == ".parquet":
                pts.to_parquet(path)
            else:
                pts.to_file(path)
        elif what in ("worst", "by_building", "by_parcel"):
            getattr(self, what).to_csv(path, index=False)
        else:
            raise InputError(
                f"unknown output {what!r}; expected 'worst', 'by_building', 'by_parcel' or 'points'"
            )
        return path

    def plot(self, date=None, ax=None, cmap="RdBu", vlim=None, buildings=None):
        """Map of sun-hours change on one date (blue gained, red lost)."""
        from ._compat import import_optional

        plt = import_optional("matplotlib.pyplot")
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 8))
        date = (
            self.dates[-1].date() if date is None else _stamp(date, DEFAULT_TZ).date()
        )
        P = self.points[self.points["date"] == date].sort_values("z")
        v = vlim or max(float(np.abs(P["delta"]).max()), 0.1)
        sc = ax.scatter(P["x"], P["y"], c=P["delta"], s=2, cmap=cmap, vmin=-v, vmax=v)
        if buildings is not None and len(buildings):
            buildings.boundary.plot(ax=ax, color="0.3", linewidth=0.4)
        ax.figure.colorbar(sc, ax=ax, shrink=0.7, label="sun-hours change [h]")
        ax.set_aspect("equal")
        ax.set_title(f"Project impact on sun-hours, {date}")
        return ax
