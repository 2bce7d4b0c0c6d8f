"""Figures for training and evaluation: each function returns a Figure, never shows it.

- :func:`plot_training_history`: episode reward and length during training.
- :func:`plot_evaluation`: beam errors against step over many episodes, with spread.
- :func:`plot_comparison`: several agents side by side.
- :func:`plot_episode_strip`, :func:`episode_frames`, :func:`animate_episode`: the screen
  during one episode, as a strip of pictures or an animated GIF.
- :func:`show_video`: show a GIF inline in a notebook (kept in exported slides).

Figures are built with ``matplotlib.figure.Figure`` (no global pyplot state); in a
notebook the returned figure is displayed as the cell's result.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rltutorial.envs.ranges import BEAM_LABELS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from rltutorial.video import Recording

__all__ = [
    "plot_training_history",
    "plot_evaluation",
    "plot_comparison",
    "episode_frames",
    "plot_episode_strip",
    "animate_episode",
    "show_video",
]

_MICRO = 1e6


def _figure(rows: int, columns: int, width: float = 10.0, height: float = 3.2):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    return figure, axes


def _monitor(source: Any) -> pd.DataFrame:
    """Monitor rows from an agent, a CSV path or a DataFrame."""
    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, Path) or (
        isinstance(source, str) and source.endswith(".csv")
    ):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"No monitor file at {path}.")
        return pd.read_csv(path, comment="#")
    if hasattr(source, "monitor"):
        return source.monitor()
    raise ValueError(
        "Expected an Agent (load one with rltutorial.load_agent), a monitor CSV path "
        f"or a DataFrame, got {type(source).__name__}."
    )


def plot_training_history(agent_or_monitor: Any, window: int = 100) -> Figure:
    """Episode reward and length during training, against wall time and timesteps.

    Parameters
    ----------
    agent_or_monitor : Agent, Path or DataFrame
        An agent, a ``monitor.csv`` path, or its rows (columns ``r``
        reward, ``l`` length in steps, ``t`` wall time in s; optionally ``episodes``,
        the number of episodes a row averages, as in an agent folder).
    window : int
        Episodes in the rolling mean drawn over the raw values.

    Returns
    -------
    Figure
    """
    monitor = _monitor(agent_or_monitor).sort_values("t")
    timesteps = (monitor["l"] * monitor.get("episodes", 1)).cumsum()
    figure, axes = _figure(2, 2)
    for row, (column, label) in enumerate(
        (("r", "episode reward"), ("l", "episode length"))
    ):
        smooth = monitor[column].rolling(window, min_periods=1).mean()
        for col, (x, xlabel) in enumerate(
            ((monitor["t"] / 60, "wall time (min)"), (timesteps, "timesteps"))
        ):
            axis = axes[row, col]
            axis.plot(x, monitor[column], color="0.8", lw=0.5, label="episodes")
            axis.plot(x, smooth, color="tab:blue", label=f"mean of {window}")
            axis.set(xlabel=xlabel, ylabel=label)
        axes[row, 1].ticklabel_format(axis="x", style="sci", scilimits=(3, 3))
    axes[0, 0].legend(loc="best", fontsize=8)
    return figure


def _evaluated_labels(include_position: bool) -> list[str]:
    return list(BEAM_LABELS) if include_position else ["sigma_x", "sigma_y"]


def _errors_by_step(episodes: pd.DataFrame, column: str) -> pd.DataFrame:
    """Error per (step, episode); finished episodes keep their final value."""
    table = episodes.pivot_table(index="step", columns="episode", values=column)
    return table.ffill()


def plot_evaluation(
    evaluation: Any,
    include_position: bool | None = None,
    quantiles: tuple[float, float] = (0.1, 0.9),
) -> Figure:
    """Beam errors against step: median over episodes and a quantile band.

    Parameters
    ----------
    evaluation : Evaluation or DataFrame
        Result of :func:`rltutorial.evaluate_agent`, or its ``episodes``.
    include_position : bool, optional
        Show mu_x and mu_y too; defaults to the evaluation's setting.
    quantiles : (float, float)
        Lower and upper quantile of the band.

    Returns
    -------
    Figure
        One panel per beam parameter, errors in µm on a log scale, with the success
        threshold as a dashed line. Episodes that ended early keep their last value.
    """
    settings = getattr(evaluation, "settings", {})
    episodes = getattr(evaluation, "episodes", evaluation)
    if include_position is None:
        include_position = bool(settings.get("include_position", False))
    labels = _evaluated_labels(include_position)
    figure, axes = _figure(1, len(labels), width=4.0 * len(labels), height=3.4)
    for axis, label in zip(axes[0], labels, strict=True):
        errors = _errors_by_step(episodes, f"err_{label}") * _MICRO
        low, high = (
            errors.quantile(quantiles[0], axis=1),
            errors.quantile(quantiles[1], axis=1),
        )
        axis.fill_between(
            errors.index,
            low,
            high,
            alpha=0.3,
            label=f"{quantiles[0]:.0%}–{quantiles[1]:.0%}",
        )
        axis.plot(errors.index, errors.median(axis=1), label="median")
        threshold = settings.get(
            "sigma_threshold" if "sigma" in label else "position_threshold"
        )
        if threshold:
            axis.axhline(
                threshold * _MICRO, ls="--", color="tab:green", label="threshold"
            )
        axis.set(yscale="log", xlabel="step", ylabel=f"|error {label}| (µm)")
    axes[0, 0].legend(fontsize=8)
    name = getattr(evaluation, "name", None)
    if name:
        figure.suptitle(f"{name}: {episodes['episode'].nunique()} episodes")
    return figure


def plot_comparison(table: pd.DataFrame) -> Figure:
    """Agents side by side: final error, success and near-optimal rates, episode length.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`rltutorial.compare_agents` (one row per agent).

    Returns
    -------
    Figure
    """
    names = [str(name) for name in table.index]
    y = np.arange(len(names))
    figure, axes = _figure(1, 3, width=12.0, height=0.5 * len(names) + 1.6)
    median = table["median_mae"] * _MICRO
    spread = np.vstack(
        [median - table["mae_q25"] * _MICRO, table["mae_q75"] * _MICRO - median]
    )
    axes[0, 0].barh(y, median, xerr=spread, color="tab:blue")
    axes[0, 0].set(xscale="log", xlabel="final error (µm): median, 25–75 %")
    for offset, column, colour in (
        (-0.2, "success_rate", "tab:green"),
        (0.2, "near_optimal_rate", "tab:orange"),
    ):
        axes[0, 1].barh(
            y + offset, table[column].fillna(0), height=0.4, color=colour, label=column
        )
    axes[0, 1].set(xlim=(0, 1), xlabel="share of episodes")
    axes[0, 1].legend(fontsize=8, loc="lower right")
    axes[0, 2].barh(y, table["mean_steps"], color="0.5")
    axes[0, 2].set(xlabel="mean episode length (steps)")
    for axis in axes[0]:
        axis.set_yticks(y, names if axis is axes[0, 0] else [""] * len(names))
        axis.invert_yaxis()
    return figure


def episode_frames(
    episode: pd.DataFrame,
    thresholds: Sequence[float] | None = None,
    steps: Sequence[int] | None = None,
    dpi: int = 64,
) -> list[np.ndarray]:
    """Pictures of the screen at each step of one episode.

    Parameters
    ----------
    episode : DataFrame
        Rows of one episode (e.g. :meth:`Agent.run_episode`): beam, target and magnets.
    thresholds : sequence of 4 float, optional
        Thresholds in m colouring the readouts (NaN: unset).
    steps : sequence of int, optional
        Which steps to draw (default all).
    dpi : int
        Resolution (64 gives 576 × 240 pixels).

    Returns
    -------
    list of ndarray (H, W, 3) uint8
    """
    from rltutorial.envs.ranges import MAGNET_LABELS
    from rltutorial.envs.screen import screen_image
    from rltutorial.render import render_screen

    if episode["episode"].nunique() > 1:
        raise ValueError(
            "episode_frames draws one episode; select it with df[df.episode == i]."
        )
    limits = np.full(4, np.nan) if thresholds is None else np.asarray(thresholds, float)
    rows = episode if steps is None else episode[episode["step"].isin(list(steps))]
    frames = []
    for _, row in rows.iterrows():
        beam = row[list(BEAM_LABELS)].to_numpy(float)
        target = row[[f"target_{label}" for label in BEAM_LABELS]].to_numpy(float)
        magnets = row[list(MAGNET_LABELS)].to_numpy(float)
        frames.append(
            render_screen(
                screen_image(beam), beam, target, limits, magnets, int(row["step"]), dpi
            )
        )
    return frames


def plot_episode_strip(
    episode: pd.DataFrame, n: int = 4, thresholds: Sequence[float] | None = None
) -> Figure:
    """``n`` screen pictures spread evenly over one episode, first to last step."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n!r}.")
    available = episode["step"].to_numpy()
    steps = sorted(
        {
            int(available[i])
            for i in np.linspace(0, len(available) - 1, n).round().astype(int)
        }
    )
    frames = episode_frames(episode, thresholds, steps, dpi=80)
    figure, axes = _figure(len(frames), 1, width=9.0, height=3.75)
    for axis, frame in zip(axes[:, 0], frames, strict=True):
        axis.imshow(frame)
        axis.axis("off")
    return figure


def animate_episode(
    episode: pd.DataFrame,
    path: str | Path,
    fps: float = 4.0,
    thresholds: Sequence[float] | None = None,
) -> Path:
    """Write one episode as an animated GIF of the screen and return its path."""
    from rltutorial.video import write_gif

    return write_gif(episode_frames(episode, thresholds), path, fps)


def show_video(path: str | Path, caption: str | None = None) -> Recording:
    """Show a GIF inline in a notebook and in exported slides.

    Parameters
    ----------
    path : str or Path
        The GIF file, e.g. ``recordings/<agent name>/episode-0.gif``.
    caption : str, optional
        What the recording shows; by default ``<folder>/<file name>``.

    Returns
    -------
    rltutorial.video.Recording
        Displayed as an HTML ``<img>`` holding the GIF; its text form names the caption,
        frame count, duration and size.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not a GIF.
    """
    from rltutorial.video import Recording

    return Recording.from_file(path, caption)
