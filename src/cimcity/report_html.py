"""HTML report of a permit check: one self-contained page an instructor can file.

The page holds the project and parcel identification, the table of rules with
their status, and figures embedded as base64 PNG: a site plan (classified
limits, worst distances), a street section with the envelope (gabarit), 3D
views of the project in its street (failing elements in red, envelope drawn)
and the neighbour shadow impact. It needs no network and no script.
"""

from __future__ import annotations

import base64
import html
import io
import math

import numpy as np
import pandas as pd
import shapely

__all__ = [
    "report_html",
    "results_table",
    "plot_site",
    "plot_section",
    "render_views",
    "RULE_LABELS",
]

#: readable names of the rules (English, with the French term instructors use)
RULE_LABELS = {
    "max_height": "Maximum height (hauteur plafond)",
    "max_eave_height": "Eave height (verticale de façade)",
    "max_altitude": "NGF ceiling (cote maximale)",
    "max_footprint_ratio": "Footprint ratio (emprise au sol)",
    "street_setback": "Street alignment / setback (implantation sur voie)",
    "side_setback": "Side limit (limite séparative latérale)",
    "rear_setback": "Rear limit (fond de parcelle)",
    "envelope": "Street envelope (gabarit-enveloppe)",
    "min_open_space_share": "Open space (espaces libres)",
    "min_pleine_terre_share": "Pleine terre",
    "min_green_share": "Green surfaces (surfaces végétalisées)",
    "min_biotope_coefficient": "Biotope coefficient (CBS)",
    "max_storeys": "Storeys (nombre de niveaux)",
    "max_floor_area_ratio": "Floor area ratio (surface de plancher)",
    "within_terrain": "Footprint within the terrain",
    "georeference": "Georeference",
    "zone": "PLU zone",
    "rules": "Rule pack",
    "terrain": "Terrain of the application",
    "neighbour_sun_hours": "Sun on neighbours (informative)",
}

_STATUS_STYLE = {
    "pass": ("#1b7f3b", "#e3f4e8", "PASS"),
    "fail": ("#b3261e", "#fbe4e2", "FAIL"),
    "maybe": ("#8a5a00", "#fff3d6", "CHECK"),
    "not_checkable": ("#555555", "#ececec", "NOT CHECKABLE"),
}
_LIMIT_COLOURS = {"street": "#1f5fbf", "side": "#e08a00", "rear": "#8e3fb5"}

_CSS = """
body{font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:24px auto;
max-width:1180px;color:#1d1d1f;line-height:1.35;padding:0 16px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;
padding-bottom:4px}.sub{color:#666;font-size:13px}
.verdict{display:inline-block;padding:6px 14px;border-radius:6px;font-weight:700;font-size:18px;
margin:10px 0}.ok{background:#e3f4e8;color:#1b7f3b;border:1px solid #1b7f3b}
.ko{background:#fbe4e2;color:#b3261e;border:1px solid #b3261e}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #d8d8d8;
padding:5px 7px;vertical-align:top;text-align:left}th{background:#f4f4f6}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 6px;border-radius:4px;font-weight:700;font-size:11px;
white-space:nowrap}.ids{font-family:monospace;font-size:11px;color:#444;word-break:break-all}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:8px 24px}
.kv th{width:38%}figure{margin:12px 0}figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:12px;color:#555}.note{font-size:12px;color:#555}
"""


# ---------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------
def _num(v, unit) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    if unit == "ratio":
        return f"{v:.3f}"
    if unit == "storeys":
        return f"{v:.0f}"
    if unit in ("m²", "m2"):
        return f"{v:.1f}"
    return f"{v:.2f}"


def _ids(elements, n=4) -> str:
    if elements is None or not len(elements):
        return ""
    el = [html.escape(str(e)) for e in elements]
    more = f" … (+{len(el) - n})" if len(el) > n else ""
    return "<span class='ids'>" + ", ".join(el[:n]) + more + "</span>"


def results_table(results: pd.DataFrame) -> str:
    """The rows of a :class:`~cimcity.permit.PermitReport` as an HTML table."""
    head = (
        "<table><thead><tr><th>Article</th><th>Rule</th><th>Status</th>"
        "<th>Measured</th><th>Limit</th><th>Unit</th><th>Explanation</th>"
        "<th>IFC elements</th></tr></thead><tbody>"
    )
    rows = []
    for _, r in results.iterrows():
        fg, bg, word = _STATUS_STYLE.get(
            r["status"], ("#000", "#fff", str(r["status"]))
        )
        label = RULE_LABELS.get(r["rule"], r["rule"])
        subj = (
            f"<br><span class='sub'>{html.escape(str(r['subject']))}</span>"
            if r["subject"]
            else ""
        )
        loc = (
            f"<br><span class='sub'>{html.escape(str(r['location']))}</span>"
            if r.get("location")
            else ""
        )
        rows.append(
            f"<tr style='background:{bg}'><td>{html.escape(str(r['article'] or ''))}</td>"
            f"<td>{html.escape(label)}{subj}</td>"
            f"<td><span class='badge' style='background:{fg};color:#fff'>{word}</span></td>"
            f"<td class='num'>{_num(r['measured'], r['unit'])}</td>"
            f"<td class='num'>{_num(r['limit'], r['unit'])}</td>"
            f"<td>{html.escape(str(r['unit'] or ''))}</td>"
            f"<td>{html.escape(str(r['explanation']))}{loc}</td>"
            f"<td>{_ids(r['elements'])}</td></tr>"
        )
    return head + "".join(rows) + "</tbody></table>"


