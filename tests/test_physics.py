"""ARES-EA's tracking (Cheetah's own and the closed form) against an independent numpy
transfer-matrix calculation."""

import numpy as np
import pytest
from transfer_matrices import screen_beam

from rltutorial.envs.cheetah import simulate_screen_beam
from rltutorial.envs.ranges import (
    INCOMING_HIGH,
    INCOMING_LOW,
    MAGNET_LIMITS,
    MISALIGNMENT_LIMIT,
)


def _random_problems(n: int, seed: int):
    rng = np.random.default_rng(seed)
    magnets = rng.uniform(-MAGNET_LIMITS, MAGNET_LIMITS, (n, 5))
    incoming = rng.uniform(INCOMING_LOW, INCOMING_HIGH, (n, 11))
    misalignments = rng.uniform(-MISALIGNMENT_LIMIT, MISALIGNMENT_LIMIT, (n, 8))
    return magnets, incoming, misalignments


@pytest.mark.parametrize("tracker", ["cheetah", "optics"])
def test_random_settings_agree_with_transfer_matrices(tracker):
    """50 random magnets, incoming beams and misalignments agree to 1e-6 relative
    (float64), with Cheetah's tracking and with the closed form."""
    magnets, incoming, misalignments = _random_problems(50, seed=1)
    cheetah = simulate_screen_beam(magnets, incoming, misalignments, tracker=tracker)
    reference = np.array(
        [
            screen_beam(*args)
            for args in zip(magnets, incoming, misalignments, strict=True)
        ]
    )
    np.testing.assert_allclose(cheetah, reference, rtol=1e-6, atol=1e-12)


def test_single_and_batched_calls_agree():
    """Tracking one problem at a time equals tracking the batch in one call."""
    magnets, incoming, misalignments = _random_problems(5, seed=2)
    batched = simulate_screen_beam(magnets, incoming, misalignments)
    single = [
        simulate_screen_beam(m, i, d)
        for m, i, d in zip(magnets, incoming, misalignments, strict=True)
    ]
    np.testing.assert_allclose(batched, np.array(single), rtol=1e-12)


def test_magnets_off_is_a_drift():
    """With all magnets at zero the beam drifts: mu grows by L·mu', sigma² by L²·sigma'²."""
    incoming = np.array(
        [1e8, 1e-4, 2e-5, -3e-4, -1e-5, 1e-4, 2e-5, 2e-4, 1e-5, 1e-6, 1e-3]
    )
    length = 0.17504 + 3 * 0.122 + 0.428 + 0.204 + 0.02 + 0.204 + 0.179 + 0.02 + 0.45
    expected = [
        1e-4 + length * 2e-5,
        np.hypot(1e-4, length * 2e-5),
        -3e-4 - length * 1e-5,
        np.hypot(2e-4, length * 1e-5),
    ]
    np.testing.assert_allclose(
        simulate_screen_beam(np.zeros(5), incoming), expected, rtol=1e-9
    )


@pytest.mark.parametrize("index,plane", [(2, 2), (4, 0)])
def test_corrector_moves_only_its_plane(index, plane):
    """A corrector kick moves the centroid in its own plane only, by angle × distance to screen."""
    magnets = np.zeros(5)
    magnets[index] = 1e-3
    kicked = simulate_screen_beam(magnets)
    straight = simulate_screen_beam(np.zeros(5))
    distance = 0.45 if index == 4 else 0.204 + 0.122 + 0.179 + 0.02 + 0.45
    shift = kicked - straight
    assert shift[plane] == pytest.approx(1e-3 * distance, rel=1e-9)
    assert abs(shift[2 - plane]) < 1e-15


def test_screen_misalignment_shifts_reading():
    """A displaced screen reads the beam centre shifted by minus its displacement."""
    misalignments = np.zeros(8)
    misalignments[6:] = [1e-3, -5e-4]
    shifted = simulate_screen_beam(np.zeros(5), misalignments=misalignments)
    straight = simulate_screen_beam(np.zeros(5))
    np.testing.assert_allclose(shifted - straight, [-1e-3, 0, 5e-4, 0], atol=1e-15)
