"""City runs from files (cimcity.parallel.run): tiled == untiled, resumable,
each building once, box reads that really filter, flood connectivity decided
over the whole DEM.

References: the untiled single-machine functions on the same files (the
tiled run must reproduce them: the tiling is a partition of the work, not a
new model), and scipy.ndimage.label on the whole DEM for the flood network
(an independent implementation of connected components).
"""

from __future__ import annotations

import json
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely

import cimcity as cc
from cimcity import parallel
from cimcity.errors import FileFormatError, InputError
from cimcity.parallel import floodnet
from cimcity.parallel.analyses import FAIL_ENV
from cimcity.parallel.grid import lattice

#: float tolerance of tiled vs untiled [relative]: the same rays on the same
#: geometry; only the mesh's local origin differs per tile
REL = 1e-9
WHEN = "2023-06-21"


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    """The bundled district written as the files a city run reads."""
    d = tmp_path_factory.mktemp("district")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = cc.datasets.load("paris")
    B = s.buildings.reset_index()[["building_id", "geometry", "height", "ground_z", "storeys"]]
    B.to_parquet(d / "b.parquet", write_covering_bbox=True)
    B.to_file(d / "b.fgb")
    B.to_parquet(d / "nocover.parquet")
    s.parcels.reset_index()[["parcel_id", "geometry"]].to_file(d / "p.gpkg")
    s.vegetation.reset_index()[["kind", "height", "geometry"]].to_file(d / "v.gpkg")
    t = s.terrain
    with rasterio.open(d / "dem.tif", "w", driver="GTiff", height=t.shape[0], width=t.shape[1],
                       count=1, dtype="float64", crs="EPSG:2154", transform=t.transform) as ds:
        ds.write(t.elevation, 1)
    return d


def untiled(d, dem=True, fgb=False):
    s = cc.Scene()
    if dem:
        s.add_terrain(cc.read_dem(d / "dem.tif"))
    s.add_buildings(gpd.read_file(d / "b.fgb") if fgb else gpd.read_parquet(d / "b.parquet"))
    return s


def assert_same(tiled, ref):
    assert list(tiled.columns) == list(ref.columns)
    assert tiled.index.is_unique and len(tiled) == len(ref)
    pd.testing.assert_frame_equal(
        pd.DataFrame(tiled.loc[ref.index].drop(columns="geometry", errors="ignore")),
        pd.DataFrame(ref.drop(columns="geometry", errors="ignore")),
        check_dtype=False, rtol=REL, atol=1e-9,
    )


@pytest.fixture(scope="module")
def solar_run(district, tmp_path_factory):
    """A tiled solar run of the district on a 2-worker LocalCluster (with the
    sensor-level table)."""
    from distributed import Client, LocalCluster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                          dashboard_address=None) as cl, Client(cl) as client:
            return parallel.run("solar", district / "b.parquet", district / "dem.tif",
                                tile_size=200, out=tmp_path_factory.mktemp("solar"),
                                client=client, when=WHEN, spacing=3.0, sensors=True)


def test_solar_by_building_tiled_equals_untiled_on_a_local_cluster(district, solar_run):
    r = solar_run
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = cc.solar.irradiance(untiled(district), WHEN, spacing=3.0).by_building
    done = [t for t in r.tiles.values() if t["status"] == "done"]
    assert len(done) >= 4  # really tiled
    assert len({t["pid"] for t in done}) == 1  # processes=False: one process, 2 workers
    assert_same(r.read(), ref)
    assert r.manifest["halo"]["capped"] and r.manifest["halo"]["cap_m"] == 300.0


