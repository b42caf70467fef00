"""Offscreen renders are not blank and show what they should."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cimcity import render
from cimcity.errors import InputError
from cimcity.testing import courtyard, street_canyon


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


def _dark_box(a):
    """Row/column extent of the dark pixels of an RGB image (the drawn box)."""
    rows, cols = np.nonzero(a.sum(axis=2) < 200)
    return rows.min(), rows.max(), cols.min(), cols.max()


def _display(pl, p):
    """Pixel coordinates of a world point through VTK's own camera transform."""
    ren = pl.renderer
    ren.SetWorldPoint(*p, 1.0)
    ren.WorldToDisplay()
    return np.array(ren.GetDisplayPoint()[:2])


@pytest.mark.parametrize("view", ["top", "iso"])
def test_set_camera_looks_at_the_bounds(view):
    # Reference: the geometry of the named views (render.VIEWS) and VTK's own
    # world-to-display transform. The camera looks along the view's direction
    # (1e-9): straight down with grid north up ("top"), from the south-east
    # above along (0.55, -0.75, 0.65) ("iso"); its focal point lies in the
    # plane through the centre of the bounds across the view (1e-6 m); the 8
    # corners of the box project inside the window, their extent centred on it
    # (1 px) and spanning VIEW_FILL of its width or height (1 %); and the
    # rendered box sits inside the frame (no dark pixel on the border).
    pv = pytest.importorskip("pyvista")
    pv.OFF_SCREEN = True
    b = (100.0, 140.0, 200.0, 220.0, 0.0, 30.0)
    centre = np.array([120.0, 210.0, 15.0])
    w, h = 400, 300
    pl = pv.Plotter(off_screen=True, window_size=(w, h))
    pl.set_background("white")
    pl.add_mesh(pv.Box(bounds=b), color="black", lighting=False)
    assert render.set_camera(pl, view, b) is pl
    eye, focal, up = (np.asarray(v, float) for v in pl.camera_position)
    d = (eye - focal) / np.linalg.norm(eye - focal)
    ref = np.array(render.VIEWS[view][0])
    np.testing.assert_allclose(d, ref / np.linalg.norm(ref), atol=1e-9)
    assert (focal - centre) @ d == pytest.approx(0.0, abs=1e-6)
    if view == "top":
        np.testing.assert_allclose(eye[:2], centre[:2], atol=1e-6)
        np.testing.assert_allclose(up, [0.0, 1.0, 0.0], atol=1e-9)
        assert eye[2] > b[5]
    else:
        assert eye[0] > b[1] and eye[1] < b[2] and eye[2] > b[5]
    img = pl.screenshot(return_img=True)
    corners = np.array(np.meshgrid(b[0:2], b[2:4], b[4:6])).reshape(3, -1).T
    px = np.array([_display(pl, c) for c in corners])
    pl.close()
    assert (px >= 0).all() and (px[:, 0] <= w).all() and (px[:, 1] <= h).all()
    mid = (px.max(axis=0) + px.min(axis=0)) / 2
    np.testing.assert_allclose(mid, [w / 2, h / 2], atol=1.0)
    fill = max(
        (px[:, 0].max() - px[:, 0].min()) / w, (px[:, 1].max() - px[:, 1].min()) / h
    )
    assert fill == pytest.approx(render.VIEW_FILL, rel=0.01)
    r0, r1, c0, c1 = _dark_box(img)
    assert r0 > 0 and c0 > 0 and r1 < h - 1 and c1 < w - 1
    if view == "top":  # 40 m x 20 m seen from above: twice as wide as tall
        assert (c1 - c0) / (r1 - r0) == pytest.approx(2.0, rel=0.1)


def test_set_camera_defaults_and_errors():
    pv = pytest.importorskip("pyvista")
    pv.OFF_SCREEN = True
    pl = pv.Plotter(off_screen=True, window_size=(200, 200))
    pl.add_mesh(pv.Box(bounds=(0.0, 10.0, 0.0, 10.0, 0.0, 10.0)))
    render.set_camera(pl, "south")  # default bounds: everything in the plotter
    eye, focal, _ = pl.camera_position
    assert eye[1] < 0.0 and eye[2] > 5.0  # looking north from the south, above
    assert abs(focal[0] - 5.0) < 1e-6
    pos = [(1.0, 2.0, 3.0), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0)]
    render.set_camera(pl, pos)
    np.testing.assert_allclose(pl.camera_position[0], pos[0])
    with pytest.raises(InputError, match="unknown camera 'side'"):
        render.set_camera(pl, "side")
    with pytest.raises(InputError, match="bounds must be"):
        render.set_camera(pl, "top", (0, 1, 0, 1))
    pl.close()


def test_pictures_and_pages_by_suffix(tmp_path):
    """Each writer takes the suffixes it documents and refuses the others with the
    list (a page asked of snapshot was a pyvista ValueError traceback)."""
    s = courtyard()
    for suffix in (".jpg", ".tiff"):
        p = render.snapshot(s, tmp_path / f"c{suffix}", window_size=(200, 150))
        assert Image.open(p).size == (200, 150) and not render.figure_is_blank(p)
    with pytest.raises(InputError, match=r"'\.html' \(an interactive page: cimcity\.render\.to_html\); expected one of \.png, \.jpg"):
        render.snapshot(s, tmp_path / "c.html")
    with pytest.raises(InputError, match=r"'\.svg'.*expected one of \.png"):
        render.compare(s, s, tmp_path / "c.svg")
    with pytest.raises(InputError, match=r"'\(none\)'.*expected one of \.html, \.htm"):
        render.to_html(s, tmp_path / "page")
    assert render.to_html(s, tmp_path / "page.HTM").read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.jpg", "c.tiff", "page.HTM"]


def test_page_legend_names_only_what_is_drawn(tmp_path, paris):
    """The legend promised a project on every page, drawn or not (issue 17, item 7)."""
    import re

    def legend(scene):
        page = render.to_html(scene, tmp_path / "p.html").read_text()
        return re.search(r'<div id="legend">(.*?)</div>', page).group(1)

    assert re.findall(r"</span> (\w+)", legend(street_canyon())) == ["roofs", "walls"]
    after = paris.with_project(next(iter(paris.projects.values())))
    assert re.findall(r"</span> (\w+)", legend(after)) == [
        "project", "roofs", "walls", "terrain"
    ]
