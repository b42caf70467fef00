"""Heat waves: mean radiant temperature (Tmrt) at pedestrian height.

* :func:`tmrt` on a Scene (3D mesh or raster view factors), :func:`tmrt_raster`
  on DSM/DEM/CDSM/land-cover rasters; both return a :class:`TmrtResult` with
  hourly Tmrt and the six directional short- and longwave fluxes.
* :func:`read_met` / :class:`Met`: weather for heat studies (EPW, DataFrame,
  UMEP met files).
* :data:`LAND_COVER`: UMEP land-cover classes and their surface properties.
* :func:`utci` (pythermalcomfort) and the heat-stress tools in
  :mod:`cimcity.heat.comfort`; heat-wave weather, greening variants and cool
  refuges in :mod:`cimcity.heat.scenarios`.
* :func:`impact`: Tmrt and UTCI before and after a project or a greening
  variant, at the same points (:class:`HeatImpactResult`).

Method, references and the validation against field measurements:
``docs/heat.md``.
"""

from . import comfort, scenarios
from .comfort import utci
from .impact import HeatImpactResult, impact
from .met import Met, read_met, read_umep_met
from .model import FLUX_COLUMNS, POSTURES, mean_radiant_temperature
from .rasters import HeatGrid, heat_grid
from .result import TmrtResult
from .surfaces import LAND_COVER
from .tmrt import tmrt, tmrt_raster

__all__ = [
    "comfort",
    "scenarios",
    "utci",
    "tmrt",
    "tmrt_raster",
    "TmrtResult",
    "impact",
    "HeatImpactResult",
    "Met",
    "read_met",
    "read_umep_met",
    "HeatGrid",
    "heat_grid",
    "LAND_COVER",
    "FLUX_COLUMNS",
    "POSTURES",
    "mean_radiant_temperature",
]
