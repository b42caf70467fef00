"""Annual solar irradiation studies: cimcity (numba, Embree) vs a trimesh peer.

Cases (each in a fresh subprocess, so peak memory is per case):

* the bundled sample district (400 m x 400 m, 113 buildings + 1 m DEM) at 2 m
  and 1 m sensor spacing;
* the real Paris 11e buildings (BDNB, 5,227 footprints with ``hauteur``,
  ``../shared/data/france``) at 2 m (and 1 m with ``--full``), roofs and facades.

Every case is a full annual study on the Paris-Orly EPW (IWEC): sensors, sky
visibility (145 Tregenza patches), direct sun, Perez sky, ground reflection,
per-building totals. ``sun bins`` is the direct-sun grid: ``tregenza`` shares
the 145 sky rays (one visibility matrix), ``reinhart`` traces up to 577 more
cells (~190 used in Paris) for a finer sun (see ``cimcity.sun.irradiance``).

Columns
-------
sensors       roof + facade sensors
pairs         sensor-direction pairs traced (= rays)
trace s       wall time of ray tracing; ``total s`` of the whole call
Mpairs/s      pairs / trace s (wall clock)
Mp/cpu-s      pairs / CPU seconds of the process during the call (per-core figure
              that holds on a shared machine)
rerun s       a second call with other weather (clear sky) on the same scene: the
              visibility matrix comes from the cache
peak MB       peak resident memory of the case's process
load          1-minute load average at the end (2 cores: > 2 means other
              processes shared the machine)

Peer: ``trimesh`` with its embreex ray backend
(``mesh.ray.intersects_any``), the visibility a Python user would otherwise
code by hand: the same sensors x 145 patch rays as flat arrays. Only the ray
part is timed (no sky model), so it is a lower bound of the peer's cost.
pvlib alone has no 3D shading; Radiance/Ladybug and UMEP SEBE are not Python
libraries we can run here.

JIT: each subprocess first runs a tiny study (numba kernels load from the cache
or compile) outside the timed part.

Run: ``python benchmarks/bench_solar.py [--quick] [--full]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
EPW = DATA / "weather" / "FRA_Paris.Orly.071490_IWEC.epw"
PARIS11 = DATA / "france" / "bdnb_paris11_batiments.shp"


# -- one case (runs in a subprocess) ---------------------------------------------------------
def _scene(name):
    import cimcity as cc

    if name == "sample":
        return cc.datasets.load("paris")
    b = cc.read_buildings(PARIS11)
    s = cc.Scene(name="Paris 11e (BDNB)")
    s.add_buildings(b)
    return s


def _warm(engine):
    import geopandas as gpd
    import shapely

    import cimcity as cc

    s = cc.Scene()
    s.add_buildings(
        gpd.GeoDataFrame(
            {"height": [10.0]},
            geometry=[shapely.box(6.5e5, 6.86e6, 6.5e5 + 10, 6.86e6 + 10)],
            crs="EPSG:2154",
        )
    )
    for d in ("binned", "exact"):
        cc.solar.irradiance(
            s,
            ("2023-06-21", "2023-06-22"),
            spacing=5.0,
            engine=engine,
            direct=d,
            progress=False,
        )


def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_case(scene_name, spacing, engine, sun_bins, peer):
    warnings.simplefilter("ignore")
    import numpy as np

    import cimcity as cc

    if not peer:
        _warm(engine)
    scene = _scene(scene_name)
    out = {
        "scene": scene_name,
        "spacing": spacing,
        "engine": engine,
        "sun_bins": sun_bins,
    }
    if peer:
        return _peer_case(scene, spacing, out)
    c0, t0 = _cpu(), time.perf_counter()
    res = cc.solar.irradiance(
        scene,
        weather=EPW,
        spacing=spacing,
        engine=engine,
        patches="tregenza",
        sun_bins=sun_bins,
        progress=False,
    )
    wall = time.perf_counter() - t0
    cpu = _cpu() - c0
    m = res.meta
    tr = m["timings_s"]["trace_sky_s"] + m["timings_s"]["trace_sun_s"]
    t1 = time.perf_counter()
    res2 = cc.solar.irradiance(
        scene,
        weather=None,
        spacing=spacing,
        engine=engine,
        patches="tregenza",
        sun_bins=sun_bins,
        progress=False,
    )
    rerun = time.perf_counter() - t1
    s = res.summary()
    out.update(
        sensors=m["sensors"],
        pairs=m["rays_traced"],
        trace_s=tr,
        total_s=wall,
        cpu_s=cpu,
        rerun_s=rerun,
        rerun_rays=res2.meta["rays_traced"],
        sensors_s=m["timings_s"]["sensors_s"],
        faces=m["mesh_faces"],
        sun_bins_used=m["sun_bins_used"],
        roof_mean=s.get("roof_mean_kwh_m2"),
        wall_mean=s.get("wall_mean_kwh_m2"),
        favourable_m2=s.get("favourable_roof_area_m2"),
        peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        load=os.getloadavg()[0],
        checksum=float(np.sum(res.sensors["irradiation"] * res.sensors["area"])),
    )
    return out


def _peer_case(scene, spacing, out):
    """trimesh + embreex: sensors x 145 patch rays as flat arrays."""
    import numpy as np
    import trimesh  # noqa: F401

    from cimcity.sun import sky
    from cimcity.sun.sensors import sample_scene

    mesh = scene.mesh()
    S = sample_scene(scene, spacing)
    tm = mesh.to_trimesh()  # local coordinates (float32-safe for Embree)
    dirs = sky.tregenza().directions
    pts = S.points - mesh.origin
    c0, t0 = _cpu(), time.perf_counter()
    hits = 0
    pairs = 0
    for i in range(0, len(pts), 20_000):  # chunks keep the ray arrays small
        p, n = pts[i : i + 20_000], S.normals[i : i + 20_000]
        ii, jj = np.nonzero(n @ dirs.T > 0)
        hits += int(tm.ray.intersects_any(p[ii], dirs[jj]).sum())
        pairs += len(ii)
    wall = time.perf_counter() - t0
    out.update(
        engine=f"trimesh ({type(tm.ray).__module__.split('.')[-1]})",
        sun_bins="-",
        sensors=len(S),
        pairs=pairs,
        trace_s=wall,
        total_s=wall,
        cpu_s=_cpu() - c0,
        rerun_s=float("nan"),
        faces=mesh.n_faces,
        blocked_share=hits / max(pairs, 1),
        peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        load=os.getloadavg()[0],
    )
    return out


# -- driver -------------------------------------------------------------------------------------
def _spawn(args):
    cmd = [sys.executable, __file__, "--case", json.dumps(args)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return {
            "error": p.stderr.strip().splitlines()[-1] if p.stderr else "failed",
            **args,
        }
    return json.loads(p.stdout.strip().splitlines()[-1])


def _row(r):
    if "error" in r:
        return f"{r['scene']:<8} {r['spacing']:>4} {r['engine']:<22} ERROR {r['error']}"
    mp = r["pairs"] / r["trace_s"] / 1e6 if r["trace_s"] > 0 else float("nan")
    mpc = r["pairs"] / r["cpu_s"] / 1e6 if r["cpu_s"] > 0 else float("nan")
    return (
        f"{r['scene']:<8} {r['spacing']:>4g} {r['engine']:<22} {r['sun_bins']:<9} "
        f"{r['sensors']:>10,} {r['pairs']:>13,} {r['trace_s']:>8.1f} {r['total_s']:>8.1f} "
        f"{mp:>8.2f} {mpc:>8.2f} {r['rerun_s']:>7.1f} {r['peak_mb']:>8.0f} {r['load']:>5.1f}"
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="sample district only")
    ap.add_argument("--full", action="store_true", help="also Paris 11e at 1 m")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.case:
        kw = json.loads(a.case)
        print(json.dumps(run_case(**kw)))
        return 0
    if not EPW.exists():
        print(f"needs {EPW}")
        return 1
    engines = ["numba"]
    try:
        import embreex  # noqa: F401

        engines.append("embree")
    except ImportError:
        pass
    cases = []
    for sp in (2.0, 1.0):
        for eng in engines:
            for sb in ("tregenza", "reinhart"):
                cases.append(
                    dict(
                        scene_name="sample",
                        spacing=sp,
                        engine=eng,
                        sun_bins=sb,
                        peer=False,
                    )
                )
        cases.append(
            dict(scene_name="sample", spacing=sp, engine="-", sun_bins="-", peer=True)
        )
    if not a.quick and PARIS11.exists():
        for sp in (2.0, 1.0) if a.full else (2.0,):
            for eng in engines:
                cases.append(
                    dict(
                        scene_name="paris11",
                        spacing=sp,
                        engine=eng,
                        sun_bins="tregenza",
                        peer=False,
                    )
                )
            if sp == 2.0:
                cases.append(
                    dict(
                        scene_name="paris11",
                        spacing=sp,
                        engine=eng,
                        sun_bins="reinhart",
                        peer=False,
                    )
                )
                cases.append(
                    dict(
                        scene_name="paris11",
                        spacing=sp,
                        engine="-",
                        sun_bins="-",
                        peer=True,
                    )
                )
    print(
        f"cimcity solar benchmark, {os.cpu_count()} CPUs, EPW {EPW.name}, 145 "
        f"Tregenza sky patches, Perez sky, annual (8,760 h)"
    )
    head = (
        f"{'scene':<8} {'sp m':>4} {'engine':<22} {'sun bins':<9} {'sensors':>10} "
        f"{'pairs':>13} {'trace s':>8} {'total s':>8} {'Mpairs/s':>8} {'Mp/cpu-s':>8} "
        f"{'rerun s':>7} {'peak MB':>8} {'load':>5}"
    )
    print(head)
    print("-" * len(head))
    results = []
    for c in cases:
        r = _spawn(c)
        results.append(r)
        print(_row(r), flush=True)
    ok = [
        r for r in results if "error" not in r and not r["engine"].startswith("trimesh")
    ]
    for r in ok:
        peer = [
            p
            for p in results
            if "error" not in p
            and p["engine"].startswith("trimesh")
            and p["scene"] == r["scene"]
            and p["spacing"] == r["spacing"]
        ]
        if peer and r["sun_bins"] == "tregenza":
            pr = peer[0]
            ratio = (pr["trace_s"] / pr["pairs"]) / (r["trace_s"] / r["pairs"])
            print(
                f"{r['scene']} {r['spacing']:g} m {r['engine']}: {ratio:.2f}x the "
                f"trimesh peer's pairs/s (sky rays only for the peer)"
            )
    for r in ok:
        if r["scene"] == "paris11":
            print(
                f"Paris 11e {r['spacing']:g} m {r['engine']} ({r['sun_bins']} sun bins): "
                f"annual study {r['total_s']:.0f} s ({r['total_s'] / 60:.1f} min), "
                f"{r['sensors']:,} sensors, roofs {r['roof_mean']} / facades "
                f"{r['wall_mean']} kWh/m2/yr, favourable roofs {r['favourable_m2']:,.0f} m2"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
