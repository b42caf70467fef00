"""The fused flood-extent pass (cimcity._kernels.flood_label) against
independent references, cell for cell.

What ``flood.extent`` now gathers in its one read of the DEM (the depths, the
rows holding nodata, the default sources, the facts behind the level-range
checks) is compared with the way it was computed before, written here in
plain numpy / scipy:

- the flood: ``scipy.ndimage.label`` on ``z < level`` (3x3 structure for
  8-connectivity, the cross for 4), keep the labels holding a source cell,
  depth ``level - z`` with ``np.where``; compared exactly (cells, and depths
  as the same float64 subtraction), the depth sum to 1e-12 relative
  (summation order only);
- the default sources: valid cells on the grid border or with a nodata
  4-neighbour (the lowest of them for ``"lowest"``), from numpy masks;
- the nodata holes next to the water: scipy labels of the nodata mask over
  the whole grid, regions touching the grid edge dropped, then a binary
  dilation of the wet cells (the full-grid computation the banded one
  replaces); compared exactly (a count of cells);
- the level checks: the DEM's range from ``np.nanmax`` / ``np.nanmin``.
"""

from __future__ import annotations

import contextlib
import importlib
import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from cimcity import flood
from cimcity._kernels import flood as K
from cimcity._kernels import flood_label as KL
from cimcity.errors import DataQualityWarning, InputError
from cimcity.flood.small import budget as small_budget
from cimcity.terrain import Terrain

X0, Y0 = 649_000.0, 6_864_000.0  # Lambert-93 [m]
_extent = importlib.import_module("cimcity.flood.extent")


def make_terrain(z):
    return Terrain.from_array(np.asarray(z, float), (X0, Y0 + z.shape[0]), 1.0)


@contextlib.contextmanager
def row_blocks(block_cells, workers=2):
    """Force the threaded path: blocks of about ``block_cells`` cells, labelled
    by ``workers`` threads, gathered and joined across their seams."""
    with (
        mock.patch.object(_extent, "BLOCK_CELLS", block_cells),
        mock.patch.object(_extent, "_workers", lambda: workers),
    ):
        yield


def data_edge(z):
    """Valid cells on the grid border or with a nodata 4-neighbour."""
    valid = np.isfinite(z)
    pad = np.pad(valid, 1, constant_values=False)
    inner = pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:]
    return valid & ~inner


def lowest_edge(z):
    edge = data_edge(z)
    return edge & (z == z[edge].min())


def scipy_depth(z, level, src, connectivity):
    structure = np.ones((3, 3), bool) if connectivity == 8 else None
    lab, _ = ndimage.label(z < level, structure=structure)
    keep = np.unique(lab[src])
    wet = np.isin(lab, keep[keep > 0])
    return np.where(wet, level - z, np.nan), wet


def holes_next_to_water(z, wet, connectivity):
    """The full-grid reference: nodata regions not touching the grid edge,
    cells of them next to a wet cell."""
    nodata = np.isnan(z)
    structure = np.ones((3, 3), bool) if connectivity == 8 else None
    lab, _ = ndimage.label(nodata, structure=structure)
    edge = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    hole = nodata & ~np.isin(lab, edge)
    near = ndimage.binary_dilation(wet, structure=structure)
    return int((hole & near).sum())


def dem(kind, rows, cols, seed):
    """``smooth``: a sum of a few sines (long wet runs); ``noisy``: the same
    plus white noise of 0.15 m; ``noise``: a flat plane plus the noise (runs of
    one or two cells)."""
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[0:rows, 0:cols].astype(float)
    smooth = (
        2.0 * np.sin(r / 7.0 + rng.uniform(0, 6))
        + 1.5 * np.cos(c / 5.0 + rng.uniform(0, 6))
        + 0.02 * (r + c)
    )
    if kind == "smooth":
        return smooth
    noise = rng.normal(0.0, 0.15, (rows, cols))
    return smooth + noise if kind == "noisy" else 30.0 + noise


def punch_holes(z, rng, n_blobs):
    """Nodata blobs (some inside, some cut by the grid edge)."""
    rows, cols = z.shape
    for _ in range(n_blobs):
        r, c = rng.integers(0, rows), rng.integers(0, cols)
        h, w = rng.integers(1, 5), rng.integers(1, 5)
        z[r : r + h, c : c + w] = np.nan
    return z


