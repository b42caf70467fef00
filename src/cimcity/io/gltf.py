"""glTF 2.0 binary (GLB) export of a Scene, for web viewers and 3D tools.

One file holds the city as named nodes a viewer can pick, hide and colour:

* ``buildings`` — one child node per building, named by the scene's building
  id, its attributes in the node's ``extras`` (``id``, ``height``, ``storeys``,
  ``use``, ``ground_z``, ``roof_z``, ``height_source`` and the analysis value
  when one is given);
* ``project`` — the buildings of the scene's BIM projects (``scene.projects``),
  one child per project building, ``extras.role == "project"``;
* ``terrain`` (the DEM surface) or ``ground`` (a flat plane at the scene's
  ground altitude when there is no DEM);
* ``trees`` (a trunk and an ellipsoid crown per tree), ``green`` (lawns and
  shrubs), ``water``, ``roads`` (draped on the ground) and ``parcels``
  (outlines as lines).

Colours are vertex colours (``COLOR_0``): the palette of :data:`PALETTE` (roofs,
walls, project...) or, when ``values`` are given, the colour map of the
analysis, with buildings of unknown value (NaN) in :data:`UNKNOWN_COLOR`, never
coloured as a zero.

Frame
-----
glTF is right-handed with **+Y up** (glTF 2.0 specification, section 3.4). The
scene's map frame is (east, north, up), so a point is written as
``(x, y, z)_glTF = (E - E0, U - U0, -(N - N0))``: x to grid east, y up, -z to
grid north. ``(E0, N0, U0)`` is the local origin, stored with the CRS and the
vertical datum in ``asset.extras`` (``crs``, ``origin``, ``vertical_datum``,
``axes``), so the model is small floats and any tool can put it back on the map.

Built on trimesh's GLB writer (``trimesh.Scene.export(file_type="glb")``);
written here only what it does not do: node-level ``extras`` and the asset's
georeference (the JSON chunk is patched, :func:`patch_glb_json`).

``Scene.to_file("x.glb")`` calls :func:`write_glb`.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import trimesh

from ..errors import FileFormatError, InputError
from ..mesh import KIND_CODES, _triangulate

__all__ = [
    "write_glb",
    "glb_bytes",
    "scene_to_trimesh",
    "read_glb_json",
    "patch_glb_json",
    "value_colors",
    "enu_to_gltf",
    "PALETTE",
    "UNKNOWN_COLOR",
    "LAYERS",
]

#: node names of the layers, in drawing order
LAYERS = (
    "terrain",
    "ground",
    "water",
    "flood",
    "roads",
    "green",
    "parcels",
    "trees",
    "buildings",
    "project",
)

#: RGBA colours (0-255) of the plain view (no analysis values)
PALETTE = {
    "roof": (176, 104, 88, 255),  # Paris zinc/tile roofs, muted brick
    "wall": (232, 226, 214, 255),  # limestone facades
    "base": (200, 196, 188, 255),
    "project": (240, 140, 30, 255),  # the project stands out in orange
    "project_roof": (214, 112, 18, 255),
    # a project the coloured analysis did not cover (run on the scene before
    # it): white, apart from every colour map and from the unknown grey
    "project_unanalysed": (250, 250, 250, 255),
    "terrain": (206, 212, 196, 255),
    "ground": (206, 212, 196, 255),
    "water": (110, 160, 210, 255),
    "flood": (40, 105, 190, 255),  # flood water: deeper than the river's blue
    "roads": (170, 170, 172, 255),
    "green": (150, 190, 110, 255),
    "crown": (88, 140, 70, 255),
    "trunk": (110, 84, 60, 255),
    "parcels": (90, 90, 90, 255),
}
#: colour of a building whose analysis value is unknown (NaN): neutral grey
UNKNOWN_COLOR = (150, 150, 150, 255)

#: crown of a tree of height h spans [max(0.35 h, 2 m), h] above the ground: the
#: crown model of cimcity.sun.occluders (what shades with ``trees=True``),
#: restated because readers and writers do not import the analyses
CROWN_BASE_SHARE = 0.35
MIN_CROWN_BASE = 2.0
#: height given to trees whose height is unknown, drawn only [m]
DRAWN_TREE_HEIGHT = 6.0
#: lift of draped layers above the ground, so they do not flicker with it [m]
DRAPE_LIFT = {"water": 0.10, "flood": 0.05, "roads": 0.06, "green": 0.12, "parcels": 0.25}
#: segment length of outlines draped on the terrain [m]
DRAPE_STEP = 4.0
#: DEM cells along the longer side of the written terrain (coarser DEMs kept)
TERRAIN_CELLS = 160
#: margin of the flat ground plane around the scene when there is no DEM [m]
GROUND_MARGIN = 30.0

GLB_MAGIC = b"glTF"
_JSON, _BIN = 0x4E4F534A, 0x004E4942


# ---------------------------------------------------------------------------
# frames and colours
# ---------------------------------------------------------------------------
def enu_to_gltf(xyz) -> np.ndarray:
    """Map-frame offsets (east, north, up) to glTF axes (x east, y up, z south).

    Parameters
    ----------
    xyz : (n, 3) float
        Offsets from the local origin in the scene CRS [m].

    Returns
    -------
    (n, 3) float64
        ``(E, U, -N)``: glTF's +Y up, right-handed.
    """
    a = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    return np.column_stack([a[:, 0], a[:, 2], -a[:, 1]])


def value_colors(values, cmap=None, clim=None):
    """RGBA colours of values through a matplotlib colour map; NaN is unknown.

    Parameters
    ----------
    values : (n,) float
        The quantity (any unit); NaN means unknown.
    cmap : str, optional
        Matplotlib colour map; default ``"plasma"``, or ``"RdBu"`` when the
        values have both signs (a change), centred on zero.
    clim : (lo, hi), optional
        Colour limits in the values' unit; default their finite range.

    Returns
    -------
    colors : (n, 4) uint8
        :data:`UNKNOWN_COLOR` where the value is NaN.
    clim : (float, float) or None
        The limits used (None when no value is known).
    cmap : str
    """
    import matplotlib

    v = np.asarray(values, dtype=float)
    known = np.isfinite(v)
    out = np.tile(np.asarray(UNKNOWN_COLOR, np.uint8), (len(v), 1))
    if not known.any():
        return out, None, cmap or "plasma"
    lo, hi = (float(np.min(v[known])), float(np.max(v[known])))
    diverging = lo < 0 < hi
    if cmap is None:
        cmap = "RdBu" if diverging else "plasma"
    if clim is None:
        clim = (-max(-lo, hi), max(-lo, hi)) if diverging else (lo, hi)
    lo, hi = float(clim[0]), float(clim[1])
    t = (v[known] - lo) / (hi - lo) if hi > lo else np.full(known.sum(), 0.5)
    rgba = matplotlib.colormaps[cmap](np.clip(t, 0.0, 1.0))
    out[known] = np.round(np.asarray(rgba) * 255).astype(np.uint8)
    return out, (lo, hi), cmap


def colour_stops(cmap: str, n: int = 9) -> list:
    """``n`` hex colours evenly along a matplotlib colour map (for legends)."""
    import matplotlib

    cm = matplotlib.colormaps[cmap]
    return [matplotlib.colors.to_hex(cm(t)) for t in np.linspace(0.0, 1.0, n)]


def _plain(v):
    """A JSON value: numpy scalars as Python, NaN/NA as None."""
    if v is None:
        return None
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


# ---------------------------------------------------------------------------
# geometry pieces
# ---------------------------------------------------------------------------
def _flat_mesh(tris_local, rgba, metadata=None) -> trimesh.Trimesh:
    """A flat-shaded trimesh from (t, 3, 3) map-frame triangles: 3 vertices
    per face (so every face keeps its own normal and colour)."""
    tris = np.asarray(tris_local, float).reshape(-1, 3, 3)
    v = enu_to_gltf(tris.reshape(-1, 3))
    f = np.arange(len(v)).reshape(-1, 3)
    rgba = np.asarray(rgba, np.uint8)
    if rgba.ndim == 1:
        rgba = np.tile(rgba, (len(f), 1))
    colors = np.repeat(rgba, 3, axis=0)
    m = trimesh.Trimesh(vertices=v, faces=f, process=False, vertex_colors=colors)
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    ln = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.divide(n, ln, out=np.tile([0.0, 1.0, 0.0], (len(n), 1)), where=ln > 0)
    m.vertex_normals = np.repeat(n, 3, axis=0)
    m.metadata = dict(metadata or {})
    return m


def _smooth_mesh(vertices_local, faces, rgba, metadata=None) -> trimesh.Trimesh:
    """A smooth-shaded trimesh with shared vertices (terrain, tree crowns):
    normals averaged over the faces around each vertex."""
    v = enu_to_gltf(vertices_local)
    rgba = np.asarray(rgba, np.uint8)
    if rgba.ndim == 1:
        rgba = np.tile(rgba, (len(v), 1))
    m = trimesh.Trimesh(
        vertices=v, faces=np.asarray(faces), process=False, vertex_colors=rgba
    )
    _ = m.vertex_normals  # computed now, exported with include_normals
    m.metadata = dict(metadata or {})
    return m


def _ground_z(scene, x, y, default):
    """Ground altitude under points [m]: the DEM, else ``default``."""
    if scene.terrain is not None:
        z = scene.terrain.sample(x, y)
        return np.where(np.isfinite(z), z, default)
    return np.full(len(np.atleast_1d(x)), default, float)


def _default_ground(scene) -> float:
    B = scene.buildings
    if len(B) and "ground_z" in B and np.isfinite(B["ground_z"].to_numpy(float)).any():
        return float(np.nanmedian(B["ground_z"].to_numpy(float)))
    if scene.terrain is not None:
        return float(np.nanmedian(scene.terrain.elevation))
    return 0.0


def _polygon_vertices(polys):
    """(3k, 2) vertices of the triangles of the polygons' parts (None: none)."""
    parts = shapely.get_parts(np.asarray(polys, dtype=object))
    parts = parts[shapely.get_type_id(parts) == 3]
    parts = shapely.orient_polygons(parts, exterior_cw=False)
    tris, _ = _triangulate(parts)
    return tris.reshape(-1, 2) if len(tris) else None


