"""The public ray queries: one interface over every engine.

Each query validates its input (:mod:`cimcity.raycast.rays`), resolves the
engine (:mod:`cimcity.raycast.engines`) and hands the arrays to
the :class:`~cimcity.raycast.engines.Engine` of
:mod:`cimcity.raycast.numba_engine` or :mod:`cimcity.raycast.embree_engine`.
See :mod:`cimcity.raycast` for the engines, precision and performance.
"""

from __future__ import annotations

import numpy as np

from .._compat import keyword_only_after
from ..errors import InputError
from .embree_engine import ENGINE as EMBREE
from .engines import resolve_engine
from .numba_engine import ENGINE as NUMBA
from .rays import check_mesh, limits, local_rays, points, ray_arrays, unit

__all__ = [
    "DEFAULT_CHUNK_RAYS",
    "prepare",
    "occluded",
    "intersect",
    "occluded_matrix",
    "unpack_matrix",
]

#: rays traced per chunk by :func:`occluded_matrix` (bounds Embree's ray arrays
#: to about 32 bytes x this, and sets the granularity of ``progress`` calls)
DEFAULT_CHUNK_RAYS = 1 << 21

_ENGINES = {"numba": NUMBA, "embree": EMBREE}


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
        :func:`~cimcity.raycast.resolve_engine`).

    Returns
    -------
    str
        The concrete engine used (``"numba"`` or ``"embree"``).
    """
    check_mesh(mesh)
    name = resolve_engine(engine, query)
    if len(mesh.faces):
        _ENGINES[name].prepare(mesh)
    return name


@keyword_only_after(3)
def occluded(mesh, origins, directions, *, engine="auto", tmin=None, tmax=np.inf):
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
        See :mod:`cimcity.raycast`.
    tmin : float, optional
        Hits closer than this are ignored [m]; default
        :data:`~cimcity.raycast.DEFAULT_TMIN`.
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
    o, d, n = ray_arrays(mesh, origins, directions)
    tmin, tmax = limits(tmin, tmax, n)
    if n == 0 or len(mesh.faces) == 0:
        local_rays(mesh, o, d)  # value checks
        return np.zeros(n, bool)
    return _ENGINES[name].occluded(mesh, o, d, n, tmin, tmax)


@keyword_only_after(3)
def intersect(mesh, origins, directions, *, engine="auto", tmin=None, tmax=np.inf):
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
        Hits closer than this are ignored [m]; default
        :data:`~cimcity.raycast.DEFAULT_TMIN`.
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
    o, d, n = ray_arrays(mesh, origins, directions)
    tmin, tmax = limits(tmin, tmax, n)
    if n == 0 or len(mesh.faces) == 0:
        local_rays(mesh, o, d)  # value checks
        return np.full(n, np.inf), np.full(n, -1, np.int64)
    return _ENGINES[name].intersect(mesh, o, d, n, tmin, tmax)


@keyword_only_after(4)
def occluded_matrix(
    mesh,
    origins,
    directions,
    normals=None,
    *,
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
    direction, see :mod:`cimcity.raycast`) and allocates nothing per ray; the
    Embree engine hands tasks of about 32 k rays (whole rows) to one thread
    per core, each building its float32 rays (about 32 bytes per traced pair,
    1 MB per task in flight). The result takes ``n × ceil(d / 8)`` bytes
    (e.g. 1 M sensors × 145 patches: 19 MB packed).

    Parameters
    ----------
    mesh : CityMesh
    origins : (n, 3) float64
        Sensor positions, world coordinates in the scene CRS [m]; offset them
        off their surface (see :mod:`cimcity.raycast`).
    directions : (d, 3) float64
        Directions towards the sky patches / sun (normalised here).
    normals : (n, 3) float64, optional
        Sensor normals. When given, pairs with ``normal · direction <= 0`` are
        reported blocked without tracing (the sensor's own surface faces away
        from that direction), which halves the work on facades.
    engine : {"auto", "numba", "embree"}
    tmin : float, optional
        Hits closer than this are ignored [m]; default
        :data:`~cimcity.raycast.DEFAULT_TMIN`.
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
    check_mesh(mesh)
    o = points("origins", origins, allow_single=False)
    dirs = unit("directions", points("directions", directions, allow_single=False))
    n, nd = len(o), len(dirs)
    nrm = _normals(normals, o)
    tmin, tmax_arr = limits(tmin, tmax, 1)
    if tmax_arr.shape != (1,):  # pragma: no cover - limits with n=1
        raise InputError("tmax must be a scalar for occluded_matrix")
    chunk_rays = _chunk_rays(chunk_rays)
    bits = np.zeros((n, (nd + 7) // 8), np.uint8)
    if n == 0 or nd == 0:
        return bits if packed else np.zeros((n, nd), bool)
    rows = max(1, chunk_rays // nd)
    if len(mesh.faces) == 0:
        if len(nrm):
            bits = np.packbits(nrm @ dirs.T <= 0.0, axis=1, bitorder="little")
        if progress is not None:
            progress(n, n)
        return bits if packed else unpack_matrix(bits, nd)
    _ENGINES[name].occluded_matrix(
        mesh, o, dirs, nrm, tmin, tmax_arr[0], bits, rows, progress
    )
    return bits if packed else unpack_matrix(bits, nd)


def _normals(normals, o) -> np.ndarray:
    """Checked (n, 3) sensor normals, or a (0, 3) array for none."""
    if normals is None:
        return np.zeros((0, 3))
    nrm = points("normals", normals, allow_single=False)
    if nrm.shape != o.shape:
        raise InputError(
            f"normals must have the same shape as origins {o.shape}; got {nrm.shape}"
        )
    return nrm


def _chunk_rays(chunk_rays) -> int:
    try:
        chunk_rays = int(chunk_rays)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"chunk_rays must be a positive integer; got {chunk_rays!r}"
        ) from exc
    if chunk_rays < 1:
        raise InputError(f"chunk_rays must be a positive integer; got {chunk_rays}")
    return chunk_rays


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
