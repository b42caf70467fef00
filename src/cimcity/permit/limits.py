"""Parcel limits: street frontage, side and rear limits from the cadastre."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._compat import renamed_arguments
from ._geometry import _parts

#: a parcel edge within this distance of another parcel is shared with it (gaps
#: of cadastral digitising) [m]
SHARED_TOL = 0.30
#: distance outside the land at which neighbours are probed [m]
_PROBE = 0.5
#: limit runs are split at turns sharper than this [degrees]
CORNER_ANGLE = 40.0
#: a free parcel edge is on a street when a road line lies within half its width
#: plus this margin (road polygons: within this margin) [m]
ROAD_MARGIN = 8.0
#: an edge the cadastre shares with another parcel is still street frontage
#: when a road lies in front of it within half the road's width plus this
#: tolerance (road lines; road-surface polygons: within this tolerance) [m]
#: (BD TOPO centre lines are placed to about a metre)
ROAD_FRONTAGE_TOL = 1.5
#: road width assumed for the frontage test when the roads layer gives none
#: (BD TOPO ``LARGEUR`` missing or 0) [m]: a one-lane road; the street width
#: of the limit stays unknown (NaN)
DEFAULT_ROAD_WIDTH = 4.0
#: frontage found from the roads layer alone shorter than this is dropped
#: (the corner of a side limit by the road) [m]
MIN_ROAD_FRONTAGE = 2.0
#: limit pieces shorter than this merge into their neighbour (chamfers, jogs) [m]
MIN_PIECE = 6.0
#: how far across the street the cadastre is searched for the opposite parcels [m]
STREET_SEARCH = 80.0


# ---------------------------------------------------------------------------------
# parcel limits
# ---------------------------------------------------------------------------------
def _road_widths(roads) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Road geometries, their width [m] (NaN when unknown), whether each is a
    line, and their names."""
    g = np.asarray(roads.geometry.values, dtype=object)
    cols = {c.lower(): c for c in roads.columns}
    width = np.full(len(roads), np.nan)
    for key in ("largeur", "width", "largeur_de_chaussee", "largeur_chaussee"):
        if key in cols:
            width = pd.to_numeric(roads[cols[key]], errors="coerce").to_numpy(float)
            break
    width = np.where(width > 0, width, np.nan)  # BD TOPO writes 0 for unknown
    names = [None] * len(roads)
    for key in (
        "nom",
        "name",
        "nom_1_gauche",
        "nom_voie",
        "nom_voie_g",
        "nom_voie_d",
        "toponyme",
    ):
        if key in cols:
            names = [None if pd.isna(v) else str(v) for v in roads[cols[key]]]
            break
    is_line = np.isin(shapely.get_type_id(g), (1, 2, 5))
    return g, width, is_line, names


