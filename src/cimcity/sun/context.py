"""Study area and context of the sun analyses.

A sun analysis reports on a *study area* (``area=``, else the area a
:meth:`Scene.clip` recorded in ``scene.meta["study_area"]``, else everywhere)
and needs the occluders around it: a sensor's sun can be blocked by a building
as far as that building's shadow reaches, ``h / tan(e)`` for a building of
height ``h`` and a sun at elevation ``e``. The *context margin* of a study is
that length for the tallest building and the lowest sun of the period
(:func:`cimcity.scene.variants.context_margin`: elevation floored at
:data:`~cimcity.scene.variants.CONTEXT_MIN_ELEVATION`, capped at
:data:`~cimcity.scene.variants.CONTEXT_MAX_M`, both stated in the result).

Where the occluders are known is the scene's *known extent*
(:func:`cimcity.scene.variants.known_extent`: the context area recorded by
``clip``, else the convex hull of the buildings). Every sensor gets
``edge_context_m``, its plan distance to the edge of that extent [m] (0
outside), and ``context_ok`` (``edge_context_m >= context_m``); a
:class:`~cimcity.errors.DataQualityWarning` says how many sensors lack context
and how much is missing: their sun is an upper bound.
"""

from __future__ import annotations

import warnings

import numpy as np
import shapely

from .._kernels.polygons import ring_distances
from ..errors import DataQualityWarning, GeoreferenceError, InputError
from ..scene.heights import VERTICAL_TOL, ground_at, known_ground
from ..scene.variants import (
    as_area,
    context_margin,
    known_extent,
)

__all__ = [
    "study_area",
    "margin_for",
    "sensor_margins",
    "edge_context",
    "flag_context",
    "in_area",
    "check_points_frame",
]


def study_area(scene, area=None, ground_bounds=None):
    """The study area: ``area``, else the scene's recorded one, else None.

    Raises
    ------
    InputError
        ``area`` and ``ground_bounds`` both given, or ``area`` not a polygon
        or box.
    """
    if area is not None and ground_bounds is not None:
        raise InputError(
            "give the study area once: area= (ground_bounds= is its former, "
            "ground-only spelling)"
        )
    if area is not None:
        return as_area(area, "area", getattr(scene, "crs", None))
    if isinstance(scene, shapely.Geometry) or not hasattr(scene, "meta"):
        return None
    return scene.meta.get("study_area")


def margin_for(scene, elevations=None) -> dict:
    """Context margin a study needs.

    Parameters
    ----------
    scene : Scene
    elevations : (d,) float, optional
        Sun elevations of the steps that count [deg]; default: the floor
        :data:`~cimcity.scene.variants.CONTEXT_MIN_ELEVATION`.

    Returns
    -------
    dict
        ``context_m`` (margin [m]), ``tallest_m`` (tallest building [m]),
        ``min_elevation`` (lowest sun elevation the margin covers,
        ``atan(tallest / margin)`` [deg]: at or above
        :data:`~cimcity.scene.variants.CONTEXT_MIN_ELEVATION`, higher when
        the margin is capped).
    """
    B = scene.buildings
    h = float(np.nanmax(B["height"].to_numpy(float))) if len(B) else 0.0
    e = None
    if elevations is not None and len(elevations):
        e = float(np.nanmin(elevations))
    m = context_margin(h, e)
    covered = float(np.degrees(np.arctan2(h, m))) if m > 0 else 90.0
    return {
        "context_m": round(m, 1),
        "tallest_m": round(h, 2),
        "min_elevation": round(covered, 2),
    }


def edge_context(scene, xy) -> np.ndarray:
    """Plan distance of points to the edge of the scene's known extent [m]
    (0 outside it, inf when the extent is unknown)."""
    xy = np.asarray(xy, float).reshape(-1, 2)
    known = known_extent(scene)
    if known is None or known.is_empty:
        return np.full(len(xy), np.inf)
    shapely.prepare(known)
    inside = shapely.contains_xy(known, xy[:, 0], xy[:, 1])
    out = np.zeros(len(xy))
    out[inside] = _boundary_distance(known, xy[inside])
    return out


def _boundary_distance(poly, xy) -> np.ndarray:
    """Distance of points to the rings of a polygon [m]: exact point-segment
    distances (:func:`cimcity._kernels.polygons.ring_distances`: each point
    tests only the segments that can be nearest to it, found on a coarse
    grid; a pass per segment over every point took 3 s for the 7.1 M sensors
    of Paris 11e at 1 m against its footprints' convex hull, and would take
    about 45 minutes against a context area of 13,667 segments, the merged
    parcels of Paris 18e, where the grid takes 2 s for 1.2 M points)."""
    rings = [
        shapely.get_coordinates(r) for r in shapely.get_rings(shapely.get_parts(poly))
    ]
    return ring_distances(rings, xy[:, 0], xy[:, 1])


