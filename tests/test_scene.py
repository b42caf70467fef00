"""Scene: validation on entry, relations, navigation, variants, terrain."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely

import cimcity as cc
from cimcity.errors import (
    CRSError,
    DataQualityWarning,
    EstimateWarning,
    GeometryError,
    GeoreferenceError,
    InputError,
    RepairWarning,
    ReprojectionWarning,
)
from cimcity.sun.sensors import sample_scene
from cimcity.terrain import Terrain
from cimcity.testing import (
    X0,
    Y0,
    assert_scene_consistent,
    box_project,
    courtyard,
    lone_box,
)


def gdf(geoms, crs="EPSG:2154", **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=crs)


def test_scene_crs_must_be_projected_metres():
    with pytest.raises(CRSError, match="not projected"):
        cc.Scene(crs="EPSG:4326")
    with pytest.raises(CRSError, match="unknown CRS"):
        cc.Scene(crs="EPSG:999999")
    with pytest.raises(CRSError, match="not metres|'US survey foot'|foot"):
        cc.Scene(crs="EPSG:2263")  # NY State Plane, US feet


def test_missing_crs_is_an_error_naming_the_fix():
    s = cc.Scene()
    with pytest.raises(CRSError, match="set_crs"):
        s.add_buildings(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]))


def test_geographic_input_is_reprojected_with_warning():
    s = cc.Scene()
    # a 20 m square near Paris given in lon/lat
    poly = gdf([shapely.box(X0, Y0, X0 + 20, Y0 + 20)]).to_crs(4326)
    with pytest.warns(ReprojectionWarning, match="EPSG:4326"):
        s.add_parcels(poly)
    # reference: the same square in Lambert-93; pyproj round trip to 1 mm
    assert s.parcels.geometry.iloc[0].area == pytest.approx(400.0, abs=0.05)
    assert s.parcels.total_bounds == pytest.approx([X0, Y0, X0 + 20, Y0 + 20], abs=1e-3)


def test_lonlat_declared_as_lambert93_is_refused():
    s = cc.Scene()
    bad = gdf([shapely.box(2.31, 48.88, 2.32, 48.89)])  # degrees labelled EPSG:2154
    with pytest.raises(CRSError, match="longitude/latitude"):
        s.add_parcels(bad)


def test_invalid_polygons_are_repaired_and_counted_or_rejected_in_strict_mode():
    bowtie = shapely.Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])
    ok = shapely.box(X0 + 20, Y0, X0 + 30, Y0 + 10)
    s = cc.Scene()
    with pytest.warns(RepairWarning, match="repaired 1 invalid"):
        s.add_buildings(gdf([bowtie, ok], height=[10.0, 10.0]))
    assert s.buildings["repaired"].tolist() == [True, False]
    assert s.buildings.geometry.is_valid.all()
    # make_valid splits the bowtie into two triangles of 25 m2 each
    assert s.buildings.geometry.iloc[0].area == pytest.approx(50.0)
    strict = cc.Scene(strict=True)
    with pytest.raises(GeometryError, match="strict"):
        strict.add_buildings(gdf([bowtie], height=[10.0]))


def test_non_polygons_and_empty_geometries_are_rejected():
    s = cc.Scene()
    with pytest.raises(GeometryError, match="LineString"):
        s.add_buildings(gdf([shapely.LineString([(X0, Y0), (X0 + 1, Y0 + 1)])]))
    with pytest.raises(GeometryError, match="empty"):
        s.add_buildings(gdf([shapely.Polygon()]))


def test_duplicate_ids_are_rejected():
    s = cc.Scene()
    with pytest.raises(InputError, match="duplicate ids.*'a'"):
        s.add_buildings(gdf([shapely.box(X0, Y0, X0 + 1, Y0 + 1)] * 2, building_id=["a", "a"], height=[3.0, 3.0]))
    s.add_buildings(gdf([shapely.box(X0, Y0, X0 + 1, Y0 + 1)], building_id=["a"], height=[3.0]))
    with pytest.raises(InputError, match="already in the scene"):
        s.add_buildings(gdf([shapely.box(X0 + 5, Y0, X0 + 6, Y0 + 1)], building_id=["a"], height=[3.0]))


def test_missing_heights_are_estimated_and_flagged():
    s = cc.Scene()
    geoms = [shapely.box(X0 + 10 * i, Y0, X0 + 10 * i + 5, Y0 + 5) for i in range(4)]
    with pytest.warns(EstimateWarning, match="1 of 4"):
        s.add_buildings(
            gdf(geoms, height=[12.0, np.nan, np.nan, np.nan], storeys=[4, 5, np.nan, np.nan],
                roof_z=[np.nan, np.nan, 50.0, np.nan], ground_z=[35.0, 35.0, 35.0, 35.0])
        )
    b = s.buildings
    assert b["height_source"].tolist() == ["data", "storeys", "altitudes", "default"]
    assert b["height"].tolist() == [12.0, 15.0, 15.0, cc.scene.DEFAULT_HEIGHT]
    assert b["roof_z"].tolist() == [47.0, 50.0, 50.0, 35.0 + cc.scene.DEFAULT_HEIGHT]
    assert b["storeys"].tolist() == [4, 5, 5, 3]


def test_non_positive_heights_raise():
    with pytest.raises(InputError, match="non-positive height"):
        cc.Scene().add_buildings(gdf([shapely.box(X0, Y0, X0 + 1, Y0 + 1)], height=[-3.0]))


def test_user_columns_survive():
    s = cc.Scene()
    s.add_buildings(gdf([shapely.box(X0, Y0, X0 + 1, Y0 + 1)], height=[3.0], usage=["école"], annee=[1890]))
    assert s.buildings["usage"].iloc[0] == "école" and s.buildings["annee"].iloc[0] == 1890


def make_district():
    s = cc.Scene()
    s.add_zones(gdf([shapely.box(X0, Y0, X0 + 100, Y0 + 100), shapely.box(X0 + 100, Y0, X0 + 200, Y0 + 100)],
                    LIBELLE=["UG", "UV"], TYPEZONE=["U", "U"]))
    s.add_parcels(gdf([shapely.box(X0, Y0, X0 + 50, Y0 + 50), shapely.box(X0 + 50, Y0, X0 + 100, Y0 + 50),
                       shapely.box(X0 + 100, Y0, X0 + 150, Y0 + 50)], id=["p1", "p2", "p3"]))
    # b2 straddles p1/p2 but lies mostly on p2
    s.add_buildings(gdf([shapely.box(X0 + 5, Y0 + 5, X0 + 20, Y0 + 20), shapely.box(X0 + 45, Y0 + 5, X0 + 70, Y0 + 20)],
                        building_id=["b1", "b2"], height=[10.0, 20.0], ground_z=[35.0, 35.0]))
    return s


def test_relations_by_largest_overlap_and_navigation():
    s = make_district()
    assert s.zones["libelle"].tolist() == ["UG", "UV"]  # columns lower-cased
    assert s.buildings["parcel_id"].tolist() == ["p1", "p2"]
    assert s.parcels["zone_id"].tolist() == ["Z000000", "Z000000", "Z000001"]
    assert s.children("Z000000") == ["p1", "p2"]
    assert s.children("p2") == ["b2"]
    assert s.parent("b2") == "p2" and s.parent("p2") == "Z000000" and s.parent("Z000000") is None
    assert s.node("b1")["node_type"] == "building"
    with pytest.raises(InputError, match="no node with id 'nope'"):
        s.node("nope")


def box_bim(footprint, base_z, height, pid="PRJ"):
    return box_project(footprint, base_z, height, id=pid)


def test_with_project_replaces_buildings_on_its_parcel_and_leaves_original_untouched():
    s = make_district()
    before_b = s.buildings.copy()
    v0 = s.version
    bim = box_bim(shapely.box(X0 + 55, Y0 + 10, X0 + 80, Y0 + 30), 35.0, 24.0)
    after = s.with_project(bim)
    assert "b2" not in after.buildings.index and "PRJ" in after.buildings.index
    assert after.buildings.loc["PRJ", "height"] == pytest.approx(24.0)
    assert after.buildings.loc["PRJ", "parcel_id"] == "p2"
    assert after.meta["replaced_buildings"] == ["b2"]
    # original untouched
    assert s.version == v0 and not s.projects
    assert s.buildings.drop(columns="geometry").equals(before_b.drop(columns="geometry"))
    # the after mesh carries the BIM triangles, with roof faces upward
    m = after.mesh()
    prj = m.face_building == list(m.building_ids).index("PRJ")
    assert prj.sum() == 12
    assert m.face_areas[prj].sum() == pytest.approx(2 * (25 * 20 + 25 * 24 + 20 * 24))


def test_clip_keeps_whole_or_cut_features():
    s = make_district()
    area = shapely.box(X0, Y0, X0 + 50, Y0 + 50)
    c = s.clip(area)
    assert set(c.buildings.index) == {"b1", "b2"}  # b2 intersects
    cut = s.clip(area, cut=True)
    assert cut.buildings.geometry.loc["b2"].area == pytest.approx(5 * 15)
    assert len(s.buildings) == 2  # original untouched
    with pytest.raises(InputError, match="clip area"):
        s.clip("everything")


def test_terrain_sample_and_ground_from_terrain():
    # plane z = 30 + 0.1 x_local (rows north to south)
    cols, rows = 200, 100
    x = (np.arange(cols) + 0.5)
    z = np.tile(30 + 0.1 * x, (rows, 1))
    t = Terrain.from_array(z, origin=(X0, Y0 + rows), resolution=1.0)
    # bilinear on a plane is exact between cell centres
    assert t.sample([X0 + 10.5, X0 + 50.25], [Y0 + 20, Y0 + 30]) == pytest.approx([31.05, 35.025])
    assert np.isnan(t.sample([X0 - 5], [Y0])[0])
    s = cc.Scene()
    s.add_buildings(gdf([shapely.box(X0 + 20.5, Y0 + 10, X0 + 40.5, Y0 + 20)], height=[10.0]))
    assert s.buildings["ground_source"].iloc[0] == "default"
    s.add_terrain(t)
    # lowest ground along the outline: x_local = 20.5 -> 32.05
    assert s.buildings["ground_z"].iloc[0] == pytest.approx(32.05)
    assert s.buildings["roof_z"].iloc[0] == pytest.approx(42.05)
    assert s.buildings["ground_source"].iloc[0] == "terrain"


def test_terrain_in_another_crs_is_refused():
    t = Terrain.from_array(np.zeros((3, 3)), origin=(0, 3), resolution=1.0, crs="EPSG:3857")
    with pytest.raises(CRSError, match="read_dem"):
        cc.Scene().add_terrain(t)


def test_mesh_is_cached_and_invalidated_on_change():
    s = lone_box()
    m1 = s.mesh()
    assert s.mesh() is m1
    s.add_buildings(gdf([shapely.box(X0 + 50, Y0, X0 + 60, Y0 + 10)], height=[5.0]))
    m2 = s.mesh()
    assert m2 is not m1 and len(m2.building_ids) == 2


def test_scene_sample_drops_party_wall_sensors():
    s = cc.Scene()
    # two adjoining boxes sharing the wall x = X0 + 10; the lower one is 6 m
    s.add_buildings(gdf([shapely.box(X0, Y0, X0 + 10, Y0 + 10), shapely.box(X0 + 10, Y0, X0 + 20, Y0 + 10)],
                        height=[12.0, 6.0], ground_z=[0.0, 0.0]))
    sens = sample_scene(s, 1.0, kinds=("wall",))
    on_party = np.isclose(sens.points[:, 0], X0 + 10, atol=0.1) & (np.abs(sens.normals[:, 0]) > 0.9)
    # the taller building's party wall stays exposed above 6 m only
    assert sens.points[on_party, 2].min() > 6.0
    # exposed area = 4 free walls of A (10 x 12) + 3 of B (10 x 6) + A's wall above B (10 x 6)
    assert sens.areas.sum() == pytest.approx(3 * 120 + 3 * 60 + 60, rel=0.02)


def test_repr_and_html():
    s = courtyard()
    assert "1 buildings" in repr(s)
    h = s._repr_html_()
    assert "<table>" in h and "EPSG:2154" in h


def test_empty_scene_meshes_to_nothing():
    s = cc.Scene()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = s.mesh()
    assert m.n_faces == 0


def test_terrain_index_accepts_scalars_and_arrays():
    t = Terrain.from_array(np.zeros((4, 5)), origin=(X0, Y0 + 4), resolution=1.0)
    r, c = t.index(X0 + 2.5, Y0 + 3.5)  # upper row (row 0), third column
    assert (r.tolist(), c.tolist()) == ([0], [2])
    r, c = t.index([X0 - 1, X0 + 4.9], [Y0 + 1, Y0 + 0.1])
    assert r.tolist() == [-1, 3] and c.tolist() == [-1, 4]


def test_cityjson_buildings_keep_their_lod2_geometry_in_the_scene_mesh(shared_data):
    """Reference: the file's own LoD2 triangles (cityjson_mesh), not an extrusion."""
    from cimcity.io.cityjson import cityjson_mesh

    s = cc.read_cityjson(shared_data / "cityjson" / "cjio_zurich_subset_lod2.json")
    m, ref = s.mesh(), cityjson_mesh(s)
    assert m.n_faces == ref.n_faces
    for kind in ("roof", "wall"):
        assert m.face_areas[m.kind_mask(kind)].sum() == pytest.approx(
            ref.face_areas[ref.kind_mask(kind)].sum(), rel=1e-9
        )
    # sloped roofs survive (an extrusion would give only horizontal roofs)
    roof_n = m.face_normals[m.kind_mask("roof")]
    assert (roof_n[:, 2] < 0.99).mean() > 0.2


