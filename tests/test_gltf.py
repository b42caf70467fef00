"""GLB export (cimcity.io.gltf), read back with independent readers: trimesh's
glTF loader and a byte-level parse of the container written here from the
glTF 2.0 specification (section 4.4, "GLB File Format Specification").

The file was also checked with the Khronos glTF-Validator 2.0.0-dev.3.10
(``node src/cimcity/page/js/validate_glb.mjs x.glb``): 0 errors, 0 warnings,
0 infos, 0 hints on the sample with its project (not run here: CI has no node).
"""

from __future__ import annotations

import json
import struct

import matplotlib
import numpy as np
import pytest
import shapely
import trimesh

from cimcity import testing
from cimcity.errors import FileFormatError, InputError
from cimcity.io import gltf

#: colour rounding of uint8 vertex colours (one step of 1/255)
COLOR_TOL = 1
#: coordinates are float32 in the file, offsets of a few hundred metres [m]
XYZ_TOL = 1e-3


def _chunks(data: bytes):
    """(json, bin) of a GLB, parsed from the spec without cimcity's reader."""
    magic, version, length = struct.unpack_from("<4sII", data, 0)
    assert magic == b"glTF" and version == 2 and length == len(data)
    out, off = [], 12
    while off < len(data):
        n, kind = struct.unpack_from("<II", data, off)
        assert n % 4 == 0  # chunks are 4-byte aligned
        out.append((kind, data[off + 8 : off + 8 + n]))
        off += 8 + n
    assert off == len(data)
    assert out[0][0] == 0x4E4F534A and out[1][0] == 0x004E4942  # JSON, BIN
    return json.loads(out[0][1]), out[1][1]


@pytest.fixture(scope="module")
def after(paris):
    return paris.with_project(next(iter(paris.projects.values())))


@pytest.fixture(scope="module")
def glb(after, tmp_path_factory):
    path = tmp_path_factory.mktemp("gltf") / "after.glb"
    gltf.write_glb(after, path)
    return path


def test_glb_container_and_georeference(glb, after):
    tree, binary = _chunks(glb.read_bytes())
    extras = tree["asset"]["extras"]
    assert tree["asset"]["version"] == "2.0"
    assert extras["crs"] == "EPSG:2154" and extras["vertical_datum"] == "NGF-IGN69"
    # every buffer view lies inside the binary chunk
    assert tree["buffers"][0]["byteLength"] <= len(binary)
    for v in tree["bufferViews"]:
        assert (
            v.get("byteOffset", 0) + v["byteLength"] <= tree["buffers"][0]["byteLength"]
        )
    names = {n.get("name") for n in tree["nodes"]}
    for layer in (
        "buildings",
        "project",
        "terrain",
        "trees",
        "water",
        "roads",
        "parcels",
    ):
        assert layer in names, layer


def test_one_node_per_building_named_by_id_with_extras(glb, after):
    tree, _ = _chunks(glb.read_bytes())
    nodes = {n["name"]: n for n in tree["nodes"]}
    B = after.buildings
    for bid, row in B.iterrows():
        ex = nodes[bid]["extras"]
        assert ex["id"] == bid
        assert ex["height"] == pytest.approx(row["height"])
        assert ex["storeys"] == (
            None if row["storeys"] != row["storeys"] else int(row["storeys"])
        )
        assert ex["use"] == (row["usage"] if isinstance(row["usage"], str) else None)
    project = after.meta["project_id"]
    assert nodes[project]["extras"]["role"] == "project"
    # trimesh reads the same nodes back: one mesh node per building, same names
    scene = trimesh.load(glb, force="scene")
    kids = set(scene.graph.transforms.children.get("buildings", [])) | set(
        scene.graph.transforms.children.get("project", [])
    )
    assert kids == set(B.index)


def test_axes_are_y_up_around_the_stored_origin(glb, after):
    # a building's vertices in the file map back to its footprint and heights:
    # x = E - E0, y = U - U0, z = -(N - N0)   (glTF 2.0 spec 3.4: +Y up)
    tree, _ = _chunks(glb.read_bytes())
    e0, n0, u0 = tree["asset"]["extras"]["origin"]
    scene = trimesh.load(glb, force="scene")
    B = after.buildings
    for bid in B.index[:10]:
        geom_name = scene.graph[bid][1]
        v = scene.geometry[geom_name].vertices
        minx, miny, maxx, maxy = shapely.bounds(B.loc[bid, "geometry"])
        assert v[:, 0].min() + e0 == pytest.approx(minx, abs=XYZ_TOL)
        assert v[:, 0].max() + e0 == pytest.approx(maxx, abs=XYZ_TOL)
        assert -v[:, 2].max() + n0 == pytest.approx(miny, abs=XYZ_TOL)
        assert -v[:, 2].min() + n0 == pytest.approx(maxy, abs=XYZ_TOL)
        assert v[:, 1].max() + u0 == pytest.approx(B.loc[bid, "roof_z"], abs=XYZ_TOL)
        assert v[:, 1].min() + u0 == pytest.approx(B.loc[bid, "ground_z"], abs=XYZ_TOL)


