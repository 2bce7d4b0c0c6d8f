"""Fixed facts of the ARES Experimental Area: magnet limits, screen geometry, sampling ranges.

Every number that describes the machine lives here once, so the environment, the action
modes, the renderer and the tests all read the same values.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "MAGNET_NAMES",
    "MAGNET_LABELS",
    "QUAD_K1_LIMIT",
    "CORRECTOR_ANGLE_LIMIT",
    "MAGNET_LIMITS",
    "BEAM_LABELS",
    "SIGMA_INDICES",
    "LATTICE",
    "INCOMING_LABELS",
    "INCOMING_LOW",
    "INCOMING_HIGH",
    "DEFAULT_INCOMING",
    "MISALIGNMENT_LIMIT",
    "MISALIGNMENT_BOUND",
    "TARGET_LOW",
    "TARGET_HIGH",
    "SCREEN_RESOLUTION",
    "SCREEN_PIXEL_SIZE",
    "SCREEN_BINNING",
    "SCREEN_HALF_SIZE",
]

#: The ARES-EA beamline: (element type, name, length in m) from AREASOLA1 to AREABSCR1.
LATTICE: tuple[tuple[str, str, float], ...] = (
    ("Marker", "AREASOLA1", 0.0),
    ("Drift", "AREADRIFT1", 0.17504),
    ("Quadrupole", "AREAMQZM1", 0.122),
    ("Drift", "AREADRIFT2", 0.428),
    ("Quadrupole", "AREAMQZM2", 0.122),
    ("Drift", "AREADRIFT3", 0.204),
    ("VerticalCorrector", "AREAMCVM1", 0.02),
    ("Drift", "AREADRIFT4", 0.204),
    ("Quadrupole", "AREAMQZM3", 0.122),
    ("Drift", "AREADRIFT5", 0.179),
    ("HorizontalCorrector", "AREAMCHM1", 0.02),
    ("Drift", "AREADRIFT6", 0.45),
    ("Screen", "AREABSCR1", 0.0),
)

#: Lattice names of the actuators in action/observation order (Q1, Q2, CV, Q3, CH).
MAGNET_NAMES: tuple[str, ...] = (
    "AREAMQZM1",
    "AREAMQZM2",
    "AREAMCVM1",
    "AREAMQZM3",
    "AREAMCHM1",
)
#: Short labels of the actuators, same order as :data:`MAGNET_NAMES`.
MAGNET_LABELS: tuple[str, ...] = ("Q1", "Q2", "CV", "Q3", "CH")

#: Largest quadrupole strength |k1| in 1/m².
QUAD_K1_LIMIT = 72.0
#: Largest corrector kick angle in rad.
CORRECTOR_ANGLE_LIMIT = 6.1782e-3
#: Symmetric limits of the five actuators (Q1, Q2, CV, Q3, CH): k1 in 1/m², angles in rad.
MAGNET_LIMITS = np.array(
    [
        QUAD_K1_LIMIT,
        QUAD_K1_LIMIT,
        CORRECTOR_ANGLE_LIMIT,
        QUAD_K1_LIMIT,
        CORRECTOR_ANGLE_LIMIT,
    ]
)

#: Beam parameters measured on the screen, all in m.
BEAM_LABELS: tuple[str, ...] = ("mu_x", "sigma_x", "mu_y", "sigma_y")
#: Indices of the beam sizes sigma_x, sigma_y in a beam vector (:data:`BEAM_LABELS`).
SIGMA_INDICES = np.array([1, 3])

#: The 11 numbers describing an incoming beam (energy in eV, positions/sizes in m,
#: angles/divergences in rad, sigma_p relative).
INCOMING_LABELS: tuple[str, ...] = (
    "energy",
    "mu_x",
    "mu_xp",
    "mu_y",
    "mu_yp",
    "sigma_x",
    "sigma_xp",
    "sigma_y",
    "sigma_yp",
    "sigma_s",
    "sigma_p",
)
#: Lower bounds of the incoming-beam randomisation, order of :data:`INCOMING_LABELS`.
INCOMING_LOW = np.array(
    [80e6, -1e-3, -1e-4, -1e-3, -1e-4, 1e-5, 1e-6, 1e-5, 1e-6, 1e-6, 1e-4]
)
#: Upper bounds of the incoming-beam randomisation, order of :data:`INCOMING_LABELS`.
INCOMING_HIGH = np.array(
    [160e6, 1e-3, 1e-4, 1e-3, 1e-4, 5e-4, 5e-5, 5e-4, 5e-5, 5e-5, 1e-3]
)
#: A typical centred ARES beam (107 MeV), used when no incoming beam is given.
DEFAULT_INCOMING = np.array(
    [107e6, 0.0, 0.0, 0.0, 0.0, 1.75e-4, 4e-6, 1.75e-4, 4e-6, 8e-6, 2e-3]
)

#: Largest random misalignment in m.
MISALIGNMENT_LIMIT = 2e-3
#: Largest misalignment in m that the simulation accepts at all (given values; the
#: random ones stay within :data:`MISALIGNMENT_LIMIT`).
MISALIGNMENT_BOUND = 1e-2

#: Bounds of randomly drawn target beams [mu_x, sigma_x, mu_y, sigma_y] in m.
TARGET_LOW = np.array([-2e-3, 0.0, -2e-3, 0.0])
TARGET_HIGH = np.array([2e-3, 2e-3, 2e-3, 2e-3])

#: Camera sensor of AREABSCR1 in pixels (width, height), before binning.
SCREEN_RESOLUTION: tuple[int, int] = (2448, 2040)
#: Physical size of one unbinned pixel (width, height) in m.
SCREEN_PIXEL_SIZE = np.array([3.3198e-6, 2.4469e-6])
#: Default camera binning (4 × 4 pixels read out as one).
SCREEN_BINNING = 4
#: Half-width and half-height of the screen in m (≈ 4.06 mm × 2.50 mm).
SCREEN_HALF_SIZE = np.array(SCREEN_RESOLUTION) * SCREEN_PIXEL_SIZE / 2
