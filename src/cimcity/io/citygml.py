"""CityGML 1.0 / 2.0 buildings: footprints, heights, ground altitudes and ids.

CityGML (OGC 12-019) is the XML city model many cities publish (Berlin,
Hamburg, NRW...). cimcity reads its buildings (``bldg:Building`` with their
``BuildingPart``\\ s) with the standard library's XML parser, never through
GDAL's GML driver, which writes a ``.gfs`` file beside the input:

* id: the building's ``gml:id``;
* footprint: the union of its ``GroundSurface`` polygons, else of the
  horizontal projection of all its polygons (LoD1 solid, LoD2 roofs);
* ``ground_z``: lowest vertex of the ground surfaces (else of the geometry);
  ``roof_z``: highest vertex; ``eave_z``: lowest vertex of the roof surfaces;
* ``height``: ``bldg:measuredHeight`` (``height_source="data"``), else
  ``roof_z - ground_z`` (``"geometry"``);
* ``storeys`` (``storeysAboveGround``), ``usage`` (``function``), and the
  generic attributes (``gen:stringAttribute``...) as columns.

CityGML 3.0 is refused with a clear message (convert it, e.g. with
citygml-tools, to CityJSON, which :func:`cimcity.read_cityjson` reads).

References
----------
OGC City Geography Markup Language (CityGML) Encoding Standard 2.0, OGC
12-019 (2012).
"""

from __future__ import annotations

import gzip
import re
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..crs import check_bounds_in_area_of_use, to_crs
from ..errors import CRSError, DataQualityWarning, FileFormatError
from .vector import check_file, value_stats

__all__ = ["read_citygml", "describe_citygml", "is_citygml"]

_SNIFF = 16384
_SEMANTIC = {
    "GroundSurface": "ground",
    "RoofSurface": "roof",
    "WallSurface": "wall",
    "ClosureSurface": "closure",
    "OuterCeilingSurface": "roof",
    "OuterFloorSurface": "floor",
}
_MEMBERS = ("cityObjectMember", "featureMember", "member")
_LOD = re.compile(r"^lod(\d)")
_EPSG = re.compile(r"EPSG[:/](?:[\d.]*[:/])*(\d{4,6})", re.IGNORECASE)
_UTM = re.compile(r"ETRS89_UTM(\d\d)", re.IGNORECASE)
#: smallest footprint part kept, as area / perimeter² (a square gives 1/16):
#: wall polygons project to zero-width slivers
_MIN_COMPACTNESS = 1e-6


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _open(path):
    p = Path(path)
    if p.name.lower().endswith(".gz"):
        return gzip.open(p, "rb")
    return open(p, "rb")


def is_citygml(path) -> bool:
    """True when the file's start declares a CityGML namespace (1.0, 2.0 or 3.0).

    Parameters
    ----------
    path : str or os.PathLike
    """
    try:
        with _open(path) as fh:
            head = fh.read(_SNIFF)
    except OSError:
        return False
    return b"opengis.net/citygml" in head


def _version(head: bytes) -> str | None:
    # the core namespace first, then any module's (building/2.0...)
    m = re.search(rb"opengis\.net/citygml/(\d\.\d)", head) or re.search(
        rb"opengis\.net/citygml/[a-z]+/(\d\.\d)", head
    )
    return m.group(1).decode() if m else None


