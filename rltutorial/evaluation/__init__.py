"""Evaluation: seeded episodes as tables, metrics, and the best achievable focus.

- :mod:`~rltutorial.evaluation.episodes`: :func:`rollout` runs seeded episodes in one
  batched environment and returns one row per step.
- :mod:`~rltutorial.evaluation.metrics`: final-error statistics, success and optimality
  rates, a behaviour note.
- :mod:`~rltutorial.evaluation.optimum`: the best beam size each seeded focusing
  problem allows (the yardstick).
- :func:`evaluate_agent`, :func:`compare_agents`: all of it for agents of the zoo.
"""

from __future__ import annotations

from rltutorial.evaluation.episodes import rollout
from rltutorial.evaluation.evaluate import Evaluation, compare_agents, evaluate_agent
from rltutorial.evaluation.metrics import summarize

__all__ = ["Evaluation", "compare_agents", "evaluate_agent", "rollout", "summarize"]
