"""``cimcity render``: an offscreen picture or an interactive 3D page of a scene."""

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
        help="page: language of its controls and legend (default CIMCITY_LANG or fr)",
    )
    p.add_argument(
        "--out",
        default="scene.png",
        help=f"output file (default scene.png): {', '.join(IMAGE_SUFFIXES)} or "
        f"{', '.join(PAGE_SUFFIXES)}",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    check_scene_arguments(args)  # before any import: a bad choice exits 2 at once
    output_file(args.out, IMAGE_SUFFIXES + PAGE_SUFFIXES, "--out")


    page = Path(args.out).suffix.lower() in PAGE_SUFFIXES
    if page and args.camera:
        print(
            f"cimcity render: note: --camera {args.camera} has no effect on an "
            "interactive page (its view is turned with the mouse)",
            file=sys.stderr,
        )
    scene = load_scene(args, project=args.project)
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
            scene, Path(args.out), color_by=args.color_by, camera=args.camera or "iso"
        )
    print(f"{scene!r}\nwrote {path}")
    return 0
