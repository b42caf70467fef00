"""Corpus cases of the command line (``cimcity.cli.main``): bad input ends in
exit code 2 and a one-line reason naming the bad value, never a traceback;
argparse refusals (unknown choices, wrong types) exit 2 too."""

from __future__ import annotations

import numpy as np

from . import Cli, case
from .files import boxes, copy_sample, empty, geotiff, gpkg, junk, text, truncated

CAD = "cadastre-75117-parcelles.json"


def _bld(tmp_path):
    return gpkg(tmp_path, "b.gpkg", boxes(3, hauteur=[9.0, 12.0, 15.0]))


def _out(tmp_path):
    return tmp_path / "out"


# ======================================================================= info
@case("cli info", "empty file", code=2, match=r"empty\.json")
def _(tmp_path):
    return Cli(["info", empty(tmp_path, "empty.json")])


@case("cli info", "binary junk", code=2, match=r"junk\.gpkg")
def _(tmp_path):
    return Cli(["info", junk(tmp_path, "junk.gpkg")])


@case("cli info", "truncated GeoPackage", code=2, match=r"batiment\.gpkg")
def _(tmp_path):
    return Cli(["info", truncated(tmp_path, "batiment.gpkg")])


@case("cli info", "missing file", code=2, match=r"nowhere\.gpkg")
def _(tmp_path):
    return Cli(["info", tmp_path / "in" / "nowhere.gpkg"])


@case("cli info", "unknown layer", code=2, match=r"nolayer")
def _(tmp_path):
    return Cli(["info", copy_sample(tmp_path, "batiment.gpkg"), "--layer", "nolayer"])


@case("cli info", "rule pack with an unknown rule", code=2, match=r"max_hieght")
def _(tmp_path):
    return Cli(["info", text(tmp_path, "r.toml", "[zones.UG.max_hieght]\nvalue = 3\nunit = 'm'\narticle = 'UG.10'\n")])


@case("cli info", "sample cadastre", code=0, match=r"121")
def _(tmp_path):
    # a good file: exit 0 and its 121 parcels (the file's own count)
    return Cli(["info", copy_sample(tmp_path, CAD)])


# ======================================================================= solar
@case("cli solar", "spacing zero", code=2, match=r"spacing.*\b0(\.0)?\b")
def _(tmp_path):
    return Cli(["solar", "--buildings", _bld(tmp_path), "--spacing", "0", "--when", "2024-06-21", "--out", _out(tmp_path), "--no-render"])


@case("cli solar", "spacing not a number", code=2, match=r"two")
def _(tmp_path):
    return Cli(["solar", "--buildings", _bld(tmp_path), "--spacing", "two", "--out", _out(tmp_path)])


@case("cli solar", "unknown surface", code=2, match=r"facade")
def _(tmp_path):
    return Cli(["solar", "--buildings", _bld(tmp_path), "--surfaces", "roof,facade", "--when", "2024-06-21", "--out", _out(tmp_path), "--no-render"])


@case("cli solar", "unknown engine", code=2, match=r"embre")
def _(tmp_path):
    return Cli(["solar", "--buildings", _bld(tmp_path), "--engine", "embre", "--when", "2024-06-21", "--out", _out(tmp_path), "--no-render"])


@case("cli solar", "reversed period", code=2, match=r"2024-06-22")
def _(tmp_path):
    return Cli(["solar", "--buildings", _bld(tmp_path), "--when", "2024-06-22/2024-06-21", "--out", _out(tmp_path), "--no-render"])


@case("cli solar", "not a date", code=2, match=r"2024-13-01")
def _(tmp_path):
    return Cli(["solar", "--buildings", _bld(tmp_path), "--when", "2024-13-01", "--out", _out(tmp_path), "--no-render"])


@case("cli solar", "buildings file is junk", code=2, match=r"b\.gpkg")
def _(tmp_path):
    return Cli(["solar", "--buildings", junk(tmp_path, "b.gpkg"), "--when", "2024-06-21", "--out", _out(tmp_path), "--no-render"])


