"""Annual solar irradiation: cimcity fast path (coarse-first), cimcity exact, raw embreex.

Cases (each in a fresh subprocess, so peak memory is per case): the bundled
sample district (113 buildings + 1 m DEM) and the real Paris 11e buildings
(BDNB, 5,227 footprints, ``../shared/data/france``), roofs and facades at 2 m
and 1 m (Paris 11e at 1 m with ``--full``).

Every case runs, in one process on the same sensors, a full annual study on
the Paris-Orly EPW (145 Tregenza patches, Tregenza sun bins: one visibility
matrix) twice with ``engine="auto"`` (what a user gets): the fast path
(``exact=False``: each plane's sensor grid traced coarse first on the numba BVH
packets, the scattered pairs through ``raycast.occluded`` (numba),
``cimcity.sun.reuse``) and ``exact=True`` (every pair traced by the numba BVH
packets, the default); then the peer, **raw embreex**
(``EmbreeScene.run(query="OCCLUDED")`` on float32 arrays, one Python thread
per core) tracing the same sensor x patch pairs in front of each sensor.
``--top 2`` (or 4, 8) sets the coarsest step ``cimcity.sun.reuse.TOP_STEP``
(the ``"proven"`` rule then narrows it to cells of at most
``reuse.MAX_CELL_M``: 4 at 1 m, 2 at 2 m); ``--rules proven corners`` times
both inference rules (``"corners"``: the first rule, the "before").

Columns
-------
pairs        sensor x direction pairs in front of the sensors
fast s       wall time of the visibility (trace) part, coarse first
exact s      the same, every pair traced (numba BVH packets)
embreex s    raw embreex on the same pairs (rays only: a lower bound of a
             peer study)
x exact, x embreex   exact s / fast s, embreex s / fast s (same run, same load)
traced %     pairs the fast path traced (the rest inferred from coarser sensors)
rule         inference rule and coarsest step used (``proven 4``)
pairs diff % sky pairs whose blocked bit differs from exact
sensor rel   fast vs exact, relative error of each sensor's annual
             irradiation: p99 and max
bld rel      relative error of per-building roof and facade totals: p99, max
load         1-minute load average at the end (2 cores: > 2 means other
             processes shared the machine)

JIT: each subprocess first runs tiny studies (both paths) outside the timed
part.

Run: ``python benchmarks/bench_solar.py [--quick] [--full]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CIMCITY_SHARED_DATA", ROOT.parent / "shared" / "data"))
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


def _warm():
    """Compile (or load) every kernel of both paths outside the timed part."""
    import geopandas as gpd
    import shapely

    import cimcity as cc

    s = cc.Scene()
    s.add_buildings(
        gpd.GeoDataFrame(
            {"height": [10.0, 20.0]},
            geometry=[
                shapely.box(6.5e5, 6.86e6, 6.5e5 + 10, 6.86e6 + 10),
                shapely.box(6.5e5 + 20, 6.86e6, 6.5e5 + 30, 6.86e6 + 10),
            ],
            crs="EPSG:2154",
        )
    )
    for exact in (False, True):
        cc.solar.irradiance(
            s,
            ("2023-06-21", "2023-06-22"),
            spacing=2.0,
            engine="auto",
            progress=False,
            exact=exact,
        )


def _sky_bits(mesh, fast):
    """Sky visibility bits of the fast (``":reuse"`` store) or exact trace."""
    from cimcity.sun import visibility as vis

    stores = mesh.cache.get(vis.VIS_KEY, mesh.token, dict)
    got = [v for k, v in stores.items() if k.endswith(":reuse") == fast]
    return next(iter(got[-1].sky.values())).copy() if got else None


def _drop_fast_stores(mesh):
    """Forget the fast path's visibility (the next rule traces afresh)."""
    from cimcity.sun import visibility as vis

    stores = mesh.cache.get(vis.VIS_KEY, mesh.token, dict)
    for k in [k for k in stores if k.endswith(":reuse")]:
        stores.pop(k)


