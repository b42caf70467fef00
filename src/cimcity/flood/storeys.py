"""Storeys and basements of buildings, and which of them a water surface floods.

Floors come from a BIM project's storey elevations when the scene holds one,
else from a regular model: the ground floor at the ground level and
``storeys`` floors of ``height / storeys``. Basements come from a building
column (:data:`BASEMENT_COLUMNS`) or from BIM storeys below ground.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..scene import STOREY_HEIGHT

#: water surface exactly at a floor does not flood it: floors must be at least
#: this much below the water to count as flooded [m]
LEVEL_TOL = 1e-6
#: BIM storeys whose elevation is this far below the ground level are basements [m]
BASEMENT_TOL = 0.5


def storey_model(B, projects, ground, storey_height):
    """Per building: the floors, from BIM storeys or the regular model.

    Parameters
    ----------
    B : GeoDataFrame
        Buildings (``storeys``, ``height`` [m]).
    projects : dict of id -> BimModel
        BIM projects by building id (``storeys`` with an ``elevation`` [m]).
    ground : (n,) float64
        Ground level of each building [m].
    storey_height : float or None
        Forced storey height [m] (default ``height / storeys``).

    Returns
    -------
    storeys : (n,) int64
        Storeys above ground.
    storey_height : (n,) float64
        Height of one storey in the regular model [m].
    storeys_from : (n,) object
        ``"storeys"`` (given), ``"estimated"`` (no storey count: from the
        height and the storey height), ``"unknown"`` (neither storeys nor a
        measured height: ``height_source`` ``"default"``) or ``"bim"``.
    explicit : dict of int -> (k,) float64
        Floor altitudes [m] of the BIM buildings' storeys that are not
        basements, by row position.
    basement_bim : (n,) float64
        BIM storeys below ground (NaN: no BIM).
    """
    n = len(B)
    storeys = pd.to_numeric(
        B.get("storeys", pd.Series(np.nan, index=B.index)), errors="coerce"
    ).to_numpy(float)
    height = pd.to_numeric(
        B.get("height", pd.Series(np.nan, index=B.index)), errors="coerce"
    ).to_numpy(float)
    storeys = np.where(np.isfinite(storeys) & (storeys > 0), storeys, np.nan)
    # storeys the scene estimated from the height are not data
    given = np.isfinite(storeys)
    if "storeys_source" in B.columns:
        given &= B["storeys_source"].to_numpy(object) != "estimated"
    no_height = ~(np.isfinite(height) & (height > 0))
    if "height_source" in B.columns:
        no_height |= B["height_source"].to_numpy(object) == "default"
    if storey_height is not None:
        h = np.full(n, float(storey_height))
        storeys = np.where(
            np.isfinite(storeys),
            storeys,
            np.maximum(1, np.round(height / storey_height)),
        )
    else:
        storeys = np.where(
            np.isfinite(storeys),
            storeys,
            np.maximum(1, np.round(height / STOREY_HEIGHT)),
        )
        h = np.where(
            np.isfinite(height) & (height > 0), height / storeys, STOREY_HEIGHT
        )
    storeys = np.where(np.isfinite(storeys), storeys, 1)  # no height: 1 floor
    source = np.where(
        given, "storeys", np.where(no_height, "unknown", "estimated")
    ).astype(object)
    explicit = {}
    basement_bim = np.full(n, np.nan)
    for pid, bim in (projects or {}).items():
        if pid not in B.index:
            continue
        st = getattr(bim, "storeys", None)
        if st is None or not len(st) or "elevation" not in st.columns:
            continue
        el = pd.to_numeric(st["elevation"], errors="coerce").to_numpy(float)
        el = np.sort(el[np.isfinite(el)])
        if not len(el):
            continue
        i = B.index.get_loc(pid)
        g = ground[i]
        below = el < g - BASEMENT_TOL if np.isfinite(g) else np.zeros(len(el), bool)
        explicit[i] = el[~below]
        basement_bim[i] = int(below.sum())
        storeys[i] = int((~below).sum())
        source[i] = "bim"
    return storeys.astype(np.int64), h, source, explicit, basement_bim


def flooded_storeys(water_level, ground, storeys, h, explicit):
    """Number of floors whose elevation is below the water surface.

    Parameters
    ----------
    water_level : (n,) float64
        Water surface against each building [m] (NaN: dry).
    ground, storeys, h, explicit
        Ground level [m] and the floors of :func:`storey_model`.

    Returns
    -------
    (n,) int64
        Floors at least :data:`LEVEL_TOL` below the water surface.
    """
    wl = np.where(np.isfinite(water_level), water_level, -np.inf)
    k = np.ceil((wl - LEVEL_TOL - ground) / h)
    k = np.where(np.isfinite(k), k, 0)
    out = np.clip(k, 0, storeys).astype(np.int64)
    for i, el in explicit.items():
        out[i] = int(np.sum(el < wl[i] - LEVEL_TOL))
    return out


#: columns read, in this order, for the number of basement levels of a building
BASEMENT_COLUMNS = ("basement_levels", "basement", "basements", "sous_sol")


def basement_levels(B, basement_bim):
    """Known basement levels per building (NaN unknown).

    Numbers are levels; booleans mean one level (True) or none (False); BIM
    storeys below ground take precedence.
    """
    for col in BASEMENT_COLUMNS:
        if col in B.columns:
            v = B[col]
            if v.dtype == object:
                v = v.map(lambda x: float(x) if isinstance(x, (bool, np.bool_)) else x)
            out = pd.to_numeric(v.astype(object), errors="coerce").to_numpy(float)
            return np.where(np.isfinite(basement_bim), basement_bim, out)
    return basement_bim
