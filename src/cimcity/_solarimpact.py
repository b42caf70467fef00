"""Before/after solar study: what a project takes from its neighbours
(:func:`cimcity.solar.impact`, re-exported there; split out of ``solar.py`` to
keep modules small)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = ["impact", "SolarImpact"]


# -- before / after ------------------------------------------------------------------------------
def _changed_buildings(before, after):
    """Ids removed from ``before`` and added in ``after`` (changed = both)."""
    import shapely

    B0, B1 = before.buildings, after.buildings
    common = B0.index.intersection(B1.index)
    same = np.zeros(len(common), bool)
    if len(common):
        same = shapely.equals_exact(
            B0.loc[common].geometry.values,
            B1.loc[common].geometry.values,
            tolerance=1e-6,
        )
        for col in ("ground_z", "roof_z", "eave_z"):
            if col in B0.columns and col in B1.columns:
                a = B0.loc[common, col].to_numpy(float)
                b = B1.loc[common, col].to_numpy(float)
                same &= np.isclose(a, b, atol=1e-6) | (np.isnan(a) & np.isnan(b))
    unchanged = set(common[same])
    return [b for b in B0.index if b not in unchanged], [
        b for b in B1.index if b not in unchanged
    ]


def impact(
    before,
    after,
    weather=None,
    start=None,
    end=None,
    spacing: float = 1.0,
    surfaces=("wall", "roof"),
    radius: float | None = 100.0,
    engine: str = "auto",
    **kw,
) -> SolarImpact:
    """Irradiation the neighbours of a project lose (or gain).

    The same sensors are used in both scenes: roofs and facades of the
    buildings that stand unchanged in both, within ``radius`` of the changed
    buildings (the project and what it replaces). Facade sensors that end up
    inside a new building (a wall that becomes a party wall) are flagged
    ``covered`` and left out of the totals.

    Parameters
    ----------
    before, after : Scene
        Typically ``scene`` and ``scene.with_project(bim)``.
    weather, start, end, spacing, surfaces, engine
        As in :func:`irradiance`.
    radius : float or None
        Plan distance from the changed footprints within which sensors are kept
        [m]; None keeps all.
    **kw
        Passed to :func:`irradiance` (``sky``, ``patches``, ``albedo``...).

    Returns
    -------
    SolarImpact
    """
    import shapely

    from .mesh import _buried
    from .solar import irradiance, site_location

    if not before.crs.equals(after.crs):
        raise InputError(
            f"before and after scenes have different CRS ({before.crs.to_string()} vs "
            f"{after.crs.to_string()})"
        )
    removed, added = _changed_buildings(before, after)
    if not removed and not added:
        raise InputError("before and after scenes have the same buildings: no impact")
    S = before.sample(spacing, surfaces)
    keep = np.isin(
        S.building_id.astype(object),
        [b for b in before.buildings.index if b not in set(removed)],
    )
    changed = shapely.union_all(
        list(before.buildings.geometry.reindex(removed).dropna().values)
        + list(after.buildings.geometry.reindex(added).dropna().values)
    )
    if radius is not None:
        d = shapely.distance(shapely.points(S.points[:, 0], S.points[:, 1]), changed)
        keep &= d <= radius
    pts, nrm = S.points[keep], S.normals[keep]
    if not len(pts):
        raise InputError(
            f"no neighbour sensors within radius={radius} m of the project"
        )
    loc = kw.pop("location", None) or site_location(before)
    common = dict(
        weather=weather,
        start=start,
        end=end,
        points=pts,
        normals=nrm,
        engine=engine,
        location=loc,
        **kw,
    )
    r0 = irradiance(before, **common)
    r1 = irradiance(after, **common)
    A = after.buildings.reindex(added)
    covered = (
        _buried(
            pts, np.full(len(pts), -1), A.geometry.values, A["roof_z"].to_numpy(float)
        )
        if len(A)
        else np.zeros(len(pts), bool)
    )
    frame = r0.sensors.drop(
        columns=["irradiation", "direct", "diffuse", "reflected", "sky_view"]
    )
    frame["kind"] = S.kind[keep]
    frame["building_id"] = S.building_id[keep]
    frame["area"] = S.areas[keep]
    frame["face"] = S.face[keep]
    frame["before"] = r0.sensors["irradiation"].to_numpy()
    frame["after"] = r1.sensors["irradiation"].to_numpy()
    frame["delta"] = frame["after"] - frame["before"]
    frame["sky_view_before"] = r0.sensors["sky_view"].to_numpy()
    frame["sky_view_after"] = r1.sensors["sky_view"].to_numpy()
    frame["covered"] = covered
    meta = {
        "removed": removed,
        "added": added,
        "radius": radius,
        "before": r0.meta,
        "after": r1.meta,
    }
    return SolarImpact(frame, meta, before, after)


class SolarImpact:
    """Result of :func:`impact`.

    Attributes
    ----------
    sensors : geopandas.GeoDataFrame
        One row per neighbour sensor: position, normal, ``kind``,
        ``building_id``, ``area`` [m²], ``before``, ``after``, ``delta``
        [kWh/m² over the period], ``sky_view_before``/``_after``, ``covered``.
    meta : dict
        Buildings removed/added, radius, settings of both runs.
    """

    def __init__(self, sensors, meta, before=None, after=None):
        self.sensors = sensors
        self.meta = meta
        self.before = before
        self.after = after

    @property
    def by_building(self) -> pd.DataFrame:
        """Per neighbour building and surface kind: ``area`` [m²],
        ``before``/``after``/``delta`` [kWh over the period] and ``delta_pct``."""
        S = self.sensors[~self.sensors["covered"]]
        e = S.assign(
            before=S["before"] * S["area"],
            after=S["after"] * S["area"],
            delta=S["delta"] * S["area"],
        )
        g = e.groupby(["building_id", "kind"])[
            ["area", "before", "after", "delta"]
        ].sum()
        g["delta_pct"] = 100.0 * g["delta"] / g["before"].where(g["before"] > 0)
        return g.sort_values("delta")

    def summary(self) -> dict:
        """Totals per surface kind [kWh over the period and %]."""
        S = self.sensors[~self.sensors["covered"]]
        out = {
            "sensors": len(self.sensors),
            "covered": int(self.sensors["covered"].sum()),
            "buildings": int(S["building_id"].nunique()),
            "added": self.meta["added"],
            "removed": self.meta["removed"],
        }
        for kind, k in S.groupby("kind"):
            b = float((k["before"] * k["area"]).sum())
            a = float((k["after"] * k["area"]).sum())
            out[f"{kind}_before_kwh"] = round(b, 0)
            out[f"{kind}_after_kwh"] = round(a, 0)
            out[f"{kind}_delta_pct"] = round(100 * (a - b) / b, 2) if b > 0 else 0.0
        return out

    def __repr__(self) -> str:
        s = self.summary()
        parts = [
            f"{k[:-10]} {v:+.2f} %" for k, v in s.items() if k.endswith("_delta_pct")
        ]
        return (
            f"<SolarImpact {s['sensors']:,} sensors on {s['buildings']} neighbours: "
            f"{', '.join(parts)}>"
        )

    def plot(self, kinds=("wall", "roof"), ax=None, cmap="RdBu", vmax=None):
        """Top-view map of ``delta`` [kWh/m²] (blue: gain, red: loss)."""
        from ._compat import import_optional

        plt = import_optional("matplotlib.pyplot")
        S = self.sensors[
            self.sensors["kind"].isin(list(kinds)) & ~self.sensors["covered"]
        ]
        S = S.sort_values("delta", ascending=False)
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 7))
        if self.after is not None:
            B = self.after.buildings
            B.boundary.plot(ax=ax, color="0.6", linewidth=0.4)
            added = B.reindex(self.meta["added"]).dropna(subset=["geometry"])
            if len(added):
                added.plot(ax=ax, color="#f28c28", alpha=0.6)
        v = vmax or float(np.nanpercentile(np.abs(S["delta"]), 98)) or 1.0
        sc = ax.scatter(
            S["x"],
            S["y"],
            c=S["delta"],
            cmap=cmap,
            vmin=-v,
            vmax=v,
            s=3,
            marker="s",
            linewidths=0,
        )
        plt.colorbar(sc, ax=ax, shrink=0.8, label="after - before [kWh/m²]")
        ax.set_aspect("equal")
        ax.set_title("Irradiation change on neighbours (orange: project)")
        return ax

    def to_file(self, path, what: str = "sensors"):
        """Write ``sensors`` (.gpkg/.csv/.parquet) or ``buildings`` (.csv)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if what == "buildings":
            self.by_building.to_csv(path)
            return path
        if what != "sensors":
            raise InputError(
                f"unknown what={what!r}; expected 'sensors' or 'buildings'"
            )
        t = self.sensors.copy()
        t["building_id"] = t["building_id"].astype(str)
        suffix = path.suffix.lower()
        if suffix == ".gpkg":
            t.to_file(path, layer="sensors", driver="GPKG")
        elif suffix == ".parquet":
            t.to_parquet(path)
        elif suffix == ".csv":
            pd.DataFrame(t.drop(columns="geometry")).to_csv(path)
        else:
            raise InputError(
                f"unsupported file type {suffix!r}; expected .gpkg, .parquet or .csv"
            )
        return path