def run_case(scene_name, spacing, peer=True, top=None, rules=("proven",)):
    warnings.simplefilter("ignore")
    import numpy as np

    import cimcity as cc
    from cimcity.sun import reuse

    if top:
        reuse.TOP_STEP = int(top)
    _warm()
    scene = _scene(scene_name)
    out = {"scene": scene_name, "spacing": spacing}
    res = {}  # only the arrays compared: one result in memory at a time
    cols = ["roof_irradiation", "wall_irradiation"]
    from cimcity import raycast

    for name in ("numba", "embree"):  # BVH builds out of the timed traces
        try:
            raycast.prepare(scene.mesh(), name)
        except Exception:  # embreex missing: auto falls back to numba
            pass
    mesh = None
    bits = {}
    runs = [(False, r) for r in rules] + [(True, None)]
    for exact, rule in runs:
        if rule:
            reuse.RULE = rule
        t0 = time.perf_counter()
        r = cc.solar.irradiance(
            scene,
            weather=EPW,
            spacing=spacing,
            engine="auto",
            patches="tregenza",
            sun_bins="tregenza",
            progress=False,
            exact=exact,
        )
        m = r.meta
        key = "exact" if exact else rule
        out[f"{key}_s"] = m["timings_s"]["trace_sky_s"] + m["timings_s"]["trace_sun_s"]
        out[f"{key}_total_s"] = time.perf_counter() - t0
        res[key] = (
            r.sensors["irradiation"].to_numpy(),
            r.by_building[cols].to_numpy(float),
        )
        v = m["visibility"]
        if not exact:
            out[f"{key}_traced_share"] = v["rays"] / max(v["pairs"], 1)
            out[f"{key}_top"] = v.get("top", reuse.TOP_STEP)
            bits[rule] = _sky_bits(r.mesh, fast=True)
        out["sensors"] = m["sensors"]
        out["pairs"] = v["pairs"]
        mesh = r.mesh
        if not exact:  # the next rule traces afresh (the stores are keyed on sensors)
            _drop_fast_stores(mesh)
        del r
        gc.collect()
    out["top"] = reuse.TOP_STEP
    out["rules"] = list(rules)
    a, eb = res["exact"]
    ex_bits = _sky_bits(mesh, fast=False)
    ok = np.isfinite(eb) & (eb > 0)
    for rule in rules:
        f, fb = res[rule]
        diff = np.unpackbits(np.bitwise_xor(ex_bits, bits[rule])).sum()
        out[f"{rule}_pairs_diff"] = int(diff) / max(out["pairs"], 1)
        d = np.abs(f - a) / np.maximum(a, 1e-9)
        out[f"{rule}_err_p99"] = float(np.percentile(d, 99)) if len(d) else 0.0
        out[f"{rule}_err_max"] = float(d.max()) if len(d) else 0.0
        rel = np.abs(fb[ok] - eb[ok]) / eb[ok]
        out[f"{rule}_bld_p99"] = float(np.percentile(rel, 99)) if rel.size else 0.0
        out[f"{rule}_bld_max"] = float(rel.max()) if rel.size else 0.0
    del res, mesh, bits, ex_bits
    gc.collect()
    out.update(_peer(scene, spacing) if peer else {"embreex_s": float("nan")})
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["load"] = os.getloadavg()[0]
    return out


