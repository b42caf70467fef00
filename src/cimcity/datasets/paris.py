"""Deterministic generator of the bundled "paris" sample district.

A Paris-like district of 400 m × 400 m at real Lambert-93 coordinates near
Clichy-Batignolles (Paris 17e): Haussmann-like perimeter blocks with courtyards,
Etalab-style parcels (``75117000AB0012``), BD TOPO v3-style buildings 12–37 m
with storeys and mansard roofs, one vacant parcel, CNIG ``zone_urba`` zones
(UG / UV / N), a DEM in NGF-IGN69 with a river channel along the south edge,
vegetation (street trees, courtyard gardens, a park, green roofs), roads with
widths, and an IFC4 project (R+7) georeferenced with IfcMapConversion.

Everything is synthetic ("Paris-like"); nothing is copied from third parties.
Run ``python scripts/make_sample.py`` (a thin call of :func:`generate`) to
regenerate ``data/samples/paris``.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from .ifc_writer import write_project_ifc

#: south-west corner of the district (Lambert-93, m)
X0, Y0 = 649_700.0, 6_865_300.0
SIZE = 400.0
CRS = "EPSG:2154"
COMMUNE = "75117"

# block columns (x) and rows (y), offsets from (X0, Y0) [m]; streets between them
BLOCK_X = [(12.0, 122.0), (138.0, 248.0), (260.0, 388.0)]
BLOCK_Y = [(60.0, 150.0), (166.0, 256.0), (268.0, 388.0)]
# streets: (name, x0, y0, x1, y1, width) centre lines in offsets
STREETS = [
    ("Quai des Batignolles", 0, 52.5, 400, 52.5, 15.0),
    ("Rue Cardinet", 0, 158.0, 400, 158.0, 16.0),
    ("Rue de Saussure", 0, 262.0, 400, 262.0, 12.0),
    ("Rue Legendre", 0, 394.0, 400, 394.0, 12.0),
    ("Rue de Rome", 6.0, 45, 6.0, 400, 12.0),
    ("Boulevard Pereire", 130.0, 45, 130.0, 400, 16.0),
    ("Rue Boursault", 254.0, 45, 254.0, 400, 12.0),
    ("Rue des Dames", 394.0, 45, 394.0, 400, 12.0),
]
PARK_BLOCK = (1, 1)  # (column, row): a public park, zone UV
COURTYARD_BLOCK = (2, 2)  # one building with an inner courtyard (polygon with hole)
VACANT = {"block": (0, 1), "x": (50.0, 74.0), "depth": 28.0}  # south side, 16 m street
PARCEL_DEPTH = 28.0
STOREY_H = 3.0
GROUND_FLOOR_H = 3.5
PROJECT_STOREYS = [3.5] + [3.0] * 7  # R+7, 24.5 m


def terrain_z(x, y):
    """Synthetic ground altitude [m NGF-IGN69] at offsets (x, y) [m].

    Rises gently from the quay (32 m) to the north (38 m); the river channel
    (bed at 26 m) runs along the south edge between y = 5 and y = 35.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    base = 33.0 + 5.0 * np.clip((y - 45.0) / 355.0, 0, 1) + 0.6 * np.sin(x / 60.0) * np.cos(y / 80.0)
    quay = 32.0 + 1.0 * np.clip((y - 35.0) / 10.0, 0, 1)
    z = np.where(y < 45.0, quay, base)
    t = np.clip(np.abs(y - 20.0) / 15.0, 0, 1)
    channel = 26.0 + 6.0 * t**4
    return np.where((y >= 5.0) & (y <= 35.0), channel, np.where(y < 5.0, 32.0, z))


def _split(a, b, rng, lo=14.0, hi=22.0):
    """Cut [a, b] into segments of random length in [lo, hi]."""
    cuts = [a]
    while b - cuts[-1] > hi:
        cuts.append(cuts[-1] + rng.uniform(lo, hi))
    if b - cuts[-1] < lo and len(cuts) > 1:
        cuts[-1] = (cuts[-2] + b) / 2  # no sliver: share the rest with the previous
    cuts.append(b)
    return list(zip(cuts[:-1], cuts[1:], strict=False))


