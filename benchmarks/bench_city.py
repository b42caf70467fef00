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

    python benchmarks/bench_city.py 0.25 1 4 [--no-peer] [--tile 500]

Peak memory: the untiled run executes in a child process started before the
cluster (``resource.RUSAGE_CHILDREN`` is then its peak); worker peaks come
from the manifest (each worker process's ``ru_maxrss`` after its tiles); the
driver's is its own ``ru_maxrss``. Numba compilation is warmed on a small
city first so it stays out of the timed runs.
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
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import geopandas as gpd, numpy as np
import cimcity as cc
a, folder, level = sys.argv[1], sys.argv[2], float(sys.argv[3])
t = time.perf_counter()
s = cc.Scene()
dem = cc.read_dem(folder + "/dem.tif")
s.add_terrain(dem)
s.add_buildings(gpd.read_parquet(folder + "/buildings.parquet"))
if a == "solar":
    res = cc.solar.irradiance(s, None, spacing=SPACING_VALUE, surfaces=("roof", "wall"))
    n = len(res.by_building)
else:
    river = gpd.read_file(folder + "/river.gpkg")
    res = cc.flood.exposure(s, cc.flood.extent(dem, level, sources=river))
    n = len(res.buildings)
print(json.dumps(dict(seconds=time.perf_counter() - t, rows=n,
      peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
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
    for v in done:
        workers[v["pid"]] = max(workers.get(v["pid"], 0), v["peak_rss_mb"])
    return dict(seconds=wall, rows=sum(v["rows"] for v in done), tiles=len(done),
                worker_peak_mb=sorted(workers.values()), out_mb=du(out),
                halo=r.manifest["halo"]["halo_m"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", nargs="*", type=float, default=[1.0, 2.0],
                    help="city sides [km] (the area is the square)")
    ap.add_argument("--tile", type=float, default=500.0)
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
    if not args.no_peer:  # before the cluster: RUSAGE_CHILDREN is then the peer's
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
