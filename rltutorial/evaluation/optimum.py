"""The best beam size each seeded focusing problem allows: a yardstick for agents.

Many incoming beams cannot be focused below a fixed size at all, so an agent's final beam
is judged against what the magnets can achieve for that very beam. For the workshop's
focusing task (target all zeros, no misalignments) the objective ``sigma_x + sigma_y``
on the screen depends only on Q1, Q2, Q3 and the incoming beam's sizes and divergences:
correctors and beam positions do not change beam sizes in linear optics, and the
quadrupoles act without chromatic terms. :func:`rltutorial.envs.optics.focus_sigmas` is that
closed-form transfer-matrix calculation in numpy (checked against Cheetah in the tests),
fast enough to search thousands of settings per problem.

:func:`find_optimum` runs a batched random search over the magnet box followed by
bounded Nelder-Mead polishing from the best few starts. :func:`optimum_table` reads the
cached results for the evaluation seeds (``rltutorial/data/focus_optima.csv``), which
``scripts/compute_optima.py`` writes with :func:`compute_optima`; :func:`optimum_frame`
gives each seeded problem's optimal sizes (the yardstick of every evaluation).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rltutorial.envs.optics import focus_sigmas
from rltutorial.envs.ranges import INCOMING_LABELS, QUAD_K1_LIMIT

__all__ = [
    "OPTIMA_FILE",
    "Optimum",
    "focus_sigmas",
    "find_optimum",
    "compute_optima",
    "write_optimum_table",
    "optimum_table",
    "focus_optima",
    "has_optimum_table",
    "optimum_frame",
    "optimum_objectives",
]

#: File name of the cached optima in :func:`rltutorial.paths.data_dir`.
OPTIMA_FILE = "focus_optima.csv"


#: How the table was computed (written into the CSV header).
OPTIMUM_METHOD = (
    "objective sigma_x + sigma_y on AREABSCR1 over Q1, Q2, Q3 in [-72, 72] 1/m^2 "
    "(correctors do not change beam sizes); closed-form linear optics (thick "
    "quadrupoles and drifts, equal to Cheetah 0.8 to 1e-13); batched random search of "
    "{n_random} settings + batched projected Adam descent from {n_descents} random "
    "settings ({descent_steps} steps), then bounded scipy Nelder-Mead (xatol 1e-6, "
    "at most {max_evaluations} evaluations) from the {n_starts} best settings of each "
    "and from the two focal-plane settings (R11 = 0; Q1 = +-72, Q2 = -+24.904, "
    "Q3 = +-24.203); "
    "sigma_x and sigma_y of the best result re-tracked with Cheetah"
)


@dataclass(frozen=True)
class Optimum:
    """Best focusing found for one incoming beam.

    Attributes
    ----------
    quadrupoles : ndarray (3,)
        k1 of Q1, Q2, Q3 in 1/m².
    sigmas : ndarray (2,)
        sigma_x, sigma_y on the screen in m (tracked with Cheetah).
    objective : float
        sigma_x + sigma_y in m.
    evaluations : int
        Closed-form evaluations used.
    """

    quadrupoles: np.ndarray
    sigmas: np.ndarray
    objective: float
    evaluations: int


def _descend(incoming: np.ndarray, n: int, steps: int, seed: int) -> np.ndarray:
    """Projected Adam descent from ``n`` random settings at once; settings (n, 3), best first."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    k1 = (
        torch.rand(n, 3, generator=generator, dtype=torch.float64) * 2 - 1
    ) * QUAD_K1_LIMIT
    k1.requires_grad_()
    beam = torch.as_tensor(incoming, dtype=torch.float64)
    optimizer = torch.optim.Adam([k1], lr=2.0)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, steps, eta_min=1e-3
    )
    for _ in range(steps):
        optimizer.zero_grad()
        values = focus_sigmas(k1, beam, xp=torch).sum(-1)
        (values.sum() / values.detach().mean()).backward()
        optimizer.step()
        schedule.step()
        with torch.no_grad():
            k1.clamp_(-QUAD_K1_LIMIT, QUAD_K1_LIMIT)
    with torch.no_grad():
        values = focus_sigmas(k1, beam, xp=torch).sum(-1)
    return k1.detach().numpy()[np.argsort(values.numpy())]


#: Two further Nelder-Mead starts: Q1 at either limit, Q2 and Q3 where the screen lies in
#: the focal plane of the triplet in both planes (parallel-to-point focusing, R11 = 0:
#: the spot size no longer depends on the incoming beam's size, only on its divergence,
#: sigma = |R12| sigma'), k1 in 1/m². Most optima lie next to one of them.
FOCAL_STARTS = np.array([[72.0, -24.904, 24.203], [-72.0, 24.904, -24.203]])

