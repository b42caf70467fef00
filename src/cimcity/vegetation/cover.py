"""The cover partition of each unit, from vector layers.

For every unit the ground seen from above is split into ``built_area +
canopy_area + low_vegetation_area + open_area = area`` and, on the ground,
into ``pleine_terre_area + permeable_paving_area + impervious_area +
green_roof_area = area``; green walls (``green_wall_area``, vertical) come on
top. The precedence that keeps overlapping layers from counting twice is given
in :mod:`cimcity.vegetation`. Each area is a signed sum of zonal terms
area(unit ∩ layer₁ ∩ …) over class layers merged to disjoint pieces
(:data:`_COEF`, computed by :mod:`cimcity.vegetation.zonal` after :mod:`cimcity.vegetation.dissolve`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import shapely

from ..errors import EstimateWarning, InputError
from .dissolve import _dissolve
from .flat import _as_geometry_array
from .kinds import _kind_classes
from .zonal import _Store, _term

#: green-roof substrate at least this deep is "deep" (weight green_roof_deep) [m]
DEEP_SUBSTRATE_M = 0.8
#: height of a green wall when neither ``wall_area`` nor ``height`` is given [m]
DEFAULT_GREEN_WALL_HEIGHT = 3.0

# each output area is a signed sum of terms area(unit ∩ layers...), one letter per
# layer: B built, C canopy, G ground vegetation, P permeable paving, R green
# roofs, D deep green roofs (inclusion-exclusion: intersections only)
_COEF = {
    "built_area": {"B": 1},
    "canopy_area": {"C": 1, "CB": -1},
    "pleine_terre_area": {"G": 1, "GB": -1},
    "low_vegetation_area": {"G": 1, "GB": -1, "GC": -1, "GCB": 1},
    "permeable_paving_area": {"P": 1, "PB": -1, "PG": -1, "PGB": 1},
    "green_roof_area": {"RB": 1},
    "green_roof_deep_area": {"DB": 1},
}


#: area columns of every result [m²]
AREA_COLUMNS = (
    "area",
    "built_area",
    "unbuilt_area",
    "vegetation_area",
    "canopy_area",
    "low_vegetation_area",
    "open_area",
    "pleine_terre_area",
    "permeable_paving_area",
    "impervious_area",
    "green_roof_area",
    "green_roof_deep_area",
    "green_roof_shallow_area",
    "green_wall_area",
    "green_area",
)


def _column(df, names, default=np.nan) -> np.ndarray:
    for n in names:
        if n in df.columns:
            return pd.to_numeric(df[n], errors="coerce").to_numpy(dtype=float)
    return np.full(len(df), default, dtype=float)


def _green_roofs(buildings, vegetation, classes, green_roofs):
    """(all green-roof polygons, deep ones) from building attributes, vegetation
    kinds and an optional roof layer."""
    allr, deep = [], []
    if buildings is not None and isinstance(buildings, pd.DataFrame) and len(buildings):
        if "green_roof" in buildings.columns:
            flag = buildings["green_roof"].fillna(False).astype(bool).to_numpy()
            sub = _column(buildings, ("green_roof_substrate_m", "substrate_m"))
            g = buildings.geometry.values[flag]
            allr.append(np.asarray(g, object))
            deep.append(np.asarray(g[sub[flag] >= DEEP_SUBSTRATE_M], object))
    if vegetation is not None and len(vegetation):
        isroof = np.isin(
            classes, ("green_roof", "green_roof_deep", "green_roof_shallow")
        )
        if isroof.any():
            sub = _column(vegetation, ("substrate_m", "green_roof_substrate_m"))
            g = vegetation.geometry.values
            allr.append(np.asarray(g[isroof], object))
            isdeep = (classes == "green_roof_deep") | (
                (classes == "green_roof") & (sub >= DEEP_SUBSTRATE_M)
            )
            deep.append(np.asarray(g[isdeep], object))
    if green_roofs is not None and len(green_roofs):
        g = _as_geometry_array(green_roofs, "green_roofs")
        allr.append(g)
        if isinstance(green_roofs, pd.DataFrame):
            sub = _column(green_roofs, ("substrate_m", "green_roof_substrate_m"))
            deep.append(g[sub >= DEEP_SUBSTRATE_M])
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, object)  # noqa: E731
    return cat(allr), cat(deep)


def _green_wall_areas(st, units, vegetation, classes, green_wall_height) -> np.ndarray:
    """Facade area of green walls per unit [m²], shared between units in
    proportion to the overlap of each wall's plan polygon."""
    out = np.zeros(len(units))
    if vegetation is None or not len(vegetation) or not len(units):
        return out
    wall = classes == "green_wall"
    if not wall.any():
        return out
    W = vegetation[wall]
    g = np.asarray(W.geometry.values, object)
    vertical = _column(W, ("wall_area",))
    height = _column(W, ("height", "wall_height"))
    half_perimeter = shapely.length(g) / 2.0
    need = ~np.isfinite(vertical)
    no_h = need & ~(np.isfinite(height) & (height > 0))
    if no_h.any():
        h0 = (
            DEFAULT_GREEN_WALL_HEIGHT
            if green_wall_height is None
            else float(green_wall_height)
        )
        if green_wall_height is None:
            warnings.warn(
                f"{int(no_h.sum())} green wall(s) have neither 'wall_area' nor "
                f"'height'; their height is taken as {h0} m (give green_wall_height= "
                f"or a height column)",
                EstimateWarning,
                stacklevel=6,
            )
        height = np.where(no_h, h0, height)
    # a wall given as a thin strip: its length is half the strip's perimeter
    vertical = np.where(need, height * half_perimeter, vertical)
    wid = st.add(g)
    wi, ui = st.query(units, "units", st.flat.bounds[wid])
    if not len(ui):
        return out
    inter = st.areas(np.column_stack([units[ui], wid[wi]]))
    plan = st.area[wid]
    frac = np.divide(inter, plan[wi], out=np.zeros(len(ui)), where=plan[wi] > 0)
    return np.bincount(ui, weights=frac * vertical[wi], minlength=len(units))


