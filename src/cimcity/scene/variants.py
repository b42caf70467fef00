"""Variants of a Scene: the "after" scene of a project, a clipped scene.

Both return a new scene and leave the original untouched (tables are copied,
terrain, BIM projects and building models are shared: they are never modified
in place).

A project must stand where it replaces something: :func:`check_on_land`
refuses (:class:`~cimcity.errors.GeoreferenceError`, with the distance and the
fix) a footprint with less than :data:`MIN_SHARE_ON_LAND` of its area on its
parcels (the given ones, else any parcel of the scene), or, in a scene without
parcels, further than :data:`MAX_PROJECT_DISTANCE` from everything the scene
knows. The permit check (:mod:`cimcity.permit.placement`) measures the same
share with :func:`share_on_parcels`. Areas (``clip``, the sun analyses'
``area=``) are checked against the scene CRS: a lon/lat box on a Lambert-93
scene is a :class:`~cimcity.errors.CRSError`, never an empty result.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..crs import check_bounds_in_area_of_use
from ..errors import CRSError, GeoreferenceError, InputError
from .heights import STOREY_HEIGHT, check_vertical_frame, resolve_heights
from .models import BuildingModel
from .summary import shown
from .tables import concat

#: overlap above which a footprint stands on a parcel or building [m²]
MIN_OVERLAP = 1.0
#: lowest sun elevation the default context margin covers [deg]: occluders
#: beyond it can shade only a sun lower than this
CONTEXT_MIN_ELEVATION = 5.0
#: cap of the default context margin [m] (a 26 m building casts a 300 m shadow
#: at 5°)
CONTEXT_MAX_M = 300.0
#: a project with less than this share of its footprint on its parcels is
#: misplaced [-] (one straddling its land's limit is a permit failure, not a
#: misplacement)
MIN_SHARE_ON_LAND = 0.01
#: in a scene without parcels, a project further than this from the scene's
#: buildings and terrain is misplaced [m] (its shadow reaches nothing of it)
MAX_PROJECT_DISTANCE = CONTEXT_MAX_M
#: parcels within this distance of a footprint are searched first [m]
_NEAR = 500.0


def project_parcels(scene, footprint, min_overlap: float = MIN_OVERLAP) -> list:
    """Ids of the parcels a footprint stands on (overlap > ``min_overlap`` m²)."""
    P = scene.parcels
    if not len(P):
        return []
    inter = shapely.area(shapely.intersection(P.geometry.values, footprint))
    return P.index[inter > min_overlap].tolist()


def distance_text(d: float) -> str:
    """A distance for messages: ``"444.0 km"`` from 10 km, else ``"50.0 m"``."""
    d = float(d)
    return f"{d / 1000:,.1f} km" if d >= 10_000 else f"{d:,.1f} m"


def share_on_parcels(footprint, parcels, land=None) -> tuple[float, float, str]:
    """How much of a footprint stands on parcels, and how far the nearest is.

    Parameters
    ----------
    footprint : shapely Polygon
        [m, scene CRS].
    parcels : GeoDataFrame
        The scene's parcels (used when ``land`` is None).
    land : shapely geometry, optional
        The parcels of the project, already merged.

    Returns
    -------
    share : float
        Share of the footprint area on the parcels [-].
    distance : float
        Plan distance to the nearest parcel (of ``land``) [m]; 0 when on it.
    nearest : str
        Id of the nearest parcel (``"of the application"`` with ``land``).
    """
    area = max(float(footprint.area), 1e-12)
    if land is not None:
        share = float(shapely.intersection(footprint, land).area) / area
        return share, float(shapely.distance(footprint, land)), "of the application"
    geoms = parcels.geometry.values
    tree = shapely.STRtree(geoms)
    near = tree.query(footprint, predicate="dwithin", distance=_NEAR)
    share = 0.0
    if len(near):
        inter = shapely.union_all(shapely.intersection(geoms[near], footprint))
        share = float(inter.area) / area
    i = int(tree.query_nearest(footprint, all_matches=False)[0])
    return share, float(shapely.distance(geoms[i], footprint)), str(parcels.index[i])


def _parcel_ids(scene, parcels) -> list | None:
    """The named parcels as a list of ids of the scene (None: not named).

    Raises
    ------
    InputError
        Ids that are not in ``scene.parcels``.
    """
    if parcels is None:
        return None
    ids = [parcels] if isinstance(parcels, str) else list(parcels)
    if not ids:
        return None
    P = scene.parcels
    missing = [i for i in ids if i not in P.index]
    if missing:
        some = [str(i) for i in P.index[:3]]
        raise InputError(
            f"parcel id(s) {[str(i) for i in missing]} are not in the scene's "
            f"parcels ({len(P):,} parcels"
            f"{', e.g. ' + ', '.join(map(repr, some)) if some else ''}); give ids of "
            f"scene.parcels, or add the parcels first (scene.add_parcels)"
        )
    return ids


_PLACE = (
    "place it in the scene CRS (read_ifc(..., placement=(x, y, z, rotation_deg)), "
    "command line --placement x,y,z[,rotation_deg]) [m, m, m, degrees]"
)


def check_on_land(scene, bim, parcels=None) -> dict:
    """Refuse a project that does not stand where it replaces something.

    Parameters
    ----------
    scene : Scene
    bim : BimModel
        Placed in the scene CRS (``footprint`` [m]).
    parcels : list of parcel ids, optional
        Its land, ids of ``scene.parcels`` (checked by the caller); default:
        any parcel of the scene.

    Returns
    -------
    dict
        ``share_on_land`` ([-]; None without parcels) and ``distance_m``
        (to the nearest parcel, else to the scene's known extent [m]; None in
        an empty scene).

    Raises
    ------
    GeoreferenceError
        Less than :data:`MIN_SHARE_ON_LAND` of the footprint on the parcels,
        or, without parcels, more than :data:`MAX_PROJECT_DISTANCE` from the
        scene's buildings and terrain: the message gives the distance and the
        fix.
    """
    fp = bim.footprint
    out = {"share_on_land": None, "distance_m": None}
    if fp is None or fp.is_empty:
        return out
    P = scene.parcels
    c = fp.centroid
    where = (
        f"the footprint (centroid x={c.x:,.1f}, y={c.y:,.1f} in "
        f"{scene.crs.to_string()})"
    )
    how = (getattr(bim, "georef", None) or {}).get("method")
    name = f"project {bim.id!r}" + (f" (placed by {how})" if how else "")
    if len(P):
        land = None
        if parcels is not None:
            land = shapely.union_all(P.geometry.loc[parcels].values)
        share, dist, nearest = share_on_parcels(fp, P, land)
        out.update(share_on_land=share, distance_m=dist)
        if share < MIN_SHARE_ON_LAND:
            which = f"its parcels {[str(i) for i in parcels]}" if land is not None else "any parcel"
            raise GeoreferenceError(
                f"{name} does not stand on {which} of the scene: {share:.0%} of its "
                f"footprint is on them and {where} is {distance_text(dist)} from the "
                f"nearest ({nearest}); it would replace nothing and be compared "
                f"with nothing. {_PLACE[0].upper()}{_PLACE[1:]}, or give the "
                f"parcels it stands on (with_project(bim, parcels=[...]))"
            )
        return out
    known = known_extent(scene)
    if known is None or known.is_empty:
        return out  # an empty scene: nothing to stand on or next to
    dist = float(shapely.distance(known, fp))
    out["distance_m"] = dist
    if dist > MAX_PROJECT_DISTANCE:
        raise GeoreferenceError(
            f"{name} stands {distance_text(dist)} from the scene's buildings and "
            f"terrain ({where}; more than {MAX_PROJECT_DISTANCE:g} m): it is "
            f"probably misplaced and its shadow would reach nothing of the scene. "
            f"{_PLACE[0].upper()}{_PLACE[1:]}, or add the parcels it stands on "
            f"(scene.add_parcels)"
        )
    return out


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
        The project's land, ids of ``scene.parcels``; default: parcels under
        its footprint.

    Returns
    -------
    Scene
        A new scene with ``meta["replaced_buildings"]``,
        ``meta["project_parcels"]`` and ``meta["placement"]``
        (:func:`check_on_land`).

    Raises
    ------
    InputError
        ``parcels`` names ids that are not in the scene.
    GeoreferenceError
        The project does not stand on its parcels (or near the scene without
        parcels), see :func:`check_on_land`.

    Warns
    -----
    DataQualityWarning
        The project's base is more than
        :data:`~cimcity.scene.heights.VERTICAL_TOL` off the terrain under it
        (or its neighbours' ground without terrain), see
        :func:`~cimcity.scene.heights.check_vertical_frame`.
    """
    named = _parcel_ids(scene, parcels)
    placement = check_on_land(scene, bim, named)
    new = scene.copy()
    new.add_bim(bim)
    parcels = project_parcels(new, bim.footprint) if named is None else named
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
    new.meta["placement"] = placement
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


