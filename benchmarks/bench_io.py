"""Benchmark: the readers against what a user would otherwise write.

1. IFC: ``cimcity.read_ifc`` against a bare ifcopenshell geometry iteration of
   the same file with the same settings (multi-threaded iterator, world
   coordinates, building elements, same kernel, vertices and faces copied to
   numpy), on the real test models and on synthetic projects of growing size
   (``write_project_ifc`` with 5, 20 and 80 storeys). The ratio is the cost of
   what read_ifc adds: georeferencing, storeys, element table, footprint union,
   surface kinds (one ray per upward face), floor areas.
2. Vector: ``cc.read_buildings`` (Paris 11e BDNB, 5,227 buildings) and
   ``cc.read_cadastre`` (Paris 18e Etalab, 6,821 parcels) against plain
   ``geopandas.read_file`` + ``to_crs("EPSG:2154")``.
3. CityJSON: ``read_cityjson`` (file → Scene with footprints and heights)
   against cjio's reader (parse only, timed in a child process: importing
   cjio changes the json module's float encoding for the whole process and
   corrupts pyproj CRS round trips) and a plain ``json.load``, and
   ``write_cityjson`` of the same scene.

Times are the best of ``--repeat`` runs after one warm-up run (no JIT in these
paths; the warm-up fills the OS file cache and imports).

Run: python benchmarks/bench_io.py [--repeat 3] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import cimcity as cc
from cimcity.datasets.ifc_writer import write_project_ifc
from cimcity.io.cityjson import read_cityjson, write_cityjson
from cimcity.io.ifc import read_ifc

ROOT = Path(__file__).resolve().parents[1]
KERNEL = "hybrid-cgal-simple-opencascade"


def best(fn, repeat):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def best_pair(a, b, repeat):
    """Best wall and CPU (all threads) times of a and b, run alternately so a
    changing machine load hits both alike."""
    a()
    b()
    wall = [[], []]
    cpu = [[], []]
    for _ in range(repeat):
        for k, fn in enumerate((a, b)):
            t, c = time.perf_counter(), time.process_time()
            fn()
            wall[k].append(time.perf_counter() - t)
            cpu[k].append(time.process_time() - c)
    return min(wall[0]), min(wall[1]), min(cpu[0]), min(cpu[1])


def bare_ifcopenshell(path, kernel=KERNEL):
    """What a user writes with ifcopenshell alone: iterate, copy to numpy."""
    import ifcopenshell
    import ifcopenshell.geom

    f = ifcopenshell.open(str(path))
    s = ifcopenshell.geom.settings()
    s.set("use-world-coords", True)
    it = ifcopenshell.geom.iterator(
        s,
        f,
        multiprocessing.cpu_count(),
        include=["IfcBuildingElement"],
        geometry_library=kernel,
    )
    n = 0
    if it.initialize():
        while True:
            g = it.get().geometry
            np.asarray(g.verts, float).reshape(-1, 3)
            n += len(np.asarray(g.faces, np.int64)) // 3
            if not it.next():
                break
    return n


def synthetic_ifc(tmp, storeys):
    poly = [(0, 0), (30, 0), (30, 14), (18, 14), (18, 26), (0, 26)]
    mc = dict(
        eastings=652_000.0,
        northings=6_862_000.0,
        orthogonal_height=35.0,
        x_axis_abscissa=0.8,
        x_axis_ordinate=0.6,
    )
    return write_project_ifc(
        tmp / f"synthetic_{storeys}.ifc", poly, [3.0] * storeys, mc
    )


def bench_ifc(data, repeat, tmp):
    files = []
    for name, kw in [
        ("geographic-referencing_IFC4.ifc", {"scene_crs": "EPSG:25832"}),
        ("IfcOpenHouse_IFC4.ifc", {}),
        ("Duplex_A_20110907.ifc", {"scene_crs": "EPSG:32616"}),
        ("AC20-FZK-Haus.ifc", {}),
        ("Office_A_20110811.ifc", {"scene_crs": "EPSG:32619"}),
    ]:
        p = data / "ifc" / name
        if p.exists():
            files.append((name, p, kw))
    sample = ROOT / "data" / "samples" / "paris" / "projet_r7.ifc"
    if sample.exists():
        files.append(("sample projet_r7.ifc", sample, {}))
    for n in (5, 20, 80):
        files.append((f"synthetic {n} storeys", synthetic_ifc(tmp, n), {}))
    print(
        f"\nIFC: read_ifc vs bare ifcopenshell iteration ({KERNEL}, "
        f"{multiprocessing.cpu_count()} threads), best of {repeat}"
    )
    print(
        "(wall: elapsed s; cpu: CPU s of all threads, less sensitive to machine load)"
    )
    print(
        f"{'file':28s} {'MB':>5s} {'faces':>6s} {'bare wall':>9s} {'read wall':>9s} "
        f"{'ratio':>5s} {'bare cpu':>8s} {'read cpu':>8s} {'ratio':>5s} {'faces/s':>8s}"
    )
    rows = []
    for name, p, kw in files:
        faces = bare_ifcopenshell(p)

        def run(p=p, kw=kw):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return read_ifc(p, **kw)

        wb, wr, cb, cr = best_pair(lambda p=p: bare_ifcopenshell(p), run, repeat)
        mb = p.stat().st_size / 1e6
        rows.append((name, mb, faces, wb, wr, cb, cr))
        print(
            f"{name:28s} {mb:5.2f} {faces:6d} {wb:9.3f} {wr:9.3f} "
            f"{wr / max(wb, 1e-9):5.2f} {cb:8.3f} {cr:8.3f} {cr / max(cb, 1e-9):5.2f} "
            f"{faces / wr:8.0f}"
        )
    return rows


def bench_vector(data, repeat):
    import geopandas as gpd

    print(f"\nVector readers vs geopandas.read_file + to_crs(2154), best of {repeat}")
    print(
        f"{'file':40s} {'rows':>6s} {'geopandas s':>11s} {'cimcity s':>10s} {'ratio':>6s} "
        f"{'cpu ratio':>9s}"
    )
    cases = [
        (
            "Paris 11e buildings (BDNB)",
            data / "france" / "bdnb_paris11_batiments.shp",
            "read_buildings",
        ),
        (
            "Paris 18e cadastre (Etalab)",
            data / "france" / "cadastre-75118-parcelles.json",
            "read_cadastre",
        ),
    ]
    for name, p, fn in cases:
        if not p.exists():
            print(f"{name:40s} (missing {p})")
            continue
        reader = getattr(cc, fn, None)
        if reader is None:
            print(f"{name:40s} (cimcity.{fn} not available)")
            continue

        def plain(p=p):
            return gpd.read_file(p).to_crs("EPSG:2154")

        def ours(p=p, reader=reader):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return reader(p)

        n = len(plain())
        t_gpd, t_cc, c_gpd, c_cc = best_pair(plain, ours, repeat)
        print(
            f"{name:40s} {n:6d} {t_gpd:11.3f} {t_cc:10.3f} {t_cc / t_gpd:6.2f} "
            f"{c_cc / c_gpd:9.2f}"
        )


#: cjio's reader timed in a child process: importing cjio changes the json
#: module's float encoding for the whole process, which corrupts pyproj CRS
#: round trips (and so every read_cityjson timed after it)
_CJIO_TIMER = """
import sys, time
try:
    from cjio import cityjson