def _draped(scene, polys, origin, lift, default):
    """Triangles of polygons laid on the ground (+ ``lift``), map frame."""
    xy = _polygon_vertices(shapely.segmentize(np.asarray(polys, dtype=object), DRAPE_STEP))
    if xy is None:
        return None
    z = _ground_z(scene, xy[:, 0], xy[:, 1], default) + lift
    pts = np.column_stack([xy - origin[:2], z - origin[2]])
    return pts.reshape(-1, 3, 3)


def _flat_water(scene, polys, origin, default):
    """Water surfaces: flat, at the lowest ground along each outline."""
    out = []
    for p in shapely.get_parts(np.asarray(polys, dtype=object)):
        if shapely.get_type_id(p) != 3:
            continue
        p = shapely.orient_polygons(p, exterior_cw=False)
        ring = shapely.get_coordinates(shapely.segmentize(p.exterior, DRAPE_STEP))
        level = np.nanmin(_ground_z(scene, ring[:, 0], ring[:, 1], default))
        tris, _ = _triangulate(np.array([p], dtype=object))
        if len(tris):
            xy = tris.reshape(-1, 2) - origin[:2]
            z = np.full(len(xy), level + DRAPE_LIFT["water"] - origin[2])
            out.append(np.column_stack([xy, z]).reshape(-1, 3, 3))
    return np.concatenate(out) if out else None


