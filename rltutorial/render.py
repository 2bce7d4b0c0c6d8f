"""Pictures of the screen: the camera image with target and beam ellipses, as RGB arrays.

Rendering uses matplotlib's Agg canvas directly (no pyplot state, no OpenCV), so it works
in notebooks, in scripts and on headless machines alike.
"""

from __future__ import annotations

import numpy as np

from rltutorial.envs.ranges import BEAM_LABELS, MAGNET_LABELS, SCREEN_HALF_SIZE

__all__ = [
    "render_screen",
    "OUTSIDE",
]

#: Readout colours: within threshold, outside threshold, no threshold set.
WITHIN, OUTSIDE, UNCHECKED = "tab:green", "tab:red", "0.35"
_MICRO = 1e6


def readout_colours(
    beam: np.ndarray, target: np.ndarray, thresholds: np.ndarray
) -> list[str]:
    """Colour per beam parameter: green within its threshold, red outside, grey if unset.

    Parameters
    ----------
    beam, target : ndarray (4,)
        mu_x, sigma_x, mu_y, sigma_y in m.
    thresholds : ndarray (4,)
        Thresholds in m; NaN where unset.
    """
    errors = np.abs(np.asarray(beam) - np.asarray(target))
    return [
        UNCHECKED if not np.isfinite(t) else (WITHIN if e <= t else OUTSIDE)
        for e, t in zip(errors, thresholds, strict=True)
    ]


def _ellipse(beam: np.ndarray, colour: str, label: str):
    from matplotlib.patches import Ellipse

    mu_x, sigma_x, mu_y, sigma_y = np.asarray(beam) * 1e3
    return Ellipse(
        (mu_x, mu_y), 4 * sigma_x, 4 * sigma_y, fill=False, lw=2, ec=colour, label=label
    )


def _readout_text(axes, beam, target, thresholds, magnets, step) -> None:
    colours = readout_colours(beam, target, thresholds)
    axes.axis("off")
    axes.text(0, 1.0, f"step {step}", fontsize=11, weight="bold", va="top")
    for row, (label, value, goal, colour) in enumerate(
        zip(BEAM_LABELS, beam, target, colours, strict=True)
    ):
        text = f"{label:8s}{value * _MICRO:8.1f} µm  (target {goal * _MICRO:.1f})"
        axes.text(
            0,
            0.86 - 0.1 * row,
            text,
            color=colour,
            family="monospace",
            fontsize=9,
            va="top",
        )
    units = ("1/m²", "1/m²", "mrad", "1/m²", "mrad")
    scale = (1, 1, 1e3, 1, 1e3)
    for row, (label, value, unit, factor) in enumerate(
        zip(MAGNET_LABELS, magnets, units, scale, strict=True)
    ):
        text = f"{label:8s}{value * factor:8.3f} {unit}"
        axes.text(0, 0.40 - 0.08 * row, text, family="monospace", fontsize=9, va="top")


def render_screen(
    image: np.ndarray,
    beam: np.ndarray,
    target: np.ndarray,
    thresholds: np.ndarray,
    magnets: np.ndarray,
    step: int = 0,
    dpi: int = 80,
) -> np.ndarray:
    """Draw the screen image, the 2σ ellipses of target (blue) and beam (red), and readouts.

    Parameters
    ----------
    image : ndarray (H, W)
        Screen image, row 0 at the bottom (see :func:`rltutorial.envs.screen.screen_image`).
    beam, target : ndarray (4,)
        mu_x, sigma_x, mu_y, sigma_y in m.
    thresholds : ndarray (4,)
        Thresholds in m (NaN where unset) colouring the readouts.
    magnets : ndarray (5,)
        Q1, Q2 (1/m²), CV (rad), Q3 (1/m²), CH (rad).
    step : int
        Step number shown in the title.
    dpi : int
        Resolution of the picture (80 gives 720 × 300 pixels).

    Returns
    -------
    ndarray (H, W, 3) of uint8
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 3.75), dpi=dpi)
    canvas = FigureCanvasAgg(figure)
    grid = figure.add_gridspec(
        1, 2, width_ratios=(1.7, 1), left=0.07, right=0.98, bottom=0.14, top=0.93
    )
    screen = figure.add_subplot(grid[0])
    hx, hy = SCREEN_HALF_SIZE * 1e3
    screen.imshow(
        image,
        origin="lower",
        extent=(-hx, hx, -hy, hy),
        cmap="magma",
        vmin=0.0,
        vmax=max(float(np.max(image)), 1e-30),
        interpolation="nearest",
        aspect="equal",
    )
    screen.add_patch(_ellipse(target, "tab:blue", "target (2σ)"))
    screen.add_patch(_ellipse(beam, "tab:red", "beam (2σ)"))
    screen.set(
        xlim=(-hx, hx),
        ylim=(-hy, hy),
        xlabel="x (mm)",
        ylabel="y (mm)",
        title="AREABSCR1",
    )
    screen.legend(loc="upper right", fontsize=8, framealpha=0.6)
    _readout_text(figure.add_subplot(grid[1]), beam, target, thresholds, magnets, step)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
