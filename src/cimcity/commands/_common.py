"""Helpers shared by the sub-commands: exit codes, the scene to work on and the
validation of closed choices (so a typo exits 2 at once, naming the valid
values, before any file is read).

Exit codes of every ``cimcity`` command
---------------------------------------
0 (:data:`EXIT_OK`)
    Done: every result asked for was computed (and, for ``check``, every
    checkable rule passes).
1 (:data:`EXIT_FAILED`)
    ``check``: a rule fails; ``demo``: a step failed.
2 (:data:`EXIT_INPUT`)
    Bad input: unknown choice, missing or unreadable file, refused data,
    options that contradict each other. One line on stderr says which.
3 (:data:`EXIT_NO_RESULT`)
    Valid input, but there is nothing to compute for the question asked, e.g.
    ``shadow --time 03:00`` (the sun is below the horizon at every asked time).
    One line on stderr says why.
70 (:data:`EXIT_BUG`)
    An internal error: cimcity prints the traceback and asks for a report.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cimcity as cc
from cimcity.errors import InputError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT = 2
EXIT_NO_RESULT = 3
EXIT_BUG = 70

#: text appended to every command's help (``cimcity COMMAND --help``)
EXIT_CODES_HELP = """exit codes:
  0   done
  2   bad input: unknown choice, missing or unreadable file, contradictory
      options (one line on stderr says which)
  3   nothing to compute for the question asked (one line on stderr says why,
      e.g. the sun is below the horizon at every --time)
  70  internal error (a traceback: please report it)"""

#: ray engines of ``--engine`` (cimcity.raycast.engines)
ENGINES = ("auto", "numba", "embree")
#: surface kinds of ``--surfaces``, in their one order (cimcity.sun.sensors.SURFACES)
SURFACES = ("roof", "wall", "ground")
#: views of ``--camera`` (cimcity.render.CAMERAS)
CAMERAS = ("iso", "top", "south", "north", "east", "west", "street")
#: the bundled sample's name, in messages
SAMPLE = "the bundled synthetic sample district"


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the paragraphs of a command's description and epilog."""


def add_scene_arguments(parser, *, what: str = "building footprints") -> None:
    """``--buildings`` / ``--sample`` / ``--dem`` / ``--id-column``: the scene to
    analyse. One of ``--buildings`` and ``--sample`` is required (checked by
    :func:`load_scene`, which gives the one-line reason)."""
    parser.add_argument(
        "--buildings",
        metavar="FILE",
        help=f"{what}: BD TOPO, BDNB, OSM GeoJSON, GeoParquet or any vector file "
        "(this or --sample is required)",
    )
    parser.add_argument(
        "--sample",
        action="store_true",
        help=f"run on {SAMPLE} (Paris 17e-like, Lambert-93) instead of --buildings",
    )
    parser.add_argument(
        "--id-column",
        metavar="COLUMN",
        help="column of --buildings holding the building ids (default: the one the "
        "reader recognises, e.g. BDNB batiment_c, BD TOPO cleabs); 'none': "
        "generated ids",
    )
    parser.add_argument("--dem", metavar="FILE", help="DEM GeoTIFF (with --buildings)")


def check_scene_arguments(args) -> None:
    """Refuse a missing or contradictory scene choice (``InputError``, exit 2)."""

    buildings = getattr(args, "buildings", None)
    sample = getattr(args, "sample", False)
    if buildings and sample:
        raise InputError("give --buildings FILE or --sample, not both")
    if not buildings and not sample:
        raise InputError(
            f"give --buildings FILE or --sample ({SAMPLE}); no scene to analyse"
        )
    if sample:
        for flag in ("dem", "id_column"):
            if getattr(args, flag, None):
                raise InputError(
                    f"--{flag.replace('_', '-')} goes with --buildings, not --sample"
                )
    elif getattr(args, "project", False):
        raise InputError(
            "--project swaps in the IFC project of the bundled sample: it needs "
            "--sample (use `cimcity check` for your own IFC)"
        )


def load_scene(args, project: bool = True):
    """The scene the command runs on: the given footprints (and DEM) in
    Lambert-93, or the bundled sample (``--sample``) with its IFC project
    registered when ``project`` is true. Neither, or both: ``InputError``."""

    check_scene_arguments(args)
    if args.buildings:
        scene = cc.Scene()
        if getattr(args, "dem", None):
            scene.add_terrain(cc.read_dem(args.dem, crs=scene.crs))
        add_buildings(scene, args)
        return scene
    return cc.datasets.load("paris", project=project)


def add_buildings(scene, args) -> None:
    """Read ``--buildings`` with ``--id-column`` into ``scene`` (``none``:
    generated ids, even where the file has an id column)."""

    column = getattr(args, "id_column", None)
    kw = {}
    if column:
        kw["id_column"] = False if column.lower() == "none" else column
    scene.add_buildings(
        cc.read_buildings(args.buildings, crs=scene.crs, **kw),
        id_column=False if kw.get("id_column") is False else None,
    )


# -- argparse types: closed sets exit 2 naming the valid values ------------------------
def surfaces_type(text: str) -> tuple:
    """``--surfaces roof,wall``: names among :data:`SURFACES`, in their order."""
    names = [s.strip().lower() for s in str(text).split(",") if s.strip()]
    bad = [s for s in names if s not in SURFACES]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown surface {bad[0] if bad else text!r}; expected a comma-separated "
            f"list among {', '.join(SURFACES)}"
        )
    return tuple(s for s in SURFACES if s in names)


def patches_type(text: str) -> str:
    """``--patches`` / ``--sun-bins``: tregenza, reinhart, reinhartN or N (N >= 1)."""
    t = str(text).strip().lower()
    n = t[8:] if t.startswith("reinhart") else t
    if t in ("tregenza", "reinhart") or (n.isdigit() and int(n) >= 1):
        return t if not t.isdigit() else f"reinhart{int(t)}"
    raise argparse.ArgumentTypeError(
        f"unknown sky subdivision {text!r}; expected tregenza (145 patches), "
        "reinhart (577), reinhartN (MF:N, N >= 1) or an integer N"
    )


def placement_type(text):
    """``--placement x,y,z[,rotation_deg]`` as a tuple of 3 or 4 floats (metres
    in the scene CRS, degrees counter-clockwise from east); None stays None.

    Raises
    ------
    InputError
        Not 3 or 4 numbers.
    """
    if text is None:
        return None
    try:
        vals = [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError:
        vals = []
    if len(vals) not in (3, 4):
        raise InputError(
            f"--placement must be x,y,z or x,y,z,rotation_deg (numbers, metres and "
            f"degrees); got {text!r}"
        )
    return tuple(vals)


def positive_float(text: str) -> float:
    """A finite number > 0 (spacings [m])."""
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not (v > 0 and v < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text!r}")
    return v


def output_file(name: str, suffixes, what: str) -> str:
    """Check a file name's suffix against those accepted (``InputError``)."""


    suffix = Path(name).suffix.lower()
    if suffix not in suffixes:
        raise InputError(
            f"cannot write {what} {name!r}: unknown file type {suffix or '(none)'!r}; "
            f"expected one of {', '.join(suffixes)}"
        )
    return name
