"""Geometry helpers of the permit checks: pure functions on arrays and shapely."""

from __future__ import annotations

import math

import numpy as np
import shapely


# ---------------------------------------------------------------------------------
# small geometry helpers (pure functions on arrays / shapely)
# ---------------------------------------------------------------------------------
def envelope_height(depth, street_width, c, slope, ceiling=None):
    """Height allowed by a street envelope (gabarit-enveloppe) [m].

    A vertical of height ``P + c`` at the alignment (``P`` the street width),
    then a line rising ``slope`` metres per metre of depth behind it, capped by
    ``ceiling``.

    Parameters
    ----------
    depth : float or (n,) array
        Horizontal distance behind the alignment [m] (>= 0).
    street_width : float
        Street width ``P`` between alignments [m].
    c : float
        Height added to the width for the vertical [m].
    slope : float
        Rise per metre of depth beyond the vertical [m/m] (1.0 = 45°).
    ceiling : float, optional
        Absolute cap above the reference ground [m].

    Returns
    -------
    float or (n,) array
        Allowed height above the street's ground level [m].

    Examples
    --------
    >>> envelope_height([0.0, 5.0, 50.0], 16.0, 10.0, 1.0, ceiling=37.0)
    array([26., 31., 37.])
    """
    d = np.maximum(np.asarray(depth, float), 0.0)
    h = street_width + c + slope * d
    if ceiling is not None and np.isfinite(ceiling):
        h = np.minimum(h, ceiling)
    return h