def _flood_surface(flood, origin):
    """The water surface of a flood (a :class:`cimcity.flood.FloodResult`): its
    water bodies triangulated, at the water level (scalar level), else at the
    water-surface altitude of the DEM cell under each vertex."""
    polys = np.asarray(flood.polygons.geometry.values, dtype=object)
    xy = _polygon_vertices(polys) if len(polys) else None
    if xy is None:
        return None
    if flood.level is not None:
        z = np.full(len(xy), float(flood.level))
    else:
        # the cell each vertex bounds (vertices lie on cell edges: nudge inward)
        t, (rows, cols) = flood.terrain.transform, flood.depth.shape
        c = np.clip(np.floor((xy[:, 0] - t.c) / t.a - 1e-6), 0, cols - 1).astype(int)
        r = np.clip(np.floor((xy[:, 1] - t.f) / t.e - 1e-6), 0, rows - 1).astype(int)
        surface = flood.water_surface[r, c]
        z = np.where(np.isfinite(surface), surface, np.nanmax(flood.water_surface))
    z = z + DRAPE_LIFT["flood"] - origin[2]
    return np.column_stack([xy - origin[:2], z]).reshape(-1, 3, 3)


def _tree_meshes(scene, origin, default):
    """One mesh of every tree: a trunk (octagonal prism) and an ellipsoid crown
    whose horizontal radius gives the crown polygon's area."""
    V = scene.vegetation
    if not len(V):
        return None
    trees = V[V["kind"].astype(str) == "tree"]
    if not len(trees):
        return None
    c = shapely.centroid(trees.geometry.values)
    x, y = shapely.get_x(c), shapely.get_y(c)
    gz = _ground_z(scene, x, y, default)
    h = (
        trees["height"].to_numpy(float)
        if "height" in trees
        else np.full(len(x), np.nan)
    )
    h = np.where(np.isfinite(h) & (h > 0), h, DRAWN_TREE_HEIGHT)
    base = np.maximum(
        CROWN_BASE_SHARE * h, np.where(h > MIN_CROWN_BASE / 0.9, MIN_CROWN_BASE, 0)
    )
    r = np.sqrt(np.maximum(shapely.area(trees.geometry.values), 1.0) / np.pi)
    sphere = trimesh.creation.icosphere(subdivisions=1)
    trunk = trimesh.creation.cylinder(radius=1.0, height=1.0, sections=8)
    verts, faces, rgba, n = [], [], [], 0
    for i in range(len(x)):
        centre = np.array([x[i], y[i], gz[i]]) - origin
        half = (h[i] - base[i]) / 2.0
        tr = min(0.25, 0.12 * r[i])
        for shape, scale, lift, colour in (
            (sphere, [r[i], r[i], half], base[i] + half, PALETTE["crown"]),
            (
                trunk,
                [tr, tr, base[i] + 0.2],
                (base[i] + 0.2) / 2 - 0.1,
                PALETTE["trunk"],
            ),
        ):
            verts.append(shape.vertices * scale + centre + [0.0, 0.0, lift])
            faces.append(shape.faces + n)
            rgba.append(np.tile(colour, (len(shape.vertices), 1)))
            n += len(shape.vertices)
    return _smooth_mesh(
        np.concatenate(verts),
        np.concatenate(faces),
        np.concatenate(rgba),
        {"layer": "trees", "count": len(x)},
    )


