"""``cimcity shadow``: shadow polygons, sun-hours and a project's impact."""

from __future__ import annotations

from pathlib import Path

from ._common import add_scene_arguments, load_scene


def register(sub) -> None:
    p = sub.add_parser(
        "shadow",
        help="shadows and sun-hours on a day (and a project's impact on its neighbours)",
        description="Ground shadow polygons at given times, sun-hours of the open "
        "ground, roofs and facades over the day, and optionally the sun-hours the "
        "neighbours lose to the sample's IFC project.",
    )
    p.add_argument(
        "--when", "--date", dest="when", required=True,
        help="local day, e.g. 2024-12-21 (--date is the old name)",
    )
    p.add_argument(
        "--time",
        action="append",
        default=None,
        help="local time of shadow polygons (repeatable; default: every hour with sun)",
    )
    add_scene_arguments(p)
    p.add_argument(
        "--project",
        action="store_true",
        help="sample only: also compute the impact of the sample's IFC project",
    )
    p.add_argument("--step", default="6min", help="sun-hours time step (default 6min)")
    p.add_argument(
        "--spacing",
        type=float,
        default=2.0,
        help="sensor spacing in metres (default 2)",
    )
    p.add_argument(
        "--surfaces",
        default="roof,wall,ground",
        help="comma-separated surfaces for sun-hours (default roof,wall,ground)",
    )
    p.add_argument("--no-sun-hours", action="store_true", help="shadow polygons only")
    p.add_argument("--animate", action="store_true", help="also write shadows.gif")
    p.add_argument("--engine", default="auto", help="ray engine: auto, numba or embree")
    p.add_argument(
        "--trees",
        action="store_true",
        help="trees shade too (crowns from the vegetation layer's trees with a height)",
    )
    p.add_argument(
        "--out", default="shadow_out", help="output folder (default: shadow_out)"
    )
    p.set_defaults(func=run)


def run(args) -> int:
    import time

    import pandas as pd

    from cimcity import shadow
    from cimcity.errors import InputError
    from cimcity.sun.position import as_period

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scene = load_scene(args)
    if args.project and not scene.projects:
        raise InputError(
            "--project needs a scene with an IFC project (the bundled sample)"
        )
    start, end = as_period(args.when)
    day = f"{start:%Y-%m-%d}"
    print(f"{scene!r}")
    if args.time:
        times = [f"{day} {t}" for t in args.time]
    else:
        hours = pd.date_range(start, end, freq="1h", inclusive="left")
        sun = shadow.sun_table(scene, hours)
        times = list(sun.index[sun["elevation"] > 0])
    files = []
    t0 = time.perf_counter()
    poly = shadow.polygons(scene, times)
    if len(poly):
        path = out / f"shadows_{day}.gpkg"
        poly.assign(time=poly["time"].astype(str)).to_file(path)
        files.append(path)
    print(
        f"shadow polygons: {len(poly)} rows at {len(times)} instants "
        f"({time.perf_counter() - t0:.2f} s)"
    )
    if not args.no_sun_hours:
        t0 = time.perf_counter()
        surfaces = tuple(s.strip() for s in args.surfaces.split(",") if s.strip())
        res = shadow.sun_hours(
            scene,
            day,
            step=args.step,
            spacing=args.spacing,
            surfaces=surfaces,
            engine=args.engine,
            trees=args.trees,
            progress=True,
        )
        files.append(res.to_file(out / f"sun_hours_{day}.gpkg"))
        files.append(
            res.to_file(out / f"sun_hours_by_building_{day}.csv", "by_building")
        )
        if res.ground is not None:
            files.append(res.to_file(out / f"sun_hours_ground_{day}.tif"))
        print(f"sun-hours ({time.perf_counter() - t0:.1f} s): {res!r}")
        for k, v in res.summary().items():
            print(f"  {k}: {v}")
    if args.project:
        t0 = time.perf_counter()
        bim = next(iter(scene.projects.values()))
        after = scene.with_project(bim)
        imp = shadow.impact(
            scene,
            after,
            [day],
            step=args.step,
            spacing=args.spacing,
            engine=args.engine,
            trees=args.trees,
        )
        files.append(imp.to_file(out / f"impact_worst_{day}.csv", "worst"))
        files.append(imp.to_file(out / f"impact_by_building_{day}.csv", "by_building"))
        print(f"impact of project {bim.id} ({time.perf_counter() - t0:.1f} s): {imp!r}")
    if args.animate:
        files.append(shadow.animate(scene, day, out / f"shadows_{day}.gif"))
    for f in files:
        print(f"wrote {f}")
    return 0