def test_with_project_without_storeys_estimates_them():
    import pandas as pd

    s = make_district()
    bim = box_bim(shapely.box(X0 + 55, Y0 + 10, X0 + 80, Y0 + 30), 35.0, 24.0)
    bim.storeys = pd.DataFrame()
    after = s.with_project(bim)
    # no storeys table: estimated from the height (24 m / 3 m), flagged
    assert after.buildings.loc["PRJ", "storeys"] == 8
    assert after.buildings.loc["PRJ", "storeys_source"] == "estimated"


def test_vegetation_raster_is_stored_for_the_ratios(shared_data):
    """Gothenburg UMEP land cover (EPSG:3007): stored as is in a SWEREF scene,
    reprojected (nearest) into a Lambert-93-free UTM scene with a warning."""
    path = shared_data / "dem" / "goteborg_kronenhuset" / "landcover.tif"
    s = cc.Scene(crs="EPSG:3007")
    s.add_vegetation(path, raster="landcover")
    arr, transform, crs = s.rasters["landcover"]
    assert arr.shape == (223, 234) and transform.c == pytest.approx(147720.0)
    assert set(np.unique(arr)) <= set(range(0, 8))
    u = cc.Scene(crs="EPSG:32633")
    with pytest.warns(ReprojectionWarning, match="landcover raster reprojected"):
        u.add_vegetation(path, raster="landcover")
    arr2 = u.rasters["landcover"][0]
    # nearest-neighbour keeps the class codes
    assert set(np.unique(arr2)) <= set(np.unique(arr)) | {0}
    with pytest.raises(InputError, match="unknown vegetation raster 'lidar'"):
        u.add_vegetation(path, raster="lidar")
    # vegetation.ratios picks the stored raster up (reference: numpy pixel count)
    units = gpd.GeoDataFrame(geometry=[shapely.box(147750, 6398600, 147850, 6398700)], crs="EPSG:3007")
    r = cc.vegetation.ratios(s, by=units)
    rows = slice(80, 180)  # y 6398700 -> 6398600 from the top at 6398780, 1 m pixels
    cols = slice(30, 130)  # x 147750 -> 147850 from 147720
    built = (arr[rows, cols] == 2).mean()  # UMEP class 2 = buildings
    assert r.units["built_share"].iloc[0] == pytest.approx(built, abs=1e-9)


