"""``cimcity heat``: mean radiant temperature, UTCI and cool refuges in a heat wave.

With ``--project IFC`` the same day is computed before and after the project is
placed in the scene (:func:`cimcity.heat.impact`, same points and hours). The
project goes through the checks of ``cimcity check`` before any heat is
computed (:func:`cimcity.permit.read_project` refuses an IFC whose
georeference cannot place it in the scene, :func:`cimcity.permit.check_placement`
a footprint off its parcels or a base off its ground, exit 2), and the command
writes the before / after / change maps at the hottest hour, the per-point and
per-street/parcel/zone tables, the change raster and a summary.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import cimcity as cc
from cimcity import heat, i18n, permit
from cimcity.errors import GeoreferenceError, InputError
from cimcity.heat import comfort, scenarios
from cimcity.results import plain, write_geotiff
from cimcity.sun.position import scene_site

from ._common import (
    EXIT_CODES_HELP,
    Formatter,
    add_scene_arguments,
    check_scene_arguments,
    load_scene,
    placement_type,
    positive_float,
)

#: weather scenarios of ``--scenario``
SCENARIOS = ("hottest-week", "paris50")

i18n.add_terms({
    "heat_typical_year": ("typical weather year", "année météo type"),
    "heat_wave": ("Heat wave", "Canicule"),
    "heat_no_point": ("Buildings, no data", "Bâtiments, sans donnée"),
    "heat_change_tmrt": ("Change of Tmrt, after − before",
                         "Variation de la Tmrt, après − avant"),
    "heat_change_utci": ("Change of UTCI, after − before",
                         "Variation de l'UTCI, après − avant"),
    "heat_change_head": ("Change", "Variation"),
    "heat_project_outline": ("project", "projet"),
}, units={"heat_change_tmrt": "K", "heat_change_utci": "K"})

#: ``--project`` without a file: the bundled sample's IFC (with ``--sample``)
SAMPLE_PROJECT = "<sample>"
#: the project's surroundings in the summary: open ground within this many
#: times the project's height of its footprint [-] (beyond, its shade at the
#: hottest hour of a summer afternoon, sun above ~20°, does not reach)
SURROUNDINGS = 3.0


def register(sub) -> None:
    p = sub.add_parser(
        "heat",
        help="heat wave: mean radiant temperature, UTCI and cool refuges at "
        "pedestrian height",
        formatter_class=Formatter,
        description="Mean radiant temperature (Tmrt) and felt temperature (UTCI) "
        "at 1.1 m on a ground grid of the scene, hour by hour over a heat-wave "
        "day, and the cool refuges (open ground that stays at or below moderate "
        "heat stress, UTCI <= 32 °C, at the 3 hottest hours) per street, parcel "
        "and zone.\n\nWeather scenarios from an EPW: hottest-week (the 7 days of "
        "highest mean daily maximum) or paris50 (that week morphed into a heat "
        "dome peaking at --peak °C, Belcher et al. 2005 shift-and-stretch, vapour "
        "pressure kept). Default day: the scenario's hottest day.\n\nWrites "
        "heat_points.parquet (one row per point: Tmrt, UTCI, hours of stress, "
        "refuge), tmrt_max.tif, utci_max.tif, refuges_streets.csv, "
        "refuges_parcels.csv, refuges_zones.csv and heat_map.png.\n\n"
        "With --project IFC: the same day before and after the project is placed "
        "in the scene (cimcity.heat.impact, same points and hours; the project "
        "is refused, exit 2, when it does not stand on its parcels or its "
        "ground, as `cimcity check` refuses it). Writes heat_impact_points.parquet "
        "(one row per point of open ground in both scenes: Tmrt and UTCI at the "
        "hottest hour before and after and their change, hours of strong heat "
        "stress before and after, distance to the project), heat_impact_streets"
        ".csv, heat_impact_parcels.csv, heat_impact_zones.csv, "
        "delta_tmrt_hottest.tif and heat_impact_map.png (before, after, change). "
        "Default area: the project's footprint grown by 4 times its height.",
        epilog=EXIT_CODES_HELP,
    )
    p.add_argument("--weather", metavar="EPW", required=True,
                   help="EPW weather file (air temperature, humidity, wind, sky)")
    p.add_argument("--scenario", default="hottest-week", choices=SCENARIOS,
                   help="weather scenario (default hottest-week)")
    p.add_argument("--peak", type=float, default=50.0,
                   help="paris50: air temperature of the hottest hour, °C (default 50)")
    p.add_argument("--when", help="the day to simulate inside the scenario "
                   "(2023-08-15); default: the day of its hottest hour")
    p.add_argument("--spacing", type=positive_float, default=2.0,
                   help="grid spacing in metres (default 2)")
    p.add_argument("--area", metavar="XMIN,YMIN,XMAX,YMAX",
                   help="study area in the scene CRS (default: the whole scene; with "
                   "--project, its footprint grown by 4 times its height)")
    add_scene_arguments(p)
    p.add_argument("--project", dest="project_ifc", metavar="IFC", nargs="?",
                   const=SAMPLE_PROJECT,
                   help="IFC project (IFC2X3 / IFC4): the heat study before and "
                   "after it is placed in the scene; with --sample and no file, "
                   "the sample's project")
    p.add_argument("--placement", help="with --project: x,y,z[,rotation_deg], where "
                   "the IFC origin goes [m, scene CRS] and the angle from east to the "
                   "project x axis, counter-clockwise [deg]; wins over the file's "
                   "georeference (as in cimcity check)")
    p.add_argument("--parcel-id", nargs="+", help="with --project: parcel id(s) of "
                   "the project (default: the parcels under its footprint)")
    p.add_argument("--parcels", metavar="FILE", help="with --buildings: cadastre "
                   "(Etalab parcelles GeoJSON or any vector file), the project's land "
                   "and the per-parcel tables")
    p.add_argument("--lang", choices=i18n.LANGUAGES, default=None,
                   help="language of the map (default: CIMCITY_LANG, else fr)")
    p.add_argument("--no-map", action="store_true", help="skip heat_map.png")
    p.add_argument("--out", default="heat_out", help="output folder (default: heat_out)")
    p.set_defaults(func=run)


def run(args) -> int:
    check_scene_arguments(args)
    ifc = _project_arguments(args)
    if not Path(args.weather).exists():
        raise FileNotFoundError(2, "weather file not found", args.weather)
    area = _area(args.area)
    day = _day(args.when)
    scene = load_scene(args, project=False)
    if args.parcels:
        scene.add_parcels(cc.read_cadastre(args.parcels, crs=scene.crs))
    if ifc is not None:
        # refused here, before any heat is computed, as `cimcity check` refuses it
        bim, after = place_project(scene, ifc, args.placement, args.parcel_id)
    lat, lon = _site(scene)
    met = scenarios.hottest_week(args.weather, latitude=lat, longitude=lon)
    if args.scenario == "paris50":
        met = scenarios.heat_dome(met, args.peak)
    if day is None:
        day = met.air["temp_air"].idxmax().normalize()
    else:
        day = day.tz_localize(met.times.tz) if day.tzinfo is None else day
    if not ((met.times >= day) & (met.times < day + pd.Timedelta(days=1))).any():
        raise InputError(
            f"--when {args.when}: the {args.scenario} scenario runs from "
            f"{met.times[0]:%Y-%m-%d} to {met.times[-1]:%Y-%m-%d}; pick a day inside"
        )
    met_day = met.select((day, day + pd.Timedelta(days=1)))
    if ifc is not None:
        return run_project(args, scene, after, bim, met, met_day, day, area)
    res = _run(scene, met_day, args.spacing, area if area is not None
               else _default_area(scene))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    title = i18n.term("heat_wave", args.lang) + (
        f" {args.peak:g} °C" if args.scenario == "paris50" else "")
    files = write_outputs(res, scene, out, lang=args.lang, draw=not args.no_map,
                          title=title)
    print(f"{scene!r}")
    print(f"weather: {met.source}; scenario {args.scenario}, "
          f"{met.meta['start']:%Y-%m-%d} to {met.meta['end'] - pd.Timedelta(days=1):%Y-%m-%d}"
          f"; day simulated {day:%Y-%m-%d}, air {met_day.air['temp_air'].min():.1f} to "
          f"{met_day.air['temp_air'].max():.1f} °C")
    s = files.pop("summary")
    print(f"{s['points']:,} points at {args.spacing:g} m; Tmrt max {s['tmrt_max_c']:.1f} °C, "
          f"UTCI max " + ("unknown" if s["utci_max_c"] is None
                          else f"{s['utci_max_c']:.1f} °C"))
    print("hours of strong heat stress or worse (UTCI > 32 °C), mean per point: "
          + ("unknown" if s["strong_hours_mean"] is None
             else f"{s['strong_hours_mean']:.1f} h"))
    share = s["refuge_share"]
    print("cool refuges at the hottest hours: "
          + ("unknown" if share is None else
             f"{share:.0%} of the open ground ({s['refuge_area_m2']:,.0f} m2)"))
    for f in files.values():
        print(f"wrote {f}")
    return 0


def _with_land_cover(scene, spacing):
    if "landcover" in scene.rasters:
        return scene
    # lawns, trees' ground, water and buildings from the scene's layers (the
    # rest taken as paved, said by a DataQualityWarning) rather than all paved
    scene = scene.copy()
    scene.add_vegetation(scenarios.land_cover(scene, spacing=min(1.0, spacing)),
                         raster="landcover")
    return scene


def _run(scene, met, spacing, area):
    scene = _with_land_cover(scene, spacing)
    # the 3D path: the vegetation layer's tree crowns cast their shade
    return heat.tmrt(scene, met, spacing=spacing, area=area, timeseries=True,
                     method="mesh", progress=None)


# -- --project: before and after the project ------------------------------------------
def _project_arguments(args):
    """The IFC of ``--project`` (None without it); options that go with it."""
    ifc = args.project_ifc
    if ifc is None:
        for flag in ("placement", "parcel_id"):
            if getattr(args, flag):
                raise InputError(f"--{flag.replace('_', '-')} goes with --project IFC")
    if args.parcels and args.sample:
        raise InputError("--parcels goes with --buildings; the sample has its parcels")
    if args.parcels and not Path(args.parcels).exists():
        raise InputError(f"--parcels: file not found: {args.parcels}")
    if ifc == SAMPLE_PROJECT:
        if not args.sample:
            raise InputError("--project without a file takes the sample's IFC: it "
                             "needs --sample (give --project IFC with --buildings)")
        man = cc.datasets.manifest("paris")
        return cc.datasets.path("paris") / man["project_ifc"]
    if ifc is not None and not Path(ifc).exists():
        raise InputError(f"--project: file not found: {ifc}")
    return None if ifc is None else Path(ifc)


def place_project(scene, ifc, placement=None, parcels=None):
    """The project read from ``ifc`` and the scene with it, after the checks of
    ``cimcity check``: an IFC whose georeference cannot place it in the scene
    (another CRS, another continent) and a project that does not stand on its
    parcels or its ground raise :class:`~cimcity.errors.GeoreferenceError`
    naming the distance and the fix; an IFC without any georeference needs
    ``--placement``.

    Returns
    -------
    (BimModel, Scene)
    """
    bim = permit.read_project(ifc, scene, placement=placement_type(placement))
    if not (bim.is_georeferenced or bim.crs is not None):
        raise GeoreferenceError(
            f"IFC {Path(ifc).name!r} has no georeference (no map conversion, no "
            "IfcSite latitude/longitude): the heat around it cannot be computed; "
            "give --placement x,y,z[,rotation_deg] [m, m, m NGF, degrees]"
        )
    land = None
    if parcels:
        missing = [p for p in parcels if p not in scene.parcels.index]
        if missing:
            raise InputError(f"--parcel-id {missing}: not parcels of the scene "
                             f"(e.g. {list(scene.parcels.index[:3])})")
        land = shapely.union_all(scene.parcels.geometry.loc[list(parcels)].values)
    permit.check_placement(bim, scene, land)
    return bim, scene.with_project(bim, parcels=list(parcels) if parcels else None)


def _project_area(scene, bim, area):
    """The given area, else the footprint grown by 4 times the project's height
    (at least 40 m), inside the scene's DEM (one spacing in from its edge)."""
    if area is not None:
        return area
    h = float(bim.top_z - bim.base_z)
    box = shapely.box(*bim.footprint.bounds).buffer(max(4.0 * h, 40.0),
                                                   join_style="mitre")
    t = scene.terrain
    if t is not None:
        x0, y0, x1, y1 = t.bounds
        m = max(t.resolution) if hasattr(t, "resolution") else 1.0
        box = box.intersection(shapely.box(x0 + m, y0 + m, x1 - m, y1 - m))
    return box


