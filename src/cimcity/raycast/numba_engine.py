"""The ``"numba"`` ray engine: cimcity's own BVH, built and traced by numba kernels.

The binary BVH (:mod:`cimcity._kernels.bvh_build`) and its 8-wide collapse
of least SAH cost (:mod:`cimcity._kernels.bvh_collapse`), boxes enlarged for
conservative float32 node tests (:mod:`cimcity._kernels.bvh_wide32`), are
built on first use and kept in
``mesh.cache`` under ``"raycast.bvh"`` and ``"raycast.bvh8"``, keyed on
``mesh.token``. Queries hand ranges of rays to the kernels of
:mod:`cimcity._kernels.bvh_wide32` (flat rays one by one, 8 child boxes per
SIMD test: :func:`occluded` and :func:`intersect`) and
:mod:`cimcity._kernels.bvh_packets` (packets of 8 neighbouring sensors per
direction on the binary BVH: the visibility matrix) on a pool of threads
(:mod:`cimcity.raycast.tasks`). The inputs come validated by
:mod:`cimcity.raycast.api`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._kernels import (
    bvh_build,
    bvh_collapse,
    bvh_packets,
    bvh_traverse,
    bvh_wide32,
)
from ..errors import GeometryError, InputError
from .engines import Engine
from .rays import local_rays
from .tasks import report_rows, run_all, split, worker_count

#: rays per task of :func:`occluded` and :func:`intersect`: one kernel call on
#: one pool thread
_TASK = 1 << 16
#: :func:`occluded` traces fewer rays in one call on the calling thread (the
#: pool's dispatch would cost more than the rays)
_ONE_CALL_RAYS = 256
#: sensor × direction pairs per task of :func:`occluded_matrix`: one kernel
#: call on one pool thread (a few ms: dispatch costs ~0.1 %, threads balanced)
_NUMBA_TASK = 1 << 15
#: sensors traced together direction by direction in the matrix (8 packets:
#: their BVH nodes stay in cache across directions)
_MATRIX_BLOCK = 64
#: face count limit of the BVH node format (leaf offsets on 27 bits)
_MAX_FACES = 2**27

CACHE_KEY = "raycast.bvh"
#: ``mesh.cache`` key of the 8-wide BVH (:func:`wide_bvh`)
WIDE_CACHE_KEY = "raycast.bvh8"


class Bvh(NamedTuple):
    """A mesh's BVH in the traversal layout."""

    nodes: np.ndarray  # (inner, 16) float32, see _kernels.bvh_build.pack_nodes
    refs: np.ndarray  # int32 view of nodes
    tri: np.ndarray  # (m, 9) float64 local corners, BVH order
    tri_face: np.ndarray  # (m,) int64 original face index
    depth: int
    n_faces: int
    n_vertices: int


def bvh(mesh) -> Bvh:
    """The mesh's BVH, built on first use and cached on ``mesh.cache``."""
    return mesh.cache.get(CACHE_KEY, mesh.token, lambda: _build(mesh))


class WideBvh(NamedTuple):
    """A mesh's 8-wide BVH for flat rays (:mod:`cimcity._kernels.bvh_wide32`):
    the binary BVH collapsed with merged leaves, boxes enlarged for the
    float32 node test, and its triangles in blocks of four. Rays outside the
    float32 test's domain take the binary BVH (:func:`bvh`)."""

    wide32: np.ndarray  # SAH-optimal collapse (bvh_collapse), enlarged boxes (bvh_wide32)
    bound: float  # origin bound of the float32 test [m]
    refs32: np.ndarray  # int32 view of wide32 (leaves as block ranges)
    blocks: np.ndarray  # (n, 40) float64 triangles 4 a block and their faces (leaf_blocks)
    block_tri: np.ndarray  # (n,) BVH-order triangle of each block's lane 0
    depth32: int

    def f32(self):
        """The float32 path's arguments of the ``bvh_wide32`` ray kernels."""
        return (self.wide32, self.refs32, self.blocks, self.depth32)


def wide_bvh(mesh) -> WideBvh:
    """The mesh's 8-wide BVH (collapsed from :func:`bvh` at least SAH cost,
    leaves of up to :data:`~cimcity._kernels.bvh_collapse.MAX_LEAF` triangles
    in blocks of four, boxes enlarged for the float32 node test), built on
    first use and cached on ``mesh.cache``."""

    def build():
        b = bvh(mesh)
        merged, depth32, _ = bvh_collapse.collapse_sah(b.nodes)
        wide32, bound, _ = bvh_wide32.enlarge(merged)
        blocks, block_tri = bvh_wide32.leaf_blocks(wide32, b.tri, b.tri_face)
        return WideBvh(
            wide32, bound, wide32.view(np.int32), blocks, block_tri, depth32
        )

    return mesh.cache.get(WIDE_CACHE_KEY, mesh.token, build)


