"""A backend that plays back a fixed list of screen beams, for hand-computed tests."""

from __future__ import annotations

import numpy as np

from rltutorial.envs.backend import Backend


class ScriptedBackend(Backend):
    """Returns ``beams[n]`` after the n-th ``set_magnets`` call of an episode (n=0 at reset)."""

    def __init__(self, beams):
        self.beams = [np.asarray(b, dtype=float) for b in beams]
        self.calls = -1
        self.magnets = np.zeros(5)

    def reset(self, rng, options):
        self.calls = -1

    def set_magnets(self, magnets):
        self.magnets = np.asarray(magnets, dtype=float)
        self.calls += 1

    def get_magnets(self):
        return self.magnets.copy()

    def get_beam(self):
        return self.beams[min(self.calls, len(self.beams) - 1)].copy()