def run_project(args, scene, after, bim, met, met_day, day, area) -> int:
    """``--project``: the heat study before and after, its files and summary."""
    area = _project_area(scene, bim, area)
    before = _with_land_cover(scene, args.spacing)
    after = _with_land_cover(after, args.spacing)
    imp = heat.impact(before, after, met_day, spacing=args.spacing, area=area,
                      method="mesh", progress=None)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    title = i18n.term("heat_wave", args.lang) + (
        f" {args.peak:g} °C" if args.scenario == "paris50" else "")
    files, s = write_impact_outputs(imp, bim, out, lang=args.lang,
                                    draw=not args.no_map, title=title)
    name = getattr(bim, "name", None) or bim.id
    h = float(bim.top_z - bim.base_z)
    print(f"{scene!r}")
    print(f"project {name} ({bim.id}), {h:.1f} m tall, on parcel(s) "
          f"{', '.join(map(str, after.meta.get('project_parcels') or [])) or 'unknown'}; "
          f"replaces {len(after.meta.get('replaced_buildings') or [])} building(s)")
    print(f"weather: {met.source}; scenario {args.scenario}, day simulated "
          f"{day:%Y-%m-%d}, air {met_day.air['temp_air'].min():.1f} to "
          f"{met_day.air['temp_air'].max():.1f} °C; hottest hour "
          f"{s['hottest'].tz_convert('Europe/Paris'):%H:%M} Paris time (middle of the hour)")
    print(f"{s['points']:,} points of open ground in both scenes at {args.spacing:g} m "
          f"({s['built_over']:,} built over by the project, not compared)")
    print("hours of strong heat stress or worse (UTCI > 32 °C), mean per point: "
          + ("unknown" if s["strong_hours_before"] is None else
             f"before {s['strong_hours_before']:.2f} h, after "
             f"{s['strong_hours_after']:.2f} h "
             f"({s['strong_hours_after'] - s['strong_hours_before']:+.2f} h)"))
    print(f"mean change of Tmrt at the hottest hour within {s['radius_m']:.0f} m of the "
          f"project ({SURROUNDINGS:g} x its height): "
          + ("unknown (no point there)" if s["delta_tmrt_near_k"] is None else
             f"{s['delta_tmrt_near_k']:+.2f} K over {s['near_points']:,} points; "
             f"{s['cooler_near']:,} cooler by more than 0.5 K (down to "
             f"{s['delta_tmrt_min_k']:+.1f} K), {s['warmer_near']:,} warmer by more "
             f"than 0.5 K (up to {s['delta_tmrt_max_k']:+.1f} K)"))
    for f in files.values():
        print(f"wrote {f}")
    return 0


