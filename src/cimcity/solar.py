"""Solar irradiation on roofs, facades and any points of a 3D city.

``irradiance`` puts sensors on the scene's roofs and facades (or takes the
user's points and normals), traces once which sky patches and sun positions
each sensor sees (a bit-packed visibility matrix, cached on the scene mesh),
and multiplies it with the sky of the chosen weather and period
(:mod:`cimcity.sky`). A second run with other weather or another period costs
seconds: only sun bins never traced before are traced.

Physics
-------
For a sensor with unit normal ``n`` and visibility ``V`` (1 = sky patch or sun
seen), over the time steps ``t`` of length ``Δt`` (see :mod:`cimcity.sky` for
the sky model):

* **dome** (isotropic sky, radiance ``L_t``): ``Σ_p V_p K_p(n) · Σ_t L_t Δt``,
  with ``K_p(n) = ∫_patch max(0, n·ω) dω`` the projected solid angle of patch
  ``p`` [sr], integrated on an equal-area sub-grid of the patch (exactly on
  every sub-cell in front of the plane, through the cells' first moments).
  ``Σ_p V_p K_p / π`` is the sensor's **sky view factor** (1 for an open roof,
  ½ for an open wall).
* **horizon ring** (Perez horizon brightening, intensity ``I_t``):
  ``Σ_{p in lowest row} V_p H_p(n) · Σ_t I_t Δt`` with
  ``H_p(n) = ∫_{φ in p} max(0, n·h(φ)) dφ``.
* **beam + circumsolar** (normal irradiance ``B_t``): ``Σ_t V(s_t) B_t
  max(0, n·s_t) Δt``. ``direct="exact"`` traces one ray to the sun per sensor
  and step (default for time series); ``direct="binned"`` (default for totals)
  groups the steps by the sky cell of ``sun_bins`` (Reinhart MF:2 by default,
  cells of about 6°) the sun is in, and uses the visibility of the cell centre
  for all of them while keeping each step's exact ``B_t max(0, n·s_t)``. An
  unobstructed sensor is therefore exact in both modes; a sensor near a shadow
  edge is off by the part of the year whose sun lies within half a cell of the
  edge. On a street canyon over the Orly year (``tests/test_solar.py``), MF:2
  bins give a mean error of 0.13 % of each sensor's annual total (worst facade
  sensor 3.2 %), MF:4 bins 0.06 % (1.6 %), Tregenza bins 0.28 % (5.6 %);
  Tregenza bins (``sun_bins="tregenza"`` with the default Tregenza sky) share
  the sky rays and trace no extra ray at all, which suits city-scale runs.
* **ground reflection**: ``ρ · Σ_t GHI_t Δt · (1 - n_z) / 2``, the isotropic
  view of an open horizontal ground of albedo ``ρ`` (not shaded by the
  buildings: an upper bound in deep canyons).

Sensors are traced in groups of normals within :data:`GROUP_DEG` (1°), against
the cells in front of them only (walls skip the half of the sky behind them). Rays to cells
that straddle the sensor's own plane (centre behind it or within 2° of it,
part in front) leave ``asin(LIFT_SIN)`` ≈ 2° above the plane, so an open facade
sees exactly half the sky.

Surface kinds, per-building totals, the favourable-area threshold
(1,000 kWh/m²/yr, the Paris solar cadastre's "favourable" class) and the PV
estimate are documented on :class:`SolarResult`.

Caches and limits
-----------------
Sensors are cached on the scene's sensing mesh and visibility on the occluder
mesh (``mesh.cache``, cleared with the scene's next change or
``mesh.clear_cache()``): a Paris 11e study at 2 m (3.5 M sensors) re-runs with
other weather in about 6 s. Not modelled: light reflected by buildings
(inter-reflections; only the open ground reflects) and sub-step sun movement
(hourly data are evaluated at mid-hour; resample the weather for finer shadow
timing). Trees block light only with ``trees=True`` (crowns as prisms, opaque
or with a ``transmissivity``; see :func:`cimcity.occluders.tree_crowns`); by
default the occluders are ``scene.mesh()``: buildings, BIM projects and
terrain.

Frames
------
Sun and sky-patch directions are turned from true north into the scene CRS's
grid by the meridian convergence at the site (``meta["grid_north"]``, about
+0.49° in Paris in Lambert-93; see ``docs/conventions.md``), with the helper
:func:`cimcity.shadow.sun_table` uses, so solar and shadow trace the same sun.
The ``azimuth`` of sensors is the true azimuth of their normal.
"""

from __future__ import annotations

import hashlib
import sys
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import _sunframe
from . import sky as _sky
from ._solarimpact import SolarImpact, impact
from .errors import InputError
from .sky import sun_positions

__all__ = [
    "DEFAULT_ALBEDO",
    "FAVOURABLE_KWH_M2",
    "PV_EFFICIENCY",
    "PERFORMANCE_RATIO",
    "DIRECT_MODES",
    "irradiance",
    "sun_positions",
    "site_location",
    "SolarResult",
    "impact",
    "SolarImpact",
]

#: ground albedo (urban average, also pvlib's default)
DEFAULT_ALBEDO = 0.2
#: irradiation above which a surface is "favourable" [kWh m⁻² yr⁻¹]
#: (Paris solar cadastre, APUR 2013)
FAVOURABLE_KWH_M2 = 1000.0
#: PV module efficiency (mono-Si, STC) used for the PV estimate
PV_EFFICIENCY = 0.20
#: PV system performance ratio (inverter, wiring, temperature, soiling losses)
PERFORMANCE_RATIO = 0.80
#: how direct sun is traced
DIRECT_MODES = ("binned", "exact")
#: normals closer than this (component-wise) share their weights
NORMAL_QUANTUM = 1e-4
#: rays for cells straddling a sensor's plane leave this sine above it (≈ 2°)
LIFT_SIN = float(np.sin(np.radians(2.0)))
#: sensors whose normals differ by less than about this are traced together [deg]
GROUP_DEG = 1.0
#: sub-grid cells per patch side used to integrate projected solid angles
#: (Tregenza: 8 x 8 cells of 1.5°; Reinhart MF:m: 8/m)
SUBGRID = 8
#: time series larger than this many values (steps x sensors) are refused
MAX_SERIES_VALUES = 50_000_000
#: rays above which a progress bar is shown by default
PROGRESS_RAYS = 20_000_000

_VIS_KEY = "solar.visibility"
_DSM_MESHES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


