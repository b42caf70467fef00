"""Distance of points to polygon rings (``_kernels.polygons.ring_distances``,
used for the sensors' distance to the edge of a scene's known extent).

References: shapely's ``distance`` to the polygon's boundary (GEOS, an
independent implementation), and the definition evaluated segment by segment
with numpy (the minimum over every segment of the clipped-projection
distance), which the grid must equal bit for bit.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from cimcity._kernels.polygons import ring_distances
from cimcity.sun.context import edge_context


def _rings(poly):
    return [
        shapely.get_coordinates(r) for r in shapely.get_rings(shapely.get_parts(poly))
    ]


def _per_segment(rings, x, y):
    """The definition, one numpy pass per segment."""
    best = np.full(len(x), np.inf)
    for c in rings:
        for (ax, ay), (bx, by) in zip(c[:-1], c[1:], strict=True):
            ux, uy = bx - ax, by - ay
            l2 = ux * ux + uy * uy
            px, py = x - ax, y - ay
            if l2 > 0:
                t = np.clip((px * ux + py * uy) / l2, 0.0, 1.0)
                px = px - t * ux
                py = py - t * uy
            np.minimum(best, px * px + py * py, out=best)
    return np.sqrt(best)


@pytest.fixture(scope="module")
def paris18_boundary(shared_data):
    # a real extent with many segments: the union of the 6,821 Etalab parcels
    # of Paris 18e (its city blocks, streets between them): 13,667 segments
    # in 381 rings, holes too
    g = gpd.read_file(shared_data / "france" / "cadastre-75118-parcelles.json")
    g = g.to_crs(2154)
    return shapely.buffer(shapely.union_all(shapely.make_valid(g.geometry.values)), 0)


def test_real_commune_boundary_equals_shapely_and_the_definition(paris18_boundary):
    poly = paris18_boundary
    rings = _rings(poly)
    assert sum(len(r) - 1 for r in rings) > 10_000
    rng = np.random.default_rng(0)
    x0, y0, x1, y1 = poly.bounds
    # points inside, outside (beyond the bounds too: the brute-force branch)
    # and on vertices (distance 0)
    xy = rng.uniform([x0 - 300, y0 - 300], [x1 + 300, y1 + 300], (6_000, 2))
    xy = np.vstack([xy, rings[0][:50]])
    got = ring_distances(rings, xy[:, 0], xy[:, 1])
    # bit for bit the definition: the nearest segment is always a candidate
    np.testing.assert_array_equal(got, _per_segment(rings, xy[:, 0], xy[:, 1]))
    # GEOS, independently: within 1e-9 m (float64 rounding at ~1e6 m)
    ref = shapely.distance(shapely.points(xy), shapely.boundary(poly))
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9)
    assert (got[-50:] == 0).all()
    assert got.max() > 100.0  # far points were tested, not only near ones


def test_small_cases_hole_degenerate_segment_and_empty():
    # a square with a square hole, a repeated vertex (a zero-length segment);
    # reference: shapely
    outer = [(0, 0), (100, 0), (100, 0), (100, 60), (0, 60), (0, 0)]
    hole = [(40, 20), (40, 40), (60, 40), (60, 20), (40, 20)]
    poly = shapely.Polygon(outer, [hole])
    rng = np.random.default_rng(1)
    xy = rng.uniform([-20, -20], [120, 80], (2_000, 2))
    got = ring_distances(_rings(poly), xy[:, 0], xy[:, 1])
    ref = shapely.distance(shapely.points(xy), shapely.boundary(poly))
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    # the centre of the hole is 10 m from its edges
    assert ring_distances(_rings(poly), np.array([50.0]), np.array([30.0]))[0] == 10.0
    assert ring_distances([], np.array([1.0]), np.array([2.0]))[0] == np.inf
    assert ring_distances(_rings(poly), np.empty(0), np.empty(0)).shape == (0,)


def test_edge_context_uses_the_ring_distances(paris):
    # the sensors' distance to the edge of the known extent: 0 outside it,
    # shapely's distance to the boundary inside
    from cimcity.scene.variants import known_extent

    known = known_extent(paris)
    x0, y0, x1, y1 = known.bounds
    rng = np.random.default_rng(2)
    xy = rng.uniform([x0 - 50, y0 - 50], [x1 + 50, y1 + 50], (3_000, 2))
    got = edge_context(paris, xy)
    inside = shapely.contains_xy(known, xy[:, 0], xy[:, 1])
    assert inside.any() and (~inside).any()
    assert (got[~inside] == 0).all()
    ref = shapely.distance(shapely.points(xy[inside]), shapely.boundary(known))
    np.testing.assert_allclose(got[inside], ref, rtol=0, atol=1e-9)
