"""The Scene: cimcity's City Information Model in memory.

One projected CRS (EPSG:2154 by default), tidy tables linked by ids (zone ⊃
parcel ⊃ building ⊃ storey ⊃ element), an optional terrain, BIM projects, the
detailed models of buildings (``models``) and a cache of derived data (the
:class:`~cimcity.mesh.CityMesh`...) keyed on the scene's ``version``. Analyses
read a Scene and never modify it; ``with_project`` and ``clip`` return new
scenes.

The class gathers arguments and delegates: table validation to
:mod:`cimcity.scene.tables`, heights to :mod:`cimcity.scene.heights`, links and navigation to
:mod:`cimcity.scene.relations`, variants to :mod:`cimcity.scene.variants`, the mesh to :mod:`cimcity.scene.assembly`,
display to :mod:`cimcity.scene.summary`; files given as paths go through :mod:`cimcity.scene.formats`.
"""

from __future__ import annotations

import copy
import os

import geopandas as gpd
import numpy as np
import pandas as pd

from .._cache import Cache
from ..crs import (
    DEFAULT_CRS,
    DEFAULT_VERTICAL_DATUM,
    as_projected_crs,
    check_bounds_in_area_of_use,
)
from ..errors import CRSError, GeoreferenceError, InputError
from ..mesh import CityMesh
from ..terrain import Terrain
from .assembly import assemble
from .formats import read as read_file
from .formats import write as write_file
from .formats import write_by_suffix
from .heights import (
    STOREY_HEIGHT,
    check_vertical_frame,
    ground_from_terrain,
    resolve_heights,
)
from .models import ModelStore
from .rasters import vegetation_raster
from .relations import children as _children
from .relations import link as _link_tables
from .relations import node as _node
from .relations import parent as _parent
from .summary import card as _card
from .summary import summary as _summary
from .summary import text as _text
from .tables import ID, building_schema, concat, empty_table, normalise
from .variants import clip as _clip
from .variants import project_parcels as _project_parcels
from .variants import with_project as _with_project


