"""Permit reports: the demo step's HTML/JSON on the sample (French by default,
English on request), headless Chromium, the ``cimcity check`` CLI (exit codes
0 / 1 / 2) and BCF topics."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cimcity import permit
from cimcity.cli import main as cli_main

CHROMIUM = next(
    (
        p
        for p in (
            "/usr/bin/chromium",
            shutil.which("chromium") or "",
            shutil.which("chromium-browser") or "",
            shutil.which("google-chrome") or "",
        )
        if p and Path(p).exists()
    ),
    None,
)
# the variant of the demo: one floor more and 3 m deeper (see cimcity/commands/demo/permit.py);
# with the sample pack it breaks exactly these rules (geometry in test_permit.py)
VARIANT_FAILS = {
    "rear_setback",
    "envelope",
    "min_green_share",
    "min_biotope_coefficient",
    "max_floor_area_ratio",
}


@pytest.fixture(scope="module")
def demo(paris, tmp_path_factory):
    """Run the demo step once; the tests read its files."""
    from cimcity.commands.demo import permit as step

    if not paris.projects:
        pytest.skip("the sample has no IFC project (ifcopenshell missing)")
    out = tmp_path_factory.mktemp("permit_demo")
    lines = []
    summary = step.run(paris, out, lines.append)
    return out, summary, lines


def test_demo_step_writes_both_reports(demo):
    out, summary, lines = demo
    assert summary["passed"] is True
    assert set(summary["variant_failures"]) == VARIANT_FAILS
    for name in (
        "permit_report.html",
        "permit_report_en.html",
        "permit_report.json",
        "permit_report_variant.html",
        "permit_report_variant_en.html",
        "permit_report_variant.json",
    ):
        assert (out / name).stat().st_size > 1000, name
    assert any("PASSES" in x for x in lines)


def _images(html):
    return re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)


def test_html_is_self_contained_and_complete(demo):
    from PIL import Image

    out, _, _ = demo
    html = (out / "permit_report_en.html").read_text(encoding="utf-8")
    data = json.loads((out / "permit_report.json").read_text(encoding="utf-8"))
    # nothing fetched from the network: no external src/href, no script
    assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:)?//""", html)
    assert "<script" not in html.lower()
    # identification, every rule row with its article, and the figures
    assert data["project"]["name"] in html and data["land"]["parcels"][0] in html
    for r in data["results"]:
        assert r["article"] in html
    imgs = _images(html)
    # site plan, section, two 3D views, neighbour impact maps
    assert len(imgs) >= 5
    for b64 in imgs:
        im = Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGB")
        a = np.asarray(im, float)
        assert a.std(axis=(0, 1)).max() > 10, "an embedded image is blank"
    # a pass banner only with the core articles checked (the sample's are)
    assert data["core_checked"] and data["verdict"] == "passes"
    assert (
        "complies with every rule" in html
        if data["complete"]
        else "The core articles pass" in html
    )
    # the variant page shows one FAIL badge per failing row and the fail verdict
    bad = (out / "permit_report_variant_en.html").read_text(encoding="utf-8")
    vjs = json.loads((out / "permit_report_variant.json").read_text(encoding="utf-8"))
    n_fail = sum(r["status"] == "fail" for r in vjs["results"])
    assert bad.count(">FAIL</span>") == n_fail == vjs["counts"]["fail"]
    assert f"breaks {n_fail} rule(s)" in bad
    assert '<html lang="en">' in html


#: words of the English page that must not reach the French one (badges,
#: verdicts, headings)
ENGLISH_WORDS = (
    ">PASS<", ">FAIL<", ">CHECK<", "NOT CHECKABLE", "complies", "breaks",
    "Incomplete", "Explanation", "Measured", "Site plan", "View from the street",
    "Method and notes", "Footprint ratio",
)


