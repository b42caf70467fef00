"""The file formats a Scene hands over to :mod:`cimcity.io` (a registry).

The Scene never imports a reader: ``cimcity.io`` sits above it and builds
scenes, so an import in the other direction would close a cycle. Yet a few
Scene methods accept a file as well as an object, for convenience —
``add_terrain("dem.tif")``, ``add_zones(zones, rules="plu.toml")``,
``to_cityjson(path)``. They look the function up here by name. The table
holds ``"module:attribute"`` references to cimcity's own readers, imported on
first use only (as the lazy public names of ``cimcity/__init__``): the Scene
module never imports a reader, the import graph stays acyclic, and any code can
register another reader or writer for a name (dependency inversion: the lower
layer declares what it needs by name, the upper layer provides it).

Names used by the Scene
-----------------------
``"dem"``, ``"dsm"``
    ``reader(path, crs=...) -> Terrain``.
``"rules"``
    ``reader(path_or_dict) -> RulePack``.
``"cityjson"``, ``"glb"``, ``"obj"``, ``"tiles3d"`` (writers)
    ``writer(scene, path, **kwargs) -> Path``; :func:`write_by_suffix` picks
    one from the file name (``Scene.to_file``).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import InputError

#: name -> reader (callable or "module:attribute", imported on first use)
_READERS: dict = {
    "dem": "cimcity.io.raster:read_dem",
    "dsm": "cimcity.io.raster:read_dsm",
    "rules": "cimcity.io.plu:read_rules",
}
#: name -> writer (callable or "module:attribute")
_WRITERS: dict = {
    "cityjson": "cimcity.io.cityjson:write_cityjson",
    "glb": "cimcity.io.gltf:write_glb",
    "obj": "cimcity.io.obj:write_obj",
    "tiles3d": "cimcity.io.tiles3d:write_tiles3d",
    # the interactive page inline in Jupyter (a view, found by name: the Scene
    # never imports a view)
    "show": "cimcity.page.jupyter:show",
}
#: file name ending -> writer name, for :func:`write_by_suffix`
SUFFIX_WRITERS = {
    ".city.json": "cityjson",
    ".cityjson": "cityjson",
    ".glb": "glb",
    ".obj": "obj",
    "tileset.json": "tiles3d",
}


def register_reader(name: str, function) -> None:
    """Make ``function`` the reader the Scene uses for ``name`` files.

    Parameters
    ----------
    name : str
        What the reader reads (``"dem"``, ``"dsm"``, ``"rules"``).
    function : callable or str
        The reader, or a ``"module:attribute"`` reference imported on first
        use (so registering costs no import).
    """
    _READERS[name] = function


def register_writer(name: str, function) -> None:
    """Make ``function`` (callable or ``"module:attribute"``) the writer
    ``Scene.to_<name>`` calls."""
    _WRITERS[name] = function


def read(name: str, source, **kwargs):
    """Read ``source`` with the reader registered for ``name``.

    Raises
    ------
    InputError
        No reader is registered (``cimcity.io`` was never imported).
    """
    return _lookup(_READERS, name, "reader")(source, **kwargs)


def write(name: str, scene, path, /, **kwargs):
    """Write ``scene`` with the writer registered for ``name``."""
    return _lookup(_WRITERS, name, "writer")(scene, path, **kwargs)


def writer_for(path) -> str:
    """The writer name for a file name: :data:`SUFFIX_WRITERS`, and
    ``"tiles3d"`` for a folder (a path without suffix).

    Raises
    ------
    InputError
        A file type no writer takes (the message lists the accepted ones).
    """
    name = Path(path).name.lower()
    for ending, writer in SUFFIX_WRITERS.items():
        if name.endswith(ending):
            return writer
    if not Path(path).suffix:
        return "tiles3d"
    raise InputError(
        f"cannot write a scene to {Path(path).name!r}: unknown file type; expected "
        f"a name ending in {', '.join(SUFFIX_WRITERS)} or a folder (3D Tiles)"
    )


def write_by_suffix(scene, path, **kwargs):
    """Write ``scene`` with the writer its file name asks for
    (:func:`writer_for`): ``Scene.to_file(path)``."""
    return write(writer_for(path), scene, path, **kwargs)


def _lookup(table, name, what):
    try:
        function = table[name]
    except KeyError:
        raise InputError(
            f"no {name!r} {what} is registered: pass the object itself instead of "
            f"a path; registered: {sorted(table) or 'none'}"
        ) from None
    if isinstance(function, str):
        module, attribute = function.split(":")
        function = table[name] = getattr(importlib.import_module(module), attribute)
    return function
