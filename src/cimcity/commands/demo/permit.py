"""Demo step: check the sample's IFC project against the PLU of its parcel, then
a modified project (one floor more, built 3 m deeper) that breaks rules; write
both reports (HTML in French, the default language, and in English; JSON)."""

from __future__ import annotations

import time

from cimcity import permit


def run(scene, out, echo) -> dict:

    if not scene.projects:
        echo("  no IFC project in the sample (ifc extra missing?): permit step skipped")
        return {"skipped": "no project"}
    pid = scene.meta.get("project_id") or next(iter(scene.projects))
    bim = scene.projects[pid]
    t0 = time.perf_counter()
    report = permit.check(bim, scene)
    t1 = time.perf_counter()
    echo(f"  checked {bim.name or pid} in {t1 - t0:.1f} s")
    for line in report.summary_text().splitlines():
        echo("  " + line)
    html = out / "permit_report.html"
    js = out / "permit_report.json"
    report.to_html(html)
    report.to_html(out / "permit_report_en.html", lang="en")
    report.to_json(js)
    echo(
        f"  wrote {html.name} ({html.stat().st_size / 1e6:.1f} MB) and {js.name} "
        f"in {time.perf_counter() - t1:.1f} s"
    )

    # the instructor's what-if: one more floor and a 3 m deeper building
    variant = permit.variant(
        bim,
        add_storeys=1,
        extend=(0.0, 3.0),
        name=f"{bim.name or pid} + 1 niveau, 3 m plus profond",
    )
    bad = permit.check(
        variant, scene, parcels=report.land_info["parcels"], impact=False
    )
    vhtml = out / "permit_report_variant.html"
    vjs = out / "permit_report_variant.json"
    bad.to_html(vhtml)
    bad.to_html(out / "permit_report_variant_en.html", lang="en")
    bad.to_json(vjs)
    fails = bad.failures
    echo(
        f"  variant ({variant.name}): {len(fails)} rule(s) fail: "
        + ", ".join(
            f"{r.article} {r.rule} ({r.measured:.2f} vs {r.limit:.2f} {r.unit})"
            for r in fails.itertuples()
        )
    )
    echo(f"  wrote {vhtml.name}, {vjs.name} and the English pages (*_en.html)")
    return {
        "project": bim.name or pid,
        "passed": report.passed,
        "counts": report.counts,
        "variant_failures": fails["rule"].tolist(),
        "files": [
            str(p)
            for p in (
                html,
                out / "permit_report_en.html",
                js,
                vhtml,
                out / "permit_report_variant_en.html",
                vjs,
            )
        ],
    }
