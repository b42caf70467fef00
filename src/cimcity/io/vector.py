"""Shared vector reading for the cimcity readers (cadastre, buildings, PLU).

One function, :func:`read_vector`, opens any OGR vector file through pyogrio
(GeoJSON, ``.json.gz``, GeoPackage, shapefile, GeoParquet, FlatGeobuf...),
checks it (empty or truncated file, missing CRS, lon/lat declared as a
projected CRS, geometry types), repairs what can be repaired with a warning
giving the count, and returns it in the scene CRS. :func:`detect_flavour`
recognises the French data products the readers know.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..crs import as_projected_crs, check_bounds_in_area_of_use, to_crs
from ..errors import (
    CRSError,
    DataQualityWarning,
    FileFormatError,
    GeometryError,
    InputError,
    RepairWarning,
)

__all__ = [
    "read_vector",
    "detect_flavour",
    "vsi_path",
    "apply_mapping",
    "find_column",
    "normalise_crs",
    "FLAVOURS",
]

_GEOM_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}

#: data products recognised from their column names (lower case): flavour ->
#: (description, columns that must all be present)
FLAVOURS = {
    "etalab_parcelles": (
        "Etalab cadastre, parcelles",
        {"id", "commune", "prefixe", "section", "numero", "contenance"},
    ),
    "etalab_batiments": (
        "Etalab cadastre, bâtiments",
        {"type", "nom", "commune", "created", "updated"},
    ),
    "bd_parcellaire": (
        "IGN BD Parcellaire parcels",
        {"numero", "feuille", "section", "code_dep", "code_com"},
    ),
    "bdtopo_v3_batiment": (
        "IGN BD TOPO v3 BATIMENT",
        {"hauteur", "nombre_d_etages", "altitude_minimale_sol"},
    ),
    "bdtopo_v2_bati": ("IGN BD TOPO v2 BATI", {"hauteur", "z_min", "z_max"}),
    "bdnb": ("CSTB BDNB buildings", {"hauteur", "altitude_s"}),
    "osm_buildings": ("OpenStreetMap buildings", {"building"}),
    "zone_urba": ("CNIG PLU zone_urba", {"libelle", "typezone"}),
    "troncon_de_route": ("IGN BD TOPO road segments", {"nature", "largeur"}),
}
_OSM_KEYS = {"height", "building:levels", "building_levels", "roof:height"}


def detect_flavour(columns) -> str | None:
    """Name of the data product whose columns these are (see :data:`FLAVOURS`),
    or None. Column names are compared case-insensitively.

    Parameters
    ----------
    columns : iterable of str

    Returns
    -------
    str or None
        ``"etalab_parcelles"``, ``"etalab_batiments"``, ``"bd_parcellaire"``,
        ``"bdtopo_v3_batiment"``, ``"bdtopo_v2_bati"``, ``"bdnb"``,
        ``"osm_buildings"``, ``"zone_urba"``, ``"troncon_de_route"``.
    """
    cols = {str(c).lower() for c in columns}
    for name, (_, needed) in FLAVOURS.items():
        if name == "osm_buildings":
            if "building" in cols or len(cols & _OSM_KEYS) >= 2:
                return name
            continue
        if needed <= cols:
            return name
    if {"batiment_c", "batiment_g"} <= cols or "batiment_groupe_id" in cols:
        return "bdnb"
    return None


def vsi_path(path) -> str:
    """The path GDAL should open: ``/vsigzip/`` prefix for ``.gz`` files."""
    s = os.fspath(path)
    if s.lower().endswith(".gz") and not s.startswith("/vsi"):
        return "/vsigzip/" + s
    return s


def check_file(path, what: str = "file") -> Path:
    """Raise FileNotFoundError / FileFormatError (empty) before GDAL sees it."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(2, f"{what} not found: {p}", str(p))
    if p.is_file() and p.stat().st_size == 0:
        raise FileFormatError(f"{what} {p} is empty (0 bytes)")
    return p


def find_column(columns, *names):
    """First column of ``columns`` matching one of ``names`` case-insensitively
    (None when absent)."""
    low = {str(c).lower(): c for c in columns}
    for n in names:
        c = low.get(n.lower())
        if c is not None:
            return c
    return None


