"""How far around its core a tile must read: the halo, from the period and the
data, and the survey that measures the data without loading the city.

The rules (every length in metres):

- **solar, sunhours** (rays toward the sky and the sun): a ray leaving a
  sensor at altitude ``z`` with elevation ``e`` can only hit a roof of
  altitude ``T`` within ``(T - z) / tan(e)`` in plan. With ``rise`` the
  city's highest roof altitude minus its lowest ground altitude and ``e`` the
  lowest elevation the analysis traces (the lowest sky-patch and sun-bin
  centre for solar, the lowest sun of the period for sun-hours), the shadow
  reach is ``rise / tan(e)``, **capped** at :data:`HALO_CAP` (the
  context cap of :mod:`cimcity.sun.context`): beyond it, only rays below
  ``atan(rise / cap)`` can miss a far occluder, the same limit an untiled run
  has at the edge of its data; the run states it (``halo["exact_above_deg"]``
  in the manifest and a :class:`~cimcity.errors.DataQualityWarning`). The halo
  adds the largest building extent, since a core building's sensors reach
  that far out of the core.
- **flood** (exposure rings on the DEM): the largest building extent plus the
  ring's outer distance plus two cells. Whether water reaches a cell is not a
  halo question: it is decided over the whole city by
  :mod:`cimcity.parallel.floodnet`.
- **vegetation** (shares per unit): the largest unit (parcel) extent, so every
  feature overlapping a core unit is read.

The survey (:func:`survey_tile`) reads each tile's core features once, on the
workers, and returns a few numbers per tile (counts, tallest, highest roof,
lowest ground, largest extent, the ground altitudes and the footprints'
convex hull), which the driver combines (:func:`combine`).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import shapely

from ..errors import DataQualityWarning, InputError
from ..scene import Scene
from ..scene.variants import CONTEXT_MAX_M
from ..schemas import source_ids
from ..sun import sky as _sky
from .grid import in_core
from .sources import read_box, read_dem_window

#: largest shadow-reach part of a sun halo [m] (the context cap of the sun analyses)
HALO_CAP = CONTEXT_MAX_M
#: elevation floor of the sun halo [deg]: lower rays use the cap
HALO_MIN_ELEVATION = 0.5


def tile_scene(inputs, box, *, crs, terrain=None, layers=("buildings",)):
    """A Scene of the features intersecting ``box`` [m] (read from files).

    Returns
    -------
    scene : Scene
    rows_read : dict
        Rows each reader returned, by layer.
    """
    scene = Scene(crs=crs)
    rows = {}
    if terrain is not None:
        scene.add_terrain(terrain)
    if "buildings" in layers and inputs.get("buildings"):
        gdf, rows["buildings"] = read_box(inputs["buildings"], box, crs, "buildings",
                                          inputs.get("buildings_layer"))
        if len(gdf):
            _check_ids(gdf, inputs)
            scene.add_buildings(gdf, id_column=inputs.get("id_column"))
    if "parcels" in layers and inputs.get("parcels"):
        gdf, rows["parcels"] = read_box(inputs["parcels"], box, crs, "parcels")
        if len(gdf):
            scene.add_parcels(gdf)
    if "vegetation" in layers and inputs.get("vegetation"):
        gdf, rows["vegetation"] = read_box(inputs["vegetation"], box, crs, "vegetation")
        if len(gdf):
            scene.add_vegetation(gdf)
    return scene, rows


def _check_ids(gdf, inputs) -> None:
    """A tiled run needs ids that do not depend on which rows a tile read."""
    if inputs.get("id_column") is not None or gdf.index.name is not None:
        return
    _, col, _ = source_ids(gdf, None, None)
    if col is None:
        raise InputError(
            f"buildings {inputs['buildings']}: no id column (building_id, batiment_c, "
            f"cleabs, id...), so ids would be generated per tile; a tiled run needs "
            f"stable ids: name the column with id_column="
        )


def _extent(geoms) -> float:
    if not len(geoms):
        return 0.0
    b = shapely.bounds(geoms)
    return float(np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]).max())


def survey_tile(task) -> dict:
    """Numbers of one tile's core (run on a worker): see the module docstring."""
    tile, inputs, crs = task["tile"], task["inputs"], task["crs"]
    layers = ("buildings", "parcels") if task["analysis"] == "vegetation" else ("buildings",)
    terrain = None
    if inputs.get("dem") and task["analysis"] != "vegetation":
        terrain, _ = read_dem_window(inputs["dem"], tile.read_box, crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the run itself reports them, once per tile
        scene, rows = tile_scene(inputs, tile.core, crs=crs, terrain=terrain, layers=layers)
    B = scene.buildings
    keep = in_core(B.geometry.values, tile.core) if len(B) else np.zeros(0, bool)
    B = B[keep]
    out = dict(tile=tile.id, buildings=int(len(B)), rows_read=rows)
    if len(B):
        g = B["ground_z"].to_numpy(float)
        h = B["height"].to_numpy(float)
        out.update(
            tallest=float(np.nanmax(h)),
            top=float(np.nanmax(g + h)),
            ground_min=float(np.nanmin(g)) if np.isfinite(g).any() else 0.0,
            ground_z=g.astype(np.float32),
            extent=_extent(B.geometry.values),
            hull=shapely.to_wkb(shapely.convex_hull(shapely.union_all(B.geometry.values))),
        )
    if "parcels" in layers:
        P = scene.parcels
        kp = in_core(P.geometry.values, tile.core) if len(P) else np.zeros(0, bool)
        out["units"] = int(kp.sum())
        out["unit_extent"] = _extent(P.geometry.values[kp])
    return out


def combine(parts) -> dict:
    """The city's numbers from the tiles' surveys."""
    with_b = [p for p in parts if p["buildings"]]
    city = dict(
        buildings=int(sum(p["buildings"] for p in parts)),
        units=int(sum(p.get("units", 0) for p in parts)),
        rows_read=int(sum(sum(p["rows_read"].values()) for p in parts)),
    )
    if with_b:
        city.update(
            tallest=max(p["tallest"] for p in with_b),
            top=max(p["top"] for p in with_b),
            ground_min=min(p["ground_min"] for p in with_b),
            ground_median=float(np.nanmedian(np.concatenate([p["ground_z"] for p in with_b]))),
            extent=max(p["extent"] for p in with_b),
            hull=shapely.to_wkb(
                shapely.convex_hull(
                    shapely.union_all(shapely.from_wkb([p["hull"] for p in with_b]))
                )
            ),
        )
    city["unit_extent"] = max([p.get("unit_extent", 0.0) for p in parts] or [0.0])
    return city


def lowest_elevation(analysis, kwargs, when, site) -> float:
    """Lowest elevation [deg] of the rays an analysis traces."""
    if analysis == "solar":
        e = min(
            float(np.min(_sky.sky_patches(kwargs.get("patches", "tregenza")).altitude)),
            float(np.min(_sky.sky_patches(kwargs.get("sun_bins", "reinhart")).altitude)),
        )
        return max(e, HALO_MIN_ELEVATION)
    # sun-hours: the sun at sunrise and sunset is near 0°: the floor
    return HALO_MIN_ELEVATION


def sun_halo(city, e_min) -> dict:
    """Halo of the sun analyses (module docstring) and what it covers."""
    rise = max(city.get("top", 0.0) - city.get("ground_min", 0.0), 0.0)
    reach = rise / math.tan(math.radians(e_min)) if rise > 0 else 0.0
    capped = reach > HALO_CAP
    reach_used = min(reach, HALO_CAP)
    exact = math.degrees(math.atan2(rise, reach_used)) if reach_used > 0 else 0.0
    return dict(
        halo_m=round(reach_used + city.get("extent", 0.0) + 1.0, 1),
        rise_m=round(rise, 2),
        lowest_ray_deg=round(e_min, 2),
        shadow_reach_m=round(reach, 1),
        cap_m=HALO_CAP,
        capped=bool(capped),
        exact_above_deg=round(max(exact, e_min), 2),
        rule="rise / tan(lowest ray elevation), capped, + largest building extent + 1 m",
    )


def flood_halo(city, ring, resolution) -> dict:
    extent = city.get("extent", 0.0)
    return dict(
        halo_m=round(extent + float(ring[1]) + 2 * resolution, 1),
        rule="largest building extent + ring outer distance + 2 cells; water "
        "connectivity decided over the whole DEM (parallel.floodnet)",
    )


def vegetation_halo(city) -> dict:
    return dict(
        halo_m=round(city.get("unit_extent", 0.0) + 1.0, 1),
        rule="largest unit extent + 1 m",
    )


def warn_capped(h) -> None:
    if h.get("capped"):
        warnings.warn(
            f"halo capped at {h['cap_m']:g} m of shadow reach (the full reach of the "
            f"city's {h['rise_m']:g} m rise at {h['lowest_ray_deg']:g}° is "
            f"{h['shadow_reach_m']:,.0f} m): rays below {h['exact_above_deg']:g}° "
            f"may miss occluders farther than {h['cap_m']:g} m, as at the edge of "
            f"an untiled run's data; pass halo= to widen it",
            DataQualityWarning,
            stacklevel=3,
        )
