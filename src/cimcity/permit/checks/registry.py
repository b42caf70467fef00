"""The rule-check registry: rule name -> check function.

A check is a function ``check(ctx, rule)`` taking the
:class:`~cimcity.permit.checks.context.CheckContext` of the project and the
zone's :class:`~cimcity.io.plu.Rule`; it appends its row(s) with ``ctx.add``.
Adding a rule to the permit check is adding one decorated function::

    @register("max_height")
    def max_height(ctx, rule): ...

Checks run in the order of the rule catalogue (:data:`cimcity.io.plu.KNOWN_RULES`,
the documentation order), then any other registered names in registration
order. A rule of the zone without a registered check is skipped, and a
registered check whose rule the zone does not set does not run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...errors import InputError
from ...io.plu import KNOWN_RULES


@dataclass(frozen=True)
class RuleCheck:
    """A registered check: its rule name, function and whether it needs the
    project placed in the scene (position, heights above ground, distances)."""

    name: str
    function: Callable
    needs_placement: bool = True


#: rule name -> RuleCheck, in registration order
CHECKS: dict[str, RuleCheck] = {}


def register(*names: str, needs_placement: bool = True):
    """Decorator: register a function as the check of the rule(s) ``names``.

    Parameters
    ----------
    *names : str
        Rule names of the pack (``"max_height"``...); one function may check
        several rules (it reads ``rule.name``).
    needs_placement : bool
        When True (the default), a project without georeference or placement
        gets a ``not_checkable`` row instead of the check.

    Raises
    ------
    InputError
        When a name is registered twice.
    """
    if not names:
        raise InputError("register() needs at least one rule name")

    def wrap(fn):
        for name in names:
            if name in CHECKS:
                raise InputError(
                    f"rule {name!r} already has a check "
                    f"({CHECKS[name].function.__module__}.{CHECKS[name].function.__name__})"
                )
            CHECKS[name] = RuleCheck(name, fn, needs_placement)
        return fn

    return wrap


def ordered() -> list[RuleCheck]:
    """The registered checks in run order (rule catalogue order first)."""
    rank = {name: i for i, name in enumerate(KNOWN_RULES)}
    known = sorted(
        (c for c in CHECKS.values() if c.name in rank), key=lambda c: rank[c.name]
    )
    return known + [c for c in CHECKS.values() if c.name not in rank]
