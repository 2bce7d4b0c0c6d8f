"""One trained agent: its policy, config, normalisation statistics and metrics.

An :class:`Agent` holds its config, the policy network (rebuilt from the config and
filled with the saved state dict), the observation-normalisation statistics and the
metrics written when it was trained. See :mod:`rltutorial.agents.storage` for the folder
format and :mod:`rltutorial.agents.zoo` for the zoo of agents by name.

A feed-forward policy maps each observation to an action on its own; a recurrent one (an
LSTM, sb3-contrib's ``RecurrentPPO``) carries a hidden state from step to step that must
start fresh with every episode. :class:`PolicyActor` acts over episodes either way.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rltutorial.agents import saving, storage
from rltutorial.algorithms import get_algorithm
from rltutorial.config import validate_config
from rltutorial.envs.backend import Backend
from rltutorial.make import make_env
from rltutorial.normalization import NormalizationStats, NotVecNormalize
from rltutorial.observability import hides_magnets
from rltutorial.paths import models_dir, recording_dirs
from rltutorial.threads import torch_threads

__all__ = ["Agent", "PolicyActor", "FIXED_KEYS"]

#: Config keys that shape the policy's inputs and outputs; an agent's environment
#: cannot change them.
FIXED_KEYS = (
    "filter_observation",
    "filter_action",
    "frame_stack",
    "rescale_action",
    "normalize_observation",
)


class Agent:
    """A trained agent: policy, config, normalisation statistics and metrics.

    Parameters
    ----------
    name : str
        The agent's name (its folder name in the zoo).
    config : dict
        The config it was trained with.
    policy : torch.nn.Module
        Policy with a Stable-Baselines3 style ``predict(observation, deterministic)``.
    normalization : NormalizationStats, optional
        Observation statistics (None if observations are not normalised).
    metrics : dict, optional
        Evaluation summary and training facts.
    folder : Path, optional
        Where the agent is stored.
    """

    def __init__(
        self,
        name: str,
        config: Mapping[str, Any],
        policy: Any,
        normalization: NormalizationStats | None = None,
        metrics: Mapping[str, Any] | None = None,
        folder: Path | None = None,
    ) -> None:
        self.name = name
        self.config = validate_config(config)
        self.policy = policy
        self.normalization = normalization
        self.metrics = copy.deepcopy(dict(metrics or {}))
        self.folder = folder

    def __repr__(self) -> str:
        return f"Agent({self.name!r}, reward_mode={self.config['reward_mode']!r})"

    @classmethod
    def from_folder(cls, folder: str | Path) -> Agent:
        """Load and check an agent folder without unpickling (see
        :func:`rltutorial.agents.storage.read_agent`).

        Raises
        ------
        ValueError
            Naming the file that is missing, damaged or does not fit the others.
        """
        folder = Path(folder)
        config, policy, normalization, metrics = storage.read_agent(folder)
        return cls(folder.name, config, policy, normalization, metrics, folder)

    @classmethod
    def untrained(
        cls,
        config: Mapping[str, Any] | None = None,
        name: str = "Untrained",
        seed: int = 0,
    ) -> Agent:
        """An agent with a freshly initialised policy (what training starts from).

        Observations are not normalised; its actions are those of a random network.
        """
        import torch

        config = validate_config({**dict(config or {}), "normalize_observation": False})
        env = make_env(config)
        torch.manual_seed(seed)
        policy = get_algorithm(config["algorithm"]).policy(
            config, env.observation_space, env.action_space
        )
        return cls(storage.check_agent_name(name), config, policy)

    def save(self, folder: str | Path | None = None, overwrite: bool = False) -> Path:
        """Write the agent folder (default ``models/<name>``) atomically; return it."""
        folder = models_dir() / self.name if folder is None else Path(folder)
        saving.write_agent_folder(
            folder,
            self.config,
            self.policy.state_dict(),
            self.normalization,
            {"agent": self.name, **self.metrics},
            overwrite=overwrite,
        )
        self.folder = folder
        return folder

    # ------------------------------------------------------------------ acting
    def normalize(self, observation: np.ndarray) -> np.ndarray:
        """Normalise raw flat observations (N, d) or (d,) as during training."""
        if self.normalization is None:
            return np.asarray(observation, dtype=np.float32)
        return self.normalization.normalize(observation)

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        """Action for a (normalised) observation, as Stable-Baselines3's ``predict``.

        Parameters
        ----------
        observation : ndarray (d,) or (N, d)
            Observation(s) from :meth:`make_env` (already normalised).
        state : tuple of ndarray, optional
            Hidden state a recurrent agent returned at the previous step (None at the
            start of an episode; ignored by agents without memory).
        episode_start : ndarray of bool (N,), optional
            Which environments start a new episode (recurrent agents reset there).
        deterministic : bool
            Take the mean action instead of sampling.

        Returns
        -------
        action : ndarray (k,) or (N, k)
            In the agent's (rescaled) action space.
        state : tuple of ndarray or None
            The new hidden state of a recurrent agent, None otherwise.
        """
        observation = np.asarray(observation, dtype=np.float32)
        with torch_threads(1):
            if not is_recurrent(self.policy):
                return self.policy.predict(observation, deterministic=deterministic)
            if episode_start is None:
                n = 1 if observation.ndim == 1 else len(observation)
                episode_start = np.full(n, state is None)
            return self.policy.predict(
                observation,
                state=state,
                episode_start=episode_start,
                deterministic=deterministic,
            )

    @property
    def recurrent(self) -> bool:
        """Whether the agent remembers earlier steps (an LSTM policy)."""
        return is_recurrent(self.policy)

    def actor(self) -> PolicyActor:
        """A callable ``actor(raw observations (N, d)) -> actions (N, k)`` for one batch
        of episodes that start together; it keeps a recurrent agent's memory."""
        return PolicyActor(self.policy, self.normalize)

    def act(self, observations: np.ndarray) -> np.ndarray:
        """Deterministic actions (N, k) for raw, un-normalised observations (N, d).

        Each call is treated as the first step of an episode; use :meth:`actor` to act
        over whole episodes (it matters for recurrent agents).
        """
        return self.actor()(observations)

    # ------------------------------------------------------------ environments
    def env_config(self, **overrides: Any) -> dict[str, Any]:
        """The agent's config with ``overrides``, validated.

        Raises
        ------
        ValueError
            For unknown keys or invalid values, or keys in :data:`FIXED_KEYS` that would
            change what the policy sees or does.
        """
        fixed = sorted(
            key
            for key in overrides
            if key in FIXED_KEYS and overrides[key] != self.config[key]
        )
        if fixed:
            raise ValueError(
                f"Cannot change {', '.join(map(repr, fixed))} of agent {self.name!r}: "
                f"its policy is tied to them. Keys that can change: any but "
                f"{', '.join(FIXED_KEYS)}."
            )
        config = validate_config({**self.config, **overrides})
        if hides_magnets(config) != hides_magnets(self.config):
            raise ValueError(
                f"Cannot change partial_observability['hide_magnets'] of agent "
                f"{self.name!r}: it changes what the policy sees. Noise, flicker and "
                "sensor dropout can change."
            )
        return config

    def make_env(
        self,
        render_mode: str | None = None,
        backend: str | Backend = "cheetah",
        **overrides: Any,
    ):
        """The agent's environment (normalised observations), optionally modified.

        Parameters
        ----------
        render_mode : {"rgb_array", None}
            Rendering of the environment.
        backend : str or Backend
            The machine (see :func:`rltutorial.make_env`): the simulation by default,
            or e.g. an :class:`~rltutorial.machine.EpicsBackend`.
        **overrides
            Config keys to change, e.g. ``misalignment_mode="random"``.

        Returns
        -------
        gym.Env
            :func:`rltutorial.make_env` wrapped in :class:`NotVecNormalize`.
        """
        env = make_env(
            self.env_config(**overrides), render_mode=render_mode, backend=backend
        )
        if self.normalization is not None:
            env = NotVecNormalize(env, self.normalization)
        return env

    def run_episode(
        self,
        seed: int | None = None,
        render: bool = False,
        max_steps: int | None = None,
        backend: str | Backend = "cheetah",
        **overrides: Any,
    ) -> pd.DataFrame | tuple[pd.DataFrame, list[np.ndarray]]:
        """Run one episode with the deterministic policy.

        Parameters
        ----------
        seed : int, optional
            Reset seed (the same seed gives the same incoming beam).
        render : bool
            Also return the rendered screen images (slow: about 0.2 s each).
        max_steps : int, optional
            At most this many steps (0 or less: none, the reset state only); None
            means ``time_limit`` (100 if that is None).
        backend : str or Backend
            The machine, as for :meth:`make_env`.
        **overrides
            Config changes, as for :meth:`make_env`.

        Returns
        -------
        DataFrame or (DataFrame, list of ndarray (H, W, 3))
            One row per step (step 0 is the state after reset; columns as
            :func:`rltutorial.evaluation.episodes.step_frame` plus ``return``), and with
            ``render=True`` the frames.
        """
        from rltutorial.evaluation.episodes import episode_frame_rows

        env = self.make_env(
            render_mode="rgb_array" if render else None, backend=backend, **overrides
        )
        config = self.env_config(**overrides)
        limit = (config["time_limit"] or 100) if max_steps is None else max_steps
        observation, info = env.reset(seed=seed)
        state = None
        infos, rewards, ends = [info], [0.0], [(False, False)]
        frames = [env.render()] if render else []
        while len(infos) <= limit and not any(ends[-1]):
            action, state = self.predict(observation, state)
            observation, reward, terminated, truncated, info = env.step(action)
            infos.append(info)
            rewards.append(float(reward))
            ends.append((terminated, truncated))
            if render:
                frames.append(env.render())
        episode = episode_frame_rows(
            0 if seed is None else seed, infos, rewards, ends, config
        )
        return (episode, frames) if render else episode

    # ---------------------------------------------------------------- records
    def recording(self, episode: int = 0) -> Path:
        """The GIF recorded of episode ``episode`` (seed) after training.

        Looked up next to the agent's own folder (``<root>/recordings/<name>/``, where
        ``train(..., root=...)`` puts it), then in :func:`rltutorial.paths.recording_dirs`.

        Raises
        ------
        FileNotFoundError
            Naming the places searched.
        """
        places = [folder / self.name for folder in recording_dirs()]
        if self.folder is not None:
            places.insert(0, self.folder.parent.parent / "recordings" / self.name)
        name = f"episode-{int(episode)}.gif"
        for place in places:
            if (place / name).is_file():
                return place / name
        searched = ", ".join(str(place) for place in dict.fromkeys(places))
        raise FileNotFoundError(f"No recording {name} of {self.name!r} in {searched}.")

    def monitor(self) -> pd.DataFrame:
        """Training history from ``monitor.csv``.

        Rows are blocks of ``episodes`` consecutive training episodes: mean reward
        ``r``, mean length ``l`` (steps), wall time ``t`` (s) at the block's end.
        """
        path = None if self.folder is None else self.folder / storage.MONITOR_FILE
        if path is None or not path.is_file():
            raise FileNotFoundError(f"Agent {self.name!r} has no monitor file.")
        return pd.read_csv(path, comment="#")

    def export_sb3_zip(self, path: str | Path) -> Path:
        """Write a standard Stable-Baselines3 zip (``PPO.load(path)`` elsewhere); see
        :func:`rltutorial.agents.saving.export_sb3_zip`."""
        return saving.export_sb3_zip(
            self.config, self.policy.state_dict(), self.normalization, path
        )


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

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        """Actions (N, k) for raw observations (N, d) of the current step."""
        observations = np.asarray(self.normalize(observations), dtype=np.float32)
        with torch_threads(1):
            if not self.recurrent:
                return self.policy.predict(observations, deterministic=True)[0]
            starts = np.full(len(observations), self.state is None)
            actions, self.state = self.policy.predict(
                observations, self.state, starts, deterministic=True
            )
        return actions
