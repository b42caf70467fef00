"""3D Tiles 1.1 export of a scene for CesiumJS: ``tileset.json`` and one GLB tile.

The content is the scene's GLB (:func:`cimcity.io.gltf.glb_bytes`: one node per
building named by its id with its attributes as extras, vertex colours) in a
local frame (x grid east, y up, -z grid north: glTF's +Y up, which 3D Tiles
turns to +Z up). The root tile's ``transform`` places that frame on the Earth:
a 4×4 matrix (column-major) from the local (east, north, up) offsets to ECEF
(EPSG:4978), built from pyproj at the local origin: its columns are the
derivatives of ECEF along Lambert-93 x, y and the ellipsoid normal (so the grid
convergence and the projection's scale factor are in it; the linearisation
error is below 5 mm within 300 m of the origin), its translation the ECEF
position of the origin.

Heights: scenes are in NGF-IGN69 altitudes; Cesium wants heights above the
WGS84 ellipsoid, ``h = H + N`` with ``N`` the geoid undulation (about 44–46 m
in Paris). PROJ does this with the IGN geoid grid ``fr_ign_RAF20.tif`` (or
RAF18/RAF09), which pyproj's wheel does not ship: without it PROJ's "ballpark"
operation returns ``h = H`` silently, 45 m off. So the writer asks pyproj
whether the grid-based operation is available
(``pyproj.transformer.TransformerGroup(...).best_available``) and

* uses it when it is (grid installed in a PROJ data folder, e.g. with
  ``projsync --file fr_ign_RAF20.tif`` or the ``proj-data`` package, or
  ``PROJ_NETWORK=ON``);
* otherwise refuses with a :class:`~cimcity.errors.GeoreferenceError` naming the
  missing grid, unless the caller gives the undulation ``geoid_undulation=N``
  [m] (e.g. from the IGN's online converter), used at the whole scene.

RGF93 and WGS84 are taken as equal (under 1 m, as PROJ's "RGF93 v1 to WGS 84
(1)").

Written by hand: py3dtiles builds tilesets from point clouds and meshes in its
own pipeline, not from a GLB with node extras; the tileset of one tile is
a small JSON document.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import GeoreferenceError, InputError
from .gltf import glb_bytes, read_glb_json

__all__ = ["write_tiles3d", "geoid_undulation", "enu_to_ecef_matrix", "TILESET_NAME"]

#: file name of the tileset in the output folder
TILESET_NAME = "tileset.json"
#: file name of the tile content
CONTENT_NAME = "scene.glb"
#: vertical datum of scene altitudes (EPSG code of NGF-IGN69 height)
NGF_IGN69 = "EPSG:5720"
#: step of the finite differences of the transform [m]
_STEP = 1.0


def geoid_undulation(x, y, crs="EPSG:2154", height=0.0):
    """Geoid undulation ``N`` [m] at a point: ellipsoidal height minus NGF-IGN69
    altitude, from PROJ's IGN grid.

    Parameters
    ----------
    x, y : float
        Point [m, ``crs``].
    crs : str
        Horizontal CRS of the point.
    height : float
        NGF-IGN69 altitude [m] (N hardly depends on it).

    Returns
    -------
    float
        ``N`` [m].

    Raises
    ------
    GeoreferenceError
        The grid PROJ needs is not installed (the error names it and the ways
        to get it).
    """
    from pyproj import CRS
    from pyproj.transformer import TransformerGroup

    src = CRS(f"{CRS(crs).to_string()}+{NGF_IGN69.split(':')[1]}")
    group = TransformerGroup(src, "EPSG:4979", always_xy=True)
    if not group.best_available or not group.transformers:
        grids = sorted(
            {g.short_name for op in group.unavailable_operations for g in op.grids}
        )
        raise GeoreferenceError(
            f"cannot convert NGF-IGN69 altitudes to heights above the WGS84 "
            f"ellipsoid: PROJ lacks the IGN geoid grid ({', '.join(grids) or 'fr_ign_RAF20.tif'}); "
            f"install it (projsync --file fr_ign_RAF20.tif, Debian's proj-data, or "
            f"PROJ_NETWORK=ON) or pass geoid_undulation_m=N in metres (about 44.6 m in "
            f"Paris)"
        )
    _, _, h = group.transformers[0].transform(x, y, height)
    return float(h - height)


def enu_to_ecef_matrix(origin, crs="EPSG:2154", undulation=0.0):
    """4×4 matrix from local (east, north, up) offsets [m] around ``origin`` to
    ECEF [m], column-major as 3D Tiles ``transform`` lists it.

    Parameters
    ----------
    origin : (3,) float
        Local origin: x, y [m, ``crs``] and its NGF-IGN69 altitude [m].
    crs : str
        Projected CRS of ``origin`` (metres).
    undulation : float
        Geoid undulation ``N`` [m]: the origin's ellipsoidal height is
        ``altitude + N``.

    Returns
    -------
    (16,) float
        Column-major 4×4 matrix: columns d ECEF/dx, d ECEF/dy, the ellipsoid
        normal, and the ECEF position of the origin.
    """
    from pyproj import CRS, Transformer

    t = Transformer.from_crs(CRS(crs).to_3d(), "EPSG:4978", always_xy=True)
    x0, y0, z0 = (float(v) for v in origin)
    h0 = z0 + float(undulation)
    pts = np.array(
        [
            [x0, y0, h0],
            [x0 + _STEP, y0, h0],
            [x0 - _STEP, y0, h0],
            [x0, y0 + _STEP, h0],
            [x0, y0 - _STEP, h0],
            [x0, y0, h0 + _STEP],
        ]
    )
    ecef = np.column_stack(t.transform(pts[:, 0], pts[:, 1], pts[:, 2]))
    dx = (ecef[1] - ecef[2]) / (2 * _STEP)
    dy = (ecef[3] - ecef[4]) / (2 * _STEP)
    up = ecef[5] - ecef[0]
    up /= np.linalg.norm(up)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = dx, dy, up, ecef[0]
    return m.T.ravel()  # column-major


def _local_origin(scene):
    """Centre of the scene's plan extent at the floor of its lowest ground."""
    b = np.asarray(scene.bounds, float)
    gz = np.nan
    if len(scene.buildings) and "ground_z" in scene.buildings.columns:
        gz = np.nanmin(scene.buildings["ground_z"].to_numpy(float), initial=np.inf)
    if scene.terrain is not None:
        gz = np.nanmin([gz, np.nanmin(scene.terrain.elevation)])
    gz = float(np.floor(gz)) if np.isfinite(gz) else 0.0
    return np.array([np.round((b[0] + b[2]) / 2), np.round((b[1] + b[3]) / 2), gz])


