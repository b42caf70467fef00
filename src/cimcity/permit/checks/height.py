"""Height checks (PLU article 10): maximum height, eave height and NGF ceiling.

Heights are point-wise: each vertex of the model above the natural ground
straight under it (DEM), or an absolute altitude when the rule says ``ngf``.
Without a DEM the height is measured from the project's base and the status is
at best ``maybe``.
"""

from __future__ import annotations

import numpy as np
import shapely

from .._geometry import _top_z
from .context import status
from .messages import msg
from .registry import register


@register("max_height")
def max_height(ctx, rule):
    """Highest point above natural ground (or NGF altitude) ≤ ``value`` [m]."""
    V = ctx.V
    ref = rule.get("reference", "natural_ground")
    if not len(V):
        ctx.add(rule.name, "not_checkable", explanation=msg("no_geometry"))
        return
    if ref == "ngf":
        i = int(np.argmax(V[:, 2]))
        m = V[i, 2]
        st = status(m, rule.value, tol=ctx.tol["length"])
        if st == "fail":
            ctx.violation(rule.name, kind="height", limit=rule.value, reference="ngf")
        ctx.add(
            rule.name,
            st,
            m,
            rule.value,
            "m NGF",
            ctx.elements_at(i),
            msg("height_ngf", m=float(m), limit=float(rule.value)),
            location=f"x={V[i, 0]:.1f}, y={V[i, 1]:.1f}",
        )
        return
    if ctx.no_ground:
        m = ctx.bim.top_z - ctx.bim.base_z
        i = int(np.argmax(V[:, 2]))
        ctx.add(
            rule.name,
            "maybe",
            m,
            rule.value,
            "m",
            ctx.elements_at(i),
            msg(
                "height_no_ground",
                base=float(ctx.bim.base_z),
                m=float(m),
                limit=float(rule.value),
            ),
        )
        return
    h = V[:, 2] - ctx.ground_v
    i = int(np.argmax(h))
    st = status(h[i], rule.value, tol=ctx.tol["length"])
    if st == "fail":
        ctx.violation(rule.name, kind="height", limit=rule.value, reference="ground")
    ctx.add(
        rule.name,
        st,
        h[i],
        rule.value,
        "m",
        ctx.elements_at(i),
        msg(
            "height_over" if st == "fail" else "height_within",
            h=float(h[i]),
            top=float(V[i, 2]),
            ground=float(ctx.ground_v[i]),
            limit=float(rule.value),
        ),
        location=f"x={V[i, 0]:.1f}, y={V[i, 1]:.1f}, z={V[i, 2]:.2f}",
    )


def eave(ctx):
    """(eave altitude [m], x, y, faces, how) of the model, cached on ``ctx``.

    A pitched roof (upward faces between 10° and 80° covering at least a fifth
    of the footprint) gives its lowest edge (the gutter); a flat roof gives the
    top of the facades, just inside the outline.
    """
    if "eave" in ctx.context:
        return ctx.context["eave"]
    V, F = ctx.V, ctx.F
    res = (np.nan, np.nan, np.nan, [], "no geometry")
    if len(F):
        tri = V[F]
        n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        area = np.linalg.norm(n, axis=1) / 2
        nz = np.divide(n[:, 2], 2 * area, out=np.zeros(len(F)), where=area > 0)
        # pitched roof faces: upward, between 10 and 80 degrees
        sloped = (nz > 0.17) & (nz < 0.985) & (area > 0.05)
        fp_area = max(ctx.footprint.area, 1e-9)
        if area[sloped].sum() * 1.0 >= 0.2 * fp_area:
            res = _gutter(tri, area, sloped)
        else:
            res = _facade_top(ctx, tri) or res
    ctx.context["eave"] = res
    return res


