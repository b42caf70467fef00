"""The hourly radiant model: six directional fluxes and the mean radiant temperature.

For each hour and each person point, every direction of the view set
(:mod:`cimcity.heat.views`) contributes the radiance of what it sees:

* **sky**: the Perez diffuse sky of :func:`cimcity.sun.sky.sky_components`
  (isotropic dome plus horizon ring; the circumsolar part travels with the
  beam) and an isotropic longwave radiance ``L↓ / π`` (measured ``ldown`` or
  Prata 1996 with the Crawford & Duchon 1999 cloud correction,
  :func:`cimcity.heat.surfaces.sky_longwave`);
* **ground and roofs** (roofs with the albedo of their building, column
  ``roof_albedo``, and a warming wave scaled by what they absorb,
  :func:`cimcity.heat.surfaces.surface_wave`): reflected shortwave ``α E / π`` with ``E`` the beam on
  the surface when it is sunlit plus the diffuse sky the person's own sky view
  factor lets through (SOLWEIG's approximation for the ground near a person),
  and emitted longwave ``ε σ T⁴ / π`` at ``T = Ta + lit · ΔT``
  (:func:`cimcity.heat.surfaces.surface_wave`): the form with which Lindberg
  et al. (2008, 2016) fitted the ΔT wave to measured upward longwave, so the
  fitted parameters keep their meaning (the reflected ``(1 - ε) L↓``, about
  15 W/m², is inside the fit);
* **walls**: reflected shortwave with the beam at the wall's incidence and
  half the diffuse and ground-reflected light (a vertical surface sees half
  the sky); longwave ``(ε σ T⁴ + (1 - ε) L↓) / π`` (SOLWEIG's wall form);
* **tree canopy** on the way: shortwave times the transmissivity ``τ``,
  longwave ``τ L + (1 - τ) σ Ta⁴ / π`` (leaves at air temperature).

The beam reaches the person's faces with the person's own sun fraction
(buildings opaque, canopy ``τ``). The mean radiant temperature follows the
six-direction method of Höppe (1992) with the standing-person angular factors
of SOLWEIG (0.22 for the four lateral faces, 0.06 up and down; sitting: 1/6
each) and the absorption coefficients of ISO 7726 (0.70 shortwave, 0.97
longwave)::

    S = αk Σ F_f K_f + αl Σ F_f L_f,   Tmrt = (S / (αl σ))^¼ - 273.15

References
----------
.. [1] Höppe, P. (1992). Ein neues Verfahren zur Bestimmung der mittleren
   Strahlungstemperatur im Freien. Wetter und Leben 44, 147-151.
.. [2] Lindberg, F., Holmer, B., Thorsson, S. (2008). SOLWEIG 1.0. Int J
   Biometeorol 52, 697-713. https://doi.org/10.1007/s00484-008-0162-7
.. [3] ISO 7726:1998 Ergonomics of the thermal environment - Instruments for
   measuring physical quantities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._kernels import heat as kern
from .._progress import bar as progress_bar
from ..errors import InputError
from ..sun.sky import sky_components
from .surfaces import SIGMA, WALL, class_table, clearness, sky_longwave, surface_wave
from .views import EPS, merged_views

__all__ = ["POSTURES", "ABSORPTION", "FLUX_COLUMNS", "mean_radiant_temperature", "run",
           "run_hourly", "concat_runs"]

#: angular factors (up, down, north, east, south, west) by posture
POSTURES = {
    "standing": np.array([0.06, 0.06, 0.22, 0.22, 0.22, 0.22]),
    "sitting": np.full(6, 1.0 / 6.0),
}
#: absorption coefficients (shortwave, longwave), ISO 7726
ABSORPTION = (0.70, 0.97)
#: the twelve directional fluxes [W/m²], in output order
FLUX_COLUMNS = ("Kdown", "Kup", "Kn", "Ke", "Ks", "Kw",
                "Ldown", "Lup", "Ln", "Le", "Ls", "Lw")


def posture_factors(posture) -> np.ndarray:
    if isinstance(posture, str):
        if posture not in POSTURES:
            raise InputError(
                f"unknown posture {posture!r}; expected one of {sorted(POSTURES)}"
            )
        return POSTURES[posture]
    f = np.asarray(posture, float)
    if f.shape != (6,) or abs(f.sum() - 1.0) > 1e-6 or (f < 0).any():
        raise InputError(
            "posture factors must be 6 non-negative numbers (up, down, north, "
            f"east, south, west) summing to 1; got {posture!r}"
        )
    return f


def mean_radiant_temperature(fluxes, factors=POSTURES["standing"],
                             absorption=ABSORPTION) -> np.ndarray:
    """Tmrt [°C] from the twelve directional fluxes ``(..., 12)`` [W/m²]."""
    f = np.asarray(fluxes, float)
    ak, al = absorption
    s = ak * (f[..., :6] @ factors) + al * (f[..., 6:] @ factors)
    return (np.clip(s, 0, None) / (al * SIGMA)) ** 0.25 - 273.15


@dataclass
class Run:
    """Outputs of :func:`run`."""

    tmrt: np.ndarray  # (T, n) °C, or None
    fluxes: np.ndarray  # (T, n, 12) float32, or None
    tmrt_mean: np.ndarray  # (n,)
    tmrt_max: np.ndarray  # (n,)
    argmax: np.ndarray  # (n,) step index
    flux_mean: np.ndarray  # (n, 12)
    sun_hours: np.ndarray  # (n,) h
    sky_lw: np.ndarray  # (T,)
    sky_lw_how: str
    clearness: np.ndarray  # (T,)
    sun: np.ndarray = None  # (T, n) sun fraction at the points, or None


def concat_runs(runs) -> Run:
    """One :class:`Run` from runs of the same steps on consecutive blocks of
    points (the point axis concatenated)."""
    r0 = runs[0]

    def cat(name, axis):
        parts = [getattr(r, name) for r in runs]
        return None if parts[0] is None else np.concatenate(parts, axis=axis)

    return Run(cat("tmrt", 1), cat("fluxes", 1), cat("tmrt_mean", 0), cat("tmrt_max", 0),
               cat("argmax", 0), cat("flux_mean", 0), cat("sun_hours", 0), r0.sky_lw,
               r0.sky_lw_how, r0.clearness, cat("sun", 1))


#: memory allowed for the sun profiles of one chunk of hours [bytes]
CHUNK_BYTES = 256e6


def _setup(views, met, *, north, tau, posture, wall_albedo, wall_emissivity,
           land_cover):
    """What every hour of :func:`run` needs: class table, sky, surface wave."""
    factors = posture_factors(posture)
    if not 0.0 <= tau <= 1.0:
        raise InputError(f"transmissivity must be within 0..1; got {tau!r}")
    table = class_table(wall_albedo, wall_emissivity, land_cover,
                        roof_albedos=views.extra.get("roof_albedos", ()))
    alb = table["albedo"].to_numpy(float)
    emi = table["emissivity"].to_numpy(float)
    comp = sky_components(met.sky, "perez", north=north)
    ci, known = clearness(met)
    # unknown cloudiness: sky_longwave computes it again and warns
    lsky, how = sky_longwave(met, ci if known else None)
    dtemp = np.asarray(surface_wave(met, table, ci), float)
    ta = met.air["temp_air"].to_numpy(float) + 273.15
    x = views.extra
    key = ("groups", len(alb), float(tau))  # time-independent: once per view set
    if key not in x:
        x[key] = kern.group_weights(views.kind, views.through, views.cls, x["fidx"],
                                    x["fw"], len(alb), float(tau))
    groups = x[key]
    return factors, alb, emi, comp, ci, lsky, how, dtemp, ta, groups


def run(views, met, *, lit, person_sun, north=0.0, tau=0.03, posture="standing",
        wall_albedo=0.20, wall_emissivity=0.90, land_cover=None,
        timeseries=False, progress=None, lit_many=None, person_sun_many=None) -> Run:
    """Fluxes and Tmrt at the view points for every step of ``met``.

    The hours run in chunks (as many as :data:`CHUNK_BYTES` of sun profiles
    allow): the sun profiles and the points' sun fractions of a chunk are
    computed together, then one kernel
    (:func:`cimcity._kernels.heat.hours_fluxes`) sums every point's fluxes
    and Tmrt over the chunk's hours with the point's views read once. The
    per-hour loop :func:`run_hourly` gives the same numbers (kept as the
    reference, ``tests/test_heat.py``).

    Parameters
    ----------
    views : cimcity.heat.views.Views
    met : cimcity.heat.met.Met
    lit : callable
        ``lit(sun) -> (top_b, top_v)`` float32 arrays indexed by
        ``views.extra["hit"]``: the heights under which what each direction
        sees (at ``views.extra["hz"]`` + :data:`EPS`) is shaded by buildings
        and by canopy, for a unit sun vector above the horizon
        (:func:`cimcity._kernels.heat.hour_fluxes`).
    person_sun : callable
        ``person_sun(sun) -> (n,) float``: sun fraction at the points.
    north : float
        Grid azimuth of true north of the views' frame [deg].
    tau : float
        Canopy shortwave transmissivity [-].
    posture : {"standing", "sitting"} or 6 factors
    wall_albedo, wall_emissivity : float
    land_cover : dict, optional
        Per-code overrides of albedo/emissivity (:func:`class_table`).
    timeseries : bool
        Keep every step's Tmrt and fluxes (else means and maxima only).
    progress : None or bool
    lit_many, person_sun_many : callable, optional
        ``lit`` and ``person_sun`` for ``(k, 3)`` suns at once:
        ``(M, k)`` profiles and ``(k, n)`` sun fractions (one kernel call per
        chunk instead of one per hour).

    Returns
    -------
    Run
    """
    factors, alb, emi, comp, ci, lsky, how, dtemp, ta, groups = _setup(
        views, met, north=north, tau=tau, posture=posture, wall_albedo=wall_albedo,
        wall_emissivity=wall_emissivity, land_cover=land_cover)
    T, n = len(met.times), views.n
    keep_t = np.zeros((T, n), np.float32) if timeseries else np.zeros((1, 1), np.float32)
    keep_f = (np.zeros((T, n, 12), np.float32) if timeseries
              else np.zeros((1, 1, 12), np.float32))
    keep_s = np.zeros((T, n), np.float32) if timeseries else None
    tsum = np.zeros(n)
    tmax = np.full(n, -np.inf)
    arg = np.zeros(n, np.int64)
    fsum = np.zeros((n, 12))
    sun_h = np.zeros(n)
    x = views.extra
    normals = np.ascontiguousarray(views.normals, float)
    suns = np.ascontiguousarray(comp.sun, float).reshape(T, 3)
    beam_all = np.asarray(comp.beam, float)
    up = np.asarray(comp.sun_up, bool) & (beam_all > 0)
    beam = np.where(up, beam_all, 0.0)
    dome = np.asarray(comp.dome, float)
    horizon = np.asarray(comp.horizon, float)
    e0 = emi[None, :] * SIGMA * ta[:, None] ** 4
    e1 = emi[None, :] * SIGMA * (ta[:, None] + dtemp.reshape(T, -1)) ** 4
    merged = merged_views(views)
    m = int(merged[5].max()) + 1 if len(merged[5]) else 1  # profile entries read
    step = int(max(1, min(T, CHUNK_BYTES // (8 * m + 8 * n)))) if T else 1
    dark = np.full((1, 1), np.inf, np.float32)
    ak, al = ABSORPTION
    bar = progress_bar(T, desc="Tmrt", unit="h", progress=progress, work=T * n, threshold=2e6)
    for a in range(0, T, step):
        b = min(T, a + step)
        k = b - a
        day = np.flatnonzero(up[a:b])
        lit_row = np.full(k, -1, np.int64)
        lit_row[day] = np.arange(len(day))
        pl = np.zeros((k, n))
        if len(day):
            s_day = np.ascontiguousarray(suns[a:b][day])
            if lit_many is not None:
                tb, tv = lit_many(s_day)
            else:
                prof = [lit(s) for s in s_day]
                tb = np.stack([np.ravel(p[0]) for p in prof], axis=1)
                tv = np.stack([np.ravel(p[1]) for p in prof], axis=1)
            if person_sun_many is not None:
                pl[day] = person_sun_many(s_day)
            else:
                for r, s in zip(day, s_day):
                    pl[r] = np.asarray(person_sun(s), float)
        else:
            tb = tv = dark
        kern.hours_fluxes(
            *merged, groups, tb, tv, lit_row, EPS, normals, x["sky_sum"],
            x["leaf_sum"], x["hor_sum"], dome[a:b], horizon[a:b], suns[a:b],
            beam[a:b], dome[a:b] * np.pi, np.asarray(lsky[a:b], float), ta[a:b],
            alb, emi, np.ascontiguousarray(e0[a:b]), np.ascontiguousarray(e1[a:b]),
            views.svf, pl, float(tau), WALL, SIGMA, factors, float(ak), float(al),
            bool(timeseries), keep_t, keep_f, tsum, tmax, arg, fsum, a,
        )
        if timeseries:
            keep_s[a:b] = pl
        sun_h += pl.sum(axis=0) * met.interval
        bar.update(k)
    bar.close()
    if not timeseries:
        keep_t = keep_f = None
    return Run(keep_t, keep_f, tsum / max(T, 1), tmax, arg, fsum / max(T, 1),
               sun_h, lsky, how, ci, keep_s)


def run_hourly(views, met, *, lit, person_sun, north=0.0, tau=0.03,
               posture="standing", wall_albedo=0.20, wall_emissivity=0.90,
               land_cover=None, timeseries=False, progress=None) -> Run:
    """:func:`run` hour by hour with :func:`cimcity._kernels.heat.hour_fluxes`
    (one kernel call per hour): the reference the chunked :func:`run` is
    checked against. Same parameters and result."""
    factors, alb, emi, comp, ci, lsky, how, dtemp, ta, groups = _setup(
        views, met, north=north, tau=tau, posture=posture, wall_albedo=wall_albedo,
        wall_emissivity=wall_emissivity, land_cover=land_cover)
    T, n = len(met.times), views.n
    keep_t = np.zeros((T, n), np.float32) if timeseries else None
    keep_f = np.zeros((T, n, 12), np.float32) if timeseries else None
    keep_s = np.zeros((T, n), np.float32) if timeseries else None
    tsum = np.zeros(n)
    tmax = np.full(n, -np.inf)
    arg = np.zeros(n, np.int64)
    fsum = np.zeros((n, 12))
    sun_h = np.zeros(n)
    x = views.extra
    normals = np.ascontiguousarray(views.normals, float)
    hit, hz = x["hit"], x["hz"]
    dark = np.full(1, np.inf, np.float32)
    for t in range(T):
        s = np.ascontiguousarray(comp.sun[t], float)
        up = bool(comp.sun_up[t]) and comp.beam[t] > 0
        tb, tv = lit(s) if up else (dark, dark)
        pl = np.asarray(person_sun(s), float) if up else np.zeros(n)
        e0 = emi * SIGMA * ta[t] ** 4
        e1 = emi * SIGMA * (ta[t] + dtemp[t]) ** 4
        f = kern.hour_fluxes(
            views.kind, views.through, views.cls, views.normal_index, groups,
            hit, hz, np.ravel(tb), np.ravel(tv), EPS, normals, x["fidx"], x["fw"],
            x["sky_sum"], x["leaf_sum"], x["hor_sum"],
            float(comp.dome[t]), float(comp.horizon[t]), s,
            float(comp.beam[t] if up else 0.0), float(comp.dome[t] * np.pi),
            float(lsky[t]), float(ta[t]), alb, emi, e0, e1, views.svf, pl,
            float(tau), WALL, SIGMA,
        )
        tm = mean_radiant_temperature(f, factors)
        if timeseries:
            keep_t[t] = tm
            keep_f[t] = f
            keep_s[t] = pl
        tsum += tm
        better = tm > tmax
        tmax[better] = tm[better]
        arg[better] = t
        fsum += f
        sun_h += pl * met.interval
    return Run(keep_t, keep_f, tsum / max(T, 1), tmax, arg, fsum / max(T, 1),
               sun_h, lsky, how, ci, keep_s)
