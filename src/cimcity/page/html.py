"""The interactive 3D page: one self-contained HTML file built on three.js.

The page holds everything it needs: the three.js viewer (``_bundle.js``, built
from ``js/app.js`` with esbuild and committed: ``cd src/cimcity/page/js && npm
ci && npm run build``), the scene as GLB models (:mod:`cimcity.io.gltf`,
base64; the "after" model has only the buildings and the project, the ground
layers are shared), the sun directions of the day (:func:`cimcity.sun.position.sun_table`,
grid frame) and every text in the page's language (:mod:`cimcity.i18n`). It
opens offline on a laptop (file://) and inline in Jupyter (``srcdoc`` iframe);
it fetches nothing.

Written here (not by a library) only the glue: the config the viewer reads and
the values of a result per building.
"""

from __future__ import annotations

import base64
import html as _html
import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .. import i18n
from ..errors import InputError
from ..io.gltf import (
    PALETTE,
    UNKNOWN_COLOR,
    colour_stops,
    glb_bytes,
    read_glb_json,
    write_glb,
)
from ..sun.position import as_stamp, sun_table

__all__ = ["to_html", "result_values", "sun_steps_of_day", "PAGE_SUFFIXES"]

#: suffixes of the pages :func:`to_html` writes
PAGE_SUFFIXES = (".html", ".htm")
#: minutes between two positions of the time slider
TIME_STEP_MIN = 30
#: sun positions lower than this are left off the slider [deg]
MIN_SUN_ELEVATION = 3.0

i18n.add_terms(
    {
        "page_view": ("View", "Vue"),
        "page_layers": ("Layers", "Couches"),
        "page_flood_water": ("Flood water", "Eau de crue"),
        "page_analysis_colours": ("Analysis colours", "Couleurs de l'analyse"),
        "page_play": ("Play", "Lecture"),
        "page_pause": ("Pause", "Pause"),
        "page_hint": (
            "Click a building to see its attributes",
            "Cliquez sur un bâtiment pour voir ses informations",
        ),
        "page_help": (
            "Drag to turn · right-drag to move · wheel to zoom",
            "Glisser pour tourner · clic droit pour déplacer · molette pour zoomer",
        ),
        "page_close": ("Close", "Fermer"),
        "page_identifier": ("Identifier", "Identifiant"),
        "page_use": ("Use", "Usage"),
        "page_role": ("Kind", "Nature"),
        "page_ground_altitude": ("Ground altitude", "Altitude du sol"),
        "page_roof_altitude": ("Roof top altitude", "Altitude du toit"),
        "page_height_source": ("Height from", "Origine de la hauteur"),
        "page_roofs": ("Roofs", "Toits"),
        "page_facades": ("Facades", "Façades"),
        "page_green": ("Lawns and planting", "Pelouses et plantations"),
        "page_shadows_of": ("Shadows on {date}", "Ombres du {date}"),
        "page_sun_at": (
            "Sun {elevation}° above the horizon, azimuth {azimuth}°",
            "Soleil à {elevation}° au-dessus de l'horizon, azimut {azimuth}°",
        ),
        "page_no_project": ("No project in this page", "Pas de projet dans cette page"),
        "page_project_unanalysed": (
            "Project (not in the analysis)", "Projet (hors de l'analyse)"
        ),
        "page_default_title": ("3D view of the scene", "Vue 3D de la scène"),
    },
    units={"page_ground_altitude": "m NGF", "page_roof_altitude": "m NGF"},
)

#: the quantities a result gives per building, and how (see :func:`result_values`)
_RESULT_COLUMNS = (
    ("sun_hours", "sun_hours"),
    ("irradiation", "irradiation"),
    ("flooded_storeys", "flooded_storeys"),
    ("max_water_depth", "water_depth"),
)


