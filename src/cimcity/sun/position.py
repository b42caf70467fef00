"""Where and when: the site, sun positions, the grid frame and time parsing.

Every sun analysis (irradiance, shadows, sun-hours, impact, the sky patches)
takes its site, its sun directions and its times from this module only, so the
same instant gives the same sun vector (to the last bit) everywhere.

Grid frame
----------
The mesh frame of a scene is its projected CRS: ``x`` = easting, ``y`` =
northing, i.e. **grid north**, which differs from **true north** by the
meridian convergence. Azimuths at the API are clockwise from true north (pvlib
SPA), so every direction toward the sun or a sky patch is turned into the grid
before it meets the mesh::

    grid azimuth = true azimuth + north

with ``north`` the grid azimuth of true north at the site, ``north = -γ`` where
``γ`` is PROJ's meridian convergence (``pyproj.Proj(crs).get_factors(lon,
lat).meridian_convergence``). In Lambert-93 ``north`` is about +0.49° at Paris
(2.35° E, west of the 3° E central meridian) and 0 on that meridian. A
geographic CRS, a CRS without a projection or no CRS give ``north = 0``. The
convergence is taken at the scene centre: across a 10 km Lambert-93 scene it
varies by ~0.07°, which moves a 60 m shadow tip by under 10 cm.

Times: ``when=``
----------------
Every time argument of cimcity is called ``when`` and accepts

* a timestamp (``"2026-12-21 15:00"``, ``datetime``, ``pd.Timestamp``): one
  instant;
* a date (``"2026-12-21"``, ``datetime.date``): the whole local day;
* a period ``(start, end)``: half-open ``[start, end)``;
* a ``pd.DatetimeIndex`` or a list of times: those instants.

Naive times are local to ``tz`` (default :data:`DEFAULT_TZ`, Europe/Paris), as
``docs/conventions.md`` says. :func:`as_times` reads instants,
:func:`as_period` a covering period, :func:`sun_steps` the time steps of a
study over a period.

Sun positions come from pvlib's NREL SPA (``method="nrel_numpy"``); nothing
here re-implements astronomy.
"""

from __future__ import annotations

import datetime as _dt
import functools
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = [
    "DEFAULT_TZ",
    "TYPICAL_YEAR",
    "SUNRISE_ELEVATION",
    "SUN_SEMI_DIAMETER",
    "Site",
    "site",
    "grid_north",
    "direction_vectors",
    "true_azimuth",
    "check_tz",
    "as_stamp",
    "as_times",
    "as_period",
    "as_step",
    "period_times",
    "check_site",
    "period_bounds",
    "when_from_start_end",
    "sun_positions",
    "sun_table",
    "sun_steps",
]

#: timezone of naive times (the one definition in cimcity)
DEFAULT_TZ = "Europe/Paris"
#: year given to typical-year (EPW) data and default annual studies (not leap)
TYPICAL_YEAR = 2023
#: geometric elevation of the sun's centre at sunrise/sunset [deg]
SUNRISE_ELEVATION = -0.8333
#: apparent semi-diameter of the sun [deg]
SUN_SEMI_DIAMETER = 0.2667


@dataclass(frozen=True)
class Site:
    """Where the sun is computed, and how the scene grid is turned.

    Attributes
    ----------
    latitude, longitude : float
        Scene centre [deg WGS84].
    altitude : float
        Site altitude [m] (sets the pressure for refraction).
    north : float
        Grid azimuth of true north [deg] (``-`` PROJ meridian convergence).
    """

    latitude: float
    longitude: float
    altitude: float
    north: float


def _horizontal_crs(crs):
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    if c.is_compound:
        subs = [s for s in c.sub_crs_list if s.is_projected or s.is_geographic]
        if not subs:
            return None
        c = subs[0]
    return c


def grid_north(crs, longitude: float, latitude: float) -> float:
    """Grid azimuth of true north at a place [deg]: ``grid = true + north``.

    Parameters
    ----------
    crs : pyproj CRS input or None
        The scene CRS.
    longitude, latitude : float
        Place [deg WGS84].

    Returns
    -------
    float
        ``-meridian_convergence`` of :meth:`pyproj.Proj.get_factors` for a
        projected CRS; 0 for None, a geographic CRS or a CRS without a map
        projection (local frames).
    """
    if crs is None:
        return 0.0
    c = _horizontal_crs(crs)
    if c is None or not c.is_projected:
        return 0.0
    if not (np.isfinite(longitude) and np.isfinite(latitude)):
        raise InputError(
            f"cannot compute the grid convergence at lon={_shown(longitude)!r}, "
            f"lat={_shown(latitude)!r}: expected finite WGS84 degrees"
        )
    from pyproj import Proj
    from pyproj.exceptions import ProjError

    try:
        f = Proj(c).get_factors(float(longitude), float(latitude), errcheck=True)
    except ProjError as exc:
        raise InputError(
            f"cannot compute the grid convergence of {c.to_string()!r} at "
            f"lon={longitude}, lat={latitude}: {exc}"
        ) from exc
    gamma = f.meridian_convergence
    if not np.isfinite(gamma):
        raise InputError(
            f"the CRS {c.to_string()!r} gives no meridian convergence at "
            f"lon={longitude}, lat={latitude} (outside its area of use?)"
        )
    return float(-gamma) + 0.0  # + 0.0: no negative zero


