"""``cimcity shadow``: shadow polygons, sun-hours and a project's impact."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

from cimcity import shadow
from cimcity.errors import InputError
from cimcity.sun.position import as_period, as_times

from ._common import (
    ENGINES,
    EXIT_CODES_HELP,
    EXIT_NO_RESULT,
    Formatter,
    add_scene_arguments,
    check_scene_arguments,
    load_scene,
    output_file,
    positive_float,
    surfaces_type,
)

#: suffixes accepted by --sensors (cimcity.results.Result.to_file)
SENSOR_SUFFIXES = (".parquet", ".geoparquet", ".gpkg", ".csv")


def register(sub) -> None:
    p = sub.add_parser(
        "shadow",
        help="shadows and sun-hours on a day (and a project's impact on its neighbours)",
        formatter_class=Formatter,
        description="Ground shadow polygons at given times, sun-hours of the open "
        "ground, roofs and facades over the day, and optionally (--sample --project) "
        "the sun-hours the neighbours lose to the sample's IFC project.\n\n"
        "Writes shadows_DAY.gpkg (one polygon per building and instant), "
        "sun_hours_by_building_DAY.csv and sun_hours_by_building_DAY.parquet "
        "(per building and surface), sun_hours_ground_DAY.tif (open ground); "
        "sensor-level sun-hours only with --sensors. A --time when the sun is below "
        "the horizon is named with the sun's elevation; when it is so at every "
        "--time, nothing is computed and the exit code is 3.",
        epilog=EXIT_CODES_HELP,
    )
    p.add_argument(
        "--when", "--date", dest="when", required=True,
        help="local day, e.g. 2024-12-21 (--date is the old name)",
    )
    p.add_argument(
        "--time",
        action="append",
        default=None,
        help="local time HH:MM of shadow polygons (repeatable; default: every hour "
        "with the sun up)",
    )
    add_scene_arguments(p)
    p.add_argument(
        "--project",
        action="store_true",
        help="with --sample: also compute the impact of the sample's IFC project",
    )
    p.add_argument("--step", default="6min", help="sun-hours time step (default 6min)")
    p.add_argument(
        "--spacing",
        type=positive_float,
        default=2.0,
        help="sensor spacing in metres (default 2)",
    )
    p.add_argument(
        "--surfaces",
        type=surfaces_type,
        default=("roof", "wall", "ground"),
        help="comma-separated surfaces for sun-hours among roof, wall, ground "
        "(default roof,wall,ground)",
    )
    p.add_argument("--no-sun-hours", action="store_true", help="shadow polygons only")
    p.add_argument(
        "--sensors",
        nargs="?",
        const="sun_hours_sensors.parquet",
        metavar="FILE",
        help="also write sensor-level sun-hours (one row per sensor) to FILE in the "
        "output folder: .parquet/.geoparquet (GeoParquet, default name "
        "sun_hours_sensors.parquet), .gpkg or .csv",
    )
    p.add_argument("--animate", action="store_true", help="also write shadows_DAY.gif")
    p.add_argument(
        "--engine", default="auto", choices=ENGINES,
        help="ray engine (default auto: embree when installed, else numba)",
    )
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
    check_scene_arguments(args)  # before any import: a missing scene exits 2 at once




    if args.sensors:
        output_file(args.sensors, SENSOR_SUFFIXES, "--sensors")
    start, end = as_period(args.when)
    day = f"{start:%Y-%m-%d}"
    asked = [as_times(f"{day} {t}")[0] for t in args.time or ()]
    try:  # a typo in --step exits 2 now, before the scene is read
        ok = pd.to_timedelta(args.step) > pd.Timedelta(0)
    except ValueError:
        ok = False
    if not ok:
        raise InputError(
            f"--step {args.step!r} is not a positive duration; expected e.g. 6min, "
            "15min, 1h"
        )
    scene = load_scene(args)
    if args.project and not scene.projects:  # pragma: no cover - the sample has one
        raise InputError("--project needs a scene with an IFC project")
    print(f"{scene!r}")
    if asked:
        sun = shadow.sun_table(scene, asked)
        down = sun[sun["elevation"] <= 0]
        times = list(sun.index[sun["elevation"] > 0])
        if len(down):
            rise, set_ = _daylight(shadow, scene, start, end)
            at = ", ".join(
                f"{t:%H:%M} (sun elevation {e:.1f}°)"
                for t, e in zip(down.index, down["elevation"])
            )
            up = f"the sun is up from {rise} to {set_}" if rise else "the sun stays down"
            msg = f"the sun is below the horizon at {at} on {day} ({start.tz}); {up}"
            if not times:
                print(
                    f"cimcity shadow: no result: no shadow to draw: {msg}",
                    file=sys.stderr,
                )
                return EXIT_NO_RESULT
            print(f"cimcity shadow: note: no shadow where {msg}", file=sys.stderr)
    else:
        hours = pd.date_range(start, end, freq="1h", inclusive="left")
        sun = shadow.sun_table(scene, hours)
        times = list(sun.index[sun["elevation"] > 0])
        if not times:
            print(
                f"cimcity shadow: no result: the sun stays below the horizon on {day} "
                "at this site",
                file=sys.stderr,
            )
            return EXIT_NO_RESULT
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    t0 = time.perf_counter()
    poly = shadow.polygons(scene, times)
    if len(poly):
        path = out / f"shadows_{day}.gpkg"
        poly.assign(time=poly["time"].astype(str)).to_file(path)
        files.append(path)
    print(
        f"shadow polygons: {len(poly):,} rows at {len(times)} instants "
        f"({time.perf_counter() - t0:.2f} s)"
        + ("" if len(poly) else ": no building casts a shadow (no building?)")
    )
    if not args.no_sun_hours:
        t0 = time.perf_counter()
        res = shadow.sun_hours(
            scene,
            day,
            step=args.step,
            spacing=args.spacing,
            surfaces=args.surfaces,
            engine=args.engine,
            trees=args.trees,
            progress=None,  # a bar on a terminal only (cimcity._progress)
        )
        if len(res.by_building):
            files.append(
                res.to_file(out / f"sun_hours_by_building_{day}.csv", "by_building")
            )
            files.append(
                res.to_file(out / f"sun_hours_by_building_{day}.parquet", "by_building")
            )
        if res.ground is not None:
            files.append(res.to_file(out / f"sun_hours_ground_{day}.tif"))
        if args.sensors:
            files.append(res.to_file(out / args.sensors, "sensors"))
        print(f"sun-hours ({time.perf_counter() - t0:.1f} s): {res!r}")
        for k, v in res.summary().items():
            print(f"  {k}: {'unknown' if v is None else v}")
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


def _daylight(shadow, scene, start, end):
    """Local sunrise and sunset (HH:MM, to the minute) of the day, or (None, None)."""

    minutes = pd.date_range(start, end, freq="1min", inclusive="left")
    up = (shadow.sun_table(scene, minutes)["elevation"] > 0).to_numpy()
    if not up.any():
        return None, None
    first, last = up.argmax(), len(up) - 1 - up[::-1].argmax()
    return f"{minutes[first]:%H:%M}", f"{minutes[last]:%H:%M}"
