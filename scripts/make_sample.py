"""Regenerate the bundled sample district in data/samples/paris (deterministic).

Usage: python scripts/make_sample.py [OUT_DIR]
"""

import sys
from pathlib import Path

from cimcity._sample import generate

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "data" / "samples" / "paris"
manifest = generate(out)
print(f"wrote sample to {out}: {manifest['counts']}, project: {manifest.get('project_ifc', 'none (ifc writer missing)')}")
