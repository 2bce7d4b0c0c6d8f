"""Seeded episodes as tables: one row per environment and step.

:func:`rollout` runs many seeded episodes in lock-step in one batched environment (one
Cheetah call per step for all of them); :func:`episode_frame_rows` turns one
single-environment episode into the same rows. Episode ``s`` of a rollout with
``seed=0`` is the environment reset with ``seed=s``, so every agent faces the same beams.

All lengths (beam parameters, errors, objectives) are in m.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from rltutorial.config import validate_config
from rltutorial.envs.ranges import BEAM_LABELS, MAGNET_LABELS, SIGMA_INDICES
from rltutorial.envs.screen import fraction_on_screen, is_on_screen
from rltutorial.envs.task import beam_errors
from rltutorial.make import make_batched_env
from rltutorial.rewards import OBJECTIVE_WEIGHTS

__all__ = ["step_frame", "episode_frame_rows", "rollout"]


Act = Callable[[np.ndarray], np.ndarray]


def step_frame(
    episode: np.ndarray,
    step: int | np.ndarray,
    beam: np.ndarray,
    target: np.ndarray,
    magnets: np.ndarray,
    reward: np.ndarray,
    done: np.ndarray,
    truncated: np.ndarray,
    weights: np.ndarray,
) -> pd.DataFrame:
    """One row per environment for one step.

    Parameters
    ----------
    episode : ndarray (N,) of int
        Episode ids (the reset seeds).
    step : int or ndarray (N,)
        Step number (0 is the state after reset).
    beam, target : ndarray (N, 4)
        mu_x, sigma_x, mu_y, sigma_y in m.
    magnets : ndarray (N, 5)
        Q1, Q2 (1/m²), CV (rad), Q3 (1/m²), CH (rad).
    reward : ndarray (N,)
        Reward of the step (0 at reset).
    done, truncated : ndarray (N,) of bool
        Whether the episode ended with this step, and whether by the time limit.
    weights : ndarray (4,)
        Objective weights of the task (see :data:`rltutorial.rewards.OBJECTIVE_WEIGHTS`).
    """
    beam, target = np.atleast_2d(beam), np.atleast_2d(target)
    errors = beam_errors(beam, target)
    columns: dict[str, Any] = {"episode": episode, "step": step}
    columns.update({label: beam[:, i] for i, label in enumerate(BEAM_LABELS)})
    columns.update(
        {f"target_{label}": target[:, i] for i, label in enumerate(BEAM_LABELS)}
    )
    columns.update(
        {f"err_{label}": errors[:, i] for i, label in enumerate(BEAM_LABELS)}
    )
    columns.update(
        {label: np.atleast_2d(magnets)[:, i] for i, label in enumerate(MAGNET_LABELS)}
    )
    columns.update(
        objective=np.sum(weights * errors, axis=1),
        focus_objective=errors[:, SIGMA_INDICES].sum(axis=1),
        on_screen=is_on_screen(beam),
        pixel_sum=fraction_on_screen(beam),
        reward=reward,
        done=done,
        truncated=truncated,
    )
    return pd.DataFrame(columns)


def episode_frame_rows(
    episode: int,
    infos: Sequence[Mapping[str, Any]],
    rewards: Sequence[float],
    ends: Sequence[tuple[bool, bool]],
    config: Mapping[str, Any],
) -> pd.DataFrame:
    """Rows of one single-environment episode from its infos (reset info first).

    Parameters
    ----------
    episode : int
        Episode id (the reset seed).
    infos : sequence of dict
        The reset info followed by each step's info (with ``beam``, ``magnets``,
        ``target``).
    rewards : sequence of float
        0 for the reset, then each step's reward.
    ends : sequence of (bool, bool)
        ``(terminated, truncated)`` per row.
    config : dict
        The environment's config (for the objective).
    """
    n = len(infos)
    terminated, truncated = (
        np.array(flags, dtype=bool) for flags in zip(*ends, strict=True)
    )
    frame = step_frame(
        np.full(n, episode),
        np.arange(n),
        np.array([info["beam"] for info in infos]),
        np.array([info["target"] for info in infos]),
        np.array([info["magnets"] for info in infos]),
        np.asarray(rewards, dtype=float),
        terminated | truncated,
        truncated & ~terminated,
        OBJECTIVE_WEIGHTS[validate_config(config)["objective"]],
    )
    frame["return"] = frame["reward"].cumsum()
    return frame


def rollout(
    act: Act,
    config: Mapping[str, Any],
    n: int,
    seed: int = 0,
    max_steps: int | None = None,
) -> pd.DataFrame:
    """Run episodes with seeds ``seed … seed + n − 1`` in lock-step; one row per step.

    Parameters
    ----------
    act : callable
        ``act(observations (n, d)) -> actions (n, k)`` on raw (un-normalised) flat
        observations, e.g. ``agent.act``; they are what :func:`rltutorial.make_env`
        shows, with the config's ``partial_observability``, while the returned beams
        are the true ones.
    config : dict
        The environment's config.
    n : int
        Number of episodes.
    seed : int
        Seed of the first episode.
    max_steps : int, optional
        Stop after this many steps; defaults to ``time_limit`` (100 if it is None).

    Returns
    -------
    DataFrame
        Columns of :func:`step_frame` plus ``return`` (cumulative reward); step 0 is the
        state after reset. Episodes that end early have fewer rows.
    """
    config = validate_config(config)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}.")
    max_steps = max_steps or config["time_limit"] or 100
    weights = OBJECTIVE_WEIGHTS[config["objective"]]
    venv = make_batched_env(config, int(n), seed=int(seed))
    observations = venv.reset()
    ids = np.arange(seed, seed + n)
    zeros = np.zeros(n)
    flags = np.zeros(n, dtype=bool)
    frames = [
        step_frame(
            ids, 0, venv.beams, venv.targets, venv.magnets, zeros, flags, flags, weights
        )
    ]
    active = np.ones(n, dtype=bool)
    for step in range(1, max_steps + 1):
        observations, rewards, dones, infos = venv.step(act(observations))
        index = np.flatnonzero(active)
        frames.append(_info_frame(ids, step, index, infos, rewards, dones, weights))
        active &= ~dones
        if not active.any():
            break
    episodes = pd.concat(frames, ignore_index=True)
    episodes = episodes.sort_values(["episode", "step"], ignore_index=True)
    episodes["return"] = episodes.groupby("episode")["reward"].cumsum()
    return episodes


def _info_frame(ids, step, index, infos, rewards, dones, weights) -> pd.DataFrame:
    chosen = [infos[i] for i in index]
    truncated = np.array([info.get("TimeLimit.truncated", False) for info in chosen])
    return step_frame(
        ids[index],
        step,
        np.array([info["beam"] for info in chosen]).reshape(-1, 4),
        np.array([info["target"] for info in chosen]).reshape(-1, 4),
        np.array([info["magnets"] for info in chosen]).reshape(-1, 5),
        np.asarray(rewards, dtype=float)[index],
        np.asarray(dones, dtype=bool)[index],
        truncated.astype(bool).reshape(-1),
        weights,
    )
