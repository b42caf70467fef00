"""Test helpers for cimcity and for users' own tests.

Synthetic scenes
    A tiny catalogue of canonical scenes on flat ground at real Lambert-93
    coordinates in Paris 17e (south-west corner :data:`X0`, :data:`Y0`):
    :func:`lone_box`, :func:`street_canyon`, :func:`courtyard`, :func:`empty`,
    all listed in :data:`CATALOGUE`.
Projects
    :func:`box_project`, a box-shaped :class:`~cimcity.bim.BimModel` built
    without IFC, and :func:`write_box_project`, a georeferenced IFC file of a
    box building on a footprint or parcel (needs the ``ifc`` extra).
Assertions
    :func:`assert_scene_consistent` (tables, links, heights, building models,
    mesh) and :func:`assert_result_protocol` (the
    :class:`cimcity.results.Result` protocol: methods, signatures, plain
    summary, ``to_file`` round trip by suffix, HTML card).

Examples
--------
>>> from cimcity.testing import lone_box, assert_scene_consistent
>>> scene = lone_box(h=12.0)
>>> assert_scene_consistent(scene)
"""

from __future__ import annotations

import inspect
import math
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import trimesh

from .bim import BimModel
from .datasets.ifc_writer import write_project_ifc
from .errors import InputError
from .results import Result
from .scene import Scene
from .scene.tables import ID

__all__ = [
    "X0",
    "Y0",
    "GROUND_Z",
    "CRS",
    "lone_box",
    "street_canyon",
    "courtyard",
    "empty",
    "CATALOGUE",
    "box_project",
    "write_box_project",
    "assert_scene_consistent",
    "assert_result_protocol",
]

#: south-west corner of the synthetic scenes (Paris 17e, Lambert-93) [m]
X0, Y0 = 649_800.0, 6_865_400.0
#: ground altitude of the synthetic scenes [m NGF-IGN69]
GROUND_Z = 35.0
#: CRS of the synthetic scenes
CRS = "EPSG:2154"
#: tolerance on altitudes derived from one another (roof = ground + height) [m]
ALTITUDE_TOL = 1e-6


# -- synthetic scenes ------------------------------------------------------------------


def _scene(footprints, heights, ground_z=GROUND_Z, parcels=None) -> Scene:
    s = Scene()
    if parcels is not None:
        s.add_parcels(gpd.GeoDataFrame(geometry=parcels, crs=CRS))
    if footprints:
        s.add_buildings(
            gpd.GeoDataFrame(
                {"height": heights, "ground_z": ground_z},
                geometry=footprints,
                crs=CRS,
            )
        )
    return s


def lone_box(w=20.0, d=10.0, h=20.0, ground_z=GROUND_Z) -> Scene:
    """One box building whose south-west corner is at (:data:`X0`, :data:`Y0`).

    Parameters
    ----------
    w, d, h : float
        East-west width, north-south depth and height [m].
    ground_z : float
        Ground altitude [m].

    Returns
    -------
    Scene
        One building ``B000000``.
    """
    return _scene([shapely.box(X0, Y0, X0 + w, Y0 + d)], [h], ground_z)


def street_canyon(
    height=20.0, width=20.0, length=400.0, depth=15.0, ground_z=GROUND_Z
) -> Scene:
    """Two parallel slabs along an east-west street.

    Parameters
    ----------
    height : float
        Height of both slabs [m].
    width : float
        Street width between the slabs [m].
    length : float
        East-west length of the slabs [m].
    depth : float
        North-south depth of each slab [m].
    ground_z : float
        Ground altitude [m].

    Returns
    -------
    Scene
        The south slab ``B000000`` from (:data:`X0`, :data:`Y0`), the north
        slab ``B000001``.
    """
    south = shapely.box(X0, Y0, X0 + length, Y0 + depth)
    north = shapely.box(X0, Y0 + depth + width, X0 + length, Y0 + 2 * depth + width)
    return _scene([south, north], [height, height], ground_z)


def courtyard(outer=40.0, inner=16.0, h=25.0, ground_z=GROUND_Z) -> Scene:
    """A square block with a central square courtyard (a polygon with a hole).

    Parameters
    ----------
    outer, inner : float
        Side of the block and of the courtyard [m].
    h : float
        Height [m].
    ground_z : float
        Ground altitude [m].
    """
    o = shapely.box(X0, Y0, X0 + outer, Y0 + outer)
    m = (outer - inner) / 2
    i = shapely.box(X0 + m, Y0 + m, X0 + m + inner, Y0 + m + inner)
    return _scene([o.difference(i)], [h], ground_z)


