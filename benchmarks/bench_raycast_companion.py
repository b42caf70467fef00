"""Does a second tracing thread slow the first? numba vs raw embreex, Paris 11e.

One thread traces 200,000 random rays (uniform origins in the district's
bounds, upward directions: the ``random uniform`` rows of
``bench_raycast.py``) while the other core either idles, spins on registers
(no memory traffic), or traces other rays of the same engine. If the two
threads contended for the shared L3 or memory, the rate with a tracing
neighbour would drop below the rate with a spinning one. Each figure is the
best of 7 runs, ns a ray, for ``ROUNDS`` rounds; numba kernels are those the
public queries run (``bvh_wide32``), raw embreex runs on float32 arrays.

Run: ``python benchmarks/bench_raycast_companion.py`` (needs
``../shared/data/france`` and embreex).
"""

from __future__ import annotations

import threading
import time

import numpy as np
from bench_raycast import paris11, raw_embree
from numba import njit

from cimcity._kernels import bvh_wide32 as W
from cimcity.raycast import numba_engine as ne

N = 200_000
ROUNDS = 3


@njit(nogil=True)
def spin(n):
    """A dependent chain of float operations on registers only."""
    x = 1.0
    y = 0.5
    for _ in range(n):
        x = x * 0.9999999 + y
        y = y * 0.9999998 + 1e-9
    return x + y


def tracer(mesh, engine, query, seed):
    """A call tracing N random uniform rays (fixed seed) with one engine."""
    b = ne.bvh(mesh)
    w = ne.wide_bvh(mesh)
    rng = np.random.default_rng(seed)
    lo, hi = mesh.bounds
    d = rng.normal(size=(N, 3))
    d[:, 2] = np.abs(d[:, 2])
    o = rng.uniform(lo, hi, (N, 3))
    tmax = np.array([np.inf])
    out = np.empty(N, bool)
    dist = np.empty(N)
    face = np.empty(N, np.int64)
    if engine == "raw embreex":
        scene = raw_embree(mesh)
        o32 = (o - mesh.origin).astype(np.float32)
        d32 = (d / np.linalg.norm(d, axis=1)[:, None]).astype(np.float32)
        if query == "any-hit":
            return lambda: scene.run(o32, d32, query="OCCLUDED")
        return lambda: scene.run(o32, d32, output=1)
    common = (b.nodes, b.refs, b.tri)
    if query == "any-hit":
        args = (*w.f32(), *common, b.depth, w.bound, mesh.origin, o, d, 1e-6, tmax, out)
        return lambda: W.occluded_wide32_rays(*args, 0, N)
    args = (*w.f32(), *common, b.tri_face, b.depth, w.bound, mesh.origin, o, d)
    args = (*args, 1e-6, tmax, dist, face)
    return lambda: W.intersect_wide32_rays(*args, 0, N)


def timed_with(main, other, companion):
    """Best ns a ray of ``main`` while the other core runs ``companion``."""
    stop = threading.Event()

    def run():
        while not stop.is_set():
            if companion == "spinning":
                spin(2_000_000)
            elif companion == "tracing":
                other()
            else:
                return

    th = threading.Thread(target=run)
    th.start()
    time.sleep(0.05)
    best = np.inf
    for _ in range(7):
        t0 = time.perf_counter()
        main()
        best = min(best, time.perf_counter() - t0)
    stop.set()
    th.join()
    return best / N * 1e9


def main():
    mesh = paris11()
    spin(1000)
    res = {}
    for _ in range(ROUNDS):
        for query in ("any-hit", "closest"):
            for engine in ("numba", "raw embreex"):
                me = tracer(mesh, engine, query, 1)
                other = tracer(mesh, engine, query, 2)
                me()
                other()
                for companion in ("alone", "spinning", "tracing"):
                    key = (query, engine, companion)
                    res.setdefault(key, []).append(timed_with(me, other, companion))
    print(f"Paris 11e, {N:,} random uniform rays on one thread, ns a ray (best of 7),")
    print(f"{ROUNDS} rounds; the other core idle, spinning on registers, or tracing")
    print(f"{'query':8} {'engine':12} {'alone':>14} {'spinning':>14} {'tracing':>14}")
    for query in ("any-hit", "closest"):
        for engine in ("numba", "raw embreex"):
            cells = []
            for companion in ("alone", "spinning", "tracing"):
                v = res[(query, engine, companion)]
                cells.append(f"{min(v):6.1f}-{max(v):6.1f}")
            print(f"{query:8} {engine:12} " + " ".join(f"{c:>14}" for c in cells))


if __name__ == "__main__":
    main()
