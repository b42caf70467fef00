"""The sun: where and when (``position``), the sky, sensors, irradiance,
shadows, sun-hours and the impact of a project.

The public entry points users call are :mod:`cimcity.solar` and
:mod:`cimcity.shadow`; this package holds the concepts behind them.
"""