def test_french_report_is_the_default_and_fileable(demo):
    """The demo's default pages are French: the verdict words of an
    instructor (conforme / non conforme), the field's terms (emprise au sol,
    prospect, gabarit-enveloppe, limite séparative), decimal commas, and no
    English badge, verdict or heading left."""
    out, _, _ = demo
    fr = (out / "permit_report.html").read_text(encoding="utf-8")
    bad = (out / "permit_report_variant.html").read_text(encoding="utf-8")
    vjs = json.loads((out / "permit_report_variant.json").read_text(encoding="utf-8"))
    for page in (fr, bad):
        assert '<html lang="fr">' in page
        for word in ENGLISH_WORDS:
            assert word not in page, word
        for term in ("Emprise au sol", "Gabarit-enveloppe", "limites séparatives",
                     "alignement", "Pleine terre", "Hauteur maximale"):
            assert term in page, term
    assert "Le projet est conforme à toutes les règles" in fr or (
        "Les articles essentiels sont conformes" in fr
    )
    n_fail = vjs["counts"]["fail"]
    assert bad.count(">NON CONFORME</span>") == n_fail == 5
    assert f"Le projet n'est pas conforme à {n_fail} règle(s)" in bad
    assert bad.count(">CONFORME</span>") == vjs["counts"]["pass"]
    # the rear prospect row in French, with the same numbers as the table
    rear = next(r for r in vjs["results"] if r["rule"] == "rear_setback")
    meas = f"{rear['measured']:.2f}".replace(".", ",")
    lim = f"{rear['limit']:.2f}".replace(".", ",")
    assert f"<td class='num'>{meas}</td><td class='num'>{lim}</td>" in bad
    assert "limite de fond de parcelle ; le prospect exigé est max(" in bad
    assert f"= {lim} m." in bad


def test_json_report_structure(demo):
    out, _, _ = demo
    d = json.loads((out / "permit_report.json").read_text(encoding="utf-8"))
    assert d["format"] == "cimcity-permit-report" and d["passed"] is True
    cols = {
        "rule",
        "article",
        "subject",
        "status",
        "measured",
        "limit",
        "unit",
        "elements",
        "explanation",
        "zone",
        "location",
    }
    assert all(cols <= set(r) for r in d["results"])
    assert {r["status"] for r in d["results"]} <= set(permit.STATUSES)
    assert d["impact"] and d["impact"][0]["lost_h"] > 0


@pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary (apt-get install chromium)"
)
def test_html_report_renders_in_headless_chromium(demo, tmp_path):
    from PIL import Image

    from cimcity.render import figure_is_blank

    out, _, _ = demo
    png = tmp_path / "shot.png"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-unsafe-swiftshader",
        "--use-angle=swiftshader",
        "--disable-background-networking",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={png}",
        "--window-size=1280,3400",  # the French table is longer
        (out / "permit_report_variant.html").as_uri(),
    ]
    subprocess.run(cmd, check=False, capture_output=True, timeout=120)
    assert png.exists(), "chromium wrote no screenshot"
    assert not figure_is_blank(png)
    a = np.asarray(Image.open(png).convert("RGB")).astype(int)
    # the table is drawn: the red FAIL badges (#b3261e) and the green PASS
    # badges (#1b7f3b) are on screen
    for rgb in ((0xB3, 0x26, 0x1E), (0x1B, 0x7F, 0x3B)):
        assert (np.abs(a - rgb).sum(axis=2) < 12).sum() > 50, rgb
    # and an image: the orange of the project in the site plan / 3D views
    orange = (
        (a[..., 0] > 200) & (a[..., 1] > 110) & (a[..., 1] < 190) & (a[..., 2] < 110)
    )
    assert orange.sum() > 500


# ---------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------
def _sample_args(paris, out, *extra, rules=None):
    d = Path(paris.meta["sample_path"])
    return [
        "check",
        str(d / "projet_r7.ifc"),
        "--parcels",
        str(d / "cadastre-75117-parcelles.json"),
        "--zones",
        str(d / "zone_urba.gpkg"),
        "--rules",
        str(rules or d / "plu_rules.toml"),
        "--terrain",
        str(d / "dem_1m.tif"),
        "--roads",
        str(d / "troncon_de_route.gpkg"),
        "--vegetation",
        str(d / "vegetation.gpkg"),
        "--out",
        str(out),
        "--no-impact",
        "--no-images",
        *extra,
    ]


