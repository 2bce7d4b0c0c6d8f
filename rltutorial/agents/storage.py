"""The folder format of a trained agent: plain files, no pickle, checked when loaded.

```
models/<Agent Name>/
  config.yaml          the full config (safe YAML, plain types)
  policy.pt            policy weights: a torch state dict (tensors only)
  normalization.json   observation-normalisation statistics (when normalised)
  metrics.json         evaluation summary, training time, behaviour notes
  monitor.csv          training episodes, in at most 1000 blocks of consecutive episodes
  manifest.json        SHA-256 digest and size of each file above (written last)
```

Weights are read with ``torch.load(..., weights_only=True)``, which accepts tensors and
plain containers only and never runs arbitrary code. Loading (:func:`read_agent`)
checks the manifest (:mod:`rltutorial.agents.manifest`), that the weights are finite
and fit the network the config builds, that the statistics fit the observation, that
the config names every key of :data:`REQUIRED_CONFIG_KEYS` and that ``metrics.json``
is an object; every error is a ValueError naming the file. A folder without a manifest
(saved by an older version) loads with an :class:`UnverifiedAgentWarning`; re-save it
with ``python scripts/resave_zoo.py``.

Folders are written by :mod:`rltutorial.agents.saving` and never edited in place: they
are staged and swapped in under a lock (:mod:`rltutorial.agents.swap`), so an
interrupted save leaves the old or the new agent, never a half-written one.
"""

from __future__ import annotations

import json
import math
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rltutorial.agents import swap
from rltutorial.agents.manifest import MANIFEST_FILE, verify_manifest
from rltutorial.checks import FORBIDDEN_IN_NAMES
from rltutorial.config import validate_config
from rltutorial.normalization import NormalizationStats
from rltutorial.safe_yaml import load_yaml

__all__ = [
    "CONFIG_FILE",
    "WEIGHTS_FILE",
    "NORMALIZATION_FILE",
    "MONITOR_FILE",
    "METRICS_FILE",
    "AGENT_FILES",
    "REQUIRED_CONFIG_KEYS",
    "UnverifiedAgentWarning",
    "check_agent_name",
    "is_agent_folder",
    "read_agent",
    "read_config",
    "read_weights",
    "read_normalization",
    "read_metrics",
]

CONFIG_FILE = "config.yaml"
WEIGHTS_FILE = "policy.pt"
NORMALIZATION_FILE = "normalization.json"
METRICS_FILE = "metrics.json"
MONITOR_FILE = "monitor.csv"
#: The files loading reads; present, each must be listed in the manifest.
AGENT_FILES = (
    CONFIG_FILE,
    WEIGHTS_FILE,
    NORMALIZATION_FILE,
    METRICS_FILE,
    MONITOR_FILE,
)
#: Keys every agent's config.yaml names: all keys the first agents recorded (what
#: save_config writes, in its order). Keys added to the config since (partial
#: observability, policy features, the off-policy settings) default to the behaviour
#: from before they existed, so older agents may lack them. An empty or cut-short
#: config.yaml is refused instead of loading with defaults.
REQUIRED_CONFIG_KEYS = tuple(
    """action_mode magnet_init_mode magnet_init_values reward_mode objective
    target_beam_mode target_beam_values target_mu_x_threshold target_sigma_x_threshold
    target_mu_y_threshold target_sigma_y_threshold threshold_hold time_reward
    abort_if_off_screen incoming_mode incoming_values misalignment_mode
    misalignment_values filter_observation filter_action time_limit rescale_action
    frame_stack normalize_observation normalize_reward algorithm run_name seed n_envs
    n_steps batch_size n_epochs total_timesteps gamma learning_rate net_arch
    learning_rate_schedule gae_lambda clip_range ent_coef eval_every eval_episodes
    eval_criterion""".split()
)
#: Longest agent name (bytes in UTF-8): a folder name with room for the staging suffix.
MAX_NAME_BYTES = 200


class UnverifiedAgentWarning(UserWarning):
    """An agent folder without a manifest: its files could not be checked."""