def parse_srs_name(name):
    """Horizontal and vertical CRS of a GML ``srsName``.

    Parameters
    ----------
    name : str
        ``"EPSG:25833"``, ``"urn:ogc:def:crs:EPSG::25833"``,
        ``"urn:ogc:def:crs,crs:EPSG:6.12:25833,crs:EPSG:6.12:5783"``,
        ``"http://www.opengis.net/def/crs/EPSG/0/25833"``,
        ``"urn:adv:crs:ETRS89_UTM33*DE_DHHN92_NH"``...

    Returns
    -------
    (pyproj.CRS or None, pyproj.CRS or None)
        Horizontal and vertical CRS (a compound code is split).
    """
    if not name:
        return None, None
    codes = [int(c) for c in _EPSG.findall(name)]
    if not codes:
        m = _UTM.search(name)
        if m:
            codes = [25800 + int(m.group(1))]
    if not codes:
        return None, None
    try:
        first = CRS.from_epsg(codes[0])
    except Exception:
        return None, None
    horizontal, vertical = first, None
    if first.is_compound:
        subs = first.sub_crs_list
        horizontal = subs[0]
        vertical = subs[1] if len(subs) > 1 else None
    elif len(codes) > 1:
        try:
            vertical = CRS.from_epsg(codes[1])
        except Exception:
            vertical = None
    return horizontal, vertical


def _floats(text) -> np.ndarray:
    tokens = text.replace(",", " ").split()
    try:
        return np.array(tokens, dtype=float)
    except ValueError:
        for t in tokens:
            try:
                float(t)
            except ValueError:
                raise FileFormatError(
                    f"unreadable coordinate {t!r} (in {text.strip()[:40]!r}...)"
                ) from None
        raise


def _ring(el, dim) -> np.ndarray | None:
    """(n, 3) coordinates of a gml:LinearRing (posList, pos or coordinates)."""
    coords = []
    for c in el.iter():
        name = _local(c.tag)
        if name == "posList" and c.text:
            d = int(c.get("srsDimension") or c.get("dimension") or dim)
            v = _floats(c.text)
            if v.size % d:
                raise FileFormatError(
                    f"posList of {v.size} numbers is not a list of {d}D points"
                )
            coords.append(v.reshape(-1, d))
        elif name == "pos" and c.text:
            coords.append(_floats(c.text).reshape(1, -1))
        elif name == "coordinates" and c.text:
            pts = [_floats(t) for t in c.text.split()]
            coords.append(np.array(pts))
    if not coords:
        return None
    xyz = np.vstack(
        [np.pad(a, ((0, 0), (0, max(0, 3 - a.shape[1]))))[:, :3] for a in coords]
    )
    if xyz.shape[1] == 2 or not np.isfinite(xyz).all():
        return None
    return xyz


def _polygons(el, dim, sem=None, out=None):
    """Every gml:Polygon / gml:Triangle below ``el``: [(exterior, interiors,
    semantic)]; BuildingParts are walked into."""
    if out is None:
        out = []
    name = _local(el.tag)
    if name in _SEMANTIC:
        sem = _SEMANTIC[name]
    if name in ("Polygon", "Triangle"):
        ext, holes = None, []
        for child in el:
            cn = _local(child.tag)
            if cn in ("exterior", "outerBoundaryIs"):
                ext = _ring(child, dim)
            elif cn in ("interior", "innerBoundaryIs"):
                r = _ring(child, dim)
                if r is not None:
                    holes.append(r)
        if ext is not None and len(ext) >= 3:
            out.append((ext, holes, sem))
        return out
    for child in el:
        _polygons(child, dim, sem, out)
    return out


def _footprint(polys):
    shapes = []
    for ext, holes, _ in polys:
        if len(ext) < 3:
            continue
        try:
            p = shapely.Polygon(ext[:, :2], [h[:, :2] for h in holes if len(h) >= 3])
        except Exception:
            continue
        if not p.is_valid:
            p = shapely.make_valid(p)
        parts = [
            g
            for g in shapely.get_parts(p)
            if g.geom_type in ("Polygon", "MultiPolygon")
            and g.area > _MIN_COMPACTNESS * g.length**2
        ]
        shapes.extend(parts)
    if not shapes:
        return None
    u = shapely.union_all(shapes)
    parts = [g for g in shapely.get_parts(u) if g.geom_type == "Polygon"]
    if not parts:
        return None
    return shapely.MultiPolygon(parts) if len(parts) > 1 else parts[0]


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return np.nan


