"""Sun, sky and weather for irradiance studies (pvlib underneath).

What lives here
---------------
* :func:`sun_positions`: SPA sun positions (pvlib ``nrel_numpy``) for
  timezone-aware times, with unit sun vectors.
* :class:`SkyPatches`: the Tregenza (145) and Reinhart (MF:m, ``144 m² + 1``)
  subdivisions of the sky hemisphere, with exact solid angles (they sum to 2π),
  patch lookup for directions (sun binning) and equal-area sub-sampling.
* :class:`Weather` and :func:`read_weather`: hourly (or any regular step)
  ``ghi``, ``dni``, ``dhi`` [W/m²] from an EPW file (``pvlib.iotools.read_epw``),
  a DataFrame, or pvlib's clear sky at the site (Ineichen with Linke turbidity
  climatology, an **upper bound** of what real weather gives).
* :func:`sky_components`: the sky-radiance model of each time step, split in
  parts whose angular shape does not change with time, so a visibility matrix
  traced once serves every weather file and period.

Sky model
---------
``model="perez"`` decomposes the Perez et al. (1990) transposition model, as
pvlib implements it (:func:`pvlib.irradiance.perez`, coefficients ``allsitescomposite1990``),
into three light sources whose sum gives exactly pvlib's Perez plane-of-array
sky diffuse on any unobstructed plane:

* an **isotropic dome** of radiance ``L = (DHI - F1 DHI cos Z / b) / π``
  [W m⁻² sr⁻¹] (``b = max(cos Z, cos 85°)``), i.e. ``DHI (1 - F1) / π`` for
  ``Z < 85°``;
* a **circumsolar point source** at the sun of normal irradiance
  ``F1 DHI / b`` [W/m²], traced together with the direct beam;
* a **horizon ring** (elevation 0) of intensity ``F2 DHI / 2`` [W m⁻² rad⁻¹],
  which gives ``F2 DHI sin β`` on a plane of tilt β.

``F1`` and ``F2`` are read back from :func:`pvlib.irradiance.perez` components
(not re-implemented). The isotropic part is sized so that an open horizontal
plane receives exactly ``DHI``; for ``Z > 85°`` this puts the small circumsolar
deficit of pvlib's horizontal plane into the dome (a fraction of a percent of
annual diffuse). ``model="isotropic"`` is the plain isotropic sky
(``F1 = F2 = 0``).

Frames
------
Azimuths are clockwise from **true** north. Vectors are (east, north, up) in a
frame whose grid azimuth of true north is ``north`` (0 by default: local
east-north-up); :func:`cimcity.solar.irradiance` passes its scene's grid
convergence (``docs/conventions.md``, :mod:`cimcity._sunframe`) to
:func:`sky_components` and :meth:`SkyPatches.in_grid`, so the sun and the
patches meet the mesh in the CRS grid (x = easting, y = northing).

Time stamps
-----------
A :class:`Weather` holds **mid-interval** instants: EPW rows (values integrated
over the hour *ending* at the EPW hour; pvlib labels them with the hour start)
are moved to the middle of their hour; clear-sky series are computed at
mid-interval instants. Sun positions are evaluated at those instants.

GHI closure
-----------
3D transposition needs the beam and the diffuse separately, so cimcity uses
``dni`` and ``dhi`` and recomputes ``ghi = dhi + dni max(cos Z, 0)`` (column
``ghi``); the file's own GHI is kept as ``ghi_input`` and the annual closure gap
is reported by :meth:`Weather.summary`. An open horizontal plane therefore
receives exactly ``ghi``.

References
----------
.. [1] Perez, R., Ineichen, P., Seals, R., Michalsky, J., Stewart, R. (1990).
   Modeling daylight availability and irradiance components from direct and
   global irradiance. Solar Energy 44(5), 271-289.
   https://doi.org/10.1016/0038-092X(90)90055-H
.. [2] Tregenza, P. R. (1987). Subdivision of the sky hemisphere for luminance
   measurements. Lighting Research & Technology 19(1), 13-14.
   https://doi.org/10.1177/096032718701900103
.. [3] Reinhart, C. F., Walkenhorst, O. (2001). Validation of dynamic
   RADIANCE-based daylight simulations for a test office with external blinds.
   Energy and Buildings 33(7), 683-697 (MF:m patches as in Radiance
   ``reinhart.cal``: row height ``90° / (7 m + 0.5)``).
.. [4] Reda, I., Andreas, A. (2004). Solar position algorithm for solar
   radiation applications. Solar Energy 76(5), 577-589.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from . import _sunframe
from .errors import CimcityWarning, FileFormatError, InputError

__all__ = [
    "DEFAULT_TZ",
    "TYPICAL_YEAR",
    "SKY_MODELS",
    "sun_positions",
    "direction_vectors",
    "SkyPatches",
    "tregenza",
    "reinhart",
    "sky_patches",
    "Weather",
    "read_weather",
    "read_epw",
    "from_frame",
    "clear_sky",
    "period_times",
    "SkyComponents",
    "sky_components",
    "patch_radiance",
]

#: timezone used when none is given
DEFAULT_TZ = "Europe/Paris"
#: year given to typical-year (EPW) data and default clear-sky studies (not leap)
TYPICAL_YEAR = 2023
#: sky models accepted by :func:`sky_components`
SKY_MODELS = ("perez", "isotropic")
#: Tregenza patches per 12° altitude row, from the horizon up (plus one cap)
TREGENZA_ROWS = (30, 30, 24, 24, 18, 12, 6)
#: pvlib Perez coefficient set used by :func:`sky_components`
PEREZ_SET = "allsitescomposite1990"
#: largest accepted distance between the weather station and the site [km]
STATION_WARN_KM = 100.0


def _as_times(times, tz=DEFAULT_TZ) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(pd.to_datetime(times))
    if idx.tz is None:
        raise InputError(
            "times must be timezone-aware (e.g. "
            "pd.date_range('2023-06-21', periods=24, freq='h', tz='Europe/Paris')); "
            f"got naive times starting {idx[0] if len(idx) else None}"
        )
    return idx


def direction_vectors(elevation, azimuth, north: float = 0.0) -> np.ndarray:
    """Unit vectors (east, north, up) of directions.

    Parameters
    ----------
    elevation : (n,) array-like
        Elevation above the horizon [deg].
    azimuth : (n,) array-like
        Azimuth clockwise from true north [deg].
    north : float
        Grid azimuth of true north [deg]; give the scene's
        (``cimcity._sunframe.grid_north``, about +0.49° at Paris in Lambert-93)
        to get vectors in the scene's grid frame (x = easting, y = northing),
        the frame of its mesh. 0 (default): local east-north-up.

    Returns
    -------
    (n, 3) float64
        ``(cos e sin g, cos e cos g, sin e)`` with ``g = azimuth + north``.
    """
    return _sunframe.direction_vectors(elevation, azimuth, north)


def sun_positions(
    times,
    latitude: float,
    longitude: float,
    altitude: float = 0.0,
    temperature: float = 12.0,
    north: float = 0.0,
) -> pd.DataFrame:
    """Sun positions by the NREL SPA (pvlib ``method="nrel_numpy"``).

    Parameters
    ----------
    times : (T,) timezone-aware datetimes
        Instants (a naive time raises :class:`~cimcity.errors.InputError`).
    latitude, longitude : float
        Site in WGS84 degrees (north, east positive).
    altitude : float
        Site altitude [m] (sets the pressure for refraction).
    temperature : float
        Air temperature for refraction [°C].
    north : float
        Grid azimuth of true north [deg] of the frame of ``x, y, z`` (see
        :func:`direction_vectors`); 0: local east-north-up.

    Returns
    -------
    pandas.DataFrame
        Index ``times``; columns ``elevation``, ``apparent_elevation``,
        ``zenith``, ``apparent_zenith``, ``azimuth`` [deg, clockwise from true
        north] and ``x``, ``y``, ``z``: the unit vector to the sun (east,
        north, up; grid east and north when ``north`` is given) from the
        apparent (refracted) elevation.

    References
    ----------
    Reda & Andreas (2004), Solar Energy 76(5), 577-589.
    """
    import pvlib

    idx = _as_times(times)
    _check_site(latitude, longitude)
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
    ]
    out = out.copy()
    v = direction_vectors(out["apparent_elevation"], out["azimuth"], north)
    out["x"], out["y"], out["z"] = v[:, 0], v[:, 1], v[:, 2]
    return out


def _check_site(latitude, longitude):
    if not (np.isfinite(latitude) and -90 <= latitude <= 90):
        raise InputError(f"latitude must be in [-90, 90] degrees; got {latitude!r}")
    if not (np.isfinite(longitude) and -180 <= longitude <= 360):
        raise InputError(f"longitude must be in [-180, 180] degrees; got {longitude!r}")


# -- sky subdivisions ----------------------------------------------------------------
@dataclass(eq=False)
class SkyPatches:
    """A subdivision of the sky hemisphere into rows of patches.

    Patch ``j`` of a row of ``n`` patches spans azimuths
    ``[(j - ½) 360/n, (j + ½) 360/n]`` (clockwise from north, so each row is
    symmetric about the north-south axis); the last patch is the zenith cap.

    Azimuths are true (clockwise from true north); every direction the patches
    give (:attr:`directions`, :meth:`subsample`, :meth:`horizon_samples`) and
    take (:meth:`find`) is in the frame whose grid azimuth of true north is
    :attr:`north` (see :func:`direction_vectors`): :meth:`in_grid` lays the
    same patches in a scene's grid frame, as :func:`cimcity.solar.irradiance`
    does.

    Attributes
    ----------
    name : str
    altitude : (P, 2) float64
        Lower and upper elevation of each patch [deg].
    azimuth : (P, 2) float64
        True azimuth bounds [deg]; the lower bound may be negative (row start).
    row : (P,) int64
        Row index (0 at the horizon).
    north : float
        Grid azimuth of true north of the frame of the directions [deg]
        (0: local east-north-up).
    directions : (P, 3) float64
        Unit vectors to the patch centres (east, north, up).
    solid_angles : (P,) float64
        ``Δφ (sin a₁ - sin a₀)`` [sr]; they sum to 2π.
    """

    name: str
    altitude: np.ndarray
    azimuth: np.ndarray
    row: np.ndarray
    row_counts: tuple
    row_edges: np.ndarray
    north: float = 0.0
    directions: np.ndarray = field(init=False)
    solid_angles: np.ndarray = field(init=False)

    def __post_init__(self):
        self.north = float(self.north)
        alt_c = self.altitude.mean(axis=1)
        alt_c[-1] = 90.0  # zenith cap
        az_c = self.azimuth.mean(axis=1)
        az_c[-1] = 0.0
        self.directions = direction_vectors(alt_c, az_c, self.north)
        dphi = np.radians(self.azimuth[:, 1] - self.azimuth[:, 0])
        s = np.sin(np.radians(self.altitude))
        self.solid_angles = dphi * (s[:, 1] - s[:, 0])
        self._offsets = np.concatenate([[0], np.cumsum(self.row_counts)])

    def __len__(self) -> int:
        return len(self.row)

    def __repr__(self) -> str:
        turn = f", grid north {self.north:+.4f}°" if self.north else ""
        return (
            f"<SkyPatches {self.name}: {len(self)} patches, "
            f"{len(self.row_counts)} rows{turn}>"
        )

    def in_grid(self, north: float) -> SkyPatches:
        """The same patches with directions in a frame whose grid azimuth of
        true north is ``north`` [deg] (e.g. a Lambert-93 scene's grid)."""
        if float(north) == self.north:
            return self
        return replace(self, north=float(north))

    @property
    def key(self) -> tuple:
        """(name, north): identifies the traced directions (cache key)."""
        return (self.name, self.north)

    @property
    def horizon_row(self) -> np.ndarray:
        """(P,) bool: patches of the lowest row (they carry the horizon ring)."""
        return self.row == 0

    def find(self, directions) -> np.ndarray:
        """Index of the patch containing each direction (-1 below the horizon).

        Parameters
        ----------
        directions : (n, 3) float
            Unit vectors (east, north, up) in the patches' frame
            (:attr:`north`).

        Returns
        -------
        (n,) int64
        """
        d = np.atleast_2d(np.asarray(directions, float))
        alt = np.degrees(np.arcsin(np.clip(d[:, 2], -1, 1)))
        az = (np.degrees(np.arctan2(d[:, 0], d[:, 1])) - self.north) % 360.0
        r = np.searchsorted(self.row_edges, alt, side="right") - 1
        nrows = len(self.row_counts)
        r = np.clip(r, 0, nrows - 1)
        counts = np.asarray(self.row_counts)[r]
        j = np.floor(az / (360.0 / counts) + 0.5).astype(np.int64) % counts
        out = self._offsets[r] + j
        out[alt < 0] = -1
        return out.astype(np.int64)

    def subsample(self, k: int = 8):
        """Sub-cells of every patch, for integrating over patches.

        Each patch is cut into ``k × k`` cells, equal steps in azimuth and in
        ``sin(elevation)`` (equal areas). Each cell is represented by its first
        moment ``M = ∫_cell ω dω`` (analytic): direction ``M / |M|`` and weight
        ``|M|``, so ``Σ weight · max(0, n·direction)`` integrates
        ``max(0, n·ω)`` *exactly* over every cell lying in front of the plane
        of normal ``n`` (only cells cut by that plane are approximated).

        Parameters
        ----------
        k : int
            Cells per patch side.

        Returns
        -------
        directions : (P k², 3) float64
            Unit mean direction of each cell.
        solid_angles : (P k²,) float64
            Cell solid angles [sr] (sum to 2π).
        patch : (P k²,) int64
            Patch index of each cell.
        weights : (P k²,) float64
            ``|M|`` [sr], the projected solid angle of the cell on a plane
            facing its mean direction.
        """
        t = np.arange(k + 1) / k
        s0 = np.sin(np.radians(self.altitude[:, 0]))
        s1 = np.sin(np.radians(self.altitude[:, 1]))
        a0 = self.azimuth[:, 0]
        a1 = self.azimuth[:, 1]
        u = s0[:, None] + (s1 - s0)[:, None] * t[None, :]  # (P, k+1) sin(alt) edges
        e = np.arcsin(np.clip(u, -1, 1))
        # grid azimuths of the cell edges (true + north)
        phi = np.radians(self.north + a0[:, None] + (a1 - a0)[:, None] * t[None, :])
        # per (patch, elevation cell i, azimuth cell j)
        e0, e1 = e[:, :-1, None], e[:, 1:, None]
        f0, f1 = phi[:, None, :-1], phi[:, None, 1:]
        cos2 = (e1 - e0) / 2 + (np.sin(2 * e1) - np.sin(2 * e0)) / 4  # ∫ cos² e de
        mx = cos2 * (np.cos(f0) - np.cos(f1))  # ∫ cos e sin φ · cos e de dφ
        my = cos2 * (np.sin(f1) - np.sin(f0))
        mz = (np.sin(e1) ** 2 - np.sin(e0) ** 2) / 2 * (f1 - f0)
        M = np.stack([mx, my, mz], axis=-1).reshape(-1, 3)
        w = np.linalg.norm(M, axis=1)
        dirs = M / w[:, None]
        dom = ((np.sin(e1) - np.sin(e0)) * (f1 - f0)).reshape(-1)
        patch = np.repeat(np.arange(len(self)), k * k)
        return dirs, dom, patch, w

    def horizon_samples(self, k: int = 16):
        """Azimuth samples of the horizon ring under the lowest row.

        Returns
        -------
        directions : (R, 3) float64
            Horizontal unit vectors.
        dphi : (R,) float64
            Azimuth step of each sample [rad] (sum to 2π).
        patch : (R,) int64
            Lowest-row patch above each sample.
        """
        idx = np.flatnonzero(self.horizon_row)
        t = (np.arange(k) + 0.5) / k
        a0 = self.azimuth[idx, 0]
        a1 = self.azimuth[idx, 1]
        phi = (a0[:, None] + (a1 - a0)[:, None] * t[None, :]).ravel()
        dirs = direction_vectors(np.zeros_like(phi), phi, self.north)
        dphi = np.repeat(np.radians(a1 - a0) / k, k)
        return dirs, dphi, np.repeat(idx, k)

    def to_frame(self) -> pd.DataFrame:
        """One row per patch: bounds [deg], centre direction, solid angle [sr]."""
        return pd.DataFrame(
            {
                "row": self.row,
                "alt_min": self.altitude[:, 0],
                "alt_max": self.altitude[:, 1],
                "az_min": self.azimuth[:, 0],
                "az_max": self.azimuth[:, 1],
                "x": self.directions[:, 0],
                "y": self.directions[:, 1],
                "z": self.directions[:, 2],
                "solid_angle": self.solid_angles,
            }
        )


def reinhart(mf: int = 2) -> SkyPatches:
    """Reinhart MF:``mf`` subdivision (``144 mf² + 1`` patches; MF:1 is Tregenza).

    Rows of ``90° / (7 mf + 0.5)`` elevation (Radiance ``reinhart.cal``): each
    Tregenza row is split into ``mf`` rows of ``mf ×`` as many patches; the cap
    above the last row is one patch.

    Parameters
    ----------
    mf : int
        Subdivision factor (1, 2, 4, ...).

    Returns
    -------
    SkyPatches
    """
    if not isinstance(mf, int | np.integer) or mf < 1:
        raise InputError(
            f"Reinhart subdivision factor must be an integer >= 1; got {mf!r}"
        )
    mf = int(mf)
    alpha = 90.0 / (7 * mf + 0.5)
    counts = [c * mf for c in TREGENZA_ROWS for _ in range(mf)]
    alt, az, row = [], [], []
    for r, n in enumerate(counts):
        step = 360.0 / n
        j = np.arange(n)
        alt.append(np.tile([r * alpha, (r + 1) * alpha], (n, 1)))
        az.append(np.column_stack([(j - 0.5) * step, (j + 0.5) * step]))
        row.append(np.full(n, r))
    nr = len(counts)
    alt.append(np.array([[nr * alpha, 90.0]]))
    az.append(np.array([[0.0, 360.0]]))
    row.append(np.array([nr]))
    counts.append(1)
    edges = np.array([r * alpha for r in range(nr + 1)])
    name = "tregenza" if mf == 1 else f"reinhart{mf}"
    return SkyPatches(
        name,
        np.concatenate(alt),
        np.concatenate(az),
        np.concatenate(row).astype(np.int64),
        tuple(counts),
        edges,
    )


def tregenza() -> SkyPatches:
    """Tregenza (1987) subdivision: 145 patches in 7 rows of 12° plus a cap."""
    return reinhart(1)


def sky_patches(patches) -> SkyPatches:
    """Patches by name: ``"tregenza"`` (145), ``"reinhart"`` (MF:2, 577),
    ``"reinhartN"`` (MF:N), an integer MF, or a :class:`SkyPatches`."""
    if isinstance(patches, SkyPatches):
        return patches
    if isinstance(patches, int | np.integer):
        return reinhart(int(patches))
    if isinstance(patches, str):
        p = patches.lower()
        if p == "tregenza":
            return reinhart(1)
        if p == "reinhart":
            return reinhart(2)
        if p.startswith("reinhart") and p[8:].isdigit():
            return reinhart(int(p[8:]))
    raise InputError(
        f"unknown sky patches {patches!r}; expected 'tregenza' (145), 'reinhart' "
        f"(577), 'reinhartN' (MF:N) or an integer subdivision factor"
    )


# -- weather -------------------------------------------------------------------------
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

    @property
    def sun(self) -> pd.DataFrame:
        """Sun positions at the weather instants (see :func:`sun_positions`)."""
        return self.data[
            [
                "elevation",
                "apparent_elevation",
                "zenith",
                "apparent_zenith",
                "azimuth",
                "x",
                "y",
                "z",
            ]
        ]

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

    def select(self, start=None, end=None) -> Weather:
        """The rows whose instants fall in ``[start, end)``."""
        data = _slice(self.data, start, end)
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


def _to_stamp(t, tz):
    if t is None:
        return None
    ts = pd.Timestamp(t)
    if ts.tzinfo is None:
        ts = ts.tz_localize(tz)
    return ts


def _slice(data, start, end):
    tz = data.index.tz
    s = _to_stamp(start, tz)
    e = _to_stamp(end, tz)
    if s is not None and e is not None and e <= s:
        raise InputError(f"end ({e}) must be after start ({s})")
    m = np.ones(len(data), bool)
    if s is not None:
        m &= data.index >= s
    if e is not None:
        m &= data.index < e
    out = data[m]
    if not len(out):
        raise InputError(
            f"no weather rows between start={start!r} and end={end!r}; the weather "
            f"covers {data.index[0]} to {data.index[-1]}"
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


def period_times(start=None, end=None, freq="1h", tz=DEFAULT_TZ) -> pd.DatetimeIndex:
    """Mid-interval instants covering ``[start, end)`` (default: the typical year).

    Parameters
    ----------
    start, end : datetime-like, optional
        Naive values are read in ``tz``.
    freq : str
        Step (pandas offset alias).
    """
    s = _to_stamp(start if start is not None else f"{TYPICAL_YEAR}-01-01", tz)
    e = _to_stamp(end, s.tz) if end is not None else s + pd.DateOffset(years=1)
    if e <= s:
        raise InputError(f"end ({e}) must be after start ({s})")
    step = pd.Timedelta(freq)
    edges = pd.date_range(s, e, freq=step, inclusive="left")
    return edges + step / 2


def clear_sky(
    latitude,
    longitude,
    start=None,
    end=None,
    altitude=0.0,
    freq="1h",
    tz=DEFAULT_TZ,
    model="ineichen",
) -> Weather:
    """pvlib clear sky at the site: an **upper bound** of real irradiance.

    Parameters
    ----------
    latitude, longitude : float
        Site [deg WGS84].
    start, end : datetime-like, optional
        Period ``[start, end)``; default: the whole :data:`TYPICAL_YEAR`.
    altitude : float
        Site altitude [m].
    freq : str
        Time step (pandas alias, e.g. ``"1h"``, ``"10min"``).
    model : str
        pvlib clear-sky model (``"ineichen"`` with Linke turbidity climatology,
        ``"haurwitz"``, ``"simplified_solis"``).

    Returns
    -------
    Weather
        ``upper_bound=True``.
    """
    import pvlib

    _check_site(latitude, longitude)
    times = period_times(start, end, freq, tz)
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
    start=None,
    end=None,
    tz=DEFAULT_TZ,
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
    start, end : datetime-like, optional
        Period ``[start, end)``; naive values are read in the weather's zone
        (``tz`` for clear sky). EPW data get the year of ``start``.

    Returns
    -------
    Weather
    """
    if isinstance(weather, Weather):
        return (
            weather.select(start, end)
            if (start is not None or end is not None)
            else weather
        )
    if latitude is None or longitude is None:
        raise InputError("latitude and longitude are needed to compute the sun")
    if weather is None:
        return clear_sky(latitude, longitude, start, end, altitude, tz=tz)
    if isinstance(weather, str | Path):
        if Path(weather).suffix.lower() != ".epw":
            raise InputError(
                f"weather file {str(weather)!r} is not an .epw file; give an EPW path, a "
                f"DataFrame with ghi/dni/dhi or None (clear sky)"
            )
        year = pd.Timestamp(start).year if start is not None else TYPICAL_YEAR
        w = read_epw(weather, latitude, longitude, altitude, year=year)
        if start is not None or end is not None:
            tzw = w.times.tz
            s = _to_stamp(start, tzw)
            e = _to_stamp(end, tzw)
            if (
                e is not None
                and s is not None
                and e.year > s.year
                and not (e == pd.Timestamp(f"{s.year + 1}-01-01", tz=e.tz))
            ):
                raise InputError(
                    f"an EPW holds one typical year; the period {s} to {e} spans "
                    f"several years"
                )
            w = w.select(s, e)
        return w
    if isinstance(weather, pd.DataFrame):
        w = from_frame(weather, latitude, longitude, altitude)
        return w.select(start, end) if (start is not None or end is not None) else w
    raise InputError(
        f"weather must be None (clear sky), an EPW path, a DataFrame with ghi/dni/dhi "
        f"or a cimcity.sky.Weather; got {type(weather).__name__}"
    )


# -- sky components ------------------------------------------------------------------
@dataclass(eq=False)
class SkyComponents:
    """Per-step light sources of the sky model (see module docstring).

    Attributes (all ``(T,)`` unless said)
    ----------
    times : pandas.DatetimeIndex
    interval : float
        Row duration [h].
    sun : (T, 3) float64
        Unit vectors to the sun (east, north, up) in the frame of
        :attr:`north` (the scene's grid frame in solar studies).
    sun_up : (T,) bool
    beam : (T,) float64
        Normal irradiance of the sun disc plus circumsolar source [W/m²].
    dni : (T,) float64
    circumsolar : (T,) float64
        Normal irradiance of the circumsolar point source [W/m²].
    dome : (T,) float64
        Isotropic sky radiance [W m⁻² sr⁻¹].
    horizon : (T,) float64
        Horizon ring intensity [W m⁻² rad⁻¹].
    ghi : (T,) float64
        Global horizontal irradiance (closure) [W/m²], for ground reflection.
    model : str
    north : float
        Grid azimuth of true north of the frame of :attr:`sun` [deg].
    """

    times: pd.DatetimeIndex
    interval: float
    sun: np.ndarray
    sun_up: np.ndarray
    beam: np.ndarray
    dni: np.ndarray
    circumsolar: np.ndarray
    dome: np.ndarray
    horizon: np.ndarray
    ghi: np.ndarray
    model: str
    meta: dict = field(default_factory=dict)
    north: float = 0.0

    def __len__(self) -> int:
        return len(self.times)

    def totals(self) -> dict:
        """Period totals of each source, as received by an open horizontal plane
        [kWh/m²] (horizon ring: 0 on the horizontal)."""
        f = self.interval / 1000.0
        cz = np.clip(self.sun[:, 2], 0, None)
        return {
            "direct": float((self.dni * cz).sum() * f),
            "circumsolar": float((self.circumsolar * cz).sum() * f),
            "dome": float(self.dome.sum() * np.pi * f),
            "ghi": float(self.ghi.sum() * f),
        }


def sky_components(
    weather: Weather, model: str = "perez", north: float = 0.0
) -> SkyComponents:
    """Split each step's sky into dome, circumsolar, horizon ring and beam.

    Parameters
    ----------
    weather : Weather
    model : {"perez", "isotropic"}
        Perez (1990) decomposition of pvlib's model, or an isotropic dome.
    north : float
        Grid azimuth of true north [deg]: sun vectors are given in that grid
        frame (a scene's CRS, see :func:`direction_vectors`); 0: east-north-up.
        The dome and the horizon ring are uniform in azimuth, so only the sun
        turns.

    Returns
    -------
    SkyComponents
        An open plane with unit normal ``n`` receives
        ``dome · π (1 + n_z) / 2 + horizon · 2 sqrt(n_x² + n_y²) + beam · max(0, n·s)``
        [W/m²] from the sky and the sun, which equals the sky-diffuse plus beam
        parts of :func:`pvlib.irradiance.get_total_irradiance` (Perez) while
        ``Z < 85°`` (``tests/test_sky.py`` checks it step by step).
    """
    import pvlib

    if model not in SKY_MODELS:
        raise InputError(f"unknown sky model {model!r}; expected one of {SKY_MODELS}")
    d = weather.data
    dni = d["dni"].to_numpy(float)
    dhi = d["dhi"].to_numpy(float)
    sun = direction_vectors(d["apparent_elevation"], d["azimuth"], north)
    up = d["apparent_elevation"].to_numpy() > 0
    cosz = np.clip(sun[:, 2], 0, None)
    f1 = np.zeros(len(d))
    f2 = np.zeros(len(d))
    fallback = 0
    if model == "perez":
        zen = d["apparent_zenith"]
        azi = d["azimuth"]
        dni_extra = pvlib.irradiance.get_extra_radiation(d.index)
        am = pvlib.atmosphere.get_relative_airmass(zen)
        use = up & (dhi > 0) & np.isfinite(am.to_numpy())
        if use.any():
            sel = np.flatnonzero(use)
            kw = dict(
                dhi=d["dhi"].iloc[sel],
                dni=d["dni"].iloc[sel],
                dni_extra=dni_extra.iloc[sel],
                solar_zenith=zen.iloc[sel],
                solar_azimuth=azi.iloc[sel],
                airmass=am.iloc[sel],
                model=PEREZ_SET,
                return_components=True,
            )
            # tilt 0: isotropic term = DHI (1 - F1)
            h = pvlib.irradiance.perez(surface_tilt=0.0, surface_azimuth=180.0, **kw)
            # vertical plane facing the sun: horizon term = DHI F2 sin 90°
            v = pvlib.irradiance.perez(
                surface_tilt=90.0, surface_azimuth=azi.iloc[sel], **kw
            )
            iso = h["poa_isotropic"].to_numpy(float)
            hor = v["poa_horizon"].to_numpy(float)
            ok = (h["poa_sky_diffuse"].to_numpy() > 0) & np.isfinite(iso)
            okv = (v["poa_sky_diffuse"].to_numpy() > 0) & np.isfinite(hor)
            f1[sel[ok]] = 1.0 - iso[ok] / dhi[sel[ok]]
            f2[sel[okv]] = hor[okv] / dhi[sel[okv]]
            fallback = int((~ok).sum() + (~okv).sum())
    b = np.maximum(cosz, np.cos(np.radians(85.0)))
    circ = np.where(up, f1 * dhi / b, 0.0)
    dome = (dhi - circ * cosz) / np.pi
    horizon = np.where(up, f2 * dhi / 2.0, 0.0)
    beam = np.where(up, dni + circ, 0.0)
    return SkyComponents(
        times=d.index,
        interval=weather.interval,
        sun=sun,
        sun_up=up,
        beam=beam,
        dni=dni,
        circumsolar=circ,
        dome=dome,
        horizon=horizon,
        ghi=d["ghi"].to_numpy(float),
        model=model,
        meta={"perez_fallback_steps": fallback, "F1": f1, "F2": f2},
        north=float(north),
    )


def patch_radiance(components: SkyComponents, patches="tregenza") -> np.ndarray:
    """Mean diffuse radiance of each sky patch at each step [W m⁻² sr⁻¹].

    The dome is uniform; the horizon ring is spread over the lowest row
    (intensity × patch azimuth width / patch solid angle). The beam and
    circumsolar sources are point sources (see :attr:`SkyComponents.beam`) and
    are not included. Useful to look at the sky; the irradiance code integrates
    the same sources exactly per sensor normal instead.

    Returns
    -------
    (T, P) float64
    """
    p = sky_patches(patches).in_grid(components.north)
    out = np.repeat(components.dome[:, None], len(p), axis=1)
    low = p.horizon_row
    dphi = np.radians(p.azimuth[low, 1] - p.azimuth[low, 0])
    out[:, low] += components.horizon[:, None] * (dphi / p.solid_angles[low])[None, :]
    return out
