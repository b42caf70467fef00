"""Benchmark of cimcity.shadow against pybdshadow, and of sun-hours.

Run: ``python benchmarks/bench_shadow.py [--peer-max N] [--skip-sunhours]``

1. Ground shadow polygons of 1k, 10k, 100k synthetic buildings (a mix of
   rectangles, L shapes, courtyard blocks and U shapes, random orientations and
   heights) at one instant, cimcity ``shadow.polygons`` vs pybdshadow
   ``bdshadow_sunlight`` on the same buildings (pybdshadow wants WGS84: the
   conversion is not timed) and the same sun; plus the real Paris 11e BDNB
   buildings. Reports time, buildings/s, ratio and the area IoU between both.
2. Sun-hours over one day at 6-minute steps: the bundled sample district at
   1 m on ground, roofs and walls (and the ground alone), and the Paris 11e
   buildings at 2 m; wall and CPU time, sensor × step pairs per second. The
   peer for the rays: raw embreex (one Python thread per core, float32 rays
   prepared untimed) tracing the sensor × step pairs that face the sun,
   against cimcity's trace of the same sensors and steps
   (``cimcity.sun.hours.trace_sun``, timed again on its own: "trace [s]",
   "x embreex" = embreex time / trace time; "pairs differing": pairs whose
   blocked answer differs, float32 against float64 rays). On
   the sample's ground, pybdshadow ``cal_sunshine`` (shadow polygons every 6
   minutes counted on a 1 m grid) in the same run, with both mean sun-hours
   as a sanity check (pybdshadow counts shadow polygon hits on grid squares,
   cimcity traces rays from cell centres: the means agree only roughly).

JIT compilation and acceleration-structure builds are done before timing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import cimcity as cc
from cimcity import raycast, shadow
from cimcity.sun.hours import trace_sun

ROOT = Path(__file__).resolve().parents[1]
PARIS11 = (
    Path(os.environ.get("CIMCITY_SHARED_DATA", ROOT.parent / "shared" / "data"))
    / "france"
    / "bdnb_paris11_batiments.shp"
)
WHEN = pd.Timestamp("2024-03-21 15:30", tz="Europe/Paris")
X0, Y0 = 640_000.0, 6_850_000.0


def synthetic(n, seed=0):
    """n buildings on a grid of 40 m cells: 45% rectangles, 25% L, 15% courtyard
    blocks, 15% U; random size, orientation and height (6-40 m)."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    cx = X0 + 40.0 * (i % side)
    cy = Y0 + 40.0 * (i // side)
    w = rng.uniform(8, 22, n)
    d = rng.uniform(8, 22, n)
    x, y = cx - w / 2, cy - d / 2
    box = shapely.box(x, y, x + w, y + d)
    L = shapely.union(box, shapely.box(x, y, x + 0.4 * w, y + 1.5 * d))
    court = shapely.difference(
        box, shapely.box(x + 0.3 * w, y + 0.3 * d, x + 0.7 * w, y + 0.7 * d)
    )
    U = shapely.difference(
        box, shapely.box(x + 0.3 * w, y + 0.4 * d, x + 0.7 * w, y + 1.1 * d)
    )
    kind = rng.choice(4, n, p=[0.45, 0.25, 0.15, 0.15])
    g = np.choose(kind, [box, L, court, U])
    ang = rng.uniform(0, 180, n)
    g = np.array(
        [shapely.affinity.rotate(gi, ai) for gi, ai in zip(g, ang, strict=True)],
        dtype=object,
    )
    h = rng.uniform(6, 40, n)
    return gpd.GeoDataFrame(
        {"height": h, "ground_z": 35.0}, geometry=g, crs="EPSG:2154"
    )


def scene_of(gdf):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cc.Scene().add_buildings(gdf)


def run_pybdshadow(scene, sun):
    import pybdshadow
    import pybdshadow.pybdshadow as pbs

    pbs.get_position = lambda date, lon, lat: {
        "azimuth": np.radians(sun["azimuth"] - 180.0),
        "altitude": np.radians(sun["elevation"]),
    }
    B = scene.buildings
    geoms = B.geometry.values
    # pybdshadow takes Polygons (exterior ring only): explode and drop holes
    parts, idx = shapely.get_parts(geoms, return_index=True)
    ext = shapely.polygons(shapely.get_exterior_ring(parts))
    b = gpd.GeoDataFrame(
        {
            "building_id": [f"{B.index[j]}#{k}" for k, j in enumerate(idx)],
            "height": (B["roof_z"] - B["ground_z"]).to_numpy()[idx],
        },
        geometry=ext,
        crs=scene.crs,
    ).to_crs("EPSG:4326")
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = pybdshadow.bdshadow_sunlight(b, WHEN.tz_convert("UTC").to_pydatetime())
    dt = time.perf_counter() - t
    return dt, out


def iou_vs_peer(scene, ours, theirs):
    """Mean and min area IoU per building, on hole-free single-part buildings."""
    B = scene.buildings
    simple = (shapely.get_num_geometries(B.geometry.values) == 1) & (
        shapely.get_num_interior_rings(shapely.get_geometry(B.geometry.values, 0)) == 0
    )
    ids = B.index[simple]
    t = theirs.set_crs("EPSG:4326", allow_override=True).to_crs(scene.crs)
    t["bid"] = t["building_id"].str.split("#").str[0]
    t = t.set_index("bid").loc[ids]
    o = ours.set_index("building_id").loc[ids]
    a, b = o.geometry.values, t.geometry.values
    iou = shapely.area(shapely.intersection(a, b)) / shapely.area(shapely.union(a, b))
    return float(np.mean(iou)), float(np.min(iou))


def bench_polygons(sizes, peer_max):
    print("\n## Ground shadow polygons at", WHEN)
    # warm-up: numba kernels, pvlib, pyproj
    shadow.polygons(scene_of(synthetic(50, 99)), WHEN)
    rows = []
    cases = [(f"synthetic {n:,}", scene_of(synthetic(n))) for n in sizes]
    if PARIS11.exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            b = cc.read_buildings(PARIS11, crs="EPSG:2154")
        cases.append((f"Paris 11e BDNB {len(b):,}", scene_of(b)))
    for label, scene in cases:
        n = len(scene.buildings)
        scene.mesh(terrain=False)  # mansard roofs (none here) would use it
        t = time.perf_counter()
        ours = shadow.polygons(scene, WHEN)
        dt = time.perf_counter() - t
        sun = shadow.sun_table(scene, WHEN).iloc[0]
        peer_dt, iou = np.nan, (np.nan, np.nan)
        if n <= peer_max:
            try:
                peer_dt, theirs = run_pybdshadow(scene, sun)
                iou = iou_vs_peer(scene, ours, theirs)
            except ImportError:
                pass
        rows.append(
            {
                "case": label,
                "buildings": n,
                "cimcity [s]": dt,
                "buildings/s": n / dt,
                "pybdshadow [s]": peer_dt,
                "speed-up": peer_dt / dt,
                "IoU mean": iou[0],
                "IoU min": iou[1],
            }
        )
        print(f"  {label}: cimcity {dt:.3f} s, pybdshadow {peer_dt:.2f} s", flush=True)
    df = pd.DataFrame(rows)
    syn = df[df["case"].str.startswith("synthetic")]
    if len(syn) > 1:
        k = np.polyfit(np.log(syn["buildings"]), np.log(syn["cimcity [s]"]), 1)[0]
        print(f"  cimcity scaling exponent (time ~ n^k): k = {k:.2f}")
    print(df.to_string(index=False, float_format=lambda v: f"{v:,.3f}"))
    return df


def pybdshadow_sun_hours(scene, day, spacing):
    """pybdshadow ``cal_sunshine`` on the ground: shadow polygons every 6
    minutes, counted on a TransBigData grid of ``spacing`` [m] (buildings in
    WGS84, 30 min padding around sunrise and sunset, the least pybdshadow accepts). Returns (wall [s], mean
    sun-hours of the open ground cells [h], cells)."""
    import pybdshadow

    B = scene.buildings
    parts, idx = shapely.get_parts(B.geometry.values, return_index=True)
    b = gpd.GeoDataFrame(
        {
            "building_id": [f"{B.index[j]}#{k}" for k, j in enumerate(idx)],
            "height": (B["roof_z"] - B["ground_z"]).to_numpy()[idx],
        },
        geometry=shapely.polygons(shapely.get_exterior_ring(parts)),
        crs=scene.crs,
    ).to_crs("EPSG:4326")
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grids = pybdshadow.cal_sunshine(
            b, day=day, roof=False, accuracy=spacing, precision=360, padding=1800
        )
    dt = time.perf_counter() - t
    return dt, float(grids["Hour"].mean()), len(grids)


def embreex_sun_pairs(mesh, res):
    """Raw embreex, one Python thread per core, on the sensor x sun-step pairs
    of a sun-hours result that face the sun (what a careful embreex user
    would trace: float32 local rays, origins moved 1 mm along the ray as
    cimcity's ``tmin``). The float32 conversion is not timed. Returns (wall
    [s], pairs, share of pairs whose blocked answer equals cimcity's)."""
    from concurrent.futures import ThreadPoolExecutor

    try:
        from embreex import rtcore_scene
        from embreex.mesh_construction import TriangleMesh
    except ImportError:
        return float("nan"), 0, float("nan")
    es = rtcore_scene.EmbreeScene()
    TriangleMesh(es, mesh.vertices.astype(np.float32), mesh.faces.astype(np.int32))
    S = res.sensors
    traced = res.steps["column"].to_numpy() >= 0
    dirs = res.steps.loc[traced, ["sx", "sy", "sz"]].to_numpy()
    pts = S[["x", "y", "z"]].to_numpy() - mesh.origin
    nrm = S[["nx", "ny", "nz"]].to_numpy()
    blocked = raycast.unpack_matrix(res.blocked_bits, len(dirs))
    step = 20_000
    tasks = []
    for i in range(0, len(pts), step):  # untimed: float32 rays of each task
        ii, jj = np.nonzero(nrm[i : i + step] @ dirs.T > 0)
        o = (pts[i + ii] + 1e-3 * dirs[jj]).astype(np.float32)
        tasks.append((o, dirs[jj].astype(np.float32), blocked[i + ii, jj]))
    es.run(tasks[0][0][:1], tasks[0][1][:1], query="OCCLUDED")

    def run(t):
        return es.run(t[0], t[1], query="OCCLUDED")

    t0 = time.perf_counter()
    with ThreadPoolExecutor(len(os.sched_getaffinity(0))) as pool:
        got = list(pool.map(run, tasks))
    dt = time.perf_counter() - t0
    pairs = sum(len(t[0]) for t in tasks)
    # embreex's OCCLUDED answer: 0 (the geometry) when blocked, -1 when not
    same = sum(int(((g != -1) == t[2]).sum()) for g, t in zip(got, tasks, strict=True))
    return dt, pairs, same / max(pairs, 1)


def bench_sun_hours(peer=True):
    print("\n## Sun-hours, one day at 6-minute steps")
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sample = cc.datasets.load("paris")
    cases = [("sample district, 1 m", sample, 1.0, ("roof", "wall", "ground"))]
    if PARIS11.exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            b = cc.read_buildings(PARIS11, crs="EPSG:2154")
        cases.append(
            ("Paris 11e BDNB, 2 m", scene_of(b), 2.0, ("roof", "wall", "ground"))
        )
    for label, scene, spacing, surfaces in cases:
        mesh = scene.mesh()
        engine = raycast.prepare(mesh)
        shadow.sun_hours(scene, "2024-06-21", step="3h", spacing=50.0)  # warm-up
        for day in ("2024-06-21", "2024-12-21"):
            for surf in (surfaces, ("ground",)):
                t, c = time.perf_counter(), time.process_time()
                res = shadow.sun_hours(scene, day, spacing=spacing, surfaces=surf)
                dt, cpu = time.perf_counter() - t, time.process_time() - c
                n = len(res.sensors)
                k = int((res.steps["column"] >= 0).sum())
                dirs = res.steps.loc[res.steps["column"] >= 0, ["sx", "sy", "sz"]]
                t = time.perf_counter()
                trace_sun(mesh, res._sensors, dirs.to_numpy())
                trace_dt = time.perf_counter() - t
                e_dt, e_pairs, e_same = embreex_sun_pairs(mesh, res)
                row = {
                    "case": label,
                    "surfaces": "+".join(surf),
                    "day": day,
                    "triangles": mesh.n_faces,
                    "sensors": n,
                    "sunny steps": k,
                    "wall [s]": dt,
                    "CPU [s]": cpu,
                    "sensor-steps/s [M]": n * k / dt / 1e6,
                    "engine": engine,
                    "trace [s]": trace_dt,
                    "embreex [s]": e_dt,
                    "x embreex": e_dt / trace_dt,
                    "pairs facing [M]": e_pairs / 1e6,
                    "pairs differing": round(e_pairs * (1 - e_same)),
                }
                if surf == ("ground",):
                    g = res.sensors["sun_hours"]
                    row["mean [h]"] = float(g.mean())
                    if peer and scene is sample:
                        try:
                            p_dt, p_mean, p_n = pybdshadow_sun_hours(scene, day, spacing)
                        except Exception as exc:  # its preprocess vs shapely 2.1
                            print(f"  pybdshadow cal_sunshine failed: {exc!r}", flush=True)
                            rows.append(row)
                            continue
                        row.update(
                            {
                                "pybdshadow [s]": p_dt,
                                "speed-up": p_dt / dt,
                                "peer mean [h]": p_mean,
                                "peer cells": p_n,
                            }
                        )
                rows.append(row)
                print(
                    f"  {label} {row['surfaces']} {day}: {dt:.1f} s (CPU {cpu:.1f} s), "
                    f"{n:,} sensors x {k} steps",
                    flush=True,
                )
    df = pd.DataFrame(rows)
    print(df.to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    return df


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument(
        "--peer-max",
        type=int,
        default=10_000,
        help="largest building count given to pybdshadow (default 10,000: it needs "
        "minutes beyond)",
    )
    p.add_argument("--skip-sunhours", action="store_true")
    p.add_argument("--sunhours-only", action="store_true")
    p.add_argument("--no-peer", action="store_true", help="skip pybdshadow sun-hours")
    args = p.parse_args(argv)
    print(f"cimcity {cc.__version__}, {os.cpu_count()} cores, load {os.getloadavg()}")
    sizes = [int(s) for s in args.sizes.split(",")]
    if not args.sunhours_only:
        bench_polygons(sizes, args.peer_max)
    if not args.skip_sunhours:
        bench_sun_hours(peer=not args.no_peer)
    print(f"load at the end {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