def _length(el) -> float:
    """A gml:LengthType value in metres (uom m, ft or none)."""
    v = _number((el.text or "").strip())
    uom = (el.get("uom") or "").lower()
    if uom.endswith(("ft", "foot", "feet", "[ft_i]")):
        v *= 0.3048
    elif uom.endswith(("mm",)):
        v /= 1000.0
    elif uom.endswith(("cm",)):
        v /= 100.0
    return v


def _building_row(el, dim) -> dict:
    row = {"building_id": el.get("{http://www.opengis.net/gml}id") or el.get("id")}
    attrs, lods, parts = {}, set(), 0
    measured, storeys, function = np.nan, np.nan, None
    for child in el:
        name = _local(child.tag)
        if name == "measuredHeight":
            measured = _length(child)
        elif name == "storeysAboveGround":
            storeys = _number(child.text)
        elif name == "function" and function is None:
            function = (child.text or "").strip() or None
        elif name in ("class", "usage", "yearOfConstruction", "roofType", "name"):
            attrs[name] = (child.text or "").strip() or None
        elif name.endswith("Attribute") and child.get("name"):
            val = next((v for v in child if _local(v.tag) == "value"), None)
            text = (val.text or "").strip() if val is not None else None
            if name == "intAttribute" and text and text.lstrip("-").isdigit():
                attrs[child.get("name")] = int(text)
            elif name in ("doubleAttribute", "intAttribute"):
                attrs[child.get("name")] = _number(text)
            else:
                attrs[child.get("name")] = text
    for d in el.iter():
        name = _local(d.tag)
        m = _LOD.match(name)
        if m:
            lods.add(int(m.group(1)))
        elif name == "BuildingPart":
            parts += 1
    polys = _polygons(el, dim)
    ground = [p for p in polys if p[2] == "ground"]
    roof = [p for p in polys if p[2] == "roof"]
    fp = _footprint(ground) if ground else None
    if fp is None:
        fp = _footprint(polys)
    allz = np.concatenate([p[0][:, 2] for p in polys]) if polys else np.array([])
    gz = np.concatenate([p[0][:, 2] for p in ground]) if ground else allz
    rz = np.concatenate([p[0][:, 2] for p in roof]) if roof else np.array([])
    ground_z = float(gz.min()) if gz.size else np.nan
    roof_z = float(allz.max()) if allz.size else np.nan
    eave_z = float(rz.min()) if rz.size else np.nan
    if np.isfinite(measured) and measured > 0:
        height, hsrc = measured, "data"
    elif np.isfinite(roof_z - ground_z) and roof_z > ground_z:
        height, hsrc = roof_z - ground_z, "geometry"
    else:
        height, hsrc = np.nan, None
    row.update(
        geometry=fp,
        height=height,
        storeys=storeys,
        ground_z=ground_z,
        roof_z=roof_z,
        eave_z=eave_z,
        usage=function,
        source="citygml",
        height_source=hsrc,
        measured_height=measured,
        lod=max(lods) if lods else np.nan,
        citygml_parts=parts,
        citygml_polygons=len(polys),
    )
    row.update({k: v for k, v in attrs.items() if k not in row})
    return row