_SEARCH_DEFAULTS = {
    "n_random": 8192,
    "n_descents": 1024,
    "descent_steps": 300,
    "n_starts": 6,
    "max_evaluations": 2000,
}


def find_optimum(
    incoming: np.ndarray,
    n_random: int = 8192,
    n_descents: int = 1024,
    descent_steps: int = 300,
    n_starts: int = 6,
    max_evaluations: int = 2000,
    seed: int = 0,
) -> Optimum:
    """Smallest ``sigma_x + sigma_y`` on the screen reachable with Q1, Q2, Q3.

    The landscape has many narrow valleys, so three stages are combined: a batched
    random search over [−72, 72]³ 1/m², a batched projected gradient descent (Adam)
    from further random settings, and bounded Nelder-Mead from the ``n_starts`` best
    settings of each and from :data:`FOCAL_STARTS`, on the closed-form
    :func:`focus_sigmas`.

    Parameters
    ----------
    incoming : ndarray (11,)
        The incoming beam.
    n_random : int
        Random settings of the batched search.
    n_descents, descent_steps : int
        Random settings descended at once, and the steps of the descent.
    n_starts : int
        Best settings of each stage polished with Nelder-Mead.
    max_evaluations : int
        Function evaluations per Nelder-Mead run.
    seed : int
        Seed of the random stages.

    Returns
    -------
    Optimum
        Settings and sizes (re-tracked with Cheetah) of the best result.
    """
    from scipy.optimize import minimize

    from rltutorial.envs import simulate_screen_beam

    incoming = np.asarray(incoming, dtype=float)
    rng = np.random.default_rng(seed)
    candidates = rng.uniform(-QUAD_K1_LIMIT, QUAD_K1_LIMIT, (n_random, 3))
    ranked = candidates[np.argsort(focus_sigmas(candidates, incoming).sum(-1))]
    descended = _descend(incoming, n_descents, descent_steps, seed)
    starts = np.concatenate([ranked[:n_starts], descended[:n_starts], FOCAL_STARTS])
    evaluations = n_random + n_descents * descent_steps
    best = None
    for start in starts:
        result = minimize(
            lambda k1: float(np.sum(focus_sigmas(k1, incoming))),
            start,
            method="Nelder-Mead",
            bounds=[(-QUAD_K1_LIMIT, QUAD_K1_LIMIT)] * 3,
            options={"maxfev": max_evaluations, "xatol": 1e-6, "fatol": 1e-14},
        )
        evaluations += int(result.nfev)
        best = result if best is None or result.fun < best.fun else best
    magnets = np.zeros(5)
    magnets[[0, 1, 3]] = best.x
    tracked = simulate_screen_beam(magnets, incoming)[[1, 3]]
    return Optimum(best.x, tracked, float(tracked.sum()), evaluations)


def _focus_incoming(seed: int) -> np.ndarray:
    """Incoming beam of ``make_env(DEFAULT_CONFIG).reset(seed=seed)`` (11 numbers): the
    environment's defaults are the workshop's focusing task."""
    from rltutorial.envs import AresEACheetah

    env = AresEACheetah()
    env.reset(seed=int(seed))
    return env.backend.get_incoming()


def compute_optima(seeds: Iterable[int], **search: Any) -> pd.DataFrame:
    """Optimum of the focusing problem behind each evaluation seed.

    Parameters
    ----------
    seeds : iterable of int
        Seeds ``s`` of ``make_env(DEFAULT_CONFIG).reset(seed=s)``.
    **search
        Keyword arguments of :func:`find_optimum`.

    Returns
    -------
    DataFrame
        One row per seed: the incoming beam (``incoming_energy`` … ``incoming_sigma_p``),
        the best ``q1``, ``q2``, ``q3`` (1/m²), the screen's ``sigma_x``, ``sigma_y`` and
        ``objective`` (m) there, and the closed-form ``evaluations`` used.
    """
    rows = []
    for seed in seeds:
        incoming = _focus_incoming(seed)
        optimum = find_optimum(incoming, seed=int(seed), **search)
        rows.append(
            {
                "seed": int(seed),
                **{
                    f"incoming_{k}": v
                    for k, v in zip(INCOMING_LABELS, incoming, strict=True)
                },
                "q1": optimum.quadrupoles[0],
                "q2": optimum.quadrupoles[1],
                "q3": optimum.quadrupoles[2],
                "sigma_x": optimum.sigmas[0],
                "sigma_y": optimum.sigmas[1],
                "objective": optimum.objective,
                "evaluations": optimum.evaluations,
            }
        )
    return pd.DataFrame(rows).set_index("seed")


