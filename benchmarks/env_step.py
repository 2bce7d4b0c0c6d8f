"""Time one step of the ARES-EA environment: Cheetah's tracking against the closed form,
and the screen picture drawn from scratch against the cached figure.

Usage: ``python benchmarks/env_step.py [--steps 300]``. Prints milliseconds per step of
the bare environment with each tracker (``tracker="cheetah"``, the previous path, and
``"optics"``, the default), the same plus the screen image the camera would record, and
the RGB rendering used for sliders and videos, drawn with a figure built anew for each
frame (the previous path) and with the cached figure; all measured in this one run, with
the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from rltutorial.envs import AresEACheetah
from rltutorial.envs.cheetah import tracking
from rltutorial.render import _ScreenFigure


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


def _render_from_scratch(env: AresEACheetah) -> np.ndarray:
    """The previous path: a whole figure built and drawn for one frame."""
    task, backend = env, env.backend
    return _ScreenFigure(80).draw(
        backend.get_screen_image(),
        task._previous_beam,
        task.target,
        task.rules.thresholds,
        backend.get_magnets(),
        task._time_step,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    env = AresEACheetah(render_mode="rgb_array")
    _per_step(env, 20, lambda e: e.render())  # warm-up (imports, caches)
    with tracking("cheetah"):
        cheetah = _per_step(env, args.steps // 3)
    bare = _per_step(env, args.steps)
    image = _per_step(env, args.steps, lambda e: e.backend.get_screen_image())
    few = max(args.steps // 10, 10)
    scratch = _per_step(env, few, _render_from_scratch)
    rgb = _per_step(env, few, lambda e: e.render())
    print(f"step, Cheetah tracking:      {cheetah * 1e3:8.3f} ms")
    print(
        f"step, closed form (default): {bare * 1e3:8.3f} ms  ({cheetah / bare:.1f}x faster)"
    )
    print(f"step + screen image:         {image * 1e3:8.3f} ms")
    print(f"step + RGB, figure per frame:{scratch * 1e3:8.2f} ms")
    print(
        f"step + RGB, cached figure:   {rgb * 1e3:8.2f} ms  ({scratch / rgb:.1f}x faster)"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