def test_duckdb_queries_the_parts_in_place(solar_run):
    """The docs/scale.md DuckDB queries (plain SQL on the Parquet parts and
    their bbox covering column) return what geopandas reads from the same
    parts: the top buildings, a box selection (geopandas ``.cx``: bounds
    intersecting the box) and the sensors per kind (pandas groupby)."""
    import duckdb

    out = solar_run.out
    B = solar_run.read()
    S = solar_run.read("sensors")
    con = duckdb.connect()
    top = con.sql(f"""
        SELECT building_id, roof_mean, pv_kwh
        FROM read_parquet('{out}/buildings/*.parquet')
        ORDER BY pv_kwh DESC LIMIT 20""").df().set_index("building_id")
    ref = B.sort_values("pv_kwh", ascending=False).head(20)[["roof_mean", "pv_kwh"]]
    pd.testing.assert_frame_equal(top, ref, check_names=False)
    x0, y0, x1, y1 = 649800.0, 6865400.0, 649950.0, 6865550.0
    box = con.sql(f"""
        SELECT building_id, pv_kwh
        FROM read_parquet('{out}/buildings/*.parquet')
        WHERE bbox.xmax >= {x0} AND bbox.xmin <= {x1}
          AND bbox.ymax >= {y0} AND bbox.ymin <= {y1}""").df().set_index("building_id")
    want = B.cx[x0:x1, y0:y1]
    assert 0 < len(want) < len(B)  # the box selects some, not all
    assert sorted(box.index) == sorted(want.index)
    np.testing.assert_allclose(box.loc[want.index, "pv_kwh"], want["pv_kwh"], rtol=1e-12)
    kinds = con.sql(f"""
        SELECT kind, count(*) AS sensors, avg(irradiation) AS mean_kwh_m2
        FROM read_parquet('{out}/sensors/*.parquet') GROUP BY kind ORDER BY kind""").df()
    g = S.groupby("kind")["irradiation"].agg(["size", "mean"]).sort_index()
    assert kinds["kind"].tolist() == g.index.tolist()
    np.testing.assert_array_equal(kinds["sensors"], g["size"])
    np.testing.assert_allclose(kinds["mean_kwh_m2"], g["mean"], rtol=1e-12)


