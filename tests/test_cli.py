"""The command line is honest and quiet (issue 17, items 8 and 9).

Every command's bad-input paths end in exit 2 with one line naming the bad
value and the valid ones (never a traceback); "no result" cases say why and exit
3; the bundled sample runs only with ``--sample``; pictures and pages are
written by the suffix the help lists; internal errors keep their traceback and
exit 70. Quiet output: no progress bar, VTK warning or numpy scalar repr in
what a command prints when not on a terminal; one-line reprs.

References: sun positions from pvlib's SPA (Reda & Andreas 2004, NREL/TP-560-
34302), independent of cimcity's own tables.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pvlib
import pytest
import shapely
from pyproj import Transformer

import cimcity as cc
from cimcity import render
from cimcity.cli import build_parser, main
from cimcity.commands import _common
from cimcity.errors import CimcityWarning, InputError
from cimcity.testing import CRS, X0, Y0

#: sun elevations printed with one decimal [deg]
ELEVATION_TOL = 0.051
#: sunrise/sunset printed to the minute (the elevation crosses 0 within a step)
MINUTE = pd.Timedelta("1min")


def _buildings_file(tmp_path, ids=("north", "south"), name="b.gpkg"):
    """Two boxes 20 x 10 m, 20 m and 12 m high, ids in a 'ref' column."""
    path = tmp_path / name
    gpd.GeoDataFrame(
        {"ref": list(ids), "hauteur": [20.0, 12.0]},
        geometry=[
            shapely.box(X0, Y0, X0 + 20, Y0 + 10),
            shapely.box(X0, Y0 + 30, X0 + 15, Y0 + 45),
        ],
        crs=CRS,
    ).to_file(path)
    return path


def _run(argv, capsys):
    """(exit code, stdout, stderr) of ``main(argv)``; argparse exits included."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return code, out, err


# -- closed choices: exit 2 naming the valid values -----------------------------------------
@pytest.mark.parametrize(
    "argv, valid",
    [
        (["solar", "--sample", "--engine", "embre"], ["auto", "numba", "embree"]),
        (["shadow", "--sample", "--when", "2024-12-21", "--engine", "gpu"], ["embree"]),
        (["solar", "--sample", "--sky", "cie"], ["perez", "isotropic"]),
        (["solar", "--sample", "--surfaces", "roof,walls"], ["roof", "wall", "ground"]),
        (["shadow", "--sample", "--when", "2024-12-21", "--surfaces", "facade"], ["wall"]),
        (["solar", "--sample", "--patches", "tregenze"], ["tregenza", "reinhart"]),
        (["solar", "--sample", "--patches", "reinhart0"], ["reinhartN"]),
        (["solar", "--sample", "--sun-bins", "fine"], ["tregenza", "reinhart"]),
        (["render", "--sample", "--camera", "side"], list(render.CAMERAS)),
        (["solar", "--sample", "--camera", "side"], list(render.CAMERAS)),
        (["flood", "--sample", "--level", "30", "--mode", "tub"], ["connected", "bathtub"]),
        (["flood", "--sample", "--level", "30", "--connectivity", "6"], ["4", "8"]),
        (["flood", "--sample", "--scenario", "1911"], ["1910", "2016", "2018"]),
        (["demo", "--only", "solr"], ["scene", "solar", "shadow"]),
        (["solar", "--sample", "--spacing", "-1"], ["positive"]),
    ],
)
def test_unknown_choice_exits_2_listing_the_valid_ones(argv, valid, capsys):
    code, out, err = _run(argv, capsys)
    assert code == 2
    line = err.strip().splitlines()[-1]
    assert "invalid" in line or "unknown" in line or "expected" in line, line
    for v in valid:
        assert v in line, (v, line)


