"""Measuring a scene: its units, the cover path, :func:`ratios` and
:func:`biotope_coefficient`.

The Scene entry points of :mod:`cimcity.vegetation`: they pick the units
(parcels, zones or any polygons, each with the ``libelle`` of its zone), choose
the vector or raster path, measure the cover areas (:mod:`cimcity.vegetation.cover`,
:mod:`cimcity.vegetation.raster_cover`), apply the CBS weights and the PLU minima
(:mod:`cimcity.vegetation.biotope`) and return a :class:`~cimcity.vegetation.result.VegetationResult`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._compat import keyword_only_after
from ..crs import to_crs
from ..errors import InputError
from .biotope import _apply_weights_and_rules, weighted_surface
from .cover import cover_areas
from .flat import _as_geometry_array
from .known import check_absent, mask_unknown, missing_inputs, warn_unknown
from .raster_cover import check_thresholds, raster_cover_areas
from .result import VegetationResult
from .zonal import AREA_TOL, intersection_area


def _units_of(scene, by):
    """(units GeoDataFrame with a ``libelle`` column, by-label)."""
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


@keyword_only_after(1)
def ratios(
    scene,
    *,
    by="parcel",
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
    absent=None,
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
    absent : str or iterable of str, optional
        Layers the units truly do not have, among ``"buildings"``,
        ``"vegetation"``, ``"green_roofs"``, ``"green_walls"``,
        ``"permeable_paving"``: their empty (or missing) layer then measures
        zero. Without it an empty layer is *missing*, and what needs it is
        unknown (see Notes).

    Returns
    -------
    VegetationResult
        ``.units`` (the main table, one row per unit, see
        :class:`VegetationResult`), ``.by_zone`` and ``.weights`` tables,
        ``.summary()`` (dict), ``.failing``, ``.plot()``, ``.to_file()``.

    Every argument after ``scene`` is keyword-only (``ratios(scene,
    "zone")`` still works for one release, with a ``FutureWarning``).

    Raises
    ------
    InputError
        Unknown ``by``, ``source``, ``absent`` or vegetation kind, bad weights
        or rasters, ``ndvi_threshold`` outside [-1, 1], ``min_canopy_height``
        not a number >= 0 m.

    Warns
    -----
    DataQualityWarning
        When a layer is missing, naming it and the quantities left unknown.

    Notes
    -----
    Unknown is not zero. A quantity is measured only from the layers it needs
    (:data:`cimcity.vegetation.known.NEEDS`); without them it is NaN, and so
    are its share, the weighted surface and biotope coefficient that need it,
    the PLU checks on it (status NA, not counted as failing nor as checked)
    and the district figures (``summary()`` gives None, ``summary_lines()``
    says "unknown"). On the vector path: no buildings layer leaves the built,
    unbuilt and open areas and the green roofs unknown; no vegetation layer
    leaves the vegetation, canopy, low vegetation, open, pleine terre,
    permeable paving, impervious, green-wall and green areas unknown, and
    green roofs too unless the buildings carry a ``green_roof`` column or
    ``green_roofs=`` is given. On the raster path: built needs a land cover or
    the buildings, canopy a land cover or a CDSM, ground vegetation a land
    cover or an NDVI, permeable paving a land cover; green roofs and walls
    always come from the vector layers. A non-empty vegetation layer is taken
    as complete (every kind it may list).

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
    # checked whatever the path (a vector run must not accept a bad value
    # that a raster run would refuse)
    check_thresholds(min_canopy_height, ndvi_threshold)
    rules = _rule_pack(scene, rules)
    absent = check_absent(absent)
    U, by_label = _units_of(scene, by)
    source, areas, used = _cover(
        scene,
        U,
        source,
        rasters=dict(landcover=landcover, ndvi=ndvi, cdsm=cdsm),
        raster_options=dict(
            classes=classes,
            ndvi_threshold=ndvi_threshold,
            min_canopy_height=min_canopy_height,
        ),
        common=dict(
            green_roofs=green_roofs,
            kinds=kinds,
            green_wall_height=green_wall_height,
            threads=threads,
        ),
    )
    missing = missing_inputs(
        source=source,
        buildings=scene.buildings,
        vegetation=scene.vegetation,
        rasters=used,
        green_roofs=green_roofs,
        absent=absent,
    )
    unknown = mask_unknown(areas, missing)
    warn_unknown(unknown, len(U), stacklevel=4)
    keep = [c for c in U.columns if c not in areas.columns]
    out = gpd.GeoDataFrame(
        pd.concat([U[keep], areas], axis=1), geometry="geometry", crs=scene.crs
    )
    out, wt = _apply_weights_and_rules(out, rules, weights)
    meta = {
        "unknown": unknown,
        "missing_layers": sorted(set(missing.values())),
        "absent": sorted(absent),
    }
    return VegetationResult(out, wt, by_label, source, rules, meta)


def _rule_pack(scene, rules):
    """The rule pack to apply: ``scene.rules`` by default, None for ``False``."""
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
    return rules


def _cover(scene, U, source, *, rasters, raster_options, common):
    """(source used, cover areas of the units ``U``, names of the rasters
    read): the raster path from the given rasters or the scene's, else the
    vector path on the scene's layers."""
    scene_rasters = dict(getattr(scene, "rasters", {}) or {})
    explicit = any(r is not None for r in rasters.values())
    if source == "auto":
        from_scene = not len(scene.vegetation) and any(
            k in scene_rasters for k in ("landcover", "ndvi", "cdsm")
        )
        source = "raster" if explicit or from_scene else "vector"
    buildings = scene.buildings if len(scene.buildings) else None
    vegetation = scene.vegetation if len(scene.vegetation) else None
    if source == "vector":
        return (
            source,
            cover_areas(
                U,
                buildings=buildings,
                vegetation=vegetation,
                validate=False,  # Scene tables and units are validated already
                **common,
            ),
            set(),
        )
    if not explicit:
        rasters = {k: scene_rasters.get(k) for k in rasters}
    if all(r is None for r in rasters.values()):
        raise InputError(
            "source='raster' needs landcover=, ndvi= or cdsm= (or scene.rasters "
            "with one of the keys 'landcover', 'ndvi', 'cdsm')"
        )
    return (
        source,
        raster_cover_areas(
            U,
            **rasters,
            **raster_options,
            buildings=buildings,
            vegetation=vegetation,
            crs=scene.crs,
            **common,
        ),
        {k for k, r in rasters.items() if r is not None},
    )


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
    # the undecorated ratios: its warnings then point at the caller of
    # biotope_coefficient (one frame fewer than through the decorator)
    return ratios.__wrapped__(obj, by=by, weights=weights, rules=rules, **kwargs)
