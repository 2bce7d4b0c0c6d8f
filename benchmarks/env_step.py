"""Time one step of the ARES-EA environment, with and without rendering the screen image.

Usage: ``python benchmarks/env_step.py [--steps 300]``. Prints milliseconds per step of
(a) the bare environment, (b) the same plus the screen image the camera would record
(``get_screen_image``), (c) the full RGB rendering used for videos, and their ratios,
all measured in this one run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rltutorial.envs import AresEACheetah


def _per_step(env: AresEACheetah, steps: int, extra=None) -> float:
    env.reset(seed=0)
    actions = np.random.default_rng(0).uniform(
        env.action_space.low, env.action_space.high, (steps, 5)
    )
    start = time.perf_counter()
    for action in actions:
        env.step(action)
        if extra is not None:
            extra(env)
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    env = AresEACheetah(render_mode="rgb_array")
    _per_step(env, 20)  # warm-up (imports, caches)
    bare = _per_step(env, args.steps)
    image = _per_step(env, args.steps, lambda e: e.backend.get_screen_image())
    rgb = _per_step(env, max(args.steps // 10, 10), lambda e: e.render())
    print(f"step only:               {bare * 1e3:7.2f} ms")
    print(f"step + screen image:     {image * 1e3:7.2f} ms  ({image / bare:.2f}x)")
    print(f"step + RGB rendering:    {rgb * 1e3:7.2f} ms  ({rgb / bare:.2f}x)")


if __name__ == "__main__":
    main()
