"""Screen pictures (rltutorial.render): each frame shows its own state only."""

import numpy as np

from rltutorial.envs.screen import screen_image
from rltutorial.render import render_screen

THRESHOLDS = np.array([np.nan, 2e-5, np.nan, 2e-5])


def _frame(beam, magnets, step, dpi=80):
    beam = np.asarray(beam, dtype=float)
    return render_screen(
        screen_image(beam),
        beam,
        np.zeros(4),
        THRESHOLDS,
        np.asarray(magnets),
        step,
        dpi,
    )


def test_frames_do_not_carry_over():
    """A, B, A again: the third picture equals the first, pixel for pixel, and B
    differs from A (image, ellipse and readouts are redrawn each time)."""
    a = ([5e-4, 1e-4, -2e-4, 2e-4], [10.0, -10.0, 1e-3, 5.0, 0.0], 3)
    b = ([-1e-3, 3e-4, 1e-3, 5e-5], [-50.0, 20.0, 0.0, -5.0, 2e-3], 17)
    first, second, third = _frame(*a), _frame(*b), _frame(*a)
    assert first.shape == (300, 720, 3) and first.dtype == np.uint8
    np.testing.assert_array_equal(first, third)
    assert (first != second).any(axis=-1).mean() > 0.01


def test_readouts_change_with_the_numbers():
    """Only the readout panel changes when just the step number changes."""
    beam, magnets = [5e-4, 1e-4, -2e-4, 2e-4], [10.0, -10.0, 1e-3, 5.0, 0.0]
    changed = (_frame(beam, magnets, 1) != _frame(beam, magnets, 2)).any(axis=-1)
    columns = np.flatnonzero(changed.any(axis=0))
    assert columns.size and columns.min() > 720 * 0.6  # right of the screen image


def test_each_resolution_has_its_own_figure():
    """Another dpi gives a picture of the matching size."""
    picture = _frame([0, 1e-4, 0, 1e-4], np.zeros(5), 0, dpi=64)
    assert picture.shape == (240, 576, 3)
