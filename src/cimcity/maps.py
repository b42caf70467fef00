"""Maps: one way to draw a map of a scene on matplotlib axes.

Every 2D ``.plot()`` of cimcity's results draws through this module, so every
map reads the same way:

* a quiet base from the scene's own layers (parcels, roads, water,
  vegetation, footprints; whatever the scene has), and web tiles on request
  (``basemap="ign"`` Plan IGN from the Géoplateforme WMTS, ``"osm"``
  OpenStreetMap) when a network is there: offline or failing, no tiles and no
  error (one ``logging`` info line);
* a scale bar in metres (matplotlib-scalebar), a north arrow pointing to grid
  north with the meridian convergence noted (true north differs from the
  Lambert-93 grid north by about half a degree in Paris);
* axes in kilometres (never matplotlib's ``1e6`` offset) or hidden;
* a title with the place and the date or period, in the language of ``lang=``
  (:mod:`cimcity.i18n`);
* colour scales fitted to the quantity (:func:`color_scale`): sequential for
  hours, irradiation and depths, diverging centred on 0 for changes, discrete
  for counts such as flooded storeys; colour bars labelled with units;
* the study area outlined and its context greyed; every overlay clipped to
  the map extent (:func:`clip`, :func:`points_in`) before it is drawn.

A map is drawn in three calls::

    ax = maps.start(ax, extent, crs=scene.crs, scene=scene, basemap=None)
    ...  # the result draws its data (clipped with maps.clip / maps.points_in)
    maps.finish(ax, title=maps.title_text("sun_hours", when=day, lang=lang), ...)

Written here rather than taken from a library: geopandas, contextily and
matplotlib-scalebar each draw one piece; the house conventions (grid north and
its convergence, the field's French terms, "unknown" never drawn as zero, the
clipping of overlays) are what this module adds. matplotlib and contextily load
inside the functions.
"""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import shapely

from . import i18n
from ._compat import import_optional
from .errors import InputError
from .sun.position import site as _site

__all__ = [
    "BASEMAPS",
    "QUANTITY_SCALES",
    "start",
    "finish",
    "base_layers",
    "footprints",
    "add_basemap",
    "study_area",
    "base_legend",
    "scale_bar",
    "north_arrow",
    "km_axes",
    "color_scale",
    "colorbar",
    "clip",
    "points_in",
    "marker_size",
    "extent_of",
    "title_text",
    "place_of",
]

log = logging.getLogger(__name__)

i18n.add_terms(
    {
        "map_north_note": (
            "Arrow: grid north; true north {angle:.2f}° {side} ({crs} convergence)",
            "Flèche : nord du quadrillage ; nord géographique à {angle:.2f}° "
            "{side} (convergence {crs})",
        ),
        "map_east": ("east", "à l'est"),
        "map_west": ("west", "à l'ouest"),
        "map_tiles_ign": ("Basemap © IGN Plan", "Fond © IGN Plan"),
        "map_tiles_osm": (
            "Basemap © OpenStreetMap contributors",
            "Fond © contributeurs OpenStreetMap",
        ),
        "map_point": ("{lat:.4f}° N, {lon:.4f}° E", "{lat:.4f}° N, {lon:.4f}° E"),
        "map_sample": ("{name} (sample)", "{name} (échantillon)"),
        "map_project": ("Project", "Projet"),
        "map_context": ("Context (not analysed)", "Contexte (non analysé)"),
        "map_unknown_grey": ("Unknown (grey)", "Inconnu (gris)"),
        "map_dry": ("Dry", "Hors d'eau"),
        "map_below_minimum": ("Below the PLU minimum", "Sous le minimum du PLU"),
        "map_shadows_at": ("Shadows at {time}", "Ombres à {time}"),
        "map_clear_sky": ("clear sky (upper bound)", "ciel clair (majorant)"),
        "map_per_parcel": ("per parcel", "par parcelle"),
        "map_per_zone": ("per zone", "par zone"),
        "map_per_custom": ("per unit", "par unité"),
        "map_impact": ("Project impact", "Impact du projet"),
        "map_unbuilt_not_studied": (
            "Unbuilt ground (not studied)", "Sol non bâti (non étudié)"
        ),
        "veg_vegetation_share": (
            "Vegetation (canopy + low vegetation)", "Végétation (canopée + strate basse)"
        ),
        "veg_built_share": ("Built share", "Part bâtie"),
        "veg_pleine_terre_share": ("Open soil (pleine terre)", "Pleine terre"),
        "veg_green_share": (
            "Green share (vegetation + green roofs)",
            "Part végétalisée (végétation + toitures végétalisées)",
        ),
        "veg_canopy_share": ("Canopy share", "Part de canopée"),
        "veg_unbuilt_share": ("Open space (unbuilt)", "Espace libre (non bâti)"),
        "veg_biotope_coefficient": (
            "Biotope coefficient (CBS)", "Coefficient de biotope (CBS)"
        ),
    }
)