def _outline_path(scene, polys, origin, default):
    """Parcel outlines as a line set (glTF LINES), draped on the ground."""
    lines = shapely.segmentize(
        shapely.boundary(np.asarray(polys, dtype=object)), DRAPE_STEP
    )
    segs = []
    for part in shapely.get_parts(lines):
        xy = shapely.get_coordinates(part)
        if len(xy) < 2:
            continue
        z = _ground_z(scene, xy[:, 0], xy[:, 1], default) + DRAPE_LIFT["parcels"]
        p = np.column_stack([xy - origin[:2], z - origin[2]])
        segs.append(np.stack([p[:-1], p[1:]], axis=1))
    if not segs:
        return None
    segs = enu_to_gltf(np.concatenate(segs).reshape(-1, 3)).reshape(-1, 2, 3)
    path = trimesh.load_path(segs)
    path.metadata = {"layer": "parcels"}
    path.colors = np.tile(PALETTE["parcels"], (len(path.entities), 1))
    return path


# ---------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------
def _building_values(values, mesh, n_buildings_faces):
    """(per-building Series or None, per-face array or None) from ``values``."""
    if values is None:
        return None, None
    if isinstance(values, (pd.Series, dict)):
        s = pd.Series(values, dtype=float)
        return s.reindex(pd.Index(mesh.building_ids)), None
    a = np.asarray(values, dtype=float)
    if a.ndim == 1 and len(a) == n_buildings_faces:
        return None, a
    raise InputError(
        f"values must be a Series (or dict) by building id, or one value per face of "
        f"scene.mesh(terrain=False) ({n_buildings_faces} faces); got an array of shape "
        f"{a.shape}"
    )