def test_sun_hours_tiled_equals_untiled(district, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = parallel.run("sunhours", district / "b.parquet", district / "dem.tif",
                         tile_size=200, out=tmp_path, scheduler="threads",
                         when="2023-03-21", spacing=3.0, step="15min", sensors=True)
        res = cc.shadow.sun_hours(untiled(district), "2023-03-21", spacing=3.0,
                                  step="15min", surfaces=("roof", "wall"))
    key = ["building_id", "kind", "orientation"]
    t = r.read().set_index(key).sort_index()
    u = res.by_building.set_index(key).sort_index()
    assert list(t.columns) == list(u.columns) and t.index.equals(u.index)
    np.testing.assert_allclose(t.to_numpy(float), u.to_numpy(float), rtol=REL)
    # sensor level: same sensors, same hours, same context flags as untiled
    S = r.read("sensors")
    U = res.sensors
    assert len(S) == len(U)
    a = S.sort_values(["x", "y", "z"]).reset_index(drop=True)
    b = U.sort_values(["x", "y", "z"]).reset_index(drop=True)
    np.testing.assert_allclose(a["sun_hours"], b["sun_hours"], rtol=REL)
    np.testing.assert_allclose(a["edge_context_m"], b["edge_context_m"], atol=0.011)
    assert (a["context_ok"].to_numpy() == b["context_ok"].to_numpy()).all()


def lowest_cell(d):
    dem = cc.read_dem(d / "dem.tif")
    z = dem.elevation
    r, c = np.unravel_index(np.nanargmin(z), z.shape)
    x, y = dem.transform * (c + 0.5, r + 0.5)
    return dem, np.array([[x, y]]), float(np.nanpercentile(z, 30))


def test_flood_exposure_tiled_equals_untiled(district, tmp_path):
    dem, src, level = lowest_cell(district)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = parallel.run("flood", district / "b.fgb", district / "dem.tif", tile_size=100,
                         out=tmp_path, scheduler="threads", level=level, sources=src)
        ref = cc.flood.exposure(untiled(district, fgb=True),
                                cc.flood.extent(dem, level, sources=src)).buildings
    assert 0 < int(ref["flooded"].sum()) < len(ref)  # a real test: some wet, some dry
    assert_same(r.read(), ref)


def test_vegetation_shares_tiled_equal_untiled(district, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = parallel.run("vegetation", district / "b.fgb", tile_size=150, out=tmp_path,
                         scheduler="serial", parcels=district / "p.gpkg",
                         vegetation=district / "v.gpkg")
        s = cc.Scene()
        s.add_parcels(gpd.read_file(district / "p.gpkg"))
        s.add_buildings(gpd.read_file(district / "b.fgb"))
        s.add_vegetation(gpd.read_file(district / "v.gpkg"))
        ref = cc.vegetation.ratios(s).units
    assert_same(r.read("units"), ref)


EPW = "weather/FRA_Paris.Orly.071490_IWEC.epw"


def test_heat_tiled_equals_untiled(district, tmp_path, shared_data, monkeypatch):
    """Tmrt mean/max, sun hours and UTCI max at every person point of a tiled
    heat run (4 tiles of 200 m, trees from the vegetation layer) equal the
    single-machine ``heat.tmrt_raster`` + ``heat.comfort.utci_frame`` on the
    whole district's grid at the same points and site, to float tolerance;
    the aggregate cells match a spatial join (geopandas) of the untiled
    points into the cells' polygons. The tiles compute their points in
    chunks of 1,000 (forced here), the untiled run in one."""
    from cimcity.heat.comfort import utci_frame
    from cimcity.heat.rasters import scene_grid
    from cimcity.sun.occluders import CROWN_BASE_SHARE

    epw = shared_data / EPW
    when = ("2023-07-15 12:00", "2023-07-15 14:00")
    monkeypatch.setattr(parallel.heat, "CHUNK_BYTES", 1.0)  # chunks of 1,000 points
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = parallel.run("heat", district / "b.parquet", district / "dem.tif", tile_size=200,
                         out=tmp_path, scheduler="threads", vegetation=district / "v.gpkg",
                         weather=str(epw), when=when, spacing=4.0, cell_size=100.0)
        h = r.manifest["halo"]
        # the halo: 37.8 m rise seen at the view set's lowest direction (6°) is
        # 360 m, capped at 300 m, and said so
        assert h["lowest_ray_deg"] == pytest.approx(6.0) and h["capped"]
        assert h["halo_m"] == pytest.approx(300 + 2 * 4.0)
        city = r.manifest["city"]
        s = untiled(district)
        s.add_vegetation(gpd.read_file(district / "v.gpkg"))
        x0, y0, x1, y1 = s.terrain.bounds  # on the 4 m lattice already
        g = scene_grid(s, cell=4.0, area=(x0, y0, x1, y1))
        rows, cols = np.nonzero(~g.built)
        xs, ys = g.to_xy(cols + 0.5, rows + 0.5)
        bx0, by0, bx1, by1 = city["heat_box"]
        keep = (xs >= bx0) & (xs < bx1) & (ys >= by0) & (ys < by1)
        lat, lon, alt = city["site"]
        ref = cc.heat.tmrt_raster(g, str(epw), points=np.column_stack([xs[keep], ys[keep]]),
                                  when=when, latitude=lat, longitude=lon, altitude=alt,
                                  trunk_ratio=CROWN_BASE_SHARE, timeseries=True)
        u = utci_frame(ref).max().to_numpy()
    t = r.read("points")
    assert len(t) == keep.sum() > 1000
    key = lambda df: df.assign(x=df.geometry.x.round(3), y=df.geometry.y.round(3)).set_index(  # noqa: E731
        ["x", "y"]).sort_index()
    R = ref.points.assign(utci_max=u)
    a, b = key(t), key(R)
    assert a.index.equals(b.index)  # every point once, on the same lattice
    for c in ("z", "svf", "tmrt_mean", "tmrt_max", "sun_hours", "utci_max"):
        np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=REL,
                                   atol=1e-9, err_msg=c)
    assert b["utci_max"].notna().all() and b["tmrt_max"].max() > b["tmrt_max"].min() + 5
    cells = r.read("cells")
    j = gpd.sjoin(R.reset_index(drop=True), cells[["geometry"]].reset_index(), predicate="within")
    agg = j.groupby("cell_id").agg(points=("tmrt_mean", "size"), tmrt_max=("tmrt_max", "max"),
                                   tmrt_mean=("tmrt_mean", "mean"), utci_max=("utci_max", "max"))
    assert agg["points"].sum() == len(R)  # no point outside a cell, none twice
    c = cells.loc[agg.index]
    np.testing.assert_array_equal(c["points"], agg["points"])
    np.testing.assert_allclose(c[["tmrt_max", "tmrt_mean", "utci_max"]].to_numpy(float),
                               agg[["tmrt_max", "tmrt_mean", "utci_max"]].to_numpy(float),
                               rtol=REL)


def test_a_failed_tile_is_named_and_a_rerun_computes_only_it(district, tmp_path, monkeypatch):
    dem, src, level = lowest_cell(district)
    grid = lattice(cc.parallel.sources.vector_bounds(district / "b.fgb", "EPSG:2154"), 100)
    kw = dict(tile_size=100, out=tmp_path, scheduler="serial", level=level, sources=src)
    bad = grid[5].id
    monkeypatch.setenv(FAIL_ENV, bad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(parallel.TileError, match=bad):
            parallel.run("flood", district / "b.fgb", district / "dem.tif", **kw)
        m = json.loads((tmp_path / "manifest.json").read_text())
        assert m["tiles"][bad]["status"] == "failed" and "on purpose" in m["tiles"][bad]["error"]
        parts = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "buildings").glob("*.parquet")}
        assert f"{bad}.parquet" not in parts and len(parts) >= 5
        monkeypatch.delenv(FAIL_ENV)
        r = parallel.run("flood", district / "b.fgb", district / "dem.tif", **kw)
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "buildings").glob("*.parquet")}
    assert set(after) == set(parts) | {f"{bad}.parquet"}
    assert all(after[k] == v for k, v in parts.items())  # the others untouched
    assert r.tiles[bad]["status"] == "done"
    # and the whole equals the untiled run
    ref = cc.flood.exposure(untiled(district, fgb=True),
                            cc.flood.extent(dem, level, sources=src)).buildings
    assert_same(r.read(), ref)


