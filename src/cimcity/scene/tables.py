"""The Scene's tables: their ids, their validation on entry and their joining.

Every vector table of a :class:`~cimcity.scene.Scene` is a GeoDataFrame in the
scene CRS indexed by a unique id (``parcel_id``, ``zone_id``, ``building_id``,
``vegetation_id``). :func:`normalise` turns user input into such a table:
reprojection, polygon checks, repair of invalid polygons (or refusal in strict
mode) and ids (from a column, the index, or generated as ``P000000``...).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..crs import to_crs
from ..errors import DataQualityWarning, GeometryError, InputError, RepairWarning
from ..results import plain
from ..schemas import (
    MAX_HEIGHT,
    building_fields,
    detect_flavour,
    source_ids,
    with_building_fields,
)

#: table name -> index name
ID = {
    "parcels": "parcel_id",
    "zones": "zone_id",
    "buildings": "building_id",
    "vegetation": "vegetation_id",
}
#: table name -> prefix of generated ids
PREFIX = {"parcels": "P", "zones": "Z", "buildings": "B", "vegetation": "V"}

_TYPE_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    4: "MultiPoint",
    5: "MultiLineString",
    7: "GeometryCollection",
}


def empty_table(kind: str, crs) -> gpd.GeoDataFrame:
    """An empty table of ``kind`` (``"parcels"``, ``"zones"``...) in ``crs``."""
    gdf = gpd.GeoDataFrame({"geometry": gpd.GeoSeries([], crs=crs)}, crs=crs)
    gdf.index.name = ID[kind]
    return gdf


def normalise(
    gdf, kind: str, crs, *, strict: bool = False, existing=None, id_column=None
) -> gpd.GeoDataFrame:
    """Validate a layer and give it the scene CRS and unique ids.

    Parameters
    ----------
    gdf : GeoDataFrame
        The user's layer.
    kind : str
        ``"parcels"``, ``"zones"``, ``"buildings"``, ``"vegetation"`` or
        ``"layers"`` (any other vector layer: every geometry type accepted).
    crs : pyproj.CRS
        The scene CRS; the layer is reprojected to it (with a warning).
    strict : bool
        Reject invalid polygons instead of repairing them.
    existing : GeoDataFrame, optional
        The scene's table of that kind: new ids must not clash with its ids,
        and generated ids continue its count.
    id_column : str or False, optional
        Column holding the ids (default: ``ID[kind]`` when present, else the
        index when named, else, for buildings, the product's id column
        (:func:`cimcity.schemas.source_ids`: BDNB ``batiment_c``, BD TOPO
        ``cleabs``...), else generated ids). ``False``: generated ids.

    Returns
    -------
    GeoDataFrame
        A copy with geometry column ``geometry`` and a unique, named index.

    Raises
    ------
    InputError, GeometryError, CRSError
        Not a GeoDataFrame, empty or non-polygonal geometries, missing or
        duplicate ids, unrepairable polygons, missing CRS.
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(
            f"{kind} must be a GeoDataFrame; got {type(gdf).__name__} "
            f"(read files with cimcity.read_* or geopandas.read_file)"
        )
    gdf = to_crs(gdf.copy(), crs, what=kind)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    geom = gdf.geometry.values
    empty = shapely.is_empty(geom) | pd.isna(geom)
    if empty.any():
        raise GeometryError(
            f"{kind}: {int(empty.sum())} row(s) have an empty or missing geometry "
            f"(first: row {plain(gdf.index[np.flatnonzero(empty)[0]])!r}); drop or fix them"
        )
    if kind != "layers":
        types = shapely.get_type_id(geom)
        bad = ~np.isin(types, (3, 6))
        if bad.any():
            names = sorted(set(shapely.get_type_id(geom[bad]).tolist()))
            raise GeometryError(
                f"{kind}: {int(bad.sum())} geometries are not polygons "
                f"({', '.join(_TYPE_NAMES.get(t, str(t)) for t in names)}); expected "
                f"Polygon or MultiPolygon footprints"
            )
        gdf = repair(gdf, kind, strict)
    gdf = _with_ids(gdf, kind, existing, id_column)
    return gdf


def _with_ids(gdf, kind, existing, id_column):
    idcol = id_column or ID.get(kind)
    if id_column is not False and idcol in gdf.columns:
        ids = gdf[idcol]
        gdf = gdf.drop(columns=[idcol])
        gdf.index = pd.Index(ids.to_numpy(), name=ID.get(kind, "id"))
    elif id_column is not None and id_column is not False:
        raise InputError(
            f"{kind}: id column {id_column!r} not found; columns are "
            f"{list(gdf.columns)}"
        )
    elif id_column is not False and not (
        isinstance(gdf.index, pd.RangeIndex) or gdf.index.name is None
    ):
        gdf.index.name = ID.get(kind, "id")
    else:
        ids, col, problems = (None, None, [])
        if kind == "buildings" and id_column is not False:
            ids, col, problems = source_ids(gdf, what=kind)
        if ids is not None:
            # the product's own ids (kept in their column too)
            gdf.index = pd.Index(ids, name=ID[kind])
            gdf.attrs["id_column"] = col
            if problems:
                warnings.warn(
                    f"{kind}: " + "; ".join(problems), DataQualityWarning, stacklevel=5
                )
        else:
            pre = PREFIX.get(kind, "L")
            n0 = _next_number(existing, pre)
            gdf.index = pd.Index(
                [f"{pre}{i:06d}" for i in range(n0, n0 + len(gdf))],
                name=ID.get(kind, "id"),
            )
    if gdf.index.hasnans:
        raise InputError(f"{kind}: {int(gdf.index.isna().sum())} id(s) are missing")
    dup = gdf.index[gdf.index.duplicated()]
    if len(dup):
        raise InputError(
            f"{kind}: duplicate ids {sorted(map(str, set(dup)))[:5]} "
            f"({len(dup)} duplicates); ids must be unique"
        )
    if existing is not None:
        clash = gdf.index.intersection(existing.index)
        if len(clash):
            raise InputError(
                f"{kind}: ids {list(map(str, clash[:5]))} are already in the scene"
            )
    return gdf


