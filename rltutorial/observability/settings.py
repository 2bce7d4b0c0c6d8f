"""The settings of ``partial_observability``: schema, validated dataclass, helpers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from rltutorial.checks import Check, flag, number, settings

__all__ = [
    "PARTIAL_OBSERVABILITY_SCHEMA",
    "ObservationSettings",
    "as_settings",
    "observes_partially",
    "hides_magnets",
]

#: Settings of ``partial_observability``; each one left out is off: noise std in m
#: (absolute) and as a fraction of the reading (relative), probabilities of a lost
#: screen frame (flicker) and of a lost single beam value, hidden magnet readings.
PARTIAL_OBSERVABILITY_SCHEMA: dict[str, Check] = {
    "beam_noise": number(0.0, 1e-2),
    "beam_noise_relative": number(0.0, 1.0),
    "flicker": number(0.0, 1.0),
    "sensor_dropout": number(0.0, 1.0),
    "hide_magnets": flag,
}


@dataclass(frozen=True)
class ObservationSettings:
    """What the agent cannot see (see the module docstring for the details).

    Attributes
    ----------
    beam_noise : float
        Std of the absolute noise on each beam value, in m.
    beam_noise_relative : float
        Std of the relative noise, as a fraction of each beam value.
    flicker : float
        Probability that a step's whole beam reading is missing.
    sensor_dropout : float
        Probability that a single beam value is missing.
    hide_magnets : bool
        Remove ``magnets`` from the observation.
    """

    beam_noise: float = 0.0
    beam_noise_relative: float = 0.0
    flicker: float = 0.0
    sensor_dropout: float = 0.0
    hide_magnets: bool = False

    def __post_init__(self) -> None:
        settings(PARTIAL_OBSERVABILITY_SCHEMA)("partial_observability", asdict(self))

    @classmethod
    def from_mapping(cls, value: Mapping[str, Any] | None) -> ObservationSettings:
        """Validated settings from a ``partial_observability`` dict (None: all off).

        Raises
        ------
        ValueError
            For unknown settings (naming the valid ones) or values out of range.
        """
        settings(PARTIAL_OBSERVABILITY_SCHEMA)("partial_observability", value)
        values = dict(value or {})
        return cls(
            **{
                key: bool(item) if key == "hide_magnets" else float(item)
                for key, item in values.items()
            }
        )

    @property
    def corrupts_beam(self) -> bool:
        """Whether the beam reading differs from the true beam."""
        rates = (
            self.beam_noise,
            self.beam_noise_relative,
            self.flicker,
            self.sensor_dropout,
        )
        return any(rate > 0.0 for rate in rates)

    @property
    def active(self) -> bool:
        """Whether the agent sees anything other than the fully observed environment."""
        return self.corrupts_beam or self.hide_magnets

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict for a config."""
        return asdict(self)


def as_settings(
    value: ObservationSettings | Mapping[str, Any] | None,
) -> ObservationSettings:
    """Accept settings or a ``partial_observability`` dict (validated)."""
    if isinstance(value, ObservationSettings):
        return value
    return ObservationSettings.from_mapping(value)


def observes_partially(config: Mapping[str, Any]) -> bool:
    """Whether the agent of a (validated) config sees less than the true state."""
    return as_settings(config["partial_observability"]).active


def hides_magnets(config: Mapping[str, Any]) -> bool:
    """Whether a config hides the magnet readings from the agent."""
    return as_settings(config.get("partial_observability")).hide_magnets
