"""The batched environment and per-env copies stepped side by side with the same actions."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from rltutorial import make_vec_env


def paired_vec_envs(config: Mapping[str, Any], n_envs: int, seed: int) -> tuple:
    """The batched VecEnv and a DummyVecEnv of ``make_env`` copies, both seeded alike."""
    batched = make_vec_env(config, n_envs, batched=True, seed=seed)
    classic = make_vec_env(config, n_envs, batched=False, seed=seed)
    return batched, classic


def step_pairs(batched, classic, steps: int, action_seed: int) -> Iterator[tuple]:
    """Step both VecEnvs ``steps`` times with the same uniform random actions within
    the action space; yield (batched result, per-env result), each the VecEnv's
    (observations, rewards, dones, infos)."""
    rng = np.random.default_rng(action_seed)
    space = batched.action_space
    for _ in range(steps):
        actions = rng.uniform(space.low, space.high, (batched.num_envs, *space.shape))
        actions = actions.astype(np.float32)
        yield batched.step(actions), classic.step(actions)
