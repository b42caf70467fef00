"""Water levels for flood scenarios: gauges, levels with provenance, profiles.

Levels are altitudes in a vertical datum (NGF-IGN69 in France). A gauge
reading is converted with the gauge zero (Paris-Austerlitz: 25.92 m
NGF-IGN69, so the 1910 Seine flood, 8.62 m at the gauge, stood at 34.54 m).
A :class:`LevelProfile` gives levels at stations along a river axis; every DEM
cell takes the level of its nearest river point.

Every public name here is re-exported by :mod:`cimcity.flood`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS

from .._kernels import flood as K
from ..errors import CimcityWarning, GeometryError, InputError

__all__ = [
    "GAUGES",
    "HISTORIC_FLOODS",
    "Gauge",
    "Level",
    "LevelProfile",
    "gauge_level",
    "scenario",
]


@dataclass(frozen=True)
class Gauge:
    """A river gauge: readings are heights above its zero.

    Attributes
    ----------
    name : str
    river : str
    zero : float
        Altitude of the gauge zero [m, ``datum``].
    datum : str
        Vertical datum of ``zero``.
    """

    name: str
    river: str
    zero: float
    datum: str


#: known gauges by key
GAUGES = {
    # Paris-Austerlitz (Seine), gauge zero 25.92 m NGF-IGN69 (Vigicrues / DRIEAT)
    "austerlitz": Gauge("Paris-Austerlitz", "Seine", 25.92, "NGF-IGN69"),
}

#: historic peak readings at Paris-Austerlitz [m above the gauge zero]
HISTORIC_FLOODS = {
    "1910": 8.62,  # January 1910, the reference flood of the Paris PPRI
    "2016": 6.10,  # June 2016
    "2018": 5.84,  # January 2018
}


@dataclass(frozen=True)
class Level:
    """A water level with its provenance.

    Attributes
    ----------
    value : float
        Altitude of the water surface [m, ``datum``].
    datum : str or None
        Vertical datum (None: the DEM's).
    gauge : str or None
        Gauge key when the level comes from a reading.
    reading : float or None
        Gauge reading [m above the gauge zero].
    name : str or None
        Scenario label (e.g. ``"1910"``).
    """

    value: float
    datum: str | None = None
    gauge: str | None = None
    reading: float | None = None
    name: str | None = None

    def __float__(self) -> float:
        return float(self.value)

    def label(self) -> str:
        s = f"{self.value:.2f} m"
        if self.datum:
            s += f" {self.datum}"
        if self.reading is not None:
            s += f" ({self.reading:.2f} m at {GAUGES[self.gauge].name})"
        if self.name:
            s = f"{self.name}: {s}"
        return s


def gauge_level(reading, gauge: str = "austerlitz", name: str | None = None):
    """Water level(s) from gauge reading(s).

    Parameters
    ----------
    reading : float or (k,) array-like
        Height(s) of water above the gauge zero [m].
    gauge : str
        Key of :data:`GAUGES` (default ``"austerlitz"``, zero 25.92 m NGF-IGN69).
    name : str, optional
        Scenario label.

    Returns
    -------
    Level or list of Level
        ``value = zero + reading`` [m] in the gauge's datum.

    Examples
    --------
    >>> gauge_level(8.62).value  # the 1910 Seine flood at Austerlitz
    34.54
    """
    if gauge not in GAUGES:
        raise InputError(f"unknown gauge {gauge!r}; expected one of {sorted(GAUGES)}")
    g = GAUGES[gauge]
    if np.ndim(reading) > 0:
        return [gauge_level(r, gauge) for r in np.asarray(reading, float).ravel()]
    r = finite_float(reading, "gauge reading")
    return Level(round(g.zero + r, 6), g.datum, gauge, r, name)


def scenario(name) -> Level:
    """Level of a historic flood of :data:`HISTORIC_FLOODS` (Paris-Austerlitz).

    Parameters
    ----------
    name : str or int
        ``"1910"``, ``"2016"`` or ``"2018"``.
    """
    key = str(name)
    if key not in HISTORIC_FLOODS:
        raise InputError(
            f"unknown flood scenario {name!r}; expected one of {sorted(HISTORIC_FLOODS)}"
            f" (or give a gauge reading with gauge_level)"
        )
    return gauge_level(HISTORIC_FLOODS[key], "austerlitz", name=key)


@dataclass(eq=False)
class LevelProfile:
    """Water levels at stations along a river line.

    Each DEM cell takes the level of its nearest point on ``line``: the
    chainage of that point is interpolated linearly between stations (levels
    are held constant before the first and after the last station).

    Parameters
    ----------
    line : shapely LineString (or a GeoSeries / GeoDataFrame holding one)
        River axis in the DEM CRS [m]; chainage runs from its first vertex.
    stations : (k,) array-like
        Chainages of the stations along ``line`` [m], strictly increasing.
    levels : (k,) array-like
        Water level at each station [m, ``datum``].
    datum : str, optional
        Vertical datum of ``levels`` (None: the DEM's).

    See Also
    --------
    LevelProfile.from_points : stations given as points near the line.
    """

    line: object
    stations: np.ndarray
    levels: np.ndarray
    datum: str | None = None
    crs: object = None

    def __post_init__(self):
        line = self.line
        if hasattr(line, "geometry") and hasattr(
            line, "crs"
        ):  # GeoSeries / GeoDataFrame
            if self.crs is None:
                self.crs = line.crs
            geoms = np.asarray(
                line.geometry.values if hasattr(line, "columns") else line.values
            )
            line = (
                shapely.line_merge(shapely.union_all(geoms))
                if len(geoms) > 1
                else geoms[0]
            )
        if isinstance(line, shapely.MultiLineString):
            line = shapely.line_merge(line)
        if (
            not isinstance(line, shapely.LineString)
            or line.is_empty
            or line.length <= 0
        ):
            raise GeometryError(
                f"a level profile needs one non-empty LineString (the river axis); "
                f"got {getattr(line, 'geom_type', type(line).__name__)}"
            )
        self.line = line
        s = np.atleast_1d(np.asarray(self.stations, dtype=float))
        v = np.atleast_1d(np.asarray(self.levels, dtype=float))
        if s.ndim != 1 or s.shape != v.shape or not len(s):
            raise InputError(
                f"stations and levels must be 1D arrays of the same non-zero length; "
                f"got shapes {s.shape} and {v.shape}"
            )
        if not (np.isfinite(s).all() and np.isfinite(v).all()):
            raise InputError("stations and levels must be finite numbers")
        if len(s) > 1 and not (np.diff(s) > 0).all():
            raise InputError(
                f"stations must increase strictly along the line; got {s.tolist()}"
            )
        self.stations, self.levels = s, v

    @classmethod
    def from_points(cls, line, points, levels, datum=None, crs=None) -> LevelProfile:
        """Profile from station points (e.g. gauges) near the river line.

        Parameters
        ----------
        line : LineString
            River axis [m].
        points : sequence of shapely Points or (k, 2) array [m]
            Stations; each is projected on its nearest point of ``line``.
        levels : (k,) array-like
            Level at each point [m].
        """
        prof = cls(line, [0.0], [0.0], datum, crs)  # validates and merges the line
        if isinstance(points, np.ndarray) and points.ndim == 2:
            pts = shapely.points(points[:, :2])
        else:
            pts = np.asarray(list(points), dtype=object)
        ch = shapely.line_locate_point(prof.line, pts)
        lv = np.asarray(levels, dtype=float)
        if lv.shape != ch.shape:
            raise InputError(
                f"{len(ch)} points but {lv.size} levels; give one level per point"
            )
        order = np.argsort(ch, kind="stable")
        return cls(prof.line, ch[order], lv[order], datum, crs)

    @property
    def max_level(self) -> float:
        return float(self.levels.max())

    def level_at(self, chainage) -> np.ndarray:
        """Level [m] at chainages along the line [m]."""
        return np.interp(np.asarray(chainage, float), self.stations, self.levels)

    def grid(self, terrain) -> np.ndarray:
        """Per-cell water level on the terrain grid (rows, cols) [m].

        Cells at or above the highest level, or nodata, get NaN (they cannot
        flood and are not projected on the line, which keeps this fast).
        """
        line = self.line
        if self.crs is not None:
            src = CRS.from_user_input(self.crs)
            if not src.equals(terrain.crs, ignore_axis_order=True):
                import geopandas as gpd

                line = gpd.GeoSeries([line], crs=src).to_crs(terrain.crs).iloc[0]
        # vertices closer than half a cell change no cell's nearest chainage much
        tol = 0.25 * min(terrain.resolution)
        simple = shapely.simplify(line, tol) if len(line.coords) > 64 else line
        xy = np.asarray(simple.coords, dtype=float)[:, :2]
        # chainage of the simplified vertices measured on the original line
        ch = shapely.line_locate_point(line, shapely.points(xy))
        ch = np.maximum.accumulate(ch)
        x, y = terrain.cell_centers()
        dx = x[1] - x[0] if len(x) > 1 else terrain.resolution[0]
        dy = y[1] - y[0] if len(y) > 1 else -terrain.resolution[1]
        out = np.empty(terrain.shape, np.float64)
        K.profile_levels(
            np.ascontiguousarray(terrain.elevation),
            x[0],
            dx,
            y[0],
            dy,
            self.max_level,
            np.ascontiguousarray(xy),
            ch,
            self.stations,
            self.levels,
            out,
        )
        return out

    def __repr__(self) -> str:
        return (
            f"<LevelProfile {len(self.stations)} stations over "
            f"{self.line.length:.0f} m, levels {self.levels.min():.2f}–"
            f"{self.levels.max():.2f} m {self.datum or ''}>"
        )


def finite_float(v, what) -> float:
    """``v`` as a finite float [m], or an :class:`InputError` naming ``what``."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number [m]; got {v!r}") from None
    if not math.isfinite(f):
        raise InputError(f"{what} must be a finite number [m]; got {v!r}")
    return f


def _same_datum(a: str, b: str) -> bool:
    def norm(s):
        return "".join(ch for ch in str(s).upper() if ch.isalnum())

    return norm(a) == norm(b)


def _check_datum(datum, terrain, what="level"):
    """Refuse a level whose datum differs from the DEM's; warn when unknown."""
    if datum is None:
        return
    td = terrain.vertical_datum
    if td is None or str(td).lower() == "unknown":
        warnings.warn(
            f"the DEM's vertical datum is unknown; the {what} is in {datum}: "
            f"make sure the DEM heights are too",
            CimcityWarning,
            stacklevel=6,
        )
        return
    if not _same_datum(datum, td):
        raise InputError(
            f"the {what} is in the vertical datum {datum!r} but the DEM is in {td!r}; "
            f"convert one of them first (heights in different datums differ by "
            f"decimetres to metres)"
        )


def resolve_level(level, terrain):
    """A level as given to :func:`~cimcity.flood.extent`, read for one DEM.

    Returns
    -------
    scalar : float or None
        One water level [m], or None when it varies over the grid.
    grid : (rows, cols) float64 or None
        Per-cell water level [m] (NaN: no water) for a profile or a grid.
    info : float, Level, LevelProfile or "grid"
        The level with its provenance, for labels.
    """
    if isinstance(level, Level):
        _check_datum(level.datum, terrain)
        return float(level.value), None, level
    if isinstance(level, LevelProfile):
        _check_datum(level.datum, terrain, "level profile")
        return None, level.grid(terrain), level
    if isinstance(level, np.ndarray) and level.ndim == 2:
        if level.shape != terrain.shape:
            raise InputError(
                f"a level grid must have the DEM's shape {terrain.shape}; got {level.shape}"
            )
        return None, np.ascontiguousarray(level, dtype=np.float64), "grid"
    if isinstance(level, (list, tuple, np.ndarray)) and np.ndim(level) > 0:
        raise InputError(
            f"level must be one number [m], a Level, a LevelProfile or a grid of the "
            f"DEM's shape {terrain.shape}; got a sequence of {np.size(level)} values "
            f"(use flood.sweep for several levels)"
        )
    v = finite_float(level, "water level")
    return v, None, v
