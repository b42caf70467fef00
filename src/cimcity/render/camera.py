"""Where the camera stands: named views fitted to a box, eye-level views from a
point and a heading, and the box that frames a project with its neighbours.

Written by hand: pyvista's ``view_isometric``/``reset_camera`` fit the bounding
sphere of everything drawn (a large terrain makes the buildings small) and know
nothing of a pedestrian's eye or of a project's neighbours.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import InputError

CAMERAS = ("iso", "top", "south", "north", "east", "west", "street")
#: more named views of :func:`set_camera` (``iso_high``: as ``iso``, 53° above
#: the horizon instead of 33°: the view :func:`~cimcity.render.snapshot` uses to
#: frame a project)
MORE_VIEWS = ("iso_high",)
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
    "iso_high": ((0.55, -0.75, 1.25), (0.0, 0.0, 1.0), 1.0),
}
#: share of the viewport the fitted box may span (the rest is margin)
VIEW_FILL = 0.92
#: keys of an eye-level view (:func:`eye_level`)
EYE_KEYS = ("eye", "heading", "height", "pitch", "fov", "ground_z")
#: default eye height above the ground [m] and field of view [deg, vertical]
EYE_HEIGHT = 1.6
EYE_FOV = 60.0
#: a project is framed with the neighbours within this many project sizes
#: (and at least FOCUS_MIN_RADIUS metres) around it
FOCUS_SIZES = 1.5
FOCUS_MIN_RADIUS = 30.0


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


def eye_level(
    eye,
    heading,
    *,
    height: float = EYE_HEIGHT,
    pitch: float = 0.0,
    ground_z: float = 0.0,
    origin=(0.0, 0.0, 0.0),
):
    """Camera position of a person standing at ``eye`` looking toward ``heading``.

    Parameters
    ----------
    eye : (x, y) float
        Where the person stands [m, scene CRS].
    heading : float
        Direction of the gaze [deg], clockwise from grid north (0 north,
        90 east, 180 south, 270 west).
    height : float
        Eye height above the ground [m] (1.6 m by default).
    pitch : float
        Gaze above (positive) or below the horizon [deg], in (-90, 90).
    ground_z : float
        Ground altitude under the eye [m, same vertical frame as the scene].
    origin : (3,) float
        The plotter's local origin (``CityMesh.origin``) [m]: the camera is
        returned in plotter coordinates ``world - origin``.

    Returns
    -------
    list
        ``[eye, focal point, view up]`` in plotter coordinates, the focal
        point 100 m along the gaze.

    Raises
    ------
    InputError
        Non-finite values or a pitch outside (-90, 90).
    """
    x, y = (float(v) for v in np.asarray(eye, float).ravel()[:2])
    values = np.array([x, y, heading, height, pitch, ground_z], float)
    if not np.all(np.isfinite(values)) or not -90.0 < pitch < 90.0:
        raise InputError(
            f"an eye-level view needs finite eye=(x, y), heading, height and "
            f"ground_z, and a pitch in (-90, 90) degrees; got eye={eye!r}, "
            f"heading={heading!r}, height={height!r}, pitch={pitch!r}, "
            f"ground_z={ground_z!r}"
        )
    h, p = np.radians(heading), np.radians(pitch)
    gaze = np.array([np.sin(h) * np.cos(p), np.cos(h) * np.cos(p), np.sin(p)])
    up = np.array([-np.sin(h) * np.sin(p), -np.cos(h) * np.sin(p), np.cos(p)])
    pos = np.array([x, y, ground_z + height]) - np.asarray(origin, float)
    return [tuple(pos), tuple(pos + 100.0 * gaze), tuple(up)]


def _eye_view(plotter, view: Mapping, origin):
    unknown = set(view) - set(EYE_KEYS)
    if unknown or "eye" not in view or "heading" not in view:
        raise InputError(
            f"an eye-level view is dict(eye=(x, y), heading=deg, height=1.6, "
            f"pitch=0, fov=60, ground_z=...); got keys {sorted(view)}"
        )
    position = eye_level(
        view["eye"],
        view["heading"],
        height=view.get("height", EYE_HEIGHT),
        pitch=view.get("pitch", 0.0),
        ground_z=view.get("ground_z", 0.0),
        origin=(0.0, 0.0, 0.0) if origin is None else origin,
    )
    plotter.camera.parallel_projection = False
    plotter.camera.view_angle = float(view.get("fov", EYE_FOV))
    plotter.camera_position = position
    plotter.reset_camera_clipping_range()
    # a close near plane: the street in front of the eye is visible
    plotter.camera.clipping_range = (0.2, max(plotter.camera.clipping_range[1], 2000.0))
    return plotter


def set_camera(plotter, view="iso", bounds=None, *, origin=None, reserve_right=0.0):
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
    view : str, dict or camera position
        One of :data:`CAMERAS`: ``"iso"`` (from the south-east, above),
        ``"top"`` (straight down, grid north up), ``"south"``, ``"north"``,
        ``"east"``, ``"west"`` (from that side, 24° above the horizon) or
        ``"street"`` (low from the south, magnified 2.2× on the centre);
        directions are in the plotter's coordinates (a cimcity mesh's local
        frame: x = grid east, y = grid north). An eye-level view
        ``dict(eye=(x, y), heading=deg, height=1.6, pitch=0, fov=60,
        ground_z=z)``: a person standing at ``eye`` [m, scene CRS] looking
        toward ``heading`` (clockwise from grid north), see :func:`eye_level`;
        ``origin`` turns it into plotter coordinates. Or a pyvista camera
        position ``[eye, focal point, view up]``, used as given.
    bounds : (xmin, xmax, ymin, ymax, zmin, zmax), optional
        Box to look at and fit in view [m, plotter coordinates]; default: the
        bounds of everything in the plotter.
    origin : (3,) float, optional
        The plotter's local origin [m] (``CityMesh.origin``), for eye-level
        views given in scene coordinates.
    reserve_right : float
        Share of the viewport's width, on the right, kept free of the fitted
        box (room for a colour bar), in [0, 0.5).

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
    if isinstance(view, Mapping):
        return _eye_view(plotter, view, origin)
    if isinstance(view, tuple | list):
        plotter.camera_position = view
        return plotter
    if view not in VIEWS:
        raise InputError(
            f"unknown camera {view!r}; expected one of {CAMERAS + MORE_VIEWS}, an eye-level "
            f"dict(eye=(x, y), heading=deg) or a camera position "
            f"[eye, focal point, view up]"
        )
    b = plotter.bounds if bounds is None else bounds
    b = np.asarray(b, float).ravel()
    if b.shape != (6,) or not np.all(np.isfinite(b)) or np.any(b[1::2] < b[::2]):
        raise InputError(
            f"bounds must be (xmin, xmax, ymin, ymax, zmin, zmax) with min <= max; "
            f"got {bounds!r}"
        )
    if not 0.0 <= reserve_right < 0.5:
        raise InputError(f"reserve_right must be in [0, 0.5); got {reserve_right!r}")
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
    full_aspect = _aspect(plotter)
    aspect = full_aspect * (1.0 - reserve_right)
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
        half_width = scale * full_aspect
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
        half_width = dist * t * full_aspect
    # the fitted box sits in the left (1 - reserve_right) of the viewport
    c = c + right * reserve_right * half_width
    plotter.camera_position = [tuple(c + d * dist), tuple(c), tuple(upv)]
    if cam.parallel_projection:
        cam.parallel_scale = scale
    plotter.reset_camera_clipping_range()
    return plotter


def _camera(plotter, mode, bounds):
    """Deprecated private name of :func:`set_camera`."""
    return set_camera(plotter, mode, bounds)


def focus_bounds(mesh, ids, *, sizes: float = FOCUS_SIZES, min_radius=FOCUS_MIN_RADIUS):
    """The box [plotter coordinates] framing buildings ``ids`` with their neighbours.

    The box is the buildings' plan extent grown by ``sizes`` times its larger
    side (at least ``min_radius`` metres) on every side; vertically it spans the
    drawn geometry. Use it as ``bounds`` of :func:`set_camera`.

    Parameters
    ----------
    mesh : CityMesh
        The drawn mesh (its ``building_ids`` and local vertices).
    ids : sequence of building ids
        The buildings to frame (e.g. ``scene.projects``).
    sizes : float
        Margin around them, in multiples of their plan size.
    min_radius : float
        Smallest margin [m].

    Returns
    -------
    (6,) float
        ``(xmin, xmax, ymin, ymax, zmin, zmax)``.

    Raises
    ------
    InputError
        None of ``ids`` is in the mesh.
    """
    ids = list(ids)
    have = np.isin(mesh.building_ids, ids) if len(mesh.building_ids) else np.zeros(0, bool)
    fb = mesh.face_building
    faces = (fb >= 0) & have[np.clip(fb, 0, None)] if have.size else np.zeros(len(fb), bool)
    if not faces.any():
        raise InputError(
            f"cannot frame {ids!r}: none of them is drawn in the scene "
            f"(buildings with a project: scene.with_project(bim))"
        )
    v = mesh.vertices[np.unique(mesh.faces[faces])]
    lo, hi = v.min(axis=0), v.max(axis=0)
    pad = max(sizes * float(max(hi[0] - lo[0], hi[1] - lo[1])), min_radius)
    allv = mesh.vertices
    return np.array(
        [lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad,
         float(allv[:, 2].min()), float(max(hi[2], allv[:, 2].max()))]
    )
