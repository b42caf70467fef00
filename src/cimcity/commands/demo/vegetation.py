"""Demo step: vegetation versus built, pleine terre and the biotope coefficient
per parcel and zone, parcels below the PLU minimum, the project's effect."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from cimcity import vegetation


def run(scene, out, echo) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt


    res = vegetation.ratios(scene, by="parcel")
    for line in res.summary_lines() + res.weights_lines():
        echo("  " + line)
    files = [
        res.to_file(out / "vegetation_parcels.csv"),
        out / "vegetation_summary.csv",
    ]
    res.by_zone.round(4).to_csv(files[-1])
    zones = vegetation.ratios(scene, by="zone")
    files.append(zones.to_file(out / "vegetation_zones.csv"))

    for lang, suffix in (("fr", ""), ("en", "_en")):
        fig, axes = plt.subplots(2, 1, figsize=(8, 15))  # stacked: long titles
        res.plot("vegetation_share", ax=axes[0], scene=scene, lang=lang)
        res.plot("biotope_coefficient", ax=axes[1], scene=scene, lang=lang)
        files.append(out / f"vegetation_parcels{suffix}.png")
        fig.savefig(files[-1], dpi=110, bbox_inches="tight")
        plt.close(fig)

    failing = res.failing
    if len(failing):
        echo(f"  {len(failing)} parcels below a PLU vegetation minimum; worst:")
        for pid, row in failing.head(3).iterrows():
            echo(
                f"    {pid} ({row['libelle']}): CBS "
                f"{_fmt(row['biotope_coefficient'], '.2f')}; "
                f"{row['what_would_it_take']}"
            )

    out_dict = {
        "parcels": len(res),
        "failing": len(failing),
        "district": {k: v for k, v in res.summary().items() if not isinstance(v, str)},
    }
    pid = scene.meta.get("project_id") or (
        next(iter(scene.projects)) if scene.projects else None
    )
    if pid is not None:
        after = scene.with_project(scene.projects[pid])
        land = scene.parcels.loc[after.meta["project_parcels"]]
        site = gpd.GeoDataFrame(
            geometry=land.geometry.values, index=land.index, crs=scene.crs
        )
        before_r = vegetation.ratios(scene, by=site).units
        after_r = vegetation.ratios(after, by=site).units
        for p in site.index:
            b, a = before_r.loc[p], after_r.loc[p]
            echo(
                f"  project on {p}: built {_fmt(b['built_share'], '.0%')} -> "
                f"{_fmt(a['built_share'], '.0%')}, pleine terre "
                f"{_fmt(b['pleine_terre_share'], '.0%')} -> "
                f"{_fmt(a['pleine_terre_share'], '.0%')}, CBS "
                f"{_fmt(b['biotope_coefficient'], '.2f')} -> "
                f"{_fmt(a['biotope_coefficient'], '.2f')}"
            )
        out_dict["project"] = {
            "parcels": list(site.index),
            "cbs_before": before_r["biotope_coefficient"].tolist(),
            "cbs_after": after_r["biotope_coefficient"].tolist(),
        }
    for f in files:
        echo(f"  wrote {f}")
    out_dict["files"] = [str(f) for f in files]
    return out_dict


def _fmt(value, spec: str) -> str:
    """``value`` in ``spec``, or "unknown" for NaN (a missing layer)."""
    return "unknown" if pd.isna(value) else format(value, spec)
