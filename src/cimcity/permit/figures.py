"""Figures of a permit report: the site plan, the street section and the
neighbour impact maps (the 3D views of the project in its street are in
:mod:`cimcity.permit.views3d`).

Every function takes a :class:`~cimcity.permit.PermitReport` (read through its
attributes; this module does not import the report) and ``lang=`` ("fr" or
"en"; None: the package default): labels, legends and captions use the
field's terms (emprise au sol, prospect, gabarit-enveloppe, limites
séparatives, alignement). The site plan and the impact maps draw through
:mod:`cimcity.maps` (quiet base, scale bar, north arrow with the convergence,
km axes). Matplotlib and pyvista load inside the functions that draw.
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np
import pandas as pd
import shapely

from .. import i18n, maps
from .._compat import import_optional
from ._geometry import envelope_height
from .checks.messages import number, phrase
from .impact import IMPACT_SPACING, IMPACT_STEP
from .views3d import (  # noqa: F401  (the 3D views were here; kept importable)
    ENVELOPE_AROUND,
    MAX_EDGE,
    RULE_COLOURS,
    broken_faces,
    render_views,
    view_images,
)

i18n.add_terms(
    {
        "fig_limit_street": ("street alignment", "alignement sur voie"),
        "fig_limit_side": ("side limit", "limite séparative latérale"),
        "fig_limit_rear": ("rear limit", "limite de fond de parcelle"),
        "fig_land": ("land of the application", "terrain d'assiette"),
        "fig_project": ("project", "projet"),
        "fig_project_fails": ("project (placement fails)", "projet (implantation non conforme)"),
        "fig_buildings": ("existing buildings", "bâtiments existants"),
        "fig_not_located": ("project not located", "projet non localisé"),
        "fig_plan_title": (
            "Site plan: land limits and distances", "Plan de masse : limites et distances"
        ),
        "fig_street_width": ("street P = {w} m", "voie P = {w} m"),
        "fig_envelope": (
            "envelope (gabarit): P + {c} m, slope {slope}",
            "gabarit-enveloppe : P + {c} m, pente {slope}",
        ),
        "fig_max_height": ("max height", "hauteur maximale"),
        "fig_max_eave": ("max eave", "hauteur maximale à l'égout"),
        "fig_rear_limit": ("rear limit", "limite de fond de parcelle"),
        "fig_rear_prospect": (
            "rear prospect D ≥ max({k}·H, {d} m)",
            "prospect en fond de parcelle D ≥ max({k}·H ; {d} m)",
        ),
        "fig_depth": (
            "depth behind the street alignment (m)",
            "profondeur en arrière de l'alignement (m)",
        ),
        "fig_height_street": (
            "height above street level (m)", "hauteur au-dessus du niveau de la voie (m)"
        ),
        "fig_section_title": ("Section across the {street}", "Coupe sur la {street}"),
        "fig_impact_cap": (
            "Neighbour impact: change of direct-sun hours on the open ground and facades "
            "around the project (red = lost, blue = gained) on the reference dates "
            "(sensors every {spacing} m, {step} steps).",
            "Impact sur les voisins : variation des heures d'ensoleillement direct sur "
            "le sol libre et les façades autour du projet (rouge = perdu, bleu = gagné) "
            "aux dates de référence (capteurs tous les {spacing} m, pas de {step}).",
        ),
    }
)

#: colours of the limit kinds on the site plan and the section
LIMIT_COLOURS = {"street": "#1f5fbf", "side": "#e08a00", "rear": "#8e3fb5"}
#: rules whose failure is a placement failure (the footprint is drawn red)
PLACEMENT_RULES = {
    "side_setback",
    "rear_setback",
    "street_setback",
    "within_land",
    "max_footprint_ratio",
    "envelope",
}


def pyplot():
    """matplotlib.pyplot on the Agg backend (MissingDependencyError naming the
    extra when matplotlib is absent)."""
    mpl = import_optional("matplotlib")
    mpl.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def png(fig) -> str:
    """A matplotlib figure as base64 PNG (the figure is closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _draw_geom(ax, geom, **kw):
    """Polygons filled and lines drawn on ``ax`` (matplotlib keywords)."""
    for g in shapely.get_parts(geom):
        if g.geom_type == "Polygon":
            x, y = g.exterior.xy
            ax.fill(x, y, **kw)
            for h in g.interiors:
                hx, hy = h.xy
                ax.fill(hx, hy, color="white", zorder=kw.get("zorder", 1))
        elif g.geom_type in ("LineString", "LinearRing"):
            x, y = g.xy
            ax.plot(
                x,
                y,
                **{
                    k: v
                    for k, v in kw.items()
                    if k not in ("ec", "fc", "edgecolor", "facecolor")
                },
            )


def plot_site_plan(report, ax=None, margin: float = 25.0, lang: str | None = None):
    """Site plan of a permit report (matplotlib Axes).

    The scene's layers as a quiet base (parcels, roads as wide as they are,
    existing buildings; :mod:`cimcity.maps`), the land of the application
    (cream) with its classified limits (street alignment blue, side limits
    orange, rear limit purple), the project footprint (orange, red when a
    placement rule fails), the worst distance to each limit, a scale bar and a
    north arrow (grid north, the convergence noted).

    Parameters
    ----------
    report : PermitReport
    ax : matplotlib Axes, optional
    margin : float
        Context drawn around the land [m].
    lang : {"fr", "en"} or None
        Language of the labels (None: the package default).
    """
    plt = pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 7))
    scene, land = report.scene, report.land
    bim = report.bim
    focus = land if land is not None else getattr(bim, "footprint", None)
    if focus is None or focus.is_empty:
        ax.text(
            0.5, 0.5, i18n.term("fig_not_located", lang), ha="center",
            transform=ax.transAxes,
        )
        return ax
    x0, y0, x1, y1 = focus.bounds
    box = shapely.box(x0 - margin, y0 - margin, x1 + margin, y1 + margin)
    maps.start(ax, box.bounds, crs=scene.crs, scene=scene, lang=lang)
    if land is not None:
        _draw_geom(ax, land, fc="#fbf3d9", ec="none", zorder=2.5)
    fails = set(report.results.loc[report.results["status"] == "fail", "rule"])
    placement_fail = bool(fails & PLACEMENT_RULES)
    fp = getattr(bim, "footprint", None)
    if fp is not None and report.context.get("placed"):
        _draw_geom(
            ax,
            fp,
            fc="#e8573f" if placement_fail else "#f39a3d",
            ec="#7a2e12",
            lw=1.2,
            alpha=0.85,
            zorder=4,
        )
    if report.limits is not None and len(report.limits):
        _draw_limits(ax, report.limits, lang)
    _draw_marks(ax, report.context.get("marks", []), lang)
    _decorate_plan(ax, placement_fail, lang)
    return ax


