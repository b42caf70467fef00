"""``cimcity heat``: bad input exits 2 with one line; a run on the sample writes
its tables, rasters and map, and the UTCI it writes is pythermalcomfort's UTCI
of the Tmrt it writes with the weather of the hour (independent recomputation).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio

from cimcity import cli
from cimcity.cli import main

pytest.importorskip("pythermalcomfort")
from pythermalcomfort.models import utci as ptc_utci  # noqa: E402

#: a corner of the sample with streets, parcels and two zones [Lambert-93 m]
AREA = "649850,6865450,649930,6865530"


@pytest.fixture(autouse=True)
def _heat_command(monkeypatch):
    # `heat` joins cli.COMMANDS with this issue; keep the test independent of it
    if "heat" not in cli.COMMANDS:
        monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, "heat"))


@pytest.fixture(scope="module")
def epw(shared_data):
    return shared_data / "weather" / "FRA_Paris.Orly.071490_IWEC.epw"


def _run(argv, capsys):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return code, out, err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--scenario", "paris60"], "'hottest-week', 'paris50'"),
        (["--area", "1,2,3"], "XMIN,YMIN,XMAX,YMAX"),
        (["--area", "5,5,1,1"], "XMAX must exceed"),
        (["--when", "2023-13-45"], "not a date"),
        (["--spacing", "-1"], "expected a positive number"),
        (["--when", "2023-01-10"], "pick a day inside"),
    ],
)
def test_bad_input_exits_2_with_one_line(extra, message, epw, tmp_path, capsys):
    code, out, err = _run(["heat", "--sample", "--weather", epw, *extra,
                           "--out", tmp_path], capsys)
    assert code == 2
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0], err


def test_missing_weather_and_scene_exit_2(tmp_path, epw, capsys):
    code, _, err = _run(["heat", "--sample", "--weather", tmp_path / "no.epw"], capsys)
    assert code == 2 and "no.epw" in err
    code, _, err = _run(["heat", "--weather", epw], capsys)
    assert code == 2 and "--sample" in err


@pytest.mark.slow
@pytest.mark.realdata
def test_heat_on_the_sample_writes_consistent_outputs(epw, tmp_path, capsys):
    out = tmp_path / "heat"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code, text, err = _run(
            ["heat", "--sample", "--weather", epw, "--area", AREA, "--spacing", "4",
             "--out", out, "--lang", "en"], capsys)
    assert code == 0, err
    assert "scenario hottest-week" in text and "cool refuges" in text
    for name in ("heat_points.parquet", "tmrt_max.tif", "utci_max.tif",
                 "refuges_streets.csv", "refuges_parcels.csv", "heat_map.png"):
        assert (out / name).exists(), name
    pts = gpd.read_parquet(out / "heat_points.parquet")
    assert len(pts) > 100
    with rasterio.open(out / "utci_max.tif") as ds:
        grid = ds.read(1)
    assert np.isfinite(grid).sum() == pts["utci_max"].notna().sum()
    assert np.nanmax(grid) == pytest.approx(pts["utci_max"].max(), abs=1e-4)
    # independent recomputation: pythermalcomfort's UTCI of each point's hottest
    # Tmrt with the weather of that hour is at most the point's UTCI maximum,
    # and equal to it where the hottest radiant hour is also the hottest felt one
    from cimcity.heat import scenarios

    met = scenarios.hottest_week(epw, latitude=48.88, longitude=2.32)
    air = met.air.copy()
    air.index = air.index.map(str)
    a = air.loc[pts["time_max"].astype(str)]
    ref = np.asarray(ptc_utci(a["temp_air"].to_numpy(), pts["tmrt_max"].to_numpy(),
                              np.maximum(a["wind_speed"].to_numpy(), 0.5),
                              a["relative_humidity"].to_numpy(),
                              round_output=False).utci, float)
    ok = np.isfinite(ref) & pts["utci_max"].notna().to_numpy()
    assert ok.sum() > 0.9 * len(pts)
    # Tmrt is written as float32 by the model: 1e-3 °C of rounding
    assert np.all(pts["utci_max"].to_numpy()[ok] >= ref[ok] - 1e-3)
    same = np.isclose(pts["utci_max"].to_numpy()[ok], ref[ok], atol=1e-3)
    # 28 % of the points on 15 Aug (elsewhere the air is hotter an hour later)
    assert same.mean() > 0.2, same.mean()
    # the refuge areas per parcel add up to the refuge points' area inside parcels
    par = pd.read_csv(out / "refuges_parcels.csv")
    assert (par["refuge_share"].dropna().between(0, 1)).all()
    assert (par["refuge_area_m2"].fillna(0) <= par["open_area_m2"] + 1e-9).all()


@pytest.mark.slow
@pytest.mark.realdata
def test_demo_oasis_step_cools_the_yard_and_draws_the_maps(shared_data, tmp_path):
    import matplotlib.image as mpimg

    import cimcity as cc
    from cimcity.commands.demo import heat as step

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scene = cc.datasets.load("paris")
    lines = []
    out = step.run(scene, tmp_path, lines.append)
    # shade and grass never warm a yard at the hottest hour (radiative physics:
    # a crown blocks the direct beam, grass stays cooler than asphalt)
    assert out["after"]["tmrt_yard_c"] < out["before"]["tmrt_yard_c"] - 5.0
    assert out["after"]["utci_yard_c"] < out["before"]["utci_yard_c"]
    assert out["after"]["strong_heat_hours_yard"] <= out["before"]["strong_heat_hours_yard"]
    img = mpimg.imread(out["files"][0])
    assert img.shape[0] > 600 and img.shape[1] > 600
    assert img[..., :3].std() > 0.1  # not blank
    assert any("yard at" in line for line in lines)


# -- --project: before and after an IFC project (heat.impact) --------------------------
#: around the sample's project (footprint 649750-649774 x 6865466-6865481, 24.5 m
#: tall): its shade at the hottest hour (to the north-east) and, east of x =
#: 649848.5, ground more than 3 x its height away [Lambert-93 m]
PROJECT_AREA = "649702,6865440,649860,6865530"


def _sample_ifc():
    import cimcity as cc

    return cc.datasets.path("paris") / cc.datasets.manifest("paris")["project_ifc"]


@pytest.mark.slow
@pytest.mark.realdata
def test_heat_project_shades_its_street_and_leaves_far_ground_unchanged(
        epw, tmp_path, capsys):
    import pvlib
    import shapely

    import cimcity as cc

    out = tmp_path / "impact"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code, text, err = _run(
            ["heat", "--sample", "--project", _sample_ifc(), "--weather", epw,
             "--area", PROJECT_AREA, "--spacing", "2", "--out", out, "--lang", "en"],
            capsys)
    assert code == 0, err
    for name in ("heat_impact_points.parquet", "heat_impact_streets.csv",
                 "heat_impact_parcels.csv", "heat_impact_zones.csv",
                 "delta_tmrt_hottest.tif", "heat_impact_map.png"):
        assert (out / name).exists(), name
    assert "hours of strong heat stress or worse (UTCI > 32 °C), mean per point: before" in text
    assert "mean change of Tmrt at the hottest hour within 74 m of the project" in text
    pts = gpd.read_parquet(out / "heat_impact_points.parquet")
    t = pd.Timestamp(pts["hottest_time"].iloc[0])
    scene = cc.datasets.load("paris")
    bim = scene.projects[scene.meta["project_id"]]
    height = bim.top_z - bim.base_z
    # (1) newly shaded people: the sun ray from the body's centre (1.1 m) meets
    # the project and no building before. A point at height z is in shade when
    # the ground point z / tan(h) further from the sun is in the ground shadow
    # (cimcity.shadow.polygons: closed-form Minkowski sweep, on the DEM); sun
    # position from pvlib's SPA; 0.25 m in from the shadow's edge
    sun = pvlib.solarposition.get_solarposition(pd.DatetimeIndex([t]), 48.884, 2.307)
    h = np.radians(sun["apparent_elevation"].iloc[0])
    az = np.radians(sun["azimuth"].iloc[0])
    before = cc.shadow.polygons(scene, t, ground="terrain")
    after = cc.shadow.polygons(scene.with_project(bim), t, ground="terrain")
    new = shapely.union_all(after.geometry.values).difference(
        shapely.union_all(before.geometry.values)).buffer(-0.25)
    x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    run = 1.1 / np.tan(h)
    shaded = shapely.contains_xy(new, x - run * np.sin(az), y - run * np.cos(az))
    assert shaded.sum() >= 8, shaded.sum()
    # the beam those points lose, on the six faces of a standing person (Höppe
    # 1992, SOLWEIG weights 0.06 up, 0.22 lateral; absorptivity 0.70 shortwave,
    # 0.97 longwave, ISO 7726), from the EPW's own DNI (pvlib reader; the row of
    # the hour ending 30 min after the mid-hour t) and pvlib's sun position:
    # shade removes at least that (the shaded ground also reflects and emits less)
    raw, _ = pvlib.iotools.read_epw(epw)
    end = t + pd.Timedelta("30min")  # EPW rows are stamped at the hour's end
    dni = float(raw.loc[(raw.index.month == end.month) & (raw.index.day == end.day)
                        & (raw.index.hour == end.hour), "dni"].iloc[0])
    beam = dni * (0.06 * np.sin(h) + 0.22 * np.cos(h) * (abs(np.sin(az)) + abs(np.cos(az))))
    sigma = 5.670374419e-8
    tb = pts.loc[shaded, "tmrt_hottest_before"].to_numpy() + 273.15
    bound = (tb**4 - 0.70 * beam / (0.97 * sigma)) ** 0.25 - 273.15
    ta = pts.loc[shaded, "tmrt_hottest_after"].to_numpy()
    # observed: 11.7 to 15.7 K below the beam-only bound (the rest is the shaded
    # ground's lost reflection and warmth); 0.5 K: float32 Tmrt and the bound's
    # neglect of the circumsolar light that travels with the beam
    assert dni > 300 and np.all(ta <= bound + 0.5), (dni, (ta - bound).max())
    # (2) ground more than 3 x the project's height from it: unchanged at the
    # hottest hour (observed 0.002 K: float32 Tmrt rounding)
    far = pts["distance_to_project_m"].to_numpy() > 3 * height
    assert far.sum() > 50
    assert np.abs(pts.loc[far, "delta_tmrt_hottest"]).max() <= 0.05
    # the change raster holds the same values as the table
    with rasterio.open(out / "delta_tmrt_hottest.tif") as ds:
        grid = ds.read(1)
        r, c = rasterio.transform.rowcol(ds.transform, x, y)
    assert np.allclose(grid[r, c], pts["delta_tmrt_hottest"], atol=1e-4, equal_nan=True)


def _check_error(argv_tail, tmp_path, capsys):
    """The one-line error of ``cimcity check`` on the sample's files."""
    d = _sample_ifc().parent
    code, _, err = _run(
        ["check", *argv_tail, "--parcels", d / "cadastre-75117-parcelles.json",
         "--zones", d / "zone_urba.gpkg", "--rules", d / "plu_rules.toml",
         "--terrain", d / "dem_1m.tif", "--out", tmp_path / "r.html", "--no-impact",
         "--no-images"], capsys)
    assert code == 2
    return err.strip().splitlines()[-1].split("error: ", 1)[1]