#: basemap names -> (xyzservices provider path, attribution term)
BASEMAPS = {
    "ign": ("GeoportailFrance.plan", "map_tiles_ign"),
    "osm": ("OpenStreetMap.Mapnik", "map_tiles_osm"),
}

#: quantity -> (scale kind, colour map); kinds: "sequential", "diverging", "discrete"
QUANTITY_SCALES = {
    "sun_hours": ("sequential", "inferno"),
    "irradiation": ("sequential", "inferno"),
    "annual_irradiation": ("sequential", "inferno"),
    "irradiance": ("sequential", "inferno"),
    "sky_view_factor": ("sequential", "viridis"),
    "water_depth": ("sequential", "cimcity_water"),
    "green_share": ("sequential", "YlGn"),
    "biotope_coefficient": ("sequential", "YlGn"),
    "sun_hours_change": ("diverging", "RdBu"),
    "change": ("diverging", "RdBu"),
    "flooded_storeys": ("discrete", "OrRd"),
    "storeys": ("discrete", "viridis"),
}

#: colours of the quiet base (light, so data reads on top)
BASE_STYLE = {
    "parcels": {"facecolor": "none", "edgecolor": "#c8c4bc", "linewidth": 0.4},
    "water": {"facecolor": "#cfe3f3", "edgecolor": "#9cc3e0", "linewidth": 0.4},
    "vegetation": {"facecolor": "#d9ebc8", "edgecolor": "none", "linewidth": 0},
    "roads": {"color": "#ffffff", "edgecolor": "#d8d4cc"},
    "buildings": {"facecolor": "#e4e0d8", "edgecolor": "#9d978b", "linewidth": 0.4},
}
#: where the map pieces sit (matplotlib zorder)
Z_BASE, Z_DATA, Z_OUTLINE, Z_MASK, Z_DECOR = 1, 3, 5, 6, 9


def _plt():
    return import_optional("matplotlib.pyplot")


# -- extent and clipping -------------------------------------------------------------------
def extent_of(*things, pad: float = 0.0) -> tuple[float, float, float, float]:
    """Bounds ``(xmin, ymin, xmax, ymax)`` [m] of geometries, GeoDataFrames,
    bounds tuples or ``(n, 2)`` point arrays, padded by ``pad`` [m].

    Raises
    ------
    InputError
        When nothing given has a finite extent.
    """
    boxes = []
    for t in things:
        if t is None:
            continue
        if hasattr(t, "total_bounds"):
            if len(t):
                boxes.append(np.asarray(t.total_bounds, float))
        elif isinstance(t, shapely.Geometry):
            if not t.is_empty:
                boxes.append(np.asarray(t.bounds, float))
        else:
            a = np.asarray(t, float)
            if a.ndim == 1 and a.size == 4:
                boxes.append(a)
            elif a.ndim == 2 and len(a):
                boxes.append(np.r_[np.nanmin(a[:, :2], 0), np.nanmax(a[:, :2], 0)])
    boxes = [b for b in boxes if np.all(np.isfinite(b))]
    if not boxes:
        raise InputError("nothing to map: every layer given is empty")
    b = np.array(boxes)
    x0, y0 = b[:, 0].min() - pad, b[:, 1].min() - pad
    x1, y1 = b[:, 2].max() + pad, b[:, 3].max() + pad
    if x1 - x0 <= 0:
        x0, x1 = x0 - 1.0, x1 + 1.0
    if y1 - y0 <= 0:
        y0, y1 = y0 - 1.0, y1 + 1.0
    return (float(x0), float(y0), float(x1), float(y1))


