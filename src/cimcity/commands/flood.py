"""``cimcity flood``: flood extent and exposed buildings at a water level."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "flood",
        help="flood extent, depths and exposed buildings at a water level",
        description="Flood a DEM at a water level (altitude, gauge reading or historic "
        "scenario), connected to the river, and list the buildings, storeys and "
        "basements reached. Without --dem, runs on the bundled Paris sample, "
        "flooding from its river.",
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
        "--station", default="austerlitz", help="gauge for --gauge (default austerlitz)"
    )
    p.add_argument("--dem", help="DEM GeoTIFF (default: the bundled sample)")
    p.add_argument("--crs", help="target projected CRS for --dem (default: the file's)")
    p.add_argument("--datum", help="vertical datum of --dem when the file does not say")
    p.add_argument(
        "--buildings", help="building footprints (with --dem) for the exposure"
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
    import numpy as np

    from cimcity.errors import InputError

    try:
        a, b, s = (float(v) for v in spec.split(":"))
    except ValueError:
        raise InputError(
            f"--sweep must be START:STOP:STEP in metres; got {spec!r}"
        ) from None
    if not (s > 0 and b >= a):
        raise InputError(f"--sweep needs STEP > 0 and STOP >= START; got {spec!r}")
    return np.round(np.arange(a, b + s / 2, s), 6)


def run(args) -> int:
    import warnings

    import cimcity as cc
    from cimcity import flood
    from cimcity.errors import CimcityWarning

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.scenario:
        level = flood.scenario(args.scenario)
    elif args.gauge is not None:
        level = flood.gauge_level(args.gauge, args.station)
    else:
        level = args.level
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
                scene.add_buildings(cc.read_buildings(args.buildings, crs=terrain.crs))
            sources = None
        else:
            scene = cc.datasets.load("paris")
            terrain = scene.terrain
            sources = scene.layers.get("water")
        if args.sources:
            import geopandas as gpd

            sources = gpd.read_file(args.sources)
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
            levels = flood.gauge_level(vals, args.station) if by_gauge else vals
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
    print(
        f"  {args.mode}: {s['flooded_area_m2'] / 1e4:,.2f} ha flooded, "
        f"{s['volume_m3']:,.0f} m3, max depth {s['max_depth_m']:.2f} m, "
        f"mean {s['mean_depth_m']:.2f} m ({s['source_cells']} source cells)"
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
        print(
            f"  buildings reached {e['flooded_buildings']} of {e['buildings']}, "
            f"{e['buildings_with_flooded_storeys']} with flooded storeys "
            f"({e['flooded_storeys']} storeys), {e['basements_flooded']} basements, "
            f"max water depth at a building {e['max_water_depth_m']:.2f} m"
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
