"""The rule checks of a permit, by article family, behind one registry.

:func:`run` locates the project (:mod:`cimcity.permit.checks.locate`: georeference, land, zone,
rules, limits), checks that the footprint stays on the land, runs the check
registered for each rule of the zone (:mod:`cimcity.permit.checks.registry`, in the order of the
rule catalogue) and adds the informative neighbour impact.

Families (one module each): :mod:`cimcity.permit.checks.height` (heights, eaves, NGF ceiling),
:mod:`cimcity.permit.checks.footprint` (footprint ratio, footprint on the land), :mod:`cimcity.permit.checks.setbacks`
(street, side and rear limits), :mod:`cimcity.permit.checks.envelope` (street envelope),
:mod:`cimcity.permit.checks.green` (open space, pleine terre, green share, biotope coefficient),
:mod:`cimcity.permit.checks.storeys` (storeys, floor area ratio). A new rule is one function
decorated with :func:`register` in one of them (or in a new module imported
here).
"""

from __future__ import annotations

# the family modules register their checks when imported
from . import envelope, footprint, green, height, setbacks, storeys  # noqa: F401
from .context import (
    COLUMNS,
    DEFAULT_DATES,
    LENGTH_TOL,
    ON_LIMIT_TOL,
    RATIO_TOL,
    CheckContext,
    status,
)
from .footprint import within_land
from .locate import locate
from .messages import msg
from .neighbours import neighbour_sun_hours
from .registry import CHECKS, RuleCheck, ordered, register

__all__ = [
    "CHECKS",
    "COLUMNS",
    "DEFAULT_DATES",
    "LENGTH_TOL",
    "ON_LIMIT_TOL",
    "RATIO_TOL",
    "CheckContext",
    "RuleCheck",
    "register",
    "run",
    "status",
]



def run(ctx: CheckContext) -> CheckContext:
    """Every check of one project, rows appended to ``ctx.rows``."""
    if not locate(ctx):
        return ctx
    if ctx.placed:
        within_land(ctx)
    for check in ordered():
        rule = ctx.zone_rules.get(check.name)
        if rule is None:
            continue
        if check.needs_placement and not ctx.placed:
            ctx.add(check.name, "not_checkable", explanation=msg("unplaced"))
            continue
        check.function(ctx, rule)
    if ctx.do_impact and ctx.placed:
        neighbour_sun_hours(ctx)
    return ctx
