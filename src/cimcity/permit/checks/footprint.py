"""Footprint checks (PLU article 9, *emprise au sol*): the footprint ratio, and
the footprint staying on the land of the application."""

from __future__ import annotations

import shapely

from .context import status
from .messages import msg
from .registry import register


@register("max_footprint_ratio")
def max_footprint_ratio(ctx, rule):
    """Footprint (overhangs included) on the land / land area ≤ ``value``."""
    la = float(ctx.land.area)
    fa = float(shapely.intersection(ctx.footprint, ctx.land).area)
    r = fa / la
    st = status(r, rule.value, tol=ctx.tol["ratio"])
    els = []
    if ctx.face_gid is not None and st == "fail":
        els = [g for g in ctx.face_gid if g is not None]
    if st == "fail":  # a ratio has no place on the model
        ctx.violation(rule.name, kind="none")
    ctx.add(
        rule.name,
        st,
        r,
        rule.value,
        "ratio",
        els,
        msg("footprint_ratio", fa=fa, la=la, r=r, limit=float(rule.value)),
    )


def within_land(ctx) -> None:
    """A ``within_land`` fail row when more than 0.05 m² of the footprint lies
    outside the land of the application (no row otherwise). Not a PLU rule:
    it runs for every placed project."""
    out = shapely.difference(ctx.footprint, ctx.land)
    area = float(out.area)
    if area <= 0.05:
        return
    c = out.centroid
    P = ctx.scene.parcels
    over = (
        [
            str(i)
            for i in P.index[shapely.intersects(P.geometry.values, out)]
            if i not in ctx.parcel_ids
        ]
        if len(P)
        else []
    )
    where = msg("on_parcels", ids=", ".join(over)) if over else msg("on_public")
    ctx.violation("within_land", "project land", kind="outside", land=ctx.land)
    ctx.add(
        "within_land",
        "fail",
        area,
        0.0,
        "m²",
        article="—",
        subject="project land",
        explanation=msg("within_land", area=area, where=where),
        location=f"x={c.x:.1f}, y={c.y:.1f}",
    )
