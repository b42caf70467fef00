"""``cimcity info FILE``: describe any input cimcity reads.

Vector files (CRS, feature counts, extent, columns, geometry types, detected
product: Etalab cadastre, BD TOPO, BDNB, OSM, CNIG zone_urba...), elevation
rasters (size, resolution, CRS, nodata, z range, vertical datum), PLU rule
packs (zones, rules with articles), IFC models and CityJSON files. Defects
(lon/lat declared as Lambert-93, missing CRS, non-standard codes, broken text)
are listed under ``problems`` instead of stopping the description. Human
readable by default, ``--json`` for machines.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np

from ..errors import CimcityError, FileFormatError

__all__ = ["register", "run", "describe", "detect_kind", "format_description"]

_RASTER_EXT = (".tif", ".tiff", ".vrt", ".asc", ".img", ".dem", ".nc", ".jp2")
_MAX_FEATURES = 500_000  # statistics on at most this many features per layer


def register(sub) -> None:
    p = sub.add_parser(
        "info",
        help="describe an input file (vector, raster, rule pack, IFC, CityJSON)",
        description="Describe a file cimcity can read: CRS, counts, extent, "
        "attributes, detected product, georeferencing, problems.",
    )
    p.add_argument("file", help="file to describe")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--layer", default=None, help="only this layer of a vector file")
    p.set_defaults(func=run)


def run(args) -> int:
    d = describe(args.file, layer=args.layer)
    if args.json:
        print(json.dumps(_jsonable(d), indent=2, ensure_ascii=False))
    else:
        print(format_description(d))
    return 0


# ---------------------------------------------------------------------------------
# dispatch
# ---------------------------------------------------------------------------------


def detect_kind(path) -> str:
    """``"vector"``, ``"raster"``, ``"rules"``, ``"ifc"`` or ``"cityjson"``.

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
    if name.endswith((".json", ".jsonl", ".cityjson")) and p.is_file():
        with open(p, "rb") as fh:
            head = fh.read(4096)
        if b'"CityJSON"' in head.replace(b" ", b""):
            return "cityjson"
        return "vector"
    if p.is_file():
        with open(p, "rb") as fh:
            head = fh.read(64)
        if head.startswith(b"ISO-10303-21"):
            return "ifc"
    try:
        import pyogrio

        from ..io.vector import vsi_path

        pyogrio.list_layers(vsi_path(p))
        return "vector"
    except Exception:
        pass
    try:
        import rasterio

        with rasterio.open(p):
            return "raster"
    except Exception:
        pass
    raise FileFormatError(
        f"{p}: not a format cimcity reads (vector: GeoJSON, GeoPackage, shapefile, "
        f"GeoParquet...; raster: GeoTIFF; rule pack: .toml; IFC; CityJSON)"
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
    else:
        d = _describe_external(p, kind)
    out = {"path": str(p), "kind": kind}
    if p.is_file():
        out["file_size"] = p.stat().st_size
    out.update({k: v for k, v in d.items() if k not in out})
    return out


def _describe_external(p, kind) -> dict:
    import importlib

    mod = "cimcity.io.ifc" if kind == "ifc" else "cimcity.io.cityjson"
    try:
        fn = getattr(importlib.import_module(mod), "describe", None)
    except ModuleNotFoundError as exc:
        if exc.name != mod:
            raise
        fn = None
    if fn is None:
        raise CimcityError(
            f"cannot describe {p}: {kind} support ({mod}.describe) is not available "
            f"in this build of cimcity"
        )
    d = dict(fn(p))
    d.pop("path", None)
    return d


# ---------------------------------------------------------------------------------
# vector
# ---------------------------------------------------------------------------------


def _crs_info(crs) -> dict | None:
    if crs is None:
        return None
    from ..io.vector import _normalise_crs

    c = _normalise_crs(crs)
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
    from pyproj import CRS, Transformer

    try:
        t = Transformer.from_crs(CRS.from_user_input(crs), "EPSG:4326", always_xy=True)
        return [round(float(v), 6) for v in t.transform_bounds(*bounds)]
    except Exception:
        return None


def _stats(values) -> dict | None:
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


def _num(series):
    from ..io.buildings import parse_length

    return parse_length(series.to_numpy(dtype=object))


def _flavour_details(gdf, flavour) -> tuple[dict, list]:
    """Product-specific statistics and problems."""
    from ..io.vector import find_column

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
            details["contenance_m2"] = _stats(gdf[k])
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
                details[label] = {"column": c, **_stats(_num(gdf[c]))}
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
        from ..io.plu import STANDARD_TYPEZONES

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
        details["width_m"] = {"column": c, **_stats(_num(gdf[c]))}
    return details, problems


def _describe_layer(p, src, layer_name, info) -> dict:
    import pyogrio
    import shapely

    from ..crs import check_bounds_in_area_of_use
    from ..io.vector import FLAVOURS, _normalise_crs, detect_flavour

    problems = []
    out = {
        "name": layer_name,
        "features": int(info.get("features", -1)),
        "geometry_type": info.get("geometry_type"),
        "encoding": info.get("encoding"),
    }
    crs = _normalise_crs(info.get("crs")) if info.get("crs") else None
    out["crs"] = _crs_info(crs)
    if crs is None:
        problems.append("no CRS declared (readers need src_crs=...)")
    fields = [str(f) for f in info.get("fields", [])]
    dtypes = [str(t) for t in info.get("dtypes", [])]
    out["columns"] = dict(zip(fields, dtypes, strict=False))
    flavour = detect_flavour(fields)
    out["flavour"] = flavour
    out["flavour_name"] = FLAVOURS[flavour][0] if flavour in FLAVOURS else None
    try:
        gdf = pyogrio.read_dataframe(src, layer=layer_name, max_features=_MAX_FEATURES)
    except UnicodeDecodeError:
        gdf = pyogrio.read_dataframe(
            src, layer=layer_name, max_features=_MAX_FEATURES, encoding="latin-1"
        )
        problems.append("text attributes are not valid UTF-8 (decoded as Latin-1)")
    except Exception as exc:
        raise FileFormatError(
            f"cannot read layer {layer_name!r} of {p}: {str(exc).splitlines()[0]}"
        ) from exc
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


def _describe_vector(p, layer) -> dict:
    import pyogrio

    from ..io.vector import vsi_path

    src = vsi_path(p)
    try:
        layers = [str(n) for n in pyogrio.list_layers(src)[:, 0]]
        infos = {}
        for name in layers if layer is None else [layer]:
            if name not in layers:
                raise FileFormatError(
                    f"layer {name!r} not found in {p}; layers are {', '.join(layers)}"
                )
            infos[name] = pyogrio.read_info(src, layer=name)
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


# ---------------------------------------------------------------------------------
# raster
# ---------------------------------------------------------------------------------


def _describe_raster(p) -> dict:
    import rasterio
    from pyproj import CRS

    from ..crs import check_bounds_in_area_of_use
    from ..io.raster import vertical_datum_of

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


# ---------------------------------------------------------------------------------
# rule pack
# ---------------------------------------------------------------------------------


def _describe_rules(p) -> dict:
    from ..io.plu import read_rules

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


# ---------------------------------------------------------------------------------
# text output
# ---------------------------------------------------------------------------------


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, str | int | float | bool) or v is None:
        return v
    return str(v)


