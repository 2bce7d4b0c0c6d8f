"""How far simple strategies stay from the best achievable focus (the optimum table).

For the evaluation problems of the focusing task (seeds 0, 1, ...), compares the final
sigma_x + sigma_y of two yardsticks with the cached optimum
(``rltutorial/data/focus_optima.csv``):

- plain Nelder-Mead (SciPy, bounded) with a budget of simulations split over a few
  starts: the problem's initial magnets (all zero) and random settings;
- a fixed rule that tries the two focal-plane settings A+ and A− (the screen in the focal
  plane of the triplet in both planes, R11 = R33 = 0; :func:`rltutorial.envs.focal.focal_settings`)
  and keeps the better.

Both use the closed-form optics of :func:`rltutorial.evaluation.optimum.focus_sigmas` (equal to
Cheetah to 1e-13), so thousands of simulations take a fraction of a second.

    python benchmarks/optimum_yardsticks.py              # 60 problems, 3 starts x 667
    python benchmarks/optimum_yardsticks.py -n 200 --simulations 2000 --starts 3
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.optimize import minimize

from rltutorial.envs.focal import focal_settings
from rltutorial.envs.ranges import QUAD_K1_LIMIT
from rltutorial.evaluation.optimum import focus_optima, focus_sigmas, optimum_table

#: The two focal-plane settings A+ and A− (Q1, Q2, Q3) in 1/m².
FOCAL_SETTINGS = np.array([focal_settings()[name] for name in ("A+", "A-")])
#: Initial simplex size of Nelder-Mead, as a share of the quadrupole range.
SIMPLEX_SHARE = 0.2


def _incoming(seed: int) -> np.ndarray:
    row = optimum_table().loc[seed]
    return row.filter(like="incoming_").to_numpy(dtype=float)


def nelder_mead(
    incoming: np.ndarray, simulations: int, starts: int, seed: int
) -> float:
    """Best sigma_x + sigma_y (m) of ``starts`` bounded Nelder-Mead runs."""
    limit = QUAD_K1_LIMIT

    def objective(q: np.ndarray) -> float:
        return float(
            focus_sigmas(np.clip(q, -limit, limit)[None], incoming[None]).sum()
        )

    rng = np.random.default_rng(seed)
    best = np.inf
    for start in range(starts):
        x0 = np.zeros(3) if start == 0 else rng.uniform(-limit, limit, 3)
        steps = np.where(x0 < 0, 1.0, -1.0) * SIMPLEX_SHARE * 2 * limit
        simplex = np.vstack([x0, *(x0 + np.diag(steps))])
        result = minimize(
            objective,
            x0,
            method="Nelder-Mead",
            bounds=[(-limit, limit)] * 3,
            options={
                "maxfev": simulations // starts,
                "xatol": 1e-8,
                "fatol": 1e-14,
                "initial_simplex": simplex,
            },
        )
        best = min(best, objective(result.x))
    return best


def focal_rule(incoming: np.ndarray) -> float:
    """sigma_x + sigma_y (m) of the better of the two focal-plane settings."""
    sigmas = focus_sigmas(FOCAL_SETTINGS, np.tile(incoming, (2, 1)))
    return float(sigmas.sum(axis=-1).min())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=60, help="problems (seeds 0..n-1)")
    parser.add_argument("--simulations", type=int, default=2000)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()
    seeds = list(range(args.n))
    optima = focus_optima(seeds)
    start = time.perf_counter()
    rows = {
        f"Nelder-Mead, {args.simulations} simulations, {args.starts} starts": [
            nelder_mead(_incoming(s), args.simulations, args.starts, s) for s in seeds
        ],
        "better of the two focal-plane settings (2 simulations)": [
            focal_rule(_incoming(s)) for s in seeds
        ],
    }
    print(
        f"{args.n} focusing problems; optimum median σx+σy {np.median(optima) * 1e6:.1f} µm"
    )
    print(
        "| yardstick | median σx+σy (µm) | median ratio to optimum | share within 1.5× |"
    )
    print("|---|---|---|---|")
    for name, values in rows.items():
        ratio = np.asarray(values) / optima
        print(
            f"| {name} | {np.median(values) * 1e6:.1f} | {np.median(ratio):.2f} "
            f"| {np.mean(ratio <= 1.5):.0%} |"
        )
    print(f"wall time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
