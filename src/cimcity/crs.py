"""CRS checks shared by the Scene and the readers.

One CRS per Scene: projected, in metres (EPSG:2154 Lambert-93 by default, heights
in NGF-IGN69). See ``docs/conventions.md``.
"""

from __future__ import annotations

import warnings

import numpy as np
from pyproj import CRS, Transformer

from .errors import CRSError, ReprojectionWarning

DEFAULT_CRS = "EPSG:2154"
DEFAULT_VERTICAL_DATUM = "NGF-IGN69"


def as_projected_crs(crs, what: str = "scene") -> CRS:
    """Return ``crs`` as a :class:`pyproj.CRS`, checking it is projected in metres.

    Parameters
    ----------
    crs : str, int or pyproj.CRS
        Anything :meth:`pyproj.CRS.from_user_input` accepts.
    what : str
        What the CRS belongs to, for the error message.

    Raises
    ------
    CRSError
        When the CRS is missing, unknown, geographic or not in metres.
    """
    if crs is None:
        raise CRSError(f"the {what} has no CRS; give one, e.g. crs='EPSG:2154'")
    try:
        crs = CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises its own CRSError
        raise CRSError(
            f"unknown CRS {crs!r} for the {what}; expected an EPSG code or WKT of a "
            f"projected CRS in metres such as 'EPSG:2154'"
        ) from exc
    if not crs.is_projected:
        raise CRSError(
            f"the {what} CRS {crs.to_string()!r} is not projected; cimcity computes in "
            f"metres: use a projected CRS such as 'EPSG:2154' (Lambert-93)"
        )
    unit = crs.axis_info[0].unit_name if crs.axis_info else "unknown"
    if unit not in ("metre", "meter", "m"):
        raise CRSError(
            f"the {what} CRS {crs.to_string()!r} is in {unit!r}, not metres; "
            f"use a projected CRS in metres such as 'EPSG:2154'"
        )
    return crs


def _plain(bounds, digits) -> tuple:
    """Bounds as plain Python floats (no ``np.float64(...)`` in messages)."""
    return tuple(round(float(v), digits) for v in bounds)


def check_bounds_in_area_of_use(bounds, crs: CRS, what: str) -> None:
    """Refuse data whose coordinates cannot belong to ``crs``: lon/lat declared
    as a projected CRS (e.g. Lambert-93), metres declared as degrees, or
    coordinates far outside the CRS's area of use.

    Parameters
    ----------
    bounds : (4,) array-like
        minx, miny, maxx, maxy in ``crs`` units.
    crs : pyproj.CRS
        The declared CRS.
    what : str
        What the data is, for the message.

    Raises
    ------
    CRSError
        Naming the coordinates, the declared CRS and the fix.
    """
    b = np.asarray(bounds, dtype=float)
    if not np.all(np.isfinite(b)):
        return
    if crs.is_geographic:
        if np.any(np.abs(b[[0, 2]]) > 180.0) or np.any(np.abs(b[[1, 3]]) > 90.0):
            raise CRSError(
                f"the {what} is declared in {crs.to_string()!r} (degrees) but its "
                f"coordinates {_plain(b, 1)} are not longitude/latitude: they look "
                f"like metres of a projected CRS; declare the right CRS, e.g. "
                f"gdf.set_crs('EPSG:2154', allow_override=True) for Lambert-93"
            )
        return
    if crs.is_projected and np.all(np.abs(b) <= 360.0):
        raise CRSError(
            f"the {what} is declared in {crs.to_string()!r} (metres) but its "
            f"coordinates {_plain(b, 4)} look like longitude/latitude degrees; "
            f"declare the right CRS, e.g. gdf.set_crs('EPSG:4326', allow_override=True)"
        )
    aou = crs.area_of_use
    if aou is None or not crs.is_projected:
        return
    t = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    xmin, ymin, xmax, ymax = t.transform_bounds(
        aou.west, aou.south, aou.east, aou.north
    )
    # generous margin: a CRS is usable well beyond its official area of use
    mx = (xmax - xmin) + 1e5
    my = (ymax - ymin) + 1e5
    if b[2] < xmin - mx or b[0] > xmax + mx or b[3] < ymin - my or b[1] > ymax + my:
        raise CRSError(
            f"the {what} coordinates {_plain(b, 1)} lie far outside the area "
            f"of use of {crs.to_string()!r} ({aou.name}); the declared CRS is probably "
            f"wrong"
        )


def to_crs(gdf, crs: CRS, what: str):
    """Return ``gdf`` in ``crs``: geographic or other projected input is reprojected
    with a :class:`ReprojectionWarning`; missing CRS is a :class:`CRSError`.

    The input frame is never modified.
    """
    if gdf.crs is None:
        raise CRSError(
            f"the {what} table has no CRS; set it with gdf.set_crs(...) "
            f"(e.g. 'EPSG:2154' for Lambert-93, 'EPSG:4326' for lon/lat)"
        )
    src = CRS.from_user_input(gdf.crs)
    if len(gdf):
        check_bounds_in_area_of_use(gdf.total_bounds, src, what)
    if src.equals(crs, ignore_axis_order=True):
        return gdf
    warnings.warn(
        f"{what}: reprojected {len(gdf)} rows from {src.to_string()!r} to "
        f"{crs.to_string()!r}",
        ReprojectionWarning,
        stacklevel=3,
    )
    return gdf.to_crs(crs)