def _top_z(triangles: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Highest altitude of a triangle soup straight above/below each point [m].

    A vertical ray per point against every triangle whose 2D box holds it
    (barycentric test); NaN where no triangle covers the point. Written by hand
    because we need the top of *all* hits, which ray engines do not return.
    """
    n = len(xy)
    out = np.full(n, np.nan)
    if n == 0 or len(triangles) == 0:
        return out
    a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    lo = np.minimum(np.minimum(a, b), c)[:, :2] - 1e-9
    hi = np.maximum(np.maximum(a, b), c)[:, :2] + 1e-9
    v0 = (b - a)[:, :2]
    v1 = (c - a)[:, :2]
    den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    flat = np.abs(den) > 1e-12  # vertical faces have no 2D area
    step = max(1, int(2_000_000 // max(len(triangles), 1)))
    for s in range(0, n, step):
        p = xy[s : s + step]
        inb = (
            (p[:, None, 0] >= lo[None, :, 0])
            & (p[:, None, 0] <= hi[None, :, 0])
            & (p[:, None, 1] >= lo[None, :, 1])
            & (p[:, None, 1] <= hi[None, :, 1])
            & flat[None, :]
        )
        ii, jj = np.nonzero(inb)
        if not len(ii):
            continue
        w = p[ii] - a[jj, :2]
        u = (w[:, 0] * v1[jj, 1] - v1[jj, 0] * w[:, 1]) / den[jj]
        v = (v0[jj, 0] * w[:, 1] - w[:, 0] * v0[jj, 1]) / den[jj]
        ok = (u >= -1e-9) & (v >= -1e-9) & (u + v <= 1 + 1e-9)
        z = a[jj, 2] + u * (b[jj, 2] - a[jj, 2]) + v * (c[jj, 2] - a[jj, 2])
        seg = np.full(len(p), -np.inf)
        np.maximum.at(seg, ii[ok], z[ok])
        seg[~np.isfinite(seg)] = np.nan
        out[s : s + step] = seg
    return out


def _direction_name(dx: float, dy: float) -> str:
    """Compass name of a horizontal direction (8 sectors)."""
    az = (math.degrees(math.atan2(dx, dy)) + 360.0) % 360.0
    names = (
        "north",
        "north-east",
        "east",
        "south-east",
        "south",
        "south-west",
        "west",
        "north-west",
    )
    return names[int((az + 22.5) // 45) % 8]


def _fmt(v, unit="") -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    if unit == "ratio":
        return f"{v:.3f}"
    if unit in ("storeys", "count"):
        return f"{v:.0f}"
    if unit in ("m²", "m2"):
        return f"{v:.1f} m²"
    return f"{v:.2f} {unit}".strip()


def _parts(geom):
    """Polygons of a (Multi)Polygon."""
    if geom is None or geom.is_empty:
        return []
    return [
        p
        for p in shapely.get_parts(geom)
        if p.geom_type == "Polygon" and not p.is_empty
    ]


def _section_area(V, F, z) -> float:
    """Area inside the outline of a horizontal section of a mesh at altitude z
    [m²] (rooms filled, i.e. a gross floor area); NaN when nothing is cut."""
    if not len(F):
        return np.nan
    tri = V[F]
    zs = tri[:, :, 2]
    cut = (zs.min(axis=1) < z) & (zs.max(axis=1) > z)
    if not cut.any():
        return np.nan
    segs = []
    for t in tri[cut]:
        pts = []
        for a, b in ((0, 1), (1, 2), (2, 0)):
            za, zb = t[a, 2], t[b, 2]
            if (za - z) * (zb - z) < 0:
                f = (z - za) / (zb - za)
                pts.append(t[a, :2] + f * (t[b, :2] - t[a, :2]))
        if len(pts) == 2:
            segs.append(shapely.LineString(pts))
    if not segs:
        return np.nan
    polys = shapely.get_parts(shapely.polygonize(segs))
    if not len(polys):
        return np.nan
    filled = [shapely.Polygon(p.exterior) for p in polys]
    return float(shapely.union_all(filled).area)


def violation_margin(spec: dict, points: np.ndarray, ground) -> np.ndarray:
    """Margin of points against one broken rule: negative where the rule is
    broken [m].

    Parameters
    ----------
    spec : dict
        What the rule requires, recorded by the check that failed
        (``kind`` among ``"height"``: ``limit`` [m], ``reference``
        (``"ground"`` or ``"ngf"``); ``"prospect"``: ``line``, ``k``,
        ``dmin``; ``"near"``: ``line``, ``d`` [m]; ``"outside"``: ``land``;
        ``"envelope"``: ``streets`` [(line, width [m])], ``c``, ``slope``,
        ``ceiling``).
    points : (n, 3) float
        Points of the project [m, scene CRS].
    ground : callable
        ``ground(x, y) -> (n,) z`` the natural ground [m].

    Returns
    -------
    (n,) float
        Margin [m]; ``+inf`` for kinds without a spatial extent.
    """
    P = np.asarray(points, float)
    kind = spec.get("kind")
    pts = shapely.points(P[:, :2])
    if kind == "height":
        ref = ground(P[:, 0], P[:, 1]) if spec.get("reference") != "ngf" else 0.0
        return spec["limit"] - (P[:, 2] - ref)
    if kind == "prospect":
        h = np.maximum(P[:, 2] - ground(P[:, 0], P[:, 1]), 0.0)
        d = shapely.distance(pts, spec["line"])
        return d - np.maximum(spec["k"] * h, spec["dmin"])
    if kind == "near":
        return shapely.distance(pts, spec["line"]) - spec["d"]
    if kind == "outside":
        return -shapely.distance(pts, spec["land"])
    if kind == "envelope":
        za = np.full(len(P), np.inf)
        for line, width in spec["streets"]:
            d = shapely.distance(pts, line)
            q = shapely.get_coordinates(
                shapely.line_interpolate_point(
                    line, shapely.line_locate_point(line, pts)
                )
            )
            g = ground(q[:, 0], q[:, 1])
            a = envelope_height(d, width, spec["c"], spec["slope"], spec["ceiling"])
            za = np.minimum(za, g + a)
        return za - P[:, 2]
    return np.full(len(P), np.inf)