def _gutter(tri, area, sloped):
    """The lowest edge of the pitched roof."""
    zmin = tri[:, :, 2].min(axis=1)
    cand = np.flatnonzero(sloped & (area >= 0.02 * area[sloped].max()))
    j = cand[np.argmin(zmin[cand])]
    k = int(np.argmin(tri[j, :, 2]))
    return (
        float(zmin[j]),
        float(tri[j, k, 0]),
        float(tri[j, k, 1]),
        [j],
        "lowest edge of the pitched roof",
    )


def _facade_top(ctx, tri):
    """Top of the facades just inside the outline (flat roofs); None if none."""
    V, F = ctx.V, ctx.F
    inset = ctx.footprint.buffer(-0.2)
    if inset.is_empty:
        inset = ctx.footprint
    pts = shapely.get_coordinates(shapely.segmentize(inset.boundary, 0.5))
    top = _top_z(tri, pts)
    if not np.isfinite(top).any():
        return None
    i = int(np.nanargmax(top))
    d = np.hypot(V[:, 0] - pts[i, 0], V[:, 1] - pts[i, 1])
    near = np.flatnonzero(np.abs(V[:, 2] - top[i]) < 0.01)
    faces = []
    if len(near):
        v = near[np.argmin(d[near])]
        faces = np.flatnonzero((F == v).any(axis=1)).tolist()
    return (
        float(top[i]),
        float(pts[i, 0]),
        float(pts[i, 1]),
        faces,
        "top of the facades (flat roof)",
    )


@register("max_eave_height")
def max_eave_height(ctx, rule):
    """Eave (gutter or facade top) above natural ground ≤ ``value`` [m]."""
    ez, x, y, faces, how = eave(ctx)
    if not np.isfinite(ez):
        ctx.add(rule.name, "not_checkable", explanation=msg("eave_none", how=how))
        return
    if rule.get("reference") == "ngf":
        st = status(ez, rule.value, tol=ctx.tol["length"])
        if st == "fail":
            ctx.violation(rule.name, kind="faces", faces=list(faces))
        ctx.add(
            rule.name,
            st,
            ez,
            rule.value,
            "m NGF",
            ctx.elements_of_faces(faces),
            msg("eave_ngf", how=how, ez=float(ez)),
            location=f"x={x:.1f}, y={y:.1f}",
        )
        return
    if ctx.no_ground:
        m = ez - ctx.bim.base_z
        ctx.add(
            rule.name,
            "maybe",
            m,
            rule.value,
            "m",
            ctx.elements_of_faces(faces),
            msg("eave_no_ground", how=how, m=float(m), limit=float(rule.value)),
        )
        return
    g = float(ctx.scene.terrain.sample([x], [y])[0])
    h = ez - g
    st = status(h, rule.value, tol=ctx.tol["length"])
    if st == "fail":
        ctx.violation(rule.name, kind="faces", faces=list(faces))
    ctx.add(
        rule.name,
        st,
        h,
        rule.value,
        "m",
        ctx.elements_of_faces(faces),
        msg(
            "eave_ground",
            how=how,
            h=float(h),
            facade=ctx.facade_name(x, y),
            limit=float(rule.value),
        ),
        location=f"x={x:.1f}, y={y:.1f}, z={ez:.2f}",
    )


@register("max_altitude")
def max_altitude(ctx, rule):
    """Highest point's absolute altitude ≤ ``value`` [m, vertical datum]."""
    V = ctx.V
    if not len(V):
        ctx.add(rule.name, "not_checkable", explanation=msg("no_geometry"))
        return
    i = int(np.argmax(V[:, 2]))
    m = V[i, 2]
    st = status(m, rule.value, tol=ctx.tol["length"])
    if st == "fail":
        ctx.violation(rule.name, kind="height", limit=rule.value, reference="ngf")
    datum = getattr(ctx.scene, "vertical_datum", "NGF")
    ctx.add(
        rule.name,
        st,
        m,
        rule.value,
        "m NGF",
        ctx.elements_at(i),
        msg("altitude", m=float(m), datum=datum, limit=float(rule.value)),
        location=f"x={V[i, 0]:.1f}, y={V[i, 1]:.1f}",
    )