def write_result_glb(result, path, *, scene=None, **kwargs) -> Path:
    """A result's scene as GLB, each building coloured by the result's value.

    ``Result.to_file("x.glb")`` calls it: one node per building named by its id,
    the value in the node's extras under its quantity ("sun_hours",
    "irradiation", "flooded_storeys"), vertex colours from the value.

    Parameters
    ----------
    result : Result
        A sun-hours, solar or flood-exposure result (:func:`result_values`).
    path : str or Path
        ``.glb`` file.
    scene : Scene, optional
        For results that keep no scene.
    **kwargs
        As :func:`cimcity.io.gltf.write_glb` (``cmap``, ``clim``…).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        A result with no scene (and none given) or no per-building value.
    """
    scene = scene if scene is not None else getattr(result, "scene", None)
    if scene is None:
        raise InputError(
            f"{type(result).__name__} keeps no scene to draw; pass scene= "
            "(cimcity.page.write_result_glb(result, path, scene=...))"
        )
    values, quantity = result_values(result)
    return write_glb(scene, path, values=values, quantity=quantity, **kwargs)


def result_values(result):
    """Per-building values of an analysis result, and their quantity.

    Sun-hours: the area-weighted mean over each building's roof and wall
    sensors [h]; irradiation: the roof mean (``by_building["roof_mean"]``)
    [kWh/m²]; flood exposure: ``flooded_storeys`` of each building.

    Parameters
    ----------
    result : Result
        A sun-hours, solar or flood-exposure result.

    Returns
    -------
    values : pandas.Series
        Indexed by building id; NaN where unknown.
    quantity : str
        An :mod:`cimcity.i18n` key (``"sun_hours"``, ``"irradiation"``,
        ``"flooded_storeys"``).

    Raises
    ------
    InputError
        A result with no per-building value (pass ``values=`` and
        ``quantity=`` to :func:`to_html` instead).
    """
    sensors = getattr(result, "sensors", None)
    if isinstance(sensors, pd.DataFrame) and "building_id" in sensors:
        S = (
            sensors[sensors["kind"].isin(["roof", "wall"])]
            if "kind" in sensors
            else sensors
        )
        for col, quantity in (("sun_hours", "sun_hours"),):
            if col in S and "area" in S:
                a = S["area"].to_numpy(float)
                v = S[col].to_numpy(float)
                ok = np.isfinite(v) & np.isfinite(a)
                df = pd.DataFrame(
                    {
                        "id": S["building_id"].to_numpy(),
                        "wv": np.where(ok, v * a, 0.0),
                        "a": np.where(ok, a, 0.0),
                    }
                )
                g = df.groupby("id", sort=True).sum()
                with np.errstate(invalid="ignore", divide="ignore"):
                    out = g["wv"] / g["a"].where(g["a"] > 0)
                return out.astype(float), quantity
    by = getattr(result, "by_building", None)
    if isinstance(by, pd.DataFrame) and "roof_mean" in by:
        return by["roof_mean"].astype(float), "irradiation"
    tables = result.tables() if hasattr(result, "tables") else {}
    B = tables.get("buildings")
    if isinstance(B, pd.DataFrame):
        for col, quantity in _RESULT_COLUMNS:
            if col in B:
                s = B[col]
                if "building_id" in B:
                    s = s.set_axis(B["building_id"].to_numpy())
                return pd.to_numeric(s, errors="coerce").astype(float), quantity
    raise InputError(
        f"{type(result).__name__} has no value per building the page can colour by; "
        "give values= (a Series by building id) and quantity= instead"
    )


def result_day(result):
    """The day a result studied (first time step of ``result.steps``), or None."""
    steps = getattr(result, "steps", None)
    if isinstance(steps, pd.DataFrame) and len(steps):
        first = steps["start"].iloc[0] if "start" in steps else steps.index[0]
        if isinstance(first, pd.Timestamp):
            return (
                first.tz_localize(None).normalize()
                if first.tzinfo
                else first.normalize()
            )
    return None


