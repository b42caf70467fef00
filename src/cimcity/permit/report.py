"""PermitReport: the result of a permit check, with JSON and HTML export."""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

#: result statuses, from best to worst knowledge
STATUSES = ("pass", "fail", "maybe", "not_checkable")


# ---------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------
@dataclass(eq=False)
class PermitReport:
    """Result of :func:`check`: one row per rule (and per limit for setbacks).

    Attributes
    ----------
    results : DataFrame
        Columns ``rule``, ``article``, ``subject`` (what the row is about, e.g.
        ``"left side limit"``), ``status`` (``pass`` / ``fail`` / ``maybe`` /
        ``not_checkable``), ``measured``, ``limit``, ``unit``, ``elements``
        (list of IFC GlobalIds), ``explanation`` (one sentence), ``zone``,
        ``location`` (where the worst point is, when it applies).
    project : dict
        Identification: id, name, file, schema, georeference, height, footprint.
    site : dict
        Parcels, terrain area [m²], zone(s), rule pack.
    limits : GeoDataFrame
        Classified limits of the terrain (see :func:`classify_limits`).
    impact : DataFrame or None
        Neighbour impact per receiving surface (sun hours before/after/lost).
    """

    results: pd.DataFrame
    project: dict = field(default_factory=dict)
    site: dict = field(default_factory=dict)
    limits: gpd.GeoDataFrame | None = None
    terrain: object = None
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

    # -- verdict ----------------------------------------------------------------------
    @property
    def passed(self) -> bool:
        """True when no rule fails (``maybe`` and ``not_checkable`` rows do not
        fail the project, but are listed by :meth:`summary`)."""
        return not (self.results["status"] == "fail").any()

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

    def summary(self) -> str:
        """A few lines for a terminal or a log: verdict, counts, failing rules."""
        c = self.counts
        verdict = "PASSES" if self.passed else "FAILS"
        zone = self.site.get("zone") or "?"
        lines = [
            f"Project {self.project.get('name') or self.project.get('id')!s} on parcel(s) "
            f"{', '.join(map(str, self.site.get('parcels', []))) or '?'} (zone {zone}): "
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
            f"zone={self.site.get('zone')!r} passed={self.passed} "
            f"({c['pass']} pass, {c['fail']} fail, {c['maybe']} maybe, "
            f"{c['not_checkable']} not checkable)>"
        )

    # -- export -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain JSON-able dict: identification, verdict, rows, limits, impact."""
        rows = []
        for r in self.results.to_dict("records"):
            rows.append({k: _jsonable(v) for k, v in r.items()})
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
        from .. import __version__

        return {
            "format": "cimcity-permit-report",
            "version": 1,
            "cimcity": __version__,
            "created": self.created,
            "project": {k: _jsonable(v) for k, v in self.project.items()},
            "site": {k: _jsonable(v) for k, v in self.site.items()},
            "passed": self.passed,
            "complete": self.complete,
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
            File to write; only the string is returned when None.
        """
        text = json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_html(self, path=None, images: bool = True, dates=None) -> str:
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
        """
        from ..report_html import report_html

        text = report_html(self, images=images)
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
            from ..errors import MissingDependencyError

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

    def _repr_html_(self) -> str:
        from ..report_html import results_table

        c = self.counts
        head = (
            f"<p><b>cimcity permit check</b> — {self.project.get('name') or ''} "
            f"zone {self.site.get('zone')}: <b>{'passes' if self.passed else 'fails'}</b> "
            f"({c['pass']} pass, {c['fail']} fail, {c['maybe']} maybe, "
            f"{c['not_checkable']} not checkable)</p>"
        )
        return head + results_table(self.results)

    def plot(self, ax=None):
        """Site plan (matplotlib): terrain, classified limits, the project and
        the worst distances. Returns the Axes."""
        from ..report_html import plot_site

        return plot_site(self, ax=ax)


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
