"""``cimcity render``: offscreen PNG of the sample or of given layers."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("render", help="render a scene to a PNG (offscreen)")
    p.add_argument("--buildings", help="building footprints file (default: the bundled sample)")
    p.add_argument("--dem", help="DEM GeoTIFF (optional)")
    p.add_argument("--color-by", default=None, help="'height' or a numeric building column")
    p.add_argument("--camera", default="iso", choices=["iso", "top", "south", "north", "street"])
    p.add_argument("--project", action="store_true", help="swap the sample's IFC project in")
    p.add_argument("--out", default="scene.png", help="output PNG (default: scene.png)")
    p.set_defaults(func=run)


def run(args) -> int:
    import cimcity as cc
    from cimcity import render

    if args.buildings:
        scene = cc.Scene()
        if args.dem:
            scene.add_terrain(cc.read_dem(args.dem, crs=scene.crs))
        scene.add_buildings(cc.read_buildings(args.buildings, crs=scene.crs))
    else:
        scene = cc.datasets.load("paris", project=args.project)
        if args.project and scene.projects:
            scene = scene.with_project(next(iter(scene.projects.values())))
    path = render.snapshot(scene, Path(args.out), color_by=args.color_by, camera=args.camera)
    print(f"{scene!r}\nwrote {path}")
    return 0
