"""Surface and sky properties for radiant heat: land cover, surface temperatures,
sky longwave.

Land cover
----------
UMEP land-cover codes (0 cobble stone, 1 paved, 2 buildings, 5 grass, 6 bare
soil, 7 water) with the effective albedos, emissivities and ground-temperature
parameters of SOLWEIG (Lindberg et al. 2008, 2016; the UMEP defaults):
:data:`LAND_COVER`. Codes 3 and 4 (evergreen and deciduous trees in UMEP) are
read as grass under the canopy: the trees themselves come from the canopy
height raster (CDSM) or the scene's tree crowns. Walls have their own row.

Surface temperatures
--------------------
Sunlit ground and walls are warmer than the air by the diurnal wave of Lindberg
et al. (2008): with ``t`` the local solar time, ``t_rise`` the sunrise and
``altmax`` the day's highest sun elevation [deg]::

    Tamp = TgK · altmax + Tstart                              [K]
    ΔT(t) = max(0, Tamp · sin(π/2 · (t - t_rise) / (TmaxLST - t_rise))) · CI

where ``CI`` is the clearness of the hour (measured GHI over clear-sky GHI,
capped to 1), the "CI_TgG" correction of SOLWEIG for cloudy hours. Shaded
surfaces are at air temperature. SOLWEIG's thermal delay of the ground
(TsWaveDelay) is not modelled: the surface follows the sun's state of the
hour (stated as a limit in docs/heat.md).

The wave was fitted on surfaces of the class's own albedo ``α_ref`` (the
UMEP default of :data:`LAND_COVER`). A surface given another albedo ``α``
(a cool roof, a light pavement, through ``overrides`` or ``roof_albedos``)
absorbs ``(1 - α) / (1 - α_ref)`` times as much sunlight; with the linearised
surface energy balance (warming over the air proportional to the absorbed
shortwave, the heat-transfer coefficient unchanged) its wave is scaled by the
same ratio::

    ΔT_α(t) = ΔT(t) · (1 - α) / (1 - α_ref)

Roofs of their own albedo (column ``roof_albedo`` of the buildings,
:func:`cimcity.heat.scenarios.cool_roofs`) get rows of their own after the
wall row (:func:`class_table` ``roof_albedos``), with the properties of the
buildings class (code 2) but their albedo.

Sky longwave
------------
When the weather has no measured ``ldown``, the clear-sky emissivity follows
Prata (1996), ``w = 46.5 e_a / T_a`` (``e_a`` in hPa, ``T_a`` in K),
``ε_clear = 1 - (1 + w) exp(-sqrt(1.2 + 3 w))``, and clouds are added as
Crawford & Duchon (1999): ``ε = c + (1 - c) ε_clear`` with the cloud fraction
``c = 1 - s``, ``s`` the clearness of the hour (ratio of measured to clear-sky
GHI, pvlib Ineichen clear sky). At night ``s`` is carried from the nearest
daytime hours (sun above 10°) of the same series; when the series has none,
the sky is taken as clear and a DataQualityWarning says so.

References
----------
.. [1] Lindberg, F., Holmer, B., Thorsson, S. (2008). SOLWEIG 1.0 - Modelling
   spatial variations of 3D radiant fluxes and mean radiant temperature in
   complex urban settings. Int J Biometeorol 52, 697-713.
   https://doi.org/10.1007/s00484-008-0162-7
.. [2] Lindberg, F., Onomura, S., Grimmond, C.S.B. (2016). Influence of ground
   surface characteristics on the mean radiant temperature in urban areas.
   Int J Biometeorol 60, 1439-1452. https://doi.org/10.1007/s00484-016-1135-x
.. [3] Prata, A. J. (1996). A new long-wave formula for estimating downward
   clear-sky radiation at the surface. Q J R Meteorol Soc 122, 1127-1151.
   https://doi.org/10.1002/qj.49712253306
.. [4] Crawford, T. M., Duchon, C. E. (1999). An improved parameterization for
   estimating effective atmospheric emissivity for use in calculating daytime
   downwelling longwave radiation. J Appl Meteorol 38, 474-480.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import DataQualityWarning, InputError

__all__ = [
    "SIGMA",
    "LAND_COVER",
    "WALL",
    "PAVED",
    "class_table",
    "roof_rows",
    "surface_wave",
    "clearness",
    "sky_longwave",
    "saturation_vapour_pressure",
]

#: Stefan-Boltzmann constant [W m⁻² K⁻⁴]
SIGMA = 5.67051e-8
#: code of paved ground (the default land cover)
PAVED = 1
#: index of the wall row in :func:`class_table` arrays
WALL = 8

#: UMEP land-cover classes: albedo, emissivity, TgK [K/deg], Tstart [K], TmaxLST [h]
LAND_COVER = pd.DataFrame(
    {
        "name": ["cobble stone", "paved", "buildings", "grass", "grass", "grass",
                 "bare soil", "water"],
        "albedo": [0.20, 0.18, 0.18, 0.16, 0.16, 0.16, 0.25, 0.05],
        "emissivity": [0.95, 0.95, 0.95, 0.94, 0.94, 0.94, 0.94, 0.98],
        "tgk": [0.37, 0.58, 0.58, 0.21, 0.21, 0.21, 0.33, 0.0],
        "tstart": [-3.41, -9.78, -9.78, -3.38, -3.38, -3.38, -3.01, 0.0],
        "tmax_lst": [15.0, 15.0, 15.0, 14.0, 14.0, 14.0, 14.0, 12.0],
    },
    index=pd.Index([0, 1, 2, 3, 4, 5, 6, 7], name="code"),
)
#: walls (SOLWEIG "Walls" defaults)
WALL_PROPERTIES = {"albedo": 0.20, "emissivity": 0.90, "tgk": 0.37, "tstart": -3.41,
                   "tmax_lst": 15.0}


#: roof albedos are kept to this step in the class rows [-]
ROOF_ALBEDO_STEP = 0.01


def roof_rows(albedo) -> tuple[np.ndarray, tuple]:
    """Class rows of roofs from their albedos.

    Parameters
    ----------
    albedo : (m,) float
        Roof albedo of each building or cell [-]; NaN: the buildings class
        default (code 2, 0.18).

    Returns
    -------
    rows : (m,) int8
        Class row of each roof: 2 for NaN, else ``WALL + 1 + k`` with ``k``
        the rank of its albedo (kept to :data:`ROOF_ALBEDO_STEP`) among the
        distinct ones.
    albedos : tuple of float
        The distinct roof albedos, to pass to :func:`class_table`.
    """
    a = np.asarray(albedo, float)
    known = np.isfinite(a)
    if ((a[known] < 0) | (a[known] > 1)).any():
        bad = a[known][(a[known] < 0) | (a[known] > 1)][0]
        raise InputError(f"roof_albedo {bad!r} must be within 0..1 (NaN: the default)")
    q = np.round(np.where(known, a, 0.0) / ROOF_ALBEDO_STEP).astype(np.int64)
    uniq = np.unique(q[known])
    rows = np.full(a.shape, 2, np.int8)
    rows[known] = (WALL + 1 + np.searchsorted(uniq, q[known])).astype(np.int8)
    return rows, tuple(float(u * ROOF_ALBEDO_STEP) for u in uniq)


def class_table(wall_albedo=0.20, wall_emissivity=0.90, overrides=None,
                roof_albedos=()) -> pd.DataFrame:
    """Property rows by class index: codes 0..7, the wall row (:data:`WALL`),
    then one row per roof albedo.

    Parameters
    ----------
    wall_albedo, wall_emissivity : float
        Wall surface properties [-].
    overrides : dict, optional
        ``{code: {"albedo": .., "emissivity": ..}}`` (e.g. a cool pavement).
    roof_albedos : sequence of float
        Albedos of roofs of their own (:func:`roof_rows`): rows ``WALL + 1``
        onwards, with the buildings class's other properties.

    Returns
    -------
    pandas.DataFrame
        Columns ``albedo``, ``emissivity``, ``tgk``, ``tstart``, ``tmax_lst``
        and ``albedo_ref`` (the albedo the class's wave was fitted at).
    """
    t = LAND_COVER.copy()
    t["albedo_ref"] = t["albedo"]
    for code, props in (overrides or {}).items():
        if int(code) not in t.index:
            raise InputError(
                f"unknown land-cover code {code!r}; expected one of "
                f"{list(t.index)} (UMEP classes)"
            )
        for k, v in props.items():
            if k not in t.columns or k in ("name", "albedo_ref"):
                raise InputError(
                    f"unknown land-cover property {k!r}; expected albedo, "
                    f"emissivity, tgk, tstart or tmax_lst"
                )
            t.loc[int(code), k] = float(v)
    wall = dict(WALL_PROPERTIES, albedo=float(wall_albedo),
                emissivity=float(wall_emissivity), name="walls",
                albedo_ref=WALL_PROPERTIES["albedo"])
    t.loc[WALL] = pd.Series(wall)
    if len(roof_albedos) > 127 - WALL - 1:
        raise InputError(
            f"{len(roof_albedos)} distinct roof albedos exceed the {127 - WALL - 1} "
            f"class rows; round them (e.g. to 0.01)"
        )
    for k, a in enumerate(roof_albedos):
        row = t.loc[2].copy()
        row["albedo"], row["name"] = float(a), f"roof {float(a):.2f}"
        t.loc[WALL + 1 + k] = row
    for c in ("albedo", "emissivity"):
        v = t[c].astype(float)
        if ((v < 0) | (v > 1)).any():
            raise InputError(f"{c} must be within 0..1; got {v.to_dict()}")
    return t


def saturation_vapour_pressure(temp_air):
    """Saturation vapour pressure over water [hPa] at ``temp_air`` [°C]
    (Magnus form used by SOLWEIG: ``6.107 · 10^(7.5 T / (237.3 + T))``)."""
    t = np.asarray(temp_air, float)
    return 6.107 * 10.0 ** (7.5 * t / (237.3 + t))


def clearness(met, min_elevation=10.0):
    """Clearness of each step: measured GHI / clear-sky GHI, in 0..1.

    Night and low-sun steps (below ``min_elevation`` [deg]) take the value of
    the nearest step with the sun high enough (linear in time between them).

    Parameters
    ----------
    met : cimcity.heat.met.Met

    Returns
    -------
    s : (T,) float64
        Clearness [-] (1: clear).
    known : bool
        False when no step had the sun high enough (``s`` is then 1: clear,
        an assumption).
    """
    import pvlib

    d = met.sky.data
    loc = pvlib.location.Location(met.latitude, met.longitude, altitude=met.sky.altitude)
    cs = loc.get_clearsky(d.index, model="ineichen", solar_position=d)
    ghi_cs = cs["ghi"].to_numpy(float)
    ghi = d["ghi_input"].to_numpy(float)
    high = (d["apparent_elevation"].to_numpy() > min_elevation) & (ghi_cs > 50)
    s = np.full(len(d), np.nan)
    s[high] = np.clip(ghi[high] / ghi_cs[high], 0.0, 1.0)
    if not high.any():
        return np.ones(len(d)), False
    t = (d.index - d.index[0]).total_seconds().to_numpy()
    s = np.interp(t, t[high], s[high])
    return s, True


def sky_longwave(met, clearness_index=None) -> tuple[np.ndarray, str]:
    """Downwelling longwave from the whole sky on a horizontal plane [W/m²].

    Measured ``met.air.ldown`` where given, else Prata (1996) with the
    Crawford & Duchon (1999) cloud correction (module docstring).

    Returns
    -------
    ldown : (T,) float64
    how : str
        ``"measured"``, ``"estimated"`` or ``"mixed"``.
    """
    air = met.air
    ta = air["temp_air"].to_numpy(float) + 273.15
    measured = air["ldown"].to_numpy(float)
    if np.isfinite(measured).all():
        return measured, "measured"
    if clearness_index is None:
        clearness_index, known = clearness(met)
        if not known:
            warnings.warn(
                "no daytime hour in the weather to estimate cloudiness: the sky "
                "longwave is computed for a clear sky (a lower bound)",
                DataQualityWarning,
                stacklevel=3,
            )
    ea = saturation_vapour_pressure(air["temp_air"]) * air["relative_humidity"].to_numpy(float) / 100.0
    w = 46.5 * ea / ta
    eps_clear = 1.0 - (1.0 + w) * np.exp(-np.sqrt(1.2 + 3.0 * w))
    c = 1.0 - np.asarray(clearness_index, float)
    eps = c + (1.0 - c) * eps_clear
    est = eps * SIGMA * ta**4
    out = np.where(np.isfinite(measured), measured, est)
    how = "estimated" if not np.isfinite(measured).any() else "mixed"
    return out, how


def sunrise_hours(met) -> tuple[np.ndarray, np.ndarray]:
    """Local solar hour of sunrise and the day's highest sun elevation [deg],
    per step (days of the step's own date, pvlib SPA at 5-minute resolution)."""
    import pvlib

    times = met.times
    days = times.normalize().unique()
    rise, altmax = {}, {}
    for day in days:
        fine = pd.date_range(day, day + pd.Timedelta(hours=24), freq="5min", inclusive="left")
        sp = pvlib.solarposition.get_solarposition(fine, met.latitude, met.longitude)
        el = sp["apparent_elevation"].to_numpy()
        altmax[day] = float(el.max())
        up = np.flatnonzero(el > 0)
        rise[day] = (fine[up[0]] - day).total_seconds() / 3600.0 if len(up) else np.nan
    key = times.normalize()
    return (np.array([rise[k] for k in key]), np.array([altmax[k] for k in key]))


def surface_wave(met, table, clearness_index) -> np.ndarray:
    """Warming of sunlit surfaces over the air temperature [K] (Lindberg 2008).

    Parameters
    ----------
    met : Met
    table : pandas.DataFrame
        :func:`class_table` (rows: class indices).
    clearness_index : (T,) float

    Returns
    -------
    (T, C) float64
        ``ΔT`` of each step for each class row of ``table`` (0 at night and
        before sunrise), scaled by ``(1 - α) / (1 - α_ref)`` for rows whose
        albedo differs from the one the wave was fitted at.
    """
    rise, altmax = sunrise_hours(met)
    t = met.times
    hour = (t - t.normalize()).total_seconds().to_numpy() / 3600.0
    tgk = table["tgk"].to_numpy(float)[None, :]
    tstart = table["tstart"].to_numpy(float)[None, :]
    tmax = table["tmax_lst"].to_numpy(float)[None, :]
    a = table["albedo"].to_numpy(float)
    a_ref = table["albedo_ref"].to_numpy(float) if "albedo_ref" in table else a
    absorbed = ((1.0 - a) / np.maximum(1.0 - a_ref, 1e-9))[None, :]
    amp = (tgk * altmax[:, None] + tstart) * absorbed
    r = rise[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        phase = (hour[:, None] - r) / (tmax - r)
        dt = amp * np.sin(np.clip(phase, 0.0, 2.0) * np.pi / 2.0)
    dt = np.where(np.isfinite(dt) & (hour[:, None] > r), np.maximum(dt, 0.0), 0.0)
    return dt * np.clip(np.asarray(clearness_index, float), 0.0, 1.0)[:, None]
