"""2D flood maps: depths or water bodies on the terrain and the scene's layers,
buildings by flooded storeys (discrete scale), drawn with :mod:`cimcity.maps`."""

from __future__ import annotations

import numpy as np

from .. import i18n, maps
from .levels import Level
from .views import _check_column, _plot_table_column, water_cmap
from .views import _terrain_background as terrain_background


def flood_map2d(
    flood, *, ax=None, column=None, scene=None, exposure=None, building_column=None,
    hillshade=True, cmap=None, vmax=None, title=None, lang=None, basemap=None,
    axes="km",
):
    """The flood map of :meth:`FloodResult.plot` and
    :meth:`ExposureResult.plot <cimcity.flood.ExposureResult.plot>`."""
    if column not in (None, "depth"):
        _check_column(flood.polygons, column, "polygons")
    if exposure is not None and building_column is not None:
        _check_column(exposure.buildings, building_column, "buildings")
    t = flood.terrain
    extent = tuple(float(v) for v in t.bounds)
    layers = ("water", "roads") if exposure is not None else ("water", "roads", "buildings")
    ax = maps.start(
        ax, extent, crs=t.crs, scene=None, basemap=basemap, lang=lang, figsize=(8, 7)
    )
    if basemap is None or ax._cimcity_map["tiles"] is None:
        terrain_background(ax, t, (extent[0], extent[2], extent[1], extent[3]), hillshade)
    if scene is not None:
        maps.base_layers(ax, scene, extent, layers=layers)
    if column is None or column == "depth":
        cm, norm, _ = maps.color_scale(
            "water_depth", None, vmin=0.0, vmax=vmax or max(flood.max_depth, 0.1),
            cmap=cmap,
        )
        im = ax.imshow(
            np.ma.masked_invalid(flood.depth),
            extent=(extent[0], extent[2], extent[1], extent[3]),
            cmap=cm, norm=norm, interpolation="nearest", zorder=maps.Z_DATA,
        )
        maps.colorbar(ax, im, "water_depth", lang=lang)
    else:
        _plot_table_column(ax, maps.clip(flood.polygons, extent), column, cmap or water_cmap(), "polygons")
    legend = []
    if exposure is not None:
        B = maps.clip(exposure.buildings, extent)
        if building_column is None or building_column == "flooded_storeys":
            legend = _flooded_storeys(ax, B, lang)
        else:
            _plot_table_column(ax, B, building_column, "OrRd", "buildings")
    elif scene is not None:
        maps.footprints(ax, scene.buildings, extent, color="0.25", linewidth=0.5)
    if title is None:
        place = maps.place_of(scene, t.crs, extent, lang)
        info = flood.level_info
        if isinstance(info, Level):
            datum = info.datum or flood.vertical_datum or ""
            lv = f"{info.name + ' : ' if info.name else ''}{info.value:.2f} m {datum}".strip()
        elif flood.level is not None:
            lv = f"{flood.level:.2f} m {flood.vertical_datum or ''}".strip()
        else:
            lv = flood.level_label()
        vol = f"{flood.volume:,.0f}".replace(",", "\u202f")
        area = f"{flood.area / 1e4:.2f} ha, {vol} m³"
        title = (
            f"{i18n.term('flood_extent', lang)} — "
            + ", ".join(p for p in (place, f"{i18n.term('water_level', lang).lower()} {lv}") if p)
            + f"\n{area}"
        )
        if i18n.resolve(lang) == "en":
            title = title.replace(" : ", ": ")
    return maps.finish(ax, title=title, lang=lang, axes=axes, legend=legend)


def _flooded_storeys(ax, B, lang) -> list:
    """Buildings by flooded storeys on a discrete scale (one colour per count);
    dry ones white, unknown ones (no DEM data, or storeys unknown) hatched
    grey. Returns the legend handles."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.patches import Patch

    if B is None or not len(B):
        return []
    known = B["flooded"].notna().to_numpy()
    fl = B["flooded"].fillna(False).to_numpy(bool)
    fs = B["flooded_storeys"].to_numpy(float, na_value=np.nan)
    unknown = ~known | (fl & ~np.isfinite(fs))
    dry = known & ~fl
    handles = []
    if dry.any():
        B[dry].plot(ax=ax, facecolor="white", edgecolor="0.35", linewidth=0.4, zorder=maps.Z_DATA + 1)
        handles.append(Patch(facecolor="white", edgecolor="0.35", label=i18n.term("map_dry", lang)))
    if unknown.any():
        B[unknown].plot(
            ax=ax, facecolor="0.8", edgecolor="0.35", linewidth=0.4, hatch="////",
            zorder=maps.Z_DATA + 1,
        )
        handles.append(
            Patch(facecolor="0.8", edgecolor="0.35", hatch="////", label=i18n.term("unknown", lang))
        )
    shown = fl & ~unknown
    if shown.any():
        cm, norm, ticks = maps.color_scale(
            "flooded_storeys", fs[shown], vmin=0, vmax=max(1, int(fs[shown].max()))
        )
        B[shown].plot(
            ax=ax, color=cm(norm(fs[shown])), edgecolor="0.25", linewidth=0.4,
            zorder=maps.Z_DATA + 1,
        )
        sm = ScalarMappable(norm=norm, cmap=cm)
        sm.set_array([])
        maps.colorbar(ax, sm, "flooded_storeys", lang=lang, ticks=ticks)
    return handles
