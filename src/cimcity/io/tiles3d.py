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
* otherwise falls back on the global EGM96 geoid when its grid
  ``egm96_15.gtx`` is found in a PROJ data folder (Debian's ``proj-data``
  ships it in ``/usr/share/proj``): ``N`` from PROJ's ``vgridshift`` on that
  grid at the point's longitude and latitude. EGM96 approximates the
  NGF-IGN69 geoid (RAF20) to a few decimetres in mainland France (it models
  the global geoid, not the French levelling datum): the tileset says so in
  ``asset.extras.geoid`` and a :class:`~cimcity.errors.DataQualityWarning`
  names the approximation and how to get RAF20;
* otherwise refuses with a :class:`~cimcity.errors.GeoreferenceError` naming the
  missing grid, unless the caller gives the undulation ``geoid_undulation_m=N``
  [m] (e.g. from the IGN's online converter), used at the whole scene.

RGF93 and WGS84 are taken as equal (under 1 m, as PROJ's "RGF93 v1 to WGS 84
(1)").

Written by hand: py3dtiles builds tilesets from point clouds and meshes in its
own pipeline, not from a GLB with node extras; the tileset of one tile is
a small JSON document.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np

from ..errors import DataQualityWarning, GeoreferenceError, InputError
from .gltf import glb_bytes, read_glb_json

__all__ = [
    "write_tiles3d",
    "geoid_undulation",
    "egm96_undulation",
    "enu_to_ecef_matrix",
    "TILESET_NAME",
]

#: file name of the tileset in the output folder
TILESET_NAME = "tileset.json"
#: file name of the tile content
CONTENT_NAME = "scene.glb"
#: vertical datum of scene altitudes (EPSG code of NGF-IGN69 height)
NGF_IGN69 = "EPSG:5720"
#: step of the finite differences of the transform [m]
_STEP = 1.0
#: file name of the global EGM96 geoid grid (15' step; PROJ's GTX format)
EGM96_GRID = "egm96_15.gtx"
#: what the tileset says when the heights come from EGM96
EGM96_NOTE = "EGM96 (approximation of the NGF-IGN69 geoid)"
#: folders searched for ``EGM96_GRID`` after PROJ_DATA / PROJ_LIB and pyproj's
_SYSTEM_PROJ_DIRS = ("/usr/share/proj", "/usr/local/share/proj")


def _egm96_grid():
    """Path of ``egm96_15.gtx`` in a PROJ data folder, or None."""
    import pyproj.datadir

    dirs = [os.environ.get(k) for k in ("PROJ_DATA", "PROJ_LIB")]
    for get in (pyproj.datadir.get_data_dir, pyproj.datadir.get_user_data_dir):
        try:
            dirs.append(get())
        except Exception:  # noqa: BLE001 - pyproj without a data dir
            pass
    dirs += list(_SYSTEM_PROJ_DIRS)
    for d in dirs:
        for part in str(d or "").split(os.pathsep):
            if part and (Path(part) / EGM96_GRID).is_file():
                return Path(part) / EGM96_GRID
    return None


def _ign_transformer(crs):
    """PROJ's grid-based NGF-IGN69 -> ellipsoid operation, or (None, missing
    grid names) when its grid is not installed."""
    from pyproj import CRS
    from pyproj.transformer import TransformerGroup

    src = CRS(f"{CRS(crs).to_string()}+{NGF_IGN69.split(':')[1]}")
    with warnings.catch_warnings():  # "best transformation is not available":
        warnings.simplefilter("ignore", UserWarning)  # said below, in our words
        group = TransformerGroup(src, "EPSG:4979", always_xy=True)
    if group.best_available and group.transformers:
        return group.transformers[0], []
    grids = sorted({g.short_name for op in group.unavailable_operations for g in op.grids})
    return None, grids


def egm96_undulation(lon, lat, grid=None):
    """EGM96 geoid undulation ``N`` [m] at WGS84 longitudes and latitudes.

    PROJ's ``vgridshift`` (bilinear) on the ``egm96_15.gtx`` grid.

    Parameters
    ----------
    lon, lat : float or array
        Longitude, latitude [deg, WGS84].
    grid : str or Path, optional
        The grid file (default: found in the PROJ data folders).

    Returns
    -------
    float or ndarray
        ``N`` [m], height of the EGM96 geoid above the WGS84 ellipsoid.

    Raises
    ------
    GeoreferenceError
        ``egm96_15.gtx`` is not installed.
    """
    from pyproj import Transformer

    grid = grid or _egm96_grid()
    if grid is None:
        raise GeoreferenceError(
            f"the EGM96 geoid grid {EGM96_GRID} is not installed (apt-get install "
            "proj-data, or projsync --file egm96_15.gtx)"
        )
    t = Transformer.from_pipeline(f"+proj=vgridshift +grids={grid} +multiplier=1")
    lon_a, lat_a = np.asarray(lon, float), np.asarray(lat, float)
    _, _, n = t.transform(lon_a, lat_a, np.zeros_like(lon_a))
    n = np.asarray(n, float)
    if not np.all(np.isfinite(n)):
        raise GeoreferenceError(f"{EGM96_GRID} gives no undulation at lon {lon}, lat {lat}")
    return float(n) if n.ndim == 0 else n


def _undulation(x, y, crs, height):
    """(``N`` [m], source) at a point: the IGN grid, else EGM96 with a warning,
    else a GeoreferenceError."""
    from pyproj import Transformer

    t, grids = _ign_transformer(crs)
    if t is not None:
        _, _, h = t.transform(x, y, height)
        return float(h - height), "PROJ geoid grid (IGN)"
    egm = _egm96_grid()
    if egm is not None:
        lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
        n = egm96_undulation(lon, lat, egm)
        warnings.warn(
            f"heights above the ellipsoid use the EGM96 geoid ({egm}, N = {n:.2f} m), "
            f"an approximation of the NGF-IGN69 geoid good to a few decimetres in "
            f"France: PROJ lacks the IGN grid {', '.join(grids) or 'fr_ign_RAF20.tif'}; "
            f"install it (projsync --file fr_ign_RAF20.tif, or PROJ_NETWORK=ON) or "
            f"pass geoid_undulation_m=N",
            DataQualityWarning,
            stacklevel=3,
        )
        return n, EGM96_NOTE
    raise GeoreferenceError(
        f"cannot convert NGF-IGN69 altitudes to heights above the WGS84 "
        f"ellipsoid: PROJ lacks the IGN geoid grid ({', '.join(grids) or 'fr_ign_RAF20.tif'}) "
        f"and the EGM96 grid {EGM96_GRID}; install one (projsync --file "
        f"fr_ign_RAF20.tif, apt-get install proj-data for EGM96, or PROJ_NETWORK=ON) "
        f"or pass geoid_undulation_m=N in metres (about 44.6 m in Paris)"
    )


def geoid_undulation(x, y, crs="EPSG:2154", height=0.0):
    """Geoid undulation ``N`` [m] at a point: ellipsoidal height minus NGF-IGN69
    altitude, from PROJ's IGN grid, else the EGM96 grid (with a
    :class:`~cimcity.errors.DataQualityWarning`).

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
        Neither the IGN grid nor the EGM96 grid is installed (the error names
        them and the ways to get them).
    """
    return _undulation(x, y, crs, height)[0]


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
        Geoid undulation ``N`` [m] to use instead of PROJ's IGN grid or the
        EGM96 fallback (see the module docstring); required when neither grid
        is installed.
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
        No geoid grid (IGN or EGM96) and no ``geoid_undulation_m``.
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
        n, source = _undulation(origin[0], origin[1], crs, origin[2])
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
                "geoid": source if source == EGM96_NOTE else (
                    "given undulation" if source == "given" else "IGN RAF (NGF-IGN69)"
                ),
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
