"""Views for people: offscreen 3D renders (PNG) of scenes and analysis results.

pyvista (VTK) renders offscreen; geometry is drawn in the mesh's local frame
(float32 safe). Colours: buildings in warm greys by surface kind, BIM projects
in orange, vegetation in greens, water in blue, terrain in a light earth tone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely

from ._compat import import_optional, keyword_only_after
from .errors import InputError
from .mesh import KIND_CODES, CityMesh, extrude_buildings
from .sun.occluders import TREE_KINDS, _ground_under, crown_levels

PALETTE = {
    "roof": (0.62, 0.60, 0.58),
    "wall": (0.90, 0.87, 0.80),
    "base": (0.5, 0.5, 0.5),
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
CAMERAS = ("iso", "top", "south", "north", "east", "west", "street")
#: picture files :func:`snapshot` and :func:`compare` write (by suffix)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
#: page files :func:`to_html` writes
PAGE_SUFFIXES = (".html", ".htm")


def _output(path, suffixes, what: str) -> Path:
    """``path`` as a Path after checking its suffix (``InputError`` naming the
    accepted ones), parent folders created."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        other = (
            " (an interactive page: cimcity.render.to_html)"
            if path.suffix.lower() in PAGE_SUFFIXES
            else ""
        )
        raise InputError(
            f"cannot write {what} {path.name!r}: unknown file type "
            f"{path.suffix or '(none)'!r}{other}; expected one of {', '.join(suffixes)}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _x_display_reachable(display: str) -> bool:
    """Whether the X server of ``display`` (``:0``, ``unix:1.0``, ``host:10.0``)
    accepts a connection, tried for at most 0.2 s."""
    import socket

    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False
    if host in ("", "unix"):
        sockets = (f"\0/tmp/.X11-unix/X{number}", f"/tmp/.X11-unix/X{number}")
        for address in sockets:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(0.2)
                try:
                    sock.connect(address)
                    return True
                except OSError:
                    continue
        return False
    try:
        with socket.create_connection((host, 6000 + int(number)), timeout=0.2):
            return True
    except OSError:
        return False


def _offscreen_gl() -> None:
    """Render through EGL when no X server answers (Linux).

    Without it VTK probes the X server of ``DISPLAY`` first and prints "bad X
    server connection" on every render of a headless machine (or a stale
    ``DISPLAY``) before falling back. A choice the user made
    (``VTK_DEFAULT_OPENGL_WINDOW``) is kept.
    """
    import os
    import sys

    if not sys.platform.startswith("linux") or os.environ.get(
        "VTK_DEFAULT_OPENGL_WINDOW"
    ):
        return
    display = os.environ.get("DISPLAY", "")
    if not display or not _x_display_reachable(display):
        os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = "vtkEGLRenderWindow"


def _pv():
    _offscreen_gl()
    pv = import_optional("pyvista")
    pv.OFF_SCREEN = True
    return pv


# every view module (solar, flood, permit figures) imports this one before it
# creates a plotter, so the choice is made before any VTK window exists
_offscreen_gl()


def _vegetation_mesh(scene, origin):
    """Vegetation as simple solids: tree crowns as prisms (the crown model of
    :func:`cimcity.sun.occluders.tree_crowns`, which is what shades with
    ``trees=True``), lawns as thin slabs."""

    V = scene.vegetation
    if not len(V):
        return None, None
    geoms = V.geometry.values
    kind = V["kind"].astype(str).to_numpy()
    h = V["height"].to_numpy(float) if "height" in V.columns else np.full(len(V), 0.2)
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
        c = shapely.centroid(geoms)
        gz = _ground_under(scene, shapely.get_x(c), shapely.get_y(c))
    keep = kind != "green_roof"  # green roofs are drawn on the roofs themselves
    tree = np.isin(kind, TREE_KINDS)
    # trees without a height (not occluders) are drawn 3 m tall
    cb, ct = crown_levels(np.where(np.isfinite(h) & (h > 0), h, 3.0))
    base = np.where(tree, gz + cb, gz + 0.05)
    top = np.where(tree, gz + ct, gz + 0.25)
    m = extrude_buildings(geoms[keep], base[keep], top[keep], origin=origin)
    return m, np.where(tree, "tree", kind)[keep]


#: named views of :func:`set_camera`: direction from the target to the eye, view-up
#: vector and magnification after the box is fitted in view (``street`` is a
#: close-up of the middle of the scene by design)
VIEWS = {
    "iso": ((0.55, -0.75, 0.65), (0.0, 0.0, 1.0), 1.0),
    "top": ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0), 1.0),
    "south": ((0.0, -1.0, 0.45), (0.0, 0.0, 1.0), 1.0),
    "north": ((0.0, 1.0, 0.45), (0.0, 0.0, 1.0), 1.0),
    "east": ((1.0, 0.0, 0.45), (0.0, 0.0, 1.0), 1.0),
    "west": ((-1.0, 0.0, 0.45), (0.0, 0.0, 1.0), 1.0),
    "street": ((0.25, -1.0, 0.16), (0.0, 0.0, 1.0), 2.2),
}
#: share of the viewport the fitted box may span (the rest is margin)
VIEW_FILL = 0.92


