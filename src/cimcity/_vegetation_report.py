"""Weights, rules and the result of :mod:`cimcity.vegetation`.

The coefficient de biotope par surface (CBS) of each unit from its measured
areas, the PLU minima and compliance columns, "what would it take" for the
failing units, and :class:`VegetationResult` (summary, plot, files). Private:
the public names are re-exported by :mod:`cimcity.vegetation`; nothing here
touches geometry, so it also serves re-weighting without recomputing areas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import InputError, RuleError

#: CBS weights used when the scene has no rule pack (those of the rule-pack
#: schema; Berlin BFF, Becker & Mohren 1990). Keys are the surface types.
DEFAULT_BIOTOPE_WEIGHTS = {
    "pleine_terre": 1.0,
    "green_roof_deep": 0.7,
    "green_roof_shallow": 0.5,
    "green_wall": 0.2,
    "permeable_paving": 0.3,
    "impervious": 0.0,
}

#: area columns of every result [m²]
AREA_COLUMNS = (
    "area",
    "built_area",
    "unbuilt_area",
    "vegetation_area",
    "canopy_area",
    "low_vegetation_area",
    "open_area",
    "pleine_terre_area",
    "permeable_paving_area",
    "impervious_area",
    "green_roof_area",
    "green_roof_deep_area",
    "green_roof_shallow_area",
    "green_wall_area",
    "green_area",
)
#: share columns of every result (of the unit area) [0-1]
SHARE_COLUMNS = (
    "built_share",
    "unbuilt_share",
    "vegetation_share",
    "canopy_share",
    "low_vegetation_share",
    "open_share",
    "pleine_terre_share",
    "green_roof_share",
    "green_share",
)
#: rule name in the rule pack -> (measured column, area column it is a share of)
RULES = {
    "min_biotope_coefficient": ("biotope_coefficient", "weighted_area"),
    "min_pleine_terre_share": ("pleine_terre_share", "pleine_terre_area"),
    "min_green_share": ("green_share", "green_area"),
    "min_open_space_share": ("unbuilt_share", "unbuilt_area"),
}
_STATUS = {
    "min_biotope_coefficient": "biotope_ok",
    "min_pleine_terre_share": "pleine_terre_ok",
    "min_green_share": "green_ok",
    "min_open_space_share": "open_space_ok",
}
_MISSING = {
    "min_biotope_coefficient": "missing_weighted_m2",
    "min_pleine_terre_share": "missing_pleine_terre_m2",
    "min_green_share": "missing_green_m2",
    "min_open_space_share": "missing_open_space_m2",
}

# ----------------------------------------------------------------------------------
# weights, rules and the biotope coefficient
# ----------------------------------------------------------------------------------
#: surface type (weight key) -> area column it weighs
WEIGHTED_SURFACES = {
    "pleine_terre": "pleine_terre_area",
    "green_roof_deep": "green_roof_deep_area",
    "green_roof_shallow": "green_roof_shallow_area",
    "green_wall": "green_wall_area",
    "permeable_paving": "permeable_paving_area",
    "impervious": "impervious_area",
}


def _check_weights(w, what: str, error=InputError) -> dict:
    if not isinstance(w, dict):
        raise error(
            f"{what} must be a dict of surface type -> weight, got {type(w).__name__}"
        )
    out = {}
    for k, v in w.items():
        if k not in WEIGHTED_SURFACES:
            raise error(
                f"{what}: unknown surface type {k!r}; expected one of "
                f"{', '.join(WEIGHTED_SURFACES)}"
            )
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise error(f"{what}[{k!r}] = {v!r} is not a number") from None
        if not (0.0 <= v <= 1.0):
            raise error(f"{what}[{k!r}] = {v} lies outside [0, 1]")
        out[k] = v
    return out


def weighted_surface(
    areas: pd.DataFrame, weights: dict | pd.DataFrame | None = None
) -> pd.Series:
    """Weighted surface Σ wₖ · areaₖ per unit (numerator of the CBS).

    Parameters
    ----------
    areas : DataFrame (n rows)
        With the area columns of :data:`WEIGHTED_SURFACES` [m²] (as returned by
        :func:`cover_areas`); missing ones count 0.
    weights : dict or DataFrame, optional
        One dict for every unit, or a DataFrame aligned on ``areas`` with one
        column per surface type; default :data:`DEFAULT_BIOTOPE_WEIGHTS`.

    Returns
    -------
    Series (n,)
        Weighted surface [m²]; divide by the unit area for the coefficient.
    """
    if weights is None:
        weights = DEFAULT_BIOTOPE_WEIGHTS
    if isinstance(weights, dict):
        w = {**DEFAULT_BIOTOPE_WEIGHTS, **_check_weights(weights, "weights")}
        weights = pd.DataFrame(
            {k: np.full(len(areas), v) for k, v in w.items()}, index=areas.index
        )
    total = np.zeros(len(areas))
    for key, col in WEIGHTED_SURFACES.items():
        if col in areas and key in weights:
            total += weights[key].to_numpy(float) * areas[col].to_numpy(float)
    return pd.Series(total, index=areas.index, name="weighted_area")


def _pack_weights(rules, libelle) -> dict:
    """CBS weights of one zone: defaults, then the pack's, then the zone's."""
    w = dict(DEFAULT_BIOTOPE_WEIGHTS)
    if rules is None:
        return w
    base = getattr(rules, "biotope_weights", None)
    if base:
        w.update({k: float(v) for k, v in base.items() if k in WEIGHTED_SURFACES})
    if libelle is not None and rules.for_zone(libelle) is not None:
        zw = rules.weights(libelle)
        w.update({k: float(v) for k, v in zw.items() if k in WEIGHTED_SURFACES})
    return _check_weights(w, f"rule pack weights of zone {libelle!r}", RuleError)


def _rule_value(rules, libelle, name) -> float:
    if rules is None or libelle is None:
        return np.nan
    zone = rules.for_zone(libelle)
    if zone is None:
        return np.nan
    rule = zone.get(name)
    if rule is None or rule.value is None:
        return np.nan
    return float(rule.value)


def _apply_weights_and_rules(units: gpd.GeoDataFrame, rules, weights) -> tuple:
    """Shares, CBS, minima, compliance and "what would it take" columns; returns
    (units, weights table)."""
    U = units
    user = _check_weights(weights, "weights") if weights is not None else {}
    libs = (
        U["libelle"].to_numpy(dtype=object)
        if "libelle" in U
        else np.full(len(U), None, object)
    )
    libs = np.where(pd.isna(libs), None, libs).astype(object)
    nozone = np.equal(libs, None)
    keys = sorted(set(libs[~nozone].tolist())) + (
        ["(no zone)"] if nozone.any() or not len(libs) else []
    )
    table = {}
    for k in keys:
        lib = None if k == "(no zone)" else k
        table[k] = {**_pack_weights(rules, lib), **user}
    wt = pd.DataFrame.from_dict(table, orient="index", columns=list(WEIGHTED_SURFACES))
    wt.index.name = "libelle"
    per_unit = wt.reindex(np.where(nozone, "(no zone)", libs))
    per_unit.index = U.index

    denom = (U["observed_area"] if "observed_area" in U else U["area"]).to_numpy(float)
    safe = np.where(denom > 0, denom, np.nan)
    for s in SHARE_COLUMNS:
        U[s] = U[s.replace("_share", "_area")].to_numpy(float) / safe
    U["weighted_area"] = weighted_surface(U, per_unit).to_numpy()
    U["biotope_coefficient"] = U["weighted_area"].to_numpy() / safe

    if rules is None:
        return U, wt
    status_cols = []
    for name, (measured, area_col) in RULES.items():
        per_zone = {
            k: _rule_value(rules, None if k == "(no zone)" else k, name) for k in keys
        }
        lim = pd.Series(per_zone, dtype=float).reindex(
            np.where(nozone, "(no zone)", libs)
        )
        lim = lim.to_numpy(dtype=float)
        if not np.isfinite(lim).any():
            continue
        U[name] = lim
        ok = U[measured].to_numpy(float) >= lim - 1e-9
        st = pd.array(np.where(np.isfinite(lim), ok, False), dtype="boolean")
        st[~np.isfinite(lim)] = pd.NA
        U[_STATUS[name]] = st
        status_cols.append(_STATUS[name])
        need = np.clip(lim * denom - U[area_col].to_numpy(float), 0.0, None)
        U[_MISSING[name]] = np.where(np.isfinite(lim), need, np.nan)
    if not status_cols:
        return U, wt
    S = U[status_cols]
    any_rule = S.notna().any(axis=1).to_numpy()
    all_ok = S.fillna(True).all(axis=1).to_numpy()
    comp = pd.array(all_ok, dtype="boolean")
    comp[~any_rule] = pd.NA
    U["compliant"] = comp
    _what_would_it_take(U, per_unit)
    return U, wt


def _what_would_it_take(U, w) -> None:
    """Adds ``depave_m2`` / ``green_roof_needed_m2`` (ways to close the CBS gap)
    and a readable ``what_would_it_take`` for each failing unit."""
    paved = np.clip(
        U["unbuilt_area"] - U["pleine_terre_area"] - U["permeable_paving_area"], 0, None
    ).to_numpy(float)
    bare_roof = np.clip(U["built_area"] - U["green_roof_area"], 0, None).to_numpy(float)
    gain_pt = (w["pleine_terre"] - w["impervious"]).to_numpy(float)
    gain_roof = (w["green_roof_shallow"] - w["impervious"]).to_numpy(float)
    miss_w = (
        U["missing_weighted_m2"].to_numpy(float)
        if "missing_weighted_m2" in U
        else np.full(len(U), np.nan)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        U["depave_m2"] = np.where(gain_pt > 0, miss_w / gain_pt, np.nan)
        U["green_roof_needed_m2"] = np.where(gain_roof > 0, miss_w / gain_roof, np.nan)
    texts = np.full(len(U), "", dtype=object)
    cols = {
        c: U[c].to_numpy(float) if c in U else np.full(len(U), np.nan)
        for c in _MISSING.values()
    }

    def option(need, have, verb, what):
        if need <= have + 1e-6:
            return f"{verb} {need:.0f} m² (of {have:.0f} m² {what})"
        return f"{verb} {need:.0f} m² (only {have:.0f} m² {what}: not enough alone)"

    for k in np.flatnonzero(_fails(U["compliant"])):
        parts = []
        m = cols["missing_pleine_terre_m2"][k]
        if m > 0:
            parts.append(
                f"pleine terre +{m:.0f} m²: "
                + option(m, paved[k], "de-pave and plant", "paved ground")
            )
        m = cols["missing_open_space_m2"][k]
        if m > 0:
            parts.append(f"open space +{m:.0f} m²: reduce the footprint by {m:.0f} m²")
        m = cols["missing_green_m2"][k]
        if m > 0:
            parts.append(f"green surface +{m:.0f} m² (planting or green roof)")
        m = cols["missing_weighted_m2"][k]
        if m > 0:
            d = U["depave_m2"].iat[k]
            r = U["green_roof_needed_m2"].iat[k]
            opts = []
            if np.isfinite(d):
                opts.append(
                    option(d, paved[k], "de-pave to pleine terre", "paved ground")
                )
            if np.isfinite(r):
                opts.append(option(r, bare_roof[k], "green", "bare roof"))
            parts.append(f"biotope +{m:.0f} weighted m²: " + " or ".join(opts))
        texts[k] = "; ".join(parts)
    U["what_would_it_take"] = texts


# ----------------------------------------------------------------------------------
# the result
# ----------------------------------------------------------------------------------
_PLOT_LABELS = {
    "vegetation_share": "vegetation share (canopy + low vegetation) [0-1]",
    "built_share": "built share [0-1]",
    "pleine_terre_share": "pleine terre share [0-1]",
    "green_share": "green share (vegetation + green roofs) [0-1]",
    "canopy_share": "canopy share [0-1]",
    "biotope_coefficient": "biotope coefficient (CBS)",
    "unbuilt_share": "open space (unbuilt) share [0-1]",
}


@dataclass(repr=False)
class VegetationResult:
    """Per-unit vegetation, built and biotope figures.

    Attributes
    ----------
    units : GeoDataFrame (n units)
        Geometry, ``libelle`` (zone) when known, :data:`AREA_COLUMNS` [m²],
        :data:`SHARE_COLUMNS` [0-1] (of ``area``, or of ``observed_area`` on the
        raster path), ``weighted_area`` [m²], ``biotope_coefficient``; with a
        rule pack also the minima (``min_biotope_coefficient``...), status
        columns (``biotope_ok``, ``pleine_terre_ok``, ``green_ok``,
        ``open_space_ok``, nullable bool: NA where the zone has no such rule),
        ``compliant``, missing areas (``missing_weighted_m2``,
        ``missing_pleine_terre_m2``...) [m²], ``depave_m2`` /
        ``green_roof_needed_m2`` (either closes the CBS gap) [m²] and a
        readable ``what_would_it_take``.
    weights : DataFrame
        CBS weights used, one row per zone ``libelle`` (``"(no zone)"`` for
        units outside every zone), one column per surface type.
    by : str
        ``"parcel"``, ``"zone"`` or ``"custom"``.
    source : str
        ``"vector"`` or ``"raster"``.
    rules : RulePack or None
    """

    units: gpd.GeoDataFrame
    weights: pd.DataFrame
    by: str = "parcel"
    source: str = "vector"
    rules: object = None
    meta: dict = field(default_factory=dict)

    # -- views ------------------------------------------------------------------------
    @property
    def failing(self) -> gpd.GeoDataFrame:
        """Units that fail at least one vegetation rule of their zone, worst CBS
        first, with the missing areas and ``what_would_it_take``."""
        U = self.units
        if "compliant" not in U:
            return U.iloc[0:0]
        bad = U[_fails(U["compliant"])]
        return bad.sort_values("biotope_coefficient")

    def summary(self) -> pd.DataFrame:
        """District summary: one row per zone ``libelle`` and a total row
        ``"all"``: unit count, areas [m²], shares of the total area [0-1], the
        area-weighted biotope coefficient and, with rules, the failing count."""
        U = self.units
        denom_col = "observed_area" if "observed_area" in U else "area"
        area_cols = (
            [c for c in AREA_COLUMNS if c in U]
            + (["observed_area"] if "observed_area" in U else [])
            + ["weighted_area"]
        )

        def agg(df) -> dict:
            tot = df[area_cols].sum()
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
            return row

        rows = {}
        if "libelle" in U and U["libelle"].notna().any():
            for lib, df in U.groupby(U["libelle"].fillna("(no zone)"), sort=True):
                rows[lib] = agg(df)
        rows["all"] = agg(U)
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "libelle"
        return out

    def summary_lines(self) -> list[str]:
        """A few readable lines for a console or a report."""
        s = self.summary()
        a = s.loc["all"]
        unit = {"parcel": "parcels", "zone": "zones"}.get(self.by, "units")
        lines = [
            f"{int(a['units'])} {unit} ({self.source} path), {a['area'] / 1e4:.2f} ha: "
            f"built {a['built_share']:.0%}, vegetation {a['vegetation_share']:.0%} "
            f"(canopy {a['canopy_share']:.0%}), open {a['open_share']:.0%}; "
            f"pleine terre {a['pleine_terre_share']:.0%}, green roofs "
            f"{a['green_roof_area']:.0f} m², CBS {a['biotope_coefficient']:.2f}"
        ]
        for lib, r in s.drop(index="all").iterrows():
            tail = ""
            if "failing" in r and r["checked"] > 0:
                tail = (
                    f", {int(r['failing'])}/{int(r['checked'])} below the PLU minimum"
                )
            lines.append(
                f"  zone {lib}: {int(r['units'])} {unit}, vegetation "
                f"{r['vegetation_share']:.0%}, pleine terre {r['pleine_terre_share']:.0%}, "
                f"CBS {r['biotope_coefficient']:.2f}{tail}"
            )
        return lines

    def reweight(self, weights: dict | None = None, rules=None) -> VegetationResult:
        """Same areas, new CBS weights and/or rule pack (no geometry recomputed).

        Parameters
        ----------
        weights : dict, optional
            Surface type -> weight overriding the pack's for every unit.
        rules : RulePack, optional
            Default: the result's own rule pack.
        """
        keep = [
            c
            for c in self.units.columns
            if c in AREA_COLUMNS or c in ("observed_area",)
        ]
        base = [c for c in self.units.columns if c not in _DERIVED and c not in keep]
        U = self.units[base + keep].copy()
        rules = self.rules if rules is None else rules
        U, wt = _apply_weights_and_rules(U, rules, weights)
        return VegetationResult(U, wt, self.by, self.source, rules, dict(self.meta))

    # -- output -----------------------------------------------------------------------
    def plot(
        self,
        column: str = "vegetation_share",
        ax=None,
        path=None,
        cmap: str | None = None,
        highlight_failing: bool = True,
        title: str | None = None,
        **kwargs,
    ):
        """Choropleth of one column with a colour-bar legend (matplotlib).

        Parameters
        ----------
        column : str
            Any numeric column of :attr:`units` (default ``vegetation_share``).
        ax : matplotlib Axes, optional
        path : str or Path, optional
            Also save the figure there (PNG, SVG, PDF by suffix).
        cmap : str, optional
            Default ``"YlGn"`` (``"OrRd"`` for built/missing columns).
        highlight_failing : bool
            Outline units that fail a PLU rule in red.
        **kwargs
            Passed to :meth:`geopandas.GeoDataFrame.plot`.

        Returns
        -------
        matplotlib.axes.Axes
        """
        plt = _import_optional()("matplotlib.pyplot")
        U = self.units
        if column not in U:
            raise InputError(
                f"unknown column {column!r}; numeric columns are "
                f"{[c for c in U.columns if pd.api.types.is_numeric_dtype(U[c])]}"
            )
        if not pd.api.types.is_numeric_dtype(U[column]):
            raise InputError(f"column {column!r} is not numeric")
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 7))
        if cmap is None:
            cmap = (
                "OrRd"
                if column.startswith(
                    ("built", "missing", "depave", "green_roof_needed")
                )
                else "YlGn"
            )
        vr = {}
        if column.endswith("_share"):
            vr = {"vmin": 0.0, "vmax": 1.0}
        label = _PLOT_LABELS.get(column, column.replace("_", " "))
        if len(U):
            U.plot(
                column=column,
                ax=ax,
                cmap=cmap,
                legend=True,
                edgecolor="0.4",
                linewidth=0.3,
                legend_kwds={"label": label, "shrink": 0.7},
                missing_kwds={"color": "lightgrey", "label": "no data"},
                **vr,
                **kwargs,
            )
            if highlight_failing and len(self.failing):
                self.failing.boundary.plot(ax=ax, color="red", linewidth=1.2)
                from matplotlib.lines import Line2D

                ax.legend(
                    handles=[
                        Line2D([0], [0], color="red", lw=1.2, label="below PLU minimum")
                    ],
                    loc="lower left",
                    fontsize=8,
                )
        ax.set_title(title or f"{label} per {self.by}")
        ax.set_aspect("equal")
        ax.set_axis_off()
        if path is not None:
            ax.figure.savefig(path, dpi=120, bbox_inches="tight")
        return ax

    def to_file(self, path, **kwargs) -> Path:
        """Write the per-unit table: ``.csv`` (no geometry), ``.parquet``
        (GeoParquet) or any vector format geopandas writes (``.gpkg``,
        ``.geojson``...).

        Returns
        -------
        Path
        """
        path = Path(path)
        suffix = path.suffix.lower()
        U = self.units
        if suffix == ".csv":
            pd.DataFrame(U.drop(columns=U.geometry.name)).to_csv(path, **kwargs)
        elif suffix == ".parquet":
            U.to_parquet(path, **kwargs)
        else:
            out = U.copy()
            for c in out.columns:
                if isinstance(out[c].dtype, pd.BooleanDtype):
                    out[c] = out[c].astype(object)
            out.to_file(path, **kwargs)
        return path

    def __len__(self) -> int:
        return len(self.units)

    def __repr__(self) -> str:
        lines = (
            self.summary_lines()
            if len(self.units)
            else [f"0 units ({self.source} path)"]
        )
        lines += self.weights_lines()
        return "<VegetationResult " + "\n ".join(lines) + ">"

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

    def _repr_html_(self) -> str:
        import html

        head = "<br>".join(
            html.escape(x)
            for x in (self.summary_lines() if len(self.units) else ["no units"])
        )
        cols = [
            c
            for c in (
                "units",
                "area",
                "built_share",
                "vegetation_share",
                "pleine_terre_share",
                "green_roof_area",
                "biotope_coefficient",
                "failing",
            )
            if c in self.summary()
        ]
        tab = self.summary()[cols].to_html(float_format=lambda v: f"{v:,.2f}")
        return f"<div><b>VegetationResult</b><br>{head}{tab}<b>CBS weights</b>{self.weights.to_html()}</div>"


_DERIVED = set(SHARE_COLUMNS) | {
    "weighted_area",
    "biotope_coefficient",
    "compliant",
    "what_would_it_take",
    "depave_m2",
    "green_roof_needed_m2",
    *RULES,
    *_STATUS.values(),
    *_MISSING.values(),
}


def _fails(status: pd.Series) -> np.ndarray:
    """True where a nullable-bool status is False (NA is not a failure)."""
    return ~status.fillna(True).to_numpy(dtype=bool)


def _import_optional():
    from ._compat import import_optional

    return import_optional


for _obj in (VegetationResult, weighted_surface):
    _obj.__module__ = "cimcity.vegetation"
del _obj
