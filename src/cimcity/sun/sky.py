"""The sky: patches of the hemisphere and the sky-radiance model of each step.

* :class:`SkyPatches`: the Tregenza (145) and Reinhart (MF:m, ``144 m² + 1``)
  subdivisions of the sky hemisphere, with exact solid angles (they sum to 2π),
  patch lookup for directions (sun binning) and equal-area sub-sampling.
* :func:`sky_components`: the sky-radiance model of each time step of a
  :class:`~cimcity.io.weather.Weather`, split in parts whose angular shape does
  not change with time, so a visibility matrix traced once serves every
  weather file and period.

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
convergence (``docs/conventions.md``, :mod:`cimcity.sun.position`) to
:func:`sky_components` and :meth:`SkyPatches.in_grid`, so the sun and the
patches meet the mesh in the CRS grid (x = easting, y = northing).

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
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..errors import InputError
from .position import direction_vectors

__all__ = [
    "SKY_MODELS",
    "PEREZ_SET",
    "TREGENZA_ROWS",
    "SkyPatches",
    "tregenza",
    "reinhart",
    "sky_patches",
    "SkyComponents",
    "sky_components",
    "patch_radiance",
]

#: sky models accepted by :func:`sky_components`
SKY_MODELS = ("perez", "isotropic")
#: Tregenza patches per 12° altitude row, from the horizon up (plus one cap)
TREGENZA_ROWS = (30, 30, 24, 24, 18, 12, 6)
#: pvlib Perez coefficient set used by :func:`sky_components`
PEREZ_SET = "allsitescomposite1990"


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
            f"Reinhart subdivision factor must be an integer >= 1; got {getattr(mf, 'item', lambda: mf)()!r}"
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
    weather, model: str = "perez", north: float = 0.0
) -> SkyComponents:
    """Split each step's sky into dome, circumsolar, horizon ring and beam.

    Parameters
    ----------
    weather : cimcity.io.weather.Weather
        Irradiance and sun positions at mid-interval instants.
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