# -- site --------------------------------------------------------------------------------
def site_location(scene=None, crs=None, bounds=None, altitude=None) -> tuple:
    """Latitude, longitude [deg WGS84] and altitude [m] of a scene's centre.

    Parameters
    ----------
    scene : Scene, optional
    crs : CRS, optional
        Used with ``bounds`` when no scene is given.
    bounds : (minx, miny, maxx, maxy), optional
        Extent in ``crs`` [m]; default: the scene's bounds.
    altitude : float, optional
        Default: median building ground altitude, else the terrain's median,
        else 0.

    Returns
    -------
    (latitude, longitude, altitude)
        The same site as :func:`cimcity.shadow.sun_table` uses.
    """
    st = _sunframe.site(scene, crs=crs, bounds=bounds, altitude=altitude)
    return st.latitude, st.longitude, st.altitude


# -- progress ----------------------------------------------------------------------------
class _Progress:
    """``progress(done, total)`` callback drawing a bar (tqdm when installed)."""

    def __init__(self, total_rays, desc, enabled):
        self.enabled = enabled
        self.bar = None
        self.last = -1
        self.desc = desc
        self.total_rays = total_rays
        self.offset = 0
        if enabled:
            try:
                from tqdm.auto import tqdm

                self.bar = tqdm(
                    total=int(total_rays),
                    desc=desc,
                    unit="ray",
                    unit_scale=True,
                    leave=False,
                )
            except ImportError:
                self.bar = None

    def stage(self, rays_in_stage):
        """Returns a callback for one occluded_matrix call of ``rays_in_stage``."""
        base = self.offset
        self.offset += rays_in_stage

        def cb(done, total):
            if not self.enabled:
                return
            pos = base + rays_in_stage * done / max(total, 1)
            if self.bar is not None:
                self.bar.n = int(pos)
                self.bar.refresh()
            else:
                pct = int(100 * pos / max(self.total_rays, 1))
                if pct >= self.last + 5:
                    self.last = pct
                    print(
                        f"\r{self.desc}: {pct:3d} %",
                        end="",
                        file=sys.stderr,
                        flush=True,
                    )

        return cb

    def close(self):
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.close()
        else:
            print(f"\r{self.desc}: done  ", file=sys.stderr, flush=True)


