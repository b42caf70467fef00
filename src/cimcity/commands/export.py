"""``cimcity export``: a scene as a file another 3D tool or a web viewer opens
(GLB, OBJ, 3D Tiles 1.1)."""

from __future__ import annotations

from pathlib import Path

from cimcity.scene import formats

from ._common import (
    EXIT_CODES_HELP,
    Formatter,
    add_scene_arguments,
    check_scene_arguments,
    load_scene,
)

#: what --out may name, and the writer each picks
OUTPUTS = ".glb (glTF 2.0 binary), .obj (Wavefront, .mtl beside it), " \
    "DIR/tileset.json or DIR (3D Tiles 1.1 for CesiumJS)"


def register(sub) -> None:
    p = sub.add_parser(
        "export",
        help="export a scene to GLB, OBJ or 3D Tiles",
        formatter_class=Formatter,
        description="Export given building footprints (--buildings) or the bundled "
        f"sample (--sample) as a 3D file.\n\nThe name of --out chooses the format: {OUTPUTS}.\n"
        "3D Tiles heights are above the WGS84 ellipsoid: NGF-IGN69 altitudes plus the "
        "geoid undulation, from PROJ's IGN grid (fr_ign_RAF20.tif) when installed, else "
        "from --geoid-undulation.",
        epilog=EXIT_CODES_HELP,
    )
    add_scene_arguments(p)
    p.add_argument(
        "--project", action="store_true", help="with --sample: swap its IFC project in"
    )
    p.add_argument("--out", required=True, help=f"output: {OUTPUTS}")
    p.add_argument(
        "--geoid-undulation",
        type=float,
        default=None,
        metavar="N",
        help="3D Tiles: geoid undulation N [m] (ellipsoidal height = altitude + N; "
        "about 44.6 in Paris) when PROJ has no IGN geoid grid",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    check_scene_arguments(args)  # before any import: a bad choice exits 2 at once
    writer = formats.writer_for(args.out)  # an unknown type exits 2 before loading
    scene = load_scene(args, project=args.project)
    if args.project and scene.projects:
        scene = scene.with_project(next(iter(scene.projects.values())))
    kwargs = {}
    if writer == "tiles3d" and args.geoid_undulation is not None:
        kwargs["geoid_undulation_m"] = args.geoid_undulation
    path = formats.write(writer, scene, Path(args.out), **kwargs)
    print(f"{scene!r}\nwrote {path}")
    return 0