def clip(frame, extent):
    """The rows of a GeoDataFrame/GeoSeries cut to the map ``extent`` [m]
    (empty parts dropped), so nothing is drawn outside the map."""
    if frame is None or not len(frame):
        return frame
    box = shapely.box(*extent)
    series = isinstance(frame, gpd.GeoSeries)
    geoms = np.asarray(frame.values if series else frame.geometry.values)
    keep = shapely.intersects(geoms, box)
    cut = shapely.intersection(geoms[keep], box)
    out = frame[keep].copy()
    cut = gpd.GeoSeries(cut, index=out.index, crs=frame.crs)
    if series:
        out = cut
    else:
        out[out.geometry.name] = cut
    return out[~cut.is_empty.to_numpy()]


def marker_size(ax, size_m: float) -> float:
    """Scatter marker area [points²] of a square ``size_m`` metres wide on
    ``ax`` (so sensors on a grid tile the map without gaps)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    bb = ax.get_window_extent()
    ppm = min(bb.width / abs(x1 - x0), bb.height / abs(y1 - y0)) * 72.0 / ax.figure.dpi
    return max(0.3, (size_m * ppm) ** 2)


def points_in(x, y, extent) -> np.ndarray:
    """Mask of the points ``x, y`` [m] inside the map ``extent``."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    x0, y0, x1, y1 = extent
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


# -- place and title -----------------------------------------------------------------------
def place_of(scene=None, crs=None, extent=None, lang: str | None = None) -> str | None:
    """A place name for titles: ``scene.meta["place"]``, the bundled sample's
    name, else the latitude and longitude of the map centre (None when the
    CRS is unknown)."""
    meta = getattr(scene, "meta", None) or {}
    if meta.get("place"):
        return str(meta["place"])
    if meta.get("sample"):
        return i18n.term("map_sample", lang, name=str(meta["sample"]).title())
    crs = crs if crs is not None else getattr(scene, "crs", None)
    if crs is None or extent is None:
        return None
    try:
        s = _site(crs=crs, bounds=extent)
    except Exception:  # no projection: no place rather than a wrong one
        return None
    return i18n.term("map_point", lang, lat=s.latitude, lon=s.longitude)


def title_text(
    what: str, *, when=None, period=None, place=None, lang: str | None = None
) -> str:
    """"<quantity> — <place>, <date or period>": ``what`` is a catalogue key
    (its term is used) or plain text; ``when`` a date, ``period`` a
    ``(start, end)`` pair."""
    try:
        head = i18n.term(what, lang)
    except KeyError:
        head = str(what)
    parts = [p for p in (place,) if p]
    if period is not None:
        parts.append(i18n.format_period(period[0], period[1], lang))
    elif when is not None:
        parts.append(i18n.format_date(when, lang))
    return head + (" — " + ", ".join(parts) if parts else "")


# -- colour scales ---------------------------------------------------------------------------
def _cmap(name):
    if name == "cimcity_water":
        from matplotlib.colors import LinearSegmentedColormap

        return LinearSegmentedColormap.from_list(
            "cimcity_water", ["#b7d4ea", "#6baed6", "#2171b5", "#08306b"]
        )
    return _plt().get_cmap(name)


