"""cimcity.testing: the helpers users' own tests call must themselves be right."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

import cimcity as cc
from cimcity.results import Result, plain
from cimcity.testing import (
    GROUND_Z,
    X0,
    Y0,
    assert_result_protocol,
    assert_scene_consistent,
    lone_box,
    write_box_project,
)


class _Points(Result):
    """A minimal protocol-abiding result: 3 points and a 2 × 3 grid."""

    def __init__(self, raster=False):
        self.points = gpd.GeoDataFrame(
            {"value": [1.0, 2.0, 3.0]},
            geometry=[shapely.Point(X0 + i, Y0) for i in range(3)],
            crs="EPSG:2154",
        )
        self.has_raster = raster

    def tables(self):
        return {"points": self.points, "stats": self.points[["value"]].describe()}

    def summary(self):
        return {"n": plain(len(self.points)), "mean": plain(self.points["value"].mean()), "unknown": None}

    def plot(self, column=None, *, ax=None, **kwargs):
        return self.points.plot(column=column or "value", ax=ax, **kwargs)

    def _raster(self):
        if not self.has_raster:
            return None
        return np.arange(6.0).reshape(2, 3), Affine(1, 0, X0, 0, -1, Y0 + 2), "EPSG:2154", np.nan


def test_a_protocol_result_passes(tmp_path):
    assert_result_protocol(_Points(), tmp_path)
    assert (tmp_path / "new" / "gpkg" / "result.gpkg").exists()
    assert_result_protocol(_Points(raster=True))  # temporary folder, GeoTIFF too


class _NumpySummary(_Points):
    def summary(self):
        return {"mean": np.float64(2.0)}


class _NaNSummary(_Points):
    def summary(self):
        return {"mean": float("nan")}


class _PositionalAx(_Points):
    def plot(self, column=None, ax=None, **kwargs):  # ax not keyword-only
        return super().plot(column, ax=ax)


@pytest.mark.parametrize(
    "cls, match",
    [
        (_NumpySummary, "not plain"),
        (_NaNSummary, "not plain"),
        (_PositionalAx, "keyword-only ax"),
    ],
)
def test_protocol_breaches_are_named(cls, match):
    with pytest.raises(AssertionError, match=match):
        assert_result_protocol(cls())


def test_box_project_ifc_lands_on_its_parcel(tmp_path):
    pytest.importorskip("ifcopenshell")
    parcel = shapely.box(X0 + 100, Y0, X0 + 124, Y0 + 28)
    path = write_box_project(tmp_path / "p.ifc", parcel, [3.5, 3.0, 3.0], setback=2.0)
    bim = cc.read_ifc(path)
    # analytic: the parcel shrunk by 2 m on every side, 9.5 m tall on the ground
    expected = shapely.box(X0 + 102, Y0 + 2, X0 + 122, Y0 + 26)
    assert bim.footprint.symmetric_difference(expected).area < 1e-3
    assert bim.base_z == pytest.approx(GROUND_Z, abs=1e-6)
    assert bim.top_z == pytest.approx(GROUND_Z + 9.5, abs=1e-6)
    assert len(bim.storeys) == 3
    scene = lone_box()
    scene.add_parcels(gpd.GeoDataFrame(geometry=[parcel], crs="EPSG:2154"))
    after = scene.with_project(bim)
    assert_scene_consistent(after)
    assert bim.id in after.mesh().building_ids
    with pytest.raises(cc.errors.InputError, match="without holes"):
        write_box_project(tmp_path / "q.ifc", parcel, setback=20.0)
