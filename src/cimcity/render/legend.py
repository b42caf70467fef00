"""Colour bars a resident can read: the quantity and its unit in the reader's
language (:func:`cimcity.i18n.label`), plain tick labels ("1070", never
"1.07e+03"), a discrete bar for counts (flooded storeys), placed on the right
of the picture where :func:`~cimcity.render.set_camera` keeps no building.
"""

from __future__ import annotations

import textwrap

import numpy as np

from .. import i18n

#: a colour bar takes this share of the picture's width on the right;
#: :func:`~cimcity.render.set_camera` keeps the buildings out of it
BAR_RESERVE = 0.17
#: values with at most this many distinct integers are drawn as categories
MAX_CATEGORIES = 12
#: longest line of a colour bar title [characters]
TITLE_WIDTH = 16

i18n.add_terms({"render_value": ("Value", "Valeur")})


def tick_format(lo: float, hi: float, n_labels: int = 5) -> str:
    """A printf format for ticks from ``lo`` to ``hi`` with no exponent and
    just enough decimals to tell neighbouring ticks apart.

    Examples
    --------
    >>> tick_format(0, 1070)
    '%.0f'
    >>> tick_format(0, 1)
    '%.2f'
    """
    step = abs(float(hi) - float(lo)) / max(n_labels - 1, 1)
    if not np.isfinite(step) or step <= 0:
        return "%.0f" if abs(float(lo)) >= 10 else "%.1f"
    ticks = float(lo) + step * np.arange(n_labels)
    for decimals in range(5):  # fewest decimals that show every tick within 5 %
        if np.abs(np.round(ticks, decimals) - ticks).max() <= 0.05 * step:
            break
    return f"%.{decimals}f"


def quantity_title(name, lang=None) -> str:
    """The colour bar title of a quantity: the catalogue label with its unit
    ("Hauteur (m)", "Niveaux inondés") when ``name`` is a catalogue key (spaces
    and case ignored), else ``name`` as given; "Valeur" / "Value" for None."""
    if name is None or name == "":
        return i18n.term("render_value", lang)
    key = str(name).strip().lower().replace(" ", "_")
    try:
        return i18n.label(key, lang)
    except KeyError:
        return str(name)


def is_count(values, max_levels: int = MAX_CATEGORIES) -> bool:
    """Whether finite ``values`` are whole numbers with at most ``max_levels``
    distinct values (a count: storeys, buildings), to be drawn with one colour
    per value."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not len(v) or not np.allclose(v, np.round(v)):
        return False
    return len(np.unique(v)) <= max_levels


def _wrap(title: str) -> str:
    return "\n".join(textwrap.wrap(title, TITLE_WIDTH)) or title


def bar_arguments(title, lo, hi, *, categories=False):
    """``scalar_bar_args`` of ``plotter.add_mesh`` for a bar from ``lo`` to ``hi``.

    Parameters
    ----------
    title : str
        The bar's title (with its unit: :func:`quantity_title`).
    lo, hi : float
        Colour limits.
    categories : bool
        One label per whole value from ``lo`` to ``hi`` (a count).

    Returns
    -------
    dict
    """
    if categories:
        n_labels = int(round(hi - lo)) + 1
        fmt = "%.0f"
    else:
        n_labels = 5
        fmt = tick_format(lo, hi, n_labels)
    return {
        "title": _wrap(title),
        "vertical": True,
        "position_x": 1.0 - BAR_RESERVE + 0.045,
        "position_y": 0.18,
        "width": 0.05,
        "height": 0.62,
        "n_labels": n_labels,
        "fmt": fmt,
        "color": "black",
        "title_font_size": 18,
        "label_font_size": 16,
        "bold": False,
    }
