"""``python -m rltutorial``: the command line of :mod:`rltutorial.cli`.

The ``rltutorial`` console script (pyproject.toml) calls :func:`main` here too.
"""

from __future__ import annotations

import sys

from rltutorial.cli import COMMANDS, build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
