"""Benchmark: cimcity.vegetation.ratios (vector path) against a plain
geopandas.overlay + groupby reference on the same synthetic city.

Synthetic city: a grid of rectangular parcels (20-30 m × 25-35 m) with one
building on the street front of each (some spanning two parcels, some with a
green roof), a back-garden lawn on most, tree crowns (16-gon circles, 2-5 m
radius) in gardens and along streets overlapping each other, lawns and
buildings, and a few permeable-paving patches.

The reference computes the same quantities the way a geopandas user would:
merge each class with ``dissolve``, apply the precedence with
``overlay(how="difference")``, clip to parcels with ``overlay(how="intersection")``
and sum areas with ``groupby``. Both must give the same numbers (max abs diff
printed), then the time ratio.

cimcity is timed ``--repeat`` times per size (min and median wall time
reported: other processes may load the machine), the reference once.

Run:  python benchmarks/bench_vegetation.py [--sizes 10000 100000] [--threads 2]
      [--repeat 3] [--no-reference-above 10000]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

X0, Y0 = 600_000.0, 6_800_000.0


def synthetic_city(n_parcels: int, seed: int = 0):
    """(parcels, buildings, vegetation) GeoDataFrames in EPSG:2154."""
    rng = np.random.default_rng(seed)
    nx = int(np.ceil(np.sqrt(n_parcels)))
    ny = int(np.ceil(n_parcels / nx))
    w = rng.uniform(20, 30, nx)
    d = rng.uniform(25, 35, ny)
    xs = X0 + np.r_[0, np.cumsum(w)]
    ys = Y0 + np.r_[0, np.cumsum(d)]
    i = np.arange(n_parcels)
    cx, cy = i % nx, i // nx
    x0, x1, y0, y1 = xs[cx], xs[cx + 1], ys[cy], ys[cy + 1]
    parcels = gpd.GeoDataFrame(
        {"parcel_id": [f"P{k:07d}" for k in i]},
        geometry=shapely.box(x0, y0, x1, y1),
        crs="EPSG:2154",
    )
    # buildings on the street front (y0 edge, coincident with the parcel edge)
    bw = (x1 - x0) * rng.uniform(0.6, 1.0, n_parcels)
    bd = (y1 - y0) * rng.uniform(0.3, 0.6, n_parcels)
    bx = x0 + rng.uniform(0, 1, n_parcels) * ((x1 - x0) - bw)
    span = rng.random(n_parcels) < 0.1  # 10 % reach into the next parcel
    bx1 = np.where(span, bx + bw + 8.0, bx + bw)
    gr = rng.random(n_parcels) < 0.1
    buildings = gpd.GeoDataFrame(
        {
            "height": rng.uniform(6, 30, n_parcels),
            "green_roof": gr,
            "green_roof_substrate_m": np.where(
                gr, rng.choice([0.15, 0.3, 1.0], n_parcels), 0.0
            ),
        },
        geometry=shapely.box(bx, y0, bx1, y0 + bd),
        crs="EPSG:2154",
    )
    # back-garden lawns (overlapping the building a little on 20 %)
    has = rng.random(n_parcels) < 0.8
    ly0 = y0 + bd - np.where(rng.random(n_parcels) < 0.2, 2.0, -1.0)
    lawns = shapely.box(x0 + 1, ly0, x1 - 1, y1 - 1)[has]
    # trees: 2 per parcel on average, in gardens and on the street edge
    nt = 2 * n_parcels
    k = rng.integers(0, n_parcels, nt)
    tx = x0[k] + rng.uniform(0, 1, nt) * (x1 - x0)[k]
    ty = np.where(
        rng.random(nt) < 0.3,
        y0[k] - 2.0,
        y0[k] + rng.uniform(0.3, 1, nt) * (y1 - y0)[k],
    )
    trees = shapely.buffer(shapely.points(tx, ty), rng.uniform(2, 5, nt), quad_segs=4)
    # permeable paving patches on 10 %
    pv = rng.random(n_parcels) < 0.1
    paving = shapely.box(x1 - 8, y1 - 6, x1 - 1, y1 - 1)[pv]
    vegetation = gpd.GeoDataFrame(
        {
            "kind": ["lawn"] * len(lawns)
            + ["tree"] * nt
            + ["permeable_paving"] * len(paving)
        },
        geometry=np.concatenate([lawns, trees, paving]),
        crs="EPSG:2154",
    )
    return parcels, buildings, vegetation


def reference(parcels, buildings, vegetation) -> pd.DataFrame:
    """The same areas with geopandas.overlay + groupby."""
    crs = parcels.crs

    def merged(gdf):
        if not len(gdf):
            return gpd.GeoDataFrame(geometry=[], crs=crs)
        return (
            gdf[["geometry"]]
            .dissolve()
            .explode(index_parts=False)
            .reset_index(drop=True)
        )

    def minus(a, b):
        if not len(a) or not len(b):
            return a
        return gpd.overlay(a, b, how="difference", keep_geom_type=True)

    def per_parcel(layer, name):
        if not len(layer):
            return pd.Series(0.0, index=parcels["parcel_id"], name=name)
        x = gpd.overlay(
            parcels[["parcel_id", "geometry"]],
            layer,
            how="intersection",
            keep_geom_type=True,
        )
        s = x.geometry.area.groupby(x["parcel_id"]).sum()
        return s.reindex(parcels["parcel_id"], fill_value=0.0).rename(name)

    B = merged(buildings)
    C = merged(vegetation[vegetation["kind"] == "tree"])
    G = merged(vegetation[vegetation["kind"] == "lawn"])
    P = merged(vegetation[vegetation["kind"] == "permeable_paving"])
    R = merged(buildings[buildings["green_roof"]])
    canopy = minus(C, B)
    pleine_terre = minus(G, B)
    low = minus(pleine_terre, C)
    permeable = minus(minus(P, B), G)
    roof = gpd.overlay(R, B, how="intersection", keep_geom_type=True) if len(R) else R
    return pd.concat(
        [
            per_parcel(B, "built_area"),
            per_parcel(canopy, "canopy_area"),
            per_parcel(pleine_terre, "pleine_terre_area"),
            per_parcel(low, "low_vegetation_area"),
            per_parcel(permeable, "permeable_paving_area"),
            per_parcel(roof, "green_roof_area"),
        ],
        axis=1,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3, help="timed cimcity runs per size")
    ap.add_argument(
        "--no-reference-above",
        type=int,
        default=10**9,
        help="skip the geopandas reference for sizes above this",
    )
    args = ap.parse_args()
    import cimcity as cc
    from cimcity import vegetation as veg

    warnings.simplefilter("ignore")
    # JIT compilation (or cache load) out of the timed part
    p, b, v = synthetic_city(50, seed=1)
    s = cc.Scene()
    s.add_parcels(p, id_column="parcel_id")
    s.add_buildings(b)
    s.add_vegetation(v)
    veg.ratios(s, threads=args.threads)

    cols = [
        "built_area",
        "canopy_area",
        "pleine_terre_area",
        "low_vegetation_area",
        "permeable_paving_area",
        "green_roof_area",
    ]
    rows = []
    print(
        f"cpus: {os.cpu_count()}, threads: {args.threads or 'auto'}, load average "
        f"at start: {os.getloadavg()[0]:.1f}"
    )
    for n in args.sizes:
        p, b, v = synthetic_city(n)
        scene = cc.Scene()
        scene.add_parcels(p, id_column="parcel_id")
        scene.add_buildings(b)
        scene.add_vegetation(v)
        walls, cpus = [], []
        for _ in range(max(1, args.repeat)):
            t = time.perf_counter()
            c = time.process_time()
            res = veg.ratios(scene, threads=args.threads)
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        t_cc = min(walls)
        row = {
            "parcels": n,
            "buildings": len(b),
            "vegetation": len(v),
            "cimcity_min_s": t_cc,
            "cimcity_median_s": float(np.median(walls)),
            "cimcity_cpu_s": cpus[int(np.argmin(walls))],
            "parcels_per_s": n / t_cc,
        }
        if n <= args.no_reference_above:
            t = time.perf_counter()
            c = time.process_time()
            ref = reference(p, b, v)
            t_ref = time.perf_counter() - t
            row["overlay_cpu_s"] = time.process_time() - c
            mine = res.units[cols].reindex(ref.index)
            diff = float(np.nanmax(np.abs(mine.to_numpy() - ref[cols].to_numpy())))
            row.update(overlay_s=t_ref, speedup=t_ref / t_cc, max_abs_diff_m2=diff)
        rows.append(row)
        print(
            pd.DataFrame([row]).to_string(
                index=False, float_format=lambda x: f"{x:,.3g}"
            ),
            flush=True,
        )
    tab = pd.DataFrame(rows)
    if len(tab) > 1:
        tab["scaling_vs_first"] = (
            tab["cimcity_min_s"]
            / tab["cimcity_min_s"].iloc[0]
            / (tab["parcels"] / tab["parcels"].iloc[0])
        )
    print()
    print(tab.to_string(index=False, float_format=lambda x: f"{x:,.3g}"))
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
