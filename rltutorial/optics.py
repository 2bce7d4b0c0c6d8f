"""Closed-form linear optics of the ARES-EA triplet: beam sizes and focal-plane settings.

Beam sizes on the screen AREABSCR1 depend only on Q1, Q2, Q3 and the incoming beam's
sizes and divergences: correctors and beam positions do not change them in linear optics,
the quadrupoles act without chromatic terms, and the incoming beam has no correlations.
Per plane, with the first row (R11, R12) of the transfer matrix from the entrance of the
Experimental Area to the screen (thick quadrupoles and drifts from
:data:`rltutorial.envs.ranges.LATTICE`; vertical: R33, R34, the quadrupoles' signs
flipped)::

    sigma_x**2 = R11**2 * sigma_x0**2 + R12**2 * sigma_xp0**2

- :func:`transfer_rows` and :func:`focus_sigmas` evaluate this for many settings at once
  (numpy or torch), equal to Cheetah to 1e-13 (tested).
- :func:`focal_settings` solves R11 = R33 = 0 at |Q1| = 72 1/m²: the screen in the
  focal plane of the triplet in both planes, where the spot no longer depends on the
  incoming sizes, only on the divergences (sigma = |R12| sigma_x'). Four such settings
  exist there (A+, A−, B+, B−); the best focus of every focusing problem lies next to
  one of them.
- :func:`infer_incoming` recovers the incoming sizes and divergences from screen readings
  at two or more known settings (an operator's measurement, no hidden information).

Pure functions of arrays; k1 in 1/m², lengths in m, angles in rad.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from rltutorial.envs.ranges import LATTICE, QUAD_K1_LIMIT

__all__ = [
    "FOCAL_NAMES",
    "focal_settings",
    "focus_sigmas",
    "infer_incoming",
    "transfer_rows",
]

#: Names of the four focal-plane settings of :func:`focal_settings`, in its order.
FOCAL_NAMES: tuple[str, ...] = ("A+", "A-", "B+", "B-")
#: Starting guesses (Q2, Q3 in 1/m²) for the focal-plane solutions at Q1 = +72: branch A
#: (Q2 of the opposite sign to Q1) and branch B (Q2 of the same sign). Mirror images
#: (all signs flipped) give A− and B−.
_BRANCH_GUESSES = {"A": (-25.0, 24.0), "B": (33.0, -24.0)}


def _gaps() -> tuple[tuple[float, ...], float]:
    """Field-free lengths in m (entrance → Q1, Q1 → Q2, Q2 → Q3, Q3 → screen; a
    corrector counts as drift for beam sizes) and the quadrupole length, from LATTICE.
    """
    gaps, length, quad = [], 0.0, 0.0
    for kind, _, size in LATTICE:
        if kind == "Quadrupole":
            gaps.append(length)
            length, quad = 0.0, size
        else:
            length += size
    return (*gaps, length), quad


#: Distances in m: entrance → Q1, Q1 → Q2, Q2 → Q3, Q3 → screen; quadrupole length in m.
_DRIFTS, _QUAD_LENGTH = _gaps()


def _quadrupole(k1: Any, xp: Any) -> tuple[Any, Any, Any]:
    """cos-like, sin-like/w and derivative terms of thick quadrupoles of strength ``k1``.

    Works for numpy arrays (``xp=numpy``) and torch tensors (``xp=torch``).
    """
    w = xp.sqrt(xp.abs(k1) + 1e-30)
    phase = w * _QUAD_LENGTH
    focusing = k1 > 0
    cos = xp.where(focusing, xp.cos(phase), xp.cosh(phase))
    sin_over_w = xp.where(focusing, xp.sin(phase), xp.sinh(phase)) / w
    derivative = xp.where(focusing, -w * xp.sin(phase), w * xp.sinh(phase))
    return cos, sin_over_w, derivative


def _first_row(k1: Any, xp: Any) -> tuple[Any, Any]:
    """R11, R12 of one plane, entrance to screen, for strengths ``k1`` (..., 3) in 1/m²."""
    a, b = xp.ones_like(k1[..., 0]), xp.zeros_like(k1[..., 0]) + _DRIFTS[0]
    c, d = xp.zeros_like(a), xp.ones_like(a)
    for index in range(3):
        cos, sin_over_w, derivative = _quadrupole(k1[..., index], xp)
        a, b, c, d = (
            cos * a + sin_over_w * c,
            cos * b + sin_over_w * d,
            derivative * a + cos * c,
            derivative * b + cos * d,
        )
        a, b = a + _DRIFTS[index + 1] * c, b + _DRIFTS[index + 1] * d
    return a, b


def transfer_rows(quadrupoles: Any, xp: Any = np) -> Any:
    """R11, R12, R33, R34 from the entrance of the Experimental Area to the screen.

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
    r11, r12 = _first_row(quadrupoles, xp)
    r33, r34 = _first_row(-quadrupoles, xp)
    return xp.stack([r11, r12, r33, r34], -1)


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