def color_scale(quantity, values=None, *, vmin=None, vmax=None, cmap=None, kind=None):
    """Colour map and norm fitted to a quantity.

    Parameters
    ----------
    quantity : str
        Catalogue key (``"sun_hours"``, ``"sun_hours_change"``,
        ``"flooded_storeys"``…); its kind comes from :data:`QUANTITY_SCALES`
        (sequential when not listed).
    values : array-like, optional
        The values drawn (NaN ignored), for the default range.
    vmin, vmax : float, optional
        Range; for a diverging scale ``vmax`` is the half range around 0.
    cmap : str or Colormap, optional
        Overrides the quantity's colour map.
    kind : {"sequential", "diverging", "discrete"}, optional
        Overrides the quantity's kind.

    Returns
    -------
    (Colormap, Normalize, ticks or None)
        Diverging scales are centred on 0 (``TwoSlopeNorm``-like symmetric
        norm); discrete ones have one colour and one tick per integer.
    """
    from matplotlib import colors

    k, name = QUANTITY_SCALES.get(quantity, ("sequential", "viridis"))
    kind = kind or k
    if kind not in ("sequential", "diverging", "discrete"):
        raise InputError(
            f"unknown colour scale kind {kind!r}; expected 'sequential', "
            "'diverging' or 'discrete'"
        )
    v = np.asarray([] if values is None else values, float).ravel()
    v = v[np.isfinite(v)]
    cm = _cmap(cmap or name) if not isinstance(cmap, colors.Colormap) else cmap
    if kind == "diverging":
        half = vmax if vmax is not None else (float(np.abs(v).max()) if v.size else 1.0)
        half = half if half > 0 else 1.0
        return cm, colors.TwoSlopeNorm(vcenter=0.0, vmin=-half, vmax=half), None
    if kind == "discrete":
        lo = int(math.floor(vmin if vmin is not None else (v.min() if v.size else 0)))
        hi = int(math.ceil(vmax if vmax is not None else (v.max() if v.size else 1)))
        lo, hi = min(lo, 0), max(hi, lo + 1)
        n = hi - lo + 1
        base = _cmap(cmap or name)
        cm = colors.ListedColormap(base(np.linspace(0.15, 1.0, n)))
        norm = colors.BoundaryNorm(np.arange(lo - 0.5, hi + 1.0), cm.N)
        return cm, norm, np.arange(lo, hi + 1)
    lo = vmin if vmin is not None else (float(v.min()) if v.size else 0.0)
    hi = vmax if vmax is not None else (float(v.max()) if v.size else 1.0)
    if hi <= lo:
        hi = lo + 1e-9
    return cm, colors.Normalize(vmin=lo, vmax=hi), None


def colorbar(ax, mappable, quantity, *, lang=None, unit=None, ticks=None, label=None):
    """A colour bar beside the map labelled with the quantity and its unit.

    ``quantity`` is a catalogue key (:func:`cimcity.i18n.label` gives
    "Heures d'ensoleillement (h)") or a column name shown as is with ``unit``.
    """
    if label is None:
        try:
            label = i18n.label(quantity, lang, unit_text=unit)
        except KeyError:
            text = str(quantity).replace("_", " ")
            label = f"{text} ({unit})" if unit else text
    cb = ax.figure.colorbar(mappable, ax=ax, shrink=0.7, pad=0.02, ticks=ticks)
    cb.set_label(label)
    cb.formatter.set_useOffset(False) if hasattr(cb.formatter, "set_useOffset") else None
    return cb


# -- base ------------------------------------------------------------------------------------
def start(
    ax=None,
    extent=None,
    *,
    crs=None,
    scene=None,
    basemap=None,
    layers=("parcels", "water", "vegetation", "roads", "buildings"),
    figsize=(8, 8),
    lang=None,
):
    """Axes ready for a map: the extent set and the base drawn under the data.

    Parameters
    ----------
    ax : matplotlib Axes, optional
        Created when None.
    extent : (xmin, ymin, xmax, ymax) [m], optional
        Map extent (default: the scene's bounds).
    crs : CRS-like, optional
        Map CRS (default the scene's); needed for tiles and the north arrow.
    scene : Scene, optional
        Its layers form the quiet base.
    basemap : {None, "ign", "osm"}
        Web tiles under the map (:func:`add_basemap`).
    layers : sequence of str
        Base layers drawn from the scene (those it has).
    figsize : (float, float)
        Size of a new figure [inch].
    lang : {"fr", "en"} or None
        Language of the tiles' attribution.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = _plt().subplots(figsize=figsize)
    if extent is None:
        if scene is None:
            raise InputError("a map needs an extent or a scene")
        extent = extent_of(scene.bounds)
    crs = crs if crs is not None else getattr(scene, "crs", None)
    ax._cimcity_map = {"extent": tuple(extent), "crs": crs, "tiles": None}
    _set_extent(ax, extent)
    ax.set_facecolor("#f7f6f3")
    if basemap is not None:
        add_basemap(ax, basemap, crs=crs, lang=lang)
    if scene is not None:
        base_layers(ax, scene, extent, layers=layers)
    return ax


def _set_extent(ax, extent):
    x0, y0, x1, y1 = extent
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_autoscale_on(False)


def _polys(ax, frame, **style):
    if frame is None or not len(frame):
        return
    poly = frame[frame.geom_type.isin(["Polygon", "MultiPolygon"])]
    if len(poly):
        poly.plot(ax=ax, **style)


def base_layers(ax, scene, extent, *, layers=("parcels", "water", "vegetation", "roads", "buildings")):
    """The scene's own layers, light, under the data and cut to ``extent``."""
    has = {
        "parcels": getattr(scene, "parcels", None),
        "vegetation": getattr(scene, "vegetation", None),
        "buildings": getattr(scene, "buildings", None),
    }
    extra = getattr(scene, "layers", {}) or {}
    for name in layers:
        frame = has.get(name, extra.get(name))
        if frame is None or not len(frame) or "geometry" not in getattr(frame, "columns", ()):
            continue
        frame = clip(frame, extent)
        if not len(frame):
            continue
        if name == "roads":
            _roads(ax, frame)
            continue
        style = dict(BASE_STYLE.get(name, BASE_STYLE["parcels"]))
        _polys(ax, frame, zorder=Z_BASE + (0.2 if name == "buildings" else 0), **style)


