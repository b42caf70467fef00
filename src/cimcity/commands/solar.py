"""``cimcity solar``: annual (or period) irradiation of roofs and facades."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cimcity import solar
from cimcity.errors import InputError
from cimcity.results import plain

from ._common import (
    CAMERAS,
    ENGINES,
    EXIT_CODES_HELP,
    Formatter,
    add_scene_arguments,
    check_scene_arguments,
    load_scene,
    output_file,
    patches_type,
    positive_float,
    surfaces_type,
)

#: suffixes accepted by --sensors (cimcity.results.Result.to_file)
SENSOR_SUFFIXES = (".parquet", ".geoparquet", ".gpkg", ".csv")


def register(sub) -> None:
    p = sub.add_parser(
        "solar",
        help="solar irradiation of roofs and facades (kWh/m2) and PV potential",
        formatter_class=Formatter,
        description="Irradiation of every roof and facade of given building "
        "footprints (--buildings) or of the bundled sample (--sample) over a year or "
        "a period, from an EPW weather file or pvlib clear sky (an upper bound).\n\n"
        "Writes per-building totals (buildings.parquet, GeoParquet with footprints; "
        "buildings.csv), best_roofs.csv and solar_map.png. Sensor-level values "
        "(one row per sensor, large at city scale) only with --sensors.",
        epilog=EXIT_CODES_HELP,
    )
    p.add_argument("--weather", metavar="EPW", help="EPW weather file (default: pvlib clear sky)")
    p.add_argument(
        "--when",
        help="the period: a day (2023-06-21) or START/END (2023-06-01/2023-09-01, "
        "end exclusive); default: the weather's whole year",
    )
    p.add_argument("--start", help="period start (same as --when START/...)")
    p.add_argument("--end", help="period end, exclusive (same as --when .../END)")
    p.add_argument(
        "--spacing",
        type=positive_float,
        default=2.0,
        help="sensor spacing in metres (default 2)",
    )
    p.add_argument(
        "--surfaces",
        type=surfaces_type,
        default=("roof", "wall"),
        help="comma-separated surfaces among roof, wall, ground (default roof,wall)",
    )
    add_scene_arguments(p)
    p.add_argument(
        "--project",
        action="store_true",
        help="with --sample: swap the sample's IFC project in",
    )
    p.add_argument(
        "--sky", default="perez", choices=["perez", "isotropic"],
        help="diffuse sky model (default perez)",
    )
    p.add_argument(
        "--patches",
        type=patches_type,
        default="tregenza",
        help="sky patches: tregenza (145, default), reinhart (577), reinhartN (MF:N)",
    )
    p.add_argument(
        "--sun-bins",
        type=patches_type,
        default="reinhart",
        help="sun bins for annual totals: tregenza, reinhart (577 cells, default), "
        "reinhartN",
    )
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
        "--sensors",
        nargs="?",
        const="sensors.parquet",
        metavar="FILE",
        help="also write the sensor-level table (one row per sensor) to FILE in the "
        "output folder: .parquet/.geoparquet (GeoParquet, the default name "
        "sensors.parquet), .gpkg or .csv",
    )
    p.add_argument("--camera", default="iso", choices=CAMERAS, help="view of solar_map.png")
    p.add_argument("--no-render", action="store_true", help="skip the 3D map")
    p.add_argument(
        "--out", default="solar_out", help="output folder (default: solar_out)"
    )
    p.set_defaults(func=run)


def run(args) -> int:
    check_scene_arguments(args)  # before any import: a missing scene exits 2 at once


    if args.sensors:
        output_file(args.sensors, SENSOR_SUFFIXES, "--sensors")
    if args.weather and not Path(args.weather).exists():
        raise FileNotFoundError(2, "weather file not found", args.weather)
    when = _when(args)
    scene = load_scene(args, project=args.project)
    if args.project:
        if not scene.projects:  # pragma: no cover - the sample has one
            raise FileNotFoundError(2, "the sample has no IFC project")
        scene = scene.with_project(next(iter(scene.projects.values())))
    res = solar.irradiance(
        scene,
        when,
        weather=args.weather,
        spacing=args.spacing,
        surfaces=args.surfaces,
        engine=args.engine,
        trees=args.trees,
        sky=args.sky,
        patches=args.patches,
        sun_bins=args.sun_bins,
        progress=None,  # a bar on a terminal only (cimcity._progress)
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    m = res.meta
    s = res.summary()
    print(f"{scene!r}")
    ghi = plain(m["weather"]["ghi_kwh_m2"])
    print(
        f"weather: {m['weather']['source']}, {plain(m['hours']):g} h, GHI "
        + ("unknown" if ghi is None else f"{ghi:,.{0 if ghi >= 100 else 1}f} kWh/m2")
        + (" (clear sky: UPPER BOUND)" if m["upper_bound"] else "")
    )
    print(
        f"{s['sensors']:,} sensors at {args.spacing:g} m, {s['rays_traced']:,} rays "
        f"({m['engine']}), {s['total_s']:.1f} s"
    )
    for k, v in s.items():
        if k.endswith("_mean_kwh_m2"):
            print(f"  mean {k[:-12]}: {v:,.1f} kWh/m2")
    files = []
    B = res.by_building
    if len(B):
        files.append(res.to_file(out / "buildings.parquet", layer="buildings"))
        files.append(res.to_file(out / "buildings.csv", layer="buildings"))
    if args.sensors:
        files.append(res.to_file(out / args.sensors, layer="sensors"))
    if "favourable_roof_area_m2" in s:
        best = res.best_roofs(20)
        best.round(1).to_csv(out / "best_roofs.csv")
        files.append(out / "best_roofs.csv")
        print(
            f"favourable roof area (>= {solar.FAVOURABLE_KWH_M2:g} kWh/m2/yr): "
            f"{s['favourable_roof_area_m2']:,.0f} m2; PV estimate {s['pv_kwh'] / 1e3:,.0f} "
            f"MWh over the period"
        )
        print("best roofs:")
        print(best.head(5).round(1).to_string())
    if not args.no_render:
        try:
            files.append(res.render(out / "solar_map.png", camera=args.camera))
        except ImportError as exc:
            print(f"no 3D map: {exc}")
    for f in files:
        print(f"wrote {f}")
    return 0


def _when(args):
    """The period of ``--when`` (a day or START/END) or ``--start``/``--end``."""

    if args.when and (args.start or args.end):
        raise InputError("give the period once: --when, or --start/--end")
    if args.when:
        parts = args.when.split("/")
        if len(parts) > 2 or not all(parts):
            raise InputError(
                f"--when {args.when!r}: expected a day (2023-06-21) or START/END "
                "(2023-06-01/2023-09-01)"
            )
        when = tuple(parts) if len(parts) == 2 else parts[0]
        flags = ("--when",) * len(parts)
    elif args.start or args.end:
        when, flags = (args.start, args.end), ("--start", "--end")
    else:
        return None
    # a typo in a date exits 2 now, before the scene is read
    for part, flag in zip(when if isinstance(when, tuple) else (when,), flags):
        if part is not None:
            _date(part, flag)
    return when


def _date(text, flag):


    try:
        pd.Timestamp(text)
    except (ValueError, TypeError):
        raise InputError(
            f"{flag} {text!r} is not a date; expected e.g. 2023-06-21"
        ) from None