def _scan(path):
    """Parse the file: (version, srsName, {type: count}, [building rows])."""
    p = check_file(path, "CityGML")
    with _open(p) as fh:
        head = fh.read(_SNIFF)
    version = _version(head)
    if b"opengis.net/citygml" not in head:
        raise FileFormatError(
            f"{p} is not a CityGML file (no CityGML namespace in its first "
            f"{_SNIFF // 1024} KB)"
        )
    if version and version.startswith("3"):
        raise FileFormatError(
            f"{p} is CityGML {version}; cimcity reads CityGML 1.0 and 2.0: convert "
            f"it to CityJSON (e.g. citygml-tools to-cityjson) and use read_cityjson"
        )
    srs, dim = None, 3
    counts: dict = {}
    rows = []
    depth = 0
    try:
        with _open(p) as fh:
            for event, el in ET.iterparse(fh, events=("start", "end")):
                if event == "start":
                    depth += 1
                    if srs is None and el.get("srsName"):
                        srs = el.get("srsName")
                        d = el.get("srsDimension")
                        dim = int(d) if d and d.isdigit() else dim
                    continue
                depth -= 1
                if _local(el.tag) in _MEMBERS and depth == 1:
                    for obj in el:
                        t = _local(obj.tag)
                        counts[t] = counts.get(t, 0) + 1
                        if t == "Building":
                            rows.append(_building_row(obj, dim))
                    el.clear()
    except ET.ParseError as exc:
        line, col = getattr(exc, "position", (None, None))
        raise FileFormatError(
            f"CityGML {p} is not well-formed XML (line {line}, column {col}: "
            f"{str(exc).split(':')[0]}); the file may be truncated or corrupted"
        ) from exc
    except FileFormatError as exc:
        raise FileFormatError(f"CityGML {p}: {exc}") from exc
    return version, srs, counts, rows


def read_citygml(path, crs=None, src_crs=None) -> gpd.GeoDataFrame:
    """Read the buildings of a CityGML 1.0 / 2.0 file.

    Parameters
    ----------
    path : str or os.PathLike
        ``.gml`` / ``.xml`` (or ``.gml.gz``) CityGML file.
    crs : str or pyproj.CRS, optional
        Target projected CRS of the footprints (default: the file's own, with
        no reprojection). Altitudes stay in the file's vertical datum.
    src_crs : str or pyproj.CRS, optional
        CRS of the coordinates when the file declares none (or a wrong one).

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed by ``building_id`` (the ``gml:id``): ``geometry`` (2D
        footprint), ``height`` [m], ``storeys``, ``ground_z``, ``roof_z``,
        ``eave_z`` [m, altitudes], ``usage`` (``function`` code), ``source``
        (``"citygml"``), ``height_source`` (``"data"``: measuredHeight,
        ``"geometry"``: roof minus ground vertex), ``measured_height`` [m],
        ``lod``, ``citygml_parts`` and the generic attributes.
        ``attrs``: ``citygml_version``, ``vertical_crs``, ``counts`` (city
        objects per type).

    Raises
    ------
    FileNotFoundError
        Missing file.
    FileFormatError
        Empty, truncated, not CityGML, CityGML 3.0, unreadable coordinates, or
        no building with a footprint.
    CRSError
        No CRS declared and no ``src_crs``; coordinates outside the declared
        CRS's area of use; a geographic CRS without a projected ``crs``.

    Warns
    -----
    DataQualityWarning
        Buildings without any polygon (dropped, ids given).
    """
    version, srs, counts, rows = _scan(path)
    horizontal, vertical = parse_srs_name(srs)
    if src_crs is not None:
        horizontal = CRS.from_user_input(src_crs)
    if not rows:
        kinds = ", ".join(f"{n} {t}" for t, n in counts.items()) or "no city object"
        raise FileFormatError(f"CityGML {path} holds no Building ({kinds})")
    if horizontal is None:
        raise CRSError(
            f"CityGML {path} declares no CRS I can read (srsName {srs!r}); pass "
            f"src_crs='EPSG:25833' (or the file's projected CRS)"
        )
    lost = [r["building_id"] for r in rows if r["geometry"] is None]
    rows = [r for r in rows if r["geometry"] is not None]
    if not rows:
        raise FileFormatError(
            f"CityGML {path}: none of its {len(lost)} buildings has a polygon "
            f"(first {lost[0]!r}); nothing to read"
        )
    df = pd.DataFrame(rows)
    ids = df.pop("building_id")
    missing = ids.isna()
    if missing.any():
        ids[missing] = [f"B{i:06d}" for i in np.flatnonzero(missing.to_numpy())]
    gdf = gpd.GeoDataFrame(df, geometry="geometry", crs=horizontal)
    gdf.index = pd.Index(ids.to_numpy(dtype=object), name="building_id")
    if not gdf.index.is_unique:
        dup = gdf.index[gdf.index.duplicated()]
        raise FileFormatError(
            f"CityGML {path}: duplicate gml:id {str(dup[0])!r} ({len(dup)} "
            f"duplicates); gml:id must be unique in a GML document"
        )
    if lost:
        warnings.warn(
            f"CityGML {path}: {len(lost)} buildings have no polygon and were "
            f"dropped (first {lost[0]!r})",
            DataQualityWarning,
            stacklevel=2,
        )
    what = f"CityGML {path}"
    if crs is None:
        if not horizontal.is_projected:
            raise CRSError(
                f"{what} is in {horizontal.to_string()!r} (degrees); pass a projected "
                f"crs= (e.g. 'EPSG:25833') to read its footprints in metres"
            )
        check_bounds_in_area_of_use(gdf.total_bounds, horizontal, what)
    else:
        gdf = to_crs(gdf, CRS.from_user_input(crs), what=what)
    gdf.attrs.update(
        citygml_version=version,
        vertical_crs=vertical.to_string() if vertical is not None else None,
        vertical_datum=vertical.name if vertical is not None else None,
        counts=counts,
        source=str(path),
    )
    return gdf