def _aspect(plotter) -> float:
    """Width / height of the plotter's active viewport."""
    w, h = plotter.window_size
    x0, y0, x1, y1 = plotter.renderer.GetViewport()
    return max(w * (x1 - x0), 1.0) / max(h * (y1 - y0), 1.0)


#: at most this many points of the drawn meshes are used to fit the view
_FIT_POINTS = 200_000


def _content_points(plotter, b):
    """Points of the plotter's meshes inside box ``b`` (its 8 corners when none)."""
    corners = np.array(np.meshgrid(b[0:2], b[2:4], b[4:6])).reshape(3, -1).T
    pts = []
    try:
        meshes = list(plotter.meshes)
    except Exception:  # pragma: no cover - older pyvista
        meshes = []
    for m in meshes:
        p = getattr(m, "points", None)
        if p is None or not len(p):
            continue
        p = np.asarray(p, float)
        if len(p) > _FIT_POINTS:
            p = p[:: int(np.ceil(len(p) / _FIT_POINTS))]
        tol = 1e-6 * max(float(np.abs(b).max()), 1.0)
        inside = np.all((p >= b[::2] - tol) & (p <= b[1::2] + tol), axis=1)
        pts.append(p[inside])
    pts = np.concatenate(pts) if pts else np.zeros((0, 3))
    return pts if len(pts) else corners


