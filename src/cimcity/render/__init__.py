"""Views for people: offscreen 3D renders (PNG) of scenes and analysis results.

pyvista (VTK) renders offscreen; geometry is drawn in the mesh's local frame
(float32 safe). Colours: buildings in warm greys by surface kind, BIM projects
in orange, vegetation in greens, water in blue, the ground in a light earth
tone with roads and parcels draped on it.

The package, by concept: ``core`` (offscreen plotters, palette, output paths),
``camera`` (named views fitted to a box, eye-level views, framing a project),
``ground`` (terrain or a surface through the buildings' ground altitudes, draped
layers, vegetation), ``legend`` (colour bars with units and plain ticks),
``layers`` (:func:`add_scene`), ``views`` (:func:`snapshot`, :func:`compare`),
``page`` (:func:`to_html`) and ``frames`` (the 2D map frames of the shadow
animation, :func:`cimcity.shadow.animate`).
"""

from __future__ import annotations

from .camera import (
    CAMERAS,
    EYE_FOV,
    EYE_HEIGHT,
    VIEW_FILL,
    VIEWS,
    eye_level,
    focus_bounds,
    set_camera,
)
from .core import (
    IMAGE_SUFFIXES,
    PAGE_SUFFIXES,
    PALETTE,
    _offscreen_gl,  # noqa: F401  (used by permit figures and the tests)
    _output,  # noqa: F401
    _pv,  # noqa: F401
    _x_display_reachable,  # noqa: F401
    figure_is_blank,
)
from .ground import add_ground, ground_function
from .layers import add_scene
from .legend import quantity_title, tick_format
from .page import to_html
from .views import compare, snapshot

__all__ = [
    "CAMERAS",
    "EYE_FOV",
    "EYE_HEIGHT",
    "IMAGE_SUFFIXES",
    "PAGE_SUFFIXES",
    "PALETTE",
    "VIEWS",
    "VIEW_FILL",
    "add_ground",
    "add_scene",
    "compare",
    "eye_level",
    "figure_is_blank",
    "focus_bounds",
    "ground_function",
    "quantity_title",
    "set_camera",
    "snapshot",
    "tick_format",
    "to_html",
]