def _roads(ax, roads):
    """Road lines as light bands as wide as the road (``largeur`` [m]) when
    known, road polygons filled."""
    st = BASE_STYLE["roads"]
    lines = roads[roads.geom_type.isin(["LineString", "MultiLineString"])]
    if len(lines):
        width = lines["largeur"] if "largeur" in lines else None
        w = np.asarray(width, float) if width is not None else np.full(len(lines), np.nan)
        w = np.where(np.isfinite(w) & (w > 0), w, 6.0)
        bands = shapely.buffer(np.asarray(lines.geometry.values), w / 2, cap_style="flat")
        ext = ax._cimcity_map["extent"] if hasattr(ax, "_cimcity_map") else None
        g = gpd.GeoSeries(bands, crs=lines.crs)
        if ext is not None:
            g = clip(g, ext)
        g.plot(ax=ax, facecolor=st["color"], edgecolor=st["edgecolor"], linewidth=0.4,
               zorder=Z_BASE + 0.1)
    _polys(ax, roads, facecolor=st["color"], edgecolor=st["edgecolor"], linewidth=0.4,
           zorder=Z_BASE + 0.1)


def footprints(ax, buildings, extent, *, fill=False, color="0.25", linewidth=0.5, zorder=Z_OUTLINE, **kw):
    """Building footprints outlined (or filled) on top of the data, cut to
    ``extent``."""
    if buildings is None or not len(buildings):
        return
    B = clip(buildings, extent)
    if not len(B):
        return
    if fill:
        B.plot(ax=ax, color=color, linewidth=linewidth, zorder=zorder, **kw)
    else:
        B.boundary.plot(ax=ax, color=color, linewidth=linewidth, zorder=zorder, **kw)


def add_basemap(ax, basemap, *, crs=None, zoom="auto", lang=None):
    """Web tiles under the map; False (and one info log line) when they
    cannot be had.

    Parameters
    ----------
    basemap : {"ign", "osm"} or xyzservices.TileProvider
        Plan IGN (Géoplateforme WMTS) or OpenStreetMap.
    crs : CRS-like
        The map's CRS (tiles are warped to it).
    zoom : int or "auto"

    Returns
    -------
    bool
        True when tiles were drawn. Offline, a failing server, a missing
        contextily or an unknown CRS give False and no exception.

    Raises
    ------
    InputError
        An unknown basemap name (a typo is not a network failure).
    """
    if isinstance(basemap, str):
        if basemap.lower() not in BASEMAPS:
            raise InputError(
                f"unknown basemap {basemap!r}; expected None or one of {sorted(BASEMAPS)}"
            )
        path, attribution = BASEMAPS[basemap.lower()]
    else:
        path, attribution = basemap, None
    if crs is None:
        log.info("no tiles: the map has no CRS")
        return False
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    try:
        import contextily as cx
        import xyzservices.providers as xyz
        from pyproj import Transformer

        source = path
        if isinstance(path, str):
            source = xyz
            for part in path.split("."):
                source = source[part]
        tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        lon, lat = tr.transform([x0, x1, x0, x1], [y0, y0, y1, y1])
        img, ext = cx.bounds2img(
            min(lon), min(lat), max(lon), max(lat), zoom=zoom, source=source, ll=True
        )
        img, ext = cx.warp_tiles(img, ext, t_crs=crs)
    except Exception as e:  # offline, server down, no contextily: the map stays
        log.info("no %s tiles (%s: %s)", basemap, type(e).__name__, e)
        return False
    im = ax.imshow(img, extent=ext, zorder=0, interpolation="bilinear", alpha=0.9)
    im.set_label("basemap")
    _set_extent(ax, (x0, y0, x1, y1))
    if attribution:
        ax.text(
            0.995, 0.005, i18n.term(attribution, lang), transform=ax.transAxes, ha="right",
            va="bottom", fontsize=6, color="0.3", zorder=Z_DECOR,
        )
    if hasattr(ax, "_cimcity_map"):
        ax._cimcity_map["tiles"] = im
    return True


