"""Demo step: Seine flood scenarios on the sample district (2016, 1910, 1910 + 1 m)."""

from __future__ import annotations

import numpy as np

from cimcity import flood


def run(scene, out, echo) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt


    t = scene.terrain
    if t is None:
        echo("  the scene has no terrain: nothing to flood")
        return {}
    sources = scene.layers.get("water")  # flood from the river, not from any low corner
    echo(
        f"  terrain {t!r}; sources: {'river layer' if sources is not None else 'lowest edge'}"
    )
    levels = [
        flood.scenario("2016"),
        flood.scenario("1910"),
        flood.Level(flood.scenario("1910").value + 1.0, "NGF-IGN69", name="1910 + 1 m"),
    ]
    files, rows = [], []
    for lv in levels:
        f = flood.extent(t, lv, sources=sources)
        e = flood.exposure(scene, f)
        s, es = f.summary(), e.summary()
        tag = lv.name.replace(" ", "").replace("+", "p")
        echo(
            f"  {s['level']}: {f.area / 1e4:.2f} ha, {f.volume:,.0f} m3, max depth "
            f"{f.max_depth:.2f} m; buildings reached {es['flooded_buildings']}/"
            f"{es['buildings']}"
            + (
                f" ({es['unknown_buildings']} unknown: no DEM data)"
                if es["unknown_buildings"]
                else ""
            )
            + f", with flooded storeys {es['buildings_with_flooded_storeys']} "
            f"({'unknown' if es['flooded_storeys'] is None else es['flooded_storeys']}"
            " storeys)"
        )
        for lang in ("fr", "en") if lv.name == "1910" else ("fr",):
            fig, ax = plt.subplots(figsize=(8, 8))
            e.plot(ax=ax, scene=scene, lang=lang)
            p = out / f"flood_{tag}_map{'' if lang == 'fr' else '_en'}.png"
            fig.savefig(p, dpi=130, bbox_inches="tight")
            plt.close(fig)
            files.append(p)
        files.append(e.to_file(out / f"flood_{tag}_exposure.csv"))
        rows.append({"scenario": lv.name, "level_m": lv.value, **s, **es})
        if lv.name == "1910":
            files.append(f.to_file(out / "flood_1910_depth.tif"))
            files.append(
                e.zones.drop(columns="geometry").pipe(
                    _csv, out / "flood_1910_zones.csv"
                )
            )
            try:
                files.append(
                    f.render(out / "flood_1910_3d.png", scene=scene, exposure=e)
                )
            except Exception as exc:  # no OpenGL: keep the 2D outputs
                echo(f"  3D view skipped ({type(exc).__name__}: {exc})")
    readings = np.round(np.arange(4.0, 10.01, 0.25), 2)
    swept = flood.sweep(t, flood.gauge_level(readings), scene=scene, sources=sources)
    table = swept.table
    table.to_csv(out / "flood_sweep.csv", index=False)
    files.append(out / "flood_sweep.csv")
    for lang, suffix in (("fr", ""), ("en", "_en")):
        ax = swept.plot(x="gauge_reading", lang=lang)
        ax.figure.savefig(out / f"flood_sweep{suffix}.png", dpi=130, bbox_inches="tight")
        plt.close(ax.figure)
        files.append(out / f"flood_sweep{suffix}.png")
    first = table.loc[table["flooded_buildings"] > 0, "gauge_reading"]
    if len(first):
        echo(
            f"  first building reached at {first.iloc[0]:.2f} m on the Austerlitz gauge"
        )
    for p in files:
        echo(f"  wrote {p}")
    return {"scenarios": rows, "files": [str(p) for p in files]}


def _csv(df, path):
    df.to_csv(path)
    return path