def _size(n) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _fmt_crs(c) -> str:
    if not c:
        return "none declared"
    kind = (
        "projected"
        if c["projected"]
        else ("geographic" if c["geographic"] else "other")
    )
    ident = c["id"] or "custom WKT"
    return f"{ident}  {c['name']} ({kind}, {c['unit']})"


def _fmt_stats(s) -> str:
    if not s or not s.get("count"):
        return f"all {s.get('missing', 0)} missing" if s else "-"
    txt = f"{s['min']:g} – {s['max']:g} (mean {s['mean']:g}), {s['count']} values"
    if s.get("missing"):
        txt += f", {s['missing']} missing"
    return txt


def _fmt_extent(e) -> str:
    nd = 6 if max(abs(v) for v in e) <= 360 else 2  # degrees or metres
    return f"{e[0]:.{nd}f}, {e[1]:.{nd}f} – {e[2]:.{nd}f}, {e[3]:.{nd}f}"


def _lines_generic(d, indent=0) -> list[str]:
    pad = "  " * indent
    out = []
    for k, v in d.items():
        if isinstance(v, dict):
            out.append(f"{pad}{k}:")
            out.extend(_lines_generic(v, indent + 1))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            out.append(f"{pad}{k}:")
            for x in v:
                out.append(f"{pad}  - " + ", ".join(f"{a}={b}" for a, b in x.items()))
        else:
            out.append(f"{pad}{k}: {v}")
    return out


