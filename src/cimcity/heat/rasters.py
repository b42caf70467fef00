"""The 2.5D raster scene of the raster path: DSM, DEM, canopy heights, land cover.

:class:`HeatGrid` holds the four grids on one north-up grid, as UMEP/SOLWEIG
takes them: the DSM (ground and buildings, no trees) [m], the DEM (ground)
[m], the CDSM (canopy height above ground, 0 where no tree) [m] and the UMEP
land-cover codes. :func:`heat_grid` reads them from GeoTIFF paths,
:class:`~cimcity.terrain.Terrain` objects or ``(array, transform, crs)`` tuples
and refuses grids that do not line up; :func:`scene_grid` builds one from a
Scene (its DSM and terrain, or its buildings burnt at their roof height).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from affine import Affine
from pyproj import CRS

from ..errors import CRSError, DataQualityWarning, InputError
from ..sun.occluders import TREE_KINDS
from ..terrain import Terrain
from .surfaces import LAND_COVER, PAVED

__all__ = ["HeatGrid", "heat_grid", "scene_grid", "BUILT_MIN"]

#: a cell whose DSM exceeds the DEM by more than this is a building [m]
BUILT_MIN = 1.0


@dataclass(eq=False)
class HeatGrid:
    """DSM, DEM, canopy heights and land cover on one grid.

    Attributes
    ----------
    dsm, dem, cdsm : (R, C) float64
        Surface with buildings, ground [m], canopy height above ground [m].
    landcover : (R, C) int8
        UMEP codes (0..7).
    transform : affine.Affine
        North-up pixel → CRS transform.
    crs : pyproj.CRS
    roof_albedo : (R, C) float64 or None
        Albedo of the roof on building cells [-]; NaN (or None for the whole
        grid): the buildings class default (0.18).
    """

    dsm: np.ndarray
    dem: np.ndarray
    cdsm: np.ndarray
    landcover: np.ndarray
    transform: Affine
    crs: object
    roof_albedo: np.ndarray = None

    @property
    def shape(self) -> tuple:
        return self.dsm.shape

    @property
    def cell(self) -> float:
        """Pixel size [m]."""
        return float(self.transform.a)

    @property
    def zmax(self) -> float:
        """Highest surface or canopy top [m]."""
        return float(max(self.dsm.max(), (self.dem + self.cdsm).max()))

    @property
    def built(self) -> np.ndarray:
        """(R, C) bool: building cells."""
        return (self.dsm - self.dem > BUILT_MIN) | (self.landcover == 2)

    def to_pixels(self, x, y):
        """Fractional pixel positions (col, row) of CRS points."""
        return apply(~self.transform, x, y)

    def to_xy(self, col, row):
        """CRS coordinates of fractional pixel positions."""
        return apply(self.transform, col, row)


def apply(t, u, v):
    """An affine transform applied to arrays: ``(a u + b v + c, d u + e v + f)``."""
    u = np.asarray(u, float)
    v = np.asarray(v, float)
    return t.a * u + t.b * v + t.c, t.d * u + t.e * v + t.f


def _read(src, what):
    """(array float64, transform, crs) of one raster input."""
    if src is None:
        return None
    if isinstance(src, Terrain):
        return np.asarray(src.elevation, float), src.transform, src.crs
    if isinstance(src, tuple) and len(src) == 3:
        a, t, c = src
        t = t if isinstance(t, Affine) else Affine(*tuple(t)[:6])
        return np.asarray(a, float).copy(), t, CRS.from_user_input(c) if c is not None else None
    import rasterio

    try:
        with rasterio.open(src) as ds:
            a = ds.read(1).astype(float)
            if ds.nodata is not None:
                a[a == ds.nodata] = np.nan
            return a, ds.transform, ds.crs and CRS.from_user_input(ds.crs.to_wkt())
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"cannot read the {what} raster {str(src)!r}: {exc}") from exc


def _is_code(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def heat_grid(dsm, *, dem=None, cdsm=None, landcover=None, crs=None,
              roof_albedo=None) -> HeatGrid:
    """A :class:`HeatGrid` from raster inputs on one grid.

    Parameters
    ----------
    dsm : path, Terrain or (array, transform, crs)
        Ground and buildings [m] (no trees). Nodata cells are taken as ground
        at the DSM's lowest value, with a DataQualityWarning giving their count.
    dem : same, optional
        Ground [m]. None: the DSM's lowest value everywhere (flat ground; a
        DataQualityWarning says so).
    cdsm : same, optional
        Canopy height above ground [m]; NaN and negative values are no tree.
        None: no trees.
    landcover : same or int, optional
        UMEP codes (0..7); an int for everywhere; None: paved (code 1)
        everywhere except buildings, with a DataQualityWarning. Nodata cells
        (NaN, the file's nodata value) are paved too, with a
        DataQualityWarning giving their count.
    crs : optional
        CRS when the inputs carry none.
    roof_albedo : float or same as ``dsm``, optional
        Roof albedo [-]: one value for every roof, or a raster on the DSM grid
        (NaN: the default 0.18 of the buildings class). None: the default.

    Raises
    ------
    InputError
        Grids of different shapes or transforms, a rotated grid, non-square
        pixels, unknown land-cover codes.
    CRSError
        No CRS, or grids in different CRSs.
    """
    a, t, c = _read(dsm, "DSM")
    c = c or (CRS.from_user_input(crs) if crs is not None else None)
    if c is None:
        raise CRSError("the DSM has no CRS; give crs= (a projected CRS in metres)")
    if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
        raise InputError(f"the DSM grid must be north-up without rotation; got {tuple(t)[:6]}")
    if not np.isclose(t.a, -t.e, rtol=1e-6):
        raise InputError(
            f"the DSM pixels must be square; got {t.a:g} x {-t.e:g} m: resample it"
        )
    if not np.isfinite(a).any():
        raise InputError("the DSM holds only nodata")
    grids = {}
    ralb = roof_albedo
    if isinstance(ralb, (int, float, np.number)):
        # one albedo for every roof: no raster to read (a path, a dataset or
        # an (array, transform[, crs]) tuple is read below)
        ralb = None
    for name, src in (("DEM", dem), ("CDSM", cdsm), ("land cover", landcover),
                      ("roof albedo", ralb)):
        if src is None or (name == "land cover" and _is_code(src)):
            continue
        b, tb, cb = _read(src, name)
        if b.shape != a.shape or not np.allclose(tuple(tb)[:6], tuple(t)[:6]):
            raise InputError(
                f"the {name} grid ({b.shape[0]}x{b.shape[1]} at {tuple(tb)[:6]}) does "
                f"not line up with the DSM ({a.shape[0]}x{a.shape[1]} at "
                f"{tuple(t)[:6]}); resample it onto the DSM grid"
            )
        if cb is not None and not CRS.from_user_input(cb).equals(c):
            raise CRSError(
                f"the {name} is in {CRS.from_user_input(cb).name}, the DSM in "
                f"{c.name}; reproject it"
            )
        grids[name] = b
    fill = float(np.nanmin(a))
    holes = ~np.isfinite(a)
    if holes.any():
        warnings.warn(
            f"the DSM has {int(holes.sum())} nodata cells "
            f"({100 * holes.mean():.1f} % of the grid): they are taken as ground at "
            f"its lowest value ({fill:.2f} m), so a building or wall missing there "
            f"casts no shade; fill the holes (gdal_fillnodata) for a faithful map",
            DataQualityWarning,
            stacklevel=3,
        )
    a = np.where(holes, fill, a)
    if "DEM" in grids:
        g = grids["DEM"]
        g = np.where(np.isfinite(g), g, a)
        if (g - a > 0.5).sum() > 0.01 * g.size:
            raise InputError(
                f"the DEM is above the DSM on {int((g - a > 0.5).sum())} cells by "
                f"more than 0.5 m: are the DSM and DEM swapped, or in different "
                f"vertical frames?"
            )
        g = np.minimum(g, a)
    else:
        warnings.warn(
            "no DEM given: the ground is taken flat at the DSM's lowest value "
            f"({fill:.2f} m); every raised cell reads as a building",
            DataQualityWarning,
            stacklevel=3,
        )
        g = np.full_like(a, fill)
    v = grids.get("CDSM")
    if v is None:
        v = np.zeros_like(a)
    else:
        v = np.where(np.isfinite(v) & (v > 0), v, 0.0)
        if v.max() > 150:
            raise InputError(
                f"the CDSM holds canopy heights up to {v.max():.1f} m: it must be "
                f"the height above ground, not an absolute elevation (subtract the DEM)"
            )
    if landcover is None:
        warnings.warn(
            "no land cover given: the ground is taken as paved (UMEP code 1: "
            "albedo 0.18, emissivity 0.95) everywhere outside buildings",
            DataQualityWarning,
            stacklevel=3,
        )
        lc = np.full(a.shape, PAVED, np.int8)
    elif _is_code(landcover):
        lc = np.full(a.shape, int(landcover), np.int8)
    else:
        raw = grids["land cover"]
        holes = ~np.isfinite(raw)
        if holes.any():
            warnings.warn(
                f"the land cover has {int(holes.sum())} nodata cells "
                f"({100 * holes.mean():.1f} % of the grid): they are taken as paved "
                f"(UMEP code 1: albedo 0.18, emissivity 0.95)",
                DataQualityWarning,
                stacklevel=3,
            )
        raw = np.where(holes, PAVED, raw)
        lc = raw.astype(np.int64)
    bad = ~np.isin(lc, LAND_COVER.index.to_numpy())
    if bad.any():
        raise InputError(
            f"land cover holds {int(bad.sum())} cells of unknown codes "
            f"{sorted(set(np.unique(lc[bad]).tolist()))[:5]}; expected UMEP codes "
            f"{list(LAND_COVER.index)}"
        )
    lc = lc.astype(np.int8)
    built = a - g > BUILT_MIN
    lc = np.where(built, 2, np.where(lc == 2, PAVED, lc)).astype(np.int8)
    if roof_albedo is None:
        ra = None
    elif "roof albedo" in grids:
        ra = np.asarray(grids["roof albedo"], float)
    else:
        ra = np.full(a.shape, float(roof_albedo))
    if ra is not None:
        known = np.isfinite(ra)
        if ((ra[known] < 0) | (ra[known] > 1)).any():
            raise InputError(
                f"roof_albedo holds values outside 0..1 (max {np.nanmax(ra):g}, "
                f"min {np.nanmin(ra):g}); albedo is a share of the sunlight"
            )
        ra = np.where(built, ra, np.nan)
    return HeatGrid(a, g, v, lc, t, c, ra)


def scene_grid(scene, *, cell=1.0, area=None, landcover=None) -> HeatGrid:
    """A :class:`HeatGrid` from a Scene.

    The scene's DSM (``scene.dsm``) and DEM (``scene.terrain``) when it has a
    DSM; otherwise its buildings burnt at their roof height (``roof_z``, else
    ``ground_z + height``) on a ``cell`` grid over ``area`` (default: the
    buildings' bounds plus 30 m, kept on the DEM) above the terrain (or the
    buildings' lowest ground). Canopy heights: tree polygons of the
    vegetation layer burnt at their ``height`` and ``scene.rasters["cdsm"]``
    resampled on the grid (the higher of both); land cover from ``landcover``
    or ``scene.rasters["landcover"]``; roof albedos from the buildings'
    ``roof_albedo`` column (NaN: the default).
    """
    from rasterio.enums import Resampling
    from rasterio.features import rasterize
    from rasterio.warp import reproject

    b = scene.buildings
    if area is not None:
        x0, y0, x1, y1 = area.bounds if hasattr(area, "bounds") else area
    elif scene.dsm is not None:
        x0, y0, x1, y1 = scene.dsm.bounds if hasattr(scene.dsm, "bounds") else (None,) * 4
    elif len(b):
        x0, y0, x1, y1 = b.total_bounds
        x0, y0, x1, y1 = x0 - 30, y0 - 30, x1 + 30, y1 + 30
        if scene.terrain is not None:
            # the default area stays on the DEM (no invented ground)
            tx0, ty0, tx1, ty1 = scene.terrain.bounds
            x0, y0, x1, y1 = max(x0, tx0), max(y0, ty0), min(x1, tx1), min(y1, ty1)
    else:
        raise InputError(
            "the scene has no buildings and no DSM: give points= or area= for "
            "the heat grid"
        )
    cols = max(int(np.ceil((x1 - x0) / cell)), 2)
    rows = max(int(np.ceil((y1 - y0) / cell)), 2)
    t = Affine(cell, 0, x0, 0, -cell, y0 + rows * cell)

    def onto(arr, tr, crs, how):
        out = np.full((rows, cols), np.nan)
        reproject(arr.astype(float), out, src_transform=tr, src_crs=crs,
                  dst_transform=t, dst_crs=scene.crs, resampling=how,
                  src_nodata=np.nan, dst_nodata=np.nan)
        return out

    if scene.terrain is not None:
        dem = onto(scene.terrain.elevation, scene.terrain.transform,
                   scene.terrain.crs, Resampling.bilinear)
        off = ~np.isfinite(dem)
        if off.all():
            raise InputError("the heat grid area lies entirely off the scene's DEM")
        if off.any():
            raise InputError(
                f"{int(off.sum())} cells of the heat grid ({rows}x{cols} at {cell:g} m) "
                f"lie off the scene's DEM; give an area= inside the DEM "
                f"(bounds {tuple(round(v, 1) for v in scene.terrain.bounds)})"
            )
    else:
        z0 = float(b["ground_z"].min()) if len(b) and "ground_z" in b else 0.0
        dem = np.full((rows, cols), z0)
    if scene.dsm is not None and area is None:
        dsm = onto(scene.dsm.elevation, scene.dsm.transform, scene.dsm.crs,
                   Resampling.bilinear)
        dsm = np.where(np.isfinite(dsm), dsm, dem)
    else:
        dsm = dem.copy()
        if len(b):
            top = b["roof_z"] if "roof_z" in b else b["ground_z"] + b["height"]
            shapes = [(g, float(z)) for g, z in zip(b.geometry, top) if np.isfinite(z)]
            burnt = rasterize(shapes, out_shape=(rows, cols), transform=t,
                              fill=np.nan, dtype="float64") if shapes else None
            if burnt is not None:
                dsm = np.where(np.isfinite(burnt), np.maximum(burnt, dem), dem)
    cdsm = np.zeros((rows, cols))
    v = scene.vegetation
    if len(v) and "height" in v.columns:
        trees = v[v["kind"].isin(TREE_KINDS) & np.isfinite(v["height"].astype(float))
                  & (v["height"].astype(float) > 0)]
        shapes = [(g, float(h)) for g, h in zip(trees.geometry, trees["height"])]
        if shapes:
            burnt = rasterize(shapes, out_shape=(rows, cols), transform=t, fill=0.0,
                              dtype="float64")
            cdsm = np.maximum(cdsm, burnt)
    if "cdsm" in scene.rasters:
        a, tr, crs = scene.rasters["cdsm"]
        v = onto(np.asarray(a, float), tr, crs, Resampling.bilinear)
        cdsm = np.maximum(cdsm, np.where(np.isfinite(v) & (v > 0), v, 0.0))
    ralb = None
    if len(b) and "roof_albedo" in b.columns:
        alb = b["roof_albedo"].astype(float)
        shapes = [(g, float(a)) for g, a in zip(b.geometry, alb) if np.isfinite(a)]
        if shapes:
            ralb = (rasterize(shapes, out_shape=(rows, cols), transform=t,
                              fill=np.nan, dtype="float64"), t, scene.crs)
    lc = landcover
    if lc is None and "landcover" in scene.rasters:
        a, tr, crs = scene.rasters["landcover"]
        lc = (onto(np.asarray(a, float), tr, crs, Resampling.nearest), t, scene.crs)
    elif lc is not None and not _is_code(lc):
        a, tr, crs = _read(lc, "land cover")
        lc = (onto(a, tr, crs, Resampling.nearest), t, scene.crs)
    return heat_grid((dsm, t, scene.crs), dem=(dem, t, scene.crs),
                     cdsm=(cdsm, t, scene.crs), landcover=lc, roof_albedo=ralb)
