"""The neighbour impact row: sun hours lost by the neighbours (informative, no
PLU limit). The measure itself is :func:`cimcity.permit.impact.neighbour_impact`."""

from __future__ import annotations

import numpy as np

from ...errors import CimcityError
from ..impact import neighbour_impact


def neighbour_sun_hours(ctx) -> None:
    """Append the ``neighbour_sun_hours`` row (``pass`` when nobody loses sun,
    else ``maybe``) and keep the impact table on ``ctx.impact``."""
    try:
        res = neighbour_impact(
            ctx.bim, ctx.scene, ctx.land, ctx.dates, parcels=ctx.parcel_ids
        )
    except (ImportError, CimcityError) as exc:  # no shadow module / unusable scene
        ctx.add(
            "neighbour_sun_hours",
            "not_checkable",
            article="informative",
            explanation=f"Shadow analysis unavailable ({exc}).",
        )
        return
    ctx.impact = res.get("table")
    ctx.context["impact"] = res
    ctx.add(
        "neighbour_sun_hours",
        res["status"],
        res.get("measured", np.nan),
        np.nan,
        "h",
        [],
        res["explanation"],
        article="informative",
        subject=res.get("subject", "neighbours"),
        location=res.get("location", ""),
    )
