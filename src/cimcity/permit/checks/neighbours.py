"""The neighbour impact row: sun hours lost by the neighbours (informative, no
PLU limit). The measure itself is :func:`cimcity.permit.impact.neighbour_impact`."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ... import i18n
from ...errors import CimcityError, DataQualityWarning
from ..impact import FrameMismatch, neighbour_impact
from .messages import MESSAGES, msg


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
            explanation=msg("nb_frame", exc=str(exc)),
        )
        return
    except (ImportError, CimcityError) as exc:  # no shadow module / unusable scene
        ctx.add(
            "neighbour_sun_hours",
            "not_checkable",
            article="informative",
            explanation=msg("nb_unavailable", exc=str(exc)),
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
        _impact_message(res),
        article="informative",
        subject=res.get("subject", "neighbours"),
        location=res.get("location", ""),
    )


class _Dates:
    """The impact's dates as each language writes them ("21 mars 2024")."""

    def __init__(self, dates):
        self.dates = [pd.Timestamp(d) for d in dates]

    def text(self, lang=None):
        code = i18n.resolve(lang)
        days = self.dates
        if code == "en":
            return ", ".join(str(d.date()) for d in days)
        return ", ".join(i18n.format_date(d, code) for d in days)


def _impact_message(res):
    """The impact row's explanation in both languages, from the measure's
    values; the measure's own English text when its shape is not one of the
    three known (then the French report shows the English sentence)."""
    english = str(res.get("explanation", ""))
    result = res.get("result")
    if result is None or "radius" not in res:
        return english
    note = (res.get("frame") or {}).get("note") or ""
    note = (" " + note) if note else ""
    days = _Dates(result.dates)
    radius = float(res["radius"])
    table = res.get("table")
    if res["status"] == "not_checkable":
        m = msg("nb_no_buildings", radius=radius, days=days, note=note)
    elif table is None or not len(table):
        m = msg("nb_none", radius=radius, days=days, note=note)
    else:
        top = table.iloc[0]
        n_fac = int(
            table.loc[table["receiver"].str.contains("facade"), "receiver"].nunique()
        )
        n_open = int(table["receiver"].nunique()) - n_fac
        more = english.endswith(MESSAGES["nb_no_buildings_more"][0] + note)
        m = msg(
            "nb_loss",
            receiver=str(top["receiver"]),
            lost=float(top["lost_h"]),
            date=_Dates([top["date"]]),
            area=float(top["area_m2"]),
            before=float(top["before_h"]),
            after=float(top["after_h"]),
            n_fac=n_fac,
            n_open=n_open,
            days=days,
            more=msg("nb_no_buildings_more") if more else "",
            note=note,
        )
    # the measure's English text stays the table's; French only when ours agrees
    return m if m.text("en") == english else english
