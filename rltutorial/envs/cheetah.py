"""The ARES Experimental Area simulated with Cheetah's physics.

:func:`simulate_screen_beam` gives the screen beam of any batch of magnet settings,
incoming beams and misalignments: by default with Cheetah's first-order maps evaluated
in closed form (:mod:`rltutorial.envs.optics`), or with Cheetah's own tracking of the
lattice :func:`build_segment` creates (``tracker="cheetah"``, the reference the fast
path is tested against). :class:`CheetahBackend` is the
:class:`~rltutorial.envs.backend.Backend` the environment uses. Cheetah is imported
lazily, so importing :mod:`rltutorial` stays cheap.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from rltutorial.envs.backend import Backend
from rltutorial.envs.checks import check_incoming, check_magnets, check_misalignments
from rltutorial.envs.optics import screen_beam
from rltutorial.envs.ranges import (
    DEFAULT_INCOMING,
    LATTICE,
    SCREEN_BINNING,
    SCREEN_PIXEL_SIZE,
    SCREEN_RESOLUTION,
)
from rltutorial.envs.sampling import (
    as_vector,
    calibration_sampler,
    hidden_state_samplers,
)
from rltutorial.registry import lookup
from rltutorial.threads import torch_threads

__all__ = [
    "TRACKERS",
    "simulate_screen_beam",
    "true_magnets",
    "track_with_cheetah",
    "tracking",
    "CheetahBackend",
]

_QUADRUPOLES = ("AREAMQZM1", "AREAMQZM2", "AREAMQZM3")
#: Slots of Q1, Q2, Q3 in a setting (Q1, Q2, CV, Q3, CH).
_QUADRUPOLE_SLOTS = [0, 1, 3]
_CACHE = threading.local()


def build_segment():
    """Build the ARES-EA lattice as a ``cheetah.Segment`` in float64.

    Returns
    -------
    cheetah.Segment
        Magnets at zero, no misalignments. The screen element marks the end of the
        line; its camera is modelled by :mod:`rltutorial.envs.screen`.
    """
    import cheetah
    import torch

    def length(value: float) -> torch.Tensor:
        return torch.tensor(value, dtype=torch.float64)

    elements = []
    for kind, name, size in LATTICE:
        if kind == "Marker":
            elements.append(cheetah.Marker(name=name, dtype=torch.float64))
        elif kind == "Screen":
            elements.append(
                cheetah.Screen(
                    resolution=SCREEN_RESOLUTION,
                    pixel_size=torch.tensor(SCREEN_PIXEL_SIZE, dtype=torch.float64),
                    binning=SCREEN_BINNING,
                    name=name,
                    dtype=torch.float64,
                )
            )
        else:
            elements.append(
                getattr(cheetah, kind)(
                    length=length(size), name=name, dtype=torch.float64
                )
            )
    return cheetah.Segment(elements, name="ARES_EA")


def _segment():
    if not hasattr(_CACHE, "segment"):
        _CACHE.segment = build_segment()
    return _CACHE.segment


def _incoming_beam(incoming: np.ndarray):
    import cheetah
    import torch

    t = torch.as_tensor(incoming, dtype=torch.float64)
    return cheetah.ParameterBeam.from_parameters(
        energy=t[..., 0],
        mu_x=t[..., 1],
        mu_px=t[..., 2],
        mu_y=t[..., 3],
        mu_py=t[..., 4],
        sigma_x=t[..., 5],
        sigma_px=t[..., 6],
        sigma_y=t[..., 7],
        sigma_py=t[..., 8],
        sigma_tau=t[..., 9],
        sigma_p=t[..., 10],
        dtype=torch.float64,
    )


def simulate_screen_beam(
    magnets: np.ndarray,
    incoming: np.ndarray | None = None,
    misalignments: np.ndarray | None = None,
    tracker: str | None = None,
    calibration: np.ndarray | None = None,
) -> np.ndarray:
    """The beam on the screen AREABSCR1 for any batch of settings, beams and errors.

    Parameters
    ----------
    magnets : ndarray (..., 5)
        Q1, Q2 (k1 in 1/m²), CV (rad), Q3 (1/m²), CH (rad).
    incoming : ndarray (..., 11), optional
        energy (eV), mu_x (m), mu_xp (rad), mu_y (m), mu_yp (rad), sigma_x (m),
        sigma_xp (rad), sigma_y (m), sigma_yp (rad), sigma_s (m), sigma_p (1);
        defaults to :data:`~rltutorial.envs.ranges.DEFAULT_INCOMING`.
    misalignments : ndarray (..., 8), optional
        Q1 x, y; Q2 x, y; Q3 x, y; screen x, y in m; defaults to zeros.
    tracker : {"optics", "cheetah"} or None
        ``"optics"``: Cheetah's first-order maps evaluated in closed form for all
        settings at once (:mod:`rltutorial.envs.optics`, equal to Cheetah's tracking to
        1e-12, tested); ``"cheetah"``: one call of Cheetah's own ``Segment.track`` with
        a ``ParameterBeam`` (the reference, many times slower per call). None: the
        tracker of the enclosing :func:`tracking` block, ``"optics"`` outside one.
    calibration : ndarray (..., 3), optional
        Relative calibration errors ε of Q1, Q2, Q3: the magnets act with k1 × (1 + ε)
        (:func:`true_magnets`; the limits apply to the set values); None: exact.

    Returns
    -------
    ndarray (..., 4)
        mu_x, sigma_x, mu_y, sigma_y on the screen in m (batch shape broadcast from the
        inputs).

    Raises
    ------
    ValueError
        Before any tracking, for an input of the wrong shape or with a NaN or infinite
        value, a quadrupole beyond ±72 1/m² or a corrector beyond ±6.1782e-3 rad, an
        incoming energy, size or spread that is not > 0, or a misalignment beyond
        ±1 cm (:mod:`rltutorial.envs.checks`; the message names the entry and the
        valid range), for an unknown tracker, or if the tracked beam is not finite.
    """
    track = lookup(TRACKERS, tracker or _TRACKER.get(), "tracker")
    # the checks copy: torch needs writable arrays
    magnets = check_magnets(magnets)
    incoming = check_incoming(DEFAULT_INCOMING if incoming is None else incoming)
    misalignments = check_misalignments(
        np.zeros(8) if misalignments is None else misalignments
    )
    if calibration is not None:
        magnets = true_magnets(magnets, calibration)
    beam = track(magnets, incoming, misalignments)
    if not np.all(np.isfinite(beam)):
        raise ValueError(
            f"the tracked screen beam is not finite ({beam.ravel()[:4]} ...) for magnets "
            f"{magnets.ravel()[:5]}, incoming {incoming.ravel()[:11]}"
        )
    return beam


def true_magnets(magnets: np.ndarray, calibration: np.ndarray) -> np.ndarray:
    """The magnets as they act: Q1, Q2, Q3 of ``magnets`` scaled by (1 + ε).

    Parameters
    ----------
    magnets : ndarray (..., 5)
        Set values: Q1, Q2 (k1 in 1/m²), CV (rad), Q3 (1/m²), CH (rad).
    calibration : ndarray (..., 3)
        Relative calibration errors ε of Q1, Q2, Q3 (dimensionless, |ε| < 1).

    Returns
    -------
    ndarray (..., 5)
        A new array; correctors unchanged, quadrupoles k1 × (1 + ε) (may exceed the
        ±72 1/m² of the set values).

    Raises
    ------
    ValueError
        If ``calibration`` does not end in 3 values or holds an ε that is not finite
        or with |ε| ≥ 1.
    """
    epsilon = np.asarray(calibration, dtype=float)
    if epsilon.shape[-1:] != (3,) or not np.all(np.abs(epsilon) < 1):
        raise ValueError(
            f"calibration must hold 3 relative errors (Q1, Q2, Q3) with |ε| < 1, got "
            f"{epsilon.ravel()[:6]} of shape {epsilon.shape}."
        )
    result = np.array(magnets, dtype=float)
    result[..., _QUADRUPOLE_SLOTS] = result[..., _QUADRUPOLE_SLOTS] * (1.0 + epsilon)
    return result


def track_with_cheetah(
    magnets: np.ndarray, incoming: np.ndarray, misalignments: np.ndarray
) -> np.ndarray:
    """Cheetah's own tracking (one ``Segment.track`` call on one torch thread) of
    checked inputs; see :func:`simulate_screen_beam` for shapes and units."""
    with torch_threads(1):
        return _track(_segment(), magnets, incoming, misalignments)


def _track(
    segment, magnets: np.ndarray, incoming: np.ndarray, misalignments: np.ndarray
) -> np.ndarray:
    import torch

    k1 = torch.as_tensor(magnets, dtype=torch.float64)
    offsets = torch.as_tensor(misalignments, dtype=torch.float64)
    for index, name in zip((0, 1, 3), _QUADRUPOLES, strict=True):
        getattr(segment, name).k1 = k1[..., index]
    segment.AREAMCVM1.angle = k1[..., 2]
    segment.AREAMCHM1.angle = k1[..., 4]
    for pair, name in enumerate(_QUADRUPOLES):
        getattr(segment, name).misalignment = offsets[..., 2 * pair : 2 * pair + 2]
    out = segment.track(_incoming_beam(incoming))
    # The screen reads positions relative to its own (misaligned) centre. Cheetah 0.8's
    # Screen cannot broadcast a batch of misalignments against a batch of beams, so the
    # offset is applied here.
    beam = torch.stack([out.mu_x, out.sigma_x, out.mu_y, out.sigma_y], dim=-1)
    beam[..., 0] = beam[..., 0] - offsets[..., 6]
    beam[..., 2] = beam[..., 2] - offsets[..., 7]
    return beam.detach().numpy().astype(float, copy=True)


#: How :func:`simulate_screen_beam` tracks: name -> function(magnets, incoming,
#: misalignments) of checked arrays -> screen beams (..., 4) in m.
TRACKERS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "optics": screen_beam,
    "cheetah": track_with_cheetah,
}


_TRACKER: contextvars.ContextVar[str] = contextvars.ContextVar(
    "tracker", default="optics"
)


@contextlib.contextmanager
def tracking(tracker: str) -> Iterator[None]:
    """Track with ``tracker`` (a name in :data:`TRACKERS`) inside the block, wherever
    :func:`simulate_screen_beam` is called without one (environments, sweeps); used to
    measure the paths side by side (``benchmarks/``)."""
    lookup(TRACKERS, tracker, "tracker")
    token = _TRACKER.set(tracker)
    try:
        yield
    finally:
        _TRACKER.reset(token)


class CheetahBackend(Backend):
    """ARES-EA in Cheetah, with a seeded random incoming beam and misalignments.

    Parameters
    ----------
    incoming_mode : {"random", "constant"}
        Draw the incoming beam uniformly within the design ranges each episode, or use
        ``incoming_values``.
    incoming_values : sequence of 11 float, optional
        Constant incoming beam (see :func:`simulate_screen_beam`); default a 107 MeV beam.
        Energy, sizes and spreads must be > 0.
    misalignment_mode : {"random", "constant"}
        Draw misalignments uniformly in ±2 mm, or use ``misalignment_values``.
    misalignment_values : sequence of 8 float, optional
        Constant misalignments in m, within ±1 cm; default zeros.
    calibration_error : float
        Bound of the unknown relative calibration errors of Q1, Q2, Q3: each episode
        draws ε uniformly in ±``calibration_error`` per quadrupole (first, from the
        episode's generator) and the beam is tracked with k1 × (1 + ε), while the
        magnets read back are the set values; 0 (default): an exact machine, nothing
        drawn. The reset option ``calibration`` (3 numbers) fixes ε for one episode;
        the info reports ``calibration`` when the option is on.

    Raises
    ------
    ValueError
        For values (here or in the reset options ``incoming``, ``misalignments`` and
        ``calibration``) that :mod:`rltutorial.envs.checks` refuses, naming the entry
        and valid range, and for a ``calibration_error`` outside [0, 0.5].
    """

    option_keys = ("incoming", "misalignments", "calibration")

    def __init__(
        self,
        incoming_mode: str = "random",
        incoming_values: np.ndarray | None = None,
        misalignment_mode: str = "constant",
        misalignment_values: np.ndarray | None = None,
        calibration_error: float = 0.0,
    ) -> None:
        self.incoming_sampler, self.misalignment_sampler = hidden_state_samplers(
            incoming_mode, incoming_values, misalignment_mode, misalignment_values
        )
        self.calibration_sampler = calibration_sampler(calibration_error)
        self.calibration: np.ndarray | None = None
        self.incoming = self.incoming_sampler.values.copy()
        self.misalignments = self.misalignment_sampler.values.copy()
        self.magnets = np.zeros(5)
        self._beam: np.ndarray | None = None

    def reset(self, rng: np.random.Generator, options: Mapping[str, Any]) -> None:
        """Draw (or take from ``options``) this episode's calibration errors (if on),
        incoming beam and misalignments."""
        calibration = None
        if self.calibration_sampler is not None:
            calibration = self.calibration_sampler.draw(rng)
        if options.get("calibration") is not None:
            calibration = as_vector(options["calibration"], 3, "options['calibration']")
            true_magnets(np.zeros(5), calibration)
        incoming = self.incoming_sampler.draw(rng)
        misalignments = self.misalignment_sampler.draw(rng)
        if options.get("incoming") is not None:
            incoming = as_vector(options["incoming"], 11, "options['incoming']")
            check_incoming(incoming, "options['incoming']")
        if options.get("misalignments") is not None:
            misalignments = as_vector(
                options["misalignments"], 8, "options['misalignments']"
            )
            check_misalignments(misalignments, "options['misalignments']")
        self.incoming, self.misalignments = incoming, misalignments
        self.calibration = calibration
        self._beam = None

    def set_magnets(self, magnets: np.ndarray) -> None:
        """Set the five magnets (Q1, Q2, CV, Q3, CH)."""
        self.magnets = np.array(magnets, dtype=float)
        self._beam = None

    def get_magnets(self) -> np.ndarray:
        """The five magnet settings."""
        return self.magnets.copy()

    def get_beam(self) -> np.ndarray:
        """Beam on the screen [mu_x, sigma_x, mu_y, sigma_y] in m (tracked on demand)."""
        if self._beam is None:
            self._beam = simulate_screen_beam(
                self.magnets,
                self.incoming,
                self.misalignments,
                calibration=self.calibration,
            )
        return self._beam.copy()

    def simulate_beams(self, magnets: np.ndarray) -> np.ndarray:
        """Screen beams (K, 4) in m for settings (K, 5), this episode's beam and errors."""
        magnets = np.atleast_2d(magnets)
        n = len(magnets)
        return simulate_screen_beam(
            magnets,
            np.tile(self.incoming, (n, 1)),
            np.tile(self.misalignments, (n, 1)),
            calibration=self.calibration,
        )

    def get_incoming(self) -> np.ndarray:
        """This episode's incoming beam (11 numbers)."""
        return self.incoming.copy()

    def get_misalignments(self) -> np.ndarray:
        """This episode's misalignments (8 numbers, m)."""
        return self.misalignments.copy()

    def get_info(self) -> dict[str, Any]:
        """``calibration``: this episode's ε of Q1, Q2, Q3 (3 numbers) when set."""
        if self.calibration is None:
            return {}
        return {"calibration": self.calibration.copy()}
