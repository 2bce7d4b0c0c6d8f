"""Acting with a policy over an episode, with or without memory.

A feed-forward policy maps each observation to an action on its own. A recurrent policy
(an LSTM, e.g. sb3-contrib's ``RecurrentPPO``) also carries a hidden state from step to
step, which must start fresh at the beginning of every episode. :class:`PolicyActor`
hides the difference: call it once per step with the observations of N environments
that started their episodes together, and it keeps whatever memory the policy needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rltutorial.threads import torch_threads

__all__ = ["PolicyActor", "is_recurrent"]


def is_recurrent(policy: Any) -> bool:
    """Whether ``policy`` carries a hidden state between steps (an LSTM policy)."""
    return hasattr(policy, "lstm_actor")


class PolicyActor:
    """Deterministic actions for N environments stepped in lock-step.

    Parameters
    ----------
    policy : torch.nn.Module
        A Stable-Baselines3 (or sb3-contrib recurrent) policy with ``predict``.
    normalize : callable, optional
        Turns raw flat observations (N, d) into what the policy was trained on.

    Notes
    -----
    The first call starts new episodes (a recurrent policy's state is reset); every
    later call continues them. Make a new actor (or call :meth:`reset`) per batch of
    episodes.
    """

    def __init__(
        self, policy: Any, normalize: Callable[[np.ndarray], np.ndarray] | None = None
    ) -> None:
        self.policy = policy
        self.normalize = normalize or (lambda x: np.asarray(x, dtype=np.float32))
        self.recurrent = is_recurrent(policy)
        self.reset()

    def reset(self) -> None:
        """Start new episodes at the next call."""
        self.state: Any = None
        self.episode_start: np.ndarray | None = None

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        """Actions (N, k) for raw observations (N, d) of the current step."""
        observations = np.asarray(self.normalize(observations), dtype=np.float32)
        with torch_threads(1):
            if not self.recurrent:
                return self.policy.predict(observations, deterministic=True)[0]
            starts = np.full(len(observations), self.state is None)
            actions, self.state = self.policy.predict(
                observations,
                state=self.state,
                episode_start=starts,
                deterministic=True,
            )
        return actions
