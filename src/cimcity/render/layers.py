"""A scene's buildings, vegetation and ground added to a pyvista plotter, in
the palette or coloured by a value with a readable colour bar."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..mesh import KIND_CODES
from .core import PALETTE, _pv
from .ground import add_ground, vegetation_mesh
from .legend import bar_arguments, is_count, quantity_title


def _base_colours(scene, mesh, highlight):
    """(m, 3) RGB per face: surface kinds, green roofs, project, highlight."""
    kind = mesh.face_kind
    B = scene.buildings
    ids = mesh.building_ids
    is_project = np.isin(ids, list(scene.projects)) if len(ids) else np.zeros(0, bool)
    fb = mesh.face_building
    ok = fb >= 0
    face_project = np.zeros(mesh.n_faces, bool)
    face_project[ok] = is_project[fb[ok]]
    face_high = np.zeros(mesh.n_faces, bool)
    if highlight is not None and len(ids):
        face_high[ok] = np.isin(ids, list(highlight))[fb[ok]]
    rgb = np.zeros((mesh.n_faces, 3))
    for k in ("roof", "wall", "base", "terrain"):
        rgb[kind == KIND_CODES[k]] = PALETTE[k]
    if len(B) and "green_roof" in B.columns:
        green = B["green_roof"].reindex(ids).fillna(False).to_numpy(bool)
        gf = ok & (kind == KIND_CODES["roof"])
        gf[gf] = green[fb[gf]]
        rgb[gf] = PALETTE["green_roof"]
    rgb[face_project & (kind != KIND_CODES["terrain"])] = PALETTE["project"]
    rgb[face_high] = PALETTE["highlight"]
    return rgb


def _face_values(scene, mesh, color_by, face_values):
    """Values per face from ``face_values`` or a building column (NaN elsewhere)."""
    if face_values is not None:
        values = np.asarray(face_values, float)
        if values.shape != (mesh.n_faces,):
            raise InputError(
                f"face_values must have one value per face ({mesh.n_faces}); "
                f"got {values.shape}"
            )
        return values
    B = scene.buildings
    if color_by is None or not len(B):
        return None
    if color_by not in B.columns:
        raise InputError(
            f"unknown color_by {color_by!r}; expected None, 'height' or a numeric "
            f"column of scene.buildings"
        )
    col = np.asarray(B[color_by].reindex(mesh.building_ids), dtype=float)
    fb, kind = mesh.face_building, mesh.face_kind
    values = np.full(mesh.n_faces, np.nan)
    sel = (fb >= 0) & (kind != KIND_CODES["terrain"])
    values[sel] = col[fb[sel]]
    return values


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
    *,
    categories=None,
    ground=True,
    lang=None,
):
    """Add a scene (ground, buildings, vegetation, roads, water) to a plotter.

    Parameters
    ----------
    plotter : pyvista.Plotter
    scene : Scene
    mesh : CityMesh, optional
        Defaults to ``scene.mesh()``; ``face_values`` align with its faces.
    color_by : str, optional
        ``None`` (surface kinds, projects in orange), ``"height"`` or any
        numeric column of ``scene.buildings``.
    face_values : (m,) float, optional
        A value per mesh face (e.g. irradiation [kWh/m²]); NaN faces are drawn
        in the default colours.
    highlight : list of building ids, optional
        Drawn in red.
    cmap : str
        Matplotlib colour map of the values.
    clim : (float, float), optional
        Colour limits (default: the values' range).
    scalar_title : str, optional
        Colour bar title: a catalogue key or term ("height", "flooded
        storeys": shown with its unit in ``lang``), or any text; default
        ``color_by``.
    vegetation : bool
        Draw trees and lawns.
    opacity : float
        Opacity of the buildings.
    categories : bool, optional
        One colour per whole value and one bar label each (counts such as
        flooded storeys). None: detected (whole values, at most
        :data:`~cimcity.render.legend.MAX_CATEGORIES` of them).
    ground : bool
        Draw the ground (terrain, or a surface through the buildings' ground
        altitudes) with roads, water and parcels draped on it
        (:func:`~cimcity.render.ground.add_ground`).
    lang : {"fr", "en"}, optional
        Language of the colour bar (package default when None).

    Returns
    -------
    CityMesh
        The mesh drawn (local coordinates).
    """
    _pv()
    mesh = scene.mesh() if mesh is None else mesh
    poly = mesh.to_pyvista()
    base_rgb = _base_colours(scene, mesh, highlight)
    values = _face_values(scene, mesh, color_by, face_values)
    if scalar_title is None and face_values is None:
        scalar_title = color_by
    if ground:
        add_ground(plotter, scene, mesh)
    if values is not None and np.isfinite(values).any():
        has = np.isfinite(values)
        plain = poly.extract_cells(np.flatnonzero(~has)) if (~has).any() else None
        shown = poly.extract_cells(np.flatnonzero(has))
        shown.cell_data["value"] = values[has]
        lo, hi = (
            (float(np.nanmin(values)), float(np.nanmax(values)))
            if clim is None
            else (float(clim[0]), float(clim[1]))
        )
        count = is_count(values[has]) if categories is None else bool(categories)
        title = quantity_title(scalar_title, lang)
        extra = {}
        if count:
            lo, hi = np.floor(lo), max(np.ceil(hi), np.floor(lo))
            levels = int(hi - lo) + 1
            extra = {
                "n_colors": levels,
                "annotations": {float(k): f"{k:.0f}" for k in np.arange(lo, hi + 1)},
            }
            bar = bar_arguments(title, lo, hi, categories=True)
            bar["n_labels"] = 0
            lo, hi = lo - 0.5, hi + 0.5
        else:
            if hi <= lo:
                lo, hi = lo - 0.5, hi + 0.5
            bar = bar_arguments(title, lo, hi)
        plotter.add_mesh(
            shown,
            scalars="value",
            cmap=cmap,
            clim=(lo, hi),
            opacity=opacity,
            scalar_bar_args=bar,
            show_scalar_bar=True,
            lighting=True,
            smooth_shading=False,
            **extra,
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
        vm, vk = vegetation_mesh(scene, mesh.origin)
        if vm is not None and vm.n_faces:
            vp = vm.to_pyvista()
            rgb = np.array([PALETTE.get(k, PALETTE["lawn"]) for k in vk])[
                vm.face_building
            ]
            vp.cell_data["rgb"] = (rgb * 255).astype(np.uint8)
            plotter.add_mesh(vp, scalars="rgb", rgb=True)
    return mesh
