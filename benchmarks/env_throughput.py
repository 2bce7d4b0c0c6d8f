"""Env-steps per second: per-env DummyVecEnv of N copies vs the batched env, side by side,
and the batched env with Cheetah's tracking vs the closed-form optics.

Usage: ``python benchmarks/env_throughput.py [--quick]``. For N = 1, 40, 256, 1024 it steps
the vectorised environments of the workshop config with random actions and prints
steps/s, µs per env-step and the ratios. ``--quick`` measures fewer steps. It also compares
the cost of the moment-based pixel sum with summing a rendered screen image, and prints
the load average before and after (compare ratios from one run with both cores free).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from rltutorial.envs.cheetah import tracking
from rltutorial.envs.screen import fraction_on_screen, screen_image
from rltutorial.make import make_vec_env


def steps_per_second(batched: bool, n_envs: int, min_env_steps: int) -> float:
    """Env-steps/s of one vectorised environment over at least ``min_env_steps`` env-steps."""
    venv = make_vec_env({}, n_envs, batched=batched, seed=0)
    venv.reset()
    rng = np.random.default_rng(0)
    venv.step(rng.uniform(-3, 3, (n_envs, 3)).astype(np.float32))  # warm-up
    calls = max(1, min_env_steps // n_envs)
    actions = rng.uniform(-3, 3, (calls, n_envs, 3)).astype(np.float32)
    start = time.perf_counter()
    for action in actions:
        venv.step(action)
    return calls * n_envs / (time.perf_counter() - start)


def pixel_sum_costs(n: int = 200) -> tuple[float, float]:
    """Seconds per beam: moments formula vs rendering a 612 × 510 image and summing it."""
    rng = np.random.default_rng(0)
    beams = np.column_stack(
        [rng.uniform(-4e-3, 4e-3, n), rng.uniform(1e-5, 1e-3, n)] * 2
    )[:, [0, 1, 2, 3]]
    start = time.perf_counter()
    for beam in beams:
        fraction_on_screen(beam)
    moments = (time.perf_counter() - start) / n
    start = time.perf_counter()
    for beam in beams:
        screen_image(beam).sum()
    image = (time.perf_counter() - start) / n
    return moments, image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer steps (under a minute)"
    )
    args = parser.parse_args()
    per_env_steps, batched_steps = (300, 4000) if args.quick else (1500, 40000)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    moments, image = pixel_sum_costs()
    print(
        f"pixel sum: moments {moments * 1e6:.1f} µs, image {image * 1e6:.1f} µs per beam "
        f"-> {image / moments:.0f}x cheaper"
    )
    print(
        f"{'N':>6} {'per-env /s':>11} {'batched Cheetah /s':>19} "
        f"{'batched optics /s':>18} {'µs/env-step':>12} {'optics/Cheetah':>15}"
    )
    for n_envs in (1, 40, 256, 1024):
        with tracking("cheetah"):
            per_env = steps_per_second(False, n_envs, per_env_steps)
            cheetah = steps_per_second(True, n_envs, batched_steps // 4)
        optics = steps_per_second(True, n_envs, batched_steps)
        print(
            f"{n_envs:>6} {per_env:>11.0f} {cheetah:>19.0f} {optics:>18.0f} "
            f"{1e6 / optics:>12.1f} {optics / cheetah:>15.1f}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
