"""Neighbour impact of a project: sun hours lost on neighbouring facades and
open spaces on reference dates (informative row of a permit report)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import shadow
from .._compat import renamed_arguments

#: time step of the sun-hours traces [pandas offset]
IMPACT_STEP = "15min"
#: sensor spacing on facades and open ground [m]
IMPACT_SPACING = 2.0
#: mean losses below this are not reported [h]
MIN_LOSS = 0.05


def _receivers(points: pd.DataFrame, own_parcels) -> pd.DataFrame:
    """Area-weighted sun hours per date and receiver: each neighbouring facade
    (building × orientation) and the open ground of each neighbouring parcel.

    Facade points the project now covers (a new party wall against a blind
    gable) are left out: they had no window to lose sun through.
    """
    P = points[~points["covered"].astype(bool)]
    walls = P[P["kind"] == "wall"].assign(
        receiver=lambda d: (
            "building "
            + d["building_id"].astype(str)
            + ", "
            + d["orientation"].fillna("?").astype(str)
            + " facade"
        )
    )
    ground = P[
        (P["kind"] == "ground")
        & P["parcel_id"].notna()
        & ~P["parcel_id"].isin(list(own_parcels))
    ]
    ground = ground.assign(
        receiver="open space of parcel " + ground["parcel_id"].astype(str)
    )
    both = pd.concat([walls, ground], ignore_index=True)
    if not len(both):
        return pd.DataFrame(
            columns=[
                "date",
                "receiver",
                "area_m2",
                "before_h",
                "after_h",
                "lost_h",
                "worst_point_lost_h",
                "area_losing_m2",
            ]
        )
    both = both.assign(
        ab=both["before"] * both["area"],
        aa=both["after"] * both["area"],
        al=np.where(both["delta"] < 0, both["area"], 0.0),
    )
    g = both.groupby(["date", "receiver"], sort=False)
    out = g.agg(
        area_m2=("area", "sum"),
        ab=("ab", "sum"),
        aa=("aa", "sum"),
        worst=("delta", "min"),
        area_losing_m2=("al", "sum"),
    ).reset_index()
    out["before_h"] = out.pop("ab") / out["area_m2"]
    out["after_h"] = out.pop("aa") / out["area_m2"]
    out["lost_h"] = out["before_h"] - out["after_h"]
    out["worst_point_lost_h"] = -out.pop("worst").clip(upper=0.0)
    out = out[
        [
            "date",
            "receiver",
            "area_m2",
            "before_h",
            "after_h",
            "lost_h",
            "worst_point_lost_h",
            "area_losing_m2",
        ]
    ]
    return out.sort_values("lost_h", ascending=False).reset_index(drop=True)


@renamed_arguments(terrain="land", dates="when")
def neighbour_impact(bim, scene, land, when, parcels=None):
    """Sun-hours lost by the neighbours of ``bim`` (via :func:`cimcity.shadow.impact`).

    Parameters
    ----------
    bim : BimModel
    scene : Scene
        The "before" state; the "after" state is ``scene.with_project(bim)``.
    land : shapely geometry
        The project's land (its own open ground is not a neighbour).
    when : sequence of dates
        Reference days (``terrain=`` and ``dates=`` are the old names of
        ``land`` and ``when``).
    parcels : list, optional
        The project's parcel ids.

    Returns
    -------
    dict
        ``status`` (``pass`` when nobody loses sun, else ``maybe``: the PLU sets
        no limit, the instructor weighs it), ``measured`` (largest mean loss of
        a facade or open space [h]), ``explanation``, ``subject``, ``table``
        (receivers losing sun, worst first: ``date``, ``receiver``, ``area_m2``,
        ``before_h``, ``after_h``, ``lost_h``, ``worst_point_lost_h``,
        ``area_losing_m2``) and ``result`` (:class:`cimcity.shadow.ImpactResult`).
    """
    after = scene.with_project(bim, parcels=parcels or None)
    h = float(bim.top_z - bim.base_z)
    # winter shadows reach about 3 H in Paris (sun at 18° at noon on 21 December)
    radius = float(np.clip(3.0 * h, 30.0, 120.0))
    # the days go positionally after (before, after): the time argument of
    # shadow.impact, whatever its keyword is called
    res = shadow.impact(
        scene,
        after,
        list(when),
        step=IMPACT_STEP,
        spacing=IMPACT_SPACING,
        surfaces=("ground", "wall"),
        radius=radius,
    )
    rec = _receivers(res.points, parcels or [])
    table = rec[rec["lost_h"] >= MIN_LOSS].reset_index(drop=True)
    days = ", ".join(str(pd.Timestamp(d).date()) for d in res.dates)
    base = dict(result=res, after=after, land=land, radius=radius)
    if not len(table):
        return dict(
            base,
            status="pass",
            measured=0.0,
            subject="neighbours",
            table=None,
            explanation=f"No neighbouring facade or open space within {radius:.0f} m "
            f"loses sun on {days} (informative).",
        )
    top = table.iloc[0]
    n_fac = int(
        table.loc[table["receiver"].str.contains("facade"), "receiver"].nunique()
    )
    n_open = int(table["receiver"].nunique()) - n_fac
    expl = (
        f"Informative (no PLU limit): the {top['receiver']} loses {top['lost_h']:.2f} h "
        f"of sun on {top['date']} (mean over {top['area_m2']:.0f} m², from "
        f"{top['before_h']:.2f} to {top['after_h']:.2f} h); {n_fac} facade(s) and "
        f"{n_open} open space(s) lose sun on {days}."
    )
    return dict(
        base,
        status="maybe",
        measured=float(top["lost_h"]),
        explanation=expl,
        subject=str(top["receiver"]),
        table=table,
    )
