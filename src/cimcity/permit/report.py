"""PermitReport: the result of a permit check (rows, land, limits, impact),
with JSON, HTML and BCF export.

The report derives from :class:`cimcity.results.Result`: its main table is the
results table (one row per rule, per limit for setbacks), ``summary()`` gives
plain values, ``plot()`` draws the site plan. The HTML page and the figures
live in :mod:`cimcity.permit.html` and :mod:`cimcity.permit.figures`, which
take a report and never import this module.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import __version__
from ..errors import InputError, MissingDependencyError
from ..results import Result, plain
from .checks.context import CORE_RULES
from .figures import plot_section, plot_site_plan, view_images
from .html import explanation_text, report_card, report_page

#: result statuses, from best to worst knowledge
STATUSES = ("pass", "fail", "maybe", "not_checkable")
#: version of the JSON layout written by :meth:`PermitReport.to_json` (2: the
#: land of the application is ``"land"``, its area ``"land_area"``; was
#: ``"site"`` / ``"terrain_area"``)
JSON_VERSION = 2
#: the 3D views of :meth:`PermitReport.render`
VIEWS = ("street", "garden")
#: exit codes of ``cimcity check`` by verdict (2: bad input, refused before
#: any report, e.g. a project that does not stand on its parcels)
EXIT_CODES = {"passes": 0, "fails": 1, "bad input": 2, "incomplete": 3}
#: rows that locate the project (not rules of the zone)
_LOCATE_ROWS = ("georeference", "zone", "rules", "land", "within_land")


def _renamed(old, new):
    warnings.warn(
        f"PermitReport.{old} is renamed PermitReport.{new}; the old name will be "
        "removed in a future release",
        FutureWarning,
        stacklevel=3,
    )


@dataclass(eq=False, repr=False)
class PermitReport(Result):
    """Result of :func:`cimcity.permit.check`: one row per rule (and per limit
    for setbacks).

    Attributes
    ----------
    results : DataFrame
        The main table (also ``table``). Columns ``rule``, ``article``,
        ``subject`` (what the row is about, e.g. ``"left side limit"``),
        ``status`` (``pass`` / ``fail`` / ``maybe`` / ``not_checkable``),
        ``measured``, ``limit``, ``unit``, ``elements`` (list of IFC
        GlobalIds), ``explanation`` (one sentence), ``zone``, ``location``
        (where the worst point is, when it applies).
    project : dict
        Identification: id, name, file, schema, georeference, height, footprint.
    land_info : dict
        The land of the application and its rules: parcels, ``land_area``
        [m²], zone(s), rule pack, CRS, vertical datum, DEM (was ``site``).
    limits : GeoDataFrame
        Classified limits of the land (see :func:`classify_limits`).
    land : shapely geometry
        The land of the application (*terrain d'assiette*: union of its
        parcels) [m, scene CRS] (was ``terrain``).
    impact : DataFrame or None
        Neighbour impact per receiving surface (sun hours before/after/lost).
    """

    results: pd.DataFrame
    project: dict = field(default_factory=dict)
    land_info: dict = field(default_factory=dict)
    limits: gpd.GeoDataFrame | None = None
    land: object = None
    impact: pd.DataFrame | None = None
    bim: object = None
    scene: object = None
    context: dict = field(default_factory=dict)
    created: str = field(
        default_factory=lambda: (
            _dt.datetime.now(_dt.timezone.utc)
            .astimezone()
            .isoformat(timespec="seconds")
        )
    )

    _title = "permit check"

    # -- old names -------------------------------------------------------------------
    @property
    def site(self) -> dict:
        """Old name of :attr:`land_info` (FutureWarning)."""
        _renamed("site", "land_info")
        return self.land_info

    @property
    def terrain(self):
        """Old name of :attr:`land` (FutureWarning)."""
        _renamed("terrain", "land")
        return self.land

    # -- verdict ----------------------------------------------------------------------
    @property
    def located(self) -> bool:
        """True when the land, zone and rules of the project were found."""
        if "located" in self.context:
            return bool(self.context["located"])
        return bool((~self.results["rule"].isin(_LOCATE_ROWS)).any())

    @property
    def unchecked_core(self) -> list:
        """Core rules (:data:`CORE_RULES`) the zone sets but that could not be
        checked (a ``not_checkable`` row, or no row at all); ``["location"]``
        when the project could not be located."""
        if not self.located:
            return ["location"]
        core = [r for rules in CORE_RULES.values() for r in rules]
        wanted = self.context.get("core_rules")
        if wanted is None:  # a report built by hand: the rules it has rows for
            wanted = [r for r in core if r in set(self.results["rule"])]
        R = self.results
        out = []
        for rule in wanted:
            st = R.loc[R["rule"] == rule, "status"]
            if not len(st) or (st == "not_checkable").any():
                out.append(rule)
        return out

    @property
    def core_checked(self) -> bool:
        """True when the project was located and every core article the zone
        sets (heights, footprint, setbacks) was measured."""
        return not self.unchecked_core

    @property
    def passed(self) -> bool:
        """True only when no rule fails **and** the core articles were checked
        (:attr:`core_checked`). ``maybe`` rows and ``not_checkable`` rows of
        other rules do not fail the project; they are listed by
        :meth:`summary_text` and shown on the page."""
        return not (self.results["status"] == "fail").any() and self.core_checked

    @property
    def verdict(self) -> str:
        """``"fails"`` (a rule fails), ``"incomplete"`` (no failure, but a core
        article or the location could not be checked: no verdict) or
        ``"passes"``."""
        if (self.results["status"] == "fail").any():
            return "fails"
        return "passes" if self.core_checked else "incomplete"

    @property
    def exit_code(self) -> int:
        """Exit code of ``cimcity check`` for this report (:data:`EXIT_CODES`):
        0 passes, 1 fails, 3 incomplete."""
        return EXIT_CODES[self.verdict]

    @property
    def complete(self) -> bool:
        """True when every row could be checked (no ``not_checkable``)."""
        return not (self.results["status"] == "not_checkable").any()

    @property
    def counts(self) -> dict:
        """Number of rows per status."""
        vc = self.results["status"].value_counts()
        return {s: int(vc.get(s, 0)) for s in STATUSES}

    @property
    def failures(self) -> pd.DataFrame:
        """The failing rows."""
        return self.results[self.results["status"] == "fail"]

    # -- result protocol --------------------------------------------------------------
    def tables(self) -> dict:
        """``results`` (main: one row per rule), ``limits`` (classified limits
        of the land, lines) and ``impact`` (neighbour impact; None when not
        computed)."""
        return {"results": self.results, "limits": self.limits, "impact": self.impact}

    def summary(self) -> dict:
        """Headline values: verdict, counts per status, zone, land and the
        failing rules (plain values; None: unknown)."""
        c = self.counts
        return plain(
            {
                "project": self.project.get("name") or self.project.get("id"),
                "zone": self.land_info.get("zone"),
                "parcels": ", ".join(map(str, self.land_info.get("parcels", [])))
                or None,
                "land_area": self.land_info.get("land_area"),
                "verdict": self.verdict,
                "passed": self.passed,
                "complete": self.complete,
                "core_checked": self.core_checked,
                "unchecked_core": ", ".join(self.unchecked_core) or None,
                "n_pass": c["pass"],
                "n_fail": c["fail"],
                "n_maybe": c["maybe"],
                "n_not_checkable": c["not_checkable"],
                "failing_rules": ", ".join(dict.fromkeys(self.failures["rule"]))
                or None,
            }
        )

    def summary_text(self) -> str:
        """A few lines for a terminal or a log: verdict, counts, and the rows
        that fail, are to check by hand or could not be checked."""
        c = self.counts
        verdict = self.verdict.upper()
        if self.verdict == "incomplete":
            verdict += (
                " (no verdict: " + ", ".join(self.unchecked_core) + " not checked)"
            )
        zone = self.land_info.get("zone") or "?"
        parcels = ", ".join(map(str, self.land_info.get("parcels", []))) or "?"
        lines = [
            f"Project {self.project.get('name') or self.project.get('id')!s} on parcel(s) "
            f"{parcels} (zone {zone}): "
            f"{verdict} — {c['pass']} pass, {c['fail']} fail, {c['maybe']} maybe, "
            f"{c['not_checkable']} not checkable",
        ]
        for status in ("fail", "maybe", "not_checkable"):
            for _, r in self.results[self.results["status"] == status].iterrows():
                subj = f" [{r['subject']}]" if r["subject"] else ""
                lines.append(
                    f"  {status.upper():>13}  {r['article'] or '-':<8} {r['rule']}{subj}: "
                    f"{r['explanation']}"
                )
        return "\n".join(lines)

    def __repr__(self) -> str:
        c = self.counts
        return (
            f"<PermitReport {self.project.get('name') or self.project.get('id')!r} "
            f"zone={self.land_info.get('zone')!r} {self.verdict} "
            f"({c['pass']} pass, {c['fail']} fail, {c['maybe']} maybe, "
            f"{c['not_checkable']} not checkable)>"
        )

    def _repr_html_(self) -> str:
        # the verdict and every row with its status badge (more than the base card)
        return report_card(self)

    def plot(self, column=None, *, ax=None, margin: float = 25.0, lang=None):
        """Site plan (matplotlib): land, classified limits, the project and the
        worst distances, on the scene's quiet base with a scale bar and a north
        arrow (:mod:`cimcity.maps`).

        Parameters
        ----------
        column : None
            The site plan has no column to colour; only None is accepted.
        ax : matplotlib Axes, optional
            Drawn on a new figure when None.
        margin : float
            Context drawn around the land [m].
        lang : {"fr", "en"} or None
            Language of labels and legend (None: the package default, French
            unless :func:`cimcity.i18n.set_language` says otherwise).

        Returns
        -------
        matplotlib Axes
        """
        if column is not None and hasattr(column, "plot") and ax is None:
            warnings.warn(
                "PermitReport.plot(ax) is now plot(column=None, *, ax=None); pass "
                "ax=... by keyword",
                FutureWarning,
                stacklevel=2,
            )
            column, ax = None, column
        if column is not None:
            raise InputError(
                f"PermitReport.plot draws the site plan and takes no column; got "
                f"column={column!r} (expected None)"
            )
        return plot_site_plan(self, ax=ax, margin=margin, lang=lang)

    def plot_section(self, *, ax=None, lang=None):
        """Street section across the project (matplotlib): silhouette against
        the street envelope (gabarit-enveloppe), height limits and rear
        prospect line; None when the land has no street limit. ``lang``: as
        :meth:`plot`."""
        return plot_section(self, ax=ax, lang=lang)

    def render(self, path=None, *, view: str = "street", size=(1100, 700)):
        """3D view of the project in its street (pyvista, offscreen): failing
        elements in red, the street envelope as a translucent green surface.

        Parameters
        ----------
        path : str or Path, optional
            PNG to write; the image is returned as an array when None.
        view : {"street", "garden"}
            Camera from the street or from the garden side.
        size : (int, int)
            Image size [px].

        Returns
        -------
        pathlib.Path or (h, w, 3) uint8 array
        """
        if view not in VIEWS:
            raise InputError(
                f"unknown view {view!r}; expected one of {', '.join(map(repr, VIEWS))}"
            )
        image = view_images(self, size=size)[VIEWS.index(view)][1]
        if path is None:
            return image
        from PIL import Image

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(path)
        return path

    # -- export -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain JSON-able dict: identification, verdict, rows, limits, impact."""
        rows = [
            {k: _jsonable(v) for k, v in r.items()}
            for r in self.results.to_dict("records")
        ]
        limits = []
        if self.limits is not None and len(self.limits):
            for r in self.limits.to_dict("records"):
                g = r.pop("geometry")
                d = {k: _jsonable(v) for k, v in r.items()}
                d["wkt"] = g.wkt if g is not None else None
                limits.append(d)
        impact = None
        if self.impact is not None and len(self.impact):
            impact = [
                {k: _jsonable(v) for k, v in r.items()}
                for r in self.impact.drop(columns="geometry", errors="ignore").to_dict(
                    "records"
                )
            ]
        return {
            "format": "cimcity-permit-report",
            "version": JSON_VERSION,
            "cimcity": __version__,
            "created": self.created,
            "project": {k: _jsonable(v) for k, v in self.project.items()},
            "land": {k: _jsonable(v) for k, v in self.land_info.items()},
            "verdict": self.verdict,
            "passed": self.passed,
            "complete": self.complete,
            "core_checked": self.core_checked,
            "unchecked_core": self.unchecked_core,
            "exit_code": self.exit_code,
            "counts": self.counts,
            "results": rows,
            "limits": limits,
            "impact": impact,
        }

    def to_json(self, path=None, indent: int = 2) -> str:
        """Write (and return) the report as JSON.

        Parameters
        ----------
        path : str or Path, optional
            File to write (parent folders created); only the string is
            returned when None.
        """
        text = json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text, encoding="utf-8")
        return text

    def explanation(self, row, lang=None) -> str:
        """The explanation of results row ``row`` (index label) in ``lang``
        ("fr", "en"; None: the package default). The table holds the English
        text; the checks keep the French one for the report."""
        return explanation_text(self, row, self.results.loc[row], lang)

    def to_html(self, path=None, images: bool = True, dates=None, *, lang=None) -> str:
        """A self-contained HTML page an instructor can file.

        Project and parcel identification, the table of rules, a site plan with
        the classified limits and the worst distances, a street section with
        the envelope, 3D views of the project in its street (failing elements
        in red, the envelope drawn) and the shadow impact maps; images are
        embedded as base64 PNG.

        Parameters
        ----------
        path : str or Path, optional
            File to write (the HTML string is returned either way).
        images : bool
            Draw the figures (needs matplotlib; 3D views need pyvista). Without
            them the page holds the tables only.
        dates : ignored
            Never used (the impact dates are those of the check); passing it
            warns (FutureWarning) and it will be removed.
        lang : {"fr", "en"} or None
            Language of the whole page: headings, verdict and status words
            (conforme / non conforme / à vérifier / non vérifiable), rule names,
            explanations, captions, figures and ``<html lang>``. None: the
            package default (French unless :func:`cimcity.i18n.set_language`
            or ``CIMCITY_LANG`` say otherwise).
        """
        if dates is not None:
            warnings.warn(
                "PermitReport.to_html(dates=...) was never used and will be removed; "
                "the impact dates are those given to check(when=...)",
                FutureWarning,
                stacklevel=2,
            )
        text = report_page(self, images=images, lang=lang)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_bcf(self, path, author: str = "cimcity", statuses=("fail",)):
        """Write one BCF 3.0 topic per failing rule, for the architect's BIM tool.

        Each topic carries the rule, article, measured value and limit, the
        explanation, and a viewpoint aimed at the IFC elements involved (they
        are selected in the viewpoint). Needs ``bcf-client``.

        Parameters
        ----------
        path : str or Path
            ``.bcf`` file to write.
        author : str
            Author (e-mail or name) of the topics.
        statuses : sequence of str
            Row statuses that become topics (default failures only; add
            ``"maybe"`` for the rows to check).

        Returns
        -------
        pathlib.Path
        """
        try:
            from bcf.v3.bcfxml import BcfXml
        except ImportError as exc:
            raise MissingDependencyError(
                f"BCF export needs the bcf-client package ({exc}); install it with: "
                f"pip install bcf-client"
            ) from exc

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        bcf = BcfXml.create_new(
            f"Permit check — {self.project.get('name') or self.project.get('id')}"
        )
        to_project = _to_project_coords(self.bim)
        for _, r in self.results[
            self.results["status"].isin(list(statuses))
        ].iterrows():
            subj = f" ({r['subject']})" if r["subject"] else ""
            lim = "" if not np.isfinite(r["limit"]) else f" / limit {r['limit']:.3g}"
            title = f"{r['article']} {r['rule']}{subj}: {r['measured']:.3g}{lim} {r['unit']}"
            topic = bcf.add_topic(
                title[:250],
                f"{r['explanation']} Zone {r['zone']}; status {r['status']}.",
                author,
                topic_type="Issue",
                topic_status="Open",
            )
            target = _target(self.bim, r["elements"])
            if target is not None:
                topic.add_viewpoint_from_point_and_guids(
                    to_project(target), *[str(g) for g in r["elements"]]
                )
        bcf.save(path)
        bcf.close()
        return path


