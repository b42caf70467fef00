"""Benchmark: connected flood extent and building exposure.

1. ``cimcity.flood.extent`` (one read of the DEM per row block on numba's
   threads: runs of wet cells joined by union-find, depths, nodata rows; then
   the runs not reached from a source are blanked) against the reference a
   Python user would write with scipy (``ndimage.label`` on ``z < level``,
   keep the labels holding a source cell with ``np.isin``, depth with
   ``np.where``), in the same run, on
   three DEMs of 1 M, 16 M and 100 M cells (1 m cells):

   - ``smooth``: a meandering river valley with fractal relief (±5 m);
   - ``noisy``: the same valley plus LiDAR-like micro-relief (white Gaussian
     noise, sigma 0.15 m);
   - ``noise``: a gentle plane (0.02 %) plus the same noise, the worst case for
     fragmented wet runs (at 50 % wet almost every row is cut into cols / 4
     runs).

   Levels wet 20 %, 35 %, 50 % and 80 % of the cells (quantiles of the DEM);
   sources are the lowest cells of the DEM's edge (the default). With
   ``--level-grids`` each case is also run with a **per-cell level grid**: a
   water surface sloping with the DEM's trend (down the valley, or along the
   plane), at the quantile of the detrended DEM, so that the same share of
   cells is wet (``flood.extent(terrain, grid)``; scipy: ``z < grid``). The
   previous kernel takes scalar levels only. Results are
   compared cell for cell (bitwise: a digest of the depth grids' bytes).
   ``before`` is the previous kernel (a flood fill on the graph of runs, kept
   in :mod:`cimcity._kernels.flood`), ``1 thread`` the new kernel with
   ``numba.set_num_threads(1)``.
2. The exposure of 100k buildings against rasterstats ``zonal_stats`` (median
   of a 1-3 m ring polygon per building), timed on a subset and extrapolated
   (marked ``*``).

Times are the best of ``--repeat`` wall-clock runs (five times as many up to
2 M cells, two above 20 M cells; above 2 M cells after one untimed run of
each tool on the new DEM: the kernel compacts memory for a few seconds after a 100 M DEM is
generated, and the first level's runs stalled);
scipy and the previous kernel run on one thread. The machine is shared: the
load average is printed with the tables.

Run: python benchmarks/bench_flood.py [--sizes 1000 4000 10000] [--buildings 100000]
[--plot docs/img]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import resource
import time
import warnings

import numba
import numpy as np
from scipy import ndimage

import cimcity as cc
from cimcity import flood
from cimcity._kernels import flood as K
from cimcity.flood.sources import seed_cells
from cimcity.terrain import Terrain

X0, Y0 = 600_000.0, 6_900_000.0
LEVELS = (0.20, 0.35, 0.50, 0.80)
DEMS = ("smooth", "noisy", "noise")
NOISE_M = 0.15


def valley(n: int, seed: int = 0) -> np.ndarray:
    """A meandering river valley (1 % side slopes, 0.05 % down-valley slope)
    with fractal relief of about ±5 m, n x n cells at 1 m."""
    rng = np.random.default_rng(seed)
    m = max(64, n // 8)
    f = np.fft.fftfreq(m).astype(np.float32)
    k = np.hypot(f[:, None], f[None, :])
    k[0, 0] = 1
    spec = (
        rng.standard_normal((m, m), np.float32)
        + 1j * rng.standard_normal((m, m), np.float32)
    ) / k**1.4
    noise = np.real(np.fft.ifft2(spec)).astype(np.float32)
    noise = (noise - noise.mean()) / noise.std() * 2.5
    noise = ndimage.zoom(noise, n / m, order=1)[:n, :n]
    x = np.arange(n, dtype=np.float64)
    yc = n / 2 + 0.12 * n * np.sin(2 * np.pi * x / n * 1.5)
    z = np.empty((n, n), np.float64)
    for r0 in range(0, n, 1024):
        r = np.arange(r0, min(n, r0 + 1024), dtype=np.float64)[:, None]
        z[r0 : r0 + len(r)] = (
            30.0 + 0.01 * np.abs(r - yc) + 0.0005 * (n - x) + noise[r0 : r0 + len(r)]
        )
    return z


def add_noise(z: np.ndarray, seed: int) -> np.ndarray:
    """White Gaussian micro-relief of NOISE_M [m], added in place by blocks."""
    rng = np.random.default_rng(seed)
    for r0 in range(0, z.shape[0], 1024):
        blk = z[r0 : r0 + 1024]
        blk += rng.standard_normal(blk.shape, np.float32) * NOISE_M
    return z


def dem(kind: str, n: int) -> np.ndarray:
    if kind == "smooth":
        return valley(n, seed=n)
    if kind == "noisy":
        return add_noise(valley(n, seed=n), seed=n + 1)
    z = np.empty((n, n), np.float64)
    x = np.arange(n, dtype=np.float64)
    for r0 in range(0, n, 1024):
        r = np.arange(r0, min(n, r0 + 1024), dtype=np.float64)[:, None]
        z[r0 : r0 + len(r)] = 30.0 + 0.0002 * (r + 0.5 * x)
    return add_noise(z, seed=n + 2)


def trend(kind: str, n: int) -> np.ndarray:
    """The DEM's large-scale slope [m] (a water surface parallel to it is a
    sloping river level): 0.05 % down the valley, or the noisy plane's own
    0.02 % tilt."""
    x = np.arange(n, dtype=np.float64)
    if kind in ("smooth", "noisy"):
        return np.broadcast_to(0.0005 * (n - x), (n, n))
    r = np.arange(n, dtype=np.float64)[:, None]
    return 0.0002 * (r + 0.5 * x)


def scipy_extent(z, level, seed_rc):
    """The scipy reference: label, keep source labels, depth."""
    lab, _ = ndimage.label(z < level, structure=np.ones((3, 3), bool))
    keep = np.unique(lab[seed_rc])
    keep = keep[keep > 0]
    wet = np.isin(lab, keep)
    return np.where(wet, level - z, np.nan)


def before_extent(z, level, seed_rc):
    """The previous kernel: runs, flood fill on the graph of runs, paint."""
    rp, st, en = K.open_runs(z, level)
    seed_runs = K.run_of_cells(rp, st, en, seed_rc[0], seed_rc[1])
    reached = K.connect_runs(rp, st, en, seed_runs, True)
    depth = np.empty(z.shape, np.float64)
    K.paint_depth(z, level, rp, st, en, reached, depth)
    return depth


def timed(repeat, fn, *args):
    """(best wall time [s], result of the first call)."""
    t0 = time.perf_counter()
    out = fn(*args)
    best = time.perf_counter() - t0
    for _ in range(repeat - 1):
        t0 = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best, out


def digest(a):
    """Bytes of an array's cells (a bitwise fingerprint, so the 100 M-cell
    results need not be held side by side to be compared)."""
    return hashlib.blake2b(memoryview(np.ascontiguousarray(a)).cast("B")).digest()


def one_case(z, t, level, seed_rc, repeat, threads, with_before=True):
    def new(n_threads):
        numba.set_num_threads(n_threads)
        try:
            return flood.extent(t, level).depth
        finally:
            numba.set_num_threads(threads)

    t_cc, d_cc = timed(repeat, new, threads)
    t_1, _ = timed(repeat, new, 1) if threads > 1 else (t_cc, None)
    wet = float(np.isfinite(d_cc).mean())
    h_cc = digest(d_cc)
    del d_cc
    gc.collect()
    t_old, same_old = np.nan, True
    if with_before:
        t_old, d_old = timed(repeat, before_extent, z, level, seed_rc)
        same_old = digest(d_old) == h_cc
        del d_old
        gc.collect()
    t_sp, d_sp = timed(repeat, scipy_extent, z, level, seed_rc)
    same = digest(d_sp) == h_cc and same_old
    del d_sp
    gc.collect()
    return dict(t_cc=t_cc, t_1=t_1, t_old=t_old, t_sp=t_sp, same=same, wet=wet)


def bench_extent(sizes, repeat, level_grids=False):
    threads = numba.get_num_threads()
    # JIT compilation (or cache load) outside the timed part
    warm = Terrain.from_array(valley(256), (X0, Y0 + 256), 1.0)
    flood.extent(warm, 40.0)
    before_extent(warm.elevation, 40.0, seed_cells(warm, None))
    rows = []
    for n in sizes:
        for kind in DEMS:
            print(f"  load average {os.getloadavg()[0]:.1f}", flush=True)
            z = dem(kind, n)
            t = Terrain.from_array(z, (X0, Y0 + n), 1.0)
            seed_rc = seed_cells(t, None)
            step = max(1, n // 700)
            qs = np.quantile(z[::step, ::step], LEVELS)
            # best of more runs on small grids (milliseconds: a busy core
            # shows), two runs above 20 M cells
            rep = 2 if z.size > 20_000_000 else repeat * (5 if z.size <= 2**21 else 1)
            cases = [(q, float(lv), "scalar") for q, lv in zip(LEVELS, qs, strict=True)]
            if level_grids:
                slope = trend(kind, n)
                qg = np.quantile((z - slope)[::step, ::step], LEVELS)
                cases += [(q, float(lv), "grid") for q, lv in zip(LEVELS, qg, strict=True)]
            if z.size > 2**21:
                # untimed first runs: for a few seconds after a 100 M DEM (and
                # its trend) is written, the kernel is busy compacting memory,
                # and the first level's runs took 1.0-1.5 s instead of 0.15 s
                # (at 16 M, one level's three scipy runs took 0.37 s, not 0.14)
                flood.extent(t, float(qs[1]))
                scipy_extent(z, float(qs[1]), seed_rc)
                gc.collect()
            for q, offset, how in cases:
                # a grid is made when its case runs (four at once held 3.2 GB
                # at 100 M cells)
                level = slope + offset if how == "grid" else offset
                r = one_case(z, t, level, seed_rc, rep, threads, how == "scalar")
                r.update(cells=z.size, dem=kind, below=q, level=how)
                rows.append(r)
                print(
                    f"  {z.size / 1e6:4.0f} M {kind:6} {q:4.0%} {how:6}: cimcity "
                    f"{r['t_cc']:.3f} s (1 thread {r['t_1']:.3f}), before "
                    f"{r['t_old']:.3f} s, scipy {r['t_sp']:.3f} s, identical={r['same']}",
                    flush=True,
                )
                del level
            del z, t
            gc.collect()
    print()
    print(
        f"connected flood extent (8-connectivity, sources = lowest edge cells, 1 m "
        f"DEMs); best wall time [s]; cimcity on {threads} threads; load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'cells':>5} {'DEM':>6} {'level':>6} {'below':>5} {'wet':>5} | {'cimcity':>7} "
        f"{'1 thread':>8} {'before':>7} {'scipy':>7} | {'vs scipy':>8} "
        f"{'1 thr':>6} {'before':>6} | identical"
    )
    for r in rows:
        print(
            f"{r['cells'] / 1e6:4.0f}M {r['dem']:>6} {r['level']:>6} {r['below']:5.0%} "
            f"{r['wet']:5.0%} | "
            f"{r['t_cc']:7.3f} {r['t_1']:8.3f} {r['t_old']:7.3f} {r['t_sp']:7.3f} | "
            f"{r['t_sp'] / r['t_cc']:7.1f}x {r['t_sp'] / r['t_1']:5.1f}x "
            f"{r['t_sp'] / r['t_old']:5.1f}x | {r['same']}"
        )
    print(
        "vs scipy: scipy time / cimcity time (cimcity threaded, on one thread, and "
        "the previous kernel)"
    )
    if len(sizes) > 1:
        print("scaling with size (time ratio over the four levels, cells ratio):")
        a_n, b_n = sizes[0] ** 2, sizes[-1] ** 2
        for kind in DEMS:
            for how in ("scalar", "grid"):
                a = [r for r in rows if (r["dem"], r["cells"], r["level"]) == (kind, a_n, how)]
                b = [r for r in rows if (r["dem"], r["cells"], r["level"]) == (kind, b_n, how)]
                if not a or not b:
                    continue
                keys = ("t_cc", "t_1", "t_sp") if how == "grid" else ("t_cc", "t_1", "t_old", "t_sp")
                ta = {k: sum(r[k] for r in a) for k in keys}
                tb = {k: sum(r[k] for r in b) for k in keys}
                before = f", before x{tb['t_old'] / ta['t_old']:.0f}" if "t_old" in keys else ""
                print(
                    f"  {kind:6} {how:6} {a_n / 1e6:.0f}M -> {b_n / 1e6:.0f}M cells "
                    f"(x{b_n / a_n:.0f}): cimcity x{tb['t_cc'] / ta['t_cc']:.0f}, 1 thread "
                    f"x{tb['t_1'] / ta['t_1']:.0f}{before}, scipy x{tb['t_sp'] / ta['t_sp']:.0f}"
                )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak resident memory of the benchmark {peak:.1f} GiB")
    return rows


def plot_extent(rows, folder):
    """Two panels: time against cells (50 % level, each DEM), and the speed-up
    over scipy at each level on the largest grid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r["level"] == "scalar"]
    os.makedirs(folder, exist_ok=True)
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = {"smooth": "tab:green", "noisy": "tab:blue", "noise": "tab:red"}
    for kind in DEMS:
        sel = sorted(
            (r for r in rows if r["dem"] == kind and r["below"] == 0.35),
            key=lambda r: r["cells"],
        )
        x = [r["cells"] / 1e6 for r in sel]
        a.loglog(x, [r["t_cc"] for r in sel], "o-", color=colours[kind],
                 label=f"cimcity, {kind}")  # fmt: skip
        a.loglog(x, [r["t_sp"] for r in sel], "s--", color=colours[kind], alpha=0.6,
                 label=f"scipy, {kind}")  # fmt: skip
    a.set_xlabel("DEM cells [millions]")
    a.set_ylabel("wall time [s]")
    a.set_title("Connected flood, level wetting 35 % of the cells")
    a.grid(True, which="both", alpha=0.3)
    a.legend(fontsize=8)
    # the speed-up panel shows the largest grid timed as a best of several
    # runs (above 20 M cells two runs each: page-fault and memory-compaction
    # stalls of the kernel make 100 M timings too noisy for a bar)
    repeated = [r["cells"] for r in rows if r["cells"] <= 20_000_000]
    big = max(repeated or [r["cells"] for r in rows])
    width = 0.25
    for i, kind in enumerate(DEMS):
        sel = sorted(
            (r for r in rows if r["dem"] == kind and r["cells"] == big),
            key=lambda r: r["below"],
        )
        xs = np.arange(len(sel)) + (i - 1) * width
        b.bar(xs, [r["t_sp"] / r["t_cc"] for r in sel], width, color=colours[kind],
              label=f"{kind} (after)")  # fmt: skip
        b.scatter(xs, [r["t_sp"] / r["t_old"] for r in sel], color="k", marker="_",
                  s=120, zorder=3, label="before" if i == 0 else None)  # fmt: skip
    b.axhline(1.0, color="grey", lw=0.8)
    b.axhline(2.0, color="grey", lw=0.8, ls=":")
    b.set_xticks(np.arange(len(LEVELS)), [f"{q:.0%} below" for q in LEVELS])
    b.set_ylabel("speed-up over scipy (scipy time / cimcity time)")
    b.set_title(f"Speed-up by water level, {big / 1e6:.0f} M cells")
    top = max(r["t_sp"] / min(r["t_cc"], r["t_old"]) for r in rows if r["cells"] == big)
    b.set_ylim(0, 1.3 * top)  # room for the legend above the bars
    b.legend(fontsize=8, ncol=2, loc="upper left")
    fig.tight_layout()
    path = os.path.join(folder, "perf_flood.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


def street_grid(n_buildings, side_m, rng):
    """n footprints on a regular block grid over a side_m x side_m area."""
    import geopandas as gpd
    import shapely

    k = int(np.ceil(np.sqrt(n_buildings)))
    pitch = side_m / k
    i, j = np.divmod(np.arange(n_buildings), k)
    w = rng.uniform(0.45, 0.75, n_buildings) * pitch
    d = rng.uniform(0.45, 0.75, n_buildings) * pitch
    x = X0 + (j + 0.5) * pitch
    y = Y0 + (i + 0.5) * pitch
    geoms = shapely.box(x - w / 2, y - d / 2, x + w / 2, y + d / 2)
    storeys = rng.integers(1, 9, n_buildings)
    return gpd.GeoDataFrame(
        {
            "storeys": storeys,
            "height": storeys * rng.uniform(2.8, 3.4, n_buildings),
            "ground_z": 0.0,
            "basement_levels": rng.integers(0, 2, n_buildings),
        },
        geometry=geoms,
        crs="EPSG:2154",
    )


def bench_exposure(n_buildings, n_peer):
    import shapely

    rng = np.random.default_rng(1)
    n = 4000
    z = valley(n, seed=7)
    t = Terrain.from_array(z, (X0, Y0 + n), 1.0)
    level = float(np.quantile(z[::8, ::8], 0.35))
    f = flood.extent(t, level)
    b = street_grid(n_buildings, n, rng)
    scene = cc.Scene()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scene.add_terrain(t)
        scene.add_buildings(b)
    # warm-up (JIT) on a few buildings
    flood.exposure(
        scene.clip((X0, Y0, X0 + 100, Y0 + 100)),
        flood.extent(t.clip((X0, Y0, X0 + 100, Y0 + 100)), level),
    )
    t0, c0 = time.perf_counter(), time.thread_time()
    e = flood.exposure(scene, f)
    t_cc, c_cc = time.perf_counter() - t0, time.thread_time() - c0
    nb = len(e.buildings)
    reached = int(e.buildings["flooded"].sum())
    # peer: rasterstats median over ring polygons (buffer(3) - buffer(1)), subset
    try:
        from rasterstats import zonal_stats
    except ImportError:
        zonal_stats = None
    t_peer = None
    agree = None
    if zonal_stats is not None:
        sub = scene.buildings.geometry.values[:n_peer]
        t0 = time.thread_time()
        rings = shapely.difference(shapely.buffer(sub, 3.0), shapely.buffer(sub, 1.0))
        stats = zonal_stats(
            list(rings), z, affine=t.transform, stats=["median"], nodata=np.nan
        )
        t_peer = (time.thread_time() - t0) / n_peer * nb
        med = np.array([s["median"] for s in stats], float)
        agree = float(
            np.nanmax(np.abs(med - e.buildings["ground_level"].to_numpy()[:n_peer]))
        )
    print()
    print(f"exposure of {nb:,} buildings on a {n}x{n} DEM (1 m), {reached:,} reached")
    print(f"{'tool':<34} {'CPU [s]':>9} {'buildings/s':>12}")
    print(
        f"{'cimcity flood.exposure':<34} {c_cc:9.2f} {nb / c_cc:12,.0f}   (wall {t_cc:.2f} s)"
    )
    if t_peer is not None:
        print(
            f"{'rasterstats zonal_stats (ring)*':<34} {t_peer:9.1f} {nb / t_peer:12,.0f}"
        )
        print(
            f"* timed on {n_peer:,} buildings, scaled to {nb:,}; speed-up x{t_peer / c_cc:.0f}; "
            f"ground level vs rasterstats ring median: max |diff| {agree:.2f} m "
            f"(bilinear samples vs whole cells)"
        )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--sizes",
        type=int,
        nargs="*",
        default=[1000, 4000, 10000],
        help="DEM side lengths in cells (default 1000 4000 10000)",
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--buildings", type=int, default=100_000)
    ap.add_argument("--peer-buildings", type=int, default=2_000)
    ap.add_argument("--plot", metavar="FOLDER", help="write perf_flood.png there")
    ap.add_argument(
        "--level-grids",
        action="store_true",
        help="also flood at sloping per-cell level grids (module docstring)",
    )
    a = ap.parse_args()
    print(f"cimcity {cc.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    rows = bench_extent(a.sizes, a.repeat, a.level_grids)
    if a.plot:
        plot_extent(rows, a.plot)
    if a.buildings:
        bench_exposure(a.buildings, a.peer_buildings)


if __name__ == "__main__":
    main()
