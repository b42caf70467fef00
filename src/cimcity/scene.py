"""The Scene: cimcity's City Information Model in memory.

One projected CRS (EPSG:2154 by default), tidy tables linked by ids (zone ⊃
parcel ⊃ building ⊃ storey ⊃ element), an optional terrain, BIM projects, and a
cached :class:`~cimcity.mesh.CityMesh`. Analyses read a Scene and never modify it;
``with_project`` and ``clip`` return new scenes.
"""

from __future__ import annotations

import copy
import html
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .crs import DEFAULT_CRS, DEFAULT_VERTICAL_DATUM, as_projected_crs, to_crs
from .errors import (
    CRSError,
    EstimateWarning,
    GeometryError,
    InputError,
    RepairWarning,
)
from .mesh import KIND_CODES, CityMesh, extrude_buildings, terrain_mesh

#: storey height used to estimate missing building heights and storey counts [m]
STOREY_HEIGHT = 3.0
#: height given to buildings with no height, storeys or altitudes [m]
DEFAULT_HEIGHT = 9.0
#: ground altitude when neither data nor terrain gives one [m]
DEFAULT_GROUND_Z = 0.0

_ID = {
    "parcels": "parcel_id",
    "zones": "zone_id",
    "buildings": "building_id",
    "vegetation": "vegetation_id",
}
_PREFIX = {"parcels": "P", "zones": "Z", "buildings": "B", "vegetation": "V"}