def sun_steps_of_day(scene, day, lang=None) -> dict:
    """Sun directions over a day for the page's time slider.

    Parameters
    ----------
    scene : Scene
    day : date-like
        The local day (Europe/Paris when naive).

    Returns
    -------
    dict
        ``title`` ("Ombres du 21 mars 2026"), ``steps`` (one per
        :data:`TIME_STEP_MIN` minutes with the sun higher than
        :data:`MIN_SUN_ELEVATION`: ``label`` "HH:MM", ``dir`` unit vector
        toward the sun in the scene's grid frame (east, north, up),
        ``elevation``, ``azimuth`` [deg]) and ``default_index`` (closest to
        the highest sun).
    """
    d = as_stamp(day).normalize()
    times = pd.date_range(
        d, d + pd.Timedelta(days=1), freq=f"{TIME_STEP_MIN}min", inclusive="left"
    )
    S = sun_table(scene, times)
    S = S[S["elevation"] > MIN_SUN_ELEVATION]
    steps = [
        {
            "label": f"{t:%H:%M}",
            "dir": [float(r.sx), float(r.sy), float(r.sz)],
            "elevation": float(r.elevation),
            "azimuth": float(r.azimuth),
        }
        for t, r in S.iterrows()
    ]
    best = int(np.argmax(S["elevation"].to_numpy())) if len(S) else 0
    title = i18n.term("page_shadows_of", lang, date=i18n.format_date(d, lang))
    return {"title": title, "steps": steps, "default_index": best}


def _hex(rgba) -> str:
    return "#" + "".join(f"{int(c):02x}" for c in rgba[:3])


def _project_unanalysed(after, values) -> bool:
    """True when per-building ``values`` give no value to a project of
    ``after`` (an analysis run on the scene before it)."""
    if after is None or not isinstance(values, pd.Series):
        return False
    for pid in after.projects:
        v = values.get(pid, np.nan)
        if not np.isfinite(pd.to_numeric(v, errors="coerce")):
            return True
    return False


def _after_scene(scene, project):
    """The "after" scene of ``project``: a Scene as is, a BimModel swapped in."""
    if project is None:
        return None
    if hasattr(project, "buildings") and hasattr(project, "mesh"):
        return project
    if hasattr(project, "footprint"):
        return scene.with_project(project)
    if isinstance(project, str) and project in scene.projects:
        return scene.with_project(scene.projects[project])
    raise InputError(
        f"project={project!r} is neither a Scene, a BimModel nor the id of one of "
        f"scene.projects {list(scene.projects)}"
    )


def _default_day():
    """21 March of this year: the equinox, the day of the usual shadow studies."""
    return pd.Timestamp(year=pd.Timestamp.now().year, month=3, day=21)


