"""The result protocol shared by every analysis result.

Every analysis returns an object that derives from :class:`Result` and so
answers the same questions the same way:

``table``
    The main table (a GeoDataFrame or DataFrame): one row per sensor, per unit,
    per building or per rule, depending on the analysis.
``tables()``
    Every table the result holds, by name; ``table`` is the first one.
``summary() -> dict``
    Headline numbers as plain Python values (``float``/``int``/``str``/``None``;
    never ``numpy`` scalars); what could not be measured is ``None``
    ("unknown"), never ``0``.
``to_file(path, layer=None)``
    Writes by suffix: ``.gpkg`` (GeoPackage), ``.parquet``/``.geoparquet``
    (GeoParquet), ``.csv`` (geometry as WKT) and ``.tif``/``.tiff`` (GeoTIFF,
    for raster results). ``layer`` names one of :meth:`tables` (default: the
    main table). Parent folders are created; an unknown suffix or layer is an
    :class:`~cimcity.errors.InputError`.
``plot(column=None, *, ax=None, **kwargs)``
    A 2D map or chart on matplotlib axes (created when ``ax`` is None);
    returns the axes.
``render(path=None, **kwargs)``
    A 3D view (pyvista), for results where 3D makes sense.
``_repr_html_``
    A short HTML card in Jupyter (summary and the first rows of ``table``).

Subclasses implement :meth:`tables`, :meth:`summary` and :meth:`plot`; the rest
comes from here.
"""

from __future__ import annotations

import html
import importlib
import math
from pathlib import Path

import numpy as np
import pandas as pd

from . import maps
from .errors import InputError

#: file suffix -> writer name
FILE_FORMATS = {
    ".gpkg": "GeoPackage",
    ".parquet": "GeoParquet",
    ".geoparquet": "GeoParquet",
    ".csv": "CSV",
    ".tif": "GeoTIFF",
    ".tiff": "GeoTIFF",
}


def plain(value):
    """A plain Python value for summaries and messages (no numpy scalars).

    NaN and None become None ("unknown"); numpy scalars become int/float/bool.
    """
    if value is None:
        return None
    if isinstance(value, np.str_):
        return str(value)
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return None if math.isnan(v) else v
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    return value


