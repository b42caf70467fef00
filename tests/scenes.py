"""Catalogue of canonical scenes shared by the tests (lone box, street canyon,
courtyard, empty). Coordinates in Lambert-93 around Paris 17e, flat ground."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

import cimcity as cc

X0, Y0 = 649_800.0, 6_865_400.0  # Paris 17e, Lambert-93 [m]


def _scene(footprints, heights, ground_z=35.0, parcels=None):
    s = cc.Scene()
    if parcels is not None:
        s.add_parcels(gpd.GeoDataFrame(geometry=parcels, crs="EPSG:2154"))
    if footprints:
        s.add_buildings(
            gpd.GeoDataFrame(
                {"height": heights, "ground_z": ground_z},
                geometry=footprints,
                crs="EPSG:2154",
            )
        )
    return s


def lone_box(w=20.0, d=10.0, h=20.0, ground_z=35.0):
    """One w × d × h box whose south-west corner is at (X0, Y0)."""
    return _scene([shapely.box(X0, Y0, X0 + w, Y0 + d)], [h], ground_z)


def street_canyon(height=20.0, width=20.0, length=400.0, depth=15.0, ground_z=35.0):
    """Two parallel slabs (east-west street) of ``height`` separated by ``width``."""
    south = shapely.box(X0, Y0, X0 + length, Y0 + depth)
    north = shapely.box(X0, Y0 + depth + width, X0 + length, Y0 + 2 * depth + width)
    return _scene([south, north], [height, height], ground_z)


def courtyard(outer=40.0, inner=16.0, h=25.0, ground_z=35.0):
    """A square block with a central square courtyard (polygon with a hole)."""
    o = shapely.box(X0, Y0, X0 + outer, Y0 + outer)
    m = (outer - inner) / 2
    i = shapely.box(X0 + m, Y0 + m, X0 + m + inner, Y0 + m + inner)
    return _scene([o.difference(i)], [h], ground_z)


def empty():
    """A scene with nothing in it."""
    return cc.Scene()


CATALOGUE = {
    "lone_box": lone_box,
    "street_canyon": street_canyon,
    "courtyard": courtyard,
    "empty": empty,
}

__all__ = ["X0", "Y0", "lone_box", "street_canyon", "courtyard", "empty", "CATALOGUE", "np"]