@renamed_arguments(terrain="land")
def classify_limits(
    land,
    neighbours=None,
    roads=None,
    *,
    shared_tol=SHARED_TOL,
    corner_angle=CORNER_ANGLE,
    road_margin=ROAD_MARGIN,
):
    """Split the boundary of the project's land into street, side and rear limits.

    Parameters
    ----------
    land : shapely Polygon or MultiPolygon
        The project's land (*terrain d'assiette*: the union of its parcels)
        [m, projected CRS]. (``terrain=`` is the old name of this argument.)
    neighbours : sequence of shapely polygons, optional
        The other parcels around it (cadastre). A boundary stretch within
        ``shared_tol`` of a neighbour is a *separative limit*; the others face
        the public domain.
    roads : GeoDataFrame, optional
        Road centre lines (with a ``largeur`` width column, as BD TOPO
        ``troncon_de_route``) or road-surface polygons. When given, a free
        stretch is a street only when a road is close (half its width +
        ``road_margin`` for lines, ``road_margin`` for polygons); free
        stretches without a road are treated as separative limits (unknown
        neighbour). A stretch the cadastre shares with another parcel is
        street frontage too when a road lies *in front of it* (moving outward
        brings the road closer) within half its width (``largeur``, else
        :data:`DEFAULT_ROAD_WIDTH`) + :data:`ROAD_FRONTAGE_TOL` of its centre
        line, or within :data:`ROAD_FRONTAGE_TOL` of a road polygon: roads
        cadastred as parcels, or parcels digitised up to the road's axis.
    shared_tol : float
        Distance under which an edge is shared with a neighbour [m].
    corner_angle : float
        Limits are split where the boundary turns by more than this [degrees].
    road_margin : float
        See ``roads`` [m].

    Returns
    -------
    GeoDataFrame
        One LineString per limit with ``kind`` (``street``, ``side``, ``rear``),
        ``name`` (``"street (Rue Cardinet)"``, ``"left side limit"``...),
        ``length`` [m], ``street_width`` [m] (streets; NaN when unknown),
        ``width_source`` (``"roads layer 'largeur'"``, ``"cadastre (opposite
        parcels)"``), ``road`` (name of the road), ``open`` (a free edge with
        no road nearby) and ``frontage`` (streets: ``"cadastre"`` when the
        cadastre leaves a gap there, ``"roads"`` when only the roads layer
        shows the road; None for other limits).

    Notes
    -----
    Side limits are the limits that reach a street, the rear limit those that
    do not, as French PLUs define them ("limites séparatives latérales" /
    "de fond de parcelle"). Left and right are seen from the street, looking
    into the parcel.
    """
    neighbours = [] if neighbours is None else [g for g in neighbours if g is not None]
    nb = np.asarray(neighbours, dtype=object)
    tree = shapely.STRtree(nb) if len(nb) else None
    road_g = road_w = road_line = None
    road_names: list = []
    if roads is not None and len(roads):
        road_g, road_w, road_line, road_names = _road_widths(roads)
    rows = []
    for poly in _parts(land):
        poly = shapely.orient_polygons(poly)  # exterior counter-clockwise
        rows += _classify_ring(
            np.asarray(poly.exterior.coords)[:, :2],
            tree,
            nb,
            road_g,
            road_w,
            road_line,
            road_names,
            shared_tol,
            corner_angle,
            road_margin,
        )
        for hole in poly.interiors:
            rows.append(
                dict(
                    kind="rear",
                    name="inner limit (enclave)",
                    geometry=shapely.LineString(np.asarray(hole.coords)[:, :2]),
                    street_width=np.nan,
                    width_source=None,
                    road=None,
                    open=False,
                    frontage=None,
                )
            )
    gdf = (
        gpd.GeoDataFrame(rows, geometry="geometry")
        if rows
        else gpd.GeoDataFrame(
            {
                "kind": [],
                "name": [],
                "street_width": [],
                "width_source": [],
                "road": [],
                "open": [],
                "frontage": [],
            },
            geometry=gpd.GeoSeries([]),
        )
    )
    gdf["length"] = gdf.geometry.length
    _street_widths_from_cadastre(gdf, land, nb)
    # unique, readable names
    counts = gdf["name"].value_counts()
    seen: dict = {}
    names = []
    for n in gdf["name"]:
        if counts[n] > 1:
            seen[n] = seen.get(n, 0) + 1
            names.append(f"{n} {seen[n]}")
        else:
            names.append(n)
    gdf["name"] = names
    return gdf[
        [
            "kind",
            "name",
            "length",
            "street_width",
            "width_source",
            "road",
            "open",
            "frontage",
            "geometry",
        ]
    ]