# ---------------------------------------------------------------------------
# the scene
# ---------------------------------------------------------------------------
def scene_to_trimesh(
    scene,
    *,
    values=None,
    quantity: str | None = None,
    cmap: str | None = None,
    clim=None,
    origin=None,
    terrain_cells: int = TERRAIN_CELLS,
    layers=LAYERS,
    flood=None,
):
    """The scene as a :class:`trimesh.Scene` with one named node per building.

    Parameters
    ----------
    scene : Scene
    values : pandas.Series, dict or (m,) float, optional
        An analysis value per building (indexed by building id) or per face of
        ``scene.mesh(terrain=False)``; shown as vertex colours and, per
        building, in the node's extras under ``quantity``. NaN is unknown
        (grey, ``null`` in the extras).
    quantity : str, optional
        Name of the value (an :mod:`cimcity.i18n` key such as ``"sun_hours"``);
        default ``"value"``. A name that is already a building attribute
        (``"height"``) keeps the scene's value in the extras.
    cmap, clim
        Colour map and limits (see :func:`value_colors`).
    origin : (3,) float, optional
        Local origin (E0, N0, U0) in the scene CRS [m]; default the mesh
        origin at the floor of the lowest ground.
    terrain_cells : int
        DEM cells kept along the longer side of the terrain.
    layers : sequence of str
        The layers to write (:data:`LAYERS`; all by default).
    flood : FloodResult, optional
        A flood (:func:`cimcity.flood.extent`): its water bodies as the
        ``flood`` layer, at the water level (or the water-surface altitude of
        each cell when the level varies).

    Returns
    -------
    trimesh.Scene
        ``metadata`` holds what the asset extras will say (``crs``,
        ``origin``, ``quantity``, ``clim``, ``cmap``, ``node_extras``).
    """
    bmesh = scene.mesh(terrain=False)
    default = _default_ground(scene)
    if origin is None:
        gmin = default
        if scene.terrain is not None:
            gmin = float(np.nanmin(scene.terrain.elevation))
        origin = np.array([bmesh.origin[0], bmesh.origin[1], np.floor(gmin)])
        if not np.all(np.isfinite(origin[:2])):
            b = scene.bounds
            origin = np.array([np.floor(b[0]), np.floor(b[1]), np.floor(gmin)])
    origin = np.asarray(origin, float).reshape(3)
    shift = bmesh.origin - origin
    quantity = quantity or "value"
    wanted = set(layers)
    if wanted - set(LAYERS):
        raise InputError(
            f"unknown layers {sorted(wanted - set(LAYERS))}; expected some of {LAYERS}"
        )
    per_building, per_face = _building_values(values, bmesh, bmesh.n_faces)

    out = trimesh.Scene()
    out.metadata = {}
    node_extras: dict = {}

    def group(name):
        out.graph.update(frame_from=out.graph.base_frame, frame_to=name)

    colors = None
    used_clim, used_cmap = None, cmap
    if per_face is not None:
        colors, used_clim, used_cmap = value_colors(per_face, cmap, clim)
    elif per_building is not None:
        bc, used_clim, used_cmap = value_colors(per_building.to_numpy(), cmap, clim)

    B = scene.buildings
    project_ids = set(scene.projects)
    tris_all = bmesh.triangles + shift
    kind = bmesh.face_kind
    fb = bmesh.face_building
    order = np.argsort(fb, kind="stable")
    starts = np.searchsorted(fb[order], np.arange(len(bmesh.building_ids) + 1))
    made = set()
    for i, bid in enumerate(bmesh.building_ids):
        faces = order[starts[i] : starts[i + 1]]
        if not len(faces):
            continue
        role = "project" if bid in project_ids else "building"
        # a project without a value of the analysis (run on the scene before
        # it) is drawn in its own white, named in the page legend, not in the
        # grey of an unknown building nor the project orange (which colour
        # maps hold too); its info panel still says "unknown"
        no_value = (
            role == "project" and per_building is not None
            and not np.isfinite(per_building.iloc[i])
        )
        if colors is not None:
            rgba = colors[faces]
        elif per_building is not None:
            rgba = np.tile(
                PALETTE["project_unanalysed"] if no_value else bc[i], (len(faces), 1)
            ).astype(np.uint8)
        else:
            pal = {
                KIND_CODES["roof"]: PALETTE[
                    "project_roof" if role == "project" else "roof"
                ],
                KIND_CODES["wall"]: PALETTE["project" if role == "project" else "wall"],
                KIND_CODES["base"]: PALETTE["base"],
            }
            rgba = np.array(
                [pal.get(k, PALETTE["wall"]) for k in kind[faces]], np.uint8
            )
        row = B.loc[bid] if bid in B.index else pd.Series(dtype=object)
        extras = {
            "id": str(bid),
            "role": role,
            "height": _plain(row.get("height")),
            "storeys": _plain(row.get("storeys")),
            "use": _plain(row.get("usage")),
            "ground_z": _plain(row.get("ground_z")),
            "roof_z": _plain(row.get("roof_z")),
            "height_source": _plain(row.get("height_source")),
        }
        if quantity in extras:
            pass  # a building attribute (colour by "height"): the scene's value stays
        elif per_building is not None:
            extras[quantity] = _plain(per_building.iloc[i])
        elif per_face is not None:
            v = per_face[faces]
            a = bmesh.face_areas[faces]
            ok = np.isfinite(v)
            extras[quantity] = (
                _plain(float(np.sum(v[ok] * a[ok]) / np.sum(a[ok])))
                if ok.any()
                else None
            )
        parent = "project" if role == "project" else "buildings"
        if parent not in wanted:
            continue
        if parent not in made:
            group(parent)
            made.add(parent)
        geom = _flat_mesh(tris_all[faces], rgba, extras)
        name = str(bid)
        out.add_geometry(geom, node_name=name, geom_name=name, parent_node_name=parent)
        node_extras[name] = extras

    # ground: the DEM, else a flat plane at the ground altitude
    if not ({"terrain", "ground"} & wanted):
        ground, layer = None, "terrain"
    elif scene.terrain is not None:
        step = max(1, int(np.ceil(max(scene.terrain.shape) / max(terrain_cells, 2))))
        tmesh = scene.mesh(terrain=True, terrain_step=step)
        sel = tmesh.face_kind == KIND_CODES["terrain"]
        used, inverse = np.unique(tmesh.faces[sel], return_inverse=True)
        ground = _smooth_mesh(
            tmesh.vertices[used] + (tmesh.origin - origin),
            inverse.reshape(-1, 3),
            PALETTE["terrain"],
            {"layer": "terrain"},
        )
        layer = "terrain"
    else:
        b = np.asarray(scene.bounds, float)
        if not np.all(np.isfinite(b)):
            b = np.array([origin[0], origin[1], origin[0] + 1.0, origin[1] + 1.0])
        x0, y0 = b[:2] - GROUND_MARGIN - origin[:2]
        x1, y1 = b[2:] + GROUND_MARGIN - origin[:2]
        z = default - origin[2]
        c = np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]])
        layer = "ground"
        ground = _flat_mesh(
            np.stack([c[[0, 1, 2]], c[[0, 2, 3]]]), PALETTE[layer], {"layer": layer}
        )

    def add_layer(name, geom):
        if geom is None or name not in wanted:
            return
        group(name)
        out.add_geometry(
            geom, node_name=f"{name}_surface", geom_name=name, parent_node_name=name
        )

    add_layer(layer, ground)
    water = scene.layers.get("water")
    if "water" in wanted and water is not None and len(water):
        t = _flat_water(scene, water.geometry.values, origin, default)
        add_layer(
            "water",
            None if t is None else _flat_mesh(t, PALETTE["water"], {"layer": "water"}),
        )
    if flood is not None and "flood" in wanted:
        t = _flood_surface(flood, origin)
        add_layer(
            "flood",
            None if t is None else _flat_mesh(t, PALETTE["flood"], {"layer": "flood"}),
        )
    roads = scene.layers.get("roads")
    if "roads" in wanted and roads is not None and len(roads):
        w = (
            roads["largeur"].to_numpy(float)
            if "largeur" in roads
            else np.full(len(roads), 8.0)
        )
        w = np.where(np.isfinite(w) & (w > 0), w, 8.0)
        polys = shapely.buffer(roads.geometry.values, w / 2.0, cap_style="flat")
        t = _draped(scene, polys, origin, DRAPE_LIFT["roads"], default)
        add_layer(
            "roads",
            None if t is None else _flat_mesh(t, PALETTE["roads"], {"layer": "roads"}),
        )
    V = scene.vegetation
    if "green" in wanted and len(V):
        low = V[V["kind"].astype(str).isin(["lawn", "shrub", "meadow", "garden"])]
        if len(low):
            t = _draped(
                scene, low.geometry.values, origin, DRAPE_LIFT["green"], default
            )
            add_layer(
                "green",
                None
                if t is None
                else _flat_mesh(t, PALETTE["green"], {"layer": "green"}),
            )
    if "trees" in wanted:
        add_layer("trees", _tree_meshes(scene, origin, default))
    if "parcels" in wanted and len(scene.parcels):
        add_layer(
            "parcels",
            _outline_path(scene, scene.parcels.geometry.values, origin, default),
        )

    out.metadata = {
        "generator": "cimcity",
        "crs": scene.crs.to_string(),
        "vertical_datum": scene.vertical_datum,
        "origin": [float(v) for v in origin],
        "axes": "glTF +Y up: x = grid east, y = up, z = -grid north (offsets from origin, m)",
        "quantity": quantity if values is not None else None,
        "clim": list(used_clim) if used_clim else None,
        "cmap": used_cmap if values is not None else None,
        "scene": scene.name,
        "node_extras": node_extras,
    }
    return out


