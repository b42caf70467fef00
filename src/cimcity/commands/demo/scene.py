"""Demo step: describe the scene, render it before/after the project."""

from __future__ import annotations

import numpy as np

from cimcity import i18n, render


def run(scene, out, echo) -> dict:

    s = scene.summary()
    B = scene.buildings
    echo(f"  {s['zones']} zones, {s['parcels']} parcels, {s['buildings']} buildings, "
         f"{s['vegetation']} vegetation polygons; extent {s['extent_m'][0]} x {s['extent_m'][1]} m")
    echo(f"  heights {s['height_min']}-{s['height_max']} m (mean {s['height_mean']} m); "
         f"footprints {s['footprint_area_m2']:.0f} m2; height sources {s['height_sources']}")
    echo(f"  terrain: {scene.terrain!r}")
    by_zone = (
        B.assign(footprint_m2=B.geometry.area)
        .groupby("zone_id")
        .agg(buildings=("height", "size"), mean_height_m=("height", "mean"),
             max_height_m=("height", "max"), footprint_m2=("footprint_m2", "sum"))
    )
    if len(scene.zones) and "libelle" in scene.zones.columns:
        by_zone.insert(0, "libelle", scene.zones["libelle"].reindex(by_zone.index).to_numpy())
    by_zone.round(2).to_csv(out / "buildings_by_zone.csv")
    table = B.drop(columns="geometry").assign(footprint_m2=B.geometry.area.round(1))
    table.to_csv(out / "buildings.csv")
    mesh = scene.mesh()
    echo(f"  mesh: {mesh.n_faces:,} triangles ({int(np.sum(mesh.face_building >= 0)):,} on buildings)")
    files = [render.snapshot(scene, out / "scene.png", title="cimcity sample district (Paris 17e-like)")]
    files.append(render.snapshot(scene, out / "scene_heights.png", color_by="height",
                                 scalar_title="height [m]", camera="top"))
    if scene.projects:
        pid = scene.meta.get("project_id") or next(iter(scene.projects))
        after = scene.with_project(scene.projects[pid])
        name = scene.projects[pid].name or pid
        files.append(render.compare(
            scene, after, out / "project_before_after.png", focus="project",
            titles=(i18n.term("today"), f"{i18n.term('with_project')} : {name}")))
        echo(f"  project {pid}: replaces {after.meta['replaced_buildings'] or 'nothing (vacant parcel)'} "
             f"on parcels {after.meta['project_parcels']}")
    for f in files:
        echo(f"  wrote {f}")
    echo("  wrote buildings.csv, buildings_by_zone.csv")
    return {"summary": s, "files": [str(f) for f in files]}