def _draw_limits(ax, L, lang=None) -> None:
    """The classified limits, coloured by kind and labelled (street width)."""
    for _, lim in L.iterrows():
        x, y = lim.geometry.xy
        ax.plot(
            x,
            y,
            color=LIMIT_COLOURS.get(lim["kind"], "k"),
            lw=3.2,
            zorder=3,
            solid_capstyle="butt",
        )
        m = lim.geometry.interpolate(0.5, normalized=True)
        # the label runs along its limit (two side limits of a narrow land
        # would otherwise write over each other across it)
        (ax0, ay0), (ax1, ay1) = lim.geometry.coords[0], lim.geometry.coords[-1]
        angle = math.degrees(math.atan2(ay1 - ay0, ax1 - ax0))
        angle = (angle + 90.0) % 180.0 - 90.0  # never upside down
        label = phrase(lim["name"], lang)
        if lim["kind"] == "street" and np.isfinite(lim.get("street_width", np.nan)):
            label += f"\nP = {number(lim['street_width'], '.1f', lang)} m"
        ax.annotate(
            label,
            (m.x, m.y),
            fontsize=7,
            color=LIMIT_COLOURS.get(lim["kind"]),
            ha="center",
            va="center",
            rotation=angle,
            rotation_mode="anchor",
            zorder=6,
            bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.8),
        )