def site(scene=None, crs=None, bounds=None, altitude=None) -> Site:
    """Latitude, longitude, altitude and grid north at a scene's centre.

    Parameters
    ----------
    scene : Scene, optional
    crs : CRS, optional
        Used with ``bounds`` when no scene is given.
    bounds : (minx, miny, maxx, maxy), optional
        Extent in ``crs`` [m]; default: the scene's bounds.
    altitude : float, optional
        Default: median building ground altitude, else the terrain's median,
        else 0 [m].

    Returns
    -------
    Site
    """
    from pyproj import Transformer

    if scene is not None:
        crs = scene.crs if crs is None else crs
        bounds = scene.bounds if bounds is None else bounds
    if crs is None:
        raise InputError("a CRS is needed to locate the site (scene.crs or crs=)")
    b = np.asarray(bounds, float)
    if b.shape != (4,) or not np.all(np.isfinite(b)):
        raise InputError(
            "cannot locate an empty scene: add buildings or terrain, or give points"
        )
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(cx, cy)
    if altitude is None:
        altitude = 0.0
        if scene is not None:
            B = scene.buildings
            if len(B) and "ground_z" in B.columns and B["ground_z"].notna().any():
                altitude = float(B["ground_z"].median())
            elif scene.terrain is not None:
                altitude = float(np.nanmedian(scene.terrain.elevation))
    return Site(float(lat), float(lon), float(altitude), grid_north(crs, lon, lat))


def direction_vectors(elevation, azimuth, north: float = 0.0) -> np.ndarray:
    """Unit vectors toward directions given by true azimuth and elevation.

    Parameters
    ----------
    elevation : (n,) array-like
        Elevation above the horizon [deg].
    azimuth : (n,) array-like
        Azimuth clockwise from true north [deg].
    north : float
        Grid azimuth of true north [deg] (:func:`grid_north`); 0 gives the
        local east-north-up frame.

    Returns
    -------
    (n, 3) float64
        ``(cos e sin g, cos e cos g, sin e)`` with ``g = azimuth + north``:
        (grid east, grid north, up).
    """
    e = np.radians(np.asarray(elevation, float))
    a = np.radians(np.asarray(azimuth, float) + north)
    ce = np.cos(e)
    return np.stack([ce * np.sin(a), ce * np.cos(a), np.sin(e)], axis=-1)


def true_azimuth(vectors, north: float = 0.0) -> np.ndarray:
    """True azimuth [deg, 0-360) of grid-frame vectors (e.g. facade normals).

    Parameters
    ----------
    vectors : (n, 3) float
        Directions in the grid frame.
    north : float
        Grid azimuth of true north [deg].

    Returns
    -------
    (n,) float64
    """
    v = np.atleast_2d(np.asarray(vectors, float))
    if not len(v):
        return np.zeros(0)
    return (np.degrees(np.arctan2(v[:, 0], v[:, 1])) - north) % 360.0


def _shown(value):
    """A value as it reads in a message (numpy scalars as Python ones; the
    same as :func:`cimcity.scene.summary.shown`, which this foundation module
    does not import)."""
    return value.item() if isinstance(value, np.generic) else value


# -- times ----------------------------------------------------------------------------
@functools.lru_cache(maxsize=64)
def _known_tz(name: str) -> bool:
    try:
        pd.Timestamp("2000-01-01").tz_localize(name)
    except Exception:  # zoneinfo, pytz and dateutil raise their own errors
        return False
    return True


def check_tz(tz):
    """``tz`` unchanged when it is a time zone (an IANA name such as
    ``"Europe/Paris"``, ``"UTC"`` or a ``tzinfo``); None passes (no zone).

    Raises
    ------
    InputError
        Naming the unknown zone.
    """
    if tz is None or isinstance(tz, _dt.tzinfo):
        return tz
    if not isinstance(tz, str) or not _known_tz(tz):
        raise InputError(
            f"unknown time zone {tz!r}; expected an IANA name such as "
            f"{DEFAULT_TZ!r} or 'UTC'"
        )
    return tz