def _empty(kind: str, crs) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame({"geometry": gpd.GeoSeries([], crs=crs)}, crs=crs)
    gdf.index.name = _ID[kind]
    return gdf


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
        self._tables = {k: _empty(k, self.crs) for k in _ID}
        self.layers: dict[str, gpd.GeoDataFrame] = {}
        self.terrain = None
        self.dsm = None
        self.rasters: dict = {}
        self.projects: dict = {}
        self.rules = None
        self.meta: dict = {}
        self._version = 0
        self._mesh_cache: dict = {}

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
        """Counter bumped by every change; caches key on it."""
        return self._version

    def touch(self) -> None:
        """Mark the scene as changed (drops the cached mesh). Call it after
        editing a table in place."""
        self._version += 1
        self._mesh_cache.clear()

    # -- input normalisation ----------------------------------------------------------
    def _normalise(self, gdf, kind: str, id_column=None) -> gpd.GeoDataFrame:
        if not isinstance(gdf, gpd.GeoDataFrame):
            raise InputError(
                f"{kind} must be a GeoDataFrame; got {type(gdf).__name__} "
                f"(read files with cimcity.read_* or geopandas.read_file)"
            )
        gdf = to_crs(gdf.copy(), self.crs, what=kind)
        if gdf.geometry.name != "geometry":
            gdf = gdf.rename_geometry("geometry")
        geom = gdf.geometry.values
        empty = shapely.is_empty(geom) | pd.isna(geom)
        if empty.any():
            raise GeometryError(
                f"{kind}: {int(empty.sum())} row(s) have an empty or missing geometry "
                f"(first: row {gdf.index[np.flatnonzero(empty)[0]]!r}); drop or fix them"
            )
        if kind != "layers":
            types = shapely.get_type_id(geom)
            bad = ~np.isin(types, (3, 6))
            if bad.any():
                names = sorted(set(shapely.get_type_id(geom[bad]).tolist()))
                tn = {
                    0: "Point",
                    1: "LineString",
                    2: "LinearRing",
                    4: "MultiPoint",
                    5: "MultiLineString",
                    7: "GeometryCollection",
                }
                raise GeometryError(
                    f"{kind}: {int(bad.sum())} geometries are not polygons "
                    f"({', '.join(tn.get(t, str(t)) for t in names)}); expected "
                    f"Polygon or MultiPolygon footprints"
                )
            gdf = self._repair(gdf, kind)
        # ids
        idcol = id_column or _ID.get(kind)
        if idcol in gdf.columns:
            ids = gdf[idcol]
            gdf = gdf.drop(columns=[idcol])
            gdf.index = pd.Index(ids.to_numpy(), name=_ID.get(kind, "id"))
        elif id_column is not None:
            raise InputError(
                f"{kind}: id column {id_column!r} not found; columns are "
                f"{list(gdf.columns)}"
            )
        elif isinstance(gdf.index, pd.RangeIndex) or gdf.index.name is None:
            n0 = len(self._tables.get(kind, []))
            pre = _PREFIX.get(kind, "L")
            gdf.index = pd.Index(
                [f"{pre}{i:06d}" for i in range(n0, n0 + len(gdf))],
                name=_ID.get(kind, "id"),
            )
        else:
            gdf.index.name = _ID.get(kind, "id")
        if gdf.index.hasnans:
            raise InputError(f"{kind}: {int(gdf.index.isna().sum())} id(s) are missing")
        dup = gdf.index[gdf.index.duplicated()]
        if len(dup):
            raise InputError(
                f"{kind}: duplicate ids {sorted(map(str, set(dup)))[:5]} "
                f"({len(dup)} duplicates); ids must be unique"
            )
        if kind in self._tables:
            clash = gdf.index.intersection(self._tables[kind].index)
            if len(clash):
                raise InputError(
                    f"{kind}: ids {list(map(str, clash[:5]))} are already in the scene"
                )
        return gdf

    def _repair(self, gdf, kind):
        geom = gdf.geometry.values
        invalid = ~shapely.is_valid(geom)
        n = int(invalid.sum())
        if not n:
            return gdf
        if self.strict:
            first = gdf.index[np.flatnonzero(invalid)[0]]
            reason = shapely.is_valid_reason(geom[invalid][0])
            raise GeometryError(
                f"{kind}: {n} invalid geometries (first {first!r}: {reason}); "
                f"strict mode rejects them (use strict=False to repair)"
            )
        fixed = shapely.make_valid(geom[invalid])
        # keep the polygonal part of collections made by make_valid
        parts, idx = shapely.get_parts(fixed, return_index=True)
        poly = np.isin(shapely.get_type_id(parts), (3, 6))
        out = []
        for i in range(len(fixed)):
            sel = parts[(idx == i) & poly]
            u = shapely.union_all(sel) if len(sel) else shapely.Polygon()
            out.append(u)
        polys = np.asarray(out, dtype=object)
        lost = shapely.is_empty(polys)
        if lost.any():
            first = gdf.index[np.flatnonzero(invalid)[np.flatnonzero(lost)[0]]]
            raise GeometryError(
                f"{kind}: {int(lost.sum())} invalid geometries have no area once "
                f"repaired (first {first!r}); fix or drop them"
            )
        gdf = gdf.copy()
        values = gdf.geometry.values.copy()
        values[invalid] = polys
        gdf["geometry"] = gpd.GeoSeries(values, index=gdf.index, crs=gdf.crs)
        gdf["repaired"] = invalid
        warnings.warn(
            f"{kind}: repaired {n} invalid geometries with make_valid "
            f"(flagged in column 'repaired')",
            RepairWarning,
            stacklevel=4,
        )
        return gdf

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
            and "parcel_id" not in parcels.columns
            and "id" in parcels.columns
        ):
            id_column = "id"
        gdf = self._normalise(parcels, "parcels", id_column)
        gdf["area"] = gdf.geometry.area
        self._tables["parcels"] = _concat(self.parcels, gdf)
        self._link()
        return self

    def add_zones(self, zones, rules=None, id_column=None) -> Scene:
        """Add PLU zones (CNIG ``zone_urba``), optionally with their rule pack.

        Parameters
        ----------
        zones : GeoDataFrame
            Zone polygons with at least ``libelle``; column names are matched
            case-insensitively.
        rules : RulePack or path, optional
            PLU rule pack keyed by zone ``libelle`` (see ``docs/rules.md``).
        """
        zones = zones.rename(
            columns={c: c.lower() for c in zones.columns if c != zones.geometry.name}
        )
        gdf = self._normalise(zones, "zones", id_column)
        self._tables["zones"] = _concat(self.zones, gdf)
        if rules is not None:
            if not hasattr(rules, "zones"):
                from .io.plu import read_rules

                rules = read_rules(rules)
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
        :data:`DEFAULT_HEIGHT` (``"default"``, with an :class:`EstimateWarning`).
        ``ground_z`` comes from the data, else the terrain (lowest terrain point
        of the outline, ``ground_source="terrain"``), else 0.

        Parameters
        ----------
        buildings : GeoDataFrame
            Footprints; optional columns ``height``, ``storeys``, ``ground_z``,
            ``roof_z``, ``eave_z`` [m], ``source``, ``lod``. Every other column is
            kept as it is.
        storey_height : float
            Height of one storey for estimates [m].
        """
        gdf = self._normalise(buildings, "buildings", id_column)
        gdf = self._resolve_heights(gdf, storey_height)
        self._tables["buildings"] = _concat(self.buildings, gdf)
        self._link()
        return self

    def add_vegetation(self, vegetation, kind_column: str = "kind", raster: str | None = None) -> Scene:
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
            self.rasters[raster] = self._vegetation_raster(vegetation, raster)
            self.touch()
            return self
        gdf = self._normalise(vegetation, "vegetation")
        if kind_column != "kind" and kind_column in gdf.columns:
            gdf["kind"] = gdf[kind_column]
        if "kind" not in gdf.columns:
            gdf["kind"] = "vegetation"
        self._tables["vegetation"] = _concat(self.vegetation, gdf)
        self._link()
        return self

    def _vegetation_raster(self, src, kind):
        import rasterio
        from rasterio.warp import Resampling, calculate_default_transform, reproject

        kinds = ("landcover", "ndvi", "cdsm")
        if kind not in kinds:
            raise InputError(f"unknown vegetation raster {kind!r}; expected one of {kinds}")
        if isinstance(src, tuple):
            if len(src) != 3:
                raise InputError("a raster tuple must be (array, transform, crs)")
            arr, transform, crs = src
            arr = np.asarray(arr)
        else:
            ds = src if hasattr(src, "read") else rasterio.open(src)
            arr = ds.read(1, masked=True)
            arr = arr.filled(0 if kind == "landcover" else np.nan) if np.ma.isMaskedArray(arr) else arr
            if kind != "landcover":
                arr = arr.astype(float)
            transform, crs = ds.transform, ds.crs
        if crs is None:
            raise CRSError(f"the {kind} raster has no CRS; give (array, transform, crs)")
        from pyproj import CRS

        if CRS.from_user_input(crs).equals(self.crs, ignore_axis_order=True):
            return (arr, transform, self.crs)
        from .errors import ReprojectionWarning

        h, w = arr.shape
        left, top = transform * (0, 0)
        right, bottom = transform * (w, h)
        dst_t, dw, dh = calculate_default_transform(crs, self.crs, w, h, left=left, bottom=bottom, right=right, top=top)
        out = np.zeros((dh, dw), dtype=arr.dtype) if kind == "landcover" else np.full((dh, dw), np.nan)
        reproject(arr, out, src_transform=transform, src_crs=crs, dst_transform=dst_t, dst_crs=self.crs,
                  resampling=Resampling.nearest if kind == "landcover" else Resampling.bilinear,
                  src_nodata=0 if kind == "landcover" else np.nan, dst_nodata=0 if kind == "landcover" else np.nan)
        warnings.warn(f"{kind} raster reprojected from {CRS.from_user_input(crs).to_string()!r} to "
                      f"{self.crs.to_string()!r}", ReprojectionWarning, stacklevel=3)
        return (out, dst_t, self.crs)

    def add_layer(self, name: str, gdf) -> Scene:
        """Add any other vector layer (roads, water, flood zones...) by name."""
        if name in _ID:
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
        dsm : Terrain or path, optional
        """
        dem = self._as_terrain(dem, "dem")
        self.terrain = dem
        if dsm is not None:
            self.dsm = self._as_terrain(dsm, "dsm")
        b = self.buildings
        if len(b) and "ground_source" in b.columns:
            redo = b["ground_source"] != "data"
            if redo.any():
                z = self._ground_from_terrain(b.geometry.values[redo.to_numpy()])
                ok = np.isfinite(z)
                idx = b.index[redo.to_numpy()][ok]
                dz = z[ok] - b.loc[idx, "ground_z"].to_numpy()
                b.loc[idx, "ground_z"] = z[ok]
                b.loc[idx, "ground_source"] = "terrain"
                for col in ("roof_z", "eave_z"):
                    b.loc[idx, col] = b.loc[idx, col].to_numpy() + dz
        self.touch()
        return self

    def _as_terrain(self, t, kind):
        from .terrain import Terrain

        if not isinstance(t, Terrain):
            from .io.raster import read_dem, read_dsm

            t = (read_dem if kind == "dem" else read_dsm)(t, crs=self.crs)
        if not t.crs.equals(self.crs, ignore_axis_order=True):
            raise CRSError(
                f"{kind} CRS {t.crs.to_string()!r} differs from the scene CRS "
                f"{self.crs.to_string()!r}; read it with cimcity.read_{kind}(path, "
                f"crs={self.crs.to_string()!r}) to reproject"
            )
        return t

    def add_bim(self, bim) -> Scene:
        """Register a BIM project (:class:`~cimcity.bim.BimModel`) in ``projects``.

        The project does not replace anything here; use :meth:`with_project`.
        """
        pid = getattr(bim, "id", None)
        if pid is None:
            raise InputError("the BIM model has no id")
        if bim.crs is not None and not as_projected_crs(bim.crs, "BIM").equals(
            self.crs
        ):
            raise CRSError(
                f"BIM project {pid!r} is placed in {bim.crs!r}, the scene is in "
                f"{self.crs.to_string()!r}; read it with read_ifc(path, scene_crs=scene.crs)"
            )
        self.projects[pid] = bim
        self.touch()
        return self

    # -- derived columns ----------------------------------------------------------------
    def _ground_from_terrain(self, geoms) -> np.ndarray:
        """Lowest terrain altitude along each outline [m] (NaN off the DEM)."""
        if self.terrain is None or len(geoms) == 0:
            return np.full(len(geoms), np.nan)
        # sample densified outlines so long walls over slopes are caught
        step = max(self.terrain.resolution)
        rings = shapely.segmentize(shapely.boundary(np.asarray(geoms, object)), step)
        xy, idx = shapely.get_coordinates(rings, return_index=True)
        z = self.terrain.sample(xy[:, 0], xy[:, 1])
        out = np.full(len(geoms), np.inf)
        zz = np.where(np.isfinite(z), z, np.inf)
        np.minimum.at(out, idx, zz)
        out[~np.isfinite(out)] = np.nan
        return out

    def _resolve_heights(self, gdf, storey_height):
        n = len(gdf)

        def col(name):
            if name in gdf.columns:
                return pd.to_numeric(gdf[name], errors="coerce").to_numpy(dtype=float)
            return np.full(n, np.nan)

        height, storeys = col("height"), col("storeys")
        ground, roof, eave = col("ground_z"), col("roof_z"), col("eave_z")
        ground_src = np.where(np.isfinite(ground), "data", "terrain").astype(object)
        gz = (
            self._ground_from_terrain(gdf.geometry.values)
            if (~np.isfinite(ground)).any()
            else ground
        )
        ground = np.where(np.isfinite(ground), ground, gz)
        nog = ~np.isfinite(ground)
        ground_src[nog] = "default"
        ground[nog] = DEFAULT_GROUND_Z
        for name, v in (("height", height), ("storeys", storeys)):
            bad = np.isfinite(v) & (v <= 0)
            if bad.any():
                i = gdf.index[np.flatnonzero(bad)[0]]
                raise InputError(
                    f"buildings: {int(bad.sum())} non-positive {name} value(s) "
                    f"(first {i!r}: {v[bad][0]}); {name} must be > 0 or missing"
                )
        src = np.full(n, "data", dtype=object)
        if "height_source" in gdf.columns:
            # keep what a reader recorded for given heights ("altitudes", "dsm", "user")
            given = gdf["height_source"].to_numpy(dtype=object)
            keep = np.isfinite(height) & pd.notna(given)
            src[keep] = given[keep]
        h = height.copy()
        m = ~np.isfinite(h) & np.isfinite(roof) & (roof > ground)
        h[m] = (roof - ground)[m]
        src[m] = "altitudes"
        m = ~np.isfinite(h) & np.isfinite(storeys)
        h[m] = storeys[m] * storey_height
        src[m] = "storeys"
        m = ~np.isfinite(h)
        if m.any():
            h[m] = DEFAULT_HEIGHT
            src[m] = "default"
            warnings.warn(
                f"buildings: {int(m.sum())} of {n} have no height, storeys or roof "
                f"altitude; set to the default {DEFAULT_HEIGHT} m "
                f"(height_source='default')",
                EstimateWarning,
                stacklevel=3,
            )
        st_src = np.where(np.isfinite(storeys), "data", "estimated").astype(object)
        storeys = np.where(
            np.isfinite(storeys), storeys, np.maximum(1, np.round(h / storey_height))
        )
        gdf["ground_z"] = ground
        gdf["ground_source"] = ground_src
        gdf["height"] = h
        gdf["height_source"] = src
        gdf["roof_z"] = ground + h
        e = np.where(
            np.isfinite(eave) & (eave > ground) & (eave <= ground + h), eave, np.nan
        )
        gdf["eave_z"] = e
        gdf["storeys"] = storeys.astype(np.int64)
        gdf["storeys_source"] = st_src
        if "lod" not in gdf.columns:
            gdf["lod"] = np.where(np.isfinite(e) & (e < ground + h - 0.05), 2, 1)
        if "source" not in gdf.columns:
            gdf["source"] = "user"
        return gdf

    def _link(self) -> None:
        """Fill zone_id of parcels and parcel_id / zone_id of buildings and
        vegetation by spatial join (largest overlap wins)."""
        P, Z, B, V = self.parcels, self.zones, self.buildings, self.vegetation
        if len(P):
            P["zone_id"] = _assign(P, Z)
        for T in (B, V):
            if len(T):
                T["parcel_id"] = _assign(T, P)
                T["zone_id"] = _assign(T, Z)
        self.touch()

    # -- graph navigation ----------------------------------------------------------------
    def node(self, node_id) -> pd.Series:
        """The row of any node (zone, parcel, building, vegetation, project,
        storey or element) with a ``node_type`` entry.

        Raises
        ------
        InputError
            When no node has this id.
        """
        for kind, table in self._tables.items():
            if node_id in table.index:
                s = table.loc[node_id].copy()
                s["node_type"] = kind[:-1] if kind != "vegetation" else "vegetation"
                return s
        if node_id in self.projects:
            bim = self.projects[node_id]
            return pd.Series(
                {
                    "node_type": "project",
                    "name": getattr(bim, "name", None),
                    "geometry": bim.footprint,
                    "base_z": bim.base_z,
                    "top_z": bim.top_z,
                },
                name=node_id,
            )
        for pid, bim in self.projects.items():
            for table, t in (("storeys", "storey"), ("elements", "element")):
                df = getattr(bim, table, None)
                if df is not None and len(df):
                    hit = _lookup(df, node_id)
                    if hit is not None:
                        s = hit.copy()
                        s["node_type"] = t
                        s["project_id"] = pid
                        return s
        raise InputError(f"no node with id {node_id!r} in this scene")

    def parent(self, node_id):
        """Id of the node's parent (building → parcel → zone), or None."""
        n = self.node(node_id)
        t = n["node_type"]
        if t in ("building", "vegetation"):
            return _none_if_na(n.get("parcel_id"))
        if t == "parcel":
            return _none_if_na(n.get("zone_id"))
        if t == "storey":
            return n["project_id"]
        if t == "element":
            return _none_if_na(n.get("storey")) or n["project_id"]
        if t == "project":
            b = self.buildings
            if node_id in b.index:
                return _none_if_na(b.loc[node_id, "parcel_id"])
        return None

    def children(self, node_id) -> list:
        """Ids of the node's children (zone → parcels, parcel → buildings,
        project → storeys, storey → elements)."""
        n = self.node(node_id)
        t = n["node_type"]
        if t == "zone":
            return self.parcels.index[self.parcels["zone_id"] == node_id].tolist()
        if t == "parcel":
            return self.buildings.index[self.buildings["parcel_id"] == node_id].tolist()
        if t in ("building", "project") and node_id in self.projects:
            st = getattr(self.projects[node_id], "storeys", None)
            if st is not None and len(st):
                return _ids(st)
            return []
        if t == "storey":
            el = self.projects[n["project_id"]].elements
            key = n.get("name", node_id)
            if el is not None and "storey" in el.columns:
                return _ids(el[el["storey"].isin([node_id, key])])
        return []

    # -- variants --------------------------------------------------------------------------
    def copy(self) -> Scene:
        """Independent copy (tables copied, terrain and BIM models shared read-only)."""
        new = copy.copy(self)
        new._tables = {k: v.copy() for k, v in self._tables.items()}
        new.layers = {k: v.copy() for k, v in self.layers.items()}
        new.rasters = dict(self.rasters)
        new.projects = dict(self.projects)
        new.meta = dict(self.meta)
        new._mesh_cache = {}
        return new

    def project_parcels(self, footprint, min_overlap: float = 1.0) -> list:
        """Ids of parcels a footprint stands on (overlap > ``min_overlap`` m²)."""
        P = self.parcels
        if not len(P):
            return []
        inter = shapely.area(shapely.intersection(P.geometry.values, footprint))
        return P.index[inter > min_overlap].tolist()

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
            The "after" scene; ``self`` is unchanged.
        """
        new = self.copy()
        new.add_bim(bim)
        parcels = (
            new.project_parcels(bim.footprint) if parcels is None else list(parcels)
        )
        B = new._tables["buildings"]
        gone = B["parcel_id"].isin(parcels) if len(B) else pd.Series([], dtype=bool)
        if len(B):
            gone |= (
                shapely.area(shapely.intersection(B.geometry.values, bim.footprint))
                > 1.0
            )
        if bim.id in B.index:
            gone |= B.index == bim.id
        new._tables["buildings"] = B[~gone.to_numpy()] if len(B) else B
        row = gpd.GeoDataFrame(
            {
                "height": [bim.top_z - bim.base_z],
                "ground_z": [bim.base_z],
                "roof_z": [bim.top_z],
                "storeys": [
                    int(len(bim.storeys))
                    if getattr(bim, "storeys", None) is not None and len(bim.storeys)
                    else np.nan
                ],
                "source": ["bim"],
                "lod": [3],
                "name": [getattr(bim, "name", None)],
            },
            geometry=[bim.footprint],
            crs=self.crs,
            index=pd.Index([bim.id], name="building_id"),
        )
        row = new._resolve_heights(row, STOREY_HEIGHT)
        row["height_source"] = "bim"
        row["ground_source"] = "bim"
        new._tables["buildings"] = _concat(new._tables["buildings"], row)
        new.meta["replaced_buildings"] = (
            B.index[gone.to_numpy()].tolist() if len(B) else []
        )
        new.meta["project_parcels"] = parcels
        new._link()
        return new

    def clip(self, area, cut: bool = False, margin: float = 0.0) -> Scene:
        """A new scene restricted to a polygon or a (minx, miny, maxx, maxy) box.

        Parameters
        ----------
        area : shapely geometry or 4-tuple [m, scene CRS]
        cut : bool
            False (default) keeps whole features that intersect ``area``; True
            cuts their geometries at its boundary.
        margin : float
            Terrain kept beyond the area's bounds [m].
        """
        if isinstance(area, tuple | list | np.ndarray) and len(area) == 4:
            area = shapely.box(*area)
        if not isinstance(area, shapely.Geometry) or area.is_empty:
            raise InputError(
                f"clip area must be a polygon or a (minx, miny, maxx, maxy) box; got {area!r}"
            )
        new = self.copy()

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
        minx, miny, maxx, maxy = area.bounds
        bb = (minx - margin, miny - margin, maxx + margin, maxy + margin)
        if self.terrain is not None:
            new.terrain = self.terrain.clip(bb)
        if self.dsm is not None:
            new.dsm = self.dsm.clip(bb)
        new.touch()
        return new

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

        Buildings are extruded from footprints (mansard/hip roofs where
        ``eave_z`` is known), buildings read from CityJSON keep their original
        LoD geometry, BIM projects contribute their own triangles, and the DEM
        becomes a terrain surface.

        Parameters
        ----------
        terrain : bool
            Include the terrain surface (kind ``terrain``).
        terrain_step : int, optional
            Keep every n-th DEM cell (default: about 200 vertices along the
            longer side, e.g. 2 m triangles on the 400 m sample).
        """
        key = ("mesh", terrain, terrain_step, self._version)
        if key in self._mesh_cache:
            return self._mesh_cache[key]
        B = self.buildings
        b = self.bounds
        origin = (
            np.array([np.floor(b[0]), np.floor(b[1]), 0.0])
            if np.isfinite(b[0])
            else np.zeros(3)
        )
        is_bim = (
            B.index.isin(list(self.projects)) & (B["source"] == "bim").to_numpy()
            if len(B)
            else np.zeros(0, bool)
        )
        # buildings read from CityJSON keep their original LoD geometry
        store = self.meta.get("cityjson")
        from_cj = (
            B.index.isin(list(store["objects"])) & ~is_bim
            if store and len(B)
            else np.zeros(len(B), bool)
        )
        parts = []
        if from_cj.any():
            from .io.cityjson import cityjson_mesh

            parts.append(cityjson_mesh(self, buildings=B.index[from_cj].tolist()))
        ext = B[~is_bim & ~from_cj]
        if len(ext):
            parts.append(
                extrude_buildings(
                    ext.geometry.values,
                    ext["ground_z"].to_numpy(float),
                    ext["roof_z"].to_numpy(float),
                    ext["eave_z"].to_numpy(float),
                    origin=origin,
                    building_ids=ext.index.to_numpy(),
                    crs=self.crs,
                )
            )
        for pid in B.index[is_bim]:
            parts.append(bim_citymesh(self.projects[pid], pid, origin, self.crs))
        if terrain and self.terrain is not None:
            step = terrain_step or max(1, int(np.ceil(max(self.terrain.shape) / 200)))
            parts.append(terrain_mesh(self.terrain, origin=origin, step=step))
        if not parts:
            return CityMesh(
                np.zeros((0, 3)),
                np.zeros((0, 3), np.int64),
                origin,
                np.zeros(0, np.int64),
                np.zeros(0, np.int8),
                np.zeros(0, object),
                self.crs,
            )
        mesh = CityMesh.concatenate(parts, origin=origin)
        mesh.crs = self.crs
        # keep building order = table order for face_building lookups
        self._mesh_cache[key] = mesh
        return mesh

    def sample(
        self, spacing: float = 1.0, kinds=("roof", "wall"), offset: float = 0.05
    ):
        """Sensors on the scene mesh (wall points inside adjoining buildings are
        dropped). See :meth:`CityMesh.sample`."""
        m = self.mesh(terrain="terrain" in kinds)
        B = self.buildings.reindex(m.building_ids)
        return m.sample(
            spacing,
            kinds,
            offset,
            drop_buried=True,
            footprints=B.geometry.values,
            tops=B["roof_z"].to_numpy(float),
        )

    # -- export ------------------------------------------------------------------------------
    def to_cityjson(self, path, **kw):
        """Write the scene as CityJSON 2.0 (see :func:`cimcity.io.cityjson.write_cityjson`)."""
        from .io.cityjson import write_cityjson

        return write_cityjson(self, path, **kw)

    # -- display -----------------------------------------------------------------------------
    def summary(self) -> dict:
        """Counts, extent and height statistics as a plain dict."""
        B = self.buildings
        b = self.bounds
        out = {
            "crs": self.crs.to_string(),
            "vertical_datum": self.vertical_datum,
            "zones": len(self.zones),
            "parcels": len(self.parcels),
            "buildings": len(B),
            "vegetation": len(self.vegetation),
            "layers": {k: len(v) for k, v in self.layers.items()},
            "projects": list(self.projects),
            "extent_m": (round(b[2] - b[0], 1), round(b[3] - b[1], 1))
            if np.isfinite(b[0])
            else None,
            "terrain": repr(self.terrain) if self.terrain is not None else None,
            "rules": getattr(self.rules, "name", None)
            if self.rules is not None
            else None,
        }
        if len(B):
            h = B["height"]
            out.update(
                height_min=round(float(h.min()), 2),
                height_mean=round(float(h.mean()), 2),
                height_max=round(float(h.max()), 2),
                footprint_area_m2=round(float(B.geometry.area.sum()), 1),
                height_sources=B["height_source"].value_counts().to_dict(),
            )
        return out

    def __repr__(self) -> str:
        s = self.summary()
        name = f" {self.name!r}" if self.name else ""
        h = (
            f", heights {s['height_min']}–{s['height_max']} m"
            if "height_min" in s
            else ""
        )
        return (
            f"<Scene{name} {s['crs']}: {s['zones']} zones, {s['parcels']} parcels, "
            f"{s['buildings']} buildings{h}, {s['vegetation']} vegetation, "
            f"{len(self.layers)} layers, terrain={'yes' if self.terrain is not None else 'no'}, "
            f"projects={s['projects']}>"
        )

    def _repr_html_(self) -> str:
        s = self.summary()
        rows = []
        for k in (
            "crs",
            "vertical_datum",
            "zones",
            "parcels",
            "buildings",
            "vegetation",
            "extent_m",
            "height_min",
            "height_mean",
            "height_max",
            "footprint_area_m2",
            "height_sources",
            "layers",
            "projects",
            "terrain",
            "rules",
        ):
            if k in s and s[k] not in (None, {}, []):
                rows.append(
                    f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                    f"<td style='text-align:left'>{html.escape(str(s[k]))}</td></tr>"
                )
        title = html.escape(self.name or "Scene")
        return f"<div><b>cimcity.Scene</b> {title}<table>{''.join(rows)}</table></div>"