def check_same(f, z, level, src, connectivity):
    ref, wet = scipy_depth(z, level, src, connectivity)
    np.testing.assert_array_equal(f.depth, ref)
    assert f.n_cells == int(wet.sum())
    assert f.depth_sum == pytest.approx(np.nansum(ref), rel=1e-12, abs=1e-12)
    assert f.nodata_next_to_water == (
        holes_next_to_water(z, wet, connectivity) if wet.any() else 0
    )


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(["smooth", "noisy", "noise"]),
    rows=st.integers(2, 40),
    cols=st.integers(2, 40),
    seed=st.integers(0, 10_000),
    n_blobs=st.integers(0, 6),
    q=st.sampled_from([0.2, 0.35, 0.5, 0.8]),
    connectivity=st.sampled_from([4, 8]),
    sources=st.sampled_from(["lowest", "border", "mask", "one"]),
    block_cells=st.sampled_from([None, 1, 40, 300]),
)
def test_fused_extent_equals_scipy_with_holes_and_sources_anywhere(
    kind, rows, cols, seed, n_blobs, q, connectivity, sources, block_cells
):
    rng = np.random.default_rng(seed)
    z = punch_holes(dem(kind, rows, cols, seed), rng, n_blobs)
    if not np.isfinite(z).any():
        return  # refused (tested below)
    level = float(np.nanquantile(z, q))
    if sources == "lowest":
        src, arg = lowest_edge(z), None
    elif sources == "border":
        src, arg = data_edge(z), "border"
    elif sources == "mask":  # anywhere, nodata cells included
        src = rng.random(z.shape) < 0.05
        arg = src
    else:  # a single cell anywhere
        src = np.zeros(z.shape, bool)
        src[rng.integers(0, rows), rng.integers(0, cols)] = True
        arg = src
    t = make_terrain(z)
    ctx = row_blocks(block_cells) if block_cells else contextlib.nullcontext()
    with ctx, warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        f = flood.extent(t, level, sources=arg, connectivity=connectivity)
        b = flood.extent(
            t, level, sources=arg, connectivity=connectivity, mode="bathtub"
        )
    check_same(f, z, level, src, connectivity)
    assert f.n_sources == int(src.sum())
    np.testing.assert_array_equal(b.wet, z < level)
    np.testing.assert_array_equal(
        b.connected, scipy_depth(z, level, src, connectivity)[1]
    )


@pytest.mark.parametrize("kind", ["smooth", "noisy", "noise"])
def test_threaded_blocks_equal_scipy_on_a_larger_grid(kind):
    # 300 x 500 cells in ~20 blocks on two threads, nodata holes and a nodata
    # band cut by the grid's sides; every level of the benchmark
    rng = np.random.default_rng(3)
    z = punch_holes(dem(kind, 300, 500, 4), rng, 40)
    z[150, 100:400] = np.nan
    t = make_terrain(z)
    src = lowest_edge(z)
    for q in (0.2, 0.35, 0.5, 0.8):
        level = float(np.nanquantile(z, q))
        for conn in (8, 4):
            with row_blocks(7_500), warnings.catch_warnings():
                warnings.simplefilter("ignore", DataQualityWarning)
                f = flood.extent(t, level, connectivity=conn)
            check_same(f, z, level, src, conn)


def test_rows_with_more_runs_than_the_first_guess_grow_the_block():
    # a checkerboard row of 5001 cells holds 2501 one-cell runs, more than a
    # block of 3 rows reserves at first (1024 runs): the arrays must grow
    z = np.indices((9, 5001)).sum(axis=0) % 2 * 1.0
    z[4, ::7] = 0.0  # and a row with other runs
    t = make_terrain(z)
    src = np.zeros(z.shape, bool)
    src[0, 0] = src[8, 5000] = True
    for conn in (8, 4):
        with row_blocks(3 * 5001):
            f = flood.extent(t, 0.5, sources=src, connectivity=conn)
        check_same(f, z, 0.5, src, conn)