def empty() -> Scene:
    """A scene with nothing in it (Lambert-93)."""
    return Scene()


#: name -> function building the canonical scene with its default arguments
CATALOGUE = {
    "lone_box": lone_box,
    "street_canyon": street_canyon,
    "courtyard": courtyard,
    "empty": empty,
}


# -- projects --------------------------------------------------------------------------


def box_project(
    footprint, base_z: float = GROUND_Z, height: float = 24.0, id: str = "PRJ",
    crs=CRS,
) -> BimModel:
    """A box-shaped BIM project, built with trimesh (no IFC needed).

    Parameters
    ----------
    footprint : shapely Polygon or (minx, miny, maxx, maxy)
        The box's plan: its bounding box is used [m, ``crs``].
    base_z : float
        Altitude of the underside [m].
    height : float
        Height of the box [m].
    id : str
        Project id (its building id once swapped in).
    crs : str or pyproj.CRS

    Returns
    -------
    BimModel
        12 triangles, two storeys (``RDC`` at ``base_z``, ``R+1`` at half
        height), ``georef={"method": "user_placement"}``.
    """
    if not isinstance(footprint, shapely.Geometry):
        footprint = shapely.box(*footprint)
    x0, y0, x1, y1 = footprint.bounds
    tm = trimesh.creation.box(extents=(x1 - x0, y1 - y0, height))
    tm.apply_translation(((x0 + x1) / 2, (y0 + y1) / 2, base_z + height / 2))
    storeys = pd.DataFrame(
        {"name": ["RDC", "R+1"], "elevation": [base_z, base_z + height / 2]}
    )
    return BimModel(
        id=id, mesh=tm, footprint=footprint, base_z=base_z, top_z=base_z + height,
        storeys=storeys, crs=crs, georef={"method": "user_placement"},
    )


def write_box_project(
    path,
    footprint,
    storey_heights=(3.5, 3.0, 3.0),
    *,
    ground_z: float = GROUND_Z,
    setback: float = 0.0,
    crs: str = CRS,
    name: str = "Projet",
    **kwargs,
) -> Path:
    """Write a georeferenced IFC project of a box building on a footprint.

    The IFC's map conversion places the project's origin at the south-west
    corner of the footprint's bounding box, axes aligned with the CRS, so
    ``cimcity.read_ifc(path)`` returns a project whose footprint is the given
    polygon (shrunk by ``setback``), standing on ``ground_z``.

    Parameters
    ----------
    path : str or Path
        Output ``.ifc`` file.
    footprint : shapely Polygon or (minx, miny, maxx, maxy)
        Outer outline of the building, e.g. a parcel [m, ``crs``]; a simple
        polygon without holes.
    storey_heights : sequence of float
        Floor-to-floor height of each storey, ground floor first [m].
    ground_z : float
        Altitude of the ground floor [m].
    setback : float
        Distance kept from the footprint's outline (e.g. from the parcel's
        edges) [m].
    crs : str
        CRS of ``footprint`` (written as the ``IfcProjectedCRS``).
    name : str
        Project name.
    **kwargs
        Passed to :func:`cimcity.datasets.ifc_writer.write_project_ifc`
        (``schema``, ``length_unit``, ``roof``...).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    InputError
        A footprint with holes, or a setback that leaves nothing.
    MissingDependencyError
        ifcopenshell is not installed.
    """
    if not isinstance(footprint, shapely.Geometry):
        footprint = shapely.box(*footprint)
    if setback:
        footprint = footprint.buffer(-setback, join_style="mitre")
    if footprint.geom_type != "Polygon" or footprint.is_empty or footprint.interiors:
        raise InputError(
            f"write_box_project needs one polygon without holes; got "
            f"{footprint.geom_type} (setback {setback} m)"
        )
    minx, miny = footprint.bounds[:2]
    ring = np.asarray(footprint.exterior.coords)[:-1] - [minx, miny]
    placement = dict(
        eastings=minx, northings=miny, orthogonal_height=ground_z,
        x_axis_abscissa=1.0, x_axis_ordinate=0.0,
    )
    return write_project_ifc(
        path, ring.tolist(), list(storey_heights), map_conversion=placement,
        crs=crs, name=name, **kwargs,
    )


# -- assertions ------------------------------------------------------------------------

_BUILDING_COLUMNS = (
    "ground_z", "ground_source", "height", "height_source", "roof_z", "eave_z",
    "storeys", "storeys_source", "lod", "source", "parcel_id", "zone_id",
)


