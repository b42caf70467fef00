"""The CityJSON document: loading, header checks, vertices, CRS, and the
flattening of a CityObject's geometry (at a chosen LoD) into surfaces.

Shared by the reader, the mesh builder, the writer and ``describe``.

References
----------
CityJSON specifications 1.1.3 and 2.0.1, https://www.cityjson.org/specs/ .
"""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path

import numpy as np
from pyproj import CRS

from ...crs import as_projected_crs
from ...errors import CimcityWarning, CRSError, FileFormatError

#: versions read; 2.0 is written
VERSIONS = ("1.0", "1.1", "2.0")
#: closing of footprints (hairline gaps between adjacent surfaces) [m]
FOOTPRINT_CLOSING = 0.005
#: roof surfaces with |n_z| below this are sloped (eaves) [-]
SLOPED_NZ = 0.995
#: default quantisation of written coordinates [m]
DEFAULT_PRECISION = 0.001
#: building types and the types merged into them
BUILDING_TYPES = ("Building",)
PART_TYPES = ("BuildingPart",)
#: Scene columns an attribute must not overwrite
RESERVED = frozenset(
    {
        "geometry",
        "building_id",
        "ground_z",
        "ground_source",
        "height",
        "height_source",
        "roof_z",
        "eave_z",
        "storeys",
        "storeys_source",
        "lod",
        "source",
        "parcel_id",
        "zone_id",
        "repaired",
        "parent_id",
        "cityjson_type",
        "cityjson_lod",
        "id",
    }
)
class CityJSONWarning(CimcityWarning):
    """Something in a CityJSON file was skipped, guessed or fell back."""


def _load(path) -> dict:
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"CityJSON file {str(path)!r} does not exist")
    if path.stat().st_size == 0:
        raise FileFormatError(f"CityJSON file {str(path)!r} is empty (0 bytes)")
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            cj = json.load(fh)
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            f"CityJSON file {str(path)!r} is not UTF-8 text ({exc}); CityJSON must be "
            f"UTF-8 encoded"
        ) from exc
    except (json.JSONDecodeError, OSError, EOFError) as exc:
        raise FileFormatError(
            f"cannot parse {str(path)!r} as JSON ({exc}); truncated or not a CityJSON "
            f"file"
        ) from exc
    if not isinstance(cj, dict) or cj.get("type") != "CityJSON":
        kind = cj.get("type") if isinstance(cj, dict) else type(cj).__name__
        raise FileFormatError(
            f"{str(path)!r} is not a CityJSON file: its 'type' is {kind!r}, expected "
            f"'CityJSON' (CityJSONFeature streams and CityGML are not read)"
        )
    version = str(cj.get("version", ""))
    if version not in VERSIONS:
        raise FileFormatError(
            f"CityJSON file {str(path)!r} has version {version!r}; supported versions "
            f"are {', '.join(VERSIONS)} (upgrade older files with cjio: "
            f"cjio in.json upgrade save out.json)"
        )
    for key in ("CityObjects", "vertices"):
        if key not in cj:
            raise FileFormatError(
                f"CityJSON file {str(path)!r} has no {key!r} member: not a complete "
                f"CityJSON file"
            )
    return cj


def _vertices(cj) -> np.ndarray:
    v = np.asarray(cj["vertices"], dtype=np.float64).reshape(-1, 3)
    t = cj.get("transform")
    if t:
        v = v * np.asarray(t["scale"], float) + np.asarray(t["translate"], float)
    return v


def _epsg_from_reference(ref) -> int | None:
    """EPSG code from a CityJSON referenceSystem (OGC URL or URN)."""
    if not ref:
        return None
    text = str(ref).strip().rstrip("/")
    tail = text.split("/")[-1].split(":")[-1]
    return int(tail) if tail.isdigit() else None


def _scene_crs(cj, crs, name):
    """(horizontal projected CRS, vertical datum name or None, reference string)."""
    ref = (cj.get("metadata") or {}).get("referenceSystem")
    file_crs = None
    if ref:
        code = _epsg_from_reference(ref)
        try:
            file_crs = CRS.from_epsg(code) if code else CRS.from_user_input(ref)
        except Exception:  # unknown code: the user must say
            file_crs = None
            if crs is None:
                raise CRSError(
                    f"CityJSON {name!r}: referenceSystem {ref!r} is not a CRS pyproj "
                    f"knows; pass crs='EPSG:<code>' to read_cityjson"
                ) from None
    if crs is not None:
        user = CRS.from_user_input(crs)
        if file_crs is not None and not _horizontal(file_crs).equals(
            _horizontal(user), ignore_axis_order=True
        ):
            warnings.warn(
                f"{name}: the file declares {ref!r} but crs={user.to_string()!r} was "
                f"given; using the given CRS",
                CityJSONWarning,
                stacklevel=3,
            )
        file_crs = user
    if file_crs is None:
        raise CRSError(
            f"CityJSON {name!r} declares no CRS (metadata.referenceSystem is missing); "
            f"pass the CRS of its coordinates, e.g. read_cityjson(path, "
            f"crs='EPSG:28992') for Dutch RD New or crs='EPSG:2154' for Lambert-93"
        )
    vertical = None
    if file_crs.is_compound and len(file_crs.sub_crs_list) > 1:
        vertical = file_crs.sub_crs_list[1].name
    horizontal = as_projected_crs(_horizontal(file_crs), what=f"CityJSON {name}")
    return horizontal, vertical, ref