def set_camera(plotter, view="iso", bounds=None):
    """Point a pyvista plotter's camera along a named view and fit a box in it.

    The camera looks along the view's direction at what the plotter draws
    inside ``bounds`` (the points of its meshes; the box's corners when it
    draws nothing there), centred across the view, from the distance at which
    all of it projects inside :data:`VIEW_FILL` of the viewport (perspective or
    parallel projection, the renderer's own view angle and aspect ratio).

    Parameters
    ----------
    plotter : pyvista.Plotter
        Any plotter (the active renderer of a multi-view plotter).
    view : str or camera position
        One of :data:`CAMERAS`: ``"iso"`` (from the south-east, above),
        ``"top"`` (straight down, grid north up), ``"south"``, ``"north"``,
        ``"east"``, ``"west"`` (from that side, 24° above the horizon) or
        ``"street"`` (low from the south, magnified 2.2× on the centre);
        directions are in the plotter's coordinates (a cimcity mesh's local
        frame: x = grid east, y = grid north). Or a pyvista camera position
        ``[eye, focal point, view up]``, used as given.
    bounds : (xmin, xmax, ymin, ymax, zmin, zmax), optional
        Box to look at and fit in view [m, plotter coordinates]; default: the
        bounds of everything in the plotter.

    Returns
    -------
    pyvista.Plotter
        The same plotter, camera set.

    Raises
    ------
    InputError
        Unknown view name or malformed bounds.

    Examples
    --------
    >>> pl = pv.Plotter(off_screen=True)  # doctest: +SKIP
    >>> render.add_scene(pl, scene)  # doctest: +SKIP
    >>> render.set_camera(pl, "top").screenshot("top.png")  # doctest: +SKIP
    """
    if isinstance(view, tuple | list):
        plotter.camera_position = view
        return plotter
    if view not in VIEWS:
        raise InputError(
            f"unknown camera {view!r}; expected one of {CAMERAS} or a camera "
            f"position [eye, focal point, view up]"
        )
    b = plotter.bounds if bounds is None else bounds
    b = np.asarray(b, float).ravel()
    if b.shape != (6,) or not np.all(np.isfinite(b)) or np.any(b[1::2] < b[::2]):
        raise InputError(
            f"bounds must be (xmin, xmax, ymin, ymax, zmin, zmax) with min <= max; "
            f"got {bounds!r}"
        )
    c = np.array([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, (b[4] + b[5]) / 2])
    d, up, magnify = VIEWS[view]
    d = np.asarray(d, float) / np.linalg.norm(d)
    # camera frame: right, true up (view-up made orthogonal to the view)
    right = np.cross(-d, np.asarray(up, float))
    right /= np.linalg.norm(right)
    upv = np.cross(right, -d)
    # fit what is drawn inside the box (not the empty corners of the box),
    # centred on the middle of its extent across the view
    pts = _content_points(plotter, b)
    cam = plotter.camera
    aspect = _aspect(plotter)
    fill = VIEW_FILL * magnify
    span = max(float(np.linalg.norm(b[1::2] - b[::2])), 1.0)

    def frame(c):
        q = pts - c
        return q @ right, q @ upv, q @ d  # across, up, toward the eye

    x, y, depth = frame(c)
    c = c + right * (x.max() + x.min()) / 2 + upv * (y.max() + y.min()) / 2
    x, y, depth = frame(c)
    if cam.parallel_projection:
        scale = max(float(np.abs(y).max()), float(np.abs(x).max()) / aspect, 1e-3)
        scale /= fill
        dist = float(depth.max()) + span
    else:
        t = np.tan(np.radians(cam.view_angle) / 2)

        def fit(x, y, depth):
            # a point at lateral offset x and depth z fits when |x| <= t (D - z)
            need = depth + np.maximum(
                np.abs(y) / (t * fill), np.abs(x) / (t * fill * aspect)
            )
            return max(float(need.max()), float(depth.max()) + 1e-3 * span)

        dist = fit(x, y, depth)
        for _ in range(6):  # perspective: centre the projected extent, refit
            z = dist - depth
            u, v = x / (z * t * aspect), y / (z * t)  # normalised image coordinates
            du, dv = (u.max() + u.min()) / 2, (v.max() + v.min()) / 2
            c = c + right * du * dist * t * aspect + upv * dv * dist * t
            x, y, depth = frame(c)
            dist = fit(x, y, depth)
    plotter.camera_position = [tuple(c + d * dist), tuple(c), tuple(upv)]
    if cam.parallel_projection:
        cam.parallel_scale = scale
    plotter.reset_camera_clipping_range()
    return plotter


def _camera(plotter, mode, bounds):
    """Deprecated private name of :func:`set_camera`."""
    return set_camera(plotter, mode, bounds)


