"""Sun-hours: hours of direct sun at sensors on the ground, roofs and facades.

* :func:`sun_hours` — at every time step of :func:`cimcity.sun.position.sun_steps`
  a ray goes from each sensor toward the sun; the step counts when the sun is
  up, the sensor's surface faces it and nothing in the scene mesh blocks the
  ray. The visibility of every sensor at every step is kept bit-packed on the
  result, so "is this point sunny at 15:00?" can be asked afterwards.
* :class:`SunHoursResult` — the sensors table (``sun_hours`` [h]), the ground
  raster, per-building summaries and the time queries.
* :func:`trace_sun`, :func:`hours_from_bits`, :func:`facade_orientation` —
  the array steps shared with :mod:`cimcity.sun.impact`.

Sunrise and sunset
------------------
The sun is up when its upper limb is above the horizon: geometric elevation of
the centre > :data:`~cimcity.sun.position.SUNRISE_ELEVATION` (-0.8333°,
standard refraction 34' plus semi-diameter 16', the almanac and pvlib
``sun_rise_set_transit_spa`` definition). While the disc is cut by the horizon,
rays are traced toward the middle of its visible part; above that, toward its
centre. A time step counts the fraction of its duration during which the sun is
up, so an unobstructed day length matches pvlib's sunrise/sunset to seconds at
any step (see :func:`cimcity.sun.position.sun_steps`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import i18n, maps, raycast
from .._compat import renamed_arguments
from .._progress import bar
from ..errors import InputError
from ..results import Result, plain
from ..scene.heights import check_vertical_frame
from .context import (
    check_points_frame,
    flag_context,
    in_area,
    margin_for,
    study_area,
)
from .occluders import with_trees
from .position import DEFAULT_TZ, as_stamp, scene_site, sun_steps, true_azimuth
from .sensors import resolve

__all__ = [
    "ORIENTATIONS_8",
    "ORIENTATIONS_4",
    "sun_hours",
    "SunHoursResult",
    "trace_sun",
    "hours_from_bits",
    "facade_orientation",
]

#: facade orientation sectors (8 winds), clockwise from true north
ORIENTATIONS_8 = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
#: facade orientation sectors (4 winds), clockwise from true north
ORIENTATIONS_4 = ("N", "E", "S", "W")
#: sensor × sun-step pairs above which ``progress=None`` shows a bar
_PROGRESS_PAIRS = 20_000_000


# -- array steps -------------------------------------------------------------------------------
def trace_sun(mesh, sensors, directions, engine="auto", progress=None) -> np.ndarray:
    """Which sensors see the sun in which directions (bit-packed, set = blocked).

    Parameters
    ----------
    mesh : CityMesh
        What blocks the sun.
    sensors : Sensors
        ``points`` (n, 3) [m, scene CRS] and unit ``normals`` (n, 3).
    directions : (d, 3) float
        Unit vectors toward the sun [scene CRS grid].
    engine : {"auto", "numba", "embree"}
        Ray engine (:mod:`cimcity.raycast`).
    progress : bool or None
        A progress bar (see :mod:`cimcity._progress`).

    Returns
    -------
    (n, ceil(d / 8)) uint8
        Bit ``j % 8`` of byte ``[i, j // 8]`` set when the sun in direction
        ``j`` is blocked at sensor ``i`` (or behind its surface).
    """
    n, d = len(sensors), len(directions)
    if n == 0 or d == 0:
        return np.zeros((n, (d + 7) // 8), np.uint8)
    with bar(
        n, desc="sun-hours", unit="sensor", progress=progress,
        work=n * d, threshold=_PROGRESS_PAIRS,
    ) as pb:
        done = [0]

        def advance(k, total):
            pb.update(k - done[0])
            done[0] = k

        return raycast.occluded_matrix(
            mesh,
            sensors.points,
            directions,
            normals=sensors.normals,
            engine=engine,
            packed=True,
            progress=advance,
        )


def hours_from_bits(bits, weights, rows=262_144) -> np.ndarray:
    """Sun-hours ``Σ_j (1 - blocked_ij) w_j`` [h] by per-byte lookup tables.

    Parameters
    ----------
    bits : (n, ceil(d / 8)) uint8
        Packed blocked bits (:func:`trace_sun`).
    weights : (d,) float
        Hours of each traced step [h].

    Returns
    -------
    (n,) float64
    """
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


def facade_orientation(normals, north: float, sectors: int = 8):
    """Compass sector and true azimuth of facade normals.

    Parameters
    ----------
    normals : (n, 3) float
        Facade normals in the grid frame.
    north : float
        Grid azimuth of true north [deg] (:attr:`Site.north`).
    sectors : {8, 4}
        :data:`ORIENTATIONS_8` or :data:`ORIENTATIONS_4`.

    Returns
    -------
    names : (n,) object
        Sector names (``"N"``, ``"NE"``…).
    azimuth : (n,) float64
        True azimuth of the normals [deg, clockwise from north].
    """
    names = ORIENTATIONS_8 if sectors == 8 else ORIENTATIONS_4
    az = true_azimuth(normals, north)
    width = 360.0 / len(names)
    k = np.floor((az + width / 2) / width).astype(int) % len(names)
    return np.asarray(names, dtype=object)[k], az


# -- the analysis ------------------------------------------------------------------------------
@renamed_arguments(date_or_period="when")
def sun_hours(
    scene,
    when,
    *,
    step="6min",
    spacing: float = 1.0,
    surfaces=("roof", "wall", "ground"),
    points=None,
    normals=None,
    tz: str = DEFAULT_TZ,
    ground_bounds=None,
    engine: str = "auto",
    progress=None,
    trees: bool = False,
    area=None,
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
    when : date or (start, end)
        One local day (``"2024-12-21"``) or a half-open period
        (``("2024-06-01", "2024-07-01")``: all of June); naive values are local
        to ``tz`` (old name: ``date_or_period``).
    step : str or Timedelta
        Time step (default ``"6min"``).
    spacing : float
        Distance between sensors [m], on every surface and for the ground grid.
    surfaces : sequence of {"roof", "wall", "ground"}
        ``"ground"`` is the open ground: a grid of cell centres outside the
        footprints, on the terrain mesh when the scene has terrain, else at
        the nearest building's ``ground_z``; it also gives
        :attr:`SunHoursResult.ground` (a raster).
    points : (n, 3) float, optional
        Sensor positions [m, scene CRS] instead of sampled surfaces; offset
        them off their surface (5 cm) so rays do not start inside it.
    normals : (n, 3) or (3,) float, optional
        Normals of ``points`` (default: up).
    tz : str
        Timezone of naive dates.
    ground_bounds : (minx, miny, maxx, maxy) or polygon, optional
        Extent of the ground grid [m]; default: the scene's bounds (padded by
        the tallest building's height when the scene has only buildings).
        Former, ground-only spelling of ``area``.
    area : polygon or (minx, miny, maxx, maxy), optional
        Study area [m, scene CRS]: only sensors inside it are reported (the
        ground grid covers it); default: the study area a
        :meth:`Scene.clip` recorded, else everywhere. Every building of the
        scene still blocks the sun (see :mod:`cimcity.sun.context`).
    engine : {"auto", "numba", "embree"}
        Ray engine (:mod:`cimcity.raycast`).
    progress : bool or None
        Progress bar of the ray tracing (None: only for long runs on a
        terminal; see :mod:`cimcity._progress`).
    trees : bool
        Tree crowns block the sun too (vegetation polygons of kind ``tree``
        with a ``height`` and a ``scene.rasters["cdsm"]`` canopy raster, see
        :func:`cimcity.sun.occluders.tree_crowns`); crowns are opaque here (a step
        is sunny or not). Off by default: buildings and terrain only, as
        right-to-light studies compare buildings.

    Returns
    -------
    SunHoursResult
        ``.sensors`` (GeoDataFrame, column ``sun_hours`` [h],
        ``edge_context_m`` [m] and ``context_ok``), ``.ground`` raster [h],
        ``.by_building`` facade/roof summaries, ``.steps``, ``.context``
        (the margin needed, see :mod:`cimcity.sun.context`) and
        ``.is_sunny(time)`` / ``.sunny_at(time)`` queries.

    Raises
    ------
    InputError
        Unreadable dates, time zone or step, unknown surfaces, bad spacing or
        points, a bad ``area``, a spacing asking for more sensors than
        :data:`cimcity.sun.sensors.MAX_SENSORS` (raise it to go further).
    CRSError
        ``area`` or ``ground_bounds`` in longitude/latitude.
    GeoreferenceError
        Layers of the scene in different vertical frames (buildings' ground
        vs the terrain, a project's base vs the ground), see
        :func:`cimcity.scene.heights.check_vertical_frame`.
    EngineError
        Unknown or unavailable ray engine.

    Warns
    -----
    DataQualityWarning
        Sensors closer to the edge of the known buildings than the context
        margin (``context_ok=False``: their sun-hours are upper bounds).
    """
    steps = sun_steps(scene, when, step=step, tz=tz)
    check_vertical_frame(scene, refuse=True, what="sun_hours")
    region = study_area(scene, area, ground_bounds)
    sensors = resolve(
        scene,
        surfaces=surfaces,
        spacing=spacing,
        points=points,
        normals=normals,
        ground_bounds=region if region is not None else ground_bounds,
        engine=engine,
    )
    if region is not None and points is None:
        sensors = sensors.subset(in_area(region, sensors.points[:, :2]))
    check_points_frame(scene, sensors, points)
    mesh = with_trees(scene) if trees else scene.mesh()
    traced = steps["sun_up"].to_numpy() > 0
    dirs = steps.loc[traced, ["sx", "sy", "sz"]].to_numpy()
    bits = trace_sun(mesh, sensors, dirs, engine, progress)
    res = SunHoursResult(scene, sensors, steps, bits, spacing=spacing)
    res.context = margin_for(scene, steps.loc[traced, "elevation"].to_numpy())
    res.context["study_area"] = region
    flag_context(res.sensors, scene, res.context, "sun_hours")
    return res


# -- the result --------------------------------------------------------------------------------
class SunHoursResult(Result):
    """Result of :func:`sun_hours`.

    Attributes
    ----------
    sensors : geopandas.GeoDataFrame
        The main table (:attr:`table`): one row per sensor, ``x, y, z`` [m],
        ``nx, ny, nz``, ``kind`` (ground, roof, wall, point), ``building_id``,
        ``area`` [m²], ``orientation`` (compass sector of wall normals, true
        north), ``sun_hours`` [h]; 3D point geometry in the scene CRS.
    steps : pandas.DataFrame
        The time steps (see :func:`cimcity.sun.position.sun_steps`); column
        ``column`` gives each traced step's position in the visibility bits
        (-1: sun down).
    blocked_bits : (n, ceil(d / 8)) uint8
        Bit ``j`` of sensor ``i`` set when the sun was blocked (or behind the
        surface) at traced step ``j``; see :func:`cimcity.raycast.unpack_matrix`.
    ground : numpy.ndarray or None
        (rows, cols) sun-hours of the ground grid [h], NaN under buildings or
        off the grid; georeferenced by ``ground_transform`` (rasterio
        ``Affine``) in ``crs``; written by ``to_file("x.tif")``.
    """

    _title = "sun-hours"

    def __init__(self, scene, sensors, steps, bits, spacing=None):
        self.crs = scene.crs
        #: the scene studied (base layers of the maps)
        self.scene = scene
        self.spacing = spacing
        #: context margin of the study (:func:`cimcity.sun.context.margin_for`)
        #: and its ``study_area``; filled by :func:`sun_hours`
        self.context = {}
        self._sensors = sensors
        steps = steps.copy()
        traced = steps["sun_up"].to_numpy() > 0
        col = np.full(len(steps), -1, np.int64)
        col[traced] = np.arange(int(traced.sum()))
        steps["column"] = col
        self.steps = steps
        self.blocked_bits = bits
        self._weights = steps.loc[traced, "hours"].to_numpy()
        self.north = scene_site(scene).north
        hours = hours_from_bits(bits, self._weights) if len(sensors) else np.zeros(0)
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
            orient[wall] = facade_orientation(s.normals[wall], self.north)[0]
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

    # -- protocol ----------------------------------------------------------------------------
    def tables(self) -> dict:
        """``sensors`` (main), ``by_building`` and ``steps``."""
        return {
            "sensors": self.sensors,
            "by_building": self.by_building,
            "steps": self.steps,
        }

    def _raster(self):
        if self.ground is None:
            return None
        return self.ground, self.ground_transform, self.crs.to_wkt(), np.nan

    @renamed_arguments(what="layer")
    def to_file(self, path, layer: str | None = None):
        """Write ``sensors`` (default), ``by_building`` or ``steps`` (GeoPackage,
        GeoParquet, CSV by suffix), or the ground raster (``.tif``); see
        :meth:`cimcity.results.Result.to_file`. Old name of ``layer``: ``what``."""
        return super().to_file(path, layer)

    # -- queries -----------------------------------------------------------------------------
    @property
    def total_hours(self) -> float:
        """Hours with the sun up over the period (an open horizontal plane's
        sun-hours) [h]."""
        return float(self.steps["hours"].sum())

    def _step_of(self, time):
        t = as_stamp(time, self.steps["start"].dt.tz)
        st = self.steps
        hit = np.flatnonzero((st["start"] <= t).to_numpy() & (st["end"] > t).to_numpy())
        if not len(hit):
            raise InputError(
                f"{t} is outside the period studied ({st['start'].iloc[0]} to "
                f"{st['end'].iloc[-1]})"
            )
        return int(hit[0])

    @renamed_arguments(time="when")
    def is_sunny(self, when) -> np.ndarray:
        """(n,) bool: sensors in direct sun during the step containing ``when``
        (naive times are local to the study's timezone); all False with the sun
        down."""
        k = self._step_of(when)
        j = int(self.steps["column"].iloc[k])
        if j < 0:
            return np.zeros(len(self.sensors), bool)
        return (self.blocked_bits[:, j // 8] >> (j % 8)) & 1 == 0

    @renamed_arguments(time="when")
    def sunny_at(self, when) -> gpd.GeoDataFrame:
        """The sensors table with a boolean ``sunny`` column for ``when``."""
        out = self.sensors.copy()
        out["sunny"] = self.is_sunny(when)
        return out

    def visibility(self) -> pd.DataFrame:
        """(n, steps) bool table: True where a sensor is in direct sun
        (columns: step middles; unpacked, so mind memory on long periods)."""
        d = len(self._weights)
        sunny = (
            ~raycast.unpack_matrix(self.blocked_bits, d)
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

    # -- summaries ---------------------------------------------------------------------------
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
        """Period, steps, sun-up hours [h], sensors, the area-weighted mean
        sun-hours of each surface kind (``<kind>_mean_hours`` [h]), the
        context margin (``context_m`` [m]) and the sensors that lack it."""
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
        if self.context:
            out["context_m"] = self.context["context_m"]
            if "context_ok" in S.columns:
                out["sensors_without_context"] = int((~S["context_ok"]).sum())
        return plain(out)

    def __repr__(self) -> str:
        s = self.summary()
        kinds = ", ".join(
            f"{k[:-11]} {v} h" for k, v in s.items() if k.endswith("_mean_hours")
        )
        return (
            f"<SunHoursResult {s['period'][0]} → {s['period'][1]}: "
            f"{s['sensors']:,} sensors × {s['traced_steps']} sunny steps; "
            f"sun up {s['sun_up_hours']} h; mean {kinds}>"
        )

    # -- output ------------------------------------------------------------------------------
    def plot(
        self,
        column=None,
        *,
        ax=None,
        kind=None,
        cmap=None,
        vmax=None,
        buildings=None,
        scene=None,
        basemap=None,
        title=None,
        lang=None,
        axes="km",
        extent=None,
    ):
        """Map of sun-hours: the ground raster and sensors as points (top view).

        Drawn with :mod:`cimcity.maps`: the scene's layers as a base, scale
        bar, north arrow (grid north), the study area outlined and its context
        greyed, a title with the place and the day or period.

        Parameters
        ----------
        column : str, optional
            Sensor column that colours the points (default ``sun_hours`` [h]);
            the ground raster is drawn for ``sun_hours`` only.
        ax : matplotlib Axes, optional
        kind : str or sequence, optional
            Sensor kinds drawn as points besides the ground raster (default:
            roof and point sensors).
        cmap : str, optional
            Matplotlib colour map (default: sequential ``inferno``).
        vmax : float, optional
            Top of the colour scale (default: the period's sun-up hours for
            ``sun_hours`` [h], else the column's maximum).
        buildings : GeoDataFrame, optional
            Footprints outlined on top (default: the scene's buildings).
        scene : Scene, optional
            Its layers (parcels, roads, water, vegetation, footprints) form the
            base; its name the title's place.
        basemap : {None, "ign", "osm"}
            Web tiles under the map when a network is there.
        title : str, optional
            Default: quantity, place and day or period.
        lang : {"fr", "en"}, optional
            Language of the labels (default: :func:`cimcity.i18n.get_language`).
        axes : {"km", "hidden"}
            Coordinates in kilometres or no axes.
        extent : (xmin, ymin, xmax, ymax), optional
            Map extent [m] (default: the ground grid, else the sensors).

        Returns
        -------
        matplotlib.axes.Axes
        """
        column = "sun_hours" if column is None else column
        if column not in self.sensors.columns:
            raise InputError(
                f"unknown column {column!r}; sensors have {list(self.sensors.columns)}"
            )
        kinds = (
            ("roof", "point")
            if kind is None
            else ((kind,) if isinstance(kind, str) else tuple(kind))
        )
        scene = self.scene if scene is None else scene
        S = self.sensors[self.sensors["kind"].isin(kinds)]
        ground = self.ground is not None and column == "sun_hours"
        if extent is None:
            if self.ground is not None:
                t = self.ground_transform
                rows, cols = self.ground.shape
                extent = (t.c, t.f + rows * t.e, t.c + cols * t.a, t.f)
            else:
                extent = maps.extent_of(self.sensors[["x", "y"]].to_numpy(), pad=5.0)
        ax = maps.start(
            ax, extent, crs=self.crs, scene=scene, basemap=basemap, lang=lang
        )
        if vmax is None:
            vmax = (
                self.total_hours
                if column == "sun_hours"
                else float(np.nanmax(self.sensors[column], initial=0.0))
            )
        quantity = "sun_hours" if column == "sun_hours" else column
        cm, norm, ticks = maps.color_scale(
            quantity, S[column], vmin=0.0, vmax=max(vmax, 1e-9), cmap=cmap
        )
        im = None
        if ground:
            t = self.ground_transform
            rows, cols = self.ground.shape
            im = ax.imshow(
                self.ground,
                extent=(t.c, t.c + cols * t.a, t.f + rows * t.e, t.f),
                cmap=cm,
                norm=norm,
                interpolation="nearest",
                zorder=maps.Z_DATA,
            )
        S = S[maps.points_in(S["x"], S["y"], extent)]
        if len(S):
            if kinds == ("roof", "point"):
                S = S.sort_values("z")
            sc = ax.scatter(
                S["x"], S["y"], c=S[column], cmap=cm, norm=norm, marker="s",
                s=maps.marker_size(ax, self.spacing or 1.0), linewidths=0,
                zorder=maps.Z_DATA + 0.5,
            )
            im = im or sc
        if buildings is None and scene is not None:
            buildings = scene.buildings
        maps.footprints(ax, buildings, extent, color="0.3", linewidth=0.4)
        legend = maps.study_area(ax, self.context.get("study_area"), extent, lang=lang)
        if im is not None:
            maps.colorbar(ax, im, quantity, lang=lang, ticks=ticks)
        if title is None:
            start, end = self.steps["start"].iloc[0], self.steps["end"].iloc[-1]
            head = i18n.term("sun_hours", lang)
            if column != "sun_hours":
                head = column.replace("_", " ")
            place = maps.place_of(scene, self.crs, extent, lang)
            when = i18n.format_period(start, end - pd.Timedelta("1ns"), lang)
            title = head + " — " + ", ".join(p for p in (place, when) if p)
        return maps.finish(ax, title=title, lang=lang, axes=axes, legend=legend)
