"""Open space and green checks (PLU article 13, *espaces libres et
plantations*): open-space share, pleine terre, green share and biotope
coefficient.

Surfaces come from a site plan (``site_plan=`` of :func:`cimcity.permit.check`
or the scene layer ``"site_plan"``), else the model's site surfaces, else the
scene's vegetation on the land (assumed kept around the building), measured by
:func:`cimcity.vegetation.cover_areas` and weighted with the pack's biotope
weights.
"""

from __future__ import annotations

import geopandas as gpd
import shapely

from ...errors import InputError
from ...vegetation import cover_areas
from .context import status
from .messages import msg
from .registry import register

#: surface types of the biotope coefficient, as columns ``<type>_area`` of
#: :func:`cimcity.vegetation.cover_areas`
BIOTOPE_SURFACES = (
    "pleine_terre",
    "green_roof_deep",
    "green_roof_shallow",
    "green_wall",
    "permeable_paving",
    "impervious",
)


@register("min_open_space_share")
def min_open_space_share(ctx, rule):
    """(land − footprint) / land ≥ ``value``."""
    la = float(ctx.land.area)
    built = float(shapely.intersection(ctx.footprint, ctx.land).area)
    share = (la - built) / la
    st = status(share, rule.value, "min", tol=ctx.tol["ratio"])
    ctx.add(
        rule.name,
        st,
        share,
        rule.value,
        "ratio",
        [],
        msg("open_space", free=la - built, la=la, share=share, limit=float(rule.value)),
    )


def surfaces(ctx):
    """Surfaces of the land as :func:`cimcity.vegetation.cover_areas` measures
    them (one row: ``pleine_terre_area``, ``green_area``,
    ``green_roof_deep_area``... [m²]) and a text naming the source; (None, None)
    without a site plan or vegetation. Cached on ``ctx``."""
    if "surfaces" in ctx.context:
        return ctx.context["surfaces"]
    plan, src = _site_plan(ctx)
    if plan is not None and len(plan):
        if "kind" not in plan.columns:
            raise InputError(
                "the site plan needs a 'kind' column with surface types "
                f"({', '.join(ctx.pack.weights(ctx.zone))}); got columns "
                f"{list(plan.columns)}"
            )
        veg = plan
    elif len(ctx.scene.vegetation):
        veg = ctx.scene.vegetation
        src = (
            "the scene's vegetation on the land, outside the footprint "
            "(assumed kept by the project; no site plan was given)"
        )
    else:
        ctx.context["surfaces"] = (None, None)
        return ctx.context["surfaces"]
    near = veg[shapely.intersects(veg.geometry.values, ctx.land)]
    # the project is the only building left on its land (Scene.with_project)
    b = gpd.GeoDataFrame(geometry=[ctx.footprint], crs=ctx.scene.crs)
    units = gpd.GeoSeries([ctx.land], crs=ctx.scene.crs)
    areas = cover_areas(units, buildings=b, vegetation=near if len(near) else None)
    ctx.context["surfaces"] = (areas.iloc[0], src)
    return ctx.context["surfaces"]


def _site_plan(ctx):
    """(site plan GeoDataFrame or None, text naming where it comes from)."""
    if ctx.site_plan is not None:
        return ctx.site_plan, "the site plan"
    plan = ctx.scene.layers.get("site_plan")
    if plan is not None:
        return plan, "the scene's 'site_plan' layer"
    plan = (getattr(ctx.bim, "extras", {}) or {}).get("site_surfaces")
    return plan, "the model's site surfaces"


@register("min_pleine_terre_share", "min_green_share", "min_biotope_coefficient")
def green_share(ctx, rule):
    """Pleine terre, green surfaces or the biotope coefficient over the land
    area ≥ ``value``."""
    a, source = surfaces(ctx)
    if a is None:
        ctx.add(
            rule.name,
            "not_checkable",
            explanation=msg("green_none"),
        )
        return
    la = float(ctx.land.area)
    if rule.name == "min_pleine_terre_share":
        v = float(a["pleine_terre_area"])
        m = v / la
        key = "pleine_terre"
    elif rule.name == "min_green_share":
        v = float(a["green_area"])
        m = v / la
        key = "green"
    else:
        w = ctx.pack.weights(ctx.zone)
        parts = {k: float(a[f"{k}_area"]) for k in BIOTOPE_SURFACES}
        v = sum(parts[k] * float(w.get(k, 0.0)) for k in parts)
        m = v / la
        terms = ", ".join(
            f"{k} {x:.0f} m² × {w.get(k, 0.0):g}" for k, x in parts.items() if x > 0
        )
        key = "biotope"
    txt = msg(
        key,
        v=v,
        la=la,
        m=m,
        source=source,
        limit=float(rule.value),
        **(
            {"terms": terms or msg("biotope_nothing")}
            if key == "biotope"
            else {}
        ),
    )
    st = status(m, rule.value, "min", tol=ctx.tol["ratio"])
    ctx.add(rule.name, st, m, rule.value, "ratio", [], txt)