def check_agent_name(name: str) -> str:
    """Return ``name`` if it can name an agent folder, else raise ValueError.

    The rule of the config key ``run_name`` (:func:`rltutorial.checks.folder_name`):
    1 to :data:`MAX_NAME_BYTES` bytes in UTF-8, no surrounding spaces, leading dot,
    control characters or any of ``/ \\ : * ? " < > |``.
    """
    if (
        not isinstance(name, str)
        or not name.strip()
        or name != name.strip()
        or name.startswith(".")
        or FORBIDDEN_IN_NAMES & set(name)
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
        or len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES
    ):
        shown = repr(name) if len(repr(name)) <= 60 else repr(name)[:57] + "..."
        raise ValueError(
            f"Agent name {shown} cannot name a folder: use 1 to {MAX_NAME_BYTES} bytes "
            "of letters, digits, spaces, '-' or '_' (no leading dot, surrounding "
            "spaces or control characters)."
        )
    return name


def is_agent_folder(path: Path) -> bool:
    """Whether ``path`` is a (maybe damaged) agent folder: not hidden, holding a config,
    weights or a manifest. Loading names what is missing or wrong."""
    return (
        path.is_dir()
        and not path.name.startswith(".")
        and any(
            (path / name).is_file()
            for name in (CONFIG_FILE, WEIGHTS_FILE, MANIFEST_FILE)
        )
    )


def _names(keys: list[str], limit: int = 12) -> str:
    shown = ", ".join(keys[:limit])
    return shown if len(keys) <= limit else f"{shown} and {len(keys) - limit} more"


def read_config(folder: Path) -> dict[str, Any]:
    """The agent's validated config (safe YAML), naming every key it must record.

    Raises
    ------
    ValueError
        Naming the file: missing, not a mapping, lacking keys of
        :data:`REQUIRED_CONFIG_KEYS`, or invalid.
    """
    path = Path(folder) / CONFIG_FILE
    if not path.is_file():
        raise ValueError(f"{path} is missing: an agent folder needs its config.")
    data = load_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ValueError(
            f"{path} holds a {type(data).__name__}, not a config (a mapping of keys)."
        )
    missing = [key for key in REQUIRED_CONFIG_KEYS if key not in data]
    if missing:
        raise ValueError(
            f"{path} lacks {len(missing)} key(s) every agent's config records: "
            f"{_names(missing)}. It is empty or cut short; restore it or train the "
            "agent again."
        )
    try:
        return validate_config(data)
    except ValueError as error:
        raise ValueError(f"Invalid agent config {path}: {error}") from None


def read_weights(folder: Path) -> dict[str, Any]:
    """The policy state dict, loaded without unpickling arbitrary objects.

    Raises
    ------
    ValueError
        Naming the file, if it is missing, damaged (a zip entry fails its CRC), not a
        dict of tensors, or holds NaN or infinite values.
    """
    import torch

    path = Path(folder) / WEIGHTS_FILE
    if not path.is_file():
        raise ValueError(f"{path} is missing: an agent folder needs its weights.")
    advice = "Restore it (e.g. `git checkout -- models/`) or train the agent again."
    try:
        bad_entry = (
            zipfile.ZipFile(path).testzip() if zipfile.is_zipfile(path) else None
        )
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any failure here means the file cannot be used
        raise ValueError(
            f"Cannot load the policy weights {path}: the file is damaged or not a torch "
            f"state dict ({type(error).__name__}: {error}). {advice}"
        ) from error
    if bad_entry is not None:
        raise ValueError(
            f"{path} is damaged: zip entry {bad_entry} fails its CRC. {advice}"
        )
    if not isinstance(state, dict) or not all(
        isinstance(value, torch.Tensor) for value in state.values()
    ):
        raise ValueError(f"{path} does not hold a state dict of tensors.")
    for key, tensor in state.items():
        bad = int((~torch.isfinite(tensor)).sum()) if tensor.is_floating_point() else 0
        if bad:
            raise ValueError(
                f"{path}: tensor {key!r} holds {bad} NaN or infinite value(s). {advice}"
            )
    return state


def read_normalization(folder: Path) -> NormalizationStats | None:
    """Observation statistics, or None if the agent does not normalise observations."""
    path = Path(folder) / NORMALIZATION_FILE
    return NormalizationStats.load(path) if path.is_file() else None