def as_stamp(value, tz=DEFAULT_TZ) -> pd.Timestamp:
    """One time as a tz-aware Timestamp (naive values are local to ``tz``).

    Raises
    ------
    InputError
        When ``value`` is not a date or time, ``tz`` not a time zone, or a
        naive time that does not exist or is ambiguous in ``tz`` (a daylight
        saving change).
    """
    check_tz(tz)
    if isinstance(value, str) and "/" in value:
        # pandas reads "2026-06-01/2026-06-08" as 1 June at UTC-08:00
        raise InputError(
            f"{value!r} is a period (START/END), not one time; give a period as "
            f"when= (or a (start, end) pair)"
        )
    try:
        t = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"cannot read {value!r} as a date or time; expected e.g. '2024-12-21', "
            f"'2024-12-21 15:00' or a datetime"
        ) from exc
    if t is pd.NaT:
        raise InputError(f"cannot read {value!r} as a date or time (NaT)")
    if t.tz is not None:
        return t
    try:
        return t.tz_localize(tz)
    except Exception as exc:  # pytz NonExistentTimeError / AmbiguousTimeError
        raise InputError(
            f"{value!r} is not one instant in {tz}: {exc}; give an aware time "
            f"(e.g. with a UTC offset)"
        ) from exc


def _is_scalar_time(when) -> bool:
    return isinstance(when, str | _dt.date | pd.Timestamp | np.datetime64)


def as_times(when, tz=DEFAULT_TZ) -> pd.DatetimeIndex:
    """Instants of ``when`` as a tz-aware DatetimeIndex.

    Parameters
    ----------
    when : time, sequence of times or DatetimeIndex
        Naive values are local to ``tz``; a date alone is its midnight.
    tz : str
        Timezone of naive values.

    Returns
    -------
    pandas.DatetimeIndex
    """
    check_tz(tz)
    if isinstance(when, pd.DatetimeIndex):
        idx = when
    elif _is_scalar_time(when):
        idx = pd.DatetimeIndex([as_stamp(when, tz)])
    else:
        try:
            values = list(when)
        except TypeError as exc:
            raise InputError(
                f"when must be a time or a list of times; got {type(when).__name__}"
            ) from exc
        if not values:
            raise InputError("when is empty: give at least one time")
        idx = pd.DatetimeIndex([as_stamp(v, tz) for v in values])
    if not len(idx):
        raise InputError("when is empty: give at least one time")
    if idx.tz is None:
        idx = idx.tz_localize(tz)
    return idx


