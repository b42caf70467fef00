"""Helpers shared by the sub-commands: the scene to work on."""

from __future__ import annotations


def add_scene_arguments(parser) -> None:
    """``--buildings`` / ``--dem``: the scene to analyse (default: the bundled sample)."""
    parser.add_argument("--buildings", help="building footprints file (default: the bundled sample)")
    parser.add_argument("--dem", help="DEM GeoTIFF (optional, with --buildings)")


def load_scene(args, project: bool = True):
    """The scene the command runs on: the given footprints (and DEM) in
    Lambert-93, or the bundled sample with its IFC project registered when
    ``project`` is true."""
    import cimcity as cc

    if getattr(args, "buildings", None):
        scene = cc.Scene()
        if getattr(args, "dem", None):
            scene.add_terrain(cc.read_dem(args.dem, crs=scene.crs))
        scene.add_buildings(cc.read_buildings(args.buildings, crs=scene.crs))
        return scene
    return cc.datasets.load("paris", project=project)
