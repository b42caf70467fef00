"""Whole-city runs: tiled (cimcity.parallel.run on a LocalCluster) against the
untiled single-process run (the peer), on synthetic Paris-like cities of
growing size.

The city (cimcity.datasets.city) has the footprint sizes and heights of the
BDNB buildings of Paris 11e (../shared/data/france/bdnb_paris11_batiments.shp),
perimeter blocks, a 1 m DEM of a river valley and the river polygon. For each
size: an annual solar cadastre (clear sky, roofs and facades, 2 m sensors) and
the flood exposure at one Seine level (RIVER_WATER + 6 m), printing wall time,
peak memory of the driver, of each worker process and of the untiled run,
output size and the tiled/untiled time ratio.

    python benchmarks/bench_city.py 1 2 4 [--no-peer] [--tile 1000]

Peak memory: ``VmHWM`` (the high-water mark of a process's own address
space, /proc/self/status) of the untiled child process, and of each worker
process after its tiles (from the manifest); the driver's is its own
``ru_maxrss``. Not ``ru_maxrss`` for the children: Linux carries it over
``fork`` and ``execve``, so a child spawned by a 660 MB driver would report
at least 660 MB. Numba compilation is warmed first so it
stays out of the timed runs: the tiled runs on a 1 km² city on the same
cluster, the untiled run on a 300 m corner of its city in the same process
(so its peak memory includes that warm-up, which is small).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

SHARED = Path("/work/shared/data/france/bdnb_paris11_batiments.shp")
WHEN = None  # the clear-sky typical year
SPACING = 2.0

PEER = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import geopandas as gpd, numpy as np
import cimcity as cc
a, folder, level = sys.argv[1], sys.argv[2], float(sys.argv[3])

def go(folder, box=None):
    s = cc.Scene()
    dem = cc.read_dem(folder + "/dem.tif")
    s.add_terrain(dem)
    s.add_buildings(gpd.read_parquet(folder + "/buildings.parquet", bbox=box))
    if a == "solar":
        res = cc.solar.irradiance(s, None, spacing=SPACING_VALUE, surfaces=("roof", "wall"))
        return len(res.by_building)
    river = gpd.read_file(folder + "/river.gpkg")
    res = cc.flood.exposure(s, cc.flood.extent(dem, level, sources=river))
    return len(res.buildings)

# warm-up, untimed: compile the numba kernels on a 300 m corner of the city
x0, y0 = gpd.read_parquet(folder + "/buildings.parquet").total_bounds[:2]
go(folder, (x0, y0, x0 + 300, y0 + 300))
t = time.perf_counter()
n = go(folder)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
print(json.dumps(dict(seconds=time.perf_counter() - t, rows=n, peak_mb=int(hwm.split()[1]) / 1024)))
""".replace("SPACING_VALUE", repr(SPACING))


def du(path) -> float:
    return sum(p.stat().st_size for p in Path(path).rglob("*.parquet")) / 1e6


def peer(analysis, folder, level):
    out = subprocess.run([sys.executable, "-c", PEER, analysis, str(folder), str(level)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def tiled(analysis, info, client, tile, level, out):
    from cimcity import parallel

    kw = dict(when=WHEN, spacing=SPACING, surfaces=("roof", "wall")) if analysis == "solar" \
        else dict(level=level, sources=__import__("geopandas").read_file(info["river"]))
    t = time.perf_counter()
    r = parallel.run(analysis, info["buildings"], info["dem"], tile_size=tile, out=out,
                     client=client, **kw)
    wall = time.perf_counter() - t
    done = [v for v in r.tiles.values() if v["status"] == "done"]
    workers = {}
    steps = {}
    for v in done:
        workers[v["pid"]] = max(workers.get(v["pid"], 0), v["peak_rss_mb"])
        for k, x in (v.get("timings") or {}).items():
            steps[k] = round(steps.get(k, 0.0) + x, 2)
    return dict(seconds=wall, rows=sum(v["rows"] for v in done), tiles=len(done),
                tile_s=round(sum(v["seconds"] for v in done), 2), steps=steps,
                survey_s=r.manifest.get("survey_s"),
                worker_peak_mb=sorted(workers.values()), out_mb=du(out),
                halo=r.manifest["halo"]["halo_m"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", nargs="*", type=float, default=[1.0, 2.0],
                    help="city sides [km] (the area is the square)")
    ap.add_argument("--tile", type=float, default=1000.0)
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--work", default="/tmp/cimcity_bench_city")
    ap.add_argument("--analyses", default="solar,flood")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from distributed import Client

    from cimcity.datasets import city
    from cimcity.parallel import local_cluster

    stats = city.real_statistics(SHARED)
    import numpy as np

    print(f"BDNB Paris 11e: {len(stats['areas'])} footprints, median area "
          f"{np.median(stats['areas']):.0f} m2, median height {np.median(stats['heights']):.1f} m")
    work = Path(args.work)
    level = city.RIVER_WATER + 6.0
    rows = []
    infos = {s: city.write(work / f"city_{s:g}", s, stats) for s in args.sizes}
    peers = {}
    if not args.no_peer:  # before the cluster, so the two do not compete
        for s in args.sizes:
            for a in args.analyses.split(","):
                peers[(s, a)] = peer(a, work / f"city_{s:g}", level)
                print("untiled", s, a, json.dumps(peers[(s, a)]), flush=True)
    with local_cluster() as cl, Client(cl) as client:
        import shutil

        warm = city.write(work / "warm", 1.0, stats)  # compile the kernels, untimed
        for a in args.analyses.split(","):
            shutil.rmtree(work / f"warm_{a}", ignore_errors=True)
            tiled(a, warm, client, args.tile, level, work / f"warm_{a}")
        for s in args.sizes:
            info = infos[s]
            for a in args.analyses.split(","):
                out = work / f"out_{a}_{s:g}"
                shutil.rmtree(out, ignore_errors=True)
                r = tiled(a, info, client, args.tile, level, out)
                p = peers.get((s, a))
                rows.append(dict(km2=s * s, analysis=a, buildings=info["n_buildings"], **r,
                                 peer_s=p and p["seconds"], peer_peak_mb=p and p["peak_mb"]))
                print(json.dumps(rows[-1]), flush=True)
    driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print("| km² | analysis | buildings | tiles | tiled s | untiled s | ratio | worker peak MB "
          "| untiled peak MB | output MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = f"{r['seconds'] / r['peer_s']:.2f}" if r["peer_s"] else "-"
        print(f"| {r['km2']:g} | {r['analysis']} | {r['buildings']:,} | {r['tiles']} | "
              f"{r['seconds']:.1f} | {r['peer_s'] and round(r['peer_s'], 1)} | {ratio} | "
              f"{'/'.join(f'{m:.0f}' for m in r['worker_peak_mb'])} | "
              f"{r['peer_peak_mb'] and round(r['peer_peak_mb'])} | {r['out_mb']:.1f} |")
    print(f"driver peak: {driver:.0f} MB")


if __name__ == "__main__":
    main()
