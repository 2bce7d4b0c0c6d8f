"""Physics inputs checked at the edges: magnets, incoming beams, misalignments, targets
and actions are refused by name, never clipped, broadcast or tracked into NaN."""

import numpy as np
import pytest

from rltutorial import make_env
from rltutorial.envs import AresEACheetah, simulate_screen_beam
from rltutorial.envs.checks import (
    check_action,
    check_incoming,
    check_magnets,
    check_misalignments,
    check_target,
)
from rltutorial.envs.ranges import (
    CORRECTOR_ANGLE_LIMIT,
    DEFAULT_INCOMING,
    INCOMING_LABELS,
    QUAD_K1_LIMIT,
)
from rltutorial.wrappers import FilterAction

POSITIVE_INCOMING = [
    label for label in INCOMING_LABELS if label == "energy" or "sigma" in label
]


def _incoming(**changes: float) -> np.ndarray:
    """The default incoming beam with some entries changed by name."""
    beam = DEFAULT_INCOMING.copy()
    for name, value in changes.items():
        beam[INCOMING_LABELS.index(name)] = value
    return beam


@pytest.mark.parametrize(
    "magnets,match",
    [
        ([1e4, 0, 0, 0, 0], r"magnets: Q1 = 10000 1/m² is outside \[-72, 72\] 1/m²"),
        ([0, 0, 0, -73.0, 0], r"Q3 = -73 1/m² is outside \[-72, 72\]"),
        ([0, 0, 1.0, 0, 0], r"CV = 1 rad is outside \[-0.0061782, 0.0061782\] rad"),
        ([0, np.nan, 0, 0, 0], r"Q2 = nan is not a finite number"),
        ([0, 0, 0, 0, np.inf], r"CH = inf is not a finite number"),
        ([0, 0, 0], r"last axis of 5 \(Q1, Q2, CV, Q3, CH\)"),
    ],
)
def test_simulate_screen_beam_refuses_bad_magnets(magnets, match):
    """Beyond ±72 1/m², beyond ±6.1782e-3 rad, NaN, inf or a wrong length: a
    ValueError naming the magnet and the limits (k1 = 1e4 used to give sigma_y = 3 km,
    NaN a NaN beam)."""
    with pytest.raises(ValueError, match=match):
        simulate_screen_beam(magnets)


def test_simulate_screen_beam_names_the_bad_row_of_a_batch():
    """In a batch the message names the batch index of the first bad setting."""
    magnets = np.zeros((4, 5))
    magnets[2, 1] = 100.0
    with pytest.raises(ValueError, match=r"Q2 at index \(2,\) = 100 1/m²"):
        simulate_screen_beam(magnets)


def test_settings_at_the_limits_pass_also_through_float32():
    """Settings exactly at the limits, also rounded through float32 (observations), are
    accepted and tracked to a finite beam."""
    limits = np.array(
        [QUAD_K1_LIMIT, -QUAD_K1_LIMIT, CORRECTOR_ANGLE_LIMIT, QUAD_K1_LIMIT, 0.0]
    )
    for magnets in (limits, limits.astype(np.float32), -limits.astype(np.float32)):
        assert np.all(np.isfinite(simulate_screen_beam(magnets)))


@pytest.mark.parametrize("label", POSITIVE_INCOMING)
@pytest.mark.parametrize("value", [0.0, -1e-4])
def test_simulate_screen_beam_refuses_non_positive_energy_sizes_spreads(label, value):
    """Energy, sizes and spreads <= 0 are refused by name (a negative energy used to
    be tracked silently, a zero size failed deep in Cheetah's covariance check)."""
    with pytest.raises(ValueError, match=rf"incoming: {label} = .* must be > 0"):
        simulate_screen_beam(np.zeros(5), _incoming(**{label: value}))


@pytest.mark.parametrize(
    "incoming,match",
    [
        (_incoming(mu_x=np.nan), r"incoming: mu_x = nan is not a finite number"),
        (_incoming(energy=np.inf), r"incoming: energy = inf is not a finite"),
        (DEFAULT_INCOMING[:10], r"last axis of 11"),
    ],
)
def test_simulate_screen_beam_refuses_non_finite_incoming(incoming, match):
    """NaN or inf in the incoming beam, or 10 numbers instead of 11, are refused."""
    with pytest.raises(ValueError, match=match):
        simulate_screen_beam(np.zeros(5), incoming)


@pytest.mark.parametrize(
    "misalignments,match",
    [
        ([np.nan] + [0.0] * 7, r"misalignments: Q1 x = nan is not a finite"),
        ([0.0] * 7 + [1.0], r"screen y = 1 m is outside \[-0.01, 0.01\] m"),
    ],
)
def test_simulate_screen_beam_refuses_bad_misalignments(misalignments, match):
    """NaN misalignments (a NaN beam before) and offsets beyond ±1 cm are refused."""
    with pytest.raises(ValueError, match=match):
        simulate_screen_beam(np.zeros(5), None, misalignments)