def _solve_focal(q1: float, guess: tuple[float, float]) -> np.ndarray:
    """Q1, Q2, Q3 (1/m²) with R11 = R33 = 0 for the given Q1, from a guess of Q2, Q3."""
    from scipy.optimize import root

    def residual(q2_q3: np.ndarray) -> np.ndarray:
        rows = transfer_rows(np.array([q1, *q2_q3]))
        return rows[[0, 2]]

    result = root(residual, np.asarray(guess, dtype=float), tol=1e-14)
    setting = np.array([q1, *result.x])
    if not np.all(np.abs(residual(result.x)) < 1e-9):
        raise RuntimeError(f"No focal-plane setting found near {setting} 1/m².")
    return setting


@lru_cache(maxsize=1)
def _focal_table() -> np.ndarray:
    plus = {name: _solve_focal(QUAD_K1_LIMIT, g) for name, g in _BRANCH_GUESSES.items()}
    return np.array([plus["A"], -plus["A"], plus["B"], -plus["B"]])


def focal_settings() -> dict[str, np.ndarray]:
    """The four focal-plane settings of the triplet at the power-supply limit |Q1| = 72.

    At each, the screen lies in the focal plane in both planes (R11 = R33 = 0), so the
    spot is ``|R12| sigma_x' + |R34| sigma_y'`` whatever the incoming beam's sizes. They
    depend on the lattice only, not on the beam, and are solved from
    :func:`transfer_rows` (root finding, residual below 1e-9).

    - ``"A+"``: Q1 = +72, Q2 ≈ −24.90, Q3 ≈ +24.20 (|R12| small, |R34| large: best when
      the horizontal divergence is the larger one);
    - ``"A-"``: its mirror image (all signs flipped);
    - ``"B+"``: Q1 = +72, Q2 ≈ +32.67 (same sign as Q1), Q3 ≈ −24.35 (|R34| very
      small: wins only for a far larger vertical than horizontal divergence);
    - ``"B-"``: its mirror image.

    Returns
    -------
    dict
        Name → ndarray (3,) of Q1, Q2, Q3 in 1/m², in the order of :data:`FOCAL_NAMES`
        (fresh copies; changing them changes nothing here).
    """
    rows = zip(FOCAL_NAMES, _focal_table(), strict=True)
    return {name: row.copy() for name, row in rows}


def infer_incoming(quadrupoles: Any, sigmas: Any) -> np.ndarray:
    """Incoming beam sizes and divergences that explain screen readings at known settings.

    Each reading gives, per plane, one linear equation in the incoming sigma² and
    sigma'² (``sigma_screen² = R11² sigma0² + R12² sigma'²``); two readings at settings
    with different rows determine both, more are fitted by least squares. Negative
    solutions (from noisy readings) are set to zero.

    Parameters
    ----------
    quadrupoles : ndarray (n, 3)
        Q1, Q2, Q3 in 1/m² of each reading, n ≥ 2.
    sigmas : ndarray (n, 2)
        sigma_x, sigma_y read on the screen in m.

    Returns
    -------
    ndarray (4,)
        sigma_x, sigma_xp, sigma_y, sigma_yp of the incoming beam (m, rad).

    Raises
    ------
    ValueError
        For fewer than two readings, mismatched shapes or non-finite values.
    """
    quadrupoles = np.asarray(quadrupoles, dtype=float)
    sigmas = np.asarray(sigmas, dtype=float)
    if (
        quadrupoles.ndim != 2
        or quadrupoles.shape[1] != 3
        or sigmas.shape != (len(quadrupoles), 2)
        or len(quadrupoles) < 2
    ):
        raise ValueError(
            "infer_incoming needs n >= 2 readings: quadrupoles of shape (n, 3) and "
            f"sigmas of shape (n, 2), got {quadrupoles.shape} and {sigmas.shape}."
        )
    if not (np.all(np.isfinite(quadrupoles)) and np.all(np.isfinite(sigmas))):
        raise ValueError("infer_incoming needs finite settings and readings.")
    rows = transfer_rows(quadrupoles) ** 2
    moments = []
    for plane in range(2):
        matrix = rows[:, 2 * plane : 2 * plane + 2]
        solution = np.linalg.lstsq(matrix, sigmas[:, plane] ** 2, rcond=None)[0]
        moments.extend(np.sqrt(np.clip(solution, 0.0, None)))
    return np.array(moments)