def _kv(title, d: dict) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in d.items()
        if v not in (None, "", [], {})
    )
    return (
        f"<div><h3 style='font-size:15px;margin:6px 0'>{html.escape(title)}</h3>"
        f"<table class='kv'>{rows}</table></div>"
    )


# ---------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------
def _plt():
    from ._compat import import_optional

    mpl = import_optional("matplotlib")
    mpl.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _draw_geom(ax, geom, **kw):
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


def plot_site(report, ax=None, margin: float = 25.0):
    """Site plan of a permit report (matplotlib Axes).

    Parcels around (grey outlines), existing buildings (grey), roads, the
    terrain (cream) with its classified limits (street blue, side orange, rear
    purple), the project footprint (orange, red when a placement rule fails) and
    the worst distance to each limit.
    """
    plt = _plt()
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 7))
    scene, terrain = report.scene, report.terrain
    bim = report.bim
    focus = terrain if terrain is not None else getattr(bim, "footprint", None)
    if focus is None or focus.is_empty:
        ax.text(0.5, 0.5, "project not located", ha="center", transform=ax.transAxes)
        return ax
    x0, y0, x1, y1 = focus.bounds
    box = shapely.box(x0 - margin, y0 - margin, x1 + margin, y1 + margin)
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
    if terrain is not None:
        _draw_geom(ax, terrain, fc="#fbf3d9", ec="none", zorder=2.5)
    fails = set(report.results.loc[report.results["status"] == "fail", "rule"])
    placement_fail = bool(
        fails
        & {
            "side_setback",
            "rear_setback",
            "street_setback",
            "within_terrain",
            "max_footprint_ratio",
            "envelope",
        }
    )
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
    L = report.limits
    if L is not None and len(L):
        for _, lim in L.iterrows():
            x, y = lim.geometry.xy
            ax.plot(
                x,
                y,
                color=_LIMIT_COLOURS.get(lim["kind"], "k"),
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
                color=_LIMIT_COLOURS.get(lim["kind"]),
                ha="center",
                va="center",
                zorder=6,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.8),
            )
    for mk in report.context.get("marks", []):
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
    ax.set_xlim(box.bounds[0], box.bounds[2])
    ax.set_ylim(box.bounds[1], box.bounds[3])
    ax.set_aspect("equal")
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.tick_params(labelsize=7)
    ax.set_title("Site plan: terrain limits and distances", fontsize=10)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D([], [], color=c, lw=3, label=k) for k, c in _LIMIT_COLOURS.items()
    ]
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
    return ax


