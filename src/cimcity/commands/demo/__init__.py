"""``cimcity demo``: load the bundled sample and run every analysis on it.

The steps are the modules of this package, one per topic, each with
``run(scene, out: pathlib.Path, echo) -> dict`` (``echo(str)`` prints a line);
a step writes its files under ``out`` and returns a short summary.
"""

from __future__ import annotations

import importlib
import json
import time
import warnings
from pathlib import Path

import cimcity as cc
from cimcity.errors import CimcityWarning

#: order in which the demo runs its steps
STEPS = ("scene", "solar", "shadow", "flood", "vegetation", "permit", "heat", "page")


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="run the demo on the bundled Paris-like sample district",
        description="Load the bundled sample district (Paris 17e-like, Lambert-93), "
        "print a summary and write renders, tables and reports of every analysis.",
    )
    p.add_argument("--out", default="demo_out", help="output folder (default: demo_out)")
    p.add_argument(
        "--only",
        nargs="*",
        default=None,
        choices=STEPS,
        metavar="STEP",
        help=f"run only these steps, among {', '.join(STEPS)} (default: all)",
    )
    p.set_defaults(func=run)


def run(args) -> int:


    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    def echo(line: str = "") -> None:
        print(line, flush=True)

    echo(f"cimcity {cc.__version__} demo -> {out.resolve()}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CimcityWarning)
        scene = cc.datasets.load("paris")
    for w in caught:
        echo(f"  note: {w.message}")
    echo(f"loaded {scene!r} in {time.perf_counter() - t0:.1f} s")
    summary = {"scene": None}
    steps = args.only or STEPS
    failed = []
    for name in steps:
        mod = importlib.import_module(f"cimcity.commands.demo.{name}")
        t = time.perf_counter()
        echo(f"\n[{name}]")
        try:
            summary[name] = mod.run(scene, out, echo)
        except Exception as exc:  # one failing step must not hide the others
            failed.append(name)
            echo(f"  FAILED: {type(exc).__name__}: {exc}")
            continue
        echo(f"  ({time.perf_counter() - t:.1f} s)")
    total = time.perf_counter() - t0
    summary["wall_time_s"] = round(total, 1)
    summary["failed_steps"] = failed
    (out / "demo_summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False, default=str)
    )
    echo(f"\ndemo finished in {total:.1f} s; outputs in {out.resolve()}")
    if failed:
        echo(f"failed steps: {', '.join(failed)}")
        return 1
    return 0