def apply_mapping(gdf, mapping: dict, what: str):
    """Copy file columns to normalised names: ``{file column: new name}``.

    File column names are matched case-insensitively; the original column is
    kept (the copy goes under the new name, replacing a column of that name).

    Raises
    ------
    InputError
        When a mapped column is not in the file.
    """
    out = gdf
    for src, dst in mapping.items():
        col = find_column(gdf.columns, src)
        if col is None:
            raise InputError(
                f"{what}: mapped column {src!r} not found; columns are "
                f"{', '.join(map(str, gdf.columns.drop(gdf.geometry.name)))}"
            )
        if out is gdf:
            out = gdf.copy()
        out[dst] = gdf[col]
    return out


#: formats that hold exactly one layer
_SINGLE_LAYER = (".json", ".geojson", ".geojsonl", ".shp", ".fgb", ".parquet", ".csv")


def normalise_crs(crs):
    """pyproj CRS with its EPSG identity when WKT lacks the authority
    (``.prj`` files often spell EPSG:4326 or 2154 without it)."""
    if crs is None:
        return None
    crs = CRS.from_user_input(crs)
    if crs.to_epsg():
        return crs
    matches = crs.list_authority(min_confidence=70)
    for m in matches:
        if m.auth_name == "EPSG":
            return CRS.from_epsg(int(m.code))
    for m in matches:
        if (m.auth_name, m.code) == ("OGC", "CRS84"):
            return CRS.from_epsg(4326)  # same datum, lon/lat order (always_xy)
    return crs


def _info_crs(src, path, layer, what):
    import pyogrio

    try:
        info = pyogrio.read_info(src, layer=layer)
    except Exception as exc:
        raise FileFormatError(f"cannot read {path}: {_short(exc)}") from exc
    crs = normalise_crs(info.get("crs"))
    if crs is None:
        raise CRSError(
            f"{what} {path} declares no CRS (missing .prj or crs member); pass "
            f"src_crs='EPSG:2154' (Lambert-93) or 'EPSG:4326' (lon/lat)"
        )
    return crs


def _list_layers(path, src: str):
    import pyogrio

    try:
        return [str(n) for n in pyogrio.list_layers(src)[:, 0]]
    except Exception as exc:
        raise FileFormatError(
            f"cannot open {path} as a vector file ({_short(exc)}); expected a "
            f"GeoJSON, GeoPackage, shapefile, GeoParquet or another OGR format, "
            f"complete and not truncated"
        ) from exc


def _short(exc) -> str:
    s = str(exc).strip().splitlines()
    return s[0] if s else type(exc).__name__


def _choose_layer(path, layers, layer, prefer):
    if layer is not None:
        if layer in layers:
            return layer
        low = {n.lower(): n for n in layers}
        if str(layer).lower() in low:
            return low[str(layer).lower()]
        raise InputError(
            f"layer {layer!r} not found in {path}; layers are {', '.join(layers)}"
        )
    if len(layers) == 1:
        return layers[0]
    if not layers:
        raise FileFormatError(f"{path} holds no vector layer")
    for p in prefer:
        hits = [n for n in layers if p in n.lower()]
        if len(hits) == 1:
            return hits[0]
    raise InputError(
        f"{path} holds several layers ({', '.join(layers)}); choose one with layer=..."
    )


def _read(src, path, layer, bbox, columns, **extra):
    import pyogrio

    kw = dict(layer=layer, bbox=bbox, columns=columns, **extra)
    # not use_arrow: the arrow path accepts invalid UTF-8 and fails later, on
    # first access to the column; the classic path raises UnicodeDecodeError
    try:
        return pyogrio.read_dataframe(src, use_arrow=False, **kw)
    except UnicodeDecodeError:
        raise
    except Exception as exc:
        raise FileFormatError(
            f"cannot read {path}: {_short(exc)}; the file may be truncated or corrupted"
        ) from exc


def _decode_fallback(src, path, layer, bbox, columns, what):
    """Read, falling back to Latin-1 when the file lies about its encoding."""
    try:
        return _read(src, path, layer, bbox, columns)
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start : exc.start + 1]
        if str(path).lower().endswith((".shp", ".dbf")):
            # the shapefile driver recodes from the .cpg encoding itself
            gdf = _read(src, path, layer, bbox, columns, ENCODING="ISO-8859-1")
        else:
            gdf = _read(src, path, layer, bbox, columns, encoding="latin-1")
        warnings.warn(
            f"{what} {path}: text attributes are not valid UTF-8 (byte {bad!r}); "
            f"decoded as Latin-1 (check accented characters)",
            DataQualityWarning,
            stacklevel=4,
        )
        return gdf


