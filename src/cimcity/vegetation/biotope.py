"""The biotope coefficient (CBS), the PLU vegetation minima and compliance.

From the measured areas of each unit (:mod:`cimcity.vegetation.cover`): the shares, the CBS
weights of its zone (rule pack, else :data:`DEFAULT_BIOTOPE_WEIGHTS`, then the
user's), the weighted surface and coefficient, the zone's minima, compliance
columns and "what would it take" for the failing units. Nothing here touches
geometry, so it also serves re-weighting a result without recomputing areas.

References
----------
Becker, G., Mohren, R. (1990). Der Biotopflächenfaktor als ökologischer
Kennwert. Senatsverwaltung für Stadtentwicklung und Umweltschutz, Berlin.
Ville de Paris (2024). Plan local d'urbanisme bioclimatique, règlement,
article UG.13.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputError, RuleError

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
    applies = np.zeros(len(U), bool)
    unknown = np.zeros(len(U), bool)
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
        value = U[measured].to_numpy(float)
        rule_applies = np.isfinite(lim)
        # a rule on an unknown quantity (missing layer) is not checkable: NA
        checkable = rule_applies & np.isfinite(value)
        with np.errstate(invalid="ignore"):
            ok = value >= lim - 1e-9
        st = pd.array(ok & checkable, dtype="boolean")
        st[~checkable] = pd.NA
        U[_STATUS[name]] = st
        status_cols.append(_STATUS[name])
        applies |= rule_applies
        unknown |= rule_applies & ~checkable
        need = np.clip(lim * denom - U[area_col].to_numpy(float), 0.0, None)
        U[_MISSING[name]] = np.where(checkable, need, np.nan)
    if not status_cols:
        return U, wt
    S = U[status_cols]
    fails = (~S.fillna(True).to_numpy(dtype=bool)).any(axis=1)
    # compliant: False on any failure, True only when every rule that applies
    # was checked and passed, NA otherwise (no rule, or a rule not checkable)
    comp = pd.array(~fails, dtype="boolean")
    comp[~applies | (unknown & ~fails)] = pd.NA
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


#: columns added by :func:`_apply_weights_and_rules` (dropped before re-weighting)
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