def _classify_ring(
    xy,
    tree,
    nb,
    road_g,
    road_w,
    road_line,
    road_names,
    shared_tol,
    corner_angle,
    road_margin,
):
    """Runs of a closed ring (counter-clockwise, first == last point)."""
    # drop repeated points
    keep = np.r_[True, np.hypot(*np.diff(xy, axis=0).T) > 1e-6]
    xy = xy[keep]
    if len(xy) < 4:
        return []
    seg_a, seg_b = xy[:-1], xy[1:]
    nseg = len(seg_a)
    # atoms: pieces of at most 0.5 m, each labelled shared / street / open
    atoms = []  # (seg index, p0, p1)
    for i in range(nseg):
        L = float(np.hypot(*(seg_b[i] - seg_a[i])))
        k = max(1, int(np.ceil(L / 0.5)))
        t = np.linspace(0, 1, k + 1)
        pts = seg_a[i][None, :] + t[:, None] * (seg_b[i] - seg_a[i])[None, :]
        for j in range(k):
            atoms.append((i, pts[j], pts[j + 1]))
    mids = np.array([(p0 + p1) / 2 for _, p0, p1 in atoms])
    mpts = shapely.points(mids)
    # a piece is shared when a neighbour lies along it (both ends within
    # ``shared_tol``) and across it (a probe just outside, on the right of the
    # counter-clockwise ring); pieces by a corner that a neighbour only touches
    # at the corner are not shared
    tang = np.array([p1 - p0 for _, p0, p1 in atoms])
    tang /= np.maximum(np.hypot(tang[:, 0], tang[:, 1]), 1e-12)[:, None]
    out = np.c_[tang[:, 1], -tang[:, 0]]
    shared = np.zeros(len(atoms), bool)
    if tree is not None:
        ok = np.ones(len(atoms), bool)
        for pts in (
            mids + _PROBE * out,
            np.array([p0 for _, p0, _ in atoms]) + 0.05 * out,
            np.array([p1 for _, _, p1 in atoms]) + 0.05 * out,
        ):
            near = np.zeros(len(atoms), bool)
            idx = tree.query_nearest(shapely.points(pts), max_distance=shared_tol)
            near[idx[0]] = True
            ok &= near
        shared = ok
    label = np.where(shared, "limit", "street").astype(object)
    atom_road = np.full(len(atoms), -1)
    by_road = np.zeros(len(atoms), bool)
    if road_g is not None:
        by_road, road_of = _roads_in_front(mids, out, road_g, road_w, road_line)
        by_road &= shared & _long_runs(by_road & shared, atoms, MIN_ROAD_FRONTAGE)
        label[by_road] = "street"
        atom_road[by_road] = road_of[by_road]
        free = np.flatnonzero(~shared)
        if len(free):
            d = shapely.distance(mpts[free][:, None], road_g[None, :])  # (f, r)
            w = np.where(np.isfinite(road_w), road_w, 0.0)
            thr = np.where(road_line, w / 2 + road_margin, road_margin)
            near = d <= thr[None, :]
            dd = np.where(near, d, np.inf)
            best = np.argmin(dd, axis=1)
            has = np.isfinite(dd[np.arange(len(free)), best])
            atom_road[free[has]] = best[has]
            label[free[~has]] = "open"
    # turning angle at each original vertex (at the start of segment i)
    d = seg_b - seg_a
    ang = np.degrees(np.arctan2(d[:, 1], d[:, 0]))
    turn = np.abs((ang - np.roll(ang, 1) + 180.0) % 360.0 - 180.0)  # at start of seg i
    # break points: label changes, or sharp corners between segments
    n = len(atoms)
    brk = np.zeros(n, bool)
    for a in range(n):
        prev = (a - 1) % n
        lab_change = _kind(label[a]) != _kind(label[prev])
        corner = atoms[a][0] != atoms[prev][0] and turn[atoms[a][0]] > corner_angle
        road_change = label[a] == "street" and atom_road[a] != atom_road[prev]
        brk[a] = lab_change or corner or road_change
    if not brk.any():
        brk[0] = True
    starts = np.flatnonzero(brk)
    runs = []
    for si, s in enumerate(starts):
        e = starts[(si + 1) % len(starts)]
        ids = [(s + k) % n for k in range((e - s) % n or n)]
        pts = [atoms[ids[0]][1]] + [atoms[k][2] for k in ids]
        line = shapely.simplify(shapely.LineString(pts), 0.01)
        labs = [label[k] for k in ids]
        lab = max(set(labs), key=labs.count)
        rids = [atom_road[k] for k in ids if atom_road[k] >= 0]
        runs.append(
            dict(
                label=lab,
                line=line,
                road=max(set(rids), key=rids.count) if rids else -1,
                by_road=sum(bool(by_road[k]) for k in ids) * 2 > len(ids),
            )
        )
    runs = _merge_short(runs)
    rows = []
    m = len(runs)
    for i, r in enumerate(runs):
        if r["label"] == "street":
            rid = r["road"]
            road = road_names[rid] if rid >= 0 and road_names else None
            width = (
                float(road_w[rid]) if rid >= 0 and np.isfinite(road_w[rid]) else np.nan
            )
            rows.append(
                dict(
                    kind="street",
                    name=f"street ({road})" if road else "street",
                    geometry=r["line"],
                    street_width=width,
                    width_source="roads layer 'largeur'"
                    if np.isfinite(width)
                    else None,
                    road=road,
                    open=False,
                    frontage="roads" if r.get("by_road") else "cadastre",
                )
            )
            continue
        prev_street = runs[(i - 1) % m]["label"] == "street" and m > 1
        next_street = runs[(i + 1) % m]["label"] == "street" and m > 1
        if prev_street and next_street:
            kind, name = "side", "side limit"
        elif prev_street:
            # starts where a street ends: on the right, seen from the street
            kind, name = "side", "right side limit"
        elif next_street:
            kind, name = "side", "left side limit"
        else:
            has_street = any(q["label"] == "street" for q in runs)
            kind = "rear" if has_street else "side"
            name = "rear limit" if has_street else "separative limit"
        rows.append(
            dict(
                kind=kind,
                name=name,
                geometry=r["line"],
                street_width=np.nan,
                width_source=None,
                road=None,
                open=r["label"] == "open",
                frontage=None,
            )
        )
    return rows


