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
import re

import numpy as np
import pandas as pd

from .. import __version__, i18n
from .checks.messages import RULE_LABELS, RULE_LABELS_FR, number, phrase, rule_label
from .figures import (
    impact_figures,
    plot_section,
    plot_site_plan,
    png,
    pyplot,
    render_views,
    section_data,
)

__all__ = ["RULE_LABELS", "RULE_LABELS_FR", "report_card", "report_page", "results_table"]


i18n.add_terms(
    {
        # statuses (badges) and verdicts
        "rep_pass": ("PASS", "CONFORME"),
        "rep_fail": ("FAIL", "NON CONFORME"),
        "rep_maybe": ("CHECK", "À VÉRIFIER"),
        "rep_not_checkable": ("NOT CHECKABLE", "NON VÉRIFIABLE"),
        "rep_verdict_fails": (
            "The project breaks {n} rule(s)", "Le projet n'est pas conforme à {n} règle(s)"
        ),
        "rep_not_checked_list": ("; not checked: {what}", " ; non vérifié : {what}"),
        "rep_verdict_incomplete": (
            "Incomplete — no verdict: {what} could not be checked",
            "Incomplet — sans conclusion : {what} n'a pas pu être vérifié",
        ),
        "rep_verdict_passes": (
            "The project complies with every rule",
            "Le projet est conforme à toutes les règles",
        ),
        "rep_verdict_core": (
            "The core articles pass; {n} other rule(s) could not be checked (below)",
            "Les articles essentiels sont conformes ; {n} autre(s) règle(s) n'ont pas "
            "pu être vérifiée(s) (ci-dessous)",
        ),
        "rep_location": ("the location of the project", "la localisation du projet"),
        "rep_problems": ("Not shown or not checked", "Non montré ou non vérifié"),
        "rep_not_checked": ("not checked", "non vérifié"),
        "rep_counts": (
            "{p} pass · {f} fail · {m} to check · {n} not checkable",
            "{p} conforme(s) · {f} non conforme(s) · {m} à vérifier · {n} non "
            "vérifiable(s)",
        ),
        # page
        "rep_title": ("Permit check", "Contrôle de conformité au PLU"),
        "rep_sub": (
            "Zone {zone} · parcel(s) {parcels} · generated {date} by cimcity {version}",
            "Zone {zone} · parcelle(s) {parcels} · établi le {date} par cimcity "
            "{version}",
        ),
        "rep_identification": ("Identification", "Identification"),
        "rep_project": ("Project", "Projet"),
        "rep_land_rules": ("Land and rules", "Terrain et règles"),
        "rep_rules": ("Rules", "Règles"),
        "rep_figures": ("Figures", "Figures"),
        "rep_impact": (
            "Impact on neighbours (informative)", "Impact sur les voisins (indicatif)"
        ),
        "rep_method": ("Method and notes", "Méthode et remarques"),
        # table
        "rep_col_article": ("Article", "Article"),
        "rep_col_rule": ("Rule", "Règle"),
        "rep_col_status": ("Status", "Statut"),
        "rep_col_measured": ("Measured", "Mesuré"),
        "rep_col_limit": ("Limit", "Limite"),
        "rep_col_unit": ("Unit", "Unité"),
        "rep_col_explanation": ("Explanation", "Explication"),
        "rep_col_elements": ("IFC elements", "Éléments IFC"),
        "rep_informative": ("informative", "indicatif"),
        "rep_unit_ratio": ("ratio", "ratio"),
        "rep_unit_storeys": ("storeys", "niveaux"),
        # identification
        "rep_name": ("Name", "Nom"),
        "rep_ifc_file": ("IFC file", "Fichier IFC"),
        "rep_schema": ("Schema", "Schéma"),
        "rep_project_id": ("Project id (GlobalId)", "Identifiant du projet (GlobalId)"),
        "rep_georeference": ("Georeference", "Géoréférencement"),
        "rep_approximate": (" (approximate)", " (approché)"),
        "rep_height": ("Height (base to top)", "Hauteur (de la base au sommet)"),
        "rep_base_top": ("Base / top altitude", "Altitude de la base / du sommet"),
        "rep_footprint": ("Footprint", "Emprise au sol"),
        "rep_storeys": ("Storeys in the model", "Niveaux de la maquette"),
        "rep_elements": ("Elements", "Éléments"),
        "rep_parcels": ("Parcel(s)", "Parcelle(s)"),
        "rep_land_area": ("Land area", "Surface du terrain d'assiette"),
        "rep_zone": ("PLU zone", "Zone du PLU"),
        "rep_zones_under": ("Zones under the project", "Zones sous le projet"),
        "rep_pack": ("Rule pack", "Règlement"),
        "rep_pack_file": ("Rule pack file", "Fichier du règlement"),
        "rep_crs": ("CRS / vertical datum", "Système de coordonnées / altimétrique"),
        "rep_dem": ("Terrain model (DEM)", "Modèle numérique de terrain (MNT)"),
        "rep_yes": ("yes", "oui"),
        "rep_no": ("no", "non"),
        # impact table
        "rep_imp_date": ("Date", "Date"),
        "rep_imp_receiver": ("Receiver", "Récepteur"),
        "rep_imp_area": ("Area (m²)", "Surface (m²)"),
        "rep_imp_before": ("Sun before (h)", "Soleil avant (h)"),
        "rep_imp_after": ("Sun after (h)", "Soleil après (h)"),
        "rep_imp_lost": ("Sun lost (h)", "Soleil perdu (h)"),
        "rep_imp_worst": ("Worst point lost (h)", "Perte au point le plus touché (h)"),
        "rep_imp_losing": ("Area losing sun (m²)", "Surface qui perd du soleil (m²)"),
        # figures and their failures
        "rep_fig_skipped": ("figures skipped: {exc}", "figures non dessinées : {exc}"),
        "rep_fig_plan_failed": (
            "The site plan could not be drawn: {exc}",
            "Le plan de masse n'a pas pu être dessiné : {exc}",
        ),
        "rep_fig_section_failed": (
            "The street section could not be drawn: {exc}",
            "La coupe sur voie n'a pas pu être dessinée : {exc}",
        ),
        "rep_fig_views_missing": (
            "The 3D views are not drawn: {exc}",
            "Les vues 3D ne sont pas dessinées : {exc}",
        ),
        "rep_fig_views_failed": (
            "The 3D views could not be drawn: {exc}",
            "Les vues 3D n'ont pas pu être dessinées : {exc}",
        ),
        "rep_fig_views_unplaced": (
            "The 3D views are not drawn: the model is not placed in the scene "
            "(no georeference, no placement).",
            "Les vues 3D ne sont pas dessinées : la maquette n'est pas positionnée "
            "dans la scène (ni géoréférencement, ni positionnement).",
        ),
        "rep_fig_impact_failed": (
            "The neighbour impact maps could not be drawn: {exc}",
            "Les cartes d'impact sur les voisins n'ont pas pu être dessinées : {exc}",
        ),
        "rep_cap_plan": (
            "Site plan: street (blue), side (orange) and rear (purple) limits from the "
            "cadastre; arrows give the worst distance to each limit.",
            "Plan de masse : alignement sur voie (bleu), limites séparatives latérales "
            "(orange) et de fond de parcelle (violet) d'après le cadastre ; les flèches "
            "donnent la distance la plus courte à chaque limite.",
        ),
        "rep_cap_section": (
            "Section across the street: project silhouette (orange), street envelope "
            "(green dashes), height limits and the rear prospect line.",
            "Coupe sur voie : silhouette du projet (orange), gabarit-enveloppe (tirets "
            "verts), hauteurs maximales et ligne de prospect en fond de parcelle.",
        ),
    }
)

