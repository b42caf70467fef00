"""Ray queries on a :class:`~cimcity.mesh.CityMesh`: one API, several engines.

Three queries, all in world coordinates of the scene CRS [m]:

* :func:`occluded` — any-hit: is each ray blocked before ``tmax``?
* :func:`intersect` — closest hit: distance [m] and face index of the first
  surface along each ray.
* :func:`occluded_matrix` — any-hit for every pair of ``n`` origins × ``d``
  directions (sensors × sky patches or sun positions), bit-packed, traced in
  chunks without building the ``n·d`` ray arrays in Python.

Engines (``engine=``)
---------------------
``"numba"``
    cimcity's own BVH (:mod:`cimcity._kernels.bvh`): binned-SAH build, ordered
    stack traversal, watertight ray–triangle test (Woop, Benthin & Wald 2013)
    in float64, ``nogil`` kernels run on ``numba.get_num_threads()`` threads
    (``NUMBA_NUM_THREADS``). Always available.
``"embree"``
    Intel Embree 4 through ``embreex`` (``pip install "cimcity[accel]"``),
    robust (watertight) scene in float32 local coordinates; embreex traces one
    ray at a time but releases the GIL, so rays are split over one Python
    thread per core.
``"auto"`` (default)
    Without ``embreex``: ``"numba"``. With it, per query (:data:`AUTO_ENGINES`,
    :func:`resolve_engine`), the engine ``benchmarks/bench_raycast.py`` measures
    faster for that kind of work:

    * :func:`occluded_matrix` → ``"numba"``: its packets of neighbouring
      sensors per direction trace sensor × sky-patch pairs as fast as Embree
      (1,200-face grid) or faster (10-25 % on the larger grids and on the
      5,227 buildings of Paris 11e: 10.0 vs 9.1 M rays/s on 2 cores);
    * :func:`occluded` and :func:`intersect` → ``"embree"``: on coherent rays
      (sensors × directions flattened) numba's grouped packets are ahead by
      about 10 %, but on incoherent rays (random origins and directions) and
      for closest hits Embree's single-ray traversal is 1.5-2.7 times faster
      than numba's (Paris 11e any-hit: 6.6 vs 2.5 M rays/s).

    The rule depends only on the query and on ``embreex`` being installed
    (no timing at run time), so results and their engine are reproducible.

Both engines return the same answer for every ray except rays that graze an
edge or a vertex, or whose hit lies within rounding of ``tmin``/``tmax`` (float32
rounding in Embree ≈ 1e-7 × the mesh extent, i.e. < 1 mm within 5 km of the
mesh origin); ``tests/test_raycast.py`` checks this ray by ray.

Acceleration structures are built on first use and kept in ``mesh.cache``
(``"raycast.bvh"``, ``"raycast.embree"``); :meth:`CityMesh.clear_cache` drops
them. Build them ahead of time (e.g. before timing) with :func:`prepare`.

Precision and self-intersection
-------------------------------
World origins are turned into the mesh's local frame in float64
(``origins - mesh.origin``) before any float32 conversion, so Lambert-93
magnitudes (≈ 7e6 m) cost no precision. A ray counts a hit at distance ``t``
when ``tmin < t <= tmax``. The default ``tmin`` is :data:`DEFAULT_TMIN` (1 mm).
It lets a ray leave a surface its origin lies on (e.g. a face centroid) when
``tmin · sin θ`` (θ: angle between ray and surface) exceeds the engine's
rounding of positions: float64 in numba (any θ above ~1e-8 degrees), float32
in Embree, about 6e-8 × the distance from the mesh origin (θ > 0.2° within
60 m of it, > 3.4° at 1 km). No ``tmin`` protects grazing rays: offset origins
off their surface along the normal, as :meth:`CityMesh.sample` does
(:data:`cimcity.mesh.SENSOR_OFFSET`, 5 cm), which dwarfs both engines'
rounding.

Performance
-----------
The numba engine traces rays in packets of 8 (Wald et al. 2001) wherever rays
are coherent, about twice as fast per core as one by one:
:func:`occluded_matrix` packs, for each direction, 8 consecutive sensors
lying within 16 m of each other (e.g. sensors of one facade in
:meth:`CityMesh.sample` order: keep sensors in spatially coherent order);
:func:`occluded` (256 rays or more) sorts each window of 8,192 consecutive
rays by direction cell (3.6° cube-map cells, stable, so rays of a cell keep
their input order) and packs runs of one cell within 16 m, then scatters the
answers back; other rays, and all of :func:`intersect`, go one by one. Both
give exactly the single-ray answers. Numba kernels compile on first use
(about 15 s of CPU, then cached on disk by numba). Both engines split the
work into tasks of about 32 k rays (sensor rows for the matrix) that a pool
of threads pulls one after the other (the kernels release the GIL), so a
core slowed down by other processes simply takes fewer; answers do not
depend on the number of threads. Measured rays per second are in
``benchmarks/bench_raycast.py``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from ._compat import has_module, import_optional
from .errors import EngineError, GeometryError, InputError

__all__ = [
    "DEFAULT_TMIN",
    "ENGINES",
    "QUERIES",
    "AUTO_ENGINES",
    "available_engines",
    "resolve_engine",
    "prepare",
    "occluded",
    "intersect",
    "occluded_matrix",
    "unpack_matrix",
]

#: engine names accepted by ``engine=``
ENGINES = ("auto", "numba", "embree")
#: query kinds: :func:`occluded`, :func:`intersect`, :func:`occluded_matrix`
QUERIES = ("occluded", "intersect", "matrix")
#: engine ``"auto"`` picks per query when embreex is installed (measured by
#: ``benchmarks/bench_raycast.py``, see module docstring)
AUTO_ENGINES = {"occluded": "embree", "intersect": "embree", "matrix": "numba"}
#: default start distance of rays along their direction [m] (see module docstring)
DEFAULT_TMIN = 1e-3
#: rays traced per chunk by :func:`occluded_matrix` (bounds Embree's ray arrays
#: to about 32 bytes x this, and sets the granularity of ``progress`` calls)
DEFAULT_CHUNK_RAYS = 1 << 21
#: rays per Embree task (each task is one embreex ``run`` call on one thread)
_EMBREE_TASK = 1 << 15
#: :func:`occluded` (numba) groups at least this many rays by direction into
#: packets; fewer are traced one by one in input order
_SORT_MIN_RAYS = 256
#: rays (or sensor × direction pairs) per numba task: one kernel call on one
#: pool thread (a few ms: dispatch costs ~0.1 %, threads stay balanced)
_NUMBA_TASK = 1 << 15
#: sensors traced together direction by direction in the numba matrix (8
#: packets: their BVH nodes stay in cache across directions)
_MATRIX_BLOCK = 64
#: float32 carries Embree's ray distances: larger tmax is "no limit"
_EMBREE_INF = 1e37

#: face count limit of the numba BVH node format (leaf offsets on 27 bits)
_MAX_FACES = 2**27

_CACHE_BVH = "raycast.bvh"
_CACHE_EMBREE = "raycast.embree"


# -- engines -----------------------------------------------------------------------------
_HAS_EMBREE: bool | None = None


def _embree_available() -> bool:
    global _HAS_EMBREE
    if _HAS_EMBREE is None:
        _HAS_EMBREE = has_module("embreex.rtcore_scene")
    return _HAS_EMBREE


def available_engines() -> tuple[str, ...]:
    """Concrete engines usable in this environment, fastest first."""
    return ("embree", "numba") if _embree_available() else ("numba",)


def resolve_engine(engine: str = "auto", query: str = "occluded") -> str:
    """The concrete engine (``"numba"`` or ``"embree"``) that ``engine`` selects
    for one kind of query.

    Parameters
    ----------
    engine : {"auto", "numba", "embree"}
    query : {"occluded", "intersect", "matrix"}
        The query the engine is for (:func:`occluded`, :func:`intersect`,
        :func:`occluded_matrix`); only matters for ``"auto"``, which picks
        :data:`AUTO_ENGINES` ``[query]`` when ``embreex`` is installed, else
        ``"numba"`` (see module docstring).

    Raises
    ------
    EngineError
        ``engine`` is not one of :data:`ENGINES`.
    InputError
        ``query`` is not one of :data:`QUERIES`.
    MissingDependencyError
        ``engine="embree"`` but ``embreex`` is not installed.
    """
    if not isinstance(engine, str) or engine not in ENGINES:
        raise EngineError(
            f"unknown ray engine {engine!r}; expected one of "
            + ", ".join(repr(e) for e in ENGINES)
        )
    if query not in QUERIES:
        raise InputError(
            f"unknown ray query {query!r}; expected one of "
            + ", ".join(repr(q) for q in QUERIES)
        )
    if engine == "auto":
        return AUTO_ENGINES[query] if _embree_available() else "numba"
    if engine == "embree":
        import_optional("embreex.rtcore_scene")
    return engine


def _threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _workers(name: str) -> int:
    """Threads tracing for an engine: numba's thread count for ``"numba"``
    (``NUMBA_NUM_THREADS``, ``numba.set_num_threads``), one per core for
    Embree."""
    if name == "numba":
        import numba

        return max(1, int(numba.get_num_threads()))
    return _threads()


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool(workers: int) -> ThreadPoolExecutor:
    pool = _POOLS.get(workers)
    if pool is None:
        pool = ThreadPoolExecutor(workers, thread_name_prefix="cimcity-ray")
        _POOLS[workers] = pool
    return pool


def _tasks(n: int, unit: int, workers: int, align: int = 1) -> list[slice]:
    """Split ``n`` items into slices of about ``unit`` items (at least one per
    worker when ``n`` allows), bounds on multiples of ``align``: the pool's
    threads pull them one after the other, so a core slowed down by other
    processes, or given the expensive rays, simply takes fewer."""
    n_tasks = max(1, min(-(-n // align), max(-(-n // unit), workers)))
    cuts = np.round(np.linspace(0, n, n_tasks + 1) / align) * align
    bounds = np.unique(np.clip(np.append(cuts, [0, n]), 0, n).astype(np.int64))
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _map(fn, slices, workers: int):
    """Run ``fn`` on each slice on ``workers`` pool threads (embreex and our
    numba kernels release the GIL); yields the results in order."""
    if len(slices) == 1 or workers == 1:
        return map(fn, slices)
    return _pool(workers).map(fn, slices)


def _rows_done(results, n, rows, progress):
    """Drain ``results`` (the last row done by each task, in order), calling
    ``progress(done, n)`` each time the done rows pass a multiple of ``rows``
    and at the end."""
    reported = 0
    for done in results:
        if progress is not None and (done // rows > reported // rows or done == n):
            progress(done, n)
            reported = done


# -- acceleration structures ----------------------------------------------------------
class _Bvh(NamedTuple):
    nodes: np.ndarray  # (inner, 16) float32, see _kernels.bvh.pack_nodes
    refs: np.ndarray  # int32 view of nodes
    tri: np.ndarray  # (m, 9) float64 local corners, BVH order
    tri_face: np.ndarray  # (m,) int64 original face index
    depth: int
    n_faces: int
    n_vertices: int


def _check_mesh(mesh) -> None:
    for attr in ("vertices", "faces", "origin", "cache"):
        if not hasattr(mesh, attr):
            raise InputError(
                f"mesh must be a cimcity.mesh.CityMesh (e.g. scene.mesh()); got "
                f"{type(mesh).__name__} without .{attr}"
            )


def _bvh(mesh) -> _Bvh:
    return mesh.cache.get(_CACHE_BVH, mesh.token, lambda: _build_bvh(mesh))


def _build_bvh(mesh) -> _Bvh:
    from ._kernels import bvh as kernels

    if len(mesh.faces) >= _MAX_FACES:
        raise InputError(
            f"mesh has {len(mesh.faces)} faces; the numba engine takes at most "
            f"{_MAX_FACES - 1} (split the scene into tiles, or use engine='embree')"
        )
    if not np.isfinite(mesh.vertices).all():
        raise GeometryError("mesh vertices must be finite (found NaN or inf)")
    tri = np.ascontiguousarray(mesh.vertices[mesh.faces], dtype=np.float64)
    box, first, count, order, depth = kernels.build(tri.reshape(-1, 3, 3))
    nodes = kernels.pack_nodes(box, first, count)
    entry = _Bvh(
        nodes,
        nodes.view(np.int32),
        np.ascontiguousarray(tri.reshape(-1, 9)[order]),
        np.ascontiguousarray(order, dtype=np.int64),
        int(depth) + 1,  # pack_nodes may add a parent above a leaf root
        len(mesh.faces),
        len(mesh.vertices),
    )
    return entry


class _Embree(NamedTuple):
    scene: object
    n_faces: int
    n_vertices: int


def _embree(mesh) -> _Embree:
    return mesh.cache.get(_CACHE_EMBREE, mesh.token, lambda: _build_embree(mesh))


def _build_embree(mesh) -> _Embree:
    if not np.isfinite(mesh.vertices).all():
        raise GeometryError("mesh vertices must be finite (found NaN or inf)")
    rtcs = import_optional("embreex.rtcore_scene")
    construction = import_optional("embreex.mesh_construction")
    scene = rtcs.EmbreeScene(robust=True)
    construction.TriangleMesh(
        scene,
        np.ascontiguousarray(mesh.vertices, dtype=np.float32),
        np.ascontiguousarray(mesh.faces, dtype=np.int32),
    )
    # commit now, from one thread (embreex commits lazily on the first run call)
    one = np.zeros((1, 3), np.float32)
    scene.run(one, one + np.float32(1.0), query="OCCLUDED")
    return _Embree(scene, len(mesh.faces), len(mesh.vertices))


def prepare(mesh, engine: str = "auto", query: str = "occluded") -> str:
    """Build (and cache on ``mesh``) the acceleration structure of an engine.

    Queries build it on first use anyway; call this to keep the build out of a
    timed section or to fail early on a missing engine. Numba kernels are
    compiled (or loaded from numba's cache) on the first query, not here.

    Parameters
    ----------
    mesh : CityMesh
    engine : {"auto", "numba", "embree"}
    query : {"occluded", "intersect", "matrix"}
        The query to prepare for (``"auto"`` picks per query, see
        :func:`resolve_engine`).

    Returns
    -------
    str
        The concrete engine used (``"numba"`` or ``"embree"``).
    """
    _check_mesh(mesh)
    name = resolve_engine(engine, query)
    if len(mesh.faces):
        (_embree if name == "embree" else _bvh)(mesh)
    return name


# -- input checks ------------------------------------------------------------------------
def _points(name, value, allow_single=True) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numbers of shape (n, 3); got {exc}") from exc
    if allow_single and a.shape == (3,):
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != 3:
        raise InputError(f"{name} must have shape (n, 3) or (3,); got {a.shape}")
    bad = ~np.isfinite(a).all(axis=1)
    if bad.any():
        raise InputError(
            f"{name} must be finite; {int(bad.sum())} row(s) hold NaN or inf "
            f"(first at row {int(np.flatnonzero(bad)[0])})"
        )
    return a


def _unit(name, d) -> np.ndarray:
    length = np.sqrt(np.einsum("ij,ij->i", d, d))
    zero = ~(length > 1e-300)
    if zero.any():
        raise InputError(
            f"{name} must be non-zero vectors; {int(zero.sum())} are zero "
            f"(first at row {int(np.flatnonzero(zero)[0])})"
        )
    return np.ascontiguousarray(d / length[:, None])


def _limits(tmin, tmax, n) -> tuple[float, np.ndarray]:
    tmin = DEFAULT_TMIN if tmin is None else tmin
    try:
        tmin = float(tmin)
    except (TypeError, ValueError) as exc:
        raise InputError(f"tmin must be a distance in metres; got {tmin!r}") from exc
    if not (np.isfinite(tmin) and tmin >= 0):
        raise InputError(f"tmin must be finite and >= 0 [m]; got {tmin!r}")
    try:
        t = np.asarray(tmax, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"tmax must be a distance in metres; got {tmax!r}") from exc
    if t.ndim == 0:
        t = t.reshape(1)
    elif t.shape != (n,):
        raise InputError(f"tmax must be a scalar or have shape ({n},); got {t.shape}")
    bad = np.isnan(t) | (t <= tmin)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"tmax must be greater than tmin ({tmin} m) and not NaN; got {t[i]!r}"
            f" ({int(bad.sum())} value(s))"
        )
    return tmin, np.ascontiguousarray(t)


def _shapes(name, value) -> np.ndarray:
    """(k, 3) float64 array from (k, 3) or (3,) input (values not checked)."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numbers of shape (n, 3); got {exc}") from exc
    if a.shape == (3,):
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != 3:
        raise InputError(f"{name} must have shape (n, 3) or (3,); got {a.shape}")
    return np.ascontiguousarray(a)