def write_impact_outputs(imp, bim, out: Path, *, lang=None, draw=True,
                         title=None) -> tuple:
    """Tables, the change raster and the before/after/change map of a
    :class:`~cimcity.heat.HeatImpactResult`; returns the files and a summary."""
    t = hottest_step(imp.runs["before"])
    h = imp.hourly
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown UTCI hours were warned by impact()
        s0 = comfort.hours_above(h["utci_before"], step_hours=imp.runs["before"].met.interval)
        s1 = comfort.hours_above(h["utci_after"], step_hours=imp.runs["after"].met.interval)
    pts = imp.points.copy()
    pts["tmrt_hottest_before"] = h["tmrt_before"].loc[t].to_numpy(float)
    pts["tmrt_hottest_after"] = h["tmrt_after"].loc[t].to_numpy(float)
    pts["delta_tmrt_hottest"] = pts["tmrt_hottest_after"] - pts["tmrt_hottest_before"]
    pts["utci_hottest_before"] = h["utci_before"].loc[t].to_numpy(float)
    pts["utci_hottest_after"] = h["utci_after"].loc[t].to_numpy(float)
    pts["delta_utci_hottest"] = pts["utci_hottest_after"] - pts["utci_hottest_before"]
    pts["hours_strong_heat_before"] = s0["hours_strong_heat"].to_numpy(float)
    pts["hours_strong_heat_after"] = s1["hours_strong_heat"].to_numpy(float)
    pts["distance_to_project_m"] = pts.distance(bim.footprint).to_numpy(float)
    pts["hottest_time"] = t.isoformat()
    files = {"points": _write(pts, out / "heat_impact_points.parquet")}
    for name in ("streets", "parcels", "zones"):
        if name in imp.tables():
            files[name] = imp.to_file(out / f"heat_impact_{name}.csv", layer=name)
    grids = _point_grids(pts, imp.spacing, ["tmrt_hottest_before", "tmrt_hottest_after",
                                            "utci_hottest_before", "utci_hottest_after",
                                            "delta_tmrt_hottest", "delta_utci_hottest"])
    g, transform, extent = grids
    files["delta_tmrt"] = write_geotiff(out / "delta_tmrt_hottest.tif",
                                        g["delta_tmrt_hottest"], transform, pts.crs)
    if draw:
        from matplotlib.patches import Patch

        fp = gpd.GeoSeries([bim.footprint], crs=pts.crs)
        dashed = {"facecolor": "none", "edgecolor": "black", "linestyle": "--",
                  "linewidth": 1.2}
        solid = {"facecolor": "#bdbdbd", "edgecolor": "black", "linewidth": 1.5,
                 "hatch": "///"}
        files["map"] = _draw_figure(
            [g["tmrt_hottest_before"], g["tmrt_hottest_after"]],
            [g["utci_hottest_before"], g["utci_hottest_after"]], [extent, extent],
            out / "heat_impact_map.png", lang=lang,
            heads=[i18n.term("before", lang), i18n.term("with_project", lang),
                   i18n.term("heat_change_head", lang)],
            suptitle=_suptitle(imp.runs["before"].met, t, lang, title),
            overlays=[[(fp, dashed)], [(fp, solid)], [(fp, solid)]],
            delta=(g["delta_tmrt_hottest"], g["delta_utci_hottest"]),
            legend_extra=[Patch(facecolor=solid["facecolor"], edgecolor="black",
                                hatch="///", label=i18n.term("project", lang))])
    height = float(bim.top_z - bim.base_z)
    radius = SURROUNDINGS * height
    near = pts["distance_to_project_m"] <= radius
    d = pts.loc[near, "delta_tmrt_hottest"]
    known = pts["hours_strong_heat_before"].notna() & pts["hours_strong_heat_after"].notna()
    summary = {
        "hottest": t,
        "points": len(pts),
        "built_over": imp.built_over,
        "radius_m": radius,
        "near_points": int(near.sum()),
        "delta_tmrt_near_k": plain(d.mean()) if len(d) else None,
        "cooler_near": int((d < -0.5).sum()),
        "warmer_near": int((d > 0.5).sum()),
        "delta_tmrt_min_k": plain(d.min()) if len(d) else None,
        "delta_tmrt_max_k": plain(d.max()) if len(d) else None,
        "strong_hours_before": plain(pts.loc[known, "hours_strong_heat_before"].mean())
        if known.any() else None,
        "strong_hours_after": plain(pts.loc[known, "hours_strong_heat_after"].mean())
        if known.any() else None,
    }
    return files, summary


