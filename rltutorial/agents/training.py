"""Training agents: ``train(config) -> Agent``.

:func:`train` validates the config (your dict is never changed), names the run, trains
with the algorithm the config names (PPO by default, see
:data:`rltutorial.algorithms.ALGORITHM_REGISTRY`) on a batched vectorised environment,
shows a progress bar, logs episode statistics (``monitor.csv``) and TensorBoard scalars
under ``runs/<run name>/``, evaluates the policy every ``eval_every`` steps on fixed
seeded episodes and keeps the best one. At the end (or when you interrupt training with
Ctrl-C / "Interrupt kernel") it saves that policy atomically to ``models/<run name>/``,
evaluates it, records a few episodes as GIFs in ``recordings/<run name>/`` and returns
the :class:`~rltutorial.agents.Agent`. ``train(config, root=folder)`` writes all of
it under ``folder`` instead (``models/``, ``runs/``, ``recordings/``), e.g. for a study
or a throwaway run; the defaults are those of :mod:`rltutorial.paths`.
"""

from __future__ import annotations

import copy
import logging
import platform
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rltutorial.agents import saving
from rltutorial.agents import storage as agent_io
from rltutorial.agents.agent import Agent, PolicyActor
from rltutorial.agents.swap import claim_run
from rltutorial.algorithms import EVAL_CRITERIA, get_algorithm
from rltutorial.config import validate_config
from rltutorial.envs.ranges import BEAM_LABELS
from rltutorial.normalization import NormalizationStats
from rltutorial.paths import models_dir, recordings_dir, runs_dir, zoo_dirs
from rltutorial.threads import torch_threads

__all__ = [
    "train",
    "update_metrics",
    "record_episodes",
    "OutputFolders",
    "TrainingInterrupted",
]

logger = logging.getLogger(__name__)

#: First seed of the episodes used to pick the best policy during training; far from the
#: seeds of benchmark evaluations (0, 1, …) so that choosing does not tune to them.
EVAL_SEED = 1_000_000


class TrainingInterrupted(UserWarning):
    """Training was interrupted; the agent was saved with the policy reached so far."""


def new_run_name(taken: set[str] | None = None) -> str:
    """A fresh person-like name (``names.get_full_name()``) not used by an agent yet."""
    import names

    taken = set(taken or ()) | set(_existing_names())
    for _ in range(1000):
        name = names.get_full_name()
        if name not in taken:
            return name
    raise RuntimeError("Could not find an unused run name; pass config['run_name'].")


def _existing_names() -> list[str]:
    return [p.name for zoo in zoo_dirs() if zoo.is_dir() for p in zoo.iterdir()]


@dataclass
class _Snapshot:
    """A policy worth keeping: weights, observation statistics, when and how good."""

    state_dict: dict[str, Any]
    normalization: NormalizationStats | None
    timesteps: int
    score: float = -np.inf


def _snapshot(model: Any, score: float = -np.inf) -> _Snapshot:
    venv = model.get_env()
    stats = (
        NormalizationStats.from_vec_normalize(venv)
        if getattr(venv, "norm_obs", False)
        else None
    )
    state = {k: v.detach().clone() for k, v in model.policy.state_dict().items()}
    return _Snapshot(state, copy.deepcopy(stats), int(model.num_timesteps), score)


def _progress_callback(config: Mapping[str, Any], progress_bar: bool) -> Any:
    """A progress bar over the timesteps, as a Stable-Baselines3 callback."""
    from stable_baselines3.common.callbacks import BaseCallback

    from rltutorial.progress import progress_bar as make_bar

    class Progress(BaseCallback):
        def _on_training_start(self) -> None:
            self.bar = make_bar(
                int(config["total_timesteps"]),
                f"training {config['run_name']}",
                "step",
                enabled=progress_bar,
            )

        def _on_step(self) -> bool:
            self.bar.update(self.model.num_timesteps - self.bar.n)
            return True

        def _on_training_end(self) -> None:
            self.bar.close()

    return Progress()


