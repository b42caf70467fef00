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
    cimcity's own BVH (:mod:`cimcity.raycast.numba_engine`): binned-SAH build, ordered
    stack traversal, watertight ray–triangle test (Woop, Benthin & Wald 2013)
    in float64, ``nogil`` kernels run on ``numba.get_num_threads()`` threads
    (``NUMBA_NUM_THREADS``). Always available.
``"embree"``
    Intel Embree 4 through ``embreex`` (``pip install "cimcity[accel]"``,
    :mod:`cimcity.raycast.embree_engine`),
    robust (watertight) scene in float32 local coordinates; embreex traces one
    ray at a time but releases the GIL, so rays are split over one Python
    thread per core.
``"auto"`` (default)
    ``"numba"`` for every query (:data:`AUTO_ENGINES`, :func:`resolve_engine`,
    :mod:`cimcity.raycast.engines`): exact float64 answers, and as fast as
    Embree or faster on the work cimcity does (``benchmarks/bench_raycast.py``,
    2 cores, 1 M rays):

    * :func:`occluded_matrix`: packets of neighbouring sensors per direction
      trace sensor × sky-patch pairs 1.1-1.5 times as fast as raw embreex;
    * :func:`occluded` and :func:`intersect` on rays from building surfaces
      (sky and sun rays, views: coherent or not): 1.07-1.22 times raw
      embreex on 2 threads, and 1.2-1.4 times cimcity's Embree path;
    * on random rays from anywhere in a district (inside buildings and at
      street level): 1.07-1.18 times raw embreex on synthetic districts and
      1.02-1.04 on Paris 11e (medians of seven runs on 2 threads; single
      runs of that row have swung by 8 % with nothing changed), 1.16-1.4
      times cimcity's Embree path everywhere. ``engine="embree"`` stays available (float32, Intel's
      engine) but is not faster on any ray set measured.

    The rule does not depend on ``embreex`` being installed or on timing at
    run time, so results and their engine are reproducible.

Both engines return the same answer for every ray except rays that graze an
edge or a vertex, or whose hit lies within rounding of ``tmin``/``tmax`` (float32
rounding in Embree ≈ 1e-7 × the mesh extent, i.e. < 1 mm within 5 km of the
mesh origin); ``tests/test_raycast.py`` checks this ray by ray.

Acceleration structures are built on first use and kept in ``mesh.cache``
(``"raycast.bvh"``, ``"raycast.bvh8"``, ``"raycast.embree"``); :meth:`CityMesh.clear_cache` drops
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
off their surface along the normal, as :func:`cimcity.sun.sensors.sample` does
(:data:`cimcity.sun.sensors.SENSOR_OFFSET`, 5 cm), which dwarfs both engines'
rounding.

Performance
-----------
The numba engine's :func:`occluded_matrix` traces packets of 8 rays (Wald et
al. 2001): for each direction, 8 consecutive sensors lying within 16 m of
each other (e.g. sensors of one facade in :func:`cimcity.sun.sensors.sample`
order: keep sensors in spatially coherent order). Every :func:`occluded` and
:func:`intersect` ray is traced one by one, in input order, on an 8-wide
BVH (:mod:`cimcity._kernels.bvh_wide32`): the binary BVH collapsed into nodes
of 8 children whose 8 boxes one ray tests in a single SIMD instruction
stream (:mod:`cimcity._kernels.simd`, LLVM vector IR), nearest child first,
the other entered children prefetched from memory; which binary nodes
become wide nodes and which binary subtrees (up to 15 triangles) become
leaves is chosen for the least SAH cost (:mod:`cimcity._kernels.bvh_collapse`),
and a leaf's triangles are tested 4 at a time. The node test
runs in float32 (one fused multiply-add per plane) on boxes enlarged by a
few millimetres, proven enough for it to enter every box the exact float64
test enters; the triangle test is the float64 watertight one, lane by lane,
so any-hit answers and closest-hit distances are exactly the single-ray
ones (a ray hitting two triangles at the same distance, e.g. through their
shared edge or on two coincident party walls, may report either face). Numba kernels
compile on first use
(about 15 s of CPU, then cached on disk by numba). Both engines split the
work into tasks of about 32 k rays (sensor rows for the matrix) that a pool
of threads pulls one after the other (the kernels release the GIL), so a
core slowed down by other processes simply takes fewer; the last tasks
shrink so that the threads finish together; answers do not depend on the
number of threads. Measured rays per second are in
``benchmarks/bench_raycast.py``.

Layout
------
:mod:`~cimcity.raycast.api` (the queries), :mod:`~cimcity.raycast.engines`
(engine names and choice), :mod:`~cimcity.raycast.rays` (input checks),
:mod:`~cimcity.raycast.tasks` (work split over threads), one module per engine
(:mod:`~cimcity.raycast.numba_engine`, :mod:`~cimcity.raycast.embree_engine`);
kernels in :mod:`cimcity._kernels.bvh_build`, ``bvh_traverse``, ``bvh_packets``,
``bvh_wide`` and ``bvh_wide32`` (with ``simd``), ``bvh_sorted`` and ``embree_rays``.
"""

from __future__ import annotations

from .api import (
    DEFAULT_CHUNK_RAYS,
    intersect,
    occluded,
    occluded_matrix,
    prepare,
    unpack_matrix,
)
from .engines import (
    AUTO_ENGINES,
    ENGINES,
    QUERIES,
    available_engines,
    resolve_engine,
)
from .rays import DEFAULT_TMIN

__all__ = [
    "DEFAULT_TMIN",
    "DEFAULT_CHUNK_RAYS",
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