def test_choice_lists_match_the_library():
    # the CLI keeps its lists literal (fast --help): they must be the library's
    from cimcity.raycast import engines
    from cimcity.sun.sensors import SURFACES

    assert _common.CAMERAS == render.CAMERAS
    assert _common.SURFACES == SURFACES
    assert set(_common.ENGINES) == set(engines.ENGINES)
    from cimcity.commands import render as render_cmd

    assert render_cmd.IMAGE_SUFFIXES == render.IMAGE_SUFFIXES
    assert render_cmd.PAGE_SUFFIXES == render.PAGE_SUFFIXES


def test_every_patches_spelling_the_cli_accepts_is_one_the_library_reads():
    from cimcity.sun.sky import sky_patches

    for text, n in [("tregenza", 145), ("Reinhart", 577), ("reinhart4", 2305), ("3", 1297)]:
        assert len(sky_patches(_common.patches_type(text)).solid_angles) == n  # 144 mf²+1


# -- the sample only when asked ----------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ["solar"],
        ["shadow", "--when", "2024-12-21"],
        ["render"],
    ],
)
def test_no_scene_is_refused_not_replaced_by_the_sample(argv, tmp_path, capsys):
    code, out, err = _run([*argv, "--out", tmp_path / "o.png"], capsys)
    assert code == 2
    assert "give --buildings FILE or --sample" in err
    assert "Scene" not in out  # nothing was loaded
    assert not (tmp_path / "o.png").exists()


def test_flood_needs_a_dem_or_the_sample(tmp_path, capsys):
    code, out, err = _run(["flood", "--level", "30", "--out", tmp_path / "f"], capsys)
    assert code == 2 and "give --dem FILE or --sample" in err
    assert not (tmp_path / "f").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--sample", "--buildings", "{b}"], "not both"),
        (["--buildings", "{b}", "--project"], "--project .* needs --sample"),
        (["--sample", "--dem", "dem.tif"], "--dem goes with --buildings"),
        (["--sample", "--id-column", "ref"], "--id-column goes with --buildings"),
    ],
)
def test_contradictory_scene_options_exit_2(extra, message, tmp_path, capsys):
    b = _buildings_file(tmp_path)
    extra = [a.format(b=b) for a in extra]
    for cmd in (["solar"], ["shadow", "--when", "2024-12-21"], ["render"]):
        code, out, err = _run([*cmd, *extra, "--out", tmp_path / "o.png"], capsys)
        assert code == 2 and re.search(message, err), (cmd, err)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--sample", "--dem", "{b}"], "not both"),
        (["--sample", "--buildings", "{b}"], "--buildings goes with --dem"),
        (["--sample", "--station", "austerlitz"], "--station goes with --gauge"),
        (["--sample", "--sweep", "1:0:1"], "STOP >= START"),
    ],
)
def test_flood_contradictory_options_exit_2(extra, message, tmp_path, capsys):
    b = _buildings_file(tmp_path)
    argv = ["flood", "--level", "30", *[a.format(b=b) for a in extra]]
    code, out, err = _run([*argv, "--out", tmp_path / "f"], capsys)
    assert code == 2 and re.search(message, err), err
    assert not (tmp_path / "f").exists()  # refused before anything is written


def test_typos_in_dates_and_steps_exit_2_before_the_file_is_read(tmp_path, capsys):
    missing = tmp_path / "absent.gpkg"  # would be "file not found" if read first
    cases = [
        (["solar", "--when", "2024-13-45"], "--when '2024-13-45' is not a date"),
        (["solar", "--start", "soon"], "--start 'soon' is not a date"),
        (["solar", "--sensors", "s.txt"], "expected one of .parquet"),
        (["shadow", "--when", "2024-12-21", "--step", "often"], "--step 'often'"),
        (["shadow", "--when", "2024-12-21", "--step=-6min"], "positive duration"),
        (["shadow", "--when", "2024-12-21", "--time", "25:00"], "25:00"),
        (["render", "--out", "x.svg"], "expected one of .png, .jpg, .jpeg, .bmp"),
    ]
    for argv, message in cases:
        argv = [*argv, "--buildings", missing]
        if argv[0] != "render":
            argv += ["--out", tmp_path / "o"]
        code, out, err = _run(argv, capsys)
        assert code == 2 and message in err, (argv, err)
        assert "file not found" not in err