_METHOD = {
    "en": """
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
</ul>""",
    "fr": """
<ul class='note'>
<li>Les hauteurs sont mesurées point par point au-dessus du terrain naturel (MNT) à
l'aplomb de chaque point de la maquette ; les cotes maximales NGF sur les altitudes
absolues.</li>
<li>Les limites viennent du cadastre : une limite qui n'est pas partagée avec une autre
parcelle donne sur la voie (ce que confirme la couche des voies quand elle est donnée), de
même que toute limite devant laquelle passe une voie de cette couche (à moins de sa
demi-largeur plus une tolérance) ; les limites séparatives latérales rejoignent la voie, la
limite de fond de parcelle non.</li>
<li>Le prospect D ≥ max(k·H ; d_min) s'applique à chaque point de la construction, à sa
propre hauteur au-dessus du sol ; une construction qui touche une limite est implantée en
limite séparative.</li>
<li>Le gabarit-enveloppe est une verticale P + c à l'alignement (P la largeur de la voie),
puis la pente, sous le plafond, depuis le niveau du sol de la voie.</li>
<li>Le statut <b>À VÉRIFIER</b> signale une valeur dans la tolérance de mesure de sa limite,
une mesure faite sans la donnée sur laquelle elle devrait reposer, ou un résultat indicatif
à apprécier ; <b>NON VÉRIFIABLE</b> indique la donnée manquante. Le projet n'est déclaré
conforme que si les articles essentiels (hauteurs, emprise au sol, implantation) ont tous
été vérifiés ; sinon le rapport est <b>incomplet</b> et ne conclut pas.</li>
</ul>""",
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

_STATUS_COLOURS = {
    "pass": ("#1b7f3b", "#e3f4e8"),
    "fail": ("#b3261e", "#fbe4e2"),
    "maybe": ("#8a5a00", "#fff3d6"),
    "not_checkable": ("#555555", "#ececec"),
}


def status_word(status, lang=None) -> str:
    """The badge word of a row status: "CONFORME", "NON CONFORME", "À VÉRIFIER",
    "NON VÉRIFIABLE" (French) or "PASS", "FAIL", "CHECK", "NOT CHECKABLE"."""
    try:
        return i18n.term(f"rep_{status}", lang)
    except KeyError:
        return str(status)


# ---------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------
def _num(v, unit, lang=None) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    spec = {"ratio": ".3f", "storeys": ".0f", "m²": ".1f", "m2": ".1f"}.get(unit, ".2f")
    return number(v, spec, lang)


def _unit(unit, lang=None) -> str:
    if unit in ("ratio", "storeys"):
        return i18n.term(f"rep_unit_{unit}", lang)
    return str(unit or "")


def _ids(elements, n=4) -> str:
    if elements is None or not len(elements):
        return ""
    el = [html.escape(str(e)) for e in elements]
    more = f" … (+{len(el) - n})" if len(el) > n else ""
    return "<span class='ids'>" + ", ".join(el[:n]) + more + "</span>"


_DECIMAL = re.compile(r"(?<![\w.])(-?\d+)\.(\d+)")


def location_text(location, lang=None) -> str:
    """Where the worst point is, as ``lang`` writes it (French: "x=649 824,0 ;
    y=…", "dépassement", "limite en")."""
    s = str(location or "")
    if i18n.resolve(lang) != "fr" or not s:
        return s
    s = s.replace("; penetration", " ; dépassement").replace("(limit at", "(limite en")
    s = s.replace(", ", " ; ")
    return _DECIMAL.sub(r"\1,\2", s)


def explanation_text(report, label, row, lang=None) -> str:
    """The explanation of a row in ``lang``: the check's own French text when
    it wrote one (``context["explanations"]``), else the table's text."""
    code = i18n.resolve(lang)
    both = (getattr(report, "context", None) or {}).get("explanations", {}).get(label)
    # only when the row is still the one the check wrote (a table edited by hand
    # keeps its own text)
    if both and both.get("en") == row["explanation"]:
        return both.get(code, row["explanation"])
    return str(row["explanation"])


def _article(article, lang=None) -> str:
    a = str(article or "")
    return i18n.term("rep_informative", lang) if a == "informative" else a


def results_table(results: pd.DataFrame, lang: str | None = None, report=None) -> str:
    """The rows of a :class:`~cimcity.permit.PermitReport` as an HTML table in
    ``lang`` (None: the package default, French unless set otherwise)."""
    t = lambda key: i18n.term(key, lang)  # noqa: E731
    head = (
        f"<table><thead><tr><th>{t('rep_col_article')}</th><th>{t('rep_col_rule')}</th>"
        f"<th>{t('rep_col_status')}</th><th>{t('rep_col_measured')}</th>"
        f"<th>{t('rep_col_limit')}</th><th>{t('rep_col_unit')}</th>"
        f"<th>{t('rep_col_explanation')}</th><th>{t('rep_col_elements')}</th>"
        "</tr></thead><tbody>"
    )
    rows = []
    for label_, r in results.iterrows():
        fg, bg = _STATUS_COLOURS.get(r["status"], ("#000", "#fff"))
        word = status_word(r["status"], lang)
        label = rule_label(r["rule"], lang)
        subj = (
            f"<br><span class='sub'>{html.escape(phrase(r['subject'], lang))}</span>"
            if r["subject"]
            else ""
        )
        loc = (
            f"<br><span class='sub'>{html.escape(location_text(r['location'], lang))}"
            "</span>"
            if r.get("location")
            else ""
        )
        expl = explanation_text(report, label_, r, lang)
        rows.append(
            f"<tr style='background:{bg}'><td>{html.escape(_article(r['article'], lang))}"
            f"</td><td>{html.escape(label)}{subj}</td>"
            f"<td><span class='badge' style='background:{fg};color:#fff'>{word}</span></td>"
            f"<td class='num'>{_num(r['measured'], r['unit'], lang)}</td>"
            f"<td class='num'>{_num(r['limit'], r['unit'], lang)}</td>"
            f"<td>{html.escape(_unit(r['unit'], lang))}</td>"
            f"<td>{html.escape(expl)}{loc}</td>"
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


def _counts(report, lang) -> str:
    c = report.counts
    return i18n.term(
        "rep_counts",
        lang,
        p=c["pass"],
        f=c["fail"],
        m=c["maybe"],
        n=c["not_checkable"],
    )


def report_card(report, lang: str | None = None) -> str:
    """Short HTML for Jupyter: the verdict line and the table of rules."""
    head = (
        f"<p><b>cimcity.permit.PermitReport</b> — "
        f"{html.escape(str(report.project.get('name') or ''))} "
        f"zone {html.escape(str(report.land_info.get('zone')))}: "
        f"<b>{html.escape(_verdict_text(report, lang), quote=False)}</b> "
        f"({html.escape(_counts(report, lang))})</p>"
    )
    return head + results_table(report.results, lang, report)


# ---------------------------------------------------------------------------------
# the page
# ---------------------------------------------------------------------------------
def _m(v, spec, lang, unit="m") -> str:
    try:
        return f"{number(float(v), spec, lang)} {unit}"
    except (TypeError, ValueError):
        return ""


def _yes_no(v, lang=None):
    if v in ("yes", "no", True, False):
        return i18n.term("rep_yes" if v in ("yes", True) else "rep_no", lang)
    return v


def _identification(report, lang=None) -> tuple[dict, dict]:
    """(project, land and rules) key-value tables of the page."""
    p, s = report.project, report.land_info
    t = lambda key: i18n.term(key, lang)  # noqa: E731
    nan = float("nan")
    ident_p = {
        t("rep_name"): p.get("name"),
        t("rep_ifc_file"): p.get("source"),
        t("rep_schema"): p.get("schema"),
        t("rep_project_id"): p.get("id"),
        t("rep_georeference"): str(p.get("georeference"))
        + (t("rep_approximate") if p.get("approximate") else ""),
        t("rep_height"): _m(p.get("height", nan), ".2f", lang),
        t("rep_base_top"): f"{number(p.get('base_z', nan), '.2f', lang)} / "
        f"{_m(p.get('top_z', nan), '.2f', lang)}",
        t("rep_footprint"): _m(p.get("footprint_area") or 0, ".1f", lang, "m²"),
        t("rep_storeys"): p.get("storeys"),
        t("rep_elements"): p.get("elements"),
    }
    zones = ", ".join(f"{z} ({_m(a, '.0f', lang, 'm²')})" for z, a in s.get("zones", []))
    ident_s = {
        t("rep_parcels"): ", ".join(map(str, s.get("parcels", []))),
        t("rep_land_area"): _m(s["land_area"], ".1f", lang, "m²")
        if s.get("land_area")
        else None,
        t("rep_zone"): s.get("zone"),
        t("rep_zones_under"): zones,
        t("rep_pack"): s.get("rule_pack"),
        t("rep_pack_file"): s.get("rule_pack_source"),
        t("rep_crs"): f"{s.get('crs')} / {s.get('vertical_datum')}",
        t("rep_dem"): _yes_no(s.get("terrain_model"), lang),
    }
    return ident_p, ident_s


def _plan_figures(report, plt, figs, errors, lang=None) -> None:
    """Site plan and street section (matplotlib), appended to ``figs``."""
    try:
        fig, ax = plt.subplots(figsize=(8, 7))
        plot_site_plan(report, ax=ax, lang=lang)
        figs.append((i18n.term("rep_cap_plan", lang), png(fig)))
    except Exception as exc:  # a figure must never hide the table
        errors.append(i18n.term("rep_fig_plan_failed", lang, exc=exc))
    try:
        sec = section_data(report)
        if sec is not None:
            report.context["section"] = sec
            fig, ax = plt.subplots(figsize=(9, 4.5))
            plot_section(report, ax=ax, lang=lang)
            figs.append((i18n.term("rep_cap_section", lang), png(fig)))
    except Exception as exc:
        errors.append(i18n.term("rep_fig_section_failed", lang, exc=exc))


def _figures(report, lang=None) -> tuple[list, list]:
    """([(caption, base64 PNG)], [error notes]) of every figure of the page."""
    figs: list = []
    errors: list = []
    plt = None
    try:
        plt = pyplot()
    except ImportError as exc:
        errors.append(i18n.term("rep_fig_skipped", lang, exc=exc))
    if plt is not None and report.land is not None:
        _plan_figures(report, plt, figs, errors, lang)
    if report.land is not None and report.context.get("placed"):
        try:
            figs += render_views(report, lang=lang)
        except ImportError as exc:
            errors.append(i18n.term("rep_fig_views_missing", lang, exc=exc))
        except Exception as exc:  # a figure must never hide the table
            errors.append(i18n.term("rep_fig_views_failed", lang, exc=exc))
    elif report.land is not None:
        errors.append(i18n.term("rep_fig_views_unplaced", lang))
    try:
        figs += impact_figures(report, lang=lang)
    except Exception as exc:
        errors.append(i18n.term("rep_fig_impact_failed", lang, exc=exc))
    return figs, errors


def _verdict_text(report, lang=None) -> str:
    """The verdict in words: a pass only when the core articles were checked."""
    c = report.counts
    v = report.verdict
    what = ", ".join(rule_label(r, lang) for r in report.unchecked_core)
    if v == "fails":
        more = (
            i18n.term("rep_not_checked_list", lang, what=what)
            if report.unchecked_core
            else ""
        )
        return i18n.term("rep_verdict_fails", lang, n=c["fail"]) + more
    if v == "incomplete":
        return i18n.term("rep_verdict_incomplete", lang, what=what)
    if report.complete:
        return i18n.term("rep_verdict_passes", lang)
    return i18n.term("rep_verdict_core", lang, n=c["not_checkable"])


def _verdict_html(report, lang=None) -> str:
    """The banner: a pass only when the core articles were checked."""
    css = {"fails": "ko", "incomplete": "inc"}.get(report.verdict, "ok")
    text = html.escape(_verdict_text(report, lang), quote=False)
    return f"<div class='verdict {css}'>{text}</div>"


def _problems_html(report, errors, lang=None) -> str:
    """What the page could not show or the check could not measure, at the
    top, each with its reason."""
    items = [html.escape(str(e)) for e in errors]
    R = report.results
    for label, r in R[R["status"] == "not_checkable"].iterrows():
        subj = f" ({phrase(r['subject'], lang)})" if r["subject"] else ""
        items.append(
            f"<b>{html.escape(rule_label(r['rule'], lang) + subj)}</b>: "
            f"{i18n.term('rep_not_checked', lang)} — "
            f"{html.escape(explanation_text(report, label, r, lang))}"
        )
    if not items:
        return ""
    return (
        f"<div class='problems'><b>{i18n.term('rep_problems', lang)}</b><ul>"
        + "".join(f"<li>{i}</li>" for i in items)
        + "</ul></div>"
    )


_IMPACT_COLUMNS = {
    "date": "rep_imp_date",
    "receiver": "rep_imp_receiver",
    "area_m2": "rep_imp_area",
    "before_h": "rep_imp_before",
    "after_h": "rep_imp_after",
    "lost_h": "rep_imp_lost",
    "worst_point_lost_h": "rep_imp_worst",
    "area_losing_m2": "rep_imp_losing",
}


def _impact_html(report, lang=None) -> str:
    if report.impact is None or not len(report.impact):
        return ""
    t = report.impact.drop(columns="geometry", errors="ignore").head(15).copy()
    code = i18n.resolve(lang)
    if "receiver" in t:
        t["receiver"] = [phrase(v, code) for v in t["receiver"]]
    if "date" in t:
        t["date"] = [
            i18n.format_date(d, code) if code == "fr" else str(d) for d in t["date"]
        ]
    t = t.rename(columns={k: i18n.term(v, code) for k, v in _IMPACT_COLUMNS.items()})
    return f"<h2>{i18n.term('rep_impact', code)}</h2>" + t.to_html(
        index=False, float_format=lambda v: number(v, ".2f", code), border=0
    )


def _created(report, lang) -> str:
    try:
        return i18n.format_date(report.created, lang, time=True)
    except (ValueError, TypeError):
        return str(report.created)


def report_page(report, images: bool = True, lang: str | None = None) -> str:
    """The whole report page (see :meth:`PermitReport.to_html`).

    Parameters
    ----------
    report : PermitReport
    images : bool
        Draw and embed the figures (matplotlib; 3D views need pyvista).
    lang : {"fr", "en"} or None
        Language of the page (None: the package default, French unless
        :func:`cimcity.i18n.set_language` or ``CIMCITY_LANG`` say otherwise):
        headings, verdict and status words, rule names, explanations,
        captions, figures and ``<html lang=...>``.

    Returns
    -------
    str
        A self-contained HTML document.
    """
    code = i18n.resolve(lang)
    t = lambda key, **v: i18n.term(key, code, **v)  # noqa: E731
    p, s = report.project, report.land_info
    verdict = _verdict_html(report, code)
    ident_p, ident_s = _identification(report, code)
    figs, errors = _figures(report, code) if images else ([], [])
    problems = _problems_html(report, errors, code)
    fig_html = "".join(
        f"<figure><img alt='{html.escape(cap)}' src='data:image/png;base64,{b64}'>"
        f"<figcaption>{html.escape(cap)}</figcaption></figure>"
        for cap, b64 in figs
    )
    notes = list(s.get("notes", []))
    notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    title = html.escape(str(p.get("name") or p.get("id") or t("rep_project").lower()))
    sub = t(
        "rep_sub",
        zone=s.get("zone"),
        parcels=", ".join(map(str, s.get("parcels", []))),
        date=_created(report, code),
        version=__version__,
    )
    return f"""<!DOCTYPE html>
<html lang="{code}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t("rep_title")} — {title}</title><style>{_CSS}</style></head>
<body>
<h1>{t("rep_title")} — {title}</h1>
<div class="sub">{html.escape(sub)}</div>
{verdict}
{problems}
<div class="sub">{html.escape(_counts(report, code))}</div>
<h2>{t("rep_identification")}</h2>
<div class="grid">{_kv(t("rep_project"), ident_p)}{_kv(t("rep_land_rules"), ident_s)}</div>
<h2>{t("rep_rules")}</h2>
{results_table(report.results, code, report)}
{f"<h2>{t('rep_figures')}</h2>" + fig_html if fig_html else ""}
{_impact_html(report, code)}
<h2>{t("rep_method")}</h2>
{_METHOD[code]}
{'<ul class="note">' + notes_html + "</ul>" if notes_html else ""}
</body></html>
"""
