"""Optional dependencies, imported through one helper that names the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import InputError, MissingDependencyError

#: import name -> (pip distribution, cimcity extra)
_EXTRAS = {
    "ifcopenshell": ("ifcopenshell", "ifc"),
    "pyvista": ("pyvista", "viz"),
    "matplotlib": ("matplotlib", "viz"),
    "imageio": ("imageio", "viz"),
    "embreex": ("embreex", "accel"),
    "dask": ("dask", "dask"),
    "distributed": ("distributed", "dask"),
    "dask_geopandas": ("dask-geopandas", "dask"),
}


def import_optional(name: str) -> ModuleType:
    """Import an optional dependency or raise an error naming the extra.

    Parameters
    ----------
    name : str
        Module name, e.g. ``"pyvista"`` or ``"ifcopenshell.geom"``.

    Raises
    ------
    MissingDependencyError
        When the module is not installed; the message gives the
        ``pip install "cimcity[extra]"`` command that fixes it.
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        top = name.split(".")[0]
        dist, extra = _EXTRAS.get(top, (top, "all"))
        raise MissingDependencyError(
            f"{name!r} is needed for this feature but is not installed "
            f"({exc}); install it with: pip install \"cimcity[{extra}]\" "
            f"(or pip install {dist})"
        ) from exc


def has_module(name: str) -> bool:
    """True when ``name`` can be imported (without importing heavy parts twice)."""
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def renamed_arguments(**renames):
    """Decorator: accept old keyword names for a release, with a warning.

    ``@renamed_arguments(date="when", start=None)`` maps ``date=`` to ``when=``
    (``FutureWarning`` naming the new spelling); a value of None means the old
    argument has no direct new name and must be handled by the function (it is
    passed through unchanged, after the warning).

    Passing both an old name and its new name is an :class:`InputError`.
    """
    import functools
    import warnings


    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                if new is None:
                    continue
                if new in kwargs:
                    raise InputError(
                        f"{fn.__name__}() got both {old}= (old name) and {new}=; "
                        f"pass only {new}="
                    )
                warnings.warn(
                    f"{fn.__name__}({old}=...) is renamed {new}=; the old name "
                    "will be removed in a future release",
                    FutureWarning,
                    stacklevel=2,
                )
                kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return inner

    return wrap