def _block_parcels(bx, by, rng):
    """Perimeter parcels of a block: (polygon, side, is_corner) tuples + interior."""
    x0, x1 = bx
    y0, y1 = by
    D = PARCEL_DEPTH
    out = []
    out += [(shapely.box(x0, y0, x0 + D, y0 + D), "sw", True),
            (shapely.box(x1 - D, y0, x1, y0 + D), "se", True),
            (shapely.box(x0, y1 - D, x0 + D, y1), "nw", True),
            (shapely.box(x1 - D, y1 - D, x1, y1), "ne", True)]
    for a, b in _split(x0 + D, x1 - D, rng):
        out.append((shapely.box(a, y0, b, y0 + D), "s", False))
        out.append((shapely.box(a, y1 - D, b, y1), "n", False))
    for a, b in _split(y0 + D, y1 - D, rng):
        out.append((shapely.box(x0, a, x0 + D, b), "w", False))
        out.append((shapely.box(x1 - D, a, x1, b), "e", False))
    inner = shapely.box(x0 + D, y0 + D, x1 - D, y1 - D)
    return out, inner


def _front_building(poly, side, corner, rng):
    """Building footprint along the street side(s) of a parcel."""
    x0, y0, x1, y1 = poly.bounds
    d = rng.uniform(12.0, 15.0)
    strips = {
        "s": shapely.box(x0, y0, x1, y0 + d),
        "n": shapely.box(x0, y1 - d, x1, y1),
        "w": shapely.box(x0, y0, x0 + d, y1),
        "e": shapely.box(x1 - d, y0, x1, y1),
    }
    if corner:  # L-shaped along both streets
        fp = shapely.union(strips[side[0]], strips[side[1]])
    else:
        fp = strips[side]
        if rng.random() < 0.3 and min(x1 - x0, y1 - y0) > 12.0:  # a wing along a side limit: non-convex footprint
            w = 6.0
            wing = {
                "s": shapely.box(x0, y0, x0 + w, y1 - 3),
                "n": shapely.box(x1 - w, y0 + 3, x1, y1),
                "w": shapely.box(x0, y0, x1 - 3, y0 + w),
                "e": shapely.box(x0 + 3, y1 - w, x1, y1),
            }[side]
            fp = shapely.union(fp, wing)
    return shapely.normalize(fp)


def build_layers(seed: int = 17):
    """All vector layers as GeoDataFrames in EPSG:2154 (parcels, buildings, zones,
    vegetation, roads, water) plus the vacant parcel id.

    The steps draw from one random generator in a fixed order, so a seed always
    gives the same district.
    """
    rng = np.random.default_rng(seed)
    parcels, buildings, veg, vacant_id = _lay_blocks(rng)
    _street_trees(rng, veg)
    P = _parcels_table(parcels)
    out = _buildings_table(buildings, rng)
    Z = _zones_table()
    V = _vegetation_table(veg, out)
    roads, water = _streets_and_water()
    return dict(parcels=P, buildings=out, zones=Z, vegetation=V, roads=roads, water=water, vacant=vacant_id)


def _tr(g):
    """Offsets from the district corner -> Lambert-93."""
    return shapely.affinity.translate(g, X0, Y0)


