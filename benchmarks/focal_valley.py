"""Where the best focus lies and why agents that start at zero magnets miss it.

The screen lies in the focal plane of the triplet in both planes (R11 = R33 = 0) along
curves of settings, one setting per Q1; there the spot is |R12| sigma_x' + |R34|
sigma_y'. For Q1 < 0 (the mirror image, all signs flipped, swaps the planes) there are
two such valleys, and no focal-plane setting joins them for Q1 between about -9 and
-12 1/m²: a *strong* one (Q1 from -13 to -72, Q2 ≈ 19–25, Q3 ≈ -24…-37), whose end at
Q1 = -72 is the optimum of the focusing task, and a *weak* one (Q1 from 0 to -8,
Q2 ≈ 12–15, Q3 ≈ -10…-18), close to where every episode starts, whose spots are
several times larger. This script prints, for the 300 evaluation problems
(``rltutorial/data/focus_optima.csv``):

1. the four focal-plane settings at |Q1| = 72 (:func:`rltutorial.envs.focal.focal_settings`):
   branch A (A+: Q1 = +72, Q2 ≈ −24.9, Q3 ≈ +24.2; A−: all signs flipped) and branch B
   (B+: Q1 = +72, Q2 ≈ +32.67 with the same sign as Q1, Q3 ≈ −24.35; B−), their |R12|,
   |R34|, and how many optima lie next to each;
2. the divergence rule: at a focal-plane setting the spot is |R12| sigma_x' +
   |R34| sigma_y', so the ratio of the incoming divergences sigma_x' / sigma_y' picks
   the branch: A+ when it exceeds 1, A− below, B− above the crossover
   (|R34(B−)| − |R34(A+)|) / (|R12(A+)| − |R12(B−)|) and B+ below its inverse; how often
   the tabulated optima follow it;
3. how many optimum spots are smaller than one binned screen pixel;
4. both valleys: Q2, Q3, |R12|, |R34| and the median spot and ratio to the optimum;
5. what an exploring agent feels there: the mean of ln(sigma_x + sigma_y) over the
   problems when Gaussian noise of standard deviation ``s`` (1/m²) is added to all three
   quadrupoles, at each valley's point where it is lowest. A policy-gradient agent
   follows this smoothed landscape, so its exploration noise decides which valley
   looks better.

With ``--train`` it also trains a PPO agent with ``direct`` actions (log reward, log
inputs) for ``--steps`` steps into a temporary folder and reports where it leaves Q1.
Everything uses the closed-form optics of :func:`rltutorial.evaluation.optimum.focus_sigmas`
(equal to Cheetah to 1e-13), except the training run.

    python benchmarks/focal_valley.py                  # about 10 s
    python benchmarks/focal_valley.py --train          # plus a 1.5M-step PPO run

The output of the plain run is kept in ``benchmarks/results/focal_valley.md``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
from scipy.optimize import minimize

from rltutorial.envs.focal import focal_settings
from rltutorial.envs.optics import transfer_rows
from rltutorial.evaluation.metrics import resolution_floor
from rltutorial.evaluation.optimum import focus_sigmas, optimum_table

#: Each valley: a known focal-plane setting (Q1, Q2, Q3 in 1/m²) and the Q1 values
#: (1/m²) at which the valley is followed from it.
VALLEYS = {
    "strong": (focal_settings()["A-"], (-72, -60, -48, -36, -24, -18, -14)),
    "weak": (np.array([-7.0, 14.881, -14.293]), (-7, -8, -6, -4, -2)),
}
#: Exploration noise (standard deviation on Q1, Q2, Q3, 1/m²) for the smoothed landscape.
NOISE_LEVELS = (0.003, 0.03, 0.1, 0.3, 1.0)

_UNIT_SIZE = np.array([0, 0, 0, 0, 0, 1.0, 0, 1.0, 0, 0, 0])  # sigma_x = sigma_y = 1
_UNIT_DIVERGENCE = np.array([0, 0, 0, 0, 0, 0, 1.0, 0, 1.0, 0, 0])


def nearest_focal(table) -> np.ndarray:
    """Name of the focal-plane setting nearest to each tabulated optimum (max-norm)."""
    settings = focal_settings()
    grid = np.array(list(settings.values()))
    optima = table[["q1", "q2", "q3"]].to_numpy(dtype=float)
    distance = np.abs(optima[:, None, :] - grid[None]).max(axis=-1)
    return np.array(list(settings))[distance.argmin(axis=-1)]


def print_branches(table) -> None:
    """Table 1: the four focal-plane settings and the optima next to each."""
    nearest = nearest_focal(table)
    print("| setting | Q1 | Q2 | Q3 | abs R12 (m) | abs R34 (m) | optima next to it |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, setting in focal_settings().items():
        rows = np.abs(transfer_rows(setting))
        print(
            f"| {name} | {setting[0]:+.0f} | {setting[1]:+.3f} | {setting[2]:+.3f} | "
            f"{rows[1]:.4f} | {rows[3]:.4f} | {np.sum(nearest == name)}/{len(table)} |"
        )


def divergence_rule(table) -> dict[str, float]:
    """How the ratio sigma_x' / sigma_y' of the incoming divergences picks the branch.

    Returns
    -------
    dict
        ``crossover``: the ratio above which B− gives a smaller spot than A+ at the
        focal-plane settings (lattice only); ``a_count`` and ``a_rule``: optima of type
        A and the share of them that are A+ exactly when sigma_x' > sigma_y';
        ``b_count``, ``b_lowest``: optima of type B and the smallest divergence ratio
        (larger over smaller) among them; ``a_highest``: the largest among type A.
    """
    rows = {name: np.abs(transfer_rows(s)) for name, s in focal_settings().items()}
    crossover = (rows["B-"][3] - rows["A+"][3]) / (rows["A+"][1] - rows["B-"][1])
    nearest = nearest_focal(table)
    ratio = (table["incoming_sigma_xp"] / table["incoming_sigma_yp"]).to_numpy()
    spread = np.maximum(ratio, 1 / ratio)
    is_a = np.char.startswith(nearest.astype(str), "A")
    follows = (nearest[is_a] == "A+") == (ratio[is_a] > 1)
    return {
        "crossover": float(crossover),
        "a_count": int(is_a.sum()),
        "a_rule": float(follows.mean()),
        "a_highest": float(spread[is_a].max()),
        "b_count": int((~is_a).sum()),
        "b_lowest": float(spread[~is_a].min()) if (~is_a).any() else float("nan"),
    }


def print_divergence_rule(table) -> None:
    """Part 2: the divergence rule against the tabulated optima."""
    rule = divergence_rule(table)
    print(
        f"Divergence rule: of the {rule['a_count']} type-A optima, "
        f"{rule['a_rule']:.1%} are A+ exactly when sigma_x' > sigma_y'. At the "
        f"focal-plane settings B beats A when the larger divergence exceeds the "
        f"smaller by {rule['crossover']:.1f}x; the {rule['b_count']} type-B optima "
        f"have ratios from {rule['b_lowest']:.1f}, the type-A ones up to "
        f"{rule['a_highest']:.1f} (the incoming sizes shift the optimum slightly off "
        "the focal plane)."
    )


def print_resolution(table) -> None:
    """How many optimum spots a binned screen pixel would hide."""
    width, height = resolution_floor()
    sizes = table[["sigma_x", "sigma_y"]].to_numpy()
    one = np.mean((sizes[:, 0] < width) & (sizes[:, 1] < height))
    two = np.mean((sizes[:, 0] < 2 * width) & (sizes[:, 1] < 2 * height))
    print(
        f"Screen resolution: one binned pixel is {width * 1e6:.2f} µm × "
        f"{height * 1e6:.2f} µm; the optimum spot is smaller than one pixel in both "
        f"planes in {one:.0%} of the problems and smaller than two in {two:.0%}."
    )


def focal_rows(quadrupoles: np.ndarray) -> np.ndarray:
    """|R11|, |R33|, |R12|, |R34| (m for R12, R34) of Q1, Q2, Q3 (3,) in 1/m²."""
    q = np.asarray(quadrupoles, dtype=float)[None]
    r11, r33 = focus_sigmas(q, _UNIT_SIZE[None])[0]
    r12, r34 = focus_sigmas(q, _UNIT_DIVERGENCE[None])[0]
    return np.array([r11, r33, r12, r34])


def _focal_residual(q2_q3: np.ndarray, q1: float) -> float:
    """R11² + R33² of the setting (q1, Q2, Q3): zero in the focal plane of both planes."""
    return float(np.sum(focal_rows([q1, *q2_q3])[:2] ** 2))


def follow_valley(start: np.ndarray, q1_values: tuple[float, ...]) -> np.ndarray:
    """Settings (len(q1_values), 3) with R11 = R33 = 0, sorted by Q1.

    Each Q1 starts from the solution of the nearest Q1 already solved (continuation).
    """
    solved = {float(start[0]): start[1:]}
    for q1 in q1_values:
        nearest = min(solved, key=lambda known: abs(known - q1))
        result = minimize(
            _focal_residual,
            solved[nearest],
            args=(q1,),
            method="Nelder-Mead",
            options={"xatol": 1e-9, "fatol": 1e-20, "maxiter": 4000},
        )
        solved[float(q1)] = result.x
    return np.array([[q1, *solved[q1]] for q1 in sorted(solved)])


def smoothed(setting: np.ndarray, incoming: np.ndarray, noise: float) -> float:
    """Mean ln(sigma_x + sigma_y / 1 m) over problems and 256 noisy copies of a setting."""
    rng = np.random.default_rng(0)
    settings = np.clip(setting + rng.normal(0.0, noise, (256, 3)), -72.0, 72.0)
    sizes = focus_sigmas(settings[:, None, :], incoming[None]).sum(axis=-1)
    return float(np.mean(np.log(sizes)))


def print_valleys(valleys: dict, incoming: np.ndarray, optima: np.ndarray) -> None:
    """Table 4: both valleys with their optics and spot sizes."""
    print(
        "| valley | Q1 | Q2 | Q3 | max(R11, R33) | abs R12 (m) | abs R34 (m) "
        "| median σx+σy (µm) | median ratio to optimum |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, settings in valleys.items():
        for setting in settings:
            rows = focal_rows(setting)
            sizes = focus_sigmas(np.tile(setting, (len(incoming), 1)), incoming)
            sizes = sizes.sum(axis=-1)
            print(
                f"| {name} | {setting[0]:.0f} | {setting[1]:.3f} | {setting[2]:.3f} | "
                f"{rows[:2].max():.0e} | {rows[2]:.3f} | {rows[3]:.3f} | "
                f"{np.median(sizes) * 1e6:.1f} | {np.median(sizes / optima):.2f} |"
            )


def print_landscape(valleys: dict, incoming: np.ndarray) -> None:
    """Table 5: the smoothed landscape at each valley's best point, per noise level."""
    names = list(valleys)
    cells = " | ".join(f"{name}: lowest mean ln(σx+σy / m) (at Q1)" for name in names)
    print(f"| noise s (1/m²) | {cells} | favoured |")
    print("|---:|" + "---:|" * (len(names) + 1))
    for noise in NOISE_LEVELS:
        best = {}
        for name, settings in valleys.items():
            values = [smoothed(setting, incoming, noise) for setting in settings]
            index = int(np.argmin(values))
            best[name] = (values[index], settings[index, 0])
        text = " | ".join(f"{best[n][0]:.2f} ({best[n][1]:.0f})" for n in names)
        print(f"| {noise} | {text} | {min(best, key=lambda n: best[n][0])} |")


