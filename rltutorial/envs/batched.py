"""Many ARES-EA episodes in one Cheetah call per step, as a Stable-Baselines3 ``VecEnv``.

:class:`BatchedAresEA` behaves like a ``DummyVecEnv`` of :func:`rltutorial.make_env`
copies — same spaces, rewards, termination, time limit, action filtering and
rescaling, frame stacking, auto-reset with ``terminal_observation``, per-env seeding,
infos — but tracks all N beams with a single vectorised :func:`~rltutorial.envs.cheetah.simulate_screen_beam`
call, and computes the screen's pixel sum from the beam moments instead of an image.
The task rules are the very same :class:`~rltutorial.envs.task.TaskRules` object the
single environment uses. :func:`rltutorial.make_vec_env` builds it from a config.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils.seeding import np_random
from gymnasium.wrappers.utils import rescale_box
from stable_baselines3.common.vec_env.base_vec_env import (
    VecEnv,
    VecEnvIndices,
    VecEnvStepReturn,
)

from rltutorial.envs.ares_ea import STEP_OBSERVATION_LIMIT, AresEACheetah
from rltutorial.envs.checks import check_action
from rltutorial.envs.cheetah import simulate_screen_beam
from rltutorial.envs.ranges import BEAM_LABELS, MAGNET_LABELS, SIGMA_INDICES
from rltutorial.envs.screen import fraction_on_screen
from rltutorial.envs.targets import (
    REACHABLE_CANDIDATES,
    draw_candidates,
    pick_reachable,
)
from rltutorial.envs.task import beam_errors
from rltutorial.rewards import objective

__all__ = ["BatchedAresEA"]


class BatchedAresEA(VecEnv):
    """N ARES-EA environments of one task, simulated together.

    Parameters
    ----------
    n_envs : int
        Number of environments.
    seed : int, optional
        Environment i is reset with ``seed + i`` on the first reset (as ``DummyVecEnv``).
    filter_observation : sequence of str
        Observation keys the agent sees (flattened in gymnasium's order).
    filter_action : sequence of int
        Magnets the agent moves (indices into Q1, Q2, CV, Q3, CH); the others hold.
    rescale_action : (float, float) or None
        Bounds of the agent's action space, or None for the magnets' own units.
    frame_stack : int or None
        Frames per observation (oldest first), or None for one.
    time_limit : int or None
        Steps after which an episode is truncated, or None for no limit.
    **task
        Keyword arguments of :class:`~rltutorial.envs.AresEACheetah` (the task).

    Notes
    -----
    Each step's info holds what the single environment reports, including the true
    ``beam``, ``magnets`` and ``target``. ``render()`` draws the environment
    ``render_index`` (default 0).
    """

    def __init__(
        self,
        n_envs: int,
        seed: int | None = None,
        *,
        filter_observation: Sequence[str],
        filter_action: Sequence[int],
        rescale_action: Sequence[float] | None,
        frame_stack: int | None,
        time_limit: int | None,
        **task: Any,
    ) -> None:
        if (
            isinstance(n_envs, bool)
            or not isinstance(n_envs, (int, np.integer))
            or n_envs < 1
        ):
            raise ValueError(f"n_envs must be a positive integer, got {n_envs!r}.")
        self.task = AresEACheetah(**task, render_mode="rgb_array")
        self._keys = list(_filtered_space(self.task, filter_observation).spaces)
        names = _names(filter_action)
        self._filter = np.asarray(self.task._action.action_indices(filter_action))
        extra = len(self._filter) - len(filter_action)
        names += f", {extra} choice scores" if extra else ""
        self._what = f"actions (n_envs, {len(self._filter)}: {names})"
        self._stack = frame_stack or 1
        self._limit = time_limit or np.iinfo(np.int64).max
        filtered_actions = _filtered_actions(self.task, self._filter)
        self._rescale = _action_transform(filtered_actions, rescale_action)
        self.num_envs = int(n_envs)  # needed by get_attr during VecEnv.__init__
        super().__init__(
            int(n_envs),
            _stacked_space(_filtered_space(self.task, filter_observation), self._stack),
            _rescaled_space(filtered_actions, rescale_action),
        )
        self._rngs = [np_random(None)[0] for _ in range(n_envs)]
        self._seeds: list[int | None] = [
            None if seed is None else seed + i for i in range(n_envs)
        ]
        self._allocate(int(n_envs))
        self.render_index = 0

    def _allocate(self, n: int) -> None:
        self.magnets = np.zeros((n, 5))
        self.incoming = np.zeros((n, 11))
        self.misalignments = np.zeros((n, 8))
        self.calibration = np.zeros((n, 3))
        self.targets = np.zeros((n, 4))
        self._candidates = np.zeros((n, REACHABLE_CANDIDATES, 5))
        self.beams = np.zeros((n, 4))
        self.initial = np.zeros((n, 4))
        self.steps_in_threshold = np.zeros(n, dtype=int)
        self.time_steps = np.zeros(n, dtype=int)
        self.frames = np.zeros(
            (n, self._stack, self.observation_space.shape[0] // self._stack), np.float32
        )
        self._actions = np.zeros((n, len(self._filter)), np.float32)

    # ---------------------------------------------------------------- resets
    def seed(self, seed: int | None = None) -> Sequence[None | int]:
        """Seed the next reset of environment i with ``seed + i``."""
        self._seeds = [None if seed is None else seed + i for i in range(self.num_envs)]
        return self._seeds

    def reset(self) -> np.ndarray:
        """Reset every environment (using pending seeds) and return flat observations."""
        self._reset_envs(np.arange(self.num_envs))
        self._seeds = [None] * self.num_envs
        return self._observations()

    def _draw(self, index: int) -> None:
        if self._seeds[index] is not None:
            self._rngs[index] = np_random(self._seeds[index])[0]
        rng, task = self._rngs[index], self.task
        if self._calibrated:  # drawn first, as CheetahBackend.reset does
            self.calibration[index] = task.backend.calibration_sampler.draw(rng)
        self.incoming[index] = task.backend.incoming_sampler.draw(rng)
        self.misalignments[index] = task.backend.misalignment_sampler.draw(rng)
        self.targets[index] = task.target_sampler.draw(rng)
        if task.reachable_target:
            self._candidates[index] = draw_candidates(rng)
        self.magnets[index] = task.magnet_sampler.draw(rng)

    def _reset_envs(self, indices: np.ndarray) -> None:
        if len(indices) == 0:
            return
        for index in indices:
            self._draw(int(index))
        if self.task.reachable_target:
            candidates = self._candidates[indices]  # (n, K, 5), one Cheetah call
            k = candidates.shape[1]
            beams = simulate_screen_beam(
                candidates.reshape(-1, 5),
                np.repeat(self.incoming[indices], k, axis=0),
                np.repeat(self.misalignments[indices], k, axis=0),
                calibration=self._true(np.repeat(self.calibration[indices], k, axis=0)),
            )
            self.targets[indices] = pick_reachable(beams.reshape(len(indices), k, 4))
        self.beams[indices] = simulate_screen_beam(
            self.magnets[indices],
            self.incoming[indices],
            self.misalignments[indices],
            calibration=self._true(self.calibration[indices]),
        )
        self.initial[indices] = self.beams[indices]
        self.steps_in_threshold[indices] = 0
        self.time_steps[indices] = 0
        flat = self._flat(indices)
        self.frames[indices] = flat[:, None, :]

    @property
    def _calibrated(self) -> bool:
        """Whether the machine has calibration errors (``calibration_error`` > 0)."""
        return self.task.backend.calibration_sampler is not None

    def _true(self, calibration: np.ndarray) -> np.ndarray | None:
        """The calibration errors to track with (None for an exact machine)."""
        return calibration if self._calibrated else None

    # ----------------------------------------------------------------- steps
    def step_async(self, actions: np.ndarray) -> None:
        """Store the agents' actions, shape (N, k) in the rescaled action space.

        Raises
        ------
        ValueError
            If ``actions`` is not of shape (N, k) (nothing is reshaped or broadcast) or
            holds NaN or infinite values, as :class:`rltutorial.wrappers.CheckAction`
            does for one environment.
        """
        shape = (self.num_envs, *self.action_space.shape)
        checked = check_action(actions, shape, self._what)
        self._actions = checked.astype(np.float32)

    def step_wait(self) -> VecEnvStepReturn:
        """Advance all environments by one step in one Cheetah call."""
        full = np.zeros((self.num_envs, self.task._action.size))
        full[:, self._filter] = self._rescale(self._actions)
        self.magnets, clipped = self.task._apply(self.magnets, full, self.time_steps)
        beams = simulate_screen_beam(
            self.magnets,
            self.incoming,
            self.misalignments,
            calibration=self._true(self.calibration),
        )
        pixel_sum = fraction_on_screen(beams)
        judgement = self.task.rules.judge(
            beams,
            self.beams,
            self.initial,
            self.targets,
            pixel_sum,
            self.steps_in_threshold,
        )
        self.beams, self.steps_in_threshold = beams, judgement.steps_in_threshold
        self.time_steps += 1
        truncated = self.time_steps >= self._limit
        dones = judgement.terminated | truncated
        self.frames = np.roll(self.frames, -1, axis=1)
        self.frames[:, -1] = self._flat(np.arange(self.num_envs))
        observations = self._observations()
        infos = self._infos(judgement, pixel_sum, clipped)
        done_indices = np.flatnonzero(dones)
        for index in done_indices:
            infos[index]["TimeLimit.truncated"] = bool(
                truncated[index] and not judgement.terminated[index]
            )
            infos[index]["terminal_observation"] = observations[index].copy()
        self._reset_envs(done_indices)
        observations[done_indices] = self._observations()[done_indices]
        return observations, judgement.reward.astype(np.float32), dones, infos

    # ------------------------------------------------------------ observations
    def _flat(self, indices: np.ndarray) -> np.ndarray:
        parts = {
            "beam": self.beams[indices],
            "magnets": self.magnets[indices],
            "target": self.targets[indices],
            "incoming": self.incoming[indices],
            "misalignments": self.misalignments[indices],
            "step": np.minimum(self.time_steps[indices], STEP_OBSERVATION_LIMIT)[
                :, None
            ],
        }
        return np.concatenate([parts[key] for key in self._keys], axis=1).astype(
            np.float32
        )

    def _observations(self) -> np.ndarray:
        return self.frames.reshape(self.num_envs, -1).copy()

    def _infos(
        self, judgement: Any, pixel_sum: np.ndarray, clipped: np.ndarray
    ) -> list[dict[str, Any]]:
        errors = beam_errors(self.beams, self.targets)
        objectives = objective(self.beams, self.targets, self.task.rules.weights)
        columns = {
            **{f"err_{name}": errors[:, i] for i, name in enumerate(BEAM_LABELS)},
            "mae_focus": errors[:, SIGMA_INDICES].mean(axis=1),
            "mae_all": errors.mean(axis=1),
            "is_success": judgement.in_threshold,
            "steps_in_threshold": self.steps_in_threshold,
            "time_step": self.time_steps,
            "on_screen": judgement.on_screen,
            "pixel_sum": pixel_sum,
            "objective": objectives,
            "action_clipped": clipped,
        }
        values = [np.asarray(column).tolist() for column in columns.values()]
        # rows of fresh copies: each info holds its own (4,), (5,) and (4,) arrays
        values += [
            list(self.beams.copy()),
            list(self.magnets.copy()),
            list(self.targets.copy()),
        ]
        keys = (*columns, "beam", "magnets", "target")
        if self._calibrated:
            values.append(list(self.calibration.copy()))
            keys = (*keys, "calibration")
        return [dict(zip(keys, row, strict=True)) for row in zip(*values, strict=True)]

    # ------------------------------------------------------------- rendering
    def render(self, mode: str | None = None) -> np.ndarray:
        """RGB image of environment ``render_index``."""
        index = self.render_index
        self.task.backend.incoming = self.incoming[index]
        self.task.backend.misalignments = self.misalignments[index]
        self.task.backend.calibration = self._true(self.calibration[index])
        self.task.backend.set_magnets(self.magnets[index])
        self.task.target = self.targets[index]
        self.task._previous_beam = self.beams[index]
        self.task._time_step = int(self.time_steps[index])
        return self.task.render()

    def get_images(self) -> Sequence[np.ndarray]:
        """Only the environment ``render_index`` is drawn (drawing all would be slow)."""
        return [self.render()]

    # ----------------------------------------------------- VecEnv plumbing
    def close(self) -> None:
        """Nothing to release."""

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """Attributes of the shared task object, once per selected environment."""
        return [getattr(self.task, attr_name) for _ in self._get_indices(indices)]

    def set_attr(
        self, attr_name: str, value: Any, indices: VecEnvIndices = None
    ) -> None:
        """Not supported: all environments share one configuration."""
        raise AttributeError(
            "BatchedAresEA shares one configuration; build a new one to change it."
        )

    def env_method(
        self, method_name: str, *args: Any, indices: VecEnvIndices = None, **kwargs: Any
    ) -> list[Any]:
        """Not supported: there are no per-environment objects to call."""
        raise AttributeError(
            f"BatchedAresEA has no per-environment objects to call {method_name!r} on."
        )

    def env_is_wrapped(
        self, wrapper_class: type, indices: VecEnvIndices = None
    ) -> list[bool]:
        """No gymnasium wrappers are involved (Monitor statistics come from VecMonitor)."""
        return [False for _ in self._get_indices(indices)]


def _names(indices: Sequence[int]) -> str:
    """``"Q1, Q2, Q3"`` for magnet indices; ValueError unless distinct ints in 0..4."""
    indices = list(indices)
    valid = range(len(MAGNET_LABELS))
    if (
        not indices
        or len(set(indices)) != len(indices)
        or not all(
            isinstance(i, (int, np.integer)) and not isinstance(i, bool) and i in valid
            for i in indices
        )
    ):
        raise ValueError(
            f"filter_action must be distinct integers in 0..{len(valid) - 1}, got "
            f"{indices!r}."
        )
    return ", ".join(MAGNET_LABELS[i] for i in indices)


def _filtered_space(task: AresEACheetah, keys: Sequence[str]) -> spaces.Dict:
    """The task's observation space restricted to ``keys`` (gymnasium's key order)."""
    return spaces.Dict({key: task.observation_space[key] for key in keys})


def _stacked_space(frame: spaces.Dict, stack: int) -> spaces.Box:
    """Flat space of ``stack`` flattened frames, as FrameStack + Flatten give it."""
    flat = spaces.flatten_space(frame)
    return spaces.Box(
        np.tile(flat.low, stack), np.tile(flat.high, stack), dtype=flat.dtype
    )


def _filtered_actions(task: AresEACheetah, indices: np.ndarray) -> spaces.Box:
    space = task.action_space
    return spaces.Box(space.low[indices], space.high[indices], dtype=space.dtype)


def _rescaled_space(space: spaces.Box, bounds: Sequence[float] | None) -> spaces.Box:
    """The agent's action space: ``space`` or the box ``bounds`` of its shape."""
    if bounds is None:
        return space
    low, high = (np.full(space.shape, np.float32(b)) for b in bounds)
    return spaces.Box(low, high, dtype=space.dtype)


def _action_transform(space: spaces.Box, bounds: Sequence[float] | None):
    """Map actions in the agent's (rescaled) space back to ``space``."""
    if bounds is None:
        return lambda action: action
    _, _, backward = rescale_box(space, np.float32(bounds[0]), np.float32(bounds[1]))
    return backward