class Result:
    """Base class of analysis results (see the module docstring)."""

    #: short name used in reprs and HTML cards
    _title = "result"

    # -- to implement ------------------------------------------------------------
    def tables(self) -> dict:
        """Every table of the result by name; the first is the main one.

        Returns
        -------
        dict of str -> pandas.DataFrame or geopandas.GeoDataFrame
        """
        raise NotImplementedError

    def summary(self) -> dict:
        """Headline numbers as a dict of plain values (None: unknown)."""
        raise NotImplementedError

    def plot(self, column=None, *, ax=None, lang=None, basemap=None, title=None,
             axes="km", **kwargs):
        """Map of ``column`` of the main table on matplotlib ``ax``
        (:mod:`cimcity.maps`): the rows filled on a sequential scale (diverging,
        centred on 0, when the values change sign), unknown rows grey.

        Subclasses draw their own maps; this one serves results whose main
        table has geometries.

        Parameters
        ----------
        column : str, optional
            Numeric column (default: the first one).
        ax : matplotlib Axes, optional
        lang : {"fr", "en"}, optional
        basemap : {None, "ign", "osm"}
        title : str, optional
        axes : {"km", "hidden"}
        **kwargs
            Passed to :meth:`geopandas.GeoDataFrame.plot`.

        Returns
        -------
        matplotlib.axes.Axes

        Raises
        ------
        InputError
            The main table has no geometry, or ``column`` is not numeric.
        """
        t = self.table
        if "geometry" not in getattr(t, "columns", ()) or not hasattr(t, "total_bounds"):
            raise InputError(
                f"{type(self).__name__} has no map: its main table has no geometry"
            )
        numeric = [
            c for c in t.columns
            if c != "geometry" and pd.api.types.is_numeric_dtype(t[c])
            and not pd.api.types.is_bool_dtype(t[c])
        ]
        column = numeric[0] if column is None and numeric else column
        if column not in numeric:
            raise InputError(
                f"cannot map column {column!r}; numeric columns are {numeric}"
            )
        extent = maps.extent_of(t, pad=5.0)
        ax = maps.start(ax, extent, crs=t.crs, basemap=basemap, lang=lang)
        v = t[column].astype(float)
        kind = "diverging" if (v.min() < 0 < v.max()) else "sequential"
        cm, norm, _ = maps.color_scale(column, v, kind=kind)
        known = v.notna().to_numpy()
        maps.clip(t[known], extent).plot(
            column=column, ax=ax, cmap=cm, norm=norm, zorder=maps.Z_DATA, **kwargs
        )
        if (~known).any():
            maps.clip(t[~known], extent).plot(ax=ax, color="lightgrey", zorder=maps.Z_DATA)
        from matplotlib.cm import ScalarMappable

        sm = ScalarMappable(norm=norm, cmap=cm)
        sm.set_array([])
        maps.colorbar(ax, sm, column, lang=lang)
        return maps.finish(ax, title=title or column.replace("_", " "), lang=lang, axes=axes)

    # -- shared ------------------------------------------------------------------
    @property
    def table(self):
        """The main table (the first of :meth:`tables`)."""
        return next(iter(self.tables().values()))

    def _raster(self):
        """(array, transform, crs, nodata) for GeoTIFF output, or None."""
        return None

    def show(self, scene=None, **kwargs):
        """The interactive 3D page of this result, inline in Jupyter.

        Buildings are coloured by the result's per-building values (see
        :func:`cimcity.page.show`, found by name so results never import a view).

        Parameters
        ----------
        scene : Scene, optional
            For results that keep no scene.
        **kwargs
            As :func:`cimcity.page.to_html` (``lang=``, ``day=``, ``project=``…).
        """
        # found by name, as the scene finds its writers: results never import a view
        return importlib.import_module("cimcity.page").show(self, scene=scene, **kwargs)

    def to_file(self, path, layer: str | None = None) -> Path:
        """Write a table (or the raster) of the result, format by suffix.

        Parameters
        ----------
        path : str or os.PathLike
            ``.gpkg``, ``.parquet``/``.geoparquet``, ``.csv``,
            ``.tif``/``.tiff`` (raster results only), or ``.glb``: the scene in
            glTF, buildings coloured by the result's per-building value
            (:func:`cimcity.page.write_result_glb`). Parent folders are
            created.
        layer : str, optional
            Name of the table to write (one of :meth:`tables`); default the main
            table. In a GeoPackage it is also the layer name.

        Returns
        -------
        pathlib.Path
            The written file.

        Raises
        ------
        InputError
            Unknown suffix, unknown layer, or a raster format for a result
            without a raster.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".glb":
            # the scene, buildings coloured by this result (found by name, as
            # show() finds the page: results never import a view or 3D writer)
            return importlib.import_module("cimcity.page").write_result_glb(self, path)
        if suffix not in FILE_FORMATS:
            raise InputError(
                f"cannot write {path.name!r}: unknown file type {suffix or '(none)'!r}; "
                f"expected one of {', '.join(sorted(FILE_FORMATS))}"
            )
        if FILE_FORMATS[suffix] == "GeoTIFF":
            raster = self._raster()
            if raster is None:
                raise InputError(
                    f"{type(self).__name__} has no raster to write as GeoTIFF; "
                    "use .gpkg, .parquet or .csv"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            return write_geotiff(path, *raster)
        tables = self.tables()
        name = next(iter(tables)) if layer is None else layer
        if name not in tables or tables[name] is None:
            valid = [k for k, v in tables.items() if v is not None]
            raise InputError(
                f"unknown layer {layer!r} for {type(self).__name__}; expected one of "
                f"{', '.join(map(repr, valid))}"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        write_table(tables[name], path, name)
        return path

    def __repr__(self) -> str:
        s = self.summary()
        items = ", ".join(
            f"{k}={_fmt(v)}" for k, v in list(s.items())[:6]
        )
        return f"<{type(self).__name__} {items}>"

    def _repr_html_(self) -> str:
        s = self.summary()
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
            f"<td style='text-align:left'>{html.escape(_fmt(v))}</td></tr>"
            for k, v in s.items()
        )
        try:
            t = self.table
            head = pd.DataFrame(t.drop(columns="geometry", errors="ignore")).head(5)
            preview = (
                f"<details><summary>{len(t):,} rows</summary>"
                f"{head.to_html(max_cols=12)}</details>"
            )
        except Exception:  # a card must render even for an empty result
            preview = ""
        return (
            f"<div><b>{html.escape(type(self).__module__.split('.')[0])}."
            f"{html.escape(type(self).__name__)}</b><table>{rows}</table>"
            f"{preview}</div>"
        )


def _fmt(v) -> str:
    v = plain(v)
    if v is None:
        return "unknown"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _plain_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns of mixed ids as strings (GeoPackage/Parquet need one type)."""
    out = df.copy()
    for c in out.columns:
        if c == "geometry":
            continue
        if out[c].dtype == object:
            out[c] = out[c].map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    if out.index.name is not None and out.index.dtype == object:
        out.index = out.index.map(str)
    return out


def write_table(table, path: Path, layer: str) -> Path:
    """Write one table by suffix (see :meth:`Result.to_file`)."""
    import geopandas as gpd

    suffix = path.suffix.lower()
    fmt = FILE_FORMATS.get(suffix)
    geo = isinstance(table, gpd.GeoDataFrame) and table.geometry.name in table
    if fmt == "CSV":
        df = pd.DataFrame(table).copy()
        if geo:
            df[table.geometry.name] = table.geometry.to_wkt()
        df.to_csv(path)
        return path
    t = _plain_columns(table)
    if fmt == "GeoParquet":
        if geo:
            t.to_parquet(path)
        else:
            pd.DataFrame(t).to_parquet(path)
        return path
    if fmt == "GeoPackage":
        if not geo:
            # attribute-only table: a GeoPackage layer without geometry
            t = gpd.GeoDataFrame(pd.DataFrame(t))
        t.to_file(path, layer=layer, driver="GPKG")
        return path
    raise InputError(f"cannot write a table as {suffix!r}")


def write_geotiff(path: Path, array, transform, crs, nodata=np.nan) -> Path:
    """Write a 2D float array as a single-band GeoTIFF (north-up grid)."""
    import rasterio

    a = np.asarray(array, dtype=np.float32)
    with rasterio.open(
        path, "w", driver="GTiff", height=a.shape[0], width=a.shape[1], count=1,
        dtype="float32", crs=crs, transform=transform, nodata=nodata,
        compress="deflate",
    ) as dst:
        dst.write(a, 1)
    return path
