"""The interactive 3D page in a real browser (Debian chromium, headless, driven
by selenium through chromedriver), with the network off.

References: the picked building's attributes are the scene's own table; the
shadow test uses geometry (a box of height h casts its shadow away from the sun,
h / tan(elevation) long) with sun positions from pvlib's SPA
(:func:`cimcity.sun.position.sun_table`).
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

import cimcity.page as page
from cimcity import i18n, testing
from cimcity.errors import InputError
from cimcity.sun.position import sun_table

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
DAY = "2026-03-21"
#: window of the browser [CSS px]
WINDOW = (1200, 800)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip(
            "chromium and chromium-driver are needed (apt-get install chromium chromium-driver)"
        )
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-unsafe-swiftshader",
        "--use-angle=swiftshader",
        "--disable-background-networking",
        "--no-first-run",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--hide-scrollbars",
    ):
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(120)
    # network off: any request the page made would fail
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
    )
    yield driver
    driver.quit()


def _open(driver, path: Path):
    driver.get(path.as_uri())
    WebDriverWait(driver, 120).until(
        lambda d: d.execute_script(
            "return window.cimcity && (window.cimcity.error || (window.cimcity.ready && window.cimcity.frames > 0))"
        )
    )
    assert driver.execute_script("return window.cimcity.error") is None


def _settle(driver):
    """Wait until the page has drawn a frame after the last change."""
    n = driver.execute_script("return window.cimcity.frames")
    driver.execute_script("window.cimcity.render()")
    WebDriverWait(driver, 60).until(
        lambda d: d.execute_script("return window.cimcity.frames") > n
    )


def _shot(driver) -> np.ndarray:
    png = driver.get_screenshot_as_png()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _screen(driver, x, y, z):
    p = driver.execute_script(
        "return window.cimcity.project(arguments[0], arguments[1], arguments[2])",
        x,
        y,
        z,
    )
    return p["x"], p["y"]


def _click(driver, x, y):
    """A real mouse click at CSS pixel (x, y) of the page."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    ab = ActionBuilder(driver)
    ab.pointer_action.move_to_location(int(round(x)), int(round(y)))
    ab.pointer_action.click()
    ab.perform()


def _orange(a):
    """Pixels of the project's orange (#f08c1e, lit or shaded)."""
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    return (r > 150) & (r - b > 110) & (g > 0.35 * r) & (g < 0.8 * r)


# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_page(paris, tmp_path_factory):
    out = tmp_path_factory.mktemp("page") / "quartier.html"
    project = next(iter(paris.projects))
    page.to_html(
        paris, out, project=project, day=DAY, lang="fr", title="Quartier exemple"
    )
    return out, project


def test_page_is_self_contained(sample_page):
    out, _ = sample_page
    text = out.read_text(encoding="utf-8")
    # no external resource: no src/href to anything, and the only URL-like
    # strings are XML namespace names (three.js creates elements with them)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//)""", text)
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", text))
    assert all(u.startswith("http://www.w3.org/") for u in urls), urls
    assert "<script src" not in text and "@import" not in text


