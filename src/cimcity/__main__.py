"""``python -m cimcity``: the same as the ``cimcity`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
