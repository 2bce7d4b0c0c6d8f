"""Judging evaluated episodes: summary metrics and a plain-words note on behaviour.

:func:`summarize` turns the step-by-step rows of an evaluation into numbers (errors at
the end of each episode, success and near-optimality rates, and behaviour measures such
as episodes ending off the screen); :func:`describe_behaviour` says in one sentence what
those numbers show. Both are pure functions of a DataFrame / dict. Lengths are in m.

Two yardsticks compare a final beam with the best achievable one
(:mod:`rltutorial.evaluation.optimum`):

- *in simulation* (``median_optimality_ratio``, ``near_optimal_rate``): the final
  ``sigma_x + sigma_y`` over the optimum's, however small both are;
- *at the screen's resolution* (``median_resolution_ratio``,
  ``resolution_near_optimal_rate``): each plane's size floored at one binned pixel of
  the screen (:func:`resolution_floor`, 13.3 µm × 9.8 µm at binning 4) for the final
  beam and for the optimum alike (:func:`resolved_objective`). The optimum spot is
  smaller than a pixel in most problems, so the raw ratio rewards improvements no real
  screen can show; the floored one counts only what a camera could see.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from rltutorial.envs.ranges import BEAM_LABELS, SCREEN_BINNING, SCREEN_PIXEL_SIZE

__all__ = [
    "DEFAULT_THRESHOLD",
    "NEAR_OPTIMAL_FACTOR",
    "final_steps",
    "judges_positions",
    "optimality_ratios",
    "ratio_metrics",
    "resolution_floor",
    "resolved_objective",
    "summarize",
    "describe_behaviour",
]

#: Default evaluation threshold on |error| of each evaluated beam parameter, in m.
DEFAULT_THRESHOLD = 40e-6
#: An episode is near-optimal when its final focus objective is at most this times the
#: best achievable one (see :mod:`rltutorial.evaluation.optimum`).
NEAR_OPTIMAL_FACTOR = 1.5
NAN = float("nan")


def judges_positions(config: Mapping) -> bool:
    """Whether a task asks for beam positions too (``objective: "full"``), so that
    mu_x and mu_y are judged by default next to sigma_x and sigma_y."""
    return config["objective"] == "full"


def resolution_floor(binning: int = SCREEN_BINNING) -> np.ndarray:
    """Width and height of one binned pixel of the screen AREABSCR1.

    Parameters
    ----------
    binning : int
        Camera binning (pixels read out as one along each axis); 4 by default.

    Returns
    -------
    ndarray (2,)
        Pixel width and height in m (``SCREEN_PIXEL_SIZE * binning``: 13.28 µm ×
        9.79 µm at binning 4).
    """
    if (
        isinstance(binning, bool)
        or not isinstance(binning, (int, np.integer))
        or binning < 1
    ):
        raise ValueError(f"binning must be a positive integer, got {binning!r}.")
    return SCREEN_PIXEL_SIZE * int(binning)


def resolved_objective(
    sigma_x: np.ndarray | float,
    sigma_y: np.ndarray | float,
    binning: int = SCREEN_BINNING,
) -> np.ndarray:
    """``sigma_x + sigma_y`` with each plane floored at one binned pixel of the screen.

    Parameters
    ----------
    sigma_x, sigma_y : ndarray or float
        Beam sizes in m (broadcast together).
    binning : int
        Camera binning of the screen (see :func:`resolution_floor`).

    Returns
    -------
    ndarray
        ``max(sigma_x, pixel width) + max(sigma_y, pixel height)`` in m.
    """
    width, height = resolution_floor(binning)
    return np.maximum(np.asarray(sigma_x, dtype=float), width) + np.maximum(
        np.asarray(sigma_y, dtype=float), height
    )


def optimality_ratios(
    final: pd.DataFrame, optima: pd.Series | pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray]:
    """Final beam over the best achievable one, in simulation and at the screen's resolution.

    Parameters
    ----------
    final : DataFrame
        One row per problem, indexed by seed: ``focus_objective`` (final
        ``sigma_x + sigma_y`` error, m) and, for the resolution ratio, ``sigma_x`` and
        ``sigma_y`` (m).
    optima : Series or DataFrame, optional
        By seed: the optimum's ``objective`` (a Series of it, or a DataFrame column) and,
        for the resolution ratio, its ``sigma_x`` and ``sigma_y`` (m), as
        :func:`rltutorial.evaluation.optimum.optimum_frame` returns them.

    Returns
    -------
    raw, resolution : ndarray (n,) each
        ``focus_objective / objective`` and :func:`resolved_objective` of the final
        beam over that of the optimum. Empty when an optimum is missing (or not
        positive) for any problem; ``resolution`` is empty when the optima have no
        plane sizes (a Series).
    """
    empty = np.array([])
    if optima is None:
        return empty, empty
    frame = optima.to_frame("objective") if isinstance(optima, pd.Series) else optima
    best = frame.reindex(final.index)
    objective = best["objective"].to_numpy(dtype=float)
    if not np.all(np.isfinite(objective) & (objective > 0)):
        return empty, empty
    raw = final["focus_objective"].to_numpy(dtype=float) / objective
    if not {"sigma_x", "sigma_y"} <= set(best.columns):
        return raw, empty
    resolution = resolved_objective(final["sigma_x"], final["sigma_y"]) / (
        resolved_objective(best["sigma_x"], best["sigma_y"])
    )
    return raw, resolution


def final_steps(episodes: pd.DataFrame) -> pd.DataFrame:
    """The last row of each episode, indexed by episode, with ``initial_*`` columns."""
    grouped = episodes.sort_values("step").groupby("episode")
    finals = grouped.tail(1).set_index("episode").sort_index()
    initial = grouped.head(1).set_index("episode").sort_index()
    for column in ("objective", "focus_objective", "sigma_x", "sigma_y"):
        finals[f"initial_{column}"] = initial[column]
    return finals


def _evaluated(include_position: bool) -> list[str]:
    return list(BEAM_LABELS) if include_position else ["sigma_x", "sigma_y"]


def _rate(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else NAN


def summarize(
    episodes: pd.DataFrame,
    include_position: bool = False,
    sigma_threshold: float = DEFAULT_THRESHOLD,
    position_threshold: float = DEFAULT_THRESHOLD,
    optima: pd.Series | pd.DataFrame | None = None,
    near_optimal_factor: float = NEAR_OPTIMAL_FACTOR,
) -> dict[str, float]:
    """Summary metrics of evaluated episodes, judged at each episode's last step.

    Parameters
    ----------
    episodes : DataFrame
        Rows of :func:`rltutorial.evaluation.rollout` (one per step).
    include_position : bool
        Judge mu_x and mu_y as well as sigma_x and sigma_y.
    sigma_threshold, position_threshold : float
        Largest |error| in m that counts as success for sigmas / positions.
    optima : Series or DataFrame, optional
        The best achievable focus by episode id (see :func:`optimality_ratios`): a
        Series of ``sigma_x + sigma_y`` (m), or a DataFrame with ``objective``,
        ``sigma_x``, ``sigma_y`` (m) for the resolution-aware metrics too. Without it
        (or with episodes it lacks) the optimality metrics are NaN.
    near_optimal_factor : float
        A final beam at most this times the optimum counts as near-optimal.

    Returns
    -------
    dict
        Errors (m) of the evaluated parameters at the end: ``mean_mae``, ``median_mae``,
        ``mae_q10``/``q25``/``q75``/``q90`` (per-episode mean |error|), ``rmse``;
        ``success_rate`` (all within threshold); in simulation ``near_optimal_rate``
        and ``median_optimality_ratio`` (final ``sigma_x + sigma_y`` over the
        optimum's), at the screen's resolution ``resolution_near_optimal_rate`` and
        ``median_resolution_ratio`` (the same with each plane floored at one binned
        pixel, :func:`resolved_objective`);
        behaviour: ``mean_steps``, ``off_screen_rate`` (beam centre off the screen),
        ``early_end_rate`` (terminated before the time limit), ``improved_rate``
        (objective below its start), ``median_final_sigma``/``median_initial_sigma``
        (mean of sigma_x and sigma_y, m), ``mean_pixel_sum`` (share of the beam on the
        screen), ``final_quadrupole_spread`` (standard deviation of the final Q1, Q2, Q3
        over episodes, averaged, 1/m²), ``mean_return``; and ``n_episodes``.
    """
    for name, value in (
        ("sigma_threshold", sigma_threshold),
        ("position_threshold", position_threshold),
    ):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0 (m), got {value!r}.")
    finals = final_steps(episodes)
    labels = _evaluated(include_position)
    limits = np.array(
        [
            sigma_threshold if label.startswith("sigma") else position_threshold
            for label in labels
        ]
    )
    errors = finals[[f"err_{label}" for label in labels]].to_numpy()
    raw, resolution = optimality_ratios(finals, optima)
    return {
        "n_episodes": len(finals),
        **_error_metrics(errors),
        "success_rate": _rate(np.all(errors <= limits, axis=1)),
        **ratio_metrics(raw, resolution, near_optimal_factor),
        **_behaviour_metrics(finals),
    }


def ratio_metrics(
    raw: np.ndarray,
    resolution: np.ndarray,
    near_optimal_factor: float = NEAR_OPTIMAL_FACTOR,
) -> dict[str, float]:
    """Share within ``near_optimal_factor`` and median of both ratios (NaN when empty).

    Returns
    -------
    dict
        ``near_optimal_rate``, ``median_optimality_ratio`` (in simulation),
        ``resolution_near_optimal_rate``, ``median_resolution_ratio`` (at the screen's
        resolution).
    """
    return {
        "near_optimal_rate": _rate(raw <= near_optimal_factor),
        "median_optimality_ratio": float(np.median(raw)) if len(raw) else NAN,
        "resolution_near_optimal_rate": _rate(resolution <= near_optimal_factor),
        "median_resolution_ratio": (
            float(np.median(resolution)) if len(resolution) else NAN
        ),
    }


def _error_metrics(errors: np.ndarray) -> dict[str, float]:
    mae = errors.mean(axis=1)
    return {
        "mean_mae": float(mae.mean()),
        "median_mae": float(np.median(mae)),
        **{f"mae_q{q}": float(np.quantile(mae, q / 100)) for q in (10, 25, 75, 90)},
        "rmse": float(np.sqrt(np.mean(errors**2))),
    }


def _behaviour_metrics(finals: pd.DataFrame) -> dict[str, float]:
    ended_early = finals["done"].to_numpy(bool) & ~finals["truncated"].to_numpy(bool)
    return {
        "mean_steps": float(finals["step"].mean()),
        "off_screen_rate": _rate(~finals["on_screen"].to_numpy(bool)),
        "early_end_rate": _rate(ended_early),
        "improved_rate": _rate(finals["objective"] < finals["initial_objective"]),
        "median_final_sigma": float(
            np.median((finals["sigma_x"] + finals["sigma_y"]) / 2)
        ),
        "median_initial_sigma": float(
            np.median((finals["initial_sigma_x"] + finals["initial_sigma_y"]) / 2)
        ),
        "mean_pixel_sum": float(finals["pixel_sum"].mean()),
        "final_quadrupole_spread": float(finals[["Q1", "Q2", "Q3"]].std(ddof=0).mean()),
        "mean_return": float(finals["return"].mean()) if "return" in finals else NAN,
    }


def _length(value: float) -> str:
    """A length in m as readable text (µm below 1 mm)."""
    if not np.isfinite(value):
        return "n/a"
    return f"{value * 1e6:.0f} µm" if value < 1e-3 else f"{value * 1e3:.1f} mm"


def _off_screen(m: Mapping[str, float]) -> str | None:
    rate = m["off_screen_rate"]
    return (
        f"pushes the beam off the screen in {rate:.0%} of episodes"
        if rate >= 0.25
        else None
    )


def _early_end(m: Mapping[str, float]) -> str | None:
    if m["early_end_rate"] < 0.25:
        return None
    return (
        f"ends {m['early_end_rate']:.0%} of episodes early "
        f"(after {m['mean_steps']:.1f} steps on average)"
    )


def _size_change(m: Mapping[str, float]) -> str | None:
    final, initial = m["median_final_sigma"], m["median_initial_sigma"]
    if final > 2 * initial:
        return f"blows the beam up (median beam size {_length(initial)} at the start, {_length(final)} at the end)"
    if final < 0.5 * initial:
        return (
            f"focuses the beam (median beam size {_length(initial)} → {_length(final)})"
        )
    return None


def _open_loop(m: Mapping[str, float]) -> str | None:
    spread = m.get("final_quadrupole_spread", NAN)
    if not spread < 1.0 or m["off_screen_rate"] >= 0.25:
        return None
    return (
        "ends at nearly the same quadrupole settings whatever the incoming beam "
        f"(spread {spread:.2f} 1/m²)"
    )


def _optimality(m: Mapping[str, float]) -> str | None:
    if not np.isfinite(m["near_optimal_rate"]):
        return None
    note = (
        f"{m['near_optimal_rate']:.0%} of episodes end within {NEAR_OPTIMAL_FACTOR}× the "
        f"best achievable beam size in simulation (median ratio "
        f"{m['median_optimality_ratio']:.2f})"
    )
    rate = m.get("resolution_near_optimal_rate", NAN)
    if np.isfinite(rate):
        note += (
            f", {rate:.0%} at the screen's resolution (median ratio "
            f"{m['median_resolution_ratio']:.2f})"
        )
    return note


def _errors(m: Mapping[str, float]) -> str | None:
    return (
        f"median final error {_length(m['median_mae'])}, "
        f"{m['success_rate']:.0%} of episodes within threshold"
    )


#: Observations about an agent's behaviour, from its evaluation metrics: each function
#: returns a sentence, or None when the behaviour is not shown.
BEHAVIOUR_RULES: list[Callable[[Mapping[str, float]], str | None]] = [
    _off_screen,
    _early_end,
    _size_change,
    _open_loop,
    _optimality,
    _errors,
]


def describe_behaviour(metrics: Mapping[str, float]) -> str:
    """What the evaluated agent does, in one sentence built from :data:`BEHAVIOUR_RULES`."""
    notes = [note for rule in BEHAVIOUR_RULES if (note := rule(metrics))]
    text = "; ".join(notes)
    return text[:1].upper() + text[1:] + "."
