"""The triplet's closed-form optics: focal-plane settings checked against Cheetah, the
incoming beam inferred from screen readings, and the optima next to the focal settings.
"""

import numpy as np
import pytest

from rltutorial.envs import simulate_screen_beam
from rltutorial.envs.focal import FOCAL_NAMES, focal_settings, infer_incoming
from rltutorial.envs.optics import focus_sigmas, transfer_rows
from rltutorial.evaluation.optimum import optimum_table

#: An incoming beam (11 numbers: energy eV, positions m, angles rad, sizes m,
#: divergences rad, sigma_s m, sigma_p) with different divergences in the two planes.
INCOMING = np.array(
    [1.2e8, 1e-4, -2e-5, -3e-4, 1e-5, 2e-4, 3e-5, 1e-4, 1e-5, 1e-5, 5e-4]
)


def _magnets(quadrupoles: np.ndarray) -> np.ndarray:
    """Q1, Q2, CV, Q3, CH with the correctors at zero."""
    return np.array([quadrupoles[0], quadrupoles[1], 0.0, quadrupoles[2], 0.0])


def test_focal_settings_have_the_documented_values():
    """A± and B± at |Q1| = 72: Q2 ≈ ∓24.90 / ±32.67, Q3 ≈ ±24.20 / ∓24.35, mirror pairs."""
    settings = focal_settings()
    assert list(settings) == list(FOCAL_NAMES)
    np.testing.assert_allclose(settings["A+"], [72.0, -24.904, 24.203], atol=1e-3)
    np.testing.assert_allclose(settings["B+"], [72.0, 32.670, -24.350], atol=1e-3)
    np.testing.assert_allclose(settings["A-"], -settings["A+"])
    np.testing.assert_allclose(settings["B-"], -settings["B+"])


def test_focal_settings_put_the_screen_in_the_focal_plane_of_both_planes():
    """R11 = R33 = 0 in the model, and in Cheetah the spot ignores the incoming sizes."""
    wide = INCOMING.copy()
    wide[[5, 7]] *= 5.0  # five times larger incoming sizes, same divergences
    for name, setting in focal_settings().items():
        rows = transfer_rows(setting)
        assert abs(rows[0]) < 1e-9 and abs(rows[2]) < 1e-9, name
        narrow_beam = simulate_screen_beam(_magnets(setting), INCOMING)
        wide_beam = simulate_screen_beam(_magnets(setting), wide)
        np.testing.assert_allclose(wide_beam[[1, 3]], narrow_beam[[1, 3]], rtol=1e-6)
        expected = np.abs(rows[[1, 3]]) * INCOMING[[6, 8]]  # |R12| σx', |R34| σy'
        np.testing.assert_allclose(narrow_beam[[1, 3]], expected, rtol=1e-6)


def test_focal_settings_are_fresh_copies():
    """Changing a returned setting does not change the next call's."""
    focal_settings()["A+"][0] = 0.0
    assert focal_settings()["A+"][0] == 72.0


def test_a_plus_wins_exactly_when_the_horizontal_divergence_is_larger():
    """A+ and A− are mirror images, so A+ gives the smaller spot iff σx' > σy'."""
    settings = np.array([focal_settings()["A+"], focal_settings()["A-"]])
    for sigma_xp, sigma_yp in ((3e-5, 1e-5), (1e-5, 3e-5)):
        beam = INCOMING.copy()
        beam[[6, 8]] = sigma_xp, sigma_yp
        spots = focus_sigmas(settings, np.tile(beam, (2, 1))).sum(-1)
        assert (spots[0] < spots[1]) == (sigma_xp > sigma_yp)


def test_infer_incoming_recovers_the_beam_from_two_cheetah_readings():
    """Readings at zero magnets and at A+ (tracked by Cheetah) give the incoming
    sigma_x, sigma_xp, sigma_y, sigma_yp to 1e-6."""
    settings = np.array([np.zeros(3), focal_settings()["A+"]])
    readings = np.array(
        [simulate_screen_beam(_magnets(q), INCOMING)[[1, 3]] for q in settings]
    )
    np.testing.assert_allclose(
        infer_incoming(settings, readings), INCOMING[[5, 6, 7, 8]], rtol=1e-6
    )


def test_infer_incoming_rejects_too_few_or_bad_readings():
    """One reading, mismatched shapes or NaN raise ValueError naming the problem."""
    with pytest.raises(ValueError, match="n >= 2"):
        infer_incoming(np.zeros((1, 3)), np.ones((1, 2)))
    with pytest.raises(ValueError, match="shape"):
        infer_incoming(np.zeros((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="finite"):
        infer_incoming(np.zeros((2, 3)), np.array([[1.0, np.nan], [1.0, 1.0]]))


def test_every_tabulated_optimum_lies_next_to_a_focal_setting():
    """Each optimum of the 300 problems is within 0.5 1/m² of A±, B± (|Q1| = 72)."""
    table = optimum_table()
    optima = table[["q1", "q2", "q3"]].to_numpy()
    settings = np.array(list(focal_settings().values()))
    distance = np.abs(optima[:, None, :] - settings[None]).max(-1).min(-1)
    assert np.all(distance < 0.5)
    nearest = np.abs(optima[:, None, :] - settings[None]).max(-1).argmin(-1)
    assert set(np.unique(nearest)) == {0, 1, 2, 3}  # all four branches occur
