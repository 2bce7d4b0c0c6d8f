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

The same walk serves numpy arrays and torch tensors: :func:`transfer_rows` and
:func:`focus_sigmas` (beam sizes from Q1, Q2, Q3 alone) are differentiable with
``xp=torch`` for the gradient search of the best focus
(:mod:`rltutorial.evaluation.optimum`); :mod:`rltutorial.envs.focal` builds the
focal-plane settings on them.

:func:`rltutorial.envs.cheetah.simulate_screen_beam` (Cheetah's own tracking) stays the
reference; ``tests/test_optics.py`` compares both over random magnets, incoming beams
and misalignments to 1e-12 relative.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rltutorial.envs.ranges import DEFAULT_INCOMING, LATTICE, MAGNET_NAMES

__all__ = ["focus_sigmas", "screen_beam", "transfer_rows"]

#: Which magnet setting (index into Q1, Q2, CV, Q3, CH) drives each lattice element.
_SETTING = {name: index for index, name in enumerate(MAGNET_NAMES)}
#: Which misalignment pair (Q1, Q2, Q3 → 0, 1, 2) belongs to each quadrupole.
_QUAD_PAIR = {"AREAMQZM1": 0, "AREAMQZM2": 1, "AREAMQZM3": 2}
#: The corrector that kicks each plane.
_KICKS = {"HorizontalCorrector": 0, "VerticalCorrector": 1}


def _quadrupole(k1: Any, length: float, xp: Any) -> tuple[Any, Any, Any]:
    """cos(√k L), sin(√k L)/√k and −√k sin(√k L) of thick quadrupoles of strength
    ``k1`` in 1/m² (their hyperbolic forms where k1 ≤ 0), for numpy or torch arrays."""
    if xp is np:  # one complex evaluation is cheaper than both branches
        phase = np.sqrt(k1 + 0j) * length  # imaginary where the plane defocuses
        sin_over_w = (np.sinc(phase / np.pi) * length).real  # sin(√k L)/√k, L at 0
        return np.cos(phase).real, sin_over_w, -k1 * sin_over_w
    w = xp.sqrt(xp.abs(k1) + 1e-30)
    phase = w * length
    focusing = k1 > 0
    cos = xp.where(focusing, xp.cos(phase), xp.cosh(phase))
    sin_over_w = xp.where(focusing, xp.sin(phase), xp.sinh(phase)) / w
    derivative = xp.where(focusing, -w * xp.sin(phase), w * xp.sinh(phase))
    return cos, sin_over_w, derivative


def _first_rows(magnets: Any, misalignments: Any, xp: Any = np) -> tuple[Any, Any, Any]:
    """First rows (a, b, c) of the x and y affine maps from the entrance to the screen,
    each (2, N): position on the screen = a·x + b·x' + c.

    Walks the lattice backwards from the screen: a drift of length L adds ``a·L`` to
    ``b``; a corrector is a drift with its kick added to the exit angle (``c += b·θ``
    in its plane); a quadrupole shifted by ``d`` sees ``x − d`` (``c += d·(a − a')``).
    ``magnets`` (N, 5) and ``misalignments`` (N, 8) are numpy arrays or torch tensors
    (``xp`` the module), so the same walk serves tracking and gradient-based search.
    """
    signs = np.array([[1.0], [-1.0]])  # a quadrupole focusing in x defocuses in y
    if xp is not np:
        signs = xp.as_tensor(signs, dtype=magnets.dtype)
    a, b = xp.ones_like(magnets[:, :2].T), xp.zeros_like(magnets[:, :2].T)
    c = -misalignments[:, 6:8].T
    for kind, name, length in reversed(LATTICE):
        if kind == "Quadrupole":
            pair = 2 * _QUAD_PAIR[name]
            k1 = signs * magnets[:, _SETTING[name]]
            offset = misalignments[:, pair : pair + 2].T
            cos, sin_over_w, derivative = _quadrupole(k1, length, xp)
            new_a = a * cos + b * derivative
            a, b, c = new_a, a * sin_over_w + b * cos, c + offset * (a - new_a)
            continue
        if kind in _KICKS:  # only its own plane: signs → (1, 0) or (0, 1)
            plane = (signs + 1) / 2 if _KICKS[kind] == 0 else (1 - signs) / 2
            c = c + b * (plane * magnets[:, _SETTING[name]])
        b = a * length + b  # drift (and a corrector's length)
    return a, b, c


def transfer_rows(quadrupoles: Any, xp: Any = np) -> Any:
    """R11, R12, R33, R34 from the entrance of the Experimental Area to the screen.

    Correctors and misalignments do not change these (they only shift the beam).

    Parameters
    ----------
    quadrupoles : ndarray (..., 3)
        k1 of Q1, Q2, Q3 in 1/m² (positive focuses horizontally).
    xp : module
        ``numpy`` (default) or ``torch`` (differentiable).

    Returns
    -------
    ndarray (..., 4)
        R11 and R33 (dimensionless), R12 and R34 (m).
    """
    if xp is np:
        quadrupoles = np.asarray(quadrupoles, dtype=float)
    shape = quadrupoles.shape[:-1]
    flat = quadrupoles.reshape(-1, 3)
    zero = flat[:, 0] * 0
    magnets = xp.stack([flat[:, 0], flat[:, 1], zero, flat[:, 2], zero], -1)
    a, b, _ = _first_rows(magnets, xp.stack([zero] * 8, -1), xp)
    return xp.stack([a[0], b[0], a[1], b[1]], -1).reshape(*shape, 4)


def focus_sigmas(quadrupoles: Any, incoming: Any, xp: Any = np) -> Any:
    """Beam sizes on the screen from Q1, Q2, Q3 and the incoming beam, in closed form.

    Parameters
    ----------
    quadrupoles : ndarray (..., 3)
        k1 of Q1, Q2, Q3 in 1/m² (positive focuses horizontally).
    incoming : ndarray (..., 11)
        Incoming beam as in :func:`rltutorial.envs.simulate_screen_beam`; only
        sigma_x, sigma_xp, sigma_y, sigma_yp (m, rad) matter.
    xp : module
        ``numpy`` (default) or ``torch`` (differentiable).

    Returns
    -------
    ndarray (..., 2)
        sigma_x, sigma_y on the screen in m (uncorrelated incoming beam, linear optics).
    """
    if xp is np:
        incoming = np.asarray(incoming, dtype=float)
    rows = transfer_rows(quadrupoles, xp)
    sigmas = [
        xp.sqrt(
            (rows[..., 2 * plane] * incoming[..., size]) ** 2
            + (rows[..., 2 * plane + 1] * incoming[..., divergence]) ** 2
        )
        for plane, (size, divergence) in enumerate(((5, 6), (7, 8)))
    ]
    return xp.stack(sigmas, -1)


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
    a, b, c = _first_rows(magnets, misalignments)
    beam = np.empty((magnets.shape[0], 4))
    # incoming columns: mu_x 1, mu_xp 2, mu_y 3, mu_yp 4, sigma_x 5, ... sigma_yp 8
    beam[:, 0::2] = (a * incoming[:, 1:5:2].T + b * incoming[:, 2:5:2].T + c).T
    beam[:, 1::2] = np.hypot(a * incoming[:, 5:9:2].T, b * incoming[:, 6:9:2].T).T
    return beam.reshape(*shape, 4)