def _roads_in_front(mids, out, road_g, road_w, road_line):
    """Which boundary pieces face a road, and the nearest such road.

    Parameters
    ----------
    mids : (n, 2) float
        Middles of the pieces [m].
    out : (n, 2) float
        Their outward unit normals.
    road_g, road_w, road_line
        Road geometries, widths [m] (NaN: unknown) and whether each is a line.

    Returns
    -------
    near : (n,) bool
        A road lies in front of the piece: within half its width (or
        :data:`DEFAULT_ROAD_WIDTH`) + :data:`ROAD_FRONTAGE_TOL` of a centre
        line, or :data:`ROAD_FRONTAGE_TOL` of a polygon, and stepping outward
        brings it closer (by at least half the step: a road along a side
        limit, by the corner, is not in front of it).
    road : (n,) int
        Index of that road (-1 when none).
    """
    n = len(mids)
    w = np.where(np.isfinite(road_w), road_w, DEFAULT_ROAD_WIDTH)
    thr = np.where(road_line, w / 2 + ROAD_FRONTAGE_TOL, ROAD_FRONTAGE_TOL)
    d0 = shapely.distance(shapely.points(mids)[:, None], road_g[None, :])  # (n, r)
    step = np.clip(0.5 * d0, 0.05, 1.0)
    probe = mids[:, None, :] + step[..., None] * out[:, None, :]
    d1 = shapely.distance(shapely.points(probe), road_g[None, :])
    facing = (d0 - d1 >= 0.5 * step) | (d0 <= 0.1)
    ok = (d0 <= thr[None, :]) & facing
    dd = np.where(ok, d0, np.inf)
    best = np.argmin(dd, axis=1) if dd.shape[1] else np.zeros(n, int)
    near = np.isfinite(dd[np.arange(n), best]) if dd.shape[1] else np.zeros(n, bool)
    return near, np.where(near, best, -1)