def study_area(ax, area, extent, *, lang=None):
    """Outline the study area and grey the context around it (the part of the
    map that was not analysed). Nothing when ``area`` is None."""
    if area is None or area.is_empty:
        return None
    box = shapely.box(*extent)
    mask = box.difference(area)
    _fill(ax, mask, facecolor="0.55", alpha=0.35, edgecolor="none", zorder=Z_MASK)
    edge = shapely.intersection(area.boundary, box)
    for part in shapely.get_parts(edge):
        if part.geom_type in ("LineString", "LinearRing"):
            x, y = part.xy
            ax.plot(x, y, color="0.15", lw=1.2, ls=(0, (5, 3)), zorder=Z_MASK + 0.1)
    from matplotlib.patches import Patch

    return [
        Patch(facecolor="none", edgecolor="0.15", ls="--", label=i18n.term("study_area", lang)),
        Patch(facecolor="0.55", alpha=0.35, label=i18n.term("map_context", lang)),
    ]


def base_legend(scene, extent, *, lang=None, ground_studied=False) -> list:
    """Legend entries for the quiet base drawn by :func:`start` under the data.

    Without them a resident reads the pale unbuilt parcels and the green
    patches as part of the result (e.g. "roofs without data"). Only the layers
    present inside ``extent`` get an entry; the unbuilt ground gets one only
    when it was not studied (``ground_studied=False``).

    Parameters
    ----------
    scene : Scene or None
    extent : (xmin, ymin, xmax, ymax)
        Map extent [m].
    lang : {"fr", "en"}, optional
    ground_studied : bool
        True when the data drawn cover the ground too.

    Returns
    -------
    list of matplotlib handles (possibly empty)
    """
    from matplotlib.patches import Patch

    handles = []
    if scene is None:
        return handles
    veg = getattr(scene, "vegetation", None)
    if veg is not None and len(veg) and len(clip(veg, extent)):
        st = BASE_STYLE["vegetation"]
        handles.append(Patch(facecolor=st["facecolor"], edgecolor="0.6", lw=0.4,
                             label=i18n.term("vegetation", lang)))
    parcels = getattr(scene, "parcels", None)
    if not ground_studied and parcels is not None and len(parcels) and len(clip(parcels, extent)):
        handles.append(Patch(facecolor="#f7f6f3", edgecolor=BASE_STYLE["parcels"]["edgecolor"],
                             lw=0.6, label=i18n.term("map_unbuilt_not_studied", lang)))
    return handles


def _fill(ax, geom, **kw):
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path

    for g in shapely.get_parts(geom):
        if g.geom_type != "Polygon" or g.is_empty:
            continue
        rings = [np.asarray(g.exterior.coords)] + [np.asarray(r.coords) for r in g.interiors]
        verts = np.concatenate(rings)
        codes = np.concatenate(
            [[Path.MOVETO] + [Path.LINETO] * (len(r) - 2) + [Path.CLOSEPOLY] for r in rings]
        )
        ax.add_patch(PathPatch(Path(verts[:, :2], codes), **kw))


