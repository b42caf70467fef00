"""Description of any input file cimcity reads: ``cimcity.io.describe(path)``.

Vector files (CRS, feature counts, extent, columns, geometry types, detected
product: Etalab cadastre, BD TOPO, BDNB, OSM, CNIG zone_urba...), elevation
rasters (size, resolution, CRS, nodata, z range, vertical datum), PLU rule
packs (zones, rules with articles), IFC models (:func:`cimcity.io.ifc.describe`),
CityJSON files (:func:`cimcity.io.cityjson.describe`, recognised by a
``"type": "CityJSON"`` member anywhere in the file) and CityGML 1.0/2.0 files
(:func:`cimcity.io.citygml.describe_citygml`). GeoParquet and Feather files are
read with geopandas, GML files without writing a ``.gfs`` beside them. Defects (lon/lat
declared as Lambert-93, missing CRS, non-standard codes, broken text) are
listed under ``problems`` instead of stopping the description. The result is a
plain dict; ``cimcity info`` prints it.
"""

from __future__ import annotations

import gzip
import re
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
import shapely
from pyproj import CRS, Transformer

from ..crs import check_bounds_in_area_of_use
from ..errors import CimcityError, FileFormatError
from ..schemas import (
    FLAVOURS,
    ID_COLUMNS,
    detect_flavour,
    find_column,
    parse_length,
)
from .citygml import describe_citygml, is_citygml
from .cityjson import describe as describe_cityjson
from .ifc import describe as describe_ifc
from .plu import STANDARD_TYPEZONES, read_rules
from .raster import vertical_datum_of
from .vector import (
    _list_layers,
    is_arrow,
    normalise_crs,
    open_options,
    read_arrow,
    value_stats,
    vsi_path,
)

__all__ = ["describe", "detect_kind"]

_RASTER_EXT = (".tif", ".tiff", ".vrt", ".asc", ".img", ".dem", ".nc", ".jp2")
_MAX_FEATURES = 500_000  # statistics on at most this many features per layer
_VECTOR_EXT = (".geojson", ".gpkg", ".shp", ".fgb", ".gml", ".kml", ".geojsonl")
_JSON_EXT = (".json", ".jsonl", ".cityjson", ".json.gz", ".cityjson.gz")
_CITYJSON_TYPE = re.compile(rb'"type"\s*:\s*"CityJSON"')


def _contains_cityjson(p: Path) -> bool:
    """True when the JSON file has a ``"type": "CityJSON"`` member anywhere
    (CityJSON writers put it first or last)."""
    opener = gzip.open if p.name.lower().endswith(".gz") else open
    tail = b""
    with opener(p, "rb") as fh:
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                return False
            if _CITYJSON_TYPE.search(tail + chunk):
                return True
            tail = chunk[-64:]


def detect_kind(path) -> str:
    """``"vector"``, ``"raster"``, ``"rules"``, ``"ifc"``, ``"cityjson"`` or
    ``"citygml"``.

    Raises
    ------
    FileNotFoundError, FileFormatError
        Missing, empty or unrecognised file.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(2, f"no such file: {p}", str(p))
    if p.is_file() and p.stat().st_size == 0:
        raise FileFormatError(f"{p} is empty (0 bytes)")
    name = p.name.lower()
    if name.endswith(".toml"):
        return "rules"
    if name.endswith((".ifc", ".ifczip", ".ifcxml")):
        return "ifc"
    if name.endswith(_RASTER_EXT):
        return "raster"
    if is_arrow(p):
        return "vector"
    if name.endswith(_JSON_EXT) and p.is_file():
        try:
            found = _contains_cityjson(p)
        except OSError as exc:  # e.g. a .json.gz that is not gzip
            raise FileFormatError(f"cannot read {p}: {exc}") from exc
        return "cityjson" if found else "vector"
    if name.endswith((".gml", ".xml", ".gml.gz")) and p.is_file() and is_citygml(p):
        return "citygml"
    if p.is_file():
        with open(p, "rb") as fh:
            head = fh.read(64)
        if head.startswith(b"ISO-10303-21"):
            return "ifc"
    if name.endswith(_VECTOR_EXT):
        return "vector"  # unreadable: _describe_vector says why
    try:
        _list_layers(p, vsi_path(p))
        return "vector"
    except Exception:
        pass
    try:
        with rasterio.open(p):
            return "raster"
    except Exception:
        pass
    raise FileFormatError(
        f"{p}: not a format cimcity reads (vector: GeoJSON, GeoPackage, shapefile, "
        f"GeoParquet...; raster: GeoTIFF; rule pack: .toml; IFC; CityJSON; "
        f"CityGML 1.0/2.0)"
    )


def describe(path, layer=None) -> dict:
    """Describe a file as a plain dict (what ``cimcity info`` prints).

    Parameters
    ----------
    path : str or os.PathLike
    layer : str, optional
        Only this layer of a multi-layer vector file.

    Returns
    -------
    dict
        ``path``, ``kind``, ``file_size`` [bytes] and kind-specific entries;
        ``problems`` lists defects found.
    """
    kind = detect_kind(path)
    p = Path(path)
    if kind == "vector":
        d = _describe_vector(p, layer)
    elif kind == "raster":
        d = _describe_raster(p)
    elif kind == "rules":
        d = _describe_rules(p)
    elif kind == "citygml":
        d = describe_citygml(p)
    else:
        d = _describe_external(p, kind)
    out = {"path": str(p), "kind": kind}
    if p.is_file():
        out["file_size"] = p.stat().st_size
    out.update({k: v for k, v in d.items() if k not in out})
    return out


def _describe_external(p, kind) -> dict:
    """IFC and CityJSON files: described by their own readers' packages."""
    fn = describe_ifc if kind == "ifc" else describe_cityjson
    d = dict(fn(p))
    d.pop("path", None)
    return d