def _point_grids(pts, spacing, columns):
    """Columns of points laid on a regular ``spacing`` grid (cell centres, as
    :func:`cimcity.heat.impact` lays them) as north-up arrays (NaN where no
    point: buildings), with their transform and imshow extent."""
    from affine import Affine

    x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    x0, y1 = x.min() - spacing / 2, y.max() + spacing / 2
    col = np.rint((x - x0) / spacing - 0.5).astype(int)
    row = np.rint((y1 - y) / spacing - 0.5).astype(int)
    shape = (row.max() + 1, col.max() + 1)
    out = {}
    for c in columns:
        g = np.full(shape, np.nan)
        g[row, col] = pts[c].to_numpy(float)
        out[c] = g
    transform = Affine(spacing, 0.0, x0, 0.0, -spacing, y1)
    extent = (x0, x0 + shape[1] * spacing, y1 - shape[0] * spacing, y1)
    return out, transform, extent


def write_outputs(res, scene, out: Path, *, lang=None, draw=True, prefix="",
                  title=None) -> dict:
    """Tables, rasters and the map of a heat run; returns the files and a summary."""
    u = comfort.utci_frame(res)
    stress = comfort.stress_table(u, step_hours=res.met.interval)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown refuges were warned by utci()
        refuges = scenarios.cool_refuges(res.points, u, scene,
                                         temp_air=res.met.air["temp_air"])
    pts = res.points.join(stress).join(refuges.points[["utci_hottest", "refuge"]])
    pts["refuge"] = pts["refuge"].map({True: 1.0, False: 0.0})  # NaN: unknown
    res.points = pts  # the result's grids now hold the UTCI columns too
    files = {}
    files["points"] = _write(pts, out / f"{prefix}heat_points.parquet")
    files["tmrt"] = res.to_file(out / f"{prefix}tmrt_max.tif", layer="tmrt_max")
    files["utci"] = res.to_file(out / f"{prefix}utci_max.tif", layer="utci_max")
    for name in ("streets", "parcels", "zones"):
        if name in refuges.tables():
            files[name] = refuges.to_file(out / f"{prefix}refuges_{name}.csv", layer=name)
    if draw:
        files["map"] = draw_maps(res, u, out / f"{prefix}heat_map.png", lang=lang,
                                 title=title)
    rs = refuges.summary()
    files["summary"] = {
        "points": len(pts),
        "tmrt_max_c": float(np.nanmax(pts["tmrt_max"])),
        "utci_max_c": None if pts["utci_max"].isna().all()
        else float(np.nanmax(pts["utci_max"])),
        "strong_hours_mean": None if pts["hours_strong_heat"].isna().all()
        else float(pts["hours_strong_heat"].mean()),
        "refuge_share": rs["refuge_share"],
        "refuge_area_m2": rs["refuge_area_m2"],
    }
    return files