def add_scene(
    plotter,
    scene,
    mesh=None,
    color_by=None,
    face_values=None,
    highlight=None,
    cmap="inferno",
    clim=None,
    scalar_title=None,
    vegetation=True,
    opacity=1.0,
):
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
    _pv()
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
    for k in ("roof", "wall", "base", "terrain"):
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
            raise InputError(
                f"face_values must have one value per face ({mesh.n_faces}); got {values.shape}"
            )
    elif color_by is not None and len(B):
        if color_by not in B.columns:
            raise InputError(
                f"unknown color_by {color_by!r}; expected None, 'height' or a numeric column of scene.buildings"
            )
        col = np.asarray(B[color_by].reindex(ids), dtype=float)
        values = np.full(mesh.n_faces, np.nan)
        values[ok & (kind != KIND_CODES["terrain"])] = col[
            fb[ok & (kind != KIND_CODES["terrain"])]
        ]
        scalar_title = scalar_title or color_by

    if values is not None and np.isfinite(values).any():
        has = np.isfinite(values)
        plain = poly.extract_cells(np.flatnonzero(~has)) if (~has).any() else None
        shown = poly.extract_cells(np.flatnonzero(has))
        shown.cell_data["value"] = values[has]
        plotter.add_mesh(
            shown,
            scalars="value",
            cmap=cmap,
            clim=clim,
            opacity=opacity,
            scalar_bar_args={
                "title": scalar_title or "",
                "vertical": True,
                "position_x": 0.88,
                "position_y": 0.15,
                "height": 0.7,
            },
            show_scalar_bar=True,
            lighting=True,
            smooth_shading=False,
        )
        if plain is not None and plain.n_cells:
            plain.cell_data["rgb"] = (base_rgb[~has] * 255).astype(np.uint8)
            plotter.add_mesh(plain, scalars="rgb", rgb=True, opacity=opacity)
    else:
        poly.cell_data["rgb"] = (base_rgb * 255).astype(np.uint8)
        plotter.add_mesh(
            poly,
            scalars="rgb",
            rgb=True,
            opacity=opacity,
            lighting=True,
            ambient=0.25,
            diffuse=0.8,
        )

    if vegetation:
        vm, vk = _vegetation_mesh(scene, mesh.origin)
        if vm is not None and vm.n_faces:
            vp = vm.to_pyvista()
            rgb = np.array([PALETTE.get(k, PALETTE["lawn"]) for k in vk])[
                vm.face_building
            ]
            vp.cell_data["rgb"] = (rgb * 255).astype(np.uint8)
            plotter.add_mesh(vp, scalars="rgb", rgb=True)
    water = scene.layers.get("water")
    if water is not None and len(water) and scene.terrain is not None:
        g = water.geometry.values
        zb = np.nanmin(
            scene.terrain.sample(*shapely.get_coordinates(shapely.segmentize(g, 5.0)).T)
        )
        zw = float(zb + 1.0) if np.isfinite(zb) else 0.0
        wm = extrude_buildings(g, zw - 0.2, zw, origin=mesh.origin)
        wp = wm.to_pyvista()
        plotter.add_mesh(wp, color=PALETTE["water"], opacity=0.85)
    return mesh


@keyword_only_after(2)
def snapshot(
    scene,
    path,
    *,
    color_by=None,
    camera="iso",
    face_values=None,
    highlight=None,
    title=None,
    cmap="inferno",
    clim=None,
    scalar_title=None,
    window_size=(1600, 1000),
    mesh=None,
):
    """Render a scene offscreen to a PNG.

    Parameters
    ----------
    scene : Scene
    path : str or Path
        Output picture: ``.png``, ``.jpg``/``.jpeg``, ``.bmp`` or
        ``.tif``/``.tiff`` (:data:`IMAGE_SUFFIXES`); an interactive page is
        :func:`to_html`.
    color_by : str, optional
        ``None`` (surface kinds, project in orange), ``"height"`` or a numeric
        column of ``scene.buildings``.
    camera : str or pyvista camera position
        A view of :func:`set_camera` (``"iso"``, ``"top"``, ``"south"``...).
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
        The written picture.

    Raises
    ------
    InputError
        ``path`` has another suffix than :data:`IMAGE_SUFFIXES`.
    """
    path = _output(path, IMAGE_SUFFIXES, "a picture")
    pv = _pv()
    pl = pv.Plotter(off_screen=True, window_size=list(window_size))
    pl.set_background(PALETTE["background"])
    m = add_scene(
        pl,
        scene,
        mesh=mesh,
        color_by=color_by,
        face_values=face_values,
        highlight=highlight,
        cmap=cmap,
        clim=clim,
        scalar_title=scalar_title,
    )
    if title:
        pl.add_text(title, position="upper_left", font_size=12, color="black")
    pl.enable_anti_aliasing("msaa")
    b = m.to_pyvista().bounds if m.n_faces else (0, 1, 0, 1, 0, 1)
    set_camera(pl, camera, b)
    pl.add_light(
        pv.Light(
            position=(b[1], b[2], b[5] * 3 + 100),
            light_type="scene light",
            intensity=0.4,
        )
    )
    pl.screenshot(str(path))
    pl.close()
    return path


