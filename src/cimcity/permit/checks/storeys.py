"""Storey and floor-area checks (PLU articles 10 and 14): number of storeys
above ground and floor area ratio, from the model's storeys (quantity sets,
else horizontal sections of the model). Both can be checked on a model that is
not placed, once the parcels of the application are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from .._geometry import _section_area
from .context import status
from .messages import msg
from .registry import register

#: IFC classes that make a storey a real level (not a datum line)
LEVEL_CLASSES = (
    "IfcSpace",
    "IfcWall",
    "IfcWallStandardCase",
    "IfcSlab",
    "IfcColumn",
    "IfcCurtainWall",
    "IfcBuildingElementProxy",
)


def storeys_above_ground(ctx):
    """(storeys table, text naming the ground) of the real levels whose middle
    is above the ground; (None, reason) without storeys."""
    S = ctx.bim.storeys
    if S is None or not len(S) or "elevation" not in S.columns:
        return None, "the model has no storeys"
    S = S.copy()
    h = pd.to_numeric(
        S.get("height", pd.Series(np.nan, index=S.index)), errors="coerce"
    )
    S["height"] = h.fillna(3.0)
    if ctx.ground_v is not None:
        ground = float(
            np.min(
                ctx.scene.terrain.sample(
                    *shapely.get_coordinates(
                        shapely.segmentize(ctx.footprint.boundary, 1.0)
                    ).T
                )
            )
        )
        gtxt = "natural ground"
    else:
        ground = float(ctx.bim.base_z)
        gtxt = "the project's base"
    above = (S["elevation"] + 0.5 * S["height"]) >= ground - 1e-6
    E = ctx.bim.elements
    level = np.ones(len(S), bool)
    if (
        E is not None
        and len(E)
        and {"storey", "ifc_class"} <= set(E.columns)
        and ctx.bim.schema != "massing"
    ):
        keys = set(E.loc[E["ifc_class"].isin(LEVEL_CLASSES), "storey"].astype(str))
        ids = S.get("global_id", pd.Series(None, index=S.index)).astype(str)
        names = S.get("name", pd.Series(None, index=S.index)).astype(str)
        level = (ids.isin(keys) | names.isin(keys)).to_numpy()
        if not level.any():
            level[:] = True
    keep = S[above.to_numpy() & level]
    return keep, gtxt


@register("max_storeys", needs_placement=False)
def max_storeys(ctx, rule):
    """Storeys above ground ≤ ``value``."""
    S, gtxt = storeys_above_ground(ctx)
    if S is None:
        ctx.add(
            rule.name, "not_checkable", explanation=msg("storeys_none", why=gtxt)
        )
        return
    n = len(S)
    st = status(n, rule.value, tol=0.0)
    names = ", ".join(map(str, S.get("name", pd.Series(dtype=str)).tolist()))
    ctx.add(
        rule.name,
        st,
        n,
        rule.value,
        "storeys",
        S["global_id"].tolist() if "global_id" in S.columns else [],
        msg("storeys", n=n, ground=gtxt, names=names, limit=rule.value),
    )


@register("max_floor_area_ratio", needs_placement=False)
def max_floor_area_ratio(ctx, rule):
    """Gross floor area of the storeys above ground / land area ≤ ``value``."""
    S, gtxt = storeys_above_ground(ctx)
    if S is None:
        ctx.add(
            rule.name,
            "not_checkable",
            explanation=msg("far_none", why=gtxt),
        )
        return
    gfa, how = _floor_areas(ctx, S)
    if not np.isfinite(gfa).all():
        ctx.add(
            rule.name,
            "not_checkable",
            explanation=msg("far_no_gfa"),
        )
        return
    total = float(gfa.sum())
    la = float(ctx.land.area)
    r = total / la
    st = status(r, rule.value, tol=ctx.tol["ratio"])
    ctx.add(
        rule.name,
        st,
        r,
        rule.value,
        "ratio",
        S["global_id"].tolist() if "global_id" in S.columns and st == "fail" else [],
        msg("far", total=total, n=len(S), how=how, la=la, r=r, limit=float(rule.value)),
    )


def _floor_areas(ctx, S):
    """Gross floor area per storey [m²] (quantity sets, else a horizontal
    section 1.2 m above the floor) and a text naming the source."""
    # a copy: under pandas copy-on-write to_numpy() may return a read-only view
    gfa = np.array(
        pd.to_numeric(
            S.get("gross_floor_area", pd.Series(np.nan, index=S.index)),
            errors="coerce",
        ),
        dtype=float,
    )
    how = "the storeys' gross floor areas"
    miss = ~(np.isfinite(gfa) & (gfa > 0))
    if miss.any():
        for j in np.flatnonzero(miss):
            z = float(S["elevation"].iloc[j]) + min(
                1.2, 0.5 * float(S["height"].iloc[j])
            )
            gfa[j] = _section_area(ctx.V, ctx.F, z)
        how = (
            "horizontal sections of the model"
            if miss.all()
            else msg("far_how_both")
        )
    return gfa, how