def in_area(area, xy) -> np.ndarray:
    """(n,) bool: points inside the study area (all when it is None)."""
    xy = np.asarray(xy, float).reshape(-1, 2)
    if area is None:
        return np.ones(len(xy), bool)
    return shapely.intersects_xy(area, xy[:, 0], xy[:, 1])


def flag_context(frame, scene, margin: dict, what: str):
    """Add ``edge_context_m`` [m] and ``context_ok`` to a sensors table, in
    place, and warn about the sensors that lack context.

    Parameters
    ----------
    frame : DataFrame
        With ``x``, ``y`` [m].
    scene : Scene
    margin : dict
        :func:`margin_for`.
    what : str
        The analysis, named in the warning.
    """
    if not hasattr(scene, "buildings"):  # a bare mesh: its edges are its own
        frame["edge_context_m"] = np.inf
        frame["context_ok"] = True
        return frame
    xy = frame[["x", "y"]].to_numpy(float)
    none = not len(scene.buildings) and "context_area" not in scene.meta
    d = np.zeros(len(xy)) if none else edge_context(scene, xy)
    need = sensor_margins(scene, frame, margin)
    frame["edge_context_m"] = np.round(d, 2)
    frame["context_ok"] = d >= need
    bad = ~frame["context_ok"].to_numpy(bool)
    if bad.any() and none:
        warnings.warn(
            f"{what}: the scene has no buildings around the sensors (no neighbours "
            f"layer): what the existing city shades is unknown, so every sensor's "
            f"sun is an upper bound (context_ok=False); add the neighbouring "
            f"buildings (scene.add_buildings)",
            DataQualityWarning,
            stacklevel=3,
        )
    elif bad.any():
        missing = float((need - d)[bad].max())
        warnings.warn(
            f"{what}: {int(bad.sum()):,} of {len(frame):,} sensors lie closer than "
            f"their context margin (up to {margin['context_m']:g} m: the reach of "
            f"the shadow of a building as tall as the tallest one "
            f"({margin['tallest_m']:g} m) over each sensor, sun down to "
            f"{margin['min_elevation']:g}°) to the edge of the known "
            f"buildings; up to {missing:.0f} m of context is missing, so their sun "
            f"is an upper bound (context_ok=False). Keep context around the study "
            f"area: scene.clip(area, context='auto') or a larger scene with area=",
            DataQualityWarning,
            stacklevel=3,
        )
    return frame


def sensor_margins(scene, frame, margin: dict) -> np.ndarray:
    """Context each sensor needs [m]: how far the shadow of a building as tall as
    the tallest known one reaches over the sensor's height.

    An occluder beyond the edge shades a sensor only where it rises above it:
    with roofs up to ``top`` [m] (the highest roof altitude of the scene) and a
    sun down to ``e``, its shadow reaches ``(top - z) / tan(e)`` over a sensor at
    altitude ``z``; ground sensors need the full margin, roof sensors near the
    top almost none. Capped at ``margin["context_m"]``. Without sensor
    altitudes (no ``z`` column) or building altitudes, the full margin.
    """
    full = float(margin["context_m"])
    B = scene.buildings
    if "z" not in frame or not len(B) or full <= 0:
        return np.full(len(frame), full)
    top = (B["ground_z"] + B["height"]).to_numpy(float)
    if not np.isfinite(top).any():
        return np.full(len(frame), full)
    tan_e = np.tan(np.radians(margin["min_elevation"]))
    rise = np.nanmax(top) - frame["z"].to_numpy(float)
    need = np.clip(rise, 0.0, None) / max(tan_e, 1e-9)
    return np.where(np.isfinite(need), np.minimum(need, full), full)


def check_points_frame(scene, sensors, points, others=()) -> None:
    """Refuse user points that all lie more than
    :data:`~cimcity.scene.heights.VERTICAL_TOL` below the scene's ground
    (points at z = 0 in a scene at 45 m NGF: another vertical frame).

    Raises
    ------
    GeoreferenceError
        Naming the points' and the ground's altitudes [m] and the fix.
    """
    if points is None or not len(sensors) or not hasattr(scene, "buildings"):
        return
    if scene.terrain is None and not len(known_ground(scene, others)[0]):
        return  # no altitude known: nothing to compare with
    p = sensors.points
    g, source = ground_at(scene, p[:, 0], p[:, 1], others)
    below = p[:, 2] < g - VERTICAL_TOL
    if below.all():
        raise GeoreferenceError(
            f"all {len(p):,} points lie below the scene's ground (points at median "
            f"z = {np.median(p[:, 2]):.2f} m, ground from the {source} at "
            f"{np.median(g):.2f} m): give their altitudes in the scene's vertical "
            f"frame ({getattr(scene, 'vertical_datum', 'NGF-IGN69')}), a few cm "
            f"above the surface"
        )
