"""The process-variable (PV) names of the ARES Experimental Area, in one scheme.

Every PV is ``{prefix}{DEVICE}:{FIELD}``, where ``DEVICE`` is the ARES device name
(AREAMQZM1 … AREABSCR1) and the prefix is empty unless several machines share a network.
Values are in SI units, as everywhere in the package.

| PV | type | unit | access | meaning |
|---|---|---|---|---|
| ``AREAMQZM1:K1:SET`` (also MQZM2, MQZM3) | double | 1/m² | write | quadrupole set-point, limits ±72 |
| ``AREAMQZM1:K1:RBV`` | double | 1/m² | read | read-back: where the power supply is now |
| ``AREAMCVM1:ANGLE:SET`` (also MCHM1) | double | rad | write | corrector set-point, limits ±6.1782e-3 |
| ``AREAMCVM1:ANGLE:RBV`` | double | rad | read | corrector read-back |
| ``AREABSCR1:BEAM`` | 4 doubles | m | read | mu_x, sigma_x, mu_y, sigma_y of the latest camera frame |
| ``AREABSCR1:MU_X`` … ``:SIGMA_Y`` | double | m | read | the same four numbers one by one (for displays) |
| ``AREABSCR1:FRAME`` | long | 1 | read | number of the latest camera frame |
| ``AREABSCR1:IMAGE`` | floats | 1 | read | the frame's image, rows bottom to top, share of the charge per pixel |
| ``AREABSCR1:IMAGE:WIDTH``, ``:HEIGHT``, ``:BINNING`` | long | px | read | its shape and the camera binning |
| ``ARESEA:STOP`` | long | 0/1 | write | operator stop: 1 freezes the magnets and refuses every magnet write |
| ``ARESEA:LEASE`` | string | | write | the client that holds the machine (write a token to claim or renew) |
| ``ARESEA:LEASE:RELEASE`` | string | | write | write your token to give the machine back |
| ``ARESEA:WRITES``, ``ARESEA:REFUSED`` | long | 1 | read | magnet writes accepted and refused so far |
| ``ARESEA:MESSAGE`` | string | | read | why the last write was refused |
| ``SIM:INCOMING`` | 11 doubles | eV, m, rad | write | virtual machine only: the incoming beam (drift centre) |
| ``SIM:MISALIGNMENTS`` | 8 doubles | m | write | virtual machine only: Q1–Q3 and screen misalignments |
| ``SIM:AREAMQZM1:STUCK`` (each magnet) | long | 0/1 | write | virtual machine only: the supply stops following its set-point |

A real control system has the magnet and screen PVs under its own names; the
``SIM:`` PVs exist only on the virtual machine (``docs/machine.md`` explains how to map
the names).
"""

from __future__ import annotations

from dataclasses import dataclass

from rltutorial.envs.ranges import MAGNET_LABELS, MAGNET_LIMITS, MAGNET_NAMES

__all__ = ["Magnet", "MAGNETS", "MachinePVs"]

#: The screen's device name.
SCREEN = "AREABSCR1"
#: Device name of the machine-wide operator PVs.
MACHINE = "ARESEA"
#: Device name of the virtual machine's simulation PVs.
SIMULATION = "SIM"
#: Beam parameters of a screen reading, in the order of ``AREABSCR1:BEAM``.
BEAM_FIELDS = ("MU_X", "SIGMA_X", "MU_Y", "SIGMA_Y")


@dataclass(frozen=True)
class Magnet:
    """One actuator: device name, field, unit and symmetric limit.

    Attributes
    ----------
    device : str
        ARES device name, e.g. ``"AREAMQZM1"``.
    label : str
        Short label in the environment's order (Q1, Q2, CV, Q3, CH).
    field : str
        ``"K1"`` (quadrupole strength, 1/m²) or ``"ANGLE"`` (corrector kick, rad).
    unit : str
        ``"1/m^2"`` or ``"rad"``.
    limit : float
        Largest |setting| the power supply accepts.
    """

    device: str
    label: str
    field: str
    unit: str
    limit: float


