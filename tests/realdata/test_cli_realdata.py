"""The issue-17 command-line reproductions on real files (items 6, 8 and 9).

- ``cimcity solar --buildings <BDNB Paris 11e subset>`` names the buildings by
  their BDNB ``batiment_c`` ids (was "best roof: B000708"), writes per-building
  GeoParquet (not a sensor GeoPackage) whose roof areas are the footprints of
  the file.
- ``cimcity shadow --time 03:00`` on the same buildings exits 3 saying the sun
  is down, with the elevation pvlib's SPA gives at the site (was: 0 rows, exit
  0, nothing said).
- ``cimcity render --out x.html`` writes the interactive page (was a pyvista
  ValueError traceback) holding the subset's geometry.
- ``cimcity flood`` on the Gothenburg DEM below its lowest cell says why
  nothing floods, with that lowest cell read by rasterio.
"""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pvlib
import pytest
import rasterio
import trimesh

from cimcity.cli import main
from cimcity.io.gltf import read_glb_json

pytestmark = pytest.mark.realdata

#: BDNB footprints with heights, Paris 11e (5,227 buildings; SOURCES.md)
BDNB = "france/bdnb_paris11_batiments.shp"
#: subset of Paris 11e: the buildings within this distance of the file's centre [m]
RADIUS_M = 60.0
#: sun elevations are printed with one decimal [deg]
ELEVATION_TOL = 0.051
#: roof sensor areas sum to the roof faces' area: flat BDNB roofs = footprints;
#: the tolerance covers only float32 / rounding in the written table
AREA_RTOL = 1e-3


@pytest.fixture(scope="module")
def bdnb_subset(data_file, tmp_path_factory):
    """The BDNB buildings within RADIUS_M of the file's centre, written back as a
    shapefile in the file's own CRS (EPSG:4326), with the same columns."""
    raw = gpd.read_file(data_file(BDNB))
    l93 = raw.to_crs(2154)
    centre = l93.geometry.union_all().centroid
    keep = l93.geometry.centroid.distance(centre) < RADIUS_M
    folder = tmp_path_factory.mktemp("bdnb")
    path = folder / "bdnb_subset.shp"
    raw[keep.to_numpy()].drop(columns=["fid"], errors="ignore").to_file(path)
    return {"path": path, "l93": l93[keep.to_numpy()], "centre": centre}


def _run(argv, capsys):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return code, out, err


def test_solar_on_bdnb_keeps_batiment_c_and_writes_per_building_parquet(
    bdnb_subset, tmp_path, capsys
):
    sub = bdnb_subset["l93"]
    assert 5 <= len(sub) <= 60  # a real block, not the whole arrondissement
    out = tmp_path / "solar"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code, text, err = _run(
            ["solar", "--buildings", bdnb_subset["path"], "--when", "2024-06-21",
             "--spacing", "4", "--engine", "numba", "--no-render", "--out", out],
            capsys,
        )  # fmt: skip
    assert code == 0, err
    ids = set(sub["batiment_c"])
    best = pd.read_csv(out / "best_roofs.csv", index_col=0)
    assert len(best) and set(best.index) <= ids  # was B000000-style generated ids
    block = text.split("best roofs:")[1].splitlines()
    rows = [r for r in block if r and not r.startswith((" ", "building_id", "wrote"))]
    assert len(rows) == min(5, len(best))  # the printed top 5, by their BDNB ids
    for row in rows:
        assert row.split()[0] in ids, row
    assert "np.float" not in text + err
    files = sorted(p.name for p in out.iterdir())
    assert files == ["best_roofs.csv", "buildings.csv", "buildings.parquet"]
    B = gpd.read_parquet(out / "buildings.parquet")
    assert set(B.index) == ids and B.crs.to_epsg() == 2154
    # roof area of each building = its footprint in Lambert-93 (flat roofs)
    footprint = sub.set_index("batiment_c").geometry.area
    np.testing.assert_allclose(
        B["roof_area"].reindex(footprint.index), footprint, rtol=AREA_RTOL
    )