def test_page_draws_picks_and_switches(browser, sample_page, paris):
    out, project = sample_page
    _open(browser, out)
    # nothing was fetched, not even from file://
    assert (
        browser.execute_script("return performance.getEntriesByType('resource').length")
        == 0
    )
    _settle(browser)
    a = _shot(browser)
    # the canvas is drawn: many colours (lit and shaded facades, roofs, trees)
    colours = np.unique(a.reshape(-1, 3) // 4, axis=0)
    assert len(colours) > 2000, len(colours)
    # the project stands in view, in orange, in the "after" view (default)
    bim = paris.projects[project]
    c = bim.footprint.centroid
    px, py = _screen(browser, c.x, c.y, float(bim.top_z))
    width, height = browser.execute_script("return [innerWidth, innerHeight]")
    assert 0 < px < width and 0 < py < height
    win = a[int(py) - 40 : int(py) + 40, int(px) - 40 : int(px) + 40]
    assert _orange(win).sum() > 300

    # click the project: the panel shows its id
    _click(browser, px, py + 2)
    cell = browser.find_element(By.CSS_SELECTOR, "#cimcity-info-table td[data-key=id]")
    assert cell.text == project
    assert browser.find_element(By.ID, "cimcity-info").is_displayed()

    # click the tallest building in view: id, height with its unit, in French
    B = paris.buildings
    best = None
    for bid, row in B.sort_values("height", ascending=False).iterrows():
        cx, cy = row.geometry.representative_point().coords[0]
        sx, sy = _screen(browser, cx, cy, float(row["roof_z"]))
        if 300 < sx < width - 320 and 150 < sy < height - 150:
            best = bid, sx, sy, row
            break
    assert best is not None
    bid, sx, sy, row = best
    _click(browser, sx, sy)
    table = browser.find_element(By.ID, "cimcity-info-table").text
    assert browser.find_element(By.CSS_SELECTOR, "td[data-key=id]").text == bid
    assert i18n.label("height", "fr") in table  # "Hauteur (m)"
    shown = browser.find_element(By.CSS_SELECTOR, "td[data-key=height]").text
    assert float(shown.replace(",", ".").replace("\u202f", "")) == pytest.approx(
        row["height"], abs=0.01
    )

    # before / after: the project disappears from its place
    browser.find_element(By.ID, "cimcity-view-before").click()
    _settle(browser)
    b = _shot(browser)
    assert browser.execute_script("return window.cimcity.state().view") == "before"
    before_orange = _orange(
        b[int(py) - 40 : int(py) + 40, int(px) - 40 : int(px) + 40]
    ).sum()
    assert before_orange < 0.05 * _orange(win).sum()
    assert np.abs(a - b).sum(axis=2).astype(bool).sum() > 2000
    browser.find_element(By.ID, "cimcity-view-after").click()
    _settle(browser)
    assert (
        _orange(
            _shot(browser)[int(py) - 40 : int(py) + 40, int(px) - 40 : int(px) + 40]
        ).sum()
        > 300
    )


def test_page_plays_the_shadows_of_the_day(browser, tmp_path):
    # a lone 20 m box on flat ground: the ground just outside the box, on the
    # side away from the sun, is in shadow at 9:00 and lit at 17:00, and the
    # reverse on the other side (h / tan(e) > 20 m at both times, 21 March)
    scene = testing.lone_box(w=20.0, d=20.0, h=20.0)
    out = tmp_path / "box.html"
    page.to_html(scene, out, day=DAY, lang="en")
    _open(browser, out)
    steps = browser.execute_script(
        "return "
        "JSON.parse(document.getElementById('cimcity-config').textContent).sun.steps"
    )
    labels = [s["label"] for s in steps]
    i9, i17 = labels.index("09:00"), labels.index("17:00")
    B = scene.buildings.iloc[0]
    cx, cy = B.geometry.centroid.coords[0]
    gz = float(B["ground_z"])
    browser.execute_script(
        "window.cimcity.setCamera(arguments[0], arguments[1])",
        [cx, cy - 1.0, gz + 160.0],
        [cx, cy, gz],
    )
    S = sun_table(scene, [f"{DAY} 09:00", f"{DAY} 17:00"])
    assert (
        20.0 / np.tan(np.radians(S["elevation"])) > 25
    ).all()  # shadows reach past the test points
    points = []
    for _, r in S.iterrows():
        away = -np.array([r.sx, r.sy]) / np.hypot(r.sx, r.sy)
        # 10 m box half-width along the direction plus 5 m
        reach = 10.0 / max(abs(away[0]), abs(away[1])) + 5.0
        points.append(np.array([cx, cy]) + away * reach)

    def lum(step, p):
        slider = browser.find_element(By.ID, "cimcity-time")
        slider.send_keys(Keys.HOME)
        for _ in range(step):
            slider.send_keys(Keys.ARROW_RIGHT)
        assert browser.execute_script("return window.cimcity.state().step") == step
        _settle(browser)
        x, y = _screen(browser, p[0], p[1], gz)
        return _shot(browser)[int(y) - 3 : int(y) + 4, int(x) - 3 : int(x) + 4].mean()

    p9, p17 = points
    assert browser.find_element(By.ID, "cimcity-clock").text in labels
    # in its own shadow at its hour, lit at the other hour
    assert lum(i9, p9) < 0.8 * lum(i17, p9)
    assert lum(i17, p17) < 0.8 * lum(i9, p17)
    assert browser.find_element(By.ID, "cimcity-clock").text == "09:00"


def test_page_speaks_french_and_english(paris):
    fr = page.html.build_config(paris, lang="fr", day=DAY)
    en = page.html.build_config(paris, lang="en", day=DAY)
    assert fr["text"]["before"] == "Aujourd'hui" and en["text"]["before"] == "Today"
    assert fr["sun"]["title"] == "Ombres du 21 mars 2026"
    assert en["sun"]["title"] == "Shadows on 21 March 2026"
    assert {a["label"] for a in fr["attributes"]} >= {"Hauteur (m)", "Niveaux"}


def test_page_colours_by_a_result_with_units(paris):
    values = paris.buildings["height"].copy()
    values.iloc[0] = np.nan  # unknown: grey, named in the legend
    cfg = page.html.build_config(
        paris, values=values, quantity="height", lang="en", day=DAY
    )
    scale = cfg["legend"]["scale"]
    assert scale["title"] == "Height (m)"
    assert scale["lo"] == pytest.approx(np.nanmin(values)) and scale[
        "hi"
    ] == pytest.approx(np.nanmax(values))
    assert scale["unknown_label"] == "Unknown"
    assert any(layer["key"] == "analysis" for layer in cfg["layers"])
    # with the project: values of the scene before it do not cover it, so the
    # legend names its white (io.gltf draws it so), not the orange of the maps
    pid = next(iter(paris.projects))
    cfg = page.html.build_config(
        paris, values=values, quantity="height", project=pid, lang="en", day=DAY
    )
    sw = {s["key"]: s for s in cfg["legend"]["swatches"]}
    assert sw["project"]["label"] == "Project (not in the analysis)"
    assert sw["project"]["color"] == "#fafafa"
    covered = values.copy()
    covered[pid] = 30.0
    cfg = page.html.build_config(
        paris, values=covered, quantity="height", project=pid, lang="en", day=DAY
    )
    sw = {s["key"]: s for s in cfg["legend"]["swatches"]}
    assert sw["project"]["label"] == "Project"


def test_sun_steps_of_the_day_follow_the_sun(paris):
    # 21 March 2026 in Paris: sunrise ~06:55, sunset ~19:05 CET (a day of about
    # 12 h at the equinox); the highest sun near 12:58 CET, ~41 deg (90 - 48.87)
    sun = page.sun_steps_of_day(paris, DAY, lang="en")
    labels = [s["label"] for s in sun["steps"]]
    assert labels[0] in ("07:00", "07:30") and labels[-1] in ("18:30", "18:00")
    top = sun["steps"][sun["default_index"]]
    assert top["label"] == "13:00"
    assert top["elevation"] == pytest.approx(
        90 - 48.87 + 0.2, abs=0.6
    )  # declination ~+0.2 deg
    for s in sun["steps"]:
        assert np.linalg.norm(s["dir"]) == pytest.approx(1.0, abs=1e-9)


def test_show_and_errors(paris, tmp_path):
    view = paris.show(tmp_path / "x.html", lang="en", day=DAY)
    assert view._repr_html_().startswith("<iframe srcdoc=")
    assert (tmp_path / "x.html").read_text(encoding="utf-8") == view.page
    with pytest.raises(InputError, match="html"):
        page.to_html(paris, tmp_path / "x.png")
    with pytest.raises(InputError, match="project="):
        page.to_html(paris, project="nope")

    class NoScene:
        pass

    with pytest.raises(InputError, match="scene="):
        page.show(NoScene())


def test_result_show_colours_buildings_by_the_result(tmp_path):
    """Result.show() (the protocol's page) colours each building by its
    area-weighted sun hours; the legend's limits are those of the result's own
    by-building table (page.result_values), so the page shows what the result says."""
    from cimcity import shadow
    from cimcity.testing import street_canyon

    s = street_canyon()
    res = shadow.sun_hours(s, "2026-06-21", spacing=4.0, step="1h")
    view = res.show(lang="en", day=DAY)
    assert view._repr_html_().startswith("<iframe srcdoc=")
    # the area-weighted mean of roof and wall sensors, by pandas directly
    S = res.sensors[res.sensors["kind"].isin(["roof", "wall"])]
    S = S[np.isfinite(S["sun_hours"])]
    mean = (S["sun_hours"] * S["area"]).groupby(S["building_id"]).sum() / S[
        "area"
    ].groupby(S["building_id"]).sum()
    values, quantity = page.result_values(res)
    assert quantity == "sun_hours"
    assert values.reindex(mean.index).to_numpy() == pytest.approx(mean.to_numpy())
    cfg = page.html.build_config(s, result=res, lang="en", day=DAY)
    scale = cfg["legend"]["scale"]
    assert scale["title"] == "Sun hours (h)"
    assert scale["lo"] == pytest.approx(mean.min())
    assert scale["hi"] == pytest.approx(mean.max())
    assert 0.0 <= scale["lo"] <= scale["hi"] <= 24.0


def test_flood_water_is_a_layer_at_its_level(paris):
    """page.to_html(flood=...): the flood's water bodies as their own layer,
    flat at the water level, covering the flooded cells (area = cells x cell
    area, the FloodResult's own count; triangulated polygons, so equal to float
    precision), with a switch and a legend swatch."""
    import base64

    import trimesh

    from cimcity import flood
    from cimcity.io.gltf import read_glb_json

    f = flood.extent(
        paris.terrain, flood.scenario("1910"), sources=paris.layers.get("water")
    )
    assert f.n_cells > 0
    cfg = page.html.build_config(paris, flood=f, lang="fr", day=DAY)
    assert {"key": "flood", "label": "Eau de crue", "on": True} in cfg["layers"]
    assert any(s["key"] == "flood" for s in cfg["legend"]["swatches"])
    glb = base64.b64decode(cfg["models"]["before"])
    names = [n.get("name") for n in read_glb_json(glb)["nodes"]]
    assert "flood" in names
    tm = trimesh.load(io.BytesIO(glb), file_type="glb", force="scene")
    water = tm.geometry["flood"]
    # glTF is y-up: the surface is flat at the level (y = level + 0.05 - origin z)
    origin = read_glb_json(glb)["asset"]["extras"]["origin"]
    y = water.vertices[:, 1] + origin[2]
    np.testing.assert_allclose(y, f.level + 0.05, atol=1e-3)
    assert water.area == pytest.approx(f.n_cells * f.cell_area, rel=1e-6)
    # without a flood: no such layer
    cfg0 = page.html.build_config(paris, lang="fr", day=DAY)
    assert all(layer["key"] != "flood" for layer in cfg0["layers"])
