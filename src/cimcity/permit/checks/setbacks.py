"""Setback checks (PLU articles 6 and 7): position on the street, and the
prospect rule ``D >= max(k·H, d_min)`` to the side and rear limits.

Every point of the building is checked at its own height above natural ground;
the worst point names the facade and the IFC elements. A building closer than
the ``on_limit`` tolerance to a limit is "built on the limit", allowed or not by
the rule; one that crosses a limit fails by the depth it reaches beyond it.
"""

from __future__ import annotations

import numpy as np
import shapely
import shapely.ops

from .context import status
from .messages import msg
from .registry import register


@register("street_setback")
def street_setback(ctx, rule):
    """Alignment on the street (within ``tolerance``) or a ``min`` setback [m],
    one row per street limit."""
    streets = ctx.limits_of("street")
    if not len(streets):
        ctx.add(
            rule.name,
            "not_checkable",
            explanation=msg("street_none"),
        )
        return
    align = bool(rule.get("alignment"))
    tol = float(rule.get("tolerance") or 0.0)
    dmin = float(rule.get("min") or 0.0)
    for _, s in streets.iterrows():
        line = s.geometry
        d = float(ctx.footprint.distance(line))
        a, b = shapely.ops.nearest_points(ctx.footprint, line)
        loc = f"x={a.x:.1f}, y={a.y:.1f}"
        els = ctx.elements_at(ctx.nearest_vertices(a.x, a.y))
        facade = ctx.facade_name(a.x, a.y, toward=(b.x, b.y))
        if d > ctx.tol["on_limit"]:
            ctx.mark(
                a.x,
                a.y,
                line,
                msg("mark_distance", d=d),
                "pass" if (d <= tol if align else d >= dmin) else "fail",
            )
        if align:
            st = status(d, tol, tol=ctx.tol["length"])
            txt = msg("street_align", facade=facade, d=d, street=s["name"], tol=tol)
            limit = tol
        else:
            st = status(d, dmin, "min", tol=ctx.tol["length"])
            txt = msg("street_min", facade=facade, d=d, street=s["name"], dmin=dmin)
            limit = dmin
        if st == "fail" and align:
            # the facade that should stand on the alignment: the footprint edge
            # nearest the street (the whole facade, to 0.3 m in plan)
            ctx.violation(
                rule.name,
                s["name"],
                kind="near",
                line=_facade_edge(ctx, a, line),
                d=0.3,
            )
        elif st == "fail":  # what stands closer to the street than the minimum
            ctx.violation(rule.name, s["name"], kind="near", line=line, d=dmin)
        ctx.add(rule.name, st, d, limit, "m", els, txt, subject=s["name"], location=loc)


def _facade_edge(ctx, a, line):
    """The footprint edge through ``a`` (the point nearest the street) that
    lies closest to the street ``line``."""
    best, best_d = None, np.inf
    for poly in shapely.get_parts(ctx.footprint):
        c = shapely.get_coordinates(poly.exterior)
        for p, q in zip(c[:-1], c[1:], strict=True):
            seg = shapely.LineString([p, q])
            if seg.length < 1e-6 or seg.distance(a) > 0.05:
                continue
            d = seg.interpolate(0.5, normalized=True).distance(line)
            if d < best_d:
                best, best_d = seg, d
    return best if best is not None else shapely.Point(a.x, a.y)


@register("side_setback", "rear_setback")
def limit_setback(ctx, rule):
    """Prospect ``D >= max(k·H, d_min)`` to each side (or rear) limit [m]."""
    kind = "side" if rule.name == "side_setback" else "rear"
    lims = ctx.limits_of(kind)
    if not len(lims):
        ctx.add(
            rule.name,
            "not_checkable",
            subject=f"{kind} limit",
            explanation=msg(f"{kind}_none"),
        )
        return
    k = float(rule.get("k") or 0.0)
    dmin = float(rule.get("d_min") or 0.0)
    on_ok = bool(rule.get("allow_on_limit"))
    ctx.context[f"{kind}_rule"] = dict(k=k, d_min=dmin, allow_on_limit=on_ok)
    outside = shapely.difference(ctx.footprint, ctx.land)
    for _, lim in lims.iterrows():
        line, subj = lim.geometry, lim["name"]
        if _crossing(ctx, rule, line, subj, outside, dmin, on_ok):
            continue
        if _on_limit(ctx, rule, line, subj, k, dmin, on_ok):
            continue
        _prospect(ctx, rule, line, subj, k, dmin)


