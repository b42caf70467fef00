"""Thermal comfort at pedestrian level: UTCI, heat-stress categories, hours of stress.

The Universal Thermal Climate Index (UTCI) is computed by
:func:`pythermalcomfort.models.utci`, the reference Python implementation of the
operational polynomial (Bröde et al. 2012); nothing of it is rewritten here.
This module adds what a city study needs around it:

- **valid ranges kept**: inputs outside the polynomial's applicability limits
  (air temperature -50…50 °C, Tmrt - Ta -30…70 °C, wind 0.5…17 m/s, relative
  humidity 0…100 %, water vapour pressure 0…5 kPa) give NaN ("unknown") and one
  :class:`~cimcity.errors.DataQualityWarning` counting the values per reason,
  never an extrapolated number;
- **calm floor**: winds below 0.5 m/s are raised to 0.5 m/s, the lowest wind of
  the UTCI's valid range (Bröde et al. 2012: the reference person walks at
  1.1 m/s, so still air is never felt as less than that range's floor);
- **the wind profile** (:func:`pedestrian_wind`, :func:`utci_wind`): a weather
  station gives the wind at 10 m; the wind at the body's centre (1.1 m) follows
  the neutral logarithmic profile ``v(z) = v10 ln(z/z0) / ln(10/z0)`` (Oke 1987),
  through :func:`pythermalcomfort.environment.scale_wind_speed_log`. The UTCI's
  own argument ``v`` is, by its definition, the wind **at 10 m**; the UTCI
  procedure converts a wind measured at another height ``z`` to 10 m by the same
  profile with z0 = 0.01 m (Bröde et al. 2012, Jendritzky et al. 2012). So a
  station's 10 m wind goes into :func:`utci` as it is, and a local wind known at
  1.1 m goes in as ``utci_wind(v, height=1.1)``. Feeding a 1.1 m wind straight
  into ``v`` would underestimate the cooling by the wind (about x0.68) and so
  overstate heat stress: we do not do it;
- **heat-stress categories** (:data:`CATEGORIES`, :func:`stress_category`): the
  ten UTCI bands of Bröde et al. (2012), each band including its upper edge as
  in pythermalcomfort (26.0 °C is "no thermal stress", 26.1 °C "moderate heat
  stress"), with French names in :mod:`cimcity.i18n`;
- **hours of stress over a period** (:func:`hours_above`): per point, the hours
  at or above each heat category, and the hours that are unknown.

References
----------
Bröde P., Fiala D., Błażejczyk K., Holmér I., Jendritzky G., Kampmann B.,
Tinz B., Havenith G. (2012). Deriving the operational procedure for the
Universal Thermal Climate Index (UTCI). Int J Biometeorol 56:481–494.
doi:10.1007/s00484-011-0454-1

Jendritzky G., de Dear R., Havenith G. (2012). UTCI—Why another thermal index?
Int J Biometeorol 56:421–428. doi:10.1007/s00484-011-0513-7

Oke T. R. (1987). Boundary Layer Climates, 2nd ed. Routledge (logarithmic wind
profile, neutral stability).

Tartarini F., Schiavon S. (2020). pythermalcomfort: A Python package for thermal
comfort research. SoftwareX 12:100578. doi:10.1016/j.softx.2020.100578
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .. import i18n
from .._compat import import_optional
from ..errors import DataQualityWarning, InputError

__all__ = [
    "CATEGORIES",
    "HEAT_CATEGORIES",
    "CALM_WIND",
    "UTCI_Z0",
    "utci",
    "stress_category",
    "category_index",
    "hours_above",
    "pedestrian_wind",
    "utci_wind",
    "utci_frame",
    "stress_table",
]

#: lowest wind of the UTCI's valid range [m/s]; calmer winds are raised to it
CALM_WIND = 0.5
#: highest wind of the UTCI's valid range [m/s] (UTCI program documentation)
MAX_WIND = 17.0
#: roughness length [m] the UTCI procedure uses to bring winds to 10 m (Bröde 2012)
UTCI_Z0 = 0.01
#: height [m] of the UTCI's wind argument
UTCI_WIND_HEIGHT = 10.0
#: centre of a standing person's body [m] (Tmrt and UTCI are evaluated there)
BODY_HEIGHT = 1.1

#: UTCI stress categories, (key, lower edge excluded, upper edge included) [°C],
#: Bröde et al. (2012) Table 1; bins include their upper edge as pythermalcomfort's.
CATEGORIES = (
    ("extreme_cold", -np.inf, -40.0),
    ("very_strong_cold", -40.0, -27.0),
    ("strong_cold", -27.0, -13.0),
    ("moderate_cold", -13.0, 0.0),
    ("slight_cold", 0.0, 9.0),
    ("no_stress", 9.0, 26.0),
    ("moderate_heat", 26.0, 32.0),
    ("strong_heat", 32.0, 38.0),
    ("very_strong_heat", 38.0, 46.0),
    ("extreme_heat", 46.0, np.inf),
)
#: the heat categories counted by :func:`hours_above`
HEAT_CATEGORIES = ("moderate_heat", "strong_heat", "very_strong_heat", "extreme_heat")
_EDGES = np.array([c[2] for c in CATEGORIES[:-1]])
_KEYS = tuple(c[0] for c in CATEGORIES)

i18n.add_terms(
    {
        "utci_extreme_cold": ("Extreme cold stress", "Stress extrême dû au froid"),
        "utci_very_strong_cold": (
            "Very strong cold stress",
            "Stress très fort dû au froid",
        ),
        "utci_strong_cold": ("Strong cold stress", "Stress fort dû au froid"),
        "utci_moderate_cold": ("Moderate cold stress", "Stress modéré dû au froid"),
        "utci_slight_cold": ("Slight cold stress", "Léger stress dû au froid"),
        "utci_no_stress": ("No thermal stress", "Pas de stress thermique"),
        "utci_moderate_heat": ("Moderate heat stress", "Stress thermique modéré"),
        "utci_strong_heat": ("Strong heat stress", "Stress thermique fort"),
        "utci_very_strong_heat": (
            "Very strong heat stress",
            "Stress thermique très fort",
        ),
        "utci_extreme_heat": ("Extreme heat stress", "Stress thermique extrême"),
        "utci_category": ("Heat stress (UTCI)", "Stress thermique (UTCI)"),
        "utci_hours_at_least": (
            "Hours of {category} or worse",
            "Heures de {category} ou plus",
        ),
    },
    units={"utci_hours_at_least": "h"},
)


def _utci_model():
    return import_optional("pythermalcomfort.models").utci


def utci(tdb, tr, v, rh) -> np.ndarray:
    """Universal Thermal Climate Index on arrays, through pythermalcomfort.

    The arguments broadcast together (a grid of Tmrt with one air temperature,
    wind and humidity, or time series of each).

    Parameters
    ----------
    tdb : array_like
        Air (dry-bulb) temperature [°C].
    tr : array_like
        Mean radiant temperature [°C].
    v : array_like
        Wind speed **at 10 m** [m/s], as the UTCI defines it (a weather
        station's wind as it is; a local wind known at another height through
        :func:`utci_wind`). Values below :data:`CALM_WIND` (0.5 m/s) are raised
        to it.
    rh : array_like
        Relative humidity [%].

    Returns
    -------
    numpy.ndarray of float
        UTCI [°C], unrounded, of the broadcast shape; NaN where an input is NaN
        or outside the UTCI's valid ranges.

    Warns
    -----
    DataQualityWarning
        When values fall outside the valid ranges (counted per reason); they are
        NaN, not extrapolated.

    References
    ----------
    Bröde et al. (2012), doi:10.1007/s00484-011-0454-1; pythermalcomfort
    :func:`~pythermalcomfort.models.utci`.
    """
    model = _utci_model()
    try:
        tdb, tr, v, rh = np.broadcast_arrays(
            *(np.asarray(a, dtype=float) for a in (tdb, tr, v, rh))
        )
    except ValueError as exc:
        raise InputError(
            f"utci: tdb {np.shape(tdb)}, tr {np.shape(tr)}, v {np.shape(v)} and rh "
            f"{np.shape(rh)} do not broadcast together: {exc}"
        ) from None
    shape = tdb.shape
    if tdb.size == 0:
        return np.empty(shape)
    v = np.where(v < CALM_WIND, CALM_WIND, v)  # NaN stays NaN
    flat = [a.reshape(-1) for a in (tdb, tr, v, rh)]
    with warnings.catch_warnings():
        # pythermalcomfort lists every out-of-range value; one summary below
        warnings.simplefilter("ignore", UserWarning)
        out = np.asarray(
            model(*flat, limit_inputs=True, round_output=False).utci, dtype=float
        ).reshape(shape)
    known = ~(np.isnan(tdb) | np.isnan(tr) | np.isnan(v) | np.isnan(rh))
    refused = known & np.isnan(out)
    if refused.any():
        warnings.warn(_range_message(tdb, tr, v, rh, refused), DataQualityWarning,
                      stacklevel=2)
    return out


def _range_message(tdb, tr, v, rh, refused) -> str:
    with np.errstate(invalid="ignore"):
        reasons = {
            "air temperature outside -50..50 °C": (tdb < -50) | (tdb > 50),
            "Tmrt - air temperature outside -30..70 °C": ((tr - tdb) < -30)
            | ((tr - tdb) > 70),
            f"wind above {MAX_WIND:g} m/s": v > MAX_WIND,
            "relative humidity outside 0..100 %": (rh < 0) | (rh > 100),
        }
    parts, explained = [], np.zeros_like(refused)
    for text, mask in reasons.items():
        n = int((mask & refused).sum())
        if n:
            parts.append(f"{n:,} with {text}")
        explained |= mask
    rest = int((refused & ~explained).sum())
    if rest:
        parts.append(f"{rest:,} with water vapour pressure above 5 kPa")
    return (
        f"UTCI unknown (NaN) for {int(refused.sum()):,} of {refused.size:,} values "
        f"outside the UTCI's valid ranges ({'; '.join(parts)}); the polynomial is not "
        "extrapolated"
    )


def category_index(values) -> np.ndarray:
    """Index of the UTCI stress category of each value (into :data:`CATEGORIES`).

    Parameters
    ----------
    values : array_like
        UTCI [°C].

    Returns
    -------
    numpy.ndarray of int
        0 (extreme cold stress) … 9 (extreme heat stress); -1 where the UTCI is
        NaN (unknown). Each band includes its upper edge (Bröde et al. 2012, as
        pythermalcomfort).
    """
    a = np.asarray(values, dtype=float)
    idx = np.searchsorted(_EDGES, a, side="left")
    return np.where(np.isnan(a), -1, idx).astype(int)


def stress_category(values, *, lang: str | None = None, keys: bool = False):
    """UTCI stress category of each value, as words.

    Parameters
    ----------
    values : array_like
        UTCI [°C].
    lang : {"fr", "en"} or None
        Language of the names (None: the package default, see :mod:`cimcity.i18n`).
    keys : bool
        Return the language-neutral keys ("moderate_heat"…) instead of names.

    Returns
    -------
    numpy.ndarray of object
        Names (or keys); None where the UTCI is unknown.
    """
    idx = category_index(values)
    names = _KEYS if keys else tuple(i18n.term(f"utci_{k}", lang) for k in _KEYS)
    lut = np.array(list(names) + [None], dtype=object)
    return lut[idx]


def hours_above(values, *, step_hours: float = 1.0, index=None) -> pd.DataFrame:
    """Hours at or above each heat-stress category over a period, per point.

    Parameters
    ----------
    values : (t, n) array_like or pandas.DataFrame
        UTCI [°C] at ``t`` times (rows) and ``n`` points (columns); a DataFrame
        as :attr:`timeseries` tables hold it (times as index, points as columns).
        A 1-D series is one point.
    step_hours : float
        Duration of each time step [h] (1 for hourly weather).
    index : sequence, optional
        Names of the points (default: the DataFrame's columns, else 0…n-1).

    Returns
    -------
    pandas.DataFrame
        One row per point: ``hours_moderate_heat``, ``hours_strong_heat``,
        ``hours_very_strong_heat``, ``hours_extreme_heat`` [h] (hours in that
        category **or worse**, so each column includes the next),
        ``hours_known`` and ``hours_unknown`` [h], and ``utci_max`` [°C]. Where
        some hours are unknown the counts are those of the known hours
        (minimums); a point with no known hour gets NaN everywhere.

    Warns
    -----
    DataQualityWarning
        When some hours are unknown (NaN UTCI).
    """
    if step_hours <= 0 or not np.isfinite(step_hours):
        raise InputError(f"step_hours={step_hours!r} must be a positive duration [h]")
    if isinstance(values, pd.DataFrame):
        names = values.columns if index is None else index
        a = values.to_numpy(dtype=float)
    else:
        a = np.asarray(values, dtype=float)
        if a.ndim == 1:
            a = a[:, None]
        names = index
    if a.ndim != 2:
        raise InputError(f"hours_above: values must be (times, points); got {a.shape}")
    names = pd.Index(range(a.shape[1]) if names is None else names, name="point")
    if len(names) != a.shape[1]:
        raise InputError(f"hours_above: {len(names)} names for {a.shape[1]} points")
    idx = category_index(a)
    known = idx >= 0
    out = {}
    for key in HEAT_CATEGORIES:
        k = _KEYS.index(key)
        out[f"hours_{key}"] = (idx >= k).sum(axis=0) * float(step_hours)
    n_known = known.sum(axis=0)
    out["hours_known"] = n_known * float(step_hours)
    out["hours_unknown"] = (~known).sum(axis=0) * float(step_hours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        out["utci_max"] = np.nanmax(a, axis=0) if a.shape[0] else np.full(a.shape[1], np.nan)
    df = pd.DataFrame(out, index=names)
    none = n_known == 0
    df.loc[none, :] = np.nan
    df.loc[none, "hours_unknown"] = a.shape[0] * float(step_hours)
    df.loc[none, "hours_known"] = 0.0
    unknown = int((~known).sum())
    if unknown:
        warnings.warn(
            f"hours_above: {unknown:,} of {known.size:,} point-hours have an unknown "
            f"UTCI (NaN); the hours counted are those of the known hours (column "
            "hours_unknown says how many are missing per point)",
            DataQualityWarning,
            stacklevel=2,
        )
    return df


def pedestrian_wind(v10, height: float = BODY_HEIGHT, *, z0: float = UTCI_Z0):
    """Wind at a pedestrian's height from the wind at 10 m (logarithmic profile).

    ``v(z) = v10 ln(z / z0) / ln(10 / z0)`` (neutral stability, no displacement
    height; Oke 1987), computed by
    :func:`pythermalcomfort.environment.scale_wind_speed_log`, and raised to
    :data:`CALM_WIND` (0.5 m/s). With the default z0 = 0.01 m (the roughness the
    UTCI procedure uses, Bröde et al. 2012) the wind at 1.1 m is 0.68 times the
    wind at 10 m. Among buildings the log law is only a first estimate
    (street-level wind needs a canopy-layer model or measurements).

    Parameters
    ----------
    v10 : array_like
        Wind speed at 10 m [m/s] (a weather file's ``wind_speed``).
    height : float
        Height of the pedestrian's body centre [m] (1.1 m: standing adult).
    z0 : float
        Roughness length [m].

    Returns
    -------
    numpy.ndarray
        Wind speed at ``height`` [m/s], at least 0.5 m/s; NaN where ``v10`` is NaN.
    """
    scale = import_optional("pythermalcomfort.environment").scale_wind_speed_log
    _check_heights(height, z0)
    v10 = np.asarray(v10, dtype=float)
    if np.any(v10 < 0):
        raise InputError(f"wind speed must be >= 0 m/s; got {np.nanmin(v10):g}")
    nan = np.isnan(v10)
    v = scale(
        v_z1=np.where(nan, 0.0, v10), z2=float(height), z1=UTCI_WIND_HEIGHT,
        z0=float(z0), round_output=False,
    ).v_z2
    v = np.maximum(np.asarray(v, dtype=float), CALM_WIND)
    return np.where(nan, np.nan, v)


def utci_wind(v, height: float = BODY_HEIGHT, *, z0: float = UTCI_Z0):
    """The UTCI's wind argument (at 10 m) from a wind known at ``height``.

    The inverse of :func:`pedestrian_wind`:
    ``v10 = v ln(10 / z0) / ln(height / z0)``, the conversion the UTCI procedure
    prescribes with z0 = 0.01 m (Bröde et al. 2012), raised to 0.5 m/s.

    Parameters
    ----------
    v : array_like
        Wind speed at ``height`` [m/s] (e.g. measured at 1.1 m in a street).
    height : float
        Height of ``v`` [m].
    z0 : float
        Roughness length [m].

    Returns
    -------
    numpy.ndarray
        Wind at 10 m [m/s] to give :func:`utci` as ``v``.
    """
    _check_heights(height, z0)
    v = np.asarray(v, dtype=float)
    if np.any(v < 0):
        raise InputError(f"wind speed must be >= 0 m/s; got {np.nanmin(v):g}")
    v10 = v * np.log(UTCI_WIND_HEIGHT / z0) / np.log(height / z0)
    return np.where(np.isnan(v10), np.nan, np.maximum(v10, CALM_WIND))


def _check_heights(height, z0):
    if not (np.isfinite(z0) and z0 > 0):
        raise InputError(f"roughness length z0={z0!r} m must be > 0 (0.01: open terrain)")
    if not (np.isfinite(height) and height > z0):
        raise InputError(
            f"height={height!r} m must be above the roughness length z0={z0:g} m "
            "(1.1 m: centre of a standing person)"
        )


def utci_frame(result) -> pd.DataFrame:
    """Hourly UTCI at the points of a Tmrt result.

    Parameters
    ----------
    result : cimcity.heat.TmrtResult
        Computed with ``timeseries=True``; its ``met.air`` gives the air
        temperature [°C], relative humidity [%] and the wind at 10 m [m/s] (the
        UTCI's own wind argument, see the module docstring).

    Returns
    -------
    pandas.DataFrame
        UTCI [°C], index = the weather's times, one column per point (NaN:
        unknown — missing wind, or inputs outside the UTCI's ranges).
    """
    ts = result.timeseries
    if ts is None:
        raise InputError("UTCI needs the hourly Tmrt: run cimcity.heat.tmrt(..., "
                         "timeseries=True)")
    air = result.met.air.reindex(ts.index)
    col = lambda name: air[name].to_numpy(float)[:, None]  # noqa: E731
    wind = col("wind_speed") if "wind_speed" in air.columns else np.full(
        (len(ts), 1), np.nan)
    values = utci(col("temp_air"), ts.to_numpy(float), wind, col("relative_humidity"))
    return pd.DataFrame(values, index=ts.index, columns=ts.columns)


def stress_table(utci_values: pd.DataFrame, *, step_hours: float = 1.0) -> pd.DataFrame:
    """Per point: hottest and mean UTCI, worst category and hours of heat stress.

    Parameters
    ----------
    utci_values : pandas.DataFrame
        UTCI [°C], times × points (:func:`utci_frame`).
    step_hours : float
        Duration of a step [h].

    Returns
    -------
    pandas.DataFrame
        ``utci_max``, ``utci_mean`` [°C], ``category_max`` (key of the worst
        category, None: unknown) and the columns of :func:`hours_above`.
    """
    h = hours_above(utci_values, step_hours=step_hours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        h.insert(1, "utci_mean", np.nanmean(utci_values.to_numpy(float), axis=0)
                 if len(utci_values) else np.nan)
    h.insert(0, "category_max", stress_category(h["utci_max"].to_numpy(), keys=True))
    return h
