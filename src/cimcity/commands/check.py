"""``cimcity check``: check an IFC project against the PLU of its parcel.

Exit codes (:data:`cimcity.permit.report.EXIT_CODES`):

* 0 — every rule checked passes and the core articles (heights, footprint,
  setbacks) were all checked;
* 1 — a rule fails;
* 2 — bad input, refused before any report: a missing file, a malformed rule
  pack, a project that does not stand on its parcels or its ground (its
  distance and ``--placement`` are named), an IFC whose georeference puts it
  outside the scene (one-line reason, printed by :mod:`cimcity.cli`);
* 3 — incomplete: no failure, but a core article or the project's location
  could not be checked (e.g. an IFC without any georeference and no
  ``--placement``, no street frontage found); the report is written and says
  what is missing, never a pass.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import geopandas as gpd

import cimcity as cc
from cimcity import permit
from cimcity.errors import CimcityWarning, InputError

from ._common import placement_type


def register(sub) -> None:
    p = sub.add_parser(
        "check",
        help="check an IFC project against the PLU rules of its parcel (permit report)",
        description="Place an IFC building project on the cadastre, find its parcel(s) and "
        "PLU zone, check every rule of the zone's rule pack (heights, footprint, setbacks, "
        "street envelope, green shares, storeys, floor area) and the sun lost by the "
        "neighbours, and write a self-contained HTML report (and JSON). Exit codes: 0 "
        "every rule checked passes and the core articles (heights, footprint, "
        "setbacks) were all checked; 1 a rule fails; 2 bad input (e.g. a project "
        "that does not stand on its parcels: give --placement); 3 incomplete (a "
        "core article could not be checked: the report says why).",
    )
    p.add_argument("ifc", help="IFC file of the project (IFC2X3 / IFC4)")
    p.add_argument(
        "--parcels",
        required=True,
        help="cadastre: Etalab parcelles GeoJSON, BD Parcellaire or any vector file",
    )
    p.add_argument("--zones", required=True, help="PLU zoning (CNIG zone_urba) file")
    p.add_argument("--rules", required=True, help="PLU rule pack (TOML, docs/rules.md)")
    p.add_argument(
        "--terrain", help="DEM GeoTIFF (terrain: heights above natural ground)"
    )
    p.add_argument(
        "--buildings", help="existing buildings (neighbours; for the sun-hours impact)"
    )
    p.add_argument(
        "--id-column",
        help="column of --buildings holding the building ids (default: detected from "
        "the product, e.g. BDNB batiment_c, BD TOPO cleabs; 'none': generated ids)",
    )
    p.add_argument(
        "--roads", help="roads layer (lines with a 'largeur' width, or polygons)"
    )
    p.add_argument("--vegetation", help="vegetation polygons with a 'kind' column")
    p.add_argument(
        "--site-plan",
        help="site plan polygons with a 'kind' column (pleine_terre, green_roof_deep, "
        "green_roof_shallow, green_wall, permeable_paving, impervious)",
    )
    p.add_argument(
        "--parcel-id",
        nargs="+",
        help="parcel id(s) of the application (default: the parcels under the footprint)",
    )
    p.add_argument(
        "--placement",
        help="x,y,z[,rotation_deg]: where the IFC origin goes [m, scene CRS] and the "
        "angle from east to the project x axis, counter-clockwise [deg]; wins over the "
        "file's georeference",
    )
    p.add_argument(
        "--crs",
        default="EPSG:2154",
        help="projected CRS of the scene (default Lambert-93)",
    )
    p.add_argument("--out", required=True, help="HTML report to write")
    p.add_argument(
        "--lang",
        choices=("fr", "en"),
        default=None,
        help="language of the report (default: CIMCITY_LANG, else French)",
    )
    p.add_argument("--json", help="JSON report to write (default: --out with .json)")
    p.add_argument(
        "--bcf", help="also write one BCF topic per failing rule (needs bcf-client)"
    )
    p.add_argument(
        "--when",
        "--dates",
        dest="when",
        nargs="+",
        help="reference dates of the neighbour impact (default 2024-03-21 2024-12-21; "
        "--dates is the old name)",
    )
    p.add_argument(
        "--no-impact", action="store_true", help="skip the neighbour sun-hours impact"
    )
    p.add_argument(
        "--no-images",
        action="store_true",
        help="tables only (faster, no matplotlib/VTK)",
    )
    p.set_defaults(func=run)


def _exists(path, flag):

    if path is not None and not Path(path).exists():
        raise InputError(f"{flag}: file not found: {path}")
    return path


def run(args) -> int:



    for flag in (
        "ifc",
        "parcels",
        "zones",
        "rules",
        "terrain",
        "buildings",
        "roads",
        "vegetation",
        "site_plan",
    ):
        _exists(
            getattr(args, flag),
            "--" + flag.replace("_", "-") if flag != "ifc" else "IFC",
        )
    placement = placement_type(args.placement)
    out = Path(args.out)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CimcityWarning)
        scene = cc.Scene(crs=args.crs, name=Path(args.ifc).stem)
        if args.terrain:
            scene.add_terrain(cc.read_dem(args.terrain, crs=scene.crs))
        rules = cc.read_rules(args.rules)
        scene.add_zones(cc.read_plu(args.zones, crs=scene.crs), rules=rules)
        scene.add_parcels(cc.read_cadastre(args.parcels, crs=scene.crs))
        if args.buildings:
            id_column = args.id_column
            if id_column is not None and id_column.lower() == "none":
                id_column = False
            b = cc.read_buildings(args.buildings, crs=scene.crs, id_column=id_column)
            scene.add_buildings(b)  # ids already set by the reader
        if args.roads:
            scene.add_layer("roads", gpd.read_file(args.roads))
        if args.vegetation:
            scene.add_vegetation(gpd.read_file(args.vegetation))
        site_plan = (
            gpd.read_file(args.site_plan).to_crs(scene.crs) if args.site_plan else None
        )
        bim = permit.read_project(args.ifc, scene, placement=placement)
        report = permit.check(
            bim,
            scene,
            rules=rules,
            parcels=args.parcel_id,
            site_plan=site_plan,
            when=args.when,
            impact=not args.no_impact,
        )
        report.project["source"] = str(args.ifc)
        report.to_html(out, images=not args.no_images, lang=args.lang)
        js = Path(args.json) if args.json else out.with_suffix(".json")
        report.to_json(js)
        if args.bcf:
            report.to_bcf(args.bcf)
    print(f"cimcity check: {args.ifc}")
    seen = set()
    for w in caught:
        msg = str(w.message).splitlines()[0]
        if msg not in seen:
            seen.add(msg)
            print(f"  note: {msg}")
    print(report.summary_text())
    print(f"  wrote {out}")
    print(f"  wrote {js}")
    if args.bcf:
        print(
            f"  wrote {args.bcf} ({int((report.results['status'] == 'fail').sum())} topics)"
        )
    if report.verdict == "incomplete":

        print(
            "cimcity check: incomplete: not checked: "
            + ", ".join(report.unchecked_core)
            + " (see the report; no verdict)",
            file=sys.stderr,
        )
    return report.exit_code
