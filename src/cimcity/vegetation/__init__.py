"""Vegetation versus built: green ratios, pleine terre and the biotope coefficient.

For every unit (parcel, zone or any polygon set) the ground is split, as seen
from above, into a *cover partition* that sums to the unit's area:

``built_area + canopy_area + low_vegetation_area + open_area = area``

and, on the ground itself, into the surfaces the PLU weighs in the coefficient
de biotope par surface (CBS):

``pleine_terre_area + permeable_paving_area + impervious_area + green_roof_area = area``

Green walls (vertical, ``green_wall_area``) come on top of both.

Precedence (nothing is counted twice)
-------------------------------------
1. Overlapping polygons of one class are merged first (duplicated lawns,
   overlapping tree crowns, a green roof given both as a building attribute
   and as a roof polygon count once).
2. **Built wins**: a building footprint hides whatever vegetation polygon
   overlaps it on the ground (a crown overhanging a roof counts as built).
3. **Canopy over ground**: outside buildings a tree crown counts as
   ``canopy_area`` whatever is beneath it; ground vegetation not under a crown is
   ``low_vegetation_area``. ``vegetation_area = canopy_area +
   low_vegetation_area``.
4. **Pleine terre** is unbuilt ground covered by ground vegetation (lawn, shrub,
   park, garden...), *whether or not a crown is above it*. A tree crown alone
   (a street tree over pavement) is canopy, never pleine terre.
5. **Permeable paving** is unbuilt ground under a ``permeable_paving`` polygon
   that is not pleine terre. Everything else on the ground is impervious
   (paved, bare, water), weight ``impervious``.
6. **Green roofs** are roof surface: they are clipped to the building
   footprints and counted in ``green_roof_area``, apart from the ground
   partition; deep substrate (>= :data:`DEEP_SUBSTRATE_M`) wins over shallow
   where both are given.

Missing layers
--------------
An empty or missing layer leaves what needs it unknown (NaN, None in
summaries, not checkable against the PLU) with a ``DataQualityWarning``, never
a measured zero; ``absent=`` declares layers the units truly do not have
(:mod:`cimcity.vegetation.known`, table in ``docs/inputs.md``).

Inputs
------
Vector: ``scene.buildings`` (footprints, optional ``green_roof`` bool and
``green_roof_substrate_m`` [m]), ``scene.vegetation`` (polygons with a
``kind``, see :data:`KIND_CLASSES`). Raster: a land-cover raster with a class
mapping (:data:`UMEP_LANDCOVER_CLASSES` by default), an NDVI raster with a
threshold, a canopy height raster (CDSM, height above ground [m]) with a
minimum height; the raster path counts pixel centres per unit, so it agrees
with the vector path within one pixel's area per boundary cell. Green walls are
vertical: their facade area is ``wall_area``, else ``height`` × half the
perimeter of their plan strip, shared between units by plan overlap.

Engine
------
Areas are exact (not rasterised): every quantity is a signed sum of
intersection areas of the unit with one to three class layers
(inclusion-exclusion, so no polygon difference is ever built), computed
area-only by numba kernels (convex clipping when all members but one are
convex, as parcels, footprints and crowns mostly are; else Green's theorem on
the clipped boundaries), behind bounding-box joins on a uniform grid.
Overlapping crowns are merged group by group (numba union of convex polygons,
GEOS for the rest); see :mod:`cimcity.vegetation.zonal` and :mod:`cimcity.vegetation.dissolve`. On 100k parcels with 290k
vegetation polygons this takes about 3 s on 2 cores, where a geopandas
``overlay`` + ``groupby`` gives the same numbers (within 1e-6 m²) 50-60 times
slower (``benchmarks/bench_vegetation.py``).

Layout
------
:mod:`cimcity.vegetation.measure` (:func:`ratios`, :func:`biotope_coefficient`: the Scene entry
points), :mod:`cimcity.vegetation.known` (what the given layers can measure: unknown is
not zero), :mod:`cimcity.vegetation.cover` (vector cover areas), :mod:`cimcity.vegetation.raster_cover` (raster
cover areas), :mod:`cimcity.vegetation.kinds` (vegetation kinds -> classes), :mod:`cimcity.vegetation.biotope`
(weights, CBS, PLU minima), :mod:`cimcity.vegetation.result` (:class:`VegetationResult`); the
zonal engine: :mod:`cimcity.vegetation.zonal` (polygon store, intersection terms), :mod:`cimcity.vegetation.flat`
(flattened polygons), :mod:`cimcity.vegetation.grid` (bounding-box joins), :mod:`cimcity.vegetation.dissolve`
(merging overlapping polygons), :mod:`cimcity.vegetation.raster` (reading and burning grids),
:mod:`cimcity.vegetation.threads`; kernels in :mod:`cimcity._kernels.polygons`.

References
----------
Becker, G., Mohren, R. (1990). Der Biotopflächenfaktor als ökologischer
Kennwert. Senatsverwaltung für Stadtentwicklung und Umweltschutz, Berlin (the
CBS weights: vegetation on natural soil 1.0, on slabs > 80 cm 0.7, < 80 cm 0.5,
semi-permeable surfaces 0.3, vertical greening, sealed surfaces 0).
Ville de Paris (2024). Plan local d'urbanisme bioclimatique, règlement,
article UG.13 (espaces libres, pleine terre, surfaces végétalisées pondérées).
"""

from __future__ import annotations

from .biotope import (
    DEFAULT_BIOTOPE_WEIGHTS,
    RULES,
    SHARE_COLUMNS,
    WEIGHTED_SURFACES,
    weighted_surface,
)
from .cover import (
    AREA_COLUMNS,
    DEEP_SUBSTRATE_M,
    DEFAULT_GREEN_WALL_HEIGHT,
    cover_areas,
)
from .kinds import KIND_CLASSES, UMEP_LANDCOVER_CLASSES
from .known import ABSENT_CHOICES
from .measure import biotope_coefficient, ratios
from .raster_cover import raster_cover_areas
from .result import VegetationResult
from .zonal import AREA_TOL, COINCIDENCE_TOL, intersection_area

__all__ = [
    "ratios",
    "biotope_coefficient",
    "cover_areas",
    "raster_cover_areas",
    "intersection_area",
    "weighted_surface",
    "VegetationResult",
    "KIND_CLASSES",
    "DEFAULT_BIOTOPE_WEIGHTS",
    "UMEP_LANDCOVER_CLASSES",
    "DEEP_SUBSTRATE_M",
    "DEFAULT_GREEN_WALL_HEIGHT",
    "COINCIDENCE_TOL",
    "AREA_TOL",
    "AREA_COLUMNS",
    "SHARE_COLUMNS",
    "RULES",
    "WEIGHTED_SURFACES",
    "ABSENT_CHOICES",
]
