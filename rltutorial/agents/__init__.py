"""Agents: one trained agent, the zoo of agents by name, how they are stored and trained.

- :class:`Agent` (:mod:`~rltutorial.agents.agent`): policy, config, normalisation
  statistics and metrics; predict, act over episodes, run an episode, export.
- :func:`list_agents`, :func:`load_agent` (:mod:`~rltutorial.agents.zoo`): the zoo by
  name, alias (``"reference"``) or any letter case.
- :mod:`~rltutorial.agents.storage`: the folder format, without pickle, and loading with
  every check; :mod:`~rltutorial.agents.saving` writes folders,
  :mod:`~rltutorial.agents.manifest` records their files' digests and
  :mod:`~rltutorial.agents.swap` swaps them in atomically under locks.
- :func:`~rltutorial.agents.training.train`: train one from a config.

Training algorithms by name live in :mod:`rltutorial.algorithms` (the config names them).
"""

from __future__ import annotations

from rltutorial.agents.agent import Agent
from rltutorial.agents.zoo import REFERENCE_AGENT, list_agents, load_agent

__all__ = ["Agent", "REFERENCE_AGENT", "list_agents", "load_agent"]
