"""The contract between the ARES-EA task and the machine it runs on.

:class:`~rltutorial.envs.ares_ea.AresEA` knows the task (spaces, rewards, termination);
a :class:`Backend` knows the machine: the real ARES accelerator through its control
system, or a simulation such as :class:`~rltutorial.envs.cheetah.CheetahBackend`.
Methods marked *Must be implemented* are abstract; *Optional* ones have defaults.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np

from rltutorial.envs.screen import fraction_on_screen, screen_image

__all__ = ["Backend"]


class Backend(ABC):
    """A machine (real or simulated) that the ARES-EA task can read and steer."""

    #: Reset options the backend understands (besides the task's own).
    option_keys: tuple[str, ...] = ()

    @abstractmethod
    def reset(self, rng: np.random.Generator, options: Mapping[str, Any]) -> None:
        """Must be implemented! Prepare a new episode.

        A simulation draws its hidden state (incoming beam, misalignments) from ``rng``
        only, so that seeding the environment makes episodes reproducible.
        """

    @abstractmethod
    def set_magnets(self, magnets: np.ndarray) -> None:
        """Must be implemented! Set Q1, Q2 (k1 in 1/m²), CV (rad), Q3 (1/m²), CH (rad)."""

    @abstractmethod
    def get_magnets(self) -> np.ndarray:
        """Must be implemented! Read back the five magnet settings, shape (5,)."""

    @abstractmethod
    def get_beam(self) -> np.ndarray:
        """Must be implemented! Beam on the screen [mu_x, sigma_x, mu_y, sigma_y] in m."""

    def get_screen_image(self, binning: int = 4) -> np.ndarray:
        """Optional. Screen image (H, W), share of the beam charge per pixel."""
        return screen_image(self.get_beam(), binning)

    def get_pixel_sum(self) -> float:
        """Optional. Sum of all screen pixels (share of the beam on the screen)."""
        return float(fraction_on_screen(self.get_beam()))

    def simulate_beams(self, magnets: np.ndarray) -> np.ndarray:
        """Optional. Screen beams (K, 4) these settings (K, 5) would give now, without
        changing the machine (needs a simulation; used for reachable targets)."""
        raise NotImplementedError(
            f"{type(self).__name__} cannot simulate other magnet settings, so "
            "target_beam_mode='reachable' is not available; use 'random' or 'constant'."
        )

    def get_incoming(self) -> np.ndarray | None:
        """Optional. The incoming beam (11 numbers) where the machine knows it."""
        return None

    def get_misalignments(self) -> np.ndarray | None:
        """Optional. Misalignments (8 numbers, m) where the machine knows them."""
        return None

    def get_info(self) -> dict[str, Any]:
        """Optional. Extra entries for the step's ``info`` dict."""
        return {}
