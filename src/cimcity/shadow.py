"""Shadows and sun-hours: the public entry point.

* :func:`polygons` — ground shadow polygons of every building at given instants
  (:mod:`cimcity.sun.shadows`).
* :func:`sun_hours` — hours of direct sun on the ground, roofs and facades
  (:mod:`cimcity.sun.hours`), with the per-step visibility kept on the result.
* :func:`impact` — sun-hours lost and gained by a project's neighbours
  (:func:`cimcity.sun.impact.sun_hours_impact`).
* :func:`animate` — GIF / MP4 of the shadows through a day.
* :func:`sun_table`, :func:`sun_steps` — the sun's position at instants and
  over the steps of a study (:mod:`cimcity.sun.position`).

Every time argument is ``when=`` (a timestamp, a date, a period ``(start,
end)`` or a DatetimeIndex; naive times are Europe/Paris). Azimuths are
clockwise from true north and elevations above the horizon [deg] (NREL SPA via
pvlib), turned into the CRS grid by the meridian convergence at the scene
centre, as in :mod:`cimcity.solar`.
"""

from __future__ import annotations

from ._compat import renamed_arguments
from .sun import position
from .sun.hours import SunHoursResult, sun_hours
from .sun.impact import DEFAULT_DATES, DEFAULT_YEAR, ImpactResult
from .sun.impact import sun_hours_impact as impact
from .sun.position import DEFAULT_TZ, SUN_SEMI_DIAMETER, SUNRISE_ELEVATION
from .sun.sensors import SURFACES
from .sun.shadows import GROUND_MODES, animate, polygons

#: :func:`cimcity.sun.position.sun_table` (old argument name ``times``)
sun_table = renamed_arguments(times="when")(position.sun_table)
#: :func:`cimcity.sun.position.sun_steps` (old argument name ``date_or_period``)
sun_steps = renamed_arguments(date_or_period="when")(position.sun_steps)

__all__ = [
    "DEFAULT_TZ",
    "DEFAULT_DATES",
    "DEFAULT_YEAR",
    "SUNRISE_ELEVATION",
    "SUN_SEMI_DIAMETER",
    "GROUND_MODES",
    "SURFACES",
    "sun_table",
    "sun_steps",
    "polygons",
    "sun_hours",
    "SunHoursResult",
    "impact",
    "ImpactResult",
    "animate",
]
