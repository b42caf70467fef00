"""Offscreen renders are not blank and show what they should."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cimcity import page, render
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


def test_to_html_alias_writes_the_three_js_page(tmp_path):
    """render.to_html (the former hand-written viewer) now writes cimcity.page's
    page, with a FutureWarning; the page itself is tested in a browser in
    tests/test_page.py."""
    from cimcity import page

    s = street_canyon()
    with pytest.warns(FutureWarning, match="cimcity.page.to_html"):
        p = render.to_html(s, tmp_path / "view.html", color_by="height", title="Canyon")
    expected = page.to_html(
        s, values=s.buildings["height"], quantity="height", title="Canyon"
    )
    assert p.read_text(encoding="utf-8") == expected

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
    with pytest.raises(InputError, match=r"a page is written to \.html or \.htm; got 'page'"):
        page.to_html(s, tmp_path / "page")
    assert page.to_html(s, tmp_path / "page.HTM").lower().startswith("<!doctype html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.jpg", "c.tiff", "page.HTM"]


def _plotter(w=400, h=300):
    pv = pytest.importorskip("pyvista")
    pv.OFF_SCREEN = True
    pl = pv.Plotter(off_screen=True, window_size=(w, h))
    pl.set_background(render.PALETTE["background"])
    return pl


def test_buildings_stand_on_a_ground_without_terrain():
    # Reference: VTK's own world-to-display transform. A lone box without a DEM
    # seen from the south: the pixel 6 px below the middle of its base edge is
    # ground (the drawn ground colour, lit), not the white background; before
    # issue 13 it was background (buildings floated).
    from cimcity.testing import lone_box

    s = lone_box()
    pl = _plotter()
    m = render.add_scene(pl, s)
    render.set_camera(pl, "south", m.to_pyvista().bounds)
    img = pl.screenshot(return_img=True).astype(float)
    b = s.buildings.geometry.iloc[0].bounds
    base = np.array([(b[0] + b[2]) / 2, b[1], s.buildings["ground_z"].iloc[0]])
    x, y = _display(pl, base - m.origin)
    pl.close()
    row, col = int(round(img.shape[0] - y)) + 6, int(round(x))
    bg = np.array(render.PALETTE["background"]) * 255
    assert np.abs(img[row, col] - bg).sum() > 30  # not background
    # and the ground spans the frame's width under the building
    assert (np.abs(img[row] - bg).sum(axis=1) > 30).mean() > 0.5


def test_ground_follows_the_buildings_ground_altitudes():
    # Reference: linear interpolation reproduces its nodes exactly. Without a
    # DEM the ground passes through every footprint corner at its building's
    # ground_z (1e-9 m), so no building floats above or sinks into it.
    import geopandas as gpd
    import shapely

    import cimcity as cc

    x0, y0 = 650000.0, 6860000.0
    gdf = gpd.GeoDataFrame(
        {"height": [10.0, 12.0, 8.0], "ground_z": [30.0, 40.0, 34.0]},
        geometry=[shapely.box(x0, y0, x0 + 10, y0 + 10),
                  shapely.box(x0 + 40, y0, x0 + 50, y0 + 10),
                  shapely.box(x0 + 20, y0 + 30, x0 + 30, y0 + 40)],
        crs="EPSG:2154",
    )
    s = cc.Scene()
    s.add_buildings(gdf)
    z = render.ground_function(s)
    for geom, gz in zip(s.buildings.geometry, s.buildings["ground_z"]):
        xy = shapely.get_coordinates(geom)
        np.testing.assert_allclose(z(xy[:, 0], xy[:, 1]), gz, atol=1e-9)


def test_focus_project_frames_the_project(tmp_path, paris):
    # The project is "more than a few orange pixels": with focus="project" its
    # faces (the project orange, lit) cover at least 2 % of the picture and at
    # least 4 times more than in the whole-district view (measured: 0.4 % →
    # 3.4 % at 600 x 400).
    after = paris.with_project(next(iter(paris.projects.values())))

    def orange_share(**kw):
        p = render.snapshot(after, tmp_path / "f.png", window_size=(600, 400), **kw)
        a = np.asarray(Image.open(p).convert("RGB"), dtype=float)
        r, g, b = a[..., 0], a[..., 1], a[..., 2]
        return float(((r > 120) & (r - b > 80) & (g < r - 20)).mean())

    whole, focused = orange_share(), orange_share(focus="project")
    assert focused > 0.02 and focused > 4 * whole, (whole, focused)
    with pytest.raises(InputError, match="focus='project' needs a project"):
        render.snapshot(street_canyon(), tmp_path / "x.png", focus="project")
    # a project added but not swapped in is not drawn: refused, naming the fix
    with pytest.raises(InputError, match=r"none of them is drawn.*with_project"):
        render.snapshot(paris, tmp_path / "x.png", focus="project")
    with pytest.raises(InputError, match="unknown focus 'projet'"):
        render.snapshot(after, tmp_path / "x.png", focus="projet")


@pytest.mark.parametrize("heading", [0.0, 90.0, 225.0])
def test_eye_level_camera_is_exact(heading, paris):
    # Reference: the definition of the view. The eye stands height metres above
    # the DEM (Terrain.sample at the eye, bilinear) at (x, y); the camera looks
    # along (sin h, cos h, 0) for heading h clockwise from grid north (1e-9)
    # with the sky up; positions in the mesh's local frame (1e-6 m).
    from cimcity.render.views import _resolve_eye

    m = paris.mesh()
    x, y = 649760.0, 6865440.0
    view = _resolve_eye(dict(eye=(x, y), heading=heading, height=1.6), paris, m.origin)
    gz = float(paris.terrain.sample(np.array([x]), np.array([y]))[0])
    assert view["ground_z"] == pytest.approx(gz, abs=1e-9)
    pl = _plotter()
    render.set_camera(pl, view, origin=m.origin)
    eye = np.asarray(pl.camera.position)
    np.testing.assert_allclose(eye, np.array([x, y, gz + 1.6]) - m.origin, atol=1e-6)
    h = np.radians(heading)
    np.testing.assert_allclose(
        pl.camera.direction, [np.sin(h), np.cos(h), 0.0], atol=1e-9
    )
    np.testing.assert_allclose(pl.camera.up, [0.0, 0.0, 1.0], atol=1e-9)
    assert pl.camera.view_angle == render.EYE_FOV
    pl.close()
    with pytest.raises(InputError, match="pitch in"):
        render.eye_level((x, y), 0.0, pitch=95.0)
    with pytest.raises(InputError, match="eye-level view is dict"):
        render.set_camera(_plotter(), dict(eye=(x, y)))


def test_colour_bar_has_a_unit_and_plain_ticks():
    # The bar's title is the catalogue label with its unit in the chosen
    # language; ticks are printed without exponent ("1070", never "1.07e+03");
    # counts get one colour and one label per whole value.
    s = street_canyon()
    pl = _plotter()
    render.add_scene(pl, s, color_by="height", lang="fr")
    (title,) = pl.scalar_bars.keys()
    assert title == "Hauteur (m)"
    pl.close()
    m = s.mesh()
    pl = _plotter()
    vals = np.linspace(1020.0, 1140.0, m.n_faces)
    render.add_scene(pl, s, face_values=vals, scalar_title="irradiation", lang="en")
    ((title, bar),) = pl.scalar_bars.items()
    assert title.replace("\n", " ") == "Irradiation (kWh/m²)"  # wrapped to fit
    fmt = bar.GetLabelFormat()
    assert fmt == "%.0f" and "e" not in fmt % 1070.0
    assert bar.GetPositionCoordinate().GetValue()[0] >= 0.83  # right of the buildings
    pl.close()
    pl = _plotter()
    counts = np.arange(m.n_faces) % 4.0
    render.add_scene(pl, s, face_values=counts, scalar_title="flooded storeys", lang="fr")
    bar = pl.scalar_bars["Niveaux inondés"]
    assert bar.GetLookupTable().GetNumberOfTableValues() == 4
    assert bar.GetLookupTable().GetNumberOfAnnotatedValues() == 4
    pl.close()
    assert render.tick_format(0.0, 1.0) == "%.2f"
    assert render.tick_format(900.0, 1200.0) == "%.0f"


def test_renders_print_nothing_and_speak_french(tmp_path, paris, capfd, monkeypatch):
    # No console noise from VTK or Python warnings; compare's captions follow
    # lang= (French by default).
    import warnings

    import pyvista as pv

    after = paris.with_project(next(iter(paris.projects.values())))
    after.mesh(), paris.mesh()
    texts = []
    real = pv.Plotter.add_text
    monkeypatch.setattr(
        pv.Plotter, "add_text", lambda self, t, *a, **k: texts.append(t) or real(self, t, *a, **k)
    )
    capfd.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        render.compare(paris, after, tmp_path / "c.png", window_size=(600, 250),
                       focus="project")
        render.snapshot(after, tmp_path / "s.png", color_by="height",
                        window_size=(300, 200))
        render.compare(paris, after, tmp_path / "e.png", window_size=(600, 250), lang="en")
    out, err = capfd.readouterr()
    assert not [str(w.message) for w in caught]
    assert err == "" and out == ""
    assert texts == ["Aujourd'hui", "Avec le projet", "Today", "With project"]
