"""Configurations of the ARES-EA task and its training, validated, and stored as safe YAML.

A configuration is a plain dict. :data:`CONFIG_KEYS` is the one table of every key: its
default, its check and what it means (:data:`DEFAULT_CONFIG`, :data:`CONFIG_SCHEMA` and
:data:`CONFIG_DOCS` are views of it). The task's defaults are the environment's own
(:func:`rltutorial.envs.ares_ea.task_defaults`): the workshop's focusing task.
:func:`validate_config` fills in missing keys and rejects unknown keys, wrong types,
values out of range and invalid modes with a ``ValueError`` naming the key, the bad value
and what is valid. The caller's dict is never modified.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rltutorial.algorithms import (
    ALGORITHM_REGISTRY,
    EVAL_CRITERIA,
    LEARNING_RATE_SCHEDULES,
    POLICY_FEATURES,
)
from rltutorial.checks import (
    Check,
    bounds,
    choice,
    fail,
    flag,
    folder_name,
    layers,
    number,
    settings,
    subset,
    unknown_keys_error,
    vector,
)
from rltutorial.envs.actions import ACTION_MODES
from rltutorial.envs.ares_ea import task_defaults
from rltutorial.envs.ranges import (
    INCOMING_LABELS,
    MAGNET_LABELS,
    MAGNET_LIMITS,
    MISALIGNMENT_BOUND,
    SCREEN_HALF_SIZE,
)
from rltutorial.envs.sampling import MAX_CALIBRATION_ERROR, SAMPLING_MODES
from rltutorial.envs.targets import target_modes
from rltutorial.observability import PARTIAL_OBSERVABILITY_SCHEMA
from rltutorial.rewards import OBJECTIVE_WEIGHTS, REWARD_MODES
from rltutorial.safe_yaml import dump_yaml, load_yaml, to_plain

__all__ = [
    "CONFIG_KEYS",
    "DEFAULT_CONFIG",
    "CONFIG_SCHEMA",
    "CONFIG_DOCS",
    "validate_config",
    "load_config",
    "save_config",
    "config_reference",
]

#: Observation keys an agent may be given (``incoming``/``misalignments`` only in simulation).
OBSERVATION_KEYS = ("beam", "magnets", "target", "step", "incoming", "misalignments")
#: Largest sizes a config may ask for (they bound memory and time, not physics).
MAX_ENVS = 4096
MAX_STEPS_PER_ROLLOUT = 100_000
MAX_TIMESTEPS = 10**9
MAX_BUFFER = 10**7
#: Longest run name in bytes (UTF-8): a folder name, with room for hidden working names.
MAX_NAME_BYTES = 200


@dataclass(frozen=True)
class ConfigKey:
    """One config key: its default, its check and its meaning (with units)."""

    default: Any
    check: Check
    doc: str


_TASK = task_defaults()


def _task(name: str, check: Check, doc: str) -> tuple[str, ConfigKey]:
    """A task key whose default is the environment's own."""
    return name, ConfigKey(_TASK[name], check, doc)


def _target_beam(key: str, value: Any) -> None:
    """Four numbers: positions within the screen, sizes between 0 and the screen."""
    vector(4, optional=True)(key, value)
    if value is None:
        return
    half_x, half_y = SCREEN_HALF_SIZE
    high = np.array([half_x, half_x, half_y, half_y])
    low = np.array([-half_x, 0.0, -half_y, 0.0])
    beam = np.asarray(value, dtype=float)
    if np.any(beam < low) or np.any(beam > high):
        fail(
            key,
            value,
            f"[mu_x, sigma_x, mu_y, sigma_y] on the screen: |mu_x| and sigma_x ≤ "
            f"{half_x:.4g} m, |mu_y| and sigma_y ≤ {half_y:.4g} m, sigmas ≥ 0",
        )


def _incoming(key: str, value: Any) -> None:
    """Eleven numbers with a positive energy and positive sizes and spreads."""
    vector(11, optional=True)(key, value)
    if value is None:
        return
    positive = [0, 5, 6, 7, 8, 9, 10]
    if np.any(np.asarray(value, dtype=float)[positive] <= 0):
        names = ", ".join(INCOMING_LABELS[i] for i in positive)
        fail(key, value, f"11 numbers ({', '.join(INCOMING_LABELS)}) with {names} > 0")


_ALGORITHM_NAMES = ", ".join(repr(name) for name in ALGORITHM_REGISTRY)