def read_metrics(folder: Path) -> dict[str, Any]:
    """The agent's ``metrics.json`` (empty if absent).

    Raises
    ------
    ValueError
        Naming the file, if it is not JSON or not a JSON object.
    """
    path = Path(folder) / METRICS_FILE
    if not path.is_file():
        return {}
    try:
        metrics = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"Cannot read {path}: {error}") from None
    if not isinstance(metrics, dict):
        raise ValueError(
            f"{path} holds a JSON {type(metrics).__name__}; metrics are a JSON object."
        )
    return metrics


def read_agent(
    folder: str | Path,
) -> tuple[dict[str, Any], Any, NormalizationStats | None, dict[str, Any]]:
    """Load and check an agent folder: (config, policy, normalisation, metrics).

    An interrupted swap is recovered first; a folder replaced by another process while
    it is read is read again (see :mod:`rltutorial.agents.swap`).

    Raises
    ------
    ValueError
        Naming the file and what is wrong with it.

    Warns
    -----
    UnverifiedAgentWarning
        For a folder without a manifest (its contents are still checked).
    """
    folder = Path(folder)
    swap.recover(folder)
    for _ in range(3):
        before = swap.identity(folder)
        try:
            parts = _read_agent_once(folder)
        except (ValueError, OSError):
            if swap.identity(folder) == before:
                raise
            continue
        if swap.identity(folder) == before:
            return parts
    raise ValueError(f"{folder} kept being replaced while it was read; try again.")


def _read_agent_once(
    folder: Path,
) -> tuple[dict[str, Any], Any, NormalizationStats | None, dict[str, Any]]:
    if not is_agent_folder(folder):
        raise ValueError(
            f"{folder} is not an agent folder: it holds no {CONFIG_FILE}, "
            f"{WEIGHTS_FILE} or {MANIFEST_FILE}."
            if folder.is_dir()
            else f"No agent folder at {folder}."
        )
    if not verify_manifest(folder, known=AGENT_FILES):
        warnings.warn(
            f"{folder} has no {MANIFEST_FILE} (saved by an older version): its files "
            "cannot be checked for damage. Re-save it with a manifest: in a checkout "
            f"python scripts/resave_zoo.py --folder '{folder}', else "
            "rltutorial.agents.saving.rewrite_agent_folder(folder).",
            UnverifiedAgentWarning,
            stacklevel=4,
        )
    config = read_config(folder)
    state = read_weights(folder)
    normalization = read_normalization(folder)
    policy, observation_size = _policy(config, state, folder)
    _check_normalization(config, normalization, observation_size, folder)
    return config, policy, normalization, read_metrics(folder)


def _policy(
    config: Mapping[str, Any], state: Mapping[str, Any], folder: Path
) -> tuple[Any, int]:
    """The policy the config builds, filled with ``state``; and the observation size."""
    from rltutorial.algorithms import get_algorithm
    from rltutorial.make import make_env

    env = make_env(config)
    policy = get_algorithm(config["algorithm"]).policy(
        config, env.observation_space, env.action_space
    )
    try:
        policy.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(
            f"The weights {folder / WEIGHTS_FILE} do not fit the network of its config "
            f"(net_arch {config['net_arch']}): {error}"
        ) from None
    return policy, int(math.prod(env.observation_space.shape))


def _check_normalization(
    config: Mapping[str, Any],
    normalization: NormalizationStats | None,
    observation_size: int,
    folder: Path,
) -> None:
    """The statistics exist exactly when the agent normalises, and fit its observation."""
    path = folder / NORMALIZATION_FILE
    if config["normalize_observation"] and normalization is None:
        raise ValueError(
            f"{path} is missing, but the agent normalises its observations."
        )
    if normalization is None:
        return
    if not config["normalize_observation"]:
        raise ValueError(
            f"{path} is present, but the agent's config says normalize_observation: "
            "false. Remove the file or restore the config."
        )
    if len(normalization.mean) != observation_size:
        raise ValueError(
            f"{path} holds statistics of {len(normalization.mean)} observation values, "
            f"but the agent's environment observes {observation_size} "
            f"(filter_observation {config['filter_observation']}, frame_stack "
            f"{config['frame_stack']})."
        )
