"""The street envelope check (*gabarit-enveloppe*, PLU article 10): a vertical
``H = P + c`` at the alignment (``P`` the street width), then a slope, under a
ceiling, from the street's ground level; the report gives the largest
penetration and where it happens."""

from __future__ import annotations

import numpy as np
import shapely

from .._geometry import envelope_height
from .context import status
from .messages import msg
from .registry import register


@register("envelope")
def envelope(ctx, rule):
    """Every point's height above the street ≤ the envelope of the street whose
    allowed altitude there is lowest [m]."""
    streets = ctx.limits_of("street")
    if not len(streets):
        ctx.add(
            rule.name,
            "not_checkable",
            explanation=msg("env_no_street"),
        )
        return
    known = streets[np.isfinite(streets["street_width"].to_numpy(float))]
    if not len(known):
        ctx.add(
            rule.name,
            "not_checkable",
            explanation=msg("env_no_width"),
        )
        return
    c, slope, ceiling = float(rule["c"]), float(rule["slope"]), rule.get("ceiling")
    allowed, ref, depth, which = _governing_envelope(ctx, known, c, slope, ceiling)
    if not np.isfinite(ref).all():
        ctx.add(
            rule.name,
            "not_checkable",
            explanation=msg("env_no_dem"),
        )
        return
    V = ctx.V
    h = V[:, 2] - ref
    pen = h - allowed
    i = int(np.argmax(pen))
    s = known.iloc[which[i]]
    st = status(h[i], allowed[i], tol=ctx.tol["length"])
    if ctx.scene.terrain is None and st == "pass":
        st = "maybe"
    over = pen > ctx.tol["length"]
    if st == "fail":
        ctx.violation(
            rule.name,
            s["name"],
            kind="envelope",
            streets=[
                (g, float(w))
                for g, w in zip(known.geometry, known["street_width"], strict=True)
            ],
            c=c,
            slope=slope,
            ceiling=ceiling,
        )
    els = ctx.elements_at(np.flatnonzero(over)) if over.any() else ctx.elements_at(i)
    P = float(s["street_width"])
    if pen[i] > 0:
        txt = msg(
            "env_over",
            street=s["name"],
            P=P,
            source=s["width_source"],
            pen=float(pen[i]),
            facade=ctx.facade_name(V[i, 0], V[i, 1]),
            depth=float(depth[i]),
            allowed=float(allowed[i]),
            c=c,
            slope=slope,
            ceiling=msg("env_ceiling", ceiling=float(ceiling))
            if ceiling is not None
            else "",
        )
    else:
        txt = msg(
            "env_fit",
            street=s["name"],
            P=P,
            source=s["width_source"],
            c=c,
            Pc=P + c,
            gap=float(-pen[i]),
            depth=float(depth[i]),
        )
    ctx.context["envelope"] = dict(
        c=c,
        slope=slope,
        ceiling=ceiling,
        penetration=float(pen[i]),
        x=float(V[i, 0]),
        y=float(V[i, 1]),
        z=float(V[i, 2]),
        street=s["name"],
        width=P,
        depth=float(depth[i]),
        ground=float(ref[i]),
    )
    ctx.add(
        rule.name,
        st,
        h[i],
        allowed[i],
        "m",
        els,
        txt,
        subject=s["name"],
        location=f"x={V[i, 0]:.1f}, y={V[i, 1]:.1f}, z={V[i, 2]:.2f}; "
        f"penetration {pen[i]:+.2f} m",
    )


def _governing_envelope(ctx, known, c, slope, ceiling):
    """Per vertex: allowed height [m], street ground level [m], depth behind the
    alignment [m] and index in ``known`` of the street whose allowed altitude is
    lowest (that street's gabarit governs)."""
    V = ctx.V
    pts = shapely.points(V[:, :2])
    allowed = np.full(len(V), np.inf)
    best_z = np.full(len(V), np.inf)
    ref = np.full(len(V), np.nan)
    depth = np.full(len(V), np.nan)
    which = np.full(len(V), -1)
    for j, (_, s) in enumerate(known.iterrows()):
        d = shapely.distance(pts, s.geometry)
        a = envelope_height(d, float(s["street_width"]), c, slope, ceiling)
        if ctx.scene.terrain is not None:
            proj = shapely.line_interpolate_point(
                s.geometry, shapely.line_locate_point(s.geometry, pts)
            )
            xy = shapely.get_coordinates(proj)
            g = ctx.scene.terrain.sample(xy[:, 0], xy[:, 1])
        else:
            g = np.full(len(V), ctx.bim.base_z)
        za = g + a
        better = (za < best_z) | (which < 0)
        best_z = np.where(better, za, best_z)
        allowed = np.where(better, a, allowed)
        ref = np.where(better, g, ref)
        depth = np.where(better, d, depth)
        which = np.where(better, j, which)
    return allowed, ref, depth, which