def _evaluation_callback(config: Mapping[str, Any]) -> Any:
    """Scores the policy every ``eval_every`` steps and keeps the best snapshot."""
    from stable_baselines3.common.callbacks import BaseCallback

    class Evaluate(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.best: _Snapshot | None = None
            self.history: list[tuple[int, float]] = []
            self.last = 0

        def _on_step(self) -> bool:
            every = config["eval_every"]
            if every is not None and self.num_timesteps - self.last >= every:
                self.last = self.num_timesteps
                self.evaluate()
            return True

        def evaluate(self) -> None:
            score = _score(self.model, config)
            self.history.append((int(self.num_timesteps), score))
            self.logger.record("eval/score", score)
            if self.best is None or score > self.best.score:
                self.best = _snapshot(self.model, score)

    return Evaluate()


def _score(model: Any, config: Mapping[str, Any]) -> float:
    """Score of the current policy on the selection episodes (higher is better)."""
    from rltutorial.evaluation.episodes import rollout
    from rltutorial.evaluation.metrics import final_steps

    venv = model.get_env()
    normalize = venv.normalize_obs if getattr(venv, "norm_obs", False) else None
    act = PolicyActor(model.policy, normalize)
    episodes = rollout(act, config, int(config["eval_episodes"]), EVAL_SEED)
    return float(EVAL_CRITERIA[config["eval_criterion"]](final_steps(episodes)))


def _training_env(config: Mapping[str, Any], monitor_file: str):
    from stable_baselines3.common.vec_env import VecNormalize

    from rltutorial.make import make_vec_env

    venv = make_vec_env(
        config,
        int(config["n_envs"]),
        batched=True,
        seed=config["seed"],
        monitor_filename=monitor_file,
    )
    return VecNormalize(
        venv,
        norm_obs=bool(config["normalize_observation"]),
        norm_reward=bool(config["normalize_reward"]),
        gamma=float(config["gamma"]),
    )


@dataclass
class _Run:
    """What a finished (or interrupted) training run produced."""

    snapshot: _Snapshot
    wall_time: float
    timesteps: int
    interrupted: bool
    history: list[tuple[int, float]] = field(default_factory=list)


@dataclass(frozen=True)
class OutputFolders:
    """Where a training run writes: agents, logs and recordings (one sub-folder each)."""

    models: Path
    runs: Path
    recordings: Path

    @classmethod
    def under(cls, root: str | Path | None = None) -> OutputFolders:
        """``root/models``, ``root/runs``, ``root/recordings``; the defaults of
        :mod:`rltutorial.paths` without a root."""
        if root is None:
            return cls(models_dir(), runs_dir(), recordings_dir())
        root = Path(root)
        return cls(root / "models", root / "runs", root / "recordings")


def _learn(config: dict[str, Any], progress_bar: bool, runs: Path) -> _Run:
    """Build the environment and learner, train, and pick the policy to keep."""
    run_folder = runs / config["run_name"]
    run_folder.mkdir(parents=True, exist_ok=True)
    venv = _training_env(config, str(run_folder / agent_io.MONITOR_FILE))
    model = get_algorithm(config["algorithm"]).build(
        config, venv, tensorboard_log=str(run_folder), seed=config["seed"]
    )
    progress = _progress_callback(config, progress_bar)
    evaluate = _evaluation_callback(config)
    interrupted, start = False, time.perf_counter()
    try:
        model.learn(
            int(config["total_timesteps"]),
            callback=[progress, evaluate],
            tb_log_name="tensorboard",
        )
    except KeyboardInterrupt:
        interrupted = True
        if hasattr(progress, "bar"):
            progress.bar.close()
    wall_time = time.perf_counter() - start
    if config["eval_every"] is not None and not interrupted:
        evaluate.evaluate()  # the final policy competes too
    snapshot = evaluate.best or _snapshot(model)
    venv.close()
    return _Run(
        snapshot, wall_time, int(model.num_timesteps), interrupted, evaluate.history
    )


def _training_metrics(config: Mapping[str, Any], run: _Run) -> dict[str, Any]:
    import stable_baselines3
    import torch

    return {
        "algorithm": config["algorithm"],
        "timesteps": run.timesteps,
        "wall_time_s": round(run.wall_time, 1),
        "interrupted": run.interrupted,
        "kept_timesteps": run.snapshot.timesteps,
        "kept_score": run.snapshot.score,
        "eval_criterion": config["eval_criterion"],
        "eval_history": [[t, s] for t, s in run.history],
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "stable_baselines3": stable_baselines3.__version__,
        },
    }


