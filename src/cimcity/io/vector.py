"""Shared vector reading for the cimcity readers (cadastre, buildings, PLU).

One function, :func:`read_vector`, opens any OGR vector file through pyogrio
(GeoJSON, ``.json.gz``, GeoPackage, shapefile, GeoParquet, FlatGeobuf...),
checks it (empty or truncated file, missing CRS, lon/lat declared as a
projected CRS, geometry types), repairs what can be repaired with a warning
giving the count, and returns it in the scene CRS. :func:`detect_flavour`
recognises the French data products the readers know.
"""

from __future__ import annotations

import json
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
from ..schemas import FLAVOURS, detect_flavour, find_column

__all__ = [
    "read_vector",
    "read_arrow",
    "is_arrow",
    "check_degrees",
    "open_options",
    "ARROW_SUFFIXES",
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
        info = pyogrio.read_info(src, layer=layer, **open_options(path))
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
        if _is_gml(path):
            # pyogrio.list_layers takes no open option, and the GML driver
            # would write a .gfs file beside the user's data: list by index
            names = []
            while True:
                try:
                    info = pyogrio.read_info(src, layer=len(names), **_GML_OPTIONS)
                except Exception:
                    if names:
                        return names
                    raise
                names.append(str(info["layer_name"]))
        return [str(n) for n in pyogrio.list_layers(src)[:, 0]]
    except Exception as exc:
        raise FileFormatError(
            f"cannot open {path} as a vector file ({_short(exc)}); expected a "
            f"GeoJSON, GeoPackage, shapefile, GeoParquet or another OGR format, "
            f"complete and not truncated"
        ) from exc


#: GDAL open options for GML files: never write a .gfs beside the input
_GML_OPTIONS = {"WRITE_GFS": "NO"}
#: files read with geopandas' Arrow readers rather than GDAL (whose Parquet
#: driver may lack libduckdb / libarrow)
ARROW_SUFFIXES = (".parquet", ".geoparquet", ".feather", ".arrow", ".ipc")


def _is_gml(path) -> bool:
    return str(path).lower().endswith((".gml", ".gml.gz", ".xml"))


def is_arrow(path) -> bool:
    """True for a GeoParquet or Feather/Arrow file, by its first bytes (``PAR1``,
    ``ARROW1``) or, when unreadable, its suffix."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(6)
    except OSError:
        head = b""
    if head[:4] == b"PAR1" or head[:6] == b"ARROW1":
        return True
    if len(head) >= 4:
        return False  # e.g. a GeoJSON named .parquet: GDAL reads it
    return p.suffix.lower() in ARROW_SUFFIXES


def _json_floats_patched() -> bool:
    """True when the json module no longer writes floats at full precision
    (cjio patches it on import): pyproj's JSON round trips, hence the CRS
    geopandas reads from GeoParquet / Feather metadata, then lose digits."""
    return json.dumps(0.0174532925199433) != "0.0174532925199433"


def _check_json_floats(gdf, p, what):
    if gdf.crs is not None and _json_floats_patched():
        warnings.warn(
            f"{what} {p}: the json module's float encoder is patched in this "
            f"process (cjio does this on import), so the CRS read from the file's "
            f"metadata lost digits ({gdf.crs.name}); reprojected coordinates may "
            f"be off by tens of metres: read the file in a process without cjio",
            DataQualityWarning,
            stacklevel=4,
        )
    return gdf


def open_options(path) -> dict:
    """GDAL open options cimcity passes when reading ``path`` (GML: no
    ``.gfs`` file written beside it)."""
    return dict(_GML_OPTIONS) if _is_gml(path) else {}


def read_arrow(path, what: str = "layer"):
    """A GeoParquet or Feather file read with geopandas (pyarrow), not GDAL.

    Parameters
    ----------
    path : str or os.PathLike
        ``.parquet``, ``.geoparquet``, ``.feather``, ``.arrow`` or ``.ipc``.
    what : str
        What the file holds, for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        As written (CRS from the ``geo`` metadata).

    Raises
    ------
    FileFormatError
        Truncated or corrupted file, or an Arrow table without geometry
        (no GeoParquet ``geo`` metadata).
    """
    p = Path(path)
    with open(p, "rb") as fh:
        parquet = fh.read(4) == b"PAR1" or (
            p.suffix.lower() in (".parquet", ".geoparquet")
        )
    try:
        if parquet:
            return _check_json_floats(gpd.read_parquet(p), p, what)
        return _check_json_floats(gpd.read_feather(p), p, what)
    except ImportError:
        raise
    except Exception as exc:
        msg = _short(exc)
        if "geo" in msg.lower() and "metadata" in msg.lower():
            raise FileFormatError(
                f"{what} {p} is an Arrow table without geometry ({msg}); write it "
                f"with GeoDataFrame.to_parquet / to_feather"
            ) from exc
        kind = "GeoParquet" if parquet else "Feather/Arrow"
        raise FileFormatError(
            f"cannot read {what} {p} as {kind}: {msg}; the file may be truncated "
            f"or corrupted"
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

    kw = dict(layer=layer, bbox=bbox, columns=columns, **open_options(path), **extra)
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


def check_degrees(bounds, crs, what: str) -> None:
    """Refuse coordinates in metres declared in a geographic CRS (the reverse
    of lon/lat declared as Lambert-93, which
    :func:`cimcity.crs.check_bounds_in_area_of_use` catches).

    Parameters
    ----------
    bounds : (4,) array-like
        minx, miny, maxx, maxy in ``crs`` units.
    crs : pyproj.CRS
    what : str
        What the coordinates belong to, for the message.

    Raises
    ------
    CRSError
        When ``crs`` is geographic and a coordinate lies beyond ±180° / ±90°.
    """
    b = np.asarray(bounds, dtype=float)
    if crs is None or not crs.is_geographic or not np.all(np.isfinite(b)):
        return
    if max(abs(b[0]), abs(b[2])) <= 180.0 and max(abs(b[1]), abs(b[3])) <= 90.0:
        return
    hint = ""
    try:
        check_bounds_in_area_of_use(b, CRS.from_epsg(2154), what)
        hint = " (they fit Lambert-93: src_crs='EPSG:2154')"
    except CRSError:
        pass
    raise CRSError(
        f"the {what} is declared in {crs.to_string()!r} (degrees) but its "
        f"coordinates {tuple(round(float(v), 1) for v in b)} are not "
        f"longitude/latitude: they "
        f"look like metres of a projected CRS{hint}; pass the right src_crs"
    )


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
    arrow = is_arrow(p)
    target = None if crs is None else as_projected_crs(crs, what=what)
    file_bbox, source = None, None
    if src_crs is not None:
        source = normalise_crs(src_crs)
    if bbox is not None:
        if len(bbox) != 4:
            raise InputError(f"bbox must be (minx, miny, maxx, maxy), got {bbox!r}")
        bx = tuple(float(v) for v in bbox)
        if not (bx[0] < bx[2] and bx[1] < bx[3]):
            raise InputError(
                f"bbox {bx} is not (minx, miny, maxx, maxy) with minx < maxx and "
                f"miny < maxy"
            )
    if arrow:
        if layer is not None:
            raise InputError(
                f"{p} is a {p.suffix} file holding one table; layer={layer!r} does "
                f"not apply"
            )
        lyr = None
        gdf = read_arrow(p, what)
        if columns is not None:
            keep = [c for c in gdf.columns if c in set(columns)]
            gdf = gdf[[*keep, gdf.geometry.name]]
        if source is None:
            source = normalise_crs(gdf.crs)
    else:
        single = p.suffix.lower() in _SINGLE_LAYER or p.name.lower().endswith(
            (".json.gz", ".geojson.gz")
        )
        if layer is None and single:
            lyr = None  # GDAL opens the only layer; listing would parse it twice
        else:
            lyr = _choose_layer(p, _list_layers(p, src), layer, prefer_layers)
        if bbox is not None and source is None:
            source = _info_crs(src, p, lyr, what)
    if bbox is not None and source is not None:
        if target is not None and not source.equals(target, ignore_axis_order=True):
            from pyproj import Transformer

            t = Transformer.from_crs(target, source, always_xy=True)
            file_bbox = tuple(t.transform_bounds(*bbox))
        else:
            file_bbox = tuple(bbox)
    if arrow:
        if file_bbox is not None and len(gdf):
            gdf = gdf[shapely.intersects(gdf.geometry.values, shapely.box(*file_bbox))]
    else:
        gdf = _decode_fallback(src, p, lyr, file_bbox, columns, what)
    if columns is not None:
        absent = [c for c in columns if c not in gdf.columns]
        if absent:
            have = [str(c) for c in gdf.columns if c != gdf.geometry.name]
            raise InputError(
                f"{what} {p}: column(s) {', '.join(map(repr, absent))} not in the "
                f"file; columns are {', '.join(have)}"
            )
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
    if len(gdf):
        check_degrees(gdf.total_bounds, source, f"{what} {p}")
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


def value_stats(values) -> dict:
    """Count, missing count and min/mean/max (3 decimals) of numeric values,
    for file descriptions (:func:`cimcity.io.describe`).

    Parameters
    ----------
    values : array-like of float
        NaN and inf count as missing.

    Returns
    -------
    dict
        ``count``, ``missing`` and, when any value is finite, ``min``,
        ``mean``, ``max`` (plain floats).
    """
    v = np.asarray(values, dtype=float)
    f = v[np.isfinite(v)]
    out = {"count": int(f.size), "missing": int(v.size - f.size)}
    if f.size:
        out.update(
            min=round(float(f.min()), 3),
            mean=round(float(f.mean()), 3),
            max=round(float(f.max()), 3),
        )
    return out
