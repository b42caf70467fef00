"""``cimcity run``: a whole-city analysis from files, in tiles on Dask
(:func:`cimcity.parallel.run`)."""

from __future__ import annotations

from pathlib import Path

from cimcity import parallel
from cimcity.errors import InputError

from ._common import (
    ENGINES,
    EXIT_CODES_HELP,
    EXIT_FAILED,
    Formatter,
    patches_type,
    positive_float,
    surfaces_type,
)
from .solar import _when


def register(sub) -> None:
    p = sub.add_parser(
        "run",
        help="whole-city solar, sun-hours, flood, vegetation or heat in tiles (Dask)",
        formatter_class=Formatter,
        description="Run an analysis over a whole city from files, tile by tile: "
        "each worker reads its tile (core + halo) by box, computes, and writes the "
        "core's rows to OUT/<table>/<tile>.parquet (GeoParquet) with "
        "OUT/manifest.json. Rerunning the same command skips finished tiles; "
        "--tiles reruns some. Per-building tables by default; sensor-level with "
        "--sensors.",
        epilog=EXIT_CODES_HELP + "\n1 also means: some tiles failed (named; rerun).",
    )
    p.add_argument("analysis", choices=parallel.ANALYSES)
    p.add_argument("--buildings", metavar="FILE", help="footprints: GeoParquet "
                   "(bbox covering), GeoPackage, FlatGeobuf or any OGR vector")
    p.add_argument("--dem", metavar="FILE", help="DEM GeoTIFF or VRT (required by flood)")
    p.add_argument("--id-column", metavar="COLUMN", help="buildings id column")
    p.add_argument("--tile-size", type=positive_float, default=1000.0,
                   help="tile core side in metres (default 1000)")
    p.add_argument("--halo", type=float, help="margin around each core in metres "
                   "(default: from the data and the period, see docs/scale.md)")
    p.add_argument("--out", default="city_run", help="output folder (default city_run)")
    p.add_argument("--scheduler", default="distributed", choices=parallel.RUN_SCHEDULERS,
                   help="distributed (a LocalCluster, or --scheduler-address), "
                   "threads or serial")
    p.add_argument("--scheduler-address", metavar="ADDR",
                   help="an existing Dask scheduler (tcp://host:8786)")
    p.add_argument("--tiles", help="comma-separated tile ids to (re)run")
    p.add_argument("--sensors", action="store_true", help="also write sensor-level tables")
    # the single-machine options
    p.add_argument("--weather", metavar="EPW", help="EPW weather file (solar: default clear "
                   "sky; heat: required)")
    p.add_argument("--when", help="a day or START/END (solar, sunhours, heat)")
    p.add_argument("--start", help="period start")
    p.add_argument("--end", help="period end, exclusive")
    p.add_argument("--spacing", type=positive_float, default=2.0,
                   help="sensor spacing (heat: person-point grid) in metres (default 2)")
    p.add_argument("--cell-size", type=positive_float, default=100.0,
                   help="heat: side of the aggregate cells in metres (default 100)")
    p.add_argument("--surfaces", type=surfaces_type, default=("roof", "wall"),
                   help="roof,wall (default)")
    p.add_argument("--patches", type=patches_type, default="tregenza", help="sky patches")
    p.add_argument("--sun-bins", type=patches_type, default="reinhart", help="sun bins")
    p.add_argument("--engine", default="auto", choices=ENGINES, help="ray engine")
    p.add_argument("--step", default="6min", help="sun-hours time step (default 6min)")
    p.add_argument("--level", type=float, help="flood: water level [m]")
    p.add_argument("--river", metavar="FILE", help="flood: the river (polygon or line "
                   "vector file), where the water comes from")
    p.add_argument("--parcels", metavar="FILE", help="vegetation: the units (parcels)")
    p.add_argument("--vegetation", metavar="FILE", help="vegetation: polygons with a kind")
    p.set_defaults(func=run)


def run(args) -> int:
    a = args.analysis
    kw = {}
    if a in ("solar", "sunhours"):
        when = _when(args)
        if a == "sunhours" and when is None:
            raise InputError("cimcity run sunhours needs --when (a day or START/END)")
        kw.update(when=when, spacing=args.spacing, surfaces=args.surfaces, engine=args.engine)
        if a == "solar":
            if args.weather and not Path(args.weather).exists():
                raise FileNotFoundError(2, "weather file not found", args.weather)
            kw.update(weather=args.weather, patches=args.patches, sun_bins=args.sun_bins)
        else:
            kw.update(step=args.step)
    elif a == "heat":
        if not args.weather:
            raise InputError("cimcity run heat needs --weather EPW")
        if not Path(args.weather).exists():
            raise FileNotFoundError(2, "weather file not found", args.weather)
        kw.update(weather=args.weather, when=_when(args), spacing=args.spacing,
                  cell_size=args.cell_size)
    elif a == "flood":
        if args.level is None or not args.river:
            raise InputError("cimcity run flood needs --level M and --river FILE")
        import geopandas as gpd

        kw.update(level=args.level, sources=gpd.read_file(args.river))
    client = None
    if args.scheduler_address:
        from distributed import Client

        client = Client(args.scheduler_address)
    try:
        res = parallel.run(
            a, args.buildings, args.dem, tile_size=args.tile_size, out=args.out,
            client=client, halo=args.halo, scheduler=args.scheduler,
            tiles=args.tiles.split(",") if args.tiles else None, sensors=args.sensors,
            parcels=args.parcels, vegetation=args.vegetation, id_column=args.id_column,
            progress=None, **kw,
        )
    except parallel.TileError as exc:
        print(f"cimcity run: {' '.join(str(exc).split())}")
        return EXIT_FAILED
    finally:
        if client is not None:
            client.close()
    m = res.manifest
    tiles = m["tiles"].values()
    done = [t for t in tiles if t["status"] == "done"]
    h = m["halo"]
    print(f"{a}: {len(done)} tiles of {args.tile_size:g} m, halo {h['halo_m']:g} m "
          f"({h['rule']})" + (f"; exact above {h['exact_above_deg']:g}° sun" if "exact_above_deg" in h else ""))
    print(f"{sum(t.get('rows', 0) for t in done):,} rows in {m['wall_s']:.1f} s; "
          f"peak worker memory {max([t.get('peak_rss_mb', 0) for t in done] or [0]):,.0f} MB")
    for table in sorted({k for t in done for k in t.get("parts", {})}):
        print(f"wrote {Path(args.out) / table}/ ({len(done)} parts)")
    print(f"wrote {Path(args.out) / 'manifest.json'}")
    return 0