def _finish_areas(data: dict, index) -> pd.DataFrame:
    """Areas table from the base areas (numpy arrays) plus the derived columns,
    all clipped to >= 0."""
    a = {k: np.clip(np.asarray(v, dtype=float), 0.0, None) for k, v in data.items()}
    total = a["observed_area"] if "observed_area" in a else a["area"]
    # rounding: never more built than the unit, nor more roof than built
    a["built_area"] = np.minimum(a["built_area"], total)
    a["green_roof_area"] = np.minimum(a["green_roof_area"], a["built_area"])
    a["green_roof_deep_area"] = np.minimum(
        a["green_roof_deep_area"], a["green_roof_area"]
    )
    a["green_roof_shallow_area"] = a["green_roof_area"] - a["green_roof_deep_area"]
    a["unbuilt_area"] = np.clip(total - a["built_area"], 0.0, None)
    a["vegetation_area"] = a["canopy_area"] + a["low_vegetation_area"]
    a["open_area"] = np.clip(a["unbuilt_area"] - a["vegetation_area"], 0.0, None)
    a["impervious_area"] = np.clip(
        total
        - a["pleine_terre_area"]
        - a["permeable_paving_area"]
        - a["green_roof_area"],
        0.0,
        None,
    )
    a["green_area"] = a["vegetation_area"] + a["green_roof_area"]
    cols = list(AREA_COLUMNS) + (["observed_area"] if "observed_area" in a else [])
    return pd.DataFrame({c: a[c] for c in cols}, index=index)