def _ray_arrays(mesh, origins, directions):
    """Shape-checked origins and directions (one row broadcasts) and ray count."""
    _check_mesh(mesh)
    o = _shapes("origins", origins)
    d = _shapes("directions", directions)
    if len(o) != len(d) and len(o) != 1 and len(d) != 1:
        raise InputError(
            f"origins and directions must have the same number of rows (or one of "
            f"them a single row); got {len(o)} and {len(d)}"
        )
    n = max(len(o), len(d)) if len(o) and len(d) else 0
    return o, d, n


def _rays(mesh, origins, directions):
    """Validated local origins and unit directions, both (n, 3) float64."""
    o, d, n = _ray_arrays(mesh, origins, directions)
    o = _points("origins", o)
    d = _unit("directions", _points("directions", d))
    o_local = np.broadcast_to(o - mesh.origin, (n, 3))
    return np.ascontiguousarray(o_local), np.ascontiguousarray(
        np.broadcast_to(d, (n, 3))
    )


# -- Embree path ----------------------------------------------------------------------
def _embree_trace(scene, o32, d32, far, query):
    """One embreex call on float32 local rays already started at ``tmin``."""
    # embreex writes hit distances into an array ``dists``: give it its own
    dists = far if isinstance(far, float) else far.copy()
    if query == "OCCLUDED":
        return scene.run(o32, d32, dists=dists, query="OCCLUDED") != -1
    out = scene.run(o32, d32, dists=dists, output=1)
    return out["tfar"], out["primID"]