# -- pictures and pages by suffix ----------------------------------------------------------
def test_render_writes_the_suffixes_its_help_lists(tmp_path, capsys):
    b = _buildings_file(tmp_path)
    parser = build_parser()
    helptext = parser._subparsers._group_actions[0].choices["render"].format_help()
    for suffix in (*render.IMAGE_SUFFIXES, *render.PAGE_SUFFIXES):
        assert suffix in helptext
    # a picture: a real PNG, not blank
    code, out, err = _run(["render", "--buildings", b, "--out", tmp_path / "s.png"], capsys)
    assert code == 0 and not render.figure_is_blank(tmp_path / "s.png")
    # a page (was a pyvista ValueError traceback): the interactive viewer, with the
    # geometry of the two boxes: 12 triangles each x 3 vertices x 3 float32
    code, out, err = _run(["render", "--buildings", b, "--out", tmp_path / "s.html"], capsys)
    assert code == 0, err
    page = (tmp_path / "s.html").read_text()
    # the three.js page (tested in a browser in tests/test_page.py), French by
    # default: its subtitle counts the two buildings of the file
    assert "2 bâtiments · EPSG:2154" in page
    import base64
    import json

    from cimcity.io.gltf import read_glb_json

    raw = re.search(r'id="cimcity-config">(.*?)</script>', page, re.S).group(1)
    config = json.loads(raw.replace("<\\/", "</"))
    gltf = read_glb_json(base64.b64decode(config["models"]["before"]))
    names = {n.get("name") for n in gltf["nodes"]}
    buildings = [n for n in gltf["nodes"] if n.get("extras", {}).get("role") == "building"]
    assert len(buildings) == 2 and {n["name"] for n in buildings} <= names
    assert sorted(n["extras"]["height"] for n in buildings) == [12.0, 20.0]
    # --camera has no meaning on a page: said, not silently dropped
    code, out, err = _run(
        ["render", "--buildings", b, "--camera", "top", "--out", tmp_path / "t.htm"], capsys
    )
    assert code == 0 and "--camera top has no effect" in err
    # anything else: exit 2 naming the accepted suffixes, nothing written
    code, out, err = _run(["render", "--buildings", b, "--out", tmp_path / "s.pdf"], capsys)
    assert code == 2 and ".png" in err and ".html" in err
    assert not (tmp_path / "s.pdf").exists()


# -- "no result" says why ------------------------------------------------------------------
def _pvlib_sun(times):
    """pvlib SPA at the centre of the two test boxes (independent of cimcity)."""
    lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(
        X0 + 10, Y0 + 22.5
    )
    return pvlib.solarposition.get_solarposition(times, lat, lon, altitude=35.0)


def test_shadow_at_night_says_the_sun_is_down_and_exits_3(tmp_path, capsys):
    b = _buildings_file(tmp_path)
    out_dir = tmp_path / "out"
    code, out, err = _run(
        ["shadow", "--buildings", b, "--when", "2024-12-21", "--time", "03:00",
         "--out", out_dir],
        capsys,
    )  # fmt: skip
    assert code == 3  # old: 0 rows, exit 0, nothing said
    assert "the sun is below the horizon at 03:00" in err
    shown = float(re.search(r"03:00 \(sun elevation (-?[\d.]+)°\)", err).group(1))
    sun = _pvlib_sun(pd.DatetimeIndex(["2024-12-21 03:00"], tz="Europe/Paris"))
    assert abs(shown - sun["apparent_elevation"].iloc[0]) < ELEVATION_TOL
    # sunrise and sunset, to the minute, from pvlib's elevation on a 1 s grid
    rise, set_ = re.search(r"the sun is up from (\d\d:\d\d) to (\d\d:\d\d)", err).groups()
    day = pd.date_range("2024-12-21", periods=86400, freq="1s", tz="Europe/Paris")
    up = day[_pvlib_sun(day)["apparent_elevation"].to_numpy() > 0]
    assert abs(pd.Timestamp(f"2024-12-21 {rise}", tz="Europe/Paris") - up[0]) <= MINUTE
    assert abs(pd.Timestamp(f"2024-12-21 {set_}", tz="Europe/Paris") - up[-1]) <= MINUTE
    assert not out_dir.exists()  # nothing computed, nothing written
    # one night time among day times: the day ones are drawn, the night one named
    code, out, err = _run(
        ["shadow", "--buildings", b, "--when", "2024-12-21", "--time", "03:00",
         "--time", "12:00", "--no-sun-hours", "--out", out_dir],
        capsys,
    )  # fmt: skip
    assert code == 0 and "note: no shadow where the sun is below the horizon at 03:00" in err
    g = gpd.read_file(out_dir / "shadows_2024-12-21.gpkg")
    assert len(g) == 2 and set(g["time"].str[11:16]) == {"12:00"}