def _write(gdf, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    g = gdf.copy()
    for c in g.columns:
        if g[c].dtype == object and c != "geometry":
            g[c] = g[c].astype("string")
        elif str(g[c].dtype).startswith("datetime64"):
            g[c] = g[c].astype(str)
    g.to_parquet(path)
    return path


def hottest_step(res) -> pd.Timestamp:
    """The step of highest air temperature."""
    return res.met.air["temp_air"].idxmax()


def draw_maps(res, u, path, *, lang=None, title=None, pair=None, overlays=None):
    """Tmrt and UTCI at the hottest hour (two panels), or before/after pairs.

    ``pair``: ``(res_after, u_after)`` draws a 2 x 2 figure (rows Tmrt, UTCI;
    columns before, after) on shared colour scales. ``overlays``: per column, a
    list of ``(GeoSeries, matplotlib style dict)`` drawn over both maps (the
    yard's outline, tree crowns).
    """
    runs = [(res, u)] + ([pair] if pair is not None else [])
    t = hottest_step(res)
    tm = [r.grid(f"tmrt@{t.isoformat()}") for r, _ in runs]
    ut = [_utci_grid(r, uu, t) for r, uu in runs]
    heads = ([i18n.term("before", lang), i18n.term("after", lang)] if len(runs) == 2
             else None)
    return _draw_figure(tm, ut, [_extent(r) for r, _ in runs], path, lang=lang,
                        heads=heads, suptitle=_suptitle(res.met, t, lang, title),
                        overlays=overlays)


def _suptitle(met, t, lang, title=None):
    local = t.tz_convert("Europe/Paris")
    # the EPW is a typical year: its year stamp means nothing to a reader
    when = i18n.format_date(local, lang, time=True).replace(f" {local.year}", "")
    air = met.air["temp_air"].loc[t]
    head = title or i18n.term("heat_wave", lang)
    return (f"{head} — {when} ({i18n.term('heat_typical_year', lang)}), "
            f"{i18n.term('air_temperature', lang).lower()} {air:.1f} °C")


def _draw_figure(tm, ut, extents, path, *, lang, heads, suptitle, overlays=None,
                 delta=None, legend_extra=()):
    """Rows Tmrt and UTCI, one column per grid of ``tm``/``ut`` (shared colour
    scales), and with ``delta=(dtmrt, dutci)`` a last column of changes [K] in
    classes (blue cooler, red warmer, white within ±0.5 K). Colour bars sit in
    columns of their own, so the maps of both rows line up."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm

    n = len(tm)
    widths = [1.0] * n + [0.05] + ([1.0, 0.05] if delta is not None else [])
    x0, x1, y0, y1 = extents[0]
    w = float(np.clip(4.9 * (x1 - x0) / max(y1 - y0, 1e-9), 3.5, 9.0))  # one map [in]
    fig = plt.figure(figsize=(w * (n + (delta is not None)) + 1.4 * (1 + (delta is not None)),
                              11.0), layout="constrained")
    gs = fig.add_gridspec(2, len(widths), width_ratios=widths)
    cols = list(range(n)) + ([n + 1] if delta is not None else [])
    axes = np.array([[fig.add_subplot(gs[i, c]) for c in cols] for i in range(2)])
    tlim = _limits(tm)
    for j in range(n):
        # blue = cool, red = hot: what a resident expects of a heat map
        im = _panel(axes[0, j], extents[j], tm[j], cmap="RdYlBu_r", vmin=tlim[0],
                    vmax=tlim[1])
        _panel_utci(axes[1, j], extents[j], ut[j], lang, legend=(j == n - 1),
                    extra=legend_extra)
    fig.colorbar(im, cax=fig.add_subplot(gs[0, n]), label=i18n.label("tmrt", lang))
    if delta is not None:
        # classes a resident reads at a glance; the shade of a building is tens
        # of kelvins, a wall's reflection a few: a linear scale hides one of them
        edges = [-40.0, -10.0, -5.0, -2.0, -0.5, 0.5, 2.0, 5.0, 10.0, 40.0]
        cmap = plt.get_cmap("RdBu_r", len(edges) - 1)
        cmap.set_bad("#d9d9d9")
        norm = BoundaryNorm(edges, cmap.N)
        for i, g in enumerate(delta):
            im_d = _panel(axes[i, n], extents[-1], g, cmap=cmap, norm=norm)
            cb = fig.colorbar(im_d, cax=fig.add_subplot(gs[i, n + 2]),
                              label=i18n.label("heat_change_" + ("tmrt", "utci")[i], lang))
            cb.set_ticks(edges[1:-1])
            cb.set_ticklabels([f"{e:+g}" for e in edges[1:-1]])
    for j in range(len(cols)):
        for geoms, style in (overlays[j] if overlays else []):
            for ax in axes[:, j]:
                x0, x1, y0, y1 = extents[min(j, len(extents) - 1)]
                geoms.plot(ax=ax, **style)
                ax.set_xlim(x0, x1)
                ax.set_ylim(y0, y1)
                ax.set_xlabel("")
                ax.set_ylabel("")
        if heads:
            axes[0, j].set_title(heads[j], fontsize=13, fontweight="bold")
    axes[0, 0].set_ylabel(i18n.term("tmrt", lang), fontsize=11)
    axes[1, 0].set_ylabel(i18n.term("utci", lang), fontsize=11)
    fig.suptitle(suptitle, fontsize=13)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _utci_grid(res, u, t):
    shape, _, _, cells = res.grid_spec
    g = np.full(shape[0] * shape[1], np.nan)
    g[cells] = u.loc[t, res.points.index].to_numpy(float)
    return g.reshape(shape)


def _limits(grids):
    v = np.concatenate([g[np.isfinite(g)] for g in grids]) if grids else np.array([])
    if not len(v):
        return 0.0, 1.0
    return float(np.floor(np.percentile(v, 1))), float(np.ceil(np.percentile(v, 99)))


def _extent(res):
    shape, tr, _, _ = res.grid_spec
    x0, y1 = tr * (0, 0)
    x1, y0 = tr * (shape[1], shape[0])
    return x0, x1, y0, y1


def _panel(ax, extent, grid, **kw):
    im = ax.imshow(grid, extent=extent, interpolation="nearest", **kw)
    _decorate(ax)
    return im


def _panel_utci(ax, extent, grid, lang, legend=True, extra=()):
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    # UTCI heat bands (Bröde et al. 2012) with the usual UTCI colours
    keys = ["no_stress", "moderate_heat", "strong_heat", "very_strong_heat",
            "extreme_heat"]
    colors = ["#4daf4a", "#fed976", "#fd8d3c", "#e31a1c", "#800026"]
    edges = [-60.0, 26.0, 32.0, 38.0, 46.0, 70.0]
    cmap = ListedColormap(colors)
    cmap.set_bad("#d9d9d9")
    ax.imshow(grid, extent=extent, interpolation="nearest", cmap=cmap,
              norm=BoundaryNorm(edges, cmap.N))
    _decorate(ax)
    handles = [Patch(color=c, label=f"{i18n.term('utci_' + k, lang)} ({lo:g}–{hi:g} °C)"
                     if 0 < i < 4 else i18n.term("utci_" + k, lang)
                     + (" (≤ 26 °C)" if i == 0 else " (> 46 °C)"))
               for i, (k, c, lo, hi) in enumerate(zip(keys, colors, edges, edges[1:]))]
    handles.append(Patch(color="#d9d9d9", label=i18n.term("heat_no_point", lang)))
    handles.extend(extra)
    if legend:  # one legend for the row, under the figure
        ax.figure.legend(handles=handles, loc="outside lower center",
                         ncol=3, fontsize=9, frameon=False,
                         title=i18n.label("utci", lang), title_fontsize=10)


def _decorate(ax):
    from matplotlib_scalebar.scalebar import ScaleBar

    ax.set_facecolor("#d9d9d9")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.add_artist(ScaleBar(1.0, "m", location="lower left", box_alpha=0.7,
                           length_fraction=0.25))
    ax.annotate("N", xy=(0.95, 0.95), xytext=(0.95, 0.83), xycoords="axes fraction",
                ha="center", va="center", fontsize=11, fontweight="bold",
                arrowprops=dict(arrowstyle="-|>", color="black"))


def _default_area(scene):
    """The parcels' (else the buildings') bounds, inside the terrain's."""
    layer = scene.parcels if scene.parcels is not None and len(scene.parcels) else (
        scene.buildings)
    box = shapely.box(*layer.total_bounds)
    t = getattr(scene, "terrain", None)
    if t is not None and hasattr(t, "bounds"):
        box = box.intersection(shapely.box(*t.bounds))
    if box.is_empty:
        raise InputError("the scene's terrain does not cover its parcels; give --area")
    return box


def _area(text):
    if not text:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--area {text!r}: expected XMIN,YMIN,XMAX,YMAX in metres") from None
    if not (x1 > x0 and y1 > y0):
        raise InputError(f"--area {text!r}: XMAX must exceed XMIN and YMAX YMIN")
    return shapely.box(x0, y0, x1, y1)


def _day(text):
    if not text:
        return None
    try:
        return pd.Timestamp(text).normalize()
    except (ValueError, TypeError):
        raise InputError(f"--when {text!r} is not a date; expected e.g. 2023-08-15") from None


def _site(scene):
    s = scene_site(scene)
    return s.latitude, s.longitude
