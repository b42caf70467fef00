"""A synthetic city of any size, to the statistics of a real one (benchmarks).

The layout is Paris-like: square blocks separated by streets, each block lined
with buildings along its four sides (a perimeter block around a courtyard),
frontages and heights drawn from the empirical distributions of a real
district (e.g. the BDNB buildings of Paris 11e: footprint areas and
``hauteur``), a 1 m DEM of a river valley (the river channel at
:data:`RIVER_Z`, banks rising away from it, smooth relief) and the river's
polygon (the flood source). Generated tile by tile with per-tile seeds, so a
whole-Paris city (about 100,000 buildings, 105 km²) is written in bounded
memory and the same tile gives the same buildings at any city size.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: bottom of the river channel and the normal water altitude [m NGF]
RIVER_Z, RIVER_WATER = 24.0, 27.0
#: river width [m]
RIVER_WIDTH = 150.0
#: block side and street width [m]
BLOCK, STREET = 110.0, 16.0
#: building depth from the street [m]
DEPTH = 14.0
#: the city's south-west corner (Lambert-93, around Paris) [m]
ORIGIN = (640_000.0, 6_855_000.0)


def real_statistics(path) -> dict:
    """Footprint areas [m²] and heights [m] of a real buildings file (BDNB
    ``hauteur``, or ``height``), for :func:`buildings`."""
    g = gpd.read_file(path).to_crs(2154)
    col = "hauteur" if "hauteur" in g.columns else "height"
    h = pd.to_numeric(g[col], errors="coerce").to_numpy(float)
    a = g.area.to_numpy(float)
    return dict(areas=a[np.isfinite(a) & (a > 10)], heights=h[np.isfinite(h) & (h > 2)])


def river_y(x, size_m):
    """Centre line of the river (a meander across the city) [m, local frame]."""
    return 0.45 * size_m + 0.12 * size_m * np.sin(2 * np.pi * x / max(size_m, 1.0))


def ground(x, y, size_m):
    """Terrain altitude [m] at local coordinates: the valley floor rising away
    from the river at 0.6 %, smooth relief of a few metres, and the channel."""
    d = np.abs(y - river_y(x, size_m))
    z = RIVER_WATER + 3.0 + 0.006 * d + 2.0 * np.sin(x / 370.0) * np.cos(y / 290.0)
    return np.where(d < RIVER_WIDTH / 2, RIVER_Z, z)


def buildings(size_m: float, stats: dict, seed: int = 0, origin=ORIGIN) -> gpd.GeoDataFrame:
    """Footprints of a ``size_m`` × ``size_m`` city [m].

    Returns
    -------
    GeoDataFrame
        ``building_id``, ``height`` [m], ``ground_z`` [m], ``storeys``,
        footprints (EPSG:2154).
    """
    pitch = BLOCK + STREET
    n = int(math.ceil(size_m / pitch))
    widths_ref = np.sqrt(stats["areas"])
    rows = []
    for i in range(n):
        for j in range(n):
            rng = np.random.default_rng([seed, i, j])
            x0, y0 = i * pitch + STREET / 2, j * pitch + STREET / 2
            if x0 + BLOCK > size_m or y0 + BLOCK > size_m:
                continue
            cy = y0 + BLOCK / 2
            if abs(cy - river_y(x0 + BLOCK / 2, size_m)) < RIVER_WIDTH / 2 + BLOCK / 2:
                continue  # the river and its quays
            if rng.random() < 0.06:
                continue  # a park
            rows += _block(x0, y0, rng, widths_ref, stats["heights"], f"{i:03d}{j:03d}")
    if not rows:
        raise ValueError(f"a {size_m:g} m city holds no whole block: make it larger")
    g = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:2154")
    c = shapely.centroid(g.geometry.values)
    g["ground_z"] = np.round(ground(shapely.get_x(c), shapely.get_y(c), size_m), 2)
    g["storeys"] = np.maximum(1, np.round(g["height"] / 3.0)).astype(int)
    g = g.set_geometry(shapely.transform(g.geometry.values, lambda p: p + np.asarray(origin)))
    return g


def _block(x0, y0, rng, widths, heights, key):
    """Perimeter buildings of one block: frontages along each side."""
    out = []
    sides = [
        (x0, y0, 1, 0), (x0 + BLOCK, y0, 0, 1), (x0 + BLOCK, y0 + BLOCK, -1, 0),
        (x0, y0 + BLOCK, 0, -1),
    ]
    k = 0
    for sx, sy, ux, uy in sides:
        # inward normal (rotate the side direction by +90°)
        nx, ny = -uy, ux
        t = DEPTH  # the corner square belongs to the previous side's last building
        while t < BLOCK - 2:
            w = float(np.clip(rng.choice(widths) * rng.uniform(0.8, 1.2), 6.0, 40.0))
            w = min(w, BLOCK - t)
            if BLOCK - t - w < 6.0:
                w = BLOCK - t
            d = DEPTH * rng.uniform(0.8, 1.25)
            if t + w > BLOCK - 1.25 * DEPTH:  # near the corner: the next side
                d = DEPTH  # starts DEPTH in, and its buildings reach 1.25 DEPTH deep
            a = (sx + ux * t, sy + uy * t)
            b = (sx + ux * (t + w), sy + uy * (t + w))
            poly = shapely.Polygon([a, b, (b[0] + nx * d, b[1] + ny * d),
                                    (a[0] + nx * d, a[1] + ny * d)])
            out.append(dict(building_id=f"S{key}{k:03d}", height=float(rng.choice(heights)),
                            geometry=shapely.normalize(poly)))
            k += 1
            t += w
    return out


def write(folder, size_km: float, stats: dict, seed: int = 0, resolution: float = 1.0,
          chunk: int = 2048) -> dict:
    """Write a city of ``size_km`` × ``size_km`` to ``folder``.

    Files: ``buildings.parquet`` (GeoParquet with bbox covering, row groups
    of 2,000), ``dem.tif`` (tiled, deflate, float32, written by blocks so
    memory stays flat), ``river.gpkg``.

    Returns
    -------
    dict
        Paths and counts.
    """
    import rasterio
    from rasterio.windows import Window

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    size = size_km * 1000.0
    B = buildings(size, stats, seed)
    B = B.iloc[np.lexsort((shapely.get_y(shapely.centroid(B.geometry.values)) // 500,
                           shapely.get_x(shapely.centroid(B.geometry.values)) // 500))]
    B.to_parquet(folder / "buildings.parquet", write_covering_bbox=True, row_group_size=2000)
    n = int(round(size / resolution))
    t = rasterio.transform.from_origin(ORIGIN[0], ORIGIN[1] + size, resolution, resolution)
    prof = dict(driver="GTiff", height=n, width=n, count=1, dtype="float32", crs="EPSG:2154",
                transform=t, tiled=True, blockxsize=512, blockysize=512, compress="deflate")
    with rasterio.open(folder / "dem.tif", "w", **prof) as ds:
        for r0 in range(0, n, chunk):
            for c0 in range(0, n, chunk):
                h, w = min(chunk, n - r0), min(chunk, n - c0)
                x = (np.arange(c0, c0 + w) + 0.5) * resolution
                y = size - (np.arange(r0, r0 + h) + 0.5) * resolution
                X, Y = np.meshgrid(x, y)
                ds.write(ground(X, Y, size).astype(np.float32), 1, window=Window(c0, r0, w, h))
    xs = np.linspace(0, size, 200)
    line = shapely.LineString(np.c_[xs + ORIGIN[0], river_y(xs, size) + ORIGIN[1]])
    gpd.GeoDataFrame(geometry=[line.buffer(RIVER_WIDTH / 4)], crs="EPSG:2154").to_file(
        folder / "river.gpkg")
    return dict(buildings=folder / "buildings.parquet", dem=folder / "dem.tif",
                river=folder / "river.gpkg", n_buildings=len(B), size_km=size_km)
