"""Views of a flood: the 2D map (terrain, water depth, buildings) and the 3D view.

:meth:`FloodResult.plot <cimcity.flood.FloodResult.plot>`,
:meth:`ExposureResult.plot <cimcity.flood.ExposureResult.plot>` and their
``render`` methods draw through the functions here. matplotlib and pyvista
(and :mod:`cimcity.render`, which needs pyvista) load inside the functions.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .. import i18n
from .. import render as R
from .._compat import import_optional
from ..errors import InputError
from ..mesh import terrain_mesh

i18n.add_terms({"flood_level_varies": ("level varying along the river",
                                       "cote variable le long du fleuve")})


def column_or_axes(column, ax, where: str):
    """``(column, ax)``, accepting the old ``plot(ax)`` call for one release.

    ``plot`` used to take the axes first; axes passed in the place of
    ``column`` are moved to ``ax`` with a ``FutureWarning``.
    """
    if column is not None and not isinstance(column, str) and hasattr(column, "plot"):
        warnings.warn(
            f"{where}(ax) is now {where}(column=None, *, ax=...); pass the axes as ax=",
            FutureWarning,
            stacklevel=3,
        )
        if ax is not None:
            raise InputError(f"{where}() got axes twice (positionally and as ax=)")
        return None, column
    return column, ax


def water_cmap():
    """Blues that start at a visible light blue (shallow water must not look
    like dry ground)."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list(
        "cimcity_water", ["#b7d4ea", "#6baed6", "#2171b5", "#08306b"]
    )


