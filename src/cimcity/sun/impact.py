"""What a project takes from its neighbours: sun-hours and irradiation, before
and after.

* :func:`changed_buildings` — the one diff of two scenes' buildings: which
  stand unchanged in both, which were removed, which were added.
* :func:`sun_hours_impact` — sun-hours lost and gained by the neighbours
  (:class:`ImpactResult`), on the equinox and the solstices by default.
* :func:`irradiance_impact` — irradiation [kWh/m²] lost and gained by the
  neighbours' roofs and facades (:class:`SolarImpact`).

Both compare the *same* sensors in both scenes: the surfaces of the buildings
that stand unchanged (and, for sun-hours, the open ground outside every
footprint); the project and what it replaces carry none. Facade sensors that a
new building covers (a wall that becomes a party wall) are flagged ``covered``
and kept out of the totals.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd
import shapely

from .._compat import renamed_arguments
from ..errors import InputError
from ..mesh import CityMesh
from ..scene import Scene
from ..scene.heights import check_vertical_frame
from ..scene.summary import shown
from .context import flag_context, in_area, margin_for, study_area
from .hours import hours_from_bits, trace_sun
from .impact_results import ImpactResult, SolarImpact
from .irradiance import irradiance
from .occluders import TREE_KINDS, canopy_boxes, tree_crowns
from .position import DEFAULT_TZ, as_stamp, site, sun_steps, when_from_start_end
from .sensors import SURFACES, buried, resolve

__all__ = [
    "DEFAULT_DATES",
    "DEFAULT_YEAR",
    "changed_buildings",
    "sun_hours_impact",
    "ImpactResult",
    "irradiance_impact",
    "SolarImpact",
]

#: days of :func:`sun_hours_impact` when none are given (month, day): equinox,
#: solstices
DEFAULT_DATES = ((3, 21), (6, 21), (12, 21))
#: year of :data:`DEFAULT_DATES`
DEFAULT_YEAR = 2024
#: footprints closer than this and altitudes within it are the same [m]
SAME_TOL = 1e-6


# -- the diff of two scenes ---------------------------------------------------------------------
def changed_buildings(before, after) -> tuple[list, list]:
    """Buildings removed from ``before`` and added in ``after``.

    A building stands unchanged when its id is in both scenes with the same
    footprint (vertices within :data:`SAME_TOL`), the same ``ground_z``,
    ``roof_z`` and ``eave_z`` (within :data:`SAME_TOL`; NaN equals NaN) and
    the same ``source`` (a footprint prism that became a BIM model is a
    change: its shadow now comes from the model's triangles). Any other
    building of ``before`` is removed and any other of ``after`` added, so a
    changed building counts as both.

    Parameters
    ----------
    before, after : Scene

    Returns
    -------
    removed, added : list
        Building ids, in each scene's order.
    """
    B0, B1 = before.buildings, after.buildings
    common = B0.index.intersection(B1.index)
    same = np.zeros(len(common), bool)
    if len(common):
        g0 = B0.loc[common].geometry.values
        g1 = B1.loc[common].geometry.values
        same = shapely.equals_exact(g0, g1, tolerance=SAME_TOL)
        for col in ("ground_z", "roof_z", "eave_z"):
            if col in B0.columns and col in B1.columns:
                a = B0.loc[common, col].to_numpy(float)
                b = B1.loc[common, col].to_numpy(float)
                same &= np.isclose(a, b, atol=SAME_TOL) | (np.isnan(a) & np.isnan(b))
        src0 = B0.loc[common].get("source")
        src1 = B1.loc[common].get("source")
        if src0 is not None and src1 is not None:
            same &= src0.astype(str).to_numpy() == src1.astype(str).to_numpy()
    unchanged = set(common[same])
    removed = [b for b in B0.index if b not in unchanged]
    added = [b for b in B1.index if b not in unchanged]
    return removed, added


def _changed_trees(before, after):
    """Tree ids standing unchanged in both scenes, only before, only after."""

    def trees(s):
        V = s.vegetation
        if not len(V) or "kind" not in V.columns:
            return V.iloc[:0]
        return V[V["kind"].astype(str).isin(list(TREE_KINDS))]

    T0, T1 = trees(before), trees(after)
    common = T0.index.intersection(T1.index)
    same = np.zeros(len(common), bool)
    if len(common):
        same = shapely.equals_exact(
            T0.loc[common].geometry.values, T1.loc[common].geometry.values, SAME_TOL
        )
        for col in ("height", "ground_z"):
            if col in T0.columns or col in T1.columns:
                a = T0.loc[common].get(col, pd.Series(np.nan, common)).to_numpy(float)
                b = T1.loc[common].get(col, pd.Series(np.nan, common)).to_numpy(float)
                same &= np.isclose(a, b) | (np.isnan(a) & np.isnan(b))
    kept = set(common[same])
    return (
        list(kept),
        [t for t in T0.index if t not in kept],
        [t for t in T1.index if t not in kept],
    )


def _with_tree_changes(before, after, city, gone, new):
    """Add tree crowns to the three occluder groups of :func:`sun_hours_impact`:
    trees in both scenes to ``city``, trees only before to ``gone``, only after
    to ``new`` (likewise a canopy raster that differs)."""
    kept, lost, grown = _changed_trees(before, after)
    origin = before.mesh().origin
    groups = {"city": [city], "gone": [gone], "new": [new]}
    if kept:
        groups["city"].append(tree_crowns(before, origin=origin, ids=kept))
    if lost:
        groups["gone"].append(tree_crowns(before, origin=origin, ids=lost))
    if grown:
        groups["new"].append(tree_crowns(after, origin=origin, ids=grown))
    c0, c1 = before.rasters.get("cdsm"), after.rasters.get("cdsm")
    if c0 is not None and c1 is not None and c0 is c1:
        groups["city"].append(canopy_boxes(c0, before, origin=origin))
    else:
        if c0 is not None:
            groups["gone"].append(canopy_boxes(c0, before, origin=origin))
        if c1 is not None:
            groups["new"].append(canopy_boxes(c1, after, origin=origin))
    out = []
    for name in ("city", "gone", "new"):
        parts = [m for m in groups[name] if m is not None and m.n_faces]
        out.append(CityMesh.concatenate(parts, origin=origin) if parts else None)
    return tuple(out)


def _building_mesh(scene, ids, with_terrain=False):
    """Sub-mesh of some buildings (and the terrain) of a scene, or None."""
    mesh = scene.mesh(terrain=with_terrain)
    idx = np.flatnonzero(np.isin(mesh.building_ids, list(ids)))
    mask = np.isin(mesh.face_building, idx)
    if with_terrain:
        mask |= mesh.face_building < 0
    if not mask.any():
        return None
    return mesh.subset(mask)


def _covered(sensors, after, added) -> np.ndarray:
    """(n,) bool: sensors inside a building of ``added`` (new party walls)."""
    if not added or not len(sensors):
        return np.zeros(len(sensors), bool)
    A = after.buildings.reindex(added)
    return buried(
        sensors.points,
        np.full(len(sensors), -1),
        A.geometry.values,
        A["roof_z"].to_numpy(float),
    )


def _check_scenes(before, after):
    for name, sc in (("before", before), ("after", after)):
        if not isinstance(sc, Scene):
            raise InputError(
                f"{name} must be a cimcity Scene (e.g. {name}="
                f"{'scene' if name == 'before' else 'scene.with_project(bim)'}); got "
                f"{type(sc).__name__} {sc!r}"
            )
    if not before.crs.equals(after.crs):
        raise InputError(
            f"before and after scenes have different CRS ({before.crs.to_string()} vs "
            f"{after.crs.to_string()})"
        )


# -- sun-hours ----------------------------------------------------------------------------------
def _days(when, tz) -> list:
    if when is None:
        when = [_dt.date(DEFAULT_YEAR, m, d) for m, d in DEFAULT_DATES]
    elif isinstance(when, str | _dt.date | pd.Timestamp):
        when = [when]
    days = [as_stamp(d, tz).normalize() for d in when]
    if not days:
        raise InputError("when is empty: give at least one day")
    return days


def _neighbour_sensors(
    before, after, removed, added, surfaces, spacing, radius, engine, area=None
):
    """Sensors of :func:`sun_hours_impact`: ``before``'s sensors off the
    removed buildings and off the ground under ``after``'s footprints, within
    ``radius`` of the changed footprints; and which of them a new building
    covers (facades only)."""
    sensors = resolve(
        before, surfaces=surfaces, spacing=spacing, engine=engine, others=(after,),
        ground_bounds=area,
    )
    keep = ~np.isin(sensors.building_id, removed)
    changed_fp = np.concatenate(
        [
            before.buildings.loc[removed].geometry.values,
            after.buildings.loc[added].geometry.values,
        ]
    )
    is_ground = sensors.kind == "ground"
    if len(after.buildings) and is_ground.any():
        tree = shapely.STRtree(after.buildings.geometry.values)
        pts = shapely.points(sensors.points[is_ground, :2])
        hit = np.unique(tree.query(pts, predicate="intersects")[0])
        under = np.zeros(int(is_ground.sum()), bool)
        under[hit] = True
        g = np.flatnonzero(is_ground)
        keep[g[under]] = False
    if radius is not None:
        if not np.isfinite(radius) or radius <= 0:
            raise InputError(
                f"radius must be a positive distance in metres; got {shown(radius)!r}"
            )
        if len(changed_fp):
            zone = shapely.buffer(shapely.union_all(changed_fp), radius)
            keep &= shapely.contains_xy(
                zone, sensors.points[:, 0], sensors.points[:, 1]
            )
    keep &= in_area(area, sensors.points[:, :2])
    sensors = sensors.subset(keep)
    covered = _covered(sensors, after, added) & (sensors.kind != "ground")
    return sensors, covered


@renamed_arguments(dates="when")
def sun_hours_impact(
    before,
    after,
    when=None,
    *,
    step="6min",
    spacing: float = 1.0,
    surfaces=SURFACES,
    radius: float | None = None,
    tz: str = DEFAULT_TZ,
    engine: str = "auto",
    n_worst: int = 10,
    progress=None,
    trees: bool = False,
    area=None,
) -> ImpactResult:
    """Sun-hours the neighbours of a project lose and gain.

    The same sensors are used in both scenes: the open ground outside every
    footprint of either scene, and the roofs and facades of the buildings that
    stand unchanged in both (:func:`changed_buildings`; the project and the
    buildings it replaces carry no sensors). Occlusion is an OR over objects,
    so rays are traced once against the unchanged city and once against each
    small changed set (buildings removed, buildings added):
    ``blocked_before = city | removed``, ``blocked_after = city | added``,
    exact and about as fast as one study.

    Parameters
    ----------
    before, after : Scene
        Typically ``scene`` and ``scene.with_project(bim)``.
    when : date or sequence of dates, optional
        Days studied (default: 21 March, 21 June, 21 December of
        :data:`DEFAULT_YEAR`); naive values are local to ``tz`` (old name:
        ``dates``).
    step, spacing, surfaces, tz, engine, progress
        As in :func:`cimcity.sun.hours.sun_hours`.
    radius : float, optional
        Keep only sensors within this plan distance of the changed buildings'
        footprints [m] (default: every sensor of the scene).
    n_worst : int
        Number of worst cases listed per date in :attr:`ImpactResult.worst`
        (>= 1).
    trees : bool
        Tree crowns block the sun too (as in ``sun_hours``); trees that stand
        in only one of the scenes (cut or planted with the project) count in
        that scene only.
    area : polygon or (minx, miny, maxx, maxy), optional
        Study area [m]: only sensors inside it are compared (default: the
        study area recorded by :meth:`Scene.clip` on ``before``, else all).

    Returns
    -------
    ImpactResult
        ``.points`` (one row per sensor and date: ``before``, ``after``,
        ``delta`` = after - before [h], ``edge_context_m`` [m],
        ``context_ok``), ``.by_building``, ``.by_parcel``, ``.worst``,
        ``.context`` and ``.summary()``.

    Raises
    ------
    InputError
        ``before`` or ``after`` not a Scene, scenes in different CRS, bad
        days, step, spacing, radius or ``n_worst``.
    GeoreferenceError
        The two scenes' layers stand in different vertical frames (e.g. a
        project based at 45 m NGF among buildings on the default ground 0 m,
        or 40 m off the terrain): sensors and occluders would not compare.

    Notes
    -----
    Without terrain, open-ground sensors stand on the known ground of either
    scene (neighbours' ``ground_z``, else the project's base; see
    :func:`cimcity.scene.heights.ground_at`), so a project on bare land gives
    the same losses as on a flat DEM at its base.
    """
    _check_scenes(before, after)
    days = _days(when, tz)
    ok = isinstance(n_worst, int | np.integer) and not isinstance(n_worst, bool)
    if not ok or n_worst < 1:
        raise InputError(
            f"n_worst must be a whole number >= 1 (worst cases listed per date); "
            f"got {shown(n_worst)!r}"
        )
    check_vertical_frame(before, (after,), refuse=True, what="sun-hours impact")
    check_vertical_frame(after, refuse=True, what="sun-hours impact")
    region = study_area(before, area)
    removed, added = changed_buildings(before, after)
    sensors, covered = _neighbour_sensors(
        before, after, removed, added, surfaces, spacing, radius, engine, region
    )
    unchanged = [b for b in before.buildings.index if b not in set(removed)]
    city = _building_mesh(before, unchanged, with_terrain=True)
    gone = _building_mesh(before, removed) if removed else None
    new = _building_mesh(after, added) if added else None
    if trees:
        city, gone, new = _with_tree_changes(before, after, city, gone, new)
    frames, elevations = [], []
    for day in days:
        steps = sun_steps(before, day, step=step, tz=tz)
        traced = steps["sun_up"].to_numpy() > 0
        dirs = steps.loc[traced, ["sx", "sy", "sz"]].to_numpy()
        w = steps.loc[traced, "hours"].to_numpy()
        if city is not None:
            base = trace_sun(city, sensors, dirs, engine, progress)
        else:  # nothing unchanged: only the surfaces' own orientation blocks
            base = np.packbits(sensors.normals @ dirs.T <= 0, axis=1, bitorder="little")
        b0 = base | trace_sun(gone, sensors, dirs, engine) if gone is not None else base
        b1 = base | trace_sun(new, sensors, dirs, engine) if new is not None else base
        frames.append((day, hours_from_bits(b0, w), hours_from_bits(b1, w)))
        elevations.append(steps.loc[traced, "elevation"].to_numpy())
    res = ImpactResult(before, after, sensors, covered, frames, removed, added, n_worst)
    res.context = margin_for(after, np.concatenate(elevations) if elevations else None)
    res.context["study_area"] = region
    flag_context(res.points, before, res.context, "sun-hours impact")
    return res


# -- irradiation --------------------------------------------------------------------------------
def irradiance_impact(
    before,
    after,
    when=None,
    *,
    weather=None,
    spacing: float = 1.0,
    surfaces=("roof", "wall"),
    radius: float | None = 100.0,
    engine: str = "auto",
    start=None,
    end=None,
    **kw,
) -> SolarImpact:
    """Irradiation the neighbours of a project lose (or gain).

    The same sensors are used in both scenes: roofs and facades of the
    buildings that stand unchanged in both (:func:`changed_buildings`), within
    ``radius`` of the changed buildings (the project and what it replaces).
    Facade sensors that end up inside a new building (a wall that becomes a
    party wall) are flagged ``covered`` and left out of the totals.

    Parameters
    ----------
    before, after : Scene
        Typically ``scene`` and ``scene.with_project(bim)``.
    when : (start, end) or date, optional
        Period studied, as in :func:`cimcity.sun.irradiance.irradiance`
        (``start=``/``end=`` are the old spelling).
    weather, spacing, surfaces, engine
        As in :func:`cimcity.sun.irradiance.irradiance`.
    radius : float or None
        Plan distance from the changed footprints within which sensors are kept
        [m]; None keeps all.
    **kw
        Passed to :func:`cimcity.sun.irradiance.irradiance` (``sky``,
        ``patches``, ``albedo``...).

    Returns
    -------
    SolarImpact
    """
    when = when_from_start_end(when, start, end, "irradiance_impact")
    _check_scenes(before, after)
    removed, added = changed_buildings(before, after)
    if not removed and not added:
        raise InputError("before and after scenes have the same buildings: no impact")
    S = resolve(before, surfaces=surfaces, spacing=spacing, ground="mesh")
    keep = np.isin(
        S.building_id.astype(object),
        [b for b in before.buildings.index if b not in set(removed)],
    )
    changed = shapely.union_all(
        list(before.buildings.geometry.reindex(removed).dropna().values)
        + list(after.buildings.geometry.reindex(added).dropna().values)
    )
    if radius is not None:
        d = shapely.distance(shapely.points(S.points[:, 0], S.points[:, 1]), changed)
        keep &= d <= radius
    S = S.subset(keep)
    if not len(S):
        raise InputError(
            f"no neighbour sensors within radius={shown(radius)} m of the project"
        )
    loc = kw.pop("location", None)
    if loc is None:
        st = site(before)
        loc = (st.latitude, st.longitude, st.altitude)
    common = dict(
        weather=weather, points=S.points, normals=S.normals, engine=engine,
        location=loc, **kw,
    )
    r0 = irradiance(before, when, **common)
    r1 = irradiance(after, when, **common)
    frame = r0.sensors.drop(
        columns=["irradiation", "direct", "diffuse", "reflected", "sky_view"]
    )
    frame["kind"] = S.kind
    frame["building_id"] = S.building_id
    frame["area"] = S.areas
    frame["face"] = S.face
    frame["before"] = r0.sensors["irradiation"].to_numpy()
    frame["after"] = r1.sensors["irradiation"].to_numpy()
    frame["delta"] = frame["after"] - frame["before"]
    frame["sky_view_before"] = r0.sensors["sky_view"].to_numpy()
    frame["sky_view_after"] = r1.sensors["sky_view"].to_numpy()
    frame["covered"] = _covered(S, after, added)
    meta = {
        "removed": removed,
        "added": added,
        "radius": radius,
        "before": r0.meta,
        "after": r1.meta,
    }
    return SolarImpact(frame, meta, before, after)