def assert_scene_consistent(scene, mesh: bool = True) -> None:
    """Check the invariants every :class:`~cimcity.scene.Scene` keeps.

    * every table is in the scene CRS, indexed by unique, non-missing ids
      named ``parcel_id``, ``zone_id``, ``building_id``, ``vegetation_id``,
      with valid, non-empty polygons;
    * buildings carry the height columns, with finite positive heights,
      ``roof_z = ground_z + height`` (to :data:`ALTITUDE_TOL`), ``eave_z``
      missing or between ground and roof, at least one storey;
    * links (``zone_id`` of parcels, ``parcel_id`` / ``zone_id`` of buildings
      and vegetation) are missing or name an existing row;
    * detailed building models belong to buildings or projects, with faces
      indexing their vertices and one kind per face;
    * the terrain is in the scene CRS;
    * with ``mesh=True``, ``scene.mesh()`` holds exactly the buildings of the
      table, with finite vertices.

    Parameters
    ----------
    scene : Scene
    mesh : bool
        Also build and check the mesh.

    Raises
    ------
    AssertionError
        Naming the first broken invariant.
    """
    assert isinstance(scene, Scene), f"not a Scene: {type(scene).__name__}"
    for kind, index_name in ID.items():
        _check_table(getattr(scene, kind), kind, index_name, scene.crs)
    _check_buildings(scene.buildings)
    _check_links(scene)
    for bid in scene.models:
        assert bid in scene.buildings.index or bid in scene.projects, (
            f"model of {bid!r}, which is neither a building nor a project"
        )
    for bid, model in scene.models.get_many(list(scene.models)).items():
        assert len(model.kinds) == len(model.faces), f"model {bid!r}: kinds ≠ faces"
        if len(model.faces):
            assert 0 <= model.faces.min() and model.faces.max() < len(model.vertices), (
                f"model {bid!r}: faces index missing vertices"
            )
    if scene.terrain is not None:
        assert scene.terrain.crs.equals(scene.crs, ignore_axis_order=True), (
            "terrain CRS differs from the scene CRS"
        )
    if mesh:
        m = scene.mesh(terrain=False)
        assert set(m.building_ids) == set(scene.buildings.index), (
            "mesh buildings differ from the buildings table"
        )
        assert np.isfinite(m.vertices).all(), "mesh has non-finite vertices"
        if m.n_faces:
            assert m.face_building.min() >= 0
            assert m.face_building.max() < len(m.building_ids)


def _check_table(table, kind, index_name, crs):
    assert isinstance(table, gpd.GeoDataFrame), f"{kind} is not a GeoDataFrame"
    assert table.index.name == index_name, (
        f"{kind} index is named {table.index.name!r}, expected {index_name!r}"
    )
    assert table.index.is_unique, f"{kind} ids are not unique"
    assert not table.index.hasnans, f"{kind} has missing ids"
    if not len(table):
        return
    assert table.crs is not None and table.crs.equals(crs), f"{kind} CRS differs"
    geom = table.geometry.values
    assert not shapely.is_empty(geom).any(), f"{kind} has empty geometries"
    assert shapely.is_valid(geom).all(), f"{kind} has invalid geometries"
    assert np.isin(shapely.get_type_id(geom), (3, 6)).all(), f"{kind}: non-polygons"


def _check_buildings(B):
    if not len(B):
        return
    missing = [c for c in _BUILDING_COLUMNS if c not in B.columns]
    assert not missing, f"buildings lack columns {missing}"
    h = B["height"].to_numpy(float)
    assert np.isfinite(h).all() and (h > 0).all(), "buildings: non-positive heights"
    g, r = B["ground_z"].to_numpy(float), B["roof_z"].to_numpy(float)
    assert np.allclose(r, g + h, atol=ALTITUDE_TOL), "roof_z ≠ ground_z + height"
    e = B["eave_z"].to_numpy(float)
    ok = ~np.isfinite(e) | ((e > g - ALTITUDE_TOL) & (e < r + ALTITUDE_TOL))
    assert ok.all(), "eave_z outside [ground_z, roof_z]"
    assert (B["storeys"].to_numpy() >= 1).all(), "buildings with fewer than 1 storey"


def _check_links(scene):
    for table, column, parent in (
        (scene.parcels, "zone_id", scene.zones),
        (scene.buildings, "parcel_id", scene.parcels),
        (scene.buildings, "zone_id", scene.zones),
        (scene.vegetation, "parcel_id", scene.parcels),
        (scene.vegetation, "zone_id", scene.zones),
    ):
        if not len(table):
            continue
        assert column in table.columns, f"link column {column!r} missing"
        ids = table[column].dropna()
        dangling = ids[~ids.isin(parent.index)]
        assert not len(dangling), (
            f"{column} names rows that do not exist: {dangling.tolist()[:5]}"
        )