def test_border_buildings_appear_once_and_reads_filter(district, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = parallel.run("vegetation", district / "b.parquet", tile_size=100, out=tmp_path,
                         scheduler="serial", parcels=district / "p.gpkg", halo=20.0)
    B = gpd.read_parquet(district / "b.parquet")
    grid = lattice(B.total_bounds, 100)
    cores = [shapely.box(*t.core) for t in grid]
    crossing = [sum(bool(g.intersects(c) and not g.touches(c)) for c in cores) > 1
                for g in B.geometry]
    assert sum(crossing) >= 10  # many footprints straddle a tile edge
    # each parcel once; the survey saw each building in one core only
    P = gpd.read_file(district / "p.gpkg")
    U = r.read("units")
    assert U.index.is_unique and set(U.index) == set(P["parcel_id"])
    assert r.manifest["city"]["buildings"] == len(B)
    # the box reads returned a fraction of the file for every tile
    read = [t["rows_read"]["buildings"] for t in r.tiles.values() if t["status"] == "done"]
    assert len(read) >= 9 and max(read) < 0.6 * len(B)


def test_flood_network_matches_whole_dem_labelling(tmp_path):
    """A serpentine channel crossing tiles many times: the water reaches its far
    end only through other tiles; a pit next to it stays dry."""
    from scipy import ndimage

    n = 120
    z = np.full((n, n), 10.0)
    for k, r in enumerate(range(5, n - 5, 20)):  # horizontal runs joined at alternate ends
        z[r, 5:n - 5] = 0.0
        if r + 20 < n - 5:
            c = n - 6 if k % 2 == 0 else 5
            z[r:r + 21, c] = 0.0
    z[60:64, 60:64] = 0.0  # an isolated pit... next to a run? keep it off the channel
    z[62, 62] = 0.0
    t = rasterio.transform.from_origin(650_000, 6_860_000 + n, 1.0, 1.0)
    with rasterio.open(tmp_path / "d.tif", "w", driver="GTiff", height=n, width=n, count=1,
                       dtype="float64", crs="EPSG:2154", transform=t) as ds:
        ds.write(z, 1)
    src = np.array([[650_000 + 6.5, 6_860_000 + n - 5.5]])  # the channel's first cell
    for conn in (8, 4):
        tiles = lattice((650_000, 6_860_000, 650_000 + n, 6_860_000 + n), 25)
        tasks = [dict(tile=tl, dem=str(tmp_path / "d.tif"), crs="EPSG:2154",
                      labels_dir=str(tmp_path), level=5.0, sources=src, connectivity=conn)
                 for tl in tiles]
        parts = [floodnet.label_tile(tk) for tk in tasks]
        reached = floodnet.merge(parts, z.shape, conn)
        terrain = cc.read_dem(tmp_path / "d.tif")
        mask = floodnet.reached_mask(terrain, (0, n, 0, n), tiles, reached, str(tmp_path),
                                     str(tmp_path / "d.tif"))
        lab, _ = ndimage.label(z < 5.0, structure=np.ones((3, 3)) if conn == 8 else None)
        expect = lab == lab[n - 1 - int(src[0, 1] - 6_860_000), 6]
        assert (mask == expect).all()
        whole = cc.flood.extent(terrain, 5.0, sources=src, connectivity=conn)
        assert (mask == np.isfinite(whole.depth)).all()
        assert not mask[60:64, 60:64].all() or expect[60:64, 60:64].all()


def test_refusals(district, tmp_path):
    with pytest.raises(InputError, match="sources"):
        parallel.run("flood", district / "b.fgb", district / "dem.tif", out=tmp_path,
                     level=30.0)
    with pytest.raises(FileFormatError, match="write_covering_bbox"):
        parallel.run("solar", district / "nocover.parquet", out=tmp_path, scheduler="serial")
    with pytest.raises(InputError, match="unknown analysis"):
        parallel.run("wind", district / "b.fgb", out=tmp_path)
    with pytest.raises(InputError, match="needs terrain="):
        parallel.run("heat", district / "b.fgb", out=tmp_path, weather="x.epw")
    with pytest.raises(InputError, match="multiple of cell_size"):
        parallel.run("heat", district / "b.fgb", district / "dem.tif", out=tmp_path,
                     weather="x.epw", tile_size=250, cell_size=100)
    with pytest.raises(InputError, match="unknown scheduler"):
        parallel.run("solar", district / "b.fgb", out=tmp_path, scheduler="gpu")


def test_own_local_cluster_gives_a_one_tile_run_every_core(district, tmp_path):
    """Without a client, the run starts one LocalCluster of worker processes;
    a city of one tile gets one worker with a numba thread per core, so it
    does not run on one core while the others idle; a city of many tiles
    gets one single-threaded worker per core (no oversubscription)."""
    import os

    from cimcity.parallel.engine import _cores

    dem, src, level = lowest_cell(district)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = parallel.run("flood", district / "b.fgb", district / "dem.tif", tile_size=3000,
                         out=tmp_path, level=level, sources=src)
    done = [t for t in r.tiles.values() if t["status"] == "done"]
    assert len(done) == 1 and done[0]["pid"] != os.getpid()
    assert done[0]["numba_threads"] == _cores()
    # many tiles: one single-threaded worker per core
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = parallel.run("flood", district / "b.fgb", district / "dem.tif", tile_size=100,
                         out=tmp_path / "many", level=level, sources=src)
    done = [t for t in r.tiles.values() if t["status"] == "done"]
    assert len(done) > _cores() and {t["numba_threads"] for t in done} == {1}


def test_cli_run_flood_writes_parts_and_manifest(district, tmp_path, capsys):
    from cimcity.cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = cc.datasets.load("paris")
    s.layers["water"].to_file(tmp_path / "river.gpkg")
    args = ["run", "flood", "--buildings", str(district / "b.fgb"), "--dem",
            str(district / "dem.tif"), "--tile-size", "150", "--level", "30", "--river",
            str(tmp_path / "river.gpkg"), "--out", str(tmp_path / "o"), "--scheduler", "threads"]
    assert main(args) == 0
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    done = [t for t in m["tiles"].values() if t["status"] == "done"]
    assert sum(t["rows"] for t in done) == 113 and len(done) >= 4
    assert "wrote" in capsys.readouterr().out
    no_river = [a for a in args if a not in ("--river", str(tmp_path / "river.gpkg"))]
    assert main(no_river[:-4] + ["--out", str(tmp_path / "o2")]) == 2  # no --river: exit 2


def test_cli_run_heat_writes_points_and_cells(district, tmp_path, capsys, shared_data):
    """``cimcity run heat``: one person point per open 5 m cell of the
    buildings' extent (counted here with rasterio on the burnt footprints),
    the cells' point counts add up to it, and the refusals exit 2."""
    from rasterio.features import rasterize

    from cimcity.cli import main

    args = ["run", "heat", "--buildings", str(district / "b.parquet"), "--dem",
            str(district / "dem.tif"), "--tile-size", "200", "--weather",
            str(shared_data / EPW), "--when", "2023-07-15 13:00/2023-07-15 14:00",
            "--spacing", "5", "--cell-size", "100", "--out", str(tmp_path / "o"),
            "--scheduler", "threads"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(args) == 0
    assert "wrote" in capsys.readouterr().out
    P = parallel.read(tmp_path / "o", "points")
    C = parallel.read(tmp_path / "o", "cells")
    B = gpd.read_parquet(district / "b.parquet")
    x0, y0, x1, y1 = B.total_bounds
    x0, y0, x1, y1 = np.floor(x0 / 5) * 5, np.floor(y0 / 5) * 5, np.ceil(x1 / 5) * 5, np.ceil(y1 / 5) * 5
    shape = (round((y1 - y0) / 5), round((x1 - x0) / 5))
    built = rasterize(B.geometry, out_shape=shape, transform=rasterio.transform.from_origin(
        x0, y1, 5, 5), fill=0, default_value=1)
    assert len(P) == int((built == 0).sum()) == int(C["points"].sum())
    assert len(set(zip(P.geometry.x, P.geometry.y))) == len(P)
    assert main(args[:8] + args[10:]) == 2  # no --weather: exit 2
    assert main(args[:-7] + args[-5:] + ["--cell-size", "30"]) == 2  # 200 m tiles, 30 m cells


@pytest.mark.realdata
def test_synthetic_city_has_the_statistics_of_paris_11e(shared_data):
    """The benchmark's city draws footprints and heights from BDNB Paris 11e:
    its median height is the district's (±1.5 m) and its density is
    Paris-like (900-1,500 buildings per km² of blocks)."""
    from cimcity.datasets import city

    st = city.real_statistics(shared_data / "france" / "bdnb_paris11_batiments.shp")
    B = city.buildings(1000.0, st, seed=1)
    assert abs(B["height"].median() - np.median(st["heights"])) < 1.5
    assert 900 <= len(B) <= 1500
    assert B.geometry.is_valid.all() and B["building_id"].is_unique
    # footprints do not overlap (a Paris block: party walls touch, never cross)
    tree = shapely.STRtree(B.geometry.values)
    a, b = tree.query(B.geometry.values, predicate="overlaps")
    inter = shapely.area(shapely.intersection(B.geometry.values[a], B.geometry.values[b]))
    assert (inter < 1.0).all()