def _magnet(device: str, label: str, limit: float) -> Magnet:
    quadrupole = device.startswith("AREAMQZM")
    field, unit = ("K1", "1/m^2") if quadrupole else ("ANGLE", "rad")
    return Magnet(device, label, field, unit, float(limit))


#: The five actuators in the environment's order (Q1, Q2, CV, Q3, CH).
MAGNETS: tuple[Magnet, ...] = tuple(
    _magnet(device, label, limit)
    for device, label, limit in zip(
        MAGNET_NAMES, MAGNET_LABELS, MAGNET_LIMITS, strict=True
    )
)


@dataclass(frozen=True)
class MachinePVs:
    """The PV names of one machine, built from a prefix.

    Parameters
    ----------
    prefix : str
        Put before every name (default none).
    """

    prefix: str = ""

    def name(self, device: str, field: str) -> str:
        """``{prefix}{device}:{field}``."""
        return f"{self.prefix}{device}:{field}"

    @property
    def set_points(self) -> list[str]:
        """Set-point PVs of the five magnets (Q1, Q2, CV, Q3, CH)."""
        return [self.name(m.device, f"{m.field}:SET") for m in MAGNETS]

    @property
    def read_backs(self) -> list[str]:
        """Read-back PVs of the five magnets."""
        return [self.name(m.device, f"{m.field}:RBV") for m in MAGNETS]

    @property
    def stuck(self) -> list[str]:
        """Virtual machine only: the fault switch of each magnet's power supply."""
        return [self.name(f"{SIMULATION}:{m.device}", "STUCK") for m in MAGNETS]

    @property
    def beam(self) -> str:
        """The screen reading [mu_x, sigma_x, mu_y, sigma_y] in m."""
        return self.name(SCREEN, "BEAM")

    @property
    def beam_fields(self) -> list[str]:
        """The four beam parameters as scalar PVs."""
        return [self.name(SCREEN, field) for field in BEAM_FIELDS]

    @property
    def frame(self) -> str:
        """Number of the latest camera frame."""
        return self.name(SCREEN, "FRAME")

    @property
    def image(self) -> str:
        """The camera image (flattened rows)."""
        return self.name(SCREEN, "IMAGE")

    @property
    def image_shape(self) -> list[str]:
        """Width, height and binning of the image."""
        return [self.name(SCREEN, f) for f in ("IMAGE:WIDTH", "IMAGE:HEIGHT")] + [
            self.name(SCREEN, "IMAGE:BINNING")
        ]

    @property
    def stop(self) -> str:
        """Operator stop (0 run, 1 stopped)."""
        return self.name(MACHINE, "STOP")

    @property
    def lease(self) -> str:
        """Token of the client holding the machine."""
        return self.name(MACHINE, "LEASE")

    @property
    def release(self) -> str:
        """Write a token here to give the machine back."""
        return self.name(MACHINE, "LEASE:RELEASE")

    @property
    def counters(self) -> list[str]:
        """Accepted and refused magnet writes."""
        return [self.name(MACHINE, "WRITES"), self.name(MACHINE, "REFUSED")]

    @property
    def message(self) -> str:
        """Why the last write was refused."""
        return self.name(MACHINE, "MESSAGE")

    @property
    def incoming(self) -> str:
        """Virtual machine only: the incoming beam (11 numbers)."""
        return self.name(SIMULATION, "INCOMING")

    @property
    def misalignments(self) -> str:
        """Virtual machine only: the misalignments (8 numbers, m)."""
        return self.name(SIMULATION, "MISALIGNMENTS")

    @property
    def machine(self) -> list[str]:
        """PVs every machine must have (magnets, screen, operator PVs)."""
        return [
            *self.set_points,
            *self.read_backs,
            self.beam,
            *self.beam_fields,
            self.frame,
            self.image,
            *self.image_shape,
            self.stop,
            self.lease,
            self.release,
            *self.counters,
            self.message,
        ]

    @property
    def simulation(self) -> list[str]:
        """PVs only the virtual machine has."""
        return [self.incoming, self.misalignments, *self.stuck]

    @property
    def all(self) -> list[str]:
        """Every PV of the virtual machine."""
        return self.machine + self.simulation
