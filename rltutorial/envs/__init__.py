"""ARES-EA environments: the task, its backends, and the registered gymnasium id."""

from __future__ import annotations

import gymnasium as gym

from rltutorial.envs.ares_ea import AresEA, AresEACheetah
from rltutorial.envs.backend import Backend
from rltutorial.envs.cheetah import CheetahBackend, simulate_screen_beam

__all__ = [
    "AresEA",
    "AresEACheetah",
    "Backend",
    "CheetahBackend",
    "simulate_screen_beam",
    "ENV_ID",
]

#: Gymnasium id of the Cheetah-simulated ARES-EA task.
ENV_ID = "rltutorial/AresEA-v0"

if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="rltutorial.envs.ares_ea:AresEACheetah")