def _embree_flat(mesh, o, d, n, tmin, tmax, query):
    """Embree query on ``n`` flat rays (``o``/``d`` with ``n`` or one row).

    Each task turns its slice into float32 local rays (numba, GIL released) and
    traces it, so preparation runs on all cores too."""
    from ._kernels import bvh as kernels

    scene = _embree(mesh).scene
    if len(tmax) == 1:
        far_all = float(min(tmax[0] - tmin, _EMBREE_INF))
    else:
        far_all = np.minimum(tmax - tmin, _EMBREE_INF).astype(np.float32)

    def run(sl):
        k = sl.stop - sl.start
        o32 = np.empty((k, 3), np.float32)
        d32 = np.empty((k, 3), np.float32)
        bad = kernels.embree_rays(
            o[sl] if len(o) > 1 else o,
            d[sl] if len(d) > 1 else d,
            mesh.origin,
            tmin,
            o32,
            d32,
        )
        far = far_all if isinstance(far_all, float) else far_all[sl]
        return bad, _embree_trace(scene, o32, d32, far, query)

    workers = _workers("embree")
    parts = list(_map(run, _tasks(n, _EMBREE_TASK, workers), workers))
    if sum(p[0] for p in parts):
        _rays(mesh, o, d)  # raises the detailed InputError
    if query == "OCCLUDED":
        return np.concatenate([p[1] for p in parts])
    tfar = np.concatenate([p[1][0] for p in parts])
    prim = np.concatenate([p[1][1] for p in parts]).astype(np.int64)
    hit = prim >= 0
    dist = np.where(hit, tfar.astype(np.float64) + tmin, np.inf)
    return dist, np.where(hit, prim, -1)


