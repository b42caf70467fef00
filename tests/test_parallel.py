"""Tiled runs equal one big run when the halo covers the analysis' reach."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import cimcity as cc
from cimcity import parallel
from cimcity.errors import InputError

X0, Y0 = 649_000.0, 6_865_000.0
REACH = 40.0  # m: the toy analysis looks this far


def grid_scene(n=12, pitch=25.0):
    xs, ys = np.meshgrid(np.arange(n) * pitch, np.arange(n) * pitch)
    geoms = [shapely.box(X0 + x, Y0 + y, X0 + x + 10, Y0 + y + 10) for x, y in zip(xs.ravel(), ys.ravel())]
    s = cc.Scene()
    s.add_buildings(gpd.GeoDataFrame({"height": 10.0 + (xs.ravel() % 7)}, geometry=geoms, crs="EPSG:2154"))
    return s


def neighbours_within_reach(scene):
    """Per building: number of other buildings within REACH metres."""
    B = scene.buildings
    g = B.geometry.values
    tree = shapely.STRtree(g)
    a, b = tree.query(g, predicate="dwithin", distance=REACH)
    counts = np.bincount(a[a != b], minlength=len(g))
    return gpd.GeoDataFrame({"building_id": B.index, "neighbours": counts}, geometry=g, crs=B.crs)


@pytest.mark.parametrize("scheduler", ["serial", "threads", "dask"])
def test_tiles_with_enough_halo_match_the_whole_run(scheduler):
    s = grid_scene()
    whole = neighbours_within_reach(s).set_index("building_id")["neighbours"]
    tiled = parallel.map_tiles(s, neighbours_within_reach, tile_size=100.0, halo=REACH + 10, scheduler=scheduler)
    # every building lands in exactly one tile
    assert tiled["building_id"].is_unique and len(tiled) == len(s.buildings)
    t = tiled.set_index("building_id")["neighbours"].reindex(whole.index)
    assert (t == whole).all()


def test_too_small_halo_misses_neighbours():
    s = grid_scene()
    whole = neighbours_within_reach(s).set_index("building_id")["neighbours"]
    tiled = parallel.map_tiles(s, neighbours_within_reach, tile_size=100.0, halo=0.0, scheduler="serial")
    t = tiled.set_index("building_id")["neighbours"].reindex(whole.index)
    assert (t <= whole).all() and (t < whole).any()


def test_bad_arguments():
    with pytest.raises(InputError, match="unknown scheduler 'gpu'"):
        parallel.map_tiles(grid_scene(2), neighbours_within_reach, scheduler="gpu")


def test_old_engine_keyword_still_selects_the_scheduler():
    s = grid_scene(2)
    with pytest.warns(FutureWarning, match="renamed scheduler="):
        old = parallel.map_tiles(s, neighbours_within_reach, tile_size=100.0, halo=REACH + 10, engine="serial")
    new = parallel.map_tiles(s, neighbours_within_reach, tile_size=100.0, halo=REACH + 10, scheduler="serial")
    pd.testing.assert_frame_equal(old.reset_index(drop=True), new.reset_index(drop=True))
    with pytest.raises(InputError, match="tile_size"):
        parallel.tile_grid((0, 0, 1, 1), 0.0)


def test_tile_stats_counts_every_building_once():
    s = grid_scene()
    st = parallel.tile_stats(s, tile_size=100.0, halo=20.0)
    assert st["buildings_core"].sum() == len(s.buildings)
    assert (st["buildings_with_halo"] >= st["buildings_core"]).all()
