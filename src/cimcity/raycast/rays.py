"""Ray input checks: shapes, finite values, unit directions, ``tmin``/``tmax``.

Every engine takes the arrays these functions return, so bad input raises the
same :class:`~cimcity.errors.InputError` whatever the engine. The kernels also
count invalid rays while tracing; when they find some, the engines call
:func:`local_rays` to raise the detailed error.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

#: default start distance of rays along their direction [m] (see :mod:`cimcity.raycast`)
DEFAULT_TMIN = 1e-3


def check_mesh(mesh) -> None:
    """Raise :class:`InputError` unless ``mesh`` looks like a ``CityMesh``."""
    for attr in ("vertices", "faces", "origin", "cache"):
        if not hasattr(mesh, attr):
            raise InputError(
                f"mesh must be a cimcity.mesh.CityMesh (e.g. scene.mesh()); got "
                f"{type(mesh).__name__} without .{attr}"
            )


def points(name, value, allow_single=True) -> np.ndarray:
    """(n, 3) finite float64 array from (n, 3) (or (3,) if ``allow_single``)."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numbers of shape (n, 3); got {exc}") from exc
    if allow_single and a.shape == (3,):
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != 3:
        raise InputError(f"{name} must have shape (n, 3) or (3,); got {a.shape}")
    bad = ~np.isfinite(a).all(axis=1)
    if bad.any():
        raise InputError(
            f"{name} must be finite; {int(bad.sum())} row(s) hold NaN or inf "
            f"(first at row {int(np.flatnonzero(bad)[0])})"
        )
    return a


def unit(name, d) -> np.ndarray:
    """Rows of ``d`` (n, 3) scaled to unit length; zero rows raise."""
    length = np.sqrt(np.einsum("ij,ij->i", d, d))
    zero = ~(length > 1e-300)
    if zero.any():
        raise InputError(
            f"{name} must be non-zero vectors; {int(zero.sum())} are zero "
            f"(first at row {int(np.flatnonzero(zero)[0])})"
        )
    return np.ascontiguousarray(d / length[:, None])


def limits(tmin, tmax, n) -> tuple[float, np.ndarray]:
    """``tmin`` [m] as a float (default :data:`DEFAULT_TMIN`) and ``tmax`` [m]
    as a (1,) or (n,) float64 array, each ``> tmin``."""
    tmin = DEFAULT_TMIN if tmin is None else tmin
    try:
        tmin = float(tmin)
    except (TypeError, ValueError) as exc:
        raise InputError(f"tmin must be a distance in metres; got {tmin!r}") from exc
    if not (np.isfinite(tmin) and tmin >= 0):
        raise InputError(f"tmin must be finite and >= 0 [m]; got {tmin!r}")
    try:
        t = np.asarray(tmax, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"tmax must be a distance in metres; got {tmax!r}") from exc
    if t.ndim == 0:
        t = t.reshape(1)
    elif t.shape != (n,):
        raise InputError(f"tmax must be a scalar or have shape ({n},); got {t.shape}")
    bad = np.isnan(t) | (t <= tmin)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"tmax must be greater than tmin ({tmin} m) and not NaN; got {float(t[i])}"
            f" ({int(bad.sum())} value(s))"
        )
    return tmin, np.ascontiguousarray(t)


def _shapes(name, value) -> np.ndarray:
    """(k, 3) float64 array from (k, 3) or (3,) input (values not checked)."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numbers of shape (n, 3); got {exc}") from exc
    if a.shape == (3,):
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != 3:
        raise InputError(f"{name} must have shape (n, 3) or (3,); got {a.shape}")
    return np.ascontiguousarray(a)


def ray_arrays(mesh, origins, directions):
    """Shape-checked origins and directions (one row broadcasts) and ray count.

    Values are not checked here: the kernels count invalid rays while tracing
    (no extra pass over the arrays), and :func:`local_rays` names them."""
    check_mesh(mesh)
    o = _shapes("origins", origins)
    d = _shapes("directions", directions)
    if len(o) != len(d) and len(o) != 1 and len(d) != 1:
        raise InputError(
            f"origins and directions must have the same number of rows (or one of "
            f"them a single row); got {len(o)} and {len(d)}"
        )
    n = max(len(o), len(d)) if len(o) and len(d) else 0
    return o, d, n


def local_rays(mesh, origins, directions):
    """Validated local origins and unit directions, both (n, 3) float64."""
    o, d, n = ray_arrays(mesh, origins, directions)
    o = points("origins", o)
    d = unit("directions", points("directions", d))
    o_local = np.broadcast_to(o - mesh.origin, (n, 3))
    return np.ascontiguousarray(o_local), np.ascontiguousarray(
        np.broadcast_to(d, (n, 3))
    )
