"""The virtual machine without a network: ramps, drift, noise, stop, lease, PV names."""

from __future__ import annotations

import numpy as np
import pytest

from rltutorial.envs import simulate_screen_beam
from rltutorial.envs.ranges import DEFAULT_INCOMING, INCOMING_HIGH, INCOMING_LOW
from rltutorial.machine import MachineModel, MachinePVs, MachineSettings
from rltutorial.machine.errors import MachineStopped, WriteRefused
from rltutorial.machine.model import DRIFTING


def test_read_backs_ramp_at_the_rate_and_arrive_exactly():
    """With a 2 s full-range ramp a quadrupole moves 72 1/m² per s and then sits
    exactly on its set-point."""
    model = MachineModel(MachineSettings(ramp_time=2.0))
    model.request(0, 10.0)
    model.advance(0.1)
    assert model.read_backs[0] == pytest.approx(7.2)
    model.advance(0.1)
    assert model.read_backs[0] == 10.0
    np.testing.assert_array_equal(model.read_backs[1:], 0.0)


def test_stuck_supply_does_not_follow():
    """A stuck supply keeps its read-back while the others arrive."""
    model = MachineModel(MachineSettings(ramp_time=0.0))
    model.stuck[1] = True
    model.request(0, 5.0)
    model.request(1, 5.0)
    model.advance(1.0)
    assert model.read_backs[0] == 5.0 and model.read_backs[1] == 0.0


def test_limits_and_non_finite_values_are_refused():
    """Set-points beyond ±72 1/m² or ±6.1782 mrad, or NaN, are refused by name."""
    model = MachineModel()
    with pytest.raises(WriteRefused, match="AREAMQZM1 K1 = 72.5"):
        model.request(0, 72.5)
    with pytest.raises(WriteRefused, match="AREAMCVM1 ANGLE"):
        model.request(2, 7e-3)
    with pytest.raises(WriteRefused):
        model.request(3, float("nan"))
    np.testing.assert_array_equal(model.set_points, 0.0)


def test_stop_freezes_the_magnets_and_refuses_writes():
    """Stopping mid-ramp freezes each magnet where it is; writes are refused until the
    operator lets the machine run again."""
    model = MachineModel(MachineSettings(ramp_time=2.0))
    model.request(0, 20.0)
    model.advance(0.1)
    model.stop(True)
    model.advance(1.0)
    assert model.read_backs[0] == pytest.approx(7.2)
    with pytest.raises(MachineStopped):
        model.request(0, 1.0)
    model.stop(False)
    model.request(0, 1.0)


def test_lease_belongs_to_one_client_until_released_or_expired():
    """A second client can neither claim nor write while the lease holds; the holder
    can release it, and an unrenewed lease expires."""
    model = MachineModel(MachineSettings(lease_timeout=10.0))
    model.claim("a", "token-a", now=0.0)
    with pytest.raises(WriteRefused, match="leased to 'token-a'"):
        model.claim("b", "token-b", now=1.0)
    with pytest.raises(WriteRefused):
        model.check_writer("b", now=1.0)
    model.check_writer("a", now=1.0)
    with pytest.raises(WriteRefused):
        model.release("b", now=2.0)
    assert model.holder(now=11.0) is None
    model.claim("b", "token-b", now=11.0)
    model.release("b", now=12.0)
    assert model.holder(now=12.0) is None


def test_exact_frame_is_the_simulation():
    """Without noise a frame is Cheetah's beam at the read-backs."""
    model = MachineModel(MachineSettings(ramp_time=0.0))
    model.request(1, -20.0)
    model.advance(0.01)
    expected = simulate_screen_beam(model.read_backs, DEFAULT_INCOMING, np.zeros(8))
    np.testing.assert_array_equal(model.frame(), expected)


def test_reading_noise_has_the_set_relative_size():
    """1 % noise: sigma readings scatter by 1 % of sigma, mu by 1 % of sigma."""
    model = MachineModel(MachineSettings(noise=0.01, seed=1))
    truth = model.true_beam()
    frames = np.array([model.frame() for _ in range(2000)])
    relative = frames[:, 1] / truth[1] - 1
    assert np.std(relative) == pytest.approx(0.01, rel=0.1)
    assert np.std(frames[:, 0] - truth[0]) == pytest.approx(0.01 * truth[1], rel=0.1)


def test_drift_wanders_around_the_centre_with_the_set_spread():
    """2 % drift with a 60 s correlation time: after long times each drifting parameter
    scatters by 2 % of its range around the centre; energy and sigma_s stay."""
    model = MachineModel(MachineSettings(drift=0.02, drift_time=60.0, seed=2))
    samples = []
    for _ in range(3000):
        model.advance(30.0)
        samples.append(model.incoming.copy())
    samples = np.array(samples)
    spread = 0.02 * (INCOMING_HIGH - INCOMING_LOW)
    np.testing.assert_allclose(
        samples[:, DRIFTING].std(axis=0), spread[DRIFTING], rtol=0.15
    )
    assert np.all(samples[:, [0, 9, 10]] == DEFAULT_INCOMING[[0, 9, 10]])


@pytest.mark.parametrize(
    "field, value",
    [("noise", -0.1), ("ramp_time", float("nan")), ("frame_rate", 0.0), ("binning", 0)],
)
def test_settings_are_checked(field, value):
    """Bad settings raise ValueError naming the field."""
    with pytest.raises(ValueError, match=field):
        MachineSettings(**{field: value})


def test_pv_names_follow_the_ares_devices():
    """Set-points and read-backs are DEVICE:FIELD:SET/RBV in the task's magnet order,
    every name is unique and the prefix goes in front."""
    names = MachinePVs("VA:")
    assert names.set_points[0] == "VA:AREAMQZM1:K1:SET"
    assert names.read_backs[2] == "VA:AREAMCVM1:ANGLE:RBV"
    assert names.beam == "VA:AREABSCR1:BEAM"
    assert len(set(names.all)) == len(names.all)


def test_command_line_lists_the_pvs_and_checks_settings(capsys):
    """``python -m rltutorial.machine pvs`` prints every name; ``serve`` with a bad
    setting exits with status 2 and names it, before starting anything."""
    from rltutorial.machine.__main__ import main

    assert main(["pvs", "--prefix", "VA:"]) == 0
    out = capsys.readouterr().out
    assert (
        "VA:AREAMQZM1:K1:SET" in out
        and "VA:SIM:INCOMING  (virtual machine only)" in out
    )
    assert main(["serve", "--noise", "-1"]) == 2
    assert "noise must be" in capsys.readouterr().err