def _is_plain(v) -> bool:
    if v is None or isinstance(v, (bool, int, str)):
        return not isinstance(v, np.generic)
    if isinstance(v, float):
        return not isinstance(v, np.generic) and not math.isnan(v)
    if isinstance(v, (list, tuple)):
        return all(_is_plain(x) for x in v)
    if isinstance(v, dict):
        return all(_is_plain(k) and _is_plain(x) for k, x in v.items())
    return False


def _check_signatures(result):
    plot = inspect.signature(type(result).plot).parameters
    names = list(plot)[1:]
    assert names and names[0] == "column" and plot["column"].default is None, (
        "plot must take column=None first"
    )
    assert "ax" in plot and plot["ax"].kind is inspect.Parameter.KEYWORD_ONLY, (
        "plot must take a keyword-only ax="
    )
    assert plot["ax"].default is None, "plot's ax must default to None"
    to_file = inspect.signature(type(result).to_file).parameters
    assert list(to_file)[1:3] == ["path", "layer"], "to_file(path, layer=None)"
    assert to_file["layer"].default is None, "to_file's layer must default to None"


def _read_back(path: Path, layer: str):
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix in (".parquet", ".geoparquet"):
        try:
            return gpd.read_parquet(path)
        except ValueError:  # attribute-only table: plain Parquet
            return pd.read_parquet(path)
    return gpd.read_file(path, layer=layer)


def assert_result_protocol(result, tmp_path=None) -> None:
    """Check that an analysis result follows the :class:`cimcity.results.Result`
    protocol.

    * it derives from ``Result``; ``tables()`` is a non-empty dict whose first
      table is ``table``;
    * ``summary()`` is a dict of plain Python values (no numpy scalars, no
      NaN: unknown is ``None``);
    * ``plot(column=None, *, ax=None, ...)`` and ``to_file(path, layer=None)``
      have the protocol's signatures;
    * ``to_file`` writes the main table as ``.gpkg``, ``.parquet`` and
      ``.csv`` into folders it creates, and the files read back with as many
      rows; a raster result also writes a ``.tif`` of its grid's shape; an
      unknown suffix is an :class:`~cimcity.errors.InputError`;
    * ``_repr_html_()`` returns an HTML card naming the class.

    Parameters
    ----------
    result : Result
    tmp_path : str or Path, optional
        Folder for the files written (default: a temporary folder, removed
        afterwards).

    Raises
    ------
    AssertionError
        Naming the first broken rule.
    """
    assert isinstance(result, Result), f"{type(result).__name__} does not derive from Result"
    tables = result.tables()
    assert isinstance(tables, dict) and tables, "tables() must be a non-empty dict"
    assert result.table is next(iter(tables.values())), "table is not tables()'s first"
    s = result.summary()
    assert isinstance(s, dict), f"summary() returned {type(s).__name__}, not dict"
    bad = {k: type(v).__name__ for k, v in s.items() if not _is_plain(v)}
    assert not bad, f"summary() values that are not plain (or NaN): {bad}"
    _check_signatures(result)
    html = result._repr_html_()
    assert isinstance(html, str) and type(result).__name__ in html, "bad _repr_html_"
    if tmp_path is None:
        with tempfile.TemporaryDirectory() as tmp:
            _check_files(result, Path(tmp))
    else:
        _check_files(result, Path(tmp_path))


def _check_files(result, folder: Path) -> None:
    name = next(iter(result.tables()))
    n = len(result.table)
    for suffix in (".gpkg", ".parquet", ".csv"):
        path = folder / "new" / suffix.strip(".") / f"result{suffix}"
        out = result.to_file(path)
        assert Path(out).exists(), f"to_file did not write {path.name}"
        back = _read_back(Path(out), name)
        assert len(back) == n, f"{suffix}: {len(back)} rows read back, {n} written"
    raster = result._raster()
    if raster is not None:
        import rasterio

        out = result.to_file(folder / "new" / "tif" / "result.tif")
        with rasterio.open(out) as ds:
            assert ds.shape == np.shape(raster[0]), "GeoTIFF shape differs"
    try:
        result.to_file(folder / "result.xyz")
    except InputError:
        pass
    else:
        raise AssertionError("to_file accepted the unknown suffix '.xyz'")