# -- weights ------------------------------------------------------------------------------
def _unique_normals(normals):
    """Quantised unique normals and the index of each sensor's."""
    q = np.round(np.asarray(normals) / NORMAL_QUANTUM).astype(np.int64)
    span = int(round(1 / NORMAL_QUANTUM)) * 2 + 3
    key = ((q[:, 0] + span // 2) * span + (q[:, 1] + span // 2)) * span + (
        q[:, 2] + span // 2
    )
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    un = np.asarray(normals, float)[first]
    un /= np.linalg.norm(un, axis=1)[:, None]
    return np.ascontiguousarray(un), inverse.astype(np.int64)


def _subgrid(patches):
    mf = max(1, len(patches.row_counts) // 7)
    return max(2, SUBGRID // mf)


def _sky_weights(unormals, patches):
    """Dome (U, P) [sr], horizon ring (U, P) [rad] weights and front mask."""
    from ._kernels import solar as ks

    dirs, _, cell, moment = patches.subsample(_subgrid(patches))
    K = ks.projected_solid_angles(unormals, dirs, moment, cell, len(patches))
    hd, hphi, hcell = patches.horizon_samples(16)
    H = ks.projected_solid_angles(unormals, hd, hphi, hcell, len(patches))
    front = (K > 0) | (H > 0)
    return K, H, front


# -- visibility cache -----------------------------------------------------------------------
@dataclass(eq=False)
class _Visibility:
    """Traced visibility of one sensor set on one mesh."""

    sky: dict = field(default_factory=dict)  # patches name -> blocked bits (n, nb)
    sun: dict = field(default_factory=dict)  # grid name -> (bits (n, nb), traced (G,))
    exact: dict = field(default_factory=dict)  # sun hash -> bits (n, nb)


def _sensor_key(points, normals) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(memoryview(np.ascontiguousarray(points, np.float64)).cast("B"))
    h.update(memoryview(np.ascontiguousarray(normals, np.float64)).cast("B"))
    return h.hexdigest()


def _store(mesh, key) -> _Visibility:
    stores = mesh.cache.get(_VIS_KEY, mesh.token, dict)
    if key not in stores:
        while len(stores) >= 4:  # keep the cache bounded
            stores.pop(next(iter(stores)))
        stores[key] = _Visibility()
    return stores[key]


def _normal_groups(unormals, step_deg=GROUP_DEG):
    """Group index of each unique normal: normals within about ``step_deg``."""
    if not len(unormals):
        return np.zeros(0, np.int64)
    q = np.round(unormals / np.radians(step_deg)).astype(np.int64)
    _, group = np.unique(q, axis=0, return_inverse=True)
    return group.reshape(-1).astype(np.int64)


def _trace_groups(mesh, points, unormals, sensor_u, dirs, front, engine, cb, lift=True):
    """Blocked bits (n, ceil(d/8)) of sensors x directions.

    Sensors are traced by groups of nearly equal normals (within
    :data:`GROUP_DEG`), each against the directions in front of any of its
    normals (``front[u]``); other pairs stay 0 (their weights are 0). With
    ``lift``, directions closer than ``LIFT_SIN`` to the group's mean plane
    (cells straddling it) are tilted to ``asin(LIFT_SIN)`` above it, which is
    at least ``asin(LIFT_SIN) - GROUP_DEG / 2`` above each member's plane.

    Returns
    -------
    bits : (n, ceil(d / 8)) uint8
    rays : int
        Rays traced.
    """
    from . import raycast
    from ._kernels import solar as ks

    n, nd = len(points), len(dirs)
    bits = np.zeros((n, (nd + 7) // 8), np.uint8)
    if n == 0 or nd == 0:
        return bits, 0
    group = _normal_groups(unormals)
    ng = int(group.max()) + 1
    sensor_g = group[sensor_u]
    order = np.argsort(sensor_g, kind="stable")
    counts = np.bincount(sensor_g, minlength=ng)
    starts = np.concatenate([[0], np.cumsum(counts)])
    gfront = np.zeros((ng, nd), bool)
    np.logical_or.at(gfront, group, front)
    rep = np.zeros((ng, 3))
    np.add.at(rep, group, unormals)
    rep /= np.linalg.norm(rep, axis=1)[:, None]
    per_group = counts * gfront.sum(axis=1)
    total = int(per_group.sum())
    done = 0
    for g in np.flatnonzero(per_group):
        cols = np.flatnonzero(gfront[g])
        idx = order[starts[g] : starts[g + 1]]
        d = np.ascontiguousarray(dirs[cols])
        if lift:
            d = ks.lift_directions(np.repeat(rep[g][None], len(cols), 0), d, LIFT_SIN)
        b = raycast.occluded_matrix(mesh, points[idx], d, engine=engine)
        ks.scatter_rows(bits, idx, b, cols)
        done += int(per_group[g])
        if cb is not None:
            cb(done, total)
    return bits, total


# -- sensors & occluders ----------------------------------------------------------------------
def _resolve_inputs(scene, spacing, surfaces, points, normals, occluders):
    """(occluder mesh, sensors, sensor mesh or None, label)."""
    from .mesh import CityMesh, Sensors, kind_codes

    if isinstance(surfaces, str):
        surfaces = (surfaces,)
    surfaces = tuple(surfaces)
    kind_codes(surfaces)  # validates names
    if occluders not in ("auto", "mesh", "dsm") and not isinstance(occluders, CityMesh):
        raise InputError(
            f"unknown occluders {occluders!r}; expected 'auto', 'mesh', 'dsm' or a CityMesh"
        )
    if isinstance(scene, CityMesh):
        mesh = scene
        label = "mesh"
        sensor_mesh = mesh
    else:
        from .scene import Scene

        if not isinstance(scene, Scene):
            raise InputError(
                f"scene must be a cimcity Scene or CityMesh; got {type(scene).__name__}"
            )
        if isinstance(occluders, CityMesh):
            mesh, label = occluders, "given mesh"
        else:
            use_dsm = occluders == "dsm" or (
                occluders == "auto"
                and scene.dsm is not None
                and not len(scene.buildings)
            )
            if use_dsm:
                if scene.dsm is None:
                    raise InputError(
                        "occluders='dsm' but the scene has no DSM "
                        "(scene.add_terrain(dem, dsm=...))"
                    )
                mesh = _DSM_MESHES.get(scene.dsm)
                if mesh is None:
                    from .occluders import dsm_mesh

                    mesh = dsm_mesh(scene.dsm, scene.terrain)
                    _DSM_MESHES[scene.dsm] = mesh
                label = "dsm"
            else:
                mesh = scene.mesh()
                label = "scene mesh"
        sensor_mesh = None
    if points is not None:
        p = np.asarray(points, float)
        if p.ndim == 1 and p.shape == (3,):
            p = p[None]
        nrm = np.tile([0.0, 0.0, 1.0], (len(p), 1)) if normals is None else normals
        nrm = np.asarray(nrm, float)
        if nrm.shape == (3,):
            nrm = np.broadcast_to(nrm, p.shape)
        sensors = Sensors.from_points(p, nrm)
        return mesh, sensors, None, label
    if normals is not None:
        raise InputError("normals were given without points")
    if not np.isfinite(spacing) or spacing <= 0:
        raise InputError(
            f"spacing must be a positive number of metres; got {spacing!r}"
        )
    if isinstance(scene, CityMesh) or label in ("dsm", "given mesh"):
        sensor_mesh = mesh
        sensors = mesh.sample(spacing, surfaces)
    else:
        if not len(scene.buildings) and "terrain" not in surfaces:
            raise InputError(
                "the scene has no buildings to put sensors on (empty scene); add "
                "buildings or give points= and normals="
            )
        if "terrain" in surfaces and scene.terrain is None and not len(scene.buildings):
            raise InputError("the scene is empty: no buildings and no terrain")
        sensor_mesh = scene.mesh(terrain="terrain" in surfaces)
        # the sensing mesh is cached per scene version: so are its sensors
        key = ("solar.sensors", float(spacing), surfaces)
        sensors = sensor_mesh.cache.get(
            key, sensor_mesh.token, lambda: scene.sample(spacing, surfaces)
        )
    return mesh, sensors, sensor_mesh, label


def _add_trees(scene, mesh, label):
    """(occluder mesh with the scene's tree crowns appended, crown faces)."""
    from .mesh import CityMesh
    from .occluders import canopy_boxes, tree_crowns, with_trees

    if isinstance(scene, CityMesh):
        raise InputError(
            "trees=True needs a Scene (its vegetation layer holds the trees); "
            "got a CityMesh"
        )
    if label == "scene mesh":
        out = with_trees(scene)
        return out, getattr(out, "tree_faces", 0)
    key = ("occluders.with_trees", id(scene), scene.version)

    def build():
        parts = [tree_crowns(scene, origin=mesh.origin)]
        if "cdsm" in scene.rasters:
            parts.append(canopy_boxes(scene.rasters["cdsm"], scene, origin=mesh.origin))
        parts = [p for p in parts if p is not None and p.n_faces]
        n = int(sum(p.n_faces for p in parts))
        out = CityMesh.concatenate([mesh, *parts], origin=mesh.origin) if n else mesh
        out.crs = mesh.crs
        return out, n

    return mesh.cache.get(key, mesh.token, build)


def _blend_transmissivity(args):
    """irradiance() with crowns letting ``transmissivity`` of the light through:
    τ · (no trees) + (1 - τ) · (opaque trees), per sensor and step."""
    tau = float(args.pop("transmissivity"))
    opaque = irradiance(**{**args, "trees": True, "transmissivity": 0.0})
    bare = irradiance(**{**args, "trees": False, "transmissivity": 0.0})
    S = opaque.sensors.copy()
    for c in ("irradiation", "direct", "diffuse", "reflected", "sky_view"):
        S[c] = tau * bare.sensors[c].to_numpy() + (1 - tau) * S[c].to_numpy()
    series = None
    if opaque.timeseries is not None:
        series = tau * bare.timeseries + (1 - tau) * opaque.timeseries
    meta = dict(opaque.meta)
    meta["transmissivity"] = tau
    meta["rays_traced"] = opaque.meta["rays_traced"] + bare.meta["rays_traced"]
    meta["cache_hit"] = {
        "opaque": opaque.meta["cache_hit"],
        "bare": bare.meta["cache_hit"],
    }
    meta["timings_s"] = {
        "opaque_s": opaque.meta["timings_s"]["total_s"],
        "bare_s": bare.meta["timings_s"]["total_s"],
        "total_s": round(
            opaque.meta["timings_s"]["total_s"] + bare.meta["timings_s"]["total_s"], 3
        ),
    }
    return SolarResult(
        S,
        series,
        opaque.weather,
        meta,
        mesh=opaque.mesh,
        sensor_mesh=opaque.sensor_mesh,
        scene=opaque.scene,
    )


# -- main entry point -----------------------------------------------------------------------
def irradiance(
    scene,
    weather=None,
    start=None,
    end=None,
    spacing: float = 1.0,
    surfaces=("roof", "wall"),
    points=None,
    normals=None,
    timeseries: bool = False,
    engine: str = "auto",
    *,
    sky: str = "perez",
    patches="tregenza",
    direct: str | None = None,
    sun_bins="reinhart",
    albedo: float = DEFAULT_ALBEDO,
    threshold: float = FAVOURABLE_KWH_M2,
    efficiency: float = PV_EFFICIENCY,
    performance_ratio: float = PERFORMANCE_RATIO,
    occluders="auto",
    trees: bool = False,
    transmissivity: float = 0.0,
    location=None,
    progress=None,
) -> SolarResult:
    """Solar irradiation [kWh/m²] on roofs, facades or given points.

    Parameters
    ----------
    scene : Scene or CityMesh
        The city; its mesh (buildings, BIM projects, terrain) blocks the sky.
        A scene with a DSM and no buildings uses the DSM as occluders (2.5D,
        see :mod:`cimcity.occluders`).
    weather : None, str/Path, pandas.DataFrame or :class:`cimcity.sky.Weather`
        EPW file, DataFrame with ``ghi``/``dni``/``dhi`` [W/m²] on a
        timezone-aware index (stamps at mid-interval), or ``None``: pvlib clear
        sky at the scene (an **upper bound**, flagged in ``meta``).
    start, end : datetime-like, optional
        Period ``[start, end)`` (naive values in Europe/Paris); default: the
        whole weather, or the typical year for clear sky.
    spacing : float
        Sensor spacing on surfaces [m].
    surfaces : sequence of {"roof", "wall", "terrain"}
        Surfaces to put sensors on (ignored with ``points``).
    points : (n, 3) float, optional
        Sensor positions, world coordinates in the scene CRS [m] (keep them a
        few cm off any surface).
    normals : (n, 3) or (3,) float, optional
        Sensor normals (default: facing up).
    timeseries : bool
        Also return ``.timeseries``: irradiance [W/m²] per step and sensor.
    engine : {"auto", "numba", "embree"}
        Ray engine (:mod:`cimcity.raycast`).
    sky : {"perez", "isotropic"}
        Sky radiance model (:func:`cimcity.sky.sky_components`).
    patches : str or int
        Sky subdivision for diffuse light: ``"tregenza"`` (145),
        ``"reinhart"`` (577), ``"reinhartN"``.
    direct : {"binned", "exact"}, optional
        Direct-sun tracing (see module docstring); default ``"exact"`` with
        ``timeseries`` else ``"binned"``.
    sun_bins : str or int
        Sky subdivision used as sun bins in ``"binned"`` mode (default Reinhart
        MF:2, ~6° cells).
    albedo : float
        Ground reflectance ρ in [0, 1].
    threshold : float
        Favourable irradiation [kWh m⁻² yr⁻¹]; periods shorter or longer than a
        year are compared after scaling to 8,760 h.
    efficiency, performance_ratio : float
        PV module efficiency and system performance ratio for the PV estimate.
    occluders : {"auto", "mesh", "dsm"} or CityMesh
        What blocks the sky (see ``scene``).
    trees : bool
        Add the scene's tree crowns to the occluders (vegetation polygons of
        kind ``tree`` with a ``height``, and a canopy-height raster
        ``scene.rasters["cdsm"]``; crown model in
        :func:`cimcity.occluders.tree_crowns`). Off by default: results are
        then for buildings (and terrain) only, as in solar cadastres.
    transmissivity : float
        Share of direct and diffuse light passing through crowns, in [0, 1)
        (0: opaque; UMEP/SEBE uses 0.03 for trees in leaf). A ray blocked by a
        crown and by nothing else counts ``transmissivity``: the result is
        ``τ · (no trees) + (1 - τ) · (opaque trees)``, exact for this model,
        traced as two visibility matrices (both cached).
    location : (latitude, longitude[, altitude]), optional
        Site for the sun [deg, m]; default: the scene centre (WGS84). The sun
        and sky directions are turned into the scene CRS's grid by the
        meridian convergence at this site (see ``docs/conventions.md``).
    progress : bool, optional
        Show a progress bar (tqdm when installed, else stderr); default: when
        more than :data:`PROGRESS_RAYS` rays are traced.

    Returns
    -------
    SolarResult
        ``.sensors`` (GeoDataFrame, one row per sensor: ``irradiation``,
        ``direct``, ``diffuse``, ``reflected`` [kWh/m²], ``sky_view`` [0-1],
        position, normal, ``tilt``/``azimuth`` [deg, true azimuth of the
        normal], ``kind``, ``building_id``, ``area`` [m²]), ``.by_building``,
        ``.timeseries`` (with ``timeseries=True``), ``.weather``, ``.sun``,
        ``.meta`` (``grid_north``: grid azimuth of true north used [deg]).

    Examples
    --------
    >>> import cimcity as cc
    >>> scene = cc.datasets.load("paris")
    >>> res = cc.solar.irradiance(scene, weather="FRA_Paris.Orly.071490_IWEC.epw",
    ...                           spacing=2.0)  # doctest: +SKIP
    >>> res.by_building.sort_values("pv_kwh", ascending=False).head()  # doctest: +SKIP
    """
    args = dict(locals())  # first: the arguments only
    from . import raycast
    from ._kernels import solar as ks

    if not (np.isfinite(transmissivity) and 0 <= transmissivity < 1):
        raise InputError(
            f"transmissivity must be in [0, 1) (0: opaque crowns); got "
            f"{transmissivity!r}"
        )
    if trees and transmissivity > 0:
        return _blend_transmissivity(args)
    t_start = time.perf_counter()
    timings = {}
    if sky not in _sky.SKY_MODELS:
        raise InputError(
            f"unknown sky model {sky!r}; expected one of {_sky.SKY_MODELS}"
        )
    direct = direct or ("exact" if timeseries else "binned")
    if direct not in DIRECT_MODES:
        raise InputError(
            f"unknown direct mode {direct!r}; expected one of {DIRECT_MODES}"
        )
    if not (np.isfinite(albedo) and 0 <= albedo <= 1):
        raise InputError(f"albedo must be in [0, 1]; got {albedo!r}")
    for name, v in (
        ("efficiency", efficiency),
        ("performance_ratio", performance_ratio),
    ):
        if not (np.isfinite(v) and 0 < v <= 1):
            raise InputError(f"{name} must be in (0, 1]; got {v!r}")
    engine_name = raycast.resolve_engine(engine, "matrix")
    sky_p = _sky.sky_patches(patches)
    sun_grid = _sky.sky_patches(sun_bins)

    mesh, sensors, sensor_mesh, occ_label = _resolve_inputs(
        scene, spacing, surfaces, points, normals, occluders
    )
    n_tree_faces = 0
    if trees:
        mesh, n_tree_faces = _add_trees(scene, mesh, occ_label)
    n = len(sensors)
    timings["sensors_s"] = time.perf_counter() - t_start
    # site and weather
    from .mesh import CityMesh

    sc = None if isinstance(scene, CityMesh) else scene
    crs = mesh.crs if sc is None else sc.crs
    if location is not None:
        loc = tuple(location)
        lat, lon = float(loc[0]), float(loc[1])
        alt = float(loc[2]) if len(loc) > 2 else 0.0
        north = _sunframe.grid_north(crs, lon, lat)
    else:
        if sc is not None:
            b = np.asarray(sc.bounds, float)
        else:
            mb = mesh.bounds
            b = np.array([mb[0, 0], mb[0, 1], mb[1, 0], mb[1, 1]])
        alt = None
        if not np.all(np.isfinite(b)) and n:
            p = sensors.points
            b = np.array([p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()])
            alt = float(np.median(p[:, 2]))
        if crs is None:  # a local mesh without CRS cannot place the sun
            raise InputError(
                "the mesh has no CRS: give location=(latitude, longitude) for the sun"
            )
        st = _sunframe.site(sc, crs=crs, bounds=b, altitude=alt)
        lat, lon, alt, north = st.latitude, st.longitude, st.altitude, st.north
    # sun and sky directions in the scene grid (x easting, y northing)
    sky_p = sky_p.in_grid(north)
    sun_grid = sun_grid.in_grid(north)
    w = _sky.read_weather(weather, lat, lon, alt, start, end)
    comp = _sky.sky_components(w, sky, north)
    timings["weather_s"] = time.perf_counter() - t_start - timings["sensors_s"]

    if timeseries and n * len(comp) > MAX_SERIES_VALUES:
        raise InputError(
            f"a time series of {n:,} sensors x {len(comp):,} steps is too large "
            f"(> {MAX_SERIES_VALUES:,} values); give a few points= or a shorter period"
        )

    pts = np.ascontiguousarray(sensors.points)
    nrm = np.ascontiguousarray(sensors.normals)
    un, su = _unique_normals(nrm) if n else (np.zeros((0, 3)), np.zeros(0, np.int64))
    t0 = time.perf_counter()
    K, H, front_sky = (
        _sky_weights(un, sky_p)
        if n
        else (np.zeros((0, len(sky_p))),) * 2 + (np.zeros((0, len(sky_p)), bool),)
    )
    timings["weights_s"] = time.perf_counter() - t0

    # sun steps that carry beam energy
    dt = comp.interval
    energy = comp.beam * dt  # Wh/m2 normal
    live = np.flatnonzero(comp.sun_up & (energy > 0))
    key = _sensor_key(pts, nrm)
    store = _store(mesh, key)
    cache_hit = {"sky": sky_p.key in store.sky}

    # what is left to trace (the rest is in the cache)
    todo_sky = sky_p.key not in store.sky
    share = direct == "binned" and sun_grid.name == sky_p.name  # sun bins = sky patches
    if direct == "binned":
        bins = np.full(len(comp), -1, np.int64)
        bins[live] = sun_grid.find(comp.sun[live])
        used = np.unique(bins[bins >= 0])
        bits_sun, traced = store.sun.get(sun_grid.key, (None, None))
        if bits_sun is None and not share:
            bits_sun = np.zeros((n, (len(sun_grid) + 7) // 8), np.uint8)
            traced = np.zeros(len(sun_grid), bool)
        new_bins = used[:0] if share else used[~traced[used]]
        n_new_sun = len(new_bins)
    else:
        sun_vec = np.ascontiguousarray(comp.sun[live])
        skey = hashlib.blake2b(sun_vec.tobytes(), digest_size=16).hexdigest()
        n_new_sun = len(sun_vec) if skey not in store.exact else 0
    cache_hit["sun"] = n_new_sun == 0
    est = (n * len(sky_p) * 0.75 if todo_sky else 0) + n * n_new_sun * 0.6
    show = progress if progress is not None else est > PROGRESS_RAYS
    bar = _Progress(est, "cimcity solar: tracing", bool(show) and n > 0)
    rays = 0

    t0 = time.perf_counter()
    if todo_sky:
        bits, r = _trace_groups(
            mesh,
            pts,
            un,
            su,
            sky_p.directions,
            front_sky,
            engine_name,
            bar.stage(n * len(sky_p) * 0.75),
        )
        store.sky[sky_p.key] = bits
        rays += r
    bits_sky = store.sky[sky_p.key]
    timings["trace_sky_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if direct == "binned":
        if share:
            bits_sun = bits_sky
        elif len(new_bins):
            gd, _, gcell, _ = sun_grid.subsample(_subgrid(sun_grid))
            sel = np.isin(gcell, new_bins)
            remap = np.full(len(sun_grid), -1, np.int64)
            remap[new_bins] = np.arange(len(new_bins))
            fr = ks.front_mask(
                un, np.ascontiguousarray(gd[sel]), remap[gcell[sel]], len(new_bins)
            )
            sub_bits, r = _trace_groups(
                mesh,
                pts,
                un,
                su,
                sun_grid.directions[new_bins],
                fr,
                engine_name,
                bar.stage(n * n_new_sun * 0.6),
            )
            rays += r
            ks.scatter_bits(bits_sun, sub_bits, new_bins.astype(np.int64))
            traced[new_bins] = True
            store.sun[sun_grid.key] = (bits_sun, traced)
        col = bins  # sun column per step (-1: none)
        bits_direct = bits_sun
    else:
        if skey not in store.exact:
            if len(store.exact) >= 2:
                store.exact.pop(next(iter(store.exact)))
            fr = (un @ sun_vec.T) > 0
            bits_e, r = _trace_groups(
                mesh,
                pts,
                un,
                su,
                sun_vec,
                fr,
                engine_name,
                bar.stage(n * n_new_sun * 0.6),
                lift=False,
            )
            rays += r
            store.exact[skey] = bits_e
        bits_direct = store.exact[skey]
        col = np.full(len(comp), -1, np.int64)
        col[live] = np.arange(len(live))
    bar.close()
    timings["trace_sun_s"] = time.perf_counter() - t0

    # -- combine ----------------------------------------------------------------------------
    t0 = time.perf_counter()
    dome_sr = np.zeros(n)
    ks.gather_visible(bits_sky, su, K, dome_sr)
    ring = np.zeros(n)
    ks.gather_visible(bits_sky, su, H, ring)
    nz = nrm[:, 2] if n else np.zeros(0)
    ground_view = (1.0 - nz) / 2.0
    dome_wh = comp.dome.sum() * dt
    horizon_wh = comp.horizon.sum() * dt
    ghi_wh = comp.ghi.sum() * dt
    if direct == "binned":
        ncols = len(sun_grid)
        D = (
            ks.sun_weights(un, comp.sun, energy, col, ncols)
            if n
            else np.zeros((0, ncols))
        )
        direct_wh = np.zeros(n)
        ks.gather_visible(bits_direct, su, D, direct_wh)
    else:
        direct_wh = np.zeros(n)
        ks.direct_exact_sum(
            bits_direct, nrm, sun_vec, np.ascontiguousarray(energy[live]), direct_wh
        )
    diffuse_wh = dome_sr * dome_wh + ring * horizon_wh
    reflected_wh = albedo * ghi_wh * ground_view
    total = (direct_wh + diffuse_wh + reflected_wh) / 1000.0
    timings["combine_s"] = time.perf_counter() - t0

    series = None
    if timeseries:
        direct_t = np.zeros((len(comp), n))
        ks.direct_series(bits_direct, su, nrm, comp.sun, comp.beam, col, direct_t)
        series = (
            direct_t
            + comp.dome[:, None] * dome_sr[None, :]
            + comp.horizon[:, None] * ring[None, :]
            + albedo * comp.ghi[:, None] * ground_view[None, :]
        )
        series = pd.DataFrame(
            series, index=comp.times, columns=pd.RangeIndex(n, name="sensor")
        )

    frame = sensors.to_frame(crs=getattr(mesh, "crs", None))
    frame["tilt"] = np.degrees(np.arccos(np.clip(nz, -1, 1)))
    frame["azimuth"] = _sunframe.true_azimuth(nrm, north) if n else []
    frame["irradiation"] = total
    frame["direct"] = direct_wh / 1000.0
    frame["diffuse"] = diffuse_wh / 1000.0
    frame["reflected"] = reflected_wh / 1000.0
    frame["sky_view"] = dome_sr / np.pi
    frame.index.name = "sensor"

    hours = len(comp) * dt
    meta = {
        "weather": w.summary(),
        "upper_bound": w.upper_bound,
        "sky": sky,
        "patches": sky_p.name,
        "n_patches": len(sky_p),
        "direct": direct,
        "sun_bins": sun_grid.name if direct == "binned" else None,
        "sun_bins_used": int(len(used)) if direct == "binned" else None,
        "albedo": albedo,
        "threshold_kwh_m2_yr": threshold,
        "efficiency": efficiency,
        "performance_ratio": performance_ratio,
        "engine": engine_name,
        "occluders": occ_label + (" + trees" if trees else ""),
        "trees": bool(trees),
        "tree_faces": int(n_tree_faces),
        "transmissivity": 0.0,
        "mesh_faces": int(mesh.n_faces),
        "sensors": n,
        "unique_normals": len(un),
        "rays_traced": int(rays),
        "cache_hit": cache_hit,
        "location": (lat, lon, alt),
        "grid_north": north,
        "hours": hours,
        "components_kwh_m2": comp.totals(),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    meta["timings_s"]["total_s"] = round(time.perf_counter() - t_start, 3)
    scene_obj = None if sensor_mesh is mesh and occ_label in ("mesh",) else scene
    return SolarResult(
        frame, series, w, meta, mesh=mesh, sensor_mesh=sensor_mesh, scene=scene_obj
    )


def _sensor_quads(points, normals, areas):
    """pyvista PolyData of one square per sensor (side ``1.3 sqrt(area)``), lying in
    the sensor's plane with edges horizontal/vertical on walls."""
    from ._compat import import_optional

    pv = import_optional("pyvista")
    n = np.asarray(normals, float)
    up = np.array([0.0, 0.0, 1.0])
    t1 = np.cross(up, n)
    flat = np.linalg.norm(t1, axis=1) < 1e-6
    t1[flat] = [1.0, 0.0, 0.0]
    t1 /= np.linalg.norm(t1, axis=1)[:, None]
    t2 = np.cross(n, t1)
    # 1.3 x: sensors stand for grid cells of 0.67-1.5 spacing a side (see
    # CityMesh.sample); squares this size cover them without visible gaps
    h = 0.65 * np.sqrt(np.asarray(areas, float))[:, None]
    p = np.asarray(points, float)
    corners = np.stack(
        [
            p - h * t1 - h * t2,
            p + h * t1 - h * t2,
            p + h * t1 + h * t2,
            p - h * t1 + h * t2,
        ],
        axis=1,
    ).reshape(-1, 3)
    k = len(p)
    cells = np.column_stack([np.full(k, 4), np.arange(4 * k).reshape(k, 4)]).ravel()
    return pv.PolyData(corners, cells)


# -- result -----------------------------------------------------------------------------------
class SolarResult:
    """Result of :func:`irradiance`.

    Attributes
    ----------
    sensors : geopandas.GeoDataFrame
        One row per sensor (3D point geometry): ``x``, ``y``, ``z`` [m],
        ``nx``, ``ny``, ``nz``, ``tilt``, ``azimuth`` [deg], ``kind``,
        ``building_id``, ``area`` [m²], ``face``, ``irradiation`` =
        ``direct`` + ``diffuse`` + ``reflected`` [kWh/m² over the period],
        ``sky_view`` [0-1].
    timeseries : pandas.DataFrame or None
        Irradiance [W/m²], index = weather instants, one column per sensor.
    weather : cimcity.sky.Weather
    sun : pandas.DataFrame
        Sun directions at the weather instants (scene grid frame).
    meta : dict
        Settings, weather summary (``upper_bound`` for clear sky), rays traced,
        cache hits, timings, ``grid_north`` [deg].
    """

    def __init__(
        self,
        sensors,
        timeseries,
        weather,
        meta,
        mesh=None,
        sensor_mesh=None,
        scene=None,
    ):
        self.sensors = sensors
        self.timeseries = timeseries
        self.weather = weather
        self.meta = meta
        self.mesh = mesh
        self.sensor_mesh = sensor_mesh
        self.scene = scene
        self._by_building = None

    # -- tables ------------------------------------------------------------------------------
    @property
    def sun(self) -> pd.DataFrame:
        """The sun at the weather instants, as traced.

        Index: weather instants; columns ``azimuth`` (true) and
        ``grid_azimuth`` (clockwise from the scene CRS's grid north,
        ``azimuth + meta["grid_north"]``), ``elevation`` (apparent) [deg] and
        ``x``, ``y``, ``z``: unit vector toward the sun in the scene CRS, the
        same vector :func:`cimcity.shadow.sun_table` gives at that instant.
        """
        s = self.weather.sun
        north = self.meta.get("grid_north", 0.0)
        v = _sunframe.direction_vectors(s["apparent_elevation"], s["azimuth"], north)
        return pd.DataFrame(
            {
                "azimuth": s["azimuth"].to_numpy(),
                "grid_azimuth": s["azimuth"].to_numpy() + north,
                "elevation": s["apparent_elevation"].to_numpy(),
                "x": v[:, 0],
                "y": v[:, 1],
                "z": v[:, 2],
            },
            index=s.index,
        )

    @property
    def annual_factor(self) -> float:
        """8,760 h / period length: scales period totals to a year."""
        h = self.meta["hours"]
        return 8760.0 / h if h > 0 else np.nan

    @property
    def by_building(self):
        """Per building (index ``building_id``):

        ``roof_area``, ``wall_area`` [m²]; ``roof_irradiation``,
        ``wall_irradiation`` [kWh over the period, Σ irradiation × area];
        ``roof_mean``, ``wall_mean`` [kWh/m²]; ``roof_favourable_area``,
        ``wall_favourable_area`` [m² whose annualised irradiation ≥ the
        threshold]; ``pv_kwp`` (favourable roof area × efficiency, peak power at
        1 kW/m²) and ``pv_kwh`` (favourable roof irradiation × efficiency ×
        performance ratio) [kWh over the period]. A GeoDataFrame with the
        footprints when the scene is known.
        """
        if self._by_building is None:
            self._by_building = self._aggregate()
        return self._by_building

    def _aggregate(self):
        S = self.sensors
        S = S[S["building_id"].notna()]
        thr = self.meta["threshold_kwh_m2_yr"] / self.annual_factor
        eff = self.meta["efficiency"]
        pr = self.meta["performance_ratio"]
        parts = {}
        for kind in ("roof", "wall"):
            k = S[S["kind"] == kind]
            energy = k["irradiation"] * k["area"]
            fav = k["irradiation"] >= thr
            g = (
                pd.DataFrame(
                    {
                        "building_id": k["building_id"],
                        "area": k["area"],
                        "energy": energy,
                        "fav_area": k["area"].where(fav, 0.0),
                        "fav_energy": energy.where(fav, 0.0),
                    }
                )
                .groupby("building_id", sort=False)
                .sum()
            )
            parts[kind] = g
        ids = parts["roof"].index.union(parts["wall"].index)
        out = pd.DataFrame(index=pd.Index(ids, name="building_id"))
        for kind, g in parts.items():
            g = g.reindex(ids).fillna(0.0)
            out[f"{kind}_area"] = g["area"]
            out[f"{kind}_irradiation"] = g["energy"]
            out[f"{kind}_mean"] = (g["energy"] / g["area"]).where(g["area"] > 0)
            out[f"{kind}_favourable_area"] = g["fav_area"]
            if kind == "roof":
                out["pv_kwp"] = g["fav_area"] * eff
                out["pv_kwh"] = g["fav_energy"] * eff * pr
        scene = self.scene
        if scene is not None and hasattr(scene, "buildings") and len(scene.buildings):
            import geopandas as gpd

            B = scene.buildings
            geom = B.geometry.reindex(out.index)
            out = gpd.GeoDataFrame(out, geometry=geom.values, crs=B.crs)
        return out

    def face_values(self, column: str = "irradiation", mesh=None) -> np.ndarray:
        """Area-weighted mean of a sensor column per face of ``mesh``
        (default: the occluder mesh), NaN on faces without sensors.

        Sensor faces index the sensing mesh (``scene.mesh(terrain=False)``),
        whose faces come first in ``scene.mesh()``.
        """
        mesh = self.mesh if mesh is None else mesh
        S = self.sensors
        f = S["face"].to_numpy()
        ok = f >= 0
        if mesh is None:
            raise InputError("no mesh to map sensor values on")
        if ok.any() and f[ok].max() >= mesh.n_faces:
            raise InputError(
                f"sensor faces go up to {f[ok].max()} but the mesh has {mesh.n_faces} faces"
            )
        a = S["area"].to_numpy()[ok]
        v = S[column].to_numpy(float)[ok]
        num = np.bincount(f[ok], weights=a * v, minlength=mesh.n_faces)
        den = np.bincount(f[ok], weights=a, minlength=mesh.n_faces)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / den, np.nan)

    def best_roofs(self, n: int = 10):
        """The ``n`` buildings with the largest PV estimate (``pv_kwh``)."""
        B = self.by_building
        cols = [
            c
            for c in (
                "roof_area",
                "roof_mean",
                "roof_favourable_area",
                "pv_kwp",
                "pv_kwh",
            )
            if c in B.columns
        ]
        return B.sort_values("pv_kwh", ascending=False)[cols].head(n)

    def summary(self) -> dict:
        """Headline numbers as a plain dict."""
        S = self.sensors
        out = {
            "sensors": len(S),
            "period_hours": self.meta["hours"],
            "weather": self.meta["weather"]["source"],
            "upper_bound": self.meta["upper_bound"],
        }
        for kind in ("roof", "wall", "terrain", "point"):
            k = S[S["kind"] == kind]
            if len(k):
                a = k["area"].to_numpy()
                out[f"{kind}_sensors"] = len(k)
                out[f"{kind}_mean_kwh_m2"] = round(
                    float(np.average(k["irradiation"], weights=a))
                    if a.sum() > 0
                    else float(k["irradiation"].mean()),
                    1,
                )
        if len(S) and S["building_id"].notna().any():
            B = self.by_building
            out["favourable_roof_area_m2"] = round(
                float(B["roof_favourable_area"].sum()), 1
            )
            out["pv_kwh"] = round(float(B["pv_kwh"].sum()), 0)
        out["rays_traced"] = self.meta["rays_traced"]
        out["total_s"] = self.meta["timings_s"]["total_s"]
        return out

    def __repr__(self) -> str:
        s = self.summary()
        ub = " (clear sky: upper bound)" if s["upper_bound"] else ""
        parts = [
            f"{k.split('_')[0]} {v} kWh/m²"
            for k, v in s.items()
            if k.endswith("_mean_kwh_m2")
        ]
        return (
            f"<SolarResult {s['sensors']:,} sensors over {s['period_hours']:g} h, "
            f"{s['weather']}{ub}: mean {', '.join(parts) or '-'}>"
        )

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
            f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
            for k, v in self.summary().items()
        )
        return f"<div><b>cimcity.solar.SolarResult</b><table>{rows}</table></div>"

    # -- views and files -----------------------------------------------------------------------
    def plot(
        self,
        column: str = "irradiation",
        kinds=("roof",),
        ax=None,
        cmap="inferno",
        vmin=None,
        vmax=None,
        markersize=None,
        title=None,
    ):
        """Top-view map of sensors coloured by ``column`` (matplotlib).

        Parameters
        ----------
        column : str
            Sensor column (``irradiation`` [kWh/m²], ``sky_view``...).
        kinds : sequence of str
            Surface kinds drawn (facades are seen edge-on from above).
        ax : matplotlib Axes, optional

        Returns
        -------
        matplotlib.axes.Axes
        """
        from ._compat import import_optional

        plt = import_optional("matplotlib.pyplot")
        S = self.sensors
        if column not in S.columns:
            raise InputError(
                f"unknown column {column!r}; sensors have {list(S.columns)}"
            )
        S = S[S["kind"].isin(list(kinds))] if kinds is not None else S
        S = S.sort_values("z")
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 7))
        if (
            self.scene is not None
            and hasattr(self.scene, "buildings")
            and len(self.scene.buildings)
        ):
            self.scene.buildings.boundary.plot(ax=ax, color="0.6", linewidth=0.4)
        ms = markersize or max(
            0.5, 6.0 * float(np.sqrt(S["area"].median())) if len(S) else 1.0
        )
        sc = ax.scatter(
            S["x"],
            S["y"],
            c=S[column],
            s=ms,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            marker="s",
            linewidths=0,
        )
        unit = {
            "irradiation": "kWh/m²",
            "direct": "kWh/m²",
            "diffuse": "kWh/m²",
            "reflected": "kWh/m²",
            "sky_view": "-",
        }.get(column, "")
        plt.colorbar(
            sc, ax=ax, shrink=0.8, label=f"{column} [{unit}]" if unit else column
        )
        ax.set_aspect("equal")
        ub = " — clear sky (upper bound)" if self.meta["upper_bound"] else ""
        ax.set_title(title or f"{column}, {self.meta['hours']:g} h{ub}")
        ax.set_xlabel("x [m]")
        ax.set_ylabel("y [m]")
        return ax

    def render(
        self,
        path,
        column: str = "irradiation",
        camera: str = "iso",
        clim=None,
        title=None,
        cmap="inferno",
        window_size=(1600, 1000),
    ):
        """3D solar map (PNG, offscreen): one small square per sensor, coloured by
        ``column``, on the scene drawn in neutral colours.

        Parameters
        ----------
        path : str or Path
            Output PNG.
        column : str
            Sensor column (``irradiation`` [kWh/m²], ``sky_view``...).
        camera : str or pyvista camera position
            A view of :func:`cimcity.render.set_camera` (``"iso"``, ``"top"``...).
        clim : (float, float), optional
            Colour range; default: 1st-99th percentiles.

        Returns
        -------
        pathlib.Path
        """
        from . import render
        from ._compat import import_optional

        if self.scene is None or not hasattr(self.scene, "mesh"):
            raise InputError("render() needs a result computed on a Scene")
        pv = import_optional("pyvista")
        pv.OFF_SCREEN = True
        S = self.sensors
        if column not in S.columns:
            raise InputError(
                f"unknown column {column!r}; sensors have {list(S.columns)}"
            )
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        mesh = self.scene.mesh()
        pl = pv.Plotter(off_screen=True, window_size=list(window_size))
        pl.set_background("white")
        render.add_scene(pl, self.scene, mesh=mesh)
        quads = _sensor_quads(
            S[["x", "y", "z"]].to_numpy() - mesh.origin,
            S[["nx", "ny", "nz"]].to_numpy(),
            S["area"].to_numpy(),
        )
        v = S[column].to_numpy(float)
        quads.cell_data["value"] = v
        if clim is None and len(v):
            clim = tuple(np.nanpercentile(v, [1, 99]))
        unit = "kWh/m²" if column != "sky_view" else "-"
        pl.add_mesh(
            quads,
            scalars="value",
            cmap=cmap,
            clim=clim,
            lighting=False,
            scalar_bar_args={
                "title": f"{column} [{unit}]",
                "vertical": True,
                "position_x": 0.88,
                "position_y": 0.15,
                "height": 0.7,
            },
        )
        ub = " (clear sky: upper bound)" if self.meta["upper_bound"] else ""
        pl.add_text(
            title or f"{column}, {self.meta['hours']:g} h{ub}",
            position="upper_left",
            font_size=12,
            color="black",
        )
        render.set_camera(pl, camera, mesh.to_pyvista().bounds)
        pl.screenshot(str(path))
        pl.close()
        return path

    def to_file(self, path, what: str = "sensors"):
        """Write results by file suffix.

        ``.gpkg``: layers ``sensors`` and ``buildings`` (when building totals
        exist); ``.parquet``: GeoParquet of ``what``; ``.csv``: table of ``what``
        (no geometry). ``what`` is ``"sensors"``, ``"buildings"`` or
        ``"timeseries"`` (CSV only).

        Returns
        -------
        pathlib.Path
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        suffix = path.suffix.lower()
        if what not in ("sensors", "buildings", "timeseries"):
            raise InputError(
                f"unknown what={what!r}; expected 'sensors', 'buildings' or "
                f"'timeseries'"
            )
        if what == "timeseries":
            if self.timeseries is None:
                raise InputError("no time series: run irradiance(..., timeseries=True)")
            if suffix != ".csv":
                raise InputError("time series are written as .csv")
            self.timeseries.to_csv(path)
            return path
        table = self.sensors if what == "sensors" else self.by_building
        if suffix == ".gpkg":
            S = self.sensors.copy()
            S["building_id"] = (
                S["building_id"].astype(str).where(S["building_id"].notna())
            )
            S.to_file(path, layer="sensors", driver="GPKG")
            B = self.by_building
            if len(B) and hasattr(B, "geometry"):
                B.to_file(path, layer="buildings", driver="GPKG")
            return path
        if suffix == ".parquet":
            if hasattr(table, "to_parquet"):
                t = table.copy()
                if "building_id" in t.columns:
                    t["building_id"] = (
                        t["building_id"].astype(str).where(t["building_id"].notna())
                    )
                t.to_parquet(path)
                return path
        if suffix == ".csv":
            pd.DataFrame(table.drop(columns="geometry", errors="ignore")).to_csv(path)
            return path
        raise InputError(
            f"unsupported file type {suffix!r}; expected .gpkg, .parquet or .csv"
        )
