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
from .heights import STOREY_HEIGHT, check_vertical_frame, resolve_heights
from .models import BuildingModel
from .tables import concat

#: overlap above which a footprint stands on a parcel or building [m²]
MIN_OVERLAP = 1.0
#: lowest sun elevation the default context margin covers [deg]: occluders
#: beyond it can shade only a sun lower than this
CONTEXT_MIN_ELEVATION = 5.0
#: cap of the default context margin [m] (a 26 m building casts a 300 m shadow
#: at 5°)
CONTEXT_MAX_M = 300.0


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

    Warns
    -----
    DataQualityWarning
        The project's base is more than
        :data:`~cimcity.scene.heights.VERTICAL_TOL` off the terrain under it
        (or its neighbours' ground without terrain), see
        :func:`~cimcity.scene.heights.check_vertical_frame`.
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
    # a project base far off the terrain or its neighbours' ground: warn here,
    # the sun analyses refuse
    check_vertical_frame(new, what=f"project {bim.id!r}")
    return new


def context_margin(h_max: float, e_min: float | None = None) -> float:
    """Context an area needs around it: the shadow length ``h / tan(e)`` [m].

    Parameters
    ----------
    h_max : float
        Height of the tallest building [m].
    e_min : float, optional
        Lowest sun elevation of the period studied [deg]; never taken below
        :data:`CONTEXT_MIN_ELEVATION` (default: that floor).

    Returns
    -------
    float
        ``min(h_max / tan(max(e_min, CONTEXT_MIN_ELEVATION)), CONTEXT_MAX_M)``
        [m]; 0 without buildings. Occluders beyond it matter only when the sun
        is lower than ``atan(h_max / margin)``.
    """
    e = CONTEXT_MIN_ELEVATION if e_min is None else max(e_min, CONTEXT_MIN_ELEVATION)
    if not np.isfinite(h_max) or h_max <= 0:
        return 0.0
    return float(min(h_max / np.tan(np.radians(e)), CONTEXT_MAX_M))


def known_extent(scene):
    """Where a scene's occluders are known: the context area recorded by
    :func:`clip`, else the convex hull of the building footprints (and the
    terrain's box); None for an empty scene."""
    ctx = scene.meta.get("context_area")
    if ctx is not None:
        return ctx

    def build():
        parts = []
        B = scene.buildings
        if len(B):
            parts.append(
                shapely.convex_hull(
                    shapely.multipoints(shapely.get_coordinates(B.geometry.values))
                )
            )
        if scene.terrain is not None:
            parts.append(shapely.box(*scene.terrain.bounds))
        return shapely.union_all(parts) if parts else None

    return scene.cache.get("scene.known_extent", scene.version, build)


def as_area(area, what: str = "area"):
    """A polygon from a polygon or a (minx, miny, maxx, maxy) box [m].

    Raises
    ------
    InputError
        Neither, or empty.
    """
    if isinstance(area, tuple | list | np.ndarray) and len(area) == 4:
        b = np.asarray(area, float)
        if np.all(np.isfinite(b)) and b[2] > b[0] and b[3] > b[1]:
            area = shapely.box(*b)
    if (
        not isinstance(area, shapely.Geometry)
        or area.is_empty
        or shapely.get_type_id(area) not in (3, 6)
    ):
        raise InputError(
            f"{what} must be a polygon or a (minx, miny, maxx, maxy) box [m]; "
            f"got {area!r}"
        )
    return area


def clip(scene, area, cut: bool = False, margin: float = 0.0, context=None):
    """A new scene restricted to a polygon or a (minx, miny, maxx, maxy) box.

    The area becomes the scene's *study area* (``scene.meta["study_area"]``):
    the sun analyses report only there. Buildings and vegetation within
    ``context`` metres around it are kept as *context* (occluders), and the
    region whose occluders are known is recorded
    (``scene.meta["context_area"]``, the area grown by ``context`` and cut to
    what the original scene knew), so analyses flag results whose context is
    too short (``context_ok``).

    Parameters
    ----------
    scene : Scene
    area : shapely geometry or 4-tuple [m, scene CRS]
    cut : bool
        False (default) keeps whole features that intersect ``area`` (or the
        context); True cuts their geometries at its boundary (detailed
        building models stay whole).
    margin : float
        Terrain kept beyond the area's bounds [m] (at least ``context``).
    context : float, "auto" or None
        Width of the band of buildings and vegetation kept around the area as
        occluders [m]; ``"auto"``: :func:`context_margin` of the tallest
        building ([m], capped at :data:`CONTEXT_MAX_M`); None (default): no
        context, only the area (analyses will flag its edges).

    Returns
    -------
    Scene
        ``meta["study_area"]``, ``meta["context_area"]``, ``meta["context_m"]``.

    Raises
    ------
    InputError
        ``area`` is neither a polygon nor a 4-tuple; ``context`` is negative.
    """
    area = as_area(area, "clip area")
    if context is None:
        context = 0.0
    elif isinstance(context, str) and context == "auto":
        B = scene.buildings
        context = context_margin(float(B["height"].max()) if len(B) else 0.0)
    elif not isinstance(context, int | float) or not np.isfinite(context) or context < 0:
        raise InputError(
            f"context must be a distance >= 0 [m], 'auto' or None; got {context!r}"
        )
    context = float(context)
    known = known_extent(scene)
    grown = area.buffer(context) if context > 0 else area
    new = scene.copy()

    def sub(t, region):
        if not len(t):
            return t
        keep = shapely.intersects(t.geometry.values, region)
        t = t[keep].copy()
        if cut:
            t["geometry"] = shapely.intersection(t.geometry.values, region)
        return t

    occluders = ("buildings", "vegetation")
    new._tables = {
        k: sub(v, grown if k in occluders else area) for k, v in new._tables.items()
    }
    new.layers = {k: sub(v, area) for k, v in new.layers.items()}
    new.models.keep(new.buildings.index)
    margin = max(float(margin), context)
    minx, miny, maxx, maxy = area.bounds
    bb = (minx - margin, miny - margin, maxx + margin, maxy + margin)
    if scene.terrain is not None:
        new.terrain = scene.terrain.clip(bb)
    if scene.dsm is not None:
        new.dsm = scene.dsm.clip(bb)
    new.meta["study_area"] = area
    new.meta["context_m"] = context
    new.meta["context_area"] = (
        shapely.intersection(grown, known) if known is not None else grown
    )
    new.touch()
    return new