def write_optimum_table(table: pd.DataFrame, path: Path, **search: Any) -> Path:
    """Write :func:`compute_optima` output as CSV with a ``#`` header saying how.

    Parameters
    ----------
    table : DataFrame
        Indexed by seed.
    path : Path
        Target CSV file.
    **search
        The :func:`find_optimum` settings used (filled into :data:`OPTIMUM_METHOD`).
    """
    settings = {**_SEARCH_DEFAULTS, **search}
    objective = table["objective"] * 1e6
    header = [
        "Best achievable focus of the workshop focusing task per evaluation seed.",
        "seed s: incoming beam of rltutorial.make_env(DEFAULT_CONFIG).reset(seed=s);",
        "target all zeros, no misalignments. Units: energy eV, lengths m, angles rad,",
        "k1 (q1, q2, q3) 1/m^2; sigma_x, sigma_y on the screen at the optimum,",
        "objective = sigma_x + sigma_y in m.",
        "Method: " + OPTIMUM_METHOD.format(**settings) + ".",
        f"Objective over {len(table)} seeds: median {objective.median():.2f} um, mean "
        f"{objective.mean():.2f} um, 10-90 % {objective.quantile(0.1):.2f}-"
        f"{objective.quantile(0.9):.2f} um. Written by scripts/compute_optima.py.",
    ]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with partial.open("w") as handle:
        handle.writelines(f"# {line}\n" for line in header)
        table.to_csv(handle, float_format="%.10g")
    partial.replace(path)
    _read_table.cache_clear()
    return path


@lru_cache(maxsize=4)
def _read_table(path: str) -> pd.DataFrame:
    return pd.read_csv(path, comment="#").set_index("seed")


def optimum_table() -> pd.DataFrame:
    """The cached optima, indexed by seed (see :func:`compute_optima` for the columns).

    Raises
    ------
    FileNotFoundError
        If the table has not been computed (run ``scripts/compute_optima.py``).
    """
    from rltutorial.paths import data_dir

    path = data_dir() / OPTIMA_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"No optimum table at {path}; run `python scripts/compute_optima.py`."
        )
    return _read_table(str(path)).copy()


def has_optimum_table(config: Mapping[str, Any]) -> bool:
    """Whether the cached optima describe the episodes of ``config``.

    True for the focusing problem the table was computed for: the focus objective,
    a random incoming beam, no misalignments, target beam all zeros (reward, actions,
    thresholds and starting magnets may differ, they do not change what is achievable).
    False for a machine with calibration errors (``calibration_error`` > 0): its
    optimum moves with each episode's errors, so ratios to the table would be wrong.
    """
    from rltutorial.config import validate_config

    config = validate_config(config)
    return (
        config["objective"] == "focus"
        and config["incoming_mode"] == "random"
        and config["misalignment_mode"] == "constant"
        and not np.any(config["misalignment_values"] or [0.0])
        and config["target_beam_mode"] == "constant"
        and not np.any(config["target_beam_values"] or [0.0])
        and config["calibration_error"] == 0
    )


def focus_optima(seeds: Iterable[int]) -> np.ndarray:
    """Optimal ``sigma_x + sigma_y`` (m) for each seed; NaN where the table has no entry."""
    table = optimum_table()
    return table["objective"].reindex(list(seeds)).to_numpy(dtype=float)


def optimum_frame(
    config: Mapping[str, Any], seeds: Iterable[int]
) -> pd.DataFrame | None:
    """The best achievable focus of each seeded problem of ``config``, plane by plane.

    The one rule for every yardstick in the package: None when the table does not
    describe the config's problems (see :func:`has_optimum_table`) or is missing (with a
    warning); otherwise one row per seed, NaN (with a warning) for seeds the table does
    not cover.

    Returns
    -------
    DataFrame or None
        Indexed by seed: ``sigma_x``, ``sigma_y`` on the screen at the optimum and
        ``objective`` (their sum), all in m.
    """
    if not has_optimum_table(config):
        return None
    seeds = list(seeds)
    try:
        table = optimum_table()
    except FileNotFoundError as error:
        warnings.warn(f"{error} Optimality metrics are NaN.", stacklevel=2)
        return None
    frame = table[["sigma_x", "sigma_y", "objective"]].reindex(seeds)
    missing = frame.index[frame["objective"].isna()]
    if len(missing):
        warnings.warn(
            f"The optimum table has no entry for {len(missing)} of the seeds "
            f"({missing[0]}..{missing[-1]}); their optimality metrics are NaN.",
            stacklevel=2,
        )
    return frame


def optimum_objectives(
    config: Mapping[str, Any], seeds: Iterable[int]
) -> pd.Series | None:
    """The best achievable ``sigma_x + sigma_y`` (m) of each seeded problem of ``config``.

    The ``objective`` column of :func:`optimum_frame` (None where it is None).
    """
    frame = optimum_frame(config, seeds)
    return None if frame is None else frame["objective"]
