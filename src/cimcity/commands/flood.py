"""``cimcity flood``: flood extent and exposed buildings at a water level."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

import cimcity as cc
from cimcity import flood
from cimcity.errors import CimcityWarning, InputError
from cimcity.io.vector import read_vector

from ._common import EXIT_CODES_HELP, SAMPLE, Formatter, add_buildings

#: default gauge of --gauge (cimcity.flood.levels)
DEFAULT_STATION = "austerlitz"


def register(sub) -> None:
    p = sub.add_parser(
        "flood",
        help="flood extent, depths and exposed buildings at a water level",
        formatter_class=Formatter,
        description="Flood a DEM (--dem, with --buildings for the exposure) or the "
        "bundled sample (--sample, flooding from its river) at a water level "
        "(altitude, gauge reading or historic scenario), connected to the river, "
        "and list the buildings, storeys and basements reached.\n\n"
        "Writes flood_depth.tif, flood_extent.gpkg, exposure.csv and exposure.gpkg "
        "(per building), flood_sweep.csv with --sweep, flood_map.png. A level that "
        "floods nothing is an answer (exit 0), said with the lowest ground.",
        epilog=EXIT_CODES_HELP,
    )
    lv = p.add_mutually_exclusive_group(required=True)
    lv.add_argument(
        "--level", type=float, help="water level [m, in the DEM's vertical datum]"
    )
    lv.add_argument(
        "--gauge",
        type=float,
        help="gauge reading [m above the gauge zero] (default gauge: Paris-Austerlitz, "
        "zero 25.92 m NGF-IGN69; 1910 = 8.62, 2016 = 6.10)",
    )
    lv.add_argument(
        "--scenario", choices=["1910", "2016", "2018"], help="historic Seine flood"
    )
    p.add_argument(
        "--station",
        default=None,
        help=f"gauge of --gauge, or of --sweep with --scenario (default {DEFAULT_STATION})",
    )
    p.add_argument("--dem", metavar="FILE", help="DEM GeoTIFF (this or --sample is required)")
    p.add_argument("--sample", action="store_true", help=f"run on {SAMPLE}")
    p.add_argument("--crs", help="target projected CRS for --dem (default: the file's)")
    p.add_argument("--datum", help="vertical datum of --dem when the file does not say")
    p.add_argument(
        "--buildings", metavar="FILE",
        help="building footprints (with --dem) for the exposure",
    )
    p.add_argument(
        "--id-column", metavar="COLUMN",
        help="column of --buildings holding the building ids (default: the one the "
        "reader recognises, e.g. BDNB batiment_c, BD TOPO cleabs); 'none': "
        "generated ids",
    )
    p.add_argument(
        "--sources", help="river polygons/lines file (default: the lowest edge cells)"
    )
    p.add_argument("--mode", choices=["connected", "bathtub"], default="connected")
    p.add_argument("--connectivity", type=int, choices=[4, 8], default=8)
    p.add_argument(
        "--sweep",
        metavar="START:STOP:STEP",
        help="also tabulate area, volume and buildings over a range of levels: water "
        "levels [m] with --level, gauge readings [m] with --gauge or --scenario",
    )
    p.add_argument(
        "--out", default="flood_out", help="output folder (default: flood_out)"
    )
    p.add_argument("--no-map", action="store_true", help="skip the PNG map")
    p.set_defaults(func=run)


def _sweep_values(spec: str):


    try:
        a, b, s = (float(v) for v in spec.split(":"))
    except ValueError:
        raise InputError(
            f"--sweep must be START:STOP:STEP in metres; got {spec!r}"
        ) from None
    if not (s > 0 and b >= a):
        raise InputError(f"--sweep needs STEP > 0 and STOP >= START; got {spec!r}")
    return np.round(np.arange(a, b + s / 2, s), 6)


def _check_arguments(args) -> None:
    """Missing or contradictory options: ``InputError`` (exit 2)."""

    if args.dem and args.sample:
        raise InputError("give --dem FILE or --sample, not both")
    if not args.dem and not args.sample:
        raise InputError(f"give --dem FILE or --sample ({SAMPLE}); no terrain to flood")
    for flag in ("buildings", "crs", "datum", "id_column"):
        if getattr(args, flag) and not args.dem:
            raise InputError(f"--{flag.replace('_', '-')} goes with --dem")
    if args.id_column and not args.buildings:
        raise InputError("--id-column goes with --buildings")
    if args.station and args.level is not None:
        raise InputError(
            "--station goes with --gauge (a reading at that gauge), not --level "
            "(an altitude)"
        )
    if args.station and args.scenario and not args.sweep:
        raise InputError("--station goes with --gauge, or --sweep with --scenario")
    if args.sweep:
        _sweep_values(args.sweep)


def run(args) -> int:



    _check_arguments(args)
    station = args.station or DEFAULT_STATION
    if args.scenario:
        level = flood.scenario(args.scenario)
    elif args.gauge is not None:
        level = flood.gauge_level(args.gauge, station)
    else:
        level = args.level
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    notes = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CimcityWarning)
        if args.dem:
            kw = {"vertical_datum": args.datum} if args.datum else {}
            terrain = cc.read_dem(args.dem, crs=args.crs, **kw)
            scene = None
            if args.buildings:
                scene = cc.Scene(crs=terrain.crs, vertical_datum=terrain.vertical_datum)
                scene.add_terrain(terrain)
                add_buildings(scene, args)
            sources = None
        else:
            scene = cc.datasets.load("paris")
            terrain = scene.terrain
            sources = scene.layers.get("water")
        if args.sources:

            sources = read_vector(
                args.sources, crs=terrain.crs, what="flood sources", polygons=False
            )
        result = flood.extent(
            terrain,
            level,
            sources=sources,
            connectivity=args.connectivity,
            mode=args.mode,
        )
        ex = (
            flood.exposure(scene, result)
            if scene is not None and len(scene.buildings)
            else None
        )
        swept = None
        if args.sweep:
            vals = _sweep_values(args.sweep)
            by_gauge = args.gauge is not None or args.scenario
            levels = flood.gauge_level(vals, station) if by_gauge else vals
            swept = flood.sweep(
                terrain,
                levels,
                scene=scene,
                sources=sources,
                connectivity=args.connectivity,
                mode=args.mode,
            )
    notes = [str(w.message) for w in caught]
    s = result.summary()
    print(f"cimcity flood: {s['level']} on {terrain!r}")
    for n in notes:
        print(f"  note: {n}")
    if s["flooded_cells"]:
        print(
            f"  {args.mode}: {s['flooded_area_m2'] / 1e4:,.2f} ha flooded, "
            f"{s['volume_m3']:,.0f} m3, max depth {s['max_depth_m']:.2f} m, "
            f"mean {s['mean_depth_m']:.2f} m ({s['source_cells']:,} source cells)"
        )
    else:
        low = float(np.nanmin(terrain.elevation))
        print(
            f"  {args.mode}: nothing floods at {s['level']}: the lowest ground of the "
            f"DEM is {low:.2f} m ({terrain.vertical_datum}); a level is an altitude in "
            "the DEM's datum (a reading at a gauge goes with --gauge)"
            if s["level_m"] is not None and s["level_m"] < low
            else f"  {args.mode}: nothing floods at {s['level']} from the "
            f"{s['source_cells']:,} source cells"
        )
    if args.mode == "bathtub":
        print(
            f"  of which not connected to the sources: {s['disconnected_area_m2']:,.0f} m2"
        )
    files = [
        result.to_file(out / "flood_depth.tif"),
        result.to_file(out / "flood_extent.gpkg"),
    ]
    if ex is not None:
        e = ex.summary()
        # None is unknown (a reached building without storeys or height, or no
        # DEM data around any building): said so, never printed as a number
        storeys = "unknown" if e["flooded_storeys"] is None else e["flooded_storeys"]
        depth = (
            "unknown"
            if e["max_water_depth_m"] is None
            else f"{e['max_water_depth_m']:.2f} m"
        )
        print(
            f"  buildings reached {e['flooded_buildings']} of {e['buildings']}, "
            f"{e['buildings_with_flooded_storeys']} with flooded storeys "
            f"({storeys} storeys), {e['basements_flooded']} basements, "
            f"max water depth at a building {depth}"
        )
        if e["unknown_buildings"] > 0:
            print(
                f"  {e['unknown_buildings']} buildings unknown: no DEM data around "
                "them, whether the water reaches them is not known"
            )
        files.append(ex.to_file(out / "exposure.csv"))
        gpkg = out / "exposure.gpkg"
        for layer, t in ex.tables().items():  # buildings, parcels, zones
            if len(t):
                ex.to_file(gpkg, layer=layer)
        files.append(gpkg)
    if swept is not None:
        table = swept.table
        table.to_csv(out / "flood_sweep.csv", index=False)
        files.append(out / "flood_sweep.csv")
        print(table.round(2).to_string(index=False))
    if not args.no_map:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ax = ex.plot() if ex is not None else result.plot()
        ax.figure.savefig(out / "flood_map.png", dpi=150, bbox_inches="tight")
        plt.close(ax.figure)
        files.append(out / "flood_map.png")
    for f in files:
        print(f"  wrote {f}")
    return 0
