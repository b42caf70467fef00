"""The Scene compiled to one :class:`~cimcity.mesh.CityMesh`.

Parts, in this order (the order fixes face and building numbering):

1. buildings with a detailed model from a file (CityJSON LoD2 surfaces), in
   table order;
2. the other buildings, extruded from their footprints (mansard or hip roofs
   where ``eave_z`` is known);
3. BIM projects swapped in with :meth:`Scene.with_project`, in table order —
   last, so the existing city keeps its numbering when a project arrives;
4. the terrain surface (kind ``terrain``), when asked for and present.

Vertices are expressed around an integer origin (the floor of the scene's
south-west corner) so float64 keeps sub-millimetre precision.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..mesh import CityMesh, extrude_buildings, terrain_mesh

#: DEM cells along the longer side of the terrain mesh by default [-]
TERRAIN_CELLS = 200


def mesh_origin(bounds) -> np.ndarray:
    """Local origin of a scene's mesh: floor of its (minx, miny), z = 0 [m]."""
    if np.isfinite(bounds[0]):
        return np.array([np.floor(bounds[0]), np.floor(bounds[1]), 0.0])
    return np.zeros(3)


def empty_mesh(origin, crs) -> CityMesh:
    """A mesh without faces."""
    return CityMesh(
        np.zeros((0, 3)),
        np.zeros((0, 3), np.int64),
        origin,
        np.zeros(0, np.int64),
        np.zeros(0, np.int8),
        np.zeros(0, object),
        crs,
    )


def models_mesh(models: dict, origin, crs) -> CityMesh:
    """Detailed building models as one mesh.

    Parameters
    ----------
    models : dict
        Building id → :class:`~cimcity.scene.models.BuildingModel`, in the
        order the buildings take in the mesh.
    origin : (3,) float64
        Local origin of the mesh [m].
    crs : pyproj.CRS

    Returns
    -------
    CityMesh
        Vertices around ``origin``, ``face_building`` indexing ``models``'
        order, ``face_kind`` from the models.
    """
    ids = list(models)
    verts, faces, owner, kinds = [], [], [], []
    nv = 0
    for i, bid in enumerate(ids):
        m = models[bid]
        verts.append(m.vertices)
        faces.append(m.faces + nv)
        owner.append(np.full(m.n_faces, i, np.int64))
        kinds.append(m.kinds)
        nv += len(m.vertices)
    if not ids:
        return empty_mesh(origin, crs)
    return CityMesh(
        np.concatenate(verts) - origin,
        np.concatenate(faces),
        origin,
        np.concatenate(owner),
        np.concatenate(kinds).astype(np.int8),
        np.asarray(ids, dtype=object),
        crs,
    )


def check_terrain_step(terrain_step) -> int | None:
    """``terrain_step`` as a positive int (or None for the default).

    Raises
    ------
    InputError
        Not a whole number of DEM cells ≥ 1 (0, negative, fractional, text).
    """
    if terrain_step is None:
        return None
    ok = isinstance(terrain_step, int | np.integer) and not isinstance(terrain_step, bool)
    if not ok or terrain_step < 1:
        raise InputError(
            f"terrain_step must be a whole number of DEM cells >= 1 (or None for "
            f"about {TERRAIN_CELLS} cells along the longer side); got {terrain_step!r}"
        )
    return int(terrain_step)


def assemble(scene, terrain: bool = True, terrain_step: int | None = None) -> CityMesh:
    """The mesh of ``scene`` (see the module docstring).

    Parameters
    ----------
    scene : Scene
    terrain : bool
        Include the terrain surface.
    terrain_step : int, optional
        Keep every n-th DEM cell (default: about :data:`TERRAIN_CELLS`
        vertices along the longer side, e.g. 2 m triangles on the 400 m
        sample).

    Returns
    -------
    CityMesh
    """
    terrain_step = check_terrain_step(terrain_step)
    B = scene.buildings
    origin = mesh_origin(scene.bounds)
    models = scene.models.get_many(B.index)
    is_project = np.array(
        [bid in models and bid in scene.projects for bid in B.index], dtype=bool
    )
    detailed = np.array([bid in models for bid in B.index], dtype=bool) & ~is_project
    parts = []
    if detailed.any():
        ids = B.index[detailed]
        parts.append(models_mesh({b: models[b] for b in ids}, origin, scene.crs))
    ext = B[~detailed & ~is_project]
    if len(ext):
        parts.append(
            extrude_buildings(
                ext.geometry.values,
                ext["ground_z"].to_numpy(float),
                ext["roof_z"].to_numpy(float),
                ext["eave_z"].to_numpy(float),
                origin=origin,
                building_ids=ext.index.to_numpy(),
                crs=scene.crs,
            )
        )
    for bid in B.index[is_project]:
        parts.append(models_mesh({bid: models[bid]}, origin, scene.crs))
    if terrain and scene.terrain is not None:
        step = terrain_step or max(
            1, int(np.ceil(max(scene.terrain.shape) / TERRAIN_CELLS))
        )
        parts.append(terrain_mesh(scene.terrain, origin=origin, step=step))
    if not parts:
        return empty_mesh(origin, scene.crs)
    mesh = CityMesh.concatenate(parts, origin=origin)
    mesh.crs = scene.crs
    return mesh