# -- vector -----------------------------------------------------------------------------


def _crs_info(crs) -> dict | None:
    if crs is None:
        return None
    c = normalise_crs(crs)
    unit = c.axis_info[0].unit_name if c.axis_info else None
    out = {
        "id": c.to_string() if c.to_epsg() else None,
        "name": c.name,
        "projected": bool(c.is_projected),
        "geographic": bool(c.is_geographic),
        "unit": unit,
    }
    if out["id"] is None:
        out["wkt"] = c.to_wkt()
    return out


def _lonlat_extent(bounds, crs):
    try:
        t = Transformer.from_crs(CRS.from_user_input(crs), "EPSG:4326", always_xy=True)
        return [round(float(v), 6) for v in t.transform_bounds(*bounds)]
    except Exception:
        return None



def _num(series):
    return parse_length(series.to_numpy(dtype=object))


def _flavour_details(gdf, flavour) -> tuple[dict, list]:
    """Product-specific statistics and problems."""
    details, problems = {}, []
    cols = gdf.columns

    def col(*names):
        return find_column(cols, *names)

    if flavour in ("etalab_parcelles", "bd_parcellaire"):
        c = col("commune", "depcom")
        if c is not None:
            details["communes"] = dict(
                Counter(map(str, gdf[c].dropna())).most_common(20)
            )
        s = col("section")
        if s is not None:
            details["sections"] = int(gdf[s].nunique())
        k = col("contenance")
        if k is not None:
            details["contenance_m2"] = value_stats(gdf[k])
        i = col("id")
        if i is not None:
            ids = gdf[i].astype("string")
            bad = ~ids.str.fullmatch(r"\d[0-9AB]\d{3}\d{3}[0-9A-Z]{2}\d{4}").fillna(
                False
            )
            if bad.any():
                problems.append(f"{int(bad.sum())} ids are not 14-character parcel ids")
            dup = int(ids.duplicated().sum())
            if dup:
                problems.append(f"{dup} duplicate parcel ids")
    elif flavour in ("bdtopo_v3_batiment", "bdtopo_v2_bati", "bdnb", "osm_buildings"):
        for label, names in (
            ("height_m", ("hauteur", "height", "hauteur_mean")),
            ("storeys", ("nombre_d_etages", "building:levels", "nb_niveau")),
            (
                "ground_z_m",
                ("altitude_minimale_sol", "altitude_s", "altitude_sol", "z_min"),
            ),
            ("roof_z_m", ("altitude_maximale_toit", "z_max")),
        ):
            c = col(*names)
            if c is not None:
                details[label] = {"column": c, **value_stats(_num(gdf[c]))}
        h = details.get("height_m")
        if h is None:
            problems.append("no height column: heights will be estimated")
        elif h["missing"]:
            problems.append(
                f"{h['missing']} of {len(gdf)} buildings have no {h['column']}"
            )
        u = col("usage_1", "building", "usage")
        if u is not None:
            details["usage"] = dict(Counter(map(str, gdf[u].dropna())).most_common(10))
    elif flavour == "zone_urba":
        t = col("typezone")
        counts = Counter(map(str, gdf[t].dropna()))
        details["typezone"] = dict(counts.most_common())
        odd = {k: n for k, n in counts.items() if k not in STANDARD_TYPEZONES}
        if odd:
            listing = ", ".join(f"{k!r} ({n})" for k, n in odd.items())
            problems.append(
                f"typezone values outside the CNIG standard "
                f"{'/'.join(STANDARD_TYPEZONES)}: {listing}"
            )
        lib = col("libelle")
        details["libelle"] = sorted(map(str, gdf[lib].dropna().unique()))[:40]
        d = col("idurba")
        if d is not None:
            details["documents"] = int(gdf[d].nunique())
    elif flavour == "troncon_de_route":
        c = col("largeur")
        details["width_m"] = {"column": c, **value_stats(_num(gdf[c]))}
    if flavour not in ("etalab_parcelles", "bd_parcellaire"):
        names = ID_COLUMNS.get(flavour) or (() if flavour else ID_COLUMNS[None])
        ids = find_column(cols, *names) if names else None
        if ids is not None:
            known = gdf[ids].dropna()
            dup = known.duplicated()
            if dup.any():
                problems.append(
                    f"{int(dup.sum())} duplicate {ids} ids (first "
                    f"{str(known[dup].iloc[0])!r}): read_buildings makes them "
                    f"unique as <id>#2, an explicit id_column refuses them"
                )
    return details, problems


