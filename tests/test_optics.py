"""The closed-form optics (rltutorial.envs.optics) against Cheetah's own tracking."""

import numpy as np
import pytest

from rltutorial.envs.cheetah import simulate_screen_beam as _simulate
from rltutorial.envs.optics import screen_beam
from rltutorial.envs.ranges import INCOMING_HIGH, INCOMING_LOW, MAGNET_LIMITS


def simulate_screen_beam(*args):
    """Cheetah's own tracking (the reference)."""
    return _simulate(*args, tracker="cheetah")


@pytest.fixture(scope="module")
def problems():
    """1,000 random settings, incoming beams and misalignments (±2 mm)."""
    rng = np.random.default_rng(7)
    n = 1000
    magnets = rng.uniform(-1, 1, (n, 5)) * MAGNET_LIMITS
    magnets[:20, [0, 1, 3]] = 0.0  # quadrupoles switched off exactly
    magnets[20:40] = magnets[20:40] * 1e-9  # nearly off
    incoming = rng.uniform(INCOMING_LOW, INCOMING_HIGH, (n, 11))
    misalignments = rng.uniform(-2e-3, 2e-3, (n, 8))
    misalignments[:50] = 0.0
    return magnets, incoming, misalignments


def test_equals_cheetah_to_1e12(problems):
    """Every beam parameter agrees with Cheetah's tracking to 1e-12 relative."""
    fast = screen_beam(*problems)
    reference = simulate_screen_beam(*problems)
    np.testing.assert_allclose(fast, reference, rtol=1e-12, atol=1e-18)


def test_broadcasts_like_cheetah(problems):
    """Single settings, default beams and mixed batch shapes give Cheetah's shapes."""
    magnets, incoming, misalignments = problems
    for args in (
        (magnets[0],),
        (magnets[:3],),
        (magnets[:6].reshape(2, 3, 5), incoming[0]),
        (magnets[0], incoming[:4], misalignments[:4]),
    ):
        fast, reference = screen_beam(*args), simulate_screen_beam(*args)
        assert fast.shape == reference.shape
        np.testing.assert_allclose(fast, reference, rtol=1e-12, atol=1e-18)


def test_a_kick_moves_only_its_plane():
    """CH moves the beam horizontally, CV vertically; sizes stay (linear optics)."""
    base = screen_beam(np.zeros(5))
    horizontal = screen_beam(np.array([0, 0, 0, 0, 1e-3]))
    vertical = screen_beam(np.array([0, 0, 1e-3, 0, 0]))
    assert horizontal[0] > base[0] and horizontal[2] == base[2]
    assert vertical[2] > base[2] and vertical[0] == base[0]
    np.testing.assert_allclose(horizontal[[1, 3]], base[[1, 3]], rtol=1e-14)


def test_the_default_tracker_is_the_closed_form(problems):
    """simulate_screen_beam uses the closed form unless asked for Cheetah."""
    np.testing.assert_array_equal(_simulate(*problems), screen_beam(*problems))
    with pytest.raises(ValueError, match="'cheetah', 'optics'"):
        _simulate(*problems, tracker="bmad")


def test_tracking_block_switches_the_default(problems):
    """Inside tracking("cheetah") calls without a tracker use Cheetah; after it, the
    closed form again."""
    from rltutorial.envs.cheetah import tracking

    magnets = problems[0][:3]
    with tracking("cheetah"):
        inside = _simulate(magnets)
    np.testing.assert_array_equal(inside, _simulate(magnets, tracker="cheetah"))
    np.testing.assert_array_equal(_simulate(magnets), screen_beam(magnets))