def test_cli_passes_on_the_sample(paris, tmp_path, capsys):
    if not paris.projects:
        pytest.skip("the sample has no IFC project (ifcopenshell missing)")
    man = paris.meta
    place = __import__("cimcity").datasets.manifest()["project_placement"]
    # an explicit placement equal to the file's map conversion gives the same result
    xyz = f"{place['eastings']},{place['northings']},{place['orthogonal_height']},0"
    code = cli_main(_sample_args(paris, tmp_path / "r.html", "--placement", xyz))
    text = capsys.readouterr().out
    assert code == 0, text
    assert "PASSES" in text and man["vacant_parcel"] in text
    d = json.loads((tmp_path / "r.json").read_text())
    assert d["passed"] and d["project"]["georeference"] == "user_placement"


def test_cli_exit_1_when_a_rule_fails_and_bcf(paris, tmp_path, capsys):
    pytest.importorskip("bcf", reason="BCF export needs bcf-client")
    if not paris.projects:
        pytest.skip("the sample has no IFC project (ifcopenshell missing)")
    d = Path(paris.meta["sample_path"])
    strict = tmp_path / "strict.toml"
    text = (d / "plu_rules.toml").read_text(encoding="utf-8")
    # UG NGF ceiling at 50 m: the project's top at 58.93 m NGF fails UG.10.3 only
    old = "[zones.UG.max_altitude]\nvalue = 75.0"
    assert old in text
    strict.write_text(
        text.replace(old, "[zones.UG.max_altitude]\nvalue = 50.0"), encoding="utf-8"
    )
    code = cli_main(
        _sample_args(
            paris, tmp_path / "r.html", "--bcf", str(tmp_path / "r.bcf"), rules=strict
        )
    )
    out = capsys.readouterr().out
    assert code == 1, out
    assert "FAIL" in out and "UG.10.3" in out
    from bcf.v3.bcfxml import BcfXml

    bcf = BcfXml.load(tmp_path / "r.bcf")  # keep it open while topics are read
    topics = list(bcf.topics.values())
    assert len(topics) == 1 and topics[0].topic.title.startswith("UG.10.3 max_altitude")
    guids = next(iter(topics[0].viewpoints.values())).get_selected_guids()
    bim = paris.projects[paris.meta["project_id"]]
    assert guids and set(guids) <= set(bim.elements["global_id"])


@pytest.mark.parametrize("bad", [("--placement", "1,2"), ("--rules", "missing.toml")])
def test_cli_exit_2_on_bad_input(paris, tmp_path, capsys, bad):
    args = _sample_args(paris, tmp_path / "r.html")
    i = args.index(bad[0]) if bad[0] in args else None
    if i is None:
        args += list(bad)
    else:
        args[i + 1] = str(tmp_path / bad[1])
    code = cli_main(args)
    err = capsys.readouterr().err.strip()
    assert err.startswith("cimcity check: error:")
    assert code == 2
    assert len(err.splitlines()) == 1 and ("placement" in err or "missing.toml" in err)


def test_cli_unplaced_ifc_is_reported_not_passed(paris, tmp_path, capsys, shared_data):
    # IfcOpenHouse has no georeference at all: the report says so, exit code 3
    # (incomplete: written, no verdict), never 0
    ifc = shared_data / "ifc" / "IfcOpenHouse_IFC4.ifc"
    args = _sample_args(paris, tmp_path / "r.html")
    args[1] = str(ifc)
    code = cli_main(args)
    cap = capsys.readouterr()
    assert code == 3, cap.out
    assert "INCOMPLETE" in cap.out
    assert "incomplete" in cap.err and len(cap.err.strip().splitlines()) == 1
    d = json.loads((tmp_path / "r.json").read_text())
    assert {r["status"] for r in d["results"]} == {"not_checkable"}
    assert d["results"][0]["rule"] == "georeference"
    assert d["passed"] is False and d["verdict"] == "incomplete" and d["exit_code"] == 3
    page = (tmp_path / "r.html").read_text()
    # the page is French by default: incomplete, never "conforme"
    assert "Incomplet — sans conclusion" in page and "est conforme" not in page
    # --lang en: the same report in English
    assert cli_main([*args, "--lang", "en"]) == 3
    capsys.readouterr()
    page = (tmp_path / "r.html").read_text()
    assert '<html lang="en"' in page and "Incomplete — no verdict" in page
    assert "Incomplet —" not in page