def _lay_blocks(rng):
    """Parcels, buildings and vegetation of every block (as dict rows, in
    offsets), and the vacant parcel's id."""
    parcels, buildings, veg = [], [], []
    sections = ["AA", "AB", "AC", "AD", "AE", "AF", "AG", "AH", "AJ"]
    vacant_id = None
    for bi, bx in enumerate(BLOCK_X):
        for bj, by in enumerate(BLOCK_Y):
            section = sections[bj * 3 + bi]
            num = 1
            block = shapely.box(bx[0], by[0], bx[1], by[1])
            if (bi, bj) == PARK_BLOCK:
                pid = f"{COMMUNE}000{section}{num:04d}"
                parcels.append(dict(id=pid, section=section, numero=f"{num:04d}", geometry=block))
                veg.append(dict(kind="lawn", height=0.1, geometry=block.buffer(-4)))
                for _ in range(14):
                    cx = rng.uniform(bx[0] + 8, bx[1] - 8)
                    cy = rng.uniform(by[0] + 8, by[1] - 8)
                    veg.append(dict(kind="tree", height=rng.uniform(10, 18),
                                    geometry=shapely.Point(cx, cy).buffer(rng.uniform(3.5, 5.5), 12)))
                veg.append(dict(kind="shrub", height=1.5,
                                geometry=shapely.box(bx[0] + 10, by[0] + 10, bx[0] + 40, by[0] + 22)))
                continue
            if (bi, bj) == COURTYARD_BLOCK:
                pid = f"{COMMUNE}000{section}{num:04d}"
                parcels.append(dict(id=pid, section=section, numero=f"{num:04d}", geometry=block))
                inner = shapely.box(bx[0] + 22, by[0] + 22, bx[1] - 22, by[1] - 22)
                fp = block.buffer(-1.0, join_style="mitre").difference(inner)
                buildings.append(dict(parcel=pid, geometry=fp, storeys=11, pitched=False,
                                      usage="Résidentiel", green_roof=True, substrate=0.3))
                veg.append(dict(kind="lawn", height=0.1, geometry=inner.buffer(-3)))
                # a second, free-standing pavilion in the courtyard: a MultiPolygon
                # building with the pavilion's annex
                pav = shapely.MultiPolygon([
                    shapely.box(bx[0] + 30, by[0] + 30, bx[0] + 45, by[0] + 40),
                    shapely.box(bx[0] + 50, by[0] + 30, bx[0] + 56, by[0] + 36),
                ])
                buildings.append(dict(parcel=pid, geometry=pav, storeys=4, pitched=False,
                                      usage="Annexe", green_roof=False, substrate=0.0))
                continue
            plist, inner = _block_parcels(bx, by, rng)
            for poly, side, corner in plist:
                if (bi, bj) == VACANT["block"] and side == "s" and not corner:
                    continue  # the south side of this block is laid out below
                pid = f"{COMMUNE}000{section}{num:04d}"
                num += 1
                parcels.append(dict(id=pid, section=section, numero=f"{num - 1:04d}", geometry=poly))
                fp = _front_building(poly, side, corner, rng)
                storeys = int(rng.choice([5, 6, 6, 7, 7, 8]))
                if (bi, bj) == (2, 1):  # taller modern buildings along the park
                    storeys = int(rng.choice([9, 10, 11]))
                buildings.append(dict(parcel=pid, geometry=fp, storeys=storeys,
                                      pitched=bool(rng.random() < 0.6) and storeys < 9,
                                      usage=str(rng.choice(["Résidentiel", "Résidentiel", "Commercial et services"])),
                                      green_roof=bool(rng.random() < 0.12), substrate=float(rng.choice([0.15, 0.3, 0.9]))))
                # courtyard garden at the back of some parcels
                if rng.random() < 0.35:
                    back = poly.difference(fp.buffer(2.0, join_style="mitre"))
                    if back.area > 30:
                        veg.append(dict(kind="lawn", height=0.1, geometry=back.buffer(-1.0)))
            if (bi, bj) == VACANT["block"]:
                # the vacant parcel plus the two side parcels that fill the gap
                x0, y0 = bx[0] + PARCEL_DEPTH, by[0]
                x1 = bx[1] - PARCEL_DEPTH
                vx0, vx1 = VACANT["x"][0], VACANT["x"][1]
                for a, b in ((x0, vx0), (vx0, vx1), (vx1, x1)):
                    poly = shapely.box(a, y0, b, y0 + PARCEL_DEPTH)
                    pid = f"{COMMUNE}000{section}{num:04d}"
                    num += 1
                    parcels.append(dict(id=pid, section=section, numero=f"{num - 1:04d}", geometry=poly))
                    if (a, b) == (vx0, vx1):
                        vacant_id = pid
                        veg.append(dict(kind="lawn", height=0.1, geometry=poly.buffer(-2.0)))
                        continue
                    fp = _front_building(poly, "s", False, rng)
                    buildings.append(dict(parcel=pid, geometry=fp, storeys=int(rng.choice([6, 7])),
                                          pitched=True, usage="Résidentiel", green_roof=False, substrate=0.0))
            # the block interior: a shared garden parcel
            pid = f"{COMMUNE}000{section}{num:04d}"
            parcels.append(dict(id=pid, section=section, numero=f"{num:04d}", geometry=inner))
            veg.append(dict(kind="lawn", height=0.1, geometry=inner.buffer(-2.0)))
            for _ in range(3):
                c = inner.centroid
                veg.append(dict(kind="tree", height=rng.uniform(8, 14),
                                geometry=shapely.Point(c.x + rng.uniform(-12, 12), c.y + rng.uniform(-6, 6)).buffer(3.0, 12)))
    return parcels, buildings, veg, vacant_id


def _street_trees(rng, veg):
    """Append street trees along the wide streets to ``veg``."""
    for _name, ax, ay, bx_, by_, width in STREETS:
        if width < 15:
            continue
        line = shapely.LineString([(ax, ay), (bx_, by_)])
        for d in np.arange(10.0, line.length - 5, 12.0):
            p = line.interpolate(d)
            # skip crossings
            if any(abs(p.x - s[1]) < 10 for s in STREETS if s[1] == s[3]) and ax != bx_:
                continue
            if any(abs(p.y - s[2]) < 10 for s in STREETS if s[2] == s[4]) and ay != by_:
                continue
            off = (0, width / 2 - 2.0) if ay == by_ else (width / 2 - 2.0, 0)
            for sgn in (-1, 1):
                veg.append(dict(kind="tree", height=rng.uniform(9, 16),
                                geometry=shapely.Point(p.x + sgn * off[0], p.y + sgn * off[1]).buffer(2.8, 12)))


