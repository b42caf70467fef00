"""Views for people: offscreen 3D renders (PNG) of scenes and analysis results.

pyvista (VTK) renders offscreen; geometry is drawn in the mesh's local frame
(float32 safe). Colours: buildings in warm greys by surface kind, BIM projects
in orange, vegetation in greens, water in blue, terrain in a light earth tone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely

from ._compat import import_optional
from .errors import InputError
from .mesh import KIND_CODES, CityMesh, extrude_buildings

PALETTE = {
    "roof": (0.62, 0.60, 0.58),
    "wall": (0.90, 0.87, 0.80),
    "ground": (0.5, 0.5, 0.5),
    "terrain": (0.80, 0.78, 0.70),
    "project": (0.95, 0.50, 0.10),
    "highlight": (0.85, 0.10, 0.10),
    "tree": (0.24, 0.50, 0.22),
    "lawn": (0.55, 0.75, 0.40),
    "shrub": (0.40, 0.62, 0.30),
    "green_roof": (0.45, 0.70, 0.35),
    "water": (0.35, 0.55, 0.80),
    "background": (1.0, 1.0, 1.0),
}
CAMERAS = ("iso", "top", "south", "north", "street")


def _pv():
    pv = import_optional("pyvista")
    pv.OFF_SCREEN = True
    return pv


def _vegetation_mesh(scene, origin):
    """Vegetation as simple solids: tree crowns as prisms, lawns as thin slabs."""
    V = scene.vegetation
    if not len(V):
        return None, None
    geoms = V.geometry.values
    kind = V["kind"].astype(str).to_numpy()
    h = V["height"].to_numpy(float) if "height" in V.columns else np.full(len(V), 0.2)
    h = np.where(np.isfinite(h), h, 0.2)
    if scene.terrain is not None:
        # highest ground along the outline, so slabs are not buried on slopes
        xy, idx = shapely.get_coordinates(
            shapely.segmentize(shapely.boundary(geoms), 2.0), return_index=True
        )
        z = scene.terrain.sample(xy[:, 0], xy[:, 1])
        gz = np.full(len(V), -np.inf)
        np.maximum.at(gz, idx, np.where(np.isfinite(z), z, -np.inf))
        gz = np.where(np.isfinite(gz), gz, np.nanmedian(scene.terrain.elevation))
    else:
        gz = np.zeros(len(V))
    keep = kind != "green_roof"  # green roofs are drawn on the roofs themselves
    tree = kind == "tree"
    base = np.where(tree, gz + np.maximum(h * 0.35, 2.0), gz + 0.05)
    top = np.where(tree, gz + np.maximum(h, 3.0), gz + 0.25)
    m = extrude_buildings(geoms[keep], base[keep], top[keep], origin=origin)
    return m, kind[keep]


def _camera(plotter, mode, bounds):
    xmin, xmax, ymin, ymax, zmin, zmax = bounds
    cx, cy, cz = (xmin + xmax) / 2, (ymin + ymax) / 2, (zmin + zmax) / 2
    span = max(xmax - xmin, ymax - ymin, 1.0)
    if isinstance(mode, (tuple, list)):
        plotter.camera_position = mode
        return
    if mode == "iso":
        pos = (cx + 0.75 * span, cy - 0.95 * span, cz + 0.85 * span)
    elif mode == "top":
        pos = (cx, cy, cz + 1.6 * span)
        plotter.camera_position = [pos, (cx, cy, cz), (0, 1, 0)]
        return
    elif mode == "south":
        pos = (cx, cy - 1.3 * span, cz + 0.5 * span)
    elif mode == "north":
        pos = (cx, cy + 1.3 * span, cz + 0.5 * span)
    elif mode == "street":
        pos = (cx + 0.2 * span, cy - 0.6 * span, cz + 0.12 * span)
    else:
        raise InputError(f"unknown camera {mode!r}; expected one of {CAMERAS} or a camera position")
    plotter.camera_position = [pos, (cx, cy, cz), (0, 0, 1)]


def add_scene(plotter, scene, mesh=None, color_by=None, face_values=None, highlight=None,
              cmap="inferno", clim=None, scalar_title=None, vegetation=True, opacity=1.0):
    """Add a scene (buildings, terrain, vegetation, water) to a pyvista plotter.

    Parameters
    ----------
    plotter : pyvista.Plotter
    scene : Scene
    mesh : CityMesh, optional
        Defaults to ``scene.mesh()``; ``face_values`` align with its faces.
    color_by : str, optional
        ``None`` (surface kinds), ``"height"`` or any numeric column of
        ``scene.buildings``.
    face_values : (m,) float, optional
        A value per mesh face (e.g. irradiation [kWh/m²]); NaN faces are drawn
        in the default colours.
    highlight : list of building ids, optional
        Drawn in red.

    Returns
    -------
    CityMesh
        The mesh drawn (local coordinates).
    """
    pv = _pv()
    mesh = scene.mesh() if mesh is None else mesh
    poly = mesh.to_pyvista()
    kind = mesh.face_kind
    B = scene.buildings
    ids = mesh.building_ids
    is_project = np.isin(ids, list(scene.projects)) if len(ids) else np.zeros(0, bool)
    fb = mesh.face_building
    face_project = np.zeros(mesh.n_faces, bool)
    ok = fb >= 0
    face_project[ok] = is_project[fb[ok]]
    face_high = np.zeros(mesh.n_faces, bool)
    if highlight is not None and len(ids):
        face_high[ok] = np.isin(ids, list(highlight))[fb[ok]]

    base_rgb = np.zeros((mesh.n_faces, 3))
    for k in ("roof", "wall", "ground", "terrain"):
        base_rgb[kind == KIND_CODES[k]] = PALETTE[k]
    if len(B) and "green_roof" in B.columns:
        green = B["green_roof"].reindex(ids).fillna(False).to_numpy(bool)
        gf = ok & (kind == KIND_CODES["roof"])
        gf[gf] = green[fb[gf]]
        base_rgb[gf] = PALETTE["green_roof"]
    base_rgb[face_project & (kind != KIND_CODES["terrain"])] = PALETTE["project"]
    base_rgb[face_high] = PALETTE["highlight"]

    values = None
    if face_values is not None:
        values = np.asarray(face_values, float)
        if values.shape != (mesh.n_faces,):
            raise InputError(f"face_values must have one value per face ({mesh.n_faces}); got {values.shape}")
    elif color_by is not None and len(B):
        if color_by not in B.columns:
            raise InputError(f"unknown color_by {color_by!r}; expected None, 'height' or a numeric column of scene.buildings")
        col = np.asarray(B[color_by].reindex(ids), dtype=float)
        values = np.full(mesh.n_faces, np.nan)
        values[ok & (kind != KIND_CODES["terrain"])] = col[fb[ok & (kind != KIND_CODES["terrain"])]]
        scalar_title = scalar_title or color_by

    if values is not None and np.isfinite(values).any():
        has = np.isfinite(values)
        plain = poly.extract_cells(np.flatnonzero(~has)) if (~has).any() else None
        shown = poly.extract_cells(np.flatnonzero(has))
        shown.cell_data["value"] = values[has]
        plotter.add_mesh(shown, scalars="value", cmap=cmap, clim=clim, opacity=opacity,
                         scalar_bar_args={"title": scalar_title or "", "vertical": True,
                                          "position_x": 0.88, "position_y": 0.15, "height": 0.7},
                         show_scalar_bar=True, lighting=True, smooth_shading=False)
        if plain is not None and plain.n_cells:
            plain.cell_data["rgb"] = (base_rgb[~has] * 255).astype(np.uint8)
            plotter.add_mesh(plain, scalars="rgb", rgb=True, opacity=opacity)
    else:
        poly.cell_data["rgb"] = (base_rgb * 255).astype(np.uint8)
        plotter.add_mesh(poly, scalars="rgb", rgb=True, opacity=opacity, lighting=True)

    if vegetation:
        vm, vk = _vegetation_mesh(scene, mesh.origin)
        if vm is not None and vm.n_faces:
            vp = vm.to_pyvista()
            rgb = np.array([PALETTE.get(k, PALETTE["lawn"]) for k in vk])[vm.face_building]
            vp.cell_data["rgb"] = (rgb * 255).astype(np.uint8)
            plotter.add_mesh(vp, scalars="rgb", rgb=True)
    water = scene.layers.get("water")
    if water is not None and len(water) and scene.terrain is not None:
        g = water.geometry.values
        xy = shapely.get_coordinates(shapely.segmentize(shapely.boundary(g), 5.0))
        zb = np.nanmin(scene.terrain.sample(*shapely.get_coordinates(shapely.segmentize(g, 5.0)).T))
        zw = float(zb + 1.0) if np.isfinite(zb) else 0.0
        wm = extrude_buildings(g, zw - 0.2, zw, origin=mesh.origin)
        wp = wm.to_pyvista()
        plotter.add_mesh(wp, color=PALETTE["water"], opacity=0.85)
        del xy
    return mesh


def snapshot(scene, path, color_by=None, camera="iso", face_values=None, highlight=None,
             title=None, cmap="inferno", clim=None, scalar_title=None,
             window_size=(1600, 1000), mesh=None):
    """Render a scene offscreen to a PNG.

    Parameters
    ----------
    scene : Scene
    path : str or Path
        Output PNG.
    color_by : str, optional
        ``None`` (surface kinds, project in orange), ``"height"`` or a numeric
        column of ``scene.buildings``.
    camera : {"iso", "top", "south", "north", "street"} or pyvista camera position
    face_values : (m,) float, optional
        Values per face of ``mesh`` (default ``scene.mesh()``), e.g. kWh/m².
    highlight : list of building ids, optional
    title : str, optional
        Caption drawn in the top-left corner.
    window_size : (int, int)
        Pixels.

    Returns
    -------
    pathlib.Path
        The written PNG.
    """
    pv = _pv()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pl = pv.Plotter(off_screen=True, window_size=list(window_size))
    pl.set_background(PALETTE["background"])
    m = add_scene(pl, scene, mesh=mesh, color_by=color_by, face_values=face_values,
                  highlight=highlight, cmap=cmap, clim=clim, scalar_title=scalar_title)
    if title:
        pl.add_text(title, position="upper_left", font_size=12, color="black")
    pl.enable_anti_aliasing("fxaa")
    b = m.to_pyvista().bounds if m.n_faces else (0, 1, 0, 1, 0, 1)
    _camera(pl, camera, b)
    pl.add_light(pv.Light(position=(b[1], b[2], b[5] * 3 + 100), light_type="scene light", intensity=0.4))
    pl.screenshot(str(path))
    pl.close()
    return path


def compare(before, after, path, camera="iso", titles=("Before", "After"), color_by=None,
            window_size=(2400, 1000)):
    """Side-by-side render of two scenes (e.g. ``scene`` and
    ``scene.with_project(bim)``) with linked cameras.

    Returns
    -------
    pathlib.Path
    """
    pv = _pv()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pl = pv.Plotter(off_screen=True, shape=(1, 2), window_size=list(window_size), border=False)
    origin = before.mesh().origin
    bounds = None
    for i, sc in enumerate((before, after)):
        pl.subplot(0, i)
        pl.set_background(PALETTE["background"])
        m = sc.mesh()
        if not np.allclose(m.origin, origin):
            m = CityMesh.concatenate([m], origin=origin)
        add_scene(pl, sc, mesh=m, color_by=color_by)
        pl.add_text(titles[i], position="upper_left", font_size=14, color="black")
        bounds = bounds or m.to_pyvista().bounds
        _camera(pl, camera, bounds)
    pl.link_views()
    pl.screenshot(str(path))
    pl.close()
    return path


def figure_is_blank(path, tol: float = 2.0) -> bool:
    """True when a PNG is (nearly) uniform: the check tests use on renders."""
    from PIL import Image

    a = np.asarray(Image.open(path).convert("RGB"), dtype=float)
    return float(a.std(axis=(0, 1)).max()) < tol