# ---------------------------------------------------------------------------------
# the result protocol
# ---------------------------------------------------------------------------------
def test_permit_report_follows_the_result_protocol(tmp_path):
    import geopandas as gpd
    import pandas as pd

    from cimcity.errors import InputError
    from cimcity.results import Result
    from test_permit import project, street_scene

    r = permit.check(
        permit.variant(project(), extra_height=3.0), street_scene(), impact=False
    )
    assert isinstance(r, Result)
    assert r.table is r.results and list(r.tables()) == ["results", "limits", "impact"]
    s = r.summary()
    assert isinstance(s, dict)
    assert s["passed"] is False and s["n_fail"] == 2 and s["zone"] == "UG"
    assert s["failing_rules"] == "rear_setback, envelope"
    assert all(v is None or type(v) in (bool, int, float, str) for v in s.values())
    assert "FAILS" in r.summary_text() and "envelope" in r.summary_text()
    assert ">NON CONFORME</span>" in r._repr_html_()  # French by default
    # tables by suffix, parent folders created
    out = r.to_file(tmp_path / "a" / "rules.csv")
    assert len(pd.read_csv(out)) == len(r.results)
    lim = r.to_file(tmp_path / "b" / "report.gpkg", layer="limits")
    assert set(gpd.read_file(lim, layer="limits")["kind"]) == {"street", "side", "rear"}
    with pytest.raises(InputError, match="layer"):
        r.to_file(tmp_path / "x.gpkg", layer="impact")  # not computed
    with pytest.raises(InputError, match="suffix|file type"):
        r.to_file(tmp_path / "x.xyz")
    # plot: the site plan on the given axes; the old positional ax still works
    plt = pytest.importorskip("matplotlib.pyplot")
    fig, ax = plt.subplots()
    assert r.plot(ax=ax) is ax
    with pytest.warns(FutureWarning, match="ax="):
        assert r.plot(ax) is ax
    with pytest.raises(InputError, match="column"):
        r.plot("status")
    assert r.plot_section() is not None
    plt.close("all")


def test_permit_report_render_writes_a_3d_view(tmp_path):
    pytest.importorskip("pyvista")
    from cimcity.errors import InputError
    from cimcity.render import figure_is_blank
    from test_permit import project, street_scene

    r = permit.check(project(), street_scene(), impact=False)
    png = r.render(tmp_path / "views" / "street.png")
    assert png.exists() and not figure_is_blank(png)
    with pytest.raises(InputError, match="street"):
        r.render(view="sky")


def test_cli_id_column_of_the_neighbours(paris, tmp_path, capsys):
    # --id-column reaches the buildings reader: a column the file lacks is bad
    # input (exit 2, named); 'none' asks for generated ids and the check runs
    d = Path(paris.meta["sample_path"])
    place = __import__("cimcity").datasets.manifest()["project_placement"]
    xyz = f"{place['eastings']},{place['northings']},{place['orthogonal_height']},0"
    base = [*_sample_args(paris, tmp_path / "r.html", "--placement", xyz),
            "--buildings", str(d / "batiment.gpkg")]
    assert cli_main([*base, "--id-column", "no_such_column"]) == 2
    assert "no_such_column" in capsys.readouterr().err
    assert cli_main([*base, "--id-column", "none"]) == 0, capsys.readouterr().out


# ---------------------------------------------------------------------------------
# languages
# ---------------------------------------------------------------------------------
_NUMBER = re.compile(r"-?\d[\d\u202f]*(?:[.,]\d+)?")


def _numbers(text, decimal):
    out = []
    for n in _NUMBER.findall(text):
        n = n.replace("\u202f", "")
        out.append(float(n.replace(",", ".") if decimal == "," else n.replace(",", "")))
    return out


