"""Permit instruction: check a BIM project against the PLU of its parcel.

An instructor receives an IFC with a building-permit application and must know,
article by article, whether the project fits the rules of its zone and what it
does to its neighbours. :func:`check` measures what can be measured on the
georeferenced model, the cadastre, the DEM (terrain) and the rule pack, and
says plainly what it could not check (status ``not_checkable`` with the reason)
instead of guessing.

The project's *land* (the *terrain d'assiette* of the application) is the union
of the parcels it stands on. Its limits are classified from the cadastre:
*street* frontage (edges not shared with another parcel, confirmed by the roads
layer when there is one, and edges with a road of that layer in front of them),
*side* limits (those that reach the street) and the
*rear* limit (those that do not), as French PLUs define them.

Placement is checked first (:mod:`cimcity.permit.placement`): a project that
does not stand on its parcels or on its ground is refused with a
:class:`~cimcity.errors.GeoreferenceError`. A report passes
(``report.passed``, ``report.verdict == "passes"``) only when no rule fails
and the core articles (heights, footprint, setbacks) were all checked;
otherwise it ``fails`` or is ``incomplete`` (no verdict).

Measures (all in the scene CRS, metres):

* heights are point-wise: each vertex of the model above the natural ground
  straight under it (DEM), or as an NGF altitude when the rule says so;
* setbacks use the prospect rule ``D >= max(k·H, d_min)`` for every point of
  the building, ``H`` being that point's own height above natural ground
  (the worst point names the facade and the IFC elements); a building that
  touches a limit is "built on the limit", allowed or not by the rule;
* the street envelope (gabarit) is a vertical ``H = P + c`` at the alignment
  (``P`` the street width, from the roads layer ``largeur`` or measured across
  the street on the cadastre), then a slope, under a ceiling; the report gives
  the largest penetration and where it happens;
* open space, pleine terre, green share and biotope coefficient come from a
  site plan (``site_plan=`` or the scene layer ``"site_plan"``) or from the
  scene's vegetation on the land (kept around the building), weighted with the
  pack's biotope weights;
* storeys and floor area come from the model's storeys (quantity sets, else
  sections of the model);
* the impact on neighbours (sun hours lost on their facades and open spaces on
  reference dates) is informative: status ``maybe`` with the worst facade.

Layout: :mod:`cimcity.permit.model` (massing models, variants), :mod:`cimcity.permit._geometry`,
:mod:`cimcity.permit.limits` (parcel limits), :mod:`cimcity.permit.impact` (neighbour impact),
:mod:`cimcity.permit.checks` (one module per article family behind a rule registry),
:mod:`cimcity.permit.report` (:class:`PermitReport`), :mod:`cimcity.permit.html` and :mod:`cimcity.permit.figures` (the
HTML page and its figures).
"""

from __future__ import annotations

import datetime as _dt
import os

import numpy as np
import pandas as pd

from .._compat import renamed_arguments
from ..crs import as_projected_crs
from ..errors import CRSError, GeoreferenceError, InputError
from ..io.ifc import read_ifc
from ..io.plu import read_rules
from ..scene import Scene
from ..sun.position import as_stamp
from . import checks
from ._geometry import envelope_height
from .checks import (
    COLUMNS,
    DEFAULT_DATES,
    LENGTH_TOL,
    ON_LIMIT_TOL,
    RATIO_TOL,
    CheckContext,
    register,
)
from .limits import CORNER_ANGLE, ROAD_MARGIN, SHARED_TOL, classify_limits
from .model import massing, variant
from .placement import (
    ALTITUDE_TOL,
    MIN_SHARE_ON_LAND,
    check_placement,
    refuse_georeference,
)
from .report import STATUSES, PermitReport

__all__ = [
    "STATUSES",
    "PermitReport",
    "check",
    "classify_limits",
    "envelope_height",
    "massing",
    "variant",
    "read_project",
    "register",
    "LENGTH_TOL",
    "RATIO_TOL",
    "ON_LIMIT_TOL",
    "SHARED_TOL",
    "CORNER_ANGLE",
    "ROAD_MARGIN",
    "DEFAULT_DATES",
    "ALTITUDE_TOL",
    "MIN_SHARE_ON_LAND",
    "check_placement",
]

#: attributes a project model must have
_BIM_ATTRIBUTES = ("mesh", "footprint", "base_z", "top_z", "georef")


