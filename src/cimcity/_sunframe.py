"""Sun and sky directions in the scene's grid frame (shared by every sun analysis).

The mesh frame of a scene is its projected CRS: ``x`` = easting, ``y`` =
northing, i.e. **grid north**, which differs from **true north** by the
meridian convergence. Azimuths at the API are clockwise from true north (pvlib
SPA), so every direction toward the sun or a sky patch is turned into the grid
before it meets the mesh::

    grid azimuth = true azimuth + north

with ``north`` the grid azimuth of true north at the site, ``north = -γ`` where
``γ`` is PROJ's meridian convergence (``pyproj.Proj(crs).get_factors(lon,
lat).meridian_convergence``, the angle from true north to grid north). In
Lambert-93 ``north`` is about +0.49° at Paris (2.35° E, west of the 3° E
central meridian) and 0 on that meridian. A geographic CRS, a CRS without a
projection (local/engineering frames) or no CRS give ``north = 0``.

:func:`cimcity.solar.irradiance`, :func:`cimcity.shadow.sun_table`,
:func:`cimcity.shadow.polygons`, :func:`cimcity.shadow.sun_hours` and the sky
patches all use :func:`site` and :func:`direction_vectors` from here, so the
same instant gives the same sun vector (to the last bit) in every analysis.
The convergence is taken at the scene centre: across a 10 km Lambert-93 scene
it varies by ~0.07°, which moves a 60 m shadow tip by under 10 cm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError

__all__ = ["Site", "grid_north", "site", "direction_vectors", "true_azimuth"]


@dataclass(frozen=True)
class Site:
    """Where the sun is computed, and how the scene grid is turned.

    Attributes
    ----------
    latitude, longitude : float
        Scene centre [deg WGS84].
    altitude : float
        Site altitude [m] (sets the pressure for refraction).
    north : float
        Grid azimuth of true north [deg] (``-`` PROJ meridian convergence).
    """

    latitude: float
    longitude: float
    altitude: float
    north: float


def _horizontal_crs(crs):
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    if c.is_compound:
        subs = [s for s in c.sub_crs_list if s.is_projected or s.is_geographic]
        if not subs:
            return None
        c = subs[0]
    return c


def grid_north(crs, longitude: float, latitude: float) -> float:
    """Grid azimuth of true north at a place [deg]: ``grid = true + north``.

    Parameters
    ----------
    crs : pyproj CRS input or None
        The scene CRS.
    longitude, latitude : float
        Place [deg WGS84].

    Returns
    -------
    float
        ``-meridian_convergence`` of :meth:`pyproj.Proj.get_factors` for a
        projected CRS; 0 for None, a geographic CRS or a CRS without a map
        projection (local frames).
    """
    if crs is None:
        return 0.0
    c = _horizontal_crs(crs)
    if c is None or not c.is_projected:
        return 0.0
    if not (np.isfinite(longitude) and np.isfinite(latitude)):
        raise InputError(
            f"cannot compute the grid convergence at lon={longitude!r}, "
            f"lat={latitude!r}: expected finite WGS84 degrees"
        )
    from pyproj import Proj
    from pyproj.exceptions import ProjError

    try:
        f = Proj(c).get_factors(float(longitude), float(latitude), errcheck=True)
    except ProjError as exc:
        raise InputError(
            f"cannot compute the grid convergence of {c.to_string()!r} at "
            f"lon={longitude}, lat={latitude}: {exc}"
        ) from exc
    gamma = f.meridian_convergence
    if not np.isfinite(gamma):
        raise InputError(
            f"the CRS {c.to_string()!r} gives no meridian convergence at "
            f"lon={longitude}, lat={latitude} (outside its area of use?)"
        )
    return float(-gamma) + 0.0  # + 0.0: no negative zero


def site(scene=None, crs=None, bounds=None, altitude=None) -> Site:
    """Latitude, longitude, altitude and grid north at a scene's centre.

    Parameters
    ----------
    scene : Scene, optional
    crs : CRS, optional
        Used with ``bounds`` when no scene is given.
    bounds : (minx, miny, maxx, maxy), optional
        Extent in ``crs`` [m]; default: the scene's bounds.
    altitude : float, optional
        Default: median building ground altitude, else the terrain's median,
        else 0 [m].

    Returns
    -------
    Site
    """
    from pyproj import Transformer

    if scene is not None:
        crs = scene.crs if crs is None else crs
        bounds = scene.bounds if bounds is None else bounds
    if crs is None:
        raise InputError("a CRS is needed to locate the site (scene.crs or crs=)")
    b = np.asarray(bounds, float)
    if b.shape != (4,) or not np.all(np.isfinite(b)):
        raise InputError(
            "cannot locate an empty scene: add buildings or terrain, or give points"
        )
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(cx, cy)
    if altitude is None:
        altitude = 0.0
        if scene is not None:
            B = scene.buildings
            if len(B) and "ground_z" in B.columns and B["ground_z"].notna().any():
                altitude = float(B["ground_z"].median())
            elif scene.terrain is not None:
                altitude = float(np.nanmedian(scene.terrain.elevation))
    return Site(float(lat), float(lon), float(altitude), grid_north(crs, lon, lat))


def direction_vectors(elevation, azimuth, north: float = 0.0) -> np.ndarray:
    """Unit vectors toward directions given by true azimuth and elevation.

    Parameters
    ----------
    elevation : (n,) array-like
        Elevation above the horizon [deg].
    azimuth : (n,) array-like
        Azimuth clockwise from true north [deg].
    north : float
        Grid azimuth of true north [deg] (:func:`grid_north`); 0 gives the
        local east-north-up frame.

    Returns
    -------
    (n, 3) float64
        ``(cos e sin g, cos e cos g, sin e)`` with ``g = azimuth + north``:
        (grid east, grid north, up).
    """
    e = np.radians(np.asarray(elevation, float))
    a = np.radians(np.asarray(azimuth, float) + north)
    ce = np.cos(e)
    return np.stack([ce * np.sin(a), ce * np.cos(a), np.sin(e)], axis=-1)


def true_azimuth(vectors, north: float = 0.0) -> np.ndarray:
    """True azimuth [deg, 0-360) of grid-frame vectors (e.g. facade normals).

    Parameters
    ----------
    vectors : (n, 3) float
        Directions in the grid frame.
    north : float
        Grid azimuth of true north [deg].

    Returns
    -------
    (n,) float64
    """
    v = np.atleast_2d(np.asarray(vectors, float))
    if not len(v):
        return np.zeros(0)
    return (np.degrees(np.arctan2(v[:, 0], v[:, 1])) - north) % 360.0
