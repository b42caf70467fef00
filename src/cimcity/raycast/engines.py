"""Ray engine choice: the names ``engine=`` accepts and what ``"auto"`` picks.

See :mod:`cimcity.raycast` for what each engine is and how ``"auto"`` was
measured.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from .._compat import has_module, import_optional
from ..errors import EngineError, InputError

__all__ = [
    "ENGINES",
    "QUERIES",
    "AUTO_ENGINES",
    "Engine",
    "available_engines",
    "resolve_engine",
]

#: engine names accepted by ``engine=``
ENGINES = ("auto", "numba", "embree")
#: query kinds: :func:`~cimcity.raycast.occluded`, :func:`~cimcity.raycast.intersect`,
#: :func:`~cimcity.raycast.occluded_matrix`
QUERIES = ("occluded", "intersect", "matrix")
#: engine ``"auto"`` per query: numba for all (exact float64, and as fast as
#: Embree or faster on sky, sun and view rays: ``benchmarks/bench_raycast.py``,
#: see :mod:`cimcity.raycast`); kept per query so that a measured change can
#: route one kind of work elsewhere
AUTO_ENGINES = {"occluded": "numba", "intersect": "numba", "matrix": "numba"}

_HAS_EMBREE: bool | None = None


class Engine(NamedTuple):
    """What every engine module provides
    (:data:`cimcity.raycast.numba_engine.ENGINE`,
    :data:`cimcity.raycast.embree_engine.ENGINE`); :mod:`cimcity.raycast.api`
    calls these with validated arrays.

    ``prepare(mesh)`` builds and caches the acceleration structure;
    ``occluded(mesh, o, d, n, tmin, tmax)`` → (n,) bool;
    ``intersect(mesh, o, d, n, tmin, tmax)`` → distances [m], faces;
    ``occluded_matrix(mesh, o, dirs, normals, tmin, tmax, bits, rows, progress)``
    fills the packed matrix ``bits``.
    """

    name: str
    prepare: Callable
    occluded: Callable
    intersect: Callable
    occluded_matrix: Callable


def _embree_available() -> bool:
    global _HAS_EMBREE
    if _HAS_EMBREE is None:
        _HAS_EMBREE = has_module("embreex.rtcore_scene")
    return _HAS_EMBREE


def available_engines() -> tuple[str, ...]:
    """Concrete engines usable in this environment, the default first."""
    return ("numba", "embree") if _embree_available() else ("numba",)


def resolve_engine(engine: str = "auto", query: str = "occluded") -> str:
    """The concrete engine (``"numba"`` or ``"embree"``) that ``engine`` selects
    for one kind of query.

    Parameters
    ----------
    engine : {"auto", "numba", "embree"}
    query : {"occluded", "intersect", "matrix"}
        The query the engine is for (:func:`~cimcity.raycast.occluded`,
        :func:`~cimcity.raycast.intersect`,
        :func:`~cimcity.raycast.occluded_matrix`); only matters for ``"auto"``,
        which picks :data:`AUTO_ENGINES` ``[query]`` when ``embreex`` is
        installed, else ``"numba"`` (see :mod:`cimcity.raycast`).

    Returns
    -------
    str
        ``"numba"`` or ``"embree"``.

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
