"""Solar irradiation of a city: the public entry point.

``cimcity.solar.irradiance(scene, when, weather=...)`` gives the irradiation
[kWh/m²] of roofs, facades, open ground or given points over a period, with
per-building totals and a PV estimate; ``cimcity.solar.impact(before, after)``
what a project takes from its neighbours. The concepts behind them live in
:mod:`cimcity.sun`: the site and sun positions (:mod:`cimcity.sun.position`),
the sky (:mod:`cimcity.sun.sky`), sensors (:mod:`cimcity.sun.sensors`), the
irradiance model (:mod:`cimcity.sun.irradiance`, physics and limits in its
docstring), its result (:mod:`cimcity.sun.solar_result`) and the impact
studies (:mod:`cimcity.sun.impact`); weather comes from
:mod:`cimcity.io.weather`.
"""

from __future__ import annotations

from .sun.impact import irradiance_impact as impact
from .sun.impact_results import SolarImpact
from .sun.irradiance import (
    DEFAULT_ALBEDO,
    DIRECT_MODES,
    FAVOURABLE_KWH_M2,
    PERFORMANCE_RATIO,
    PV_EFFICIENCY,
    irradiance,
    site_location,
)
from .sun.position import sun_positions
from .sun.solar_result import SolarResult

__all__ = [
    "DEFAULT_ALBEDO",
    "FAVOURABLE_KWH_M2",
    "PV_EFFICIENCY",
    "PERFORMANCE_RATIO",
    "DIRECT_MODES",
    "irradiance",
    "sun_positions",
    "site_location",
    "SolarResult",
    "impact",
    "SolarImpact",
]
