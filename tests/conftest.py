"""Shared test set-up: make ``tests/`` importable for helper modules."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
