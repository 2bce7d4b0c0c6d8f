"""What the focal_choice action gives without learning: random policies on the reference's task.

Runs ``n`` episodes (seeds 0 … n − 1, one batched environment of the reference agent's
config) with two policies that have learned nothing, and prints the median final ratio
to the optimum (raw ``sigma_x + sigma_y``, the optimum table) and the share within 1.5×:

- ``uniform``: every action uniformly random in the agent's action space;
- ``one random choice, then stay``: uniformly random scores at the first step (so each
  of A+, A−, B+, B−, stay equally likely), then "stay" and no fine changes.

    python benchmarks/reference_random.py            # n=200
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from rltutorial.agents import load_agent
from rltutorial.envs.actions import FOCAL_CHOICES
from rltutorial.evaluation.optimum import optimum_table
from rltutorial.make import make_vec_env


def _uniform(step: int, n: int, low: float, high: float, rng) -> np.ndarray:
    return rng.uniform(low, high, (n, 8)).astype(np.float32)


def _one_choice(step: int, n: int, low: float, high: float, rng) -> np.ndarray:
    actions = np.zeros((n, 8), np.float32)
    scores = slice(8 - len(FOCAL_CHOICES), 8)
    actions[:, 8 - 1] = high  # "stay" scored highest, no fine change
    if step == 0:
        actions[:, scores] = rng.uniform(low, high, (n, len(FOCAL_CHOICES)))
    return actions


POLICIES = {"uniform": _uniform, "one random choice, then stay": _one_choice}


def final_ratios(policy, n: int, seed: int = 0) -> np.ndarray:
    """Final raw ratios to the optimum (n,) of ``policy`` on seeds 0 … n − 1."""
    config = load_agent("reference").config
    if config["action_mode"] != "focal_choice" or len(config["filter_action"]) != 3:
        raise ValueError("The reference agent must move Q1, Q2, Q3 with focal_choice.")
    env = make_vec_env(config, n, seed=0)
    low, high = config["rescale_action"]
    rng = np.random.default_rng(seed)
    env.reset()
    for step in range(config["time_limit"]):
        _, _, _, infos = env.step(policy(step, n, low, high, rng))
    beams = np.array([info["beam"] for info in infos])  # the last step, before reset
    optima = optimum_table()["objective"].reindex(range(n)).to_numpy()
    return (beams[:, 1] + beams[:, 3]) / optima


def main() -> None:
    """Print the two policies' figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="episodes (seeds 0..n-1)")
    args = parser.parse_args()
    for name, policy in POLICIES.items():
        ratio = final_ratios(policy, args.n)
        print(
            f"{name}: median {np.median(ratio):.2f}× the optimum, "
            f"{np.mean(ratio <= 1.5):.1%} within 1.5×"
        )
    print(f"load average {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
