"""Malformed files built from the bundled sample (data/samples/paris/) and
small synthetic inputs, in a case's temporary folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

import cimcity as cc
from cimcity.testing import X0, Y0

SAMPLE = cc.datasets.path("paris")
#: deterministic bytes that are no format at all (PNG-like header + noise)
JUNK = b"\x89\x00\xff\xfe" + np.random.default_rng(17).integers(0, 256, 4096, dtype=np.uint8).tobytes()


def inbox(tmp_path: Path) -> Path:
    """The folder holding a case's input files (nothing may be written there)."""
    d = tmp_path / "in"
    d.mkdir(exist_ok=True)
    return d


def copy_sample(tmp_path, name, as_name=None) -> Path:
    dst = inbox(tmp_path) / (as_name or name)
    shutil.copyfile(SAMPLE / name, dst)
    return dst


def empty(tmp_path, name) -> Path:
    p = inbox(tmp_path) / name
    p.write_bytes(b"")
    return p


def junk(tmp_path, name) -> Path:
    p = inbox(tmp_path) / name
    p.write_bytes(JUNK)
    return p


def text(tmp_path, name, content, encoding="utf-8") -> Path:
    p = inbox(tmp_path) / name
    p.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return p


def truncated(tmp_path, sample_name, as_name=None, frac=0.5) -> Path:
    """The first ``frac`` of a sample file's bytes."""
    raw = (SAMPLE / sample_name).read_bytes()
    p = inbox(tmp_path) / (as_name or sample_name)
    p.write_bytes(raw[: int(len(raw) * frac)])
    return p


def geojson(tmp_path, name, features, crs=None, encoding="utf-8") -> Path:
    """A GeoJSON FeatureCollection; ``crs`` as an old-style ``crs`` member
    (e.g. ``"EPSG:2154"``), None for none (GeoJSON then means WGS84)."""
    doc = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:{crs.replace(':', '::')}"}}
    raw = json.dumps(doc, ensure_ascii=False)
    return text(tmp_path, name, raw.encode(encoding))


def feature(geom, **props) -> dict:
    return {
        "type": "Feature",
        "properties": props,
        "geometry": None if geom is None else shapely.geometry.mapping(geom),
    }


def box(i=0, w=10.0, d=10.0, x=X0, y=Y0):
    """The i-th of a row of w × d boxes from (x, y), 2 m apart [m, Lambert-93]."""
    x0 = x + i * (w + 2.0)
    return shapely.box(x0, y, x0 + w, y + d)


def boxes(n=3, crs="EPSG:2154", **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=[box(i) for i in range(n)], crs=crs)


def gpkg(tmp_path, name, gdf, layer=None) -> Path:
    p = inbox(tmp_path) / name
    gdf.to_file(p, layer=layer, driver="GPKG")
    return p


def geotiff(tmp_path, name, z, transform=None, crs="EPSG:2154", nodata=None, dtype="float32"):
    """A one-band GeoTIFF of ``z`` (rows north first) [m]."""
    import rasterio
    from affine import Affine

    z = np.asarray(z)
    if transform is None:
        transform = Affine(1.0, 0, X0, 0, -1.0, Y0 + z.shape[0])
    p = inbox(tmp_path) / name
    with rasterio.open(
        p, "w", driver="GTiff", height=z.shape[0], width=z.shape[1], count=1,
        dtype=dtype, crs=crs, transform=transform, nodata=nodata,
    ) as ds:
        ds.write(z.astype(dtype), 1)
    return p
