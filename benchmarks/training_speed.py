"""PPO wall time on (a) the per-env env, (b) the batched env with Cheetah's tracking,
(b') the batched env with the closed-form optics (the default), (c) a trivial env.

Usage: ``python benchmarks/training_speed.py [--steps 20000] [--quick]``. Trains PPO with
the workshop settings (40 envs, n_steps 50, batch 100, 10 epochs, [64, 64], normalised
observations and rewards) for the same number of steps on each environment, in this one
run, and prints the wall times and the ratios b'/c (batched vs floor), b/b' and a/b'. The
trivial environment has the same spaces but does no physics, so its time is what the
learner alone costs. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor, VecNormalize

from rltutorial import DEFAULT_CONFIG, make_env, make_vec_env
from rltutorial.envs.cheetah import tracking


class TrivialEnv(gym.Env):
    """Same spaces as the workshop env, constant observation, zero reward, 25-step episodes."""

    def __init__(self) -> None:
        template = make_env(DEFAULT_CONFIG)
        self.observation_space, self.action_space = (
            template.observation_space,
            template.action_space,
        )
        self._observation = np.zeros(self.observation_space.shape, np.float32)
        self._t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return self._observation, {}

    def step(self, action):
        self._t += 1
        return (
            self._observation,
            0.0,
            False,
            self._t >= DEFAULT_CONFIG["time_limit"],
            {},
        )


def train_seconds(venv, steps: int) -> float:
    """Wall time of PPO.learn for ``steps`` on ``venv`` with the workshop settings."""
    config = DEFAULT_CONFIG
    model = PPO(
        "MlpPolicy",
        VecNormalize(venv, gamma=config["gamma"]),
        n_steps=config["n_steps"],
        batch_size=config["batch_size"],
        n_epochs=config["n_epochs"],
        gamma=config["gamma"],
        policy_kwargs={"net_arch": config["net_arch"]},
        device="cpu",
        seed=0,
    )
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="4,000 steps")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads (1, as rltutorial.train uses: small networks "
        "train many times faster on one thread when the other core is busy)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    steps = 4_000 if args.quick else args.steps
    n_envs = DEFAULT_CONFIG["n_envs"]
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    floor = train_seconds(VecMonitor(DummyVecEnv([TrivialEnv] * n_envs)), steps)
    optics = train_seconds(
        make_vec_env(DEFAULT_CONFIG, n_envs, batched=True, seed=0), steps
    )
    with tracking("cheetah"):
        cheetah = train_seconds(
            make_vec_env(DEFAULT_CONFIG, n_envs, batched=True, seed=0), steps
        )
        per_env = train_seconds(
            make_vec_env(DEFAULT_CONFIG, n_envs, batched=False, seed=0), steps
        )
    print(f"PPO, {steps} steps, {n_envs} envs, {args.threads} torch thread(s):")
    print(f"  (a)  per-env env, Cheetah:     {per_env:7.1f} s")
    print(f"  (b)  batched env, Cheetah:     {cheetah:7.1f} s")
    print(f"  (b') batched env, closed form: {optics:7.1f} s")
    print(f"  (c)  trivial env:              {floor:7.1f} s  (learner floor)")
    print(f"ratio b'/c (batched vs floor): {optics / floor:.2f}")
    print(f"ratio b/b' (Cheetah vs closed form): {cheetah / optics:.2f}")
    print(f"ratio a/b' (per-env vs batched): {per_env / optics:.2f}")
    print(
        f"projected 200k workshop steps with the batched env: "
        f"{optics / steps * 200_000 / 60:.1f} min"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