def plot_section(report, ax=None):
    """Street section across the project: building silhouette against the street
    envelope, the height limits and the rear prospect line (matplotlib Axes).

    The horizontal axis is the depth behind the street alignment [m] (the
    street on the left), the vertical axis the height above the street's
    ground level [m].
    """
    plt = _plt()
    env = report.context.get("section")
    if env is None:
        return None
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
        from .permit import envelope_height

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
        ax.axvline(r["depth"], color=_LIMIT_COLOURS["rear"], lw=1.5)
        ax.text(
            r["depth"],
            0.5,
            " rear limit",
            color=_LIMIT_COLOURS["rear"],
            fontsize=7,
            rotation=90,
            va="bottom",
        )
        if r["k"] > 0:
            dd = np.linspace(r["depth"] - r["d_min"] - 40, r["depth"] - r["d_min"], 50)
            ax.plot(
                dd,
                (r["depth"] - dd) / r["k"],
                color=_LIMIT_COLOURS["rear"],
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
    """3D views of the project in its street (pyvista offscreen): failing
    elements in red, the street envelope as a translucent green surface.

    Returns
    -------
    list of (caption, base64 PNG)
    """
    from ._compat import import_optional
    from .render import PALETTE, _pv, add_scene

    import_optional("pyvista")
    pv = _pv()
    bim, scene = report.bim, report.scene
    fp = bim.footprint
    after = scene.with_project(bim, parcels=report.site.get("parcels") or None)
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
    # project mesh coloured by element status
    V = np.asarray(bim.mesh.vertices, float) - origin
    F = np.asarray(bim.mesh.faces, np.int64)
    cells = np.hstack([np.full((len(F), 1), 3), F]).ravel()
    proj = pv.PolyData(V, cells)
    bad = set()
    for els in report.results.loc[report.results["status"] == "fail", "elements"]:
        bad.update(els)
    rgb = np.tile(np.array(PALETTE["project"]), (len(F), 1))
    fe = getattr(bim, "face_element", None)
    E = getattr(bim, "elements", None)
    if bad and fe is not None and E is not None and len(E) and "global_id" in E.columns:
        gids = E["global_id"].astype(str).to_numpy()
        fe = np.asarray(fe)
        ok = (fe >= 0) & (fe < len(gids))
        hit = np.zeros(len(F), bool)
        hit[ok] = np.isin(gids[fe[ok]], list(bad))
        rgb[hit] = PALETTE["highlight"]
    proj.cell_data["rgb"] = (rgb * 255).astype(np.uint8)
    env_mesh = _envelope_surface(report, origin, pv)
    views = []
    cx, cy = (x0 + x1) / 2 - origin[0], (y0 + y1) / 2 - origin[1]
    cz = float(bim.base_z + 0.5 * (bim.top_z - bim.base_z))
    # camera distance: the project and its neighbours fill about half the frame
    dist = 4.2 * max(x1 - x0, y1 - y0, bim.top_z - bim.base_z, 15.0)
    sx, sy = report.context.get("street_dir", (0.0, -1.0))
    cams = []
    for caption, (dx, dy, dz) in (
        ("View from the street", (0.8 * sx - 0.5 * sy, 0.8 * sy + 0.5 * sx, 0.55)),
        (
            "View from the garden side",
            (-0.8 * sx - 0.5 * sy, -0.8 * sy + 0.5 * sx, 0.75),
        ),
    ):
        n = math.sqrt(dx * dx + dy * dy + dz * dz)
        cams.append(
            (caption, (cx + dist * dx / n, cy + dist * dy / n, cz + dist * dz / n))
        )
    for caption, pos in cams:
        pl = pv.Plotter(off_screen=True, window_size=list(size))
        pl.set_background(PALETTE["background"])
        add_scene(pl, ctx, mesh=context, vegetation=True)
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
        pl.camera_position = [pos, (cx, cy, cz), (0, 0, 1)]
        buf = pl.screenshot(return_img=True)
        pl.close()
        views.append((caption, _img_b64(buf)))
    return views


def _img_b64(arr) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(arr)).save(buf, format="PNG", optimize=True)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _envelope_surface(report, origin, pv):
    """The street envelope over the terrain as a pyvista surface (or None)."""
    env = report.context.get("envelope")
    if env is None or report.terrain is None or report.limits is None:
        return None
    from .permit import envelope_height

    L = report.limits
    streets = L[
        (L["kind"] == "street") & np.isfinite(L["street_width"].to_numpy(float))
    ]
    if not len(streets):
        return None
    t = report.terrain
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


def _section_data(report):
    """Silhouette of the project in the (depth, height) plane of its main street."""
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
    inside = shapely.intersects(report.terrain.buffer(0.05), pts)
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
        c = report.terrain.centroid
        rd = float(
            max(
                shapely.distance(
                    shapely.points(shapely.get_coordinates(R.geometry.values)), line
                )
            )
        )
        rear = dict(depth=rd, k=zr["k"], d_min=zr["d_min"])
        del c
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


def _impact_figures(report) -> list[tuple[str, str]]:
    res = report.context.get("impact")
    if not res or res.get("result") is None:
        return []
    from .permit.impact import impact_figures

    return impact_figures(res)