def check_area_crs(bounds, crs, what: str = "area") -> None:
    """Refuse an area whose coordinates cannot be in the scene CRS ``crs``:
    longitude/latitude degrees given to a projected scene, or coordinates far
    outside the CRS's area of use.

    Parameters
    ----------
    bounds : (4,) float
        (minx, miny, maxx, maxy) as given.
    crs : pyproj.CRS or None
        The scene CRS (None: nothing to check).
    what : str
        The argument, named in the message.

    Raises
    ------
    CRSError
        Naming the coordinates, the scene CRS and the fix.
    """
    b = np.asarray(bounds, float)
    if crs is None or b.shape != (4,) or not np.all(np.isfinite(b)):
        return
    crs = CRS.from_user_input(crs)
    plain_b = tuple(round(float(v), 6) for v in b)
    if crs.is_projected and np.all(np.abs(b) <= 360.0):
        raise CRSError(
            f"{what} {plain_b} looks like longitude/latitude degrees, but the scene "
            f"is in {crs.to_string()} [m]; give it in the scene CRS, e.g. "
            f"pyproj.Transformer.from_crs('EPSG:4326', scene.crs, "
            f"always_xy=True).transform_bounds(*box)"
        )
    check_bounds_in_area_of_use(b, crs, what)


def as_area(area, what: str = "area", crs=None):
    """A polygon from a polygon or a (minx, miny, maxx, maxy) box [m].

    Parameters
    ----------
    area : shapely Polygon/MultiPolygon or 4-tuple [m, scene CRS]
    what : str
        The argument, named in messages.
    crs : pyproj.CRS, optional
        The scene CRS: lon/lat degrees or coordinates far off its area of use
        are refused (:func:`check_area_crs`).

    Raises
    ------
    InputError
        Neither, or empty.
    CRSError
        Coordinates that cannot be in ``crs``.
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
    check_area_crs(area.bounds, crs, what)
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
        Terrain kept beyond the area's bounds [m], >= 0 (at least
        ``context``).
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
        ``area`` is neither a polygon nor a 4-tuple; ``margin`` or ``context``
        is negative or not a number.
    CRSError
        ``area`` in longitude/latitude (or far off the scene CRS's area of use).
    """
    area = as_area(area, "clip area", scene.crs)
    if (
        not isinstance(margin, int | float | np.integer | np.floating)
        or isinstance(margin, bool)
        or not np.isfinite(margin)
        or margin < 0
    ):
        raise InputError(
            f"margin must be a distance >= 0 [m] (terrain kept around the area); "
            f"got {shown(margin)!r}"
        )
    if context is None:
        context = 0.0
    elif isinstance(context, str) and context == "auto":
        B = scene.buildings
        context = context_margin(float(B["height"].max()) if len(B) else 0.0)
    elif not isinstance(context, int | float) or not np.isfinite(context) or context < 0:
        raise InputError(
            f"context must be a distance >= 0 [m], 'auto' or None; got {shown(context)!r}"
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