# -- 2D map ------------------------------------------------------------------------------
def flood_map(
    flood,
    *,
    ax=None,
    column=None,
    scene=None,
    exposure=None,
    building_column=None,
    hillshade: bool = True,
    cmap=None,
    vmax: float | None = None,
    title: str | None = None,
):
    """2D map: shaded terrain, water, and optionally buildings.

    Parameters
    ----------
    flood : FloodResult
    ax : matplotlib Axes, optional
        Created when None.
    column : str, optional
        ``None`` or ``"depth"``: the water depth grid [m]; else a column of
        ``flood.polygons`` (e.g. ``"max_depth"``, ``"connected"``) filling the
        water bodies.
    scene : Scene, optional
        Draws building outlines.
    exposure : ExposureResult, optional
        Fills buildings: by flooded storeys (dry ones in white), or by
        ``building_column``.
    building_column : str, optional
        Column of ``exposure.buildings`` to colour all buildings by (default:
        flooded storeys of the buildings reached).
    hillshade : bool
        Shade the terrain (else grey elevation).
    cmap : matplotlib colormap or name, optional
        Water colours (default: light to dark blue).
    vmax : float, optional
        Upper bound of the depth colour scale [m].
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    plt = import_optional("matplotlib.pyplot")
    if column not in (None, "depth"):
        _check_column(flood.polygons, column, "polygons")
    if exposure is not None and building_column is not None:
        _check_column(exposure.buildings, building_column, "buildings")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 7))
    t = flood.terrain
    minx, miny, maxx, maxy = t.bounds
    ext = (minx, maxx, miny, maxy)
    _terrain_background(ax, t, ext, hillshade)
    if column is None or column == "depth":
        d = np.ma.masked_invalid(flood.depth)
        im = ax.imshow(
            d,
            extent=ext,
            cmap=cmap or water_cmap(),
            vmin=0,
            vmax=vmax or max(flood.max_depth, 0.1),
            interpolation="nearest",
        )
        ax.figure.colorbar(im, ax=ax, shrink=0.75, label="water depth [m]")
    else:
        _plot_table_column(ax, flood.polygons, column, cmap or water_cmap(), "polygons")
    if exposure is not None:
        B = exposure.buildings
        if building_column is None or building_column == "flooded_storeys":
            _plot_flooded_storeys(ax, B, plt)
        else:
            _plot_table_column(ax, B, building_column, "OrRd", "buildings")
    elif scene is not None and len(scene.buildings):
        scene.buildings.boundary.plot(ax=ax, color="0.25", linewidth=0.5)
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal")
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.tick_params(axis="x", labelrotation=30)
    ax.set_xlabel(f"x [m] ({t.crs.to_string()})")
    ax.set_ylabel("y [m]")
    if title is None:
        s = flood.summary()
        title = (
            f"Flood {s['level']} — {flood.area / 1e4:.2f} ha, {flood.volume:,.0f} m³"
        )
    ax.set_title(title, fontsize=10)
    return ax


def _terrain_background(ax, t, ext, hillshade):
    z = t.elevation
    if hillshade:
        gy, gx = np.gradient(
            np.where(np.isfinite(z), z, np.nanmean(z)), *t.resolution[::-1]
        )
        # light from the north-west, 45 degrees up
        shade = (-gx * -0.5 + gy * 0.5 + 1.0) / np.sqrt(gx**2 + gy**2 + 1.0)
        ax.imshow(
            shade,
            extent=ext,
            cmap="gray",
            vmin=0,
            vmax=1.4,
            interpolation="nearest",
        )
        ax.imshow(z, extent=ext, cmap="terrain", alpha=0.35, interpolation="nearest")
    else:
        ax.imshow(z, extent=ext, cmap="gray", interpolation="nearest")


def _check_column(table, column, what):
    if column not in table.columns or column == "geometry":
        valid = [c for c in table.columns if c != "geometry"]
        raise InputError(
            f"unknown column {column!r} of the {what}; expected one of {valid}"
        )


def _plot_table_column(ax, table, column, cmap, what):
    """Fill the rows of a GeoDataFrame by one of its columns, with a legend."""
    _check_column(table, column, what)
    if not len(table):
        return
    numeric = pd.api.types.is_numeric_dtype(table[column]) and not (
        pd.api.types.is_bool_dtype(table[column])
    )
    kw = {"legend_kwds": {"label": column, "shrink": 0.75}} if numeric else {}
    table.plot(
        column=column,
        ax=ax,
        cmap=cmap,
        categorical=not numeric,
        legend=True,
        edgecolor="0.25",
        linewidth=0.4,
        **kw,
    )


def _plot_flooded_storeys(ax, B, plt):
    """Dry buildings in white; reached ones by flooded storeys (discrete);
    unknown ones (no DEM data, or storeys unknown) hatched grey."""
    from matplotlib import colors
    from matplotlib.patches import Patch

    if not len(B):
        return
    known = B["flooded"].notna().to_numpy()
    fl = B["flooded"].fillna(False).to_numpy(bool)
    fs = B["flooded_storeys"].to_numpy(float, na_value=np.nan)
    unknown = ~known | (fl & ~np.isfinite(fs))
    dry = known & ~fl
    if dry.any():
        B[dry].plot(ax=ax, facecolor="white", edgecolor="0.35", linewidth=0.4)
    if unknown.any():
        B[unknown].plot(
            ax=ax, facecolor="0.8", edgecolor="0.35", linewidth=0.4, hatch="////"
        )
        ax.legend(
            handles=[
                Patch(facecolor="0.8", edgecolor="0.35", hatch="////", label="unknown")
            ],
            loc="lower left",
            fontsize=8,
        )
    shown = fl & ~unknown
    if not shown.any():
        return
    top = max(1, int(fs[shown].max()))
    cmap = plt.get_cmap("OrRd", top + 2)
    cmap = colors.ListedColormap(cmap(np.arange(1, top + 2)))
    norm = colors.BoundaryNorm(np.arange(-0.5, top + 1.5), cmap.N)
    B[shown].plot(ax=ax, color=cmap(norm(fs[shown])), edgecolor="0.25", linewidth=0.4)
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    cb = ax.figure.colorbar(sm, ax=ax, shrink=0.75, ticks=np.arange(0, top + 1))
    cb.set_label("flooded storeys (buildings reached)")


# -- 3D view -----------------------------------------------------------------------------
def flood_view(
    flood,
    path=None,
    *,
    scene=None,
    exposure=None,
    camera: str = "iso",
    window_size=(1600, 1000),
    title: str | None = None,
    lang: str | None = None,
):
    """Offscreen 3D view: the scene (or the bare terrain) and the water surface
    coloured by depth [m]; buildings coloured by flooded storeys when
    ``exposure`` is given.

    Parameters
    ----------
    flood : FloodResult
    path : str or Path, optional
        Output picture (``.png``, ``.jpg``, ``.jpeg``, ``.bmp``, ``.tif``,
        ``.tiff``: :data:`cimcity.render.IMAGE_SUFFIXES`; another suffix, a
        page ``.html`` included, is an ``InputError``); when None the image is
        returned as an array.
    scene : Scene, optional
        Default: the terrain alone.
    exposure : ExposureResult, optional
    camera : str
        A view of :func:`cimcity.render.set_camera` (``"iso"``, ``"top"``...).
    window_size : (int, int)
        Pixels.
    title : str, optional
        Default: "Zone inondée — cote de l'eau 1910 : 34,54 m NGF-IGN69".
    lang : {"fr", "en"}, optional
        Language of the title and colour bars (default: the package's).

    Returns
    -------
    pathlib.Path, or (h, w, 3) uint8 array when ``path`` is None
    """

    if path is not None:
        # the suffix is checked before any drawing, as cimcity.render does:
        # a page (.html) or an unknown type is an InputError naming it
        path = R._output(path, R.IMAGE_SUFFIXES, "a flood view")
    pv = R._pv()
    pl = pv.Plotter(off_screen=True, window_size=list(window_size))
    pl.set_background(R.PALETTE["background"])
    if scene is not None:
        mesh = scene.mesh()
        fv = _storey_face_values(mesh, exposure) if exposure is not None else None
        R.add_scene(
            pl,
            scene,
            mesh=mesh,
            face_values=fv,
            cmap="OrRd",
            clim=(0, max(1.0, np.nanmax(fv))) if fv is not None else None,
            scalar_title="flooded_storeys",
            lang=lang,
        )
        origin = mesh.origin
    else:
        t = flood.terrain
        mesh = terrain_mesh(t, step=max(1, int(np.ceil(max(t.shape) / 1000))))
        origin = mesh.origin
        pl.add_mesh(mesh.to_pyvista(), color=R.PALETTE["terrain"])
    water = water_mesh(flood, origin)
    if water is not None:
        pl.add_mesh(
            water,
            scalars="depth",
            cmap=water_cmap(),
            clim=(0, max(flood.max_depth, 0.1)),
            opacity=0.85,
            # on the left: the right keeps the flooded storeys' bar
            scalar_bar_args={
                **R.legend.bar_arguments(
                    R.quantity_title("water_depth", lang), 0, max(flood.max_depth, 0.1)
                ),
                "position_x": 0.04,
            },
        )
    pl.add_text(
        title or _level_title(flood, lang),
        position="upper_left",
        font_size=12,
        color="black",
    )
    b = mesh.to_pyvista().bounds if mesh.n_faces else water.bounds
    R.set_camera(pl, camera, b)
    if path is None:
        img = pl.screenshot(None, return_img=True)
        pl.close()
        return img
    pl.screenshot(str(path))
    pl.close()
    return path


def _level_title(flood, lang) -> str:
    """ "Zone inondée — cote de l'eau 1910 : 34,54 m NGF-IGN69" (or in English)."""
    info = flood.level_info
    name = getattr(info, "name", None)
    datum = getattr(info, "datum", None) or flood.vertical_datum or ""
    if flood.level is None:
        value = i18n.term("flood_level_varies", lang)
    else:
        value = f"{flood.level:.2f} m {datum}".strip()
        if i18n.resolve(lang) == "fr":
            value = value.replace(".", ",", 1)
    sep = " : " if i18n.resolve(lang) == "fr" else ": "
    level = f"{name}{sep}{value}" if name else value
    return (
        f"{i18n.term('flood_extent', lang)} — "
        f"{i18n.term('water_level', lang).lower()} {level}"
    )


def _storey_face_values(mesh, exposure):
    """Flooded storeys of each face's building (NaN: none or not a building)."""
    if not mesh.n_faces:
        return None
    fs = exposure.buildings["flooded_storeys"].reindex(mesh.building_ids)
    per_b = fs.astype("Float64").to_numpy(float, na_value=np.nan)
    per_b[per_b <= 0] = np.nan
    fv = np.full(mesh.n_faces, np.nan)
    ok = mesh.face_building >= 0
    fv[ok] = per_b[mesh.face_building[ok]]
    return fv if np.isfinite(fv).any() else None


def water_mesh(flood, origin):
    """Water surface as a pyvista mesh (local coordinates, ``depth`` [m] per
    point) or None when nothing floods."""
    pv = import_optional("pyvista")
    wet = flood.wet
    if not wet.any():
        return None
    step = max(1, int(np.ceil(max(wet.shape) / 1000)))
    ws = flood.water_surface[::step, ::step]
    x, y = flood.terrain.cell_centers()
    x, y = x[::step], y[::step]
    rows, cols = ws.shape
    X, Y = np.meshgrid(x - origin[0], y - origin[1])
    verts = np.column_stack([X.ravel(), Y.ravel(), (ws - origin[2]).ravel()])
    dep = flood.depth[::step, ::step].ravel()
    r, c = np.meshgrid(np.arange(rows - 1), np.arange(cols - 1), indexing="ij")
    v00 = (r * cols + c).ravel()
    quads = np.column_stack([v00, v00 + cols, v00 + cols + 1, v00 + 1])
    ok = np.isfinite(verts[quads, 2]).sum(axis=1) >= 3
    quads = quads[ok]
    if not len(quads):
        return None
    # a quad with one dry corner is drawn as the triangle of its wet corners
    tri_list = []
    for a, b, cc in ((0, 1, 2), (0, 2, 3)):
        t = quads[:, [a, b, cc]]
        tri_list.append(t[np.isfinite(verts[t, 2]).all(axis=1)])
    for a, b, cc in ((0, 1, 3), (1, 2, 3)):
        t = quads[:, [a, b, cc]]
        full = np.isfinite(verts[quads, 2]).all(axis=1)
        t = t[~full]
        tri_list.append(t[np.isfinite(verts[t, 2]).all(axis=1)])
    tris = np.concatenate(tri_list)
    v = verts.copy()
    v[:, 2] = np.nan_to_num(v[:, 2])
    poly = pv.PolyData(v, np.hstack([np.full((len(tris), 1), 3), tris]).ravel())
    poly.point_data["depth"] = np.nan_to_num(dep)
    return poly.clean()
