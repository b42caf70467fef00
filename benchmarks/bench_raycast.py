"""Ray engine throughput: cimcity (numba, Embree) vs raw embreex vs trimesh.

Every engine traces the same rays: sensors on roofs and facades (``mesh.sample``)
looking at the 145 Tregenza sky-patch centres, keeping the pairs a solar study
traces (direction in front of the sensor's surface). Scenes: synthetic cities of
k × k extruded blocks at growing k, and the real Paris 11e buildings (BDNB,
5,227 footprints, ``hauteur``) when ``../shared/data/france`` is present.

Rows
----
numba any-hit          ``cimcity.raycast.occluded(engine="numba")`` on the flat rays
numba matrix           ``occluded_matrix(engine="numba", normals=...)``: the sensor ×
                       direction path solar uses (no flat ray arrays)
embree any-hit         ``occluded(engine="embree")`` (embreex under cimcity, 1 thread/core)
embreex raw 1 thread   ``EmbreeScene.run(query="OCCLUDED")`` on prepared float32 arrays
embreex raw N threads  the same split over one Python thread per core (what a careful
                       user of embreex would write)
trimesh embree         ``trimesh.ray.ray_pyembree.RayMeshIntersector.intersects_any``
trimesh numpy          ``trimesh.ray.ray_triangle.RayMeshIntersector.intersects_any``
                       (trimesh's own engine; run on a subset, it is slow)
numba / embree closest ``intersect(...)`` closest hit with distance and face

Timing: best of ``REPEATS`` runs, after a warm-up call (numba compilation and
acceleration-structure builds happen outside the timed part; build times are
printed separately). ``Mr/cpu-s`` divides by this process's CPU time (all its
threads): a per-core figure that holds when the machine is shared. ``others`` is
the share of the machine's CPUs used by other processes during the timed runs:
wall-clock rays/s scale down by about that much.

Run: ``python benchmarks/bench_raycast.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import shapely

from cimcity import raycast as rc
from cimcity.mesh import extrude_buildings

ROOT = Path(__file__).resolve().parents[1]
PARIS11 = ROOT.parent / "shared" / "data" / "france" / "bdnb_paris11_batiments.shp"
REPEATS = 3
THREADS = len(os.sched_getaffinity(0))


# -- inputs ----------------------------------------------------------------------------
def tregenza_directions() -> np.ndarray:
    """(145, 3) unit vectors to the Tregenza patch centres (x east, y north, z up)."""
    bands = [
        (6, 30),
        (18, 30),
        (30, 24),
        (42, 24),
        (54, 18),
        (66, 12),
        (78, 6),
        (90, 1),
    ]
    out = []
    for alt, count in bands:
        az = np.radians((np.arange(count) + 0.5) * 360.0 / count)
        el = np.radians(alt)
        out.append(
            np.column_stack(
                [
                    np.cos(el) * np.sin(az),
                    np.cos(el) * np.cos(az),
                    np.full(count, np.sin(el)),
                ]
            )
        )
    d = np.concatenate(out)
    return d / np.linalg.norm(d, axis=1)[:, None]


def synthetic_city(k: int, seed: int = 0):
    """k × k blocks on a 30 m grid: boxes of 10-25 m sides, 8-40 m high (Lambert-93)."""
    rng = np.random.default_rng(seed)
    x0, y0 = 650_000.0, 6_860_000.0
    gx, gy = np.meshgrid(np.arange(k) * 30.0 + x0, np.arange(k) * 30.0 + y0)
    w = rng.uniform(10, 25, (2, k * k))
    boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + w[0], gy.ravel() + w[1])
    return extrude_buildings(boxes, 35.0, 35.0 + rng.uniform(8, 40, k * k))


def paris11():
    import geopandas as gpd

    g = gpd.read_file(PARIS11).to_crs(2154)
    g = g[g.geometry.notna() & ~g.geometry.is_empty].copy()
    g["geometry"] = shapely.make_valid(g.geometry.values)
    ground = g["altitude_s"].fillna(35.0).to_numpy(float)
    height = np.maximum(g["hauteur"].to_numpy(float), 0.5)
    return extrude_buildings(
        g.geometry.values, ground, ground + height, crs="EPSG:2154"
    )


def sky_rays(mesh, max_sensors: int, spacing: float):
    """Sensors (evenly strided subset, in mesh order) and their facing sky rays."""
    sensors = mesh.sample(spacing=spacing, kinds=("roof", "wall"))
    step = max(1, len(sensors) // max_sensors)
    p, n = sensors.points[::step], sensors.normals[::step]
    dirs = tregenza_directions()
    ii, jj = np.nonzero(n @ dirs.T > 0)
    return p, n, dirs, p[ii], dirs[jj]


# -- timing ------------------------------------------------------------------------------
def _cpu_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]) - idle, sum(v[:8])


def timed(fn, repeats=REPEATS):
    """Best wall time and best CPU time (all threads of this process) of
    ``repeats`` runs, and the share of CPUs other processes used meanwhile."""
    fn()  # warm-up: compilation, caches
    best = best_cpu = np.inf
    busy0, total0 = _cpu_ticks()
    mine = 0.0
    for _ in range(repeats):
        c = time.process_time()
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
        cpu = time.process_time() - c
        best_cpu = min(best_cpu, cpu)
        mine += cpu
    busy1, total1 = _cpu_ticks()
    hz = os.sysconf("SC_CLK_TCK")
    others = max(0.0, (busy1 - busy0) - mine * hz) / max(1, total1 - total0)
    return best, best_cpu, others


def raw_embree(mesh):
    from embreex import rtcore_scene
    from embreex.mesh_construction import TriangleMesh

    scene = rtcore_scene.EmbreeScene()
    TriangleMesh(scene, mesh.vertices.astype(np.float32), mesh.faces.astype(np.int32))
    return scene


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    args = ap.parse_args(argv)
    sizes = [10, 30] if args.quick else [10, 30, 60]
    scenes = [(f"grid {k}x{k}", lambda k=k: synthetic_city(k), 2.0) for k in sizes]
    if PARIS11.exists() and not args.quick:
        scenes.append(("Paris 11e (BDNB)", paris11, 4.0))
    max_sensors = 4_000 if args.quick else 30_000
    has_embree = "embree" in rc.available_engines()
    pool = ThreadPoolExecutor(THREADS)
    print(
        f"{THREADS} CPU(s); numba threads: {os.environ.get('NUMBA_NUM_THREADS', 'all')}"
    )
    header = (
        f"{'scene':<17} {'faces':>8} {'rays':>10} {'engine / query':<24} "
        f"{'time s':>8} {'Mrays/s':>8} {'vs raw':>7} {'Mr/cpu-s':>8} {'others':>7}"
    )
    rows = []
    for name, make, spacing in scenes:
        t = time.perf_counter()
        mesh = make()
        t_mesh = time.perf_counter() - t
        p, n, dirs, o, d = sky_rays(mesh, max_sensors, spacing)
        nr = len(o)
        t = time.perf_counter()
        rc.prepare(mesh, "numba")
        t_bvh = time.perf_counter() - t
        msg = f"\n{name}: {mesh.n_faces} faces, {len(p)} sensors x 145 patches -> {nr} rays"
        msg += f"; mesh {t_mesh:.2f} s, numba BVH build {t_bvh:.2f} s"
        results = {}

        def row(label, fn, rays=nr, key=None, repeats=REPEATS):
            sec, cpu, others = timed(fn, repeats)
            results[key or label] = sec
            rows.append(
                (
                    name,
                    mesh.n_faces,
                    rays,
                    label,
                    sec,
                    rays / sec / 1e6,
                    rays / cpu / 1e6,
                    others,
                )
            )

        row("numba any-hit", lambda: rc.occluded(mesh, o, d, engine="numba"))
        row(
            "numba matrix",
            lambda: rc.occluded_matrix(mesh, p, dirs, normals=n, engine="numba"),
        )
        if has_embree:
            t = time.perf_counter()
            rc.prepare(mesh, "embree")
            msg += f", Embree scene {time.perf_counter() - t:.2f} s"
            row("embree any-hit", lambda: rc.occluded(mesh, o, d, engine="embree"))
            row(
                "embree matrix",
                lambda: rc.occluded_matrix(mesh, p, dirs, normals=n, engine="embree"),
            )
            scene = raw_embree(mesh)
            o32 = (o - mesh.origin).astype(np.float32)
            d32 = d.astype(np.float32)
            scene.run(o32[:1], d32[:1], query="OCCLUDED")  # commit
            row(
                "embreex raw 1 thread",
                lambda: scene.run(o32, d32, query="OCCLUDED"),
                key="raw1",
            )
            parts = np.array_split(np.arange(nr), THREADS * 4)

            def raw_threads():
                list(
                    pool.map(
                        lambda ix: scene.run(
                            o32[ix[0] : ix[-1] + 1],
                            d32[ix[0] : ix[-1] + 1],
                            query="OCCLUDED",
                        ),
                        parts,
                    )
                )

            row(f"embreex raw {THREADS} threads", raw_threads, key="raw")
            import trimesh.ray.ray_pyembree as tre

            tm_e = tre.RayMeshIntersector(mesh.to_trimesh())
            row("trimesh embree", lambda: tm_e.intersects_any(o - mesh.origin, d))
            # agreement of the engines on these rays
            a = rc.occluded(mesh, o, d, engine="numba")
            b = rc.occluded(mesh, o, d, engine="embree")
            msg += f"; numba/Embree differ on {int((a != b).sum())} of {nr} rays"
            msg += f", {a.mean():.1%} blocked"
        import trimesh.ray.ray_triangle as trt

        sub = slice(0, min(nr, 2_000))
        tm_n = trt.RayMeshIntersector(mesh.to_trimesh())
        row(
            "trimesh numpy (subset)",
            lambda: tm_n.intersects_any(o[sub] - mesh.origin, d[sub]),
            rays=len(o[sub]),
            repeats=1,
        )
        row("numba closest", lambda: rc.intersect(mesh, o, d, engine="numba"))
        if has_embree:
            row("embree closest", lambda: rc.intersect(mesh, o, d, engine="embree"))
        print(msg)
        print(header)
        raw = results.get("raw")
        for r in rows:
            if r[0] != name:
                continue
            ratio = f"{raw / r[4]:7.2f}" if raw and "closest" not in r[3] else "      -"
            print(
                f"{r[0]:<17} {r[1]:>8} {r[2]:>10} {r[3]:<24} {r[4]:>8.3f} "
                f"{r[5]:>8.2f} {ratio} {r[6]:>8.2f} {r[7]:>6.0%}"
            )
    print(
        "\nMrays/s: wall clock, best of runs. vs raw: throughput relative to raw embreex"
        " on all threads (1.00 = same, 0.80 = 20% slower). Mr/cpu-s: rays per CPU-second"
        " of this process (all its threads; insensitive to other load). others: CPU"
        " share used by other processes while timing."
    )


if __name__ == "__main__":
    main()
