"""Scaling plot of incoherent rays from a saved ``bench_raycast.py`` log.

``python benchmarks/bench_raycast.py | tee rays.log`` then
``python benchmarks/plot_raycast_log.py rays.log docs/img/perf_rays.png``:
rays per CPU-second (the bench's ``Mr/cpu-s`` column, fair on a shared
machine) against the number of random rays, for cimcity's numba engine (the
float32 8-wide BVH), its float64 wide reference, cimcity's Embree engine
(logs that have it) and raw embreex, per scene,
any-hit and closest hit. Nothing is measured here: the figure only draws the
log's rows.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict

ROW = re.compile(
    r"^(?P<scene>grid \d+x\d+|Paris 11e \(BDNB\))\s+\d+\s+(?P<rays>\d+)\s+"
    r"(?P<engine>numba wide f64|numba|embreex raw|embree) (?P<query>any|closest) random "
    r"(?P<origin>sensors|uniform) \d+k\s+[\d.]+\s+[\d.]+\s+[\d.-]+\s+(?P<cpu>[\d.]+)"
)
STYLE = {
    "numba": ("cimcity numba (wide f32)", "tab:green", "o", "-"),
    "numba wide f64": ("cimcity numba (wide f64)", "tab:olive", "s", ":"),
    "embreex raw": ("raw embreex", "tab:blue", "^", "--"),
    "embree": ('cimcity engine="embree"', "tab:purple", "D", "-."),
}


def read(path):
    """{(scene, query, origin): {engine: [(rays, M rays per CPU-s)]}} of the
    log's last run (a log may hold several, each after a ``# run`` line)."""
    out = defaultdict(lambda: defaultdict(list))
    for line in open(path, encoding="utf-8"):
        if line.startswith("# run"):
            out.clear()
        m = ROW.match(line)
        if m:
            key = (m["scene"].replace(" (BDNB)", ""), m["query"], m["origin"])
            out[key][m["engine"]].append((int(m["rays"]), float(m["cpu"])))
    return out


def plot(rows, dest):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenes = sorted({k[0] for k in rows}, key=lambda s: (s.startswith("Paris"), s))
    fig, axes = plt.subplots(2, len(scenes), figsize=(3.4 * len(scenes), 6.4),
                             sharex=True, squeeze=False)
    for j, scene in enumerate(scenes):
        for i, query in enumerate(("any", "closest")):
            ax = axes[i, j]
            for origin, alpha in (("uniform", 1.0), ("sensors", 0.45)):
                series = rows.get((scene, query, origin), {})
                for engine, (label, colour, marker, ls) in STYLE.items():
                    pts = sorted(series.get(engine, []))
                    if not pts:
                        continue
                    ax.plot([p[0] / 1e6 for p in pts], [p[1] for p in pts],
                            color=colour, marker=marker, ls=ls, alpha=alpha,
                            label=f"{label}, {origin}")
            ax.set_xscale("log")
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
            ax.set_title(f"{scene}: {'any-hit' if query == 'any' else 'closest hit'}",
                         fontsize=10)
            if j == 0:
                ax.set_ylabel("M rays per CPU-second")
            if i == 1:
                ax.set_xlabel("random rays [millions]")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle("Incoherent rays: throughput against ray count (uniform origins "
                 "solid, from sensors pale)", fontsize=11)
    fig.tight_layout(rect=(0, 0.08, 1, 0.96))
    fig.savefig(dest, dpi=110)
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: plot_raycast_log.py BENCH_LOG OUT.png")
    rows = read(sys.argv[1])
    if not rows:
        sys.exit(f"no random-ray rows found in {sys.argv[1]}")
    print(plot(rows, sys.argv[2]))
