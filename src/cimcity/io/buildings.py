"""Building footprints with heights: BD TOPO, BDNB, OSM-like or any mapping.

:func:`read_buildings` returns the columns the Scene expects (``height``,
``storeys``, ``ground_z``, ``roof_z``, ``eave_z``, ``usage``, ``source``,
``height_source``) next to every original attribute. It never invents a
height: a building whose file gives none keeps ``height = NaN`` (reported in a
:class:`~cimcity.errors.DataQualityWarning`) and
:meth:`cimcity.Scene.add_buildings` estimates it from storeys or a default,
flagged in ``height_source``. Heights measured from a DSM (``dsm=``) are
measurements and are flagged ``"dsm"``.

Column meanings by product (all lengths in metres, altitudes in the file's
vertical datum, NGF-IGN69 for IGN products):

* BD TOPO v3 ``batiment``: ``hauteur`` is measured from the ground to the
  gutter (the building outline is captured at the gutter), so when the roof
  altitudes are present ``height = altitude_maximale_toit -
  altitude_minimale_sol`` (to the ridge, ``height_source="altitudes"``) and
  ``eave_z = altitude_minimale_toit``; otherwise ``height = hauteur``
  (``"data"``). ``nombre_d_etages`` → ``storeys``, ``usage_1`` → ``usage``.
* BD TOPO v2 ``bati_*``: ``HAUTEUR``; ``Z_MIN``/``Z_MAX`` are the lowest /
  highest points of the 3D outline (gutter level): ``eave_z = Z_MAX`` and
  ``ground_z = Z_MAX - HAUTEUR``.
* BDNB: ``hauteur`` → ``height``, ``altitude_s`` / ``altitude_sol`` →
  ``ground_z``.
* OpenStreetMap: ``height`` (``"12"``, ``"12 m"``, ``"40'"``, ``"10,5"``) →
  ``height``, ``building:levels`` → ``storeys``, ``building`` → ``usage``.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from ..errors import CRSError, DataQualityWarning, InputError
from ..terrain import Terrain
from .raster import read_dem, read_dsm
from .vector import detect_flavour, find_column, read_vector

__all__ = ["read_buildings", "parse_length", "BUILDING_COLUMNS"]

#: the normalised columns read_buildings fills
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

_FT = 0.3048
_NUM = r"[-+]?\d+(?:\.\d*)?|[-+]?\.\d+"
_METRES = re.compile(rf"^\s*({_NUM})\s*(m|meters?|metres?)?\s*$", re.IGNORECASE)
_FEET = re.compile(
    r"^\s*(\d+(?:\.\d*)?)\s*(?:'|ft|feet)\s*(?:(\d+(?:\.\d*)?)\s*\"?)?\s*$"
)

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


def _pick(gdf, names):
    return find_column(gdf.columns, *names) if names else None


def _numeric(gdf, col) -> np.ndarray:
    if col is None:
        return np.full(len(gdf), np.nan)
    return parse_length(gdf[col].to_numpy(dtype=object))


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
):
    """Read building footprints and normalise their heights.

    Parameters
    ----------
    path : str or os.PathLike
        BD TOPO v3 ``batiment`` (GeoPackage / shapefile), BD TOPO v2, BDNB
        extract, OSM-style GeoJSON, Etalab ``batiments``, or any vector file of
        polygons (use ``mapping``).
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
        Bare-ground model for ``ground_z`` where the file has none (median of
        the DEM under the footprint); used with ``dsm``.
    flavour : str, optional
        Force the product (see :data:`cimcity.io.vector.FLAVOURS`); default
        detected from the columns.

    Returns
    -------
    geopandas.GeoDataFrame
        Every original attribute (a file column whose name clashes with a
        normalised column, e.g. OSM's text ``height``, is kept as
        ``<name>_file``), plus ``height`` [m] (NaN when unknown), ``storeys``
        (float, NaN when unknown), ``ground_z``, ``roof_z``, ``eave_z`` [m,
        altitudes, NaN when unknown], ``usage``, ``source`` (the product:
        ``"bdtopo"``, ``"bdnb"``, ``"osm"``...) and ``height_source``
        (``"data"``, ``"altitudes"``, ``"dsm"``, ``"user"`` or None when
        missing). ``attrs["flavour"]`` holds the detected product.

    Raises
    ------
    FileFormatError, CRSError, GeometryError
        See :func:`cimcity.io.vector.read_vector`.
    InputError
        A column named by ``height`` or ``mapping`` is not in the file.

    Warns
    -----
    DataQualityWarning
        Buildings without a height (count, and how many have storeys for the
        Scene's estimate), unreadable or non-positive heights or storeys set
        to missing (count).
    ReprojectionWarning
        When the file is reprojected to ``crs``.

    Examples
    --------
    >>> b = cc.read_buildings("batiment.gpkg", bbox=(651000, 6862000, 652000, 6863000))  # doctest: +SKIP
    >>> b[["height", "storeys", "height_source"]].describe()  # doctest: +SKIP
    """
    gdf = read_vector(
        path,
        layer=layer,
        bbox=bbox,
        crs=crs,
        what="buildings",
        prefer_layers=("batiment", "building", "bati"),
    )
    fl = flavour or detect_flavour(gdf.columns)
    n = len(gdf)
    geom_name = gdf.geometry.name
    original = [c for c in gdf.columns if c != geom_name]

    # which file column feeds each normalised column
    cand = dict(_GENERIC)
    cand.update(_CANDIDATES.get(fl, {}))
    src = {k: _pick(gdf, v) for k, v in cand.items()}
    if fl == "bdtopo_v2_bati":
        src.update(ground_z=None, roof_z=None, eave_z=None)
    if mapping:
        missing = [m for m in mapping if find_column(gdf.columns, m) is None]
        if missing:
            raise InputError(
                f"buildings {path}: mapped column(s) {', '.join(map(repr, missing))} "
                f"not found; columns are {', '.join(original)}"
            )
        for file_col, target in mapping.items():
            col = find_column(gdf.columns, file_col)
            if target in src:
                src[target] = col
    constant = None
    if isinstance(height, str):
        col = find_column(gdf.columns, height)
        if col is None:
            raise InputError(
                f"buildings {path}: height column {height!r} not found; columns "
                f"are {', '.join(original)}"
            )
        src["height"] = col
    elif height is not None:
        constant = float(height)
        if not np.isfinite(constant) or constant <= 0:
            raise InputError(
                f"height must be a positive number of metres, got {height!r}"
            )

    values = {
        k: _numeric(gdf, src[k])
        for k in ("height", "storeys", "ground_z", "roof_z", "eave_z")
    }
    problems = []
    for k in ("height", "storeys"):
        col = src[k]
        if col is None:
            continue
        raw = gdf[col]
        unreadable = raw.notna().to_numpy() & ~np.isfinite(values[k])
        if unreadable.any():
            i = np.flatnonzero(unreadable)[0]
            problems.append(
                f"{int(unreadable.sum())} unreadable {col} values set to missing "
                f"(first: {raw.iloc[i]!r})"
            )
        nonpos = np.isfinite(values[k]) & (values[k] <= 0)
        if nonpos.any():
            problems.append(
                f"{int(nonpos.sum())} non-positive {col} values set to missing"
            )
            values[k] = np.where(nonpos, np.nan, values[k])
    if fl == "bdtopo_v2_bati":
        zmax = _numeric(gdf, find_column(gdf.columns, "z_max"))
        values["eave_z"] = zmax
        values["ground_z"] = zmax - values["height"]

    h = values["height"].copy()
    hsrc = np.where(np.isfinite(h), "data", None).astype(object)
    ground, roof = values["ground_z"], values["roof_z"]
    alt = np.isfinite(ground) & np.isfinite(roof) & (roof > ground)
    if fl == "bdtopo_v3_batiment":
        # hauteur stops at the gutter: the altitudes give the full height
        use = alt
    else:
        use = alt & ~np.isfinite(h)
    h[use] = (roof - ground)[use]
    hsrc[use] = "altitudes"

    if dsm is not None:
        h, ground, hsrc = _heights_from_dsm(
            gdf, h, ground, hsrc, dsm, dem, crs, problems
        )
    if constant is not None:
        m = ~np.isfinite(h)
        h[m] = constant
        hsrc[m] = "user"

    new = {
        "height": h,
        "storeys": values["storeys"],
        "ground_z": ground,
        "roof_z": roof,
        "eave_z": values["eave_z"],
    }
    # an original column whose name clashes with a normalised one is kept as
    # <name>_file unless it is the source of that column and holds the same values
    renames = {}
    for k in BUILDING_COLUMNS:
        if k not in gdf.columns:
            continue
        same = False
        if src.get(k) == k and k in new and gdf[k].dtype.kind in "fiu":
            old = gdf[k].to_numpy(dtype=float)
            same = np.array_equal(old, new[k], equal_nan=True)
        elif src.get(k) == k and k == "usage":
            same = True
        if not same:
            renames[k] = f"{k}_file"
    gdf = gdf.rename(columns=renames)
    src = {k: renames.get(v, v) for k, v in src.items()}
    for k, v in new.items():
        gdf[k] = v
    usage_col = src.get("usage")
    if usage_col is not None:
        u = gdf[usage_col].astype(object)
        if fl == "osm_buildings":
            u = u.where(~u.isin(["yes", "Yes"]), None)
        gdf["usage"] = u.where(u.notna(), None).to_numpy(dtype=object)
    elif "usage" not in gdf.columns:
        gdf["usage"] = None
    gdf["source"] = _SOURCE_NAME.get(fl, fl or "file")
    gdf["height_source"] = hsrc

    nh = int((~np.isfinite(h)).sum())
    if nh:
        ns = int((~np.isfinite(h) & np.isfinite(values["storeys"])).sum())
        col = src.get("height")
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
    gdf.attrs["flavour"] = fl
    gdf.attrs["columns_used"] = {k: v for k, v in src.items() if v is not None}
    return gdf


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
