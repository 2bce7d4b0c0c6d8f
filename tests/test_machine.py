"""The virtual ARES on EPICS, over 127.0.0.1 only: agents, limits, timeouts, faults.

Two servers start once for the module (in parallel): ``machine`` without noise and drift
for exact comparisons, and ``doomed`` that one test kills mid-episode. Clients search
only 127.0.0.1 at the servers' ports (``EPICS_CA_ADDR_LIST``,
``EPICS_CA_AUTO_ADDR_LIST=NO``); the servers listen and send beacons on 127.0.0.1 only.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("caproto")

import rltutorial  # noqa: E402
from rltutorial.envs import AresEA  # noqa: E402
from rltutorial.machine import (  # noqa: E402
    MachineConnectionError,
    MachineMismatch,
    MachineStopped,
    ReadbackTimeout,
    VirtualAres,
    WriteRefused,
)
from rltutorial.machine import backend as backend_module  # noqa: E402
from rltutorial.machine.channels import Channels  # noqa: E402
from rltutorial.machine.names import MAGNETS, MachinePVs  # noqa: E402

EXACT = {"noise": 0.0, "drift": 0.0, "ramp_time": 0.2, "frame_rate": 50.0}
PVS = MachinePVs()
COLUMNS = ["Q1", "Q2", "CV", "Q3", "CH", "mu_x", "sigma_x", "mu_y", "sigma_y", "reward"]


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Two virtual machines on 127.0.0.1, stopped after the module (none left)."""
    folder = tmp_path_factory.mktemp("machines")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("EPICS_CA_ADDR_LIST", "EPICS_CA_AUTO_ADDR_LIST"):
            patch.delenv(name, raising=False)
        machines = {
            name: VirtualAres(folder=folder / name, **EXACT)
            for name in ("machine", "doomed")
        }
        try:
            for machine in machines.values():
                machine.start(wait=False)
            for machine in machines.values():
                machine.wait_ready()
            yield machines
        finally:
            for machine in machines.values():
                machine.stop()
            assert not any(machine.alive for machine in machines.values())


@pytest.fixture
def machine(servers):
    return servers["machine"]


@pytest.fixture
def raw(machine):
    """A plain Channel Access client of the machine (no lease, no checks)."""
    channels = Channels(PVS.all, machine.address, timeout=2.0, connect_timeout=10.0)
    yield channels
    channels.close()


def _raw_write(channels: Channels, name: str, value) -> None:
    def silent(pv_name, pv_value):
        return WriteRefused(f"{pv_name} = {pv_value!r} got no confirmation")

    channels.write(name, value, silent)


def test_agent_episode_equals_simulation(machine):
    """A zoo agent's episode on the virtual machine (noise and drift off, the same
    seed) has exactly the simulation's magnets, beams and rewards."""
    agent = rltutorial.load_agent("Sean Kelley")
    with machine.backend(hidden_state="seeded") as backend:
        on_machine = agent.run_episode(seed=7, max_steps=6, backend=backend)
    simulated = agent.run_episode(seed=7, max_steps=6)
    assert len(on_machine) == len(simulated) == 7
    pd.testing.assert_frame_equal(on_machine[COLUMNS], simulated[COLUMNS])


def test_make_env_epics_is_the_agents_environment(machine):
    """make_env(config, backend="epics", address=...) gives the simulation's spaces and
    the same first observation for a seed."""
    config = rltutorial.load_agent("Sean Kelley").config
    env = rltutorial.make_env(
        config, backend="epics", address=machine.address, hidden_state="seeded"
    )
    try:
        simulated = rltutorial.make_env(config)
        assert env.observation_space == simulated.observation_space
        assert env.action_space == simulated.action_space
        np.testing.assert_array_equal(env.reset(seed=3)[0], simulated.reset(seed=3)[0])
    finally:
        env.unwrapped.backend.close()


