"""Demo step: a paved school yard becomes a "cour oasis" (asphalt to grass and
trees) on the hottest afternoon of Paris-Orly's typical year.

The sample district has no school: the demo takes the inner courtyard of its
north-west block (parcel 75117000AG0019, 60 x 58 m, enclosed by the block's
buildings) as the school yard. Before: the yard paved, as Paris school yards
are before the oasis programme (the sample's lawn and tree in that courtyard
are removed from the "before" scene, and the land cover is built from the
scene's layers, open ground paved). After: the yard de-paved to grass and
planted with trees (crown radius 3.5 m, 9 m tall, every 10 m, 4 m from the
walls). Tmrt and UTCI at 1.1 m every 2 m over the block, hourly from noon to
18:00 (Paris time); maps at the hottest hour with scale bar and legend.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimcity import heat
from cimcity.errors import CimcityWarning
from cimcity.heat import comfort, scenarios
from cimcity.sun.position import scene_site

from ..heat import draw_maps

#: the yard's parcel in the bundled sample
YARD_PARCEL = "75117000AG0019"
#: the EPW of the demo (shared test data, else none: the step says so)
EPW_NAMES = ("FRA_Paris.Orly.071490_IWEC.epw",)
TREE_SPACING, TREE_RADIUS, TREE_HEIGHT, WALL_CLEARANCE = 10.0, 3.5, 9.0, 4.0


def find_epw() -> Path | None:
    """Paris-Orly's EPW in ../shared/data/weather (or CIMCITY_SHARED_DATA)."""
    root = Path(__file__).resolve().parents[4]
    data = Path(os.environ.get("CIMCITY_SHARED_DATA", root.parent / "shared" / "data"))
    for name in EPW_NAMES:
        p = data / "weather" / name
        if p.exists():
            return p
    return None


def yard(scene):
    """The open ground of the yard's parcel (a polygon)."""
    parcel = scene.parcels.geometry.loc[YARD_PARCEL]
    return parcel.difference(shapely.union_all(scene.buildings.geometry.values))


def paved(scene, ground):
    """The scene with the yard paved: its vegetation removed, land cover built
    from the scene's layers (open ground = asphalt)."""
    new = scene.copy()
    veg = new.vegetation
    inside = veg.geometry.intersects(ground.buffer(-0.5))
    veg.drop(index=veg.index[inside], inplace=True)  # the copy's own table
    new.touch()
    new.add_vegetation(scenarios.land_cover(new), raster="landcover")
    return new


def oasis(scene, ground):
    """The scene with the yard de-paved to grass and planted with trees."""
    built = shapely.union_all(scene.buildings.geometry.values)
    room = ground.buffer(-WALL_CLEARANCE).difference(built.buffer(WALL_CLEARANCE))
    x0, y0, x1, y1 = room.bounds
    xs = np.arange(x0 + TREE_SPACING / 2, x1, TREE_SPACING)
    ys = np.arange(y0 + TREE_SPACING / 2, y1, TREE_SPACING)
    xy = np.array([(x, y) for x in xs for y in ys])
    xy = xy[shapely.contains_xy(room, xy[:, 0], xy[:, 1])] if len(xy) else xy
    after = scenarios.depave(scene, ground, to="grass")
    after = scenarios.plant_trees(after, xy, crown_radius=TREE_RADIUS,
                                  height=TREE_HEIGHT)
    return after, len(xy)


def run(scene, out, echo) -> dict:
    epw = find_epw()
    if epw is None:  # said, not hidden: the heat step needs real weather
        echo(f"  not run: the Paris-Orly weather file ({EPW_NAMES[0]}) is not in "
             "../shared/data/weather; set CIMCITY_SHARED_DATA to the folder holding "
             "weather/")
        return {"not_run": "no EPW weather file"}
    site = scene.parcels.geometry.loc[YARD_PARCEL]
    ground = yard(scene)
    with warnings.catch_warnings():
        # the assumed-paved land cover is the "before" of the story: said below
        warnings.simplefilter("ignore", CimcityWarning)
        before = paved(scene, ground)
        after, n_trees = oasis(before, ground)
    lat, lon = _site(scene)
    met = scenarios.hottest_week(epw, latitude=lat, longitude=lon)
    day = met.air["temp_air"].idxmax().tz_convert("Europe/Paris").normalize()
    afternoon = met.select((day + pd.Timedelta(hours=12), day + pd.Timedelta(hours=18)))
    echo(f"  yard: {ground.area:,.0f} m2 of paved courtyard in parcel {YARD_PARCEL}; "
         f"oasis: grass + {n_trees} trees")
    echo(f"  weather: hottest week of {epw.name} from {met.meta['start']:%d %b}, "
         f"afternoon of {day:%d %b} ({len(afternoon)} h, air up to "
         f"{afternoon.air['temp_air'].max():.1f} °C)")
    area = site.buffer(25.0).envelope  # the block around the yard
    runs = {}
    for name, sc in (("before", before), ("after", after)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CimcityWarning)
            # the 3D path: tree crowns of the vegetation layer cast their shade
            res = heat.tmrt(sc, afternoon, spacing=2.0, area=area, timeseries=True,
                            method="mesh", progress=False)
            u = comfort.utci_frame(res)
        runs[name] = (res, u)
    t = afternoon.air["temp_air"].idxmax()
    summary = {"trees": n_trees, "yard_m2": round(ground.area, 1),
               "hottest_time": str(t)}
    for name, (res, u) in runs.items():
        inside = shapely.contains_xy(ground, res.points.geometry.x, res.points.geometry.y)
        tm = res.timeseries.loc[t, inside]
        uu = u.loc[t, inside]
        strong = comfort.hours_above(u.loc[:, inside]).hours_strong_heat.mean()
        summary[name] = {"tmrt_yard_c": round(float(tm.mean()), 1),
                         "utci_yard_c": round(float(uu.mean()), 1),
                         "strong_heat_hours_yard": round(float(strong), 1)}
        echo(f"  {name:6s}: yard at {t.tz_convert('Europe/Paris'):%H:%M}: Tmrt "
             f"{tm.mean():.1f} °C, UTCI {uu.mean():.1f} °C; hours of strong heat "
             f"stress or worse {strong:.1f} h")
    outline = gpd.GeoSeries([ground], crs=scene.crs)
    trees = after.vegetation[after.vegetation["source"] == "planted"].geometry
    yard_style = {"facecolor": "none", "edgecolor": "black", "linestyle": "--",
                  "linewidth": 1.0}
    tree_style = {"facecolor": "none", "edgecolor": "#1b5e20", "linewidth": 0.8}
    files = [draw_maps(*runs["before"], out / "heat_oasis.png", pair=runs["after"],
                       title="Cour oasis",
                       overlays=[[(outline, yard_style)],
                                 [(outline, yard_style), (trees, tree_style)]])]
    for f in files:
        echo(f"  wrote {f}")
    summary["files"] = [str(f) for f in files]
    return summary


def _site(scene):
    s = scene_site(scene)
    return s.latitude, s.longitude
