"""Weather for heat studies: the sky (irradiance, sun) and the air (temperature,
humidity, wind, measured longwave) on one time index.

:class:`Met` pairs a :class:`cimcity.io.weather.Weather` (``ghi``, ``dni``,
``dhi`` [W/m²] and sun positions at mid-interval instants) with the air
quantities radiant and comfort models need, on the same index:

``temp_air`` [°C], ``relative_humidity`` [%], ``wind_speed`` [m/s, at 10 m],
``ldown`` [W/m²] (measured downwelling longwave; NaN when the source has none,
and :mod:`cimcity.heat.longwave` estimates it).

Sources: an EnergyPlus EPW file (pvlib's reader; the file's horizontal infrared
radiation, field 12, is taken as ``ldown``; air values, instantaneous at the
hour mark, are averaged to the middle of each hour like the irradiance), a
DataFrame with pvlib column names, or a UMEP/SUEWS meteorological forcing file
(:func:`read_umep_met`, the format of SOLWEIG's ``MetFile*.txt``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataQualityWarning, FileFormatError, InputError
from ..io.weather import Weather, from_frame, read_weather
from ..sun.position import DEFAULT_TZ, period_bounds

__all__ = ["AIR_COLUMNS", "Met", "read_met", "read_umep_met"]

#: air columns of :attr:`Met.air` and their units
AIR_COLUMNS = {
    "temp_air": "°C",
    "relative_humidity": "%",
    "wind_speed": "m/s",
    "ldown": "W/m²",
}

#: plausible ranges (refused outside: unit errors or undeclared nodata)
_RANGES = {
    "temp_air": (-60.0, 60.0),
    "relative_humidity": (0.0, 100.5),
    "wind_speed": (0.0, 75.0),
    "ldown": (50.0, 600.0),
}


@dataclass(eq=False)
class Met:
    """Sky and air on one time index (see the module docstring).

    Attributes
    ----------
    sky : cimcity.io.weather.Weather
        Irradiance and sun positions at mid-interval instants.
    air : pandas.DataFrame
        Same index as ``sky.data``: ``temp_air`` [°C], ``relative_humidity``
        [%], ``wind_speed`` [m/s at 10 m] (NaN: unknown), ``ldown`` [W/m²]
        (NaN: not measured, estimated by the model).
    source : str
    """

    sky: Weather
    air: pd.DataFrame
    source: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def times(self) -> pd.DatetimeIndex:
        """Mid-interval instants (tz-aware)."""
        return self.sky.times

    @property
    def interval(self) -> float:
        """Duration of each row [h]."""
        return self.sky.interval

    @property
    def latitude(self) -> float:
        return self.sky.latitude

    @property
    def longitude(self) -> float:
        return self.sky.longitude

    def __len__(self) -> int:
        return len(self.sky.times)

    def __repr__(self) -> str:
        t = self.times
        span = f"{t[0]} to {t[-1]}" if len(t) else "no rows"
        return (
            f"<Met {self.source}: {len(t)} steps of {self.interval:g} h, {span}, "
            f"Ta {self.air['temp_air'].min():.1f}..{self.air['temp_air'].max():.1f} °C>"
        )

    def select(self, when=None) -> Met:
        """The rows whose instants fall in ``when`` (a date, a ``(start, end)``
        pair…; see :func:`cimcity.sun.position.as_period`)."""
        if when is None:
            return self
        sky = self.sky.select(when)
        if not len(sky.times):
            s, e = period_bounds(when, self.times.tz)
            raise InputError(
                f"the weather ({self.times[0]} to {self.times[-1]}) has no row in "
                f"the period {s} to {e}; pick a period inside the weather"
            )
        return Met(sky, self.air.loc[sky.times], self.source, dict(self.meta))


def _check_air(air: pd.DataFrame, source: str) -> pd.DataFrame:
    for c in ("temp_air", "relative_humidity"):
        if c not in air.columns:
            raise InputError(
                f"heat weather ({source}) needs a {c!r} column "
                f"[{AIR_COLUMNS[c]}]; got {list(air.columns)}"
            )
        bad = ~np.isfinite(air[c].to_numpy(float))
        if bad.any():
            raise InputError(
                f"heat weather column {c!r} has {int(bad.sum())} missing values (first "
                f"at {air.index[np.flatnonzero(bad)[0]]}); fill or drop those rows"
            )
    if "wind_speed" not in air.columns:
        warnings.warn(
            f"heat weather ({source}) has no 'wind_speed' column: wind is unknown "
            f"(NaN), so comfort indices that need it (UTCI) are unknown too",
            DataQualityWarning,
            stacklevel=4,
        )
        air["wind_speed"] = np.nan
    if "ldown" not in air.columns:
        air["ldown"] = np.nan
    out = air[list(AIR_COLUMNS)].astype(float)
    for c, (lo, hi) in _RANGES.items():
        v = out[c].to_numpy()
        bad = np.isfinite(v) & ((v < lo) | (v > hi))
        if bad.any():
            raise InputError(
                f"heat weather column {c!r} has {int(bad.sum())} value(s) outside "
                f"{lo:g}..{hi:g} {AIR_COLUMNS[c]} (first: {v[bad][0]:g} at "
                f"{out.index[np.flatnonzero(bad)[0]]}); a unit error or an undeclared "
                f"nodata code? Set those to NaN or fix the units"
            )
    return out


def _mid_hour(series: pd.Series) -> pd.Series:
    """Values instantaneous at the end of each row's hour, averaged to its middle."""
    return (series + series.shift(1).fillna(series)) / 2.0