def _crossing(ctx, rule, line, subj, outside, dmin, on_ok) -> bool:
    """Fail row when footprint points beyond the land have this limit as their
    nearest land edge (slivers of a few mm are ignored); True if it wrote one."""
    depth, far = 0.0, None
    if outside.area > 0.05:
        pts = shapely.get_coordinates(outside)
        pp = shapely.points(pts)
        d_t = shapely.distance(pp, ctx.land)
        d_l = shapely.distance(pp, line)
        mine = (d_t > ctx.tol["on_limit"]) & (d_l <= d_t + 0.05)
        if mine.any():
            k_ = int(np.argmax(np.where(mine, d_t, -1.0)))
            depth, far = float(d_t[k_]), pts[k_]
    if far is None:
        return False
    i = ctx.nearest_vertices(*far)
    q = line.interpolate(line.project(shapely.Point(*far)))
    facade = ctx.facade_name(far[0], far[1])
    ctx.mark(far[0], far[1], line, msg("mark_cross", depth=depth), "fail")
    ctx.violation(rule.name, subj, kind="outside", land=ctx.land)
    ctx.add(
        rule.name,
        "fail",
        -depth,
        dmin if not on_ok else 0.0,
        "m",
        ctx.elements_at(i),
        msg("crossing", facade=facade, limit=subj, depth=depth),
        subject=subj,
        location=f"x={far[0]:.1f}, y={far[1]:.1f} (limit at x={q.x:.1f}, y={q.y:.1f})",
    )
    return True


def _on_limit(ctx, rule, line, subj, k, dmin, on_ok) -> bool:
    """Row for a building built on the limit, allowed or not; True if it wrote one."""
    dist_fp = float(ctx.footprint.distance(line))
    if dist_fp > ctx.tol["on_limit"]:
        return False
    touch = shapely.intersection(ctx.footprint.buffer(ctx.tol["on_limit"]), line)
    i = ctx.nearest_vertices(
        *shapely.ops.nearest_points(ctx.footprint, line)[0].coords[0]
    )
    if on_ok:
        ctx.add(
            rule.name,
            "pass",
            dist_fp,
            0.0,
            "m",
            ctx.elements_at(i),
            msg("on_limit_ok", limit=subj, length=float(touch.length)),
            subject=subj,
        )
    else:
        ctx.violation(rule.name, subj, kind="prospect", line=line, k=k, dmin=dmin)
        ctx.add(
            rule.name,
            "fail",
            dist_fp,
            max(dmin, 0.0),
            "m",
            ctx.elements_at(i),
            msg("on_limit_ko", limit=subj, length=float(touch.length), k=k, dmin=dmin),
            subject=subj,
        )
    return True


def _prospect(ctx, rule, line, subj, k, dmin) -> None:
    """The worst point of the building against ``max(k·H, d_min)``."""
    V = ctx.V
    if not len(V):
        ctx.add(
            rule.name,
            "not_checkable",
            explanation=msg("no_geometry"),
            subject=subj,
        )
        return
    dist = shapely.distance(shapely.points(V[:, :2]), line)
    if ctx.no_ground:
        h = V[:, 2] - ctx.bim.base_z
    else:
        h = V[:, 2] - ctx.ground_v
    req = np.maximum(k * np.maximum(h, 0.0), dmin)
    margin = dist - req
    i = int(np.argmin(margin))
    st = status(dist[i], req[i], "min", tol=ctx.tol["length"])
    if ctx.no_ground and st == "pass":
        st = "maybe"
    q = line.interpolate(line.project(shapely.Point(V[i, 0], V[i, 1])))
    facade = ctx.facade_name(V[i, 0], V[i, 1], toward=(q.x, q.y))
    txt = msg(
        "prospect",
        facade=facade,
        h=float(h[i]),
        dist=float(dist[i]),
        limit=subj,
        k=k,
        dmin=dmin,
        req=float(req[i]),
    )
    if ctx.no_ground:
        txt = txt + msg("prospect_no_ground")
    sign = "≥" if dist[i] >= req[i] else "<"
    if st == "fail":
        ctx.violation(rule.name, subj, kind="prospect", line=line, k=k, dmin=dmin)
    ctx.mark(
        V[i, 0],
        V[i, 1],
        line,
        msg("mark_prospect", d=float(dist[i]), sign=sign, req=float(req[i])),
        st,
    )
    ctx.add(
        rule.name,
        st,
        dist[i],
        req[i],
        "m",
        ctx.elements_at(i),
        txt,
        subject=subj,
        location=f"x={V[i, 0]:.1f}, y={V[i, 1]:.1f}, z={V[i, 2]:.2f}",
    )