def train(
    config: Mapping[str, Any] | None = None,
    *,
    overwrite: bool = False,
    evaluation_episodes: int = 200,
    recorded_episodes: int = 2,
    progress_bar: bool = True,
    root: str | Path | None = None,
) -> Agent:
    """Train an agent on the ARES-EA task and save it to ``models/<run name>/``.

    Parameters
    ----------
    config : dict, optional
        Task and training settings (see :data:`rltutorial.DEFAULT_CONFIG`); validated,
        never modified. Without ``run_name`` the run gets a new person-like name.
    overwrite : bool
        Replace an existing agent of the same name.
    evaluation_episodes : int
        Seeded episodes (seeds 0, 1, …) evaluated after training for ``metrics.json``;
        0 skips it.
    recorded_episodes : int
        Episodes (seeds 0, 1, …) recorded as GIFs in ``recordings/<run name>/``.
    progress_bar : bool
        Show a progress bar (see :func:`rltutorial.progress.progress_bar`).
    root : str or Path, optional
        Write the agent, logs and recordings under this folder (``models/``,
        ``runs/``, ``recordings/``) instead of the defaults of :mod:`rltutorial.paths`.

    Returns
    -------
    Agent
        The saved agent, loaded back from its folder.

    Raises
    ------
    ValueError
        For an invalid config or run name.
    FileExistsError
        If the agent exists and ``overwrite`` is False, or another process is training
        an agent of the same name (a ``RunInProgressError``); checked before training.

    Warns
    -----
    TrainingInterrupted
        When interrupted: the best policy so far is saved and returned.
    """
    config = validate_config(config)
    config["run_name"] = config["run_name"] or new_run_name()
    name = agent_io.check_agent_name(config["run_name"])
    out = OutputFolders.under(root)
    folder = out.models / name
    zoos = zoo_dirs() if root is None else [out.models]
    with claim_run(out.runs, folder, zoos, overwrite):  # fails at once if taken
        with torch_threads(1):
            run = _learn(config, progress_bar, out.runs)
        if run.interrupted:
            warnings.warn(
                f"Training of {name!r} interrupted after {run.timesteps} steps; saving "
                f"the policy from step {run.snapshot.timesteps}.",
                TrainingInterrupted,
                stacklevel=2,
            )
        metrics = {"agent": name, "training": _training_metrics(config, run)}
        saving.write_agent_folder(
            folder,
            config,
            run.snapshot.state_dict,
            run.snapshot.normalization,
            metrics,
            out.runs / name / agent_io.MONITOR_FILE,
            overwrite=overwrite,
        )
        agent = Agent.from_folder(folder)
        if evaluation_episodes:
            update_metrics(agent, evaluation_episodes)
        if recorded_episodes and not run.interrupted:
            record_episodes(agent, recorded_episodes, folder=out.recordings / name)
    logger.info("Saved agent %r to %s", name, folder)
    return agent


def update_metrics(agent: Agent, n: int = 200, seed: int = 0) -> dict[str, Any]:
    """Evaluate ``agent`` on ``n`` seeded episodes and store the result in its metrics.

    Returns
    -------
    dict
        The agent's updated metrics (also written to its ``metrics.json``).
    """
    from rltutorial.evaluation.evaluate import evaluate_agent

    evaluation = evaluate_agent(agent, n=n, seed=seed)
    agent.metrics.update(
        evaluation={**evaluation.settings, **evaluation.metrics},
        behaviour=evaluation.behaviour,
    )
    if agent.folder is not None:
        saving.write_metrics(agent.folder, agent.metrics)
    return agent.metrics


def record_episodes(
    agent: Agent,
    n: int = 2,
    seed: int = 0,
    fps: float = 4.0,
    folder: str | Path | None = None,
) -> list[Path]:
    """Record ``n`` episodes (seeds ``seed``, ``seed + 1``, …) as GIFs of the screen.

    Returns
    -------
    list of Path
        ``<folder>/episode-<seed>.gif`` (576 × 240 pixels per frame); ``folder``
        defaults to ``recordings/<agent name>``.
    """
    from rltutorial.plotting import animate_episode

    folder = recordings_dir() / agent.name if folder is None else Path(folder)
    thresholds = [
        (
            np.nan
            if (value := agent.config[f"target_{label}_threshold"]) is None
            else value
        )
        for label in BEAM_LABELS
    ]
    return [
        animate_episode(
            agent.run_episode(seed=episode_seed),
            folder / f"episode-{episode_seed}.gif",
            fps,
            thresholds,
        )
        for episode_seed in range(seed, seed + n)
    ]
