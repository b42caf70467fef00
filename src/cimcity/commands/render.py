"""``cimcity render``: an offscreen picture or an interactive 3D page of a scene.

A picture is a named view (``--camera``), a view framing the project with its
neighbours (``--focus project``) or a pedestrian's view (``--eye X,Y
--heading DEG``: standing at X, Y [m, scene CRS] on the ground, eyes 1.6 m
up, looking toward the heading, degrees clockwise from grid north).
"""

from __future__ import annotations

import sys
from pathlib import Path

from cimcity import render
from cimcity.page import to_html as page_to_html

from ._common import (
    CAMERAS,
    EXIT_CODES_HELP,
    Formatter,
    add_scene_arguments,
    check_scene_arguments,
    load_scene,
    output_file,
)

#: pictures (cimcity.render.IMAGE_SUFFIXES) and pages (cimcity.render.PAGE_SUFFIXES)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
PAGE_SUFFIXES = (".html", ".htm")


def register(sub) -> None:
    p = sub.add_parser(
        "render",
        help="render a scene to a picture (PNG, JPEG...) or an interactive 3D page",
        formatter_class=Formatter,
        description="Render given building footprints (--buildings) or the bundled "
        "sample (--sample) offscreen.\n\nThe suffix of --out chooses the output: "
        f"{', '.join(IMAGE_SUFFIXES)} a picture from --camera; "
        f"{', '.join(PAGE_SUFFIXES)} a self-contained interactive 3D page (WebGL, "
        "no internet needed; orbit, pan and zoom replace --camera).",
        epilog=EXIT_CODES_HELP,
    )
    add_scene_arguments(p)
    p.add_argument(
        "--color-by", default=None, help="'height' or a numeric building column"
    )
    p.add_argument(
        "--camera",
        default=None,
        choices=CAMERAS,
        help="view of a picture (default iso)",
    )
    p.add_argument(
        "--eye",
        default=None,
        metavar="X,Y",
        help="picture: an eye-level view from this point [m, scene CRS], 1.6 m above "
        "the ground (replaces --camera)",
    )
    p.add_argument(
        "--heading",
        default=None,
        type=float,
        metavar="DEG",
        help="with --eye: direction of the view [deg clockwise from grid north; "
        "default 0, north]",
    )
    p.add_argument(
        "--focus",
        default=None,
        choices=("project",),
        help="picture: frame the project with its neighbours (needs --project)",
    )
    p.add_argument(
        "--project", action="store_true", help="with --sample: swap its IFC project in"
    )
    p.add_argument(
        "--day",
        default=None,
        help="page: the day whose shadows the time slider plays (YYYY-MM-DD, "
        "default 21 March)",
    )
    p.add_argument(
        "--lang",
        default=None,
        choices=("fr", "en"),
        help="language of the page's controls and legend, of a picture's colour bar "
        "(default CIMCITY_LANG or fr)",
    )
    p.add_argument(
        "--out",
        default="scene.png",
        help=f"output file (default scene.png): {', '.join(IMAGE_SUFFIXES)} or "
        f"{', '.join(PAGE_SUFFIXES)}",
    )
    p.set_defaults(func=run)


def _error(message: str) -> int:
    print(f"cimcity render: error: {message}", file=sys.stderr)
    return 2


def _view_errors(args):
    """(error message or None, eye (x, y) or None) of the view options."""
    eye = None
    if args.eye is not None:
        try:
            eye = tuple(float(v) for v in args.eye.split(","))
        except ValueError:
            eye = ()
        if len(eye) != 2 or not all(map(lambda v: v == v and abs(v) != float("inf"), eye)):
            return f"--eye {args.eye!r} is not X,Y in metres (e.g. --eye 649850,6865480)", None
        if args.camera:
            return "--eye and --camera both choose the view: give one", None
        if args.focus:
            return "--eye and --focus both choose the view: give one", None
    elif args.heading is not None:
        return "--heading needs --eye X,Y (the point the view is taken from)", None
    if args.focus == "project" and not args.project:
        return "--focus project needs --project (the sample with its IFC project)", None
    return None, eye


#: how far outside the buildings' extent an eye may stand [m] (a street, a square)
EYE_REACH_M = 200.0


def _eye_problem(scene, eye):
    """Why the eye cannot be there (far from the scene, or inside a building), or None."""
    from shapely.geometry import Point

    x0, y0, x1, y1 = (float(v) for v in scene.bounds)
    r = EYE_REACH_M
    if not (x0 - r <= eye[0] <= x1 + r and y0 - r <= eye[1] <= y1 + r):
        return (
            f"--eye {eye[0]:.1f},{eye[1]:.1f} lies outside the scene (x {x0:.0f}..{x1:.0f}, "
            f"y {y0:.0f}..{y1:.0f} m in {scene.crs}, {r:.0f} m around); give a point in "
            "its CRS near its buildings"
        )
    inside = scene.buildings.index[scene.buildings.contains(Point(eye))]
    if len(inside):
        return (
            f"--eye {eye[0]:.1f},{eye[1]:.1f} lies inside building {inside[0]}; give a "
            "point in a street or an open space"
        )
    return None


def run(args) -> int:
    check_scene_arguments(args)  # before any import: a bad choice exits 2 at once
    output_file(args.out, IMAGE_SUFFIXES + PAGE_SUFFIXES, "--out")
    problem, eye = _view_errors(args)
    if problem:
        return _error(problem)

    page = Path(args.out).suffix.lower() in PAGE_SUFFIXES
    for name in ("camera", "eye", "focus"):
        if page and getattr(args, name):
            print(
                f"cimcity render: note: --{name} {getattr(args, name)} has no effect on "
                "an interactive page (its view is turned with the mouse)",
                file=sys.stderr,
            )
    scene = load_scene(args, project=args.project)
    if args.focus == "project" and not scene.projects:
        return _error(
            "--focus project: the scene has no project (the sample's IFC needs "
            "ifcopenshell: pip install 'cimcity[ifc]')"
        )
    camera = args.camera or "iso"
    if eye is not None and not page:
        problem = _eye_problem(scene, eye)
        if problem:
            return _error(problem)
        camera = {"eye": eye, "heading": 0.0 if args.heading is None else args.heading}
    title = Path(args.buildings).name if args.buildings else "cimcity sample district"
    if page:
        # the page keeps both scenes: today and with the project (a switch)
        project = next(iter(scene.projects.values())) if args.project and scene.projects else None
        if args.color_by and args.color_by not in scene.buildings:
            print(
                f"cimcity render: error: --color-by {args.color_by!r} is not a column of "
                "the buildings",
                file=sys.stderr,
            )
            return 2
        path = Path(args.out)
        page_to_html(
            scene,
            path,
            project=project,
            values=scene.buildings[args.color_by] if args.color_by else None,
            quantity=args.color_by,
            day=args.day,
            lang=args.lang,
            title=title,
        )
    else:
        if args.project and scene.projects:
            scene = scene.with_project(next(iter(scene.projects.values())))
        path = render.snapshot(
            scene,
            Path(args.out),
            color_by=args.color_by,
            camera=camera,
            focus=args.focus,
            lang=args.lang,
        )
    print(f"{scene!r}\nwrote {path}")
    return 0
