"""Env-steps per second: per-env DummyVecEnv of N copies vs the batched env, side by side.

Usage: ``python benchmarks/env_throughput.py [--quick]``. For N = 1, 40, 256, 1024 it steps
both vectorised environments of the workshop config with random actions and prints
steps/s and the ratio. ``--quick`` measures fewer steps (under a minute). The last line is
``batched/per-env steps/s ratio at N=1024: <number>``. It also compares the cost of the
moment-based pixel sum with summing a rendered screen image.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

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
    moments, image = pixel_sum_costs()
    print(
        f"pixel sum: moments {moments * 1e6:.1f} µs, image {image * 1e6:.1f} µs per beam -> {image / moments:.0f}x cheaper"
    )
    print(f"{'N':>6} {'per-env steps/s':>16} {'batched steps/s':>16} {'ratio':>8}")
    ratio = float("nan")
    for n_envs in (1, 40, 256, 1024):
        per_env = steps_per_second(False, n_envs, per_env_steps)
        batched = steps_per_second(True, n_envs, batched_steps)
        ratio = batched / per_env
        print(f"{n_envs:>6} {per_env:>16.0f} {batched:>16.0f} {ratio:>8.1f}")
    print(f"batched/per-env steps/s ratio at N=1024: {ratio:.1f}")


if __name__ == "__main__":
    main()