def describe_citygml(path) -> dict:
    """What a CityGML file holds (for ``cimcity info``).

    Returns
    -------
    dict
        ``format`` (``"CityGML"``), ``version``, ``crs``, ``vertical_crs``,
        ``counts`` (city objects per type), ``lods``, ``buildings`` (count),
        ``height_m`` / ``ground_z_m`` statistics, ``extent`` [m],
        ``building_list`` (the first 20: id, height [m] and its source,
        ground_z [m], footprint area [m²], storeys, function) and
        ``problems``.

    Raises
    ------
    FileFormatError
        Missing, empty, truncated, not CityGML or CityGML 3.0.
    """
    version, srs, counts, rows = _scan(path)
    horizontal, vertical = parse_srs_name(srs)
    problems = []
    if horizontal is None:
        problems.append(f"no readable CRS (srsName {srs!r}): readers need src_crs=")
    good = [r for r in rows if r["geometry"] is not None]
    if len(good) < len(rows):
        problems.append(f"{len(rows) - len(good)} buildings have no polygon")
    if horizontal is not None and good:
        b = shapely.total_bounds([r["geometry"] for r in good])
        try:
            check_bounds_in_area_of_use(b, horizontal, f"CityGML {Path(path).name}")
        except CRSError as exc:
            problems.append(str(exc))
    else:
        b = None
    lods: dict = {}
    for r in good:
        if np.isfinite(r["lod"]):
            k = f"LoD{int(r['lod'])}"
            lods[k] = lods.get(k, 0) + 1

    def stats(key):
        return value_stats([r[key] for r in good])

    listing = [
        {
            "id": r["building_id"],
            "height_m": round(float(r["height"]), 3)
            if np.isfinite(r["height"])
            else None,
            "height_source": {"data": "measuredHeight", "geometry": "geometry"}.get(
                r["height_source"]
            ),
            "ground_z_m": round(float(r["ground_z"]), 3)
            if np.isfinite(r["ground_z"])
            else None,
            "footprint_m2": round(float(r["geometry"].area), 1),
            "storeys": int(r["storeys"]) if np.isfinite(r["storeys"]) else None,
            "function": r["usage"],
        }
        for r in good[:20]
    ]
    return {
        "format": "CityGML",
        "version": version,
        "crs": horizontal.to_string() if horizontal is not None else None,
        "crs_name": horizontal.name if horizontal is not None else None,
        "vertical_crs": vertical.to_string() if vertical is not None else None,
        "vertical_datum": vertical.name if vertical is not None else None,
        "counts": counts,
        "buildings": len(good),
        "lods": lods,
        "height_m": stats("height"),
        "ground_z_m": stats("ground_z"),
        "extent": [round(float(v), 3) for v in b] if b is not None else None,
        "building_list": listing,
        "problems": problems,
    }
