"""Packaging promises: light import, errors family, optional-dependency messages."""

from __future__ import annotations

import subprocess
import sys

import pytest

import cimcity as cc
from cimcity import errors
from cimcity._compat import import_optional


def test_import_is_light():
    code = (
        "import sys, time; t = time.perf_counter(); import cimcity; "
        "dt = time.perf_counter() - t; "
        "heavy = [m for m in ('pyvista', 'vtk', 'ifcopenshell', 'numba', 'matplotlib') if m in sys.modules]; "
        "print(dt, heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    dt, heavy = out.split(" ", 1)
    assert heavy.strip() == "[]"
    assert float(dt) < 1.0


def test_errors_share_one_root_and_builtin_parents():
    for name in ("CRSError", "GeometryError", "InputError", "FileFormatError", "RuleError", "EngineError"):
        cls = getattr(errors, name)
        assert issubclass(cls, errors.CimcityError) and issubclass(cls, ValueError)
    assert issubclass(errors.MissingDependencyError, ImportError)


def test_missing_optional_dependency_names_the_extra():
    with pytest.raises(errors.MissingDependencyError, match=r'pip install "cimcity\[viz\]"'):
        import_optional("pyvista.this_does_not_exist")


def test_public_names_resolve():
    for name in ("Scene", "Terrain", "CityMesh", "BimModel", "datasets", "render", "mesh"):
        assert getattr(cc, name) is not None
    with pytest.raises(AttributeError):
        cc.no_such_thing  # noqa: B018


def test_cli_help_and_version():
    v = subprocess.run([sys.executable, "-m", "cimcity.cli", "--version"], capture_output=True, text=True)
    assert v.returncode == 0 and cc.__version__ in v.stdout
    r = subprocess.run([sys.executable, "-m", "cimcity.cli", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "demo" in r.stdout
