"""What a Scene holds, in numbers: the summary dict, the repr and the HTML card."""

from __future__ import annotations

import html

import numpy as np

#: keys of the HTML card, in display order
_CARD = (
    "crs",
    "vertical_datum",
    "zones",
    "parcels",
    "buildings",
    "vegetation",
    "extent_m",
    "height_min",
    "height_mean",
    "height_max",
    "footprint_area_m2",
    "height_sources",
    "ground_z_min",
    "ground_z_max",
    "ground_sources",
    "study_area",
    "layers",
    "projects",
    "terrain",
    "rules",
)


def shown(value):
    """A value as it reads in a message: numpy scalars as Python numbers and
    strings (``2.5``, not ``np.float64(2.5)``; NaN stays ``nan``), tuples and
    lists element by element; anything else unchanged."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return type(value)(shown(v) for v in value)
    return value


def summary(scene) -> dict:
    """Counts, extent [m], height and ground-altitude statistics [m] (with
    where the ground altitudes come from: ``ground_sources``) and the study
    area recorded by ``clip`` of ``scene``, as plain values."""
    B = scene.buildings
    b = scene.bounds
    out = {
        "crs": scene.crs.to_string(),
        "vertical_datum": scene.vertical_datum,
        "zones": len(scene.zones),
        "parcels": len(scene.parcels),
        "buildings": len(B),
        "vegetation": len(scene.vegetation),
        "layers": {k: len(v) for k, v in scene.layers.items()},
        "projects": list(scene.projects),
        "extent_m": (round(float(b[2] - b[0]), 1), round(float(b[3] - b[1]), 1))
        if np.isfinite(b[0])
        else None,
        "terrain": repr(scene.terrain) if scene.terrain is not None else None,
        "rules": getattr(scene.rules, "name", None)
        if scene.rules is not None
        else None,
    }
    if len(B):
        h = B["height"]
        out.update(
            height_min=round(float(h.min()), 2),
            height_mean=round(float(h.mean()), 2),
            height_max=round(float(h.max()), 2),
            footprint_area_m2=round(float(B.geometry.area.sum()), 1),
            height_sources=B["height_source"].value_counts().to_dict(),
        )
        if "ground_z" in B.columns:
            gz = B["ground_z"].to_numpy(float)
            ok = np.isfinite(gz)
            out.update(
                ground_z_min=round(float(gz[ok].min()), 2) if ok.any() else None,
                ground_z_max=round(float(gz[ok].max()), 2) if ok.any() else None,
            )
        if "ground_source" in B.columns:
            out["ground_sources"] = B["ground_source"].value_counts().to_dict()
    area = scene.meta.get("study_area")
    if area is not None:
        out["study_area"] = {
            "bounds": tuple(round(float(v), 1) for v in area.bounds),
            "area_m2": round(float(area.area), 1),
            "context_m": scene.meta.get("context_m"),
        }
    return out


def text(scene) -> str:
    """One-line description (the Scene's ``repr``)."""
    s = summary(scene)
    name = f" {scene.name!r}" if scene.name else ""
    h = (
        f", heights {s['height_min']}–{s['height_max']} m"
        if "height_min" in s
        else ""
    )
    return (
        f"<Scene{name} {s['crs']}: {s['zones']} zones, {s['parcels']} parcels, "
        f"{s['buildings']} buildings{h}, {s['vegetation']} vegetation, "
        f"{len(scene.layers)} layers, terrain={'yes' if scene.terrain is not None else 'no'}, "
        f"projects={s['projects']}>"
    )


def card(scene) -> str:
    """HTML card for Jupyter (the Scene's ``_repr_html_``)."""
    s = summary(scene)
    rows = []
    for k in _CARD:
        if k in s and s[k] not in (None, {}, []):
            rows.append(
                f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                f"<td style='text-align:left'>{html.escape(str(s[k]))}</td></tr>"
            )
    title = html.escape(scene.name or "Scene")
    return f"<div><b>cimcity.Scene</b> {title}<table>{''.join(rows)}</table></div>"