def _describe_layer(p, src, layer_name, info, gdf=None) -> dict:
    problems = []
    out = {
        "name": layer_name,
        "features": int(info.get("features", -1)),
        "geometry_type": info.get("geometry_type"),
        "encoding": info.get("encoding"),
    }
    crs = normalise_crs(info.get("crs")) if info.get("crs") else None
    out["crs"] = _crs_info(crs)
    if crs is None:
        problems.append("no CRS declared (readers need src_crs=...)")
    fields = [str(f) for f in info.get("fields", [])]
    dtypes = [str(t) for t in info.get("dtypes", [])]
    out["columns"] = dict(zip(fields, dtypes, strict=False))
    flavour = detect_flavour(fields)
    out["flavour"] = flavour
    out["flavour_name"] = FLAVOURS[flavour][0] if flavour in FLAVOURS else None
    opts = dict(layer=layer_name, max_features=_MAX_FEATURES, **open_options(p))
    try:
        if gdf is None:
            gdf = pyogrio.read_dataframe(src, **opts)
    except UnicodeDecodeError:
        gdf = pyogrio.read_dataframe(src, encoding="latin-1", **opts)
        problems.append("text attributes are not valid UTF-8 (decoded as Latin-1)")
    except Exception as exc:
        raise FileFormatError(
            f"cannot read layer {layer_name!r} of {p}: {str(exc).splitlines()[0]}"
        ) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry is None:
        raise FileFormatError(
            f"layer {layer_name!r} of {p} has no geometry column; cimcity reads "
            f"vector layers with geometries"
        )
    if out["features"] < 0:
        out["features"] = len(gdf)
    if len(gdf) < out["features"]:
        out["statistics_on"] = len(gdf)
    geom = gdf.geometry.values if gdf.geometry is not None else None
    if geom is not None and len(geom):
        missing = np.asarray(gdf.geometry.isna() | shapely.is_empty(geom))
        out["geometry_types"] = dict(Counter(gdf.geom_type.dropna()).most_common())
        out["has_z"] = bool(shapely.has_z(geom[~missing]).any())
        if missing.any():
            problems.append(f"{int(missing.sum())} features have no geometry")
        invalid = int((~shapely.is_valid(geom[~missing])).sum())
        if invalid:
            problems.append(f"{invalid} invalid geometries (readers repair them)")
        b = shapely.total_bounds(geom[~missing])
        if np.all(np.isfinite(b)):
            out["extent"] = [round(float(v), 6) for v in b]
            if crs is not None:
                if crs.is_projected:
                    out["size_m"] = [
                        round(float(b[2] - b[0]), 1),
                        round(float(b[3] - b[1]), 1),
                    ]
                try:
                    check_bounds_in_area_of_use(b, crs, f"layer {layer_name!r}")
                    ll = _lonlat_extent(b, crs)
                    if ll:
                        out["extent_lonlat"] = ll
                except CimcityError as exc:
                    problems.append(str(exc))
    fffd = 0
    for c in gdf.columns:
        s = gdf[c]
        if c != gdf.geometry.name and (
            s.dtype == object
            or s.dtype.kind in "OUT"
            or str(s.dtype) in ("str", "string")
        ):
            try:
                fffd += int(s.str.contains("\ufffd", regex=False, na=False).sum())
            except (AttributeError, TypeError):
                pass
    if fffd:
        problems.append(f"{fffd} text values contain U+FFFD (encoding broken upstream)")
    details, more = _flavour_details(gdf, flavour)
    out.update(details)
    out["problems"] = problems + more
    return out


