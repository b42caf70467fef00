"""Maps (cimcity.maps) and the .plot() of the results: the artists a resident
reads (scale bar, north arrow, units, titles, colour scales, clipping, tiles),
not only that a file is written."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from matplotlib import colors
from matplotlib.collections import Collection
from matplotlib.lines import Line2D
from matplotlib_scalebar.scalebar import ScaleBar

import cimcity as cc
from cimcity import maps, shadow, testing
from cimcity.errors import InputError
from cimcity.results import Result

#: drawing tolerance for clipped data [m] (shapely's intersection is exact to
#: floating point)
CLIP_TOL = 1e-6


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def box_hours():
    scene = testing.lone_box()
    return scene, shadow.sun_hours(
        scene, "2026-12-21", step="30min", spacing=4.0, surfaces=("roof", "ground")
    )


def _draw(ax):
    ax.figure.canvas.draw()
    return ax


def _scalebars(ax):
    return [a for a in ax.artists if isinstance(a, ScaleBar)]


def test_sun_hours_map_has_scale_bar_north_arrow_and_km_axes(box_hours):
    scene, res = box_hours
    ax = _draw(res.plot(scene=scene, lang="en"))
    assert len(_scalebars(ax)) == 1
    arrows = [t for t in ax.texts if t.get_gid() == "north_arrow"]
    assert len(arrows) == 1 and arrows[0].get_text() == "N"
    # no 1e6 / +6.8e6 offset text on either axis
    assert ax.xaxis.get_offset_text().get_text() == ""
    assert ax.yaxis.get_offset_text().get_text() == ""
    # ticks are kilometres: the label of a tick at x metres reads x / 1000
    x = ax.get_xticks()[1]
    label = ax.xaxis.get_major_formatter()(x, 1).replace("\u202f", "")
    assert float(label) == pytest.approx(x / 1000, abs=0.005)


def test_north_note_gives_the_meridian_convergence(box_hours):
    # reference: PROJ's meridian convergence at the map centre (pyproj)
    scene, res = box_hours
    ax = _draw(res.plot(scene=scene, lang="en"))
    note = next(t for t in ax.texts if t.get_gid() == "north_note").get_text()
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    lon, lat = pyproj.Transformer.from_crs(scene.crs, "EPSG:4326", always_xy=True).transform(
        (x0 + x1) / 2, (y0 + y1) / 2
    )
    gamma = pyproj.Proj(scene.crs).get_factors(lon, lat).meridian_convergence
    assert f"{abs(gamma):.2f}°" in note
    # west of the 3° E central meridian, true north is east of grid north
    assert ("east" if lon < 3.0 else "west") in note
    assert "Lambert-93" in note


def test_colour_bar_units_and_titles_in_both_languages(box_hours):
    scene, res = box_hours
    labels, titles = {}, {}
    for lang in ("fr", "en"):
        ax = _draw(res.plot(scene=scene, lang=lang))
        cbar_ax = [a for a in ax.figure.axes if a is not ax][0]
        labels[lang] = cbar_ax.get_ylabel()
        titles[lang] = ax.get_title()
    assert labels == {"fr": "Heures d'ensoleillement (h)", "en": "Sun hours (h)"}
    assert "21 décembre 2026" in titles["fr"] and "Heures d'ensoleillement" in titles["fr"]
    assert "21 December 2026" in titles["en"] and "Sun hours" in titles["en"]


def test_sun_hours_scale_runs_from_zero_to_the_day_length(box_hours):
    # sequential scale for hours: 0 to the sun-up hours of the day (pvlib
    # sunrise/sunset, checked in test_shadow); unknown values stay NaN
    scene, res = box_hours
    ax = res.plot(scene=scene, lang="en")
    im = ax.images[0]
    assert im.norm.vmin == 0.0
    assert im.norm.vmax == pytest.approx(res.total_hours)
    assert not isinstance(im.norm, colors.TwoSlopeNorm)


def test_diverging_scale_is_centred_on_zero():
    cm, norm, ticks = maps.color_scale("sun_hours_change", [-3.0, 0.5, 1.0])
    assert isinstance(norm, colors.TwoSlopeNorm)
    assert (norm.vmin, norm.vcenter, norm.vmax) == (-3.0, 0.0, 3.0)
    assert norm(0.0) == pytest.approx(0.5)
    assert ticks is None


class _Changes(Result):
    """A result with a change column, to test the base plot."""

    def __init__(self, table):
        self._t = table

    def tables(self):
        return {"units": self._t}

    def summary(self):
        return {}


def test_base_plot_of_a_change_is_diverging_and_clipped():
    import geopandas as gpd

    t = gpd.GeoDataFrame(
        {"delta": [-2.0, 0.5, np.nan]},
        geometry=[shapely.box(x, 6.86e6, x + 10, 6.86e6 + 10) for x in (6.5e5, 6.5e5 + 10, 6.5e5 + 20)],
        crs="EPSG:2154",
    )
    ax = _draw(_Changes(t).plot("delta", lang="fr"))
    cbar_ax = [a for a in ax.figure.axes if a is not ax][0]
    norm = ax.collections[0].norm
    assert isinstance(norm, colors.TwoSlopeNorm) and norm.vcenter == 0.0
    assert norm.vmin == -2.0 and norm.vmax == 2.0
    assert cbar_ax.get_ylabel() == "delta"
    # the unknown unit is grey, not coloured as a value
    assert len(ax.collections) == 2


def test_discrete_scale_for_flooded_storeys():
    cm, norm, ticks = maps.color_scale("flooded_storeys", [0, 1, 3])
    assert isinstance(norm, colors.BoundaryNorm)
    assert list(norm.boundaries) == [-0.5, 0.5, 1.5, 2.5, 3.5]
    assert list(ticks) == [0, 1, 2, 3]
    assert cm.N == 4  # one colour per storey count


def test_flood_exposure_map_has_a_discrete_storeys_bar():
    scene = cc.datasets.load("paris")
    f = cc.flood.extent(scene.terrain, cc.flood.scenario("1910"), sources=scene.layers.get("water"))
    e = cc.flood.exposure(scene, f)
    ax = _draw(e.plot(scene=scene, lang="fr"))
    bars = [a for a in ax.figure.axes if a is not ax]
    labels = {b.get_ylabel() for b in bars}
    assert "Niveaux inondés" in labels and "Hauteur d'eau (m)" in labels
    storeys = next(b for b in bars if b.get_ylabel() == "Niveaux inondés")
    ticks = storeys.get_yticks()
    assert np.allclose(ticks, np.round(ticks))  # whole storeys only
    assert len(_scalebars(ax)) == 1


def _data_bounds(ax):
    """(xmin, ymin, xmax, ymax) of every line and collection path drawn in data
    coordinates."""
    pts = []
    for art in ax.get_children():
        if isinstance(art, Line2D) and art.get_transform() == ax.transData:
            xy = art.get_xydata()
            if len(xy):
                pts.append(np.asarray(xy, float))
        elif isinstance(art, Collection) and art.get_transform() == ax.transData:
            for p in art.get_paths():
                if len(p.vertices):
                    pts.append(p.vertices)
            off = art.get_offsets()
            if len(off) and art.get_offset_transform() == ax.transData:
                pts.append(np.asarray(off, float))
    a = np.concatenate(pts)
    return a[:, 0].min(), a[:, 1].min(), a[:, 0].max(), a[:, 1].max()


def test_overlays_are_clipped_to_the_map(box_hours):
    # a map of the south-west quarter: buildings, roof points and the study
    # area reach beyond it and must be cut, not drawn outside
    scene, res = box_hours
    x0, y0, x1, y1 = scene.bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    extent = (x0 - 10, y0 - 10, cx + 3, cy + 2)
    res.context["study_area"] = shapely.box(x0 - 50, y0 - 50, cx + 1, cy + 50)
    try:
        ax = _draw(res.plot(scene=scene, extent=extent, lang="en"))
    finally:
        res.context.pop("study_area")
    bx0, by0, bx1, by1 = _data_bounds(ax)
    assert bx0 >= extent[0] - CLIP_TOL and by0 >= extent[1] - CLIP_TOL
    assert bx1 <= extent[2] + CLIP_TOL and by1 <= extent[3] + CLIP_TOL
    assert ax.get_xlim() == pytest.approx((extent[0], extent[2]))


def test_clip_cuts_geometries_to_the_extent():
    import geopandas as gpd

    g = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 10, 10), shapely.box(50, 50, 60, 60)])
    out = maps.clip(g, (5, 5, 20, 20))
    assert len(out) == 1
    assert out.geometry.iloc[0].equals(shapely.box(5, 5, 10, 10))


def test_basemap_offline_draws_no_tiles_and_raises_nothing(box_hours, monkeypatch):
    import contextily

    def offline(*a, **k):
        raise ConnectionError("no network")

    monkeypatch.setattr(contextily, "bounds2img", offline)
    scene, res = box_hours
    ax = _draw(res.plot(scene=scene, basemap="ign", lang="fr"))
    assert not [im for im in ax.images if im.get_label() == "basemap"]
    assert ax._cimcity_map["tiles"] is None


def test_basemap_tiles_are_drawn_under_the_map(box_hours, monkeypatch):
    # a fake tile server: one 256 px tile in Web Mercator covering the scene
    import contextily

    calls = {}

    def tiles(w, s, e, n, zoom="auto", source=None, ll=False):
        calls["source"] = source
        tr = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
        (x0, x1), (y0, y1) = tr.transform([w, e], [s, n])
        return np.full((256, 256, 3), 200, np.uint8), (x0 - 50, x1 + 50, y0 - 50, y1 + 50)

    monkeypatch.setattr(contextily, "bounds2img", tiles)
    scene, res = box_hours
    ax = _draw(res.plot(scene=scene, basemap="osm", lang="en"))
    tiles_im = [im for im in ax.images if im.get_label() == "basemap"]
    assert len(tiles_im) == 1 and tiles_im[0].get_zorder() < ax.images[-1].get_zorder()
    assert "openstreetmap" in calls["source"].url
    e = tiles_im[0].get_extent()
    x0, x1 = ax.get_xlim()
    assert e[0] <= x0 and e[1] >= x1  # the tiles cover the map
    assert any("OpenStreetMap" in t.get_text() for t in ax.texts)


def test_unknown_basemap_is_refused(box_hours):
    scene, res = box_hours
    with pytest.raises(InputError, match="unknown basemap 'googel'"):
        res.plot(scene=scene, basemap="googel")


def test_sweep_chart_labels_in_both_languages():
    table = pd.DataFrame(
        {"level": [30.0, 31.0], "flooded_area": [1e4, 3e4], "flooded_buildings": [0, 2],
         "buildings_with_flooded_storeys": [0, 1]}
    )
    from cimcity.flood.sweep import SweepResult

    s = SweepResult(table, "NGF-IGN69", "connected", 8)
    fr = s.plot(lang="fr")
    en = s.plot(lang="en")
    assert fr.get_xlabel() == "Cote de l'eau (m NGF-IGN69)"
    assert en.get_xlabel() == "Water level (m NGF-IGN69)"
    assert fr.get_ylabel() == "Surface inondée (ha)" and en.get_ylabel() == "Flooded area (ha)"


@pytest.mark.realdata
def test_paris_11e_buildings_map_scale_bar_matches_the_width(shared_data):
    # BDNB Paris 11e (shared_data/france): the map spans the buildings' bounds;
    # the scale bar's value is a round length of about a fifth of that width and
    # is drawn exactly that long in data units (1 data unit = 1 m)
    b = cc.read_buildings(shared_data / "france" / "bdnb_paris11_batiments.shp")
    scene = cc.Scene(crs="EPSG:2154")
    scene.add_buildings(b)
    x0, y0, x1, y1 = b.total_bounds
    width = x1 - x0  # ~2.56 km
    ax = maps.start(None, (x0, y0, x1, y1), crs=scene.crs, scene=scene, figsize=(8, 8))
    maps.finish(ax, title=maps.title_text("buildings", place="Paris 11e", lang="fr"), lang="fr")
    _draw(ax)
    sb = _scalebars(ax)[0]
    info = sb.info
    metres = info.value * {"m": 1.0, "km": 1000.0}[info.units]
    assert info.length_px == pytest.approx(metres)  # drawn length in metres
    assert 0.08 * width <= metres <= 0.2 * width
    assert metres / 10 ** math.floor(math.log10(metres)) in (1, 2, 2.5, 5)
    assert ax.get_xlim() == pytest.approx((x0, x1))
    assert ax.get_title() == "Bâtiments — Paris 11e"
    assert ax.xaxis.get_offset_text().get_text() == ""
    # the buildings are drawn, clipped to the map
    assert len(ax.collections) >= 1


def test_solar_map_names_the_base_layers_it_draws_under_the_data():
    # a parcel around the box and a lawn in it: drawn pale under the roof
    # sensors, they must be named in the legend (a resident would read them as
    # "roofs without data"), and the ground is "not studied" only when no
    # ground sensor was drawn
    import geopandas as gpd

    from cimcity import solar

    scene = testing.lone_box()
    x0, y0 = testing.X0, testing.Y0
    scene.add_parcels(gpd.GeoDataFrame(
        geometry=[shapely.box(x0 - 15, y0 - 15, x0 + 35, y0 + 25)], crs=testing.CRS))
    scene.add_vegetation(gpd.GeoDataFrame(
        {"height": [0.2]}, geometry=[shapely.box(x0 - 10, y0 - 10, x0 - 2, y0 - 2)],
        crs=testing.CRS))
    res = solar.irradiance(scene, "2026-06-21", spacing=2.0, surfaces=("roof",))
    labels = [t.get_text() for t in res.plot(lang="en").get_legend().get_texts()]
    assert labels == ["Vegetation", "Unbuilt ground (not studied)"]
    # with ground sensors drawn (irradiance needs terrain faces for them) the
    # ground is studied: no "not studied" entry
    extent = (x0 - 20, y0 - 20, x0 + 40, y0 + 30)
    fr = maps.base_legend(scene, extent, lang="fr", ground_studied=True)
    assert [h.get_label() for h in fr] == ["Végétation"]
