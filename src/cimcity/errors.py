"""Exceptions and warnings raised by cimcity.

Every cimcity error derives from :class:`CimcityError`, so a script can catch
all of them at once, and from the matching builtin (``ValueError``,
``ImportError``...) so generic handlers keep working. Messages name the
offending value and say what would be valid.
"""

from __future__ import annotations

__all__ = [
    "CimcityError",
    "CRSError",
    "GeometryError",
    "InputError",
    "FileFormatError",
    "GeoreferenceError",
    "RuleError",
    "EngineError",
    "MissingDependencyError",
    "CimcityWarning",
    "ReprojectionWarning",
    "RepairWarning",
    "EstimateWarning",
    "DataQualityWarning",
]


class CimcityError(Exception):
    """Root of every error raised by cimcity."""


class InputError(CimcityError, ValueError):
    """An argument or table does not hold what the function needs."""


class CRSError(InputError):
    """A coordinate reference system is missing, unknown, not projected in metres,
    or does not match the coordinates it is attached to."""


class GeometryError(InputError):
    """A geometry is of the wrong type, empty, or cannot be repaired."""


class FileFormatError(InputError):
    """A file cannot be read: empty, truncated, or not of the expected format."""


class GeoreferenceError(InputError):
    """A BIM model cannot be placed in the scene CRS."""


class RuleError(InputError):
    """A PLU rule pack is malformed: names the zone, the rule and the bad value."""


class EngineError(InputError):
    """An unknown or unavailable computation engine was requested."""


class MissingDependencyError(CimcityError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""


class CimcityWarning(UserWarning):
    """Root of cimcity warnings."""


class ReprojectionWarning(CimcityWarning):
    """Input was reprojected to the scene CRS."""


class RepairWarning(CimcityWarning):
    """Input geometries were repaired; the message gives the count."""


class EstimateWarning(CimcityWarning):
    """Missing values were estimated; a column records where each value came from."""


class DataQualityWarning(CimcityWarning):
    """Input has defects that were kept as they are (non-standard codes, broken
    text encodings, missing values); the message names them with their counts."""
