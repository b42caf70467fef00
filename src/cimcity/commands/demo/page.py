"""Demo step: the interactive 3D page of the project in its street (today / with
the project, the shadows of 21 March in French, of 21 December in English) and
the exports of the scene with the project: GLB, OBJ and a 3D Tiles tileset
(heights to the ellipsoid with PROJ's IGN grid, else EGM96 with a warning the
demo prints)."""

from __future__ import annotations

import warnings

from cimcity import page
from cimcity.errors import CimcityError, CimcityWarning
from cimcity.io import gltf, obj, tiles3d


def run(scene, out, echo) -> dict:
    files = []
    project = next(iter(scene.projects), None)
    if project is None:
        echo("  the sample has no IFC project (ifcopenshell missing): page without it")
    after = scene.with_project(scene.projects[project]) if project else scene
    for day, lang, title in (
        ("2026-03-21", "fr", "Le projet dans sa rue"),
        ("2026-12-21", "en", "The project in its street"),
    ):
        path = out / f"page_{lang}.html"
        page.to_html(scene, path, project=project, day=day, lang=lang, title=title)
        files.append(path)
    files.append(gltf.write_glb(after, out / "scene_with_project.glb"))
    files.append(obj.write_obj(after, out / "scene_with_project.obj"))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CimcityWarning)
            files.append(tiles3d.write_tiles3d(after, out / "tiles3d"))
        for w in caught:
            echo(f"  note: {w.message}")
        files.append(out / "tiles3d" / tiles3d.CONTENT_NAME)
    except CimcityError as exc:  # no geoid grid at all: the other exports stand
        echo(f"  no 3D Tiles: {exc}")
    size = sum(f.stat().st_size for f in files) / 1e6
    echo(
        f"  2 pages (today / with the project; shadows of 21 March in French, of "
        f"21 December in English) and the exports (GLB, OBJ, 3D Tiles): {size:.1f} MB"
    )
    for f in files:
        echo(f"  wrote {f}")
    return {"files": [str(f) for f in files], "project": project}
