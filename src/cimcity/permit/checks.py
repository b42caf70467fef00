"""The rule checks of one project: terrain, zone, limits, then one method per rule."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops

from ..errors import CimcityError, InputError
from ._geometry import (
    _direction_name,
    _fmt,
    _parts,
    _section_area,
    _top_z,
    envelope_height,
)
from .limits import classify_limits

#: measurement tolerance on lengths [m]: a value beyond its limit by less than
#: this is reported ``maybe`` (model and DEM precision), not ``fail``
LENGTH_TOL = 0.02
#: tolerance on ratios (shares, coefficients) [-]
RATIO_TOL = 1e-4
#: a building closer than this to a parcel limit is "built on the limit" [m]
ON_LIMIT_TOL = 0.10
#: default reference dates of the neighbour impact (equinox, winter solstice)
DEFAULT_DATES = ("2024-03-21", "2024-12-21")

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

# IFC classes that make a storey a real level (not a datum line)
_LEVEL_CLASSES = (
    "IfcSpace",
    "IfcWall",
    "IfcWallStandardCase",
    "IfcSlab",
    "IfcColumn",
    "IfcCurtainWall",
    "IfcBuildingElementProxy",
)


# ---------------------------------------------------------------------------------
# the check
# ---------------------------------------------------------------------------------
def _status(measured, limit, kind="max", tol=LENGTH_TOL):
    """pass / fail / maybe for ``measured <= limit`` (kind max) or ``>=`` (min)."""
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


class _Check:
    """State shared by the checks of one project (arrays, terrain, rules)."""

    def __init__(self, bim, scene, pack, parcels, site, dates, impact, tolerances):
        self.bim = bim
        self.scene = scene
        self.pack = pack
        self.site_plan = site
        self.dates = dates
        self.do_impact = impact
        self.tol = {"length": LENGTH_TOL, "ratio": RATIO_TOL, "on_limit": ON_LIMIT_TOL}
        self.tol.update(tolerances or {})
        self.rows: list[dict] = []
        self.notes: list[str] = []
        self.zone = None
        self.zone_rules = None
        self.terrain = None
        self.parcel_ids: list = []
        self.limits = None
        self.impact = None
        self.context: dict = {}
        self.requested_parcels = parcels

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
        r = (
            self.zone_rules.get(rule)
            if self.zone_rules is not None
            and rule in (self.zone_rules.rules if self.zone_rules is not None else {})
            else None
        )
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

    # -- model arrays -------------------------------------------------------------------
    def prepare_model(self):
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
        terrain = self.scene.terrain
        self.ground_v = None
        placed = bim.is_georeferenced or bim.crs is not None
        # an unplaced model's coordinates are its own: never sample the DEM there
        if terrain is not None and len(self.V) and placed:
            g = terrain.sample(self.V[:, 0], self.V[:, 1])
            if np.isfinite(g).all():
                self.ground_v = g
            else:
                self.notes.append(
                    f"{int((~np.isfinite(g)).sum())} model vertices lie outside the DEM"
                )

    def elements_at(self, vertex_ids) -> list:
        if self.face_gid is None or not len(self.F):
            return []
        vid = np.atleast_1d(vertex_ids)
        faces = np.flatnonzero(np.isin(self.F, vid).any(axis=1))
        return [g for g in self.face_gid[faces] if g is not None]

    def elements_of_faces(self, faces) -> list:
        if self.face_gid is None:
            return []
        return [g for g in self.face_gid[np.asarray(faces, np.int64)] if g is not None]

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

    # -- site ----------------------------------------------------------------------------
    def locate(self) -> bool:
        """Terrain, zone and limits. Returns False when nothing further can run."""
        scene, bim = self.scene, self.bim
        placed = bim.is_georeferenced or bim.crs is not None
        self.placed = placed
        self.context["placed"] = placed
        P = scene.parcels
        req = self.requested_parcels
        if not placed:
            why = (bim.georef or {}).get("reason")
            self.add(
                "georeference",
                "not_checkable",
                article="—",
                explanation="The model carries no usable georeference"
                + (
                    f" ({why})"
                    if why
                    else " (no IfcMapConversion, no IfcSite latitude/longitude)"
                )
                + " and no placement was given, so its position, heights above ground "
                "and distances are unknown; give placement=(x, y, z, rotation_deg).",
            )
        if placed and bim.georef.get("approximate"):
            self.add(
                "georeference",
                "maybe",
                article="—",
                explanation=f"The placement comes from {bim.georef.get('method')} and is "
                "approximate: distances to the limits may be off by metres; ask for a "
                "surveyed placement (IfcMapConversion).",
            )
        if req is not None:
            if isinstance(req, gpd.GeoDataFrame | gpd.GeoSeries):
                geoms = list(
                    req.geometry.values
                    if isinstance(req, gpd.GeoDataFrame)
                    else req.values
                )
                self.parcel_ids = [str(i) for i in req.index]
            elif isinstance(req, shapely.Geometry):
                geoms, self.parcel_ids = [req], ["(given)"]
            else:
                ids = [req] if isinstance(req, str) else list(req)
                missing = [i for i in ids if i not in P.index]
                if missing:
                    raise InputError(
                        f"parcel id(s) {missing} are not in the scene's parcels "
                        f"(e.g. {list(P.index[:3])}); give ids of scene.parcels"
                    )
                geoms = list(P.geometry.loc[ids].values)
                self.parcel_ids = ids
            self.terrain = shapely.union_all(geoms)
        elif not placed:
            self.add(
                "zone",
                "not_checkable",
                article="—",
                explanation="Zone unknown: the project cannot be located without a "
                "georeference or the parcel ids (parcels=...).",
            )
            return False
        else:
            self.parcel_ids = scene.project_parcels(self.footprint)
            if not self.parcel_ids:
                c = self.footprint.centroid
                far = ""
                if len(P):
                    d = float(shapely.distance(P.geometry.values, c).min())
                    far = f"; the nearest parcel is {d:,.0f} m away"
                self.add(
                    "terrain",
                    "not_checkable",
                    article="—",
                    explanation=f"The placed project (centroid x={c.x:,.1f}, y={c.y:,.1f}) "
                    f"stands on no parcel of the scene{far}: check the placement "
                    f"or give parcels=[...].",
                )
                return False
            self.terrain = shapely.union_all(P.geometry.loc[self.parcel_ids].values)
        # zone
        Z = scene.zones
        if not len(Z) or "libelle" not in Z.columns:
            self.add(
                "zone",
                "not_checkable",
                article="—",
                explanation="The scene has no PLU zones (zone_urba with a libelle).",
            )
            return False
        base = self.footprint if placed else self.terrain
        inter = shapely.area(shapely.intersection(Z.geometry.values, base))
        if not (inter > 0).any():
            inter = shapely.area(shapely.intersection(Z.geometry.values, self.terrain))
        if not (inter > 0).any():
            self.add(
                "zone",
                "not_checkable",
                article="—",
                explanation="The terrain lies outside every PLU zone of the scene.",
            )
            return False
        order = np.argsort(-inter)
        self.zone = str(Z["libelle"].iloc[order[0]])
        self.zone_id = Z.index[order[0]]
        others = [
            (str(Z["libelle"].iloc[i]), inter[i]) for i in order[1:] if inter[i] > 1.0
        ]
        self.context["zones"] = [(self.zone, float(inter[order[0]]))] + others
        if self.pack is None:
            self.add(
                "rules",
                "not_checkable",
                article="—",
                explanation="No rule pack: give rules=... or add_zones(..., rules=...).",
            )
            return False
        self.zone_rules = self.pack.for_zone(self.zone)
        if self.zone_rules is None:
            self.add(
                "rules",
                "not_checkable",
                article="—",
                explanation=f"Zone {self.zone!r} has no rules in pack "
                f"{getattr(self.pack, 'name', '?')!r} (it covers "
                f"{', '.join(map(str, self.pack.zones)) or 'no zone'}).",
            )
            return False
        if others and placed:
            txt = ", ".join(f"{lib} ({a:.0f} m²)" for lib, a in others)
            self.add(
                "zone",
                "maybe",
                article="—",
                explanation=f"The project also stands in zone(s) {txt}; it was checked "
                f"against the rules of {self.zone} only.",
            )
        # limits
        nb = P.geometry.values[~P.index.isin(self.parcel_ids)] if len(P) else []
        nb = [g for g in nb if shapely.distance(g, self.terrain) < 50.0]
        roads = scene.layers.get("roads")
        self.limits = classify_limits(self.terrain, nb, roads)
        self.limits.crs = scene.crs
        streets = self.limits[self.limits["kind"] == "street"]
        if len(streets):
            # direction from the project toward its main street (for the 3D views)
            main = streets.geometry.iloc[int(np.argmax(streets.length.to_numpy()))]
            c = self.footprint.centroid
            q = main.interpolate(main.project(c))
            dx, dy = q.x - c.x, q.y - c.y
            n = float(np.hypot(dx, dy)) or 1.0
            self.context["street_dir"] = (dx / n, dy / n)
        return True

    # -- checks ----------------------------------------------------------------------------
    def run(self):
        self.prepare_model()
        if not self.locate():
            return
        z = self.zone_rules
        if self.placed:
            self.check_within_terrain()
        for name, fn in (
            ("max_height", self.check_height),
            ("max_eave_height", self.check_eave),
            ("max_altitude", self.check_altitude),
            ("max_footprint_ratio", self.check_footprint),
            ("street_setback", self.check_street),
            ("side_setback", self.check_limits),
            ("rear_setback", self.check_limits),
            ("envelope", self.check_envelope),
            ("min_open_space_share", self.check_open_space),
            ("min_pleine_terre_share", self.check_surfaces),
            ("min_green_share", self.check_surfaces),
            ("min_biotope_coefficient", self.check_surfaces),
            ("max_storeys", self.check_storeys),
            ("max_floor_area_ratio", self.check_floor_area),
        ):
            rule = z.get(name)
            if rule is None:
                continue
            needs_place = name not in ("max_storeys", "max_floor_area_ratio")
            if needs_place and not self.placed:
                self.add(
                    name,
                    "not_checkable",
                    explanation="The model is not georeferenced and no placement was "
                    "given: its position, heights above ground and distances are "
                    "unknown.",
                )
                continue
            fn(rule)
        if self.do_impact and self.placed:
            self.check_impact()

    def _no_ground(self):
        return self.ground_v is None

    def check_within_terrain(self):
        out = shapely.difference(self.footprint, self.terrain)
        area = float(out.area)
        if area <= 0.05:
            return
        c = out.centroid
        P = self.scene.parcels
        over = (
            [
                str(i)
                for i in P.index[shapely.intersects(P.geometry.values, out)]
                if i not in self.parcel_ids
            ]
            if len(P)
            else []
        )
        where = f"on parcel(s) {', '.join(over)}" if over else "on the public domain"
        self.add(
            "within_terrain",
            "fail",
            area,
            0.0,
            "m²",
            article="—",
            subject="project terrain",
            explanation=f"{area:.1f} m² of the footprint lie outside the terrain of the "
            f"application ({where}).",
            location=f"x={c.x:.1f}, y={c.y:.1f}",
        )

    def check_height(self, rule):
        V = self.V
        ref = rule.get("reference", "natural_ground")
        if not len(V):
            self.add(
                rule.name, "not_checkable", explanation="The model has no geometry."
            )
            return
        if ref == "ngf":
            i = int(np.argmax(V[:, 2]))
            m = V[i, 2]
            st = _status(m, rule.value, tol=self.tol["length"])
            self.add(
                rule.name,
                st,
                m,
                rule.value,
                "m NGF",
                self.elements_at(i),
                f"Highest point at {m:.2f} m NGF for a ceiling of {rule.value:.2f} m NGF.",
                location=f"x={V[i, 0]:.1f}, y={V[i, 1]:.1f}",
            )
            return
        if self._no_ground():
            m = self.bim.top_z - self.bim.base_z
            i = int(np.argmax(V[:, 2]))
            self.add(
                rule.name,
                "maybe",
                m,
                rule.value,
                "m",
                self.elements_at(i),
                f"No terrain model: height measured from the project's base "
                f"({self.bim.base_z:.2f} m), not from natural ground; "
                f"{_fmt(m, 'm')} against {_fmt(rule.value, 'm')}.",
            )
            return
        h = V[:, 2] - self.ground_v
        i = int(np.argmax(h))
        st = _status(h[i], rule.value, tol=self.tol["length"])
        word = "exceeds" if st == "fail" else "is within"
        self.add(
            rule.name,
            st,
            h[i],
            rule.value,
            "m",
            self.elements_at(i),
            f"The highest point stands {h[i]:.2f} m above the natural ground under it "
            f"(top {V[i, 2]:.2f} m NGF, ground {self.ground_v[i]:.2f} m NGF); it {word} "
            f"the {rule.value:.2f} m limit.",
            location=f"x={V[i, 0]:.1f}, y={V[i, 1]:.1f}, z={V[i, 2]:.2f}",
        )

    def eave(self):
        """(eave altitude, x, y, faces, how) of the model."""
        if "eave" in self.context:
            return self.context["eave"]
        V, F = self.V, self.F
        res = (np.nan, np.nan, np.nan, [], "no geometry")
        if len(F):
            tri = V[F]
            n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
            area = np.linalg.norm(n, axis=1) / 2
            nz = np.divide(n[:, 2], 2 * area, out=np.zeros(len(F)), where=area > 0)
            # pitched roof faces: upward, between 10 and 80 degrees
            sloped = (nz > 0.17) & (nz < 0.985) & (area > 0.05)
            fp_area = max(self.footprint.area, 1e-9)
            if area[sloped].sum() * 1.0 >= 0.2 * fp_area:
                # gutter: the lowest edge of the pitched roof
                zmin = tri[:, :, 2].min(axis=1)
                cand = np.flatnonzero(sloped & (area >= 0.02 * area[sloped].max()))
                j = cand[np.argmin(zmin[cand])]
                k = int(np.argmin(tri[j, :, 2]))
                res = (
                    float(zmin[j]),
                    float(tri[j, k, 0]),
                    float(tri[j, k, 1]),
                    [j],
                    "lowest edge of the pitched roof",
                )
            else:
                # flat roofs: top of the facades, just inside the outline
                inset = self.footprint.buffer(-0.2)
                if inset.is_empty:
                    inset = self.footprint
                pts = shapely.get_coordinates(shapely.segmentize(inset.boundary, 0.5))
                top = _top_z(tri, pts)
                if np.isfinite(top).any():
                    i = int(np.nanargmax(top))
                    d = np.hypot(V[:, 0] - pts[i, 0], V[:, 1] - pts[i, 1])
                    near = np.flatnonzero(np.abs(V[:, 2] - top[i]) < 0.01)
                    faces = []
                    if len(near):
                        v = near[np.argmin(d[near])]
                        faces = np.flatnonzero((F == v).any(axis=1)).tolist()
                    res = (
                        float(top[i]),
                        float(pts[i, 0]),
                        float(pts[i, 1]),
                        faces,
                        "top of the facades (flat roof)",
                    )
        self.context["eave"] = res
        return res

    def check_eave(self, rule):
        ez, x, y, faces, how = self.eave()
        if not np.isfinite(ez):
            self.add(rule.name, "not_checkable", explanation=f"No eave found ({how}).")
            return
        if rule.get("reference") == "ngf":
            st = _status(ez, rule.value, tol=self.tol["length"])
            self.add(
                rule.name,
                st,
                ez,
                rule.value,
                "m NGF",
                self.elements_of_faces(faces),
                f"Eave ({how}) at {ez:.2f} m NGF.",
                location=f"x={x:.1f}, y={y:.1f}",
            )
            return
        if self._no_ground():
            m = ez - self.bim.base_z
            self.add(
                rule.name,
                "maybe",
                m,
                rule.value,
                "m",
                self.elements_of_faces(faces),
                f"No terrain model: eave height ({how}) measured from the project's "
                f"base; {_fmt(m, 'm')} against {_fmt(rule.value, 'm')}.",
            )
            return
        g = float(self.scene.terrain.sample([x], [y])[0])
        h = ez - g
        st = _status(h, rule.value, tol=self.tol["length"])
        self.add(
            rule.name,
            st,
            h,
            rule.value,
            "m",
            self.elements_of_faces(faces),
            f"Eave height ({how}) {h:.2f} m above natural ground on the "
            f"{self.facade_name(x, y)} for a limit of {rule.value:.2f} m.",
            location=f"x={x:.1f}, y={y:.1f}, z={ez:.2f}",
        )

    def check_altitude(self, rule):
        V = self.V
        if not len(V):
            self.add(
                rule.name, "not_checkable", explanation="The model has no geometry."
            )
            return
        i = int(np.argmax(V[:, 2]))
        m = V[i, 2]
        st = _status(m, rule.value, tol=self.tol["length"])
        datum = getattr(self.scene, "vertical_datum", "NGF")
        self.add(
            rule.name,
            st,
            m,
            rule.value,
            "m NGF",
            self.elements_at(i),
            f"Highest point at {m:.2f} m ({datum}) for a ceiling of {rule.value:.2f} m.",
            location=f"x={V[i, 0]:.1f}, y={V[i, 1]:.1f}",
        )

    def check_footprint(self, rule):
        ta = float(self.terrain.area)
        fa = float(shapely.intersection(self.footprint, self.terrain).area)
        r = fa / ta
        st = _status(r, rule.value, tol=self.tol["ratio"])
        els = []
        if self.face_gid is not None and st == "fail":
            els = [g for g in self.face_gid if g is not None]
        self.add(
            rule.name,
            st,
            r,
            rule.value,
            "ratio",
            els,
            f"Footprint {fa:.1f} m² (overhangs included) on a terrain of {ta:.1f} m²: "
            f"{r:.3f} for a maximum of {rule.value:.3f}.",
        )

    def _limits(self, kind):
        L = self.limits
        return L[L["kind"] == kind] if L is not None and len(L) else L.iloc[0:0]

    def check_street(self, rule):
        streets = self._limits("street")
        if not len(streets):
            self.add(
                rule.name,
                "not_checkable",
                explanation="No street frontage found on the cadastre (every edge of the "
                "terrain is shared with another parcel, or no road is near).",
            )
            return
        align = bool(rule.get("alignment"))
        tol = float(rule.get("tolerance") or 0.0)
        dmin = float(rule.get("min") or 0.0)
        for _, s in streets.iterrows():
            line = s.geometry
            d = float(self.footprint.distance(line))
            a, b = shapely.ops.nearest_points(self.footprint, line)
            loc = f"x={a.x:.1f}, y={a.y:.1f}"
            els = self.elements_at(self._nearest_vertices(a.x, a.y))
            facade = self.facade_name(a.x, a.y, toward=(b.x, b.y))
            if d > self.tol["on_limit"]:
                self.mark(
                    a.x,
                    a.y,
                    line,
                    f"{d:.2f} m",
                    "pass" if (d <= tol if align else d >= dmin) else "fail",
                )
            if align:
                st = _status(d, tol, tol=self.tol["length"])
                txt = (
                    f"The {facade} stands {d:.2f} m from the alignment of the "
                    f"{s['name']}; alignment is required (tolerance {tol:.2f} m)."
                )
                self.add(
                    rule.name,
                    st,
                    d,
                    tol,
                    "m",
                    els,
                    txt,
                    subject=s["name"],
                    location=loc,
                )
            else:
                st = _status(d, dmin, "min", tol=self.tol["length"])
                txt = (
                    f"The {facade} stands {d:.2f} m back from the {s['name']} for a minimum "
                    f"setback of {dmin:.2f} m."
                )
                self.add(
                    rule.name,
                    st,
                    d,
                    dmin,
                    "m",
                    els,
                    txt,
                    subject=s["name"],
                    location=loc,
                )

    def mark(self, x, y, line, label, status):
        """Remember a distance to draw on the site plan (worst point → limit)."""
        q = line.interpolate(line.project(shapely.Point(x, y)))
        self.context.setdefault("marks", []).append(
            dict(x=float(x), y=float(y), x2=q.x, y2=q.y, label=label, status=status)
        )

    def _nearest_vertices(self, x, y, tol=0.05):
        if not len(self.V):
            return []
        d = np.hypot(self.V[:, 0] - x, self.V[:, 1] - y)
        return np.flatnonzero(d <= d.min() + tol)

    def check_limits(self, rule):
        kind = "side" if rule.name == "side_setback" else "rear"
        lims = self._limits(kind)
        if not len(lims):
            self.add(
                rule.name,
                "not_checkable",
                subject=f"{kind} limit",
                explanation=f"No {kind} limit was found on the cadastre around the "
                f"terrain (see the site plan).",
            )
            return
        k = float(rule.get("k") or 0.0)
        dmin = float(rule.get("d_min") or 0.0)
        on_ok = bool(rule.get("allow_on_limit"))
        self.context[f"{kind}_rule"] = dict(k=k, d_min=dmin, allow_on_limit=on_ok)
        outside = shapely.difference(self.footprint, self.terrain)
        V = self.V
        for _, lim in lims.iterrows():
            line = lim.geometry
            subj = lim["name"]
            # 1. crossing the limit: footprint points beyond the terrain whose
            # nearest terrain edge is this limit (slivers of a few mm are ignored)
            depth, far = 0.0, None
            if outside.area > 0.05:
                pts = shapely.get_coordinates(outside)
                pp = shapely.points(pts)
                d_t = shapely.distance(pp, self.terrain)
                d_l = shapely.distance(pp, line)
                mine = (d_t > self.tol["on_limit"]) & (d_l <= d_t + 0.05)
                if mine.any():
                    k_ = int(np.argmax(np.where(mine, d_t, -1.0)))
                    depth, far = float(d_t[k_]), pts[k_]
            if far is not None:
                i = self._nearest_vertices(*far)
                q = line.interpolate(line.project(shapely.Point(*far)))
                facade = self.facade_name(far[0], far[1])
                self.mark(far[0], far[1], line, f"crosses by {depth:.2f} m", "fail")
                self.add(
                    rule.name,
                    "fail",
                    -depth,
                    dmin if not on_ok else 0.0,
                    "m",
                    self.elements_at(i),
                    f"The {facade} crosses the {subj} by {depth:.2f} m (onto the "
                    f"neighbouring land).",
                    subject=subj,
                    location=f"x={far[0]:.1f}, y={far[1]:.1f} (limit at x={q.x:.1f}, "
                    f"y={q.y:.1f})",
                )
                continue
            dist_fp = float(self.footprint.distance(line))
            if dist_fp <= self.tol["on_limit"]:
                touch = shapely.intersection(
                    self.footprint.buffer(self.tol["on_limit"]), line
                )
                i = self._nearest_vertices(
                    *shapely.ops.nearest_points(self.footprint, line)[0].coords[0]
                )
                if on_ok:
                    self.add(
                        rule.name,
                        "pass",
                        dist_fp,
                        0.0,
                        "m",
                        self.elements_at(i),
                        f"Built on the {subj} over {touch.length:.1f} m, which the "
                        f"article allows.",
                        subject=subj,
                    )
                else:
                    self.add(
                        rule.name,
                        "fail",
                        dist_fp,
                        max(dmin, 0.0),
                        "m",
                        self.elements_at(i),
                        f"Built on the {subj} ({touch.length:.1f} m), which the article "
                        f"does not allow: a setback of at least max({k:g}·H, "
                        f"{dmin:.2f} m) is required.",
                        subject=subj,
                    )
                continue
            if not len(V):
                self.add(
                    rule.name,
                    "not_checkable",
                    explanation="The model has no geometry.",
                    subject=subj,
                )
                continue
            dist = shapely.distance(shapely.points(V[:, :2]), line)
            if self._no_ground():
                h = V[:, 2] - self.bim.base_z
            else:
                h = V[:, 2] - self.ground_v
            req = np.maximum(k * np.maximum(h, 0.0), dmin)
            margin = dist - req
            i = int(np.argmin(margin))
            st = _status(dist[i], req[i], "min", tol=self.tol["length"])
            if self._no_ground() and st == "pass":
                st = "maybe"
            q = line.interpolate(line.project(shapely.Point(V[i, 0], V[i, 1])))
            facade = self.facade_name(V[i, 0], V[i, 1], toward=(q.x, q.y))
            txt = (
                f"The {facade} at {h[i]:.2f} m above ground stands {dist[i]:.2f} m from the "
                f"{subj}; the article requires max({k:g} × {h[i]:.2f}, {dmin:.2f}) = "
                f"{req[i]:.2f} m."
            )
            if self._no_ground():
                txt += " (No terrain model: heights from the project's base.)"
            sign = "≥" if dist[i] >= req[i] else "<"
            self.mark(
                V[i, 0], V[i, 1], line, f"{dist[i]:.2f} m {sign} {req[i]:.2f} m", st
            )
            self.add(
                rule.name,
                st,
                dist[i],
                req[i],
                "m",
                self.elements_at(i),
                txt,
                subject=subj,
                location=f"x={V[i, 0]:.1f}, y={V[i, 1]:.1f}, z={V[i, 2]:.2f}",
            )

    def check_envelope(self, rule):
        streets = self._limits("street")
        if not len(streets):
            self.add(
                rule.name,
                "not_checkable",
                explanation="No street frontage found: the street envelope cannot be drawn.",
            )
            return
        known = streets[np.isfinite(streets["street_width"].to_numpy(float))]
        if not len(known):
            self.add(
                rule.name,
                "not_checkable",
                explanation="The street width is unknown (no 'largeur' in the roads "
                "layer and no parcel found across the street).",
            )
            return
        V = self.V
        c, slope, ceiling = float(rule["c"]), float(rule["slope"]), rule.get("ceiling")
        pts = shapely.points(V[:, :2])
        allowed = np.full(len(V), np.inf)
        best_z = np.full(len(V), np.inf)
        ref = np.full(len(V), np.nan)
        depth = np.full(len(V), np.nan)
        which = np.full(len(V), -1)
        for j, (_, s) in enumerate(known.iterrows()):
            d = shapely.distance(pts, s.geometry)
            a = envelope_height(d, float(s["street_width"]), c, slope, ceiling)
            if self.scene.terrain is not None:
                proj = shapely.line_interpolate_point(
                    s.geometry, shapely.line_locate_point(s.geometry, pts)
                )
                xy = shapely.get_coordinates(proj)
                g = self.scene.terrain.sample(xy[:, 0], xy[:, 1])
            else:
                g = np.full(len(V), self.bim.base_z)
            # the gabarit of the street whose allowed altitude is lowest governs
            za = g + a
            better = (za < best_z) | (which < 0)
            best_z = np.where(better, za, best_z)
            allowed = np.where(better, a, allowed)
            ref = np.where(better, g, ref)
            depth = np.where(better, d, depth)
            which = np.where(better, j, which)
        if not np.isfinite(ref).all():
            self.add(
                rule.name,
                "not_checkable",
                explanation="The DEM does not cover the street in front of the project.",
            )
            return
        h = V[:, 2] - ref
        pen = h - allowed
        i = int(np.argmax(pen))
        s = known.iloc[which[i]]
        st = _status(h[i], allowed[i], tol=self.tol["length"])
        if self.scene.terrain is None and st == "pass":
            st = "maybe"
        over = pen > self.tol["length"]
        els = (
            self.elements_at(np.flatnonzero(over))
            if over.any()
            else self.elements_at(i)
        )
        P = float(s["street_width"])
        if pen[i] > 0:
            txt = (
                f"The building leaves the envelope of the {s['name']} (P = {P:.2f} m, "
                f"{s['width_source']}) by up to {pen[i]:.2f} m on the "
                f"{self.facade_name(V[i, 0], V[i, 1])}, {depth[i]:.2f} m behind the "
                f"alignment, where {allowed[i]:.2f} m is allowed (vertical P + {c:g} m, "
                f"slope {slope:g}"
                + (f", ceiling {ceiling:g} m" if ceiling is not None else "")
                + ")."
            )
        else:
            txt = (
                f"The building fits the envelope of the {s['name']} (P = {P:.2f} m, "
                f"{s['width_source']}, vertical P + {c:g} = {P + c:.2f} m): the closest "
                f"point is {-pen[i]:.2f} m under it, {depth[i]:.2f} m behind the alignment."
            )
        self.context["envelope"] = dict(
            c=c,
            slope=slope,
            ceiling=ceiling,
            penetration=float(pen[i]),
            x=float(V[i, 0]),
            y=float(V[i, 1]),
            z=float(V[i, 2]),
            street=s["name"],
            width=P,
            depth=float(depth[i]),
            ground=float(ref[i]),
        )
        self.add(
            rule.name,
            st,
            h[i],
            allowed[i],
            "m",
            els,
            txt,
            subject=s["name"],
            location=f"x={V[i, 0]:.1f}, y={V[i, 1]:.1f}, z={V[i, 2]:.2f}; "
            f"penetration {pen[i]:+.2f} m",
        )

    def check_open_space(self, rule):
        ta = float(self.terrain.area)
        built = float(shapely.intersection(self.footprint, self.terrain).area)
        share = (ta - built) / ta
        st = _status(share, rule.value, "min", tol=self.tol["ratio"])
        self.add(
            rule.name,
            st,
            share,
            rule.value,
            "ratio",
            [],
            f"Open space {ta - built:.1f} m² (terrain minus footprint) of {ta:.1f} m²: "
            f"{share:.3f} for a minimum of {rule.value:.3f}.",
        )

    def surfaces(self):
        """Surfaces of the terrain as :func:`cimcity.vegetation.cover_areas`
        measures them (one row: ``pleine_terre_area``, ``green_area``,
        ``green_roof_deep_area``... [m²]) and a text naming the source; (None,
        None) without a site plan or vegetation."""
        if "surfaces" in self.context:
            return self.context["surfaces"]
        from ..vegetation import cover_areas

        site = self.site_plan
        src = "the site plan"
        if site is None:
            site = self.scene.layers.get("site_plan")
            src = "the scene's 'site_plan' layer"
        if site is None:
            site = (getattr(self.bim, "extras", {}) or {}).get("site_surfaces")
            src = "the model's site surfaces"
        if site is not None and len(site):
            if "kind" not in site.columns:
                raise InputError(
                    "the site plan needs a 'kind' column with surface types "
                    f"({', '.join(self.pack.weights(self.zone))}); got columns "
                    f"{list(site.columns)}"
                )
            veg = site
        elif len(self.scene.vegetation):
            veg = self.scene.vegetation
            src = (
                "the scene's vegetation on the terrain, outside the footprint "
                "(assumed kept by the project; no site plan was given)"
            )
        else:
            self.context["surfaces"] = (None, None)
            return self.context["surfaces"]
        near = veg[shapely.intersects(veg.geometry.values, self.terrain)]
        # the project is the only building left on its terrain (Scene.with_project)
        b = gpd.GeoDataFrame(geometry=[self.footprint], crs=self.scene.crs)
        units = gpd.GeoSeries([self.terrain], crs=self.scene.crs)
        areas = cover_areas(units, buildings=b, vegetation=near if len(near) else None)
        self.context["surfaces"] = (areas.iloc[0], src)
        return self.context["surfaces"]

    def check_surfaces(self, rule):
        a, source = self.surfaces()
        if a is None:
            self.add(
                rule.name,
                "not_checkable",
                explanation="No site plan (site=..., a 'site_plan' layer or site "
                "elements in the model) and no vegetation data on the terrain: "
                "the surfaces are unknown.",
            )
            return
        ta = float(self.terrain.area)
        if rule.name == "min_pleine_terre_share":
            v = float(a["pleine_terre_area"])
            m = v / ta
            txt = f"Pleine terre {v:.1f} m² of {ta:.1f} m² ({m:.3f}), from {source}."
        elif rule.name == "min_green_share":
            v = float(a["green_area"])
            m = v / ta
            txt = (
                f"Green surfaces (vegetation and green roofs) {v:.1f} m² of {ta:.1f} m² "
                f"({m:.3f}), from {source}."
            )
        else:
            w = self.pack.weights(self.zone)
            parts = {
                "pleine_terre": float(a["pleine_terre_area"]),
                "green_roof_deep": float(a["green_roof_deep_area"]),
                "green_roof_shallow": float(a["green_roof_shallow_area"]),
                "green_wall": float(a["green_wall_area"]),
                "permeable_paving": float(a["permeable_paving_area"]),
                "impervious": float(a["impervious_area"]),
            }
            v = sum(parts[k] * float(w.get(k, 0.0)) for k in parts)
            m = v / ta
            terms = ", ".join(
                f"{k} {x:.0f} m² × {w.get(k, 0.0):g}" for k, x in parts.items() if x > 0
            )
            txt = (
                f"Biotope coefficient ({terms or 'no weighted surface'}) / {ta:.1f} m² = "
                f"{m:.3f}, from {source}."
            )
        st = _status(m, rule.value, "min", tol=self.tol["ratio"])
        self.add(
            rule.name,
            st,
            m,
            rule.value,
            "ratio",
            [],
            txt + f" Minimum {rule.value:.3f}.",
        )

    def storeys_above_ground(self):
        S = self.bim.storeys
        if S is None or not len(S) or "elevation" not in S.columns:
            return None, "the model has no storeys"
        S = S.copy()
        h = pd.to_numeric(
            S.get("height", pd.Series(np.nan, index=S.index)), errors="coerce"
        )
        S["height"] = h.fillna(3.0)
        if self.ground_v is not None:
            ground = float(
                np.min(
                    self.scene.terrain.sample(
                        *shapely.get_coordinates(
                            shapely.segmentize(self.footprint.boundary, 1.0)
                        ).T
                    )
                )
            )
            gtxt = "natural ground"
        else:
            ground = float(self.bim.base_z)
            gtxt = "the project's base"
        above = (S["elevation"] + 0.5 * S["height"]) >= ground - 1e-6
        E = self.bim.elements
        level = np.ones(len(S), bool)
        if (
            E is not None
            and len(E)
            and {"storey", "ifc_class"} <= set(E.columns)
            and self.bim.schema != "massing"
        ):
            keys = set(E.loc[E["ifc_class"].isin(_LEVEL_CLASSES), "storey"].astype(str))
            ids = S.get("global_id", pd.Series(None, index=S.index)).astype(str)
            names = S.get("name", pd.Series(None, index=S.index)).astype(str)
            level = (ids.isin(keys) | names.isin(keys)).to_numpy()
            if not level.any():
                level[:] = True
        keep = S[above.to_numpy() & level]
        return keep, gtxt

    def check_storeys(self, rule):
        S, gtxt = self.storeys_above_ground()
        if S is None:
            self.add(
                rule.name, "not_checkable", explanation=f"Cannot count storeys: {gtxt}."
            )
            return
        n = len(S)
        st = _status(n, rule.value, tol=0.0)
        names = ", ".join(map(str, S.get("name", pd.Series(dtype=str)).tolist()))
        self.add(
            rule.name,
            st,
            n,
            rule.value,
            "storeys",
            S["global_id"].tolist() if "global_id" in S.columns else [],
            f"{n} storeys above {gtxt} ({names}) for a maximum of {rule.value}.",
        )

    def check_floor_area(self, rule):
        S, gtxt = self.storeys_above_ground()
        if S is None:
            self.add(
                rule.name,
                "not_checkable",
                explanation=f"Cannot measure floor area: {gtxt}.",
            )
            return
        gfa = pd.to_numeric(
            S.get("gross_floor_area", pd.Series(np.nan, index=S.index)), errors="coerce"
        ).to_numpy(float)
        how = "the storeys' gross floor areas"
        miss = ~(np.isfinite(gfa) & (gfa > 0))
        if miss.any():
            for j in np.flatnonzero(miss):
                z = float(S["elevation"].iloc[j]) + min(
                    1.2, 0.5 * float(S["height"].iloc[j])
                )
                gfa[j] = _section_area(self.V, self.F, z)
            how = (
                ("the storeys' gross floor areas" if not miss.all() else "")
                + (" and " if not miss.all() else "")
                + "horizontal sections of the model"
            )
        if not np.isfinite(gfa).all():
            self.add(
                rule.name,
                "not_checkable",
                explanation="Some storeys have no gross floor area and the model "
                "could not be sectioned.",
            )
            return
        total = float(gfa.sum())
        ta = float(self.terrain.area)
        r = total / ta
        st = _status(r, rule.value, tol=self.tol["ratio"])
        self.add(
            rule.name,
            st,
            r,
            rule.value,
            "ratio",
            S["global_id"].tolist()
            if "global_id" in S.columns and st == "fail"
            else [],
            f"Gross floor area {total:.1f} m² over {len(S)} storeys (from {how}) on "
            f"{ta:.1f} m² of terrain: {r:.3f} for a maximum of {rule.value:.3f} (gross "
            f"area bounds the surface de plancher from above).",
        )

    def check_impact(self):
        from .impact import neighbour_impact

        try:
            res = neighbour_impact(
                self.bim, self.scene, self.terrain, self.dates, parcels=self.parcel_ids
            )
        except (ImportError, CimcityError) as exc:  # no shadow module / unusable scene
            self.add(
                "neighbour_sun_hours",
                "not_checkable",
                article="informative",
                explanation=f"Shadow analysis unavailable ({exc}).",
            )
            return
        self.impact = res.get("table")
        self.context["impact"] = res
        self.add(
            "neighbour_sun_hours",
            res["status"],
            res.get("measured", np.nan),
            np.nan,
            "h",
            [],
            res["explanation"],
            article="informative",
            subject=res.get("subject", "neighbours"),
            location=res.get("location", ""),
        )
