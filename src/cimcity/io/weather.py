"""Weather: irradiance time series at a site (EPW files, DataFrames, clear sky).

A :class:`Weather` holds ``ghi``, ``dni``, ``dhi`` [W/m²] at **mid-interval**
instants with the sun's position at each. It comes from an EnergyPlus EPW file
(:func:`read_epw`, through :func:`pvlib.iotools.read_epw`), a DataFrame
(:func:`from_frame`) or pvlib's clear sky at the site (:func:`clear_sky`,
Ineichen with Linke turbidity climatology: an **upper bound** of what real
weather gives); :func:`read_weather` picks the reader from what the user gave.

Time stamps
-----------
EPW rows (values integrated over the hour *ending* at the EPW hour; pvlib
labels them with the hour start) are moved to the middle of their hour;
clear-sky series are computed at mid-interval instants. Sun positions are
evaluated at those instants (:func:`cimcity.sun.position.sun_positions`).
Periods (``when=``) follow :mod:`cimcity.sun.position`: naive times are read
in the weather's own zone (Europe/Paris for clear sky). A DataFrame's index
must be timezone-aware: a naive hourly series cannot be placed on
Europe/Paris time across the daylight-saving changes.

GHI closure
-----------
3D transposition needs the beam and the diffuse separately, so cimcity uses
``dni`` and ``dhi`` and recomputes ``ghi = dhi + dni max(cos Z, 0)`` (column
``ghi``); the file's own GHI is kept as ``ghi_input`` and the annual closure gap
is reported by :meth:`Weather.summary`. An open horizontal plane therefore
receives exactly ``ghi``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import CimcityWarning, FileFormatError, InputError
from ..sun.position import (
    DEFAULT_TZ,
    TYPICAL_YEAR,
    check_site,
    period_bounds,
    period_times,
    sun_positions,
    when_from_start_end,
)

__all__ = [
    "STATION_WARN_KM",
    "Weather",
    "read_weather",
    "read_epw",
    "from_frame",
    "clear_sky",
]

#: largest accepted distance between the weather station and the site [km]
STATION_WARN_KM = 100.0


@dataclass(eq=False)
class Weather:
    """Irradiance time series at a site, at mid-interval instants.

    Attributes
    ----------
    data : pandas.DataFrame
        Index: timezone-aware mid-interval instants. Columns ``ghi`` (closure
        ``dhi + dni max(cos Z, 0)``), ``dni``, ``dhi`` [W/m²], ``ghi_input``
        (the source's GHI), plus the sun position columns of
        :func:`sun_positions`.
    interval : float
        Duration each row stands for [h].
    latitude, longitude : float
        Site where the sun is computed [deg WGS84].
    altitude : float
        Site altitude [m].
    source : str
        Where the data comes from (EPW path, "DataFrame", "clear sky ...").
    upper_bound : bool
        True for clear-sky weather (no clouds: an upper bound on real sun).
    """

    data: pd.DataFrame
    interval: float
    latitude: float
    longitude: float
    altitude: float
    source: str
    upper_bound: bool = False
    meta: dict = field(default_factory=dict)

    @property
    def times(self) -> pd.DatetimeIndex:
        return self.data.index

    def totals(self) -> dict:
        """Period totals [kWh/m²]: ``ghi``, ``dni``, ``dhi``, ``ghi_input``."""
        f = self.interval / 1000.0
        return {
            c: float(self.data[c].sum() * f) for c in ("ghi", "dni", "dhi", "ghi_input")
        }

    def summary(self) -> dict:
        """Source, period, steps and totals [kWh/m²] as a plain dict.

        ``closure_gap`` is ``(Σ ghi - Σ ghi_input) / Σ ghi_input``: how far the
        source's GHI is from ``dhi + dni cos Z``.
        """
        t = self.totals()
        gap = (
            (t["ghi"] - t["ghi_input"]) / t["ghi_input"] if t["ghi_input"] > 0 else 0.0
        )
        return {
            "source": self.source,
            "upper_bound": self.upper_bound,
            "latitude": round(self.latitude, 5),
            "longitude": round(self.longitude, 5),
            "start": str(self.times[0]) if len(self.times) else None,
            "end": str(self.times[-1]) if len(self.times) else None,
            "steps": len(self.data),
            "interval_h": self.interval,
            "hours": len(self.data) * self.interval,
            "ghi_kwh_m2": round(t["ghi"], 2),
            "dni_kwh_m2": round(t["dni"], 2),
            "dhi_kwh_m2": round(t["dhi"], 2),
            "closure_gap": round(gap, 4),
            **{
                k: v for k, v in self.meta.items() if k in ("dni_below_horizon_kwh_m2",)
            },
        }

    def __repr__(self) -> str:
        s = self.summary()
        ub = " (clear sky: upper bound)" if self.upper_bound else ""
        return (
            f"<Weather {s['source']}{ub}: {s['steps']} steps of {s['interval_h']:g} h "
            f"from {s['start']} to {s['end']}, GHI {s['ghi_kwh_m2']} kWh/m²>"
        )

    def select(self, when=None, *, start=None, end=None) -> Weather:
        """The rows whose instants fall in a period.

        Parameters
        ----------
        when : date, (start, end), pandas.Period or None
            The period (:func:`cimcity.sun.position.as_period`; either end of
            a pair may be None: open); naive times are in the weather's zone.
            None: every row.
        start, end : optional
            Former spelling of ``when=(start, end)`` (``FutureWarning``).
        """
        when = when_from_start_end(when, start, end, "Weather.select")
        data = _slice(self.data, when)
        return Weather(
            data,
            self.interval,
            self.latitude,
            self.longitude,
            self.altitude,
            self.source,
            self.upper_bound,
            dict(self.meta),
        )


def _slice(data, when):
    s, e = period_bounds(when, data.index.tz)
    m = np.ones(len(data), bool)
    if s is not None:
        m &= data.index >= s
    if e is not None:
        m &= data.index < e
    out = data[m]
    if not len(out):
        raise InputError(
            f"no weather rows in {when!r}; the weather covers {data.index[0]} to "
            f"{data.index[-1]}"
        )
    return out


def _finish(
    ghi_in,
    dni,
    dhi,
    times,
    latitude,
    longitude,
    altitude,
    interval,
    source,
    upper_bound=False,
    meta=None,
):
    """Sun positions, GHI closure, sanity checks → Weather."""
    sun = sun_positions(times, latitude, longitude, altitude)
    dni = np.asarray(dni, float).copy()
    dhi = np.asarray(dhi, float).copy()
    ghi_in = np.asarray(ghi_in, float).copy()
    for name, v in (("dni", dni), ("dhi", dhi), ("ghi", ghi_in)):
        bad = ~np.isfinite(v)
        if bad.any():
            raise InputError(
                f"weather column {name!r} has {int(bad.sum())} missing/non-finite "
                f"values (first at {times[np.flatnonzero(bad)[0]]}); fill or drop them"
            )
        if (v < -1e-6).any():
            raise InputError(
                f"weather column {name!r} has negative irradiance (min {v.min():.3g} "
                f"W/m²); expected values >= 0"
            )
    up = sun["apparent_elevation"].to_numpy() > 0
    meta = dict(meta or {})
    lost = float(dni[~up].sum() * interval / 1000.0)
    meta["dni_below_horizon_kwh_m2"] = round(lost, 3)
    dni[~up] = 0.0
    cosz = np.clip(sun["z"].to_numpy(), 0, None)
    data = pd.DataFrame(
        {
            "ghi": dhi + dni * cosz,
            "dni": dni,
            "dhi": dhi,
            "ghi_input": ghi_in,
        },
        index=times,
    )
    data = pd.concat([data, sun], axis=1)
    return Weather(
        data,
        float(interval),
        float(latitude),
        float(longitude),
        float(altitude),
        source,
        upper_bound,
        meta,
    )


def _interval_hours(index) -> float:
    if len(index) < 2:
        raise InputError(
            "weather needs at least two rows to know its time step; give interval= [h]"
        )
    d = pd.Series(index[1:] - index[:-1]).dt.total_seconds().to_numpy() / 3600.0
    step = float(np.median(d))
    if step <= 0:
        raise InputError("weather index must be increasing")
    return step


#: a step longer than this many times the series' step is a gap
GAP_FACTOR = 1.5


def _check_regular(index, step: float) -> None:
    """Refuse repeated instants and gaps in a weather index (``step`` [h]).

    Every row stands for ``step`` hours: a missing stretch would silently be
    left out of every total (a gap is not zero irradiance), so it is refused
    with its first missing instant and the fix.
    """
    if len(index) < 2:
        return
    d = (index[1:] - index[:-1]).total_seconds().to_numpy() / 3600.0
    if (d <= 0).any():
        i = int(np.flatnonzero(d <= 0)[0])
        raise InputError(
            f"weather index repeats the instant {index[i + 1]}; give one row per "
            f"time step (e.g. df[~df.index.duplicated()])"
        )
    gaps = np.flatnonzero(d > GAP_FACTOR * step)
    if len(gaps):
        i = int(gaps[0])
        first_missing = index[i] + pd.Timedelta(hours=step)
        last_missing = index[i + 1] - pd.Timedelta(hours=step)
        missing = int(round(d[i] / step)) - 1
        raise InputError(
            f"weather index has a gap: no rows from {first_missing} to "
            f"{last_missing} ({missing} missing steps of {step:g} h"
            f"{f'; {len(gaps)} gaps in all' if len(gaps) > 1 else ''}); totals would "
            f"silently leave those hours out: fill them (df.asfreq('{step:g}h') and "
            f"measured or interpolated values) or keep a stretch without gaps "
            f"(df.loc[start:end])"
        )


def read_epw(path, latitude=None, longitude=None, altitude=None, year=TYPICAL_YEAR):
    """Weather from an EnergyPlus EPW file (via :func:`pvlib.iotools.read_epw`).

    Rows are moved to the middle of their hour (EPW values are integrated over
    the hour ending at the row's hour) and given the year ``year``.

    Parameters
    ----------
    path : str or Path
    latitude, longitude : float, optional
        Site where the sun is computed [deg]; default: the station's.
    altitude : float, optional
        Site altitude [m]; default: the station's.
    year : int
        Year stamped on the typical-year data.

    Returns
    -------
    Weather
    """
    import pvlib

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(2, "EPW file not found", str(p))
    try:
        df, meta = pvlib.iotools.read_epw(str(p), coerce_year=int(year))
    except Exception as exc:
        raise FileFormatError(f"cannot read {p} as an EPW weather file: {exc}") from exc
    if not len(df):
        with open(p, "rb") as fh:
            n_lines = sum(1 for _ in fh)
        raise FileFormatError(
            f"{p} has no EPW data rows ({n_lines} lines in all): an EPW file has 8 "
            f"header lines (LOCATION ... DATA PERIODS) then one row per hour; the "
            f"file is truncated or not an EPW"
        )
    for c in ("ghi", "dni", "dhi"):
        if c not in df.columns:
            raise FileFormatError(f"{p}: EPW data lacks the {c!r} column")
    times = df.index + pd.Timedelta(minutes=30)
    lat = meta["latitude"] if latitude is None else latitude
    lon = meta["longitude"] if longitude is None else longitude
    alt = meta.get("altitude", 0.0) if altitude is None else altitude
    if latitude is not None:
        km = _distance_km(latitude, longitude, meta["latitude"], meta["longitude"])
        if km > STATION_WARN_KM:
            warnings.warn(
                f"weather station {meta.get('city')!r} is {km:.0f} km from the site; "
                f"its irradiance may not represent the site",
                CimcityWarning,
                stacklevel=3,
            )
    # EPW missing-value code for irradiance is 9999
    d = df[["ghi", "dni", "dhi"]].where(df[["ghi", "dni", "dhi"]] < 9999)
    if d.isna().any().any():
        n = int(d.isna().sum().sum())
        raise FileFormatError(f"{p}: {n} irradiance values are missing (9999)")
    return _finish(
        d["ghi"],
        d["dni"],
        d["dhi"],
        pd.DatetimeIndex(times),
        lat,
        lon,
        alt,
        1.0,
        f"EPW {meta.get('city', '').strip()} ({p.name})",
        meta={"station": meta},
    )


def _distance_km(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(lon2 - lon1)
    c = np.sin(p1) * np.sin(p2) + np.cos(p1) * np.cos(p2) * np.cos(dl)
    return float(6371.0 * np.arccos(np.clip(c, -1, 1)))


def from_frame(
    df,
    latitude,
    longitude,
    altitude=0.0,
    label="middle",
    interval=None,
    source="DataFrame",
) -> Weather:
    """Weather from a DataFrame with at least two of ``ghi``, ``dni``, ``dhi`` [W/m²].

    The missing one is completed with :func:`pvlib.irradiance.complete_irradiance`.

    Parameters
    ----------
    df : pandas.DataFrame
        Timezone-aware DatetimeIndex.
    latitude, longitude : float
        Site [deg WGS84].
    altitude : float
        Site altitude [m].
    label : {"middle", "start", "end"}
        What each time stamp marks in its interval (instantaneous values:
        ``"middle"``).
    interval : float, optional
        Row duration [h]; default: the median step of the index.

    Returns
    -------
    Weather

    Raises
    ------
    InputError
        A naive index, fewer than two of the columns, repeated instants, or a
        gap (a step longer than :data:`GAP_FACTOR` times the row duration):
        the message gives the first missing instant. A gap is not zero
        irradiance; it would silently be left out of every total.
    """
    import pvlib

    if not isinstance(df, pd.DataFrame):
        raise InputError(f"weather must be a DataFrame; got {type(df).__name__}")
    cols = {c.lower(): c for c in df.columns}
    have = [c for c in ("ghi", "dni", "dhi") if c in cols]
    if len(have) < 2:
        raise InputError(
            f"weather DataFrame needs columns 'ghi', 'dni', 'dhi' [W/m²] (at least two); "
            f"got {list(df.columns)}"
        )
    if not isinstance(df.index, pd.DatetimeIndex):
        raise InputError("weather DataFrame must have a DatetimeIndex")
    if df.index.tz is None:
        raise InputError(
            "weather DataFrame index must be timezone-aware; use "
            "df.tz_localize('Europe/Paris') (or the data's own zone)"
        )
    if not df.index.is_monotonic_increasing:
        df = df.sort_index()
    step = _interval_hours(df.index) if interval is None else float(interval)
    if not np.isfinite(step) or step <= 0:
        raise InputError(
            f"interval must be a positive number of hours; got {interval!r}"
        )
    _check_regular(df.index, step)
    shift = {"middle": 0.0, "start": 0.5, "end": -0.5}
    if label not in shift:
        raise InputError(
            f"unknown label {label!r}; expected 'middle', 'start' or 'end'"
        )
    times = df.index + pd.Timedelta(hours=shift[label] * step)
    vals = {c: df[cols[c]].to_numpy(float) for c in have}
    if len(have) == 2:
        sun = sun_positions(times, latitude, longitude, altitude)
        comp = pvlib.irradiance.complete_irradiance(
            sun["apparent_zenith"],
            ghi=pd.Series(vals["ghi"], times) if "ghi" in vals else None,
            dhi=pd.Series(vals["dhi"], times) if "dhi" in vals else None,
            dni=pd.Series(vals["dni"], times) if "dni" in vals else None,
        )
        for c in ("ghi", "dni", "dhi"):
            if c not in vals:
                vals[c] = np.clip(np.nan_to_num(comp[c].to_numpy(float)), 0, None)
    return _finish(
        vals["ghi"],
        vals["dni"],
        vals["dhi"],
        pd.DatetimeIndex(times),
        latitude,
        longitude,
        altitude,
        step,
        source,
    )



def clear_sky(
    latitude,
    longitude,
    when=None,
    *,
    altitude=0.0,
    freq="1h",
    tz=DEFAULT_TZ,
    model="ineichen",
    start=None,
    end=None,
) -> Weather:
    """pvlib clear sky at the site: an **upper bound** of real irradiance.

    Parameters
    ----------
    latitude, longitude : float
        Site [deg WGS84].
    when : date, (start, end), pandas.Period or None
        Period (:func:`cimcity.sun.position.period_times`; a pair may end with
        None: one year); naive times are local to ``tz``. Default: the whole
        :data:`~cimcity.sun.position.TYPICAL_YEAR`.
    altitude : float
        Site altitude [m].
    freq : str
        Time step (pandas alias, e.g. ``"1h"``, ``"10min"``).
    tz : str
        Timezone of naive times.
    model : str
        pvlib clear-sky model (``"ineichen"`` with Linke turbidity climatology,
        ``"haurwitz"``, ``"simplified_solis"``).
    start, end : datetime-like, optional
        Former spelling of ``when=(start, end)`` (``FutureWarning``).

    Returns
    -------
    Weather
        ``upper_bound=True``.
    """
    import pvlib

    when = when_from_start_end(when, start, end, "clear_sky")
    check_site(latitude, longitude)
    if isinstance(when, tuple | list) and len(when) == 2 and when[0] is None:
        when = (f"{TYPICAL_YEAR}-01-01", when[1])
    times = period_times(when, freq, tz)
    loc = pvlib.location.Location(latitude, longitude, tz=tz, altitude=altitude)
    try:
        cs = loc.get_clearsky(times, model=model)
    except ValueError as exc:
        raise InputError(
            f"unknown clear-sky model {model!r}; expected 'ineichen', 'haurwitz' or "
            f"'simplified_solis' ({exc})"
        ) from exc
    if "dni" not in cs:  # haurwitz gives GHI only: split it with Erbs (pvlib)
        sun = sun_positions(times, latitude, longitude, altitude)
        split = pvlib.irradiance.erbs(cs["ghi"], sun["apparent_zenith"], times)
        cs = cs.join(split[["dni", "dhi"]])
    step = pd.Timedelta(freq) / pd.Timedelta(hours=1)
    return _finish(
        cs["ghi"].fillna(0),
        cs["dni"].fillna(0),
        cs["dhi"].fillna(0),
        times,
        latitude,
        longitude,
        altitude,
        step,
        f"clear sky ({model}, pvlib)",
        upper_bound=True,
    )


def read_weather(
    weather=None,
    latitude=None,
    longitude=None,
    altitude=0.0,
    when=None,
    *,
    tz=DEFAULT_TZ,
    start=None,
    end=None,
) -> Weather:
    """Weather for a study, from whatever the user gave.

    Parameters
    ----------
    weather : None, str/Path (EPW), pandas.DataFrame or Weather
        ``None`` gives pvlib clear sky at the site (an upper bound).
    latitude, longitude : float
        Site [deg WGS84] (needed unless ``weather`` is a Weather).
    altitude : float
        Site altitude [m].
    when : date, (start, end), pandas.Period or None
        Period kept (either end of a pair may be None: open); naive times
        are read in the weather's zone (``tz`` for clear sky). EPW data get
        the year of the period's start. None: the whole weather (the
        typical year for clear sky).
    tz : str
        Timezone of naive times for clear sky.
    start, end : datetime-like, optional
        Former spelling of ``when=(start, end)`` (``FutureWarning``).

    Returns
    -------
    Weather
    """
    when = when_from_start_end(when, start, end, "read_weather")
    if isinstance(weather, Weather):
        return weather.select(when) if when is not None else weather
    if latitude is None or longitude is None:
        raise InputError("latitude and longitude are needed to compute the sun")
    if weather is None:
        return clear_sky(latitude, longitude, when, altitude=altitude, tz=tz)
    if isinstance(weather, str | Path):
        return _read_epw_period(weather, latitude, longitude, altitude, when)
    if isinstance(weather, pd.DataFrame):
        w = from_frame(weather, latitude, longitude, altitude)
        return w.select(when) if when is not None else w
    raise InputError(
        f"weather must be None (clear sky), an EPW path, a DataFrame with ghi/dni/dhi "
        f"or a cimcity.io.weather.Weather; got {type(weather).__name__}"
    )


def _read_epw_period(path, latitude, longitude, altitude, when):
    """An EPW file stamped with the year of ``when``, cut to it."""
    if Path(path).suffix.lower() != ".epw":
        raise InputError(
            f"weather file {str(path)!r} is not an .epw file; give an EPW path, a "
            f"DataFrame with ghi/dni/dhi or None (clear sky)"
        )
    s, _ = period_bounds(when, DEFAULT_TZ)
    year = s.year if s is not None else TYPICAL_YEAR
    w = read_epw(path, latitude, longitude, altitude, year=year)
    if when is None:
        return w
    s, e = period_bounds(when, w.times.tz)
    if (
        e is not None
        and s is not None
        and e.year > s.year
        and not (e == pd.Timestamp(f"{s.year + 1}-01-01", tz=e.tz))
    ):
        raise InputError(
            f"an EPW holds one typical year; the period {s} to {e} spans several years"
        )
    return w.select((s, e))
