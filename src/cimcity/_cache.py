"""One cache for derived data, keyed on what it derives from.

Scenes, meshes and terrains own a :class:`Cache`. An entry is stored with the
*token* of its owner at build time (``Scene.version``, ``CityMesh.token``); a
lookup with another token rebuilds it. Nothing is cached at module level, so a
cache lives and dies with its owner.
"""

from __future__ import annotations


class Cache:
    """Derived values of one owner, each tagged with the owner's token."""

    __slots__ = ("_store",)

    def __init__(self):
        self._store: dict = {}

    def get(self, key, token, build):
        """The value of ``key`` for ``token``, built with ``build()`` if stale.

        Parameters
        ----------
        key : hashable
            What is cached (e.g. ``"raycast.bvh"``).
        token : hashable
            Version or content hash of the owner the value derives from.
        build : callable
            Called without arguments when the entry is missing or stale.
        """
        hit = self._store.get(key)
        if hit is not None and hit[0] == token:
            return hit[1]
        value = build()
        self._store[key] = (token, value)
        return value

    def peek(self, key, token, default=None):
        """The cached value for ``token`` without building it."""
        hit = self._store.get(key)
        return hit[1] if hit is not None and hit[0] == token else default

    def put(self, key, token, value):
        self._store[key] = (token, value)
        return value

    def clear(self) -> None:
        self._store.clear()

    def __contains__(self, key) -> bool:
        return key in self._store

    def __len__(self) -> int:
        return len(self._store)

    def __repr__(self) -> str:
        return f"<Cache {len(self._store)} entries>"
