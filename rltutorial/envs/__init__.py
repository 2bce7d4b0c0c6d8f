"""ARES-EA environments: the task, its backends, and the registered gymnasium ids.

The environments here know nothing of configs; :func:`rltutorial.make_env` builds them
from one. Two gymnasium ids are registered:

- ``rltutorial/AresEA-v0`` (:data:`ENV_ID`): the workshop task as an agent sees it,
  exactly :func:`rltutorial.make_env` of :data:`rltutorial.DEFAULT_CONFIG` (time limit,
  observation and action filters, rescaled actions); keyword arguments of
  ``gymnasium.make`` go to ``make_env``.
- ``rltutorial/AresEACheetah-v0`` (:data:`BARE_ENV_ID`): the bare
  :class:`AresEACheetah` (``Dict`` observations, all five magnets, no time limit), with
  its defaults the same task.
"""

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
    "BARE_ENV_ID",
]

#: Gymnasium id of the workshop task as an agent sees it (``make_env(DEFAULT_CONFIG)``).
ENV_ID = "rltutorial/AresEA-v0"
#: Gymnasium id of the bare, backend-level environment (its defaults: the same task).
BARE_ENV_ID = "rltutorial/AresEACheetah-v0"

if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="rltutorial.make:make_env")
if BARE_ENV_ID not in gym.registry:
    gym.register(id=BARE_ENV_ID, entry_point="rltutorial.envs.ares_ea:AresEACheetah")