def bim_citymesh(bim, building_id, origin, crs) -> CityMesh:
    """A BIM project's triangles as a CityMesh with surface kinds.

    Uses ``bim.mesh`` (a trimesh in scene coordinates). Kinds come from
    ``bim.face_kind`` when the model provides it; otherwise from normals:
    upward faces (n_z > 0.5) are roofs, downward ones (n_z < -0.5) the base,
    the rest walls.
    """
    tm = bim.mesh
    v = np.asarray(tm.vertices, float) - origin
    f = np.asarray(tm.faces, np.int64)
    kinds = getattr(bim, "face_kind", None)
    if kinds is None:
        n = np.asarray(tm.face_normals)
        kinds = np.full(len(f), KIND_CODES["wall"], np.int8)
        kinds[n[:, 2] > 0.5] = KIND_CODES["roof"]
        kinds[n[:, 2] < -0.5] = KIND_CODES["ground"]
    return CityMesh(
        v,
        f,
        origin,
        np.zeros(len(f), np.int64),
        kinds,
        np.array([building_id], object),
        crs,
    )


def _assign(child: gpd.GeoDataFrame, parent: gpd.GeoDataFrame) -> np.ndarray:
    """Parent id of each child polygon: the parent with the largest overlap."""
    out = np.full(len(child), None, dtype=object)
    if not len(parent) or not len(child):
        return out
    cg = child.geometry.values
    pg = parent.geometry.values
    tree = shapely.STRtree(pg)
    ci, pi = tree.query(cg, predicate="intersects")
    if not len(ci):
        return out
    area = shapely.area(shapely.intersection(cg[ci], pg[pi]))
    ok = area > 0
    ci, pi, area = ci[ok], pi[ok], area[ok]
    order = np.lexsort((-area, ci))
    ci, pi = ci[order], pi[order]
    first = np.r_[True, ci[1:] != ci[:-1]]
    out[ci[first]] = parent.index.to_numpy()[pi[first]]
    return out


def _concat(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not len(a):
        return b
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        out = pd.concat([a, b])
    return gpd.GeoDataFrame(out, geometry="geometry", crs=a.crs)


def _lookup(df, node_id):
    if node_id in df.index:
        return df.loc[node_id]
    for c in ("global_id", "name"):
        if c in df.columns:
            hit = df[df[c] == node_id]
            if len(hit):
                return hit.iloc[0]
    return None


def _ids(df) -> list:
    if "global_id" in df.columns:
        return df["global_id"].tolist()
    if "name" in df.columns:
        return df["name"].tolist()
    return df.index.tolist()


def _none_if_na(v):
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else v