def _from_epw(path, latitude, longitude, altitude, when, tz) -> Met:
    import pvlib

    sky = read_weather(path, latitude, longitude, altitude or 0.0, when, tz=tz)
    year = sky.times[0].year if len(sky.times) else 2023
    df, meta = pvlib.iotools.read_epw(str(path), coerce_year=int(year))
    df = df.copy()
    df.index = df.index + pd.Timedelta(minutes=30)
    air = pd.DataFrame(index=df.index)
    air["temp_air"] = _mid_hour(df["temp_air"].where(df["temp_air"] < 99.9))
    air["relative_humidity"] = _mid_hour(
        df["relative_humidity"].where(df["relative_humidity"] <= 100)
    )
    air["wind_speed"] = df["wind_speed"].where(df["wind_speed"] < 999)
    if "ghi_infrared" in df.columns:
        air["ldown"] = df["ghi_infrared"].where(df["ghi_infrared"] < 9999)
    air = air.reindex(sky.times.tz_convert(air.index.tz))
    air.index = sky.times
    name = f"EPW {Path(path).name}"
    return Met(sky, _check_air(air, name), name, {"station": meta})


def read_met(
    weather,
    *,
    latitude=None,
    longitude=None,
    altitude=0.0,
    when=None,
    tz=DEFAULT_TZ,
) -> Met:
    """Weather for heat studies from an EPW file, a DataFrame or a :class:`Met`.

    Parameters
    ----------
    weather : str, Path, pandas.DataFrame or Met
        An EPW path; a UMEP met file (``.txt``, read with :func:`read_umep_met`
        in ``tz``); a DataFrame on a tz-aware index with two of ``ghi``, ``dni``,
        ``dhi`` [W/m²] and ``temp_air`` [°C], ``relative_humidity`` [%],
        optionally ``wind_speed`` [m/s at 10 m] and ``ldown`` [W/m²]; or a Met.
    latitude, longitude : float, optional
        Site [deg WGS84]; needed except for an EPW (its station) or a Met.
    altitude : float
        Site altitude [m].
    when : date, (start, end) or None
        Period kept; None: all rows.
    tz : str
        Time zone of naive times in ``when`` and of a UMEP met file.

    Returns
    -------
    Met

    Raises
    ------
    InputError
        Missing air temperature or humidity, values out of range, no row in
        ``when``, or an unknown kind of weather.
    """
    if isinstance(weather, Met):
        return weather.select(when)
    if isinstance(weather, str | Path):
        p = Path(weather)
        if p.suffix.lower() == ".epw":
            return _from_epw(p, latitude, longitude, altitude, when, tz)
        if p.suffix.lower() == ".txt":
            if latitude is None or longitude is None:
                raise InputError(
                    f"a UMEP met file ({p.name}) does not say where it is: give "
                    f"latitude= and longitude="
                )
            return read_umep_met(p, latitude, longitude, altitude, tz=tz).select(when)
        raise InputError(
            f"heat weather file {p.name!r}: expected an .epw file or a UMEP met "
            f"file (.txt)"
        )
    if isinstance(weather, pd.DataFrame):
        if latitude is None or longitude is None:
            raise InputError(
                "a weather DataFrame does not say where it is: give latitude= and "
                "longitude= (or call cimcity.heat.tmrt with a scene)"
            )
        cols = {c.lower(): c for c in weather.columns}
        df = weather.rename(columns={v: k for k, v in cols.items()})
        sky = from_frame(df, latitude, longitude, altitude)
        air = df.reindex(columns=[c for c in AIR_COLUMNS if c in df.columns]).copy()
        air.index = sky.times
        met = Met(sky, _check_air(air, "DataFrame"), "DataFrame")
        return met.select(when)
    raise InputError(
        f"heat weather must be an EPW path, a UMEP met file, a DataFrame with "
        f"ghi/dni/dhi, temp_air, relative_humidity (wind_speed, ldown) or a "
        f"cimcity.heat.Met; got {type(weather).__name__}"
    )


