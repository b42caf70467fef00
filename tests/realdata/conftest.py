"""Fixtures of the real-data acceptance suite (``tests/realdata``).

Every test here reads ``../shared/data`` (see its SOURCES.md) through the
``shared_data`` fixture of ``tests/conftest.py``: it skips locally when the
folder is absent and fails under ``CIMCITY_STRICT=1`` (CI). A file missing
from a folder that is present always fails: the data set is broken, not absent.
Every test collected under this folder carries the ``realdata`` marker.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

HERE = Path(__file__).resolve().parent

#: Paris-Orly IWEC typical year (SOURCES.md: annual GHI about 1,068 kWh/m²)
EPW = "weather/FRA_Paris.Orly.071490_IWEC.epw"
#: BDNB footprints with heights, Paris 11e (5,227 buildings)
BDNB = "france/bdnb_paris11_batiments.shp"
#: UMEP's Gustav Adolfs torg validation site (EPSG:3006)
GUSTAV_ADOLFS = "dem/goteborg_gustav_adolfs"
#: the three measured days of Gustav Adolfs torg and their met files
GA_MET = {
    "20051011": "MetFile_20051011.txt",
    "20060726": "MetFile_20060726.txt",
    "20060801": "MetFile_20060801.txt",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.realdata)


@pytest.fixture(scope="session")
def data_file(shared_data):
    """``data_file("france/x.shp")``: the path, failing if the file is missing."""

    def get(relative: str) -> Path:
        path = shared_data / relative
        if not path.exists():
            pytest.fail(f"{path} is missing from the real data set (see SOURCES.md)")
        return path

    return get


@pytest.fixture(scope="session")
def epw(data_file) -> Path:
    return data_file(EPW)


@pytest.fixture(scope="session")
def bdnb(data_file):
    """All 5,227 BDNB buildings of Paris 11e in Lambert-93 (read once)."""
    import cimcity as cc
    from cimcity.errors import DataQualityWarning, ReprojectionWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReprojectionWarning)
        warnings.simplefilter("ignore", DataQualityWarning)
        return cc.read_buildings(data_file(BDNB))


def read_umep_met(path: Path) -> pd.DataFrame:
    """A UMEP met forcing file (whitespace separated, ``%iy`` header)."""
    met = pd.read_csv(path, sep=r"\s+")
    met.columns = [c.strip("%") for c in met.columns]
    return met


@pytest.fixture(scope="session")
def gustav_adolfs(data_file):
    """DSM, DEM, station point, measurements and met files of Gustav Adolfs torg."""
    import json

    import cimcity as cc

    folder = data_file(GUSTAV_ADOLFS)
    poi = json.loads(data_file(f"{GUSTAV_ADOLFS}/poi.geojson").read_text())
    return {
        "dsm": cc.read_dsm(folder / "DSM_GA.tif", crs="EPSG:3006"),
        "dem": cc.read_dem(folder / "DEM_GA.tif", crs="EPSG:3006"),
        "station": np.asarray(poi["geometry"]["coordinates"], float),
        "measurements": pd.read_csv(data_file(f"{GUSTAV_ADOLFS}/measurements_ga.csv")),
        "met": {
            day: read_umep_met(data_file(f"{GUSTAV_ADOLFS}/{name}"))
            for day, name in GA_MET.items()
        },
    }
