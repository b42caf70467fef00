"""The bundled sample district loads as a consistent Scene."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import shapely

import cimcity as cc

# Paris 17e in Lambert-93 (pyproj: lon 2.30..2.33, lat 48.88..48.895)
PARIS17 = (648_500.0, 6_864_500.0, 651_000.0, 6_866_500.0)


def test_sample_is_deterministic(tmp_path):
    """Regenerating the sample gives the committed files (byte-identical tables)."""
    from cimcity.datasets.paris import build_layers

    a = build_layers()
    b = build_layers()
    assert a["buildings"].drop(columns="geometry").equals(b["buildings"].drop(columns="geometry"))
    assert all(shapely.equals_exact(a["parcels"].geometry.values, b["parcels"].geometry.values, 0))
    man = cc.datasets.manifest("paris")
    assert man["counts"]["buildings"] == len(a["buildings"])
    assert man["vacant_parcel"] == a["vacant"]


def test_sample_scene_contents(paris):
    s = paris
    assert s.crs.to_epsg() == 2154 and s.vertical_datum == "NGF-IGN69"
    b = s.bounds
    assert PARIS17[0] < b[0] and b[2] < PARIS17[2] and PARIS17[1] < b[1] and b[3] < PARIS17[3]
    assert set(s.zones["libelle"]) == {"UG", "UV", "N"}
    assert s.rules is not None and set(s.rules.zones) >= {"UG", "UV", "N"}
    B = s.buildings
    # heights of the sample: 12-37 m buildings plus a 4-storey annex (13.5 m)
    assert 12.0 <= B["height"].min() and B["height"].max() <= 37.0
    assert (B["height_source"] == "storeys").sum() == 4  # four have storeys only
    assert B.index.str.startswith("BATIMENT").all()
    # parcel ids are Etalab-style and every building sits on a parcel
    assert s.parcels.index.str.fullmatch(r"75117000[A-Z]{2}\d{4}").all()
    assert B["parcel_id"].notna().all() and B["zone_id"].notna().all()
    # the vacant parcel carries no building
    vac = s.meta["vacant_parcel"]
    assert s.children(vac) == []
    # courtyards: at least one footprint has a hole; at least one is a multipolygon
    geoms = B.geometry.values
    assert (shapely.get_num_interior_rings(shapely.get_geometry(geoms, 0)) > 0).any()
    assert (shapely.get_num_geometries(geoms) > 1).any()
    # the river channel: lowest DEM cells (bed 26 m) along the south edge
    t = s.terrain
    assert np.nanmin(t.elevation) == pytest.approx(26.0, abs=0.05)
    assert 37.0 < np.nanmax(t.elevation) < 39.5
    assert {"roads", "water"} <= set(s.layers)
    assert set(s.vegetation["kind"]) >= {"tree", "lawn", "green_roof"}


def test_sample_project_is_on_the_vacant_parcel(paris):
    if not paris.projects:
        pytest.fail("the sample has no IFC project (ifcopenshell missing?)")
    pid = paris.meta["project_id"]
    bim = paris.projects[pid]
    assert paris.project_parcels(bim.footprint) == [paris.meta["vacant_parcel"]]
    # 8 storeys: 3.5 + 7 x 3.0 m = 24.5 m above the ground floor
    assert len(bim.storeys) == 8
    assert bim.height == pytest.approx(24.5, abs=0.35)  # + roof slab thickness at most
    assert bim.footprint.area == pytest.approx(24 * 15, rel=0.02)


def test_sample_mesh_is_watertight(paris):
    m = paris.mesh()
    solids = m.select(kinds=("roof", "wall", "base")).to_trimesh()
    assert solids.is_watertight
    # volume = sum over buildings of footprint x height for flat roofs; mansards less
    B = paris.buildings
    upper = float((B.geometry.area * B["height"]).sum())
    assert 0.9 * upper < solids.volume <= upper * (1 + 1e-9)


def test_demo_runs_end_to_end(tmp_path):
    import os

    out = tmp_path / "demo"
    # DISPLAY names no X server, as on a CI runner or over a stale ssh session
    env = {**os.environ, "DISPLAY": ":97"}
    env.pop("VTK_DEFAULT_OPENGL_WINDOW", None)
    r = subprocess.run(
        [sys.executable, "-m", "cimcity.cli", "demo", "--out", str(out)],
        capture_output=True, text=True, timeout=900, env=env,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    # quiet (issue 17, item 9): no VTK console warning, no progress bar off a
    # terminal, no numpy scalar reprs, cimcity warnings as one-line notes
    text = r.stdout + r.stderr
    assert "bad X server" not in text and "WARN|" not in text, r.stderr[-3000:]
    assert "\r" not in r.stderr and "%|" not in r.stderr, r.stderr[-3000:]
    assert "np.float64(" not in text and "np.int64(" not in text
    assert "Traceback" not in text
    summary = json.loads((out / "demo_summary.json").read_text())
    assert summary["failed_steps"] == []
    from cimcity.render import figure_is_blank

    assert not figure_is_blank(out / "scene.png")
    assert (out / "buildings.csv").stat().st_size > 1000
