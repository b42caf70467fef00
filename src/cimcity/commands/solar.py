"""``cimcity solar``: annual (or period) irradiation of roofs and facades."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "solar",
        help="solar irradiation of roofs and facades (kWh/m2) and PV potential",
        description="Irradiation of every roof and facade of the bundled sample (or of "
        "given building footprints) over a year or a period, from an EPW weather file "
        "or pvlib clear sky (an upper bound). Writes sensors.gpkg, buildings.csv, "
        "best_roofs.csv and solar_map.png.",
    )
    p.add_argument("--weather", help="EPW weather file (default: pvlib clear sky)")
    p.add_argument(
        "--when",
        help="the period: a day (2023-06-21) or START/END (2023-06-01/2023-09-01, "
        "end exclusive); default: the weather's whole year",
    )
    p.add_argument("--start", help="period start (same as --when START/...)")
    p.add_argument("--end", help="period end, exclusive (same as --when .../END)")
    p.add_argument(
        "--spacing",
        type=float,
        default=2.0,
        help="sensor spacing in metres (default 2)",
    )
    p.add_argument(
        "--surfaces",
        default="roof,wall",
        help="comma-separated surfaces among roof, wall, ground (default roof,wall)",
    )
    p.add_argument("--buildings", help="building footprints file (default: the sample)")
    p.add_argument("--dem", help="DEM GeoTIFF (optional, with --buildings)")
    p.add_argument(
        "--project",
        action="store_true",
        help="sample only: swap the sample's IFC project in",
    )
    p.add_argument("--sky", default="perez", choices=["perez", "isotropic"])
    p.add_argument(
        "--patches",
        default="tregenza",
        help="sky patches: tregenza (145), reinhart (577), reinhartN",
    )
    p.add_argument(
        "--sun-bins",
        default="reinhart",
        help="sun bins for annual totals (default reinhart, 577 cells)",
    )
    p.add_argument("--engine", default="auto", help="ray engine: auto, numba or embree")
    p.add_argument(
        "--trees",
        action="store_true",
        help="trees shade too (crowns from the vegetation layer's trees with a height)",
    )
    p.add_argument("--no-render", action="store_true", help="skip the 3D map")
    p.add_argument(
        "--out", default="solar_out", help="output folder (default: solar_out)"
    )
    p.set_defaults(func=run)


def run(args) -> int:
    import cimcity as cc
    from cimcity import solar

    if args.buildings:
        scene = cc.Scene()
        if args.dem:
            scene.add_terrain(cc.read_dem(args.dem, crs=scene.crs))
        scene.add_buildings(cc.read_buildings(args.buildings, crs=scene.crs))
    else:
        scene = cc.datasets.load("paris", project=args.project)
        if args.project and scene.projects:
            scene = scene.with_project(next(iter(scene.projects.values())))
    if args.weather and not Path(args.weather).exists():
        raise FileNotFoundError(2, "weather file not found", args.weather)
    surfaces = tuple(s.strip() for s in args.surfaces.split(",") if s.strip())
    when = _when(args)
    res = solar.irradiance(
        scene,
        when,
        weather=args.weather,
        spacing=args.spacing,
        surfaces=surfaces,
        engine=args.engine,
        trees=args.trees,
        sky=args.sky,
        patches=args.patches,
        sun_bins=args.sun_bins,
        progress=True,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    m = res.meta
    s = res.summary()
    print(f"{scene!r}")
    print(
        f"weather: {m['weather']['source']}, {m['hours']:g} h, GHI "
        f"{m['weather']['ghi_kwh_m2']} kWh/m2"
        + (" (clear sky: UPPER BOUND)" if m["upper_bound"] else "")
    )
    print(
        f"{s['sensors']:,} sensors at {args.spacing:g} m, {m['rays_traced']:,} rays "
        f"({m['engine']}), {m['timings_s']['total_s']:.1f} s"
    )
    for k, v in s.items():
        if k.endswith("_mean_kwh_m2"):
            print(f"  mean {k[:-12]}: {v} kWh/m2")
    files = [
        res.to_file(out / "sensors.gpkg"),
        res.to_file(out / "buildings.csv", layer="buildings"),
    ]
    best = res.best_roofs(20)
    best.round(1).to_csv(out / "best_roofs.csv")
    files.append(out / "best_roofs.csv")
    if "favourable_roof_area_m2" in s:
        print(
            f"favourable roof area (>= {solar.FAVOURABLE_KWH_M2:g} kWh/m2/yr): "
            f"{s['favourable_roof_area_m2']:,.0f} m2; PV estimate {s['pv_kwh'] / 1e3:,.0f} "
            f"MWh over the period"
        )
        print("best roofs:")
        print(best.head(5).round(1).to_string())
    if not args.no_render:
        try:
            files.append(res.render(out / "solar_map.png"))
        except ImportError as exc:
            print(f"no 3D map: {exc}")
    for f in files:
        print(f"wrote {f}")
    return 0


def _when(args):
    """The period of ``--when`` (a day or START/END) or ``--start``/``--end``."""
    from cimcity.errors import InputError

    if args.when and (args.start or args.end):
        raise InputError("give the period once: --when, or --start/--end")
    if args.when:
        parts = args.when.split("/")
        if len(parts) > 2 or not all(parts):
            raise InputError(
                f"--when {args.when!r}: expected a day (2023-06-21) or START/END "
                "(2023-06-01/2023-09-01)"
            )
        return tuple(parts) if len(parts) == 2 else parts[0]
    return (args.start, args.end) if (args.start or args.end) else None