@case("cli solar", "weather file is empty", code=2, match=r"w\.epw")
def _(tmp_path):
    return Cli(["solar", "--buildings", _bld(tmp_path), "--weather", empty(tmp_path, "w.epw"), "--out", _out(tmp_path), "--no-render"])


@case("cli solar", "DEM of another place", code=2, match=r"far\.tif .*km from the buildings and covers none of them")
def _(tmp_path):
    from affine import Affine

    far = geotiff(tmp_path, "far.tif", np.full((4, 4), 35.0), transform=Affine(1, 0, 700000.0, 0, -1, 6600000.0))
    return Cli(["solar", "--buildings", _bld(tmp_path), "--dem", far, "--when", "2024-06-21", "--out", _out(tmp_path), "--no-render"])


# ======================================================================= shadow
@case("cli shadow", "not a date", code=2, match=r"2024-02-30")
def _(tmp_path):
    return Cli(["shadow", "--buildings", _bld(tmp_path), "--when", "2024-02-30", "--out", _out(tmp_path)])


@case("cli shadow", "time not a time", code=2, match=r"25:61")
def _(tmp_path):
    return Cli(["shadow", "--buildings", _bld(tmp_path), "--when", "2024-06-21", "--time", "25:61", "--no-sun-hours", "--out", _out(tmp_path)])


@case("cli shadow", "step zero", code=2, match=r"0min")
def _(tmp_path):
    return Cli(["shadow", "--buildings", _bld(tmp_path), "--when", "2024-06-21", "--step", "0min", "--spacing", "4", "--out", _out(tmp_path)])


@case("cli shadow", "spacing negative", code=2, match=r"-4")
def _(tmp_path):
    return Cli(["shadow", "--buildings", _bld(tmp_path), "--when", "2024-06-21", "--spacing", "-4", "--out", _out(tmp_path)])


@case("cli shadow", "sun below the horizon", code=3, match=r"below the horizon at 03:00")
def _(tmp_path):
    # 03:00 in June: no shadow can be drawn; "no result" (exit 3) with the reason
    return Cli(["shadow", "--buildings", _bld(tmp_path), "--when", "2024-06-21", "--time", "03:00", "--no-sun-hours", "--out", _out(tmp_path)])


@case("cli shadow", "buildings in degrees declared Lambert-93", code=2, match=r"2\.31")
def _(tmp_path):
    import geopandas as gpd
    import shapely

    g = gpd.GeoDataFrame({"hauteur": [9.0]}, geometry=[shapely.box(2.31, 48.88, 2.3101, 48.8801)], crs="EPSG:2154")
    return Cli(["shadow", "--buildings", gpkg(tmp_path, "deg.gpkg", g), "--when", "2024-06-21", "--out", _out(tmp_path)])


# ======================================================================= flood
@case("cli flood", "level not a number", code=2, match=r"high")
def _(tmp_path):
    return Cli(["flood", "--level", "high", "--out", _out(tmp_path)])


@case("cli flood", "connectivity 5", code=2, match=r"\b5\b")
def _(tmp_path):
    return Cli(["flood", "--level", "30", "--connectivity", "5", "--out", _out(tmp_path)])


@case("cli flood", "unknown scenario", code=2, match=r"1999")
def _(tmp_path):
    return Cli(["flood", "--scenario", "1999", "--out", _out(tmp_path)])


@case("cli flood", "sweep with a zero step", code=2, match=r"30:32:0")
def _(tmp_path):
    return Cli(["flood", "--sample", "--level", "30", "--sweep", "30:32:0", "--out", _out(tmp_path), "--no-map"])


@case("cli flood", "sweep that goes down", code=2, match=r"32:30:0\.5")
def _(tmp_path):
    return Cli(["flood", "--sample", "--level", "30", "--sweep", "32:30:0.5", "--out", _out(tmp_path), "--no-map"])


@case("cli flood", "sweep not a range", code=2, match=r"thirty")
def _(tmp_path):
    return Cli(["flood", "--sample", "--level", "30", "--sweep", "thirty", "--out", _out(tmp_path), "--no-map"])