def _draw_marks(ax, marks, lang=None) -> None:
    """The worst distances (arrows from the building to the limit, labelled)."""
    code = i18n.resolve(lang)
    for mk in marks:
        col = {"pass": "#1b7f3b", "fail": "#b3261e"}.get(mk["status"], "#8a5a00")
        ax.annotate(
            "",
            xy=(mk["x2"], mk["y2"]),
            xytext=(mk["x"], mk["y"]),
            arrowprops=dict(arrowstyle="<->", color=col, lw=1.4),
            zorder=7,
        )
        ax.text(
            (mk["x"] + mk["x2"]) / 2,
            (mk["y"] + mk["y2"]) / 2,
            (mk.get("labels") or {}).get(code, mk["label"]),
            fontsize=7,
            color=col,
            zorder=8,
            ha="left",
            va="bottom",
            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec=col, lw=0.5, alpha=0.9),
        )


def _decorate_plan(ax, placement_fail=False, lang=None) -> None:
    """Title, legend, scale bar, north arrow and km axes of the site plan
    (:func:`cimcity.maps.finish`)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    t = lambda key: i18n.term(key, lang)  # noqa: E731
    handles = [
        Line2D([], [], color=c, lw=3, label=t(f"fig_limit_{k}"))
        for k, c in LIMIT_COLOURS.items()
    ]
    handles += [
        Patch(fc="#fbf3d9", ec="#c8c4bc", label=t("fig_land")),
        Patch(fc="#f39a3d", ec="#7a2e12", label=t("fig_project")),
    ]
    if placement_fail:
        handles.append(Patch(fc="#e8573f", ec="#7a2e12", label=t("fig_project_fails")))
    style = maps.BASE_STYLE["buildings"]
    handles.append(
        Patch(fc=style["facecolor"], ec=style["edgecolor"], label=t("fig_buildings"))
    )
    maps.finish(ax, title=t("fig_plan_title"), lang=lang)
    # the legend beside the map: on it, it would hide the land's surroundings
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7,
        framealpha=0.9, borderaxespad=0.0,
    )


def plot_section(report, ax=None, lang: str | None = None):
    """Street section across the project: building silhouette against the street
    envelope (gabarit-enveloppe), the height limits and the rear prospect line
    (matplotlib Axes).

    The horizontal axis is the depth behind the street alignment [m] (the
    street on the left), the vertical axis the height above the street's
    ground level [m]; labels in ``lang`` (None: the package default).
    """
    t = lambda key, **v: i18n.term(key, lang, **v)  # noqa: E731
    plt = pyplot()
    env = report.context.get("section")
    if env is None:
        env = section_data(report)
        if env is None:
            return None
        report.context["section"] = env
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4.2))
    d, z = env["silhouette"]
    for poly in env.get("polygons", []):
        ax.fill(*poly.exterior.xy, fc="#f39a3d", ec="#7a2e12", lw=0.8, zorder=3)
    if not env.get("polygons"):
        ax.fill(d, z, fc="#f39a3d", ec="#7a2e12", lw=0.8, zorder=3)
    P = env["width"]
    dmax = env["depth_max"]
    ax.axvspan(-P, 0, color="#e9e9ee", zorder=0)
    ax.text(
        -P / 2, 0.5, t("fig_street_width", w=number(P, ".1f", lang)), ha="center",
        fontsize=8, color="#555",
    )
    ax.axhline(0, color="#7b6a4b", lw=1)
    if env.get("c") is not None:
        dd = np.linspace(0, dmax, 200)
        hh = envelope_height(dd, P, env["c"], env["slope"], env["ceiling"])
        ax.plot(
            np.r_[0, dd],
            np.r_[0, hh],
            color="#1b7f3b",
            lw=1.6,
            ls="--",
            label=t(
                "fig_envelope",
                c=number(env["c"], "g", lang),
                slope=number(env["slope"], "g", lang),
            ),
            zorder=4,
        )
    for name, h, col in env.get("lines", []):
        ax.axhline(h, color=col, lw=1, ls=":", zorder=2)
        ax.text(
            dmax,
            h,
            f" {t(_LINE_NAMES.get(name, name)) if name in _LINE_NAMES else name} "
            f"{number(h, '.1f', lang)} m",
            va="bottom",
            ha="right",
            fontsize=7,
            color=col,
        )
    if env.get("rear") is not None:
        r = env["rear"]
        ax.axvline(r["depth"], color=LIMIT_COLOURS["rear"], lw=1.5)
        ax.text(
            r["depth"],
            0.5,
            " " + t("fig_rear_limit"),
            color=LIMIT_COLOURS["rear"],
            fontsize=7,
            rotation=90,
            va="bottom",
        )
        if r["k"] > 0:
            dd = np.linspace(r["depth"] - r["d_min"] - 40, r["depth"] - r["d_min"], 50)
            ax.plot(
                dd,
                (r["depth"] - dd) / r["k"],
                color=LIMIT_COLOURS["rear"],
                lw=1,
                ls="--",
                label=t(
                    "fig_rear_prospect",
                    k=number(r["k"], "g", lang),
                    d=number(r["d_min"], "g", lang),
                ),
            )
    pen = env.get("penetration")
    if pen is not None and pen["value"] > 0:
        ax.plot([pen["depth"]], [pen["h"]], "o", color="#b3261e", zorder=6)
        ax.annotate(
            f"+{number(pen['value'], '.2f', lang)} m",
            (pen["depth"], pen["h"]),
            fontsize=8,
            color="#b3261e",
            xytext=(6, 6),
            textcoords="offset points",
        )
    top = (
        max(
            float(np.nanmax(z)) if len(z) else 0.0,
            env.get("ymax", 0.0),
            *[h for _, h, _ in env.get("lines", [])],
        )
        + 4
    )
    ax.set_xlim(-P - 2, dmax)
    ax.set_ylim(-1, top)
    ax.set_xlabel(t("fig_depth"))
    ax.set_ylabel(t("fig_height_street"))
    ax.set_title(t("fig_section_title", street=phrase(env["street"], lang)), fontsize=10)
    # the legend under the section: in it, it hid the height limits
    ax.legend(
        fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2,
        frameon=False,
    )
    ax.set_aspect("equal")
    return ax


#: height lines of the section -> catalogue key of their label
_LINE_NAMES = {"max height": "fig_max_height", "max eave": "fig_max_eave"}


def section_data(report):
    """Silhouette of the project in the (depth, height) plane of its main street,
    with the limits drawn on the section; None without a street limit."""
    L = report.limits
    env = report.context.get("envelope")
    if L is None or not len(L) or report.bim is None:
        return None
    streets = L[L["kind"] == "street"]
    if not len(streets):
        return None
    s = (
        streets.loc[streets["length"].idxmax()]
        if "length" in streets
        else streets.iloc[0]
    )
    line = s.geometry
    bim = report.bim
    V = np.asarray(bim.mesh.vertices, float)
    F = np.asarray(bim.mesh.faces, np.int64)
    pts = shapely.points(V[:, :2])
    depth = shapely.distance(pts, line)
    # side of the street: points in the street get negative depth
    inside = shapely.intersects(report.land.buffer(0.05), pts)
    depth = np.where(inside, depth, -depth)
    proj = shapely.line_interpolate_point(line, shapely.line_locate_point(line, pts))
    xy = shapely.get_coordinates(proj)
    if report.scene.terrain is not None:
        g = report.scene.terrain.sample(xy[:, 0], xy[:, 1])
        g = np.where(np.isfinite(g), g, bim.base_z)
    else:
        g = np.full(len(V), bim.base_z)
    h = V[:, 2] - g
    tri = np.stack([depth[F], h[F]], axis=-1)  # (m, 3, 2)
    area = 0.5 * np.abs(
        (tri[:, 1, 0] - tri[:, 0, 0]) * (tri[:, 2, 1] - tri[:, 0, 1])
        - (tri[:, 2, 0] - tri[:, 0, 0]) * (tri[:, 1, 1] - tri[:, 0, 1])
    )
    tri = tri[area > 1e-6]
    polys = []
    if len(tri):
        if len(tri) > 20000:
            tri = tri[np.argsort(-area[area > 1e-6])[:20000]]
        u = shapely.union_all(
            shapely.polygons(np.concatenate([tri, tri[:, :1]], axis=1)), grid_size=0.01
        )
        polys = [p for p in shapely.get_parts(u) if p.geom_type == "Polygon"]
    rules = report.results
    lines = []
    for rule, name, col in (
        ("max_height", "max height", "#b3261e"),
        ("max_eave_height", "max eave", "#8a5a00"),
    ):
        r = rules[(rules["rule"] == rule) & (rules["unit"] == "m")]
        if len(r) and np.isfinite(r["limit"].iloc[0]):
            lines.append((name, float(r["limit"].iloc[0]), col))
    rear = None
    zr = report.context.get("rear_rule")
    R = L[L["kind"] == "rear"]
    if zr is not None and len(R):
        rd = float(
            max(
                shapely.distance(
                    shapely.points(shapely.get_coordinates(R.geometry.values)), line
                )
            )
        )
        rear = dict(depth=rd, k=zr["k"], d_min=zr["d_min"])
    dmax = float(max(np.nanmax(depth) + 6, rear["depth"] + 4 if rear else 0))
    out = dict(
        silhouette=(depth, h),
        polygons=polys,
        street=s["name"],
        width=float(s["street_width"]) if np.isfinite(s["street_width"]) else 0.0,
        depth_max=dmax,
        lines=lines,
        rear=rear,
        ymax=float(np.nanmax(h)),
    )
    if env is not None:
        out.update(
            c=env["c"],
            slope=env["slope"],
            ceiling=env["ceiling"],
            penetration=dict(
                value=env["penetration"], depth=env["depth"], h=env["z"] - env["ground"]
            ),
        )
    return out


def impact_figures(report, lang: str | None = None) -> list[tuple[str, str]]:
    """One map per date of the sun-hours change (red lost, blue gained) as
    ``[(caption, base64 PNG)]``; empty without an impact or points.

    Each map draws through :mod:`cimcity.maps`: the scene with the project as
    a quiet base, a diverging scale centred on 0 h, a scale bar, a north arrow
    and the date as the language writes it.
    """
    res_dict = report.context.get("impact")
    if not res_dict or res_dict.get("result") is None:
        return []
    res = res_dict["result"]
    P = res.points
    if not len(P) or not len(res.dates):
        return []
    plt = pyplot()
    n = len(res.dates)
    fig, axes = plt.subplots(1, n, figsize=(5.5 * n, 5.6), squeeze=False)
    vmax = max(float(np.abs(P["delta"]).max()), 0.25)
    extent = maps.extent_of(P[["x", "y"]].to_numpy())
    after = res_dict["after"]
    crs = getattr(after, "crs", None)
    cmap, norm, _ = maps.color_scale("sun_hours_change", vmax=vmax)
    sc = None
    for ax, day in zip(axes[0], res.dates, strict=True):
        maps.start(ax, extent, crs=crs, scene=after, lang=lang)
        D = P[P["date"] == pd.Timestamp(day).date()]
        still = D[D["delta"] == 0]
        ax.scatter(still["x"], still["y"], s=1, c="#cfcfcf", lw=0, zorder=maps.Z_DATA)
        ch = D[D["delta"] != 0].sort_values("delta", key=np.abs)
        sc = ax.scatter(
            ch["x"], ch["y"], s=3, c=ch["delta"], cmap=cmap, norm=norm, lw=0,
            zorder=maps.Z_DATA + 0.1,
        )
        maps.footprints(ax, after.buildings, extent, color="#555555", linewidth=0.4)
        t = res_dict.get("land")
        if t is not None:
            _draw_geom(ax, t.boundary, color="#7a2e12", lw=1.3, zorder=maps.Z_OUTLINE)
        title = maps.title_text("sun_hours_change", when=pd.Timestamp(day), lang=lang)
        maps.finish(ax, title=title, lang=lang, axes="hidden")
        ax.title.set_fontsize(9)
    if sc is not None:
        cb = fig.colorbar(sc, ax=list(axes[0]), shrink=0.8)
        cb.set_label(i18n.label("sun_hours_change", lang))
    cap = i18n.term(
        "fig_impact_cap",
        lang,
        spacing=number(IMPACT_SPACING, "g", lang),
        step=IMPACT_STEP,
    )
    return [(cap, png(fig))]
