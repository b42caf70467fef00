"""The deprecation helpers of the one vocabulary (``cimcity._compat``)."""

from __future__ import annotations

import pytest

from cimcity._compat import keyword_only_after, renamed_arguments
from cimcity.errors import InputError


@renamed_arguments(date="when")
def _study(scene, when=None, *, step="6min"):
    return scene, when, step


@keyword_only_after(2)
def _extent(terrain, level, *, sources=None, mode="connected"):
    return terrain, level, sources, mode


def test_old_keyword_maps_to_the_new_one_with_a_warning():
    with pytest.warns(FutureWarning, match=r"_study\(date=\.\.\.\) is renamed when="):
        assert _study("s", date="2024-12-21") == ("s", "2024-12-21", "6min")
    assert _study("s", when="2024-12-21") == ("s", "2024-12-21", "6min")


def test_old_and_new_keyword_together_is_refused():
    with pytest.raises(InputError, match="both date="):
        _study("s", date="2024-12-21", when="2024-06-21")


def test_positional_arguments_past_the_star_still_bind_in_order_with_a_warning():
    assert _extent("t", 34.5) == ("t", 34.5, None, "connected")
    with pytest.warns(FutureWarning, match="pass sources=, mode= by keyword"):
        assert _extent("t", 34.5, "src", "bathtub") == ("t", 34.5, "src", "bathtub")
    with pytest.raises(TypeError, match="multiple values"):
        _extent("t", 34.5, "src", sources="other")
    with pytest.raises(TypeError, match="takes 2 positional"):
        _extent("t", 34.5, 1, 2, 3)
