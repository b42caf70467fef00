"""Building footprints with heights: BD TOPO, BDNB, OSM-like or any mapping.

:func:`read_buildings` returns the columns the Scene expects (``height``,
``storeys``, ``ground_z``, ``roof_z``, ``eave_z``, ``usage``, ``source``,
``height_source``) next to every original attribute, indexed by the product's
own building ids (BDNB ``batiment_c``, BD TOPO ``cleabs`` / ``ID``, OSM ids;
index name ``building_id``, which :meth:`cimcity.Scene.add_buildings` keeps).
It never invents a height: a building whose file gives none keeps ``height =
NaN`` (reported in a :class:`~cimcity.errors.DataQualityWarning`) and
:meth:`cimcity.Scene.add_buildings` estimates it from storeys or a default,
flagged in ``height_source``. Heights measured from a DSM (``dsm=``) are
measurements and are flagged ``"dsm"``.

The column meanings of each product live in :mod:`cimcity.schemas` (shared
with the Scene, so a raw BDNB table given to ``Scene.add_buildings`` gives the
same heights).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import shapely

from ..errors import CRSError, DataQualityWarning, InputError
from ..schemas import (
    BUILDING_COLUMNS,
    building_fields,
    parse_length,
    source_ids,
    with_building_fields,
)
from ..terrain import Terrain
from .citygml import is_citygml, read_citygml
from .raster import read_dem, read_dsm
from .vector import read_vector

__all__ = ["read_buildings", "parse_length", "BUILDING_COLUMNS"]


def read_buildings(
    path,
    height=None,
    crs="EPSG:2154",
    mapping=None,
    layer=None,
    bbox=None,
    dsm=None,
    dem=None,
    flavour=None,
    id_column=None,
    src_crs=None,
):
    """Read building footprints and normalise their heights and ids.

    Parameters
    ----------
    path : str or os.PathLike
        BD TOPO v3 ``batiment`` (GeoPackage / shapefile), BD TOPO v2, BDNB
        extract, OSM-style GeoJSON, Etalab ``batiments``, or any vector file of
        polygons (use ``mapping``); GeoParquet (``.parquet``, ``.geoparquet``)
        and Feather/Arrow files too. A CityGML 1.0/2.0 file is read with
        :func:`cimcity.io.citygml.read_citygml` (``gml:id`` ids,
        ``measuredHeight``).
    height : str or float, optional
        Name of the height column to use (case-insensitive), overriding the
        detected one; or a number [m] given to the buildings that have no
        height in the file (``height_source="user"``).
    crs : str or pyproj.CRS
        Target projected CRS (default Lambert-93).
    mapping : dict, optional
        ``{file column: normalised column}`` for files cimcity does not know,
        e.g. ``{"H_MOY": "height", "NB_NIV": "storeys", "ALT_SOL": "ground_z"}``.
        Targets: ``height``, ``storeys``, ``ground_z``, ``roof_z``,
        ``eave_z``, ``usage``; others are copied as they are.
    layer : str, optional
        Layer of a multi-layer file (default the only one, or the one named
        like ``batiment``).
    bbox : (minx, miny, maxx, maxy), optional
        Read only buildings intersecting this box, in ``crs`` [m].
    dsm : Terrain or path, optional
        Digital surface model: buildings with no height get ``roof_z`` = 90th
        percentile of the DSM cells inside the footprint and ``height`` =
        ``roof_z - ground_z`` (``height_source="dsm"``). Needs a ground
        altitude: ``ground_z`` from the file or ``dem``.
    dem : Terrain or path, optional
        Bare-ground model for ``ground_z`` where the file has none: with
        ``dsm``, the median of the DEM under the footprint; alone, its value at
        a point inside the footprint. A DEM or DSM that covers none of the
        buildings is refused (:class:`~cimcity.errors.InputError`).
    flavour : str, optional
        Force the product (see :data:`cimcity.schemas.FLAVOURS`); default
        detected from the columns.
    id_column : str or False, optional
        Column holding the building ids (case-insensitive). Default: the
        product's id (:data:`cimcity.schemas.ID_COLUMNS`: BDNB ``batiment_c``,
        BD TOPO ``cleabs`` / ``ID``, OSM ``@id`` / ``osm_id`` / ``id``...), or
        ``building_id`` / ``id`` in other files. ``False``: no ids (a
        RangeIndex; the Scene generates ``B000000``...).
    src_crs : str or pyproj.CRS, optional
        CRS of the file when it declares none or a wrong one.

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed by the building ids (index name ``building_id``) when the file
        has some, else a RangeIndex. Every original attribute (the id column
        too; a file column whose name clashes with a normalised column, e.g.
        OSM's text ``height``, is kept as ``<name>_file``), plus ``height``
        [m] (NaN when unknown), ``storeys`` (float, NaN when unknown),
        ``ground_z``, ``roof_z``, ``eave_z`` [m, altitudes, NaN when
        unknown], ``usage``, ``source`` (the product: ``"bdtopo"``,
        ``"bdnb"``, ``"osm"``...) and ``height_source`` (``"data"``,
        ``"altitudes"``, ``"dsm"``, ``"user"`` or None when missing).
        ``attrs["flavour"]`` holds the detected product, ``attrs["id_column"]``
        the id column used.

    Raises
    ------
    FileFormatError, CRSError, GeometryError
        See :func:`cimcity.io.vector.read_vector`.
    InputError
        A column named by ``height``, ``mapping`` or ``id_column`` is not in
        the file; an ``id_column`` named explicitly holds missing or duplicate
        ids.

    Warns
    -----
    DataQualityWarning
        Buildings without a height (count, and how many have storeys for the
        Scene's estimate); unreadable, non-positive or absurd heights, storeys
        or altitudes set to missing (count and first value); rows of the
        detected id column with no id (generated) or a duplicate id (made
        unique as ``<id>#2``...).
    ReprojectionWarning
        When the file is reprojected to ``crs``.

    Examples
    --------
    >>> b = cc.read_buildings("batiment.gpkg", bbox=(651000, 6862000, 652000, 6863000))  # doctest: +SKIP
    >>> b[["height", "storeys", "height_source"]].describe()  # doctest: +SKIP
    """
    if str(path).lower().endswith((".gml", ".xml", ".gml.gz")) and is_citygml(path):
        gdf = read_citygml(path, crs=crs, src_crs=src_crs)
        if bbox is not None:
            gdf = gdf[gdf.intersects(shapely.box(*bbox))]
        return gdf
    gdf = read_vector(
        path,
        layer=layer,
        bbox=bbox,
        crs=crs,
        what="buildings",
        src_crs=src_crs,
        prefer_layers=("batiment", "building", "bati"),
    )
    n = len(gdf)
    constant = None
    if height is not None and not isinstance(height, str):
        try:
            constant = float(height)
        except (TypeError, ValueError):
            constant = np.nan
        if not np.isfinite(constant) or constant <= 0:
            raise InputError(
                f"height must be a column name or a positive number of metres, "
                f"got {height!r}"
            )
    fields = building_fields(
        gdf,
        flavour=flavour,
        mapping=mapping,
        height_column=height if isinstance(height, str) else None,
        what=f"buildings {path}",
    )
    problems = fields.problems
    ids, id_col, id_problems = source_ids(
        gdf, fields.flavour, id_column, what=f"buildings {path}"
    )
    problems += id_problems
    h = fields.values["height"]
    ground, hsrc = fields.values["ground_z"], fields.height_source
    if dsm is not None:
        h, ground, hsrc = _heights_from_dsm(
            gdf, h, ground, hsrc, dsm, dem, crs, problems
        )
    elif dem is not None:
        ground = _ground_from_dem(gdf, ground, dem, crs, problems)
    if constant is not None:
        m = ~np.isfinite(h)
        h[m] = constant
        hsrc[m] = "user"
    fields.values.update(height=h, ground_z=ground)
    fields.height_source = hsrc
    gdf = with_building_fields(gdf, fields)
    if ids is not None:
        gdf.index = pd.Index(ids, name="building_id")

    nh = int((~np.isfinite(h)).sum())
    if nh:
        ns = int((~np.isfinite(h) & np.isfinite(fields.values["storeys"])).sum())
        col = fields.columns.get("height")
        what = f"no usable {col!r}" if col else "no height column"
        problems.append(
            f"{nh} of {n} buildings have no height ({what}); height stays NaN and "
            f"Scene.add_buildings estimates it ({ns} from storeys, {nh - ns} "
            f"from the default), flagged in height_source"
        )
    ng = int((~np.isfinite(ground)).sum())
    if ng and np.isfinite(ground).any():
        problems.append(
            f"{ng} of {n} buildings have no ground altitude (taken from the terrain "
            f"when the scene has one)"
        )
    if problems:
        warnings.warn(
            f"buildings {path}: " + "; ".join(problems),
            DataQualityWarning,
            stacklevel=2,
        )
    gdf.attrs["id_column"] = id_col
    return gdf


def _check_cover(t, gdf, kind):
    """Refuse a DEM/DSM that covers none of the buildings."""
    if not len(gdf):
        return
    tb, gb = t.bounds, gdf.total_bounds
    if tb[2] < gb[0] or tb[0] > gb[2] or tb[3] < gb[1] or tb[1] > gb[3]:
        name = t.source or kind.upper()
        raise InputError(
            f"{kind.upper()} {name} covers none of the buildings: its extent "
            f"{tuple(round(float(v), 1) for v in tb)} does not meet theirs "
            f"{tuple(round(float(v), 1) for v in gb)}; give the {kind.upper()} of "
            f"the same place"
        )


def _ground_from_dem(gdf, ground, dem, crs, problems):
    """Missing ground altitudes from a DEM: its value at a point inside each
    footprint (``shapely.point_on_surface``)."""
    dem = _as_terrain(dem, crs if crs is not None else gdf.crs, "dem")
    if not dem.crs.equals(gdf.crs, ignore_axis_order=True):
        raise CRSError(
            f"DEM is in {dem.crs.to_string()!r}, the buildings in "
            f"{gdf.crs.to_string()!r}; read it with crs={gdf.crs.to_string()!r}"
        )
    _check_cover(dem, gdf, "dem")
    need = ~np.isfinite(ground)
    if not need.any():
        return ground
    pts = shapely.point_on_surface(gdf.geometry.values[need])
    z = dem.sample(shapely.get_x(pts), shapely.get_y(pts))
    ground = ground.copy()
    ground[np.flatnonzero(need)] = z
    off = int((~np.isfinite(z)).sum())
    if off:
        problems.append(f"{off} buildings without a ground altitude lie off the DEM")
    return ground


def _as_terrain(t, crs, kind):

    if t is None or isinstance(t, Terrain):
        return t

    return (read_dsm if kind == "dsm" else read_dem)(t, crs=crs)


def _group_stat(labels, values, n, q):
    """Per-label quantile ``q`` (0..1) of ``values``; labels 1..n (0 ignored)."""
    ok = (labels > 0) & np.isfinite(values)
    lab, val = labels[ok], values[ok]
    out = np.full(n, np.nan)
    if not lab.size:
        return out
    order = np.lexsort((val, lab))
    lab, val = lab[order], val[order]
    counts = np.bincount(lab, minlength=n + 1)[1:]
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    pos = start[has] + np.floor(q * (counts[has] - 1)).astype(np.int64)
    out[has] = val[pos]
    return out


def _heights_from_dsm(gdf, h, ground, hsrc, dsm, dem, crs, problems):
    """Fill missing heights from a DSM (90th percentile inside the footprint)
    and missing ground altitudes from a DEM (median under the footprint)."""
    dsm = _as_terrain(dsm, crs if crs is not None else gdf.crs, "dsm")
    dem = _as_terrain(dem, dsm.crs, "dem")
    for t in (dsm, dem):
        if t is not None and not t.crs.equals(gdf.crs, ignore_axis_order=True):
            raise CRSError(
                f"{t.kind.upper()} is in {t.crs.to_string()!r}, the buildings in "
                f"{gdf.crs.to_string()!r}; read it with crs={gdf.crs.to_string()!r}"
            )
        if t is not None:
            _check_cover(t, gdf, t.kind)
    need = ~np.isfinite(h)
    if not need.any():
        return h, ground, hsrc
    idx = np.flatnonzero(need)
    geoms = gdf.geometry.values[idx]
    # rasterio's own use of affine's deprecated `*` warns once per geometry
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return _rasterize_footprints(
            gdf, h, ground, hsrc, dsm, dem, idx, geoms, problems
        )


def _rasterize_footprints(gdf, h, ground, hsrc, dsm, dem, idx, geoms, problems):
    from rasterio.features import rasterize

    shape = dsm.shape
    labels = rasterize(
        ((g, i + 1) for i, g in enumerate(geoms)),
        out_shape=shape,
        transform=dsm.transform,
        fill=0,
        dtype="int32",
    )
    present = np.bincount(labels.ravel(), minlength=len(idx) + 1)[1:] > 0
    if not present.all():
        # footprints smaller than a cell: take the cells they touch
        small = np.flatnonzero(~present)
        extra = rasterize(
            ((geoms[i], i + 1) for i in small),
            out_shape=shape,
            transform=dsm.transform,
            fill=0,
            all_touched=True,
            dtype="int32",
        )
        labels = np.where(labels == 0, extra, labels)
    lab = labels.ravel()
    top = _group_stat(lab, dsm.elevation.ravel(), len(idx), 0.9)
    g = ground[idx].copy()
    if dem is not None and (~np.isfinite(g)).any():
        x, y = dsm.cell_centers()
        xx, yy = np.meshgrid(x, y)
        cells = lab > 0
        dz = np.full(lab.shape, np.nan)
        dz[cells] = dem.sample(xx.ravel()[cells], yy.ravel()[cells])
        med = _group_stat(lab, dz, len(idx), 0.5)
        g = np.where(np.isfinite(g), g, med)
    outside = int((~np.isfinite(top)).sum())
    if outside:
        problems.append(f"{outside} buildings without a height lie outside the DSM")
    hh = top - g
    ok = np.isfinite(hh) & (hh > 0)
    bad = int((~ok & np.isfinite(top)).sum())
    if bad:
        problems.append(f"{bad} buildings lie at or below the ground in the DSM")
    out = idx[ok]
    h = h.copy()
    h[out] = hh[ok]
    hsrc[out] = "dsm"
    ground = ground.copy()
    gfill = idx[np.isfinite(g) & ~np.isfinite(ground[idx])]
    ground[gfill] = g[np.isin(idx, gfill)]
    return h, ground, hsrc
