"""The malformed-input corpus (issue 17, item 10): case registry and checks.

A case builds its inputs in a temporary folder and names the expected outcome:
either a :class:`~cimcity.errors.CimcityError` subclass whose message matches a
regular expression on the bad value, or a correct result checked by a function
(with the reason it is correct in its docstring or comment). The runner in
``tests/test_corpus.py`` also checks that no input was modified (deep copies
compared before/after) and that reading wrote nothing beside the input files.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal

#: every case, in registration order
CASES: list = []


@dataclass
class Call:
    """A call to make: ``func(*args, **kwargs)``; ``inputs`` are the folders
    whose files must stay as they are (nothing written beside them)."""

    func: Callable
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


@dataclass
class Cli:
    """A command line run through :func:`cimcity.cli.main`."""

    argv: list


@dataclass
class Spec:
    module: str
    name: str
    build: Callable
    raises: type | None = None
    match: str | None = None
    check: Callable | None = None
    code: int | None = None


def case(
    module, name, *, raises=None, match=None, check=None, code=None, xfail=None,
    run=True,
):
    """Register ``build(tmp_path) -> Call | Cli`` as a corpus case.

    Parameters
    ----------
    module : str
        Area of the package (for the count per module).
    name : str
        Short case name (the test id is ``module:name``).
    raises : CimcityError subclass, optional
        Expected error; ``match`` is a regex its message must contain.
    check : callable, optional
        ``check(result, warnings)`` for a correct result.
    code : int, optional
        Expected exit code of a :class:`Cli` case (stderr must match ``match``).
    xfail : str, optional
        Known failure in a file owned by someone else: ``"<owner>: <what>"``.
    run : bool
        False for a known failure that must not run (it exhausts the memory
        of the machine); it is reported as xfailed without running.
    """
    assert (raises is not None) + (check is not None) + (code is not None) == 1, name

    def deco(build):
        marks = [pytest.mark.xfail(strict=True, reason=xfail, run=run)] if xfail else []
        spec = Spec(module, name, build, raises, match, check, code)
        CASES.append(pytest.param(spec, id=f"{module}:{name}", marks=marks))
        return build

    return deco


# -- snapshots of inputs -------------------------------------------------------------


def _file_digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def snapshot(obj, depth=0):
    """A deep, comparable copy of an input (see :func:`assert_same`)."""
    import trimesh

    from cimcity.bim import BimModel
    from cimcity.mesh import CityMesh
    from cimcity.scene import Scene
    from cimcity.terrain import Terrain

    if isinstance(obj, Scene):
        return (
            "scene",
            {k: v.copy(deep=True) for k, v in obj._tables.items()},
            {k: v.copy(deep=True) for k, v in obj.layers.items()},
            snapshot(obj.terrain),
            snapshot(obj.dsm),
            {k: snapshot(v) for k, v in obj.rasters.items()},
            sorted(obj.projects),
            sorted(obj.models.get_many(obj.buildings.index)),
            obj.version,
            obj.crs.to_string(),
        )
    if isinstance(obj, pd.DataFrame | pd.Series | pd.Index):
        return obj.copy(deep=True)
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, Terrain):
        return ("terrain", obj.elevation.copy(), tuple(obj.transform), obj.crs.to_string())
    if isinstance(obj, BimModel):
        return (
            "bim",
            obj.footprint.wkb,
            np.array(obj.mesh.vertices, copy=True),
            np.array(obj.mesh.faces, copy=True),
            obj.base_z,
            obj.top_z,
            obj.storeys.copy(deep=True),
            copy.deepcopy({k: v for k, v in obj.georef.items()}),
        )
    if isinstance(obj, CityMesh):
        return ("mesh", obj.vertices.copy(), obj.faces.copy(), obj.origin.copy())
    if isinstance(obj, trimesh.Trimesh):
        return ("trimesh", np.array(obj.vertices, copy=True), np.array(obj.faces, copy=True))
    if isinstance(obj, Path) or (isinstance(obj, str) and len(obj) < 4096 and _is_file(obj)):
        p = Path(obj)
        if p.is_file():
            return ("file", str(p), _file_digest(p))
        return ("path", str(p))
    if isinstance(obj, dict):
        return {k: snapshot(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(snapshot(v, depth + 1) for v in obj)
    if isinstance(obj, str | bytes | int | float | complex | bool | type(None)):
        return obj
    if hasattr(obj, "__dict__") and depth < 4 and not isinstance(obj, type):
        # results, weather, rule packs...: their attributes, recursively
        return ("object", type(obj).__name__, snapshot(dict(vars(obj)), depth + 1))
    try:
        c = copy.deepcopy(obj)
        if bool(np.all(c == obj)):
            return c
    except Exception:
        pass
    return ("identity", id(obj))


def _is_file(s: str) -> bool:
    try:
        return Path(s).is_file()
    except (OSError, ValueError):
        return False


def assert_same(a, b, where="input"):
    """Raise AssertionError when snapshots ``a`` and ``b`` differ."""
    if isinstance(a, gpd.GeoDataFrame):
        assert_geodataframe_equal(a, b)
        return
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
        return
    if isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b)
        return
    if isinstance(a, pd.Index):
        pd.testing.assert_index_equal(a, b)
        return
    if isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=f"{where} array modified")
        return
    if isinstance(a, dict):
        assert a.keys() == b.keys(), f"{where}: keys changed {a.keys()} -> {b.keys()}"
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
        return
    if isinstance(a, list | tuple):
        assert len(a) == len(b), f"{where}: length changed"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
        return
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return
    try:
        eq = a == b
        eq = bool(np.all(eq))
    except Exception:
        eq = repr(a) == repr(b)
    assert eq, f"{where} modified: {a!r} -> {b!r}"


def folder_listing(folder: Path) -> dict:
    """Name -> digest of every file under ``folder`` (to see writes beside inputs)."""
    if not folder.is_dir():
        return {}
    return {
        str(p.relative_to(folder)): _file_digest(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