def test_checks_return_float64_copies():
    """Each check returns a float64 copy of valid input, never the caller's array."""
    for check, values in [
        (check_magnets, np.zeros(5, np.float32)),
        (check_incoming, DEFAULT_INCOMING),
        (check_misalignments, np.zeros(8)),
        (check_target, np.zeros(4)),
    ]:
        checked = check(values)
        assert checked.dtype == np.float64 and checked is not values
        np.testing.assert_array_equal(checked, values)


def test_reset_refuses_magnets_beyond_the_limits_instead_of_clipping():
    """options={'magnets': [1e9, ...]} raises naming Q1 (it was clipped to 72)."""
    env = AresEACheetah()
    with pytest.raises(ValueError, match=r"options\['magnets'\]: Q1 = 1e\+09 1/m²"):
        env.reset(seed=0, options={"magnets": [1e9, 0, 0, 0, 0]})


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"magnet_init_values": [1e9, 0, 0, 0, 0]}, r"magnet_init_values: Q1 = 1e\+09"),
        (
            {
                "action_mode": "direct_unidirectional_quads",
                "magnet_init_values": [10.0, 10.0, 0, 10.0, 0],
            },
            r"magnet_init_values: Q2 = 10 1/m² is outside \[-72, 0\] 1/m²",
        ),
        (
            {"incoming_mode": "constant", "incoming_values": _incoming(energy=-1e6)},
            r"incoming_values: energy = -1e\+06 eV must be > 0",
        ),
        (
            {"misalignment_values": [0.5] * 8},
            r"misalignment_values: Q1 x = 0.5 m is outside",
        ),
        ({"target_beam_values": [0, 1e6, 0, 0]}, r"target_beam_values: sigma_x = 1e"),
    ],
)
def test_environment_refuses_bad_constant_values(kwargs, match):
    """Starting magnets outside the action mode's bounds, a negative incoming energy,
    misalignments of half a metre and a target of 1e6 m are refused at construction
    (they were clipped, tracked or accepted before)."""
    with pytest.raises(ValueError, match=match):
        AresEACheetah(**kwargs)


@pytest.mark.parametrize(
    "options,match",
    [
        ({"incoming": _incoming(energy=-1e6)}, r"options\['incoming'\]: energy"),
        ({"incoming": _incoming(sigma_x=0.0)}, r"options\['incoming'\]: sigma_x = 0"),
        ({"misalignments": [1.0] * 8}, r"options\['misalignments'\]: Q1 x = 1 m"),
        ({"target_beam": [0, 1e6, 0, 0]}, r"options\['target_beam'\]: sigma_x"),
        ({"target_beam": [1.0, 0, 0, 0]}, r"options\['target_beam'\]: mu_x = 1 m"),
    ],
)
def test_reset_refuses_bad_incoming_misalignments_and_targets(options, match):
    """Reset options are checked like constructor values, naming the option."""
    with pytest.raises(ValueError, match=match):
        AresEACheetah().reset(seed=0, options=options)


@pytest.mark.parametrize(
    "action,match",
    [
        (
            np.zeros(2, np.float32),
            r"action \(Q1, Q2, Q3\) must have shape \(3,\), got ",
        ),
        (np.zeros(4, np.float32), r"shape \(3,\), got shape \(4,\)"),
        (np.float32(1.0), r"shape \(3,\), got shape \(\)"),
        (np.array([0, np.nan, 0], np.float32), r"action \(Q1, Q2, Q3\) must be finite"),
        (np.array([np.inf, 0, 0], np.float32), r"got inf \(NaN or infinite\)"),
    ],
)
def test_make_env_refuses_bad_actions_by_name(action, match):
    """Through make_env a wrong shape gives a message naming the magnets (not numpy's
    "operands could not be broadcast"), a scalar is no longer broadcast to every
    magnet, and NaN/inf name the agent's action."""
    env = make_env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(action)


def test_make_env_accepts_out_of_range_finite_actions():
    """A finite action outside the space still passes and is clipped by the env."""
    env = make_env()
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([10.0, 0.0, 0.0], np.float32))
    assert info["action_clipped"] and info["magnets"][0] == pytest.approx(7.2)


def test_filter_action_refuses_a_scalar_and_a_wrong_length():
    """FilterAction on its own refuses a scalar (broadcast before) and 2 values for
    3 magnets."""
    env = FilterAction(AresEACheetah(), [0, 1, 3])
    env.reset(seed=0)
    for action in (0.5, np.zeros(2)):
        with pytest.raises(ValueError, match=r"action \(Q1, Q2, Q3\) must have shape"):
            env.step(action)


def test_check_action_refuses_text():
    """An action that is not numbers is refused by name."""
    with pytest.raises(ValueError, match="action must be numbers"):
        check_action("left", (3,))


@pytest.mark.parametrize("max_steps,rows", [(0, 1), (-3, 1), (2, 3)])
def test_run_episode_max_steps_zero_runs_no_step(max_steps, rows):
    """max_steps=0 (or less) gives the reset state only; it used to run the whole
    time limit (25 steps), since 0 counted as "not given"."""
    from rltutorial import load_agent

    episode = load_agent("Sean Kelley").run_episode(seed=0, max_steps=max_steps)
    assert len(episode) == rows