#: Every config key: default, check and meaning, in the order of a config file.
# fmt: off
CONFIG_KEYS: dict[str, ConfigKey] = dict(
    [
        # ------------------------------------------------------------- the task
        _task("action_mode", choice(lambda: ACTION_MODES),
              "how an action moves the magnets: 'delta' changes each by at most 10 % "
              "of its limit per step (7.2 1/m², 0.62 mrad), 'delta_fine' likewise with "
              "steps growing with the cube of the action, 'direct' sets them, "
              "'direct_unidirectional_quads' sets them with Q1, Q3 ≥ 0 and Q2 ≤ 0, "
              "'focal_choice' adds five choice scores (A+, A−, B+, B−, stay): in the "
              "first 3 steps the best-scored focal-plane setting (|Q1| = 72, "
              "R11 = R33 = 0) sets Q1, Q2, Q3 unless 'stay' wins, and every step adds "
              "fine changes ∝ action³ of at most 0.3 1/m² (25.7 µrad)"),
        _task("magnet_init_mode", choice(lambda: SAMPLING_MODES),
              "magnet settings at reset: 'constant' (magnet_init_values) or 'random'"),
        _task("magnet_init_values", vector(5, optional=True, limits=MAGNET_LIMITS),
              "Q1, Q2 (1/m²), CV (rad), Q3 (1/m²), CH (rad) at reset, within the limits"),
        _task("reward_mode", choice(lambda: REWARD_MODES),
              "the reward: 'objective_improvement', 'negative_objective', "
              "'log_improvement' (ln(obj0/obj)), 'log_step_improvement' "
              "(ln(obj_prev/obj)), 'sum_of_pixels' or your own (register_reward)"),
        _task("objective", choice(lambda: OBJECTIVE_WEIGHTS),
              "'focus': sigma_x and sigma_y count; 'full': all four beam parameters"),
        _task("target_beam_mode", choice(target_modes),
              "target at reset: 'constant' (target_beam_values), 'random' (uniform in "
              "the target box) or 'reachable' (the screen beam of random magnets)"),
        _task("target_beam_values", _target_beam,
              "target mu_x, sigma_x, mu_y, sigma_y in m; zeros are the smallest spot"),
        _task("target_mu_x_threshold", number(0.0, 1.0, optional=True),
              "success threshold on |mu_x − target| in m (None: not checked)"),
        _task("target_sigma_x_threshold", number(0.0, 1.0, optional=True),
              "success threshold on |sigma_x − target| in m (None: not checked)"),
        _task("target_mu_y_threshold", number(0.0, 1.0, optional=True),
              "success threshold on |mu_y − target| in m (None: not checked)"),
        _task("target_sigma_y_threshold", number(0.0, 1.0, optional=True),
              "success threshold on |sigma_y − target| in m (None: not checked)"),
        _task("threshold_hold", number(1, 10_000, integer=True),
              "steps in a row within all thresholds before the episode terminates"),
        _task("time_reward", number(-1e6, 1e6),
              "reward added at every step (negative: hurry up)"),
        _task("abort_if_off_screen", flag,
              "terminate the episode when the beam centre leaves the screen"),
        _task("incoming_mode", choice(lambda: SAMPLING_MODES),
              "incoming beam at reset: 'random' (new each episode) or 'constant'"),
        _task("incoming_values", _incoming,
              "the 11 incoming-beam numbers for 'constant': energy (eV), mu_x, mu_xp, "
              "mu_y, mu_yp, sigma_x, sigma_xp, sigma_y, sigma_yp, sigma_s (m, rad), "
              "sigma_p (None: a typical 107 MeV beam)"),
        _task("misalignment_mode", choice(lambda: SAMPLING_MODES),
              "misalignments at reset: 'constant' (misalignment_values) or 'random' "
              "(uniform in ±2 mm)"),
        _task("misalignment_values",
              vector(8, optional=True, limits=np.full(8, MISALIGNMENT_BOUND)),
              "x and y offsets in m of Q1, Q2, Q3 and the screen"),
        _task("calibration_error", number(0.0, MAX_CALIBRATION_ERROR),
              "unknown quadrupole calibration errors: each episode the machine acts "
              "with k1 × (1 + ε), ε uniform in ± this value per quadrupole (e.g. 0.02), "
              "while the agent sees the set k1 (0: exact; reading noise: "
              "partial_observability's beam_noise_relative)"),
        # ------------------------------------------- what the agent sees and does
        ("filter_observation", ConfigKey(["beam", "magnets"], subset(OBSERVATION_KEYS),
              "what the agent observes: beam, magnets, target, step (steps taken in "
              "the episode, capped at 25) (incoming, misalignments: simulation only)")),
        ("filter_action", ConfigKey([0, 1, 3], subset(tuple(range(len(MAGNET_LABELS)))),
              "magnets the agent moves (0 Q1, 1 Q2, 2 CV, 3 Q3, 4 CH); the others hold")),
        ("time_limit", ConfigKey(25, number(1, 100_000, integer=True, optional=True),
              "steps before an episode is truncated (None: no limit)")),
        ("rescale_action", ConfigKey([-3.0, 3.0], bounds,
              "the agent's action interval, mapped onto the magnets' action range")),
        ("frame_stack", ConfigKey(None, number(1, 64, integer=True, optional=True),
              "recent observations the agent sees together (None: the current one)")),
        ("partial_observability", ConfigKey(None, settings(PARTIAL_OBSERVABILITY_SCHEMA),
              "None (the agent sees the true beam) or a dict of beam_noise (m), "
              "beam_noise_relative, flicker, sensor_dropout, hide_magnets")),
        ("normalize_observation", ConfigKey(True, flag,
              "scale observations by their running mean and std (stored with the agent)")),
        ("normalize_reward", ConfigKey(True, flag,
              "scale rewards by the running std of the return (training only)")),
        # -------------------------------------------------------------- training
        ("algorithm", ConfigKey("ppo", choice(lambda: ALGORITHM_REGISTRY),
              f"training algorithm: {_ALGORITHM_NAMES} (rltutorial.algorithms)")),
        ("run_name", ConfigKey(None, folder_name(MAX_NAME_BYTES),
              "the agent's name and folder (None: a new person-like name)")),
        ("seed", ConfigKey(None, number(0, 2**32 - 1, optional=True, integer=True),
              "seed of network initialisation, sampling and environments (None: "
              "different every run)")),
        ("n_envs", ConfigKey(40, number(1, MAX_ENVS, integer=True),
              "environments simulated side by side (one batched Cheetah call per step)")),
        ("n_steps", ConfigKey(50, number(1, MAX_STEPS_PER_ROLLOUT, integer=True),
              "steps per environment in one rollout (on-policy algorithms)")),
        ("batch_size", ConfigKey(100, number(1, MAX_STEPS_PER_ROLLOUT, integer=True),
              "transitions per minibatch, i.e. per gradient step")),
        ("n_epochs", ConfigKey(10, number(1, 1000, integer=True),
              "passes over each rollout (on-policy algorithms)")),
        ("total_timesteps", ConfigKey(200_000, number(1, MAX_TIMESTEPS, integer=True),
              "environment steps in the whole run")),
        ("gamma", ConfigKey(0.99, number(0.0, 1.0),
              "discount factor: how far ahead the agent looks (about 1 / (1 − gamma) "
              "steps)")),
        ("learning_rate", ConfigKey(3e-4, number(0.0, 1.0),
              "step size of the Adam optimiser")),
        ("net_arch", ConfigKey([64, 64], layers(),
              "hidden layers of the actor and of the critic")),
        ("policy_features", ConfigKey("linear", choice(lambda: POLICY_FEATURES),
              "how observations enter the networks: 'linear' as they are, "
              "'log_lengths' beam sizes on a log scale (needs raw observations)")),
        ("learning_rate_schedule", ConfigKey("constant",
              choice(lambda: LEARNING_RATE_SCHEDULES),
              "'constant', or 'linear' decay to 0 at the end of training")),
        ("gae_lambda", ConfigKey(0.95, number(0.0, 1.0),
              "lambda of GAE: trades bias (small) against variance (close to 1) of "
              "the advantages")),
        ("clip_range", ConfigKey(0.2, number(0.0, 10.0),
              "epsilon of PPO's clipped objective: how far one update may move the "
              "policy")),
        ("ent_coef", ConfigKey(0.0, number(0.0, 10.0),
              "weight of an entropy bonus that keeps exploring (0: none)")),
        # off-policy algorithms (TD3, SAC): replay buffer and updates
        ("buffer_size", ConfigKey(300_000, number(1, MAX_BUFFER, integer=True),
              "transitions the replay buffer holds (TD3, SAC)")),
        ("learning_starts", ConfigKey(10_000, number(0, MAX_TIMESTEPS, integer=True),
              "random steps before the first update (TD3, SAC)")),
        ("tau", ConfigKey(0.005, number(0.0, 1.0),
              "how fast the target networks follow (TD3, SAC)")),
        ("train_freq", ConfigKey(1, number(1, 100_000, integer=True),
              "steps per environment between updates (TD3, SAC)")),
        ("gradient_steps", ConfigKey(1, number(1, 10_000, integer=True),
              "gradient steps per update (TD3, SAC)")),
        ("action_noise", ConfigKey(0.1, number(0.0, 10.0),
              "std of TD3's Gaussian exploration noise on the [-1, 1] action")),
        ("policy_delay", ConfigKey(2, number(1, 1000, integer=True),
              "critic updates per actor update (TD3)")),
        ("target_policy_noise", ConfigKey(0.2, number(0.0, 10.0),
              "std of the smoothing noise on target actions (TD3)")),
        ("target_noise_clip", ConfigKey(0.5, number(0.0, 10.0),
              "clip of that smoothing noise (TD3)")),
        # ------------------------------- evaluation during training (keeps the best)
        ("eval_every", ConfigKey(20_000, number(1, MAX_TIMESTEPS, integer=True, optional=True),
              "steps between evaluations of the current policy during training "
              "(None: never)")),
        ("eval_episodes", ConfigKey(50, number(1, 100_000, integer=True),
              "episodes per evaluation (fixed seeds, far from the test seeds)")),
        ("eval_criterion", ConfigKey("return", choice(lambda: EVAL_CRITERIA),
              "how the kept policy is chosen: highest mean 'return' or lowest "
              "'median_objective'")),
    ]
)
# fmt: on

