"""``cimcity.parallel.run``: a whole-city analysis from files, in tiles.

The driver knows the files' extents (metadata), the tiling and a few numbers
per tile; the workers read, compute and write. Steps:

1. **extent** from the files' metadata (:mod:`cimcity.parallel.sources`);
2. **survey** of every tile's core (counts, tallest building, highest roof,
   lowest ground, largest extent, hull: :func:`cimcity.parallel.halo.survey_tile`),
   giving the halo (module :mod:`cimcity.parallel.halo`: rules and cap) and
   the city's site, skipping empty tiles;
3. for a flood, the **water network** over the whole DEM
   (:mod:`cimcity.parallel.floodnet`);
4. the **tiles** (:func:`cimcity.parallel.analyses.run_tile`), each writing
   its parts; the driver records each finished tile in the manifest
   (:mod:`cimcity.parallel.store`) as it arrives.

Without a ``client``, one LocalCluster serves every step of the run (its
workers start and load the compiled kernels once); the tiles are submitted
busiest first (building counts from the survey), so the run does not end on
one large tile while the other workers idle.

A rerun with the same ``out`` skips finished tiles; ``tiles=[...]`` restricts
the run to some tiles (e.g. the failed ones). Failed tiles are listed in a
:class:`~cimcity.parallel.analyses.TileError` raised after every other tile
has finished.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from .._progress import bar
from ..crs import as_projected_crs
from ..errors import InputError
from . import store
from .analyses import ANALYSES, FAIL_ENV, TileError, city_site, run_tile
from .engine import RUN_SCHEDULERS, map_unordered, session
from .floodnet import check_sources, label_tile, merge
from .grid import lattice
from .halo import (
    combine,
    flood_halo,
    lowest_elevation,
    sun_halo,
    survey_tile,
    vegetation_halo,
    warn_capped,
)
from .heat import check as check_heat
from .heat import heat_halo, lattice_area
from .sources import raster_bounds, raster_shape, vector_bounds

__all__ = ["run", "CityRun", "read", "FAIL_ENV"]


@dataclass
class CityRun:
    """What :func:`run` did.

    Attributes
    ----------
    out : Path
        The output folder (parts and ``manifest.json``).
    manifest : dict
        Tiles (status, rows, timings, peak memory of the worker process
        [MB]), bounds, halo, options, versions.
    """

    out: Path
    manifest: dict

    @property
    def tiles(self) -> dict:
        return self.manifest["tiles"]

    def read(self, table: str = "buildings"):
        """The whole table of the run (all parts), or a GeoDataFrame when the
        parts are GeoParquet: in memory, so for a district or a city's
        per-building table, not a city's sensors (query those with DuckDB)."""
        return read(self.out, table)


def read(out, table: str = "buildings"):
    """Concatenate the parts of ``table`` in ``out`` (geopandas / pandas)."""
    import geopandas as gpd
    import pandas as pd
    import pyarrow.parquet as pq

    d = Path(out) / table
    files = sorted(d.glob("*.parquet"))
    if not files:
        raise InputError(f"no {table!r} parts in {out}; tables: "
                         f"{sorted(p.name for p in Path(out).iterdir() if p.is_dir())}")
    geo = b"geo" in (pq.read_schema(files[0]).metadata or {})
    parts = [gpd.read_parquet(f) if geo else pd.read_parquet(f) for f in files]
    df = pd.concat(parts)
    if geo:
        df = gpd.GeoDataFrame(df, geometry=parts[0].geometry.name, crs=parts[0].crs)
    return df


def _bounds(analysis, inputs, crs):
    boxes = []
    if inputs.get("buildings"):
        boxes.append(vector_bounds(inputs["buildings"], crs, "buildings",
                                   inputs.get("buildings_layer")))
    if analysis == "vegetation" and inputs.get("parcels"):
        boxes.append(vector_bounds(inputs["parcels"], crs, "parcels"))
    if analysis == "flood":
        boxes.append(raster_bounds(inputs["dem"], crs))
    return _union(boxes)


def _union(boxes):
    b = np.array(boxes)
    return (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())


