"""The agent commands of ``python -m rltutorial``: ``list``, ``train``, ``evaluate``.

Examples::

    python -m rltutorial list
    python -m rltutorial train --config configs/betty_gordon.yaml --run-name "My Agent"
    python -m rltutorial evaluate reference -n 200
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

__all__ = ["add_agent_parsers", "evaluate_command", "list_command", "train_command"]


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


def train_command(args: argparse.Namespace) -> tuple[str, int]:
    """Train an agent from a YAML config; say where it was saved; exit code 0."""
    from rltutorial.config import load_config
    from rltutorial.agents.training import train

    if not args.config.is_file():
        raise FileNotFoundError(f"No config file at {args.config}.")
    config = load_config(args.config)
    if args.run_name:
        config["run_name"] = args.run_name
    agent = train(config, overwrite=args.overwrite, evaluation_episodes=args.episodes)
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


def evaluate_command(args: argparse.Namespace) -> tuple[str, int]:
    """Evaluate an agent of the zoo over ``-n`` episodes; print metrics; exit code 0."""
    from rltutorial.evaluation import evaluate_agent

    if args.n < 1:
        raise ValueError(f"-n must be a positive number of episodes, got {args.n}.")
    evaluation = evaluate_agent(
        args.name, n=args.n, seed=args.seed, include_position=args.include_position
    )
    width = max(map(len, evaluation.metrics))
    lines = [f"{evaluation.name}: {args.n} episodes from seed {args.seed}"]
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
    train.add_argument("--episodes", type=int, default=200, help="evaluation episodes")
    evaluate = commands.add_parser("evaluate", help="evaluate an agent of the zoo")
    evaluate.add_argument("name", help="agent name or alias, e.g. reference")
    evaluate.add_argument("-n", type=int, default=200, help="episodes (default 200)")
    evaluate.add_argument(
        "--seed", type=int, default=0, help="seed of the first episode"
    )
    evaluate.add_argument(
        "--include-position", action="store_true", help="judge mu_x, mu_y too"
    )