@keyword_only_after(3)
def compare(
    before,
    after,
    path,
    *,
    camera="iso",
    titles=("Before", "After"),
    color_by=None,
    window_size=(2400, 1000),
):
    """Side-by-side render of two scenes (e.g. ``scene`` and
    ``scene.with_project(bim)``) with linked cameras.

    Parameters
    ----------
    before, after : Scene
    path : str or Path
        Output picture (:data:`IMAGE_SUFFIXES`).

    Returns
    -------
    pathlib.Path
    """
    path = _output(path, IMAGE_SUFFIXES, "a picture")
    pv = _pv()
    pl = pv.Plotter(
        off_screen=True, shape=(1, 2), window_size=list(window_size), border=False
    )
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
        set_camera(pl, camera, bounds)
    pl.link_views()
    pl.screenshot(str(path))
    pl.close()
    return path


def figure_is_blank(path, tol: float = 2.0) -> bool:
    """True when a PNG is (nearly) uniform: the check tests use on renders."""
    from PIL import Image

    a = np.asarray(Image.open(path).convert("RGB"), dtype=float)
    return float(a.std(axis=(0, 1)).max()) < tol


# -- standalone interactive page ---------------------------------------------------------
_HTML = """<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>{title}</title>
<style>html,body{{margin:0;height:100%;font-family:sans-serif;background:#fff}}
#c{{width:100%;height:100%;display:block}}
#info{{position:absolute;left:12px;top:10px;background:rgba(255,255,255,.85);padding:6px 10px;border-radius:4px;font-size:14px}}
#legend{{position:absolute;right:12px;bottom:12px;background:rgba(255,255,255,.85);padding:6px 10px;border-radius:4px;font-size:13px}}</style>
</head><body><canvas id="c"></canvas>
<div id="info"><b>{title}</b><br>{subtitle}<br><small>drag: rotate · shift/right-drag: pan · wheel: zoom</small></div>
<div id="legend">{legend}</div>
<script>
"use strict";
const POS_B64 = "{positions}", COL_B64 = "{colors}";
function b64(s) {{ const b = atob(s), u = new Uint8Array(b.length); for (let i = 0; i < b.length; i++) u[i] = b.charCodeAt(i); return u.buffer; }}
const pos = new Float32Array(b64(POS_B64)), col = new Uint8Array(b64(COL_B64));
const canvas = document.getElementById("c");
const gl = canvas.getContext("webgl2", {{antialias: true, preserveDrawingBuffer: true}});
if (!gl) {{ document.getElementById("info").innerHTML += "<br><b>WebGL2 is not available in this browser.</b>"; }}
const vs = `#version 300 es
in vec3 p; in vec3 c; uniform mat4 m; out vec3 vp; out vec3 vc;
void main() {{ vp = p; vc = c; gl_Position = m * vec4(p, 1.0); }}`;
const fs = `#version 300 es
precision highp float; in vec3 vp; in vec3 vc; out vec4 o;
void main() {{ vec3 n = normalize(cross(dFdx(vp), dFdy(vp)));
  vec3 l1 = normalize(vec3(0.4, -0.6, 0.8)), l2 = normalize(vec3(-0.5, 0.4, 0.3));
  float d = 0.45 + 0.45 * abs(dot(n, l1)) + 0.15 * abs(dot(n, l2));
  o = vec4(vc * d, 1.0); }}`;
function sh(t, s) {{ const x = gl.createShader(t); gl.shaderSource(x, s); gl.compileShader(x); return x; }}
const pr = gl.createProgram(); gl.attachShader(pr, sh(gl.VERTEX_SHADER, vs)); gl.attachShader(pr, sh(gl.FRAGMENT_SHADER, fs));
gl.linkProgram(pr); gl.useProgram(pr);
function buf(data, loc, n, type, norm) {{ const b = gl.createBuffer(); gl.bindBuffer(gl.ARRAY_BUFFER, b);
  gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW); gl.enableVertexAttribArray(loc); gl.vertexAttribPointer(loc, n, type, norm, 0, 0); }}
buf(pos, gl.getAttribLocation(pr, "p"), 3, gl.FLOAT, false);
buf(col, gl.getAttribLocation(pr, "c"), 3, gl.UNSIGNED_BYTE, true);
const uM = gl.getUniformLocation(pr, "m");
let lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
for (let i = 0; i < pos.length; i += 3) for (let k = 0; k < 3; k++) {{ lo[k] = Math.min(lo[k], pos[i + k]); hi[k] = Math.max(hi[k], pos[i + k]); }}
let target = [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2];
const span = Math.max(hi[0] - lo[0], hi[1] - lo[1], 1);
let yaw = -0.6, pitch = 0.6, dist = 2.0 * span;
function persp(f, a, n, fa) {{ const t = 1 / Math.tan(f / 2); return [t / a, 0, 0, 0, 0, t, 0, 0, 0, 0, (fa + n) / (n - fa), -1, 0, 0, 2 * fa * n / (n - fa), 0]; }}
function mul(a, b) {{ const o = new Array(16).fill(0); for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 4; k++) o[j * 4 + i] += a[k * 4 + i] * b[j * 4 + k]; return o; }}
function look(e, t, u) {{ const sub = (a, b) => a.map((x, i) => x - b[i]), nrm = a => {{ const l = Math.hypot(...a); return a.map(x => x / l); }};
  const cr = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]], dt = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  const z = nrm(sub(e, t)), x = nrm(cr(u, z)), y = cr(z, x);
  return [x[0], y[0], z[0], 0, x[1], y[1], z[1], 0, x[2], y[2], z[2], 0, -dt(x, e), -dt(y, e), -dt(z, e), 1]; }}
function eye() {{ return [target[0] + dist * Math.cos(pitch) * Math.sin(yaw), target[1] - dist * Math.cos(pitch) * Math.cos(yaw), target[2] + dist * Math.sin(pitch)]; }}
function draw() {{ const w = canvas.clientWidth, h = canvas.clientHeight; canvas.width = w * devicePixelRatio; canvas.height = h * devicePixelRatio;
  gl.viewport(0, 0, canvas.width, canvas.height); gl.clearColor(1, 1, 1, 1); gl.enable(gl.DEPTH_TEST); gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
  gl.uniformMatrix4fv(uM, false, mul(persp(0.8, w / h, dist / 100, dist * 10), look(eye(), target, [0, 0, 1])));
  gl.drawArrays(gl.TRIANGLES, 0, pos.length / 3); }}
let drag = null;
canvas.addEventListener("contextmenu", e => e.preventDefault());
canvas.addEventListener("mousedown", e => {{ drag = {{x: e.clientX, y: e.clientY, pan: e.shiftKey || e.button === 2}}; }});
window.addEventListener("mouseup", () => {{ drag = null; }});
window.addEventListener("mousemove", e => {{ if (!drag) return; const dx = e.clientX - drag.x, dy = e.clientY - drag.y; drag.x = e.clientX; drag.y = e.clientY;
  if (drag.pan) {{ const s = dist / canvas.clientHeight; target[0] -= s * (dx * Math.cos(yaw) + dy * Math.sin(yaw)); target[1] -= s * (dx * Math.sin(yaw) - dy * Math.cos(yaw)); }}
  else {{ yaw -= dx * 0.005; pitch = Math.min(1.55, Math.max(0.05, pitch + dy * 0.005)); }} draw(); }});
canvas.addEventListener("wheel", e => {{ e.preventDefault(); dist *= Math.exp(e.deltaY * 0.001); draw(); }}, {{passive: false}});
window.addEventListener("resize", draw);
if (gl) draw();
</script></body></html>
"""