def test_id_column_with_duplicates_is_refused_naming_them(bdnb_subset, tmp_path, capsys):
    sub = bdnb_subset["l93"]
    dup = sub["batiment_g"][sub["batiment_g"].duplicated()]
    if not len(dup):  # the subset must hold the defect this test is about
        pytest.fail("no duplicate batiment_g in the subset: enlarge RADIUS_M")
    code, text, err = _run(
        ["render", "--buildings", bdnb_subset["path"], "--id-column", "batiment_g",
         "--out", tmp_path / "x.png"],
        capsys,
    )  # fmt: skip
    assert code == 2
    assert "batiment_g" in err and "duplicate" in err
    assert sorted(dup)[0] in err or dup.iloc[0] in err


def test_shadow_at_3am_says_the_sun_is_down(bdnb_subset, tmp_path, capsys):
    code, text, err = _run(
        ["shadow", "--buildings", bdnb_subset["path"], "--when", "2024-12-21",
         "--time", "03:00", "--out", tmp_path / "s"],
        capsys,
    )  # fmt: skip
    assert code == 3  # was 0 rows written, exit 0
    assert "no shadow to draw: the sun is below the horizon at 03:00" in err
    shown = float(re.search(r"sun elevation (-?[\d.]+)°", err).group(1))
    lon, lat = (
        gpd.GeoSeries([bdnb_subset["l93"].geometry.union_all().centroid], crs=2154)
        .to_crs(4326)
        .iloc[0]
        .coords[0]
    )
    sun = pvlib.solarposition.get_solarposition(
        pd.DatetimeIndex(["2024-12-21 03:00"], tz="Europe/Paris"), lat, lon
    )
    assert abs(shown - sun["apparent_elevation"].iloc[0]) < ELEVATION_TOL
    assert not (tmp_path / "s").exists()


def test_render_html_writes_the_page_of_the_file(bdnb_subset, tmp_path):
    """Run as a user does (subprocess): the page, and not a traceback."""
    sub = bdnb_subset["l93"]
    out = tmp_path / "x.html"
    r = subprocess.run(
        [sys.executable, "-m", "cimcity.cli", "render", "--buildings",
         str(bdnb_subset["path"]), "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    page = out.read_text(encoding="utf-8")
    assert f"{len(sub)} bâtiments" in page  # French by default
    raw = re.search(r'id="cimcity-config">(.*?)</script>', page, re.S).group(1)
    glb = base64.b64decode(json.loads(raw.replace("<\\/", "</"))["models"]["before"])
    gltf = read_glb_json(glb)
    buildings = [n for n in gltf["nodes"] if n.get("extras", {}).get("role") == "building"]
    assert len(buildings) == len(sub)
    # the drawn geometry spans the footprints' extent (glTF is y-up: x = E - E0,
    # z = -(N - N0); sizes only), read back with trimesh
    tm = trimesh.load(io.BytesIO(glb), file_type="glb", force="scene")
    names = {n["name"] for n in buildings}
    pts = np.vstack([
        trimesh.transformations.transform_points(
            tm.geometry[g].vertices, tm.graph.get(node)[0]
        )
        for node in tm.graph.nodes_geometry
        for g in [tm.graph.get(node)[1]]
        if node in names or tm.graph.transforms.parents.get(node) in names
    ])  # fmt: skip
    minx, miny, maxx, maxy = sub.total_bounds
    np.testing.assert_allclose(np.ptp(pts[:, 0]), maxx - minx, atol=0.01)
    np.testing.assert_allclose(np.ptp(pts[:, 2]), maxy - miny, atol=0.01)


def test_flood_below_the_lowest_cell_says_so(data_file, tmp_path, capsys):
    dem = data_file("dem/goteborg_kronenhuset/DEM_KRbig.tif")
    with rasterio.open(dem) as ds:
        z = ds.read(1, masked=True).astype(float)
    low = float(z.min())
    code, text, err = _run(
        ["flood", "--dem", dem, "--level", f"{low - 1:.2f}", "--no-map",
         "--out", tmp_path / "f"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert f"the lowest ground of the DEM is {low:.2f} m" in text
