"""The LiDAR-dropout policy in tiers: which source serves a frame that has no scan of its own.

A frame released with its own cloud is served by completion. One released without (the LiDAR
silent, or its cloud late beyond ``max_wait``) goes down the tiers:

1. **stale scan**: the completion model runs on the most recent scan while that scan is at most
   ``stale_scan_max_age`` seconds from the image (``|image stamp - scan stamp|``, message stamps,
   not wall time), moved into the current LiDAR pose when the vehicle's motion is known
   (:mod:`~depth_completion_ros.dropout.motion`); its confidence is multiplied by
   ``exp(-age / confidence_time_constant)``;
2. **RGB-only**: a model that runs without LiDAR (the node's ``dropout_model``, or the active
   model when it can) once the scan is older, and from the first frame when no scan was ever
   received;
3. **none**: neither can serve; the frame is skipped and counted.

Example:
    >>> config = DropoutConfig(stale_scan_max_age=1.0, confidence_time_constant=2.0)
    >>> choose_tier(paired=False, scan_age=0.5, rgb_only=True, config=config).tier.value
    'stale_scan'
    >>> choose_tier(paired=False, scan_age=1.5, rgb_only=True, config=config).tier.value
    'rgb_only'
    >>> round(stale_confidence(2.0, 2.0), 4)
    0.3679
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from depth_completion_ros.errors import ConfigError
from depth_completion_ros.status import Tier


@dataclass(frozen=True)
class DropoutConfig:
    """Timing of the tiers, seconds (defaults: see docs/node.md, "LiDAR dropout", how measured).

    Attributes:
        stale_scan_max_age: the most recent scan serves frames while ``|image stamp - scan
            stamp|`` is at most this; 0 turns the stale-scan tier off.
        confidence_time_constant: a stale scan's confidence is multiplied by ``exp(-age / this)``.

    Raises:
        ConfigError: a negative or non-finite age, a time constant that is not positive.
    """

    stale_scan_max_age: float = 2.0
    confidence_time_constant: float = 1.3

    def __post_init__(self) -> None:
        if not 0.0 <= self.stale_scan_max_age < math.inf:
            raise ConfigError(f"stale_scan_max_age: expected a finite value >= 0 s, got "
                              f"{self.stale_scan_max_age!r}")
        if not 0.0 < self.confidence_time_constant < math.inf:
            raise ConfigError(f"stale_confidence_time_constant: expected a finite value > 0 s, "
                              f"got {self.confidence_time_constant!r}")


@dataclass(frozen=True)
class TierChoice:
    """The tier serving one frame.

    Attributes:
        tier: completion, stale_scan, rgb_only or none.
        scan_age: seconds between the image and the scan in use (its own cloud for completion,
            the stale scan), None when no scan is used.
        confidence_scale: factor applied to the model's confidence (1 except for a stale scan).
    """

    tier: Tier
    scan_age: float | None
    confidence_scale: float = 1.0


def stale_confidence(age: float, time_constant: float) -> float:
    """Confidence factor of a scan ``age`` seconds from the image: ``exp(-|age| / tau)``."""
    return math.exp(-abs(age) / time_constant)


def choose_tier(*, paired: bool, scan_age: float | None, rgb_only: bool,
                config: DropoutConfig) -> TierChoice:
    """The tier of one frame.

    Args:
        paired: the frame was released with its own cloud.
        scan_age: for a paired frame, ``|image stamp - its cloud's stamp|``; else the same for
            the most recent scan received, None when there is none (never received, or
            forgotten after stamps went backwards).
        rgb_only: a model that runs without LiDAR is loaded and serving.
        config: the tiers' timing.
    """
    if paired:
        return TierChoice(Tier.COMPLETION, None if scan_age is None else abs(scan_age))
    if scan_age is not None and abs(scan_age) <= config.stale_scan_max_age:
        age = abs(scan_age)
        return TierChoice(Tier.STALE_SCAN, age,
                          stale_confidence(age, config.confidence_time_constant))
    if rgb_only:
        return TierChoice(Tier.RGB_ONLY, None)
    return TierChoice(Tier.NONE, None if scan_age is None else abs(scan_age))


def fit_time_constant(ages: list[float], rmse: list[float]) -> float | None:
    """The confidence time constant whose decay follows a measured error growth.

    Least squares of ``ln(rmse[0] / rmse[a]) = -a / tau`` over the ages > 0 (``ages[0]`` must be
    0: the current scan); None when the error does not grow with age.

    Example:
        >>> round(fit_time_constant([0.0, 1.0, 2.0], [2.49, 3.62, 5.29]), 2)
        2.66
    """
    pairs = [(a, math.log(rmse[0] / r)) for a, r in zip(ages[1:], rmse[1:]) if a > 0 and r > 0]
    num = sum(a * a for a, _ in pairs)
    den = sum(a * y for a, y in pairs)
    if not pairs or den >= 0:
        return None
    return -num / den