def cover_areas(
    units,
    buildings=None,
    vegetation=None,
    *,
    green_roofs=None,
    kinds: dict | None = None,
    green_wall_height: float | None = None,
    threads: int | None = None,
    validate: bool = True,
) -> pd.DataFrame:
    """Built, vegetation, pleine terre and green-roof areas per unit (vector path).

    Applies the precedence described in :mod:`cimcity.vegetation` (merge per
    class, built wins, canopy over ground, pleine terre under crowns, green roofs
    apart). Pure geometry: no Scene, no rules.

    Parameters
    ----------
    units : GeoDataFrame, GeoSeries or sequence of (Multi)Polygon (n,)
        Parcels, zones or any polygons [m]; overlapping units are each counted
        in full.
    buildings : GeoDataFrame or sequence of polygons, optional
        Footprints; a GeoDataFrame may carry ``green_roof`` (bool) and
        ``green_roof_substrate_m`` [m].
    vegetation : GeoDataFrame, optional
        Polygons with a ``kind`` column (see :data:`KIND_CLASSES`); optional
        ``substrate_m`` [m] for green roofs, ``wall_area`` [m²] or ``height``
        [m] for green walls.
    green_roofs : GeoDataFrame or sequence of polygons, optional
        An extra roof layer of green roofs (optional ``substrate_m`` [m]).
    kinds : dict, optional
        Extra ``kind -> class`` entries, e.g. ``{"potager": "ground"}``.
    green_wall_height : float, optional
        Height of green walls without ``wall_area`` or ``height`` [m]
        (default :data:`DEFAULT_GREEN_WALL_HEIGHT`, with an EstimateWarning).
    threads : int, optional
        Threads for the area kernel (default: CPU count).
    validate : bool
        Check polygon validity and repair (``make_valid``, RepairWarning);
        False skips the check for inputs already validated (Scene tables).

    Returns
    -------
    DataFrame (n rows, index of ``units`` when it has one)
        :data:`AREA_COLUMNS` [m²]; a unit without vegetation has 0, not NaN.
    """
    index = units.index if isinstance(units, pd.DataFrame | pd.Series) else None
    U = _as_geometry_array(units, "units", validate)
    if index is None:
        index = pd.RangeIndex(len(U))

    B_raw = (
        _as_geometry_array(buildings, "buildings", validate)
        if buildings is not None
        else np.zeros(0, object)
    )
    if vegetation is not None and len(vegetation):
        if "kind" not in vegetation.columns:
            raise InputError(
                f"vegetation needs a 'kind' column; columns are {list(vegetation.columns)}"
            )
        Vg = _as_geometry_array(vegetation, "vegetation", validate)
        classes = _kind_classes(vegetation["kind"].to_numpy(), kinds)
        if (classes == "built").any():
            raise InputError(
                "vegetation kind 'building'/'built' is for land-cover rasters; give "
                "footprints as buildings="
            )
    else:
        Vg = np.zeros(0, object)
        classes = np.zeros(0, object)
        vegetation = None

    st = _Store(threads)
    R_all, R_deep = _green_roofs(buildings, vegetation, classes, green_roofs)
    raw = {
        "B": B_raw,
        "C": Vg[classes == "canopy"],
        "G": Vg[classes == "ground"],
        "P": Vg[classes == "permeable_paving"],
        "R": R_all,
        "D": R_deep,
    }
    uid, *ids = st.add(U, *raw.values())
    st.unit_ids = uid
    raw_ids = dict(zip(raw, ids, strict=True))
    kept, merged = {}, {}
    for k, ids in raw_ids.items():
        kept[k], merged[k] = _dissolve(st, ids)
    new_ids = st.add(*merged.values())
    L = {
        k: np.sort(np.concatenate([kept[k], new]))
        for k, new in zip(raw, new_ids, strict=True)
    }
    names = dict.fromkeys(t for coef in _COEF.values() for t in coef)
    terms = {t: _term(st, uid, L, t) for t in names}
    data = {"area": st.area[uid]}
    for col, coef in _COEF.items():
        data[col] = sum(c * terms[t] for t, c in coef.items())
    data["green_wall_area"] = _green_wall_areas(
        st, uid, vegetation, classes, green_wall_height
    )
    return _finish_areas(data, index)
