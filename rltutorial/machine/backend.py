"""The ARES-EA task on a machine reached over EPICS Channel Access.

:class:`EpicsBackend` is a :class:`~rltutorial.envs.backend.Backend`: the environment
(:class:`~rltutorial.envs.AresEA`) sets magnets and reads the screen through it exactly as
through the simulation. One step on a machine is

1. write the five set-points (``...:SET``), after checking them against the limits;
2. wait until every read-back (``...:RBV``) is within ``tolerance`` of its set-point
   (:class:`~rltutorial.machine.errors.ReadbackTimeout` after ``settle_timeout``);
3. wait for a camera frame taken after the last read-back arrived (the frame's and the
   read-backs' time stamps come from the machine's clock) and read the beam from it.

On connecting, the backend checks that every PV exists and that the machine's limits and
units are those of the task (:class:`~rltutorial.machine.errors.MachineMismatch`
otherwise), and claims the machine's lease so that no other client can write to the
magnets while it runs. When a step fails (timeout, refused write, lost connection) or is
interrupted (Ctrl-C, a notebook's stop), ``on_error="restore"`` (default) writes back the
settings the magnets had when the episode began, before the environment set its initial
magnets; ``on_error="leave"`` leaves them where they are. Either way the error is raised.
"""

from __future__ import annotations

import getpass
import os
import socket
import time
import weakref
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from rltutorial.envs.backend import Backend
from rltutorial.envs.ranges import (
    MAGNET_LIMITS,
)
from rltutorial.envs.sampling import as_vector, hidden_state_samplers
from rltutorial.envs.screen import fraction_on_screen
from rltutorial.machine.channels import Channels, describe_error, use_address
from rltutorial.machine.errors import (
    MachineError,
    MachineMismatch,
    MachineStopped,
    ReadbackTimeout,
    WriteRefused,
)
from rltutorial.machine.names import MAGNETS, MachinePVs
from rltutorial.registry import lookup

__all__ = ["EpicsBackend", "ON_ERROR"]

#: What a failed or interrupted step does to the magnets.
ON_ERROR = ("restore", "leave")
#: Where the incoming beam and misalignments of an episode come from.
HIDDEN_STATES = ("machine", "seeded")
#: Default tolerance of a read-back: this share of each magnet's limit.
TOLERANCE_SHARE = 1e-6


def _token() -> str:
    """A lease token naming this client (at most 39 characters: a CA string)."""
    return f"{getpass.getuser()}@{socket.gethostname()}:{os.getpid()}"[-39:]


def _release(channels: Channels, release: str, token: str | None) -> None:
    """Give the lease back (if held) and disconnect; never raises."""
    if token is not None:
        try:
            channels.write(release, token, lambda name, value: MachineError(name))
        except MachineError:
            pass
    channels.close()