def as_period(when, tz=DEFAULT_TZ) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The half-open period ``[start, end)`` that ``when`` stands for.

    Parameters
    ----------
    when : date, (start, end), "START/END", pandas.Period or DatetimeIndex
        A date (or a time: its day) is that local day; a pair, or an ISO 8601
        interval string ``"2026-06-01/2026-06-08"`` (end exclusive, as on the
        command line), is the period itself; a :class:`pandas.Period`
        (``pd.Period("2023", "Y")``) its span; a DatetimeIndex spans its first
        to its last instant (inclusive).
    tz : str
        Timezone of naive values.

    Returns
    -------
    (pandas.Timestamp, pandas.Timestamp)
    """
    if isinstance(when, str) and "/" in when:
        parts = when.split("/")
        if len(parts) != 2 or not all(p.strip() for p in parts):
            raise InputError(
                f"a period is START/END (e.g. '2023-06-01/2023-09-01'); got {when!r}"
            )
        when = (parts[0].strip(), parts[1].strip())
    if isinstance(when, pd.Period):
        start = as_stamp(when.start_time, tz)
        end = as_stamp((when + 1).start_time, tz)
    elif isinstance(when, pd.DatetimeIndex):
        idx = as_times(when, tz)
        start, end = idx[0], idx[-1] + pd.Timedelta(1, "ns")
    elif isinstance(when, tuple | list):
        if len(when) != 2:
            raise InputError(
                f"a period is a (start, end) pair; got {len(when)} values"
            )
        start = as_stamp(when[0], tz)
        end = as_stamp(when[1], start.tz)
    else:
        day = as_stamp(when, tz)
        start = day.normalize()
        end = start + pd.Timedelta(days=1)
    if end <= start:
        raise InputError(f"the period ends ({end}) before it starts ({start})")
    return start, end


#: longest study step accepted by :func:`as_step`
LONGEST_STEP = pd.Timedelta(hours=6)


def as_step(step, longest=LONGEST_STEP) -> pd.Timedelta:
    """A positive time step no longer than ``longest`` (e.g. ``"6min"``)."""
    try:
        dt = pd.Timedelta(step)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"step {step!r} is not a duration; expected e.g. '6min', '15min', '1h'"
        ) from exc
    if dt <= pd.Timedelta(0) or dt > longest:
        raise InputError(
            f"step must be between 0 and {longest}; got {_shown(step)!r}"
        )
    return dt


def period_times(when=None, freq="1h", tz=DEFAULT_TZ) -> pd.DatetimeIndex:
    """Mid-interval instants covering a period (default: the typical year).

    Parameters
    ----------
    when : date, (start, end) or None
        The period (see :func:`as_period`); None: :data:`TYPICAL_YEAR`. A pair
        may have ``None`` as end: one year after its start.
    freq : str
        Step (pandas offset alias).
    tz : str
        Timezone of naive values.

    Returns
    -------
    pandas.DatetimeIndex
        Middles of the steps ``[start + k freq, start + (k+1) freq)``.
    """
    if when is None:
        when = (f"{TYPICAL_YEAR}-01-01", None)
    if isinstance(when, tuple | list) and len(when) == 2 and when[1] is None:
        s = as_stamp(when[0] if when[0] is not None else f"{TYPICAL_YEAR}-01-01", tz)
        e = s + pd.DateOffset(years=1)
    else:
        s, e = as_period(when, tz)
    step = pd.Timedelta(freq)
    edges = pd.date_range(s, e, freq=step, inclusive="left")
    return edges + step / 2


def when_from_start_end(when, start, end, name: str):
    """``when`` from the former ``start=``/``end=`` arguments of ``name``.

    Returns ``when`` unchanged when neither is given, else ``(start, end)``
    with a ``FutureWarning``; both ``when`` and ``start``/``end`` is an
    :class:`~cimcity.errors.InputError`.
    """
    if start is None and end is None:
        return when
    if when is not None:
        raise InputError(f"{name}() got both when= and start=/end=; pass only when=")
    warnings.warn(
        f"{name}(start, end) is replaced by {name}(when=(start, end)); the old "
        "spelling will be removed in a future release",
        FutureWarning,
        stacklevel=3,
    )
    return (start, end)


def period_bounds(when, tz=DEFAULT_TZ) -> tuple:
    """``(start, end)`` stamps of ``when`` in ``tz``, ends of a pair may be open.

    Like :func:`as_period`, but a pair may have None at either end (kept as
    None: open) and ``when=None`` gives ``(None, None)``.
    """
    if when is None:
        return None, None
    if isinstance(when, tuple | list) and len(when) == 2 and None in when:
        s = None if when[0] is None else as_stamp(when[0], tz)
        e = None if when[1] is None else as_stamp(when[1], tz)
        if s is not None and e is not None and e <= s:
            raise InputError(f"the period ends ({e}) before it starts ({s})")
        return s, e
    return as_period(when, tz)


# -- sun --------------------------------------------------------------------------------
def check_site(latitude, longitude) -> None:
    """Refuse a latitude outside -90..90 deg or a longitude outside -180..360 deg."""
    if not (np.isfinite(latitude) and -90 <= latitude <= 90):
        raise InputError(f"latitude must be in [-90, 90] degrees; got {_shown(latitude)!r}")
    if not (np.isfinite(longitude) and -180 <= longitude <= 360):
        raise InputError(f"longitude must be in [-180, 180] degrees; got {_shown(longitude)!r}")


def sun_positions(
    when,
    latitude: float,
    longitude: float,
    altitude: float = 0.0,
    *,
    temperature: float = 12.0,
    north: float = 0.0,
    tz: str = DEFAULT_TZ,
) -> pd.DataFrame:
    """Sun positions by the NREL SPA (pvlib ``method="nrel_numpy"``).

    Parameters
    ----------
    when : (T,) times
        Instants (naive ones are local to ``tz``).
    latitude, longitude : float
        Site in WGS84 degrees (north, east positive).
    altitude : float
        Site altitude [m] (sets the pressure for refraction).
    temperature : float
        Air temperature for refraction [°C].
    north : float
        Grid azimuth of true north [deg] of the frame of ``x, y, z`` (see
        :func:`direction_vectors`); 0: local east-north-up.
    tz : str
        Timezone of naive times.

    Returns
    -------
    pandas.DataFrame
        Index: the instants; columns ``elevation``, ``apparent_elevation``,
        ``zenith``, ``apparent_zenith``, ``azimuth`` [deg, clockwise from true
        north] and ``x``, ``y``, ``z``: the unit vector to the sun (east,
        north, up; grid east and north when ``north`` is given) from the
        apparent (refracted) elevation.

    References
    ----------
    Reda & Andreas (2004), Solar Energy 76(5), 577-589.
    """
    import pvlib

    idx = as_times(when, tz)
    check_site(latitude, longitude)
    sp = pvlib.solarposition.get_solarposition(
        idx,
        latitude,
        longitude,
        altitude=altitude,
        temperature=temperature,
        method="nrel_numpy",
    )
    out = sp[
        ["elevation", "apparent_elevation", "zenith", "apparent_zenith", "azimuth"]
    ].copy()
    v = direction_vectors(out["apparent_elevation"], out["azimuth"], north)
    out["x"], out["y"], out["z"] = v[:, 0], v[:, 1], v[:, 2]
    return out


def scene_site(scene) -> Site:
    """The :class:`Site` of a scene, refusing an empty scene."""
    b = np.asarray(scene.bounds, float)
    if not np.all(np.isfinite(b)):
        raise InputError(
            "the scene is empty: no building, parcel or terrain to place the sun"
        )
    return site(scene)


def sun_table(scene, when, *, tz=DEFAULT_TZ) -> pd.DataFrame:
    """Sun position at the scene centre, in true and grid frames.

    Parameters
    ----------
    scene : Scene
    when : time or sequence of times
        Naive times are local to ``tz``.
    tz : str
        Timezone of naive times.

    Returns
    -------
    pandas.DataFrame
        Index: times; columns ``azimuth`` (true, clockwise from north),
        ``elevation`` (apparent, refracted), ``geometric_elevation`` [deg],
        ``grid_azimuth`` [deg, clockwise from the CRS's grid north] and the unit
        vector toward the sun in the scene CRS ``sx, sy, sz``.
    """
    idx = as_times(when, tz)
    st = scene_site(scene)
    sp = sun_positions(idx, st.latitude, st.longitude, altitude=st.altitude)
    v = direction_vectors(sp["apparent_elevation"], sp["azimuth"], st.north)
    return pd.DataFrame(
        {
            "azimuth": sp["azimuth"].to_numpy(),
            "elevation": sp["apparent_elevation"].to_numpy(),
            "geometric_elevation": sp["elevation"].to_numpy(),
            "grid_azimuth": sp["azimuth"].to_numpy() + st.north,
            "sx": v[:, 0],
            "sy": v[:, 1],
            "sz": v[:, 2],
        },
        index=idx,
    )


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


def sun_steps(scene, when, *, step="6min", tz=DEFAULT_TZ) -> pd.DataFrame:
    """Time steps of a study over a period with the sun's direction at each.

    Each step ``[start, end)`` is represented by one sun direction: its middle
    when the sun is up throughout, else the middle of the part with the sun up.
    Sunrise and sunset are when the sun's centre crosses
    :data:`SUNRISE_ELEVATION` (geometric); the elevation is taken as linear
    within each half-step. The traced ray aims at the sun's centre, or at the
    middle of the visible part of its disc when the centre is below the
    horizon (:data:`SUN_SEMI_DIAMETER`).

    Parameters
    ----------
    scene : Scene
    when : date or (start, end)
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
    start, end = as_period(when, tz)
    dt = as_step(step)
    edges = pd.date_range(start, end, freq=dt)
    if edges[-1] < end:
        edges = edges.append(pd.DatetimeIndex([end]))
    st = scene_site(scene)
    lat, lon, north, alt = st.latitude, st.longitude, st.north, st.altitude

    def spa(times):
        return sun_positions(times, lat, lon, altitude=alt)

    mids = edges[:-1] + (edges[1:] - edges[:-1]) / 2
    sp = spa(edges.append(mids))
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
    az = sp["azimuth"].to_numpy()[len(edges) :].copy()
    app = sp["apparent_elevation"].to_numpy()[len(edges) :].copy()
    if partial.any():
        width = edges[1:] - edges[:-1]
        rmid = np.where(partial, (lo + hi) / 2, 0.5)
        rep = edges[:-1] + pd.to_timedelta(rmid * width.total_seconds().to_numpy(), "s")
        sp_rep = spa(rep[partial])
        az[partial] = sp_rep["azimuth"].to_numpy()
        app[partial] = sp_rep["apparent_elevation"].to_numpy()
    sd = SUN_SEMI_DIAMETER
    ray_e = np.where(app >= sd, app, 0.5 * (app + sd))
    ray_e = np.where(frac > 0, np.maximum(ray_e, 1e-4), ray_e)
    v = direction_vectors(ray_e, az, north)
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