#: UMEP met-file columns (SUEWS forcing order)
UMEP_COLUMNS = (
    "iy id it imin qn qh qe qs qf U RH Tair pres rain kdown snow ldown fcld "
    "wuh xsmd lai kdiff kdir wdir"
).split()


def read_umep_met(path, latitude, longitude, altitude=0.0, *, tz="Etc/GMT-1") -> Met:
    """A UMEP/SUEWS meteorological forcing file (SOLWEIG's ``MetFile*.txt``).

    Rows are hourly and labelled with the **start** of their hour (``it``) in
    the clock ``tz``: the files of the Gothenburg validation sites close
    ``Kdir sin(e) + Kdiff = Kdn`` (direct normal, diffuse and global) only with
    the sun half an hour after the label, so rows are placed at
    ``it + 30 min`` (mid-interval, like every cimcity weather). Columns used:
    ``Kdn`` (global), ``Kdiff`` (diffuse horizontal), ``Kdir`` (direct
    normal) [W/m²], ``Td`` (air temperature [°C]), ``RH`` [%], ``Wind``
    [m/s] and ``ldown`` [W/m²]; -999 is missing. When ``Kdiff``/``Kdir`` are
    missing, the diffuse share comes from the Erbs et al. (1982) split of
    ``Kdn`` (:func:`pvlib.irradiance.erbs`).

    Parameters
    ----------
    path : str or Path
    latitude, longitude : float
        Site [deg WGS84].
    altitude : float
        Site altitude [m].
    tz : str
        Time zone of the file's clock (default UTC+1, Swedish/French standard
        time; ``"Etc/GMT-1"`` is UTC+1 in the POSIX sign convention).

    Returns
    -------
    Met
    """
    import pvlib

    p = Path(path)
    try:
        raw = np.loadtxt(p, comments="%", ndmin=2)
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"cannot read {p} as a UMEP met file: {exc}") from exc
    if raw.shape[1] < 24:
        raise FileFormatError(
            f"{p}: a UMEP met file has 24 columns ({' '.join(UMEP_COLUMNS)}); got "
            f"{raw.shape[1]}"
        )
    d = pd.DataFrame(raw[:, :24], columns=UMEP_COLUMNS).replace(-999.0, np.nan)
    start = pd.to_datetime(d["iy"].astype(int).astype(str), format="%Y")
    stamp = (
        start
        + pd.to_timedelta(d["id"] - 1, unit="D")
        + pd.to_timedelta(d["it"], unit="h")
    )
    idx = pd.DatetimeIndex(stamp).tz_localize(tz)
    mid = idx + pd.Timedelta(minutes=30)
    ghi = d["kdown"].clip(lower=0).to_numpy(float)
    frame = pd.DataFrame({"ghi": ghi}, index=mid)
    if d["kdiff"].notna().all() and d["kdir"].notna().all():
        frame["dhi"] = d["kdiff"].clip(lower=0).to_numpy(float)
        frame["dni"] = d["kdir"].clip(lower=0).to_numpy(float)
    else:
        sun = pvlib.solarposition.get_solarposition(mid, latitude, longitude, altitude)
        erbs = pvlib.irradiance.erbs(pd.Series(ghi, mid), sun["zenith"], mid)
        frame["dhi"] = erbs["dhi"].fillna(0).to_numpy()
    frame["temp_air"] = d["Tair"].to_numpy(float)
    frame["relative_humidity"] = d["RH"].to_numpy(float)
    if d["U"].notna().any():
        frame["wind_speed"] = d["U"].to_numpy(float)
    frame["ldown"] = d["ldown"].to_numpy(float)
    met = read_met(frame, latitude=latitude, longitude=longitude, altitude=altitude)
    met.source = f"UMEP met {p.name}"
    return met
