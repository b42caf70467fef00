"""Demo step: sun-hours maps on the equinox and the solstices (the 13:00
shadows drawn as one dissolved area), the sun-hours the neighbours lose to the
sample's IFC project, and the shadow animation of the project's block on the
winter solstice (GIF and MP4)."""

from __future__ import annotations

import datetime as dt
import time

import geopandas as gpd
from shapely import union_all

from cimcity import i18n, maps, shadow

#: sensor spacing of the demo maps [m] (1 m in studies; 2 m keeps the demo short)
SPACING = 2.0
#: sensors kept around the project for the impact study [m]
RADIUS = 120.0
#: half-width of the project's block in the shadow animation [m]
BLOCK_HALF_WIDTH = 60.0
#: lowest sun drawn in the animation [deg]: below, December shadows run
#: hundreds of metres and the block shrinks to a corner of the frame
ANIMATION_MIN_ELEVATION = 8.0


def run(scene, out, echo) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D


    dates = [dt.date(shadow.DEFAULT_YEAR, m, d) for m, d in shadow.DEFAULT_DATES]
    files = []
    summary = {}
    for day in dates:
        t0 = time.perf_counter()
        res = shadow.sun_hours(scene, day, spacing=SPACING, surfaces=("roof", "ground"))
        langs = ("fr", "en") if day == dates[-1] else ("fr",)
        for lang in langs:
            fig, ax = plt.subplots(figsize=(8, 8))
            res.plot(ax=ax, scene=scene, lang=lang)
            extent = ax._cimcity_map["extent"]
            noon = shadow.sun_table(scene, f"{day} 13:00")
            poly = shadow.polygons(scene, noon.index)
            # one shadow area, not one outline per building: overlapping shadows
            # and the footprints they start from merge (shapely union)
            if len(poly):
                area = union_all(list(poly.geometry) + list(scene.buildings.geometry))
                area = gpd.GeoSeries([area], crs=scene.crs)
                lines = maps.clip(area.boundary, extent)  # map only
            else:
                lines = poly
            handles = []
            if len(lines):
                lines.plot(ax=ax, color="#4aa3ff", linewidth=0.6, zorder=maps.Z_OUTLINE)
                handles.append(Line2D([], [], color="#4aa3ff", label=i18n.term(
                    "map_shadows_at", lang, time="13:00")))
            if scene.projects:
                fp = union_all([p.footprint for p in scene.projects.values()])
                maps.footprints(
                    ax, gpd.GeoSeries([fp], crs=scene.crs), extent, color="#f28c28",
                    linewidth=1.5, zorder=maps.Z_OUTLINE + 0.5,
                )
                handles.append(Line2D([], [], color="#f28c28", lw=1.5, label=i18n.term("project", lang)))
            ax.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.9)
            suffix = "" if lang == "fr" else "_en"
            path = out / f"sun_hours_{day:%m%d}{suffix}.png"
            fig.savefig(path, dpi=110, bbox_inches="tight")
            plt.close(fig)
            files.append(path)
        s = res.summary()
        summary[str(day)] = {k: v for k, v in s.items() if k.endswith("_mean_hours")}
        echo(
            f"  {day:%d %b}: sun up {res.total_hours:.2f} h; mean sun-hours "
            + ", ".join(f"{k[:-11]} {v} h" for k, v in summary[str(day)].items())
            + f" ({len(res.sensors):,} sensors, {time.perf_counter() - t0:.1f} s)"
        )
    if scene.projects:
        t0 = time.perf_counter()
        pid = scene.meta.get("project_id") or next(iter(scene.projects))
        after = scene.with_project(scene.projects[pid])
        imp = shadow.impact(
            scene, after, spacing=SPACING, surfaces=("wall", "ground"), radius=RADIUS
        )
        files.append(imp.to_file(out / "shadow_impact.csv", "worst"))
        files.append(imp.to_file(out / "shadow_impact_by_building.csv", "by_building"))
        files.append(imp.to_file(out / "shadow_impact_by_parcel.csv", "by_parcel"))
        fig, ax = plt.subplots(figsize=(8, 8))
        imp.plot(date=dates[-1], ax=ax, scene=after)
        path = out / "shadow_impact_1221.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        files.append(path)
        s = imp.summary()
        summary["impact"] = s
        echo(f"  project {pid} ({time.perf_counter() - t0:.1f} s):")
        for day in dates:
            v = s.get(str(day))
            if v:
                echo(
                    f"    {day:%d %b}: {v['area_losing_m2']:.0f} m² of neighbouring ground "
                    f"and facades lose sun (mean {v['mean_delta_h']:+.2f} h, worst point "
                    f"{v['worst_delta_h']:+.2f} h), {v['buildings_losing']} buildings affected; "
                    f"{v['area_covered_m2']:.0f} m² of facades become party walls"
                )
        worst = imp.worst
        if len(worst):
            w = worst.iloc[0]
            echo(
                f"    worst: {w['level']} {w['id']} {w['kind']} {w['orientation']} on "
                f"{w['date']}: {w['mean_before']:.2f} h -> {w['mean_after']:.2f} h"
            )
    files += _animations(scene, dates[-1], out, echo)
    for f in files:
        echo(f"  wrote {f}")
    return {"summary": summary, "files": [str(f) for f in files]}


def _animations(scene, day, out, echo) -> list:
    """The day's shadows over the project's block (the scene cut to a box of
    ``BLOCK_HALF_WIDTH`` around the project, with the project in), GIF and
    MP4; the whole sample when it has no project."""
    from shapely.geometry import box

    block = scene
    if scene.projects:
        pid = scene.meta.get("project_id") or next(iter(scene.projects))
        after = scene.with_project(scene.projects[pid])
        x, y = scene.projects[pid].footprint.centroid.coords[0]
        h = BLOCK_HALF_WIDTH
        block = after.clip(box(x - h, y - h, x + h, y + h))  # whole buildings
    files = []
    for suffix in (".gif", ".mp4"):
        try:
            files.append(shadow.animate(
                block, day, out / f"shadows_{day:%m%d}{suffix}",
                min_elevation=ANIMATION_MIN_ELEVATION,
            ))
        except ImportError as exc:  # imageio-ffmpeg missing: keep the GIF
            echo(f"  no {suffix} animation ({exc})")
    return files