@renamed_arguments(site="site_plan", dates="when")
def check(
    bim,
    scene,
    rules=None,
    parcels=None,
    *,
    site_plan=None,
    when=None,
    impact=True,
    tolerances=None,
    placement=None,
) -> PermitReport:
    """Check a BIM project against the PLU rules of the land it stands on.

    Parameters
    ----------
    bim : BimModel or path to an IFC file
        The project, placed in the scene CRS (:func:`cimcity.read_ifc` with a
        georeference or ``placement=``; or :func:`massing`). A model without
        georeference gives ``not_checkable`` rows, never an exception.
    scene : Scene
        Parcels (cadastre), PLU zones (``libelle``), optionally a terrain (DEM,
        for heights above natural ground), buildings (neighbours), vegetation
        and a ``roads`` layer (with ``largeur`` [m]).
    rules : RulePack or path, optional
        PLU rule pack (default ``scene.rules``).
    parcels : list of parcel ids, GeoDataFrame or polygon, optional
        The land of the application; default: the parcels under the footprint
        (:meth:`Scene.project_parcels`).
    site_plan : GeoDataFrame, optional
        Site plan: polygons with a ``kind`` among the biotope weight keys
        (``pleine_terre``, ``green_roof_deep``, ``green_roof_shallow``,
        ``green_wall``, ``permeable_paving``, ``impervious``) [m²]. Default:
        the scene layer ``"site_plan"``, else the model's site surfaces, else
        the scene's vegetation on the land. (Old name: ``site=``.)
    when : date or sequence of dates, optional
        Reference days of the neighbour impact (default 21 March and 21
        December 2024). (Old name: ``dates=``.)
    impact : bool
        Compute the neighbour impact (sun hours lost, informative).
    tolerances : dict, optional
        Override ``{"length": 0.02, "ratio": 1e-4, "on_limit": 0.10}`` [m, -, m];
        another key is refused.
    placement : (x, y, z[, rotation_deg]), optional
        When ``bim`` is a path: explicit placement of the IFC (see
        :func:`read_project`).

    Returns
    -------
    PermitReport
        ``.results`` (the main table: one row per rule, per limit for
        setbacks), ``.passed``, ``.summary()``, ``.to_json()``, ``.to_html()``.

    Raises
    ------
    InputError
        When ``bim`` or ``scene`` are not the right objects, ``parcels``
        names ids that are not in the scene, ``when`` holds a value that is
        not a date (checked even when the impact does not run) or
        ``tolerances`` an unknown key or a value that is not a number >= 0.
    CRSError
        When the model is placed in another CRS than the scene.
    GeoreferenceError
        Before any rule is judged, when the placed project does not stand on
        the parcels it is checked against, or (with a DEM) when its base is
        more than :data:`ALTITUDE_TOL` from the terrain under it
        (:func:`cimcity.permit.placement.check_placement`): the message gives
        the distance or the altitudes and the fix (``placement=``).

    Examples
    --------
    >>> scene = cc.datasets.load("paris")  # doctest: +SKIP
    >>> bim = scene.projects[scene.meta["project_id"]]  # doctest: +SKIP
    >>> report = cc.permit.check(bim, scene)  # doctest: +SKIP
    >>> report.passed, report.results[["rule", "status", "measured", "limit"]]  # doctest: +SKIP
    """
    days = _days(when)
    bim = _project_model(bim, scene, placement)
    pack = rules if rules is not None else scene.rules
    if pack is not None and not hasattr(pack, "for_zone"):
        pack = read_rules(pack)
    ctx = CheckContext(bim, scene, pack, parcels, site_plan, days, impact, tolerances)
    checks.run(ctx)
    return PermitReport(
        results=pd.DataFrame(ctx.rows, columns=COLUMNS),
        project=_project_info(bim),
        land_info=_land_info(ctx, pack),
        limits=ctx.limits,
        land=ctx.land,
        impact=ctx.impact,
        bim=bim,
        scene=scene,
        context=dict(ctx.context, dates=[str(d) for d in days]),
    )