def test_flood_below_the_ground_says_so(tmp_path, capsys):
    code, out, err = _run(
        ["flood", "--sample", "--level", "10", "--no-map", "--out", tmp_path / "f"], capsys
    )
    assert code == 0  # "nothing floods at 10 m" is an answer
    low = float(np.nanmin(cc.datasets.load("paris").terrain.elevation))
    assert f"nothing floods at 10.00 m: the lowest ground of the DEM is {low:.2f} m" in out


def test_a_file_without_buildings_is_refused(tmp_path, capsys):
    path = tmp_path / "none.gpkg"
    gpd.GeoDataFrame({"hauteur": []}, geometry=[], crs=CRS).to_file(path)
    for argv in (["solar", "--no-render"], ["shadow", "--when", "2024-06-21"]):
        code, out, err = _run(
            [*argv, "--buildings", path, "--out", tmp_path / "o"], capsys
        )
        assert code == 2 and "none.gpkg" in err and "no features" in err, err


# -- outputs: per building and GeoParquet by default; sensors on request ----------------
def test_solar_writes_per_building_tables_and_sensors_only_on_request(tmp_path, capsys):
    b = _buildings_file(tmp_path)
    common = ["solar", "--buildings", b, "--when", "2024-06-21", "--spacing", "4",
              "--engine", "numba", "--no-render", "--id-column", "ref"]  # fmt: skip
    code, out, err = _run([*common, "--out", tmp_path / "a"], capsys)
    assert code == 0, err
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == ["best_roofs.csv", "buildings.csv", "buildings.parquet"]
    B = gpd.read_parquet(tmp_path / "a" / "buildings.parquet")
    assert len(B) == 2 and B.crs.to_epsg() == 2154
    # roof area of each box = its footprint (flat roofs), 200 and 225 m²
    assert np.allclose(B.sort_values("roof_area")["roof_area"], [200.0, 225.0], rtol=0.02)
    # --id-column: the file's ids, not generated ones
    best = pd.read_csv(tmp_path / "a" / "best_roofs.csv", index_col=0)
    assert set(best.index) == {"north", "south"}
    code, out, err = _run([*common, "--sensors", "--out", tmp_path / "b"], capsys)
    assert code == 0
    S = gpd.read_parquet(tmp_path / "b" / "sensors.parquet")
    n = int(re.search(r"([\d,]+) sensors at 4 m", out).group(1).replace(",", ""))
    assert len(S) == n > 0
    code, out, err = _run([*common, "--sensors", "s.gpkg", "--out", tmp_path / "c"], capsys)
    assert code == 0 and len(gpd.read_file(tmp_path / "c" / "s.gpkg")) == n


