"""The check context: what every rule check of one project reads and writes.

A :class:`CheckContext` holds the project's arrays (mesh vertices and faces,
the IFC element of each face, the natural ground under each vertex), the
located land, zone, rules and classified limits, and collects the result rows.
Rule checks (:mod:`cimcity.permit.checks.registry`) are plain functions
``check(ctx, rule)`` that measure on it and call :meth:`CheckContext.add`.
"""

from __future__ import annotations

import numpy as np
import shapely

from ...errors import InputError
from .._geometry import _direction_name, _parts
from .messages import Message, texts

#: measurement tolerance on lengths [m]: a value beyond its limit by less than
#: this is reported ``maybe`` (model and DEM precision), not ``fail``
LENGTH_TOL = 0.02
#: tolerance on ratios (shares, coefficients) [-]
RATIO_TOL = 1e-4
#: a building closer than this to a parcel limit is "built on the limit" [m]
ON_LIMIT_TOL = 0.10
#: default reference dates of the neighbour impact (equinox, winter solstice)
DEFAULT_DATES = ("2024-03-21", "2024-12-21")

#: the core articles: a report on which any of these rules (when the zone sets
#: it) could not be checked has no verdict (``passed`` is False, the
#: command line exits 3)
CORE_RULES = {
    "height": ("max_height", "max_eave_height", "max_altitude"),
    "footprint": ("max_footprint_ratio",),
    "setbacks": ("street_setback", "side_setback", "rear_setback"),
}
#: columns of the results table, in order
COLUMNS = [
    "rule",
    "article",
    "subject",
    "status",
    "measured",
    "limit",
    "unit",
    "elements",
    "explanation",
    "zone",
    "location",
]


def status(measured, limit, kind="max", tol=LENGTH_TOL):
    """pass / fail / maybe for ``measured <= limit`` (kind max) or ``>=`` (min).

    Parameters
    ----------
    measured, limit : float
        Measured value and its limit (same unit); None or NaN gives
        ``not_checkable``.
    kind : {"max", "min"}
        Whether ``limit`` is a maximum or a minimum.
    tol : float
        Excess within which the status is ``maybe`` (same unit).
    """
    if (
        measured is None
        or limit is None
        or not np.isfinite(measured)
        or not np.isfinite(limit)
    ):
        return "not_checkable"
    excess = measured - limit if kind == "max" else limit - measured
    if excess <= 0:
        return "pass"
    return "maybe" if excess <= tol else "fail"


def checked_tolerances(tolerances) -> dict:
    """The default tolerances with ``tolerances`` applied, after checking
    that each key is known and each value a finite number >= 0.

    Parameters
    ----------
    tolerances : dict or None
        ``{"length": [m], "ratio": [-], "on_limit": [m]}`` overrides.

    Returns
    -------
    dict

    Raises
    ------
    InputError
        An unknown key (a misspelt one would be silently ignored) or a value
        that is not a number >= 0.
    """
    tol = {"length": LENGTH_TOL, "ratio": RATIO_TOL, "on_limit": ON_LIMIT_TOL}
    if tolerances is None:
        return tol
    if not isinstance(tolerances, dict):
        raise InputError(
            f"tolerances must be a dict such as {{'length': 0.02}}; got "
            f"{type(tolerances).__name__} {tolerances!r}"
        )
    unknown = [k for k in tolerances if k not in tol]
    if unknown:
        raise InputError(
            f"unknown tolerance {unknown[0]!r}; expected one of "
            f"{', '.join(repr(k) for k in tol)}"
        )
    for k, v in tolerances.items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise InputError(f"tolerance {k!r} must be a number; got {v!r}") from None
        if not (np.isfinite(f) and f >= 0):
            raise InputError(f"tolerance {k!r} must be a finite number >= 0; got {f:g}")
        tol[k] = f
    return tol