class EpicsBackend(Backend):
    """ARES-EA over EPICS Channel Access (the virtual machine or a real one).

    Parameters
    ----------
    address : str, optional
        ``"host:port"`` of the machine's Channel Access server. Sets
        ``EPICS_CA_ADDR_LIST`` (and ``EPICS_CA_AUTO_ADDR_LIST=NO``) for this process;
        None uses the EPICS variables as they are.
    prefix : str
        PV name prefix (see :mod:`rltutorial.machine.names`).
    names : MachinePVs, optional
        The PV names (a subclass maps them to another control system's); default
        ``MachinePVs(prefix)``.
    hidden_state : {"machine", "seeded"}
        ``"machine"``: the incoming beam and misalignments are whatever the machine has
        (a real machine). ``"seeded"``: each reset draws them from the episode's
        generator as the simulation does and writes them to the virtual machine's
        ``SIM:`` PVs, so a seed gives the same problem as in simulation.
    incoming_mode, incoming_values, misalignment_mode, misalignment_values
        As :class:`~rltutorial.envs.CheetahBackend` (used with ``"seeded"``).
    tolerance : ndarray (5,), optional
        Largest |read-back − set-point| that counts as arrived (1/m², rad); default
        1e-6 of each limit.
    settle_timeout : float
        Seconds a step may wait for read-backs and a fresh frame.
    timeout : float
        Seconds one Channel Access read or write may take (a refused write is known
        only when its confirmation does not come within this time).
    connect_timeout : float
        Seconds to find and connect every PV.
    on_error : {"restore", "leave"}
        What a failed or interrupted step does to the magnets (see the module).
    claim : bool
        Claim the machine's lease (refuse to run while another client holds it).
    poll_interval : float
        Seconds between two polls of the read-backs.
    """

    option_keys = ("incoming", "misalignments")

    def __init__(
        self,
        address: str | None = None,
        prefix: str = "",
        names: MachinePVs | None = None,
        hidden_state: Literal["machine", "seeded"] = "machine",
        incoming_mode: str = "random",
        incoming_values: np.ndarray | None = None,
        misalignment_mode: str = "constant",
        misalignment_values: np.ndarray | None = None,
        tolerance: np.ndarray | None = None,
        settle_timeout: float = 10.0,
        timeout: float = 5.0,
        connect_timeout: float = 5.0,
        on_error: Literal["restore", "leave"] = "restore",
        claim: bool = True,
        poll_interval: float = 0.005,
    ) -> None:
        self.on_error = lookup({name: name for name in ON_ERROR}, on_error, "on_error")
        self.seeded = lookup(
            {"machine": False, "seeded": True}, hidden_state, "hidden_state"
        )
        self.incoming_sampler, self.misalignment_sampler = hidden_state_samplers(
            incoming_mode, incoming_values, misalignment_mode, misalignment_values
        )
        self.limits = MAGNET_LIMITS.astype(float).copy()
        self.tolerance = (
            TOLERANCE_SHARE * self.limits
            if tolerance is None
            else as_vector(tolerance, 5, "tolerance")
        )
        self.settle_timeout, self.poll_interval = float(settle_timeout), poll_interval
        self.names = MachinePVs(prefix) if names is None else names
        self.address = use_address(address)
        names = self.names.all if self.seeded else self.names.machine
        self.channels = Channels(names, self.address, timeout, connect_timeout)
        self.token = _token() if claim else None
        self._finalizer = weakref.finalize(
            self, _release, self.channels, self.names.release, self.token
        )
        try:
            self._check_machine()
            if self.token is not None:
                self._claim()
            self.magnets = self.channels.read_values(self.names.read_backs)
        except BaseException:
            self._finalizer.detach()  # the lease is not ours to give back
            self.channels.close()
            raise
        self.beam: np.ndarray | None = None
        self.episode_start = self.magnets.copy()
        self._state_stamp = 0.0
        self.last_step_s = 0.0

    # ------------------------------------------------------------ connecting
    def _check_machine(self) -> None:
        """Refuse a machine whose limits or units differ from the task's."""
        problems = []
        for magnet, name in zip(MAGNETS, self.names.set_points, strict=True):
            meta = self.channels.control(name)
            low, high = meta.lower_ctrl_limit, meta.upper_ctrl_limit
            units = meta.units.decode() if isinstance(meta.units, bytes) else meta.units
            if not np.allclose([low, high], [-magnet.limit, magnet.limit], rtol=1e-9):
                problems.append(
                    f"{name}: limits [{low}, {high}], the task expects "
                    f"[{-magnet.limit}, {magnet.limit}] {magnet.unit}"
                )
            if units != magnet.unit:
                problems.append(f"{name}: unit {units!r}, expected {magnet.unit!r}")
        if len(self.channels.read(self.names.beam).data) != 4:
            problems.append(f"{self.names.beam}: not 4 numbers")
        if problems:
            raise MachineMismatch(
                f"The machine at {self.address} does not match the ARES-EA task: "
                + "; ".join(problems)
                + ". Fix the machine's PVs or the scheme (rltutorial.machine.names)."
            )

    def _claim(self) -> None:
        holder = self.channels.read_text(self.names.lease)
        if holder and holder != self.token:
            raise WriteRefused(
                f"The machine at {self.address} is leased to {holder!r}; only one "
                "client may steer it at a time. Wait until it is released (or its "
                "lease expires), or connect with claim=False to watch only."
            )
        self.channels.write(self.names.lease, self.token, self._refusal)

    def close(self) -> None:
        """Give the machine's lease back and disconnect (idempotent; also done when the
        backend is garbage-collected or the interpreter exits)."""
        self._finalizer()

    def __enter__(self) -> EpicsBackend:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # ------------------------------------------------------------ the contract
    def reset(self, rng: np.random.Generator, options: Mapping[str, Any]) -> None:
        """Start an episode: remember the magnets, set this episode's beam (seeded)."""
        incoming = self.incoming_sampler.draw(rng)
        misalignments = self.misalignment_sampler.draw(rng)
        if options.get("incoming") is not None:
            incoming = as_vector(options["incoming"], 11, "options['incoming']")
        if options.get("misalignments") is not None:
            misalignments = as_vector(
                options["misalignments"], 8, "options['misalignments']"
            )
        if not self.seeded and any(
            options.get(k) is not None for k in self.option_keys
        ):
            raise ValueError(
                "Reset options 'incoming' and 'misalignments' need "
                "hidden_state='seeded' (a virtual machine)."
            )
        if self.token is not None:
            self.channels.write(self.names.lease, self.token, self._refusal)
        self.magnets = self.channels.read_values(self.names.read_backs)
        self.episode_start = self.magnets.copy()
        if self.seeded:
            self.channels.write(self.names.incoming, incoming, self._refusal)
            self.channels.write(self.names.misalignments, misalignments, self._refusal)
            self._state_stamp = self.channels.read(
                self.names.misalignments, "time"
            ).stamp
        self.beam = None

    def set_magnets(self, magnets: np.ndarray) -> None:
        """Write the five set-points, wait for the read-backs and a fresh frame.

        Raises
        ------
        ValueError
            For settings that are not 5 finite numbers within the limits.
        MachineError
            (``ReadbackTimeout``, ``WriteRefused``, ``MachineStopped``,
            ``MachineConnectionError``) after restoring or leaving the magnets.
        """
        magnets = as_vector(magnets, 5, "magnets")
        beyond = np.abs(magnets) > self.limits
        if np.any(beyond):
            labels = [m.label for m, b in zip(MAGNETS, beyond, strict=True) if b]
            raise ValueError(
                f"Magnet settings {magnets!r} exceed the limits ±{self.limits} for "
                f"{labels}."
            )
        start = time.perf_counter()
        try:
            self._step(magnets)
        except BaseException as error:
            self._after_error(error)
            raise
        self.last_step_s = time.perf_counter() - start

    def get_magnets(self) -> np.ndarray:
        """The five read-backs of the last step (1/m², rad)."""
        return self.magnets.copy()

    def get_beam(self) -> np.ndarray:
        """The beam [mu_x, sigma_x, mu_y, sigma_y] in m of the frame after the last step."""
        if self.beam is None:
            self.beam = self._fresh_frame(self._state_stamp, time.monotonic())
        return self.beam.copy()

    def get_pixel_sum(self) -> float:
        """Share of the beam on the screen, from the step's reading."""
        return float(fraction_on_screen(self.get_beam()))

    def get_screen_image(self, binning: int = 4) -> np.ndarray:
        """The machine's latest camera image (H, W), rebinned to ``binning`` if needed."""
        return self.channels.image(self.names, binning)

    def get_info(self) -> dict[str, Any]:
        """``step_time_s``: wall time of the last step (write, ramp, frame) in s."""
        return {"step_time_s": self.last_step_s}

    # ------------------------------------------------------------ one step
    def _step(self, magnets: np.ndarray) -> None:
        if self.channels.read_values([self.names.stop])[0]:
            raise MachineStopped(
                f"The machine at {self.address} is stopped by its operator "
                f"({self.names.stop} = 1)."
            )
        if self.token is not None:
            self.channels.write(self.names.lease, self.token, self._refusal)
        for name, value in zip(self.names.set_points, magnets, strict=True):
            self.channels.write(name, float(value), self._refusal)
        deadline = time.monotonic() + self.settle_timeout
        stamp = self._settle(magnets, deadline)
        self.beam = self._fresh_frame(max(stamp, self._state_stamp), deadline)

    def _settle(self, magnets: np.ndarray, deadline: float) -> float:
        """Poll the read-backs until all arrived; their latest time stamp (s)."""
        while True:
            values, stamps = self.channels.read_stamped(self.names.read_backs)
            missing = np.abs(values - magnets) > self.tolerance
            if not np.any(missing):
                self.magnets = values
                return float(np.max(stamps))
            if time.monotonic() > deadline:
                late = [
                    f"{m.device} set to {s:g} but at {v:g} {m.unit}"
                    for m, s, v, miss in zip(
                        MAGNETS, magnets, values, missing, strict=True
                    )
                    if miss
                ]
                raise ReadbackTimeout(
                    f"Read-backs did not arrive within {self.settle_timeout} s "
                    f"(tolerance {self.tolerance}): {'; '.join(late)}."
                )
            if self.channels.read_values([self.names.stop])[0]:
                raise MachineStopped(
                    f"The operator stopped the machine at {self.address} during the step."
                )
            time.sleep(self.poll_interval)

    def _fresh_frame(self, stamp: float, deadline: float) -> np.ndarray:
        """The first beam reading whose time stamp is at or after ``stamp`` (s)."""
        while True:
            reading = self.channels.read(self.names.beam, "time")
            if reading.stamp >= stamp:
                return np.asarray(reading.data, dtype=float)
            if time.monotonic() > deadline:
                raise ReadbackTimeout(
                    f"No camera frame from {self.names.beam} after the magnets "
                    f"settled within {self.settle_timeout} s."
                )
            time.sleep(self.poll_interval)

    # ------------------------------------------------------------ errors
    def _refusal(self, name: str, value: Any) -> MachineError:
        """The error for a write that got no answer: refused, or the machine is gone."""
        try:
            reason = self.channels.read_text(self.names.message)
            alarm = self.channels.read(name, "status").alarm
        except MachineError as error:
            return error
        if alarm:
            return WriteRefused(
                f"The machine at {self.address} refused {name} = {value!r}: {reason}"
            )
        return describe_error(self.address, f"writing {name}", None)

    def _after_error(self, error: BaseException) -> None:
        """Apply ``on_error`` after a failed or interrupted step (never raises)."""
        if self.on_error != "restore" or isinstance(error, MachineStopped):
            return
        try:
            for name, value in zip(
                self.names.set_points, self.episode_start, strict=True
            ):
                self.channels.write(name, float(value), self._refusal)
        except BaseException as restore_error:  # the machine may be gone
            error.add_note(
                f"Restoring the magnets to {self.episode_start} failed: {restore_error}"
            )
        else:
            error.add_note(
                f"The magnets were set back to the episode's start {self.episode_start}."
            )