def _next_number(existing, prefix: str) -> int:
    """First free number after the generated ids ``<prefix>000123`` of a layer.

    Counting the rows would reuse an id once rows have been dropped (ten rows,
    one dropped: the next would be numbered 9, which is still taken).
    """
    if existing is None or not len(existing):
        return 0
    ids = existing.index.astype(str)
    nums = ids.str.extract(rf"^{prefix}(\d+)$")[0].dropna()
    last = int(nums.astype("int64").max()) + 1 if len(nums) else 0
    return max(last, len(existing))


def repair(gdf, kind: str, strict: bool = False) -> gpd.GeoDataFrame:
    """Invalid polygons made valid (``make_valid``, polygonal part kept).

    Repaired rows are flagged in a ``repaired`` column and counted in a
    :class:`~cimcity.errors.RepairWarning`; ``strict`` raises instead.
    """
    geom = gdf.geometry.values
    invalid = ~shapely.is_valid(geom)
    n = int(invalid.sum())
    if not n:
        return gdf
    if strict:
        first = plain(gdf.index[np.flatnonzero(invalid)[0]])
        reason = shapely.is_valid_reason(geom[invalid][0])
        raise GeometryError(
            f"{kind}: {n} invalid geometries (first {first!r}: {reason}); "
            f"strict mode rejects them (use strict=False to repair)"
        )
    fixed = shapely.make_valid(geom[invalid])
    # keep the polygonal part of collections made by make_valid
    parts, idx = shapely.get_parts(fixed, return_index=True)
    poly = np.isin(shapely.get_type_id(parts), (3, 6))
    out = []
    for i in range(len(fixed)):
        sel = parts[(idx == i) & poly]
        u = shapely.union_all(sel) if len(sel) else shapely.Polygon()
        out.append(u)
    polys = np.asarray(out, dtype=object)
    lost = shapely.is_empty(polys)
    if lost.any():
        first = plain(gdf.index[np.flatnonzero(invalid)[np.flatnonzero(lost)[0]]])
        raise GeometryError(
            f"{kind}: {int(lost.sum())} invalid geometries have no area once "
            f"repaired (first {first!r}); fix or drop them"
        )
    gdf = gdf.copy()
    values = gdf.geometry.values.copy()
    values[invalid] = polys
    gdf["geometry"] = gpd.GeoSeries(values, index=gdf.index, crs=gdf.crs)
    gdf["repaired"] = invalid
    warnings.warn(
        f"{kind}: repaired {n} invalid geometries with make_valid "
        f"(flagged in column 'repaired')",
        RepairWarning,
        stacklevel=5,
    )
    return gdf


def concat(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rows of ``b`` appended to ``a`` (``b`` itself when ``a`` is empty)."""
    if not len(a):
        return b
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        out = pd.concat([a, b])
    return gpd.GeoDataFrame(out, geometry="geometry", crs=a.crs)


def building_schema(gdf) -> gpd.GeoDataFrame:
    """A buildings table in a product's schema (BDNB, BD TOPO, OSM...) given
    the Scene's columns, as :func:`cimcity.read_buildings` would give them.

    Tables that already hold ``height_source`` (read by ``read_buildings``) or,
    for tables of no known product, a ``height`` column, are returned as they
    are: their columns are the Scene's.

    Parameters
    ----------
    gdf : GeoDataFrame
        Buildings, ids set.

    Returns
    -------
    GeoDataFrame
        With ``height``, ``storeys``, ``ground_z``, ``roof_z``, ``eave_z``
        [m], ``usage``, ``source``, ``height_source`` from the product's
        columns (see :mod:`cimcity.schemas`).

    Raises
    ------
    InputError
        Heights above :data:`cimcity.schemas.MAX_HEIGHT` in a table in the
        Scene's own schema.

    Warns
    -----
    DataQualityWarning
        Unreadable, non-positive or absurd values of the product's columns
        set to missing (count and first value).
    """
    if "height_source" not in gdf.columns:
        flavour = detect_flavour(gdf.columns)
        if flavour is not None or "height" not in gdf.columns:
            fields = building_fields(gdf, flavour=flavour)
            renamed = any(
                fields.columns.get(k) not in (None, k)
                for k in ("height", "storeys", "ground_z", "roof_z", "eave_z")
            )
            if fields.flavour is not None or renamed:
                had_source = "source" in gdf.columns
                gdf = with_building_fields(gdf, fields)
                if fields.flavour is None and not had_source:
                    gdf = gdf.drop(columns="source")  # resolve_heights: "user"
                if fields.problems:
                    warnings.warn(
                        "buildings: " + "; ".join(fields.problems),
                        DataQualityWarning,
                        stacklevel=4,
                    )
    if "height" in gdf.columns:
        h = pd.to_numeric(gdf["height"], errors="coerce").to_numpy(dtype=float)
        bad = np.isfinite(h) & (h > MAX_HEIGHT)
        if bad.any():
            i = np.flatnonzero(bad)[0]
            raise InputError(
                f"buildings: {int(bad.sum())} height value(s) above {MAX_HEIGHT:g} m "
                f"(first {plain(gdf.index[i])!r}: {float(h[i]):g} m); not a building "
                f"height: check the unit or the column"
            )
    return gdf
