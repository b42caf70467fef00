"""Neighbour impact of a project: sun hours lost on neighbouring facades and
open spaces on reference dates (informative row of a permit report).

One vertical frame: the project, the neighbours and the open-ground sensors
must stand on the same ground. With a DEM the ground is the DEM (the project's
base was checked against it by :func:`cimcity.permit.placement.check_placement`).
Without one, the open ground is taken flat at the project's base, provided the
neighbouring buildings' ground altitudes (BDNB ``altitude_sol``, BD TOPO,
CityJSON...) agree with it within :data:`VERTICAL_TOL`; when they do not, or
when the neighbours have no ground altitude at all while the project stands
far above 0, the impact is not computed (:class:`FrameMismatch`, reported
``not_checkable`` with both altitudes). Without a buildings layer the
neighbours' facades are unknown: losses of open ground are still reported, but
"nobody loses sun" is never concluded (``not_checkable``, with a
:class:`~cimcity.errors.DataQualityWarning` naming the layer).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import shapely

from .. import shadow
from .._compat import renamed_arguments
from ..errors import DataQualityWarning, GeoreferenceError
from ..terrain import Terrain

#: time step of the sun-hours traces [pandas offset]
IMPACT_STEP = "15min"
#: sensor spacing on facades and open ground [m]
IMPACT_SPACING = 2.0
#: mean losses below this are not reported [h]
MIN_LOSS = 0.05
#: ground altitudes of the project and its neighbours further apart than this
#: are in different vertical frames [m]
VERTICAL_TOL = 5.0
#: cell of the flat ground laid at the project's base without a DEM [m]
FLAT_GROUND_CELL = 5.0
#: ``ground_source`` values of buildings whose ground altitude is known (data
#: or derived from it), as opposed to ``"default"`` (no altitude: 0)
_KNOWN_GROUND = ("data", "terrain", "nearest")


class FrameMismatch(GeoreferenceError):
    """The project and its neighbours stand in different vertical frames."""


def vertical_frame(bim, scene, radius: float) -> dict:
    """The ground the impact is computed on, or :class:`FrameMismatch`.

    Parameters
    ----------
    bim : BimModel
        The placed project (``base_z`` [m]).
    scene : Scene
        The "before" state.
    radius : float
        Neighbours within this plan distance of the footprint count [m].

    Returns
    -------
    dict
        ``ground`` (``"terrain"`` or ``"project base"``), ``z`` (the flat
        ground altitude [m] without a DEM, else None) and ``note`` (one
        sentence for the report).

    Raises
    ------
    FrameMismatch
        Without a DEM, when the neighbours' known ground altitudes lie more
        than :data:`VERTICAL_TOL` from the project's base, or when neighbours
        without any ground altitude (standing at 0 m) are compared with a
        project whose base is more than that above or below 0.
    """
    if scene.terrain is not None:
        return dict(ground="terrain", z=None, note="")
    base = float(bim.base_z)
    B = scene.buildings
    if len(B):
        near = shapely.distance(B.geometry.values, bim.footprint) <= radius
        B = B[near]
    if len(B):
        gz = B["ground_z"].to_numpy(float)
        src = (
            B["ground_source"].astype(str).to_numpy()
            if "ground_source" in B.columns
            else np.full(len(B), "data")
        )
        known = np.isin(src, _KNOWN_GROUND) & np.isfinite(gz)
        if known.any():
            lo, hi = float(gz[known].min()), float(gz[known].max())
            if base < lo - VERTICAL_TOL or base > hi + VERTICAL_TOL:
                raise FrameMismatch(
                    f"the project's base is at {base:.2f} m while the ground of its "
                    f"{int(known.sum())} neighbouring building(s) within {radius:.0f} m "
                    f"lies between {lo:.2f} and {hi:.2f} m: the shadows would be "
                    f"compared in two vertical frames; add a DEM (--terrain) or "
                    f"place the project at its neighbours' ground altitude"
                )
        elif abs(base) > VERTICAL_TOL:
            raise FrameMismatch(
                f"the {len(B)} neighbouring building(s) within {radius:.0f} m have no "
                f"ground altitude (they stand at 0 m) while the project's base is at "
                f"{base:.2f} m: the shadows would be compared in two vertical "
                f"frames; give the buildings a ground altitude (BDNB altitude_sol, "
                f"BD TOPO) or add a DEM (--terrain)"
            )
    return dict(
        ground="project base",
        z=base,
        note=f"No terrain model: the open ground is taken flat at the project's "
        f"base ({base:.2f} m).",
    )


def _flat_ground(scene, bim, z: float, radius: float):
    """A copy of ``scene`` on flat ground at ``z`` [m] around the project."""
    x0, y0, x1, y1 = bim.footprint.buffer(radius + 4 * FLAT_GROUND_CELL).bounds
    c = FLAT_GROUND_CELL
    nx, ny = max(int(np.ceil((x1 - x0) / c)), 2), max(int(np.ceil((y1 - y0) / c)), 2)
    flat = scene.copy()
    flat.add_terrain(
        Terrain.from_array(np.full((ny, nx), z), (x0, y1), c, crs=scene.crs)
    )
    return flat


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
        ``area_losing_m2``), ``result`` (:class:`cimcity.shadow.ImpactResult`)
        and ``frame`` (see :func:`vertical_frame`).

    Raises
    ------
    FrameMismatch
        When the project and its neighbours stand in different vertical
        frames (see :func:`vertical_frame`).

    Warns
    -----
    DataQualityWarning
        Without a buildings layer (the neighbours' facades are unknown) and
        without a DEM (the ground is taken flat at the project's base).
    """
    h = float(bim.top_z - bim.base_z)
    # winter shadows reach about 3 H in Paris (sun at 18° at noon on 21 December)
    radius = float(np.clip(3.0 * h, 30.0, 120.0))
    frame = vertical_frame(bim, scene, radius)
    no_buildings = not len(scene.buildings)
    if no_buildings:
        warnings.warn(
            "permit neighbour impact: the scene has no buildings layer, so the "
            "neighbours' facades are unknown; only the open ground of the "
            "neighbouring parcels is measured (add buildings, e.g. --buildings)",
            DataQualityWarning,
            stacklevel=4,
        )
    if frame["z"] is not None:
        warnings.warn(
            "permit neighbour impact: no terrain layer; " + frame["note"],
            DataQualityWarning,
            stacklevel=4,
        )
        scene = _flat_ground(scene, bim, frame["z"], radius)
    # only ids the scene knows (a parcels table given to check() may hold others)
    known = [p for p in (parcels or []) if p in scene.parcels.index]
    after = scene.with_project(bim, parcels=known or None)
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
    base = dict(result=res, after=after, land=land, radius=radius, frame=frame)
    note = (" " + frame["note"]) if frame["note"] else ""
    if not len(table) and no_buildings:
        return dict(
            base,
            status="not_checkable",
            measured=np.nan,
            subject="neighbours",
            table=None,
            explanation=f"No buildings layer: the neighbours' facades are unknown. "
            f"The open ground of the neighbouring parcels within {radius:.0f} m "
            f"loses no sun on {days}.{note}",
        )
    if not len(table):
        return dict(
            base,
            status="pass",
            measured=0.0,
            subject="neighbours",
            table=None,
            explanation=f"No neighbouring facade or open space within {radius:.0f} m "
            f"loses sun on {days} (informative).{note}",
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
        + (
            " No buildings layer: the neighbours' facades are unknown."
            if no_buildings
            else ""
        )
        + note
    )
    return dict(
        base,
        status="maybe",
        measured=float(top["lost_h"]),
        explanation=expl,
        subject=str(top["receiver"]),
        table=table,
    )
