"""Offscreen pictures of scenes: one view (:func:`snapshot`) and before/after
side by side (:func:`compare`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .. import i18n
from .._compat import keyword_only_after
from ..errors import InputError
from ..mesh import CityMesh
from .camera import focus_bounds, set_camera
from .core import IMAGE_SUFFIXES, PALETTE, _output, _pv, new_plotter
from .ground import ground_function
from .layers import add_scene
from .legend import BAR_RESERVE

#: ``focus=`` values of :func:`snapshot` and :func:`compare` besides building ids
FOCUS_NAMES = ("project",)
#: with ``focus=``, the oblique named views look down more steeply (53° instead
#: of 33° for "iso") so the neighbours in front do not hide the project
FOCUS_VIEWS = {"iso": "iso_high"}


def _focus_ids(focus, scenes):
    """Building ids to frame: the scenes' projects for ``"project"``."""
    if focus is None:
        return None
    if isinstance(focus, str):
        if focus not in FOCUS_NAMES:
            raise InputError(
                f"unknown focus {focus!r}; expected one of {FOCUS_NAMES} or a list "
                f"of building ids"
            )
        ids = [p for s in scenes for p in s.projects]
        if not ids:
            raise InputError(
                "focus='project' needs a project in the scene: "
                "scene.with_project(bim) (or pass focus=[building ids])"
            )
        return ids
    return list(focus)


def _resolve_eye(camera, scene, origin):
    """An eye-level dict with its ground altitude filled from the scene."""
    if isinstance(camera, Mapping) and "ground_z" not in camera and "eye" in camera:
        x, y = np.asarray(camera["eye"], float).ravel()[:2]
        z = float(ground_function(scene)(np.array([x]), np.array([y]))[0])
        camera = {**camera, "ground_z": z}
    return camera


def _frame(pl, camera, scene, mesh, ids):
    """Set the camera of the active renderer on ``mesh`` (or on ``ids``)."""
    camera = _resolve_eye(camera, scene, mesh.origin)
    if isinstance(camera, Mapping):  # a street view: a sky above the horizon
        pl.set_background(PALETTE["background"], top=PALETTE["sky"])
    reserve = BAR_RESERVE if pl.scalar_bars else 0.0
    if ids is not None:
        b = focus_bounds(mesh, ids)
        camera = FOCUS_VIEWS.get(camera, camera) if isinstance(camera, str) else camera
    else:
        b = mesh.to_pyvista().bounds if mesh.n_faces else (0, 1, 0, 1, 0, 1)
    set_camera(pl, camera, b, origin=mesh.origin, reserve_right=reserve)
    return b


def _scene_light(pl, b):
    pv = _pv()
    pl.add_light(
        pv.Light(
            position=(b[1], b[2], b[5] * 3 + 100),
            light_type="scene light",
            intensity=0.4,
        ),
        only_active=True,
    )


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
    focus=None,
    categories=None,
    lang=None,
):
    """Render a scene offscreen to a picture.

    The buildings stand on a ground (the terrain, or a surface through their
    ground altitudes) with roads, water and parcels draped on it; projects are
    orange; a colour bar, when values are shown, has its unit and plain ticks
    and stays right of the buildings.

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
    camera : str, dict or pyvista camera position
        A view of :func:`set_camera` (``"iso"``, ``"top"``, ``"south"``...), or
        an eye-level view ``dict(eye=(x, y), heading=deg, height=1.6,
        pitch=0, fov=60)``: a person standing at ``eye`` [m, scene CRS] on the
        ground, looking toward ``heading`` [deg clockwise from grid north].
    face_values : (m,) float, optional
        Values per face of ``mesh`` (default ``scene.mesh()``), e.g. kWh/m².
    highlight : list of building ids, optional
    title : str, optional
        Caption drawn in the top-left corner.
    cmap, clim, scalar_title, categories
        Colour map, limits, colour bar title and discrete bar of the values
        (see :func:`add_scene`).
    window_size : (int, int)
        Pixels.
    mesh : CityMesh, optional
    focus : "project" or list of building ids, optional
        Frame these buildings with their neighbours
        (:func:`~cimcity.render.camera.focus_bounds`) instead of the whole
        scene; ``"project"``: the scene's projects.
    lang : {"fr", "en"}, optional
        Language of the colour bar (package default when None).

    Returns
    -------
    pathlib.Path
        The written picture.

    Raises
    ------
    InputError
        ``path`` has another suffix than :data:`IMAGE_SUFFIXES`; unknown
        camera or focus; ``focus="project"`` on a scene without a project.
    """
    path = _output(path, IMAGE_SUFFIXES, "a picture")
    ids = _focus_ids(focus, [scene])
    pl = new_plotter(window_size)
    try:
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
            categories=categories,
            lang=lang,
        )
        if title:
            pl.add_text(title, position="upper_left", font_size=12, color="black")
        pl.enable_anti_aliasing("msaa")
        b = _frame(pl, camera, scene, m, ids)
        _scene_light(pl, b)
        pl.screenshot(str(path))
    finally:
        pl.close()
    return path


@keyword_only_after(3)
def compare(
    before,
    after,
    path,
    *,
    camera="iso",
    titles=None,
    color_by=None,
    window_size=(2400, 1000),
    focus=None,
    lang=None,
):
    """Side-by-side render of two scenes (e.g. ``scene`` and
    ``scene.with_project(bim)``) with linked cameras.

    Parameters
    ----------
    before, after : Scene
    path : str or Path
        Output picture (:data:`IMAGE_SUFFIXES`).
    camera : str or dict
        As in :func:`snapshot` (a named view or an eye-level view).
    titles : (str, str), optional
        Captions; default "Aujourd'hui" / "Avec le projet" ("Today" / "With
        project" in English).
    color_by : str, optional
        As in :func:`snapshot`.
    window_size : (int, int)
        Pixels of the whole picture.
    focus : "project" or list of building ids, optional
        Frame the project of ``after`` (or these buildings) with its
        neighbours in both views.
    lang : {"fr", "en"}, optional
        Language of the captions and colour bar (package default when None).

    Returns
    -------
    pathlib.Path
    """
    path = _output(path, IMAGE_SUFFIXES, "a picture")
    if titles is None:
        titles = (i18n.term("today", lang), i18n.term("with_project", lang))
    ids = _focus_ids(focus, [after, before])
    pl = new_plotter(window_size, shape=(1, 2))
    try:
        origin = before.mesh().origin
        after_mesh = after.mesh()
        if not np.allclose(after_mesh.origin, origin):
            after_mesh = CityMesh.concatenate([after_mesh], origin=origin)
        # both views frame the same box: the project's in the after scene
        box_mesh = after_mesh
        for i, (sc, m) in enumerate(((before, before.mesh()), (after, after_mesh))):
            pl.subplot(0, i)
            pl.set_background((1.0, 1.0, 1.0))
            add_scene(pl, sc, mesh=m, color_by=color_by, lang=lang)
            pl.add_text(titles[i], position="upper_left", font_size=14, color="black")
        for i in (0, 1):
            pl.subplot(0, i)
            b = _frame(pl, camera, after, box_mesh, ids)
            _scene_light(pl, b)
        pl.link_views()
        pl.enable_anti_aliasing("msaa")
        pl.screenshot(str(path))
    finally:
        pl.close()
    return path
