"""read_dem / read_dsm: Gothenburg rasters (EPSG:3007 / 3006), the geographic
pysheds DEM (reprojected), the sample DEM, nodata, datums and bad input."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer

import cimcity as cc
from cimcity.errors import CRSError, FileFormatError, InputError, ReprojectionWarning
from cimcity.io.raster import read_dem, read_dsm

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DEM = ROOT / "data" / "samples" / "paris" / "dem_1m.tif"
X0, Y0 = 650_000.0, 6_860_000.0


def _tif(path, z, transform=None, crs="EPSG:2154", nodata=None, tags=None):
    z = np.asarray(z)
    transform = transform or Affine(1.0, 0, X0, 0, -1.0, Y0 + z.shape[0])
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=z.shape[1],
        height=z.shape[0],
        count=1,
        dtype=z.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as ds:
        ds.write(z, 1)
        if tags:
            ds.update_tags(**tags)
    return path


def test_gothenburg_kronenhuset(shared_data):
    d = shared_data / "dem" / "goteborg_kronenhuset"
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReprojectionWarning)  # native CRS: no warp
        dsm = read_dsm(d / "DSM_KRbig.tif", crs="EPSG:3007")
        dem = read_dem(d / "DEM_KRbig.tif", crs=None)  # None keeps the file's CRS
        cdsm = read_dsm(d / "CDSM_KRbig.tif", crs="EPSG:3007")
    # SOURCES.md: 234 x 223 px at 1 m, origin (147720, 6398780), SWEREF99 12 00
    for t in (dsm, dem, cdsm):
        assert t.crs.to_epsg() == 3007
        assert t.shape == (223, 234)
        assert t.resolution == (1.0, 1.0)
        assert t.bounds == (147720.0, 6398557.0, 147954.0, 6398780.0)
        assert t.vertical_datum == "unknown"  # the files do not say
        assert t.meta["nodata_cells"] == 0
    assert dsm.kind == "dsm" and dem.kind == "dem"
    # value ranges from SOURCES.md (DSM 0-58.1, DEM 0-23.2, CDSM 0-24.4 m)
    assert np.nanmax(dsm.elevation) == pytest.approx(58.07, abs=0.01)
    assert np.nanmax(dem.elevation) == pytest.approx(23.21, abs=0.01)
    assert np.nanmax(cdsm.elevation) == pytest.approx(24.37, abs=0.01)
    assert cdsm.meta["dtype"] == "float64" and dsm.meta["dtype"] == "float32"
    # the DSM stands on or above the DEM on 99 % of cells (the two come from
    # different surveys: ground cells differ by decimetres), and buildings or
    # trees (> 2.5 m above ground) cover a dense-city share of the tile
    above = dsm.elevation - dem.elevation
    assert (above >= -0.5).mean() > 0.99
    assert 0.3 < (above > 2.5).mean() < 0.8
    # a cell read through rasterio directly equals the Terrain's
    with rasterio.open(d / "DSM_KRbig.tif") as ds, warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)  # rasterio/affine
        raw = ds.read(1)
        r, c = ds.index(147837.7, 6398728.3)  # the courtyard station (poi.geojson)
    rr, cc_ = dsm.index([147837.7], [6398728.3])
    assert (rr[0], cc_[0]) == (r, c)
    assert dsm.elevation[r, c] == raw[r, c]


def test_gustav_adolfs_epsg3006(shared_data):
    t = read_dem(
        shared_data / "dem" / "goteborg_gustav_adolfs" / "DEM_GA.tif", crs=None
    )
    # SOURCES.md: 116 x 104 px at 2 m, origin (319134, 6400206), SWEREF99 TM
    assert t.crs.to_epsg() == 3006
    assert t.shape == (104, 116) and t.resolution == (2.0, 2.0)
    assert t.bounds[0] == 319134.0 and t.bounds[3] == 6400206.0
    assert np.nanmin(t.elevation) == pytest.approx(0.06, abs=1e-3)
    assert np.nanmax(t.elevation) == pytest.approx(6.0, abs=1e-3)


def test_pysheds_geographic_dem_reprojected(shared_data):
    path = shared_data / "dem" / "pysheds_dem.tif"
    # a geographic raster cannot be used as is
    with pytest.raises(CRSError, match="not projected"):
        read_dem(path, crs=None)
    with pytest.warns(ReprojectionWarning, match="EPSG:4326.*EPSG:32614"):
        t = read_dem(path, crs="EPSG:32614")  # UTM 14N: Fort Worth, Texas
    assert t.crs.to_epsg() == 32614
    assert t.meta["source_crs"] == "EPSG:4326" and t.meta["reprojected"]
    # 0.000833 deg is 92.6 m north-south and 78 m east-west at 32.7 N: the warped
    # cells are square and in between
    assert 75 < t.resolution[0] < 95 and t.resolution[0] == t.resolution[1]
    with rasterio.open(path) as ds:
        raw = ds.read(1).astype(float)
        src_t, (rows, cols) = ds.transform, ds.shape
        assert (rows, cols) == (359, 367) and ds.nodata == -32768
    # independent check: cell centres of the source grid, moved to UTM with pyproj,
    # sampled in the warped Terrain; bilinear vs cell value differ by less than
    # the local relief (max - min of the 3 x 3 neighbourhood) + 0.5 m
    rng = np.random.default_rng(0)
    r = rng.integers(5, rows - 5, 300)
    c = rng.integers(5, cols - 5, 300)
    lon = src_t.c + (c + 0.5) * src_t.a
    lat = src_t.f + (r + 0.5) * src_t.e
    x, y = Transformer.from_crs(4326, 32614, always_xy=True).transform(lon, lat)
    got = t.sample(x, y)
    relief = np.array(
        [np.ptp(raw[i - 1 : i + 2, j - 1 : j + 2]) for i, j in zip(r, c, strict=True)]
    )
    assert np.isfinite(got).all()
    assert (np.abs(got - raw[r, c]) <= relief + 0.5).all()
    assert np.nanmin(t.elevation) >= raw.min() - 1e-6
    assert np.nanmax(t.elevation) <= raw.max() + 1e-6
    # NaN only outside the source footprint (the warped grid is a bounding box)
    xs, ys = t.cell_centers()
    xx, yy = np.meshgrid(xs, ys)
    nan = np.isnan(t.elevation)
    assert nan.any()
    lo, la = Transformer.from_crs(32614, 4326, always_xy=True).transform(
        xx[nan], yy[nan]
    )
    col = (lo - src_t.c) / src_t.a
    row = (la - src_t.f) / src_t.e
    half = 1.0  # one source cell of tolerance at the rim
    outside = (col < half) | (col > cols - half) | (row < half) | (row > rows - half)
    assert outside.all()


def test_sample_dem_and_scene():
    t = read_dem(SAMPLE_DEM)
    assert t.crs.to_epsg() == 2154 and t.shape == (400, 400)
    assert t.vertical_datum == "NGF-IGN69"  # from the VERTICAL_DATUM tag
    scene = cc.Scene().add_terrain(SAMPLE_DEM)
    assert scene.terrain.shape == (400, 400)
    # bbox: a window with one cell of margin
    w = read_dem(SAMPLE_DEM, bbox=(649_750, 6_865_350, 649_800, 6_865_400))
    assert w.shape == (52, 52)
    b = w.bounds
    assert (
        b[0] <= 649_750 and b[2] >= 649_800 and b[1] <= 6_865_350 and b[3] >= 6_865_400
    )
    x, y = 649_775.5, 6_865_375.5
    assert w.sample([x], [y])[0] == pytest.approx(t.sample([x], [y])[0], abs=1e-9)


def test_nodata_becomes_nan(tmp_path):
    z = np.arange(20, dtype="float32").reshape(4, 5) + 30
    z[1, 2] = -9999
    z[3, 0] = -9999
    t = read_dem(_tif(tmp_path / "n.tif", z, nodata=-9999))
    assert np.isnan(t.elevation[1, 2]) and np.isnan(t.elevation[3, 0])
    assert t.meta["nodata_cells"] == 2 and t.meta["nodata"] == -9999
    assert np.nanmin(t.elevation) == 30
    # an int16 raster with the pysheds nodata value
    zi = np.full((3, 3), 100, dtype="int16")
    zi[0, 0] = -32768
    ti = read_dem(_tif(tmp_path / "i.tif", zi, nodata=-32768))
    assert np.isnan(ti.elevation[0, 0]) and ti.elevation.dtype == np.float64
    # nothing but nodata
    with pytest.raises(FileFormatError, match="only nodata"):
        read_dem(
            _tif(tmp_path / "all.tif", np.full((3, 3), -1.0, "float32"), nodata=-1)
        )


def test_vertical_datum(tmp_path):
    z = np.ones((3, 3), "float32")
    t = read_dem(_tif(tmp_path / "c.tif", z, crs="EPSG:2154+5720"))  # L93 + NGF-IGN69
    assert "NGF-IGN69" in t.vertical_datum
    assert t.crs.to_epsg() == 2154
    t = read_dem(_tif(tmp_path / "t.tif", z, tags={"VERTICAL_DATUM": "IGN69"}))
    assert t.vertical_datum == "IGN69"
    t = read_dem(_tif(tmp_path / "u.tif", z))
    assert t.vertical_datum == "unknown"
    t = read_dem(tmp_path / "u.tif", vertical_datum="NGF-IGN69")
    assert t.vertical_datum == "NGF-IGN69"


def test_south_up_grid_is_flipped(tmp_path):
    z = np.arange(12, dtype="float32").reshape(3, 4)
    p = _tif(tmp_path / "s.tif", z, transform=Affine(1, 0, X0, 0, 1, Y0))
    t = read_dem(p)
    # row 0 of the file is the southern edge (y0 .. y0+1)
    assert t.bounds == (X0, Y0, X0 + 4, Y0 + 3)
    assert t.sample([X0 + 0.5], [Y0 + 0.5], method="nearest")[0] == 0.0
    assert t.sample([X0 + 3.5], [Y0 + 2.5], method="nearest")[0] == 11.0


def test_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_dem(tmp_path / "none.tif")
    (tmp_path / "e.tif").write_bytes(b"")
    with pytest.raises(FileFormatError, match="empty"):
        read_dem(tmp_path / "e.tif")
    (tmp_path / "t.tif").write_text("not a raster")
    with pytest.raises(FileFormatError, match="t.tif"):
        read_dem(tmp_path / "t.tif")
    good = _tif(tmp_path / "g.tif", np.ones((64, 64), "float32"))
    data = good.read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match="cut.tif"):
        read_dem(tmp_path / "cut.tif")
    # no CRS; src_crs supplies it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rasterio: dataset has no geotransform/CRS
        nocrs = _tif(tmp_path / "nocrs.tif", np.ones((3, 3), "float32"), crs=None)
    with pytest.raises(CRSError, match="nocrs.tif declares no CRS"):
        read_dem(nocrs)
    assert read_dem(nocrs, src_crs="EPSG:2154").crs.to_epsg() == 2154
    # degrees declared as Lambert-93
    deg = _tif(
        tmp_path / "deg.tif",
        np.ones((3, 3), "float32"),
        transform=Affine(0.001, 0, 2.3, 0, -0.001, 48.9),
    )
    with pytest.raises(CRSError, match="longitude/latitude"):
        read_dem(deg)
    with pytest.raises(InputError, match="band"):
        read_dem(good, band=2)
    with pytest.raises(InputError, match="resampling"):
        read_dem(good, resampling="spline")
    with pytest.raises(InputError, match="does not overlap"):
        read_dem(good, bbox=(0, 0, 10, 10))
    with pytest.raises(CRSError):
        read_dem(good, crs="EPSG:4326")  # target must be projected
