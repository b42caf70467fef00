"""The neighbour impact row: sun hours lost by the neighbours (informative, no
PLU limit). The measure itself is :func:`cimcity.permit.impact.neighbour_impact`."""

from __future__ import annotations

import warnings

import numpy as np

from ...errors import CimcityError, DataQualityWarning
from ..impact import FrameMismatch, neighbour_impact


def neighbour_sun_hours(ctx) -> None:
    """Append the ``neighbour_sun_hours`` row and keep the impact table on
    ``ctx.impact``: ``maybe`` when a neighbour loses sun, ``pass`` when none
    does (only with a buildings layer), ``not_checkable`` with the reason when
    the neighbours' facades are unknown (no buildings layer) or the project
    and its neighbours stand in different vertical frames."""
    try:
        res = neighbour_impact(
            ctx.bim, ctx.scene, ctx.land, ctx.dates, parcels=ctx.parcel_ids
        )
    except FrameMismatch as exc:
        warnings.warn(
            f"permit neighbour impact: {exc}", DataQualityWarning, stacklevel=4
        )
        ctx.add(
            "neighbour_sun_hours",
            "not_checkable",
            article="informative",
            explanation=f"Not computed: {exc}.",
        )
        return
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
