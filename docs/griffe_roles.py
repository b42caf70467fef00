"""Griffe extension for the docs: Sphinx roles in docstrings as code.

cimcity's numpydoc docstrings use Sphinx cross-reference roles
(``:func:`cimcity.solar.irradiance```); mkdocstrings renders Markdown, where
those roles would show literally. This turns ``:role:`~a.b.c``` into ```c```
and ``:role:`a.b``` into ```a.b``` before rendering.
"""

from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|meth|class|mod|data|attr|obj|exc|const|ref|doc)`(~?)([^`]+)`")


def _plain(match: re.Match) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles of every docstring as inline code."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:  # noqa: ARG002
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_plain, obj.docstring.value)
