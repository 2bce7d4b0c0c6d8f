"""Configurations of the ARES-EA task and its training, validated, and stored as safe YAML.

A configuration is a plain dict. :data:`DEFAULT_CONFIG` holds the workshop's focusing task
and training defaults; :func:`validate_config` fills in missing keys from it and rejects
unknown keys, wrong types and invalid modes with a ``ValueError`` naming the key, the bad
value and what is valid. The caller's dict is never modified.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rltutorial.envs.actions import ACTION_MODES
from rltutorial.envs.ranges import MAGNET_LABELS
from rltutorial.envs.sampling import SAMPLING_MODES
from rltutorial.rewards import OBJECTIVE_WEIGHTS, REWARD_MODES

__all__ = [
    "DEFAULT_CONFIG",
    "CONFIG_SCHEMA",
    "OBSERVATION_KEYS",
    "PARTIAL_OBSERVABILITY_SCHEMA",
    "ALGORITHMS",
    "validate_config",
    "load_config",
    "save_config",
    "to_plain",
]

#: Observation keys an agent may be given (``incoming``/``misalignments`` only in simulation).
OBSERVATION_KEYS = ("beam", "magnets", "target", "incoming", "misalignments")
#: Training algorithms by name; :mod:`rltutorial.training` registers their implementations.
ALGORITHMS: set[str] = {"ppo", "td3", "sac", "recurrent_ppo"}

#: The workshop's focusing task with its training defaults.
DEFAULT_CONFIG: dict[str, Any] = {
    # the task
    "action_mode": "delta",
    "magnet_init_mode": "constant",
    "magnet_init_values": [0.0, 0.0, 0.0, 0.0, 0.0],
    "reward_mode": "objective_improvement",
    "objective": "focus",
    "target_beam_mode": "constant",
    "target_beam_values": [0.0, 0.0, 0.0, 0.0],
    "target_mu_x_threshold": None,
    "target_sigma_x_threshold": None,
    "target_mu_y_threshold": None,
    "target_sigma_y_threshold": None,
    "threshold_hold": 5,
    "time_reward": 0.0,
    "abort_if_off_screen": False,
    "incoming_mode": "random",
    "incoming_values": None,
    "misalignment_mode": "constant",
    "misalignment_values": [0.0] * 8,
    # what the agent sees and does
    "filter_observation": ["beam", "magnets"],
    "filter_action": [0, 1, 3],
    "time_limit": 25,
    "rescale_action": [-3.0, 3.0],
    "frame_stack": None,
    "partial_observability": None,
    "normalize_observation": True,
    "normalize_reward": True,
    # training
    "algorithm": "ppo",
    "run_name": None,
    "seed": None,
    "n_envs": 40,
    "n_steps": 50,
    "batch_size": 100,
    "n_epochs": 10,
    "total_timesteps": 200_000,
    "gamma": 0.99,
    "learning_rate": 3e-4,
    "net_arch": [64, 64],
    "policy_features": "linear",
    "learning_rate_schedule": "constant",
    "gae_lambda": 0.95,
    "clip_range": 0.2,
    "ent_coef": 0.0,
    # off-policy algorithms (TD3, SAC): replay buffer and updates; exploration noise
    # (action_noise) and the delayed, smoothed targets are TD3's
    "buffer_size": 300_000,
    "learning_starts": 10_000,
    "tau": 0.005,
    "train_freq": 1,
    "gradient_steps": 1,
    "action_noise": 0.1,
    "policy_delay": 2,
    "target_policy_noise": 0.2,
    "target_noise_clip": 0.5,
    # evaluation during training (keeps the best policy)
    "eval_every": 20_000,
    "eval_episodes": 50,
    "eval_criterion": "return",
}

Check = Callable[[str, Any], None]


def _fail(key: str, value: Any, expected: str) -> None:
    raise ValueError(f"Config key {key!r} must be {expected}, got {value!r}.")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool
    )


def choice(registry: Callable[[], Mapping | set]) -> Check:
    """Check that a value is one of the names ``registry()`` holds at validation time."""

    def check(key: str, value: Any) -> None:
        names = sorted(registry())
        if value not in names:
            close = difflib.get_close_matches(str(value), names, n=2)
            hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
            _fail(key, value, f"one of {', '.join(map(repr, names))}{hint}")

    return check


def number(
    low: float = -np.inf,
    high: float = np.inf,
    optional: bool = False,
    integer: bool = False,
) -> Check:
    """Check a (possibly optional, possibly integer) number within [low, high]."""

    def check(key: str, value: Any) -> None:
        if value is None and optional:
            return
        kind = "an integer" if integer else "a number"
        ok = _is_number(value) and (not integer or float(value).is_integer())
        if not ok or not np.isfinite(value) or not low <= value <= high:
            _fail(
                key,
                value,
                f"{kind} in [{low}, {high}]" + (" or None" if optional else ""),
            )

    return check


def vector(size: int, optional: bool = False) -> Check:
    """Check a list of ``size`` finite numbers (or None when optional)."""

    def check(key: str, value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, (list, tuple, np.ndarray)) or len(value) != size:
            _fail(
                key,
                value,
                f"a list of {size} numbers" + (" or None" if optional else ""),
            )
        if not all(_is_number(v) and np.isfinite(v) for v in value):
            _fail(key, value, f"a list of {size} finite numbers")

    return check


def subset(valid: tuple, ordered_unique: bool = True) -> Check:
    """Check a non-empty list of distinct items taken from ``valid``."""

    def check(key: str, value: Any) -> None:
        items = list(value) if isinstance(value, (list, tuple)) else None
        if (
            not items
            or any(v not in valid for v in items)
            or len(set(items)) != len(items)
        ):
            _fail(key, value, f"a non-empty list of distinct items from {list(valid)}")

    return check


def flag(key: str, value: Any) -> None:
    """Check a boolean."""
    if not isinstance(value, (bool, np.bool_)):
        _fail(key, value, "True or False")


def optional_string(key: str, value: Any) -> None:
    """Check a non-empty string or None."""
    if value is not None and (not isinstance(value, str) or not value.strip()):
        _fail(key, value, "a non-empty string or None")


def bounds(key: str, value: Any) -> None:
    """Check a [low, high] pair with low < high, or None."""
    if value is None:
        return
    vector(2)(key, value)
    if not value[0] < value[1]:
        _fail(key, value, "[low, high] with low < high, or None")


def layers(key: str, value: Any) -> None:
    """Check a list of positive layer widths."""
    if (
        not isinstance(value, (list, tuple))
        or not value
        or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
        )
    ):
        _fail(key, value, "a non-empty list of positive integers")


def _unknown(what: str, unknown: list[str], valid: Collection[str]) -> ValueError:
    """The error for unknown keys: close matches and the sorted valid keys."""
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, list(valid), 1)
        hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return ValueError(
        f"Unknown {what}(s) {', '.join(hints)}. Valid keys are: {', '.join(sorted(valid))}."
    )


def settings(schema: Mapping[str, Check]) -> Check:
    """Check None or a dict whose keys come from ``schema`` (each value checked by it)."""

    def check(key: str, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, Mapping):
            _fail(key, value, f"None or a dict with keys from {sorted(schema)}")
        unknown = sorted(str(name) for name in set(value) - set(schema))
        if unknown:
            raise _unknown(f"{key!r} setting", unknown, schema)
        for name, item in value.items():
            schema[name](f"{key}[{name!r}]", item)

    return check


#: Settings of ``partial_observability`` (:mod:`rltutorial.observability`); each one left
#: out is off: noise std in m (absolute) and as a fraction of the reading (relative),
#: probabilities of a lost screen frame (flicker) and of a lost single beam value.
PARTIAL_OBSERVABILITY_SCHEMA: dict[str, Check] = {
    "beam_noise": number(0.0, 1e-2),
    "beam_noise_relative": number(0.0, 1.0),
    "flicker": number(0.0, 1.0),
    "sensor_dropout": number(0.0, 1.0),
    "hide_magnets": flag,
}

_MODES = lambda: SAMPLING_MODES  # noqa: E731


def _registry(name: str) -> Mapping:
    """A training registry, imported when a config is validated (avoids an import cycle)."""
    from rltutorial import algorithms

    return getattr(algorithms, name)


#: Validator of every config key: key -> check(key, value) raising ValueError.
CONFIG_SCHEMA: dict[str, Check] = {
    "action_mode": choice(lambda: ACTION_MODES),
    "magnet_init_mode": choice(_MODES),
    "magnet_init_values": vector(5, optional=True),
    "reward_mode": choice(lambda: REWARD_MODES),
    "objective": choice(lambda: OBJECTIVE_WEIGHTS),
    "target_beam_mode": choice(lambda: [*SAMPLING_MODES, "reachable"]),
    "target_beam_values": vector(4, optional=True),
    **{
        f"target_{p}_threshold": number(0.0, optional=True)
        for p in ("mu_x", "sigma_x", "mu_y", "sigma_y")
    },
    "threshold_hold": number(1, integer=True),
    "time_reward": number(),
    "abort_if_off_screen": flag,
    "incoming_mode": choice(_MODES),
    "incoming_values": vector(11, optional=True),
    "misalignment_mode": choice(_MODES),
    "misalignment_values": vector(8, optional=True),
    "filter_observation": subset(OBSERVATION_KEYS),
    "filter_action": subset(tuple(range(len(MAGNET_LABELS)))),
    "time_limit": number(1, integer=True, optional=True),
    "rescale_action": bounds,
    "frame_stack": number(1, integer=True, optional=True),
    "partial_observability": settings(PARTIAL_OBSERVABILITY_SCHEMA),
    "normalize_observation": flag,
    "normalize_reward": flag,
    "algorithm": choice(lambda: ALGORITHMS),
    "run_name": optional_string,
    "seed": number(0, 2**32 - 1, optional=True, integer=True),
    "n_envs": number(1, integer=True),
    "n_steps": number(1, integer=True),
    "batch_size": number(1, integer=True),
    "n_epochs": number(1, integer=True),
    "total_timesteps": number(1, integer=True),
    "gamma": number(0.0, 1.0),
    "learning_rate": number(0.0, 1.0),
    "net_arch": layers,
    "policy_features": choice(lambda: _registry("POLICY_FEATURES")),
    "learning_rate_schedule": choice(lambda: _registry("LEARNING_RATE_SCHEDULES")),
    "gae_lambda": number(0.0, 1.0),
    "clip_range": number(0.0, 10.0),
    "ent_coef": number(0.0),
    "buffer_size": number(1, integer=True),
    "learning_starts": number(0, integer=True),
    "tau": number(0.0, 1.0),
    "train_freq": number(1, integer=True),
    "gradient_steps": number(1, integer=True),
    "action_noise": number(0.0, 10.0),
    "policy_delay": number(1, integer=True),
    "target_policy_noise": number(0.0, 10.0),
    "target_noise_clip": number(0.0, 10.0),
    "eval_every": number(1, integer=True, optional=True),
    "eval_episodes": number(1, integer=True),
    "eval_criterion": choice(lambda: _registry("EVAL_CRITERIA")),
}


def validate_config(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return a complete, validated copy of ``config`` (missing keys from the defaults).

    Raises
    ------
    ValueError
        For an unknown key (with close matches), a wrong type or an invalid mode.
    """
    if config is not None and not isinstance(config, Mapping):
        raise ValueError(f"A config must be a dict, got {type(config).__name__}.")
    unknown = sorted(set(config or {}) - set(CONFIG_SCHEMA))
    if unknown:
        raise _unknown("config key", unknown, CONFIG_SCHEMA)
    result = copy.deepcopy(DEFAULT_CONFIG)
    result.update(copy.deepcopy(dict(config or {})))
    for key, check in CONFIG_SCHEMA.items():
        check(key, result[key])
    return result


def to_plain(value: Any) -> Any:
    """Convert numpy scalars/arrays (recursively) to plain Python for safe YAML/JSON."""
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def save_config(config: Mapping[str, Any], path: str | Path) -> Path:
    """Write a validated config as plain YAML (no Python tags) and return the path."""
    path = Path(path)
    path.write_text(yaml.safe_dump(to_plain(validate_config(config)), sort_keys=False))
    return path


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a config with ``yaml.safe_load`` and validate it."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ValueError(f"{path} is not valid YAML: {error}") from None
    return validate_config(data or {})
