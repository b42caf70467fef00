"""Demo step: solar maps of the sample district (roofs and facades, kWh/m²/yr:
a 2D map of the roofs in French and English on the scene's layers, a 3D view)
and a table of the best roofs for PV."""

from __future__ import annotations

import time

from cimcity import i18n, solar

i18n.add_terms(
    {
        "demo_solar_3d_title": (
            "Annual irradiation of roofs and facades",
            "Irradiation annuelle des toits et façades",
        ),
        "demo_clear_sky_bound": (
            "clear sky: upper bound",
            "ciel clair : borne haute",
        ),
    }
)

#: sensor spacing of the demo map [m] (1 m in studies; 2 m keeps the demo short)
SPACING = 2.0
#: buildings listed in best_roofs.csv
N_BEST = 20
#: pixels of the 3D map
WINDOW = (1600, 1000)


def run(scene, out, echo) -> dict:

    t0 = time.perf_counter()
    # Tregenza patches double as sun bins: one visibility matrix for sky and sun
    res = solar.irradiance(scene, spacing=SPACING, sun_bins="tregenza", progress=False)
    m = res.meta
    s = res.summary()
    echo(
        f"  weather: {m['weather']['source']} at {m['location'][0]:.4f} N "
        f"{m['location'][1]:.4f} E, {m['hours']:g} h, GHI {m['weather']['ghi_kwh_m2']} "
        f"kWh/m2"
        + (
            " -- clear sky: an UPPER BOUND (no clouds); use "
            "`cimcity solar --weather file.epw` for a real year"
            if m["upper_bound"]
            else ""
        )
    )
    echo(
        f"  {s['sensors']:,} sensors at {SPACING:g} m ({s.get('roof_sensors', 0):,} roof, "
        f"{s.get('wall_sensors', 0):,} facade), {m['rays_traced']:,} rays "
        f"({m['engine']}), {m['timings_s']['total_s']:.1f} s"
    )
    echo(
        f"  mean irradiation: roofs {s.get('roof_mean_kwh_m2')} kWh/m2, facades "
        f"{s.get('wall_mean_kwh_m2')} kWh/m2"
    )
    B = res.by_building
    fav = float(B["roof_favourable_area"].sum())
    echo(
        f"  favourable roofs (>= {solar.FAVOURABLE_KWH_M2:g} kWh/m2/yr): {fav:,.0f} m2 of "
        f"{float(B['roof_area'].sum()):,.0f} m2; PV estimate {B['pv_kwh'].sum() / 1e6:.2f} "
        f"GWh/yr (efficiency {solar.PV_EFFICIENCY:.0%}, PR {solar.PERFORMANCE_RATIO:.0%})"
    )
    best = res.best_roofs(N_BEST)
    best.round(1).to_csv(out / "best_roofs.csv")
    res.to_file(out / "solar_buildings.csv", layer="buildings")
    top = best.index[0]
    echo(
        f"  best roof: {top} ({best.loc[top, 'roof_area']:.0f} m2, "
        f"{best.loc[top, 'roof_mean']:.0f} kWh/m2, {best.loc[top, 'pv_kwh'] / 1e3:.0f} MWh/yr)"
    )
    files = [out / "best_roofs.csv", out / "solar_buildings.csv"]
    files += _maps(res, out)
    try:
        bound = f" ({i18n.term('demo_clear_sky_bound')})" if m["upper_bound"] else ""
        files.append(
            res.render(
                out / "solar_map.png",
                camera="iso",
                title=f"{i18n.term('demo_solar_3d_title')} [kWh/m²]{bound}",
            )
        )
    except ImportError as exc:  # pyvista missing: keep the tables
        echo(f"  no 3D map ({exc})")
    for f in files:
        echo(f"  wrote {f}")
    return {
        "summary": s,
        "favourable_roof_area_m2": round(fav, 1),
        "best_roof": str(top),
        "files": [str(f) for f in files],
        "wall_time_s": round(time.perf_counter() - t0, 1),
    }


def _maps(res, out) -> list:
    """2D maps of the roofs' annual irradiation, French and English, on the
    scene's layers (the result's scene is the base)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    for lang, suffix in (("fr", ""), ("en", "_en")):
        fig, ax = plt.subplots(figsize=(8, 8))
        res.plot(ax=ax, lang=lang)
        path = out / f"solar_roofs{suffix}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        files.append(path)
    return files