def test_readback_that_never_arrives_times_out(machine, raw):
    """A power supply that does not follow its set-point: the step raises
    ReadbackTimeout naming the magnet, and the magnets go back to the episode's start.
    """
    stuck = PVS.stuck[1]
    _raw_write(raw, stuck, 1)
    try:
        with machine.backend(settle_timeout=0.5) as backend:
            env = AresEA(backend=backend, action_mode="direct")
            env.reset(seed=0)
            start = time.monotonic()
            with pytest.raises(ReadbackTimeout, match="AREAMQZM2") as caught:
                env.step(np.array([5.0, 10.0, 0.0, -5.0, 0.0]))
            assert time.monotonic() - start < 5
            assert "set back to the episode's start" in "\n".join(
                caught.value.__notes__
            )
            np.testing.assert_array_equal(
                raw.read_values(PVS.set_points), backend.episode_start
            )
    finally:
        _raw_write(raw, stuck, 0)


def test_write_beyond_limits_is_refused_by_the_server(machine, raw):
    """The server refuses k1 = 100 1/m² (limit 72): no confirmation, the set-point stays,
    and the write log records the refusal with its reason."""
    name = PVS.set_points[0]
    before = raw.read_values([name])[0]
    with pytest.raises(WriteRefused):
        _raw_write(raw, name, 100.0)
    assert raw.read_values([name])[0] == before
    log = machine.write_log()
    refused = log[(log["pv"] == name) & ~log["accepted"]]
    assert refused["value"].iloc[-1] == 100.0
    assert "Limits" in refused["reason"].iloc[-1]


def test_backend_reports_the_servers_refusal(machine, monkeypatch):
    """A backend whose own limit check is wider than the machine's gets the server's
    refusal as WriteRefused with the reason (not a silent clip)."""
    with machine.backend(timeout=1.0) as backend:
        monkeypatch.setattr(backend, "limits", backend.limits * 2)
        with pytest.raises(WriteRefused, match="refused .*Limits"):
            backend.set_magnets(np.array([100.0, 0.0, 0.0, 0.0, 0.0]))


def test_second_client_is_refused_while_the_first_holds_the_machine(machine, raw):
    """One client at a time: a second backend is refused by name, and the server refuses
    magnet writes from any other connection while the lease is held."""
    with machine.backend() as first:
        with pytest.raises(WriteRefused, match="leased to"):
            machine.backend()
        with pytest.raises(WriteRefused):
            _raw_write(raw, PVS.set_points[1], 3.0)
        first.set_magnets(np.array([1.0, 2.0, 0.0, 3.0, 0.0]))
        np.testing.assert_array_equal(first.get_magnets(), [1.0, 2.0, 0.0, 3.0, 0.0])
    with machine.backend() as second:  # released by close()
        second.set_magnets(np.zeros(5))


def test_operator_stop_refuses_steps(machine, raw):
    """ARESEA:STOP = 1 stops an episode with MachineStopped; 0 lets it go on."""
    with machine.backend() as backend:
        env = AresEA(backend=backend)
        env.reset(seed=1)
        _raw_write(raw, PVS.stop, 1)
        try:
            with pytest.raises(MachineStopped):
                env.step(env.action_space.high)
        finally:
            _raw_write(raw, PVS.stop, 0)
        env.step(env.action_space.high)


def test_machine_that_does_not_match_is_refused(machine, monkeypatch):
    """Other limits than the task's, or PVs that do not exist, stop the backend before
    it writes anything."""
    changed = list(MAGNETS)
    changed[0] = type(changed[0])("AREAMQZM1", "Q1", "K1", "1/m^2", 30.0)
    monkeypatch.setattr(backend_module, "MAGNETS", tuple(changed))
    with pytest.raises(MachineMismatch, match="AREAMQZM1:K1:SET: limits"):
        machine.backend()
    monkeypatch.undo()
    with pytest.raises(MachineConnectionError, match="not found"):
        machine.backend(prefix="OTHER:", connect_timeout=1.0)


def test_server_killed_mid_episode_gives_a_clear_error(servers):
    """A crash of the server mid-episode raises MachineConnectionError within a few
    timeouts, instead of hanging."""
    doomed = servers["doomed"]
    backend = doomed.backend(timeout=1.0)
    env = AresEA(backend=backend)
    env.reset(seed=2)
    env.step(env.action_space.high)
    doomed.kill()
    start = time.monotonic()
    with pytest.raises(MachineConnectionError, match=doomed.address):
        env.step(env.action_space.high)
    assert time.monotonic() - start < 10
    backend.close()
