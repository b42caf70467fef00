"""Offscreen pyvista plotters, the palette, output paths and the blank-picture check.

VTK renders offscreen. On Linux without a reachable X server it is pointed at
EGL before any window exists (:func:`_offscreen_gl`), so VTK prints nothing on the
console.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._compat import import_optional
from ..errors import InputError

PALETTE = {
    "roof": (0.62, 0.60, 0.58),
    "wall": (0.90, 0.87, 0.80),
    "base": (0.5, 0.5, 0.5),
    "terrain": (0.80, 0.78, 0.70),
    "ground": (0.86, 0.85, 0.80),
    "road": (0.68, 0.68, 0.68),
    "parcel": (0.55, 0.52, 0.46),
    "project": (0.95, 0.50, 0.10),
    "highlight": (0.85, 0.10, 0.10),
    "tree": (0.24, 0.50, 0.22),
    "lawn": (0.55, 0.75, 0.40),
    "shrub": (0.40, 0.62, 0.30),
    "green_roof": (0.45, 0.70, 0.35),
    "water": (0.35, 0.55, 0.80),
    "background": (1.0, 1.0, 1.0),
    "sky": (0.62, 0.76, 0.92),
}
#: picture files :func:`snapshot` and :func:`compare` write (by suffix)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
#: page files :func:`to_html` writes
PAGE_SUFFIXES = (".html", ".htm")


def _output(path, suffixes, what: str) -> Path:
    """``path`` as a Path after checking its suffix (``InputError`` naming the
    accepted ones), parent folders created."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        other = (
            " (an interactive page: cimcity.render.to_html)"
            if path.suffix.lower() in PAGE_SUFFIXES
            else ""
        )
        raise InputError(
            f"cannot write {what} {path.name!r}: unknown file type "
            f"{path.suffix or '(none)'!r}{other}; expected one of {', '.join(suffixes)}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _x_display_reachable(display: str) -> bool:
    """Whether the X server of ``display`` (``:0``, ``unix:1.0``, ``host:10.0``)
    accepts a connection, tried for at most 0.2 s."""
    import socket

    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False
    if host in ("", "unix"):
        sockets = (f"\0/tmp/.X11-unix/X{number}", f"/tmp/.X11-unix/X{number}")
        for address in sockets:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(0.2)
                try:
                    sock.connect(address)
                    return True
                except OSError:
                    continue
        return False
    try:
        with socket.create_connection((host, 6000 + int(number)), timeout=0.2):
            return True
    except OSError:
        return False


def _offscreen_gl() -> None:
    """Render through EGL when no X server answers (Linux).

    Without it VTK probes the X server of ``DISPLAY`` first and prints "bad X
    server connection" on every render of a headless machine (or a stale
    ``DISPLAY``) before falling back. A choice the user made
    (``VTK_DEFAULT_OPENGL_WINDOW``) is kept.
    """
    import os
    import sys

    if not sys.platform.startswith("linux") or os.environ.get(
        "VTK_DEFAULT_OPENGL_WINDOW"
    ):
        return
    display = os.environ.get("DISPLAY", "")
    if not display or not _x_display_reachable(display):
        os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = "vtkEGLRenderWindow"


def _pv():
    """pyvista, offscreen."""
    _offscreen_gl()
    pv = import_optional("pyvista")
    pv.OFF_SCREEN = True
    return pv


# every view module (solar, flood, permit figures) imports this package before it
# creates a plotter, so the choice is made before any VTK window exists
_offscreen_gl()


def new_plotter(window_size=(1600, 1000), shape=(1, 1)):
    """An offscreen plotter on the background colour, anti-aliased."""
    pv = _pv()
    kw = {"shape": shape, "border": False} if shape != (1, 1) else {}
    pl = pv.Plotter(off_screen=True, window_size=list(window_size), **kw)
    pl.set_background(PALETTE["background"])
    return pl


def figure_is_blank(path, tol: float = 2.0) -> bool:
    """True when a PNG is (nearly) uniform: the check tests use on renders."""
    from PIL import Image

    a = np.asarray(Image.open(path).convert("RGB"), dtype=float)
    return float(a.std(axis=(0, 1)).max()) < tol