def run(
    analysis,
    buildings=None,
    terrain=None,
    *,
    tile_size: float = 1000.0,
    out="city_run",
    client=None,
    halo: float | None = None,
    scheduler: str = "distributed",
    tiles=None,
    sensors: bool = False,
    parcels=None,
    vegetation=None,
    id_column=None,
    crs="EPSG:2154",
    progress=None,
    **analysis_kwargs,
) -> CityRun:
    """Run an analysis over a whole city from files, tile by tile.

    Parameters
    ----------
    analysis : {"solar", "sunhours", "flood", "vegetation", "heat"}
    buildings : str or Path
        Footprints: GeoParquet (with a bbox covering column), GeoPackage,
        FlatGeobuf or any OGR vector; ids from a product id column or
        ``id_column``.
    terrain : str or Path, optional
        DEM raster or VRT mosaic in ``crs`` (required for ``"flood"``).
    tile_size : float
        Side of a tile's core [m].
    out : str or Path
        Output folder (created): parts per tile and ``manifest.json``.
    client : distributed.Client, optional
        A Dask client (any cluster); default a LocalCluster
        (:mod:`cimcity.parallel.engine`).
    halo : float, optional
        Margin read around each core [m]; default from the data and the
        period (:mod:`cimcity.parallel.halo`).
    scheduler : {"distributed", "threads", "serial"}
    tiles : list of str, optional
        Run only these tile ids (``"ix_iy"``), e.g. the failed ones.
    sensors : bool
        Also write the sensor-level table (solar, sunhours).
    parcels, vegetation : str or Path
        Units and vegetation polygons (``"vegetation"``).
    id_column : str, optional
        Buildings id column.
    crs : str or pyproj.CRS
        CRS of the run (projected, metres).
    progress : bool, optional
        A tqdm bar over tiles (:mod:`cimcity._progress`).
    **analysis_kwargs
        Options of the single-machine function: ``when``, ``weather``,
        ``spacing``, ``surfaces``... (solar); ``when``, ``step``, ``spacing``
        (sunhours); ``level``, ``sources`` (a river geometry or points),
        ``connectivity`` and the :func:`cimcity.flood.exposure` options
        (flood); the :func:`cimcity.vegetation.ratios` options (vegetation);
        ``weather``, ``when``, ``spacing`` (person points [m], default 2),
        ``cell_size`` (aggregates [m], default 100), ``landcover`` and the
        :func:`cimcity.heat.tmrt_raster` options (heat: needs ``terrain``;
        :mod:`cimcity.parallel.heat`).

    Returns
    -------
    CityRun

    Raises
    ------
    InputError
        Unknown analysis or scheduler, missing input, a flood without river
        sources.
    TileError
        Some tiles failed (ids and errors in the message and the manifest;
        rerun: finished tiles are skipped).
    """
    if analysis not in ANALYSES:
        raise InputError(f"unknown analysis {analysis!r}; expected one of {', '.join(ANALYSES)}")
    if scheduler not in RUN_SCHEDULERS:
        raise InputError(
            f"unknown scheduler {scheduler!r}; expected one of {', '.join(RUN_SCHEDULERS)}"
        )
    if buildings is None and analysis != "vegetation":
        raise InputError(f"a {analysis} run needs buildings= (a vector file)")
    if analysis == "flood" and terrain is None:
        raise InputError("a flood run needs terrain= (a DEM raster or VRT)")
    if analysis == "vegetation" and parcels is None:
        raise InputError("a vegetation run needs parcels= (the units, a vector file)")
    crs = as_projected_crs(crs).to_string()
    inputs = {k: (str(v) if v is not None else None) for k, v in dict(
        buildings=buildings, dem=terrain, parcels=parcels, vegetation=vegetation).items()}
    inputs["id_column"] = id_column
    kwargs = dict(analysis_kwargs)
    flood_opts = {}
    if analysis == "flood":
        if "level" not in kwargs:
            raise InputError("a flood run needs level= (the water level [m])")
        flood_opts = dict(level=kwargs.pop("level"), sources=kwargs.pop("sources", None),
                          connectivity=kwargs.pop("connectivity", 8))
        check_sources(flood_opts["sources"])
    if analysis == "heat":
        check_heat(kwargs, tile_size, inputs["dem"])
    if analysis == "sunhours" and "when" not in kwargs:
        raise InputError("a sun-hours run needs when= (a date or a period)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    bounds = _bounds(analysis, inputs, crs)
    grid = lattice(bounds, tile_size, 0.0)
    if tiles is not None:
        unknown = sorted(set(tiles) - {t.id for t in grid})
        if unknown:
            raise InputError(f"unknown tile ids {unknown}; ids are 'ix_iy' of the manifest")
    base = lambda t: dict(analysis=analysis, tile=t, inputs=inputs, crs=crs)  # noqa: E731

    n_tasks = len(tiles) if tiles is not None else len(grid)
    with session(scheduler, client, n_tasks=n_tasks) as client:
        # 2. survey
        t0 = time.perf_counter()
        surveys = [v for _, ok, v in map_unordered(survey_tile, [base(t) for t in grid],
                                                   scheduler=scheduler, client=client)
                   if ok or _raise(v)]
        city = combine(surveys)
        # the site as an untiled run takes it: the centre of all layers and the DEM
        site_box = _union([bounds, raster_bounds(inputs["dem"], crs)]) if inputs["dem"] else bounds
        city["bounds"] = list(site_box)
        city["site"] = city_site(crs, site_box, city.get("ground_median", 0.0))
        # where occluders are known, as an untiled run sees it (sun.context)
        known = [shapely.from_wkb(city["hull"])] if city.get("hull") else []
        if inputs["dem"]:
            known.append(shapely.box(*raster_bounds(inputs["dem"], crs)))
        city["known"] = shapely.to_wkb(shapely.union_all(known)) if known else None
        survey_s = time.perf_counter() - t0
        count = "units" if analysis == "vegetation" else "buildings"
        busy = {s["tile"] for s in surveys if s.get(count)}
        if analysis == "heat":
            # open ground counts, not buildings: every tile of the extent on the DEM
            dem_box = raster_bounds(inputs["dem"], crs)
            spacing = float(kwargs.get("spacing", 2.0))
            city["dem_bounds"] = list(dem_box)
            city["heat_box"] = list(lattice_area(bounds, spacing, dem_box))
            busy = {t.id for t in grid if shapely.box(*t.core).intersects(
                shapely.box(*city["heat_box"]))}

        # halo
        if analysis in ("solar", "sunhours"):
            h = sun_halo(city, lowest_elevation(analysis, kwargs, kwargs.get("when"), city["site"]))
        elif analysis == "heat":
            h = heat_halo(city, kwargs)
        elif analysis == "flood":
            _, tr = raster_shape(inputs["dem"])
            h = flood_halo(city, kwargs.get("ring", (1.0, 3.0)), abs(tr.a))
        else:
            h = vegetation_halo(city)
        if halo is not None:
            h = dict(h, halo_m=float(halo), rule="given (halo=)", auto_halo_m=h["halo_m"],
                     capped=False)
        else:
            warn_capped(h)
        grid = lattice(bounds, tile_size, h["halo_m"])

        manifest = dict(
            analysis=analysis, inputs=inputs, tile_size=float(tile_size), crs=crs,
            options=dict(kwargs, **flood_opts, sensors=sensors),
            bounds=list(bounds), halo=h,
            city={k: v for k, v in city.items() if k not in ("hull", "known")},
            versions=store.versions(), tiles={},
        )
        old = store.load(out)
        if old is not None:
            if not store.same_job(old, manifest):
                raise InputError(
                    f"{out} holds the output of another run ({old.get('analysis')}, "
                    f"other inputs or options); give another out= or remove it"
                )
            manifest["tiles"] = old.get("tiles", {})
        manifest["survey_s"] = round(survey_s, 3)

        # 3. flood network
        flood = None
        if analysis == "flood":
            t0 = time.perf_counter()
            labels_dir = out / "_flood"
            labels_dir.mkdir(exist_ok=True)
            shape, _ = raster_shape(inputs["dem"])
            lab_tasks = [dict(tile=t, dem=inputs["dem"], crs=crs, labels_dir=str(labels_dir),
                              **flood_opts) for t in lattice(bounds, tile_size, 0.0)]
            parts = [v for _, ok, v in map_unordered(label_tile, lab_tasks, scheduler=scheduler,
                                                     client=client) if ok or _raise(v)]
            reached = merge(parts, shape, flood_opts["connectivity"])
            flood = dict(flood_opts, labels_dir=str(labels_dir), reached=reached)
            manifest["flood_network_s"] = round(time.perf_counter() - t0, 3)

        # 4. tiles
        todo = []
        for t in grid:
            if t.id not in busy:
                continue
            if tiles is not None and t.id not in tiles:
                continue
            if tiles is None and store.finished(out, manifest["tiles"].get(t.id)):
                continue
            todo.append(t)
        # the busiest tiles first, so the last tiles to finish are small ones
        # (longest-processing-time-first: a shorter tail on few workers)
        load = {v["tile"]: v.get(count, 0) for v in surveys}
        todo.sort(key=lambda t: -load.get(t.id, 0))
        for t in grid:
            if t.id not in busy:
                manifest["tiles"].setdefault(t.id, dict(tile=t.id, status="empty", core=list(t.core)))
        store.save(out, manifest)
        tasks = [dict(base(t), city=city, kwargs=kwargs, out=str(out), sensors=sensors,
                      flood=flood, tiles=grid if flood else None) for t in todo]
        failed = {}
        with bar(len(tasks), desc=f"{analysis} tiles", unit="tile", progress=progress,
                 work=len(tasks), threshold=2) as pbar:
            for task, ok, value in map_unordered(run_tile, tasks, scheduler=scheduler,
                                                 client=client):
                tid = task["tile"].id
                if ok:
                    manifest["tiles"][tid] = value
                else:
                    failed[tid] = value["error"]
                    manifest["tiles"][tid] = dict(tile=tid, status="failed", core=list(task["tile"].core),
                                                  **value)
                store.save(out, manifest)
                pbar.update(1)
        manifest["wall_s"] = round(time.perf_counter() - t_start, 3)
        store.save(out, manifest)
        if failed:
            listed = "; ".join(f"{k}: {v}" for k, v in list(failed.items())[:5])
            raise TileError(
                f"{len(failed)} of {len(tasks)} tiles failed ({listed}); their errors are in "
                f"{out / store.MANIFEST}; rerun the same call to compute only them, or "
                f"run(..., tiles={sorted(failed)!r})"
            )
        return CityRun(out, manifest)


def _raise(value):
    raise InputError(value["error"])
