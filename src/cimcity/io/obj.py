"""Wavefront OBJ export of a scene: one group per building, the terrain, colours
in a companion ``.mtl``.

Written by hand: trimesh's OBJ exporter writes one object per mesh with no
group names of our choosing and no per-kind materials; the format is a few
lines of text (vertices ``v``, groups ``g``, materials ``usemtl``, faces ``f``).

Coordinates are written in the scene's local frame (``CityMesh.origin``
subtracted; most 3D tools lose centimetres on Lambert-93 coordinates in
float32), and the origin is written in a header comment
(``# origin x y z``), metres, z up.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..mesh import KIND_CODES

#: colours [0-1 RGB] of the materials written to the .mtl
MATERIALS = {
    "roof": (0.62, 0.60, 0.58),
    "wall": (0.90, 0.87, 0.80),
    "base": (0.50, 0.50, 0.50),
    "terrain": (0.80, 0.78, 0.70),
    "project": (0.95, 0.50, 0.10),
}
#: group name of the terrain surface
TERRAIN_GROUP = "terrain"


def group_name(building_id) -> str:
    """An OBJ group name for a building id: whitespace replaced by ``_`` (OBJ
    names end at a space); every other character is kept."""
    return re.sub(r"\s", "_", str(building_id))


def write_obj(scene, path, *, terrain: bool = True, mesh=None):
    """Write a scene as Wavefront OBJ with an ``.mtl`` of colours beside it.

    Parameters
    ----------
    scene : Scene
    path : str or Path
        ``.obj`` file; ``<stem>.mtl`` is written next to it; folders are
        created.
    terrain : bool
        Include the terrain surface (group ``terrain``).
    mesh : CityMesh, optional
        What to write (default ``scene.mesh(terrain=terrain)``).

    Returns
    -------
    pathlib.Path
        The ``.obj`` written: one object and group ``o``/``g <building id>`` per building (faces
        by material ``roof``, ``wall``, ``base``, or ``project`` for BIM
        projects), one ``g terrain``; vertices in metres in the local frame,
        the origin in the ``# origin`` header line.

    Raises
    ------
    InputError
        ``path`` does not end in ``.obj``, or the scene has nothing to write.
    """
    path = Path(path)
    if path.suffix.lower() != ".obj":
        raise InputError(f"cannot write OBJ to {path.name!r}: the file must end in .obj")
    mesh = scene.mesh(terrain=terrain) if mesh is None else mesh
    if mesh.n_faces == 0:
        raise InputError("the scene has nothing to write to OBJ (no building, no terrain)")
    path.parent.mkdir(parents=True, exist_ok=True)
    mtl = path.with_suffix(".mtl")
    names = {code: name for name, code in KIND_CODES.items()}
    kind = mesh.face_kind
    fb = mesh.face_building
    ids = mesh.building_ids
    projects = set(scene.projects)
    material = np.array([names.get(int(k), "base") for k in kind], dtype=object)
    if projects and len(ids):
        is_proj = np.isin(ids, list(projects))
        in_proj = (fb >= 0) & is_proj[np.clip(fb, 0, None)] & (kind != KIND_CODES["terrain"])
        material[in_proj] = "project"
    material[~np.isin(material, list(MATERIALS))] = "base"
    # faces sorted by group (building, terrain last) then material
    group = np.where(fb >= 0, fb, len(ids))
    order = np.lexsort((material.astype(str), group))
    lines = [
        "# cimcity scene export (Wavefront OBJ), metres, z up",
        f"# crs {scene.crs.to_string() if scene.crs is not None else 'unknown'}",
        "# origin {:.3f} {:.3f} {:.3f}".format(*mesh.origin),
        f"mtllib {mtl.name}",
    ]
    v = mesh.vertices
    written = 0  # vertices written so far (OBJ indices are global, from 1)
    bounds = np.flatnonzero(np.r_[True, group[order][1:] != group[order][:-1], True])
    for start, stop in zip(bounds[:-1], bounds[1:]):
        sel = order[start:stop]
        g = group[sel[0]]
        name = group_name(ids[g]) if g < len(ids) else TERRAIN_GROUP
        # each object carries its own vertices (the layout 3D tools split on)
        used, local = np.unique(mesh.faces[sel], return_inverse=True)
        local = local.reshape(-1, 3) + written + 1
        lines.append(f"o {name}")
        lines.extend(f"v {x:.3f} {y:.3f} {z:.3f}" for x, y, z in v[used])
        lines.append(f"g {name}")
        written += len(used)
        last_mat = None
        for f, (a, b, c) in zip(sel, local):
            if material[f] != last_mat:
                lines.append(f"usemtl {material[f]}")
                last_mat = material[f]
            lines.append(f"f {a} {b} {c}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mtl.write_text(
        "\n".join(
            f"newmtl {name}\nKd {r:.3f} {g:.3f} {b:.3f}\nKa 0.2 0.2 0.2\nd 1.0\n"
            for name, (r, g, b) in MATERIALS.items()
        ),
        encoding="utf-8",
    )
    return path
