"""Figures of a permit report: the site plan, the street section, 3D views of
the project in its street and the neighbour impact maps.

Every function takes a :class:`~cimcity.permit.PermitReport` (read through its
attributes; this module does not import the report). Matplotlib and pyvista
load inside the functions that draw.
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np
import pandas as pd
import shapely

from .. import render
from .._compat import import_optional
from ._geometry import envelope_height, violation_margin
from .checks.context import LENGTH_TOL
from .impact import IMPACT_SPACING, IMPACT_STEP

#: colours of the limit kinds on the site plan and the section
LIMIT_COLOURS = {"street": "#1f5fbf", "side": "#e08a00", "rear": "#8e3fb5"}
#: colours of the broken rules in the 3D views, one per failing rule (RGB 0-1)
RULE_COLOURS = (
    (0.85, 0.10, 0.10),
    (0.75, 0.10, 0.65),
    (0.45, 0.20, 0.85),
    (0.10, 0.35, 0.90),
    (0.55, 0.05, 0.05),
    (0.05, 0.55, 0.55),
)
#: the street envelope is drawn over the land within this distance of the
#: footprint [m]
ENVELOPE_AROUND = 12.0
#: the model is cut into triangles of at most this edge before the broken
#: parts are coloured [m]
MAX_EDGE = 0.5
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


def plot_site_plan(report, ax=None, margin: float = 25.0):
    """Site plan of a permit report (matplotlib Axes).

    Parcels around (grey outlines), existing buildings (grey), roads, the
    land (cream) with its classified limits (street blue, side orange, rear
    purple), the project footprint (orange, red when a placement rule fails) and
    the worst distance to each limit.

    Parameters
    ----------
    report : PermitReport
    ax : matplotlib Axes, optional
    margin : float
        Context drawn around the land [m].
    """
    plt = pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 7))
    scene, land = report.scene, report.land
    bim = report.bim
    focus = land if land is not None else getattr(bim, "footprint", None)
    if focus is None or focus.is_empty:
        ax.text(0.5, 0.5, "project not located", ha="center", transform=ax.transAxes)
        return ax
    x0, y0, x1, y1 = focus.bounds
    box = shapely.box(x0 - margin, y0 - margin, x1 + margin, y1 + margin)
    _draw_surroundings(ax, scene, box)
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
        _draw_limits(ax, report.limits)
    _draw_marks(ax, report.context.get("marks", []))
    _decorate_plan(ax, box)
    return ax


def _draw_surroundings(ax, scene, box) -> None:
    """Parcels (grey outlines), buildings (grey) and road lines inside ``box``."""
    P = scene.parcels
    if len(P):
        near = P[shapely.intersects(P.geometry.values, box)]
        for g in near.geometry.values:
            _draw_geom(ax, g.boundary, color="#9a9a9a", lw=0.7, zorder=1)
    B = scene.buildings
    if len(B):
        nb = B[shapely.intersects(B.geometry.values, box)]
        for g in nb.geometry.values:
            _draw_geom(ax, g, fc="#d0ccc4", ec="#8c877c", lw=0.5, zorder=2)
    roads = scene.layers.get("roads")
    if roads is not None and len(roads):
        for _, r in roads[
            shapely.intersects(roads.geometry.values, box.buffer(20))
        ].iterrows():
            g = r.geometry
            if g.geom_type in ("LineString", "MultiLineString"):
                for part in shapely.get_parts(g):
                    x, y = part.xy
                    ax.plot(x, y, color="#bbbbbb", lw=1, ls="--", zorder=1)


def _draw_limits(ax, L) -> None:
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
        label = lim["name"]
        if lim["kind"] == "street" and np.isfinite(lim.get("street_width", np.nan)):
            label += f"\nP = {lim['street_width']:.1f} m"
        ax.annotate(
            label,
            (m.x, m.y),
            fontsize=7,
            color=LIMIT_COLOURS.get(lim["kind"]),
            ha="center",
            va="center",
            zorder=6,
            bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.8),
        )


def _draw_marks(ax, marks) -> None:
    """The worst distances (arrows from the building to the limit, labelled)."""
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
            mk["label"],
            fontsize=7,
            color=col,
            zorder=8,
            ha="left",
            va="bottom",
            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec=col, lw=0.5, alpha=0.9),
        )


def _decorate_plan(ax, box) -> None:
    """Extent, title, legend and north arrow of the site plan."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ax.set_xlim(box.bounds[0], box.bounds[2])
    ax.set_ylim(box.bounds[1], box.bounds[3])
    ax.set_aspect("equal")
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.tick_params(labelsize=7)
    ax.set_title("Site plan: land limits and distances", fontsize=10)
    handles = [Line2D([], [], color=c, lw=3, label=k) for k, c in LIMIT_COLOURS.items()]
    handles += [
        Patch(fc="#f39a3d", ec="#7a2e12", label="project"),
        Patch(fc="#d0ccc4", ec="#8c877c", label="buildings"),
    ]
    ax.legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.9)
    # north arrow
    ax.annotate(
        "N",
        xy=(0.04, 0.95),
        xytext=(0.04, 0.86),
        xycoords="axes fraction",
        ha="center",
        fontsize=9,
        arrowprops=dict(arrowstyle="-|>", color="k"),
    )


