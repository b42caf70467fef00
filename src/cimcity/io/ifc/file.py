"""Opening IFC files and reading their units.

:func:`open_ifc` checks the file before handing it to ifcopenshell (missing,
empty, truncated, not IFC-SPF) so that every failure is a
:class:`~cimcity.errors.FileFormatError` naming the file. ifcopenshell is an
optional extra, imported when a file is opened.
"""

from __future__ import annotations

from pathlib import Path

from ..._compat import import_optional
from ...errors import FileFormatError


def open_ifc(path):
    """Open an IFC file or raise :class:`FileFormatError` naming it."""
    ifcopenshell = import_optional("ifcopenshell")
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"IFC file {str(path)!r} does not exist")
    if path.is_dir():
        raise FileFormatError(f"{str(path)!r} is a directory, not an IFC file")
    size = path.stat().st_size
    if size == 0:
        raise FileFormatError(f"IFC file {str(path)!r} is empty (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(4096)
        fh.seek(max(0, size - 4096))
        tail = fh.read()
    is_spf = head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"ISO-10303-21")
    if path.suffix.lower() == ".ifc" or is_spf:
        if not is_spf:
            raise FileFormatError(
                f"{str(path)!r} is not an IFC file: it does not start with the "
                f"STEP header 'ISO-10303-21;' (IFC-SPF expected; .ifcXML and "
                f".ifcZIP are read by extension)"
            )
        if b"END-ISO-10303-21" not in tail:
            raise FileFormatError(
                f"IFC file {str(path)!r} is truncated: no 'END-ISO-10303-21;' "
                f"trailer ({size} bytes); re-export or re-download it"
            )
    try:
        f = ifcopenshell.open(str(path))
    except Exception as exc:  # ifcopenshell raises its own Error / OSError
        raise FileFormatError(f"cannot read IFC file {str(path)!r}: {exc}") from exc
    if not f.by_type("IfcProject"):
        raise FileFormatError(
            f"IFC file {str(path)!r} has no IfcProject: not a valid IFC model "
            f"(truncated or a fragment?)"
        )
    return f


def unit_scale(f) -> float:
    import ifcopenshell.util.unit as uu

    return float(uu.calculate_unit_scale(f))


def length_unit_name(f) -> str:
    import ifcopenshell.util.unit as uu

    try:
        u = uu.get_project_unit(f, "LENGTHUNIT")
        return uu.get_full_unit_name(u).lower() if u is not None else "metre"
    except Exception:  # exotic unit definitions: report the scale instead
        return f"{unit_scale(f)} m"


def area_scale(f) -> float:
    import ifcopenshell.util.unit as uu

    try:
        return float(uu.calculate_unit_scale(f, "AREAUNIT"))
    except Exception:  # no area unit: assume m²
        return 1.0
