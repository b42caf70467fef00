"""The result of a vegetation analysis: :class:`VegetationResult`.

One row per unit (parcel, zone or any polygon) with the cover areas, shares,
biotope coefficient and, with a rule pack, compliance; a per-zone summary
table; the CBS weights used. Follows the result protocol of
:mod:`cimcity.results` (``tables``, ``summary``, ``plot``, ``to_file``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import i18n, maps
from .._compat import import_optional
from ..errors import InputError
from ..results import Result, plain
from .biotope import (
    _DERIVED,
    RULES,
    SHARE_COLUMNS,
    _apply_weights_and_rules,
    _fails,
)
from .cover import AREA_COLUMNS

#: summary entries listed first (the headline numbers)
_HEADLINE = (
    "units",
    "area",
    "built_share",
    "vegetation_share",
    "pleine_terre_share",
    "biotope_coefficient",
    "failing",
    "checked",
    "not_checkable",
)


def plt_scalar(cmap, norm):
    """A colour-bar mappable for a colour map and norm."""
    cm = import_optional("matplotlib.cm")
    sm = cm.ScalarMappable(norm=norm, cmap=cmap)
    sm.set_array([])
    return sm


def _pct(v) -> str:
    """A share [0-1] as a percentage, or "unknown"."""
    return "unknown" if v is None or not np.isfinite(v) else f"{v:.0%}"


def _num(v, fmt: str, unit: str = "") -> str:
    """A number in ``fmt`` with its unit, or "unknown"."""
    return "unknown" if v is None or not np.isfinite(v) else f"{v:{fmt}}{unit}"


def _not_checkable(U) -> np.ndarray:
    """True for units with a PLU minimum that a missing layer left
    uncheckable (a minimum column set, its measured value NaN)."""
    out = np.zeros(len(U), bool)
    for name, (measured, _) in RULES.items():
        if name in U:
            lim = U[name].to_numpy(float)
            out |= np.isfinite(lim) & ~np.isfinite(U[measured].to_numpy(float))
    return out


class VegetationResult(Result):
    """Per-unit vegetation, built and biotope figures.

    The tables (:meth:`tables`) are ``"units"`` (the main one, also
    :attr:`table`), ``"by_zone"`` (:attr:`by_zone`) and ``"weights"``.

    Parameters
    ----------
    units : GeoDataFrame (n units)
        One row per unit: geometry, ``libelle`` (zone) when
        known, :data:`~cimcity.vegetation.AREA_COLUMNS` [m²],
        :data:`~cimcity.vegetation.SHARE_COLUMNS` [0-1] (of ``area``, or of
        ``observed_area`` on the raster path), ``weighted_area`` [m²],
        ``biotope_coefficient``; with a rule pack also the minima
        (``min_biotope_coefficient``...), status columns (``biotope_ok``,
        ``pleine_terre_ok``, ``green_ok``, ``open_space_ok``, nullable bool: NA
        where the zone has no such rule), ``compliant``, missing areas
        (``missing_weighted_m2``, ``missing_pleine_terre_m2``...) [m²],
        ``depave_m2`` / ``green_roof_needed_m2`` (either closes the CBS gap)
        [m²] and a readable ``what_would_it_take``.
    weights : DataFrame
        CBS weights used, one row per zone ``libelle`` (``"(no zone)"`` for
        units outside every zone), one column per surface type.
    by : str
        ``"parcel"``, ``"zone"`` or ``"custom"``.
    source : str
        ``"vector"`` or ``"raster"``.
    rules : RulePack or None
    meta : dict, optional
    """

    _title = "vegetation"

    def __init__(
        self,
        units: gpd.GeoDataFrame,
        weights: pd.DataFrame,
        by: str = "parcel",
        source: str = "vector",
        rules=None,
        meta: dict | None = None,
    ):
        self._units = units
        self.weights = weights
        self.by = by
        self.source = source
        self.rules = rules
        self.meta = {} if meta is None else meta

    # -- tables -------------------------------------------------------------------
    @property
    def units(self) -> gpd.GeoDataFrame:
        """The per-unit table (the main table, :attr:`table`)."""
        return self._units

    @property
    def table(self) -> gpd.GeoDataFrame:
        """The main table: :attr:`units`."""
        return self._units

    def tables(self) -> dict:
        """``"units"`` (per unit, main), ``"by_zone"`` (per zone and ``"all"``)
        and ``"weights"`` (CBS weights per zone).

        Returns
        -------
        dict of str -> DataFrame
        """
        return {"units": self._units, "by_zone": self.by_zone, "weights": self.weights}

    @property
    def failing(self) -> gpd.GeoDataFrame:
        """Units that fail at least one vegetation rule of their zone, worst CBS
        first, with the missing areas and ``what_would_it_take``."""
        U = self._units
        if "compliant" not in U:
            return U.iloc[0:0]
        bad = U[_fails(U["compliant"])]
        return bad.sort_values("biotope_coefficient")

    @property
    def by_zone(self) -> pd.DataFrame:
        """District table: one row per zone ``libelle`` and a total row
        ``"all"``: unit count, areas [m²], shares of the total area [0-1], the
        area-weighted biotope coefficient and, with rules, the ``failing`` and
        ``checked`` counts and ``not_checkable`` (units with a rule on a
        quantity left unknown by a missing layer). Areas and shares are NaN
        where a layer they need is missing."""
        U = self._units
        denom_col = "observed_area" if "observed_area" in U else "area"
        area_cols = (
            [c for c in AREA_COLUMNS if c in U]
            + (["observed_area"] if "observed_area" in U else [])
            + ["weighted_area"]
        )

        def agg(df) -> dict:
            # skipna=False: an unknown area (missing layer) stays unknown
            tot = df[area_cols].sum(skipna=False)
            d = float(tot[denom_col])
            row = {"units": len(df), **tot.to_dict()}
            for s in SHARE_COLUMNS:
                row[s] = (
                    float(tot[s.replace("_share", "_area")]) / d if d > 0 else np.nan
                )
            row["biotope_coefficient"] = (
                float(tot["weighted_area"]) / d if d > 0 else np.nan
            )
            if "compliant" in df:
                row["failing"] = int(_fails(df["compliant"]).sum())
                row["checked"] = int(df["compliant"].notna().sum())
                row["not_checkable"] = int(_not_checkable(df).sum())
            return row

        rows = {}
        if "libelle" in U and U["libelle"].notna().any():
            for lib, df in U.groupby(U["libelle"].fillna("(no zone)"), sort=True):
                rows[lib] = agg(df)
        rows["all"] = agg(U)
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "libelle"
        return out

    # -- summaries ----------------------------------------------------------------
    def summary(self) -> dict:
        """District headline numbers (the ``"all"`` row of :attr:`by_zone`).

        Returns
        -------
        dict
            ``units``, ``area`` [m²], ``built_share``, ``vegetation_share``,
            ``pleine_terre_share`` [0-1], ``biotope_coefficient`` (area-weighted),
            with rules ``failing`` / ``checked`` / ``not_checkable`` counts,
            then every other area [m²] and share [0-1] of the district,
            ``by``, ``source`` and ``missing_layers`` (the layers whose
            absence left quantities unknown). Unknown values (a missing layer,
            or shares of an empty district) are None, never 0.
        """
        row = self.by_zone.loc["all"].to_dict()
        if "failing" in row:
            row["failing"] = int(row["failing"])
            row["checked"] = int(row["checked"])
            row["not_checkable"] = int(row["not_checkable"])
        row["units"] = int(row["units"])
        out = {k: row[k] for k in _HEADLINE if k in row}
        out.update({k: v for k, v in row.items() if k not in out})
        out["by"] = self.by
        out["source"] = self.source
        out["missing_layers"] = list(self.meta.get("missing_layers", []))
        return plain(out)

    def summary_lines(self) -> list[str]:
        """A few readable lines for a console or a report ("unknown" where a
        missing layer leaves a figure unknown, never 0)."""
        s = self.by_zone
        a = s.loc["all"]
        unit = {"parcel": "parcels", "zone": "zones"}.get(self.by, "units")
        lines = [
            f"{int(a['units'])} {unit} ({self.source} path), {a['area'] / 1e4:.2f} ha: "
            f"built {_pct(a['built_share'])}, vegetation "
            f"{_pct(a['vegetation_share'])} (canopy {_pct(a['canopy_share'])}), "
            f"open {_pct(a['open_share'])}; pleine terre "
            f"{_pct(a['pleine_terre_share'])}, green roofs "
            f"{_num(a['green_roof_area'], '.0f', ' m²')}, CBS "
            f"{_num(a['biotope_coefficient'], '.2f')}"
        ]
        for lib, r in s.drop(index="all").iterrows():
            tail = ""
            if "failing" in r and r["checked"] > 0:
                tail = (
                    f", {int(r['failing'])}/{int(r['checked'])} below the PLU minimum"
                )
            if "not_checkable" in r and r["not_checkable"] > 0:
                tail += f", {int(r['not_checkable'])} not checkable (unknown)"
            lines.append(
                f"  zone {lib}: {int(r['units'])} {unit}, vegetation "
                f"{_pct(r['vegetation_share'])}, pleine terre "
                f"{_pct(r['pleine_terre_share'])}, "
                f"CBS {_num(r['biotope_coefficient'], '.2f')}{tail}"
            )
        for why in self.meta.get("missing_layers", []):
            lines.append(f"  unknown: {why}")
        return lines

    def weights_lines(self) -> list[str]:
        """The CBS weights used, one line per distinct set of zones."""
        groups: dict[tuple, list] = {}
        for lib, row in self.weights.iterrows():
            groups.setdefault(tuple(row.round(4).items()), []).append(str(lib))
        return [
            f"  CBS weights ({', '.join(libs)}): "
            + ", ".join(f"{k} {v:g}" for k, v in key)
            for key, libs in groups.items()
        ]

    def reweight(self, weights: dict | None = None, rules=None) -> VegetationResult:
        """Same areas, new CBS weights and/or rule pack (no geometry recomputed).

        Parameters
        ----------
        weights : dict, optional
            Surface type -> weight in [0, 1] overriding the pack's for every
            unit.
        rules : RulePack, optional
            Default: the result's own rule pack.

        Returns
        -------
        VegetationResult
        """
        units = self._units
        keep = [
            c for c in units.columns if c in AREA_COLUMNS or c in ("observed_area",)
        ]
        base = [c for c in units.columns if c not in _DERIVED and c not in keep]
        U = units[base + keep].copy()
        rules = self.rules if rules is None else rules
        U, wt = _apply_weights_and_rules(U, rules, weights)
        return VegetationResult(U, wt, self.by, self.source, rules, dict(self.meta))

    # -- output -------------------------------------------------------------------
    def plot(
        self,
        column: str | None = None,
        *,
        ax=None,
        path=None,
        cmap: str | None = None,
        highlight_failing: bool = True,
        title: str | None = None,
        lang=None,
        basemap=None,
        scene=None,
        axes="km",
        **kwargs,
    ):
        """Choropleth of one column of :attr:`units` with a colour-bar legend
        (drawn with :mod:`cimcity.maps`).

        Parameters
        ----------
        column : str, optional
            Any numeric column of :attr:`units` (default ``vegetation_share``);
            shares [0-1] are shown in percent.
        ax : matplotlib Axes, optional
            Created when None.
        path : str or Path, optional
            Also save the figure there (PNG, SVG, PDF by suffix).
        cmap : str, optional
            Default ``"YlGn"`` (``"OrRd"`` for built/missing columns).
        highlight_failing : bool
            Outline units that fail a PLU rule in red.
        title : str, optional
            Default: the column's label and the unit kind.
        lang : {"fr", "en"}, optional
            Language of the labels (default: :func:`cimcity.i18n.get_language`).
        basemap : {None, "ign", "osm"}
            Web tiles under the map when a network is there.
        scene : Scene, optional
            Its layers as a quiet base (roads, water, footprints).
        axes : {"km", "hidden"}
        **kwargs
            Passed to :meth:`geopandas.GeoDataFrame.plot`.

        Returns
        -------
        matplotlib.axes.Axes
        """
        column = "vegetation_share" if column is None else column
        U = self._units
        if column not in U:
            raise InputError(
                f"unknown column {column!r}; numeric columns are "
                f"{[c for c in U.columns if pd.api.types.is_numeric_dtype(U[c])]}"
            )
        if not pd.api.types.is_numeric_dtype(U[column]):
            raise InputError(f"column {column!r} is not numeric")
        if cmap is None:
            cmap = (
                "OrRd"
                if column.startswith(
                    ("built", "missing", "depave", "green_roof_needed")
                )
                else "YlGn"
            )
        share = column.endswith("_share")
        extent = maps.extent_of(U, pad=5.0) if len(U) else None
        if extent is None:
            if ax is None:
                ax = import_optional("matplotlib.pyplot").subplots(figsize=(7, 7))[1]
            ax.set_axis_off()
            return ax
        ax = maps.start(
            ax, extent, crs=U.crs, scene=scene, basemap=basemap, lang=lang,
            layers=("water", "roads"), figsize=(7, 7),
        )
        values = U[column].astype(float) * (100.0 if share else 1.0)
        cm, norm, _ = maps.color_scale(
            "green_share", values, vmin=0.0 if share else None,
            vmax=100.0 if share else None, cmap=cmap,
        )
        shown = U.assign(_value=values)
        known = shown["_value"].notna().to_numpy()
        shown[known].plot(
            column="_value", ax=ax, cmap=cm, norm=norm, edgecolor="0.4",
            linewidth=0.3, zorder=maps.Z_DATA, **kwargs,
        )
        legend = []
        if (~known).any():
            from matplotlib.patches import Patch

            shown[~known].plot(
                ax=ax, color="lightgrey", edgecolor="0.4", linewidth=0.3,
                hatch="///", zorder=maps.Z_DATA,
            )
            legend.append(
                Patch(facecolor="lightgrey", hatch="///", label=i18n.term("unknown", lang))
            )
        if scene is not None:
            maps.footprints(ax, scene.buildings, extent, color="0.35", linewidth=0.3)
        try:
            name = i18n.term(f"veg_{column}", lang)
        except KeyError:
            name = column.replace("_", " ")
        sm = plt_scalar(cm, norm)
        maps.colorbar(ax, sm, column, lang=lang, label=f"{name} (%)" if share else name)
        if highlight_failing and len(self.failing):
            legend += self._outline_failing(ax, extent, lang)
        if len(U) and U[column].isna().all():  # a missing layer: say so on the map
            unknown = self.meta.get("unknown", {})
            why = unknown.get(column.replace("_share", "_area")) or self.meta.get(
                "missing_layers", ["no data"]
            )
            why = "\n".join(w.replace(" (", "\n(") for w in why)
            ax.text(
                0.5, 0.5, f"{name} — {i18n.term('map_unknown_grey', lang)}:\n{why}",
                transform=ax.transAxes, ha="center", va="center", fontsize=8,
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "0.5"},
                zorder=maps.Z_DECOR,
            )
        if title is None:
            per = i18n.term(f"map_per_{self.by}", lang) if self.by in ("parcel", "zone", "custom") else self.by
            place = maps.place_of(scene, U.crs, extent, lang)
            title = f"{name} {per}" + (f" — {place}" if place else "")
        maps.finish(ax, title=title, lang=lang, axes=axes, legend=legend)
        if path is not None:
            ax.figure.savefig(path, dpi=120, bbox_inches="tight")
        return ax

    def _outline_failing(self, ax, extent, lang=None) -> list:
        from matplotlib.lines import Line2D

        maps.footprints(
            ax, self.failing, extent, color="red", linewidth=1.2,
            zorder=maps.Z_OUTLINE + 0.5,
        )
        return [Line2D([0], [0], color="red", lw=1.2, label=i18n.term("map_below_minimum", lang))]

    def __len__(self) -> int:
        return len(self._units)
