"""The detailed 3D models of buildings held by a Scene.

Most buildings of a scene are footprints with heights, which
:meth:`Scene.mesh` extrudes. Some carry a detailed model: the LoD2 surfaces of a
CityJSON file, the triangles of an IFC project swapped in with
:meth:`Scene.with_project`. The Scene keeps them in its own store,
``scene.models`` (building id → :class:`BuildingModel`), so that building its
mesh needs no file format: readers fill the store, the mesh uses it.

A reader may fill the store lazily (:meth:`ModelStore.defer`): the CityJSON
reader registers one builder for all its buildings, and the triangles are
computed the first time a mesh needs them, so reading a file for its tables
stays as fast as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..mesh import KIND_CODES


@dataclass(frozen=True, eq=False)
class BuildingModel:
    """The detailed surfaces of one building, in world coordinates.

    Attributes
    ----------
    vertices : (n, 3) float64
        Vertex positions [m, scene CRS, altitudes in its vertical datum].
    faces : (t, 3) int64
        Vertex indices of each triangle, wound with the outward normal.
    kinds : (t,) int8
        Surface kind code of each triangle (:data:`cimcity.mesh.KIND_CODES`:
        ``roof``, ``wall``, ``ground`` for the underside).
    source : str
        Where the model comes from: ``"cityjson"`` or ``"ifc"``.
    lod : str, optional
        Level of detail of the source geometry (``"2.2"``; ``"3"`` for IFC).
    """

    vertices: np.ndarray
    faces: np.ndarray
    kinds: np.ndarray
    source: str
    lod: str | None = None

    def __post_init__(self):
        v = np.asarray(self.vertices, dtype=np.float64).reshape(-1, 3)
        f = np.asarray(self.faces, dtype=np.int64).reshape(-1, 3)
        k = np.asarray(self.kinds, dtype=np.int8).reshape(-1)
        if len(k) != len(f):
            raise InputError(f"{len(k)} face kinds for {len(f)} faces")
        if not np.isfinite(v).all():
            bad = int((~np.isfinite(v).all(axis=1)).sum())
            raise InputError(
                f"building model ({self.source}): {bad} vertices hold NaN or inf"
            )
        if len(f) and (f.min() < 0 or f.max() >= len(v)):
            i = int(f.min()) if f.min() < 0 else int(f.max())
            raise InputError(
                f"building model ({self.source}): a face refers to vertex {i}, "
                f"outside the {len(v)} vertices"
            )
        for name, a in (("vertices", v), ("faces", f), ("kinds", k)):
            a.flags.writeable = False
            object.__setattr__(self, name, a)

    @property
    def n_faces(self) -> int:
        return len(self.faces)

    @classmethod
    def from_triangles(cls, triangles, kinds, source: str, lod=None) -> BuildingModel:
        """A model from a triangle soup.

        Parameters
        ----------
        triangles : (t, 3, 3) float64
            Corner coordinates of each triangle [m, world].
        kinds : (t,) int8
            Kind code of each triangle.
        """
        t = np.asarray(triangles, dtype=np.float64).reshape(-1, 3, 3)
        faces = np.arange(3 * len(t), dtype=np.int64).reshape(-1, 3)
        return cls(t.reshape(-1, 3), faces, kinds, source, lod)

    @classmethod
    def from_bim(cls, bim) -> BuildingModel:
        """The triangles of a BIM project (``bim.mesh``, a trimesh in the scene
        CRS).

        Kinds come from ``bim.face_kind`` when the model provides it; otherwise
        from the normals: upward faces (n_z > 0.5) are roofs, downward ones
        (n_z < -0.5) the underside (``ground``), the rest walls.
        """
        tm = bim.mesh
        faces = np.asarray(tm.faces, np.int64)
        kinds = getattr(bim, "face_kind", None)
        if kinds is None:
            kinds = kinds_from_normals(np.asarray(tm.face_normals))
        return cls(np.asarray(tm.vertices, float), faces, kinds, "ifc", "3")


def kinds_from_normals(normals) -> np.ndarray:
    """Kind codes guessed from unit face normals (n, 3): n_z > 0.5 roof,
    n_z < -0.5 ``ground`` (underside), else wall."""
    nz = np.asarray(normals, float).reshape(-1, 3)[:, 2]
    kinds = np.full(len(nz), KIND_CODES["wall"], np.int8)
    kinds[nz > 0.5] = KIND_CODES["roof"]
    kinds[nz < -0.5] = KIND_CODES["base"]
    return kinds


class ModelStore:
    """Building id → :class:`BuildingModel`, some of them built on first use.

    Behaves like a read-only mapping (``id in store``, ``store[id]``,
    ``len``, iteration over ids); :meth:`put` and :meth:`defer` add models.
    """

    __slots__ = ("_models", "_pending")

    def __init__(self):
        self._models: dict = {}
        # building id -> builder(ids) -> {id: BuildingModel}
        self._pending: dict = {}

    # -- filling ------------------------------------------------------------------
    def put(self, building_id, model: BuildingModel) -> None:
        """Store the model of one building (replaces any previous one)."""
        self._pending.pop(building_id, None)
        self._models[building_id] = model

    def defer(self, building_ids, build) -> None:
        """Register models built later, together, by ``build(ids)``.

        Parameters
        ----------
        building_ids : iterable
            Buildings whose model ``build`` makes.
        build : callable
            ``build(list_of_ids) -> {id: BuildingModel}``, called once with
            every still-unbuilt id of this group a lookup needs. Use a picklable
            callable (a module-level function or a ``functools.partial``) so
            scenes can travel to worker processes.
        """
        for bid in building_ids:
            self._models.pop(bid, None)
            self._pending[bid] = build

    def drop(self, building_ids) -> None:
        """Forget the models of these buildings (missing ids are ignored)."""
        for bid in building_ids:
            self._models.pop(bid, None)
            self._pending.pop(bid, None)

    def keep(self, building_ids) -> None:
        """Forget every model but those of ``building_ids``."""
        keep = set(building_ids)
        self.drop([b for b in list(self) if b not in keep])

    def copy(self) -> ModelStore:
        """A store sharing the (immutable) models and pending builders."""
        new = ModelStore()
        new._models = dict(self._models)
        new._pending = dict(self._pending)
        return new

    # -- reading ------------------------------------------------------------------
    def get_many(self, building_ids) -> dict:
        """Models of the given buildings that have one, building what is pending.

        Returns
        -------
        dict
            Building id → :class:`BuildingModel`, in the order of
            ``building_ids``.
        """
        ids = [b for b in building_ids if b in self]
        groups: dict = {}
        for b in ids:
            if b in self._pending:
                groups.setdefault(id(self._pending[b]), (self._pending[b], []))[1].append(b)
        for build, todo in groups.values():
            built = build(todo)
            for b in todo:
                self._pending.pop(b, None)
                if b in built:
                    self._models[b] = built[b]
        return {b: self._models[b] for b in ids if b in self._models}

    def __getitem__(self, building_id) -> BuildingModel:
        hit = self.get_many([building_id])
        if building_id not in hit:
            raise KeyError(building_id)
        return hit[building_id]

    def __contains__(self, building_id) -> bool:
        return building_id in self._models or building_id in self._pending

    def __iter__(self):
        yield from self._models
        yield from (b for b in self._pending if b not in self._models)

    def __len__(self) -> int:
        return len(self._models) + sum(1 for b in self._pending if b not in self._models)

    def __repr__(self) -> str:
        return (
            f"<ModelStore {len(self)} building models "
            f"({len(self._pending)} not built yet)>"
        )
