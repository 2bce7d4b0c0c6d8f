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


def test_the_camera_image_lands_where_its_axes_say():
    """A bright patch of the camera image at (x, y) = (+2 mm, -1 mm) is drawn at the
    display pixel that matplotlib's own axes transform gives for that point, in the
    colour map's brightest colour; the rest of the screen shows its darkest colour."""
    import matplotlib

    from rltutorial.envs.ranges import SCREEN_HALF_SIZE
    from rltutorial.render import _CACHE

    image = np.zeros((200, 300))
    hx, hy = SCREEN_HALF_SIZE * 1e3  # mm
    row = int((-1.0 + hy) / (2 * hy) * 200)  # row 0 at the bottom
    column = int((2.0 + hx) / (2 * hx) * 300)
    image[row - 3 : row + 4, column - 3 : column + 4] = 1.0
    far = np.full(4, 1.0)  # ellipses far off the screen
    picture = render_screen(image, far, far, THRESHOLDS, np.zeros(5), 0, 80)
    figure = _CACHE.figures[80]
    px, py = figure.screen.transData.transform((2.0, -1.0))
    bright = matplotlib.colormaps["magma"](1.0)[:3]
    dark = matplotlib.colormaps["magma"](0.0)[:3]
    pixel = picture[round(picture.shape[0] - py), round(px)] / 255
    np.testing.assert_allclose(pixel, bright, atol=2 / 255)
    px0, py0 = figure.screen.transData.transform((-2.0, 1.0))
    pixel = picture[round(picture.shape[0] - py0), round(px0)] / 255
    np.testing.assert_allclose(pixel, dark, atol=2 / 255)
