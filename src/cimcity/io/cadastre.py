"""Cadastre reader: Etalab parcels and buildings, BD Parcellaire, any vector file.

The Etalab cadastre (cadastre.data.gouv.fr, Licence Ouverte) is published per
commune as GeoJSON in WGS84 (``cadastre-<insee>-parcelles.json[.gz]`` and
``cadastre-<insee>-batiments.json[.gz]``). Parcel ids are 14 characters:
commune INSEE code (5), prefix (3, ``000`` except for merged communes),
section (2) and number (4), e.g. ``75118000AA0002``.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataQualityWarning, InputError
from ..results import plain
from .vector import apply_mapping, find_column, read_vector

__all__ = ["read_cadastre", "parse_parcel_ids"]

_ID_RE = re.compile(r"^(\d[0-9AB]\d{3})(\d{3})([0-9A-Z]{2})(\d{4})$")
_LAYERS = ("parcelles", "batiments")


def parse_parcel_ids(ids) -> pd.DataFrame:
    """Split 14-character cadastral parcel ids into their parts.

    Parameters
    ----------
    ids : array-like of str
        Ids such as ``"75118000AA0002"`` (Corsica: ``"2A004000AB0012"``).

    Returns
    -------
    pandas.DataFrame
        Columns ``commune`` (5), ``prefixe`` (3), ``section`` (2), ``numero``
        (4), as strings; ``None`` on rows whose id does not follow the pattern.
    """
    s = pd.Series(np.asarray(ids, dtype=object)).astype("string").str.strip()
    parts = s.str.extract(_ID_RE.pattern)
    parts.columns = ["commune", "prefixe", "section", "numero"]
    return parts.astype(object).where(parts.notna(), None)


def _kind(path, layer, columns) -> str:
    if layer is not None and str(layer).lower() in _LAYERS:
        return str(layer).lower()
    name = Path(str(path)).name.lower()
    for k in _LAYERS:
        if k in name:
            return k
    if layer is not None and "bat" in str(layer).lower():
        return "batiments"
    cols = {c.lower() for c in columns}
    if "contenance" in cols or "numero" in cols or "section" in cols:
        return "parcelles"
    if {"type", "nom"} <= cols:
        return "batiments"
    return "parcelles"


def _build_ids(gdf, path):
    """Fill ``id`` from BD Parcellaire-style columns when there is none."""
    dep = find_column(gdf.columns, "code_dep")
    com = find_column(gdf.columns, "code_com")
    depcom = find_column(gdf.columns, "depcom", "commune", "insee", "code_insee")
    sec = find_column(gdf.columns, "section")
    num = find_column(gdf.columns, "numero")
    pre = find_column(gdf.columns, "com_abs", "prefixe")
    if sec is None or num is None or (depcom is None and (dep is None or com is None)):
        raise InputError(
            f"cadastre {path}: no parcel id: expected an 'id' column (Etalab) or "
            f"commune + section + numero columns (BD Parcellaire CODE_DEP/CODE_COM, "
            f"SECTION, NUMERO); give a mapping with columns={{'your_id': 'id'}}"
        )

    def text(c, width, fill="0"):
        v = gdf[c].astype("string").str.strip()
        return v.str.rjust(width, fill)

    if depcom is not None:
        commune = text(depcom, 5)
    else:
        commune = text(dep, 2) + text(com, 3)
    prefixe = text(pre, 3) if pre is not None else pd.Series("000", index=gdf.index)
    ids = commune + prefixe.fillna("000") + text(sec, 2) + text(num, 4)
    return ids.astype(object).where(ids.notna(), None)


def read_cadastre(
    path, bbox=None, layer=None, crs="EPSG:2154", columns=None, id_column=None
):
    """Read cadastral parcels (or buildings) into the scene CRS.

    Reads the Etalab cadastre GeoJSON (plain or ``.json.gz``, WGS84,
    reprojected with a :class:`~cimcity.errors.ReprojectionWarning`), IGN BD
    Parcellaire, or any vector file (GeoPackage, shapefile, GeoParquet) with a
    column mapping.

    Parameters
    ----------
    path : str or os.PathLike
    bbox : (minx, miny, maxx, maxy), optional
        Read only features intersecting this box, in ``crs`` [m].
    layer : str, optional
        ``"parcelles"`` or ``"batiments"`` (default: from the file name or its
        columns), or the name of a layer in a multi-layer file.
    crs : str or pyproj.CRS
        Target projected CRS (default Lambert-93).
    columns : dict or list, optional
        A dict maps file columns (case-insensitive) to cimcity names, e.g.
        ``{"idu": "id", "surf_cad": "contenance"}``; a list selects the
        attribute columns to read.
    id_column : str, optional
        Column holding the parcel ids (case-insensitive), copied to ``id``
        (default: ``id``, else ``idu``, else built from commune, section and
        numero).

    Returns
    -------
    geopandas.GeoDataFrame
        Parcels: every original attribute, plus ``id`` (14-character parcel id,
        built from the parts when the file has none), ``commune``, ``prefixe``,
        ``section``, ``numero`` (parsed from the id; zero-padded strings),
        ``contenance`` (legal area [m²], float, NaN when unknown) and ``area``
        (area of the geometry in ``crs`` [m²]). Buildings (``batiments``): the
        original attributes plus ``area`` [m²]. ``attrs["kind"]`` says which.

    Raises
    ------
    FileFormatError, CRSError, GeometryError
        Unreadable or empty file, no or wrong CRS, non-polygon geometries
        (see :func:`cimcity.io.vector.read_vector`).
    InputError
        No way to identify parcels (no id nor commune/section/numero), or
        ``id_column`` not in the file.

    Warns
    -----
    DataQualityWarning
        Ids that do not follow the 14-character pattern, parts that disagree
        with the id, duplicate ids, missing contenance (with counts).

    Examples
    --------
    >>> parcels = cc.read_cadastre("cadastre-75118-parcelles.json.gz")  # doctest: +SKIP
    >>> parcels[["id", "section", "numero", "contenance", "area"]].head()  # doctest: +SKIP
    """
    mapping, select = None, None
    if isinstance(columns, dict):
        mapping = columns
    elif columns is not None:
        select = list(columns)
    file_layer = None if layer is None or str(layer).lower() in _LAYERS else layer
    prefer = (str(layer).lower(),) if layer is not None else ("parcel", "bati")
    gdf = read_vector(
        path,
        layer=file_layer,
        bbox=bbox,
        crs=crs,
        columns=select,
        what="cadastre",
        prefer_layers=prefer,
    )
    if mapping:
        gdf = apply_mapping(gdf, mapping, f"cadastre {path}")
    if id_column is not None:
        gdf = apply_mapping(gdf, {id_column: "id"}, f"cadastre {path}")
    kind = _kind(path, layer, gdf.columns)
    gdf.attrs["kind"] = kind
    if kind == "batiments":
        gdf["area"] = gdf.geometry.area
        return gdf
    return _normalise_parcels(gdf, path)


def _normalise_parcels(gdf, path):
    n = len(gdf)
    idcol = find_column(gdf.columns, "id", "idu")
    if idcol is None:
        gdf["id"] = _build_ids(gdf, path)
    elif idcol != "id":
        gdf["id"] = gdf[idcol]
    parts = parse_parcel_ids(gdf["id"].to_numpy(dtype=object))
    parts.index = gdf.index
    bad = parts["commune"].isna()
    problems = []
    if bad.any():
        first = gdf["id"][bad].iloc[0]
        problems.append(
            f"{int(bad.sum())} ids do not follow the 14-character pattern "
            f"commune(5) prefixe(3) section(2) numero(4) (first: {first!r}); their "
            f"parts are taken from the file's columns"
        )
    for part, width in (("commune", 5), ("prefixe", 3), ("section", 2), ("numero", 4)):
        col = find_column(gdf.columns, part)
        if col is not None:
            given = gdf[col].astype("string").str.strip().str.rjust(width, "0")
            given = given.astype(object).where(given.notna(), None)
            # a disagreement between the id and the column is reported, the
            # id (the key) wins
            both = ~bad & given.notna()
            diff = both & (given != parts[part])
            if diff.any():
                i = np.flatnonzero(diff.to_numpy())[0]
                problems.append(
                    f"{int(diff.sum())} rows have a {col} that disagrees with the id "
                    f"(first: id {plain(gdf['id'].iloc[i])!r}, {col} {plain(gdf[col].iloc[i])!r}); "
                    f"the id's value is used"
                )
            values = parts[part].where(~bad, given)
        else:
            values = parts[part]
        gdf[part] = values.to_numpy(dtype=object)
    dup = gdf["id"].duplicated(keep=False) & gdf["id"].notna()
    if dup.any():
        problems.append(
            f"{int(gdf['id'][dup].nunique())} parcel ids appear more than once "
            f"({int(dup.sum())} rows, first {plain(gdf['id'][dup].iloc[0])!r}); Scene."
            f"add_parcels needs unique ids"
        )
    col = find_column(gdf.columns, "contenance")
    if col is not None:
        cont = pd.to_numeric(gdf[col], errors="coerce").astype(float)
        nonpos = cont <= 0
        if nonpos.any():
            problems.append(
                f"{int(nonpos.sum())} non-positive contenance values set to NaN"
            )
            cont = cont.where(~nonpos)
        miss = cont.isna() & ~nonpos
        if miss.any():
            problems.append(f"{int(miss.sum())} parcels have no contenance")
        gdf["contenance"] = cont.to_numpy()
    else:
        gdf["contenance"] = np.nan
    gdf["area"] = gdf.geometry.area
    if problems:
        warnings.warn(
            f"cadastre {path} ({n} parcels): " + "; ".join(problems),
            DataQualityWarning,
            stacklevel=3,
        )
    return gdf
