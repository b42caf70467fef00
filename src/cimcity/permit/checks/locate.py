"""Locating a project before its rules are checked: georeference, land, zone,
rules and the classified limits of the land.

Each step appends a ``not_checkable`` (or ``maybe``) row saying what is missing
when it cannot go on; :func:`locate` returns False when no rule can run.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from ...errors import InputError
from ..limits import classify_limits
from ..placement import check_placement
from .context import CORE_RULES
from .messages import msg

#: neighbouring parcels within this distance of the land are kept for the
#: classification of its limits [m]
NEIGHBOUR_SEARCH = 50.0


def locate(ctx) -> bool:
    """Georeference rows, land, zone, rules and limits of the project.

    Returns False when nothing further can run (the reason is in a row).
    """
    ctx.context["placed"] = ctx.placed
    ctx.context["located"] = False
    georeference_rows(ctx)
    if not find_land(ctx):
        return False
    if not find_zone(ctx):
        return False
    if not find_rules(ctx):
        return False
    classify_land_limits(ctx)
    ctx.context["located"] = True
    core = [r for rules in CORE_RULES.values() for r in rules]
    ctx.context["core_rules"] = [r for r in core if ctx.zone_rules.get(r) is not None]
    return True


def georeference_rows(ctx) -> None:
    """A row when the model is not placed, or placed approximately."""
    bim = ctx.bim
    if not ctx.placed:
        why = (bim.georef or {}).get("reason")
        ctx.add(
            "georeference",
            "not_checkable",
            article="—",
            explanation=msg("georef_none", why=why or msg("georef_default_why")),
        )
    if ctx.placed and bim.georef.get("approximate"):
        ctx.add(
            "georeference",
            "maybe",
            article="—",
            explanation=msg("georef_approx", method=str(bim.georef.get("method"))),
        )


def find_land(ctx) -> bool:
    """The land of the application: the given parcels, else those under the
    placed footprint (:meth:`Scene.project_parcels`).

    A placed project is first checked to stand on them and on its ground
    (:func:`cimcity.permit.placement.check_placement`, which raises
    :class:`~cimcity.errors.GeoreferenceError` otherwise)."""
    P = ctx.scene.parcels
    req = ctx.requested_parcels
    if req is not None:
        if isinstance(req, gpd.GeoDataFrame | gpd.GeoSeries):
            geoms = list(
                req.geometry.values if isinstance(req, gpd.GeoDataFrame) else req.values
            )
            ctx.parcel_ids = [str(i) for i in req.index]
        elif isinstance(req, shapely.Geometry):
            geoms, ctx.parcel_ids = [req], ["(given)"]
        else:
            ids = [req] if isinstance(req, str) else list(req)
            missing = [i for i in ids if i not in P.index]
            if missing:
                raise InputError(
                    f"parcel id(s) {missing} are not in the scene's parcels "
                    f"(e.g. {list(P.index[:3])}); give ids of scene.parcels"
                )
            geoms = list(P.geometry.loc[ids].values)
            ctx.parcel_ids = ids
        ctx.land = shapely.union_all(geoms)
        if ctx.placed:
            ctx.context["placement"] = check_placement(ctx.bim, ctx.scene, ctx.land)
        return True
    if not ctx.placed:
        ctx.add(
            "zone",
            "not_checkable",
            article="—",
            explanation=msg("zone_unplaced"),
        )
        return False
    # refuses a project that stands on no parcel (or off its ground)
    ctx.context["placement"] = check_placement(ctx.bim, ctx.scene)
    ctx.parcel_ids = ctx.scene.project_parcels(ctx.footprint)
    if not ctx.parcel_ids:
        c = ctx.footprint.centroid
        far = ""
        if len(P):
            d = float(shapely.distance(P.geometry.values, c).min())
            far = msg("land_nearest", d=d)
        ctx.add(
            "land",
            "not_checkable",
            article="—",
            explanation=msg("land_none", x=float(c.x), y=float(c.y), far=far),
        )
        return False
    ctx.land = shapely.union_all(P.geometry.loc[ctx.parcel_ids].values)
    return True


def find_zone(ctx) -> bool:
    """The PLU zone under most of the footprint (of the land when unplaced)."""
    Z = ctx.scene.zones
    if not len(Z) or "libelle" not in Z.columns:
        ctx.add(
            "zone",
            "not_checkable",
            article="—",
            explanation=msg("zone_none"),
        )
        return False
    base = ctx.footprint if ctx.placed else ctx.land
    inter = shapely.area(shapely.intersection(Z.geometry.values, base))
    if not (inter > 0).any():
        inter = shapely.area(shapely.intersection(Z.geometry.values, ctx.land))
    if not (inter > 0).any():
        ctx.add(
            "zone",
            "not_checkable",
            article="—",
            explanation=msg("zone_outside"),
        )
        return False
    order = np.argsort(-inter)
    ctx.zone = str(Z["libelle"].iloc[order[0]])
    ctx.zone_id = Z.index[order[0]]
    others = [
        (str(Z["libelle"].iloc[i]), inter[i]) for i in order[1:] if inter[i] > 1.0
    ]
    ctx.context["zones"] = [(ctx.zone, float(inter[order[0]]))] + others
    ctx.other_zones = others
    return True


def find_rules(ctx) -> bool:
    """The zone's rules in the pack; a ``maybe`` row when the project also
    stands in other zones."""
    if ctx.pack is None:
        ctx.add(
            "rules",
            "not_checkable",
            article="—",
            explanation=msg("rules_none"),
        )
        return False
    ctx.zone_rules = ctx.pack.for_zone(ctx.zone)
    if ctx.zone_rules is None:
        ctx.add(
            "rules",
            "not_checkable",
            article="—",
            explanation=msg(
                "rules_zone",
                zone=ctx.zone,
                pack=getattr(ctx.pack, "name", "?"),
                zones=", ".join(map(str, ctx.pack.zones)) or msg("no_zone"),
            ),
        )
        return False
    others = ctx.other_zones
    if others and ctx.placed:
        txt = ", ".join(f"{lib} ({a:.0f} m²)" for lib, a in others)
        ctx.add(
            "zone",
            "maybe",
            article="—",
            explanation=msg("zone_multi", zones=txt, zone=ctx.zone),
        )
    return True


def classify_land_limits(ctx) -> None:
    """Street, side and rear limits of the land, and the direction of the main
    street (for the 3D views)."""
    scene = ctx.scene
    P = scene.parcels
    nb = P.geometry.values[~P.index.isin(ctx.parcel_ids)] if len(P) else []
    nb = [g for g in nb if shapely.distance(g, ctx.land) < NEIGHBOUR_SEARCH]
    roads = scene.layers.get("roads")
    ctx.limits = classify_limits(ctx.land, nb, roads)
    ctx.limits.crs = scene.crs
    streets = ctx.limits[ctx.limits["kind"] == "street"]
    if len(streets):
        # direction from the project toward its main street (for the 3D views)
        main = streets.geometry.iloc[int(np.argmax(streets.length.to_numpy()))]
        c = ctx.footprint.centroid
        q = main.interpolate(main.project(c))
        dx, dy = q.x - c.x, q.y - c.y
        n = float(np.hypot(dx, dy)) or 1.0
        ctx.context["street_dir"] = (dx / n, dy / n)
