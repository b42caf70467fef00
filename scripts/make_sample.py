"""Regenerate the bundled sample district in data/samples/paris (deterministic).

Usage: python scripts/make_sample.py [OUT_DIR]

A thin call of :func:`cimcity.datasets.paris.generate`.
"""

import sys
from pathlib import Path

from cimcity.datasets.paris import generate

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "data" / "samples" / "paris"
manifest = generate(out)
print(f"wrote sample to {out}: {manifest['counts']}, project: {manifest['project_ifc']}")
