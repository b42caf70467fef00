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
    "pythermalcomfort": ("pythermalcomfort", "heat"),
    "solweig": ("solweig", "bench"),
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


def keyword_only_after(n: int):
    """Decorator: arguments after the first ``n`` become keyword-only, softly.

    For a function whose signature now has ``*`` after ``n`` parameters, a
    caller still passing more positional arguments gets them bound to the
    parameters in their former order, with a ``FutureWarning`` asking for
    keywords (one release of grace, as :func:`renamed_arguments`).
    """
    import functools
    import inspect
    import warnings

    def wrap(fn):
        params = list(inspect.signature(fn).parameters.values())
        later = [p.name for p in params[n:] if p.kind is inspect.Parameter.KEYWORD_ONLY]

        @functools.wraps(fn)
        def inner(*args, **kwargs):
            if len(args) > n:
                extra = args[n:]
                if len(extra) > len(later):
                    raise TypeError(
                        f"{fn.__name__}() takes {n} positional arguments; got {len(args)}"
                    )
                names = later[: len(extra)]
                clash = [k for k in names if k in kwargs]
                if clash:
                    raise TypeError(f"{fn.__name__}() got multiple values for {clash}")
                warnings.warn(
                    f"{fn.__name__}(): pass {', '.join(f'{k}=' for k in names)} by "
                    "keyword; positional use will stop working in a future release",
                    FutureWarning,
                    stacklevel=2,
                )
                kwargs.update(zip(names, extra, strict=True))
                args = args[:n]
            return fn(*args, **kwargs)

        return inner

    return wrap
