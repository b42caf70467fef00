"""``cimcity render``: offscreen PNG of the sample or of given layers."""

from __future__ import annotations

from pathlib import Path

from ._common import add_scene_arguments, load_scene


def register(sub) -> None:
    p = sub.add_parser("render", help="render a scene to a PNG (offscreen)")
    add_scene_arguments(p)
    p.add_argument("--color-by", default=None, help="'height' or a numeric building column")
    p.add_argument("--camera", default="iso", choices=["iso", "top", "south", "north", "street"])
    p.add_argument("--project", action="store_true", help="swap the sample's IFC project in")
    p.add_argument("--out", default="scene.png", help="output PNG (default: scene.png)")
    p.set_defaults(func=run)


def run(args) -> int:
    from cimcity import render

    scene = load_scene(args, project=args.project)
    if args.project and scene.projects:
        scene = scene.with_project(next(iter(scene.projects.values())))
    path = render.snapshot(scene, Path(args.out), color_by=args.color_by, camera=args.camera)
    print(f"{scene!r}\nwrote {path}")
    return 0
