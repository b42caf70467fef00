"""Is the project where it is checked? Placement is verified before any rule.

A permit check measures distances to parcel limits and heights above the
ground: on a project placed elsewhere (an IfcSite latitude/longitude in another
city, a placement in the wrong CRS or at the wrong altitude) every measure is
wrong, and an empty check must never read as a pass. So, before anything is
judged:

* the footprint must stand on the parcels it is checked against (the given
  ``parcels=``, else any parcel of the scene): a footprint with less than
  :data:`MIN_SHARE_ON_LAND` of its area on them is refused with a
  :class:`~cimcity.errors.GeoreferenceError` giving the distance to the
  nearest parcel and the fix (``placement=`` / ``--placement``);
* when a terrain model (DEM) covers the footprint, the project's base must lie
  within :data:`ALTITUDE_TOL` of the terrain under its outline (between its
  lowest and highest point): a base at 0 m on ground at 45 m NGF is refused
  the same way;
* an IFC whose georeference places it outside the scene CRS's area of use
  (the Duplex sample in Chicago read in Lambert-93) is refused by
  :func:`refuse_georeference` with the distance from the scene.

A model without any georeference (no map conversion, no site latitude) is not
misplaced: it is *unplaced*, and the checks that need a position report
``not_checkable`` (the report is then incomplete, never passed).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import shapely
from pyproj import Geod, Transformer

from ..errors import GeoreferenceError
from ..io.ifc.file import open_ifc
from ..io.ifc.georef import site_latlon
from ..scene.variants import MIN_SHARE_ON_LAND, distance_text, share_on_parcels

#: a base further than this below the lowest or above the highest terrain
#: point under the footprint outline is at an implausible altitude [m]
#: (a ground floor stands a few cm to about a metre above the natural ground;
#: a half-buried ground floor a few metres below it)
ALTITUDE_TOL = 5.0

_FIX = (
    "place it in the scene CRS with placement=(x, y, z, rotation_deg) "
    "(command line: cimcity check --placement x,y,z[,rotation_deg]) [m, m, m NGF, "
    "degrees counter-clockwise from east to the project x axis]"
)


def _name(bim) -> str:
    src = getattr(bim, "source", None)
    label = Path(str(src)).name if src else (bim.name or bim.id)
    return f"project {label!r}"


def _how(bim) -> str:
    g = bim.georef or {}
    method = g.get("method", "none")
    words = {
        "site_latlon": "placed from its IfcSite latitude/longitude (approximate)",
        "map_conversion": "placed by its IfcMapConversion",
        "epset_map_conversion": "placed by its ePSet_MapConversion",
        "user_placement": "placed by the given placement",
    }
    return words.get(method, f"placed by {method}")


def check_placement(bim, scene, land=None) -> dict:
    """Refuse a project that does not stand on its parcels or its ground.

    Parameters
    ----------
    bim : BimModel
        A placed project (``crs`` set): ``footprint`` [m, scene CRS] and
        ``base_z`` [m, scene vertical datum].
    scene : Scene
        Its parcels and, when known, its terrain.
    land : shapely geometry, optional
        The parcels of the application when the caller named them; default:
        the scene's parcels.

    Returns
    -------
    dict
        ``share_on_land`` (share of the footprint area on the parcels [-];
        None without parcels), ``ground_range`` ((lowest, highest) terrain
        altitude under the outline [m]; None without a covering DEM) and
        ``base_offset`` (base minus the nearest of them [m]; 0 within the
        range; None without DEM).

    Raises
    ------
    GeoreferenceError
        When less than :data:`MIN_SHARE_ON_LAND` of the footprint stands on the
        parcels (the message gives the distance to the nearest parcel and the
        fix), or when the base is more than :data:`ALTITUDE_TOL` from the
        terrain under the footprint.
    """
    fp = bim.footprint
    out = {"share_on_land": None, "ground_range": None, "base_offset": None}
    if fp is None or fp.is_empty:
        return out
    P = scene.parcels
    if land is not None or len(P):
        share, dist, nearest = share_on_parcels(fp, P, land)
        out["share_on_land"] = share
        if share < MIN_SHARE_ON_LAND:
            c = fp.centroid
            which = (
                "the parcels of the application"
                if land is not None
                else "any parcel of the scene"
            )
            raise GeoreferenceError(
                f"the {_name(bim)} ({_how(bim)}) does not stand on {which}: "
                f"{share:.0%} of its footprint is on them and the footprint "
                f"(centroid x={c.x:,.1f}, y={c.y:,.1f} in {scene.crs.to_string()}) "
                f"is {distance_text(dist)} from the nearest parcel ({nearest}); nothing can be "
                f"checked there. {_FIX[0].upper()}{_FIX[1:]}, or give the parcels "
                f"it stands on."
            )
    terrain = scene.terrain
    if terrain is not None:
        step = max(min(terrain.resolution), 0.5)
        xy = shapely.get_coordinates(shapely.segmentize(shapely.boundary(fp), step))
        z = terrain.sample(xy[:, 0], xy[:, 1])
        if np.isfinite(z).any():
            lo, hi = float(np.nanmin(z)), float(np.nanmax(z))
            base = float(bim.base_z)
            off = base - lo if base < lo else (base - hi if base > hi else 0.0)
            out["ground_range"] = (lo, hi)
            out["base_offset"] = off
            if abs(off) > ALTITUDE_TOL:
                raise GeoreferenceError(
                    f"the {_name(bim)} ({_how(bim)}) has its base at {base:.2f} m "
                    f"while the terrain under its footprint lies between {lo:.2f} "
                    f"and {hi:.2f} m ({scene.vertical_datum}): {abs(off):.2f} m "
                    f"{'below' if off < 0 else 'above'} the ground, more than "
                    f"{ALTITUDE_TOL:g} m, so heights and shadows would be "
                    f"measured in another vertical frame. Give the altitude of "
                    f"its base: {_FIX}."
                )
    return out


def refuse_georeference(path, scene, error) -> GeoreferenceError:
    """The error for an IFC whose own georeference cannot place it in the
    scene (:func:`cimcity.read_ifc` refused it): the reason, the distance from
    the IfcSite latitude/longitude to the scene when both are known, and the
    fix.

    Parameters
    ----------
    path : str or Path
        The IFC file.
    scene : Scene
        Gives the CRS and the study area (its bounds).
    error : GeoreferenceError
        What :func:`cimcity.read_ifc` raised.

    Returns
    -------
    GeoreferenceError
    """
    name = Path(path).name
    where = ""
    site = _site_latlon(path)
    centre = _scene_lonlat(scene)
    if site is not None and centre is not None:
        _, _, d = Geod(ellps="WGS84").inv(centre[0], centre[1], site[1], site[0])
        where = (
            f"its IfcSite latitude/longitude ({site[0]:.5f}, {site[1]:.5f}) is "
            f"{distance_text(abs(d))} from the scene (centre {centre[1]:.5f}, "
            f"{centre[0]:.5f}); "
        )
    reason = re.sub(r"np\.float64\(([^)]*)\)", r"\1", str(error).split(";")[0])
    reason = reason.replace(f"IFC {name!r} ", "the model ", 1)
    return GeoreferenceError(
        f"IFC {name!r} cannot be checked against this scene: {where}{reason}. "
        f"Nothing was checked. {_FIX[0].upper()}{_FIX[1:]}."
    )


def _site_latlon(path):
    """(latitude, longitude) [degrees] of the first IfcSite, or None."""
    try:
        s = site_latlon(open_ifc(path))
    except Exception:  # an unreadable file was already reported by read_ifc
        return None
    if s is None or not (-90 <= s["latitude"] <= 90 and -180 <= s["longitude"] <= 180):
        return None
    return s["latitude"], s["longitude"]


def _scene_lonlat(scene):
    """(lon, lat) [degrees] of the centre of the scene's extent, or None."""
    b = np.asarray(scene.bounds, float)
    if b.shape != (4,) or not np.all(np.isfinite(b)):
        return None
    t = Transformer.from_crs(scene.crs, "EPSG:4326", always_xy=True)
    lon, lat = t.transform((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    return float(lon), float(lat)