# ---------------------------------------------------------------------------
# GLB container
# ---------------------------------------------------------------------------
def read_glb_json(data: bytes) -> dict:
    """The JSON chunk of a GLB file, checked (magic, version, chunk lengths).

    Raises
    ------
    FileFormatError
        Not a glTF 2.0 binary, or truncated.
    """
    if len(data) < 20 or data[:4] != GLB_MAGIC:
        raise FileFormatError(
            f"not a GLB file: starts with {bytes(data[:4])!r}, expected b'glTF'"
        )
    version, length = struct.unpack_from("<II", data, 4)
    if version != 2 or length != len(data):
        raise FileFormatError(
            f"GLB header says version {version}, length {length}; the file is glTF 2 "
            f"of {len(data)} bytes only if they read 2 and {len(data)}"
        )
    clen, ctype = struct.unpack_from("<II", data, 12)
    if ctype != _JSON or 20 + clen > len(data):
        raise FileFormatError("GLB first chunk is not a complete JSON chunk")
    return json.loads(data[20 : 20 + clen].decode("utf-8"))


def patch_glb_json(data: bytes, fn) -> bytes:
    """Rewrite the JSON chunk of a GLB: ``fn(tree) -> tree``; the binary chunk
    is kept as is and both stay 4-byte aligned (GLB spec)."""
    tree = read_glb_json(data)
    clen = struct.unpack_from("<I", data, 12)[0]
    rest = data[20 + clen :]
    text = json.dumps(fn(tree), separators=(",", ":"), allow_nan=False).encode("utf-8")
    text += b" " * (-len(text) % 4)
    body = struct.pack("<II", len(text), _JSON) + text + rest
    return GLB_MAGIC + struct.pack("<II", 2, 12 + len(body)) + body