@pytest.mark.parametrize("where", ["top", "bottom", "middle", "both", "everywhere"])
def test_nodata_holes_are_counted_like_the_full_grid_reference(where):
    # the count reads only the band of rows holding nodata: a region touching
    # the first / last row must still count as the DEM's edge, not a hole
    z = dem("smooth", 60, 50, 1)
    if where in ("top", "both"):
        z[0:4, 20:24] = np.nan  # touches the first row: edge, not a hole
        z[2:5, 30:33] = np.nan  # a hole near it
    if where in ("bottom", "both"):
        z[57:60, 10:14] = np.nan
        z[55:58, 40:43] = np.nan
    if where == "middle":
        z[20:40, 0] = np.nan  # touches the west side
        z[25:28, 20:23] = np.nan
    if where == "everywhere":
        z[np.random.default_rng(2).random(z.shape) < 0.05] = np.nan
    t = make_terrain(z)
    for q in (0.35, 0.8):
        level = float(np.nanquantile(z, q))
        for conn in (4, 8):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataQualityWarning)
                f = flood.extent(t, level, sources="border", connectivity=conn)
            check_same(f, z, level, data_edge(z), conn)
    assert f.nodata_next_to_water > 0 or where == "middle"


def test_edge_cells_from_the_nodata_rows_equal_the_numpy_definition():
    rng = np.random.default_rng(5)
    for shape in [(2, 2), (2, 9), (9, 2), (30, 40)]:
        z = rng.normal(size=shape)
        if shape == (30, 40):
            punch_holes(z, rng, 8)
        nanrow = np.isnan(z).any(axis=1)
        for lowest in (False, True):
            r, c = K.edge_cells_rows(z, lowest, nanrow)
            got = np.zeros(shape, bool)
            got[r, c] = True
            ref = lowest_edge(z) if lowest else data_edge(z)
            np.testing.assert_array_equal(got, ref)
            assert np.all(np.diff(r * shape[1] + c) > 0)  # row-major order
            r2, c2 = K.edge_cells(z, lowest)
            np.testing.assert_array_equal(r, r2)
            np.testing.assert_array_equal(c, c2)


def test_level_checks_read_the_same_range_as_before():
    z = dem("noisy", 40, 30, 6)
    z[0:3, 5:8] = np.nan  # nodata on the edge (not a hole: no other warning)
    hi, lo = float(np.nanmax(z)), float(np.nanmin(z))
    t = make_terrain(z)
    # exactly the highest cell: no cell is wet there, yet the level reaches it
    with pytest.warns(DataQualityWarning, match=f"highest cell \\({hi:.2f} m"):
        flood.extent(t, hi)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        f = flood.extent(t, float(np.nextafter(hi, -np.inf)))  # just below: silent
    assert f.n_cells > 0
    with pytest.raises(InputError, match=f"spans {lo:.2f}–{hi:.2f} m"):
        flood.extent(t, hi + 100.5)
    # every valid cell equal: the only dry cells are the level's own and nodata
    flat = np.full((10, 12), 7.0)
    flat[3, 4] = np.nan
    with pytest.warns(DataQualityWarning, match="highest cell"):
        f = flood.extent(make_terrain(flat), 7.0, sources="border")
    assert f.n_cells == 0
    # a level grid: its largest finite value is checked, NaN / inf ignored
    grid = np.full(z.shape, np.nan)
    grid[:, :3] = hi
    grid[0, 0] = np.inf
    with pytest.warns(DataQualityWarning, match="highest cell"):
        flood.extent(t, grid)
    grid[:, :3] = hi - 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        flood.extent(t, grid)
    assert KL.finite_max(np.full((2, 2), np.nan)) == (False, 0.0)
    # the vectorised maximum and the cell-by-cell loop (arrays holding +inf)
    # against numpy on the finite cells
    rng = np.random.default_rng(5)
    a = rng.normal(size=(40, 50))
    a[rng.random(a.shape) < 0.3] = np.nan
    assert KL.finite_max(a) == (True, float(np.max(a[np.isfinite(a)])))
    a[3, 4] = -np.inf
    assert KL.finite_max(a) == (True, float(np.max(a[np.isfinite(a)])))
    a[7, 9] = np.inf
    assert KL.finite_max(a) == (True, float(np.max(a[np.isfinite(a)])))
    assert KL.finite_max(np.array([[np.nan, -np.inf], [np.inf, np.nan]])) == (False, 0.0)
    assert KL.finite_max(np.array([[-np.inf, -np.inf]])) == (False, 0.0)