def _project_model(bim, scene, placement):
    """The BimModel to check (read from a path), validated against the scene."""
    if not isinstance(scene, Scene):
        raise InputError(f"scene must be a cimcity Scene, got {type(scene).__name__}")
    if isinstance(bim, str | os.PathLike):
        bim = read_project(bim, scene, placement=placement)
    elif placement is not None:
        raise InputError(
            "placement= applies when bim is an IFC path; place a BimModel with "
            "read_ifc(path, placement=...)"
        )
    for attr in _BIM_ATTRIBUTES:
        if not hasattr(bim, attr):
            raise InputError(
                f"bim must be a BimModel (cimcity.read_ifc or permit.massing); got "
                f"{type(bim).__name__} without {attr!r}"
            )
    if bim.crs is not None:
        try:
            same = as_projected_crs(bim.crs, "BIM").equals(scene.crs)
        except CRSError:
            same = False
        if not same:
            raise CRSError(
                f"the project is placed in {bim.crs!s}, the scene is in "
                f"{scene.crs.to_string()}; read it with read_ifc(path, crs=scene.crs)"
            )
    return bim


def _days(when) -> tuple:
    """Reference days of the impact as a tuple (one day, or several), each
    checked to be a date: parsed up front, always, even when the impact does
    not run (no neighbours, ``impact=False``), so a bad value is never
    silently ignored."""
    if when is None:
        return DEFAULT_DATES
    if isinstance(when, str | _dt.date | pd.Timestamp | np.datetime64):
        days = (when,)
    else:
        try:
            days = tuple(when)
        except TypeError:
            raise InputError(
                f"when must be a date or a list of dates; got {type(when).__name__} "
                f"{when!r}"
            ) from None
    if not days:
        raise InputError("when is empty: give at least one date (e.g. '2024-12-21')")
    for d in days:
        try:
            as_stamp(d)
        except InputError as exc:
            raise InputError(f"when= of permit.check: {exc}") from None
    return days


def _project_info(bim) -> dict:
    """Identification of the project for the report."""
    georef = bim.georef or {}
    return dict(
        id=bim.id,
        name=bim.name,
        source=bim.source,
        schema=bim.schema,
        georeference=georef.get("method", "none"),
        approximate=bool(georef.get("approximate", False)),
        height=round(float(bim.top_z - bim.base_z), 3),
        base_z=round(float(bim.base_z), 3),
        top_z=round(float(bim.top_z), 3),
        footprint_area=round(float(bim.footprint.area), 2)
        if bim.footprint is not None
        else None,
        storeys=int(len(bim.storeys)) if bim.storeys is not None else 0,
        elements=int(len(bim.elements)) if bim.elements is not None else 0,
    )


def _land_info(ctx, pack) -> dict:
    """The land of the application and its rules, for the report."""
    scene = ctx.scene
    return dict(
        parcels=list(ctx.parcel_ids),
        zone=ctx.zone,
        zones=ctx.context.get("zones", []),
        land_area=round(float(ctx.land.area), 2) if ctx.land is not None else None,
        rule_pack=getattr(pack, "name", None),
        rule_pack_source=str(getattr(pack, "source", "") or ""),
        crs=scene.crs.to_string(),
        vertical_datum=scene.vertical_datum,
        terrain_model="yes"
        if scene.terrain is not None
        else "no (heights from the project base)",
        notes=ctx.notes,
    )


def read_project(path, scene, placement=None, **kwargs):
    """Read an IFC project for a permit check, placed in the scene CRS.

    Like :func:`cimcity.read_ifc` (``scene_crs=scene.crs``). A file without
    any georeference (no map conversion, no IfcSite latitude/longitude) is
    returned in its own project coordinates [m] with ``georef["method"] ==
    "none"``: :func:`check` reports the rules that need a position
    ``not_checkable`` and the report is incomplete. A file whose georeference
    places it where the scene cannot be (an IfcSite latitude/longitude on
    another continent, an unknown CRS) is refused.

    Parameters
    ----------
    path : str or Path
        IFC file.
    scene : Scene
        Gives the CRS.
    placement : (x, y, z[, rotation_deg]), optional
        Explicit placement [m, m, m, degrees counter-clockwise from east to the
        project x axis], which wins over the file's georeference.
    **kwargs
        Passed to :func:`cimcity.read_ifc` (``subtract_openings``, ``threads``...).

    Returns
    -------
    BimModel

    Raises
    ------
    GeoreferenceError
        When the file's georeference cannot place it in the scene; the
        message gives the distance from its IfcSite to the scene and the fix
        (``placement=``, ``cimcity check --placement``).
    """
    try:
        return read_ifc(path, placement=placement, scene_crs=scene.crs, **kwargs)
    except GeoreferenceError as exc:
        if placement is not None:
            raise
        raise refuse_georeference(path, scene, exc) from exc
