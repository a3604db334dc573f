"""``python -m vzcore``: the ``vz`` command line."""

from __future__ import annotations

import sys

from vzcore.cli import main

if __name__ == "__main__":
    sys.exit(main())