def _horizontal(crs: CRS) -> CRS:
    if crs.is_compound and crs.sub_crs_list:
        return crs.sub_crs_list[0]
    return crs


def _lod_value(lod) -> float:
    try:
        return float(lod)
    except (TypeError, ValueError):
        return float("nan")


def _pick_geometry(geoms, lod):
    """The geometry at the requested LoD (highest by default), or None."""
    geoms = [g for g in geoms or [] if "lod" in g]
    if not geoms:
        return None
    if lod is None:
        return max(geoms, key=lambda g: _lod_value(g["lod"]))
    want = str(lod)
    exact = [g for g in geoms if str(g["lod"]) == want]
    if exact:
        return exact[0]
    try:
        major = int(float(want))
    except ValueError:
        return None
    if float(want) == major:  # lod=2 matches 2.x (the highest)
        same = [g for g in geoms if int(_lod_value(g["lod"])) == major]
        if same:
            return max(same, key=lambda g: _lod_value(g["lod"]))
    return None


def _surfaces(geom, V, templates, oid=None, name=None):
    """Flatten a geometry into surfaces: list of (rings [(k, 3) arrays], semantic
    type or None, closed: part of a solid's shell).

    ``oid`` (the city object's id) and ``name`` (the file's) go into the
    :class:`FileFormatError` raised for a vertex index out of range."""
    t = geom.get("type")
    b = geom.get("boundaries")
    if t == "GeometryInstance":
        if templates is None:
            return []
        tpl = templates["templates"][geom["template"]]
        tv = np.asarray(templates["vertices-templates"], float).reshape(-1, 3)
        m = np.asarray(geom["transformationMatrix"], float).reshape(4, 4)
        ref = V[b[0]]
        tv = (np.c_[tv, np.ones(len(tv))] @ m.T)[:, :3] + ref
        return _surfaces(tpl, tv, None, oid, name)
    sem = geom.get("semantics") or {}
    types = [s.get("type") for s in sem.get("surfaces", [])]
    values = sem.get("values")
    out = []

    def surface(s, v):
        idx = [np.asarray(r, dtype=np.int64) for r in s if len(r)]
        for i in idx:
            bad = i[(i < 0) | (i >= len(V))]
            if len(bad):
                where = f"CityJSON {name!r}: " if name else "CityJSON: "
                obj = f"object {oid!r}" if oid is not None else "a surface"
                raise FileFormatError(
                    f"{where}{obj} refers to vertex {int(bad[0])}, outside the "
                    f"{len(V)} vertices of the file (indices 0 to {len(V) - 1}): "
                    f"truncated or corrupt CityJSON"
                )
        rings = [V[i] for i in idx]
        kind = types[v] if v is not None and 0 <= v < len(types) else None
        out.append((rings, kind, closed))

    closed = t in ("Solid", "MultiSolid", "CompositeSolid")

    if t in ("MultiSurface", "CompositeSurface"):
        for i, s in enumerate(b):
            surface(s, values[i] if values else None)
    elif t == "Solid":
        for i, shell in enumerate(b):
            for j, s in enumerate(shell):
                surface(s, values[i][j] if values and values[i] else None)
    elif t in ("MultiSolid", "CompositeSolid"):
        for i, solid in enumerate(b):
            for j, shell in enumerate(solid):
                for k, s in enumerate(shell):
                    v = None
                    if values and values[i] and values[i][j]:
                        v = values[i][j][k]
                    surface(s, v)
    return out  # points and lines have no surfaces


def _newell(r):
    x, y, z = r[:, 0], r[:, 1], r[:, 2]
    x1, y1, z1 = np.roll(x, -1), np.roll(y, -1), np.roll(z, -1)
    return np.array(
        [
            np.sum((y - y1) * (z + z1)),
            np.sum((z - z1) * (x + x1)),
            np.sum((x - x1) * (y + y1)),
        ]
    )


