"""Offscreen renders are not blank and show what they should."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scenes import courtyard, street_canyon

from cimcity import render
from cimcity.errors import InputError


def test_snapshot_is_not_blank_across_the_frame(tmp_path):
    p = render.snapshot(courtyard(), tmp_path / "c.png", window_size=(400, 300))
    a = np.asarray(Image.open(p).convert("RGB"), dtype=float)
    assert a.shape == (300, 400, 3)
    assert not render.figure_is_blank(p)
    # the building fills the middle: the centre differs from the white background
    bg = np.array(render.PALETTE["background"]) * 255
    centre = a[100:200, 130:270]
    assert np.abs(centre - bg).sum(axis=2).mean() > 30
    # and content spreads across the frame: several columns differ from background
    cols = (np.abs(a - bg).sum(axis=2) > 30).any(axis=0)
    assert cols.mean() > 0.3


def test_color_by_height_and_face_values(tmp_path):
    s = street_canyon()
    p = render.snapshot(s, tmp_path / "h.png", color_by="height", camera="top", window_size=(300, 300))
    assert not render.figure_is_blank(p)
    m = s.mesh()
    vals = np.linspace(0, 1, m.n_faces)
    p2 = render.snapshot(s, tmp_path / "v.png", face_values=vals, window_size=(300, 300))
    assert not render.figure_is_blank(p2)
    with pytest.raises(InputError, match="one value per face"):
        render.snapshot(s, tmp_path / "x.png", face_values=vals[:-1])
    with pytest.raises(InputError, match="unknown color_by 'colour'"):
        render.snapshot(s, tmp_path / "x.png", color_by="colour")
    with pytest.raises(InputError, match="unknown camera 'side'"):
        render.snapshot(s, tmp_path / "x.png", camera="side")


def test_compare_side_by_side(tmp_path):
    a = courtyard()
    b = street_canyon()
    p = render.compare(a, b, tmp_path / "cmp.png", window_size=(600, 300))
    img = np.asarray(Image.open(p).convert("RGB"), dtype=float)
    left, right = img[:, :300], img[:, 300:]
    assert left.std() > 5 and right.std() > 5
