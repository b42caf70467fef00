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
