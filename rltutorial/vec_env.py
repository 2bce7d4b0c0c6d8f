"""Vectorised ARES-EA environments for training and evaluation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rltutorial.config import validate_config

__all__ = ["make_vec_env", "MONITOR_KEYWORDS"]

#: Info entries that Monitor/VecMonitor record for each finished episode.
MONITOR_KEYWORDS = ("is_success", "mae_focus", "mae_all")


def make_vec_env(
    config: Mapping[str, Any] | None = None,
    n_envs: int = 1,
    batched: bool = True,
    seed: int | None = None,
    monitor_filename: str | None = None,
):
    """N copies of the environment of ``config``, with episode statistics (``VecMonitor``).

    Parameters
    ----------
    config : dict, optional
        Config as for :func:`rltutorial.make_env`.
    n_envs : int
        Number of environments.
    batched : bool
        ``True``: one :class:`~rltutorial.envs.batched.BatchedAresEA` simulating all
        environments per Cheetah call (fast). ``False``: a ``DummyVecEnv`` of
        :func:`rltutorial.make_env` copies (one simulation each). Both behave identically.
    seed : int, optional
        Environment i is seeded with ``seed + i`` at the first reset.
    monitor_filename : str, optional
        CSV file for the episode statistics (``VecMonitor``).

    Returns
    -------
    stable_baselines3.common.vec_env.VecEnv
        Flat, un-normalised observations; wrap with ``VecNormalize`` for training.
    """
    from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

    config = validate_config(config)
    if batched:
        from rltutorial.envs.batched import BatchedAresEA

        venv = BatchedAresEA(config, n_envs, seed=seed)
    else:
        from rltutorial.wrappers import make_env

        if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
            raise ValueError(f"n_envs must be a positive integer, got {n_envs!r}.")
        venv = DummyVecEnv([lambda: make_env(config) for _ in range(n_envs)])
        if seed is not None:
            venv.seed(seed)
    return VecMonitor(venv, filename=monitor_filename, info_keywords=MONITOR_KEYWORDS)