def _parcels_table(parcels):
    """Etalab-style parcels."""
    P = gpd.GeoDataFrame(parcels, crs=CRS)
    P["geometry"] = P.geometry.apply(_tr)
    P["commune"] = COMMUNE
    P["prefixe"] = "000"
    P["contenance"] = np.round(P.geometry.area).astype(int)
    P = P[["id", "commune", "prefixe", "section", "numero", "contenance", "geometry"]]
    return P


def _buildings_table(buildings, rng):
    """BD TOPO v3-style buildings (heights to the gutter, altitudes, storeys)."""
    B = gpd.GeoDataFrame(buildings, crs=CRS)
    B["geometry"] = B.geometry.apply(_tr)
    off = shapely.get_coordinates(shapely.segmentize(B.geometry.boundary.values, 1.0), return_index=True)
    zs = terrain_z(off[0][:, 0] - X0, off[0][:, 1] - Y0)
    ground = np.full(len(B), np.inf)
    np.minimum.at(ground, off[1], zs)
    ground = np.round(ground, 2)
    storeys = B["storeys"].to_numpy()
    eave_h = GROUND_FLOOR_H + STOREY_H * (storeys - 1)
    roof_extra = np.where(B["pitched"], np.round(rng.uniform(3.0, 5.0, len(B)), 1), 0.0)
    height = np.round(eave_h + roof_extra + np.where(B["pitched"], 0.0, 1.0), 2)  # parapet 1 m
    ids = [f"BATIMENT{(12345670000 + i * 7919):016d}" for i in range(len(B))]
    out = gpd.GeoDataFrame(
        {
            "cleabs": ids,
            "nature": "Indifférenciée",
            "usage_1": B["usage"],
            "etat_de_l_objet": "En service",
            "nombre_d_etages": storeys,
            # BD TOPO v3: hauteur is measured from the ground to the gutter
            "hauteur": np.round(eave_h + np.where(B["pitched"], 0.0, 1.0), 2),
            "altitude_minimale_sol": ground,
            "altitude_minimale_toit": np.round(ground + eave_h + np.where(B["pitched"], 0.0, 1.0), 2),
            "altitude_maximale_toit": np.round(ground + height, 2),
            "toit_vegetalise": B["green_roof"].astype(bool),
            "epaisseur_substrat": np.where(B["green_roof"], B["substrate"], 0.0),
            "parcelle": B["parcel"],
        },
        geometry=B.geometry.values,
        crs=CRS,
    )
    # a few buildings with storeys but no measured height (as in real BD TOPO)
    missing = rng.choice(len(out), size=4, replace=False)
    out.loc[out.index[missing], ["hauteur", "altitude_maximale_toit", "altitude_minimale_toit"]] = np.nan
    return out


def _zones_table():
    """CNIG zone_urba zones UG, UV (the park) and N (the river banks)."""
    park = shapely.box(*[BLOCK_X[PARK_BLOCK[0]][0], BLOCK_Y[PARK_BLOCK[1]][0], BLOCK_X[PARK_BLOCK[0]][1], BLOCK_Y[PARK_BLOCK[1]][1]])
    n_zone = shapely.box(0, 0, SIZE, 45.0)
    ug = shapely.box(0, 45.0, SIZE, SIZE).difference(park)
    Z = gpd.GeoDataFrame(
        {
            "gid": [1, 2, 3],
            "libelle": ["UG", "UV", "N"],
            "libelong": ["Zone urbaine générale", "Zone urbaine verte (parc)", "Zone naturelle et forestière (berges)"],
            "typezone": ["U", "U", "N"],
            "destdomi": ["01", "07", "07"],
            "nomfic": ["75056_reglement_20240101.pdf"] * 3,
            "idurba": ["75056_PLU_20240101"] * 3,
            "datappro": ["20240101"] * 3,
            "datvalid": ["20240101"] * 3,
        },
        geometry=[_tr(ug), _tr(park), _tr(n_zone)],
        crs=CRS,
    )
    return Z


def _vegetation_table(veg, out):
    """Vegetation polygons, green roofs included."""
    V = gpd.GeoDataFrame(veg, crs=CRS)
    V["geometry"] = V.geometry.apply(_tr)
    gr = out[out["toit_vegetalise"]]
    V = gpd.GeoDataFrame(
        list(V.to_dict("records")) + [dict(kind="green_roof", height=0.0, geometry=g) for g in gr.geometry],
        crs=CRS,
    )
    V["height"] = V["height"].round(1)
    return V


