"""Evaluate agents on seeded episodes: step-by-step tables and summary metrics.

:func:`evaluate_agent` runs an agent with :func:`~rltutorial.evaluation.episodes.rollout`
and summarises how it ends its episodes (:func:`~rltutorial.evaluation.metrics.summarize`);
:func:`compare_agents` does it for several agents on the same seeded episodes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rltutorial.evaluation.episodes import rollout
from rltutorial.evaluation.metrics import (
    DEFAULT_THRESHOLD,
    describe_behaviour,
    final_steps,
    judges_positions,
    summarize,
)
from rltutorial.evaluation.optimum import optimum_frame

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from rltutorial.agents import Agent

__all__ = ["Evaluation", "evaluate_agent", "compare_agents"]


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
        One row per step (see :func:`~rltutorial.evaluation.episodes.rollout`).
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
    from rltutorial.agents.zoo import load_agent

    agent = (
        load_agent(agent_or_name) if isinstance(agent_or_name, str) else agent_or_name
    )
    config = agent.env_config(**dict(overrides or {}))
    if include_position is None:
        include_position = judges_positions(config)
    episodes = rollout(agent.actor(), config, n, seed)
    optima = optimum_frame(config, np.arange(seed, seed + n))
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