def build_config(
    scene,
    *,
    result=None,
    values=None,
    quantity=None,
    project=None,
    day=None,
    lang=None,
    title=None,
    subtitle=None,
    cmap=None,
    clim=None,
    flood=None,
):
    """The page's config (models, texts, sun, legend) as a dict; see :func:`to_html`."""
    code = i18n.resolve(lang)
    if result is not None and values is None:
        values, q = result_values(result)
        quantity = quantity or q
        if day is None:
            day = result_day(result)
    after = _after_scene(scene, project)
    q = quantity or "value"
    kw = dict(values=values, quantity=q, cmap=cmap, clim=clim)
    before_glb = glb_bytes(scene, flood=flood, **kw)
    asset = read_glb_json(before_glb)["asset"]["extras"]
    origin = asset["origin"]
    after_glb = None
    if after is not None:
        # same origin and colour limits as the "before": one frame, one legend
        kw["clim"] = asset.get("clim") or clim
        after_glb = glb_bytes(
            after, layers=("buildings", "project"), origin=origin, **kw
        )

    def lab(key):
        try:
            return i18n.label(key, code)
        except KeyError:
            return key

    scale = None
    if values is not None and asset.get("clim"):
        lo, hi = asset["clim"]
        scale = {
            "title": lab(q),
            "stops": colour_stops(asset["cmap"]),
            "lo": lo,
            "hi": hi,
            "unknown_color": _hex(UNKNOWN_COLOR),
            "unknown_label": i18n.term("unknown", code),
        }
    has_project = bool(scene.projects) or after is not None
    swatches = []
    if scale is None:
        swatches += [
            {
                "key": "roof",
                "color": _hex(PALETTE["roof"]),
                "label": i18n.term("page_roofs", code),
            },
            {
                "key": "wall",
                "color": _hex(PALETTE["wall"]),
                "label": i18n.term("page_facades", code),
            },
        ]
    if has_project:
        # coloured by values that do not cover the project: white (io.gltf)
        unanalysed = scale is not None and _project_unanalysed(after, values)
        swatches.append(
            {
                "key": "project",
                "color": _hex(PALETTE["project_unanalysed" if unanalysed else "project"]),
                "label": i18n.term(
                    "page_project_unanalysed" if unanalysed else "project", code
                ),
            }
        )
    kinds = (
        set(scene.vegetation["kind"].astype(str)) if len(scene.vegetation) else set()
    )
    if "tree" in kinds:
        swatches.append(
            {
                "key": "trees",
                "color": _hex(PALETTE["crown"]),
                "label": i18n.term("trees", code),
            }
        )
    if "water" in scene.layers and len(scene.layers["water"]):
        swatches.append(
            {
                "key": "water",
                "color": _hex(PALETTE["water"]),
                "label": i18n.term("water", code),
            }
        )
    if flood is not None and flood.n_cells:
        swatches.append(
            {
                "key": "flood",
                "color": _hex(PALETTE["flood"]),
                "label": i18n.term("page_flood_water", code),
            }
        )
    if "roads" in scene.layers and len(scene.layers["roads"]):
        swatches.append(
            {
                "key": "roads",
                "color": _hex(PALETTE["roads"]),
                "label": i18n.term("roads", code),
            }
        )

    layers = [{"key": "buildings", "label": i18n.term("buildings", code), "on": True}]
    if has_project:
        layers.append(
            {"key": "project", "label": i18n.term("project", code), "on": True}
        )
    if scale is not None:
        layers.append(
            {
                "key": "analysis",
                "label": i18n.term("page_analysis_colours", code),
                "on": True,
            }
        )
    if len(scene.vegetation):
        layers.append({"key": "trees", "label": i18n.term("trees", code), "on": True})
        layers.append(
            {"key": "green", "label": i18n.term("page_green", code), "on": True}
        )
    if flood is not None and flood.n_cells:
        layers.append(
            {"key": "flood", "label": i18n.term("page_flood_water", code), "on": True}
        )
    for key in ("water", "roads"):
        if key in scene.layers and len(scene.layers[key]):
            layers.append({"key": key, "label": i18n.term(key, code), "on": True})
    if len(scene.parcels):
        layers.append(
            {"key": "parcels", "label": i18n.term("parcels", code), "on": True}
        )

    attributes = [
        {"key": "id", "label": i18n.term("page_identifier", code)},
        {"key": "role", "label": i18n.term("page_role", code)},
        {"key": "height", "label": lab("height")},
        {"key": "storeys", "label": i18n.term("storeys", code)},
        {"key": "use", "label": i18n.term("page_use", code)},
        {"key": "ground_z", "label": lab("page_ground_altitude")},
        {"key": "roof_z", "label": lab("page_roof_altitude")},
    ]
    if values is not None and q not in {a["key"] for a in attributes}:
        attributes.append({"key": q, "label": lab(q)})

    n = len(scene.buildings)
    sub = subtitle
    if sub is None:
        word = i18n.term("buildings" if n != 1 else "building", code).lower()
        sub = f"{n} {word} · {scene.crs.to_string()}"
    text = {
        "view": i18n.term("page_view", code),
        "layers": i18n.term("page_layers", code),
        "before": i18n.term("today", code),
        "after": i18n.term("with_project", code),
        "play": i18n.term("page_play", code),
        "pause": i18n.term("page_pause", code),
        "hint": i18n.term("page_hint", code),
        "help": i18n.term("page_help", code),
        "close": i18n.term("page_close", code),
        "unknown": i18n.term("unknown", code),
        "building": i18n.term("building", code),
        "project": i18n.term("project", code),
        "sun_at": i18n.term("page_sun_at", code),
        "no_project": i18n.term("page_no_project", code),
    }
    return {
        "lang": code,
        "title": title or scene.name or i18n.term("page_default_title", code),
        "subtitle": sub,
        "text": text,
        "models": {
            "before": base64.b64encode(before_glb).decode("ascii"),
            "after": base64.b64encode(after_glb).decode("ascii") if after_glb else None,
        },
        "origin": origin,
        "view": "after" if after is not None else "before",
        "focus_project": has_project,
        "sun": sun_steps_of_day(
            scene, day if day is not None else _default_day(), code
        ),
        "legend": {"scale": scale, "swatches": swatches},
        "layers": layers,
        "attributes": attributes,
        "quantity": q if values is not None else None,
    }