@pytest.mark.realdata
def test_heat_project_off_its_parcel_or_in_another_crs_is_refused_as_check_does(
        epw, tmp_path, capsys):
    import cimcity as cc
    from cimcity.datasets.ifc_writer import write_project_ifc

    out = tmp_path / "impact"
    # 550 m east of its parcel, outside the sample's cadastre
    far = ["--placement", "650300,6865466,34.43"]
    code, _, err = _run(["heat", "--sample", "--project", _sample_ifc(), *far,
                         "--weather", epw, "--out", out], capsys)
    line = err.strip().splitlines()[-1]
    assert code == 2 and "does not stand on any parcel" in line
    assert "from the nearest parcel" in line and "--placement" in line
    assert line.split("error: ", 1)[1] == _check_error([_sample_ifc(), *far],
                                                       tmp_path, capsys)
    assert not out.exists()  # refused before anything is computed or written
    # the sample's IFC with its map conversion labelled UTM 31N instead of
    # Lambert-93: transformed to Lambert-93 it lands 1,486 km away (Norway)
    man = cc.datasets.manifest("paris")
    ifc = write_project_ifc(tmp_path / "utm.ifc",
                            [(0.0, 0.0), (24.0, 0.0), (24.0, 15.0), (0.0, 15.0)],
                            man["project_storey_heights"],
                            map_conversion=man["project_placement"], crs="EPSG:32631")
    code, _, err = _run(["heat", "--sample", "--project", ifc, "--weather", epw,
                         "--out", out], capsys)
    line = err.strip().splitlines()[-1]
    assert code == 2 and "utm.ifc" in line and "km from the nearest parcel" in line, line
    assert line.split("error: ", 1)[1] == _check_error([ifc], tmp_path, capsys)
    assert not out.exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--sample", "--placement", "1,2,3"], "--placement goes with --project IFC"),
        (["--sample", "--parcel-id", "X"], "--parcel-id goes with --project IFC"),
        (["--buildings", "b.gpkg", "--project"], "needs --sample"),
        (["--sample", "--project", "missing.ifc"], "--project: file not found"),
        (["--sample", "--parcels", "p.json"], "--parcels goes with --buildings"),
        (["--sample", "--project", "--placement", "1,2"], "x,y,z or x,y,z,rotation_deg"),
        (["--sample", "--project", "--parcel-id", "NOPE"], "not parcels of the scene"),
    ],
)
def test_heat_project_options_bad_input_exits_2(argv, message, epw, tmp_path, capsys):
    b = tmp_path / "b.gpkg"
    gpd.GeoDataFrame({"hauteur": [10.0]}, geometry=[
        __import__("shapely").box(649750, 6865400, 649760, 6865410)],
        crs="EPSG:2154").to_file(b)
    argv = [str(b) if a == "b.gpkg" else a for a in argv]
    code, _, err = _run(["heat", *argv, "--weather", epw, "--out", tmp_path / "o"],
                        capsys)
    errors = [line for line in err.splitlines() if "error:" in line]
    assert code == 2 and len(errors) == 1 and message in errors[0], err
    assert not (tmp_path / "o").exists()
