"""Variants of a Scene: the "after" scene of a project, a clipped scene.

Both return a new scene and leave the original untouched (tables are copied,
terrain, BIM projects and building models are shared: they are never modified
in place).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import InputError
from .heights import STOREY_HEIGHT, resolve_heights
from .models import BuildingModel
from .tables import concat

#: overlap above which a footprint stands on a parcel or building [m²]
MIN_OVERLAP = 1.0


def project_parcels(scene, footprint, min_overlap: float = MIN_OVERLAP) -> list:
    """Ids of the parcels a footprint stands on (overlap > ``min_overlap`` m²)."""
    P = scene.parcels
    if not len(P):
        return []
    inter = shapely.area(shapely.intersection(P.geometry.values, footprint))
    return P.index[inter > min_overlap].tolist()


def with_project(scene, bim, parcels=None):
    """The "after" scene where a BIM project replaces what stands on its land.

    Buildings on the project's parcels, or overlapping its footprint by more
    than :data:`MIN_OVERLAP`, are removed; the project becomes a building
    (``source="bim"``, ``lod=3``) whose mesh is the project's own triangles
    (``scene.models``).

    Parameters
    ----------
    scene : Scene
    bim : BimModel
        Project placed in the scene CRS (``footprint``, ``base_z``, ``top_z``,
        ``mesh``).
    parcels : list of parcel ids, optional
        The project's land; default: parcels under its footprint.

    Returns
    -------
    Scene
        A new scene with ``meta["replaced_buildings"]`` and
        ``meta["project_parcels"]``.
    """
    new = scene.copy()
    new.add_bim(bim)
    parcels = (
        project_parcels(new, bim.footprint) if parcels is None else list(parcels)
    )
    B = new._tables["buildings"]
    gone = B["parcel_id"].isin(parcels) if len(B) else pd.Series([], dtype=bool)
    if len(B):
        gone |= (
            shapely.area(shapely.intersection(B.geometry.values, bim.footprint))
            > MIN_OVERLAP
        )
    if bim.id in B.index:
        gone |= B.index == bim.id
    new._tables["buildings"] = B[~gone.to_numpy()] if len(B) else B
    storeys = getattr(bim, "storeys", None)
    row = gpd.GeoDataFrame(
        {
            "height": [bim.top_z - bim.base_z],
            "ground_z": [bim.base_z],
            "roof_z": [bim.top_z],
            "storeys": [
                int(len(storeys)) if storeys is not None and len(storeys) else np.nan
            ],
            "source": ["bim"],
            "lod": [3],
            "name": [getattr(bim, "name", None)],
        },
        geometry=[bim.footprint],
        crs=scene.crs,
        index=pd.Index([bim.id], name="building_id"),
    )
    row = resolve_heights(row, STOREY_HEIGHT, new.terrain)
    row["height_source"] = "bim"
    row["ground_source"] = "bim"
    new._tables["buildings"] = concat(new._tables["buildings"], row)
    replaced = B.index[gone.to_numpy()].tolist() if len(B) else []
    new.models.drop(replaced)
    new.models.put(bim.id, BuildingModel.from_bim(bim))
    new.meta["replaced_buildings"] = replaced
    new.meta["project_parcels"] = parcels
    new._link()
    return new


def clip(scene, area, cut: bool = False, margin: float = 0.0):
    """A new scene restricted to a polygon or a (minx, miny, maxx, maxy) box.

    Parameters
    ----------
    scene : Scene
    area : shapely geometry or 4-tuple [m, scene CRS]
    cut : bool
        False (default) keeps whole features that intersect ``area``; True
        cuts their geometries at its boundary (detailed building models stay
        whole).
    margin : float
        Terrain kept beyond the area's bounds [m].

    Raises
    ------
    InputError
        ``area`` is neither a polygon nor a 4-tuple.
    """
    if isinstance(area, tuple | list | np.ndarray) and len(area) == 4:
        area = shapely.box(*area)
    if not isinstance(area, shapely.Geometry) or area.is_empty:
        raise InputError(
            f"clip area must be a polygon or a (minx, miny, maxx, maxy) box; got {area!r}"
        )
    new = scene.copy()

    def sub(t):
        if not len(t):
            return t
        keep = shapely.intersects(t.geometry.values, area)
        t = t[keep].copy()
        if cut:
            t["geometry"] = shapely.intersection(t.geometry.values, area)
        return t

    new._tables = {k: sub(v) for k, v in new._tables.items()}
    new.layers = {k: sub(v) for k, v in new.layers.items()}
    new.models.keep(new.buildings.index)
    minx, miny, maxx, maxy = area.bounds
    bb = (minx - margin, miny - margin, maxx + margin, maxy + margin)
    if scene.terrain is not None:
        new.terrain = scene.terrain.clip(bb)
    if scene.dsm is not None:
        new.dsm = scene.dsm.clip(bb)
    new.touch()
    return new