def _describe_arrow(p, layer) -> dict:
    """GeoParquet / Feather files, read with geopandas (not GDAL)."""
    gdf = read_arrow(p, "file")
    name = p.stem
    if layer is not None and layer != name:
        raise FileFormatError(f"{p} holds one table ({name!r}); no layer {layer!r}")
    geom = gdf.geometry.values
    types = sorted(set(gdf.geom_type.dropna()))
    info = {
        "features": len(gdf),
        "geometry_type": types[0] if len(types) == 1 else "Unknown",
        "encoding": "UTF-8",
        "crs": gdf.crs,
        "fields": [c for c in gdf.columns if c != gdf.geometry.name],
        "dtypes": [str(gdf[c].dtype) for c in gdf.columns if c != gdf.geometry.name],
    }
    if len(gdf) > _MAX_FEATURES:
        gdf = gdf.iloc[:_MAX_FEATURES]
    del geom
    with open(p, "rb") as fh:
        driver = "GeoParquet" if fh.read(4) == b"PAR1" else "Arrow"
    return {"driver": driver, "layers": [_describe_layer(p, None, name, info, gdf)]}


def _describe_vector(p, layer) -> dict:
    if is_arrow(p):
        return _describe_arrow(p, layer)
    src = vsi_path(p)
    opts = open_options(p)
    try:
        layers = _list_layers(p, src)
        infos = {}
        for name in layers if layer is None else [layer]:
            if name not in layers:
                raise FileFormatError(
                    f"layer {name!r} not found in {p}; layers are {', '.join(layers)}"
                )
            infos[name] = pyogrio.read_info(src, layer=name, **opts)
    except CimcityError:
        raise
    except Exception as exc:
        raise FileFormatError(
            f"cannot read {p} as a vector file: {str(exc).splitlines()[0]}"
        ) from exc
    driver = next(iter(infos.values())).get("driver") if infos else None
    out = {"driver": driver, "layers": []}
    for name, info in infos.items():
        out["layers"].append(_describe_layer(p, src, name, info))
    return out


# -- raster -----------------------------------------------------------------------------


def _describe_raster(p) -> dict:
    problems = []
    try:
        ds = rasterio.open(p)
    except Exception as exc:
        raise FileFormatError(
            f"cannot open {p} as a raster: {str(exc).splitlines()[0]}"
        ) from exc
    with ds:
        t = ds.transform
        crs = CRS.from_user_input(ds.crs.to_wkt()) if ds.crs else None
        out = {
            "driver": ds.driver,
            "width": ds.width,
            "height": ds.height,
            "bands": ds.count,
            "dtype": ds.dtypes[0],
            "resolution": [abs(t.a), abs(t.e)],
            "origin": [t.c, t.f],
            "extent": [round(float(v), 6) for v in ds.bounds],
            "crs": _crs_info(crs),
            "nodata": ds.nodata,
            "vertical_datum": vertical_datum_of(crs, ds.tags()),
            "compression": ds.compression.value if ds.compression else None,
            "tiled": bool(ds.profile.get("tiled", False)),
            "tags": dict(ds.tags()),
        }
        if t.b or t.d:
            problems.append("rotated grid: readers warp it north-up")
        if t.e > 0:
            problems.append("south-up grid: readers flip it")
        if crs is None:
            problems.append("no CRS declared (readers need src_crs=...)")
        else:
            try:
                check_bounds_in_area_of_use(tuple(ds.bounds), crs, "raster")
                ll = _lonlat_extent(tuple(ds.bounds), crs)
                if ll:
                    out["extent_lonlat"] = ll
            except CimcityError as exc:
                problems.append(str(exc))
            if crs.is_geographic:
                problems.append(
                    "geographic CRS: read_dem/read_dsm reproject it to the scene CRS"
                )
        try:
            z = ds.read(1, masked=True)
        except Exception as exc:
            raise FileFormatError(
                f"cannot read {p}: {str(exc).splitlines()[0]} (truncated?)"
            ) from exc
    zf = np.ma.filled(z.astype(float), np.nan)
    finite = np.isfinite(zf)
    out["nodata_cells"] = int((~finite).sum())
    if finite.any():
        out["z_range"] = [
            round(float(zf[finite].min()), 3),
            round(float(zf[finite].max()), 3),
        ]
        out["z_mean"] = round(float(zf[finite].mean()), 3)
    else:
        problems.append("band 1 holds only nodata")
    out["problems"] = problems
    return out


# -- rule pack --------------------------------------------------------------------------


def _describe_rules(p) -> dict:
    pack = read_rules(p)
    zones = {}
    for z in pack.zones.values():
        rules = []
        for r in z.rules.values():
            params = {
                k: v for k, v in r.params.items() if k != "value" and v is not None
            }
            rules.append(
                {
                    "rule": r.name,
                    "value": r.value,
                    "unit": r.unit,
                    "article": r.article,
                    **params,
                }
            )
        zones[z.libelle] = {
            "description": z.description,
            "rules": rules,
            "biotope_weights": z.biotope_weights,
        }
    return {
        "name": pack.name,
        "meta": pack.meta,
        "biotope_weights": pack.biotope_weights,
        "zones": zones,
        "problems": [],
    }