def glb_bytes(scene, **kwargs) -> bytes:
    """The scene as GLB bytes (arguments of :func:`scene_to_trimesh`)."""
    ts = scene_to_trimesh(scene, **kwargs)
    meta = dict(ts.metadata)
    node_extras = meta.pop("node_extras")
    ts.metadata = {}
    data = ts.export(file_type="glb", include_normals=True)

    def fix(tree):
        for node in tree.get("nodes", []):
            name = node.get("name")
            if name in node_extras:
                node["extras"] = node_extras[name]
            elif name in LAYERS:
                node["extras"] = {"layer": name}
        # bufferView.target (vertex or index data), which the Khronos validator
        # asks for and trimesh leaves out
        kinds: dict = {}
        for mesh in tree.get("meshes", []):
            mesh.pop("extras", None)  # the attributes live on the nodes
            for prim in mesh.get("primitives", []):
                used = [(a, 34962) for a in prim.get("attributes", {}).values()]
                if "indices" in prim:
                    used.append((prim["indices"], 34963))
                for acc, target in used:
                    view = tree["accessors"][acc].get("bufferView")
                    if view is not None:
                        kinds.setdefault(view, set()).add(target)
        for view, targets in kinds.items():
            if len(targets) == 1:
                tree["bufferViews"][view]["target"] = targets.pop()
        asset = tree.setdefault("asset", {"version": "2.0"})
        asset["generator"] = "cimcity (trimesh GLB writer)"
        asset["extras"] = {k: v for k, v in meta.items() if v is not None}
        tree.get("scenes", [{}])[0].pop("extras", None)
        return tree

    return patch_glb_json(data, fix)


def write_glb(scene, path, **kwargs) -> Path:
    """Write a scene as glTF 2.0 binary (``.glb``); ``Scene.to_file("x.glb")``.

    One node per building named by its id with its attributes as ``extras``,
    the project, terrain or ground, trees, water, roads and parcels as named
    layers; local y-up frame with the Lambert-93 origin and CRS in
    ``asset.extras`` (see the module docstring).

    Parameters
    ----------
    scene : Scene
    path : str or Path
        Output file, ``.glb``; parent folders are created.
    **kwargs
        ``values``, ``quantity``, ``cmap``, ``clim``, ``origin``,
        ``terrain_cells``, ``layers``: see :func:`scene_to_trimesh`.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        ``path`` does not end in ``.glb``, or ``values`` fit neither the
        buildings nor the faces.
    """
    path = Path(path)
    if path.suffix.lower() != ".glb":
        raise InputError(
            f"write_glb writes .glb files; got {path.name!r} (use a .glb suffix)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(glb_bytes(scene, **kwargs))
    return path