def test_id_column_names_the_ids(tmp_path, capsys):
    b = _buildings_file(tmp_path, ids=("A-1", "B-2"))
    code, out, err = _run(
        ["render", "--buildings", b, "--id-column", "nope", "--out", tmp_path / "x.png"],
        capsys,
    )
    assert code == 2 and "'nope'" in err and "ref" in err  # the columns are listed
    code, out, err = _run(
        ["shadow", "--buildings", b, "--id-column", "ref", "--when", "2024-06-21",
         "--step", "1h", "--spacing", "4", "--surfaces", "roof", "--out", tmp_path / "s"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    t = pd.read_csv(tmp_path / "s" / "sun_hours_by_building_2024-06-21.csv")
    assert set(t["building_id"]) == {"A-1", "B-2"}
    files = {p.name for p in (tmp_path / "s").iterdir()}
    assert "sun_hours_by_building_2024-06-21.parquet" in files
    assert not any("sensors" in f for f in files)  # sensor level only on request
    # an 'id' column is taken by default; '--id-column none' generates ids instead
    gpd.read_file(b).rename(columns={"ref": "id"}).to_file(tmp_path / "i.gpkg")
    for column, expected in ((None, {"A-1", "B-2"}), ("none", None)):
        extra = ["--id-column", column] if column else []
        code, out, err = _run(
            ["shadow", "--buildings", tmp_path / "i.gpkg", *extra, "--when",
             "2024-06-21", "--no-sun-hours", "--time", "12:00", "--out", tmp_path / "i"],
            capsys,
        )  # fmt: skip
        assert code == 0, err
        got = set(gpd.read_file(tmp_path / "i" / "shadows_2024-06-21.gpkg")["building_id"])
        assert got == expected if expected else (len(got) == 2 and not got & {"A-1", "B-2"})


# -- the last-resort handler ------------------------------------------------------------------
def _command_runs(monkeypatch, func, name="render"):
    """Make ``cimcity NAME`` run ``func(args)`` (register() binds run at parse time)."""
    import cimcity.cli as cli

    real = cli.build_parser

    def build():
        parser = real()
        parser._subparsers._group_actions[0].choices[name].set_defaults(func=func)
        return parser

    monkeypatch.setattr(cli, "build_parser", build)


def _raises(exc):
    def run(args):
        raise exc

    return run


def test_errors_are_one_line_and_bugs_keep_their_traceback(tmp_path, capsys, monkeypatch):
    argv = ["render", "--sample"]
    _command_runs(monkeypatch, _raises(InputError("bad value 'x'\nsecond line")))
    assert main(argv) == 2
    assert capsys.readouterr().err == "cimcity render: error: bad value 'x' second line\n"
    for exc, expected in [
        (FileNotFoundError(2, "No such file", str(tmp_path / "a.shp")), "file not found"),
        (IsADirectoryError(21, "Is a directory", str(tmp_path)), "Is a directory"),
    ]:
        _command_runs(monkeypatch, _raises(exc))
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert expected in err and str(tmp_path) in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
    # a bug is not dressed as bad input: traceback, a request to report, exit 70
    _command_runs(monkeypatch, _raises(ZeroDivisionError("boom")))
    assert main(argv) == 70
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError: boom" in err
    assert "This is a bug" in err


def test_cimcity_warnings_are_one_note_line(capsys, monkeypatch):
    def run(args):
        warnings.warn("3 buildings have no height\n(estimated)", CimcityWarning, stacklevel=2)
        warnings.warn("3 buildings have no height\n(estimated)", CimcityWarning, stacklevel=2)
        return 0

    _command_runs(monkeypatch, run)
    assert main(["render", "--sample"]) == 0
    err = capsys.readouterr().err
    assert err == "cimcity render: note: 3 buildings have no height (estimated)\n"


def test_help_documents_the_exit_codes(capsys):
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices
    for name in ("solar", "shadow", "flood", "render"):
        text = sub[name].format_help()
        assert "3 nothing to compute for the question asked" in " ".join(text.split())
    assert "3 nothing to compute" in " ".join(parser.format_help().split())


# -- one run as a user runs it: a subprocess, stderr not a terminal --------------------------
def test_subprocess_bad_input_has_no_traceback(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    for argv in (
        ["solar"],
        ["render", "--buildings", str(tmp_path / "absent.shp")],
        ["shadow", "--sample", "--when", "2024-12-21", "--time", "03:00"],
    ):
        r = subprocess.run(
            [sys.executable, "-m", "cimcity.cli", *argv, "--out", str(tmp_path / "o")],
            capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
        )  # fmt: skip
        assert r.returncode in (2, 3), (argv, r.returncode, r.stderr)
        assert "Traceback" not in r.stderr, r.stderr


def test_subprocess_render_and_solar_are_quiet(tmp_path):
    """No VTK "bad X server" warning (DISPLAY pointing at no server), no progress
    bar off a terminal, no numpy scalar reprs, warnings as one-line notes."""
    env = {**os.environ, "DISPLAY": ":97"}
    env.pop("VTK_DEFAULT_OPENGL_WINDOW", None)
    runs = [
        ["render", "--sample", "--out", str(tmp_path / "x.png")],
        ["solar", "--sample", "--when", "2024-06-21", "--spacing", "8",
         "--out", str(tmp_path / "s")],
    ]  # fmt: skip
    for argv in runs:
        r = subprocess.run(
            [sys.executable, "-m", "cimcity.cli", *argv],
            capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        text = r.stdout + r.stderr
        assert "bad X server" not in text and "WARN|" not in text, r.stderr
        assert "\r" not in r.stderr and "%|" not in r.stderr, r.stderr  # no tqdm
        assert "np.float" not in text and "np.int" not in text, text
        for line in r.stderr.splitlines():  # one line per warning, no source echo
            assert line.startswith("cimcity "), line
    assert not render.figure_is_blank(tmp_path / "x.png")
    assert not render.figure_is_blank(tmp_path / "s" / "solar_map.png")


def test_x_display_probe(monkeypatch):
    assert not render._x_display_reachable(":4242")
    assert not render._x_display_reachable("nonsense")
    # a listening socket where X11 keeps display 4243's (abstract namespace)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as srv:
        srv.bind("\0/tmp/.X11-unix/X4243")
        srv.listen(1)
        assert render._x_display_reachable(":4243")
        assert render._x_display_reachable("unix:4243.0")
    # no server: EGL is chosen; a user's choice is kept
    monkeypatch.setenv("DISPLAY", ":4242")
    monkeypatch.delenv("VTK_DEFAULT_OPENGL_WINDOW", raising=False)
    render._offscreen_gl()
    assert os.environ["VTK_DEFAULT_OPENGL_WINDOW"] == "vtkEGLRenderWindow"
    monkeypatch.setenv("VTK_DEFAULT_OPENGL_WINDOW", "vtkOSOpenGLRenderWindow")
    render._offscreen_gl()
    assert os.environ["VTK_DEFAULT_OPENGL_WINDOW"] == "vtkOSOpenGLRenderWindow"


# -- short reprs ------------------------------------------------------------------------------
def test_reprs_are_one_short_line(paris):
    from cimcity import solar

    mesh = paris.mesh()
    objects = {
        "Scene": paris,
        "CityMesh": mesh,  # was 4,800 characters of arrays
        "Terrain": paris.terrain,
        "BimModel": next(iter(paris.projects.values())),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        objects["SolarResult"] = solar.irradiance(
            paris, "2024-06-21", spacing=8.0, surfaces=("roof",), engine="numba"
        )
    for name, obj in objects.items():
        text = repr(obj)
        assert "\n" not in text and len(text) < 250, (name, len(text), text[:300])
        assert "array(" not in text and "np." not in text, (name, text)
    text = repr(mesh)
    counts = np.bincount(mesh.face_kind, minlength=4)
    assert f"{mesh.n_faces:,} faces" in text and f"roof {counts[2]:,}" in text
    assert f"{len(mesh.building_ids):,} buildings" in text and "EPSG:2154" in text


def test_sensors_repr_is_one_short_line(paris):
    from cimcity.sun.sensors import resolve

    s = resolve(paris, spacing=8.0, surfaces=("roof",))
    assert "\n" not in repr(s) and len(repr(s)) < 250


def test_bim_repr_says_unknown_not_zero():
    from cimcity.testing import box_project

    bim = box_project(shapely.box(X0, Y0, X0 + 20, Y0 + 18), height=24.0)
    assert "height 24.00 m, footprint 360.0 m²" in repr(bim)
    bim.footprint = shapely.Polygon()  # a model without geometry: unknown, not 0
    bim.top_z = float("nan")
    assert "height unknown, footprint unknown" in repr(bim)


def test_summary_values_print_plainly():
    from cimcity.results import _fmt

    assert _fmt(np.float64(104400.0)) == "104,400"
    assert _fmt(np.float64(0.31772)) == "0.3177"
    assert _fmt(np.int64(5428)) == "5,428"
    assert _fmt(np.float64("nan")) == _fmt(None) == "unknown"
    assert _fmt(np.bool_(True)) == "True"


# -- cimcity render: eye-level view, focus on the project, language ----------------------
def test_render_eye_level_view_looks_where_the_heading_points(tmp_path, capsys):
    # Reference: plain geometry. The eye stands 20 m south of the 20 m high,
    # 20 m wide "south" box (1.6 m above the ground, vertical field of view
    # 60°, picture 1600 x 1000). Looking north (heading 0) the wall fills the
    # centre of the upper half (its top is atan(18.4/20) = 43° up, past the
    # 30° half-field) while the upper-left corner (42° left of centre, the box
    # spans only 27°) shows the sky; looking south (heading 180) nothing stands
    # there: the centre of the upper half is sky like the corner.
    import imageio.v3 as iio

    b = _buildings_file(tmp_path)
    eye = f"{X0 + 10},{Y0 - 20}"
    pixels = {}
    for heading in (0, 180):
        out = tmp_path / f"eye_{heading}.png"
        code, _, err = _run(
            ["render", "--buildings", b, "--eye", eye, "--heading", heading, "--out", out],
            capsys,
        )
        assert code == 0, err
        img = iio.imread(out)[..., :3].astype(int)
        h, w = img.shape[:2]
        pixels[heading] = img[h // 4, w // 2], img[h // 4, 3]
    wall, sky = pixels[0]
    assert np.abs(wall - sky).max() > 40  # the building, not the sky
    centre, corner = pixels[180]
    assert np.abs(centre - corner).max() <= 8  # sky both (gradient-free background)


def test_render_view_options_are_passed_and_checked(tmp_path, capsys, monkeypatch):
    # --focus project and --lang reach render.snapshot; the view options that
    # contradict or miss each other exit 2 naming the fix, before any drawing.
    from cimcity.commands import render as render_cmd

    b = _buildings_file(tmp_path)
    for argv, message in [
        (["--eye", "abc"], "is not X,Y in metres"),
        (["--heading", "90"], "--heading needs --eye"),
        (["--eye", f"{X0},{Y0}", "--camera", "top"], "--eye and --camera"),
        (["--eye", "0,0"], "lies outside the scene"),
        (["--eye", f"{X0 + 5},{Y0 + 5}"], "lies inside building"),
        (["--focus", "project"], "--focus project needs --project"),
    ]:
        out = tmp_path / "v.png"
        code, _, err = _run(["render", "--buildings", b, *argv, "--out", out], capsys)
        assert code == 2 and message in err, (argv, err)
        assert not out.exists()
    seen = {}

    def spy(scene, path, **kwargs):
        seen.update(kwargs, projects=list(scene.projects))
        return path

    monkeypatch.setattr(render_cmd.render, "snapshot", spy)
    code, _, err = _run(
        ["render", "--sample", "--project", "--focus", "project", "--lang", "en",
         "--out", tmp_path / "p.png"],
        capsys,
    )
    assert code == 0, err
    assert seen["focus"] == "project" and seen["lang"] == "en" and seen["projects"]
    # on a page the view is turned with the mouse: said, not silently dropped
    code, _, err = _run(
        ["render", "--buildings", b, "--eye", f"{X0},{Y0}", "--out", tmp_path / "e.html"],
        capsys,
    )
    assert code == 0 and "--eye" in err and "no effect" in err