def _gltf_bounds(tree) -> np.ndarray:
    """(min, max) of the POSITION accessors of a glTF tree, node transforms
    applied (translations only, as trimesh writes them)."""
    lo, hi = np.full(3, np.inf), np.full(3, -np.inf)
    acc = tree.get("accessors", [])
    for mesh in tree.get("meshes", []):
        for prim in mesh.get("primitives", []):
            a = acc[prim["attributes"]["POSITION"]]
            if "min" in a:
                lo = np.minimum(lo, a["min"])
                hi = np.maximum(hi, a["max"])
    moves = [np.asarray(n["matrix"], float)[12:15] for n in tree.get("nodes", []) if "matrix" in n]
    moves += [np.asarray(n["translation"], float) for n in tree.get("nodes", []) if "translation" in n]
    if moves:  # conservative: any node may carry any mesh
        mv = np.array(moves)
        lo, hi = lo + np.minimum(mv.min(axis=0), 0), hi + np.maximum(mv.max(axis=0), 0)
    return np.vstack([lo, hi])


def write_tiles3d(scene, path, *, geoid_undulation_m=None, crs=None, **glb_kwargs):
    """Write a scene as a 3D Tiles 1.1 tileset (one tile) for CesiumJS.

    Parameters
    ----------
    scene : Scene
    path : str or Path
        The output folder, or ``<folder>/tileset.json``; the folder is
        created and receives ``tileset.json`` and ``scene.glb``.
    geoid_undulation_m : float, optional
        Geoid undulation ``N`` [m] to use instead of PROJ's IGN grid (see the
        module docstring); required when the grid is not installed.
    crs : str, optional
        The scene's CRS (default ``scene.crs``): projected, metres, heights
        NGF-IGN69.
    **glb_kwargs
        Passed to :func:`cimcity.io.gltf.glb_bytes` (``values``, ``cmap``...).

    Returns
    -------
    pathlib.Path
        The ``tileset.json`` written.

    Raises
    ------
    GeoreferenceError
        No geoid grid and no ``geoid_undulation_m``.
    InputError
        ``path`` names another file than ``tileset.json``; an empty scene.
    """
    path = Path(path)
    if path.suffix:
        if path.name != TILESET_NAME:
            raise InputError(
                f"a 3D Tiles export is a folder or '<folder>/{TILESET_NAME}'; got {path.name!r}"
            )
        folder = path.parent
    else:
        folder = path
    if not len(scene.buildings) and scene.terrain is None:
        raise InputError("the scene has nothing to write as 3D Tiles (no building, no terrain)")
    crs = crs or (scene.crs.to_string() if scene.crs is not None else "EPSG:2154")
    origin = _local_origin(scene)
    if geoid_undulation_m is None:
        n = geoid_undulation(origin[0], origin[1], crs, origin[2])
        source = "PROJ geoid grid"
    else:
        n = float(geoid_undulation_m)
        if not np.isfinite(n):
            raise InputError(f"geoid_undulation_m must be a finite number of metres; got {geoid_undulation_m!r}")
        source = "given"
    matrix = enu_to_ecef_matrix(origin, crs, n)
    data = glb_bytes(scene, origin=origin, **glb_kwargs)
    tree = read_glb_json(data)
    (xl, yl, zl), (xh, yh, zh) = _gltf_bounds(tree)
    # glTF (x, y, z) = (E, U, -N): the box in the tile's z-up frame (E, N, U)
    lo = np.array([xl, -zh, yl])
    hi = np.array([xh, -zl, yh])
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    half = np.maximum(half, 0.01)
    diagonal = float(2 * np.linalg.norm(half))
    tileset = {
        "asset": {
            "version": "1.1",
            "generator": "cimcity",
            "extras": {
                "crs": crs,
                "origin": [float(v) for v in origin],
                "vertical_datum": "NGF-IGN69",
                "geoid_undulation_m": n,
                "geoid_undulation_source": source,
            },
        },
        "geometricError": diagonal,
        "root": {
            "transform": [float(v) for v in matrix],
            "boundingVolume": {
                "box": [*map(float, centre), float(half[0]), 0.0, 0.0,
                        0.0, float(half[1]), 0.0, 0.0, 0.0, float(half[2])]
            },
            "geometricError": 0.0,
            "refine": "ADD",
            "content": {"uri": CONTENT_NAME},
        },
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONTENT_NAME).write_bytes(data)
    out = folder / TILESET_NAME
    out.write_text(json.dumps(tileset, indent=1), encoding="utf-8")
    return out
