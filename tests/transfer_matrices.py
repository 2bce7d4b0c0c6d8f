"""An independent linear-optics model of ARES-EA in plain numpy, to check Cheetah against.

States are augmented vectors (x, x', y, y', 1); every element is a 5 × 5 matrix, so
corrector kicks and misalignment offsets are affine parts of the same product.
"""

from __future__ import annotations

import numpy as np

DRIFTS = (0.17504, 0.428, 0.204, 0.204, 0.179, 0.45)
QUAD_LENGTH = 0.122
CORRECTOR_LENGTH = 0.02


def drift(length: float) -> np.ndarray:
    m = np.eye(5)
    m[0, 1] = m[2, 3] = length
    return m


def _focusing_block(k: float, length: float) -> np.ndarray:
    if k > 0:
        w = np.sqrt(k)
        return np.array(
            [
                [np.cos(w * length), np.sin(w * length) / w],
                [-w * np.sin(w * length), np.cos(w * length)],
            ]
        )
    if k < 0:
        w = np.sqrt(-k)
        return np.array(
            [
                [np.cosh(w * length), np.sinh(w * length) / w],
                [w * np.sinh(w * length), np.cosh(w * length)],
            ]
        )
    return np.array([[1.0, length], [0.0, 1.0]])


def shift(dx: float, dy: float) -> np.ndarray:
    m = np.eye(5)
    m[0, 4], m[2, 4] = dx, dy
    return m


def quadrupole(k1: float, length: float = QUAD_LENGTH, offset=(0.0, 0.0)) -> np.ndarray:
    """Thick quadrupole (k1 > 0 focuses in x), displaced by ``offset`` (m)."""
    m = np.eye(5)
    m[0:2, 0:2] = _focusing_block(k1, length)
    m[2:4, 2:4] = _focusing_block(-k1, length)
    return shift(*offset) @ m @ shift(-offset[0], -offset[1])


def corrector(angle: float, plane: str, length: float = CORRECTOR_LENGTH) -> np.ndarray:
    """Drift of the corrector's length followed by a kick of ``angle`` rad."""
    kick = np.eye(5)
    kick[1 if plane == "x" else 3, 4] = angle
    return kick @ drift(length)


def screen_beam(magnets, incoming, misalignments) -> np.ndarray:
    """[mu_x, sigma_x, mu_y, sigma_y] on the screen for one set of inputs."""
    q1, q2, cv, q3, ch = magnets
    mis = np.asarray(misalignments).reshape(4, 2)
    elements = [
        drift(DRIFTS[0]),
        quadrupole(q1, offset=mis[0]),
        drift(DRIFTS[1]),
        quadrupole(q2, offset=mis[1]),
        drift(DRIFTS[2]),
        corrector(cv, "y"),
        drift(DRIFTS[3]),
        quadrupole(q3, offset=mis[2]),
        drift(DRIFTS[4]),
        corrector(ch, "x"),
        drift(DRIFTS[5]),
    ]
    total = np.eye(5)
    for element in elements:
        total = element @ total
    _, mu_x, mu_xp, mu_y, mu_yp, sx, sxp, sy, syp, _, _ = incoming
    mean = total @ np.array([mu_x, mu_xp, mu_y, mu_yp, 1.0])
    cov = total[:4, :4] @ np.diag([sx**2, sxp**2, sy**2, syp**2]) @ total[:4, :4].T
    return np.array(
        [
            mean[0] - mis[3, 0],
            np.sqrt(cov[0, 0]),
            mean[2] - mis[3, 1],
            np.sqrt(cov[2, 2]),
        ]
    )