def _streets_and_water():
    """Road centre lines with widths, and the river."""
    roads = gpd.GeoDataFrame(
        {"nom": [s[0] for s in STREETS], "largeur": [s[5] for s in STREETS], "nature": "Route à 1 chaussée"},
        geometry=[_tr(shapely.LineString([(s[1], s[2]), (s[3], s[4])])) for s in STREETS],
        crs=CRS,
    )
    water = gpd.GeoDataFrame(
        {"nom": ["Rivière (canal Saint-Lazare, fictif)"], "nature": ["Cours d'eau"]},
        geometry=[_tr(shapely.box(0, 10.0, SIZE, 30.0))],
        crs=CRS,
    )
    return roads, water


def write_dem(path: Path, resolution: float = 1.0) -> None:
    """Write the synthetic DEM (float32 GeoTIFF, EPSG:2154, NGF-IGN69)."""
    import rasterio
    from affine import Affine

    n = int(SIZE / resolution)
    c = (np.arange(n) + 0.5) * resolution
    X, Y = np.meshgrid(c, SIZE - c)
    z = terrain_z(X, Y).astype(np.float32)
    with rasterio.open(
        path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32",
        crs=CRS, transform=Affine(resolution, 0, X0, 0, -resolution, Y0 + SIZE),
        nodata=-9999.0, compress="deflate", predictor=3, tiled=True,
    ) as dst:
        dst.write(z, 1)
        dst.update_tags(VERTICAL_DATUM="NGF-IGN69", AREA_OR_POINT="Area",
                        SOURCE="cimcity synthetic sample (scripts/make_sample.py)")
        dst.update_tags(1, UNITS="metre")


def project_placement(parcels, vacant_id):
    """Map-conversion parameters of the sample project on the vacant parcel."""
    geom = parcels.set_index("id").geometry[vacant_id]
    x0, y0, x1, y1 = geom.bounds
    xs = np.linspace(x0, x1, 25)
    z = float(np.min(terrain_z(np.r_[xs, xs] - X0, np.r_[np.full(25, y0), np.full(25, y0 + 15)] - Y0)))
    return dict(eastings=x0, northings=y0, orthogonal_height=round(z, 2),
                x_axis_abscissa=1.0, x_axis_ordinate=0.0, scale=1.0)


def generate(out_dir, seed: int = 17) -> dict:
    """Write the whole sample into ``out_dir``; returns a manifest dict."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    L = build_layers(seed)
    P = L["parcels"]
    # Etalab cadastre GeoJSON is published in WGS84 (lon/lat)
    p84 = P.to_crs("EPSG:4326")
    p84["created"] = "2021-06-01"
    p84["updated"] = "2024-01-15"
    gj = json.loads(p84.to_json(drop_id=True))
    for f in gj["features"]:
        f["id"] = f["properties"]["id"]
        f["geometry"]["coordinates"] = _round(f["geometry"]["coordinates"], 8)
    (out / "cadastre-75117-parcelles.json").write_text(json.dumps(gj, ensure_ascii=False, separators=(",", ":")))
    for name, layer in (("batiment.gpkg", "buildings"), ("zone_urba.gpkg", "zones"),
                        ("vegetation.gpkg", "vegetation"), ("troncon_de_route.gpkg", "roads"),
                        ("surface_hydrographique.gpkg", "water")):
        f = out / name
        if f.exists():
            f.unlink()
        L[layer].to_file(f, driver="GPKG", engine="pyogrio")
    write_dem(out / "dem_1m.tif")
    place = project_placement(P, L["vacant"])
    manifest = dict(
        name="paris", crs=CRS, vertical_datum="NGF-IGN69", origin=[X0, Y0], size_m=SIZE,
        vacant_parcel=L["vacant"], project_placement=place, seed=seed,
        project_storey_heights=PROJECT_STOREYS,
        counts={k: int(len(v)) for k, v in L.items() if hasattr(v, "__len__") and not isinstance(v, str)},
    )
    fp = [(0.0, 0.0), (24.0, 0.0), (24.0, 15.0), (0.0, 15.0)]
    write_project_ifc(
        out / "projet_r7.ifc", fp, PROJECT_STOREYS, map_conversion=place, crs=CRS,
        name="Projet R+7 rue Cardinet",
    )
    manifest["project_ifc"] = "projet_r7.ifc"
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest


def _round(c, nd):
    if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
        return [round(v, nd) for v in c]
    return [_round(x, nd) for x in c]
