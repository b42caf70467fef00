"""The output of a city run: one Parquet part per tile and table, and a manifest.

Layout of ``out/``::

    manifest.json            tiles, bounds, halo, status, timings, versions
    buildings/<tile>.parquet GeoParquet parts (bbox covering column), one per tile
    sensors/<tile>.parquet   with sensors=True
    _flood/<tile>.npy        wet-cell labels of a flood run (kept for reruns)

Parts are written by the workers (to a hidden temporary name, then renamed, so
a killed worker leaves no half part); the manifest by the driver only, after
each finished tile (written to a temporary file and renamed). A tile is
finished when its manifest entry says ``done`` and its parts exist: a rerun
skips it. Read the dataset back with ``geopandas.read_parquet(out /
"buildings")`` or DuckDB (``docs/scale.md``).
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

from .. import __version__

MANIFEST = "manifest.json"


def versions() -> dict:
    import dask
    import geopandas
    import numpy
    import pyarrow

    return dict(cimcity=__version__, python=platform.python_version(), numpy=numpy.__version__,
                geopandas=geopandas.__version__, pyarrow=pyarrow.__version__, dask=dask.__version__)


def load(out) -> dict | None:
    p = Path(out) / MANIFEST
    if not p.exists():
        return None
    return json.loads(p.read_text())


def save(out, manifest: dict) -> Path:
    p = Path(out) / MANIFEST
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, default=_plain))
    tmp.replace(p)
    return p


def _plain(v):
    if hasattr(v, "tolist"):
        return v.tolist()
    if isinstance(v, (set, tuple)):
        return list(v)
    return str(v)


def finished(out, entry) -> bool:
    """A tile is finished when its entry says done and its parts exist."""
    if not entry or entry.get("status") != "done":
        return False
    return all((Path(out) / p).exists() for p in entry.get("parts", {}).values())


def same_job(old: dict, new: dict) -> bool:
    """Whether a manifest found in ``out`` is of the same job (else refuse to mix)."""
    keys = ("analysis", "inputs", "tile_size", "options")
    return all(json.loads(json.dumps(old.get(k), default=_plain)) ==
               json.loads(json.dumps(new.get(k), default=_plain)) for k in keys)
