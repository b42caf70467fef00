"""``cimcity.render.to_html``: kept for its callers, it now writes the three.js page.

The former hand-written WebGL viewer is gone; :func:`cimcity.page.to_html` is the
one interactive page (glTF scene, picking, layers, before/after, shadows).
"""

from __future__ import annotations

import warnings
from pathlib import Path

from ..page import to_html as _page_to_html


def to_html(
    scene,
    path,
    *,
    face_values=None,
    color_by=None,
    title=None,
    subtitle=None,
    cmap=None,
    clim=None,
    lang=None,
    **kwargs,
) -> Path:
    """Write the interactive 3D page of ``scene`` (deprecated: use :func:`cimcity.page.to_html`).

    Parameters
    ----------
    scene : Scene
    path : str or Path
        ``.html`` or ``.htm``.
    face_values : (m,) float, optional
        One value per face of ``scene.mesh(terrain=False)``.
    color_by : str, optional
        A numeric column of ``scene.buildings`` (its :mod:`cimcity.i18n` key,
        e.g. ``"height"``, names the legend).
    title, subtitle, cmap, clim, lang, **kwargs
        As :func:`cimcity.page.to_html`.

    Returns
    -------
    pathlib.Path
    """
    warnings.warn(
        "cimcity.render.to_html is cimcity.page.to_html now (values=, quantity=, "
        "project=, day=, lang=); this alias will be removed",
        FutureWarning,
        stacklevel=2,
    )
    values, quantity = face_values, kwargs.pop("quantity", None)
    if color_by is not None:
        values, quantity = scene.buildings[color_by], quantity or color_by
    _page_to_html(
        scene, path, values=values, quantity=quantity, title=title,
        subtitle=subtitle, cmap=cmap, clim=clim, lang=lang, **kwargs,
    )
    return Path(path)
