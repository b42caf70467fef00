"""The cover partition of each unit, from rasters (land cover, NDVI, CDSM).

Each pixel gets a bit mask of the classes it shows (observed, built, canopy,
ground vegetation, permeable paving) by the same precedence as the vector path
(:mod:`cimcity.vegetation.cover`); units are burnt into the grid by pixel centre and pixels are
counted per unit and mask in one ``np.bincount`` per grid (:mod:`cimcity.vegetation.raster`).
Green roofs and walls, invisible from above in such rasters, come from the
vector layers.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import CRSError, InputError
from .cover import _finish_areas, _green_roofs, cover_areas
from .flat import _as_geometry_array
from .kinds import UMEP_LANDCOVER_CLASSES, _kind_classes
from .raster import _rasterize_layers, _read_raster

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
    given = _checked_grids(
        landcover, ndvi, cdsm, ucrs, min_canopy_height, ndvi_threshold
    )
    ref = given[0]
    mask = _pixel_mask(
        {r.what: r.values for r in given},
        ref.transform,
        classes=classes,
        kinds=kinds,
        buildings=buildings,
        ndvi_threshold=ndvi_threshold,
        min_canopy_height=min_canopy_height,
    )
    data = _count_pixels(U, mask, ref.transform, threads)
    _add_roofs_and_walls(
        data,
        U,
        buildings=buildings,
        vegetation=vegetation,
        green_roofs=green_roofs,
        kinds=kinds,
        green_wall_height=green_wall_height,
        threads=threads,
    )
    return _finish_areas(data, index)


def check_thresholds(min_canopy_height, ndvi_threshold) -> None:
    """Refuse a canopy height that is not a finite number >= 0 [m] or an NDVI
    threshold outside [-1, 1] (NDVI is a normalised difference)."""
    for name, v, ok, expect in (
        ("min_canopy_height", min_canopy_height, lambda f: f >= 0, ">= 0 m"),
        ("ndvi_threshold", ndvi_threshold, lambda f: -1.0 <= f <= 1.0, "in [-1, 1]"),
    ):
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise InputError(f"{name} must be a number {expect}; got {v!r}") from None
        if not (np.isfinite(f) and ok(f)):
            raise InputError(f"{name} must be a finite number {expect}; got {f:g}")


def _checked_grids(
    landcover, ndvi, cdsm, ucrs, min_canopy_height, ndvi_threshold
) -> list:
    """The given rasters (:class:`~cimcity.vegetation.raster._Raster`), checked to share one grid
    and the CRS of the units; the thresholds checked too."""
    given = [
        _read_raster(r, w)
        for r, w in ((landcover, "landcover"), (ndvi, "ndvi"), (cdsm, "cdsm"))
        if r is not None
    ]
    if not given:
        raise InputError("raster path needs at least one of landcover=, ndvi=, cdsm=")
    check_thresholds(min_canopy_height, ndvi_threshold)
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
        if not CRS.from_user_input(ucrs).equals(rcrs, ignore_axis_order=True):
            raise CRSError(
                f"units are in {CRS.from_user_input(ucrs).to_string()!r} but the rasters "
                f"in {rcrs.to_string()!r}; reproject the units (gdf.to_crs) to the "
                f"raster CRS"
            )
    return given


def _landcover_layers(lc, valid, classes, kinds, built, canopy, ground, permeable):
    """Marks, in place, the built / canopy / ground / permeable pixels of a
    land-cover grid ``lc`` (codes mapped to kinds by ``classes``)."""
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


def _burn_buildings(buildings, shape, transform) -> np.ndarray:
    """Pixels whose centre lies in a footprint, (rows, cols) bool."""
    from rasterio.features import rasterize

    bg = _as_geometry_array(buildings, "buildings")
    bg = bg[~shapely.is_empty(bg)]
    if not len(bg):
        return np.zeros(shape, bool)
    return rasterize(
        ((g, 1) for g in bg),
        out_shape=shape,
        transform=transform,
        fill=0,
        all_touched=False,
        dtype="uint8",
    ).astype(bool)


def _pixel_mask(
    R: dict,
    transform,
    *,
    classes,
    kinds,
    buildings,
    ndvi_threshold: float,
    min_canopy_height: float,
) -> np.ndarray:
    """Bit mask (rows, cols) uint8 of each pixel's classes (``_VALID``,
    ``_BUILT``, ``_CANOPY``, ``_GROUND``, ``_PERMEABLE``) from the grids ``R``
    (``"landcover"``, ``"ndvi"``, ``"cdsm"`` -> array), precedence applied."""
    shape = next(iter(R.values())).shape
    mask = np.zeros(shape, np.uint8)
    valid = np.ones(shape, bool)
    canopy = np.zeros(shape, bool)
    ground = np.zeros(shape, bool)
    built = np.zeros(shape, bool)
    permeable = np.zeros(shape, bool)
    if "landcover" in R:
        lc = R["landcover"]
        valid &= np.isfinite(lc)
        _landcover_layers(lc, valid, classes, kinds, built, canopy, ground, permeable)
    elif buildings is not None and len(buildings):
        built = _burn_buildings(buildings, shape, transform)
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
    return mask


def _count_pixels(U: np.ndarray, mask: np.ndarray, transform, threads) -> dict:
    """Base areas per unit [m²] (``area``, ``observed_area``, ``built_area``,
    ``canopy_area``, ``low_vegetation_area``, ``pleine_terre_area``,
    ``permeable_paving_area``) from the pixel mask."""
    pixel_area = abs(transform.a * transform.e)
    n = len(U)
    counts = np.zeros((n + 1, 32))
    for labels in _rasterize_layers(U, mask.shape, transform, threads):
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
    return {
        "area": shapely.area(U),
        "observed_area": total(v),
        "built_area": total(v & b),
        "canopy_area": total(v & ~b & c),
        "low_vegetation_area": total(v & ~b & ~c & g),
        "pleine_terre_area": total(v & ~b & g),
        "permeable_paving_area": total(v & ~b & ~g & p),
    }


def _add_roofs_and_walls(
    data: dict,
    U: np.ndarray,
    *,
    buildings,
    vegetation,
    green_roofs,
    kinds,
    green_wall_height,
    threads,
) -> None:
    """Adds ``green_roof_area``, ``green_roof_deep_area`` and
    ``green_wall_area`` to ``data`` from the vector layers (the vector path);
    without footprints the roof polygons are their own footprints, then clipped
    to the observed built area."""
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


def _only_roofs_walls(vegetation, kinds):
    if vegetation is None or not len(vegetation) or "kind" not in vegetation.columns:
        return None
    cls = _kind_classes(vegetation["kind"].to_numpy(), kinds)
    keep = np.isin(
        cls, ("green_roof", "green_roof_deep", "green_roof_shallow", "green_wall")
    )
    return vegetation[keep] if keep.any() else None