def _face_colors(
    scene, mesh, face_values=None, cmap="inferno", clim=None, color_by=None
):
    """(m, 3) RGB in [0, 1] per face, and a legend string."""
    kind = mesh.face_kind
    rgb = np.zeros((mesh.n_faces, 3))
    for k in ("roof", "wall", "base", "terrain"):
        rgb[kind == KIND_CODES[k]] = PALETTE[k]
    fb = mesh.face_building
    ok = fb >= 0
    in_project = np.zeros(mesh.n_faces, bool)
    if len(mesh.building_ids):
        proj = np.isin(mesh.building_ids, list(scene.projects))
        in_project = ok & proj[np.clip(fb, 0, None)]
        rgb[in_project] = PALETTE["project"]
    # the legend names what is drawn, nothing else
    swatches = [
        (PALETTE["project"], "project", in_project.any()),
        (PALETTE["roof"], "roofs", (kind == KIND_CODES["roof"]).any()),
        (PALETTE["wall"], "walls", (kind == KIND_CODES["wall"]).any()),
        (PALETTE["terrain"], "terrain", (kind == KIND_CODES["terrain"]).any()),
    ]
    legend = " &nbsp; ".join(
        f"<span style='color:#{''.join(f'{round(c * 255):02x}' for c in rgb_)}'>"
        f"&#9632;</span> {name}"
        for rgb_, name, drawn in swatches
        if drawn
    )
    values = None
    if face_values is not None:
        values = np.asarray(face_values, float)
        if values.shape != (mesh.n_faces,):
            raise InputError(
                f"face_values must have one value per face ({mesh.n_faces}); got {values.shape}"
            )
    elif color_by is not None:
        B = scene.buildings
        if color_by not in B.columns:
            raise InputError(
                f"unknown color_by {color_by!r}; expected None, 'height' or a numeric column of scene.buildings"
            )
        col = np.asarray(B[color_by].reindex(mesh.building_ids), dtype=float)
        values = np.full(mesh.n_faces, np.nan)
        sel = ok & (kind != KIND_CODES["terrain"])
        values[sel] = col[fb[sel]]
    if values is not None and np.isfinite(values).any():
        import matplotlib

        lo, hi = clim if clim is not None else (np.nanmin(values), np.nanmax(values))
        cm = matplotlib.colormaps[cmap]
        has = np.isfinite(values)
        t = (values[has] - lo) / (hi - lo) if hi > lo else np.full(has.sum(), 0.5)
        rgb[has] = cm(np.clip(t, 0, 1))[:, :3]
        legend = f"{color_by or 'value'}: {lo:.3g} (dark) → {hi:.3g} (bright), colormap {cmap}"
    return rgb, legend