def _peer(scene, spacing):
    """Raw embreex, one thread per core: the same sensors x patches in front."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    try:
        from embreex import rtcore_scene
        from embreex.mesh_construction import TriangleMesh
    except ImportError:
        return {"embreex_s": float("nan")}
    from cimcity.sun import sky
    from cimcity.sun.sensors import sample_scene

    mesh = scene.mesh()
    S = sample_scene(scene, spacing)
    es = rtcore_scene.EmbreeScene()
    TriangleMesh(es, mesh.vertices.astype(np.float32), mesh.faces.astype(np.int32))
    dirs = sky.tregenza().directions
    pts = S.points - mesh.origin
    es.run(pts[:1].astype(np.float32), dirs[:1].astype(np.float32), query="OCCLUDED")
    step = 20_000

    def run(i):
        p, n = pts[i : i + step], S.normals[i : i + step]
        ii, jj = np.nonzero(n @ dirs.T > 0)
        o = (p[ii] + 1e-3 * dirs[jj]).astype(np.float32)  # tmin 1 mm, as cimcity
        hit = es.run(o, dirs[jj].astype(np.float32), query="OCCLUDED")
        return int((hit != -1).sum()), len(ii)  # OCCLUDED: 0 blocked, -1 free

    threads = len(os.sched_getaffinity(0))
    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        got = list(pool.map(run, range(0, len(pts), step)))
    return {
        "embreex_s": time.perf_counter() - t0,
        "embreex_pairs": sum(g[1] for g in got),
    }


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


HEAD = (
    f"{'scene':<8} {'sp m':>4} {'rule':<9} {'sensors':>10} {'pairs':>12} {'fast s':>7} "
    f"{'exact s':>7} {'embreex s':>9} {'x exact':>7} {'x embreex':>9} {'traced %':>8} "
    f"{'pairs diff %':>12} {'sensor rel p99/max':>18} {'bld rel p99/max':>16} "
    f"{'peak MB':>8} {'load':>5}"
)


def _rows(r):
    if "error" in r:
        return [f"{r['scene_name']:<8} {r['spacing']:>4} ERROR {r['error']}"]
    out = []
    for rule in r["rules"]:
        fast = r[f"{rule}_s"]
        out.append(
            f"{r['scene']:<8} {r['spacing']:>4g} "
            f"{rule + ' ' + str(r.get(f'{rule}_top', r['top'])):<9} {r['sensors']:>10,} "
            f"{r['pairs']:>12,} {fast:>7.1f} {r['exact_s']:>7.1f} "
            f"{r['embreex_s']:>9.1f} {r['exact_s'] / fast:>7.2f} "
            f"{r['embreex_s'] / fast:>9.2f} {100 * r[f'{rule}_traced_share']:>8.1f} "
            f"{100 * r[f'{rule}_pairs_diff']:>12.4f} "
            f"{100 * r[f'{rule}_err_p99']:>8.2f}%/{100 * r[f'{rule}_err_max']:>7.1f}% "
            f"{100 * r[f'{rule}_bld_p99']:>7.2f}%/{100 * r[f'{rule}_bld_max']:>6.1f}% "
            f"{r['peak_mb']:>8.0f} {r['load']:>5.1f}"
        )
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="sample district only")
    ap.add_argument("--full", action="store_true", help="also Paris 11e at 1 m")
    ap.add_argument("--only", choices=("sample", "paris11"), help="one scene")
    ap.add_argument("--spacing", type=float, nargs="*", help="spacings [m]")
    ap.add_argument("--top", type=int, default=None, help="coarsest step (TOP_STEP)")
    ap.add_argument("--no-peer", action="store_true", help="skip raw embreex")
    ap.add_argument(
        "--rules",
        nargs="*",
        default=["proven"],
        choices=("proven", "corners"),
        help="inference rules of the fast path to time (corners: the first rule)",
    )
    ap.add_argument("--case", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.case:
        print(json.dumps(run_case(**json.loads(a.case))))
        return 0
    if not EPW.exists():
        print(f"needs {EPW}")
        return 1
    opt = dict(peer=not a.no_peer, top=a.top, rules=a.rules)
    cases = [dict(scene_name="sample", spacing=sp, **opt) for sp in (2.0, 1.0)]
    if not a.quick and PARIS11.exists():
        cases += [
            dict(scene_name="paris11", spacing=sp, **opt)
            for sp in ((2.0, 1.0) if a.full else (2.0,))
        ]
    if a.only:
        cases = [c for c in cases if c["scene_name"] == a.only] or [
            dict(scene_name=a.only, spacing=sp, **opt) for sp in (2.0, 1.0)
        ]
    if a.spacing:
        cases = [dict(c, spacing=sp) for c in cases[:1] for sp in a.spacing]
    print(
        f"cimcity solar visibility, {os.cpu_count()} CPUs, EPW {EPW.name}, 145 Tregenza "
        f"patches (sky and sun bins), annual; fast = coarse first, exact = every pair"
    )
    print(HEAD)
    print("-" * len(HEAD))
    results = []
    for c in cases:
        r = _spawn(c)
        results.append(r)
        print("\n".join(_rows(r)), flush=True)
    ok = [r for r in results if "error" not in r]
    for a_, b_ in zip(ok, ok[1:], strict=False):
        if a_["scene"] == b_["scene"]:
            print(
                f"{a_['scene']} {a_['spacing']:g} m -> {b_['spacing']:g} m: pairs x"
                f"{b_['pairs'] / a_['pairs']:.1f}, fast x"
                f"{b_[a.rules[0] + '_s'] / a_[a.rules[0] + '_s']:.1f}, "
                f"exact x{b_['exact_s'] / a_['exact_s']:.1f}, embreex "
                f"x{b_['embreex_s'] / a_['embreex_s']:.1f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
