"""Ray engine throughput: cimcity (numba, Embree) vs raw embreex vs trimesh.

Every engine traces the same rays: 30,000 sensors at 1 m on roofs and facades
(``cimcity.sun.sensors.sample``, the block nearest the scene centre) looking at
the 145 Tregenza sky-patch centres, keeping the pairs a solar study traces
(direction in front of the sensor's surface), about 2.5 M rays per scene. Scenes: synthetic
cities of k × k extruded blocks at growing k, and the real Paris 11e buildings
(BDNB, 5,227 footprints extruded by ``hauteur`` from ``altitude_s``) when
``../shared/data/france`` is present.

Rows
----
numba any-hit          ``cimcity.raycast.occluded(engine="numba")`` on the flat rays
                       (sensor by sensor; grouped by direction into packets inside)
numba matrix           ``occluded_matrix(engine="numba", normals=...)``: the sensor ×
                       direction path solar and shadow use (packets of 8 rays)
embree any-hit         ``occluded(engine="embree")`` (embreex under cimcity, 1 thread/core)
embree matrix          ``occluded_matrix(engine="embree", normals=...)``
embreex raw 1 thread   ``EmbreeScene.run(query="OCCLUDED")`` on prepared float32 arrays
embreex raw N threads  the same split over one Python thread per core (what a careful
                       user of embreex would write)
trimesh embree         ``trimesh.ray.ray_pyembree.RayMeshIntersector.intersects_any``
trimesh numpy          ``trimesh.ray.ray_triangle.RayMeshIntersector.intersects_any``
                       (trimesh's own engine; run on a subset, it is slow)
numba / embree closest ``intersect(...)`` closest hit with distance and face
numba any/closest random sensors|uniform Nk
                       incoherent rays at growing counts N (0.1 M, 0.3 M, 1 M):
                       random upward directions from the sensors in random order
                       ("sensors"), or from anywhere in the district's bounds, inside
                       buildings too ("uniform"); cimcity traces them one by one
                       on the 8-wide BVH with float32 node tests on enlarged boxes
                       (bvh_wide32: one FMA per plane, children prefetched)
numba wide f64 ...     the same rays on the same 8-wide BVH with the exact float64
                       node test (bvh_wide: the path before bvh_wide32), same
                       threads and tasks
numba before ...       (sky rays) the path before the 8-wide BVH (binary BVH,
                       rays sorted by octant and origin Morton code: bvh_sorted)
embree any/closest ... the same rays through ``engine="embree"`` (cimcity's Embree
                       path: float64 world rays in, as for numba)
embreex raw any/closest ...
                       raw embreex on the same incoherent rays (float32, one thread
                       per core): the peer; "vs raw" of a numba row divides by it.
                       Its rays are made local, unit and float32 before the timing
                       (numba and the embree rows start from the float64 world
                       rays); that untimed step takes about 30 ms a million rays
                       with numpy on one thread

Timing: best of ``REPEATS`` runs (incoherent rays: ``RANDOM_REPEATS`` rounds
in which the numba rows and raw embreex run in turn), after a warm-up call
(numba compilation and acceleration-structure builds happen outside the timed
part; build times are printed separately). ``Mr/cpu-s`` divides by this
process's CPU time (all its threads): a per-core figure that holds when the
machine is shared. ``others`` is the share of the machine's CPUs used by other
processes during the timed runs: wall-clock rays/s scale down by about that
much.

Run: ``python benchmarks/bench_raycast.py [--quick] [--no-grid]``.
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
from cimcity.sun.sensors import sample as sample_sensors

ROOT = Path(__file__).resolve().parents[1]
PARIS11 = ROOT.parent / "shared" / "data" / "france" / "bdnb_paris11_batiments.shp"
REPEATS = 3
#: rounds of the incoherent-ray rows (interleaved with their peer, best kept)
RANDOM_REPEATS = 7
#: incoherent rays per scene (random origins among the sensors or anywhere in
#: the district, random upward directions), at growing counts
RANDOM_COUNTS = (100_000, 300_000, 1_000_000)
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


def sky_rays(mesh, max_sensors: int, spacing: float = 1.0):
    """Dense sensors (``spacing`` m on roofs and facades) nearest to the scene
    centre, as a solar study lays them out, and their facing sky rays.

    Returns sensor points and normals, the 145 directions, and the flat rays
    (sensor-major) whose direction is in front of the sensor's surface.
    """
    centre = mesh.face_centroids.mean(axis=0)
    dist = np.abs(mesh.face_centroids[:, :2] - centre[:2]).max(axis=1)
    # sample only faces near the centre (a city-wide 1 m sampling is millions)
    radius = np.sqrt(max_sensors) * spacing
    sub = mesh.subset(dist <= radius + 50.0)
    sensors = sample_sensors(sub, spacing=spacing, kinds=("roof", "wall"))
    cheb = np.abs(sensors.points[:, :2] - centre[:2]).max(axis=1)
    keep = np.sort(np.argsort(cheb, kind="stable")[:max_sensors])
    p, n = sensors.points[keep], sensors.normals[keep]
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
    """embreex scene built the way its users do (default flags: robust)."""
    from embreex import rtcore_scene
    from embreex.mesh_construction import TriangleMesh

    scene = rtcore_scene.EmbreeScene()
    TriangleMesh(scene, mesh.vertices.astype(np.float32), mesh.faces.astype(np.int32))
    return scene


HEADER = (
    f"{'scene':<17} {'faces':>7} {'rays':>9} {'engine / query':<40} "
    f"{'time s':>7} {'Mrays/s':>8} {'vs raw':>7} {'Mr/cpu-s':>8} {'others':>6}"
)


def raw_runner(scene, pool, mesh, o, d, query):
    """Raw embreex on float32 local rays, split over one thread per core (4
    parts per thread): what a careful user of embreex writes."""
    o32 = (o - mesh.origin).astype(np.float32)
    d32 = (d / np.linalg.norm(d, axis=1)[:, None]).astype(np.float32)
    cuts = np.linspace(0, len(o), THREADS * 4 + 1).astype(int)
    parts = list(zip(cuts[:-1], cuts[1:], strict=True))

    def run(part):
        a, b = part
        if query == "any":
            return scene.run(o32[a:b], d32[a:b], query="OCCLUDED")
        return scene.run(o32[a:b], d32[a:b], output=1)

    return lambda: list(pool.map(run, parts))


def before(mesh, o, d, query):
    """The path before the wide BVH (binary BVH, rays sorted by octant and
    origin Morton code task by task: ``bvh_sorted.occluded_sorted`` /
    ``intersect_sorted``), on the same threads and tasks."""
    from cimcity._kernels import bvh_packets, bvh_sorted
    from cimcity.raycast import numba_engine
    from cimcity.raycast.tasks import run_all, split, worker_count

    b = numba_engine.bvh(mesh)
    n = len(o)
    tmax = np.array([np.inf])
    grid = bvh_sorted.morton_grid(b.nodes)
    workers = worker_count("numba")
    parts = split(n, 1 << 17, workers, align=bvh_packets.WINDOW)
    out = np.empty(n, bool)
    dist = np.empty(n)
    face = np.empty(n, np.int64)
    if query == "any":
        args = (b.nodes, b.refs, b.tri, b.depth, mesh.origin, grid, o, d)
        args = (*args, rc.DEFAULT_TMIN, tmax, out)
        fn = bvh_sorted.occluded_sorted
    else:
        args = (b.nodes, b.refs, b.tri, b.tri_face, b.depth, mesh.origin, grid, o, d)
        args = (*args, rc.DEFAULT_TMIN, tmax, dist, face)
        fn = bvh_sorted.intersect_sorted

    def run():
        return list(run_all(lambda sl: fn(*args, sl.start, sl.stop), parts, workers))

    return run


def wide64(mesh, o, d, query):
    """The 8-wide BVH with the float64 node test (``bvh_wide``, the path
    before ``bvh_wide32``) on the same threads and tasks as the public queries."""
    from cimcity._kernels import bvh_wide
    from cimcity.raycast import numba_engine
    from cimcity.raycast.tasks import run_all, split, worker_count

    b = numba_engine.bvh(mesh)
    wide, depth = bvh_wide.collapse(b.nodes)  # unmerged leaves, float64 node test
    wrefs = wide.view(np.int32)
    n = len(o)
    tmax = np.array([np.inf])
    workers = worker_count("numba")
    parts = split(n, numba_engine._task(n, workers), workers)
    out = np.empty(n, bool)
    dist = np.empty(n)
    face = np.empty(n, np.int64)
    if query == "any":
        args = (wide, wrefs, b.tri, depth, mesh.origin, o, d)
        args = (*args, rc.DEFAULT_TMIN, tmax, out)
        fn = bvh_wide.occluded_wide_rays
    else:
        args = (wide, wrefs, b.tri, b.tri_face, depth, mesh.origin, o, d)
        args = (*args, rc.DEFAULT_TMIN, tmax, dist, face)
        fn = bvh_wide.intersect_wide_rays

    def run():
        return list(run_all(lambda sl: fn(*args, sl.start, sl.stop), parts, workers))

    return run


def timed_interleaved(fns, repeats=RANDOM_REPEATS):
    """:func:`timed` for several functions run in turn, round after round, so
    that a slower moment of a shared machine hits them all alike."""
    for fn in fns:
        fn()  # warm-up
    best = [np.inf] * len(fns)
    best_cpu = [np.inf] * len(fns)
    busy0, total0 = _cpu_ticks()
    mine = 0.0
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            c = time.process_time()
            t = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t)
            cpu = time.process_time() - c
            best_cpu[k] = min(best_cpu[k], cpu)
            mine += cpu
    busy1, total1 = _cpu_ticks()
    hz = os.sysconf("SC_CLK_TCK")
    others = max(0.0, (busy1 - busy0) - mine * hz) / max(1, total1 - total0)
    return [(b, c, others) for b, c in zip(best, best_cpu, strict=True)]


def bench_scene(name, mesh, max_sensors, pool, random_counts):
    """Time every engine on one scene's rays; prints and returns the rows."""
    p, n, dirs, o, d = sky_rays(mesh, max_sensors)
    nr = len(o)
    has_embree = "embree" in rc.available_engines()
    t = time.perf_counter()
    rc.prepare(mesh, "numba")
    note = (
        f"\n{name}: {mesh.n_faces} faces; {len(p)} sensors (1 m, roofs + facades) x "
        f"145 patches -> {nr} facing rays; numba BVH build "
        f"{time.perf_counter() - t:.2f} s"
    )
    rows = []

    def row(label, fn, rays=nr, repeats=REPEATS):
        sec, cpu, others = timed(fn, repeats)
        rows.append([label, rays, sec, rays / sec / 1e6, rays / cpu / 1e6, others])

    row("numba any-hit", lambda: rc.occluded(mesh, o, d, engine="numba"))
    row("numba before any-hit", before(mesh, o, d, "any"))
    row(
        "numba matrix",
        lambda: rc.occluded_matrix(mesh, p, dirs, normals=n, engine="numba"),
    )
    raw = None
    scene_raw = None
    if has_embree:
        t = time.perf_counter()
        rc.prepare(mesh, "embree")
        note += f", Embree scene {time.perf_counter() - t:.2f} s"
        row("embree any-hit", lambda: rc.occluded(mesh, o, d, engine="embree"))
        row(
            "embree matrix",
            lambda: rc.occluded_matrix(mesh, p, dirs, normals=n, engine="embree"),
        )
        scene = raw_embree(mesh)
        o32 = (o - mesh.origin).astype(np.float32)
        d32 = d.astype(np.float32)
        scene.run(o32[:1], d32[:1], query="OCCLUDED")  # commit
        row("embreex raw 1 thread", lambda: scene.run(o32, d32, query="OCCLUDED"))
        cuts = np.linspace(0, nr, THREADS * 4 + 1).astype(int)
        parts = list(zip(cuts[:-1], cuts[1:], strict=True))

        def raw_threads():
            def run(part):
                return scene.run(
                    o32[part[0] : part[1]], d32[part[0] : part[1]], query="OCCLUDED"
                )

            return list(pool.map(run, parts))

        row(f"embreex raw {THREADS} threads", raw_threads)
        raw = rows[-1][2]
        scene_raw = scene
        import trimesh.ray.ray_pyembree as tre

        tm_e = tre.RayMeshIntersector(mesh.to_trimesh())
        row("trimesh embree", lambda: tm_e.intersects_any(o - mesh.origin, d))
        a = rc.occluded(mesh, o, d, engine="numba")
        b = rc.occluded(mesh, o, d, engine="embree")
        note += (
            f"; numba and Embree differ on {int((a != b).sum())} of {nr} rays"
            f" ({a.mean():.1%} blocked)"
        )
    import trimesh.ray.ray_triangle as trt

    # trimesh's own engine is slow: a subset of the rays, one run
    k = int(np.clip(3e7 / mesh.n_faces, 50, 2000))
    tm_n = trt.RayMeshIntersector(mesh.to_trimesh())
    row(
        "trimesh numpy (subset)",
        lambda: tm_n.intersects_any(o[:k] - mesh.origin, d[:k]),
        rays=min(k, nr),
        repeats=1,
    )
    row("numba closest", lambda: rc.intersect(mesh, o, d, engine="numba"))
    row("numba before closest", before(mesh, o, d, "closest"))
    if has_embree:
        row("embree closest", lambda: rc.intersect(mesh, o, d, engine="embree"))
    # incoherent rays: the sensors in random order, random upward directions,
    # at growing ray counts (scaling); raw embreex on the same rays is the peer
    rng = np.random.default_rng(0)
    lo, hi = mesh.bounds
    for k in random_counts:
        ro = p[rng.integers(0, len(p), k)]
        rd = rng.normal(size=(k, 3))
        rd[:, 2] = np.abs(rd[:, 2])
        uo = rng.uniform(lo, hi, (k, 3))  # anywhere in the district, inside too
        for kind, ray_o in (("sensors", ro), ("uniform", uo)):
            tag = f"random {kind} {k // 1000}k"
            for query, fn in (("any", rc.occluded), ("closest", rc.intersect)):
                # the numba rows and their peer timed in turn (interleaved)
                group = {
                    f"numba {query} {tag}": lambda fn=fn, o_=ray_o, d_=rd: fn(
                        mesh, o_, d_, engine="numba"
                    ),
                    f"numba wide f64 {query} {tag}": wide64(mesh, ray_o, rd, query),
                }
                if has_embree:  # the engine "auto" would otherwise route to
                    group[f"embree {query} {tag}"] = (
                        lambda fn=fn, o_=ray_o, d_=rd: fn(mesh, o_, d_, engine="embree")
                    )
                if scene_raw is not None:
                    run = raw_runner(scene_raw, pool, mesh, ray_o, rd, query)
                    group[f"embreex raw {query} {tag}"] = run
                times = timed_interleaved(list(group.values()))
                for label, (sec, cpu, others) in zip(group, times, strict=True):
                    rows.append([label, k, sec, k / sec / 1e6, k / cpu / 1e6, others])
    print(note + f"; load average {os.getloadavg()[0]:.2f}")
    print(HEADER)
    peers = {r[0]: r[2] for r in rows if r[0].startswith("embreex raw")}
    for label, rays, sec, mrs, mrcpu, others in rows:
        sky_any_hit = "closest" not in label and "random" not in label
        ratio = f"{raw / sec:7.2f}" if raw and sky_any_hit else "      -"
        if "random" in label:
            query = "closest" if "closest" in label else "any"
            peer = peers.get("embreex raw " + query + label[label.index(" random") :])
            if peer and not label.startswith("embreex"):
                ratio = f"{peer / sec:7.2f}"
        print(
            f"{name:<17} {mesh.n_faces:>7} {rays:>9} {label:<40} {sec:>7.3f} "
            f"{mrs:>8.2f} {ratio} {mrcpu:>8.2f} {others:>6.0%}",
            flush=True,
        )
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--no-grid", action="store_true", help="Paris 11e only")
    args = ap.parse_args(argv)
    sizes = [10, 30] if args.quick else [10, 40, 60]  # 40x40: 1,600 buildings
    sizes = [] if args.no_grid else sizes
    max_sensors = 4_000 if args.quick else 30_000
    counts = RANDOM_COUNTS[:2] if args.quick else RANDOM_COUNTS
    numba_threads = os.environ.get("NUMBA_NUM_THREADS", "all")
    print(
        f"{THREADS} CPU(s); numba threads: {numba_threads}; engines: "
        f"{rc.available_engines()}; engine='auto' picks "
        + ", ".join(f"{q}: {rc.resolve_engine('auto', q)}" for q in rc.QUERIES)
    )
    pool = ThreadPoolExecutor(THREADS)
    scenes = [(f"grid {k}x{k}", lambda k=k: synthetic_city(k)) for k in sizes]
    if PARIS11.exists() and not args.quick:
        scenes.append(("Paris 11e (BDNB)", paris11))
    for name, make in scenes:
        t = time.perf_counter()
        mesh = make()
        print(f"\n[{name}: mesh built in {time.perf_counter() - t:.1f} s]", end="")
        bench_scene(name, mesh, max_sensors, pool, counts)
    print(
        "\nMrays/s: wall clock, best of runs. vs raw: throughput relative to raw"
        " embreex on all threads (1.00 = same, 0.80 = 20% slower). Mr/cpu-s: rays per"
        " CPU-second of this process (all its threads), a per-core figure insensitive"
        " to other load. others: CPU share used by other processes while timing."
    )


if __name__ == "__main__":
    main()