@keyword_only_after(2)
def to_html(
    scene,
    path,
    *,
    face_values=None,
    color_by=None,
    title=None,
    subtitle="",
    cmap="inferno",
    clim=None,
    max_terrain_cells: int = 120,
    mesh=None,
):
    """Write a standalone interactive 3D page (one HTML file, no internet needed).

    The geometry is embedded as binary arrays and drawn with a small WebGL2
    viewer (orbit, pan, zoom), so the file opens on any laptop browser.

    Parameters
    ----------
    scene : Scene
    path : str or Path
        Output page, ``.html`` or ``.htm`` (:data:`PAGE_SUFFIXES`).
    face_values : (m,) float, optional
        Values per face of ``mesh`` (colour-mapped).
    color_by : str, optional
        ``"height"`` or a numeric column of ``scene.buildings``.
    max_terrain_cells : int
        Terrain resampled to at most this many cells along its longer side.
    mesh : CityMesh, optional
        Defaults to the scene mesh with a coarse terrain.

    Returns
    -------
    pathlib.Path
    """
    import base64
    import html as _html

    path = _output(path, PAGE_SUFFIXES, "a page")
    if mesh is None:
        step = None
        if scene.terrain is not None:
            step = max(1, int(np.ceil(max(scene.terrain.shape) / max_terrain_cells)))
        mesh = scene.mesh(terrain_step=step)
    rgb, legend = _face_colors(scene, mesh, face_values, cmap, clim, color_by)
    tri = mesh.triangles.astype(np.float32)  # local frame: float32-safe
    pos = np.ascontiguousarray(tri.reshape(-1, 3))
    col = np.repeat((rgb * 255).astype(np.uint8), 3, axis=0)
    page = _HTML.format(
        title=_html.escape(title or (scene.name or "cimcity scene")),
        subtitle=_html.escape(
            subtitle or f"{len(scene.buildings)} buildings · {scene.crs.to_string()}"
        ),
        legend=legend,
        positions=base64.b64encode(pos.tobytes()).decode(),
        colors=base64.b64encode(col.tobytes()).decode(),
    )
    path.write_text(page, encoding="utf-8")
    return path
