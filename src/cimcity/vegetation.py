"""Vegetation versus built: green ratios, pleine terre and the biotope coefficient.

For every unit (parcel, zone or any polygon set) the ground is split, as seen
from above, into a *cover partition* that sums to the unit's area:

``built_area + canopy_area + low_vegetation_area + open_area = area``

and, on the ground itself, into the surfaces the PLU weighs in the coefficient
de biotope par surface (CBS):

``pleine_terre_area + permeable_paving_area + impervious_area + green_roof_area = area``

Green walls (vertical, ``green_wall_area``) come on top of both.

Precedence (nothing is counted twice)
-------------------------------------
1. Overlapping polygons of one class are merged first (duplicated lawns,
   overlapping tree crowns, a green roof given both as a building attribute
   and as a roof polygon count once).
2. **Built wins**: a building footprint hides whatever vegetation polygon
   overlaps it on the ground (a crown overhanging a roof counts as built).
3. **Canopy over ground**: outside buildings a tree crown counts as
   ``canopy_area`` whatever is beneath it; ground vegetation not under a crown is
   ``low_vegetation_area``. ``vegetation_area = canopy_area +
   low_vegetation_area``.
4. **Pleine terre** is unbuilt ground covered by ground vegetation (lawn, shrub,
   park, garden...), *whether or not a crown is above it*. A tree crown alone
   (a street tree over pavement) is canopy, never pleine terre.
5. **Permeable paving** is unbuilt ground under a ``permeable_paving`` polygon
   that is not pleine terre. Everything else on the ground is impervious
   (paved, bare, water), weight ``impervious``.
6. **Green roofs** are roof surface: they are clipped to the building
   footprints and counted in ``green_roof_area``, apart from the ground
   partition; deep substrate (>= :data:`DEEP_SUBSTRATE_M`) wins over shallow
   where both are given.

Inputs
------
Vector: ``scene.buildings`` (footprints, optional ``green_roof`` bool and
``green_roof_substrate_m`` [m]), ``scene.vegetation`` (polygons with a
``kind``, see :data:`KIND_CLASSES`). Raster: a land-cover raster with a class
mapping (:data:`UMEP_LANDCOVER_CLASSES` by default), an NDVI raster with a
threshold, a canopy height raster (CDSM, height above ground [m]) with a
minimum height; the raster path counts pixel centres per unit, so it agrees
with the vector path within one pixel's area per boundary cell. Green walls are
vertical: their facade area is ``wall_area``, else ``height`` × half the
perimeter of their plan strip, shared between units by plan overlap.

Engine
------
Areas are exact (not rasterised): every quantity is a signed sum of
intersection areas of the unit with one to three class layers
(inclusion-exclusion, so no polygon difference is ever built), computed
area-only by numba kernels (convex clipping when all members but one are
convex, as parcels, footprints and crowns mostly are; else Green's theorem on
the clipped boundaries), behind bounding-box joins on a uniform grid.
Overlapping crowns are merged group by group (numba union of convex polygons,
GEOS for the rest); see :mod:`cimcity._zonal`. On 100k parcels with 290k
vegetation polygons this takes about 3 s on 2 cores, where a geopandas
``overlay`` + ``groupby`` gives the same numbers (within 1e-6 m²) 50-60 times
slower (``benchmarks/bench_vegetation.py``).

References
----------
Becker, G., Mohren, R. (1990). Der Biotopflächenfaktor als ökologischer
Kennwert. Senatsverwaltung für Stadtentwicklung und Umweltschutz, Berlin (the
CBS weights: vegetation on natural soil 1.0, on slabs > 80 cm 0.7, < 80 cm 0.5,
semi-permeable surfaces 0.3, vertical greening, sealed surfaces 0).
Ville de Paris (2024). Plan local d'urbanisme bioclimatique, règlement,
article UG.13 (espaces libres, pleine terre, surfaces végétalisées pondérées).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._vegetation_report import (  # noqa: F401  (public names re-exported)
    AREA_COLUMNS,
    DEFAULT_BIOTOPE_WEIGHTS,
    RULES,
    SHARE_COLUMNS,
    WEIGHTED_SURFACES,
    VegetationResult,
    _apply_weights_and_rules,
    weighted_surface,
)
from ._zonal import (  # noqa: F401  (re-exported)
    AREA_TOL,
    COINCIDENCE_TOL,
    _as_geometry_array,
    _dissolve,
    _polygonal,
    _rasterize_layers,
    _read_raster,
    _Store,
    _term,
    intersection_area,
)
from .errors import (
    CRSError,
    EstimateWarning,
    InputError,
)

__all__ = [
    "ratios",
    "biotope_coefficient",
    "cover_areas",
    "raster_cover_areas",
    "intersection_area",
    "weighted_surface",
    "VegetationResult",
    "KIND_CLASSES",
    "DEFAULT_BIOTOPE_WEIGHTS",
    "UMEP_LANDCOVER_CLASSES",
    "DEEP_SUBSTRATE_M",
    "COINCIDENCE_TOL",
    "AREA_TOL",
]

#: green-roof substrate at least this deep is "deep" (weight green_roof_deep) [m]
DEEP_SUBSTRATE_M = 0.8
#: height of a green wall when neither ``wall_area`` nor ``height`` is given [m]
DEFAULT_GREEN_WALL_HEIGHT = 3.0

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


# ----------------------------------------------------------------------------------
# kinds and layers
# ----------------------------------------------------------------------------------
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
                stacklevel=4,
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


# ----------------------------------------------------------------------------------
# vector path
# ----------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------
# raster path
# ----------------------------------------------------------------------------------
# pixel bit mask used by the raster path
_VALID, _BUILT, _CANOPY, _GROUND, _PERMEABLE = 1, 2, 4, 8, 16


def raster_cover_areas(
    units,
    *,
    landcover=None,
    classes: dict | None = None,
    ndvi=None,
    ndvi_threshold: float = 0.3,
    cdsm=None,
    min_canopy_height: float = 2.0,
    buildings=None,
    green_roofs=None,
    vegetation=None,
    kinds: dict | None = None,
    green_wall_height: float | None = None,
    crs=None,
    threads: int | None = None,
) -> pd.DataFrame:
    """Built, vegetation and pleine terre areas per unit from rasters.

    Each pixel is classified (below), units are burnt into the grid by pixel
    centre (``rasterio.features.rasterize``; overlapping units on separate
    grids) and pixels are counted per unit and class in one ``np.bincount``.
    The same precedence as the vector path applies pixel by pixel:

    - built: land-cover class ``building``; without a land cover, the
      ``buildings`` footprints burnt into the grid;
    - canopy: not built, and land-cover tree class or CDSM >=
      ``min_canopy_height``;
    - ground vegetation (pleine terre): not built, and land-cover ground class
      (grass, shrub...) or NDVI >= ``ndvi_threshold`` outside the CDSM canopy
      (without a CDSM all NDVI vegetation is taken as ground vegetation);
      a land-cover ground pixel under a CDSM crown stays pleine terre;
    - permeable paving: land-cover class ``permeable_paving``.

    Green roofs and green walls are not visible in such rasters: they come from
    ``buildings`` attributes, ``green_roofs`` and ``vegetation`` kinds by the
    vector path.

    Parameters
    ----------
    units : GeoDataFrame, GeoSeries or sequence of polygons (n,)
        In the rasters' CRS [m].
    landcover : path, rasterio dataset or (array, transform[, crs]), optional
        Integer class codes; nodata pixels are not observed.
    classes : dict, optional
        Land-cover code -> kind (see :data:`KIND_CLASSES`); default
        :data:`UMEP_LANDCOVER_CLASSES`.
    ndvi : raster, optional
        NDVI [-1, 1]; vegetation where >= ``ndvi_threshold``.
    ndvi_threshold : float
        NDVI above which a pixel is vegetation (default 0.3).
    cdsm : raster, optional
        Canopy height above ground [m] (UMEP CDSM); NaN/nodata = no canopy.
    min_canopy_height : float
        Minimum canopy height counted as tree canopy [m] (default 2).
    buildings, green_roofs, vegetation, kinds, green_wall_height
        As in :func:`cover_areas` (footprints give built pixels only without a
        land cover; they always clip green roofs).
    crs : CRS, optional
        CRS of ``units`` when it is not a GeoDataFrame; checked against the
        rasters' CRS.
    threads : int, optional

    Returns
    -------
    DataFrame (n rows)
        :data:`AREA_COLUMNS` [m²] plus ``observed_area`` (area of the unit's
        observed pixels [m²]); ``area`` is the unit's polygon area.

    Raises
    ------
    InputError
        No raster given, rasters on different grids, a land-cover code without
        a class, or a bad threshold.
    CRSError
        Units and rasters in different CRS.
    """
    index = units.index if isinstance(units, pd.DataFrame | pd.Series) else None
    ucrs = getattr(units, "crs", None) if crs is None else crs
    U = _as_geometry_array(units, "units")
    if index is None:
        index = pd.RangeIndex(len(U))
    given = [
        _read_raster(r, w)
        for r, w in ((landcover, "landcover"), (ndvi, "ndvi"), (cdsm, "cdsm"))
        if r is not None
    ]
    if not given:
        raise InputError("raster path needs at least one of landcover=, ndvi=, cdsm=")
    if not np.isfinite(min_canopy_height) or min_canopy_height < 0:
        raise InputError(f"min_canopy_height must be >= 0 m, got {min_canopy_height}")
    if not -1.0 <= ndvi_threshold <= 1.0:
        raise InputError(f"ndvi_threshold must lie in [-1, 1], got {ndvi_threshold}")
    ref = given[0]
    for r in given[1:]:
        if r.values.shape != ref.values.shape or not r.transform.almost_equals(
            ref.transform
        ):
            raise InputError(
                f"{r.what} raster grid {r.values.shape} {tuple(r.transform)[:6]} differs "
                f"from {ref.what} grid {ref.values.shape} {tuple(ref.transform)[:6]}; "
                f"resample them to one grid first"
            )
    rcrs = next((r.crs for r in given if r.crs is not None), None)
    if ucrs is not None and rcrs is not None:
        from pyproj import CRS

        if not CRS.from_user_input(ucrs).equals(rcrs, ignore_axis_order=True):
            raise CRSError(
                f"units are in {CRS.from_user_input(ucrs).to_string()!r} but the rasters "
                f"in {rcrs.to_string()!r}; reproject the units (gdf.to_crs) to the "
                f"raster CRS"
            )
    shape = ref.values.shape
    transform = ref.transform
    pixel_area = abs(transform.a * transform.e)

    R = {r.what: r.values for r in given}
    mask = np.zeros(shape, np.uint8)
    valid = np.ones(shape, bool)
    canopy = np.zeros(shape, bool)
    ground = np.zeros(shape, bool)
    built = np.zeros(shape, bool)
    permeable = np.zeros(shape, bool)
    if "landcover" in R:
        lc = R["landcover"]
        valid &= np.isfinite(lc)
        table = UMEP_LANDCOVER_CLASSES if classes is None else classes
        codes = np.unique(lc[valid]).astype(np.int64)
        cls_of = {}
        for c in codes.tolist():
            if c not in table:
                raise InputError(
                    f"land-cover code {c} has no entry in classes (codes present: "
                    f"{codes.tolist()}; classes: {table})"
                )
            cls_of[c] = _kind_classes([table[c]], kinds)[0]
        lci = np.where(valid, lc, -1).astype(np.int64)
        for c, k in cls_of.items():
            hit = lci == c
            if k == "built":
                built |= hit
            elif k == "canopy":
                canopy |= hit
            elif k == "ground":
                ground |= hit
            elif k == "permeable_paving":
                permeable |= hit
            elif k in ("green_roof", "green_roof_deep", "green_roof_shallow"):
                built |= hit  # a green roof seen from above stands on a building
    elif buildings is not None and len(buildings):
        from rasterio.features import rasterize

        bg = _as_geometry_array(buildings, "buildings")
        bg = bg[~shapely.is_empty(bg)]
        if len(bg):
            built = rasterize(
                ((g, 1) for g in bg),
                out_shape=shape,
                transform=transform,
                fill=0,
                all_touched=False,
                dtype="uint8",
            ).astype(bool)
    cdsm_canopy = np.zeros(shape, bool)
    if "cdsm" in R:
        h = R["cdsm"]
        with np.errstate(invalid="ignore"):
            cdsm_canopy = np.isfinite(h) & (h >= min_canopy_height)
        canopy |= cdsm_canopy
    if "ndvi" in R:
        v = R["ndvi"]
        if "landcover" not in R:
            valid &= np.isfinite(v)
        with np.errstate(invalid="ignore"):
            green = np.isfinite(v) & (v >= ndvi_threshold)
        ground |= green & ~cdsm_canopy
    canopy &= ~built
    ground &= ~built
    permeable &= ~built & ~ground
    mask |= np.where(valid, _VALID, 0).astype(np.uint8)
    mask |= np.where(built & valid, _BUILT, 0).astype(np.uint8)
    mask |= np.where(canopy & valid, _CANOPY, 0).astype(np.uint8)
    mask |= np.where(ground & valid, _GROUND, 0).astype(np.uint8)
    mask |= np.where(permeable & valid, _PERMEABLE, 0).astype(np.uint8)

    n = len(U)
    counts = np.zeros((n + 1, 32))
    for labels in _rasterize_layers(U, shape, transform, threads):
        key = labels.ravel() * 32 + mask.ravel()
        counts += np.bincount(key, minlength=(n + 1) * 32).reshape(n + 1, 32)
    counts = counts[1:] * pixel_area
    code = np.arange(32)

    def total(cond):
        return counts[:, cond].sum(axis=1)

    v = (code & _VALID) > 0
    b = (code & _BUILT) > 0
    c = (code & _CANOPY) > 0
    g = (code & _GROUND) > 0
    p = (code & _PERMEABLE) > 0
    data = {
        "area": shapely.area(U),
        "observed_area": total(v),
        "built_area": total(v & b),
        "canopy_area": total(v & ~b & c),
        "low_vegetation_area": total(v & ~b & ~c & g),
        "pleine_terre_area": total(v & ~b & g),
        "permeable_paving_area": total(v & ~b & ~g & p),
    }
    # roofs and walls from vectors; without footprints the roof polygons are
    # their own footprints, then clipped to the observed built area below
    roof_base = buildings
    if buildings is None or not len(buildings):
        cls = (
            _kind_classes(vegetation["kind"].to_numpy(), kinds)
            if vegetation is not None and len(vegetation) and "kind" in vegetation
            else np.zeros(0, object)
        )
        r_all, _ = _green_roofs(
            None, vegetation if len(cls) else None, cls, green_roofs
        )
        roof_base = gpd.GeoDataFrame(geometry=list(r_all)) if len(r_all) else None
    vec = cover_areas(
        U,
        buildings=roof_base,
        vegetation=_only_roofs_walls(vegetation, kinds),
        green_roofs=green_roofs,
        kinds=kinds,
        green_wall_height=green_wall_height,
        threads=threads,
    )
    for col in ("green_roof_area", "green_roof_deep_area", "green_wall_area"):
        data[col] = vec[col].to_numpy()
    if buildings is None or not len(buildings):
        # roof polygons without footprints: clip to the observed built area
        data["green_roof_area"] = np.minimum(
            data["green_roof_area"], data["built_area"]
        )
    return _finish_areas(data, index)


def _only_roofs_walls(vegetation, kinds):
    if vegetation is None or not len(vegetation) or "kind" not in vegetation.columns:
        return None
    cls = _kind_classes(vegetation["kind"].to_numpy(), kinds)
    keep = np.isin(
        cls, ("green_roof", "green_roof_deep", "green_roof_shallow", "green_wall")
    )
    return vegetation[keep] if keep.any() else None


# ----------------------------------------------------------------------------------
# Scene entry points
# ----------------------------------------------------------------------------------
def _units_of(scene, by):
    """(units GeoDataFrame with a ``libelle`` column, by-label)."""
    from .crs import to_crs

    if isinstance(by, str):
        key = by.lower()
        if key in ("parcel", "parcels"):
            P = scene.parcels
            U = gpd.GeoDataFrame(
                {
                    "zone_id": P["zone_id"]
                    if "zone_id" in P
                    else pd.Series(None, index=P.index, dtype=object)
                },
                geometry=P.geometry.values,
                crs=scene.crs,
                index=P.index,
            )
            Z = scene.zones
            if "libelle" in Z and len(Z):
                U["libelle"] = U["zone_id"].map(Z["libelle"])
            else:
                U["libelle"] = None
            U.index.name = "parcel_id"
            return U, "parcel"
        if key in ("zone", "zones"):
            Z = scene.zones
            U = gpd.GeoDataFrame(
                {
                    "libelle": Z["libelle"]
                    if "libelle" in Z
                    else pd.Series(None, index=Z.index, dtype=object)
                },
                geometry=Z.geometry.values,
                crs=scene.crs,
                index=Z.index,
            )
            U.index.name = "zone_id"
            return U, "zone"
        raise InputError(
            f"unknown by={by!r}; expected 'parcel', 'zone' or a GeoDataFrame of polygons"
        )
    if isinstance(by, gpd.GeoDataFrame):
        U = to_crs(by, scene.crs, what="units")
        U = U.copy()
        if U.geometry.name != "geometry":
            U = U.rename_geometry("geometry")
        U["geometry"] = _as_geometry_array(U.geometry.values, "units")
        if U.index.name is None:
            U.index.name = "unit_id"
        if "libelle" not in U:
            U["libelle"] = _zone_of(U.geometry.values, scene.zones)
        return U, "custom"
    raise InputError(
        f"by must be 'parcel', 'zone' or a GeoDataFrame; got {type(by).__name__}"
    )


def _zone_of(geoms, zones) -> np.ndarray:
    """Zone ``libelle`` of largest overlap for each polygon (None outside)."""
    out = np.full(len(geoms), None, dtype=object)
    if not len(zones) or "libelle" not in zones or not len(geoms):
        return out
    zg = np.asarray(zones.geometry.values, object)
    ia, ib = shapely.STRtree(zg).query(np.asarray(geoms, object))
    if not len(ia):
        return out
    area = intersection_area(np.asarray(geoms, object), zg, ia, ib)
    ok = area > AREA_TOL
    ia, ib, area = ia[ok], ib[ok], area[ok]
    order = np.lexsort((-area, ia))
    ia, ib = ia[order], ib[order]
    first = np.r_[True, ia[1:] != ia[:-1]] if len(ia) else np.zeros(0, bool)
    out[ia[first]] = zones["libelle"].to_numpy(dtype=object)[ib[first]]
    return out


def ratios(
    scene,
    by="parcel",
    *,
    source: str = "auto",
    landcover=None,
    classes: dict | None = None,
    ndvi=None,
    ndvi_threshold: float = 0.3,
    cdsm=None,
    min_canopy_height: float = 2.0,
    green_roofs=None,
    kinds: dict | None = None,
    weights: dict | None = None,
    rules=None,
    green_wall_height: float | None = None,
    threads: int | None = None,
) -> VegetationResult:
    """Vegetation versus built per parcel, zone or any polygon set.

    Measures, for each unit, the built footprint, the vegetation seen from
    above (tree canopy, low vegetation), the other open ground, pleine terre,
    green roofs and green walls, their shares, the weighted biotope surface and
    coefficient (CBS), and, when the scene carries a PLU rule pack, compliance
    with the zone's minima and what it would take to comply. The precedence
    rules that keep overlapping layers from being counted twice are given in
    :mod:`cimcity.vegetation`.

    Parameters
    ----------
    scene : Scene
    by : {"parcel", "zone"} or GeoDataFrame
        Units: the scene's parcels (default), its zones, or any polygons
        (reprojected to the scene CRS; a ``libelle`` column, when present,
        names their zone, else the zone of largest overlap is used).
    source : {"auto", "vector", "raster"}
        ``"vector"``: ``scene.buildings`` and ``scene.vegetation`` polygons.
        ``"raster"``: land cover / NDVI / CDSM (arguments below, else
        ``scene.rasters["landcover" | "ndvi" | "cdsm"]``). ``"auto"``: raster
        when a raster is given, or when the scene has vegetation rasters but
        no vegetation polygons; else vector.
    landcover, classes, ndvi, ndvi_threshold, cdsm, min_canopy_height
        Raster inputs, see :func:`raster_cover_areas`.
    green_roofs : GeoDataFrame, optional
        Extra roof layer of green roofs (optional ``substrate_m`` [m]).
    kinds : dict, optional
        Extra vegetation ``kind -> class`` entries (see :data:`KIND_CLASSES`).
    weights : dict, optional
        CBS weights overriding the rule pack's (or :data:`DEFAULT_BIOTOPE_WEIGHTS`)
        for every unit, e.g. ``{"green_wall": 0.5}``.
    rules : RulePack or False, optional
        Default ``scene.rules``; ``False`` skips the compliance columns.
    green_wall_height : float, optional
        Height of green walls that carry neither ``wall_area`` nor ``height`` [m].
    threads : int, optional
        Threads for the area kernel (default: CPU count).

    Returns
    -------
    VegetationResult
        ``.units`` GeoDataFrame (one row per unit, see
        :class:`VegetationResult`), ``.weights`` table, ``.summary()``,
        ``.failing``, ``.plot()``, ``.to_file()``.

    Raises
    ------
    InputError
        Unknown ``by``, ``source`` or vegetation kind, bad weights or rasters.

    Examples
    --------
    >>> import cimcity as cc
    >>> scene = cc.datasets.load("paris")
    >>> res = cc.vegetation.ratios(scene, by="parcel")  # doctest: +SKIP
    >>> res.units[["vegetation_share", "pleine_terre_share", "biotope_coefficient"]]  # doctest: +SKIP
    >>> res.failing[["what_would_it_take"]]  # doctest: +SKIP
    """
    if source not in ("auto", "vector", "raster"):
        raise InputError(
            f"unknown source {source!r}; expected 'auto', 'vector' or 'raster'"
        )
    rules = (
        getattr(scene, "rules", None)
        if rules is None
        else (None if rules is False else rules)
    )
    if rules is not None and not (
        hasattr(rules, "for_zone") and hasattr(rules, "weights")
    ):
        raise InputError(
            f"rules must be a RulePack (cimcity.read_rules), got {type(rules).__name__}"
        )
    U, by_label = _units_of(scene, by)
    rasters = dict(getattr(scene, "rasters", {}) or {})
    lc = landcover if landcover is not None else None
    nd = ndvi if ndvi is not None else None
    ch = cdsm if cdsm is not None else None
    explicit = any(r is not None for r in (lc, nd, ch))
    if source == "auto":
        from_scene = not len(scene.vegetation) and any(
            k in rasters for k in ("landcover", "ndvi", "cdsm")
        )
        source = "raster" if explicit or from_scene else "vector"
    common = dict(
        green_roofs=green_roofs,
        kinds=kinds,
        green_wall_height=green_wall_height,
        threads=threads,
    )
    if source == "raster":
        if not explicit:
            lc, nd, ch = (
                rasters.get("landcover"),
                rasters.get("ndvi"),
                rasters.get("cdsm"),
            )
        if all(r is None for r in (lc, nd, ch)):
            raise InputError(
                "source='raster' needs landcover=, ndvi= or cdsm= (or scene.rasters "
                "with one of the keys 'landcover', 'ndvi', 'cdsm')"
            )
        areas = raster_cover_areas(
            U,
            landcover=lc,
            classes=classes,
            ndvi=nd,
            ndvi_threshold=ndvi_threshold,
            cdsm=ch,
            min_canopy_height=min_canopy_height,
            buildings=scene.buildings if len(scene.buildings) else None,
            vegetation=scene.vegetation if len(scene.vegetation) else None,
            crs=scene.crs,
            **common,
        )
    else:
        areas = cover_areas(
            U,
            buildings=scene.buildings if len(scene.buildings) else None,
            vegetation=scene.vegetation if len(scene.vegetation) else None,
            validate=False,  # Scene tables and units are validated already
            **common,
        )
    keep = [c for c in U.columns if c not in areas.columns]
    out = gpd.GeoDataFrame(
        pd.concat([U[keep], areas], axis=1), geometry="geometry", crs=scene.crs
    )
    out, wt = _apply_weights_and_rules(out, rules, weights)
    return VegetationResult(out, wt, by_label, source, rules)


def biotope_coefficient(
    obj, by="parcel", *, weights: dict | None = None, rules=None, **kwargs
):
    """Coefficient de biotope par surface (CBS): Σ wₖ · areaₖ / unit area.

    Surface types and their areas (precedence in :mod:`cimcity.vegetation`):
    ``pleine_terre``, ``green_roof_deep`` (substrate >= 0.8 m),
    ``green_roof_shallow``, ``green_wall`` (facade area), ``permeable_paving``
    and ``impervious`` (everything else). Weights come from the PLU rule pack of
    each unit's zone (``pack.weights(libelle)``), else
    :data:`DEFAULT_BIOTOPE_WEIGHTS`; ``weights=`` overrides them.

    Parameters
    ----------
    obj : Scene, VegetationResult or DataFrame
        A Scene: measured with :func:`ratios` (``by`` and ``**kwargs`` passed
        on). A VegetationResult: the same areas re-weighted (no geometry
        recomputed). A DataFrame of areas (as from :func:`cover_areas`): the
        coefficient per row.
    by : {"parcel", "zone"} or GeoDataFrame
        Units, when ``obj`` is a Scene.
    weights : dict, optional
        Surface type -> weight in [0, 1].
    rules : RulePack, optional
        Rule pack (default: the scene's / result's).

    Returns
    -------
    VegetationResult, or Series (n,) [ratio] for a DataFrame of areas
        With ``biotope_coefficient``, ``weighted_area`` [m²], the weights table
        (``.weights``) and, with a rule pack, the ``biotope_ok`` compliance
        column against the zone's ``min_biotope_coefficient``.
    """
    if isinstance(obj, VegetationResult):
        if kwargs:
            raise InputError(
                f"unexpected arguments for a VegetationResult: {sorted(kwargs)}"
            )
        return obj.reweight(weights=weights, rules=rules)
    if isinstance(obj, pd.DataFrame) and not hasattr(obj, "parcels"):
        if "area" not in obj:
            raise InputError(
                f"the areas table needs an 'area' column; columns are {list(obj.columns)}"
            )
        den = (
            obj["observed_area"] if "observed_area" in obj else obj["area"]
        ).to_numpy(float)
        w = weighted_surface(obj, weights).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(den > 0, w / den, np.nan)
        return pd.Series(v, index=obj.index, name="biotope_coefficient")
    if not hasattr(obj, "parcels"):
        raise InputError(
            f"biotope_coefficient needs a Scene, a VegetationResult or a DataFrame of "
            f"areas; got {type(obj).__name__}"
        )
    return ratios(obj, by, weights=weights, rules=rules, **kwargs)
