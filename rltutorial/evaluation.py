"""Evaluate agents on seeded episodes: step-by-step DataFrames and summary metrics.

:func:`rollout` runs many seeded episodes in lock-step in one batched environment (one
Cheetah call per step for all of them), :func:`summarize` turns the final steps into
metrics, and :func:`evaluate_agent` / :func:`compare_agents` put both together for agents
of the zoo. Episode ``s`` of an evaluation with ``seed=0`` is the environment reset with
``seed=s``, so every agent faces the same beams.

All lengths (beam parameters, errors, objectives) are in m.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rltutorial.config import validate_config
from rltutorial.envs.ranges import BEAM_LABELS, MAGNET_LABELS
from rltutorial.envs.screen import fraction_on_screen, is_on_screen
from rltutorial.envs.task import beam_errors
from rltutorial.metrics import (
    DEFAULT_THRESHOLD,
    NEAR_OPTIMAL_FACTOR,
    describe_behaviour,
    final_steps,
    judges_positions,
    summarize,
)
from rltutorial.rewards import OBJECTIVE_WEIGHTS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from rltutorial.agents import Agent

__all__ = [
    "Evaluation",
    "step_frame",
    "episode_frame_rows",
    "rollout",
    "evaluate_agent",
    "compare_agents",
    "final_steps",
    "summarize",
    "describe_behaviour",
    "DEFAULT_THRESHOLD",
    "NEAR_OPTIMAL_FACTOR",
]


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
        focus_objective=errors[:, 1] + errors[:, 3],
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


def _batched_env(config: Mapping[str, Any], n: int, seed: int):
    """Batched environment of ``config`` whose infos hold the true state."""
    from rltutorial.envs.batched import BatchedAresEA
    from rltutorial.vec_env import make_batched_env

    class _StateInfo(BatchedAresEA):
        """Adds ``beam``, ``magnets`` and ``target`` to each step's info if missing."""

        def _infos(self, *args: Any) -> list[dict[str, Any]]:
            infos = super()._infos(*args)
            for index, info in enumerate(infos):
                info.setdefault("beam", self.beams[index].copy())
                info.setdefault("magnets", self.magnets[index].copy())
                info.setdefault("target", self.targets[index].copy())
            return infos

    return make_batched_env(config, n, seed=seed, env_class=_StateInfo)


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
    venv = _batched_env(config, int(n), int(seed))
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


@dataclass
class Evaluation:
    """Outcome of :func:`evaluate_agent`.

    Attributes
    ----------
    name : str
        Agent name.
    metrics : dict
        See :func:`summarize`; lengths in m.
    episodes : DataFrame
        One row per step (see :func:`rollout`).
    settings : dict
        ``n``, ``seed``, ``include_position`` and the thresholds (m) used.
    """

    name: str
    metrics: dict[str, float]
    episodes: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def finals(self) -> pd.DataFrame:
        """Last step of each episode (see :func:`final_steps`)."""
        return final_steps(self.episodes)

    @property
    def behaviour(self) -> str:
        """What the agent does, from the metrics (see :func:`describe_behaviour`)."""
        return describe_behaviour(self.metrics)

    def plot(self, **kwargs: Any) -> Figure:
        """Errors against step with spread (see :func:`rltutorial.plotting.plot_evaluation`)."""
        from rltutorial.plotting import plot_evaluation

        return plot_evaluation(self, **kwargs)


def _optima(config: Mapping[str, Any], seeds: np.ndarray) -> pd.Series | None:
    from rltutorial import optimum

    if not optimum.has_optimum_table(config):
        return None
    try:
        table = optimum.optimum_table()["objective"]
    except FileNotFoundError as error:
        warnings.warn(f"{error} Optimality metrics are NaN.", stacklevel=3)
        return None
    missing = sorted(set(seeds.tolist()) - set(table.index))
    if missing:
        warnings.warn(
            f"The optimum table covers seeds {table.index.min()}..{table.index.max()}, "
            f"not {missing[0]}..{missing[-1]}; optimality metrics are NaN.",
            stacklevel=3,
        )
        return None
    return table


def evaluate_agent(
    agent_or_name: Agent | str,
    n: int = 200,
    include_position: bool | None = None,
    seed: int = 0,
    sigma_threshold: float = DEFAULT_THRESHOLD,
    position_threshold: float = DEFAULT_THRESHOLD,
    overrides: Mapping[str, Any] | None = None,
) -> Evaluation:
    """Run an agent on ``n`` seeded episodes and summarise how it ends them.

    Parameters
    ----------
    agent_or_name : Agent or str
        An agent, or the name of one in the zoo (see :func:`rltutorial.list_agents`).
    n : int
        Episodes; episode ``i`` is the environment reset with ``seed + i``.
    include_position : bool, optional
        Also judge mu_x and mu_y. By default they are judged when the agent's task asks
        for them (``objective: "full"``), not for the focusing task (small sigmas only).
    seed : int
        Seed of the first episode.
    sigma_threshold, position_threshold : float
        Success thresholds on |error| in m.
    overrides : dict, optional
        Config changes for the environment (e.g. ``{"misalignment_mode": "random"}``),
        validated as in :meth:`Agent.make_env`.

    Returns
    -------
    Evaluation
        ``.metrics`` (:func:`summarize`), ``.episodes`` (one row per step), ``.plot()``.
    """
    from rltutorial.agents import load_agent

    agent = (
        load_agent(agent_or_name) if isinstance(agent_or_name, str) else agent_or_name
    )
    config = agent.env_config(**dict(overrides or {}))
    if include_position is None:
        include_position = judges_positions(config)
    episodes = rollout(agent.actor(), config, n, seed)
    optima = _optima(config, np.arange(seed, seed + n))
    metrics = summarize(
        episodes, include_position, sigma_threshold, position_threshold, optima
    )
    settings = {
        "n": n,
        "seed": seed,
        "include_position": include_position,
        "sigma_threshold": sigma_threshold,
        "position_threshold": position_threshold,
    }
    return Evaluation(agent.name, metrics, episodes, settings)


def compare_agents(
    names: Sequence[Agent | str], n: int = 200, seed: int = 0, **kwargs: Any
) -> pd.DataFrame:
    """Evaluate several agents on the same seeded episodes.

    Parameters
    ----------
    names : sequence of str or Agent
        Agents or their names in the zoo.
    n, seed, **kwargs
        As for :func:`evaluate_agent`.

    Returns
    -------
    DataFrame
        One row per agent (indexed by name): the metrics and a ``behaviour`` note.
    """
    rows = {}
    for item in names:
        evaluation = evaluate_agent(item, n=n, seed=seed, **kwargs)
        rows[evaluation.name] = {
            **evaluation.metrics,
            "behaviour": evaluation.behaviour,
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("agent")