#: The workshop's focusing task with its training defaults (a view of CONFIG_KEYS).
DEFAULT_CONFIG: dict[str, Any] = {k: v.default for k, v in CONFIG_KEYS.items()}
#: Validator of every config key: key -> check(key, value) raising ValueError.
CONFIG_SCHEMA: dict[str, Check] = {k: v.check for k, v in CONFIG_KEYS.items()}
#: What every config key means, with units.
CONFIG_DOCS: dict[str, str] = {k: v.doc for k, v in CONFIG_KEYS.items()}


def _cross_check(config: Mapping[str, Any]) -> None:
    """Checks that involve several keys."""
    algorithm = ALGORITHM_REGISTRY[config["algorithm"]]
    rollout = config["n_envs"] * config["n_steps"]
    if algorithm.on_policy and config["batch_size"] > rollout:
        fail(
            "batch_size",
            config["batch_size"],
            f"at most one rollout, n_envs × n_steps = {rollout}",
        )


def validate_config(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return a complete, validated copy of ``config`` (missing keys from the defaults).

    Raises
    ------
    ValueError
        For an unknown key (with close matches), a wrong type, a value out of range or
        an invalid mode, naming the key and what is valid.
    """
    if config is not None and not isinstance(config, Mapping):
        raise ValueError(f"A config must be a dict, got {type(config).__name__}.")
    unknown = sorted(set(config or {}) - set(CONFIG_KEYS), key=str)
    if unknown:
        raise unknown_keys_error("config key", unknown, CONFIG_KEYS)
    result = copy.deepcopy(DEFAULT_CONFIG)
    result.update(copy.deepcopy(dict(config or {})))
    for key, spec in CONFIG_KEYS.items():
        spec.check(key, result[key])
    _cross_check(result)
    return result


def save_config(config: Mapping[str, Any], path: str | Path) -> Path:
    """Write a validated config as plain YAML (no Python tags) and return the path."""
    return dump_yaml(to_plain(validate_config(config)), path)


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a config with the bounded safe YAML loader and validate it.

    Raises
    ------
    ValueError
        Naming the file: unreadable, not YAML, not a dict, or an invalid config.
    """
    path = Path(path)
    data = load_yaml(path)
    try:
        return validate_config(data or {})
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def config_reference(keys: list[str] | None = None) -> pd.DataFrame:
    """Every config key (or ``keys``) with its default and meaning, as a table."""
    keys = list(CONFIG_KEYS) if keys is None else keys
    return pd.DataFrame(
        {
            "default": [repr(CONFIG_KEYS[k].default) for k in keys],
            "meaning": [CONFIG_KEYS[k].doc for k in keys],
        },
        index=pd.Index(keys, name="key"),
    )