def _script_safe(text: str) -> str:
    """Text that cannot close the ``<script>`` element it sits in."""
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def render_page(config: dict) -> str:
    """The HTML of a page from its config (:func:`build_config`)."""
    pkg = resources.files("cimcity.page")
    template = (pkg / "template.html").read_text(encoding="utf-8")
    bundle = (pkg / "_bundle.js").read_text(encoding="utf-8")
    payload = json.dumps(
        config, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )
    return (
        template.replace("__CIMCITY_LANG__", config["lang"])
        .replace("__CIMCITY_TITLE__", _html.escape(config["title"]))
        .replace("__CIMCITY_CONFIG__", _script_safe(payload))
        .replace("__CIMCITY_BUNDLE__", bundle.replace("</script", "<\\/script"))
    )


def to_html(
    scene,
    path=None,
    *,
    result=None,
    values=None,
    quantity=None,
    project=None,
    day=None,
    lang=None,
    title=None,
    subtitle=None,
    cmap=None,
    clim=None,
    flood=None,
) -> str:
    """The interactive 3D page of a scene: one HTML file, offline, three.js.

    Orbit, pan and zoom; click a building for its attributes (id, height,
    storeys, use, analysis value); toggle layers (buildings, project,
    analysis colours, trees, lawns, water, roads, parcels); switch between
    today and with the project; play the shadows of a day with the time
    slider; a legend with units. Texts in ``lang``.

    Parameters
    ----------
    scene : Scene
        The scene today (the "before").
    path : str or Path, optional
        Write the page there (``.html``/``.htm``; folders created).
    result : Result, optional
        An analysis whose per-building values colour the buildings
        (:func:`result_values`: sun hours [h], roof irradiation [kWh/m²],
        flooded storeys).
    values : pandas.Series or (m,) float, optional
        Values by building id (or per face of ``scene.mesh(terrain=False)``)
        instead of a result; NaN is unknown (grey).
    quantity : str, optional
        The :mod:`cimcity.i18n` key of ``values`` (legend title with unit).
    project : BimModel, Scene or str, optional
        The project: a BIM model swapped in with ``scene.with_project``, the
        "after" scene itself, or the id of one of ``scene.projects``. None: no
        before/after switch.
    day : date-like, optional
        The day of the shadows (default: 21 March of this year); naive dates
        are Europe/Paris.
    lang : {"fr", "en"}, optional
        Default: :func:`cimcity.i18n.get_language`.
    title, subtitle : str, optional
        Shown at the top left (default: the scene's name; its building count
        and CRS).
    cmap, clim
        Colour map and limits of the values (:func:`cimcity.io.gltf.value_colors`).
    flood : FloodResult, optional
        A flood (:func:`cimcity.flood.extent`) drawn as a water surface at its
        level, a layer the reader can switch off ("Eau de crue").

    Returns
    -------
    str
        The page's HTML (also written to ``path`` when given).

    Raises
    ------
    InputError
        ``path`` with another suffix; a result without per-building values;
        a ``project`` that is none of the accepted kinds.
    """
    if path is not None:
        path = Path(path)
        if path.suffix.lower() not in PAGE_SUFFIXES:
            raise InputError(
                f"a page is written to {' or '.join(PAGE_SUFFIXES)}; got {path.name!r}"
            )
    config = build_config(
        scene,
        result=result,
        values=values,
        quantity=quantity,
        project=project,
        day=day,
        lang=lang,
        title=title,
        subtitle=subtitle,
        cmap=cmap,
        clim=clim,
        flood=flood,
    )
    page = render_page(config)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
    return page
