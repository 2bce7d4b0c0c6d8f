"""ARES-EA's linear optics in closed form: the screen beam of N settings in a few µs each.

Cheetah tracks a Gaussian beam with first-order transfer maps (7 × 7, per element). For
this beamline the transverse planes do not couple (no tilts, no bends) and the beam
sizes and centres on the screen depend only on each plane's 2 × 2 maps and the offsets
that misalignments and corrector kicks add. This module evaluates exactly those maps —
the same formulas as Cheetah's ``base_rmatrix`` (thick quadrupoles, drifts), its
correctors (a drift with a kick added to the angle at the exit) and its misalignment
matrices (shift into the element's frame and back) — for all N settings at once with
numpy arithmetic on arrays of N, without building elements or tensors per call.

Only the first row of each plane's affine map from the entrance to the screen is needed:
``x_screen = R11 x + R12 x' + R13``. It is computed backwards from the screen as a row
vector, element by element. With the incoming beam uncorrelated (Cheetah's
``ParameterBeam.from_parameters`` without correlations), ``sigma_x² = (R11 σx)² +
(R12 σx')²`` and ``mu_x = R11 μx + R12 μx' + R13``. The energy does not enter: for
unbent elements the transverse maps do not depend on it.

:func:`rltutorial.envs.cheetah.simulate_screen_beam` (Cheetah's own tracking) stays the
reference; ``tests/test_optics.py`` compares both over random magnets, incoming beams
and misalignments to 1e-12 relative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rltutorial.envs.ranges import DEFAULT_INCOMING, LATTICE, MAGNET_NAMES

__all__ = ["screen_beam"]

#: Which magnet setting (index into Q1, Q2, CV, Q3, CH) drives each lattice element.
_SETTING = {name: index for index, name in enumerate(MAGNET_NAMES)}
#: Which misalignment pair (Q1, Q2, Q3 → 0, 1, 2) belongs to each quadrupole.
_QUAD_PAIR = {"AREAMQZM1": 0, "AREAMQZM2": 1, "AREAMQZM3": 2}
#: Sign of k1 in the x and y planes (a quadrupole focusing in x defocuses in y).
_PLANE_SIGN = np.array([[1.0], [-1.0]])
#: The corrector that kicks each plane.
_KICKS = {"HorizontalCorrector": 0, "VerticalCorrector": 1}


@dataclass
class _Rows:
    """First rows (a, b, c) of the x and y affine maps, arrays (2, N):
    position on the screen = a·x + b·x' + c."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray

    def drift(self, length: float) -> None:
        """Compose with a drift of ``length`` m placed before the current map."""
        self.b = self.a * length + self.b

    def kick(self, length: float, plane: int, angle: np.ndarray) -> None:
        """Compose with a corrector: a drift of ``length`` m, then ``angle`` (N,) rad
        added to the angle of ``plane`` (0: x, 1: y) at its exit."""
        self.c[plane] = self.c[plane] + self.b[plane] * angle
        self.drift(length)

    def quadrupole(self, length: float, k1: np.ndarray, offset: np.ndarray) -> None:
        """Compose with a thick quadrupole of strength ``k1`` (2, N) in 1/m² (each
        plane's sign) shifted by ``offset`` (2, N) m: it sees ``x − offset``."""
        phase = np.sqrt(k1 + 0j) * length  # imaginary for a defocusing plane
        cos = np.cos(phase).real
        sin_over_k = (np.sinc(phase / np.pi) * length).real  # sin(√k L)/√k, L at 0
        a, b = self.a, self.b
        self.a = a * cos - b * (k1 * sin_over_k)
        self.b = a * sin_over_k + b * cos
        self.c = self.c + offset * (a - self.a)


def _first_rows(magnets: np.ndarray, misalignments: np.ndarray) -> _Rows:
    """First rows of the x and y maps from the entrance to the screen, (2, N) each."""
    n = magnets.shape[0]
    rows = _Rows(np.ones((2, n)), np.zeros((2, n)), -misalignments[:, 6:8].T.copy())
    for kind, name, length in reversed(LATTICE):
        if kind == "Drift":
            rows.drift(length)
        elif kind == "Quadrupole":
            pair = 2 * _QUAD_PAIR[name]
            k1 = _PLANE_SIGN * magnets[:, _SETTING[name]]
            rows.quadrupole(length, k1, misalignments[:, pair : pair + 2].T)
        elif kind in _KICKS:
            rows.kick(length, _KICKS[kind], magnets[:, _SETTING[name]])
    return rows


def screen_beam(
    magnets: np.ndarray,
    incoming: np.ndarray | None = None,
    misalignments: np.ndarray | None = None,
) -> np.ndarray:
    """The beam on the screen for any batch of settings, in closed form.

    Parameters
    ----------
    magnets : ndarray (..., 5)
        Q1, Q2 (k1 in 1/m²), CV (rad), Q3 (1/m²), CH (rad).
    incoming : ndarray (..., 11), optional
        Incoming beam as in :func:`rltutorial.envs.cheetah.simulate_screen_beam`;
        defaults to :data:`~rltutorial.envs.ranges.DEFAULT_INCOMING`.
    misalignments : ndarray (..., 8), optional
        Q1 x, y; Q2 x, y; Q3 x, y; screen x, y in m; defaults to zeros.

    Returns
    -------
    ndarray (..., 4)
        mu_x, sigma_x, mu_y, sigma_y on the screen in m (batch shape broadcast from
        the inputs).
    """
    magnets = np.asarray(magnets, dtype=float)
    incoming = np.asarray(
        DEFAULT_INCOMING if incoming is None else incoming, dtype=float
    )
    misalignments = np.asarray(
        np.zeros(8) if misalignments is None else misalignments, dtype=float
    )
    shape = np.broadcast_shapes(
        magnets.shape[:-1], incoming.shape[:-1], misalignments.shape[:-1]
    )
    magnets = np.broadcast_to(magnets, (*shape, 5)).reshape(-1, 5)
    incoming = np.broadcast_to(incoming, (*shape, 11)).reshape(-1, 11)
    misalignments = np.broadcast_to(misalignments, (*shape, 8)).reshape(-1, 8)
    rows = _first_rows(magnets, misalignments)
    beam = np.empty((magnets.shape[0], 4))
    # incoming columns: mu_x 1, mu_xp 2, mu_y 3, mu_yp 4, sigma_x 5, ... sigma_yp 8
    beam[:, 0::2] = (
        rows.a * incoming[:, 1:5:2].T + rows.b * incoming[:, 2:5:2].T + rows.c
    ).T
    beam[:, 1::2] = np.hypot(
        rows.a * incoming[:, 5:9:2].T, rows.b * incoming[:, 6:9:2].T
    ).T
    return beam.reshape(*shape, 4)
