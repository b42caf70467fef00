"""Solar irradiation on roofs, facades, open ground and any points of a 3D city.

:func:`irradiance` puts sensors on the scene's surfaces (or takes the user's
points and normals, :mod:`cimcity.sun.sensors`), traces once which sky
patches and sun positions each sensor sees (a bit-packed visibility matrix
cached on the occluder mesh, :mod:`cimcity.sun.visibility`), and multiplies
it with the sky of the chosen weather and period (:mod:`cimcity.io.weather`,
:mod:`cimcity.sun.sky`). A second run with other weather or another period
costs seconds: only sun bins never traced before are traced.

Physics
-------
For a sensor with unit normal ``n`` and visibility ``V`` (1 = sky patch or sun
seen), over the time steps ``t`` of length ``Δt`` (see :mod:`cimcity.sun.sky`
for the sky model):

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

Surface kinds, per-building totals, the favourable-area threshold
(1,000 kWh/m²/yr, the Paris solar cadastre's "favourable" class) and the PV
estimate are documented on :class:`~cimcity.sun.solar_result.SolarResult`.

Caches and limits
-----------------
Sensors are cached on the scene's sensing mesh and visibility on the occluder
mesh (``mesh.cache``, dropped with the scene's next change or
``mesh.clear_cache()``): a Paris 11e study at 2 m (3.5 M sensors) re-runs with
other weather in about 6 s. Not modelled: light reflected by buildings
(inter-reflections; only the open ground reflects) and sub-step sun movement
(hourly data are evaluated at mid-hour; resample the weather for finer shadow
timing). Trees block light only with ``trees=True`` (crowns as prisms, opaque
or with a ``transmissivity``; see :func:`cimcity.sun.occluders.tree_crowns`);
by default the occluders are ``scene.mesh()``: buildings, BIM projects and
terrain.

Frames
------
Sun and sky-patch directions are turned from true north into the scene CRS's
grid by the meridian convergence at the site (``meta["grid_north"]``, about
+0.49° in Paris in Lambert-93; see ``docs/conventions.md``), with the helper
:func:`cimcity.shadow.sun_table` uses (:mod:`cimcity.sun.position`), so solar
and shadow trace the same sun. The ``azimuth`` of sensors is the true azimuth
of their normal.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from dataclasses import dataclass
from numbers import Real
from pathlib import Path

import numpy as np
import pandas as pd

from .. import raycast
from .._kernels import solar as ks
from .._progress import bar as progress_bar
from ..errors import DataQualityWarning, InputError
from ..io import weather as _weather
from ..mesh import CityMesh
from ..scene import Scene
from ..scene.heights import check_vertical_frame
from ..scene.summary import shown
from . import reflected, reuse
from . import sensors as _sensors
from . import sky as _sky
from . import visibility as vis
from .context import check_points_frame, flag_context, in_area, margin_for, study_area
from .occluders import scene_dsm_mesh, trees_on, with_trees
from .position import grid_north, site, true_azimuth, when_from_start_end
from .solar_result import SolarResult, study_meta

__all__ = [
    "DEFAULT_ALBEDO",
    "FAVOURABLE_KWH_M2",
    "PV_EFFICIENCY",
    "PERFORMANCE_RATIO",
    "DIRECT_MODES",
    "OCCLUDERS",
    "MAX_SERIES_VALUES",
    "PROGRESS_RAYS",
    "irradiance",
    "site_location",
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
#: what blocks the sky (or a CityMesh)
OCCLUDERS = ("auto", "mesh", "dsm")
#: time series larger than this many values (steps x sensors) are refused
MAX_SERIES_VALUES = 50_000_000
#: rays above which a progress bar is shown by default (on a terminal)
PROGRESS_RAYS = 20_000_000
#: share of sensor x patch pairs in front of the sensors (progress estimate)
_SKY_SHARE = 0.75
#: share of sensor x sun-bin pairs in front of the sensors (progress estimate)
_SUN_SHARE = 0.6


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
    st = site(scene, crs=crs, bounds=bounds, altitude=altitude)
    return st.latitude, st.longitude, st.altitude


# -- step 1: options and inputs ----------------------------------------------------------
def _check_options(sky, direct, timeseries, albedo, efficiency, performance_ratio,
                   transmissivity, occluders, threshold) -> str:
    """Validate the model options; returns the direct mode."""
    ranges = (  # name, value, test, valid range as words
        ("threshold", threshold, lambda v: v >= 0, ">= 0 [kWh m⁻² yr⁻¹]"),
        ("transmissivity", transmissivity, lambda v: 0 <= v < 1, "in [0, 1) (0: opaque)"),
        ("albedo", albedo, lambda v: 0 <= v <= 1, "in [0, 1]"),
        ("efficiency", efficiency, lambda v: 0 < v <= 1, "in (0, 1]"),
        ("performance_ratio", performance_ratio, lambda v: 0 < v <= 1, "in (0, 1]"),
    )
    for name, v, ok, words in ranges:
        number = isinstance(v, Real) and not isinstance(v, bool) and np.isfinite(v)
        if not (number and ok(v)):
            raise InputError(f"{name} must be a number {words}; got {shown(v)!r}")
    if sky not in _sky.SKY_MODELS:
        raise InputError(f"unknown sky model {sky!r}; expected one of {_sky.SKY_MODELS}")
    direct = direct or ("exact" if timeseries else "binned")
    if direct not in DIRECT_MODES:
        raise InputError(
            f"unknown direct mode {direct!r}; expected one of {DIRECT_MODES}"
        )
    if occluders not in OCCLUDERS and not isinstance(occluders, CityMesh):
        raise InputError(
            f"unknown occluders {occluders!r}; expected 'auto', 'mesh', 'dsm' or a CityMesh"
        )
    return direct


@dataclass(eq=False)
class _Inputs:
    """What a study traces against and from."""

    mesh: CityMesh  # occluders
    sensors: _sensors.Sensors
    sensor_mesh: CityMesh | None  # mesh the sensors lie on
    label: str  # occluders, for meta
    tree_faces: int = 0


def _occluder_mesh(scene, occluders):
    """(occluder mesh, label) of a Scene or CityMesh."""
    if isinstance(scene, CityMesh):
        return scene, "mesh"
    if not isinstance(scene, Scene):
        raise InputError(
            f"scene must be a cimcity Scene or CityMesh; got {type(scene).__name__}"
        )
    if isinstance(occluders, CityMesh):
        return occluders, "given mesh"
    use_dsm = occluders == "dsm" or (
        occluders == "auto" and scene.dsm is not None and not len(scene.buildings)
    )
    if not use_dsm:
        return scene.mesh(), "scene mesh"
    if scene.dsm is None:
        raise InputError(
            "occluders='dsm' but the scene has no DSM (scene.add_terrain(dem, dsm=...))"
        )
    return scene_dsm_mesh(scene), "dsm"


def _resolve_inputs(scene, spacing, surfaces, points, normals, occluders, trees,
                    engine) -> _Inputs:
    """Occluders and sensors of a study (step 1)."""
    surfaces = _sensors.normalize_surfaces(surfaces)
    mesh, label = _occluder_mesh(scene, occluders)
    if points is not None or normals is not None:
        sensors = _sensors.resolve(scene, points=points, normals=normals)
        sensor_mesh = None
    else:
        if label in ("mesh", "dsm", "given mesh"):
            sensor_mesh = mesh  # sensors on the occluders themselves
        else:
            ground = "ground" in surfaces
            if not len(scene.buildings) and not ground:
                raise InputError(
                    "the scene has no buildings to put sensors on (empty scene); add "
                    "buildings or give points= and normals="
                )
            if ground and scene.terrain is None and not len(scene.buildings):
                raise InputError("the scene is empty: no buildings and no terrain")
            sensor_mesh = scene.mesh(terrain=ground)
        sensors = _sensors.resolve(
            sensor_mesh if label != "scene mesh" else scene,
            surfaces=surfaces,
            spacing=spacing,
            ground="mesh",
            engine=engine,
        )
    inputs = _Inputs(mesh, sensors, sensor_mesh, label)
    if trees:
        if isinstance(scene, CityMesh):
            raise InputError(
                "trees=True needs a Scene (its vegetation layer holds the trees); "
                "got a CityMesh"
            )
        if label == "scene mesh":
            inputs.mesh = with_trees(scene)
            inputs.tree_faces = getattr(inputs.mesh, "tree_faces", 0)
        else:
            inputs.mesh, inputs.tree_faces = trees_on(scene, mesh)
    return inputs


# -- step 2: site and weather ----------------------------------------------------------------
def _site(scene, inputs, location):
    """(latitude, longitude, altitude, grid north) of the study."""
    sc = None if isinstance(scene, CityMesh) else scene
    mesh = inputs.mesh
    crs = mesh.crs if sc is None else sc.crs
    if location is not None:
        loc = tuple(location)
        lat, lon = float(loc[0]), float(loc[1])
        alt = float(loc[2]) if len(loc) > 2 else 0.0
        return lat, lon, alt, grid_north(crs, lon, lat)
    if sc is not None:
        b = np.asarray(sc.bounds, float)
    else:
        mb = mesh.bounds
        b = np.array([mb[0, 0], mb[0, 1], mb[1, 0], mb[1, 1]])
    alt = None
    if not np.all(np.isfinite(b)) and len(inputs.sensors):
        p = inputs.sensors.points
        b = np.array([p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()])
        alt = float(np.median(p[:, 2]))
    if crs is None:  # a local mesh without CRS cannot place the sun
        raise InputError(
            "the mesh has no CRS: give location=(latitude, longitude) for the sun"
        )
    st = site(sc, crs=crs, bounds=b, altitude=alt)
    return st.latitude, st.longitude, st.altitude, st.north


# -- step 3: trace ---------------------------------------------------------------------------
@dataclass(eq=False)
class _Traced:
    """Visibility of one study, ready to be weighted."""

    un: np.ndarray  # (U, 3) unique normals
    su: np.ndarray  # (n,) unique-normal index of each sensor
    K: np.ndarray  # (U, P) dome weights [sr]
    H: np.ndarray  # (U, P) horizon-ring weights [rad]
    bits_sky: np.ndarray  # (n, ceil(P/8)) blocked bits
    bits_direct: np.ndarray  # blocked bits of sun bins or exact sun steps
    col: np.ndarray  # (T,) sun column per step (-1: none)
    sun_vec: np.ndarray | None  # (L, 3) traced sun directions ("exact")
    live: np.ndarray  # steps carrying beam energy
    used: np.ndarray | None  # sun bins used ("binned")
    rays: int
    cache_hit: dict
    stats: dict = None  # pairs in front, rays traced (this call)


def _stage(bar, rays):
    """A ``(done, total)`` callback moving ``bar`` over ``rays`` rays."""
    last = [0]

    def cb(done, total):
        pos = int(rays * done / max(total, 1))
        bar.update(pos - last[0])
        last[0] = pos

    return cb


def _trace(inputs, comp, sky_p, sun_grid, direct, engine, progress, timings, exact,
           pair_engine=None):
    """Sky and sun visibility of the sensors, from the cache or traced (coarse
    first on each plane's sensor grid unless ``exact``, :mod:`.reuse`; its
    scattered pairs on ``pair_engine``)."""
    mesh, sensors = inputs.mesh, inputs.sensors
    stats = {"pairs": 0, "rays": 0}
    lat = None if exact or not reuse.has_lattice(sensors.lattice) else sensors.lattice

    def trace_groups(*a, lift=True):  # vis.trace_groups, or coarse first
        return reuse.trace(a[0], a[1], lat, *a[2:], lift=lift, stats=stats,
                           pair_engine=pair_engine)

    n = len(sensors)
    pts = np.ascontiguousarray(sensors.points)
    nrm = np.ascontiguousarray(sensors.normals)
    un, su = vis.unique_normals(nrm) if n else (np.zeros((0, 3)), np.zeros(0, np.int64))
    t0 = time.perf_counter()
    K, H, front_sky = (
        vis.sky_weights(un, sky_p)
        if n
        else (np.zeros((0, len(sky_p))),) * 2 + (np.zeros((0, len(sky_p)), bool),)
    )
    timings["weights_s"] = time.perf_counter() - t0

    # sun steps that carry beam energy
    energy = comp.beam * comp.interval  # Wh/m2 normal
    live = np.flatnonzero(comp.sun_up & (energy > 0))
    store = vis.store(mesh, vis.sensor_key(pts, nrm) + ("" if lat is None else ":reuse"))
    cache_hit = {"sky": sky_p.key in store.sky}

    # what is left to trace (the rest is in the cache)
    todo_sky = sky_p.key not in store.sky
    share = direct == "binned" and sun_grid.name == sky_p.name  # sun bins = sky patches
    used = sun_vec = skey = None
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
    sky_rays = n * len(sky_p) * _SKY_SHARE if todo_sky else 0
    sun_rays = n * n_new_sun * _SUN_SHARE
    bar = progress_bar(
        int(sky_rays + sun_rays), desc="cimcity solar: tracing", unit="ray",
        progress=progress if n else False, work=sky_rays + sun_rays,
        threshold=PROGRESS_RAYS,
    )
    rays = 0
    t0 = time.perf_counter()
    if todo_sky:
        bits, r = trace_groups(
            mesh, pts, un, su, sky_p.directions, front_sky, engine,
            _stage(bar, sky_rays),
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
            gd, _, gcell, _ = sun_grid.subsample(vis.subgrid(sun_grid))
            sel = np.isin(gcell, new_bins)
            remap = np.full(len(sun_grid), -1, np.int64)
            remap[new_bins] = np.arange(len(new_bins))
            fr = ks.front_mask(
                un, np.ascontiguousarray(gd[sel]), remap[gcell[sel]], len(new_bins)
            )
            sub_bits, r = trace_groups(
                mesh, pts, un, su, sun_grid.directions[new_bins], fr, engine,
                _stage(bar, sun_rays),
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
            bits_e, r = trace_groups(
                mesh, pts, un, su, sun_vec, fr, engine, _stage(bar, sun_rays),
                lift=False,
            )
            rays += r
            store.exact[skey] = bits_e
        bits_direct = store.exact[skey]
        col = np.full(len(comp), -1, np.int64)
        col[live] = np.arange(len(live))
    bar.close()
    timings["trace_sun_s"] = time.perf_counter() - t0
    return _Traced(un, su, K, H, bits_sky, bits_direct, col, sun_vec, live, used,
                   rays, cache_hit, stats)


# -- step 4: accumulate ------------------------------------------------------------------------
def _accumulate(sensors, comp, tr, direct, ncols, albedo, timeseries):
    """Per-sensor components over the period [Wh/m²] and the time series."""
    n = len(sensors)
    nrm = np.ascontiguousarray(sensors.normals)
    dt = comp.interval
    energy = comp.beam * dt
    dome_sr = np.zeros(n)
    ks.gather_visible(tr.bits_sky, tr.su, tr.K, dome_sr)
    ring = np.zeros(n)
    ks.gather_visible(tr.bits_sky, tr.su, tr.H, ring)
    nz = nrm[:, 2] if n else np.zeros(0)
    ground_view = (1.0 - nz) / 2.0
    direct_wh = np.zeros(n)
    if direct == "binned":
        D = (
            ks.sun_weights(tr.un, comp.sun, energy, tr.col, ncols)
            if n
            else np.zeros((0, ncols))
        )
        ks.gather_visible(tr.bits_direct, tr.su, D, direct_wh)
    else:
        ks.direct_exact_sum(
            tr.bits_direct, nrm, tr.sun_vec, np.ascontiguousarray(energy[tr.live]),
            direct_wh,
        )
    out = {
        "direct": direct_wh,
        "diffuse": dome_sr * (comp.dome.sum() * dt) + ring * (comp.horizon.sum() * dt),
        "reflected": albedo * (comp.ghi.sum() * dt) * ground_view,
        "dome_sr": dome_sr,
    }
    series = None
    if timeseries:
        direct_t = np.zeros((len(comp), n))
        ks.direct_series(tr.bits_direct, tr.su, nrm, comp.sun, comp.beam, tr.col, direct_t)
        series = (
            direct_t
            + comp.dome[:, None] * dome_sr[None, :]
            + comp.horizon[:, None] * ring[None, :]
            + albedo * comp.ghi[:, None] * ground_view[None, :]
        )
        series = pd.DataFrame(
            series, index=comp.times, columns=pd.RangeIndex(n, name="sensor")
        )
    return out, series


# -- step 5: the result --------------------------------------------------------------------------
def _sensor_table(sensors, parts, crs, north):
    """The sensors table: position, normal, tilt, azimuth and the totals."""
    n = len(sensors)
    nrm = sensors.normals
    nz = nrm[:, 2] if n else np.zeros(0)
    frame = sensors.to_frame(crs=crs)
    frame["tilt"] = np.degrees(np.arccos(np.clip(nz, -1, 1)))
    frame["azimuth"] = true_azimuth(nrm, north) if n else []
    frame["irradiation"] = (parts["direct"] + parts["diffuse"] + parts["reflected"]) / 1000.0
    frame["direct"] = parts["direct"] / 1000.0
    frame["diffuse"] = parts["diffuse"] / 1000.0
    frame["reflected"] = parts["reflected"] / 1000.0
    if "wall_reflected" in parts:  # part of "reflected" (wall_albedo=)
        frame["wall_reflected"] = parts["wall_reflected"] / 1000.0
    frame["sky_view"] = parts["dome_sr"] / np.pi
    frame.index.name = "sensor"
    return frame


def _blend_transmissivity(args):
    """irradiance() with crowns letting ``transmissivity`` of the light through:
    τ · (no trees) + (1 - τ) · (opaque trees), per sensor and step."""
    tau = float(args.pop("transmissivity"))
    scene = args.pop("scene")
    opaque = irradiance(scene, **{**args, "trees": True, "transmissivity": 0.0})
    bare = irradiance(scene, **{**args, "trees": False, "transmissivity": 0.0})
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
        S, series, opaque.weather, meta, mesh=opaque.mesh,
        sensor_mesh=opaque.sensor_mesh, scene=opaque.scene,
    )


def _weather_given_as_when(when) -> bool:
    """A weather source passed where ``when`` now stands (old 2nd argument)."""
    if isinstance(when, pd.DataFrame | _weather.Weather):
        return True
    return isinstance(when, str | Path) and str(when).lower().endswith(".epw")


# -- entry point --------------------------------------------------------------------------------
def irradiance(
    scene,
    when=None,
    *,
    weather=None,
    spacing: float = 1.0,
    surfaces=("roof", "wall"),
    points=None,
    normals=None,
    timeseries: bool = False,
    engine: str = "auto",
    sky: str = "perez",
    patches="tregenza",
    direct: str | None = None,
    sun_bins="reinhart",
    albedo: float = DEFAULT_ALBEDO,
    wall_albedo: float | None = None,
    threshold: float = FAVOURABLE_KWH_M2,
    efficiency: float = PV_EFFICIENCY,
    performance_ratio: float = PERFORMANCE_RATIO,
    occluders="auto",
    trees: bool = False,
    transmissivity: float = 0.0,
    location=None,
    progress=None,
    start=None,
    end=None,
    area=None,
    exact: bool = True,
) -> SolarResult:
    """Solar irradiation [kWh/m²] on roofs, facades, open ground or given points.

    Parameters
    ----------
    scene : Scene or CityMesh
        The city; its mesh (buildings, BIM projects, terrain) blocks the sky.
        A scene with a DSM and no buildings uses the DSM as occluders (2.5D,
        see :mod:`cimcity.sun.occluders`).
    when : date, (start, end), pandas.Period or None
        Period studied, half-open ``[start, end)``; a date is that whole day,
        either end of a pair may be None (open). Naive times are read in the
        weather's zone (Europe/Paris for clear sky; EPW files are in local
        standard time). None: the whole weather, or the typical year for
        clear sky.
    weather : None, str/Path, pandas.DataFrame or :class:`cimcity.io.weather.Weather`
        EPW file, DataFrame with ``ghi``/``dni``/``dhi`` [W/m²] on a
        timezone-aware index (stamps at mid-interval), or ``None``: pvlib clear
        sky at the scene (an **upper bound**, flagged in ``meta``).
    spacing : float
        Sensor spacing on surfaces [m].
    surfaces : sequence of {"roof", "wall", "ground"}
        Surfaces to put sensors on (ignored with ``points``). ``"ground"`` is
        the open ground: the terrain faces, sampled like roofs (the former
        ``"terrain"``, still read with a ``FutureWarning``).
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
        Sky radiance model (:func:`cimcity.sun.sky.sky_components`).
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
    wall_albedo : float, optional
        Add the sunlight and skylight reflected by the walls each upward-facing
        sensor (roofs, ground, courtyard floors) sees, with this wall
        reflectance (:func:`cimcity.sun.reflected.wall_reflected`, shared with
        :mod:`cimcity.heat`); tilted sensors keep the isotropic ground term only
        (adding walls there would count the lower view twice). None: off.
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
        :func:`cimcity.sun.occluders.tree_crowns`). Off by default: results
        are then for buildings (and terrain) only, as in solar cadastres.
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
        Progress bar of the ray tracing (:mod:`cimcity._progress`); default:
        on a terminal when more than :data:`PROGRESS_RAYS` rays are traced.
    start, end : datetime-like, optional
        Former spelling of ``when=(start, end)`` (``FutureWarning``).
    area : polygon or (minx, miny, maxx, maxy), optional
        Study area [m, scene CRS]: only sensors inside it are computed
        (default: the study area recorded by :meth:`Scene.clip`, else all);
        every occluder of the scene still counts. Sensors get
        ``edge_context_m`` [m] and ``context_ok`` (see
        :mod:`cimcity.sun.context`).
    exact : bool
        Trace every sensor x direction pair (default, the reference).
        ``False``: sensors on a plane's grid are traced coarse first; a pair
        is inferred blocked only on a real hit of a neighbour's triangle
        (:mod:`cimcity.sun.reuse`: Paris 11e at 1 m, 23 % of the rays, 1.4x
        faster, per-building error p99 0.04 %, worst 0.7 %; figures there).
        ``meta["visibility"]`` gives the pairs, the rays traced and the step.

    Returns
    -------
    SolarResult
        ``.sensors`` (the main table: one row per sensor: ``irradiation``,
        ``direct``, ``diffuse``, ``reflected`` [kWh/m²], ``sky_view`` [0-1],
        position, normal, ``tilt``/``azimuth`` [deg, true azimuth of the
        normal], ``kind``, ``building_id``, ``area`` [m²]), ``.by_building``,
        ``.timeseries`` (with ``timeseries=True``), ``.weather``, ``.sun``,
        ``.meta`` (``grid_north``: grid azimuth of true north used [deg];
        ``context``: the context margin).

    Raises
    ------
    InputError
        Bad options (named), or a spacing asking for more sensors than
        :data:`cimcity.sun.sensors.MAX_SENSORS` (raise it to go further).
    GeoreferenceError
        Layers of the scene (or given points) in different vertical frames
        (:func:`cimcity.scene.heights.check_vertical_frame`).

    Warns
    -----
    DataQualityWarning
        No weather (clear sky: an upper bound); ``trees=True`` without any
        tree height; sensors lacking context around the study area.

    Examples
    --------
    >>> import cimcity as cc
    >>> scene = cc.datasets.load("paris")
    >>> res = cc.solar.irradiance(scene, ("2023-06-01", "2023-09-01"),
    ...                           weather="FRA_Paris.Orly.071490_IWEC.epw",
    ...                           spacing=2.0)  # doctest: +SKIP
    >>> res.by_building.sort_values("pv_kwh", ascending=False).head()  # doctest: +SKIP
    """
    if _weather_given_as_when(when):
        if weather is not None:
            raise InputError("irradiance() got a weather source as when= and weather=")
        warnings.warn(
            "irradiance(scene, weather) is now irradiance(scene, when, *, weather=...); "
            "pass the weather as weather=",
            FutureWarning,
            stacklevel=2,
        )
        when, weather = None, when
    when = when_from_start_end(when, start, end, "irradiance")
    args = dict(locals())
    for k in ("start", "end"):
        args.pop(k)
    direct = _check_options(sky, direct, timeseries, albedo, efficiency,
                            performance_ratio, transmissivity, occluders, threshold)
    if trees and transmissivity > 0:
        return _blend_transmissivity(args)
    t_start = time.perf_counter()
    timings = {}
    engine_name = raycast.resolve_engine(engine, "matrix")
    sky_p = _sky.sky_patches(patches)
    sun_grid = _sky.sky_patches(sun_bins)

    if isinstance(scene, Scene):
        check_vertical_frame(scene, refuse=True, what="irradiance")
    inputs = _resolve_inputs(scene, spacing, surfaces, points, normals, occluders,
                             trees, engine)
    region = study_area(scene, area)
    if region is not None and points is None:
        inputs.sensors = inputs.sensors.subset(
            in_area(region, inputs.sensors.points[:, :2])
        )
    check_points_frame(scene, inputs.sensors, points)
    if weather is None:
        warnings.warn(
            "irradiance: no weather given (weather=None): pvlib clear sky, an upper "
            "bound of real irradiation (meta['upper_bound']); give an EPW file or "
            "measured series for real values",
            DataQualityWarning,
            stacklevel=2,
        )
    n = len(inputs.sensors)
    timings["sensors_s"] = time.perf_counter() - t_start
    lat, lon, alt, north = _site(scene, inputs, location)
    # sun and sky directions in the scene grid (x easting, y northing)
    sky_p = sky_p.in_grid(north)
    sun_grid = sun_grid.in_grid(north)
    w = _weather.read_weather(weather, lat, lon, alt, when)
    comp = _sky.sky_components(w, sky, north)
    timings["weather_s"] = time.perf_counter() - t_start - timings["sensors_s"]
    if timeseries and n * len(comp) > MAX_SERIES_VALUES:
        raise InputError(
            f"a time series of {n:,} sensors x {len(comp):,} steps is too large "
            f"(> {MAX_SERIES_VALUES:,} values); give a few points= or a shorter period"
        )

    tr = _trace(inputs, comp, sky_p, sun_grid, direct, engine_name, progress, timings,
                exact, raycast.resolve_engine(engine, "occluded"))
    t0 = time.perf_counter()
    parts, series = _accumulate(inputs.sensors, comp, tr, direct, len(sun_grid),
                                albedo, timeseries)
    if wall_albedo is not None:
        parts, series = reflected.add_to_upward(
            parts, series, inputs.mesh, inputs.sensors, comp, wall_albedo=wall_albedo,
            ground_albedo=albedo, engine=engine_name, max_values=MAX_SERIES_VALUES)
    timings["combine_s"] = time.perf_counter() - t0

    frame = _sensor_table(inputs.sensors, parts, getattr(inputs.mesh, "crs", None), north)
    mesh = inputs.mesh
    meta = study_meta(
        w, comp, tr, inputs, sky_p, sun_grid, timings,
        settings=dict(sky=sky, direct=direct, albedo=albedo, wall_albedo=wall_albedo,
                      threshold=threshold,
                      efficiency=efficiency, performance_ratio=performance_ratio,
                      engine=engine_name, trees=trees),
        where=(lat, lon, alt, north),
    )
    meta["timings_s"]["total_s"] = round(time.perf_counter() - t_start, 3)
    meta["visibility"] = dict(exact=bool(exact), **tr.stats)
    if isinstance(scene, Scene):
        meta["context"] = dict(margin_for(scene), study_area=region)
        flag_context(frame, scene, meta["context"], "irradiance")
    sensor_mesh = inputs.sensor_mesh
    scene_obj = None if sensor_mesh is mesh and inputs.label == "mesh" else scene
    return SolarResult(
        frame, series, w, meta, mesh=mesh, sensor_mesh=sensor_mesh, scene=scene_obj
    )