class CheckContext:
    """State shared by the checks of one project (arrays, land, rules, rows).

    Parameters
    ----------
    bim : BimModel
    scene : Scene
    pack : RulePack or None
    parcels : ids, GeoDataFrame, GeoSeries or polygon, optional
        The land of the application as the caller gave it.
    site_plan : GeoDataFrame, optional
        Surfaces with a ``kind`` column (see :func:`cimcity.permit.check`).
    dates : sequence of dates
        Reference days of the neighbour impact.
    impact : bool
        Whether the neighbour impact runs.
    tolerances : dict, optional
        ``{"length": [m], "ratio": [-], "on_limit": [m]}`` overrides.
    """

    def __init__(self, bim, scene, pack, parcels, site_plan, dates, impact, tolerances):
        self.bim = bim
        self.scene = scene
        self.pack = pack
        self.site_plan = site_plan
        self.dates = dates
        self.do_impact = impact
        self.tol = checked_tolerances(tolerances)
        self.requested_parcels = parcels
        self.rows: list[dict] = []
        self.notes: list[str] = []
        self.context: dict = {}
        self.zone = None
        self.zone_id = None
        self.zone_rules = None
        self.other_zones: list = []
        self.land = None
        self.parcel_ids: list = []
        self.limits = None
        self.impact = None
        self.placed = bim.is_georeferenced or bim.crs is not None
        self._prepare_model()

    # -- rows ----------------------------------------------------------------------------
    def add(
        self,
        rule,
        status,
        measured=np.nan,
        limit=np.nan,
        unit="",
        elements=(),
        explanation="",
        subject="",
        article=None,
        location="",
    ):
        """Append one result row (article and unit default to the pack's rule).

        ``explanation`` may be a :class:`~cimcity.permit.checks.messages.Message`:
        the table holds its English text and ``context["explanations"]`` both
        languages (by row number), for the report in French or English.
        """
        if isinstance(explanation, Message):
            self.context.setdefault("explanations", {})[len(self.rows)] = texts(
                explanation
            )
            explanation = explanation.text("en")
        zr = self.zone_rules
        r = zr.get(rule) if zr is not None and rule in zr.rules else None
        self.rows.append(
            dict(
                rule=rule,
                article=article
                if article is not None
                else (r.article if r is not None else ""),
                subject=subject,
                status=status,
                measured=float(measured)
                if measured is not None and np.isfinite(measured)
                else np.nan,
                limit=float(limit)
                if limit is not None and np.isfinite(limit)
                else np.nan,
                unit=unit if unit else (r.unit if r is not None else ""),
                elements=sorted(
                    {str(e) for e in elements if e is not None and str(e) != "nan"}
                ),
                explanation=explanation,
                zone=self.zone,
                location=location,
            )
        )

    def violation(self, rule, subject="", **spec):
        """Remember where a failing rule is broken, for the 3D views: ``spec``
        as in :func:`cimcity.permit._geometry.violation_margin` (``kind`` and
        its parameters), or ``kind="faces"`` with ``faces`` (indices of the
        model's faces), or ``kind="none"`` when the failure has no place (a
        ratio)."""
        self.context.setdefault("violations", []).append(
            dict(spec, rule=rule, subject=subject)
        )

    def mark(self, x, y, line, label, status):
        """Remember a distance to draw on the site plan (worst point → limit)."""
        q = line.interpolate(line.project(shapely.Point(x, y)))
        both = texts(label)
        self.context.setdefault("marks", []).append(
            dict(
                x=float(x), y=float(y), x2=q.x, y2=q.y, label=both["en"],
                labels=both, status=status,
            )
        )

    # -- model arrays -------------------------------------------------------------------
    def _prepare_model(self):
        bim = self.bim
        mesh = bim.mesh
        self.V = (
            np.asarray(mesh.vertices, float) if mesh is not None else np.zeros((0, 3))
        )
        self.F = (
            np.asarray(mesh.faces, np.int64)
            if mesh is not None
            else np.zeros((0, 3), np.int64)
        )
        self.face_gid = None
        fe = getattr(bim, "face_element", None)
        el = getattr(bim, "elements", None)
        if fe is not None and el is not None and len(el) and "global_id" in el.columns:
            gids = el["global_id"].astype(str).to_numpy()
            fe = np.asarray(fe)
            ok = (fe >= 0) & (fe < len(gids))
            self.face_gid = np.where(ok, gids[np.clip(fe, 0, len(gids) - 1)], None)
        self.footprint = bim.footprint
        dem = self.scene.terrain
        self.ground_v = None
        # an unplaced model's coordinates are its own: never sample the DEM there
        if dem is not None and len(self.V) and self.placed:
            g = dem.sample(self.V[:, 0], self.V[:, 1])
            if np.isfinite(g).all():
                self.ground_v = g
            else:
                self.notes.append(
                    f"{int((~np.isfinite(g)).sum())} model vertices lie outside the DEM"
                )

    @property
    def no_ground(self) -> bool:
        """True when heights cannot be measured above natural ground (no DEM)."""
        return self.ground_v is None

    def elements_at(self, vertex_ids) -> list:
        """IFC GlobalIds of the faces that use any of ``vertex_ids``."""
        if self.face_gid is None or not len(self.F):
            return []
        vid = np.atleast_1d(vertex_ids)
        faces = np.flatnonzero(np.isin(self.F, vid).any(axis=1))
        return [g for g in self.face_gid[faces] if g is not None]

    def elements_of_faces(self, faces) -> list:
        """IFC GlobalIds of the given faces."""
        if self.face_gid is None:
            return []
        return [g for g in self.face_gid[np.asarray(faces, np.int64)] if g is not None]

    def nearest_vertices(self, x, y, tol=0.05):
        """Vertices within ``tol`` [m] of the nearest one to (x, y) in plan."""
        if not len(self.V):
            return []
        d = np.hypot(self.V[:, 0] - x, self.V[:, 1] - y)
        return np.flatnonzero(d <= d.min() + tol)

    def facade_name(self, x, y, toward=None) -> str:
        """Compass name of the footprint facade nearest to (x, y); at a corner
        (several facades within 5 cm), the one facing ``toward`` (a point, e.g.
        the limit) the most."""
        cands = []
        p = shapely.Point(x, y)
        for poly in _parts(self.footprint):
            poly = shapely.orient_polygons(poly)
            c = np.asarray(poly.exterior.coords)[:, :2]
            for a, b in zip(c[:-1], c[1:], strict=True):
                ex, ey = b - a
                n = float(np.hypot(ex, ey))
                if n < 1e-9:
                    continue
                # outward normal of a counter-clockwise ring: (ey, -ex)
                cands.append((shapely.LineString([a, b]).distance(p), ey / n, -ex / n))
        if not cands:
            return ""
        dmin = min(c[0] for c in cands)
        near = [c for c in cands if c[0] <= dmin + 0.05]
        if toward is not None and len(near) > 1:
            tx, ty = toward[0] - x, toward[1] - y
            near.sort(key=lambda c: -(c[1] * tx + c[2] * ty))
        else:
            near.sort(key=lambda c: c[0])
        return f"{_direction_name(near[0][1], near[0][2])} facade"

    def limits_of(self, kind):
        """The classified limits of one kind (``street``, ``side``, ``rear``)."""
        L = self.limits
        return L[L["kind"] == kind] if L is not None and len(L) else L.iloc[0:0]