def test_all_nodata_dem_is_refused_by_the_default_sources():
    # a Terrain refuses an all-nodata grid; one emptied in place after
    t = make_terrain(np.ones((4, 5)))
    t.elevation[:] = np.nan
    for sources in (None, "lowest", "border"):
        with pytest.raises(InputError, match="no valid cell"):
            flood.extent(t, 1.0, sources=sources)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_smooth_and_fragmented_rows_mixed_equal_scipy(seed):
    # rows after a row with few runs are scanned with skip loops, others
    # branch-free: rows alternating at random between a smooth slope and
    # white noise (with nodata) take both scans, in every order
    rng = np.random.default_rng(seed)
    rows, cols = 80, 640
    z = dem("smooth", rows, cols, seed)
    noisy = rng.random(rows) < 0.5
    z[noisy] = 30.0 + rng.normal(0.0, 0.15, (int(noisy.sum()), cols))
    z[rng.random(z.shape) < 0.002] = np.nan
    t = make_terrain(z)
    src = data_edge(z)
    for q in (0.2, 0.5, 0.8):
        level = float(np.nanquantile(z, q))
        for conn in (8, 4):
            with row_blocks(9_000), warnings.catch_warnings():
                warnings.simplefilter("ignore", DataQualityWarning)
                f = flood.extent(t, level, sources="border", connectivity=conn)
            check_same(f, z, level, src, conn)
    # per-cell level grids take the same two scans: a water surface sloping
    # along the columns, with patches of no water (NaN) on smooth and noisy rows
    slope = np.linspace(-0.4, 0.4, cols)[None, :]
    for q in (0.2, 0.5, 0.8):
        levels = np.nanquantile(z - slope, q) + slope * np.ones((rows, 1))
        levels[rng.random(levels.shape) < 0.01] = np.nan
        levels[5:9, 100:300] = np.nan
        for conn in (8, 4):
            with row_blocks(9_000), warnings.catch_warnings():
                warnings.simplefilter("ignore", DataQualityWarning)
                f = flood.extent(t, levels, sources="border", connectivity=conn)
            check_same(f, z, levels, src, conn)


@pytest.mark.parametrize("level_kind", ["scalar", "grid"])
@pytest.mark.parametrize("conn", [8, 4])
def test_small_floods_by_a_fill_from_the_sources_equal_scipy(level_kind, conn):
    # a level that reaches few cells from the sources is flooded by a fill
    # from them (flood.small) instead of the labelling pass: wet islands too
    # small to join (noise at 20 % wet) and a low scalar level; compared with
    # scipy cell for cell, and with the labelling pass's result (forced)
    rng = np.random.default_rng(3)
    rows, cols = 300, 320
    z = 30.0 + rng.normal(0.0, 0.15, (rows, cols))
    z[0, 5] = 29.0  # the lowest border cell: the default source
    z.flat[[7, 900, 45_000]] = 29.5  # wet explicit sources
    t = make_terrain(z)
    if level_kind == "grid":
        level = np.quantile(z, 0.2) + np.linspace(-0.01, 0.01, cols)[None, :] + 0 * z
        level[40:60] = np.nan
    else:
        level = float(np.quantile(z, 0.2))
    spy = mock.patch.object(_extent, "connected_depth", wraps=_extent.connected_depth)
    cases = [(None, lowest_edge(z)), (np.isin(np.arange(z.size), [7, 900, 45_000]).reshape(z.shape), None)]
    for sources, src in cases:
        src = sources if src is None else src
        with spy as labelled:
            f = flood.extent(t, level, sources=sources, connectivity=conn)
        assert not labelled.called  # the fill decided
        assert 0 < f.n_cells <= small_budget(z.size)
        check_same(f, z, level, src, conn)
        with mock.patch.object(_extent, "small_flood", lambda *a: None):
            g = flood.extent(t, level, sources=sources, connectivity=conn)
        np.testing.assert_array_equal(g.depth, f.depth)
        assert g.depth_sum == pytest.approx(f.depth_sum, rel=1e-12)
    # a flood larger than the budget, and a small one on a DEM with nodata,
    # go through the labelling pass (same answers)
    for lv, hole in ((float(np.quantile(z, 0.8)), False), (level, True)):
        zz = z.copy()
        if hole:
            zz[150:153, 150:153] = np.nan
        with spy as labelled, warnings.catch_warnings():
            warnings.simplefilter("ignore", DataQualityWarning)
            f = flood.extent(make_terrain(zz), lv, connectivity=conn)
        assert labelled.called
        check_same(f, zz, lv, lowest_edge(zz), conn)