# -- the model store, the formats registry, the package layout ---------------------------


def test_with_project_stores_the_project_model_and_drops_the_replaced_ones():
    s = make_district()
    bim = box_bim(shapely.box(X0 + 55, Y0 + 10, X0 + 80, Y0 + 30), 35.0, 24.0)
    after = s.with_project(bim)
    assert list(after.models) == ["PRJ"] and not len(s.models)
    model = after.models["PRJ"]
    assert model.source == "ifc" and model.n_faces == 12
    assert model.vertices.flags.writeable is False
    # kinds from the normals: 2 roof, 2 underside, 8 wall triangles
    codes = cc.mesh.KIND_CODES
    assert np.bincount(model.kinds, minlength=3)[[codes["roof"], codes["base"], codes["wall"]]].tolist() == [2, 2, 8]
    assert_scene_consistent(after)
    # registering a project alone swaps nothing in: the mesh has no project faces
    s.add_bim(bim)
    assert "PRJ" not in s.models and "PRJ" not in s.mesh().building_ids


def test_model_store_builds_deferred_models_once_on_first_use():
    from cimcity.scene import BuildingModel, ModelStore

    calls = []
    tri = np.array([[[0, 0, 0], [1, 0, 0], [0, 1, 0]]], float)

    def build(ids):
        calls.append(list(ids))
        return {i: BuildingModel.from_triangles(tri, [2], "cityjson") for i in ids}

    store = ModelStore()
    store.defer(["a", "b"], build)
    assert "a" in store and len(store) == 2 and not calls
    copy = store.copy()
    got = store.get_many(["b", "a", "zz"])
    assert list(got) == ["b", "a"] and calls == [["b", "a"]]
    store.get_many(["a"])
    assert len(calls) == 1  # built once
    copy.keep(["a"])
    assert list(copy) == ["a"] and len(store) == 2
    with pytest.raises(KeyError):
        store["zz"]


