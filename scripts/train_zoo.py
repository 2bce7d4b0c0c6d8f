"""Train the agent zoo from configs/*.yaml into models/ (one agent after another).

Usage::

    python scripts/train_zoo.py                          # every config, skip existing agents
    python scripts/train_zoo.py --only "Betty Gordon" --overwrite
    python scripts/train_zoo.py --evaluate-only          # refresh metrics.json and GIFs
    python scripts/train_zoo.py --table                  # print the README agent table

Each agent is evaluated on 200 seeded episodes (metrics.json) and two episodes are
recorded as GIFs in recordings/<agent name>/.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from rltutorial.agents import list_agents, load_agent
from rltutorial.agents.training import record_episodes, train, update_metrics
from rltutorial.config import load_config
from rltutorial.paths import REPO_DIR, models_dir

CONFIGS = REPO_DIR / "configs"


def _configs(only: list[str] | None) -> list[tuple[Path, dict]]:
    configs = [(path, load_config(path)) for path in sorted(CONFIGS.glob("*.yaml"))]
    if only:
        wanted = {name.casefold() for name in only}
        configs = [(p, c) for p, c in configs if c["run_name"].casefold() in wanted]
        if not configs:
            raise SystemExit(f"No config in {CONFIGS} has run_name in {only}.")
    return configs


def _rate(value: float | None) -> str:
    """A share with two decimals, or n/a where it is undefined (no optimum known)."""
    return "n/a" if value is None or value != value else f"{value:.2f}"


def _micro(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 1e6:.0f}"


def _ratio(value: float | None) -> str:
    """A ratio with two decimals, or n/a where it is undefined (no optimum known)."""
    return "n/a" if value is None or value != value else f"{value:.2f}"


def agent_table() -> str:
    """Markdown table of the zoo's settings and evaluation results (from metrics.json).

    Optimality in simulation (``near_optimal_rate``, ``median_optimality_ratio``) and
    at the screen's resolution (sizes floored at one binned pixel:
    ``resolution_near_optimal_rate``, ``median_resolution_ratio``); n/a for agents
    whose task has no optimum table.
    """
    lines = [
        "| agent | algorithm | reward_mode | action_mode | abort_if_off_screen | "
        "time_reward | training steps | wall time | mean / median final error (µm) | "
        "success_rate | near_optimal_rate (simulation) | median_optimality_ratio "
        "(simulation) | resolution_near_optimal_rate | median_resolution_ratio | "
        "mean steps | behaviour |",
        "|" + "---|" * 16,
    ]
    for name in list_agents():
        agent = load_agent(name)
        c, m = agent.config, agent.metrics
        e, t = m.get("evaluation", {}), m.get("training", {})
        lines.append(
            f"| {name} | {c['algorithm']} | {c['reward_mode']} | {c['action_mode']} | "
            f"{c['abort_if_off_screen']} | {c['time_reward']} | "
            f"{t.get('timesteps', 0):,} (kept {t.get('kept_timesteps', 0):,}) | "
            f"{t.get('wall_time_s', 0) / 60:.1f} min | "
            f"{_micro(e.get('mean_mae'))} / {_micro(e.get('median_mae'))} | "
            f"{e.get('success_rate', 0):.2f} | {_rate(e.get('near_optimal_rate'))} | "
            f"{_ratio(e.get('median_optimality_ratio'))} | "
            f"{_rate(e.get('resolution_near_optimal_rate'))} | "
            f"{_ratio(e.get('median_resolution_ratio'))} | "
            f"{e.get('mean_steps', 0):.1f} | {m.get('behaviour', '')} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Train (or re-evaluate) the zoo."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="agent name (repeatable)")
    parser.add_argument(
        "--overwrite", action="store_true", help="retrain existing agents"
    )
    parser.add_argument(
        "--evaluate-only", action="store_true", help="re-evaluate and re-record only"
    )
    parser.add_argument("--episodes", type=int, default=200, help="evaluation episodes")
    parser.add_argument("--table", action="store_true", help="print the agent table")
    args = parser.parse_args()
    if args.table:
        print(agent_table())
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for path, config in _configs(args.only):
        name = config["run_name"]
        exists = (models_dir() / name).is_dir()
        if args.evaluate_only:
            agent = load_agent(name)
            update_metrics(agent, args.episodes)
            record_episodes(agent, 2)
        elif exists and not args.overwrite:
            logging.info("%s exists, skipped (use --overwrite to retrain)", name)
            continue
        else:
            logging.info("training %s from %s", name, path.name)
            agent = train(
                config, overwrite=args.overwrite, evaluation_episodes=args.episodes
            )
        training = agent.metrics.get("training", {})
        logging.info(
            "%s: %s steps in %s s; %s",
            name,
            training.get("timesteps"),
            training.get("wall_time_s"),
            agent.metrics.get("behaviour"),
        )


if __name__ == "__main__":
    main()
