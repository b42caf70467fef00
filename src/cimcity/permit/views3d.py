"""3D views of a permit report: the project in its street (pyvista,
offscreen), the parts that break a rule coloured by rule, the street envelope
(gabarit-enveloppe) as a translucent surface; captions and legend in French or
English (``lang=``).

Every function takes a :class:`~cimcity.permit.PermitReport` (read through its
attributes; this module does not import the report). pyvista loads inside the
functions that draw.
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np
import shapely

from .. import i18n, render
from .._compat import import_optional
from ._geometry import envelope_height, violation_margin
from .checks.context import LENGTH_TOL
from .checks.messages import number, phrase, rule_label

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

i18n.add_terms(
    {
        "fig_view_street": ("View from the street", "Vue depuis la rue"),
        "fig_view_garden": ("View from the garden side", "Vue côté jardin"),
        "fig_cap_project": ("project in orange", "projet en orange"),
        "fig_cap_broken": (
            "the parts that break a rule coloured by rule (legend): {labels}",
            "les parties non conformes colorées par règle (légende) : {labels}",
        ),
        "fig_cap_none_broken": (
            "no part of the model breaks a rule", "aucune partie de la maquette n'est non conforme"
        ),
        "fig_cap_unplaced": (
            "not localised on the model: {labels} (a ratio)",
            "non localisable sur la maquette : {labels} (un ratio)",
        ),
        "fig_cap_context": (
            "neighbouring buildings and terrain in grey", "bâtiments voisins et terrain en gris"
        ),
        "fig_cap_alone": (
            "drawn alone: the scene has no neighbouring buildings or terrain around it",
            "dessiné seul : la scène n'a ni bâtiments voisins ni terrain autour",
        ),
        "fig_cap_envelope": (
            "street envelope in translucent green (over the land within {d} m of the "
            "project)",
            "gabarit-enveloppe en vert translucide (sur le terrain, à moins de {d} m du "
            "projet)",
        ),
        "fig_cap_no_envelope": (
            "street envelope not drawn ({why})", "gabarit-enveloppe non dessiné ({why})"
        ),
        "fig_env_not_checkable": ("not checkable: {why}", "non vérifiable : {why}"),
        "fig_env_no_street": (
            "no street of known width on the land",
            "aucune voie de largeur connue le long du terrain",
        ),
    }
)


def render_views(report, size=(1100, 700), lang: str | None = None) -> list[tuple[str, str]]:
    """3D views of the project in its street (pyvista offscreen): the parts
    that break a rule in one colour per rule, the street envelope as a
    translucent green surface when it was checked.

    Returns
    -------
    list of (caption, base64 PNG)
        From the street, then from the garden side; each caption says what is
        drawn (and what is not, and why).
    """
    return [(cap, _img_b64(img)) for cap, img in view_images(report, size, lang=lang)]


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


def broken_faces(report, max_edge: float = MAX_EDGE, lang: str | None = None):
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
        if lang is None:  # the rule's key, as the table has it
            label = f"{articles.get(spec['rule'], '')} {spec['rule']}".strip()
        else:
            label = f"{articles.get(spec['rule'], '')} {rule_label(spec['rule'], lang)}"
            label = label.strip()
        if spec.get("subject"):
            label += f" ({phrase(spec['subject'], lang)})"
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


def view_images(report, size=(1100, 700), lang: str | None = None) -> list[tuple[str, np.ndarray]]:
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
    code = i18n.resolve(lang)
    V, F, owner, labels, unplaced = broken_faces(report, lang=code)
    cells = np.hstack([np.full((len(F), 1), 3), F]).ravel()
    proj = pv.PolyData(V - origin, cells)
    rgb = np.tile(np.array(PALETTE["project"]), (len(F), 1))
    for k in range(len(labels)):
        rgb[owner == k] = RULE_COLOURS[k % len(RULE_COLOURS)]
    proj.cell_data["rgb"] = (rgb * 255).astype(np.uint8)
    env_mesh = _envelope_surface(report, origin, pv)
    caption = _view_caption(report, context.n_faces, labels, unplaced, env_mesh, code)
    views = []
    cx, cy = (x0 + x1) / 2 - origin[0], (y0 + y1) / 2 - origin[1]
    cz = float(bim.base_z + 0.5 * (bim.top_z - bim.base_z))
    # camera distance: the project and its neighbours fill about half the frame
    dist = 4.2 * max(x1 - x0, y1 - y0, bim.top_z - bim.base_z, 15.0)
    sx, sy = report.context.get("street_dir", (0.0, -1.0))
    cams = []
    for name, (dx, dy, dz) in (
        (i18n.term("fig_view_street", code), (0.8 * sx - 0.5 * sy, 0.8 * sy + 0.5 * sx, 0.55)),
        (
            i18n.term("fig_view_garden", code),
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
        sep = " : " if code == "fr" else ": "
        views.append((f"{name}{sep}{caption}", np.asarray(buf)))
    return views


def _view_caption(report, n_context, labels, unplaced, env_mesh, lang=None) -> str:
    """What the 3D views show, and what they do not (with the reason)."""
    t = lambda key, **v: i18n.term(key, lang, **v)  # noqa: E731
    parts = [t("fig_cap_project")]
    if labels:
        parts.append(t("fig_cap_broken", labels="; ".join(labels)))
    else:
        parts.append(t("fig_cap_none_broken"))
    if unplaced:
        parts.append(t("fig_cap_unplaced", labels="; ".join(unplaced)))
    if n_context:
        parts.append(t("fig_cap_context"))
    else:
        parts.append(t("fig_cap_alone"))
    if env_mesh is not None:
        parts.append(t("fig_cap_envelope", d=number(ENVELOPE_AROUND, "g", lang)))
    elif "envelope" in set(report.results["rule"]):
        parts.append(t("fig_cap_no_envelope", why=_envelope_missing(report, lang)))
    return ", ".join(parts) + "."


def _envelope_missing(report, lang=None) -> str:
    """Why the street envelope is not drawn."""
    R = report.results
    row = R[R["rule"] == "envelope"]
    if len(row) and (row["status"] == "not_checkable").all():
        both = report.context.get("explanations", {}).get(row.index[0]) or {}
        why = both.get(i18n.resolve(lang), str(row["explanation"].iloc[0]))
        return i18n.term("fig_env_not_checkable", lang, why=why.rstrip("."))
    return i18n.term("fig_env_no_street", lang)


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
