"""The page inline in Jupyter: an ``<iframe srcdoc>`` holding the whole page.

An iframe keeps the page's styles and script apart from the notebook's and
works offline (the page fetches nothing); ``srcdoc`` avoids a file next to the
notebook.
"""

from __future__ import annotations

import html as _html
from pathlib import Path

from ..errors import InputError
from .html import to_html

__all__ = ["show", "iframe"]


class PageView:
    """The page in a notebook: shown by Jupyter through ``_repr_html_``.

    Attributes
    ----------
    page : str
        The page's HTML (write it with :meth:`save`).
    """

    def __init__(self, page: str, height: int = 640):
        self.page = page
        self.height = int(height)

    def _repr_html_(self) -> str:
        return iframe(self.page, height=self.height)

    def save(self, path):
        """Write the page to ``path`` (``.html``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.page, encoding="utf-8")
        return path

    def __repr__(self) -> str:
        return f"<cimcity page, {len(self.page) / 1e6:.1f} MB of HTML>"


def iframe(page: str, height: int = 640) -> str:
    """An ``<iframe>`` whose ``srcdoc`` is the page (quotes escaped)."""
    return (
        f'<iframe srcdoc="{_html.escape(page, quote=True)}" '
        f'style="width:100%;height:{int(height)}px;border:0" '
        'sandbox="allow-scripts" loading="lazy"></iframe>'
    )


def show(obj, path=None, *, scene=None, height: int = 640, **kwargs) -> PageView:
    """The interactive 3D page of a scene or a result, to display in Jupyter.

    ``Scene.show()`` and ``Result.show()`` call this function.

    Parameters
    ----------
    obj : Scene or Result
        A scene, or an analysis result (its per-building values colour the
        buildings, :func:`cimcity.page.result_values`).
    path : str or Path, optional
        Also write the page there (``.html``).
    scene : Scene, optional
        The scene of a result that does not keep its own (sun-hours results).
    height : int
        Height of the inline frame [px].
    **kwargs
        Arguments of :func:`cimcity.page.to_html` (``project``, ``day``,
        ``lang``, ``title``...).

    Returns
    -------
    PageView
        Jupyter displays it inline (``_repr_html_``); ``.page`` is the HTML.

    Raises
    ------
    InputError
        A result whose scene is unknown and no ``scene=``.
    """
    if hasattr(obj, "buildings") and hasattr(obj, "mesh"):
        page = to_html(obj, path, **kwargs)
    else:
        scene = scene if scene is not None else getattr(obj, "scene", None)
        if scene is None or not hasattr(scene, "mesh"):
            raise InputError(
                f"{type(obj).__name__}.show() needs the scene it was computed on: "
                "pass scene=..."
            )
        page = to_html(scene, path, result=obj, **kwargs)
    return PageView(page, height=height)