def plot_section(report, ax=None):
    """Street section across the project: building silhouette against the street
    envelope, the height limits and the rear prospect line (matplotlib Axes).

    The horizontal axis is the depth behind the street alignment [m] (the
    street on the left), the vertical axis the height above the street's
    ground level [m].
    """
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
    ax.text(-P / 2, 0.5, f"street P = {P:.1f} m", ha="center", fontsize=8, color="#555")
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
            label=f"envelope: P + {env['c']:g} m, slope {env['slope']:g}",
            zorder=4,
        )
    for name, h, col in env.get("lines", []):
        ax.axhline(h, color=col, lw=1, ls=":", zorder=2)
        ax.text(
            dmax,
            h,
            f" {name} {h:.1f} m",
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
            " rear limit",
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
                label=f"rear prospect D ≥ max({r['k']:g}·H, {r['d_min']:g} m)",
            )
    pen = env.get("penetration")
    if pen is not None and pen["value"] > 0:
        ax.plot([pen["depth"]], [pen["h"]], "o", color="#b3261e", zorder=6)
        ax.annotate(
            f"+{pen['value']:.2f} m",
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
    ax.set_xlabel("depth behind the street alignment [m]")
    ax.set_ylabel("height above street level [m]")
    ax.set_title(f"Section across {env['street']}", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    ax.set_aspect("equal")
    return ax


def render_views(report, size=(1100, 700)) -> list[tuple[str, str]]:
    """3D views of the project in its street (pyvista offscreen): the parts
    that break a rule in one colour per rule, the street envelope as a
    translucent green surface when it was checked.

    Returns
    -------
    list of (caption, base64 PNG)
        From the street, then from the garden side; each caption says what is
        drawn (and what is not, and why).
    """
    return [(cap, _img_b64(img)) for cap, img in view_images(report, size)]


def _ground_fn(report):
    """``ground(x, y) -> z`` [m]: the DEM, else the project's base."""
    terrain = report.scene.terrain
    base = float(report.bim.base_z)

    def ground(x, y):
        if terrain is None:
            return np.full(len(x), base)
        g = terrain.sample(np.asarray(x, float), np.asarray(y, float))
        return np.where(np.isfinite(g), g, base)

    return ground


def broken_faces(report, max_edge: float = MAX_EDGE):
    """Where each failing rule is broken on the project's surface.

    The model is cut into triangles of at most ``max_edge`` [m] and each
    triangle is tested at its centre against the rule it may break (the
    ``violations`` recorded by the checks): only the parts that break a rule
    are highlighted, not whole elements.

    Returns
    -------
    vertices : (n, 3) float
        Vertices of the cut model [m, scene CRS].
    faces : (m, 3) int
    owner : (m,) int
        Per face, the index in ``labels`` of the rule it breaks (-1: none).
    labels : list of str
        The failing rules drawn (``"UG.7.1 side_setback (left side limit)"``).
    unplaced : list of str
        The failing rules with no place on the model (ratios).
    """
    import trimesh

    bim = report.bim
    V = np.asarray(bim.mesh.vertices, float)
    F = np.asarray(bim.mesh.faces, np.int64)
    specs = report.context.get("violations", [])
    owner_src = np.full(len(F), -1)
    labels, unplaced = [], []
    articles = dict(
        zip(report.results["rule"], report.results["article"], strict=False)
    )
    if specs and len(F):
        V2, F2, idx = trimesh.remesh.subdivide_to_size(
            V, F, max_edge=max_edge, max_iter=12, return_index=True
        )
    else:
        V2, F2, idx = V, F, np.arange(len(F))
    owner = np.full(len(F2), -1)
    ground = _ground_fn(report)
    centres = V2[F2].mean(axis=1) if len(F2) else np.zeros((0, 3))
    for spec in specs:
        label = f"{articles.get(spec['rule'], '')} {spec['rule']}".strip()
        if spec.get("subject"):
            label += f" ({spec['subject']})"
        if spec["kind"] == "none":
            unplaced.append(label)
            continue
        if spec["kind"] == "faces":
            hit = np.isin(idx, np.asarray(spec.get("faces", []), np.int64))
        else:
            hit = violation_margin(spec, centres, ground) < -LENGTH_TOL
        if not hit.any():
            continue
        k = len(labels)
        labels.append(label)
        owner[hit & (owner < 0)] = k
    del owner_src
    return V2, F2, owner, labels, unplaced


def view_images(report, size=(1100, 700)) -> list[tuple[str, np.ndarray]]:
    """The 3D views of :func:`render_views` as ``(caption, (h, w, 3) uint8
    array)``, from the street then from the garden side.

    The context (neighbouring buildings, terrain) is drawn when the scene has
    some; without it the project is drawn alone, and the caption says so.
    """
    import_optional("pyvista")
    pv = render._pv()
    PALETTE = render.PALETTE
    bim, scene = report.bim, report.scene
    fp = bim.footprint
    after = scene.with_project(bim, parcels=report.land_info.get("parcels") or None)
    x0, y0, x1, y1 = fp.bounds
    m = 45.0
    ctx = after.clip((x0 - m, y0 - m, x1 + m, y1 + m), margin=5.0)
    mesh = ctx.mesh()
    ids = mesh.building_ids
    is_proj = np.isin(ids, [bim.id]) if len(ids) else np.zeros(0, bool)
    fb = mesh.face_building
    keep = (
        ~((fb >= 0) & is_proj[np.clip(fb, 0, max(len(ids) - 1, 0))])
        if len(ids)
        else np.ones(mesh.n_faces, bool)
    )
    context = mesh.subset(keep)
    origin = mesh.origin
    V, F, owner, labels, unplaced = broken_faces(report)
    cells = np.hstack([np.full((len(F), 1), 3), F]).ravel()
    proj = pv.PolyData(V - origin, cells)
    rgb = np.tile(np.array(PALETTE["project"]), (len(F), 1))
    for k in range(len(labels)):
        rgb[owner == k] = RULE_COLOURS[k % len(RULE_COLOURS)]
    proj.cell_data["rgb"] = (rgb * 255).astype(np.uint8)
    env_mesh = _envelope_surface(report, origin, pv)
    caption = _view_caption(report, context.n_faces, labels, unplaced, env_mesh)
    views = []
    cx, cy = (x0 + x1) / 2 - origin[0], (y0 + y1) / 2 - origin[1]
    cz = float(bim.base_z + 0.5 * (bim.top_z - bim.base_z))
    # camera distance: the project and its neighbours fill about half the frame
    dist = 4.2 * max(x1 - x0, y1 - y0, bim.top_z - bim.base_z, 15.0)
    sx, sy = report.context.get("street_dir", (0.0, -1.0))
    cams = []
    for name, (dx, dy, dz) in (
        ("View from the street", (0.8 * sx - 0.5 * sy, 0.8 * sy + 0.5 * sx, 0.55)),
        (
            "View from the garden side",
            (-0.8 * sx - 0.5 * sy, -0.8 * sy + 0.5 * sx, 0.75),
        ),
    ):
        n = math.sqrt(dx * dx + dy * dy + dz * dz)
        cams.append(
            (name, (cx + dist * dx / n, cy + dist * dy / n, cz + dist * dz / n))
        )
    for name, pos in cams:
        pl = pv.Plotter(off_screen=True, window_size=list(size))
        pl.set_background(PALETTE["background"])
        if context.n_faces:
            render.add_scene(pl, ctx, mesh=context, vegetation=True)
        if len(F):
            pl.add_mesh(proj, scalars="rgb", rgb=True, lighting=True)
        if env_mesh is not None:
            pl.add_mesh(
                env_mesh,
                color=(0.1, 0.65, 0.25),
                opacity=0.28,
                show_edges=True,
                edge_color=(0.1, 0.5, 0.2),
                line_width=0.5,
            )
        if labels:
            pl.add_legend(
                [
                    (lab, RULE_COLOURS[k % len(RULE_COLOURS)])
                    for k, lab in enumerate(labels)
                ],
                bcolor="white",
                size=(0.42, 0.06 * len(labels) + 0.02),
                loc="upper left",
                face="rectangle",
            )
        pl.camera_position = [pos, (cx, cy, cz), (0, 0, 1)]
        buf = pl.screenshot(return_img=True)
        pl.close()
        views.append((f"{name}: {caption}", np.asarray(buf)))
    return views


def _view_caption(report, n_context, labels, unplaced, env_mesh) -> str:
    """What the 3D views show, and what they do not (with the reason)."""
    parts = ["project in orange"]
    if labels:
        parts.append(
            "the parts that break a rule coloured by rule (legend): "
            + "; ".join(labels)
        )
    else:
        parts.append("no part of the model breaks a rule")
    if unplaced:
        parts.append(
            "not localised on the model: " + "; ".join(unplaced) + " (a ratio)"
        )
    if n_context:
        parts.append("neighbouring buildings and terrain in grey")
    else:
        parts.append(
            "drawn alone: the scene has no neighbouring buildings or terrain around it"
        )
    if env_mesh is not None:
        parts.append(
            f"street envelope in translucent green (over the land within "
            f"{ENVELOPE_AROUND:g} m of the project)"
        )
    elif "envelope" in set(report.results["rule"]):
        parts.append(f"street envelope not drawn ({_envelope_missing(report)})")
    return ", ".join(parts) + "."


def _envelope_missing(report) -> str:
    """Why the street envelope is not drawn."""
    R = report.results
    row = R[R["rule"] == "envelope"]
    if len(row) and (row["status"] == "not_checkable").all():
        return "not checkable: " + str(row["explanation"].iloc[0]).rstrip(".")
    return "no street of known width on the land"


def _img_b64(arr) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(arr)).save(buf, format="PNG", optimize=True)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _envelope_surface(report, origin, pv):
    """The street envelope over the land as a pyvista surface (or None)."""
    env = report.context.get("envelope")
    if env is None or report.land is None or report.limits is None:
        return None
    L = report.limits
    streets = L[
        (L["kind"] == "street") & np.isfinite(L["street_width"].to_numpy(float))
    ]
    if not len(streets):
        return None
    # the land around the project only (a large land would hide the view)
    fp = report.bim.footprint
    t = shapely.intersection(report.land, fp.buffer(ENVELOPE_AROUND))
    if t.is_empty:
        return None
    x0, y0, x1, y1 = t.bounds
    xs = np.arange(x0, x1 + 0.01, 1.0)
    ys = np.arange(y0, y1 + 0.01, 1.0)
    X, Y = np.meshgrid(xs, ys)
    pts = shapely.points(X.ravel(), Y.ravel())
    inside = shapely.intersects(t.buffer(0.01), pts)
    if inside.sum() < 3:
        return None
    best = np.full(len(pts), np.inf)
    for _, s in streets.iterrows():
        d = shapely.distance(pts, s.geometry)
        a = envelope_height(
            d, float(s["street_width"]), env["c"], env["slope"], env["ceiling"]
        )
        proj = shapely.line_interpolate_point(
            s.geometry, shapely.line_locate_point(s.geometry, pts)
        )
        xy = shapely.get_coordinates(proj)
        g = (
            report.scene.terrain.sample(xy[:, 0], xy[:, 1])
            if report.scene.terrain is not None
            else np.full(len(pts), report.bim.base_z)
        )
        best = np.minimum(best, g + a)
    Z = best.reshape(X.shape)
    grid = pv.StructuredGrid(X - origin[0], Y - origin[1], Z)
    grid["inside"] = inside.reshape(X.shape).ravel(order="F").astype(float)
    surf = grid.threshold(0.5, scalars="inside").extract_surface(
        algorithm="dataset_surface"
    )
    return surf


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


def impact_figures(report) -> list[tuple[str, str]]:
    """One map per date of the sun-hours change (red lost, blue gained) as
    ``[(caption, base64 PNG)]``; empty without an impact or points."""
    res_dict = report.context.get("impact")
    if not res_dict or res_dict.get("result") is None:
        return []
    res = res_dict["result"]
    P = res.points
    if not len(P) or not len(res.dates):
        return []
    plt = pyplot()
    n = len(res.dates)
    fig, axes = plt.subplots(1, n, figsize=(5.0 * n, 5.0), squeeze=False)
    vmax = max(float(np.abs(P["delta"]).max()), 0.25)
    x0, y0, x1, y1 = P.total_bounds
    B = res_dict["after"].buildings
    near = B.cx[x0:x1, y0:y1] if len(B) else B
    sc = None
    for ax, day in zip(axes[0], res.dates, strict=True):
        D = P[P["date"] == pd.Timestamp(day).date()]
        still = D[D["delta"] == 0]
        ax.scatter(still["x"], still["y"], s=1, c="#dddddd", lw=0)
        ch = D[D["delta"] != 0].sort_values("delta", key=np.abs)
        sc = ax.scatter(
            ch["x"],
            ch["y"],
            s=3,
            c=ch["delta"],
            cmap="RdBu",
            vmin=-vmax,
            vmax=vmax,
            lw=0,
        )
        for g in near.geometry.values:
            _draw_geom(ax, g.boundary, color="#555555", lw=0.4)
        t = res_dict.get("land")
        if t is not None:
            _draw_geom(ax, t.boundary, color="#7a2e12", lw=1.3)
        ax.set_title(f"Sun-hours change, {pd.Timestamp(day).date()}", fontsize=9)
        ax.set_aspect("equal")
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.tick_params(labelsize=6)
        ax.ticklabel_format(useOffset=False, style="plain")
    if sc is not None:
        fig.colorbar(sc, ax=list(axes[0]), shrink=0.8, label="change of sun hours [h]")
    cap = (
        "Neighbour impact: change of direct-sun hours on the open ground and facades "
        "around the project (red = lost, blue = gained) on the reference dates "
        f"(sensors every {IMPACT_SPACING:g} m, {IMPACT_STEP} steps)."
    )
    return [(cap, png(fig))]
