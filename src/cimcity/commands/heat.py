"""``cimcity heat``: mean radiant temperature, UTCI and cool refuges in a heat wave."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from cimcity import heat, i18n
from cimcity.errors import InputError
from cimcity.heat import comfort, scenarios
from cimcity.sun.position import scene_site

from ._common import (
    EXIT_CODES_HELP,
    Formatter,
    add_scene_arguments,
    check_scene_arguments,
    load_scene,
    positive_float,
)

#: weather scenarios of ``--scenario``
SCENARIOS = ("hottest-week", "paris50")

i18n.add_terms({
    "heat_typical_year": ("typical weather year", "année météo type"),
    "heat_wave": ("Heat wave", "Canicule"),
    "heat_no_point": ("Buildings, no data", "Bâtiments, sans donnée"),
})


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
        "refuges_parcels.csv, refuges_zones.csv and heat_map.png.",
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
                   help="study area in the scene CRS (default: the whole scene)")
    add_scene_arguments(p)
    p.add_argument("--lang", choices=i18n.LANGUAGES, default=None,
                   help="language of the map (default: CIMCITY_LANG, else fr)")
    p.add_argument("--no-map", action="store_true", help="skip heat_map.png")
    p.add_argument("--out", default="heat_out", help="output folder (default: heat_out)")
    p.set_defaults(func=run)


def run(args) -> int:
    check_scene_arguments(args)
    if not Path(args.weather).exists():
        raise FileNotFoundError(2, "weather file not found", args.weather)
    area = _area(args.area)
    day = _day(args.when)
    scene = load_scene(args, project=False)
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


def _run(scene, met, spacing, area):
    if "landcover" not in scene.rasters:
        # lawns, trees' ground, water and buildings from the scene's layers (the
        # rest taken as paved, said by a DataQualityWarning) rather than all paved
        scene = scene.copy()
        scene.add_vegetation(scenarios.land_cover(scene, spacing=min(1.0, spacing)),
                             raster="landcover")
    # the 3D path: the vegetation layer's tree crowns cast their shade
    return heat.tmrt(scene, met, spacing=spacing, area=area, timeseries=True,
                     method="mesh", progress=None)


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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [(res, u)] + ([pair] if pair is not None else [])
    t = hottest_step(res)
    tm = [r.grid(f"tmrt@{t.isoformat()}") for r, _ in runs]
    ut = [_utci_grid(r, uu, t) for r, uu in runs]
    ncol = len(runs)
    fig, axes = plt.subplots(2, ncol, figsize=(6.2 * ncol, 11.0), squeeze=False,
                             layout="constrained")
    tlim = _limits(tm)
    for j in range(ncol):
        # blue = cool, red = hot: what a resident expects of a heat map
        im = _panel(axes[0, j], runs[j][0], tm[j], cmap="RdYlBu_r", vmin=tlim[0],
                    vmax=tlim[1])
        _panel_utci(axes[1, j], runs[j][0], ut[j], lang, legend=(j == ncol - 1))
        for geoms, style in (overlays[j] if overlays else []):
            for ax in axes[:, j]:
                x0, x1, y0, y1 = _extent(runs[j][0])
                geoms.plot(ax=ax, **style)
                ax.set_xlim(x0, x1)
                ax.set_ylim(y0, y1)
                ax.set_xlabel("")
                ax.set_ylabel("")
        if ncol == 2:
            axes[0, j].set_title(i18n.term("before" if j == 0 else "after", lang),
                                 fontsize=13, fontweight="bold")
    axes[0, 0].set_ylabel(i18n.term("tmrt", lang), fontsize=11)
    axes[1, 0].set_ylabel(i18n.term("utci", lang), fontsize=11)
    fig.colorbar(im, ax=list(axes[0]), shrink=0.85,
                 label=i18n.label("tmrt", lang))
    local = t.tz_convert("Europe/Paris")
    # the EPW is a typical year: its year stamp means nothing to a reader
    when = i18n.format_date(local, lang, time=True).replace(f" {local.year}", "")
    air = res.met.air["temp_air"].loc[t]
    head = title or i18n.term("heat_wave", lang)
    fig.suptitle(f"{head} — {when} ({i18n.term('heat_typical_year', lang)}), "
                 f"{i18n.term('air_temperature', lang).lower()} {air:.1f} °C",
                 fontsize=13)
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


def _panel(ax, res, grid, **kw):
    im = ax.imshow(grid, extent=_extent(res), interpolation="nearest", **kw)
    _decorate(ax)
    return im


def _panel_utci(ax, res, grid, lang, legend=True):
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    # UTCI heat bands (Bröde et al. 2012) with the usual UTCI colours
    keys = ["no_stress", "moderate_heat", "strong_heat", "very_strong_heat",
            "extreme_heat"]
    colors = ["#4daf4a", "#fed976", "#fd8d3c", "#e31a1c", "#800026"]
    edges = [-60.0, 26.0, 32.0, 38.0, 46.0, 70.0]
    cmap = ListedColormap(colors)
    cmap.set_bad("#d9d9d9")
    ax.imshow(grid, extent=_extent(res), interpolation="nearest", cmap=cmap,
              norm=BoundaryNorm(edges, cmap.N))
    _decorate(ax)
    handles = [Patch(color=c, label=f"{i18n.term('utci_' + k, lang)} ({lo:g}–{hi:g} °C)"
                     if 0 < i < 4 else i18n.term("utci_" + k, lang)
                     + (" (≤ 26 °C)" if i == 0 else " (> 46 °C)"))
               for i, (k, c, lo, hi) in enumerate(zip(keys, colors, edges, edges[1:]))]
    handles.append(Patch(color="#d9d9d9", label=i18n.term("heat_no_point", lang)))
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
