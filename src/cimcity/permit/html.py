"""HTML report of a permit check: one self-contained page an instructor can file.

The page holds the project and parcel identification, the table of rules with
their status, and figures embedded as base64 PNG (:mod:`cimcity.permit.figures`):
a site plan (classified limits, worst distances), a street section with the
envelope (gabarit), 3D views of the project in its street (failing elements in
red, envelope drawn) and the neighbour shadow impact. It needs no network and no
script. Every function takes a :class:`~cimcity.permit.PermitReport` (read
through its attributes; this module does not import the report).
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from .. import __version__
from .figures import (
    impact_figures,
    plot_section,
    plot_site_plan,
    png,
    pyplot,
    render_views,
    section_data,
)

__all__ = ["RULE_LABELS", "report_card", "report_page", "results_table"]


#: readable names of the rules (English, with the French term instructors use)
RULE_LABELS = {
    "max_height": "Maximum height (hauteur plafond)",
    "max_eave_height": "Eave height (verticale de façade)",
    "max_altitude": "NGF ceiling (cote maximale)",
    "max_footprint_ratio": "Footprint ratio (emprise au sol)",
    "street_setback": "Street alignment / setback (implantation sur voie)",
    "side_setback": "Side limit (limite séparative latérale)",
    "rear_setback": "Rear limit (fond de parcelle)",
    "envelope": "Street envelope (gabarit-enveloppe)",
    "min_open_space_share": "Open space (espaces libres)",
    "min_pleine_terre_share": "Pleine terre",
    "min_green_share": "Green surfaces (surfaces végétalisées)",
    "min_biotope_coefficient": "Biotope coefficient (CBS)",
    "max_storeys": "Storeys (nombre de niveaux)",
    "max_floor_area_ratio": "Floor area ratio (surface de plancher)",
    "within_land": "Footprint within the land",
    "georeference": "Georeference",
    "zone": "PLU zone",
    "rules": "Rule pack",
    "land": "Land of the application",
    "neighbour_sun_hours": "Sun on neighbours (informative)",
}

_STATUS_STYLE = {
    "pass": ("#1b7f3b", "#e3f4e8", "PASS"),
    "fail": ("#b3261e", "#fbe4e2", "FAIL"),
    "maybe": ("#8a5a00", "#fff3d6", "CHECK"),
    "not_checkable": ("#555555", "#ececec", "NOT CHECKABLE"),
}

_CSS = """
body{font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:24px auto;
max-width:1180px;color:#1d1d1f;line-height:1.35;padding:0 16px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;
padding-bottom:4px}.sub{color:#666;font-size:13px}
.verdict{display:inline-block;padding:6px 14px;border-radius:6px;font-weight:700;font-size:18px;
margin:10px 0}.ok{background:#e3f4e8;color:#1b7f3b;border:1px solid #1b7f3b}
.ko{background:#fbe4e2;color:#b3261e;border:1px solid #b3261e}
.inc{background:#fff3d6;color:#6b4700;border:1px solid #8a5a00}
.problems{background:#fff3d6;border:1px solid #8a5a00;border-radius:6px;padding:8px 14px;
margin:10px 0;font-size:13px}.problems b{color:#6b4700}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #d8d8d8;
padding:5px 7px;vertical-align:top;text-align:left}th{background:#f4f4f6}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 6px;border-radius:4px;font-weight:700;font-size:11px;
white-space:nowrap}.ids{font-family:monospace;font-size:11px;color:#444;word-break:break-all}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:8px 24px}
.kv th{width:38%}figure{margin:12px 0}figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:12px;color:#555}.note{font-size:12px;color:#555}
"""


# ---------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------
def _num(v, unit) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    if unit == "ratio":
        return f"{v:.3f}"
    if unit == "storeys":
        return f"{v:.0f}"
    if unit in ("m²", "m2"):
        return f"{v:.1f}"
    return f"{v:.2f}"


def _ids(elements, n=4) -> str:
    if elements is None or not len(elements):
        return ""
    el = [html.escape(str(e)) for e in elements]
    more = f" … (+{len(el) - n})" if len(el) > n else ""
    return "<span class='ids'>" + ", ".join(el[:n]) + more + "</span>"


def results_table(results: pd.DataFrame) -> str:
    """The rows of a :class:`~cimcity.permit.PermitReport` as an HTML table."""
    head = (
        "<table><thead><tr><th>Article</th><th>Rule</th><th>Status</th>"
        "<th>Measured</th><th>Limit</th><th>Unit</th><th>Explanation</th>"
        "<th>IFC elements</th></tr></thead><tbody>"
    )
    rows = []
    for _, r in results.iterrows():
        fg, bg, word = _STATUS_STYLE.get(
            r["status"], ("#000", "#fff", str(r["status"]))
        )
        label = RULE_LABELS.get(r["rule"], r["rule"])
        subj = (
            f"<br><span class='sub'>{html.escape(str(r['subject']))}</span>"
            if r["subject"]
            else ""
        )
        loc = (
            f"<br><span class='sub'>{html.escape(str(r['location']))}</span>"
            if r.get("location")
            else ""
        )
        rows.append(
            f"<tr style='background:{bg}'><td>{html.escape(str(r['article'] or ''))}</td>"
            f"<td>{html.escape(label)}{subj}</td>"
            f"<td><span class='badge' style='background:{fg};color:#fff'>{word}</span></td>"
            f"<td class='num'>{_num(r['measured'], r['unit'])}</td>"
            f"<td class='num'>{_num(r['limit'], r['unit'])}</td>"
            f"<td>{html.escape(str(r['unit'] or ''))}</td>"
            f"<td>{html.escape(str(r['explanation']))}{loc}</td>"
            f"<td>{_ids(r['elements'])}</td></tr>"
        )
    return head + "".join(rows) + "</tbody></table>"


def _kv(title, d: dict) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in d.items()
        if v not in (None, "", [], {})
    )
    return (
        f"<div><h3 style='font-size:15px;margin:6px 0'>{html.escape(title)}</h3>"
        f"<table class='kv'>{rows}</table></div>"
    )


def report_card(report) -> str:
    """Short HTML for Jupyter: the verdict line and the table of rules."""
    c = report.counts
    head = (
        f"<p><b>cimcity.permit.PermitReport</b> — {html.escape(str(report.project.get('name') or ''))} "
        f"zone {html.escape(str(report.land_info.get('zone')))}: "
        f"<b>{report.verdict}</b> "
        f"({c['pass']} pass, {c['fail']} fail, {c['maybe']} maybe, "
        f"{c['not_checkable']} not checkable)</p>"
    )
    return head + results_table(report.results)


# ---------------------------------------------------------------------------------
# the page
# ---------------------------------------------------------------------------------
_METHOD = """
<ul class='note'>
<li>Heights are measured point by point above the natural ground (DEM) under each point of
the model; NGF ceilings on absolute altitudes.</li>
<li>Limits come from the cadastre: edges not shared with another parcel face the street
(confirmed by the roads layer when present), and so does any edge with a road of the roads
layer in front of it (within half the road's width plus a tolerance); side limits reach the
street, the rear limit does not.</li>
<li>Setbacks apply D ≥ max(k·H, d_min) to every point of the building at its own height
above ground; a building touching a limit is built on it.</li>
<li>The envelope is a vertical P + c at the alignment (P the street width), then the slope,
under the ceiling, from the street's ground level.</li>
<li>Status <b>CHECK</b> (maybe) marks a value within measurement tolerance of its limit, a
measure made without the input it should rest on, or an informative result to be judged;
<b>NOT CHECKABLE</b> gives the missing input. The project passes only when the core
articles (heights, footprint, setbacks) were all checked; otherwise the report is
<b>incomplete</b> and gives no verdict.</li>
</ul>"""


def _identification(report) -> tuple[dict, dict]:
    """(project, land and rules) key-value tables of the page."""
    p, s = report.project, report.land_info
    ident_p = {
        "Name": p.get("name"),
        "IFC file": p.get("source"),
        "Schema": p.get("schema"),
        "Project id (GlobalId)": p.get("id"),
        "Georeference": p.get("georeference")
        + (" (approximate)" if p.get("approximate") else ""),
        "Height (base to top)": f"{p.get('height', float('nan')):.2f} m",
        "Base / top altitude": f"{p.get('base_z', float('nan')):.2f} / "
        f"{p.get('top_z', float('nan')):.2f} m",
        "Footprint": f"{p.get('footprint_area') or 0:.1f} m²",
        "Storeys in the model": p.get("storeys"),
        "Elements": p.get("elements"),
    }
    zones = ", ".join(f"{z} ({a:.0f} m²)" for z, a in s.get("zones", []))
    ident_s = {
        "Parcel(s)": ", ".join(map(str, s.get("parcels", []))),
        "Land area": f"{s['land_area']:.1f} m²" if s.get("land_area") else None,
        "PLU zone": s.get("zone"),
        "Zones under the project": zones,
        "Rule pack": s.get("rule_pack"),
        "Rule pack file": s.get("rule_pack_source"),
        "CRS / vertical datum": f"{s.get('crs')} / {s.get('vertical_datum')}",
        "Terrain model (DEM)": s.get("terrain_model"),
    }
    return ident_p, ident_s


def _plan_figures(report, plt, figs, errors) -> None:
    """Site plan and street section (matplotlib), appended to ``figs``."""
    try:
        fig, ax = plt.subplots(figsize=(8, 7))
        plot_site_plan(report, ax=ax)
        figs.append(
            (
                "Site plan: street (blue), side (orange) and rear (purple) limits "
                "from the cadastre; arrows give the worst distance to each limit.",
                png(fig),
            )
        )
    except Exception as exc:  # a figure must never hide the table
        errors.append(f"The site plan could not be drawn: {exc}")
    try:
        sec = section_data(report)
        if sec is not None:
            report.context["section"] = sec
            fig, ax = plt.subplots(figsize=(9, 4.5))
            plot_section(report, ax=ax)
            figs.append(
                (
                    "Section across the street: project silhouette (orange), "
                    "street envelope (green dashes), height limits and the rear "
                    "prospect line.",
                    png(fig),
                )
            )
    except Exception as exc:
        errors.append(f"The street section could not be drawn: {exc}")


def _figures(report) -> tuple[list, list]:
    """([(caption, base64 PNG)], [error notes]) of every figure of the page."""
    figs: list = []
    errors: list = []
    plt = None
    try:
        plt = pyplot()
    except ImportError as exc:
        errors.append(f"figures skipped: {exc}")
    if plt is not None and report.land is not None:
        _plan_figures(report, plt, figs, errors)
    if report.land is not None and report.context.get("placed"):
        try:
            figs += render_views(report)
        except ImportError as exc:
            errors.append(f"The 3D views are not drawn: {exc}")
        except Exception as exc:  # a figure must never hide the table
            errors.append(f"The 3D views could not be drawn: {exc}")
    elif report.land is not None:
        errors.append(
            "The 3D views are not drawn: the model is not placed in the scene "
            "(no georeference, no placement)."
        )
    try:
        figs += impact_figures(report)
    except Exception as exc:
        errors.append(f"The neighbour impact maps could not be drawn: {exc}")
    return figs, errors


def _verdict_html(report) -> str:
    """The banner: a pass only when the core articles were checked."""
    c = report.counts
    v = report.verdict
    if v == "fails":
        more = ""
        if report.unchecked_core:
            more = "; not checked: " + ", ".join(map(_label, report.unchecked_core))
        return (
            f"<div class='verdict ko'>The project breaks {c['fail']} rule(s)"
            f"{html.escape(more)}</div>"
        )
    if v == "incomplete":
        what = ", ".join(map(_label, report.unchecked_core))
        return (
            "<div class='verdict inc'>Incomplete — no verdict: "
            f"{html.escape(what)} could not be checked</div>"
        )
    if report.complete:
        return "<div class='verdict ok'>The project complies with every rule</div>"
    return (
        "<div class='verdict ok'>The core articles pass; "
        f"{c['not_checkable']} other rule(s) could not be checked (below)</div>"
    )


def _label(rule) -> str:
    return (
        "the location of the project"
        if rule == "location"
        else RULE_LABELS.get(rule, rule)
    )


def _problems_html(report, errors) -> str:
    """What the page could not show or the check could not measure, at the
    top, each with its reason."""
    items = [html.escape(e) for e in errors]
    R = report.results
    for _, r in R[R["status"] == "not_checkable"].iterrows():
        subj = f" ({r['subject']})" if r["subject"] else ""
        items.append(
            f"<b>{html.escape(_label(r['rule']) + subj)}</b>: not checked — "
            f"{html.escape(str(r['explanation']))}"
        )
    if not items:
        return ""
    return (
        "<div class='problems'><b>Not shown or not checked</b><ul>"
        + "".join(f"<li>{i}</li>" for i in items)
        + "</ul></div>"
    )


def report_page(report, images: bool = True) -> str:
    """The whole report page (see :meth:`PermitReport.to_html`).

    Parameters
    ----------
    report : PermitReport
    images : bool
        Draw and embed the figures (matplotlib; 3D views need pyvista).

    Returns
    -------
    str
        A self-contained HTML document.
    """
    p, s = report.project, report.land_info
    c = report.counts
    verdict = _verdict_html(report)
    ident_p, ident_s = _identification(report)
    figs, errors = _figures(report) if images else ([], [])
    problems = _problems_html(report, errors)
    fig_html = "".join(
        f"<figure><img alt='{html.escape(cap)}' src='data:image/png;base64,{b64}'>"
        f"<figcaption>{html.escape(cap)}</figcaption></figure>"
        for cap, b64 in figs
    )
    impact_html = ""
    if report.impact is not None and len(report.impact):
        t = report.impact.drop(columns="geometry", errors="ignore").head(15)
        impact_html = "<h2>Impact on neighbours (informative)</h2>" + t.to_html(
            index=False, float_format=lambda v: f"{v:.2f}", border=0
        )
    notes = list(s.get("notes", []))
    notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    title = html.escape(str(p.get("name") or p.get("id") or "project"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Permit check — {title}</title><style>{_CSS}</style></head>
<body>
<h1>Permit check — {title}</h1>
<div class="sub">Zone {html.escape(str(s.get("zone")))} · parcel(s)
{html.escape(", ".join(map(str, s.get("parcels", []))))} · generated {html.escape(report.created)}
 by cimcity {html.escape(__version__)}</div>
{verdict}
{problems}
<div class="sub">{c["pass"]} pass · {c["fail"]} fail · {c["maybe"]} to check · {c["not_checkable"]}
not checkable</div>
<h2>Identification</h2>
<div class="grid">{_kv("Project", ident_p)}{_kv("Land and rules", ident_s)}</div>
<h2>Rules</h2>
{results_table(report.results)}
{"<h2>Figures</h2>" + fig_html if fig_html else ""}
{impact_html}
<h2>Method and notes</h2>
{_METHOD}
{'<ul class="note">' + notes_html + "</ul>" if notes_html else ""}
</body></html>
"""