class Scene:
    """A city scene: parcels, zones, buildings, vegetation, layers, terrain, BIM.

    Parameters
    ----------
    crs : str or pyproj.CRS
        Projected CRS in metres shared by every layer (default Lambert-93).
    vertical_datum : str
        Height reference of altitudes (``"NGF-IGN69"`` by default).
    strict : bool
        When True, invalid geometries are rejected instead of repaired.
    name : str, optional
        Label shown in reprs and reports.

    Attributes
    ----------
    layers : dict of str -> GeoDataFrame
        Other vector layers (roads, water...).
    terrain, dsm : Terrain or None
        Bare-ground DEM and surface model.
    rasters : dict
        Vegetation rasters (``"landcover"``, ``"ndvi"``, ``"cdsm"``) as
        ``(array, transform, crs)``.
    projects : dict of str -> BimModel
        BIM projects registered with :meth:`add_bim`.
    models : ModelStore
        Building id → detailed :class:`~cimcity.scene.models.BuildingModel`
        (CityJSON surfaces, swapped-in IFC projects) used by :meth:`mesh`.
    rules : RulePack or None
        PLU rules by zone ``libelle``.
    meta : dict
        Provenance (sample name, replaced buildings, the CityJSON file a
        reader kept for writing back...).
    cache : cimcity._cache.Cache
        Data derived from the scene, keyed on :attr:`version`.

    Examples
    --------
    >>> import cimcity as cc
    >>> scene = cc.datasets.load("paris")
    >>> scene.buildings[["height", "storeys", "parcel_id"]].head()  # doctest: +SKIP
    """

    def __init__(
        self,
        crs=DEFAULT_CRS,
        vertical_datum: str = DEFAULT_VERTICAL_DATUM,
        strict: bool = False,
        name: str | None = None,
    ):
        self.crs = as_projected_crs(crs, what="scene")
        self.vertical_datum = vertical_datum
        self.strict = strict
        self.name = name
        self._tables = {k: empty_table(k, self.crs) for k in ID}
        self.layers: dict[str, gpd.GeoDataFrame] = {}
        self.terrain = None
        self.dsm = None
        self.rasters: dict = {}
        self.projects: dict = {}
        self.models = ModelStore()
        self.rules = None
        self.meta: dict = {}
        self._version = 0
        self.cache = Cache()

    # -- tables ---------------------------------------------------------------------
    @property
    def parcels(self) -> gpd.GeoDataFrame:
        """Parcels (index ``parcel_id``; ``zone_id`` link)."""
        return self._tables["parcels"]

    @property
    def zones(self) -> gpd.GeoDataFrame:
        """PLU zones (index ``zone_id``; ``libelle``, ``typezone`` when given)."""
        return self._tables["zones"]

    @property
    def buildings(self) -> gpd.GeoDataFrame:
        """Buildings (index ``building_id``) with ``ground_z``, ``height``,
        ``roof_z``, ``eave_z``, ``storeys``, ``lod``, ``source``,
        ``height_source``, ``parcel_id``, ``zone_id`` [m, altitudes in the
        scene's vertical datum]."""
        return self._tables["buildings"]

    @property
    def vegetation(self) -> gpd.GeoDataFrame:
        """Vegetation polygons (index ``vegetation_id``; ``kind``)."""
        return self._tables["vegetation"]

    @property
    def version(self) -> int:
        """Counter bumped by every change; :attr:`cache` keys on it."""
        return self._version

    def touch(self) -> None:
        """Mark the scene as changed (drops cached derived data). Call it after
        editing a table in place."""
        self._version += 1
        self.cache.clear()

    def _normalise(self, gdf, kind, id_column=None):
        return normalise(
            gdf, kind, self.crs, strict=self.strict,
            existing=self._tables.get(kind), id_column=id_column,
        )

    # -- adding layers ----------------------------------------------------------------
    def add_parcels(self, parcels, id_column=None) -> Scene:
        """Add cadastral parcels.

        Parameters
        ----------
        parcels : GeoDataFrame
            Polygons; ids from ``id_column``, a ``parcel_id`` or Etalab ``id``
            column, or the index. Reprojected to the scene CRS when needed.

        Returns
        -------
        Scene
            ``self``, for chaining.
        """
        if (
            id_column is None
            and isinstance(parcels, gpd.GeoDataFrame)
            and "parcel_id" not in parcels.columns
            and "id" in parcels.columns
        ):
            id_column = "id"
        gdf = self._normalise(parcels, "parcels", id_column)
        gdf["area"] = gdf.geometry.area
        self._tables["parcels"] = concat(self.parcels, gdf)
        self._link()
        return self

    def add_zones(self, zones, rules=None, id_column=None) -> Scene:
        """Add PLU zones (CNIG ``zone_urba``), optionally with their rule pack.

        Parameters
        ----------
        zones : GeoDataFrame
            Zone polygons with at least ``libelle``; column names are matched
            case-insensitively.
        rules : RulePack, dict or path, optional
            PLU rule pack keyed by zone ``libelle`` (see ``docs/rules.md``); a
            path or dict is read with :func:`cimcity.read_rules`.
        """
        # rules first: a refused rule pack leaves the scene unchanged
        if rules is not None and not hasattr(rules, "zones"):
            if not isinstance(rules, str | os.PathLike | dict):
                raise InputError(
                    f"rules must be a RulePack, a dict or a path; got "
                    f"{type(rules).__name__} {rules!r}"
                )
            rules = read_file("rules", rules)
        if isinstance(zones, gpd.GeoDataFrame):
            zones = zones.rename(
                columns={
                    c: c.lower() for c in zones.columns if c != zones.geometry.name
                }
            )
        gdf = self._normalise(zones, "zones", id_column)
        self._tables["zones"] = concat(self.zones, gdf)
        if rules is not None:
            self.rules = rules
        self._link()
        return self

    def add_buildings(
        self, buildings, id_column=None, storey_height=STOREY_HEIGHT
    ) -> Scene:
        """Add building footprints with heights.

        Heights are resolved in this order, the choice recorded in
        ``height_source``: ``height`` column (``"data"``); ``roof_z - ground_z``
        (``"altitudes"``); ``storeys × storey_height`` (``"storeys"``);
        :data:`~cimcity.scene.DEFAULT_HEIGHT` (``"default"``, with an
        :class:`~cimcity.errors.EstimateWarning`). ``ground_z`` comes from the
        data, else the terrain (lowest terrain point of the outline,
        ``ground_source="terrain"``), else 0.

        A table in a known product's schema (BDNB, BD TOPO v2/v3, OSM: see
        :mod:`cimcity.schemas`), e.g. straight from ``geopandas.read_file``,
        is read as :func:`cimcity.read_buildings` reads it: BDNB ``hauteur``
        → ``height``, ``altitude_s`` → ``ground_z``, BD TOPO altitudes, OSM
        text heights..., and its ids (``batiment_c``, ``cleabs``...) become
        the building ids.

        Parameters
        ----------
        buildings : GeoDataFrame
            Footprints; optional columns ``height``, ``storeys``, ``ground_z``,
            ``roof_z``, ``eave_z`` [m], ``source``, ``lod``, or a product's
            own columns. Every other column is kept as it is.
        id_column : str or False, optional
            Column holding the building ids. Default: a ``building_id``
            column, else a named index, else the product's id column
            (duplicates made unique as ``<id>#2`` with a
            :class:`~cimcity.errors.DataQualityWarning`), else generated
            ``B000000``... ``False``: generated ids. Ids of a named column
            must be unique (:class:`~cimcity.errors.InputError`).
        storey_height : float
            Height of one storey for estimates [m].
        """
        gdf = self._normalise(buildings, "buildings", id_column)
        gdf = building_schema(gdf)
        gdf = resolve_heights(gdf, storey_height, self.terrain)
        if self.terrain is not None and len(gdf):
            # a DEM that covers none of the scene's layers with these buildings
            # is of another place (a few buildings beyond its edge are allowed:
            # their ground is unknown, and the analyses say so)
            boxes = [g.total_bounds for g in self._tables.values() if len(g)]
            b = np.array([*boxes, gdf.total_bounds])
            sb = (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
            what = "buildings" if not boxes else "scene's layers and the buildings"
            _check_cover(self.terrain, sb, what, "DEM")
        self._tables["buildings"] = concat(self.buildings, gdf)
        self._link()
        check_vertical_frame(self, what="add_buildings")
        return self

    def add_vegetation(
        self, vegetation, kind_column: str = "kind", raster: str | None = None
    ) -> Scene:
        """Add vegetation: polygons with a ``kind``, or a raster.

        Parameters
        ----------
        vegetation : GeoDataFrame, or a raster (GeoTIFF path, rasterio dataset,
            or ``(array, transform, crs)``) when ``raster`` is given
            Polygons with a ``kind`` column (tree, lawn, shrub, green_roof,
            green_wall, permeable_paving...; default ``"vegetation"``).
        raster : {"landcover", "ndvi", "cdsm"}, optional
            What the raster holds: land-cover classes, NDVI, or canopy height
            above ground [m]. Stored in ``scene.rasters[raster]`` (reprojected
            to the scene CRS with a warning when needed: nearest neighbour for
            land cover, bilinear otherwise) and used by
            :func:`cimcity.vegetation.ratios`.
        """
        if raster is not None:
            self.rasters[raster] = vegetation_raster(vegetation, raster, self.crs)
            self.touch()
            return self
        gdf = self._normalise(vegetation, "vegetation")
        if kind_column != "kind" and kind_column not in gdf.columns:
            raise InputError(
                f"vegetation: kind column {kind_column!r} not found; columns are "
                f"{', '.join(str(c) for c in gdf.columns if c != 'geometry')}"
            )
        if kind_column != "kind" and kind_column in gdf.columns:
            gdf["kind"] = gdf[kind_column]
        if "kind" not in gdf.columns:
            gdf["kind"] = "vegetation"
        self._tables["vegetation"] = concat(self.vegetation, gdf)
        self._link()
        return self

    def add_layer(self, name: str, gdf) -> Scene:
        """Add any other vector layer (roads, water, flood zones...) by name."""
        if name in ID:
            raise InputError(f"layer name {name!r} is reserved; use add_{name}()")
        self.layers[name] = self._normalise(gdf, "layers")
        self.touch()
        return self

    def add_terrain(self, dem, dsm=None) -> Scene:
        """Set the terrain (DEM) and optionally a DSM (2.5D occluders).

        ``ground_z`` of buildings that did not carry one is re-derived from it.

        Parameters
        ----------
        dem : Terrain or path to a GeoTIFF
            A path is read with :func:`cimcity.read_dem` in the scene CRS.
        dsm : Terrain or path, optional
        """
        terrain = self._as_terrain(dem, "dem")
        dsm = self._as_terrain(dsm, "dsm") if dsm is not None else None
        self.terrain = terrain
        if dsm is not None:
            self.dsm = dsm
        b = self.buildings
        if len(b) and "ground_source" in b.columns:
            redo = b["ground_source"] != "data"
            if redo.any():
                z = ground_from_terrain(self.terrain, b.geometry.values[redo.to_numpy()])
                ok = np.isfinite(z)
                idx = b.index[redo.to_numpy()][ok]
                dz = z[ok] - b.loc[idx, "ground_z"].to_numpy()
                b.loc[idx, "ground_z"] = z[ok]
                b.loc[idx, "ground_source"] = "terrain"
                for col in ("roof_z", "eave_z"):
                    b.loc[idx, col] = b.loc[idx, col].to_numpy() + dz
        self.touch()
        check_vertical_frame(self, what="add_terrain")
        return self

    def _as_terrain(self, t, kind):
        if not isinstance(t, Terrain):
            if not isinstance(t, str | os.PathLike):
                raise InputError(
                    f"{kind} must be a Terrain or a path to a GeoTIFF; got "
                    f"{type(t).__name__} (wrap an array with cimcity.terrain."
                    f"Terrain(elevation, transform, crs))"
                )
            t = read_file(kind, t, crs=self.crs)
        if not t.crs.equals(self.crs, ignore_axis_order=True):
            raise CRSError(
                f"{kind} CRS {t.crs.to_string()!r} differs from the scene CRS "
                f"{self.crs.to_string()!r}; read it with cimcity.read_{kind}(path, "
                f"crs={self.crs.to_string()!r}) to reproject"
            )
        check_bounds_in_area_of_use(t.bounds, t.crs, kind.upper())
        boxes = [g.total_bounds for g in self._tables.values() if len(g)]
        if boxes:
            b = np.array(boxes)
            sb = (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
            _check_cover(t, sb, "scene's layers", kind.upper())
        return t

    def add_bim(self, bim) -> Scene:
        """Register a BIM project (:class:`~cimcity.bim.BimModel`) in ``projects``.

        The project does not replace anything here; use :meth:`with_project`.
        Its base is then compared with the scene's ground
        (:func:`~cimcity.scene.heights.check_vertical_frame`, warn-only).

        Raises
        ------
        InputError
            ``bim`` has no id.
        GeoreferenceError
            The project is not placed: no CRS and no georeference (its
            coordinates are the model's own local frame, not the scene's).
        CRSError
            The project is placed in another CRS than the scene's.
        """
        pid = getattr(bim, "id", None)
        if pid is None:
            raise InputError("the BIM model has no id")
        if not _is_placed(bim):
            raise GeoreferenceError(
                f"BIM project {pid!r} has no placement (no CRS, georeferencing "
                f"{_georef_method(bim)!r}): its coordinates are the model's own "
                f"local frame, not the scene's; read it with read_ifc(path, "
                f"placement=(x, y, z, rotation_deg)) or read_ifc(path, "
                f"crs={self.crs.to_string()!r}) when the IFC carries a map "
                f"conversion (cimcity check --placement X Y Z [ROTATION])"
            )
        if bim.crs is not None and not as_projected_crs(bim.crs, "BIM").equals(
            self.crs
        ):
            raise CRSError(
                f"BIM project {pid!r} is placed in {bim.crs!r}, the scene is in "
                f"{self.crs.to_string()!r}; read it with read_ifc(path, scene_crs=scene.crs)"
            )
        self.projects[pid] = bim
        self.touch()
        check_vertical_frame(self, what="add_bim")
        return self

    def _link(self) -> None:
        """Fill the link columns (:func:`cimcity.scene.relations.link`) and mark a change."""
        _link_tables(self.parcels, self.zones, self.buildings, self.vegetation)
        self.touch()

    # -- relations ---------------------------------------------------------------------
    def node(self, node_id) -> pd.Series:
        """The row of any node (zone, parcel, building, vegetation, project,
        storey or element) with a ``node_type`` entry.

        Raises
        ------
        InputError
            When no node has this id.
        """
        return _node(self, node_id)

    def parent(self, node_id):
        """Id of the node's parent (building → parcel → zone), or None."""
        return _parent(self, node_id)

    def children(self, node_id) -> list:
        """Ids of the node's children (zone → parcels, parcel → buildings,
        project → storeys, storey → elements)."""
        return _children(self, node_id)

    # -- variants ----------------------------------------------------------------------
    def copy(self) -> Scene:
        """Independent copy (tables copied; terrain, BIM projects and building
        models shared read-only)."""
        new = copy.copy(self)
        new._tables = {k: v.copy() for k, v in self._tables.items()}
        new.layers = {k: v.copy() for k, v in self.layers.items()}
        new.rasters = dict(self.rasters)
        new.projects = dict(self.projects)
        new.models = self.models.copy()
        new.meta = dict(self.meta)
        new.cache = Cache()
        return new

    def project_parcels(self, footprint, min_overlap: float = 1.0) -> list:
        """Ids of parcels a footprint stands on (overlap > ``min_overlap`` m²)."""
        return _project_parcels(self, footprint, min_overlap)

    def with_project(self, bim, parcels=None) -> Scene:
        """A new scene where the BIM project replaces what stands on its parcels.

        Parameters
        ----------
        bim : BimModel
            Project placed in the scene CRS (``footprint``, ``base_z``, ``top_z``,
            ``mesh``).
        parcels : list of parcel ids, optional
            The project's land; default: parcels under its footprint.

        Returns
        -------
        Scene
            The "after" scene; ``self`` is unchanged. See
            :func:`cimcity.scene.variants.with_project`.
        """
        if not (hasattr(bim, "footprint") and hasattr(bim, "id")):
            raise InputError(
                f"with_project needs a BimModel (cimcity.read_ifc or "
                f"cimcity.permit.read_project); got {type(bim).__name__} {bim!r}"
            )
        return _with_project(self, bim, parcels)

    def clip(
        self, area, cut: bool = False, margin: float = 0.0, *, context=None
    ) -> Scene:
        """A new scene restricted to a polygon or a (minx, miny, maxx, maxy) box.

        The area becomes the new scene's :attr:`study_area`: the sun analyses
        report only there, and buildings and vegetation within ``context``
        metres around it are kept as occluders (see
        :func:`cimcity.scene.variants.clip`).

        Parameters
        ----------
        area : shapely geometry or 4-tuple [m, scene CRS]
        cut : bool
            False (default) keeps whole features that intersect ``area`` (or
            the context band); True cuts their geometries at its boundary.
        margin : float
            Terrain kept beyond the area's bounds [m], >= 0 (at least
            ``context``).
        context : float, "auto" or None
            Width of the band of buildings and vegetation kept around the area
            as occluders [m]; ``"auto"``: from the tallest building and the
            lowest sun (:func:`cimcity.scene.variants.context_margin`); None
            (default): no context, and the analyses flag the area's edges.

        Returns
        -------
        Scene
            With ``meta["study_area"]``, ``meta["context_area"]`` and
            ``meta["context_m"]``; ``self`` is unchanged.

        Raises
        ------
        InputError
            ``area`` is neither a polygon nor a 4-tuple; ``margin`` or
            ``context`` is negative or not a number.
        CRSError
            ``area`` in longitude/latitude.
        """
        return _clip(self, area, cut, margin, context=context)

    @property
    def study_area(self):
        """The area the analyses report on (shapely polygon, scene CRS [m]),
        set by :meth:`clip`; None for a whole scene (no context band)."""
        return self.meta.get("study_area")

    # -- geometry ----------------------------------------------------------------------------
    @property
    def bounds(self) -> tuple:
        """(minx, miny, maxx, maxy) of all layers and the terrain [m]."""
        boxes = [
            t.total_bounds
            for t in list(self._tables.values()) + list(self.layers.values())
            if len(t)
        ]
        if self.terrain is not None:
            boxes.append(np.asarray(self.terrain.bounds))
        if not boxes:
            return (np.nan,) * 4
        b = np.array(boxes)
        return (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())

    def mesh(self, terrain: bool = True, terrain_step: int | None = None) -> CityMesh:
        """The scene compiled to a :class:`CityMesh` (cached until the scene changes).

        Buildings with a detailed model (``scene.models``: CityJSON surfaces,
        swapped-in BIM projects) contribute its triangles; the others are
        extruded from their footprints (mansard/hip roofs where ``eave_z`` is
        known); the DEM becomes a terrain surface. See
        :mod:`cimcity.scene.assembly`.

        Parameters
        ----------
        terrain : bool
            Include the terrain surface (kind ``terrain``).
        terrain_step : int, optional
            Keep every n-th DEM cell (default: about 200 vertices along the
            longer side, e.g. 2 m triangles on the 400 m sample).
        """
        return self.cache.get(
            ("scene.mesh", bool(terrain), terrain_step),
            self._version,
            lambda: assemble(self, terrain, terrain_step),
        )

    # -- export ------------------------------------------------------------------------------
    def to_cityjson(self, path, **kwargs):
        """Write the scene as CityJSON 2.0 (see
        :func:`cimcity.io.cityjson.write_cityjson`)."""
        return write_file("cityjson", self, path, **kwargs)

    def to_file(self, path, **kwargs):
        """Write the scene by file name: ``.glb`` (glTF, one node per building),
        ``.obj``, ``.city.json`` (CityJSON), ``dir/tileset.json`` or a folder
        (3D Tiles 1.1); see :func:`cimcity.scene.formats.write_by_suffix`.

        Returns
        -------
        pathlib.Path
        """
        return write_by_suffix(self, path, **kwargs)

    # -- display -----------------------------------------------------------------------------
    def summary(self) -> dict:
        """Counts, extent and height statistics as a plain dict."""
        return _summary(self)

    def __repr__(self) -> str:
        return _text(self)

    def _repr_html_(self) -> str:
        return _card(self)

    def show(self, path=None, **kwargs):
        """The interactive 3D page of the scene, inline in Jupyter.

        Calls :func:`cimcity.page.show` (found by name in
        :mod:`cimcity.scene.formats`: the Scene never imports a view).

        Parameters
        ----------
        path : str or Path, optional
            Also write the page there (``.html``).
        **kwargs
            ``project``, ``result``, ``day``, ``lang``, ``title``, ``height``...
            (:func:`cimcity.page.to_html`).

        Returns
        -------
        cimcity.page.PageView
            Displayed inline by Jupyter; ``.page`` holds the HTML.
        """
        return write_file("show", self, path, **kwargs)


def _check_cover(terrain, bounds, what: str, kind: str) -> None:
    """Refuse a terrain whose extent does not reach ``bounds`` (the box of
    ``what``) at all: a DEM of another place, named by its file."""
    tb = terrain.bounds
    dx = max(tb[0] - bounds[2], bounds[0] - tb[2], 0.0)
    dy = max(tb[1] - bounds[3], bounds[1] - tb[3], 0.0)
    if dx > 0 or dy > 0:
        src = f" {terrain.source}" if terrain.source else ""
        raise GeoreferenceError(
            f"{kind}{src} lies {float(np.hypot(dx, dy)) / 1000:.1f} km from the "
            f"{what} and covers none of them (the {kind} spans x "
            f"{tb[0]:.0f}–{tb[2]:.0f}, y {tb[1]:.0f}–{tb[3]:.0f} m); give the "
            f"{kind} of the same place"
        )


def _georef_method(bim) -> str:
    return str((getattr(bim, "georef", None) or {}).get("method", "none"))


def _is_placed(bim) -> bool:
    """Whether a project stands in a map frame: a CRS, or a georeference
    (map conversion, site lat/lon, explicit placement) other than none."""
    if getattr(bim, "crs", None) is not None:
        return True
    placed = getattr(bim, "is_georeferenced", None)
    if placed is not None:
        return bool(placed)
    return _georef_method(bim).lower() not in ("none", "", "local")
