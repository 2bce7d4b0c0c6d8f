"""The virtual ARES-EA without a network: magnets that ramp, a beam that drifts, a camera.

:class:`MachineModel` is what the EPICS server (:mod:`rltutorial.machine.server`) serves.
It keeps set-points and read-backs of the five magnets, moves each read-back towards its
set-point at a finite rate, lets the incoming beam wander around its centre, and takes
camera frames (Cheetah's beam on the screen plus reading noise). It also holds the
operator's rules: limits, the stop switch and the lease that gives one client the
machine. Time is passed in explicitly, so the model is tested without clocks or sockets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rltutorial.envs.checks import check_incoming, check_misalignments
from rltutorial.envs.cheetah import simulate_screen_beam
from rltutorial.envs.ranges import (
    DEFAULT_INCOMING,
    INCOMING_HIGH,
    INCOMING_LOW,
    SCREEN_BINNING,
)
from rltutorial.envs.screen import screen_image
from rltutorial.machine.errors import MachineStopped, WriteRefused
from rltutorial.machine.names import MAGNETS

__all__ = ["MachineSettings", "MachineModel"]

#: Incoming-beam parameters that drift (positions, angles, sizes, divergences).
DRIFTING = np.arange(1, 9)
_LIMITS = np.array([m.limit for m in MAGNETS])


def _check_number(name: str, value: float, low: float, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{name} must be a number, got {value!r}.")
    if not np.isfinite(value) or value < low or (positive and value <= low):
        bound = f"> {low}" if positive else f">= {low}"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}.")
    return float(value)


@dataclass(frozen=True)
class MachineSettings:
    """How the virtual machine behaves.

    Parameters
    ----------
    noise : float
        Relative reading noise of the screen: each frame reads mu + N(0, noise·sigma)
        and sigma·(1 + N(0, noise)) in both planes (0: exact readings).
    drift : float
        Drift of the incoming beam: each drifting parameter (positions, angles, sizes,
        divergences) wanders around its centre with a standard deviation of ``drift``
        times its randomisation range (0: no drift).
    drift_time : float
        Correlation time of the drift in s (an Ornstein–Uhlenbeck process).
    ramp_time : float
        Time in s a power supply needs to ramp through its full range (−limit to
        +limit); 0 sets at once.
    frame_rate : float
        Camera frames per s.
    lease_timeout : float
        A lease not renewed for this many s expires.
    binning : int
        Camera binning of the served image.
    seed : int, optional
        Seed of the noise and the drift.
    """

    noise: float = 0.0
    drift: float = 0.0
    drift_time: float = 60.0
    ramp_time: float = 2.0
    frame_rate: float = 10.0
    lease_timeout: float = 30.0
    binning: int = SCREEN_BINNING
    seed: int | None = None

    def __post_init__(self) -> None:
        _check_number("noise", self.noise, 0.0)
        _check_number("drift", self.drift, 0.0)
        _check_number("drift_time", self.drift_time, 0.0, positive=True)
        _check_number("ramp_time", self.ramp_time, 0.0)
        _check_number("frame_rate", self.frame_rate, 0.0, positive=True)
        _check_number("lease_timeout", self.lease_timeout, 0.0, positive=True)
        if (
            isinstance(self.binning, bool)
            or not isinstance(self.binning, (int, np.integer))
            or self.binning < 1
        ):
            raise ValueError(
                f"binning must be a positive integer, got {self.binning!r}."
            )


class MachineModel:
    """The state of the virtual ARES-EA and the rules for changing it.

    Parameters
    ----------
    settings : MachineSettings
        Noise, drift, ramp, camera and lease settings.
    incoming : ndarray (11,), optional
        Incoming beam (see :func:`~rltutorial.envs.simulate_screen_beam`); default a
        centred 107 MeV beam.
    misalignments : ndarray (8,), optional
        Q1–Q3 and screen misalignments in m; default zeros.

    Attributes
    ----------
    set_points, read_backs : ndarray (5,)
        Q1, Q2 (k1 in 1/m²), CV (rad), Q3 (1/m²), CH (rad).
    incoming : ndarray (11,)
        The incoming beam now (it drifts around :attr:`incoming_centre`).
    stuck : ndarray (5,) of bool
        Power supplies that no longer follow their set-points (fault injection).
    stopped : bool
        Whether the operator stopped the machine.
    """

    def __init__(
        self,
        settings: MachineSettings | None = None,
        incoming: np.ndarray | None = None,
        misalignments: np.ndarray | None = None,
    ) -> None:
        self.settings = settings or MachineSettings()
        self.rng = np.random.default_rng(self.settings.seed)
        self.set_points = np.zeros(5)
        self.read_backs = np.zeros(5)
        self.stuck = np.zeros(5, dtype=bool)
        self.stopped = False
        self.set_incoming(DEFAULT_INCOMING if incoming is None else incoming)
        self.set_misalignments(np.zeros(8) if misalignments is None else misalignments)
        self.lease_owner: str | None = None
        self.lease_token = ""
        self._lease_renewed = -np.inf
        self._true_beam: tuple[bytes, np.ndarray] | None = None

    # ------------------------------------------------------------ writes
    def request(self, index: int, value: float) -> None:
        """Set magnet ``index`` (0–4, order Q1, Q2, CV, Q3, CH) to ``value``.

        Raises
        ------
        WriteRefused
            When the machine is stopped, or the value is not finite or beyond the
            magnet's limit.
        """
        magnet = MAGNETS[index]
        if self.stopped:
            raise MachineStopped(
                f"{magnet.device} {magnet.field}: the machine is stopped by the operator."
            )
        if not np.isfinite(value) or abs(value) > magnet.limit:
            raise WriteRefused(
                f"{magnet.device} {magnet.field} = {value!r} {magnet.unit} is beyond the "
                f"limits [{-magnet.limit}, {magnet.limit}] {magnet.unit}."
            )
        self.set_points[index] = float(value)

    def stop(self, stopped: bool) -> None:
        """Stop (freeze every magnet where it is and refuse writes) or run again."""
        self.stopped = bool(stopped)
        if self.stopped:
            self.set_points = self.read_backs.copy()

    def set_incoming(self, incoming: np.ndarray) -> None:
        """Set the incoming beam (11 numbers) and the centre it drifts around.

        Raises
        ------
        WriteRefused
            For a beam the simulation refuses (e.g. an energy or size <= 0).
        """
        try:
            incoming = check_incoming(incoming).reshape(11).astype(float)
        except ValueError as error:
            raise WriteRefused(str(error)) from None
        self.incoming_centre = incoming.copy()
        self.incoming = incoming.copy()

    def set_misalignments(self, misalignments: np.ndarray) -> None:
        """Set the misalignments (8 numbers, m).

        Raises
        ------
        WriteRefused
            For misalignments the simulation refuses.
        """
        try:
            misalignments = check_misalignments(misalignments)
        except ValueError as error:
            raise WriteRefused(str(error)) from None
        self.misalignments = misalignments.reshape(8).astype(float)

    # ------------------------------------------------------------ lease
    def claim(self, client: str, token: str, now: float) -> None:
        """Give the machine to ``client`` (or renew its lease) at time ``now`` (s).

        Raises
        ------
        WriteRefused
            While another client holds an unexpired lease.
        """
        holder = self.holder(now)
        if holder is not None and holder != client:
            raise WriteRefused(
                f"the machine is leased to {self.lease_token!r} ({holder}) for another "
                f"{self._lease_renewed + self.settings.lease_timeout - now:.1f} s."
            )
        self.lease_owner, self.lease_token = client, str(token)
        self._lease_renewed = now

    def release(self, client: str, now: float) -> None:
        """Give the machine back; only its holder (or anyone after expiry) may."""
        holder = self.holder(now)
        if holder is not None and holder != client:
            raise WriteRefused(f"only {holder} can release its lease.")
        self.lease_owner, self.lease_token = None, ""

    def holder(self, now: float) -> str | None:
        """The client holding an unexpired lease at ``now``, or None."""
        if now - self._lease_renewed > self.settings.lease_timeout:
            return None
        return self.lease_owner

    def check_writer(self, client: str, now: float) -> None:
        """Refuse magnet writes from anyone but the lease holder (if there is one)."""
        holder = self.holder(now)
        if holder is not None and holder != client:
            raise WriteRefused(
                f"the machine is leased to {self.lease_token!r} ({holder}); "
                f"{client} may not write."
            )

    # ------------------------------------------------------------ time
    def advance(self, dt: float) -> None:
        """Let ``dt`` seconds pass: ramp the read-backs and drift the incoming beam."""
        ramp_time = self.settings.ramp_time
        moving = ~self.stuck
        if ramp_time == 0:
            arrived = np.ones(5, dtype=bool)
            step = np.zeros(5)
        else:
            step = 2 * _LIMITS / ramp_time * dt
            arrived = np.abs(self.set_points - self.read_backs) <= step
        towards = np.sign(self.set_points - self.read_backs) * step
        self.read_backs = np.where(
            moving & arrived,
            self.set_points,
            np.where(moving, self.read_backs + towards, self.read_backs),
        )
        self._drift(dt)

    def _drift(self, dt: float) -> None:
        settings = self.settings
        if settings.drift == 0 or dt <= 0:
            return
        theta = 1.0 / settings.drift_time
        spread = settings.drift * (INCOMING_HIGH - INCOMING_LOW)[DRIFTING]
        decay = np.exp(-theta * dt)
        centre = self.incoming_centre[DRIFTING]
        kick = spread * np.sqrt(1 - decay**2) * self.rng.standard_normal(len(DRIFTING))
        value = centre + (self.incoming[DRIFTING] - centre) * decay + kick
        low = np.where(INCOMING_LOW[DRIFTING] > 0, INCOMING_LOW[DRIFTING], -np.inf)
        self.incoming[DRIFTING] = np.maximum(value, low)

    # ------------------------------------------------------------ camera
    def true_beam(self) -> np.ndarray:
        """Beam on the screen [mu_x, sigma_x, mu_y, sigma_y] in m at the read-backs."""
        key = b"".join(
            a.tobytes() for a in (self.read_backs, self.incoming, self.misalignments)
        )
        if self._true_beam is None or self._true_beam[0] != key:
            beam = simulate_screen_beam(
                self.read_backs, self.incoming, self.misalignments
            )
            self._true_beam = (key, beam)
        return self._true_beam[1].copy()

    def frame(self) -> np.ndarray:
        """One camera reading [mu_x, sigma_x, mu_y, sigma_y] in m, with reading noise."""
        beam = self.true_beam()
        noise = self.settings.noise
        if noise > 0:
            z = self.rng.standard_normal(4)
            beam[[0, 2]] += noise * beam[[1, 3]] * z[[0, 2]]
            beam[[1, 3]] = np.abs(beam[[1, 3]] * (1 + noise * z[[1, 3]]))
        return beam

    def image(self, reading: np.ndarray) -> np.ndarray:
        """The camera image (H, W) of a reading, float32, at the served binning."""
        return screen_image(reading, self.settings.binning).astype(np.float32)
