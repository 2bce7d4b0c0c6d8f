"""Focal-plane settings of the ARES-EA triplet, and the incoming beam from screen readings.

Beam sizes on the screen AREABSCR1 depend only on Q1, Q2, Q3 and the incoming beam's
sizes and divergences: correctors and beam positions do not change them in linear optics,
the quadrupoles act without chromatic terms, and the incoming beam has no correlations.
Per plane, with the first row (R11, R12) of the transfer matrix from the entrance of the
Experimental Area to the screen (:func:`rltutorial.envs.optics.transfer_rows`; vertical:
R33, R34)::

    sigma_x**2 = R11**2 * sigma_x0**2 + R12**2 * sigma_xp0**2

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

from rltutorial.envs.optics import transfer_rows
from rltutorial.envs.ranges import QUAD_K1_LIMIT

__all__ = ["FOCAL_NAMES", "focal_settings", "infer_incoming"]

#: Names of the four focal-plane settings of :func:`focal_settings`, in its order.
FOCAL_NAMES: tuple[str, ...] = ("A+", "A-", "B+", "B-")
#: Starting guesses (Q2, Q3 in 1/m²) for the focal-plane solutions at Q1 = +72: branch A
#: (Q2 of the opposite sign to Q1) and branch B (Q2 of the same sign). Mirror images
#: (all signs flipped) give A− and B−.
_BRANCH_GUESSES = {"A": (-25.0, 24.0), "B": (33.0, -24.0)}


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