def _long_runs(mask, atoms, min_length: float) -> np.ndarray:
    """``mask`` without its circular runs shorter than ``min_length`` [m]."""
    n = len(mask)
    keep = mask.copy()
    if not mask.any() or mask.all():
        return keep
    length = np.array([float(np.hypot(*(p1 - p0))) for _, p0, p1 in atoms])
    start = int(np.flatnonzero(~mask)[0])  # walk from a False so runs do not wrap
    run: list = []
    for k in range(1, n + 1):
        i = (start + k) % n
        if mask[i]:
            run.append(i)
            continue
        if run and length[run].sum() < min_length:
            keep[run] = False
        run = []
    return keep


def _heading(line, end: bool) -> float:
    c = np.asarray(line.coords)
    a, b = (c[-2], c[-1]) if end else (c[0], c[1])
    return math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))


def _merge_short(runs):
    """Merge limit pieces shorter than :data:`MIN_PIECE` (chamfers, digitising
    jogs) into the adjacent limit piece they turn least from."""
    runs = list(runs)
    while len(runs) > 2:
        m = len(runs)
        short = [
            i
            for i, r in enumerate(runs)
            if r["label"] != "street" and r["line"].length < MIN_PIECE
        ]
        best = None
        for i in sorted(short, key=lambda i: runs[i]["line"].length):
            cands = []
            for j, before in (((i - 1) % m, True), ((i + 1) % m, False)):
                if runs[j]["label"] == "street":
                    continue
                a = _heading(runs[j]["line"], end=before)
                b = _heading(runs[i]["line"], end=not before)
                turn = abs((b - a + 180.0) % 360.0 - 180.0)
                cands.append((turn, j, before))
            if cands:
                best = (i, *min(cands)[1:])
                break
        if best is None:
            break
        i, j, before = best
        a, b = (runs[j], runs[i]) if before else (runs[i], runs[j])
        line = shapely.LineString(
            np.r_[np.asarray(a["line"].coords), np.asarray(b["line"].coords)[1:]]
        )
        merged = dict(runs[j], line=line)
        if runs[i]["label"] == "open" or runs[j]["label"] == "open":
            merged["label"] = max((runs[i], runs[j]), key=lambda r: r["line"].length)[
                "label"
            ]
        runs[j] = merged
        del runs[i]
    return runs


def _kind(label):
    return "street" if label == "street" else "limit"


def _street_widths_from_cadastre(gdf, land, nb):
    """Street width across each street limit without one: distance from the
    alignment to the first parcel on the other side (perpendicular ray)."""
    if not len(gdf) or not len(nb):
        return
    others = shapely.union_all(nb)
    for i in np.flatnonzero(
        (gdf["kind"] == "street").to_numpy()
        & ~np.isfinite(gdf["street_width"].to_numpy(float))
    ):
        line = gdf.geometry.iloc[i]
        widths = []
        for f in (0.25, 0.5, 0.75):
            p = line.interpolate(f, normalized=True)
            q = line.interpolate(min(f + 0.01, 1.0), normalized=True)
            dx, dy = q.x - p.x, q.y - p.y
            L = math.hypot(dx, dy)
            if L < 1e-9:
                continue
            # exterior is on the right of a counter-clockwise ring
            nx, ny = dy / L, -dx / L
            if land.contains(shapely.Point(p.x + 0.5 * nx, p.y + 0.5 * ny)):
                nx, ny = -nx, -ny
            ray = shapely.LineString(
                [
                    (p.x + 0.05 * nx, p.y + 0.05 * ny),
                    (p.x + STREET_SEARCH * nx, p.y + STREET_SEARCH * ny),
                ]
            )
            hit = ray.intersection(others)
            if not hit.is_empty:
                widths.append(shapely.Point(p.x, p.y).distance(hit))
        if widths:
            gdf.loc[gdf.index[i], "street_width"] = float(np.median(widths))
            gdf.loc[gdf.index[i], "width_source"] = "cadastre (opposite parcels)"
