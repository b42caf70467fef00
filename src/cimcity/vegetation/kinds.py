"""Vegetation kinds and the classes the precedence rules know.

A vegetation polygon's ``kind`` (``"lawn"``, ``"street_tree"``, ``"green_roof"``…)
or a land-cover raster code maps to one *class*: ``canopy`` (tree crowns),
``ground`` (ground vegetation: pleine terre), ``green_roof``,
``green_roof_deep``, ``green_roof_shallow``, ``green_wall``,
``permeable_paving``, ``open`` (paved, bare, water) or ``built``. The cover
computations (:mod:`cimcity.vegetation.cover`, :mod:`cimcity.vegetation.raster_cover`) only see classes.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

#: vegetation ``kind`` (lower case) -> class used by the precedence rules:
#: ``canopy`` (tree crowns), ``ground`` (ground vegetation: pleine terre),
#: ``green_roof``, ``green_roof_deep``, ``green_roof_shallow``, ``green_wall``,
#: ``permeable_paving``, ``open`` (paved, bare, water: counted as open ground),
#: ``built`` (land-cover rasters only).
KIND_CLASSES = {
    "tree": "canopy",
    "trees": "canopy",
    "street_tree": "canopy",
    "canopy": "canopy",
    "crown": "canopy",
    "forest": "canopy",
    "woodland": "canopy",
    "evergreen_tree": "canopy",
    "deciduous_tree": "canopy",
    "lawn": "ground",
    "grass": "ground",
    "shrub": "ground",
    "shrubs": "ground",
    "hedge": "ground",
    "park": "ground",
    "garden": "ground",
    "meadow": "ground",
    "flowerbed": "ground",
    "low_vegetation": "ground",
    "vegetation": "ground",
    "pleine_terre": "ground",
    "green_roof": "green_roof",
    "green_roof_deep": "green_roof_deep",
    "green_roof_shallow": "green_roof_shallow",
    "green_wall": "green_wall",
    "permeable_paving": "permeable_paving",
    "paved": "open",
    "impervious": "open",
    "bare": "open",
    "bare_soil": "open",
    "water": "open",
    "building": "built",
    "built": "built",
}
_CLASSES = (
    "canopy",
    "ground",
    "green_roof",
    "green_roof_deep",
    "green_roof_shallow",
    "green_wall",
    "permeable_paving",
    "open",
    "built",
)

#: UMEP land-cover classes (Lindberg et al., 2018, SOLWEIG / UMEP manual)
UMEP_LANDCOVER_CLASSES = {
    1: "paved",
    2: "building",
    3: "evergreen_tree",
    4: "deciduous_tree",
    5: "grass",
    6: "bare_soil",
    7: "water",
}


def _kind_classes(kinds_in, kinds=None) -> np.ndarray:
    """Class of each vegetation kind, with user overrides; unknown kinds raise."""
    table = dict(KIND_CLASSES)
    if kinds:
        for k, c in kinds.items():
            if c not in _CLASSES:
                raise InputError(
                    f"kinds[{k!r}] = {c!r} is not a class; expected one of "
                    f"{', '.join(_CLASSES)}"
                )
            table[str(k).lower()] = c
    values, inverse = np.unique(
        np.asarray(kinds_in, dtype=object).astype(str), return_inverse=True
    )
    low = [v.strip().lower() for v in values.tolist()]
    unknown = sorted({v for v in low if v not in table})
    if unknown:
        raise InputError(
            f"unknown vegetation kind(s) {unknown}; known kinds are "
            f"{sorted(table)}; map others with kinds={{'my_kind': 'ground'}} "
            f"(classes: {', '.join(_CLASSES)})"
        )
    return np.array([table[v] for v in low], dtype=object)[inverse.ravel()]
