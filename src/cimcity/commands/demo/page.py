"""Demo step: the interactive 3D page of the project in its street (today / with
the project, the shadows of 21 March in French, of 21 December in English) and the GLB of the scene."""

from __future__ import annotations

from cimcity import page
from cimcity.io import gltf


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
    size = sum(f.stat().st_size for f in files) / 1e6
    echo(
        f"  2 pages (today / with the project; shadows of 21 March in French, of "
        f"21 December in English) and the GLB: {size:.1f} MB"
    )
    for f in files:
        echo(f"  wrote {f}")
    return {"files": [str(f) for f in files], "project": project}