def _build(mesh) -> Bvh:
    if len(mesh.faces) >= _MAX_FACES:
        raise InputError(
            f"mesh has {len(mesh.faces)} faces; the numba engine takes at most "
            f"{_MAX_FACES - 1} (split the scene into tiles, or use engine='embree')"
        )
    if not np.isfinite(mesh.vertices).all():
        raise GeometryError("mesh vertices must be finite (found NaN or inf)")
    tri = np.ascontiguousarray(mesh.vertices[mesh.faces], dtype=np.float64)
    box, first, count, order, depth = bvh_build.build(tri.reshape(-1, 3, 3))
    nodes = bvh_build.pack_nodes(box, first, count)
    return Bvh(
        nodes,
        nodes.view(np.int32),
        np.ascontiguousarray(tri.reshape(-1, 9)[order]),
        np.ascontiguousarray(order, dtype=np.int64),
        int(depth) + 1,  # pack_nodes may add a parent above a leaf root
        len(mesh.faces),
        len(mesh.vertices),
    )


def _task(n: int, workers: int) -> int:
    """Rays per task: :data:`_TASK`, or fewer so that each worker gets at
    least 4 tasks (300,000 rays in 5 tasks on 2 threads left one idle for a
    fifth of the run)."""
    return max(bvh_packets.WINDOW, min(_TASK, -(-n // (4 * workers))))


def occluded(mesh, o, d, n, tmin, tmax) -> np.ndarray:
    """Any-hit of ``n`` rays (``o``/``d`` world (n or 1, 3), ``tmax`` (n or 1,)),
    traced one by one on the 8-wide BVH with float32 node tests
    (:func:`~cimcity._kernels.bvh_wide32.occluded_wide32_rays`) in input order.

    Rays that repeat a few directions (sensors x sky patches, one sun
    direction over many sensors) went as packets of neighbouring origins on
    the binary BVH until the flat traversal overtook them: on Paris 11e
    (2 threads) the flat rays ran 2.1x the packets on the sensor x direction
    pairs of a coarse-first solar study (14.4 against 6.8 M rays/s) and
    level or faster on sky rays sensor by sensor (18 against 16-18) and on
    3 M sensors along one sun direction (14-16 against 14-16); on a 40 x 40
    grid 34 against 28-32 and 23-31 against 18-29. Answers are the same
    either way (``tests/test_raycast.py``)."""
    b = bvh(mesh)
    w = wide_bvh(mesh)
    out = np.empty(n, np.bool_)
    args = (*w.f32(), b.nodes, b.refs, b.tri, b.depth, w.bound, mesh.origin)
    args = (*args, o, d, tmin, tmax, out)
    if n < _ONE_CALL_RAYS:
        bad = bvh_wide32.occluded_wide32_rays(*args, 0, n)
    else:
        workers = worker_count("numba")
        bad = sum(
            run_all(
                lambda sl: bvh_wide32.occluded_wide32_rays(*args, sl.start, sl.stop),
                split(n, _task(n, workers), workers),
                workers,
            )
        )
    if bad:
        local_rays(mesh, o, d)  # raises the detailed InputError
    return out


def intersect(mesh, o, d, n, tmin, tmax) -> tuple[np.ndarray, np.ndarray]:
    """Closest hit of ``n`` rays: distances [m] and face indices, traced one
    by one on the 8-wide BVH with float32 node tests
    (:func:`~cimcity._kernels.bvh_wide32.intersect_wide32_rays`) in input order.
    Distances are those of the binary traversal; where two triangles are hit
    at exactly the same distance (a ray through their shared edge, or two
    coincident faces) either face may be reported."""
    b = bvh(mesh)
    w = wide_bvh(mesh)
    dist = np.empty(n)
    face = np.empty(n, np.int64)
    workers = worker_count("numba")
    args = (*w.f32(), b.nodes, b.refs, b.tri, b.tri_face, b.depth, w.bound)
    args = (*args, mesh.origin, o, d, tmin, tmax, dist, face)
    bad = sum(
        run_all(
            lambda sl: bvh_wide32.intersect_wide32_rays(*args, sl.start, sl.stop),
            split(n, _task(n, workers), workers),
            workers,
        )
    )
    if bad:
        local_rays(mesh, o, d)
    return dist, face


def occluded_matrix(mesh, o, dirs, nrm, tmin, tmax, bits, rows, progress) -> None:
    """Visibility matrix of origins ``o`` × unit ``dirs`` into ``bits`` (zeroed),
    in packets of neighbouring sensors per direction; ``progress(done, n)``
    each time the finished prefix of rows passes a multiple of ``rows``."""
    n, nd = len(o), len(dirs)
    b = bvh(mesh)
    dset, kset = bvh_traverse.directions_setup(dirs)
    args = (b.nodes, b.refs, b.tri, b.depth, mesh.origin, o, dirs, nrm, dset, kset)
    args = (*args, tmin, float(tmax), _MATRIX_BLOCK, bvh_packets.PACKET, bits)

    def run(sl):
        bvh_packets.occluded_matrix_bits(*args, sl.start, sl.stop)
        return sl.stop

    workers = worker_count("numba")
    rows_task = max(1, _NUMBA_TASK // nd)
    parts = split(n, rows_task, workers, align=min(_MATRIX_BLOCK, rows_task))
    report_rows(run_all(run, parts, workers), n, rows, progress)


def prepare(mesh) -> None:
    """Build and cache both BVHs (binary: packets and the matrix; 8-wide:
    flat rays)."""
    bvh(mesh)
    wide_bvh(mesh)


#: the numba engine's entry points
ENGINE = Engine("numba", prepare, occluded, intersect, occluded_matrix)