def test_vertex_colours_follow_the_colour_map_and_unknown_is_grey(paris, tmp_path):
    values = paris.buildings["height"].astype(float).copy()
    unknown = values.index[3]
    values[unknown] = np.nan
    path = gltf.write_glb(paris, tmp_path / "h.glb", values=values, quantity="height")
    tree, _ = _chunks(path.read_bytes())
    lo, hi = np.nanmin(values), np.nanmax(values)
    assert tree["asset"]["extras"]["clim"] == pytest.approx([lo, hi])
    assert tree["asset"]["extras"]["cmap"] == "plasma"
    scene = trimesh.load(path, force="scene")
    cm = matplotlib.colormaps["plasma"]
    for bid in list(values.index[:8]) + [unknown]:
        colors = (
            scene.geometry[scene.graph[bid][1]].visual.vertex_colors[:, :3].astype(int)
        )
        if bid == unknown:
            want = np.array(gltf.UNKNOWN_COLOR[:3])
        else:
            want = np.round(np.array(cm((values[bid] - lo) / (hi - lo))[:3]) * 255)
        assert np.abs(colors - want).max() <= COLOR_TOL, bid
        node = next(n for n in tree["nodes"] if n["name"] == bid)
        assert node["extras"]["height"] == pytest.approx(
            paris.buildings.loc[bid, "height"]
        )


def test_project_without_a_value_keeps_its_colour_not_the_unknown_grey(after, tmp_path):
    # values of an analysis of the scene before the project: the project has
    # none; it is drawn in its own white (named in the page legend; the
    # project orange is inside the colour maps), an existing building without
    # a value in the unknown grey
    project = after.meta["project_id"]
    values = after.buildings["height"].astype(float).drop(project)
    unknown = values.index[3]
    values[unknown] = np.nan
    path = gltf.write_glb(after, tmp_path / "a.glb", values=values, quantity="sun_hours")
    tree, _ = _chunks(path.read_bytes())
    scene = trimesh.load(path, force="scene")

    def rgb(bid):
        return scene.geometry[scene.graph[bid][1]].visual.vertex_colors[:, :3].astype(int)

    assert {tuple(c) for c in rgb(project)} == {tuple(gltf.PALETTE["project_unanalysed"][:3])}
    assert np.abs(rgb(unknown) - np.array(gltf.UNKNOWN_COLOR[:3])).max() <= COLOR_TOL
    node = next(n for n in tree["nodes"] if n["name"] == project)
    assert node["extras"]["sun_hours"] is None  # its info panel: unknown


def test_changes_get_a_diverging_map_centred_on_zero():
    colors, clim, cmap = gltf.value_colors([-2.0, 0.0, 1.0])
    assert cmap == "RdBu" and clim == (-2.0, 2.0)
    # zero is the middle of the map
    mid = np.round(np.array(matplotlib.colormaps["RdBu"](0.5)) * 255)
    assert np.abs(colors[1].astype(int) - mid).max() <= COLOR_TOL


def test_scene_without_terrain_gets_a_ground_plane(tmp_path):
    box = testing.lone_box(h=12.0)
    path = gltf.write_glb(box, tmp_path / "box.glb")
    tree, _ = _chunks(path.read_bytes())
    names = {n.get("name") for n in tree["nodes"]}
    assert {"ground", "buildings", "B000000"} <= names and "terrain" not in names
    scene = trimesh.load(path, force="scene")
    e0, n0, u0 = tree["asset"]["extras"]["origin"]
    g = scene.geometry[scene.graph["ground_surface"][1]].vertices
    assert np.ptp(g[:, 1]) == 0  # flat, at the building's ground
    assert g[0, 1] + u0 == pytest.approx(box.buildings["ground_z"].iloc[0])
    b = scene.geometry[scene.graph["B000000"][1]].vertices
    assert np.ptp(b[:, 1]) == pytest.approx(12.0, abs=XYZ_TOL)


def test_errors_name_the_value(paris, tmp_path):
    with pytest.raises(InputError, match="glb"):
        gltf.write_glb(paris, tmp_path / "x.gltf")
    with pytest.raises(InputError, match="faces"):
        gltf.write_glb(paris, tmp_path / "x.glb", values=np.zeros(5))
    with pytest.raises(InputError, match="layers"):
        gltf.glb_bytes(paris, layers=("roofs",))
    with pytest.raises(FileFormatError, match="glTF"):
        gltf.read_glb_json(b"PK\x03\x04" + b"\0" * 40)


def test_a_result_writes_its_scene_coloured_by_its_values(tmp_path):
    """Result.to_file("x.glb"): one node per building named by its id, the
    result's area-weighted sun hours in the node's extras (computed here from
    the sensors with pandas, not by the writer); a result that keeps no scene
    is refused, naming scene=."""
    from cimcity import shadow

    s = testing.street_canyon()
    res = shadow.sun_hours(s, "2026-06-21", spacing=4.0, step="1h")
    path = res.to_file(tmp_path / "deep" / "sun.glb")
    doc = gltf.read_glb_json(path.read_bytes())
    extras = {n["name"]: n["extras"] for n in doc["nodes"] if "extras" in n and "id" in n["extras"]}
    assert set(extras) == {str(i) for i in s.buildings.index}
    S = res.sensors[res.sensors["kind"].isin(["roof", "wall"])]
    S = S[np.isfinite(S["sun_hours"])]
    mean = (S["sun_hours"] * S["area"]).groupby(S["building_id"]).sum() / S[
        "area"
    ].groupby(S["building_id"]).sum()
    for bid, v in mean.items():
        assert extras[str(bid)]["sun_hours"] == pytest.approx(v, rel=1e-6)
    assert doc["asset"]["extras"]["quantity"] == "sun_hours"

    class NoScene:
        scene = None

    from cimcity import page

    with pytest.raises(InputError, match="scene="):
        page.write_result_glb(NoScene(), tmp_path / "x.glb")
