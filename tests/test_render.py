"""Offscreen renders are not blank and show what they should."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cimcity import render
from cimcity.errors import InputError
from scenes import courtyard, street_canyon


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
    p = render.snapshot(
        s, tmp_path / "h.png", color_by="height", camera="top", window_size=(300, 300)
    )
    assert not render.figure_is_blank(p)
    m = s.mesh()
    vals = np.linspace(0, 1, m.n_faces)
    p2 = render.snapshot(
        s, tmp_path / "v.png", face_values=vals, window_size=(300, 300)
    )
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


def _chromium():
    import shutil

    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )


def test_to_html_is_standalone_and_renders_in_headless_chromium(tmp_path):
    import subprocess

    s = street_canyon()
    p = render.to_html(s, tmp_path / "view.html", color_by="height", title="Canyon")
    text = p.read_text()
    assert "http://" not in text and "https://" not in text  # works offline
    assert "Canyon" in text
    exe = _chromium()
    if exe is None:
        pytest.skip(
            "no chromium binary (CI installs Debian's chromium); page written but not rendered"
        )
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-unsafe-swiftshader",
            "--use-angle=swiftshader",
            "--disable-background-networking",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=640,480",
            p.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    img = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
    # the WebGL canvas drew the buildings: the centre of the page is not white
    centre = img[160:320, 200:440]
    assert (np.abs(centre - 255).sum(axis=2) > 60).mean() > 0.05
