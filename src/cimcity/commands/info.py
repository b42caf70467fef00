"""``cimcity info FILE``: print what :func:`cimcity.io.describe` finds in a file.

Vector files (GeoParquet too), elevation rasters, PLU rule packs, IFC models,
CityJSON and CityGML 1.0/2.0 files (see :mod:`cimcity.io.description`). Human readable by default, ``--json`` for
machines. Only argument parsing and printing live here.
"""

from __future__ import annotations

import json
import math

import numpy as np

from .. import io

__all__ = ["register", "run", "format_description"]


def register(sub) -> None:
    p = sub.add_parser(
        "info",
        help="describe an input file (vector, raster, rule pack, IFC, CityJSON, CityGML)",
        description="Describe a file cimcity can read: CRS, counts, extent, "
        "attributes, detected product, georeferencing, problems.",
    )
    p.add_argument("file", help="file to describe")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--layer", default=None, help="only this layer of a vector file")
    p.set_defaults(func=run)


def run(args) -> int:
    d = io.describe(args.file, layer=args.layer)
    if args.json:
        print(json.dumps(_jsonable(d), indent=2, ensure_ascii=False))
    else:
        print(format_description(d))
    return 0


# -- text output ----------------------------------------------------------------------


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
    """Human-readable text of a :func:`cimcity.io.describe` dict."""
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
    elif kind == "citygml":
        _lines_citygml(lines, d)
    else:
        lines.append(f"kind      {kind}")
        rest = {k: v for k, v in d.items() if k not in ("path", "kind", "file_size")}
        lines.extend(_lines_generic(rest))
    return "\n".join(lines)


def _lines_citygml(lines, d) -> None:
    lods = ", ".join(f"{k} {n}" for k, n in d["lods"].items())
    lines.append(
        f"kind      CityGML {d['version'] or '?'}, {d['buildings']} building(s)"
        + (f" ({lods})" if lods else "")
    )
    crs = f"{d['crs']}  {d['crs_name']}" if d["crs"] else "none declared"
    if d.get("vertical_crs"):
        crs += f"; heights {d['vertical_crs']} {d['vertical_datum']}"
    lines.append(f"crs       {crs}")
    if d.get("extent"):
        lines.append(f"extent    {_fmt_extent(d['extent'])}")
    lines.append(
        "objects   " + ", ".join(f"{k} {n}" for k, n in d["counts"].items())
    )
    lines.append(f"height    {_fmt_stats(d['height_m'])}")
    lines.append(f"ground z  {_fmt_stats(d['ground_z_m'])}")
    listing = d.get("building_list") or []
    if listing:
        more = d["buildings"] - len(listing)
        lines.append("buildings" + (f" (first {len(listing)})" if more else ""))
        for b in listing:
            h = (
                f"height {b['height_m']:.2f} m ({b['height_source']})"
                if b["height_m"] is not None
                else "height unknown"
            )
            g = f"ground {b['ground_z_m']:.2f} m" if b["ground_z_m"] is not None else ""
            parts = [h, g, f"footprint {b['footprint_m2']:g} m²"]
            if b.get("storeys") is not None:
                parts.append(f"{b['storeys']} storeys")
            if b.get("function"):
                parts.append(f"function {b['function']}")
            lines.append(f"  {b['id']}  " + ", ".join(x for x in parts if x))
    _problems(lines, d.get("problems"))


def _problems(lines, problems):
    if problems:
        lines.append("problems")
        for pr in problems:
            lines.append(f"  - {pr}")