def _report_replacement_chars(gdf, what, path):
    """Warn about strings holding U+FFFD (text broken before the file was
    written); they are kept as they are."""
    hits = {}
    for c in gdf.columns:
        s = gdf[c]
        if c == gdf.geometry.name or not (
            s.dtype == object or isinstance(s.dtype, pd.StringDtype)
        ):
            continue
        try:
            n = int(s.str.contains("\ufffd", regex=False, na=False).sum())
        except (AttributeError, TypeError, ValueError):
            continue
        if n:
            hits[c] = n
    if hits:
        listing = ", ".join(f"{c} ({n})" for c, n in hits.items())
        warnings.warn(
            f"{what} {path}: {sum(hits.values())} text values contain U+FFFD "
            f"replacement characters (encoding broken upstream), in {listing}; "
            f"kept as they are",
            DataQualityWarning,
            stacklevel=4,
        )


def _check_polygons(gdf, what, path):
    geom = gdf.geometry.values
    types = shapely.get_type_id(geom)
    coll = types == 7
    if coll.any():
        # keep the polygonal parts of collections (e.g. written by make_valid)
        polys = np.array(
            [
                shapely.union_all(
                    [p for p in shapely.get_parts(g) if p.geom_type.endswith("Polygon")]
                )
                for g in geom[coll]
            ],
            dtype=object,
        )
        ok = ~shapely.is_empty(polys)
        if ok.all():
            geom = geom.copy()
            geom[coll] = polys
            types = shapely.get_type_id(geom)
            gdf = gdf.set_geometry(gpd.GeoSeries(geom, index=gdf.index, crs=gdf.crs))
            warnings.warn(
                f"{what} {path}: {int(coll.sum())} GeometryCollections reduced to "
                f"their polygons",
                RepairWarning,
                stacklevel=4,
            )
    bad = ~np.isin(types, (3, 6))
    if bad.any():
        counts = Counter(_GEOM_NAMES.get(int(t), str(t)) for t in types[bad])
        listing = ", ".join(f"{n} {k}" for k, n in counts.most_common())
        first = gdf.index[np.flatnonzero(bad)[0]]
        raise GeometryError(
            f"{what} {path}: {int(bad.sum())} of {len(gdf)} geometries are not "
            f"polygons ({listing}; first at row {first!r}); expected Polygon or "
            f"MultiPolygon"
        )
    invalid = ~shapely.is_valid(geom)
    n = int(invalid.sum())
    if n:
        fixed = shapely.make_valid(
            geom[invalid], method="structure", keep_collapsed=False
        )
        geom = geom.copy()
        geom[invalid] = fixed
        gdf = gdf.set_geometry(gpd.GeoSeries(geom, index=gdf.index, crs=gdf.crs))
        gdf["repaired"] = invalid
        warnings.warn(
            f"{what} {path}: repaired {n} invalid polygons with make_valid "
            f"(flagged in column 'repaired')",
            RepairWarning,
            stacklevel=4,
        )
    return gdf