@case("cli flood", "DEM that is junk", code=2, match=r"dem\.tif")
def _(tmp_path):
    return Cli(["flood", "--level", "30", "--dem", junk(tmp_path, "dem.tif"), "--out", _out(tmp_path), "--no-map"])


@case("cli flood", "DEM all nodata", code=2, match=r"nodata")
def _(tmp_path):
    p = geotiff(tmp_path, "dem.tif", np.full((5, 5), -9999.0), nodata=-9999.0)
    return Cli(["flood", "--level", "30", "--dem", p, "--out", _out(tmp_path), "--no-map"])


@case("cli flood", "geographic target CRS", code=2, match=r"EPSG:4326")
def _(tmp_path):
    return Cli(["flood", "--level", "30", "--dem", copy_sample(tmp_path, "dem_1m.tif"), "--crs", "EPSG:4326", "--out", _out(tmp_path), "--no-map"])


# ======================================================================= check
def _check_args(tmp_path, ifc, **over):
    args = {
        "--parcels": copy_sample(tmp_path, CAD),
        "--zones": copy_sample(tmp_path, "zone_urba.gpkg"),
        "--rules": copy_sample(tmp_path, "plu_rules.toml"),
        "--out": tmp_path / "out" / "r.html",
    }
    args.update(over)
    argv = ["check", ifc, "--no-impact", "--no-images"]
    for k, v in args.items():
        argv += [k, v]
    return Cli(argv)


@case("cli check", "IFC file is empty", code=2, match=r"p\.ifc")
def _(tmp_path):
    return _check_args(tmp_path, empty(tmp_path, "p.ifc"))


@case("cli check", "IFC file is junk", code=2, match=r"p\.ifc")
def _(tmp_path):
    return _check_args(tmp_path, junk(tmp_path, "p.ifc"))


@case("cli check", "rule pack that is not TOML", code=2, match=r"r\.toml")
def _(tmp_path):
    return _check_args(tmp_path, copy_sample(tmp_path, "projet_r7.ifc"), **{"--rules": text(tmp_path, "r.toml", "zones = = 1\n")})


@case("cli check", "placement of two numbers", code=2, match=r"1,2")
def _(tmp_path):
    argv = _check_args(tmp_path, copy_sample(tmp_path, "projet_r7.ifc")).argv + ["--placement", "1,2"]
    return Cli(argv)


@case("cli check", "project 444 km from the parcels", code=2, match=r"444")
def _(tmp_path):
    # the sample project placed 444 km east of its parcel: refused, exit 2
    argv = _check_args(tmp_path, copy_sample(tmp_path, "projet_r7.ifc")).argv
    return Cli(argv + ["--placement", "1094194,6865466,34.43"])


@case("cli check", "unknown parcel id", code=2, match=r"75117000ZZ9999")
def _(tmp_path):
    argv = _check_args(tmp_path, copy_sample(tmp_path, "projet_r7.ifc")).argv
    return Cli(argv + ["--parcel-id", "75117000ZZ9999"])


# ======================================================================= render / demo
@case("cli render", "unknown camera", code=2, match=r"sky")
def _(tmp_path):
    return Cli(["render", "--buildings", _bld(tmp_path), "--camera", "sky", "--out", tmp_path / "out" / "x.png"])


@case("cli render", "unknown output suffix", code=2, match=r"\.bmpx")
def _(tmp_path):
    return Cli(["render", "--buildings", _bld(tmp_path), "--out", tmp_path / "out" / "x.bmpx"])


@case("cli render", "unknown colour column", code=2, match=r"colour_col")
def _(tmp_path):
    return Cli(["render", "--buildings", _bld(tmp_path), "--color-by", "colour_col", "--out", tmp_path / "out" / "x.png"])


@case("cli demo", "unknown step", code=2, match=r"solr")
def _(tmp_path):
    return Cli(["demo", "--only", "solr", "--out", _out(tmp_path)])


@case("cli", "unknown command", code=2, match=r"solarr")
def _(tmp_path):
    return Cli(["solarr"])