@pytest.fixture(scope="module")
def variant_report():
    from test_permit import project, street_scene

    return permit.check(
        permit.variant(project(), extra_height=3.0), street_scene(), impact=False
    )


def test_explanations_in_french_say_what_the_english_table_says(variant_report):
    """Each check writes its sentence in both languages from the same values:
    the French text carries exactly the numbers of the English one (decimal
    comma), and the table keeps the English text scripts read."""
    r = variant_report
    both = r.context["explanations"]
    assert set(both) == set(r.results.index)  # every row of every check
    for i, row in r.results.iterrows():
        en, fr = both[i]["en"], both[i]["fr"]
        assert en == row["explanation"]
        assert fr != en, row["rule"]
        assert _numbers(fr, ",") == pytest.approx(_numbers(en, ".")), (en, fr)
        assert r.explanation(i, "fr") == fr and r.explanation(i, "en") == en
    # the field's words
    fr = {row["rule"]: r.explanation(i, "fr") for i, row in r.results.iterrows()}
    assert fr["max_footprint_ratio"].startswith("Emprise au sol de ")
    assert "limite de fond de parcelle ; le prospect exigé" in fr["rear_setback"]
    assert fr["envelope"].startswith("La construction sort du gabarit-enveloppe")
    # a table edited by hand keeps its own text (never a stale translation)
    edited = r.results.copy()
    edited.loc[0, "explanation"] = "checked by hand"
    from cimcity.permit.html import explanation_text

    assert explanation_text(r, 0, edited.loc[0], "fr") == "checked by hand"


def test_report_language_follows_lang_and_the_package_default(variant_report, monkeypatch):
    from cimcity import i18n

    monkeypatch.delenv("CIMCITY_LANG", raising=False)
    r = variant_report
    try:
        i18n.set_language(None)
        fr = r.to_html(images=False)
        assert '<html lang="fr">' in fr and ">NON CONFORME</span>" in fr
        assert "Implantation par rapport au fond de parcelle (prospect)" in fr
        en = r.to_html(images=False, lang="en")
        assert '<html lang="en">' in en and ">FAIL</span>" in en
        assert "NON CONFORME" not in en and "Rear limit (fond de parcelle)" in en
        i18n.set_language("en")
        assert '<html lang="en">' in r.to_html(images=False)
        assert ">FAIL<" in r._repr_html_()
    finally:
        i18n.set_language(None)
    with pytest.raises(Exception, match="lang='de'"):
        r.to_html(images=False, lang="de")


def test_site_plan_draws_through_maps_in_both_languages(variant_report):
    """The site plan has the maps' scale bar and grid-north arrow (not its own
    arrow), km axes without offset text, and labels in the language asked."""
    plt = pytest.importorskip("matplotlib.pyplot")
    from matplotlib_scalebar.scalebar import ScaleBar

    r = variant_report
    for lang, words in (
        ("fr", {"alignement sur voie", "limite séparative latérale", "terrain d'assiette"}),
        ("en", {"street alignment", "side limit", "land of the application"}),
    ):
        fig, ax = plt.subplots()
        r.plot(ax=ax, lang=lang)
        fig.canvas.draw()
        assert any(isinstance(a, ScaleBar) for a in ax.artists)
        arrows = [t for t in ax.texts if t.get_gid() == "north_arrow"]
        assert len(arrows) == 1
        assert ax.xaxis.get_offset_text().get_text() == ""
        legend = {t.get_text() for t in ax.get_legend().get_texts()}
        assert words <= legend, legend
        # the side limits' labels run along them (vertical limits: 90°)
        side = [t for t in ax.texts if "side" in t.get_text() or "latérale" in t.get_text()]
        assert side and all(abs(abs(t.get_rotation() % 180) - 90) < 1 for t in side)
        sec = r.plot_section(lang=lang)
        label = sec.get_xlabel()
        assert label == (
            "profondeur en arrière de l'alignement (m)" if lang == "fr"
            else "depth behind the street alignment (m)"
        )
        plt.close("all")