def read_vector(
    path,
    layer=None,
    bbox=None,
    crs="EPSG:2154",
    columns=None,
    what: str = "layer",
    polygons: bool = True,
    src_crs=None,
    prefer_layers=(),
) -> gpd.GeoDataFrame:
    """Read a vector file, checked, repaired and reprojected.

    Parameters
    ----------
    path : str or os.PathLike
        Any OGR vector format; ``.gz`` files are read through ``/vsigzip/``.
    layer : str, optional
        Layer of a multi-layer file (case-insensitive). Default: the only
        layer, else the one matching ``prefer_layers``.
    bbox : (minx, miny, maxx, maxy), optional
        Keep features intersecting this box, given in ``crs`` [m].
    crs : str, pyproj.CRS or None
        Target projected CRS (default Lambert-93). None keeps the file's CRS.
    columns : list of str, optional
        Attribute columns to read (default all).
    what : str
        What the file holds, for messages (``"cadastre"``, ``"buildings"``).
    polygons : bool
        Require Polygon / MultiPolygon geometries.
    src_crs : str or pyproj.CRS, optional
        CRS of the file when it declares none (or declares a wrong one).
    prefer_layers : tuple of str
        Substrings of layer names to pick when ``layer`` is None.

    Returns
    -------
    geopandas.GeoDataFrame
        2D geometries (Z dropped) in ``crs``; every attribute kept; a
        ``repaired`` bool column when invalid polygons were repaired.

    Raises
    ------
    FileNotFoundError
        Missing file.
    FileFormatError
        Empty, truncated or unreadable file; no features.
    CRSError
        No CRS (and no ``src_crs``), or coordinates that cannot belong to the
        declared CRS (lon/lat declared as Lambert-93).
    GeometryError
        Non-polygon geometries when ``polygons`` is True.

    Warns
    -----
    ReprojectionWarning
        When the file was reprojected to ``crs``.
    RepairWarning
        When invalid polygons were repaired (count given).
    DataQualityWarning
        Missing geometries dropped, text not UTF-8, U+FFFD characters (counts).
    """

    p = check_file(path, what)
    src = vsi_path(p)
    single = p.suffix.lower() in _SINGLE_LAYER or p.name.lower().endswith(
        (".json.gz", ".geojson.gz")
    )
    if layer is None and single:
        lyr = None  # GDAL opens the only layer; listing would parse the file twice
    else:
        lyr = _choose_layer(p, _list_layers(p, src), layer, prefer_layers)
    target = None if crs is None else as_projected_crs(crs, what=what)
    file_bbox, source = None, None
    if src_crs is not None:
        source = CRS.from_user_input(src_crs)
    if bbox is not None:
        if len(bbox) != 4:
            raise InputError(f"bbox must be (minx, miny, maxx, maxy), got {bbox!r}")
        if source is None:
            source = _info_crs(src, p, lyr, what)
        if target is not None and not source.equals(target, ignore_axis_order=True):
            from pyproj import Transformer

            t = Transformer.from_crs(target, source, always_xy=True)
            file_bbox = tuple(t.transform_bounds(*bbox))
        else:
            file_bbox = tuple(bbox)
    gdf = _decode_fallback(src, p, lyr, file_bbox, columns, what)
    if not len(gdf) and bbox is None:
        where = f" (layer {lyr!r})" if lyr else ""
        raise FileFormatError(f"{what} {p}{where} holds no features")
    if source is None:
        source = normalise_crs(gdf.crs)
    if source is None:
        raise CRSError(
            f"{what} {p} declares no CRS (missing .prj or crs member); pass "
            f"src_crs='EPSG:2154' (Lambert-93) or 'EPSG:4326' (lon/lat) as appropriate"
        )
    gdf = gdf.set_crs(source, allow_override=True)
    geom = gdf.geometry.values
    missing = pd.isna(geom) | shapely.is_empty(geom)
    if missing.any():
        rows = gdf.index[missing]
        warnings.warn(
            f"{what} {p}: dropped {int(missing.sum())} of {len(gdf)} features with "
            f"no geometry (rows {list(rows[:5])}{'...' if len(rows) > 5 else ''})",
            DataQualityWarning,
            stacklevel=2,
        )
        gdf = gdf[~missing].copy()
        geom = gdf.geometry.values
    if len(gdf) and shapely.has_z(geom).any():
        gdf = gdf.set_geometry(
            gpd.GeoSeries(shapely.force_2d(geom), index=gdf.index, crs=gdf.crs)
        )
    if polygons and len(gdf):
        gdf = _check_polygons(gdf, what, p)
    if len(gdf) and target is None:  # (to_crs runs the same check)
        check_bounds_in_area_of_use(gdf.total_bounds, source, f"{what} {p}")
    if target is not None:
        gdf = to_crs(gdf, target, what=f"{what} {p}")
        if bbox is not None and len(gdf):
            # the file filter used the reprojected envelope: trim to the real box
            keep = shapely.intersects(gdf.geometry.values, shapely.box(*bbox))
            gdf = gdf[keep]
    _report_replacement_chars(gdf, what, p)
    gdf.attrs["source"] = str(p)
    gdf.attrs["layer"] = lyr
    return gdf