def _embree_matrix(scene, o, dirs, nrm, shift, tmin, tmax, bits, rows, progress):
    """Embree visibility matrix of rows ``o`` into ``bits`` (zeroed).

    Tasks of about :data:`_EMBREE_TASK` rays (whole rows) each build their
    facing pairs' float32 rays (numba, GIL released), trace them and set the
    bits; all tasks go to the pool at once (no barrier per chunk), and
    ``progress`` is called each time the finished prefix of rows passes a
    multiple of ``rows``."""
    from ._kernels import bvh as kernels

    nd = len(dirs)
    far = float(min(tmax - tmin, _EMBREE_INF))

    def run(sl):
        k = (sl.stop - sl.start) * nd
        o32 = np.empty((k, 3), np.float32)
        d32 = np.empty((k, 3), np.float32)
        pair = np.empty((k, 2), np.int32)
        rows_nrm = nrm[sl] if len(nrm) else nrm
        m = kernels.embree_matrix_rays(
            o[sl], dirs, rows_nrm, shift, tmin, o32, d32, pair, bits[sl]
        )
        if m:
            hit = _embree_trace(scene, o32[:m], d32[:m], far, "OCCLUDED")
            kernels.set_pair_bits(pair[:m], hit, bits[sl])
        return sl.stop

    workers = _workers("embree")
    tasks = _tasks(len(o), max(1, _EMBREE_TASK // nd), workers)
    _rows_done(_map(run, tasks, workers), len(o), rows, progress)


# -- public queries ----------------------------------------------------------------------
def occluded(mesh, origins, directions, engine="auto", tmin=None, tmax=np.inf):
    """Any-hit query: is each ray blocked by the mesh?

    Parameters
    ----------
    mesh : CityMesh
        Occluders (e.g. ``scene.mesh()``).
    origins : (n, 3) or (3,) float64
        Ray origins, world coordinates in the scene CRS [m].
    directions : (n, 3) or (3,) float64
        Ray directions (any non-zero length; normalised here). One row of
        either argument is broadcast against the other.
    engine : {"auto", "numba", "embree"}
        See module docstring.
    tmin : float, optional
        Hits closer than this are ignored [m]; default :data:`DEFAULT_TMIN`.
    tmax : float or (n,) float64
        Hits farther than this are ignored [m] (e.g. the distance to a target
        point for point-to-point visibility); default no limit.

    Returns
    -------
    (n,) bool
        True where a face is hit at ``tmin < t <= tmax``.

    Raises
    ------
    InputError
        Wrong shapes, NaN/inf coordinates, zero directions, ``tmax <= tmin``.
    EngineError, MissingDependencyError
        Unknown engine, or ``"embree"`` without ``embreex``.
    """
    name = resolve_engine(engine, "occluded")
    o, d, n = _ray_arrays(mesh, origins, directions)
    tmin, tmax = _limits(tmin, tmax, n)
    if n == 0 or len(mesh.faces) == 0:
        _rays(mesh, o, d)  # value checks
        return np.zeros(n, bool)
    if name == "embree":
        return _embree_flat(mesh, o, d, n, tmin, tmax, "OCCLUDED")
    from ._kernels import bvh as kernels

    b = _bvh(mesh)
    out = np.empty(n, np.bool_)
    args = (b.nodes, b.refs, b.tri, b.depth, mesh.origin, o, d, tmin, tmax, out)
    if n < _SORT_MIN_RAYS:
        bad = kernels.occluded_rays(*args, 0, n)
    else:
        workers = _workers("numba")
        n_windows = -(-n // kernels.WINDOW)
        tasks = _tasks(n_windows, max(1, _NUMBA_TASK // kernels.WINDOW), workers)
        bad = sum(
            _map(
                lambda sl: kernels.occluded_grouped(*args, sl.start, sl.stop),
                tasks,
                workers,
            )
        )
    if bad:
        _rays(mesh, o, d)  # raises the detailed InputError
    return out


def intersect(mesh, origins, directions, engine="auto", tmin=None, tmax=np.inf):
    """Closest-hit query: distance to and face of the first surface along each ray.

    Parameters
    ----------
    mesh : CityMesh
    origins : (n, 3) or (3,) float64
        Ray origins, world coordinates in the scene CRS [m].
    directions : (n, 3) or (3,) float64
        Ray directions (normalised here).
    engine : {"auto", "numba", "embree"}
    tmin : float, optional
        Hits closer than this are ignored [m]; default :data:`DEFAULT_TMIN`.
    tmax : float or (n,) float64
        Hits farther than this are ignored [m].

    Returns
    -------
    distances : (n,) float64
        Distance from the origin to the hit along the unit direction [m]; inf
        when nothing is hit. Hit points are ``origins + distances * unit
        directions``.
    faces : (n,) int64
        Index of the hit face in ``mesh.faces`` (use ``mesh.face_kind``,
        ``mesh.face_building_id`` ...); -1 when nothing is hit.

    Notes
    -----
    When two faces are hit at the same distance (a ray through a shared edge),
    the engines may report different faces of that edge.
    """
    name = resolve_engine(engine, "intersect")
    o, d, n = _ray_arrays(mesh, origins, directions)
    tmin, tmax = _limits(tmin, tmax, n)
    if n == 0 or len(mesh.faces) == 0:
        _rays(mesh, o, d)  # value checks
        return np.full(n, np.inf), np.full(n, -1, np.int64)
    if name == "embree":
        return _embree_flat(mesh, o, d, n, tmin, tmax, "INTERSECT")
    from ._kernels import bvh as kernels

    b = _bvh(mesh)
    dist = np.empty(n)
    face = np.empty(n, np.int64)
    args = (b.nodes, b.refs, b.tri, b.tri_face, b.depth, mesh.origin, o, d, tmin)
    args = (*args, tmax, dist, face)
    workers = _workers("numba")
    tasks = _tasks(n, _NUMBA_TASK, workers)
    bad = sum(
        _map(
            lambda sl: kernels.intersect_rays(*args, sl.start, sl.stop), tasks, workers
        )
    )
    if bad:
        _rays(mesh, o, d)
    return dist, face


def occluded_matrix(
    mesh,
    origins,
    directions,
    normals=None,
    engine="auto",
    tmin=None,
    tmax=np.inf,
    packed=True,
    chunk_rays=DEFAULT_CHUNK_RAYS,
    progress=None,
):
    """Visibility matrix: any-hit for every origin × direction pair.

    Made for sensors × sky patches / sun positions: ray ``(i, j)`` starts at
    ``origins[i]`` and goes along ``directions[j]``. The numba engine traces
    the pairs straight from the two arrays in chunks of
    ``max(1, chunk_rays // d)`` rows (packets of neighbouring origins per
    direction, see module docstring) and allocates nothing per ray; the
    Embree engine hands tasks of about 32 k rays (whole rows) to one thread
    per core, each building its float32 rays (about 32 bytes per traced pair,
    1 MB per task in flight). The result takes ``n × ceil(d / 8)`` bytes
    (e.g. 1 M sensors × 145 patches: 19 MB packed).

    Parameters
    ----------
    mesh : CityMesh
    origins : (n, 3) float64
        Sensor positions, world coordinates in the scene CRS [m]; offset them
        off their surface (see module docstring).
    directions : (d, 3) float64
        Directions towards the sky patches / sun (normalised here).
    normals : (n, 3) float64, optional
        Sensor normals. When given, pairs with ``normal · direction <= 0`` are
        reported blocked without tracing (the sensor's own surface faces away
        from that direction), which halves the work on facades.
    engine : {"auto", "numba", "embree"}
    tmin : float, optional
        Hits closer than this are ignored [m]; default :data:`DEFAULT_TMIN`.
    tmax : float
        Hits farther than this are ignored [m]; default no limit.
    packed : bool
        Return bits packed 8 directions per byte (default) or a bool matrix.
    chunk_rays : int
        Rays per chunk: ``progress`` is called at most once per chunk of rows
        (and once at the end).
    progress : callable, optional
        Called as ``progress(done, total)`` (origins done so far, ``n``;
        increasing, the last call ``(n, n)``), e.g. to advance a progress bar.

    Returns
    -------
    (n, ceil(d / 8)) uint8 when ``packed``, else (n, d) bool
        Packed layout: pair ``(i, j)`` is bit ``j % 8`` (least significant bit
        first) of byte ``[i, j // 8]``, i.e.
        ``np.packbits(blocked, axis=1, bitorder="little")``; padding bits past
        ``d`` are 0. A set bit means **blocked** (not visible). Recover the
        bool matrix with :func:`unpack_matrix` or
        ``np.unpackbits(bits, axis=1, count=d, bitorder="little").astype(bool)``.
        Visible fraction of sensor ``i`` over patch weights ``w``:
        ``1 - unpack_matrix(bits, d)[i] @ w / w.sum()``.
    """
    name = resolve_engine(engine, "matrix")
    _check_mesh(mesh)
    o = _points("origins", origins, allow_single=False)
    dirs = _unit("directions", _points("directions", directions, allow_single=False))
    n, nd = len(o), len(dirs)
    nrm = np.zeros((0, 3))
    if normals is not None:
        nrm = _points("normals", normals, allow_single=False)
        if nrm.shape != o.shape:
            raise InputError(
                f"normals must have the same shape as origins {o.shape}; got {nrm.shape}"
            )
    tmin, tmax_arr = _limits(tmin, tmax, 1)
    if tmax_arr.shape != (1,):  # pragma: no cover - _limits with n=1
        raise InputError("tmax must be a scalar for occluded_matrix")
    try:
        chunk_rays = int(chunk_rays)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"chunk_rays must be a positive integer; got {chunk_rays!r}"
        ) from exc
    if chunk_rays < 1:
        raise InputError(f"chunk_rays must be a positive integer; got {chunk_rays}")
    n_bytes = (nd + 7) // 8
    bits = np.zeros((n, n_bytes), np.uint8)
    if n == 0 or nd == 0:
        return bits if packed else np.zeros((n, nd), bool)
    rows = max(1, chunk_rays // nd)
    if len(mesh.faces) == 0:
        if len(nrm):
            bits = np.packbits(nrm @ dirs.T <= 0.0, axis=1, bitorder="little")
        if progress is not None:
            progress(n, n)
        return bits if packed else unpack_matrix(bits, nd)

    from ._kernels import bvh as kernels

    if name == "embree":
        scene = _embree(mesh).scene
        _embree_matrix(
            scene, o, dirs, nrm, mesh.origin, tmin, tmax_arr[0], bits, rows, progress
        )
        return bits if packed else unpack_matrix(bits, nd)
    b = _bvh(mesh)
    dset, kset = kernels.directions_setup(dirs)
    args = (b.nodes, b.refs, b.tri, b.depth, mesh.origin, o, dirs, nrm, dset, kset)
    args = (*args, tmin, float(tmax_arr[0]), _MATRIX_BLOCK, kernels.PACKET, bits)

    def run(sl):
        kernels.occluded_matrix_bits(*args, sl.start, sl.stop)
        return sl.stop

    workers = _workers("numba")
    rows_task = max(1, _NUMBA_TASK // nd)
    tasks = _tasks(n, rows_task, workers, align=min(_MATRIX_BLOCK, rows_task))
    _rows_done(_map(run, tasks, workers), n, rows, progress)
    return bits if packed else unpack_matrix(bits, nd)


def unpack_matrix(bits, n_directions: int) -> np.ndarray:
    """Bool visibility matrix from the packed output of :func:`occluded_matrix`.

    Parameters
    ----------
    bits : (n, ceil(d / 8)) uint8
    n_directions : int
        ``d``, the number of directions.

    Returns
    -------
    (n, d) bool
        True where the pair is blocked.
    """
    bits = np.asarray(bits)
    if bits.dtype != np.uint8 or bits.ndim != 2 or bits.shape[1] * 8 < n_directions:
        raise InputError(
            f"bits must be a (n, >= {(n_directions + 7) // 8}) uint8 array; got "
            f"{bits.dtype} {bits.shape}"
        )
    return np.unpackbits(bits, axis=1, count=n_directions, bitorder="little").astype(
        bool
    )
