"""Fast mode: shrink long computations (training, evaluation) for tests and CI.

Set the environment variable ``RLTUTORIAL_FAST=1`` and notebooks pick smaller counts::

    n_episodes = 20 if rltutorial.fast_mode() else 200

Library functions never read this themselves; they take explicit counts.
"""

from __future__ import annotations

import os

__all__ = ["fast_mode"]

#: Environment variable that switches fast mode on.
FAST_MODE_VARIABLE = "RLTUTORIAL_FAST"
_FALSE = {"", "0", "false", "no", "off"}


def fast_mode() -> bool:
    """Whether ``RLTUTORIAL_FAST`` is set to a true value (anything but 0/false/no/off)."""
    return os.environ.get(FAST_MODE_VARIABLE, "").strip().lower() not in _FALSE