except ImportError:
    print("n/a")
    raise SystemExit(0)
path, repeat = sys.argv[1], int(sys.argv[2])
def run():
    with open(path) as fh:
        return cityjson.reader(fh)
run()
times = []
for _ in range(repeat):
    t = time.perf_counter()
    run()
    times.append(time.perf_counter() - t)
print(min(times))
"""


def cjio_time(path, repeat) -> float | None:
    """Best time [s] of cjio's reader on ``path`` (warm-up excluded), run in a
    separate Python process; None when cjio is not installed or fails."""
    out = subprocess.run(
        [sys.executable, "-c", _CJIO_TIMER, str(path), str(repeat)],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def bench_cityjson(data, repeat, tmp):
    print(
        f"\nCityJSON: read_cityjson (→ Scene) vs cjio reader and json.load; "
        f"write_cityjson; best of {repeat}"
    )
    print(
        f"{'file':32s} {'MB':>5s} {'objects':>7s} {'json s':>7s} {'cjio s':>7s} "
        f"{'read s':>7s} {'write s':>7s}"
    )
    for name, kw in [
        ("cjio_DH_01_subs.city.json", {"crs": "EPSG:28992"}),
        ("cjio_multi_lod.json", {"crs": "EPSG:28992"}),
        ("cjio_rotterdam_subset.json", {"crs": "EPSG:28992"}),
        ("cjio_zurich_subset_lod2.json", {}),
        ("cjio_delft.json", {}),
    ]:
        p = data / "cityjson" / name
        if not p.exists():
            continue
        n = len(json.loads(p.read_text())["CityObjects"])
        t_json = best(lambda p=p: json.loads(p.read_text()), repeat)
        t = cjio_time(p, repeat)
        t_cjio = f"{t:7.3f}" if t is not None else "    n/a"

        def read(p=p, kw=kw):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return read_cityjson(p, **kw)

        t_read = best(read, repeat)
        scene = read()
        t_write = best(lambda s=scene: write_cityjson(s, tmp / "out.city.json"), repeat)
        print(
            f"{name:32s} {p.stat().st_size / 1e6:5.2f} {n:7d} {t_json:7.3f} {t_cjio} "
            f"{t_read:7.3f} {t_write:7.3f}"
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--only", choices=("ifc", "vector", "cityjson"), default=None)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if a.only in (None, "ifc"):
            bench_ifc(a.data, a.repeat, tmp)
        if a.only in (None, "vector"):
            bench_vector(a.data, a.repeat)
        if a.only in (None, "cityjson"):
            bench_cityjson(a.data, a.repeat, tmp)


if __name__ == "__main__":
    main()
