"""The data products cimcity recognises, by their column names (no file reading).

Shared by the readers (:mod:`cimcity.io`) and the Scene
(:meth:`cimcity.Scene.add_buildings`), so that a BDNB or BD TOPO table gives
the same heights, ground altitudes and ids whether it comes through
:func:`cimcity.read_buildings` or straight from ``geopandas.read_file``.

* :data:`FLAVOURS` and :func:`detect_flavour`: which product a table is.
* :func:`building_fields` / :func:`with_building_fields`: the product's
  columns → the normalised ``height``, ``storeys``, ``ground_z``, ``roof_z``,
  ``eave_z``, ``usage``, ``source``, ``height_source``.
* :func:`source_ids`: the product's identifiers (BDNB ``batiment_c``, BD TOPO
  ``cleabs`` / ``ID``, OSM ids...) made into unique scene ids.

Column meanings by product (lengths in metres, altitudes in the file's vertical
datum, NGF-IGN69 for IGN products):

* BD TOPO v3 ``batiment``: ``hauteur`` is measured from the ground to the
  gutter, so when the roof altitudes are present ``height =
  altitude_maximale_toit - altitude_minimale_sol`` (to the ridge,
  ``height_source="altitudes"``) and ``eave_z = altitude_minimale_toit``;
  otherwise ``height = hauteur`` (``"data"``). ``nombre_d_etages`` →
  ``storeys``, ``usage_1`` → ``usage``, ``cleabs`` → id.
* BD TOPO v2 ``bati_*``: ``HAUTEUR``; ``Z_MIN``/``Z_MAX`` are the lowest /
  highest points of the 3D outline (gutter level): ``eave_z = Z_MAX`` and
  ``ground_z = Z_MAX - HAUTEUR``; ``ID`` → id.
* BDNB: ``hauteur`` → ``height``, ``altitude_s`` / ``altitude_sol`` →
  ``ground_z``, ``batiment_c`` (``batiment_construction_id``) → id.
* OpenStreetMap: ``height`` (``"12"``, ``"12 m"``, ``"40'"``, ``"10,5"``) →
  ``height``, ``building:levels`` → ``storeys``, ``building`` → ``usage``,
  ``@id`` / ``osm_id`` / ``osmid`` / ``id`` → id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = [
    "FLAVOURS",
    "BUILDING_COLUMNS",
    "ID_COLUMNS",
    "MAX_HEIGHT",
    "MAX_STOREYS",
    "ALTITUDE_RANGE",
    "BuildingFields",
    "detect_flavour",
    "find_column",
    "parse_length",
    "building_fields",
    "with_building_fields",
    "source_ids",
]

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

#: the normalised columns of a buildings table
BUILDING_COLUMNS = (
    "height",
    "storeys",
    "ground_z",
    "roof_z",
    "eave_z",
    "usage",
    "source",
    "height_source",
)

#: heights above this are not buildings (the tallest, Burj Khalifa, is 828 m) [m]
MAX_HEIGHT = 1000.0
#: storey counts above this are not buildings (the tallest has 163)
MAX_STOREYS = 300
#: plausible ground and roof altitudes [m]: values outside are sentinels
#: (-9999, -1000...) or errors
ALTITUDE_RANGE = (-500.0, 9000.0)

#: identifier columns of each product, in order of preference (lower case)
ID_COLUMNS = {
    "bdnb": ("batiment_construction_id", "batiment_c"),
    "bdtopo_v3_batiment": ("cleabs",),
    "bdtopo_v2_bati": ("id",),
    "osm_buildings": ("@id", "osm_id", "osmid", "full_id", "id"),
    "etalab_batiments": (),
    None: ("building_id", "cleabs", "batiment_c", "id"),
}

# candidate file columns (lower case) for each normalised column, per flavour
_CANDIDATES = {
    "bdtopo_v3_batiment": {
        "height": ("hauteur",),
        "storeys": ("nombre_d_etages",),
        "ground_z": ("altitude_minimale_sol",),
        "roof_z": ("altitude_maximale_toit",),
        "eave_z": ("altitude_minimale_toit",),
        "usage": ("usage_1",),
    },
    "bdtopo_v2_bati": {
        "height": ("hauteur",),
        "storeys": ("nb_etages",),
        "usage": ("nature", "usage"),
    },
    "bdnb": {
        "height": ("hauteur", "hauteur_mean"),
        "storeys": ("nb_niveau", "nombre_d_etages"),
        "ground_z": ("altitude_sol", "altitude_s", "altitude_sol_mean"),
        "usage": ("usage_niveau_1_txt", "usage_principal_bdnb_open"),
    },
    "osm_buildings": {
        "height": ("height", "building:height"),
        "storeys": ("building:levels", "building_levels", "levels"),
        "usage": ("building",),
    },
    "etalab_batiments": {"usage": ()},
}
_GENERIC = {
    "height": ("height", "hauteur", "hauteur_mean", "h"),
    "storeys": ("storeys", "nombre_d_etages", "building:levels", "levels", "nb_etages"),
    "ground_z": (
        "ground_z",
        "altitude_minimale_sol",
        "altitude_sol",
        "altitude_s",
        "z_sol",
    ),
    "roof_z": ("roof_z", "altitude_maximale_toit", "z_toit"),
    "eave_z": ("eave_z", "altitude_minimale_toit", "z_gouttiere"),
    "usage": ("usage", "usage_1", "building"),
}
_SOURCE_NAME = {
    "bdtopo_v3_batiment": "bdtopo",
    "bdtopo_v2_bati": "bdtopo_v2",
    "bdnb": "bdnb",
    "osm_buildings": "osm",
    "etalab_batiments": "etalab",
    None: "file",
}
_NUMERIC = ("height", "storeys", "ground_z", "roof_z", "eave_z")

_FT = 0.3048
_NUM = r"[-+]?\d+(?:\.\d*)?|[-+]?\.\d+"
_METRES = re.compile(rf"^\s*({_NUM})\s*(m|meters?|metres?)?\s*$", re.IGNORECASE)
_FEET = re.compile(
    r"^\s*(\d+(?:\.\d*)?)\s*(?:'|ft|feet)\s*(?:(\d+(?:\.\d*)?)\s*\"?)?\s*$"
)


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


def find_column(columns, *names):
    """First column of ``columns`` matching one of ``names`` case-insensitively
    (None when absent)."""
    low = {}
    for c in columns:
        low.setdefault(str(c).lower(), c)
    for n in names:
        c = low.get(str(n).lower())
        if c is not None:
            return c
    return None


def parse_length(values) -> np.ndarray:
    """Lengths written as text or numbers → metres (float, NaN when unreadable).

    Understands ``12``, ``"12.5"``, ``"12 m"``, ``"10,5"`` (decimal comma),
    ``"40'"`` / ``"40 ft"`` / ``"7'4\\""`` (feet and inches) and ``"12;15"``
    (several values: the largest).

    Parameters
    ----------
    values : array-like (n,)

    Returns
    -------
    (n,) float64 [m]
    """
    s = pd.Series(np.asarray(values, dtype=object))
    num = pd.to_numeric(s, errors="coerce").astype(float)
    text = s.notna() & num.isna()
    out = num.to_numpy(copy=True)
    for i in np.flatnonzero(text.to_numpy()):
        best = np.nan
        for part in str(s.iloc[i]).replace(",", ".").split(";"):
            m = _METRES.match(part)
            if m:
                v = float(m.group(1))
            else:
                f = _FEET.match(part)
                if not f:
                    continue
                v = float(f.group(1)) * _FT + float(f.group(2) or 0) * _FT / 12
            best = v if not np.isfinite(best) else max(best, v)
        out[i] = best
    return out


@dataclass
class BuildingFields:
    """The normalised values of a buildings table, before they are written.

    Attributes
    ----------
    flavour : str or None
        The product (see :data:`FLAVOURS`).
    columns : dict
        Normalised column → file column it comes from (None when absent).
    values : dict of str -> (n,) float64
        ``height``, ``storeys`` and ``ground_z``, ``roof_z``, ``eave_z`` [m].
    height_source : (n,) object
        ``"data"``, ``"altitudes"`` or None per building.
    problems : list of str
        Data-quality findings, for one warning.
    """

    flavour: str | None
    columns: dict
    values: dict
    height_source: np.ndarray
    problems: list = field(default_factory=list)


def _first(values, mask):
    i = np.flatnonzero(mask)[0]
    v = values[i]
    return float(v) if isinstance(v, float | np.floating) else v


def building_fields(
    gdf, flavour=None, mapping=None, height_column=None, what="buildings"
) -> BuildingFields:
    """Read a buildings table's product columns into normalised values.

    Parameters
    ----------
    gdf : DataFrame or GeoDataFrame
        The table as the product gives it.
    flavour : str, optional
        The product (default detected with :func:`detect_flavour`).
    mapping : dict, optional
        ``{file column: normalised column}`` overriding the detected columns.
    height_column : str, optional
        Name of the height column, overriding the detected one.
    what : str
        Name of the table, for messages.

    Returns
    -------
    BuildingFields
        Heights [m] (NaN when unknown), storeys, altitudes [m]. Unreadable,
        non-positive or absurd heights (> :data:`MAX_HEIGHT`) and storeys
        (> :data:`MAX_STOREYS`) and altitudes outside :data:`ALTITUDE_RANGE`
        become NaN, each counted in ``problems`` with its first value.

    Raises
    ------
    InputError
        A column named by ``mapping`` or ``height_column`` is not in the table.
    """
    if flavour is not None and flavour not in FLAVOURS:
        raise InputError(
            f"{what}: unknown flavour {flavour!r}; expected one of "
            f"{', '.join(map(repr, FLAVOURS))}"
        )
    fl = flavour or detect_flavour(gdf.columns)
    geom_name = getattr(getattr(gdf, "geometry", None), "name", None)
    original = [str(c) for c in gdf.columns if c != geom_name]
    cand = dict(_GENERIC)
    cand.update(_CANDIDATES.get(fl, {}))
    src = {k: (find_column(gdf.columns, *v) if v else None) for k, v in cand.items()}
    if fl == "bdtopo_v2_bati":
        src.update(ground_z=None, roof_z=None, eave_z=None)
    if mapping:
        missing = [m for m in mapping if find_column(gdf.columns, m) is None]
        if missing:
            raise InputError(
                f"{what}: mapped column(s) {', '.join(map(repr, missing))} not "
                f"found; columns are {', '.join(original)}"
            )
        for file_col, target in mapping.items():
            if target in src:
                src[target] = find_column(gdf.columns, file_col)
    if height_column is not None:
        col = find_column(gdf.columns, height_column)
        if col is None:
            raise InputError(
                f"{what}: height column {height_column!r} not found; columns are "
                f"{', '.join(original)}"
            )
        src["height"] = col

    def numeric(col):
        if col is None:
            return np.full(len(gdf), np.nan)
        return parse_length(gdf[col].to_numpy(dtype=object))

    values = {k: numeric(src[k]) for k in _NUMERIC}
    problems = []
    limits = {
        "height": (0.0, MAX_HEIGHT),
        "storeys": (0.0, MAX_STOREYS),
        "ground_z": ALTITUDE_RANGE,
        "roof_z": ALTITUDE_RANGE,
        "eave_z": ALTITUDE_RANGE,
    }
    for k in _NUMERIC:
        col = src[k]
        if col is None:
            continue
        raw = gdf[col].to_numpy(dtype=object)
        v = values[k]
        unreadable = pd.notna(raw) & ~np.isfinite(v)
        if unreadable.any():
            problems.append(
                f"{int(unreadable.sum())} unreadable {col} values set to missing "
                f"(first: {_first(raw, unreadable)!r})"
            )
            v[unreadable] = np.nan
        lo, hi = limits[k]
        low = np.isfinite(v) & (v <= lo) if lo == 0.0 else np.isfinite(v) & (v < lo)
        if low.any():
            what_low = (
                f"non-positive {col} values"
                if lo == 0.0
                else f"{col} values below {lo:g} m"
            )
            problems.append(
                f"{int(low.sum())} {what_low} set to missing "
                f"(first: {_first(v, low):g})"
            )
        high = np.isfinite(v) & (v > hi)
        if high.any():
            problems.append(
                f"{int(high.sum())} {col} values above {hi:g} set to missing, not "
                f"plausible for a building (first: {_first(v, high):g})"
            )
        values[k] = np.where(low | high, np.nan, v)
    if fl == "bdtopo_v2_bati":
        zmax = numeric(find_column(gdf.columns, "z_max"))
        values["eave_z"] = zmax
        values["ground_z"] = zmax - values["height"]

    h = values["height"]
    hsrc = np.where(np.isfinite(h), "data", None).astype(object)
    ground, roof = values["ground_z"], values["roof_z"]
    alt = np.isfinite(ground) & np.isfinite(roof) & (roof > ground)
    # BD TOPO v3 hauteur stops at the gutter: the altitudes give the full height
    use = alt if fl == "bdtopo_v3_batiment" else alt & ~np.isfinite(h)
    h[use] = (roof - ground)[use]
    hsrc[use] = "altitudes"
    return BuildingFields(fl, src, values, hsrc, problems)


def with_building_fields(gdf, fields: BuildingFields):
    """Write normalised columns into a copy of ``gdf`` (see :data:`BUILDING_COLUMNS`).

    An original column whose name clashes with a normalised one (e.g. OSM's
    text ``height``) is kept as ``<name>_file`` unless it holds the same
    values.

    Parameters
    ----------
    gdf : GeoDataFrame
    fields : BuildingFields
        From :func:`building_fields` (possibly completed, e.g. from a DSM).

    Returns
    -------
    GeoDataFrame
        With ``height``, ``storeys``, ``ground_z``, ``roof_z``, ``eave_z``
        [m], ``usage``, ``source`` and ``height_source``;
        ``attrs["flavour"]`` and ``attrs["columns_used"]``.
    """
    src, v, fl = dict(fields.columns), fields.values, fields.flavour
    renames = {}
    for k in BUILDING_COLUMNS:
        if k not in gdf.columns:
            continue
        same = False
        if src.get(k) == k and k in v and gdf[k].dtype.kind in "fiu":
            same = np.array_equal(gdf[k].to_numpy(dtype=float), v[k], equal_nan=True)
        elif src.get(k) == k and k == "usage":
            same = True
        if not same:
            renames[k] = f"{k}_file"
    gdf = gdf.rename(columns=renames)
    src = {k: renames.get(c, c) for k, c in src.items()}
    for k in _NUMERIC:
        gdf[k] = v[k]
    usage_col = src.get("usage")
    if usage_col is not None:
        u = gdf[usage_col].astype(object)
        if fl == "osm_buildings":
            u = u.where(~u.isin(["yes", "Yes"]), None)
        gdf["usage"] = u.where(u.notna(), None).to_numpy(dtype=object)
    elif "usage" not in gdf.columns:
        gdf["usage"] = None
    gdf["source"] = _SOURCE_NAME.get(fl, fl or "file")
    gdf["height_source"] = fields.height_source
    gdf.attrs["flavour"] = fl
    gdf.attrs["columns_used"] = {k: c for k, c in src.items() if c is not None}
    return gdf


def _id_text(values) -> np.ndarray:
    """Ids as text: integers without a decimal part, strings stripped, None
    for missing."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float | np.floating) and not np.isfinite(v)):
            out[i] = None
        elif isinstance(v, float | np.floating) and float(v).is_integer():
            out[i] = str(int(v))
        elif isinstance(v, int | np.integer):
            out[i] = str(int(v))
        else:
            s = str(v).strip()
            out[i] = s if s and s.lower() not in ("nan", "none", "<na>") else None
    return out


