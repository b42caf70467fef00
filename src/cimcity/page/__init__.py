"""The interactive 3D page a planner shows residents: one offline HTML file.

Built on three.js (bundled into the file, see :mod:`cimcity.page.html`) reading
the scene as glTF (:mod:`cimcity.io.gltf`): orbit, click a building for its
attributes, layer toggles, today / with the project, the shadows of a day on a
time slider, a legend with units, French or English (``lang=``).

>>> import cimcity as cc
>>> scene = cc.datasets.load("paris")                       # doctest: +SKIP
>>> cc.page.to_html(scene, "quartier.html", project=next(iter(scene.projects)))  # doctest: +SKIP
>>> scene.show()                                             # doctest: +SKIP
"""

from __future__ import annotations

from ..scene.formats import register_writer
from .html import (
    PAGE_SUFFIXES,
    result_values,
    sun_steps_of_day,
    to_html,
    write_result_glb,
)
from .jupyter import PageView, iframe, show

__all__ = [
    "write_result_glb",
    "to_html",
    "show",
    "iframe",
    "result_values",
    "sun_steps_of_day",
    "PageView",
    "PAGE_SUFFIXES",
]

# Scene.show() and Result.show() find the page by name (the Scene never imports
# a view); scene/formats.py lists it too, so it works before this import
register_writer("show", show)
