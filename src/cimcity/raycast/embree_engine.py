"""The ``"embree"`` ray engine: Intel Embree 4 through ``embreex``.

A robust (watertight) Embree scene of the mesh in float32 local coordinates is
built on first use and kept in ``mesh.cache`` under ``"raycast.embree"``,
keyed on ``mesh.token``. embreex traces one ray at a time but releases the
GIL, so each task (:mod:`cimcity.raycast.tasks`) prepares its float32 rays
with the numba kernels of :mod:`cimcity._kernels.embree_rays` and traces them
on its own thread, one per core. ``embreex`` is an optional extra
(``pip install "cimcity[accel]"``), imported only here and only when used.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._compat import import_optional
from .._kernels import embree_rays
from ..errors import GeometryError
from .engines import Engine
from .rays import local_rays
from .tasks import report_rows, run_all, split, worker_count

#: rays per Embree task (each task is one embreex ``run`` call on one thread)
_EMBREE_TASK = 1 << 15
#: float32 carries Embree's ray distances: larger tmax is "no limit"
_EMBREE_INF = 1e37

CACHE_KEY = "raycast.embree"


class EmbreeScene(NamedTuple):
    """A mesh's committed Embree scene."""

    scene: object
    n_faces: int
    n_vertices: int


def embree_scene(mesh) -> EmbreeScene:
    """The mesh's Embree scene, built on first use and cached on ``mesh.cache``."""
    return mesh.cache.get(CACHE_KEY, mesh.token, lambda: _build(mesh))


def _build(mesh) -> EmbreeScene:
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
    return EmbreeScene(scene, len(mesh.faces), len(mesh.vertices))


def _trace(scene, o32, d32, far, query):
    """One embreex call on float32 local rays already started at ``tmin``."""
    # embreex writes hit distances into an array ``dists``: give it its own
    dists = far if isinstance(far, float) else far.copy()
    if query == "OCCLUDED":
        return scene.run(o32, d32, dists=dists, query="OCCLUDED") != -1
    out = scene.run(o32, d32, dists=dists, output=1)
    return out["tfar"], out["primID"]


def _flat(mesh, o, d, n, tmin, tmax, query):
    """Embree query on ``n`` flat rays (``o``/``d`` with ``n`` or one row).

    ``query`` is ``"OCCLUDED"`` (returns (n,) bool) or ``"INTERSECT"`` (returns
    distances [m] and face indices). Each task turns its slice into float32
    local rays (numba, GIL released) and traces it, so preparation runs on all
    cores too."""
    scene = embree_scene(mesh).scene
    if len(tmax) == 1:
        far_all = float(min(tmax[0] - tmin, _EMBREE_INF))
    else:
        far_all = np.minimum(tmax - tmin, _EMBREE_INF).astype(np.float32)

    def run(sl):
        k = sl.stop - sl.start
        o32 = np.empty((k, 3), np.float32)
        d32 = np.empty((k, 3), np.float32)
        bad = embree_rays.embree_rays(
            o[sl] if len(o) > 1 else o,
            d[sl] if len(d) > 1 else d,
            mesh.origin,
            tmin,
            o32,
            d32,
        )
        far = far_all if isinstance(far_all, float) else far_all[sl]
        return bad, _trace(scene, o32, d32, far, query)

    workers = worker_count("embree")
    parts = list(run_all(run, split(n, _EMBREE_TASK, workers), workers))
    if sum(p[0] for p in parts):
        local_rays(mesh, o, d)  # raises the detailed InputError
    if query == "OCCLUDED":
        return np.concatenate([p[1] for p in parts])
    tfar = np.concatenate([p[1][0] for p in parts])
    prim = np.concatenate([p[1][1] for p in parts]).astype(np.int64)
    hit = prim >= 0
    dist = np.where(hit, tfar.astype(np.float64) + tmin, np.inf)
    return dist, np.where(hit, prim, -1)


def occluded(mesh, o, d, n, tmin, tmax) -> np.ndarray:
    """Any-hit of ``n`` flat rays: (n,) bool."""
    return _flat(mesh, o, d, n, tmin, tmax, "OCCLUDED")


def intersect(mesh, o, d, n, tmin, tmax) -> tuple[np.ndarray, np.ndarray]:
    """Closest hit of ``n`` flat rays: distances [m] (inf: none) and face
    indices (-1: none)."""
    return _flat(mesh, o, d, n, tmin, tmax, "INTERSECT")


def occluded_matrix(mesh, o, dirs, nrm, tmin, tmax, bits, rows, progress) -> None:
    """Embree visibility matrix of rows ``o`` × unit ``dirs`` into ``bits`` (zeroed).

    Tasks of about :data:`_EMBREE_TASK` rays (whole rows) each build their
    facing pairs' float32 rays (numba, GIL released), trace them and set the
    bits; all tasks go to the pool at once (no barrier per chunk), and
    ``progress`` is called each time the finished prefix of rows passes a
    multiple of ``rows``."""
    scene = embree_scene(mesh).scene
    shift = mesh.origin
    nd = len(dirs)
    far = float(min(tmax - tmin, _EMBREE_INF))

    def run(sl):
        k = (sl.stop - sl.start) * nd
        o32 = np.empty((k, 3), np.float32)
        d32 = np.empty((k, 3), np.float32)
        pair = np.empty((k, 2), np.int32)
        rows_nrm = nrm[sl] if len(nrm) else nrm
        m = embree_rays.embree_matrix_rays(
            o[sl], dirs, rows_nrm, shift, tmin, o32, d32, pair, bits[sl]
        )
        if m:
            hit = _trace(scene, o32[:m], d32[:m], far, "OCCLUDED")
            embree_rays.set_pair_bits(pair[:m], hit, bits[sl])
        return sl.stop

    workers = worker_count("embree")
    parts = split(len(o), max(1, _EMBREE_TASK // nd), workers)
    report_rows(run_all(run, parts, workers), len(o), rows, progress)


#: the Embree engine's entry points
ENGINE = Engine("embree", embree_scene, occluded, intersect, occluded_matrix)