# -- decorations -----------------------------------------------------------------------------
def scale_bar(ax, *, location="lower right"):
    """A scale bar in metres (the map's data units are metres)."""
    from matplotlib_scalebar.scalebar import ScaleBar

    sb = ScaleBar(
        1.0, "m", location=location, box_alpha=0.85, box_color="white", length_fraction=0.2,
        border_pad=0.5, font_properties={"size": 8},
    )
    sb.set_zorder(Z_DECOR)
    ax.add_artist(sb)
    return sb


def north_arrow(ax, *, crs=None, lang=None, note=True):
    """A north arrow pointing to grid north (up), with the meridian
    convergence of ``crs`` at the map centre noted under the map.

    Returns
    -------
    matplotlib.text.Annotation
        The arrow (its ``gid`` is ``"north_arrow"``).
    """
    arrow = ax.annotate(
        i18n.term("north", lang),
        xy=(0.05, 0.96),
        xytext=(0.05, 0.86),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=10,
        fontweight="bold",
        arrowprops=dict(arrowstyle="-|>", color="k", lw=1.5, mutation_scale=14),
        bbox=dict(boxstyle="circle,pad=0.2", fc="white", ec="none", alpha=0.8),
        zorder=Z_DECOR,
    )
    arrow.set_gid("north_arrow")
    if note and crs is not None:
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        try:
            s = _site(crs=crs, bounds=(x0, y0, x1, y1))
        except Exception:  # no projection: no convergence to note
            return arrow
        north = float(s.north)
        name = _crs_name(crs)
        text = i18n.term(
            "map_north_note",
            lang,
            angle=abs(north),
            side=i18n.term("map_east" if north >= 0 else "map_west", lang),
            crs=name,
        )
        hidden = not ax.xaxis.get_visible() or not len(ax.get_xticks())
        t = ax.annotate(
            text, xy=(0.0, 0.0), xycoords="axes fraction",
            xytext=(0, -4 if hidden else -30), textcoords="offset points",
            ha="left", va="top", fontsize=6.5, color="0.35",
        )
        t.set_gid("north_note")
    return arrow


def _crs_name(crs) -> str:
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    epsg = c.to_epsg()
    return "Lambert-93" if epsg == 2154 else (f"EPSG:{epsg}" if epsg else c.name)


def km_axes(ax, *, hide=False, lang=None):
    """Axes ticks in kilometres (no offset text), or no axes at all."""
    if hide:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
        return ax
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    dec = "," if i18n.resolve(lang) == "fr" else "."  # French: decimal comma
    fmt = FuncFormatter(
        lambda v, _: f"{v / 1000:,.2f}".replace(",", "\u202f").replace(".", dec)
    )
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(4))
        axis.set_major_formatter(fmt)
    ax.tick_params(labelsize=7, colors="0.35")
    ax.set_xlabel(i18n.term("easting_km", lang), fontsize=8, color="0.35")
    ax.set_ylabel(i18n.term("northing_km", lang), fontsize=8, color="0.35")
    return ax


def finish(
    ax,
    *,
    title=None,
    crs=None,
    lang=None,
    axes="km",
    legend=None,
    scalebar=True,
    north=True,
):
    """Scale bar, north arrow, axes, title and legend of a map; the extent of
    :func:`start` is set again (drawing must not move it).

    Parameters
    ----------
    title : str, optional
    crs : CRS-like, optional
        For the convergence note (default: the CRS given to :func:`start`).
    lang : {"fr", "en"} or None
    axes : {"km", "hidden"}
    legend : list of matplotlib handles, optional
    scalebar, north : bool

    Returns
    -------
    matplotlib.axes.Axes
    """
    if axes not in ("km", "hidden"):
        raise InputError(f"axes={axes!r}; expected 'km' or 'hidden'")
    info = getattr(ax, "_cimcity_map", {})
    if info.get("extent"):
        _set_extent(ax, info["extent"])
    crs = crs if crs is not None else info.get("crs")
    km_axes(ax, hide=axes == "hidden", lang=lang)
    if scalebar:
        scale_bar(ax)
    if north:
        north_arrow(ax, crs=crs, lang=lang)
    if title:
        ax.set_title(title, fontsize=11)
    if legend:
        ax.legend(handles=legend, loc="upper right", fontsize=7, framealpha=0.9).set_zorder(Z_DECOR)
    return ax
