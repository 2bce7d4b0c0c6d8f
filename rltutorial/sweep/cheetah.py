"""The ``cheetah`` sweep backend: the ARES-EA screen beam for one point's settings.

A point names magnets (``q1``, ``q2``, ``q3`` in 1/m², ``cv``, ``ch`` in rad) and any
changes to the default incoming beam; the results are the beam on the screen,
:data:`CHEETAH_RESULTS`. Because those result names are also incoming-beam names, a
sweep gives the incoming beam's ``mu_x``, ``sigma_x``, ``mu_y``, ``sigma_y`` as
``incoming_mu_x`` and so on (every incoming quantity may be written that way). Inputs
are checked by :mod:`rltutorial.envs.checks` before tracking, so a point with magnets
beyond their limits or a non-positive energy fails with an error naming them.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "CHEETAH_RESULTS",
    "INCOMING_PREFIX",
    "cheetah_parameters",
    "cheetah_simulate",
]

#: Results of the ``cheetah`` backend: the beam on the screen in m.
CHEETAH_RESULTS: tuple[str, ...] = ("mu_x", "sigma_x", "mu_y", "sigma_y")
#: Prefix that names an incoming-beam quantity unambiguously (``incoming_sigma_x``).
INCOMING_PREFIX = "incoming_"


def cheetah_parameters() -> tuple[str, ...]:
    """Names :func:`cheetah_simulate` takes: the magnets, then every incoming-beam
    quantity plain (``energy``) and prefixed (``incoming_energy``)."""
    from rltutorial.envs.ranges import INCOMING_LABELS

    prefixed = tuple(INCOMING_PREFIX + label for label in INCOMING_LABELS)
    return ("q1", "q2", "cv", "q3", "ch", *INCOMING_LABELS, *prefixed)


def cheetah_simulate(
    q1: float = 0.0,
    q2: float = 0.0,
    cv: float = 0.0,
    q3: float = 0.0,
    ch: float = 0.0,
    **incoming_overrides: float,
) -> dict[str, float]:
    """Beam on the ARES-EA screen (Cheetah) for one set of magnet settings.

    Parameters
    ----------
    q1, q2, q3 : float
        Quadrupole strengths k1 in 1/m², within ±72.
    cv, ch : float
        Vertical and horizontal corrector angles in rad, within ±6.1782e-3.
    **incoming_overrides : float
        Changes to the default incoming beam, by name: ``energy`` (eV), ``mu_x``,
        ``mu_y``, ``sigma_x``, ``sigma_y``, ``sigma_s`` (m), ``mu_xp``, ``mu_yp``,
        ``sigma_xp``, ``sigma_yp`` (rad), ``sigma_p`` (relative); energy, sizes and
        spreads > 0. Each may also be written ``incoming_<name>``; a sweep needs
        that form for ``mu_x``, ``sigma_x``, ``mu_y`` and ``sigma_y``, which are also
        the names of the results.

    Returns
    -------
    dict[str, float]
        ``mu_x``, ``sigma_x``, ``mu_y``, ``sigma_y`` on the screen in m.

    Raises
    ------
    ValueError
        For an unknown incoming-beam name (lists the valid ones), a quantity given
        both plain and prefixed, or a value that
        :func:`~rltutorial.envs.cheetah.simulate_screen_beam` refuses (out-of-limit
        or non-finite magnets, a non-positive energy, size or spread), naming it and
        the valid range; a sweep then reports the point ``failed``.
    """
    from rltutorial.envs.cheetah import simulate_screen_beam
    from rltutorial.envs.ranges import BEAM_LABELS

    magnets = [q1, q2, cv, q3, ch]
    beam = simulate_screen_beam(magnets, incoming=_incoming(incoming_overrides))
    return {label: float(value) for label, value in zip(BEAM_LABELS, beam, strict=True)}


def _incoming(overrides: Mapping[str, float]):
    """The default incoming beam with ``overrides`` (plain or prefixed names) applied."""
    import numpy as np

    from rltutorial.envs.ranges import DEFAULT_INCOMING, INCOMING_LABELS

    if not overrides:
        return None
    unknown = sorted(set(overrides) - set(cheetah_parameters()))
    if unknown:
        raise ValueError(
            f"unknown incoming-beam parameter(s) {unknown}; valid are "
            f"{sorted(INCOMING_LABELS)}, also as '{INCOMING_PREFIX}<name>' (and the "
            "magnets q1, q2, cv, q3, ch)"
        )
    plain = {
        name.removeprefix(INCOMING_PREFIX): value for name, value in overrides.items()
    }
    if len(plain) < len(overrides):
        twice = sorted(set(overrides) & set(INCOMING_LABELS))
        twice = [n for n in twice if INCOMING_PREFIX + n in overrides]
        raise ValueError(
            f"incoming-beam parameter(s) {twice} given twice (plain and "
            f"as '{INCOMING_PREFIX}<name>')"
        )
    incoming = np.array(DEFAULT_INCOMING, dtype=float)
    for name, value in plain.items():
        incoming[INCOMING_LABELS.index(name)] = value
    return incoming
