"""The camera model of the diagnostic screen AREABSCR1.

The screen sees the transverse Gaussian beam that Cheetah tracks. Each pixel value is the
share of the beam's charge that lands on that pixel, integrated exactly over the pixel
(the beam has no x–y coupling in this lattice, so the 2D integral factorises). The sum of
all pixels is therefore the share of the beam that hits the screen, which can also be
computed directly from the beam moments, without an image: :func:`fraction_on_screen`.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from rltutorial.envs.ranges import (
    SCREEN_BINNING,
    SCREEN_HALF_SIZE,
    SCREEN_PIXEL_SIZE,
    SCREEN_RESOLUTION,
)

__all__ = [
    "screen_image",
    "fraction_on_screen",
    "is_on_screen",
]

#: Smallest beam size in m used when integrating (avoids dividing by zero for a point beam).
MIN_SIGMA = 1e-12


def pixel_edges(binning: int = SCREEN_BINNING) -> tuple[np.ndarray, np.ndarray]:
    """Pixel edges of the binned camera.

    Parameters
    ----------
    binning : int
        Camera binning (pixels per read-out pixel along each axis).

    Returns
    -------
    x_edges : ndarray (W + 1,)
        Horizontal edges in m, left to right.
    y_edges : ndarray (H + 1,)
        Vertical edges in m, bottom to top.
    """
    if not isinstance(binning, (int, np.integer)) or binning < 1:
        raise ValueError(f"binning must be a positive integer, got {binning!r}.")
    width, height = (r // binning for r in SCREEN_RESOLUTION)
    hx, hy = (
        width * binning * SCREEN_PIXEL_SIZE[0] / 2,
        height * binning * SCREEN_PIXEL_SIZE[1] / 2,
    )
    return np.linspace(-hx, hx, width + 1), np.linspace(-hy, hy, height + 1)


def _axis_shares(edges: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    return np.diff(ndtr((edges - mu) / max(float(sigma), MIN_SIGMA)))


def screen_image(beam: np.ndarray, binning: int = SCREEN_BINNING) -> np.ndarray:
    """Image of a Gaussian beam on the screen.

    Parameters
    ----------
    beam : ndarray (4,)
        mu_x, sigma_x, mu_y, sigma_y in m, in screen coordinates.
    binning : int
        Camera binning.

    Returns
    -------
    ndarray (H, W)
        Share of the beam's charge per pixel (dimensionless, sums to the share on screen);
        row 0 is the bottom of the screen, column 0 its left edge.
    """
    mu_x, sigma_x, mu_y, sigma_y = np.asarray(beam, dtype=float)
    x_edges, y_edges = pixel_edges(binning)
    return np.outer(
        _axis_shares(y_edges, mu_y, sigma_y), _axis_shares(x_edges, mu_x, sigma_x)
    )


def fraction_on_screen(beam: np.ndarray) -> np.ndarray:
    """Share of a Gaussian beam that hits the screen, from its moments alone.

    Parameters
    ----------
    beam : ndarray (..., 4)
        mu_x, sigma_x, mu_y, sigma_y in m.

    Returns
    -------
    ndarray (...)
        Value in [0, 1]; equals the pixel sum of :func:`screen_image`.
    """
    beam = np.asarray(beam, dtype=float)
    mu, sigma = beam[..., [0, 2]], np.maximum(beam[..., [1, 3]], MIN_SIGMA)
    upper = ndtr((SCREEN_HALF_SIZE - mu) / sigma)
    lower = ndtr((-SCREEN_HALF_SIZE - mu) / sigma)
    return np.prod(upper - lower, axis=-1)


def is_on_screen(beam: np.ndarray) -> np.ndarray:
    """Whether the beam centre lies on the screen.

    Parameters
    ----------
    beam : ndarray (..., 4)
        mu_x, sigma_x, mu_y, sigma_y in m.

    Returns
    -------
    ndarray of bool (...)
    """
    beam = np.asarray(beam, dtype=float)
    return np.all(np.abs(beam[..., [0, 2]]) <= SCREEN_HALF_SIZE, axis=-1)