def test_cityjson_models_are_lazy_and_pruned_by_clip(shared_data):
    s = cc.read_cityjson(shared_data / "cityjson" / "cjio_zurich_subset_lod2.json")
    assert set(s.models) == set(s.buildings.index)
    assert len(s.models._pending) == len(s.buildings)  # not triangulated yet
    b = s.buildings.total_bounds
    half = s.clip((b[0], b[1], (b[0] + b[2]) / 2, b[3]))
    assert set(half.models) == set(half.buildings.index) < set(s.models)
    assert_scene_consistent(half)
    assert half.mesh().n_faces < s.mesh().n_faces
    model = s.models[s.buildings.index[0]]
    assert model.source == "cityjson" and model.lod == s.buildings["cityjson_lod"].iloc[0]


def test_paths_go_through_the_registered_readers(tmp_path, monkeypatch):
    # by default a path reaches cimcity's own reader (cimcity.io.raster.read_dem)
    from affine import Affine

    from cimcity.results import write_geotiff
    from cimcity.scene import formats

    dem = write_geotiff(tmp_path / "dem.tif", np.full((4, 5), 35.0),
                        Affine(1.0, 0, X0, 0, -1.0, Y0 + 4), "EPSG:2154")
    loaded = cc.Scene().add_terrain(dem).terrain
    assert loaded.elevation.shape == (4, 5) and float(np.nanmax(loaded.elevation)) == 35.0
    monkeypatch.setattr(formats, "_READERS", {})
    with pytest.raises(InputError, match="no 'dem' reader is registered"):
        cc.Scene().add_terrain(tmp_path / "dem.tif")
    seen = []
    t = Terrain.from_array(np.zeros((3, 3)), origin=(X0, Y0 + 3), resolution=1.0)
    formats.register_reader("dem", lambda path, crs: seen.append((path, crs)) or t)
    s = cc.Scene().add_terrain("dem.tif")
    assert s.terrain is t and seen == [("dem.tif", s.crs)]