def train_direct(steps: int) -> None:
    """Train PPO with direct actions from zero magnets; report where Q1 ends."""
    with tempfile.TemporaryDirectory() as scratch:
        for folder in ("models", "runs", "recordings"):
            os.environ[f"RLTUTORIAL_{folder.upper()}"] = os.path.join(scratch, folder)
        from rltutorial.agents.training import train

        start = time.perf_counter()
        agent = train(
            {
                "run_name": "Direct Probe",
                "seed": 0,
                "action_mode": "direct",
                "reward_mode": "log_improvement",
                "policy_features": "log_lengths",
                "normalize_observation": False,
                "total_timesteps": steps,
                "n_envs": 64,
                "batch_size": 400,
                "net_arch": [128, 128],
                "learning_rate": 5e-4,
                "learning_rate_schedule": "linear",
                "eval_every": 50_000,
                "eval_criterion": "median_objective",
            },
            evaluation_episodes=0,  # evaluated once below, with the final settings
            recorded_episodes=0,
            progress_bar=False,
        )
        minutes = (time.perf_counter() - start) / 60
        from rltutorial.evaluation import evaluate_agent

        evaluation = evaluate_agent(agent, n=200)
        finals = evaluation.finals
        metrics = evaluation.metrics
        print(
            f"PPO, direct actions, {steps:,} steps ({minutes:.1f} min): final Q1 median "
            f"{finals['Q1'].median():.1f} 1/m² (10–90 %: {finals['Q1'].quantile(0.1):.1f} "
            f"to {finals['Q1'].quantile(0.9):.1f}), Q2 {finals['Q2'].median():.2f}, "
            f"Q3 {finals['Q3'].median():.2f}; median ratio to optimum "
            f"{metrics['median_optimality_ratio']:.2f}, near-optimal rate "
            f"{metrics['near_optimal_rate']:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true", help="also train a PPO agent")
    parser.add_argument("--steps", type=int, default=1_500_000)
    args = parser.parse_args()
    table = optimum_table()
    incoming = table.filter(like="incoming_").to_numpy(dtype=float)
    optima = table["objective"].to_numpy()
    valleys = {name: follow_valley(*valley) for name, valley in VALLEYS.items()}
    print(
        f"{len(table)} focusing problems; optimum median σx+σy "
        f"{np.median(optima) * 1e6:.1f} µm\n"
    )
    print_branches(table)
    print()
    print_divergence_rule(table)
    print()
    print_resolution(table)
    print()
    print_valleys(valleys, incoming, optima)
    print()
    print_landscape(valleys, incoming)
    if args.train:
        print()
        train_direct(args.steps)


if __name__ == "__main__":
    main()