def format_description(d: dict) -> str:
    """Human-readable text of a :func:`describe` dict."""
    lines = [
        f"file      {d['path']}"
        + (f"  ({_size(d['file_size'])})" if "file_size" in d else "")
    ]
    kind = d["kind"]
    if kind == "vector":
        lines.append(
            f"kind      vector ({d.get('driver')}), {len(d['layers'])} layer(s)"
        )
        for L in d["layers"]:
            lines.append("")
            flav = f"  [{L['flavour_name']}]" if L.get("flavour_name") else ""
            lines.append(f"layer     {L['name']}: {L['features']} features{flav}")
            if L.get("geometry_types"):
                gt = ", ".join(f"{k} {n}" for k, n in L["geometry_types"].items())
                lines.append(f"geometry  {gt}" + ("  (3D)" if L.get("has_z") else ""))
            lines.append(f"crs       {_fmt_crs(L.get('crs'))}")
            if L.get("extent"):
                size = L.get("size_m")
                sz = f"  ({size[0]} m × {size[1]} m)" if size else ""
                lines.append(f"extent    {_fmt_extent(L['extent'])}{sz}")
            if L.get("extent_lonlat"):
                e = L["extent_lonlat"]
                lines.append(
                    f"lon/lat   {e[0]:.5f}, {e[1]:.5f} – {e[2]:.5f}, {e[3]:.5f}"
                )
            cols = ", ".join(f"{k} ({v})" for k, v in L["columns"].items())
            lines.append(f"columns   {cols}")
            for key, label in (
                ("height_m", "height"),
                ("storeys", "storeys"),
                ("ground_z_m", "ground z"),
                ("roof_z_m", "roof z"),
                ("width_m", "width"),
                ("contenance_m2", "contenance"),
            ):
                if key in L:
                    col = L[key].get("column")
                    lines.append(
                        f"{label:<9} "
                        + (f"{col}: " if col else "")
                        + _fmt_stats(L[key])
                    )
            for key in (
                "communes",
                "sections",
                "documents",
                "typezone",
                "usage",
                "libelle",
            ):
                if key in L:
                    v = L[key]
                    if isinstance(v, dict):
                        v = ", ".join(f"{a} {b}" for a, b in v.items())
                    elif isinstance(v, list):
                        v = ", ".join(v)
                    lines.append(f"{key:<9} {v}")
            _problems(lines, L.get("problems"))
    elif kind == "raster":
        lines.append(
            f"kind      raster ({d['driver']}), {d['bands']} band(s), {d['dtype']}"
        )
        lines.append(
            f"size      {d['width']} × {d['height']} cells at "
            f"{d['resolution'][0]:g} × {d['resolution'][1]:g}"
        )
        lines.append(f"crs       {_fmt_crs(d.get('crs'))}")
        lines.append(f"extent    {_fmt_extent(d['extent'])}")
        if d.get("extent_lonlat"):
            e = d["extent_lonlat"]
            lines.append(f"lon/lat   {e[0]:.5f}, {e[1]:.5f} – {e[2]:.5f}, {e[3]:.5f}")
        lines.append(f"nodata    {d['nodata']} ({d['nodata_cells']} cells)")
        if d.get("z_range"):
            lines.append(
                f"z         {d['z_range'][0]:g} – {d['z_range'][1]:g} (mean {d['z_mean']:g})"
            )
        lines.append(f"datum     {d['vertical_datum']}")
        _problems(lines, d.get("problems"))
    elif kind == "rules":
        lines.append(f"kind      PLU rule pack: {d['name']}")
        for k, v in d["meta"].items():
            lines.append(f"{k:<9} {v}")
        w = ", ".join(f"{k} {v:g}" for k, v in d["biotope_weights"].items())
        lines.append(f"weights   {w}")
        for z, zd in d["zones"].items():
            lines.append("")
            desc = f" — {zd['description']}" if zd.get("description") else ""
            lines.append(f"zone {z}{desc}: {len(zd['rules'])} rules")
            for r in zd["rules"]:
                extra = {
                    k: v
                    for k, v in r.items()
                    if k not in ("rule", "value", "unit", "article")
                }
                val = f"{r['value']:g} {r['unit']}" if r["value"] is not None else ""
                ex = ", ".join(f"{k}={v}" for k, v in extra.items())
                body = ", ".join(x for x in (val, ex) if x)
                lines.append(f"  {r['rule']:<24} {body:<44} [{r['article']}]")
            if zd.get("biotope_weights"):
                w = ", ".join(f"{k} {v:g}" for k, v in zd["biotope_weights"].items())
                lines.append(f"  biotope weight overrides: {w}")
    else:
        lines.append(f"kind      {kind}")
        rest = {k: v for k, v in d.items() if k not in ("path", "kind", "file_size")}
        lines.extend(_lines_generic(rest))
    return "\n".join(lines)


def _problems(lines, problems):
    if problems:
        lines.append("problems")
        for pr in problems:
            lines.append(f"  - {pr}")
