"""What the given layers can measure: unknown is not zero.

A cover quantity is measured only when the layers it depends on were given.
A scene with parcels only has no vegetation *layer*: its vegetation is
unknown, not 0 %. :func:`missing_inputs` tells, for the layers a
:func:`~cimcity.vegetation.ratios` call actually reads, which *inputs* are
missing (``"built"``, ``"canopy"``, ``"ground"``, ``"permeable"``,
``"green_roofs"``, ``"green_walls"``) and why; :func:`mask_unknown` sets the
area columns that need them to NaN (shares, the weighted surface, the biotope
coefficient and the PLU checks follow) and :func:`warn_unknown` raises one
:class:`~cimcity.errors.DataQualityWarning` naming the missing layers.

An empty layer is missing, not "nothing there": a user who knows that the
units hold no buildings, vegetation, green roofs, green walls or permeable
paving says so with ``absent=`` (:data:`ABSENT_CHOICES`), and those quantities
become measured zeros.

Which input each area column needs is :data:`NEEDS`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import DataQualityWarning, InputError

#: values accepted by ``absent=``: layers the user declares empty on purpose
ABSENT_CHOICES = (
    "buildings",
    "vegetation",
    "green_roofs",
    "green_walls",
    "permeable_paving",
)

#: area column -> inputs it needs (``built``: footprints or a land cover;
#: ``canopy``: tree crowns; ``ground``: ground vegetation; ``permeable``:
#: permeable paving; ``green_roofs``, ``green_walls``)
NEEDS = {
    "built_area": ("built",),
    "unbuilt_area": ("built",),
    "canopy_area": ("canopy",),
    "low_vegetation_area": ("ground", "canopy"),
    "vegetation_area": ("ground", "canopy"),
    "open_area": ("built", "ground", "canopy"),
    "pleine_terre_area": ("ground",),
    "permeable_paving_area": ("ground", "permeable"),
    "impervious_area": ("ground", "permeable", "green_roofs"),
    "green_roof_area": ("green_roofs",),
    "green_roof_deep_area": ("green_roofs",),
    "green_roof_shallow_area": ("green_roofs",),
    "green_wall_area": ("green_walls",),
    "green_area": ("ground", "canopy", "green_roofs"),
}


def check_absent(absent) -> frozenset:
    """``absent=`` as a set of :data:`ABSENT_CHOICES` (a str or an iterable)."""
    if absent is None:
        return frozenset()
    items = (absent,) if isinstance(absent, str) else tuple(absent)
    bad = [a for a in items if a not in ABSENT_CHOICES]
    if bad:
        raise InputError(
            f"absent={bad[0]!r} is not a layer; expected any of "
            f"{', '.join(map(repr, ABSENT_CHOICES))}"
        )
    return frozenset(items)


def missing_inputs(
    *, source: str, buildings, vegetation, rasters: set, green_roofs, absent
) -> dict:
    """Inputs the layers of one :func:`ratios` call cannot measure.

    Parameters
    ----------
    source : {"vector", "raster"}
        The path taken.
    buildings, vegetation : GeoDataFrame or None
        The scene's footprints and vegetation polygons (None or empty: not
        given).
    rasters : set of str
        Rasters read on the raster path (``"landcover"``, ``"ndvi"``,
        ``"cdsm"``).
    green_roofs : GeoDataFrame or None
        The extra green-roof layer given to :func:`ratios`.
    absent : frozenset of str
        Layers declared empty on purpose (:data:`ABSENT_CHOICES`).

    Returns
    -------
    dict of str -> str
        Missing input -> the missing layer, in words (empty when everything
        the analysis needs was given).
    """
    has_b = buildings is not None and len(buildings) > 0
    has_v = vegetation is not None and len(vegetation) > 0
    built_known = has_b or "buildings" in absent
    veg_known = has_v or "vegetation" in absent
    lc = "landcover" in rasters
    no_b = "no buildings layer (scene.buildings is empty)"
    no_v = (
        "no vegetation layer (scene.vegetation is empty and no land-cover, NDVI "
        "or CDSM raster)"
    )
    out = {}
    if source == "vector":
        if not built_known:
            out["built"] = no_b
        if not veg_known:
            out["canopy"] = out["ground"] = no_v
        if not (veg_known or "permeable_paving" in absent):
            out["permeable"] = no_v
    else:
        no_v = "no vegetation polygons (scene.vegetation: green roofs, green walls)"
        if not (lc or built_known):
            out["built"] = "no buildings layer and no land-cover raster"
        if not (lc or "cdsm" in rasters):
            out["canopy"] = "no land-cover or canopy-height (CDSM) raster"
        if not (lc or "ndvi" in rasters):
            out["ground"] = "no land-cover or NDVI raster"
        if not (lc or "permeable_paving" in absent):
            out["permeable"] = "no land-cover raster (permeable paving)"
    no_footprints = "buildings" in absent and not has_b
    roof_source = (
        veg_known
        or green_roofs is not None
        or (has_b and "green_roof" in buildings.columns)
        or "green_roofs" in absent
        or no_footprints
    )
    if "built" in out:
        out["green_roofs"] = out["built"]  # green roofs lie on footprints
    elif not roof_source:
        out["green_roofs"] = (
            no_v
            if source == "raster"
            else "no green-roof information (no vegetation layer, no 'green_roof' "
            "building column, no green_roofs= layer)"
        )
    if not (veg_known or "green_walls" in absent):
        out["green_walls"] = no_v
    return out


def mask_unknown(areas: pd.DataFrame, missing: dict) -> dict:
    """Set to NaN, in place, the area columns that need a missing input.

    Parameters
    ----------
    areas : DataFrame
        Cover areas [m²] (:data:`~cimcity.vegetation.AREA_COLUMNS`).
    missing : dict
        From :func:`missing_inputs`.

    Returns
    -------
    dict of str -> list of str
        Each unknown column -> the missing layers (in words) it needs.
    """
    unknown = {}
    for col, needs in NEEDS.items():
        why = sorted({missing[n] for n in needs if n in missing})
        if why and col in areas:
            areas[col] = np.nan
            unknown[col] = why
    return unknown


def warn_unknown(unknown: dict, n_units: int, stacklevel: int = 4) -> None:
    """One :class:`DataQualityWarning` naming the missing layers and what
    they leave unknown."""
    if not unknown or not n_units:
        return
    by_reason: dict[str, list] = {}
    for col, why in unknown.items():
        for w in why:
            by_reason.setdefault(w, []).append(col.removesuffix("_area"))
    parts = [f"{w}: {', '.join(cols)} unknown" for w, cols in by_reason.items()]
    warnings.warn(
        "vegetation.ratios: "
        + "; ".join(parts)
        + " (NaN, with their shares, the biotope coefficient and the PLU checks "
        "that need them). Add the layer (Scene.add_buildings, "
        "Scene.add_vegetation, a raster), or pass absent=(...) naming the "
        "layers the units truly do not have.",
        DataQualityWarning,
        stacklevel=stacklevel,
    )
