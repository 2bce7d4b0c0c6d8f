"""The agent commands of ``python -m rltutorial``: ``list``, ``train``, ``evaluate``.

Examples::

    python -m rltutorial list
    python -m rltutorial train --config configs/betty_gordon.yaml --run-name "My Agent"
    python -m rltutorial evaluate reference -n 200

Every argument is checked before anything runs: ``train`` reads and validates the
config, the run name and ``--episodes`` before training starts, ``evaluate`` checks
``-n`` and ``--seed`` before loading the agent. An agent whose files cannot be read
is reported by name and folder (:class:`DamagedAgentError`).
"""

from __future__ import annotations

import argparse
import math
import pickle
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from rltutorial.checks import short_repr

if TYPE_CHECKING:
    from rltutorial.agents import Agent

__all__ = [
    "MAX_EPISODES",
    "DamagedAgentError",
    "add_agent_parsers",
    "evaluate_command",
    "list_command",
    "train_command",
]

#: Most episodes one ``evaluate -n`` or ``train --episodes`` runs (they run side by
#: side in one batched environment: 10,000 take about 1 GB and a minute).
MAX_EPISODES = 10_000
#: Largest seed of an episode (numpy's seeds are 32-bit in the configs).
MAX_SEED = 2**32 - 1
#: What reading a damaged agent folder raises besides ValueError and OSError (which
#: name the file already): torch's zip reader (RuntimeError), its restricted unpickler,
#: zip and YAML errors, and JSON or YAML holding the wrong structure.
_DAMAGED_FILE_ERRORS = (
    KeyError,
    TypeError,
    IndexError,
    RuntimeError,
    EOFError,
    pickle.UnpicklingError,
    zipfile.BadZipFile,
    yaml.YAMLError,
)


class DamagedAgentError(ValueError):
    """An agent's folder exists but its files cannot be read."""


def _whole_number(option: str, value: int, low: int, high: int, why: str = "") -> int:
    """``value`` if it is in [low, high], else a ValueError naming ``option``."""
    if not low <= value <= high:
        raise ValueError(
            f"{option} must be a whole number from {low:,} to {high:,}{why}, got "
            f"{short_repr(value)}"
        )
    return value


def list_command(args: argparse.Namespace) -> tuple[str, int]:
    """List the agents of the zoo and the aliases; exit code 0."""
    from rltutorial.agents.zoo import AGENT_ALIASES, list_agents
    from rltutorial.paths import zoo_dirs

    agents = list_agents()
    folders = " and ".join(str(folder) for folder in zoo_dirs())
    if not agents:
        return f"No agents in {folders}.", 0
    lines = [f"Agents in {folders}:"] + [f"  {name}" for name in agents]
    lines += [
        f"Alias: {alias!r} -> {name}" for alias, name in sorted(AGENT_ALIASES.items())
    ]
    return "\n".join(lines), 0


def _train_config(config_path: Path, run_name: str | None) -> dict[str, Any]:
    """The validated config of ``config_path`` with ``run_name`` (if given) in it."""
    from rltutorial.config import load_config, validate_config

    if not config_path.exists():
        raise FileNotFoundError(f"No config file at {config_path}.")
    config = load_config(config_path)
    if run_name is None:
        return config
    try:
        return validate_config({**config, "run_name": run_name})
    except ValueError as error:
        raise ValueError(f"--run-name: {error}") from None


def train_command(args: argparse.Namespace) -> tuple[str, int]:
    """Train an agent from a YAML config; say where it was saved; exit code 0.

    ``--episodes``, the config file and the run name are checked first; training
    starts only when all are valid (:func:`~rltutorial.agents.training.train` then
    refuses an existing agent without ``--overwrite``, also before training).
    """
    from rltutorial.agents.training import train

    episodes = _whole_number("--episodes", args.episodes, 0, MAX_EPISODES)
    config = _train_config(args.config, args.run_name)
    agent = train(config, overwrite=args.overwrite, evaluation_episodes=episodes)
    behaviour = agent.metrics.get("behaviour", "")
    return f"Saved agent {agent.name!r} to {agent.folder}.\n{behaviour}", 0


def _format(key: str, value: object) -> str:
    """A metric for the terminal: rates with 3 decimals, lengths (m) in µm."""
    if isinstance(value, float) and math.isfinite(value):
        if key.endswith("rate") or key.endswith("ratio"):
            return f"{value:.3f}"
        if "mae" in key or "rmse" in key or "sigma" in key:
            return f"{value * 1e6:.1f} µm"
        return f"{value:.4g}"
    return str(value)


def _load_named_agent(name: str) -> Agent:
    """Load the zoo agent ``name``; any failure to read its files names its folder.

    Raises
    ------
    ValueError
        For an unknown name or a damaged file (as :func:`rltutorial.load_agent`).
    DamagedAgentError
        When reading a file fails otherwise (e.g. ``metrics.json`` holding a list),
        naming the agent, its folder and the original error.
    """
    from rltutorial.agents.zoo import agent_folder, load_agent

    try:
        return load_agent(name)
    except _DAMAGED_FILE_ERRORS as error:
        try:
            where = f" in {agent_folder(name)}"
        except ValueError:
            where = ""
        raise DamagedAgentError(
            f"agent {short_repr(name)}{where} cannot be loaded: a file there is "
            f"damaged ({type(error).__name__}: {error})"
        ) from error


def evaluate_command(args: argparse.Namespace) -> tuple[str, int]:
    """Evaluate an agent of the zoo over ``-n`` episodes; print metrics; exit code 0."""
    from rltutorial.evaluation import evaluate_agent

    n = _whole_number("-n", args.n, 1, MAX_EPISODES, " (episodes)")
    seed = _whole_number(
        "--seed", args.seed, 0, MAX_SEED, " (seed of the first episode)"
    )
    agent = _load_named_agent(args.name)
    evaluation = evaluate_agent(
        agent, n=n, seed=seed, include_position=args.include_position
    )
    width = max(map(len, evaluation.metrics))
    lines = [f"{evaluation.name}: {n} episodes from seed {seed}"]
    lines += [f"  {k:<{width}}  {_format(k, v)}" for k, v in evaluation.metrics.items()]
    lines.append(evaluation.behaviour)
    return "\n".join(lines), 0


def add_agent_parsers(commands: argparse._SubParsersAction) -> None:
    """Add ``list``, ``train`` and ``evaluate`` and their options to ``commands``."""
    commands.add_parser("list", help="list the agents of the zoo")
    train = commands.add_parser("train", help="train an agent from a YAML config")
    train.add_argument("--config", type=Path, required=True, help="config YAML file")
    train.add_argument(
        "--run-name", help="agent name (default: from the config or new)"
    )
    train.add_argument("--overwrite", action="store_true", help="replace an agent")
    train.add_argument(
        "--episodes",
        type=int,
        default=200,
        help=f"evaluation episodes after training, 0 to {MAX_EPISODES:,} (default 200)",
    )
    evaluate = commands.add_parser("evaluate", help="evaluate an agent of the zoo")
    evaluate.add_argument("name", help="agent name or alias, e.g. reference")
    evaluate.add_argument(
        "-n",
        type=int,
        default=200,
        help=f"episodes, 1 to {MAX_EPISODES:,} (default 200)",
    )
    evaluate.add_argument(
        "--seed", type=int, default=0, help="seed of the first episode (default 0)"
    )
    evaluate.add_argument(
        "--include-position", action="store_true", help="judge mu_x, mu_y too"
    )