def source_ids(gdf, flavour=None, id_column=None, prefix="B", what="buildings"):
    """The product's identifiers as unique ids.

    Parameters
    ----------
    gdf : DataFrame
    flavour : str, optional
        The product (default detected): its id column is taken from
        :data:`ID_COLUMNS`.
    id_column : str, False or None
        The id column (case-insensitive); None detects it; False: no ids.
    prefix : str
        Prefix of the ids generated for rows without one (``B000012``: row 12).
    what : str
        Name of the table, for messages.

    Returns
    -------
    ids : (n,) object array of str, or None
        None when there is no id column (or it holds no value).
    column : str or None
        The column the ids come from.
    problems : list of str
        Missing ids (generated) and duplicate ids made unique (``X#2``,
        ``X#3``...), counted with the first example.

    Raises
    ------
    InputError
        ``id_column`` not in the table, holding no value, or (named
        explicitly) holding missing or duplicate ids: a column chosen as the
        key must be a key. Duplicates of a *detected* column are made unique
        with a suffix instead, and reported in ``problems``.
    """
    if id_column is False:
        return None, None, []
    explicit = id_column is not None
    if explicit:
        col = find_column(gdf.columns, id_column)
        if col is None:
            cols = [str(c) for c in gdf.columns if str(c) != "geometry"]
            raise InputError(
                f"{what}: id column {id_column!r} not found; columns are "
                f"{', '.join(cols)}"
            )
    else:
        fl = flavour if flavour is not None else detect_flavour(gdf.columns)
        names = ID_COLUMNS.get(fl, ()) or ()
        col = find_column(gdf.columns, *names) if names else None
        if col is None and fl is not None:
            col = find_column(gdf.columns, *ID_COLUMNS[None])
        if col is None:
            return None, None, []
    ids = _id_text(gdf[col].to_numpy(dtype=object))
    missing = np.array([v is None for v in ids], dtype=bool)
    if missing.all():
        if explicit:
            raise InputError(f"{what}: id column {col!r} holds no value")
        return None, None, []
    problems = []
    if missing.any():
        if explicit:
            raise InputError(
                f"{what}: id column {col!r} has {int(missing.sum())} missing ids "
                f"(first at row {int(np.flatnonzero(missing)[0])}); fill them or "
                f"choose another column"
            )
        rows = np.flatnonzero(missing)
        for r in rows:
            ids[r] = f"{prefix}{r:06d}"
        problems.append(
            f"{len(rows)} rows have no {col} (first at row {int(rows[0])}); given "
            f"generated ids {prefix}<row>"
        )
    s = pd.Series(ids)
    dup = s.duplicated(keep="first").to_numpy()
    if dup.any():
        first = str(ids[np.flatnonzero(dup)[0]])
        n_ids = int(s[dup].nunique())
        if explicit:
            raise InputError(
                f"{what}: id column {col!r} has {int(dup.sum())} duplicate ids "
                f"({n_ids} values, first {first!r}); ids must be unique: choose "
                f"another column or id_column=False"
            )
        taken = set(s[~dup])
        rank = s.groupby(s).cumcount().to_numpy() + 1
        for r in np.flatnonzero(dup):
            k = rank[r]
            new = f"{ids[r]}#{k}"
            while new in taken:
                k += 1
                new = f"{ids[r]}#{k}"
            taken.add(new)
            ids[r] = new
        problems.append(
            f"{int(dup.sum())} duplicate {col} ids ({n_ids} values, first "
            f"{first!r}) made unique with a suffix (#2, #3...); the column keeps "
            f"the file's values"
        )
    return ids, col, problems