def test_scene_package_imports_no_reader():
    import ast
    from pathlib import Path

    for path in Path(cc.scene.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert "io" not in (node.module or "").split("."), (path.name, node.module)


def test_catalogue_scenes_are_consistent():
    from cimcity.testing import CATALOGUE

    for name, make in CATALOGUE.items():
        assert_scene_consistent(make()), name


def test_sample_scene_is_consistent(paris):
    assert_scene_consistent(paris)
    after = paris.with_project(paris.projects[paris.meta["project_id"]])
    assert_scene_consistent(after)


def test_consistency_check_catches_a_broken_link():
    s = make_district()
    s.buildings.loc["b1", "parcel_id"] = "nowhere"
    with pytest.raises(AssertionError, match="parcel_id names rows that do not exist"):
        assert_scene_consistent(s, mesh=False)


def test_scene_cache_is_keyed_on_the_version():
    s = lone_box()
    m = s.mesh()
    s.buildings.loc[s.buildings.index[0], "height"] = 30.0
    assert s.mesh() is m  # in-place edits need touch()
    s.touch()
    assert s.mesh() is not m
    c = s.copy()
    assert c.cache is not s.cache and len(c.cache) == 0


# -- product schemas and ids in add_buildings (issue 17) ---------------------------


def test_raw_bdtopo_table_gives_the_same_buildings_as_read_buildings():
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "samples" / "paris" / "batiment.gpkg"
    raw = gpd.read_file(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        via_reader = cc.Scene().add_buildings(cc.read_buildings(path)).buildings
        direct = cc.Scene().add_buildings(raw).buildings
    assert list(direct.index) == list(raw["cleabs"])
    for col in ("height", "ground_z", "roof_z", "eave_z", "storeys"):
        np.testing.assert_array_equal(direct[col], via_reader[col])
    assert list(direct["height_source"]) == list(via_reader["height_source"])
    # BD TOPO v3: height to the ridge = roof minus ground altitude
    known = raw["altitude_maximale_toit"].notna().to_numpy()
    np.testing.assert_allclose(
        direct["height"].to_numpy()[known],
        (raw["altitude_maximale_toit"] - raw["altitude_minimale_sol"]).to_numpy()[known],
    )


def test_raw_osm_table_text_heights_and_ids():
    t = gdf(
        [shapely.box(X0 + 20 * i, Y0, X0 + 20 * i + 10, Y0 + 10) for i in range(3)],
        building=["yes", "house", "yes"],
        height=["12 m", "40'", "7"],
        **{"@id": ["way/1", "way/2", "way/3"]},
    )
    b = cc.Scene().add_buildings(t).buildings
    assert list(b.index) == ["way/1", "way/2", "way/3"]
    np.testing.assert_allclose(b["height"], [12.0, 40 * 0.3048, 7.0])
    assert list(b["height_file"]) == ["12 m", "40'", "7"]
    assert (b["source"] == "osm").all()


def test_detected_duplicate_ids_get_a_suffix_named_column_is_refused():
    from cimcity.errors import DataQualityWarning

    geoms = [shapely.box(X0 + 20 * i, Y0, X0 + 20 * i + 10, Y0 + 10) for i in range(3)]
    t = gdf(geoms, hauteur=[9.0, 9.0, 9.0], altitude_s=[40.0] * 3, batiment_c=["x", "x", "y"])
    with pytest.warns(DataQualityWarning, match="1 duplicate batiment_c ids.*'x'"):
        b = cc.Scene().add_buildings(t).buildings
    assert list(b.index) == ["x", "x#2", "y"]
    with pytest.raises(InputError, match="duplicate ids.*'x'"):
        cc.Scene().add_buildings(t, id_column="batiment_c")
    b = cc.Scene().add_buildings(t, id_column=False).buildings
    assert list(b.index) == ["B000000", "B000001", "B000002"]


def test_a_table_in_the_scene_schema_is_left_as_it_is():
    t = gdf([shapely.box(X0, Y0, X0 + 10, Y0 + 10)], height=[12.0], h=[99.0])
    b = cc.Scene().add_buildings(t).buildings
    assert b["height"].iloc[0] == 12.0 and b["source"].iloc[0] == "user"
    assert b.index[0] == "B000000"


def test_absurd_height_is_refused_naming_the_value():
    t = gdf([shapely.box(X0, Y0, X0 + 10, Y0 + 10)], height=[4500.0])
    with pytest.raises(InputError, match="above 1000 m.*4500 m"):
        cc.Scene().add_buildings(t)


# -- issue 17: study area, context, placement, vertical frame ----------------------------
def test_clip_passes_context_and_records_the_study_area():
    # b1 (X0+5..20) is inside the 50 m area, b2 (X0+45..70) crosses its edge;
    # b3, 20 m east of the area, is kept as context only within 25 m
    s = make_district()
    s.add_buildings(gdf([shapely.box(X0 + 70, Y0 + 10, X0 + 80, Y0 + 20)],
                        building_id=["b3"], height=[10.0], ground_z=[35.0]))
    assert s.study_area is None  # a whole scene: no study area
    area = shapely.box(X0, Y0, X0 + 50, Y0 + 50)
    bare = s.clip(area)
    assert "b3" not in bare.buildings.index and bare.meta["context_m"] == 0.0
    c = s.clip(area, context=25.0)
    assert c.study_area.equals(area)
    assert "b3" in c.buildings.index and c.meta["context_m"] == 25.0
    # "auto": h / tan(lowest sun) of the tallest building, as context_margin
    from cimcity.scene.variants import context_margin

    auto = s.clip(area, context="auto")
    assert auto.meta["context_m"] == pytest.approx(
        context_margin(float(s.buildings["height"].max()))
    )
    with pytest.raises(InputError, match="context"):
        s.clip(area, context=-5.0)
    with pytest.raises(TypeError):
        s.clip(area, False, 0.0, 25.0)  # context is keyword-only


def test_add_bim_refuses_a_project_without_placement():
    # crs None and georef 'none': the model's own local frame, not the scene's.
    # Before: registered as if placed (then swapped in at the origin).
    s = lone_box()
    prj = box_project((0, 0, 10, 8))
    prj.crs = None
    prj.georef = {"method": "none"}
    with pytest.raises(GeoreferenceError, match=r"'PRJ' has no placement.*placement="):
        s.add_bim(prj)
    assert not s.projects
    # placed by an explicit placement (no CRS on the model): accepted
    placed = box_project((X0, Y0 + 30, X0 + 10, Y0 + 40))
    placed.crs = None
    s.add_bim(placed)
    assert list(s.projects) == ["PRJ"]


def test_a_dem_of_another_place_is_refused_naming_it(tmp_path):
    # the DEM first, then buildings 270 km away (the CLI's --dem then
    # --buildings order): before, accepted, and the run failed later on a
    # vertical offset that named neither the file nor the cause
    dem = Terrain.from_array(np.full((4, 4), 35.0), (700_000.0, 6_600_000.0), 1.0)
    dem.source = "far.tif"
    s = cc.Scene()
    s.add_terrain(dem)
    with pytest.raises(GeoreferenceError, match=r"DEM far\.tif lies 27\d\.\d km from the buildings"):
        s.add_buildings(gdf([shapely.box(X0, Y0, X0 + 10, Y0 + 10)], height=[9.0]))
    assert not len(s.buildings)
    # one building beyond the DEM's edge next to others on it is accepted (its
    # ground is unknown, and the analyses say so)
    t = Terrain.from_array(np.full((20, 20), 35.0), (X0, Y0 + 20), 1.0)
    s = cc.Scene()
    s.add_terrain(t)
    s.add_buildings(gdf([shapely.box(X0 + 2, Y0 + 2, X0 + 8, Y0 + 8)], height=[9.0]))
    s.add_buildings(gdf([shapely.box(X0 + 100, Y0, X0 + 110, Y0 + 10)],
                        building_id=["off"], height=[9.0]))
    assert len(s.buildings) == 2


def test_layers_in_different_vertical_frames_warn_when_added():
    # buildings with measured ground_z 35 m on a DEM at 80 m: a 45 m offset,
    # warned by add_terrain (heights.check_vertical_frame, warn-only mode)
    s = cc.Scene()
    s.add_buildings(gdf([shapely.box(X0 + 2, Y0 + 2, X0 + 8, Y0 + 8)],
                        height=[9.0], ground_z=[35.0]))
    high = Terrain.from_array(np.full((20, 20), 80.0), (X0, Y0 + 20), 1.0)
    with pytest.warns(DataQualityWarning, match=r"add_terrain: buildings .* at 35\.00 m "
                      r"and terrain at 80\.00 m differ by 45\.0 m"):
        s.add_terrain(high)
    # the same buildings on a DEM at 35 m: no warning from either call
    ok = cc.Scene()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        ok.add_terrain(Terrain.from_array(np.full((20, 20), 35.0), (X0, Y0 + 20), 1.0))
        ok.add_buildings(gdf([shapely.box(X0 + 2, Y0 + 2, X0 + 8, Y0 + 8)],
                             height=[9.0], ground_z=[35.0]))
    # a project 100 m above the DEM: warned by add_bim, never refused there
    with pytest.warns(DataQualityWarning, match=r"add_bim: project .* at 135\.00 m"):
        ok.add_bim(box_project((X0 + 10, Y0 + 10, X0 + 18, Y0 + 18), base_z=135.0))


def test_generated_ids_are_not_reused_after_buildings_were_dropped():
    # three generated ids, the first clipped away: counting rows would give the
    # next building "B000002", which is still in the scene
    geoms = [shapely.box(X0 + 20 * i, Y0, X0 + 20 * i + 10, Y0 + 10) for i in range(3)]
    s = cc.Scene().add_buildings(gdf(geoms, height=[9.0] * 3), id_column=False)
    s = s.clip(shapely.box(X0 + 15, Y0 - 5, X0 + 60, Y0 + 15))
    assert list(s.buildings.index) == ["B000001", "B000002"]
    new = gdf([shapely.box(X0 + 80, Y0, X0 + 90, Y0 + 10)], height=[6.0])
    s.add_buildings(new, id_column=False)
    assert list(s.buildings.index) == ["B000001", "B000002", "B000003"]