# ---------------------------------------------------------------------------------
# the page
# ---------------------------------------------------------------------------------
def report_html(report, images: bool = True) -> str:
    """The whole report page (see :meth:`PermitReport.to_html`)."""
    p, s = report.project, report.site
    c = report.counts
    verdict = (
        "<div class='verdict ok'>The project complies with every checkable rule</div>"
        if report.passed
        else f"<div class='verdict ko'>The project breaks {c['fail']} rule(s)</div>"
    )
    ident_p = {
        "Name": p.get("name"),
        "IFC file": p.get("source"),
        "Schema": p.get("schema"),
        "Project id (GlobalId)": p.get("id"),
        "Georeference": p.get("georeference")
        + (" (approximate)" if p.get("approximate") else ""),
        "Height (base to top)": f"{p.get('height', float('nan')):.2f} m",
        "Base / top altitude": f"{p.get('base_z', float('nan')):.2f} / {p.get('top_z', float('nan')):.2f} m",
        "Footprint": f"{p.get('footprint_area') or 0:.1f} m²",
        "Storeys in the model": p.get("storeys"),
        "Elements": p.get("elements"),
    }
    zones = ", ".join(f"{z} ({a:.0f} m²)" for z, a in s.get("zones", []))
    ident_s = {
        "Parcel(s)": ", ".join(map(str, s.get("parcels", []))),
        "Terrain area": f"{s['terrain_area']:.1f} m²"
        if s.get("terrain_area")
        else None,
        "PLU zone": s.get("zone"),
        "Zones under the project": zones,
        "Rule pack": s.get("rule_pack"),
        "Rule pack file": s.get("rule_pack_source"),
        "CRS / vertical datum": f"{s.get('crs')} / {s.get('vertical_datum')}",
        "Terrain model (DEM)": s.get("terrain_model"),
    }
    figs = []
    errors = []
    if images:
        plt = None
        try:
            plt = _plt()
        except ImportError as exc:
            errors.append(f"figures skipped: {exc}")
        if plt is not None and report.terrain is not None:
            try:
                fig, ax = plt.subplots(figsize=(8, 7))
                plot_site(report, ax=ax)
                figs.append(
                    (
                        "Site plan: street (blue), side (orange) and rear (purple) limits "
                        "from the cadastre; arrows give the worst distance to each limit.",
                        _png(fig),
                    )
                )
            except Exception as exc:  # a figure must never hide the table
                errors.append(f"site plan failed: {exc}")
            try:
                sec = _section_data(report)
                if sec is not None:
                    report.context["section"] = sec
                    fig, ax = plt.subplots(figsize=(9, 4.5))
                    plot_section(report, ax=ax)
                    figs.append(
                        (
                            "Section across the street: project silhouette (orange), "
                            "street envelope (green dashes), height limits and the rear "
                            "prospect line.",
                            _png(fig),
                        )
                    )
            except Exception as exc:
                errors.append(f"section failed: {exc}")
        if report.terrain is not None and report.context.get("placed"):
            try:
                for cap, b64 in render_views(report):
                    figs.append(
                        (
                            cap + ": project in orange, failing elements in red, "
                            "street envelope in translucent green.",
                            b64,
                        )
                    )
            except ImportError as exc:
                errors.append(f"3D views skipped: {exc}")
            except Exception as exc:
                errors.append(f"3D views failed: {exc}")
        try:
            figs += _impact_figures(report)
        except Exception as exc:
            errors.append(f"impact maps failed: {exc}")
    fig_html = "".join(
        f"<figure><img alt='{html.escape(cap)}' src='data:image/png;base64,{b64}'>"
        f"<figcaption>{html.escape(cap)}</figcaption></figure>"
        for cap, b64 in figs
    )
    impact_html = ""
    if report.impact is not None and len(report.impact):
        t = report.impact.drop(columns="geometry", errors="ignore").head(15)
        impact_html = "<h2>Impact on neighbours (informative)</h2>" + t.to_html(
            index=False, float_format=lambda v: f"{v:.2f}", border=0
        )
    notes = list(s.get("notes", [])) + errors
    notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    from . import __version__

    method = """
<ul class='note'>
<li>Heights are measured point by point above the natural ground (DEM) under each point of
the model; NGF ceilings on absolute altitudes.</li>
<li>Limits come from the cadastre: edges not shared with another parcel face the street
(confirmed by the roads layer when present); side limits reach the street, the rear limit
does not.</li>
<li>Setbacks apply D ≥ max(k·H, d_min) to every point of the building at its own height
above ground; a building touching a limit is built on it.</li>
<li>The envelope is a vertical P + c at the alignment (P the street width), then the slope,
under the ceiling, from the street's ground level.</li>
<li>Status <b>CHECK</b> (maybe) marks a value within measurement tolerance of its limit, a
measure made without the input it should rest on, or an informative result to be judged;
<b>NOT CHECKABLE</b> gives the missing input.</li>
</ul>"""
    title = html.escape(str(p.get("name") or p.get("id") or "project"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Permit check — {title}</title><style>{_CSS}</style></head>
<body>
<h1>Permit check — {title}</h1>
<div class="sub">Zone {html.escape(str(s.get("zone")))} · parcel(s)
{html.escape(", ".join(map(str, s.get("parcels", []))))} · generated {html.escape(report.created)}
 by cimcity {html.escape(__version__)}</div>
{verdict}
<div class="sub">{c["pass"]} pass · {c["fail"]} fail · {c["maybe"]} to check · {c["not_checkable"]}
not checkable</div>
<h2>Identification</h2>
<div class="grid">{_kv("Project", ident_p)}{_kv("Land and rules", ident_s)}</div>
<h2>Rules</h2>
{results_table(report.results)}
{"<h2>Figures</h2>" + fig_html if fig_html else ""}
{impact_html}
<h2>Method and notes</h2>
{method}
{'<ul class="note">' + notes_html + "</ul>" if notes_html else ""}
</body></html>
"""
