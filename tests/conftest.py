from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CIMCITY_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Real third-party files (../shared/data); tests skip when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA} (set CIMCITY_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def paris():
    """The bundled sample district (session-wide; do not mutate: copy() it)."""
    import cimcity as cc

    return cc.datasets.load("paris")


@pytest.fixture()
def tmp_out(tmp_path) -> Path:
    return tmp_path