def _jsonable(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (os.PathLike,)):
        return str(v)
    return str(v)


def _target(bim, elements):
    """Centre of the faces of ``elements`` (world coordinates), else the
    middle of the building; None without geometry."""
    mesh = getattr(bim, "mesh", None)
    if mesh is None or not len(mesh.faces):
        return None
    V = np.asarray(mesh.vertices, float)
    F = np.asarray(mesh.faces, np.int64)
    fe = getattr(bim, "face_element", None)
    E = getattr(bim, "elements", None)
    if elements and fe is not None and E is not None and "global_id" in E.columns:
        rows = np.flatnonzero(
            E["global_id"].astype(str).isin([str(e) for e in elements])
        )
        faces = np.flatnonzero(np.isin(np.asarray(fe), rows))
        if len(faces):
            return V[F[faces]].reshape(-1, 3).mean(axis=0)
    return (V.min(axis=0) + V.max(axis=0)) / 2


def _to_project_coords(bim):
    """Map world (scene CRS) points back to the IFC project's coordinates, the
    frame BCF viewpoints use (inverse of the model's placement matrix)."""
    m = (getattr(bim, "georef", None) or {}).get("matrix")
    if m is None:
        return lambda p: np.asarray(p, float)
    inv = np.linalg.inv(np.asarray(m, float))
    return lambda p: (inv @ np.r_[np.asarray(p, float), 1.0])[:3]
